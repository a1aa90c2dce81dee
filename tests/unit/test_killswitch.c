/* The kill-switch: the answer parser over GitHub's shapes and bad JSON,
 * and the checker against a real HTTP server on 127.0.0.1: fail-safe ON
 * before the first answer and through every failure, ETag/304, the
 * server's hold-offs, the bearer token (never logged) and the hourly
 * request budget however often it is asked. Time is the virtual clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "killswitch.h"
#include "log.h"
#include "testhttpd.h"

#include <stdio.h>
#include <string.h>

#define T0 INT64_C(1734333600000)
#define SEC INT64_C(1000)
#define HOUR (3600 * SEC)
#define TOKEN "test-token-123"

static int parse_text(const char *json, bool *on, struct killswitch_counts *cnt, char *err)
{
	return killswitch_parse(json, strlen(json), on, cnt, err, 256);
}

static void parse_fixture(const char *name, bool *on, struct killswitch_counts *cnt)
{
	char path[512], err[256];
	struct buf b;

	snprintf(path, sizeof(path), "%s/github/%s", ANT_FIXTURES_DIR, name);
	assert_int_equal(file_read_all(path, FETCH_CAP_JSON, &b), 0);
	assert_int_equal(killswitch_parse(b.data, b.len, on, cnt, err, sizeof(err)), 0);
	buf_free(&b);
}

static void test_parse_fixtures(void **state)
{
	struct killswitch_counts cnt;
	bool on = false;

	(void)state;
	parse_fixture("issues-kill-switch-open.json", &on, &cnt);
	assert_true(on); /* the label is "Kill-Switch" */
	assert_int_equal(cnt.items, 1);
	assert_int_equal(cnt.open_labelled, 1);
	parse_fixture("issues-none.json", &on, &cnt);
	assert_false(on);
	assert_int_equal(cnt.items, 0);
	parse_fixture("issues-mixed.json", &on, &cnt);
	assert_false(on); /* the only kill-switch issue is closed */
	assert_int_equal(cnt.items, 3);
	assert_int_equal(cnt.open_labelled, 0);
}

static void test_parse_shapes(void **state)
{
	struct killswitch_counts cnt;
	char err[256];
	bool on;

	(void)state;
	/* An open pull request with the label stops the fleet too. */
	assert_int_equal(parse_text("[{\"state\":\"open\",\"labels\":[{\"name\":\"KILL-SWITCH\"}],"
				    "\"pull_request\":{\"url\":\"x\"}}]", &on, &cnt, err), 0);
	assert_true(on);
	assert_int_equal(cnt.pull_requests, 1);
	/* Labels given as plain names. */
	assert_int_equal(parse_text("[{\"state\":\"open\",\"labels\":[\"docs\",\"kill-switch\"]}]", &on,
				    NULL, err), 0);
	assert_true(on);
	/* No state: when in doubt, stop. */
	assert_int_equal(parse_text("[{\"labels\":[{\"name\":\"kill-switch\"}]}]", &on, NULL, err), 0);
	assert_true(on);
	/* Names must match exactly (any case). */
	assert_int_equal(parse_text("[{\"state\":\"open\",\"labels\":[{\"name\":\"kill-switch-test\"},"
				    "{\"name\":\"kill\"},{\"id\":3},7,null]}]", &on, NULL, err), 0);
	assert_false(on);
	assert_int_equal(parse_text("[{\"state\":\"closed\",\"labels\":[{\"name\":\"kill-switch\"}]},"
				    "{\"state\":\"open\",\"labels\":\"kill-switch\"}]", &on, NULL, err), 0);
	assert_false(on);
}

static void expect_bad(const char *json, size_t len, const char *why)
{
	char err[256];
	bool on = false;

	assert_int_equal(killswitch_parse(json, len, &on, NULL, err, sizeof(err)), -1);
	assert_true(on);
	if (strstr(err, why) == NULL)
		fail_msg("'%s' does not say '%s'", err, why);
}

static void test_parse_bad(void **state)
{
	(void)state;
	expect_bad("", 0, "empty");
	expect_bad("{\"message\":\"Bad credentials\"}", 29, "an object, not a JSON array of issues (server says: Bad credentials)");
	expect_bad("{}", 2, "an object, not a JSON array");
	expect_bad("\"kill-switch\"", 13, "a string, not a JSON array");
	expect_bad("[{\"state\":\"open\"", 16, "not valid JSON");
	expect_bad("<html>rate limited</html>", 25, "not valid JSON");
	expect_bad("[1]", 3, "element 1 of the answer is a number");
	expect_bad("[{}, []]", 8, "element 2 of the answer is an array");
	expect_bad("[]\0[]", 5, "not valid JSON");
}

static void test_expand_url(void **state)
{
	char url[512];
	struct killswitch_options o;

	(void)state;
	assert_int_equal(killswitch_expand_url("https://api.github.com/repos/{owner}/{repo}/issues?labels=kill-switch",
					       "safenetforum-community", "ant-agent", url, sizeof(url)), 0);
	assert_string_equal(url, "https://api.github.com/repos/safenetforum-community/ant-agent/issues?labels=kill-switch");
	assert_int_equal(killswitch_expand_url("{owner}{owner}{repo}", "a", "b.c_d", url, sizeof(url)), 0);
	assert_string_equal(url, "aab.c_d");
	assert_int_equal(killswitch_expand_url("{owner}", "a/b", "r", url, sizeof(url)), -1);
	assert_int_equal(killswitch_expand_url("{owner}", "a", "r?x=1", url, sizeof(url)), -1);
	assert_int_equal(killswitch_expand_url("{owner}", "", "r", url, sizeof(url)), -1);
	assert_int_equal(killswitch_expand_url("0123456789", "a", "r", url, 5), -1);

	assert_int_equal(killswitch_options_from_config(&o, url, sizeof(url)), 0);
	assert_string_equal(o.url, "https://api.github.com/repos/safenetforum-community/ant-agent/issues?state=open&labels=kill-switch");
	assert_int_equal(o.max_per_hour, 60);
}

/* ---- the checker against the test server ------------------------------ */

static uv_loop_t g_loop;
static struct fetcher *g_f;
static struct buf g_log;
static int g_calls;

static void capture(enum log_level l, const char *line, void *ud)
{
	(void)l;
	(void)ud;
	buf_printf(&g_log, "%s\n", line);
}

static void listener(bool on, void *ud)
{
	(void)on;
	(void)ud;
	g_calls++;
}

static struct killswitch *make(const char *path, int max, const char *token)
{
	struct killswitch_options o;
	struct killswitch *k;

	memset(&o, 0, sizeof(o));
	o.url = httpd_url(path);
	o.max_per_hour = max;
	o.token = token;
	o.timeout_ms = 800;
	k = killswitch_new(g_f, &o);
	killswitch_set_listener(k, listener, NULL);
	return k;
}

/* Ask, and let a check that started run to its end. */
static bool ask(struct killswitch *k)
{
	struct killswitch_status st;

	killswitch_check(k);
	for (;;) {
		killswitch_get_status(k, &st);
		if (!st.in_flight)
			break;
		uv_run(&g_loop, UV_RUN_ONCE);
	}
	return st.on;
}

static void at(int64_t ms)
{
	clock_setup(T0 + ms, 1.0);
}

static void test_fail_safe_and_etag(void **state)
{
	struct killswitch_status st;
	struct killswitch *k;

	(void)state;
	httpd_put("none.json", "[]");
	at(0);
	k = make("/files/none.json?tag=a", 60, NULL);
	killswitch_get_status(k, &st);
	assert_true(st.on); /* before any answer */
	assert_false(st.have_answer);
	assert_int_equal(st.age_ms, -1);
	assert_true(killswitch_check(k)); /* still ON while the first check runs */
	assert_false(ask(k));
	killswitch_get_status(k, &st);
	assert_true(st.have_answer);
	assert_int_equal(st.requests_in_window, 1);
	assert_string_equal(st.last_error, "");
	assert_int_equal(httpd_hits("/files/none.json?tag=a"), 1);

	/* Asked again and again within the pacing interval: the cached answer. */
	for (int i = 0; i < 1000; i++)
		assert_false(killswitch_check(k));
	assert_int_equal(httpd_hits("/files/none.json?tag=a"), 1);

	/* A minute later: revalidated with the ETag, 304, still OFF. */
	at(61 * SEC);
	assert_false(ask(k));
	assert_int_equal(httpd_hits("/files/none.json?tag=a"), 2);
	assert_int_equal(httpd_hits("/files/none.json?tag=a 304"), 1);
	killswitch_get_status(k, &st);
	assert_true(st.age_ms >= 0 && st.age_ms < 5 * SEC);

	/* An issue is opened: ON. */
	httpd_put("none.json", "[{\"state\":\"open\",\"labels\":[{\"name\":\"Kill-Switch\"}]}]");
	at(122 * SEC);
	assert_true(ask(k));
	httpd_put("none.json", "[]");
	at(183 * SEC);
	assert_false(ask(k));
	assert_int_equal(g_calls, 4);
	killswitch_free(k);
}

static void test_on_through_every_failure(void **state)
{
	static const char *const modes[] = {
		"status/403", "ratelimit/1", "status/404", "status/500", "hang", "big/104857600",
		"endless", "html", "files/object.json", "files/garbage.json",
	};
	struct killswitch_status st;
	struct killswitch *k;
	int64_t t = 0;

	(void)state;
	httpd_put("none.json", "[]");
	httpd_put("object.json", "{\"message\": \"Not Found\"}");
	httpd_put("garbage.json", "[{\"state\": \"open\", ");
	at(t);
	/* Before any good answer, a failure keeps it ON. */
	httpd_set("/files/fail.json", "status/500");
	k = make("/files/fail.json", 60, NULL);
	assert_true(ask(k));
	killswitch_get_status(k, &st);
	assert_false(st.have_answer);
	assert_non_null(strstr(st.last_error, "500"));
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		/* A good answer: OFF... */
		httpd_set("/files/fail.json", "files/none.json");
		t += 61 * SEC;
		at(t);
		assert_false(ask(k));
		/* ...then this failure: ON again, whatever the last answer was. */
		httpd_set("/files/fail.json", modes[i]);
		t += 61 * SEC;
		at(t);
		if (!ask(k))
			fail_msg("mode %s left the kill-switch OFF", modes[i]);
		killswitch_get_status(k, &st);
		assert_true(st.last_error[0] != '\0');
		assert_true(st.have_answer); /* the last good answer is kept for 304s */
	}
	httpd_set("/files/fail.json", "");
	killswitch_free(k);
}

static void test_server_hold_offs(void **state)
{
	struct killswitch_status st;
	struct killswitch *k;

	(void)state;
	httpd_put("none.json", "[]");
	/* Retry-After: 600 on a failure: ON, and no request for 600 s. */
	at(0);
	httpd_set("/files/hold.json", "retry-after/600");
	k = make("/files/hold.json", 60, NULL);
	assert_true(ask(k));
	httpd_set("/files/hold.json", "files/none.json");
	at(300 * SEC);
	assert_true(ask(k));
	killswitch_get_status(k, &st);
	assert_true(st.hold_until_ms > clock_now_ms());
	assert_int_equal(httpd_hits("/files/hold.json"), 1);
	at(601 * SEC);
	assert_false(ask(k));
	assert_int_equal(httpd_hits("/files/hold.json"), 2);
	killswitch_free(k);

	/* A good answer with X-RateLimit-Remaining: 0 and a reset 300 s
	 * ahead: the answer is used, and nobody asks before the reset. */
	at(0);
	k = make("/ok-ratelimit/none.json", 60, NULL);
	assert_false(ask(k));
	at(120 * SEC);
	assert_false(ask(k));
	assert_int_equal(httpd_hits("/ok-ratelimit/none.json"), 1);
	at(310 * SEC);
	assert_false(ask(k));
	assert_int_equal(httpd_hits("/ok-ratelimit/none.json"), 2);
	killswitch_free(k);

	/* GitHub's 403 when over its limit: ON, and quiet until the reset. */
	at(0);
	k = make("/ratelimit/900", 60, NULL);
	assert_true(ask(k));
	at(600 * SEC);
	assert_true(ask(k));
	assert_int_equal(httpd_hits("/ratelimit/900"), 1);
	at(905 * SEC);
	assert_true(ask(k));
	assert_int_equal(httpd_hits("/ratelimit/900"), 2);
	killswitch_free(k);
}

static void test_token(void **state)
{
	struct killswitch *k;

	(void)state;
	httpd_put("none.json", "[]");
	buf_reset(&g_log);
	at(0);
	k = make("/auth/none.json", 60, TOKEN);
	assert_false(ask(k)); /* the server insists on the token and headers */
	killswitch_free(k);
	at(0);
	k = make("/auth/none.json", 60, NULL);
	assert_true(ask(k)); /* 401 without it */
	killswitch_free(k);
	assert_non_null(strstr(g_log.data, "401"));
	assert_null(strstr(g_log.data, TOKEN));
}

/* Asked 1000 times over ~2 hours of schedule time (every 7 s): never more
 * than the budget in any sliding hour, paced over the hour. */
static void budget_run(const char *path, int max, int64_t step, int64_t *times, int *n)
{
	struct killswitch_status st;
	struct killswitch *k;
	unsigned long last = 0;

	k = make(path, max, NULL);
	*n = 0;
	for (int i = 0; i < 1000; i++) {
		at(i * step);
		ask(k);
		killswitch_get_status(k, &st);
		assert_true(st.requests_in_window <= max);
		if (st.requests_total != last) {
			last = st.requests_total;
			times[(*n)++] = i * step;
		}
	}
	killswitch_free(k);
}

static void check_windows(const int64_t *times, int n, int max)
{
	for (int i = 0; i < n; i++) {
		int in = 0;

		for (int j = i; j < n && times[j] - times[i] < HOUR; j++)
			in++;
		assert_true(in <= max);
	}
}

static void test_budget(void **state)
{
	int64_t times[1000];
	int n;

	(void)state;
	httpd_put("none.json", "[]");
	budget_run("/files/none.json?tag=b60", 60, 7 * SEC, times, &n);
	check_windows(times, n, 60);
	assert_int_equal(httpd_hits("/files/none.json?tag=b60"), n);
	/* 7000 s at one request a minute at most. */
	assert_true(n >= 100 && n <= 118);
	fprintf(stderr, "  1000 asks over 7000 s: %d requests (budget 60/h)\n", n);

	budget_run("/files/none.json?tag=b3", 3, 7 * SEC, times, &n);
	check_windows(times, n, 3);
	assert_true(n >= 5 && n <= 6);

	/* Failing checks are held to the same budget. */
	budget_run("/status/500?tag=b5", 5, 7 * SEC, times, &n);
	check_windows(times, n, 5);
	assert_int_equal(httpd_hits("/status/500?tag=b5"), n);
	assert_true(n <= 10);

	/* 1000 asks in the same instant: one request. */
	at(0);
	budget_run("/files/none.json?tag=b0", 60, 0, times, &n);
	assert_int_equal(n, 1);
	assert_int_equal(httpd_hits("/files/none.json?tag=b0"), 1);
}

static int setup(void **state)
{
	(void)state;
	buf_init(&g_log, 1 << 20);
	log_set_console(0);
	log_set_capture(capture, NULL);
	if (uv_loop_init(&g_loop) != 0)
		return -1;
	g_f = fetcher_new(&g_loop);
	return httpd_start();
}

static int teardown(void **state)
{
	(void)state;
	fetcher_free(g_f);
	uv_run(&g_loop, UV_RUN_DEFAULT);
	uv_loop_close(&g_loop);
	httpd_stop();
	log_set_capture(NULL, NULL);
	buf_free(&g_log);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fixtures),
		cmocka_unit_test(test_parse_shapes),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_expand_url),
		cmocka_unit_test(test_fail_safe_and_etag),
		cmocka_unit_test(test_on_through_every_failure),
		cmocka_unit_test(test_server_hold_offs),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_budget),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/* The kill-switch: the answer parser over GitHub's shapes and bad JSON;
 * the request budget as pure code with the time passed in (pacing per
 * mode, the maximum age of an OFF answer, the sliding hour, hold-offs,
 * when an idle agent asks) at its boundaries; and the checker against a
 * real HTTP server on 127.0.0.1: fail-safe ON before the first answer,
 * through every failure and once an OFF answer is too old, ETag/304, the
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
#include "util.h"

#include <stdio.h>
#include <string.h>

#define T0 INT64_C(1734333600000)
#define SEC INT64_C(1000)
#define HOUR (3600 * SEC)
#define TOKEN "test-token-123"
#define MINUTE (60 * SEC)

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

/* ---- the request budget, pure ------------------------------------------ */

static void test_pacing_per_mode(void **state)
{
	struct killswitch_pacing pc;

	(void)state;
	killswitch_pacing_for(true, 60, &pc); /* a token: one a minute */
	assert_int_equal(pc.max_per_hour, 60);
	assert_int_equal(pc.interval_ms, MINUTE);
	assert_int_equal(pc.max_age_ms, 3 * MINUTE);
	killswitch_pacing_for(false, 60, &pc); /* none: a fifth of GitHub's 60 */
	assert_int_equal(pc.max_per_hour, 12);
	assert_int_equal(pc.interval_ms, 5 * MINUTE);
	assert_int_equal(pc.max_age_ms, 7 * MINUTE);
	assert_int_equal(pc.lead_ms, 2 * MINUTE);
	killswitch_pacing_for(false, 13, &pc);
	assert_int_equal(pc.max_per_hour, 12);
	killswitch_pacing_for(false, 4, &pc); /* a lower setting holds in both modes */
	assert_int_equal(pc.max_per_hour, 4);
	assert_int_equal(pc.interval_ms, 15 * MINUTE);
	assert_int_equal(pc.max_age_ms, 17 * MINUTE);
	killswitch_pacing_for(true, 30, &pc);
	assert_int_equal(pc.interval_ms, 2 * MINUTE);
	killswitch_pacing_for(true, 0, &pc);
	assert_int_equal(pc.max_per_hour, 1);
}

static struct killswitch_pacer *pacer(bool token)
{
	struct killswitch_pacing pc;

	killswitch_pacing_for(token, 60, &pc);
	return killswitch_pacer_new(&pc);
}

/* An OFF answer is good up to its maximum age inclusive, and a hold-off
 * from the server, however long, does not make it good for longer. */
static void test_pacer_max_age(void **state)
{
	struct killswitch_pacer *p = pacer(false);
	int64_t t = 10 * HOUR, age = 7 * MINUTE;

	(void)state;
	assert_int_equal(killswitch_pacer_reading(p, t), KILLSWITCH_NO_ANSWER);
	killswitch_pacer_sent(p, t);
	killswitch_pacer_answer(p, t, false);
	killswitch_pacer_hold(p, t, HOUR); /* the 200 said: come back in an hour */
	assert_int_equal(killswitch_pacer_reading(p, t), KILLSWITCH_OFF);
	assert_int_equal(killswitch_pacer_reading(p, t + age), KILLSWITCH_OFF);
	assert_int_equal(killswitch_pacer_reading(p, t + age + 1), KILLSWITCH_STALE);
	assert_int_equal(killswitch_pacer_reading(p, t + HOUR), KILLSWITCH_STALE);
	/* ...and no request before the hold-off ends, busy or not. */
	killswitch_pacer_activity(p, true, 0);
	assert_int_equal(killswitch_pacer_next_send(p, t + age + 1), t + HOUR);
	/* A failure while OFF: ON at once, however fresh the answer was. */
	killswitch_pacer_sent(p, t + HOUR);
	killswitch_pacer_failed(p, t + HOUR);
	assert_int_equal(killswitch_pacer_reading(p, t + HOUR), KILLSWITCH_FAILED);
	/* A fresh answer (a 304 too) starts a new life. */
	killswitch_pacer_answer(p, t + HOUR + 5 * SEC, false);
	assert_int_equal(killswitch_pacer_reading(p, t + HOUR + 5 * SEC + age), KILLSWITCH_OFF);
	assert_int_equal(killswitch_pacer_reading(p, t + HOUR + 5 * SEC + age + 1), KILLSWITCH_STALE);
	/* An ON answer does not age into anything else. */
	killswitch_pacer_answer(p, t + 2 * HOUR, true);
	assert_int_equal(killswitch_pacer_reading(p, t + 5 * HOUR), KILLSWITCH_ON);
	killswitch_pacer_free(p);

	p = pacer(true);
	killswitch_pacer_answer(p, t, false);
	assert_int_equal(killswitch_pacer_reading(p, t + 3 * MINUTE), KILLSWITCH_OFF);
	assert_int_equal(killswitch_pacer_reading(p, t + 3 * MINUTE + 1), KILLSWITCH_STALE);
	killswitch_pacer_free(p);
}

/* The pacing window: exactly one interval after a request the next may
 * go, one millisecond before it may not. */
static void test_pacer_interval(void **state)
{
	struct killswitch_pacer *p = pacer(false);
	int64_t t = 3 * HOUR;

	(void)state;
	killswitch_pacer_activity(p, true, 0);
	assert_true(killswitch_pacer_next_send(p, t) <= t); /* nothing sent yet: now */
	killswitch_pacer_sent(p, t);
	killswitch_pacer_answer(p, t, false);
	assert_int_equal(killswitch_pacer_next_send(p, t), t + 5 * MINUTE);
	assert_true(killswitch_pacer_next_send(p, t + 5 * MINUTE - 1) > t + 5 * MINUTE - 1);
	assert_true(killswitch_pacer_next_send(p, t + 5 * MINUTE) <= t + 5 * MINUTE);
	killswitch_pacer_free(p);

	p = pacer(true);
	killswitch_pacer_activity(p, true, 0);
	killswitch_pacer_sent(p, t);
	killswitch_pacer_failed(p, t); /* failures are paced the same */
	assert_int_equal(killswitch_pacer_next_send(p, t), t + MINUTE);
	killswitch_pacer_free(p);
}

/* The sliding hour: a request counts until exactly an hour later. */
static void test_pacer_window(void **state)
{
	struct killswitch_pacing pc = { 3, SEC, 2 * MINUTE, 2 * MINUTE };
	struct killswitch_pacer *p = killswitch_pacer_new(&pc);
	int64_t t = 7 * HOUR;

	(void)state;
	killswitch_pacer_activity(p, true, 0);
	for (int i = 0; i < 3; i++) {
		assert_true(killswitch_pacer_next_send(p, t + i * SEC) <= t + i * SEC);
		killswitch_pacer_sent(p, t + i * SEC);
		killswitch_pacer_answer(p, t + i * SEC, false);
	}
	assert_int_equal(killswitch_pacer_used(p, t + 3 * SEC), 3);
	assert_int_equal(killswitch_pacer_next_send(p, t + 3 * SEC), t + HOUR);
	assert_int_equal(killswitch_pacer_used(p, t + HOUR - 1), 3);
	assert_true(killswitch_pacer_next_send(p, t + HOUR - 1) > t + HOUR - 1);
	assert_int_equal(killswitch_pacer_used(p, t + HOUR), 2);
	assert_true(killswitch_pacer_next_send(p, t + HOUR) <= t + HOUR);
	killswitch_pacer_sent(p, t + HOUR);
	assert_int_equal(killswitch_pacer_next_send(p, t + HOUR), t + HOUR + SEC);
	assert_int_equal(killswitch_pacer_used(p, t + 2 * HOUR + 2 * SEC), 0);
	killswitch_pacer_free(p);
}

/* Who asks when: an idle agent on a good OFF asks nobody; it asks a lead
 * time before its next test or refresh is due; while ON, unknown or
 * failing, it keeps asking at the paced rate. */
static void test_pacer_demand(void **state)
{
	struct killswitch_pacer *p = pacer(false);
	int64_t t = 5 * HOUR, due = t + 20 * MINUTE;

	(void)state;
	killswitch_pacer_sent(p, t);
	killswitch_pacer_answer(p, t, false);
	killswitch_pacer_activity(p, false, 0);
	assert_false(killswitch_pacer_needed(p, t + HOUR));
	assert_int_equal(killswitch_pacer_next_send(p, t + HOUR), INT64_MAX);
	killswitch_pacer_activity(p, false, due);
	assert_int_equal(killswitch_pacer_next_send(p, t), due - 2 * MINUTE);
	assert_false(killswitch_pacer_needed(p, due - 2 * MINUTE - 1));
	assert_true(killswitch_pacer_needed(p, due - 2 * MINUTE));
	/* The answer a test starts on is fresh. */
	killswitch_pacer_sent(p, due - 2 * MINUTE);
	killswitch_pacer_answer(p, due - 2 * MINUTE, false);
	assert_int_equal(killswitch_pacer_reading(p, due), KILLSWITCH_OFF);
	/* Due soon but the last request was recent: the interval still holds. */
	killswitch_pacer_activity(p, false, due + MINUTE);
	assert_int_equal(killswitch_pacer_next_send(p, due), due + 3 * MINUTE);
	/* Busy: every interval. */
	killswitch_pacer_activity(p, true, 0);
	assert_int_equal(killswitch_pacer_next_send(p, due), due + 3 * MINUTE);
	/* ON and idle (plan dropped, nothing due): still every interval. */
	killswitch_pacer_activity(p, false, 0);
	killswitch_pacer_sent(p, due + 3 * MINUTE);
	killswitch_pacer_answer(p, due + 3 * MINUTE, true);
	assert_int_equal(killswitch_pacer_next_send(p, due + 3 * MINUTE), due + 8 * MINUTE);
	killswitch_pacer_failed(p, due + 3 * MINUTE);
	assert_int_equal(killswitch_pacer_next_send(p, due + 3 * MINUTE), due + 8 * MINUTE);
	killswitch_pacer_free(p);
}

static void test_pacer_hold(void **state)
{
	struct killswitch_pacer *p = pacer(true);
	int64_t t = HOUR;

	(void)state;
	killswitch_pacer_activity(p, true, 0);
	killswitch_pacer_sent(p, t);
	killswitch_pacer_failed(p, t);
	killswitch_pacer_hold(p, t, 600 * SEC);
	assert_int_equal(killswitch_pacer_next_send(p, t), t + 600 * SEC);
	killswitch_pacer_hold(p, t + SEC, 10 * SEC); /* a shorter one does not shorten it */
	assert_int_equal(killswitch_pacer_hold_until(p), t + 600 * SEC);
	killswitch_pacer_hold(p, t, -1);
	assert_int_equal(killswitch_pacer_hold_until(p), t + 600 * SEC);
	killswitch_pacer_hold(p, t, 5 * HOUR); /* capped at an hour */
	assert_int_equal(killswitch_pacer_hold_until(p), t + KILLSWITCH_HOLD_MAX_MS);
	assert_true(killswitch_pacer_next_send(p, t + HOUR - 1) > t + HOUR - 1);
	assert_true(killswitch_pacer_next_send(p, t + HOUR) <= t + HOUR);
	killswitch_pacer_free(p);
}

static void test_holdoff_headers(void **state)
{
	struct fetch_response r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.retry_after_s = r.ratelimit_remaining = r.ratelimit_reset = -1;
	assert_int_equal(killswitch_holdoff_ms(&r, 1000), -1);
	r.retry_after_s = 120;
	assert_int_equal(killswitch_holdoff_ms(&r, 1000), 120 * SEC);
	r.ratelimit_reset = 1300; /* ignored while requests remain */
	r.ratelimit_remaining = 5;
	assert_int_equal(killswitch_holdoff_ms(&r, 1000), 120 * SEC);
	r.ratelimit_remaining = 0; /* the longer of the two */
	assert_int_equal(killswitch_holdoff_ms(&r, 1000), 300 * SEC);
	r.retry_after_s = -1;
	r.ratelimit_reset = 900; /* a reset in the past: no wait */
	assert_true(killswitch_holdoff_ms(&r, 1000) < 0);

	r.status = 403;
	assert_true(killswitch_is_rate_limit(&r));
	r.ratelimit_remaining = -1; /* a 403 for something else */
	assert_false(killswitch_is_rate_limit(&r));
	r.status = 429;
	assert_true(killswitch_is_rate_limit(&r));
	r.status = 500;
	r.ratelimit_remaining = 0;
	assert_false(killswitch_is_rate_limit(&r));
}

static void test_clean_text(void **state)
{
	char out[KILLSWITCH_TITLE_MAX + 1], small[8];
	char longer[300];

	(void)state;
	str_clean("  Stop\x1b]0;pwned\x07 all\r\n\ttests  ", out, sizeof(out), STR_CLEAN_ONE_LINE);
	assert_string_equal(out, "Stop ]0;pwned all tests");
	str_clean("a\xc2\x9b" "31mb\x7f" "c", out, sizeof(out), STR_CLEAN_ONE_LINE); /* C1 CSI, DEL */
	assert_string_equal(out, "a 31mb c");
	str_clean("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", small, sizeof(small), STR_CLEAN_ONE_LINE);
	assert_string_equal(small, "\xe2\x82\xac\xe2\x82\xac"); /* whole characters only */
	str_clean("\x80x", small, sizeof(small), STR_CLEAN_ONE_LINE);
	assert_string_equal(small, "x");
	str_clean("a\xe2\x82" "b\xff" "c", small, sizeof(small), STR_CLEAN_ONE_LINE); /* broken UTF-8 */
	assert_string_equal(small, "a b c");
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	str_clean(longer, out, sizeof(out), STR_CLEAN_ONE_LINE);
	assert_int_equal(strlen(out), KILLSWITCH_TITLE_MAX);
}

static void test_parse_issue(void **state)
{
	struct killswitch_counts cnt;
	char err[256];
	bool on;

	(void)state;
	assert_int_equal(parse_text("[{\"number\":3,\"title\":\"docs\",\"state\":\"open\",\"labels\":[]},"
				    "{\"number\":17,\"title\":\"Bad\\u0007 release\",\"state\":\"open\","
				    "\"labels\":[{\"name\":\"kill-switch\"}]},{\"number\":18,"
				    "\"state\":\"open\",\"labels\":[\"kill-switch\"]}]", &on, &cnt, err), 0);
	assert_true(on);
	assert_int_equal(cnt.number, 17);
	assert_string_equal(cnt.title, "Bad release");
	assert_int_equal(parse_text("[{\"number\":\"7\",\"state\":\"open\",\"labels\":[\"kill-switch\"]}]",
				    &on, &cnt, err), 0);
	assert_int_equal(cnt.number, -1); /* not a number: not shown as one */
	assert_string_equal(cnt.title, "");
	assert_int_equal(parse_text("[]", &on, &cnt, err), 0);
	assert_int_equal(cnt.number, -1);
}

/* ---- the checker against the test server ------------------------------ */

static uv_loop_t g_loop;
static struct fetcher *g_f;
static struct buf g_log;
static int g_calls;
static bool g_last_on;
/* The request timeout of the next make(): long, so that a helper started
 * slowly on a loaded machine is not taken for a failure, except where a
 * test waits for hangs to time out. */
static int g_timeout_ms = 10000;

static void capture(enum log_level l, const char *line, void *ud)
{
	(void)l;
	(void)ud;
	buf_printf(&g_log, "%s\n", line);
}

static void listener(bool on, void *ud)
{
	(void)ud;
	g_last_on = on;
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
	o.timeout_ms = g_timeout_ms;
	k = killswitch_new(g_f, &o);
	killswitch_set_listener(k, listener, NULL);
	return k;
}

static bool in_flight(struct killswitch *k)
{
	struct killswitch_status st;

	killswitch_get_status(k, clock_now_ms(), &st);
	return st.in_flight;
}

/* Ask as a busy agent does, and let a check that started run to its end.
 * True: the switch reads ON (no test may start). */
static bool ask(struct killswitch *k)
{
	killswitch_set_activity(k, true, 0);
	killswitch_poll(k, clock_now_ms());
	while (in_flight(k))
		uv_run(&g_loop, UV_RUN_ONCE);
	return !killswitch_may_start(k, clock_now_ms());
}

static void status_now(struct killswitch *k, struct killswitch_status *st)
{
	killswitch_get_status(k, clock_now_ms(), st);
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
	k = make("/files/none.json?tag=a", 60, TOKEN);
	status_now(k, &st);
	assert_true(st.on); /* before any answer */
	assert_int_equal(st.reading, KILLSWITCH_NO_ANSWER);
	assert_false(st.have_answer);
	assert_int_equal(st.age_ms, -1);
	killswitch_set_activity(k, true, 0);
	killswitch_poll(k, clock_now_ms());
	assert_true(in_flight(k));
	assert_false(killswitch_may_start(k, clock_now_ms())); /* ON while the first check runs */
	assert_false(ask(k));
	status_now(k, &st);
	assert_true(st.have_answer);
	assert_int_equal(st.requests_in_window, 1);
	assert_string_equal(st.last_error, "");
	assert_int_equal(httpd_hits("/files/none.json?tag=a"), 1);

	/* Asked again and again within the pacing interval: the cached answer. */
	for (int i = 0; i < 1000; i++) {
		killswitch_poll(k, clock_now_ms());
		assert_true(killswitch_may_start(k, clock_now_ms()));
	}
	assert_int_equal(httpd_hits("/files/none.json?tag=a"), 1);

	/* A minute later: revalidated with the ETag, 304, still OFF. */
	at(61 * SEC);
	assert_false(ask(k));
	assert_int_equal(httpd_hits("/files/none.json?tag=a"), 2);
	assert_int_equal(httpd_hits("/files/none.json?tag=a 304"), 1);
	status_now(k, &st);
	assert_true(st.age_ms >= 0 && st.age_ms < 5 * SEC);

	/* An issue is opened: ON, and the status names it (title cleaned). */
	httpd_put("none.json", "[{\"number\":42,\"title\":\"Stop\\u001b[31m now\\n\",\"state\":\"open\","
			       "\"labels\":[{\"name\":\"Kill-Switch\"}]}]");
	at(122 * SEC);
	assert_true(ask(k));
	status_now(k, &st);
	assert_int_equal(st.reading, KILLSWITCH_ON);
	assert_int_equal(st.issue_number, 42);
	assert_string_equal(st.issue_title, "Stop [31m now");
	assert_string_equal(st.reason, "ON: issue #42 \"Stop [31m now\"");
	assert_int_equal(st.issue_off_ms, 0);
	assert_non_null(strstr(g_log.data, "kill-switch is ON: issue #42 \"Stop [31m now\""));
	httpd_put("none.json", "[]");
	at(183 * SEC);
	assert_false(ask(k));
	status_now(k, &st);
	assert_int_equal(st.issue_number, 42); /* kept, with when it went OFF again */
	assert_true(st.issue_off_ms >= T0 + 183 * SEC);
	assert_true(st.issue_on_ms >= T0 + 122 * SEC && st.issue_on_ms < st.issue_off_ms);
	assert_non_null(strstr(g_log.data, "kill-switch is OFF again: issue #42"));
	assert_int_equal(g_calls, 4);
	killswitch_free(k);
}

/* A failed check, then the server's 304 for the answer held: OFF again,
 * and the log says so (it used to say only the failure). */
static void test_off_again_by_304_is_logged(void **state)
{
	struct killswitch *k;

	(void)state;
	httpd_put("none.json", "[]");
	at(0);
	k = make("/files/none.json?tag=r", 60, TOKEN);
	assert_false(ask(k));
	httpd_set("/files/none.json", "status/500");
	at(61 * SEC);
	assert_true(ask(k));
	httpd_set("/files/none.json", "");
	buf_reset(&g_log);
	at(122 * SEC);
	assert_false(ask(k));
	assert_int_equal(httpd_hits("/files/none.json?tag=r 304"), 1);
	assert_non_null(strstr(g_log.data ? g_log.data : "", "kill-switch is OFF (checks succeed again)"));
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
	g_timeout_ms = 2000; /* "hang" and "endless" wait this long */
	k = make("/files/fail.json", 60, TOKEN);
	g_timeout_ms = 10000;
	assert_true(ask(k));
	status_now(k, &st);
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
		status_now(k, &st);
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
	k = make("/files/hold.json", 60, TOKEN);
	assert_true(ask(k));
	httpd_set("/files/hold.json", "files/none.json");
	at(300 * SEC);
	assert_true(ask(k));
	status_now(k, &st);
	assert_true(st.hold_until_ms > clock_now_ms());
	assert_int_equal(httpd_hits("/files/hold.json"), 1);
	at(601 * SEC);
	assert_false(ask(k));
	assert_int_equal(httpd_hits("/files/hold.json"), 2);
	killswitch_free(k);

	/* A good answer with X-RateLimit-Remaining: 0 and a reset 300 s
	 * ahead: the answer is used, nobody asks before the reset, and the
	 * hold-off does not make the OFF live longer than its 180 s. */
	at(0);
	k = make("/ok-ratelimit/none.json", 60, TOKEN);
	assert_false(ask(k));
	at(120 * SEC);
	assert_false(ask(k));
	assert_int_equal(httpd_hits("/ok-ratelimit/none.json"), 1);
	at(181 * SEC);
	assert_true(ask(k));
	status_now(k, &st);
	assert_int_equal(st.reading, KILLSWITCH_STALE);
	assert_int_equal(httpd_hits("/ok-ratelimit/none.json"), 1);
	at(310 * SEC);
	assert_false(ask(k));
	assert_int_equal(httpd_hits("/ok-ratelimit/none.json"), 2);
	killswitch_free(k);

	/* GitHub's 403 when over its limit: ON, said once with the way out
	 * (GITHUB_TOKEN), and quiet until the reset. */
	at(0);
	buf_reset(&g_log);
	k = make("/ratelimit/900", 60, NULL);
	assert_true(ask(k));
	status_now(k, &st);
	assert_true(st.rate_limited);
	assert_non_null(strstr(st.last_error, "rate limit"));
	assert_non_null(strstr(g_log.data, "rate limit is exhausted (HTTP 403)"));
	assert_non_null(strstr(g_log.data, "set GITHUB_TOKEN"));
	at(600 * SEC);
	assert_true(ask(k));
	assert_int_equal(httpd_hits("/ratelimit/900"), 1);
	at(905 * SEC);
	assert_true(ask(k));
	assert_int_equal(httpd_hits("/ratelimit/900"), 2);
	{
		/* Said once for the whole run of rate-limited answers. */
		const char *p = strstr(g_log.data, "rate limit is exhausted");

		assert_null(strstr(p + 1, "rate limit is exhausted"));
	}
	killswitch_free(k);
}

/* A busy agent whose OFF answer goes stale while the server holds it
 * off: the poll wakes at exactly the maximum age, says "cannot confirm
 * OFF" once and tells the listener ON; an idle one is not told (its plan
 * must survive), but may not start a test either. */
static void test_stale_event(void **state)
{
	struct killswitch_status st;
	struct killswitch *k;
	int calls;

	(void)state;
	httpd_put("none.json", "[]");
	buf_reset(&g_log);
	at(0);
	k = make("/ok-ratelimit/none.json?tag=stale", 60, TOKEN);
	assert_false(ask(k));
	status_now(k, &st);
	assert_true(st.hold_until_ms > clock_now_ms() + 200 * SEC);
	calls = g_calls;
	/* Next thing to do: the moment the answer stops being trusted. */
	assert_int_equal(killswitch_next_poll_at(k, clock_now_ms()),
			 st.last_check_ms + 3 * MINUTE + 1);
	at(3 * MINUTE + 2 * SEC);
	killswitch_poll(k, clock_now_ms());
	assert_int_equal(g_calls, calls + 1);
	assert_true(g_last_on);
	assert_non_null(strstr(g_log.data, "cannot confirm OFF"));
	status_now(k, &st);
	assert_int_equal(st.reading, KILLSWITCH_STALE);
	assert_non_null(strstr(st.reason, "ON: cannot confirm OFF"));
	killswitch_poll(k, clock_now_ms()); /* said once */
	assert_int_equal(g_calls, calls + 1);
	assert_int_equal(httpd_hits("/ok-ratelimit/none.json?tag=stale"), 1);
	killswitch_free(k);

	/* Idle, nothing due: stale, no event; a test due in 10 min wakes it
	 * at the lead time. */
	at(0);
	k = make("/ok-ratelimit/none.json?tag=idle", 60, TOKEN);
	assert_false(ask(k));
	killswitch_set_activity(k, false, 0);
	calls = g_calls;
	at(4 * MINUTE);
	killswitch_poll(k, clock_now_ms());
	assert_int_equal(g_calls, calls);
	assert_false(killswitch_may_start(k, clock_now_ms()));
	killswitch_set_activity(k, false, clock_now_ms() + 10 * MINUTE);
	assert_int_equal(killswitch_next_poll_at(k, clock_now_ms()), clock_now_ms() + 8 * MINUTE);
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
static void budget_run(const char *path, int max, const char *token, int64_t step,
		       int64_t *times, int *n)
{
	struct killswitch_status st;
	struct killswitch *k;
	unsigned long last = 0;

	k = make(path, max, token);
	*n = 0;
	for (int i = 0; i < 1000; i++) {
		at(i * step);
		ask(k);
		status_now(k, &st);
		assert_true(st.requests_in_window <= st.max_per_hour);
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
	budget_run("/files/none.json?tag=b60", 60, TOKEN, 7 * SEC, times, &n);
	check_windows(times, n, 60);
	assert_int_equal(httpd_hits("/files/none.json?tag=b60"), n);
	/* 7000 s at one request a minute at most. */
	assert_true(n >= 100 && n <= 118);
	fprintf(stderr, "  1000 asks over 7000 s with a token: %d requests (budget 60/h)\n", n);

	/* Without a token the same setting means 12 an hour: GitHub's 60
	 * are shared by every agent behind the address. */
	budget_run("/files/none.json?tag=b12", 60, NULL, 7 * SEC, times, &n);
	check_windows(times, n, KILLSWITCH_ANON_MAX_PER_HOUR);
	assert_true(n >= 23 && n <= 24);
	fprintf(stderr, "  1000 asks over 7000 s without a token: %d requests (budget 12/h)\n", n);

	budget_run("/files/none.json?tag=b3", 3, TOKEN, 7 * SEC, times, &n);
	check_windows(times, n, 3);
	assert_true(n >= 5 && n <= 6);

	/* Failing checks are held to the same budget. */
	budget_run("/status/500?tag=b5", 5, TOKEN, 7 * SEC, times, &n);
	check_windows(times, n, 5);
	assert_int_equal(httpd_hits("/status/500?tag=b5"), n);
	assert_true(n <= 10);

	/* 1000 asks in the same instant: one request. */
	at(0);
	budget_run("/files/none.json?tag=b0", 60, TOKEN, 0, times, &n);
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
		cmocka_unit_test(test_pacing_per_mode),
		cmocka_unit_test(test_pacer_max_age),
		cmocka_unit_test(test_pacer_interval),
		cmocka_unit_test(test_pacer_window),
		cmocka_unit_test(test_pacer_demand),
		cmocka_unit_test(test_pacer_hold),
		cmocka_unit_test(test_holdoff_headers),
		cmocka_unit_test(test_clean_text),
		cmocka_unit_test(test_parse_issue),
		cmocka_unit_test(test_fail_safe_and_etag),
		cmocka_unit_test(test_off_again_by_304_is_logged),
		cmocka_unit_test(test_on_through_every_failure),
		cmocka_unit_test(test_server_hold_offs),
		cmocka_unit_test(test_stale_event),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_budget),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

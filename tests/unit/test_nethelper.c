/* The network helper (ant-agent-net) as the agent sees it: it never gets
 * SECRET_KEY, and a helper that crashes, hangs or answers nonsense ends
 * the request as an ordinary failure (status 0, not ok, callback called
 * once), after which the next request starts a fresh helper and works. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fetch.h"
#include "testhttpd.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int setup(void **state)
{
	(void)state;
	if (httpd_start() != 0)
		return -1;
	httpd_put("hello.txt", "hello, fleet\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	httpd_stop();
	return 0;
}

struct seen {
	int calls;
	bool ok;
	long status;
	char error[256];
};

static void on_done(struct fetch_response *res, void *ud)
{
	struct seen *s = ud;

	s->calls++;
	s->ok = res->ok;
	s->status = res->status;
	str_copy(s->error, res->error, sizeof(s->error));
}

static void test_helper_never_gets_secret_key(void **state)
{
	uv_loop_t loop;
	struct fetcher *f;
	struct seen s = { 0 };
	char path[64], exe[4096], env[65536];
	ssize_t n;
	FILE *fp;
	size_t len;
	bool saw_cert = false, saw_key = false;
	pid_t pid;

	(void)state;
	setenv("SECRET_KEY", "0xfeedface-not-for-the-network", 1);
	setenv("SSL_CERT_FILE", "/nonexistent/kept.pem", 1);
	assert_int_equal(uv_loop_init(&loop), 0);
	f = fetcher_new(&loop);
	assert_int_equal(fetch_start(f,
				     &(struct fetch_request){ .url = httpd_url("/hang"), .cap = 4096,
							      .timeout_ms = 2000 },
				     on_done, &s),
			 0);
	pid = fetcher_helper_pid(f);
	assert_true(pid > 0);
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	assert_non_null(strstr(exe, "ant-agent-net"));
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	fp = fopen(path, "r");
	assert_non_null(fp);
	len = fread(env, 1, sizeof(env) - 1, fp);
	fclose(fp);
	for (size_t at = 0; at < len; at += strlen(env + at) + 1) {
		if (strncmp(env + at, "SECRET_KEY=", 11) == 0)
			saw_key = true;
		if (strcmp(env + at, "SSL_CERT_FILE=/nonexistent/kept.pem") == 0)
			saw_cert = true;
	}
	assert_false(saw_key);
	assert_true(saw_cert); /* the environment read is the helper's */
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(s.calls, 1);
	assert_false(s.ok);
	fetcher_free(f);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	unsetenv("SECRET_KEY");
	unsetenv("SSL_CERT_FILE");
}

/* One request through a stand-in helper, then one through the real one. */
static void fails_then_recovers(const char *const *argv, const char *why)
{
	uv_loop_t loop;
	struct fetcher *f;
	struct seen bad = { 0 }, good = { 0 };

	fetch_set_helper(argv);
	assert_int_equal(uv_loop_init(&loop), 0);
	f = fetcher_new(&loop);
	assert_int_equal(fetch_start(f,
				     &(struct fetch_request){ .url = httpd_url("/files/hello.txt"),
							      .cap = 4096, .timeout_ms = 300 },
				     on_done, &bad),
			 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(bad.calls, 1);
	assert_false(bad.ok);
	assert_int_equal(bad.status, 0);
	if (strstr(bad.error, why) == NULL)
		fprintf(stderr, "first request: %s\n", bad.error);
	assert_non_null(strstr(bad.error, why));

	fetch_set_helper(NULL);
	assert_int_equal(fetch_start(f,
				     &(struct fetch_request){ .url = httpd_url("/files/hello.txt"),
							      .cap = 4096 },
				     on_done, &good),
			 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(good.calls, 1);
	if (!good.ok)
		fprintf(stderr, "second request: %s\n", good.error);
	assert_true(good.ok);
	assert_int_equal(good.status, 200);
	fetcher_free(f);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_crashing_helper_is_a_failed_request(void **state)
{
	static const char *const argv[] = { "/bin/sh", "-c", "kill -SEGV $$", NULL };

	(void)state;
	fails_then_recovers(argv, "ended by signal 11"); /* the crash is named */
}

static void test_exiting_helper_is_a_failed_request(void **state)
{
	static const char *const argv[] = { "/bin/sh", "-c", "exit 0", NULL };

	(void)state;
	fails_then_recovers(argv, "network helper");
}

static void test_hanging_helper_is_stopped_and_fails(void **state)
{
	static const char *const argv[] = { "/bin/sleep", "600", NULL };

	(void)state;
	fails_then_recovers(argv, "stopped answering");
}

/* cat sends the request back: a frame of the wrong type. */
static void test_nonsense_from_helper_is_refused(void **state)
{
	static const char *const argv[] = { "/bin/cat", NULL };

	(void)state;
	fails_then_recovers(argv, "malformed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helper_never_gets_secret_key),
		cmocka_unit_test(test_crashing_helper_is_a_failed_request),
		cmocka_unit_test(test_exiting_helper_is_a_failed_request),
		cmocka_unit_test(test_hanging_helper_is_stopped_and_fails),
		cmocka_unit_test(test_nonsense_from_helper_is_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

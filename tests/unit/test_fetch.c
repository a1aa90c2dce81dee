/* fetch against a real HTTP server on 127.0.0.1: bodies, ETag/304,
 * errors, rate-limit headers, timeouts, caps, redirects, protocols, POST,
 * and several transfers at once on one loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "fetch.h"
#include "testhttpd.h"

#include <curl/curl.h>
#include <string.h>

static int setup(void **state)
{
	(void)state;
	if (httpd_start() != 0) {
		fprintf(stderr, "test HTTP server did not start\n");
		return -1;
	}
	httpd_put("hello.txt", "hello, fleet\n");
	httpd_put("redirected.txt", "arrived\n");
	return 0;
}

/* The TLS server of test_https_never_redirects_to_http, stopped here too
 * so that a failed assertion does not leave it running. */
static pid_t g_tls_pid;

static int teardown(void **state)
{
	(void)state;
	if (g_tls_pid > 0) {
		kill(g_tls_pid, SIGTERM);
		waitpid(g_tls_pid, NULL, 0);
	}
	httpd_stop();
	return 0;
}

static void get(const char *path, size_t cap, int timeout_ms, const char *etag,
		struct fetch_response *res)
{
	struct fetch_request req;

	memset(&req, 0, sizeof(req));
	req.url = httpd_url(path);
	req.cap = cap;
	req.timeout_ms = timeout_ms;
	req.etag = etag;
	fetch_sync(&req, res);
}

static void test_get_and_etag(void **state)
{
	struct fetch_response res, again;
	char etag[256];

	(void)state;
	get("/files/hello.txt", FETCH_CAP_XML, 0, NULL, &res);
	assert_true(res.ok);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.body.data, "hello, fleet\n");
	assert_int_equal(res.body.len, 13);
	assert_true(res.etag[0] == '"');
	assert_int_equal(res.retry_after_s, -1);
	assert_int_equal(res.ratelimit_remaining, -1);
	str_copy(etag, res.etag, sizeof(etag));
	fetch_response_free(&res);

	/* Same ETag: the server answers 304, which counts as ok. */
	get("/files/hello.txt", FETCH_CAP_XML, 0, etag, &again);
	assert_true(again.ok);
	assert_true(again.not_modified);
	assert_int_equal(again.status, 304);
	assert_int_equal(again.body.len, 0);
	fetch_response_free(&again);

	/* A stale ETag gets the body again. */
	get("/files/hello.txt", FETCH_CAP_XML, 0, "\"old\"", &again);
	assert_true(again.ok);
	assert_false(again.not_modified);
	assert_int_equal(again.body.len, 13);
	fetch_response_free(&again);
}

static void test_http_errors(void **state)
{
	static const long codes[] = { 403, 404, 500 };
	struct fetch_response res;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(codes); i++) {
		char path[32];

		snprintf(path, sizeof(path), "/status/%ld", codes[i]);
		assert_int_equal(fetch_sync(&(struct fetch_request){ .url = httpd_url(path), .cap = 4096 },
					    &res), -1);
		assert_false(res.ok);
		assert_int_equal(res.status, codes[i]);
		assert_int_equal(res.curl_code, 0);
		assert_non_null(strstr(res.error, "HTTP status"));
		fetch_response_free(&res);
	}
}

static void test_rate_limit_headers(void **state)
{
	struct fetch_response res;
	int64_t now = (int64_t)time(NULL);

	(void)state;
	get("/ratelimit/60", FETCH_CAP_JSON, 0, NULL, &res);
	assert_false(res.ok);
	assert_int_equal(res.status, 403);
	assert_int_equal(res.ratelimit_remaining, 0);
	assert_true(res.ratelimit_reset >= now + 50 && res.ratelimit_reset <= now + 70);
	fetch_response_free(&res);

	get("/retry-after/120", FETCH_CAP_JSON, 0, NULL, &res);
	assert_int_equal(res.status, 503);
	assert_int_equal(res.retry_after_s, 120);
	fetch_response_free(&res);
}

static void test_timeout(void **state)
{
	struct fetch_response res;
	uint64_t t0 = clock_mono_ns();
	double secs;

	(void)state;
	get("/hang", FETCH_CAP_XML, 700, NULL, &res);
	secs = (double)(clock_mono_ns() - t0) / 1e9;
	assert_false(res.ok);
	assert_int_equal(res.curl_code, CURLE_OPERATION_TIMEDOUT);
	assert_non_null(strstr(res.error, "in time"));
	assert_true(secs >= 0.6 && secs < 5.0);
	fetch_response_free(&res);
}

static void test_caps(void **state)
{
	static const char *const paths[] = {
		"/big/104857600",          /* 100 MB, declared up front */
		"/big-nolength/104857600", /* 100 MB, length unknown */
		"/endless",                /* never ends */
	};
	struct fetch_response res;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		uint64_t t0 = clock_mono_ns();

		get(paths[i], FETCH_CAP_XML, 10000, NULL, &res);
		assert_false(res.ok);
		assert_true(res.too_large);
		assert_int_equal(res.body.len, 0); /* a cut body is never handed out */
		assert_non_null(strstr(res.error, "limit"));
		/* Cut off at once, not after reading 100 MB or timing out. */
		assert_true((double)(clock_mono_ns() - t0) / 1e9 < 5.0);
		fetch_response_free(&res);
	}
	/* Exactly at the cap is fine. */
	get("/big/4096", 4096, 0, NULL, &res);
	assert_true(res.ok);
	assert_int_equal(res.body.len, 4096);
	fetch_response_free(&res);
	get("/big-nolength/4097", 4096, 0, NULL, &res);
	assert_true(res.too_large);
	fetch_response_free(&res);
}

static void test_redirects_and_protocols(void **state)
{
	struct fetch_request req;
	struct fetch_response res;
	char url[1200];

	(void)state;
	get("/redirect/3", 4096, 0, NULL, &res);
	assert_true(res.ok);
	assert_string_equal(res.body.data, "arrived\n");
	fetch_response_free(&res);

	get("/redirect/6", 4096, 0, NULL, &res); /* one more than FETCH_MAX_REDIRECTS */
	assert_false(res.ok);
	assert_int_equal(res.curl_code, CURLE_TOO_MANY_REDIRECTS);
	fetch_response_free(&res);

	/* A server can never send us to a local file, even when file:// is
	 * allowed for our own URLs. */
	memset(&req, 0, sizeof(req));
	req.url = httpd_url("/redirect-file");
	req.cap = 4096;
	req.allow_file = true;
	assert_int_equal(fetch_sync(&req, &res), -1);
	assert_false(res.ok);
	fetch_response_free(&res);

	/* file:// only when asked for. */
	snprintf(url, sizeof(url), "file://%s/hello.txt", httpd_root());
	req.url = url;
	req.allow_file = false;
	assert_int_equal(fetch_sync(&req, &res), -1);
	assert_int_equal(res.curl_code, CURLE_UNSUPPORTED_PROTOCOL);
	fetch_response_free(&res);
	req.allow_file = true;
	assert_int_equal(fetch_sync(&req, &res), 0);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.body.data, "hello, fleet\n");
	fetch_response_free(&res);

	req.url = "ftp://127.0.0.1/x";
	assert_int_equal(fetch_sync(&req, &res), -1);
	assert_int_equal(res.curl_code, CURLE_UNSUPPORTED_PROTOCOL);
	fetch_response_free(&res);

	/* Nothing listens on port 1 of loopback. */
	req.url = "http://127.0.0.1:1/";
	assert_int_equal(fetch_sync(&req, &res), -1);
	assert_int_equal(res.curl_code, CURLE_COULDNT_CONNECT);
	assert_true(res.error[0] != '\0');
	fetch_response_free(&res);
}

/* A second testhttpd speaking TLS with a certificate made for the test;
 * the request trusts it through ca_file. */
static void test_https_never_redirects_to_http(void **state)
{
	char cmd[1500], cert[300], key[300], pf[300], url[1200];
	struct fetch_request req;
	struct fetch_response res;
	struct buf b;
	int64_t port = 0;

	(void)state;
	snprintf(cert, sizeof(cert), "%s/tls-cert.pem", httpd_root());
	snprintf(key, sizeof(key), "%s/tls-key.pem", httpd_root());
	snprintf(pf, sizeof(pf), "%s/tls-port", httpd_root());
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
		 "-addext subjectAltName=IP:127.0.0.1 -keyout '%s' -out '%s' 2>/dev/null",
		 key, cert);
	assert_int_equal(system(cmd), 0);
	g_tls_pid = fork();
	assert_true(g_tls_pid >= 0);
	if (g_tls_pid == 0) {
		execlp("python3", "python3", ANT_SOURCE_DIR "/tests/tools/testhttpd.py", "--root",
		       httpd_root(), "--port-file", pf, "--tls-cert", cert, "--tls-key", key,
		       (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && port == 0; i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		if (file_read_all(pf, 64, &b) == 0) {
			if (parse_i64(b.data, 1, 65535, &port) != 0)
				port = 0;
			buf_free(&b);
		}
		if (port == 0)
			nanosleep(&ts, NULL);
	}
	assert_true(port > 0);

	memset(&req, 0, sizeof(req));
	req.cap = 4096;
	req.ca_file = cert;
	/* https to https is followed (and proves the TLS set-up works). */
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/redirect/1", (int)port);
	req.url = url;
	assert_int_equal(fetch_sync(&req, &res), 0);
	assert_string_equal(res.body.data, "arrived\n");
	fetch_response_free(&res);
	/* https to http is refused, though the http side would answer. */
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/redirect-http/127.0.0.1:%d/files/redirected.txt",
		 (int)port, g_httpd.port);
	assert_int_equal(fetch_sync(&req, &res), -1);
	assert_false(res.ok);
	assert_int_equal(res.curl_code, CURLE_UNSUPPORTED_PROTOCOL);
	fetch_response_free(&res);
	/* http to http still is. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/redirect-http/127.0.0.1:%d/files/redirected.txt",
		 g_httpd.port, g_httpd.port);
	req.url = url;
	req.ca_file = NULL;
	assert_int_equal(fetch_sync(&req, &res), 0);
	assert_string_equal(res.body.data, "arrived\n");
	fetch_response_free(&res);

	kill(g_tls_pid, SIGTERM);
	waitpid(g_tls_pid, NULL, 0);
	g_tls_pid = 0;
}

static void test_post_and_headers(void **state)
{
	static const char *const hdrs[] = { "Content-Type: text/plain", "X-Test: yes", NULL };
	struct fetch_request req;
	struct fetch_response res;
	json_t *root;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.url = httpd_url("/echo");
	req.method = "POST";
	req.body = "m,tag=a v=1i 1\n";
	req.body_len = strlen(req.body);
	req.headers = hdrs;
	req.cap = FETCH_CAP_REPLY;
	assert_int_equal(fetch_sync(&req, &res), 0);
	root = json_loadb(res.body.data, res.body.len, 0, NULL);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "body")), "m,tag=a v=1i 1\n");
	assert_string_equal(json_string_value(json_object_get(json_object_get(root, "headers"), "X-Test")),
			    "yes");
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(root, "headers"),
								   "User-Agent")),
			       "ant-agent/"));
	json_decref(root);
	fetch_response_free(&res);
}

struct multi {
	int done;
	int ok;
};

static void multi_cb(struct fetch_response *res, void *ud)
{
	struct multi *m = ud;

	m->done++;
	m->ok += res->ok;
}

static void never_cb(struct fetch_response *res, void *ud)
{
	(void)res;
	(void)ud;
	fail_msg("a cancelled transfer must not call back");
}

/* Many transfers share one loop; freeing the fetcher cancels the one
 * that never ends without calling it back. */
static void test_concurrent_on_one_loop(void **state)
{
	struct fetch_request req;
	struct multi m = { 0, 0 };
	struct fetcher *f;
	uv_loop_t loop;
	char url[8][1100];

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	f = fetcher_new(&loop);
	assert_non_null(f);
	memset(&req, 0, sizeof(req));
	req.cap = 4096;
	for (int i = 0; i < 8; i++) {
		snprintf(url[i], sizeof(url[i]), "%s?tag=c%d", httpd_url("/files/hello.txt"), i);
		req.url = url[i];
		assert_int_equal(fetch_start(f, &req, multi_cb, &m), 0);
	}
	req.url = httpd_url("/hang");
	req.timeout_ms = 60000;
	assert_int_equal(fetch_start(f, &req, never_cb, NULL), 0);
	while (m.done < 8)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(m.ok, 8);
	fetcher_free(f);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_bad_requests(void **state)
{
	struct fetch_response res;

	(void)state;
	assert_int_equal(fetch_sync(&(struct fetch_request){ .url = NULL, .cap = 10 }, &res), -1);
	fetch_response_free(&res);
	assert_int_equal(fetch_sync(&(struct fetch_request){ .url = httpd_url("/"), .cap = 0 }, &res), -1);
	fetch_response_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_and_etag),
		cmocka_unit_test(test_http_errors),
		cmocka_unit_test(test_rate_limit_headers),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_redirects_and_protocols),
		cmocka_unit_test(test_https_never_redirects_to_http),
		cmocka_unit_test(test_post_and_headers),
		cmocka_unit_test(test_concurrent_on_one_loop),
		cmocka_unit_test(test_bad_requests),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

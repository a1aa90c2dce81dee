/* The AntTP gateway path: the URL built from ANTTP_URL, HTTP statuses
 * read as outcomes, and fetch's streamed body (every byte reaches the
 * callback, none is kept, the cap still cuts it off, the callback can
 * stop it), against the test HTTP server on 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "digest.h"
#include "fetch.h"
#include "gateway.h"
#include "testhttpd.h"

#include <string.h>

static int setup(void **state)
{
	(void)state;
	if (httpd_start() != 0) {
		fprintf(stderr, "test HTTP server did not start\n");
		return -1;
	}
	httpd_put("hello.txt", "hello, fleet\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	httpd_stop();
	return 0;
}

static void test_url(void **state)
{
	char url[256], err[200];

	(void)state;
	assert_int_equal(gateway_url("http://127.0.0.1:18888", "abcd", url, sizeof(url), err, sizeof(err)), 0);
	assert_string_equal(url, "http://127.0.0.1:18888/abcd");
	assert_int_equal(gateway_url("https://gw.example//", "ab", url, sizeof(url), err, sizeof(err)), 0);
	assert_string_equal(url, "https://gw.example/ab");
	assert_int_equal(gateway_url("", "ab", url, sizeof(url), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ANTTP_URL"));
	assert_int_equal(gateway_url("file:///etc", "ab", url, sizeof(url), err, sizeof(err)), -1);
	assert_int_equal(gateway_url("http://h/?q=", "ab", url, sizeof(url), err, sizeof(err)), -1);
	assert_int_equal(gateway_url("http://h/\n", "ab", url, sizeof(url), err, sizeof(err)), -1);
	assert_int_equal(gateway_url("http://h", "ab", url, 10, err, sizeof(err)), -1);
}

static void test_status_of(void **state)
{
	(void)state;
	assert_int_equal(gateway_status_of(200, 0, false), ST_OK);
	assert_int_equal(gateway_status_of(206, 0, false), ST_OK);
	assert_int_equal(gateway_status_of(404, 0, false), ST_DATA_LOSS);
	assert_int_equal(gateway_status_of(400, 0, false), ST_CLIENT_ERROR);
	assert_int_equal(gateway_status_of(500, 0, false), ST_NETWORK_ERROR);
	assert_int_equal(gateway_status_of(503, 0, false), ST_NETWORK_ERROR);
	/* No answer: refused, timed out. */
	assert_int_equal(gateway_status_of(0, 7, false), ST_NETWORK_ERROR);
	assert_int_equal(gateway_status_of(0, 28, false), ST_NETWORK_ERROR);
	/* A 200 cut off mid-body is not a success. */
	assert_int_equal(gateway_status_of(200, 18, false), ST_NETWORK_ERROR);
	assert_int_equal(gateway_status_of(200, 23, true), ST_DATA_LOSS);
}

struct sink {
	struct digest_md5 md5;
	uint64_t bytes;
	int calls;
	uint64_t stop_after;   /* 0: never */
};

static int sink_body(const void *p, size_t n, void *ud)
{
	struct sink *s = ud;

	s->calls++;
	s->bytes += n;
	digest_md5_update(&s->md5, p, n);
	return s->stop_after && s->bytes >= s->stop_after ? -1 : 0;
}

static void stream(const char *path, size_t cap, struct sink *s, struct fetch_response *res)
{
	struct fetch_request req;

	memset(&req, 0, sizeof(req));
	req.url = httpd_url(path);
	req.cap = cap;
	req.on_body = sink_body;
	req.body_ud = s;
	assert_int_equal(digest_md5_init(&s->md5), 0);
	fetch_sync(&req, res);
}

static void test_streamed_body(void **state)
{
	struct fetch_response res;
	struct sink s = { 0 };
	char hex[DIGEST_MD5_HEX_SIZE], want[DIGEST_MD5_HEX_SIZE];

	(void)state;
	stream("/files/hello.txt", 1024, &s, &res);
	assert_true(res.ok);
	assert_int_equal(res.body_bytes, 13);
	assert_int_equal(s.bytes, 13);
	/* Streamed, not kept. */
	assert_int_equal(res.body.len, 0);
	assert_int_equal(digest_md5_final(&s.md5, hex), 0);
	digest_md5_buffer("hello, fleet\n", 13, want);
	assert_string_equal(hex, want);
	fetch_response_free(&res);

	/* 3 MiB in many pieces: every byte counted, none kept. */
	memset(&s, 0, sizeof(s));
	stream("/big-nolength/3145728", 4 * 1024 * 1024, &s, &res);
	assert_true(res.ok);
	assert_int_equal(s.bytes, 3145728);
	assert_int_equal(res.body_bytes, 3145728);
	assert_true(s.calls > 1);
	assert_int_equal(res.body.len, 0);
	digest_md5_abort(&s.md5);
	fetch_response_free(&res);

	/* The cap still cuts a streamed body off. */
	memset(&s, 0, sizeof(s));
	stream("/big-nolength/3145728", 1024 * 1024, &s, &res);
	assert_false(res.ok);
	assert_true(res.too_large);
	assert_true(s.bytes <= 1024 * 1024);
	digest_md5_abort(&s.md5);
	fetch_response_free(&res);

	/* The callback can stop it. */
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	stream("/big-nolength/3145728", 4 * 1024 * 1024, &s, &res);
	assert_false(res.ok);
	assert_true(s.bytes < 3145728);
	digest_md5_abort(&s.md5);
	fetch_response_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_status_of),
		cmocka_unit_test(test_streamed_body),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

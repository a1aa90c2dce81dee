/* The built-in MD5: RFC 1321 vectors, every padding boundary, streaming in
 * odd pieces, a million bytes, files (against digests computed elsewhere,
 * by Python's hashlib). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "digest.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_rfc1321_vectors(void **state)
{
	static const struct { const char *in, *md5; } v[] = {
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "a", "0cc175b9c0f1b6a831c399e269772661" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
		{ "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
		{ "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
		  "57edf4a22be3c955ac49da2e2107b67a" },
	};
	char hex[DIGEST_MD5_HEX_SIZE];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(digest_md5_buffer(v[i].in, strlen(v[i].in), hex), 0);
		assert_string_equal(hex, v[i].md5);
	}
}

/* Lengths around the 56-byte point where the length field no longer fits
 * in the last block, and around whole blocks: bytes (i * 31 + 7) & 255. */
static void test_padding_boundaries(void **state)
{
	static const struct { size_t n; const char *md5; } v[] = {
		{ 55, "c9e512626618c9980ef21a96597af94c" },
		{ 56, "ecde7caa08e9f5657c863df107cac60a" },
		{ 57, "b17b1a018dd6a4d1edda8aca15f17846" },
		{ 63, "2f0301069e1c40af7f6c8f843b1b13f2" },
		{ 64, "b6bf87c24b1bc334e2541387a92b981b" },
		{ 65, "f168246f08b6134d66bd2a10343fa9f1" },
		{ 119, "d5dc3d8264de3aa24dee105910ee27fe" },
		{ 120, "bcc139b3848923904860d1eefd6e5923" },
		{ 128, "3e85b70ffc8df5c735ecf2a8f14f1bee" },
	};
	unsigned char data[128];
	char hex[DIGEST_MD5_HEX_SIZE];

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)((i * 31 + 7) & 255);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct digest_md5 d;

		assert_int_equal(digest_md5_buffer(data, v[i].n, hex), 0);
		assert_string_equal(hex, v[i].md5);
		/* The same bytes one at a time: every path through update. */
		assert_int_equal(digest_md5_init(&d), 0);
		for (size_t k = 0; k < v[i].n; k++)
			assert_int_equal(digest_md5_update(&d, data + k, 1), 0);
		assert_int_equal(digest_md5_final(&d, hex), 0);
		assert_string_equal(hex, v[i].md5);
	}
}

static void test_million_a(void **state)
{
	size_t n = 1000000;
	char *a = malloc(n);
	char hex[DIGEST_MD5_HEX_SIZE];

	(void)state;
	assert_non_null(a);
	memset(a, 'a', n);
	assert_int_equal(digest_md5_buffer(a, n, hex), 0);
	assert_string_equal(hex, "7707d6ae4e027c70eea2a935c2296f21");
	free(a);
}

static void test_streaming_equals_one_shot(void **state)
{
	const char *text = "12345678901234567890123456789012345678901234567890123456789012345678901234567890";
	struct digest_md5 d;
	char hex[DIGEST_MD5_HEX_SIZE];

	(void)state;
	assert_int_equal(digest_md5_init(&d), 0);
	/* Pieces that straddle MD5's 64-byte blocks. */
	assert_int_equal(digest_md5_update(&d, text, 1), 0);
	assert_int_equal(digest_md5_update(&d, text + 1, 0), 0);
	assert_int_equal(digest_md5_update(&d, text + 1, 63), 0);
	assert_int_equal(digest_md5_update(&d, text + 64, 16), 0);
	assert_int_equal(digest_md5_final(&d, hex), 0);
	assert_string_equal(hex, "57edf4a22be3c955ac49da2e2107b67a");
	/* A finished context is refused, not reused. */
	assert_int_equal(digest_md5_update(&d, "x", 1), -1);
	digest_md5_abort(&d);
}

static void test_file_and_fd(void **state)
{
	char path[] = "/tmp/ant-test-digest-XXXXXX";
	char hex[DIGEST_MD5_HEX_SIZE], hex2[DIGEST_MD5_HEX_SIZE];
	size_t n = 3 * DIGEST_READ_SIZE + 17;
	unsigned char *data = malloc(n);
	uint64_t bytes = 0;
	int fd;

	(void)state;
	for (size_t i = 0; i < n; i++)
		data[i] = (unsigned char)(i * 7 + (i >> 9));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
	assert_int_equal(digest_md5_file(path, hex, &bytes), 0);
	assert_int_equal(bytes, n);
	assert_string_equal(hex, "d7e3f5a7f2851c8f1403a944e6fbcf82");
	assert_int_equal(digest_md5_buffer(data, n, hex2), 0);
	assert_string_equal(hex, hex2);
	unlink(path);
	assert_int_equal(digest_md5_file(path, hex, NULL), -1);
	assert_string_equal(hex, "");
	free(data);
}

static void test_hex_valid(void **state)
{
	(void)state;
	assert_true(digest_md5_hex_valid("d41d8cd98f00b204e9800998ecf8427e"));
	assert_true(digest_md5_hex_valid("D41D8CD98F00B204E9800998ECF8427E"));
	assert_false(digest_md5_hex_valid("9503998934443"));
	assert_false(digest_md5_hex_valid("d41d8cd98f00b204e9800998ecf8427g"));
	assert_false(digest_md5_hex_valid("d41d8cd98f00b204e9800998ecf8427e0"));
	assert_false(digest_md5_hex_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1321_vectors),
		cmocka_unit_test(test_padding_boundaries),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_streaming_equals_one_shot),
		cmocka_unit_test(test_file_and_fd),
		cmocka_unit_test(test_hex_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Checked parsing, bounded buffers and atomic writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util.h"
#include <fcntl.h>
#include <errno.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_parse_i64(void **state)
{
	int64_t v = 7;

	(void)state;
	assert_int_equal(parse_i64(" 42 ", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_i64("-3", -5, 5, &v), 0);
	assert_int_equal(v, -3);
	v = 7;
	assert_int_equal(parse_i64("101", 0, 100, &v), -1);
	assert_int_equal(parse_i64("4x", 0, 100, &v), -1);
	assert_int_equal(parse_i64("", 0, 100, &v), -1);
	assert_int_equal(parse_i64("99999999999999999999", INT64_MIN, INT64_MAX, &v), -1);
	assert_int_equal(parse_i64(NULL, 0, 1, &v), -1);
	assert_int_equal(v, 7);
}

static void test_parse_double_bool(void **state)
{
	double d;
	bool b;

	(void)state;
	assert_int_equal(parse_double("2.5", 0, 10, &d), 0);
	assert_true(d == 2.5);
	assert_int_equal(parse_double("nan", 0, 10, &d), -1);
	assert_int_equal(parse_double("inf", 0, 1e300, &d), -1);
	assert_int_equal(parse_double("1e400", 0, 1e300, &d), -1);
	assert_int_equal(parse_bool(" On ", &b), 0);
	assert_true(b);
	assert_int_equal(parse_bool("FALSE", &b), 0);
	assert_false(b);
	assert_int_equal(parse_bool("2", &b), -1);
	assert_int_equal(parse_bool("a very long text indeed", &b), -1);
}

static void test_buf_cap(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_append(&b, "12345", 5), 0);
	assert_int_equal(buf_append(&b, "67890abc", 8), -1);
	assert_int_equal(b.len, 10);
	assert_true(b.truncated);
	assert_string_equal(b.data, "1234567890");
	assert_int_equal(buf_printf(&b, "x"), -1);
	buf_reset(&b);
	assert_int_equal(buf_printf(&b, "%d-%s", 7, "ab"), 0);
	assert_string_equal(b.data, "7-ab");
	buf_free(&b);
}

static void test_str_helpers(void **state)
{
	char small[4];
	char t[] = "  hello \t\n";

	(void)state;
	assert_int_equal(str_copy(small, "abcdef", sizeof(small)), 6);
	assert_string_equal(small, "abc");
	assert_string_equal(str_trim(t), "hello");
	assert_true(str_ieq("Kill-Switch", "kill-switch"));
	assert_false(str_ieq("kill", "kill-switch"));
}

static void test_mask_urls(void **state)
{
	static const char *const cases[][2] = {
		{ "https://user:hunter2@example.org/x.csv",
		  "https://user:****@example.org/x.csv" },
		{ "https://ghp_abcdef@github.com/o/r", "https://****@github.com/o/r" },
		{ "GET http://h/p?a=1&token=s3cr3t&b=2 failed",
		  "GET http://h/p?a=1&token=****&b=2 failed" },
		{ "'https://h/?access_token=abc;API_KEY=def&X-Amz-Signature=00#frag' ok",
		  "'https://h/?access_token=****;API_KEY=****&X-Amz-Signature=****#frag' ok" },
		{ "two: http://a:b@h1/ and http://h2/?password=pw",
		  "two: http://a:****@h1/ and http://h2/?password=****" },
		{ "http://h/a@b/c?q=1", "http://h/a@b/c?q=1" },  /* '@' in the path */
		{ "no url here, a://", "no url here, a://" },
		{ "http://h:8086/write?db=x&u=agent", "http://h:8086/write?db=x&u=agent" },
	};
	char out[256], small[12];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(str_mask_urls(cases[i][0], out, sizeof(out)), strlen(cases[i][1]));
		assert_string_equal(out, cases[i][1]);
	}
	/* Cut to the buffer, always terminated, never a secret's prefix
	 * beyond what fits of the masked text. */
	str_mask_urls("https://u:secretpw@h/", small, sizeof(small));
	assert_string_equal(small, "https://u:*");
}

/* str_clean's one-line mode and its "cut" answer, on which the control
 * file's "Description ... was cut" warning rests. */
static void test_clean_one_line(void **state)
{
	char out[8], inplace[] = "  a\x1b[2J\tb\xc2\x9b  c\r\n  ";

	(void)state;
	/* Trailing blanks are not text: nothing was cut. */
	assert_false(str_clean("abc   \n\t ", out, sizeof(out), STR_CLEAN_ONE_LINE));
	assert_string_equal(out, "abc");
	assert_false(str_clean("1234567", out, sizeof(out), STR_CLEAN_ONE_LINE));
	assert_true(str_clean("12345678", out, sizeof(out), STR_CLEAN_ONE_LINE));
	assert_string_equal(out, "1234567");
	/* A two-byte letter that would end past the cap is left out whole. */
	assert_true(str_clean("123456\xc3\xa9", out, sizeof(out), STR_CLEAN_ONE_LINE));
	assert_string_equal(out, "123456");
	/* In place, as the status file's strings are cleaned. */
	assert_false(str_clean(inplace, inplace, sizeof(inplace), STR_CLEAN_ONE_LINE));
	assert_string_equal(inplace, "a [2J b c");
	/* Marking mode cuts on the cap too, and says so. */
	assert_true(str_clean("ab\x1b" "cdefgh", out, sizeof(out), 0));
	assert_string_equal(out, "ab?cdef");
	assert_false(str_clean("", out, 0, 0));
}

static void test_sanitize_terminal(void **state)
{
	static const char *const cases[][2] = {
		/* OSC title, clear screen, cursor home, BEL, a fake line. */
		{ "\x1b]0;pwned\x07\x1b[2J\x1b[Hkill-switch is OFF", "?]0;pwned??[2J?[Hkill-switch is OFF" },
		{ "tab\tstays, CR\r NUL-free DEL\x7f", "tab\tstays, CR? NUL-free DEL?" },
		/* 8-bit C1 CSI and OSC, raw and in UTF-8. */
		{ "a\x9b" "31mb\x9d" "0;t\x9c", "a?31mb?0;t?" },
		{ "a\xc2\x9b" "31m", "a?31m" },
		/* Valid UTF-8 stays: Latin-1 range above C1, CJK, emoji. */
		{ "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x90\x9c \xc2\xa0", "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x90\x9c \xc2\xa0" },
		/* Not UTF-8: Latin-1 bytes, overlong, surrogate, cut short. */
		{ "caf\xe9!", "caf?!" },
		{ "\xc0\xaf|\xed\xa0\x80|\xe6\x97", "??|???|??" },
	};
	char buf[128], nl[] = "one\ntwo\n";

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		str_copy(buf, cases[i][0], sizeof(buf));
		assert_string_equal(str_sanitize_terminal(buf, false), cases[i][1]);
	}
	assert_string_equal(str_sanitize_terminal(nl, true), "one\ntwo\n");
	assert_string_equal(str_sanitize_terminal(nl, false), "one?two?");
}

/* RFC 4648 section 10's vectors, a binary byte, and a buffer too small. */
static void test_base64(void **state)
{
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
		{ "user:p\xff\xfe?", "dXNlcjpw//4/" },
	};
	char out[16];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(str_base64(v[i].in, strlen(v[i].in), out, sizeof(out)), strlen(v[i].out));
		assert_string_equal(out, v[i].out);
	}
	/* "foobar" needs 8 + 1 bytes: 8 is refused, leaving "". */
	assert_int_equal(str_base64("foobar", 6, out, 8), 0);
	assert_string_equal(out, "");
	assert_int_equal(str_base64("foobar", 6, out, 9), 8);
}

static void test_os_random(void **state)
{
	unsigned char a[32] = { 0 }, b[32] = { 0 }, zero[32] = { 0 };

	(void)state;
	assert_int_equal(os_random(a, sizeof(a)), 0);
	assert_int_equal(os_random(b, sizeof(b)), 0);
	/* 256 random bits are all zero, or equal twice, with probability 2^-256. */
	assert_memory_not_equal(a, zero, sizeof(a));
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(os_random(a, 0), 0);
}

static void test_open_own(void **state)
{
	char dir[] = "/tmp/ant-test-own-XXXXXX", path[300], link[300], fifo[300];
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/metrics.csv", dir);
	snprintf(link, sizeof(link), "%s/link.csv", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo.csv", dir);
	fd = file_open_own(path, O_WRONLY | O_APPEND, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(file_open_own(link, O_WRONLY | O_APPEND, 0644), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(file_open_own(fifo, O_WRONLY | O_APPEND, 0644), -1); /* never hangs */
	assert_true(errno == EINVAL || errno == ENXIO);
	fd = file_open_own("/dev/null", O_WRONLY | O_APPEND, 0644);
	assert_true(fd >= 0);
	close(fd);
	if (geteuid() == 0) { /* only root can give a file away */
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(file_open_own(path, O_WRONLY | O_APPEND, 0644), -1);
		assert_int_equal(errno, EPERM);
	}
	unlink(path);
	unlink(link);
	unlink(fifo);
	assert_int_equal(rmdir(dir), 0);
}

static void test_atomic_write_and_read_cap(void **state)
{
	char dir[] = "/tmp/ant-test-util-XXXXXX";
	char path[128], nested[128];
	struct buf b;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/file", dir);
	assert_int_equal(file_write_atomic(path, "one", 3, 0600), 0);
	assert_int_equal(file_write_atomic(path, "two!", 4, 0600), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(file_read_all(path, 100, &b), 0);
	assert_string_equal(b.data, "two!");
	buf_free(&b);
	assert_int_equal(file_read_all(path, 3, &b), -2);
	snprintf(nested, sizeof(nested), "%s/a/b/c", dir);
	assert_int_equal(mkdir_p(nested, 0700), 0);
	assert_int_equal(stat(nested, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* The directory that holds a file, not the file. */
	snprintf(nested, sizeof(nested), "%s/p/q/metrics.csv", dir);
	assert_int_equal(mkdir_parent(nested, 0700), 0);
	snprintf(nested, sizeof(nested), "%s/p/q", dir);
	assert_int_equal(stat(nested, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	snprintf(nested, sizeof(nested), "%s/p/q/metrics.csv", dir);
	assert_int_not_equal(stat(nested, &st), 0);
	assert_int_equal(mkdir_parent("bare-name", 0700), 0);
	assert_int_equal(mkdir_parent("/at-root", 0700), 0);
	assert_int_equal(file_write_atomic("/nonexistent-dir/x", "a", 1, 0600), -1);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_i64),
		cmocka_unit_test(test_parse_double_bool),
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_str_helpers),
		cmocka_unit_test(test_mask_urls),
		cmocka_unit_test(test_sanitize_terminal),
		cmocka_unit_test(test_clean_one_line),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_os_random),
		cmocka_unit_test(test_open_own),
		cmocka_unit_test(test_atomic_write_and_read_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

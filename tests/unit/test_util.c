/* Checked parsing, bounded buffers and atomic writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util.h"

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
		cmocka_unit_test(test_atomic_write_and_read_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

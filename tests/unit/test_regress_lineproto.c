/* Crash regressions in the line-protocol reader, found by fuzz_lineproto.
 * Each input is kept here as it was found (or reduced), with what must
 * happen instead. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lineproto.h"

static struct lp_point g_point;

static const struct lp_kv *field_of(const char *line, const char *key)
{
	char err[128];

	assert_int_equal(lp_parse(line, strlen(line), &g_point, err, sizeof(err)), 0);
	return lp_point_field(&g_point, key);
}

/* A float beyond int64's range (the writer prints 1e+21 for a large mean
 * or sum) was converted to int64 for the integer view: undefined
 * behaviour, caught by UBSan. The integer view now saturates. */
static void test_huge_float_saturates(void **state)
{
	const struct lp_kv *kv;

	(void)state;
	kv = field_of("ant_agent_summary,type=quote mean=1e+21 1700000060000000000", "mean");
	assert_non_null(kv);
	assert_int_equal(kv->type, LP_F_FLOAT);
	assert_true(kv->f == 1e21);
	assert_true(kv->i == INT64_MAX);

	kv = field_of("m f=-1e300", "f");
	assert_true(kv->i == INT64_MIN);
	kv = field_of("m f=9223372036854775808.0", "f");
	assert_true(kv->i == INT64_MAX);
	kv = field_of("m f=-9223372036854775808.0", "f");
	assert_true(kv->i == INT64_MIN);
	kv = field_of("m f=2.5", "f");
	assert_true(kv->i == 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_huge_float_saturates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

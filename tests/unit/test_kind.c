/* The table of test kinds is complete and consistent: every row has every
 * property and function, names are unique and round-trip, each setting it
 * names is an integer setting, and the typed skip/stop reasons and the
 * statuses all have their words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "kind.h"
#include "model.h"

static void test_every_row_is_complete(void **state)
{
	bool banner_seen[TEST__COUNT] = { false };

	(void)state;
	for (int t = 0; t < TEST__COUNT; t++) {
		const struct test_kind *k = kind_get((enum test_type)t);

		assert_non_null(k);
		assert_int_equal(k->type, t);
		assert_non_null(k->name);
		assert_true(k->name[0] >= 'a' && k->name[0] <= 'z');
		assert_non_null(k->title);
		assert_true(k->title[0] >= 'A' && k->title[0] <= 'Z');
		assert_non_null(k->start);
		assert_true(k->input == KIND_INPUT_CATALOGUE_ROW || k->input == KIND_INPUT_SEED_FILE);
		assert_true((unsigned)k->rate_limit < CFG__COUNT);
		assert_true((unsigned)k->yield_secs < CFG__COUNT);
		assert_int_equal(config_type(k->rate_limit), CFG_T_INT);
		assert_int_equal(config_type(k->yield_secs), CFG_T_INT);
		/* Each banner place is taken exactly once. */
		assert_true(k->banner_pos >= 0 && k->banner_pos < TEST__COUNT);
		assert_false(banner_seen[k->banner_pos]);
		banner_seen[k->banner_pos] = true;
	}
	assert_null(kind_get(TEST__COUNT));
	assert_null(kind_get((enum test_type)-1));
}

static void test_names_are_unique_and_round_trip(void **state)
{
	char upper[32], list[128];
	enum test_type got;

	(void)state;
	for (int t = 0; t < TEST__COUNT; t++) {
		const char *name = test_type_name((enum test_type)t);

		assert_int_equal(test_type_parse(name, &got), 0);
		assert_int_equal(got, t);
		/* Any case, as the control file may write it. */
		snprintf(upper, sizeof(upper), "%s", name);
		for (char *p = upper; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		assert_int_equal(test_type_parse(upper, &got), 0);
		assert_int_equal(got, t);
		for (int u = t + 1; u < TEST__COUNT; u++) {
			assert_string_not_equal(name, test_type_name((enum test_type)u));
			assert_string_not_equal(test_type_title((enum test_type)t),
						test_type_title((enum test_type)u));
		}
		assert_non_null(strstr(kind_names_list(list, sizeof(list)), name));
	}
	assert_int_equal(test_type_parse("delete", &got), -1);
	assert_int_equal(test_type_parse("", &got), -1);
	assert_string_equal(test_type_name(TEST__COUNT), "unknown");
	assert_string_equal(kind_names_list(list, sizeof(list)), "download, quote or upload");
	/* A short buffer is cut, never overrun. */
	assert_string_equal(kind_names_list(list, 5), "down");
}

static void test_reasons_and_statuses_have_words(void **state)
{
	struct test_result r;

	(void)state;
	assert_string_equal(test_reason_name(REASON_NONE), "");
	for (int w = 1; w < REASON__COUNT; w++) {
		assert_true(strlen(test_reason_name((enum test_reason)w)) > 0);
		assert_true(strlen(test_reason_text((enum test_reason)w)) > 0);
		for (int v = w + 1; v < REASON__COUNT; v++)
			assert_string_not_equal(test_reason_name((enum test_reason)w),
						test_reason_name((enum test_reason)v));
	}
	assert_string_equal(test_reason_name(REASON__COUNT), "");
	for (int s = 0; s < ST__COUNT; s++)
		for (int u = s + 1; u < ST__COUNT; u++)
			assert_string_not_equal(test_status_name((enum test_status)s),
						test_status_name((enum test_status)u));
	assert_string_equal(test_status_name(ST_STOPPED), "stopped");
	assert_false(test_status_counts(ST_STOPPED));
	assert_false(test_status_counts(ST_SKIPPED));
	assert_true(test_status_counts(ST_KILLED));
	assert_true(test_status_counts(ST_OK));

	memset(&r, 0, sizeof(r));
	test_result_set_why(&r, REASON_DISK_GUARD, "%s", "2.0 GB free, 5.0 GB required");
	assert_int_equal(r.why, REASON_DISK_GUARD);
	assert_string_equal(r.reason, "disk guard: 2.0 GB free, 5.0 GB required");
	test_result_set_why(&r, REASON_KILL_SWITCH, "%s", "");
	assert_string_equal(r.reason, "stopped by the kill-switch");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_row_is_complete),
		cmocka_unit_test(test_names_are_unique_and_round_trip),
		cmocka_unit_test(test_reasons_and_statuses_have_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Sliding-window rate limits and the client cap, with time moved by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "limiter.h"

static const int64_t defaults[TEST__COUNT] = { 360, 240, 120 };

static void test_hourly_budget_holds_over_a_window(void **state)
{
	struct limiter *l = limiter_new(defaults, LIMITER_WINDOW_MS, 1000);
	int64_t retry = 0;
	int taken = 0;

	(void)state;
	/* Ask for a download every second for two hours. */
	for (int64_t now = 0; now < 2 * LIMITER_WINDOW_MS; now += 1000) {
		if (limiter_take(l, TEST_DOWNLOAD, now, &retry) == LIMITER_OK) {
			taken++;
			limiter_release(l);
		}
		/* Never more than 360 in any trailing hour. */
		assert_true(limiter_used(l, TEST_DOWNLOAD, now) <= 360);
	}
	/* First hour: 360 at once; second hour: the slots free as the first
	 * ones leave the window, another 360. */
	assert_int_equal(taken, 720);
	limiter_free(l);
}

static void test_retry_at_is_when_oldest_leaves(void **state)
{
	const int64_t small[TEST__COUNT] = { 2, 2, 0 };
	struct limiter *l = limiter_new(small, LIMITER_WINDOW_MS, 10);
	int64_t retry = 0;

	(void)state;
	assert_int_equal(limiter_take(l, TEST_QUOTE, 1000, &retry), LIMITER_OK);
	assert_int_equal(limiter_take(l, TEST_QUOTE, 5000, &retry), LIMITER_OK);
	assert_int_equal(limiter_take(l, TEST_QUOTE, 6000, &retry), LIMITER_RATE);
	assert_int_equal(retry, 1000 + LIMITER_WINDOW_MS);
	assert_int_equal(limiter_take(l, TEST_QUOTE, retry - 1, &retry), LIMITER_RATE);
	assert_int_equal(limiter_take(l, TEST_QUOTE, 1000 + LIMITER_WINDOW_MS, &retry), LIMITER_OK);
	/* Types are independent; a limit of 0 never allows a start. */
	assert_int_equal(limiter_take(l, TEST_DOWNLOAD, 6000, &retry), LIMITER_OK);
	assert_int_equal(limiter_take(l, TEST_UPLOAD, 6000, &retry), LIMITER_RATE);
	assert_true(retry > 6000);
	limiter_free(l);
}

static void test_client_cap(void **state)
{
	struct limiter *l = limiter_new(defaults, LIMITER_WINDOW_MS, 2);
	int64_t retry;

	(void)state;
	assert_int_equal(limiter_take(l, TEST_DOWNLOAD, 0, &retry), LIMITER_OK);
	assert_int_equal(limiter_take(l, TEST_QUOTE, 0, &retry), LIMITER_OK);
	assert_int_equal(limiter_clients(l), 2);
	assert_int_equal(limiter_take(l, TEST_DOWNLOAD, 0, &retry), LIMITER_CLIENTS);
	/* A refused client slot does not spend a start. */
	assert_int_equal(limiter_used(l, TEST_DOWNLOAD, 0), 1);
	limiter_release(l);
	assert_int_equal(limiter_take(l, TEST_DOWNLOAD, 0, &retry), LIMITER_OK);
	limiter_release(l);
	limiter_release(l);
	limiter_release(l);
	limiter_release(l); /* extra releases never go negative */
	assert_int_equal(limiter_clients(l), 0);
	limiter_free(l);
}

static void test_reconfigure_lowers(void **state)
{
	const int64_t low[TEST__COUNT] = { 3, 240, 120 };
	struct limiter *l = limiter_new(defaults, LIMITER_WINDOW_MS, 100);
	int64_t retry;

	(void)state;
	for (int i = 0; i < 10; i++) {
		assert_int_equal(limiter_take(l, TEST_DOWNLOAD, i, &retry), LIMITER_OK);
		limiter_release(l);
	}
	limiter_configure(l, low, 100);
	assert_int_equal(limiter_limit(l, TEST_DOWNLOAD), 3);
	assert_int_equal(limiter_take(l, TEST_DOWNLOAD, 100, &retry), LIMITER_RATE);
	assert_true(limiter_used(l, TEST_DOWNLOAD, 100) <= 3);
	limiter_free(l);
}

static void test_log_throttle(void **state)
{
	struct limiter *l = limiter_new(defaults, LIMITER_WINDOW_MS, 1);

	(void)state;
	assert_true(limiter_should_log(l, TEST_DOWNLOAD, 0));
	assert_false(limiter_should_log(l, TEST_DOWNLOAD, LIMITER_LOG_EVERY_MS - 1));
	assert_true(limiter_should_log(l, TEST_QUOTE, 10));
	assert_true(limiter_should_log(l, TEST_DOWNLOAD, LIMITER_LOG_EVERY_MS));
	limiter_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hourly_budget_holds_over_a_window),
		cmocka_unit_test(test_retry_at_is_when_oldest_leaves),
		cmocka_unit_test(test_client_cap),
		cmocka_unit_test(test_reconfigure_lowers),
		cmocka_unit_test(test_log_throttle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Sorting and nearest-rank percentiles: the sort against the C library's
 * qsort over many shapes and sizes (the rollups' percentiles depend on it),
 * NaN placement, and the percentile ranks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static uint64_t rnd_state = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Fill v with one of several shapes that trouble naive quicksorts. */
static void fill(double *v, size_t n, int shape)
{
	for (size_t i = 0; i < n; i++) {
		switch (shape) {
		case 0: v[i] = (double)(rnd() % 1000000) / 1000.0; break;  /* random */
		case 1: v[i] = (double)(rnd() % 4); break;                 /* few values */
		case 2: v[i] = 7.5; break;                                 /* all equal */
		case 3: v[i] = (double)i; break;                           /* sorted */
		case 4: v[i] = (double)(n - i); break;                     /* reversed */
		case 5: v[i] = (double)(i < n / 2 ? i : n - i); break;     /* organ pipe */
		case 6: v[i] = (double)(i % 17); break;                    /* saw tooth */
		case 7: v[i] = i % 2 ? -0.0 : 0.0; break;                  /* signed zeros */
		default: v[i] = (double)(i ^ (n / 3)) - (double)n / 2; break;
		}
	}
}

static void test_sort_matches_qsort(void **state)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 15, 16, 17, 31, 100, 257, 1000, 4099, 65536 };
	double *v = malloc(65536 * sizeof(*v)), *ref = malloc(65536 * sizeof(*ref));

	(void)state;
	assert_non_null(v);
	assert_non_null(ref);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (int shape = 0; shape < 9; shape++) {
			size_t n = sizes[s];

			fill(v, n, shape);
			memcpy(ref, v, n * sizeof(*v));
			qsort(ref, n, sizeof(*ref), cmp);
			stats_sort(v, n);
			for (size_t i = 0; i < n; i++)
				assert_true(v[i] == ref[i]);
		}
	free(v);
	free(ref);
}

static void test_sort_nan_last(void **state)
{
	double v[40];

	(void)state;
	for (size_t i = 0; i < 40; i++)
		v[i] = i % 3 == 0 ? NAN : (double)(40 - i);
	stats_sort(v, 40);
	for (size_t i = 0; i < 26; i++) {
		assert_false(isnan(v[i]));
		if (i > 0)
			assert_true(v[i - 1] <= v[i]);
	}
	for (size_t i = 26; i < 40; i++)
		assert_true(isnan(v[i]));
}

static void test_percentile_ranks(void **state)
{
	double one_to_ten[10], hundred[100];

	(void)state;
	for (int i = 0; i < 10; i++)
		one_to_ten[i] = 10 - i;
	stats_sort(one_to_ten, 10);
	assert_true(stats_percentile(one_to_ten, 10, 0) == 1);
	assert_true(stats_percentile(one_to_ten, 10, 50) == 5);
	assert_true(stats_percentile(one_to_ten, 10, 90) == 9);
	assert_true(stats_percentile(one_to_ten, 10, 95) == 10);
	assert_true(stats_percentile(one_to_ten, 10, 100) == 10);
	for (int i = 0; i < 100; i++)
		hundred[i] = i + 1;
	assert_true(stats_percentile(hundred, 100, 99) == 99);
	assert_true(stats_percentile(hundred, 100, 1) == 1);
	assert_true(stats_percentile(hundred, 100, 1.5) == 2);
	assert_true(stats_percentile(hundred, 1, 99) == 1);
	assert_true(isnan(stats_percentile(hundred, 0, 50)));
}

/* The classic nearest-rank example (15 20 35 40 50), and values that are
 * not whole numbers. */
static void test_percentile_nearest_rank(void **state)
{
	double five[5] = { 50, 15, 40, 20, 35 };
	double tenths[100];

	(void)state;
	stats_sort(five, 5);
	assert_true(stats_percentile(five, 5, 5) == 15);
	assert_true(stats_percentile(five, 5, 30) == 20);
	assert_true(stats_percentile(five, 5, 40) == 20);
	assert_true(stats_percentile(five, 5, 50) == 35);
	assert_true(stats_percentile(five, 5, 100) == 50);
	for (int i = 0; i < 100; i++)
		tenths[i] = (double)(i + 1) / 10.0;
	assert_true(stats_percentile(tenths, 100, 50) == 5.0);
	assert_true(stats_percentile(tenths, 100, 90) == 9.0);
	assert_true(stats_percentile(tenths, 100, 99) == 9.9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sort_matches_qsort),
		cmocka_unit_test(test_sort_nan_last),
		cmocka_unit_test(test_percentile_ranks),
		cmocka_unit_test(test_percentile_nearest_rank),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* stats.c - sorting and nearest-rank percentiles (see stats.h). */
#include "stats.h"

#include <math.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void stats_sort(double *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_double);
}

double stats_percentile(const double *sorted, size_t n, double p)
{
	double rank;
	size_t k;

	if (n == 0)
		return NAN;
	if (!(p > 0.0))
		return sorted[0];
	if (p >= 100.0)
		return sorted[n - 1];
	/* The small tolerance keeps p * n that is an exact integer in decimal
	 * (90% of 10 = 9) from rounding up to the next rank in binary. */
	rank = ceil(p / 100.0 * (double)n - 1e-9);
	k = rank < 1.0 ? 1 : (size_t)rank;
	if (k > n)
		k = n;
	return sorted[k - 1];
}

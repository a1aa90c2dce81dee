/* stats.c - sorting and nearest-rank percentiles (see stats.h). */
#include "stats.h"

#include <math.h>
#include <stdlib.h>

/* Below this many values insertion sort beats partitioning. */
#define SORT_SMALL 16

static void insertion_sort(double *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		double x = v[i];
		size_t j = i;

		while (j > 0 && x < v[j - 1]) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

static void sift_down(double *v, size_t root, size_t n)
{
	for (;;) {
		size_t c = 2 * root + 1;
		double x;

		if (c >= n)
			return;
		if (c + 1 < n && v[c] < v[c + 1])
			c++;
		if (!(v[root] < v[c]))
			return;
		x = v[root];
		v[root] = v[c];
		v[c] = x;
		root = c;
	}
}

static void heap_sort(double *v, size_t n)
{
	for (size_t i = n / 2; i > 0; i--)
		sift_down(v, i - 1, n);
	for (size_t i = n - 1; i > 0; i--) {
		double x = v[0];

		v[0] = v[i];
		v[i] = x;
		sift_down(v, 0, i);
	}
}

static void swap(double *a, double *b)
{
	double x = *a;

	*a = *b;
	*b = x;
}

/* Quicksort with the median of three as pivot, recursing into the smaller
 * part only (the stack stays O(log n)) and turning to heapsort when the
 * partitions go badly for too long, so no input takes quadratic time.
 * The values hold no NaN here. */
static void intro_sort(double *v, size_t n, int depth)
{
	while (n > SORT_SMALL) {
		size_t i, j, mid = n / 2;
		double pivot;

		if (depth-- == 0) {
			heap_sort(v, n);
			return;
		}
		if (v[mid] < v[0])
			swap(&v[mid], &v[0]);
		if (v[n - 1] < v[mid]) {
			swap(&v[n - 1], &v[mid]);
			if (v[mid] < v[0])
				swap(&v[mid], &v[0]);
		}
		pivot = v[mid];
		/* Hoare partition: v[0] <= pivot <= v[n - 1] stop the scans. */
		i = 0;
		j = n - 1;
		for (;;) {
			while (v[++i] < pivot)
				;
			while (pivot < v[--j])
				;
			if (i >= j)
				break;
			swap(&v[i], &v[j]);
		}
		/* v[0 .. j] <= pivot <= v[j + 1 .. n - 1] */
		if (j + 1 < n - j - 1) {
			intro_sort(v, j + 1, depth);
			v += j + 1;
			n -= j + 1;
		} else {
			intro_sort(v + j + 1, n - j - 1, depth);
			n = j + 1;
		}
	}
	insertion_sort(v, n);
}

void stats_sort(double *v, size_t n)
{
	size_t k = n;
	int depth = 0;

	/* NaN compares false with everything: move it to the end first. */
	for (size_t i = 0; i < k;) {
		if (isnan(v[i]))
			swap(&v[i], &v[--k]);
		else
			i++;
	}
	for (size_t m = k; m > 1; m >>= 1)
		depth += 2;
	intro_sort(v, k, depth);
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

/*
 * stats.h - the small statistics used by the one-minute summaries and the
 * report. Percentiles use the nearest-rank method: for n sorted values the
 * p-th percentile is the value at 1-based rank ceil(p/100 * n) (rank 1 for
 * p = 0). It is always one of the measured values, needs no interpolation
 * and gives the same answer on every platform.
 */
#ifndef ANT_STATS_H
#define ANT_STATS_H

#include <stddef.h>

/* Sort values in place, ascending; NaNs (if any) go last. */
void stats_sort(double *v, size_t n);
/* Nearest-rank percentile of sorted values; p in [0, 100]. NAN when n = 0. */
double stats_percentile(const double *sorted, size_t n, double p);

#endif

/*
 * parse_bench.c - microseconds to parse and validate the fleet's files:
 * the control file (control_parse) and the two catalogues
 * (catalog_parse), each parsed and freed many times from memory.
 *
 *   parse_bench DIR [ROUNDS]
 *
 * DIR holds 00-control.xml, 01-download-files.csv and 02-quote-files.csv
 * (the upstream fixtures), and 00-control-2025-01-02.xml when present.
 * For each file it prints the size, the tasks or rows accepted, and the
 * median and best time per parse over ROUNDS batches (default 200) of
 * enough parses to last about a millisecond each.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <malloc.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "catalog.h"
#include "control.h"
#include "log.h"
#include "util.h"

#define PARSE_FILE_CAP (8 * 1024 * 1024)
#define PARSE_ROUNDS_MAX 100000

enum what { W_CONTROL, W_DOWNLOADS, W_SEEDS };

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data;
	size_t n;

	if (f == NULL)
		return NULL;
	data = xmalloc(PARSE_FILE_CAP);
	n = fread(data, 1, PARSE_FILE_CAP, f);
	fclose(f);
	*len = n;
	return data;
}

/* One parse and free; returns the tasks or rows accepted. */
static size_t parse_once(enum what w, const char *data, size_t len)
{
	size_t n;

	if (w == W_CONTROL) {
		struct control_limits lim;
		struct control_result r;

		control_limits_default(&lim);
		memset(&r, 0, sizeof(r));
		control_parse(data, len, &lim, &r);
		n = r.ntasks;
		control_result_free(&r);
	} else {
		struct catalog c;

		memset(&c, 0, sizeof(c));
		catalog_parse(w == W_DOWNLOADS ? CATALOG_DOWNLOADS : CATALOG_SEEDS, data, len, &c);
		n = c.nrows;
		catalog_free(&c);
	}
	return n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void bench_file(const char *dir, const char *name, enum what w, int64_t rounds)
{
	char path[1024];
	double *per = NULL, t;
	size_t len = 0, items;
	int64_t batch = 1;
	char *data;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	data = slurp(path, &len);
	if (data == NULL)
		return;
	items = parse_once(w, data, len);
	/* Grow the batch until it lasts about a millisecond. */
	for (;;) {
		t = now_us();
		for (int64_t i = 0; i < batch; i++)
			parse_once(w, data, len);
		if (now_us() - t >= 1000.0 || batch >= (INT64_C(1) << 20))
			break;
		batch *= 2;
	}
	per = xcalloc((size_t)rounds, sizeof(*per));
	for (int64_t r = 0; r < rounds; r++) {
		t = now_us();
		for (int64_t i = 0; i < batch; i++)
			parse_once(w, data, len);
		per[r] = (now_us() - t) / (double)batch;
	}
	qsort(per, (size_t)rounds, sizeof(*per), cmp_double);
	printf("%-28s %7zu bytes %5zu %-5s  median %8.1f us  best %8.1f us  (%lld x %lld parses)\n",
	       name, len, items, w == W_CONTROL ? "tasks" : "rows", per[rounds / 2], per[0],
	       (long long)rounds, (long long)batch);
	free(per);
	free(data);
}

/* Memory of a catalogue at the 8 MiB cap, rows as short as they come:
 * the bytes the parsed catalogue holds, the heap's growth (mallinfo2),
 * and the process's peak resident size grown during the parse. One line:
 * "memory KIND TEXT_BYTES ROWS HELD_BYTES HEAP_BYTES PEAK_RSS_DELTA_KIB". */
static void bench_memory(enum catalog_kind kind)
{
	char *text = xmalloc(CATALOG_MAX_BYTES);
	size_t len = (size_t)snprintf(text, 64, "%s\n", catalog_header(kind));
	struct mallinfo2 a, b;
	struct rusage r0, r1;
	struct catalog c;

	for (unsigned i = 0;; i++) {
		char row[96];
		int n = kind == CATALOG_DOWNLOADS ? snprintf(row, sizeof(row), "tiny,f%x,%08x,0\n", i, i)
						  : snprintf(row, sizeof(row), "tiny,%u,1000,0\n", i);

		if (len + (size_t)n > CATALOG_MAX_BYTES)
			break;
		memcpy(text + len, row, (size_t)n);
		len += (size_t)n;
	}
	getrusage(RUSAGE_SELF, &r0);
	a = mallinfo2();
	catalog_parse(kind, text, len, &c);
	b = mallinfo2();
	getrusage(RUSAGE_SELF, &r1);
	printf("memory %s %zu %zu %zu %zu %ld\n", kind == CATALOG_DOWNLOADS ? "downloads" : "seeds",
	       len, c.nrows, catalog_memory(&c), (b.uordblks + b.hblkhd) - (a.uordblks + a.hblkhd),
	       r1.ru_maxrss - r0.ru_maxrss);
	catalog_free(&c);
	free(text);
}

int main(int argc, char **argv)
{
	int64_t rounds = 200;

	if (argc == 2 && strcmp(argv[1], "--memory") == 0) {
		bench_memory(CATALOG_DOWNLOADS);
		bench_memory(CATALOG_SEEDS);
		return 0;
	}

	if (argc < 2 || (argc > 2 && parse_i64(argv[2], 1, PARSE_ROUNDS_MAX, &rounds) != 0)) {
		fprintf(stderr, "usage: parse_bench DIR [ROUNDS]\n");
		return 2;
	}
	log_set_console(0);
	bench_file(argv[1], "00-control.xml", W_CONTROL, rounds);
	bench_file(argv[1], "00-control-2025-01-02.xml", W_CONTROL, rounds);
	bench_file(argv[1], "01-download-files.csv", W_DOWNLOADS, rounds);
	bench_file(argv[1], "02-quote-files.csv", W_SEEDS, rounds);
	return 0;
}

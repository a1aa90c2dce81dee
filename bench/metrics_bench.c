/*
 * metrics_bench.c - time and memory of the metrics path at scale: one
 * million test records taken into the cache, then rolled up and written
 * as line protocol in one flush.
 *
 *   metrics_bench [RECORDS] [DIR]
 *
 * Prints the time to record, the time to roll up and write (wall clock, and
 * the process's CPU time, which a loaded machine does not inflate), the
 * bytes the cache held per record, the bytes written and the peak resident
 * memory (getrusage ru_maxrss). Targets: under 1 s for the flush of 1,000,000
 * records and under 256 bytes per cached record.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define T0 1700000400000LL

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Time spent inside write(2), to tell formatting from the kernel's copy. */
static double write_secs;

static ssize_t timed_write(int fd, const void *p, size_t n)
{
	double t = now_s();
	ssize_t r = write(fd, p, n);

	write_secs += now_s() - t;
	return r;
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static off_t file_size(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 ? st.st_size : 0;
}

int main(int argc, char **argv)
{
	int64_t n = 1000000;
	char dir[256], mfile[300], sfile[300], err[256];
	struct metrics_counters c;
	struct test_result r;
	double t0, t1, t2, c0, c1, c2;
	long rss0, rss1, rss2;
	size_t cache_bytes;
	uint64_t x = 88172645463325252ULL; /* xorshift state: same data every run */

	if (argc > 1 && parse_i64(argv[1], 1, 100000000, &n) != 0) {
		fprintf(stderr, "usage: metrics_bench [RECORDS] [DIR]\n");
		return 2;
	}
	if (argc > 2) {
		str_copy(dir, argv[2], sizeof(dir));
	} else {
		str_copy(dir, "/tmp/ant-metrics-bench-XXXXXX", sizeof(dir));
		if (!mkdtemp(dir))
			return 1;
	}
	log_set_console(0);
	snprintf(mfile, sizeof(mfile), "%s/metrics.csv", dir);
	snprintf(sfile, sizeof(sfile), "%s/summary.csv", dir);
	unlink(mfile);
	unlink(sfile);
	config_reset();
	if (config_set("CACHE_DIR", dir, CFG_SRC_CLI, err, sizeof(err)) ||
	    config_set("METRICS_FILE", mfile, CFG_SRC_CLI, err, sizeof(err)) ||
	    config_set("SUMMARY_FILE", sfile, CFG_SRC_CLI, err, sizeof(err)) ||
	    config_set("METRICS_MAX_MB", "100000", CFG_SRC_CLI, err, sizeof(err)) ||
	    config_set("AGENT_ID", "bench0123456789a", CFG_SRC_CLI, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (metrics_init(NULL) != 0)
		return 1;
	metrics_set_cache_max((size_t)n);
	metrics_set_write_fn(timed_write);
	rss0 = maxrss_kb();

	t0 = now_s();
	c0 = cpu_s();
	for (int64_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memset(&r, 0, sizeof(r));
		r.type = (enum test_type)(x % TEST__COUNT);
		r.size = (enum size_class)((x >> 8) % SIZE__COUNT);
		r.status = (x >> 16) % 10 ? ST_OK : ST_NETWORK_ERROR;
		r.task_ref = (int)((x >> 20) % 50) + 1;
		r.worker = (int)((x >> 28) % 10) + 1;
		r.attempt = 1;
		/* One hour of tests: the records fall into 60 minutes. */
		r.start_ms = T0 + i * 3600000 / n;
		r.exec_time = 0.1 + (double)((x >> 32) % 100000) / 1000.0;
		r.exit_code = r.status == ST_OK ? 0 : 13;
		r.bytes = (x >> 40) % 50000000;
		if (r.type == TEST_QUOTE) {
			r.has_cost = true;
			r.cost_atto = (uint64_t)((x >> 24) % 1000) * UINT64_C(1000000000000);
		} else {
			/* A 64-hex-digit address, as the network prints them. */
			for (int k = 0; k < 64; k++)
				r.address[k] = "0123456789abcdef"[(x >> (k % 60)) & 15];
		}
		if (metrics_record_at(&r, r.start_ms + 500) != 0) {
			fprintf(stderr, "record %lld refused\n", (long long)i);
			return 1;
		}
	}
	t1 = now_s();
	c1 = cpu_s();
	rss1 = maxrss_kb();
	cache_bytes = metrics_cache_bytes();
	if (metrics_flush_all(T0 + 3600000) != 0) {
		fprintf(stderr, "flush failed\n");
		return 1;
	}
	t2 = now_s();
	c2 = cpu_s();
	rss2 = maxrss_kb();
	metrics_get_counters(&c);

	printf("records:                 %lld\n", (long long)n);
	printf("record time:             %.3f s (%.0f ns per record)\n", t1 - t0,
	       (t1 - t0) * 1e9 / (double)n);
	printf("rollup + write time:     %.3f s (of which %.3f s in write(2))\n", t2 - t1, write_secs);
	printf("total time:              %.3f s\n", t2 - t0);
	printf("CPU time:                %.3f s record, %.3f s rollup + write\n", c1 - c0, c2 - c1);
	printf("cache bytes per record:  %.1f (records and addresses, %zu bytes in all)\n",
	       (double)cache_bytes / (double)n, cache_bytes);
	printf("lines written:           %llu per-test, %llu summary\n",
	       (unsigned long long)c.lines_written, (unsigned long long)c.summary_lines);
	printf("bytes written:           %lld + %lld\n", (long long)file_size(mfile),
	       (long long)file_size(sfile));
	printf("peak RSS:                %ld KiB (before %ld, after recording %ld)\n", rss2, rss0,
	       rss1);
	metrics_shutdown();
	if (argc <= 2) {
		unlink(mfile);
		unlink(sfile);
		rmdir(dir);
	}
	return 0;
}

/*
 * influx_feed.c - drive the agent's metrics and InfluxDB push with
 * synthetic test results, for the tests against a real InfluxDB.
 *
 *   influx_feed [--minutes M] [--per-minute N] [--start ISO] [--speed X]
 *               [--hold MINUTE:NAME]... [--sync-dir DIR] [--drain-secs S]
 *
 * Settings (CACHE_DIR, METRICS_FILE, INFLUX_URL, TELEMETRY_*, ...) come
 * from the environment as for the agent. For each virtual minute it
 * records N results (every test type and several sizes and statuses; some
 * share a start millisecond), flushes as the agent's tick would, and lets
 * the loop push. --hold MINUTE:NAME pauses before that minute: it creates
 * DIR/NAME.wait and carries on once DIR/NAME.go exists, so a script can
 * stop or start the server at a known point while the spool keeps the
 * data. At the end it flushes everything, waits until the spool is empty
 * (at most --drain-secs real seconds) and prints its counters as
 * KEY=VALUE lines. Exit 0 when everything was sent, 3 when not.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "clock.h"
#include "config.h"
#include "influx.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define HOLDS_MAX 8

extern char **environ;

static uv_loop_t loop;
static uint64_t max_spool;

static double real_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Let the loop run for a while (real time). */
static void pump(double secs)
{
	double end = real_s() + secs;
	struct influx_counters c;

	do {
		uv_run(&loop, UV_RUN_NOWAIT);
		influx_get_counters(&c);
		if (c.spool_files > max_spool)
			max_spool = c.spool_files;
		usleep(2000);
	} while (real_s() < end);
}

static int hold(const char *dir, const char *name)
{
	char wait_path[4096], go_path[4096];
	FILE *f;
	double end = real_s() + 120;

	snprintf(wait_path, sizeof(wait_path), "%s/%s.wait", dir, name);
	snprintf(go_path, sizeof(go_path), "%s/%s.go", dir, name);
	f = fopen(wait_path, "w");
	if (f == NULL)
		return -1;
	fclose(f);
	while (access(go_path, F_OK) != 0) {
		if (real_s() > end) {
			fprintf(stderr, "influx_feed: nobody released %s\n", name);
			return -1;
		}
		pump(0.02);
	}
	return 0;
}

static void fill(struct test_result *r, int64_t minute_ms, int i, int n)
{
	static const enum size_class sizes[] = { SIZE_TINY, SIZE_SMALL, SIZE_MEDIUM, SIZE_CHUNKA };
	static const enum test_status sts[] = { ST_OK, ST_OK, ST_OK, ST_NETWORK_ERROR,
						ST_CLIENT_ERROR, ST_KILLED, ST_DATA_LOSS, ST_SKIPPED };
	unsigned h = (unsigned)(minute_ms / 60000) * 2654435761u + (unsigned)i * 40503u;

	memset(r, 0, sizeof(*r));
	r->type = (enum test_type)(i % TEST__COUNT);
	r->size = sizes[(h >> 3) % ARRAY_SIZE(sizes)];
	r->status = sts[(h >> 7) % ARRAY_SIZE(sts)];
	r->task_ref = 1 + (int)(r->type) * 10 + (int)(r->size);
	r->worker = 1 + i % 4;
	r->attempt = 1 + (int)((h >> 11) % 2);
	/* Pairs of results share a start millisecond, as workers of a task
	 * started together do: their points must stay apart. */
	r->start_ms = minute_ms + (int64_t)(i / 2) * (60000 / (n + 1));
	r->exec_time = 0.05 + (double)((h >> 13) % 30000) / 997.0;
	r->exit_code = r->status == ST_OK ? 0 : r->status == ST_KILLED ? -1 : 13;
	r->md5_checked = r->type == TEST_DOWNLOAD;
	r->md5_valid = r->md5_checked && r->status == ST_OK;
	r->bytes = r->status == ST_OK ? 1000 + (h >> 5) % 5000000 : 0;
	if (r->type == TEST_QUOTE) {
		r->has_cost = true;
		r->cost_atto = (uint64_t)((h >> 9) % 100000) * UINT64_C(1000000000);
	} else if (r->status == ST_OK) {
		for (int k = 0; k < 64; k++)
			r->address[k] = "0123456789abcdef"[(h >> (k % 28)) & 15];
	}
	if (r->type == TEST_UPLOAD && r->status == ST_OK) {
		r->has_cost = true;
		r->cost_atto = (uint64_t)((h >> 9) % 100000) * UINT64_C(1000000000000);
		r->has_chunks = true;
		r->chunks_stored = 3 + (uint32_t)((h >> 17) % 5);
		r->chunks_existing = (uint32_t)((h >> 21) % 2);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "minutes", required_argument, NULL, 'm' },
		{ "per-minute", required_argument, NULL, 'n' },
		{ "start", required_argument, NULL, 's' },
		{ "speed", required_argument, NULL, 'x' },
		{ "hold", required_argument, NULL, 'h' },
		{ "sync-dir", required_argument, NULL, 'd' },
		{ "drain-secs", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct { int64_t minute; const char *name; } holds[HOLDS_MAX];
	int nholds = 0, opt, rc = 0;
	int64_t minutes = 10, per = 12, start_ms = 1704103200000LL, v; /* 2024-01-01T10:00:00Z */
	double speed = 200, drain = 60, end;
	const char *sync_dir = ".";
	struct config_sources src;
	struct metrics_counters mc;
	struct influx_counters ic;
	bool idle;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'm': if (parse_i64(optarg, 1, 100000, &minutes)) return 2; break;
		case 'n': if (parse_i64(optarg, 1, 100000, &per)) return 2; break;
		case 's': if (clock_parse_iso(optarg, &start_ms)) return 2; break;
		case 'x': if (parse_double(optarg, 1, CLOCK_SPEED_MAX, &speed)) return 2; break;
		case 'w': if (parse_double(optarg, 0, 3600, &drain)) return 2; break;
		case 'd': sync_dir = optarg; break;
		case 'h': {
			char *colon = strchr(optarg, ':');

			if (!colon || nholds == HOLDS_MAX)
				return 2;
			*colon = '\0';
			if (parse_i64(optarg, 0, 100000, &v))
				return 2;
			holds[nholds].minute = v;
			holds[nholds++].name = colon + 1;
			break;
		}
		default:
			fprintf(stderr, "usage: see the top of tests/tools/influx_feed.c\n");
			return 2;
		}
	}
	if (clock_setup(start_ms, speed) != 0)
		return 2;
	memset(&src, 0, sizeof(src));
	src.env_file = "/dev/null";
	src.environ = environ;
	if (config_load(&src) != 0)
		return 2;
	config_register_secrets();
	log_set_level(LOG_WARNING);
	uv_loop_init(&loop);
	if (metrics_init(&loop) != 0)
		return 1;

	for (int64_t m = 0; m < minutes; m++) {
		int64_t minute_ms = start_ms + m * 60000;

		for (int i = 0; i < nholds; i++)
			if (holds[i].minute == m && hold(sync_dir, holds[i].name) != 0)
				return 1;
		for (int i = 0; i < per; i++) {
			struct test_result r;

			fill(&r, minute_ms, i, (int)per);
			metrics_record_at(&r, minute_ms + 59000);
		}
		/* The tick just after the minute ends. */
		metrics_flush(minute_ms + 60000 + 500);
		pump(0.05);
	}
	metrics_flush_all(start_ms + minutes * 60000 + 1000);

	/* Drain: retry at once instead of waiting out the back-off. */
	end = real_s() + drain;
	do {
		influx_kick();
		pump(0.1);
		idle = !influx_running() || influx_idle();
	} while (!idle && real_s() < end);

	metrics_get_counters(&mc);
	influx_get_counters(&ic);
	printf("lines_written=%llu\nsummary_lines=%llu\nwrite_errors=%llu\n",
	       (unsigned long long)mc.lines_written, (unsigned long long)mc.summary_lines,
	       (unsigned long long)mc.write_errors);
	printf("influx_sent=%llu\ninflux_batches=%llu\ninflux_rejected=%llu\ninflux_dropped=%llu\n"
	       "influx_retries=%llu\nspool_files=%llu\nspool_max_files=%llu\nidle=%d\n",
	       (unsigned long long)ic.lines_sent, (unsigned long long)ic.batches_sent,
	       (unsigned long long)ic.lines_rejected, (unsigned long long)ic.lines_dropped,
	       (unsigned long long)ic.retries, (unsigned long long)ic.spool_files,
	       (unsigned long long)max_spool, idle ? 1 : 0);
	if (!idle)
		rc = 3;
	metrics_shutdown();
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return rc;
}

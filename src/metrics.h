/*
 * metrics.h - what the fleet learns from this agent.
 *
 * Every test result becomes one compact record in memory. Once a minute
 * (the agent's periodic tick) metrics_flush appends the records as InfluxDB
 * line protocol to METRICS_FILE (measurement ant_agent) and the one-minute
 * rollups of closed minutes to SUMMARY_FILE (measurement ant_agent_summary).
 * Files only ever receive whole lines: when a write fails the file is cut
 * back to its size before the flush and the records stay cached for the
 * next one. Schema and file handling: docs/METRICS.md.
 *
 * When INFLUX_URL is set and a loop is given to metrics_init, every line
 * written is also handed to the InfluxDB push (influx.h).
 */
#ifndef ANT_METRICS_H
#define ANT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "model.h"
#include "util.h"

#define METRICS_MEASUREMENT "ant_agent"
#define METRICS_SUMMARY_MEASUREMENT "ant_agent_summary"
/* Records kept in memory at most (about 100 bytes each). When a failing
 * disk lets them pile up to this, new records are dropped and counted. */
#define METRICS_CACHE_MAX 262144
/* Bytes handed to write() at once; larger flushes are cut at line ends. */
#define METRICS_WRITE_CHUNK (256 * 1024)
#define METRICS_AGENT_ID_MAX 64
#define METRICS_VERSION_MAX 32

struct metrics_counters {
	uint64_t cached;           /* records in memory now */
	uint64_t recorded;         /* records taken since start */
	uint64_t dropped;          /* records refused because the cache was full */
	uint64_t lines_written;    /* ant_agent lines appended to METRICS_FILE */
	uint64_t summary_lines;    /* ant_agent_summary lines appended to SUMMARY_FILE */
	uint64_t flushes;          /* flushes that wrote everything they had */
	uint64_t write_errors;     /* failed or short writes (file cut back) */
	uint64_t rotations;        /* files rotated */
	uint64_t other_lines;      /* other lines (heartbeats) appended to METRICS_FILE */
};

/* Read settings (AGENT_ID / CACHE_DIR/agent-id, TELEMETRY_*, METRICS_*,
 * SUMMARY_FILE) and start with an empty cache. With a loop and INFLUX_URL
 * set, start the InfluxDB push too. Calling it again shuts the previous
 * state down first (its records are flushed). Returns 0 or -1 (logged). */
int metrics_init(uv_loop_t *loop);
/* Flush everything (summaries of the current minute too), stop the push
 * (its spool stays on disk) and free the cache. */
void metrics_shutdown(void);

/* Take one result; the summary minute is the schedule minute now. Returns
 * 0, or -1 when the cache is full (counted in `dropped`). */
int metrics_record(const struct test_result *r);
/* Same with the time passed in (tests, the benchmark). */
int metrics_record_at(const struct test_result *r, int64_t now_ms);

/* Append whole lines made elsewhere (the ant_agent_status heartbeat) to
 * METRICS_FILE and hand them to the push. Returns 0 or -1 (nothing of them
 * stays in the file). */
int metrics_write_lines(const char *lines, size_t len, size_t nlines);

/* The periodic flush: write every cached record and the summaries of the
 * minutes before the one that contains now_ms. Returns 0, or -1 when a
 * write failed (the records stay cached). */
int metrics_flush(int64_t now_ms);
/* The flush of a graceful stop: the current minute's summaries too. */
int metrics_flush_all(int64_t now_ms);

void metrics_get_counters(struct metrics_counters *out);
const char *metrics_agent_id(void);
/* The client_version tag of every line from now on ("0.5.2"; empty or
 * never set: "unknown"). agent_version is this build's version. */
void metrics_set_client_version(const char *v);
/* The escaped tag set on every line: ",agent=..,agent_version=..,client_version=..,country=..,provision=..,connection=..". */
const char *metrics_common_tags(void);

/* The agent id: AGENT_ID when set, else the id in <cache_dir>/agent-id,
 * made from 8 random bytes (16 hex digits) and kept there (mode 0600)
 * the first time. Returns 0 or -1 (logged). */
int metrics_agent_id_load(const char *setting, const char *cache_dir, char *out, size_t n);

/* Where written lines go besides the files (the InfluxDB push). */
typedef void (*metrics_sink_fn)(const char *lines, size_t len, size_t nlines, void *ud);
void metrics_set_sink(metrics_sink_fn fn, void *ud);

/* Tests: replace write(2) to simulate a full disk; NULL restores it. */
typedef ssize_t (*metrics_write_fn)(int fd, const void *p, size_t n);
void metrics_set_write_fn(metrics_write_fn fn);
/* Tests and the benchmark: change the cache cap (0 restores the default). */
void metrics_set_cache_max(size_t n);
/* Tests: append the ant_agent lines of the cached records not yet written
 * to out, leaving them cached: with the writer flushes use, or (generic)
 * with the line-protocol writer of lineproto.h, which must give the same
 * bytes. Returns the number of lines the writer asked for made itself (the
 * fast one leaves a line it cannot make, e.g. near the buffer's cap, to the
 * generic one). */
size_t metrics_format_cached(struct buf *out, bool generic);
/* Bytes of memory the cache holds now (records plus addresses). */
size_t metrics_cache_bytes(void);

#endif

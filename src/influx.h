/*
 * influx.h - push the metric lines to an InfluxDB server (optional).
 *
 * Every batch of lines (at most INFLUX_BATCH_LINES) is gzipped and written
 * to a spool directory in CACHE_DIR first, atomically; the sender posts the
 * oldest spool file and deletes it once the server has answered 2xx. So a
 * server that is down, an agent restart or a crash lose nothing: the spool
 * is sent, oldest first, when the server is back. The spool is bounded by
 * INFLUX_SPOOL_MAX_MB; when full the oldest batches are dropped, counted,
 * logged and reported as a self-metric line (measurement ant_agent_self,
 * field dropped_lines).
 *
 * Answers: 2xx sent; 400/413/422 (and other 4xx apart from 401, 403, 404
 * and 429) mean the data is bad - logged and dropped with a count;
 * 401/403/404 (credentials, missing database), 429, 5xx and transport
 * failures (a push still unanswered after INFLUX_TIMEOUT_SECS among them)
 * are retried with exponential back-off in schedule time.
 *
 * v1: POST {INFLUX_URL}/write?db=INFLUX_DB&precision=ns, with HTTP basic
 * auth when INFLUX_USER is set. v2: POST {INFLUX_URL}/api/v2/write?org=
 * &bucket=&precision=ns with "Authorization: Token INFLUX_TOKEN".
 */
#ifndef ANT_INFLUX_H
#define ANT_INFLUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "util.h"

#define INFLUX_BATCH_LINES 5000
#define INFLUX_SPOOL_DIRNAME "influx-spool"
#define INFLUX_BACKOFF_MIN_MS 1000
#define INFLUX_BACKOFF_MAX_MS (5 * 60 * 1000)
/* A spool file is never bigger than this (a batch is far smaller). */
#define INFLUX_SPOOL_FILE_CAP (64 * 1024 * 1024)

struct influx_counters {
	uint64_t lines_sent;       /* lines the server accepted */
	uint64_t batches_sent;
	uint64_t lines_rejected;   /* dropped after a 4xx "bad data" answer */
	uint64_t lines_dropped;    /* dropped because the spool was full */
	uint64_t retries;          /* failed attempts that will be retried */
	uint64_t spool_files;      /* batches waiting on disk */
	uint64_t spool_bytes;
	int64_t last_status;       /* HTTP status of the last answer, 0 = none */
};

/* Start pushing, from the INFLUX_* settings and CACHE_DIR. common_tags is
 * the escaped tag set of the self-metric line (metrics_common_tags()).
 * Batches already in the spool (from an earlier run) are sent first.
 * Returns 0, or -1 (logged) when the settings are unusable. */
int influx_start(uv_loop_t *loop, const char *common_tags);
/* Stop: cancel the request in flight (its batch stays in the spool),
 * close the timer. The loop must run afterwards to release the handles. */
void influx_stop(void);
bool influx_running(void);

/* Queue lines (whole lines, each ending in '\n'); signature of a
 * metrics sink. Spools them at once and starts a send when idle. */
void influx_submit(const char *lines, size_t len, size_t nlines, void *ud);
/* Try the spool now instead of waiting for the back-off timer. */
void influx_kick(void);
/* True when nothing waits in the spool and nothing is in flight. */
bool influx_idle(void);
void influx_get_counters(struct influx_counters *out);

/* Gzip data (RFC 1952) into out. Returns 0 or -1. Exposed for tests. */
int influx_gzip(const void *data, size_t len, struct buf *out);
/* Build the write URL for the current settings into out. Returns 0 or -1. */
int influx_write_url(char *out, size_t n);

#endif

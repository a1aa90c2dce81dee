/*
 * heartbeat.h - one ant_agent_status point a minute, whether or not tests
 * run, so a fleet sees which agents are alive, on which versions, with the
 * kill-switch as each of them sees it. Written to METRICS_FILE beside the
 * per-test lines (and so pushed with them). Schema: docs/METRICS.md.
 */
#ifndef ANT_HEARTBEAT_H
#define ANT_HEARTBEAT_H

#include "model.h"
#include "util.h"

#include <stdbool.h>
#include <stdint.h>

#define HEARTBEAT_MEASUREMENT "ant_agent_status"

/* The facts of one minute; the scheduler fills most of them
 * (scheduler_heartbeat), the agent the rest. */
struct heartbeat {
	const char *client_gen;         /* client generation name (a tag) */
	int64_t uptime_s;
	bool killswitch_on;             /* an open issue turned it ON */
	const char *killswitch_state;   /* killswitch_reading_name: off, on, stale... */
	long long killswitch_issue;     /* the issue that turned it ON; -1 unknown */
	int64_t tasks_planned;          /* this hour: tasks that run or ran */
	int64_t tasks_running;
	int64_t tasks_done;             /* this hour: started and ended */
	uint32_t skipped[REASON__COUNT]; /* tests skipped this minute, by reason */
	bool disk_guard;                /* true: the disk guard skips tests now */
	int mem_guard;                  /* 1 skips now, 0 not, -1 cannot read */
	bool have_disk_free;
	uint64_t disk_free_bytes;
	bool uploads;                   /* ALLOW_UPLOADS: spend is written */
	uint64_t spend_today_atto;
};

/* Where today's upload spend comes from: the ledger sets it when it opens
 * (upload.c); until then the heartbeat's spend_today_atto reads 0. */
typedef uint64_t (*heartbeat_spend_fn)(int64_t now_ms);
void heartbeat_set_spend_source(heartbeat_spend_fn fn);
/* Today's spend by the source set (0 without one). */
uint64_t heartbeat_spend_today(int64_t now_ms);

/* Pure: append the point for the minute that contains now_ms, with the
 * escaped common tags (metrics_common_tags) and the client_gen tag.
 * Returns 0 or -1. */
int heartbeat_format(struct buf *b, const struct heartbeat *hb, const char *common_tags,
		     int64_t now_ms);
/* Format the point and append it to METRICS_FILE (metrics_write_lines).
 * Returns 0 or -1. */
int heartbeat_write(const struct heartbeat *hb, int64_t now_ms);

#endif

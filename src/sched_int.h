/*
 * sched_int.h - the scheduler's own parts, shared by its files and by
 * nothing else:
 *   scheduler.c  construction, restart-safe state, status, shutdown
 *   refresh.c    the refresh chain (kill-switch, control file, catalogues)
 *                and the kill-switch pacing and gate
 *   plan.c       the plan of task starts and the :55/:58/:59 phases
 *   world.c      the runner's view of the world: guards, catalogue picks,
 *                seeded files, result logging
 */
#ifndef ANT_SCHED_INT_H
#define ANT_SCHED_INT_H

#include "scheduler.h"
#include "catalog.h"
#include "control.h"
#include "hour.h"
#include "kind.h"
#include "model.h"
#include "runner.h"
#include "state.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct plan_item {
	struct task task;
	int64_t due;
	enum plan_state state;
	bool started;
	bool prepared;      /* runner_prepare_task was asked, ahead of due */
	bool done_before;   /* the state file says it ran this hour already */
	bool resumed;       /* restarted after the agent itself was restarted */
	int64_t started_at, ended_at;
	uint64_t tests, ok;
};

/* The guards that skip tests, each warned about once an hour. */

struct scheduler {
	uv_loop_t *loop;
	struct fetcher *fetcher;
	struct killswitch *ks;
	char ks_url[2048];
	struct limiter *limiter;
	struct runner *runner;
	struct catalog downloads;
	struct catalog seeds;
	struct task *tasks;           /* the control file's valid tasks */
	size_t ntasks;
	struct plan_item *plan;
	size_t nplan;
	uv_timer_t plan_timer;
	uv_timer_t phase_timer;
	uv_timer_t refresh_timer;
	uv_timer_t shutdown_timer;
	uv_timer_t ks_timer;          /* the kill-switch's next poll */
	int open_handles;
	enum hour_phase armed_phase;
	int64_t next_refresh;
	int64_t last_refresh;
	bool refreshing;
	bool awaiting_switch;
	bool switch_stopped;
	bool shutting_down;
	bool shutdown_forced;
	int loads_pending;
	char seed_dir[PATH_MAX];
	void (*done)(void *ud);
	void *done_ud;
	/* Restart-safe record of the hour (state.h). */
	struct state state;
	char state_path[PATH_MAX];
	bool state_save_failed;
	/* Per guard: the hour it was last warned about, and the reason. */
	int64_t guard_warned[REASON__COUNT];
	bool mem_unreadable_warned;
	/* Tests skipped since the last heartbeat, by reason. */
	uint32_t skipped_minute[REASON__COUNT];
	/* Last result per test type, for the status file. */
	struct test_result last[TEST__COUNT];
	bool have_last[TEST__COUNT];
	void (*changed)(void *ud);
	void *changed_ud;
};

/* scheduler.c */
void sched_notify(struct scheduler *s);
void sched_check_shutdown_done(struct scheduler *s);
void sched_state_write(struct scheduler *s);
void sched_state_for_hour(struct scheduler *s, int64_t now);
void sched_state_started(struct scheduler *s, const struct task *t, int64_t now);

/* refresh.c */
void refresh_switch_poll(struct scheduler *s);
void refresh_on_switch(bool on, void *ud);

/* plan.c */
struct plan_item *plan_find(struct scheduler *s, int ref);
void plan_build(struct scheduler *s);
void plan_drop(struct scheduler *s);
void plan_arm_phases(struct scheduler *s);

/* world.c */
bool world_may_start(void *ud, int64_t now);
/* Fill in the runner's callbacks (ud is s). */
void world_env(struct scheduler *s, struct runner_env *env);

#endif

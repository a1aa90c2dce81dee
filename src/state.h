/*
 * state.h - what ran this hour, kept on disk so that a restart mid-hour
 * neither runs a one-shot task twice nor forgets a repeating one.
 *
 * The scheduler keeps one struct state for the current hour (schedule
 * time), changes it when it plans, starts or sees the end of a task, and
 * saves it atomically to <CACHE_DIR>/state.json after every change. At
 * start-up (and at every re-plan) state_decide tells it what a task's
 * record means for the new plan. A file of another hour is simply old; a
 * file that cannot be read as ours is ignored with a warning.
 */
#ifndef ANT_STATE_H
#define ANT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control.h"
#include "model.h"

#define STATE_FILE_NAME "state.json"
#define STATE_FORMAT "ant-agent-state"
#define STATE_VERSION 1
/* A state file is small (one entry per task); anything bigger is not ours. */
#define STATE_MAX_BYTES (256 * 1024)
#define STATE_MAX_TASKS CONTROL_MAX_TASKS

/* One task's record for the hour. Times are schedule time (UTC ms). */
struct state_task {
	int ref;
	int period;            /* TimePeriod when recorded: a changed task is another task */
	enum test_type type;
	bool repeat;
	int64_t due_ms;        /* planned start, 0 = not planned */
	int64_t started_ms;    /* 0 = not started this hour */
	int64_t ended_ms;      /* ended on its own (not by an agent stop), 0 = not */
};

struct state {
	int64_t hour_start;    /* the hour this state belongs to */
	size_t n;
	struct state_task tasks[STATE_MAX_TASKS];
};

/* What a record means for a task being planned at now. */
enum state_action {
	STATE_KEEP,     /* no usable record: the plan's own rule stands */
	STATE_DONE,     /* started already this hour and not to run again */
	STATE_RESUME,   /* repeating, and still running when the agent stopped: start now */
	STATE_RESTORE,  /* planned but not started yet: keep the start time drawn before */
};

void state_reset(struct state *st, int64_t hour_start);
struct state_task *state_find(struct state *st, int ref);
/* The task's record, made (with the task's facts) when there is none.
 * An existing record of a different task under the same ref is replaced.
 * NULL only when the table is full. */
struct state_task *state_get(struct state *st, const struct task *t);

/* Pure rule: the record e (may be NULL) of task t, planned at now. For
 * STATE_RESUME and STATE_RESTORE *due receives the start time. */
enum state_action state_decide(const struct state_task *e, const struct task *t, int64_t now,
			       int64_t *due);
const char *state_action_name(enum state_action a);

/* JSON text (malloc'd, NUL-terminated) of a state; NULL on failure. */
char *state_to_json(const struct state *st);
/* Parse; 0, or -1 with a reason in err (not our format, bad field). */
int state_from_json(const char *text, size_t len, struct state *out, char *err, size_t n);

/* Save atomically (mode 0600). Returns 0, or -1 with errno set. */
int state_save(const char *path, const struct state *st);
/* Load the state of the hour that starts at hour_start. Returns 1 when
 * the file held that hour's state; 0 when there is no file or it is of
 * another hour; -1 when it is corrupt or foreign (a warning naming the
 * file has been logged). out is reset to hour_start unless 1. */
int state_load(const char *path, int64_t hour_start, struct state *out);

/* The upload counter: a number kept across hours and restarts in its own
 * file (<CACHE_DIR>/upload-seq), never handed out twice. The next value is
 * saved (atomically, fsync'd) before it is returned, so a crash can skip a
 * number but never reuse one. Returns 0, or -1 (errno) when it cannot be
 * saved: then no upload may use it. */
#define STATE_SEQ_FILE_NAME "upload-seq"
int state_seq_next(const char *path, uint64_t *out);

/* Running clients, in one journal CACHE_DIR/clients.log of lines
 * "+ PGID START" (a client started: a client's pid is its process group id,
 * START its start time in clock ticks after boot, field 22 of
 * /proc/PID/stat) and "- PGID" (its group is gone). Each line is one
 * write(2) on a descriptor kept open, so a call makes and removes no file;
 * past STATE_CLIENTS_LOG_MAX bytes the journal is rewritten with the
 * running clients alone. Earlier builds kept one file a client in
 * CACHE_DIR/clients/, which the start-up still reads and removes. */
#define STATE_CLIENTS_LOG "clients.log"
#define STATE_CLIENTS_LOG_MAX (256 * 1024)
#define STATE_CLIENTS_READ_MAX (16 * 1024 * 1024)
#define STATE_CLIENTS_DIR "clients"
#define STATE_CLIENT_LINE_MAX 64

/* Field 5 (process group) and 22 (start time) of /proc/PID/stat text.
 * Returns 0, or -1 when the text is not of that shape. */
int state_parse_proc_stat(const char *text, pid_t *pgrp, uint64_t *start);
/* The same read from /proc/PID/stat; -1 when the process is gone. Safe
 * on any thread. */
int state_proc_stat(pid_t pid, pid_t *pgrp, uint64_t *start);
/* Note a client that has started (start: its start time, or 0 to read it
 * from /proc here), and forget it once its group is gone. Loop thread
 * only; failures are logged, never fatal. */
void state_client_add(const char *cache_dir, pid_t pgid, uint64_t start);
void state_client_remove(const char *cache_dir, pid_t pgid);
/* At start-up: SIGKILL the process group of every client a previous agent
 * left recorded, but only when it is still the same process (pid and
 * start time match; or, the leader gone, members of its group that
 * started after it), so a reused pid is never signalled. Every record is
 * removed. Returns the number of groups ended. */
int state_clients_end_survivors(const char *cache_dir);

#endif

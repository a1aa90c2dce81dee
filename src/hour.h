/*
 * hour.h - the rules of the hourly window (DESIGN.md section 3), as pure
 * functions of the schedule time:
 *
 *   :00 + jitter  refresh        :01-:04  no test starts
 *   :05-:54       tests start    :55      cooldown: no new iteration
 *   :58           SIGTERM to running clients
 *   :59           SIGKILL to survivors; by :00 nothing of the hour runs
 */
#ifndef ANT_HOUR_H
#define ANT_HOUR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define HOUR_MS (3600 * 1000LL)
#define MINUTE_MS (60 * 1000LL)
#define HOUR_FIRST_START_MIN 5
#define HOUR_COOLDOWN_MIN 55
#define HOUR_TERM_MIN 58
#define HOUR_KILL_MIN 59

enum hour_phase {
	PHASE_REFRESH,   /* :00-:04 */
	PHASE_WINDOW,    /* :05-:54 */
	PHASE_COOLDOWN,  /* :55-:57 */
	PHASE_TERM,      /* :58 */
	PHASE_KILL,      /* :59 */
};

enum hour_phase hour_phase(int64_t now);
const char *hour_phase_name(enum hour_phase p);
/* A test (or a repeat) may start at now. */
bool hour_may_start(int64_t now);
/* Times within the hour that contains now. */
int64_t hour_cooldown_at(int64_t now);
int64_t hour_term_at(int64_t now);
int64_t hour_kill_at(int64_t now);
/* The next :00 after now, plus jitter_ms. */
int64_t hour_next_refresh(int64_t now, int64_t jitter_ms);

/* A task's place in the hour's plan. */
enum plan_state {
	PLAN_WAITING,   /* due later this hour */
	PLAN_MISSED,    /* its minute had passed when the plan was built */
	PLAN_TOO_LATE,  /* minute + offset falls in the cooldown */
};

struct plan_entry {
	size_t task;       /* index into the task list */
	int64_t due;       /* schedule time it starts */
	enum plan_state state;
};

/* Build the plan for the hour that contains now: each task is due at its
 * TimePeriod minute plus offset_ms[i] (a random 0..TimeOffset minutes
 * drawn by the caller). A task whose minute has already begun is missed
 * (not started late); one whose due time falls at or after :55 is too late.
 * out must hold n entries. */
void hour_plan(const struct task *tasks, size_t n, const int64_t *offset_ms, int64_t now,
	       struct plan_entry *out);

#endif

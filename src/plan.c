/*
 * plan.c - the plan of the hour and its phases.
 *
 * Each refresh draws a start time for every task of the control file
 * (hour.h) and checks it against the hour's record (state.h): a task that
 * ran already is not run again, a repeating one that was running when the
 * agent stopped carries on. One timer serves the whole plan (re-armed
 * after each start), another the next phase of the hour: :55 cooldown,
 * :58 SIGTERM, :59 SIGKILL.
 */
#include "sched_int.h"
#include "clock.h"
#include "killswitch.h"
#include "log.h"
#include "util.h"

#include <stdlib.h>

struct plan_item *plan_find(struct scheduler *s, int ref)
{
	for (size_t i = 0; i < s->nplan; i++)
		if (s->plan[i].task.ref == ref)
			return &s->plan[i];
	return NULL;
}


/* ---- the plan ---- */

/* RUNNER_PREP_LEAD_MS before its due time a task's first iteration is
 * made ready (runner.h), if the kill-switch and the window will let it
 * start then; start_item decides at the due time as ever. */
static void prepare_item(struct scheduler *s, struct plan_item *it)
{
	it->prepared = true;
	if (world_may_start(s, it->due))
		runner_prepare_task(s->runner, &it->task, it->due);
}

static void start_item(struct scheduler *s, struct plan_item *it, int64_t now)
{
	it->started = true;
	if (!world_may_start(s, now)) {
		runner_unprepare_task(s->runner, it->task.ref);
		log_warn("Task %s not started at %02d:%02d: %s", it->task.ref_text,
			 clock_minute_of(now), clock_second_of_hour(now) % 60,
			 s->switch_stopped || !killswitch_may_start(s->ks, now) ? "the kill-switch is ON"
								       : "outside the test window");
		return;
	}
	if (runner_start_task(s->runner, &it->task) != 0) {
		runner_unprepare_task(s->runner, it->task.ref);
		log_warn("Task %s not started: it is still running", it->task.ref_text);
		return;
	}
	it->started_at = now;
	it->ended_at = 0;
	sched_state_started(s, &it->task, now);
	sched_notify(s);
}

static void on_plan_timer(uv_timer_t *t);

static void arm_plan_timer(struct scheduler *s)
{
	int64_t next = INT64_MAX;

	uv_timer_stop(&s->plan_timer);
	for (size_t i = 0; i < s->nplan; i++) {
		const struct plan_item *it = &s->plan[i];
		int64_t at = it->prepared ? it->due : it->due - RUNNER_PREP_LEAD_MS;

		if (it->state == PLAN_WAITING && !it->started && at < next)
			next = at;
	}
	if (next != INT64_MAX && !s->shutting_down)
		clock_timer_at(&s->plan_timer, on_plan_timer, next);
}

static void on_plan_timer(uv_timer_t *t)
{
	struct scheduler *s = t->data;
	int64_t now = clock_now_ms();

	for (size_t i = 0; i < s->nplan; i++) {
		struct plan_item *it = &s->plan[i];

		if (it->state != PLAN_WAITING || it->started)
			continue;
		if (it->due <= now)
			start_item(s, it, now);
		else if (!it->prepared && it->due - RUNNER_PREP_LEAD_MS <= now)
			prepare_item(s, it);
	}
	arm_plan_timer(s);
}

void plan_drop(struct scheduler *s)
{
	uv_timer_stop(&s->plan_timer);
	for (size_t i = 0; i < s->nplan; i++)
		if (s->plan[i].prepared && !s->plan[i].started)
			runner_unprepare_task(s->runner, s->plan[i].task.ref);
	free(s->plan);
	s->plan = NULL;
	s->nplan = 0;
}

/* What the hour's record says about a task being planned: it may have
 * run already (before a restart, or before a re-plan), or be a repeating
 * task to carry on, or have a start time drawn before. */
static void apply_state(struct scheduler *s, struct plan_item *it, int64_t now)
{
	const struct state_task *e = state_find(&s->state, it->task.ref);
	char when[32];
	int64_t due = 0;

	switch (state_decide(e, &it->task, now, &due)) {
	case STATE_KEEP:
		return;
	case STATE_DONE:
		it->state = PLAN_MISSED;
		it->done_before = true;
		it->started_at = e->started_ms;
		it->ended_at = e->ended_ms;
		clock_format_iso(e->started_ms, when, sizeof(when));
		log_info("Task %s already started this hour (at %s): not run again",
			 it->task.ref_text, when);
		return;
	case STATE_RESUME:
		it->started_at = e->started_ms;
		if (runner_is_running(s->runner, it->task.ref)) {
			/* A re-plan while it runs: it just goes on. */
			it->state = PLAN_WAITING;
			it->started = true;
			return;
		}
		it->state = PLAN_WAITING;
		it->due = due;
		it->resumed = true;
		clock_format_iso(e->started_ms, when, sizeof(when));
		log_info("Task %s (repeating) was running when the agent stopped (started %s): "
			 "resuming it now", it->task.ref_text, when);
		return;
	case STATE_RESTORE:
		it->state = PLAN_WAITING;
		it->due = due;
		return;
	}
}

void plan_build(struct scheduler *s)
{
	int64_t now = clock_now_ms();
	int64_t *offsets;
	struct plan_entry *entries;
	struct state_task *e;
	size_t waiting = 0;

	plan_drop(s);
	sched_state_for_hour(s, now);
	if (s->ntasks == 0) {
		log_info("No tasks for this hour");
		return;
	}
	offsets = xcalloc(s->ntasks, sizeof(*offsets));
	entries = xcalloc(s->ntasks, sizeof(*entries));
	for (size_t i = 0; i < s->ntasks; i++)
		offsets[i] = (int64_t)rng_below((uint64_t)s->tasks[i].time_offset * MINUTE_MS + 1);
	hour_plan(s->tasks, s->ntasks, offsets, now, entries);
	s->plan = xcalloc(s->ntasks, sizeof(*s->plan));
	s->nplan = s->ntasks;
	for (size_t i = 0; i < s->ntasks; i++) {
		struct plan_item *it = &s->plan[i];
		char when[32];

		it->task = s->tasks[entries[i].task];
		it->due = entries[i].due;
		it->state = entries[i].state;
		apply_state(s, it, now);
		clock_format_iso(it->due, when, sizeof(when));
		switch (it->state) {
		case PLAN_WAITING:
			waiting += !it->started;
			log_debug("Task %s planned for %s", it->task.ref_text, when);
			if (!it->started && (e = state_get(&s->state, &it->task)) != NULL)
				e->due_ms = it->due;
			break;
		case PLAN_MISSED:
			if (!it->done_before)
				log_info("Task %s skipped this hour: its minute (:%02d) has passed",
					 it->task.ref_text, it->task.period);
			break;
		case PLAN_TOO_LATE:
			log_warn("Task %s skipped this hour: with its offset it would start at "
				 ":%02d, in the cooldown", it->task.ref_text, clock_minute_of(it->due));
			break;
		}
	}
	free(offsets);
	free(entries);
	sched_state_write(s);
	log_info("Plan for this hour: %zu of %zu task(s) to start", waiting, s->ntasks);
	arm_plan_timer(s);
	sched_notify(s);
}

/* ---- phases ---- */

static void on_phase_timer(uv_timer_t *t);

void plan_arm_phases(struct scheduler *s)
{
	int64_t now = clock_now_ms();
	const struct {
		enum hour_phase phase;
		int64_t at;
	} marks[] = {
		{ PHASE_COOLDOWN, hour_cooldown_at(now) },
		{ PHASE_TERM, hour_term_at(now) },
		{ PHASE_KILL, hour_kill_at(now) },
	};

	uv_timer_stop(&s->phase_timer);
	if (s->shutting_down)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(marks); i++) {
		if (marks[i].at > now) {
			s->armed_phase = marks[i].phase;
			clock_timer_at(&s->phase_timer, on_phase_timer, marks[i].at);
			return;
		}
	}
}

static void enter_phase(struct scheduler *s, enum hour_phase p)
{
	size_t clients = runner_clients(s->runner);

	switch (p) {
	case PHASE_COOLDOWN:
		log_info("Cooldown (:55): no new tests; repeating workers stop after their current test");
		runner_cooldown(s->runner);
		break;
	case PHASE_TERM:
		runner_cooldown(s->runner);
		if (clients)
			log_warn(":58 - asking %zu running client(s) to stop (SIGTERM)", clients);
		runner_terminate(s->runner, false, REASON_COOLDOWN);
		break;
	case PHASE_KILL:
		if (clients)
			log_warn(":59 - killing %zu client(s) still running (SIGKILL)", clients);
		runner_terminate(s->runner, true, REASON_COOLDOWN);
		break;
	default:
		break;
	}
}

static void on_phase_timer(uv_timer_t *t)
{
	struct scheduler *s = t->data;

	enter_phase(s, s->armed_phase);
	plan_arm_phases(s);
}


void scheduler_run_now(struct scheduler *s, int ref)
{
	int64_t now = clock_now_ms();

	for (size_t i = 0; i < s->ntasks; i++) {
		if (s->tasks[i].ref != ref)
			continue;
		if (s->switch_stopped || !killswitch_may_start(s->ks, now)) {
			log_warn("Task %s not run: the kill-switch is ON", s->tasks[i].ref_text);
			return;
		}
		if (!hour_may_start(now)) {
			log_warn("Task %s not run: outside the test window (:05-:55)",
				 s->tasks[i].ref_text);
			return;
		}
		if (runner_start_task(s->runner, &s->tasks[i]) != 0) {
			log_warn("Task %s not run: it is running already", s->tasks[i].ref_text);
			return;
		}
		sched_state_started(s, &s->tasks[i], now);
		sched_notify(s);
		return;
	}
	log_warn("Task %03d not run: no such task in the current control file", ref);
}


/*
 * hour.c - phases of the hour and the hour's plan.
 */
#include "hour.h"
#include "clock.h"

enum hour_phase hour_phase(int64_t now)
{
	int m = clock_minute_of(now);

	if (m < HOUR_FIRST_START_MIN)
		return PHASE_REFRESH;
	if (m < HOUR_COOLDOWN_MIN)
		return PHASE_WINDOW;
	if (m < HOUR_TERM_MIN)
		return PHASE_COOLDOWN;
	if (m < HOUR_KILL_MIN)
		return PHASE_TERM;
	return PHASE_KILL;
}

const char *hour_phase_name(enum hour_phase p)
{
	switch (p) {
	case PHASE_REFRESH: return "refresh";
	case PHASE_WINDOW: return "test window";
	case PHASE_COOLDOWN: return "cooldown";
	case PHASE_TERM: return "terminating clients";
	case PHASE_KILL: return "killing clients";
	}
	return "?";
}

bool hour_may_start(int64_t now)
{
	return hour_phase(now) == PHASE_WINDOW;
}

int64_t hour_cooldown_at(int64_t now)
{
	return clock_hour_start(now) + HOUR_COOLDOWN_MIN * MINUTE_MS;
}

int64_t hour_term_at(int64_t now)
{
	return clock_hour_start(now) + HOUR_TERM_MIN * MINUTE_MS;
}

int64_t hour_kill_at(int64_t now)
{
	return clock_hour_start(now) + HOUR_KILL_MIN * MINUTE_MS;
}

int64_t hour_next_refresh(int64_t now, int64_t jitter_ms)
{
	return clock_hour_start(now) + HOUR_MS + jitter_ms;
}

void hour_plan(const struct task *tasks, size_t n, const int64_t *offset_ms, int64_t now,
	       struct plan_entry *out)
{
	int64_t h = clock_hour_start(now);

	for (size_t i = 0; i < n; i++) {
		int64_t minute_at = h + tasks[i].period * MINUTE_MS;

		out[i].task = i;
		out[i].due = minute_at + (offset_ms ? offset_ms[i] : 0);
		/* Missed only once its minute is over and its start has passed:
		 * an agent that comes up at :05:20 still runs the :05 task. */
		if (now >= minute_at + MINUTE_MS && now > out[i].due)
			out[i].state = PLAN_MISSED;
		else if (out[i].due >= h + HOUR_COOLDOWN_MIN * MINUTE_MS)
			out[i].state = PLAN_TOO_LATE;
		else
			out[i].state = PLAN_WAITING;
	}
}

/* The hour's phases and plan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "hour.h"

#include <string.h>

static int64_t at(int min, int sec)
{
	int64_t h;

	assert_int_equal(clock_parse_iso("2026-01-01T10:00:00Z", &h), 0);
	return h + min * MINUTE_MS + sec * 1000;
}

static void test_phases(void **state)
{
	(void)state;
	assert_int_equal(hour_phase(at(0, 0)), PHASE_REFRESH);
	assert_int_equal(hour_phase(at(4, 59)), PHASE_REFRESH);
	assert_int_equal(hour_phase(at(5, 0)), PHASE_WINDOW);
	assert_int_equal(hour_phase(at(54, 59)), PHASE_WINDOW);
	assert_int_equal(hour_phase(at(55, 0)), PHASE_COOLDOWN);
	assert_int_equal(hour_phase(at(58, 0)), PHASE_TERM);
	assert_int_equal(hour_phase(at(59, 30)), PHASE_KILL);
	for (int m = 0; m < 60; m++)
		assert_int_equal(hour_may_start(at(m, 30)), m >= 5 && m <= 54);
	assert_int_equal(hour_cooldown_at(at(20, 0)), at(55, 0));
	assert_int_equal(hour_term_at(at(20, 0)), at(58, 0));
	assert_int_equal(hour_kill_at(at(20, 0)), at(59, 0));
	assert_int_equal(hour_next_refresh(at(20, 0), 1234), at(60, 0) + 1234);
}

static void test_plan(void **state)
{
	struct task t[4];
	int64_t off[4] = { 0, 90 * 1000, 0, 4 * MINUTE_MS };
	struct plan_entry p[4];

	(void)state;
	memset(t, 0, sizeof(t));
	t[0].period = 10;
	t[1].period = 30;
	t[2].period = 5;
	t[3].period = 52;
	/* Built at start-up at :04:30: everything is ahead. */
	hour_plan(t, 4, off, at(4, 30), p);
	assert_int_equal(p[0].state, PLAN_WAITING);
	assert_int_equal(p[0].due, at(10, 0));
	assert_int_equal(p[1].due, at(31, 30));
	assert_int_equal(p[2].state, PLAN_WAITING);
	assert_int_equal(p[2].due, at(5, 0));
	/* 52 + 4 minutes falls in the cooldown. */
	assert_int_equal(p[3].state, PLAN_TOO_LATE);
	/* Built at :30: the :10 and :05 tasks are missed, :30 has begun. */
	hour_plan(t, 4, off, at(30, 0), p);
	assert_int_equal(p[0].state, PLAN_MISSED);
	assert_int_equal(p[1].state, PLAN_WAITING);
	assert_int_equal(p[2].state, PLAN_MISSED);
	/* Inside its minute a task is not missed: a start-up at :05:20
	 * runs the :05 task at once (its due time is already past). */
	hour_plan(t, 4, off, at(5, 20), p);
	assert_int_equal(p[2].state, PLAN_WAITING);
	assert_int_equal(p[2].due, at(5, 0));
	assert_int_equal(p[0].state, PLAN_WAITING);
	hour_plan(t, 4, off, at(5, 59), p);
	assert_int_equal(p[2].state, PLAN_WAITING);
	hour_plan(t, 4, off, at(6, 0), p);
	assert_int_equal(p[2].state, PLAN_MISSED);
	/* A start drawn later than its minute is not missed before it is due. */
	hour_plan(t, 4, off, at(31, 0), p);
	assert_int_equal(p[1].state, PLAN_WAITING);
	hour_plan(t, 4, off, at(31, 31), p);
	assert_int_equal(p[1].state, PLAN_MISSED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phases),
		cmocka_unit_test(test_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

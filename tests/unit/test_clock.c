/* The schedule clock: parsing, formatting, hour maths and virtual timers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"

#include <string.h>
#include <uv.h>

static void test_parse_iso(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(clock_parse_iso("1970-01-01T00:00:00Z", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(clock_parse_iso("2024-12-16T07:22:25Z", &ms), 0);
	assert_int_equal(ms, 1734333745000LL);
	assert_int_equal(clock_parse_iso("2024-02-29 23:59:59", &ms), 0);
	assert_int_equal(ms, 1709251199000LL);
	assert_int_equal(clock_parse_iso("2026-11-27T08:04", &ms), 0);
	assert_int_equal(clock_parse_iso("2023-02-29T00:00:00Z", &ms), -1);
	assert_int_equal(clock_parse_iso("2024-13-01T00:00:00Z", &ms), -1);
	assert_int_equal(clock_parse_iso("2024-12-16T24:00:00Z", &ms), -1);
	assert_int_equal(clock_parse_iso("2024-12-16T07:22:25+01:00", &ms), -1);
	assert_int_equal(clock_parse_iso("yesterday", &ms), -1);
	assert_int_equal(clock_parse_iso("", &ms), -1);
}

static void test_parse_duration(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(clock_parse_duration("90", &ms), 0);
	assert_int_equal(ms, 90000);
	assert_int_equal(clock_parse_duration("15m", &ms), 0);
	assert_int_equal(ms, 900000);
	assert_int_equal(clock_parse_duration("1h30m", &ms), 0);
	assert_int_equal(ms, 5400000);
	assert_int_equal(clock_parse_duration("2d", &ms), 0);
	assert_int_equal(ms, 172800000);
	assert_int_equal(clock_parse_duration("250ms", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(clock_parse_duration("h", &ms), -1);
	assert_int_equal(clock_parse_duration("5x", &ms), -1);
	assert_int_equal(clock_parse_duration("", &ms), -1);
	assert_int_equal(clock_parse_duration("-5m", &ms), -1);
}

static void test_format_and_hour(void **state)
{
	char buf[32];
	int64_t t = 1734333745123LL; /* 2024-12-16 07:22:25.123Z */

	(void)state;
	clock_format_log(t, buf, sizeof(buf));
	assert_string_equal(buf, "16-12-2024 07:22:25");
	clock_format_iso(t, buf, sizeof(buf));
	assert_string_equal(buf, "2024-12-16T07:22:25Z");
	assert_int_equal(clock_minute_of(t), 22);
	assert_int_equal(clock_second_of_hour(t), 22 * 60 + 25);
	assert_int_equal(clock_hour_start(t), 1734332400000LL);
}

static void test_virtual_now_advances_at_speed(void **state)
{
	int64_t a, b;

	(void)state;
	assert_int_equal(clock_setup(1000000, 100.0), 0);
	assert_true(clock_is_virtual());
	a = clock_now_ms();
	assert_true(a >= 1000000 && a < 1000000 + 1000);
	uv_sleep(50);
	b = clock_now_ms();
	/* 50 real ms at 100x is at least 5 virtual seconds. */
	assert_true(b - a >= 5000);
	assert_true(b - a < 60000);
	assert_int_equal(clock_real_delay_ms(60000), 601);
	assert_int_equal(clock_real_delay_ms(1), 2);
	assert_int_equal(clock_real_delay_ms(-5), 0);
	assert_int_equal(clock_setup(-1, 0.0), -1);
	assert_int_equal(clock_setup(-1, 1e9), -1);
	assert_int_equal(clock_setup(-1, 1.0), 0);
	assert_false(clock_is_virtual());
}

/* Held, the virtual clock stands still however long the real wait;
 * released, it runs on from where it stood, without a jump. */
static void test_hold_and_release(void **state)
{
	int64_t a, b, c;

	(void)state;
	assert_int_equal(clock_setup(5000000, 1000.0), 0);
	clock_hold();
	a = clock_now_ms();
	assert_true(a >= 5000000 && a < 5000000 + 1000);
	uv_sleep(30);
	b = clock_now_ms();
	assert_int_equal(b, a);
	clock_release();
	c = clock_now_ms();
	assert_true(c >= a && c < a + 5000); /* not the 30 s the hold lasted */
	uv_sleep(20);
	assert_true(clock_now_ms() - c >= 20000);
	/* A new setting is a running clock, even over a hold. */
	clock_hold();
	assert_int_equal(clock_setup(7000000, 1000.0), 0);
	uv_sleep(20);
	assert_true(clock_now_ms() - 7000000 >= 20000);
	/* The real clock has nothing to hold. */
	assert_int_equal(clock_setup(-1, 1.0), 0);
	clock_hold();
	a = clock_now_ms();
	uv_sleep(20);
	assert_true(clock_now_ms() - a >= 15);
	clock_release();
}

struct timing {
	uint64_t fired_ns;
	int64_t fired_virtual;
};

static void on_timer(uv_timer_t *t)
{
	struct timing *tm = t->data;

	tm->fired_ns = clock_mono_ns();
	tm->fired_virtual = clock_now_ms();
	uv_close((uv_handle_t *)t, NULL);
}

static void test_virtual_timer(void **state)
{
	uv_loop_t loop;
	uv_timer_t t;
	struct timing tm = { 0, 0 };
	uint64_t start;
	double real_s;
	const int64_t origin = 1734332700000LL; /* 07:05:00Z */

	(void)state;
	assert_int_equal(clock_setup(origin, 60.0), 0);
	uv_loop_init(&loop);
	uv_timer_init(&loop, &t);
	t.data = &tm;
	start = clock_mono_ns();
	assert_int_equal(clock_timer_start(&t, on_timer, 60000), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	real_s = (double)(tm.fired_ns - start) / 1e9;
	/* 60 virtual seconds at speed 60: about one real second. */
	assert_true(real_s >= 0.99);
	assert_true(real_s < 1.5);
	/* In schedule time the timer never fires early. */
	assert_true(tm.fired_virtual - origin >= 60000);
	assert_true(tm.fired_virtual - origin < 90000);
	clock_setup(-1, 1.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_iso),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_format_and_hour),
		cmocka_unit_test(test_virtual_now_advances_at_speed),
		cmocka_unit_test(test_virtual_timer),
		cmocka_unit_test(test_hold_and_release),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

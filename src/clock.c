/*
 * clock.c - schedule time (possibly virtual) and measured time (real).
 *
 * Virtual time is a straight line through a real monotonic origin:
 *     virtual_now = start + (mono_now - mono_origin) * speed
 * so it never jumps when the system clock is adjusted. Without
 * --clock-start and at speed 1 the agent follows the real wall clock
 * (CLOCK_REALTIME) so that it stays on the fleet's hour even across NTP
 * corrections.
 */
#include "clock.h"
#include "util.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static struct {
	int virtual_mode;
	double speed;
	int64_t start_ms;
	uint64_t mono_origin_ns;
	int held;
} g_clock = { 0, 1.0, 0, 0, 0 };

int64_t clock_real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int clock_setup(int64_t start_ms, double speed)
{
	if (!(speed > 0.0) || speed > CLOCK_SPEED_MAX || !isfinite(speed))
		return -1;
	g_clock.speed = speed;
	g_clock.mono_origin_ns = uv_hrtime();
	g_clock.start_ms = start_ms >= 0 ? start_ms : clock_real_ms();
	g_clock.virtual_mode = start_ms >= 0 || speed != 1.0;
	g_clock.held = 0;
	return 0;
}

int clock_is_virtual(void)
{
	return g_clock.virtual_mode;
}

double clock_speed(void)
{
	return g_clock.speed;
}

void clock_hold(void)
{
	if (!g_clock.virtual_mode || g_clock.held)
		return;
	g_clock.start_ms = clock_now_ms();
	g_clock.held = 1;
}

void clock_release(void)
{
	if (!g_clock.held)
		return;
	g_clock.held = 0;
	g_clock.mono_origin_ns = uv_hrtime();
}

void clock_origin(int64_t *start_ms, uint64_t *mono_ns)
{
	*start_ms = g_clock.start_ms;
	*mono_ns = g_clock.mono_origin_ns;
}

int64_t clock_now_ms(void)
{
	double elapsed_ms;

	if (!g_clock.virtual_mode)
		return clock_real_ms();
	if (g_clock.held)
		return g_clock.start_ms;
	elapsed_ms = (double)(uv_hrtime() - g_clock.mono_origin_ns) / 1e6;
	return g_clock.start_ms + (int64_t)(elapsed_ms * g_clock.speed);
}

uint64_t clock_mono_ns(void)
{
	return uv_hrtime();
}

uint64_t clock_real_delay_ms(int64_t virtual_ms)
{
	if (virtual_ms <= 0)
		return 0;
	/* One extra millisecond: libuv counts time in whole milliseconds
	 * (truncated), so a timer can fire up to 1 ms of real time early;
	 * at speed N that would be N ms early on the schedule clock. */
	return (uint64_t)ceil((double)virtual_ms / g_clock.speed) + 1;
}

int clock_timer_start(uv_timer_t *t, uv_timer_cb cb, int64_t virtual_ms)
{
	/* The loop's idea of "now" is taken at the start of each iteration;
	 * refresh it so a timer armed late in an iteration is not early. */
	uv_update_time(t->loop);
	return uv_timer_start(t, cb, clock_real_delay_ms(virtual_ms), 0);
}

int clock_timer_at(uv_timer_t *t, uv_timer_cb cb, int64_t at_ms)
{
	return clock_timer_start(t, cb, at_ms - clock_now_ms());
}

/* Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's
 * civil-from-days inverse); avoids timegm's dependence on TZ. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int take_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return 0;
}

int clock_parse_iso(const char *s, int64_t *out_ms)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec = 0;
	const char *p = s;

	if (take_digits(&p, 4, &y) || *p++ != '-' || take_digits(&p, 2, &mo) ||
	    *p++ != '-' || take_digits(&p, 2, &d))
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (take_digits(&p, 2, &h) || *p++ != ':' || take_digits(&p, 2, &mi))
		return -1;
	if (*p == ':') {
		p++;
		if (take_digits(&p, 2, &sec))
			return -1;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	if (*p != '\0')
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || sec > 59)
		return -1;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -1;
	*out_ms = ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 24 + h) * 60 + mi) *
			  60000LL +
		  sec * 1000LL;
	return 0;
}

int clock_parse_duration(const char *s, int64_t *out_ms)
{
	int64_t total = 0;
	const char *p = s;
	int any = 0;

	while (isspace((unsigned char)*p))
		p++;
	while (*p) {
		int64_t v = 0;
		int64_t unit = 1000;
		int digits = 0;

		while (isdigit((unsigned char)*p)) {
			if (v > INT64_C(1) << 40)
				return -1;
			v = v * 10 + (*p - '0');
			p++;
			digits++;
		}
		if (digits == 0)
			return -1;
		switch (*p) {
		case 'd': unit = 86400000; p++; break;
		case 'h': unit = 3600000; p++; break;
		case 'm':
			if (p[1] == 's') {
				unit = 1;
				p += 2;
			} else {
				unit = 60000;
				p++;
			}
			break;
		case 's': unit = 1000; p++; break;
		case '\0': break;
		default: return -1;
		}
		total += v * unit;
		any = 1;
		while (isspace((unsigned char)*p))
			p++;
	}
	if (!any)
		return -1;
	*out_ms = total;
	return 0;
}

static void split_time(int64_t ms, struct tm *tm)
{
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);

	gmtime_r(&t, tm);
}

void clock_format_log(int64_t ms, char *out, size_t n)
{
	struct tm tm;

	split_time(ms, &tm);
	strftime(out, n, "%d-%m-%Y %H:%M:%S", &tm);
}

void clock_format_iso(int64_t ms, char *out, size_t n)
{
	struct tm tm;

	split_time(ms, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int clock_second_of_hour(int64_t ms)
{
	int64_t s = ms / 1000;

	return (int)(((s % 3600) + 3600) % 3600);
}

int clock_minute_of(int64_t ms)
{
	return clock_second_of_hour(ms) / 60;
}

int64_t clock_hour_start(int64_t ms)
{
	return ms - (int64_t)clock_second_of_hour(ms) * 1000 - ((ms % 1000) + 1000) % 1000;
}

/*
 * clock.h - the one place the agent asks what time it is.
 *
 * Two kinds of time:
 *  - schedule time (virtual wall clock, ms since the Unix epoch, UTC): what
 *    minute of the hour it is, when a timer fires. With --clock-start and
 *    --clock-speed it starts where it is told and runs N times faster, so a
 *    test or the demo can live through an hour in a minute.
 *  - measured time (real monotonic): how long a client call took. Never
 *    scaled.
 */
#ifndef ANT_CLOCK_H
#define ANT_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define CLOCK_SPEED_MAX 10000.0

/* Set up the clock. start_ms < 0 means "the real time now". speed is the
 * virtual-to-real ratio (1 = real time). Returns 0, -1 on a bad speed. */
int clock_setup(int64_t start_ms, double speed);
/* A virtual clock stands still from clock_hold() to clock_release(), then
 * runs on from where it stood: the agent's start-up checks (the client's
 * --version, the cache lock) take no schedule time, however slowly a
 * loaded machine runs them at a high speed. No effect on the real clock. */
void clock_hold(void);
void clock_release(void);
/* The line virtual time runs along: *start_ms (schedule ms since the
 * epoch) at *mono_ns (CLOCK_MONOTONIC, as clock_mono_ns). */
void clock_origin(int64_t *start_ms, uint64_t *mono_ns);
/* True when the schedule clock is not plain real time. */
int clock_is_virtual(void);
double clock_speed(void);

/* Schedule time now, ms since the epoch (UTC). */
int64_t clock_now_ms(void);
/* Real wall-clock time (UTC ms), whatever the schedule clock says: for
 * what must be real, such as when the status file was written. */
int64_t clock_real_ms(void);
/* Real monotonic time in nanoseconds, for measuring durations. */
uint64_t clock_mono_ns(void);

/* Real milliseconds that correspond to virtual_ms of schedule time
 * (rounded up, so a timer never fires early in virtual terms). */
uint64_t clock_real_delay_ms(int64_t virtual_ms);
/* Start a one-shot libuv timer that fires after virtual_ms of schedule
 * time. Every schedule timer of the agent goes through here. */
int clock_timer_start(uv_timer_t *t, uv_timer_cb cb, int64_t virtual_ms);
/* Start a one-shot timer that fires at the given schedule time (or at once
 * when it is in the past). */
int clock_timer_at(uv_timer_t *t, uv_timer_cb cb, int64_t at_ms);

/* Parse 'YYYY-MM-DDTHH:MM:SSZ' (also with a space instead of T, and with
 * or without the Z: always UTC). Returns 0 or -1. */
int clock_parse_iso(const char *s, int64_t *out_ms);
/* Parse a duration such as 90, 90s, 15m, 2h, 1h30m, 1d (seconds when no
 * unit). Returns 0 or -1. */
int clock_parse_duration(const char *s, int64_t *out_ms);
/* Format schedule time: "DD-MM-YYYY HH:MM:SS" (the log style). */
void clock_format_log(int64_t ms, char *out, size_t n);
/* Format schedule time as ISO 8601 'YYYY-MM-DDTHH:MM:SSZ'. */
void clock_format_iso(int64_t ms, char *out, size_t n);
/* Minute of the hour (0..59) and second of the hour (0..3599). */
int clock_minute_of(int64_t ms);
int clock_second_of_hour(int64_t ms);
/* Start of the hour that contains ms. */
int64_t clock_hour_start(int64_t ms);

#endif

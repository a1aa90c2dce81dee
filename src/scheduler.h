/*
 * scheduler.h - the hour: refresh (kill-switch, control file, catalogues),
 * the plan of task starts, the cooldown/terminate/kill phases, and the
 * kill-switch gate in front of every start.
 */
#ifndef ANT_SCHEDULER_H
#define ANT_SCHEDULER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <uv.h>

struct scheduler;

/* Build the scheduler on a loop (reads the settings in force). Returns
 * NULL with the reason logged when the settings cannot be used. */
struct scheduler *scheduler_new(uv_loop_t *loop);
/* Fetch now and plan the rest of the current hour; then every hour at :00
 * plus a random jitter. */
void scheduler_start(struct scheduler *s);
/* Fetch and re-plan now (console [f], SIGHUP). */
void scheduler_refresh(struct scheduler *s, const char *why);
/* Start task ref now (console [r]): it must be in the current control
 * file; the kill-switch, the window and the limits still apply. */
void scheduler_run_now(struct scheduler *s, int ref);
/* Settings were reloaded: apply new limits. */
void scheduler_reconfigure(struct scheduler *s);
/* The agent's one-minute tick: keep the kill-switch answer fresh while
 * there is work, so that turning it ON stops running tests. */
void scheduler_tick(struct scheduler *s);
/* The scheduler's part of the status model, a JSON object (new reference):
 * clock, kill-switch, hour, plan and progress, running work, last result
 * per type, limiter use, guards. Every view of the status (the status
 * file, `ant-agent status`, the console's [s], SIGUSR1) renders this model
 * through status_print. */
json_t *scheduler_status_json(struct scheduler *s);
struct heartbeat;
/* The scheduler's facts for the minute's heartbeat (heartbeat.h): the
 * kill-switch, the hour's tasks, the tests skipped since the last call (the
 * count starts again), the guards, free disk and today's spend. */
void scheduler_heartbeat(struct scheduler *s, int64_t now, struct heartbeat *hb);
/* cb(ud) runs whenever something the status shows has changed (a plan,
 * a start, an end, a result, the kill-switch). */
void scheduler_on_change(struct scheduler *s, void (*cb)(void *ud), void *ud);
/* True once a refresh has ended (the first one made the hour's first plan). */
bool scheduler_has_refreshed(const struct scheduler *s);

/* Stop: no new test, running clients get SIGTERM (SIGKILL after a short
 * grace), loads in flight are let finish for a moment. done(ud) runs once
 * nothing is running; then call scheduler_free. */
void scheduler_shutdown(struct scheduler *s, void (*done)(void *ud), void *ud);
void scheduler_free(struct scheduler *s);

#endif

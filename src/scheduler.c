/*
 * scheduler.c - the hour (see scheduler.h): construction, the restart-safe
 * record of the hour, the status model, and shutdown. The refresh chain is
 * in refresh.c, the plan and its phases in plan.c, and the runner's view of
 * the world in world.c; sched_int.h holds what they share.
 */
#include "sched_int.h"
#include "clock.h"
#include "config.h"
#include "diskguard.h"
#include "fetch.h"
#include "heartbeat.h"
#include "killswitch.h"
#include "limiter.h"
#include "log.h"
#include "memguard.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

/* Real time a shutdown gives running clients after SIGTERM before SIGKILL,
 * and the most it waits for fetches in flight. */
#define SHUTDOWN_GRACE_MS 3000
#define SHUTDOWN_LOAD_WAIT_MS 5000

void sched_notify(struct scheduler *s)
{
	if (s->changed)
		s->changed(s->changed_ud);
}

void scheduler_on_change(struct scheduler *s, void (*cb)(void *ud), void *ud)
{
	s->changed = cb;
	s->changed_ud = ud;
}

bool scheduler_has_refreshed(const struct scheduler *s)
{
	return s->last_refresh != 0;
}

/* ---- restart-safe state ---- */

void sched_state_write(struct scheduler *s)
{
	if (state_save(s->state_path, &s->state) == 0) {
		s->state_save_failed = false;
		return;
	}
	/* Once per run of failures: a full disk should not flood the log. */
	if (!s->state_save_failed)
		log_error("State file %s: cannot write: %s; a restart this hour may run a "
			  "task again", s->state_path, strerror(errno));
	s->state_save_failed = true;
}

/* The state must belong to the hour that contains now. */
void sched_state_for_hour(struct scheduler *s, int64_t now)
{
	if (s->state.hour_start != clock_hour_start(now))
		state_reset(&s->state, clock_hour_start(now));
}

void sched_state_started(struct scheduler *s, const struct task *t, int64_t now)
{
	struct state_task *e;

	sched_state_for_hour(s, now);
	e = state_get(&s->state, t);
	if (e == NULL)
		return;
	e->started_ms = now;
	e->ended_ms = 0;
	sched_state_write(s);
}

/* ---- construction ---- */

static void on_runner_idle(void *ud)
{
	struct scheduler *s = ud;

	if (s->shutting_down)
		sched_check_shutdown_done(s);
}

static void limits_from_config(int64_t per_hour[TEST__COUNT])
{
	for (int t = 0; t < TEST__COUNT; t++)
		per_hour[t] = cfg_int(kind_get((enum test_type)t)->rate_limit);
}


struct scheduler *scheduler_new(uv_loop_t *loop)
{
	struct scheduler *s = xcalloc(1, sizeof(*s));
	struct killswitch_options ko;
	struct runner_env env;
	int64_t per_hour[TEST__COUNT];

	s->loop = loop;
	if (killswitch_options_from_config(&ko, s->ks_url, sizeof(s->ks_url)) != 0) {
		free(s);
		return NULL;
	}
	snprintf(s->seed_dir, sizeof(s->seed_dir), "%s/seeds", cfg_str(CFG_CACHE_DIR));
	if (mkdir_p(s->seed_dir, 0700) != 0) {
		log_crit("Cannot create %s: %s", s->seed_dir, strerror(errno));
		free(s);
		return NULL;
	}
	/* Resolved once: the seeded files' paths are absolute from the start,
	 * so no test has to resolve its own. */
	{
		char abs[PATH_MAX];

		if (realpath(s->seed_dir, abs) != NULL)
			str_copy(s->seed_dir, abs, sizeof(s->seed_dir));
	}
	snprintf(s->state_path, sizeof(s->state_path), "%s/%s", cfg_str(CFG_CACHE_DIR),
		 STATE_FILE_NAME);
	if (state_load(s->state_path, clock_hour_start(clock_now_ms()), &s->state) > 0)
		log_info("State file %s: %zu task record(s) for this hour", s->state_path,
			 s->state.n);
	s->fetcher = fetcher_new(loop);
	s->ks = killswitch_new(s->fetcher, &ko);
	killswitch_set_listener(s->ks, refresh_on_switch, s);
	limits_from_config(per_hour);
	s->limiter = limiter_new(per_hour, LIMITER_WINDOW_MS, (int)cfg_int(CFG_MAX_CLIENTS));
	memset(&env, 0, sizeof(env));
	env.loop = loop;
	env.limiter = s->limiter;
	world_env(s, &env);
	for (int t = 0; t < TEST__COUNT; t++)
		env.yield_ms[t] = cfg_int(kind_get((enum test_type)t)->yield_secs) * 1000;
	s->runner = runner_new(&env);
	runner_on_idle(s->runner, on_runner_idle, s);
	uv_timer_init(loop, &s->plan_timer);
	uv_timer_init(loop, &s->phase_timer);
	uv_timer_init(loop, &s->refresh_timer);
	uv_timer_init(loop, &s->shutdown_timer);
	uv_timer_init(loop, &s->ks_timer);
	s->open_handles = 5;
	s->plan_timer.data = s->phase_timer.data = s->refresh_timer.data = s;
	s->shutdown_timer.data = s->ks_timer.data = s;
	return s;
}

void scheduler_reconfigure(struct scheduler *s)
{
	int64_t per_hour[TEST__COUNT];

	limits_from_config(per_hour);
	limiter_configure(s->limiter, per_hour, (int)cfg_int(CFG_MAX_CLIENTS));
	runner_kick(s->runner);
}

void scheduler_tick(struct scheduler *s)
{
	/* The kill-switch decides whether to ask: only while tests run or are
	 * due (or while it is ON), paced to the fleet's GitHub budget. */
	if (!s->refreshing)
		refresh_switch_poll(s);
}

/* ---- status file ---- */

static json_t *iso_or_null(int64_t ms)
{
	char t[32];

	if (ms <= 0)
		return json_null();
	clock_format_iso(ms, t, sizeof(t));
	return json_string(t);
}

static const char *item_state(struct scheduler *s, const struct plan_item *it)
{
	bool running = runner_is_running(s->runner, it->task.ref);

	if (it->state == PLAN_TOO_LATE)
		return "too late (would start in the cooldown)";
	if (it->done_before)
		return running ? "running" : "ran earlier this hour";
	if (it->state == PLAN_MISSED)
		return "missed (its minute had passed)";
	if (!it->started)
		return "waiting";
	if (running)
		return it->resumed ? "running (resumed)" : "running";
	return it->started_at ? "done" : "not started";
}

static json_t *plan_json(struct scheduler *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < s->nplan; i++) {
		const struct plan_item *it = &s->plan[i];

		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o, s:s, s:b, s:i, s:o, s:o, s:I, s:I}",
			"ref", it->task.ref_text, "type", test_type_name(it->task.type),
			"size", size_class_name(it->task.size), "due", iso_or_null(it->due),
			"state", item_state(s, it), "repeat", it->task.repeat,
			"workers", it->task.workers, "started", iso_or_null(it->started_at),
			"ended", iso_or_null(it->ended_at), "tests", (json_int_t)it->tests,
			"ok", (json_int_t)it->ok));
	}
	return a;
}

static json_t *last_json(struct scheduler *s)
{
	json_t *o = json_object();

	for (int ty = 0; ty < TEST__COUNT; ty++) {
		const struct test_result *r = &s->last[ty];

		if (!s->have_last[ty])
			continue;
		json_object_set_new(o, test_type_name((enum test_type)ty),
			json_pack("{s:s, s:i, s:o, s:f, s:i, s:s}", "status",
				  test_status_name(r->status), "task", r->task_ref, "at",
				  iso_or_null(r->start_ms), "exec_time", r->exec_time, "exit_code",
				  r->exit_code, "reason", r->reason));
	}
	return o;
}

static json_t *limits_json(struct scheduler *s, int64_t now)
{
	json_t *o = json_object();

	for (int ty = 0; ty < TEST__COUNT; ty++)
		json_object_set_new(o, test_type_name((enum test_type)ty),
			json_pack("{s:I, s:I}", "used",
				  (json_int_t)limiter_used(s->limiter, (enum test_type)ty, now),
				  "limit", (json_int_t)limiter_limit(s->limiter, (enum test_type)ty)));
	json_object_set_new(o, "clients", json_pack("{s:i, s:i}", "used", limiter_clients(s->limiter),
						    "limit", limiter_max_clients(s->limiter)));
	return o;
}

static json_t *guards_json(void)
{
	struct statvfs st;
	uint64_t mem = 0;
	json_t *o = json_object();
	const char *dir = cfg_str(CFG_CLIENT_DOWNLOAD_PATH);

	if (statvfs(dir, &st) == 0 || statvfs(cfg_str(CFG_CACHE_DIR), &st) == 0)
		json_object_set_new(o, "disk_free_bytes",
				    json_integer((json_int_t)((uint64_t)st.f_bavail * st.f_frsize)));
	json_object_set_new(o, "min_free_disk_gb", json_real(cfg_float(CFG_MIN_FREE_DISK_GB)));
	if (memguard_available(MEMGUARD_MEMINFO, &mem) == 0)
		json_object_set_new(o, "mem_available_bytes", json_integer((json_int_t)mem));
	json_object_set_new(o, "min_free_mem_mb", json_integer((json_int_t)cfg_int(CFG_MIN_FREE_MEM_MB)));
	return o;
}

/* The switch as the status file shows it. "on" also holds while the
 * agent waits for the next :00 refresh after the switch went OFF. "issue"
 * is the last issue that turned it ON (its title cleaned), with when that
 * was seen and when an answer said OFF again (null while still ON). */
static json_t *killswitch_json(const struct killswitch_status *ks, bool stopped)
{
	json_t *issue = json_null();

	if (ks->issue_on_ms > 0)
		issue = json_pack("{s:I, s:s, s:o, s:o}", "number", (json_int_t)ks->issue_number,
				  "title", ks->issue_title, "on_at", iso_or_null(ks->issue_on_ms),
				  "off_at", iso_or_null(ks->issue_off_ms));
	return json_pack("{s:b, s:s, s:s, s:b, s:I, s:o, s:o, s:i, s:i, s:I, s:I, s:b, s:b, "
			 "s:o, s:s, s:I, s:I, s:o}",
		"on", ks->on || stopped, "state", killswitch_reading_name(ks->reading),
		"reason", ks->reason, "have_answer", ks->have_answer, "age_ms", (json_int_t)ks->age_ms,
		"last_check", iso_or_null(ks->last_check_ms), "next_check", iso_or_null(ks->next_check_ms),
		"requests_this_hour", ks->requests_in_window, "max_per_hour", ks->max_per_hour,
		"interval_ms", (json_int_t)ks->interval_ms, "max_age_ms", (json_int_t)ks->max_age_ms,
		"token", ks->token, "rate_limited", ks->rate_limited,
		"hold_until", iso_or_null(ks->hold_until_ms), "last_error", ks->last_error,
		"requests_total", (json_int_t)ks->requests_total,
		"not_modified_total", (json_int_t)ks->not_modified_total, "issue", issue);
}

json_t *scheduler_status_json(struct scheduler *s)
{
	int64_t now = clock_now_ms();
	struct killswitch_status ks;

	killswitch_get_status(s->ks, now, &ks);
	return json_pack("{s:o, s:b, s:f, s:o, "
			 "s:{s:o, s:s, s:o, s:b}, s:o, s:{s:i, s:i, s:i}, s:o, s:o, s:o}",
		"now", iso_or_null(now), "virtual_clock", clock_is_virtual() != 0,
		"clock_speed", clock_speed(),
		"killswitch", killswitch_json(&ks, s->switch_stopped),
		"hour", "start", iso_or_null(clock_hour_start(now)),
		"phase", hour_phase_name(hour_phase(now)), "next_refresh",
		iso_or_null(s->next_refresh), "refreshing", s->refreshing,
		"plan", plan_json(s),
		"running", "tasks", (int)runner_tasks(s->runner), "workers",
		(int)runner_workers(s->runner), "clients", (int)runner_clients(s->runner),
		"last", last_json(s), "limits", limits_json(s, now), "guards", guards_json());
}

/* ---- heartbeat ---- */

void scheduler_heartbeat(struct scheduler *s, int64_t now, struct heartbeat *hb)
{
	struct killswitch_status ks;
	struct statvfs st;
	char why[200];

	killswitch_get_status(s->ks, now, &ks);
	/* ON as the fleet means it: an open issue says so (or the agent still
	 * waits for the :00 refresh after one did). A stale or failed check
	 * also keeps tests from starting; killswitch_state tells them apart. */
	hb->killswitch_on = ks.reading == KILLSWITCH_ON || s->switch_stopped;
	hb->killswitch_state = killswitch_reading_name(ks.reading);
	hb->killswitch_issue = ks.issue_on_ms > 0 ? ks.issue_number : -1;
	hb->tasks_planned = hb->tasks_done = 0;
	for (size_t i = 0; i < s->nplan; i++) {
		const struct plan_item *it = &s->plan[i];
		bool running = runner_is_running(s->runner, it->task.ref);

		if (it->state == PLAN_WAITING || it->done_before)
			hb->tasks_planned++;
		if (it->done_before ? !running : it->started && it->started_at > 0 && !running)
			hb->tasks_done++;
	}
	hb->tasks_running = (int64_t)runner_tasks(s->runner);
	memcpy(hb->skipped, s->skipped_minute, sizeof(hb->skipped));
	memset(s->skipped_minute, 0, sizeof(s->skipped_minute));
	/* The guards as env_guard would answer now. */
	hb->disk_guard = diskguard_check(cfg_str(CFG_CLIENT_DOWNLOAD_PATH), 0,
					 cfg_float(CFG_MIN_FREE_DISK_GB), why, sizeof(why)) == 1;
	hb->mem_guard = memguard_check(MEMGUARD_MEMINFO, cfg_int(CFG_MIN_FREE_MEM_MB), why,
				       sizeof(why));
	hb->have_disk_free = statvfs(cfg_str(CFG_CLIENT_DOWNLOAD_PATH), &st) == 0 ||
			     statvfs(cfg_str(CFG_CACHE_DIR), &st) == 0;
	hb->disk_free_bytes = hb->have_disk_free ? (uint64_t)st.f_bavail * st.f_frsize : 0;
	hb->uploads = cfg_bool(CFG_ALLOW_UPLOADS);
	hb->spend_today_atto = hb->uploads ? heartbeat_spend_today(now) : 0;
}

/* ---- shutdown ---- */

void sched_check_shutdown_done(struct scheduler *s)
{
	void (*done)(void *ud) = s->done;

	if (done == NULL || !runner_idle(s->runner))
		return;
	if (s->loads_pending > 0 && !s->shutdown_forced)
		return;
	s->done = NULL;
	uv_timer_stop(&s->shutdown_timer);
	done(s->done_ud);
}

static void on_shutdown_timer(uv_timer_t *t)
{
	struct scheduler *s = t->data;

	if (!runner_idle(s->runner)) {
		log_warn("Clients still running after %d ms: killing them", SHUTDOWN_GRACE_MS);
		runner_terminate(s->runner, true, REASON_SHUTDOWN);
	}
	if (!s->shutdown_forced) {
		s->shutdown_forced = true;
		uv_timer_start(&s->shutdown_timer, on_shutdown_timer,
			       SHUTDOWN_LOAD_WAIT_MS - SHUTDOWN_GRACE_MS, 0);
	}
	sched_check_shutdown_done(s);
}

void scheduler_shutdown(struct scheduler *s, void (*done)(void *ud), void *ud)
{
	s->shutting_down = true;
	s->done = done;
	s->done_ud = ud;
	uv_timer_stop(&s->plan_timer);
	uv_timer_stop(&s->phase_timer);
	uv_timer_stop(&s->refresh_timer);
	uv_timer_stop(&s->ks_timer);
	runner_cooldown(s->runner);
	if (runner_clients(s->runner))
		log_info("Stopping %zu running client(s)", runner_clients(s->runner));
	runner_terminate(s->runner, false, REASON_SHUTDOWN);
	/* Real time, not schedule time: a stop must be quick whatever the
	 * clock speed. */
	uv_timer_start(&s->shutdown_timer, on_shutdown_timer, SHUTDOWN_GRACE_MS, 0);
	sched_check_shutdown_done(s);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct scheduler *s = h->data;

	if (--s->open_handles == 0)
		free(s);
}

void scheduler_free(struct scheduler *s)
{
	if (s == NULL)
		return;
	fetcher_free(s->fetcher);
	killswitch_free(s->ks);
	runner_free(s->runner);
	limiter_free(s->limiter);
	catalog_free(&s->downloads);
	catalog_free(&s->seeds);
	free(s->tasks);
	free(s->plan);
	uv_close((uv_handle_t *)&s->plan_timer, on_handle_closed);
	uv_close((uv_handle_t *)&s->phase_timer, on_handle_closed);
	uv_close((uv_handle_t *)&s->refresh_timer, on_handle_closed);
	uv_close((uv_handle_t *)&s->shutdown_timer, on_handle_closed);
	uv_close((uv_handle_t *)&s->ks_timer, on_handle_closed);
}


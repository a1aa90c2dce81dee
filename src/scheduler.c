/*
 * scheduler.c - the hour.
 *
 * A refresh runs as a chain of callbacks on the loop:
 *   kill-switch answer -> control file -> both catalogues -> plan
 * and ends by arming three timers: the next task start (one timer for the
 * whole plan, re-armed after each start), the next phase of the hour
 * (:55 cooldown, :58 SIGTERM, :59 SIGKILL) and the next refresh (:00 plus
 * jitter). A control file that cannot be fetched or parsed leaves the hour
 * with no tasks; a catalogue that cannot be refreshed falls back to its
 * cached copy.
 */
#include "scheduler.h"
#include "catalog.h"
#include "client.h"
#include "clock.h"
#include "config.h"
#include "control.h"
#include "diskguard.h"
#include "fetch.h"
#include "hour.h"
#include "job.h"
#include "killswitch.h"
#include "limiter.h"
#include "log.h"
#include "memguard.h"
#include "metrics.h"
#include "purge.h"
#include "runner.h"
#include "seedfile.h"
#include "upload.h"
#include "state.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

/* Real time a shutdown gives running clients after SIGTERM before SIGKILL,
 * and the most it waits for fetches in flight. */
#define SHUTDOWN_GRACE_MS 3000
#define SHUTDOWN_LOAD_WAIT_MS 5000
/* Least schedule time between two kill-switch polls (no busy loop). */
#define KS_POLL_MIN_MS 1000

struct plan_item {
	struct task task;
	int64_t due;
	enum plan_state state;
	bool started;
	bool done_before;   /* the state file says it ran this hour already */
	bool resumed;       /* restarted after the agent itself was restarted */
	int64_t started_at, ended_at;
	uint64_t tests, ok;
};

/* The guards that skip tests, each warned about once an hour. */

struct scheduler {
	uv_loop_t *loop;
	struct fetcher *fetcher;
	struct killswitch *ks;
	char ks_url[2048];
	struct limiter *limiter;
	struct runner *runner;
	struct catalog downloads;
	struct catalog seeds;
	struct task *tasks;           /* the control file's valid tasks */
	size_t ntasks;
	struct plan_item *plan;
	size_t nplan;
	uv_timer_t plan_timer;
	uv_timer_t phase_timer;
	uv_timer_t refresh_timer;
	uv_timer_t shutdown_timer;
	uv_timer_t ks_timer;          /* the kill-switch's next poll */
	int open_handles;
	enum hour_phase armed_phase;
	int64_t next_refresh;
	int64_t last_refresh;
	bool refreshing;
	bool awaiting_switch;
	bool switch_stopped;
	bool shutting_down;
	bool shutdown_forced;
	int loads_pending;
	char seed_dir[PATH_MAX];
	void (*done)(void *ud);
	void *done_ud;
	/* Restart-safe record of the hour (state.h). */
	struct state state;
	char state_path[PATH_MAX];
	bool state_save_failed;
	/* Per guard: the hour it was last warned about, and the reason. */
	int64_t guard_warned[REASON__COUNT];
	bool mem_unreadable_warned;
	/* Last result per test type, for the status file. */
	struct test_result last[TEST__COUNT];
	bool have_last[TEST__COUNT];
	void (*changed)(void *ud);
	void *changed_ud;
};

static void refresh_after_switch(struct scheduler *s, bool on);
static void check_shutdown_done(struct scheduler *s);

static void notify(struct scheduler *s)
{
	if (s->changed)
		s->changed(s->changed_ud);
}

void scheduler_on_change(struct scheduler *s, void (*cb)(void *ud), void *ud)
{
	s->changed = cb;
	s->changed_ud = ud;
}

/* ---- restart-safe state ---- */

static void state_write(struct scheduler *s)
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
static void state_for_hour(struct scheduler *s, int64_t now)
{
	if (s->state.hour_start != clock_hour_start(now))
		state_reset(&s->state, clock_hour_start(now));
}

static void state_started(struct scheduler *s, const struct task *t, int64_t now)
{
	struct state_task *e;

	state_for_hour(s, now);
	e = state_get(&s->state, t);
	if (e == NULL)
		return;
	e->started_ms = now;
	e->ended_ms = 0;
	state_write(s);
}

static struct plan_item *plan_find(struct scheduler *s, int ref)
{
	for (size_t i = 0; i < s->nplan; i++)
		if (s->plan[i].task.ref == ref)
			return &s->plan[i];
	return NULL;
}

static void env_task_ended(void *ud, const struct task *t)
{
	struct scheduler *s = ud;
	int64_t now = clock_now_ms();
	struct plan_item *it = plan_find(s, t->ref);
	struct state_task *e;

	if (it != NULL && it->started)
		it->ended_at = now;
	/* A task stopped by the agent's own stop was not finished: after a
	 * restart this hour a repeating one carries on. */
	if (!s->shutting_down && s->state.hour_start == clock_hour_start(now) &&
	    (e = state_find(&s->state, t->ref)) != NULL && e->started_ms > 0) {
		e->ended_ms = now;
		state_write(s);
	}
	notify(s);
}

/* ---- runner environment ---- */

static bool env_may_start(void *ud, int64_t now)
{
	struct scheduler *s = ud;

	if (s->shutting_down || s->switch_stopped || !hour_may_start(now))
		return false;
	return killswitch_may_start(s->ks, now);
}

static int64_t env_cooldown_at(void *ud, int64_t now)
{
	(void)ud;
	return hour_cooldown_at(now);
}

static bool env_pick_download(void *ud, enum size_class sz, struct dl_row *out)
{
	struct scheduler *s = ud;
	const struct dl_row *r = catalog_pick_download(&s->downloads, sz, (uint32_t)rng_u64());

	if (r == NULL)
		return false;
	*out = *r;
	return true;
}

static bool env_pick_seed(void *ud, enum size_class sz, struct seed_row *out)
{
	struct scheduler *s = ud;
	const struct seed_row *r = catalog_pick_seed(&s->seeds, sz, (uint32_t)rng_u64());

	if (r == NULL)
		return false;
	*out = *r;
	return true;
}

/* An upload's own content: a catalogue row's size, a seed of its own. */
static bool env_unique_seed(void *ud, const struct task *t, struct seed_row *out)
{
	struct scheduler *s = ud;
	struct seed_row base;
	char seq[PATH_MAX];

	snprintf(seq, sizeof(seq), "%s/%s", cfg_str(CFG_CACHE_DIR), STATE_SEQ_FILE_NAME);
	return env_pick_seed(s, t->size, &base) &&
	       upload_content_seed(metrics_agent_id(), seq, &base, t, out) == 0;
}

struct prep_ctx {
	runner_prepared_cb done;
	void *arg;
	char md5[MD5_HEX_LEN + 1];
	uint64_t seed;
	uint64_t bytes;   /* reserved on the disk guard while generating */
};

static void on_seed_file(int status, const char *path, const char *md5_hex, void *ud)
{
	struct prep_ctx *c = ud;
	int ok = status == 0;

	diskguard_release(c->bytes);
	if (!ok)
		log_error("Seeded file %s: generation failed: %s", path, strerror(-status));
	else if (c->md5[0] && strcmp(c->md5, md5_hex) != 0) {
		log_error("Seeded file for seed %" PRIu64 " has MD5 %s but the catalogue says %s: "
			  "not used", c->seed, md5_hex, c->md5);
		ok = 0;
	}
	c->done(c->arg, ok);
	free(c);
}

static int env_prepare_seed(void *ud, const struct seed_row *row, const char *path,
			    runner_prepared_cb done, void *arg)
{
	struct scheduler *s = ud;
	struct prep_ctx *c;
	char reason[256];

	if (diskguard_check_reserved(s->seed_dir, row->bytes, cfg_float(CFG_MIN_FREE_DISK_GB), reason,
				     sizeof(reason)) != 0) {
		log_warn("Not generating a %" PRIu64 "-byte seeded file: %s", row->bytes, reason);
		return -1;
	}
	c = xcalloc(1, sizeof(*c));
	c->done = done;
	c->arg = arg;
	c->seed = row->seed;
	c->bytes = row->bytes;
	str_copy(c->md5, row->md5, sizeof(c->md5));
	diskguard_reserve(c->bytes);
	if (seedfile_prepare(s->loop, path, row->seed, row->bytes, on_seed_file, c) == NULL) {
		diskguard_release(c->bytes);
		free(c);
		return -1;
	}
	return 0;
}

static void log_result(const struct test_result *r);

/* ---- resource guards ---- */

static enum runner_guard env_guard(void *ud, const struct task *t, enum test_reason *reason,
				   char *detail, size_t n)
{
	struct scheduler *s = ud;
	char why[200];
	int rc;

	(void)t;
	/* Whether anything can be written at all; job.c checks again with
	 * the size the test will write. */
	if (diskguard_check(cfg_str(CFG_CLIENT_DOWNLOAD_PATH), 0, cfg_float(CFG_MIN_FREE_DISK_GB), why,
			    sizeof(why)) == 1) {
		*reason = REASON_DISK_GUARD;
		str_copy(detail, why, n);
		return RUNNER_GUARD_SKIP;
	}
	rc = memguard_check(MEMGUARD_MEMINFO, cfg_int(CFG_MIN_FREE_MEM_MB), why, sizeof(why));
	if (rc == 1) {
		*reason = REASON_MEMORY_GUARD;
		str_copy(detail, why, n);
		return RUNNER_GUARD_SKIP_RETRY;
	}
	if (rc < 0 && !s->mem_unreadable_warned) {
		log_warn("Memory guard off: %s", why);
		s->mem_unreadable_warned = true;
	}
	return RUNNER_GUARD_OK;
}

/* A skip by a guard is warned about once an hour per guard; every skip is
 * in the metrics, and at DEBUG level in the log. */
static bool guard_skip_logged(struct scheduler *s, const struct test_result *r)
{
	int64_t hour = clock_hour_start(clock_now_ms());

	if (r->status != ST_SKIPPED)
		return false;
	/* Uploads off is said once, at start-up (agent.c). */
	if (r->why == REASON_UPLOADS_OFF) {
		log_debug("Task %03d worker %d: skipped: %s", r->task_ref, r->worker, r->reason);
		return true;
	}
	if (r->why != REASON_DISK_GUARD && r->why != REASON_MEMORY_GUARD)
		return false;
	if (s->guard_warned[r->why] != hour) {
		s->guard_warned[r->why] = hour;
		log_warn("Tests are being skipped: %s (said once an hour; each skip is "
			 "recorded as a metric with status skipped)", r->reason);
	} else {
		log_debug("Task %03d worker %d: skipped: %s", r->task_ref, r->worker, r->reason);
	}
	return true;
}

static void env_record(void *ud, const struct test_result *r)
{
	struct scheduler *s = ud;
	struct plan_item *it = plan_find(s, r->task_ref);

	if (r->type < TEST__COUNT) {
		s->last[r->type] = *r;
		s->have_last[r->type] = true;
	}
	if (it != NULL) {
		it->tests++;
		it->ok += r->status == ST_OK;
	}
	notify(s);
	if (!guard_skip_logged(s, r))
		log_result(r);
	metrics_record(r);
}

static void log_result(const struct test_result *r)
{
	if (r->status == ST_OK)
		log_info("Task %03d worker %d: %s %s ok in %.2f s%s%s", r->task_ref, r->worker,
			 test_type_name(r->type), size_class_name(r->size), r->exec_time,
			 r->md5_checked ? (r->md5_valid ? ", MD5 good" : ", MD5 BAD") : "",
			 r->attempt > 1 ? " (retry)" : "");
	else if (r->status == ST_STOPPED)
		/* The agent's own doing, already announced: not a warning. */
		log_info("Task %03d worker %d attempt %d: %s %s stopped after %.2f s: %s",
			 r->task_ref, r->worker, r->attempt, test_type_name(r->type),
			 size_class_name(r->size), r->exec_time, r->reason);
	else
		log_warn("Task %03d worker %d attempt %d: %s %s %s after %.2f s (exit %d)%s%s",
			 r->task_ref, r->worker, r->attempt, test_type_name(r->type),
			 size_class_name(r->size), test_status_name(r->status), r->exec_time,
			 r->exit_code, r->reason[0] ? ": " : "", r->reason);
}

/* ---- construction ---- */

static void on_runner_idle(void *ud)
{
	struct scheduler *s = ud;

	if (s->shutting_down)
		check_shutdown_done(s);
}

static void limits_from_config(int64_t per_hour[TEST__COUNT])
{
	for (int t = 0; t < TEST__COUNT; t++)
		per_hour[t] = cfg_int(kind_get((enum test_type)t)->rate_limit);
}

static void on_switch(bool on, void *ud);

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
	snprintf(s->state_path, sizeof(s->state_path), "%s/%s", cfg_str(CFG_CACHE_DIR),
		 STATE_FILE_NAME);
	if (state_load(s->state_path, clock_hour_start(clock_now_ms()), &s->state) > 0)
		log_info("State file %s: %zu task record(s) for this hour", s->state_path,
			 s->state.n);
	s->fetcher = fetcher_new(loop);
	s->ks = killswitch_new(s->fetcher, &ko);
	killswitch_set_listener(s->ks, on_switch, s);
	limits_from_config(per_hour);
	s->limiter = limiter_new(per_hour, LIMITER_WINDOW_MS, (int)cfg_int(CFG_MAX_CLIENTS));
	memset(&env, 0, sizeof(env));
	env.loop = loop;
	env.limiter = s->limiter;
	env.ud = s;
	env.may_start = env_may_start;
	env.cooldown_at = env_cooldown_at;
	env.pick_download = env_pick_download;
	env.pick_seed = env_pick_seed;
	env.prepare_seed = env_prepare_seed;
	env.seed_dir = s->seed_dir;
	env.unique_seed = env_unique_seed;
	env.spend_reserve = upload_spend_reserve;
	env.spend_release = upload_spend_release;
	env.record = env_record;
	env.guard = env_guard;
	env.task_ended = env_task_ended;
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

/* ---- the plan ---- */

static void start_item(struct scheduler *s, struct plan_item *it, int64_t now)
{
	it->started = true;
	if (!env_may_start(s, now)) {
		log_warn("Task %s not started at %02d:%02d: %s", it->task.ref_text,
			 clock_minute_of(now), clock_second_of_hour(now) % 60,
			 s->switch_stopped || !killswitch_may_start(s->ks, now) ? "the kill-switch is ON"
								       : "outside the test window");
		return;
	}
	if (runner_start_task(s->runner, &it->task) != 0) {
		log_warn("Task %s not started: it is still running", it->task.ref_text);
		return;
	}
	it->started_at = now;
	it->ended_at = 0;
	state_started(s, &it->task, now);
	notify(s);
}

static void on_plan_timer(uv_timer_t *t);

static void arm_plan_timer(struct scheduler *s)
{
	int64_t next = INT64_MAX;

	uv_timer_stop(&s->plan_timer);
	for (size_t i = 0; i < s->nplan; i++)
		if (s->plan[i].state == PLAN_WAITING && !s->plan[i].started && s->plan[i].due < next)
			next = s->plan[i].due;
	if (next != INT64_MAX && !s->shutting_down)
		clock_timer_at(&s->plan_timer, on_plan_timer, next);
}

static void on_plan_timer(uv_timer_t *t)
{
	struct scheduler *s = t->data;
	int64_t now = clock_now_ms();

	for (size_t i = 0; i < s->nplan; i++) {
		struct plan_item *it = &s->plan[i];

		if (it->state == PLAN_WAITING && !it->started && it->due <= now)
			start_item(s, it, now);
	}
	arm_plan_timer(s);
}

static void drop_plan(struct scheduler *s)
{
	uv_timer_stop(&s->plan_timer);
	free(s->plan);
	s->plan = NULL;
	s->nplan = 0;
}

/* The plan in the log fits a terminal of this many columns. */
#define SCHED_TABLE_WIDTH 80

static void log_table(const struct task *tasks, size_t n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return;
	control_print_table_width(f, tasks, n, SCHED_TABLE_WIDTH - log_prefix_width(LOG_INFO));
	fclose(f);
	log_text(LOG_INFO, text);
	free(text);
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

static void build_plan(struct scheduler *s)
{
	int64_t now = clock_now_ms();
	int64_t *offsets;
	struct plan_entry *entries;
	struct state_task *e;
	size_t waiting = 0;

	drop_plan(s);
	state_for_hour(s, now);
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
	state_write(s);
	log_info("Plan for this hour: %zu of %zu task(s) to start", waiting, s->ntasks);
	arm_plan_timer(s);
	notify(s);
}

/* ---- phases ---- */

static void on_phase_timer(uv_timer_t *t);

static void arm_phase_timer(struct scheduler *s)
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
	arm_phase_timer(s);
}

/* ---- kill-switch pacing ---- */

static void on_ks_timer(uv_timer_t *t);

/* Tell the kill-switch what the hour holds (tests running or a refresh
 * under way, the next start or refresh), let it check if a check is due,
 * and wake it when it next has something to do. */
static void switch_poll(struct scheduler *s)
{
	int64_t now = clock_now_ms(), next = s->next_refresh, at;

	uv_timer_stop(&s->ks_timer);
	if (s->shutting_down)
		return;
	for (size_t i = 0; i < s->nplan; i++) {
		const struct plan_item *it = &s->plan[i];

		if (it->state == PLAN_WAITING && !it->started && (next == 0 || it->due < next))
			next = it->due;
	}
	killswitch_set_activity(s->ks, s->refreshing || !runner_idle(s->runner), next);
	killswitch_poll(s->ks, now);
	at = killswitch_next_poll_at(s->ks, now);
	if (at != INT64_MAX)
		clock_timer_at(&s->ks_timer, on_ks_timer, at > now + KS_POLL_MIN_MS ? at : now + KS_POLL_MIN_MS);
}

static void on_ks_timer(uv_timer_t *t)
{
	switch_poll(t->data);
}

/* ---- refresh ---- */

static void on_refresh_timer(uv_timer_t *t)
{
	scheduler_refresh(t->data, "hourly refresh");
}

static void refresh_done(struct scheduler *s)
{
	int64_t now = clock_now_ms();
	int64_t jitter = (int64_t)rng_below((uint64_t)cfg_int(CFG_REFRESH_JITTER_SECS) * 1000 + 1);
	char when[32];

	s->refreshing = false;
	s->last_refresh = now;
	if (s->shutting_down) {
		check_shutdown_done(s);
		return;
	}
	arm_phase_timer(s);
	/* A start-up or manual refresh late in the hour is already in a phase
	 * the timers will not announce again. */
	if (hour_phase(now) != PHASE_WINDOW && hour_phase(now) != PHASE_REFRESH)
		runner_cooldown(s->runner);
	s->next_refresh = hour_next_refresh(now, jitter);
	clock_format_iso(s->next_refresh, when, sizeof(when));
	log_info("Next task refresh at %s", when);
	clock_timer_at(&s->refresh_timer, on_refresh_timer, s->next_refresh);
	switch_poll(s);
	notify(s);
}

static void switch_stop(struct scheduler *s)
{
	size_t clients = runner_clients(s->runner);

	s->switch_stopped = true;
	drop_plan(s);
	runner_cooldown(s->runner);
	if (clients)
		log_warn("Kill-switch: stopping %zu running client(s)", clients);
	runner_terminate(s->runner, false, REASON_KILL_SWITCH);
}

static void on_switch(bool on, void *ud)
{
	struct scheduler *s = ud;

	if (s->awaiting_switch) {
		s->awaiting_switch = false;
		refresh_after_switch(s, on);
		switch_poll(s);
		return;
	}
	if (on && !s->switch_stopped && !s->shutting_down) {
		log_warn("Kill-switch turned ON: stopping all tests until a refresh finds it OFF");
		switch_stop(s);
	}
	switch_poll(s);
	notify(s);
}

static void set_tasks(struct scheduler *s, const struct task *tasks, size_t n)
{
	free(s->tasks);
	s->tasks = NULL;
	s->ntasks = 0;
	if (n == 0)
		return;
	s->tasks = xcalloc(n, sizeof(*tasks));
	memcpy(s->tasks, tasks, n * sizeof(*tasks));
	s->ntasks = n;
}

static void catalog_loaded(struct scheduler *s, struct catalog *slot, struct catalog *cat,
			   const struct catalog_load_info *info)
{
	const char *what = catalog_kind_name(cat->kind);

	/* The loader has logged where the copy came from; add the rows it
	 * skipped, each with its line. */
	for (size_t i = 0; i < cat->nproblems; i++)
		log_warn("%s line %d: %s", what, cat->problems[i].line, cat->problems[i].message);
	if (info->origin == CATALOG_NONE || cat->failed) {
		if (slot->nrows > 0)
			log_warn("%s: keeping the %zu rows loaded before", what, slot->nrows);
	} else {
		/* Move it out: the loader frees what is left in *cat. */
		catalog_free(slot);
		*slot = *cat;
		memset(cat, 0, sizeof(*cat));
	}
	if (--s->loads_pending == 0) {
		if (!s->shutting_down)
			build_plan(s);
		refresh_done(s);
	}
}

static void on_downloads(struct catalog *cat, const struct catalog_load_info *info, void *ud)
{
	struct scheduler *s = ud;

	catalog_loaded(s, &s->downloads, cat, info);
}

static void on_seeds(struct catalog *cat, const struct catalog_load_info *info, void *ud)
{
	struct scheduler *s = ud;

	catalog_loaded(s, &s->seeds, cat, info);
}

static void load_catalogues(struct scheduler *s)
{
	struct catalog_source src;

	s->loads_pending = 2;
	catalog_source_from_config(CATALOG_DOWNLOADS, &src);
	if (catalog_load(s->loop, s->fetcher, &src, on_downloads, s) != 0) {
		log_error("Download catalogue: cannot start loading %s", src.url);
		s->loads_pending--;
	}
	catalog_source_from_config(CATALOG_SEEDS, &src);
	if (catalog_load(s->loop, s->fetcher, &src, on_seeds, s) != 0) {
		log_error("Seed catalogue: cannot start loading %s", src.url);
		s->loads_pending--;
	}
	if (s->loads_pending == 0) {
		build_plan(s);
		refresh_done(s);
	}
}

static void control_loaded(struct scheduler *s, const char *data, size_t len)
{
	struct control_limits lim;
	struct control_result res;
	char msg[512];

	control_limits_from_config(&lim);
	control_parse(data, len, &lim, &res);
	for (size_t i = 0; i < res.nproblems; i++) {
		control_problem_format(&res.problems[i], msg, sizeof(msg));
		log_msg(res.problems[i].severity == CONTROL_WARNING ? LOG_WARNING : LOG_ERROR,
			"Control file %s", msg);
	}
	if (res.failed) {
		log_error("Control file %s cannot be used: no tasks this hour",
			  cfg_str(CFG_SCHEDULER_URL));
		set_tasks(s, NULL, 0);
	} else {
		set_tasks(s, res.tasks, res.ntasks);
		log_table(res.tasks, res.ntasks);
	}
	control_result_free(&res);
}

static void on_control(struct fetch_response *res, void *ud)
{
	struct scheduler *s = ud;

	s->loads_pending--;
	if (!res->ok) {
		log_error("Control file %s: %s; no tasks this hour", cfg_str(CFG_SCHEDULER_URL),
			  res->error[0] ? res->error : "fetch failed");
		set_tasks(s, NULL, 0);
	} else {
		control_loaded(s, res->body.data ? res->body.data : "", res->body.len);
	}
	if (s->shutting_down) {
		refresh_done(s);
		return;
	}
	load_catalogues(s);
}

static void fetch_control(struct scheduler *s)
{
	const char *url = cfg_str(CFG_SCHEDULER_URL);
	struct fetch_request req;

	log_info("Fetching tasks from %s", url);
	if (strstr(url, "://") == NULL) {
		/* A plain path: read it directly (a local fleet, or tests). */
		struct buf b;
		int rc = file_read_all(url, CONTROL_MAX_BYTES, &b);

		if (rc != 0) {
			log_error("Control file %s: %s; no tasks this hour", url,
				  rc == -2 ? "larger than the size cap" : strerror(errno));
			set_tasks(s, NULL, 0);
		} else {
			control_loaded(s, b.data, b.len);
			buf_free(&b);
		}
		load_catalogues(s);
		return;
	}
	memset(&req, 0, sizeof(req));
	req.url = url;
	req.cap = FETCH_CAP_XML;
	req.allow_file = cfg_bool(CFG_ALLOW_FILE_URLS);
	s->loads_pending++;
	if (fetch_start(s->fetcher, &req, on_control, s) != 0) {
		s->loads_pending--;
		log_error("Control file %s: cannot start the request; no tasks this hour", url);
		set_tasks(s, NULL, 0);
		load_catalogues(s);
	}
}

static void refresh_after_switch(struct scheduler *s, bool on)
{
	struct killswitch_status st;
	enum hour_phase p = hour_phase(clock_now_ms());

	if (s->shutting_down) {
		refresh_done(s);
		return;
	}
	if (on) {
		killswitch_get_status(s->ks, clock_now_ms(), &st);
		log_warn("Kill-switch %s: no tests until a refresh finds it OFF", st.reason);
		switch_stop(s);
		refresh_done(s);
		return;
	}
	if (s->switch_stopped)
		log_info("Kill-switch is OFF: tests resume with this refresh");
	s->switch_stopped = false;
	if (p == PHASE_REFRESH || p == PHASE_WINDOW)
		runner_resume(s->runner);
	fetch_control(s);
}

/* Leftovers of earlier runs. Only while nothing runs: then no temporary
 * download or seed file can be in use. */
static void purge_leftovers(struct scheduler *s)
{
	struct purge_stats st;
	char logs[PATH_MAX];
	int64_t keep_mb = cfg_int(CFG_CLIENT_LOG_KEEP_MB);

	if (!runner_idle(s->runner))
		return;
	memset(&st, 0, sizeof(st));
	client_log_root(logs, sizeof(logs));
	if (purge_entries(cfg_str(CFG_CLIENT_DOWNLOAD_PATH), JOB_TMP_PREFIX, &st) != 0)
		log_warn("Purge: cannot read %s: %s", cfg_str(CFG_CLIENT_DOWNLOAD_PATH),
			 strerror(errno));
	if (purge_entries(s->seed_dir, PURGE_SEED_PREFIX, &st) != 0)
		log_warn("Purge: cannot read %s: %s", s->seed_dir, strerror(errno));
	if (logs[0] && keep_mb > 0 && purge_logs(logs, (uint64_t)keep_mb * 1024 * 1024, &st) != 0)
		log_warn("Purge: cannot read %s: %s", logs, strerror(errno));
	if (st.files || st.dirs)
		log_info("Purged leftovers of earlier runs: %zu file(s), %zu directory(ies), %.1f MB",
			 st.files, st.dirs, (double)st.bytes / (1024.0 * 1024.0));
	if (st.errors)
		log_warn("Purge: %zu leftover(s) could not be removed", st.errors);
}

void scheduler_refresh(struct scheduler *s, const char *why)
{
	struct killswitch_status st;

	if (s->refreshing || s->shutting_down)
		return;
	log_info("Refreshing tasks (%s): checking the kill-switch, fetching the control file "
		 "and catalogues", why);
	s->refreshing = true;
	uv_timer_stop(&s->refresh_timer);
	purge_leftovers(s);
	/* The answer may come at once (the listener then carries on). */
	s->awaiting_switch = true;
	switch_poll(s);
	killswitch_get_status(s->ks, clock_now_ms(), &st);
	if (st.in_flight || !s->awaiting_switch)
		return;
	s->awaiting_switch = false;
	refresh_after_switch(s, st.on);
}

void scheduler_start(struct scheduler *s)
{
	scheduler_refresh(s, "start-up");
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
		state_started(s, &s->tasks[i], now);
		notify(s);
		return;
	}
	log_warn("Task %03d not run: no such task in the current control file", ref);
}

void scheduler_tick(struct scheduler *s)
{
	/* The kill-switch decides whether to ask: only while tests run or are
	 * due (or while it is ON), paced to the fleet's GitHub budget. */
	if (!s->refreshing)
		switch_poll(s);
}

/* ---- status ---- */

static void fmt_age(int64_t ms, char *out, size_t n)
{
	if (ms < 0)
		snprintf(out, n, "never");
	else if (ms < 120000)
		snprintf(out, n, "%" PRId64 " s ago", ms / 1000);
	else
		snprintf(out, n, "%" PRId64 " min ago", ms / 60000);
}

void scheduler_status(struct scheduler *s, FILE *out)
{
	int64_t now = clock_now_ms();
	struct killswitch_status ks;
	struct metrics_counters mc;
	char t[32], age[32];

	killswitch_get_status(s->ks, now, &ks);
	metrics_get_counters(&mc);
	clock_format_iso(now, t, sizeof(t));
	fprintf(out, "Status at %s (schedule time%s)\n", t, clock_is_virtual() ? ", virtual" : "");
	fmt_age(ks.age_ms, age, sizeof(age));
	fprintf(out, "  Kill-switch : %s%s (last good answer %s; %d/%d requests this hour)\n",
		 ks.on || !s->switch_stopped ? ks.reason : "ON", s->switch_stopped && !ks.on
		 ? " (stopped; the switch is OFF again, tests come back at the next :00 refresh)" : "", age,
		 ks.requests_in_window, ks.max_per_hour);
	if (ks.issue_on_ms > 0) {
		clock_format_iso(ks.issue_on_ms, t, sizeof(t));
		clock_format_iso(ks.issue_off_ms, age, sizeof(age));
		fprintf(out, "  Last ON     : issue #%lld \"%s\" from %s%s%s\n", ks.issue_number,
			ks.issue_title, t, ks.issue_off_ms ? ", OFF again at " : " (still open)",
			ks.issue_off_ms ? age : "");
	}
	clock_format_iso(s->next_refresh, t, sizeof(t));
	fprintf(out, "  Hour        : %s, next refresh %s%s\n", hour_phase_name(hour_phase(now)),
		 s->next_refresh ? t : "(not planned)", s->refreshing ? " (refreshing now)" : "");
	fprintf(out, "  Plan        :%s\n", s->nplan ? "" : " none");
	for (size_t i = 0; i < s->nplan; i++) {
		const struct plan_item *it = &s->plan[i];
		const char *state = it->state == PLAN_MISSED ? "missed (started after its minute)"
				  : it->state == PLAN_TOO_LATE ? "skipped (would start in the cooldown)"
				  : it->started ? "started"
						: "waiting";

		fprintf(out, "    %-3s %-8s %-6s :%02d:%02d  %s\n", it->task.ref_text,
			test_type_title(it->task.type), size_class_name(it->task.size),
			clock_minute_of(it->due), clock_second_of_hour(it->due) % 60, state);
	}
	fprintf(out, "  Running     : %zu task(s), %zu worker(s), %zu client(s)\n",
		 runner_tasks(s->runner), runner_workers(s->runner), runner_clients(s->runner));
	runner_status(s->runner, out);
	fprintf(out, "  Limits      :");
	for (int ty = 0; ty < TEST__COUNT; ty++)
		fprintf(out, " %s %" PRId64 "/%" PRId64 " per hour%s", test_type_name((enum test_type)ty),
			limiter_used(s->limiter, (enum test_type)ty, now),
			limiter_limit(s->limiter, (enum test_type)ty), ty + 1 < TEST__COUNT ? " |" : "");
	fprintf(out, " | clients %d/%d\n", limiter_clients(s->limiter), limiter_max_clients(s->limiter));
	fprintf(out, "  Metrics     : %" PRIu64 " recorded, %" PRIu64 " cached, %" PRIu64
		     " written, %" PRIu64 " summary lines, %" PRIu64 " write errors\n",
		 mc.recorded, mc.cached, mc.lines_written, mc.summary_lines, mc.write_errors);
	fflush(out);
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

/* ---- shutdown ---- */

static void check_shutdown_done(struct scheduler *s)
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
	check_shutdown_done(s);
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
	check_shutdown_done(s);
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

/*
 * refresh.c - the refresh chain and the kill-switch glue.
 *
 * A refresh runs as a chain of callbacks on the loop:
 *   kill-switch answer -> control file -> both catalogues -> plan
 * and ends by arming the plan's timers (plan.c) and the next refresh (:00
 * plus jitter). A control file that cannot be fetched or parsed leaves the
 * hour with no tasks; a catalogue that cannot be refreshed falls back to
 * its cached copy. Between refreshes the kill-switch is told what the hour
 * holds, so it asks GitHub only while tests run or are due.
 */
#include "sched_int.h"
#include "client.h"
#include "clock.h"
#include "config.h"
#include "fetch.h"
#include "job.h"
#include "killswitch.h"
#include "log.h"
#include "purge.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Least schedule time between two kill-switch polls (no busy loop). */
#define KS_POLL_MIN_MS 1000

static void refresh_after_switch(struct scheduler *s, bool on);

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

/* ---- kill-switch pacing ---- */

static void on_ks_timer(uv_timer_t *t);

/* Tell the kill-switch what the hour holds (tests running or a refresh
 * under way, the next start or refresh), let it check if a check is due,
 * and wake it when it next has something to do. */
void refresh_switch_poll(struct scheduler *s)
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
	refresh_switch_poll(t->data);
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
		sched_check_shutdown_done(s);
		return;
	}
	plan_arm_phases(s);
	/* A start-up or manual refresh late in the hour is already in a phase
	 * the timers will not announce again. */
	if (hour_phase(now) != PHASE_WINDOW && hour_phase(now) != PHASE_REFRESH)
		runner_cooldown(s->runner);
	s->next_refresh = hour_next_refresh(now, jitter);
	clock_format_iso(s->next_refresh, when, sizeof(when));
	log_info("Next task refresh at %s", when);
	clock_timer_at(&s->refresh_timer, on_refresh_timer, s->next_refresh);
	refresh_switch_poll(s);
	sched_notify(s);
}

static void switch_stop(struct scheduler *s)
{
	size_t clients = runner_clients(s->runner);

	s->switch_stopped = true;
	plan_drop(s);
	runner_cooldown(s->runner);
	if (clients)
		log_warn("Kill-switch: stopping %zu running client(s)", clients);
	runner_terminate(s->runner, false, REASON_KILL_SWITCH);
}

void refresh_on_switch(bool on, void *ud)
{
	struct scheduler *s = ud;

	if (s->awaiting_switch) {
		s->awaiting_switch = false;
		refresh_after_switch(s, on);
		refresh_switch_poll(s);
		return;
	}
	if (on && !s->switch_stopped && !s->shutting_down) {
		log_warn("Kill-switch turned ON: stopping all tests until a refresh finds it OFF");
		switch_stop(s);
	}
	refresh_switch_poll(s);
	sched_notify(s);
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
			plan_build(s);
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
	/* After start-up every refresh asks the server, with the cached copy's
	 * ETag: an unchanged catalogue costs a 304, a changed one reaches this
	 * agent within the hour. At start-up a copy younger than CACHE_TIME is
	 * used as it is, so a restart loop does not hammer the server. */
	catalog_source_from_config(CATALOG_DOWNLOADS, &src);
	src.revalidate = s->last_refresh != 0;
	if (catalog_load(s->loop, s->fetcher, &src, on_downloads, s) != 0) {
		log_error("Download catalogue: cannot start loading %s", src.url);
		s->loads_pending--;
	}
	catalog_source_from_config(CATALOG_SEEDS, &src);
	src.revalidate = s->last_refresh != 0;
	if (catalog_load(s->loop, s->fetcher, &src, on_seeds, s) != 0) {
		log_error("Seed catalogue: cannot start loading %s", src.url);
		s->loads_pending--;
	}
	if (s->loads_pending == 0) {
		plan_build(s);
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
	if (!source_is_url(url)) {
		/* A plain path: read it directly (a local fleet, or tests). */
		struct buf b;
		char why[256];

		if (source_read_path(url, CONTROL_MAX_BYTES, &b, why, sizeof(why)) != 0) {
			log_error("Control file %s: %s; no tasks this hour", url, why);
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
	job_spares_drop();
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
	refresh_switch_poll(s);
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


/*
 * world.c - the runner's view of the world, filled in by the scheduler:
 * whether a test may start (kill-switch, window, shutdown), random
 * catalogue rows, seeded files made on demand, the resource guards in
 * front of each test, and what happens to each result (status, log,
 * metrics) and each ended task (the hour's record).
 */
#include "sched_int.h"
#include "clock.h"
#include "config.h"
#include "diskguard.h"
#include "killswitch.h"
#include "log.h"
#include "memguard.h"
#include "metrics.h"
#include "seedfile.h"
#include "state.h"
#include "upload.h"
#include "util.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

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
		sched_state_write(s);
	}
	sched_notify(s);
}

/* ---- runner environment ---- */

bool world_may_start(void *ud, int64_t now)
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
	/* The file stays on the disk: a reading taken before it was written
	 * would count its space as free. */
	diskguard_forget();
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

	if (diskguard_check_reserved(s->seed_dir, row->bytes, cfg_float(CFG_MIN_FREE_DISK_GB),
				     clock_now_ms(), reason, sizeof(reason)) != 0) {
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
	int64_t now = clock_now_ms();
	char why[200];
	int rc;

	(void)t;
	/* Whether anything can be written at all; job.c checks again with
	 * the size the test will write. Both guards read the system at most
	 * once a second (diskguard.h, memguard.h), not once per test. */
	if (diskguard_check_at(cfg_str(CFG_CLIENT_DOWNLOAD_PATH), 0, cfg_float(CFG_MIN_FREE_DISK_GB),
			       now, why, sizeof(why)) == 1) {
		*reason = REASON_DISK_GUARD;
		str_copy(detail, why, n);
		return RUNNER_GUARD_SKIP;
	}
	rc = memguard_check_at(MEMGUARD_MEMINFO, cfg_int(CFG_MIN_FREE_MEM_MB), now, why, sizeof(why));
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
	if (r->status == ST_SKIPPED && r->why < REASON__COUNT)
		s->skipped_minute[r->why]++;
	sched_notify(s);
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


void world_env(struct scheduler *s, struct runner_env *env)
{
	env->ud = s;
	env->may_start = world_may_start;
	env->cooldown_at = env_cooldown_at;
	env->pick_download = env_pick_download;
	env->pick_seed = env_pick_seed;
	env->prepare_seed = env_prepare_seed;
	env->seed_dir = s->seed_dir;
	env->unique_seed = env_unique_seed;
	env->spend_reserve = upload_spend_reserve;
	env->spend_release = upload_spend_release;
	env->record = env_record;
	env->guard = env_guard;
	env->task_ended = env_task_ended;
}

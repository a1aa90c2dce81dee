/*
 * runner.h - running tasks: each task becomes min(workers, MAX_WORKERS)
 * workers, state machines on the loop (no threads):
 *
 *   offset wait -> pick data -> limiter (rate, client cap) -> job
 *     -> record -> retry with back-off | yield and repeat | done
 *
 * The runner knows nothing of catalogues, the kill-switch or metrics
 * files: the agent passes those in as callbacks, so tests can drive it with
 * fakes.
 */
#ifndef ANT_RUNNER_H
#define ANT_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "limiter.h"
#include "model.h"

/* Back-off before retry number n (1-based): n * RUNNER_BACKOFF_MS, at most
 * RUNNER_BACKOFF_MAX_MS, schedule time. */
#define RUNNER_BACKOFF_MS (5 * 1000)
#define RUNNER_BACKOFF_MAX_MS (30 * 1000)

/* The back-off before retry number n (1-based; below 1 counts as 1). */
int64_t runner_backoff_ms(int retry);

/* A repeating worker that a retryable guard (memory) held back checks
 * again after this long (schedule time). */
#define RUNNER_GUARD_RETRY_MS (60 * 1000)

/* A start whose time is known (a task's first iteration, a yield, a
 * back-off, a rate-limit wait) is prepared this long before it is due
 * (schedule time): the guards read, the data picked, a seeded file
 * generated, the job made ready (job_prepare), so that at the due time
 * only the admission (kill-switch, window, guards, rate limit, client
 * cap) and the client's spawn are left. */
#define RUNNER_PREP_LEAD_MS 1000

typedef void (*runner_prepared_cb)(void *arg, int ok);

/* What a resource guard says before a test. */
enum runner_guard {
	RUNNER_GUARD_OK,          /* run the test */
	RUNNER_GUARD_SKIP,        /* skip it; the worker ends (the lack will not pass soon) */
	RUNNER_GUARD_SKIP_RETRY,  /* skip it; a repeating worker checks again later */
};

enum { RUNNER_SPEND_OK, RUNNER_SPEND_SKIP, RUNNER_SPEND_WAIT };

struct runner_env {
	uv_loop_t *loop;
	struct limiter *limiter;
	void *ud;
	/* May a test (or a repeat) start now? (kill-switch off, in the window) */
	bool (*may_start)(void *ud, int64_t now);
	/* When the current hour's cooldown begins (nothing starts after). */
	int64_t (*cooldown_at)(void *ud, int64_t now);
	/* Random catalogue rows of a size class; false when there is none. */
	bool (*pick_download)(void *ud, enum size_class s, struct dl_row *out);
	bool (*pick_seed)(void *ud, enum size_class s, struct seed_row *out);
	/* Generate the seeded file at path off the loop; call done(arg, ok). */
	int (*prepare_seed)(void *ud, const struct seed_row *row, const char *path,
			    runner_prepared_cb done, void *arg);
	/* Directory for generated seed files. */
	const char *seed_dir;
	/* Kinds that spend (kind.h): a seed row of the task's size class for
	 * content no other test uses; false when none can be made. */
	bool (*unique_seed)(void *ud, const struct task *t, struct seed_row *out);
	/* Kinds that spend: reserve what the test could cost before it
	 * starts. RUNNER_SPEND_OK with *held set; RUNNER_SPEND_WAIT to ask
	 * again a little later; RUNNER_SPEND_SKIP to skip it (*why and
	 * detail say why: budget, uploads off). Every OK is paired with one
	 * spend_release after the result is recorded or the worker ends. */
	int (*spend_reserve)(void *ud, const struct task *t, int64_t now, uint64_t *held,
			     enum test_reason *why, char *detail, size_t n);
	void (*spend_release)(void *ud, uint64_t held);
	/* Every attempt's result. */
	void (*record)(void *ud, const struct test_result *r);
	/* Optional: resources checked before each test; reason and detail say
	 * why not. */
	enum runner_guard (*guard)(void *ud, const struct task *t, enum test_reason *reason,
				   char *detail, size_t n);
	/* Optional: a task has ended (every worker done), whatever the cause. */
	void (*task_ended)(void *ud, const struct task *t);
	/* Pause between iterations of a repeating worker, per type (ms). */
	int64_t yield_ms[TEST__COUNT];
};

struct runner;

struct runner *runner_new(const struct runner_env *env);
/* Free once idle (runner_idle); closes nothing that is still running. */
void runner_free(struct runner *r);

/* Start a task now (taking over what runner_prepare_task made for it).
 * workers is taken from the task (already capped by the control parser).
 * Returns 0, or -1 when the same TaskRef is still running. */
int runner_start_task(struct runner *r, const struct task *t);
/* Prepare a task's first iteration, due at due (RUNNER_PREP_LEAD_MS
 * ahead): nothing is logged or recorded and the task does not count as
 * running; runner_start_task for the same task takes it over. Returns 0,
 * or -1 when there is nothing to prepare (staggered workers, a kind that
 * spends, the task running already). */
int runner_prepare_task(struct runner *r, const struct task *t, int64_t due);
/* Give up what runner_prepare_task made for this task (it will not start
 * now): prepared jobs discarded, a seeded file removed. */
void runner_unprepare_task(struct runner *r, int ref);
/* Cooldown: no new iteration starts; repeating workers end after the
 * current one; prepared tasks are given up. Until runner_resume,
 * start_task and prepare_task are refused too. */
void runner_cooldown(struct runner *r);
/* Allow starts again (the next hour). */
void runner_resume(struct runner *r);
/* Stop every running client: SIGTERM to its group, or SIGKILL when force.
 * why (cooldown, kill-switch, shutdown) is recorded with each stopped test. */
void runner_terminate(struct runner *r, bool force, enum test_reason why);
/* A client slot may have become free (limits changed): wake waiters. */
void runner_kick(struct runner *r);

/* Counts for status and shutdown. */
size_t runner_tasks(const struct runner *r);
size_t runner_workers(const struct runner *r);
size_t runner_clients(const struct runner *r);
bool runner_idle(const struct runner *r);
/* Is the task with this ref running (not yet ended)? */
bool runner_is_running(const struct runner *r, int ref);
/* Called (once per transition) when the last task has finished. */
void runner_on_idle(struct runner *r, void (*cb)(void *ud), void *ud);
/* One line per running task: ref, type, workers, clients, iterations. */
void runner_status(const struct runner *r, FILE *out);

#endif

/*
 * runner.c - tasks and their workers as state machines on the loop.
 *
 * Lifetime: a task_run lives until every worker is done, its seed file is
 * no longer being generated, and every worker's timer has been closed (the
 * memory is freed in the last close callback). A worker never outlives its
 * task_run. Client slots are handed out first come, first served: a worker
 * that finds every slot busy joins a FIFO and is woken, through its own
 * timer, when a client exits.
 */
#include "runner.h"
#include "clock.h"
#include "job.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum wstate {
	W_START, W_OFFSET, W_WAIT_SEED, W_WAIT_RATE, W_WAIT_CLIENT,
	W_RUNNING, W_BACKOFF, W_YIELD, W_DONE,
	W_PREP,                   /* preparing ahead of a start due at w->due */
};

enum seed_state { SEED_NONE, SEED_PREPARING, SEED_READY, SEED_FAILED };

struct task_run;

struct worker {
	struct task_run *tr;
	int index;                /* 1-based, as in metrics */
	int attempt;              /* 1 = first try of this iteration */
	enum wstate st;
	uv_timer_t timer;
	struct job *job;
	struct dl_row row;        /* this iteration's download row */
	struct worker *next_wait; /* client-slot FIFO */
	bool queued;
	/* Kinds that spend: this test's own content and budget hold. */
	enum seed_state own_state;
	struct seed_row own_seed;
	char own_path[PATH_MAX];
	bool holds;
	uint64_t held;
	/* The next start made ready ahead of its time (job_prepare). */
	struct job *ready;
	enum wstate next_st;      /* W_PREP: the step due at due */
	int64_t due;
};

struct task_run {
	struct runner *r;
	struct task task;
	struct worker *workers;
	int nworkers;
	int active;               /* workers not done */
	int clients;              /* jobs running */
	int open_timers;          /* timers not yet closed */
	bool ended;
	bool warned_no_data;
	int64_t iterations;
	enum seed_state seed_state;
	bool prep_inflight;
	int own_inflight;         /* workers' own files being generated */
	struct seed_row seed;
	char seed_path[PATH_MAX];
	bool pending;             /* prepared, not started (runner_prepare_task) */
	struct task_run *next;
};

struct runner {
	struct runner_env env;
	struct task_run *runs;
	struct task_run *pending; /* prepared tasks, not yet started */
	struct worker *wait_head, *wait_tail;
	bool cooling;
	void (*idle_cb)(void *ud);
	void *idle_ud;
};

static void worker_step(struct worker *w);

struct runner *runner_new(const struct runner_env *env)
{
	struct runner *r = xcalloc(1, sizeof(*r));

	r->env = *env;
	return r;
}

void runner_free(struct runner *r)
{
	free(r);
}

void runner_on_idle(struct runner *r, void (*cb)(void *ud), void *ud)
{
	r->idle_cb = cb;
	r->idle_ud = ud;
}

static void queue_remove(struct runner *r, struct worker *w)
{
	struct worker **pp = &r->wait_head;

	if (!w->queued)
		return;
	r->wait_tail = NULL;
	while (*pp) {
		if (*pp == w) {
			*pp = w->next_wait;
		} else {
			r->wait_tail = *pp;
			pp = &(*pp)->next_wait;
		}
	}
	w->next_wait = NULL;
	w->queued = false;
}

static void queue_push(struct runner *r, struct worker *w)
{
	w->next_wait = NULL;
	w->queued = true;
	if (r->wait_tail)
		r->wait_tail->next_wait = w;
	else
		r->wait_head = w;
	r->wait_tail = w;
}

/* Defer a worker's next step to its own timer, so that steps never run
 * inside another worker's callback. */
static void worker_defer(struct worker *w, enum wstate st, int64_t delay_ms);

static void wake_one(struct runner *r)
{
	struct worker *w = r->wait_head;

	if (w == NULL)
		return;
	queue_remove(r, w);
	worker_defer(w, W_START, 0);
}

static void run_closed(uv_handle_t *h)
{
	struct worker *w = container_of((uv_timer_t *)h, struct worker, timer);
	struct task_run *tr = w->tr;
	struct runner *r = tr->r;
	struct task_run **pp;

	if (--tr->open_timers > 0)
		return;
	for (pp = tr->pending ? &r->pending : &r->runs; *pp; pp = &(*pp)->next) {
		if (*pp == tr) {
			*pp = tr->next;
			break;
		}
	}
	free(tr->workers);
	free(tr);
	if (runner_idle(r) && r->idle_cb)
		r->idle_cb(r->idle_ud);
}

static void run_maybe_free(struct task_run *tr)
{
	if (tr->ended || tr->active > 0 || tr->prep_inflight || tr->own_inflight > 0)
		return;
	tr->ended = true;
	if (tr->seed_state == SEED_READY || tr->seed_state == SEED_FAILED)
		unlink(tr->seed_path);
	/* A prepared task that never started says nothing. */
	if (!tr->pending) {
		log_info("Task %s (%s) finished: %" PRId64 " test(s) run", tr->task.ref_text,
			 test_type_title(tr->task.type), tr->iterations);
		if (tr->r->env.task_ended)
			tr->r->env.task_ended(tr->r->env.ud, &tr->task);
	}
	for (int i = 0; i < tr->nworkers; i++)
		uv_close((uv_handle_t *)&tr->workers[i].timer, run_closed);
}

static void own_release(struct worker *w)
{
	struct runner *r = w->tr->r;

	if (w->holds && r->env.spend_release)
		r->env.spend_release(r->env.ud, w->held);
	w->holds = false;
	w->held = 0;
}

/* Remove the worker's own content (not while it is being generated: its
 * callback removes it). */
static void own_drop(struct worker *w)
{
	if (w->own_state == SEED_READY || w->own_state == SEED_FAILED) {
		unlink(w->own_path);
		w->own_state = SEED_NONE;
	}
}

static void drop_ready(struct job *j)
{
	if (j != NULL)
		job_discard(j);
}

static void worker_finish(struct worker *w)
{
	if (w->st == W_DONE)
		return;
	drop_ready(w->ready);
	w->ready = NULL;
	own_release(w);
	own_drop(w);
	queue_remove(w->tr->r, w);
	uv_timer_stop(&w->timer);
	w->st = W_DONE;
	w->tr->active--;
	run_maybe_free(w->tr);
}

static void worker_prepare(struct worker *w);

static void on_worker_timer(uv_timer_t *t)
{
	struct worker *w = container_of(t, struct worker, timer);
	int64_t now;

	if (w->st != W_PREP) {
		worker_step(w);
		return;
	}
	worker_prepare(w);
	now = clock_now_ms();
	w->st = w->next_st;
	clock_timer_start(&w->timer, on_worker_timer, w->due > now ? w->due - now : 0);
}

/* Can this worker's next start be made ready ahead? Kinds that spend
 * reserve budget and content at the start itself, so not theirs. */
static bool worker_preparable(const struct worker *w)
{
	const struct test_kind *k = kind_get(w->tr->task.type);

	return w->ready == NULL && k != NULL && k->prepare != NULL && !k->spends;
}

static void worker_defer(struct worker *w, enum wstate st, int64_t delay_ms)
{
	if (delay_ms > 0 && worker_preparable(w)) {
		/* Wake RUNNER_PREP_LEAD_MS ahead (or at once) to prepare. */
		w->next_st = st;
		w->due = clock_now_ms() + delay_ms;
		w->st = W_PREP;
		clock_timer_start(&w->timer, on_worker_timer,
				  delay_ms > RUNNER_PREP_LEAD_MS ? delay_ms - RUNNER_PREP_LEAD_MS : 0);
		return;
	}
	w->st = st;
	clock_timer_start(&w->timer, on_worker_timer, delay_ms);
}

int64_t runner_backoff_ms(int retry)
{
	if (retry < 1)
		return RUNNER_BACKOFF_MS;
	/* Compare before multiplying: no product can overflow. */
	if (retry >= RUNNER_BACKOFF_MAX_MS / RUNNER_BACKOFF_MS)
		return RUNNER_BACKOFF_MAX_MS;
	return (int64_t)retry * RUNNER_BACKOFF_MS;
}

static void on_job_done(const struct test_result *res, void *ud)
{
	struct worker *w = ud;
	struct task_run *tr = w->tr;
	struct runner *r = tr->r;
	const struct task *t = &tr->task;

	w->job = NULL;
	tr->clients--;
	tr->iterations++;
	limiter_release(r->env.limiter);
	r->env.record(r->env.ud, res);
	/* Recorded (and paid, in the ledger): the hold goes. */
	own_release(w);
	wake_one(r);
	if (res->status == ST_SKIPPED || res->status == ST_STOPPED) {
		/* A guard said no (disk, uploads off): repeating would only
		 * repeat the skip. Stopped: the agent is ending this work. The
		 * record callback has logged it. */
		log_debug("Task %s worker %d: test %s: %s", t->ref_text, w->index,
			  test_status_name(res->status), res->reason);
		worker_finish(w);
		return;
	}
	if (res->status != ST_OK && w->attempt <= t->retry && !r->cooling) {
		int64_t backoff = runner_backoff_ms(w->attempt);

		/* A retry sends the same content again. */
		w->attempt++;
		worker_defer(w, W_BACKOFF, backoff);
		return;
	}
	w->attempt = 1;
	own_drop(w);
	if (t->repeat && !r->cooling) {
		worker_defer(w, W_YIELD, r->env.yield_ms[t->type]);
		return;
	}
	worker_finish(w);
}

static void on_seed_ready(void *arg, int ok)
{
	struct task_run *tr = arg;

	tr->prep_inflight = false;
	tr->seed_state = ok ? SEED_READY : SEED_FAILED;
	if (!ok)
		log_error("Task %s: could not generate the seeded file (seed %" PRIu64 ", %" PRIu64
			  " bytes)", tr->task.ref_text, tr->seed.seed, tr->seed.bytes);
	for (int i = 0; i < tr->nworkers; i++)
		if (tr->workers[i].st == W_WAIT_SEED)
			worker_defer(&tr->workers[i], W_START, 0);
	run_maybe_free(tr);
}

static void record_skip(struct worker *w, int64_t now, enum test_reason why, const char *detail)
{
	const struct task *t = &w->tr->task;
	struct test_result res;

	memset(&res, 0, sizeof(res));
	test_result_set_why(&res, why, "%s", detail);
	res.type = t->type;
	res.size = t->size;
	res.task_ref = t->ref;
	res.worker = w->index;
	res.attempt = w->attempt;
	res.status = ST_SKIPPED;
	res.start_ms = now;
	res.exit_code = -1;
	w->tr->r->env.record(w->tr->r->env.ud, &res);
}

static void on_own_ready(void *arg, int ok)
{
	struct worker *w = arg;
	struct task_run *tr = w->tr;

	tr->own_inflight--;
	w->own_state = ok ? SEED_READY : SEED_FAILED;
	if (!ok)
		log_error("Task %s worker %d: could not generate its upload content (%" PRIu64
			  " bytes)", tr->task.ref_text, w->index, w->own_seed.bytes);
	if (w->st == W_DONE)
		own_drop(w);
	else if (w->st == W_WAIT_SEED)
		worker_defer(w, W_START, 0);
	run_maybe_free(tr);
}

/* Data for a kind that spends: a budget hold, then content of its own.
 * Same returns as worker_data; -2 when a skip has been recorded. */
static int worker_own_data(struct worker *w, int64_t now)
{
	struct task_run *tr = w->tr;
	struct runner *r = tr->r;
	const struct task *t = &tr->task;
	char detail[160] = "";
	enum test_reason why = REASON_BUDGET;

	if (w->own_state == SEED_PREPARING) {
		w->st = W_WAIT_SEED;
		return 0;
	}
	if (w->own_state == SEED_FAILED)
		return -1;
	if (!w->holds && r->env.spend_reserve) {
		switch (r->env.spend_reserve(r->env.ud, t, now, &w->held, &why, detail,
					     sizeof(detail))) {
		case RUNNER_SPEND_OK:
			w->holds = true;
			break;
		case RUNNER_SPEND_WAIT:
			worker_defer(w, W_YIELD, RUNNER_BACKOFF_MS);
			return 0;
		default:
			record_skip(w, now, why, detail);
			return -2;
		}
	}
	if (w->own_state == SEED_READY)
		return 1;
	if (r->env.unique_seed == NULL || !r->env.unique_seed(r->env.ud, t, &w->own_seed)) {
		if (!tr->warned_no_data) {
			log_warn("Task %s: no %s content can be made for an upload", t->ref_text,
				 size_class_name(t->size));
			tr->warned_no_data = true;
		}
		return -1;
	}
	snprintf(w->own_path, sizeof(w->own_path), "%s/task-%s-u%d-%016" PRIx64 ".bin",
		 r->env.seed_dir, t->ref_text, w->index, w->own_seed.seed);
	w->own_state = SEED_PREPARING;
	w->st = W_WAIT_SEED;
	tr->own_inflight++;
	if (r->env.prepare_seed(r->env.ud, &w->own_seed, w->own_path, on_own_ready, w) != 0) {
		tr->own_inflight--;
		w->own_state = SEED_NONE;
		return -1;
	}
	return 0;
}

/* Make sure the data for one iteration is at hand. Returns 1 ready, 0 the
 * worker waits (it will be stepped again), -1 the worker cannot run, -2
 * it has been skipped (recorded). */
static int worker_data(struct worker *w, int64_t now)
{
	struct task_run *tr = w->tr;
	struct runner *r = tr->r;
	const struct task *t = &tr->task;

	if (kind_get(t->type)->spends)
		return worker_own_data(w, now);

	if (kind_get(t->type)->input == KIND_INPUT_CATALOGUE_ROW) {
		if (r->env.pick_download(r->env.ud, t->size, &w->row))
			return 1;
		if (!tr->warned_no_data) {
			log_warn("Task %s: the download catalogue has no usable %s file",
				 t->ref_text, size_class_name(t->size));
			tr->warned_no_data = true;
		}
		return -1;
	}
	switch (tr->seed_state) {
	case SEED_READY:
		return 1;
	case SEED_FAILED:
		return -1;
	case SEED_PREPARING:
		w->st = W_WAIT_SEED;
		return 0;
	case SEED_NONE:
		break;
	}
	if (!r->env.pick_seed(r->env.ud, t->size, &tr->seed)) {
		if (!tr->warned_no_data) {
			log_warn("Task %s: the seed catalogue has no usable %s row", t->ref_text,
				 size_class_name(t->size));
			tr->warned_no_data = true;
		}
		tr->seed_state = SEED_FAILED;
		return -1;
	}
	snprintf(tr->seed_path, sizeof(tr->seed_path), "%s/task-%s-%" PRIu64 ".bin",
		 r->env.seed_dir, tr->task.ref_text, tr->seed.seed);
	tr->seed_state = SEED_PREPARING;
	tr->prep_inflight = true;
	w->st = W_WAIT_SEED;
	if (r->env.prepare_seed(r->env.ud, &tr->seed, tr->seed_path, on_seed_ready, tr) != 0) {
		tr->prep_inflight = false;
		tr->seed_state = SEED_FAILED;
		return -1;
	}
	return 0;
}

/* Ask the resource guard before a test. Returns true when the worker may
 * go on; otherwise the skip is recorded and the worker ends or waits. */
static bool worker_guard(struct worker *w, int64_t now)
{
	struct task_run *tr = w->tr;
	struct runner *r = tr->r;
	const struct task *t = &tr->task;
	enum test_reason why = REASON_NONE;
	char detail[sizeof(((struct test_result *)0)->reason)] = "";
	enum runner_guard g;

	if (r->env.guard == NULL)
		return true;
	g = r->env.guard(r->env.ud, t, &why, detail, sizeof(detail));
	if (g == RUNNER_GUARD_OK)
		return true;
	record_skip(w, now, why, detail);
	/* Memory comes back when other programs let go of it, so a repeating
	 * worker looks again later; a one-shot test is simply skipped. */
	if (g == RUNNER_GUARD_SKIP_RETRY && t->repeat && !r->cooling &&
	    now + RUNNER_GUARD_RETRY_MS < r->env.cooldown_at(r->env.ud, now))
		worker_defer(w, W_YIELD, RUNNER_GUARD_RETRY_MS);
	else
		worker_finish(w);
	return false;
}

/* Say what the rate limit does now: when the oldest start of the last
 * 3600 s leaves the window another test may start; if that is past the
 * cooldown, no more of these tests start this hour. */
static void log_rate_limit(struct runner *r, enum test_type type, int64_t now, int64_t retry_at)
{
	char at[32];

	clock_format_iso(retry_at, at, sizeof(at));
	if (retry_at >= r->env.cooldown_at(r->env.ud, now))
		log_info("Rate limit reached for %s tests (%" PRId64 " per hour): no more start "
			 "before the cooldown, so this hour's %s workers stop here",
			 test_type_name(type), limiter_limit(r->env.limiter, type),
			 test_type_name(type));
	else
		log_info("Rate limit reached for %s tests (%" PRId64 " per hour): %s workers pause; "
			 "the next may start at %.8s, when the oldest start leaves the 3600 s window",
			 test_type_name(type), limiter_limit(r->env.limiter, type),
			 test_type_name(type), at + 11);
}

static void worker_spec(struct worker *w, struct job_spec *spec)
{
	struct task_run *tr = w->tr;
	const struct task *t = &tr->task;

	memset(spec, 0, sizeof(*spec));
	spec->task = t;
	spec->worker = w->index;
	spec->attempt = w->attempt;
	if (kind_get(t->type)->input == KIND_INPUT_CATALOGUE_ROW) {
		spec->download = &w->row;
	} else if (kind_get(t->type)->spends) {
		spec->seed = &w->own_seed;
		spec->seed_file = w->own_path;
	} else {
		spec->seed = &tr->seed;
		spec->seed_file = tr->seed_path;
	}
}

/* Make the start due at w->due ready: read the guards, pick the data (or
 * begin generating the seeded file), and prepare the job. Nothing is
 * recorded: whatever says no here is asked again at the due time, which
 * records it then. The worker keeps waiting for its time. */
static void worker_prepare(struct worker *w)
{
	struct task_run *tr = w->tr;
	struct runner *r = tr->r;
	const struct task *t = &tr->task;
	enum test_reason why = REASON_NONE;
	char detail[sizeof(((struct test_result *)0)->reason)];
	enum wstate st = w->st;
	struct job_spec spec;
	int d;

	if (!worker_preparable(w) || r->cooling || !r->env.may_start(r->env.ud, w->due))
		return;
	if (r->env.guard != NULL &&
	    r->env.guard(r->env.ud, t, &why, detail, sizeof(detail)) != RUNNER_GUARD_OK)
		return;
	d = worker_data(w, clock_now_ms());
	/* Waiting for its time, not for the seeded file. */
	w->st = st;
	if (d != 1)
		return;
	worker_spec(w, &spec);
	w->ready = job_prepare(r->env.loop, &spec);
}

static void worker_step(struct worker *w)
{
	struct task_run *tr = w->tr;
	struct runner *r = tr->r;
	const struct task *t = &tr->task;
	int64_t now = clock_now_ms();
	int64_t retry_at = 0;
	struct job_spec spec;
	/* Made ready ahead: used only if every check below lets it start. */
	struct job *ready = w->ready;
	int d;

	w->ready = NULL;
	/* The cooldown's own timer may run after a worker's on a loaded
	 * machine: its time is checked here too, so nothing starts past it. */
	if (r->cooling || now >= r->env.cooldown_at(r->env.ud, now) ||
	    !r->env.may_start(r->env.ud, now)) {
		drop_ready(ready);
		worker_finish(w);
		return;
	}
	/* Guards come first: before a seed file is generated or a rate-limit
	 * slot is spent. A worker that waited is asked again: things change. */
	if (!worker_guard(w, now)) {
		drop_ready(ready);
		return;
	}
	if (ready == NULL) {
		d = worker_data(w, now);
		if (d < 0) {
			worker_finish(w);
			return;
		}
		if (d == 0)
			return;
	}
	switch (limiter_take(r->env.limiter, t->type, now, &retry_at)) {
	case LIMITER_RATE:
		drop_ready(ready);
		if (limiter_should_log(r->env.limiter, t->type, now))
			log_rate_limit(r, t->type, now, retry_at);
		if (retry_at >= r->env.cooldown_at(r->env.ud, now)) {
			worker_finish(w);
			return;
		}
		worker_defer(w, W_WAIT_RATE, retry_at - now);
		return;
	case LIMITER_CLIENTS:
		drop_ready(ready);
		w->st = W_WAIT_CLIENT;
		queue_push(r, w);
		return;
	case LIMITER_OK:
		break;
	}
	w->st = W_RUNNING;
	tr->clients++;
	if (ready != NULL) {
		w->job = job_launch(ready, on_job_done, w);
	} else {
		worker_spec(w, &spec);
		w->job = job_start(r->env.loop, &spec, on_job_done, w);
	}
	if (w->job == NULL) {
		tr->clients--;
		limiter_release(r->env.limiter);
		wake_one(r);
		worker_finish(w);
	}
}

static struct task_run *find_run(struct runner *r, int ref)
{
	for (struct task_run *tr = r->runs; tr; tr = tr->next)
		if (tr->task.ref == ref)
			return tr;
	return NULL;
}

static struct task_run *find_pending(struct runner *r, int ref)
{
	for (struct task_run *tr = r->pending; tr; tr = tr->next)
		if (tr->task.ref == ref && !tr->ended && tr->active > 0)
			return tr;
	return NULL;
}

/* A task_run with its workers' timers, on the running or the pending list. */
static struct task_run *run_new(struct runner *r, const struct task *t, bool pending)
{
	struct task_run *tr = xcalloc(1, sizeof(*tr));
	int n = t->workers > 0 ? t->workers : 1;

	tr->r = r;
	tr->task = *t;
	tr->nworkers = n;
	tr->workers = xcalloc((size_t)n, sizeof(*tr->workers));
	tr->active = n;
	tr->open_timers = n;
	tr->pending = pending;
	if (pending) {
		tr->next = r->pending;
		r->pending = tr;
	} else {
		tr->next = r->runs;
		r->runs = tr;
	}
	for (int i = 0; i < n; i++) {
		struct worker *w = &tr->workers[i];

		w->tr = tr;
		w->index = i + 1;
		w->attempt = 1;
		uv_timer_init(r->env.loop, &w->timer);
	}
	return tr;
}

/* Give up a prepared task: its workers end (prepared jobs discarded), and
 * it is freed once a seeded file being generated for it is done. */
static void pending_drop(struct task_run *tr)
{
	for (int i = 0; i < tr->nworkers; i++)
		worker_finish(&tr->workers[i]);
}

/* Take a prepared task off the pending list, onto the running one. */
static struct task_run *pending_take(struct runner *r, const struct task *t)
{
	struct task_run *tr = find_pending(r, t->ref), **pp;

	if (tr == NULL)
		return NULL;
	/* Prepared for another version of the task (a new control file). */
	if (tr->task.type != t->type || tr->task.size != t->size || tr->task.workers != t->workers ||
	    tr->task.offset_mins != t->offset_mins) {
		pending_drop(tr);
		return NULL;
	}
	for (pp = &r->pending; *pp; pp = &(*pp)->next) {
		if (*pp == tr) {
			*pp = tr->next;
			break;
		}
	}
	tr->pending = false;
	tr->task = *t;
	tr->next = r->runs;
	r->runs = tr;
	return tr;
}

int runner_prepare_task(struct runner *r, const struct task *t, int64_t due)
{
	const struct test_kind *k = kind_get(t->type);
	struct task_run *tr;

	if (r->cooling || k == NULL || k->prepare == NULL || k->spends || t->offset_mins > 0 ||
	    find_run(r, t->ref) != NULL || find_pending(r, t->ref) != NULL)
		return -1;
	tr = run_new(r, t, true);
	for (int i = 0; i < tr->nworkers; i++) {
		struct worker *w = &tr->workers[i];

		w->due = due;
		worker_prepare(w);
	}
	return 0;
}

void runner_unprepare_task(struct runner *r, int ref)
{
	struct task_run *tr = find_pending(r, ref);

	if (tr != NULL)
		pending_drop(tr);
}

int runner_start_task(struct runner *r, const struct task *t)
{
	struct task_run *tr;

	if (r->cooling || find_run(r, t->ref) != NULL)
		return -1;
	tr = pending_take(r, t);
	if (tr == NULL)
		tr = run_new(r, t, false);
	log_info("Starting task %s: %s %s, %d worker(s)%s%s", t->ref_text,
		 test_type_title(t->type), size_class_name(t->size), tr->nworkers,
		 t->repeat ? ", repeating" : "", t->offset_mins ? ", staggered" : "");
	for (int i = 0; i < tr->nworkers; i++) {
		struct worker *w = &tr->workers[i];
		int64_t delay = 0;

		if (t->offset_mins > 0)
			delay = (int64_t)rng_below((uint64_t)t->offset_mins * 60 * 1000 + 1);
		worker_defer(w, delay ? W_OFFSET : W_START, delay);
	}
	return 0;
}

void runner_cooldown(struct runner *r)
{
	r->cooling = true;
	for (struct task_run *tr = r->pending; tr; tr = tr->next)
		pending_drop(tr);
	for (struct task_run *tr = r->runs; tr; tr = tr->next)
		for (int i = 0; i < tr->nworkers; i++)
			if (tr->workers[i].st != W_RUNNING)
				worker_finish(&tr->workers[i]);
}

void runner_resume(struct runner *r)
{
	r->cooling = false;
}

void runner_terminate(struct runner *r, bool force, enum test_reason why)
{
	for (struct task_run *tr = r->runs; tr; tr = tr->next)
		for (int i = 0; i < tr->nworkers; i++)
			if (tr->workers[i].st == W_RUNNING && tr->workers[i].job)
				job_terminate(tr->workers[i].job, force, why);
}

void runner_kick(struct runner *r)
{
	int n = limiter_max_clients(r->env.limiter) - limiter_clients(r->env.limiter);

	while (n-- > 0 && r->wait_head)
		wake_one(r);
}

size_t runner_tasks(const struct runner *r)
{
	size_t n = 0;

	for (const struct task_run *tr = r->runs; tr; tr = tr->next)
		n += !tr->ended;
	return n;
}

size_t runner_workers(const struct runner *r)
{
	size_t n = 0;

	for (const struct task_run *tr = r->runs; tr; tr = tr->next)
		n += (size_t)tr->active;
	return n;
}

size_t runner_clients(const struct runner *r)
{
	size_t n = 0;

	for (const struct task_run *tr = r->runs; tr; tr = tr->next)
		n += (size_t)tr->clients;
	return n;
}

bool runner_idle(const struct runner *r)
{
	/* A prepared task holds a temporary directory or a seeded file. */
	return r->runs == NULL && r->pending == NULL;
}

bool runner_is_running(const struct runner *r, int ref)
{
	for (const struct task_run *tr = r->runs; tr; tr = tr->next)
		if (tr->task.ref == ref && !tr->ended)
			return true;
	return false;
}

void runner_status(const struct runner *r, FILE *out)
{
	if (r->runs == NULL) {
		fprintf(out, "  no task running\n");
		return;
	}
	for (const struct task_run *tr = r->runs; tr; tr = tr->next) {
		if (tr->ended)
			continue;
		fprintf(out, "  task %-3s %-8s %-6s workers %d/%d  clients %d  tests %" PRId64 "%s\n",
			tr->task.ref_text, test_type_title(tr->task.type),
			size_class_name(tr->task.size), tr->active, tr->nworkers, tr->clients,
			tr->iterations, tr->task.repeat ? "  (repeating)" : "");
	}
}

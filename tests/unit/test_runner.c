/*
 * The runner's worker state machines, with the client replaced by a fake
 * job (this file defines job_start/job_terminate, so the real job module is
 * not linked in). Time is the virtual clock at a high speed; every
 * assertion is about counts and order, never about how fast the machine is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "hour.h"
#include "job.h"
#include "log.h"
#include "runner.h"
#include "util.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- fake job ---- */

struct job {
	uv_timer_t timer;
	struct test_result res;
	job_done_cb cb;
	void *ud;
	bool done;
	/* A prepared job: what job_launch needs. */
	uv_loop_t *loop;
	struct task task;
	struct job_spec spec;
	struct seed_row seed;
	char seed_file[256];
};

static struct {
	int started;
	int running;
	int max_running;
	int fail_first;          /* this many attempts fail, then succeed */
	enum test_status fail_status;
	enum test_status force_status; /* ST__COUNT: none */
	int64_t duration_ms;     /* virtual */
	int terminated;
	char seen_seed_file[256];
	char files[64][256];     /* every spending test's content file */
	uint64_t seeds[64];
	int nfiles;
	int prepared;            /* job_prepare calls that made a job */
	int launched;            /* prepared jobs launched */
	int discarded;           /* prepared jobs given up */
	int64_t prepared_at[64]; /* when each was prepared (schedule ms) */
	bool refuse_prepare;     /* job_prepare says no */
} fake;

static void fake_finish(struct job *j)
{
	if (j->done)
		return;
	j->done = true;
	fake.running--;
	uv_timer_stop(&j->timer);
	j->cb(&j->res, j->ud);
	uv_close((uv_handle_t *)&j->timer, (uv_close_cb)free);
}

static void fake_timer(uv_timer_t *t)
{
	fake_finish((struct job *)t);
}

static struct job *fake_begin(struct job *j, uv_loop_t *loop, const struct job_spec *spec,
			      job_done_cb cb, void *ud)
{
	j->cb = cb;
	j->ud = ud;
	j->res.type = spec->task->type;
	j->res.size = spec->task->size;
	j->res.task_ref = spec->task->ref;
	j->res.worker = spec->worker;
	j->res.attempt = spec->attempt;
	j->res.start_ms = clock_now_ms();
	if (spec->seed_file)
		str_copy(fake.seen_seed_file, spec->seed_file, sizeof(fake.seen_seed_file));
	if (spec->seed_file && kind_get(spec->task->type)->spends && fake.nfiles < 64) {
		/* The content exists while its test runs. */
		assert_int_equal(access(spec->seed_file, F_OK), 0);
		str_copy(fake.files[fake.nfiles], spec->seed_file, sizeof(fake.files[0]));
		fake.seeds[fake.nfiles++] = spec->seed->seed;
	}
	if (fake.force_status != ST__COUNT)
		j->res.status = fake.force_status;
	else
		j->res.status = fake.started < fake.fail_first ? fake.fail_status : ST_OK;
	fake.started++;
	fake.running++;
	if (fake.running > fake.max_running)
		fake.max_running = fake.running;
	uv_timer_init(loop, &j->timer);
	clock_timer_start(&j->timer, fake_timer, fake.duration_ms);
	return j;
}

struct job *job_start(uv_loop_t *loop, const struct job_spec *spec, job_done_cb cb, void *ud)
{
	return fake_begin(calloc(1, sizeof(struct job)), loop, spec, cb, ud);
}

struct job *job_prepare(uv_loop_t *loop, const struct job_spec *spec)
{
	struct job *j;

	if (fake.refuse_prepare)
		return NULL;
	j = calloc(1, sizeof(*j));
	j->loop = loop;
	j->task = *spec->task;
	j->spec = *spec;
	j->spec.task = &j->task;
	if (spec->seed) {
		j->seed = *spec->seed;
		j->spec.seed = &j->seed;
	}
	if (spec->seed_file) {
		str_copy(j->seed_file, spec->seed_file, sizeof(j->seed_file));
		j->spec.seed_file = j->seed_file;
	}
	if (fake.prepared < 64)
		fake.prepared_at[fake.prepared] = clock_now_ms();
	fake.prepared++;
	return j;
}

struct job *job_launch(struct job *j, job_done_cb cb, void *ud)
{
	fake.launched++;
	return fake_begin(j, j->loop, &j->spec, cb, ud);
}

void job_discard(struct job *j)
{
	fake.discarded++;
	free(j);
}

void job_terminate(struct job *j, bool force, enum test_reason why)
{
	(void)force;
	fake.terminated++;
	j->res.status = why == REASON_NONE ? ST_KILLED : ST_STOPPED;
	j->res.why = why;
	fake_finish(j);
}

/* The kind table names the real start functions; this fake job_start
 * never calls them. */
void job_start_download(struct job *j)
{
	(void)j;
	fail();
}

void job_start_quote(struct job *j)
{
	(void)j;
	fail();
}

void job_start_upload(struct job *j)
{
	(void)j;
	fail();
}

int job_prepare_download(struct job *j)
{
	(void)j;
	fail();
	return -1;
}

void job_launch_download(struct job *j)
{
	(void)j;
	fail();
}

int job_prepare_quote(struct job *j)
{
	(void)j;
	fail();
	return -1;
}

void job_launch_quote(struct job *j)
{
	(void)j;
	fail();
}

/* ---- environment ---- */

#define MAX_RESULTS 4096

static struct {
	uv_loop_t loop;
	struct limiter *lim;
	struct runner *r;
	struct test_result results[MAX_RESULTS];
	int nresults;
	int prepared;
	bool switch_on;
	int64_t cooldown;
	int idle_calls;
	char seed_dir[64];
	uint64_t next_seed;
	int budget_left;         /* spending tests the fake budget allows */
	int held, released;
} env;

static bool may_start(void *ud, int64_t now)
{
	(void)ud;
	(void)now;
	return !env.switch_on;
}

static int64_t cooldown_at(void *ud, int64_t now)
{
	(void)ud;
	(void)now;
	return env.cooldown;
}

static bool pick_download(void *ud, enum size_class s, struct dl_row *out)
{
	(void)ud;
	memset(out, 0, sizeof(*out));
	out->size = s;
	str_copy(out->name, "file.bin", sizeof(out->name));
	str_copy(out->address, "abcdef0123456789", sizeof(out->address));
	return s != SIZE_TERA; /* no tera files in this catalogue */
}

static bool pick_seed(void *ud, enum size_class s, struct seed_row *out)
{
	(void)ud;
	memset(out, 0, sizeof(*out));
	out->size = s;
	out->seed = 42;
	out->bytes = 1000;
	return true;
}

static bool unique_seed(void *ud, const struct task *t, struct seed_row *out)
{
	(void)ud;
	memset(out, 0, sizeof(*out));
	out->size = t->size;
	out->seed = ++env.next_seed;
	out->bytes = 1000;
	return true;
}

static int spend_reserve(void *ud, const struct task *t, int64_t now, uint64_t *held,
			 enum test_reason *why, char *detail, size_t n)
{
	(void)ud;
	(void)t;
	(void)now;
	if (env.budget_left <= 0) {
		*why = REASON_BUDGET;
		snprintf(detail, n, "fake budget spent");
		return RUNNER_SPEND_SKIP;
	}
	env.budget_left--;
	env.held++;
	*held = 7;
	return RUNNER_SPEND_OK;
}

static void spend_release(void *ud, uint64_t held)
{
	(void)ud;
	assert_int_equal(held, 7);
	env.released++;
}

struct prep {
	uv_timer_t t;
	runner_prepared_cb done;
	void *arg;
};

static void prep_fire(uv_timer_t *t)
{
	struct prep *p = (struct prep *)t;

	p->done(p->arg, 1);
	uv_close((uv_handle_t *)t, (uv_close_cb)free);
}

static int prepare_seed(void *ud, const struct seed_row *row, const char *path,
			runner_prepared_cb done, void *arg)
{
	struct prep *p = calloc(1, sizeof(*p));
	FILE *f = fopen(path, "w");

	(void)ud;
	(void)row;
	assert_non_null(f);
	fputs("seeded", f);
	fclose(f);
	env.prepared++;
	p->done = done;
	p->arg = arg;
	uv_timer_init(&env.loop, &p->t);
	clock_timer_start(&p->t, prep_fire, 2000);
	return 0;
}

static void record(void *ud, const struct test_result *r)
{
	(void)ud;
	assert_true(env.nresults < MAX_RESULTS);
	env.results[env.nresults++] = *r;
}

static void on_idle(void *ud)
{
	(void)ud;
	env.idle_calls++;
	uv_stop(&env.loop);
}

static int setup(void **state)
{
	const int64_t limits[TEST__COUNT] = { 360, 240, 120 };
	struct runner_env e;

	(void)state;
	memset(&fake, 0, sizeof(fake));
	fake.force_status = ST__COUNT;
	fake.fail_status = ST_NETWORK_ERROR;
	memset(&env, 0, sizeof(env));
	log_set_console(0);
	/* 1000x: a virtual second is a real millisecond. */
	clock_setup(1767261900000LL /* 2026-01-01T10:05:00Z */, 1000.0);
	env.cooldown = hour_cooldown_at(clock_now_ms());
	uv_loop_init(&env.loop);
	env.lim = limiter_new(limits, LIMITER_WINDOW_MS, 10);
	strcpy(env.seed_dir, "/tmp/ant-runner-XXXXXX");
	assert_non_null(mkdtemp(env.seed_dir));
	memset(&e, 0, sizeof(e));
	e.loop = &env.loop;
	e.limiter = env.lim;
	e.may_start = may_start;
	e.cooldown_at = cooldown_at;
	e.pick_download = pick_download;
	e.pick_seed = pick_seed;
	e.prepare_seed = prepare_seed;
	e.unique_seed = unique_seed;
	e.spend_reserve = spend_reserve;
	e.spend_release = spend_release;
	env.budget_left = 1000;
	e.seed_dir = env.seed_dir;
	e.record = record;
	e.yield_ms[TEST_DOWNLOAD] = 10000;
	e.yield_ms[TEST_QUOTE] = 10000;
	e.yield_ms[TEST_UPLOAD] = 10000;
	env.r = runner_new(&e);
	runner_on_idle(env.r, on_idle, NULL);
	fake.duration_ms = 1000;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	runner_free(env.r);
	limiter_free(env.lim);
	uv_run(&env.loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&env.loop), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", env.seed_dir);
	assert_int_equal(system(cmd), 0);
	clock_setup(-1, 1.0);
	return 0;
}

static struct task mk_task(int ref, enum test_type type, int workers, bool repeat, int retry)
{
	struct task t;

	memset(&t, 0, sizeof(t));
	t.ref = ref;
	snprintf(t.ref_text, sizeof(t.ref_text), "%03d", ref);
	t.period = 5;
	t.type = type;
	t.size = SIZE_SMALL;
	t.workers = workers;
	t.workers_asked = workers;
	t.repeat = repeat;
	t.retry = retry;
	t.timeout_secs = 60;
	return t;
}

static void run_loop(void)
{
	uv_run(&env.loop, UV_RUN_DEFAULT);
}

static void test_workers_run_once(void **state)
{
	struct task t = mk_task(1, TEST_DOWNLOAD, 3, false, 0);
	int seen[4] = { 0 };

	(void)state;
	assert_int_equal(runner_start_task(env.r, &t), 0);
	assert_int_equal(runner_start_task(env.r, &t), -1); /* same ref twice */
	run_loop();
	assert_int_equal(env.nresults, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(env.results[i].task_ref, 1);
		assert_int_equal(env.results[i].attempt, 1);
		seen[env.results[i].worker]++;
	}
	assert_int_equal(seen[1] + seen[2] + seen[3], 3);
	assert_int_equal(seen[1], 1);
	assert_int_equal(env.idle_calls, 1);
	assert_true(runner_idle(env.r));
}

static void test_retry_records_each_attempt(void **state)
{
	struct task t = mk_task(2, TEST_DOWNLOAD, 1, false, 3);

	(void)state;
	fake.fail_first = 2;
	runner_start_task(env.r, &t);
	run_loop();
	assert_int_equal(env.nresults, 3);
	assert_int_equal(env.results[0].attempt, 1);
	assert_int_equal(env.results[0].status, ST_NETWORK_ERROR);
	assert_int_equal(env.results[1].attempt, 2);
	assert_int_equal(env.results[2].attempt, 3);
	assert_int_equal(env.results[2].status, ST_OK);
	/* Back-off: the second attempt starts at least 5 virtual s later. */
	assert_true(env.results[1].start_ms - env.results[0].start_ms >= 1000 + RUNNER_BACKOFF_MS);
}

static void test_retry_stops_at_limit(void **state)
{
	struct task t = mk_task(3, TEST_DOWNLOAD, 1, false, 2);

	(void)state;
	fake.fail_first = 100;
	runner_start_task(env.r, &t);
	run_loop();
	assert_int_equal(env.nresults, 3); /* first try + 2 retries */
	assert_int_equal(env.results[2].attempt, 3);
}

static void test_rate_limit_over_the_hour(void **state)
{
	const int64_t limits[TEST__COUNT] = { 5, 240, 120 };
	struct task t = mk_task(4, TEST_DOWNLOAD, 2, true, 0);

	(void)state;
	limiter_configure(env.lim, limits, 10);
	fake.duration_ms = 0;
	runner_start_task(env.r, &t);
	run_loop();
	/* Five starts, then the next free slot is past the cooldown: the
	 * workers give up instead of waiting into the next hour. */
	assert_int_equal(env.nresults, 5);
	assert_int_equal(limiter_used(env.lim, TEST_DOWNLOAD, clock_now_ms()), 5);
}

static void test_client_cap_queues(void **state)
{
	const int64_t limits[TEST__COUNT] = { 360, 240, 120 };
	struct task t = mk_task(5, TEST_DOWNLOAD, 7, false, 0);
	struct task q = mk_task(6, TEST_DOWNLOAD, 3, false, 0);

	(void)state;
	limiter_configure(env.lim, limits, 2);
	runner_start_task(env.r, &t);
	runner_start_task(env.r, &q);
	run_loop();
	assert_int_equal(env.nresults, 10);
	assert_int_equal(fake.max_running, 2);
	assert_int_equal(limiter_clients(env.lim), 0);
}

static bool cooled;

static void cooldown_cb(uv_timer_t *t)
{
	cooled = true;
	runner_cooldown(env.r);
	uv_close((uv_handle_t *)t, NULL);
}

static void test_cooldown_ends_repeats(void **state)
{
	struct task t = mk_task(7, TEST_DOWNLOAD, 2, true, 0);
	uv_timer_t cd;
	int64_t cd_at;
	struct task again;

	(void)state;
	runner_start_task(env.r, &t);
	uv_timer_init(&env.loop, &cd);
	cd_at = clock_now_ms() + 5 * MINUTE_MS;
	/* The cooldown time as the world reports it, and its timer: on a
	 * loaded machine a worker's timer can run after the cooldown's time
	 * and before its timer; the runner must not start it then. */
	env.cooldown = cd_at;
	cooled = false;
	clock_timer_start(&cd, cooldown_cb, 5 * MINUTE_MS);
	run_loop();
	/* The runner may go idle (and stop the loop) before the cooldown's
	 * timer has run, when its workers saw the cooldown time first. */
	while (!cooled)
		run_loop();
	/* 2 workers, an iteration every 11 virtual s at best, for 5
	 * minutes: never more than that, and repeating (each worker ran
	 * more than once). A loaded machine only makes virtual time pass
	 * between steps, at 1000x a stall of 10 ms is 10 virtual seconds,
	 * so the lower bound asks for no more than one repeat per worker. */
	assert_true(env.nresults >= 2 * 2);
	assert_true(env.nresults <= 2 * (300 / 11 + 1));
	for (int i = 0; i < env.nresults; i++)
		assert_true(env.results[i].start_ms < cd_at);
	again = mk_task(8, TEST_DOWNLOAD, 1, false, 0);
	assert_int_equal(runner_start_task(env.r, &again), -1);
	runner_resume(env.r);
}

static void term_cb(uv_timer_t *t)
{
	assert_int_equal(runner_clients(env.r), 3);
	runner_cooldown(env.r);
	runner_terminate(env.r, false, REASON_COOLDOWN);
	uv_close((uv_handle_t *)t, NULL);
}

static void test_terminate_kills_running(void **state)
{
	struct task t = mk_task(9, TEST_DOWNLOAD, 3, true, 5);
	uv_timer_t tt;

	(void)state;
	fake.duration_ms = HOUR_MS; /* hangs */
	runner_start_task(env.r, &t);
	uv_timer_init(&env.loop, &tt);
	clock_timer_start(&tt, term_cb, 10000);
	run_loop();
	assert_int_equal(fake.terminated, 3);
	/* Stopped by the agent: recorded once each, with the reason, and
	 * not retried although the task allows 5 retries. */
	assert_int_equal(env.nresults, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(env.results[i].status, ST_STOPPED);
		assert_int_equal(env.results[i].why, REASON_COOLDOWN);
	}
	runner_resume(env.r);
}

/* The back-off before retry n is n * RUNNER_BACKOFF_MS up to the cap, and
 * exactly the cap from there on, whatever n (no overflow). */
static void test_backoff_cap_boundaries(void **state)
{
	const int at_cap = RUNNER_BACKOFF_MAX_MS / RUNNER_BACKOFF_MS; /* 6 */

	(void)state;
	assert_int_equal(at_cap * RUNNER_BACKOFF_MS, RUNNER_BACKOFF_MAX_MS);
	assert_int_equal(runner_backoff_ms(1), RUNNER_BACKOFF_MS);
	assert_int_equal(runner_backoff_ms(at_cap - 1), (int64_t)(at_cap - 1) * RUNNER_BACKOFF_MS);
	assert_true(runner_backoff_ms(at_cap - 1) < RUNNER_BACKOFF_MAX_MS);
	assert_int_equal(runner_backoff_ms(at_cap), RUNNER_BACKOFF_MAX_MS);
	assert_int_equal(runner_backoff_ms(at_cap + 1), RUNNER_BACKOFF_MAX_MS);
	assert_int_equal(runner_backoff_ms(1000), RUNNER_BACKOFF_MAX_MS);
	assert_int_equal(runner_backoff_ms(INT_MAX), RUNNER_BACKOFF_MAX_MS);
	/* Below the first retry counts as the first. */
	assert_int_equal(runner_backoff_ms(0), RUNNER_BACKOFF_MS);
	assert_int_equal(runner_backoff_ms(INT_MIN), RUNNER_BACKOFF_MS);
}

/* The runner waits those back-offs between attempts: with a client that
 * always fails after 1 s, attempt n+1 starts 1 s + backoff(n) after attempt
 * n, on the schedule clock. The clock runs at 100x, so a late timer adds
 * real milliseconds: the bound above allows for 50 of them, less than the
 * 5 s a missing cap would add at the first capped retry. */
static void test_retry_waits_capped_backoff(void **state)
{
	struct task t = mk_task(14, TEST_DOWNLOAD, 1, false, 8);
	const int64_t slack = RUNNER_BACKOFF_MS - 1;

	(void)state;
	/* 20x: a stall of up to 250 ms on a loaded machine stays within the
	 * slack, which is smaller than a step of the back-off (the cap shows
	 * as 30 s where uncapped would be 35). About 9 s of real time. */
	clock_setup(1767261900000LL, 20.0);
	fake.fail_first = 1000;
	runner_start_task(env.r, &t);
	run_loop();
	assert_int_equal(env.nresults, 9);
	for (int i = 1; i < env.nresults; i++) {
		int64_t gap = env.results[i].start_ms - env.results[i - 1].start_ms;
		/* Worked out here, not by the function under test. */
		int64_t backoff = (int64_t)i * RUNNER_BACKOFF_MS;
		int64_t want = fake.duration_ms +
			       (backoff < RUNNER_BACKOFF_MAX_MS ? backoff : RUNNER_BACKOFF_MAX_MS);

		assert_int_equal(env.results[i].attempt, i + 1);
		assert_true(gap >= want - 20);
		if (gap >= want + slack)
			fail_msg("retry %d started %lld ms after the attempt before, want %lld",
				 i, (long long)gap, (long long)want);
	}
}

static void test_skipped_ends_worker(void **state)
{
	struct task t = mk_task(10, TEST_UPLOAD, 2, true, 3);

	(void)state;
	fake.force_status = ST_SKIPPED;
	runner_start_task(env.r, &t);
	run_loop();
	assert_int_equal(env.nresults, 2);
}

static void test_seed_prepared_once_and_removed(void **state)
{
	struct task t = mk_task(11, TEST_QUOTE, 4, false, 0);

	(void)state;
	runner_start_task(env.r, &t);
	run_loop();
	assert_int_equal(env.prepared, 1);
	assert_int_equal(env.nresults, 4);
	assert_non_null(strstr(fake.seen_seed_file, env.seed_dir));
	assert_int_not_equal(access(fake.seen_seed_file, F_OK), 0);
}

/* Every upload test has content of its own, made before it and removed
 * after it; a task's seed file is never shared by uploads. */
static void test_upload_content_per_test(void **state)
{
	struct task t = mk_task(14, TEST_UPLOAD, 2, true, 0);

	(void)state;
	runner_start_task(env.r, &t);
	run_loop();
	assert_true(fake.nfiles >= 4);
	for (int i = 0; i < fake.nfiles; i++) {
		assert_int_not_equal(access(fake.files[i], F_OK), 0);
		for (int k = 0; k < i; k++) {
			assert_true(fake.seeds[i] != fake.seeds[k]);
			assert_string_not_equal(fake.files[i], fake.files[k]);
		}
	}
	/* One content per test; a worker that the rate limit stops after its
	 * content was made leaves one unused (and removed). */
	assert_true(env.prepared >= fake.started && env.prepared <= fake.started + 2);
	assert_int_equal(env.held, env.released);
}

/* The budget runs out: the next upload is skipped with reason budget and
 * its worker ends; every hold is released. */
static void test_upload_budget_skip(void **state)
{
	struct task t = mk_task(15, TEST_UPLOAD, 1, true, 0);
	int skipped = 0;

	(void)state;
	env.budget_left = 3;
	runner_start_task(env.r, &t);
	run_loop();
	assert_int_equal(fake.started, 3);
	for (int i = 0; i < env.nresults; i++)
		if (env.results[i].status == ST_SKIPPED) {
			assert_int_equal(env.results[i].why, REASON_BUDGET);
			skipped++;
		}
	assert_int_equal(skipped, 1);
	assert_int_equal(env.held, 3);
	assert_int_equal(env.released, 3);
}

static void test_no_catalogue_row(void **state)
{
	struct task t = mk_task(12, TEST_DOWNLOAD, 2, true, 0);

	(void)state;
	t.size = SIZE_TERA;
	runner_start_task(env.r, &t);
	run_loop();
	assert_int_equal(env.nresults, 0);
	assert_int_equal(fake.started, 0);
	assert_int_equal(env.idle_calls, 1);
}

static void test_kill_switch_blocks_start(void **state)
{
	struct task t = mk_task(13, TEST_DOWNLOAD, 2, true, 0);

	(void)state;
	env.switch_on = true;
	runner_start_task(env.r, &t);
	run_loop();
	assert_int_equal(fake.started, 0);
}

/* Entries of a directory, "." and ".." aside. */
static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* A task's first iteration is prepared before it is due: runner_start_task
 * launches the prepared jobs (no new job is made at the start) and the
 * workers record one test each, as without preparation. */
static void test_first_iteration_prepared(void **state)
{
	struct task t = mk_task(20, TEST_DOWNLOAD, 3, false, 0);

	(void)state;
	assert_int_equal(runner_prepare_task(env.r, &t, clock_now_ms() + RUNNER_PREP_LEAD_MS), 0);
	assert_int_equal(fake.prepared, 3);
	assert_int_equal(fake.started, 0);
	assert_int_equal(env.nresults, 0);
	/* Prepared is not running, but not idle either (it holds files). */
	assert_false(runner_is_running(env.r, 20));
	assert_int_equal(runner_workers(env.r), 0);
	assert_false(runner_idle(env.r));
	assert_int_equal(runner_prepare_task(env.r, &t, clock_now_ms()), -1); /* once */
	assert_int_equal(runner_start_task(env.r, &t), 0);
	run_loop();
	assert_int_equal(fake.launched, 3);
	assert_int_equal(fake.started, 3);
	assert_int_equal(fake.discarded, 0);
	assert_int_equal(env.nresults, 3);
	assert_true(runner_idle(env.r));
}

/* A prepared task that does not start (the kill-switch at its time, a
 * re-plan, the cooldown) leaves nothing: jobs discarded, nothing recorded. */
static void test_prepared_task_given_up(void **state)
{
	struct task t = mk_task(21, TEST_DOWNLOAD, 2, true, 0);
	struct task q = mk_task(22, TEST_QUOTE, 2, false, 0);

	(void)state;
	assert_int_equal(runner_prepare_task(env.r, &t, clock_now_ms() + 1000), 0);
	assert_int_equal(fake.prepared, 2);
	runner_unprepare_task(env.r, 21);
	assert_int_equal(fake.discarded, 2);
	run_loop();
	assert_true(runner_idle(env.r));
	/* The kill-switch turned ON between the preparation and the start. */
	assert_int_equal(runner_prepare_task(env.r, &t, clock_now_ms() + 1000), 0);
	env.switch_on = true;
	assert_int_equal(runner_start_task(env.r, &t), 0);
	run_loop();
	assert_int_equal(fake.discarded, 4);
	assert_int_equal(fake.started, 0);
	env.switch_on = false;
	/* A quote's seeded file is generated ahead; the cooldown drops it. */
	assert_int_equal(runner_prepare_task(env.r, &q, clock_now_ms() + 1000), 0);
	assert_int_equal(env.prepared, 1);
	runner_cooldown(env.r);
	run_loop();
	assert_int_equal(fake.started, 0);
	assert_int_equal(env.nresults, 0);
	assert_true(runner_idle(env.r));
	assert_int_equal(count_files(env.seed_dir), 0);
	assert_int_equal(runner_prepare_task(env.r, &t, clock_now_ms() + 1000), -1); /* cooling */
}

/* A quote task's seeded file is generated before the task is due, once,
 * and used by the workers when it starts. */
static void test_seed_generated_ahead(void **state)
{
	struct task q = mk_task(23, TEST_QUOTE, 3, false, 0);

	(void)state;
	assert_int_equal(runner_prepare_task(env.r, &q, clock_now_ms() + 1000), 0);
	assert_int_equal(env.prepared, 1);
	assert_int_equal(runner_start_task(env.r, &q), 0);
	run_loop();
	assert_int_equal(env.prepared, 1);
	assert_int_equal(env.nresults, 3);
	assert_non_null(strstr(fake.seen_seed_file, env.seed_dir));
}

/* A start with a known time later on (here a retry after its back-off)
 * is prepared ahead and launched at its time; when the job
 * cannot be prepared, the start is made the ordinary way. */
static void test_retry_prepared_before_due(void **state)
{
	struct task t = mk_task(24, TEST_DOWNLOAD, 1, false, 2);

	(void)state;
	fake.fail_first = 1;
	runner_start_task(env.r, &t);
	run_loop();
	assert_int_equal(env.nresults, 2);
	assert_int_equal(fake.prepared, 1);
	assert_int_equal(fake.launched, 1);
	/* Prepared first, launched at its time (not earlier than the back-off
	 * allows); how far ahead depends on the machine at 1000x, so only the
	 * order is asserted. */
	assert_true(fake.prepared_at[0] <= env.results[1].start_ms);
	assert_true(env.results[1].start_ms - env.results[0].start_ms >=
		    fake.duration_ms + RUNNER_BACKOFF_MS - 20);
	/* The same with job_prepare saying no. */
	memset(&fake, 0, sizeof(fake));
	fake.force_status = ST__COUNT;
	fake.fail_status = ST_NETWORK_ERROR;
	fake.duration_ms = 1000;
	fake.fail_first = 1;
	fake.refuse_prepare = true;
	env.nresults = 0;
	t.ref = 25;
	runner_start_task(env.r, &t);
	run_loop();
	assert_int_equal(env.nresults, 2);
	assert_int_equal(fake.launched, 0);
	assert_int_equal(fake.started, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_workers_run_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_records_each_attempt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_stops_at_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit_over_the_hour, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_cap_queues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cooldown_ends_repeats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_terminate_kills_running, setup, teardown),
		cmocka_unit_test(test_backoff_cap_boundaries),
		cmocka_unit_test_setup_teardown(test_retry_waits_capped_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_skipped_ends_worker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seed_prepared_once_and_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_catalogue_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upload_content_per_test, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upload_budget_skip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_switch_blocks_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_iteration_prepared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepared_task_given_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seed_generated_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_prepared_before_due, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

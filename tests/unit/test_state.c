/* The restart-safe hour state: decisions, JSON round trip, hostile files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "hour.h"
#include "log.h"
#include "state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int64_t at(int min, int sec)
{
	int64_t h;

	assert_int_equal(clock_parse_iso("2026-01-01T10:00:00Z", &h), 0);
	return h + min * MINUTE_MS + sec * 1000;
}

static struct task mk(int ref, int period, bool repeat)
{
	struct task t;

	memset(&t, 0, sizeof(t));
	t.ref = ref;
	snprintf(t.ref_text, sizeof(t.ref_text), "%03d", ref);
	t.period = period;
	t.type = TEST_DOWNLOAD;
	t.repeat = repeat;
	t.workers = 1;
	return t;
}

static void test_decide(void **unused)
{
	struct state st;
	struct task once = mk(10, 10, false), rep = mk(15, 15, true), later = mk(30, 30, false);
	struct state_task *e;
	int64_t due = -1;

	(void)unused;
	state_reset(&st, at(0, 0));
	/* No record: the plan's own rule. */
	assert_int_equal(state_decide(NULL, &once, at(20, 0), &due), STATE_KEEP);
	/* A one-shot task that started never runs again this hour. */
	e = state_get(&st, &once);
	e->due_ms = at(10, 0);
	e->started_ms = at(10, 0);
	assert_int_equal(state_decide(e, &once, at(20, 0), &due), STATE_DONE);
	/* A repeating one still running when the agent stopped resumes now. */
	e = state_get(&st, &rep);
	e->started_ms = at(15, 0);
	assert_int_equal(state_decide(e, &rep, at(20, 0), &due), STATE_RESUME);
	assert_int_equal(due, at(20, 0));
	/* ...but not when it ended on its own (kill-switch, guard). */
	e->ended_ms = at(18, 0);
	assert_int_equal(state_decide(e, &rep, at(20, 0), &due), STATE_DONE);
	/* Planned, not started, still ahead: the start drawn before stands. */
	e = state_get(&st, &later);
	e->due_ms = at(33, 0);
	assert_int_equal(state_decide(e, &later, at(31, 0), &due), STATE_RESTORE);
	assert_int_equal(due, at(33, 0));
	/* Its time passed while the agent was down: the ordinary rule. */
	assert_int_equal(state_decide(e, &later, at(34, 0), &due), STATE_KEEP);
	/* The control file changed the task behind ref 010: not the same task. */
	once.period = 40;
	assert_int_equal(state_decide(state_find(&st, 10), &once, at(20, 0), &due), STATE_KEEP);
	e = state_get(&st, &once);
	assert_int_equal(e->started_ms, 0);
	assert_int_equal(e->period, 40);
	assert_int_equal(st.n, 3);
}

static void test_json_round_trip(void **unused)
{
	struct state st, back;
	struct task a = mk(7, 12, true), b = mk(999, 54, false);
	char err[256];
	char *text;

	(void)unused;
	state_reset(&st, at(0, 0));
	state_get(&st, &a)->started_ms = at(12, 3);
	state_get(&st, &b)->due_ms = at(54, 0);
	text = state_to_json(&st);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"hour\": \"2026-01-01T10:00:00Z\""));
	assert_int_equal(state_from_json(text, strlen(text), &back, err, sizeof(err)), 0);
	assert_int_equal(back.hour_start, st.hour_start);
	assert_int_equal(back.n, 2);
	assert_memory_equal(&back.tasks[0], &st.tasks[0], sizeof(st.tasks[0]));
	assert_memory_equal(&back.tasks[1], &st.tasks[1], sizeof(st.tasks[1]));
	free(text);
}

/* A repeated TaskRef (011 and 011b, keys 11 and 1011) has its own entry,
 * kept apart through a save and a load. */
static void test_repeated_ref(void **unused)
{
	struct state st, back;
	struct task a = mk(11, 12, false), b = mk(1011, 13, false);
	char err[256];
	char *text;

	(void)unused;
	state_reset(&st, at(0, 0));
	state_get(&st, &a)->started_ms = at(12, 0);
	state_get(&st, &b)->started_ms = at(13, 0);
	assert_int_equal(st.n, 2);
	text = state_to_json(&st);
	assert_non_null(text);
	assert_int_equal(state_from_json(text, strlen(text), &back, err, sizeof(err)), 0);
	assert_int_equal(back.n, 2);
	assert_int_equal(state_find(&back, 11)->started_ms, at(12, 0));
	assert_int_equal(state_find(&back, 1011)->started_ms, at(13, 0));
	free(text);
}

static void test_hostile(void **unused)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"format\": \"ant-agent-state\"",
		"{\"format\": \"other\", \"version\": 1, \"hour_start_ms\": 0, \"tasks\": []}",
		"{\"format\": \"ant-agent-state\", \"version\": 2, \"hour_start_ms\": 0, \"tasks\": []}",
		"{\"format\": \"ant-agent-state\", \"version\": 1, \"hour_start_ms\": 5, \"tasks\": []}",
		"{\"format\": \"ant-agent-state\", \"version\": 1, \"hour_start_ms\": 0, \"tasks\": {}}",
		"{\"format\": \"ant-agent-state\", \"version\": 1, \"hour_start_ms\": 0, \"tasks\": [1]}",
		"{\"format\": \"ant-agent-state\", \"version\": 1, \"hour_start_ms\": 0, \"tasks\": "
		"[{\"ref\": 0, \"period\": 5, \"type\": \"download\", \"repeat\": true, \"due_ms\": 0, "
		"\"started_ms\": 0, \"ended_ms\": 0}]}",
		"{\"format\": \"ant-agent-state\", \"version\": 1, \"hour_start_ms\": 0, \"tasks\": "
		"[{\"ref\": 5, \"period\": 5, \"type\": \"nap\", \"repeat\": true, \"due_ms\": 0, "
		"\"started_ms\": 0, \"ended_ms\": 0}]}",
		"{\"format\": \"ant-agent-state\", \"version\": 1, \"hour_start_ms\": 0, \"tasks\": "
		"[{\"ref\": 5, \"period\": 5, \"type\": \"quote\", \"repeat\": true, \"due_ms\": -1, "
		"\"started_ms\": 0, \"ended_ms\": 0}]}",
		/* The same ref twice. */
		"{\"format\": \"ant-agent-state\", \"version\": 1, \"hour_start_ms\": 0, \"tasks\": "
		"[{\"ref\": 5, \"period\": 5, \"type\": \"quote\", \"repeat\": true, \"due_ms\": 0, "
		"\"started_ms\": 0, \"ended_ms\": 0}, {\"ref\": 5, \"period\": 5, \"type\": \"quote\", "
		"\"repeat\": true, \"due_ms\": 0, \"started_ms\": 0, \"ended_ms\": 0}]}",
	};
	struct state st;
	char err[256];

	(void)unused;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(state_from_json(bad[i], strlen(bad[i]), &st, err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
		assert_int_equal(st.n, 0);
	}
}

static int warnings;
static char last_warning[512];

static void capture(enum log_level l, const char *line, void *ud)
{
	(void)ud;
	if (l == LOG_WARNING) {
		warnings++;
		snprintf(last_warning, sizeof(last_warning), "%s", line);
	}
}

static void test_load_save(void **unused)
{
	char dir[] = "/tmp/ant-state-test.XXXXXX", path[256];
	struct state st, back;
	struct task a = mk(10, 10, false);
	FILE *f;

	(void)unused;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	log_set_console(0);
	log_set_capture(capture, NULL);
	/* No file: nothing, quietly. */
	assert_int_equal(state_load(path, at(0, 0), &back), 0);
	assert_int_equal(back.hour_start, at(0, 0));
	assert_int_equal(warnings, 0);
	state_reset(&st, at(0, 0));
	state_get(&st, &a)->started_ms = at(10, 1);
	assert_int_equal(state_save(path, &st), 0);
	assert_int_equal(state_load(path, at(0, 0), &back), 1);
	assert_int_equal(back.n, 1);
	/* The next hour: the file is old, not wrong. */
	assert_int_equal(state_load(path, at(60, 0), &back), 0);
	assert_int_equal(back.n, 0);
	assert_int_equal(back.hour_start, at(60, 0));
	assert_int_equal(warnings, 0);
	/* Garbage: a warning that names the file. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("\x01\x02 not json", f);
	fclose(f);
	assert_int_equal(state_load(path, at(0, 0), &back), -1);
	assert_int_equal(warnings, 1);
	assert_non_null(strstr(last_warning, path));
	assert_int_equal(back.n, 0);
	assert_int_equal(back.hour_start, at(0, 0));
	log_set_capture(NULL, NULL);
	unlink(path);
	rmdir(dir);
}

static void test_parse_proc_stat(void **state)
{
	pid_t pg = 0;
	uint64_t start = 0;

	(void)state;
	assert_int_equal(state_parse_proc_stat("42 (a) b (c) S 1 77 77 0 -1 4194560 1 2 3 4 5 6 7 8 "
					       "20 0 1 0 123456 1000 10\n", &pg, &start), 0);
	assert_int_equal(pg, 77);
	assert_true(start == 123456);
	assert_int_equal(state_parse_proc_stat("42 (a) S 1", &pg, &start), -1);
	assert_int_equal(state_parse_proc_stat("no paren", &pg, &start), -1);
}

/* A session leader that sleeps, as a client is. */
static pid_t spawn_leader(void)
{
	pid_t p = fork(), pg = 0;
	uint64_t st;

	assert_true(p >= 0);
	if (p == 0) {
		setsid();
		execl("/bin/sleep", "sleep", "60", (char *)NULL);
		_exit(127);
	}
	/* Wait until the child is its own group (setsid ran). */
	for (int i = 0; i < 2000 && pg != p; i++) {
		if (state_proc_stat(p, &pg, &st) != 0)
			pg = 0;
		if (pg != p)
			usleep(1000);
	}
	assert_int_equal(pg, p);
	return p;
}

static int files_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void append_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void read_text(const char *path, char *out, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t got;

	assert_non_null(f);
	got = fread(out, 1, n - 1, f);
	out[got] = '\0';
	fclose(f);
}

static void end_leader(pid_t p)
{
	int status;

	kill(p, SIGKILL);
	waitpid(p, &status, 0);
}

/* A recorded client still running is ended with its group; a record whose
 * pid now belongs to a process that started at another time (a reused
 * pid) is never signalled; a client recorded as gone is left alone; lines
 * that are not records, and a last line cut short, are skipped; the
 * journal goes. */
static void test_end_survivors(void **state)
{
	char dir[] = "/tmp/ant-test-survivors-XXXXXX", path[256], line[160];
	pid_t alive, reused, gone;
	uint64_t st;
	pid_t pg;
	int status;

	(void)state;
	assert_non_null(mkdtemp(dir));
	alive = spawn_leader();
	reused = spawn_leader();
	gone = spawn_leader();
	state_client_add(dir, alive, 0);
	state_client_add(dir, gone, 0);
	state_client_remove(dir, gone);
	snprintf(path, sizeof(path), "%s/" STATE_CLIENTS_LOG, dir);
	/* The record of an earlier process that had reused's pid, garbage,
	 * and a line a SIGKILL cut short. */
	assert_int_equal(state_proc_stat(reused, &pg, &st), 0);
	snprintf(line, sizeof(line), "+ %ld %llu\nnot a record\n+ %ld", (long)reused,
		 (unsigned long long)(st - 1), (long)reused);
	append_text(path, line);

	assert_int_equal(state_clients_end_survivors(dir), 1);
	assert_int_equal(waitpid(alive, &status, 0), alive);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(kill(reused, 0), 0);
	assert_int_equal(kill(gone, 0), 0);
	assert_int_equal(access(path, F_OK), -1);
	end_leader(reused);
	end_leader(gone);
	/* A client that ended on its own leaves no record. */
	state_client_remove(dir, alive);
	unlink(path);
	rmdir(dir);
}

/* The journal does not grow without bound: past its cap it is rewritten
 * with the running clients alone, and the start-up still finds them. */
static void test_clients_journal_compacts(void **state)
{
	char dir[] = "/tmp/ant-test-journal-XXXXXX", path[256], text[4096], want[128];
	struct stat sb;
	pid_t alive;
	int status;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/" STATE_CLIENTS_LOG, dir);
	alive = spawn_leader();
	state_client_add(dir, alive, 0);
	/* Clients that came and went: pids never running here, start 1. */
	for (int i = 0; i < 20000; i++) {
		pid_t p = (pid_t)(4000000 + i % 1000);

		state_client_add(dir, p, 1);
		state_client_remove(dir, p);
	}
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size <= STATE_CLIENTS_LOG_MAX);
	read_text(path, text, sizeof(text));
	snprintf(want, sizeof(want), "+ %ld ", (long)alive);
	assert_non_null(strstr(text, want));
	assert_int_equal(state_clients_end_survivors(dir), 1);
	assert_int_equal(waitpid(alive, &status, 0), alive);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	rmdir(dir);
}

/* A cache an earlier build left with one file a client in clients/: the
 * start-up still ends those clients and removes the directory. */
static void test_end_survivors_legacy_dir(void **state)
{
	char dir[] = "/tmp/ant-test-legacy-XXXXXX", sub[256], path[300], line[64];
	pid_t alive, pg;
	uint64_t st;
	int status;

	(void)state;
	assert_non_null(mkdtemp(dir));
	alive = spawn_leader();
	assert_int_equal(state_proc_stat(alive, &pg, &st), 0);
	snprintf(sub, sizeof(sub), "%s/" STATE_CLIENTS_DIR, dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/%ld", sub, (long)alive);
	snprintf(line, sizeof(line), "%ld %llu\n", (long)alive, (unsigned long long)st);
	append_text(path, line);
	assert_int_equal(files_in(sub), 1);
	assert_int_equal(state_clients_end_survivors(dir), 1);
	assert_int_equal(waitpid(alive, &status, 0), alive);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(access(sub, F_OK), -1);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_repeated_ref),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_load_save),
		cmocka_unit_test(test_parse_proc_stat),
		cmocka_unit_test(test_end_survivors),
		cmocka_unit_test(test_clients_journal_compacts),
		cmocka_unit_test(test_end_survivors_legacy_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

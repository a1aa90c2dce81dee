/* Status file pieces: /proc/PID/stat start time, the writer-alive check,
 * MemAvailable parsing and the status screen of a stopped agent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "memguard.h"
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_proc_stat(void **unused)
{
	const char *s = "1234 (ant agent) x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 98765 "
			"200 300\n";
	pid_t child;
	int st;

	(void)unused;
	assert_int_equal(status_parse_proc_stat(s, strlen(s)), 98765);
	assert_int_equal(status_parse_proc_stat("1234 (x) S 1 2", 14), 0);
	assert_int_equal(status_parse_proc_stat("garbage", 7), 0);
	/* This process: alive with its own start time, not with another. */
	assert_true(status_proc_start(getpid()) > 0);
	assert_true(status_writer_alive(getpid(), status_proc_start(getpid())));
	assert_false(status_writer_alive(getpid(), status_proc_start(getpid()) + 1));
	/* A child that has exited and been reaped is gone. */
	child = fork();
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_false(status_writer_alive(child, 0));
}

static void test_meminfo(void **unused)
{
	const char *m = "MemTotal:       24684096 kB\nMemFree:         1000 kB\n"
			"MemAvailable:   23262860 kB\nBuffers: 1 kB\n";
	uint64_t b = 0;
	char reason[200];

	(void)unused;
	assert_int_equal(memguard_parse_meminfo(m, strlen(m), &b), 0);
	assert_int_equal(b, 23262860ull * 1024);
	assert_int_equal(memguard_parse_meminfo("MemTotal: 1 kB\n", 15, &b), -1);
	assert_int_equal(memguard_parse_meminfo("MemAvailable: 12 MB\n", 20, &b), -1);
	assert_int_equal(memguard_parse_meminfo("MemAvailable: kB\n", 17, &b), -1);
	assert_int_equal(memguard_parse_meminfo("MemAvailable: 99999999999999999999 kB", 38, &b), -1);
	/* The real file: the guard off, a small floor, an impossible one. */
	assert_int_equal(memguard_check(MEMGUARD_MEMINFO, 0, reason, sizeof(reason)), 0);
	assert_int_equal(memguard_check(MEMGUARD_MEMINFO, 1, reason, sizeof(reason)), 0);
	assert_int_equal(memguard_check(MEMGUARD_MEMINFO, 1000000000, reason, sizeof(reason)), 1);
	assert_non_null(strstr(reason, "MIN_FREE_MEM_MB 1000000000"));
	assert_int_equal(memguard_check("/nonexistent/meminfo", 1, reason, sizeof(reason)), -1);
}

/* MemAvailable is read at most once a second; the floor is applied fresh
 * to the kept reading; age, a clock that went back or another path read
 * again. */
static void test_meminfo_reading_kept(void **unused)
{
	const int64_t t0 = 5000000;
	uint64_t n0 = memguard_reads();
	char reason[200];

	(void)unused;
	assert_int_equal(memguard_check_at(MEMGUARD_MEMINFO, 1, t0, reason, sizeof(reason)), 0);
	assert_int_equal(memguard_reads(), n0 + 1);
	assert_int_equal(memguard_check_at(MEMGUARD_MEMINFO, 1000000000, t0 + MEMGUARD_MAX_AGE_MS - 1,
					   reason, sizeof(reason)), 1);
	assert_non_null(strstr(reason, "MIN_FREE_MEM_MB 1000000000"));
	assert_int_equal(memguard_reads(), n0 + 1);
	/* The guard off reads nothing. */
	assert_int_equal(memguard_check_at(MEMGUARD_MEMINFO, 0, t0 + 10 * MEMGUARD_MAX_AGE_MS, reason,
					   sizeof(reason)), 0);
	assert_int_equal(memguard_reads(), n0 + 1);
	assert_int_equal(memguard_check_at(MEMGUARD_MEMINFO, 1, t0 + MEMGUARD_MAX_AGE_MS, reason,
					   sizeof(reason)), 0);
	assert_int_equal(memguard_reads(), n0 + 2);
	assert_int_equal(memguard_check_at(MEMGUARD_MEMINFO, 1, t0, reason, sizeof(reason)), 0);
	assert_int_equal(memguard_reads(), n0 + 3);
	assert_int_equal(memguard_check_at("/nonexistent/meminfo", 1, t0, reason, sizeof(reason)), -1);
	assert_int_equal(memguard_check_at("/nonexistent/meminfo", 1, t0 + 1, reason, sizeof(reason)), -1);
	assert_non_null(strstr(reason, "/nonexistent/meminfo"));
	assert_int_equal(memguard_reads(), n0 + 4);
}

static void test_print_stopped(void **unused)
{
	json_t *doc = json_pack("{s:s, s:s, s:i, s:I, s:I, s:s, s:[{s:s, s:s, s:s, s:s, s:s, s:b}]}",
				"format", STATUS_FORMAT, "agent_state", "stopped", "pid", 4242,
				"uptime_s", (json_int_t)3700, "written_at_ms", (json_int_t)1000000,
				"now", "2026-01-01T10:20:00Z", "plan", "ref", "010", "type",
				"download", "size", "tiny", "due", "2026-01-01T10:10:00Z", "state",
				"done", "repeat", 0);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)unused;
	assert_non_null(doc);
	assert_false(status_doc_running(doc));
	status_print(f, doc, false, 1000000 + 65000);
	fclose(f);
	assert_non_null(strstr(text, "NOT running: it stopped cleanly 65 s ago (pid 4242, was up 61 min)"));
	assert_non_null(strstr(text, "010 download tiny   once   10:10:00  done"));
	free(text);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_stat),
		cmocka_unit_test(test_meminfo),
		cmocka_unit_test(test_meminfo_reading_kept),
		cmocka_unit_test(test_print_stopped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

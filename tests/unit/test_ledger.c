/* The payments ledger and the upload budget: exact amounts, lines that
 * survive a torn write, restarts that neither forget nor double-count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "ledger.h"
#include "log.h"
#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[64];
static char g_path[128];

static int64_t at(const char *iso)
{
	int64_t ms;

	assert_int_equal(clock_parse_iso(iso, &ms), 0);
	return ms;
}

static int setup(void **state)
{
	(void)state;
	ledger_reset();
	unlink(g_path);
	return 0;
}

static struct ledger_payment pay(const char *iso, uint64_t id, uint64_t atto)
{
	struct ledger_payment p;

	memset(&p, 0, sizeof(p));
	p.time_ms = at(iso);
	p.task_ref = 8;
	p.size = SIZE_TINY;
	p.id = id;
	p.atto = atto;
	p.chunks = 4;
	str_copy(p.address, "b7b2e5824a9e25ba", sizeof(p.address));
	return p;
}

static void test_amounts(void **state)
{
	uint64_t v;
	char err[160], t[40];

	(void)state;
	assert_int_equal(ledger_parse_amount("0", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 0);
	assert_int_equal(ledger_parse_amount("1500000000000 atto", &v, err, sizeof(err)), 0);
	assert_int_equal(v, UINT64_C(1500000000000));
	/* A bare number is tokens, as a volunteer reads it. */
	assert_int_equal(ledger_parse_amount("2", &v, err, sizeof(err)), 0);
	assert_int_equal(v, UINT64_C(2000000000000000000));
	assert_int_equal(ledger_parse_amount("1.5 atto", &v, err, sizeof(err)), -1);
	assert_int_equal(ledger_parse_amount("0.5", &v, err, sizeof(err)), 0);
	assert_int_equal(v, UINT64_C(500000000000000000));
	assert_int_equal(ledger_parse_amount("2 ANT", &v, err, sizeof(err)), 0);
	assert_int_equal(v, UINT64_C(2000000000000000000));
	assert_int_equal(ledger_parse_amount("0.000000000000000001", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 1);
	/* No doubles: 0.1 + 0.2 is exactly 3 * 10^17. */
	assert_int_equal(ledger_parse_amount("0.3", &v, err, sizeof(err)), 0);
	assert_int_equal(v, UINT64_C(300000000000000000));
	assert_int_equal(ledger_parse_amount("18446744073709551615 atto", &v, err, sizeof(err)), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(ledger_parse_amount("18446744073709551616 atto", &v, err, sizeof(err)), -1);
	assert_int_equal(ledger_parse_amount("19 ANT", &v, err, sizeof(err)), -1);
	assert_int_equal(ledger_parse_amount("0.0000000000000000001", &v, err, sizeof(err)), -1);
	assert_int_equal(ledger_parse_amount("-1", &v, err, sizeof(err)), -1);
	assert_int_equal(ledger_parse_amount("1e18", &v, err, sizeof(err)), -1);
	assert_int_equal(ledger_parse_amount("", &v, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an amount"));
	ledger_format_tokens(UINT64_C(500000000000000000), t, sizeof(t));
	assert_string_equal(t, "0.5");
	ledger_format_tokens(UINT64_C(4000000000000), t, sizeof(t));
	assert_string_equal(t, "0.000004");
	ledger_format_tokens(0, t, sizeof(t));
	assert_string_equal(t, "0.0");
}

static void test_line_round_trip(void **state)
{
	struct ledger_payment p = pay("2026-01-01T10:08:00Z", 77, UINT64_MAX), q;
	char line[LEDGER_LINE_MAX + 1];
	int n;

	(void)state;
	p.has_gas = true;
	p.gas_wei = UINT64_C(412340000000);
	n = ledger_format_line(&p, line, sizeof(line));
	assert_true(n > 0 && line[n - 1] == '\n');
	assert_int_equal(ledger_parse_line(line, (size_t)n, &q), 0);
	assert_int_equal(q.atto, UINT64_MAX);
	assert_int_equal(q.gas_wei, p.gas_wei);
	assert_true(q.has_gas);
	assert_int_equal(q.id, 77);
	assert_int_equal(q.time_ms, p.time_ms);
	assert_string_equal(q.address, p.address);
	/* A changed digit breaks the checksum; a cut line is not a line. */
	line[20] = line[20] == '1' ? '2' : '1';
	assert_int_equal(ledger_parse_line(line, (size_t)n, &q), -1);
	line[20] = line[20] == '1' ? '2' : '1';
	assert_int_equal(ledger_parse_line(line, (size_t)n - 1, &q), -1);
}

/* A restart reads every payment back once; a torn last line is cut. */
static void test_restart_and_torn_line(void **state)
{
	struct ledger_payment a = pay("2026-01-01T10:08:00Z", 1, 4000000000000);
	struct ledger_payment b = pay("2026-01-01T23:59:59Z", 2, 3000000000000);
	struct ledger_payment c = pay("2026-01-02T00:00:00Z", 3, 5000000000000);
	int64_t day1 = at("2026-01-01T12:00:00Z"), day2 = at("2026-01-02T12:00:00Z");
	int fd;

	(void)state;
	assert_int_equal(ledger_open(g_path), 0);
	assert_int_equal(ledger_append(&a), 0);
	assert_int_equal(ledger_append(&b), 0);
	assert_int_equal(ledger_append(&c), 0);
	assert_int_equal(ledger_spent_today(day1), 7000000000000);
	assert_int_equal(ledger_spent_today(day2), 5000000000000);
	assert_int_equal(ledger_spent_month(day2), 12000000000000);
	/* Read back twice: the same sums, never doubled. */
	for (int i = 0; i < 2; i++) {
		ledger_reset();
		assert_int_equal(ledger_open(g_path), 3);
		assert_int_equal(ledger_spent_today(day1), 7000000000000);
		assert_int_equal(ledger_spent_month(day2), 12000000000000);
	}
	/* A torn write: half a line at the end. */
	fd = open(g_path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "pay1 1767", 9), 9);
	close(fd);
	ledger_reset();
	assert_int_equal(ledger_open(g_path), 3);
	assert_int_equal(ledger_spent_month(day2), 12000000000000);
	/* Cut off, so the next payment is a whole line of its own. */
	c.id = 4;
	assert_int_equal(ledger_append(&c), 0);
	ledger_reset();
	assert_int_equal(ledger_open(g_path), 4);
	assert_int_equal(ledger_spent_today(day2), 10000000000000);
	/* Another month does not count in this one. */
	assert_int_equal(ledger_spent_month(at("2026-02-01T00:00:00Z")), 0);
}

/* An upload whose client was running when the agent died: its hold counts
 * at its estimate; a settled hold (paid or freed) counts only its payment. */
static void test_holds(void **state)
{
	struct ledger_payment a = pay("2026-01-01T10:08:00Z", 10, 4000000000000);
	int64_t now = at("2026-01-01T10:30:00Z");
	uint64_t est, atto;
	size_t n;

	(void)state;
	assert_int_equal(ledger_open(g_path), 0);
	assert_int_equal(ledger_hold(now, 8, SIZE_TINY, 10), 0);
	assert_int_equal(ledger_append(&a), 0);
	assert_true(ledger_estimate(SIZE_TINY, &est));
	assert_int_equal(ledger_hold(now, 8, SIZE_TINY, 11), 0);
	assert_int_equal(ledger_free(now, 11), 0);
	assert_int_equal(ledger_hold(now, 8, SIZE_TINY, 12), 0); /* never settled */
	ledger_reset();
	assert_int_equal(ledger_open(g_path), 1);
	ledger_open_holds(&n, &atto);
	assert_int_equal(n, 1);
	assert_int_equal(atto, est);
	assert_int_equal(ledger_spent_today(now), 4000000000000 + est);
}

/* The budget: 0 means none; reservations count until released; a known
 * price is reserved with its margin; with no price one upload at a time. */
static void test_budget(void **state)
{
	int64_t now = at("2026-01-01T10:30:00Z");
	uint64_t h1, h2, h3;
	char why[200];
	struct ledger_payment a = pay("2026-01-01T10:08:00Z", 1, 4000000000000);

	(void)state;
	assert_int_equal(ledger_open(g_path), 0);
	ledger_set_budget(0, 0);
	assert_int_equal(ledger_reserve(SIZE_TINY, now, &h1, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "UPLOAD_BUDGET_DAY is 0"));
	ledger_set_budget(20000000000000, 1000000000000000);
	/* No price known: one at a time. */
	assert_int_equal(ledger_reserve(SIZE_TINY, now, &h1, why, sizeof(why)), 0);
	assert_int_equal(ledger_reserve(SIZE_TINY, now, &h2, why, sizeof(why)), 2);
	assert_int_equal(ledger_append(&a), 0);
	ledger_release(h1);
	/* Known now: 4*10^12 with a 50 % margin = 6*10^12 per tiny upload. */
	assert_int_equal(ledger_reserve(SIZE_TINY, now, &h1, why, sizeof(why)), 0);
	assert_true(h1 >= 6000000000000);
	assert_int_equal(ledger_reserve(SIZE_TINY, now, &h2, why, sizeof(why)), 0);
	/* 4 spent + 2 x 6 held = 16; another 6 would pass 20. */
	assert_int_equal(ledger_reserve(SIZE_TINY, now, &h3, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "UPLOAD_BUDGET_DAY"));
	ledger_release(h2);
	assert_int_equal(ledger_reserve(SIZE_TINY, now, &h3, why, sizeof(why)), 0);
	ledger_release(h1);
	ledger_release(h3);
	assert_int_equal(ledger_reserved(), 0);
	/* The month binds too. */
	ledger_set_budget(1000000000000000, 5000000000000);
	assert_int_equal(ledger_reserve(SIZE_TINY, now, &h1, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "UPLOAD_BUDGET_MONTH"));
	/* A bigger class is estimated by its chunks: more than a tiny one. */
	ledger_set_budget(UINT64_MAX, UINT64_MAX);
	assert_true(ledger_estimate(SIZE_LARGE, &h2) && ledger_estimate(SIZE_TINY, &h3));
	assert_true(h2 > h3);
}

/* Hostile lines in the middle are skipped, not counted, not fatal. */
static void test_bad_lines(void **state)
{
	FILE *f = fopen(g_path, "w");
	struct ledger_payment a = pay("2026-01-01T10:08:00Z", 1, 4000000000000);
	char line[LEDGER_LINE_MAX + 1];

	(void)state;
	assert_non_null(f);
	assert_true(ledger_format_line(&a, line, sizeof(line)) > 0);
	fputs(line, f);
	fputs("pay1 1 2 3\n\x1b[31mred\n", f);
	a.id = 2;
	assert_true(ledger_format_line(&a, line, sizeof(line)) > 0);
	fputs(line, f);
	fclose(f);
	assert_int_equal(ledger_open(g_path), 2);
	assert_int_equal(ledger_spent_today(a.time_ms), 8000000000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_amounts, setup),
		cmocka_unit_test_setup(test_line_round_trip, setup),
		cmocka_unit_test_setup(test_restart_and_torn_line, setup),
		cmocka_unit_test_setup(test_holds, setup),
		cmocka_unit_test_setup(test_budget, setup),
		cmocka_unit_test_setup(test_bad_lines, setup),
	};
	char cmd[128];
	int rc;

	log_set_console(0);
	snprintf(g_dir, sizeof(g_dir), "/tmp/ant-test-ledger-XXXXXX");
	if (mkdtemp(g_dir) == NULL)
		return 1;
	snprintf(g_path, sizeof(g_path), "%s/ledger.log", g_dir);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	ledger_reset();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}

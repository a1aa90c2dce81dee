/* A metrics file whose last line was cut short by a crash (SIGKILL in the
 * middle of a write, power loss): the next start used to append after the
 * fragment, gluing it to its first new line, so one good record became a
 * line no InfluxDB server takes. The fragment is now cut off at the first
 * flush, and only whole lines remain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "lineproto.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define T0 1700000400000LL

static char dir[256], mfile[300], sfile[300];
static struct lp_point pt;

static void set(const char *k, const char *v)
{
	char err[256];

	assert_int_equal(config_set(k, v, CFG_SRC_CLI, err, sizeof(err)), 0);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Every line whole and readable; returns how many. */
static int whole_lines(const char *path)
{
	struct buf b;
	char err[128];
	int n = 0;

	assert_int_equal(file_read_all(path, 1 << 20, &b), 0);
	assert_true(b.len > 0);
	assert_int_equal(b.data[b.len - 1], '\n');
	for (char *p = b.data, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		*nl = '\0';
		if (lp_parse(p, (size_t)(nl - p), &pt, err, sizeof(err)) != 0)
			fail_msg("not a whole line: %s (%s)", p, err);
		/* A fragment glued to the next line still parses; it shows as
		 * a second measurement name inside one line. */
		if (strstr(p + 1, "ant_agent") != NULL)
			fail_msg("two lines glued together: %s", p);
		n++;
	}
	buf_free(&b);
	return n;
}

static void test_partial_last_line_cut_off(void **state)
{
	struct test_result r;
	const char *good = "ant_agent,agent=a1,type=download,filesize=tiny,task=1,status=ok "
			   "ok=1i,exec_time=1.5 1700000000000000000\n";
	char text[512];

	(void)state;
	log_set_console(0);
	config_reset();
	str_copy(dir, "/tmp/ant-regress-metrics-XXXXXX", sizeof(dir));
	assert_non_null(mkdtemp(dir));
	snprintf(mfile, sizeof(mfile), "%s/metrics.csv", dir);
	snprintf(sfile, sizeof(sfile), "%s/summary.csv", dir);
	set("CACHE_DIR", dir);
	set("METRICS_FILE", mfile);
	set("SUMMARY_FILE", sfile);
	/* Two whole lines and the start of a third, as a crash leaves them. */
	snprintf(text, sizeof(text), "%s%sant_agent,agent=a1,type=down", good, good);
	put(mfile, text);
	put(sfile, "ant_agent_summary,type=download count=1i,ok=1i 1700000000000000000\nant_agent_su");

	assert_int_equal(metrics_init(NULL), 0);
	memset(&r, 0, sizeof(r));
	r.type = TEST_DOWNLOAD;
	r.size = SIZE_TINY;
	r.status = ST_OK;
	r.task_ref = 7;
	r.worker = 1;
	r.attempt = 1;
	r.start_ms = T0;
	r.exec_time = 1;
	metrics_record_at(&r, T0 + 1000);
	assert_int_equal(metrics_flush_all(T0 + 1000), 0);
	metrics_shutdown();

	assert_int_equal(whole_lines(mfile), 3);
	assert_int_equal(whole_lines(sfile), 2);
	snprintf(text, sizeof(text), "rm -rf '%s'", dir);
	assert_int_equal(system(text), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partial_last_line_cut_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

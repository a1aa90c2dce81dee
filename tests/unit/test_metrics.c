/* Metric records: lines and their tags/fields, one-minute rollups, whole
 * lines only when a write fails, rotation, the agent id, the cache cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "lineproto.h"
#include "log.h"
#include "metrics.h"
#include "version.h"

#define T0 1700000400000LL /* 2023-11-14T22:20:00Z, a whole minute */
#define MINUTE 60000LL

static char dir[256], mfile[300], sfile[300];
static struct lp_point pt;

static void set(const char *k, const char *v)
{
	char err[256];

	assert_int_equal(config_set(k, v, CFG_SRC_CLI, err, sizeof(err)), 0);
}

static int setup(void **state)
{
	(void)state;
	log_set_console(0);
	config_reset();
	str_copy(dir, "/tmp/ant-metrics-XXXXXX", sizeof(dir));
	assert_non_null(mkdtemp(dir));
	snprintf(mfile, sizeof(mfile), "%s/m/metrics.csv", dir);
	snprintf(sfile, sizeof(sfile), "%s/m/summary.csv", dir);
	set("CACHE_DIR", dir);
	set("METRICS_FILE", mfile);
	set("SUMMARY_FILE", sfile);
	return 0;
}

static int teardown(void **state)
{
	char cmd[400];

	(void)state;
	metrics_shutdown();
	metrics_set_write_fn(NULL);
	metrics_set_cache_max(0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static struct test_result result(enum test_type t, enum size_class s, enum test_status st,
				 int64_t start_ms, double secs)
{
	struct test_result r;

	memset(&r, 0, sizeof(r));
	r.type = t;
	r.size = s;
	r.status = st;
	r.task_ref = 7;
	r.worker = 2;
	r.attempt = 1;
	r.start_ms = start_ms;
	r.exec_time = secs;
	r.exit_code = st == ST_OK ? 0 : 13;
	r.bytes = 1000;
	return r;
}

/* Read a file as lines; returns how many, checks each ends in '\n'. */
static size_t read_lines(const char *path, char ***out)
{
	struct buf b;
	size_t n = 0;
	char *p, **v = NULL;

	if (file_read_all(path, 1 << 26, &b) != 0) {
		*out = NULL;
		return 0;
	}
	if (b.len > 0)
		assert_true(b.data[b.len - 1] == '\n');
	for (p = b.data; p && *p;) {
		char *nl = strchr(p, '\n');

		assert_non_null(nl);
		*nl = '\0';
		v = realloc(v, (n + 1) * sizeof(*v));
		v[n++] = strdup(p);
		p = nl + 1;
	}
	buf_free(&b);
	*out = v;
	return n;
}

static void free_lines(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static size_t count_lines(const char *path)
{
	char **v;
	size_t n = read_lines(path, &v);

	free_lines(v, n);
	return n;
}

static void parse(const char *line)
{
	char err[64];

	assert_int_equal(lp_parse(line, strlen(line), &pt, err, sizeof(err)), 0);
}

static const char *tag(const char *k)
{
	const struct lp_kv *kv = lp_point_tag(&pt, k);

	return kv ? kv->str : "(none)";
}

static const struct lp_kv *field(const char *k)
{
	const struct lp_kv *kv = lp_point_field(&pt, k);

	assert_non_null(kv);
	return kv;
}

static void test_agent_id(void **state)
{
	char a[80], b[80], path[400];
	struct stat st;
	FILE *f;

	(void)state;
	assert_int_equal(metrics_agent_id_load("", dir, a, sizeof(a)), 0);
	assert_int_equal(strlen(a), 16);
	assert_true(strspn(a, "0123456789abcdef") == 16);
	snprintf(path, sizeof(path), "%s/agent-id", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Kept: the next start reads the same id. */
	assert_int_equal(metrics_agent_id_load("", dir, b, sizeof(b)), 0);
	assert_string_equal(a, b);
	/* The setting wins. */
	assert_int_equal(metrics_agent_id_load("my-agent", dir, b, sizeof(b)), 0);
	assert_string_equal(b, "my-agent");
	/* A damaged file is replaced by a fresh id. */
	f = fopen(path, "w");
	fputs("bad id with spaces\n", f);
	fclose(f);
	assert_int_equal(metrics_agent_id_load("", dir, b, sizeof(b)), 0);
	assert_int_equal(strlen(b), 16);
	assert_string_not_equal(a, b);
	/* metrics_init uses it. */
	assert_int_equal(metrics_init(NULL), 0);
	assert_string_equal(metrics_agent_id(), b);
}

static void test_line_content(void **state)
{
	struct test_result r = result(TEST_DOWNLOAD, SIZE_SMALL, ST_OK, T0 + 1234, 2.0);
	char **v;
	size_t n;

	(void)state;
	set("AGENT_ID", "agent 1");
	set("TELEMETRY_COUNTRY", "\"uk\"");
	set("TELEMETRY_PROVISON", "");
	set("TELEMETRY_CONNECTION", "fibre, 1G");
	metrics_set_client_version("");
	assert_int_equal(metrics_init(NULL), 0);
	assert_string_equal(metrics_common_tags(),
			    ",agent=agent\\ 1,agent_version=" ANT_VERSION ",client_version=unknown,"
			    "country=GB,provision=xx,connection=fibre\\,\\ 1G");
	/* The probe at start-up names the client on every later point. */
	metrics_set_client_version("0.5.2");
	assert_non_null(strstr(metrics_common_tags(), ",client_version=0.5.2,"));
	r.md5_checked = r.md5_valid = true;
	r.bytes = 4000000;
	str_copy(r.address, "abc123", sizeof(r.address));
	assert_int_equal(metrics_record_at(&r, T0 + 5000), 0);
	r = result(TEST_QUOTE, SIZE_TINY, ST_NETWORK_ERROR, T0 + 2000, 1.5);
	r.has_cost = true;
	r.cost_atto = UINT64_C(250000000000000001);
	r.bytes = 0;
	assert_int_equal(metrics_record_at(&r, T0 + 6000), 0);
	r = result(TEST_UPLOAD, SIZE_TINY, ST_OK, T0 + 3000, 1.0);
	r.has_cost = true;
	r.cost_atto = UINT64_C(4000000000000);
	r.has_chunks = true;
	r.chunks_stored = 4;
	r.chunks_existing = 1;
	assert_int_equal(metrics_record_at(&r, T0 + 6000), 0);
	assert_int_equal(metrics_flush(T0 + 7000), 0);

	n = read_lines(mfile, &v);
	assert_int_equal(n, 3);
	parse(v[0]);
	assert_string_equal(pt.measurement, "ant_agent");
	assert_string_equal(tag("agent_version"), ANT_VERSION);
	assert_string_equal(tag("client_version"), "0.5.2");
	assert_string_equal(tag("agent"), "agent 1");
	assert_string_equal(tag("country"), "GB");
	assert_string_equal(tag("provision"), "xx");
	assert_string_equal(tag("connection"), "fibre, 1G");
	assert_string_equal(tag("type"), "download");
	assert_string_equal(tag("filesize"), "small");
	assert_string_equal(tag("task"), "007");
	assert_string_equal(tag("status"), "ok");
	assert_int_equal(pt.ntags, 10);
	assert_int_equal(field("exec_time")->type, LP_F_FLOAT);
	assert_true(field("exec_time")->f == 2.0);
	assert_int_equal(field("ok")->i, 1);
	assert_int_equal(field("ok")->type, LP_F_INT);
	assert_int_equal(field("md5checker")->i, 1);
	assert_int_equal(field("md5valid")->i, 1);
	assert_int_equal(field("client_ok")->i, 1);
	assert_int_equal(field("network_err")->i, 0);
	assert_int_equal(field("bytes")->i, 4000000);
	assert_int_equal(field("exit_code")->i, 0);
	assert_int_equal(field("attempt")->i, 1);
	assert_int_equal(field("worker")->i, 2);
	assert_int_equal(field("throughput")->type, LP_F_FLOAT);
	assert_true(field("throughput")->f == 2000000.0);
	assert_string_equal(field("address")->str, "abc123");
	assert_null(lp_point_field(&pt, "cost"));
	assert_int_equal(pt.ts / 1000000, T0 + 1234);

	parse(v[1]);
	assert_string_equal(tag("status"), "network_error");
	assert_int_equal(field("ok")->i, 0);
	assert_int_equal(field("network_err")->i, 1);
	assert_int_equal(field("client_ok")->i, 0);
	assert_int_equal(field("exit_code")->i, 13);
	assert_int_equal(field("cost")->type, LP_F_FLOAT);
	assert_true(field("cost")->f == 0.25);
	/* Exact to the last atto; the float is for dashboards only. */
	assert_int_equal(field("cost_atto")->type, LP_F_INT);
	assert_true(field("cost_atto")->i == INT64_C(250000000000000001));
	assert_null(lp_point_field(&pt, "throughput"));
	assert_null(lp_point_field(&pt, "address"));
	assert_null(lp_point_field(&pt, "chunks_stored"));
	parse(v[2]);
	assert_string_equal(tag("type"), "upload");
	assert_int_equal(field("chunks_stored")->i, 4);
	assert_int_equal(field("chunks_existing")->i, 1);
	assert_true(field("cost_atto")->i == INT64_C(4000000000000));
	free_lines(v, n);

	/* A test the agent stopped: its own status, the typed reason, no
	 * failure flag and no client_kill (that is for timeouts and hangs). */
	r = result(TEST_UPLOAD, SIZE_TINY, ST_STOPPED, T0 + 3000, 12.0);
	r.exit_code = -1;
	r.bytes = 0;
	test_result_set_why(&r, REASON_KILL_SWITCH, "%s", "");
	assert_int_equal(metrics_record_at(&r, T0 + 8000), 0);
	assert_int_equal(metrics_flush(T0 + 9000), 0);
	n = read_lines(mfile, &v);
	assert_int_equal(n, 4);
	parse(v[3]);
	assert_string_equal(tag("status"), "stopped");
	assert_int_equal(field("ok")->i, 0);
	assert_int_equal(field("client_kill")->i, 0);
	assert_int_equal(field("client_ok")->i, 0);
	assert_string_equal(field("reason_code")->str, "kill_switch");
	assert_string_equal(field("reason")->str, "stopped by the kill-switch");
	assert_null(lp_point_field(&pt, "throughput"));
	assert_null(lp_point_field(&pt, "address"));
	free_lines(v, n);
	/* The minute is not over: no summary yet. */
	assert_int_equal(count_lines(sfile), 0);
}

/* Flushes build each line from pieces made once (format_fast in
 * metrics.c); the line-protocol writer (lineproto.h) is the reference. Over
 * every status, both MD5 flags and zero, positive and negative exit codes
 * (the nine outcome fields), every type and size, and the optional fields,
 * the two must give the same bytes, and a flush must write exactly those. */
static void test_fast_writer_matches_generic(void **state)
{
	static const int exits[] = { 0, 13, -1 };
	static const double secs[] = { 2.0, 0.1, 12345.678901, 1e-7, 3e10, NAN, 0.0, 1.5e-4 };
	static const int tasks[] = { 1, 7, 999, 1000, 1011, 25011, 25999, 26000, 30000 };
	static const char *const addrs[] = {
		"", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"a \"quoted\" \\ back\tslash,=", "bad \xff utf8 \xc3\xa9",
	};
	static const uint64_t big[] = { 0, 1, UINT64_C(534000000000000), UINT64_C(1000000000000000001),
					(uint64_t)INT64_MAX, (uint64_t)INT64_MAX + 1, UINT64_MAX };
	struct buf fast, generic;
	struct test_result r;
	size_t n = 0, nf, ng;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	char **v;

	(void)state;
	set("AGENT_ID", "agent-7");
	set("TELEMETRY_CONNECTION", "fibre, 1G");
	assert_int_equal(metrics_init(NULL), 0);
	metrics_set_client_version("0.5.2");
	for (int st = 0; st < ST__COUNT; st++)
		for (int md5 = 0; md5 < 4; md5++)
			for (size_t e = 0; e < ARRAY_SIZE(exits); e++)
				for (int t = 0; t < TEST__COUNT; t++)
					for (int variant = 0; variant < 3; variant++, n++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		r = result((enum test_type)t, (enum size_class)(n % SIZE__COUNT), (enum test_status)st,
			   T0 + (int64_t)n * 997, secs[(x >> 3) % ARRAY_SIZE(secs)]);
		r.md5_checked = md5 & 1;
		r.md5_valid = md5 & 2;
		r.exit_code = exits[e];
		r.task_ref = tasks[(x >> 9) % ARRAY_SIZE(tasks)];
		r.worker = (int)((x >> 12) % 70000);
		r.attempt = (int)((x >> 30) % 4);
		r.has_cost = variant != 0;
		r.cost_atto = big[(x >> 15) % ARRAY_SIZE(big)];
		r.has_gas = (x >> 18) & 1;
		r.gas_wei = big[(x >> 19) % ARRAY_SIZE(big)];
		r.via_gateway = (x >> 22) & 1;
		r.already_stored = (x >> 23) & 1;
		r.address_private = (x >> 24) & 1;
		r.has_chunks = (x >> 25) & 1;
		r.chunks_stored = (uint32_t)(x >> 26);
		r.chunks_existing = (uint32_t)(x >> 40) % 100;
		r.spent_day_atto = big[(x >> 33) % ARRAY_SIZE(big)];
		r.bytes = variant == 2 ? big[(x >> 36) % ARRAY_SIZE(big)] : (x >> 20) % 50000000;
		str_copy(r.address, addrs[(x >> 40) % ARRAY_SIZE(addrs)], sizeof(r.address));
		if (!test_status_counts((enum test_status)st) || variant == 1)
			test_result_set_why(&r, (enum test_reason)((x >> 44) % REASON__COUNT), "%s",
					    addrs[(x >> 48) % ARRAY_SIZE(addrs)]);
		assert_int_equal(metrics_record_at(&r, T0 + 3 * MINUTE), 0);
	}
	buf_init(&fast, 1 << 24);
	buf_init(&generic, 1 << 24);
	nf = metrics_format_cached(&fast, false);
	ng = metrics_format_cached(&generic, true);
	assert_int_equal(nf, n);
	assert_int_equal(ng, n);
	assert_int_equal(fast.len, generic.len);
	/* Line by line first, so a failure names the line. */
	for (char *a = fast.data, *b = generic.data; *a;) {
		char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');

		assert_non_null(ea);
		assert_non_null(eb);
		*ea = *eb = '\0';
		assert_string_equal(a, b);
		parse(a);
		*ea = *eb = '\n';
		a = ea + 1;
		b = eb + 1;
	}
	assert_memory_equal(fast.data, generic.data, fast.len);
	/* The records are still cached; the flush writes the same bytes. */
	assert_int_equal(metrics_flush(T0 + 3 * MINUTE), 0);
	buf_free(&generic);
	assert_int_equal(file_read_all(mfile, 1 << 24, &generic), 0);
	assert_int_equal(generic.len, fast.len);
	assert_memory_equal(generic.data, fast.data, fast.len);
	assert_int_equal(read_lines(mfile, &v), n);
	free_lines(v, n);
	buf_free(&fast);
	buf_free(&generic);
	/* Written lines are not formatted again. */
	buf_init(&fast, 1 << 20);
	assert_int_equal(metrics_format_cached(&fast, false), 0);
	buf_free(&fast);
}

/* A repeated TaskRef (key ref + 1000 * n) is tagged with its letter, so
 * the two tasks stay apart: 11 is 011, 1011 is 011b, 25011 is 011z. */
static void test_task_tag_repeats(void **state)
{
	static const int keys[] = { 11, 1011, 2011, 25011 };
	static const char *const want[] = { "011", "011b", "011c", "011z" };
	char **v;
	size_t n;

	(void)state;
	assert_int_equal(metrics_init(NULL), 0);
	for (size_t i = 0; i < 4; i++) {
		struct test_result r = result(TEST_QUOTE, SIZE_TINY, ST_OK, T0 + 1000 * (int64_t)i, 1.0);

		r.task_ref = keys[i];
		assert_int_equal(metrics_record_at(&r, T0 + 5000), 0);
	}
	assert_int_equal(metrics_flush(T0 + 7000), 0);
	n = read_lines(mfile, &v);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++) {
		char text[TASK_REF_TEXT_MAX];

		parse(v[i]);
		assert_string_equal(tag("task"), want[i]);
		task_ref_format(keys[i], text); /* what the log and state say */
		assert_string_equal(text, want[i]);
	}
	free_lines(v, n);
}

static void test_rollup(void **state)
{
	struct metrics_counters c;
	char **v;
	size_t n;

	(void)state;
	assert_int_equal(metrics_init(NULL), 0);
	/* Ten downloads of 1..10 s, three of them failed, in one minute; one
	 * quote in the same minute; one skipped test; one download in the
	 * next minute. */
	for (int i = 10; i >= 1; i--) {
		struct test_result r = result(TEST_DOWNLOAD, SIZE_TINY,
					      i % 3 == 0 ? ST_CLIENT_ERROR : ST_OK, T0, (double)i);

		r.bytes = (uint64_t)i * 100;
		assert_int_equal(metrics_record_at(&r, T0 + 30000), 0);
	}
	{
		struct test_result q = result(TEST_QUOTE, SIZE_HUGE, ST_OK, T0, 0.5);
		struct test_result s = result(TEST_DOWNLOAD, SIZE_TINY, ST_SKIPPED, T0, 0);
		struct test_result l = result(TEST_DOWNLOAD, SIZE_TINY, ST_OK, T0 + MINUTE, 99);
		/* Stopped by the agent after 30 s: not a failure, not a time. */
		struct test_result st = result(TEST_DOWNLOAD, SIZE_TINY, ST_STOPPED, T0, 30);

		test_result_set_why(&st, REASON_COOLDOWN, "%s", "");
		assert_int_equal(metrics_record_at(&q, T0 + 40000), 0);
		assert_int_equal(metrics_record_at(&s, T0 + 41000), 0);
		assert_int_equal(metrics_record_at(&st, T0 + 42000), 0);
		assert_int_equal(metrics_record_at(&l, T0 + MINUTE + 1000), 0);
	}
	assert_int_equal(metrics_flush(T0 + MINUTE + 2000), 0);
	assert_int_equal(count_lines(mfile), 14);
	n = read_lines(sfile, &v);
	assert_int_equal(n, 2); /* download/tiny and quote/huge of the first minute */
	parse(v[0]);
	assert_string_equal(pt.measurement, "ant_agent_summary");
	assert_string_equal(tag("type"), "download");
	assert_string_equal(tag("filesize"), "tiny");
	assert_null(lp_point_tag(&pt, "status"));
	assert_int_equal(field("count")->i, 10);
	assert_int_equal(field("count")->type, LP_F_INT);
	assert_int_equal(field("ok")->i, 7);
	assert_int_equal(field("failed")->i, 3);
	assert_true(field("min")->f == 1.0);
	assert_true(field("max")->f == 10.0);
	assert_true(field("mean")->f == 5.5);
	assert_int_equal(field("mean")->type, LP_F_FLOAT);
	assert_true(field("p50")->f == 5.0);
	assert_true(field("p90")->f == 9.0);
	assert_true(field("p95")->f == 10.0);
	assert_true(field("p99")->f == 10.0);
	assert_true(field("sum")->f == 55.0);
	assert_int_equal(field("bytes")->i, 5500);
	assert_int_equal(pt.ts / 1000000 / MINUTE, T0 / MINUTE);
	parse(v[1]);
	assert_string_equal(tag("type"), "quote");
	assert_int_equal(field("count")->i, 1);
	assert_true(field("p99")->f == 0.5);
	free_lines(v, n);

	/* The record of the open minute waits for its summary only. */
	metrics_get_counters(&c);
	assert_int_equal(c.cached, 1);
	assert_int_equal(c.lines_written, 14);
	assert_int_equal(c.summary_lines, 2);
	assert_int_equal(metrics_flush(T0 + 2 * MINUTE), 0);
	assert_int_equal(count_lines(mfile), 14);
	assert_int_equal(count_lines(sfile), 3);
	metrics_get_counters(&c);
	assert_int_equal(c.cached, 0);
	assert_int_equal(c.flushes, 2);
}

static void test_unique_timestamps(void **state)
{
	char **v;
	size_t n;
	int64_t ts[20];

	(void)state;
	assert_int_equal(metrics_init(NULL), 0);
	for (int i = 0; i < 20; i++) {
		struct test_result r = result(TEST_DOWNLOAD, SIZE_TINY, ST_OK, T0 + 500, 1);

		assert_int_equal(metrics_record_at(&r, T0 + 1000), 0);
	}
	assert_int_equal(metrics_flush_all(T0 + 1000), 0);
	n = read_lines(mfile, &v);
	assert_int_equal(n, 20);
	for (size_t i = 0; i < n; i++) {
		parse(v[i]);
		ts[i] = pt.ts;
		assert_int_equal(ts[i] / 1000000, T0 + 500);
		for (size_t j = 0; j < i; j++)
			assert_true(ts[j] != ts[i]);
	}
	free_lines(v, n);
	/* flush_all also wrote the open minute's summary. */
	assert_int_equal(count_lines(sfile), 1);
}

/* A disk that fills up half way through a write. */
static int writes_allowed;

static ssize_t short_write(int fd, const void *p, size_t n)
{
	if (writes_allowed-- > 0)
		return write(fd, p, n / 2 ? n / 2 : n);
	errno = ENOSPC;
	return -1;
}

static void test_short_write_keeps_whole_lines(void **state)
{
	struct metrics_counters c;
	struct stat st;
	off_t before;

	(void)state;
	assert_int_equal(metrics_init(NULL), 0);
	for (int i = 0; i < 5; i++) {
		struct test_result r = result(TEST_DOWNLOAD, SIZE_TINY, ST_OK, T0 + i, 1);

		metrics_record_at(&r, T0 + 1000);
	}
	assert_int_equal(metrics_flush(T0 + 1000), 0);
	assert_int_equal(stat(mfile, &st), 0);
	before = st.st_size;

	for (int i = 0; i < 30; i++) {
		struct test_result r = result(TEST_UPLOAD, SIZE_LARGE, ST_OK, T0 + 100 + i, 1);

		metrics_record_at(&r, T0 + 2000);
	}
	writes_allowed = 1; /* half of the chunk goes, then the disk is full */
	metrics_set_write_fn(short_write);
	assert_int_equal(metrics_flush(T0 + 2000), -1);
	assert_int_equal(stat(mfile, &st), 0);
	assert_int_equal(st.st_size, before); /* cut back: no half line */
	assert_int_equal(count_lines(mfile), 5);
	metrics_get_counters(&c);
	assert_int_equal(c.write_errors, 1);
	assert_int_equal(c.cached, 35); /* 30 to write, 5 waiting for their summary */
	assert_int_equal(c.lines_written, 5);

	/* Space again: the kept records are written, each once. */
	metrics_set_write_fn(NULL);
	assert_int_equal(metrics_flush(T0 + 3000), 0);
	assert_int_equal(count_lines(mfile), 35);
	metrics_get_counters(&c);
	assert_int_equal(c.lines_written, 35);
}

/* The same with a real limit: RLIMIT_FSIZE makes write() stop short at
 * the limit and then fail with EFBIG (SIGXFSZ ignored). In a child, so
 * the limit does not touch the other tests. */
static void test_file_size_limit(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(metrics_init(NULL), 0);
	for (int i = 0; i < 3; i++) {
		struct test_result r = result(TEST_DOWNLOAD, SIZE_TINY, ST_OK, T0 + i, 1);

		metrics_record_at(&r, T0 + 1000);
	}
	assert_int_equal(metrics_flush(T0 + 1000), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl;
		struct stat st;
		off_t before;
		int bad = 0;

		signal(SIGXFSZ, SIG_IGN);
		if (stat(mfile, &st) != 0)
			_exit(10);
		before = st.st_size;
		rl.rlim_cur = rl.rlim_max = (rlim_t)st.st_size + 700;
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(11);
		for (int i = 0; i < 50; i++) {
			struct test_result r = result(TEST_DOWNLOAD, SIZE_TINY, ST_OK, T0 + 10 + i, 1);

			metrics_record_at(&r, T0 + 2000);
		}
		bad |= metrics_flush(T0 + 2000) != -1;
		bad |= count_lines(mfile) != 3;
		bad |= stat(mfile, &st) != 0 || st.st_size != before;
		_exit(bad ? 12 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(count_lines(mfile), 3);
}

static void test_rotation(void **state)
{
	char path[400];
	struct metrics_counters c;
	size_t total = 0;

	(void)state;
	set("METRICS_MAX_MB", "1");
	set("METRICS_KEEP", "2");
	assert_int_equal(metrics_init(NULL), 0);
	/* Four flushes of about 0.7 MB each. */
	for (int f = 0; f < 4; f++) {
		for (int i = 0; i < 2500; i++) {
			struct test_result r = result(TEST_DOWNLOAD, SIZE_TINY, ST_OK,
						      T0 + f * MINUTE + i, 1);

			memset(r.address, 'a', 64);
			assert_int_equal(metrics_record_at(&r, T0 + f * MINUTE + 5000), 0);
		}
		assert_int_equal(metrics_flush(T0 + f * MINUTE + 6000), 0);
	}
	metrics_get_counters(&c);
	assert_true(c.rotations >= 2);
	total += count_lines(mfile);
	snprintf(path, sizeof(path), "%s.1", mfile);
	total += count_lines(path);
	snprintf(path, sizeof(path), "%s.2", mfile);
	total += count_lines(path);
	snprintf(path, sizeof(path), "%s.3", mfile);
	assert_int_equal(access(path, F_OK), -1);
	/* Each file stays under the limit, and what is kept is whole. */
	assert_true(total >= 2 * 2500 && total % 2500 == 0);
	assert_true(total < 10000);
}

static void test_cache_cap(void **state)
{
	struct metrics_counters c;

	(void)state;
	assert_int_equal(metrics_init(NULL), 0);
	metrics_set_cache_max(5);
	for (int i = 0; i < 7; i++) {
		struct test_result r = result(TEST_QUOTE, SIZE_TINY, ST_OK, T0 + i, 1);

		assert_int_equal(metrics_record_at(&r, T0 + 100), i < 5 ? 0 : -1);
	}
	metrics_get_counters(&c);
	assert_int_equal(c.cached, 5);
	assert_int_equal(c.dropped, 2);
	assert_int_equal(c.recorded, 5);
	assert_int_equal(metrics_flush_all(T0 + 200), 0);
	assert_int_equal(count_lines(mfile), 5);
	assert_true(metrics_cache_bytes() < 5 * 256 + 4096 * 2 + 256 * 56);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_agent_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_line_content, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fast_writer_matches_generic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_task_tag_repeats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unique_timestamps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_write_keeps_whole_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_size_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_cap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

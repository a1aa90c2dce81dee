/* The client contract: argv, environment, output parsing and
 * classification as pure functions, then real calls of ant-sim: every
 * classification, timeouts that leave no process behind, output caps,
 * terminate, and client paths that cannot run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <pthread.h>
#include <unistd.h>

#define SIM ANT_BUILD_DIR "/ant-sim"

static char g_dir[64];

static void set(const char *k, const char *v)
{
	char err[256];

	assert_int_equal(config_set(k, v, CFG_SRC_CLI, err, sizeof(err)), 0);
}

static void clear_sim_env(void)
{
	static const char *const knobs[] = { "ANT_SIM_FAIL_KIND", "ANT_SIM_FAIL_RATE", "ANT_SIM_HANG",
		"ANT_SIM_HANG_PIDFILE", "ANT_SIM_PANIC", "ANT_SIM_GARBAGE", "ANT_SIM_ENDLESS",
		"ANT_SIM_CORRUPT", "ANT_SIM_EXIT", "ANT_SIM_LATENCY_MS", "ANT_SIM_ARCHIVE", NULL };

	for (int i = 0; knobs[i]; i++)
		unsetenv(knobs[i]);
}

static int setup(void **state)
{
	char store[128];

	(void)state;
	config_reset();
	clock_setup(-1, 1.0);
	set("CLIENT_PATH", SIM);
	/* ant-sim reads its knobs from the environment. */
	set("CLIENT_ENV_PASS", "ANT_SIM_*");
	set("CLIENT_KILL_GRACE_SECS", "1");
	clear_sim_env();
	snprintf(store, sizeof(store), "%s/store", g_dir);
	setenv("ANT_SIM_STORE", store, 1);
	/* Client logs and caches stay in the scratch directory. */
	setenv("HOME", g_dir, 1);
	snprintf(store, sizeof(store), "%s/logs", g_dir);
	set("CLIENT_LOGGING_PATH", store);
	return 0;
}

/* ---------------------------------------------------------------- */
/* Pure parts.                                                       */

static void test_argv_globals_before_subcommand(void **state)
{
	struct client_settings s = { "/opt/ant", "p1, p2 \tp3,", "/var/log/ant", " --network-id 2  --x " };
	struct client_request req = { .op = CLIENT_OP_DOWNLOAD, .address = "abcDEF0123",
				      .dest = "/tmp/t/data" };
	/* Peers never go on argv (ant 0.5 reads --peer only on custom
	 * networks); downloads always bypass the client's chunk cache. */
	static const char *const want[] = { "/opt/ant", "--network-id", "2", "--x",
		"--log-output-dest", "/var/log/ant/log_1", "file", "download",
		"abcDEF0123", "/tmp/t/data", "--disable-cache", NULL };
	char err[200];
	char **v;

	(void)state;
	v = client_build_argv(&s, &req, "/var/log/ant/log_1", err, sizeof(err));
	assert_non_null(v);
	for (int i = 0; want[i]; i++)
		assert_string_equal(v[i], want[i]);
	assert_null(v[ARRAY_SIZE(want) - 1]);
	client_argv_free(v);

	s.peers = "";
	s.log_path = "";
	s.extra = "";
	req.op = CLIENT_OP_UPLOAD;
	req.file = "/tmp/seed.bin";
	req.public_upload = true;
	v = client_build_argv(&s, &req, NULL, err, sizeof(err));
	assert_non_null(v);
	assert_string_equal(v[1], "file");
	assert_string_equal(v[2], "upload");
	assert_string_equal(v[3], "/tmp/seed.bin");
	assert_string_equal(v[4], "--public");
	assert_null(v[5]);
	client_argv_free(v);
	req.op = CLIENT_OP_COST;
	v = client_build_argv(&s, &req, NULL, err, sizeof(err));
	assert_non_null(v);
	assert_string_equal(v[2], "cost");
	assert_null(v[4]);
	client_argv_free(v);
	/* A log directory that reads as an option is refused. */
	assert_null(client_build_argv(&s, &req, "-x", err, sizeof(err)));
}

static void test_argv_refuses_hostile_input(void **state)
{
	static const char *const bad[] = { "../../etc/passwd", "a/b", "abc; rm -rf /", "$(reboot)",
		"ab cd", "", "`id`", "0x12", "-rf", "ab\ncd", NULL };
	struct client_settings s = { "/opt/ant", "", "", "" };
	struct client_request req = { .op = CLIENT_OP_DOWNLOAD, .dest = "/tmp/t/data" };
	char err[200], longaddr[CAT_ADDRESS_MAX + 2];

	(void)state;
	for (int i = 0; bad[i]; i++) {
		req.address = bad[i];
		assert_null(client_build_argv(&s, &req, NULL, err, sizeof(err)));
		assert_false(client_address_valid(bad[i]));
	}
	memset(longaddr, 'a', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	req.address = longaddr;
	assert_null(client_build_argv(&s, &req, NULL, err, sizeof(err)));
	req.address = NULL;
	assert_null(client_build_argv(&s, &req, NULL, err, sizeof(err)));
	req.address = "abc";
	req.dest = "-o";
	assert_null(client_build_argv(&s, &req, NULL, err, sizeof(err)));
	req.dest = "/tmp/a\nb";
	assert_null(client_build_argv(&s, &req, NULL, err, sizeof(err)));
	req.op = CLIENT_OP_UPLOAD;
	req.file = "--help";
	assert_null(client_build_argv(&s, &req, NULL, err, sizeof(err)));
}

static void test_env_secret_only_when_given(void **state)
{
	char *env[] = { "PATH=/bin", "SECRET_KEY=agent-secret", "HOME=/root", "SECRET_KEYS=other",
			"ANT_PEERS=/ip4/9.9.9.9/udp/1/quic-v1", NULL };
	struct client_settings s = { "/opt/ant", "", "", "" };
	char **v;

	(void)state;
	v = client_build_env(env, &s, NULL);
	assert_string_equal(v[0], "PATH=/bin");
	assert_string_equal(v[1], "HOME=/root");
	/* Without CLIENT_PEERS an inherited ANT_PEERS is the user's choice. */
	assert_string_equal(v[2], "ANT_PEERS=/ip4/9.9.9.9/udp/1/quic-v1");
	assert_null(v[3]);
	client_argv_free(v);
	v = client_build_env(env, &s, "upload-key");
	assert_string_equal(v[3], "SECRET_KEY=upload-key");
	assert_null(v[4]);
	client_argv_free(v);
	v = client_build_env(env, &s, "");
	assert_null(v[3]);
	client_argv_free(v);
	/* CLIENT_PEERS replaces it, joined with commas, for every call. */
	s.peers = " /ip4/1.2.3.4/udp/5/quic-v1, /ip6/::1/tcp/7 \t";
	v = client_build_env(env, &s, NULL);
	assert_string_equal(v[2], "ANT_PEERS=/ip4/1.2.3.4/udp/5/quic-v1,/ip6/::1/tcp/7");
	assert_null(v[3]);
	client_argv_free(v);
}

static bool env_has(char **v, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; v[i]; i++)
		if (strncmp(v[i], name, n) == 0 && v[i][n] == '=')
			return true;
	return false;
}

/* Only the allowlist reaches a client: the base names, what the row reads,
 * what CLIENT_ENV_PASS adds; never a token, even when named there. */
static void test_env_allowlist(void **state)
{
	char *env[] = { "PATH=/bin", "HOME=/h", "LANG=C.UTF-8", "LC_ALL=C", "TZ=UTC", "TMPDIR=/t",
			"INFLUX_TOKEN=tok", "GITHUB_TOKEN=gh", "INFLUX_PASSWORD=pw",
			"AWS_SECRET_ACCESS_KEY=aws", "EVM_NETWORK=arbitrum-one", "RUST_LOG=info",
			"ANT_SIM_HANG=1", "ANT_SIMPLE=1", "FOO=bar", "LCX=1", NULL };
	struct client_settings s = { "/opt/ant", "", "", "" };
	char **v;

	(void)state;
	set("CLIENT_ENV_PASS", "");
	v = client_build_env(env, &s, NULL);
	assert_true(env_has(v, "PATH") && env_has(v, "HOME") && env_has(v, "LANG"));
	assert_true(env_has(v, "LC_ALL") && env_has(v, "TZ") && env_has(v, "TMPDIR"));
	assert_true(env_has(v, "EVM_NETWORK") && env_has(v, "RUST_LOG"));
	assert_false(env_has(v, "INFLUX_TOKEN"));
	assert_false(env_has(v, "GITHUB_TOKEN"));
	assert_false(env_has(v, "INFLUX_PASSWORD"));
	assert_false(env_has(v, "AWS_SECRET_ACCESS_KEY"));
	assert_false(env_has(v, "ANT_SIM_HANG"));
	assert_false(env_has(v, "FOO"));
	assert_false(env_has(v, "LCX"));
	client_argv_free(v);
	set("CLIENT_ENV_PASS", "ANT_SIM_*, FOO GITHUB_TOKEN INFLUX_*");
	v = client_build_env(env, &s, NULL);
	assert_true(env_has(v, "ANT_SIM_HANG") && env_has(v, "FOO"));
	assert_false(env_has(v, "ANT_SIMPLE"));
	assert_false(env_has(v, "GITHUB_TOKEN"));
	assert_false(env_has(v, "INFLUX_TOKEN"));
	assert_false(env_has(v, "INFLUX_PASSWORD"));
	client_argv_free(v);
}

static void test_strip_ansi(void **state)
{
	char s[] = "\x1b[31mError:\x1b[0m \x1b[1;91mFailed\x1b[0m\x1b]0;title\a ok\x1b(B";

	(void)state;
	assert_int_equal(client_strip_ansi(s), strlen("Error: Failed ok"));
	assert_string_equal(s, "Error: Failed ok");
}

static void test_parse_output(void **state)
{
	struct client_parsed p;

	(void)state;
	client_parse_output(CLIENT_OP_DOWNLOAD, "Fetching...\nSuccessfully downloaded file at: ab\n", &p);
	assert_true(p.success_line);
	/* What a failed download prints on stdout is not success. */
	client_parse_output(CLIENT_OP_DOWNLOAD, "Successfully downloaded chunks were cached.\n", &p);
	assert_false(p.success_line);
	client_parse_output(CLIENT_OP_DOWNLOAD, "Successfully\nDone: Successfully downloaded\n", &p);
	assert_false(p.success_line);
	client_parse_output(CLIENT_OP_COST, "Getting upload cost...\nTotal cost: 0.000004000000000000\n", &p);
	assert_true(p.success_line);
	assert_true(p.has_cost);
	assert_true(p.cost_atto == UINT64_C(4000000000000));
	client_parse_output(CLIENT_OP_COST, "Total cost: 12 AttoTokens\n", &p);
	assert_true(p.success_line);
	assert_true(p.cost_atto == 12);
	client_parse_output(CLIENT_OP_COST, "Total cost: lots\n", &p);
	assert_false(p.success_line);
	assert_false(p.has_cost);
	client_parse_output(CLIENT_OP_UPLOAD,
			    "Uploading data to network...\nAt address: 00ff\nNumber of chunks uploaded: 5\n"
			    "Number of chunks already paid/uploaded: 2\nTotal cost: 0.5\n", &p);
	assert_true(p.success_line);
	assert_string_equal(p.address, "00ff");
	assert_int_equal(p.chunks_uploaded, 5);
	assert_int_equal(p.chunks_existing, 2);
	assert_true(p.has_cost && p.cost_atto == UINT64_C(500000000000000000));
	client_parse_output(CLIENT_OP_UPLOAD, "At address: ../../etc/passwd\n", &p);
	assert_false(p.success_line);
	assert_true(p.address_invalid);
	assert_string_equal(p.address, "");
	client_parse_output(CLIENT_OP_UPLOAD, "All chunks already exist on the network.\n", &p);
	assert_true(p.success_line);
	assert_true(p.all_exist);
	assert_int_equal(p.chunks_uploaded, 0);
	assert_true(p.has_cost && p.cost_atto == 0);
}

/* ---------------------------------------------------------------- */
/* Real calls.                                                       */

struct outcome {
	int calls;
	struct client_result r;
	char out[512];
	char err[4096];
	size_t out_len;
};

static void on_done(const struct client_result *r, void *ud)
{
	struct outcome *o = ud;

	o->calls++;
	o->r = *r;
	o->out_len = r->out_len;
	snprintf(o->out, sizeof(o->out), "%s", r->out);
	snprintf(o->err, sizeof(o->err), "%s", r->err);
	o->r.out = o->r.err = NULL;
}

static struct client_call *g_to_stop;

static void stop_cb(uv_timer_t *t)
{
	client_terminate(g_to_stop, (bool)(uintptr_t)t->data);
}

/* Run one call to its end. stop_after_ms > 0: client_terminate then. */
static void run_call(const struct client_request *req, struct outcome *o, int stop_after_ms, bool force)
{
	uv_loop_t loop;
	uv_timer_t stop;
	char err[256];
	struct client_call *c;

	memset(o, 0, sizeof(*o));
	assert_int_equal(uv_loop_init(&loop), 0);
	c = client_start(&loop, req, on_done, o, err, sizeof(err));
	if (c == NULL)
		fail_msg("client_start: %s", err);
	if (stop_after_ms > 0) {
		g_to_stop = c;
		uv_timer_init(&loop, &stop);
		stop.data = (void *)(uintptr_t)force;
		uv_timer_start(&stop, stop_cb, (uint64_t)stop_after_ms, 0);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	if (stop_after_ms > 0) {
		uv_close((uv_handle_t *)&stop, NULL);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	assert_int_equal(o->calls, 1);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void make_file(const char *path, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		fputc((int)(i * 31 % 251), f);
	fclose(f);
}

/* Upload through the client module; returns the address in addr. */
static void upload(const char *file, char *addr, size_t n)
{
	struct client_request req = { .op = CLIENT_OP_UPLOAD, .file = file, .public_upload = true,
				      .timeout_ms = 30000 };
	struct outcome o;

	run_call(&req, &o, 0, false);
	if (o.r.status != ST_OK)
		fail_msg("upload: %s (%s): %s", test_status_name(o.r.status), o.r.reason, o.err);
	snprintf(addr, n, "%s", o.r.parsed.address);
}

static int g_forks;

static void count_fork(void)
{
	g_forks++;
}

/* A client starts without fork(): the agent's page tables are never
 * copied (the child runs on the parent's memory until exec).
 * fork() runs the pthread_atfork handlers; a vfork-style spawn does not.
 * The call still works: output captured, exit noticed, own group. */
static void test_spawn_without_fork(void **state)
{
	char file[160];
	struct client_request req = { .op = CLIENT_OP_COST, .timeout_ms = 30000 };
	struct outcome o;

	(void)state;
	snprintf(file, sizeof(file), "%s/spawn.bin", g_dir);
	make_file(file, 3000);
	req.file = file;
	assert_int_equal(pthread_atfork(count_fork, NULL, NULL), 0);
	g_forks = 0;
	run_call(&req, &o, 0, false);
	assert_int_equal(o.r.status, ST_OK);
	assert_true(o.r.parsed.has_cost);
	assert_int_equal(g_forks, 0);
}

static void test_ant_sim_ok_each_op(void **state)
{
	char file[128], dest[128], addr[CAT_ADDRESS_MAX + 1];
	struct client_request req = { .timeout_ms = 30000 };
	struct outcome o;

	(void)state;
	snprintf(file, sizeof(file), "%s/up.bin", g_dir);
	snprintf(dest, sizeof(dest), "%s/down.bin", g_dir);
	make_file(file, 100000);
	upload(file, addr, sizeof(addr));
	assert_int_equal(strlen(addr), 64);

	req.op = CLIENT_OP_DOWNLOAD;
	req.address = addr;
	req.dest = dest;
	run_call(&req, &o, 0, false);
	assert_int_equal(o.r.status, ST_OK);
	assert_int_equal(o.r.exit_code, 0);
	assert_true(o.r.elapsed_s > 0.0 && o.r.elapsed_s < 30.0);
	assert_int_equal(access(dest, F_OK), 0);

	/* A quote of stored content costs 0; of new content 10^12 per chunk. */
	req.op = CLIENT_OP_COST;
	req.file = file;
	run_call(&req, &o, 0, false);
	assert_int_equal(o.r.status, ST_OK);
	assert_true(o.r.parsed.has_cost);
	assert_true(o.r.parsed.cost_atto == 0);
	snprintf(dest, sizeof(dest), "%s/new.bin", g_dir);
	make_file(dest, 100001);
	req.file = dest;
	run_call(&req, &o, 0, false);
	assert_int_equal(o.r.status, ST_OK);
	assert_true(o.r.parsed.cost_atto == UINT64_C(3000000000000));
	req.file = file;

	/* The same content again: all chunks exist, still a success. */
	req.op = CLIENT_OP_UPLOAD;
	req.public_upload = true;
	run_call(&req, &o, 0, false);
	assert_int_equal(o.r.status, ST_OK);
	assert_true(o.r.parsed.all_exist);
	/* As the real client: no address, counts or cost, only the line. */
	assert_string_equal(o.r.parsed.address, "");
	assert_int_equal(o.r.parsed.chunks_uploaded, 0);
	assert_int_equal(o.r.parsed.chunks_existing, 4);
	assert_true(o.r.parsed.has_cost && o.r.parsed.cost_atto == 0);
}

static void test_ant_sim_each_classification(void **state)
{
	static const struct { const char *kind; int code; enum test_status st; } t[] = {
		{ "network", 13, ST_NETWORK_ERROR }, { "bootstrap", 51, ST_NETWORK_ERROR },
		{ "connect", 59, ST_NETWORK_ERROR }, { "data", 33, ST_DATA_LOSS },
		{ "decrypt", 32, ST_DATA_LOSS }, { "serialization", 11, ST_DATA_LOSS },
		{ "input", 6, ST_CLIENT_ERROR }, { "io", 12, ST_CLIENT_ERROR },
		{ "protocol", 14, ST_NETWORK_ERROR }, { "evm", 61, ST_CLIENT_ERROR },
		{ "usage", 2, ST_CLIENT_ERROR }, { "panic", 101, ST_CLIENT_ERROR },
		{ "legacy-network", 1, ST_NETWORK_ERROR }, { "legacy-data", 1, ST_DATA_LOSS },
		{ "legacy", 1, ST_UNKNOWN_ERROR },
	};
	struct client_request req = { .op = CLIENT_OP_DOWNLOAD, .address = "abcdef", .timeout_ms = 30000 };
	char dest[128];
	struct outcome o;

	(void)state;
	snprintf(dest, sizeof(dest), "%s/never", g_dir);
	req.dest = dest;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		setenv("ANT_SIM_FAIL_KIND", t[i].kind, 1);
		run_call(&req, &o, 0, false);
		if (o.r.status != t[i].st || o.r.exit_code != t[i].code)
			fail_msg("kind %s: status %s exit %d (%s)", t[i].kind, test_status_name(o.r.status),
				 o.r.exit_code, o.r.reason);
		/* ANSI colours are gone from what the agent looks at. */
		assert_null(strchr(o.err, '\x1b'));
	}
	unsetenv("ANT_SIM_FAIL_KIND");
	{
		/* Uploads and quotes, shaped like the real failures: a quote
		 * failure is exit 23 on upload, and every `file cost` failure
		 * exits 1 with an Error: report that the text classifies. */
		static const struct { enum client_op op; const char *kind; int code;
				      enum test_status st; } u[] = {
			{ CLIENT_OP_UPLOAD, "quotes", 23, ST_NETWORK_ERROR },
			{ CLIENT_OP_UPLOAD, "quote-timeout", 23, ST_NETWORK_ERROR },
			{ CLIENT_OP_UPLOAD, "payment", 22, ST_CLIENT_ERROR },
			{ CLIENT_OP_UPLOAD, "put", 44, ST_NETWORK_ERROR },
			{ CLIENT_OP_UPLOAD, "nowallet", 12, ST_CLIENT_ERROR },
			{ CLIENT_OP_COST, "quotes", 1, ST_NETWORK_ERROR },
			{ CLIENT_OP_COST, "quote-timeout", 1, ST_NETWORK_ERROR },
			{ CLIENT_OP_COST, "connect", 1, ST_NETWORK_ERROR },
			{ CLIENT_OP_COST, "network", 1, ST_NETWORK_ERROR },
		};
		struct client_request ureq = { .timeout_ms = 30000 };
		char file[128];

		snprintf(file, sizeof(file), "%s/fail.bin", g_dir);
		make_file(file, 5000);
		ureq.file = file;
		for (size_t i = 0; i < ARRAY_SIZE(u); i++) {
			ureq.op = u[i].op;
			setenv("ANT_SIM_FAIL_KIND", u[i].kind, 1);
			run_call(&ureq, &o, 0, false);
			if (o.r.status != u[i].st || o.r.exit_code != u[i].code)
				fail_msg("%s %s: status %s exit %d (%s)", client_op_name(u[i].op), u[i].kind,
					 test_status_name(o.r.status), o.r.exit_code, o.r.reason);
			if (u[i].op == CLIENT_OP_COST && strncmp(o.err, "Error: ", 7) != 0)
				fail_msg("cost %s: no Error: report", u[i].kind);
		}
		unsetenv("ANT_SIM_FAIL_KIND");
	}
	/* An address the store does not have: the real 33. */
	run_call(&req, &o, 0, false);
	assert_int_equal(o.r.status, ST_DATA_LOSS);
	assert_int_equal(o.r.exit_code, 33);
	assert_non_null(strstr(o.err, "Record could not be found"));
	/* Panic knob, garbage (exit 0 but no success line). */
	setenv("ANT_SIM_PANIC", "1", 1);
	run_call(&req, &o, 0, false);
	assert_int_equal(o.r.status, ST_CLIENT_ERROR);
	assert_int_equal(o.r.exit_code, 101);
	assert_non_null(strstr(o.err, "panicked"));
	unsetenv("ANT_SIM_PANIC");
	setenv("ANT_SIM_GARBAGE", "1", 1);
	run_call(&req, &o, 0, false);
	assert_int_equal(o.r.exit_code, 0);
	assert_int_equal(o.r.status, ST_UNKNOWN_ERROR);
	unsetenv("ANT_SIM_GARBAGE");
}

static void test_success_line_with_bad_exit(void **state)
{
	char file[128], dest[128], addr[CAT_ADDRESS_MAX + 1];
	struct client_request req = { .op = CLIENT_OP_DOWNLOAD, .timeout_ms = 30000 };
	struct outcome o;

	(void)state;
	snprintf(file, sizeof(file), "%s/s.bin", g_dir);
	snprintf(dest, sizeof(dest), "%s/s.out", g_dir);
	make_file(file, 1000);
	upload(file, addr, sizeof(addr));
	req.address = addr;
	req.dest = dest;
	setenv("ANT_SIM_EXIT", "13", 1);
	run_call(&req, &o, 0, false);
	unsetenv("ANT_SIM_EXIT");
	assert_non_null(strstr(o.out, "Successfully downloaded"));
	assert_true(o.r.parsed.success_line);
	assert_int_equal(o.r.status, ST_NETWORK_ERROR);
}

static bool group_gone(pid_t pgid, pid_t grandchild)
{
	for (int i = 0; i < 500; i++) {
		/* We are a subreaper: the orphaned grandchild is ours to reap. */
		if (grandchild > 0)
			waitpid(grandchild, NULL, WNOHANG);
		if (kill(-pgid, 0) != 0 && errno == ESRCH)
			return true;
		usleep(10000);
	}
	return false;
}

static pid_t read_pid(const char *path)
{
	struct buf b;
	int64_t v = -1;

	buf_init(&b, 64);
	if (file_read_all(path, 64, &b) == 0)
		parse_i64(b.data, 1, INT32_MAX, &v);
	buf_free(&b);
	return (pid_t)v;
}

struct timeout_case {
	const char *mode;
	bool need_kill;
};

static void test_timeout_kills_the_group(void **state)
{
	static const struct timeout_case cases[] = { { "fork", false }, { "stubborn", true } };
	char file[128], pidfile[128];
	struct client_request req = { .op = CLIENT_OP_COST };
	uv_loop_t loop;
	struct outcome o;

	(void)state;
	/* Schedule time runs 10x: a 5 s timeout is 0.5 s of real time and
	 * the 1 s SIGKILL grace is 0.1 s. */
	clock_setup(-1, 10.0);
	snprintf(file, sizeof(file), "%s/t.bin", g_dir);
	snprintf(pidfile, sizeof(pidfile), "%s/grandchild.pid", g_dir);
	make_file(file, 10);
	req.file = file;
	req.timeout_ms = 5000;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[256];
		struct client_call *c;
		pid_t pgid, grandchild;
		uint64_t t0 = clock_mono_ns();
		double real_s;

		unlink(pidfile);
		setenv("ANT_SIM_HANG", "fork", 1);
		if (cases[i].need_kill)
			setenv("ANT_SIM_HANG", "stubborn", 1);
		setenv("ANT_SIM_HANG_PIDFILE", pidfile, 1);
		memset(&o, 0, sizeof(o));
		uv_loop_init(&loop);
		c = client_start(&loop, &req, on_done, &o, err, sizeof(err));
		assert_non_null(c);
		uv_run(&loop, UV_RUN_DEFAULT);
		assert_int_equal(uv_loop_close(&loop), 0);
		pgid = o.r.pid;
		assert_true(pgid > 0);
		real_s = (double)(clock_mono_ns() - t0) / 1e9;
		assert_int_equal(o.calls, 1);
		assert_int_equal(o.r.status, ST_KILLED);
		assert_true(o.r.timed_out);
		assert_int_equal(o.r.killed, cases[i].need_kill);
		assert_true(real_s >= 0.45 && real_s < 20.0);
		/* The child was reaped by libuv: no zombie left. */
		assert_int_equal(waitpid(pgid, NULL, WNOHANG), -1);
		grandchild = cases[i].need_kill ? 0 : read_pid(pidfile);
		if (!cases[i].need_kill)
			assert_true(grandchild > 0);
		assert_true(group_gone(pgid, grandchild));
		if (grandchild > 0)
			assert_int_equal(kill(grandchild, 0), -1);
	}
	unsetenv("ANT_SIM_HANG");
	unsetenv("ANT_SIM_HANG_PIDFILE");
	clock_setup(-1, 1.0);
}

static void test_endless_output_is_capped(void **state)
{
	char file[128];
	struct client_request req = { .op = CLIENT_OP_COST, .timeout_ms = 1500 };
	struct outcome o;

	(void)state;
	snprintf(file, sizeof(file), "%s/e.bin", g_dir);
	make_file(file, 10);
	req.file = file;
	setenv("ANT_SIM_ENDLESS", "both", 1);
	run_call(&req, &o, 0, false);
	unsetenv("ANT_SIM_ENDLESS");
	assert_int_equal(o.r.status, ST_KILLED);
	assert_true(o.out_len <= CLIENT_OUTPUT_HEAD + CLIENT_OUTPUT_TAIL + 64);
	assert_true(o.r.err_len <= CLIENT_OUTPUT_HEAD + CLIENT_OUTPUT_TAIL + 64);
	/* It kept reading (so the child never blocked) and dropped the middle. */
	assert_true(o.r.out_dropped > 1024 * 1024);
	assert_true(o.r.err_dropped > 1024 * 1024);
}

static void test_terminate(void **state)
{
	char file[128];
	struct client_request req = { .op = CLIENT_OP_COST, .timeout_ms = 60000 };
	struct outcome o;

	(void)state;
	snprintf(file, sizeof(file), "%s/h.bin", g_dir);
	make_file(file, 10);
	req.file = file;
	setenv("ANT_SIM_HANG", "1", 1);
	run_call(&req, &o, 200, false);
	assert_int_equal(o.r.status, ST_KILLED);
	assert_true(o.r.terminated);
	assert_false(o.r.timed_out);
	assert_int_equal(o.r.term_signal, SIGTERM);
	setenv("ANT_SIM_HANG", "stubborn", 1);
	run_call(&req, &o, 200, true);
	assert_int_equal(o.r.status, ST_KILLED);
	assert_true(o.r.killed);
	assert_int_equal(o.r.term_signal, SIGKILL);
	unsetenv("ANT_SIM_HANG");
}

static void test_client_path_errors(void **state)
{
	struct client_request req = { .op = CLIENT_OP_COST, .file = "/etc/hostname", .timeout_ms = 1000 };
	char path[128], err[256];
	uv_loop_t loop;

	(void)state;
	uv_loop_init(&loop);
	set("CLIENT_PATH", g_dir);
	assert_null(client_start(&loop, &req, on_done, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "is a directory"));
	snprintf(path, sizeof(path), "%s/not-exec", g_dir);
	make_file(path, 10);
	chmod(path, 0644);
	set("CLIENT_PATH", path);
	assert_null(client_start(&loop, &req, on_done, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "not an executable"));
	set("CLIENT_PATH", "/nonexistent/ant");
	assert_null(client_start(&loop, &req, on_done, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "not found"));
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---------------------------------------------------------------- */
/* Spawning off the loop thread.                                     */

#define MANY_CALLS 50

struct many {
	int calls;
	struct client_result r;
	char file[128];
	char out[4096];
	char err[512];
};

static void on_many_done(const struct client_result *r, void *ud)
{
	struct many *m = ud;

	m->calls++;
	m->r = *r;
	snprintf(m->out, sizeof(m->out), "%s", r->out);
	snprintf(m->err, sizeof(m->err), "%s", r->err);
	m->r.out = m->r.err = NULL;
}

static void write_script(const char *path, const char *body, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(body, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* Descriptors of this process a child may inherit legitimately: those
 * open without close-on-exec when the test began (from whatever ran it). */
static bool g_inheritable[1024];

static void note_inheritable(void)
{
	for (int fd = 3; fd < (int)ARRAY_SIZE(g_inheritable); fd++) {
		int fl = fcntl(fd, F_GETFD);

		g_inheritable[fd] = fl >= 0 && !(fl & FD_CLOEXEC);
	}
}

/* The fds in `ls -l /proc/self/fd` output: only 0-2, ls's own directory
 * and what the test inherited may be open. */
static void assert_only_own_fds(const char *out, const char *what)
{
	const char *line = out;
	int seen = 0;

	while ((line = strstr(line, " -> ")) != NULL) {
		const char *p = line;
		int fd;

		while (p > out && p[-1] >= '0' && p[-1] <= '9')
			p--;
		fd = (int)strtol(p, NULL, 10);
		line += 4;
		seen++;
		if (fd <= 2 || strncmp(line, "/proc/", 6) == 0)
			continue;
		if (fd < (int)ARRAY_SIZE(g_inheritable) && g_inheritable[fd])
			continue;
		fail_msg("%s: the child has fd %d open (%.40s)", what, fd, line);
	}
	assert_true(seen >= 3);
}

static void test_many_calls_at_once(void **state)
{
	char script[128], err[256];
	struct client_request req = { .op = CLIENT_OP_COST, .timeout_ms = 60000 };
	struct many *m = xcalloc(MANY_CALLS, sizeof(*m));
	uv_loop_t loop;

	(void)state;
	note_inheritable();
	snprintf(script, sizeof(script), "%s/fdlist.sh", g_dir);
	/* Each call prints its own argv on both streams, lingers so that
	 * the others are spawned meanwhile, then lists its descriptors. */
	write_script(script, "#!/bin/sh\necho \"args: $*\"\necho \"err: $*\" >&2\n"
		     "/bin/sleep 0.2\nexec /bin/ls -l /proc/self/fd\n", 0755);
	set("CLIENT_PATH", script);
	assert_int_equal(uv_loop_init(&loop), 0);
	for (int i = 0; i < MANY_CALLS; i++) {
		snprintf(m[i].file, sizeof(m[i].file), "%s/many-%d.bin", g_dir, i);
		req.file = m[i].file;
		assert_non_null(client_start(&loop, &req, on_many_done, &m[i], err, sizeof(err)));
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	for (int i = 0; i < MANY_CALLS; i++) {
		char want[160];

		assert_int_equal(m[i].calls, 1);
		assert_int_equal(m[i].r.exit_code, 0);
		assert_true(m[i].r.pid > 0);
		/* Its own output, and only its own. */
		snprintf(want, sizeof(want), "%s\n", m[i].file);
		assert_non_null(strstr(m[i].out, want));
		assert_non_null(strstr(m[i].err, want));
		assert_null(strstr(strstr(m[i].out, want) + 1, "args: "));
		assert_only_own_fds(m[i].out, m[i].file);
	}
	free(m);
}

/* A lone call is spawned on the loop, with no thread hand-off; two calls
 * started in the same turn of the loop are a burst and both go to the
 * threads, so the loop never waits for one child's exec while the other
 * waits behind it. */
static void test_lone_call_spawns_on_the_loop(void **state)
{
	struct client_request req = { .op = CLIENT_OP_COST, .file = "/etc/hostname",
				      .timeout_ms = 30000 };
	struct outcome o1, o2, o3;
	uint64_t loop0, thr0, loop1, thr1, loop2, thr2;
	char err[256];
	uv_loop_t loop;

	(void)state;
	memset(&o1, 0, sizeof(o1));
	memset(&o2, 0, sizeof(o2));
	memset(&o3, 0, sizeof(o3));
	assert_int_equal(uv_loop_init(&loop), 0);
	client_spawn_counts(&loop0, &thr0);
	assert_non_null(client_start(&loop, &req, on_done, &o1, err, sizeof(err)));
	uv_run(&loop, UV_RUN_DEFAULT);
	client_spawn_counts(&loop1, &thr1);
	assert_int_equal(loop1 - loop0, 1);
	assert_int_equal(thr1 - thr0, 0);
	assert_non_null(client_start(&loop, &req, on_done, &o2, err, sizeof(err)));
	assert_non_null(client_start(&loop, &req, on_done, &o3, err, sizeof(err)));
	uv_run(&loop, UV_RUN_DEFAULT);
	client_spawn_counts(&loop2, &thr2);
	assert_int_equal(loop2 - loop1, 0);
	assert_int_equal(thr2 - thr1, 2);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(o1.calls + o2.calls + o3.calls, 3);
	assert_int_equal(o1.r.status, ST_OK);
	assert_int_equal(o2.r.status, ST_OK);
	assert_int_equal(o3.r.status, ST_OK);
	assert_true(o1.r.pid > 0 && o2.r.pid > 0 && o3.r.pid > 0);
}

static void on_usr2(int sig)
{
	(void)sig;
}

/* A client starts clean, whatever the agent does with signals: no signal
 * blocked and none ignored (the agent ignores SIGPIPE; both would outlive
 * exec), and stdin on /dev/null. */
static void test_child_starts_clean(void **state)
{
	struct client_request req = { .op = CLIENT_OP_COST, .file = "/etc/hostname",
				      .timeout_ms = 30000 };
	struct sigaction ign = { .sa_handler = SIG_IGN }, caught = { .sa_handler = on_usr2 };
	struct sigaction old_pipe, old_usr2;
	unsigned long k_ign[8] = { (unsigned long)SIG_IGN }, k_old[8];
	char script[128];
	struct outcome o;

	(void)state;
	snprintf(script, sizeof(script), "%s/sigs.sh", g_dir);
	write_script(script, "#!/bin/sh\n/bin/grep -E '^Sig(Blk|Ign):' /proc/$$/status\n"
		     "exec /bin/readlink /proc/self/fd/0\n", 0755);
	set("CLIENT_PATH", script);
	assert_int_equal(sigaction(SIGPIPE, &ign, &old_pipe), 0);
	assert_int_equal(sigaction(SIGUSR2, &caught, &old_usr2), 0);
	/* A signal glibc keeps for itself (its sigaction refuses it), ignored
	 * as a process can inherit it: the raw call, kernel layout, handler
	 * first. */
	assert_int_equal(syscall(SYS_rt_sigaction, 32, k_ign, k_old, _NSIG / 8), 0);
	run_call(&req, &o, 0, false);
	syscall(SYS_rt_sigaction, 32, k_old, NULL, _NSIG / 8);
	sigaction(SIGPIPE, &old_pipe, NULL);
	sigaction(SIGUSR2, &old_usr2, NULL);
	assert_int_equal(o.r.exit_code, 0);
	assert_string_equal(o.out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"
				   "/dev/null\n");
}

static void test_terminate_before_spawn(void **state)
{
	char file[128], err[256];
	struct client_request req = { .op = CLIENT_OP_COST, .timeout_ms = 60000 };
	struct many *m = xcalloc(MANY_CALLS, sizeof(*m));
	uv_loop_t loop;
	int never_started = 0, stopped = 0;

	(void)state;
	snprintf(file, sizeof(file), "%s/q.bin", g_dir);
	make_file(file, 10);
	req.file = file;
	setenv("ANT_SIM_HANG", "1", 1);
	assert_int_equal(uv_loop_init(&loop), 0);
	/* Stopped at once: most are still queued, a few may be spawning. */
	for (int i = 0; i < MANY_CALLS; i++) {
		struct client_call *c = client_start(&loop, &req, on_many_done, &m[i], err,
						     sizeof(err));

		assert_non_null(c);
		client_terminate(c, i % 2 == 1);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	unsetenv("ANT_SIM_HANG");
	for (int i = 0; i < MANY_CALLS; i++) {
		assert_int_equal(m[i].calls, 1);
		assert_int_equal(m[i].r.status, ST_KILLED);
		assert_true(m[i].r.terminated);
		assert_false(m[i].r.timed_out);
		assert_int_equal(m[i].r.killed, i % 2 == 1);
		if (m[i].r.pid == 0) {
			never_started++;
			assert_int_equal(m[i].r.exit_code, -1);
			assert_non_null(strstr(m[i].r.reason, "before the client started"));
			continue;
		}
		/* Spawned while being stopped: signalled once its pid was known,
		 * so the hanging client never ran to its end. */
		stopped++;
		assert_int_equal(m[i].r.term_signal, i % 2 == 1 ? SIGKILL : SIGTERM);
		assert_int_equal(kill(-m[i].r.pid, 0), -1);
	}
	assert_true(never_started > 0);
	assert_int_equal(never_started + stopped, MANY_CALLS);
	free(m);
}

static void test_spawn_failure_is_a_result(void **state)
{
	static const struct {
		const char *name;
		const char *body;
		const char *why;
	} cases[] = {
		{ "noexec-format", "this is not a program\n", "Exec format error" },
		{ "noexec-interp", "#!/nonexistent/interpreter\n", "No such file" },
	};
	struct client_request req = { .op = CLIENT_OP_COST, .file = "/etc/hostname", .timeout_ms = 1000 };
	char path[128], want[200];
	struct outcome o;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(path, sizeof(path), "%s/%s", g_dir, cases[i].name);
		/* Passes client_check_path (a regular executable file), so only
		 * the spawn itself can fail. */
		write_script(path, cases[i].body, 0755);
		set("CLIENT_PATH", path);
		run_call(&req, &o, 0, false);
		assert_int_equal(o.r.status, ST_CLIENT_ERROR);
		assert_int_equal(o.r.exit_code, -1);
		assert_int_equal(o.r.pid, 0);
		snprintf(want, sizeof(want), "cannot run the client '%s': ", path);
		assert_non_null(strstr(o.r.reason, want));
		assert_non_null(strstr(o.r.reason, cases[i].why));
	}
}

static void test_spawner_restarts(void **state)
{
	char file[128];
	struct client_request req = { .op = CLIENT_OP_COST, .timeout_ms = 30000 };
	struct outcome o;

	(void)state;
	snprintf(file, sizeof(file), "%s/r.bin", g_dir);
	make_file(file, 10);
	req.file = file;
	client_spawner_stop();
	client_spawner_stop();
	run_call(&req, &o, 0, false);
	assert_int_equal(o.r.status, ST_OK);
	client_spawner_stop();
	run_call(&req, &o, 0, false);
	assert_int_equal(o.r.status, ST_OK);
}

static void test_version_forms(void **state)
{
	char out[128], raw[1024], err[256], version[64];

	char logpath[128];
	struct buf b;

	(void)state;
	/* The agent's own SECRET_KEY never reaches the probe. */
	snprintf(logpath, sizeof(logpath), "%s/probe.log", g_dir);
	unlink(logpath);
	setenv("ANT_SIM_LOG", logpath, 1);
	setenv("SECRET_KEY", "probe-must-not-see-this", 1);
	assert_int_equal(client_probe_version(SIM, 10000, out, sizeof(out), raw, sizeof(raw), err,
					      sizeof(err)), 0);
	unsetenv("SECRET_KEY");
	unsetenv("ANT_SIM_LOG");
	buf_init(&b, 4096);
	assert_int_equal(file_read_all(logpath, 4096, &b), 0);
	assert_non_null(strstr(b.data, "secret_key=no ant_peers=- argv: --version"));
	buf_free(&b);
	assert_string_equal(out, "Autonomi Client v0.5.2");
	assert_non_null(strstr(raw, "Git info: "));
	assert_int_equal(client_select_generation(raw, version, sizeof(version), err, sizeof(err)), 0);
	assert_string_equal(version, "0.5.2");
	setenv("ANT_SIM_VERSION_STYLE", "old", 1);
	assert_int_equal(client_probe_version(SIM, 10000, out, sizeof(out), raw, sizeof(raw), err,
					      sizeof(err)), 0);
	unsetenv("ANT_SIM_VERSION_STYLE");
	assert_string_equal(out, "autonomi-cli 0.1.5");
	/* A client nobody knows how to drive is refused, not run. */
	assert_int_equal(client_select_generation(raw, version, sizeof(version), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CLIENT_GENERATION"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_argv_globals_before_subcommand, setup),
		cmocka_unit_test_setup(test_argv_refuses_hostile_input, setup),
		cmocka_unit_test_setup(test_env_secret_only_when_given, setup),
		cmocka_unit_test_setup(test_env_allowlist, setup),
		cmocka_unit_test_setup(test_spawn_without_fork, setup),
		cmocka_unit_test_setup(test_strip_ansi, setup),
		cmocka_unit_test_setup(test_parse_output, setup),
		cmocka_unit_test_setup(test_ant_sim_ok_each_op, setup),
		cmocka_unit_test_setup(test_ant_sim_each_classification, setup),
		cmocka_unit_test_setup(test_success_line_with_bad_exit, setup),
		cmocka_unit_test_setup(test_timeout_kills_the_group, setup),
		cmocka_unit_test_setup(test_endless_output_is_capped, setup),
		cmocka_unit_test_setup(test_terminate, setup),
		cmocka_unit_test_setup(test_client_path_errors, setup),
		cmocka_unit_test_setup(test_version_forms, setup),
		cmocka_unit_test_setup(test_many_calls_at_once, setup),
		cmocka_unit_test_setup(test_child_starts_clean, setup),
		cmocka_unit_test_setup(test_lone_call_spawns_on_the_loop, setup),
		cmocka_unit_test_setup(test_terminate_before_spawn, setup),
		cmocka_unit_test_setup(test_spawn_failure_is_a_result, setup),
		cmocka_unit_test_setup(test_spawner_restarts, setup),
	};
	char cmd[128];
	int rc;

	log_set_console(0);
	/* Orphaned grandchildren of the client come back to this process, so
	 * the tests can see them die and reap them. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	snprintf(g_dir, sizeof(g_dir), "/tmp/ant-test-client-XXXXXX");
	if (mkdtemp(g_dir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	client_spawner_stop();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}

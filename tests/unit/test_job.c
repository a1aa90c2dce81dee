/* One test iteration end to end with ant-sim as the client: downloads
 * (MD5 match and mismatch, archives, cleanup in every outcome, hostile
 * catalogue rows), quotes, uploads (opt-in, SECRET_KEY only for uploads,
 * verify), the disk guard, terminate and a client that cannot run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "config.h"
#include "digest.h"
#include "diskguard.h"
#include "job.h"
#include "ledger.h"
#include "upload.h"
#include "log.h"
#include "seedfile.h"
#include "util.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define SIM ANT_BUILD_DIR "/ant-sim"

static char g_dir[64];
static char g_dl[128];
static char g_log[128];
static char g_seed[128];

static void set(const char *k, const char *v)
{
	char err[256];

	assert_int_equal(config_set(k, v, CFG_SRC_CLI, err, sizeof(err)), 0);
}

static int setup(void **state)
{
	static const char *const knobs[] = { "ANT_SIM_FAIL_KIND", "ANT_SIM_HANG", "ANT_SIM_CORRUPT",
		"ANT_SIM_EXIT", "ANT_SIM_ARCHIVE", "SECRET_KEY", NULL };
	char store[128];

	(void)state;
	config_reset();
	clock_setup(-1, 1.0);
	set("CLIENT_PATH", SIM);
	/* ant-sim reads its knobs from the environment. */
	set("CLIENT_ENV_PASS", "ANT_SIM_*");
	set("CLIENT_DOWNLOAD_PATH", g_dl);
	set("MIN_FREE_DISK_GB", "0");
	set("CLIENT_KILL_GRACE_SECS", "1");
	for (int i = 0; knobs[i]; i++)
		unsetenv(knobs[i]);
	snprintf(store, sizeof(store), "%s/store", g_dir);
	setenv("ANT_SIM_STORE", store, 1);
	setenv("ANT_SIM_LOG", g_log, 1);
	unlink(g_log);
	/* Client logs and caches stay in the scratch directory. */
	setenv("HOME", g_dir, 1);
	snprintf(store, sizeof(store), "%s/logs", g_dir);
	set("CLIENT_LOGGING_PATH", store);
	/* A fresh ledger and a budget: uploads are opt-in twice over. */
	snprintf(store, sizeof(store), "%s/cache", g_dir);
	set("CACHE_DIR", store);
	snprintf(store, sizeof(store), "rm -rf '%s/cache'", g_dir);
	assert_int_equal(system(store), 0);
	ledger_reset();
	diskguard_forget();
	set("UPLOAD_BUDGET_DAY", "1 ANT");
	set("UPLOAD_BUDGET_MONTH", "1 ANT");
	assert_int_equal(upload_open(clock_now_ms()), 0);
	job_spares_drop();
	return 0;
}

static struct task make_task(enum test_type type, int timeout_secs)
{
	struct task t;

	memset(&t, 0, sizeof(t));
	t.ref = 7;
	t.type = type;
	t.size = SIZE_TINY;
	t.workers = 1;
	t.timeout_secs = timeout_secs;
	return t;
}

struct outcome {
	int calls;
	struct test_result r;
};

static void on_done(const struct test_result *r, void *ud)
{
	struct outcome *o = ud;

	o->calls++;
	o->r = *r;
}

static struct job *g_stop;

static void stop_cb(uv_timer_t *t)
{
	(void)t;
	job_terminate(g_stop, false, REASON_SHUTDOWN);
}

static struct test_result run_job(const struct job_spec *spec, int stop_after_ms)
{
	uv_loop_t loop;
	uv_timer_t stop;
	struct outcome o = { 0 };
	struct job *j;

	assert_int_equal(uv_loop_init(&loop), 0);
	j = job_start(&loop, spec, on_done, &o);
	assert_non_null(j);
	assert_int_equal(o.calls, 0); /* never inside job_start */
	if (stop_after_ms > 0) {
		g_stop = j;
		uv_timer_init(&loop, &stop);
		uv_timer_start(&stop, stop_cb, (uint64_t)stop_after_ms, 0);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	if (stop_after_ms > 0) {
		uv_close((uv_handle_t *)&stop, NULL);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	assert_int_equal(o.calls, 1);
	assert_int_equal(uv_loop_close(&loop), 0);
	return o.r;
}

static bool dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool empty = true;

	if (d == NULL)
		return false;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = false;
	closedir(d);
	return empty;
}

/* Entries in the download directory, empty directories (kept for the
 * next download) counted apart; name: the last empty one seen. */
static void count_entries(int *used, int *kept, char *name, size_t n)
{
	DIR *d = opendir(g_dl);
	struct dirent *e;
	char path[PATH_MAX];
	struct stat st;

	*used = *kept = 0;
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", g_dl, e->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && dir_empty(path)) {
			(*kept)++;
			if (name)
				str_copy(name, e->d_name, n);
		} else {
			(*used)++;
		}
	}
	closedir(d);
}

/* Entries left in the download directory but the emptied ones kept for
 * the next download: must be none after a job. */
static int leftovers(void)
{
	int used, kept;

	count_entries(&used, &kept, NULL, 0);
	return used;
}

static int kept_dirs(char *name, size_t n)
{
	int used, kept;

	count_entries(&used, &kept, name, n);
	return kept;
}

static int log_lines(void)
{
	FILE *f = fopen(g_log, "r");
	int n = 0, c;

	if (f == NULL)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void read_log(char *out, size_t n)
{
	struct buf b;

	buf_init(&b, n);
	out[0] = '\0';
	if (file_read_all(g_log, n - 1, &b) == 0)
		str_copy(out, b.data, n);
	buf_free(&b);
}

static void write_file(const char *path, const char *text, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, n, f), n);
	fclose(f);
}

/* Store a file or directory with ant-sim itself; returns the address. */
static void sim_upload(const char *path, char *addr, size_t n)
{
	char cmd[512], line[512];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "'%s' --log-output-dest '%s/logs' file upload '%s' --public", SIM,
		 g_dir, path);
	p = popen(cmd, "r");
	assert_non_null(p);
	addr[0] = '\0';
	while (fgets(line, sizeof(line), p))
		if (strncmp(line, "At address: ", 12) == 0) {
			line[strcspn(line, "\n")] = '\0';
			str_copy(addr, line + 12, n);
		}
	assert_int_equal(pclose(p), 0);
	assert_int_equal(strlen(addr), 64);
}

static void clear_store(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/store'", g_dir);
	assert_int_equal(system(cmd), 0);
}

static struct dl_row row_for(const char *addr, const char *name, const char *md5)
{
	struct dl_row r;

	memset(&r, 0, sizeof(r));
	r.size = SIZE_TINY;
	str_copy(r.address, addr, sizeof(r.address));
	str_copy(r.name, name, sizeof(r.name));
	str_copy(r.md5, md5, sizeof(r.md5));
	r.line = 12;
	return r;
}

/* A file of size bytes from seed, stored with ant-sim: its catalogue row
 * under name, with its MD5 when with_md5. */
static struct dl_row stored_row(const char *name, uint64_t seed, uint64_t size, bool with_md5)
{
	char file[128], addr[80], md5[DIGEST_MD5_HEX_SIZE];

	snprintf(file, sizeof(file), "%s/%s", g_dir, name);
	assert_int_equal(seedfile_write_path(file, seed, size, md5, NULL), 0);
	sim_upload(file, addr, sizeof(addr));
	return row_for(addr, name, with_md5 ? md5 : "");
}

static void test_download_md5_match_and_mismatch(void **state)
{
	struct task t = make_task(TEST_DOWNLOAD, 30);
	struct dl_row row;
	struct job_spec spec = { .task = &t, .worker = 2, .attempt = 1 };
	struct test_result r;

	(void)state;
	row = stored_row("tiny.bin", 99, 50000, true);
	spec.download = &row;
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_OK);
	assert_true(r.md5_checked);
	assert_true(r.md5_valid);
	assert_int_equal(r.bytes, 50000);
	assert_int_equal(r.exit_code, 0);
	assert_true(r.exec_time > 0.0);
	assert_int_equal(r.type, TEST_DOWNLOAD);
	assert_int_equal(r.task_ref, 7);
	assert_int_equal(r.worker, 2);
	assert_int_equal(r.attempt, 1);
	assert_int_equal(leftovers(), 0);

	setenv("ANT_SIM_CORRUPT", "1", 1);
	r = run_job(&spec, 0);
	unsetenv("ANT_SIM_CORRUPT");
	assert_int_equal(r.status, ST_DATA_LOSS);
	assert_true(r.md5_checked);
	assert_false(r.md5_valid);
	assert_int_equal(leftovers(), 0);

	/* No MD5 in the row: nothing to check, still a success. */
	row.md5[0] = '\0';
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_OK);
	assert_false(r.md5_checked);
	assert_int_equal(leftovers(), 0);
}

static void test_download_archive(void **state)
{
	char dir[128], path[160], addr[80], md5_target[DIGEST_MD5_HEX_SIZE];
	struct task t = make_task(TEST_DOWNLOAD, 30);
	struct dl_row row;
	struct job_spec spec = { .task = &t, .worker = 1, .attempt = 1 };
	struct test_result r;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/album", g_dir);
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/cover.txt", dir);
	write_file(path, "a cover\n", 8);
	snprintf(path, sizeof(path), "%s/target.bin", dir);
	assert_int_equal(seedfile_write_path(path, 5, 3000, md5_target, NULL), 0);
	sim_upload(dir, addr, sizeof(addr));

	/* The file named like the row carries the MD5. */
	row = row_for(addr, "target.bin", md5_target);
	spec.download = &row;
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_OK);
	assert_true(r.md5_valid);
	assert_int_equal(r.bytes, 3008);
	assert_int_equal(leftovers(), 0);
	/* Several files, none named like the row: one MD5 cannot vouch. */
	row = row_for(addr, "other-name", md5_target);
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_DATA_LOSS);
	assert_false(r.md5_valid);
	/* Corrupted archive member. */
	row = row_for(addr, "target.bin", md5_target);
	setenv("ANT_SIM_CORRUPT", "1", 1);
	r = run_job(&spec, 0);
	unsetenv("ANT_SIM_CORRUPT");
	assert_int_equal(r.status, ST_DATA_LOSS);
	assert_int_equal(leftovers(), 0);

	/* A one-file archive (as newer clients make of a public upload): the
	 * single file counts whatever its name. */
	setenv("ANT_SIM_ARCHIVE", "1", 1);
	sim_upload(path, addr, sizeof(addr));
	unsetenv("ANT_SIM_ARCHIVE");
	row = row_for(addr, "renamed-in-catalogue", md5_target);
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_OK);
	assert_true(r.md5_valid);
	assert_int_equal(leftovers(), 0);
}

static void test_download_cleanup_in_every_outcome(void **state)
{
	struct task t = make_task(TEST_DOWNLOAD, 30);
	struct dl_row row;
	struct job_spec spec = { .task = &t, .worker = 1, .attempt = 1 };
	struct test_result r;

	(void)state;
	row = stored_row("c.bin", 3, 20000, true);
	spec.download = &row;

	/* The client wrote the file and printed success, then exited 13. */
	setenv("ANT_SIM_EXIT", "13", 1);
	r = run_job(&spec, 0);
	unsetenv("ANT_SIM_EXIT");
	assert_int_equal(r.status, ST_NETWORK_ERROR);
	assert_int_equal(r.exit_code, 13);
	assert_int_equal(leftovers(), 0);

	setenv("ANT_SIM_FAIL_KIND", "bootstrap", 1);
	r = run_job(&spec, 0);
	unsetenv("ANT_SIM_FAIL_KIND");
	assert_int_equal(r.status, ST_NETWORK_ERROR);
	assert_int_equal(leftovers(), 0);

	/* Timed out (schedule time at 10x: 3 s is 0.3 s real). */
	clock_setup(-1, 10.0);
	t.timeout_secs = 3;
	setenv("ANT_SIM_HANG", "fork", 1);
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_KILLED);
	assert_int_equal(r.exit_code, -1);
	assert_int_equal(leftovers(), 0);
	clock_setup(-1, 1.0);

	/* Stopped by the agent for its own reason: no finding, no bytes. */
	t.timeout_secs = 60;
	r = run_job(&spec, 200);
	unsetenv("ANT_SIM_HANG");
	assert_int_equal(r.status, ST_STOPPED);
	assert_int_equal(r.why, REASON_SHUTDOWN);
	assert_non_null(strstr(r.reason, "shutdown"));
	assert_int_equal(r.bytes, 0);
	assert_int_equal(leftovers(), 0);

	/* Unknown address. */
	row = row_for("00112233", "x", "");
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_DATA_LOSS);
	assert_int_equal(leftovers(), 0);
}

static void test_hostile_rows(void **state)
{
	static const char *const bad_addresses[] = { "../../etc/passwd", "a/b", "", "ab cd",
		"abc;rm -rf /", "$(touch /tmp/pwned)", "`id`", "abc|cat", "-rf", NULL };
	static const char *const names[] = { "../../etc/passwd", "a/b", "", "$(id); rm -rf ~", NULL };
	char file[128], addr[80], md5[DIGEST_MD5_HEX_SIZE], longname[CAT_NAME_MAX + 1];
	char logtext[8192];
	struct task t = make_task(TEST_DOWNLOAD, 30);
	struct dl_row row;
	struct job_spec spec = { .task = &t, .worker = 1, .attempt = 1 };
	struct test_result r;

	(void)state;
	for (int i = 0; bad_addresses[i]; i++) {
		row = row_for(bad_addresses[i], "ok.bin", "");
		spec.download = &row;
		r = run_job(&spec, 0);
		assert_int_equal(r.status, ST_SKIPPED);
		assert_int_equal(r.why, REASON_ROW_REJECTED);
		assert_non_null(strstr(r.reason, "address"));
	}
	/* The client never ran and nothing was created. */
	assert_int_equal(log_lines(), 0);
	assert_int_equal(leftovers(), 0);
	row = row_for("abcdef", "x", "not-an-md5");
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_SKIPPED);

	/* Hostile names never become paths: the destination is fixed. */
	snprintf(file, sizeof(file), "%s/n.bin", g_dir);
	assert_int_equal(seedfile_write_path(file, 4, 1000, md5, NULL), 0);
	sim_upload(file, addr, sizeof(addr));
	unlink(g_log);
	memset(longname, '.', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	for (int i = 0; names[i] || i == 4; i++) {
		row = row_for(addr, names[i] ? names[i] : longname, md5);
		r = run_job(&spec, 0);
		assert_int_equal(r.status, ST_OK);
		assert_true(r.md5_valid);
		if (!names[i])
			break;
	}
	read_log(logtext, sizeof(logtext));
	assert_null(strstr(logtext, "passwd"));
	/* (ant-sim logs blanks as '_'; a bare "rm" could occur in the random
	 * name of the temporary directory.) */
	assert_null(strstr(logtext, "rm_-rf"));
	assert_null(strstr(logtext, "$(id)"));
	assert_non_null(strstr(logtext, "/ant-dl-"));
	assert_non_null(strstr(logtext, "/data"));
	assert_int_equal(leftovers(), 0);
}

static void test_quote(void **state)
{
	struct task t = make_task(TEST_QUOTE, 30);
	struct seed_row seed = { .size = SIZE_SMALL, .seed = 33643, .bytes = 3145728 };
	struct job_spec spec = { .task = &t, .worker = 1, .attempt = 1, .seed = &seed, .seed_file = g_seed };
	struct test_result r;

	(void)state;
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_OK);
	assert_true(r.has_cost);
	/* ant-sim: 10^12 atto per record, 3 records for 3 MiB. */
	assert_true(r.cost_atto == UINT64_C(3000000000000));
	/* A quote moves no data: no bytes, so no throughput. */
	assert_int_equal(r.bytes, 0);
	setenv("ANT_SIM_FAIL_KIND", "quotes", 1);
	r = run_job(&spec, 0);
	unsetenv("ANT_SIM_FAIL_KIND");
	assert_int_equal(r.status, ST_NETWORK_ERROR);
	assert_false(r.has_cost);
	assert_int_equal(r.bytes, 0);
	/* A seed file that is gone is reported, not crashed on. */
	spec.seed_file = "/nonexistent/seed.bin";
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_CLIENT_ERROR);
}

static void test_upload_opt_in_and_secret(void **state)
{
	struct task t = make_task(TEST_UPLOAD, 30);
	struct seed_row seed = { .size = SIZE_SMALL, .seed = 33643, .bytes = 3145728 };
	struct job_spec spec = { .task = &t, .worker = 1, .attempt = 1, .seed = &seed, .seed_file = g_seed };
	char logtext[8192], file[128], addr[80], md5[DIGEST_MD5_HEX_SIZE];
	struct task dt = make_task(TEST_DOWNLOAD, 30);
	struct dl_row row;
	struct job_spec dspec = { .task = &dt, .worker = 1, .attempt = 1, .download = &row };
	struct test_result r;

	(void)state;
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_SKIPPED);
	assert_int_equal(r.why, REASON_UPLOADS_OFF);
	assert_non_null(strstr(r.reason, "uploads not allowed"));
	assert_int_equal(log_lines(), 0);

	set("ALLOW_UPLOADS", "true");
	set("SECRET_KEY", "0xsecret-wallet-key");
	/* The agent's own environment has one too; it must not leak. */
	setenv("SECRET_KEY", "0xfrom-the-environment", 1);
	setenv("ANT_SIM_REQUIRE_KEY", "1", 1);
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_OK);
	assert_true(r.has_cost);
	assert_int_equal(strlen(r.address), 64);
	assert_int_equal(r.bytes, 3145728);

	snprintf(file, sizeof(file), "%s/k.bin", g_dir);
	assert_int_equal(seedfile_write_path(file, 8, 100, md5, NULL), 0);
	sim_upload(file, addr, sizeof(addr));
	unlink(g_log);
	row = row_for(addr, "k.bin", md5);
	r = run_job(&dspec, 0);
	assert_int_equal(r.status, ST_OK);
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_OK);
	read_log(logtext, sizeof(logtext));
	assert_non_null(strstr(logtext, "secret_key=no ant_peers=- argv:"));
	assert_non_null(strstr(logtext, "file download"));
	assert_non_null(strstr(logtext, "secret_key=yes ant_peers=- argv:"));
	assert_non_null(strstr(logtext, "file upload"));
	assert_non_null(strstr(logtext, "--public"));

	/* Without a key in the settings the upload child has none either. */
	set("SECRET_KEY", "");
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_CLIENT_ERROR);
	assert_int_equal(r.exit_code, 12); /* ant 0.5: "No local wallets found." */
	/* A failed upload moved nothing it can claim. */
	assert_int_equal(r.bytes, 0);
	unsetenv("ANT_SIM_REQUIRE_KEY");
	unsetenv("SECRET_KEY");
}

static void test_upload_verify(void **state)
{
	struct task t = make_task(TEST_UPLOAD, 30);
	struct seed_row seed = { .size = SIZE_SMALL, .seed = 33643, .bytes = 3145728 };
	struct job_spec spec = { .task = &t, .worker = 1, .attempt = 1, .seed = &seed, .seed_file = g_seed };
	struct test_result r;

	(void)state;
	set("ALLOW_UPLOADS", "true");
	t.verify = true;
	/* Content the network already has is not stored again (and has no
	 * address to verify): start from an empty store each time. */
	clear_store();
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_OK);
	assert_true(r.md5_checked);
	assert_true(r.md5_valid);
	assert_int_equal(leftovers(), 0);
	clear_store();
	clear_store();
	setenv("ANT_SIM_CORRUPT", "1", 1);
	r = run_job(&spec, 0);
	unsetenv("ANT_SIM_CORRUPT");
	assert_int_equal(r.status, ST_DATA_LOSS);
	assert_true(r.md5_checked);
	assert_false(r.md5_valid);
	/* The upload moved its bytes; the read-back found them wrong. */
	assert_int_equal(r.bytes, 3145728);
	assert_non_null(strstr(r.reason, "verify: "));
	assert_int_equal(leftovers(), 0);
}

/* Content of its own per upload (upload.c keys it): two uploads of one
 * task store two different addresses, each paid; the same content again
 * is "already stored" (no cost, no payment); a quote of content the agent
 * did not upload before is not 0, one of content it did is 0 and flagged. */
static void test_upload_outcomes(void **state)
{
	struct task t = make_task(TEST_UPLOAD, 30), q = make_task(TEST_QUOTE, 30);
	struct seed_row base = { .size = SIZE_TINY, .seed = 33643, .bytes = 3145728 };
	struct seed_row s1, s2;
	char f1[160], f2[160], seq[160];
	struct job_spec spec = { .task = &t, .worker = 1, .attempt = 1 };
	struct job_spec qs = { .task = &q, .worker = 1, .attempt = 1 };
	struct test_result r1, r2, r3, rq;

	(void)state;
	set("ALLOW_UPLOADS", "true");
	clear_store();
	snprintf(seq, sizeof(seq), "%s/cache/upload-seq", g_dir);
	assert_int_equal(upload_content_seed("agent-a", seq, &base, &t, &s1), 0);
	assert_int_equal(upload_content_seed("agent-a", seq, &base, &t, &s2), 0);
	assert_true(s1.seed != s2.seed && s1.seed != base.seed);
	assert_int_equal(s1.bytes, base.bytes);
	/* Another agent, same task and counter: other bytes. */
	assert_true(upload_seed_of("agent-a", 7, 1) != upload_seed_of("agent-b", 7, 1));
	assert_true(upload_seed_of("agent-a", 7, 1) != upload_seed_of("agent-a", 8, 1));
	snprintf(f1, sizeof(f1), "%s/up1.bin", g_dir);
	snprintf(f2, sizeof(f2), "%s/up2.bin", g_dir);
	assert_int_equal(seedfile_write_path(f1, s1.seed, s1.bytes, NULL, NULL), 0);
	assert_int_equal(seedfile_write_path(f2, s2.seed, s2.bytes, NULL, NULL), 0);

	/* Before any upload the quote of the new content costs something. */
	qs.seed = &s1;
	qs.seed_file = f1;
	rq = run_job(&qs, 0);
	assert_int_equal(rq.status, ST_OK);
	assert_true(rq.has_cost && rq.cost_atto > 0);
	assert_false(rq.already_stored);

	spec.seed = &s1;
	spec.seed_file = f1;
	r1 = run_job(&spec, 0);
	spec.seed = &s2;
	spec.seed_file = f2;
	r2 = run_job(&spec, 0);
	assert_int_equal(r1.status, ST_OK);
	assert_int_equal(r2.status, ST_OK);
	assert_true(r1.address[0] != '\0' && r2.address[0] != '\0');
	assert_string_not_equal(r1.address, r2.address);
	assert_false(r1.already_stored);
	assert_true(r1.cost_atto > 0 && r2.cost_atto > 0);
	assert_true(r1.has_gas && r1.gas_wei == UINT64_C(412340000000));
	assert_int_equal(ledger_spent_today(clock_now_ms()), r1.cost_atto + r2.cost_atto);
	assert_int_equal(r2.spent_day_atto, r1.cost_atto + r2.cost_atto);

	/* The same content again: already stored, nothing paid. */
	r3 = run_job(&spec, 0);
	assert_int_equal(r3.status, ST_OK);
	assert_true(r3.already_stored);
	assert_int_equal(r3.cost_atto, 0);
	assert_int_equal(ledger_spent_today(clock_now_ms()), r1.cost_atto + r2.cost_atto);

	/* A quote of content this agent stored: 0, flagged. */
	rq = run_job(&qs, 0);
	assert_int_equal(rq.status, ST_OK);
	assert_int_equal(rq.cost_atto, 0);
	assert_true(rq.already_stored);
	unlink(f1);
	unlink(f2);
}

/* A private upload's address is its local alias: recorded as private and
 * not verified as a network address. */
static void test_upload_private(void **state)
{
	struct task t = make_task(TEST_UPLOAD, 30);
	struct seed_row seed = { .size = SIZE_SMALL, .seed = 33643, .bytes = 3145728 };
	struct job_spec spec = { .task = &t, .worker = 1, .attempt = 1, .seed = &seed, .seed_file = g_seed };
	struct test_result r;

	(void)state;
	set("ALLOW_UPLOADS", "true");
	set("CLIENT_UPLOAD_PUBLIC", "false");
	t.verify = true;
	clear_store();
	r = run_job(&spec, 0);
	set("CLIENT_UPLOAD_PUBLIC", "true");
	assert_int_equal(r.status, ST_OK);
	assert_true(r.address_private);
	assert_false(r.md5_checked);
	assert_non_null(strstr(r.reason, "private"));
}

static void test_disk_guard(void **state)
{
	struct task t = make_task(TEST_DOWNLOAD, 30);
	struct dl_row row = row_for("abcdef", "x", "");
	struct job_spec spec = { .task = &t, .worker = 1, .attempt = 1, .download = &row };
	struct test_result r;

	(void)state;
	set("MIN_FREE_DISK_GB", "1000000");
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_SKIPPED);
	assert_int_equal(r.why, REASON_DISK_GUARD);
	assert_non_null(strstr(r.reason, "disk guard"));
	assert_int_equal(log_lines(), 0);
}


/* The guard counts a download at its class's upper bound (a giga file may
 * write 20 GiB, not 1) and on top of the space running tests reserved. */
static void test_disk_guard_upper_bound_and_reserved(void **state)
{
	struct task t = make_task(TEST_DOWNLOAD, 30);
	struct dl_row row = row_for("abcdef", "x", "");
	struct job_spec spec = { .task = &t, .worker = 1, .attempt = 1, .download = &row };
	struct test_result r;
	struct statvfs st;
	uint64_t avail;
	char v[64];

	(void)state;
	assert_int_equal(statvfs(g_dir, &st), 0);
	avail = (uint64_t)st.f_bavail * st.f_frsize;
	/* 10 GB under what is free: room for the lower bound, not the upper. */
	if (avail > UINT64_C(12000000000)) {
		snprintf(v, sizeof(v), "%.3f", (double)(avail - UINT64_C(10000000000)) / 1e9);
		set("MIN_FREE_DISK_GB", v);
		row.size = SIZE_GIGA;
		t.size = SIZE_GIGA;
		r = run_job(&spec, 0);
		assert_int_equal(r.status, ST_SKIPPED);
		assert_int_equal(r.why, REASON_DISK_GUARD);
	}
	/* Everything but half a GB is promised to running tests. */
	set("MIN_FREE_DISK_GB", "1");
	row.size = SIZE_TINY;
	t.size = SIZE_TINY;
	diskguard_reserve(avail - 500000000);
	r = run_job(&spec, 0);
	diskguard_release(avail - 500000000);
	assert_int_equal(r.status, ST_SKIPPED);
	assert_int_equal(r.why, REASON_DISK_GUARD);
	assert_non_null(strstr(r.reason, "reserved by running tests"));
	assert_int_equal(diskguard_reserved(), 0);
}

/* Free space is read from the kernel at most once a second per directory;
 * space reserved after a reading still counts at once; a reading goes
 * stale with age, a clock that went back, or diskguard_forget. */
static void test_disk_reading_kept(void **state)
{
	const int64_t t0 = 1000000;
	struct statvfs st;
	uint64_t n0, all;
	char why[200];

	(void)state;
	n0 = diskguard_reads();
	assert_int_equal(diskguard_check_at(g_dir, 0, 0, t0, why, sizeof(why)), 0);
	assert_int_equal(diskguard_reads(), n0 + 1);
	assert_int_equal(diskguard_check_at(g_dir, 0, 0, t0 + DISKGUARD_MAX_AGE_MS - 1, why,
					    sizeof(why)), 0);
	assert_int_equal(diskguard_reads(), n0 + 1);
	/* Everything free and 10 GB more promised after the reading. */
	assert_int_equal(statvfs(g_dir, &st), 0);
	all = (uint64_t)st.f_bavail * st.f_frsize + UINT64_C(10000000000);
	diskguard_reserve(all);
	assert_int_equal(diskguard_check_reserved(g_dir, 0, 0, t0 + 1, why, sizeof(why)), 1);
	diskguard_release(all);
	assert_non_null(strstr(why, "reserved by running tests"));
	assert_int_equal(diskguard_check_reserved(g_dir, 0, 0, t0 + 2, why, sizeof(why)), 0);
	assert_int_equal(diskguard_reads(), n0 + 1);
	/* Stale: old enough, the clock went back, forgotten. */
	assert_int_equal(diskguard_check_at(g_dir, 0, 0, t0 + DISKGUARD_MAX_AGE_MS, why,
					    sizeof(why)), 0);
	assert_int_equal(diskguard_reads(), n0 + 2);
	assert_int_equal(diskguard_check_at(g_dir, 0, 0, t0, why, sizeof(why)), 0);
	assert_int_equal(diskguard_reads(), n0 + 3);
	diskguard_forget();
	assert_int_equal(diskguard_check_at(g_dir, 0, 0, t0, why, sizeof(why)), 0);
	assert_int_equal(diskguard_reads(), n0 + 4);
	/* Another directory has a reading of its own. */
	assert_int_equal(diskguard_check_at("/", 0, 0, t0, why, sizeof(why)), 0);
	assert_int_equal(diskguard_check_at(g_dir, 0, 0, t0, why, sizeof(why)), 0);
	assert_int_equal(diskguard_reads(), n0 + 5);
	/* A failed reading is kept as long, with its reason. */
	assert_int_equal(diskguard_check_at("/dev/null/x", 0, 0, t0, why, sizeof(why)), -1);
	why[0] = '\0';
	assert_int_equal(diskguard_check_at("/dev/null/x", 0, 0, t0 + 1, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "Not a directory"));
	assert_int_equal(diskguard_reads(), n0 + 6);
}

/* The download directory is made and resolved once; when it has gone, the
 * next download makes it again. */
static void test_download_dir_recreated(void **state)
{
	char cmd[200];
	struct task t = make_task(TEST_DOWNLOAD, 30);
	struct dl_row row;
	struct job_spec spec = { .task = &t, .worker = 1, .attempt = 1 };

	(void)state;
	row = stored_row("again.bin", 97, 20000, true);
	spec.download = &row;
	assert_int_equal(run_job(&spec, 0).status, ST_OK);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dl);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(run_job(&spec, 0).status, ST_OK);
	assert_int_equal(access(g_dl, F_OK), 0);
	assert_int_equal(leftovers(), 0);
}

/* An emptied temporary directory is kept and given to the next download,
 * but only while it is still ours, 0700 and empty; the kept ones go with
 * job_spares_drop. */
static void test_download_dir_kept_and_checked(void **state)
{
	char first[64], name[64], path[PATH_MAX];
	struct task t = make_task(TEST_DOWNLOAD, 30);
	struct dl_row row;
	struct job_spec spec = { .task = &t, .worker = 1, .attempt = 1 };
	struct test_result r;

	(void)state;
	row = stored_row("kept.bin", 95, 20000, true);
	spec.download = &row;

	assert_int_equal(run_job(&spec, 0).status, ST_OK);
	assert_int_equal(leftovers(), 0);
	assert_int_equal(kept_dirs(first, sizeof(first)), 1);
	/* The next download is given the same directory (mkdtemp would have
	 * named a new one). */
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_OK);
	assert_true(r.md5_valid);
	assert_int_equal(kept_dirs(name, sizeof(name)), 1);
	assert_string_equal(name, first);

	/* Something appeared in it while it was kept: it is never given out
	 * and is removed; the download gets a new one. */
	snprintf(path, sizeof(path), "%s/%s/data", g_dl, first);
	write_file(path, "stale", 5);
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_OK);
	assert_true(r.md5_valid);
	assert_int_equal(r.bytes, 20000);
	assert_int_equal(leftovers(), 0);
	assert_int_equal(kept_dirs(name, sizeof(name)), 1);
	assert_string_not_equal(name, first);

	/* Its mode changed: not given out either. */
	str_copy(first, name, sizeof(first));
	snprintf(path, sizeof(path), "%s/%s", g_dl, first);
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(run_job(&spec, 0).status, ST_OK);
	assert_int_equal(leftovers(), 0);
	assert_int_equal(kept_dirs(name, sizeof(name)), 1);
	assert_string_not_equal(name, first);
	assert_int_equal(access(path, F_OK), -1);

	job_spares_drop();
	assert_int_equal(kept_dirs(NULL, 0), 0);
	assert_int_equal(leftovers(), 0);
}

/* A download made ready ahead: its temporary directory and disk
 * reservation exist until it is launched (then it runs as job_start would)
 * or discarded (then both go); a row that fails a check is not prepared. */
static void test_download_prepared(void **state)
{
	struct task t = make_task(TEST_DOWNLOAD, 30);
	struct dl_row row, bad;
	struct job_spec spec = { .task = &t, .worker = 3, .attempt = 1 };
	struct outcome o = { 0 };
	uv_loop_t loop;
	struct job *j;

	(void)state;
	row = stored_row("ready.bin", 96, 30000, true);
	spec.download = &row;
	assert_int_equal(uv_loop_init(&loop), 0);
	j = job_prepare(&loop, &spec);
	assert_non_null(j);
	assert_int_equal(kept_dirs(NULL, 0), 1);
	assert_true(diskguard_reserved() > 0);
	job_discard(j);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(leftovers(), 0);
	assert_int_equal(diskguard_reserved(), 0);
	/* The discarded job's directory is kept for the next one. */
	assert_int_equal(kept_dirs(NULL, 0), 1);
	job_spares_drop();
	assert_int_equal(kept_dirs(NULL, 0), 0);

	j = job_prepare(&loop, &spec);
	assert_non_null(j);
	assert_ptr_equal(job_launch(j, on_done, &o), j);
	assert_int_equal(o.calls, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.r.status, ST_OK);
	assert_true(o.r.md5_valid);
	assert_int_equal(o.r.worker, 3);
	assert_int_equal(leftovers(), 0);
	assert_int_equal(diskguard_reserved(), 0);

	bad = row_for("not-hex!", "x", "");
	spec.download = &bad;
	assert_null(job_prepare(&loop, &spec));
	set("MIN_FREE_DISK_GB", "1000000");
	spec.download = &row;
	assert_null(job_prepare(&loop, &spec));
	assert_int_equal(leftovers(), 0);
	assert_int_equal(diskguard_reserved(), 0);
	/* Uploads are never prepared (they reserve budget at their start). */
	t.type = TEST_UPLOAD;
	assert_null(job_prepare(&loop, &spec));
	assert_int_equal(uv_loop_close(&loop), 0);
	/* Two client calls: the upload that stored the file, the launched
	 * job's download; none for the discarded or refused ones. */
	assert_int_equal(log_lines(), 2);
}

/* A download bigger than its row's class is not taken as ok. */
static void test_download_too_large_for_class(void **state)
{
	struct task t = make_task(TEST_DOWNLOAD, 30);
	struct dl_row row;
	struct job_spec spec = { .task = &t, .worker = 1, .attempt = 1 };
	struct test_result r;

	(void)state;
	row = stored_row("big.bin", 98, 200000, false);
	spec.download = &row;
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_STOPPED);
	assert_int_equal(r.why, REASON_TOO_LARGE);
	assert_int_equal(r.bytes, 0);
	assert_int_equal(leftovers(), 0);
	assert_int_equal(diskguard_reserved(), 0);
}

/* A download that keeps growing past its class is stopped while it runs,
 * long before its timeout. */
static void test_download_growing_is_stopped(void **state)
{
	char path[160];
	struct task t = make_task(TEST_DOWNLOAD, 60);
	struct dl_row row = row_for("abcdef", "x", "");
	struct job_spec spec = { .task = &t, .worker = 1, .attempt = 1, .download = &row };
	struct test_result r;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/grow.sh", g_dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\n"
	      "while [ $# -gt 0 ]; do [ \"$1\" = download ] && dest=$3; shift; done\n"
	      "while :; do head -c 65536 /dev/zero >> \"$dest\"; sleep 0.05; done\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
	set("CLIENT_PATH", path);
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_STOPPED);
	assert_int_equal(r.why, REASON_TOO_LARGE);
	assert_non_null(strstr(r.reason, "over the tiny class"));
	assert_int_equal(leftovers(), 0);
}

static void test_client_cannot_run(void **state)
{
	struct task t = make_task(TEST_DOWNLOAD, 30);
	struct dl_row row = row_for("abcdef", "x", "");
	struct job_spec spec = { .task = &t, .worker = 1, .attempt = 1, .download = &row };
	struct test_result r;
	char path[160];

	(void)state;
	set("CLIENT_PATH", g_dir);
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_CLIENT_ERROR);
	assert_non_null(strstr(r.reason, "directory"));
	assert_int_equal(leftovers(), 0);
	snprintf(path, sizeof(path), "%s/plain", g_dir);
	write_file(path, "x", 1);
	chmod(path, 0644);
	set("CLIENT_PATH", path);
	r = run_job(&spec, 0);
	assert_int_equal(r.status, ST_CLIENT_ERROR);
	assert_non_null(strstr(r.reason, "not an executable"));
	assert_int_equal(leftovers(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_download_md5_match_and_mismatch, setup),
		cmocka_unit_test_setup(test_download_archive, setup),
		cmocka_unit_test_setup(test_download_cleanup_in_every_outcome, setup),
		cmocka_unit_test_setup(test_hostile_rows, setup),
		cmocka_unit_test_setup(test_quote, setup),
		cmocka_unit_test_setup(test_upload_opt_in_and_secret, setup),
		cmocka_unit_test_setup(test_upload_verify, setup),
		cmocka_unit_test_setup(test_upload_outcomes, setup),
		cmocka_unit_test_setup(test_upload_private, setup),
		cmocka_unit_test_setup(test_disk_guard, setup),
		cmocka_unit_test_setup(test_disk_guard_upper_bound_and_reserved, setup),
		cmocka_unit_test_setup(test_disk_reading_kept, setup),
		cmocka_unit_test_setup(test_download_dir_recreated, setup),
		cmocka_unit_test_setup(test_download_dir_kept_and_checked, setup),
		cmocka_unit_test_setup(test_download_prepared, setup),
		cmocka_unit_test_setup(test_download_too_large_for_class, setup),
		cmocka_unit_test_setup(test_download_growing_is_stopped, setup),
		cmocka_unit_test_setup(test_client_cannot_run, setup),
	};
	char cmd[128];
	int rc;

	log_set_console(0);
	snprintf(g_dir, sizeof(g_dir), "/tmp/ant-test-job-XXXXXX");
	if (mkdtemp(g_dir) == NULL)
		return 1;
	snprintf(g_dl, sizeof(g_dl), "%s/dl", g_dir);
	snprintf(g_log, sizeof(g_log), "%s/sim.log", g_dir);
	snprintf(g_seed, sizeof(g_seed), "%s/seed-33643.bin", g_dir);
	if (seedfile_write_path(g_seed, 33643, 3145728, NULL, NULL) != 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}

/* Purging leftovers: only what is asked, never through a symbolic link,
 * never outside the directory; client logs kept newest first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "purge.h"

#include <stdbool.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static char root[64];

static void path_of(char *out, size_t n, const char *rel)
{
	snprintf(out, n, "%s/%s", root, rel);
}

static void mkfile(const char *rel, size_t bytes, long age_s)
{
	char p[512];
	struct timeval tv[2];
	FILE *f;

	path_of(p, sizeof(p), rel);
	f = fopen(p, "w");
	assert_non_null(f);
	for (size_t i = 0; i < bytes; i++)
		fputc('x', f);
	fclose(f);
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= age_s;
	tv[1] = tv[0];
	assert_int_equal(utimes(p, tv), 0);
}

static void mkd(const char *rel)
{
	char p[512];

	path_of(p, sizeof(p), rel);
	assert_int_equal(mkdir(p, 0700), 0);
}

static void mklink(const char *target_rel, const char *rel)
{
	char p[512], t[512];

	path_of(p, sizeof(p), rel);
	path_of(t, sizeof(t), target_rel);
	assert_int_equal(symlink(t, p), 0);
}

static bool exists(const char *rel)
{
	char p[512];
	struct stat sb;

	path_of(p, sizeof(p), rel);
	return lstat(p, &sb) == 0;
}

static int setup(void **unused)
{
	(void)unused;
	snprintf(root, sizeof(root), "/tmp/ant-purge-test.XXXXXX");
	assert_non_null(mkdtemp(root));
	return 0;
}

static int teardown(void **unused)
{
	char cmd[128];

	(void)unused;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_entries(void **unused)
{
	char dl[512];
	struct purge_stats st;

	(void)unused;
	mkd("outside");
	mkfile("outside/precious", 10, 0);
	mkd("dl");
	mkd("dl/ant-dl-abc");
	mkfile("dl/ant-dl-abc/data", 100, 0);
	mkd("dl/ant-dl-abc/sub");
	mkfile("dl/ant-dl-abc/sub/part", 5, 0);
	/* A link inside a leftover and a leftover that is a link: both go as
	 * links; what they point at stays. */
	mklink("outside", "dl/ant-dl-abc/sub/escape");
	mklink("outside", "dl/ant-dl-link");
	mkfile("dl/mine.txt", 3, 0);
	path_of(dl, sizeof(dl), "dl");
	memset(&st, 0, sizeof(st));
	assert_int_equal(purge_entries(dl, "ant-dl-", &st), 0);
	assert_false(exists("dl/ant-dl-abc"));
	assert_false(exists("dl/ant-dl-link"));
	assert_true(exists("dl/mine.txt"));
	assert_true(exists("outside/precious"));
	assert_int_equal(st.files, 4);
	assert_int_equal(st.dirs, 2);
	assert_int_equal(st.bytes, 105);
	assert_int_equal(st.errors, 0);
	/* All entries; a missing directory is no error. */
	assert_int_equal(purge_entries(dl, NULL, &st), 0);
	assert_false(exists("dl/mine.txt"));
	assert_true(exists("dl"));
	path_of(dl, sizeof(dl), "nope");
	assert_int_equal(purge_entries(dl, NULL, &st), 0);
	/* The directory itself a link: refused, nothing behind it touched. */
	mklink("outside", "linkdir");
	path_of(dl, sizeof(dl), "linkdir");
	assert_int_equal(purge_entries(dl, NULL, &st), -1);
	assert_true(exists("outside/precious"));
}

/* One tree removed: a link inside is removed as a link, and what it
 * points to (outside the tree) is left alone. */
static void test_tree(void **unused)
{
	struct purge_stats st = { 0 };
	char p[512];

	(void)unused;
	mkd("keep");
	mkfile("keep/precious", 10, 0);
	mkd("ant-dl-x");
	mkd("ant-dl-x/data");
	mkfile("ant-dl-x/data/part", 100, 0);
	mklink("keep", "ant-dl-x/data/link");
	path_of(p, sizeof(p), "ant-dl-x");
	assert_int_equal(purge_tree(p, &st), 0);
	assert_int_equal(st.errors, 0);
	assert_int_equal(st.files, 2);
	assert_int_equal(st.dirs, 2);
	assert_false(exists("ant-dl-x"));
	assert_true(exists("keep/precious"));
	/* Nothing there: counted as not removed, not a crash. */
	assert_int_equal(purge_tree(p, &st), 0);
	assert_int_equal(st.errors, 1);
	/* Names that are not an entry of their parent are refused. */
	assert_int_equal(purge_tree("/tmp/..", &st), -1);
	assert_int_equal(purge_tree("/tmp/", &st), -1);
	assert_int_equal(purge_tree(".", &st), -1);
	assert_true(exists("keep/precious"));
}

static void test_logs(void **unused)
{
	char logs[512];
	struct purge_stats st;

	(void)unused;
	mkd("outside");
	mkfile("outside/big", 5000, 10000);
	mkd("logs");
	mkd("logs/run1");
	mkd("logs/run2");
	mkfile("logs/run1/old.log", 1000, 3000);   /* oldest */
	mkfile("logs/run1/older.log", 1000, 4000);
	mkfile("logs/run2/mid.log", 1000, 2000);
	mkfile("logs/new.log", 1000, 10);           /* newest */
	mklink("outside/big", "logs/link.log");
	mklink("outside", "logs/linkdir");
	mkfile("logs/" PURGE_LOG_MARKER, 10, 99999); /* the agent made it */
	path_of(logs, sizeof(logs), "logs");
	memset(&st, 0, sizeof(st));
	/* 0 keeps everything. */
	assert_int_equal(purge_logs(logs, 0, &st), 0);
	assert_int_equal(st.files, 0);
	/* Room for the two newest files only. */
	assert_int_equal(purge_logs(logs, 2500, &st), 0);
	assert_true(exists("logs/new.log"));
	assert_true(exists("logs/run2/mid.log"));
	assert_false(exists("logs/run1/old.log"));
	assert_false(exists("logs/run1/older.log"));
	assert_false(exists("logs/run1"));       /* left empty: removed */
	assert_true(exists("logs/link.log"));    /* links are not logs */
	assert_true(exists("outside/big"));
	assert_int_equal(st.files, 2);
	assert_int_equal(st.bytes, 2000);
	assert_int_equal(st.dirs, 1);
}

/* A user's own directory given as CLIENT_LOGGING_PATH (no marker), and a
 * seed directory with a user's file and a name like ours that another
 * user made: nothing of theirs is deleted. A directory that does not
 * exist yet is made and marked, and then purged. */
static void test_only_what_the_agent_made(void **unused)
{
	char home[512], fresh[512], seeds[512], marker[600];
	struct purge_stats st;

	(void)unused;
	mkd("home");
	mkfile("home/thesis.tex", 5000, 90000);
	mkfile("home/photo.jpg", 5000, 80000);
	path_of(home, sizeof(home), "home");
	memset(&st, 0, sizeof(st));
	assert_int_equal(purge_logs(home, 1, &st), 0);
	assert_true(exists("home/thesis.tex"));
	assert_true(exists("home/photo.jpg"));
	assert_int_equal(st.files, 0);

	path_of(fresh, sizeof(fresh), "fresh/logs");
	assert_int_equal(purge_logs(fresh, 1, &st), 0);
	snprintf(marker, sizeof(marker), "%s/%s", fresh, PURGE_LOG_MARKER);
	assert_true(access(marker, F_OK) == 0);
	mkfile("fresh/logs/ant.log", 5000, 90000);
	assert_int_equal(purge_logs(fresh, 1, &st), 0);
	assert_false(exists("fresh/logs/ant.log"));
	assert_true(access(marker, F_OK) == 0); /* the marker stays */

	mkd("seeds");
	mkfile("seeds/task-001-5.bin", 100, 10);
	mkfile("seeds/notes.txt", 100, 10);
	mkfile("seeds/task-their.bin", 100, 10);
	if (geteuid() == 0) { /* only root can give a file away */
		char theirs[600];

		path_of(theirs, sizeof(theirs), "seeds/task-their.bin");
		assert_int_equal(chown(theirs, 65534, 65534), 0);
	}
	path_of(seeds, sizeof(seeds), "seeds");
	assert_int_equal(purge_entries(seeds, PURGE_SEED_PREFIX, &st), 0);
	assert_false(exists("seeds/task-001-5.bin"));
	assert_true(exists("seeds/notes.txt"));
	assert_int_equal(exists("seeds/task-their.bin"), geteuid() == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_only_what_the_agent_made, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

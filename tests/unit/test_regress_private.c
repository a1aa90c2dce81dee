/* Files the agent makes for itself are private. A seed file for a quote or
 * upload test was written 0644 (the mode of `ant-agent seedfile -o`, a file
 * the user asked for); the agent's working copy is now 0600. The user's
 * file keeps 0644. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "seedfile.h"

static int g_calls, g_status;

static void on_prepared(int status, const char *path, const char *md5, void *ud)
{
	(void)path;
	(void)md5;
	(void)ud;
	g_calls++;
	g_status = status;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void test_seed_working_copy_is_private(void **state)
{
	char dir[] = "/tmp/ant-test-private-XXXXXX", path[256], user[256];
	char md5[DIGEST_MD5_HEX_SIZE];
	uv_loop_t loop;
	mode_t old = umask(022);

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/task-001-5.bin", dir);
	snprintf(user, sizeof(user), "%s/user.bin", dir);
	/* The user's file first: it also starts OpenSSL on the main thread, as
	 * the agent does, so valgrind sees no per-thread state of a pool
	 * thread left at exit. */
	assert_int_equal(seedfile_write_path(user, 5, 10000, md5, NULL), 0);
	assert_int_equal(mode_of(user), 0644);

	assert_int_equal(uv_loop_init(&loop), 0);
	assert_non_null(seedfile_prepare(&loop, path, 5, 10000, on_prepared, NULL));
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(g_calls, 1);
	assert_int_equal(g_status, 0);
	assert_int_equal(mode_of(path), 0600);

	unlink(path);
	unlink(user);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(rmdir(dir), 0);
	umask(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_working_copy_is_private),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The seed file generator: pinned outputs, any split of the stream gives
 * the same bytes, files and the thread-pool wrapper. The pins were
 * cross-checked with the independent Python implementation in
 * docs/SEEDFILE.md (also run by tests/cli/test_seedfile.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "seedfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
	uint64_t seed, size;
	const char *md5;
} pins[] = {
	{ 93485, 65536, "d1bd0c0f6f618bc028ae3b9c078945bd" },     /* tiny row of the upstream catalogue */
	{ 33643, 3145728, "c3d6acc1d54005bd50ba210f173bf451" },   /* small row of the upstream catalogue */
	{ 12345, 13, "8a44bb98aae2ee279d92fbd3c62431fe" },        /* not a whole number of words */
};

static void md5_of(uint64_t seed, uint64_t size, char hex[DIGEST_MD5_HEX_SIZE])
{
	unsigned char *p = malloc(size ? size : 1);
	struct seedgen g;

	seedgen_init(&g, seed);
	seedgen_fill(&g, p, size);
	assert_int_equal(digest_md5_buffer(p, size, hex), 0);
	free(p);
}

static void test_pinned_md5(void **state)
{
	char hex[DIGEST_MD5_HEX_SIZE];

	(void)state;
	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
		md5_of(pins[i].seed, pins[i].size, hex);
		assert_string_equal(hex, pins[i].md5);
	}
}

static void test_first_bytes_little_endian(void **state)
{
	/* Seed 1: the first xoshiro256** output is 0xb3f2af6d0fc710c5, written
	 * least significant byte first. */
	static const unsigned char want[8] = { 0xc5, 0x10, 0xc7, 0x0f, 0x6d, 0xaf, 0xf2, 0xb3 };
	unsigned char got[8];
	struct seedgen g;

	(void)state;
	seedgen_init(&g, 1);
	seedgen_fill(&g, got, sizeof(got));
	assert_memory_equal(got, want, sizeof(want));
}

static void test_any_split_same_stream(void **state)
{
	enum { N = 10007 };
	unsigned char *whole = malloc(N), *parts = malloc(N);
	static const size_t steps[] = { 1, 3, 8, 5, 13, 64, 7, 1000, 2, 4096 };
	struct seedgen g;
	size_t off = 0, k = 0;

	(void)state;
	seedgen_init(&g, 77);
	seedgen_fill(&g, whole, N);
	seedgen_init(&g, 77);
	while (off < N) {
		size_t n = steps[k++ % (sizeof(steps) / sizeof(steps[0]))];

		if (n > N - off)
			n = N - off;
		seedgen_fill(&g, parts + off, n);
		off += n;
	}
	assert_memory_equal(whole, parts, N);
	/* A shorter file is a prefix of a longer one with the same seed. */
	seedgen_init(&g, 77);
	seedgen_fill(&g, parts, 100);
	assert_memory_equal(whole, parts, 100);
	/* Different seeds differ. */
	seedgen_init(&g, 78);
	seedgen_fill(&g, parts, 100);
	assert_memory_not_equal(whole, parts, 100);
	free(whole);
	free(parts);
}

static void test_write_path(void **state)
{
	char dir[] = "/tmp/ant-test-seed-XXXXXX", path[256], hex[DIGEST_MD5_HEX_SIZE], hex2[DIGEST_MD5_HEX_SIZE];
	uint64_t bytes = 0;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/seed.bin", dir);
	/* Over several chunks, ending mid-word. */
	assert_int_equal(seedfile_write_path(path, 33643, 3145728, hex, NULL), 0);
	assert_string_equal(hex, "c3d6acc1d54005bd50ba210f173bf451");
	assert_int_equal(digest_md5_file(path, hex2, &bytes), 0);
	assert_string_equal(hex2, hex);
	assert_int_equal(bytes, 3145728);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	unlink(path);
	/* A directory that does not exist: an error, nothing left behind. */
	snprintf(path, sizeof(path), "%s/missing/seed.bin", dir);
	assert_int_equal(seedfile_write_path(path, 1, 10, hex, NULL), -1);
	assert_int_equal(rmdir(dir), 0);
}

/* `seedfile -o` onto a FIFO, a link to a device and a link to a file:
 * each is written in place and stays what it was; nothing is renamed
 * over it. */
static void test_write_path_not_regular(void **state)
{
	char dir[] = "/tmp/ant-test-seed-XXXXXX", fifo[256], link[256], target[256], flink[256];
	char hex[DIGEST_MD5_HEX_SIZE], hex2[DIGEST_MD5_HEX_SIZE], buf[2048];
	unsigned char expect[1000];
	struct seedgen g;
	struct stat st;
	uint64_t bytes = 0;
	ssize_t got;
	int rfd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	/* A reader first, so the writer's open does not block; 1000 bytes
	 * fit in the pipe. */
	rfd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(rfd >= 0);
	assert_int_equal(seedfile_write_path(fifo, 7, sizeof(expect), hex, NULL), 0);
	assert_int_equal(lstat(fifo, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	got = read(rfd, buf, sizeof(buf));
	assert_int_equal(got, (ssize_t)sizeof(expect));
	seedgen_init(&g, 7);
	seedgen_fill(&g, expect, sizeof(expect));
	assert_memory_equal(buf, expect, sizeof(expect));
	close(rfd);

	/* A link to /dev/null stays a link, /dev/null stays a device. */
	snprintf(link, sizeof(link), "%s/null", dir);
	assert_int_equal(symlink("/dev/null", link), 0);
	assert_int_equal(seedfile_write_path(link, 7, 5000, hex, NULL), 0);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(stat("/dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode));

	/* A link to a longer regular file: written through and truncated. */
	snprintf(target, sizeof(target), "%s/target.bin", dir);
	snprintf(flink, sizeof(flink), "%s/flink", dir);
	assert_int_equal(seedfile_write_path(target, 1, 9000, hex, NULL), 0);
	assert_int_equal(symlink(target, flink), 0);
	assert_int_equal(seedfile_write_path(flink, 2, 100, hex, NULL), 0);
	assert_int_equal(lstat(flink, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(digest_md5_file(target, hex2, &bytes), 0);
	assert_int_equal(bytes, 100);
	assert_string_equal(hex2, hex);

	/* A directory is refused. */
	assert_int_equal(seedfile_write_path(dir, 1, 10, hex, NULL), -1);
	assert_int_equal(errno, EISDIR);

	unlink(fifo);
	unlink(link);
	unlink(flink);
	unlink(target);
	assert_int_equal(rmdir(dir), 0);
}

struct prep_result {
	int calls;
	int status;
	char path[256];
	char md5[DIGEST_MD5_HEX_SIZE];
};

static void on_prepared(int status, const char *path, const char *md5, void *ud)
{
	struct prep_result *r = ud;

	r->calls++;
	r->status = status;
	snprintf(r->path, sizeof(r->path), "%s", path);
	snprintf(r->md5, sizeof(r->md5), "%s", md5 ? md5 : "");
}

static void test_prepare_async(void **state)
{
	char dir[] = "/tmp/ant-test-seed-XXXXXX", path[256];
	struct prep_result r = { 0 }, r2 = { 0 };
	uv_loop_t loop;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/q.bin", dir);
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_non_null(seedfile_prepare(&loop, path, 93485, 65536, on_prepared, &r));
	assert_int_equal(r.calls, 0); /* never inside the call */
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.path, path);
	assert_string_equal(r.md5, "d1bd0c0f6f618bc028ae3b9c078945bd");
	unlink(path);
	/* Cancelled before it could run or while running: -ECANCELED and no
	 * file, or (if it already finished) success. Either way one call. */
	{
		struct seedfile_req *q = seedfile_prepare(&loop, path, 5, 64 * 1024 * 1024, on_prepared, &r2);

		assert_non_null(q);
		seedfile_cancel(q);
		uv_run(&loop, UV_RUN_DEFAULT);
		assert_int_equal(r2.calls, 1);
		if (r2.status != 0) {
			assert_int_equal(r2.status, -ECANCELED);
			assert_int_equal(access(path, F_OK), -1);
		}
		unlink(path);
	}
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pinned_md5),
		cmocka_unit_test(test_first_bytes_little_endian),
		cmocka_unit_test(test_any_split_same_stream),
		cmocka_unit_test(test_write_path),
		cmocka_unit_test(test_write_path_not_regular),
		cmocka_unit_test(test_prepare_async),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

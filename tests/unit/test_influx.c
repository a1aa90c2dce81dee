/* The InfluxDB push without a server: gzip bodies, write URLs, batches in
 * the disk spool, the spool bound with its self-metric, and a spool that
 * survives a restart. (The tests against a real server are in
 * tests/cli/test_influx_real.sh.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "clock.h"
#include "config.h"
#include "influx.h"
#include "log.h"

static char dir[256];
static uv_loop_t loop;
static char logged[65536];

static void set(const char *k, const char *v)
{
	char err[256];

	assert_int_equal(config_set(k, v, CFG_SRC_CLI, err, sizeof(err)), 0);
}

static void capture(enum log_level l, const char *line, void *ud)
{
	size_t have = strlen(logged), n = strlen(line);

	(void)l;
	(void)ud;
	if (have + n + 2 < sizeof(logged)) {
		memcpy(logged + have, line, n);
		memcpy(logged + have + n, "\n", 2);
	}
}

/* A loopback port nobody listens on: connections are refused at once. */
static int closed_port(void)
{
	struct sockaddr_in a;
	socklen_t n = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &n), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int setup(void **state)
{
	char url[64];

	(void)state;
	log_set_console(0);
	logged[0] = '\0';
	log_set_capture(capture, NULL);
	config_reset();
	clock_setup(1704103200000LL, 1000);
	str_copy(dir, "/tmp/ant-influx-XXXXXX", sizeof(dir));
	assert_non_null(mkdtemp(dir));
	set("CACHE_DIR", dir);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", closed_port());
	set("INFLUX_URL", url);
	uv_loop_init(&loop);
	return 0;
}

static int teardown(void **state)
{
	char cmd[400];

	(void)state;
	influx_stop();
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	log_set_capture(NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void gunzip(const struct buf *in, struct buf *out)
{
	z_stream z;
	char chunk[65536];
	int rc;

	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	buf_init(out, 64 << 20);
	z.next_in = (Bytef *)in->data;
	z.avail_in = (uInt)in->len;
	do {
		z.next_out = (Bytef *)chunk;
		z.avail_out = sizeof(chunk);
		rc = inflate(&z, Z_NO_FLUSH);
		assert_true(rc == Z_OK || rc == Z_STREAM_END);
		buf_append(out, chunk, sizeof(chunk) - z.avail_out);
	} while (rc != Z_STREAM_END);
	inflateEnd(&z);
}

static void test_gzip_round_trip(void **state)
{
	const char *text = "ant_agent,agent=a exec_time=1.5 1\nant_agent,agent=a exec_time=2.5 2\n";
	struct buf gz, back;

	(void)state;
	assert_int_equal(influx_gzip(text, strlen(text), &gz), 0);
	assert_true((unsigned char)gz.data[0] == 0x1f && (unsigned char)gz.data[1] == 0x8b);
	gunzip(&gz, &back);
	assert_int_equal(back.len, strlen(text));
	assert_memory_equal(back.data, text, back.len);
	buf_free(&gz);
	buf_free(&back);
}

static void test_write_urls(void **state)
{
	char url[1024];

	(void)state;
	set("INFLUX_URL", "http://127.0.0.1:8086/");
	set("INFLUX_DB", "ant agent&x");
	assert_int_equal(influx_write_url(url, sizeof(url)), 0);
	assert_string_equal(url, "http://127.0.0.1:8086/write?db=ant%20agent%26x&precision=ns");
	set("INFLUX_VERSION", "2");
	assert_int_equal(influx_write_url(url, sizeof(url)), -1); /* org and bucket missing */
	set("INFLUX_ORG", "my org");
	set("INFLUX_BUCKET", "b/1");
	assert_int_equal(influx_write_url(url, sizeof(url)), 0);
	assert_string_equal(url, "http://127.0.0.1:8086/api/v2/write?org=my%20org&bucket=b%2F1&precision=ns");
	set("INFLUX_URL", "ftp://x");
	assert_int_equal(influx_write_url(url, sizeof(url)), -1);
}

static void pump(int ms)
{
	for (int i = 0; i < ms / 2; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(2000);
	}
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

static size_t spool_files(char names[][128], size_t max)
{
	char path[400];
	DIR *d;
	struct dirent *de;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, INFLUX_SPOOL_DIRNAME);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".lp.gz") && n < max)
			str_copy(names[n++], de->d_name, 128);
	closedir(d);
	/* Sorted, so names[0] is the oldest (fixed-width sequence numbers). */
	qsort(names, n, 128, cmp_name);
	return n;
}

static void test_spool_batches_and_restart(void **state)
{
	struct influx_counters c;
	char names[16][128];
	struct buf lines;

	(void)state;
	buf_init(&lines, 8 << 20);
	for (int i = 0; i < 12000; i++)
		buf_printf(&lines, "ant_agent,agent=a exec_time=%d.5 %d\n", i, i);
	assert_int_equal(influx_start(&loop, ",agent=a"), 0);
	influx_submit(lines.data, lines.len, 12000, NULL);
	/* Until the first push has failed (nothing listens at INFLUX_URL),
	 * however slowly the helper starts on a loaded machine. */
	for (int i = 0; i < 5000; i++) {
		influx_get_counters(&c);
		if (c.retries >= 1)
			break;
		pump(2);
	}
	influx_get_counters(&c);
	assert_int_equal(c.spool_files, 3);
	assert_int_equal(c.lines_sent, 0);
	assert_true(c.retries >= 1);
	assert_false(influx_idle());
	assert_int_equal(spool_files(names, 16), 3);
	/* Batches of at most INFLUX_BATCH_LINES, line counts in the names. */
	assert_non_null(strstr(names[0], "-5000.lp.gz"));
	assert_non_null(strstr(names[1], "-5000.lp.gz"));
	assert_non_null(strstr(names[2], "-2000.lp.gz"));
	assert_non_null(strstr(logged, "push failed"));

	/* A restart finds the same batches and keeps their order. */
	influx_stop();
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(influx_start(&loop, ",agent=a"), 0);
	influx_get_counters(&c);
	assert_int_equal(c.spool_files, 3);
	influx_submit("m f=1i 1\n", 9, 1, NULL);
	assert_int_equal(spool_files(names, 16), 4);
	assert_non_null(strstr(names[3], "-1.lp.gz"));
	buf_free(&lines);
}

static void test_spool_full_drops_oldest(void **state)
{
	struct influx_counters c;
	char names[64][128], path[600];
	struct buf lines, gz, text;
	uint32_t x = 12345;

	(void)state;
	set("INFLUX_SPOOL_MAX_MB", "1");
	assert_int_equal(influx_start(&loop, ",agent=a"), 0);
	/* Random hex does not compress well: each submit is ~0.15 MB gzipped. */
	for (int round = 0; round < 14; round++) {
		buf_init(&lines, 8 << 20);
		for (int i = 0; i < 4000; i++) {
			buf_printf(&lines, "ant_agent,agent=a address=\"");
			for (int k = 0; k < 64; k++) {
				x = x * 1103515245u + 12345u;
				buf_append(&lines, &"0123456789abcdef"[(x >> 16) & 15], 1);
			}
			buf_printf(&lines, "\" %d\n", round * 4000 + i);
		}
		influx_submit(lines.data, lines.len, 4000, NULL);
		buf_free(&lines);
		pump(10);
	}
	influx_get_counters(&c);
	assert_true(c.lines_dropped >= 4000);
	assert_true(c.spool_bytes <= 1024 * 1024);
	assert_non_null(strstr(logged, "lines dropped (the spool is full)"));
	/* The newest batch is the self-metric that reports the drop. */
	{
		size_t n = spool_files(names, 64);

		assert_true(n >= 2);
		assert_non_null(strstr(names[n - 1], "-1.lp.gz"));
		snprintf(path, sizeof(path), "%s/%s/%s", dir, INFLUX_SPOOL_DIRNAME, names[n - 1]);
	}
	assert_int_equal(file_read_all(path, 1 << 20, &gz), 0);
	gunzip(&gz, &text);
	assert_non_null(strstr(text.data, "ant_agent_self,agent=a dropped_lines="));
	assert_non_null(strstr(text.data, "i,dropped_total="));
	buf_free(&gz);
	buf_free(&text);
}

static void test_basic_auth_never_logged(void **state)
{
	(void)state;
	set("INFLUX_USER", "writer");
	set("INFLUX_PASSWORD", "s3cret-pass");
	config_register_secrets();
	assert_int_equal(influx_start(&loop, ",agent=a"), 0);
	influx_submit("m f=1i 1\n", 9, 1, NULL);
	pump(50);
	/* "writer:s3cret-pass" in base64 */
	assert_null(strstr(logged, "d3JpdGVyOnMzY3JldC1wYXNz"));
	assert_null(strstr(logged, "s3cret-pass"));
	/* The header's encoded form is exactly that, and is masked too: a
	 * line that quotes it comes out without it. */
	log_error("influx test: header Basic %s", "d3JpdGVyOnMzY3JldC1wYXNz");
	assert_non_null(strstr(logged, "influx test: header Basic"));
	assert_null(strstr(logged, "d3JpdGVyOnMzY3JldC1wYXNz"));
	log_clear_secrets();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gzip_round_trip),
		cmocka_unit_test_setup_teardown(test_write_urls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_batches_and_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_full_drops_oldest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_basic_auth_never_logged, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Catalogues: the CSV reader and row rules over the upstream files and bad
 * input, the random pickers, and the on-disk cache against a real HTTP
 * server on 127.0.0.1 (fresh copy, 304, failures with and without a
 * stale copy), with the virtual clock standing in for CACHE_TIME. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "catalog.h"
#include "clock.h"
#include "log.h"
#include "testhttpd.h"

#include <dirent.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define T0 INT64_C(1734333600000) /* 2024-12-16T07:20:00Z */
#define HOUR INT64_C(3600000)

/* Row i, copied out of the compact storage (a failed look-up fails the
 * test). */
static struct dl_row dl(const struct catalog *c, size_t i)
{
	struct dl_row r;

	assert_true(catalog_download_at(c, i, &r));
	return r;
}

static struct seed_row sd(const struct catalog *c, size_t i)
{
	struct seed_row r;

	assert_true(catalog_seed_at(c, i, &r));
	return r;
}

static const char *const DL_HEADER = "fileSize,name,address,md5\n";
static const char *const ADDR = "7a8554af57f3664c1f7896cae2394119d8ead2d49e736b060d8a66fc6a2befa1";

static void accounted(const struct catalog *c)
{
	const struct catalog_stats *s = &c->stats;

	assert_int_equal(s->lines, s->comments + s->blank + s->header + s->accepted + s->skipped);
	assert_int_equal(s->accepted, c->nrows);
}

static const struct catalog_problem *find(const struct catalog *c, int line, const char *text)
{
	for (size_t i = 0; i < c->nproblems; i++)
		if ((line == 0 || c->problems[i].line == line) && strstr(c->problems[i].message, text))
			return &c->problems[i];
	return NULL;
}

static void dump(const struct catalog *c)
{
	for (size_t i = 0; i < c->nproblems; i++)
		fprintf(stderr, "  line %d: %s: %s\n", c->problems[i].line,
			catalog_severity_name(c->problems[i].severity), c->problems[i].message);
}

static int parse_str(enum catalog_kind k, const char *s, struct catalog *c)
{
	int rc = catalog_parse(k, s, strlen(s), c);

	dump(c);
	return rc;
}

static void test_upstream_files(void **state)
{
	struct catalog c;
	struct buf b;

	(void)state;
	assert_int_equal(file_read_all(ANT_FIXTURES_DIR "/upstream/01-download-files.csv",
				       CATALOG_MAX_BYTES, &b), 0);
	assert_int_equal(catalog_parse(CATALOG_DOWNLOADS, b.data, b.len, &c), 0);
	dump(&c);
	assert_int_equal(c.stats.lines, 72);
	assert_int_equal(c.stats.comments, 15);
	assert_int_equal(c.stats.header, 1);
	assert_int_equal(c.stats.accepted, 56);
	assert_int_equal(c.stats.skipped, 0);
	assert_int_equal(c.stats.blank, 0);
	assert_int_equal(c.nproblems, 0);
	accounted(&c);
	assert_int_equal(catalog_count(&c, SIZE_MEDIUM), 32);
	assert_int_equal(catalog_count(&c, SIZE_SMALL), 24);
	assert_int_equal(catalog_count(&c, SIZE_TINY), 0);
	assert_string_equal(dl(&c, 0).name, "BegBlag.mp3");
	assert_string_equal(dl(&c, 0).address, ADDR);
	assert_string_equal(dl(&c, 0).md5, "b5cbbfb4fd311c0913972f885cada4e8");
	assert_int_equal(dl(&c, 0).line, 17);
	assert_string_equal(dl(&c, 3).name, "autonomi.mp4");
	assert_string_equal(dl(&c, 3).md5, ""); /* "0" means none */
	catalog_free(&c);
	buf_free(&b);

	assert_int_equal(file_read_all(ANT_FIXTURES_DIR "/upstream/02-quote-files.csv",
				       CATALOG_MAX_BYTES, &b), 0);
	assert_int_equal(catalog_parse(CATALOG_SEEDS, b.data, b.len, &c), 0);
	dump(&c);
	assert_int_equal(c.stats.lines, 24);
	assert_int_equal(c.stats.comments, 17);
	assert_int_equal(c.stats.header, 1);
	assert_int_equal(c.stats.accepted, 6);
	assert_int_equal(c.stats.skipped, 0);
	assert_int_equal(c.nproblems, 0); /* placeholder md5s are quietly ignored */
	accounted(&c);
	assert_int_equal(sd(&c, 0).size, SIZE_TINY);
	assert_int_equal(sd(&c, 0).seed, 93485);
	assert_int_equal(sd(&c, 0).bytes, 65536);
	assert_string_equal(sd(&c, 0).md5, "");
	assert_int_equal(sd(&c, 5).size, SIZE_GIGA);
	assert_int_equal(sd(&c, 5).bytes, 2147483648ULL);
	catalog_free(&c);
	buf_free(&b);
}

static void test_csv_syntax(void **state)
{
	struct catalog c;
	char text[2048];

	(void)state;
	/* BOM, CRLF, quoted fields with commas and "" escapes, blanks. */
	snprintf(text, sizeof(text),
		 "\xEF\xBB\xBF# comment\r\n"
		 "fileSize,name,address,md5\r\n"
		 "\r\n"
		 "small,\"my, file.jpg\",%s,0\r\n"
		 " small , \"a \"\"quoted\"\" name\" , %s , \"B5CBBFB4FD311C0913972F885CADA4E8\"\r\n"
		 "small,\"unterminated,%s,0\r\n"
		 "small,\"x\"y,%s,0\r\n"
		 "   # indented comment\n"
		 "small,last.jpg,%s",
		 ADDR, ADDR, ADDR, ADDR, ADDR);
	assert_int_equal(parse_str(CATALOG_DOWNLOADS, text, &c), 0);
	assert_int_equal(c.stats.lines, 9);
	assert_int_equal(c.stats.comments, 2);
	assert_int_equal(c.stats.blank, 1);
	assert_int_equal(c.stats.header, 1);
	assert_int_equal(c.stats.accepted, 3);
	assert_int_equal(c.stats.skipped, 2);
	accounted(&c);
	assert_string_equal(dl(&c, 0).name, "my, file.jpg");
	assert_string_equal(dl(&c, 1).name, "a \"quoted\" name");
	assert_string_equal(dl(&c, 1).md5, "b5cbbfb4fd311c0913972f885cada4e8");
	assert_string_equal(dl(&c, 2).name, "last.jpg"); /* md5 column left out */
	assert_string_equal(dl(&c, 2).md5, "");
	assert_int_equal(dl(&c, 2).line, 9);
	assert_non_null(find(&c, 6, "quoted field is not closed"));
	assert_non_null(find(&c, 7, "unexpected text after a closing quote"));
	catalog_free(&c);
}

static void test_download_rules(void **state)
{
	static const char *const bad_names[] = {
		"../etc/passwd", "a/b.jpg", "a\\\\b.jpg", ".", "..", "-rf", "tab\tname", "\"\"",
	};
	struct catalog c;
	struct buf b;
	char name300[300];

	(void)state;
	buf_init(&b, 1 << 20);
	buf_printf(&b, "%s", DL_HEADER);
	for (size_t i = 0; i < ARRAY_SIZE(bad_names); i++)
		buf_printf(&b, "small,%s,%s,0\n", bad_names[i], ADDR);    /* lines 2..9 */
	memset(name300, 'n', 256);
	name300[256] = '\0';
	buf_printf(&b, "small,%s,%s,0\n", name300, ADDR);               /* 10 */
	buf_printf(&b, "small,ok.jpg,xyz123456789,0\n");                /* 11 */
	buf_printf(&b, "small,ok.jpg,abc,0\n");                         /* 12 */
	memset(name300, 'a', 129);
	name300[129] = '\0';
	buf_printf(&b, "small,ok.jpg,%s,0\n", name300);                 /* 13 */
	buf_printf(&b, "enormous,ok.jpg,%s,0\n", ADDR);                 /* 14 */
	buf_printf(&b, "small,ok.jpg\n");                               /* 15 */
	buf_printf(&b, "small\n");                                      /* 16 */
	buf_printf(&b, "small,md5a.jpg,%s,abc\n", ADDR);                /* 17: none */
	buf_printf(&b, "small,md5b.jpg,%s,12345678\n", ADDR);           /* 18: warning */
	buf_printf(&b, "small,md5c.jpg,%s,%s\n", ADDR, "g5cbbfb4fd311c0913972f885cada4e8"); /* 19 */
	buf_printf(&b, "small,extra.jpg,%s,0,what,is,this\n", ADDR);    /* 20 */
	buf_printf(&b, "SMALL,Caps.jpg,ABCDEF0123,0\n");                /* 21 */
	assert_int_equal(catalog_parse(CATALOG_DOWNLOADS, b.data, b.len, &c), 0);
	dump(&c);
	accounted(&c);
	assert_int_equal(c.stats.lines, 21);
	assert_int_equal(c.stats.skipped, 15);
	assert_int_equal(c.stats.accepted, 5);
	assert_non_null(find(&c, 2, "may not contain '/'"));
	assert_non_null(find(&c, 3, "may not contain '/'"));
	assert_non_null(find(&c, 4, "may not contain '/' or '\\'"));
	assert_non_null(find(&c, 5, "may not be '.' or '..'"));
	assert_non_null(find(&c, 6, "may not be '.' or '..'"));
	assert_non_null(find(&c, 7, "may not start with '-'"));
	assert_non_null(find(&c, 8, "control character"));
	assert_non_null(find(&c, 9, "the name is empty"));
	assert_non_null(find(&c, 10, "longer than 255 bytes"));
	assert_non_null(find(&c, 11, "must be 8 to 128 hex digits"));
	assert_non_null(find(&c, 12, "must be 8 to 128 hex digits"));
	assert_non_null(find(&c, 13, "must be 8 to 128 hex digits"));
	assert_non_null(find(&c, 14, "fileSize 'enormous' is not a size class"));
	assert_non_null(find(&c, 15, "the row has 2 columns"));
	assert_non_null(find(&c, 16, "the row has 1 column;"));
	assert_null(find(&c, 17, "md5"));
	assert_non_null(find(&c, 18, "md5 '12345678' is not 32 hex digits; md5b.jpg is downloaded without an MD5 check"));
	assert_non_null(find(&c, 19, "is not 32 hex digits"));
	assert_non_null(find(&c, 20, "the ones after"));
	assert_string_equal(dl(&c, 0).md5, "");
	assert_string_equal(dl(&c, 1).md5, "");
	assert_string_equal(dl(&c, 4).name, "Caps.jpg");
	assert_int_equal(dl(&c, 4).size, SIZE_SMALL);
	for (size_t i = 0; i < c.nrows; i++)
		assert_true(catalog_name_safe(dl(&c, i).name));
	catalog_free(&c);
	buf_free(&b);

	assert_false(catalog_name_safe(NULL));
	assert_false(catalog_name_safe(".."));
	assert_true(catalog_name_safe("..hidden-but-fine"));
}

static void test_seed_rules(void **state)
{
	struct catalog c;

	(void)state;
	assert_int_equal(parse_str(CATALOG_SEEDS,
		"fileSize,seed,size,md5\n"
		"tiny,1,65536,B5CBBFB4FD311C0913972F885CADA4E8\n" /* 2: ok, md5 used */
		"tiny,2,131072,0\n"                               /* 3: too big for tiny */
		"large,3,1000,0\n"                                /* 4: too small for large */
		"tiny,x,100,0\n"                                  /* 5: seed not a number */
		"tiny,-4,100,0\n"                                 /* 6: negative seed */
		"tiny,5,-100,0\n"                                 /* 7: negative size */
		"tiny,6,0,0\n"                                    /* 8: zero size */
		"chunka,7,4194304,not-an-md5\n"                   /* 9: ok, md5 ignored */
		"chunka,8,4194305\n"                              /* 10: chunka is exact */
		"tiny,9\n",                                       /* 11: missing size */
		&c), 0);
	accounted(&c);
	assert_int_equal(c.stats.accepted, 2);
	assert_int_equal(c.stats.skipped, 8);
	assert_string_equal(sd(&c, 0).md5, "b5cbbfb4fd311c0913972f885cada4e8");
	assert_string_equal(sd(&c, 1).md5, "");
	assert_non_null(find(&c, 3, "size 131072 bytes does not fit class tiny (1 to 131071 bytes)"));
	assert_non_null(find(&c, 4, "does not fit class large"));
	assert_non_null(find(&c, 5, "seed 'x' is not a whole number"));
	assert_non_null(find(&c, 6, "seed '-4'"));
	assert_non_null(find(&c, 7, "size '-100' is not a whole number of bytes"));
	assert_non_null(find(&c, 8, "size '0'"));
	assert_non_null(find(&c, 10, "does not fit class chunka (4194304 to 4194304 bytes)"));
	assert_non_null(find(&c, 11, "the row has 2 columns"));
	assert_null(find(&c, 9, "md5"));
	catalog_free(&c);
}

static void test_headers(void **state)
{
	struct catalog c;
	char text[1024];

	(void)state;
	/* Columns found by name in any order and case. */
	snprintf(text, sizeof(text), "MD5,Name,FILESIZE,address\n0,a.jpg,small,%s\n", ADDR);
	assert_int_equal(parse_str(CATALOG_DOWNLOADS, text, &c), 0);
	assert_int_equal(c.nrows, 1);
	assert_int_equal(c.nproblems, 0);
	assert_string_equal(dl(&c, 0).name, "a.jpg");
	assert_string_equal(dl(&c, 0).address, ADDR);
	catalog_free(&c);

	/* No header: a warning, and the first row is read as data. */
	snprintf(text, sizeof(text), "# c\nsmall,a.jpg,%s,0\nsmall,b.jpg,%s,0\n", ADDR, ADDR);
	assert_int_equal(parse_str(CATALOG_DOWNLOADS, text, &c), 0);
	assert_int_equal(c.nrows, 2);
	assert_int_equal(c.stats.header, 0);
	assert_non_null(find(&c, 2, "no header row"));
	accounted(&c);
	catalog_free(&c);

	/* A header with other names: read by position, with a warning. */
	snprintf(text, sizeof(text), "kind,file,where,hash\nsmall,a.jpg,%s,0\n", ADDR);
	assert_int_equal(parse_str(CATALOG_DOWNLOADS, text, &c), 0);
	assert_int_equal(c.nrows, 1);
	assert_non_null(find(&c, 1, "does not name the columns"));
	catalog_free(&c);

	/* Header only: parsed, but no usable row. */
	assert_int_equal(parse_str(CATALOG_DOWNLOADS, DL_HEADER, &c), 0);
	assert_int_equal(c.nrows, 0);
	assert_non_null(find(&c, 0, "no usable row"));
	catalog_free(&c);
}

static void expect_unusable(enum catalog_kind k, const char *data, size_t len, const char *why)
{
	struct catalog c;

	assert_int_equal(catalog_parse(k, data, len, &c), -1);
	assert_true(c.failed);
	assert_int_equal(c.nrows, 0);
	assert_int_equal(c.nproblems, 1);
	assert_int_equal(c.problems[0].severity, CATALOG_ERROR);
	if (strstr(c.problems[0].message, why) == NULL)
		fail_msg("'%s' does not say '%s'", c.problems[0].message, why);
	catalog_free(&c);
}

static void test_unusable(void **state)
{
	(void)state;
	expect_unusable(CATALOG_DOWNLOADS, "", 0, "the file is empty");
	expect_unusable(CATALOG_SEEDS, "# only\n# comments\n\n", 19, "no header row and no rows");
	expect_unusable(CATALOG_DOWNLOADS, "\n<!DOCTYPE html><html>", 22, "looks like HTML");
	expect_unusable(CATALOG_DOWNLOADS, "small,a\0b,c", 11, "NUL bytes");
	expect_unusable(CATALOG_DOWNLOADS, "x", CATALOG_MAX_BYTES + 1, "larger than the 8 MiB limit");
}

static void test_pickers(void **state)
{
	struct catalog c, s;
	char text[2048];
	int seen[3] = { 0, 0, 0 };

	(void)state;
	snprintf(text, sizeof(text), "%ssmall,a,%s,0\nmedium,b,%s,0\nsmall,c,%s,0\nsmall,d,%s,0\n",
		 DL_HEADER, ADDR, ADDR, ADDR, ADDR);
	assert_int_equal(parse_str(CATALOG_DOWNLOADS, text, &c), 0);
	assert_int_equal(catalog_count(&c, SIZE_SMALL), 3);
	for (uint32_t r = 0; r < 30; r++) {
		const struct dl_row *row = catalog_pick_download(&c, SIZE_SMALL, r);

		assert_non_null(row);
		assert_int_equal(row->size, SIZE_SMALL);
		seen[row->name[0] == 'a' ? 0 : row->name[0] == 'c' ? 1 : 2]++;
	}
	assert_int_equal(seen[0], 10);
	assert_int_equal(seen[1], 10);
	assert_int_equal(seen[2], 10);
	assert_string_equal(catalog_pick_download(&c, SIZE_MEDIUM, 12345)->name, "b");
	assert_null(catalog_pick_download(&c, SIZE_HUGE, 1));
	assert_null(catalog_pick_seed(&c, SIZE_SMALL, 1)); /* wrong kind */

	assert_int_equal(parse_str(CATALOG_SEEDS, "fileSize,seed,size,md5\ntiny,1,10,0\n", &s), 0);
	assert_int_equal(catalog_pick_seed(&s, SIZE_TINY, 7)->seed, 1);
	assert_null(catalog_pick_seed(&s, SIZE_SMALL, 7));
	catalog_free(&s);
	catalog_free(&c);
}

/* ---- the cache, against the test server ------------------------------ */

struct got {
	bool done;
	enum catalog_origin origin;
	size_t rows;
	int64_t age_ms;
	char error[300];
};

static void got_cb(struct catalog *cat, const struct catalog_load_info *info, void *ud)
{
	struct got *g = ud;

	g->done = true;
	g->origin = info->origin;
	g->rows = cat->nrows;
	g->age_ms = info->age_ms;
	str_copy(g->error, info->error, sizeof(g->error));
}

static char g_cache_dir[256];

static struct got load(const char *url, int timeout_ms)
{
	struct catalog_source src;
	char cache[300], meta[300];
	struct got g;
	struct fetcher *f;
	uv_loop_t loop;

	memset(&g, 0, sizeof(g));
	snprintf(cache, sizeof(cache), "%s/sub/dir/download-files.csv", g_cache_dir);
	snprintf(meta, sizeof(meta), "%s/sub/dir/download-files.meta", g_cache_dir);
	memset(&src, 0, sizeof(src));
	src.kind = CATALOG_DOWNLOADS;
	src.url = url;
	src.cache_file = cache;
	src.meta_file = meta;
	src.max_age_ms = HOUR;
	src.timeout_ms = timeout_ms;
	assert_int_equal(uv_loop_init(&loop), 0);
	f = fetcher_new(&loop);
	assert_int_equal(catalog_load(&loop, f, &src, got_cb, &g), 0);
	assert_false(g.done); /* never called back from inside catalog_load */
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_true(g.done);
	fetcher_free(f);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	return g;
}

static void serve(int rows)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	buf_printf(&b, "# served\n%s", DL_HEADER);
	for (int i = 0; i < rows; i++)
		buf_printf(&b, "small,f%d.jpg,%s,0\n", i, ADDR);
	httpd_put("dl.csv", b.data);
	buf_free(&b);
}

static int no_temp_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 1;
	while ((e = readdir(d)) != NULL)
		n += strstr(e->d_name, ".tmp") != NULL;
	closedir(d);
	return n == 0;
}

/* The schedule clock standing at t: the copies' ages are exact, however
 * long the machine takes over each load. */
static void clock_at(int64_t t)
{
	clock_setup(t, 1.0);
	clock_hold();
}

static void test_cache_cycle(void **state)
{
	const char *url;
	char dir[300];
	struct buf meta;
	struct got g;

	(void)state;
	serve(3);
	url = xstrdup(httpd_url("/files/dl.csv"));
	clock_at(T0);

	/* Nothing cached: fetched and written. */
	g = load(url, 0);
	assert_int_equal(g.origin, CATALOG_FROM_NETWORK);
	assert_int_equal(g.rows, 3);
	assert_int_equal(httpd_hits("/files/dl.csv"), 1);
	snprintf(dir, sizeof(dir), "%s/sub/dir/download-files.meta", g_cache_dir);
	assert_int_equal(file_read_all(dir, 4096, &meta), 0);
	assert_non_null(strstr(meta.data, url));
	assert_non_null(strstr(meta.data, "etag=\""));
	assert_non_null(strstr(meta.data, "fetched_at=2024-12-16T07:20:00Z"));
	buf_free(&meta);
	snprintf(dir, sizeof(dir), "%s/sub/dir", g_cache_dir);
	assert_true(no_temp_files(dir));

	/* Fresh: no request at all. */
	clock_at(T0 + HOUR - 1000);
	g = load(url, 0);
	assert_int_equal(g.origin, CATALOG_FROM_CACHE);
	assert_int_equal(g.rows, 3);
	assert_int_equal(httpd_hits("/files/dl.csv"), 1);

	/* Older than CACHE_TIME and unchanged: a 304. */
	clock_at(T0 + HOUR + 1000);
	g = load(url, 0);
	assert_int_equal(g.origin, CATALOG_REVALIDATED);
	assert_int_equal(g.rows, 3);
	assert_int_equal(httpd_hits("/files/dl.csv"), 2);
	/* ...which renews the copy's age. */
	clock_at(T0 + HOUR + 2000);
	g = load(url, 0);
	assert_int_equal(g.origin, CATALOG_FROM_CACHE);
	assert_int_equal(httpd_hits("/files/dl.csv"), 2);

	/* Changed on the server: fetched again. */
	serve(5);
	clock_at(T0 + 3 * HOUR);
	g = load(url, 0);
	assert_int_equal(g.origin, CATALOG_FROM_NETWORK);
	assert_int_equal(g.rows, 5);
	assert_int_equal(httpd_hits("/files/dl.csv"), 3);
	clock_release();
	free((char *)(uintptr_t)url);
}

/* Every way a refresh can fail: the stale copy is used (and the reason
 * given); with no copy, nothing is. */
static void test_cache_failures(void **state)
{
	static const struct {
		const char *mode;
		const char *why;
	} modes[] = {
		{ "status/403", "HTTP status 403" },
		{ "ratelimit", "HTTP status 403" },
		{ "status/404", "HTTP status 404" },
		{ "status/500", "HTTP status 500" },
		{ "hang", "in time" },
		{ "big/104857600", "limit" },
		{ "endless", "limit" },
		{ "html", "HTML" },
	};
	const char *url;
	struct got g;
	char cmd[300];

	(void)state;
	serve(4);
	url = xstrdup(httpd_url("/files/dl.csv"));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/sub'", g_cache_dir);
	assert_int_equal(system(cmd), 0);
	clock_setup(T0, 1.0);
	g = load(url, 0);
	assert_int_equal(g.origin, CATALOG_FROM_NETWORK);
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		httpd_set("/files/dl.csv", modes[i].mode);
		clock_setup(T0 + (int64_t)(i + 2) * HOUR, 1.0);
		g = load(url, 800);
		assert_int_equal(g.origin, CATALOG_FROM_STALE_CACHE);
		assert_int_equal(g.rows, 4);
		/* The clock runs on in real time while the request waits. */
		assert_true(llabs(g.age_ms - (int64_t)(i + 2) * HOUR) < 5000);
		if (strstr(g.error, modes[i].why) == NULL)
			fail_msg("%s: '%s' does not say '%s'", modes[i].mode, g.error, modes[i].why);
	}
	/* Without a cached copy there is nothing to fall back on. */
	assert_int_equal(system(cmd), 0);
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		httpd_set("/files/dl.csv", modes[i].mode);
		g = load(url, 800);
		assert_int_equal(g.origin, CATALOG_NONE);
		assert_int_equal(g.rows, 0);
		assert_true(g.error[0] != '\0');
	}
	httpd_set("/files/dl.csv", "");
	/* A copy fetched from another URL is never used for this one. */
	g = load(url, 0);
	assert_int_equal(g.origin, CATALOG_FROM_NETWORK);
	g = load(httpd_url("/status/500"), 0);
	assert_int_equal(g.origin, CATALOG_NONE);
	free((char *)(uintptr_t)url);
}

static void test_local_path(void **state)
{
	struct got g;
	char path[300];

	(void)state;
	serve(2);
	snprintf(path, sizeof(path), "%s/dl.csv", httpd_root());
	g = load(path, 0);
	assert_int_equal(g.origin, CATALOG_FROM_FILE);
	assert_int_equal(g.rows, 2);
	g = load("/nonexistent/catalogue.csv", 0);
	assert_int_equal(g.origin, CATALOG_NONE);
	assert_non_null(strstr(g.error, "No such file"));
}

static int setup(void **state)
{
	(void)state;
	log_set_console(0);
	snprintf(g_cache_dir, sizeof(g_cache_dir), "/tmp/ant-cat-test.XXXXXX");
	if (mkdtemp(g_cache_dir) == NULL)
		return -1;
	return httpd_start();
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	httpd_stop();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_cache_dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upstream_files),
		cmocka_unit_test(test_csv_syntax),
		cmocka_unit_test(test_download_rules),
		cmocka_unit_test(test_seed_rules),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_unusable),
		cmocka_unit_test(test_pickers),
		cmocka_unit_test(test_cache_cycle),
		cmocka_unit_test(test_cache_failures),
		cmocka_unit_test(test_local_path),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

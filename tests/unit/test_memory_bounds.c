/* Memory taken by outside data at its size cap: a catalogue of the
 * largest accepted size, stored compactly, holds less than four times its
 * text; the largest kill-switch answer accepted parses in bounded memory
 * (jansson's allocations counted through json_set_alloc_funcs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "catalog.h"
#include "fetch.h"
#include "killswitch.h"
#include "util.h"

#include <jansson.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* Fill buf (cap bytes) with header + the row text repeated; returns the
 * length. Rows differ so no two are alike. */
static size_t make_catalogue(char *buf, size_t cap, bool downloads)
{
	size_t len = 0;
	int n;

	len = (size_t)snprintf(buf, cap, "%s\n", downloads ? "fileSize,name,address,md5"
							     : "fileSize,seed,size,md5");
	for (unsigned i = 0;; i++) {
		char row[96];

		if (downloads)
			n = snprintf(row, sizeof(row), "tiny,f%x,%08x,0\n", i, i);
		else
			n = snprintf(row, sizeof(row), "tiny,%u,1000,0\n", i);
		if (len + (size_t)n > cap)
			break;
		memcpy(buf + len, row, (size_t)n);
		len += (size_t)n;
	}
	return len;
}

static void check_catalogue(bool downloads)
{
	char *text = xmalloc(CATALOG_MAX_BYTES);
	size_t len = make_catalogue(text, CATALOG_MAX_BYTES, downloads);
	struct mallinfo2 before, after;
	struct catalog c;
	size_t held;

	before = mallinfo2();
	assert_int_equal(catalog_parse(downloads ? CATALOG_DOWNLOADS : CATALOG_SEEDS, text, len, &c), 0);
	after = mallinfo2();
	assert_true(c.nrows > 300000);
	held = catalog_memory(&c);
	print_message("%s: %zu bytes of text, %zu rows, %zu bytes held (%.2fx), heap grew %zu\n",
		      downloads ? "downloads" : "seeds", len, c.nrows, held, (double)held / (double)len,
		      (after.uordblks + after.hblkhd) - (before.uordblks + before.hblkhd));
	assert_true(held < 4 * len);
	/* Independent of the catalogue's own count (0 under sanitizers,
	 * which keep their own heap). */
	assert_true((after.uordblks + after.hblkhd) - (before.uordblks + before.hblkhd) < 4 * len);
	if (downloads) {
		struct dl_row r;

		assert_true(catalog_download_at(&c, c.nrows - 1, &r));
		assert_int_equal(r.size, SIZE_TINY);
		assert_true(catalog_name_safe(r.name));
		assert_true(strlen(r.address) == 8);
	} else {
		struct seed_row r;

		assert_true(catalog_seed_at(&c, c.nrows - 1, &r));
		assert_int_equal(r.seed, c.nrows - 1);
		assert_int_equal(r.bytes, 1000);
	}
	catalog_free(&c);
	free(text);
}

static void test_catalogue_downloads_compact(void **state)
{
	(void)state;
	check_catalogue(true);
}

static void test_catalogue_seeds_compact(void **state)
{
	(void)state;
	check_catalogue(false);
}

/* jansson's live and peak bytes, with a size header per block. */
static size_t g_live, g_peak;

static void *count_malloc(size_t n)
{
	size_t *p = malloc(n + sizeof(size_t));

	if (p == NULL)
		return NULL;
	*p = n;
	g_live += n;
	if (g_live > g_peak)
		g_peak = g_live;
	return p + 1;
}

static void count_free(void *v)
{
	size_t *p = v;

	if (p == NULL)
		return;
	g_live -= p[-1];
	free(p - 1);
}

/* The densest answer for jansson: as many empty objects as fit the cap. */
static void test_killswitch_answer_bounded(void **state)
{
	size_t len = 0;
	char *text = xmalloc(FETCH_CAP_JSON + 1);
	char err[256];
	bool on = true;

	(void)state;
	text[len++] = '[';
	while (len + 4 < FETCH_CAP_JSON) {
		memcpy(text + len, "{},", 3);
		len += 3;
	}
	memcpy(text + len, "{}]", 3);
	len += 3;
	assert_true(len <= FETCH_CAP_JSON);
	json_set_alloc_funcs(count_malloc, count_free);
	g_live = g_peak = 0;
	killswitch_parse(text, len, &on, NULL, err, sizeof(err));
	json_set_alloc_funcs(malloc, free);
	print_message("kill-switch answer of %zu bytes: jansson peak %zu bytes\n", len, g_peak);
	/* The largest answer accepted costs at most 32 MiB to look at. */
	assert_true(g_peak < 32u * 1024 * 1024);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalogue_downloads_compact),
		cmocka_unit_test(test_catalogue_seeds_compact),
		cmocka_unit_test(test_killswitch_answer_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * catalog.c - download and seed catalogues: a small CSV reader, the row
 * rules, random pickers and the on-disk cache around fetch.
 *
 * The reader works one physical line at a time: a quoted field may hold
 * commas and "" but not a line break (no catalogue value may contain one,
 * and it keeps the line accounting exact).
 */
#include "catalog.h"
#include "kind.h"

#include "clock.h"
#include "config.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define META_MAX (16 * 1024)
#define URL_MAX 2048

enum col { COL_SIZE, COL_ID, COL_VALUE, COL_MD5, COL__COUNT };

static const char *const col_names[2][COL__COUNT] = {
	[CATALOG_DOWNLOADS] = { "fileSize", "name", "address", "md5" },
	[CATALOG_SEEDS] = { "fileSize", "seed", "size", "md5" },
};

struct row_fields {
	char f[CATALOG_COLUMNS_MAX][CATALOG_FIELD_MAX + 1];
	int n;       /* columns kept */
	int extra;   /* columns past CATALOG_COLUMNS_MAX */
};

/* A download row as stored: offsets of NUL-terminated strings in the
 * arena (offset 0 is the empty string). */
struct crow_dl {
	uint32_t name, address, md5;
	uint32_t line;
	uint8_t size;
};

struct crow_seed {
	uint64_t seed, bytes;
	uint32_t md5;
	uint32_t line;
	uint8_t size;
};

struct catalog_rows {
	char *arena;
	size_t arena_len, arena_alloc;
	struct crow_dl *dl;
	struct crow_seed *sd;
	size_t alloc;
	struct dl_row pick_dl;     /* the last picked rows, handed out */
	struct seed_row pick_seed;
};

struct reader {
	struct catalog *c;
	size_t problems_alloc;
	int col[COL__COUNT]; /* column index of each field, -1 if absent */
	int ncols_expected;
	bool header_done;
	int line;
};

enum catalog_kind catalog_kind_for(enum test_type t)
{
	const struct test_kind *k = kind_get(t);

	return k && k->input == KIND_INPUT_CATALOGUE_ROW ? CATALOG_DOWNLOADS : CATALOG_SEEDS;
}

const char *catalog_kind_name(enum catalog_kind k)
{
	return k == CATALOG_DOWNLOADS ? "download catalogue" : "seed catalogue";
}

const char *catalog_header(enum catalog_kind k)
{
	return k == CATALOG_DOWNLOADS ? "fileSize,name,address,md5" : "fileSize,seed,size,md5";
}

const char *catalog_severity_name(enum catalog_severity s)
{
	switch (s) {
	case CATALOG_WARNING: return "warning";
	case CATALOG_SKIPPED: return "skipped";
	case CATALOG_ERROR: return "error";
	}
	return "?";
}

const char *catalog_origin_name(enum catalog_origin o)
{
	switch (o) {
	case CATALOG_FROM_CACHE: return "cached copy (fresh)";
	case CATALOG_FROM_NETWORK: return "fetched";
	case CATALOG_REVALIDATED: return "cached copy (unchanged on the server)";
	case CATALOG_FROM_STALE_CACHE: return "stale cached copy";
	case CATALOG_FROM_FILE: return "local file";
	case CATALOG_NONE: return "nothing";
	}
	return "?";
}

__attribute__((format(printf, 4, 5)))
static void problem(struct reader *rd, enum catalog_severity sev, int line, const char *fmt, ...)
{
	struct catalog *c = rd->c;
	struct catalog_problem *p;
	va_list ap;

	if (sev == CATALOG_WARNING)
		c->warnings++;
	if (c->nproblems >= CATALOG_MAX_PROBLEMS) {
		c->problems_dropped++;
		return;
	}
	if (c->nproblems == rd->problems_alloc) {
		rd->problems_alloc = rd->problems_alloc ? rd->problems_alloc * 2 : 16;
		c->problems = xrealloc(c->problems, rd->problems_alloc * sizeof(*c->problems));
	}
	p = &c->problems[c->nproblems++];
	p->severity = sev;
	p->line = line;
	va_start(ap, fmt);
	vsnprintf(p->message, sizeof(p->message), fmt, ap);
	va_end(ap);
}

/* Text for a message: at most 40 bytes, control characters as '?'. */
static const char *shown(const char *s, char *tmp, size_t n)
{
	size_t i, k = 0;

	for (i = 0; s[i] && k + 4 < n && i < 40; i++)
		tmp[k++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (s[i] && k + 4 < n) {
		memcpy(tmp + k, "...", 3);
		k += 3;
	}
	tmp[k] = '\0';
	return tmp;
}

/* ---- CSV splitting -------------------------------------------------- */

/* Split one line (no line end) into fields. Returns 0, or -1 with a
 * reason in err. */
static int split(const char *p, const char *end, struct row_fields *rf, char *err, size_t errn)
{
	rf->n = 0;
	rf->extra = 0;
	for (;;) {
		char *dst = rf->n < CATALOG_COLUMNS_MAX ? rf->f[rf->n] : NULL;
		size_t k = 0;
		bool quoted = false;

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p < end && *p == '"') {
			quoted = true;
			p++;
			for (;;) {
				if (p >= end) {
					snprintf(err, errn, "column %d: a quoted field is not closed on this line",
						 rf->n + 1);
					return -1;
				}
				if (*p == '"') {
					if (p + 1 < end && p[1] == '"') {
						p++;
					} else {
						p++;
						break;
					}
				}
				if (k >= CATALOG_FIELD_MAX)
					goto too_long;
				if (dst)
					dst[k] = *p;
				k++;
				p++;
			}
			while (p < end && (*p == ' ' || *p == '\t'))
				p++;
			if (p < end && *p != ',') {
				snprintf(err, errn, "column %d: unexpected text after a closing quote", rf->n + 1);
				return -1;
			}
		} else {
			while (p < end && *p != ',') {
				if (k >= CATALOG_FIELD_MAX)
					goto too_long;
				if (dst)
					dst[k] = *p;
				k++;
				p++;
			}
		}
		if (dst) {
			dst[k] = '\0';
			if (!quoted)
				str_trim(dst);
			rf->n++;
		} else {
			rf->extra++;
		}
		if (p >= end)
			return 0;
		p++; /* the comma */
	}
too_long:
	snprintf(err, errn, "column %d is longer than %d bytes", rf->n + 1, CATALOG_FIELD_MAX);
	return -1;
}

/* ---- rules ---------------------------------------------------------- */

static const char *name_problem(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return "the name is empty";
	if (n > CAT_NAME_MAX)
		return "the name is longer than 255 bytes";
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return "the name may not be '.' or '..'";
	if (s[0] == '-')
		return "the name may not start with '-'";
	for (const char *p = s; *p; p++) {
		if (*p == '/' || *p == '\\')
			return "the name may not contain '/' or '\\' (no paths, just a file name)";
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "the name contains a control character";
	}
	return NULL;
}

bool catalog_name_safe(const char *name)
{
	return name != NULL && name_problem(name) == NULL;
}

static bool all_hex(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}

/* 32 hex digits, lower-cased into out; false otherwise. */
static bool md5_take(const char *s, char out[MD5_HEX_LEN + 1])
{
	if (strlen(s) != MD5_HEX_LEN || !all_hex(s))
		return false;
	for (int i = 0; i < MD5_HEX_LEN; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[MD5_HEX_LEN] = '\0';
	return true;
}

static const char *field(const struct row_fields *rf, const struct reader *rd, enum col c)
{
	int i = rd->col[c];

	return i >= 0 && i < rf->n ? rf->f[i] : NULL;
}

static int take_size(struct reader *rd, const struct row_fields *rf, enum size_class *out)
{
	const char *s = field(rf, rd, COL_SIZE);
	char tmp[64];

	if (size_class_parse(s, out) != 0) {
		problem(rd, CATALOG_SKIPPED, rd->line,
			"fileSize '%s' is not a size class (tiny, small, medium, large, huge, giga, tera, chunka, chunkb)",
			shown(s, tmp, sizeof(tmp)));
		return -1;
	}
	return 0;
}

static int download_row(struct reader *rd, const struct row_fields *rf, struct dl_row *r)
{
	const char *name = field(rf, rd, COL_ID);
	const char *addr = field(rf, rd, COL_VALUE);
	const char *md5 = field(rf, rd, COL_MD5);
	const char *why;
	char tmp[64];
	size_t alen;

	if (take_size(rd, rf, &r->size) != 0)
		return -1;
	if ((why = name_problem(name)) != NULL) {
		problem(rd, CATALOG_SKIPPED, rd->line, "name '%s': %s", shown(name, tmp, sizeof(tmp)), why);
		return -1;
	}
	alen = strlen(addr);
	if (alen < CATALOG_ADDRESS_MIN || alen > CAT_ADDRESS_MAX || !all_hex(addr)) {
		problem(rd, CATALOG_SKIPPED, rd->line,
			"address '%s' must be %d to %d hex digits", shown(addr, tmp, sizeof(tmp)),
			CATALOG_ADDRESS_MIN, CAT_ADDRESS_MAX);
		return -1;
	}
	str_copy(r->name, name, sizeof(r->name));
	str_copy(r->address, addr, sizeof(r->address));
	r->md5[0] = '\0';
	if (md5 && strlen(md5) >= CATALOG_MD5_NONE_BELOW && !md5_take(md5, r->md5))
		problem(rd, CATALOG_WARNING, rd->line,
			"md5 '%s' is not 32 hex digits; %s is downloaded without an MD5 check",
			shown(md5, tmp, sizeof(tmp)), r->name);
	return 0;
}

static int seed_row(struct reader *rd, const struct row_fields *rf, struct seed_row *r)
{
	const char *seed = field(rf, rd, COL_ID);
	const char *size = field(rf, rd, COL_VALUE);
	const char *md5 = field(rf, rd, COL_MD5);
	uint64_t lo, hi;
	char tmp[64];
	int64_t v;

	if (take_size(rd, rf, &r->size) != 0)
		return -1;
	if (parse_i64(seed, 0, INT64_MAX, &v) != 0) {
		problem(rd, CATALOG_SKIPPED, rd->line, "seed '%s' is not a whole number of 0 or more",
			shown(seed, tmp, sizeof(tmp)));
		return -1;
	}
	r->seed = (uint64_t)v;
	if (parse_i64(size, 1, INT64_MAX, &v) != 0) {
		problem(rd, CATALOG_SKIPPED, rd->line, "size '%s' is not a whole number of bytes",
			shown(size, tmp, sizeof(tmp)));
		return -1;
	}
	r->bytes = (uint64_t)v;
	if (!size_class_fits(r->size, r->bytes)) {
		size_class_bounds(r->size, &lo, &hi);
		problem(rd, CATALOG_SKIPPED, rd->line,
			"size %llu bytes does not fit class %s (%llu to %llu bytes)",
			(unsigned long long)r->bytes, size_class_name(r->size),
			(unsigned long long)lo, (unsigned long long)hi);
		return -1;
	}
	/* The original fleet writes placeholder numbers here; only a real
	 * MD5 is used, anything else is quietly ignored. */
	if (!(md5 && md5_take(md5, r->md5)))
		r->md5[0] = '\0';
	return 0;
}

/* Put a string into the arena; returns its offset (0 for ""). */
static uint32_t arena_put(struct catalog_rows *r, const char *str)
{
	size_t n = strlen(str) + 1;
	uint32_t at;

	if (n == 1)
		return 0;
	if (r->arena_len + n > r->arena_alloc) {
		while (r->arena_len + n > r->arena_alloc)
			r->arena_alloc = r->arena_alloc ? r->arena_alloc * 2 : 4096;
		r->arena = xrealloc(r->arena, r->arena_alloc);
	}
	at = (uint32_t)r->arena_len;
	memcpy(r->arena + at, str, n);
	r->arena_len += n;
	return at;
}

static struct catalog_rows *rows_of(struct catalog *c)
{
	if (c->rows == NULL) {
		c->rows = xcalloc(1, sizeof(*c->rows));
		c->rows->arena = xmalloc(4096);
		c->rows->arena_alloc = 4096;
		c->rows->arena[0] = '\0';
		c->rows->arena_len = 1;
	}
	return c->rows;
}

static void store_row(struct catalog *c, const struct dl_row *d, const struct seed_row *sd)
{
	struct catalog_rows *r = rows_of(c);

	if (c->nrows == r->alloc) {
		r->alloc = r->alloc ? r->alloc * 2 : 64;
		if (d)
			r->dl = xrealloc(r->dl, r->alloc * sizeof(*r->dl));
		else
			r->sd = xrealloc(r->sd, r->alloc * sizeof(*r->sd));
	}
	if (d) {
		struct crow_dl *o = &r->dl[c->nrows];

		o->name = arena_put(r, d->name);
		o->address = arena_put(r, d->address);
		o->md5 = arena_put(r, d->md5);
		o->line = (uint32_t)d->line;
		o->size = (uint8_t)d->size;
	} else {
		struct crow_seed *o = &r->sd[c->nrows];

		o->seed = sd->seed;
		o->bytes = sd->bytes;
		o->md5 = arena_put(r, sd->md5);
		o->line = (uint32_t)sd->line;
		o->size = (uint8_t)sd->size;
	}
}

/* After the parse: give back what the doubling left unused. */
static void rows_shrink(struct catalog *c)
{
	struct catalog_rows *r = c->rows;

	if (r == NULL)
		return;
	r->arena = xrealloc(r->arena, r->arena_len);
	r->arena_alloc = r->arena_len;
	r->alloc = c->nrows ? c->nrows : 1;
	if (r->dl)
		r->dl = xrealloc(r->dl, r->alloc * sizeof(*r->dl));
	if (r->sd)
		r->sd = xrealloc(r->sd, r->alloc * sizeof(*r->sd));
}

static void data_row(struct reader *rd, const struct row_fields *rf)
{
	struct catalog *c = rd->c;
	int need = 0;
	int rc;

	for (int i = 0; i < COL_MD5; i++)
		if (rd->col[i] + 1 > need)
			need = rd->col[i] + 1;
	if (rf->n < need) {
		problem(rd, CATALOG_SKIPPED, rd->line, "the row has %d column%s; a row needs %s (md5 may be left out)",
			rf->n, rf->n == 1 ? "" : "s", catalog_header(c->kind));
		c->stats.skipped++;
		return;
	}
	if (rf->n + rf->extra > rd->ncols_expected)
		problem(rd, CATALOG_WARNING, rd->line, "the row has %d columns; the ones after %s are ignored",
			rf->n + rf->extra, catalog_header(c->kind));
	if (c->kind == CATALOG_DOWNLOADS) {
		struct dl_row d;

		memset(&d, 0, sizeof(d));
		rc = download_row(rd, rf, &d);
		d.line = rd->line;
		if (rc == 0)
			store_row(c, &d, NULL);
	} else {
		struct seed_row sd;

		memset(&sd, 0, sizeof(sd));
		rc = seed_row(rd, rf, &sd);
		sd.line = rd->line;
		if (rc == 0)
			store_row(c, NULL, &sd);
	}
	if (rc == 0) {
		c->nrows++;
		c->stats.accepted++;
	} else {
		c->stats.skipped++;
	}
}

/* The first line that is not a comment: a header (its names say where
 * each column is) or, when it starts with a size class, already a row. */
static bool header_row(struct reader *rd, const struct row_fields *rf)
{
	const char *const *want = col_names[rd->c->kind];
	enum size_class sc;
	int found = 0;

	rd->header_done = true;
	if (rf->n > 0 && size_class_parse(rf->f[0], &sc) == 0) {
		problem(rd, CATALOG_WARNING, rd->line, "no header row (%s); reading rows from here",
			catalog_header(rd->c->kind));
		return false;
	}
	for (int k = 0; k < COL__COUNT; k++) {
		rd->col[k] = -1;
		for (int i = 0; i < rf->n; i++) {
			if (str_ieq(rf->f[i], want[k])) {
				rd->col[k] = i;
				found++;
				break;
			}
		}
	}
	if (rd->col[COL_SIZE] < 0 || rd->col[COL_ID] < 0 || rd->col[COL_VALUE] < 0) {
		problem(rd, CATALOG_WARNING, rd->line,
			"the header does not name the columns %s; reading them in that order",
			catalog_header(rd->c->kind));
		for (int k = 0; k < COL__COUNT; k++)
			rd->col[k] = k;
	}
	rd->ncols_expected = rf->n + rf->extra > COL__COUNT ? rf->n + rf->extra : COL__COUNT;
	(void)found;
	return true;
}

static void one_line(struct reader *rd, const char *p, const char *end, struct row_fields *rf)
{
	struct catalog *c = rd->c;
	const char *q = p;
	char err[160];

	while (q < end && isspace((unsigned char)*q))
		q++;
	if (q == end) {
		c->stats.blank++;
		return;
	}
	if (*q == '#') {
		c->stats.comments++;
		return;
	}
	if (split(p, end, rf, err, sizeof(err)) != 0) {
		problem(rd, CATALOG_SKIPPED, rd->line, "%s", err);
		if (!rd->header_done)
			rd->header_done = true;
		c->stats.skipped++;
		return;
	}
	if (!rd->header_done && header_row(rd, rf)) {
		c->stats.header = 1;
		return;
	}
	data_row(rd, rf);
}

static void fail(struct reader *rd, const char *why)
{
	struct catalog *c = rd->c;
	enum catalog_kind kind = c->kind;

	catalog_free(c);
	c->kind = kind;
	rd->problems_alloc = 0;
	c->failed = true;
	problem(rd, CATALOG_ERROR, 0, "%s", why);
}

int catalog_parse(enum catalog_kind kind, const char *data, size_t len, struct catalog *c)
{
	struct reader rd;
	struct row_fields *rf;
	const char *p = data, *end = data + len;

	memset(c, 0, sizeof(*c));
	memset(&rd, 0, sizeof(rd));
	c->kind = kind;
	rd.c = c;
	for (int k = 0; k < COL__COUNT; k++)
		rd.col[k] = k;
	rd.ncols_expected = COL__COUNT;
	if (len > CATALOG_MAX_BYTES) {
		fail(&rd, "the file is larger than the 8 MiB limit for a catalogue");
		return -1;
	}
	if (len > 0 && memchr(data, '\0', len) != NULL) {
		fail(&rd, "the file contains NUL bytes: it is not a CSV text file");
		return -1;
	}
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3; /* UTF-8 byte-order mark, as some editors write */
	rf = xmalloc(sizeof(*rf));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		if (le > p && le[-1] == '\r')
			le--;
		rd.line++;
		c->stats.lines++;
		if (!rd.header_done && c->stats.lines == c->stats.comments + c->stats.blank + 1) {
			const char *q = p;

			while (q < le && isspace((unsigned char)*q))
				q++;
			if (q < le && *q == '<') {
				free(rf);
				fail(&rd, "the file looks like HTML or XML, not a CSV catalogue");
				return -1;
			}
		}
		one_line(&rd, p, le, rf);
		p = nl ? nl + 1 : end;
	}
	free(rf);
	if (c->stats.header == 0 && c->stats.accepted + c->stats.skipped == 0) {
		fail(&rd, len == 0 ? "the file is empty" : "the file has no header row and no rows");
		return -1;
	}
	if (c->stats.accepted == 0)
		problem(&rd, CATALOG_WARNING, 0, "the catalogue has no usable row");
	rows_shrink(c);
	return 0;
}

void catalog_free(struct catalog *c)
{
	if (c == NULL)
		return;
	if (c->rows) {
		free(c->rows->arena);
		free(c->rows->dl);
		free(c->rows->sd);
		free(c->rows);
	}
	free(c->problems);
	memset(c, 0, sizeof(*c));
}

static enum size_class row_size(const struct catalog *c, size_t i)
{
	return (enum size_class)(c->kind == CATALOG_DOWNLOADS ? c->rows->dl[i].size
							      : c->rows->sd[i].size);
}

size_t catalog_count(const struct catalog *c, enum size_class s)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nrows; i++)
		n += row_size(c, i) == s;
	return n;
}

bool catalog_download_at(const struct catalog *c, size_t i, struct dl_row *out)
{
	const struct crow_dl *o;
	const char *a;

	if (c == NULL || c->kind != CATALOG_DOWNLOADS || i >= c->nrows)
		return false;
	o = &c->rows->dl[i];
	a = c->rows->arena;
	out->size = (enum size_class)o->size;
	str_copy(out->name, a + o->name, sizeof(out->name));
	str_copy(out->address, a + o->address, sizeof(out->address));
	str_copy(out->md5, a + o->md5, sizeof(out->md5));
	out->line = (int)o->line;
	return true;
}

bool catalog_seed_at(const struct catalog *c, size_t i, struct seed_row *out)
{
	const struct crow_seed *o;

	if (c == NULL || c->kind != CATALOG_SEEDS || i >= c->nrows)
		return false;
	o = &c->rows->sd[i];
	out->size = (enum size_class)o->size;
	out->seed = o->seed;
	out->bytes = o->bytes;
	str_copy(out->md5, c->rows->arena + o->md5, sizeof(out->md5));
	out->line = (int)o->line;
	return true;
}

size_t catalog_memory(const struct catalog *c)
{
	size_t n = sizeof(*c) + c->nproblems * sizeof(*c->problems);
	const struct catalog_rows *r = c->rows;

	if (r != NULL)
		n += sizeof(*r) + r->arena_alloc +
		     r->alloc * (r->dl ? sizeof(*r->dl) : 0) +
		     r->alloc * (r->sd ? sizeof(*r->sd) : 0);
	return n;
}

static long pick_index(const struct catalog *c, enum size_class s, uint32_t rnd)
{
	size_t n = catalog_count(c, s), want;

	if (n == 0)
		return -1;
	want = rnd % n;
	for (size_t i = 0; i < c->nrows; i++)
		if (row_size(c, i) == s && want-- == 0)
			return (long)i;
	return -1;
}

const struct dl_row *catalog_pick_download(const struct catalog *c, enum size_class s, uint32_t rnd)
{
	long i;

	if (c == NULL || c->kind != CATALOG_DOWNLOADS)
		return NULL;
	i = pick_index(c, s, rnd);
	if (i < 0 || !catalog_download_at(c, (size_t)i, &c->rows->pick_dl))
		return NULL;
	return &c->rows->pick_dl;
}

const struct seed_row *catalog_pick_seed(const struct catalog *c, enum size_class s, uint32_t rnd)
{
	long i;

	if (c == NULL || c->kind != CATALOG_SEEDS)
		return NULL;
	i = pick_index(c, s, rnd);
	if (i < 0 || !catalog_seed_at(c, (size_t)i, &c->rows->pick_seed))
		return NULL;
	return &c->rows->pick_seed;
}

/* ---- on-disk cache -------------------------------------------------- */

struct meta {
	char url[URL_MAX];
	int64_t fetched_at_ms;
	char etag[256];
	bool valid;
};

struct load {
	uv_timer_t timer;
	struct fetcher *f;
	enum catalog_kind kind;
	char *url, *cache_file, *meta_file;
	int64_t max_age_ms;
	bool allow_file;
	int timeout_ms;
	catalog_load_cb cb;
	void *ud;
	struct meta meta;
	struct buf cached;     /* the cached copy, when there is one */
	bool have_cache;
	struct catalog cat;
	struct catalog_load_info info;
};

static char *dup_or_null(const char *s)
{
	return s && s[0] ? xstrdup(s) : NULL;
}

static void read_meta(const char *path, struct meta *m)
{
	struct buf b;
	char *line, *save = NULL;
	int64_t v;

	memset(m, 0, sizeof(*m));
	if (path == NULL || file_read_all(path, META_MAX, &b) != 0)
		return;
	for (line = strtok_r(b.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');

		if (line[0] == '#' || eq == NULL)
			continue;
		*eq = '\0';
		if (strcmp(line, "url") == 0)
			str_copy(m->url, eq + 1, sizeof(m->url));
		else if (strcmp(line, "etag") == 0)
			str_copy(m->etag, eq + 1, sizeof(m->etag));
		else if (strcmp(line, "fetched_at_ms") == 0 && parse_i64(eq + 1, 0, INT64_MAX, &v) == 0)
			m->fetched_at_ms = v;
	}
	m->valid = m->url[0] != '\0' && m->fetched_at_ms > 0;
	buf_free(&b);
}

/* The .meta file keeps the URL masked (str_mask_urls), so compare it
 * masked. */
static bool meta_url_matches(const struct meta *m, const char *url)
{
	char masked[META_MAX];

	str_mask_urls(url, masked, sizeof(masked));
	return strcmp(m->url, masked) == 0;
}

static bool one_line_text(const char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			return false;
	return true;
}

static void write_meta(struct load *l, int64_t now, const char *etag)
{
	struct buf b;
	char iso[32], url[URL_MAX];

	if (l->meta_file == NULL || !one_line_text(l->url) || !one_line_text(etag))
		return;
	clock_format_iso(now, iso, sizeof(iso));
	buf_init(&b, META_MAX);
	buf_printf(&b, "# ant-agent: where and when the cached %s was fetched\n", catalog_kind_name(l->kind));
	/* The URL is kept with its credentials masked: the file may be read
	 * by others, and backups copy it. */
	str_mask_urls(l->url, url, sizeof(url));
	buf_printf(&b, "url=%s\nfetched_at=%s\nfetched_at_ms=%lld\netag=%s\n", url, iso,
		   (long long)now, etag);
	if (!b.truncated && file_write_atomic(l->meta_file, b.data, b.len, 0600) != 0)
		log_warn("%s: cannot write %s: %s", catalog_kind_name(l->kind), l->meta_file, strerror(errno));
	buf_free(&b);
}

static void write_cache(struct load *l, const struct buf *body, int64_t now, const char *etag)
{
	if (l->cache_file == NULL)
		return;
	if (mkdir_parent(l->cache_file, 0755) != 0 ||
	    file_write_atomic(l->cache_file, body->data, body->len, 0644) != 0) {
		log_warn("%s: cannot write the cache %s: %s", catalog_kind_name(l->kind), l->cache_file,
			 strerror(errno));
		return;
	}
	write_meta(l, now, etag);
}

static void load_closed(uv_handle_t *h)
{
	struct load *l = container_of((uv_timer_t *)h, struct load, timer);

	free(l->url);
	free(l->cache_file);
	free(l->meta_file);
	buf_free(&l->cached);
	catalog_free(&l->cat);
	free(l);
}

static void deliver(struct load *l)
{
	const char *what = catalog_kind_name(l->kind);

	switch (l->info.origin) {
	case CATALOG_FROM_STALE_CACHE:
		log_warn("%s: refresh from %s failed (%s); using the cached copy from %lld minutes ago",
			 what, l->url, l->info.error, (long long)(l->info.age_ms / 60000));
		break;
	case CATALOG_NONE:
		log_error("%s: cannot load %s (%s) and there is no cached copy", what, l->url,
			  l->info.error);
		break;
	default:
		log_info("%s: %zu rows from %s (%s)", what, l->cat.nrows, l->url,
			 catalog_origin_name(l->info.origin));
		break;
	}
	l->cb(&l->cat, &l->info, l->ud);
	uv_close((uv_handle_t *)&l->timer, load_closed);
}

static void on_deliver_timer(uv_timer_t *t)
{
	deliver(container_of(t, struct load, timer));
}

static void deliver_later(struct load *l)
{
	uv_timer_start(&l->timer, on_deliver_timer, 0, 0);
}

/* Parse text into l->cat; true when it has rows to use. */
static bool parse_into(struct load *l, const char *data, size_t len)
{
	catalog_free(&l->cat);
	return catalog_parse(l->kind, data, len, &l->cat) == 0 && l->cat.nrows > 0;
}

static void use_stale_or_nothing(struct load *l, const char *why)
{
	int64_t now = clock_now_ms();

	str_copy(l->info.error, why, sizeof(l->info.error));
	if (l->have_cache && parse_into(l, l->cached.data, l->cached.len)) {
		l->info.origin = CATALOG_FROM_STALE_CACHE;
		l->info.age_ms = now - l->meta.fetched_at_ms;
		return;
	}
	catalog_free(&l->cat);
	l->cat.kind = l->kind;
	l->cat.failed = true;
	l->info.origin = CATALOG_NONE;
	l->info.age_ms = -1;
}

static void on_fetched(struct fetch_response *res, void *ud)
{
	struct load *l = ud;
	int64_t now = clock_now_ms();
	char why[300];

	if (res->ok && res->not_modified && l->have_cache) {
		if (parse_into(l, l->cached.data, l->cached.len)) {
			l->info.origin = CATALOG_REVALIDATED;
			l->info.age_ms = 0;
			write_meta(l, now, res->etag[0] ? res->etag : l->meta.etag);
		} else {
			use_stale_or_nothing(l, "the cached copy has no usable row");
		}
	} else if (res->ok && !res->not_modified) {
		if (parse_into(l, res->body.data, res->body.len)) {
			l->info.origin = CATALOG_FROM_NETWORK;
			l->info.age_ms = 0;
			write_cache(l, &res->body, now, res->etag);
		} else {
			use_stale_or_nothing(l, l->cat.failed && l->cat.nproblems
							? l->cat.problems[0].message
							: "the new copy has no usable row");
		}
	} else {
		if (res->status >= 400)
			snprintf(why, sizeof(why), "HTTP status %ld", res->status);
		else
			str_copy(why, res->error[0] ? res->error : "no answer", sizeof(why));
		use_stale_or_nothing(l, why);
	}
	deliver(l);
}

void catalog_source_from_config(enum catalog_kind kind, struct catalog_source *src)
{
	memset(src, 0, sizeof(*src));
	src->kind = kind;
	if (kind == CATALOG_DOWNLOADS) {
		src->url = cfg_str(CFG_CSV_URL);
		src->cache_file = cfg_str(CFG_CACHE_FILE);
		src->meta_file = cfg_str(CFG_CACHE_INFO_FILE);
	} else {
		src->url = cfg_str(CFG_CSV_QUOTE_URL);
		src->cache_file = cfg_str(CFG_CACHE_QUOTE_FILE);
		src->meta_file = cfg_str(CFG_CACHE_QUOTE_META);
	}
	src->max_age_ms = cfg_int(CFG_CACHE_TIME) * 1000;
	src->allow_file = cfg_bool(CFG_ALLOW_FILE_URLS);
}

static void load_local(struct load *l)
{
	struct buf b;

	if (source_read_path(l->url, CATALOG_MAX_BYTES, &b, l->info.error,
			     sizeof(l->info.error)) != 0) {
		l->cat.kind = l->kind;
		l->cat.failed = true;
		l->info.origin = CATALOG_NONE;
		return;
	}
	if (parse_into(l, b.data, b.len)) {
		l->info.origin = CATALOG_FROM_FILE;
	} else {
		str_copy(l->info.error, l->cat.nproblems ? l->cat.problems[0].message : "no usable row",
			 sizeof(l->info.error));
		l->info.origin = CATALOG_NONE;
	}
	buf_free(&b);
}

int catalog_load(uv_loop_t *loop, struct fetcher *f, const struct catalog_source *src,
		 catalog_load_cb cb, void *ud)
{
	struct fetch_request req;
	struct load *l;
	int64_t now = clock_now_ms();

	if (src == NULL || src->url == NULL || src->url[0] == '\0' || cb == NULL)
		return -1;
	l = xcalloc(1, sizeof(*l));
	uv_timer_init(loop, &l->timer);
	l->f = f;
	l->kind = src->kind;
	l->url = xstrdup(src->url);
	l->cache_file = dup_or_null(src->cache_file);
	l->meta_file = dup_or_null(src->meta_file);
	l->max_age_ms = src->max_age_ms;
	l->allow_file = src->allow_file;
	l->timeout_ms = src->timeout_ms;
	l->cb = cb;
	l->ud = ud;
	l->info.age_ms = -1;
	buf_init(&l->cached, CATALOG_MAX_BYTES);

	if (!source_is_url(l->url)) {
		load_local(l);
		deliver_later(l);
		return 0;
	}
	read_meta(l->meta_file, &l->meta);
	if (l->cache_file && l->meta.valid && meta_url_matches(&l->meta, l->url) &&
	    file_read_all(l->cache_file, CATALOG_MAX_BYTES, &l->cached) == 0)
		l->have_cache = true;
	if (l->have_cache && !src->revalidate && now >= l->meta.fetched_at_ms &&
	    now - l->meta.fetched_at_ms < l->max_age_ms &&
	    parse_into(l, l->cached.data, l->cached.len)) {
		l->info.origin = CATALOG_FROM_CACHE;
		l->info.age_ms = now - l->meta.fetched_at_ms;
		deliver_later(l);
		return 0;
	}
	memset(&req, 0, sizeof(req));
	req.url = l->url;
	req.cap = CATALOG_MAX_BYTES;
	req.etag = l->have_cache && l->meta.etag[0] ? l->meta.etag : NULL;
	req.allow_file = l->allow_file;
	req.timeout_ms = l->timeout_ms;
	if (fetch_start(f, &req, on_fetched, l) != 0) {
		use_stale_or_nothing(l, "the request could not be started (bad URL?)");
		deliver_later(l);
	}
	return 0;
}

/*
 * catalog.h - the two catalogues (CSV) of the fleet:
 *   downloads  fileSize,name,address,md5   files to download and check
 *   seeds      fileSize,seed,size,md5      seeded files to quote/upload
 *
 * catalog_parse is pure: comments (#), a header row, quoted fields with ""
 * escapes, CRLF line ends and a UTF-8 byte-order mark are understood; a
 * row that breaks a rule is skipped with a problem naming its line, and
 * every physical line is accounted for in struct catalog_stats.
 *
 * catalog_load keeps an on-disk copy of each catalogue (cache file plus a
 * small metadata file, both replaced atomically), uses it without a
 * request while it is younger than CACHE_TIME, revalidates it with its
 * ETag, and falls back to it (logged) when a refresh fails.
 */
#ifndef ANT_CATALOG_H
#define ANT_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fetch.h"
#include "model.h"

/* Largest catalogue accepted (the fetch cap for CSV). */
#define CATALOG_MAX_BYTES (8 * 1024 * 1024)
/* Longest field and most columns looked at in one row. */
#define CATALOG_FIELD_MAX 1024
#define CATALOG_COLUMNS_MAX 16
#define CATALOG_MAX_PROBLEMS 1000
#define CATALOG_ADDRESS_MIN 8
/* A download md5 shorter than this means "none" (the fleet writes 0). */
#define CATALOG_MD5_NONE_BELOW 6

enum catalog_kind { CATALOG_DOWNLOADS, CATALOG_SEEDS };

enum catalog_severity {
	CATALOG_WARNING, /* the row is used (e.g. without an MD5 check) */
	CATALOG_SKIPPED, /* the row is not used */
	CATALOG_ERROR,   /* the whole catalogue is unusable */
};

struct catalog_problem {
	enum catalog_severity severity;
	int line;
	char message[240];
};

/* Every physical line lands in exactly one of the counters after lines:
 * lines == comments + blank + header + accepted + skipped. */
struct catalog_stats {
	size_t lines;
	size_t comments;
	size_t blank;
	size_t header;   /* 0 or 1 */
	size_t accepted;
	size_t skipped;
};

/* The rows, stored compactly (one string arena, rows of offsets): an
 * 8 MiB catalogue of short rows would take tens of times its size as
 * fixed-width rows. Read them with catalog_download_at / catalog_seed_at. */
struct catalog_rows;

struct catalog {
	enum catalog_kind kind;
	struct catalog_rows *rows;
	size_t nrows;
	struct catalog_problem *problems;
	size_t nproblems;
	size_t problems_dropped;
	size_t warnings;
	struct catalog_stats stats;
	bool failed;               /* nothing usable (see the CATALOG_ERROR problem) */
};

const char *catalog_kind_name(enum catalog_kind k);     /* "download catalogue" */
/* The catalogue a test of kind t draws its input from (its row's input). */
enum catalog_kind catalog_kind_for(enum test_type t);
const char *catalog_header(enum catalog_kind k);        /* "fileSize,name,address,md5" */
const char *catalog_severity_name(enum catalog_severity s);

/* Parse a whole catalogue. Returns 0, or -1 when it is unusable (empty,
 * binary, no rows at all). The caller frees c with catalog_free. */
int catalog_parse(enum catalog_kind kind, const char *data, size_t len, struct catalog *c);
void catalog_free(struct catalog *c);

/* Name rules for anything that may become a file name: non-empty, at most
 * CAT_NAME_MAX bytes, no '/' or '\', not "." or "..", no leading '-', no
 * control characters. */
bool catalog_name_safe(const char *name);

/* Rows of one size class, and a random one of them (rnd from the caller,
 * so tests are repeatable). NULL when the class has no row. */
size_t catalog_count(const struct catalog *c, enum size_class s);
/* Row i (0..nrows-1) of a downloads / seeds catalogue, copied into out.
 * Returns false when i or the kind does not fit. */
bool catalog_download_at(const struct catalog *c, size_t i, struct dl_row *out);
bool catalog_seed_at(const struct catalog *c, size_t i, struct seed_row *out);
/* Bytes of memory the parsed catalogue holds (rows, strings, problems). */
size_t catalog_memory(const struct catalog *c);
/* The picked row lives in the catalogue until the next pick: copy it. */
const struct dl_row *catalog_pick_download(const struct catalog *c, enum size_class s, uint32_t rnd);
const struct seed_row *catalog_pick_seed(const struct catalog *c, enum size_class s, uint32_t rnd);

/* ---- loading with the on-disk cache (on the loop) ------------------- */

struct catalog_source {
	enum catalog_kind kind;
	const char *url;        /* http(s), file:// (allow_file), or a plain path */
	const char *cache_file; /* NULL: no cache */
	const char *meta_file;
	int64_t max_age_ms;     /* CACHE_TIME, on the schedule clock */
	bool revalidate;        /* ask even when the copy is younger than max_age_ms:
				 * a conditional request (its ETag), 304 when unchanged */
	bool allow_file;
	int timeout_ms;         /* 0: FETCH_TIMEOUT_SECS */
};

enum catalog_origin {
	CATALOG_FROM_CACHE,       /* fresh cached copy, no request */
	CATALOG_FROM_NETWORK,     /* fetched now (and cached) */
	CATALOG_REVALIDATED,      /* 304: the cached copy is still current */
	CATALOG_FROM_STALE_CACHE, /* refresh failed; the old copy is used */
	CATALOG_FROM_FILE,        /* read from a plain path, not cached */
	CATALOG_NONE,             /* nothing usable */
};

struct catalog_load_info {
	enum catalog_origin origin;
	int64_t age_ms;           /* age of the copy used, -1 unknown */
	char error[300];          /* why the refresh failed, when it did */
};

/* cat belongs to the loader and is freed after the callback returns; to
 * keep it, move it out (copy the struct, then zero *cat). It is empty with
 * failed set when origin is CATALOG_NONE. */
typedef void (*catalog_load_cb)(struct catalog *cat, const struct catalog_load_info *info,
				void *ud);

/* The source of a catalogue as the settings describe it (CSV_URL,
 * CACHE_FILE, CACHE_INFO_FILE, or CSV_QUOTE_URL, CACHE_QUOTE_FILE,
 * CACHE_QUOTE_META; CACHE_TIME; ALLOW_FILE_URLS). */
void catalog_source_from_config(enum catalog_kind kind, struct catalog_source *src);
const char *catalog_origin_name(enum catalog_origin o);

/* Load asynchronously; cb runs once on the loop (never inside this call).
 * The strings of src are copied. Let a load finish before fetcher_free:
 * a cancelled transfer never calls back. Returns 0, or -1 when it could
 * not start. */
int catalog_load(uv_loop_t *loop, struct fetcher *f, const struct catalog_source *src,
		 catalog_load_cb cb, void *ud);

#endif

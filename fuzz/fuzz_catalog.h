/*
 * fuzz_catalog.h - the body shared by the two catalogue targets: parse,
 * then check what the rest of the agent relies on. Every physical line is
 * accounted for, and no accepted row carries a name or address that could
 * leave the cache directory or pass for a command-line option.
 */
#ifndef ANT_FUZZ_CATALOG_H
#define ANT_FUZZ_CATALOG_H

#include "catalog.h"
#include "client.h"
#include "fuzz.h"

#define FUZZ_CAP (256 * 1024)

static inline void fuzz_md5_ok(const char *md5)
{
	size_t n = strlen(md5);

	if (n != 0 && n != MD5_HEX_LEN)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!((md5[i] >= '0' && md5[i] <= '9') || (md5[i] >= 'a' && md5[i] <= 'f')))
			abort();
}

static inline void fuzz_catalog_check(const struct catalog *c)
{
	const struct catalog_stats *s = &c->stats;

	if (s->lines != s->comments + s->blank + s->header + s->accepted + s->skipped)
		abort();
	if (s->accepted != c->nrows)
		abort();
	for (size_t i = 0; i < c->nrows; i++) {
		if (c->kind == CATALOG_DOWNLOADS) {
			struct dl_row r;

			if (!catalog_download_at(c, i, &r))
				abort();
			if (!catalog_name_safe(r.name) || !client_address_valid(r.address))
				abort();
			fuzz_md5_ok(r.md5);
		} else {
			struct seed_row r;

			if (!catalog_seed_at(c, i, &r))
				abort();
			fuzz_md5_ok(r.md5);
		}
	}
	for (int k = 0; k < SIZE__COUNT; k++) {
		enum size_class sc = (enum size_class)k;

		if (catalog_count(c, sc) == 0)
			continue;
		if (c->kind == CATALOG_DOWNLOADS) {
			const struct dl_row *r = catalog_pick_download(c, sc, 12345u);

			if (r == NULL || r->size != sc)
				abort();
		} else {
			const struct seed_row *r = catalog_pick_seed(c, sc, 12345u);

			if (r == NULL || r->size != sc)
				abort();
		}
	}
}

static inline int fuzz_catalog_one(enum catalog_kind kind, const uint8_t *data, size_t size)
{
	struct catalog c;
	char *doc;

	if (size > FUZZ_CAP)
		return 0;
	doc = fuzz_dup(data, size);
	if (doc == NULL)
		return 0;
	if (catalog_parse(kind, doc, size, &c) == 0)
		fuzz_catalog_check(&c);
	else if (c.nrows != 0)
		abort(); /* an unusable catalogue must not hand out rows */
	catalog_free(&c);
	free(doc);
	return 0;
}

#endif

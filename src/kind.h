/*
 * kind.h - the test kinds (download, quote, upload) as rows of one table.
 *
 * Everything that differs between kinds is a field of its row: names, the
 * settings that limit and pace it, the input a test needs, the function
 * that runs one test, and what its result may claim. The runner, job,
 * scheduler, control-file validation, status and report loop over this
 * table; nothing else names a kind. Adding a kind is one row in kind.c,
 * its start function and its docs (docs/CONTRIBUTING.md, "Adding a test
 * kind").
 */
#ifndef ANT_KIND_H
#define ANT_KIND_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Row indexes of the kind table, in table order. */
enum test_type { TEST_DOWNLOAD, TEST_QUOTE, TEST_UPLOAD, TEST__COUNT };

/* What one test of a kind needs before it can start. */
enum kind_input {
	KIND_INPUT_CATALOGUE_ROW, /* a random row of the download catalogue */
	KIND_INPUT_SEED_FILE,     /* a row of the seed catalogue, generated as a file */
};

struct job;

struct test_kind {
	enum test_type type;
	const char *name;          /* metric tag value, control-file TestType: "download" */
	const char *title;         /* tables and logs: "Download" */
	enum cfg_key rate_limit;   /* tests per rolling hour */
	enum cfg_key yield_secs;   /* pause between iterations of a repeating worker */
	enum kind_input input;
	/* Run one test: called by job_start with the job filled in; the job
	 * completes through its callback, never inside this call. */
	void (*start)(struct job *j);
	/* Optional: make a test ready ahead of its due time (checks, disk
	 * reservation, temporary directory) without recording anything.
	 * Returns 0 when ready, then launch starts it; -1 with nothing left
	 * behind when the test must be started the ordinary way. */
	int (*prepare)(struct job *j);
	void (*launch)(struct job *j);
	/* Does a test of this kind move the file's bytes over the network?
	 * Only then, and only when the transfer happened (ok or data_loss),
	 * does its result claim bytes and throughput. */
	bool moves_data;
	/* Place (0-based) in the start-up "Rate Limiting Active" line, which
	 * keeps the original agent's order: download, upload, quote. */
	int banner_pos;
	/* Does a test of this kind spend tokens? Then each test gets content
	 * of its own (never a catalogue seed as it is) and a place in the
	 * upload budget (ledger.h). */
	bool spends;
};

/* The row of a kind; NULL when t is not a kind. */
const struct test_kind *kind_get(enum test_type t);
/* "download", "quote", "upload" (lower case, as in metric tags). */
const char *test_type_name(enum test_type t);
/* "Download" etc., for tables. */
const char *test_type_title(enum test_type t);
/* Any case. Returns 0 or -1. */
int test_type_parse(const char *s, enum test_type *out);
/* "download, quote or upload" into buf: the kinds, for messages. */
const char *kind_names_list(char *buf, size_t n);

#endif

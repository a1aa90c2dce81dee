/*
 * kind.c - the table of test kinds. One row per kind; see kind.h.
 */
#include "kind.h"
#include "job.h"
#include "util.h"

#include <stdio.h>

static const struct test_kind kinds[TEST__COUNT] = {
	[TEST_DOWNLOAD] = {
		.type = TEST_DOWNLOAD, .name = "download", .title = "Download",
		.rate_limit = CFG_DOWNLOAD_RATE_LIMIT, .yield_secs = CFG_DOWNLOAD_YIELD_SECS,
		.input = KIND_INPUT_CATALOGUE_ROW, .start = job_start_download,
		.prepare = job_prepare_download, .launch = job_launch_download,
		.moves_data = true, .banner_pos = 0,
	},
	[TEST_QUOTE] = {
		.type = TEST_QUOTE, .name = "quote", .title = "Quote",
		.rate_limit = CFG_QUOTE_RATE_LIMIT, .yield_secs = CFG_QUOTE_YIELD_SECS,
		.input = KIND_INPUT_SEED_FILE, .start = job_start_quote,
		.prepare = job_prepare_quote, .launch = job_launch_quote,
		.moves_data = false, .banner_pos = 2,
	},
	[TEST_UPLOAD] = {
		.type = TEST_UPLOAD, .name = "upload", .title = "Upload",
		/* Uploads have no yield setting of their own: the original
		 * agent paced them with the quote's. */
		.rate_limit = CFG_UPLOAD_RATE_LIMIT, .yield_secs = CFG_QUOTE_YIELD_SECS,
		.input = KIND_INPUT_SEED_FILE, .start = job_start_upload,
		.moves_data = true, .banner_pos = 1, .spends = true,
	},
};

const struct test_kind *kind_get(enum test_type t)
{
	return (unsigned)t < TEST__COUNT ? &kinds[t] : NULL;
}

const char *test_type_name(enum test_type t)
{
	return (unsigned)t < TEST__COUNT ? kinds[t].name : "unknown";
}

const char *test_type_title(enum test_type t)
{
	return (unsigned)t < TEST__COUNT ? kinds[t].title : "Unknown";
}

int test_type_parse(const char *s, enum test_type *out)
{
	for (unsigned i = 0; i < TEST__COUNT; i++) {
		if (str_ieq(s, kinds[i].name)) {
			*out = (enum test_type)i;
			return 0;
		}
	}
	return -1;
}

const char *kind_names_list(char *buf, size_t n)
{
	size_t len = 0;

	if (n == 0)
		return buf;
	buf[0] = '\0';
	for (unsigned i = 0; i < TEST__COUNT && len < n; i++) {
		const char *sep = i == 0 ? "" : i + 1 == TEST__COUNT ? " or " : ", ";
		int w = snprintf(buf + len, n - len, "%s%s", sep, kinds[i].name);

		if (w < 0)
			break;
		len += (size_t)w;
	}
	return buf;
}

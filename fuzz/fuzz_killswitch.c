/*
 * fuzz_killswitch - killswitch_parse (GitHub's list-issues JSON, jansson).
 * The properties that matter besides memory safety: a failed parse always
 * reads ON (fail-safe), and the issue title it keeps is clean.
 */
#include "fuzz.h"
#include "killswitch.h"

#include <stdbool.h>

#define FUZZ_CAP (256 * 1024)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct killswitch_counts counts;
	char err[256];
	bool on = false;
	char *doc;

	if (size > FUZZ_CAP)
		return 0;
	doc = fuzz_dup(data, size);
	if (doc == NULL)
		return 0;
	if (killswitch_parse(doc, size, &on, &counts, err, sizeof(err)) != 0) {
		if (!on || memchr(err, '\0', sizeof(err)) == NULL)
			abort();
	} else if (counts.open_labelled > counts.items || on != (counts.open_labelled > 0)) {
		abort();
	}
	/* The issue title reaches logs and terminals: never a control byte. */
	for (const char *p = counts.title; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
	free(doc);
	return 0;
}

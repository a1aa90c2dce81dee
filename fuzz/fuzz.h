/*
 * fuzz.h - shared bits of the libFuzzer targets: an input cap per target
 * (the parsers' own caps are far larger; small inputs find more per
 * second and the caps themselves are unit-tested), quiet logging, and
 * copies of the input that end exactly where the data ends so that
 * AddressSanitizer sees any read past it.
 */
#ifndef ANT_FUZZ_H
#define ANT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The parsers log their findings; a fuzzer run would drown in them. */
static inline void fuzz_quiet(void)
{
	log_set_console(0);
	log_set_level(LOG_CRITICAL);
}

/* An exact-size copy (no terminator): for parsers that take (data, len). */
static inline char *fuzz_dup(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);

	if (p != NULL && size)
		memcpy(p, data, size);
	return p;
}

/* A NUL-terminated copy: for parsers of C strings. */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *p = malloc(size + 1);

	if (p != NULL) {
		memcpy(p, data, size);
		p[size] = '\0';
	}
	return p;
}

#endif

/*
 * cmd_seedfile.c - `ant-agent seedfile --seed N --size BYTES [-o FILE]`.
 *
 * Writes the seeded test file and prints its MD5 in md5sum's format, so an
 * operator can check a catalogue row by hand. Without -o the bytes go to
 * stdout and the MD5 line to stderr (never binary data to a terminal).
 */
#include "cli.h"
#include "seedfile.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Largest file the command writes: the top of the biggest size class. */
#define SEEDFILE_CMD_MAX_BYTES (INT64_C(100) * 1024 * 1024 * 1024)

int cmd_seedfile(const struct cli *c)
{
	char md5[DIGEST_MD5_HEX_SIZE];
	int64_t seed, size;

	if (c->seed == NULL || c->size == NULL) {
		fputs("ant-agent seedfile: --seed N and --size BYTES are required\n", stderr);
		return EXIT_USAGE;
	}
	if (parse_i64(c->seed, 0, INT64_MAX, &seed) != 0) {
		fprintf(stderr, "ant-agent seedfile: --seed '%s' is not a whole number 0..%lld\n",
			c->seed, (long long)INT64_MAX);
		return EXIT_USAGE;
	}
	if (parse_i64(c->size, 0, SEEDFILE_CMD_MAX_BYTES, &size) != 0) {
		fprintf(stderr, "ant-agent seedfile: --size '%s' is not a byte count 0..%lld\n",
			c->size, (long long)SEEDFILE_CMD_MAX_BYTES);
		return EXIT_USAGE;
	}
	if (c->nargs > 0) {
		fprintf(stderr, "ant-agent seedfile: unexpected argument '%s'\n", c->args[0]);
		return EXIT_USAGE;
	}
	if (c->output == NULL || strcmp(c->output, "-") == 0) {
		if (isatty(STDOUT_FILENO)) {
			fputs("ant-agent seedfile: refusing to write binary data to a terminal; "
			      "use -o FILE or a pipe\n", stderr);
			return EXIT_USAGE;
		}
		if (seedfile_write_fd(STDOUT_FILENO, (uint64_t)seed, (uint64_t)size, md5, NULL) != 0) {
			fprintf(stderr, "ant-agent seedfile: cannot write to stdout: %s\n",
				strerror(errno));
			return EXIT_FAIL;
		}
		fprintf(stderr, "%s  -\n", md5);
		return EXIT_OK;
	}
	if (seedfile_write_path(c->output, (uint64_t)seed, (uint64_t)size, md5, NULL) != 0) {
		fprintf(stderr, "ant-agent seedfile: cannot write '%s': %s\n", c->output,
			strerror(errno));
		return EXIT_FAIL;
	}
	printf("%s  %s\n", md5, c->output);
	return EXIT_OK;
}

/*
 * seedfile_bench - the seed file generator and MD5 on their own, for
 * bench/seedfile.sh:
 *
 *   seedfile_bench gen SEED SIZE      generate to stdout, no hashing
 *   seedfile_bench genmd5 SEED SIZE   generate to stdout, MD5 on stderr
 *   seedfile_bench md5 FILE           MD5 of a file (digest_md5_file)
 */
#include "digest.h"
#include "seedfile.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char hex[DIGEST_MD5_HEX_SIZE];
	int64_t seed, size;

	if (argc == 3 && strcmp(argv[1], "md5") == 0) {
		if (digest_md5_file(argv[2], hex, NULL) != 0) {
			fprintf(stderr, "md5 %s: %s\n", argv[2], strerror(errno));
			return 1;
		}
		printf("%s  %s\n", hex, argv[2]);
		return 0;
	}
	if (argc == 4 && (strcmp(argv[1], "gen") == 0 || strcmp(argv[1], "genmd5") == 0) &&
	    parse_i64(argv[2], 0, INT64_MAX, &seed) == 0 && parse_i64(argv[3], 0, INT64_MAX, &size) == 0) {
		bool md5 = strcmp(argv[1], "genmd5") == 0;

		if (seedfile_write_fd(STDOUT_FILENO, (uint64_t)seed, (uint64_t)size, md5 ? hex : NULL, NULL) != 0) {
			fprintf(stderr, "write: %s\n", strerror(errno));
			return 1;
		}
		if (md5)
			fprintf(stderr, "%s  -\n", hex);
		return 0;
	}
	fputs("usage: seedfile_bench gen|genmd5 SEED SIZE | md5 FILE\n", stderr);
	return 2;
}

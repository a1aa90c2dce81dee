/*
 * replay.c - a main() for the fuzz targets without libFuzzer: run each
 * file (or each file in each directory) given on the command line through
 * LLVMFuzzerTestOneInput once. The normal build links every target with
 * it, so ctest replays the committed corpora, crash inputs included, under
 * gcc and the sanitizer build on every `make test`.
 */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

#include "util.h"

#define REPLAY_MAX_BYTES (1024 * 1024)

static int replay_file(const char *path)
{
	struct buf b;

	if (file_read_all(path, REPLAY_MAX_BYTES, &b) != 0) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		return -1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)b.data, b.len);
	buf_free(&b);
	return 0;
}

static int replay_path(const char *path, int *count)
{
	struct dirent *e;
	struct stat st;
	char sub[4096];
	DIR *d;
	int rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: not found\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (replay_path(sub, count) != 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	int count = 0, rc = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		if (replay_path(argv[i], &count) != 0)
			rc = 1;
	printf("replayed %d input(s)\n", count);
	return rc;
}

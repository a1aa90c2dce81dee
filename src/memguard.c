/*
 * memguard.c - available memory from /proc/meminfo.
 */
#include "memguard.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MB (1024.0 * 1024.0)

int memguard_parse_meminfo(const char *text, size_t len, uint64_t *avail_bytes)
{
	static const char key[] = "MemAvailable:";
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		size_t n = (size_t)(eol - p);

		if (n > sizeof(key) - 1 && memcmp(p, key, sizeof(key) - 1) == 0) {
			char num[32];
			const char *q = p + sizeof(key) - 1;
			size_t k = 0;
			int64_t kb;

			while (q < eol && *q == ' ')
				q++;
			while (q < eol && *q >= '0' && *q <= '9' && k + 1 < sizeof(num))
				num[k++] = *q++;
			num[k] = '\0';
			while (q < eol && *q == ' ')
				q++;
			/* The kernel always says kB; anything else is not meminfo. */
			if (k == 0 || (size_t)(eol - q) != 2 || memcmp(q, "kB", 2) != 0 ||
			    parse_i64(num, 0, INT64_MAX / 1024, &kb) != 0)
				return -1;
			*avail_bytes = (uint64_t)kb * 1024u;
			return 0;
		}
		p = eol + 1;
	}
	return -1;
}

int memguard_available(const char *path, uint64_t *avail_bytes)
{
	struct buf b;
	int rc;

	if (file_read_all(path, MEMGUARD_MEMINFO_MAX, &b) != 0)
		return -1;
	rc = memguard_parse_meminfo(b.data ? b.data : "", b.len, avail_bytes);
	buf_free(&b);
	return rc;
}

int memguard_check(const char *path, int64_t min_mb, char *reason, size_t n)
{
	uint64_t avail;

	if (min_mb <= 0)
		return 0;
	if (memguard_available(path, &avail) != 0) {
		snprintf(reason, n, "cannot read MemAvailable from %s", path);
		return -1;
	}
	if ((double)avail < (double)min_mb * MB) {
		snprintf(reason, n, "available memory %.0f MB, MIN_FREE_MEM_MB %lld",
			 (double)avail / MB, (long long)min_mb);
		return 1;
	}
	return 0;
}

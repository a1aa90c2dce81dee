/*
 * memguard.c - available memory from /proc/meminfo.
 */
#include "memguard.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
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

static uint64_t g_reads;

int memguard_available(const char *path, uint64_t *avail_bytes)
{
	struct buf b;
	int rc;

	g_reads++;
	if (file_read_all(path, MEMGUARD_MEMINFO_MAX, &b) != 0)
		return -1;
	rc = memguard_parse_meminfo(b.data ? b.data : "", b.len, avail_bytes);
	buf_free(&b);
	return rc;
}

static int verdict(int rc, uint64_t avail, const char *path, int64_t min_mb, char *reason,
		   size_t n)
{
	if (rc != 0) {
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

int memguard_check(const char *path, int64_t min_mb, char *reason, size_t n)
{
	uint64_t avail = 0;
	int rc;

	if (min_mb <= 0)
		return 0;
	rc = memguard_available(path, &avail);
	return verdict(rc, avail, path, min_mb, reason, n);
}

/* The kept reading; loop thread only. */
static struct {
	char path[PATH_MAX];
	int64_t at;
	bool used;
	int rc;
	uint64_t avail;
} g_last;

int memguard_check_at(const char *path, int64_t min_mb, int64_t now, char *reason, size_t n)
{
	if (min_mb <= 0)
		return 0;
	/* A clock that went back also makes the reading stale. */
	if (!g_last.used || strcmp(g_last.path, path) != 0 || now < g_last.at ||
	    now - g_last.at >= MEMGUARD_MAX_AGE_MS) {
		if (str_copy(g_last.path, path, sizeof(g_last.path)) >= sizeof(g_last.path)) {
			g_last.used = false;
			return memguard_check(path, min_mb, reason, n);
		}
		g_last.used = true;
		g_last.at = now;
		g_last.avail = 0;
		g_last.rc = memguard_available(path, &g_last.avail);
	}
	return verdict(g_last.rc, g_last.avail, path, min_mb, reason, n);
}

uint64_t memguard_reads(void)
{
	return g_reads;
}

/*
 * diskguard.c - free space checks before tests that write files.
 */
#include "diskguard.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#define GB 1e9

bool diskguard_would_fall_under(uint64_t free_bytes, uint64_t need, double min_free_gb)
{
	double left = (double)free_bytes - (double)need;

	return left < min_free_gb * GB;
}

int diskguard_check(const char *dir, uint64_t need, double min_free_gb, char *reason, size_t n)
{
	char path[PATH_MAX];
	struct statvfs st;
	uint64_t avail;

	if (str_copy(path, dir && *dir ? dir : ".", sizeof(path)) >= sizeof(path)) {
		snprintf(reason, n, "path too long for the free-disk check");
		return -1;
	}
	/* The download directory may not exist yet: ask its nearest parent. */
	while (statvfs(path, &st) != 0) {
		char *slash = strrchr(path, '/');

		if (errno != ENOENT || strcmp(path, ".") == 0 || strcmp(path, "/") == 0) {
			snprintf(reason, n, "cannot read free disk space of '%s': %s", path,
				 strerror(errno));
			return -1;
		}
		if (slash == NULL)
			str_copy(path, ".", sizeof(path));
		else if (slash == path)
			path[1] = '\0';
		else
			*slash = '\0';
	}
	/* f_bavail: what an unprivileged process may still use. */
	avail = (uint64_t)st.f_bavail * (uint64_t)st.f_frsize;
	if (diskguard_would_fall_under(avail, need, min_free_gb)) {
		snprintf(reason, n, "free disk %.1f GB, need %.3f GB and MIN_FREE_DISK_GB %.1f",
			 (double)avail / GB, (double)need / GB, min_free_gb);
		return 1;
	}
	return 0;
}

/* Loop thread only, like every caller of the guard. */
static uint64_t g_reserved;

void diskguard_reserve(uint64_t bytes)
{
	g_reserved = bytes > UINT64_MAX - g_reserved ? UINT64_MAX : g_reserved + bytes;
}

void diskguard_release(uint64_t bytes)
{
	g_reserved = bytes > g_reserved ? 0 : g_reserved - bytes;
}

uint64_t diskguard_reserved(void)
{
	return g_reserved;
}

int diskguard_check_reserved(const char *dir, uint64_t need, double min_free_gb, char *reason,
			     size_t n)
{
	uint64_t total = need > UINT64_MAX - g_reserved ? UINT64_MAX : need + g_reserved;
	int rc = diskguard_check(dir, total, min_free_gb, reason, n);
	size_t len;

	if (rc == 1 && g_reserved > 0 && (len = strlen(reason)) < n)
		snprintf(reason + len, n - len, " (%.3f GB of it reserved by running tests)",
			 (double)g_reserved / GB);
	return rc;
}

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

/* Read the free space of the file system holding dir (or its nearest
 * existing parent): 0 with *avail, or -1 with reason set. */
static uint64_t g_reads;

static int read_free(const char *dir, uint64_t *avail, char *reason, size_t n)
{
	char path[PATH_MAX];
	struct statvfs st;

	if (str_copy(path, dir && *dir ? dir : ".", sizeof(path)) >= sizeof(path)) {
		snprintf(reason, n, "path too long for the free-disk check");
		return -1;
	}
	g_reads++;
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
	*avail = (uint64_t)st.f_bavail * (uint64_t)st.f_frsize;
	return 0;
}

static int verdict(uint64_t avail, uint64_t need, double min_free_gb, char *reason, size_t n)
{
	if (diskguard_would_fall_under(avail, need, min_free_gb)) {
		snprintf(reason, n, "free disk %.1f GB, need %.3f GB and MIN_FREE_DISK_GB %.1f",
			 (double)avail / GB, (double)need / GB, min_free_gb);
		return 1;
	}
	return 0;
}

int diskguard_check(const char *dir, uint64_t need, double min_free_gb, char *reason, size_t n)
{
	uint64_t avail;

	if (read_free(dir, &avail, reason, n) != 0)
		return -1;
	return verdict(avail, need, min_free_gb, reason, n);
}

/* Readings kept per directory; loop thread only. */
struct reading {
	char dir[PATH_MAX];
	int64_t at;
	bool used;
	int rc;               /* 0, or -1 with err */
	uint64_t avail;
	char err[200];
};

static struct reading g_cache[DISKGUARD_CACHE_SLOTS];

static struct reading *reading_for(const char *dir, int64_t now)
{
	struct reading *slot = NULL, *oldest = &g_cache[0];

	for (size_t i = 0; i < DISKGUARD_CACHE_SLOTS; i++) {
		struct reading *e = &g_cache[i];

		if (e->used && strcmp(e->dir, dir) == 0) {
			slot = e;
			break;
		}
		if (!e->used)
			oldest = e;
		else if (oldest->used && e->at < oldest->at)
			oldest = e;
	}
	/* A clock that went back also makes a reading stale. */
	if (slot != NULL && now >= slot->at && now - slot->at < DISKGUARD_MAX_AGE_MS)
		return slot;
	if (slot == NULL) {
		slot = oldest;
		if (str_copy(slot->dir, dir, sizeof(slot->dir)) >= sizeof(slot->dir)) {
			slot->used = false;
			return NULL;
		}
	}
	slot->used = true;
	slot->at = now;
	slot->err[0] = '\0';
	slot->rc = read_free(dir, &slot->avail, slot->err, sizeof(slot->err));
	return slot;
}

int diskguard_check_at(const char *dir, uint64_t need, double min_free_gb, int64_t now,
		       char *reason, size_t n)
{
	const char *d = dir && *dir ? dir : ".";
	struct reading *e = reading_for(d, now);

	if (e == NULL)
		return diskguard_check(d, need, min_free_gb, reason, n);
	if (e->rc != 0) {
		str_copy(reason, e->err, n);
		return -1;
	}
	return verdict(e->avail, need, min_free_gb, reason, n);
}

void diskguard_forget(void)
{
	for (size_t i = 0; i < DISKGUARD_CACHE_SLOTS; i++)
		g_cache[i].used = false;
}

uint64_t diskguard_reads(void)
{
	return g_reads;
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

int diskguard_check_reserved(const char *dir, uint64_t need, double min_free_gb, int64_t now,
			     char *reason, size_t n)
{
	uint64_t total = need > UINT64_MAX - g_reserved ? UINT64_MAX : need + g_reserved;
	int rc = diskguard_check_at(dir, total, min_free_gb, now, reason, n);
	size_t len;

	if (rc == 1 && g_reserved > 0 && (len = strlen(reason)) < n)
		snprintf(reason + len, n - len, " (%.3f GB of it reserved by running tests)",
			 (double)g_reserved / GB);
	return rc;
}

/*
 * purge.c - bounded, symlink-safe removal of leftovers (see purge.h).
 */
#include "purge.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_OPEN_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* dup() clears close-on-exec; a client spawned meanwhile (on another
 * thread) must not inherit the copy. */
static int dup_cloexec(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

static bool dot_or_dotdot(const char *n)
{
	return n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'));
}

/* Open a sub-directory of dfd without following a link. */
static DIR *open_sub(int dfd, const char *name)
{
	int fd = openat(dfd, name, DIR_OPEN_FLAGS);
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (d == NULL)
		close(fd);
	return d;
}

/* Remove name in dfd: a directory with everything in it, anything else
 * (a link included) with unlink. */
static void remove_tree(int dfd, const char *name, int depth, size_t *budget,
			struct purge_stats *st)
{
	struct stat sb;
	struct dirent *de;
	DIR *d;

	if (*budget == 0 || fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
		st->errors++;
		return;
	}
	(*budget)--;
	if (!S_ISDIR(sb.st_mode)) {
		if (unlinkat(dfd, name, 0) == 0) {
			st->files++;
			st->bytes += S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
		} else {
			st->errors++;
		}
		return;
	}
	if (depth >= PURGE_MAX_DEPTH || (d = open_sub(dfd, name)) == NULL) {
		st->errors++;
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (!dot_or_dotdot(de->d_name))
			remove_tree(dirfd(d), de->d_name, depth + 1, budget, st);
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) == 0)
		st->dirs++;
	else
		st->errors++;
}

static DIR *open_root(const char *dir)
{
	int fd = open(dir, DIR_OPEN_FLAGS);
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (d == NULL)
		close(fd);
	return d;
}

int purge_entries(const char *dir, const char *prefix, struct purge_stats *st)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	size_t budget = PURGE_MAX_ENTRIES;
	struct dirent *de;
	DIR *d = open_root(dir);

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		struct stat sb;

		if (dot_or_dotdot(de->d_name) || strncmp(de->d_name, prefix ? prefix : "", plen) != 0)
			continue;
		/* A name like ours made by someone else is not ours. */
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
		    sb.st_uid != geteuid())
			continue;
		remove_tree(dirfd(d), de->d_name, 0, &budget, st);
	}
	closedir(d);
	return 0;
}

int purge_tree(const char *path, struct purge_stats *st)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t budget = PURGE_MAX_ENTRIES;
	char parent[PATH_MAX];
	DIR *d;

	if (*base == '\0' || dot_or_dotdot(base)) {
		errno = EINVAL;
		return -1;
	}
	if (slash == NULL) {
		str_copy(parent, ".", sizeof(parent));
	} else if (slash == path) {
		str_copy(parent, "/", sizeof(parent));
	} else if ((size_t)(slash - path) < sizeof(parent)) {
		memcpy(parent, path, (size_t)(slash - path));
		parent[slash - path] = '\0';
	} else {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((d = open_root(parent)) == NULL)
		return -1;
	remove_tree(dirfd(d), base, 0, &budget, st);
	closedir(d);
	return 0;
}

/* ---- client logs ---- */

struct log_file {
	char *rel;         /* path relative to the root */
	int64_t mtime_ns;
	uint64_t size;
};

struct log_list {
	struct log_file *v;
	size_t n, alloc;
	size_t budget;
};

/* Gather the regular files in the directory open as fd (which this takes
 * over), named by their path relative to the root. */
static void collect(int fd, const char *rel, int depth, struct log_list *l)
{
	struct dirent *de;
	DIR *d = fdopendir(fd);

	if (d == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL && l->budget > 0) {
		char path[PATH_MAX];
		struct stat sb;
		int sub;

		if (dot_or_dotdot(de->d_name) ||
		    (depth == 0 && strcmp(de->d_name, PURGE_LOG_MARKER) == 0))
			continue;
		l->budget--;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
		    sb.st_uid != geteuid())
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s%s%s", rel, rel[0] ? "/" : "",
				     de->d_name) >= sizeof(path))
			continue;
		if (S_ISDIR(sb.st_mode)) {
			if (depth + 1 < PURGE_MAX_DEPTH &&
			    (sub = openat(dirfd(d), de->d_name, DIR_OPEN_FLAGS)) >= 0)
				collect(sub, path, depth + 1, l);
		} else if (S_ISREG(sb.st_mode)) {
			if (l->n == l->alloc) {
				l->alloc = l->alloc ? l->alloc * 2 : 64;
				l->v = xrealloc(l->v, l->alloc * sizeof(*l->v));
			}
			l->v[l->n].rel = xstrdup(path);
			l->v[l->n].mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000LL +
					      sb.st_mtim.tv_nsec;
			l->v[l->n].size = (uint64_t)sb.st_size;
			l->n++;
		}
	}
	closedir(d);
}

static int newest_first(const void *a, const void *b)
{
	const struct log_file *x = a, *y = b;

	if (x->mtime_ns != y->mtime_ns)
		return x->mtime_ns > y->mtime_ns ? -1 : 1;
	return strcmp(x->rel, y->rel);
}

/* Remove a file given by a path relative to root, walking down one
 * directory at a time without following links. */
static int unlink_rel(int root, const char *rel)
{
	char buf[PATH_MAX];
	char *p = buf, *slash;
	int dfd = dup_cloexec(root), rc = -1;

	if (dfd < 0)
		return -1;
	str_copy(buf, rel, sizeof(buf));
	while ((slash = strchr(p, '/')) != NULL) {
		int next;

		*slash = '\0';
		next = openat(dfd, p, DIR_OPEN_FLAGS);
		close(dfd);
		if (next < 0)
			return -1;
		dfd = next;
		p = slash + 1;
	}
	rc = unlinkat(dfd, p, 0);
	close(dfd);
	return rc;
}

/* Remove directories under dfd that are empty after the purge (not the
 * root itself). rmdir refuses a non-empty one, which is what we want. */
static void prune_empty(int dfd, int depth, struct purge_stats *st)
{
	struct dirent *de;
	DIR *d;
	int fd = dup_cloexec(dfd);

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		int sub;

		if (dot_or_dotdot(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISDIR(sb.st_mode) || sb.st_uid != geteuid())
			continue;
		if (depth + 1 < PURGE_MAX_DEPTH &&
		    (sub = openat(dirfd(d), de->d_name, DIR_OPEN_FLAGS)) >= 0) {
			prune_empty(sub, depth + 1, st);
			close(sub);
		}
		if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) == 0)
			st->dirs++;
	}
	closedir(d);
}

static bool g_warned_foreign_logs;

static bool has_marker(int root)
{
	struct stat sb;

	return fstatat(root, PURGE_LOG_MARKER, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISREG(sb.st_mode) && sb.st_uid == geteuid();
}

/* The directory does not exist yet: make it, and mark it as ours. */
static int claim_log_dir(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	if (mkdir_p(dir, 0750) != 0 ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, PURGE_LOG_MARKER) >= sizeof(path))
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	(void)fd_write_all(fd, "client logs of ant-agent: old files here are deleted\n", 53);
	close(fd);
	return 0;
}

int purge_logs(const char *dir, uint64_t keep_bytes, struct purge_stats *st)
{
	struct log_list l = { .budget = PURGE_MAX_ENTRIES };
	uint64_t kept = 0;
	bool removed = false;
	int root, fd;

	if (keep_bytes == 0)
		return 0;
	root = open(dir, DIR_OPEN_FLAGS);
	if (root < 0 && errno == ENOENT)
		return claim_log_dir(dir);
	if (root < 0)
		return -1;
	if (!has_marker(root)) {
		if (!g_warned_foreign_logs)
			log_warn("Purge: CLIENT_LOGGING_PATH %s was not made by the agent (no %s in "
				 "it), so its old files are never deleted; point the setting at a "
				 "directory of its own", dir, PURGE_LOG_MARKER);
		g_warned_foreign_logs = true;
		close(root);
		return 0;
	}
	fd = dup_cloexec(root);
	if (fd >= 0)
		collect(fd, "", 0, &l);
	/* An empty directory (a client that writes no logs) has no list. */
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), newest_first);
	for (size_t i = 0; i < l.n; i++) {
		if (kept + l.v[i].size <= keep_bytes) {
			kept += l.v[i].size;
		} else if (unlink_rel(root, l.v[i].rel) == 0) {
			st->files++;
			st->bytes += l.v[i].size;
			removed = true;
		} else {
			st->errors++;
		}
		free(l.v[i].rel);
	}
	free(l.v);
	if (removed)
		prune_empty(root, 0, st);
	close(root);
	return 0;
}

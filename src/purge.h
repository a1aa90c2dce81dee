/*
 * purge.h - removing what earlier runs left behind in the agent's own
 * directories: temporary downloads, generated seed files, old client logs.
 *
 * Every walk opens directories with O_NOFOLLOW relative to their parent
 * (openat), so a symbolic link is removed as a link and never followed:
 * nothing outside the directory named can be touched. Walks are bounded in
 * depth and in entries.
 */
#ifndef ANT_PURGE_H
#define ANT_PURGE_H

#include <stddef.h>
#include <stdint.h>

/* Deepest level a walk descends to, and most entries it looks at. */
#define PURGE_MAX_DEPTH 8
#define PURGE_MAX_ENTRIES 100000

/* Seed files are named task-REF-SEED.bin (their temporary copies
 * task-REF-SEED.bin.tmp.XXXXXX): only those are purged from the seed
 * directory. */
#define PURGE_SEED_PREFIX "task-"
/* The file that marks a client log directory as the agent's own: made
 * when the agent creates the directory, and the only proof it accepts
 * that the files in it are client logs it may delete. */
#define PURGE_LOG_MARKER ".ant-agent-client-logs"

struct purge_stats {
	size_t files;     /* files and links removed */
	size_t dirs;      /* directories removed */
	uint64_t bytes;   /* size of the files removed */
	size_t errors;    /* entries that could not be removed */
};

/* Remove every entry directly in dir whose name starts with prefix (all
 * entries when prefix is NULL or ""), directories with their contents.
 * A missing dir is not an error. Returns 0, or -1 when dir cannot be
 * opened (errno set). */
int purge_entries(const char *dir, const char *prefix, struct purge_stats *st);

/* Remove path itself: a directory with its contents, anything else (a link
 * included) with unlink, never following a link. Returns 0 (st->errors
 * counts what could not be removed), or -1 when its parent cannot be
 * opened or path names no entry (errno set). */
int purge_tree(const char *path, struct purge_stats *st);

/* Keep the newest regular files under dir (any depth) whose sizes add up
 * to at most keep_bytes, and remove the older ones, then the
 * sub-directories left empty. Only files owned by this user are counted
 * or removed. keep_bytes 0 means keep everything. Returns 0 or -1. */
int purge_logs(const char *dir, uint64_t keep_bytes, struct purge_stats *st);

#endif

/*
 * memguard.h - the free-memory guard: no test starts while the memory the
 * kernel says is available (MemAvailable in /proc/meminfo) is under
 * MIN_FREE_MEM_MB (1 MB = 2^20 bytes, as the kernel counts).
 */
#ifndef ANT_MEMGUARD_H
#define ANT_MEMGUARD_H

#include <stddef.h>
#include <stdint.h>

#define MEMGUARD_MEMINFO "/proc/meminfo"
/* /proc/meminfo is a few KiB; more than this is not that file. */
#define MEMGUARD_MEMINFO_MAX (64 * 1024)

/* Pure: find "MemAvailable: N kB" in the text of /proc/meminfo. Returns 0
 * and the bytes, or -1 when the line is missing or malformed. */
int memguard_parse_meminfo(const char *text, size_t len, uint64_t *avail_bytes);
/* Read MemAvailable from path (MEMGUARD_MEMINFO). Returns 0 or -1. */
int memguard_available(const char *path, uint64_t *avail_bytes);
/* Returns 0 when at least min_mb is available (or min_mb is 0); 1 when
 * not, with reason set; -1 when it cannot be read, with reason set. */
int memguard_check(const char *path, int64_t min_mb, char *reason, size_t n);

#endif

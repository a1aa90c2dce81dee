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

/* MemAvailable is read at most once per this long (schedule time). */
#define MEMGUARD_MAX_AGE_MS 1000

/* memguard_check through a reading of path taken at most
 * MEMGUARD_MAX_AGE_MS before now (schedule ms). One reading is kept (for
 * the last path asked about). */
int memguard_check_at(const char *path, int64_t min_mb, int64_t now, char *reason, size_t n);
/* How many times MemAvailable has been read from a file. */
uint64_t memguard_reads(void);

#endif

/*
 * diskguard.h - the free-disk guard: no test that writes a file starts
 * when free space would fall under MIN_FREE_DISK_GB (1 GB = 10^9 bytes).
 */
#ifndef ANT_DISKGUARD_H
#define ANT_DISKGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Pure rule: true when writing need bytes to a file system with
 * free_bytes available would leave less than min_free_gb. */
bool diskguard_would_fall_under(uint64_t free_bytes, uint64_t need, double min_free_gb);

/* Check the file system that holds dir (or its nearest existing parent).
 * Returns 0 when there is room; 1 when there is not, with reason set;
 * -1 when free space cannot be read, with reason set. */
int diskguard_check(const char *dir, uint64_t need, double min_free_gb, char *reason, size_t n);

/* A file system's free space is read at most once per this long (schedule
 * time) per directory; the space reserved by running tests is added to
 * each check fresh, so only what other programs do in between is not
 * seen until the next reading. */
#define DISKGUARD_MAX_AGE_MS 1000
/* Directories whose readings are kept (downloads, seeds, a spare). */
#define DISKGUARD_CACHE_SLOTS 4

/* diskguard_check through a reading of dir's free space taken at most
 * DISKGUARD_MAX_AGE_MS before now (schedule ms); a failed reading is kept
 * as long. */
int diskguard_check_at(const char *dir, uint64_t need, double min_free_gb, int64_t now,
		       char *reason, size_t n);
/* Drop every kept reading: for after something the reservations did not
 * cover was written and kept (a seeded file). */
void diskguard_forget(void);
/* How many times free space has been read from the kernel (statvfs). */
uint64_t diskguard_reads(void);

/* Space promised to tests that are running (downloads at their size
 * class's upper bound, uploads and seed generation at the file's size),
 * which statvfs does not show yet. One total for every file system: a
 * conservative count when downloads and seeds live apart. */
void diskguard_reserve(uint64_t bytes);
void diskguard_release(uint64_t bytes);
uint64_t diskguard_reserved(void);

/* diskguard_check_at with the space already reserved added to need. */
int diskguard_check_reserved(const char *dir, uint64_t need, double min_free_gb, int64_t now,
			     char *reason, size_t n);

#endif

/*
 * seedfile.h - the seeded test files of quote and upload tests.
 *
 * A seed file is the first SIZE bytes of a byte stream that depends only on
 * SEED, so every machine produces the same bytes and anyone can check a
 * file's MD5 against the seed catalogue. The algorithm (SplitMix64 seeding
 * xoshiro256**, each 64-bit output written little-endian) is described in
 * docs/SEEDFILE.md precisely enough to re-implement it.
 */
#ifndef ANT_SEEDFILE_H
#define ANT_SEEDFILE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "digest.h"

/* Write size for files and pipes. */
#define SEEDFILE_CHUNK (1024 * 1024)

/* The generator's state. It is public so that callers can keep one on the
 * stack or in their own struct; touch it only through seedgen_*. */
struct seedgen {
	uint64_t s[4];
	unsigned char tail[8]; /* bytes of the last output not handed out yet */
	unsigned tail_len;
};

void seedgen_init(struct seedgen *g, uint64_t seed);
/* The next n bytes of the stream. Any split of the stream into fills gives
 * the same bytes. */
void seedgen_fill(struct seedgen *g, void *buf, size_t n);

/* Write the (seed, size) file to fd. When md5_hex is not NULL the MD5 of
 * the bytes is computed on the way. cancel, when not NULL, is polled
 * between chunks; a non-zero value stops the work (errno ECANCELED).
 * Returns 0 or -1 (errno). */
int seedfile_write_fd(int fd, uint64_t seed, uint64_t size,
		      char md5_hex[DIGEST_MD5_HEX_SIZE], const atomic_int *cancel);
/* Write the file at path atomically (temporary file in the same directory,
 * then rename), mode 0644, when path is a regular file or does not exist.
 * Anything else (a FIFO, a device, a symbolic link) is opened and written
 * in place, never replaced; a directory is refused (EISDIR). Returns 0 or
 * -1 (errno). */
int seedfile_write_path(const char *path, uint64_t seed, uint64_t size,
			char md5_hex[DIGEST_MD5_HEX_SIZE], const atomic_int *cancel);

/* Generate a file on the libuv thread pool, mode 0600 (the agent's own
 * working copy). The callback runs on the loop exactly once: status 0 with the path and the MD5 of the file, or a
 * negative errno (-ECANCELED after seedfile_cancel) with nothing left on
 * disk. The request frees itself after the callback. */
struct seedfile_req;
typedef void (*seedfile_done_cb)(int status, const char *path, const char *md5_hex, void *ud);

struct seedfile_req *seedfile_prepare(uv_loop_t *loop, const char *path, uint64_t seed,
				      uint64_t size, seedfile_done_cb cb, void *ud);
/* Ask a running request to stop; its callback still runs (-ECANCELED
 * unless it had already finished). */
void seedfile_cancel(struct seedfile_req *r);

#endif

/*
 * digest.h - MD5 (RFC 1321): streaming, over a buffer, an open file or a
 * path, with lower-case hex output.
 *
 * MD5 is used only to check that a download or a generated file has the
 * bytes a catalogue says it should; it is not used for anything that needs
 * a secure hash.
 */
#ifndef ANT_DIGEST_H
#define ANT_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define DIGEST_MD5_LEN 16
#define DIGEST_MD5_HEX_SIZE 33  /* 32 hex digits and the terminating NUL */
/* Read size for files: large reads keep the hash, not the syscalls, the
 * bottleneck. */
#define DIGEST_READ_SIZE (1024 * 1024)

/* Embedded by callers (a download's gateway, a generated file), so its
 * fields are visible; only digest.c touches them. */
struct digest_md5 {
	uint32_t h[4];          /* the running state A, B, C, D */
	uint64_t bytes;         /* bytes hashed so far */
	unsigned char block[64]; /* the unfinished block */
	unsigned fill;           /* bytes in block */
	int live;                /* started and not yet finished or aborted */
};

/* Start a streaming MD5. Returns 0 or -1. */
int digest_md5_init(struct digest_md5 *d);
int digest_md5_update(struct digest_md5 *d, const void *p, size_t n);
/* Finish: write 32 hex digits and a NUL to hex, and free the context.
 * Returns 0 or -1 (the context is freed either way). */
int digest_md5_final(struct digest_md5 *d, char hex[DIGEST_MD5_HEX_SIZE]);
/* Free a context that will not be finished (safe on a finished one). */
void digest_md5_abort(struct digest_md5 *d);

int digest_md5_buffer(const void *p, size_t n, char hex[DIGEST_MD5_HEX_SIZE]);
/* Hash everything readable from fd (from its current offset). bytes, when
 * not NULL, receives the number of bytes hashed. Returns 0 or -1 (errno). */
int digest_md5_fd(int fd, char hex[DIGEST_MD5_HEX_SIZE], uint64_t *bytes);
/* Hash a file. Returns 0 or -1 (errno). */
int digest_md5_file(const char *path, char hex[DIGEST_MD5_HEX_SIZE], uint64_t *bytes);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void digest_hex(const unsigned char *bin, size_t n, char *out);
/* True when s is exactly 32 hex digits (either case). */
int digest_md5_hex_valid(const char *s);

#endif

/*
 * util.h - small checked helpers shared by every module: number parsing
 * with bounds (no atoi/sscanf), bounded string copies and a growable byte
 * buffer with a hard cap for anything that holds outside data.
 */
#ifndef ANT_UTIL_H
#define ANT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif

/* Parse a whole decimal integer (surrounding blanks allowed) within
 * [min, max]. Returns 0, or -1 when the text is not a number or is out of
 * range; *out is written only on success. */
int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Parse a finite decimal floating-point number within [min, max]. */
int parse_double(const char *s, double min, double max, double *out);
/* Parse true/false, yes/no, on/off, 1/0 in any case. */
int parse_bool(const char *s, bool *out);

/* Copy at most size-1 bytes and always terminate; returns strlen(src) so a
 * caller can detect truncation (like BSD strlcpy). */
size_t str_copy(char *dst, const char *src, size_t size);
/* Case-insensitive ASCII comparison of whole strings. */
bool str_ieq(const char *a, const char *b);
/* Remove blanks at both ends in place; returns s. */
char *str_trim(char *s);
/* Copy text into out (at most outn-1 bytes, always terminated) with the
 * credentials of every URL in it masked: user:password@ becomes
 * user:****@, a user-only token@ becomes ****@, and the value of a query
 * parameter named like a secret (token, key, secret, pass, sig, auth,
 * ...) becomes ****. Returns the length of the whole masked text. */
size_t str_mask_urls(const char *in, char *out, size_t outn);
/* The one cleaner of outside text (names, titles, descriptions, messages)
 * before it reaches a terminal, a log or a file. Per character of in:
 * valid UTF-8 text is kept; C0 controls and DEL, C1 controls (raw 8-bit
 * bytes 0x80-0x9F and written in UTF-8, U+0080-U+009F) and every byte that
 * is not part of valid UTF-8 are not. What becomes of them depends on
 * flags:
 *   0                    each becomes '?'; tab and space stay
 *   STR_CLEAN_NEWLINES   the same, and newline stays too
 *   STR_CLEAN_ONE_LINE   one line: they, spaces and tabs all count as
 *                        blanks, each run of blanks becomes one space, and
 *                        the ends are trimmed
 * out gets at most n-1 bytes and whole characters only. out may be in:
 * the result is never longer than the input. Returns true when text was
 * left out because it did not fit. */
#define STR_CLEAN_NEWLINES 0x1u
#define STR_CLEAN_ONE_LINE 0x2u
bool str_clean(const char *in, char *out, size_t n, unsigned flags);
/* str_clean(s, s, ..., keep_newline ? STR_CLEAN_NEWLINES : 0): make text
 * safe to print, in place. Returns s. */
char *str_sanitize_terminal(char *s, bool keep_newline);
/* Duplicate or abort: allocation failure is not recoverable in this agent. */
char *xstrdup(const char *s);
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);

/* A fast non-cryptographic random source (xoshiro256**), seeded once from
 * the OS. Used for jitter, offsets and picking catalogue rows; never for
 * anything secret. rng_seed fixes the sequence (tests). */
void rng_seed(uint64_t seed);
uint64_t rng_u64(void);
/* Uniform in [0, n) (0 when n is 0). */
uint64_t rng_below(uint64_t n);
/* n bytes from the kernel's random source (getrandom(2)), for the agent id
 * and the metric sequence's start. Returns 0, or -1 with errno. */
int os_random(void *p, size_t n);

/* Standard base64 (RFC 4648, with padding) of n bytes into out, NUL
 * terminated. Returns the length written, or 0 when out (outn bytes) is too
 * small for 4 * ceil(n / 3) + 1 bytes (out is then ""). */
size_t str_base64(const void *in, size_t n, char *out, size_t outn);

/* A growable buffer that refuses to grow past `cap` bytes. */
struct buf {
	char *data;
	size_t len;
	size_t alloc;
	size_t cap;
	bool truncated; /* set when an append hit the cap */
};

void buf_init(struct buf *b, size_t cap);
/* Append; returns 0, or -1 when the cap would be passed (the part that fits
 * is kept and `truncated` is set). data stays NUL-terminated. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

/* Read a whole file into a new buffer, refusing files over cap bytes.
 * Returns 0, -1 on I/O error (errno set), -2 when over cap. */
int file_read_all(const char *path, size_t cap, struct buf *out);
/* A control file or catalogue source is a URL ("scheme://...") to fetch,
 * or else a plain path to read. */
bool source_is_url(const char *src);
/* Read a plain-path source like file_read_all; on failure err says why in
 * the words every loader uses. Returns 0 or -1. */
int source_read_path(const char *path, size_t cap, struct buf *out, char *err, size_t n);
/* write(2) all n bytes, retrying on EINTR and short writes. Returns 0 or
 * -1 (errno). */
int fd_write_all(int fd, const void *p, size_t n);
/* Replace path atomically: fill(fd, ud) writes the content into a new
 * temporary file beside path (created with the given mode); then it is
 * fsynced when sync is set, and renamed over path. On any failure the
 * temporary file is removed and path is untouched. fill returns 0 or -1
 * with errno set. Returns 0 or -1 (errno). */
typedef int (*file_fill_fn)(int fd, void *ud);
int file_replace_atomic(const char *path, int mode, bool sync, file_fill_fn fill, void *ud);
/* Write data to path atomically (file_replace_atomic with fsync). */
int file_write_atomic(const char *path, const void *data, size_t len, int mode);
/* Mark every open descriptor from lowfd up close-on-exec, so no child
 * inherits it. For descriptors made inside libraries (libcurl's wake-up
 * and resolver socket pairs) and inherited from whoever started the
 * agent. Returns 0 or -1. */
int fd_cloexec_from(int lowfd);
/* Open (creating with mode) a file the agent keeps appending to, such as
 * the log or the metrics files, refusing what someone else may have put
 * in its place: a symbolic link (ELOOP), anything but a regular file or
 * a character device such as /dev/full (EINVAL: a FIFO, a socket, a
 * directory), or a regular file owned by another user (EPERM). flags: O_WRONLY or
 * O_RDWR, with O_APPEND as wanted. Returns the descriptor or -1 (errno). */
int file_open_own(const char *path, int flags, int mode);
/* mkdir -p with the given mode for created directories. */
int mkdir_p(const char *path, int mode);
/* mkdir_p of the directory that holds path (nothing for a bare name or a
 * file in "/"). Returns 0, or -1 with errno set. */
int mkdir_parent(const char *path, int mode);

#endif

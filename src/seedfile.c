/*
 * seedfile.c - deterministic test files (see docs/SEEDFILE.md).
 *
 * The stream: SplitMix64 started at the seed gives four words that form
 * the state of xoshiro256**; each xoshiro256** output is written as eight
 * bytes, least significant first. Byte order is spelt out with shifts, not
 * taken from memory, so big- and little-endian machines agree.
 */
#include "seedfile.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t xoshiro_next(uint64_t s[4])
{
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

static inline void put_le64(unsigned char *p, uint64_t v)
{
	/* Compilers turn this into one store on little-endian machines. */
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
	p[4] = (unsigned char)(v >> 32);
	p[5] = (unsigned char)(v >> 40);
	p[6] = (unsigned char)(v >> 48);
	p[7] = (unsigned char)(v >> 56);
}

void seedgen_init(struct seedgen *g, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++)
		g->s[i] = splitmix64(&x);
	g->tail_len = 0;
}

void seedgen_fill(struct seedgen *g, void *buf, size_t n)
{
	unsigned char *p = buf;
	uint64_t s[4];

	/* First hand out what is left of the previous output. */
	while (n > 0 && g->tail_len > 0) {
		*p++ = g->tail[8 - g->tail_len];
		g->tail_len--;
		n--;
	}
	memcpy(s, g->s, sizeof(s));
	while (n >= 8) {
		put_le64(p, xoshiro_next(s));
		p += 8;
		n -= 8;
	}
	if (n > 0) {
		put_le64(g->tail, xoshiro_next(s));
		memcpy(p, g->tail, n);
		g->tail_len = (unsigned)(8 - n);
	}
	memcpy(g->s, s, sizeof(s));
}

int seedfile_write_fd(int fd, uint64_t seed, uint64_t size,
		      char md5_hex[DIGEST_MD5_HEX_SIZE], const atomic_int *cancel)
{
	struct seedgen g;
	struct digest_md5 d = { .live = 0 };
	unsigned char *chunk;
	int saved;

	/* Mapped, not malloc'd: a 1 MiB block freed by a pool thread would
	 * otherwise stay resident in that thread's malloc arena. */
	chunk = mmap(NULL, SEEDFILE_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (chunk == MAP_FAILED) {
		errno = ENOMEM;
		return -1;
	}
	if (md5_hex != NULL)
		digest_md5_init(&d);
	seedgen_init(&g, seed);
	while (size > 0) {
		size_t n = size < SEEDFILE_CHUNK ? (size_t)size : SEEDFILE_CHUNK;

		if (cancel != NULL && atomic_load(cancel)) {
			errno = ECANCELED;
			goto fail;
		}
		seedgen_fill(&g, chunk, n);
		if (md5_hex != NULL && digest_md5_update(&d, chunk, n) != 0) {
			errno = EIO;
			goto fail;
		}
		if (fd_write_all(fd, chunk, n) != 0)
			goto fail;
		size -= n;
	}
	munmap(chunk, SEEDFILE_CHUNK);
	if (md5_hex != NULL && digest_md5_final(&d, md5_hex) != 0) {
		errno = EIO;
		return -1;
	}
	return 0;
fail:
	saved = errno;
	munmap(chunk, SEEDFILE_CHUNK);
	digest_md5_abort(&d);
	errno = saved;
	return -1;
}

struct seed_fill {
	uint64_t seed;
	uint64_t size;
	char *md5_hex;
	const atomic_int *cancel;
};

static int fill_seeded(int fd, void *ud)
{
	struct seed_fill *f = ud;

	return seedfile_write_fd(fd, f->seed, f->size, f->md5_hex, f->cancel);
}

/* mode: 0644 for a file a user asked for (`seedfile -o`), 0600 for the
 * agent's own working copies, which nobody else has any business reading
 * or holding open while the agent replaces them. No fsync: a seeded file
 * can always be made again, and syncing gigabytes would stall the disk. */
static int write_path_mode(const char *path, uint64_t seed, uint64_t size, mode_t mode,
			   char md5_hex[DIGEST_MD5_HEX_SIZE], const atomic_int *cancel)
{
	struct seed_fill f = { seed, size, md5_hex, cancel };

	return file_replace_atomic(path, (int)mode, false, fill_seeded, &f);
}

/* Write into something that is not a regular file (a FIFO, a device, a
 * link to one, /dev/stdout) in place: replacing it with a new file would
 * swap a device node or a link for a plain file (run as root with
 * `-o /dev/null`, that replaced the system's /dev/null). A link that leads
 * to a regular file is written through and truncated, like a shell's `>`. */
static int write_in_place(const char *path, uint64_t seed, uint64_t size,
			  char md5_hex[DIGEST_MD5_HEX_SIZE], const atomic_int *cancel)
{
	struct stat st;
	int fd, saved;

	fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0)
		goto fail;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto fail;
	}
	if (S_ISREG(st.st_mode) && ftruncate(fd, 0) != 0)
		goto fail;
	if (seedfile_write_fd(fd, seed, size, md5_hex, cancel) != 0)
		goto fail;
	return close(fd);
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int seedfile_write_path(const char *path, uint64_t seed, uint64_t size,
			char md5_hex[DIGEST_MD5_HEX_SIZE], const atomic_int *cancel)
{
	struct stat st;

	/* Only a regular file (or nothing) is ever replaced by a rename. */
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode)) {
			errno = EISDIR;
			return -1;
		}
		return write_in_place(path, seed, size, md5_hex, cancel);
	}
	return write_path_mode(path, seed, size, 0644, md5_hex, cancel);
}

struct seedfile_req {
	uv_work_t work;
	char *path;
	uint64_t seed;
	uint64_t size;
	atomic_int cancel; /* set on the loop, read by the worker thread */
	int status;
	char md5[DIGEST_MD5_HEX_SIZE];
	seedfile_done_cb cb;
	void *ud;
};

static void prepare_work(uv_work_t *w)
{
	struct seedfile_req *r = container_of(w, struct seedfile_req, work);

	r->status = 0;
	if (write_path_mode(r->path, r->seed, r->size, 0600, r->md5, &r->cancel) != 0)
		r->status = errno ? -errno : -EIO;
}

static void prepare_done(uv_work_t *w, int status)
{
	struct seedfile_req *r = container_of(w, struct seedfile_req, work);

	if (status == UV_ECANCELED)
		r->status = -ECANCELED;
	r->cb(r->status, r->path, r->status == 0 ? r->md5 : NULL, r->ud);
	free(r->path);
	free(r);
}

struct seedfile_req *seedfile_prepare(uv_loop_t *loop, const char *path, uint64_t seed,
				      uint64_t size, seedfile_done_cb cb, void *ud)
{
	struct seedfile_req *r = xcalloc(1, sizeof(*r));

	r->path = xstrdup(path);
	r->seed = seed;
	r->size = size;
	r->cb = cb;
	r->ud = ud;
	if (uv_queue_work(loop, &r->work, prepare_work, prepare_done) != 0) {
		free(r->path);
		free(r);
		return NULL;
	}
	return r;
}

void seedfile_cancel(struct seedfile_req *r)
{
	atomic_store(&r->cancel, 1);
	/* Not started yet: take it off the queue; the callback reports it. */
	uv_cancel((uv_req_t *)&r->work);
}

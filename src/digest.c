/*
 * digest.c - streaming MD5 (RFC 1321), built in.
 *
 * MD5 is the one hash the agent needs (checking a download or a generated
 * file against its catalogue), so it is computed here rather than through
 * OpenSSL: linking libcrypto for it mapped about 3.5 MB of library pages
 * into the long-running agent (docs/BENCHMARKS.md, "Resident memory").
 * The compression function is unrolled; it runs at md5sum's speed.
 *
 * Files are read in DIGEST_READ_SIZE pieces with a sequential-access hint,
 * which keeps the throughput close to md5sum's on big downloads. The read
 * buffer is mapped and unmapped for each file rather than malloc'd, so it
 * never stays resident in a thread pool's malloc arena.
 */
#include "digest.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MD5_ROTL(v, s) (((v) << (s)) | ((v) >> (32 - (s))))
/* The four auxiliary functions of RFC 1321 section 3.4, F and G written
 * with one operation fewer (same truth tables). */
#define MD5_F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define MD5_G(x, y, z) ((y) ^ ((z) & ((x) ^ (y))))
#define MD5_H(x, y, z) ((x) ^ (y) ^ (z))
#define MD5_I(x, y, z) ((y) ^ ((x) | ~(z)))
#define MD5_STEP(f, a, b, c, d, xk, t, s)                  \
	do {                                               \
		(a) += MD5_##f((b), (c), (d)) + (xk) + (t); \
		(a) = MD5_ROTL((a), (s)) + (b);             \
	} while (0)

/* A little-endian 32-bit word from any alignment (one load on x86). */
static uint32_t md5_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Hash n whole 64-byte blocks into h. */
static void md5_blocks(uint32_t h[4], const unsigned char *p, size_t n)
{
	uint32_t x[16];

	for (; n > 0; n--, p += 64) {
		uint32_t a = h[0], b = h[1], c = h[2], d = h[3];

		for (int i = 0; i < 16; i++)
			x[i] = md5_le32(p + 4 * i);
	/* round 1 */
	MD5_STEP(F, a, b, c, d, x[0], 0xd76aa478u, 7);
	MD5_STEP(F, d, a, b, c, x[1], 0xe8c7b756u, 12);
	MD5_STEP(F, c, d, a, b, x[2], 0x242070dbu, 17);
	MD5_STEP(F, b, c, d, a, x[3], 0xc1bdceeeu, 22);
	MD5_STEP(F, a, b, c, d, x[4], 0xf57c0fafu, 7);
	MD5_STEP(F, d, a, b, c, x[5], 0x4787c62au, 12);
	MD5_STEP(F, c, d, a, b, x[6], 0xa8304613u, 17);
	MD5_STEP(F, b, c, d, a, x[7], 0xfd469501u, 22);
	MD5_STEP(F, a, b, c, d, x[8], 0x698098d8u, 7);
	MD5_STEP(F, d, a, b, c, x[9], 0x8b44f7afu, 12);
	MD5_STEP(F, c, d, a, b, x[10], 0xffff5bb1u, 17);
	MD5_STEP(F, b, c, d, a, x[11], 0x895cd7beu, 22);
	MD5_STEP(F, a, b, c, d, x[12], 0x6b901122u, 7);
	MD5_STEP(F, d, a, b, c, x[13], 0xfd987193u, 12);
	MD5_STEP(F, c, d, a, b, x[14], 0xa679438eu, 17);
	MD5_STEP(F, b, c, d, a, x[15], 0x49b40821u, 22);
	/* round 2 */
	MD5_STEP(G, a, b, c, d, x[1], 0xf61e2562u, 5);
	MD5_STEP(G, d, a, b, c, x[6], 0xc040b340u, 9);
	MD5_STEP(G, c, d, a, b, x[11], 0x265e5a51u, 14);
	MD5_STEP(G, b, c, d, a, x[0], 0xe9b6c7aau, 20);
	MD5_STEP(G, a, b, c, d, x[5], 0xd62f105du, 5);
	MD5_STEP(G, d, a, b, c, x[10], 0x02441453u, 9);
	MD5_STEP(G, c, d, a, b, x[15], 0xd8a1e681u, 14);
	MD5_STEP(G, b, c, d, a, x[4], 0xe7d3fbc8u, 20);
	MD5_STEP(G, a, b, c, d, x[9], 0x21e1cde6u, 5);
	MD5_STEP(G, d, a, b, c, x[14], 0xc33707d6u, 9);
	MD5_STEP(G, c, d, a, b, x[3], 0xf4d50d87u, 14);
	MD5_STEP(G, b, c, d, a, x[8], 0x455a14edu, 20);
	MD5_STEP(G, a, b, c, d, x[13], 0xa9e3e905u, 5);
	MD5_STEP(G, d, a, b, c, x[2], 0xfcefa3f8u, 9);
	MD5_STEP(G, c, d, a, b, x[7], 0x676f02d9u, 14);
	MD5_STEP(G, b, c, d, a, x[12], 0x8d2a4c8au, 20);
	/* round 3 */
	MD5_STEP(H, a, b, c, d, x[5], 0xfffa3942u, 4);
	MD5_STEP(H, d, a, b, c, x[8], 0x8771f681u, 11);
	MD5_STEP(H, c, d, a, b, x[11], 0x6d9d6122u, 16);
	MD5_STEP(H, b, c, d, a, x[14], 0xfde5380cu, 23);
	MD5_STEP(H, a, b, c, d, x[1], 0xa4beea44u, 4);
	MD5_STEP(H, d, a, b, c, x[4], 0x4bdecfa9u, 11);
	MD5_STEP(H, c, d, a, b, x[7], 0xf6bb4b60u, 16);
	MD5_STEP(H, b, c, d, a, x[10], 0xbebfbc70u, 23);
	MD5_STEP(H, a, b, c, d, x[13], 0x289b7ec6u, 4);
	MD5_STEP(H, d, a, b, c, x[0], 0xeaa127fau, 11);
	MD5_STEP(H, c, d, a, b, x[3], 0xd4ef3085u, 16);
	MD5_STEP(H, b, c, d, a, x[6], 0x04881d05u, 23);
	MD5_STEP(H, a, b, c, d, x[9], 0xd9d4d039u, 4);
	MD5_STEP(H, d, a, b, c, x[12], 0xe6db99e5u, 11);
	MD5_STEP(H, c, d, a, b, x[15], 0x1fa27cf8u, 16);
	MD5_STEP(H, b, c, d, a, x[2], 0xc4ac5665u, 23);
	/* round 4 */
	MD5_STEP(I, a, b, c, d, x[0], 0xf4292244u, 6);
	MD5_STEP(I, d, a, b, c, x[7], 0x432aff97u, 10);
	MD5_STEP(I, c, d, a, b, x[14], 0xab9423a7u, 15);
	MD5_STEP(I, b, c, d, a, x[5], 0xfc93a039u, 21);
	MD5_STEP(I, a, b, c, d, x[12], 0x655b59c3u, 6);
	MD5_STEP(I, d, a, b, c, x[3], 0x8f0ccc92u, 10);
	MD5_STEP(I, c, d, a, b, x[10], 0xffeff47du, 15);
	MD5_STEP(I, b, c, d, a, x[1], 0x85845dd1u, 21);
	MD5_STEP(I, a, b, c, d, x[8], 0x6fa87e4fu, 6);
	MD5_STEP(I, d, a, b, c, x[15], 0xfe2ce6e0u, 10);
	MD5_STEP(I, c, d, a, b, x[6], 0xa3014314u, 15);
	MD5_STEP(I, b, c, d, a, x[13], 0x4e0811a1u, 21);
	MD5_STEP(I, a, b, c, d, x[4], 0xf7537e82u, 6);
	MD5_STEP(I, d, a, b, c, x[11], 0xbd3af235u, 10);
	MD5_STEP(I, c, d, a, b, x[2], 0x2ad7d2bbu, 15);
	MD5_STEP(I, b, c, d, a, x[9], 0xeb86d391u, 21);

		h[0] += a;
		h[1] += b;
		h[2] += c;
		h[3] += d;
	}
}

int digest_md5_init(struct digest_md5 *d)
{
	d->h[0] = 0x67452301u;
	d->h[1] = 0xefcdab89u;
	d->h[2] = 0x98badcfeu;
	d->h[3] = 0x10325476u;
	d->bytes = 0;
	d->fill = 0;
	d->live = 1;
	return 0;
}

int digest_md5_update(struct digest_md5 *d, const void *p, size_t n)
{
	const unsigned char *s = p;

	if (!d->live)
		return -1;
	d->bytes += n;
	if (d->fill > 0) {
		size_t take = 64 - d->fill < n ? 64 - d->fill : n;

		memcpy(d->block + d->fill, s, take);
		d->fill += (unsigned)take;
		s += take;
		n -= take;
		if (d->fill < 64)
			return 0;
		md5_blocks(d->h, d->block, 1);
		d->fill = 0;
	}
	if (n >= 64) {
		md5_blocks(d->h, s, n / 64);
		s += n - n % 64;
		n %= 64;
	}
	memcpy(d->block, s, n);
	d->fill = (unsigned)n;
	return 0;
}

int digest_md5_final(struct digest_md5 *d, char hex[DIGEST_MD5_HEX_SIZE])
{
	unsigned char md[DIGEST_MD5_LEN];
	uint64_t bits;

	hex[0] = '\0';
	if (!d->live)
		return -1;
	/* Padding: a 1 bit, zeros up to 56 bytes into a block, then the
	 * message length in bits, little-endian. */
	bits = d->bytes << 3;
	d->block[d->fill++] = 0x80;
	if (d->fill > 56) {
		memset(d->block + d->fill, 0, 64 - d->fill);
		md5_blocks(d->h, d->block, 1);
		d->fill = 0;
	}
	memset(d->block + d->fill, 0, 56 - d->fill);
	for (int i = 0; i < 8; i++)
		d->block[56 + i] = (unsigned char)(bits >> (8 * i));
	md5_blocks(d->h, d->block, 1);
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 4; k++)
			md[4 * i + k] = (unsigned char)(d->h[i] >> (8 * k));
	digest_hex(md, DIGEST_MD5_LEN, hex);
	digest_md5_abort(d);
	return 0;
}

void digest_md5_abort(struct digest_md5 *d)
{
	d->live = 0;
}

int digest_md5_buffer(const void *p, size_t n, char hex[DIGEST_MD5_HEX_SIZE])
{
	struct digest_md5 d;

	if (digest_md5_init(&d) != 0)
		return -1;
	if (digest_md5_update(&d, p, n) != 0) {
		digest_md5_abort(&d);
		return -1;
	}
	return digest_md5_final(&d, hex);
}

int digest_md5_fd(int fd, char hex[DIGEST_MD5_HEX_SIZE], uint64_t *bytes)
{
	struct digest_md5 d;
	unsigned char *chunk = NULL;
	uint64_t total = 0;
	int saved;

	hex[0] = '\0';
	if (digest_md5_init(&d) != 0) {
		errno = ENOMEM;
		return -1;
	}
	chunk = mmap(NULL, DIGEST_READ_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (chunk == MAP_FAILED) {
		chunk = NULL;
		errno = ENOMEM;
		goto fail;
	}
	/* Only a hint: it doubles the kernel's read-ahead on most systems. */
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		ssize_t n = read(fd, chunk, DIGEST_READ_SIZE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		if (digest_md5_update(&d, chunk, (size_t)n) != 0) {
			errno = EIO;
			goto fail;
		}
		total += (uint64_t)n;
	}
	munmap(chunk, DIGEST_READ_SIZE);
	if (bytes != NULL)
		*bytes = total;
	if (digest_md5_final(&d, hex) != 0) {
		errno = EIO;
		return -1;
	}
	return 0;
fail:
	saved = errno;
	if (chunk != NULL)
		munmap(chunk, DIGEST_READ_SIZE);
	digest_md5_abort(&d);
	errno = saved;
	return -1;
}

int digest_md5_file(const char *path, char hex[DIGEST_MD5_HEX_SIZE], uint64_t *bytes)
{
	int fd, rc, saved;

	hex[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	rc = digest_md5_fd(fd, hex, bytes);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

void digest_hex(const unsigned char *bin, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bin[i] >> 4];
		out[2 * i + 1] = digits[bin[i] & 15];
	}
	out[2 * n] = '\0';
}

int digest_md5_hex_valid(const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; s[i]; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return i == 2 * DIGEST_MD5_LEN;
}

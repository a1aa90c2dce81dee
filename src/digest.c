/*
 * digest.c - streaming MD5 over OpenSSL EVP.
 *
 * Files are read in DIGEST_READ_SIZE pieces with a sequential-access hint,
 * which keeps the throughput close to md5sum's on big downloads.
 */
#include "digest.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int digest_md5_init(struct digest_md5 *d)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	d->ctx = NULL;
	if (ctx == NULL)
		return -1;
	if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return -1;
	}
	d->ctx = ctx;
	return 0;
}

int digest_md5_update(struct digest_md5 *d, const void *p, size_t n)
{
	if (d->ctx == NULL)
		return -1;
	if (n == 0)
		return 0;
	return EVP_DigestUpdate(d->ctx, p, n) == 1 ? 0 : -1;
}

int digest_md5_final(struct digest_md5 *d, char hex[DIGEST_MD5_HEX_SIZE])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	int rc = -1;

	hex[0] = '\0';
	if (d->ctx == NULL)
		return -1;
	if (EVP_DigestFinal_ex(d->ctx, md, &len) == 1 && len == DIGEST_MD5_LEN) {
		digest_hex(md, len, hex);
		rc = 0;
	}
	digest_md5_abort(d);
	return rc;
}

void digest_md5_abort(struct digest_md5 *d)
{
	if (d->ctx != NULL)
		EVP_MD_CTX_free(d->ctx);
	d->ctx = NULL;
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
	chunk = malloc(DIGEST_READ_SIZE);
	if (chunk == NULL) {
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
	free(chunk);
	if (bytes != NULL)
		*bytes = total;
	if (digest_md5_final(&d, hex) != 0) {
		errno = EIO;
		return -1;
	}
	return 0;
fail:
	saved = errno;
	free(chunk);
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

void digest_crypto_init(void)
{
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ADD_ALL_CIPHERS |
				    OPENSSL_INIT_NO_ADD_ALL_DIGESTS,
			    NULL);
}

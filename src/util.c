/*
 * util.c - checked number parsing, bounded strings, capped buffers and
 * atomic file replacement.
 */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL)
		return -1;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s)
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0' || v < min || v > max)
		return -1;
	*out = (int64_t)v;
	return 0;
}

int parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (s == NULL)
		return -1;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || !isfinite(v))
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	char tmp[16];
	size_t i;

	if (s == NULL || str_copy(tmp, s, sizeof(tmp)) >= sizeof(tmp))
		return -1;
	str_trim(tmp);
	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (str_ieq(tmp, yes[i])) {
			*out = true;
			return 0;
		}
		if (str_ieq(tmp, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

size_t str_copy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t k = n < size - 1 ? n : size - 1;
		memcpy(dst, src, k);
		dst[k] = '\0';
	}
	return n;
}

bool str_ieq(const char *a, const char *b)
{
	while (*a && *b) {
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
		a++;
		b++;
	}
	return *a == *b;
}

char *str_trim(char *s)
{
	size_t n = strlen(s);
	size_t start = 0;

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (isspace((unsigned char)s[start]))
		start++;
	if (start > 0)
		memmove(s, s + start, n - start + 1);
	return s;
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL) {
		fputs("ant-agent: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL) {
		fputs("ant-agent: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL) {
		fputs("ant-agent: out of memory\n", stderr);
		abort();
	}
	return q;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = xmalloc(n);

	memcpy(p, s, n);
	return p;
}

static uint64_t g_rng[4];
static int g_rng_ready;

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

int os_random(void *p, size_t n)
{
	unsigned char *q = p;

	while (n > 0) {
		ssize_t got = getrandom(q, n, 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		q += got;
		n -= (size_t)got;
	}
	return 0;
}

size_t str_base64(const void *in, size_t n, char *out, size_t outn)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = in;
	size_t o = 0;

	if (outn == 0)
		return 0;
	out[0] = '\0';
	if (n > (SIZE_MAX - 1) / 4 * 3 - 2 || 4 * ((n + 2) / 3) + 1 > outn)
		return 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		out[o++] = abc[v >> 18];
		out[o++] = abc[(v >> 12) & 63];
		out[o++] = i + 1 < n ? abc[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? abc[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

void rng_seed(uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		g_rng[i] = splitmix64(&seed);
	g_rng_ready = 1;
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_u64(void)
{
	uint64_t r, t;

	if (!g_rng_ready) {
		uint64_t seed = 0;
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

		if (fd < 0 || read(fd, &seed, sizeof(seed)) != (ssize_t)sizeof(seed))
			seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
		if (fd >= 0)
			close(fd);
		rng_seed(seed);
	}
	r = rotl(g_rng[1] * 5, 7) * 9;
	t = g_rng[1] << 17;
	g_rng[2] ^= g_rng[0];
	g_rng[3] ^= g_rng[1];
	g_rng[1] ^= g_rng[2];
	g_rng[0] ^= g_rng[3];
	g_rng[2] ^= t;
	g_rng[3] = rotl(g_rng[3], 45);
	return r;
}

uint64_t rng_below(uint64_t n)
{
	uint64_t limit, r;

	if (n == 0)
		return 0;
	/* Reject the top sliver so every value is equally likely. */
	limit = UINT64_MAX - UINT64_MAX % n;
	do {
		r = rng_u64();
	} while (r >= limit);
	return r % n;
}

void buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
	b->truncated = false;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	size_t room = b->cap - b->len;
	size_t take = n <= room ? n : room;
	size_t need;

	if (b->data == NULL || b->len + take + 1 > b->alloc) {
		need = b->alloc ? b->alloc : 256;
		while (need < b->len + take + 1)
			need *= 2;
		if (need > b->cap + 1)
			need = b->cap + 1;
		b->data = xrealloc(b->data, need);
		b->alloc = need;
	}
	memcpy(b->data + b->len, p, take);
	b->len += take;
	b->data[b->len] = '\0';
	if (take < n) {
		b->truncated = true;
		return -1;
	}
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return buf_append(b, small, (size_t)n);
	{
		char *big = xmalloc((size_t)n + 1);
		int rc;

		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		rc = buf_append(b, big, (size_t)n);
		free(big);
		return rc;
	}
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->truncated = false;
	if (b->data)
		b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b, b->cap);
}

int file_read_all(const char *path, size_t cap, struct buf *out)
{
	char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	buf_init(out, cap);
	buf_append(out, "", 0);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		if (buf_append(out, chunk, (size_t)n) != 0) {
			close(fd);
			buf_free(out);
			return -2;
		}
	}
	close(fd);
	return 0;
fail:
	{
		int saved = errno;
		close(fd);
		buf_free(out);
		errno = saved;
	}
	return -1;
}

bool source_is_url(const char *src)
{
	return strstr(src, "://") != NULL;
}

int source_read_path(const char *path, size_t cap, struct buf *out, char *err, size_t n)
{
	switch (file_read_all(path, cap, out)) {
	case 0:
		return 0;
	case -2:
		snprintf(err, n, "the file is larger than the %zu-byte limit", cap);
		return -1;
	default:
		snprintf(err, n, "%s", strerror(errno));
		return -1;
	}
}

int fd_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int file_replace_atomic(const char *path, int mode, bool sync, file_fill_fn fill, void *ud)
{
	char tmp[PATH_MAX];
	int fd = -1;
	int saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fchmod(fd, (mode_t)mode) != 0 || fill(fd, ud) != 0)
		goto fail;
	if (sync && fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}

struct mem_fill {
	const char *p;
	size_t len;
};

static int fill_from_memory(int fd, void *ud)
{
	struct mem_fill *m = ud;

	return fd_write_all(fd, m->p, m->len);
}

int file_write_atomic(const char *path, const void *data, size_t len, int mode)
{
	struct mem_fill m = { data, len };

	return file_replace_atomic(path, mode, true, fill_from_memory, &m);
}

int mkdir_parent(const char *path, int mode)
{
	char dir[PATH_MAX];
	char *slash;

	if (str_copy(dir, path, sizeof(dir)) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	return mkdir_p(dir, mode);
}

int mkdir_p(const char *path, int mode)
{
	char tmp[PATH_MAX];
	char *p;

	if (str_copy(tmp, path, sizeof(tmp)) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, (mode_t)mode) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, (mode_t)mode) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

int fd_cloexec_from(int lowfd)
{
	DIR *d;
	struct dirent *e;
	int64_t fd;

#ifdef CLOSE_RANGE_CLOEXEC
	if (close_range((unsigned)lowfd, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
#endif
	/* Kernels before 5.11: walk the open descriptors one by one. */
	d = opendir("/proc/self/fd");
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (parse_i64(e->d_name, lowfd, INT_MAX, &fd) != 0 || fd == dirfd(d))
			continue;
		fcntl((int)fd, F_SETFD, fcntl((int)fd, F_GETFD) | FD_CLOEXEC);
	}
	closedir(d);
	return 0;
}

int file_open_own(const char *path, int flags, int mode)
{
	struct stat st;
	int fd, saved;

	/* O_NONBLOCK: a FIFO planted in our place must not hang the open. */
	fd = open(path, flags | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK,
		  (mode_t)mode);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0)
		goto fail;
	/* A character device (/dev/null, /dev/full) is the operator's own
	 * choice: nobody without privilege can make one. */
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if (S_ISREG(st.st_mode) && st.st_uid != geteuid()) {
		errno = EPERM;
		goto fail;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* Query parameters whose value is a secret: any name holding one of these
 * (any case), e.g. token, access_token, api_key, password, X-Amz-Signature. */
static const char *const secret_param_words[] = {
	"token", "key", "secret", "pass", "pwd", "sig", "auth", "cred",
};

static bool url_end(char c)
{
	return c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' ||
	       c == '\'' || c == '<' || c == '>' || c == '`';
}

static bool param_is_secret(const char *name, size_t n)
{
	for (size_t w = 0; w < ARRAY_SIZE(secret_param_words); w++) {
		size_t wl = strlen(secret_param_words[w]);

		for (size_t i = 0; i + wl <= n; i++)
			if (strncasecmp(name + i, secret_param_words[w], wl) == 0)
				return true;
	}
	return false;
}

struct mask_out {
	char *p;
	size_t n, len;
};

static void mo_put(struct mask_out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++, o->len++)
		if (o->len + 1 < o->n)
			o->p[o->len] = s[i];
}

/* One URL starting at its "://": the authority's user information and the
 * values of secret query parameters become ****. Returns where it ended. */
static const char *mask_one_url(const char *u, struct mask_out *o)
{
	const char *auth = u + 3, *a = auth, *at = NULL, *colon = NULL;

	mo_put(o, u, 3);
	for (; !url_end(*a) && *a != '/' && *a != '?' && *a != '#'; a++)
		if (*a == '@')
			at = a;
	if (at != NULL) {
		colon = memchr(auth, ':', (size_t)(at - auth));
		if (colon != NULL)
			mo_put(o, auth, (size_t)(colon - auth) + 1); /* the user name stays */
		mo_put(o, "****", 4);
		auth = at;
	}
	mo_put(o, auth, (size_t)(a - auth));
	while (!url_end(*a) && *a != '?' && *a != '#')
		mo_put(o, a++, 1);
	if (*a != '?')
		return a;
	mo_put(o, a++, 1);
	while (!url_end(*a) && *a != '#') {
		const char *name = a, *eq = NULL;

		while (!url_end(*a) && *a != '&' && *a != ';' && *a != '#') {
			if (*a == '=' && eq == NULL)
				eq = a;
			a++;
		}
		if (eq != NULL && param_is_secret(name, (size_t)(eq - name))) {
			mo_put(o, name, (size_t)(eq - name) + 1);
			mo_put(o, "****", 4);
		} else {
			mo_put(o, name, (size_t)(a - name));
		}
		if (*a == '&' || *a == ';')
			mo_put(o, a++, 1);
	}
	return a;
}

size_t str_mask_urls(const char *in, char *out, size_t outn)
{
	struct mask_out o = { out, outn, 0 };
	const char *p = in;

	while (*p) {
		const char *u = strstr(p, "://");

		if (u == NULL) {
			mo_put(&o, p, strlen(p));
			break;
		}
		mo_put(&o, p, (size_t)(u - p));
		p = mask_one_url(u, &o);
	}
	if (outn > 0)
		out[o.len < outn ? o.len : outn - 1] = '\0';
	return o.len;
}

/* Length of the valid UTF-8 sequence at p (1..4) with its code point, or
 * 0 when p does not start one (stray continuation byte, overlong form,
 * surrogate, beyond U+10FFFF, cut short). */
static size_t utf8_seq(const unsigned char *p, uint32_t *cp)
{
	size_t n;
	uint32_t c, min;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	if (p[0] < 0xe0) {
		n = 2; c = p[0] & 0x1f; min = 0x80;
	} else if (p[0] < 0xf0) {
		n = 3; c = p[0] & 0x0f; min = 0x800;
	} else {
		n = 4; c = p[0] & 0x07; min = 0x10000;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Is the character at r (len bytes once decided) text to keep? */
static bool clean_is_text(const unsigned char *r, size_t *len, unsigned flags)
{
	uint32_t cp;

	*len = 1;
	if (*r < 0x80) {
		if (flags & STR_CLEAN_ONE_LINE)
			return *r > 0x20 && *r != 0x7f;
		return (*r >= 0x20 && *r != 0x7f) || *r == '\t' ||
		       (*r == '\n' && (flags & STR_CLEAN_NEWLINES));
	}
	*len = utf8_seq(r, &cp);
	if (*len == 0) {
		/* A raw 8-bit C1 control or any byte that is not UTF-8. */
		*len = 1;
		return false;
	}
	/* A C1 control written in UTF-8: some terminals act on it. */
	return cp < 0x80 || cp > 0x9f;
}

bool str_clean(const char *in, char *out, size_t n, unsigned flags)
{
	const unsigned char *r = (const unsigned char *)in;
	bool one_line = (flags & STR_CLEAN_ONE_LINE) != 0, space = false;
	size_t k = 0;

	if (n == 0)
		return *in != '\0';
	while (*r) {
		size_t len;
		bool text = clean_is_text(r, &len, flags);

		if (!text && one_line) {
			space = k > 0;
			r += len;
			continue;
		}
		if (k + (space ? 1 : 0) + (text ? len : 1) > n - 1) {
			out[k] = '\0';
			return true; /* a whole character fits or none of it */
		}
		if (space)
			out[k++] = ' ';
		space = false;
		if (text)
			memmove(out + k, r, len);
		else
			out[k] = '?';
		k += text ? len : 1;
		r += len;
	}
	out[k] = '\0';
	return false;
}

char *str_sanitize_terminal(char *s, bool keep_newline)
{
	str_clean(s, s, strlen(s) + 1, keep_newline ? STR_CLEAN_NEWLINES : 0);
	return s;
}

/*
 * lineproto.c - writing and reading InfluxDB line protocol. Pure code: no
 * I/O, no clock. The rules are listed in lineproto.h.
 */
#include "lineproto.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Escaped text is gathered in a small stack chunk and appended in one go:
 * buf_append per byte would dominate the time of a large flush. */
#define LP_CHUNK 256

/* buf_append with the common case inline: room already there. A flush of
 * a million lines makes some thirty appends per line. */
static inline int app(struct buf *b, const void *p, size_t n)
{
	if (b->data && b->len + n < b->alloc) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
		b->data[b->len] = '\0';
		return 0;
	}
	return buf_append(b, p, n);
}

struct chunk {
	char d[LP_CHUNK];
	size_t n;
	struct buf *b;
	int total;
	int err;
};

static void chunk_put(struct chunk *c, const char *p, size_t n)
{
	if (c->n + n > sizeof(c->d)) {
		if (app(c->b, c->d, c->n) != 0)
			c->err = 1;
		c->n = 0;
	}
	memcpy(c->d + c->n, p, n);
	c->n += n;
	c->total += (int)n;
}

/* Length of a valid UTF-8 sequence at s (s[0] >= 0x80), or 0. The checks
 * follow RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n, i;
	unsigned char lo = 0x80, hi = 0xBF;

	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return n;
}

/* Bytes that need a look in any position: controls, space, non-ASCII,
 * and , = " \\. One table load per byte keeps the common case fast. */
static const unsigned char special[256] = {
	[0 ... 0x20] = 1, [','] = 1, ['='] = 1, ['"'] = 1, ['\\'] = 1, [0x7f ... 0xff] = 1,
};

static bool is_name(enum lp_kind kind)
{
	return kind == LP_MEASUREMENT || kind == LP_TAG_KEY || kind == LP_FIELD_KEY;
}

int lp_escape(struct buf *b, const char *s, enum lp_kind kind)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	struct chunk c; /* not zeroed: d is written before it is read */
	size_t n;

	if (is_name(kind))
		while (*p == '_')
			p++;
	/* Fast path: most text (our own keys, tag values) needs no change. */
	for (n = 0; p[n] && !special[p[n]]; n++)
		;
	if (p[n] == '\0') {
		if (n > 0 && app(b, p, n) != 0)
			return -1;
		return (int)n;
	}
	c.n = 0;
	c.b = b;
	c.total = 0;
	c.err = 0;
	while (*p) {
		unsigned char ch = *p;
		char esc[2] = { '\\', 0 };

		if (ch >= 0x80) {
			n = utf8_seq(p);
			if (n == 0) {
				chunk_put(&c, "?", 1);
				p++;
			} else {
				chunk_put(&c, (const char *)p, n);
				p += n;
			}
			continue;
		}
		if (ch < 0x20 || ch == 0x7f)
			ch = ' ';
		p++;
		if (kind == LP_STRING) {
			if (ch == '"' || ch == '\\') {
				esc[1] = (char)ch;
				chunk_put(&c, esc, 2);
				continue;
			}
		} else if (ch == '\\') {
			ch = '/';
		} else if (ch == ',' || ch == ' ' || (ch == '=' && kind != LP_MEASUREMENT)) {
			esc[1] = (char)ch;
			chunk_put(&c, esc, 2);
			continue;
		}
		chunk_put(&c, (const char *)&ch, 1);
	}
	if (c.n > 0 && app(b, c.d, c.n) != 0)
		c.err = 1;
	return c.err ? -1 : c.total;
}

void lp_begin(struct lp_line *l, struct buf *b, const char *measurement)
{
	l->b = b;
	l->start = b->len;
	l->nfields = 0;
	l->bad = false;
	if (lp_escape(b, measurement, LP_MEASUREMENT) <= 0)
		l->bad = true;
}

void lp_tag(struct lp_line *l, const char *key, const char *value)
{
	size_t mark = l->b->len;
	int r;

	if (l->bad || value == NULL || value[0] == '\0')
		return;
	if (l->nfields > 0) {
		l->bad = true; /* a tag after a field is a bug in the caller */
		return;
	}
	if (app(l->b, ",", 1) != 0 || lp_escape(l->b, key, LP_TAG_KEY) <= 0 ||
	    app(l->b, "=", 1) != 0) {
		l->bad = true;
		return;
	}
	r = lp_escape(l->b, value, LP_TAG_VALUE);
	if (r < 0)
		l->bad = true;
	else if (r == 0) /* nothing printable left: leave the tag out */
		l->b->len = mark;
	if (l->b->data)
		l->b->data[l->b->len] = '\0';
}

void lp_raw_tags(struct lp_line *l, const char *escaped, size_t n)
{
	if (l->bad)
		return;
	if (l->nfields > 0 || app(l->b, escaped, n) != 0)
		l->bad = true;
}

/* Separator and escaped key of the next field. Keys are nearly always
 * plain words: those go in with one copy. */
static int field_key(struct lp_line *l, const char *key)
{
	const unsigned char *k = (const unsigned char *)key;
	char tmp[66];
	size_t n = 0;

	if (l->bad)
		return -1;
	if (k[0] != '_') {
		while (n < 64 && k[n] && !special[k[n]])
			n++;
		if (n > 0 && k[n] == '\0') {
			tmp[0] = l->nfields ? ',' : ' ';
			memcpy(tmp + 1, key, n);
			tmp[n + 1] = '=';
			if (app(l->b, tmp, n + 2) != 0) {
				l->bad = true;
				return -1;
			}
			l->nfields++;
			return 0;
		}
	}
	if (app(l->b, l->nfields ? "," : " ", 1) != 0 ||
	    lp_escape(l->b, key, LP_FIELD_KEY) <= 0 || app(l->b, "=", 1) != 0) {
		l->bad = true;
		return -1;
	}
	l->nfields++;
	return 0;
}

/* "00" .. "99": two digits per division. */
static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Decimal digits of v, right-aligned before end; returns the start. */
static char *fmt_u64(char *end, uint64_t v)
{
	char *p = end;

	while (v >= 100) {
		unsigned d = (unsigned)(v % 100) * 2;

		v /= 100;
		p -= 2;
		p[0] = digit_pairs[d];
		p[1] = digit_pairs[d + 1];
	}
	if (v >= 10) {
		p -= 2;
		p[0] = digit_pairs[v * 2];
		p[1] = digit_pairs[v * 2 + 1];
	} else {
		*--p = (char)('0' + v);
	}
	return p;
}

/* Digits of mag (with a '-' when neg) and the suffix, at out; returns the
 * end. out needs LP_NUM_MAX bytes. */
static char *put_num(char *out, bool neg, uint64_t mag, char suffix)
{
	char tmp[24];
	char *end = tmp + sizeof(tmp);
	char *p = fmt_u64(end, mag);
	size_t n = (size_t)(end - p);

	if (neg)
		*out++ = '-';
	memcpy(out, p, n);
	out[n] = suffix;
	return out + n + 1;
}

char *lp_put_int(char *out, int64_t v)
{
	return put_num(out, v < 0, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, 'i');
}

char *lp_put_uint(char *out, uint64_t v)
{
	return put_num(out, false, v > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : v, 'i');
}

char *lp_put_ts(char *out, int64_t ts_ns)
{
	*out++ = ' ';
	return put_num(out, ts_ns < 0, ts_ns < 0 ? (uint64_t)0 - (uint64_t)ts_ns : (uint64_t)ts_ns, '\n');
}

static void put_int(struct lp_line *l, bool neg, uint64_t mag, char suffix)
{
	char tmp[LP_NUM_MAX];
	char *end = put_num(tmp, neg, mag, suffix);

	if (app(l->b, tmp, (size_t)(end - tmp)) != 0)
		l->bad = true;
}

void lp_field_int(struct lp_line *l, const char *key, int64_t v)
{
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	if (field_key(l, key) == 0)
		put_int(l, v < 0, mag, 'i');
}

void lp_field_uint(struct lp_line *l, const char *key, uint64_t v)
{
	/* Written as a signed integer: InfluxDB 1.x only accepts the 'u'
	 * suffix behind a feature flag. Values past INT64_MAX are capped. */
	if (v > (uint64_t)INT64_MAX)
		v = (uint64_t)INT64_MAX;
	if (field_key(l, key) == 0)
		put_int(l, false, v, 'i');
}

/* Exact decimal with at most 6 decimals, without printf: when v is the
 * double nearest to m / 10^6 (the division below is correctly rounded),
 * "%.15g" would print exactly those digits too, so the output is the
 * same, only much faster. */
static size_t fast_float(char *out, size_t n, double v)
{
	double a = fabs(v);
	char digits[24];
	char *end = digits + sizeof(digits), *p;
	int64_t m;
	size_t k = 0, len;
	int frac;

	if (!(a >= 1e-4 && a < 1e9) || n < 24)
		return 0;
	/* a * 1e6 < 2^53: adding a half and truncating rounds it. Only the
	 * integer m with m / 10^6 == a is printed, and there is at most one
	 * (near 1e9 doubles are closer together than 10^-6), so how m was
	 * rounded cannot change the output, only whether it is found. */
	m = (int64_t)(a * 1e6 + 0.5);
	if ((double)m / 1e6 != a)
		return 0;
	if (v < 0)
		out[k++] = '-';
	frac = (int)(m % 1000000);
	p = fmt_u64(end, (uint64_t)(m / 1000000));
	len = (size_t)(end - p);
	memcpy(out + k, p, len);
	k += len;
	out[k++] = '.';
	if (frac == 0) {
		out[k++] = '0';
	} else {
		char f[6];
		int last = 5;

		for (int i = 4; i >= 0; i -= 2, frac /= 100) {
			f[i] = digit_pairs[frac % 100 * 2];
			f[i + 1] = digit_pairs[frac % 100 * 2 + 1];
		}
		while (last > 0 && f[last] == '0')
			last--;
		memcpy(out + k, f, (size_t)last + 1);
		k += (size_t)last + 1;
	}
	out[k] = '\0';
	return k;
}

size_t lp_format_float(char *out, size_t n, double v)
{
	size_t fast;
	int len;

	if (v == 0.0) { /* also turns -0 into 0 */
		str_copy(out, "0.0", n);
		return 3;
	}
	fast = fast_float(out, n, v);
	if (fast)
		return fast;
	/* 15 significant digits print any decimal input back as written (0.1
	 * stays "0.1") while keeping everything a measurement can carry. */
	len = snprintf(out, n, "%.15g", v);
	if (len < 0 || (size_t)len >= n)
		return 0;
	if (strpbrk(out, ".e") == NULL && (size_t)len + 2 < n) {
		memcpy(out + len, ".0", 3);
		len += 2;
	}
	return (size_t)len;
}

void lp_field_float(struct lp_line *l, const char *key, double v)
{
	char tmp[40];
	size_t n;

	if (!isfinite(v) || l->bad)
		return;
	n = lp_format_float(tmp, sizeof(tmp), v);
	if (n == 0 || field_key(l, key) != 0)
		return;
	if (app(l->b, tmp, n) != 0)
		l->bad = true;
}

void lp_field_str(struct lp_line *l, const char *key, const char *v)
{
	if (field_key(l, key) != 0)
		return;
	if (app(l->b, "\"", 1) != 0 || lp_escape(l->b, v, LP_STRING) < 0 ||
	    app(l->b, "\"", 1) != 0)
		l->bad = true;
}

int lp_end(struct lp_line *l, int64_t ts_ns)
{
	if (!l->bad && l->nfields > 0 && app(l->b, " ", 1) == 0) {
		put_int(l, ts_ns < 0, ts_ns < 0 ? (uint64_t)0 - (uint64_t)ts_ns : (uint64_t)ts_ns, '\n');
		if (!l->bad)
			return 0;
	}
	/* Roll back: a buffer never holds part of a line. */
	l->b->len = l->start;
	if (l->b->data)
		l->b->data[l->b->len] = '\0';
	return -1;
}

/* --- Reading --- */

struct rd {
	const char *s;
	size_t i, len;
	char *out;      /* next free byte of the point's store */
	char *out_end;
};

/* Copy one token into the store, unescaping, up to an unescaped stop
 * byte. Returns the NUL-terminated copy or NULL when the store is full. */
static const char *rd_token(struct rd *r, const char *stops, const char *escapable)
{
	char *start = r->out;

	while (r->i < r->len && strchr(stops, r->s[r->i]) == NULL) {
		char ch = r->s[r->i];

		if (ch == '\\' && r->i + 1 < r->len && strchr(escapable, r->s[r->i + 1])) {
			ch = r->s[r->i + 1];
			r->i++;
		}
		r->i++;
		if (r->out + 1 >= r->out_end)
			return NULL;
		*r->out++ = ch;
	}
	if (r->out >= r->out_end)
		return NULL;
	*r->out++ = '\0';
	return start;
}

static int set_err(char *err, size_t n, const char *msg)
{
	if (err && n)
		str_copy(err, msg, n);
	return -1;
}

static int parse_value(const char *v, struct lp_kv *kv)
{
	size_t n = strlen(v);
	char tmp[64];
	char *end;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	if (strcmp(v, "t") == 0 || strcmp(v, "T") == 0 || str_ieq(v, "true") ||
	    strcmp(v, "f") == 0 || strcmp(v, "F") == 0 || str_ieq(v, "false")) {
		kv->type = LP_F_BOOL;
		kv->i = (v[0] == 't' || v[0] == 'T');
		kv->f = (double)kv->i;
		return 0;
	}
	if (v[n - 1] == 'i' || v[n - 1] == 'u') {
		memcpy(tmp, v, n - 1);
		tmp[n - 1] = '\0';
		if (parse_i64(tmp, v[n - 1] == 'u' ? 0 : INT64_MIN, INT64_MAX, &kv->i) != 0)
			return -1;
		kv->type = v[n - 1] == 'u' ? LP_F_UINT : LP_F_INT;
		kv->f = (double)kv->i;
		return 0;
	}
	errno = 0;
	kv->f = strtod(v, &end);
	if (errno || end == v || *end != '\0' || !isfinite(kv->f))
		return -1;
	kv->type = LP_F_FLOAT;
	/* Converting a double outside int64's range is undefined behaviour
	 * (and a summary's sum or mean can be that large): saturate the
	 * integer view instead. */
	if (kv->f >= 9223372036854775808.0)
		kv->i = INT64_MAX;
	else if (kv->f < -9223372036854775808.0)
		kv->i = INT64_MIN;
	else
		kv->i = (int64_t)kv->f;
	return 0;
}

static int rd_fields(struct rd *r, struct lp_point *p, char *err, size_t errlen)
{
	for (;;) {
		struct lp_kv *kv;
		const char *val;

		if (p->nfields >= LP_PARSE_MAX_FIELDS)
			return set_err(err, errlen, "too many fields");
		kv = &p->fields[p->nfields];
		memset(kv, 0, sizeof(*kv));
		kv->key = rd_token(r, "= ,", ",= \\");
		if (!kv->key || kv->key[0] == '\0' || r->i >= r->len || r->s[r->i] != '=')
			return set_err(err, errlen, "field without '='");
		r->i++;
		if (r->i < r->len && r->s[r->i] == '"') {
			r->i++;
			val = rd_token(r, "\"", "\"\\");
			if (!val || r->i >= r->len)
				return set_err(err, errlen, "unterminated string");
			r->i++;
			kv->type = LP_F_STRING;
			kv->str = val;
		} else {
			val = rd_token(r, ", ", "");
			if (!val || parse_value(val, kv) != 0)
				return set_err(err, errlen, "bad field value");
		}
		p->nfields++;
		if (r->i >= r->len || r->s[r->i] == ' ')
			return 0;
		r->i++; /* ',' */
	}
}

int lp_parse(const char *line, size_t len, struct lp_point *p, char *err, size_t errlen)
{
	struct rd r = { line, 0, len, p->store, p->store + sizeof(p->store) };
	const char *ts;

	p->ntags = p->nfields = 0;
	p->has_ts = false;
	p->ts = 0;
	if (len > LP_PARSE_MAX_LINE)
		return set_err(err, errlen, "line too long");
	p->measurement = rd_token(&r, ", ", ", \\");
	if (!p->measurement || p->measurement[0] == '\0')
		return set_err(err, errlen, "no measurement");
	while (r.i < r.len && line[r.i] == ',') {
		struct lp_kv *kv;

		if (p->ntags >= LP_PARSE_MAX_TAGS)
			return set_err(err, errlen, "too many tags");
		r.i++;
		kv = &p->tags[p->ntags];
		memset(kv, 0, sizeof(*kv));
		kv->key = rd_token(&r, "=, ", ",= \\");
		if (!kv->key || kv->key[0] == '\0' || r.i >= r.len || line[r.i] != '=')
			return set_err(err, errlen, "tag without '='");
		r.i++;
		kv->str = rd_token(&r, ", ", ",= \\");
		if (!kv->str || kv->str[0] == '\0')
			return set_err(err, errlen, "empty tag value");
		p->ntags++;
	}
	if (r.i >= r.len || line[r.i] != ' ')
		return set_err(err, errlen, "no fields");
	r.i++;
	if (rd_fields(&r, p, err, errlen) != 0)
		return -1;
	if (r.i < r.len) {
		r.i++;
		ts = rd_token(&r, " ", "");
		if (!ts || parse_i64(ts, INT64_MIN, INT64_MAX, &p->ts) != 0 || r.i != r.len)
			return set_err(err, errlen, "bad timestamp");
		p->has_ts = true;
	}
	return 0;
}

static const struct lp_kv *find_kv(const struct lp_kv *kv, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return &kv[i];
	return NULL;
}

const struct lp_kv *lp_point_tag(const struct lp_point *p, const char *key)
{
	return find_kv(p->tags, p->ntags, key);
}

const struct lp_kv *lp_point_field(const struct lp_point *p, const char *key)
{
	return find_kv(p->fields, p->nfields, key);
}

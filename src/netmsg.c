/*
 * netmsg.c - encoding and checking the agent <-> network helper messages
 * (the layout is in netmsg.h). Both sides check every length against what
 * is left of the frame and against its cap before they look at the bytes.
 */
#include "netmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rd {
	const unsigned char *p;
	size_t n, at;
	bool bad;
};

static void put_bytes(struct buf *b, const void *p, size_t n)
{
	buf_append(b, p, n);
}

static void put_u32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
			       (unsigned char)(v >> 24) };
	put_bytes(b, x, 4);
}

static void put_u64(struct buf *b, uint64_t v)
{
	put_u32(b, (uint32_t)v);
	put_u32(b, (uint32_t)(v >> 32));
}

static void put_u8(struct buf *b, uint8_t v)
{
	put_bytes(b, &v, 1);
}

static void put_blob(struct buf *b, const void *p, size_t n)
{
	put_u32(b, (uint32_t)n);
	if (n)
		put_bytes(b, p, n);
}

static void put_str(struct buf *b, const char *s)
{
	put_blob(b, s ? s : "", s ? strlen(s) : 0);
}

static uint32_t get_u32(struct rd *r)
{
	const unsigned char *q;

	if (r->bad || r->n - r->at < 4) {
		r->bad = true;
		return 0;
	}
	q = r->p + r->at;
	r->at += 4;
	return (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
}

static uint64_t get_u64(struct rd *r)
{
	uint64_t lo = get_u32(r);

	return lo | (uint64_t)get_u32(r) << 32;
}

static uint8_t get_u8(struct rd *r)
{
	if (r->bad || r->n - r->at < 1) {
		r->bad = true;
		return 0;
	}
	return r->p[r->at++];
}

/* A length-prefixed field of at most max bytes; *len is its length. */
static const unsigned char *get_blob(struct rd *r, size_t max, size_t *len)
{
	uint32_t n = get_u32(r);
	const unsigned char *q;

	if (r->bad || n > max || r->n - r->at < n) {
		r->bad = true;
		*len = 0;
		return NULL;
	}
	q = r->p + r->at;
	r->at += n;
	*len = n;
	return q;
}

static bool text_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* A str field copied NUL-terminated to *at (advanced); NULL when empty
 * and empty_null. */
static const char *get_str(struct rd *r, size_t max, char **at, bool empty_null)
{
	size_t n;
	const unsigned char *s = get_blob(r, max, &n);
	char *out = *at;

	if (r->bad || !text_ok(s, n)) {
		r->bad = true;
		return NULL;
	}
	if (n == 0 && empty_null)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\0';
	*at += n + 1;
	return out;
}

/* Write the 32-bit length of the frame that starts at start. */
static void put_frame_len(struct buf *out, size_t start)
{
	uint32_t len = (uint32_t)(out->len - start - NETMSG_LEN_BYTES);
	unsigned char *q = (unsigned char *)out->data + start;

	q[0] = (unsigned char)len;
	q[1] = (unsigned char)(len >> 8);
	q[2] = (unsigned char)(len >> 16);
	q[3] = (unsigned char)(len >> 24);
}

int netmsg_put_piece(struct buf *out, uint32_t id, const void *p, size_t n)
{
	size_t start = out->len;

	if (n == 0 || n > NETMSG_MAX_PIECE)
		return -1;
	put_u32(out, 0);
	put_u8(out, NETMSG_PIECE);
	put_u32(out, id);
	put_blob(out, p, n);
	if (out->truncated)
		return -1;
	put_frame_len(out, start);
	return 0;
}

int netmsg_put_cancel(struct buf *out, uint32_t id)
{
	size_t start = out->len;

	put_u32(out, 0);
	put_u8(out, NETMSG_CANCEL);
	put_u32(out, id);
	if (out->truncated)
		return -1;
	put_frame_len(out, start);
	return 0;
}

int netmsg_get_piece(const unsigned char *p, size_t n, uint32_t *id, const unsigned char **data,
		     size_t *len)
{
	struct rd r = { p, n, 0, false };

	if (get_u8(&r) != NETMSG_PIECE)
		return -1;
	*id = get_u32(&r);
	*data = get_blob(&r, NETMSG_MAX_PIECE, len);
	return r.bad || r.at != n || *len == 0 ? -1 : 0;
}

int netmsg_get_cancel(const unsigned char *p, size_t n, uint32_t *id)
{
	struct rd r = { p, n, 0, false };

	if (get_u8(&r) != NETMSG_CANCEL)
		return -1;
	*id = get_u32(&r);
	return r.bad || r.at != n ? -1 : 0;
}

uint32_t netmsg_frame_len(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool str_fits(const char *s)
{
	return s == NULL || strlen(s) <= NETMSG_MAX_STR;
}

/* The largest cap a request may name: a kept body is held in memory. */
static uint64_t cap_limit(bool stream)
{
	return stream ? NETMSG_MAX_STREAM_CAP : NETMSG_MAX_BODY_CAP;
}

int netmsg_put_request(struct buf *out, uint32_t id, const struct fetch_request *req)
{
	size_t start = out->len, nh = 0;

	if (req->url == NULL || req->cap == 0 || (uint64_t)req->cap > cap_limit(req->on_body != NULL) ||
	    req->body_len > NETMSG_MAX_REQ_BODY || !str_fits(req->url) || !str_fits(req->method) ||
	    !str_fits(req->etag) || !str_fits(req->ca_file))
		return -1;
	for (const char *const *h = req->headers; h && *h; h++, nh++)
		if (nh >= NETMSG_MAX_HEADERS || !str_fits(*h))
			return -1;
	put_u32(out, 0); /* the length, filled in below */
	put_u8(out, NETMSG_REQUEST);
	put_u32(out, id);
	put_u64(out, req->cap);
	put_u32(out, (uint32_t)req->timeout_ms);
	put_u32(out, (uint32_t)req->connect_timeout_ms);
	put_u8(out, (uint8_t)((req->allow_file ? NETMSG_FLAG_FILE : 0) |
			      (req->on_body ? NETMSG_FLAG_STREAM : 0)));
	put_str(out, req->url);
	put_str(out, req->method);
	put_str(out, req->etag);
	put_str(out, req->ca_file);
	put_u32(out, (uint32_t)nh);
	for (const char *const *h = req->headers; h && *h; h++)
		put_str(out, *h);
	put_blob(out, req->body, req->body ? req->body_len : 0);
	if (out->truncated)
		return -1;
	put_frame_len(out, start);
	return 0;
}

int netmsg_get_request(const unsigned char *p, size_t n, struct netmsg_request *out,
		       char **store)
{
	struct rd r = { p, n, 0, false };
	char *at;
	uint32_t nh;
	size_t blen;
	const unsigned char *body;
	uint8_t flags;
	uint64_t cap;

	memset(out, 0, sizeof(*out));
	*store = NULL;
	if (n > NETMSG_MAX_REQUEST || get_u8(&r) != NETMSG_REQUEST)
		return -1;
	/* Every string and the body fit in n bytes plus their NULs. */
	*store = xmalloc(n + NETMSG_MAX_HEADERS + 8);
	at = *store;
	out->id = get_u32(&r);
	cap = get_u64(&r);
	out->req.timeout_ms = (int)get_u32(&r);
	out->req.connect_timeout_ms = (int)get_u32(&r);
	flags = get_u8(&r);
	out->req.allow_file = (flags & NETMSG_FLAG_FILE) != 0;
	out->stream = (flags & NETMSG_FLAG_STREAM) != 0;
	if (cap == 0 || cap > cap_limit(out->stream))
		r.bad = true;
	out->req.cap = (size_t)cap;
	out->req.url = get_str(&r, NETMSG_MAX_STR, &at, false);
	out->req.method = get_str(&r, NETMSG_MAX_STR, &at, true);
	out->req.etag = get_str(&r, NETMSG_MAX_STR, &at, true);
	out->req.ca_file = get_str(&r, NETMSG_MAX_STR, &at, true);
	nh = get_u32(&r);
	if (nh > NETMSG_MAX_HEADERS)
		r.bad = true;
	for (uint32_t i = 0; i < nh && !r.bad; i++)
		out->headers[i] = get_str(&r, NETMSG_MAX_STR, &at, false);
	out->req.headers = nh ? out->headers : NULL;
	body = get_blob(&r, NETMSG_MAX_REQ_BODY, &blen);
	if (r.bad || r.at != n || out->req.timeout_ms < 0 || out->req.connect_timeout_ms < 0) {
		free(*store);
		*store = NULL;
		return -1;
	}
	if (blen) {
		memcpy(at, body, blen);
		out->req.body = at;
		out->req.body_len = blen;
	}
	return 0;
}

int netmsg_put_answer(struct buf *out, uint32_t id, const struct fetch_response *res)
{
	size_t start = out->len;
	size_t blen = res->too_large ? 0 : res->body.len;
	uint32_t len;
	unsigned char *q;

	put_u32(out, 0);
	put_u8(out, NETMSG_ANSWER);
	put_u32(out, id);
	put_u32(out, (uint32_t)(int32_t)res->status);
	put_u32(out, (uint32_t)res->curl_code);
	put_u8(out, res->too_large ? 1 : 0);
	put_u64(out, (uint64_t)res->retry_after_s);
	put_u64(out, (uint64_t)res->ratelimit_remaining);
	put_u64(out, (uint64_t)res->ratelimit_reset);
	put_u64(out, res->body_bytes);
	put_str(out, res->etag);
	put_str(out, res->error);
	put_blob(out, res->body.data, blen);
	if (out->truncated)
		return -1;
	len = (uint32_t)(out->len - start - NETMSG_LEN_BYTES);
	q = (unsigned char *)out->data + start;
	q[0] = (unsigned char)len;
	q[1] = (unsigned char)(len >> 8);
	q[2] = (unsigned char)(len >> 16);
	q[3] = (unsigned char)(len >> 24);
	return 0;
}

int netmsg_answer_id(const unsigned char *p, size_t n, uint32_t *id)
{
	struct rd r = { p, n, 0, false };

	if (get_u8(&r) != NETMSG_ANSWER)
		return -1;
	*id = get_u32(&r);
	return r.bad ? -1 : 0;
}

int netmsg_get_answer(const unsigned char *p, size_t n, size_t cap, struct fetch_response *res)
{
	struct rd r = { p, n, 0, false };
	const unsigned char *s, *body;
	size_t len, blen;
	int32_t status;
	uint8_t flags;

	get_u8(&r);
	get_u32(&r);
	status = (int32_t)get_u32(&r);
	res->curl_code = (int)(int32_t)get_u32(&r);
	flags = get_u8(&r);
	res->retry_after_s = (int64_t)get_u64(&r);
	res->ratelimit_remaining = (int64_t)get_u64(&r);
	res->ratelimit_reset = (int64_t)get_u64(&r);
	res->body_bytes = get_u64(&r);
	s = get_blob(&r, sizeof(res->etag) - 1, &len);
	if (!r.bad && text_ok(s, len)) {
		memcpy(res->etag, s, len);
		res->etag[len] = '\0';
	} else {
		r.bad = true;
	}
	s = get_blob(&r, sizeof(res->error) - 1, &len);
	if (!r.bad) {
		/* Error text goes to a log line: anything unprintable becomes '?'. */
		for (size_t i = 0; i < len; i++)
			res->error[i] = (s[i] < 0x20 || s[i] == 0x7f) ? '?' : (char)s[i];
		res->error[len] = '\0';
	}
	body = get_blob(&r, cap, &blen);
	if (r.bad || r.at != n || status < 0 || status > 999 || res->curl_code < 0 ||
	    res->retry_after_s < -1 || res->ratelimit_remaining < -1 || res->ratelimit_reset < -1 ||
	    ((flags & 1) && blen != 0) || res->body_bytes > cap ||
	    (!(flags & 1) && res->body_bytes < blen)) {
		str_copy(res->error, "the network helper sent a malformed answer", sizeof(res->error));
		res->status = 0;
		res->ok = res->not_modified = res->too_large = false;
		res->etag[0] = '\0';
		res->retry_after_s = res->ratelimit_remaining = res->ratelimit_reset = -1;
		res->body_bytes = 0;
		return -1;
	}
	res->status = status;
	res->too_large = (flags & 1) != 0;
	res->not_modified = res->curl_code == 0 && status == 304;
	res->ok = res->curl_code == 0 && !res->too_large &&
		  ((status >= 200 && status < 300) || res->not_modified);
	buf_reset(&res->body);
	if (blen)
		buf_append(&res->body, body, blen);
	return 0;
}

/*
 * fuzz_netmsg - what the agent reads from its network helper: a byte
 * stream of frames (netmsg.h) cut and checked as fetch.c does (length
 * against the largest frame the requests in flight allow, then
 * netmsg_answer_id / netmsg_get_answer with the request's cap, or
 * netmsg_get_piece), and the helper's own decoder of requests.
 *
 * The first byte picks what the rest is: bit 7 set, one request payload
 * for netmsg_get_request; otherwise bits 0-1 give the number of requests
 * in flight (1-4, ids 1..n) and bits 2-6 their caps and which of them
 * stream. Properties besides memory safety: an accepted answer has a
 * status of 0-999, ok and not_modified that follow from status and
 * transfer code, a body within its cap and its count, an ETag and error
 * text without control bytes, and encodes back to an answer that decodes
 * the same; a refused one is not ok and says why; an accepted piece is
 * 1..NETMSG_MAX_PIECE bytes inside its frame; an accepted request is
 * within every cap and encodes back to the same bytes.
 */
#include "fuzz.h"
#include "netmsg.h"

#include <stdbool.h>

#define FUZZ_CAP (256 * 1024)
#define FUZZ_PENDING 4

static const size_t caps[] = { 16, 300, 4096, 70000 };

static bool clean(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static void check_answer(const unsigned char *q, size_t n, size_t cap)
{
	struct fetch_response res, again;
	struct buf enc;
	int rc;

	memset(&res, 0, sizeof(res));
	buf_init(&res.body, cap);
	res.retry_after_s = res.ratelimit_remaining = res.ratelimit_reset = -1;
	rc = netmsg_get_answer(q, n, cap, &res);
	if (rc != 0) {
		if (res.ok || res.status != 0 || res.error[0] == '\0' || res.body.len != 0)
			abort();
		buf_free(&res.body);
		return;
	}
	if (res.status < 0 || res.status > 999 || res.body.len > cap || !clean(res.etag) ||
	    !clean(res.error) || (res.too_large && res.body.len != 0) ||
	    (!res.too_large && res.body_bytes < res.body.len) || res.body_bytes > cap)
		abort();
	if (res.not_modified != (res.curl_code == 0 && res.status == 304))
		abort();
	if (res.ok != (res.curl_code == 0 && !res.too_large &&
		       ((res.status >= 200 && res.status < 300) || res.status == 304)))
		abort();
	/* What was accepted says the same when sent again. */
	buf_init(&enc, cap + NETMSG_ANSWER_FIXED + NETMSG_LEN_BYTES);
	if (netmsg_put_answer(&enc, 7, &res) != 0 ||
	    netmsg_frame_len((unsigned char *)enc.data) != enc.len - NETMSG_LEN_BYTES)
		abort();
	memset(&again, 0, sizeof(again));
	buf_init(&again.body, cap);
	if (netmsg_get_answer((unsigned char *)enc.data + NETMSG_LEN_BYTES,
			      enc.len - NETMSG_LEN_BYTES, cap, &again) != 0 ||
	    again.status != res.status || again.curl_code != res.curl_code ||
	    again.ok != res.ok || again.too_large != res.too_large ||
	    again.body_bytes != res.body_bytes || again.retry_after_s != res.retry_after_s ||
	    again.ratelimit_remaining != res.ratelimit_remaining ||
	    again.ratelimit_reset != res.ratelimit_reset || strcmp(again.etag, res.etag) != 0 ||
	    strcmp(again.error, res.error) != 0 || again.body.len != res.body.len ||
	    (res.body.len && memcmp(again.body.data, res.body.data, res.body.len) != 0))
		abort();
	buf_free(&again.body);
	buf_free(&enc);
	buf_free(&res.body);
}

/* Where the flags byte of a request is: type, id, cap, two timeouts. */
#define REQ_FLAGS_AT 21

static int no_body(const void *p, size_t n, void *ud)
{
	(void)p;
	(void)n;
	(void)ud;
	return 0;
}

static void check_request(const unsigned char *p, size_t n)
{
	struct netmsg_request m;
	struct buf enc;
	char *store = NULL;

	if (netmsg_get_request(p, n, &m, &store) != 0) {
		if (store != NULL)
			abort();
		return;
	}
	if (m.req.url == NULL || !clean(m.req.url) || m.req.cap == 0 || m.req.timeout_ms < 0 ||
	    m.req.connect_timeout_ms < 0 || m.req.body_len > NETMSG_MAX_REQ_BODY)
		abort();
	if (!m.stream && m.req.cap > NETMSG_MAX_BODY_CAP)
		abort();
	for (size_t i = 0; m.req.headers && m.req.headers[i]; i++)
		if (i >= NETMSG_MAX_HEADERS || !clean(m.req.headers[i]))
			abort();
	/* Encoded again (as the agent would send it), the same bytes; of the
	 * flags only the two known ones are kept. */
	if (m.stream)
		m.req.on_body = no_body; /* only its being set is encoded */
	buf_init(&enc, n + NETMSG_LEN_BYTES + 1);
	if (netmsg_put_request(&enc, m.id, &m.req) != 0 || enc.len != n + NETMSG_LEN_BYTES)
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned char want = i == REQ_FLAGS_AT ? (p[i] & 3) : p[i];

		if ((unsigned char)enc.data[NETMSG_LEN_BYTES + i] != want)
			abort();
	}
	buf_free(&enc);
	free(store);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cap[FUZZ_PENDING], npend, at = 1, maxf = NETMSG_ANSWER_FIXED;
	bool stream[FUZZ_PENDING];
	unsigned char *copy;

	if (size < 1 || size > FUZZ_CAP)
		return 0;
	if (data[0] & 0x80) {
		copy = (unsigned char *)fuzz_dup(data + 1, size - 1);
		if (copy != NULL)
			check_request(copy, size - 1);
		free(copy);
		return 0;
	}
	npend = (size_t)(data[0] & 3) + 1;
	for (size_t i = 0; i < npend; i++) {
		size_t k;

		cap[i] = caps[(data[0] >> 2 >> i) & 3];
		stream[i] = ((data[0] >> (4 + i)) & 1) != 0;
		k = stream[i] ? NETMSG_MAX_PIECE + NETMSG_PIECE_FIXED : cap[i] + NETMSG_ANSWER_FIXED;
		if (k > maxf)
			maxf = k;
	}
	/* The stream as fetch.c cuts it: a frame longer than any request in
	 * flight allows, or empty, ends the helper. */
	while (size - at >= NETMSG_LEN_BYTES) {
		uint32_t len = netmsg_frame_len(data + at), id;
		const unsigned char *piece;
		size_t plen;

		if (len == 0 || len > maxf || size - at - NETMSG_LEN_BYTES < len)
			break;
		copy = (unsigned char *)fuzz_dup(data + at + NETMSG_LEN_BYTES, len);
		if (copy == NULL)
			break;
		if (copy[0] == NETMSG_PIECE) {
			if (netmsg_get_piece(copy, len, &id, &piece, &plen) == 0 &&
			    (plen == 0 || plen > NETMSG_MAX_PIECE || piece < copy ||
			     piece + plen > copy + len))
				abort();
		} else if (netmsg_answer_id(copy, len, &id) == 0 && id >= 1 && id <= npend) {
			check_answer(copy, len, cap[id - 1]);
		}
		free(copy);
		at += NETMSG_LEN_BYTES + len;
	}
	return 0;
}

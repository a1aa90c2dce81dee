/*
 * netmsg.h - the messages between the agent and its network helper
 * (ant-agent-net): one request or one answer per frame, each a 32-bit
 * little-endian length followed by that many bytes. Every field has a cap;
 * a frame that breaks one is refused whole, and whoever reads it treats
 * the other side as broken.
 *
 * request: u8 type=1, u32 id, u64 cap, i32 timeout_ms, i32 connect_timeout_ms,
 *          u8 flags (1 = allow file://, 2 = stream the body), str url,
 *          str method, str etag, str ca_file, u32 n, n x str header, bytes body
 * answer:  u8 type=2, u32 id, i32 status, i32 curl_code, u8 flags
 *          (1 = too large), i64 retry_after_s, i64 ratelimit_remaining,
 *          i64 ratelimit_reset, u64 body_bytes, str etag, str error, bytes body
 * piece:   u8 type=3, u32 id, bytes piece (helper to agent: one piece of a
 *          streamed body, 1..NETMSG_MAX_PIECE bytes, before its answer)
 * cancel:  u8 type=4, u32 id (agent to helper: stop this streamed request;
 *          the helper answers it once, if it has not already)
 * A streamed request's answer carries no body; its body_bytes is the sum
 * of the pieces sent before it.
 * str and bytes: u32 length, then the bytes (a str has no NUL and no byte
 * below 0x20 or 0x7f, except that error text is cleaned rather than refused).
 */
#ifndef ANT_NETMSG_H
#define ANT_NETMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fetch.h"
#include "util.h"

#define NETMSG_REQUEST 1
#define NETMSG_ANSWER  2
#define NETMSG_PIECE   3
#define NETMSG_CANCEL  4

#define NETMSG_FLAG_FILE   1
#define NETMSG_FLAG_STREAM 2

#define NETMSG_LEN_BYTES   4
#define NETMSG_MAX_STR     4096              /* url, header line, path */
#define NETMSG_MAX_HEADERS 32
#define NETMSG_MAX_REQ_BODY (16 * 1024 * 1024) /* a POST body (InfluxDB batch) */
#define NETMSG_MAX_BODY_CAP (64 * 1024 * 1024) /* the largest cap a request may name */
/* A streamed body is never held whole, so its cap only bounds the total. */
#define NETMSG_MAX_STREAM_CAP ((uint64_t)SIZE_MAX / 2)
/* Everything in an answer but its body. */
#define NETMSG_ANSWER_FIXED 512
/* The largest piece of a streamed body in one message. */
#define NETMSG_MAX_PIECE (64 * 1024)
/* A piece message but its bytes: type, id, length. */
#define NETMSG_PIECE_FIXED 9
#define NETMSG_CANCEL_LEN 5
/* The transfer code of a streamed request stopped by its consumer:
 * libcurl's CURLE_WRITE_ERROR, as when the body callback refused a piece
 * in-process (the agent side has no curl headers). */
#define NETMSG_WRITE_ERROR 23
#define NETMSG_MAX_REQUEST \
	(NETMSG_MAX_REQ_BODY + (NETMSG_MAX_HEADERS + 8) * (NETMSG_MAX_STR + 4) + 64)

/* A decoded request: the strings point into the frame it came from. */
struct netmsg_request {
	uint32_t id;
	bool stream;                  /* send the body as pieces */
	struct fetch_request req;     /* on_body is never set here */
	const char *headers[NETMSG_MAX_HEADERS + 1];
};

/* Append one framed request to out; req->on_body set asks for a streamed
 * body. Returns 0, or -1 if a field breaks a cap. */
int netmsg_put_request(struct buf *out, uint32_t id, const struct fetch_request *req);
/* Decode the payload of a request frame (without its length). The strings
 * and body are copied into one allocation, *store (the caller frees it).
 * Returns 0 or -1. */
int netmsg_get_request(const unsigned char *p, size_t n, struct netmsg_request *out,
		       char **store);

/* Append one framed answer to out. */
int netmsg_put_answer(struct buf *out, uint32_t id, const struct fetch_response *res);
/* Decode an answer payload into res (body copied, at most cap bytes).
 * *id is set first so that the caller may look up the cap: pass the
 * payload to netmsg_answer_id, then here with that request's cap. The
 * fields derived from others (ok, not_modified) are worked out here, not
 * believed. Returns 0, or -1 with res->error saying what was wrong. */
int netmsg_answer_id(const unsigned char *p, size_t n, uint32_t *id);
int netmsg_get_answer(const unsigned char *p, size_t n, size_t cap, struct fetch_response *res);

/* Append one framed piece (1..NETMSG_MAX_PIECE bytes) or cancel to out.
 * Return 0 or -1. */
int netmsg_put_piece(struct buf *out, uint32_t id, const void *p, size_t n);
int netmsg_put_cancel(struct buf *out, uint32_t id);
/* Decode a piece payload: *data points into p. Returns 0, or -1 when it
 * is not a well-formed piece of 1..NETMSG_MAX_PIECE bytes. */
int netmsg_get_piece(const unsigned char *p, size_t n, uint32_t *id, const unsigned char **data,
		     size_t *len);
/* Decode a cancel payload. Returns 0 or -1. */
int netmsg_get_cancel(const unsigned char *p, size_t n, uint32_t *id);

/* Length of the frame starting at p when its 4 length bytes are there. */
uint32_t netmsg_frame_len(const unsigned char *p);

#endif

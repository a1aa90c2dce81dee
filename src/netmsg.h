/*
 * netmsg.h - the messages between the agent and its network helper
 * (ant-agent-net): one request or one answer per frame, each a 32-bit
 * little-endian length followed by that many bytes. Every field has a cap;
 * a frame that breaks one is refused whole, and whoever reads it treats
 * the other side as broken.
 *
 * request: u8 type=1, u32 id, u64 cap, i32 timeout_ms, i32 connect_timeout_ms,
 *          u8 flags (1 = allow file://), str url, str method, str etag,
 *          str ca_file, u32 n, n x str header, bytes body
 * answer:  u8 type=2, u32 id, i32 status, i32 curl_code, u8 flags
 *          (1 = too large), i64 retry_after_s, i64 ratelimit_remaining,
 *          i64 ratelimit_reset, str etag, str error, bytes body
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

#define NETMSG_LEN_BYTES   4
#define NETMSG_MAX_STR     4096              /* url, header line, path */
#define NETMSG_MAX_HEADERS 32
#define NETMSG_MAX_REQ_BODY (16 * 1024 * 1024) /* a POST body (InfluxDB batch) */
#define NETMSG_MAX_BODY_CAP (64 * 1024 * 1024) /* the largest cap a request may name */
/* Everything in an answer but its body. */
#define NETMSG_ANSWER_FIXED 512
#define NETMSG_MAX_REQUEST \
	(NETMSG_MAX_REQ_BODY + (NETMSG_MAX_HEADERS + 8) * (NETMSG_MAX_STR + 4) + 64)

/* A decoded request: the strings point into the frame it came from. */
struct netmsg_request {
	uint32_t id;
	struct fetch_request req;
	const char *headers[NETMSG_MAX_HEADERS + 1];
};

/* Append one framed request to out. Returns 0, or -1 if a field breaks a cap. */
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

/* Length of the frame starting at p when its 4 length bytes are there. */
uint32_t netmsg_frame_len(const unsigned char *p);

#endif

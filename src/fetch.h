/*
 * fetch.h - HTTP(S) (and, when allowed, file://) requests, run by the
 * network helper process ant-agent-net (libcurl) and answered on the libuv
 * loop. Every body that comes back has a named size cap; the transfer is
 * cut off the moment it passes it. A helper that crashes, hangs or talks
 * nonsense ends its requests as ordinary failures (status 0, ok false).
 */
#ifndef ANT_FETCH_H
#define ANT_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "util.h"

/* Caps per kind of body. */
#define FETCH_CAP_XML   (1024 * 1024)       /* control file */
#define FETCH_CAP_CSV   (8 * 1024 * 1024)   /* catalogues */
/* The kill-switch answer: only open issues labelled kill-switch come
 * back, so any non-empty answer already reads ON, and a larger one (which
 * is cut off and so also reads ON) needs no parse; jansson takes ~80
 * times the text in memory, so the cap keeps that near 20 MB. */
#define FETCH_CAP_JSON  (256 * 1024)
#define FETCH_CAP_REPLY (64 * 1024)         /* answer to a POST (InfluxDB) */
#define FETCH_MAX_REDIRECTS 5

/* A streamed body: called with each piece as it arrives; return 0 to go
 * on, -1 to stop the transfer (it then ends with a write error). */
typedef int (*fetch_body_fn)(const void *p, size_t n, void *ud);

struct fetch_request {
	const char *url;
	const char *method;           /* NULL = GET; "POST" with body */
	const void *body;
	size_t body_len;
	const char *const *headers;   /* NULL-terminated "Name: value" list, or NULL */
	const char *etag;             /* sent as If-None-Match when set */
	size_t cap;                   /* body cap in bytes (required) */
	int timeout_ms;               /* total; 0 = FETCH_TIMEOUT_SECS */
	int connect_timeout_ms;       /* 0 = FETCH_CONNECT_TIMEOUT_SECS */
	bool allow_file;              /* accept file:// URLs */
	const char *ca_file;          /* PEM bundle to trust instead of the system's, or NULL */
	/* When set, the body streams through on_body and is not kept
	 * (response body stays empty); cap still bounds its total. */
	fetch_body_fn on_body;
	void *body_ud;
};

struct fetch_response {
	long status;                  /* HTTP status; 200 for a file read; 0 = none */
	int curl_code;                /* CURLcode, 0 on transfer success */
	bool ok;                      /* transfer done and 2xx, or 304 */
	bool not_modified;            /* 304 to our If-None-Match */
	bool too_large;               /* body passed req->cap and was cut off */
	struct buf body;              /* callback may take body.data (set it NULL) */
	char etag[256];
	int64_t retry_after_s;        /* Retry-After in seconds, -1 if absent */
	int64_t ratelimit_remaining;  /* X-RateLimit-Remaining, -1 if absent */
	int64_t ratelimit_reset;      /* X-RateLimit-Reset (epoch s), -1 if absent */
	char error[256];              /* why it failed, for a log line */
	uint64_t body_bytes;          /* body bytes received (kept or streamed) */
};

typedef void (*fetch_cb)(struct fetch_response *res, void *ud);

struct fetcher;

struct fetcher *fetcher_new(uv_loop_t *loop);
/* Cancel transfers still running (their callbacks are not called) and free
 * everything once libuv has closed the handles. */
void fetcher_free(struct fetcher *f);
/* Start a request; cb runs on the loop when it ends, whatever the outcome.
 * Strings in req are copied. Returns 0, or -1 when it could not start. */
int fetch_start(struct fetcher *f, const struct fetch_request *req, fetch_cb cb, void *ud);
/* Run one request to the end on a private loop (for `validate` and tests).
 * The caller frees res with fetch_response_free. Returns 0 if res->ok. */
int fetch_sync(const struct fetch_request *req, struct fetch_response *res);
void fetch_response_free(struct fetch_response *res);

/* The helper's process id while one runs for f, else 0 (for tests). */
pid_t fetcher_helper_pid(const struct fetcher *f);
/* Run this argv as the helper instead of ant-agent-net beside the binary
 * (NULL: back to that); for tests and benchmarks. */
void fetch_set_helper(const char *const *argv);
/* ANT_AGENT_NET_HELPER, when set, names the helper to run instead of
 * ant-agent-net beside the binary (for tests and packaging): it must be an
 * absolute path to an executable regular file. Returns 0 when it is unset
 * or good, else -1 with why saying what is wrong. */
int fetch_helper_check(char *why, size_t n);
/* How long an idle helper is kept: 0 = one per burst of requests, -1 =
 * for the fetcher's life. */
void fetch_set_helper_linger_ms(int ms);

#endif

/*
 * fetch_curl.h - the libcurl side of fetch.h, used only by the network
 * helper (ant-agent-net). Same request and answer structures as fetch.h;
 * the caps, headers and redirect rules are applied here.
 */
#ifndef ANT_FETCH_CURL_H
#define ANT_FETCH_CURL_H

#include "fetch.h"

struct cfetcher;

struct cfetcher *cfetch_new(uv_loop_t *loop);
void cfetch_free(struct cfetcher *f);
/* Start a request; cb runs on the loop when it ends. req->timeout_ms and
 * req->connect_timeout_ms must be set. Returns 0 or -1. */
int cfetch_start(struct cfetcher *f, const struct fetch_request *req, fetch_cb cb, void *ud);
/* Stop the transfer started with this ud, without its callback; the
 * others go on. *body_bytes is what it had received. Returns 0, or -1 if
 * there is no such transfer (it has already ended). */
int cfetch_cancel(struct cfetcher *f, void *ud, uint64_t *body_bytes);

#endif

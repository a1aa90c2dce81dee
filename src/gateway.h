/*
 * gateway.h - downloads through an AntTP HTTP gateway instead of the
 * client: GET ANTTP_URL/<ADDRESS> with the agent's own fetcher, the body
 * streamed through MD5 (no file is written), bounded by the size class
 * and the task's timeout, the outcome read from HTTP.
 */
#ifndef ANT_GATEWAY_H
#define ANT_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "model.h"

struct gateway_result {
	enum test_status status;
	char reason[160];
	long http_status;      /* 0 when no answer */
	uint64_t bytes;        /* body bytes received */
	bool md5_checked;
	bool md5_valid;
	double elapsed_s;      /* real seconds from the request to its end */
};

typedef void (*gateway_done_cb)(const struct gateway_result *r, void *ud);

struct gateway_download;

/* True when downloads go through the gateway (DOWNLOAD_VIA=anttp). */
bool gateway_enabled(void);

/* The URL for address under base ("http://h:p" or "http://h:p/"); 0, or
 * -1 with err when base is not an http(s) URL or it does not fit. */
int gateway_url(const char *base, const char *address, char *out, size_t n, char *err, size_t errlen);

/* Start GET ANTTP_URL/address. want_md5 "" for no check. The callback
 * runs once, on the loop. Returns NULL (no callback) with err. */
struct gateway_download *gateway_download_start(uv_loop_t *loop, const char *address,
						const char *want_md5, enum size_class size,
						int64_t timeout_ms, gateway_done_cb cb, void *ud,
						char *err, size_t errlen);
/* Stop it now; the callback is not called. Returns how long it ran, in
 * seconds (0 for NULL). */
double gateway_download_cancel(struct gateway_download *g);

/* How an HTTP answer reads for a download: 2xx ok, 404 data_loss, other
 * 4xx client_error, 5xx and no answer network_error. */
enum test_status gateway_status_of(long http_status, int curl_code, bool too_large);

#endif

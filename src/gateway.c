/*
 * gateway.c - a download test through an AntTP gateway (see gateway.h and
 * docs/CLIENT.md "AntTP gateway").
 */
#include "gateway.h"
#include "clock.h"
#include "config.h"
#include "digest.h"
#include "fetch.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Most bytes one gateway download may take when its size class has no
 * upper bound that fits. */
#define GATEWAY_CAP_MAX ((uint64_t)SIZE_MAX / 2)

struct gateway_download {
	struct fetcher *f;
	struct digest_md5 md5;
	bool hashing;
	bool md5_failed;
	char want_md5[DIGEST_MD5_HEX_SIZE];
	uint64_t start_ns;
	gateway_done_cb cb;
	void *ud;
};

bool gateway_enabled(void)
{
	return str_ieq(cfg_str(CFG_DOWNLOAD_VIA), "anttp");
}

int gateway_url(const char *base, const char *address, char *out, size_t n, char *err, size_t errlen)
{
	size_t blen;

	if (base == NULL || *base == '\0') {
		snprintf(err, errlen, "DOWNLOAD_VIA=anttp needs ANTTP_URL (the gateway, e.g. http://127.0.0.1:18888)");
		return -1;
	}
	if (strncasecmp(base, "http://", 7) != 0 && strncasecmp(base, "https://", 8) != 0) {
		snprintf(err, errlen, "ANTTP_URL must start with http:// or https://");
		return -1;
	}
	/* No query, fragment, blank or control byte: the address is appended. */
	for (const char *p = base; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == '?' || *p == '#' || *p == 0x7f) {
			snprintf(err, errlen, "ANTTP_URL holds a character a base URL cannot have");
			return -1;
		}
	}
	blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (snprintf(out, n, "%.*s/%s", (int)blen, base, address) >= (int)n) {
		snprintf(err, errlen, "ANTTP_URL is too long");
		return -1;
	}
	return 0;
}

enum test_status gateway_status_of(long http_status, int curl_code, bool too_large)
{
	if (too_large)
		return ST_DATA_LOSS;
	if (http_status >= 200 && http_status < 300 && curl_code == 0)
		return ST_OK;
	if (http_status == 404)
		return ST_DATA_LOSS;
	if (http_status >= 400 && http_status < 500)
		return ST_CLIENT_ERROR;
	return ST_NETWORK_ERROR;
}

static int on_body(const void *p, size_t n, void *ud)
{
	struct gateway_download *g = ud;

	if (g->hashing && digest_md5_update(&g->md5, p, n) != 0) {
		g->md5_failed = true;
		return -1;
	}
	return 0;
}

static void gateway_free(struct gateway_download *g)
{
	if (g->hashing)
		digest_md5_abort(&g->md5);
	fetcher_free(g->f);
	free(g);
}

static void on_done(struct fetch_response *res, void *ud)
{
	struct gateway_download *g = ud;
	struct gateway_result r;

	memset(&r, 0, sizeof(r));
	r.http_status = res->status;
	r.bytes = res->body_bytes;
	r.elapsed_s = (double)(uv_hrtime() - g->start_ns) / 1e9;
	r.status = gateway_status_of(res->status, res->curl_code, res->too_large);
	if (g->md5_failed) {
		r.status = ST_UNKNOWN_ERROR;
		snprintf(r.reason, sizeof(r.reason), "gateway: cannot hash the body");
	} else if (res->too_large) {
		snprintf(r.reason, sizeof(r.reason), "gateway: HTTP %ld, body larger than its size class allows",
			 res->status);
	} else if (r.status == ST_OK) {
		snprintf(r.reason, sizeof(r.reason), "ok (gateway HTTP %ld)", res->status);
		if (g->hashing) {
			char hex[DIGEST_MD5_HEX_SIZE];

			g->hashing = false;
			r.md5_checked = true;
			r.md5_valid = digest_md5_final(&g->md5, hex) == 0 && strcmp(hex, g->want_md5) == 0;
			if (!r.md5_valid) {
				r.status = ST_DATA_LOSS;
				snprintf(r.reason, sizeof(r.reason), "gateway: MD5 mismatch");
			}
		}
	} else if (res->status != 0) {
		snprintf(r.reason, sizeof(r.reason), "gateway: HTTP %ld", res->status);
	} else {
		snprintf(r.reason, sizeof(r.reason), "gateway: %.140s", res->error);
	}
	g->cb(&r, g->ud);
	gateway_free(g);
}

struct gateway_download *gateway_download_start(uv_loop_t *loop, const char *address,
						const char *want_md5, enum size_class size,
						int64_t timeout_ms, gateway_done_cb cb, void *ud,
						char *err, size_t errlen)
{
	struct gateway_download *g;
	struct fetch_request req;
	char url[2048];
	uint64_t min, max;

	if (gateway_url(cfg_str(CFG_ANTTP_URL), address, url, sizeof(url), err, errlen) != 0)
		return NULL;
	size_class_bounds(size, &min, &max);
	(void)min;
	if (max == 0 || max > GATEWAY_CAP_MAX)
		max = GATEWAY_CAP_MAX;
	g = xcalloc(1, sizeof(*g));
	g->cb = cb;
	g->ud = ud;
	g->f = fetcher_new(loop);
	if (g->f == NULL) {
		snprintf(err, errlen, "gateway: cannot start an HTTP transfer");
		free(g);
		return NULL;
	}
	if (want_md5 && *want_md5) {
		str_copy(g->want_md5, want_md5, sizeof(g->want_md5));
		if (digest_md5_init(&g->md5) != 0) {
			snprintf(err, errlen, "gateway: cannot start an MD5");
			gateway_free(g);
			return NULL;
		}
		g->hashing = true;
	}
	memset(&req, 0, sizeof(req));
	req.url = url;
	req.cap = (size_t)max;
	/* The task's timeout is schedule time; libcurl counts real time. */
	if (timeout_ms > 0 && clock_speed() > 1.0)
		timeout_ms = (int64_t)((double)timeout_ms / clock_speed()) + 1;
	req.timeout_ms = timeout_ms > 0 && timeout_ms < INT32_MAX ? (int)timeout_ms : 0;
	req.on_body = on_body;
	req.body_ud = g;
	g->start_ns = uv_hrtime();
	if (fetch_start(g->f, &req, on_done, g) != 0) {
		snprintf(err, errlen, "gateway: cannot start GET %s", url);
		gateway_free(g);
		return NULL;
	}
	return g;
}

double gateway_download_cancel(struct gateway_download *g)
{
	double ran;

	if (g == NULL)
		return 0.0;
	ran = (double)(uv_hrtime() - g->start_ns) / 1e9;
	gateway_free(g);
	return ran;
}

/*
 * fetch_curl.c - HTTP(S) requests with libcurl's multi interface on the
 * libuv loop, inside the network helper (ant-agent-net); the agent reaches
 * this through src/fetch.c and a pipe.
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when
 * to call it back for its own timeouts (CURLMOPT_TIMERFUNCTION); we map
 * those onto one uv_poll_t per socket and one uv_timer_t per fetcher, so a
 * transfer never blocks the loop and no thread is needed.
 *
 * Every body is held in a capped buffer: the write callback refuses the
 * first byte past the cap, which makes curl abort the transfer at once, so
 * an endless or hostile body costs at most cap bytes of memory.
 */
#include "fetch_curl.h"

#include "netmsg.h"

#include "util.h"
#include "version.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

_Static_assert(NETMSG_WRITE_ERROR == CURLE_WRITE_ERROR, "netmsg.h names curl's write error");

/* Longest response header line we look at; longer ones are not ours. */
#define FETCH_HEADER_MAX 1024

struct fetch_sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct cfetcher *f;
	struct fetch_sock *next, *prev;
};

struct xfer {
	struct cfetcher *f;
	CURL *easy;
	struct curl_slist *headers;
	fetch_cb cb;
	void *ud;
	size_t cap;
	fetch_body_fn on_body;
	void *body_ud;
	bool is_file;
	bool saw_retry_after;
	struct fetch_response res;
	char errbuf[CURL_ERROR_SIZE];
	struct xfer *next, *prev;
};

struct cfetcher {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	struct xfer *xfers;
	struct fetch_sock *socks;
	int open_handles;    /* libuv handles not yet closed */
	int depth;           /* > 0 while we are inside curl or a callback */
	bool free_requested; /* fetcher_free was called inside a callback */
	bool closing;
};

static bool g_curl_ready;

static void cfetch_release(struct cfetcher *f);

static void handle_closed(uv_handle_t *h)
{
	struct cfetcher *f = h->data;

	if (h->type == UV_POLL)
		free(container_of((uv_poll_t *)h, struct fetch_sock, poll));
	if (--f->open_handles == 0 && f->closing)
		free(f);
}

static void sock_close(struct fetch_sock *s)
{
	struct cfetcher *f = s->f;

	if (s->prev)
		s->prev->next = s->next;
	else
		f->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	uv_poll_stop(&s->poll);
	s->poll.data = f;
	uv_close((uv_handle_t *)&s->poll, handle_closed);
}

/* ---- finishing a transfer ------------------------------------------- */

static void xfer_unlink(struct xfer *x)
{
	struct cfetcher *f = x->f;

	if (x->prev)
		x->prev->next = x->next;
	else
		f->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	x->next = x->prev = NULL;
}

static void xfer_destroy(struct xfer *x)
{
	if (x->easy) {
		curl_multi_remove_handle(x->f->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	curl_slist_free_all(x->headers);
	buf_free(&x->res.body);
	free(x);
}

static void describe_failure(struct xfer *x, CURLcode code)
{
	struct fetch_response *r = &x->res;

	if (r->too_large) {
		snprintf(r->error, sizeof(r->error),
			 "the answer is larger than the %zu-byte limit; transfer cut off", x->cap);
	} else if (code == CURLE_OPERATION_TIMEDOUT) {
		snprintf(r->error, sizeof(r->error), "no complete answer in time (%.200s)",
			 x->errbuf[0] ? x->errbuf : curl_easy_strerror(code));
	} else if (code != CURLE_OK) {
		snprintf(r->error, sizeof(r->error), "%.250s",
			 x->errbuf[0] ? x->errbuf : curl_easy_strerror(code));
	} else if (!r->ok) {
		snprintf(r->error, sizeof(r->error), "HTTP status %ld", r->status);
	}
}

static void xfer_finish(struct xfer *x, CURLcode code)
{
	struct fetch_response *r = &x->res;
	long status = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	if (code == CURLE_FILESIZE_EXCEEDED)
		r->too_large = true;
	if (r->too_large) {
		/* Never hand out a cut body: it would parse as something else. */
		buf_free(&r->body);
	}
	r->curl_code = (int)code;
	r->status = status;
	if (x->is_file && code == CURLE_OK && status == 0)
		r->status = 200;
	r->not_modified = code == CURLE_OK && r->status == 304;
	r->ok = code == CURLE_OK && !r->too_large &&
		((r->status >= 200 && r->status < 300) || r->not_modified);
	if (!x->saw_retry_after)
		r->retry_after_s = -1;
	describe_failure(x, code);
	if (r->body.data == NULL)
		buf_append(&r->body, "", 0); /* callers may always read body.data */
	xfer_unlink(x);
	x->cb(r, x->ud);
	xfer_destroy(x);
}

static void check_done(struct cfetcher *f)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(f->multi, &left)) != NULL) {
		char *priv = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		if (priv == NULL)
			continue;
		xfer_finish((struct xfer *)(void *)priv, msg->data.result);
		if (f->free_requested)
			return;
	}
}

/* Run curl for one socket event or timeout, then deliver what finished.
 * depth guards against fetcher_free from inside a callback. */
static void drive(struct cfetcher *f, curl_socket_t fd, int events)
{
	int running;

	f->depth++;
	curl_multi_socket_action(f->multi, fd, events, &running);
	fd_cloexec_from(3); /* a resolver's socket pair, made inside curl */
	if (!f->free_requested)
		check_done(f);
	f->depth--;
	if (f->depth == 0 && f->free_requested)
		cfetch_release(f);
}

/* ---- curl <-> libuv glue -------------------------------------------- */

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct fetch_sock *s = container_of(p, struct fetch_sock, poll);
	int flags = 0;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	drive(s->f, s->fd, flags);
}

static void on_timer(uv_timer_t *t)
{
	drive(t->data, CURL_SOCKET_TIMEOUT, 0);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct cfetcher *f = userp;
	struct fetch_sock *s = sockp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			curl_multi_assign(f->multi, fd, NULL);
			sock_close(s);
		}
		return 0;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->fd = fd;
		s->f = f;
		if (uv_poll_init_socket(f->loop, &s->poll, fd) != 0) {
			free(s);
			return -1;
		}
		f->open_handles++;
		s->next = f->socks;
		if (f->socks)
			f->socks->prev = s;
		f->socks = s;
		curl_multi_assign(f->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	uv_poll_start(&s->poll, events, on_poll);
	return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct cfetcher *f = userp;

	(void)multi;
	/* curl must not be re-entered from here, so even "now" (0) goes
	 * through the loop. */
	if (timeout_ms < 0)
		uv_timer_stop(&f->timer);
	else
		uv_timer_start(&f->timer, on_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

/* ---- body and headers ----------------------------------------------- */

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userp)
{
	struct xfer *x = userp;
	size_t n = size * nmemb;

	if (x->res.too_large)
		return 0;
	if (n > x->cap - x->res.body_bytes) {
		/* Returning less than n makes curl stop with CURLE_WRITE_ERROR. */
		x->res.too_large = true;
		return 0;
	}
	if (x->on_body) {
		if (x->on_body(ptr, n, x->body_ud) != 0)
			return 0;
	} else {
		buf_append(&x->res.body, ptr, n);
	}
	x->res.body_bytes += n;
	return n;
}

/* Copy a header value into out without the trailing CR/LF and blanks. */
static void header_value(const char *v, size_t n, char *out, size_t outn)
{
	size_t k;

	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	k = n < outn - 1 ? n : outn - 1;
	memcpy(out, v, k);
	out[k] = '\0';
}

static bool header_is(const char *line, size_t n, const char *name, size_t *vstart)
{
	size_t len = strlen(name);

	if (n <= len || line[len] != ':' || strncasecmp(line, name, len) != 0)
		return false;
	*vstart = len + 1;
	return true;
}

/* Retry-After is either delta-seconds or an HTTP date (RFC 9110 10.2.3). */
static int64_t parse_retry_after(const char *v)
{
	int64_t secs;
	time_t when;

	if (parse_i64(v, 0, INT32_MAX, &secs) == 0)
		return secs;
	when = curl_getdate(v, NULL);
	if (when < 0)
		return -1;
	secs = (int64_t)when - (int64_t)time(NULL);
	return secs > 0 ? secs : 0;
}

static bool etag_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static size_t header_cb(char *line, size_t size, size_t nitems, void *userp)
{
	struct xfer *x = userp;
	struct fetch_response *r = &x->res;
	size_t n = size * nitems;
	char v[FETCH_HEADER_MAX];
	size_t at;
	int64_t num;

	/* A new status line starts a new response (after a redirect or a
	 * 100 Continue): forget what the previous one said. */
	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		r->etag[0] = '\0';
		r->retry_after_s = -1;
		r->ratelimit_remaining = -1;
		r->ratelimit_reset = -1;
		x->saw_retry_after = false;
		return n;
	}
	if (n >= FETCH_HEADER_MAX)
		return n;
	if (header_is(line, n, "ETag", &at)) {
		header_value(line + at, n - at, v, sizeof(v));
		if (strlen(v) < sizeof(r->etag) && etag_ok(v))
			str_copy(r->etag, v, sizeof(r->etag));
	} else if (header_is(line, n, "Retry-After", &at)) {
		header_value(line + at, n - at, v, sizeof(v));
		r->retry_after_s = parse_retry_after(v);
		x->saw_retry_after = r->retry_after_s >= 0;
	} else if (header_is(line, n, "X-RateLimit-Remaining", &at)) {
		header_value(line + at, n - at, v, sizeof(v));
		if (parse_i64(v, 0, INT64_MAX, &num) == 0)
			r->ratelimit_remaining = num;
	} else if (header_is(line, n, "X-RateLimit-Reset", &at)) {
		header_value(line + at, n - at, v, sizeof(v));
		if (parse_i64(v, 0, INT64_MAX, &num) == 0)
			r->ratelimit_reset = num;
	}
	return n;
}

/* Every socket curl opens is close-on-exec from its first instant, so no
 * client the agent spawns (nor that client's children) inherits a
 * connection of ours. */
static curl_socket_t open_socket_cb(void *ud, curlsocktype purpose, struct curl_sockaddr *addr)
{
	(void)ud;
	(void)purpose;
	return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

/* ---- public API ----------------------------------------------------- */

struct cfetcher *cfetch_new(uv_loop_t *loop)
{
	struct cfetcher *f;

	if (!g_curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		g_curl_ready = true;
	}
	f = xcalloc(1, sizeof(*f));
	f->loop = loop;
	f->multi = curl_multi_init();
	if (f->multi == NULL) {
		free(f);
		return NULL;
	}
	fd_cloexec_from(3); /* the multi handle's wake-up socket pair */
	uv_timer_init(loop, &f->timer);
	f->timer.data = f;
	f->open_handles = 1;
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
	return f;
}

static void cfetch_release(struct cfetcher *f)
{
	while (f->xfers) {
		struct xfer *x = f->xfers;

		xfer_unlink(x);
		xfer_destroy(x); /* removing the handle closes its sockets */
	}
	curl_multi_cleanup(f->multi);
	f->multi = NULL;
	while (f->socks)
		sock_close(f->socks);
	f->closing = true;
	uv_timer_stop(&f->timer);
	uv_close((uv_handle_t *)&f->timer, handle_closed);
}

void cfetch_free(struct cfetcher *f)
{
	if (f == NULL || f->free_requested)
		return;
	f->free_requested = true;
	if (f->depth == 0)
		cfetch_release(f);
}

int cfetch_cancel(struct cfetcher *f, void *ud, uint64_t *body_bytes)
{
	/* Only from outside curl's callbacks: removing a handle inside one
	 * is not allowed. */
	if (f == NULL || f->depth > 0)
		return -1;
	for (struct xfer *x = f->xfers; x; x = x->next) {
		if (x->ud == ud) {
			*body_bytes = x->res.body_bytes;
			xfer_unlink(x);
			xfer_destroy(x);
			return 0;
		}
	}
	return -1;
}

static bool url_is_file(const char *url)
{
	return strncasecmp(url, "file:", 5) == 0;
}

static int setup_easy(struct xfer *x, const struct fetch_request *req)
{
	CURL *e = x->easy;
	/* The agent always sends both; a request without is not ours. */
	long timeout = req->timeout_ms > 0 ? req->timeout_ms : 30000L;
	long ctimeout = req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 10000L;
	char line[FETCH_HEADER_MAX];

	if (curl_easy_setopt(e, CURLOPT_URL, req->url) != CURLE_OK)
		return -1;
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket_cb);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	/* A declared length over the cap fails before any byte is read. */
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->cap);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)FETCH_MAX_REDIRECTS);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, req->allow_file ? "http,https,file" : "http,https");
	/* A server may never send us to a local file, whatever we allow, and
	 * what was asked for over https never continues in clear text. */
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR,
			 strncasecmp(req->url, "https:", 6) == 0 ? "https" : "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, ANT_NAME "/" ANT_VERSION);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ctimeout);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (req->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_file);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");

	if (req->method && strcmp(req->method, "GET") != 0) {
		if (strcmp(req->method, "POST") == 0) {
			curl_easy_setopt(e, CURLOPT_POST, 1L);
		} else {
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
		}
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body ? (const char *)req->body : "");
		/* No 100-continue round trip: our bodies are small. */
		x->headers = curl_slist_append(x->headers, "Expect:");
	}
	for (const char *const *h = req->headers; h && *h; h++)
		x->headers = curl_slist_append(x->headers, *h);
	if (req->etag && req->etag[0]) {
		if ((size_t)snprintf(line, sizeof(line), "If-None-Match: %s", req->etag) < sizeof(line))
			x->headers = curl_slist_append(x->headers, line);
	}
	if (x->headers)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	return 0;
}

int cfetch_start(struct cfetcher *f, const struct fetch_request *req, fetch_cb cb, void *ud)
{
	struct xfer *x;

	if (f == NULL || f->free_requested || req == NULL || req->url == NULL || req->cap == 0 ||
	    cb == NULL)
		return -1;
	x = xcalloc(1, sizeof(*x));
	x->f = f;
	x->cb = cb;
	x->ud = ud;
	x->cap = req->cap;
	x->on_body = req->on_body;
	x->body_ud = req->body_ud;
	x->is_file = url_is_file(req->url);
	buf_init(&x->res.body, req->cap);
	x->res.retry_after_s = -1;
	x->res.ratelimit_remaining = -1;
	x->res.ratelimit_reset = -1;
	x->easy = curl_easy_init();
	if (x->easy == NULL)
		goto fail;
	if (setup_easy(x, req) != 0)
		goto fail;
	if (curl_multi_add_handle(f->multi, x->easy) != CURLM_OK)
		goto fail;
	fd_cloexec_from(3);
	x->next = f->xfers;
	if (f->xfers)
		f->xfers->prev = x;
	f->xfers = x;
	return 0;
fail:
	if (x->easy)
		curl_easy_cleanup(x->easy);
	x->easy = NULL;
	curl_slist_free_all(x->headers);
	buf_free(&x->res.body);
	free(x);
	return -1;
}

/*
 * fetch.c - HTTP(S) requests through the network helper, ant-agent-net.
 *
 * The agent itself has no HTTP or TLS code: each fetcher starts a helper
 * process when it has work (with a near-empty environment: never
 * SECRET_KEY), sends it framed requests over a pipe (netmsg.h) and reads
 * framed answers back. The helper stays while requests are in flight and
 * FETCH_HELPER_LINGER_MS after the last, so the hourly burst shares one
 * process and its connections, and is gone the rest of the time.
 *
 * What the helper says is checked like any outside input: frame length
 * against the request's cap, every field's size, the request id, and ok /
 * not_modified are worked out here from status and transfer code. A
 * helper that exits, crashes, sends garbage or stops answering (past the
 * request's own timeout plus FETCH_HELPER_GRACE_MS) is killed, and every
 * request it held ends as an ordinary failed request.
 *
 * A request with on_body streams: the helper sends its body as pieces
 * (each at most NETMSG_MAX_PIECE bytes, their sum within the cap, only for
 * a streamed request still in flight) and then an answer without a body
 * whose body_bytes must match what came. When on_body says stop, the
 * request ends at once as a write error and a cancel goes to the helper;
 * the request stays behind as a tombstone that swallows pieces still on
 * the way until the helper's one answer for it arrives.
 */
#include "fetch.h"

#include "config.h"
#include "netmsg.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FETCH_HELPER_NAME "ant-agent-net"
/* For tests and packaging: run this helper (an absolute path to an
 * executable regular file) instead of the one beside the binary. */
#define FETCH_HELPER_ENV "ANT_AGENT_NET_HELPER"
/* How long an idle helper is kept for the next request. */
#define FETCH_HELPER_LINGER_MS 5000
/* Past a request's own timeout, how long the helper has to answer. */
#define FETCH_HELPER_GRACE_MS 3000
#define FETCH_READ_CHUNK (64 * 1024)

/* Environment variables the helper may see: proxies and where the
 * trusted certificates are. Nothing else of the agent's goes across. */
static const char *const helper_env_keep[] = {
	"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY",
	"SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE", NULL,
};

struct pend {
	uint32_t id;
	fetch_cb cb;
	void *ud;
	size_t cap;
	fetch_body_fn on_body; /* NULL: the body comes whole in the answer */
	void *body_ud;
	uint64_t bytes;        /* streamed body bytes passed to on_body */
	bool cancelled;        /* ended on the agent's side; cb already ran */
	uint64_t deadline; /* uv_now past which the helper is deemed hung */
	struct pend *next;
};

struct helper {
	struct fetcher *f;       /* NULL once detached (dying) */
	uv_process_t proc;
	uv_pipe_t to, from;
	uv_timer_t timer;        /* watchdog, then linger */
	struct buf rx;
	struct pend *pend;
	int open_handles;
	bool exited, dead;
	bool eof_killed;         /* killed by us once its output closed */
};

struct fetcher {
	uv_loop_t *loop;
	struct helper *h;
	uint32_t next_id;
	int depth;
	bool free_requested;
};

static char *g_helper_argv[8];
static char g_helper_path[PATH_MAX];
static int g_linger_ms = FETCH_HELPER_LINGER_MS;

extern char **environ;

void fetch_set_helper(const char *const *argv)
{
	for (size_t i = 0; i < sizeof(g_helper_argv) / sizeof(g_helper_argv[0]); i++) {
		free(g_helper_argv[i]);
		g_helper_argv[i] = NULL;
	}
	for (size_t i = 0; argv && argv[i] && i + 1 < sizeof(g_helper_argv) / sizeof(g_helper_argv[0]);
	     i++)
		g_helper_argv[i] = xstrdup(argv[i]);
}

void fetch_set_helper_linger_ms(int ms)
{
	g_linger_ms = ms < 0 ? -1 : ms;
}

int fetch_helper_check(char *why, size_t n)
{
	const char *p = getenv(FETCH_HELPER_ENV);
	char shown[256];
	const char *bad = NULL;
	struct stat st;

	if (p == NULL || p[0] == '\0')
		return 0;
	if (p[0] != '/' || strlen(p) >= PATH_MAX)
		bad = "not an absolute path";
	else if (stat(p, &st) != 0)
		bad = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		bad = "not a regular file";
	else if (access(p, X_OK) != 0)
		bad = "not executable";
	if (bad == NULL)
		return 0;
	str_clean(p, shown, sizeof(shown), STR_CLEAN_ONE_LINE);
	snprintf(why, n, "%s=%s: %s (it names the network helper to run instead of %s)",
		 FETCH_HELPER_ENV, shown, bad, FETCH_HELPER_NAME);
	return -1;
}

/* The helper lives beside the running binary; a build tree's tests and
 * benchmarks run one directory below it. FETCH_HELPER_ENV, when set,
 * names another (checked at every start: a bad one starts nothing). */
static char *helper_path(void)
{
	static char env_path[PATH_MAX];
	char self[PATH_MAX];
	ssize_t n;
	char *slash;
	const char *env = getenv(FETCH_HELPER_ENV);
	char why[512];

	if (env && env[0]) {
		if (fetch_helper_check(why, sizeof(why)) != 0)
			return NULL;
		str_copy(env_path, env, sizeof(env_path));
		return env_path;
	}
	if (g_helper_path[0])
		return g_helper_path;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return NULL;
	self[n] = '\0';
	for (int up = 0; up < 2; up++) {
		slash = strrchr(self, '/');
		if (slash == NULL)
			return NULL;
		*slash = '\0';
		if ((size_t)snprintf(g_helper_path, sizeof(g_helper_path), "%s/%s", self,
				     FETCH_HELPER_NAME) < sizeof(g_helper_path) &&
		    access(g_helper_path, X_OK) == 0)
			return g_helper_path;
	}
	g_helper_path[0] = '\0';
	return NULL;
}

/* ---- the helper's life ---------------------------------------------- */

static void helper_closed(uv_handle_t *hd)
{
	struct helper *h = hd->data;

	if (--h->open_handles == 0) {
		buf_free(&h->rx);
		free(h);
	}
}

/* An idle helper does not keep a loop running; one with work does. */
static void helper_ref(struct helper *h, bool on)
{
	uv_handle_t *hs[] = { (uv_handle_t *)&h->proc, (uv_handle_t *)&h->from,
			      (uv_handle_t *)&h->timer };

	for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
		if (on)
			uv_ref(hs[i]);
		else
			uv_unref(hs[i]);
	}
}

static void fail_all(struct fetcher *f, struct pend *list, const char *why);

/* Take the helper away from its fetcher, kill it, and end what it held. */
static void helper_drop(struct helper *h, const char *why)
{
	struct fetcher *f = h->f;
	struct pend *list = h->pend;

	if (h->dead)
		return;
	h->dead = true;
	h->pend = NULL;
	if (f)
		f->h = NULL;
	h->f = NULL;
	helper_ref(h, true); /* the loop waits until it is reaped */
	if (!h->exited)
		uv_process_kill(&h->proc, SIGKILL);
	uv_timer_stop(&h->timer);
	uv_close((uv_handle_t *)&h->timer, helper_closed);
	if (!uv_is_closing((uv_handle_t *)&h->to))
		uv_close((uv_handle_t *)&h->to, helper_closed);
	uv_close((uv_handle_t *)&h->from, helper_closed);
	if (h->exited)
		uv_close((uv_handle_t *)&h->proc, helper_closed);
	if (f) {
		fail_all(f, list, why);
		return;
	}
	while (list) {
		struct pend *p = list;

		list = p->next;
		free(p);
	}
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
	struct helper *h = container_of(p, struct helper, proc);
	char why[128];

	h->exited = true;
	if (h->dead) {
		uv_close((uv_handle_t *)&h->proc, helper_closed);
		return;
	}
	if (sig == SIGKILL && h->eof_killed)
		snprintf(why, sizeof(why), "the network helper closed its pipe");
	else if (sig)
		snprintf(why, sizeof(why), "the network helper was ended by signal %d", sig);
	else
		snprintf(why, sizeof(why), "the network helper exited (status %lld)", (long long)status);
	helper_drop(h, why);
}

static void arm_timer(struct helper *h);

static void on_timer(uv_timer_t *t)
{
	struct helper *h = t->data;

	if (h->pend == NULL) {
		/* Idle long enough: closing its stdin lets it exit. */
		if (!uv_is_closing((uv_handle_t *)&h->to))
			uv_close((uv_handle_t *)&h->to, helper_closed);
		return;
	}
	helper_drop(h, "the network helper stopped answering; it was stopped");
}

static void arm_timer(struct helper *h)
{
	uint64_t now, first = UINT64_MAX;

	uv_timer_stop(&h->timer);
	helper_ref(h, h->pend != NULL);
	if (h->pend == NULL) {
		if (g_linger_ms >= 0)
			uv_timer_start(&h->timer, on_timer, (uint64_t)g_linger_ms, 0);
		return;
	}
	for (struct pend *p = h->pend; p; p = p->next)
		if (p->deadline < first)
			first = p->deadline;
	now = uv_now(h->timer.loop);
	uv_timer_start(&h->timer, on_timer, first > now ? first - now : 0, 0);
}

static void fetcher_release(struct fetcher *f);

static void deliver(struct fetcher *f, struct pend *p, struct fetch_response *res)
{
	if (res->body.data == NULL)
		buf_append(&res->body, "", 0); /* callers may always read body.data */
	if (!f->free_requested && !p->cancelled)
		p->cb(res, p->ud);
	buf_free(&res->body);
	free(p);
}

static void response_init(struct fetch_response *res, size_t cap)
{
	memset(res, 0, sizeof(*res));
	buf_init(&res->body, cap);
	res->retry_after_s = res->ratelimit_remaining = res->ratelimit_reset = -1;
}

static void fail_all(struct fetcher *f, struct pend *list, const char *why)
{
	f->depth++;
	while (list) {
		struct pend *p = list;
		struct fetch_response res;

		list = p->next;
		response_init(&res, p->cap);
		str_copy(res.error, why, sizeof(res.error));
		res.body_bytes = p->bytes;
		deliver(f, p, &res);
	}
	f->depth--;
	if (f->depth == 0 && f->free_requested)
		fetcher_release(f);
}

static struct pend *take_pend(struct helper *h, uint32_t id)
{
	for (struct pend **pp = &h->pend; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			struct pend *p = *pp;

			*pp = p->next;
			return p;
		}
	}
	return NULL;
}

/* The longest frame the helper may send now: a streamed request's
 * answer has no body, its pieces are capped on their own. */
static size_t max_frame(const struct helper *h)
{
	size_t m = NETMSG_ANSWER_FIXED;

	for (const struct pend *p = h->pend; p; p = p->next) {
		size_t k = p->on_body ? NETMSG_MAX_PIECE + NETMSG_PIECE_FIXED
				      : p->cap + NETMSG_ANSWER_FIXED;

		if (k > m)
			m = k;
	}
	return m;
}

static struct pend *find_pend(struct helper *h, uint32_t id)
{
	for (struct pend *p = h->pend; p; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

/* What an answer says of the body must agree with what came: a streamed
 * one carries none and counts the pieces exactly; a kept one counts its
 * own body. A tombstone's answer may count more than the agent took. */
static bool answer_fits(const struct pend *p, const struct fetch_response *res)
{
	if (p->on_body == NULL)
		return res->too_large || res->body_bytes == res->body.len;
	if (res->body.len != 0)
		return false;
	return p->cancelled ? res->body_bytes >= p->bytes : res->body_bytes == p->bytes;
}

static void send_frame(struct helper *h, struct buf *frame);

/* on_body said stop: the request ends now, as a write error, and the
 * helper is told to stop it too. */
static void stream_stop(struct fetcher *f, struct pend *p)
{
	struct fetch_response res;
	struct buf frame;

	response_init(&res, p->cap);
	res.curl_code = NETMSG_WRITE_ERROR;
	res.body_bytes = p->bytes;
	str_copy(res.error, "the body consumer stopped the transfer", sizeof(res.error));
	if (res.body.data == NULL)
		buf_append(&res.body, "", 0);
	if (!f->free_requested)
		p->cb(&res, p->ud);
	buf_free(&res.body);
	p->cancelled = true;
	if (f->h == NULL || f->h->dead)
		return;
	buf_init(&frame, NETMSG_CANCEL_LEN + NETMSG_LEN_BYTES);
	if (netmsg_put_cancel(&frame, p->id) != 0) {
		buf_free(&frame);
		return;
	}
	send_frame(f->h, &frame);
}

/* One piece of a streamed body. Returns -1 when the helper is not to be
 * believed any more: a piece for no streamed request, or past the cap. */
static int handle_piece(struct helper *h, const unsigned char *q, size_t n)
{
	struct fetcher *f = h->f;
	const unsigned char *data;
	struct pend *p;
	uint32_t id;
	size_t len;

	if (netmsg_get_piece(q, n, &id, &data, &len) != 0 || (p = find_pend(h, id)) == NULL ||
	    p->on_body == NULL)
		return -1;
	if (p->cancelled)
		return 0; /* already on the way when we said stop */
	if (len > p->cap - p->bytes)
		return -1;
	p->bytes += len;
	if (f->free_requested)
		return 0;
	if (p->on_body(data, len, p->body_ud) != 0)
		stream_stop(f, p);
	return 0;
}

/* One complete answer frame. Returns -1 when the helper is not to be
 * believed any more. */
static int handle_answer(struct helper *h, const unsigned char *q, size_t n)
{
	struct fetcher *f = h->f;
	uint32_t id;
	struct pend *p;
	struct fetch_response res;

	if (netmsg_answer_id(q, n, &id) != 0 || (p = take_pend(h, id)) == NULL)
		return -1;
	response_init(&res, p->cap);
	if (n > p->cap + NETMSG_ANSWER_FIXED || netmsg_get_answer(q, n, p->cap, &res) != 0 ||
	    !answer_fits(p, &res)) {
		str_copy(res.error, "the network helper sent a malformed answer", sizeof(res.error));
		deliver(f, p, &res);
		return -1;
	}
	if (res.too_large)
		snprintf(res.error, sizeof(res.error),
			 "the answer is larger than the %zu-byte limit; transfer cut off", p->cap);
	deliver(f, p, &res);
	return 0;
}

static void on_alloc(uv_handle_t *hd, size_t hint, uv_buf_t *b)
{
	static char chunk[FETCH_READ_CHUNK];

	(void)hd;
	(void)hint;
	b->base = chunk;
	b->len = sizeof(chunk);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct helper *h = s->data;
	struct fetcher *f = h->f;
	size_t at = 0;
	int bad = 0;

	if (f == NULL || h->dead)
		return;
	if (nread < 0) {
		/* Its exit says why (a crash closes the pipe before the exit
		 * is seen); one that lives on without output is ended here. */
		uv_read_stop(s);
		h->eof_killed = true;
		uv_process_kill(&h->proc, SIGKILL);
		return;
	}
	if (nread == 0)
		return;
	f->depth++;
	if (buf_append(&h->rx, b->base, (size_t)nread) != 0)
		bad = 1;
	while (!bad && !h->dead && h->rx.len - at >= NETMSG_LEN_BYTES) {
		uint32_t len = netmsg_frame_len((unsigned char *)h->rx.data + at);

		const unsigned char *q;

		if (len > max_frame(h) || len == 0) {
			bad = 1;
			break;
		}
		if (h->rx.len - at - NETMSG_LEN_BYTES < len)
			break;
		q = (unsigned char *)h->rx.data + at + NETMSG_LEN_BYTES;
		if ((q[0] == NETMSG_PIECE ? handle_piece(h, q, len) : handle_answer(h, q, len)) != 0)
			bad = 1;
		at += NETMSG_LEN_BYTES + len;
		if (f->free_requested)
			break;
	}
	if (!h->dead && at > 0) {
		memmove(h->rx.data, h->rx.data + at, h->rx.len - at);
		h->rx.len -= at;
	}
	if (bad && !h->dead)
		helper_drop(h, "the network helper sent a malformed answer");
	else if (!h->dead && !f->free_requested)
		arm_timer(h);
	f->depth--;
	if (f->depth == 0 && f->free_requested)
		fetcher_release(f);
}

static char **helper_env(void)
{
	size_t n = 0, k = 0;
	char **env;

	for (char **e = environ; e && *e; e++)
		n++;
	env = xcalloc(n + 1, sizeof(*env));
	for (char **e = environ; e && *e; e++) {
		for (const char *const *keep = helper_env_keep; *keep; keep++) {
			size_t l = strlen(*keep);

			if (strncmp(*e, *keep, l) == 0 && (*e)[l] == '=') {
				env[k++] = *e;
				break;
			}
		}
	}
	env[k] = NULL;
	return env;
}

static struct helper *helper_start(struct fetcher *f)
{
	struct helper *h = xcalloc(1, sizeof(*h));
	uv_process_options_t o;
	uv_stdio_container_t io[3];
	char *argv[2];
	char **env;
	char *path;
	int rc;

	memset(&o, 0, sizeof(o));
	if (g_helper_argv[0] == NULL) {
		path = helper_path();
		if (path == NULL) {
			free(h);
			return NULL;
		}
		argv[0] = path;
		argv[1] = NULL;
		o.args = argv;
	} else {
		o.args = g_helper_argv;
	}
	o.file = o.args[0];
	uv_pipe_init(f->loop, &h->to, 0);
	uv_pipe_init(f->loop, &h->from, 0);
	uv_timer_init(f->loop, &h->timer);
	h->to.data = h->from.data = h->timer.data = h->proc.data = h;
	h->open_handles = 4;
	io[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
	io[0].data.stream = (uv_stream_t *)&h->to;
	io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	io[1].data.stream = (uv_stream_t *)&h->from;
	io[2].flags = UV_IGNORE;
	o.stdio = io;
	o.stdio_count = 3;
	o.exit_cb = on_exit_cb;
	env = helper_env();
	o.env = env;
	rc = uv_spawn(f->loop, &h->proc, &o);
	free(env);
	buf_init(&h->rx, NETMSG_MAX_BODY_CAP + NETMSG_ANSWER_FIXED + NETMSG_LEN_BYTES);
	h->f = f;
	if (rc != 0) {
		h->exited = h->dead = true;
		h->f = NULL;
		uv_close((uv_handle_t *)&h->timer, helper_closed);
		uv_close((uv_handle_t *)&h->to, helper_closed);
		uv_close((uv_handle_t *)&h->from, helper_closed);
		uv_close((uv_handle_t *)&h->proc, helper_closed);
		return NULL;
	}
	uv_read_start((uv_stream_t *)&h->from, on_alloc, on_read);
	return h;
}

/* ---- public API ----------------------------------------------------- */

struct fetcher *fetcher_new(uv_loop_t *loop)
{
	struct fetcher *f = xcalloc(1, sizeof(*f));
	struct sigaction sa;

	/* A helper that is gone shows as a closed pipe, never as SIGPIPE. */
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
	f->loop = loop;
	f->next_id = 1;
	return f;
}

static void fetcher_release(struct fetcher *f)
{
	struct helper *h = f->h;

	if (h) {
		/* The requests still held end without their callbacks. */
		h->f = NULL;
		f->h = NULL;
		helper_drop(h, "cancelled");
	}
	free(f);
}

void fetcher_free(struct fetcher *f)
{
	if (f == NULL || f->free_requested)
		return;
	f->free_requested = true;
	if (f->depth == 0)
		fetcher_release(f);
}

static void on_written(uv_write_t *w, int status)
{
	(void)status; /* a broken pipe shows up as EOF on the answers */
	free(w->data);
	free(w);
}

/* Queue a frame (its data passes to the write) on the helper's stdin. */
static void send_frame(struct helper *h, struct buf *frame)
{
	uv_write_t *w = xcalloc(1, sizeof(*w));
	uv_buf_t b = uv_buf_init(frame->data, (unsigned int)frame->len);

	w->data = frame->data;
	if (uv_is_closing((uv_handle_t *)&h->to) ||
	    uv_write(w, (uv_stream_t *)&h->to, &b, 1, on_written) != 0) {
		/* The helper is going; the watchdog or its exit ends what is left. */
		free(frame->data);
		free(w);
	}
	frame->data = NULL;
}

int fetch_start(struct fetcher *f, const struct fetch_request *req, fetch_cb cb, void *ud)
{
	struct fetch_request r;
	struct buf frame;
	struct pend *p;
	uv_write_t *w;
	uv_buf_t b;

	if (f == NULL || f->free_requested || req == NULL || req->url == NULL || req->cap == 0 ||
	    cb == NULL)
		return -1;
	r = *req;
	if (r.timeout_ms <= 0)
		r.timeout_ms = (int)cfg_int(CFG_FETCH_TIMEOUT_SECS) * 1000;
	if (r.connect_timeout_ms <= 0)
		r.connect_timeout_ms = (int)cfg_int(CFG_FETCH_CONNECT_TIMEOUT_SECS) * 1000;
	buf_init(&frame, NETMSG_MAX_REQUEST + NETMSG_LEN_BYTES);
	if (netmsg_put_request(&frame, f->next_id, &r) != 0) {
		buf_free(&frame);
		return -1;
	}
	if (f->h == NULL)
		f->h = helper_start(f);
	if (f->h == NULL) {
		buf_free(&frame);
		return -1;
	}
	p = xcalloc(1, sizeof(*p));
	p->id = f->next_id++;
	if (f->next_id == 0)
		f->next_id = 1;
	p->cb = cb;
	p->ud = ud;
	p->cap = r.cap;
	p->on_body = r.on_body;
	p->body_ud = r.body_ud;
	p->deadline = uv_now(f->loop) + (uint64_t)r.timeout_ms + FETCH_HELPER_GRACE_MS;
	p->next = f->h->pend;
	f->h->pend = p;
	w = xcalloc(1, sizeof(*w));
	w->data = frame.data;
	b = uv_buf_init(frame.data, (unsigned int)frame.len);
	if (uv_is_closing((uv_handle_t *)&f->h->to) ||
	    uv_write(w, (uv_stream_t *)&f->h->to, &b, 1, on_written) != 0) {
		/* The helper is on its way out (lingered too long): this
		 * request fails; the next one starts a new helper. */
		free(frame.data);
		free(w);
		take_pend(f->h, p->id);
		free(p);
		helper_drop(f->h, "the network helper is gone");
		f->h = helper_start(f);
		return f->h ? fetch_start(f, req, cb, ud) : -1;
	}
	arm_timer(f->h);
	return 0;
}

pid_t fetcher_helper_pid(const struct fetcher *f)
{
	return f && f->h && !f->h->dead ? (pid_t)f->h->proc.pid : 0;
}

struct sync_state {
	struct fetch_response *out;
	bool done;
};

static void sync_done(struct fetch_response *res, void *ud)
{
	struct sync_state *s = ud;

	*s->out = *res;
	res->body.data = NULL; /* the caller owns it now */
	s->done = true;
}

int fetch_sync(const struct fetch_request *req, struct fetch_response *res)
{
	struct sync_state st = { res, false };
	struct fetcher *f = NULL;
	uv_loop_t loop;

	memset(res, 0, sizeof(*res));
	buf_init(&res->body, req ? req->cap : 0);
	res->retry_after_s = res->ratelimit_remaining = res->ratelimit_reset = -1;
	if (uv_loop_init(&loop) != 0) {
		str_copy(res->error, "cannot start an event loop", sizeof(res->error));
		return -1;
	}
	f = fetcher_new(&loop);
	if (fetch_start(f, req, sync_done, &st) != 0) {
		str_copy(res->error, "cannot start the request (bad URL or settings)", sizeof(res->error));
		goto out;
	}
	while (!st.done && uv_run(&loop, UV_RUN_ONCE) != 0)
		;
out:
	fetcher_free(f);
	uv_run(&loop, UV_RUN_DEFAULT); /* let the helper go and the handles close */
	uv_loop_close(&loop);
	if (!st.done && res->body.data == NULL)
		buf_append(&res->body, "", 0);
	return st.done && res->ok ? 0 : -1;
}

void fetch_response_free(struct fetch_response *res)
{
	if (res)
		buf_free(&res->body);
}

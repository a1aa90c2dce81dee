/*
 * net_main.c - ant-agent-net, the agent's network helper. It reads framed
 * requests (netmsg.h) on stdin, runs them with libcurl and writes one
 * framed answer per request on stdout, in the order they finish. It holds
 * no secrets: the agent starts it with a near-empty environment and sends
 * with each request only what that request needs. It exits when stdin
 * closes and its last transfer is answered, or at once on a broken frame.
 */
#include "fetch_curl.h"
#include "netmsg.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct helper {
	uv_loop_t *loop;
	uv_pipe_t in;
	struct cfetcher *f;
	struct job *jobs;       /* requests in flight, to find one to cancel */
	struct buf rx;
	int inflight;
	bool eof;
};

struct job {
	struct helper *h;
	uint32_t id;
	bool stream;
	struct job *next;
};

static struct helper g;

static void write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDOUT_FILENO, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pf = { .fd = STDOUT_FILENO, .events = POLLOUT };

			poll(&pf, 1, -1);
			continue;
		}
		if (w <= 0)
			_exit(3); /* the agent is gone */
		p += w;
		n -= (size_t)w;
	}
}

static void maybe_finish(struct helper *h)
{
	if (h->eof && h->inflight == 0 && h->f) {
		cfetch_free(h->f);
		h->f = NULL;
		if (!uv_is_closing((uv_handle_t *)&h->in))
			uv_close((uv_handle_t *)&h->in, NULL);
	}
}

static void answer(uint32_t id, const struct fetch_response *res)
{
	struct buf out;

	buf_init(&out, NETMSG_MAX_BODY_CAP + NETMSG_ANSWER_FIXED);
	if (netmsg_put_answer(&out, id, res) == 0)
		write_all(out.data, out.len);
	buf_free(&out);
}

static void job_unlink(struct job *j)
{
	for (struct job **jp = &j->h->jobs; *jp; jp = &(*jp)->next) {
		if (*jp == j) {
			*jp = j->next;
			return;
		}
	}
}

static void on_done(struct fetch_response *res, void *ud)
{
	struct job *j = ud;
	struct helper *h = j->h;

	answer(j->id, res);
	job_unlink(j);
	free(j);
	h->inflight--;
	maybe_finish(h);
}

/* A piece of a streamed body, sent as curl hands it over, in messages of
 * at most NETMSG_MAX_PIECE bytes. */
static int on_piece(const void *p, size_t n, void *ud)
{
	struct job *j = ud;
	const char *q = p;
	struct buf out;

	buf_init(&out, NETMSG_MAX_PIECE + NETMSG_PIECE_FIXED + NETMSG_LEN_BYTES);
	while (n > 0) {
		size_t k = n < NETMSG_MAX_PIECE ? n : NETMSG_MAX_PIECE;

		buf_reset(&out);
		if (netmsg_put_piece(&out, j->id, q, k) != 0)
			goto fail;
		write_all(out.data, out.len);
		q += k;
		n -= k;
	}
	buf_free(&out);
	return 0;
fail:
	buf_free(&out);
	return -1;
}

/* The agent no longer wants this streamed request. If it has already
 * ended, its answer is on the way and there is nothing to do; otherwise
 * it stops here and is answered once, as a write error like an on_body
 * that said stop. */
static void cancel_job(struct helper *h, uint32_t id)
{
	struct fetch_response res;
	struct job *j;

	for (j = h->jobs; j; j = j->next)
		if (j->id == id && j->stream)
			break;
	if (j == NULL || h->f == NULL)
		return;
	memset(&res, 0, sizeof(res));
	if (cfetch_cancel(h->f, j, &res.body_bytes) != 0)
		return;
	res.retry_after_s = res.ratelimit_remaining = res.ratelimit_reset = -1;
	res.curl_code = NETMSG_WRITE_ERROR;
	str_copy(res.error, "the transfer was stopped by the agent", sizeof(res.error));
	answer(id, &res);
	job_unlink(j);
	free(j);
	h->inflight--;
	maybe_finish(h);
}

static void fail_request(uint32_t id, const char *why)
{
	struct fetch_response res;

	memset(&res, 0, sizeof(res));
	res.retry_after_s = res.ratelimit_remaining = res.ratelimit_reset = -1;
	str_copy(res.error, why, sizeof(res.error));
	answer(id, &res);
}

static void handle_frame(struct helper *h, const unsigned char *p, size_t n)
{
	struct netmsg_request m;
	char *store = NULL;
	struct job *j;

	if (n > 0 && p[0] == NETMSG_CANCEL) {
		uint32_t id;

		if (netmsg_get_cancel(p, n, &id) != 0)
			_exit(2);
		cancel_job(h, id);
		return;
	}
	if (netmsg_get_request(p, n, &m, &store) != 0) {
		uint32_t id;
		/* The id is the second field; a frame too short for it is
		 * not from the agent. */
		if (n < 5 || p[0] != NETMSG_REQUEST)
			_exit(2);
		id = netmsg_frame_len(p + 1);
		fail_request(id, "the request was refused by the network helper (malformed)");
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->h = h;
	j->id = m.id;
	j->stream = m.stream;
	if (m.stream) {
		m.req.on_body = on_piece;
		m.req.body_ud = j;
	}
	if (h->f == NULL || cfetch_start(h->f, &m.req, on_done, j) != 0) {
		free(j);
		fail_request(m.id, "cannot start the request (bad URL or settings)");
	} else {
		j->next = h->jobs;
		h->jobs = j;
		h->inflight++;
	}
	free(store);
}

static void on_alloc(uv_handle_t *hd, size_t hint, uv_buf_t *b)
{
	static char chunk[64 * 1024];

	(void)hd;
	(void)hint;
	b->base = chunk;
	b->len = sizeof(chunk);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct helper *h = &g;
	size_t at = 0;

	(void)s;
	if (nread < 0) {
		uv_read_stop((uv_stream_t *)&h->in);
		h->eof = true;
		maybe_finish(h);
		return;
	}
	if (buf_append(&h->rx, b->base, (size_t)nread) != 0)
		_exit(2);
	while (h->rx.len - at >= NETMSG_LEN_BYTES) {
		uint32_t len = netmsg_frame_len((unsigned char *)h->rx.data + at);

		if (len > NETMSG_MAX_REQUEST)
			_exit(2);
		if (h->rx.len - at - NETMSG_LEN_BYTES < len)
			break;
		handle_frame(h, (unsigned char *)h->rx.data + at + NETMSG_LEN_BYTES, len);
		at += NETMSG_LEN_BYTES + len;
	}
	if (at > 0) {
		memmove(h->rx.data, h->rx.data + at, h->rx.len - at);
		h->rx.len -= at;
	}
}

int main(int argc, char **argv)
{
	(void)argv;
	if (argc != 1 || isatty(STDIN_FILENO)) {
		fprintf(stderr, "ant-agent-net is started by ant-agent; it is not run by hand.\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	fd_cloexec_from(3);
	g.loop = uv_default_loop();
	buf_init(&g.rx, NETMSG_MAX_REQUEST + NETMSG_LEN_BYTES);
	g.f = cfetch_new(g.loop);
	if (g.f == NULL)
		return 1;
	if (uv_pipe_init(g.loop, &g.in, 0) != 0 || uv_pipe_open(&g.in, STDIN_FILENO) != 0)
		return 1;
	uv_read_start((uv_stream_t *)&g.in, on_alloc, on_read);
	uv_run(g.loop, UV_RUN_DEFAULT);
	buf_free(&g.rx);
	return 0;
}

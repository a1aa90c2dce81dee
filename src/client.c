/*
 * client.c - finding, probing and running the `ant` client.
 *
 * A call is a child process in its own session (so its own process group)
 * with stdin on /dev/null and both output streams read into capped
 * captures. Stopping a call always targets the whole group, and once the
 * child has exited the group gets SIGKILL too, so no descendant outlives
 * the call. libuv reaps the child (its SIGCHLD handler is the one place
 * that calls waitpid); the call completes when the child has exited, both
 * pipes are closed or the drain timer gave up on them, and every handle
 * has been closed.
 */
#include "client.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#define VERSION_OUTPUT_MAX 16384

int client_check_path(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "CLIENT_PATH is empty: set it to the Autonomi client (ant)");
		return -1;
	}
	if (stat(path, &st) != 0) {
		snprintf(err, errlen,
			 "client not found at '%s' (%s): install the Autonomi client `ant` there "
			 "(e.g. with antup, then copy or link it to %s) or set CLIENT_PATH",
			 path, strerror(errno), path);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "CLIENT_PATH '%s' is a directory, not the client program", path);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || access(path, X_OK) != 0) {
		snprintf(err, errlen, "client '%s' is not an executable file (try: chmod +x %s)",
			 path, path);
		return -1;
	}
	return 0;
}

int client_parse_version(const char *output, char *out, size_t n)
{
	const char *line = output;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char tmp[256];

		if (len >= sizeof(tmp))
			len = sizeof(tmp) - 1;
		memcpy(tmp, line, len);
		tmp[len] = '\0';
		str_trim(tmp);
		/* The first non-empty line names the client in both forms; it
		 * must carry something that looks like a version number. */
		if (*tmp) {
			for (char *p = tmp; *p; p++) {
				if (isdigit((unsigned char)*p) && p[1] == '.') {
					str_copy(out, tmp, n);
					return 0;
				}
			}
			return -1;
		}
		line = nl ? nl + 1 : NULL;
	}
	return -1;
}

struct probe {
	uv_process_t proc;
	uv_pipe_t out;
	uv_timer_t timer;
	struct buf buf;
	int64_t exit_status;
	int term_signal;
	int exited;
	int timed_out;
};

static void probe_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	static char chunk[4096];

	(void)h;
	(void)hint;
	b->base = chunk;
	b->len = sizeof(chunk);
}

static void probe_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct probe *p = container_of((uv_pipe_t *)s, struct probe, out);

	if (nread > 0)
		buf_append(&p->buf, b->base, (size_t)nread);
	else if (nread < 0)
		uv_close((uv_handle_t *)s, NULL);
}

static void probe_exit(uv_process_t *proc, int64_t status, int sig)
{
	struct probe *p = container_of(proc, struct probe, proc);

	p->exit_status = status;
	p->term_signal = sig;
	p->exited = 1;
	uv_close((uv_handle_t *)proc, NULL);
	uv_timer_stop(&p->timer);
	uv_close((uv_handle_t *)&p->timer, NULL);
}

static void probe_timeout(uv_timer_t *t)
{
	struct probe *p = container_of(t, struct probe, timer);

	p->timed_out = 1;
	uv_process_kill(&p->proc, SIGKILL);
}

int client_probe_version(const char *path, int timeout_ms, char *out, size_t n,
			 char *err, size_t errlen)
{
	uv_loop_t loop;
	struct probe p;
	uv_process_options_t opts;
	uv_stdio_container_t stdio[3];
	char *args[3];
	int rc = -1, r;

	if (client_check_path(path, err, errlen) != 0)
		return -1;
	memset(&p, 0, sizeof(p));
	buf_init(&p.buf, VERSION_OUTPUT_MAX);
	if (uv_loop_init(&loop) != 0) {
		snprintf(err, errlen, "cannot create an event loop");
		return -1;
	}
	uv_pipe_init(&loop, &p.out, 0);
	uv_timer_init(&loop, &p.timer);
	args[0] = (char *)(uintptr_t)path;
	args[1] = "--version";
	args[2] = NULL;
	memset(&opts, 0, sizeof(opts));
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[1].data.stream = (uv_stream_t *)&p.out;
	stdio[2].flags = UV_IGNORE;
	opts.file = path;
	opts.args = args;
	opts.stdio = stdio;
	opts.stdio_count = 3;
	opts.exit_cb = probe_exit;
	r = uv_spawn(&loop, &p.proc, &opts);
	if (r != 0) {
		snprintf(err, errlen, "cannot run '%s --version': %s", path, uv_strerror(r));
		uv_close((uv_handle_t *)&p.out, NULL);
		uv_close((uv_handle_t *)&p.timer, NULL);
		uv_close((uv_handle_t *)&p.proc, NULL);
		goto done;
	}
	uv_read_start((uv_stream_t *)&p.out, probe_alloc, probe_read);
	uv_timer_start(&p.timer, probe_timeout, (uint64_t)timeout_ms, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (p.timed_out)
		snprintf(err, errlen, "'%s --version' did not answer within %d ms", path, timeout_ms);
	else if (p.term_signal)
		snprintf(err, errlen, "'%s --version' was killed by signal %d", path, p.term_signal);
	else if (p.exit_status != 0)
		snprintf(err, errlen, "'%s --version' failed with exit code %lld", path,
			 (long long)p.exit_status);
	else if (client_parse_version(p.buf.data ? p.buf.data : "", out, n) != 0)
		snprintf(err, errlen, "'%s --version' printed no version: is it the Autonomi client?", path);
	else
		rc = 0;
done:
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	buf_free(&p.buf);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Pure parts: argv, environment, output parsing, classification.      */

const char *client_op_name(enum client_op op)
{
	switch (op) {
	case CLIENT_OP_DOWNLOAD: return "download";
	case CLIENT_OP_COST: return "cost";
	case CLIENT_OP_UPLOAD: return "upload";
	}
	return "?";
}

void client_settings_now(struct client_settings *s)
{
	s->path = cfg_str(CFG_CLIENT_PATH);
	s->peers = cfg_str(CFG_CLIENT_PEERS);
	s->log_path = cfg_str(CFG_CLIENT_LOGGING_PATH);
	s->extra = cfg_str(CFG_CLIENT_ARGS);
}

bool client_address_valid(const char *a)
{
	size_t i;

	if (a == NULL)
		return false;
	for (i = 0; a[i]; i++)
		if (!isxdigit((unsigned char)a[i]) || i >= CAT_ADDRESS_MAX)
			return false;
	return i > 0;
}

struct argv_builder {
	char **v;
	int n;
	bool full;
};

static void argv_push(struct argv_builder *b, const char *s, size_t len)
{
	char *copy;

	if (b->n >= CLIENT_ARGV_MAX) {
		b->full = true;
		return;
	}
	copy = xmalloc(len + 1);
	memcpy(copy, s, len);
	copy[len] = '\0';
	b->v[b->n++] = copy;
}

/* Push each token of s, split on any of seps. */
static void argv_push_split(struct argv_builder *b, const char *flag, const char *s,
			    const char *seps)
{
	while (s && *s) {
		size_t skip = strspn(s, seps), len;

		s += skip;
		len = strcspn(s, seps);
		if (len == 0)
			break;
		if (flag)
			argv_push(b, flag, strlen(flag));
		argv_push(b, s, len);
		s += len;
	}
}

/* A path we hand to the client must not read as an option or hide a line
 * break in its log; the job only ever passes paths it made itself. */
static bool path_arg_ok(const char *p)
{
	return p != NULL && *p != '\0' && *p != '-' && strpbrk(p, "\n\r") == NULL;
}

char **client_build_argv(const struct client_settings *s, const struct client_request *req,
			 char *err, size_t errlen)
{
	struct argv_builder b;

	if (s->path == NULL || *s->path == '\0') {
		snprintf(err, errlen, "CLIENT_PATH is empty");
		return NULL;
	}
	switch (req->op) {
	case CLIENT_OP_DOWNLOAD:
		if (!client_address_valid(req->address)) {
			snprintf(err, errlen, "refusing a download address that is not 1..%d hex digits",
				 CAT_ADDRESS_MAX);
			return NULL;
		}
		if (!path_arg_ok(req->dest)) {
			snprintf(err, errlen, "refusing an unsafe download destination");
			return NULL;
		}
		break;
	case CLIENT_OP_COST:
	case CLIENT_OP_UPLOAD:
		if (!path_arg_ok(req->file)) {
			snprintf(err, errlen, "refusing an unsafe file argument");
			return NULL;
		}
		break;
	default:
		snprintf(err, errlen, "unknown client operation");
		return NULL;
	}
	b.v = xcalloc(CLIENT_ARGV_MAX + 1, sizeof(char *));
	b.n = 0;
	b.full = false;
	argv_push(&b, s->path, strlen(s->path));
	/* Global flags come before the subcommand, as the client expects. */
	argv_push_split(&b, "--peer", s->peers, ", \t");
	if (s->log_path && *s->log_path) {
		argv_push(&b, "--log-output-dest", strlen("--log-output-dest"));
		argv_push(&b, s->log_path, strlen(s->log_path));
	}
	argv_push_split(&b, NULL, s->extra, " \t");
	argv_push(&b, "file", 4);
	switch (req->op) {
	case CLIENT_OP_DOWNLOAD:
		argv_push(&b, "download", 8);
		argv_push(&b, req->address, strlen(req->address));
		argv_push(&b, req->dest, strlen(req->dest));
		break;
	case CLIENT_OP_COST:
		argv_push(&b, "cost", 4);
		argv_push(&b, req->file, strlen(req->file));
		break;
	case CLIENT_OP_UPLOAD:
		argv_push(&b, "upload", 6);
		argv_push(&b, req->file, strlen(req->file));
		if (req->public_upload)
			argv_push(&b, "--public", 8);
		break;
	}
	if (b.full) {
		snprintf(err, errlen, "more than %d client arguments (CLIENT_PEERS/CLIENT_ARGS)",
			 CLIENT_ARGV_MAX);
		client_argv_free(b.v);
		return NULL;
	}
	return b.v;
}

#define SECRET_ENV "SECRET_KEY="

char **client_build_env(char *const *env, const char *key)
{
	size_t n = 0, k = 0;
	char **v;

	while (env && env[n])
		n++;
	v = xcalloc(n + 2, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		/* The agent's own SECRET_KEY, wherever it came from, never
		 * reaches a child unless this call is an upload. */
		if (strncmp(env[i], SECRET_ENV, strlen(SECRET_ENV)) == 0)
			continue;
		v[k++] = xstrdup(env[i]);
	}
	if (key && *key) {
		size_t len = strlen(SECRET_ENV) + strlen(key) + 1;

		v[k] = xmalloc(len);
		snprintf(v[k], len, "%s%s", SECRET_ENV, key);
		k++;
	}
	v[k] = NULL;
	return v;
}

void client_argv_free(char **v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

size_t client_strip_ansi(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		if (*r != '\x1b') {
			*w++ = *r++;
			continue;
		}
		r++;
		if (*r == '[') {
			/* CSI: parameters and intermediates up to a final byte. */
			r++;
			while (*r && !(*r >= 0x40 && *r <= 0x7e))
				r++;
			if (*r)
				r++;
		} else if (*r == ']') {
			/* OSC: up to BEL or ESC backslash. */
			r++;
			while (*r && *r != '\a' && !(r[0] == '\x1b' && r[1] == '\\'))
				r++;
			if (*r == '\a')
				r++;
			else if (*r)
				r += 2;
		} else {
			/* nF escapes such as ESC ( B: intermediates, then a final byte. */
			while (*r >= 0x20 && *r <= 0x2f)
				r++;
			if (*r)
				r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "0.000000000001048576", "12 AttoTokens", "3.5 ANT": tokens as a double. */
static bool parse_cost(const char *s, double *out)
{
	char num[64], unit[32];
	size_t len = strspn(s, "0123456789.");
	const char *u;
	double v;

	if (len == 0 || len >= sizeof(num))
		return false;
	memcpy(num, s, len);
	num[len] = '\0';
	if (parse_double(num, 0.0, 1e30, &v) != 0)
		return false;
	u = s + len;
	while (*u == ' ' || *u == '\t')
		u++;
	len = strcspn(u, " \t\r");
	if (len >= sizeof(unit))
		len = sizeof(unit) - 1;
	memcpy(unit, u, len);
	unit[len] = '\0';
	/* Some client versions print the integer amount of atto-tokens. */
	if ((str_ieq(unit, "AttoTokens") || str_ieq(unit, "atto")) && strchr(num, '.') == NULL)
		v /= 1e18;
	*out = v;
	return true;
}

static int64_t parse_count_after_colon(const char *line)
{
	const char *c = strrchr(line, ':');
	int64_t v;

	if (c == NULL || parse_i64(c + 1, 0, INT64_MAX, &v) != 0)
		return -1;
	return v;
}

static void parse_line(enum client_op op, const char *line, struct client_parsed *p)
{
	while (*line == ' ' || *line == '\t')
		line++;
	if (starts_with(line, "Total cost:")) {
		double v;

		if (parse_cost(line + strlen("Total cost:") + strspn(line + 11, " \t"), &v)) {
			p->has_cost = true;
			p->cost = v;
			if (op == CLIENT_OP_COST)
				p->success_line = true;
		}
	} else if (op == CLIENT_OP_DOWNLOAD && starts_with(line, "Successfully downloaded")) {
		p->success_line = true;
	} else if (op == CLIENT_OP_UPLOAD && starts_with(line, "At address:")) {
		const char *a = line + strlen("At address:");
		char tmp[CAT_ADDRESS_MAX + 2];
		size_t len;

		a += strspn(a, " \t");
		len = strcspn(a, " \t\r");
		if (len > CAT_ADDRESS_MAX) {
			p->address_invalid = true;
			return;
		}
		memcpy(tmp, a, len);
		tmp[len] = '\0';
		if (client_address_valid(tmp)) {
			str_copy(p->address, tmp, sizeof(p->address));
			p->success_line = true;
		} else {
			p->address_invalid = true;
		}
	} else if (op == CLIENT_OP_UPLOAD && starts_with(line, "All chunks already exist on the network")) {
		p->all_exist = true;
		p->success_line = true;
	} else if (starts_with(line, "Number of chunks uploaded:")) {
		p->chunks_uploaded = parse_count_after_colon(line);
	} else if (starts_with(line, "Number of chunks already")) {
		p->chunks_existing = parse_count_after_colon(line);
	}
}

void client_parse_output(enum client_op op, const char *out, struct client_parsed *p)
{
	memset(p, 0, sizeof(*p));
	p->chunks_uploaded = -1;
	p->chunks_existing = -1;
	while (out && *out) {
		const char *nl = strchr(out, '\n');
		size_t len = nl ? (size_t)(nl - out) : strlen(out);
		char line[1024];

		/* Result lines are short; a longer line is progress noise. */
		if (len < sizeof(line)) {
			memcpy(line, out, len);
			line[len] = '\0';
			parse_line(op, line, p);
		}
		out = nl ? nl + 1 : NULL;
	}
}

/*
 * Exit codes of ant 0.3.12 and later. The choices:
 *  - network_error: the network (or the way to it) failed us: network (13),
 *    protocol (14), put failures (41-45), bootstrap/connect (51-60);
 *  - data_loss: a download whose data could not be found or rebuilt
 *    (31-34); for quotes and uploads the same codes mean the network did
 *    not serve us, so network_error;
 *  - client_error: the problem is on this host or in the client itself:
 *    bad input (6), local I/O (12), self-encryption (15), wallet/payment
 *    (21-23), EVM configuration (61), and a panic (101) - a bug in the
 *    client, not a fault of the network.
 * Any other code (older clients exit 1 for everything) is classified from
 * the stderr text, then unknown_error.
 */
struct code_rule {
	int lo, hi;
	enum test_status status;
	const char *what;
};

static const struct code_rule code_rules[] = {
	{ 6, 6, ST_CLIENT_ERROR, "bad input" },
	{ 12, 12, ST_CLIENT_ERROR, "local I/O error" },
	{ 13, 13, ST_NETWORK_ERROR, "network error" },
	{ 14, 14, ST_NETWORK_ERROR, "protocol error" },
	{ 15, 15, ST_CLIENT_ERROR, "self-encryption error" },
	{ 21, 23, ST_CLIENT_ERROR, "EVM, wallet or payment error" },
	{ 31, 34, ST_DATA_LOSS, "data map, decryption, record not found or kind mismatch" },
	{ 41, 45, ST_NETWORK_ERROR, "put failure" },
	{ 51, 60, ST_NETWORK_ERROR, "bootstrap or connection failure" },
	{ 61, 61, ST_CLIENT_ERROR, "EVM configuration error" },
	{ 101, 101, ST_CLIENT_ERROR, "client panicked" },
};

/* stderr texts, tried in order (case-insensitive) when the exit code says
 * nothing specific. */
static const struct {
	const char *text;
	enum test_status status;
} text_rules[] = {
	{ "panicked", ST_CLIENT_ERROR },
	{ "Record could not be found", ST_DATA_LOSS },
	{ "Failed to fetch data from address", ST_DATA_LOSS },
	{ "Failed to decrypt", ST_DATA_LOSS },
	{ "Failed to connect to the network", ST_NETWORK_ERROR },
	{ "Could not connect to enough peers", ST_NETWORK_ERROR },
	{ "Failed to populate our routing table", ST_NETWORK_ERROR },
	{ "Not enough node quotes", ST_NETWORK_ERROR },
	{ "Failed to bootstrap", ST_NETWORK_ERROR },
	{ "Insufficient funds", ST_CLIENT_ERROR },
	{ "Failed to parse data address", ST_CLIENT_ERROR },
	{ "wallet", ST_CLIENT_ERROR },
};

/* Data-loss findings only make sense for downloads. */
static enum test_status for_op(enum client_op op, enum test_status s)
{
	return (s == ST_DATA_LOSS && op != CLIENT_OP_DOWNLOAD) ? ST_NETWORK_ERROR : s;
}

enum test_status client_classify(enum client_op op, int exit_code, int term_signal,
				 bool stopped_by_agent, bool success_line, const char *err_text,
				 char *reason, size_t n)
{
	if (stopped_by_agent) {
		snprintf(reason, n, "stopped by the agent (timeout or shutdown)");
		return ST_KILLED;
	}
	if (term_signal != 0) {
		snprintf(reason, n, "client died from signal %d", term_signal);
		return ST_UNKNOWN_ERROR;
	}
	if (exit_code == 0) {
		if (success_line) {
			snprintf(reason, n, "ok");
			return ST_OK;
		}
		snprintf(reason, n, "exit code 0 without the %s success line", client_op_name(op));
		return ST_UNKNOWN_ERROR;
	}
	for (size_t i = 0; i < ARRAY_SIZE(code_rules); i++) {
		if (exit_code >= code_rules[i].lo && exit_code <= code_rules[i].hi) {
			snprintf(reason, n, "exit code %d: %s", exit_code, code_rules[i].what);
			return for_op(op, code_rules[i].status);
		}
	}
	for (size_t i = 0; err_text && i < ARRAY_SIZE(text_rules); i++) {
		if (strcasestr(err_text, text_rules[i].text) != NULL) {
			snprintf(reason, n, "exit code %d: %s", exit_code, text_rules[i].text);
			return for_op(op, text_rules[i].status);
		}
	}
	snprintf(reason, n, "exit code %d", exit_code);
	return ST_UNKNOWN_ERROR;
}

/* ------------------------------------------------------------------ */
/* Capturing output: head and tail with a count of what was dropped.    */

struct capture {
	char *head;       /* CLIENT_OUTPUT_HEAD bytes */
	size_t head_len;
	char *tail;       /* ring of CLIENT_OUTPUT_TAIL bytes, made on demand */
	size_t tail_pos;  /* next write position */
	size_t tail_len;
	uint64_t total;
	char chunk[16384]; /* libuv reads into this */
	bool eof;
};

static void capture_add(struct capture *c, const char *p, size_t n)
{
	size_t take;

	c->total += n;
	if (c->head_len < CLIENT_OUTPUT_HEAD) {
		take = CLIENT_OUTPUT_HEAD - c->head_len;
		if (take > n)
			take = n;
		if (c->head == NULL)
			c->head = xmalloc(CLIENT_OUTPUT_HEAD);
		memcpy(c->head + c->head_len, p, take);
		c->head_len += take;
		p += take;
		n -= take;
	}
	if (n == 0)
		return;
	if (c->tail == NULL)
		c->tail = xmalloc(CLIENT_OUTPUT_TAIL);
	if (n > CLIENT_OUTPUT_TAIL) {
		p += n - CLIENT_OUTPUT_TAIL;
		n = CLIENT_OUTPUT_TAIL;
	}
	while (n > 0) {
		take = CLIENT_OUTPUT_TAIL - c->tail_pos;
		if (take > n)
			take = n;
		memcpy(c->tail + c->tail_pos, p, take);
		c->tail_pos = (c->tail_pos + take) % CLIENT_OUTPUT_TAIL;
		c->tail_len += take;
		if (c->tail_len > CLIENT_OUTPUT_TAIL)
			c->tail_len = CLIENT_OUTPUT_TAIL;
		p += take;
		n -= take;
	}
}

static uint64_t capture_dropped(const struct capture *c)
{
	return c->total - c->head_len - c->tail_len;
}

/* Head, a marker when bytes were dropped, then the tail in order; NUL
 * bytes become spaces so the text can be searched as a string. */
static void capture_text(const struct capture *c, struct buf *out)
{
	size_t start = (c->tail_pos + CLIENT_OUTPUT_TAIL - c->tail_len) % CLIENT_OUTPUT_TAIL;
	size_t first;

	if (c->head_len)
		buf_append(out, c->head, c->head_len);
	if (capture_dropped(c) > 0)
		buf_printf(out, "\n[%llu bytes of output dropped]\n",
			   (unsigned long long)capture_dropped(c));
	first = CLIENT_OUTPUT_TAIL - start;
	if (first > c->tail_len)
		first = c->tail_len;
	if (first)
		buf_append(out, c->tail + start, first);
	if (c->tail_len > first)
		buf_append(out, c->tail, c->tail_len - first);
	for (size_t i = 0; i < out->len; i++)
		if (out->data[i] == '\0')
			out->data[i] = ' ';
}

static void capture_free(struct capture *c)
{
	free(c->head);
	free(c->tail);
}

/* ------------------------------------------------------------------ */
/* Running a call.                                                      */

struct client_call {
	uv_process_t proc;
	uv_pipe_t out_pipe;
	uv_pipe_t err_pipe;
	uv_timer_t timer;   /* timeout, then the SIGKILL grace */
	uv_timer_t drain;   /* after exit: how long to wait for the pipes */
	int open_handles;
	enum client_op op;
	pid_t pid;
	bool exited;
	bool finishing;
	int64_t exit_status;
	int term_signal;
	uint64_t start_ns;
	uint64_t end_ns;
	bool timed_out;
	bool terminated;
	bool killed;
	struct capture out;
	struct capture err;
	client_done_cb cb;
	void *ud;
};

extern char **environ;

static void signal_group(struct client_call *c, int sig)
{
	/* The child called setsid(), so its pid is its process group id. A
	 * group that is already empty answers ESRCH, which is fine. */
	if (c->pid > 0 && kill(-c->pid, sig) != 0 && errno != ESRCH)
		log_debug("client: kill(-%d, %d): %s", (int)c->pid, sig, strerror(errno));
}

static void deliver(struct client_call *c)
{
	struct client_result r;
	struct buf out, err;
	char classify_reason[sizeof(r.reason)];

	memset(&r, 0, sizeof(r));
	buf_init(&out, CLIENT_OUTPUT_HEAD + CLIENT_OUTPUT_TAIL + 128);
	buf_init(&err, CLIENT_OUTPUT_HEAD + CLIENT_OUTPUT_TAIL + 128);
	capture_text(&c->out, &out);
	capture_text(&c->err, &err);
	r.op = c->op;
	r.out = out.data ? out.data : "";
	r.out_len = out.data ? client_strip_ansi(out.data) : 0;
	r.out_dropped = capture_dropped(&c->out);
	r.err = err.data ? err.data : "";
	r.err_len = err.data ? client_strip_ansi(err.data) : 0;
	r.err_dropped = capture_dropped(&c->err);
	r.term_signal = c->term_signal;
	r.exit_code = c->term_signal ? -1 : (int)c->exit_status;
	r.timed_out = c->timed_out;
	r.terminated = c->terminated;
	r.killed = c->killed;
	r.elapsed_s = (double)(c->end_ns - c->start_ns) / 1e9;
	client_parse_output(c->op, r.out, &r.parsed);
	r.status = client_classify(c->op, r.exit_code, r.term_signal,
				   c->timed_out || c->terminated, r.parsed.success_line, r.err,
				   classify_reason, sizeof(classify_reason));
	if (c->timed_out)
		snprintf(r.reason, sizeof(r.reason), "timed out%s",
			 c->killed ? " (needed SIGKILL)" : "");
	else
		str_copy(r.reason, classify_reason, sizeof(r.reason));
	c->cb(&r, c->ud);
	buf_free(&out);
	buf_free(&err);
	capture_free(&c->out);
	capture_free(&c->err);
	free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct client_call *c = h->data;

	if (--c->open_handles == 0)
		deliver(c);
}

static void close_handle(struct client_call *c, uv_handle_t *h)
{
	h->data = c;
	if (!uv_is_closing(h))
		uv_close(h, on_handle_closed);
}

static void maybe_finish(struct client_call *c)
{
	if (c->finishing || !c->exited || !c->out.eof || !c->err.eof)
		return;
	c->finishing = true;
	close_handle(c, (uv_handle_t *)&c->proc);
	close_handle(c, (uv_handle_t *)&c->out_pipe);
	close_handle(c, (uv_handle_t *)&c->err_pipe);
	close_handle(c, (uv_handle_t *)&c->timer);
	close_handle(c, (uv_handle_t *)&c->drain);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct client_call *c = h->data;
	struct capture *cap = (uv_pipe_t *)h == &c->out_pipe ? &c->out : &c->err;

	(void)hint;
	b->base = cap->chunk;
	b->len = sizeof(cap->chunk);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct client_call *c = s->data;
	struct capture *cap = (uv_pipe_t *)s == &c->out_pipe ? &c->out : &c->err;

	if (nread > 0) {
		capture_add(cap, b->base, (size_t)nread);
		return;
	}
	if (nread < 0) {
		/* EOF or a read error: either way this stream is done. */
		uv_read_stop(s);
		cap->eof = true;
		maybe_finish(c);
	}
}

static void on_drain_timeout(uv_timer_t *t)
{
	struct client_call *c = container_of(t, struct client_call, drain);

	log_warn("client: output pipes still open %d ms after the client exited; closing them",
		 CLIENT_DRAIN_MS);
	uv_read_stop((uv_stream_t *)&c->out_pipe);
	uv_read_stop((uv_stream_t *)&c->err_pipe);
	c->out.eof = c->err.eof = true;
	maybe_finish(c);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
	struct client_call *c = container_of(p, struct client_call, proc);

	c->end_ns = clock_mono_ns();
	c->exited = true;
	c->exit_status = status;
	c->term_signal = sig;
	/* Whatever the child left behind in its group goes with it. */
	signal_group(c, SIGKILL);
	uv_timer_stop(&c->timer);
	uv_timer_start(&c->drain, on_drain_timeout, CLIENT_DRAIN_MS, 0);
	maybe_finish(c);
}

static void on_grace(uv_timer_t *t)
{
	struct client_call *c = container_of(t, struct client_call, timer);

	if (c->exited)
		return;
	c->killed = true;
	signal_group(c, SIGKILL);
}

static void start_grace(struct client_call *c)
{
	uv_timer_stop(&c->timer);
	clock_timer_start(&c->timer, on_grace, cfg_int(CFG_CLIENT_KILL_GRACE_SECS) * 1000);
}

static void on_timeout(uv_timer_t *t)
{
	struct client_call *c = container_of(t, struct client_call, timer);

	if (c->exited)
		return;
	c->timed_out = true;
	log_debug("client: %s call (pid %d) timed out; stopping its process group",
		  client_op_name(c->op), (int)c->pid);
	signal_group(c, SIGTERM);
	start_grace(c);
}

void client_terminate(struct client_call *c, bool force)
{
	if (c == NULL || c->exited)
		return;
	c->terminated = true;
	if (force) {
		c->killed = true;
		signal_group(c, SIGKILL);
		uv_timer_stop(&c->timer);
		return;
	}
	signal_group(c, SIGTERM);
	start_grace(c);
}

pid_t client_pid(const struct client_call *c)
{
	return c->pid;
}

static void free_unstarted(uv_handle_t *h)
{
	struct client_call *c = h->data;

	if (--c->open_handles == 0)
		free(c);
}

struct client_call *client_start(uv_loop_t *loop, const struct client_request *req,
				 client_done_cb cb, void *ud, char *err, size_t errlen)
{
	struct client_settings s;
	struct client_call *c = NULL;
	uv_process_options_t opts;
	uv_stdio_container_t stdio[3];
	char **argv = NULL, **envp = NULL;
	int r;

	client_settings_now(&s);
	if (client_check_path(s.path, err, errlen) != 0)
		return NULL;
	argv = client_build_argv(&s, req, err, errlen);
	if (argv == NULL)
		return NULL;
	envp = client_build_env(environ, req->op == CLIENT_OP_UPLOAD ? cfg_str(CFG_SECRET_KEY) : NULL);
	c = xcalloc(1, sizeof(*c));
	c->op = req->op;
	c->cb = cb;
	c->ud = ud;
	uv_pipe_init(loop, &c->out_pipe, 0);
	uv_pipe_init(loop, &c->err_pipe, 0);
	uv_timer_init(loop, &c->timer);
	uv_timer_init(loop, &c->drain);
	c->out_pipe.data = c->err_pipe.data = c;
	c->open_handles = 5;
	memset(&opts, 0, sizeof(opts));
	/* libuv opens /dev/null for an ignored stdin. */
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[1].data.stream = (uv_stream_t *)&c->out_pipe;
	stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[2].data.stream = (uv_stream_t *)&c->err_pipe;
	opts.file = argv[0];
	opts.args = argv;
	opts.env = envp;
	opts.stdio = stdio;
	opts.stdio_count = 3;
	opts.exit_cb = on_exit_cb;
	/* DETACHED = setsid() in the child: a new session and process group,
	 * so a signal to the group reaches every descendant and none of ours. */
	opts.flags = UV_PROCESS_DETACHED;
	c->start_ns = clock_mono_ns();
	r = uv_spawn(loop, &c->proc, &opts);
	client_argv_free(argv);
	client_argv_free(envp);
	if (r != 0) {
		snprintf(err, errlen, "cannot run the client '%s': %s", s.path, uv_strerror(r));
		c->proc.data = c->out_pipe.data = c->err_pipe.data = c->timer.data = c->drain.data = c;
		uv_close((uv_handle_t *)&c->proc, free_unstarted);
		uv_close((uv_handle_t *)&c->out_pipe, free_unstarted);
		uv_close((uv_handle_t *)&c->err_pipe, free_unstarted);
		uv_close((uv_handle_t *)&c->timer, free_unstarted);
		uv_close((uv_handle_t *)&c->drain, free_unstarted);
		return NULL;
	}
	c->pid = c->proc.pid;
	uv_read_start((uv_stream_t *)&c->out_pipe, on_alloc, on_read);
	uv_read_start((uv_stream_t *)&c->err_pipe, on_alloc, on_read);
	if (req->timeout_ms > 0)
		clock_timer_start(&c->timer, on_timeout, req->timeout_ms);
	return c;
}

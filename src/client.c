/*
 * client.c - finding, probing and running the `ant` client.
 *
 * A call is a child process in its own session (so its own process group)
 * with stdin on /dev/null and both output streams read into capped
 * captures. Stopping a call always targets the whole group, and once the
 * child has exited the group gets SIGKILL too, so no descendant outlives
 * the call. The child is started vfork-style (no copy of the agent's page
 * tables, nor of its descriptor table: spawn_light), which blocks the
 * spawner until the child has exec'd. A lone call is spawned on the loop
 * at the end of its turn; the calls of a burst go to a small pool of
 * spawner threads:
 * the loop prepares the call (argv, environment, close-on-exec pipes,
 * handles), queues it and carries on; a thread spawns it and hands it back
 * through a uv_async_t. Either way the loop then watches the child
 * through a pidfd; its
 * readable event is the one place that reaps it (waitpid on that pid). The
 * call completes when the child has exited, both pipes are closed or the
 * drain timer gave up on them, and every handle has been closed. A spawn
 * that fails, or a call stopped before its child existed, completes the
 * same way, through the callback.
 */
#include "client.h"
#include "client_gen.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "state.h"
#include "util.h"

#include <ctype.h>
#include <limits.h>
#include <time.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <linux/close_range.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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

extern char **environ;

int client_probe_version(const char *path, int timeout_ms, char *out, size_t n,
			 char *raw, size_t rawlen, char *err, size_t errlen)
{
	static const char *const no_key[] = { "SECRET_KEY", NULL };
	struct client_argv env;
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
	/* The agent's environment without SECRET_KEY: only uploads get it. */
	client_argv_init(&env, CLIENT_ENV_MAX);
	client_env_copy_without(&env, environ, no_key);
	opts.env = client_argv_finish(&env, err, errlen);
	if (opts.env == NULL) {
		uv_close((uv_handle_t *)&p.out, NULL);
		uv_close((uv_handle_t *)&p.timer, NULL);
		goto done;
	}
	opts.stdio = stdio;
	opts.stdio_count = 3;
	opts.exit_cb = probe_exit;
	r = uv_spawn(&loop, &p.proc, &opts);
	client_argv_free(opts.env);
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
	if (rc == 0 && raw != NULL)
		str_copy(raw, p.buf.data ? p.buf.data : "", rawlen);
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

/* The generation every call uses; set once at start-up. */
static const struct client_gen *g_gen;

const struct client_gen *client_generation(void)
{
	return g_gen ? g_gen : client_gens[0];
}

void client_set_generation(const struct client_gen *g)
{
	g_gen = g;
}

int client_select_generation(const char *raw, char *version, size_t vn, char *err, size_t errlen)
{
	const char *want = cfg_str(CFG_CLIENT_GENERATION);
	const struct client_gen *g;
	char names[128];

	str_copy(version, "unknown", vn);
	g = client_gen_detect(raw ? raw : "", version, vn);
	if (str_ieq(want, "auto")) {
		if (g == NULL) {
			char first[128];

			if (client_parse_version(raw ? raw : "", first, sizeof(first)) != 0)
				str_copy(first, "(no version)", sizeof(first));
			client_gen_names(names, sizeof(names));
			snprintf(err, errlen,
				 "the client prints version '%s', which this agent does not know how to drive; "
				 "if it speaks like a known client, set CLIENT_GENERATION to one of: %s",
				 first, names);
			return -1;
		}
	} else {
		const struct client_gen *forced = client_gen_by_name(want);

		if (forced == NULL) {
			client_gen_names(names, sizeof(names));
			snprintf(err, errlen, "CLIENT_GENERATION '%s' is not one of: auto|%s", want, names);
			return -1;
		}
		/* The version tag is only meaningful when the row recognised it. */
		if (g != forced)
			str_copy(version, "unknown", vn);
		g = forced;
	}
	client_set_generation(g);
	return 0;
}

void client_settings_now(struct client_settings *s)
{
	s->path = cfg_str(CFG_CLIENT_PATH);
	s->peers = cfg_str(CFG_CLIENT_PEERS);
	s->log_path = cfg_str(CFG_CLIENT_LOGGING_PATH);
	s->extra = cfg_str(CFG_CLIENT_ARGS);
}

void client_log_root(char *out, size_t n)
{
	const char *p = cfg_str(CFG_CLIENT_LOGGING_PATH);

	if (p && *p)
		str_copy(out, p, n);
	else
		snprintf(out, n, "%s/client-logs", cfg_str(CFG_CACHE_DIR));
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

void client_argv_init(struct client_argv *b, int max)
{
	b->n = 0;
	b->max = max;
	b->alloc = 16;
	b->full = false;
	b->v = xcalloc((size_t)b->alloc + 1, sizeof(char *));
}

void client_argv_push_n(struct client_argv *b, const char *s, size_t len)
{
	char *copy;

	if (b->n >= b->max) {
		b->full = true;
		return;
	}
	if (b->n >= b->alloc) {
		b->alloc *= 2;
		b->v = xrealloc(b->v, ((size_t)b->alloc + 1) * sizeof(char *));
	}
	copy = xmalloc(len + 1);
	memcpy(copy, s, len);
	copy[len] = '\0';
	b->v[b->n++] = copy;
	b->v[b->n] = NULL;
}

void client_argv_push(struct client_argv *b, const char *s)
{
	client_argv_push_n(b, s, strlen(s));
}

void client_argv_push_split(struct client_argv *b, const char *s)
{
	while (s && *s) {
		size_t len;

		s += strspn(s, " \t");
		len = strcspn(s, " \t");
		if (len == 0)
			break;
		client_argv_push_n(b, s, len);
		s += len;
	}
}

char **client_argv_finish(struct client_argv *b, char *err, size_t errlen)
{
	if (b->full) {
		snprintf(err, errlen, "more than %d client arguments (CLIENT_ARGS)", b->max);
		client_argv_free(b->v);
		b->v = NULL;
		return NULL;
	}
	b->v[b->n] = NULL;
	return b->v;
}

/* A path we hand to the client must not read as an option or hide a line
 * break in its log; the job only ever passes paths it made itself. */
bool client_path_arg_ok(const char *p)
{
	return p != NULL && *p != '\0' && *p != '-' && strpbrk(p, "\n\r") == NULL;
}

int client_check_request(const struct client_request *req, char *err, size_t errlen)
{
	switch (req->op) {
	case CLIENT_OP_DOWNLOAD:
		if (!client_address_valid(req->address)) {
			snprintf(err, errlen, "refusing a download address that is not 1..%d hex digits",
				 CAT_ADDRESS_MAX);
			return -1;
		}
		if (!client_path_arg_ok(req->dest)) {
			snprintf(err, errlen, "refusing an unsafe download destination");
			return -1;
		}
		return 0;
	case CLIENT_OP_COST:
	case CLIENT_OP_UPLOAD:
		if (!client_path_arg_ok(req->file)) {
			snprintf(err, errlen, "refusing an unsafe file argument");
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "unknown client operation");
	return -1;
}

/* What every client may see: where programs and home are, language and
 * time zone, where temporary files go. Everything else is left out unless
 * the generation reads it or the operator names it (CLIENT_ENV_PASS). */
static const char *const env_base[] = { "PATH", "HOME", "LANG", "LC_*", "TZ", "TMPDIR", NULL };

/* Does the name of entry e (NAME=value) match pat: a name, or a prefix
 * ending in '*'? pat may end at patlen (a token inside a longer string). */
static bool env_name_matches(const char *e, const char *pat, size_t patlen)
{
	size_t nlen = strcspn(e, "=");

	if (patlen == 0)
		return false;
	if (pat[patlen - 1] == '*')
		return nlen >= patlen - 1 && strncmp(e, pat, patlen - 1) == 0;
	return nlen == patlen && strncmp(e, pat, patlen) == 0;
}

static bool env_in_list(const char *e, const char *const *list)
{
	for (size_t k = 0; list && list[k]; k++)
		if (env_name_matches(e, list[k], strlen(list[k])))
			return true;
	return false;
}

/* Is e named in a CLIENT_ENV_PASS string (commas or blanks between)? */
static bool env_in_setting(const char *e, const char *pass)
{
	while (pass && *pass) {
		size_t len;

		pass += strspn(pass, ", \t");
		len = strcspn(pass, ", \t");
		if (len > 0 && env_name_matches(e, pass, len))
			return true;
		pass += len;
	}
	return false;
}

bool client_env_is_secret(const char *e)
{
	char name[128];
	size_t n = strcspn(e, "=");
	enum cfg_key k;

	if (n >= sizeof(name))
		return false;
	memcpy(name, e, n);
	name[n] = '\0';
	/* Every setting marked SECRET (the wallet key, the tokens, the
	 * InfluxDB password), whatever the allowlists say. */
	return config_lookup(name, &k) == 0 && config_is_secret(k);
}

void client_env_copy_allowed(struct client_argv *b, char *const *env, const char *const *names,
			     const char *const *drop)
{
	const char *pass = cfg_str(CFG_CLIENT_ENV_PASS);

	for (size_t i = 0; env && env[i]; i++) {
		const char *e = env[i];

		if (strchr(e, '=') == NULL || client_env_is_secret(e) || env_in_list(e, drop))
			continue;
		if (env_in_list(e, env_base) || env_in_list(e, names) ||
		    env_in_setting(e, pass))
			client_argv_push(b, e);
	}
}

void client_env_copy_without(struct client_argv *b, char *const *env, const char *const *drop)
{
	client_env_copy_allowed(b, env, NULL, drop);
}

char **client_build_argv(const struct client_settings *s, const struct client_request *req,
			 const char *log_dir, char *err, size_t errlen)
{
	struct client_call_ctx ctx = { .log_dir = log_dir };

	return client_generation()->build_argv(s, req, &ctx, err, errlen);
}

char **client_build_env(char *const *env, const struct client_settings *s, const char *key)
{
	return client_generation()->build_env(env, s, key);
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

void client_parse_output(enum client_op op, const char *out, struct client_parsed *p)
{
	client_generation()->parse_output(op, out, p);
}

enum test_status client_classify(enum client_op op, int exit_code, int term_signal,
				 bool stopped_by_agent, bool success_line, const char *err_text,
				 char *reason, size_t n)
{
	return client_gen_classify(client_generation(), op, exit_code, term_signal, stopped_by_agent,
				   success_line, err_text, reason, n);
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
	bool eof;
};

/* Every pipe of every call reads into this one buffer: libuv hands it to
 * on_read as soon as read(2) has filled it, and on_read copies what it
 * keeps, so a call needs no buffer of its own (it had two of 16 KiB,
 * zeroed at each start). Loop thread only. */
static char g_read_buf[65536];

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
	uv_poll_t exit_poll; /* the child's pidfd: readable once it has exited */
	int pidfd;
	uv_pipe_t out_pipe;
	uv_pipe_t err_pipe;
	uv_timer_t timer;   /* timeout, then the SIGKILL grace */
	uv_timer_t drain;   /* after exit: how long to wait for the pipes */
	int open_handles;
	enum client_op op;
	pid_t pid;          /* set by the spawner; read on the loop once started */
	bool started;       /* the child exists and is watched (loop side) */
	bool exited;
	bool finishing;
	int64_t exit_status;
	int term_signal;
	uint64_t start_ns;  /* just before the spawn */
	uint64_t start_ticks; /* the child's start time in /proc, 0 unknown */
	uint64_t end_ns;
	int64_t timeout_ms;
	bool timed_out;
	bool terminated;
	bool killed;
	struct capture out;
	struct capture err;
	client_done_cb cb;
	void *ud;
	/* Handed to a spawner thread: argv and environment (freed there),
	 * the pipe ends (the write ends closed there), and what came of it. */
	struct client_call *next;
	char **argv;
	char **envp;
	int out_fd[2];
	int err_fd[2];
	bool taken;         /* under g_spawn.lock: a thread has it */
	bool cancelled;     /* under g_spawn.lock: terminated before a thread took it */
	bool not_started;   /* no child: fail_reason says why (loop side) */
	char fail_reason[160]; /* written by the spawner, read on the loop */
};

/* Where running clients are recorded (CACHE_DIR), so that the next agent
 * can end those a SIGKILL left behind; "" records nothing. */
static char g_state_dir[PATH_MAX];

void client_set_state_dir(const char *dir)
{
	str_copy(g_state_dir, dir ? dir : "", sizeof(g_state_dir));
}

static void signal_group(struct client_call *c, int sig)
{
	/* The child called setsid(), so its pid is its process group id. A
	 * group that is already empty answers ESRCH, which is fine. */
	if (c->pid > 0 && kill(-c->pid, sig) != 0 && errno != ESRCH)
		log_debug("client: kill(-%d, %d): %s", (int)c->pid, sig, strerror(errno));
}

/* The result of a call that never had a child: a spawn that failed, or
 * a call stopped while it still waited for a spawner thread. */
static void result_not_started(const struct client_call *c, struct client_result *r)
{
	r->exit_code = -1;
	r->terminated = c->terminated;
	r->killed = c->killed;
	r->out = r->err = "";
	if (c->terminated && c->fail_reason[0] == '\0') {
		r->status = ST_KILLED;
		str_copy(r->reason, "stopped by the agent before the client started",
			 sizeof(r->reason));
		return;
	}
	r->status = ST_CLIENT_ERROR;
	str_copy(r->reason, c->fail_reason, sizeof(r->reason));
}

static void deliver(struct client_call *c)
{
	struct client_result r;
	struct buf out, err;
	char classify_reason[sizeof(r.reason)];

	memset(&r, 0, sizeof(r));
	r.op = c->op;
	if (c->not_started) {
		result_not_started(c, &r);
		c->cb(&r, c->ud);
		free(c);
		return;
	}
	buf_init(&out, CLIENT_OUTPUT_HEAD + CLIENT_OUTPUT_TAIL + 128);
	buf_init(&err, CLIENT_OUTPUT_HEAD + CLIENT_OUTPUT_TAIL + 128);
	capture_text(&c->out, &out);
	capture_text(&c->err, &err);
	r.pid = c->pid;
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
	if (c->pidfd >= 0)
		close(c->pidfd);
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
	close_handle(c, (uv_handle_t *)&c->exit_poll);
	close_handle(c, (uv_handle_t *)&c->out_pipe);
	close_handle(c, (uv_handle_t *)&c->err_pipe);
	close_handle(c, (uv_handle_t *)&c->timer);
	close_handle(c, (uv_handle_t *)&c->drain);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	(void)h;
	(void)hint;
	b->base = g_read_buf;
	b->len = sizeof(g_read_buf);
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

static void client_exited(struct client_call *c, int64_t status, int sig)
{
	c->end_ns = clock_mono_ns();
	c->exited = true;
	c->exit_status = status;
	c->term_signal = sig;
	/* Whatever the child left behind in its group goes with it. */
	signal_group(c, SIGKILL);
	if (g_state_dir[0])
		state_client_remove(g_state_dir, c->pid);
	uv_timer_stop(&c->timer);
	uv_timer_start(&c->drain, on_drain_timeout, CLIENT_DRAIN_MS, 0);
	maybe_finish(c);
}

/* The one place a client is reaped: its pidfd turned readable. The pid
 * stays ours (a zombie) until then, so signalling its group is safe. */
static void on_exit_cb(uv_poll_t *p, int status, int events)
{
	struct client_call *c = container_of(p, struct client_call, exit_poll);
	int64_t code = 0;
	int sig = 0, ws = 0;
	pid_t r;

	(void)status;
	(void)events;
	do
		r = waitpid(c->pid, &ws, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return; /* not yet */
	uv_poll_stop(p);
	if (r == c->pid && WIFSIGNALED(ws))
		sig = WTERMSIG(ws);
	else if (r == c->pid)
		code = WEXITSTATUS(ws);
	else
		code = -1;
	client_exited(c, code, sig);
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

/* Signal a started child as client_terminate asked. */
static void stop_started(struct client_call *c)
{
	if (c->killed) {
		signal_group(c, SIGKILL);
		uv_timer_stop(&c->timer);
		return;
	}
	signal_group(c, SIGTERM);
	start_grace(c);
}

static void spawner_cancel(struct client_call *c);

void client_terminate(struct client_call *c, bool force)
{
	if (c == NULL || c->exited || c->finishing)
		return;
	c->terminated = true;
	if (force)
		c->killed = true;
	if (c->started) {
		stop_started(c);
		return;
	}
	/* No child yet: a queued call is never spawned; one being spawned
	 * is signalled as soon as the loop learns its pid (spawn_finish). */
	spawner_cancel(c);
}

pid_t client_pid(const struct client_call *c)
{
	return c->started ? c->pid : 0;
}

/* A fresh directory name for this call's logs under the log root (the
 * root is made private if missing; the client creates the leaf). Without
 * it the client makes a new directory under ~/.local/share per call that
 * nothing ever removes; here the refresh purge keeps the root within
 * CLIENT_LOG_KEEP_MB. */
static int call_log_dir(char *out, size_t n)
{
	static uint32_t seq;
	/* The root made last: then one mkdir says it is still there, rather
	 * than one per component of the path. Loop thread only. */
	static char made[PATH_MAX];
	char root[PATH_MAX], stamp[32];
	int64_t now = clock_now_ms();
	time_t t = (time_t)(now / 1000);
	struct tm tm;

	client_log_root(root, sizeof(root));
	str_copy(out, root, n);
	if (strcmp(root, made) != 0 || (mkdir(root, 0700) != 0 && errno != EEXIST)) {
		made[0] = '\0';
		if (mkdir_p(root, 0700) != 0)
			return -1;
		str_copy(made, root, sizeof(made));
	}
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d_%H-%M-%S", &tm);
	if (snprintf(out, n, "%s/log_%s_%d_%u", root, stamp, (int)getpid(), ++seq) >= (int)n) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* What a spawner thread owns for starting children the light way (see
 * spawn_light): a stack for the child's first moments, and two
 * descriptor slots, below g_spawn.fd_limit, that hold /dev/null except
 * while a call's pipe ends are being handed to its child. */
struct spawner_own {
	char *stack;        /* NULL: none could be had; not used */
	size_t stack_size;
	int out, err;
};


/* The child of spawn_light, on the spawner's stack and memory, with the
 * spawner's descriptor table shared (CLONE_FILES) until it takes a copy
 * of its own of the descriptors below fd_limit alone: copying the whole
 * table at every spawn, and closing it again at exec, grew with every
 * client running (three descriptors each). Every signal is blocked
 * (spawner threads block them all), so no handler of the agent can run
 * here. Only system calls: no allocation, no lock, no sanitizer hooks. */
struct light_args {
	char **argv, **envp;
	int out, err;       /* the spawner's slots */
	int fd_limit;
	int err_no;         /* why it could not exec; 0 when it did */
};

/* The kernel's struct sigaction for SIG_DFL, no flags, an empty mask, and
 * an empty signal set: all zeros, whatever the architecture's layout.
 * The kernel's set is _NSIG / 8 bytes. */
static const unsigned long g_k_zero[8];

__attribute__((no_sanitize("address", "undefined")))
static int light_child(void *arg)
{
	struct light_args *a = arg;
	long fd;

	/* The raw call, not glibc's sigaction: that refuses the two signals
	 * glibc keeps for itself, which an agent can inherit ignored. */
	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, g_k_zero, NULL, _NSIG / 8);
	if (syscall(SYS_setsid) < 0)
		goto fail;
	if (syscall(SYS_close_range, (unsigned)a->fd_limit, ~0U, CLOSE_RANGE_UNSHARE) != 0 &&
	    syscall(SYS_unshare, CLONE_FILES) != 0)
		goto fail;
	fd = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY);
	if (fd < 0 || (fd != 0 && (syscall(SYS_dup3, fd, 0, 0) < 0 || syscall(SYS_close, fd) < 0)))
		goto fail;
	if (syscall(SYS_dup3, a->out, 1, 0) < 0 || syscall(SYS_dup3, a->err, 2, 0) < 0)
		goto fail;
	if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, g_k_zero, NULL, _NSIG / 8) != 0)
		goto fail;
	syscall(SYS_execve, a->argv[0], a->argv, a->envp);
fail:
	a->err_no = errno ? errno : EINVAL;
	syscall(SYS_exit, 127);
	return 127;
}

/* posix_spawn's semantics without its costs that grow with the agent:
 * glibc's posix_spawn copies the whole descriptor table into the child
 * (which then closes it all again at exec) and maps and unmaps a stack
 * per call, each unmap a TLB flush on every CPU the agent's threads ran
 * on. Here the child shares the table until it copies the few
 * descriptors below fd_limit (close_range with CLOSE_RANGE_UNSHARE), and
 * the stack is the thread's own. The pipe ends reach it through the
 * thread's two slots, both close-on-exec. */
static void spawn_light(struct client_call *c, struct spawner_own *own, int devnull, int fd_limit,
			pid_t *pid_out)
{
	struct light_args a = { .argv = c->argv, .envp = c->envp, .out = own->out,
				.err = own->err, .fd_limit = fd_limit };
	pid_t pid = -1;
	int saved = 0;

	if (dup3(c->out_fd[1], own->out, O_CLOEXEC) < 0 ||
	    dup3(c->err_fd[1], own->err, O_CLOEXEC) < 0) {
		saved = errno;
	} else {
		/* The call's time starts here, not when it was queued. */
		c->start_ns = clock_mono_ns();
		pid = clone(light_child, own->stack + own->stack_size,
			    CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, &a);
		saved = errno;
	}
	/* The write ends are the child's alone now (or nobody's). */
	dup3(devnull, own->out, O_CLOEXEC);
	dup3(devnull, own->err, O_CLOEXEC);
	close(c->out_fd[1]);
	close(c->err_fd[1]);
	c->out_fd[1] = c->err_fd[1] = -1;
	if (pid > 0 && a.err_no != 0) {
		/* It never ran the client: reap it here. */
		waitpid(pid, NULL, 0);
		saved = a.err_no;
		pid = -1;
	}
	if (pid < 0)
		snprintf(c->fail_reason, sizeof(c->fail_reason), "cannot run the client '%s': %s",
			 c->argv[0], strerror(saved));
	*pid_out = pid;
}

/* Start the client without copying the agent's page tables: the child
 * runs on the parent's memory until it execs (CLONE_VM | CLONE_VFORK),
 * so the cost does not grow with the agent. The child gets a new session
 * (so its own process group: a signal to the group reaches every
 * descendant and none of ours), an empty signal mask and default
 * dispositions (the agent ignores SIGPIPE and SIGXFSZ), stdin on
 * /dev/null and the write ends of two pipes as stdout and stderr; every
 * other descriptor is close-on-exec. Exec errors come back to the
 * spawner.
 *
 * This runs on a spawner thread (or on the loop, for a lone call, with
 * signals blocked) and touches only the call's spawn fields (no log, no
 * settings, no handles). It always closes the write
 * ends and frees argv and envp; on success c->pid and c->pidfd are set,
 * else c->fail_reason says why. */
static void spawn_child(struct client_call *c, struct spawner_own *own, int devnull, int fd_limit)
{
	pid_t pid, pgrp;

	spawn_light(c, own, devnull, fd_limit, &pid);
	if (pid < 0)
		goto done;
	/* pidfd_open makes the descriptor close-on-exec. */
	c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (c->pidfd < 0) {
		snprintf(c->fail_reason, sizeof(c->fail_reason),
			 "cannot watch the client: pidfd_open: %s", strerror(errno));
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto done;
	}
	c->pid = pid;
	/* For the record of running clients; read here, off the loop. */
	if (state_proc_stat(pid, &pgrp, &c->start_ticks) != 0)
		c->start_ticks = 0;
done:
	client_argv_free(c->argv);
	client_argv_free(c->envp);
	c->argv = c->envp = NULL;
}

/* ------------------------------------------------------------------ */
/* Spawner threads.                                                     */

/* A spawn blocks its caller until the child has exec'd, and a burst
 * of calls would otherwise spawn one after another in one loop turn with
 * the loop stopped meanwhile. So spawns run on a few threads of their
 * own, fed by a queue under a mutex, and hand their calls back through a
 * uv_async_t. Not libuv's shared work pool: MD5 checks and seed files
 * can keep all its threads busy for seconds, and a spawn queued behind
 * them would hold up the call. A spawning thread mostly waits for its
 * child to be scheduled and to exec, not for a CPU of its own, so there
 * are more threads than cores: on 2 cores, four started a burst of 100
 * clients 3.1-3.7 ms apart where two needed 3.9-5.9 ms (bench/agent.sh
 * figure 4, loaded machine). As many as the CPUs beyond that, capped. */
#define CLIENT_SPAWN_THREADS_MIN 4
#define CLIENT_SPAWN_THREADS_MAX 8

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t threads[CLIENT_SPAWN_THREADS_MAX];
	int nthreads;
	bool stopping;
	/* Under lock: calls waiting for a thread, calls back from one. */
	struct client_call *queue_head, *queue_tail;
	struct client_call *done_head, *done_tail;
	/* Loop thread only, except that threads call uv_async_send on
	 * async under lock. A fresh handle per stretch of calls in flight,
	 * closed when none is left, so an idle loop can end and close. */
	uv_async_t *async;
	uv_loop_t *loop;
	int in_flight;      /* queued, spawning, or back but not yet taken */
	/* Set before the threads start, read-only while they run. */
	struct spawner_own own[CLIENT_SPAWN_THREADS_MAX];
	struct spawner_own loop_own; /* the loop thread's, for inline spawns */
	/* Loop thread only: the calls of this turn, not yet handed out. */
	uv_prepare_t *turn;
	struct client_call *turn_head, *turn_tail;
	int turn_calls;
	uint64_t on_loop, on_threads; /* spawns so far, by where they ran */
	int devnull;        /* /dev/null, close-on-exec: what idle slots hold */
	int fd_limit;       /* above every slot: what a light child copies */
} g_spawn = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER,
	      .devnull = -1 };

static void list_push(struct client_call **head, struct client_call **tail, struct client_call *c)
{
	c->next = NULL;
	if (*tail)
		(*tail)->next = c;
	else
		*head = c;
	*tail = c;
}

static void *spawner_main(void *arg)
{
	struct spawner_own *own = arg;
	struct client_call *c;

	pthread_mutex_lock(&g_spawn.lock);
	for (;;) {
		while (!g_spawn.stopping && g_spawn.queue_head == NULL)
			pthread_cond_wait(&g_spawn.wake, &g_spawn.lock);
		if (g_spawn.queue_head == NULL)
			break;
		c = g_spawn.queue_head;
		g_spawn.queue_head = c->next;
		if (g_spawn.queue_head == NULL)
			g_spawn.queue_tail = NULL;
		c->taken = true;
		/* A call stopped before it got here, or the agent is going
		 * away: no child. */
		if (g_spawn.stopping && !c->cancelled) {
			snprintf(c->fail_reason, sizeof(c->fail_reason),
				 "the client was not started: the agent is stopping");
		} else if (!c->cancelled) {
			pthread_mutex_unlock(&g_spawn.lock);
			spawn_child(c, own, g_spawn.devnull, g_spawn.fd_limit);
			pthread_mutex_lock(&g_spawn.lock);
			g_spawn.on_threads++;
		}
		list_push(&g_spawn.done_head, &g_spawn.done_tail, c);
		uv_async_send(g_spawn.async);
	}
	pthread_mutex_unlock(&g_spawn.lock);
	return NULL;
}

/* A light child's stack: it makes a few system calls and execs. A guard
 * page below it turns an overflow into a fault. */
#define CLIENT_CHILD_STACK (64 * 1024)

static void own_release(struct spawner_own *own)
{
	if (own->stack != NULL)
		munmap(own->stack - getpagesize(), own->stack_size + (size_t)getpagesize());
	if (own->out >= 0)
		close(own->out);
	if (own->err >= 0)
		close(own->err);
	own->stack = NULL;
	own->out = own->err = -1;
}

/* A thread's stack and slots; on failure it keeps none (and that thread
 * is not started). Slots are above 0-2 even when those are closed. */
static void own_setup(struct spawner_own *own)
{
	size_t page = (size_t)getpagesize();
	char *m;

	own->stack = NULL;
	own->out = fcntl(g_spawn.devnull, F_DUPFD_CLOEXEC, 3);
	own->err = fcntl(g_spawn.devnull, F_DUPFD_CLOEXEC, 3);
	m = mmap(NULL, CLIENT_CHILD_STACK + page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (m != MAP_FAILED && mprotect(m, page, PROT_NONE) != 0) {
		munmap(m, CLIENT_CHILD_STACK + page);
		m = MAP_FAILED;
	}
	if (own->out < 0 || own->err < 0 || m == MAP_FAILED) {
		own_release(own);
		return;
	}
	own->stack = m + page;
	own->stack_size = CLIENT_CHILD_STACK;
	if (own->out >= g_spawn.fd_limit)
		g_spawn.fd_limit = own->out + 1;
	if (own->err >= g_spawn.fd_limit)
		g_spawn.fd_limit = own->err + 1;
}

/* Every thread's stack and slots, the loop's, and /dev/null. */
static void spawner_release(void)
{
	for (int i = 0; i < CLIENT_SPAWN_THREADS_MAX; i++)
		own_release(&g_spawn.own[i]);
	own_release(&g_spawn.loop_own);
	if (g_spawn.devnull >= 0)
		close(g_spawn.devnull);
	g_spawn.devnull = -1;
}

/* Start the threads with every signal blocked, so the agent's signals
 * keep going to the loop thread. Returns 0 once at least one runs. */
static int spawner_start_threads(void)
{
	sigset_t all, old;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < CLIENT_SPAWN_THREADS_MIN)
		n = CLIENT_SPAWN_THREADS_MIN;
	if (n > CLIENT_SPAWN_THREADS_MAX)
		n = CLIENT_SPAWN_THREADS_MAX;
	/* Every stack and slot first: fd_limit is final before a thread runs. */
	g_spawn.fd_limit = 3;
	g_spawn.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (long i = 0; i <= CLIENT_SPAWN_THREADS_MAX; i++) {
		struct spawner_own *own =
			i < CLIENT_SPAWN_THREADS_MAX ? &g_spawn.own[i] : &g_spawn.loop_own;

		own->stack = NULL;
		own->out = own->err = -1;
		if (g_spawn.devnull >= 0 && (i < n || i == CLIENT_SPAWN_THREADS_MAX))
			own_setup(own);
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	g_spawn.stopping = false;
	for (long i = 0; i < n; i++) {
		struct spawner_own *own = &g_spawn.own[i];

		if (own->stack == NULL ||
		    pthread_create(&g_spawn.threads[g_spawn.nthreads], NULL, spawner_main, own) != 0) {
			own_release(own);
			continue;
		}
		g_spawn.nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (g_spawn.nthreads == 0)
		spawner_release();
	return g_spawn.nthreads > 0 ? 0 : -1;
}

void client_spawner_stop(void)
{
	if (g_spawn.nthreads == 0)
		return;
	if (g_spawn.in_flight > 0)
		log_warn("client: stopping the spawner with %d calls not yet started",
			 g_spawn.in_flight);
	pthread_mutex_lock(&g_spawn.lock);
	g_spawn.stopping = true;
	pthread_cond_broadcast(&g_spawn.wake);
	pthread_mutex_unlock(&g_spawn.lock);
	for (int i = 0; i < g_spawn.nthreads; i++)
		pthread_join(g_spawn.threads[i], NULL);
	g_spawn.nthreads = 0;
	spawner_release();
}

static void free_async(uv_handle_t *h)
{
	free(h);
}

static void spawn_finish(struct client_call *c);

static void on_spawned(uv_async_t *a)
{
	struct client_call *c, *next;

	(void)a;
	pthread_mutex_lock(&g_spawn.lock);
	c = g_spawn.done_head;
	g_spawn.done_head = g_spawn.done_tail = NULL;
	pthread_mutex_unlock(&g_spawn.lock);
	for (; c; c = next) {
		next = c->next;
		g_spawn.in_flight--;
		spawn_finish(c);
	}
	/* Every call handed out has come back, and each thread sent before
	 * its call could be taken: nothing will touch this handle again. */
	if (g_spawn.in_flight == 0 && g_spawn.async) {
		uv_close((uv_handle_t *)g_spawn.async, free_async);
		g_spawn.async = NULL;
		g_spawn.loop = NULL;
	}
}

/* The calls of one turn of the loop are held back until its end (a
 * uv_prepare handle runs just before the loop would wait). Then a lone
 * call, with no other in flight, is spawned at once on the loop: a light
 * spawn holds the loop only until the child has exec'd, about what waking
 * a spawner thread and hearing back from it costs (two wake-ups of an idle
 * CPU). The calls of a burst all go to the threads, so the loop never
 * waits for a child to be scheduled while the rest of the burst waits
 * behind it (on a busy machine that wait is a time slice or more).
 * Signals are blocked during an inline spawn, as on the threads, so no
 * handler of the agent can run in the child. */
static void spawn_inline(struct client_call *c)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	spawn_child(c, &g_spawn.loop_own, g_spawn.devnull, g_spawn.fd_limit);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	g_spawn.on_loop++;
	spawn_finish(c);
}

static void free_prepare(uv_handle_t *h)
{
	free(h);
}

static void on_turn_end(uv_prepare_t *p)
{
	struct client_call *c = g_spawn.turn_head;
	bool lone = c != NULL && c->next == NULL && g_spawn.in_flight == g_spawn.turn_calls &&
		    g_spawn.loop_own.stack != NULL;

	uv_close((uv_handle_t *)p, free_prepare);
	g_spawn.turn = NULL;
	g_spawn.turn_head = g_spawn.turn_tail = NULL;
	g_spawn.turn_calls = 0;
	if (c == NULL)
		return;
	pthread_mutex_lock(&g_spawn.lock);
	if (lone) {
		/* Taken here: client_terminate from now on signals the child. */
		bool cancelled = c->cancelled;

		c->taken = true;
		pthread_mutex_unlock(&g_spawn.lock);
		g_spawn.in_flight--;
		if (cancelled)
			spawn_finish(c); /* no child: reported as stopped */
		else
			spawn_inline(c);
		if (g_spawn.in_flight == 0 && g_spawn.async) {
			uv_close((uv_handle_t *)g_spawn.async, free_async);
			g_spawn.async = NULL;
			g_spawn.loop = NULL;
		}
		return;
	}
	for (struct client_call *next; c; c = next) {
		next = c->next;
		list_push(&g_spawn.queue_head, &g_spawn.queue_tail, c);
	}
	pthread_cond_broadcast(&g_spawn.wake);
	pthread_mutex_unlock(&g_spawn.lock);
}

/* Hold c for the end of this turn of the loop (on_turn_end). Returns 0,
 * or -1 with err set. */
static int spawner_queue(uv_loop_t *loop, struct client_call *c, char *err, size_t errlen)
{
	if (g_spawn.loop != NULL && g_spawn.loop != loop) {
		snprintf(err, errlen, "client calls from two event loops at once");
		return -1;
	}
	if (g_spawn.nthreads == 0 && spawner_start_threads() != 0) {
		snprintf(err, errlen, "cannot start a thread to run the client");
		return -1;
	}
	if (g_spawn.async == NULL) {
		g_spawn.async = xmalloc(sizeof(*g_spawn.async));
		if (uv_async_init(loop, g_spawn.async, on_spawned) != 0) {
			free(g_spawn.async);
			g_spawn.async = NULL;
			snprintf(err, errlen, "cannot watch the client spawner");
			return -1;
		}
		g_spawn.loop = loop;
	}
	if (g_spawn.turn == NULL) {
		g_spawn.turn = xmalloc(sizeof(*g_spawn.turn));
		uv_prepare_init(loop, g_spawn.turn);
		uv_prepare_start(g_spawn.turn, on_turn_end);
	}
	g_spawn.in_flight++;
	g_spawn.turn_calls++;
	list_push(&g_spawn.turn_head, &g_spawn.turn_tail, c);
	return 0;
}

void client_spawn_counts(uint64_t *on_loop, uint64_t *on_threads)
{
	*on_loop = g_spawn.on_loop;
	pthread_mutex_lock(&g_spawn.lock);
	*on_threads = g_spawn.on_threads;
	pthread_mutex_unlock(&g_spawn.lock);
}

/* client_terminate before the child exists. */
static void spawner_cancel(struct client_call *c)
{
	pthread_mutex_lock(&g_spawn.lock);
	if (!c->taken)
		c->cancelled = true;
	pthread_mutex_unlock(&g_spawn.lock);
}

/* ------------------------------------------------------------------ */
/* Back on the loop.                                                    */

/* No child: close the handles; deliver reports why. */
static void finish_not_started(struct client_call *c)
{
	c->not_started = true;
	c->finishing = true;
	for (int i = 0; i < 2; i++) {
		if (c->out_fd[i] >= 0)
			close(c->out_fd[i]);
		if (c->err_fd[i] >= 0)
			close(c->err_fd[i]);
		c->out_fd[i] = c->err_fd[i] = -1;
	}
	client_argv_free(c->argv);
	client_argv_free(c->envp);
	c->argv = c->envp = NULL;
	if (c->fail_reason[0])
		log_error("client: %s", c->fail_reason);
	c->open_handles = 4;
	close_handle(c, (uv_handle_t *)&c->out_pipe);
	close_handle(c, (uv_handle_t *)&c->err_pipe);
	close_handle(c, (uv_handle_t *)&c->timer);
	close_handle(c, (uv_handle_t *)&c->drain);
}

/* A child the loop cannot watch is killed and reaped at once. */
static void abandon_child(struct client_call *c, const char *why)
{
	str_copy(c->fail_reason, why, sizeof(c->fail_reason));
	kill(-c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	close(c->pidfd);
	c->pidfd = -1;
	c->pid = 0;
	finish_not_started(c);
}

/* A call came back from its spawner thread: watch the child, or report
 * why there is none. */
static void spawn_finish(struct client_call *c)
{
	if (c->pid <= 0) {
		finish_not_started(c);
		return;
	}
	if (uv_pipe_open(&c->out_pipe, c->out_fd[0]) != 0) {
		/* Cannot happen for fresh pipes; never leave the child unwatched. */
		abandon_child(c, "cannot read the client's output");
		return;
	}
	c->out_fd[0] = -1;
	if (uv_pipe_open(&c->err_pipe, c->err_fd[0]) != 0) {
		abandon_child(c, "cannot read the client's output");
		return;
	}
	c->err_fd[0] = -1;
	if (uv_poll_init(c->out_pipe.loop, &c->exit_poll, c->pidfd) != 0) {
		abandon_child(c, "cannot watch the client");
		return;
	}
	c->started = true;
	c->open_handles = 5;
	c->exit_poll.data = c;
	uv_poll_start(&c->exit_poll, UV_READABLE, on_exit_cb);
	if (g_state_dir[0])
		state_client_add(g_state_dir, c->pid, c->start_ticks);
	uv_read_start((uv_stream_t *)&c->out_pipe, on_alloc, on_read);
	uv_read_start((uv_stream_t *)&c->err_pipe, on_alloc, on_read);
	/* The timeout counts from when the child exists. */
	if (c->timeout_ms > 0)
		clock_timer_start(&c->timer, on_timeout, c->timeout_ms);
	if (c->terminated)
		stop_started(c);
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
	char **argv = NULL, **envp = NULL;
	char log_dir[PATH_MAX];

	client_settings_now(&s);
	if (client_check_path(s.path, err, errlen) != 0)
		return NULL;
	if (client_generation()->log_dir_per_call && call_log_dir(log_dir, sizeof(log_dir)) != 0) {
		snprintf(err, errlen, "cannot create the client log directory under '%s': %s",
			 log_dir, strerror(errno));
		return NULL;
	}
	argv = client_build_argv(&s, req, client_generation()->log_dir_per_call ? log_dir : NULL,
				 err, errlen);
	if (argv == NULL)
		return NULL;
	envp = client_build_env(environ, &s,
				req->op == CLIENT_OP_UPLOAD ? cfg_str(CFG_SECRET_KEY) : NULL);
	if (envp == NULL) {
		/* Never fall back to the agent's own environment: it may hold
		 * SECRET_KEY. */
		snprintf(err, errlen, "more than %d environment variables for the client",
			 CLIENT_ENV_MAX);
		client_argv_free(argv);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->op = req->op;
	c->cb = cb;
	c->ud = ud;
	c->pidfd = -1;
	c->timeout_ms = req->timeout_ms;
	c->argv = argv;
	c->envp = envp;
	c->out_fd[0] = c->out_fd[1] = c->err_fd[0] = c->err_fd[1] = -1;
	uv_pipe_init(loop, &c->out_pipe, 0);
	uv_pipe_init(loop, &c->err_pipe, 0);
	uv_timer_init(loop, &c->timer);
	uv_timer_init(loop, &c->drain);
	c->out_pipe.data = c->err_pipe.data = c->timer.data = c->drain.data = c;
	/* Close-on-exec from the start: another thread may be spawning a
	 * child right now, and a write end it inherited would keep this
	 * call's pipe from ever reaching end of file. */
	if (pipe2(c->out_fd, O_CLOEXEC) != 0 || pipe2(c->err_fd, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "cannot create pipes for the client: %s", strerror(errno));
		goto fail;
	}
	if (spawner_queue(loop, c, err, errlen) != 0)
		goto fail;
	return c;
fail:
	for (int i = 0; i < 2; i++) {
		if (c->out_fd[i] >= 0)
			close(c->out_fd[i]);
		if (c->err_fd[i] >= 0)
			close(c->err_fd[i]);
	}
	client_argv_free(argv);
	client_argv_free(envp);
	c->open_handles = 4;
	uv_close((uv_handle_t *)&c->out_pipe, free_unstarted);
	uv_close((uv_handle_t *)&c->err_pipe, free_unstarted);
	uv_close((uv_handle_t *)&c->timer, free_unstarted);
	uv_close((uv_handle_t *)&c->drain, free_unstarted);
	return NULL;
}

/*
 * client.c - finding, probing and (later) running the `ant` client.
 */
#include "client.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
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

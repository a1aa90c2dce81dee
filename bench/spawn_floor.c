/*
 * spawn_floor.c - the floor under the agent's per-call overhead: a bare
 * libuv loop that runs a client again and again, one at a time, with
 * stdout and stderr piped, and nothing else (no classification, no
 * records, no timers).
 *
 *   spawn_floor [--posix-spawn] CALLS CLIENT [ARG...]
 *
 * Run with bench/noop_client and NOOP_CLIENT_LOG set, its gaps (one
 * call's exit to the next call's start) are measured exactly as the
 * agent's are, so the difference is what the agent adds on top of what
 * any libuv program pays to spawn and reap a child.
 *
 * uv_spawn forks (libuv on Linux), so every call copies the parent's page
 * tables and then takes copy-on-write faults. --posix-spawn starts the
 * child with posix_spawn(3) instead (glibc: clone with CLONE_VM and
 * CLONE_VFORK, no copy) and watches it through a pidfd on the same loop:
 * the figure for what the agent would gain by spawning that way.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "util.h"

extern char **environ;

struct floor_run {
	uv_loop_t *loop;
	uv_process_t proc;
	uv_poll_t exitw;   /* --posix-spawn: the child's pidfd */
	uv_pipe_t out, err;
	char **argv;
	int64_t left;
	int open;          /* handles of the current call not yet closed */
	int posix;
	pid_t pid;
	int pidfd;
	char buf[4096];
};

static void spawn_next(struct floor_run *f);

static void on_alloc(uv_handle_t *h, size_t want, uv_buf_t *b)
{
	struct floor_run *f = h->data;

	(void)want;
	*b = uv_buf_init(f->buf, sizeof(f->buf));
}

static void on_closed(uv_handle_t *h)
{
	struct floor_run *f = h->data;

	if (--f->open == 0 && f->left > 0)
		spawn_next(f);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	(void)b;
	if (n < 0)
		uv_close((uv_handle_t *)s, on_closed);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
	(void)status;
	(void)sig;
	uv_close((uv_handle_t *)p, on_closed);
}

static void on_pidfd_closed(uv_handle_t *h);

static void on_pidfd(uv_poll_t *w, int status, int events)
{
	struct floor_run *f = w->data;
	int st;

	(void)status;
	(void)events;
	waitpid(f->pid, &st, 0);
	uv_close((uv_handle_t *)w, on_pidfd_closed);
}

static void on_pidfd_closed(uv_handle_t *h)
{
	struct floor_run *f = h->data;

	close(f->pidfd);
	on_closed(h);
}

static void fail(const char *what, int err)
{
	fprintf(stderr, "spawn_floor: %s: %s\n", what, strerror(err));
	exit(1);
}

/* posix_spawn with stdout and stderr piped, in its own process group. */
static void spawn_posix(struct floor_run *f)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int po[2], pe[2], r;
	sigset_t none;

	if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0)
		fail("pipe2", errno);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
	r = posix_spawn(&f->pid, f->argv[0], &fa, &at, f->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (r != 0)
		fail(f->argv[0], r);
	close(po[1]);
	close(pe[1]);
	f->pidfd = (int)syscall(SYS_pidfd_open, f->pid, 0);
	if (f->pidfd < 0)
		fail("pidfd_open", errno);
	uv_pipe_open(&f->out, po[0]);
	uv_pipe_open(&f->err, pe[0]);
	uv_poll_init(f->loop, &f->exitw, f->pidfd);
	f->exitw.data = f;
	uv_poll_start(&f->exitw, UV_READABLE, on_pidfd);
}

static void spawn_next(struct floor_run *f)
{
	uv_process_options_t o;
	uv_stdio_container_t io[3];
	int r;

	f->left--;
	uv_pipe_init(f->loop, &f->out, 0);
	uv_pipe_init(f->loop, &f->err, 0);
	f->out.data = f->err.data = f->proc.data = f;
	if (f->posix) {
		spawn_posix(f);
		f->open = 3;
		uv_read_start((uv_stream_t *)&f->out, on_alloc, on_read);
		uv_read_start((uv_stream_t *)&f->err, on_alloc, on_read);
		return;
	}
	memset(&o, 0, sizeof(o));
	io[0].flags = UV_IGNORE;
	io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	io[1].data.stream = (uv_stream_t *)&f->out;
	io[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	io[2].data.stream = (uv_stream_t *)&f->err;
	o.file = f->argv[0];
	o.args = f->argv;
	o.stdio = io;
	o.stdio_count = 3;
	o.exit_cb = on_exit_cb;
	o.flags = UV_PROCESS_DETACHED; /* own process group, as the agent does */
	r = uv_spawn(f->loop, &f->proc, &o);
	if (r != 0) {
		fprintf(stderr, "spawn_floor: %s: %s\n", f->argv[0], uv_strerror(r));
		exit(1);
	}
	f->open = 3;
	uv_read_start((uv_stream_t *)&f->out, on_alloc, on_read);
	uv_read_start((uv_stream_t *)&f->err, on_alloc, on_read);
}

int main(int argc, char **argv)
{
	struct floor_run f;
	int64_t n;

	memset(&f, 0, sizeof(f));
	if (argc > 1 && strcmp(argv[1], "--posix-spawn") == 0) {
		f.posix = 1;
		argv++;
		argc--;
	}
	if (argc < 3 || parse_i64(argv[1], 1, 100000000, &n) != 0) {
		fprintf(stderr, "usage: spawn_floor [--posix-spawn] CALLS CLIENT [ARG...]\n");
		return 2;
	}
	f.loop = uv_default_loop();
	f.argv = argv + 2;
	f.left = n;
	spawn_next(&f);
	uv_run(f.loop, UV_RUN_DEFAULT);
	return 0;
}

/*
 * console.c - the keyboard console.
 *
 * The terminal is put in "cbreak" mode (no line buffering, no echo) rather
 * than libuv's raw mode: output post-processing and ^C stay as they are, so
 * log lines still end properly and ^C still sends SIGINT. The previous mode
 * is restored on stop and at exit.
 */
#include "console.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define REF_DIGITS_MAX 3

struct console {
	uv_tty_t tty;
	int fd;
	const struct console_ops *ops;
	void *ud;
	int reading_ref;      /* after [r]: collecting a TaskRef */
	char ref[REF_DIGITS_MAX + 1];
	size_t nref;
	int has_saved;
	struct termios saved;
};

static struct termios g_saved_tio;
static int g_saved_fd = -1;

static void restore_at_exit(void)
{
	if (g_saved_fd >= 0)
		tcsetattr(g_saved_fd, TCSANOW, &g_saved_tio);
}

const char *console_help(void)
{
	return "Press [q] = quit gracefully | [f] = fetch tasks now | [s] = show status | "
	       "[r] = run a task now (keys act at once)";
}

static void say(const char *s)
{
	fputs(s, stdout);
	fflush(stdout);
}

void console_feed(struct console *c, char ch)
{
	if (c->reading_ref) {
		if (isdigit((unsigned char)ch) && c->nref < REF_DIGITS_MAX) {
			c->ref[c->nref++] = ch;
			c->ref[c->nref] = '\0';
			putchar(ch);
			fflush(stdout);
		} else if ((ch == 127 || ch == 8) && c->nref > 0) {
			c->ref[--c->nref] = '\0';
			say("\b \b");
		} else if (ch == '\r' || ch == '\n') {
			int64_t ref;

			c->reading_ref = 0;
			say("\n");
			if (parse_i64(c->ref, 1, 999, &ref) == 0)
				c->ops->run_task(c->ud, (int)ref);
			else
				say("No TaskRef given; nothing run.\n");
		} else if (ch == 27) { /* Esc cancels */
			c->reading_ref = 0;
			say("\nCancelled.\n");
		}
		return;
	}
	switch (tolower((unsigned char)ch)) {
	case 'q':
		say("Quitting: running tests are stopped and metrics flushed...\n");
		c->ops->quit(c->ud);
		break;
	case 'f':
		c->ops->fetch(c->ud);
		break;
	case 's':
		c->ops->status(c->ud);
		break;
	case 'r':
		c->reading_ref = 1;
		c->nref = 0;
		c->ref[0] = '\0';
		say("Run which task now? TaskRef then Enter (Esc cancels): ");
		break;
	case '\r':
	case '\n':
	case ' ':
		break;
	default:
		say("Keys: [q] quit | [f] fetch | [s] status | [r] run a task\n");
		break;
	}
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	static char chunk[64];

	(void)h;
	(void)hint;
	b->base = chunk;
	b->len = sizeof(chunk);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct console *c = container_of((uv_tty_t *)s, struct console, tty);

	if (n < 0) {
		/* The terminal went away (hang-up): carry on without keys. */
		uv_read_stop(s);
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		console_feed(c, b->base[i]);
}

bool console_usable(int fd)
{
	pid_t fg;

	/* Keys need a terminal to read and one to answer on. */
	if (!isatty(fd) || !isatty(STDOUT_FILENO))
		return false;
	/* Started with `&` (or sent to the background with ^Z and bg): setting
	 * the terminal's mode or reading from it would stop the whole agent
	 * with SIGTTOU/SIGTTIN. Only the terminal's foreground process group
	 * may touch it. */
	fg = tcgetpgrp(fd);
	return fg >= 0 && fg == getpgrp();
}

struct console *console_start(uv_loop_t *loop, int fd, const struct console_ops *ops, void *ud)
{
	struct console *c;
	struct termios tio;

	if (!console_usable(fd))
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->ops = ops;
	c->ud = ud;
	if (tcgetattr(fd, &c->saved) == 0) {
		c->has_saved = 1;
		tio = c->saved;
		tio.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		tio.c_cc[VMIN] = 1;
		tio.c_cc[VTIME] = 0;
		tcsetattr(fd, TCSANOW, &tio);
		if (g_saved_fd < 0) {
			g_saved_tio = c->saved;
			g_saved_fd = fd;
			atexit(restore_at_exit);
		}
	}
	if (uv_tty_init(loop, &c->tty, fd, 1) != 0 ||
	    uv_read_start((uv_stream_t *)&c->tty, on_alloc, on_read) != 0) {
		if (c->has_saved)
			tcsetattr(fd, TCSANOW, &c->saved);
		free(c);
		return NULL;
	}
	return c;
}

static void on_closed(uv_handle_t *h)
{
	free(container_of((uv_tty_t *)h, struct console, tty));
}

void console_stop(struct console *c)
{
	if (c == NULL)
		return;
	if (c->has_saved)
		tcsetattr(c->fd, TCSANOW, &c->saved);
	g_saved_fd = -1;
	uv_close((uv_handle_t *)&c->tty, on_closed);
}

/*
 * console.h - single-key commands on a terminal, acted on at once:
 *   [q] quit gracefully   [f] fetch now   [s] status   [r] run a task now
 * Only when stdin and stdout are a terminal, the agent is in that
 * terminal's foreground process group (not started with `&`), and
 * --no-console was not given.
 */
#ifndef ANT_CONSOLE_H
#define ANT_CONSOLE_H

#include <stdbool.h>
#include <uv.h>

struct console_ops {
	void (*quit)(void *ud);
	void (*fetch)(void *ud);
	void (*status)(void *ud);
	/* ref is the TaskRef typed after [r]; the agent checks it. */
	void (*run_task)(void *ud, int ref);
};

struct console;

/* Whether a console on fd (normally 0) may run: fd and stdout are
 * terminals and this process is in the foreground process group of fd's
 * terminal, so touching it cannot stop the agent. */
bool console_usable(int fd);
/* Start reading keys from fd (normally 0). Returns NULL when the console
 * is not usable or cannot be set up (the agent then runs without one). */
struct console *console_start(uv_loop_t *loop, int fd, const struct console_ops *ops, void *ud);
/* Restore the terminal and close the handle (freed in its close callback). */
void console_stop(struct console *c);
/* The key help line printed at start-up. */
const char *console_help(void);

/* Feed one byte as if typed (the key logic, for tests). */
void console_feed(struct console *c, char ch);

#endif

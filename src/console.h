/*
 * console.h - single-key commands on a terminal, acted on at once:
 *   [q] quit gracefully   [f] fetch now   [s] status   [r] run a task now
 * Only when stdin is a terminal and --no-console was not given.
 */
#ifndef ANT_CONSOLE_H
#define ANT_CONSOLE_H

#include <uv.h>

struct console_ops {
	void (*quit)(void *ud);
	void (*fetch)(void *ud);
	void (*status)(void *ud);
	/* ref is the TaskRef typed after [r]; the agent checks it. */
	void (*run_task)(void *ud, int ref);
};

struct console;

/* Start reading keys from fd (normally 0). Returns NULL when fd is not a
 * terminal or cannot be set up (the agent then runs without a console). */
struct console *console_start(uv_loop_t *loop, int fd, const struct console_ops *ops, void *ud);
/* Restore the terminal and close the handle (freed in its close callback). */
void console_stop(struct console *c);
/* The key help line printed at start-up. */
const char *console_help(void);

/* Feed one byte as if typed (the key logic, for tests). */
void console_feed(struct console *c, char ch);

#endif

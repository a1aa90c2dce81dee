/*
 * cli.h - the parsed command line, shared by the subcommands.
 */
#ifndef ANT_CLI_H
#define ANT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cli {
	const char *command;
	const char *env_file;
	bool env_file_given;
	const char **sets;
	size_t nsets;
	bool allow_root;
	bool no_console;
	int64_t clock_start_ms; /* < 0: real time */
	double clock_speed;
	int64_t run_for_ms;     /* < 0: until stopped */
	/* validate */
	const char *control, *downloads, *seeds;
	/* seedfile */
	const char *seed, *size, *output;
	/* report */
	const char *metrics, *summary, *since, *format;
	/* positional arguments after the subcommand */
	char **args;
	int nargs;
};

/* Exit codes of every subcommand. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,    /* ran, but something failed or was rejected */
	EXIT_USAGE = 2,   /* bad command line or settings; nothing was done */
};

int cmd_run(const struct cli *c);
int cmd_config(const struct cli *c);
int cmd_validate(const struct cli *c);
int cmd_seedfile(const struct cli *c);
int cmd_report(const struct cli *c);
int cmd_status(const struct cli *c);
int cmd_check(const struct cli *c);

/* A file:// URL in a URL setting while ALLOW_FILE_URLS is false: -1 with
 * a message naming the setting and the fix (for `run` and `check`). */
int check_file_urls(char *err, size_t n);

/* The command line described once, for --help and the man page. */
struct cli_doc {
	const char *name;   /* command name, or option spelling ("--set KEY=VALUE") */
	const char *text;   /* one line of help */
};

#endif

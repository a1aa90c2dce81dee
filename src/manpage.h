/*
 * manpage.h - the ant-agent(1) manual page in roff, generated from the
 * same tables as --help and from the settings table (settings.def), so
 * the manual cannot drift from the program. The build runs
 * `ant-agent manpage` to make it.
 */
#ifndef ANT_MANPAGE_H
#define ANT_MANPAGE_H

#include <stddef.h>
#include <stdio.h>

#include "cli.h"

struct manpage_input {
	const struct cli_doc *commands;
	size_t ncommands;
	const struct cli_doc *options;          /* options for every command */
	size_t noptions;
	const struct cli_doc *command_options;  /* name is "command: --opt ARG" */
	size_t ncommand_options;
};

void manpage_write(FILE *out, const struct manpage_input *in);

#endif

/* cmd_report.c - `ant-agent report`. */
#include "cli.h"

#include <stdio.h>

int cmd_report(const struct cli *c)
{
	(void)c;
	fputs("ant-agent: the report command is not part of this build yet\n", stderr);
	return EXIT_USAGE;
}

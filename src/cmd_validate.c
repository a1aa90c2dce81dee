/* cmd_validate.c - `ant-agent validate`. */
#include "cli.h"

#include <stdio.h>

int cmd_validate(const struct cli *c)
{
	(void)c;
	fputs("ant-agent: the validate command is not part of this build yet\n", stderr);
	return EXIT_USAGE;
}

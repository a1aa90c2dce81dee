/* cmd_seedfile.c - `ant-agent seedfile`. */
#include "cli.h"

#include <stdio.h>

int cmd_seedfile(const struct cli *c)
{
	(void)c;
	fputs("ant-agent: the seedfile command is not part of this build yet\n", stderr);
	return EXIT_USAGE;
}

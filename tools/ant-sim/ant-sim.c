/*
 * ant-sim - a stand-in for the Autonomi `ant` client over a local store.
 * Only --version so far.
 */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--version") == 0) {
			printf("Autonomi Client v0.3.12-sim\nNetwork version: ant/1.0/1\n");
			return 0;
		}
	}
	fprintf(stderr, "ant-sim: nothing to do\n");
	return 6;
}

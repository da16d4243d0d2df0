/*
 * hello.c - the smallest hedge unikernel: greets and shows its command line.
 */
#include <stdio.h>

#include "hedge.h"

int main(int argc, char **argv)
{
	printf("Hello from a hedge unikernel!\n");
	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	for (char **e = hedge_environ(); *e; e++)
		printf("env %s\n", *e);
	return 0;
}

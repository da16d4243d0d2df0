/*
 * hello_native.c - the native Linux baseline for bench/boot.sh: the same
 * output as examples/c/hello.c, as an ordinary static process.
 */
#include <stdio.h>

extern char **environ;

int main(int argc, char **argv)
{
	printf("Hello from a hedge unikernel!\n");
	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	return 0;
}

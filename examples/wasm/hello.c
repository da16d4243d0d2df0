/* hello - the first WebAssembly program on hedge: prints a greeting, its
 * arguments and its environment.  Run: hedge run build/wasm/hello.wasm -- a b */
#include <stdio.h>

extern char **environ;

int main(int argc, char **argv)
{
	printf("Hello from WebAssembly on hedge!\n");
	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	for (char **e = environ; e && *e; e++)
		printf("env %s\n", *e);
	return 0;
}

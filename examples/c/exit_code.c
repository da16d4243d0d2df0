/*
 * exit_code.c - exits with the status given as its first argument (default 7).
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	int status = argc > 1 ? atoi(argv[1]) : 7;
	printf("exiting with status %d\n", status);
	return status;
}

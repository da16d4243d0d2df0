/*
 * args.c - argument helpers shared by the hedge subcommands.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <strings.h>

int parse_size(const char *text, uint64_t *bytes)
{
	if (!text || !isdigit((unsigned char)text[0]))
		return -1;
	char *end;
	errno = 0;
	unsigned long long value = strtoull(text, &end, 10);
	if (errno)
		return -1;
	unsigned shift = 0;
	if (*end) {
		switch (toupper((unsigned char)*end)) {
		case 'K':
			shift = 10;
			break;
		case 'M':
			shift = 20;
			break;
		case 'G':
			shift = 30;
			break;
		default:
			return -1;
		}
		end++;
		if (strcasecmp(end, "") != 0 && strcasecmp(end, "B") != 0 &&
		    strcasecmp(end, "iB") != 0)
			return -1;
	}
	if (value == 0 || value > (UINT64_MAX >> shift))
		return -1;
	*bytes = (uint64_t)value << shift;
	return 0;
}

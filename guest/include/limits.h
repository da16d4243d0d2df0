/*
 * limits.h - gcc's own limits.h, without the host C library's behind it.
 *
 * Under -nostdinc gcc's limits.h would #include_next a system one; defining
 * _LIBC_LIMITS_H_ first tells it there is none.
 */
#ifndef HEDGE_LIMITS_H
#define HEDGE_LIMITS_H
#define _LIBC_LIMITS_H_
#include_next <limits.h>
#ifndef PATH_MAX
#define PATH_MAX 4096
#endif
#endif

/*
 * string.c - memory and string functions of the hedge guest C library,
 * plus errno and strerror.
 *
 * memcpy/memset use the x86 string instructions: on every CPU that can run
 * KVM guests "rep movsb/stosb" is the fastest simple choice for the sizes a
 * unikernel copies, and being asm it also stops gcc from recognising a copy
 * loop as a memcpy and compiling it into a call to itself.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int errno;

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	void *ret = dst;

	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
	return ret;
}

void *memmove(void *dst, const void *src, size_t n)
{
	uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src;

	/* A forward copy is safe unless dst starts inside [src, src + n). */
	if (d - s >= n)
		return memcpy(dst, src, n);

	/*
	 * Overlap with dst above src: copy downwards, quadwords from the top,
	 * then the leftover bytes.  Plain loads and stores rather than "std;
	 * rep movs": a set direction flag would leak into any interrupt or
	 * exception handler that runs meanwhile and does not clear it.  The
	 * empty asm stops gcc from turning the loop back into a memmove call.
	 */
	char *d_bytes = dst;
	const char *s_bytes = src;

	while (n >= 8) {
		uint64_t word;

		n -= 8;
		__builtin_memcpy(&word, s_bytes + n, 8);
		__builtin_memcpy(d_bytes + n, &word, 8);
		__asm__ volatile("" ::: "memory");
	}
	while (n) {
		n--;
		d_bytes[n] = s_bytes[n];
		__asm__ volatile("" ::: "memory");
	}
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *ret = dst;

	__asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(c) : "memory");
	return ret;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *pa = a, *pb = b;

	/* Skip equal quadwords quickly; the byte loop below finds the order. */
	while (n >= 8) {
		uint64_t wa, wb;

		__builtin_memcpy(&wa, pa, 8);
		__builtin_memcpy(&wb, pb, 8);
		if (wa != wb)
			break;
		pa += 8;
		pb += 8;
		n -= 8;
	}
	for (; n; n--, pa++, pb++) {
		if (*pa != *pb)
			return *pa - *pb;
	}
	return 0;
}

void *memchr(const void *s, int c, size_t n)
{
	const unsigned char *p = s;
	unsigned char want = (unsigned char)c;

	for (; n; n--, p++) {
		if (*p == want)
			return (void *)p;
	}
	return NULL;
}

size_t strlen(const char *s)
{
	const char *p = s;

	while (*p)
		p++;
	return p - s;
}

size_t strnlen(const char *s, size_t maxlen)
{
	size_t len = 0;

	while (len < maxlen && s[len])
		len++;
	return len;
}

int strcmp(const char *a, const char *b)
{
	const unsigned char *pa = (const unsigned char *)a, *pb = (const unsigned char *)b;

	while (*pa && *pa == *pb) {
		pa++;
		pb++;
	}
	return *pa - *pb;
}

int strncmp(const char *a, const char *b, size_t n)
{
	const unsigned char *pa = (const unsigned char *)a, *pb = (const unsigned char *)b;

	for (; n; n--, pa++, pb++) {
		if (*pa != *pb || !*pa)
			return *pa - *pb;
	}
	return 0;
}

int strcasecmp(const char *a, const char *b)
{
	const unsigned char *pa = (const unsigned char *)a, *pb = (const unsigned char *)b;
	int diff;

	for (;; pa++, pb++) {
		diff = tolower(*pa) - tolower(*pb);
		if (diff || !*pa)
			return diff;
	}
}

int strncasecmp(const char *a, const char *b, size_t n)
{
	const unsigned char *pa = (const unsigned char *)a, *pb = (const unsigned char *)b;
	int diff;

	for (; n; n--, pa++, pb++) {
		diff = tolower(*pa) - tolower(*pb);
		if (diff || !*pa)
			return diff;
	}
	return 0;
}

char *strcpy(char *restrict dst, const char *restrict src)
{
	memcpy(dst, src, strlen(src) + 1);
	return dst;
}

char *strncpy(char *restrict dst, const char *restrict src, size_t n)
{
	size_t len = strnlen(src, n);

	memcpy(dst, src, len);
	/* strncpy's contract is to NUL-fill the rest of the buffer. */
	memset(dst + len, 0, n - len);
	return dst;
}

char *strcat(char *restrict dst, const char *restrict src)
{
	strcpy(dst + strlen(dst), src);
	return dst;
}

char *strncat(char *restrict dst, const char *restrict src, size_t n)
{
	char *end = dst + strlen(dst);
	size_t len = strnlen(src, n);

	memcpy(end, src, len);
	end[len] = '\0';
	return dst;
}

char *strchr(const char *s, int c)
{
	char want = (char)c;

	for (;; s++) {
		if (*s == want)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}

char *strrchr(const char *s, int c)
{
	char want = (char)c;
	const char *last = NULL;

	for (;; s++) {
		if (*s == want)
			last = s;
		if (!*s)
			return (char *)last;
	}
}

char *strstr(const char *haystack, const char *needle)
{
	size_t needle_len = strlen(needle);

	if (!needle_len)
		return (char *)haystack;
	for (; (haystack = strchr(haystack, needle[0])); haystack++) {
		if (!strncmp(haystack, needle, needle_len))
			return (char *)haystack;
	}
	return NULL;
}

/* True if c (not NUL) occurs in set. */
static int in_set(char c, const char *set)
{
	for (; *set; set++) {
		if (*set == c)
			return 1;
	}
	return 0;
}

size_t strspn(const char *s, const char *accept)
{
	size_t len = 0;

	while (s[len] && in_set(s[len], accept))
		len++;
	return len;
}

size_t strcspn(const char *s, const char *reject)
{
	size_t len = 0;

	while (s[len] && !in_set(s[len], reject))
		len++;
	return len;
}

char *strpbrk(const char *s, const char *accept)
{
	s += strcspn(s, accept);
	return *s ? (char *)s : NULL;
}

char *strtok_r(char *restrict s, const char *restrict delim, char **restrict saveptr)
{
	if (!s)
		s = *saveptr;
	s += strspn(s, delim);
	if (!*s) {
		*saveptr = s;
		return NULL;
	}
	char *end = s + strcspn(s, delim);

	if (*end)
		*end++ = '\0';
	*saveptr = end;
	return s;
}

char *strdup(const char *s)
{
	size_t size = strlen(s) + 1;
	char *copy = malloc(size);

	if (copy)
		memcpy(copy, s, size);
	return copy;
}

char *strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *copy = malloc(len + 1);

	if (copy) {
		memcpy(copy, s, len);
		copy[len] = '\0';
	}
	return copy;
}

/* Same wording as glibc, so guest and host messages read alike in logs. */
static const char *const error_messages[] = {
    [0] = "Success",
    [EPERM] = "Operation not permitted",
    [ENOENT] = "No such file or directory",
    [ESRCH] = "No such process",
    [EINTR] = "Interrupted system call",
    [EIO] = "Input/output error",
    [ENXIO] = "No such device or address",
    [E2BIG] = "Argument list too long",
    [ENOEXEC] = "Exec format error",
    [EBADF] = "Bad file descriptor",
    [ECHILD] = "No child processes",
    [EAGAIN] = "Resource temporarily unavailable",
    [ENOMEM] = "Cannot allocate memory",
    [EACCES] = "Permission denied",
    [EFAULT] = "Bad address",
    [ENOTBLK] = "Block device required",
    [EBUSY] = "Device or resource busy",
    [EEXIST] = "File exists",
    [EXDEV] = "Invalid cross-device link",
    [ENODEV] = "No such device",
    [ENOTDIR] = "Not a directory",
    [EISDIR] = "Is a directory",
    [EINVAL] = "Invalid argument",
    [ENFILE] = "Too many open files in system",
    [EMFILE] = "Too many open files",
    [ENOTTY] = "Inappropriate ioctl for device",
    [ETXTBSY] = "Text file busy",
    [EFBIG] = "File too large",
    [ENOSPC] = "No space left on device",
    [ESPIPE] = "Illegal seek",
    [EROFS] = "Read-only file system",
    [EMLINK] = "Too many links",
    [EPIPE] = "Broken pipe",
    [EDOM] = "Numerical argument out of domain",
    [ERANGE] = "Numerical result out of range",
    [EDEADLK] = "Resource deadlock avoided",
    [ENAMETOOLONG] = "File name too long",
    [ENOLCK] = "No locks available",
    [ENOSYS] = "Function not implemented",
    [ENOTEMPTY] = "Directory not empty",
    [ELOOP] = "Too many levels of symbolic links",
    [ENOMSG] = "No message of desired type",
    [EIDRM] = "Identifier removed",
    [ENOSTR] = "Device not a stream",
    [ENODATA] = "No data available",
    [ETIME] = "Timer expired",
    [ENOSR] = "Out of streams resources",
    [ENOLINK] = "Link has been severed",
    [EPROTO] = "Protocol error",
    [EBADMSG] = "Bad message",
    [EOVERFLOW] = "Value too large for defined data type",
    [EILSEQ] = "Invalid or incomplete multibyte or wide character",
    [ENOTSOCK] = "Socket operation on non-socket",
    [EDESTADDRREQ] = "Destination address required",
    [EMSGSIZE] = "Message too long",
    [EPROTOTYPE] = "Protocol wrong type for socket",
    [ENOPROTOOPT] = "Protocol not available",
    [EPROTONOSUPPORT] = "Protocol not supported",
    [EOPNOTSUPP] = "Operation not supported",
    [EAFNOSUPPORT] = "Address family not supported by protocol",
    [EADDRINUSE] = "Address already in use",
    [EADDRNOTAVAIL] = "Cannot assign requested address",
    [ENETDOWN] = "Network is down",
    [ENETUNREACH] = "Network is unreachable",
    [ECONNABORTED] = "Software caused connection abort",
    [ECONNRESET] = "Connection reset by peer",
    [ENOBUFS] = "No buffer space available",
    [EISCONN] = "Transport endpoint is already connected",
    [ENOTCONN] = "Transport endpoint is not connected",
    [ETIMEDOUT] = "Connection timed out",
    [ECONNREFUSED] = "Connection refused",
    [EHOSTUNREACH] = "No route to host",
    [EALREADY] = "Operation already in progress",
    [EINPROGRESS] = "Operation now in progress",
    [ECANCELED] = "Operation canceled",
    [EOWNERDEAD] = "Owner died",
    [ENOTRECOVERABLE] = "State not recoverable",
};

char *strerror(int errnum)
{
	size_t count = sizeof(error_messages) / sizeof(error_messages[0]);

	if (errnum < 0 || (size_t)errnum >= count || !error_messages[errnum])
		return "Unknown error";
	/* The standard's return type is char *, but callers must not write. */
	return (char *)error_messages[errnum];
}

/*
 * boottime.c - runs a command N times and reports its whole-process wall time.
 *
 * Usage: boottime N COMMAND [ARGS...]
 * The command's stdout goes to /dev/null.
 * Prints median, p90 and minimum wall time, the peak RSS of the child, and,
 * when the child prints hedge's --timings JSON line on stderr, the median of
 * each boot phase.  Output is one JSON object for scripts.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PHASES 9
static const char *const phase_names[MAX_PHASES] = {"load_us",  "create_vm_us",       "memory_us",
                                                    "vcpu_us",  "sandbox_us",         "run_us",
                                                    "total_us", "guest_resident_kib", "mem_bytes"};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double percentile(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	int idx = (int)(p * (n - 1) + 0.5);
	return v[idx];
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Pulls "name":value out of a one-line JSON object. */
static int json_number(const char *line, const char *name, double *out)
{
	char key[64];
	snprintf(key, sizeof(key), "\"%s\":", name);
	const char *p = strstr(line, key);
	if (!p)
		return -1;
	*out = strtod(p + strlen(key), NULL);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: boottime N COMMAND [ARGS...]\n");
		return 64;
	}
	int n = atoi(argv[1]);
	if (n < 1)
		return 64;
	double *wall = calloc((size_t)n, sizeof(double));
	double *phases[MAX_PHASES];
	for (int i = 0; i < MAX_PHASES; i++)
		phases[i] = calloc((size_t)n, sizeof(double));
	int nphase = 0;
	long max_rss_kib = 0;
	double resident_at_max = 0;

	for (int i = 0; i < n; i++) {
		int errpipe[2];
		if (pipe(errpipe) < 0)
			return 70;
		double t0 = now_us();
		pid_t pid = fork();
		if (pid == 0) {
			int devnull = open("/dev/null", O_WRONLY);
			dup2(devnull, 1);
			dup2(errpipe[1], 2);
			close(errpipe[0]);
			close(errpipe[1]);
			execvp(argv[2], argv + 2);
			_exit(127);
		}
		close(errpipe[1]);
		char buf[4096];
		size_t used = 0;
		ssize_t got;
		while ((got = read(errpipe[0], buf + used, sizeof(buf) - 1 - used)) > 0)
			used += (size_t)got;
		buf[used] = '\0';
		close(errpipe[0]);
		int status;
		struct rusage ru;
		wait4(pid, &status, 0, &ru);
		wall[i] = now_us() - t0;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "boottime: run %d failed (status 0x%x): %s\n", i, status,
			        buf);
			return 1;
		}
		double v;
		if (json_number(buf, "total_us", &v) == 0) {
			for (int k = 0; k < MAX_PHASES; k++)
				json_number(buf, phase_names[k], &phases[k][nphase]);
			nphase++;
		}
		if (ru.ru_maxrss > max_rss_kib) {
			max_rss_kib = ru.ru_maxrss;
			resident_at_max = nphase ? phases[7][nphase - 1] : 0;
		}
	}
	printf("{\"runs\":%d,\"wall_median_us\":%.1f,\"wall_p90_us\":%.1f,\"wall_min_us\":%.1f,"
	       "\"peak_rss_kib\":%ld,\"guest_resident_kib\":%.0f",
	       n, percentile(wall, n, 0.5), percentile(wall, n, 0.9), percentile(wall, n, 0.0),
	       max_rss_kib, resident_at_max);
	for (int k = 0; k < 7 && nphase; k++)
		printf(",\"%s_median\":%.1f", phase_names[k], percentile(phases[k], nphase, 0.5));
	printf("}\n");
	return 0;
}

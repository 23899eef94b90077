// SPDX-License-Identifier: GPL-2.0
/*
 * touch-mem: map anonymous memory and touch every page of it, so that page
 * faults visibly happen (the demo runs it under memwatch).
 *
 *   touch-mem [-w] [MIB]
 *
 * Maps MIB MiB (default 64) of private anonymous memory, writes one byte to
 * each page, prints what it did, and unmaps it. With -w it prints
 * "touch-mem: pid N ready" and reads a line from stdin before mapping, and
 * reads another before unmapping, so that a script can start watching it
 * first and look at it while the memory is still mapped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void wait_line(void)
{
	char buf[64];

	fflush(stdout);
	if (!fgets(buf, sizeof(buf), stdin))
		exit(0);
}

static void usage(void)
{
	fprintf(stderr, "usage: touch-mem [-w] [MIB]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long mib = 64;
	long page = sysconf(_SC_PAGESIZE);
	int wait = 0, opt;
	double t0, t1;
	size_t len, i;
	char *end, *p;

	while ((opt = getopt(argc, argv, "wh")) != -1) {
		if (opt == 'w')
			wait = 1;
		else
			usage();
	}
	if (optind < argc - 1)
		usage();
	if (optind == argc - 1) {
		errno = 0;
		mib = strtoul(argv[optind], &end, 10);
		if (errno || end == argv[optind] || *end || !mib ||
		    mib > (~0UL >> 21))
			usage();
	}
	len = mib << 20;

	if (wait) {
		printf("touch-mem: pid %d ready\n", getpid());
		wait_line();
	}

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "touch-mem: mmap %lu MiB: %s\n", mib,
			strerror(errno));
		return 1;
	}

	t0 = now();
	for (i = 0; i < len; i += page)
		p[i] = 1;
	t1 = now();

	printf("touch-mem: pid %d touched %lu MiB at %p (%zu pages of %ld bytes) in %.3f s\n",
	       getpid(), mib, (void *)p, len / page, page, t1 - t0);

	if (wait)
		wait_line();
	munmap(p, len);
	return 0;
}

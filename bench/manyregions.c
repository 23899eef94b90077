// SPDX-License-Identifier: GPL-2.0
/*
 * manyregions: the scale workload of `make bench`.
 *
 * Maps N one-page anonymous regions with a one-page gap after each (so no
 * two merge into one VMA), starts T threads, prints "ready PID" and waits
 * for a line on stdin. On "go" every thread faults in the regions i, i + T,
 * i + 2T, ... and then maps, grows (mremap) and unmaps one region of its
 * own, all threads at once; the process prints "done NS" (wall time of that
 * step) and waits for another line before it exits.
 *
 *   manyregions [-n REGIONS] [-t THREADS]   (defaults 100000 and 1000)
 *
 * vm.max_map_count must allow REGIONS plus two VMAs per thread stack.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL

static char *base;
static long nregions = 100000;
static long nthreads = 1000;
static pthread_barrier_t start, end;

static void die(const char *what)
{
	fprintf(stderr, "manyregions: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *thread_main(void *arg)
{
	long i, idx = (long)arg;
	char *p, *q;

	pthread_barrier_wait(&start);
	for (i = idx; i < nregions; i += nthreads)
		((volatile char *)base)[2 * i * PAGE] = 1;
	p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	p[0] = 1;
	q = mremap(p, 4 * PAGE, 64 * PAGE, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		die("mremap");
	if (munmap(q, 64 * PAGE))
		die("munmap");
	pthread_barrier_wait(&end);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_attr_t attr;
	pthread_t th;
	char line[64];
	uint64_t t0;
	long i;
	int opt;

	while ((opt = getopt(argc, argv, "n:t:")) != -1) {
		switch (opt) {
		case 'n':
			nregions = strtol(optarg, NULL, 0);
			break;
		case 't':
			nthreads = strtol(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: manyregions [-n REGIONS] [-t THREADS]\n");
			return 2;
		}
	}
	if (nregions <= 0 || nthreads <= 0) {
		fprintf(stderr, "manyregions: -n and -t must be positive\n");
		return 2;
	}
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		die("prctl(PR_SET_THP_DISABLE)");
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* Find room for all of it, then map each region on its own. */
	base = mmap(NULL, 2 * nregions * PAGE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		die("mmap");
	if (munmap(base, 2 * nregions * PAGE))
		die("munmap");
	for (i = 0; i < nregions; i++) {
		char *want = base + 2 * i * PAGE;
		char *p = mmap(want, PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS |
			       MAP_FIXED_NOREPLACE, -1, 0);

		if (p != want)
			die("mmap of a region");
	}

	pthread_barrier_init(&start, NULL, nthreads + 1);
	pthread_barrier_init(&end, NULL, nthreads + 1);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (i = 0; i < nthreads; i++) {
		errno = pthread_create(&th, &attr, thread_main, (void *)i);
		if (errno)
			die("pthread_create");
		pthread_detach(th);
	}

	printf("ready %d\n", getpid());
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	t0 = now_ns();
	pthread_barrier_wait(&start);
	pthread_barrier_wait(&end);
	printf("done %llu\n", (unsigned long long)(now_ns() - t0));
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	return 0;
}

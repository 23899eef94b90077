// SPDX-License-Identifier: GPL-2.0
/*
 * mwbench: the fault-path and mapping-path workloads of `make bench`.
 *
 * It prints "ready PID" and waits for a line on stdin, so that the caller
 * can watch or trace this process before anything is timed; then it runs
 * every workload and prints one line per figure:
 *
 *   fault1 NS   per 4 KiB anonymous write fault, one thread
 *   fault2 NS   per fault, wall time over all faults, two threads at once
 *   map NS      per round of mmap + mprotect + mremap + 2 munmap
 *
 * Each figure is the best of -r repetitions, which keeps interference from
 * outside the guest out of it. Transparent huge pages are off for the whole
 * process (PR_SET_THP_DISABLE and MADV_NOHUGEPAGE), so every fault maps one
 * 4 KiB page.
 *
 *   mwbench [-f MIB] [-m ROUNDS] [-r REPS] [-n]
 *     -f  MiB each faulting thread touches (default 64)
 *     -m  mapping rounds per repetition (default 4000)
 *     -r  repetitions (default 3)
 *     -n  no waiting: run at once
 */

#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL

static size_t fault_bytes = 64UL << 20;
static long map_rounds = 4000;
static int reps = 3;

static void die(const char *what)
{
	fprintf(stderr, "mwbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static char *map_anon(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	if (madvise(p, len, MADV_NOHUGEPAGE))
		die("madvise");
	return p;
}

static void touch(char *p, size_t len)
{
	size_t off;

	for (off = 0; off < len; off += PAGE)
		((volatile char *)p)[off] = 1;
}

struct faulter {
	pthread_t thread;
	pthread_barrier_t *barrier;
	char *p;
};

static void *faulter_main(void *arg)
{
	struct faulter *f = arg;

	f->p = map_anon(fault_bytes);
	pthread_barrier_wait(f->barrier);
	touch(f->p, fault_bytes);
	pthread_barrier_wait(f->barrier);
	return NULL;
}

/* Nanoseconds per fault with @nthreads threads faulting at once. */
static double fault_run(int nthreads)
{
	struct faulter f[2];
	pthread_barrier_t barrier;
	uint64_t t0, t1;
	int i;

	if (nthreads == 1) {
		char *p = map_anon(fault_bytes);

		t0 = now_ns();
		touch(p, fault_bytes);
		t1 = now_ns();
		munmap(p, fault_bytes);
		return (double)(t1 - t0) / (fault_bytes / PAGE);
	}
	pthread_barrier_init(&barrier, NULL, nthreads + 1);
	for (i = 0; i < nthreads; i++) {
		f[i].barrier = &barrier;
		errno = pthread_create(&f[i].thread, NULL, faulter_main, &f[i]);
		if (errno)
			die("pthread_create");
	}
	pthread_barrier_wait(&barrier);
	t0 = now_ns();
	pthread_barrier_wait(&barrier);
	t1 = now_ns();
	for (i = 0; i < nthreads; i++) {
		pthread_join(f[i].thread, NULL);
		munmap(f[i].p, fault_bytes);
	}
	pthread_barrier_destroy(&barrier);
	return (double)(t1 - t0) / (nthreads * (fault_bytes / PAGE));
}

/*
 * Nanoseconds per round of the calls an allocator makes: reserve, commit
 * part, grow that part (it moves: the reserved rest is in the way),
 * release.
 */
static double map_run(void)
{
	const size_t len = 16 * PAGE;
	uint64_t t0, t1;
	long i;

	t0 = now_ns();
	for (i = 0; i < map_rounds; i++) {
		char *p = mmap(NULL, len, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			       -1, 0);
		char *q;

		if (p == MAP_FAILED)
			die("mmap");
		if (mprotect(p, len / 2, PROT_READ | PROT_WRITE))
			die("mprotect");
		q = mremap(p, len / 2, len, MREMAP_MAYMOVE);
		if (q == MAP_FAILED)
			die("mremap");
		if (munmap(q, len) || munmap(p + len / 2, len / 2))
			die("munmap");
	}
	t1 = now_ns();
	return (double)(t1 - t0) / map_rounds;
}

static double best(double (*fn)(int), int arg)
{
	double b = 0;
	int i;

	for (i = 0; i < reps; i++) {
		double v = fn(arg);

		if (!i || v < b)
			b = v;
	}
	return b;
}

static double map_run_arg(int unused)
{
	(void)unused;
	return map_run();
}

int main(int argc, char **argv)
{
	bool wait = true;
	char line[64];
	int opt;

	while ((opt = getopt(argc, argv, "f:m:r:n")) != -1) {
		switch (opt) {
		case 'f':
			fault_bytes = strtoul(optarg, NULL, 0) << 20;
			break;
		case 'm':
			map_rounds = strtol(optarg, NULL, 0);
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 'n':
			wait = false;
			break;
		default:
			fprintf(stderr, "usage: mwbench [-f MIB] [-m ROUNDS] [-r REPS] [-n]\n");
			return 2;
		}
	}
	if (!fault_bytes || map_rounds <= 0 || reps <= 0) {
		fprintf(stderr, "mwbench: -f, -m and -r must be positive\n");
		return 2;
	}
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		die("prctl(PR_SET_THP_DISABLE)");
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (wait) {
		printf("ready %d\n", getpid());
		if (!fgets(line, sizeof(line), stdin))
			return 1;
	}
	printf("fault1 %.1f\n", best(fault_run, 1));
	printf("fault2 %.1f\n", best(fault_run, 2));
	printf("map %.1f\n", best(map_run_arg, 0));
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Workload programs that memwatch_track execs, so that the process it checks
 * has a fresh address space with nothing inherited from the test harness.
 *
 *   mw_workload running CMD_FD REP_FD
 *	builds known anonymous memory, then waits: the target of "watch a
 *	process that is already running".
 *   mw_workload exec CMD_FD REP_FD
 *	what a watched process execs: maps and touches one region.
 *
 * Each sends one struct mw_report on REP_FD when set up, then waits for
 * commands on CMD_FD: 'x' exits, end of file exits.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "mw_util.h"

static int cmd_fd = -1, rep_fd = -1;
static size_t page;

static void send_report(const struct mw_report *r)
{
	const char *p = (const char *)r;
	size_t left = sizeof(*r);

	while (left) {
		ssize_t n = write(rep_fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(3);
		p += n;
		left -= n;
	}
}

static void fail(int line, int err)
{
	struct mw_report r;

	memset(&r, 0, sizeof(r));
	r.err = err ? err : -1;
	r.line = line;
	send_report(&r);
	_exit(1);
}

#define CHECK(c) do { if (!(c)) fail(__LINE__, errno); } while (0)

static void serve(void)
{
	for (;;) {
		char c;
		ssize_t n = read(cmd_fd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n != 1 || c == 'x')
			_exit(0);
	}
}

/*
 * An anonymous mapping with a free page on each side, so that the kernel
 * cannot merge it with a neighbour into one VMA. Later mappings land below
 * it and free their own top page, so the gaps stay.
 */
static char *map_isolated(size_t len, int prot, int flags)
{
	char *m = mmap(NULL, len + 2 * page, prot,
		       MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);

	CHECK(m != MAP_FAILED);
	CHECK(!munmap(m, page));
	CHECK(!munmap(m + page + len, page));
	return m + page;
}

struct running_thread {
	pthread_barrier_t mapped;
	char *mem;
	pid_t tid;
};

static void *running_thread_fn(void *arg)
{
	struct running_thread *t = arg;

	pthread_setname_np(pthread_self(), "mw-running-t");
	t->tid = gettid();
	t->mem = map_isolated(2 * MW_MIB, PROT_READ | PROT_WRITE, 0);
	memset(t->mem, 0x11, 2 * MW_MIB);
	pthread_barrier_wait(&t->mapped);
	for (;;)
		pause();
	return NULL;
}

/*
 * The memory the "running" target owns when it is watched: an isolated
 * 6 MiB mapping with 5 MiB touched; an isolated 8 MiB PROT_NONE reservation
 * with its first 2 MiB made read-write and 1 MiB of it touched; a heap
 * grown by 1 MiB with 512 KiB touched; a thread's isolated 2 MiB mapping,
 * all touched.
 */
static void running(void)
{
	struct running_thread t;
	struct mw_report r;
	pthread_t th;
	char *a, *b, *brk0;

	prctl(PR_SET_NAME, "mw-running");

	/* The thread first: its stack must not land beside our mappings. */
	CHECK(!pthread_barrier_init(&t.mapped, NULL, 2));
	errno = pthread_create(&th, NULL, running_thread_fn, &t);
	CHECK(!errno);
	pthread_barrier_wait(&t.mapped);

	a = map_isolated(6 * MW_MIB, PROT_READ | PROT_WRITE, 0);
	memset(a, 0x22, 5 * MW_MIB);

	b = map_isolated(8 * MW_MIB, PROT_NONE, MAP_NORESERVE);
	CHECK(!mprotect(b, 2 * MW_MIB, PROT_READ | PROT_WRITE));
	memset(b, 0x33, MW_MIB);

	brk0 = sbrk(0);
	CHECK(brk0 != (void *)-1);
	CHECK(sbrk(MW_MIB) != (void *)-1);
	memset(brk0, 0x44, 512 * MW_KIB);

	memset(&r, 0, sizeof(r));
	r.v[0] = (uintptr_t)a;
	r.v[1] = (uintptr_t)b;
	r.v[2] = (uintptr_t)t.mem;
	r.v[3] = t.tid;
	r.v[4] = mw_start_brk(0);
	CHECK(r.v[4]);
	r.v[5] = (uintptr_t)sbrk(0);
	send_report(&r);
	serve();
}

/* What the watched process execs: one new region, 2 of its 3 MiB touched. */
static void exec_target(void)
{
	struct mw_report r;
	char *q;

	prctl(PR_SET_NAME, "mw-exec-new");
	q = mmap(NULL, 3 * MW_MIB, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(q != MAP_FAILED);
	memset(q, 0x55, 2 * MW_MIB);

	memset(&r, 0, sizeof(r));
	r.v[0] = (uintptr_t)q;
	r.v[1] = getpid();
	send_report(&r);
	serve();
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s running|exec CMD_FD REP_FD\n",
			argv[0]);
		return 2;
	}
	cmd_fd = atoi(argv[2]);
	rep_fd = atoi(argv[3]);
	page = sysconf(_SC_PAGESIZE);
	/* Exact page counts: no huge pages, no khugepaged collapse. */
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);

	if (!strcmp(argv[1], "running"))
		running();
	else if (!strcmp(argv[1], "exec"))
		exec_target();
	fprintf(stderr, "%s: unknown mode %s\n", argv[0], argv[1]);
	return 2;
}

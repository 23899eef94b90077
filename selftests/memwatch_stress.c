// SPDX-License-Identifier: GPL-2.0
/*
 * Races and lifecycle of the memwatch module under load.
 *
 * 1. For MEMWATCH_STRESS_SECS (default 10) seconds, together: a process of
 *    64 threads doing mmap/munmap/mprotect/mremap/madvise and fault storms,
 *    forking children that exec or exit; a second such process; loops that
 *    watch and unwatch, dump regions, list watches and read the status; an
 *    events listener; memwatchctl list/report loops when MEMWATCH_CTL is
 *    set. The first process is watched throughout: once it is at rest, its
 *    totals must equal smaps.
 * 2. The same load again, and rmmod while it runs (every hook busy; new
 *    dumps wait, as an open dump holds the module), then insmod again.
 *    MEMWATCH_STRESS_RMMOD=0 leaves it out.
 * 3. 50 load/unload cycles, each with a watch alive at unload.
 *
 * The module is loaded again from MEMWATCH_KO, with the parameters in
 * MEMWATCH_KO_PARAMS (as guest-check.sh loaded it), when the test ends.
 * The kernel log (oops, warnings, KASAN, lockdep) is checked by the runner.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <netlink/genl/ctrl.h>

#include "kselftest.h"
#include "mw_nl.h"
#include "mw_util.h"

#define CHURN_THREADS 64
#define SMALL_THREADS 8
#define CYCLES 50
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

enum counter {
	C_MMAP, C_MUNMAP, C_MPROTECT, C_MREMAP, C_MADVISE, C_FAULT_PAGES,
	C_FORK, C_EXEC, C_WATCH, C_UNWATCH, C_DUMP, C_DUMP_INTR, C_LIST,
	C_STATUS, C_EVENT, C_CTL, C_NLERR, NCOUNTERS
};

static const char *const counter_name[NCOUNTERS] = {
	"mmap", "munmap", "mprotect", "mremap", "madvise", "pages faulted",
	"forks", "execs", "watch", "unwatch", "GET_REGIONS dumps",
	"dumps interrupted", "GET_WATCHES dumps", "GET_STATUS", "events",
	"memwatchctl runs", "netlink errors (module gone, EINTR...)",
};

struct shared {
	atomic_ulong c[NCOUNTERS];
	atomic_int stop;	/* churners: 1 = come to rest */
	atomic_int quit;	/* loops: end */
	atomic_int nodump;	/* loops: no dumps (each pins the module) */
};

static struct shared *sh;
static size_t page;

static void count(enum counter c, unsigned long n)
{
	atomic_fetch_add_explicit(&sh->c[c], n, memory_order_relaxed);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ------------------------------------------------------------------ */
/* the churning processes                                             */
/* ------------------------------------------------------------------ */

static void touch(char *p, size_t len)
{
	size_t off;

	for (off = 0; off < len; off += page)
		p[off] = 1;
	count(C_FAULT_PAGES, len / page);
}

/* per churning process (each is a fork of the test): its first children */
static atomic_int first_forks;

/* Fork a child that execs (@how 0), exits (1) or either (-1). */
static void churn_child(uint64_t *s, int how)
{
	pid_t pid = fork();

	if (pid < 0)
		return;
	count(C_FORK, 1);
	if (pid == 0) {
		if (how < 0 ? xs(s) % 2 : how == 0) {
			count(C_EXEC, 1);
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		{
			/* touch some memory of its own and exit */
			char *p = mmap(NULL, 32 * page, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p != MAP_FAILED)
				touch(p, 32 * page);
		}
		_exit(0);
	}
	waitpid(pid, NULL, 0);
}

/* One churning thread: a few live mappings changing all the time. */
static void *churn_thread(void *arg)
{
	uint64_t s = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;
	char *map[4] = { 0 };
	size_t len[4] = { 0 };
	int i;

	while (!atomic_load(&sh->stop)) {
		i = xs(&s) % 4;
		if (!map[i]) {
			len[i] = (1 + xs(&s) % 64) * page;
			map[i] = mmap(NULL, len[i], PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (map[i] == MAP_FAILED) {
				map[i] = NULL;
				continue;
			}
			count(C_MMAP, 1);
			touch(map[i], len[i]);
			continue;
		}
		switch (xs(&s) % 6) {
		case 0:
			munmap(map[i], len[i]);
			map[i] = NULL;
			count(C_MUNMAP, 1);
			break;
		case 1: {
			size_t off = (xs(&s) % (len[i] / page)) * page;

			mprotect(map[i] + off, page, PROT_READ);
			mprotect(map[i] + off, page, PROT_READ | PROT_WRITE);
			count(C_MPROTECT, 2);
			break;
		}
		case 2: {
			size_t nl = (1 + xs(&s) % 128) * page;
			char *p = mremap(map[i], len[i], nl, MREMAP_MAYMOVE);

			if (p != MAP_FAILED) {
				map[i] = p;
				len[i] = nl;
				touch(p, nl);
			}
			count(C_MREMAP, 1);
			break;
		}
		case 3:
			madvise(map[i], len[i], MADV_DONTNEED);
			count(C_MADVISE, 1);
			touch(map[i], len[i]);
			break;
		case 4:
			/* a hole in the middle, then the tail past it */
			if (len[i] >= 3 * page) {
				munmap(map[i] + page, page);
				munmap(map[i] + 2 * page, len[i] - 2 * page);
				len[i] = page;
				count(C_MUNMAP, 2);
			}
			touch(map[i], page);
			break;
		default: {
			/*
			 * However slow the kernel (KASAN), each churning
			 * process forks an exec'ing and an exiting child.
			 */
			int k = atomic_fetch_add(&first_forks, 1);

			if (k < 2)
				churn_child(&s, k);
			else if (xs(&s) % 64 == 0)
				churn_child(&s, -1);
			else
				touch(map[i], len[i]);
			break;
		}
		}
	}
	/* at rest: keep one mapping half touched, drop the others */
	for (i = 1; i < 4; i++)
		if (map[i])
			munmap(map[i], len[i]);
	if (map[0] && len[0] > page)
		madvise(map[0], len[0] / 2, MADV_DONTNEED);
	return NULL;
}

/*
 * A process of @nthreads churning threads. It starts churning when @go is
 * readable, comes to rest when sh->stop is set (all threads joined, its
 * memory fixed) and writes one byte to @ready, then waits to be killed.
 */
static pid_t churner(int nthreads, int go_fd, int ready_fd)
{
	pid_t pid = fork();
	pthread_t th[CHURN_THREADS];
	char c;
	int i;

	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (read(go_fd, &c, 1) != 1)
		_exit(1);
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, churn_thread,
				   (void *)(uintptr_t)(getpid() * 131 + i)))
			_exit(2);
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	c = 'r';
	if (write(ready_fd, &c, 1) != 1)
		_exit(3);
	for (;;)
		pause();
}

/* ------------------------------------------------------------------ */
/* the netlink loops                                                  */
/* ------------------------------------------------------------------ */

/* (Re)open when the family went away with the module. */
static bool nl_ready(struct mw_nl *nl)
{
	if (nl->sk)
		return true;
	if (mw_nl_open(nl)) {
		usleep(20000);
		return false;
	}
	return true;
}

/*
 * A breath between requests; while sh->nodump is set, no new dump starts:
 * a running dump holds a module reference, and with dumps back to back
 * rmmod finds no moment to unload.
 */
static void breathe(void)
{
	usleep(1000);
	while (atomic_load(&sh->nodump) && !atomic_load(&sh->quit))
		usleep(1000);
}

static void nl_failed(struct mw_nl *nl, int ret)
{
	count(C_NLERR, 1);
	if (ret == -ENOENT || ret == -EOPNOTSUPP || ret == -EIO || nl->local) {
		mw_nl_close(nl);
		usleep(5000);
	}
}

enum loop { L_WATCHER, L_REPORTER, L_LISTER, L_EVENTS, L_CTL };

static void loop_watcher(pid_t other)
{
	struct mw_nl nl = { 0 };
	unsigned int n = 0;

	while (!atomic_load(&sh->quit)) {
		int ret;

		if (!nl_ready(&nl))
			continue;
		breathe();
		ret = mw_watch(&nl, other, n++ % 3 == 0 ?
			       MEMWATCH_WATCH_F_FOLLOW_FORKS : 0, NULL);
		if (ret == 0)
			count(C_WATCH, 1);
		else if (ret != -EEXIST)
			nl_failed(&nl, ret);
		if (!nl.sk)
			continue;
		ret = mw_unwatch(&nl, other);
		if (ret == 0)
			count(C_UNWATCH, 1);
		else if (ret != -ENOENT)
			nl_failed(&nl, ret);
	}
	mw_nl_close(&nl);
}

static void loop_reporter(pid_t a, pid_t b)
{
	struct mw_nl nl = { 0 };
	unsigned int n = 0;

	while (!atomic_load(&sh->quit)) {
		struct mw_regions rs;
		int ret;

		if (!nl_ready(&nl))
			continue;
		breathe();
		ret = mw_get_regions(&nl, n++ % 2 ? a : b, &rs);
		if (ret == 0) {
			count(C_DUMP, 1);
			count(C_DUMP_INTR, rs.retries);
			mw_regions_free(&rs);
		} else if (ret == -EINTR) {
			count(C_DUMP_INTR, 1);
		} else if (ret != -ENOENT) {
			nl_failed(&nl, ret);
		}
	}
	mw_nl_close(&nl);
}

static void loop_lister(void)
{
	struct mw_nl nl = { 0 };

	while (!atomic_load(&sh->quit)) {
		struct mw_watches ws;
		struct mw_status st;
		int ret;

		if (!nl_ready(&nl))
			continue;
		breathe();
		ret = mw_get_watches(&nl, 0, &ws);
		if (ret == 0) {
			count(C_LIST, 1);
			mw_watches_free(&ws);
		} else if (ret != -EINTR) {
			nl_failed(&nl, ret);
			continue;
		}
		ret = mw_get_status(&nl, &st);
		if (ret == 0)
			count(C_STATUS, 1);
		else
			nl_failed(&nl, ret);
		mw_status_free(&st);
	}
	mw_nl_close(&nl);
}

static void loop_events(void)
{
	static char buf[65536];
	struct mw_nl nl = { 0 };
	int fd = -1;

	while (!atomic_load(&sh->quit)) {
		struct pollfd pfd;
		ssize_t n;

		if (fd < 0) {
			struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
			int grp;

			if (!nl_ready(&nl))
				continue;
			grp = genl_ctrl_resolve_grp(nl.sk, MEMWATCH_GENL_NAME,
						    MEMWATCH_MCGRP_EVENTS);
			mw_nl_close(&nl);
			if (grp < 0) {
				usleep(20000);
				continue;
			}
			fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
				    NETLINK_GENERIC);
			if (fd < 0 || bind(fd, (struct sockaddr *)&sa,
					   sizeof(sa)) ||
			    setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
				       &grp, sizeof(grp))) {
				if (fd >= 0)
					close(fd);
				fd = -1;
				usleep(20000);
				continue;
			}
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == ENOBUFS) {
			count(C_NLERR, 1);
			continue;
		}
		if (n > 0) {
			struct nlmsghdr *nlh;
			int len = (int)n;

			for (nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, len);
			     nlh = NLMSG_NEXT(nlh, len))
				count(C_EVENT, 1);
		}
	}
	if (fd >= 0)
		close(fd);
}

static void loop_ctl(pid_t a, pid_t b)
{
	const char *ctl = getenv("MEMWATCH_CTL");
	unsigned int n = 0;

	if (!ctl || access(ctl, X_OK))
		return;
	while (!atomic_load(&sh->quit)) {
		char pidbuf[16];
		pid_t pid;

		breathe();
		snprintf(pidbuf, sizeof(pidbuf), "%d", n % 2 ? a : b);
		pid = fork();
		if (pid == 0) {
			int fd = open("/dev/null", O_RDWR);

			dup2(fd, 1);
			dup2(fd, 2);
			if (n % 3 == 0)
				execl(ctl, ctl, "list", (char *)NULL);
			else
				execl(ctl, ctl, "report", pidbuf, "--threads",
				      (char *)NULL);
			_exit(127);
		}
		if (pid > 0) {
			waitpid(pid, NULL, 0);
			count(C_CTL, 1);
		}
		n++;
	}
}

static pid_t start_loop(enum loop l, pid_t a, pid_t b)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	switch (l) {
	case L_WATCHER: loop_watcher(b); break;
	case L_REPORTER: loop_reporter(a, b); break;
	case L_LISTER: loop_lister(); break;
	case L_EVENTS: loop_events(); break;
	case L_CTL: loop_ctl(a, b); break;
	}
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* module load and unload                                             */
/* ------------------------------------------------------------------ */

static int load_module(void)
{
	const char *ko = getenv("MEMWATCH_KO");
	const char *params = getenv("MEMWATCH_KO_PARAMS");
	int fd, ret = 0;

	if (!ko)
		return -ENOENT;
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, params ? params : "", 0))
		ret = -errno;
	close(fd);
	return ret == -EEXIST ? 0 : ret;
}

/* rmmod: retried while something holds the module (-EAGAIN, -EBUSY) */
static int unload_module(double timeout_s)
{
	double end = now_s() + timeout_s;

	for (;;) {
		if (syscall(SYS_delete_module, "memwatch", O_NONBLOCK) == 0)
			return 0;
		if (errno == ENOENT)
			return 0;
		if ((errno != EAGAIN && errno != EBUSY &&
		     errno != EWOULDBLOCK) || now_s() > end)
			return -errno;
		usleep(1000);
	}
}

/* ------------------------------------------------------------------ */
/* smaps                                                              */
/* ------------------------------------------------------------------ */

struct totals {
	uint64_t reserved, committed, touched;
};

static int smaps_totals(pid_t pid, struct totals *t, bool print)
{
	char path[64], line[512], name[256], perms[8];
	bool anon = false, committed = false;
	FILE *f;

	memset(t, 0, sizeof(*t));
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e, kb;
		int off = 0;

		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %n", &s, &e, perms,
			   &off) == 3 && off) {
			snprintf(name, sizeof(name), "%s", line + off);
			name[strcspn(name, "\n")] = '\0';
			/* shared anonymous mappings are regions too */
			anon = !name[0] || !strcmp(name, "[heap]") ||
			       !strcmp(name, "[stack]") ||
			       !strncmp(name, "[anon:", 6) ||
			       !strncmp(name, "[anon_shmem:", 12) ||
			       !strcmp(name, "/dev/zero (deleted)");
			committed = strncmp(perms, "---", 3) != 0;
			if (print && anon)
				ksft_print_msg("  vma    %llx-%llx %s %s\n", s, e,
					       perms, name);
			continue;
		}
		if (!anon)
			continue;
		if (sscanf(line, "Size: %llu kB", &kb) == 1) {
			t->reserved += kb * 1024;
			if (committed)
				t->committed += kb * 1024;
		} else if (sscanf(line, "Rss: %llu kB", &kb) == 1) {
			t->touched += kb * 1024;
			if (print && kb)
				ksft_print_msg("         rss %llu kB\n", kb);
		}
	}
	fclose(f);
	return 0;
}

/* ------------------------------------------------------------------ */

struct run {
	pid_t big, small, loops[5];
	int go[2], ready[2];
};

static int start_run(struct run *r)
{
	int i;

	atomic_store(&sh->stop, 0);
	atomic_store(&sh->quit, 0);
	if (pipe(r->go) || pipe(r->ready))
		return -errno;
	r->big = churner(CHURN_THREADS, r->go[0], r->ready[1]);
	r->small = churner(SMALL_THREADS, r->go[0], r->ready[1]);
	if (r->big < 0 || r->small < 0)
		return -errno;
	for (i = 0; i < 5; i++)
		r->loops[i] = start_loop((enum loop)i, r->big, r->small);
	return 0;
}

static void go_run(struct run *r)
{
	char c[2] = { 'g', 'g' };

	if (write(r->go[1], c, 2) != 2)
		ksft_print_msg("cannot start the churners\n");
}

/* Bring the churners to rest: 0 when both said so within @timeout_s. */
static int rest_run(struct run *r, int timeout_s)
{
	struct pollfd pfd = { .fd = r->ready[0], .events = POLLIN };
	int got = 0;
	char c;

	atomic_store(&sh->stop, 1);
	while (got < 2) {
		if (poll(&pfd, 1, timeout_s * 1000) != 1)
			return -ETIMEDOUT;
		if (read(r->ready[0], &c, 1) != 1)
			return -EIO;
		got++;
	}
	return 0;
}

static void end_run(struct run *r)
{
	int i;

	atomic_store(&sh->quit, 1);
	for (i = 0; i < 5; i++) {
		int st;

		/* loops end within a request; a hung one is a failure */
		if (waitpid(r->loops[i], &st, 0) < 0)
			continue;
	}
	mw_kill_reap(r->big);
	mw_kill_reap(r->small);
	close(r->go[0]);
	close(r->go[1]);
	close(r->ready[0]);
	close(r->ready[1]);
}

static void print_counts(const char *what, double secs)
{
	int i;

	ksft_print_msg("%s: %.1f s\n", what, secs);
	for (i = 0; i < NCOUNTERS; i++)
		ksft_print_msg("  %10lu %s\n", atomic_load(&sh->c[i]),
			       counter_name[i]);
	for (i = 0; i < NCOUNTERS; i++)
		atomic_store(&sh->c[i], 0);
}

/* Phase 1: the watched-throughout process ends with exact totals. */
static void phase_load(int secs)
{
	struct mw_regions rs;
	struct totals sm, mw = { 0 };
	struct mw_watch w;
	struct mw_nl nl;
	struct run r;
	double t0;
	int i, ret, incomplete = 0;

	if (mw_nl_open(&nl) || start_run(&r)) {
		ksft_test_result_fail("phase 1 set-up\n");
		return;
	}
	ret = mw_watch(&nl, r.big, 0, NULL);
	if (ret) {
		ksft_test_result_fail("watch the 64-thread process: %s\n",
				      nl.msg);
		end_run(&r);
		mw_nl_close(&nl);
		return;
	}
	t0 = now_s();
	go_run(&r);
	sleep(secs);
	ret = rest_run(&r, 60);
	print_counts("phase 1: load with the 64-thread process watched", now_s() - t0);
	if (ret) {
		ksft_test_result_fail("the churners did not come to rest: %s\n",
				      strerror(-ret));
		end_run(&r);
		mw_nl_close(&nl);
		return;
	}
	atomic_store(&sh->quit, 1);
	mw_wait_at_rest(r.big, 10000);

	ret = mw_get_regions(&nl, r.big, &rs);
	if (ret == 0) {
		for (i = 0; i < rs.n; i++) {
			mw.reserved += rs.r[i].reserved;
			mw.committed += rs.r[i].committed;
			mw.touched += rs.r[i].touched;
			incomplete += !!(rs.r[i].flags &
					 MEMWATCH_REGION_F_INCOMPLETE);
		}
		ksft_print_msg("watched process at rest: %d regions, %d incomplete\n",
			       rs.n, incomplete);
		mw_regions_free(&rs);
	}
	if (ret == 0) {
		struct mw_status st;

		ret = mw_get_status(&nl, &st);
		mw_status_free(&st);
	}
	w.dropped_regions = 0;
	{
		struct mw_watches ws;

		if (mw_get_watches(&nl, r.big, &ws) == 0) {
			for (i = 0; i < ws.n; i++)
				if (ws.w[i].state == MEMWATCH_WATCH_STATE_LIVE)
					w = ws.w[i];
			mw_watches_free(&ws);
		}
	}
	smaps_totals(r.big, &sm, false);
	ksft_print_msg("report: reserved %llu committed %llu touched %llu\n",
		       (unsigned long long)mw.reserved,
		       (unsigned long long)mw.committed,
		       (unsigned long long)mw.touched);
	ksft_print_msg("smaps:  reserved %llu committed %llu touched %llu\n",
		       (unsigned long long)sm.reserved,
		       (unsigned long long)sm.committed,
		       (unsigned long long)sm.touched);
	if (memcmp(&sm, &mw, sizeof(sm)) && !mw_get_regions(&nl, r.big, &rs)) {
		for (i = 0; i < rs.n; i++)
			ksft_print_msg("  region %llx-%llx kind %u flags %x reserved %llu committed %llu touched %llu\n",
				       (unsigned long long)rs.r[i].start,
				       (unsigned long long)rs.r[i].end,
				       rs.r[i].kind, rs.r[i].flags,
				       (unsigned long long)rs.r[i].reserved,
				       (unsigned long long)rs.r[i].committed,
				       (unsigned long long)rs.r[i].touched);
		mw_regions_free(&rs);
		smaps_totals(r.big, &sm, true);
	}
	if (ret == 0 && !memcmp(&sm, &mw, sizeof(sm)) &&
	    !w.dropped_regions && !incomplete)
		ksft_test_result_pass("counts of the process watched throughout equal smaps\n");
	else
		ksft_test_result_fail("counts of the process watched throughout: ret %d, dropped %llu, incomplete %d\n",
				      ret, (unsigned long long)w.dropped_regions,
				      incomplete);
	mw_unwatch(&nl, r.big);
	end_run(&r);
	mw_nl_close(&nl);
}

/* Phase 2: rmmod under load, then insmod, load goes on. */
static void phase_rmmod(void)
{
	struct mw_nl nl;
	struct run r;
	double t0, t1;
	int ret, ret2;

	if (mw_nl_open(&nl) || start_run(&r)) {
		ksft_test_result_fail("phase 2 set-up\n");
		return;
	}
	mw_watch(&nl, r.big, MEMWATCH_WATCH_F_FOLLOW_FORKS, NULL);
	mw_nl_close(&nl);
	t0 = now_s();
	go_run(&r);
	sleep(3);
	t1 = now_s();
	/* churn, watch/unwatch, events and probes go on; dumps pause */
	atomic_store(&sh->nodump, 1);
	ret = unload_module(30);
	atomic_store(&sh->nodump, 0);
	ksft_print_msg("rmmod under load took %.2f s\n", now_s() - t1);
	sleep(1);
	ret2 = load_module();
	sleep(3);
	rest_run(&r, 60);
	end_run(&r);
	print_counts("phase 2: rmmod and insmod under load", now_s() - t0);
	if (ret == 0 && ret2 == 0)
		ksft_test_result_pass("rmmod while watched, dumped and listened to; insmod again\n");
	else
		ksft_test_result_fail("rmmod %s, insmod %s\n", strerror(-ret),
				      strerror(-ret2));
}

/* Phase 3: load/unload cycles with a watch alive at each unload. */
static void phase_cycles(void)
{
	pid_t idle = mw_spawn_idle();
	int i, ret = 0;
	double t0 = now_s();

	for (i = 0; i < CYCLES && !ret; i++) {
		struct mw_nl nl;

		ret = unload_module(30);
		if (ret)
			break;
		ret = load_module();
		if (ret)
			break;
		if (mw_nl_open(&nl) == 0) {
			mw_watch(&nl, idle, 0, NULL);
			mw_nl_close(&nl);
		}
	}
	mw_kill_reap(idle);
	ksft_print_msg("%d load/unload cycles in %.1f s\n", i, now_s() - t0);
	if (!ret)
		ksft_test_result_pass("%d load/unload cycles\n", CYCLES);
	else
		ksft_test_result_fail("cycle %d: %s\n", i, strerror(-ret));
}

int main(void)
{
	const char *env = getenv("MEMWATCH_STRESS_SECS");
	int secs = env && *env ? atoi(env) : 10;
	struct mw_nl nl;
	int ret;

	ksft_print_header();
	page = sysconf(_SC_PAGESIZE);
	if (geteuid() != 0)
		ksft_exit_skip("needs root\n");
	ret = mw_nl_open(&nl);
	if (ret == -ENOENT)
		ksft_exit_skip("family %s absent: module not loaded\n",
			       MEMWATCH_GENL_NAME);
	if (ret)
		ksft_exit_fail_msg("genl socket: %s\n", strerror(-ret));
	mw_nl_close(&nl);
	if (!getenv("MEMWATCH_KO") || access(getenv("MEMWATCH_KO"), R_OK))
		ksft_exit_skip("MEMWATCH_KO does not name the module to reload\n");

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));

	ksft_set_plan(4);
	phase_load(secs);
	env = getenv("MEMWATCH_STRESS_RMMOD");
	if (env && *env == '0')
		ksft_test_result_skip("rmmod under load: MEMWATCH_STRESS_RMMOD=0\n");
	else
		phase_rmmod();
	phase_cycles();

	/* the module is loaded again when the test ends, and answers */
	ret = load_module();
	if (ret == 0)
		ret = mw_nl_open(&nl);
	if (ret == 0) {
		struct mw_status st;

		ret = mw_get_status(&nl, &st);
		mw_status_free(&st);
		mw_nl_close(&nl);
	}
	if (ret == 0)
		ksft_test_result_pass("module loaded and answering at the end\n");
	else
		ksft_test_result_fail("module at the end: %s\n", strerror(-ret));
	ksft_finished();
	return 0;
}

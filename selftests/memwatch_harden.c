// SPDX-License-Identifier: GPL-2.0
/*
 * Permission and limit tests of memwatch beyond memwatch_nl and
 * memwatch_track: a setuid target, pid namespaces, a non-initial network
 * namespace, and the max_exited and max_threads_per_region bounds.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include "kselftest_harness.h"
#include "mw_nl.h"
#include "mw_util.h"

#define PARAM_DIR "/sys/module/memwatch/parameters/"
#define MAX_PARAMS 4
#define MAX_KIDS 8

struct saved_param {
	char path[128];
	char old[32];
};

FIXTURE(harden) {
	struct mw_nl nl;
	struct saved_param params[MAX_PARAMS];
	int nparams;
	pid_t kids[MAX_KIDS];
	int nkids;
};

FIXTURE_SETUP(harden)
{
	int ret;

	if (geteuid() != 0)
		SKIP(return, "needs root");
	ret = mw_nl_open(&self->nl);
	if (ret == -ENOENT)
		SKIP(return, "family %s absent: module not loaded",
		     MEMWATCH_GENL_NAME);
	ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(harden)
{
	int i;

	for (i = 0; i < self->nkids; i++) {
		mw_unwatch(&self->nl, self->kids[i]);
		mw_kill_reap(self->kids[i]);
	}
	for (i = self->nparams - 1; i >= 0; i--)
		mw_write_file(self->params[i].path, self->params[i].old);
	mw_nl_close(&self->nl);
}

/* Set a module parameter for this test; teardown restores it. */
static int set_param(FIXTURE_DATA(harden) *self, const char *name, long val)
{
	struct saved_param *p = &self->params[self->nparams];
	char buf[32];
	int ret;

	if (self->nparams >= MAX_PARAMS)
		return -E2BIG;
	snprintf(p->path, sizeof(p->path), PARAM_DIR "%s", name);
	ret = mw_read_file(p->path, p->old, sizeof(p->old));
	if (ret <= 0)
		return ret ? ret : -EIO;
	p->old[strcspn(p->old, "\n")] = '\0';
	snprintf(buf, sizeof(buf), "%ld", val);
	ret = mw_write_file(p->path, buf);
	if (ret)
		return ret;
	self->nparams++;
	return 0;
}

static void add_kid(FIXTURE_DATA(harden) *self, pid_t pid)
{
	if (self->nkids < MAX_KIDS)
		self->kids[self->nkids++] = pid;
}

/*
 * Run @fn in a child process and return its exit status (0 = passed);
 * @fn returns a line number on failure so the log says where.
 */
static int in_child(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn(arg));
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ------------------------------------------------------------------ */
/* a setuid target                                                    */
/* ------------------------------------------------------------------ */

#define SUID_COPY "/tmp/memwatch-suid-sleep"

struct suid_arg {
	pid_t target;
	int watch_err;
	int smaps_errno;
};

static int perfmon_nobody_watch(void *arg)
{
	struct suid_arg *a = arg;
	struct mw_nl nl;
	char path[64];
	int fd;

	if (mw_drop_privs(MW_UNPRIV_ID, MW_UNPRIV_ID, MW_CAP(CAP_PERFMON)))
		return __LINE__;
	snprintf(path, sizeof(path), "/proc/%d/smaps", a->target);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		/*
		 * From 7.x the kernel lets any CAP_PERFMON caller read smaps
		 * (may_access_mm()); memwatch keeps the rule smaps had before,
		 * credentials and dumpability, so it must still refuse.
		 */
		close(fd);
	} else if (errno != EACCES && errno != EPERM) {
		return __LINE__;
	}
	if (mw_nl_open(&nl))
		return __LINE__;
	if (mw_watch(&nl, a->target, MEMWATCH_WATCH_F_EXISTING_OK, NULL) !=
	    -EPERM)
		return __LINE__;
	if (!strlen(nl.msg))
		return __LINE__;
	/* root watches it: its data stays closed to this caller */
	if (mw_get_regions(&nl, a->target, &(struct mw_regions){ 0 }) != -EPERM)
		return __LINE__;
	if (mw_unwatch(&nl, a->target) != -EPERM)
		return __LINE__;
	mw_nl_close(&nl);
	return 0;
}

TEST_F(harden, setuid_target_is_eperm_to_a_caller_who_cannot_read_its_smaps)
{
	struct suid_arg a = { 0 };
	int in, out, fds[2];
	char c;
	pid_t pid;

	/* a setuid-root copy of sleep, started by nobody */
	in = open("/bin/sleep", O_RDONLY);
	ASSERT_LE(0, in);
	unlink(SUID_COPY);
	out = open(SUID_COPY, O_WRONLY | O_CREAT | O_EXCL, 0755);
	ASSERT_LE(0, out);
	for (;;) {
		char buf[65536];
		ssize_t n = read(in, buf, sizeof(buf));

		ASSERT_LE(0, n);
		if (!n)
			break;
		ASSERT_EQ(n, write(out, buf, n));
	}
	close(in);
	close(out);
	ASSERT_EQ(0, chown(SUID_COPY, 0, 0));
	ASSERT_EQ(0, chmod(SUID_COPY, 04755));

	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(fds[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (mw_drop_privs(MW_UNPRIV_ID, MW_UNPRIV_ID, 0))
			_exit(1);
		fcntl(fds[1], F_SETFD, FD_CLOEXEC);
		execl(SUID_COPY, "memwatch-suid", "60", (char *)NULL);
		_exit(2);
	}
	close(fds[1]);
	/* the pipe closes at exec */
	ASSERT_EQ(0, read(fds[0], &c, 1));
	close(fds[0]);
	add_kid(self, pid);

	{
		char path[64], buf[512];
		unsigned int r, e;
		char *p;

		snprintf(path, sizeof(path), "/proc/%d/status", pid);
		ASSERT_LT(0, mw_read_file(path, buf, sizeof(buf)));
		p = strstr(buf, "Uid:");
		ASSERT_NE(NULL, p);
		ASSERT_EQ(2, sscanf(p, "Uid: %u %u", &r, &e));
		ASSERT_EQ(MW_UNPRIV_ID, r);
		ASSERT_EQ(0, e) {
			TH_LOG("the copy did not run setuid (is /tmp nosuid?)");
		}
	}

	a.target = pid;
	ASSERT_EQ(0, mw_watch(&self->nl, pid, 0, NULL));
	EXPECT_EQ(0, in_child(perfmon_nobody_watch, &a)) {
		TH_LOG("see the line number the child exited with");
	}
	unlink(SUID_COPY);
}

/* ------------------------------------------------------------------ */
/* pid namespaces                                                     */
/* ------------------------------------------------------------------ */

struct ns_arg {
	pid_t outside;
};

/* Runs as pid 1 of a new pid namespace. */
static int pidns_init(void *arg)
{
	struct ns_arg *a = arg;
	struct mw_watches ws;
	struct mw_watch w;
	struct mw_nl nl;
	pid_t inner;
	int ret;

	if (getpid() != 1)
		return __LINE__;
	if (mw_nl_open(&nl))
		return __LINE__;

	/* the outside process cannot be named from in here */
	ret = mw_watch(&nl, a->outside, 0, NULL);
	if (ret != -ESRCH)
		return __LINE__;
	ret = mw_unwatch(&nl, a->outside);
	if (ret != -ESRCH && ret != -ENOENT)
		return __LINE__;

	/* a process in here is named and reported by its pid in here */
	inner = mw_spawn_idle();
	if (inner != 2)
		return __LINE__;
	if (mw_watch(&nl, inner, 0, &w))
		return __LINE__;
	if (w.pid != (uint32_t)inner)
		return __LINE__;
	if (mw_get_watches(&nl, inner, &ws) || ws.n != 1 ||
	    ws.w[0].pid != (uint32_t)inner)
		return __LINE__;
	mw_watches_free(&ws);
	if (mw_unwatch(&nl, inner))
		return __LINE__;
	mw_kill_reap(inner);
	mw_nl_close(&nl);
	return 0;
}

static int pidns_parent(void *arg)
{
	pid_t pid;
	int st;

	if (unshare(CLONE_NEWPID))
		return __LINE__;
	pid = fork();
	if (pid < 0)
		return __LINE__;
	if (pid == 0)
		_exit(pidns_init(arg));
	if (waitpid(pid, &st, 0) < 0)
		return __LINE__;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 200;
}

TEST_F(harden, pid_namespace_caller_names_and_sees_pids_of_its_own_namespace)
{
	struct ns_arg a;

	a.outside = mw_spawn_idle();
	ASSERT_LT(0, a.outside);
	add_kid(self, a.outside);
	/* far from 1 and 2, so it cannot alias a pid in the new namespace */
	ASSERT_LT(2, a.outside);
	EXPECT_EQ(0, in_child(pidns_parent, &a)) {
		TH_LOG("the namespace child failed at the line it exited with");
	}
}

/* ------------------------------------------------------------------ */
/* a non-initial network namespace                                    */
/* ------------------------------------------------------------------ */

static int netns_child(void *arg)
{
	pid_t target = *(pid_t *)arg;
	struct mw_status st;
	struct mw_regions rs;
	struct mw_watch w;
	struct mw_nl nl;

	if (unshare(CLONE_NEWNET))
		return __LINE__;
	if (mw_nl_open(&nl))
		return __LINE__;
	if (mw_get_status(&nl, &st) || st.version != MEMWATCH_GENL_VERSION)
		return __LINE__;
	mw_status_free(&st);
	if (mw_watch(&nl, target, 0, &w) || w.pid != (uint32_t)target)
		return __LINE__;
	if (mw_get_regions(&nl, target, &rs) || rs.n < 1)
		return __LINE__;
	mw_regions_free(&rs);
	if (mw_unwatch(&nl, target))
		return __LINE__;
	mw_nl_close(&nl);
	return 0;
}

TEST_F(harden, family_works_in_a_new_network_namespace)
{
	pid_t target = mw_spawn_idle();

	ASSERT_LT(0, target);
	add_kid(self, target);
	EXPECT_EQ(0, in_child(netns_child, &target)) {
		TH_LOG("the netns child failed at the line it exited with");
	}
}

/* ------------------------------------------------------------------ */
/* bounds                                                             */
/* ------------------------------------------------------------------ */

TEST_F(harden, exited_watches_beyond_max_exited_are_discarded_oldest_first)
{
	struct mw_status st0, st1;
	pid_t pids[4];
	int i;

	if (set_param(self, "max_exited", 2))
		SKIP(return, "max_exited is not writable");
	ASSERT_EQ(0, mw_get_status(&self->nl, &st0));
	for (i = 0; i < 4; i++) {
		pids[i] = mw_spawn_idle();
		ASSERT_LT(0, pids[i]);
		add_kid(self, pids[i]);
		ASSERT_EQ(0, mw_watch(&self->nl, pids[i], 0, NULL));
	}
	/* exit in order; zombies keep the pids nameable */
	for (i = 0; i < 4; i++) {
		kill(pids[i], SIGKILL);
		ASSERT_EQ(0, mw_wait_exited(pids[i], 10000));
		usleep(20000);
	}
	ASSERT_EQ(0, mw_get_status(&self->nl, &st1));
	EXPECT_EQ(st0.watches + 2, st1.watches);
	for (i = 0; i < 4; i++) {
		struct mw_watches ws;

		ASSERT_EQ(0, mw_get_watches(&self->nl, pids[i], &ws));
		if (i < 2) {
			EXPECT_EQ(0, ws.n) {
				TH_LOG("exited watch %d of 4 kept past max_exited=2", i);
			}
		} else {
			EXPECT_EQ(1, ws.n);
			if (ws.n)
				EXPECT_EQ(MEMWATCH_WATCH_STATE_EXITED, ws.w[0].state);
		}
		mw_watches_free(&ws);
	}
	EXPECT_EQ(-ENOENT, mw_unwatch(&self->nl, pids[0]));
	EXPECT_EQ(0, mw_unwatch(&self->nl, pids[3]));
	EXPECT_EQ(0, mw_unwatch(&self->nl, pids[2]));
	mw_status_free(&st0);
	mw_status_free(&st1);
}

#define TPR_THREADS 4
#define TPR_PAGES 16

struct tpr {
	char *mem;
	long page;
	int idx;
};

static void *tpr_thread(void *arg)
{
	struct tpr *t = arg;
	int i;

	for (i = 0; i < TPR_PAGES; i++)
		t->mem[(t->idx * TPR_PAGES + i) * t->page] = 1;
	return NULL;
}

TEST_F(harden, threads_beyond_max_threads_per_region_are_summed_as_other)
{
	const long page = sysconf(_SC_PAGESIZE);
	const uint64_t len = (uint64_t)TPR_THREADS * TPR_PAGES * page;
	int go[2], ready[2], i;
	uint64_t sum = 0;
	struct mw_regions rs;
	const struct mw_region *r;
	char *mem;
	pid_t pid;
	char c;

	if (set_param(self, "max_threads_per_region", 2))
		SKIP(return, "max_threads_per_region is not writable");
	/* placed by the parent so both know where it is; shared by fork */
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct tpr t[TPR_THREADS];
		pthread_t th;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/*
		 * Each thread faults its own pages, 4 KiB at a time: on 6.1
		 * a thread stack's VMA can merge with this mapping, and a
		 * huge page faulted at the stack's top can reach into it.
		 */
		prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		/* one after the other: the first two take the slots */
		for (i = 0; i < TPR_THREADS; i++) {
			t[i] = (struct tpr){ mem, page, i };
			if (pthread_create(&th, NULL, tpr_thread, &t[i]) ||
			    pthread_join(th, NULL))
				_exit(2);
		}
		if (write(ready[1], &c, 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	add_kid(self, pid);
	munmap(mem, len);
	ASSERT_EQ(0, mw_watch(&self->nl, pid, 0, NULL));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(0, mw_wait_at_rest(pid, 10000));

	ASSERT_EQ(0, mw_get_regions(&self->nl, pid, &rs));
	r = mw_region_at(&rs, (uintptr_t)mem);
	ASSERT_NE(NULL, r);
	/*
	 * The bound: two threads attributed, the rest summed as other, and
	 * nothing lost between them. That every fault reached the region at
	 * all is the tracking core's promise, tested in memwatch_track; a
	 * shortfall is logged here.
	 */
	EXPECT_EQ(2, r->nr_threads);
	for (i = 0; i < (int)r->nr_threads; i++) {
		EXPECT_GE((uint64_t)TPR_PAGES * page, r->threads[i].faulted);
		sum += r->threads[i].faulted;
	}
	EXPECT_LT(0, r->other_faulted);
	EXPECT_EQ(r->faulted, sum + r->other_faulted);
	if (r->faulted != len) {
		struct mw_status st;

		mw_get_status(&self->nl, &st);
		TH_LOG("region %llx-%llx flags %x: faulted %llu of %llu bytes touched after the watch; probe hits %llu",
		       (unsigned long long)r->start,
		       (unsigned long long)r->end, r->flags,
		       (unsigned long long)r->faulted,
		       (unsigned long long)len,
		       (unsigned long long)mw_status_hits(&st));
		for (i = 0; i < (int)st.nr_probes; i++)
			if (st.probes[i].missed)
				TH_LOG("probe %s missed %llu", st.probes[i].symbol,
				       (unsigned long long)st.probes[i].missed);
		mw_status_free(&st);
	}
	mw_regions_free(&rs);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * memwatch tracking core: for workloads whose memory use is known exactly,
 * the regions GET_REGIONS reports must carry exactly the numbers the
 * workload's own arithmetic gives, and agree with /proc/PID/smaps.
 *
 * Each test forks a workload process that works in steps. The test watches
 * it before it starts, then for each step sends a command over a pipe; the
 * workload does the step, reports its addresses and goes back to a blocking
 * read, so it is at rest when the test dumps its regions and reads smaps.
 * Workloads run with PR_SET_THP_DISABLE (except the THP test), so that every
 * touched page is one 4 KiB fault and khugepaged cannot change them.
 *
 * Needs root and the memwatch module loaded; skips otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
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

#define MIB(x) ((uint64_t)(x) * MW_MIB)
#define KIB(x) ((uint64_t)(x) * MW_KIB)

#define PARAM_DIR "/sys/module/memwatch/parameters/"

#define MAX_KIDS 80
#define MAX_PARAMS 4

/* glibc's per-thread arena heap: HEAP_MAX_SIZE on 64-bit */
#define ARENA_SIZE MIB(64)

/* The contract's default "lazy" thresholds. */
#define LAZY_MIN_SIZE MIB(32)
#define LAZY_MAX_PCT 25

static size_t page;

/* ------------------------------------------------------------------ */
/* /proc/PID/smaps                                                    */
/* ------------------------------------------------------------------ */

struct vma {
	uint64_t start, end;
	char perms[8];
	char name[256];
	uint64_t size, rss, anon_huge;
};

struct smaps {
	int n;
	struct vma *v;
};

static int smaps_read(pid_t pid, struct smaps *sm)
{
	char path[64], line[512];
	struct vma *cur = NULL;
	FILE *f;

	memset(sm, 0, sizeof(*sm));
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e, kb;
		char perms[8];
		int off = 0;

		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %n", &s, &e, perms,
			   &off) == 3 && off) {
			struct vma *v = realloc(sm->v,
						(sm->n + 1) * sizeof(*v));

			if (!v) {
				fclose(f);
				return -ENOMEM;
			}
			sm->v = v;
			cur = &sm->v[sm->n++];
			memset(cur, 0, sizeof(*cur));
			cur->start = s;
			cur->end = e;
			snprintf(cur->perms, sizeof(cur->perms), "%s", perms);
			snprintf(cur->name, sizeof(cur->name), "%s",
				 line + off);
			cur->name[strcspn(cur->name, "\n")] = '\0';
			continue;
		}
		if (!cur)
			continue;
		if (sscanf(line, "Size: %llu kB", &kb) == 1)
			cur->size = kb * 1024;
		else if (sscanf(line, "Rss: %llu kB", &kb) == 1)
			cur->rss = kb * 1024;
		else if (sscanf(line, "AnonHugePages: %llu kB", &kb) == 1)
			cur->anon_huge = kb * 1024;
	}
	fclose(f);
	return 0;
}

static void smaps_free(struct smaps *sm)
{
	free(sm->v);
	sm->v = NULL;
	sm->n = 0;
}

/*
 * Anonymous as the contract counts it: no backing file, or the heap or main
 * stack; not the vdso, vvar or vsyscall special mappings.
 */
static bool vma_is_anon(const struct vma *v)
{
	return !v->name[0] || !strcmp(v->name, "[heap]") ||
	       !strcmp(v->name, "[stack]") || !strncmp(v->name, "[anon:", 6);
}

/* Mapped with some access: what "committed" counts. */
static bool vma_is_committed(const struct vma *v)
{
	return strncmp(v->perms, "---", 3) != 0;
}

static const struct vma *smaps_find(const struct smaps *sm, const char *name)
{
	int i;

	for (i = 0; i < sm->n; i++)
		if (!strcmp(sm->v[i].name, name))
			return &sm->v[i];
	return NULL;
}

struct sums {
	uint64_t reserved, committed, touched, anon_huge;
	int n;
};

static bool overlaps(uint64_t s1, uint64_t e1, uint64_t s2, uint64_t e2)
{
	return s1 < e2 && s2 < e1;
}

static void smaps_sum(const struct smaps *sm, uint64_t lo, uint64_t hi,
		      struct sums *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < sm->n; i++) {
		const struct vma *v = &sm->v[i];

		if (!vma_is_anon(v) || !overlaps(v->start, v->end, lo, hi))
			continue;
		s->reserved += v->size;
		if (vma_is_committed(v))
			s->committed += v->size;
		s->touched += v->rss;
		s->anon_huge += v->anon_huge;
		s->n++;
	}
}

static void regions_sum(const struct mw_regions *rs, uint64_t lo, uint64_t hi,
			struct sums *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < rs->n; i++) {
		const struct mw_region *r = &rs->r[i];

		if (!overlaps(r->start, r->end, lo, hi))
			continue;
		s->reserved += r->reserved;
		s->committed += r->committed;
		s->touched += r->touched;
		s->n++;
	}
}

static void log_range(struct __test_metadata *_metadata,
		      const struct mw_regions *rs, const struct smaps *sm,
		      uint64_t lo, uint64_t hi)
{
	int i;

	for (i = 0; i < rs->n; i++) {
		const struct mw_region *r = &rs->r[i];

		if (!overlaps(r->start, r->end, lo, hi))
			continue;
		TH_LOG("  region %llx-%llx %s reserved %llu committed %llu touched %llu",
		       (unsigned long long)r->start,
		       (unsigned long long)r->end, mw_region_kind_name(r->kind),
		       (unsigned long long)r->reserved,
		       (unsigned long long)r->committed,
		       (unsigned long long)r->touched);
	}
	for (i = 0; i < sm->n; i++) {
		const struct vma *v = &sm->v[i];

		if (!overlaps(v->start, v->end, lo, hi))
			continue;
		TH_LOG("  vma    %llx-%llx %s %s size %llu rss %llu",
		       (unsigned long long)v->start,
		       (unsigned long long)v->end, v->perms, v->name,
		       (unsigned long long)v->size, (unsigned long long)v->rss);
	}
}

/*
 * Compare the regions with smaps over [lo, hi), first grown until no region
 * and no anonymous VMA crosses its edges: the kernel may have merged a
 * region's VMA with a neighbour's, and then only their sum can be compared.
 * Returns the number of regions compared.
 */
static int check_smaps_range(struct __test_metadata *_metadata,
			     const struct mw_regions *rs,
			     const struct smaps *sm, uint64_t lo, uint64_t hi,
			     const char *what)
{
	struct sums rsum, vsum;
	bool grown = true;
	int i;

	while (grown) {
		grown = false;
		for (i = 0; i < rs->n; i++) {
			const struct mw_region *r = &rs->r[i];

			if (!overlaps(r->start, r->end, lo, hi))
				continue;
			if (r->start < lo || r->end > hi) {
				lo = r->start < lo ? r->start : lo;
				hi = r->end > hi ? r->end : hi;
				grown = true;
			}
		}
		for (i = 0; i < sm->n; i++) {
			const struct vma *v = &sm->v[i];

			if (!vma_is_anon(v) ||
			    !overlaps(v->start, v->end, lo, hi))
				continue;
			if (v->start < lo || v->end > hi) {
				lo = v->start < lo ? v->start : lo;
				hi = v->end > hi ? v->end : hi;
				grown = true;
			}
		}
	}
	regions_sum(rs, lo, hi, &rsum);
	smaps_sum(sm, lo, hi, &vsum);

	EXPECT_EQ(vsum.reserved, rsum.reserved) {
		TH_LOG("%s: reserved differs from smaps Size over %llx-%llx",
		       what, (unsigned long long)lo, (unsigned long long)hi);
		log_range(_metadata, rs, sm, lo, hi);
	}
	EXPECT_EQ(vsum.committed, rsum.committed) {
		TH_LOG("%s: committed differs from smaps over %llx-%llx",
		       what, (unsigned long long)lo, (unsigned long long)hi);
		log_range(_metadata, rs, sm, lo, hi);
	}
	EXPECT_EQ(vsum.touched, rsum.touched) {
		TH_LOG("%s: touched differs from smaps Rss over %llx-%llx",
		       what, (unsigned long long)lo, (unsigned long long)hi);
		log_range(_metadata, rs, sm, lo, hi);
	}
	return rsum.n;
}

/* Read @pid's smaps and compare it with the regions over [lo, hi). */
static void check_smaps(struct __test_metadata *_metadata,
			const struct mw_regions *rs, pid_t pid,
			uint64_t lo, uint64_t hi, const char *what)
{
	struct smaps sm;

	ASSERT_EQ(0, smaps_read(pid, &sm));
	check_smaps_range(_metadata, rs, &sm, lo, hi, what);
	smaps_free(&sm);
}

/*
 * Totals over all regions equal smaps over all anonymous VMAs, and so does
 * every connected group of them.
 */
static void check_smaps_totals(struct __test_metadata *_metadata,
			       const struct mw_regions *rs,
			       const struct smaps *sm, const char *what)
{
	struct sums rsum, vsum;
	int i;

	regions_sum(rs, 0, UINT64_MAX, &rsum);
	smaps_sum(sm, 0, UINT64_MAX, &vsum);
	EXPECT_EQ(vsum.reserved, rsum.reserved) {
		TH_LOG("%s: total reserved vs smaps", what);
	}
	EXPECT_EQ(vsum.committed, rsum.committed) {
		TH_LOG("%s: total committed vs smaps", what);
	}
	EXPECT_EQ(vsum.touched, rsum.touched) {
		TH_LOG("%s: total touched vs smaps Rss", what);
	}
	for (i = 0; i < sm->n; i++)
		if (vma_is_anon(&sm->v[i]))
			EXPECT_LT(0, check_smaps_range(_metadata, rs, sm,
						       sm->v[i].start,
						       sm->v[i].end, what)) {
				TH_LOG("%s: no region for anonymous VMA %llx-%llx %s",
				       what,
				       (unsigned long long)sm->v[i].start,
				       (unsigned long long)sm->v[i].end,
				       sm->v[i].name);
			}
	for (i = 0; i < rs->n; i++)
		check_smaps_range(_metadata, rs, sm, rs->r[i].start,
				  rs->r[i].end, what);
}

/* ------------------------------------------------------------------ */
/* Workload processes                                                 */
/* ------------------------------------------------------------------ */

/* In a workload: its ends of the pipes to the test. */
static int ch_cmd_fd = -1, ch_rep_fd = -1;

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static void ch_send(const struct mw_report *r)
{
	if (write_full(ch_rep_fd, r, sizeof(*r)))
		_exit(3);
}

static void ch_fail(int line, int err)
{
	struct mw_report r;

	memset(&r, 0, sizeof(r));
	r.err = err ? err : -1;
	r.line = line;
	ch_send(&r);
	_exit(1);
}

#define CH_CHECK(c) do { if (!(c)) ch_fail(__LINE__, errno); } while (0)

/* Block until the test sends the next command; exit when it is gone. */
static char ch_next(void)
{
	char c;

	if (read_full(ch_cmd_fd, &c, 1))
		_exit(0);
	return c;
}

static void ch_report(uint64_t v0, uint64_t v1, uint64_t v2)
{
	struct mw_report r;

	memset(&r, 0, sizeof(r));
	r.v[0] = v0;
	r.v[1] = v1;
	r.v[2] = v2;
	ch_send(&r);
}

static void touch(char *p, size_t len)
{
	size_t off;

	for (off = 0; off < len; off += page)
		p[off] = 1;
}

static char *ch_map(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CH_CHECK(p != MAP_FAILED);
	return p;
}

struct kid {
	pid_t pid;
	int cmd;
	int rep;
};

struct param {
	char path[128];
	char old[64];
};

FIXTURE(memwatch_track) {
	struct mw_nl nl;
	struct kid kids[MAX_KIDS];
	int nkids;
	/* processes the workloads made: killed, not talked to */
	pid_t extra[MAX_KIDS];
	int nextra;
	pid_t watched[MAX_KIDS + 8];
	int nwatched;
	struct param params[MAX_PARAMS];
	int nparams;
	char workload[PATH_MAX];
};

FIXTURE_SETUP(memwatch_track)
{
	ssize_t n;
	int ret;

	page = sysconf(_SC_PAGESIZE);
	if (geteuid() != 0)
		SKIP(return, "needs root");
	ret = mw_nl_open(&self->nl);
	if (ret == -ENOENT)
		SKIP(return, "generic netlink family \"%s\" absent: module not loaded",
		     MEMWATCH_GENL_NAME);
	ASSERT_EQ(0, ret);

	/* Orphaned grandchildren come back to us to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

	/* mw_workload is built beside this program. */
	n = readlink("/proc/self/exe", self->workload,
		     sizeof(self->workload) - sizeof("mw_workload"));
	ASSERT_LT(0, n);
	self->workload[n] = '\0';
	strcpy(strrchr(self->workload, '/') + 1, "mw_workload");
}

FIXTURE_TEARDOWN(memwatch_track)
{
	int i;

	for (i = 0; i < self->nwatched; i++)
		mw_unwatch(&self->nl, self->watched[i]);
	for (i = 0; i < self->nkids; i++) {
		close(self->kids[i].cmd);
		close(self->kids[i].rep);
		if (self->kids[i].pid > 0)
			kill(self->kids[i].pid, SIGKILL);
	}
	for (i = 0; i < self->nextra; i++)
		kill(self->extra[i], SIGKILL);
	/* Everything left is dying: reap it all, but never hang here. */
	for (i = 0; i < 10000; i++) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);

		if (pid < 0 && errno != EINTR)
			break;
		if (pid == 0)
			usleep(1000);
	}
	for (i = self->nparams - 1; i >= 0; i--)
		mw_write_file(self->params[i].path, self->params[i].old);
	mw_nl_close(&self->nl);
}

typedef void (*kid_fn)(void *arg);

enum { KID_THP = 1 };

/* Fork a workload running @fn; it waits for the test's first command. */
static struct kid *kid_start(struct __test_metadata *_metadata,
			     FIXTURE_DATA(memwatch_track) *self,
			     kid_fn fn, void *arg, int flags)
{
	int cmd[2], rep[2];
	struct kid *k;

	ASSERT_LT(self->nkids, MAX_KIDS);
	k = &self->kids[self->nkids];
	ASSERT_EQ(0, pipe(cmd));
	ASSERT_EQ(0, pipe(rep));
	fflush(stdout);
	fflush(stderr);
	k->pid = fork();
	ASSERT_LE(0, k->pid);
	if (k->pid == 0) {
		close(cmd[1]);
		close(rep[0]);
		ch_cmd_fd = cmd[0];
		ch_rep_fd = rep[1];
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (!(flags & KID_THP))
			prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
		fn(arg);
		_exit(0);
	}
	close(cmd[0]);
	close(rep[1]);
	k->cmd = cmd[1];
	k->rep = rep[0];
	self->nkids++;
	return k;
}

/* Read the workload's report, then wait until it is at rest. */
static void kid_recv(struct __test_metadata *_metadata, struct kid *k,
		     struct mw_report *r)
{
	struct pollfd pfd = { .fd = k->rep, .events = POLLIN };

	ASSERT_EQ(1, poll(&pfd, 1, 60000)) {
		TH_LOG("workload %d did not report within 60 s", k->pid);
	}
	ASSERT_EQ(0, read_full(k->rep, r, sizeof(*r))) {
		TH_LOG("workload %d died", k->pid);
	}
	ASSERT_EQ(0, r->err) {
		TH_LOG("workload failed at line %d: %s", r->line,
		       strerror(r->err));
	}
	ASSERT_EQ(0, mw_wait_at_rest(k->pid, 10000));
}

static void kid_step(struct __test_metadata *_metadata, struct kid *k,
		     char cmd, struct mw_report *r)
{
	ASSERT_EQ(0, write_full(k->cmd, &cmd, 1));
	kid_recv(_metadata, k, r);
}

static void watch(struct __test_metadata *_metadata,
		  FIXTURE_DATA(memwatch_track) *self, pid_t pid)
{
	ASSERT_EQ(0, mw_watch(&self->nl, pid, 0, NULL)) {
		TH_LOG("WATCH %d: %s", pid, self->nl.msg);
	}
	self->watched[self->nwatched++] = pid;
}

/* Whether @pid is a process that has not exited (not a zombie). */
static int running(pid_t pid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/*
 * What scripts read is `memwatchctl report --json`: for every scenario, at
 * its first dump while the process is at rest, contract_check.py holds that
 * report to the JSON contract and to /proc/PID/smaps. An exited process is left alone: its
 * final data can be read once, and the dump that called this was the read.
 */
static void check_contract(struct __test_metadata *_metadata, pid_t pid)
{
	char self_exe[PATH_MAX], cmd[PATH_MAX + 64], *slash;
	static int checked;	/* each test runs in a child of its own */
	ssize_t n;
	int rc;

	/* once per test: the guest's time budget is small */
	if (checked || !getenv("MEMWATCH_CTL") || !running(pid))
		return;
	checked = 1;
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	ASSERT_LT(0, n);
	self_exe[n] = '\0';
	slash = strrchr(self_exe, '/');
	ASSERT_NE(NULL, slash);
	*slash = '\0';
	snprintf(cmd, sizeof(cmd), "python3 %s/contract_check.py %d", self_exe,
		 pid);
	rc = system(cmd);
	EXPECT_EQ(0, rc) {
		TH_LOG("memwatchctl report %d --json breaks the contract or "
		       "disagrees with smaps (above)", pid);
	}
}

static void dump(struct __test_metadata *_metadata,
		 FIXTURE_DATA(memwatch_track) *self, pid_t pid,
		 struct mw_regions *rs)
{
	ASSERT_EQ(0, mw_get_regions(&self->nl, pid, rs)) {
		TH_LOG("GET_REGIONS %d: %s", pid, self->nl.msg);
	}
	check_contract(_metadata, pid);
}

static const struct mw_region *region_at(struct __test_metadata *_metadata,
					 const struct mw_regions *rs,
					 uint64_t addr)
{
	const struct mw_region *r = mw_region_at(rs, addr);

	ASSERT_NE(NULL, r) {
		TH_LOG("no region contains %llx", (unsigned long long)addr);
	}
	return r;
}

static void get_watch(struct __test_metadata *_metadata,
		      FIXTURE_DATA(memwatch_track) *self, pid_t pid,
		      struct mw_watch *w)
{
	struct mw_watches ws;

	ASSERT_EQ(0, mw_get_watches(&self->nl, pid, &ws)) {
		TH_LOG("GET_WATCHES %d: %s", pid, self->nl.msg);
	}
	ASSERT_EQ(1, ws.n);
	*w = ws.w[0];
	mw_watches_free(&ws);
}

/* The figures every test checks, with what they are in the log. */
static void check_counts(struct __test_metadata *_metadata,
			 const struct mw_region *r, uint64_t reserved,
			 uint64_t committed, uint64_t touched, uint64_t peak,
			 uint64_t faulted, const char *what)
{
	EXPECT_EQ(reserved, r->reserved) {
		TH_LOG("%s: reserved_bytes", what);
	}
	EXPECT_EQ(committed, r->committed) {
		TH_LOG("%s: committed_bytes", what);
	}
	EXPECT_EQ(touched, r->touched) {
		TH_LOG("%s: touched_bytes", what);
	}
	EXPECT_EQ(peak, r->peak_touched) {
		TH_LOG("%s: peak_touched_bytes", what);
	}
	EXPECT_EQ(faulted, r->faulted) {
		TH_LOG("%s: faulted_bytes", what);
	}
}

/* A region the workload's main thread created while watched. */
static void check_created_by(struct __test_metadata *_metadata,
			     const struct mw_region *r, pid_t tid,
			     const char *comm)
{
	EXPECT_EQ((uint32_t)tid, r->creator_tid);
	EXPECT_STREQ(comm, r->creator_comm);
	EXPECT_TRUE(r->present & MW_PRESENT(MEMWATCH_A_REGION_CREATED_NS));
}

/* Exactly one thread faulted the region's pages: @tid. */
static void check_one_faulter(struct __test_metadata *_metadata,
			      const struct mw_region *r, pid_t tid)
{
	ASSERT_EQ(1, r->nr_threads);
	EXPECT_EQ((uint32_t)tid, r->threads[0].tid);
	EXPECT_EQ(r->faulted, r->threads[0].faulted);
	EXPECT_EQ(0, r->other_faulted);
}

static int read_param(const char *name, long *val)
{
	char path[160], buf[64];
	int ret;

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	ret = mw_read_file(path, buf, sizeof(buf));
	if (ret <= 0)
		return ret ? ret : -EIO;
	*val = strtol(buf, NULL, 0);
	return 0;
}

/* Write @val to @path for this test; teardown puts the old value back. */
static int set_file(FIXTURE_DATA(memwatch_track) *self, const char *path,
		    long val)
{
	struct param *p = &self->params[self->nparams];
	char buf[32];
	struct stat st;
	int ret;

	if (self->nparams >= MAX_PARAMS)
		return -E2BIG;
	snprintf(p->path, sizeof(p->path), "%s", path);
	if (stat(p->path, &st) || !(st.st_mode & 0200))
		return -EACCES;
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

/* Set a module parameter for this test. */
static int set_param(FIXTURE_DATA(memwatch_track) *self, const char *name,
		     long val)
{
	char path[128];

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	return set_file(self, path, val);
}

/* ------------------------------------------------------------------ */
/* 1. glibc arenas                                                    */
/* ------------------------------------------------------------------ */

#define ARENA_THREADS 8
#define ARENA_BLOCK KIB(64)
#define ARENA_BLOCKS 16

struct arena_work {
	pthread_barrier_t touched, release;
	uint64_t block[ARENA_THREADS];
	pid_t tid[ARENA_THREADS];
};

struct arena_arg {
	struct arena_work *w;
	int i;
};

static void *arena_thread_fn(void *arg)
{
	struct arena_arg *a = arg;
	char name[16] = "mw-arena-0";
	int b;

	/* Named before its first malloc, which creates its arena. */
	name[9] = '0' + a->i;
	pthread_setname_np(pthread_self(), name);
	a->w->tid[a->i] = gettid();
	for (b = 0; b < ARENA_BLOCKS; b++) {
		char *p = malloc(ARENA_BLOCK);

		if (!p)
			return NULL;
		memset(p, 0x5a, ARENA_BLOCK);
		if (!b)
			a->w->block[a->i] = (uintptr_t)p;
	}
	pthread_barrier_wait(&a->w->touched);
	pthread_barrier_wait(&a->w->release);
	return NULL;
}

static void arena_kid(void *arg)
{
	static struct arena_work w;
	static struct arena_arg args[ARENA_THREADS];
	struct mw_report r;
	pthread_t th;
	int i;

	(void)arg;
	prctl(PR_SET_NAME, "mw-arenas");
	/* Room for an arena per thread whatever the number of CPUs. */
	CH_CHECK(mallopt(M_ARENA_MAX, 4 * ARENA_THREADS) == 1);
	CH_CHECK(!pthread_barrier_init(&w.touched, NULL, ARENA_THREADS + 1));
	CH_CHECK(!pthread_barrier_init(&w.release, NULL, ARENA_THREADS + 1));
	ch_next();

	for (i = 0; i < ARENA_THREADS; i++) {
		args[i].w = &w;
		args[i].i = i;
		errno = pthread_create(&th, NULL, arena_thread_fn, &args[i]);
		CH_CHECK(!errno);
	}
	pthread_barrier_wait(&w.touched);

	memset(&r, 0, sizeof(r));
	for (i = 0; i < ARENA_THREADS; i++) {
		CH_CHECK(w.block[i]);
		r.v[i] = w.block[i];
		r.v[ARENA_THREADS + i] = w.tid[i];
	}
	ch_send(&r);
	ch_next();
}

TEST_F_TIMEOUT(memwatch_track,
	       glibc_arenas_are_one_lazy_64mib_region_per_thread, 120)
{
	const struct mw_region *r;
	struct mw_regions rs;
	struct mw_report rep;
	uint64_t ids[ARENA_THREADS];
	struct kid *k;
	int i, j;

	k = kid_start(_metadata, self, arena_kid, NULL, 0);
	watch(_metadata, self, k->pid);
	kid_step(_metadata, k, 'g', &rep);
	dump(_metadata, self, k->pid, &rs);

	for (i = 0; i < ARENA_THREADS; i++) {
		uint64_t block = rep.v[i];
		uint64_t heap = block & ~(ARENA_SIZE - 1);
		pid_t tid = rep.v[ARENA_THREADS + i];
		char name[16] = "mw-arena-0";
		char what[64];

		name[9] = '0' + i;
		snprintf(what, sizeof(what), "arena of %s", name);
		r = region_at(_metadata, &rs, block);
		ids[i] = r->id;

		EXPECT_EQ(heap, r->start) {
			TH_LOG("%s: region starts at %llx", what,
			       (unsigned long long)r->start);
		}
		EXPECT_EQ(heap + ARENA_SIZE, r->end);
		EXPECT_EQ(ARENA_SIZE, r->reserved) {
			TH_LOG("%s: not one 64 MiB region", what);
		}
		EXPECT_EQ(1, mw_regions_overlapping(&rs, heap,
						    heap + ARENA_SIZE)) {
			TH_LOG("%s: split into several regions", what);
		}
		EXPECT_EQ(MEMWATCH_REGION_KIND_MMAP, r->kind);
		EXPECT_TRUE(r->flags & MEMWATCH_REGION_F_PRIVATE);
		EXPECT_TRUE(r->flags & MEMWATCH_REGION_F_NORESERVE);
		EXPECT_FALSE(r->flags & MEMWATCH_REGION_F_SHARED);
		check_created_by(_metadata, r, tid, name);

		/* The thread touched its blocks and nothing else did. */
		EXPECT_LE(ARENA_BLOCKS * ARENA_BLOCK, r->touched);
		EXPECT_LE(r->touched, r->committed);
		EXPECT_LT(r->committed, r->reserved);
		EXPECT_EQ(r->touched, r->faulted);
		EXPECT_EQ(r->touched, r->peak_touched);
		check_one_faulter(_metadata, r, tid);
		if (r->nr_threads == 1)
			EXPECT_STREQ(name, r->threads[0].comm);

		/* Lazy by the default thresholds. */
		EXPECT_LE(LAZY_MIN_SIZE, r->reserved);
		EXPECT_LE(r->touched * 100, r->reserved * LAZY_MAX_PCT);

		check_smaps(_metadata, &rs, k->pid, r->start, r->end, what);
		for (j = 0; j < i; j++)
			EXPECT_NE(ids[j], ids[i]);
	}
	mw_regions_free(&rs);
}

/* ------------------------------------------------------------------ */
/* 2. JVM-style reserve and commit                                    */
/* ------------------------------------------------------------------ */

#define JVM_RESERVE MIB(512)

/*
 * Reserve 512 MiB; commit [0, 64) MiB with MAP_FIXED and [128, 160) MiB
 * with mprotect; touch [0, 40) and [128, 136). Then de-commit [32, 48) with
 * a MAP_FIXED PROT_NONE mapping, which drops the 8 MiB touched there.
 */
static void jvm_kid(void *arg)
{
	char *p;

	(void)arg;
	prctl(PR_SET_NAME, "mw-jvm");
	ch_next();
	p = mmap(NULL, JVM_RESERVE, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CH_CHECK(p != MAP_FAILED);
	CH_CHECK(mmap(p, MIB(64), PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == p);
	CH_CHECK(!mprotect(p + MIB(128), MIB(32), PROT_READ | PROT_WRITE));
	touch(p, MIB(40));
	touch(p + MIB(128), MIB(8));
	ch_report((uintptr_t)p, 0, 0);

	ch_next();
	CH_CHECK(mmap(p + MIB(32), MIB(16), PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
		      -1, 0) == p + MIB(32));
	ch_report((uintptr_t)p, 0, 0);
	ch_next();
}

static void check_jvm_region(struct __test_metadata *_metadata,
			     const struct mw_regions *rs, uint64_t p,
			     pid_t pid)
{
	const struct mw_region *r = region_at(_metadata, rs, p);

	EXPECT_EQ(1, mw_regions_overlapping(rs, p, p + JVM_RESERVE)) {
		TH_LOG("the reservation is not exactly one region");
	}
	EXPECT_EQ(p, r->start);
	EXPECT_EQ(p + JVM_RESERVE, r->end);
	EXPECT_EQ(MEMWATCH_REGION_KIND_MMAP, r->kind);
	EXPECT_TRUE(r->flags & MEMWATCH_REGION_F_PRIVATE);
	EXPECT_TRUE(r->flags & MEMWATCH_REGION_F_NORESERVE);
	EXPECT_FALSE(r->flags & MEMWATCH_REGION_F_SHARED);
	check_created_by(_metadata, r, pid, "mw-jvm");
	check_one_faulter(_metadata, r, pid);
}

TEST_F(memwatch_track, jvm_reservation_is_one_region_with_exact_commit)
{
	const struct mw_region *r;
	struct mw_regions rs;
	struct mw_report rep;
	struct kid *k;
	uint64_t p;

	k = kid_start(_metadata, self, jvm_kid, NULL, 0);
	watch(_metadata, self, k->pid);

	kid_step(_metadata, k, 'c', &rep);
	p = rep.v[0];
	dump(_metadata, self, k->pid, &rs);
	check_jvm_region(_metadata, &rs, p, k->pid);
	r = region_at(_metadata, &rs, p);
	check_counts(_metadata, r, JVM_RESERVE, MIB(96), MIB(48), MIB(48),
		     MIB(48), "committed");
	check_smaps(_metadata, &rs, k->pid, p, p + JVM_RESERVE, "committed");
	mw_regions_free(&rs);

	kid_step(_metadata, k, 'd', &rep);
	dump(_metadata, self, k->pid, &rs);
	check_jvm_region(_metadata, &rs, p, k->pid);
	r = region_at(_metadata, &rs, p);
	check_counts(_metadata, r, JVM_RESERVE, MIB(80), MIB(40), MIB(48),
		     MIB(48), "de-committed");
	check_smaps(_metadata, &rs, k->pid, p, p + JVM_RESERVE,
		    "de-committed");
	mw_regions_free(&rs);
}

/* ------------------------------------------------------------------ */
/* 3. brk                                                             */
/* ------------------------------------------------------------------ */

#define BRK_GROW MIB(8)
#define BRK_SHRINK MIB(3)
#define BRK_REGROW MIB(1)

/*
 * Align the break to a page before the watch (a brk call within the last
 * page maps nothing), then grow by 8 MiB and touch it all, shrink by 3 MiB,
 * grow by 1 MiB and touch that. No malloc here: only this code moves brk.
 */
static void brk_kid(void *arg)
{
	uint64_t start = mw_start_brk(0);
	char *cur, *b;

	(void)arg;
	prctl(PR_SET_NAME, "mw-brk");
	CH_CHECK(start);
	cur = sbrk(0);
	if ((uintptr_t)cur & (page - 1))
		CH_CHECK(sbrk(page - ((uintptr_t)cur & (page - 1))) !=
			 (void *)-1);
	ch_report(start, (uintptr_t)sbrk(0), 0);

	ch_next();
	b = sbrk(BRK_GROW);
	CH_CHECK(b != (void *)-1);
	touch(b, BRK_GROW);
	ch_report(start, (uintptr_t)sbrk(0), 0);

	ch_next();
	CH_CHECK(sbrk(-(intptr_t)BRK_SHRINK) != (void *)-1);
	ch_report(start, (uintptr_t)sbrk(0), 0);

	ch_next();
	b = sbrk(BRK_REGROW);
	CH_CHECK(b != (void *)-1);
	touch(b, BRK_REGROW);
	ch_report(start, (uintptr_t)sbrk(0), 0);
	ch_next();
}

static const struct mw_region *heap_region(struct __test_metadata *_metadata,
					   const struct mw_regions *rs,
					   uint64_t start)
{
	const struct mw_region *heap = NULL;
	int i, n = 0;

	for (i = 0; i < rs->n; i++) {
		if (rs->r[i].kind != MEMWATCH_REGION_KIND_HEAP)
			continue;
		heap = &rs->r[i];
		n++;
	}
	EXPECT_EQ(1, n) {
		TH_LOG("%d regions of kind heap", n);
	}
	ASSERT_NE(NULL, heap);
	EXPECT_EQ(start, heap->start);
	return heap;
}

TEST_F(memwatch_track, brk_heap_grows_and_shrinks_as_one_region)
{
	uint64_t start, brk0, t0 = 0, f0 = 0;
	const struct mw_region *r;
	struct mw_regions rs;
	struct mw_report rep;
	struct kid *k;
	pid_t pid;

	k = kid_start(_metadata, self, brk_kid, NULL, 0);
	pid = k->pid;
	kid_recv(_metadata, k, &rep);
	start = rep.v[0];
	brk0 = rep.v[1];
	watch(_metadata, self, pid);

	dump(_metadata, self, pid, &rs);
	if (brk0 > start) {
		/* The heap the workload inherited, as the watch found it. */
		r = heap_region(_metadata, &rs, start);
		EXPECT_EQ(brk0 - start, r->reserved);
		EXPECT_EQ(0, r->faulted);
		EXPECT_EQ(0, r->creator_tid);
		t0 = r->touched;
		f0 = r->faulted;
		check_smaps(_metadata, &rs, pid, start, brk0, "initial heap");
	} else {
		EXPECT_EQ(NULL, mw_region_at(&rs, start));
	}
	mw_regions_free(&rs);

	kid_step(_metadata, k, 'g', &rep);
	EXPECT_EQ(brk0 + BRK_GROW, rep.v[1]);
	dump(_metadata, self, pid, &rs);
	r = heap_region(_metadata, &rs, start);
	EXPECT_EQ(rep.v[1], r->end);
	check_counts(_metadata, r, rep.v[1] - start, rep.v[1] - start,
		     t0 + BRK_GROW, t0 + BRK_GROW, f0 + BRK_GROW, "grown");
	if (brk0 == start)
		check_created_by(_metadata, r, pid, "mw-brk");
	check_smaps(_metadata, &rs, pid, start, rep.v[1], "grown");
	mw_regions_free(&rs);

	kid_step(_metadata, k, 's', &rep);
	EXPECT_EQ(brk0 + BRK_GROW - BRK_SHRINK, rep.v[1]);
	dump(_metadata, self, pid, &rs);
	r = heap_region(_metadata, &rs, start);
	EXPECT_EQ(rep.v[1], r->end);
	check_counts(_metadata, r, rep.v[1] - start, rep.v[1] - start,
		     t0 + BRK_GROW - BRK_SHRINK, t0 + BRK_GROW,
		     f0 + BRK_GROW, "shrunk");
	check_smaps(_metadata, &rs, pid, start, rep.v[1], "shrunk");
	mw_regions_free(&rs);

	kid_step(_metadata, k, 'r', &rep);
	dump(_metadata, self, pid, &rs);
	r = heap_region(_metadata, &rs, start);
	check_counts(_metadata, r, rep.v[1] - start, rep.v[1] - start,
		     t0 + BRK_GROW - BRK_SHRINK + BRK_REGROW, t0 + BRK_GROW,
		     f0 + BRK_GROW + BRK_REGROW, "regrown");
	check_smaps(_metadata, &rs, pid, start, rep.v[1], "regrown");
	mw_regions_free(&rs);
}

/* ------------------------------------------------------------------ */
/* 4. mremap                                                          */
/* ------------------------------------------------------------------ */

/*
 * Map 12 MiB and unmap its top 8 MiB, so that the 4 MiB left can grow in
 * place; touch 3 MiB. Grow in place to 8 MiB, touch 1 MiB more. Block the
 * page above and grow to 16 MiB with MREMAP_MAYMOVE, so it must move; touch
 * 2 MiB more.
 */
static void mremap_kid(void *arg)
{
	char *p, *q;

	(void)arg;
	prctl(PR_SET_NAME, "mw-mremap");
	ch_next();
	p = ch_map(MIB(12));
	CH_CHECK(!munmap(p + MIB(4), MIB(8)));
	touch(p, MIB(3));
	ch_report((uintptr_t)p, 0, 0);

	ch_next();
	q = mremap(p, MIB(4), MIB(8), 0);
	CH_CHECK(q == p);
	touch(p + MIB(4), MIB(1));
	ch_report((uintptr_t)p, 0, 0);

	ch_next();
	q = mmap(p + MIB(8), page, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CH_CHECK(q == p + MIB(8) || (q == MAP_FAILED && errno == EEXIST));
	q = mremap(p, MIB(8), MIB(16), MREMAP_MAYMOVE);
	CH_CHECK(q != MAP_FAILED && q != p);
	touch(q + MIB(8), MIB(2));
	ch_report((uintptr_t)p, (uintptr_t)q, 0);
	ch_next();
}

TEST_F(memwatch_track, mremap_region_keeps_its_counts_when_it_grows_and_moves)
{
	const struct mw_region *r;
	struct mw_regions rs;
	struct mw_report rep;
	uint64_t p, q, id;
	struct kid *k;

	k = kid_start(_metadata, self, mremap_kid, NULL, 0);
	watch(_metadata, self, k->pid);

	kid_step(_metadata, k, 'm', &rep);
	p = rep.v[0];
	dump(_metadata, self, k->pid, &rs);
	r = region_at(_metadata, &rs, p);
	id = r->id;
	EXPECT_EQ(p, r->start);
	EXPECT_EQ(p + MIB(4), r->end);
	check_counts(_metadata, r, MIB(4), MIB(4), MIB(3), MIB(3), MIB(3),
		     "mapped");
	check_created_by(_metadata, r, k->pid, "mw-mremap");
	check_smaps(_metadata, &rs, k->pid, p, p + MIB(4), "mapped");
	mw_regions_free(&rs);

	kid_step(_metadata, k, 'g', &rep);
	dump(_metadata, self, k->pid, &rs);
	r = region_at(_metadata, &rs, p);
	EXPECT_EQ(id, r->id) {
		TH_LOG("growing in place made a new region");
	}
	EXPECT_EQ(p, r->start);
	EXPECT_EQ(p + MIB(8), r->end);
	EXPECT_EQ(1, mw_regions_overlapping(&rs, p, p + MIB(8)));
	check_counts(_metadata, r, MIB(8), MIB(8), MIB(4), MIB(4), MIB(4),
		     "grown in place");
	check_smaps(_metadata, &rs, k->pid, p, p + MIB(8), "grown in place");
	mw_regions_free(&rs);

	kid_step(_metadata, k, 'v', &rep);
	q = rep.v[1];
	dump(_metadata, self, k->pid, &rs);
	EXPECT_EQ(0, mw_regions_overlapping(&rs, p, p + MIB(8))) {
		TH_LOG("a region is left where the mapping was");
	}
	r = region_at(_metadata, &rs, q);
	EXPECT_EQ(q, r->start);
	EXPECT_EQ(q + MIB(16), r->end);
	EXPECT_EQ(1, mw_regions_overlapping(&rs, q, q + MIB(16)));
	check_counts(_metadata, r, MIB(16), MIB(16), MIB(6), MIB(6), MIB(6),
		     "moved");
	EXPECT_EQ((uint32_t)k->pid, r->creator_tid);
	check_one_faulter(_metadata, r, k->pid);
	check_smaps(_metadata, &rs, k->pid, q, q + MIB(16), "moved");
	mw_regions_free(&rs);
}

/* ------------------------------------------------------------------ */
/* 5. MADV_DONTNEED, refault, MADV_FREE                               */
/* ------------------------------------------------------------------ */

static void dontneed_kid(void *arg)
{
	char *p;

	(void)arg;
	prctl(PR_SET_NAME, "mw-dontneed");
	ch_next();
	p = ch_map(MIB(8));
	touch(p, MIB(8));
	ch_report((uintptr_t)p, 0, 0);

	ch_next();
	CH_CHECK(!madvise(p + MIB(2), MIB(4), MADV_DONTNEED));
	ch_report((uintptr_t)p, 0, 0);

	ch_next();
	touch(p + MIB(2), MIB(1));
	ch_report((uintptr_t)p, 0, 0);

	ch_next();
	touch(p, MIB(8));
	ch_report((uintptr_t)p, 0, 0);

	ch_next();
	CH_CHECK(!madvise(p + MIB(6), MIB(2), MADV_FREE));
	ch_report((uintptr_t)p, 0, 0);
	ch_next();
}

TEST_F(memwatch_track, madv_dontneed_then_refault_counts_exactly)
{
	static const struct {
		char cmd;
		uint64_t touched, peak, faulted;
		const char *what;
	} steps[] = {
		{ 'm', MIB(8), MIB(8), MIB(8), "touched" },
		{ 'd', MIB(4), MIB(8), MIB(8), "MADV_DONTNEED 4 MiB" },
		{ 'r', MIB(5), MIB(8), MIB(9), "refaulted 1 MiB" },
		{ 'a', MIB(8), MIB(8), MIB(12), "all touched again" },
		/* lazily freed pages stay resident until reclaim wants them */
		{ 'f', MIB(8), MIB(8), MIB(12), "MADV_FREE 2 MiB" },
	};
	const struct mw_region *r;
	struct mw_regions rs;
	struct mw_report rep;
	struct kid *k;
	unsigned int i;
	uint64_t p;

	k = kid_start(_metadata, self, dontneed_kid, NULL, 0);
	watch(_metadata, self, k->pid);
	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		kid_step(_metadata, k, steps[i].cmd, &rep);
		p = rep.v[0];
		dump(_metadata, self, k->pid, &rs);
		r = region_at(_metadata, &rs, p);
		EXPECT_EQ(p, r->start);
		check_counts(_metadata, r, MIB(8), MIB(8), steps[i].touched,
			     steps[i].peak, steps[i].faulted, steps[i].what);
		check_one_faulter(_metadata, r, k->pid);
		check_smaps(_metadata, &rs, k->pid, p, p + MIB(8),
			    steps[i].what);
		mw_regions_free(&rs);
	}
}

/* ------------------------------------------------------------------ */
/* 6. transparent huge pages                                          */
/* ------------------------------------------------------------------ */

#define THP_SIZE MIB(2)
#define THP_COUNT 8

/*
 * A 2 MiB-aligned 16 MiB region with MADV_HUGEPAGE; one byte written per
 * 2 MiB. Then MADV_DONTNEED of its first 4 KiB splits one huge page.
 */
static void thp_kid(void *arg)
{
	size_t len = THP_COUNT * THP_SIZE;
	uintptr_t a;
	char *p;
	int i;

	(void)arg;
	prctl(PR_SET_NAME, "mw-thp");
	ch_next();
	p = ch_map(len + THP_SIZE);
	a = ((uintptr_t)p + THP_SIZE - 1) & ~(uintptr_t)(THP_SIZE - 1);
	if (a != (uintptr_t)p)
		CH_CHECK(!munmap(p, a - (uintptr_t)p));
	if (a + len != (uintptr_t)p + len + THP_SIZE)
		CH_CHECK(!munmap((char *)a + len,
				 (uintptr_t)p + THP_SIZE - a));
	CH_CHECK(!madvise((char *)a, len, MADV_HUGEPAGE));
	for (i = 0; i < THP_COUNT; i++)
		((char *)a)[i * THP_SIZE] = 1;
	ch_report(a, 0, 0);

	ch_next();
	CH_CHECK(!madvise((char *)a, page, MADV_DONTNEED));
	ch_report(a, 0, 0);
	ch_next();
}

/* Why huge pages cannot be tested here, or NULL if they can. */
static const char *thp_off(void)
{
	char buf[256];

	if (mw_read_file("/sys/kernel/mm/transparent_hugepage/enabled", buf,
			 sizeof(buf)) <= 0)
		return "kernel without transparent huge pages";
	if (strstr(buf, "[never]"))
		return "transparent huge pages are disabled";
	return NULL;
}

TEST_F(memwatch_track, thp_touch_per_2mib_counts_2mib_each)
{
	const uint64_t len = THP_COUNT * THP_SIZE;
	const struct mw_region *r;
	struct mw_regions rs;
	struct mw_report rep;
	struct smaps sm;
	struct sums s;
	const char *off;
	struct kid *k;
	uint64_t a;

	off = thp_off();
	if (off)
		SKIP(return, "%s", off);

	k = kid_start(_metadata, self, thp_kid, NULL, KID_THP);
	watch(_metadata, self, k->pid);
	kid_step(_metadata, k, 'h', &rep);
	a = rep.v[0];
	dump(_metadata, self, k->pid, &rs);

	ASSERT_EQ(0, smaps_read(k->pid, &sm));
	smaps_sum(&sm, a, a + len, &s);
	if (s.anon_huge != len) {
		smaps_free(&sm);
		mw_regions_free(&rs);
		SKIP(return, "the kernel backed %llu of %llu bytes with huge pages",
		     (unsigned long long)s.anon_huge,
		     (unsigned long long)len);
	}
	r = region_at(_metadata, &rs, a);
	EXPECT_EQ(a, r->start);
	EXPECT_EQ(a + len, r->end);
	check_counts(_metadata, r, len, len, len, len, len, "huge pages");
	check_one_faulter(_metadata, r, k->pid);
	check_smaps_range(_metadata, &rs, &sm, a, a + len, "huge pages");
	smaps_free(&sm);
	mw_regions_free(&rs);

	/* 4 KiB zapped out of a huge page: the rest stays touched. */
	kid_step(_metadata, k, 's', &rep);
	dump(_metadata, self, k->pid, &rs);
	r = region_at(_metadata, &rs, a);
	check_counts(_metadata, r, len, len, len - page, len, len,
		     "one huge page split");
	check_smaps(_metadata, &rs, k->pid, a, a + len, "one huge page split");
	mw_regions_free(&rs);
}

/*
 * Two mmaps, 1 MiB each, placed back to back on a 2 MiB boundary with the
 * same flags: the kernel merges their VMAs, and one write faults in a huge
 * page that is half in each region. Then the huge page is unmapped whole.
 */
static void thp_split_kid(void *arg)
{
	uintptr_t a;
	char *p, *q;

	(void)arg;
	prctl(PR_SET_NAME, "mw-thp2");
	ch_next();
	p = ch_map(2 * THP_SIZE);
	a = ((uintptr_t)p + THP_SIZE - 1) & ~(uintptr_t)(THP_SIZE - 1);
	CH_CHECK(!munmap(p, 2 * THP_SIZE));
	p = mmap((char *)a, THP_SIZE / 2, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CH_CHECK(p == (char *)a);
	q = mmap((char *)a + THP_SIZE / 2, THP_SIZE / 2, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CH_CHECK(q == (char *)a + THP_SIZE / 2);
	CH_CHECK(!madvise(p, THP_SIZE, MADV_HUGEPAGE));
	p[0] = 1;
	ch_report(a, 0, 0);

	ch_next();
	CH_CHECK(!madvise(p, THP_SIZE, MADV_DONTNEED));
	ch_report(a, 0, 0);
	ch_next();
}

TEST_F(memwatch_track, huge_page_across_two_regions_counts_half_in_each)
{
	const uint64_t half = THP_SIZE / 2;
	const struct mw_region *r1, *r2;
	struct mw_regions rs;
	struct mw_report rep;
	struct smaps sm;
	struct sums s;
	const char *off;
	struct kid *k;
	uint64_t a;

	off = thp_off();
	if (off)
		SKIP(return, "%s", off);

	k = kid_start(_metadata, self, thp_split_kid, NULL, KID_THP);
	watch(_metadata, self, k->pid);
	kid_step(_metadata, k, 'h', &rep);
	a = rep.v[0];
	dump(_metadata, self, k->pid, &rs);
	ASSERT_EQ(0, smaps_read(k->pid, &sm));
	smaps_sum(&sm, a, a + THP_SIZE, &s);
	smaps_free(&sm);
	if (s.anon_huge != THP_SIZE) {
		mw_regions_free(&rs);
		SKIP(return, "the kernel backed %llu of %llu bytes with a huge page",
		     (unsigned long long)s.anon_huge,
		     (unsigned long long)THP_SIZE);
	}
	r1 = region_at(_metadata, &rs, a);
	r2 = region_at(_metadata, &rs, a + half);
	ASSERT_NE(r1, r2) {
		TH_LOG("the two mmaps were reported as one region");
	}
	check_counts(_metadata, r1, half, half, half, half, half, "lower half");
	check_counts(_metadata, r2, half, half, half, half, half, "upper half");
	check_one_faulter(_metadata, r1, k->pid);
	check_one_faulter(_metadata, r2, k->pid);
	check_smaps(_metadata, &rs, k->pid, a, a + THP_SIZE, "split huge page");
	mw_regions_free(&rs);

	kid_step(_metadata, k, 'd', &rep);
	dump(_metadata, self, k->pid, &rs);
	r1 = region_at(_metadata, &rs, a);
	r2 = region_at(_metadata, &rs, a + half);
	check_counts(_metadata, r1, half, half, 0, half, half, "lower, unmapped");
	check_counts(_metadata, r2, half, half, 0, half, half, "upper, unmapped");
	mw_regions_free(&rs);
}

#define KHUGEPAGED "/sys/kernel/mm/transparent_hugepage/khugepaged/"
#define KSM_DIR "/sys/kernel/mm/ksm/"
#define KSM_PAGES 64

/*
 * A 2 MiB-aligned 2 MiB region written page by page with MADV_NOHUGEPAGE
 * (512 small pages); then MADV_HUGEPAGE, which hands it to khugepaged.
 */
static void collapse_kid(void *arg)
{
	uintptr_t a;
	char *p;

	(void)arg;
	prctl(PR_SET_NAME, "mw-collapse");
	ch_next();
	p = ch_map(2 * THP_SIZE);
	a = ((uintptr_t)p + THP_SIZE - 1) & ~(uintptr_t)(THP_SIZE - 1);
	CH_CHECK(!munmap(p, 2 * THP_SIZE));
	p = mmap((char *)a, THP_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CH_CHECK(p == (char *)a);
	CH_CHECK(!madvise(p, THP_SIZE, MADV_NOHUGEPAGE));
	touch(p, THP_SIZE);
	ch_report(a, 0, 0);

	ch_next();
	CH_CHECK(!madvise(p, THP_SIZE, MADV_HUGEPAGE));
	ch_report(a, 0, 0);
	ch_next();
}

/*
 * khugepaged replaces 512 small pages with one huge page: the small pages
 * leave the region as the huge page comes in, so touched stays 2 MiB and
 * so does the peak (5.10 tells of the small pages' removal without their
 * VMA; memwatch finds it from the collapse).
 */
TEST_F_TIMEOUT(memwatch_track, khugepaged_collapse_counts_the_huge_page_once,
	       120)
{
	const struct mw_region *r;
	struct mw_regions rs;
	struct mw_report rep;
	struct smaps sm;
	struct sums s;
	const char *off;
	struct kid *k;
	uint64_t a;
	int i;

	off = thp_off();
	if (off)
		SKIP(return, "%s", off);
	/* khugepaged scans every 10 ms instead of every 10 s */
	ASSERT_EQ(0, set_file(self, KHUGEPAGED "scan_sleep_millisecs", 10));
	ASSERT_EQ(0, set_file(self, KHUGEPAGED "alloc_sleep_millisecs", 10));

	k = kid_start(_metadata, self, collapse_kid, NULL, KID_THP);
	watch(_metadata, self, k->pid);
	kid_step(_metadata, k, 'm', &rep);
	a = rep.v[0];
	dump(_metadata, self, k->pid, &rs);
	r = region_at(_metadata, &rs, a);
	check_counts(_metadata, r, THP_SIZE, THP_SIZE, THP_SIZE, THP_SIZE,
		     THP_SIZE, "512 small pages");
	mw_regions_free(&rs);

	kid_step(_metadata, k, 'h', &rep);
	for (i = 0; i < 600; i++) {
		ASSERT_EQ(0, smaps_read(k->pid, &sm));
		smaps_sum(&sm, a, a + THP_SIZE, &s);
		smaps_free(&sm);
		if (s.anon_huge == THP_SIZE)
			break;
		usleep(100000);
	}
	ASSERT_EQ(THP_SIZE, s.anon_huge) {
		TH_LOG("khugepaged did not collapse the region in 60 s");
	}
	dump(_metadata, self, k->pid, &rs);
	r = region_at(_metadata, &rs, a);
	EXPECT_EQ(THP_SIZE, r->touched);
	EXPECT_EQ(THP_SIZE, r->peak_touched);
	check_smaps(_metadata, &rs, k->pid, a, a + THP_SIZE, "collapsed");
	mw_regions_free(&rs);
}

/*
 * KSM_PAGES pages of the same contents, MADV_MERGEABLE: ksmd merges them
 * into one shared page, still mapped at every address.
 */
static void ksm_kid(void *arg)
{
	size_t len = KSM_PAGES * page;
	char *p;

	(void)arg;
	prctl(PR_SET_NAME, "mw-ksm");
	ch_next();
	p = ch_map(len);
	memset(p, 0x5a, len);
	CH_CHECK(!madvise(p, len, MADV_MERGEABLE));
	ch_report((uintptr_t)p, 0, 0);
	ch_next();
}

static long ksm_value(const char *name)
{
	char path[96], buf[32];

	snprintf(path, sizeof(path), KSM_DIR "%s", name);
	if (mw_read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	return strtol(buf, NULL, 10);
}

/*
 * Each merged page leaves the region and the shared page comes in at its
 * address: smaps counts the shared page at each address, and so must the
 * region (5.10 tells of the merged page's removal without its VMA;
 * memwatch finds it from the merge).
 */
TEST_F_TIMEOUT(memwatch_track, ksm_merge_keeps_the_touched_count, 120)
{
	const uint64_t len = KSM_PAGES * page;
	const struct mw_region *r;
	struct mw_regions rs;
	struct mw_report rep;
	struct kid *k;
	long shared = 0, sharing = 0;
	uint64_t a;
	int i;

	if (ksm_value("run") < 0)
		SKIP(return, "kernel without KSM");
	if (ksm_value("pages_shared") || ksm_value("pages_sharing"))
		SKIP(return, "KSM already shares pages: the counts would mix");
	ASSERT_EQ(0, set_file(self, KSM_DIR "sleep_millisecs", 10));
	ASSERT_EQ(0, set_file(self, KSM_DIR "pages_to_scan", 1000));

	k = kid_start(_metadata, self, ksm_kid, NULL, 0);
	watch(_metadata, self, k->pid);
	kid_step(_metadata, k, 'm', &rep);
	a = rep.v[0];
	/* run=1 last: teardown puts back 0, which stops ksmd and keeps the
	 * merged pages merged until they are unmapped */
	ASSERT_EQ(0, set_file(self, KSM_DIR "run", 1));
	for (i = 0; i < 600; i++) {
		shared = ksm_value("pages_shared");
		sharing = ksm_value("pages_sharing");
		if (shared == 1 && sharing == KSM_PAGES - 1)
			break;
		usleep(100000);
	}
	ASSERT_EQ(KSM_PAGES - 1, sharing) {
		TH_LOG("ksmd did not merge the pages in 60 s (%ld shared, %ld sharing)",
		       shared, sharing);
	}
	dump(_metadata, self, k->pid, &rs);
	r = region_at(_metadata, &rs, a);
	EXPECT_EQ(len, r->touched);
	EXPECT_EQ(len, r->peak_touched);
	check_smaps(_metadata, &rs, k->pid, a, a + len, "merged by KSM");
	mw_regions_free(&rs);
}

/* ------------------------------------------------------------------ */
/* 7. fork and copy-on-write                                          */
/* ------------------------------------------------------------------ */

#define COW_SIZE MIB(8)
#define COW_WRITE MIB(4)
#define COW_NEW MIB(2)

/*
 * The parent maps and touches 8 MiB, then forks a child it talks to over
 * its own pipes. 'f' forks a child that writes all 8 MiB at once; 'F' forks
 * a child that waits, and 'w' then makes it write 4 MiB and map and touch
 * 2 MiB of its own.
 */
static void cow_kid(void *arg)
{
	int to_child[2], from_child[2];
	struct mw_report r;
	char *p, c;
	pid_t child;

	(void)arg;
	prctl(PR_SET_NAME, "mw-cow-parent");
	ch_next();
	p = ch_map(COW_SIZE);
	touch(p, COW_SIZE);
	ch_report((uintptr_t)p, 0, 0);

	c = ch_next();
	CH_CHECK(!pipe(to_child) && !pipe(from_child));
	child = fork();
	CH_CHECK(child >= 0);
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, "mw-cow-child");
		ch_cmd_fd = to_child[0];
		ch_rep_fd = from_child[1];
		if (c == 'f') {
			touch(p, COW_SIZE);
			ch_report(0, 0, 0);
			ch_next();
			_exit(0);
		}
		ch_report(0, 0, 0);
		ch_next();
		touch(p, COW_WRITE);
		p = ch_map(COW_NEW);
		touch(p, COW_NEW);
		ch_report((uintptr_t)p, 0, 0);
		ch_next();
		_exit(0);
	}
	CH_CHECK(!read_full(from_child[0], &r, sizeof(r)) && !r.err);
	r.v[1] = child;
	ch_send(&r);

	ch_next();
	CH_CHECK(!write_full(to_child[1], "w", 1));
	CH_CHECK(!read_full(from_child[0], &r, sizeof(r)) && !r.err);
	r.v[1] = child;
	ch_send(&r);
	ch_next();
}

TEST_F(memwatch_track, fork_cow_write_by_unwatched_child_leaves_parent_counts)
{
	const struct mw_region *r;
	struct mw_regions rs;
	struct mw_report rep;
	struct kid *k;
	pid_t child;
	uint64_t p;

	k = kid_start(_metadata, self, cow_kid, NULL, 0);
	watch(_metadata, self, k->pid);
	kid_step(_metadata, k, 'm', &rep);
	p = rep.v[0];

	kid_step(_metadata, k, 'f', &rep);
	child = rep.v[1];
	self->extra[self->nextra++] = child;
	ASSERT_EQ(0, mw_wait_at_rest(child, 10000));

	/* Fork does not extend a watch to the child. */
	EXPECT_EQ(-ENOENT, mw_get_regions(&self->nl, child, &rs));
	mw_regions_free(&rs);

	dump(_metadata, self, k->pid, &rs);
	r = region_at(_metadata, &rs, p);
	check_counts(_metadata, r, COW_SIZE, COW_SIZE, COW_SIZE, COW_SIZE,
		     COW_SIZE, "parent after the child wrote");
	check_one_faulter(_metadata, r, k->pid);
	check_smaps(_metadata, &rs, k->pid, p, p + COW_SIZE, "parent");
	mw_regions_free(&rs);

	/* Watched now, the child has its own copies, faulted before that. */
	watch(_metadata, self, child);
	dump(_metadata, self, child, &rs);
	r = region_at(_metadata, &rs, p);
	EXPECT_EQ(MEMWATCH_REGION_KIND_PREEXISTING, r->kind);
	check_counts(_metadata, r, COW_SIZE, COW_SIZE, COW_SIZE, COW_SIZE, 0,
		     "child watched after its writes");
	check_smaps(_metadata, &rs, child, p, p + COW_SIZE, "child");
	mw_regions_free(&rs);
}

TEST_F(memwatch_track, fork_cow_watched_child_has_its_own_counts)
{
	const struct mw_region *r;
	struct mw_regions rs;
	struct mw_report rep;
	uint64_t p, q;
	struct kid *k;
	pid_t child;

	k = kid_start(_metadata, self, cow_kid, NULL, 0);
	watch(_metadata, self, k->pid);
	kid_step(_metadata, k, 'm', &rep);
	p = rep.v[0];

	kid_step(_metadata, k, 'F', &rep);
	child = rep.v[1];
	self->extra[self->nextra++] = child;
	ASSERT_EQ(0, mw_wait_at_rest(child, 10000));
	watch(_metadata, self, child);

	/* Before it writes, the child maps the parent's pages. */
	dump(_metadata, self, child, &rs);
	r = region_at(_metadata, &rs, p);
	check_counts(_metadata, r, COW_SIZE, COW_SIZE, COW_SIZE, COW_SIZE, 0,
		     "child before writing");
	mw_regions_free(&rs);

	kid_step(_metadata, k, 'w', &rep);
	q = rep.v[0];
	ASSERT_EQ(0, mw_wait_at_rest(child, 10000));

	dump(_metadata, self, child, &rs);
	r = region_at(_metadata, &rs, p);
	/* Its copies replace shared pages: resident stays 8 MiB. */
	check_counts(_metadata, r, COW_SIZE, COW_SIZE, COW_SIZE, COW_SIZE,
		     COW_WRITE, "child after copy-on-write");
	check_one_faulter(_metadata, r, child);
	check_smaps(_metadata, &rs, child, p, p + COW_SIZE, "child");
	r = region_at(_metadata, &rs, q);
	check_counts(_metadata, r, COW_NEW, COW_NEW, COW_NEW, COW_NEW, COW_NEW,
		     "child's new region");
	check_created_by(_metadata, r, child, "mw-cow-child");
	check_smaps(_metadata, &rs, child, q, q + COW_NEW, "child's new");
	mw_regions_free(&rs);

	dump(_metadata, self, k->pid, &rs);
	r = region_at(_metadata, &rs, p);
	check_counts(_metadata, r, COW_SIZE, COW_SIZE, COW_SIZE, COW_SIZE,
		     COW_SIZE, "parent");
	EXPECT_EQ(NULL, mw_region_at(&rs, q));
	check_smaps(_metadata, &rs, k->pid, p, p + COW_SIZE, "parent");
	mw_regions_free(&rs);
}

/* ------------------------------------------------------------------ */
/* 8. attribution                                                     */
/* ------------------------------------------------------------------ */

#define ATTR_THREADS 4

struct attr_work {
	pthread_barrier_t start, done, release;
	char *mem;
	pid_t tid[ATTR_THREADS];
};

struct attr_arg {
	struct attr_work *w;
	int i;
};

/* Thread i (1..4) touches i MiB, at offset 0, 1, 3, 6 MiB. */
static void *attr_thread_fn(void *arg)
{
	struct attr_arg *a = arg;
	int i = a->i + 1;
	char name[16] = "mw-attr-0";

	name[8] = '0' + i;
	pthread_setname_np(pthread_self(), name);
	a->w->tid[a->i] = gettid();
	pthread_barrier_wait(&a->w->start);
	touch(a->w->mem + MIB((i - 1) * i / 2), MIB(i));
	pthread_barrier_wait(&a->w->done);
	pthread_barrier_wait(&a->w->release);
	return NULL;
}

static void attr_kid(void *arg)
{
	static struct attr_arg args[ATTR_THREADS];
	static struct attr_work w;
	struct mw_report r;
	pthread_t th;
	int i;

	(void)arg;
	prctl(PR_SET_NAME, "mw-attr");
	CH_CHECK(!pthread_barrier_init(&w.start, NULL, ATTR_THREADS + 1));
	CH_CHECK(!pthread_barrier_init(&w.done, NULL, ATTR_THREADS + 1));
	CH_CHECK(!pthread_barrier_init(&w.release, NULL, ATTR_THREADS + 1));
	ch_next();
	w.mem = ch_map(MIB(10));
	for (i = 0; i < ATTR_THREADS; i++) {
		args[i].w = &w;
		args[i].i = i;
		errno = pthread_create(&th, NULL, attr_thread_fn, &args[i]);
		CH_CHECK(!errno);
	}
	pthread_barrier_wait(&w.start);
	pthread_barrier_wait(&w.done);

	memset(&r, 0, sizeof(r));
	r.v[0] = (uintptr_t)w.mem;
	for (i = 0; i < ATTR_THREADS; i++)
		r.v[1 + i] = w.tid[i];
	ch_send(&r);
	ch_next();
}

TEST_F(memwatch_track, four_threads_faulted_bytes_are_attributed_exactly)
{
	const struct mw_region *r;
	uint64_t p, listed = 0;
	struct mw_regions rs;
	struct mw_report rep;
	long max_threads = -1;
	int i, want;
	struct kid *k;

	read_param("max_threads_per_region", &max_threads);
	k = kid_start(_metadata, self, attr_kid, NULL, 0);
	watch(_metadata, self, k->pid);
	kid_step(_metadata, k, 'a', &rep);
	p = rep.v[0];

	dump(_metadata, self, k->pid, &rs);
	r = region_at(_metadata, &rs, p);
	EXPECT_EQ(p, r->start);
	check_counts(_metadata, r, MIB(10), MIB(10), MIB(10), MIB(10),
		     MIB(10), "four threads");
	check_created_by(_metadata, r, k->pid, "mw-attr");
	check_smaps(_metadata, &rs, k->pid, p, p + MIB(10), "four threads");

	want = ATTR_THREADS;
	if (max_threads >= 0 && max_threads < want)
		want = max_threads;
	EXPECT_EQ(want, r->nr_threads);
	/* Most faulted first: thread 4 (4 MiB) down to thread 1 (1 MiB). */
	for (i = 0; i < (int)r->nr_threads && i < ATTR_THREADS; i++) {
		int n = ATTR_THREADS - i;
		char name[16] = "mw-attr-0";

		name[8] = '0' + n;
		EXPECT_EQ(rep.v[n], r->threads[i].tid);
		EXPECT_STREQ(name, r->threads[i].comm);
		EXPECT_EQ(MIB(n), r->threads[i].faulted);
		listed += r->threads[i].faulted;
	}
	EXPECT_EQ(MIB(10), listed + r->other_faulted);
	mw_regions_free(&rs);
}

/*
 * A thread starts under its process's name, maps and faults 1 MiB, renames
 * itself, is renamed by another thread (pthread_setname_np() writes
 * /proc/self/task/TID/comm: the kernel renames a task that is not
 * current), faults 1 MiB more and exits: as a JVM thread is "java" until
 * it becomes "jar-loader-3".
 */
struct rename_work {
	pthread_barrier_t mapped, renamed;
	char *mem;
	pid_t tid;
};

static void *rename_thread_fn(void *arg)
{
	struct rename_work *w = arg;

	w->tid = gettid();
	w->mem = ch_map(MIB(4));
	touch(w->mem, MIB(1));
	prctl(PR_SET_NAME, "mw-rn-self");
	pthread_barrier_wait(&w->mapped);
	pthread_barrier_wait(&w->renamed);
	touch(w->mem + MIB(1), MIB(1));
	return NULL;
}

static void rename_kid(void *arg)
{
	static struct rename_work w;
	struct mw_report r;
	pthread_t th;

	(void)arg;
	prctl(PR_SET_NAME, "mw-rename");
	CH_CHECK(!pthread_barrier_init(&w.mapped, NULL, 2));
	CH_CHECK(!pthread_barrier_init(&w.renamed, NULL, 2));
	ch_next();
	errno = pthread_create(&th, NULL, rename_thread_fn, &w);
	CH_CHECK(!errno);
	pthread_barrier_wait(&w.mapped);
	errno = pthread_setname_np(th, "mw-rn-last");
	CH_CHECK(!errno);
	pthread_barrier_wait(&w.renamed);
	errno = pthread_join(th, NULL);
	CH_CHECK(!errno);

	memset(&r, 0, sizeof(r));
	r.v[0] = (uintptr_t)w.mem;
	r.v[1] = w.tid;
	ch_send(&r);
	ch_next();
}

TEST_F(memwatch_track, creator_and_threads_show_the_latest_thread_name)
{
	const struct mw_region *r;
	struct mw_regions rs;
	struct mw_report rep;
	struct kid *k;

	k = kid_start(_metadata, self, rename_kid, NULL, 0);
	watch(_metadata, self, k->pid);
	kid_step(_metadata, k, 'r', &rep);

	dump(_metadata, self, k->pid, &rs);
	r = region_at(_metadata, &rs, rep.v[0]);
	EXPECT_EQ(rep.v[0], r->start);
	check_counts(_metadata, r, MIB(4), MIB(4), MIB(2), MIB(2), MIB(2),
		     "renamed thread");
	/* created under the process's name, which the thread inherited */
	EXPECT_EQ(rep.v[1], r->creator_tid);
	EXPECT_STREQ("mw-rename", r->creator_comm);
	/* its name at exit, after its own rename and another thread's */
	EXPECT_STREQ("mw-rn-last", r->creator_latest_comm);
	/* one thread, once, under its latest name, with both faults */
	ASSERT_EQ(1, r->nr_threads);
	EXPECT_EQ(rep.v[1], r->threads[0].tid);
	EXPECT_STREQ("mw-rn-last", r->threads[0].comm);
	EXPECT_EQ(MIB(2), r->threads[0].faulted);
	mw_regions_free(&rs);
}

/* ------------------------------------------------------------------ */
/* 9. munmap                                                          */
/* ------------------------------------------------------------------ */

static void munmap_kid(void *arg)
{
	char *p;

	(void)arg;
	prctl(PR_SET_NAME, "mw-munmap");
	ch_next();
	p = ch_map(MIB(12));
	touch(p, MIB(12));
	ch_report((uintptr_t)p, 0, 0);

	ch_next();
	CH_CHECK(!munmap(p + MIB(4), MIB(4)));
	ch_report((uintptr_t)p, 0, 0);

	ch_next();
	CH_CHECK(!munmap(p, MIB(12)));
	ch_report((uintptr_t)p, 0, 0);
	ch_next();
}

TEST_F(memwatch_track, munmap_in_the_middle_shrinks_and_munmap_of_all_removes)
{
	const struct mw_region *r;
	struct mw_regions rs;
	struct mw_report rep;
	struct mw_watch w;
	struct kid *k;
	uint64_t p, id;

	k = kid_start(_metadata, self, munmap_kid, NULL, 0);
	watch(_metadata, self, k->pid);

	kid_step(_metadata, k, 'm', &rep);
	p = rep.v[0];
	dump(_metadata, self, k->pid, &rs);
	r = region_at(_metadata, &rs, p);
	id = r->id;
	check_counts(_metadata, r, MIB(12), MIB(12), MIB(12), MIB(12),
		     MIB(12), "mapped");
	mw_regions_free(&rs);

	kid_step(_metadata, k, 'h', &rep);
	dump(_metadata, self, k->pid, &rs);
	r = region_at(_metadata, &rs, p);
	EXPECT_EQ(id, r->id);
	EXPECT_EQ(p, r->start);
	EXPECT_EQ(p + MIB(12), r->end);
	EXPECT_EQ(1, mw_regions_overlapping(&rs, p, p + MIB(12))) {
		TH_LOG("the hole split the region");
	}
	check_counts(_metadata, r, MIB(8), MIB(8), MIB(8), MIB(12), MIB(12),
		     "hole in the middle");
	check_smaps(_metadata, &rs, k->pid, p, p + MIB(12), "hole");
	mw_regions_free(&rs);

	kid_step(_metadata, k, 'u', &rep);
	dump(_metadata, self, k->pid, &rs);
	EXPECT_EQ(0, mw_regions_overlapping(&rs, p, p + MIB(12))) {
		TH_LOG("a region is left after munmap of all of it");
	}
	get_watch(_metadata, self, k->pid, &w);
	EXPECT_EQ((uint32_t)rs.n, w.regions);
	mw_regions_free(&rs);
}

/*
 * A call the kernel fails after memwatch has seen its entry: the workload
 * has so many VMAs that vm.max_map_count can be set to its own count
 * without starving any other process, and then asks for what the limit
 * refuses.
 */
#define FAIL_VMAS 1000

static void fail_kid(void *arg)
{
	char *many, *r, *q;
	int i;

	(void)arg;
	prctl(PR_SET_NAME, "mw-fail");
	ch_next();
	many = ch_map(2 * FAIL_VMAS * page);
	for (i = 0; i < FAIL_VMAS; i++)
		CH_CHECK(!mprotect(many + 2 * i * page, page, PROT_READ));
	/* three pages that cannot grow in place */
	r = ch_map(4 * page);
	CH_CHECK(!mprotect(r + 3 * page, page, PROT_NONE));
	ch_report((uintptr_t)r, 0, 0);

	/* at the limit: a split and a move are refused */
	ch_next();
	CH_CHECK(munmap(r + page, page) && errno == ENOMEM);
	q = mremap(r, 3 * page, 64 * page, MREMAP_MAYMOVE);
	CH_CHECK(q == MAP_FAILED && errno == ENOMEM);
	ch_report(0, 0, 0);

	/* past it: so is a new mapping */
	ch_next();
	q = mmap(NULL, page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CH_CHECK(q == MAP_FAILED && errno == ENOMEM);
	ch_report(0, 0, 0);
	ch_next();
}

/* The kernel's count of @pid's VMAs: its maps less the vsyscall page. */
static long map_count(pid_t pid)
{
	char path[64], line[512];
	long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += !strstr(line, "[vsyscall]");
	fclose(f);
	return n;
}

/* Hits of one probe so far, from GET_STATUS; 0 if it is not listed. */
static uint64_t probe_hits(struct __test_metadata *_metadata,
			   FIXTURE_DATA(memwatch_track) *self, const char *sym)
{
	struct mw_status st;
	uint64_t hits = 0;
	size_t i;

	ASSERT_EQ(0, mw_get_status(&self->nl, &st));
	for (i = 0; i < st.nr_probes; i++)
		if (!strcmp(st.probes[i].symbol, sym))
			hits = st.probes[i].hits;
	mw_status_free(&st);
	return hits;
}

TEST_F(memwatch_track, calls_the_kernel_fails_after_their_hook_count_as_dropped)
{
	uint64_t moves;
	const struct mw_region *r;
	struct mw_regions rs;
	struct mw_report rep;
	struct mw_watch w;
	uint32_t regions;
	struct kid *k;
	long count;
	uint64_t p;

	k = kid_start(_metadata, self, fail_kid, NULL, 0);
	watch(_metadata, self, k->pid);

	kid_step(_metadata, k, 'm', &rep);
	p = rep.v[0];
	dump(_metadata, self, k->pid, &rs);
	r = region_at(_metadata, &rs, p);
	check_counts(_metadata, r, 4 * page, 3 * page, 0, 0, 0, "mapped");
	mw_regions_free(&rs);
	get_watch(_metadata, self, k->pid, &w);
	ASSERT_EQ(0, w.dropped_regions);
	regions = w.regions;
	count = map_count(k->pid);
	ASSERT_LT(FAIL_VMAS, count);

	ASSERT_EQ(0, set_file(self, "/proc/sys/vm/max_map_count", count));
	/*
	 * The refused move counts only if the kernel got as far as move_vma()
	 * (memwatch's hook) before refusing: from 7.x, mremap checks the map
	 * count first and never calls it.
	 */
	moves = probe_hits(_metadata, self, "move_vma");
	kid_step(_metadata, k, 'f', &rep);
	moves = probe_hits(_metadata, self, "move_vma") - moves;
	TH_LOG("move_vma called %llu times by the refused mremap",
	       (unsigned long long)moves);
	get_watch(_metadata, self, k->pid, &w);
	EXPECT_EQ(1 + !!moves, w.dropped_regions) {
		TH_LOG("a failed munmap and a failed move must each count");
	}
	EXPECT_EQ(count, map_count(k->pid));

	ASSERT_EQ(0, set_file(self, "/proc/sys/vm/max_map_count", count - 1));
	kid_step(_metadata, k, 'n', &rep);
	get_watch(_metadata, self, k->pid, &w);
	EXPECT_EQ(1 + !!moves, w.dropped_regions);
	EXPECT_EQ(regions, w.regions) {
		TH_LOG("a failed mmap made a region");
	}
}

#define HOLES 300

/* One region of 2 * HOLES pages, every other page unmapped. */
static void holes_kid(void *arg)
{
	char *p;
	int i;

	(void)arg;
	ch_next();
	p = ch_map(2 * HOLES * page);
	touch(p, 2 * HOLES * page);
	for (i = 0; i < HOLES; i++)
		CH_CHECK(!munmap(p + (2 * i + 1) * page, page));
	ch_report((uintptr_t)p, 0, 0);
	ch_next();
}

/* A region in HOLES pieces is one region, reported whole, like any other. */
TEST_F(memwatch_track, region_in_three_hundred_pieces_is_reported_whole)
{
	const struct mw_region *r;
	struct mw_regions rs;
	struct mw_report rep;
	struct kid *k;
	uint64_t p;

	k = kid_start(_metadata, self, holes_kid, NULL, 0);
	watch(_metadata, self, k->pid);
	kid_step(_metadata, k, 'h', &rep);
	p = rep.v[0];
	dump(_metadata, self, k->pid, &rs);
	r = region_at(_metadata, &rs, p);
	EXPECT_EQ(p, r->start);
	EXPECT_EQ(p + (2 * HOLES - 1) * page, r->end);
	EXPECT_EQ(1, mw_regions_overlapping(&rs, p, p + 2 * HOLES * page));
	check_counts(_metadata, r, HOLES * page, HOLES * page, HOLES * page,
		     2 * HOLES * page, 2 * HOLES * page, "every other page");
	check_smaps(_metadata, &rs, k->pid, p, p + 2 * HOLES * page, "holes");
	mw_regions_free(&rs);
}

/* ------------------------------------------------------------------ */
/* 10. watching a process that is already running                     */
/* ------------------------------------------------------------------ */

struct exec_arg {
	const char *path;
	const char *mode;
};

/* Exec mw_workload right away, in @arg's mode, talking over our pipes. */
static void exec_now_kid(void *arg)
{
	const struct exec_arg *e = arg;
	char cmd[16], rep[16];

	snprintf(cmd, sizeof(cmd), "%d", ch_cmd_fd);
	snprintf(rep, sizeof(rep), "%d", ch_rep_fd);
	execl(e->path, "mw_workload", e->mode, cmd, rep, (char *)NULL);
	ch_fail(__LINE__, errno);
}

TEST_F(memwatch_track, watch_of_running_process_reports_preexisting_regions)
{
	struct exec_arg e = { self->workload, "running" };
	uint64_t a, b, c, start_brk, brk_end;
	const struct mw_region *r;
	const struct vma *v;
	struct mw_regions rs;
	struct mw_report rep;
	struct mw_watch w;
	struct smaps sm;
	struct sums s;
	struct kid *k;
	int i;

	k = kid_start(_metadata, self, exec_now_kid, &e, 0);
	kid_recv(_metadata, k, &rep);
	a = rep.v[0];
	b = rep.v[1];
	c = rep.v[2];
	start_brk = rep.v[4];
	brk_end = rep.v[5];

	watch(_metadata, self, k->pid);
	dump(_metadata, self, k->pid, &rs);
	ASSERT_EQ(0, smaps_read(k->pid, &sm));

	/* Nothing was created or faulted while watched. */
	for (i = 0; i < rs.n; i++) {
		r = &rs.r[i];
		EXPECT_TRUE(r->kind == MEMWATCH_REGION_KIND_PREEXISTING ||
			    r->kind == MEMWATCH_REGION_KIND_HEAP ||
			    r->kind == MEMWATCH_REGION_KIND_STACK) {
			TH_LOG("region %llx: kind %s",
			       (unsigned long long)r->start,
			       mw_region_kind_name(r->kind));
		}
		EXPECT_EQ(0, r->created_ns);
		EXPECT_EQ(0, r->creator_tid);
		EXPECT_STREQ("", r->creator_comm);
		EXPECT_EQ(0, r->faulted);
		EXPECT_EQ(r->touched, r->peak_touched);
		EXPECT_LT(r->start, r->end);
		if (i)
			EXPECT_LT(rs.r[i - 1].start, r->start);
	}

	/* The workload's own arithmetic. */
	r = region_at(_metadata, &rs, a);
	EXPECT_EQ(a, r->start);
	check_counts(_metadata, r, MIB(6), MIB(6), MIB(5), MIB(5), 0,
		     "6 MiB mapping");
	/* One region per VMA: the reservation is two VMAs. */
	EXPECT_EQ(2, mw_regions_overlapping(&rs, b, b + MIB(8)));
	regions_sum(&rs, b, b + MIB(8), &s);
	EXPECT_EQ(MIB(8), s.reserved);
	EXPECT_EQ(MIB(2), s.committed);
	EXPECT_EQ(MIB(1), s.touched);
	r = region_at(_metadata, &rs, c);
	check_counts(_metadata, r, MIB(2), MIB(2), MIB(2), MIB(2), 0,
		     "thread's mapping");

	v = smaps_find(&sm, "[heap]");
	ASSERT_NE(NULL, v);
	EXPECT_EQ(start_brk, v->start);
	r = region_at(_metadata, &rs, start_brk);
	EXPECT_EQ(MEMWATCH_REGION_KIND_HEAP, r->kind);
	EXPECT_EQ(((brk_end + page - 1) & ~(uint64_t)(page - 1)) - start_brk,
		  r->reserved);
	EXPECT_LE(KIB(512), r->touched);

	v = smaps_find(&sm, "[stack]");
	ASSERT_NE(NULL, v);
	r = region_at(_metadata, &rs, v->end - 1);
	EXPECT_EQ(MEMWATCH_REGION_KIND_STACK, r->kind);

	check_smaps_totals(_metadata, &rs, &sm, "running process");

	get_watch(_metadata, self, k->pid, &w);
	regions_sum(&rs, 0, UINT64_MAX, &s);
	EXPECT_EQ((uint32_t)rs.n, w.regions);
	EXPECT_EQ(s.reserved, w.reserved);
	EXPECT_EQ(s.committed, w.committed);
	EXPECT_EQ(s.touched, w.touched);
	EXPECT_EQ(0, w.faulted);
	EXPECT_STREQ("mw-running", w.comm);
	smaps_free(&sm);
	mw_regions_free(&rs);
}

/* ------------------------------------------------------------------ */
/* 11. exec and exit while watched                                    */
/* ------------------------------------------------------------------ */

static void exec_later_kid(void *arg)
{
	char *p;

	prctl(PR_SET_NAME, "mw-exec-old");
	ch_next();
	p = ch_map(MIB(4));
	touch(p, MIB(1));
	ch_report((uintptr_t)p, 0, 0);
	ch_next();
	exec_now_kid(arg);
}

TEST_F(memwatch_track, exec_while_watched_tracks_the_new_address_space)
{
	struct exec_arg e = { self->workload, "exec" };
	const struct mw_region *r;
	struct mw_regions rs;
	struct mw_report rep;
	uint64_t old_id, q;
	struct mw_watch w;
	struct smaps sm;
	struct kid *k;
	int i;

	k = kid_start(_metadata, self, exec_later_kid, &e, 0);
	watch(_metadata, self, k->pid);
	kid_step(_metadata, k, 'm', &rep);
	dump(_metadata, self, k->pid, &rs);
	r = region_at(_metadata, &rs, rep.v[0]);
	old_id = r->id;
	check_counts(_metadata, r, MIB(4), MIB(4), MIB(1), MIB(1), MIB(1),
		     "before exec");
	mw_regions_free(&rs);

	kid_step(_metadata, k, 'e', &rep);
	q = rep.v[0];
	EXPECT_EQ((uint64_t)k->pid, rep.v[1]);

	get_watch(_metadata, self, k->pid, &w);
	EXPECT_EQ(MEMWATCH_WATCH_STATE_LIVE, w.state);
	EXPECT_EQ(1, w.execs);
	EXPECT_STREQ("mw-exec-new", w.comm);

	dump(_metadata, self, k->pid, &rs);
	for (i = 0; i < rs.n; i++)
		EXPECT_NE(old_id, rs.r[i].id) {
			TH_LOG("a region of the old address space is left");
		}
	r = region_at(_metadata, &rs, q);
	EXPECT_EQ(q, r->start);
	EXPECT_EQ(MEMWATCH_REGION_KIND_MMAP, r->kind);
	check_counts(_metadata, r, MIB(3), MIB(3), MIB(2), MIB(2), MIB(2),
		     "after exec");
	check_created_by(_metadata, r, k->pid, "mw-exec-new");
	check_one_faulter(_metadata, r, k->pid);

	/* Every region is the new program's, and all of it is covered. */
	ASSERT_EQ(0, smaps_read(k->pid, &sm));
	check_smaps_totals(_metadata, &rs, &sm, "after exec");
	smaps_free(&sm);
	mw_regions_free(&rs);
}

static void exit_kid(void *arg)
{
	char *p;

	(void)arg;
	prctl(PR_SET_NAME, "mw-exit");
	ch_next();
	p = ch_map(MIB(3));
	touch(p, MIB(2));
	ch_report((uintptr_t)p, 0, 0);
	ch_next();
	_exit(0);
}

TEST_F(memwatch_track, exit_while_watched_keeps_final_data_until_read)
{
	const struct mw_region *r;
	struct mw_watch w, w2;
	struct mw_regions rs;
	struct mw_report rep;
	struct kid *k;
	uint64_t q;
	char c = 'x';

	k = kid_start(_metadata, self, exit_kid, NULL, 0);
	watch(_metadata, self, k->pid);
	kid_step(_metadata, k, 'm', &rep);
	q = rep.v[0];

	/* Exited, not yet reaped: the pid still names it. */
	ASSERT_EQ(0, write_full(k->cmd, &c, 1));
	ASSERT_EQ(0, mw_wait_exited(k->pid, 10000));

	get_watch(_metadata, self, k->pid, &w);
	EXPECT_EQ(MEMWATCH_WATCH_STATE_EXITED, w.state);
	usleep(50000);
	get_watch(_metadata, self, k->pid, &w2);
	EXPECT_EQ(w.ns, w2.ns) {
		TH_LOG("the watch time still runs after exit");
	}

	dump(_metadata, self, k->pid, &rs);
	r = region_at(_metadata, &rs, q);
	check_counts(_metadata, r, MIB(3), MIB(3), MIB(2), MIB(2), MIB(2),
		     "final data");
	check_created_by(_metadata, r, k->pid, "mw-exit");
	mw_regions_free(&rs);

	/* Read once: the final data is gone, as the header says. */
	EXPECT_EQ(-ENOENT, mw_get_regions(&self->nl, k->pid, &rs));
	mw_regions_free(&rs);
	EXPECT_EQ(-ENOENT, mw_unwatch(&self->nl, k->pid));
}

TEST_F(memwatch_track, unwatch_discards_an_exited_watch_unread)
{
	struct mw_regions rs;
	struct mw_report rep;
	struct mw_watch w;
	struct kid *k;
	char c = 'x';

	k = kid_start(_metadata, self, exit_kid, NULL, 0);
	watch(_metadata, self, k->pid);
	kid_step(_metadata, k, 'm', &rep);
	ASSERT_EQ(0, write_full(k->cmd, &c, 1));
	ASSERT_EQ(0, mw_wait_exited(k->pid, 10000));
	get_watch(_metadata, self, k->pid, &w);
	EXPECT_EQ(MEMWATCH_WATCH_STATE_EXITED, w.state);

	EXPECT_EQ(0, mw_unwatch(&self->nl, k->pid)) {
		TH_LOG("UNWATCH of an exited watch: %s", self->nl.msg);
	}
	EXPECT_EQ(-ENOENT, mw_get_regions(&self->nl, k->pid, &rs));
	mw_regions_free(&rs);
}

/* ------------------------------------------------------------------ */
/* 12. a thousand threads                                             */
/* ------------------------------------------------------------------ */

#define MANY_THREADS 1000
#define MANY_STACK KIB(64)
#define MANY_TOUCH KIB(32)

struct many_work {
	pthread_barrier_t start, done, release;
	char *mem;
};

static struct many_work many;

#define BURST_REGIONS 16

static char *burst_mem[BURST_REGIONS];

static void *many_thread_fn(void *arg)
{
	long i = (long)arg;

	pthread_barrier_wait(&many.start);
	touch(many.mem + i * MANY_TOUCH, MANY_TOUCH);
	pthread_barrier_wait(&many.done);
	pthread_barrier_wait(&many.release);
	return NULL;
}

/*
 * The threads' stacks come from one mapping, so that 1000 threads make one
 * region, not 1000. They all start faulting at once into one region, each
 * into its own 32 KiB.
 */
static void many_start(const char *name, void *(*fn)(void *))
{
	pthread_attr_t attr;
	char *stacks;
	pthread_t th;
	long i;

	prctl(PR_SET_NAME, name);
	CH_CHECK(!pthread_barrier_init(&many.start, NULL, MANY_THREADS + 1));
	CH_CHECK(!pthread_barrier_init(&many.done, NULL, MANY_THREADS + 1));
	CH_CHECK(!pthread_barrier_init(&many.release, NULL, MANY_THREADS + 1));
	ch_next();
	/* MAP_NORESERVE keeps the kernel from merging it with a later mapping */
	stacks = mmap(NULL, MANY_THREADS * MANY_STACK, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
		      -1, 0);
	CH_CHECK(stacks != MAP_FAILED);
	if (fn == many_thread_fn)
		many.mem = ch_map(MANY_THREADS * MANY_TOUCH);
	else
		for (i = 0; i < BURST_REGIONS; i++)
			burst_mem[i] = ch_map(MANY_THREADS * getpagesize());
	for (i = 0; i < MANY_THREADS; i++) {
		CH_CHECK(!pthread_attr_init(&attr));
		CH_CHECK(!pthread_attr_setstack(&attr, stacks + i * MANY_STACK,
						MANY_STACK));
		errno = pthread_create(&th, &attr, fn, (void *)i);
		CH_CHECK(!errno);
		pthread_attr_destroy(&attr);
	}
	pthread_barrier_wait(&many.start);
	pthread_barrier_wait(&many.done);
}

static void many_kid(void *arg)
{
	(void)arg;
	many_start("mw-many", many_thread_fn);
	ch_report((uintptr_t)many.mem, 0, 0);
	ch_next();
}

TEST_F_TIMEOUT(memwatch_track,
	       thousand_threads_fault_concurrently_with_exact_totals, 300)
{
	const uint64_t len = MANY_THREADS * MANY_TOUCH;
	const struct mw_region *r;
	uint64_t p, listed = 0;
	struct mw_regions rs;
	struct mw_report rep;
	long max_threads = -1;
	struct mw_watch w;
	struct kid *k;
	int i, j, want;

	read_param("max_threads_per_region", &max_threads);
	k = kid_start(_metadata, self, many_kid, NULL, 0);
	watch(_metadata, self, k->pid);
	kid_step(_metadata, k, 't', &rep);
	p = rep.v[0];

	dump(_metadata, self, k->pid, &rs);
	r = region_at(_metadata, &rs, p);
	EXPECT_EQ(p, r->start);
	check_counts(_metadata, r, len, len, len, len, len, "1000 threads");
	EXPECT_FALSE(r->flags & MEMWATCH_REGION_F_INCOMPLETE);
	check_smaps(_metadata, &rs, k->pid, p, p + len, "1000 threads");

	want = MANY_THREADS;
	if (max_threads >= 0 && max_threads < want)
		want = max_threads;
	EXPECT_EQ(want, r->nr_threads);
	for (i = 0; i < (int)r->nr_threads; i++) {
		EXPECT_EQ(MANY_TOUCH, r->threads[i].faulted);
		EXPECT_NE((uint32_t)k->pid, r->threads[i].tid);
		listed += r->threads[i].faulted;
		for (j = 0; j < i && j < 64; j++)
			EXPECT_NE(r->threads[j].tid, r->threads[i].tid);
	}
	EXPECT_EQ(len, listed + r->other_faulted);

	get_watch(_metadata, self, k->pid, &w);
	EXPECT_EQ(0, w.dropped_regions);
	mw_regions_free(&rs);
}

/*
 * A burst: the same 1000 threads start at once and each faults one page of
 * each of BURST_REGIONS regions, so that memwatch needs more attribution
 * entries at once (max_threads_per_region per region) than it keeps free.
 */
static void *burst_thread_fn(void *arg)
{
	long i = (long)arg;
	int j;

	pthread_barrier_wait(&many.start);
	for (j = 0; j < BURST_REGIONS; j++)
		burst_mem[j][i * getpagesize()] = 1;
	pthread_barrier_wait(&many.done);
	pthread_barrier_wait(&many.release);
	return NULL;
}

static void burst_kid(void *arg)
{
	(void)arg;
	many_start("mw-burst", burst_thread_fn);
	ch_report(0, 0, 0);
	ch_next();
}

TEST_F_TIMEOUT(memwatch_track,
	       thousand_threads_in_sixteen_regions_fill_every_thread_list, 300)
{
	const uint64_t len = MANY_THREADS * getpagesize();
	const struct mw_region *r;
	struct mw_regions rs;
	struct mw_report rep;
	long max_threads = -1;
	int i, j, seen = 0, want;
	uint64_t listed;
	struct kid *k;

	read_param("max_threads_per_region", &max_threads);
	want = MANY_THREADS;
	if (max_threads >= 0 && max_threads < want)
		want = max_threads;
	k = kid_start(_metadata, self, burst_kid, NULL, 0);
	watch(_metadata, self, k->pid);
	kid_step(_metadata, k, 't', &rep);

	dump(_metadata, self, k->pid, &rs);
	for (i = 0; i < rs.n; i++) {
		r = &rs.r[i];
		if (r->reserved != len || r->faulted != len)
			continue;
		seen++;
		/* every thread took one page: the first want of them listed */
		EXPECT_EQ(want, r->nr_threads) {
			TH_LOG("region %#llx: %d threads listed, %llu bytes as other",
			       (unsigned long long)r->start, (int)r->nr_threads,
			       (unsigned long long)r->other_faulted);
		}
		listed = 0;
		for (j = 0; j < (int)r->nr_threads; j++) {
			EXPECT_EQ(getpagesize(), r->threads[j].faulted);
			listed += r->threads[j].faulted;
		}
		EXPECT_EQ(len, listed + r->other_faulted);
	}
	EXPECT_EQ(BURST_REGIONS, seen);
	mw_regions_free(&rs);
}

/* ------------------------------------------------------------------ */
/* 13. bounds                                                         */
/* ------------------------------------------------------------------ */

TEST_F_TIMEOUT(memwatch_track, watch_beyond_max_watches_is_enospc, 120)
{
	pid_t pids[66];
	struct mw_status st;
	long room, i;
	int ret;

	ASSERT_EQ(0, mw_get_status(&self->nl, &st));
	if (set_param(self, "max_watches", st.watches + 2) == 0) {
		mw_status_free(&st);
		ASSERT_EQ(0, mw_get_status(&self->nl, &st));
		ASSERT_EQ(st.watches + 2, st.max_watches) {
			TH_LOG("GET_STATUS does not show the new max_watches");
		}
	} else if (st.max_watches - st.watches > 64) {
		SKIP(return, "max_watches (%u) is not writable and too large to reach",
		     st.max_watches);
	}
	room = (long)st.max_watches - st.watches;
	mw_status_free(&st);
	ASSERT_LE(0, room);

	for (i = 0; i <= room; i++) {
		ASSERT_LT(self->nextra, MAX_KIDS);
		pids[i] = mw_spawn_idle();
		ASSERT_LT(0, pids[i]);
		self->extra[self->nextra++] = pids[i];
	}
	for (i = 0; i < room; i++)
		watch(_metadata, self, pids[i]);
	ret = mw_watch(&self->nl, pids[room], 0, NULL);
	if (!ret)
		self->watched[self->nwatched++] = pids[room];
	EXPECT_EQ(-ENOSPC, ret) {
		TH_LOG("WATCH past max_watches: %d (%s)", ret, self->nl.msg);
	}
	EXPECT_NE(0, strlen(self->nl.msg));
	TH_LOG("kernel reports: %s", self->nl.msg);

	/* A freed slot can be used again. */
	ASSERT_EQ(0, mw_unwatch(&self->nl, pids[0]));
	EXPECT_EQ(0, mw_watch(&self->nl, pids[room], 0, NULL));
	self->watched[self->nwatched++] = pids[room];
}

#define NEW_MAPPINGS 20
#define REGION_ROOM 8

/* New one-page mappings, alternately read-only so no two VMAs merge. */
static void many_maps_kid(void *arg)
{
	int i;

	(void)arg;
	prctl(PR_SET_NAME, "mw-many-maps");
	ch_next();
	for (i = 0; i < NEW_MAPPINGS; i++)
		CH_CHECK(mmap(NULL, page,
			      i & 1 ? PROT_READ : PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED);
	ch_report(0, 0, 0);
	ch_next();
}

TEST_F(memwatch_track, regions_beyond_max_regions_are_counted_as_dropped)
{
	struct mw_regions rs;
	struct mw_report rep;
	struct mw_watch w;
	struct kid *k;
	int n0;

	k = kid_start(_metadata, self, many_maps_kid, NULL, 0);
	ASSERT_EQ(0, mw_wait_at_rest(k->pid, 10000));

	/* How many regions the workload has at rest. */
	watch(_metadata, self, k->pid);
	dump(_metadata, self, k->pid, &rs);
	n0 = rs.n;
	mw_regions_free(&rs);
	ASSERT_EQ(0, mw_unwatch(&self->nl, k->pid));

	if (set_param(self, "max_regions", n0 + REGION_ROOM))
		SKIP(return, "max_regions is not writable");
	ASSERT_EQ(0, mw_watch(&self->nl, k->pid, 0, NULL)) {
		TH_LOG("WATCH with max_regions = %d: %s", n0 + REGION_ROOM,
		       self->nl.msg);
	}
	kid_step(_metadata, k, 'n', &rep);

	get_watch(_metadata, self, k->pid, &w);
	EXPECT_EQ(NEW_MAPPINGS - REGION_ROOM, w.dropped_regions);
	EXPECT_EQ((uint32_t)(n0 + REGION_ROOM), w.regions);
	dump(_metadata, self, k->pid, &rs);
	EXPECT_EQ(n0 + REGION_ROOM, rs.n);
	mw_regions_free(&rs);
}

/* ------------------------------------------------------------------ */
/* 14. permissions                                                    */
/* ------------------------------------------------------------------ */

struct outcome {
	int err;
	int nregions;
	char msg[MW_MSG_LEN];
};

enum perm_case {
	/* WATCH, UNWATCH, GET_REGIONS of a root process it did not start */
	PERM_ROOT_TARGET,
	/* WATCH, GET_REGIONS, UNWATCH of its own process */
	PERM_OWN_TARGET,
	/* WATCH of its own process that made itself not dumpable */
	PERM_OWN_UNDUMPABLE,
};

static void record(struct outcome *o, const struct mw_nl *nl, int ret)
{
	o->err = nl->local ? -EIO : ret;
	snprintf(o->msg, sizeof(o->msg), "%s", nl->msg);
}

/* Fork a process of our uid (dumpable or not) that idles until killed. */
static pid_t spawn_own(bool dumpable)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_DUMPABLE, dumpable ? 1 : 0);
		for (;;)
			pause();
	}
	if (pid > 0)
		mw_wait_at_rest(pid, 10000);
	return pid;
}

/*
 * As uid 65534 with exactly @caps: run the requests of @pc against @target
 * (or a process of its own) and write three outcomes to @fd.
 */
static int perm_run(uint64_t caps, enum perm_case pc, pid_t target, int fd)
{
	struct outcome out[3];
	struct mw_regions rs;
	struct mw_nl nl;
	uint32_t pid;
	int ret;

	memset(out, 0, sizeof(out));
	if (mw_drop_privs(MW_UNPRIV_ID, MW_UNPRIV_ID, caps))
		return 2;
	prctl(PR_SET_DUMPABLE, 1);
	if (mw_nl_open(&nl))
		return 3;

	if (pc != PERM_ROOT_TARGET)
		target = spawn_own(pc == PERM_OWN_TARGET);
	if (target <= 0)
		return 4;
	pid = target;

	ret = mw_watch(&nl, pid, 0, NULL);
	record(&out[0], &nl, ret);
	if (pc == PERM_ROOT_TARGET) {
		ret = mw_unwatch(&nl, pid);
		record(&out[1], &nl, ret);
	}
	ret = mw_get_regions(&nl, pid, &rs);
	record(&out[pc == PERM_ROOT_TARGET ? 2 : 1], &nl, ret);
	out[pc == PERM_ROOT_TARGET ? 2 : 1].nregions = rs.n;
	mw_regions_free(&rs);
	if (pc != PERM_ROOT_TARGET) {
		ret = mw_unwatch(&nl, pid);
		record(&out[2], &nl, ret);
		kill(target, SIGKILL);
		waitpid(target, NULL, 0);
	}
	mw_nl_close(&nl);
	return write_full(fd, out, sizeof(out)) ? 5 : 0;
}

static void perm_check(struct __test_metadata *_metadata, uint64_t caps,
		       enum perm_case pc, pid_t target, struct outcome *out)
{
	int fds[2], status;
	pid_t pid;

	ASSERT_EQ(0, pipe(fds));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(fds[0]);
		_exit(perm_run(caps, pc, target, fds[1]));
	}
	close(fds[1]);
	ASSERT_EQ(0, read_full(fds[0], out, 3 * sizeof(*out))) {
		waitpid(pid, &status, 0);
		TH_LOG("unprivileged helper failed: exit %d",
		       WEXITSTATUS(status));
	}
	close(fds[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

static void expect_eperm(struct __test_metadata *_metadata,
			 const struct outcome *o, const char *what)
{
	EXPECT_EQ(-EPERM, o->err) {
		TH_LOG("%s: got %d, extack \"%s\"", what, o->err, o->msg);
	}
	EXPECT_NE(0, strlen(o->msg)) {
		TH_LOG("%s: EPERM without an extack message", what);
	}
	TH_LOG("%s: kernel reports: %s", what, o->msg);
}

/* A watched root-owned workload to aim at. */
static pid_t root_target(struct __test_metadata *_metadata,
			 FIXTURE_DATA(memwatch_track) *self)
{
	pid_t pid = mw_spawn_idle();

	ASSERT_LT(0, pid);
	self->extra[self->nextra++] = pid;
	watch(_metadata, self, pid);
	return pid;
}

TEST_F(memwatch_track, unprivileged_caller_is_refused)
{
	struct outcome out[3];
	pid_t target = root_target(_metadata, self);

	perm_check(_metadata, 0, PERM_ROOT_TARGET, target, out);
	expect_eperm(_metadata, &out[0], "WATCH without capabilities");
	expect_eperm(_metadata, &out[1], "UNWATCH without capabilities");
	expect_eperm(_metadata, &out[2], "GET_REGIONS without capabilities");
}

TEST_F(memwatch_track, perfmon_caller_without_ptrace_access_is_eperm)
{
	struct outcome out[3];
	pid_t target = root_target(_metadata, self);

	perm_check(_metadata, MW_CAP(CAP_PERFMON), PERM_ROOT_TARGET, target,
		   out);
	expect_eperm(_metadata, &out[0], "WATCH of a root process");
	expect_eperm(_metadata, &out[1], "UNWATCH of a root process");
	expect_eperm(_metadata, &out[2], "GET_REGIONS of a root process");
}

TEST_F(memwatch_track, perfmon_caller_may_watch_its_own_dumpable_process)
{
	struct outcome out[3];

	perm_check(_metadata, MW_CAP(CAP_PERFMON), PERM_OWN_TARGET, 0, out);
	EXPECT_EQ(0, out[0].err) {
		TH_LOG("WATCH: %d (%s)", out[0].err, out[0].msg);
	}
	EXPECT_EQ(0, out[1].err) {
		TH_LOG("GET_REGIONS: %d (%s)", out[1].err, out[1].msg);
	}
	EXPECT_LT(0, out[1].nregions);
	EXPECT_EQ(0, out[2].err) {
		TH_LOG("UNWATCH: %d (%s)", out[2].err, out[2].msg);
	}
}

TEST_F(memwatch_track, perfmon_caller_cannot_watch_its_own_undumpable_process)
{
	struct outcome out[3];

	perm_check(_metadata, MW_CAP(CAP_PERFMON), PERM_OWN_UNDUMPABLE, 0,
		   out);
	expect_eperm(_metadata, &out[0], "WATCH of an undumpable process");
}

TEST_F(memwatch_track, perfmon_with_sys_ptrace_may_watch_a_root_process)
{
	struct outcome out[3];
	pid_t target = mw_spawn_idle();

	ASSERT_LT(0, target);
	self->extra[self->nextra++] = target;
	self->watched[self->nwatched++] = target;
	perm_check(_metadata, MW_CAP(CAP_PERFMON) | MW_CAP(CAP_SYS_PTRACE),
		   PERM_ROOT_TARGET, target, out);
	EXPECT_EQ(0, out[0].err) {
		TH_LOG("WATCH: %d (%s)", out[0].err, out[0].msg);
	}
	EXPECT_EQ(0, out[1].err) {
		TH_LOG("UNWATCH: %d (%s)", out[1].err, out[1].msg);
	}
	/* Unwatched again, so there is nothing to read. */
	EXPECT_EQ(-ENOENT, out[2].err) {
		TH_LOG("GET_REGIONS: %d (%s)", out[2].err, out[2].msg);
	}
}

/* ------------------------------------------------------------------ */
/* A dump racing with changes                                         */
/* ------------------------------------------------------------------ */

#define CHURN_SLOTS 300

/* Keep about 300 mappings alive and replace them as fast as it can. */
static void churn_kid(void *arg)
{
	static char *slot[CHURN_SLOTS];
	unsigned int seed = 1;
	long i;

	(void)arg;
	prctl(PR_SET_NAME, "mw-churn");
	ch_next();
	for (i = 0; i < CHURN_SLOTS; i++)
		slot[i] = ch_map(page);
	ch_report(0, 0, 0);
	for (;;) {
		size_t n;

		i = rand_r(&seed) % CHURN_SLOTS;
		n = 1 + rand_r(&seed) % 16;
		munmap(slot[i], page);
		slot[i] = mmap(NULL, n * page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (slot[i] == MAP_FAILED)
			_exit(1);
		touch(slot[i], n * page);
		munmap(slot[i] + page, (n - 1) * page);
	}
}

TEST_F_TIMEOUT(memwatch_track,
	       regions_dump_racing_with_mmap_churn_is_consistent, 120)
{
	struct mw_regions rs;
	int round, ok = 0, intr = 0, retried = 0;
	char c = 'c';
	struct kid *k;

	k = kid_start(_metadata, self, churn_kid, NULL, 0);
	watch(_metadata, self, k->pid);
	ASSERT_EQ(0, write_full(k->cmd, &c, 1));
	{
		struct mw_report rep;
		struct pollfd pfd = { .fd = k->rep, .events = POLLIN };

		ASSERT_EQ(1, poll(&pfd, 1, 60000));
		ASSERT_EQ(0, read_full(k->rep, &rep, sizeof(rep)));
		ASSERT_EQ(0, rep.err);
	}

	for (round = 0; round < 200; round++) {
		int ret = mw_get_regions(&self->nl, k->pid, &rs);
		int i, j;

		if (ret == -EINTR) {
			intr++;
			continue;
		}
		ASSERT_EQ(0, ret) {
			TH_LOG("GET_REGIONS during churn: %s", self->nl.msg);
		}
		ok++;
		retried += rs.retries;
		for (i = 0; i < rs.n && !_metadata->exit_code; i++) {
			const struct mw_region *r = &rs.r[i];

			EXPECT_LT(r->start, r->end);
			EXPECT_LE(r->reserved, r->end - r->start);
			EXPECT_LE(r->committed, r->reserved);
			EXPECT_LE(r->touched, r->reserved);
			EXPECT_LE(r->touched, r->peak_touched);
			/* lowest address first, and no two overlap */
			if (i)
				EXPECT_LE(rs.r[i - 1].end, r->start) {
					TH_LOG("region %d of %d: %llx-%llx after %llx-%llx",
					       i, rs.n,
					       (unsigned long long)r->start,
					       (unsigned long long)r->end,
					       (unsigned long long)rs.r[i - 1].start,
					       (unsigned long long)rs.r[i - 1].end);
				}
			for (j = i - 8 < 0 ? 0 : i - 8; j < i; j++)
				EXPECT_NE(rs.r[j].id, r->id);
		}
		mw_regions_free(&rs);
		if (_metadata->exit_code)
			break;
	}
	TH_LOG("%d dumps complete (%d retries after NLM_F_DUMP_INTR)",
	       ok, retried);
	TH_LOG("%d dumps interrupted 10 times running", intr);
	EXPECT_LT(0, ok);
}

TEST_HARNESS_MAIN

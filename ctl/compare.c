// SPDX-License-Identifier: GPL-2.0
/*
 * compare: memwatch's per-region figures beside what /proc/PID/smaps says
 * about the same addresses, the check people otherwise do by hand. A
 * region's extents select the VMAs that are its: their sizes add up to
 * its reserved bytes, the ones with some access to its committed bytes,
 * and their Rss to its touched bytes, at rest. --json prints the same as
 * one object (memwatchctl-json(7)).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/memwatch.h>

#include "memwatchctl.h"
#include "nl.h"

/* A process that is not at rest can differ for a moment: look again. */
#define COMPARE_TRIES		3
#define COMPARE_PAUSE_NS	200000000L

struct vma {
	uint64_t start, end;
	bool accessible;	/* not PROT_NONE */
	uint64_t rss;
};

struct smaps_sum {
	uint64_t size, committed, rss;
	size_t vmas;
};

static int read_smaps(uint32_t pid, struct vma **out, size_t *nr)
{
	char path[64], line[512], perms[8];
	struct vma *v = NULL, *p;
	size_t n = 0, cap = 0;
	uint64_t start, end, kb;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/smaps", pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &start, &end,
			   perms) == 3) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				p = realloc(v, cap * sizeof(*v));
				if (!p) {
					free(v);
					fclose(f);
					return -ENOMEM;
				}
				v = p;
			}
			v[n].start = start;
			v[n].end = end;
			v[n].accessible = strncmp(perms, "---", 3) != 0;
			v[n].rss = 0;
			n++;
		} else if (n && sscanf(line, "Rss: %" SCNu64 " kB", &kb) == 1) {
			v[n - 1].rss = kb << 10;
		}
	}
	fclose(f);
	*out = v;
	*nr = n;
	return 0;
}

#define PM_PRESENT	(1ULL << 63)
#define PM_PFN_MASK	((1ULL << 55) - 1)

/* The pfn of the shared zero page, which Rss does not count; 0 if unknown. */
static uint64_t zero_pfn(void)
{
	static uint64_t pfn = UINT64_MAX;
	long page = sysconf(_SC_PAGESIZE);
	volatile char *p;
	uint64_t entry;
	int fd;

	if (pfn != UINT64_MAX)
		return pfn;
	pfn = 0;
	p = mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return pfn;
	(void)p[0];	/* a read fault maps the zero page */
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd >= 0) {
		if (pread(fd, &entry, sizeof(entry),
			  (off_t)((uintptr_t)p / (uintptr_t)page * 8)) ==
		    (ssize_t)sizeof(entry) && (entry & PM_PRESENT))
			pfn = entry & PM_PFN_MASK;
		close(fd);
	}
	munmap((void *)p, (size_t)page);
	return pfn;
}

/* Resident bytes of [start, end) of the process, as smaps Rss counts. */
static uint64_t resident(int pagemap, uint64_t start, uint64_t end)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), buf[512], zero;
	uint64_t addr, bytes = 0;
	size_t i, n;
	ssize_t got;

	if (pagemap < 0)
		return 0;
	zero = zero_pfn();
	for (addr = start; addr < end; addr += n * page) {
		n = (size_t)((end - addr) / page);
		if (n > ARRAY_SIZE(buf))
			n = ARRAY_SIZE(buf);
		got = pread(pagemap, buf, n * sizeof(buf[0]),
			    (off_t)(addr / page * sizeof(buf[0])));
		if (got <= 0)
			break;
		n = (size_t)got / sizeof(buf[0]);
		for (i = 0; i < n; i++)
			if ((buf[i] & PM_PRESENT) &&
			    (!zero || (buf[i] & PM_PFN_MASK) != zero))
				bytes += page;
	}
	return bytes;
}

static void sum_region(const struct mw_region *r, const struct vma *v,
		       size_t nr, int pagemap, struct smaps_sum *s)
{
	uint64_t lo, hi;
	size_t i, e;
	bool seen;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < nr; i++) {
		seen = false;
		for (e = 0; e < r->nr_extents; e++) {
			lo = v[i].start > r->extents[e].start ?
			     v[i].start : r->extents[e].start;
			hi = v[i].end < r->extents[e].end ?
			     v[i].end : r->extents[e].end;
			if (lo >= hi)
				continue;
			seen = true;
			s->size += hi - lo;
			if (v[i].accessible)
				s->committed += hi - lo;
			if (lo == v[i].start && hi == v[i].end)
				s->rss += v[i].rss;
			else	/* a VMA merged across regions */
				s->rss += resident(pagemap, lo, hi);
		}
		s->vmas += seen;
	}
}

static bool agrees(const struct mw_region *r, const struct smaps_sum *s)
{
	return r->reserved == s->size && r->committed == s->committed &&
	       r->touched == s->rss;
}

static void print_compare(uint32_t pid, const struct mw_region *r, size_t nr,
			  const struct smaps_sum *sums, size_t bad)
{
	char a[SIZE_BUF], b[SIZE_BUF], c[SIZE_BUF], d[SIZE_BUF];
	char e[SIZE_BUF], f[SIZE_BUF], range[RANGE_BUF];
	int digits = range_digits(r, nr), range_w = range_width(digits);
	size_t i;

	printf("pid %u: memwatch (mw) beside /proc/%u/smaps (smaps), per "
	       "region; '!' marks a difference\n\n", pid, pid);
	if (range_w < RANGE_COLUMN_MIN)
		range_w = RANGE_COLUMN_MIN;
	printf("%-*s %-11s %9s %9s  %9s %9s  %9s %9s  %4s  %s\n", range_w,
	       "REGION", "KIND", "RES mw", "smaps", "COMM mw", "smaps", "TOUCH mw",
	       "smaps", "VMAS", "");
	for (i = 0; i < nr; i++) {
		const struct smaps_sum *s = &sums[i];

		format_range(range, r[i].start, r[i].end, digits);
		printf("%-*s %-11s %9s %9s%s %9s %9s%s %9s %9s%s %4zu  %s\n",
		       range_w, range, mw_region_kind_name(r[i].kind),
		       format_size(a, r[i].reserved), format_size(b, s->size),
		       r[i].reserved == s->size ? " " : "!",
		       format_size(c, r[i].committed),
		       format_size(d, s->committed),
		       r[i].committed == s->committed ? " " : "!",
		       format_size(e, r[i].touched), format_size(f, s->rss),
		       r[i].touched == s->rss ? " " : "!", s->vmas,
		       agrees(&r[i], s) ? "ok" : "DIFFERS");
	}
	printf("\n%zu regions, %zu differ\n", nr, bad);
}

static void json_figures(struct json *j, const char *key, uint64_t reserved,
			 uint64_t committed, uint64_t touched)
{
	json_open_object(j, key, true);
	json_u64(j, "reserved_bytes", reserved);
	json_u64(j, "committed_bytes", committed);
	json_u64(j, "touched_bytes", touched);
	json_close(j);
}

static void print_compare_json(uint32_t pid, const struct mw_region *r,
			       size_t nr, const struct smaps_sum *sums,
			       size_t bad, int looks)
{
	struct json j;
	size_t i;

	json_init(&j, stdout);
	json_open_object(&j, NULL, false);
	json_u64(&j, "pid", pid);
	json_u64(&j, "looks", (uint64_t)looks);
	json_u64(&j, "regions_compared", nr);
	json_u64(&j, "regions_differing", bad);
	json_boolean(&j, "agrees", !bad);
	json_open_array(&j, "regions", false);
	for (i = 0; i < nr; i++) {
		const struct smaps_sum *s = &sums[i];

		json_open_object(&j, NULL, true);
		json_u64(&j, "id", r[i].id);
		json_hex(&j, "start", r[i].start);
		json_hex(&j, "end", r[i].end);
		json_string(&j, "kind", mw_region_kind_name(r[i].kind));
		json_figures(&j, "memwatch", r[i].reserved, r[i].committed,
			     r[i].touched);
		json_figures(&j, "smaps", s->size, s->committed, s->rss);
		json_u64(&j, "vmas", s->vmas);
		json_boolean(&j, "agrees", agrees(&r[i], s));
		json_close(&j);
	}
	json_end(&j);
}

int cmd_compare(int argc, char **argv)
{
	struct timespec pause = { 0, COMPARE_PAUSE_NS };
	struct mw_region *regions = NULL;
	struct smaps_sum *sums = NULL;
	struct mw_watch *watches;
	struct vma *vmas = NULL;
	size_t nr = 0, nr_vmas = 0, nr_watches, i, bad = 0;
	bool live = false, json = false, have_pid = false;
	uint32_t pid = 0;
	int ret, tries, pagemap;
	char path[64];

	for (i = 1; i < (size_t)argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!have_pid && pid_argument(argv[i])) {
			ret = parse_pid(argv[i], &pid);
			if (ret)
				return ret;
			have_pid = true;
		} else {
			return unknown_argument(argv[i]);
		}
	}
	if (!have_pid)
		return usage_error("missing PID; usage: " PROG_NAME
				   " compare PID [--json]");

	/* An exited watch's data would be used up by reading it: refuse. */
	ret = mw_get_watches(pid, &watches, &nr_watches);
	if (ret)
		return ret;
	for (i = 0; i < nr_watches; i++)
		live |= watches[i].state == MEMWATCH_WATCH_STATE_LIVE;
	free(watches);
	if (!nr_watches)
		return -ENOENT;
	if (!live) {
		fprintf(stderr, PROG_NAME ": compare: pid %u has exited; "
			"compare needs a live process (use '" PROG_NAME
			" report %u' for its final figures)\n", pid, pid);
		return CMD_RET_FAILED;
	}

	for (tries = 0; tries < COMPARE_TRIES; tries++) {
		if (tries)
			nanosleep(&pause, NULL);
		mw_regions_free(regions, nr);
		free(vmas);
		free(sums);
		regions = NULL;
		vmas = NULL;
		sums = NULL;
		ret = mw_get_regions(pid, &regions, &nr);
		if (ret)
			return ret;
		ret = read_smaps(pid, &vmas, &nr_vmas);
		if (ret) {
			mw_regions_free(regions, nr);
			fprintf(stderr, PROG_NAME ": compare: cannot read "
				"/proc/%u/smaps: %s; run as root, while the "
				"process lives\n", pid, strerror(-ret));
			return CMD_RET_FAILED;
		}
		sums = calloc(nr + 1, sizeof(*sums));
		if (!sums) {
			ret = -ENOMEM;
			break;
		}
		snprintf(path, sizeof(path), "/proc/%u/pagemap", pid);
		pagemap = open(path, O_RDONLY);
		for (i = 0, bad = 0; i < nr; i++) {
			sum_region(&regions[i], vmas, nr_vmas, pagemap,
				   &sums[i]);
			bad += !agrees(&regions[i], &sums[i]);
		}
		if (pagemap >= 0)
			close(pagemap);
		if (!bad)
			break;
	}
	if (!ret && json)
		print_compare_json(pid, regions, nr, sums, bad,
				   tries < COMPARE_TRIES ? tries + 1 : tries);
	else if (!ret)
		print_compare(pid, regions, nr, sums, bad);
	mw_regions_free(regions, nr);
	free(vmas);
	free(sums);
	if (ret)
		return ret;
	if (bad) {
		fflush(stdout);
		fprintf(stderr, PROG_NAME ": compare: %zu of %zu regions differ "
			"from smaps after %d looks; if the process was at rest, "
			"report it with this output\n", bad, nr, COMPARE_TRIES);
		return CMD_RET_FAILED;
	}
	return 0;
}

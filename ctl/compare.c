// SPDX-License-Identifier: GPL-2.0
/*
 * compare: memwatch's per-region figures beside what /proc/PID/smaps says
 * about the same addresses, the check people otherwise do by hand. A
 * region's extents select the VMAs that are its: their sizes add up to
 * its reserved bytes, the ones with some access to its committed bytes,
 * and their Rss to its touched bytes, at rest.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static void sum_region(const struct mw_region *r, const struct vma *v,
		       size_t nr, struct smaps_sum *s)
{
	size_t i, e;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < nr; i++) {
		for (e = 0; e < r->nr_extents; e++) {
			if (v[i].start >= r->extents[e].start &&
			    v[i].end <= r->extents[e].end)
				break;
		}
		if (e == r->nr_extents)
			continue;
		s->size += v[i].end - v[i].start;
		if (v[i].accessible)
			s->committed += v[i].end - v[i].start;
		s->rss += v[i].rss;
		s->vmas++;
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
	char e[SIZE_BUF], f[SIZE_BUF];
	size_t i;

	printf("pid %u: memwatch (mw) beside /proc/%u/smaps (smaps), per "
	       "region; '!' marks a difference\n\n", pid, pid);
	printf("%-33s %-11s %9s %9s  %9s %9s  %9s %9s  %4s  %s\n", "REGION",
	       "KIND", "RES mw", "smaps", "COMM mw", "smaps", "TOUCH mw",
	       "smaps", "VMAS", "");
	for (i = 0; i < nr; i++) {
		const struct smaps_sum *s = &sums[i];
		char range[48];

		snprintf(range, sizeof(range), "0x%" PRIx64 "-0x%" PRIx64,
			 r[i].start, r[i].end);
		printf("%-33s %-11s %9s %9s%s %9s %9s%s %9s %9s%s %4zu  %s\n",
		       range, region_kind_name(r[i].kind),
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

int cmd_compare(int argc, char **argv)
{
	struct timespec pause = { 0, COMPARE_PAUSE_NS };
	struct mw_region *regions = NULL;
	struct smaps_sum *sums = NULL;
	struct mw_watch *watches;
	struct vma *vmas = NULL;
	size_t nr = 0, nr_vmas = 0, nr_watches, i, bad = 0;
	bool live = false;
	uint32_t pid = 0;
	int ret, tries;

	if (argc != 2)
		return argc < 2 ? usage_error("missing PID; usage: " PROG_NAME
					      " compare PID")
				: unknown_argument(argv[2]);
	ret = parse_pid(argv[1], &pid);
	if (ret)
		return ret;

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
		for (i = 0, bad = 0; i < nr; i++) {
			sum_region(&regions[i], vmas, nr_vmas, &sums[i]);
			bad += !agrees(&regions[i], &sums[i]);
		}
		if (!bad)
			break;
	}
	if (!ret)
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

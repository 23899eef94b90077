// SPDX-License-Identifier: GPL-2.0
/*
 * A watch's call stacks for reports: fetch the module's samples and code
 * maps, unwind each sample once (unwind.c), keep each distinct list of
 * frames once, and print them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "memwatchctl.h"
#include "nl.h"
#include "stacks.h"

unsigned int mw_stack_max_frames = MW_STACK_DEFAULT_FRAMES;

/**
 * struct mw_stack_set - the distinct stacks of one watch
 * @stacks: distinct stacks, in the order first seen
 * @nr: entries in @stacks
 * @cap: room in @stacks
 * @ids: the module's stack ids, ascending (the order it sends them)
 * @of: for each of @ids, its entry in @stacks
 * @nr_ids: entries in @ids and @of
 * @cap_ids: room in @ids and @of
 */
struct mw_stack_set {
	struct mw_stack *stacks;
	size_t nr, cap;
	uint64_t *ids;
	size_t *of;
	size_t nr_ids, cap_ids;
};

static bool same_frames(const struct mw_stack *s, const struct mw_frame *f,
			size_t n)
{
	size_t i;

	if (s->nr_frames != n)
		return false;
	for (i = 0; i < n; i++)
		if (s->frames[i].addr != f[i].addr)
			return false;
	return true;
}

/* Room for @more entries in an array of @size-byte ones. */
static int grow(void **arr, size_t *cap, size_t nr, size_t more, size_t size)
{
	size_t ncap = *cap ? *cap : 16;
	void *p;

	while (ncap < nr + more)
		ncap *= 2;
	if (ncap == *cap)
		return 0;
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* The entry for frames f: an equal one, or a new one taking f over. */
static ssize_t intern(struct mw_stack_set *set, struct mw_frame *f, size_t n,
		      bool truncated)
{
	struct mw_stack *s;
	size_t i;

	for (i = 0; i < set->nr; i++)
		if (same_frames(&set->stacks[i], f, n)) {
			mw_frames_release(f, n);
			return (ssize_t)i;
		}
	if (grow((void **)&set->stacks, &set->cap, set->nr, 1,
		 sizeof(*set->stacks)))
		return -ENOMEM;
	s = &set->stacks[set->nr];
	s->id = set->nr + 1;
	s->frames = malloc((n ? n : 1) * sizeof(*f));
	if (!s->frames)
		return -ENOMEM;
	memcpy(s->frames, f, n * sizeof(*f));
	s->nr_frames = n;
	s->truncated = truncated;
	return (ssize_t)set->nr++;
}

int mw_stack_set_refresh(struct mw_stack_set *set, uint32_t pid)
{
	size_t max = mw_stack_max_frames;
	struct mw_frame *frames;
	struct mw_unwinder *u = NULL;
	struct mw_raw_stack *raw = NULL;
	struct mw_code_map *maps = NULL;
	size_t nr_raw = 0, nr_maps = 0, i;
	uint64_t known;
	int ret;

	/* one more than kept, to know that the walk went on */
	frames = calloc(max + 1, sizeof(*frames));
	if (!frames)
		return -ENOMEM;
	ret = mw_get_code_maps(pid, &maps, &nr_maps);
	if (!ret)
		ret = mw_get_stacks(pid, &raw, &nr_raw);
	if (ret)
		goto out;
	ret = -ENOMEM;
	if (grow((void **)&set->ids, &set->cap_ids, set->nr_ids, nr_raw,
		 sizeof(*set->ids)))
		goto out;
	/* ids and of share their capacity */
	{
		size_t cap = set->cap_ids;
		void *p = realloc(set->of, cap * sizeof(*set->of));

		if (!p)
			goto out;
		set->of = p;
	}
	/* the module sends its ids in ascending order; unwind the new ones */
	known = set->nr_ids ? set->ids[set->nr_ids - 1] : 0;
	for (i = 0; i < nr_raw; i++) {
		ssize_t at;
		int n;

		if (raw[i].id <= known)
			continue;
		if (!u) {
			/* the perf map of a JIT runtime is named by its pid */
			u = mw_unwinder_new(maps, nr_maps, (pid_t)pid);
			if (!u)
				goto out;
		}
		n = mw_unwind(u, &raw[i], frames, max + 1);
		if (n < 0) {
			ret = n;
			goto out;
		}
		if ((size_t)n > max)
			mw_frames_release(&frames[max], 1);
		at = intern(set, frames, (size_t)n > max ? max : (size_t)n,
			    (size_t)n > max);
		if (at < 0)
			goto out;
		set->ids[set->nr_ids] = raw[i].id;
		set->of[set->nr_ids++] = (size_t)at;
	}
	ret = 0;
out:
	free(frames);
	mw_unwinder_free(u);
	mw_stacks_free(raw, nr_raw);
	mw_code_maps_free(maps, nr_maps);
	return ret;
}

int mw_stack_set_fetch(uint32_t pid, struct mw_stack_set **out)
{
	struct mw_stack_set *set = calloc(1, sizeof(*set));
	int ret;

	if (!set)
		return -ENOMEM;
	ret = mw_stack_set_refresh(set, pid);
	if (ret) {
		mw_stack_set_free(set);
		set = NULL;
	}
	*out = set;
	return ret;
}

void mw_stack_set_free(struct mw_stack_set *set)
{
	size_t i;

	if (!set)
		return;
	for (i = 0; i < set->nr; i++) {
		mw_frames_release(set->stacks[i].frames,
				  set->stacks[i].nr_frames);
		free(set->stacks[i].frames);
	}
	free(set->stacks);
	free(set->ids);
	free(set->of);
	free(set);
}

const struct mw_stack *mw_stack_set_find(const struct mw_stack_set *set,
					 uint64_t module_id)
{
	size_t lo = 0, hi;

	if (!set || !module_id)
		return NULL;
	hi = set->nr_ids;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (set->ids[mid] == module_id)
			return &set->stacks[set->of[mid]];
		if (set->ids[mid] < module_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* "inflate+0x1c (libz.so.1.2.13)", or "[unknown] (libz...)" */
static void frame_string(char *buf, size_t size, const struct mw_frame *f)
{
	int n;

	if (f->symbol)
		n = snprintf(buf, size, "%s+0x%" PRIx64, f->symbol, f->offset);
	else
		n = snprintf(buf, size, "[unknown]");
	if (n < 0 || (size_t)n >= size)
		return;
	if (f->module)
		snprintf(buf + n, size - n, " (%s)", base_name(f->module));
}

void mw_stack_print(FILE *f, const struct mw_stack *s, int indent,
		    const char *label)
{
	char buf[512];
	size_t i;

	if (!s) {
		fprintf(f, "%*s%s no call stack\n", indent, "", label);
		return;
	}
	fprintf(f, "%*s%s (stack %" PRIu64 ")\n", indent, "", label, s->id);
	for (i = 0; i < s->nr_frames; i++) {
		frame_string(buf, sizeof(buf), &s->frames[i]);
		fprintf(f, "%*s  #%-2zu 0x%016" PRIx64 " %s\n", indent, "", i,
			s->frames[i].addr, buf);
	}
	if (s->truncated)
		fprintf(f, "%*s  ... (more than %u frames: --max-frames)\n",
			indent, "", mw_stack_max_frames);
}

void mw_stack_json(struct json *j, const char *key, const struct mw_stack *s)
{
	size_t i;

	json_open_object(j, key, true);
	json_u64(j, "id", s->id);
	json_boolean(j, "truncated", s->truncated);
	json_open_array(j, "frames", true);
	for (i = 0; i < s->nr_frames; i++) {
		const struct mw_frame *fr = &s->frames[i];

		json_open_object(j, NULL, true);
		json_hex(j, "addr", fr->addr);
		json_string(j, "symbol", fr->symbol ? fr->symbol : "[unknown]");
		json_u64(j, "offset", fr->offset);
		json_string(j, "module", fr->module ? fr->module : "");
		json_string(j, "build_id", fr->build_id ? fr->build_id : "");
		json_close(j);
	}
	json_close(j);
	json_close(j);
}

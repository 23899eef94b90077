// SPDX-License-Identifier: GPL-2.0
/*
 * report: the regions of one watched process (MEMWATCH_CMD_GET_WATCHES for
 * the watch, MEMWATCH_CMD_GET_REGIONS for its regions), with the lazy ones
 * marked. --json prints the object the project's contract defines; the
 * table is for people.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <linux/memwatch.h>

#include "memwatchctl.h"
#include "nl.h"
#include "stacks.h"

/* Threads listed under a region with --threads; the rest are summed. */
#define TOP_THREADS 5

struct report {
	uint32_t pid;
	bool threads;
	bool show_stacks, by_stack;
	struct mw_stack_set *stacks;	/* with either of them */
	uint64_t min_size;
	unsigned int max_pct;

	struct mw_watch watch;
	struct mw_region *regions;
	size_t nr;
	bool *lazy;

	/* sums over the regions; peak is the watch's own */
	size_t nr_lazy;
	struct region_totals tot;
};

static const struct {
	uint32_t flag;
	const char *name;
} region_flags[] = {
	{ MEMWATCH_REGION_F_PRIVATE, "private" },
	{ MEMWATCH_REGION_F_SHARED, "shared" },
	{ MEMWATCH_REGION_F_NORESERVE, "noreserve" },
	{ MEMWATCH_REGION_F_STACK, "stack" },
	{ MEMWATCH_REGION_F_FIXED, "fixed" },
	{ MEMWATCH_REGION_F_HUGETLB, "hugetlb" },
	{ MEMWATCH_REGION_F_INCOMPLETE, "incomplete" },
};

/* The flag names of the JSON forms, as an array of strings. */
void region_flags_json(struct json *j, const char *key, uint32_t flags)
{
	size_t k;

	json_open_array(j, key, true);
	for (k = 0; k < ARRAY_SIZE(region_flags); k++)
		if (flags & region_flags[k].flag)
			json_string(j, NULL, region_flags[k].name);
	json_close(j);
}

/**
 * struct stack_sum - the regions one creating call stack made
 * @stack: the stack, NULL for regions without one
 * @nr: regions
 * @nr_lazy: of which lazy
 * @tot: their sums
 */
struct stack_sum {
	const struct mw_stack *stack;
	size_t nr, nr_lazy;
	struct region_totals tot;
};

static int cmp_stack_sum(const void *a, const void *b)
{
	const struct stack_sum *x = a, *y = b;

	if (x->tot.reserved != y->tot.reserved)
		return x->tot.reserved < y->tot.reserved ? 1 : -1;
	if (x->tot.touched != y->tot.touched)
		return x->tot.touched < y->tot.touched ? 1 : -1;
	return (x->stack ? x->stack->id : 0) < (y->stack ? y->stack->id : 0) ?
	       -1 : 1;
}

/* Sums per creating stack, largest reserved first; *nr of them. */
static struct stack_sum *sum_by_stack(const struct report *rep, size_t *nr)
{
	struct stack_sum *s = calloc(rep->nr + 1, sizeof(*s));
	size_t i, k, n = 0;

	if (!s)
		return NULL;
	for (i = 0; i < rep->nr; i++) {
		const struct mw_region *r = &rep->regions[i];
		const struct mw_stack *st = mw_stack_set_find(rep->stacks,
							      r->stack_id);

		for (k = 0; k < n && s[k].stack != st; k++)
			;
		if (k == n)
			s[n++].stack = st;
		s[k].nr++;
		s[k].nr_lazy += rep->lazy[i];
		s[k].tot.reserved += r->reserved;
		s[k].tot.committed += r->committed;
		s[k].tot.touched += r->touched;
		s[k].tot.faulted += r->faulted;
	}
	qsort(s, n, sizeof(*s), cmp_stack_sum);
	*nr = n;
	return s;
}

/**
 * struct fill_sum - faulted bytes one filling call stack stands for
 * @stack: the stack
 * @bytes: over all regions
 * @nr: regions it filled
 */
struct fill_sum {
	const struct mw_stack *stack;
	uint64_t bytes;
	size_t nr;
};

static int cmp_fill_sum(const void *a, const void *b)
{
	const struct fill_sum *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->stack->id < y->stack->id ? -1 : 1;
}

/* Faulted bytes per filling stack over all regions, most first. */
static struct fill_sum *sum_fills(const struct report *rep, size_t *nr)
{
	struct fill_sum *s;
	size_t i, k, f, n = 0, max = 1;

	for (i = 0; i < rep->nr; i++)
		max += rep->regions[i].nr_fills;
	s = calloc(max, sizeof(*s));
	if (!s)
		return NULL;
	for (i = 0; i < rep->nr; i++) {
		const struct mw_region *r = &rep->regions[i];

		for (f = 0; f < r->nr_fills; f++) {
			const struct mw_stack *st;

			st = mw_stack_set_find(rep->stacks,
					       r->fills[f].stack_id);
			if (!st)
				continue;
			for (k = 0; k < n && s[k].stack != st; k++)
				;
			if (k == n)
				s[n++].stack = st;
			s[k].bytes += r->fills[f].bytes;
			s[k].nr++;
		}
	}
	qsort(s, n, sizeof(*s), cmp_fill_sum);
	*nr = n;
	return s;
}

/* A region's sampled filling stacks, most bytes first, as the module sent. */
static void fills_json(const struct report *rep, struct json *j,
		       const struct mw_region *r)
{
	size_t f;

	json_open_array(j, "fill_stacks", true);
	for (f = 0; f < r->nr_fills; f++) {
		const struct mw_stack *st;

		st = mw_stack_set_find(rep->stacks, r->fills[f].stack_id);
		if (!st)
			continue;
		json_open_object(j, NULL, true);
		json_u64(j, "faulted_bytes", r->fills[f].bytes);
		mw_stack_json(j, "stack", st);
		json_close(j);
	}
	json_close(j);
	json_u64(j, "fill_other_bytes", r->fill_other);
}

static int cmp_fill(const void *a, const void *b)
{
	const struct mw_fill *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->stack_id < y->stack_id ? -1 : 1;
}

static void print_fills(const struct report *rep, FILE *f,
			const struct mw_region *r, int indent)
{
	char size[SIZE_BUF], all[SIZE_BUF];
	struct mw_fill fills[MW_MAX_FILLS];
	uint64_t sampled = r->fill_other;
	size_t i;

	if (!r->nr_fills)
		return;
	memcpy(fills, r->fills, r->nr_fills * sizeof(*fills));
	qsort(fills, r->nr_fills, sizeof(*fills), cmp_fill);
	for (i = 0; i < r->nr_fills; i++)
		sampled += fills[i].bytes;
	fprintf(f, "%*sfilled by (sampled faults, %s of %s faulted):\n",
		indent, "", format_size(size, sampled),
		format_size(all, r->faulted));
	for (i = 0; i < r->nr_fills; i++) {
		char label[SIZE_BUF + 16];

		snprintf(label, sizeof(label), "%s by",
			 format_size(size, fills[i].bytes));
		mw_stack_print(f, mw_stack_set_find(rep->stacks,
						    fills[i].stack_id),
			       indent + 2, label);
	}
}

static int print_by_stack_json(const struct report *rep, struct json *j)
{
	struct stack_sum *s;
	struct fill_sum *fs;
	size_t i, n;

	s = sum_by_stack(rep, &n);
	if (!s)
		return -ENOMEM;
	json_open_array(j, "by_stack", false);
	for (i = 0; i < n; i++) {
		json_open_object(j, NULL, false);
		if (s[i].stack)
			mw_stack_json(j, "stack", s[i].stack);
		json_u64(j, "regions", s[i].nr);
		json_u64(j, "lazy_regions", s[i].nr_lazy);
		json_u64(j, "reserved_bytes", s[i].tot.reserved);
		json_u64(j, "committed_bytes", s[i].tot.committed);
		json_u64(j, "touched_bytes", s[i].tot.touched);
		json_u64(j, "faulted_bytes", s[i].tot.faulted);
		json_close(j);
	}
	json_close(j);
	free(s);

	fs = sum_fills(rep, &n);
	if (!fs)
		return -ENOMEM;
	json_open_array(j, "by_fill_stack", false);
	for (i = 0; i < n; i++) {
		json_open_object(j, NULL, false);
		mw_stack_json(j, "stack", fs[i].stack);
		json_u64(j, "regions", fs[i].nr);
		json_u64(j, "faulted_bytes", fs[i].bytes);
		json_close(j);
	}
	json_close(j);
	free(fs);
	return 0;
}

static int print_by_stack_table(const struct report *rep, FILE *f)
{
	char res[SIZE_BUF], com[SIZE_BUF], tou[SIZE_BUF], fau[SIZE_BUF];
	struct fill_sum *fs;
	struct stack_sum *s;
	size_t i, n;

	s = sum_by_stack(rep, &n);
	if (!s)
		return -ENOMEM;
	fprintf(f, "\nby creating call stack, most reserved first:\n\n");
	fprintf(f, "%7s %5s %9s %9s %9s %9s\n", "REGIONS", "LAZY",
		"RESERVED", "COMMITTED", "TOUCHED", "FAULTED");
	for (i = 0; i < n; i++) {
		fprintf(f, "%7zu %5zu %9s %9s %9s %9s\n", s[i].nr,
			s[i].nr_lazy, format_size(res, s[i].tot.reserved),
			format_size(com, s[i].tot.committed),
			format_size(tou, s[i].tot.touched),
			format_size(fau, s[i].tot.faulted));
		mw_stack_print(f, s[i].stack, 4, "created at:");
	}
	free(s);

	fs = sum_fills(rep, &n);
	if (!fs)
		return -ENOMEM;
	fprintf(f, "\nby filling call stack (sampled faults), most faulted "
		"first:\n\n");
	fprintf(f, "%7s %9s\n", "REGIONS", "FAULTED");
	for (i = 0; i < n; i++) {
		fprintf(f, "%7zu %9s\n", fs[i].nr,
			format_size(fau, fs[i].bytes));
		mw_stack_print(f, fs[i].stack, 4, "faulted by:");
	}
	free(fs);
	return 0;
}

static int print_json(const struct report *rep, FILE *f)
{
	const struct mw_watch *w = &rep->watch;
	struct json j;
	size_t i, k;
	int ret;

	json_init(&j, f);
	json_open_object(&j, NULL, false);
	json_u64(&j, "pid", rep->pid);
	json_string(&j, "comm", w->comm);
	json_u64(&j, "watch_ns", w->ns);
	json_string(&j, "state", watch_state_name(w->state));
	json_u64(&j, "lazy_min_size_bytes", rep->min_size);
	json_u64(&j, "lazy_max_touched_pct", rep->max_pct);

	json_open_object(&j, "totals", false);
	json_u64(&j, "regions", rep->nr);
	json_u64(&j, "lazy_regions", rep->nr_lazy);
	json_u64(&j, "reserved_bytes", rep->tot.reserved);
	json_u64(&j, "committed_bytes", rep->tot.committed);
	json_u64(&j, "touched_bytes", rep->tot.touched);
	json_u64(&j, "peak_touched_bytes", w->peak_touched);
	json_u64(&j, "faulted_bytes", rep->tot.faulted);
	json_u64(&j, "dropped_regions", w->dropped_regions);
	json_close(&j);

	json_open_array(&j, "regions", false);
	for (i = 0; i < rep->nr; i++) {
		const struct mw_region *r = &rep->regions[i];

		/* one line a region: a report can hold 100,000 of them */
		json_open_object(&j, NULL, true);
		json_u64(&j, "id", r->id);
		json_hex(&j, "start", r->start);
		json_hex(&j, "end", r->end);
		json_string(&j, "kind", mw_region_kind_name(r->kind));
		region_flags_json(&j, "flags", r->flags);
		json_u64(&j, "reserved_bytes", r->reserved);
		json_u64(&j, "committed_bytes", r->committed);
		json_u64(&j, "touched_bytes", r->touched);
		json_u64(&j, "peak_touched_bytes", r->peak_touched);
		json_u64(&j, "faulted_bytes", r->faulted);
		json_u64(&j, "created_ns", r->created_ns);
		json_u64(&j, "creator_tid", r->creator_tid);
		json_string(&j, "creator_comm", r->creator_comm);
		json_string(&j, "creator_latest_comm", r->creator_latest_comm);
		if (rep->show_stacks) {
			const struct mw_stack *st;

			st = mw_stack_set_find(rep->stacks, r->stack_id);
			if (st)
				mw_stack_json(&j, "stack", st);
			fills_json(rep, &j, r);
		}
		json_open_array(&j, "threads", false);
		for (k = 0; k < r->nr_threads; k++) {
			json_open_object(&j, NULL, true);
			json_u64(&j, "tid", r->threads[k].tid);
			json_string(&j, "comm", r->threads[k].comm);
			json_u64(&j, "faulted_bytes", r->threads[k].faulted);
			json_close(&j);
		}
		json_close(&j);
		json_open_array(&j, "extents", true);
		for (k = 0; k < r->nr_extents; k++) {
			json_open_object(&j, NULL, true);
			json_hex(&j, "start", r->extents[k].start);
			json_hex(&j, "end", r->extents[k].end);
			json_close(&j);
		}
		json_close(&j);
		json_u64(&j, "other_threads_faulted_bytes", r->other_faulted);
		json_boolean(&j, "lazy", rep->lazy[i]);
		json_close(&j);
	}
	json_close(&j);
	ret = rep->by_stack ? print_by_stack_json(rep, &j) : 0;
	json_end(&j);
	return ret;
}

/* Largest touched first; then largest reserved; then by address. */
static const struct report *sort_rep;

static int cmp_touched(const void *a, const void *b)
{
	const struct mw_region *ra = &sort_rep->regions[*(const size_t *)a];
	const struct mw_region *rb = &sort_rep->regions[*(const size_t *)b];

	if (ra->touched != rb->touched)
		return ra->touched > rb->touched ? -1 : 1;
	if (ra->reserved != rb->reserved)
		return ra->reserved > rb->reserved ? -1 : 1;
	if (ra->start != rb->start)
		return ra->start < rb->start ? -1 : 1;
	return 0;
}

static int cmp_thread(const void *a, const void *b)
{
	const struct mw_thread *ta = a, *tb = b;

	if (ta->faulted != tb->faulted)
		return ta->faulted > tb->faulted ? -1 : 1;
	return ta->tid < tb->tid ? -1 : ta->tid > tb->tid;
}

static void flags_string(char *buf, size_t size, uint32_t flags)
{
	size_t k, len = 0;

	buf[0] = '\0';
	for (k = 0; k < ARRAY_SIZE(region_flags); k++) {
		if (!(flags & region_flags[k].flag))
			continue;
		len += snprintf(buf + len, len < size ? size - len : 0, "%s%s",
				len ? "," : "", region_flags[k].name);
	}
	if (!len)
		snprintf(buf, size, "-");
}

static void creator_string(char *buf, size_t size, const struct mw_region *r)
{
	char comm[MW_NAME_LEN], was[MW_NAME_LEN];

	/* the name people know first, the one it had at creation after it */
	printable(comm, sizeof(comm), r->creator_latest_comm);
	printable(was, sizeof(was), r->creator_comm);
	if (r->creator_tid && strcmp(comm, was))
		snprintf(buf, size, "%u %s (was %s)", r->creator_tid, comm,
			 was);
	else if (r->creator_tid)
		snprintf(buf, size, "%u %s", r->creator_tid, comm);
	else
		snprintf(buf, size, "-");
}

static void print_threads(FILE *f, const struct mw_region *r, int indent)
{
	char size[SIZE_BUF], comm[MW_NAME_LEN];
	struct mw_thread *t;
	uint64_t rest = r->other_faulted;
	size_t k, shown, nrest = 0;

	if (!r->nr_threads && !rest)
		return;
	t = malloc(r->nr_threads * sizeof(*t) + 1);
	if (!t)
		return;
	memcpy(t, r->threads, r->nr_threads * sizeof(*t));
	qsort(t, r->nr_threads, sizeof(*t), cmp_thread);

	shown = r->nr_threads < TOP_THREADS ? r->nr_threads : TOP_THREADS;
	for (k = 0; k < shown; k++)
		fprintf(f, "%*sthread %-7u %-16s faulted %9s\n", indent, "",
		       t[k].tid, printable(comm, sizeof(comm), t[k].comm),
		       format_size(size, t[k].faulted));
	for (; k < r->nr_threads; k++, nrest++)
		rest += t[k].faulted;
	if (nrest || r->other_faulted)
		fprintf(f, "%*s%-31s faulted %9s\n", indent, "", "other threads",
		       format_size(size, rest));
	free(t);
}

static int print_table(const struct report *rep, FILE *f)
{
	char res[SIZE_BUF], com[SIZE_BUF], tou[SIZE_BUF], peak[SIZE_BUF];
	char fau[SIZE_BUF], when[DURATION_BUF], created[DURATION_BUF + 1];
	char range[RANGE_BUF], flags[96], creator[2 * MW_NAME_LEN + 24];
	char comm[MW_NAME_LEN];
	const struct mw_watch *w = &rep->watch;
	int digits = range_digits(rep->regions, rep->nr);
	int range_w = (int)strlen("REGION"), creator_w = (int)strlen("CREATOR");
	size_t *order, i, incomplete = 0;

	order = malloc(rep->nr * sizeof(*order) + 1);
	if (!order)
		return -ENOMEM;
	for (i = 0; i < rep->nr; i++) {
		const struct mw_region *r = &rep->regions[i];

		order[i] = i;
		creator_string(creator, sizeof(creator), r);
		if ((int)strlen(creator) > creator_w)
			creator_w = (int)strlen(creator);
		if (r->flags & MEMWATCH_REGION_F_INCOMPLETE)
			incomplete++;
	}
	if (rep->nr && range_width(digits) > range_w)
		range_w = range_width(digits);
	sort_rep = rep;
	qsort(order, rep->nr, sizeof(*order), cmp_touched);

	if (w->state == MEMWATCH_WATCH_STATE_EXITED)
		fprintf(f, "pid %u (%s) has exited; final figures, watched for "
			"%s (the module has now discarded them)\n", rep->pid,
			printable(comm, sizeof(comm), w->comm),
			format_ns(when, w->ns));
	else
		fprintf(f, "pid %u (%s), %s, watched for %s\n", rep->pid,
			printable(comm, sizeof(comm), w->comm),
			watch_state_name(w->state), format_ns(when, w->ns));
	fprintf(f, "lazy: at least %s reserved and at most %u%% of it touched\n\n",
	       format_size(res, rep->min_size), rep->max_pct);

	fprintf(f, "%-*s  %-11s %9s %9s %9s %6s %9s %9s %4s  %11s  %-*s  %s\n",
	       range_w, "REGION", "KIND", "RESERVED", "COMMITTED", "TOUCHED",
	       "TOUCH%", "PEAK", "FAULTED", "LAZY", "CREATED", creator_w,
	       "CREATOR", "FLAGS");
	for (i = 0; i < rep->nr; i++) {
		const struct mw_region *r = &rep->regions[order[i]];

		format_range(range, r->start, r->end, digits);
		creator_string(creator, sizeof(creator), r);
		flags_string(flags, sizeof(flags), r->flags);
		/* preexisting regions have no creation time */
		if (r->kind == MEMWATCH_REGION_KIND_PREEXISTING)
			snprintf(created, sizeof(created), "-");
		else
			snprintf(created, sizeof(created), "+%s",
				 format_ns(when, r->created_ns));

		fprintf(f, "%-*s  %-11s %9s %9s %9s %5u%% %9s %9s %4s  %11s  %-*s  %s\n",
		       range_w, range, mw_region_kind_name(r->kind),
		       format_size(res, r->reserved),
		       format_size(com, r->committed),
		       format_size(tou, r->touched),
		       percent_of(r->touched, r->reserved),
		       format_size(peak, r->peak_touched),
		       format_size(fau, r->faulted),
		       rep->lazy[order[i]] ? "yes" : "no", created, creator_w,
		       creator, flags);
		if (rep->threads)
			print_threads(f, r, range_w + 4);
		if (rep->show_stacks &&
		    (r->stack_id || r->kind != MEMWATCH_REGION_KIND_PREEXISTING))
			mw_stack_print(f, mw_stack_set_find(rep->stacks,
							    r->stack_id),
				       range_w + 4, "created at:");
		if (rep->show_stacks)
			print_fills(rep, f, r, range_w + 4);
	}
	free(order);

	fprintf(f, "\ntotal: %zu regions, %zu lazy; reserved %s, committed %s, "
	       "touched %s (peak %s), faulted %s\n",
	       rep->nr, rep->nr_lazy, format_size(res, rep->tot.reserved),
	       format_size(com, rep->tot.committed),
	       format_size(tou, rep->tot.touched),
	       format_size(peak, w->peak_touched),
	       format_size(fau, rep->tot.faulted));
	if (w->dropped_regions)
		fprintf(f, "warning: %" PRIu64 " mappings were not tracked "
		       "(max_regions reached or memory short): the totals "
		       "miss them\n", w->dropped_regions);
	if (incomplete)
		fprintf(f, "warning: %zu regions lost an event (flag incomplete): "
		       "their figures may be short\n", incomplete);
	if ((rep->show_stacks || rep->by_stack) && w->dropped_stacks)
		fprintf(f, "warning: %" PRIu64 " call stacks or code maps were "
			"not kept (max_stacks or max_code_maps reached, or "
			"memory short)\n", w->dropped_stacks);
	return rep->by_stack ? print_by_stack_table(rep, f) : 0;
}

/*
 * OpenMetrics text (https://openmetrics.io), which node_exporter's textfile
 * collector also reads (it takes "# UNIT" and "# EOF" for comments). The
 * process's totals, and each region of at least the lazy minimum size, so
 * that the series stay few: small regions are in the totals.
 */
static void om_label_value(FILE *f, const char *s)
{
	char buf[MW_NAME_LEN];
	const char *p;

	fputc('"', f);
	for (p = printable(buf, sizeof(buf), s); *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', f);
		fputc(*p, f);
	}
	fputc('"', f);
}

static void om_family(FILE *f, const char *name, const char *type,
		      const char *unit, const char *help)
{
	fprintf(f, "# TYPE %s %s\n", name, type);
	if (unit)
		fprintf(f, "# UNIT %s %s\n", name, unit);
	fprintf(f, "# HELP %s %s\n", name, help);
}

static void om_process_labels(FILE *f, const struct report *rep)
{
	fprintf(f, "{pid=\"%u\",comm=", rep->pid);
	om_label_value(f, rep->watch.comm);
}

static void om_sample(FILE *f, const struct report *rep, const char *name,
		      uint64_t v)
{
	fputs(name, f);
	om_process_labels(f, rep);
	fprintf(f, "} %" PRIu64 "\n", v);
}

#define OM_REGION_FIELDS 3

static void print_openmetrics(const struct report *rep, FILE *f)
{
	static const struct {
		const char *name;
		const char *help;
	} region_metrics[OM_REGION_FIELDS] = {
		{ "memwatch_region_reserved_bytes",
		  "Bytes of a large anonymous region mapped now." },
		{ "memwatch_region_committed_bytes",
		  "Bytes of a large region mapped with some access." },
		{ "memwatch_region_touched_bytes",
		  "Bytes of a large region backed by resident pages." },
	};
	const struct mw_watch *w = &rep->watch;
	size_t i;
	int m;

	om_family(f, "memwatch_regions", "gauge", NULL,
		  "Anonymous regions of the watched process.");
	om_sample(f, rep, "memwatch_regions", rep->nr);
	om_family(f, "memwatch_lazy_regions", "gauge", NULL,
		  "Regions that are large and barely touched.");
	om_sample(f, rep, "memwatch_lazy_regions", rep->nr_lazy);
	om_family(f, "memwatch_reserved_bytes", "gauge", "bytes",
		  "Bytes of anonymous memory mapped now.");
	om_sample(f, rep, "memwatch_reserved_bytes", rep->tot.reserved);
	om_family(f, "memwatch_committed_bytes", "gauge", "bytes",
		  "Bytes mapped with some access permission.");
	om_sample(f, rep, "memwatch_committed_bytes", rep->tot.committed);
	om_family(f, "memwatch_touched_bytes", "gauge", "bytes",
		  "Bytes backed by resident anonymous pages.");
	om_sample(f, rep, "memwatch_touched_bytes", rep->tot.touched);
	om_family(f, "memwatch_peak_touched_bytes", "gauge", "bytes",
		  "Largest touched bytes since the watch started.");
	om_sample(f, rep, "memwatch_peak_touched_bytes", w->peak_touched);
	om_family(f, "memwatch_faulted_bytes", "counter", "bytes",
		  "Bytes of new anonymous pages faulted in since the watch started.");
	om_sample(f, rep, "memwatch_faulted_bytes_total", rep->tot.faulted);
	om_family(f, "memwatch_watch_seconds", "gauge", "seconds",
		  "Time since the watch started.");
	fputs("memwatch_watch_seconds", f);
	om_process_labels(f, rep);
	fprintf(f, "} %" PRIu64 ".%09" PRIu64 "\n", w->ns / 1000000000,
		w->ns % 1000000000);

	for (m = 0; m < OM_REGION_FIELDS; m++) {
		om_family(f, region_metrics[m].name, "gauge", "bytes",
			  region_metrics[m].help);
		for (i = 0; i < rep->nr; i++) {
			const struct mw_region *r = &rep->regions[i];
			uint64_t v = m == 0 ? r->reserved :
				     m == 1 ? r->committed : r->touched;

			if (r->reserved < rep->min_size)
				continue;
			fputs(region_metrics[m].name, f);
			om_process_labels(f, rep);
			fprintf(f, ",start=\"0x%" PRIx64 "\",kind=\"%s\","
				"lazy=\"%s\",creator_comm=", r->start,
				mw_region_kind_name(r->kind),
				rep->lazy[i] ? "true" : "false");
			om_label_value(f, r->creator_comm);
			fprintf(f, "} %" PRIu64 "\n", v);
		}
	}
	fputs("# EOF\n", f);
}

void report_opts_init(struct report_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->min_size = REPORT_DEFAULT_MIN_SIZE;
	o->max_pct = REPORT_DEFAULT_MAX_TOUCHED_PCT;
}

/* The options "report", "run" and "record"'s reports share. */
int report_option(int argc, char **argv, int *i, struct report_opts *o)
{
	const char *arg = argv[*i], *val;
	int ret;

	if (!strcmp(arg, "--json")) {
		o->format = REPORT_JSON;
	} else if (!strcmp(arg, "--threads")) {
		o->threads = true;
	} else if (!strcmp(arg, "--stacks")) {
		o->stacks = true;
	} else if (!strcmp(arg, "--by-stack")) {
		o->by_stack = true;
	} else if ((ret = option_value(argc, argv, i, "--max-frames", &val))) {
		uint32_t n = 0;

		if (ret < 0 || parse_count("--max-frames", val, &n))
			return -1;
		if (n < 1 || n > MW_STACK_FRAMES_LIMIT) {
			usage_error("invalid number '%s' for --max-frames: give "
				    "1 to %d", val, MW_STACK_FRAMES_LIMIT);
			return -1;
		}
		mw_stack_max_frames = n;
	} else if ((ret = option_value(argc, argv, i, "--min-size", &val))) {
		if (ret < 0 || parse_size("--min-size", val, &o->min_size))
			return -1;
	} else if ((ret = option_value(argc, argv, i, "--max-touched-pct",
				       &val))) {
		if (ret < 0 ||
		    parse_percent("--max-touched-pct", val, &o->max_pct))
			return -1;
	} else {
		return 0;
	}
	return 1;
}

int report_build(uint32_t pid, const struct mw_watch *w,
		 struct mw_region *regions, size_t nr,
		 const struct report_opts *o, struct report **out)
{
	struct report *rep;
	size_t i;

	rep = calloc(1, sizeof(*rep));
	if (!rep) {
		mw_regions_free(regions, nr);
		return -ENOMEM;
	}
	rep->pid = pid;
	rep->threads = o->threads;
	rep->show_stacks = o->stacks;
	rep->by_stack = o->by_stack;
	rep->min_size = o->min_size;
	rep->max_pct = o->max_pct;
	rep->watch = *w;
	rep->regions = regions;
	rep->nr = nr;

	rep->lazy = calloc(rep->nr + 1, sizeof(*rep->lazy));
	if (!rep->lazy) {
		report_free(rep);
		return -ENOMEM;
	}
	for (i = 0; i < rep->nr; i++) {
		rep->lazy[i] = region_is_lazy(&rep->regions[i], rep->min_size,
					      rep->max_pct);
		rep->nr_lazy += rep->lazy[i];
	}
	sum_regions(rep->regions, rep->nr, &rep->tot);
	*out = rep;
	return 0;
}

int report_fetch(uint32_t pid, const struct report_opts *o,
		 struct report **out)
{
	struct mw_stack_set *stacks = NULL;
	struct mw_region *regions;
	struct mw_watch w;
	size_t nr;
	int ret;

	ret = mw_get_watch(pid, &w);
	if (ret)
		return ret;
	/* first: the regions' complete dump discards an exited watch */
	if (o->stacks || o->by_stack) {
		ret = mw_stack_set_fetch(pid, &stacks);
		if (ret)
			return ret;
	}
	ret = mw_get_regions(pid, &regions, &nr);
	if (ret) {
		mw_stack_set_free(stacks);
		return ret;
	}
	ret = report_build(pid, &w, regions, nr, o, out);
	if (ret)
		mw_stack_set_free(stacks);
	else
		(*out)->stacks = stacks;
	return ret;
}

int report_print(const struct report *rep, FILE *f,
		 enum report_format format)
{
	switch (format) {
	case REPORT_JSON:
		return print_json(rep, f);
	case REPORT_OPENMETRICS:
		print_openmetrics(rep, f);
		return 0;
	default:
		return print_table(rep, f);
	}
}

void report_free(struct report *rep)
{
	if (!rep)
		return;
	free(rep->lazy);
	mw_stack_set_free(rep->stacks);
	mw_regions_free(rep->regions, rep->nr);
	free(rep);
}

static int parse_format(const char *val, enum report_format *format)
{
	if (!strcmp(val, "table"))
		*format = REPORT_TABLE;
	else if (!strcmp(val, "json"))
		*format = REPORT_JSON;
	else if (!strcmp(val, "openmetrics"))
		*format = REPORT_OPENMETRICS;
	else
		return usage_error("unknown format '%s' for --format: give "
				   "table, json or openmetrics", val);
	return 0;
}

int cmd_report(int argc, char **argv)
{
	struct report_opts o;
	struct report *rep;
	bool have_pid = false;
	uint32_t pid = 0;
	const char *val;
	int i, ret;

	report_opts_init(&o);
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		ret = report_option(argc, argv, &i, &o);
		if (ret < 0)
			return CMD_RET_USAGE;
		if (ret)
			continue;
		ret = option_value(argc, argv, &i, "--format", &val);
		if (ret < 0)
			return CMD_RET_USAGE;
		if (ret) {
			ret = parse_format(val, &o.format);
			if (ret)
				return ret;
		} else if (!have_pid && pid_argument(arg)) {
			ret = parse_pid(arg, &pid);
			if (ret)
				return ret;
			have_pid = true;
		} else {
			return unknown_argument(arg);
		}
	}
	if (!have_pid)
		return usage_error("missing PID; usage: " PROG_NAME
				   " report PID [--json] [--format FORMAT] "
				   "[--min-size SIZE] [--max-touched-pct N] "
				   "[--threads] [--stacks] [--by-stack] "
				   "[--max-frames N]");

	ret = report_fetch(pid, &o, &rep);
	if (ret)
		return ret;
	/* nothing was written yet: a report of 100,000 regions is ~50 MB */
	setvbuf(stdout, NULL, _IOFBF, 1 << 20);
	ret = report_print(rep, stdout, o.format);
	report_free(rep);
	return ret;
}

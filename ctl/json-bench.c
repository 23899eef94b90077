// SPDX-License-Identifier: GPL-2.0
/*
 * json-bench: memwatchctl's report writer (json.c) against json-c on the
 * same synthetic report, on the host: no module needed. The report is the
 * one BENCHMARKS.md's scale benchmark reads back, 100,000 one-page regions
 * each faulted by one of 1,000 threads. Both forms are written to
 * /dev/null ROUNDS times; the best time of each and their ratio are
 * printed. Before timing, the writer's output is parsed with json-c and
 * compared with json-c's own tree, so that both write the same object.
 *
 *   json-bench [REGIONS [ROUNDS]]      default 100000 and 5
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <linux/memwatch.h>

#include "memwatchctl.h"
#include "nl.h"

#define PID		4242
#define THREADS		1000
#define PAGE		4096ULL

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct mw_region *make_regions(size_t nr)
{
	struct mw_region *v = calloc(nr + 1, sizeof(*v));
	size_t i;

	if (!v)
		return NULL;
	for (i = 0; i < nr; i++) {
		struct mw_region *r = &v[i];

		r->id = i + 1;
		r->start = 0x7f0000000000ULL + i * 2 * PAGE;
		r->end = r->start + PAGE;
		r->kind = MEMWATCH_REGION_KIND_MMAP;
		r->flags = MEMWATCH_REGION_F_PRIVATE;
		r->reserved = PAGE;
		r->committed = PAGE;
		r->touched = PAGE;
		r->peak_touched = PAGE;
		r->faulted = PAGE;
		r->created_ns = 1000000 + i * 1000;
		r->creator_tid = PID;
		snprintf(r->creator_comm, sizeof(r->creator_comm), "manyregions");
		r->threads = calloc(1, sizeof(*r->threads));
		r->extents = calloc(1, sizeof(*r->extents));
		if (!r->threads || !r->extents) {
			mw_regions_free(v, i + 1);
			return NULL;
		}
		r->nr_threads = 1;
		r->threads[0].tid = PID + 1 + (uint32_t)(i % THREADS);
		snprintf(r->threads[0].comm, sizeof(r->threads[0].comm),
			 "worker-%zu", i % THREADS);
		r->threads[0].faulted = PAGE;
		r->nr_extents = 1;
		r->extents[0].start = r->start;
		r->extents[0].end = r->end;
	}
	return v;
}

static const char *const flag_names[] = {
	"private", "shared", "noreserve", "stack", "fixed", "hugetlb",
	"incomplete",
};

static const uint32_t flag_bits[] = {
	MEMWATCH_REGION_F_PRIVATE, MEMWATCH_REGION_F_SHARED,
	MEMWATCH_REGION_F_NORESERVE, MEMWATCH_REGION_F_STACK,
	MEMWATCH_REGION_F_FIXED, MEMWATCH_REGION_F_HUGETLB,
	MEMWATCH_REGION_F_INCOMPLETE,
};

static void add(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add_ex(o, key, v, JSON_C_OBJECT_ADD_KEY_IS_NEW |
				  JSON_C_OBJECT_KEY_IS_CONSTANT);
}

static void add_u64(struct json_object *o, const char *key, uint64_t v)
{
	add(o, key, json_object_new_uint64(v));
}

static void add_hex(struct json_object *o, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	add(o, key, json_object_new_string(buf));
}

static bool is_lazy(const struct mw_region *r, const struct report_opts *o)
{
	return r->reserved >= o->min_size &&
	       ratio_at_most(r->touched, r->reserved, o->max_pct);
}

/* One element of "regions", as print_json() in report.c writes it. */
static struct json_object *jsonc_region(const struct mw_region *r,
					const struct report_opts *o)
{
	struct json_object *reg = json_object_new_object();
	struct json_object *flags = json_object_new_array();
	struct json_object *threads = json_object_new_array();
	struct json_object *extents = json_object_new_array();
	size_t k;

	add_u64(reg, "id", r->id);
	add_hex(reg, "start", r->start);
	add_hex(reg, "end", r->end);
	add(reg, "kind", json_object_new_string(mw_region_kind_name(r->kind)));
	for (k = 0; k < ARRAY_SIZE(flag_bits); k++)
		if (r->flags & flag_bits[k])
			json_object_array_add(flags,
				json_object_new_string(flag_names[k]));
	add(reg, "flags", flags);
	add_u64(reg, "reserved_bytes", r->reserved);
	add_u64(reg, "committed_bytes", r->committed);
	add_u64(reg, "touched_bytes", r->touched);
	add_u64(reg, "peak_touched_bytes", r->peak_touched);
	add_u64(reg, "faulted_bytes", r->faulted);
	add_u64(reg, "created_ns", r->created_ns);
	add_u64(reg, "creator_tid", r->creator_tid);
	add(reg, "creator_comm", json_object_new_string(r->creator_comm));
	for (k = 0; k < r->nr_threads; k++) {
		struct json_object *t = json_object_new_object();

		add_u64(t, "tid", r->threads[k].tid);
		add(t, "comm", json_object_new_string(r->threads[k].comm));
		add_u64(t, "faulted_bytes", r->threads[k].faulted);
		json_object_array_add(threads, t);
	}
	add(reg, "threads", threads);
	for (k = 0; k < r->nr_extents; k++) {
		struct json_object *e = json_object_new_object();

		add_hex(e, "start", r->extents[k].start);
		add_hex(e, "end", r->extents[k].end);
		json_object_array_add(extents, e);
	}
	add(reg, "extents", extents);
	add_u64(reg, "other_threads_faulted_bytes", r->other_faulted);
	add(reg, "lazy", json_object_new_boolean(is_lazy(r, o)));
	return reg;
}

/* The report object print_json() writes, less "regions", in @root. */
static void jsonc_head(struct json_object *root, const struct mw_watch *w,
		       const struct mw_region *regions, size_t nr,
		       const struct report_opts *o)
{
	struct json_object *totals = json_object_new_object();
	uint64_t res = 0, com = 0, tou = 0, fau = 0, lazy_n = 0;
	size_t i;

	for (i = 0; i < nr; i++) {
		res += regions[i].reserved;
		com += regions[i].committed;
		tou += regions[i].touched;
		fau += regions[i].faulted;
		lazy_n += is_lazy(&regions[i], o);
	}

	add_u64(root, "pid", PID);
	add(root, "comm", json_object_new_string(w->comm));
	add_u64(root, "watch_ns", w->ns);
	add(root, "state", json_object_new_string("live"));
	add_u64(root, "lazy_min_size_bytes", o->min_size);
	add_u64(root, "lazy_max_touched_pct", o->max_pct);
	add_u64(totals, "regions", nr);
	add_u64(totals, "lazy_regions", lazy_n);
	add_u64(totals, "reserved_bytes", res);
	add_u64(totals, "committed_bytes", com);
	add_u64(totals, "touched_bytes", tou);
	add_u64(totals, "peak_touched_bytes", w->peak_touched);
	add_u64(totals, "faulted_bytes", fau);
	add_u64(totals, "dropped_regions", w->dropped_regions);
	add(root, "totals", totals);
}

/* The whole report as one json-c tree. */
static struct json_object *jsonc_report(const struct mw_watch *w,
					const struct mw_region *regions,
					size_t nr, const struct report_opts *o)
{
	struct json_object *root = json_object_new_object();
	struct json_object *arr = json_object_new_array_ext((int)nr);
	size_t i;

	jsonc_head(root, w, regions, nr, o);
	for (i = 0; i < nr; i++)
		json_object_array_add(arr, jsonc_region(&regions[i], o));
	add(root, "regions", arr);
	return root;
}

/* json-c: build the tree, serialise it, write it out, free it. */
static int write_jsonc(FILE *f, const struct mw_watch *w,
		       const struct mw_region *regions, size_t nr,
		       const struct report_opts *o)
{
	struct json_object *root = jsonc_report(w, regions, nr, o);
	size_t len;
	const char *s;

	s = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE,
					      &len);
	if (!s) {
		json_object_put(root);
		return -ENOMEM;
	}
	fwrite(s, 1, len, f);
	fputc('\n', f);
	json_object_put(root);
	return 0;
}

/*
 * json-c with as little held at once as it allows: the head as a tree,
 * then each region built, written and freed in turn.
 */
static int write_jsonc_stream(FILE *f, const struct mw_watch *w,
			      const struct mw_region *regions, size_t nr,
			      const struct report_opts *o)
{
	const int flags = JSON_C_TO_STRING_PLAIN |
			  JSON_C_TO_STRING_NOSLASHESCAPE;
	struct json_object *root = json_object_new_object();
	const char *s;
	size_t i, len;

	jsonc_head(root, w, regions, nr, o);
	s = json_object_to_json_string_length(root, flags, &len);
	if (!s || !len) {
		json_object_put(root);
		return -ENOMEM;
	}
	fwrite(s, 1, len - 1, f);	/* all but its closing brace */
	fputs(",\"regions\":[", f);
	json_object_put(root);
	for (i = 0; i < nr; i++) {
		struct json_object *reg = jsonc_region(&regions[i], o);

		s = json_object_to_json_string_length(reg, flags, &len);
		if (!s) {
			json_object_put(reg);
			return -ENOMEM;
		}
		if (i)
			fputc(',', f);
		fwrite(s, 1, len, f);
		json_object_put(reg);
	}
	fputs("]}\n", f);
	return 0;
}

/* memwatchctl's writer, through the same report_print() report uses. */
static int write_own(FILE *f, const struct report *rep)
{
	return report_print(rep, f, REPORT_JSON);
}

/* What @fn writes, parsed back by json-c. */
static struct json_object *parsed(int (*fn)(FILE *f, const void *arg),
				  const void *arg)
{
	struct json_object *obj;
	char *buf = NULL;
	size_t size = 0;
	FILE *f;

	f = open_memstream(&buf, &size);
	if (!f)
		return NULL;
	fn(f, arg);
	fclose(f);
	obj = json_tokener_parse(buf);
	free(buf);
	return obj;
}

struct bench {
	const struct report *rep;
	const struct mw_watch *w;
	const struct mw_region *regions;
	size_t nr;
	const struct report_opts *o;
};

static int own_fn(FILE *f, const void *arg)
{
	const struct bench *b = arg;

	return write_own(f, b->rep);
}

static int stream_fn(FILE *f, const void *arg)
{
	const struct bench *b = arg;

	return write_jsonc_stream(f, b->w, b->regions, b->nr, b->o);
}

/* All three write the same object: json.c's, json-c's tree, streamed. */
static int same_object(const struct bench *b)
{
	struct json_object *mine = parsed(own_fn, b);
	struct json_object *stream = parsed(stream_fn, b);
	struct json_object *tree = jsonc_report(b->w, b->regions, b->nr, b->o);
	int same = mine && stream && json_object_equal(mine, tree) &&
		   json_object_equal(stream, tree);

	json_object_put(mine);
	json_object_put(stream);
	json_object_put(tree);
	return same ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	size_t nr = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	int rounds = argc > 2 ? atoi(argv[2]) : 5, i, ret = 0;
	double t, best_own = 1e9, best_jsonc = 1e9, best_stream = 1e9;
	struct mw_region *regions;
	struct report_opts o;
	struct mw_watch w;
	struct report *rep;
	struct bench b;
	FILE *null;

	if (!nr || rounds < 1) {
		fprintf(stderr, "usage: json-bench [REGIONS [ROUNDS]]\n");
		return 2;
	}
	report_opts_init(&o);
	o.format = REPORT_JSON;
	memset(&w, 0, sizeof(w));
	w.pid = PID;
	w.ns = 5000000000ULL;
	w.peak_touched = nr * PAGE;
	snprintf(w.comm, sizeof(w.comm), "manyregions");
	regions = make_regions(nr);
	if (!regions || report_build(PID, &w, regions, nr, &o, &rep)) {
		fprintf(stderr, "json-bench: out of memory\n");
		return 1;
	}
	b = (struct bench){ rep, &w, regions, nr, &o };
	if (same_object(&b)) {
		fprintf(stderr, "json-bench: the writers differ\n");
		report_free(rep);
		return 1;
	}
	null = fopen("/dev/null", "w");
	if (!null) {
		perror("json-bench: /dev/null");
		report_free(rep);
		return 1;
	}
	setvbuf(null, NULL, _IOFBF, 1 << 20);
	for (i = 0; i < rounds && !ret; i++) {
		t = now();
		write_own(null, rep);
		fflush(null);
		best_own = fmin(best_own, now() - t);
		t = now();
		ret = write_jsonc(null, &w, regions, nr, &o);
		fflush(null);
		best_jsonc = fmin(best_jsonc, now() - t);
		t = now();
		if (!ret)
			ret = write_jsonc_stream(null, &w, regions, nr, &o);
		fflush(null);
		best_stream = fmin(best_stream, now() - t);
	}
	fclose(null);
	report_free(rep);
	if (ret) {
		fprintf(stderr, "json-bench: out of memory\n");
		return 1;
	}
	printf("report of %zu regions, best of %d, output to /dev/null "
	       "(the same object all three ways)\n", nr, rounds);
	printf("  memwatchctl's writer (json.c)      %.3f s\n", best_own);
	printf("  json-c %s, one tree             %.3f s  (%.1f times)\n",
	       json_c_version(), best_jsonc, best_jsonc / best_own);
	printf("  json-c %s, a tree per region    %.3f s  (%.1f times)\n",
	       json_c_version(), best_stream, best_stream / best_own);
	return 0;
}

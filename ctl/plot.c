// SPDX-License-Identifier: GPL-2.0
/*
 * plot: draw a capture (record's JSON lines) as one self-contained SVG:
 * reserved, committed and touched bytes over time, the threads that
 * faulted in the most, and the largest regions, named.
 *
 * The capture is input from anywhere: each line is parsed by json-c in
 * strict mode (UTF-8 checked, nesting limited), the line length and the
 * counts are limited, and every problem is an error naming the line, never
 * a crash. Text from it is escaped for XML.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "memwatchctl.h"

#define MAX_LINE	(64 << 20)
#define MAX_DEPTH	16
#define MAX_SAMPLES	1000000
#define MAX_SERIES	4096	/* threads or regions followed */
#define TOP_N		5
#define NAME_LEN	64

/* --- the capture -------------------------------------------------------- */

struct series {
	uint64_t key;		/* tid, or region id */
	char name[160];
	double *v;		/* per sample; NAN before it appeared */
	double last;
};

struct capture {
	size_t n, cap;
	double *t;		/* seconds since the first sample */
	double *res, *com, *tou;
	uint64_t t0;
	uint32_t pid;
	char comm[NAME_LEN];

	struct series *threads;
	size_t nr_threads;
	struct series *regions;
	size_t nr_regions;
	size_t dropped_series;

	const char *path;
	size_t line;
	const char *err;
};

static int capture_error(struct capture *c, const char *err)
{
	c->err = err;
	return -1;
}

/* The member @key of @obj, if @obj is an object that has it. */
static struct json_object *get(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

/*
 * An integer from 0 to 2^64-2. json-c keeps integers as int64 or uint64
 * and saturates the ones past 2^64-1 to it, so that value means "out of
 * range" here.
 */
static bool get_u64(struct json_object *obj, const char *key, uint64_t *out)
{
	struct json_object *v = get(obj, key);

	if (!json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0 ||
	    json_object_get_uint64(v) == UINT64_MAX)
		return false;
	*out = json_object_get_uint64(v);
	return true;
}

static void get_str(struct json_object *obj, const char *key, char *buf,
		    size_t size)
{
	struct json_object *v = get(obj, key);

	snprintf(buf, size, "%s", json_object_is_type(v, json_type_string) ?
		 json_object_get_string(v) : "");
}

/* The array member @key of @obj: its length, 0 if there is none. */
static size_t get_array(struct json_object *obj, const char *key,
			struct json_object **arr)
{
	*arr = get(obj, key);
	if (!json_object_is_type(*arr, json_type_array))
		return 0;
	return json_object_array_length(*arr);
}

static int grow_samples(struct capture *c)
{
	size_t ncap, i;
	double **arrays[] = { &c->t, &c->res, &c->com, &c->tou };
	double *p;

	if (c->n < c->cap)
		return 0;
	if (c->n >= MAX_SAMPLES)
		return capture_error(c, "too many samples (the limit is "
				     STRINGIFY(MAX_SAMPLES) ")");
	ncap = c->cap ? c->cap * 2 : 256;
	for (i = 0; i < ARRAY_SIZE(arrays); i++) {
		p = realloc(*arrays[i], ncap * sizeof(double));
		if (!p)
			return capture_error(c, "out of memory");
		*arrays[i] = p;
	}
	for (i = 0; i < c->nr_threads + c->nr_regions; i++) {
		struct series *s = i < c->nr_threads ? &c->threads[i] :
				   &c->regions[i - c->nr_threads];

		p = realloc(s->v, ncap * sizeof(double));
		if (!p)
			return capture_error(c, "out of memory");
		s->v = p;
	}
	c->cap = ncap;
	return 0;
}

static struct series *find_series(struct capture *c, struct series **arr,
				  size_t *nr, uint64_t key)
{
	struct series *s, *p;
	size_t i;

	for (i = 0; i < *nr; i++)
		if ((*arr)[i].key == key)
			return &(*arr)[i];
	if (c->nr_threads + c->nr_regions >= MAX_SERIES) {
		c->dropped_series++;
		return NULL;
	}
	p = realloc(*arr, (*nr + 1) * sizeof(*p));
	if (!p)
		return NULL;
	*arr = p;
	s = &p[*nr];
	memset(s, 0, sizeof(*s));
	s->key = key;
	s->v = malloc((c->cap ? c->cap : 1) * sizeof(double));
	if (!s->v)
		return NULL;
	for (i = 0; i < c->cap; i++)
		s->v[i] = NAN;
	(*nr)++;
	return s;
}

static int add_sample(struct capture *c, struct json_object *root)
{
	struct json_object *totals, *arr, *item;
	uint64_t elapsed, res, com, tou, key, v = 0;
	char comm[NAME_LEN], buf[32];
	struct series *s;
	size_t i, n;

	if (!json_object_is_type(root, json_type_object))
		return capture_error(c, "a sample must be a JSON object");
	totals = get(root, "totals");
	if (!get_u64(root, "elapsed_ns", &elapsed) ||
	    !get_u64(totals, "reserved_bytes", &res) ||
	    !get_u64(totals, "committed_bytes", &com) ||
	    !get_u64(totals, "touched_bytes", &tou))
		return capture_error(c, "a sample needs elapsed_ns and totals "
				     "with reserved_bytes, committed_bytes "
				     "and touched_bytes");
	if (grow_samples(c))
		return -1;
	if (!c->n) {
		c->t0 = elapsed;
		get_u64(root, "pid", &v);
		c->pid = (uint32_t)v;
		get_str(root, "comm", c->comm, sizeof(c->comm));
	}
	if (elapsed < c->t0 || (c->n && (double)(elapsed - c->t0) / 1e9 <
						c->t[c->n - 1]))
		return capture_error(c, "elapsed_ns goes backwards");
	c->t[c->n] = (double)(elapsed - c->t0) / 1e9;
	c->res[c->n] = (double)res;
	c->com[c->n] = (double)com;
	c->tou[c->n] = (double)tou;
	for (i = 0; i < c->nr_threads; i++)
		c->threads[i].v[c->n] = NAN;
	for (i = 0; i < c->nr_regions; i++)
		c->regions[i].v[c->n] = NAN;

	n = get_array(root, "threads", &arr);
	for (i = 0; i < n; i++) {
		item = json_object_array_get_idx(arr, i);
		if (!get_u64(item, "tid", &key) ||
		    !get_u64(item, "faulted_bytes", &v))
			return capture_error(c, "a thread needs tid and "
					     "faulted_bytes");
		s = find_series(c, &c->threads, &c->nr_threads, key);
		if (!s)
			continue;
		get_str(item, "comm", comm, sizeof(comm));
		snprintf(s->name, sizeof(s->name), "%s (%" PRIu64 ")",
			 comm[0] ? comm : "?", key);
		s->v[c->n] = (double)v;
		s->last = (double)v;
	}
	n = get_array(root, "regions", &arr);
	for (i = 0; i < n; i++) {
		uint64_t r;

		item = json_object_array_get_idx(arr, i);
		if (!get_u64(item, "id", &key) ||
		    !get_u64(item, "touched_bytes", &v) ||
		    !get_u64(item, "reserved_bytes", &r))
			return capture_error(c, "a region needs id, "
					     "reserved_bytes and touched_bytes");
		s = find_series(c, &c->regions, &c->nr_regions, key);
		if (!s)
			continue;
		get_str(item, "start", buf, sizeof(buf));
		/* the name the thread took after it started, if it did */
		get_str(item, "creator_latest_comm", comm, sizeof(comm));
		if (!comm[0])
			get_str(item, "creator_comm", comm, sizeof(comm));
		snprintf(s->name, sizeof(s->name), "%s %s, by %s", buf,
			 format_size((char[SIZE_BUF]){ 0 }, r),
			 comm[0] ? comm : "?");
		s->v[c->n] = (double)v;
		s->last = (double)v;
	}
	c->n++;
	return 0;
}

/* Blank: spaces, tabs and line ends only. */
static bool blank(const char *s, size_t len)
{
	return strspn(s, " \t\r\n") >= len;
}

static int read_capture(struct capture *c, FILE *f)
{
	struct json_tokener *tok;
	char *line = NULL;
	size_t size = 0;
	ssize_t len;
	int ret = 0;

	tok = json_tokener_new_ex(MAX_DEPTH);
	if (!tok)
		return capture_error(c, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
			       JSON_TOKENER_VALIDATE_UTF8);
	while ((len = getline(&line, &size, f)) >= 0) {
		enum json_tokener_error err;
		struct json_object *root;

		c->line++;
		if (len > MAX_LINE) {
			ret = capture_error(c, "line too long");
			break;
		}
		if (strlen(line) != (size_t)len) {
			ret = capture_error(c, "a NUL byte in the line");
			break;
		}
		if (blank(line, (size_t)len))
			continue;	/* blank lines are allowed */
		/* the line with its NUL: the whole input, nothing follows */
		json_tokener_reset(tok);
		root = json_tokener_parse_ex(tok, line, (int)len + 1);
		err = json_tokener_get_error(tok);
		if (err == json_tokener_continue)
			err = json_tokener_error_parse_eof;
		if (err == json_tokener_success &&
		    !blank(line + json_tokener_get_parse_end(tok),
			   (size_t)len - json_tokener_get_parse_end(tok))) {
			ret = capture_error(c, "text after the JSON value");
			json_object_put(root);
			break;
		}
		if (err != json_tokener_success) {
			ret = capture_error(c, json_tokener_error_desc(err));
			json_object_put(root);
			break;
		}
		ret = add_sample(c, root);
		json_object_put(root);
		if (ret)
			break;
	}
	free(line);
	json_tokener_free(tok);
	if (!ret && ferror(f)) {
		c->line = 0;
		ret = capture_error(c, strerror(errno));
	}
	if (!ret && !c->n) {
		c->line = 0;
		ret = capture_error(c, "no samples");
	}
	return ret;
}

static void capture_free(struct capture *c)
{
	size_t i;

	free(c->t);
	free(c->res);
	free(c->com);
	free(c->tou);
	for (i = 0; i < c->nr_threads; i++)
		free(c->threads[i].v);
	for (i = 0; i < c->nr_regions; i++)
		free(c->regions[i].v);
	free(c->threads);
	free(c->regions);
}

/* --- the picture -------------------------------------------------------- */

#define W		960
#define LEFT		80
#define RIGHT		230	/* room for the legend */
#define PLOT_W		(W - LEFT - RIGHT)

static const char *const palette[] = {
	"#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1", "#76b7b2",
	"#edc948", "#9c755f",
};

static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc((unsigned char)*s < 0x20 ||
			      (unsigned char)*s >= 0x7f ? '?' : *s, f);
		}
	}
}

/* A step of 1, 2 or 5 times a power of ten giving about n ticks. */
static double nice_step(double range, int n)
{
	double raw = range / n, mag, r;

	if (raw <= 0)
		return 1;
	mag = pow(10, floor(log10(raw)));
	r = raw / mag;
	return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
}

struct axis {
	double max;		/* data units */
	double unit;		/* label divisor */
	const char *suffix;
	double step;		/* in data units */
};

static void byte_axis(struct axis *a, double max)
{
	static const char *const sfx[] = { "B", "K", "M", "G", "T" };
	int k = 0;

	if (max < 1)
		max = 1;
	a->unit = 1;
	while (k < 4 && max / a->unit >= 1024) {
		a->unit *= 1024;
		k++;
	}
	a->suffix = sfx[k];
	a->step = nice_step(max / a->unit, 5) * a->unit;
	a->max = ceil(max / a->step) * a->step;
}

static void time_axis(struct axis *a, double max)
{
	if (max <= 0)
		max = 1;
	a->unit = max < 2 ? 1e-3 : 1;
	a->suffix = max < 2 ? "ms" : "s";
	a->step = nice_step(max / a->unit, 8) * a->unit;
	a->max = ceil(max / a->step) * a->step;
}

static void label(FILE *f, double v, const struct axis *a, char *buf,
		  size_t size)
{
	double x = v / a->unit;

	if (fabs(x - round(x)) < 1e-9)
		snprintf(buf, size, "%.0f%s", x, a->suffix);
	else
		snprintf(buf, size, "%.1f%s", x, a->suffix);
	(void)f;
}

static void draw_axes(FILE *f, int top, int h, const struct axis *x,
		      const struct axis *y, const char *title)
{
	char buf[32];
	double v;

	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"h\">", LEFT, top - 8);
	xml_text(f, title);
	fprintf(f, "</text>\n");
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
		"fill=\"#fafafa\" stroke=\"#888\"/>\n", LEFT, top, PLOT_W, h);
	for (v = 0; v <= y->max * 1.0000001; v += y->step) {
		double py = top + h - v / y->max * h;

		label(f, v, y, buf, sizeof(buf));
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
			"stroke=\"#ddd\"/>\n", LEFT, py, LEFT + PLOT_W, py);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s"
			"</text>\n", LEFT - 6, py + 4, buf);
	}
	for (v = 0; v <= x->max * 1.0000001; v += x->step) {
		double px = LEFT + v / x->max * PLOT_W;

		label(f, v, x, buf, sizeof(buf));
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
			"stroke=\"#888\"/>\n", px, top + h, px, top + h + 4);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">"
			"%s</text>\n", px, top + h + 17, buf);
	}
}

static void draw_line(FILE *f, const struct capture *c, const double *v,
		      int top, int h, const struct axis *x,
		      const struct axis *y, const char *color)
{
	bool open = false;
	size_t i;

	for (i = 0; i < c->n; i++) {
		if (isnan(v[i])) {
			if (open)
				fputs("\"/>\n", f);
			open = false;
			continue;
		}
		if (!open)
			fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" "
				"stroke-width=\"2\" points=\"", color);
		fprintf(f, "%.1f,%.1f ", LEFT + c->t[i] / x->max * PLOT_W,
			top + h - v[i] / y->max * h);
		open = true;
	}
	if (open)
		fputs("\"/>\n", f);
}

static void legend(FILE *f, int top, int i, const char *color,
		   const char *text)
{
	int y = top + 14 + i * 20;

	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"4\" "
		"fill=\"%s\"/>\n", LEFT + PLOT_W + 12, y - 5, color);
	fprintf(f, "<text x=\"%d\" y=\"%d\">", LEFT + PLOT_W + 32, y);
	xml_text(f, text);
	fprintf(f, "</text>\n");
}

static int cmp_last(const void *a, const void *b)
{
	const struct series *sa = a, *sb = b;

	if (sa->last != sb->last)
		return sa->last > sb->last ? -1 : 1;
	return sa->key < sb->key ? -1 : sa->key > sb->key;
}

static double series_max(const struct capture *c, const struct series *s,
			 size_t n)
{
	double m = 0;
	size_t i, k;

	for (k = 0; k < n; k++)
		for (i = 0; i < c->n; i++)
			if (!isnan(s[k].v[i]) && s[k].v[i] > m)
				m = s[k].v[i];
	return m;
}

static void write_svg(FILE *f, struct capture *c)
{
	static const int top1 = 70, h1 = 260, top2 = 400, h2 = 170;
	const int top3 = top2 + h2 + 60;
	char title[256], comm[NAME_LEN], size[SIZE_BUF], peak[SIZE_BUF];
	struct axis x, y1, y2;
	size_t i, nt, nr;
	double max = 0;
	int height;

	for (i = 0; i < c->n; i++)
		max = fmax(max, fmax(c->res[i], fmax(c->com[i], c->tou[i])));
	time_axis(&x, c->t[c->n - 1]);
	byte_axis(&y1, max);
	qsort(c->threads, c->nr_threads, sizeof(*c->threads), cmp_last);
	qsort(c->regions, c->nr_regions, sizeof(*c->regions), cmp_last);
	nt = c->nr_threads < TOP_N ? c->nr_threads : TOP_N;
	nr = c->nr_regions < TOP_N ? c->nr_regions : TOP_N;
	byte_axis(&y2, series_max(c, c->threads, nt));
	height = top3 + 24 + (int)nr * 18 + 20;

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%d\" viewBox=\"0 0 %d %d\" "
		"font-family=\"sans-serif\" font-size=\"12\">\n"
		"<style>.h{font-size:14px;font-weight:bold}"
		".t{font-size:18px;font-weight:bold}</style>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		W, height, W, height);

	printable(comm, sizeof(comm), c->comm);
	snprintf(title, sizeof(title), "memwatch: pid %u (%s), %zu samples "
		 "over %.1fs", c->pid, comm, c->n, c->t[c->n - 1]);
	fprintf(f, "<text x=\"%d\" y=\"30\" class=\"t\">", LEFT);
	xml_text(f, title);
	fprintf(f, "</text>\n");

	draw_axes(f, top1, h1, &x, &y1,
		  "Anonymous memory: reserved, committed, touched");
	draw_line(f, c, c->res, top1, h1, &x, &y1, palette[0]);
	draw_line(f, c, c->com, top1, h1, &x, &y1, palette[1]);
	draw_line(f, c, c->tou, top1, h1, &x, &y1, palette[2]);
	snprintf(title, sizeof(title), "reserved %s",
		 format_size(size, (uint64_t)c->res[c->n - 1]));
	legend(f, top1, 0, palette[0], title);
	snprintf(title, sizeof(title), "committed %s",
		 format_size(size, (uint64_t)c->com[c->n - 1]));
	legend(f, top1, 1, palette[1], title);
	snprintf(title, sizeof(title), "touched %s",
		 format_size(size, (uint64_t)c->tou[c->n - 1]));
	legend(f, top1, 2, palette[2], title);

	draw_axes(f, top2, h2, &x, &y2,
		  "Threads that faulted in the most (bytes faulted)");
	for (i = 0; i < nt; i++) {
		const char *color = palette[(i + 3) % ARRAY_SIZE(palette)];

		draw_line(f, c, c->threads[i].v, top2, h2, &x, &y2, color);
		snprintf(title, sizeof(title), "%.40s %s", c->threads[i].name,
			 format_size(size, (uint64_t)c->threads[i].last));
		legend(f, top2, (int)i, color, title);
	}
	if (!nt)
		legend(f, top2, 0, "#ccc", "no thread faulted");
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">time "
		"since the recording started</text>\n", LEFT + PLOT_W / 2,
		top2 + h2 + 36);

	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"h\">Largest regions, "
		"by touched bytes at the end</text>\n", LEFT, top3);
	for (i = 0; i < nr; i++) {
		const struct series *s = &c->regions[i];

		snprintf(title, sizeof(title), "touched %s, peak %s: %s",
			 format_size(size, (uint64_t)s->last),
			 format_size(peak, (uint64_t)series_max(c, s, 1)),
			 s->name);
		fprintf(f, "<text x=\"%d\" y=\"%d\">", LEFT + 10,
			top3 + 22 + (int)i * 18);
		xml_text(f, title);
		fprintf(f, "</text>\n");
	}
	fprintf(f, "</svg>\n");
}

int cmd_plot(int argc, char **argv)
{
	struct capture c = { 0 };
	const char *in = NULL, *out = NULL, *val;
	FILE *fin, *fout;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if ((ret = option_value(argc, argv, &i, "-o", &val)) ||
		    (ret = option_value(argc, argv, &i, "--output", &val))) {
			if (ret < 0)
				return CMD_RET_USAGE;
			out = val;
		} else if (!in && (argv[i][0] != '-' || !strcmp(argv[i], "-"))) {
			in = argv[i];
		} else {
			return unknown_argument(argv[i]);
		}
	}
	if (!in || !out)
		return usage_error("usage: " PROG_NAME " plot CAPTURE.jsonl -o "
				   "FILE.svg ('-' for stdin or stdout)");

	fin = strcmp(in, "-") ? fopen(in, "r") : stdin;
	if (!fin) {
		fprintf(stderr, PROG_NAME ": plot: cannot read '%s': %s; give "
			"a capture that '" PROG_NAME " record' wrote\n", in,
			strerror(errno));
		return CMD_RET_FAILED;
	}
	c.path = in;
	ret = read_capture(&c, fin);
	if (fin != stdin)
		fclose(fin);
	if (ret) {
		if (c.line)
			fprintf(stderr, PROG_NAME ": plot: %s:%zu: %s; give a "
				"capture that '" PROG_NAME " record' wrote\n",
				in, c.line, c.err);
		else
			fprintf(stderr, PROG_NAME ": plot: %s: %s; give a "
				"capture that '" PROG_NAME " record' wrote\n",
				in, c.err);
		capture_free(&c);
		return CMD_RET_FAILED;
	}

	fout = strcmp(out, "-") ? fopen(out, "w") : stdout;
	if (!fout) {
		fprintf(stderr, PROG_NAME ": plot: cannot write '%s': %s; give "
			"a writable path to -o\n", out, strerror(errno));
		capture_free(&c);
		return CMD_RET_FAILED;
	}
	write_svg(fout, &c);
	capture_free(&c);
	if (fout != stdout && fclose(fout)) {
		fprintf(stderr, PROG_NAME ": plot: cannot write '%s': %s; give "
			"a writable path to -o\n", out, strerror(errno));
		return CMD_RET_FAILED;
	}
	return 0;
}

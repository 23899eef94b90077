// SPDX-License-Identifier: GPL-2.0
/*
 * record: a timeline of one process, one JSON object per line and per
 * sample (the "capture" format plot.c reads; the README describes it).
 * The process is given by pid, or started as a command the way "run"
 * starts one, from its first instruction. A region's creating call stack
 * is written once, in the first sample whose regions name it.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/memwatch.h>

#include "memwatchctl.h"
#include "nl.h"
#include "stacks.h"

#define RECORD_DEFAULT_INTERVAL_NS	(100 * 1000000ULL)
#define CAPTURE_VERSION			1

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

struct record {
	uint32_t pid;
	char **cmd;
	uint64_t interval_ns;
	uint64_t duration_ns;	/* 0: until the process exits or Ctrl-C */
	const char *out_path;
	FILE *out;
	uint64_t t0;
	size_t samples;
	/* call stacks: fetched as the watch gets more, each written once */
	struct mw_stack_set *stacks;
	uint32_t nr_stacks;
	uint64_t *written;
	size_t nr_written, cap_written;
};

static bool written(const struct record *rec, uint64_t id)
{
	size_t i;

	for (i = 0; i < rec->nr_written; i++)
		if (rec->written[i] == id)
			return true;
	return false;
}

/*
 * "stacks": the call stacks the regions name that no earlier sample
 * wrote, by the module's stack id. Stacks that cannot be had (out of
 * memory, a watch gone) are left out: the regions keep their ids.
 */
static void write_new_stacks(struct record *rec, struct json *j,
			     const struct mw_region *regions, size_t nr)
{
	bool open = false;
	size_t i;

	for (i = 0; i < nr; i++) {
		uint64_t id = regions[i].stack_id;
		const struct mw_stack *st;

		if (!id || written(rec, id))
			continue;
		st = mw_stack_set_find(rec->stacks, id);
		if (!st)
			continue;
		if (rec->nr_written == rec->cap_written) {
			size_t cap = rec->cap_written ? 2 * rec->cap_written : 64;
			uint64_t *p = realloc(rec->written, cap * sizeof(*p));

			if (!p)
				break;
			rec->written = p;
			rec->cap_written = cap;
		}
		rec->written[rec->nr_written++] = id;
		if (!open) {
			json_open_array(j, "stacks", true);
			open = true;
		}
		json_open_object(j, NULL, true);
		json_u64(j, "stack_id", id);
		mw_stack_json(j, "stack", st);
		json_close(j);
	}
	if (open)
		json_close(j);
}

/* One sample; 1 when the process has exited (this was its last). */
static int take_sample(struct record *rec)
{
	struct mw_watch w;
	struct mw_region *regions;
	struct thread_sum *threads;
	struct region_totals tot;
	size_t nr, nr_threads, i;
	struct json j;
	int ret;

	ret = mw_get_watch(rec->pid, &w);
	if (ret)
		return ret;
	/* before the regions: their last dump discards an exited watch */
	if (w.stacks != rec->nr_stacks) {
		if (!rec->stacks)
			mw_stack_set_fetch(rec->pid, &rec->stacks);
		else
			mw_stack_set_refresh(rec->stacks, rec->pid);
		rec->nr_stacks = w.stacks;
	}

	ret = mw_get_regions(rec->pid, &regions, &nr);
	if (ret)
		return ret;
	threads = sum_threads(regions, nr, &nr_threads);
	if (!threads) {
		mw_regions_free(regions, nr);
		return -ENOMEM;
	}
	sum_regions(regions, nr, &tot);

	json_init(&j, rec->out);
	json_open_object(&j, NULL, true);
	json_u64(&j, "capture_version", CAPTURE_VERSION);
	json_u64(&j, "timestamp_ns", now_ns(CLOCK_REALTIME));
	json_u64(&j, "elapsed_ns", now_ns(CLOCK_MONOTONIC) - rec->t0);
	json_u64(&j, "pid", rec->pid);
	json_string(&j, "comm", w.comm);
	json_string(&j, "state", watch_state_name(w.state));
	json_u64(&j, "watch_ns", w.ns);
	json_open_object(&j, "totals", true);
	json_u64(&j, "regions", tot.regions);
	json_u64(&j, "reserved_bytes", tot.reserved);
	json_u64(&j, "committed_bytes", tot.committed);
	json_u64(&j, "touched_bytes", tot.touched);
	json_u64(&j, "peak_touched_bytes", w.peak_touched);
	json_u64(&j, "faulted_bytes", tot.faulted);
	json_close(&j);
	json_open_array(&j, "regions", true);
	for (i = 0; i < nr; i++) {
		const struct mw_region *r = &regions[i];

		json_open_object(&j, NULL, true);
		json_u64(&j, "id", r->id);
		json_hex(&j, "start", r->start);
		json_hex(&j, "end", r->end);
		json_string(&j, "kind", mw_region_kind_name(r->kind));
		json_u64(&j, "reserved_bytes", r->reserved);
		json_u64(&j, "committed_bytes", r->committed);
		json_u64(&j, "touched_bytes", r->touched);
		json_u64(&j, "faulted_bytes", r->faulted);
		json_u64(&j, "creator_tid", r->creator_tid);
		json_string(&j, "creator_comm", r->creator_comm);
		json_string(&j, "creator_latest_comm", r->creator_latest_comm);
		if (r->stack_id)
			json_u64(&j, "stack_id", r->stack_id);
		json_close(&j);
	}
	json_close(&j);
	json_open_array(&j, "threads", true);
	for (i = 0; i < nr_threads; i++) {
		json_open_object(&j, NULL, true);
		json_u64(&j, "tid", threads[i].tid);
		json_string(&j, "comm", threads[i].comm);
		json_u64(&j, "faulted_bytes", threads[i].faulted);
		json_close(&j);
	}
	json_close(&j);
	write_new_stacks(rec, &j, regions, nr);
	json_end(&j);
	fflush(rec->out);
	rec->samples++;

	free(threads);
	mw_regions_free(regions, nr);
	return w.state == MEMWATCH_WATCH_STATE_EXITED;
}

static int parse_record_args(struct record *rec, int argc, char **argv)
{
	bool have_pid = false;
	const char *val;
	int i, ret;

	rec->interval_ns = RECORD_DEFAULT_INTERVAL_NS;
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!strcmp(arg, "--")) {
			if (have_pid || i + 1 == argc)
				return usage_error("give either PID or -- CMD "
						   "[ARGS...]");
			rec->cmd = argv + i + 1;
			break;
		} else if ((ret = option_value(argc, argv, &i, "--interval",
					       &val))) {
			if (ret < 0 || parse_duration("--interval", val,
						      &rec->interval_ns))
				return CMD_RET_USAGE;
			if (rec->interval_ns < 1000000)
				return usage_error("--interval must be at "
						   "least 1ms");
		} else if ((ret = option_value(argc, argv, &i, "--duration",
					       &val))) {
			if (ret < 0 || parse_duration("--duration", val,
						      &rec->duration_ns))
				return CMD_RET_USAGE;
		} else if ((ret = option_value(argc, argv, &i, "-o", &val)) ||
			   (ret = option_value(argc, argv, &i, "--output",
					       &val))) {
			if (ret < 0)
				return CMD_RET_USAGE;
			rec->out_path = val;
		} else if (!have_pid && pid_argument(arg)) {
			ret = parse_pid(arg, &rec->pid);
			if (ret)
				return ret;
			have_pid = true;
		} else {
			return unknown_argument(arg);
		}
	}
	if (!have_pid && !rec->cmd)
		return usage_error("missing PID or -- CMD; usage: " PROG_NAME
				   " record (PID | -- CMD...) -o FILE");
	if (!rec->out_path)
		return usage_error("missing -o FILE (- for stdout)");
	return 0;
}

int cmd_record(int argc, char **argv)
{
	struct record rec = { 0 };
	struct timespec next;
	struct sigaction sa;
	bool started_watch = false;
	struct mw_watch w;
	pid_t child = 0;
	uint64_t end = 0;
	int ret, status;

	ret = parse_record_args(&rec, argc, argv);
	if (ret)
		return ret;

	if (!strcmp(rec.out_path, "-")) {
		rec.out = stdout;
	} else {
		rec.out = fopen(rec.out_path, "w");
		if (!rec.out) {
			fprintf(stderr, PROG_NAME ": record: cannot write '%s': "
				"%s; give a writable path to -o\n",
				rec.out_path, strerror(errno));
			return CMD_RET_FAILED;
		}
	}

	if (rec.cmd) {
		ret = child_start(rec.cmd, 0, false, &child);
		if (ret)
			goto out;
		rec.pid = (uint32_t)child;
		mw_subject_pid = rec.pid;
	} else {
		/* A process nobody watches yet is watched for the recording. */
		ret = mw_watch(rec.pid, 0, false, &w);
		if (ret && ret != -EEXIST)
			goto out;
		started_watch = !ret;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_stop;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}

	rec.t0 = now_ns(CLOCK_MONOTONIC);
	if (rec.duration_ns)
		end = rec.t0 + rec.duration_ns;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		if (child && child_exited(child, &status)) {
			/* The exited watch's final figures, read once. */
			ret = take_sample(&rec);
			if (ret == -ENOENT && rec.samples)
				ret = 0;
			child_reap(child);
			child = 0;
			break;
		}
		ret = take_sample(&rec);
		/*
		 * Gone after a sample: the process exited between that
		 * sample's GET_WATCHES and GET_REGIONS, and the dump read the
		 * exited watch's final figures, which the module then drops.
		 */
		if (ret == -ENOENT && rec.samples)
			ret = 1;
		if (ret)
			break;
		if (stop || (end && now_ns(CLOCK_MONOTONIC) >= end))
			break;
		next.tv_nsec += (long)(rec.interval_ns % 1000000000ULL);
		next.tv_sec += (time_t)(rec.interval_ns / 1000000000ULL);
		if (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next,
				       NULL) == EINTR && !stop)
			;
	}
	if (ret > 0)
		ret = 0;
	if (child) {
		/* --duration ended a command's recording: stop it. */
		kill(child, SIGTERM);
		child_reap(child);
		mw_unwatch(rec.pid);
	}
	if (started_watch)
		mw_unwatch(rec.pid);
	if (!ret && rec.out != stdout)
		fprintf(stderr, PROG_NAME ": record: %zu samples written to "
			"%s\n", rec.samples, rec.out_path);
out:
	mw_stack_set_free(rec.stacks);
	free(rec.written);
	if (rec.out != stdout && fclose(rec.out) && !ret) {
		fprintf(stderr, PROG_NAME ": record: cannot write '%s': %s; "
			"give a writable path to -o\n", rec.out_path,
			strerror(errno));
		ret = CMD_RET_FAILED;
	}
	return ret;
}

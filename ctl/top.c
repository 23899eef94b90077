// SPDX-License-Identifier: GPL-2.0
/*
 * top: a live view of one process in a plain terminal (ANSI escapes, no
 * curses): totals and how fast they grow, the largest regions, and the
 * threads faulting memory in fastest. 'q' or Ctrl-C quits; the terminal
 * settings are put back on every way out.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <linux/memwatch.h>

#include "memwatchctl.h"
#include "nl.h"

#define TOP_DEFAULT_INTERVAL_NS	1000000000ULL

static volatile sig_atomic_t stop;
static struct termios saved_tio;
static bool tio_saved;
static bool screen_set;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void restore_terminal(void)
{
	if (screen_set) {
		fputs("\033[?25h\n", stdout);	/* show the cursor again */
		fflush(stdout);
		screen_set = false;
	}
	if (tio_saved) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
		tio_saved = false;
	}
}

/* Keys without Enter and without echo; Ctrl-C still sends SIGINT. */
static void raw_terminal(void)
{
	struct termios tio;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio))
		return;
	tio = saved_tio;
	tio.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	tio.c_cc[VMIN] = 0;
	tio.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio) == 0) {
		tio_saved = true;
		atexit(restore_terminal);
	}
}

struct top {
	uint32_t pid;
	uint64_t interval_ns;
	long count;		/* refreshes before quitting; 0: no end */
	int rows;

	bool have_prev;
	uint64_t prev_t, prev_res, prev_com, prev_tou;
	struct thread_sum *prev_threads;
	size_t nr_prev_threads;
	struct mw_region *prev_regions;
	size_t nr_prev_regions;
};

static double rate(uint64_t now, uint64_t before, double dt)
{
	return dt > 0 ? ((double)now - (double)before) / dt : 0;
}

static char *format_rate(char buf[SIZE_BUF + 4], double r)
{
	char size[SIZE_BUF];

	format_size(size, (uint64_t)(r < 0 ? -r : r));
	snprintf(buf, SIZE_BUF + 4, "%s%s/s", r < 0 ? "-" : "+", size);
	return buf;
}

static uint64_t prev_region_touched(const struct top *t, uint64_t id,
				    uint64_t now)
{
	size_t i;

	for (i = 0; i < t->nr_prev_regions; i++)
		if (t->prev_regions[i].id == id)
			return t->prev_regions[i].touched;
	return t->have_prev ? 0 : now;
}

static uint64_t prev_thread_faulted(const struct top *t, uint32_t tid,
				    uint64_t now)
{
	size_t i;

	for (i = 0; i < t->nr_prev_threads; i++)
		if (t->prev_threads[i].tid == tid)
			return t->prev_threads[i].faulted;
	return t->have_prev ? 0 : now;
}

static const struct mw_region *sort_regions;

static int cmp_region(const void *a, const void *b)
{
	const struct mw_region *ra = &sort_regions[*(const size_t *)a];
	const struct mw_region *rb = &sort_regions[*(const size_t *)b];

	if (ra->touched != rb->touched)
		return ra->touched > rb->touched ? -1 : 1;
	return ra->reserved > rb->reserved ? -1 : ra->reserved < rb->reserved;
}

struct thread_rate {
	const struct thread_sum *t;
	double rate;
};

static int cmp_thread_rate(const void *a, const void *b)
{
	const struct thread_rate *ta = a, *tb = b;

	if (ta->rate != tb->rate)
		return ta->rate > tb->rate ? -1 : 1;
	return ta->t->faulted > tb->t->faulted ? -1 :
	       ta->t->faulted < tb->t->faulted;
}

/* One screen. Returns 1 once the process has exited. */
static int refresh(struct top *t)
{
	char s1[SIZE_BUF], s2[SIZE_BUF], s3[SIZE_BUF], when[DURATION_BUF];
	char every[DURATION_BUF];
	char r1[SIZE_BUF + 4], r2[SIZE_BUF + 4], r3[SIZE_BUF + 4];
	char comm[MW_NAME_LEN], range[RANGE_BUF];
	struct mw_watch w;
	struct mw_region *regions;
	struct thread_sum *threads;
	struct thread_rate *rates;
	size_t nr, nr_threads, i, nr_lazy = 0, *order, shown;
	uint64_t now = now_ns(CLOCK_MONOTONIC);
	struct region_totals tot;
	int room, ret, digits, range_w;
	double dt;

	ret = mw_get_watch(t->pid, &w);
	if (ret)
		return ret;
	if (w.state != MEMWATCH_WATCH_STATE_LIVE) {
		/* Its final data is left for 'report'. */
		printf("\npid %u has exited; see '" PROG_NAME " report %u'\n",
		       t->pid, t->pid);
		return 1;
	}
	ret = mw_get_regions(t->pid, &regions, &nr);
	if (ret)
		return ret;
	threads = sum_threads(regions, nr, &nr_threads);
	order = malloc((nr + 1) * sizeof(*order));
	rates = malloc((nr_threads + 1) * sizeof(*rates));
	if (!threads || !order || !rates) {
		free(threads);
		free(order);
		free(rates);
		mw_regions_free(regions, nr);
		return -ENOMEM;
	}
	sum_regions(regions, nr, &tot);
	for (i = 0; i < nr; i++) {
		nr_lazy += region_is_lazy(&regions[i], REPORT_DEFAULT_MIN_SIZE,
					  REPORT_DEFAULT_MAX_TOUCHED_PCT);
		order[i] = i;
	}
	dt = t->have_prev ? (double)(now - t->prev_t) / 1e9 : 0;

	fputs("\033[H\033[2J", stdout);	/* home, clear */
	printf("\033[1m" PROG_NAME " top\033[0m  pid %u (%s), watched %s, "
	       "every %s  (q quits)\n", t->pid,
	       printable(comm, sizeof(comm), w.comm), format_ns(when, w.ns),
	       format_ns(every, t->interval_ns));
	printf("regions %zu (%zu lazy)  peak touched %s\n", nr, nr_lazy,
	       format_size(s2, w.peak_touched));
	printf("reserved %9s %12s   committed %9s %12s   touched %9s %12s\n\n",
	       format_size(s1, tot.reserved),
	       format_rate(r1, rate(tot.reserved, t->prev_res, dt)),
	       format_size(s2, tot.committed),
	       format_rate(r2, rate(tot.committed, t->prev_com, dt)),
	       format_size(s3, tot.touched),
	       format_rate(r3, rate(tot.touched, t->prev_tou, dt)));

	/* Half the rows that are left for regions, half for threads. */
	room = (t->rows - 8) / 2;
	if (room < 3)
		room = 3;

	sort_regions = regions;
	qsort(order, nr, sizeof(*order), cmp_region);
	digits = range_digits(regions, nr);
	range_w = range_width(digits);
	if (range_w < RANGE_COLUMN_MIN)
		range_w = RANGE_COLUMN_MIN;
	printf("\033[7m%-*s %-11s %9s %9s %9s %12s  %-20s\033[0m\n", range_w,
	       "LARGEST REGIONS", "KIND", "RESERVED", "COMMITTED", "TOUCHED",
	       "GROWTH", "CREATOR");
	shown = nr < (size_t)room ? nr : (size_t)room;
	for (i = 0; i < shown; i++) {
		const struct mw_region *r = &regions[order[i]];

		format_range(range, r->start, r->end, digits);
		printf("%-*s %-11s %9s %9s %9s %12s  %.20s\n", range_w, range,
		       mw_region_kind_name(r->kind), format_size(s1, r->reserved),
		       format_size(s2, r->committed),
		       format_size(s3, r->touched),
		       format_rate(r1, rate(r->touched,
					    prev_region_touched(t, r->id,
								r->touched),
					    dt)),
		       r->creator_tid ? printable(comm, sizeof(comm),
						  r->creator_latest_comm) : "-");
	}

	for (i = 0; i < nr_threads; i++) {
		rates[i].t = &threads[i];
		rates[i].rate = rate(threads[i].faulted,
				     prev_thread_faulted(t, threads[i].tid,
							 threads[i].faulted),
				     dt);
	}
	qsort(rates, nr_threads, sizeof(*rates), cmp_thread_rate);
	printf("\n\033[7m%-8s %-20s %9s %12s%42s\033[0m\n", "TID",
	       "THREADS GROWING", "FAULTED", "GROWTH", "");
	shown = nr_threads < (size_t)room ? nr_threads : (size_t)room;
	for (i = 0; i < shown; i++)
		printf("%-8u %-20s %9s %12s\n", rates[i].t->tid,
		       printable(comm, sizeof(comm), rates[i].t->comm),
		       format_size(s1, rates[i].t->faulted),
		       format_rate(r1, rates[i].rate));
	fflush(stdout);

	t->have_prev = true;
	t->prev_t = now;
	t->prev_res = tot.reserved;
	t->prev_com = tot.committed;
	t->prev_tou = tot.touched;
	free(t->prev_threads);
	t->prev_threads = threads;
	t->nr_prev_threads = nr_threads;
	mw_regions_free(t->prev_regions, t->nr_prev_regions);
	t->prev_regions = regions;
	t->nr_prev_regions = nr;
	free(order);
	free(rates);
	return 0;
}

/* Wait for the next refresh; 1 if the user asked to quit. */
static int wait_key(uint64_t ns)
{
	uint64_t end = now_ns(CLOCK_MONOTONIC) + ns;
	char c;

	while (!stop) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		uint64_t now = now_ns(CLOCK_MONOTONIC);
		int ret;

		if (now >= end)
			return 0;
		ret = poll(&pfd, tio_saved ? 1 : 0,
			   (int)((end - now + 999999) / 1000000));
		if (ret > 0 && read(STDIN_FILENO, &c, 1) == 1 &&
		    (c == 'q' || c == 'Q' || c == 3))
			return 1;
	}
	return 1;
}

int cmd_top(int argc, char **argv)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct top t = { .interval_ns = TOP_DEFAULT_INTERVAL_NS, .rows = 24 };
	bool have_pid = false, started_watch = false;
	struct sigaction sa;
	struct winsize ws;
	struct mw_watch w;
	const char *val;
	uint64_t count;
	size_t k;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if ((ret = option_value(argc, argv, &i, "--interval", &val))) {
			if (ret < 0 || parse_duration("--interval", val,
						      &t.interval_ns))
				return CMD_RET_USAGE;
			if (t.interval_ns < 10000000)
				return usage_error("--interval must be at "
						   "least 10ms");
		} else if ((ret = option_value(argc, argv, &i, "--count",
					       &val))) {
			if (ret < 0 || parse_size("--count", val, &count))
				return CMD_RET_USAGE;
			t.count = (long)(count > 1000000 ? 1000000 : count);
		} else if (!have_pid && pid_argument(argv[i])) {
			ret = parse_pid(argv[i], &t.pid);
			if (ret)
				return ret;
			have_pid = true;
		} else {
			return unknown_argument(argv[i]);
		}
	}
	if (!have_pid)
		return usage_error("missing PID; usage: " PROG_NAME
				   " top PID [--interval 1s]");
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
		t.rows = ws.ws_row;

	/* A process nobody watches yet is watched while top runs. */
	ret = mw_watch(t.pid, 0, false, &w);
	if (ret && ret != -EEXIST)
		return ret;
	started_watch = !ret;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	for (k = 0; k < ARRAY_SIZE(sigs); k++)
		sigaction(sigs[k], &sa, NULL);
	raw_terminal();
	fputs("\033[?25l", stdout);	/* hide the cursor */
	screen_set = true;

	for (;;) {
		ret = refresh(&t);
		if (ret)
			break;
		if (t.count && --t.count == 0)
			break;
		if (wait_key(t.interval_ns))
			break;
	}
	restore_terminal();
	if (ret > 0)
		ret = 0;
	if (started_watch && ret == 0)
		mw_unwatch(t.pid);
	free(t.prev_threads);
	mw_regions_free(t.prev_regions, t.nr_prev_regions);
	return ret;
}

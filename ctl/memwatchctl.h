/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memwatchctl: what the command files share. Nothing here knows about
 * libnl; nl.h is the only way to the kernel, replies.h the shape of its
 * answers.
 */
#ifndef MEMWATCHCTL_H
#define MEMWATCHCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "replies.h"

#ifndef MEMWATCHCTL_VERSION
#define MEMWATCHCTL_VERSION "0.1.0"
#endif

#define PROG_NAME "memwatchctl"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define STRINGIFY_1(x) #x
#define STRINGIFY(x) STRINGIFY_1(x)
#define PRINTF_FMT(a, b) __attribute__((format(printf, a, b)))

/*
 * A handler returns the exit status it means, having said on stderr what
 * went wrong: CMD_RET_OK, CMD_RET_FAILED (a runtime error) or
 * CMD_RET_USAGE (usage_error() says what is wrong with the arguments and
 * returns it); "run" returns its command's status. A negative errno is a
 * runtime error main() still has to explain (report_failure()): exit 1.
 */
#define CMD_RET_OK	0
#define CMD_RET_FAILED	1
#define CMD_RET_USAGE	2

struct command {
	const char *name;
	int (*handler)(int argc, char **argv);
	const char *args;
	const char *help;
	const char *details;	/* options and notes for "<command> -h" */
};

/* Lazy-region thresholds of "report"; README and --help state them. */
#define REPORT_DEFAULT_MIN_SIZE_MIB	32
#define REPORT_DEFAULT_MIN_SIZE \
	((uint64_t)REPORT_DEFAULT_MIN_SIZE_MIB << 20)
#define REPORT_DEFAULT_MAX_TOUCHED_PCT	25

int cmd_status(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_unwatch(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_compare(int argc, char **argv);

/* run.c: a command started watched, for run and record */
#include <sys/types.h>
int child_start(char **argv, uint32_t flags, bool send_flags, pid_t *pid);
void child_forward_signals(pid_t pid);
int child_signal_seen(void);
int child_exited(pid_t pid, int *status);
void child_reap(pid_t pid);

/* report.c: one process's report, fetched once and printed in any form */
enum report_format { REPORT_TABLE, REPORT_JSON, REPORT_OPENMETRICS };

struct report_opts {
	enum report_format format;
	bool threads;
	bool stacks;		/* each region's creating call stack */
	bool by_stack;		/* sums per creating call stack */
	uint64_t min_size;
	unsigned int max_pct;
};

struct report;
struct json;
struct mw_watch;

void report_opts_init(struct report_opts *o);
/* 1: argv[*i] was a report option, 0: it was not, -1: a usage error */
int report_option(int argc, char **argv, int *i, struct report_opts *o);
/* Reads an exited watch's final data, which the module then discards. */
int report_fetch(uint32_t pid, const struct report_opts *o,
		 struct report **rep);
/* A report of regions fetched or made elsewhere; it takes them over. */
int report_build(uint32_t pid, const struct mw_watch *w,
		 struct mw_region *regions, size_t nr,
		 const struct report_opts *o, struct report **rep);
int report_print(const struct report *rep, FILE *f,
		 enum report_format format);
void report_free(struct report *rep);
void region_flags_json(struct json *j, const char *key, uint32_t flags);

/* util.c: the running command, for messages */
extern const char *mw_cmd;
/* the pid the running command is about (0: none), for messages */
extern uint32_t mw_subject_pid;

int usage_error(const char *fmt, ...) PRINTF_FMT(1, 2);
void report_failure(int err);

bool pid_argument(const char *arg);
int parse_pid(const char *arg, uint32_t *pid);
int parse_size(const char *opt, const char *arg, uint64_t *bytes);
int parse_percent(const char *opt, const char *arg, unsigned int *pct);
int parse_duration(const char *opt, const char *arg, uint64_t *ns);
int parse_count(const char *opt, const char *arg, uint32_t *n);
int fill_every_option(int argc, char **argv, int *i);
int option_value(int argc, char **argv, int *i, const char *name,
		 const char **value);
int unknown_argument(const char *arg);

char *printable(char *dst, size_t size, const char *src);
uint64_t now_ns(clockid_t clk);

#define SIZE_BUF 24
char *format_size(char buf[SIZE_BUF], uint64_t bytes);
#define DURATION_BUF 32
char *format_ns(char buf[DURATION_BUF], uint64_t ns);
/*
 * A region's addresses in a table, "0x<start>-0x<end>", both zero-padded
 * to the same number of hex digits, so that a table's short addresses
 * (0xf8000000) line up with its long ones (0x7f...).
 */
#define RANGE_BUF 40
/* top's and compare's REGION column: at least two 14-digit addresses */
#define RANGE_COLUMN_MIN 33
int range_digits(const struct mw_region *r, size_t nr);
int range_width(int digits);
char *format_range(char buf[RANGE_BUF], uint64_t start, uint64_t end,
		   int digits);
bool ratio_at_most(uint64_t part, uint64_t whole, unsigned int pct);
unsigned int percent_of(uint64_t part, uint64_t whole);

/* util.c: what several commands compute from a watch and its regions */
const char *watch_state_name(uint32_t state);
/* The lazy rule: at least min_size reserved, at most max_pct touched. */
bool region_is_lazy(const struct mw_region *r, uint64_t min_size,
		    unsigned int max_pct);

struct region_totals {
	size_t regions;
	uint64_t reserved;
	uint64_t committed;
	uint64_t touched;
	uint64_t faulted;
};
void sum_regions(const struct mw_region *r, size_t nr,
		 struct region_totals *t);

/* Each thread's faulted bytes over all regions; free() the result. */
struct thread_sum {
	uint32_t tid;
	char comm[MW_NAME_LEN];
	uint64_t faulted;
};
struct thread_sum *sum_threads(const struct mw_region *r, size_t nr,
			       size_t *nr_out);

/*
 * json.c: a small streaming writer for the --json forms. Keys are written
 * as given (memwatchctl's own ASCII names); string values are escaped.
 * Output is buffered in the writer until json_end().
 */
#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	size_t len;		/* bytes in buf */
	char buf[16384];
	int depth;
	bool has_items[JSON_MAX_DEPTH];
	bool compact[JSON_MAX_DEPTH];
	char closer[JSON_MAX_DEPTH];
};

void json_init(struct json *j, FILE *f);
void json_open_object(struct json *j, const char *key, bool compact);
void json_open_array(struct json *j, const char *key, bool compact);
void json_close(struct json *j);
void json_string(struct json *j, const char *key, const char *s);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_hex(struct json *j, const char *key, uint64_t v);
void json_boolean(struct json *j, const char *key, bool v);
void json_end(struct json *j);

#endif /* MEMWATCHCTL_H */

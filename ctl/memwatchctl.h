/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memwatchctl: what the command files share. Nothing here knows about
 * libnl; nl.h is the only way to the kernel.
 */
#ifndef MEMWATCHCTL_H
#define MEMWATCHCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef MEMWATCHCTL_VERSION
#define MEMWATCHCTL_VERSION "0.1.0"
#endif

#define PROG_NAME "memwatchctl"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define STRINGIFY_1(x) #x
#define STRINGIFY(x) STRINGIFY_1(x)
#define PRINTF_FMT(a, b) __attribute__((format(printf, a, b)))

/*
 * Handlers return 0, a negative errno (a runtime error: exit status 1, one
 * line on stderr saying what to do), or CMD_RET_USAGE (the arguments were
 * wrong: exit status 2). A handler that finds a bad value says what is
 * wrong with usage_error() and returns its result; otherwise main() prints
 * the command's synopsis.
 */
#define CMD_RET_USAGE 1
/* A runtime error the handler has already explained on stderr: exit 1. */
#define CMD_RET_FAILED 3

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

/*
 * A handler that must exit with a status of its own (run: the command's)
 * sets this and returns 0; -1 means "0".
 */
extern int mw_exit_status;

/* run.c: a command started watched, for run and record */
#include <sys/types.h>
int child_start(char **argv, uint32_t flags, bool send_flags, pid_t *pid);
void child_forward_signals(pid_t pid);
int child_signal_seen(void);
int child_exited(pid_t pid, int *status);
void child_reap(pid_t pid);

/* record.c: each thread's faulted bytes summed over the regions */
struct mw_region;
struct thread_sum {
	uint32_t tid;
	char comm[64];
	uint64_t faulted;
};
struct thread_sum *sum_threads(const struct mw_region *r, size_t nr,
			       size_t *nr_out);

/* report.c: one process's report, fetched once and printed in any form */
enum report_format { REPORT_TABLE, REPORT_JSON, REPORT_OPENMETRICS };

struct report_opts {
	enum report_format format;
	bool threads;
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
const char *region_kind_name(uint32_t kind);
void region_flags_json(struct json *j, const char *key, uint32_t flags);

/* util.c: the running command, for messages */
extern const char *mw_cmd;
/* the pid the running command is about (0: none), for messages */
extern uint32_t mw_subject_pid;

int usage_error(const char *fmt, ...) PRINTF_FMT(1, 2);
bool usage_error_reported(void);
void report_failure(int err);

bool pid_argument(const char *arg);
int parse_pid(const char *arg, uint32_t *pid);
int parse_size(const char *opt, const char *arg, uint64_t *bytes);
int parse_percent(const char *opt, const char *arg, unsigned int *pct);
int parse_duration(const char *opt, const char *arg, uint64_t *ns);
int option_value(int argc, char **argv, int *i, const char *name,
		 const char **value);
int unknown_argument(const char *arg);

char *printable(char *dst, size_t size, const char *src);

#define SIZE_BUF 24
char *format_size(char buf[SIZE_BUF], uint64_t bytes);
#define DURATION_BUF 32
char *format_ns(char buf[DURATION_BUF], uint64_t ns);
bool ratio_at_most(uint64_t part, uint64_t whole, unsigned int pct);
unsigned int percent_of(uint64_t part, uint64_t whole);

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

// SPDX-License-Identifier: GPL-2.0
/*
 * memwatchctl: the command table and dispatch. Each command lives in its
 * group's file (status.c, watch.c, report.c); nl.c talks to the kernel.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/memwatch.h>

#include "memwatchctl.h"
#include "nl.h"

#define REPORT_OPTIONS_HELP \
	"  --min-size SIZE        lazy regions reserve at least SIZE bytes\n" \
	"                         (suffix K, M or G, binary units; default " \
	STRINGIFY(REPORT_DEFAULT_MIN_SIZE_MIB) "M)\n" \
	"  --max-touched-pct N    lazy regions have at most N% of their\n" \
	"                         reserved bytes touched (0-100; default " \
	STRINGIFY(REPORT_DEFAULT_MAX_TOUCHED_PCT) ")\n" \
	"  --threads              show the threads whose page faults filled\n" \
	"                         each region, most first\n" \
	"  --stacks               show the call stack that created each\n" \
	"                         region and the sampled stacks of the\n" \
	"                         faults that filled it\n" \
	"  --by-stack             sum regions per creating call stack and\n" \
	"                         faulted bytes per filling call stack\n" \
	"  --max-frames N         frames shown per call stack (1-1024;\n" \
	"                         default 64)\n" \
	"\n" \
	"A region is lazy when reserved >= SIZE and touched <= N% of\n" \
	"reserved: address space set aside but barely used, like a glibc\n" \
	"malloc arena. Regions are listed most touched first, so the ones\n" \
	"holding physical memory come at the top.\n"

static const struct command commands[] = {
	{ "status", cmd_status, "[--json]",
	  "Show module status and probes",
	  "Options:\n"
	  "  --json    print the status as one JSON object\n" },
	{ "watch", cmd_watch,
	  "PID [--existing-ok] [--no-stacks] [--fill-every N]",
	  "Start tracking a process",
	  "Options:\n"
	  "  --existing-ok    succeed if PID is watched already\n"
	  "  --no-stacks      take no call stacks (report --stacks shows\n"
	  "                   none; the mapping path costs less)\n"
	  "  --fill-every N   sample the call stack of each thread's first\n"
	  "                   fault in a region and of one fault in N\n"
	  "                   (default: the module's fill_every, 64); 0: none\n"
	  "\n"
	  "All threads of the process are tracked, including later ones. Its\n"
	  "existing anonymous mappings become regions of kind 'preexisting'.\n" },
	{ "unwatch", cmd_unwatch, "PID",
	  "Stop tracking a process, or drop an exited one's data",
	  NULL },
	{ "list", cmd_list, "[--json]",
	  "List watched processes and their totals",
	  "Options:\n"
	  "  --json    print the list as one JSON object\n" },
	{ "report", cmd_report,
	  "PID [--json|--format FORMAT] [--min-size SIZE] "
	  "[--max-touched-pct N] [--threads] [--stacks] [--by-stack]",
	  "Show a watched process's regions, lazy ones marked",
	  "Options:\n"
	  "  --json                 print the report as one JSON object\n"
	  "  --format FORMAT        table (default), json, or openmetrics:\n"
	  "                         OpenMetrics text for node_exporter's\n"
	  "                         textfile collector (totals, and each\n"
	  "                         region of at least --min-size)\n"
	  REPORT_OPTIONS_HELP },
	{ "run", cmd_run,
	  "[--follow-forks] [--no-stacks] [--fill-every N] [-o FILE] [--json] "
	  "[report options] "
	  "-- CMD [ARGS...]",
	  "Run a command watched from its start; report on it at its exit",
	  "Options:\n"
	  "  --follow-forks         watch the processes CMD forks too, and\n"
	  "                         report each one\n"
	  "  --no-stacks            take no call stacks\n"
	  "  --fill-every N         sample one fault stack in N (see watch)\n"
	  "  -o, --output FILE      also write the report as JSON to FILE\n"
	  "  --json                 print the report as JSON\n"
	  REPORT_OPTIONS_HELP
	  "\n"
	  "CMD waits until the watch exists, then execs: the regions its\n"
	  "loader maps and its very first mmap are seen. SIGINT, SIGTERM,\n"
	  "SIGHUP and SIGQUIT sent to " PROG_NAME " go on to CMD. The exit\n"
	  "status is CMD's (128+N if signal N killed it), or 1 if the report\n"
	  "could not be read.\n" },
	{ "events", cmd_events, "[PID] [--json] [--stacks]",
	  "Stream the module's events as they happen",
	  "Options:\n"
	  "  --json    one JSON object per line\n"
	  "  --stacks  each region_new event with the call stack that made\n"
	  "            the region (fetched and unwound when it comes; a process\n"
	  "            whose final report was read meanwhile has none to fetch)\n"
	  "\n"
	  "Events are region_new, region_gone, exec, exit and fork, for every\n"
	  "watched process, or for PID (and the children it forks) only; with\n"
	  "PID the stream ends when PID exits. Ctrl-C ends it otherwise.\n" },
	{ "top", cmd_top, "PID [--interval DURATION] [--count N]",
	  "Live view: totals, growth, largest regions, fastest threads",
	  "Options:\n"
	  "  --interval DURATION    time between refreshes (ms or s; default 1s)\n"
	  "  --count N              quit after N refreshes\n"
	  "\n"
	  "q or Ctrl-C quits. A PID nobody watches is watched while top runs.\n" },
	{ "record", cmd_record,
	  "(PID | -- CMD [ARGS...]) -o FILE [--interval DURATION] "
	  "[--duration DURATION]",
	  "Record a timeline of a process, one JSON line per sample",
	  "Options:\n"
	  "  -o, --output FILE      the capture (JSON lines; - for stdout)\n"
	  "  --interval DURATION    time between samples (default 100ms)\n"
	  "  --duration DURATION    stop after this long (default: when the\n"
	  "                         process exits, or at Ctrl-C)\n"
	  "\n"
	  "Each line has timestamp_ns, elapsed_ns, totals, and per-region and\n"
	  "per-thread counts. A CMD is started watched as 'run' starts it;\n"
	  "a PID nobody watches is watched for the recording.\n" },
	{ "plot", cmd_plot, "CAPTURE -o FILE.svg",
	  "Draw a capture as a self-contained SVG",
	  "Options:\n"
	  "  -o, --output FILE      the SVG to write (- for stdout)\n"
	  "\n"
	  "Reserved, committed and touched bytes over time, the threads that\n"
	  "faulted in the most, and the largest regions, named.\n" },
	{ "compare", cmd_compare, "PID [--json]",
	  "Compare memwatch's regions with /proc/PID/smaps",
	  "Options:\n"
	  "  --json    print the comparison as one JSON object\n"
	  "\n"
	  "Each region's reserved, committed and touched bytes beside the\n"
	  "sizes and Rss of the smaps VMAs inside its extents; '!' marks a\n"
	  "difference. Exits 1 if any region still differs after three\n"
	  "looks 200ms apart (a process at rest must agree).\n" },
};

static void show_usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: " PROG_NAME " [-d|--debug] <command> [<args>]\n"
		"       " PROG_NAME " -h|--help|help [<command>]\n"
		"       " PROG_NAME " --version\n"
		"\n"
		"Shows how much of each anonymous memory region of a process is\n"
		"reserved, committed and touched, and which threads touched it,\n"
		"as the memwatch kernel module tracks it.\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-8s %s\n           %s\n", commands[i].name,
			commands[i].args, commands[i].help);
	fprintf(f,
		"\n"
		"'" PROG_NAME " <command> -h' describes a command's options.\n"
		"  -d, --debug    dump the netlink messages to stderr\n"
		"Exit status: 0 success, 1 runtime error, 2 usage error.\n");
}

static void show_command_usage(FILE *f, const struct command *c)
{
	fprintf(f, "Usage: " PROG_NAME " %s %s\n\n%s.\n", c->name, c->args,
		c->help);
	if (c->details)
		fprintf(f, "\n%s", c->details);
}

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static bool is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

/* Output that could not be written is an error, e.g. a closed pipe. */
static int finish_output(int status)
{
	errno = 0;
	if (fflush(stdout) || ferror(stdout) || fclose(stdout)) {
		if (status == 0)
			fprintf(stderr, PROG_NAME ": %s: cannot write the "
				"output: %s\n", mw_cmd,
				errno ? strerror(errno) : "write error");
		return 1;
	}
	return status;
}

int main(int argc, char **argv)
{
	const struct command *c;
	int i, ret;

	/* A closed stdout must be an error message, not a silent death. */
	signal(SIGPIPE, SIG_IGN);

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-d") || !strcmp(argv[i], "--debug")) {
			mw_nl_set_debug(true);
		} else if (is_help(argv[i])) {
			show_usage(stdout);
			return finish_output(0);
		} else if (!strcmp(argv[i], "--version")) {
			printf(PROG_NAME " %s (memwatch protocol %d)\n",
			       MEMWATCHCTL_VERSION, MEMWATCH_GENL_VERSION);
			return finish_output(0);
		} else {
			fprintf(stderr, PROG_NAME ": unknown option '%s'; see '"
				PROG_NAME " --help'\n", argv[i]);
			return 2;
		}
	}

	/* No command: the list of them, as a usage error (ip and perf do so). */
	if (i == argc) {
		show_usage(stderr);
		return 2;
	} else if (!strcmp(argv[i], "help")) {
		if (i + 1 == argc) {
			show_usage(stdout);
			return finish_output(0);
		}
		c = find_command(argv[i + 1]);
		if (!c) {
			fprintf(stderr, "Invalid subcommand: %s\n", argv[i + 1]);
			show_usage(stderr);
			return 2;
		}
		show_command_usage(stdout, c);
		return finish_output(0);
	}

	c = find_command(argv[i]);
	if (!c) {
		fprintf(stderr, "Invalid subcommand: %s\n", argv[i]);
		show_usage(stderr);
		return 2;
	}
	mw_cmd = c->name;
	argc -= i;
	argv += i;

	/* After "--" come a command's own arguments (run, record). */
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (is_help(argv[i])) {
			show_command_usage(stdout, c);
			return finish_output(0);
		}
	}

	ret = c->handler(argc, argv);
	mw_nl_close();

	if (ret < 0) {
		report_failure(ret);
		ret = CMD_RET_FAILED;
	}
	return finish_output(ret);
}

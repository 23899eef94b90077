// SPDX-License-Identifier: GPL-2.0
/*
 * watch, unwatch, list: choosing the processes memwatch tracks
 * (MEMWATCH_CMD_WATCH, _UNWATCH, _GET_WATCHES).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <linux/memwatch.h>

#include "memwatchctl.h"
#include "nl.h"

int cmd_watch(int argc, char **argv)
{
	char reserved[SIZE_BUF], committed[SIZE_BUF], touched[SIZE_BUF];
	char comm[MW_NAME_LEN];
	bool existing_ok = false, no_stacks = false, have_pid = false;
	uint32_t flags;
	struct mw_watch w;
	uint32_t pid = 0;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--existing-ok")) {
			existing_ok = true;
		} else if (!strcmp(argv[i], "--no-stacks")) {
			no_stacks = true;
		} else if ((ret = fill_every_option(argc, argv, &i))) {
			if (ret < 0)
				return CMD_RET_USAGE;
		} else if (!have_pid && pid_argument(argv[i])) {
			ret = parse_pid(argv[i], &pid);
			if (ret)
				return ret;
			have_pid = true;
		} else {
			return unknown_argument(argv[i]);
		}
	}
	if (!have_pid)
		return usage_error("missing PID; usage: " PROG_NAME
				   " watch PID [--existing-ok] [--no-stacks] "
				   "[--fill-every N]");

	/* The flags attribute goes out only when an option asks for it. */
	flags = (existing_ok ? MEMWATCH_WATCH_F_EXISTING_OK : 0) |
		(no_stacks ? MEMWATCH_WATCH_F_NO_STACKS : 0);
	ret = mw_watch(pid, flags, flags != 0, &w);
	if (ret)
		return ret;

	printf("watching pid %u", pid);
	if (w.comm[0])
		printf(" (%s): %u regions, %s reserved, %s committed, %s touched",
		       printable(comm, sizeof(comm), w.comm), w.regions,
		       format_size(reserved, w.reserved),
		       format_size(committed, w.committed),
		       format_size(touched, w.touched));
	printf("\n");
	return 0;
}

int cmd_unwatch(int argc, char **argv)
{
	uint32_t pid = 0;
	int ret;

	if (argc != 2)
		return argc < 2 ? usage_error("missing PID; usage: " PROG_NAME
					      " unwatch PID")
				: unknown_argument(argv[2]);
	ret = parse_pid(argv[1], &pid);
	if (ret)
		return ret;
	ret = mw_unwatch(pid);
	if (ret)
		return ret;
	printf("stopped watching pid %u\n", pid);
	return 0;
}

static void print_list_json(const struct mw_watch *w, size_t nr)
{
	struct json j;
	size_t i;

	json_init(&j, stdout);
	json_open_object(&j, NULL, false);
	json_open_array(&j, "watches", false);
	for (i = 0; i < nr; i++) {
		json_open_object(&j, NULL, false);
		json_u64(&j, "pid", w[i].pid);
		json_string(&j, "comm", w[i].comm);
		json_string(&j, "state", watch_state_name(w[i].state));
		json_u64(&j, "watch_ns", w[i].ns);
		json_boolean(&j, "existing_ok",
			  w[i].flags & MEMWATCH_WATCH_F_EXISTING_OK);
		json_u64(&j, "regions", w[i].regions);
		json_u64(&j, "reserved_bytes", w[i].reserved);
		json_u64(&j, "committed_bytes", w[i].committed);
		json_u64(&j, "touched_bytes", w[i].touched);
		json_u64(&j, "peak_touched_bytes", w[i].peak_touched);
		json_u64(&j, "faulted_bytes", w[i].faulted);
		json_u64(&j, "execs", w[i].execs);
		json_u64(&j, "dropped_regions", w[i].dropped_regions);
		json_u64(&j, "dropped_events", w[i].dropped_events);
		json_close(&j);
	}
	json_end(&j);
}

static void print_list_table(const struct mw_watch *w, size_t nr)
{
	char res[SIZE_BUF], com[SIZE_BUF], tou[SIZE_BUF], peak[SIZE_BUF];
	char fau[SIZE_BUF], age[DURATION_BUF], pid[16], comm[MW_NAME_LEN];
	int comm_width = (int)strlen("COMM");
	size_t i;

	if (!nr) {
		printf("no process is watched; start with: " PROG_NAME
		       " watch PID\n");
		return;
	}
	for (i = 0; i < nr; i++)
		if ((int)strlen(w[i].comm) > comm_width)
			comm_width = (int)strlen(w[i].comm);

	printf("%7s  %-*s  %-6s %7s %9s %9s %9s %9s %9s %12s %9s %9s\n",
	       "PID", comm_width, "COMM", "STATE", "REGIONS", "RESERVED",
	       "COMMITTED", "TOUCHED", "PEAK", "FAULTED", "WATCHED",
	       "DROP-REG", "DROP-EVT");
	for (i = 0; i < nr; i++) {
		/* pid 0: the process exited and its pid is gone */
		if (w[i].pid)
			snprintf(pid, sizeof(pid), "%u", w[i].pid);
		else
			snprintf(pid, sizeof(pid), "-");
		printf("%7s  %-*s  %-6s %7u %9s %9s %9s %9s %9s %12s %9" PRIu64
		       " %9" PRIu64 "\n",
		       pid, comm_width, printable(comm, sizeof(comm), w[i].comm),
		       watch_state_name(w[i].state),
		       w[i].regions, format_size(res, w[i].reserved),
		       format_size(com, w[i].committed),
		       format_size(tou, w[i].touched),
		       format_size(peak, w[i].peak_touched),
		       format_size(fau, w[i].faulted), format_ns(age, w[i].ns),
		       w[i].dropped_regions, w[i].dropped_events);
	}
}

int cmd_list(int argc, char **argv)
{
	struct mw_watch *w;
	bool json = false;
	size_t nr;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else
			return unknown_argument(argv[i]);
	}

	ret = mw_get_watches(0, &w, &nr);
	if (ret)
		return ret;
	if (json)
		print_list_json(w, nr);
	else
		print_list_table(w, nr);
	free(w);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * events: the module's notifications (regions created and gone, exec,
 * exit, fork) as they come, one line each, or one JSON object a line.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <string.h>

#include <linux/memwatch.h>

#include "memwatchctl.h"
#include "nl.h"

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

struct events {
	uint32_t pid;		/* 0: every watched process */
	bool json;
	bool pid_exited;
	struct json j;
};

static const char *event_name(uint32_t type)
{
	switch (type) {
	case MEMWATCH_EVENT_REGION_NEW:
		return "region_new";
	case MEMWATCH_EVENT_REGION_GONE:
		return "region_gone";
	case MEMWATCH_EVENT_EXEC:
		return "exec";
	case MEMWATCH_EVENT_EXIT:
		return "exit";
	case MEMWATCH_EVENT_FORK:
		return "fork";
	default:
		return "unknown";
	}
}

static bool is_region_event(uint32_t type)
{
	return type == MEMWATCH_EVENT_REGION_NEW ||
	       type == MEMWATCH_EVENT_REGION_GONE;
}

static void print_json(struct events *e, const struct mw_event *ev)
{
	struct json *j = &e->j;

	json_open_object(j, NULL, true);
	json_string(j, "type", event_name(ev->type));
	json_u64(j, "type_id", ev->type);
	json_u64(j, "pid", ev->pid);
	json_u64(j, "tid", ev->tid);
	json_string(j, "comm", ev->comm);
	json_u64(j, "ns", ev->ns);
	if (is_region_event(ev->type)) {
		json_u64(j, "region_id", ev->region_id);
		json_hex(j, "start", ev->start);
		json_hex(j, "end", ev->end);
		json_u64(j, "size_bytes", ev->end - ev->start);
		json_string(j, "kind", mw_region_kind_name(ev->kind));
		region_flags_json(j, "flags", ev->flags);
	}
	if (ev->type == MEMWATCH_EVENT_FORK)
		json_u64(j, "ppid", ev->ppid);
	json_end(j);
}

static void print_line(const struct mw_event *ev)
{
	char when[DURATION_BUF], size[SIZE_BUF], comm[MW_NAME_LEN];

	printf("+%s pid %u tid %u %s: %s", format_ns(when, ev->ns), ev->pid,
	       ev->tid, ev->comm[0] ? printable(comm, sizeof(comm), ev->comm)
				    : "-", event_name(ev->type));
	if (is_region_event(ev->type))
		printf(" 0x%" PRIx64 "-0x%" PRIx64 " %s %s", ev->start,
		       ev->end, format_size(size, ev->end - ev->start),
		       mw_region_kind_name(ev->kind));
	if (ev->type == MEMWATCH_EVENT_FORK)
		printf(" (child of %u)", ev->ppid);
	printf("\n");
}

static void on_event(const struct mw_event *ev, void *arg)
{
	struct events *e = arg;

	if (e->pid && ev->pid != e->pid &&
	    !(ev->type == MEMWATCH_EVENT_FORK && ev->ppid == e->pid))
		return;
	if (e->json)
		print_json(e, ev);
	else
		print_line(ev);
	if (e->pid && ev->pid == e->pid && ev->type == MEMWATCH_EVENT_EXIT)
		e->pid_exited = true;
}

int cmd_events(int argc, char **argv)
{
	struct events e = { 0 };
	struct sigaction sa;
	bool have_pid = false;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			e.json = true;
		} else if (!have_pid && pid_argument(argv[i])) {
			ret = parse_pid(argv[i], &e.pid);
			if (ret)
				return ret;
			have_pid = true;
		} else {
			return unknown_argument(argv[i]);
		}
	}
	json_init(&e.j, stdout);

	/* Ctrl-C and SIGTERM end the stream cleanly, with status 0. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	ret = mw_events_open();
	if (ret)
		return ret;
	/* A line at a time, so that a pipe sees each event at once. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	while (!stop && !e.pid_exited) {
		struct pollfd pfd = { .fd = mw_events_fd(), .events = POLLIN };

		/*
		 * PID may have exited before the subscription, or its exit
		 * event may be lost: look once a second.
		 */
		if (e.pid && kill((pid_t)e.pid, 0) && errno == ESRCH) {
			mw_events_read(on_event, &e);
			break;
		}
		ret = poll(&pfd, 1, e.pid ? 1000 : -1);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		ret = mw_events_read(on_event, &e);
		if (ret == -ENOBUFS) {
			fprintf(stderr, PROG_NAME ": events: warning: events "
				"were lost (the socket overflowed); read "
				"faster, or use '" PROG_NAME " report'\n");
		} else if (ret) {
			return ret;
		}
		if (ferror(stdout))
			return 0;	/* main() reports the write error */
	}
	return 0;
}

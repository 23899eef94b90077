// SPDX-License-Identifier: GPL-2.0
/*
 * events: the module's notifications (regions created and gone, exec,
 * exit, fork) as they come, one line each, or one JSON object a line.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <linux/memwatch.h>

#include "memwatchctl.h"
#include "nl.h"
#include "stacks.h"

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

/* A watched process's call stacks, fetched when an event first names one. */
struct pid_stacks {
	uint32_t pid;
	struct mw_stack_set *set;
};

struct events {
	uint32_t pid;		/* 0: every watched process */
	bool json;
	bool stacks;		/* --stacks: region_new events carry theirs */
	bool pid_exited;
	struct json j;
	struct pid_stacks *sets;
	size_t nr_sets;
};

/*
 * The call stack of a region_new event, unwound: from the set of its
 * process, fetched again when it does not have the id yet. NULL when the
 * event has none, or the watch is gone (an exited process read by
 * someone else).
 */
static const struct mw_stack *event_stack(struct events *e,
					  const struct mw_event *ev)
{
	struct pid_stacks *ps = NULL;
	const struct mw_stack *st;
	size_t i;

	if (!e->stacks || ev->type != MEMWATCH_EVENT_REGION_NEW ||
	    !ev->stack_id)
		return NULL;
	for (i = 0; i < e->nr_sets; i++)
		if (e->sets[i].pid == ev->pid)
			ps = &e->sets[i];
	if (!ps) {
		struct pid_stacks *p = realloc(e->sets, (e->nr_sets + 1) *
					       sizeof(*p));

		if (!p)
			return NULL;
		e->sets = p;
		ps = &e->sets[e->nr_sets];
		ps->pid = ev->pid;
		if (mw_stack_set_fetch(ev->pid, &ps->set))
			return NULL;
		e->nr_sets++;
	}
	st = mw_stack_set_find(ps->set, ev->stack_id);
	if (!st && !mw_stack_set_refresh(ps->set, ev->pid))
		st = mw_stack_set_find(ps->set, ev->stack_id);
	return st;
}

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
	if (ev->stack_id) {
		const struct mw_stack *st = event_stack(e, ev);

		json_u64(j, "stack_id", ev->stack_id);
		if (st)
			mw_stack_json(j, "stack", st);
	}
	if (ev->type == MEMWATCH_EVENT_FORK)
		json_u64(j, "ppid", ev->ppid);
	json_end(j);
}

static void print_line(struct events *e, const struct mw_event *ev)
{
	const struct mw_stack *st = event_stack(e, ev);
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
	if (st)
		mw_stack_print(stdout, st, 4, "created at:");
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
		print_line(e, ev);
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
		} else if (!strcmp(argv[i], "--stacks")) {
			e.stacks = true;
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
			ret = -errno;
			goto out;
		}
		ret = mw_events_read(on_event, &e);
		if (ret == -ENOBUFS) {
			fprintf(stderr, PROG_NAME ": events: warning: events "
				"were lost (the socket overflowed); read "
				"faster, or use '" PROG_NAME " report'\n");
		} else if (ret) {
			goto out;
		}
		if (ferror(stdout))
			break;	/* main() reports the write error */
	}
	ret = 0;
out:
	for (i = 0; i < (int)e.nr_sets; i++)
		mw_stack_set_free(e.sets[i].set);
	free(e.sets);
	return ret;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How events leave the tracking core: the one interface from the core to
 * the netlink family. The core fills a struct memwatch_event and posts it;
 * events.c queues it and sends it to the "events" multicast group from
 * process context. Both calls may be made where nothing may sleep.
 */
#ifndef _MEMWATCH_EVENT_H
#define _MEMWATCH_EVENT_H

#include <linux/sched.h>
#include <linux/types.h>

/**
 * struct memwatch_event - an event on its way to the "events" group
 * @type: enum memwatch_event_type
 * @pid: the process, in the watcher's pid namespace
 * @tid: the thread that caused it, 0 if none
 * @comm: that thread's name
 * @ns: time since the watch started
 * @region_id: region events: the region
 * @start: region events: first byte of the range
 * @end: region events: one past its last byte
 * @kind: region events: enum memwatch_region_kind
 * @flags: region events: MEMWATCH_REGION_F_*
 * @stack_id: region events: the creating call stack's id, 0 if none
 * @ppid: fork events: the parent
 */
struct memwatch_event {
	u32 type;
	pid_t pid, tid;
	char comm[TASK_COMM_LEN];
	u64 ns;
	u64 region_id, start, end;
	u32 kind, flags;
	u64 stack_id;
	pid_t ppid;
};

bool memwatch_event_wanted(void);
bool memwatch_event_post(const struct memwatch_event *ev);

#endif /* _MEMWATCH_EVENT_H */

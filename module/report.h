/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reports: a consistent copy of one watch, with the live figures read from
 * the process's VMAs and page tables, and the module-wide figures, for the
 * netlink replies. report.c implements them, in process context.
 */
#ifndef _MEMWATCH_REPORT_H
#define _MEMWATCH_REPORT_H

#include <linux/sched.h>
#include <linux/types.h>

#include "region.h"

struct memwatch_target;
struct pid_namespace;

/**
 * struct memwatch_rep_thread - one thread's share of a region's faults
 * @tid: thread id in the watcher's pid namespace
 * @comm: the thread's latest name
 * @faulted: bytes its faults mapped
 */
struct memwatch_rep_thread {
	pid_t tid;
	char comm[TASK_COMM_LEN];
	u64 faulted;
};

/**
 * struct memwatch_rep_region - a region as reported
 * @id: unique within the watch
 * @start: lowest address
 * @end: end of the highest extent
 * @reserved: bytes mapped now
 * @committed: bytes mapped now with some access
 * @touched: bytes backed by resident pages now
 * @peak: largest @touched seen
 * @faulted: bytes of new anonymous pages faults mapped
 * @other_faulted: faulted bytes of threads past the attribution limit
 * @created_ns: creation time, since the watch started
 * @kind: enum memwatch_region_kind
 * @flags: MEMWATCH_REGION_F_*
 * @creator_tid: creating thread, 0 if unknown
 * @creator_comm: its name when it created the region
 * @creator_last_comm: its latest name
 * @stack_id: its creating call stack, 0 if none
 * @fills: sampled filling stacks, stack id 0 past the last
 * @fill_other: bytes of samples not in @fills
 * @first_thread: index of its first entry in &memwatch_report.threads
 * @nr_threads: entries there, most faulted first
 * @first_extent: index of its first entry in &memwatch_report.extents
 * @nr_extents: entries there, lowest first
 */
struct memwatch_rep_region {
	u64 id;
	u64 start, end;
	u64 reserved, committed, touched, peak, faulted, other_faulted;
	u64 created_ns;
	u32 kind, flags;
	pid_t creator_tid;
	char creator_comm[TASK_COMM_LEN];
	char creator_last_comm[TASK_COMM_LEN];
	u64 stack_id;
	struct mw_fill fills[MW_FILL_SLOTS];
	u64 fill_other;
	u32 first_thread, nr_threads;
	u32 first_extent, nr_extents;
};

/**
 * struct memwatch_rep_extent - an address range a region owns
 * @start: first byte
 * @end: one past the last byte
 */
struct memwatch_rep_extent {
	u64 start, end;
};

/**
 * struct memwatch_report - a consistent copy of one watch
 * @pid: in the pid namespace of the caller that asked for the report
 * @comm: the process name
 * @state: enum memwatch_watch_state
 * @flags: MEMWATCH_WATCH_F_* given at watch time
 * @watch_ns: time since the watch started (frozen at exit)
 * @execs: execs seen
 * @dropped_regions: mappings memwatch could not track
 * @dropped_events: events not delivered
 * @fill_every: fault stacks sampled, one in this many
 * @nr_stacks: call stacks held
 * @dropped_stacks: call stacks and code maps not kept
 * @reserved: sum over regions
 * @committed: sum over regions
 * @touched: sum over regions
 * @peak: largest total touched bytes seen
 * @faulted: sum over regions
 * @nr_regions: entries in @regions, lowest address first
 * @regions: the regions (only with details)
 * @nr_threads: entries in @threads
 * @threads: per-thread attribution of all regions
 * @nr_extents: entries in @extents
 * @extents: the address ranges of all regions
 */
struct memwatch_report {
	pid_t pid;
	char comm[TASK_COMM_LEN];
	u32 state, flags;
	u64 watch_ns;
	u32 execs;
	u64 dropped_regions, dropped_events;
	u32 nr_stacks, fill_every;
	u64 dropped_stacks;
	u64 reserved, committed, touched, peak, faulted;
	u32 nr_regions;
	struct memwatch_rep_region *regions;
	u32 nr_threads;
	struct memwatch_rep_thread *threads;
	u32 nr_extents;
	struct memwatch_rep_extent *extents;
};

struct memwatch_report *memwatch_report(struct memwatch_target *t,
					struct pid_namespace *ns,
					bool details);
void memwatch_report_free(struct memwatch_report *rep);

/**
 * struct memwatch_stats - module-wide figures for GET_STATUS
 * @watches: watches held, live and exited
 * @regions: regions held over all watches
 * @mem_bytes: memory held for watches, regions, extents and attribution
 */
struct memwatch_stats {
	u32 watches;
	u64 regions;
	u64 mem_bytes;
};

void memwatch_stats(struct memwatch_stats *st);

#endif /* _MEMWATCH_REPORT_H */

/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _MEMWATCH_TRACK_H
#define _MEMWATCH_TRACK_H

#include <linux/atomic.h>
#include <linux/hashtable.h>
#include <linux/types.h>
#include <linux/sched.h>

struct mm_struct;
struct vm_area_struct;
struct pid_namespace;
struct memwatch_target;

int memwatch_track_init(void);
void memwatch_track_uninit(void);
bool memwatch_track_watched(struct mm_struct *mm);

/*
 * Hooks called from probe handlers: preemption is off, nothing may sleep.
 * Each one returns at once unless @mm belongs to a watched process. The
 * VMA-level hooks run with @mm's mmap_lock held for writing by current,
 * except memwatch_track_mremap_grown().
 */
void memwatch_track_mmap_begin(struct mm_struct *mm, unsigned long addr,
			       unsigned long len, unsigned long flags);
void memwatch_track_mmap_end(struct mm_struct *mm, unsigned long ret,
			     unsigned long len, unsigned long flags);
void memwatch_track_unmap(struct mm_struct *mm, unsigned long start,
			  unsigned long end);
void memwatch_track_unmap_failed(struct mm_struct *mm);
void memwatch_track_brk(struct mm_struct *mm, unsigned long addr,
			unsigned long len);
void memwatch_track_move(struct vm_area_struct *vma, unsigned long old_addr,
			 unsigned long old_len, unsigned long new_addr,
			 unsigned long new_len, bool dontunmap);
void memwatch_track_move_failed(struct mm_struct *mm);
void memwatch_track_mremap_grown(struct mm_struct *mm, unsigned long addr,
				 unsigned long old_len, unsigned long new_len);
void memwatch_track_exit(struct mm_struct *mm);
void memwatch_track_exec(struct task_struct *task);
void memwatch_track_fork(struct task_struct *parent, struct task_struct *child);
struct memwatch_target *memwatch_track_target(struct mm_struct *mm);

/* The live watches, keyed by mm; written under track.c's lock, read in RCU. */
#define MEMWATCH_HASH_BITS 7
extern struct hlist_head memwatch_hash[1 << MEMWATCH_HASH_BITS];

/*
 * Whether @mm may belong to a live watch: its bucket of the hash is not
 * empty. The hooks' first test, one multiply and one load, taken without
 * RCU: a hint that the lookup under RCU confirms. With one process
 * watched, one unwatched mm in 128 goes on to the lookup.
 */
static inline bool memwatch_track_maybe(const struct mm_struct *mm)
{
	return !hlist_empty(&memwatch_hash[hash_min((unsigned long)mm,
						     MEMWATCH_HASH_BITS)]);
}

void memwatch_track_page_add(struct memwatch_target *t,
			     struct vm_area_struct *vma, unsigned long addr,
			     unsigned long nr, bool new);
void memwatch_track_page_remove(struct memwatch_target *t,
				struct vm_area_struct *vma, unsigned long addr,
				unsigned long nr);

/**
 * struct memwatch_rep_thread - one thread's share of a region's faults
 * @tid: thread id in the watcher's pid namespace
 * @comm: the thread's name at its latest fault in the region
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
 * @creator_comm: its name
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
	u64 reserved, committed, touched, peak, faulted;
	u32 nr_regions;
	struct memwatch_rep_region *regions;
	u32 nr_threads;
	struct memwatch_rep_thread *threads;
	u32 nr_extents;
	struct memwatch_rep_extent *extents;
};

/* Process-context API for netlink.c. */
struct memwatch_target *memwatch_target_get(pid_t nr, struct pid_namespace *ns);
void memwatch_target_put(struct memwatch_target *t);
struct memwatch_target *memwatch_target_get_nth(unsigned long idx);
bool memwatch_target_exited(struct memwatch_target *t);
int memwatch_target_may_read(struct memwatch_target *t);
int memwatch_watch(struct task_struct *task, u32 flags);
int memwatch_unwatch(struct memwatch_target *t);
struct memwatch_report *memwatch_report(struct memwatch_target *t,
					struct pid_namespace *ns,
					bool details);
void memwatch_report_free(struct memwatch_report *rep);
unsigned long memwatch_generation(void);

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
extern unsigned int memwatch_max_watches;
extern unsigned int memwatch_max_regions;
extern unsigned int memwatch_max_threads_per_region;

#endif /* _MEMWATCH_TRACK_H */

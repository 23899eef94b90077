/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Watches: a watched process (struct memwatch_target), how one is found
 * from an address space, and its life from WATCH to the last reference:
 * start, exec, fork, exit, unwatch. watch.c implements it.
 *
 * Locking: watch.c's mw_lock protects the set of watches (the hash of live
 * ones, the list of all); each watch's @lock protects its regions and
 * counters. mw_lock may be taken before a watch's lock, never after. Hooks
 * find a watch under rcu_read_lock() and may use it until they drop it; a
 * reference (memwatch_target_get*(), memwatch_target_put()) keeps it in
 * process context.
 */
#ifndef _MEMWATCH_WATCH_H
#define _MEMWATCH_WATCH_H

#include <linux/hashtable.h>
#include <linux/llist.h>
#include <linux/rbtree.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include "stack.h"

struct mm_struct;
struct mw_attr;
struct mw_extent;
struct mw_pending;
struct mw_region;
struct pid;
struct pid_namespace;

/**
 * struct memwatch_target - a watched process
 * @hnode: in memwatch_hash, keyed by @mm, while the process lives
 * @node: in watch.c's list of watches (mw_targets), while the watch exists
 * @free_node: on mw_free_list once the last reference is gone
 * @ref: one for mw_targets, one per user in process context
 * @mm: the address space, a key only (never dereferenced after exit)
 * @pid: the thread group
 * @ns: the watcher's pid namespace: tids are reported in it
 * @uid: the process's real uid at watch time, for access to final data
 * @flags: MEMWATCH_WATCH_F_* given at watch time
 * @fill_every: one fault in this many has its stack sampled (0: none)
 * @state: enum memwatch_watch_state
 * @listed: on mw_targets (mw_lock)
 * @start_ns: ktime_get_ns() when the watch started
 * @end_ns: ktime_get_ns() at exit
 * @comm: process name, refreshed at exec
 * @refill: refills @attr_free from process context
 * @lock: protects everything below it
 * @extents: the regions' extents by address
 * @regions: regions in creation order
 * @heap: the brk heap region, if any
 * @stack: the main thread's stack region, if any
 * @pending: per CPU, the last page add not yet counted in the peaks
 * @attr_free: free attribution entries
 * @nr_attr_free: entries on @attr_free
 * @spare_extents: freed extents kept for reuse
 * @nr_spare_extents: extents on @spare_extents
 * @spare_regions: freed regions kept for reuse
 * @nr_spare_regions: regions on @spare_regions
 * @nr_attrs: entries in use, over all regions (sizes a report's copy)
 * @nr_extents: extents in @extents (likewise)
 * @nr_regions: regions held
 * @next_id: id of the next region
 * @gen: bumped whenever a region is freed, so reports know their copy aged
 * @live: touched bytes as page events counted them
 * @peak: largest total touched bytes seen
 * @execs: execs seen
 * @dropped_regions: mappings not tracked or tracked incompletely
 * @dropped_events: events not delivered
 * @fixed_task: task inside do_mmap(MAP_FIXED), whose implicit unmap was
 *	already accounted for by memwatch_track_mmap_begin()
 * @fixed_inside: that mapping lies inside one region and re-commits it
 * @stacks: call-stack samples, oldest first (stack.h)
 * @stack_hash: the same, by hash
 * @recent_stacks: the latest sample found or added at each hash of a
 *	program counter and stack pointer, checked before a copy (stack.c)
 * @nr_stacks: samples held
 * @next_stack_id: id of the latest sample added
 * @dropped_stacks: samples and code maps not kept
 * @code_maps: executable file mappings logged, oldest first
 * @nr_code_maps: entries on @code_maps
 * @code_ranges: the same ranges, by start, for signatures (stack.c)
 * @nr_code_ranges: entries in @code_ranges
 * @cap_code_ranges: room in @code_ranges
 * @code_lo: lowest start of @code_ranges
 * @code_hi: highest end
 * @fill_countdown: faults until the next sampled one
 */
struct memwatch_target {
	struct hlist_node hnode;
	struct list_head node;
	struct llist_node free_node;
	refcount_t ref;
	struct mm_struct *mm;
	struct pid *pid;
	struct pid_namespace *ns;
	kuid_t uid;
	u32 flags;
	u32 fill_every;
	u32 state;
	bool listed;
	u64 start_ns, end_ns;
	char comm[TASK_COMM_LEN];
	struct work_struct refill;

	/* protects the fields below */
	spinlock_t lock;
	struct rb_root extents;
	struct list_head regions;
	struct mw_region *heap, *stack;
	struct mw_pending __percpu *pending;
	struct mw_attr *attr_free;
	u32 nr_attr_free;
	struct mw_extent *spare_extents;
	u32 nr_spare_extents;
	struct list_head spare_regions;
	u32 nr_spare_regions;
	u32 nr_attrs;
	u32 nr_extents;
	u32 nr_regions;
	u64 next_id;
	u64 gen;
	s64 live;
	u64 peak;
	u32 execs;
	u64 dropped_regions, dropped_events;
	struct task_struct *fixed_task;
	bool fixed_inside;
	struct list_head stacks;
	DECLARE_HASHTABLE(stack_hash, 8);
	struct mw_stack *recent_stacks[1 << MW_RECENT_STACKS_BITS];
	u32 nr_stacks;
	u64 next_stack_id;
	u64 dropped_stacks;
	struct list_head code_maps;
	u32 nr_code_maps;
	struct mw_code_range *code_ranges;
	u32 nr_code_ranges, cap_code_ranges;
	unsigned long code_lo, code_hi;
	u32 fill_countdown;
};

/* The live watches, keyed by mm; written under mw_lock, read under RCU. */
#define MEMWATCH_HASH_BITS 7
extern struct hlist_head memwatch_hash[1 << MEMWATCH_HASH_BITS];

/**
 * memwatch_maybe_watched() - whether @mm may belong to a live watch
 * @mm: an address space
 *
 * The hooks' first test, one multiply and one load, taken without RCU: its
 * bucket of the hash is not empty. A hint that memwatch_lookup() confirms;
 * with one process watched, one unwatched mm in 128 goes on to the lookup.
 *
 * Return: false if it certainly does not.
 */
static inline bool memwatch_maybe_watched(const struct mm_struct *mm)
{
	return !hlist_empty(&memwatch_hash[hash_min((unsigned long)mm,
						     MEMWATCH_HASH_BITS)]);
}

struct memwatch_target *memwatch_lookup(struct mm_struct *mm);
bool memwatch_watched(struct mm_struct *mm);

/* Time since the watch started, in ns. */
static inline u64 memwatch_since(const struct memwatch_target *t)
{
	return ktime_get_ns() - t->start_ns;
}

/* A task's name, always terminated: the task may be renaming itself. */
static inline void memwatch_copy_comm(char *dst, struct task_struct *task)
{
	memcpy(dst, task->comm, TASK_COMM_LEN);
	dst[TASK_COMM_LEN - 1] = '\0';
}

/* Hooks: the process-lifecycle events, from any context that cannot sleep. */
void memwatch_exit_mmap(struct mm_struct *mm);
void memwatch_exec(struct task_struct *task);
void memwatch_fork(struct task_struct *parent, struct task_struct *child);

/* Process context: requests. */
struct memwatch_target *memwatch_target_get(pid_t nr, struct pid_namespace *ns);
void memwatch_target_put(struct memwatch_target *t);
struct memwatch_target *memwatch_target_get_nth(unsigned long idx);
bool memwatch_target_exited(struct memwatch_target *t);
int memwatch_target_may_read(struct memwatch_target *t);
int memwatch_watch(struct task_struct *task, u32 flags, u32 fill_every);
int memwatch_unwatch(struct memwatch_target *t);
unsigned long memwatch_generation(void);
unsigned int memwatch_watch_count(void);
void memwatch_watch_uninit(void);

extern unsigned int memwatch_max_watches;

#endif /* _MEMWATCH_WATCH_H */

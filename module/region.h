/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Regions and their extents: the address ranges a watched process's
 * regions own, in one rbtree per watch so that a page event finds its
 * region by address, how they are created, cut, split and destroyed, and
 * which threads' faults filled them. region.c implements it.
 *
 * Locking: the functions named __memwatch_*() and the extent lookups need
 * the watch's lock (memwatch_target.lock) held. Extents change only on
 * VMA-level events, which the kernel runs under the mmap_lock held for
 * writing; page events only add to counters. Nothing here sleeps unless
 * its comment says so.
 */
#ifndef _MEMWATCH_REGION_H
#define _MEMWATCH_REGION_H

#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/rbtree.h>
#include <linux/sched.h>
#include <linux/types.h>

struct memwatch_target;
struct mm_struct;
struct task_struct;
struct work_struct;

/**
 * struct mw_attr - faults one thread took in one region
 * @next: next entry of the region, or of the free list
 * @gtid: thread id in the initial pid namespace, the match key
 * @tid: thread id in the watcher's pid namespace
 * @faulted: bytes
 * @comm: the thread's latest name: now, or when it exited
 */
struct mw_attr {
	struct mw_attr *next;
	pid_t gtid;
	pid_t tid;
	u64 faulted;
	char comm[TASK_COMM_LEN];
};

/* Filling stacks a region keeps; the bytes of others are summed. */
#define MW_FILL_SLOTS	4

/**
 * struct mw_fill - faulted bytes credited to one sampled fault stack
 * @stack_id: the stack (stack.h)
 * @bytes: faulted bytes its samples stand for
 */
struct mw_fill {
	u64 stack_id;
	u64 bytes;
};

/**
 * struct mw_region - one region of a watched process
 * @node: in &memwatch_target.regions
 * @attrs: per-thread attribution, most recently faulting thread first
 * @id: unique within the watch
 * @created_ns: creation time, since the watch started
 * @live: touched bytes as page events counted them (reconciled by reports)
 * @peak: largest touched bytes seen
 * @faulted: bytes of new anonymous pages faults mapped
 * @other_faulted: faulted bytes of threads past max_threads_per_region
 * @fin_reserved: reserved bytes when the process exited
 * @fin_committed: committed bytes when the process exited
 * @fin_touched: touched bytes when the process exited
 * @kind: enum memwatch_region_kind
 * @flags: MEMWATCH_REGION_F_*
 * @nr_extents: extents owned; the region is gone at zero
 * @nr_attrs: entries on @attrs
 * @rep_idx: scratch index while a report copies the watch
 * @attr_closed: a thread found no free entry and none could be allocated
 *	here once; from then on new threads count as other, so that every
 *	listed thread is exact
 * @creator_gtid: creating thread in the initial pid namespace, the key
 *	memwatch_track_rename() matches
 * @creator_tid: creating thread in the watcher's pid namespace, 0 if unknown
 * @creator_comm: its name when it created the region
 * @creator_last_comm: its latest name: now, or when it exited
 * @stack_id: the creating system call's call stack (stack.h), 0 if none
 * @fills: the stacks of sampled faults here, and the bytes they stand for
 * @fill_other: bytes of samples past MW_FILL_SLOTS stacks or not kept
 * @fill_pending: bytes faulted since the region's latest sample
 */
struct mw_region {
	struct list_head node;
	struct mw_attr *attrs;
	u64 id;
	u64 created_ns;
	s64 live;
	u64 peak;
	u64 faulted;
	u64 other_faulted;
	u64 fin_reserved, fin_committed, fin_touched;
	u32 kind, flags;
	u32 nr_extents, nr_attrs;
	u32 rep_idx;
	bool attr_closed;
	pid_t creator_gtid;
	pid_t creator_tid;
	char creator_comm[TASK_COMM_LEN];
	char creator_last_comm[TASK_COMM_LEN];
	u64 stack_id;
	struct mw_fill fills[MW_FILL_SLOTS];
	u64 fill_other;
	u64 fill_pending;
};

/**
 * struct mw_pending - the last page add on one CPU, not yet in the peaks
 * @r: its region, NULL if none is pending
 * @addr: its address
 * @bytes: its size
 *
 * A copy-on-write fault maps the new page before it unmaps the old one, and
 * a huge page split maps the small pages before it unmaps the huge one: for
 * a moment both count. Peaks take an add into account only once the next
 * event on that CPU shows it was not the first half of such a replacement.
 */
struct mw_pending {
	struct mw_region *r;
	unsigned long addr;
	u64 bytes;
};

/**
 * struct mw_extent - an address range owned by a region
 * @rb: in &memwatch_target.extents, keyed by @start
 * @start: first byte
 * @end: one past the last byte
 * @region: owner
 * @next: the next spare extent, while on &memwatch_target.spare_extents
 */
struct mw_extent {
	struct rb_node rb;
	unsigned long start, end;
	union {
		struct mw_region *region;
		struct mw_extent *next;
	};
};

/* allocation; fail_pct makes some of it fail, for the tests */
bool memwatch_inject_failure(void);
struct mw_region *memwatch_region_alloc(gfp_t gfp);
void memwatch_region_free(struct mw_region *r);
struct mw_extent *memwatch_extent_alloc(gfp_t gfp);
void memwatch_extent_free(struct mw_extent *e);
void memwatch_attr_prefill(struct memwatch_target *t);
void memwatch_attr_refill(struct work_struct *work);
void memwatch_region_free_all(struct memwatch_target *t);

/* the extent tree; the watch's lock held */
struct mw_extent *memwatch_extent_at(struct memwatch_target *t,
				     unsigned long addr);
struct mw_extent *memwatch_extent_from(struct memwatch_target *t,
				       unsigned long addr);
void memwatch_extent_insert(struct memwatch_target *t, struct mw_extent *new);

/* region changes; the watch's lock held */
void __memwatch_region_add(struct memwatch_target *t, struct mw_region *r,
			   struct mw_extent *e, unsigned long start,
			   unsigned long end);
struct mw_region *__memwatch_region_new(struct memwatch_target *t,
					unsigned long start, unsigned long end,
					u32 kind, u32 flags, bool stack);
void __memwatch_cut(struct memwatch_target *t, unsigned long start,
		    unsigned long end, bool subtract);
void __memwatch_split_at(struct memwatch_target *t, unsigned long addr);
void __memwatch_flush_pending(struct memwatch_target *t,
			      struct mw_pending *p);
void __memwatch_flush_all_pending(struct memwatch_target *t);
bool __memwatch_credit_thread(struct memwatch_target *t, struct mw_region *r,
			      u64 bytes);
void __memwatch_drop_regions(struct memwatch_target *t);
void __memwatch_finalize(struct memwatch_target *t, struct mm_struct *mm,
			 bool locked);

/* whole address spaces; the mm's mmap_lock held, the watch's lock not */
void memwatch_snapshot(struct memwatch_target *t, struct mm_struct *mm,
		       struct task_struct *task, gfp_t gfp);

/* module-wide figures */
u64 memwatch_region_mem(void);
void memwatch_region_add_mem(s64 bytes);
u64 memwatch_region_count(void);
int memwatch_region_init(void);
void memwatch_region_uninit(void);
#ifdef DEBUG
bool memwatch_region_selftest(void);
#endif

extern unsigned int memwatch_max_regions;
extern unsigned int memwatch_max_threads_per_region;

#endif /* _MEMWATCH_REGION_H */

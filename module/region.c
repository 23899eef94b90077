// SPDX-License-Identifier: GPL-2.0
/*
 * Regions, extents and attribution of a watched process.
 *
 * A region is one anonymous mapping the process made; it owns one or more
 * extents, disjoint address ranges kept in the watch's rbtree so that a
 * page event finds its region by address. A region keeps its identity
 * while the kernel splits and merges the VMAs under it, follows mremap,
 * shrinks with partial munmap and is gone with its last extent. Each
 * region lists the threads whose faults filled it (struct mw_attr), from a
 * pool of entries per watch that a worker refills, so that the fault path
 * does not allocate.
 *
 * What is mapped, with which protection and which pages are resident is
 * not kept here: reports read it from the VMAs and page tables (vaddr.c).
 * Events give what a snapshot cannot: creation, peaks, faults and which
 * thread took them.
 */

#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/pid.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <uapi/linux/memwatch.h>

#include "event.h"
#include "region.h"
#include "stack.h"
#include "vaddr.h"
#include "watch.h"

unsigned int memwatch_max_regions = 262144;
module_param_named(max_regions, memwatch_max_regions, uint, 0644);
MODULE_PARM_DESC(max_regions, "Most regions tracked per process (default 262144)");

unsigned int memwatch_max_threads_per_region = 64;
module_param_named(max_threads_per_region, memwatch_max_threads_per_region,
		   uint, 0644);
MODULE_PARM_DESC(max_threads_per_region, "Threads attributed per region; later ones are summed as other (default 64)");

static unsigned int fail_pct;
module_param(fail_pct, uint, 0644);
MODULE_PARM_DESC(fail_pct, "Testing: share of memwatch's allocations made to fail, in percent (default 0)");

/*
 * Attribution entries kept free per watch, refilled from process context
 * up to ATTR_TARGET whenever fewer than ATTR_LOW are left.
 */
#define ATTR_TARGET	256
#define ATTR_LOW	64

static struct kmem_cache *region_cache, *extent_cache, *attr_cache;
/* bytes held for watches, regions, extents and attribution */
static atomic64_t mw_mem = ATOMIC64_INIT(0);
/* regions held over all watches */
static atomic64_t mw_regions = ATOMIC64_INIT(0);

/**
 * memwatch_extent_at() - the extent holding an address
 * @t: the watch, its lock held
 * @addr: the address
 *
 * Return: the extent, or NULL if no region owns @addr.
 */
struct mw_extent *memwatch_extent_at(struct memwatch_target *t,
				     unsigned long addr)
{
	struct rb_node *n = t->extents.rb_node;

	while (n) {
		struct mw_extent *e = rb_entry(n, struct mw_extent, rb);

		if (addr < e->start)
			n = n->rb_left;
		else if (addr >= e->end)
			n = n->rb_right;
		else
			return e;
	}
	return NULL;
}

/**
 * memwatch_extent_from() - the lowest extent that ends after an address
 * @t: the watch, its lock held
 * @addr: the address
 *
 * Return: the extent, or NULL if none does.
 */
struct mw_extent *memwatch_extent_from(struct memwatch_target *t,
				       unsigned long addr)
{
	struct rb_node *n = t->extents.rb_node;
	struct mw_extent *best = NULL;

	while (n) {
		struct mw_extent *e = rb_entry(n, struct mw_extent, rb);

		if (e->end > addr) {
			best = e;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	return best;
}

/**
 * memwatch_extent_insert() - add an extent to the tree and to its region
 * @t: the watch, its lock held
 * @new: the extent, its range and region set, overlapping none
 */
void memwatch_extent_insert(struct memwatch_target *t, struct mw_extent *new)
{
	struct rb_node **p = &t->extents.rb_node, *parent = NULL;

	while (*p) {
		struct mw_extent *e = rb_entry(*p, struct mw_extent, rb);

		parent = *p;
		p = new->start < e->start ? &(*p)->rb_left : &(*p)->rb_right;
	}
	rb_link_node(&new->rb, parent, p);
	rb_insert_color(&new->rb, &t->extents);
	new->region->nr_extents++;
	t->nr_extents++;
}

/**
 * memwatch_inject_failure() - whether to fail this allocation on purpose
 *
 * fail_pct lets tests check that failed allocations lose nothing silently.
 *
 * Return: true if the caller should act as if its allocation failed.
 */
bool memwatch_inject_failure(void)
{
	unsigned int pct = READ_ONCE(fail_pct);

	return pct && get_random_u32_below(100) < pct;
}

/**
 * memwatch_extent_alloc() - a new extent, counted in the module's memory
 * @gfp: allocation flags
 *
 * Return: the extent, or NULL.
 */
struct mw_extent *memwatch_extent_alloc(gfp_t gfp)
{
	struct mw_extent *e;

	if (memwatch_inject_failure())
		return NULL;
	e = kmem_cache_alloc(extent_cache, gfp);

	if (e)
		atomic64_add(sizeof(*e), &mw_mem);
	return e;
}

/**
 * memwatch_extent_free() - free an extent from memwatch_extent_alloc()
 * @e: the extent
 */
void memwatch_extent_free(struct mw_extent *e)
{
	atomic64_sub(sizeof(*e), &mw_mem);
	kmem_cache_free(extent_cache, e);
}

/**
 * memwatch_region_alloc() - a new region, zeroed and counted
 * @gfp: allocation flags
 *
 * Return: the region, or NULL.
 */
struct mw_region *memwatch_region_alloc(gfp_t gfp)
{
	struct mw_region *r;

	if (memwatch_inject_failure())
		return NULL;
	r = kmem_cache_zalloc(region_cache, gfp);

	if (r) {
		atomic64_add(sizeof(*r), &mw_mem);
		atomic64_inc(&mw_regions);
	}
	return r;
}

/**
 * memwatch_region_free() - free a region from memwatch_region_alloc()
 * @r: the region
 */
void memwatch_region_free(struct mw_region *r)
{
	atomic64_sub(sizeof(*r), &mw_mem);
	atomic64_dec(&mw_regions);
	kmem_cache_free(region_cache, r);
}

/*
 * A few freed extents and regions stay with their watch: a process that
 * maps and unmaps in a loop (an allocator, a JIT) reuses them without a
 * slab round trip in a hook, where an allocation may also fail.
 * They still count in the module's memory; they are freed with the watch.
 */
#define MW_SPARE 4

static struct mw_extent *__extent_get(struct memwatch_target *t)
{
	struct mw_extent *e = t->spare_extents;

	if (!e)
		return memwatch_extent_alloc(GFP_NOWAIT | __GFP_NOWARN);
	if (memwatch_inject_failure())
		return NULL;
	t->spare_extents = e->next;
	t->nr_spare_extents--;
	return e;
}

static void __extent_put(struct memwatch_target *t, struct mw_extent *e)
{
	if (t->nr_spare_extents >= MW_SPARE) {
		memwatch_extent_free(e);
		return;
	}
	e->next = t->spare_extents;
	t->spare_extents = e;
	t->nr_spare_extents++;
}

static struct mw_region *__region_get(struct memwatch_target *t)
{
	struct mw_region *r;

	if (list_empty(&t->spare_regions))
		return memwatch_region_alloc(GFP_NOWAIT | __GFP_NOWARN);
	if (memwatch_inject_failure())
		return NULL;
	r = list_first_entry(&t->spare_regions, struct mw_region, node);
	list_del(&r->node);
	t->nr_spare_regions--;
	memset(r, 0, sizeof(*r));
	atomic64_inc(&mw_regions);
	return r;
}

static void __region_put(struct memwatch_target *t, struct mw_region *r)
{
	if (t->nr_spare_regions >= MW_SPARE) {
		memwatch_region_free(r);
		return;
	}
	atomic64_dec(&mw_regions);
	list_add(&r->node, &t->spare_regions);
	t->nr_spare_regions++;
}

/* Frees the spare extents and regions of an unreachable watch. */
static void free_spares(struct memwatch_target *t)
{
	struct mw_region *r, *tmp;
	struct mw_extent *e;

	while ((e = t->spare_extents)) {
		t->spare_extents = e->next;
		memwatch_extent_free(e);
	}
	t->nr_spare_extents = 0;
	list_for_each_entry_safe(r, tmp, &t->spare_regions, node) {
		list_del(&r->node);
		atomic64_inc(&mw_regions);
		memwatch_region_free(r);
	}
	t->nr_spare_regions = 0;
}

static void post_region_event(struct memwatch_target *t, u32 type,
			      struct mw_region *r, unsigned long start,
			      unsigned long end)
{
	struct memwatch_event ev;

	if (!memwatch_event_wanted())
		return;
	ev = (struct memwatch_event){
		.type = type,
		.pid = pid_nr_ns(t->pid, t->ns),
		.ns = memwatch_since(t),
		.region_id = r->id,
		.start = start,
		.end = end,
		.kind = r->kind,
		.flags = r->flags,
		.stack_id = r->stack_id,
	};

	if (current->mm == t->mm) {
		ev.tid = task_pid_nr_ns(current, t->ns);
		memwatch_copy_comm(ev.comm, current);
	}
	if (!memwatch_event_post(&ev))
		t->dropped_events++;
}

/**
 * __memwatch_flush_pending() - count one CPU's pending add in the peaks
 * @t: the watch, its lock held
 * @p: that CPU's pending add
 */
void __memwatch_flush_pending(struct memwatch_target *t,
			      struct mw_pending *p)
{
	if (!p->r)
		return;
	p->r->peak = max_t(s64, p->r->peak, p->r->live);
	t->peak = max_t(s64, t->peak, t->live);
	p->r = NULL;
}

/**
 * __memwatch_flush_all_pending() - count every pending add in the peaks
 * @t: the watch, its lock held
 */
void __memwatch_flush_all_pending(struct memwatch_target *t)
{
	int cpu;

	for_each_possible_cpu(cpu)
		__memwatch_flush_pending(t, per_cpu_ptr(t->pending, cpu));
}

/* Gives a region's attribution entries back to the watch's pool. */
static void __attrs_to_pool(struct memwatch_target *t, struct mw_region *r)
{
	struct mw_attr *a;

	while ((a = r->attrs)) {
		r->attrs = a->next;
		a->next = t->attr_free;
		t->attr_free = a;
		t->nr_attr_free++;
		t->nr_attrs--;
	}
}

/* Unlinks and frees a region whose last extent is gone. */
static void __region_destroy(struct memwatch_target *t, struct mw_region *r,
			     unsigned long start, unsigned long end)
{
	int cpu;

	lockdep_assert_held(&t->lock);
	for_each_possible_cpu(cpu) {
		struct mw_pending *p = per_cpu_ptr(t->pending, cpu);

		if (p->r == r)
			__memwatch_flush_pending(t, p);
	}
	post_region_event(t, MEMWATCH_EVENT_REGION_GONE, r, start, end);
	__attrs_to_pool(t, r);
	t->live -= r->live;
	if (t->heap == r)
		t->heap = NULL;
	if (t->stack == r)
		t->stack = NULL;
	list_del(&r->node);
	t->nr_regions--;
	t->gen++;
	__region_put(t, r);
}

/**
 * __memwatch_split_at() - split the extent holding an address there
 * @t: the watch, its lock held
 * @addr: where one extent is to end and the next to begin
 *
 * If no extent can be had, the region is marked incomplete instead.
 */
void __memwatch_split_at(struct memwatch_target *t, unsigned long addr)
{
	struct mw_extent *e = memwatch_extent_at(t, addr), *tail;

	if (!e || e->start == addr)
		return;
	tail = __extent_get(t);
	if (!tail) {
		e->region->flags |= MEMWATCH_REGION_F_INCOMPLETE;
		t->dropped_regions++;
		return;
	}
	tail->start = addr;
	tail->end = e->end;
	tail->region = e->region;
	e->end = addr;
	memwatch_extent_insert(t, tail);
	t->gen++;
}

/**
 * __memwatch_cut() - remove a range from every extent
 * @t: the watch, its lock held
 * @start: first byte
 * @end: one past the last
 * @subtract: take the pages still mapped there off the live counters, for
 *	callers that run before the kernel zaps them (the zap then finds no
 *	extent)
 *
 * A region left with no extent is destroyed.
 */
void __memwatch_cut(struct memwatch_target *t, unsigned long start,
		    unsigned long end, bool subtract)
{
	bool flushed = false;
	struct mw_extent *e;

	lockdep_assert_held(&t->lock);
	while ((e = memwatch_extent_from(t, start)) && e->start < end) {
		struct mw_region *r = e->region;
		unsigned long s = max(start, e->start);
		unsigned long x = min(end, e->end);

		t->gen++;
		/* a region without live pages has none to walk for */
		if (subtract && r->live > 0) {
			u64 gone;

			/* the peaks first see what is pending, once */
			if (!flushed) {
				__memwatch_flush_all_pending(t);
				flushed = true;
			}
			gone = memwatch_resident(t->mm, s, x, false);

			r->live -= gone;
			t->live -= gone;
		}
		if (s == e->start && x == e->end) {
			rb_erase(&e->rb, &t->extents);
			t->nr_extents--;
			__extent_put(t, e);
			if (!--r->nr_extents)
				__region_destroy(t, r, s, x);
		} else if (s == e->start) {
			e->start = x;	/* keeps its place in the tree */
		} else if (x == e->end) {
			e->end = s;
		} else {
			struct mw_extent *tail = __extent_get(t);

			if (tail) {
				tail->start = x;
				tail->end = e->end;
				tail->region = r;
				e->end = s;
				memwatch_extent_insert(t, tail);
			} else {
				/* lose the tail rather than claim the hole */
				e->end = s;
				r->flags |= MEMWATCH_REGION_F_INCOMPLETE;
				t->dropped_regions++;
			}
		}
	}
}

/**
 * __memwatch_region_add() - insert a region with its first extent
 * @t: the watch, its lock held
 * @r: the region, allocated by the caller
 * @e: its extent, likewise
 * @start: first byte
 * @end: one past the last
 *
 * Whatever stale extents overlap the range are cut first.
 */
void __memwatch_region_add(struct memwatch_target *t, struct mw_region *r,
			   struct mw_extent *e, unsigned long start,
			   unsigned long end)
{
	__memwatch_cut(t, start, end, false);
	t->gen++;
	r->id = t->next_id++;
	list_add_tail(&r->node, &t->regions);
	t->nr_regions++;
	e->start = start;
	e->end = end;
	e->region = r;
	memwatch_extent_insert(t, e);
	post_region_event(t, MEMWATCH_EVENT_REGION_NEW, r, start, end);
}

/**
 * __memwatch_region_new() - a region created now by current
 * @t: the watch, its lock held
 * @start: first byte
 * @end: one past the last
 * @kind: enum memwatch_region_kind
 * @flags: MEMWATCH_REGION_F_*
 * @stack: take current's call stack for the region (stack.h)
 *
 * Allocates without sleeping, from the watch's spares first. On failure
 * the range is still taken from older regions and the loss is counted.
 *
 * Return: the region, or NULL.
 */
struct mw_region *__memwatch_region_new(struct memwatch_target *t,
					unsigned long start, unsigned long end,
					u32 kind, u32 flags, bool stack)
{
	struct mw_region *r;
	struct mw_extent *e;

	if (t->nr_regions >= READ_ONCE(memwatch_max_regions))
		goto drop;
	r = __region_get(t);
	if (!r)
		goto drop;
	e = __extent_get(t);
	if (!e) {
		__region_put(t, r);
		goto drop;
	}
	r->kind = kind;
	r->flags = flags;
	r->created_ns = memwatch_since(t);
	r->creator_gtid = current->pid;
	r->creator_tid = task_pid_nr_ns(current, t->ns);
	memwatch_copy_comm(r->creator_comm, current);
	memcpy(r->creator_last_comm, r->creator_comm, TASK_COMM_LEN);
	if (stack)
		r->stack_id = __memwatch_stack_take(t, 0);
	__memwatch_region_add(t, r, e, start, end);
	return r;
drop:
	/* the range must not stay claimed by an older region */
	__memwatch_cut(t, start, end, false);
	t->dropped_regions++;
	return NULL;
}

/**
 * __memwatch_credit_thread() - attribute faulted bytes to current
 * @t: the watch, its lock held
 * @r: the region the fault mapped into
 * @bytes: the bytes mapped
 *
 * Current's entry moves to the front of the region's list, so that a
 * thread faulting in a loop finds itself first. Entries come from the
 * watch's pool; past max_threads_per_region, or when none can be had,
 * the bytes count as other threads'.
 *
 * Return: true for current's first fault in @r that has an entry.
 */
bool __memwatch_credit_thread(struct memwatch_target *t, struct mw_region *r,
			      u64 bytes)
{
	pid_t gtid = current->pid;
	struct mw_attr **pp, *a;

	for (pp = &r->attrs; (a = *pp); pp = &a->next) {
		if (a->gtid != gtid)
			continue;
		a->faulted += bytes;
		if (pp != &r->attrs) {	/* most recent first */
			*pp = a->next;
			a->next = r->attrs;
			r->attrs = a;
		}
		return false;
	}
	if (r->attr_closed ||
	    r->nr_attrs >= READ_ONCE(memwatch_max_threads_per_region)) {
		r->other_faulted += bytes;
		return false;
	}
	a = t->attr_free;
	if (a) {
		t->attr_free = a->next;
		if (--t->nr_attr_free < ATTR_LOW)
			queue_work(system_unbound_wq, &t->refill);
	} else {
		/*
		 * A burst of new threads emptied the pool before the worker
		 * could refill it: allocate without sleeping rather than
		 * lose the thread, and close the region only if that fails.
		 */
		queue_work(system_unbound_wq, &t->refill);
		a = memwatch_inject_failure() ? NULL :
		    kmem_cache_alloc(attr_cache, GFP_NOWAIT | __GFP_NOWARN);
		if (!a) {
			r->attr_closed = true;
			r->other_faulted += bytes;
			return false;
		}
		atomic64_add(sizeof(*a), &mw_mem);
	}
	a->gtid = gtid;
	a->tid = task_pid_nr_ns(current, t->ns);
	memwatch_copy_comm(a->comm, current);
	a->faulted = bytes;
	a->next = r->attrs;
	r->attrs = a;
	r->nr_attrs++;
	t->nr_attrs++;
	return true;
}

/**
 * memwatch_attr_refill() - the watch's refill work: top up the pool
 * @work: &memwatch_target.refill
 *
 * Process context: allocates with GFP_KERNEL, then hands the entries over
 * under the watch's lock.
 */
void memwatch_attr_refill(struct work_struct *work)
{
	struct memwatch_target *t = container_of(work, struct memwatch_target,
						 refill);
	struct mw_attr *head = NULL, *tail = NULL;
	int i, want = ATTR_TARGET - READ_ONCE(t->nr_attr_free);

	for (i = 0; i < want; i++) {
		struct mw_attr *a = memwatch_inject_failure() ? NULL :
				    kmem_cache_alloc(attr_cache, GFP_KERNEL);

		if (!a)
			break;
		atomic64_add(sizeof(*a), &mw_mem);
		a->next = head;
		head = a;
		if (!tail)
			tail = a;
	}
	if (!head)
		return;
	spin_lock(&t->lock);
	tail->next = t->attr_free;
	t->attr_free = head;
	t->nr_attr_free += i;
	spin_unlock(&t->lock);
}

static void __note_special(struct memwatch_target *t, struct mw_region *r)
{
	if (r->kind == MEMWATCH_REGION_KIND_HEAP && !t->heap)
		t->heap = r;
	if (r->kind == MEMWATCH_REGION_KIND_STACK && !t->stack)
		t->stack = r;
}

/**
 * memwatch_snapshot() - make a region of every anonymous VMA
 * @t: the watch, its lock not held
 * @mm: its address space, the mmap_lock held by the caller
 * @task: the task whose exec made the mappings, or NULL at watch time
 * @gfp: allocation flags: GFP_KERNEL only where the caller may sleep
 *
 * At watch time the regions are preexisting, creator unknown; after an
 * exec, the program loader made them in @task's exec. Executable file
 * mappings go to the code-map log.
 */
void memwatch_snapshot(struct memwatch_target *t, struct mm_struct *mm,
		       struct task_struct *task, gfp_t gfp)
{
	struct vm_area_struct *vma;
	struct vma_iterator vmi;

	vma_iter_init(&vmi, mm, 0);
	for_each_vma(vmi, vma) {
		struct mw_region *r;
		struct mw_extent *e;

		/* the code that later call stacks may run (stack.h) */
		memwatch_code_map_note(t, vma, gfp);
		if (!vma_is_anonymous(vma) && !memwatch_shared_anon(vma))
			continue;
		r = memwatch_region_alloc(gfp | __GFP_NOWARN);
		e = memwatch_extent_alloc(gfp | __GFP_NOWARN);
		spin_lock(&t->lock);
		if (!r || !e || t->nr_regions >= READ_ONCE(memwatch_max_regions)) {
			t->dropped_regions++;
			spin_unlock(&t->lock);
			if (r)
				memwatch_region_free(r);
			if (e)
				memwatch_extent_free(e);
			continue;
		}
		r->flags = memwatch_vma_flags(vma);
		if (task) {
			r->kind = memwatch_vma_kind(mm, vma,
						    MEMWATCH_REGION_KIND_MMAP);
			r->created_ns = memwatch_since(t);
			r->creator_gtid = task->pid;
			r->creator_tid = task_pid_nr_ns(task, t->ns);
			memwatch_copy_comm(r->creator_comm, task);
			memcpy(r->creator_last_comm, r->creator_comm,
			       TASK_COMM_LEN);
		} else {
			r->kind = memwatch_vma_kind(mm, vma,
						    MEMWATCH_REGION_KIND_PREEXISTING);
		}
		__memwatch_region_add(t, r, e, vma->vm_start, vma->vm_end);
		__note_special(t, r);
		spin_unlock(&t->lock);
	}
}

/**
 * __memwatch_drop_regions() - free every region and extent of a watch
 * @t: the watch, its lock held or the watch unreachable
 *
 * The attribution entries go back to the pool.
 */
void __memwatch_drop_regions(struct memwatch_target *t)
{
	struct mw_region *r, *tmp;
	struct rb_node *n;
	int cpu;

	for_each_possible_cpu(cpu)
		per_cpu_ptr(t->pending, cpu)->r = NULL;
	while ((n = rb_first(&t->extents))) {
		rb_erase(n, &t->extents);
		memwatch_extent_free(rb_entry(n, struct mw_extent, rb));
	}
	t->nr_extents = 0;
	list_for_each_entry_safe(r, tmp, &t->regions, node) {
		__attrs_to_pool(t, r);
		list_del(&r->node);
		memwatch_region_free(r);
	}
	t->nr_regions = 0;
	t->heap = NULL;
	t->stack = NULL;
	t->live = 0;
	t->peak = 0;
	t->gen++;
}

/**
 * __memwatch_finalize() - freeze each region's figures at exit
 * @t: the watch, its lock held
 * @mm: its address space, being torn down
 * @locked: the caller holds @mm's mmap_lock, so the VMAs can be read
 */
void __memwatch_finalize(struct memwatch_target *t, struct mm_struct *mm,
			 bool locked)
{
	struct mw_region *r;
	struct rb_node *n;

	__memwatch_flush_all_pending(t);
	list_for_each_entry(r, &t->regions, node) {
		r->fin_reserved = 0;
		r->fin_committed = 0;
		r->fin_touched = 0;
	}
	for (n = rb_first(&t->extents); n; n = rb_next(n)) {
		struct mw_extent *e = rb_entry(n, struct mw_extent, rb);
		struct mw_sizes sz = {};

		r = e->region;
		if (locked) {
			memwatch_account(mm, e->start, e->end, r->flags, &sz,
					 false);
		} else {
			/* nobody else holds it at exit; be safe anyway */
			sz.reserved = e->end - e->start;
			r->flags |= MEMWATCH_REGION_F_INCOMPLETE;
		}
		r->fin_reserved += sz.reserved;
		r->fin_committed += sz.committed;
		r->fin_touched += sz.touched;
	}
	if (!locked) {
		list_for_each_entry(r, &t->regions, node)
			r->fin_touched = max_t(s64, r->live, 0);
	}
	list_for_each_entry(r, &t->regions, node)
		r->peak = max(r->peak, r->fin_touched);
}

/**
 * memwatch_attr_prefill() - fill a new watch's attribution pool
 * @t: the watch, not yet reachable
 *
 * Process context: may sleep.
 */
void memwatch_attr_prefill(struct memwatch_target *t)
{
	int i;

	for (i = 0; i < ATTR_TARGET; i++) {
		struct mw_attr *a = kmem_cache_alloc(attr_cache, GFP_KERNEL);

		if (!a)
			break;
		atomic64_add(sizeof(*a), &mw_mem);
		a->next = t->attr_free;
		t->attr_free = a;
		t->nr_attr_free++;
	}
}

/**
 * memwatch_region_free_all() - free all a watch holds here
 * @t: the watch, unreachable, its refill work finished
 *
 * Regions, extents, spares and the attribution pool.
 */
void memwatch_region_free_all(struct memwatch_target *t)
{
	struct mw_attr *a;

	__memwatch_drop_regions(t);
	free_spares(t);
	while ((a = t->attr_free)) {
		t->attr_free = a->next;
		atomic64_sub(sizeof(*a), &mw_mem);
		kmem_cache_free(attr_cache, a);
	}
	t->nr_attr_free = 0;
}

/**
 * memwatch_region_mem() - memory held for regions, extents and attribution
 *
 * Also counts what watch.c adds for the watches themselves.
 *
 * Return: bytes.
 */
u64 memwatch_region_mem(void)
{
	return atomic64_read(&mw_mem);
}

/**
 * memwatch_region_add_mem() - count memory held for a watch
 * @bytes: added, or taken off when negative
 */
void memwatch_region_add_mem(s64 bytes)
{
	atomic64_add(bytes, &mw_mem);
}

/**
 * memwatch_region_count() - regions held over all watches
 *
 * Return: the number.
 */
u64 memwatch_region_count(void)
{
	return atomic64_read(&mw_regions);
}

/**
 * memwatch_region_init() - create the caches
 *
 * Return: 0 or -ENOMEM.
 */
int memwatch_region_init(void)
{
	region_cache = KMEM_CACHE(mw_region, 0);
	extent_cache = KMEM_CACHE(mw_extent, 0);
	attr_cache = KMEM_CACHE(mw_attr, 0);
	if (region_cache && extent_cache && attr_cache)
		return 0;
	memwatch_region_uninit();
	return -ENOMEM;
}

/**
 * memwatch_region_uninit() - destroy the caches; every watch is freed
 */
void memwatch_region_uninit(void)
{
	kmem_cache_destroy(region_cache);
	kmem_cache_destroy(extent_cache);
	kmem_cache_destroy(attr_cache);
}

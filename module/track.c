// SPDX-License-Identifier: GPL-2.0
/*
 * Watched processes, their regions and counters.
 *
 * A watch (struct memwatch_target) follows one thread group. Its regions are
 * the anonymous mappings the process made; each region owns one or more
 * extents, disjoint address ranges kept in an rbtree so that a page event
 * finds its region by address. Extents only change on VMA-level events
 * (mmap, munmap, brk, mremap), which the kernel runs under the mmap_lock
 * held for writing; page events only add to counters.
 *
 * What is mapped, with which protection, and which pages are resident is
 * not copied from events: a report reads it from the VMAs and page tables
 * over the region's extents, so it agrees with /proc/PID/smaps at rest.
 * Events give what a snapshot cannot: creation, peaks, faults and which
 * thread took them.
 */

#include <linux/hashtable.h>
#include <linux/highmem.h>
#include <linux/hugetlb.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pid_namespace.h>
#include <linux/rbtree.h>
#include <linux/sched/coredump.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/workqueue.h>
#include <uapi/linux/memwatch.h>

#include "netlink.h"
#include "probes.h"
#include "track.h"

unsigned int memwatch_max_watches = 64;
module_param_named(max_watches, memwatch_max_watches, uint, 0644);
MODULE_PARM_DESC(max_watches, "Most processes watched at once, live and exited (default 64)");

unsigned int memwatch_max_regions = 262144;
module_param_named(max_regions, memwatch_max_regions, uint, 0644);
MODULE_PARM_DESC(max_regions, "Most regions tracked per process (default 262144)");

static unsigned int max_exited = 16;
module_param(max_exited, uint, 0644);
MODULE_PARM_DESC(max_exited, "Exited watches whose final data is kept (default 16)");

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

/**
 * struct mw_attr - faults one thread took in one region
 * @next: next entry of the region, or of the free list
 * @gtid: thread id in the initial pid namespace, the match key
 * @tid: thread id in the watcher's pid namespace
 * @faulted: bytes
 * @comm: the thread's name at its latest fault here
 */
struct mw_attr {
	struct mw_attr *next;
	pid_t gtid;
	pid_t tid;
	u64 faulted;
	char comm[TASK_COMM_LEN];
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
 * @creator_tid: creating thread in the watcher's pid namespace, 0 if unknown
 * @creator_comm: its name
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
	pid_t creator_tid;
	char creator_comm[TASK_COMM_LEN];
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

/**
 * struct memwatch_target - a watched process
 * @hnode: in memwatch_hash, keyed by @mm, while the process lives
 * @node: in mw_targets, while the watch exists
 * @free_node: on mw_free_list once the last reference is gone
 * @ref: one for mw_targets, one per user in process context
 * @mm: the address space, a key only (never dereferenced after exit)
 * @pid: the thread group
 * @ns: the watcher's pid namespace: tids are reported in it
 * @uid: the process's real uid at watch time, for access to final data
 * @flags: MEMWATCH_WATCH_F_* given at watch time
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
};

/*
 * mw_lock protects memwatch_hash, mw_targets, each target's @listed,
 * @state and @hnode, and the counts below; writers hold it, probe handlers
 * read memwatch_hash under RCU. It may be taken in probe context, and
 * before a target's lock, never after.
 */
static DEFINE_SPINLOCK(mw_lock);
DEFINE_HASHTABLE(memwatch_hash, MEMWATCH_HASH_BITS);
static LIST_HEAD(mw_targets);
static unsigned int mw_nr_targets;
static unsigned int mw_nr_exited;
static unsigned long mw_gen;
/* Live watches: the fork and exec hooks look no further while it is 0. */
static atomic_t memwatch_nr_live = ATOMIC_INIT(0);

/* Serialises WATCH, UNWATCH and freeing against probe enabling. */
static DEFINE_MUTEX(mw_watch_mutex);

static LLIST_HEAD(mw_free_list);
static void free_work_fn(struct work_struct *work);
static DECLARE_WORK(mw_free_work, free_work_fn);

static struct kmem_cache *region_cache, *extent_cache, *attr_cache;
static atomic64_t mw_mem = ATOMIC64_INIT(0);
static atomic64_t mw_regions = ATOMIC64_INIT(0);

static u64 since(struct memwatch_target *t)
{
	return ktime_get_ns() - t->start_ns;
}

static void copy_comm(char *dst, struct task_struct *task)
{
	memcpy(dst, task->comm, TASK_COMM_LEN);
	dst[TASK_COMM_LEN - 1] = '\0';
}

static struct memwatch_target *__kprobes find_target(struct mm_struct *mm)
{
	struct memwatch_target *t;

	hash_for_each_possible_rcu(memwatch_hash, t, hnode, (unsigned long)mm)
		if (READ_ONCE(t->mm) == mm)
			return t;
	return NULL;
}

/**
 * memwatch_track_watched() - whether @mm belongs to a watched process
 * @mm: the address space
 *
 * The bucket test, then one RCU hash lookup; callable from probe context.
 *
 * Return: true if it does.
 */
bool __kprobes memwatch_track_watched(struct mm_struct *mm)
{
	bool ret;

	if (!memwatch_track_maybe(mm))
		return false;
	rcu_read_lock();
	ret = find_target(mm);
	rcu_read_unlock();
	return ret;
}

/* ---- page tables and VMAs ---------------------------------------------- */

/*
 * Bytes in [addr, end) that page tables map to resident pages, counted as
 * smaps counts Rss: the shared zero page and the huge zero page are not
 * counted. The caller holds the mmap_lock; page tables cannot be freed under
 * it, and RCU covers tables freed lazily.
 */
static u64 __kprobes resident(struct mm_struct *mm, unsigned long addr,
			      unsigned long end, bool can_sleep)
{
	u64 bytes = 0;

	while (addr < end) {
		unsigned long next = pmd_addr_end(addr, end);
		pgd_t *pgd = pgd_offset(mm, addr);
		p4d_t *p4d;
		pud_t *pud;
		pmd_t pmd;

		if (pgd_none(*pgd) || pgd_bad(*pgd)) {
			next = pgd_addr_end(addr, end);
			goto skip;
		}
		p4d = p4d_offset(pgd, addr);
		if (p4d_none(*p4d) || p4d_bad(*p4d)) {
			next = p4d_addr_end(addr, end);
			goto skip;
		}
		pud = pud_offset(p4d, addr);
		if (pud_none(*pud) || pud_bad(*pud)) {
			next = pud_addr_end(addr, end);
			goto skip;
		}
		pmd = READ_ONCE(*pmd_offset(pud, addr));
		if (pmd_none(pmd) || !pmd_present(pmd))
			goto skip;
		if (pmd_trans_huge(pmd) || pmd_devmap(pmd)) {
			struct page *page = pmd_page(pmd);

			if (PageAnon(page) || READ_ONCE(page->mapping))
				bytes += next - addr;
		} else if (!pmd_bad(pmd)) {
			unsigned long a = addr;
			pte_t *pte;

			rcu_read_lock();
			pte = pte_offset_kernel(&pmd, a);
			for (; a < next; a += PAGE_SIZE, pte++) {
				pte_t v = ptep_get(pte);

				if (pte_present(v) && !pte_special(v))
					bytes += PAGE_SIZE;
			}
			rcu_read_unlock();
		}
skip:
		addr = next;
		if (can_sleep)
			cond_resched();
	}
	return bytes;
}

static bool shared_anon(struct vm_area_struct *vma)
{
	return vma->vm_file && (vma->vm_flags & VM_SHARED) &&
	       !strcmp(vma->vm_file->f_path.dentry->d_name.name, "dev/zero");
}

/* Whether @vma is memory a region of @flags accounts for. */
static bool vma_counts(struct vm_area_struct *vma, u32 flags)
{
	if (vma_is_anonymous(vma))
		return true;
	if (flags & MEMWATCH_REGION_F_HUGETLB)
		return is_vm_hugetlb_page(vma);
	return (flags & MEMWATCH_REGION_F_SHARED) && shared_anon(vma);
}

struct mw_sizes {
	u64 reserved, committed, touched;
};

/* Adds what the VMAs in [start, end) hold to @sz; mmap_lock held. */
static void account(struct mm_struct *mm, unsigned long start,
		    unsigned long end, u32 flags, struct mw_sizes *sz,
		    bool can_sleep)
{
	struct vm_area_struct *vma;
	struct vma_iterator vmi;

	vma_iter_init(&vmi, mm, start);
	for_each_vma_range(vmi, vma, end) {
		unsigned long s = max(start, vma->vm_start);
		unsigned long e = min(end, vma->vm_end);

		if (s >= e || !vma_counts(vma, flags))
			continue;
		sz->reserved += e - s;
		if (vma->vm_flags & (VM_READ | VM_WRITE | VM_EXEC))
			sz->committed += e - s;
		/* smaps counts hugetlb pages apart from Rss */
		if (!is_vm_hugetlb_page(vma))
			sz->touched += resident(mm, s, e, can_sleep);
	}
}

/* ---- regions and extents (target lock held) ---------------------------- */

static struct mw_extent *__kprobes extent_at(struct memwatch_target *t,
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

/* The lowest extent that ends after @addr. */
static struct mw_extent *extent_from(struct memwatch_target *t,
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

static void extent_insert(struct memwatch_target *t, struct mw_extent *new)
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

/* fail_pct lets tests check that failed allocations lose nothing silently */
static bool __kprobes inject_failure(void)
{
	unsigned int pct = READ_ONCE(fail_pct);

	return pct && get_random_u32_below(100) < pct;
}

static struct mw_extent *extent_alloc(gfp_t gfp)
{
	struct mw_extent *e;

	if (inject_failure())
		return NULL;
	e = kmem_cache_alloc(extent_cache, gfp);

	if (e)
		atomic64_add(sizeof(*e), &mw_mem);
	return e;
}

static void extent_free(struct mw_extent *e)
{
	atomic64_sub(sizeof(*e), &mw_mem);
	kmem_cache_free(extent_cache, e);
}

static struct mw_region *region_alloc(gfp_t gfp)
{
	struct mw_region *r;

	if (inject_failure())
		return NULL;
	r = kmem_cache_zalloc(region_cache, gfp);

	if (r) {
		atomic64_add(sizeof(*r), &mw_mem);
		atomic64_inc(&mw_regions);
	}
	return r;
}

static void region_free(struct mw_region *r)
{
	atomic64_sub(sizeof(*r), &mw_mem);
	atomic64_dec(&mw_regions);
	kmem_cache_free(region_cache, r);
}

/*
 * A few freed extents and regions stay with their watch: a process that
 * maps and unmaps in a loop (an allocator, a JIT) reuses them without a
 * slab round trip in probe context, where an allocation may also fail.
 * They still count in the module's memory; they are freed with the watch.
 */
#define MW_SPARE 4

static struct mw_extent *__extent_get(struct memwatch_target *t)
{
	struct mw_extent *e = t->spare_extents;

	if (!e)
		return extent_alloc(GFP_NOWAIT | __GFP_NOWARN);
	if (inject_failure())
		return NULL;
	t->spare_extents = e->next;
	t->nr_spare_extents--;
	return e;
}

static void __extent_put(struct memwatch_target *t, struct mw_extent *e)
{
	if (t->nr_spare_extents >= MW_SPARE) {
		extent_free(e);
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
		return region_alloc(GFP_NOWAIT | __GFP_NOWARN);
	if (inject_failure())
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
		region_free(r);
		return;
	}
	atomic64_dec(&mw_regions);
	list_add(&r->node, &t->spare_regions);
	t->nr_spare_regions++;
}

static void free_spares(struct memwatch_target *t)
{
	struct mw_region *r, *tmp;
	struct mw_extent *e;

	while ((e = t->spare_extents)) {
		t->spare_extents = e->next;
		extent_free(e);
	}
	t->nr_spare_extents = 0;
	list_for_each_entry_safe(r, tmp, &t->spare_regions, node) {
		list_del(&r->node);
		atomic64_inc(&mw_regions);
		region_free(r);
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
		.ns = since(t),
		.region_id = r->id,
		.start = start,
		.end = end,
		.kind = r->kind,
		.flags = r->flags,
	};

	if (current->mm == t->mm) {
		ev.tid = task_pid_nr_ns(current, t->ns);
		copy_comm(ev.comm, current);
	}
	if (!memwatch_event_post(&ev))
		t->dropped_events++;
}

/* Counts the pending add of @p in the peaks. */
static void __kprobes __flush_pending(struct memwatch_target *t,
				      struct mw_pending *p)
{
	if (!p->r)
		return;
	p->r->peak = max_t(s64, p->r->peak, p->r->live);
	t->peak = max_t(s64, t->peak, t->live);
	p->r = NULL;
}

static void __flush_all_pending(struct memwatch_target *t)
{
	int cpu;

	for_each_possible_cpu(cpu)
		__flush_pending(t, per_cpu_ptr(t->pending, cpu));
}

/* Unlinks and frees a region whose last extent is gone. */
static void __region_destroy(struct memwatch_target *t, struct mw_region *r,
			     unsigned long start, unsigned long end)
{
	struct mw_attr *a;
	int cpu;

	lockdep_assert_held(&t->lock);
	for_each_possible_cpu(cpu) {
		struct mw_pending *p = per_cpu_ptr(t->pending, cpu);

		if (p->r == r)
			__flush_pending(t, p);
	}
	post_region_event(t, MEMWATCH_EVENT_REGION_GONE, r, start, end);
	while ((a = r->attrs)) {
		r->attrs = a->next;
		a->next = t->attr_free;
		t->attr_free = a;
		t->nr_attr_free++;
		t->nr_attrs--;
	}
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

/* Splits the extent holding @addr there, so that one ends at @addr. */
static void __split_at(struct memwatch_target *t, unsigned long addr)
{
	struct mw_extent *e = extent_at(t, addr), *tail;

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
	extent_insert(t, tail);
	t->gen++;
}

/*
 * Inserts the region @r with the extent @e over [start, end), both allocated
 * by the caller; whatever stale extents overlap the range are cut first.
 */
static void __region_add(struct memwatch_target *t, struct mw_region *r,
			 struct mw_extent *e, unsigned long start,
			 unsigned long end);

/*
 * Removes [start, end) from every extent. With @subtract, the pages still
 * mapped there are taken off the live counters, for callers that run before
 * the kernel zaps them (the zap then finds no extent).
 */
static void __cut(struct memwatch_target *t, unsigned long start,
		  unsigned long end, bool subtract)
{
	bool flushed = false;
	struct mw_extent *e;

	lockdep_assert_held(&t->lock);
	while ((e = extent_from(t, start)) && e->start < end) {
		struct mw_region *r = e->region;

		t->gen++;
		unsigned long s = max(start, e->start);
		unsigned long x = min(end, e->end);

		/* a region without live pages has none to walk for */
		if (subtract && r->live > 0) {
			u64 gone;

			/* the peaks first see what is pending, once */
			if (!flushed) {
				__flush_all_pending(t);
				flushed = true;
			}
			gone = resident(t->mm, s, x, false);

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
				extent_insert(t, tail);
			} else {
				/* lose the tail rather than claim the hole */
				e->end = s;
				r->flags |= MEMWATCH_REGION_F_INCOMPLETE;
				t->dropped_regions++;
			}
		}
	}
}

static void __region_add(struct memwatch_target *t, struct mw_region *r,
			 struct mw_extent *e, unsigned long start,
			 unsigned long end)
{
	__cut(t, start, end, false);
	t->gen++;
	r->id = t->next_id++;
	list_add_tail(&r->node, &t->regions);
	t->nr_regions++;
	e->start = start;
	e->end = end;
	e->region = r;
	extent_insert(t, e);
	post_region_event(t, MEMWATCH_EVENT_REGION_NEW, r, start, end);
}

/* A region created now by current, from probe context. */
static struct mw_region *__region_new(struct memwatch_target *t,
				      unsigned long start, unsigned long end,
				      u32 kind, u32 flags)
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
	r->created_ns = since(t);
	r->creator_tid = task_pid_nr_ns(current, t->ns);
	copy_comm(r->creator_comm, current);
	__region_add(t, r, e, start, end);
	return r;
drop:
	/* the range must not stay claimed by an older region */
	__cut(t, start, end, false);
	t->dropped_regions++;
	return NULL;
}

/* ---- VMA-level hooks ---------------------------------------------------- */

static u32 map_flags(unsigned long flags)
{
	u32 f = (flags & MAP_TYPE) == MAP_PRIVATE ? MEMWATCH_REGION_F_PRIVATE :
						    MEMWATCH_REGION_F_SHARED;

	if (flags & MAP_NORESERVE)
		f |= MEMWATCH_REGION_F_NORESERVE;
	if (flags & (MAP_STACK | MAP_GROWSDOWN))
		f |= MEMWATCH_REGION_F_STACK;
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE))
		f |= MEMWATCH_REGION_F_FIXED;
	if (flags & MAP_HUGETLB)
		f |= MEMWATCH_REGION_F_HUGETLB;
	return f;
}

/**
 * memwatch_track_mmap_begin() - do_mmap() entry
 * @mm: current's address space, write-locked
 * @addr: requested address
 * @len: requested length
 * @flags: MAP_* flags
 *
 * Only MAP_FIXED matters here: its implicit unmap is accounted for now.
 */
void __kprobes memwatch_track_mmap_begin(struct mm_struct *mm, unsigned long addr,
					 unsigned long len, unsigned long flags)
{
	unsigned long end = addr + PAGE_ALIGN(len);
	struct memwatch_target *t;
	struct mw_extent *e;

	if (!(flags & MAP_FIXED) || (flags & MAP_FIXED_NOREPLACE) ||
	    end <= addr)
		return;
	rcu_read_lock();
	t = find_target(mm);
	if (!t)
		goto out;
	spin_lock(&t->lock);
	t->fixed_task = current;
	/*
	 * An anonymous MAP_FIXED inside one region (re)commits part of it, as
	 * the JVM commits its heap: the region stays. Otherwise the range
	 * leaves its regions now; a new mapping becomes a region on return.
	 */
	e = extent_at(t, addr);
	t->fixed_inside = (flags & MAP_ANONYMOUS) && e && e->end >= end;
	if (!t->fixed_inside)
		__cut(t, addr, end, true);
	spin_unlock(&t->lock);
out:
	rcu_read_unlock();
}

/**
 * memwatch_track_mmap_end() - do_mmap() return
 * @mm: current's address space, write-locked
 * @ret: the new mapping's address, or an error
 * @len: its length
 * @flags: MAP_* flags
 *
 * An anonymous mapping becomes a region, unless it re-committed one.
 */
void __kprobes memwatch_track_mmap_end(struct mm_struct *mm, unsigned long ret,
				       unsigned long len, unsigned long flags)
{
	struct memwatch_target *t;
	bool inside = false;

	rcu_read_lock();
	t = find_target(mm);
	if (!t)
		goto out;
	spin_lock(&t->lock);
	if (t->fixed_task == current) {
		inside = t->fixed_inside;
		t->fixed_task = NULL;
	}
	if (!IS_ERR_VALUE(ret) && (flags & MAP_ANONYMOUS) && !inside)
		__region_new(t, ret, ret + PAGE_ALIGN(len),
			     MEMWATCH_REGION_KIND_MMAP, map_flags(flags));
	spin_unlock(&t->lock);
out:
	rcu_read_unlock();
}

/**
 * memwatch_track_unmap() - the munmap core's entry
 * @mm: the address space, write-locked
 * @start: first byte unmapped
 * @end: one past the last
 */
void __kprobes memwatch_track_unmap(struct mm_struct *mm, unsigned long start,
				    unsigned long end)
{
	struct memwatch_target *t;

	rcu_read_lock();
	t = find_target(mm);
	if (t) {
		spin_lock(&t->lock);
		/* MAP_FIXED's own unmap was handled by mmap_begin */
		if (t->fixed_task != current)
			__cut(t, start, end, true);
		spin_unlock(&t->lock);
	}
	rcu_read_unlock();
}

static void __kprobes mark_dropped(struct mm_struct *mm)
{
	struct memwatch_target *t;

	rcu_read_lock();
	t = find_target(mm);
	if (t) {
		spin_lock(&t->lock);
		t->dropped_regions++;
		spin_unlock(&t->lock);
	}
	rcu_read_unlock();
}

/* The kernel failed after memwatch applied the change: say so. */
/**
 * memwatch_track_unmap_failed() - the munmap core failed after its entry
 * @mm: the address space
 */
void __kprobes memwatch_track_unmap_failed(struct mm_struct *mm)
{
	mark_dropped(mm);
}

/**
 * memwatch_track_move_failed() - move_vma() failed after its entry
 * @mm: the address space
 */
void __kprobes memwatch_track_move_failed(struct mm_struct *mm)
{
	mark_dropped(mm);
}

/**
 * memwatch_track_brk() - do_brk_flags() entry
 * @mm: current's address space, write-locked
 * @addr: start of the growth
 * @len: its length
 */
void __kprobes memwatch_track_brk(struct mm_struct *mm, unsigned long addr,
				  unsigned long len)
{
	unsigned long end = addr + PAGE_ALIGN(len);
	struct memwatch_target *t;
	struct mw_extent *e;

	/* do_brk_flags() also maps an ELF bss; only the heap is the heap */
	if (addr != PAGE_ALIGN(mm->brk) || addr < mm->start_brk || end <= addr)
		return;
	rcu_read_lock();
	t = find_target(mm);
	if (!t)
		goto out;
	spin_lock(&t->lock);
	e = addr > 0 ? extent_at(t, addr - 1) : NULL;
	if (t->heap && e && e->region == t->heap && e->end == addr) {
		__cut(t, addr, end, false);
		e->end = end;
	} else {
		struct mw_region *r;

		r = __region_new(t, addr, end, MEMWATCH_REGION_KIND_HEAP,
				 MEMWATCH_REGION_F_PRIVATE);
		if (r && !t->heap)
			t->heap = r;
	}
	spin_unlock(&t->lock);
out:
	rcu_read_unlock();
}

/**
 * memwatch_track_move() - move_vma() entry: regions follow their pages
 * @vma: the VMA being moved, its mm write-locked
 * @old_addr: old start
 * @old_len: old length
 * @new_addr: new start
 * @new_len: new length
 * @dontunmap: MREMAP_DONTUNMAP: the old range stays mapped, empty
 */
void __kprobes memwatch_track_move(struct vm_area_struct *vma, unsigned long old_addr,
				   unsigned long old_len, unsigned long new_addr,
			 unsigned long new_len, bool dontunmap)
{
	unsigned long old_end = old_addr + old_len;
	struct mm_struct *mm = vma->vm_mm;
	struct memwatch_target *t;
	struct mw_region *last = NULL;
	struct mw_extent *e;
	u64 moved = 0;

	rcu_read_lock();
	t = find_target(mm);
	if (!t)
		goto out;
	spin_lock(&t->lock);
	__cut(t, new_addr, new_addr + new_len, true);
	if (dontunmap) {
		/*
		 * The old range stays mapped, empty; its pages move to a new
		 * region of kind mremap.
		 */
		moved = resident(mm, old_addr, old_end, false);
		e = extent_at(t, old_end - 1);
		if (e) {
			e->region->live -= moved;
			t->live -= moved;
		}
		goto add_new;
	}
	/* split the extents at the range's edges so that whole ones move */
	__split_at(t, old_addr);
	__split_at(t, old_end);
	while ((e = extent_from(t, old_addr)) && e->start < old_end) {
		struct mw_extent *x = e;

		if (x->end > old_end)	/* the split failed: move what fits */
			x->end = old_end;
		rb_erase(&x->rb, &t->extents);
		x->region->nr_extents--;
		t->nr_extents--;
		x->start += new_addr - old_addr;
		x->end += new_addr - old_addr;
		extent_insert(t, x);
		if (x->end == new_addr + old_len)
			last = x->region;
	}
	if (new_len > old_len && last) {
		e = extent_at(t, new_addr + old_len - 1);
		e->end = new_addr + new_len;
		goto unlock;
	}
	if (last || !vma_is_anonymous(vma))
		goto unlock;
add_new:
	{
		struct mw_region *r;
		u32 flags = MEMWATCH_REGION_F_PRIVATE;

		if (vma->vm_flags & VM_NORESERVE)
			flags |= MEMWATCH_REGION_F_NORESERVE;
		r = __region_new(t, new_addr, new_addr + new_len,
				 MEMWATCH_REGION_KIND_MREMAP, flags);
		if (r) {
			r->live += moved;
			t->live += moved;
		}
	}
unlock:
	spin_unlock(&t->lock);
out:
	rcu_read_unlock();
}

/**
 * memwatch_track_mremap_grown() - mremap(2) grew a mapping in place
 * @mm: current's address space (no longer locked)
 * @addr: the mapping
 * @old_len: old length
 * @new_len: new length
 */
void __kprobes memwatch_track_mremap_grown(struct mm_struct *mm, unsigned long addr,
					   unsigned long old_len, unsigned long new_len)
{
	unsigned long old_end = addr + PAGE_ALIGN(old_len);
	unsigned long new_end = addr + PAGE_ALIGN(new_len);
	struct memwatch_target *t;
	struct mw_extent *e;

	if (new_end <= old_end || old_end <= addr)
		return;
	rcu_read_lock();
	t = find_target(mm);
	if (!t)
		goto out;
	spin_lock(&t->lock);
	e = extent_at(t, old_end - 1);
	if (e && e->end == old_end) {
		__cut(t, old_end, new_end, false);
		e->end = new_end;
	}
	spin_unlock(&t->lock);
out:
	rcu_read_unlock();
}

/* ---- page-level hooks: the fault path ----------------------------------- */

static void __kprobes __credit_thread(struct memwatch_target *t, struct mw_region *r,
				      u64 bytes)
{
	pid_t gtid = current->pid;
	struct mw_attr **pp, *a;

	for (pp = &r->attrs; (a = *pp); pp = &a->next) {
		if (a->gtid != gtid)
			continue;
		a->faulted += bytes;
		/* threads name themselves after they start (the JVM does) */
		if (unlikely(memcmp(a->comm, current->comm, TASK_COMM_LEN - 1)))
			copy_comm(a->comm, current);
		if (pp != &r->attrs) {	/* most recent first */
			*pp = a->next;
			a->next = r->attrs;
			r->attrs = a;
		}
		return;
	}
	if (r->attr_closed ||
	    r->nr_attrs >= READ_ONCE(memwatch_max_threads_per_region)) {
		r->other_faulted += bytes;
		return;
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
		a = inject_failure() ? NULL :
		    kmem_cache_alloc(attr_cache, GFP_NOWAIT | __GFP_NOWARN);
		if (!a) {
			r->attr_closed = true;
			r->other_faulted += bytes;
			return;
		}
		atomic64_add(sizeof(*a), &mw_mem);
	}
	a->gtid = gtid;
	a->tid = task_pid_nr_ns(current, t->ns);
	copy_comm(a->comm, current);
	a->faulted = bytes;
	a->next = r->attrs;
	r->attrs = a;
	r->nr_attrs++;
	t->nr_attrs++;
}

/* Region for a page at @addr of @vma: its extent, or the growing stack. */
static struct mw_region *__kprobes __page_region(struct memwatch_target *t,
				       struct vm_area_struct *vma,
				       unsigned long addr)
{
	struct mw_extent *e = extent_at(t, addr);

	if (e)
		return e->region;
	if ((vma->vm_flags & VM_GROWSDOWN) && t->stack)
		return t->stack;
	return NULL;
}

/**
 * memwatch_track_target() - the watch of @mm, for the page hooks
 * @mm: an address space that passed memwatch_track_maybe()
 *
 * The page hooks run for every page of every process: their handlers test
 * the bucket, look the watch up once, under rcu_read_lock(), and pass it on.
 *
 * Return: the watch, valid until rcu_read_unlock(), or NULL.
 */
struct memwatch_target *memwatch_track_target(struct mm_struct *mm)
{
	return find_target(mm);
}

NOKPROBE_SYMBOL(memwatch_track_target);

/*
 * A huge page can span two regions, where the kernel merged their VMAs
 * (two adjacent mmaps with the same flags): each region gets its share.
 * Parts outside every region are not counted, except in the growing main
 * stack. The peaks are brought up to date at once, with no pending add.
 */
static void __page_range(struct memwatch_target *t, struct vm_area_struct *vma,
			 unsigned long addr, unsigned long end, bool add,
			 bool fault)
{
	__flush_pending(t, this_cpu_ptr(t->pending));
	while (addr < end) {
		struct mw_extent *e = extent_from(t, addr);
		unsigned long next = end;
		struct mw_region *r = NULL;
		s64 bytes;

		if (e && e->start <= addr) {
			r = e->region;
			next = min(end, e->end);
		} else {
			if (e && e->start < end)
				next = e->start;
			if (vma->vm_flags & VM_GROWSDOWN)
				r = t->stack;
		}
		if (r) {
			bytes = next - addr;
			if (!add)
				bytes = -bytes;
			r->live += bytes;
			t->live += bytes;
			r->peak = max_t(s64, r->peak, r->live);
			if (fault) {
				r->faulted += bytes;
				__credit_thread(t, r, bytes);
			}
		}
		addr = next;
	}
	t->peak = max_t(s64, t->peak, t->live);
}

/**
 * memwatch_track_page_add() - anonymous pages were mapped
 * @t: the watch of @vma's mm, from memwatch_track_target()
 * @vma: where, its page table lock held
 * @addr: first page's address
 * @nr: pages
 * @new: newly allocated pages (faults), not re-mapped ones
 */
void __kprobes memwatch_track_page_add(struct memwatch_target *t,
				       struct vm_area_struct *vma,
				       unsigned long addr, unsigned long nr,
				       bool new)
{
	u64 bytes = (u64)nr << PAGE_SHIFT;
	/*
	 * A fault: the faulting thread maps a new page into its own address
	 * space. Not khugepaged's collapse, not fork copying into a child,
	 * not swapoff.
	 */
	bool fault = new && current->mm == vma->vm_mm;
	struct mw_extent *e;
	struct mw_region *r;

	spin_lock(&t->lock);
	e = extent_at(t, addr);
	if (nr > 1 && (!e || e->end < addr + bytes)) {
		__page_range(t, vma, addr, addr + bytes, true, fault);
		goto out;
	}
	r = __page_region(t, vma, addr);
	if (r) {
		struct mw_pending *p = this_cpu_ptr(t->pending);

		__flush_pending(t, p);
		r->live += bytes;
		t->live += bytes;
		p->r = r;
		p->addr = addr;
		p->bytes = bytes;
		if (fault) {
			r->faulted += bytes;
			__credit_thread(t, r, bytes);
		}
	}
out:
	spin_unlock(&t->lock);
}

/**
 * memwatch_track_page_remove() - anonymous pages were unmapped
 * @t: the watch of @vma's mm, from memwatch_track_target()
 * @vma: where, its page table lock held
 * @addr: first page's address
 * @nr: pages
 */
void __kprobes memwatch_track_page_remove(struct memwatch_target *t,
					  struct vm_area_struct *vma,
					  unsigned long addr, unsigned long nr)
{
	u64 bytes = (u64)nr << PAGE_SHIFT;
	struct mw_extent *e;
	struct mw_region *r;

	spin_lock(&t->lock);
	e = extent_at(t, addr);
	if (nr > 1 && (!e || e->end < addr + bytes)) {
		__page_range(t, vma, addr, addr + bytes, false, false);
		goto out;
	}
	r = __page_region(t, vma, addr);
	if (r) {
		struct mw_pending *p = this_cpu_ptr(t->pending);

		/* the second half of a replacement leaves the peaks alone */
		if (p->r == r && p->addr == addr && p->bytes == bytes)
			p->r = NULL;
		else
			__flush_pending(t, p);
		r->live -= bytes;
		t->live -= bytes;
	}
out:
	spin_unlock(&t->lock);
}

static void refill_work_fn(struct work_struct *work)
{
	struct memwatch_target *t = container_of(work, struct memwatch_target,
						 refill);
	struct mw_attr *head = NULL, *tail = NULL;
	int i, want = ATTR_TARGET - READ_ONCE(t->nr_attr_free);

	for (i = 0; i < want; i++) {
		struct mw_attr *a = inject_failure() ? NULL :
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

/* ---- snapshots of an address space -------------------------------------- */

static u32 vma_kind(struct mm_struct *mm, struct vm_area_struct *vma,
		    u32 other)
{
	if (vma->vm_start <= mm->start_stack && mm->start_stack < vma->vm_end)
		return MEMWATCH_REGION_KIND_STACK;
	if (vma->vm_start <= mm->brk && vma->vm_end >= mm->start_brk &&
	    mm->brk > mm->start_brk)
		return MEMWATCH_REGION_KIND_HEAP;
	return other;
}

static u32 vma_region_flags(struct vm_area_struct *vma)
{
	u32 f = vma->vm_flags & VM_SHARED ? MEMWATCH_REGION_F_SHARED :
					    MEMWATCH_REGION_F_PRIVATE;

	if (vma->vm_flags & VM_NORESERVE)
		f |= MEMWATCH_REGION_F_NORESERVE;
	if (vma->vm_flags & VM_GROWSDOWN)
		f |= MEMWATCH_REGION_F_STACK;
	return f;
}

static void __note_special(struct memwatch_target *t, struct mw_region *r)
{
	if (r->kind == MEMWATCH_REGION_KIND_HEAP && !t->heap)
		t->heap = r;
	if (r->kind == MEMWATCH_REGION_KIND_STACK && !t->stack)
		t->stack = r;
}

/*
 * Makes a region of every anonymous VMA of @mm. At watch time they are
 * preexisting, creator unknown (@task NULL); after an exec, the program
 * loader made them in @task's exec. The caller holds the mmap_lock.
 */
static void snapshot(struct memwatch_target *t, struct mm_struct *mm,
		     struct task_struct *task, gfp_t gfp)
{
	struct vm_area_struct *vma;
	struct vma_iterator vmi;

	vma_iter_init(&vmi, mm, 0);
	for_each_vma(vmi, vma) {
		struct mw_region *r;
		struct mw_extent *e;

		if (!vma_is_anonymous(vma) && !shared_anon(vma))
			continue;
		r = region_alloc(gfp | __GFP_NOWARN);
		e = extent_alloc(gfp | __GFP_NOWARN);
		spin_lock(&t->lock);
		if (!r || !e || t->nr_regions >= READ_ONCE(memwatch_max_regions)) {
			t->dropped_regions++;
			spin_unlock(&t->lock);
			if (r)
				region_free(r);
			if (e)
				extent_free(e);
			continue;
		}
		r->flags = vma_region_flags(vma);
		if (task) {
			r->kind = vma_kind(mm, vma, MEMWATCH_REGION_KIND_MMAP);
			r->created_ns = since(t);
			r->creator_tid = task_pid_nr_ns(task, t->ns);
			copy_comm(r->creator_comm, task);
		} else {
			r->kind = vma_kind(mm, vma,
					   MEMWATCH_REGION_KIND_PREEXISTING);
		}
		__region_add(t, r, e, vma->vm_start, vma->vm_end);
		__note_special(t, r);
		spin_unlock(&t->lock);
	}
}

/* Frees every region and extent; the target is no longer reachable. */
static void __drop_regions(struct memwatch_target *t)
{
	struct mw_region *r, *tmp;
	struct rb_node *n;

	int cpu;

	for_each_possible_cpu(cpu)
		per_cpu_ptr(t->pending, cpu)->r = NULL;
	while ((n = rb_first(&t->extents))) {
		rb_erase(n, &t->extents);
		extent_free(rb_entry(n, struct mw_extent, rb));
	}
	t->nr_extents = 0;
	list_for_each_entry_safe(r, tmp, &t->regions, node) {
		struct mw_attr *a;

		while ((a = r->attrs)) {
			r->attrs = a->next;
			a->next = t->attr_free;
			t->attr_free = a;
			t->nr_attr_free++;
			t->nr_attrs--;
		}
		list_del(&r->node);
		region_free(r);
	}
	t->nr_regions = 0;
	t->heap = NULL;
	t->stack = NULL;
	t->live = 0;
	t->peak = 0;
	t->gen++;
}

/* ---- exit, exec and fork ----------------------------------------------- */

static void follow(struct memwatch_target *pt, struct task_struct *child,
		   struct mm_struct *mm, struct task_struct *creator);

/* Freezes each region's figures; the address space is going away. */
static void __finalize(struct memwatch_target *t, struct mm_struct *mm,
		       bool locked)
{
	struct mw_region *r;
	struct rb_node *n;

	__flush_all_pending(t);
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
			account(mm, e->start, e->end, r->flags, &sz, false);
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

static void post_watch_event(struct memwatch_target *t, u32 type,
			     struct task_struct *task)
{
	struct memwatch_event ev = {
		.type = type,
		.pid = pid_nr_ns(t->pid, t->ns),
		.ns = since(t),
	};

	if (task) {
		ev.tid = task_pid_nr_ns(task, t->ns);
		copy_comm(ev.comm, task);
	}
	if (!memwatch_event_post(&ev))
		t->dropped_events++;
}

static void __target_put(struct memwatch_target *t)
{
	if (refcount_dec_and_test(&t->ref)) {
		llist_add(&t->free_node, &mw_free_list);
		schedule_work(&mw_free_work);
	}
}

/* Takes @t off mw_targets and drops the list's reference; mw_lock held. */
static void __unlist(struct memwatch_target *t)
{
	lockdep_assert_held(&mw_lock);
	if (t->state == MEMWATCH_WATCH_STATE_LIVE) {
		hash_del_rcu(&t->hnode);
		atomic_dec(&memwatch_nr_live);
	} else {
		mw_nr_exited--;
	}
	list_del_rcu(&t->node);
	t->listed = false;
	mw_nr_targets--;
	mw_gen++;
	__target_put(t);
}

/* Drops exited watches past @keep, oldest first; mw_lock held. */
static void __evict_exited(unsigned int keep)
{
	struct memwatch_target *t, *tmp;

	lockdep_assert_held(&mw_lock);
	list_for_each_entry_safe(t, tmp, &mw_targets, node) {
		if (mw_nr_exited <= keep)
			break;
		if (t->state == MEMWATCH_WATCH_STATE_EXITED)
			__unlist(t);
	}
}

/**
 * memwatch_track_exit() - exit_mmap() entry: freeze the last figures
 * @mm: the address space being torn down
 */
void __kprobes memwatch_track_exit(struct mm_struct *mm)
{
	struct memwatch_target *t;
	bool exec, locked;

	rcu_read_lock();
	t = find_target(mm);
	if (!t)
		goto out;
	/* no other user is left, so this only fails for a stray /proc reader */
	locked = mmap_read_trylock(mm);
	spin_lock(&t->lock);
	__finalize(t, mm, locked);
	spin_unlock(&t->lock);
	if (locked)
		mmap_read_unlock(mm);
	spin_lock(&mw_lock);
	if (find_target(mm) != t)	/* unwatched meanwhile */
		goto unlock;
	hash_del_rcu(&t->hnode);
	atomic_dec(&memwatch_nr_live);
	/* an exec frees the old mm in the exec'ing task, now on its new mm */
	exec = current->mm && current->mm != mm &&
	       task_tgid(current) == t->pid;
	t->state = MEMWATCH_WATCH_STATE_EXITED;
	t->end_ns = ktime_get_ns();
	mw_nr_exited++;
	mw_gen++;
	if (!exec) {
		post_watch_event(t, MEMWATCH_EVENT_EXIT, NULL);
		__evict_exited(READ_ONCE(max_exited));
	}
unlock:
	spin_unlock(&mw_lock);
out:
	rcu_read_unlock();
}

/**
 * memwatch_track_exec() - sched_process_exec: follow the new address space
 * @task: the task that exec'd
 */
void __kprobes memwatch_track_exec(struct task_struct *task)
{
	struct mm_struct *mm = task->mm;
	struct memwatch_target *t, *found = NULL;

	if (!mm)
		return;
	rcu_read_lock();
	/* every exec in the system passes here: look before locking */
	list_for_each_entry_rcu(t, &mw_targets, node) {
		if (t->pid == task_tgid(task) && READ_ONCE(t->mm) != mm) {
			found = t;
			break;
		}
	}
	if (!found) {
		struct task_struct *parent = rcu_dereference(task->real_parent);
		struct memwatch_target *pt;

		/* a vfork child of a process whose forks are followed */
		pt = atomic_read(&memwatch_nr_live) ? find_target(parent->mm) : NULL;
		if (pt && (pt->flags & MEMWATCH_WATCH_F_FOLLOW_FORKS) &&
		    pt->pid == task_tgid(parent))
			follow(pt, task, mm, task);
		goto out;
	}
	spin_lock(&mw_lock);
	t = found;
	if (!t->listed || READ_ONCE(t->mm) == mm)
		goto unlock;
	if (t->state == MEMWATCH_WATCH_STATE_LIVE)
		hash_del_rcu(&t->hnode);
	else
		mw_nr_exited--;
	spin_lock(&t->lock);
	__drop_regions(t);
	t->execs++;
	copy_comm(t->comm, task);
	WRITE_ONCE(t->mm, mm);
	spin_unlock(&t->lock);
	if (t->state != MEMWATCH_WATCH_STATE_LIVE)
		atomic_inc(&memwatch_nr_live);
	t->state = MEMWATCH_WATCH_STATE_LIVE;
	hash_add_rcu(memwatch_hash, &t->hnode, (unsigned long)mm);
	mw_gen++;
	post_watch_event(t, MEMWATCH_EVENT_EXEC, task);
	/*
	 * The new program has not run yet; the loader's mappings exist. The
	 * exec'ing task is alone on the new mm, so the trylock only fails if
	 * a /proc reader holds it: then the regions come from the events.
	 */
	if (mmap_read_trylock(mm)) {
		spin_unlock(&mw_lock);
		snapshot(t, mm, task, GFP_NOWAIT);
		mmap_read_unlock(mm);
		rcu_read_unlock();
		return;
	}
	t->dropped_regions++;
unlock:
	spin_unlock(&mw_lock);
out:
	rcu_read_unlock();
}

/**
 * memwatch_track_fork() - sched_process_fork: follow a watched parent's child
 * @parent: the forking task
 * @child: the new task, not yet running
 *
 * New threads belong to their process's watch already; a child sharing its
 * parent's address space (vfork) is followed at its exec.
 */
void __kprobes memwatch_track_fork(struct task_struct *parent,
				   struct task_struct *child)
{
	struct memwatch_target *pt;

	if (!atomic_read(&memwatch_nr_live) || (child->flags & PF_KTHREAD) ||
	    same_thread_group(parent, child) || !child->mm ||
	    child->mm == parent->mm)
		return;
	rcu_read_lock();
	pt = find_target(parent->mm);
	if (pt && (pt->flags & MEMWATCH_WATCH_F_FOLLOW_FORKS) &&
	    pt->pid == task_tgid(parent))
		follow(pt, child, child->mm, NULL);
	rcu_read_unlock();
}

/* ---- process-context API ------------------------------------------------ */

static void target_free(struct memwatch_target *t)
{
	struct mw_attr *a;

	cancel_work_sync(&t->refill);
	__drop_regions(t);
	free_spares(t);
	while ((a = t->attr_free)) {
		t->attr_free = a->next;
		atomic64_sub(sizeof(*a), &mw_mem);
		kmem_cache_free(attr_cache, a);
	}
	pr_debug("target %p destroyed\n", t);
	free_percpu(t->pending);
	put_pid(t->pid);
	put_pid_ns(t->ns);
	atomic64_sub(sizeof(*t), &mw_mem);
	kfree(t);
}

static void free_work_fn(struct work_struct *work)
{
	struct llist_node *list = llist_del_all(&mw_free_list);
	struct memwatch_target *t, *tmp;

	if (!list)
		return;
	/* probe handlers that found these targets have finished */
	synchronize_rcu();
	llist_for_each_entry_safe(t, tmp, list, free_node)
		target_free(t);
	mutex_lock(&mw_watch_mutex);
	if (!READ_ONCE(mw_nr_targets))
		memwatch_probes_enable(false);
	mutex_unlock(&mw_watch_mutex);
}

/**
 * memwatch_target_put() - drop a reference from memwatch_target_get*()
 * @t: the watch
 */
void memwatch_target_put(struct memwatch_target *t)
{
	__target_put(t);
}

/**
 * memwatch_target_get() - find a watch by pid
 * @nr: pid in @ns
 * @ns: the caller's pid namespace
 *
 * Return: the watch, referenced, or NULL.
 */
struct memwatch_target *memwatch_target_get(pid_t nr, struct pid_namespace *ns)
{
	struct memwatch_target *t, *found = NULL;

	spin_lock(&mw_lock);
	list_for_each_entry(t, &mw_targets, node) {
		if (pid_nr_ns(t->pid, ns) != nr)
			continue;
		/* a live watch wins over an exited one whose pid was reused */
		if (!found || t->state == MEMWATCH_WATCH_STATE_LIVE)
			found = t;
	}
	if (found)
		refcount_inc(&found->ref);
	spin_unlock(&mw_lock);
	return found;
}

/**
 * memwatch_target_get_nth() - the @idx-th watch, for dumps
 * @idx: position, from 0
 *
 * Return: the watch, referenced, or NULL past the end.
 */
struct memwatch_target *memwatch_target_get_nth(unsigned long idx)
{
	struct memwatch_target *t, *found = NULL;

	spin_lock(&mw_lock);
	list_for_each_entry(t, &mw_targets, node) {
		if (!idx--) {
			found = t;
			refcount_inc(&t->ref);
			break;
		}
	}
	spin_unlock(&mw_lock);
	return found;
}

/**
 * memwatch_generation() - changes whenever a watch comes or goes
 *
 * Return: the generation, for dump consistency checks.
 */
unsigned long memwatch_generation(void)
{
	return READ_ONCE(mw_gen);
}

/**
 * memwatch_target_exited() - whether the watched process has exited
 * @t: the watch
 *
 * Return: true once it has.
 */
bool memwatch_target_exited(struct memwatch_target *t)
{
	return READ_ONCE(t->state) == MEMWATCH_WATCH_STATE_EXITED;
}

/*
 * The access /proc/PID/smaps needs, from exported pieces: CAP_SYS_PTRACE
 * over the target's user namespace, or the caller's fsuid and fsgid equal
 * to all of the target's uids and gids and a dumpable target. After exit,
 * the uid recorded at watch time stands in for the process.
 */
static bool may_read_task(struct task_struct *task)
{
	const struct cred *cred = current_cred(), *tcred;
	struct mm_struct *mm;
	bool ok;

	rcu_read_lock();
	tcred = __task_cred(task);
	if (ns_capable_noaudit(tcred->user_ns, CAP_SYS_PTRACE)) {
		rcu_read_unlock();
		return true;
	}
	ok = uid_eq(cred->fsuid, tcred->euid) &&
	     uid_eq(cred->fsuid, tcred->suid) &&
	     uid_eq(cred->fsuid, tcred->uid) &&
	     gid_eq(cred->fsgid, tcred->egid) &&
	     gid_eq(cred->fsgid, tcred->sgid) &&
	     gid_eq(cred->fsgid, tcred->gid);
	rcu_read_unlock();
	if (!ok)
		return false;
	task_lock(task);
	mm = task->mm;
	ok = !mm || get_dumpable(mm) == SUID_DUMP_USER;
	task_unlock(task);
	return ok;
}

/**
 * memwatch_target_may_read() - access check for the current task
 * @t: the watch
 *
 * Return: 0 if current may read @t, -EPERM otherwise.
 */
int memwatch_target_may_read(struct memwatch_target *t)
{
	struct task_struct *task = get_pid_task(t->pid, PIDTYPE_TGID);
	bool ok;

	if (task) {
		ok = may_read_task(task);
		put_task_struct(task);
	} else {
		ok = capable(CAP_SYS_PTRACE) ||
		     uid_eq(current_fsuid(), t->uid);
	}
	return ok ? 0 : -EPERM;
}

/*
 * A new watch of @task's thread group, reporting tids in @ns. With a @gfp
 * that may not sleep, its attribution pool is left to the refill worker.
 */
static struct memwatch_target *target_alloc(struct task_struct *task,
					    u32 flags, struct pid_namespace *ns,
					    gfp_t gfp)
{
	struct memwatch_target *t = kzalloc(sizeof(*t), gfp);
	int i;

	if (!t)
		return NULL;
	t->pending = alloc_percpu_gfp(struct mw_pending, gfp);
	if (!t->pending) {
		kfree(t);
		return NULL;
	}
	atomic64_add(sizeof(*t), &mw_mem);
	refcount_set(&t->ref, 1);
	spin_lock_init(&t->lock);
	t->extents = RB_ROOT;
	INIT_LIST_HEAD(&t->regions);
	INIT_LIST_HEAD(&t->spare_regions);
	INIT_WORK(&t->refill, refill_work_fn);
	t->pid = get_task_pid(task, PIDTYPE_TGID);
	t->ns = get_pid_ns(ns);
	t->uid = task_uid(task);
	t->flags = flags;
	t->state = MEMWATCH_WATCH_STATE_LIVE;
	t->start_ns = ktime_get_ns();
	t->next_id = 1;
	copy_comm(t->comm, task);
	for (i = 0; i < ATTR_TARGET && gfpflags_allow_blocking(gfp); i++) {
		struct mw_attr *a = kmem_cache_alloc(attr_cache, GFP_KERNEL);

		if (!a)
			break;
		atomic64_add(sizeof(*a), &mw_mem);
		a->next = t->attr_free;
		t->attr_free = a;
		t->nr_attr_free++;
	}
	pr_debug("target %p created\n", t);
	return t;
}

static struct memwatch_target *__find_live_pid(struct pid *pid)
{
	struct memwatch_target *t;

	list_for_each_entry(t, &mw_targets, node)
		if (t->pid == pid && t->state == MEMWATCH_WATCH_STATE_LIVE)
			return t;
	return NULL;
}

/* Puts @t on mw_targets and in memwatch_hash, keyed by @mm; mw_lock held. */
static void __list(struct memwatch_target *t, struct mm_struct *mm)
{
	lockdep_assert_held(&mw_lock);
	t->mm = mm;
	hash_add_rcu(memwatch_hash, &t->hnode, (unsigned long)mm);
	list_add_tail_rcu(&t->node, &mw_targets);
	t->listed = true;
	mw_nr_targets++;
	mw_gen++;
	atomic_inc(&memwatch_nr_live);
}

/* Room for one more watch, giving back exited ones first; mw_lock held. */
static bool __room(void)
{
	lockdep_assert_held(&mw_lock);
	if (mw_nr_targets >= READ_ONCE(memwatch_max_watches) && mw_nr_exited)
		__evict_exited(mw_nr_exited - 1);
	return mw_nr_targets < READ_ONCE(memwatch_max_watches);
}

/*
 * Watches @child, whose parent's watch @pt follows forks, from probe
 * context: its address space @mm is new and no one else uses it yet. Its
 * mappings become regions, made by @creator if it exec'd, else preexisting.
 */
static void __kprobes follow(struct memwatch_target *pt,
			     struct task_struct *child, struct mm_struct *mm,
			     struct task_struct *creator)
{
	struct memwatch_target *t;
	struct memwatch_event ev = { .type = MEMWATCH_EVENT_FORK };
	bool ok = false;

	t = target_alloc(child, pt->flags, pt->ns, GFP_NOWAIT | __GFP_NOWARN);
	if (!t)
		goto drop;
	spin_lock(&mw_lock);
	if (__room() && !__find_live_pid(t->pid)) {
		__list(t, mm);
		ok = true;
	}
	spin_unlock(&mw_lock);
	if (!ok) {
		__target_put(t);
		goto drop;
	}
	if (mmap_read_trylock(mm)) {
		snapshot(t, mm, creator, GFP_NOWAIT);
		mmap_read_unlock(mm);
	} else {
		spin_lock(&t->lock);
		t->dropped_regions++;
		spin_unlock(&t->lock);
	}
	queue_work(system_unbound_wq, &t->refill);
	ev.pid = pid_nr_ns(t->pid, t->ns);
	ev.ppid = pid_nr_ns(pt->pid, t->ns);
	ev.tid = task_pid_nr_ns(child, t->ns);
	copy_comm(ev.comm, child);
	if (!memwatch_event_post(&ev))
		t->dropped_events++;
	return;
drop:
	spin_lock(&pt->lock);
	pt->dropped_events++;
	spin_unlock(&pt->lock);
}

/**
 * memwatch_watch() - start watching @task's thread group
 * @task: any thread of the process
 * @flags: MEMWATCH_WATCH_F_*
 *
 * Return: 0, -EPERM, -EINVAL (no address space), -EEXIST, -ENOSPC,
 * -EOPNOTSUPP (probes missing) or -ENOMEM.
 */
int memwatch_watch(struct task_struct *task, u32 flags)
{
	struct memwatch_target *t;
	struct mm_struct *mm;
	int ret;

	if (!may_read_task(task))
		return -EPERM;
	mm = get_task_mm(task);
	if (!mm)
		return -EINVAL;
	t = target_alloc(task, flags, task_active_pid_ns(current), GFP_KERNEL);
	if (!t) {
		mmput(mm);
		return -ENOMEM;
	}
	mutex_lock(&mw_watch_mutex);
	spin_lock(&mw_lock);
	if (__find_live_pid(t->pid)) {
		ret = -EEXIST;
		goto out_unlock;
	}
	if (!__room()) {
		ret = -ENOSPC;
		goto out_unlock;
	}
	spin_unlock(&mw_lock);
	ret = memwatch_probes_enable(true);
	if (ret)
		goto out_free;
	/* VMA changes wait while the snapshot runs; faults do not */
	mmap_read_lock(mm);
	spin_lock(&mw_lock);
	__list(t, mm);
	spin_unlock(&mw_lock);
	snapshot(t, mm, NULL, GFP_KERNEL);
	mmap_read_unlock(mm);
	mutex_unlock(&mw_watch_mutex);
	mmput(mm);
	return 0;

out_unlock:
	spin_unlock(&mw_lock);
out_free:
	mutex_unlock(&mw_watch_mutex);
	mmput(mm);
	target_free(t);
	return ret;
}

/**
 * memwatch_unwatch() - stop watching, or drop an exited watch's data
 * @t: the watch, referenced by the caller
 *
 * Return: 0, or -ENOENT if it was gone already.
 */
int memwatch_unwatch(struct memwatch_target *t)
{
	int ret = -ENOENT;

	spin_lock(&mw_lock);
	if (t->listed) {
		__unlist(t);
		ret = 0;
	}
	spin_unlock(&mw_lock);
	return ret;
}

/* ---- reports ------------------------------------------------------------ */

struct rep_extent {
	unsigned long start, end;
	u32 region;
};

/* Lists each region's extents together, lowest first (@ext is sorted). */
static void __group_extents(struct memwatch_report *rep,
			    const struct rep_extent *ext, u32 nr_ext)
{
	u32 i, pos = 0;

	for (i = 0; i < nr_ext; i++)
		rep->regions[ext[i].region].nr_extents++;
	for (i = 0; i < rep->nr_regions; i++) {
		rep->regions[i].first_extent = pos;
		pos += rep->regions[i].nr_extents;
		rep->regions[i].nr_extents = 0;
	}
	for (i = 0; i < nr_ext; i++) {
		struct memwatch_rep_region *rr = &rep->regions[ext[i].region];
		struct memwatch_rep_extent *re;

		re = &rep->extents[rr->first_extent + rr->nr_extents++];
		re->start = ext[i].start;
		re->end = ext[i].end;
	}
	rep->nr_extents = nr_ext;
}

static int cmp_region(const void *a, const void *b)
{
	const struct memwatch_rep_region *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

static int cmp_thread(const void *a, const void *b)
{
	const struct memwatch_rep_thread *x = a, *y = b;

	if (x->faulted != y->faulted)
		return x->faulted < y->faulted ? 1 : -1;
	return x->tid - y->tid;
}

/**
 * memwatch_report_free() - free a report
 * @rep: from memwatch_report(), or NULL
 */
void memwatch_report_free(struct memwatch_report *rep)
{
	if (!rep)
		return;
	kvfree(rep->regions);
	kvfree(rep->threads);
	kvfree(rep->extents);
	kfree(rep);
}

/*
 * Copies the regions under the target lock: static fields, counters,
 * extents and attribution. Fails with -EAGAIN when the watch grew past the
 * arrays sized before taking the lock.
 */
static int __copy_watch(struct memwatch_target *t, struct memwatch_report *rep,
			struct rep_extent *ext, u32 max_r, u32 max_e, u32 max_a,
		  u32 *nr_ext)
{
	struct mw_region *r;
	struct rb_node *n;
	u32 i = 0, ne = 0, na = 0;

	if (t->nr_regions > max_r)
		return -EAGAIN;
	list_for_each_entry(r, &t->regions, node) {
		struct memwatch_rep_region *rr = &rep->regions[i];
		struct mw_attr *a;

		r->rep_idx = i++;
		rr->id = r->id;
		rr->kind = r->kind;
		rr->flags = r->flags;
		rr->peak = r->peak;
		rr->faulted = r->faulted;
		rr->other_faulted = r->other_faulted;
		rr->created_ns = r->created_ns;
		rr->creator_tid = r->creator_tid;
		memcpy(rr->creator_comm, r->creator_comm, TASK_COMM_LEN);
		rr->reserved = r->fin_reserved;
		rr->committed = r->fin_committed;
		rr->touched = r->fin_touched;
		rr->start = ULONG_MAX;
		rr->first_thread = na;
		if (rep->threads) {
			for (a = r->attrs; a; a = a->next) {
				if (na >= max_a)
					return -EAGAIN;
				rep->threads[na].tid = a->tid;
				memcpy(rep->threads[na].comm, a->comm,
				       TASK_COMM_LEN);
				rep->threads[na].faulted = a->faulted;
				na++;
			}
		}
		rr->nr_threads = na - rr->first_thread;
	}
	for (n = rb_first(&t->extents); n; n = rb_next(n)) {
		struct mw_extent *e = rb_entry(n, struct mw_extent, rb);
		struct memwatch_rep_region *rr;

		if (ne >= max_e)
			return -EAGAIN;
		rr = &rep->regions[e->region->rep_idx];
		rr->start = min_t(u64, rr->start, e->start);
		rr->end = max_t(u64, rr->end, e->end);
		ext[ne].start = e->start;
		ext[ne].end = e->end;
		ext[ne].region = e->region->rep_idx;
		ne++;
	}
	rep->nr_regions = i;
	rep->nr_threads = na;
	*nr_ext = ne;
	rep->peak = max_t(s64, t->peak, 0);
	rep->execs = t->execs;
	rep->dropped_regions = t->dropped_regions;
	rep->dropped_events = t->dropped_events;
	return 0;
}

/* Lets the stack region follow the stack VMA's growth; both locks held. */
static void __follow_stack(struct memwatch_target *t, struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	struct mw_extent *e;
	struct rb_node *prev;

	if (!t->stack)
		return;
	vma = find_vma(mm, mm->start_stack);
	if (!vma || !(vma->vm_flags & VM_GROWSDOWN))
		return;
	e = extent_at(t, vma->vm_end - 1);
	if (!e || e->region != t->stack || vma->vm_start >= e->start)
		return;
	prev = rb_prev(&e->rb);
	if (prev && rb_entry(prev, struct mw_extent, rb)->end > vma->vm_start)
		return;
	e->start = vma->vm_start;
}

/* The live process's mm, referenced, and its name now in @comm. */
static struct mm_struct *target_mm(struct memwatch_target *t, char *comm)
{
	struct task_struct *task;
	struct mm_struct *mm;

	if (memwatch_target_exited(t))
		return NULL;
	task = get_pid_task(t->pid, PIDTYPE_TGID);
	if (!task)
		return NULL;
	copy_comm(comm, task);
	mm = get_task_mm(task);
	put_task_struct(task);
	if (mm && mm != READ_ONCE(t->mm)) {
		mmput(mm);
		return NULL;
	}
	return mm;
}

/**
 * memwatch_report() - a consistent copy of a watch, with live figures
 * @t: the watch, referenced by the caller
 * @ns: pid namespace of the caller, for @pid
 * @details: also copy regions and attribution, not only totals
 *
 * For a live process the reserved, committed and touched bytes are read
 * from its VMAs and page tables under its mmap_lock, and the live counters
 * are reconciled with what was read.
 *
 * Return: the report, or an ERR_PTR.
 */
struct memwatch_report *memwatch_report(struct memwatch_target *t,
					struct pid_namespace *ns,
					bool details)
{
	char comm[TASK_COMM_LEN] = "";
	struct memwatch_report *rep;
	struct rep_extent *ext = NULL;
	struct mm_struct *mm;
	u32 max_r, max_e, max_a, nr_ext = 0, i;
	u64 gen = 0;
	int ret, tries = 0;

	rep = kzalloc(sizeof(*rep), GFP_KERNEL);
	if (!rep)
		return ERR_PTR(-ENOMEM);
	mm = target_mm(t, comm);
	if (mm)
		mmap_read_lock(mm);
retry:
	spin_lock(&t->lock);
	max_r = t->nr_regions + 16;
	max_e = t->nr_extents + t->nr_extents / 8 + 32;
	/* every entry in use, and room for threads faulting meanwhile */
	max_a = t->nr_attrs + t->nr_attrs / 8 + 64;
	spin_unlock(&t->lock);
	kvfree(rep->regions);
	kvfree(rep->threads);
	kvfree(ext);
	rep->threads = NULL;
	rep->regions = kvcalloc(max_r, sizeof(*rep->regions), GFP_KERNEL);
	ext = kvcalloc(max_e, sizeof(*ext), GFP_KERNEL);
	if (details)
		rep->threads = kvcalloc(max_a, sizeof(*rep->threads),
					GFP_KERNEL);
	ret = -ENOMEM;
	if (!rep->regions || !ext || (details && !rep->threads))
		goto fail;
	spin_lock(&t->lock);
	if (mm)
		__follow_stack(t, mm);
	__flush_all_pending(t);
	ret = __copy_watch(t, rep, ext, max_r, max_e, max_a, &nr_ext);
	gen = t->gen;
	spin_unlock(&t->lock);
	if (ret == -EAGAIN && ++tries < 8)
		goto retry;
	if (ret)
		goto fail;

	if (mm) {
		for (i = 0; i < rep->nr_regions; i++) {
			rep->regions[i].reserved = 0;
			rep->regions[i].committed = 0;
			rep->regions[i].touched = 0;
		}
		for (i = 0; i < nr_ext; i++) {
			struct memwatch_rep_region *rr;
			struct mw_sizes sz = {};

			rr = &rep->regions[ext[i].region];
			account(mm, ext[i].start, ext[i].end, rr->flags, &sz,
				true);
			rr->reserved += sz.reserved;
			rr->committed += sz.committed;
			rr->touched += sz.touched;
		}
	}
	if (details) {
		ret = -ENOMEM;
		rep->extents = kvcalloc(max_t(u32, nr_ext, 1),
					sizeof(*rep->extents), GFP_KERNEL);
		if (!rep->extents)
			goto fail;
		__group_extents(rep, ext, nr_ext);
	}
	for (i = 0; i < rep->nr_regions; i++) {
		struct memwatch_rep_region *rr = &rep->regions[i];

		rr->peak = max(rr->peak, rr->touched);
		rep->reserved += rr->reserved;
		rep->committed += rr->committed;
		rep->touched += rr->touched;
		rep->faulted += rr->faulted;
		if (rep->threads)
			sort(rep->threads + rr->first_thread, rr->nr_threads,
			     sizeof(*rep->threads), cmp_thread, NULL);
		if (rr->start == ULONG_MAX)
			rr->start = 0;
	}
	rep->peak = max(rep->peak, rep->touched);

	/* reconcile the live counters with what the page tables said */
	spin_lock(&t->lock);
	if (mm && gen == t->gen) {
		struct mw_region *r;

		list_for_each_entry(r, &t->regions, node) {
			if (r->rep_idx >= rep->nr_regions)
				continue;
			r->live = rep->regions[r->rep_idx].touched;
			r->peak = max_t(u64, r->peak, r->live);
		}
		t->live = rep->touched;
		t->peak = max_t(u64, t->peak, rep->touched);
	}
	rep->pid = pid_nr_ns(t->pid, ns);
	if (comm[0])		/* the name it has now */
		memcpy(t->comm, comm, TASK_COMM_LEN);
	memcpy(rep->comm, t->comm, TASK_COMM_LEN);
	rep->state = t->state;
	rep->flags = t->flags;
	rep->watch_ns = (t->state == MEMWATCH_WATCH_STATE_EXITED ?
			 t->end_ns : ktime_get_ns()) - t->start_ns;
	spin_unlock(&t->lock);

	if (mm) {
		mmap_read_unlock(mm);
		mmput(mm);
	}
	kvfree(ext);
	if (!details) {
		kvfree(rep->regions);
		rep->regions = NULL;
	} else {
		sort(rep->regions, rep->nr_regions, sizeof(*rep->regions),
		     cmp_region, NULL);
	}
	return rep;

fail:
	if (mm) {
		mmap_read_unlock(mm);
		mmput(mm);
	}
	kvfree(ext);
	memwatch_report_free(rep);
	return ERR_PTR(ret);
}

/**
 * memwatch_stats() - module-wide figures
 * @st: filled in
 */
void memwatch_stats(struct memwatch_stats *st)
{
	spin_lock(&mw_lock);
	st->watches = mw_nr_targets;
	spin_unlock(&mw_lock);
	st->regions = atomic64_read(&mw_regions);
	st->mem_bytes = atomic64_read(&mw_mem);
}

#ifdef DEBUG
/* Extents are sorted, disjoint, and each region counts its own. */
static bool __extents_sane(struct memwatch_target *t)
{
	unsigned long last_end = 0;
	struct mw_region *r;
	struct rb_node *n;
	u32 nodes = 0, owned = 0, attrs = 0;

	for (n = rb_first(&t->extents); n; n = rb_next(n)) {
		struct mw_extent *e = rb_entry(n, struct mw_extent, rb);

		if (e->start >= e->end || e->start < last_end)
			return false;
		last_end = e->end;
		nodes++;
	}
	list_for_each_entry(r, &t->regions, node) {
		owned += r->nr_extents;
		attrs += r->nr_attrs;
	}
	return nodes == owned && nodes == t->nr_extents &&
	       attrs == t->nr_attrs;
}

static bool __selftest_add(struct memwatch_target *t, unsigned long start,
			   unsigned long end)
{
	struct mw_region *r = region_alloc(GFP_ATOMIC);
	struct mw_extent *e = extent_alloc(GFP_ATOMIC);

	if (!r || !e) {
		if (r)
			region_free(r);
		if (e)
			extent_free(e);
		return false;
	}
	__region_add(t, r, e, start, end);
	return true;
}

/*
 * Cuts, splits and refills of the extent tree on a watch with no process,
 * checked against what they must leave.
 */
static bool track_selftest(void)
{
	struct memwatch_target *t = kzalloc(sizeof(*t), GFP_KERNEL);
	struct mw_extent *e;
	bool ok = false;

	if (!t)
		return false;
	t->pending = alloc_percpu(struct mw_pending);
	if (!t->pending)
		goto out_free;
	spin_lock_init(&t->lock);
	t->extents = RB_ROOT;
	INIT_LIST_HEAD(&t->regions);
	INIT_LIST_HEAD(&t->spare_regions);
	spin_lock(&t->lock);
	if (!__selftest_add(t, 0x10000, 0x20000))
		goto out_unlock;
	__cut(t, 0x14000, 0x16000, false);	/* a hole: two extents */
	e = extent_at(t, 0x10000);
	if (!e || e->region->nr_extents != 2 || extent_at(t, 0x15000) ||
	    !__extents_sane(t))
		goto out_unlock;
	if (!__selftest_add(t, 0x14000, 0x15000))	/* into the hole */
		goto out_unlock;
	__split_at(t, 0x18000);
	if (t->nr_regions != 2 || e->region->nr_extents != 3 ||
	    !__extents_sane(t))
		goto out_unlock;
	__cut(t, 0x1f000, 0x30000, false);	/* the tail */
	if (extent_at(t, 0x1f000) || !extent_at(t, 0x1e000) ||
	    !__extents_sane(t))
		goto out_unlock;
	__cut(t, 0, 0x100000, false);		/* everything */
	ok = !t->nr_regions && RB_EMPTY_ROOT(&t->extents) &&
	     list_empty(&t->regions);
out_unlock:
	__drop_regions(t);
	free_spares(t);
	spin_unlock(&t->lock);
	free_percpu(t->pending);
out_free:
	kfree(t);
	return ok;
}
#endif

/**
 * memwatch_track_init() - set up tracking
 *
 * DEBUG builds first test the extent tree (track_selftest()).
 *
 * Return: 0, -ENOMEM, or -ENOTRECOVERABLE when a self-test fails.
 */
int memwatch_track_init(void)
{
	int ret;

	region_cache = KMEM_CACHE(mw_region, 0);
	extent_cache = KMEM_CACHE(mw_extent, 0);
	attr_cache = KMEM_CACHE(mw_attr, 0);
	ret = -ENOMEM;
	if (!region_cache || !extent_cache || !attr_cache)
		goto out_destroy;
#ifdef DEBUG
	ret = -ENOTRECOVERABLE;
	if (!track_selftest()) {
		pr_err("track self-tests: FAIL\n");
		goto out_destroy;
	}
	pr_info("track self-tests: pass\n");
#endif
	return 0;

out_destroy:
	kmem_cache_destroy(region_cache);
	kmem_cache_destroy(extent_cache);
	kmem_cache_destroy(attr_cache);
	return ret;
}

/* Probes are gone: no handler can reach a target any more. */
/**
 * memwatch_track_uninit() - drop every watch; the probes are gone already
 */
void memwatch_track_uninit(void)
{
	struct memwatch_target *t, *tmp;

	spin_lock(&mw_lock);
	list_for_each_entry_safe(t, tmp, &mw_targets, node)
		__unlist(t);
	spin_unlock(&mw_lock);
	flush_work(&mw_free_work);
	rcu_barrier();
	kmem_cache_destroy(region_cache);
	kmem_cache_destroy(extent_cache);
	kmem_cache_destroy(attr_cache);
}

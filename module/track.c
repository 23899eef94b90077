// SPDX-License-Identifier: GPL-2.0
/*
 * What the kernel's events do to a watched process's regions: the hooks
 * probes.c calls. VMA-level events (mmap, the munmap core, brk growth,
 * mremap) create, cut and move regions; page-level events (anonymous pages
 * mapped and unmapped) count live and peak touched bytes and, for faults,
 * faulted bytes and the faulting thread.
 *
 * Every hook runs in the context of the hooked kernel function's caller
 * and must not sleep: the page hooks run under the page table lock, and
 * every hook takes the watch's spinlock. Each returns at once unless its
 * mm belongs to a watch (the page hooks are handed the watch, looked up
 * under RCU by their caller). The VMA-level hooks run with the mm's
 * mmap_lock held for writing by current, except
 * memwatch_track_mremap_grown().
 */

#include <linux/err.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <uapi/linux/memwatch.h>

#include "region.h"
#include "stack.h"
#include "track.h"
#include "vaddr.h"
#include "watch.h"

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
void memwatch_track_mmap_begin(struct mm_struct *mm, unsigned long addr,
			       unsigned long len, unsigned long flags)
{
	unsigned long end = addr + PAGE_ALIGN(len);
	struct memwatch_target *t;
	struct mw_extent *e;

	if (!(flags & MAP_FIXED) || (flags & MAP_FIXED_NOREPLACE) ||
	    end <= addr)
		return;
	rcu_read_lock();
	t = memwatch_lookup(mm);
	if (!t)
		goto out;
	spin_lock(&t->lock);
	t->fixed_task = current;
	/*
	 * An anonymous MAP_FIXED inside one region (re)commits part of it, as
	 * the JVM commits its heap: the region stays. Otherwise the range
	 * leaves its regions now; a new mapping becomes a region on return.
	 */
	e = memwatch_extent_at(t, addr);
	t->fixed_inside = (flags & MAP_ANONYMOUS) && e && e->end >= end;
	if (!t->fixed_inside)
		__memwatch_cut(t, addr, end, true);
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
void memwatch_track_mmap_end(struct mm_struct *mm, unsigned long ret,
			     unsigned long len, unsigned long flags)
{
	struct memwatch_target *t;
	bool inside = false;

	rcu_read_lock();
	t = memwatch_lookup(mm);
	if (!t)
		goto out;
	if (!IS_ERR_VALUE(ret) && !(flags & MAP_ANONYMOUS)) {
		/* code that call stacks may run: name it */
		struct vm_area_struct *vma = find_vma(mm, ret);

		if (vma && vma->vm_start == ret)
			memwatch_code_map_note(t, vma, GFP_NOWAIT);
	}
	spin_lock(&t->lock);
	if (t->fixed_task == current) {
		inside = t->fixed_inside;
		t->fixed_task = NULL;
	}
	/* a MAP_FIXED that re-commits part of a region makes none */
	if (!IS_ERR_VALUE(ret) && (flags & MAP_ANONYMOUS) && !inside) {
		__memwatch_region_new(t, ret, ret + PAGE_ALIGN(len),
				      MEMWATCH_REGION_KIND_MMAP,
				      map_flags(flags), true);
	}
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
void memwatch_track_unmap(struct mm_struct *mm, unsigned long start,
			  unsigned long end)
{
	struct memwatch_target *t;

	rcu_read_lock();
	t = memwatch_lookup(mm);
	if (t) {
		spin_lock(&t->lock);
		/* MAP_FIXED's own unmap was handled by mmap_begin */
		if (t->fixed_task != current)
			__memwatch_cut(t, start, end, true);
		spin_unlock(&t->lock);
	}
	rcu_read_unlock();
}

/* The kernel failed after memwatch applied the change: count it. */
static void mark_dropped(struct mm_struct *mm)
{
	struct memwatch_target *t;

	rcu_read_lock();
	t = memwatch_lookup(mm);
	if (t) {
		spin_lock(&t->lock);
		t->dropped_regions++;
		spin_unlock(&t->lock);
	}
	rcu_read_unlock();
}

/**
 * memwatch_track_unmap_failed() - the munmap core failed after its entry
 * @mm: the address space
 *
 * memwatch applied the change at the entry: say that it may be wrong.
 */
void memwatch_track_unmap_failed(struct mm_struct *mm)
{
	mark_dropped(mm);
}

/**
 * memwatch_track_move_failed() - move_vma() failed after its entry
 * @mm: the address space
 */
void memwatch_track_move_failed(struct mm_struct *mm)
{
	mark_dropped(mm);
}

/**
 * memwatch_track_brk() - do_brk_flags() entry
 * @mm: current's address space, write-locked
 * @addr: start of the growth
 * @len: its length
 */
void memwatch_track_brk(struct mm_struct *mm, unsigned long addr,
			unsigned long len)
{
	unsigned long end = addr + PAGE_ALIGN(len);
	struct memwatch_target *t;
	struct mw_extent *e;

	/* do_brk_flags() also maps an ELF bss; only the heap is the heap */
	if (addr != PAGE_ALIGN(mm->brk) || addr < mm->start_brk || end <= addr)
		return;
	rcu_read_lock();
	t = memwatch_lookup(mm);
	if (!t)
		goto out;
	spin_lock(&t->lock);
	e = addr > 0 ? memwatch_extent_at(t, addr - 1) : NULL;
	if (t->heap && e && e->region == t->heap && e->end == addr) {
		__memwatch_cut(t, addr, end, false);
		e->end = end;
	} else {
		struct mw_region *r;

		/* a call stack only when the heap becomes a region */
		r = __memwatch_region_new(t, addr, end,
					  MEMWATCH_REGION_KIND_HEAP,
					  MEMWATCH_REGION_F_PRIVATE, !t->heap);
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
void memwatch_track_move(struct vm_area_struct *vma, unsigned long old_addr,
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
	t = memwatch_lookup(mm);
	if (!t)
		goto out;
	spin_lock(&t->lock);
	__memwatch_cut(t, new_addr, new_addr + new_len, true);
	if (dontunmap) {
		/*
		 * The old range stays mapped, empty; its pages move to a new
		 * region of kind mremap.
		 */
		moved = memwatch_resident(mm, old_addr, old_end, false);
		e = memwatch_extent_at(t, old_end - 1);
		if (e) {
			e->region->live -= moved;
			t->live -= moved;
		}
		goto add_new;
	}
	/* split the extents at the range's edges so that whole ones move */
	__memwatch_split_at(t, old_addr);
	__memwatch_split_at(t, old_end);
	while ((e = memwatch_extent_from(t, old_addr)) && e->start < old_end) {
		struct mw_extent *x = e;

		if (x->end > old_end)	/* the split failed: move what fits */
			x->end = old_end;
		rb_erase(&x->rb, &t->extents);
		x->region->nr_extents--;
		t->nr_extents--;
		x->start += new_addr - old_addr;
		x->end += new_addr - old_addr;
		memwatch_extent_insert(t, x);
		if (x->end == new_addr + old_len)
			last = x->region;
	}
	if (new_len > old_len && last) {
		e = memwatch_extent_at(t, new_addr + old_len - 1);
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
		r = __memwatch_region_new(t, new_addr, new_addr + new_len,
					  MEMWATCH_REGION_KIND_MREMAP, flags,
					  true);
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
void memwatch_track_mremap_grown(struct mm_struct *mm, unsigned long addr,
				 unsigned long old_len, unsigned long new_len)
{
	unsigned long old_end = addr + PAGE_ALIGN(old_len);
	unsigned long new_end = addr + PAGE_ALIGN(new_len);
	struct memwatch_target *t;
	struct mw_extent *e;

	if (new_end <= old_end || old_end <= addr)
		return;
	rcu_read_lock();
	t = memwatch_lookup(mm);
	if (!t)
		goto out;
	spin_lock(&t->lock);
	e = memwatch_extent_at(t, old_end - 1);
	if (e && e->end == old_end) {
		__memwatch_cut(t, old_end, new_end, false);
		e->end = new_end;
	}
	spin_unlock(&t->lock);
out:
	rcu_read_unlock();
}

/**
 * memwatch_track_rename() - a thread is taking a new name
 * @task: the thread, its name not yet changed
 * @comm: the new name
 *
 * Threads name themselves after they start: a JVM thread carries its
 * parent's name ("java") until it becomes "jar-loader-3", often after it
 * made its first region. Every place the thread is named in its watch
 * takes the new name, so that reports show the name people know, now or
 * as it was at the thread's exit. Renames are rare (once per thread, at
 * its start): a walk over the watch's regions is cheap enough.
 */
void memwatch_track_rename(struct task_struct *task, const char *comm)
{
	struct mm_struct *mm = READ_ONCE(task->mm);
	char name[TASK_COMM_LEN];
	struct memwatch_target *t;
	struct mw_region *r;
	struct mw_attr *a;

	if (!mm || (task->flags & PF_KTHREAD) || !memwatch_maybe_watched(mm))
		return;
	strscpy_pad(name, comm, sizeof(name));
	rcu_read_lock();
	t = memwatch_lookup(mm);
	if (!t)
		goto out;
	spin_lock(&t->lock);
	list_for_each_entry(r, &t->regions, node) {
		if (r->creator_gtid == task->pid)
			memcpy(r->creator_last_comm, name, sizeof(name));
		for (a = r->attrs; a; a = a->next)
			if (a->gtid == task->pid)
				memcpy(a->comm, name, sizeof(name));
	}
	spin_unlock(&t->lock);
out:
	rcu_read_unlock();
}

/*
 * A fault added @bytes at @addr to @r: sample current's stack if this is
 * its first fault here or the watch's turn to sample (a fault on the stack
 * itself: the copy stops before the page being faulted in). Called only
 * when the watch samples (fill_every): with sampling off, a fault pays
 * one test and no call. A sample stands for the bytes
 * faulted into @r since its previous one, so that the bytes the filling
 * stacks are credited with add up to (nearly) the region's faulted bytes.
 */
static void __fill(struct memwatch_target *t, struct mw_region *r,
		   unsigned long addr, u64 bytes, bool first)
{
	u64 id;
	int i;

	r->fill_pending += bytes;
	if (!first && t->fill_countdown > 1) {
		t->fill_countdown--;
		return;
	}
	t->fill_countdown = t->fill_every;
	id = __memwatch_stack_take(t, addr);
	for (i = 0; id && i < MW_FILL_SLOTS; i++) {
		if (r->fills[i].stack_id == id || !r->fills[i].stack_id) {
			r->fills[i].stack_id = id;
			r->fills[i].bytes += r->fill_pending;
			r->fill_pending = 0;
			return;
		}
	}
	r->fill_other += r->fill_pending;
	r->fill_pending = 0;
}

/* Region for a page at @addr of @vma: its extent, or the growing stack. */
static struct mw_region *__page_region(struct memwatch_target *t,
				       struct vm_area_struct *vma,
				       unsigned long addr)
{
	struct mw_extent *e = memwatch_extent_at(t, addr);

	if (e)
		return e->region;
	if ((vma->vm_flags & VM_GROWSDOWN) && t->stack)
		return t->stack;
	return NULL;
}

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
	__memwatch_flush_pending(t, this_cpu_ptr(t->pending));
	while (addr < end) {
		struct mw_extent *e = memwatch_extent_from(t, addr);
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
				bool first;

				r->faulted += bytes;
				first = __memwatch_credit_thread(t, r, bytes);
				if (t->fill_every)
					__fill(t, r, addr, bytes, first);
			}
		}
		addr = next;
	}
	t->peak = max_t(s64, t->peak, t->live);
}

/**
 * memwatch_track_page_add() - anonymous pages were mapped
 * @t: the watch of @vma's mm, from memwatch_lookup()
 * @vma: where, its page table lock held
 * @addr: first page's address
 * @nr: pages
 * @new: newly allocated pages (faults), not re-mapped ones
 */
void memwatch_track_page_add(struct memwatch_target *t,
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
	e = memwatch_extent_at(t, addr);
	if (nr > 1 && (!e || e->end < addr + bytes)) {
		__page_range(t, vma, addr, addr + bytes, true, fault);
		goto out;
	}
	r = __page_region(t, vma, addr);
	if (r) {
		struct mw_pending *p = this_cpu_ptr(t->pending);

		__memwatch_flush_pending(t, p);
		r->live += bytes;
		t->live += bytes;
		p->r = r;
		p->addr = addr;
		p->bytes = bytes;
		if (fault) {
			bool first;

			r->faulted += bytes;
			first = __memwatch_credit_thread(t, r, bytes);
			if (t->fill_every)
				__fill(t, r, addr, bytes, first);
		}
	}
out:
	spin_unlock(&t->lock);
}

/**
 * memwatch_track_page_remove() - anonymous pages were unmapped
 * @t: the watch of @vma's mm, from memwatch_lookup()
 * @vma: where, its page table lock held
 * @addr: first page's address
 * @nr: pages
 */
void memwatch_track_page_remove(struct memwatch_target *t,
				struct vm_area_struct *vma,
				unsigned long addr, unsigned long nr)
{
	u64 bytes = (u64)nr << PAGE_SHIFT;
	struct mw_extent *e;
	struct mw_region *r;

	spin_lock(&t->lock);
	e = memwatch_extent_at(t, addr);
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
			__memwatch_flush_pending(t, p);
		r->live -= bytes;
		t->live -= bytes;
	}
out:
	spin_unlock(&t->lock);
}

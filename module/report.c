// SPDX-License-Identifier: GPL-2.0
/*
 * Reports. A report copies a watch under its lock (regions, extents,
 * attribution, counters), then, for a live process, reads reserved,
 * committed and touched bytes from the VMAs and page tables over each
 * extent under the process's mmap_lock, so that at rest they equal what
 * /proc/PID/smaps says, and reconciles the live counters with them. An
 * exited process's figures are the ones frozen at its exit.
 */

#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <uapi/linux/memwatch.h>

#include "region.h"
#include "report.h"
#include "vaddr.h"
#include "watch.h"

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
		memcpy(rr->creator_last_comm, r->creator_last_comm,
		       TASK_COMM_LEN);
		rr->stack_id = r->stack_id;
		memcpy(rr->fills, r->fills, sizeof(rr->fills));
		rr->fill_other = r->fill_other;
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
	rep->nr_stacks = t->nr_stacks;
	rep->fill_every = t->fill_every;
	rep->dropped_stacks = t->dropped_stacks;
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
	e = memwatch_extent_at(t, vma->vm_end - 1);
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
	memwatch_copy_comm(comm, task);
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
	__memwatch_flush_all_pending(t);
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
			memwatch_account(mm, ext[i].start, ext[i].end,
					 rr->flags, &sz, true);
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
	st->watches = memwatch_watch_count();
	st->regions = memwatch_region_count();
	st->mem_bytes = memwatch_region_mem();
}

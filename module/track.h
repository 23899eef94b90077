/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hooks probes.c calls for VMA-level and page-level events of any
 * process; track.c implements them. None may sleep. Each returns at once
 * unless the mm is watched. The VMA-level hooks run with @mm's mmap_lock
 * held for writing by current, except memwatch_track_mremap_grown(); the
 * page-level ones under the page table lock, with the watch their caller
 * looked up under rcu_read_lock().
 */
#ifndef _MEMWATCH_TRACK_H
#define _MEMWATCH_TRACK_H

#include <linux/types.h>

struct memwatch_target;
struct mm_struct;
struct task_struct;
struct vm_area_struct;

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

void memwatch_track_page_add(struct memwatch_target *t,
			     struct vm_area_struct *vma, unsigned long addr,
			     unsigned long nr, bool new);
void memwatch_track_page_remove(struct memwatch_target *t,
				struct vm_area_struct *vma, unsigned long addr,
				unsigned long nr);

void memwatch_track_rename(struct task_struct *task, const char *comm);

#endif /* _MEMWATCH_TRACK_H */

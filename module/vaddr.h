/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading an address space: what its VMAs map over a range and how much
 * of that its page tables back with resident pages, counted as
 * /proc/PID/smaps counts them. Every function here needs the mm's
 * mmap_lock held (for reading at least) by the caller.
 */
#ifndef _MEMWATCH_VADDR_H
#define _MEMWATCH_VADDR_H

#include <linux/types.h>

struct mm_struct;
struct vm_area_struct;

/**
 * struct mw_sizes - what the VMAs over a range hold
 * @reserved: bytes mapped, whatever their protection
 * @committed: bytes mapped with some access
 * @touched: bytes backed by resident pages (smaps' Rss)
 */
struct mw_sizes {
	u64 reserved, committed, touched;
};

u64 memwatch_resident(struct mm_struct *mm, unsigned long addr,
		      unsigned long end, bool can_sleep);
bool memwatch_shared_anon(struct vm_area_struct *vma);
void memwatch_account(struct mm_struct *mm, unsigned long start,
		      unsigned long end, u32 flags, struct mw_sizes *sz,
		      bool can_sleep);
u32 memwatch_vma_kind(struct mm_struct *mm, struct vm_area_struct *vma,
		      u32 other);
u32 memwatch_vma_flags(struct vm_area_struct *vma);

#endif /* _MEMWATCH_VADDR_H */

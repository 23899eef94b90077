// SPDX-License-Identifier: GPL-2.0
/*
 * Page-table and VMA reading: the figures a report gives for a range of a
 * live address space (reserved, committed, touched), and how a VMA that
 * already exists is described as a region (kind and flags).
 *
 * The kernel's own helpers for this are out of a module's reach, so they
 * are written out here: walk_page_range() is not exported, and on 6.12
 * neither is __pte_offset_map(), which pte_offset_map() and
 * pte_offset_map_lock() call. The walk below goes through the inline
 * pgd/p4d/pud/pmd_offset() and pte_offset_kernel() (x86-64 keeps no page
 * table in highmem) under the mmap_lock, taking no page table lock: like
 * smaps, it reads each entry once and changes nothing.
 */

#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <uapi/linux/memwatch.h>

#include "vaddr.h"

/**
 * memwatch_resident() - bytes of a range backed by resident pages
 * @mm: the address space, its mmap_lock held by the caller
 * @addr: first byte
 * @end: one past the last
 * @can_sleep: the caller may be rescheduled between page tables
 *
 * Counted as smaps counts Rss: the shared zero page and the huge zero page
 * are not counted. Page tables cannot be freed under the mmap_lock, and RCU
 * covers the ones freed lazily.
 *
 * Return: the bytes.
 */
u64 memwatch_resident(struct mm_struct *mm, unsigned long addr,
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
		/*
		 * Only anonymous and shmem VMAs are walked, never DAX, so a
		 * huge PMD here is a THP (pmd_devmap() is gone on 7.x).
		 */
		if (pmd_trans_huge(pmd)) {
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

/**
 * memwatch_shared_anon() - whether @vma is a shared anonymous mapping
 * @vma: the VMA
 *
 * MAP_SHARED|MAP_ANONYMOUS memory is shmem to the kernel: a file that
 * shmem_zero_setup() names "dev/zero". vma_is_shmem() and
 * vma_is_anon_shmem(), which would say so, are not exported; the name is
 * the one mark such a VMA carries that a module can read.
 *
 * Return: true if it is.
 */
bool memwatch_shared_anon(struct vm_area_struct *vma)
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
	return (flags & MEMWATCH_REGION_F_SHARED) && memwatch_shared_anon(vma);
}

/**
 * memwatch_account() - add what the VMAs over a range hold
 * @mm: the address space, its mmap_lock held by the caller
 * @start: first byte
 * @end: one past the last
 * @flags: MEMWATCH_REGION_F_* of the region the range belongs to
 * @sz: added to
 * @can_sleep: the caller may be rescheduled during the walk
 */
void memwatch_account(struct mm_struct *mm, unsigned long start,
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
			sz->touched += memwatch_resident(mm, s, e, can_sleep);
	}
}

/**
 * memwatch_vma_kind() - the kind of region an existing VMA is
 * @mm: its address space
 * @vma: the VMA
 * @other: the kind when it is neither the main stack nor the brk heap
 *
 * Return: enum memwatch_region_kind.
 */
u32 memwatch_vma_kind(struct mm_struct *mm, struct vm_area_struct *vma,
		      u32 other)
{
	if (vma->vm_start <= mm->start_stack && mm->start_stack < vma->vm_end)
		return MEMWATCH_REGION_KIND_STACK;
	if (vma->vm_start <= mm->brk && vma->vm_end >= mm->start_brk &&
	    mm->brk > mm->start_brk)
		return MEMWATCH_REGION_KIND_HEAP;
	return other;
}

/**
 * memwatch_vma_flags() - the region flags an existing VMA has
 * @vma: the VMA
 *
 * Return: MEMWATCH_REGION_F_*.
 */
u32 memwatch_vma_flags(struct vm_area_struct *vma)
{
	u32 f = vma->vm_flags & VM_SHARED ? MEMWATCH_REGION_F_SHARED :
					    MEMWATCH_REGION_F_PRIVATE;

	if (vma->vm_flags & VM_NORESERVE)
		f |= MEMWATCH_REGION_F_NORESERVE;
	if (vma->vm_flags & VM_GROWSDOWN)
		f |= MEMWATCH_REGION_F_STACK;
	return f;
}

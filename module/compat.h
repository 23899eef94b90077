/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference memwatch has to bridge lives here. The
 * switches are set by feature probes in Kbuild and name what the older
 * kernel cannot do. Force-included by Kbuild; never include it directly.
 */
#ifndef _MEMWATCH_COMPAT_H
#define _MEMWATCH_COMPAT_H

/*
 * 6.12 passes do_mmap() a vm_flags argument before pgoff; the arguments
 * memwatch reads (file, addr, len, prot, flags) keep their registers.
 * 6.1 has page_*_rmap(), 6.12 folio_*_rmap_*(): probes.c picks its
 * handlers by COMPAT_CANNOT_FOLIO_RMAP.
 * The munmap core is do_mas_align_munmap() on 6.1 and do_vmi_align_munmap()
 * on 6.12, both with start and end in the fourth and fifth argument.
 */
#ifdef COMPAT_CANNOT_VMI_MUNMAP
#define MEMWATCH_SYM_ALIGN_MUNMAP "do_mas_align_munmap"
#else
#define MEMWATCH_SYM_ALIGN_MUNMAP "do_vmi_align_munmap"
#endif

/*
 * ftrace direct calls grouped in an ftrace_ops: 6.1 names them _multi (its
 * plain register_ftrace_direct() takes one address) and leaves the filter
 * to be freed; 6.1 does not track call depth, so a trampoline has nothing
 * to account and an asm function called directly needs no padding.
 */
#ifdef COMPAT_CANNOT_DIRECT_OPS
#define memwatch_register_direct(ops, addr) register_ftrace_direct_multi(ops, addr)
#define memwatch_unregister_direct(ops, addr) unregister_ftrace_direct_multi(ops, addr)
#else
#define memwatch_register_direct(ops, addr) register_ftrace_direct(ops, addr)
#define memwatch_unregister_direct(ops, addr) unregister_ftrace_direct(ops, addr, false)
#endif

#ifdef COMPAT_CANNOT_CALL_DEPTH
#define CALL_DEPTH_ACCOUNT ""
#define ASM_FUNC_ALIGN ""
#endif

/* Before 6.16, rdmsrq_safe() was called rdmsrl_safe(). */
#ifdef COMPAT_CANNOT_RDMSRQ
#define rdmsrq_safe(msr, p) rdmsrl_safe(msr, p)
#endif

#ifdef COMPAT_CANNOT_GENL_INFO_DUMP
#define memwatch_dump_attrs(cb) (genl_dumpit_info(cb)->attrs)
#else
#define memwatch_dump_attrs(cb) (genl_info_dump(cb)->attrs)
#endif

/*
 * Kernels without permission flags on multicast groups let any process
 * join them; memwatch's events group asks for CAP_SYS_ADMIN where it can.
 */
#ifdef COMPAT_CANNOT_MCAST_PERM
#define GENL_MCAST_CAP_SYS_ADMIN 0
#endif

/*
 * Whether a process may be read by its owner (ptrace's uid match): 7.2
 * keeps the dumpable mode in task->exec_state, an RCU pointer to a struct
 * in linux/sched/exec_state.h (its getter is not exported); older kernels
 * keep it in the mm's flags. Called with task_lock held and task->mm set.
 */
#ifdef COMPAT_CANNOT_EXEC_STATE
#define memwatch_task_dumpable_owner(task)				\
	(get_dumpable((task)->mm) == SUID_DUMP_USER)
#else
#include <linux/sched/exec_state.h>

#define memwatch_task_dumpable_owner(task) ({				\
	struct task_exec_state *es__;					\
	bool ok__;							\
									\
	rcu_read_lock();						\
	es__ = rcu_dereference((task)->exec_state);			\
	ok__ = es__ && READ_ONCE(es__->dumpable) == TASK_DUMPABLE_OWNER;	\
	rcu_read_unlock();						\
	ok__;								\
})
#endif

/*
 * move_vma(vrm): the kernels with vma_flags_t pass one pointer to
 * mm/mremap.c's private struct vma_remap_struct. struct memwatch_vrm
 * mirrors its leading fields, the ones memwatch reads, checked field by
 * field against mm/mremap.c of Debian's 7.2.13 and 7.3 sources and the BTF
 * of the 7.2.12 and 7.3.4 kernels (offsets 0 to 64, unchanged). Kbuild
 * refuses a kernel that has the struct but not vma_flags_t. Older kernels
 * pass move_vma(vma, old_addr, old_len, new_len, new_addr, ..., flags)
 * (flags the seventh argument, on the stack): memwatch_move_vrm() fills a
 * struct memwatch_vrm from those arguments.
 */
struct memwatch_vrm {
	unsigned long addr;
	unsigned long old_len;
	unsigned long new_len;
	unsigned long flags;
	unsigned long new_addr;
	struct vm_userfaultfd_ctx *uf;
	struct list_head *uf_unmap_early;
	struct list_head *uf_unmap;
	struct vm_area_struct *vma;
};

/* @regs: move_vma()'s first five arguments and its seventh */
static inline const struct memwatch_vrm *
memwatch_move_vrm(const unsigned long regs[6], struct memwatch_vrm *buf)
{
#ifdef COMPAT_CANNOT_VMA_FLAGS
	buf->vma = (struct vm_area_struct *)regs[0];
	buf->addr = regs[1];
	buf->old_len = regs[2];
	buf->new_len = regs[3];
	buf->new_addr = regs[4];
	buf->flags = regs[5];
	return buf;
#else
	return (const struct memwatch_vrm *)regs[0];
#endif
}

#endif /* _MEMWATCH_COMPAT_H */

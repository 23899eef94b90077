/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference memwatch has to bridge lives here. The
 * switches are set by feature probes in Kbuild and name what the older
 * kernel cannot do. Force-included by Kbuild; never include it directly.
 */
#ifndef _MEMWATCH_COMPAT_H
#define _MEMWATCH_COMPAT_H

#include <linux/mm.h>

/*
 * 6.12 passes do_mmap() a vm_flags argument before pgoff (7.x a
 * vma_flags_t); the arguments memwatch reads (file, addr, len, prot,
 * flags) keep their registers on all.
 * 5.10 and 6.1 have page_*_rmap(), later kernels folio_*_rmap_*(): probes.c
 * picks its handlers by COMPAT_CANNOT_FOLIO_RMAP (and, for 5.10's
 * page_remove_rmap() without a VMA, COMPAT_CANNOT_RMAP_VMA).
 * The munmap core is do_mas_align_munmap() on 6.1 and do_vmi_align_munmap()
 * from 6.12 on, both with start and end in the fourth and fifth argument;
 * 5.10 has no aligned core: __do_munmap() takes the caller's range.
 */
#ifdef COMPAT_CANNOT_ALIGN_MUNMAP
#define MEMWATCH_SYM_ALIGN_MUNMAP "__do_munmap"
#elif defined(COMPAT_CANNOT_VMI_MUNMAP)
#define MEMWATCH_SYM_ALIGN_MUNMAP "do_mas_align_munmap"
#else
#define MEMWATCH_SYM_ALIGN_MUNMAP "do_vmi_align_munmap"
#endif

/*
 * The munmap core's mm and range from its first five arguments: (vmi, vma,
 * mm, start, end, ...) from 6.1 on; 5.10's __do_munmap(mm, start, len, uf,
 * downgrade) checks the range itself. Return: false if it refuses it.
 */
static inline bool memwatch_munmap_args(const unsigned long regs[5],
					struct mm_struct **mm,
					unsigned long *start,
					unsigned long *end)
{
#ifdef COMPAT_CANNOT_ALIGN_MUNMAP
	unsigned long len = regs[2];

	*mm = (struct mm_struct *)regs[0];
	*start = regs[1];
	if ((*start & ~PAGE_MASK) || *start > TASK_SIZE ||
	    len > TASK_SIZE - *start || !len)
		return false;
	*end = *start + PAGE_ALIGN(len);
#else
	*mm = (struct mm_struct *)regs[2];
	*start = regs[3];
	*end = regs[4];
#endif
	return true;
}

/*
 * do_brk_flags()'s range from its first four arguments: (vmi, vma, addr,
 * len, flags) from 6.1 on; without the VMA iterator (5.10), (addr, len,
 * flags, uf).
 */
static inline void memwatch_brk_args(const unsigned long regs[4],
				     unsigned long *addr, unsigned long *len)
{
#ifdef COMPAT_CANNOT_VMA_ITER
	*addr = regs[0];
	*len = regs[1];
#else
	*addr = regs[2];
	*len = regs[3];
#endif
}

/*
 * ftrace direct calls grouped in an ftrace_ops: 6.1 names them _multi (its
 * plain register_ftrace_direct() takes one address) and leaves the filter
 * to be freed; 6.1 does not track call depth, so a trampoline has nothing
 * to account and an asm function called directly needs no padding.
 */
#ifdef COMPAT_CANNOT_DIRECT_MULTI
/*
 * 5.10 attaches one direct call by the address of the function's ftrace
 * site (its first instruction there), with no ftrace_ops filter (and does
 * not export ftrace_free_filter()). kallsyms_lookup_name() is not
 * exported: a kprobe on the symbol, registered and dropped, finds the
 * address, which the ops keep for the registration and its undoing.
 */
#include <linux/ftrace.h>
#include <linux/kprobes.h>

static inline int memwatch_ftrace_set_filter(struct ftrace_ops *ops,
					     unsigned char *buf, int len,
					     int reset)
{
	struct kprobe kp = { .symbol_name = (const char *)buf };
	int ret;

	if (len <= 0 || !reset)
		return -EINVAL;
	ret = register_kprobe(&kp);
	if (ret)
		return ret;
	unregister_kprobe(&kp);
	ops->private = (void *)kp.addr;
	return 0;
}

static inline void memwatch_ftrace_free_filter(struct ftrace_ops *ops)
{
	ops->private = NULL;
}

#define ftrace_set_filter memwatch_ftrace_set_filter
#define ftrace_free_filter memwatch_ftrace_free_filter
#define memwatch_register_direct(ops, addr)				\
	register_ftrace_direct((unsigned long)(ops)->private, addr)
#define memwatch_unregister_direct(ops, addr)				\
	unregister_ftrace_direct((unsigned long)(ops)->private, addr)
#elif defined(COMPAT_CANNOT_DIRECT_OPS)
#define memwatch_register_direct(ops, addr) register_ftrace_direct_multi(ops, addr)
#define memwatch_unregister_direct(ops, addr) unregister_ftrace_direct_multi(ops, addr)
#else
#define memwatch_register_direct(ops, addr) register_ftrace_direct(ops, addr)
#define memwatch_unregister_direct(ops, addr) unregister_ftrace_direct(ops, addr, false)
#endif

/* 5.10 has no IBT (no asm/ibt.h) and only the asm form of UNWIND_HINT_FUNC */
#ifdef COMPAT_CANNOT_IBT
#define ASM_ENDBR ""
#endif

/*
 * 5.10 knows no CET and never enables it: the MSR (Intel SDM) reads as 0
 * or not at all, as on a CPU without CET.
 */
#ifdef COMPAT_CANNOT_CET
#define MSR_IA32_S_CET 0x000006a2
#define CET_SHSTK_EN BIT_ULL(0)
#endif

#ifdef COMPAT_CANNOT_C_UNWIND_FUNC
#define UNWIND_HINT_FUNC UNWIND_HINT(ORC_REG_SP, 8, UNWIND_HINT_TYPE_FUNC, 0)
#endif

#ifdef COMPAT_CANNOT_CALL_DEPTH
#define CALL_DEPTH_ACCOUNT ""
#define ASM_FUNC_ALIGN ""
#endif

/* Before 6.16, rdmsrq_safe() was called rdmsrl_safe(). */
#ifdef COMPAT_CANNOT_RDMSRQ
#define rdmsrq_safe(msr, p) rdmsrl_safe(msr, p)
#endif

#ifdef COMPAT_CANNOT_RANDOM_BELOW
#define get_random_u32_below(ceil) prandom_u32_max(ceil)
#endif

/*
 * 5.10 has no VMA iterator (no maple tree): the VMAs are a list sorted by
 * address, and find_vma() gives the first that ends above an address, as
 * vma_iter_init() then vma_next() do on later kernels.
 */
#ifdef COMPAT_CANNOT_VMA_ITER
#include <linux/mm_types.h>

struct vma_iterator {
	struct vm_area_struct *next;
};

#define vma_iter_init(vmi, mm, addr) ((vmi)->next = find_vma(mm, addr))
static inline struct vm_area_struct *
memwatch_vma_next(struct vma_iterator *vmi)
{
	struct vm_area_struct *vma = vmi->next;

	if (vma)
		vmi->next = vma->vm_next;
	return vma;
}

/* the next VMA that starts below @end */
static inline struct vm_area_struct *
memwatch_vma_find(struct vma_iterator *vmi, unsigned long end)
{
	struct vm_area_struct *vma = memwatch_vma_next(vmi);

	return vma && vma->vm_start < end ? vma : NULL;
}

#define for_each_vma(vmi, vma)						\
	for (; ((vma) = memwatch_vma_next(&(vmi))) != NULL; )
#define for_each_vma_range(vmi, vma, end)				\
	for (; ((vma) = memwatch_vma_find(&(vmi), end)) != NULL; )
#endif

/*
 * 5.10's extended ack cannot name a missing attribute; the message that
 * goes with it still says which.
 */
#ifdef COMPAT_CANNOT_ATTR_MISS
struct netlink_ext_ack;
struct nlattr;

static inline void memwatch_attr_miss(struct netlink_ext_ack *extack,
				      const struct nlattr *nest, int type)
{
}

#define NL_SET_ERR_ATTR_MISS memwatch_attr_miss
#define GENL_REQ_ATTR_CHECK(info, attr) (!(info)->attrs[attr])
#endif

/*
 * 5.10 has no ftrace_test_recursion_trylock() for modules. The same lock:
 * one bit per context (normal, softirq, irq, NMI) and CPU, taken with
 * preemption disabled.
 */
#ifdef COMPAT_CANNOT_RECURSION_LOCK
#include <linux/hardirq.h>
#include <linux/percpu.h>
#include <linux/preempt.h>

static DEFINE_PER_CPU(unsigned long, memwatch_recursion) __maybe_unused;

static inline int memwatch_recursion_trylock(unsigned long ip,
					     unsigned long parent_ip)
{
	int bit = in_nmi() ? 3 : in_irq() ? 2 : in_serving_softirq() ? 1 : 0;

	preempt_disable_notrace();
	if (__this_cpu_read(memwatch_recursion) & BIT(bit)) {
		preempt_enable_notrace();
		return -1;
	}
	__this_cpu_or(memwatch_recursion, BIT(bit));
	return bit;
}

static inline void memwatch_recursion_unlock(int bit)
{
	__this_cpu_and(memwatch_recursion, ~BIT(bit));
	preempt_enable_notrace();
}

#define ftrace_test_recursion_trylock memwatch_recursion_trylock
#define ftrace_test_recursion_unlock memwatch_recursion_unlock
#endif

/*
 * 5.10's rmap calls: page_remove_rmap(page, compound) gets no VMA (probes.c
 * finds it from the callers that know it), and page_add_anon_rmap(page,
 * vma, address, compound) is a wrapper around do_page_add_anon_rmap(page,
 * vma, address, flags), which do_swap_page() also calls: that one takes
 * the flags (RMAP_COMPOUND) as 6.1's page_add_anon_rmap() does.
 */
#ifdef COMPAT_CANNOT_RMAP_VMA
#define MEMWATCH_SYM_ADD_ANON "do_page_add_anon_rmap"
#define rmap_t int
#else
#define MEMWATCH_SYM_ADD_ANON "page_add_anon_rmap"
#endif

/*
 * From 6.0 on the generic netlink core refuses a request whose header's
 * reserved field is set, and attributes sent to a command without a
 * policy; on 5.10 memwatch's doit handlers do, first thing.
 */
struct genl_info;

#ifdef COMPAT_CANNOT_RESV_CHECK
#include <net/genetlink.h>

static inline int memwatch_genl_strict(struct genl_info *info,
				       bool has_policy)
{
	if (info->genlhdr->reserved) {
		NL_SET_ERR_MSG(info->extack, "reserved header field must be 0");
		return -EINVAL;
	}
	if (!has_policy && nlmsg_attrlen(info->nlhdr, GENL_HDRLEN)) {
		NL_SET_ERR_MSG(info->extack, "this command takes no attributes");
		return -EINVAL;
	}
	return 0;
}
#else
static inline int memwatch_genl_strict(struct genl_info *info,
				       bool has_policy)
{
	return 0;
}
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

/*
 * Until 5.14 (5.10 here) a page fault taken in a kprobe handler counts as
 * a missed hit of that kprobe (kprobe_fault_handler()), even when the
 * exception table fixes it up, as it does for a stack copy that runs past
 * the end of the stack or into a page never touched (a caller's unused
 * local array). There the copy is bounded by the stack's VMA and stops
 * before a page the page tables do not map (MEMWATCH_COPY_ONLY_RESIDENT),
 * which every hook that copies may look up: 5.10's page faults and VMA
 * changes hold the mmap_lock. Later kernels copy until a page is missing.
 */
#ifdef COMPAT_CANNOT_QUIET_KPROBE_FAULT
#define MEMWATCH_COPY_ONLY_RESIDENT	true
static inline unsigned long memwatch_user_stack_room(unsigned long sp,
						     unsigned long want)
{
	struct vm_area_struct *vma = find_vma(current->mm, sp);

	if (!vma || vma->vm_start > sp)
		return 0;
	return min(want, vma->vm_end - sp);
}
#else
#define MEMWATCH_COPY_ONLY_RESIDENT	false
static inline unsigned long memwatch_user_stack_room(unsigned long sp,
						     unsigned long want)
{
	return want;
}
#endif

#endif /* _MEMWATCH_COMPAT_H */

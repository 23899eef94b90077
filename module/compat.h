/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference memwatch has to bridge lives here. The
 * switches are set by feature probes in Kbuild and name what the older
 * kernel cannot do. Force-included by Kbuild; never include it directly.
 */
#ifndef _MEMWATCH_COMPAT_H
#define _MEMWATCH_COMPAT_H

/* Kbuild refuses kernels outside 6.1 to 6.12. */

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

#endif /* _MEMWATCH_COMPAT_H */

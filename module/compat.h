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
 * 6.1 has page_*_rmap(), 6.12 folio_*_rmap_*(): probes.c picks its table.
 * The munmap core is do_mas_align_munmap() on 6.1 and do_vmi_align_munmap()
 * on 6.12, both with start and end in the fourth and fifth argument.
 */
#ifdef COMPAT_CANNOT_VMI_MUNMAP
#define MEMWATCH_SYM_ALIGN_MUNMAP "do_mas_align_munmap"
#else
#define MEMWATCH_SYM_ALIGN_MUNMAP "do_vmi_align_munmap"
#endif

/*
 * An ftrace callback's arguments: 6.1's struct ftrace_regs is a pt_regs
 * with the argument registers filled in; 6.12 hides it behind accessors.
 */
#ifdef COMPAT_CANNOT_FTRACE_REGS_ARG
#define memwatch_ftrace_arg(fregs, n) regs_get_kernel_argument(&(fregs)->regs, n)
#else
#define memwatch_ftrace_arg(fregs, n) ftrace_regs_get_argument(fregs, n)
#endif

#ifdef COMPAT_CANNOT_GENL_INFO_DUMP
#define memwatch_dump_attrs(cb) (genl_dumpit_info(cb)->attrs)
#else
#define memwatch_dump_attrs(cb) (genl_info_dump(cb)->attrs)
#endif

#endif /* _MEMWATCH_COMPAT_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Call stacks from raw samples: the module captures, for a system call that
 * creates a region (and for sampled page faults), the user registers and a
 * copy of the top of the user stack, as `perf record --call-graph dwarf`
 * does, plus a log of the process's executable file mappings. This unit
 * unwinds such a sample with the binaries' CFI (.eh_frame, .debug_frame)
 * through elfutils' libdwfl, as frame pointers are missing from Debian 12's
 * glibc and zlib, and names each frame: function and offset from the ELF
 * symbol table, .gnu_debugdata or separate debug info under /usr/lib/debug,
 * the file and its build id; JIT code through /tmp/perf-PID.map.
 *
 * Nothing here reads /proc: the files are opened by the paths the module
 * logged, so a sample unwinds after its process exited or its library was
 * unloaded, as long as the file is still on disk and unchanged. A file
 * replaced since (a package upgrade) is caught only when its segments no
 * longer fit the logged mapping; otherwise its names are those of the new
 * file. x86-64 only.
 */
#ifndef MEMWATCHCTL_UNWIND_H
#define MEMWATCHCTL_UNWIND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * struct mw_code_map (an executable file mapping the module logged) and
 * struct mw_raw_stack (a sample: registers in DWARF's x86-64 numbering
 * and the top of the user stack) are the module's replies.
 */
#include "replies.h"

#define MW_UNWIND_NREGS MEMWATCH_STACK_NR_REGS
#define MW_UNWIND_REG_SP 7
#define MW_UNWIND_REG_PC 16

/* One frame of an unwound stack; the strings belong to the frame. */
struct mw_frame {
	uint64_t addr;		/* pc (for frames above the first: the return address, as perf prints it) */
	char *symbol;		/* function name, not demangled; NULL if unknown */
	uint64_t offset;	/* addr - symbol start */
	char *module;		/* path of the ELF file, "[perf-PID.map]" for JIT code, NULL if none */
	char *build_id;		/* hex string, NULL if none */
};

/* Opaque: a process's libdwfl Dwfls, one per epoch of its maps, and perf map. */
struct mw_unwinder;

/*
 * An unwinder for one process. maps are copied (paths too), in any order;
 * a map whose path ends in " (deleted)" (unlinked when it was logged) has
 * unknown frames. perf_map_pid, unless 0, names /tmp/perf-PID.map, read here
 * once if it exists: addresses outside every ELF file are looked up in it.
 * Files are opened when a sample first needs them, not here.
 * Returns NULL with errno set: ENOMEM; EINVAL for maps NULL with nmaps
 * not 0, or a map with end <= start or no path.
 */
struct mw_unwinder *mw_unwinder_new(const struct mw_code_map *maps,
				    size_t nmaps, pid_t perf_map_pid);

/*
 * Unwind one sample into at most max_frames frames, innermost first. It
 * sees the maps mapped at or before s->ns; for an address range mapped more
 * than once (dlclose, then dlopen at the same address), the latest one
 * mapped at or before s->ns. The walk stops at the end of s->data, at a
 * pc in a file mapped only after s->ns (its frame is unknown), at code
 * without CFI (unknown code, or JIT code, whose frame is named: the walk
 * goes on only if libdwfl's frame-pointer fallback finds a caller), at a
 * frame whose stack pointer goes down, and after max_frames frames.
 * Returns the number of frames (1 when only the pc is known, whether named
 * or not), or -EINVAL (NULL argument, max_frames 0) or -ENOMEM. Release
 * the frames with mw_frames_release().
 */
int mw_unwind(struct mw_unwinder *u, const struct mw_raw_stack *s,
	      struct mw_frame *frames, size_t max_frames);

/* Frees the strings of n frames that mw_unwind() filled. */
void mw_frames_release(struct mw_frame *frames, size_t n);

/* Ends every Dwfl of u and frees it; NULL is a no-op. */
void mw_unwinder_free(struct mw_unwinder *u);

/*
 * For measurements and tests: how many Dwfls u has built so far
 * (one per set of maps that samples needed, rebuilt after eviction) and
 * how many it holds now (at most MW_UNWIND_SPACES).
 */
#define MW_UNWIND_SPACES 8
void mw_unwinder_stats(const struct mw_unwinder *u, unsigned long *built,
		       unsigned int *live);

#endif /* MEMWATCHCTL_UNWIND_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User call stacks: the samples memwatch takes when a system call creates
 * a region, the watch's table of unique samples, and the log of the
 * process's executable file mappings that memwatchctl needs to unwind and
 * name them. stack.c implements it.
 *
 * Locking: the table and the log belong to the watch and change under its
 * lock; a sample is taken under it too (it copies user memory without
 * faulting). Nothing here sleeps.
 */
#ifndef _MEMWATCH_STACK_H
#define _MEMWATCH_STACK_H

#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/types.h>
#include <uapi/linux/memwatch.h>

struct memwatch_target;
struct mm_struct;
struct vm_area_struct;

/* Code words a signature takes at most: deeper frames do not tell more. */
#define MW_SIG_WORDS		64

/* Samples a watch checks first, by program counter and stack pointer. */
#define MW_RECENT_STACKS_BITS	3

/**
 * struct mw_stack - a sample: user registers and the top of the user stack
 * @hnode: in &memwatch_target.stack_hash, by @hash
 * @node: in &memwatch_target.stacks, oldest (lowest @id) first
 * @id: unique within the watch, never 0
 * @hash: the sample's code signature (see stack.c), to find an equal one
 * @ns: when it was first taken, since the watch started
 * @regs: MEMWATCH_STACK_NR_REGS registers, in DWARF's x86-64 numbering
 * @nr_code: entries in @code_at
 * @code_at: the words of @data the signature took, by index
 * @size: bytes in @data
 * @data: user memory from the stack pointer up
 */
struct mw_stack {
	struct hlist_node hnode;
	struct list_head node;
	u64 id;
	u64 hash;
	u64 ns;
	u64 regs[MEMWATCH_STACK_NR_REGS];
	u16 nr_code;
	u16 code_at[MW_SIG_WORDS];
	u32 size;
	u8 data[];
};

/**
 * struct mw_code_map - an executable file mapping of the watched process
 * @node: in &memwatch_target.code_maps, in the order they were mapped
 * @start: first byte
 * @end: one past the last
 * @pgoff: file offset of @start, in bytes
 * @ns: when it was mapped, since the watch started (0: before it)
 * @path: the file, as d_path() gave it
 */
struct mw_code_map {
	struct list_head node;
	u64 start, end, pgoff, ns;
	char path[];
};

/**
 * struct mw_code_range - where a watched process has executable file code
 * @start: first byte
 * @end: one past the last
 */
struct mw_code_range {
	unsigned long start, end;
};

u64 __memwatch_stack_take(struct memwatch_target *t, unsigned long hole);

void memwatch_code_map_note(struct memwatch_target *t,
			    struct vm_area_struct *vma, gfp_t gfp);

void __memwatch_stacks_drop(struct memwatch_target *t);

extern unsigned int memwatch_stack_bytes;
extern unsigned int memwatch_max_stacks;
extern unsigned int memwatch_max_code_maps;
extern unsigned int memwatch_fill_every;

#endif /* _MEMWATCH_STACK_H */

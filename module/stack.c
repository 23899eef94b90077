// SPDX-License-Identifier: GPL-2.0
/*
 * User call stacks of watched processes: samples, their table per watch,
 * and the log of executable file mappings that names their code.
 *
 * A sample is what perf record --call-graph dwarf takes: the thread's user
 * registers (saved at the system call's entry) and a copy of the top of
 * its user stack, stack_bytes from the stack pointer up. Debian's glibc and
 * zlib are built without frame pointers, so the kernel cannot walk their
 * frames; memwatchctl unwinds the copy with the binaries' CFI (elfutils).
 * The copy does not fault (copy_from_user_nofault()): it stops at the
 * first page that is not present, where the stack ends or was swapped out.
 *
 * Samples of one code path are kept once. Two of them rarely have the same
 * bytes (local variables, another thread's stack), so they are matched by
 * a signature: the program counter and the words of the copy that point
 * into the process's executable files, in order; the return addresses of
 * the frames, and little else. A watch keeps at most max_stacks samples
 * and counts the rest as dropped. Their ids are unique within the watch
 * and outlive an exec, which drops the samples with the regions.
 *
 * Most samples repeat one: a loop that faults, a call site that maps over
 * and over. The signature reads every word of the copy, and the copy is
 * kilobytes, so before copying, the sample last found at the same program
 * counter and stack pointer is checked: if the user stack holds its code
 * words at the same distances from the stack pointer, the frames are the
 * same (each return address fixes the next frame's place, the frame of a
 * function that sizes its frame at run time aside) and so is the code
 * path, found by reading those few words.
 *
 * The code-map log records every executable file mapping the process has
 * had while watched, with the time it was mapped, so that a sample taken
 * before a dlclose() or the process's exit can still be named: memwatchctl
 * reads the files, not the process.
 */

#include <linux/dcache.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/hash.h>
#include <linux/hashtable.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "region.h"
#include "stack.h"
#include "vaddr.h"
#include "watch.h"

unsigned int memwatch_stack_bytes = 2048;
module_param_named(stack_bytes, memwatch_stack_bytes, uint, 0644);
MODULE_PARM_DESC(stack_bytes,
		 "bytes of user stack copied per call stack, at most 16384; 0 takes none (default 2048)");

unsigned int memwatch_max_stacks = 4096;
module_param_named(max_stacks, memwatch_max_stacks, uint, 0644);
MODULE_PARM_DESC(max_stacks,
		 "unique call stacks kept per watch (default 4096)");

unsigned int memwatch_fill_every = 64;
module_param_named(fill_every, memwatch_fill_every, uint, 0644);
MODULE_PARM_DESC(fill_every,
		 "a new watch samples the stack of each thread's first fault in a region and of one fault in this many; 0 samples none (default 64)");

unsigned int memwatch_max_code_maps = 1024;
module_param_named(max_code_maps, memwatch_max_code_maps, uint, 0644);
MODULE_PARM_DESC(max_code_maps,
		 "executable file mappings logged per watch (default 1024)");

#define MW_STACK_BYTES_MAX	16384

/* Where save_regs() puts the program counter. */
#define MW_REG_IP		(MEMWATCH_STACK_NR_REGS - 1)

/* The registers a sample keeps, in DWARF's x86-64 numbering. */
static void save_regs(u64 *out, const struct pt_regs *regs)
{
	out[0] = regs->ax;
	out[1] = regs->dx;
	out[2] = regs->cx;
	out[3] = regs->bx;
	out[4] = regs->si;
	out[5] = regs->di;
	out[6] = regs->bp;
	out[7] = regs->sp;
	out[8] = regs->r8;
	out[9] = regs->r9;
	out[10] = regs->r10;
	out[11] = regs->r11;
	out[12] = regs->r12;
	out[13] = regs->r13;
	out[14] = regs->r14;
	out[15] = regs->r15;
	out[MW_REG_IP] = regs->ip;
}

/* Whether current's samples are wanted by @t, its watch. */
static bool want_stacks(const struct memwatch_target *t)
{
	return READ_ONCE(memwatch_stack_bytes) &&
	       !(t->flags & MEMWATCH_WATCH_F_NO_STACKS) &&
	       !(current->flags & PF_KTHREAD) && current->mm == t->mm;
}

/* Whether a user page may be read here without a fault (compat.h). */
static bool may_read(unsigned long page)
{
	return !MEMWATCH_COPY_ONLY_RESIDENT ||
	       memwatch_resident(current->mm, page, page + PAGE_SIZE, false);
}

/*
 * Sample current's user stack, its registers @regs, stopping before @hole
 * (see __memwatch_stack_take()); @*cut says whether @hole shortened it.
 * Allocates without sleeping and copies without faulting.
 * Return: the sample, or NULL if no memory.
 */
static struct mw_stack *capture(struct memwatch_target *t,
				const struct pt_regs *regs, unsigned long hole,
				bool *cut)
{
	unsigned int want = min(READ_ONCE(memwatch_stack_bytes),
				MW_STACK_BYTES_MAX);
	unsigned long sp = regs->sp;
	struct mw_stack *s;
	unsigned int done;

	s = kmalloc(struct_size(s, data, want), GFP_NOWAIT | __GFP_NOWARN);
	if (!s)
		return NULL;
	save_regs(s->regs, regs);
	want = memwatch_user_stack_room(sp, want);
	*cut = hole >= (sp & PAGE_MASK) && hole - (sp & PAGE_MASK) < want;
	if (*cut)
		want = hole > sp ? hole - sp : 0;
	/* page by page, so that the copy keeps what precedes a hole */
	for (done = 0; done < want;) {
		unsigned long page = (sp + done) & PAGE_MASK;
		unsigned int n = min_t(unsigned long, want - done,
				       PAGE_SIZE - offset_in_page(sp + done));

		if (!may_read(page) ||
		    copy_from_user_nofault(s->data + done,
					   (const void __user *)(sp + done), n))
			break;
		done += n;
	}
	s->size = done;
	s->ns = memwatch_since(t);
	return s;
}

/* Whether @addr is in the watched process's executable files. */
static bool __in_code(const struct memwatch_target *t, unsigned long addr)
{
	u32 lo = 0, hi = t->nr_code_ranges;

	if (addr < t->code_lo || addr >= t->code_hi)
		return false;
	/* the last range that starts at or below @addr */
	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (t->code_ranges[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && addr < t->code_ranges[lo - 1].end;
}

/*
 * The code signature of a sample: its program counter, and the words of
 * its copy that point into executable files (return addresses, and the odd
 * function pointer a frame holds), in order. Two samples with the same
 * signature are taken to be the same code path. Notes in @s where those
 * words are, for __same_path().
 */
static u64 __signature(const struct memwatch_target *t, struct mw_stack *s)
{
	const unsigned long *w = (const unsigned long *)s->data;
	u64 h = s->regs[MW_REG_IP] * GOLDEN_RATIO_64;
	unsigned int i, n = s->size / sizeof(*w), found = 0;

	for (i = 0; i < n && found < MW_SIG_WORDS; i++) {
		if (!__in_code(t, w[i]))
			continue;
		h = (h ^ w[i]) * GOLDEN_RATIO_64;
		h ^= h >> 29;
		s->code_at[found++] = i;
	}
	s->nr_code = found;
	return h;
}

/*
 * Whether current, its user registers @regs, is on the code path of @s: at
 * the same program counter, with @s's code words at the same distances
 * from its stack pointer (in another thread's stack, too). Reads only
 * those words, and none of a page the copy would not read.
 */
static bool __same_path(const struct mw_stack *s, const struct pt_regs *regs)
{
	const unsigned long *w = (const unsigned long *)s->data;
	unsigned long page = 0, v;
	unsigned int i;

	if (s->regs[MW_REG_IP] != regs->ip)
		return false;
	for (i = 0; i < s->nr_code; i++) {
		unsigned long addr = regs->sp + s->code_at[i] * sizeof(*w);

		if ((addr & PAGE_MASK) != page) {
			page = addr & PAGE_MASK;
			if (!may_read(page))
				return false;
		}
		if (copy_from_user_nofault(&v, (const void __user *)addr,
					   sizeof(v)) ||
		    v != w[s->code_at[i]])
			return false;
	}
	return true;
}

static size_t stack_mem(const struct mw_stack *s)
{
	return struct_size(s, data, s->size);
}

/*
 * The sample of the table of @t with @s's code path: an equal one it has,
 * or @s, added. NULL if the table is full (counted in dropped_stacks).
 */
static struct mw_stack *__add(struct memwatch_target *t, struct mw_stack *s)
{
	struct mw_stack *o;

	s->hash = __signature(t, s);
	hash_for_each_possible(t->stack_hash, o, hnode, s->hash) {
		if (o->hash == s->hash &&
		    o->regs[MW_REG_IP] == s->regs[MW_REG_IP])
			return o;
	}
	if (t->nr_stacks >= READ_ONCE(memwatch_max_stacks)) {
		t->dropped_stacks++;
		return NULL;
	}
	s->id = ++t->next_stack_id;
	hash_add(t->stack_hash, &s->hnode, s->hash);
	list_add_tail(&s->node, &t->stacks);
	t->nr_stacks++;
	memwatch_region_add_mem(stack_mem(s));
	return s;
}

/**
 * __memwatch_stack_take() - current's call stack, as an id of its watch
 * @t: current's watch, its lock held
 * @hole: a user page being faulted in now, which the copy stops before
 *	(it has no data yet, and reading it would fault), or 0
 *
 * The latest sample found at current's program counter and stack pointer
 * is checked first (__same_path()); only if it is not current's code path
 * is the stack copied and matched by its signature. A copy that @hole cut
 * short is not remembered for that check: a later stack there, whole,
 * would match its first frames and lose the rest. Runs in any context
 * that may not sleep.
 *
 * Return: the id of the sample of current's code path, 0 if none is kept
 * (samples off, not a user thread of the watch, no memory, table full).
 */
u64 __memwatch_stack_take(struct memwatch_target *t, unsigned long hole)
{
	struct pt_regs *regs;
	struct mw_stack *s, *o, **recent;
	bool cut;

	if (!want_stacks(t))
		return 0;
	regs = task_pt_regs(current);
	recent = &t->recent_stacks[hash_64(regs->ip ^ regs->sp,
					   MW_RECENT_STACKS_BITS)];
	if (*recent && __same_path(*recent, regs))
		return (*recent)->id;
	s = capture(t, regs, hole, &cut);
	if (!s)
		return 0;
	o = __add(t, s);
	if (o != s)
		kfree(s);
	if (!o)
		return 0;
	if (!cut)
		*recent = o;
	return o->id;
}

/*
 * One more executable range, kept by start, under the watch's lock: the
 * array doubles without sleeping. max_code_maps bounds it.
 */
static bool __add_code_range(struct memwatch_target *t, unsigned long start,
			     unsigned long end)
{
	u32 n = t->nr_code_ranges, i;

	if (n == t->cap_code_ranges) {
		u32 cap = n ? 2 * n : 16;
		struct mw_code_range *r;

		r = krealloc(t->code_ranges, cap * sizeof(*r),
			     GFP_NOWAIT | __GFP_NOWARN);
		if (!r)
			return false;
		memwatch_region_add_mem((s64)(cap - n) * sizeof(*r));
		t->code_ranges = r;
		t->cap_code_ranges = cap;
	}
	for (i = n; i > 0 && t->code_ranges[i - 1].start > start; i--)
		t->code_ranges[i] = t->code_ranges[i - 1];
	t->code_ranges[i].start = start;
	t->code_ranges[i].end = end;
	t->nr_code_ranges++;
	if (!n || start < t->code_lo)
		t->code_lo = start;
	if (!n || end > t->code_hi)
		t->code_hi = end;
	return true;
}

/**
 * memwatch_code_map_note() - log an executable file mapping
 * @t: the watch of @vma's mm
 * @vma: the mapping, its mm's mmap_lock held
 * @gfp: how to allocate; the watch's lock is not held
 *
 * A mapping logged already (the same file, range and offset: a library
 * dlopen()ed again where it was before) is not logged twice.
 */
void memwatch_code_map_note(struct memwatch_target *t,
			    struct vm_area_struct *vma, gfp_t gfp)
{
	u64 pgoff = (u64)vma->vm_pgoff << PAGE_SHIFT;
	struct mw_code_map *m, *o;
	char *buf, *path;
	size_t len;

	if (!vma->vm_file || !(vma->vm_flags & VM_EXEC) ||
	    (t->flags & MEMWATCH_WATCH_F_NO_STACKS))
		return;
	buf = kmalloc(PATH_MAX, gfp | __GFP_NOWARN);
	if (!buf)
		goto lost;
	path = d_path(&vma->vm_file->f_path, buf, PATH_MAX);
	if (IS_ERR(path)) {
		kfree(buf);
		goto lost;
	}
	len = strlen(path) + 1;
	m = kmalloc(struct_size(m, path, len), gfp | __GFP_NOWARN);
	if (m) {
		m->start = vma->vm_start;
		m->end = vma->vm_end;
		m->pgoff = pgoff;
		m->ns = memwatch_since(t);
		memcpy(m->path, path, len);
	}
	kfree(buf);
	if (!m)
		goto lost;

	spin_lock(&t->lock);
	list_for_each_entry(o, &t->code_maps, node) {
		if (o->start == m->start && o->end == m->end &&
		    o->pgoff == m->pgoff && !strcmp(o->path, m->path)) {
			spin_unlock(&t->lock);
			kfree(m);
			return;
		}
	}
	if (t->nr_code_maps >= READ_ONCE(memwatch_max_code_maps) ||
	    !__add_code_range(t, m->start, m->end)) {
		t->dropped_stacks++;
		spin_unlock(&t->lock);
		kfree(m);
		return;
	}
	list_add_tail(&m->node, &t->code_maps);
	t->nr_code_maps++;
	memwatch_region_add_mem(struct_size(m, path, len));
	spin_unlock(&t->lock);
	return;
lost:
	spin_lock(&t->lock);
	t->dropped_stacks++;
	spin_unlock(&t->lock);
}

/**
 * __memwatch_stacks_drop() - free a watch's samples and code-map log
 * @t: the watch, its lock held or the watch unreachable
 *
 * At exec (the old program's code is gone) and when the watch is freed.
 * Ids go on from where they were.
 */
void __memwatch_stacks_drop(struct memwatch_target *t)
{
	struct mw_code_map *m, *mn;
	struct mw_stack *s, *sn;

	list_for_each_entry_safe(s, sn, &t->stacks, node) {
		memwatch_region_add_mem(-(s64)stack_mem(s));
		hash_del(&s->hnode);
		list_del(&s->node);
		kfree(s);
	}
	t->nr_stacks = 0;
	memset(t->recent_stacks, 0, sizeof(t->recent_stacks));
	list_for_each_entry_safe(m, mn, &t->code_maps, node) {
		memwatch_region_add_mem(-(s64)struct_size(m, path,
							  strlen(m->path) + 1));
		list_del(&m->node);
		kfree(m);
	}
	t->nr_code_maps = 0;
	memwatch_region_add_mem(-(s64)t->cap_code_ranges *
				sizeof(*t->code_ranges));
	kfree(t->code_ranges);
	t->code_ranges = NULL;
	t->nr_code_ranges = 0;
	t->cap_code_ranges = 0;
}

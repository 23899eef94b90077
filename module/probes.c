// SPDX-License-Identifier: GPL-2.0
/*
 * The probe table, its handlers, and attaching them. Each kernel function
 * memwatch hooks is hooked one of two ways, chosen per function at load
 * by the module parameter hooks:
 *
 * - an ftrace direct call (the fast way): the function's ftrace site calls
 *   a trampoline of ours (tramp.h), nothing between; no ftrace_regs, no
 *   list of ftrace_ops, no pt_regs. A function takes one direct call, so
 *   a BPF fentry/fexit program that holds it first keeps it, and while
 *   memwatch holds it such programs cannot attach.
 * - a kprobe, or a kretprobe where the return value matters (the kernel's
 *   own way, which shares the function with every other tracer and whose
 *   code paths the kernel maintains for IBT and the rest): the handler
 *   gets the pt_regs of the function's entry and return.
 *
 * hooks=direct uses only direct calls, hooks=kprobe only kprobes, and
 * hooks=auto (the default) a direct call where one attaches and a kprobe
 * where not. Either way the same handlers decode the same arguments and
 * call the hooks of track.c and watch.c, nothing else. They run in the
 * context of the hooked function's caller and must not sleep: the
 * VMA-level ones are preemptible under direct calls, the page-level ones
 * run under the page table lock and disable preemption for the tracking
 * (see fenter()), kprobe handlers and tracepoint ones run with preemption
 * off.
 *
 * The page-level functions run for every anonymous page any process maps
 * or unmaps; brk and exit_mmap() only need their arguments. Their
 * trampoline (MW_TRAMPOLINE) calls the handler and then lets the function
 * run; their kprobe calls it from the pre-handler. The other VMA-level
 * functions need their return value as well: their trampoline
 * (MW_WRAPPER) calls an entry handler, and for a watched process runs the
 * function itself and passes its return value to an exit handler before
 * returning to the caller, as BPF's fexit trampolines do; their
 * kretprobe calls the same two handlers at entry and return.
 *
 * All probes are attached at load and stay armed until unload; with no
 * live watch every handler returns after its first test, and an
 * unwatched process never has a function run from a wrapper.
 */

#include <linux/delay.h>
#include <linux/ftrace.h>
#include <linux/hash.h>
#include <linux/kprobes.h>
#include <linux/moduleparam.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/percpu.h>
#include <linux/ptrace.h>
#include <linux/rcupdate.h>
#include <linux/rmap.h>
#include <linux/sched/mm.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/utsname.h>
#include <uapi/linux/memwatch.h>
#include <uapi/linux/mman.h>
#include <asm/msr.h>

#include "probes.h"
#include "track.h"
#include "tramp.h"
#include "watch.h"

static char *hooks = "auto";
module_param(hooks, charp, 0444);
MODULE_PARM_DESC(hooks, "How kernel functions are hooked, read at load: auto (ftrace direct calls, kprobes where a direct call cannot attach), direct or kprobe (default auto)");

enum mw_hooks { MW_HOOKS_AUTO, MW_HOOKS_DIRECT, MW_HOOKS_KPROBE };

static const char *const hooks_names[] = {
	[MW_HOOKS_AUTO] = "auto",
	[MW_HOOKS_DIRECT] = "direct",
	[MW_HOOKS_KPROBE] = "kprobe",
};

enum mw_probe_type { MW_FUNCTION, MW_TRACEPOINT };

/**
 * struct mw_probe - one probe and its state
 * @symbol: function or tracepoint name
 * @type: enum mw_probe_type
 * @mech: enum memwatch_probe_mechanism it is attached with, or NONE
 * @fops: the ftrace_ops of the direct call
 * @tramp: the trampoline the direct call enters
 * @kp: the kprobe, for functions whose return does not matter
 * @rp: the kretprobe, for the others (@rp.handler set in the table)
 * @tp_func: handler, for MW_TRACEPOINT
 * @tp: the tracepoint found at load
 * @attached: registered
 * @error: errno of a failed registration
 */
struct mw_probe {
	const char *symbol;
	enum mw_probe_type type;
	u32 mech;
	struct ftrace_ops fops;
	void (*tramp)(void);
	struct kprobe kp;
	struct kretprobe rp;
	void *tp_func;
	struct tracepoint *tp;
	bool attached;
	int error;
};

enum {
	P_MMAP,
	P_MUNMAP,
	P_BRK,
	P_MOVE,
	P_MREMAP,
	P_EXIT,
	P_EXEC,
	P_FORK,
	P_RENAME,
	P_ADD_NEW,
	P_ADD,
	P_ADD_PMD,
	P_REMOVE,
	P_REMOVE_PMD,
	P_ZAP,
	P_UNMAP_ONE,
	P_KSM_MERGE,
	P_COLLAPSE,
	P_COLLAPSE_END,
	NR_PROBES
};

static DEFINE_PER_CPU(u64 [NR_PROBES], probe_hits);
/* page hooks that could not track (recursion) */
static DEFINE_PER_CPU(u64 [NR_PROBES], probe_missed);
/* functions run from a wrapper that have not returned yet */
static DEFINE_PER_CPU(long, wrapped);

static inline void hit(int idx)
{
	this_cpu_inc(probe_hits[idx]);
}

static inline bool watched(struct mm_struct *mm)
{
	return mm && memwatch_watched(mm);
}

/* ---- wrapped calls ------------------------------------------------------ */

MW_DEFINE_CALL_RAX();

static long wrapped_count(void)
{
	long n = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		n += per_cpu(wrapped, cpu);
	return n;
}

/* ---- VMA level ---------------------------------------------------------- */

/*
 * do_mmap(file, addr, len, prot, flags, vma_flags, pgoff, populate, uf):
 * vma_flags a vm_flags_t or (7.x) a vma_flags_t of one word; older kernels
 * have no vm_flags argument. The registers read are the same on all.
 */
static bool mmap_entry(struct mw_frame *f)
{
	struct mm_struct *mm = current->mm;

	hit(P_MMAP);
	/* a file mapping neither makes a region nor replaces one */
	if (!(f->r8 & (MAP_ANONYMOUS | MAP_FIXED)) || !watched(mm))
		return false;
	f->data[0] = f->dx;
	f->data[1] = f->r8;
	memwatch_track_mmap_begin(mm, f->si, f->dx, f->r8);
	return true;
}

static void mmap_exit(struct mw_frame *f, unsigned long ret)
{
	memwatch_track_mmap_end(current->mm, ret, f->data[0], f->data[1]);
}

/* the munmap core: compat.h reads its mm and range */
static bool munmap_entry(struct mw_frame *f)
{
	const unsigned long regs[5] = { f->di, f->si, f->dx, f->cx, f->r8 };
	unsigned long start, end;
	struct mm_struct *mm;

	hit(P_MUNMAP);
	if (!memwatch_munmap_args(regs, &mm, &start, &end) || !watched(mm))
		return false;
	f->data[0] = (unsigned long)mm;
	memwatch_track_unmap(mm, start, end);
	return true;
}

static void munmap_exit(struct mw_frame *f, unsigned long ret)
{
	if ((int)ret < 0)
		memwatch_track_unmap_failed((struct mm_struct *)f->data[0]);
}

/* move_vma(vrm): compat.h mirrors the fields read (older kernels: registers) */
static bool move_entry(struct mw_frame *f)
{
	const unsigned long regs[6] = { f->di, f->si, f->dx, f->cx, f->r8,
					f->stack[0] };
	struct memwatch_vrm buf;
	const struct memwatch_vrm *vrm = memwatch_move_vrm(regs, &buf);

	hit(P_MOVE);
	if (!watched(vrm->vma->vm_mm))
		return false;
	memwatch_track_move(vrm->vma, vrm->addr, vrm->old_len, vrm->new_addr,
			    vrm->new_len, vrm->flags & MREMAP_DONTUNMAP);
	return true;
}

static void move_exit(struct mw_frame *f, unsigned long ret)
{
	if (IS_ERR_VALUE(ret))
		memwatch_track_move_failed(current->mm);
}

/* __x64_sys_mremap(regs): the user's arguments are in *regs */
static bool mremap_entry(struct mw_frame *f)
{
	const struct pt_regs *u = (const struct pt_regs *)f->di;

	hit(P_MREMAP);
	/* only growth in place is seen here, on return; a move is not */
	if (u->dx <= u->si || !watched(current->mm))
		return false;
	f->data[0] = u->di;
	f->data[1] = u->si;
	f->data[2] = u->dx;
	return true;
}

static void mremap_exit(struct mw_frame *f, unsigned long ret)
{
	if (ret == f->data[0])
		memwatch_track_mremap_grown(current->mm, f->data[0],
					    f->data[1], f->data[2]);
}

/*
 * The wrappers' entry and exit: the entry handler's true sends the call
 * through the wrapper, and raises the count of calls unloading waits for.
 */
#define MW_DIRECT_WRAPPER(name)						\
static bool __used notrace name##_dentry(struct mw_frame *f)		\
{									\
	if (!name##_entry(f))						\
		return false;						\
	this_cpu_inc(wrapped);						\
	return true;							\
}									\
static unsigned long __used notrace name##_dexit(struct mw_frame *f,	\
						 unsigned long ret)	\
{									\
	name##_exit(f, ret);						\
	this_cpu_dec(wrapped);						\
	return ret;							\
}									\
MW_WRAPPER(name##_tramp, name##_dentry, name##_dexit)

/*
 * The same handlers under a kretprobe: the frame is built from the entry's
 * pt_regs in the instance's data, and only a call the entry handler wants
 * keeps its instance until the return.
 */
static void frame_from_regs(struct mw_frame *f, struct pt_regs *regs)
{
	unsigned int i;

	f->di = regs->di;
	f->si = regs->si;
	f->dx = regs->dx;
	f->cx = regs->cx;
	f->r8 = regs->r8;
	f->r9 = regs->r9;
	for (i = 0; i < MW_WRAP_STACK_ARGS; i++)
		f->stack[i] = regs_get_kernel_argument(regs, 6 + i);
}

#define MW_KRETPROBE(name)						\
static int name##_kentry(struct kretprobe_instance *ri,		\
			 struct pt_regs *regs)				\
{									\
	struct mw_frame *f = (struct mw_frame *)ri->data;		\
									\
	frame_from_regs(f, regs);					\
	return name##_entry(f) ? 0 : 1;					\
}									\
static int name##_kret(struct kretprobe_instance *ri,			\
		       struct pt_regs *regs)				\
{									\
	name##_exit((struct mw_frame *)ri->data,			\
		    regs_return_value(regs));				\
	return 0;							\
}

MW_DIRECT_WRAPPER(mmap);
MW_DIRECT_WRAPPER(munmap);
MW_DIRECT_WRAPPER(move);
MW_DIRECT_WRAPPER(mremap);
MW_KRETPROBE(mmap)
MW_KRETPROBE(munmap)
MW_KRETPROBE(move)
MW_KRETPROBE(mremap)

/*
 * do_brk_flags(vmi, vma, addr, len, flags), flags a vm_flags_t or (7.x) a
 * vma_flags_t; 5.10: do_brk_flags(addr, len, flags, uf)
 */
static void __used notrace brk_fn(unsigned long a0, unsigned long a1,
				  unsigned long a2, unsigned long a3)
{
	const unsigned long regs[4] = { a0, a1, a2, a3 };
	struct mm_struct *mm = current->mm;
	unsigned long addr, len;

	hit(P_BRK);
	if (!watched(mm))
		return;
	memwatch_brk_args(regs, &addr, &len);
	memwatch_track_brk(mm, addr, len);
}

static int brk_kp(struct kprobe *p, struct pt_regs *regs)
{
	brk_fn(regs->di, regs->si, regs->dx, regs->cx);
	return 0;
}

/* exit_mmap(mm) */
static void __used notrace exit_fn(struct mm_struct *mm)
{
	hit(P_EXIT);
	if (watched(mm))
		memwatch_exit_mmap(mm);
}

static int exit_kp(struct kprobe *p, struct pt_regs *regs)
{
	exit_fn((struct mm_struct *)regs->di);
	return 0;
}

MW_TRAMPOLINE(brk_tramp, brk_fn);
MW_TRAMPOLINE(exit_tramp, exit_fn);

static void exec_tp(void *data, struct task_struct *p, pid_t old_pid,
		    struct linux_binprm *bprm)
{
	hit(P_EXEC);
	memwatch_exec(p);
}

static void fork_tp(void *data, struct task_struct *parent,
		    struct task_struct *child)
{
	hit(P_FORK);
	memwatch_fork(parent, child);
}

static void rename_tp(void *data, struct task_struct *task, const char *comm)
{
	hit(P_RENAME);
	memwatch_track_rename(task, comm);
}

/* ---- page level --------------------------------------------------------- */

/*
 * The page hooks run for every anonymous page any process maps or unmaps.
 * An unwatched process pays the trampoline's call and the test of its mm's
 * bucket in the watch hash (memwatch_maybe_watched()); only an mm whose
 * bucket holds a watch is looked up under RCU, and only a watched one
 * takes ftrace's recursion lock around the tracking. Nothing between the
 * lookup and the lock can reach the hooked functions again. Under a
 * kprobe, kprobes' own recursion check (a nested hit counts as missed) and
 * its disabled preemption stand in for the lock: @direct says which.
 */

/* The recursion lock also disables preemption, as the pending adds need. */
static __always_inline int fenter(int idx, bool direct)
{
	int bit;

	if (!direct)
		return 0;
	bit = ftrace_test_recursion_trylock(_THIS_IP_, _RET_IP_);
	if (bit < 0)
		raw_cpu_inc(probe_missed[idx]);
	return bit;
}

static __always_inline void fleave(int bit, bool direct)
{
	if (direct)
		ftrace_test_recursion_unlock(bit);
}

static __always_inline void page_add(int idx, bool direct,
				     struct vm_area_struct *vma,
				     unsigned long addr, unsigned long nr,
				     bool new)
{
	struct memwatch_target *t;
	int bit;

	rcu_read_lock();
	t = memwatch_lookup(vma->vm_mm);
	if (t) {
		bit = fenter(idx, direct);
		if (bit >= 0) {
			memwatch_track_page_add(t, vma, addr, nr, new);
			fleave(bit, direct);
		}
	}
	rcu_read_unlock();
}

/*
 * Each page handler comes twice: NAME_fn() with the hooked function's
 * arguments, for its trampoline, and NAME_kp() with its pt_regs, for its
 * kprobe. Both expand the same __always_inline body.
 */

#ifdef COMPAT_CANNOT_FOLIO_RMAP

static inline unsigned long page_nr(struct page *page, bool compound)
{
	return compound ? thp_nr_pages(page) : 1;
}

#ifdef COMPAT_CANNOT_RMAP_VMA

/*
 * 5.10's page_remove_rmap(page, compound) gets no VMA; the callers that
 * unmap anonymous pages know it:
 * - unmap_page_range() (munmap, MADV_DONTNEED, mremap, exit) and
 *   try_to_unmap_one() (reclaim, swap-out, migration) are hooked around
 *   the call: for a watched process they note the VMA for the calling
 *   task (unmap_ctx) while they run, and each removal in between is from
 *   that VMA;
 * - wp_page_copy() (copy on write) maps the new page with
 *   page_add_new_anon_rmap() and removes the old one right after, on the
 *   same CPU under the page table lock: the new page's add leaves its VMA
 *   and page offset (cow) to the very next rmap call on that CPU, which
 *   takes it if it removes another page at that offset.
 * - try_to_merge_one_page() (KSM's merge) is hooked around the call as
 *   the first two are: the page it replaces leaves that VMA;
 * - khugepaged's collapse (collapse_huge_page(), inlined into khugepaged()
 *   here) clears the PMD with pmdp_collapse_flush(vma, ...) under the
 *   mmap_lock held for writing, removes each small page, and always ends
 *   with the mm_collapse_huge_page tracepoint: the VMA noted at the first
 *   is the small pages' until the last (collapse_note).
 */
#define MW_UNMAP_BITS	6
#define MW_UNMAP_SLOTS	BIT(MW_UNMAP_BITS)

struct mw_unmap_ctx {
	struct task_struct *task;
	struct vm_area_struct *vma;
};

static struct mw_unmap_ctx unmap_ctx[MW_UNMAP_SLOTS];
static atomic_t unmap_active;

struct mw_cow {
	struct task_struct *task;
	struct page *page;
	struct vm_area_struct *vma;
	pgoff_t pgoff;
};

static DEFINE_PER_CPU(struct mw_cow, cow_note);

/*
 * The collapse in progress: only khugepaged collapses anonymous memory on
 * 5.10, one collapse at a time, and only it reads and writes the note
 * while it is its task's.
 */
static struct mw_unmap_ctx collapse_note;

static inline void cow_forget(void)
{
	raw_cpu_write(cow_note.task, NULL);
}

/* for the wrappers' entry: the frame keeps the slot and the outer VMA */
static bool ctx_enter(struct mw_frame *f, struct vm_area_struct *vma)
{
	unsigned int h = hash_ptr(current, MW_UNMAP_BITS), i;
	struct mw_unmap_ctx *c;

	cow_forget();
	for (i = 0; i < MW_UNMAP_SLOTS; i++) {
		c = &unmap_ctx[(h + i) % MW_UNMAP_SLOTS];
		if (READ_ONCE(c->task) == current) {
			f->data[1] = (unsigned long)c;
			f->data[2] = (unsigned long)c->vma;
			WRITE_ONCE(c->vma, vma);
			return true;
		}
	}
	for (i = 0; i < MW_UNMAP_SLOTS; i++) {
		c = &unmap_ctx[(h + i) % MW_UNMAP_SLOTS];
		if (!cmpxchg(&c->task, NULL, current)) {
			WRITE_ONCE(c->vma, vma);
			atomic_inc(&unmap_active);
			f->data[1] = (unsigned long)c;
			f->data[2] = 0;
			return true;
		}
	}
	return false;
}

static void ctx_exit(struct mw_frame *f)
{
	struct mw_unmap_ctx *c = (struct mw_unmap_ctx *)f->data[1];

	if (f->data[2]) {
		WRITE_ONCE(c->vma, (struct vm_area_struct *)f->data[2]);
		return;
	}
	WRITE_ONCE(c->vma, NULL);
	/* the slot's VMA is cleared before another task can take it */
	smp_store_release(&c->task, NULL);
	atomic_dec(&unmap_active);
}

static struct vm_area_struct *ctx_vma(void)
{
	unsigned int h, i;
	struct mw_unmap_ctx *c;

	if (!atomic_read(&unmap_active))
		return NULL;
	h = hash_ptr(current, MW_UNMAP_BITS);
	for (i = 0; i < MW_UNMAP_SLOTS; i++) {
		c = &unmap_ctx[(h + i) % MW_UNMAP_SLOTS];
		if (READ_ONCE(c->task) == current)
			return READ_ONCE(c->vma);
	}
	return NULL;
}

static inline void cow_note_new(struct page *page,
				struct vm_area_struct *vma,
				unsigned long addr)
{
	struct mw_cow *n = raw_cpu_ptr(&cow_note);

	n->page = page;
	n->vma = vma;
	n->pgoff = linear_page_index(vma, addr);
	WRITE_ONCE(n->task, current);
}

/* the VMA page_remove_rmap()'s caller unmaps @page from, or NULL */
static inline struct vm_area_struct *removed_from(struct page *page)
{
	struct mw_cow *n = raw_cpu_ptr(&cow_note);
	struct vm_area_struct *vma = ctx_vma();

	if (!vma && n->task == current && n->page != page &&
	    PageAnon(page) && page_to_index(page) == n->pgoff)
		vma = n->vma;
	if (!vma && READ_ONCE(collapse_note.task) == current)
		vma = collapse_note.vma;
	n->task = NULL;
	return vma;
}

/* the entry of a wrapper whose function removes pages from @vma */
static bool vma_ctx_entry(int idx, struct mw_frame *f,
			  struct vm_area_struct *vma)
{
	hit(idx);
	if (!watched(vma->vm_mm))
		return false;
	if (!ctx_enter(f, vma)) {
		this_cpu_inc(probe_missed[idx]);
		return false;
	}
	return true;
}

/* unmap_page_range(tlb, vma, addr, end, details) */
static bool zap_entry(struct mw_frame *f)
{
	return vma_ctx_entry(P_ZAP, f, (struct vm_area_struct *)f->si);
}

static void zap_exit(struct mw_frame *f, unsigned long ret)
{
	ctx_exit(f);
}

/* try_to_unmap_one(page, vma, address, arg) */
static bool unmap_one_entry(struct mw_frame *f)
{
	return vma_ctx_entry(P_UNMAP_ONE, f, (struct vm_area_struct *)f->si);
}

static void unmap_one_exit(struct mw_frame *f, unsigned long ret)
{
	ctx_exit(f);
}

/* try_to_merge_one_page(vma, page, kpage) */
static bool ksm_merge_entry(struct mw_frame *f)
{
	return vma_ctx_entry(P_KSM_MERGE, f, (struct vm_area_struct *)f->di);
}

static void ksm_merge_exit(struct mw_frame *f, unsigned long ret)
{
	ctx_exit(f);
}

MW_DIRECT_WRAPPER(zap);
MW_DIRECT_WRAPPER(unmap_one);
MW_DIRECT_WRAPPER(ksm_merge);
MW_KRETPROBE(zap)
MW_KRETPROBE(unmap_one)
MW_KRETPROBE(ksm_merge)

/* pmdp_collapse_flush(vma, address, pmdp) */
static void __used notrace collapse_fn(struct vm_area_struct *vma)
{
	hit(P_COLLAPSE);
	if (vma_is_anonymous(vma) && watched(vma->vm_mm)) {
		collapse_note.vma = vma;
		WRITE_ONCE(collapse_note.task, current);
	}
}

static int collapse_kp(struct kprobe *p, struct pt_regs *regs)
{
	collapse_fn((struct vm_area_struct *)regs->di);
	return 0;
}

MW_TRAMPOLINE(collapse_tramp, collapse_fn);

static void collapse_end_tp(void *data, struct mm_struct *mm, int isolated,
			    int status)
{
	hit(P_COLLAPSE_END);
	if (READ_ONCE(collapse_note.task) == current) {
		WRITE_ONCE(collapse_note.task, NULL);
		collapse_note.vma = NULL;
	}
}

#define SYM_ZAP		"unmap_page_range"
#define SYM_UNMAP_ONE	"try_to_unmap_one"
#define SYM_KSM_MERGE	"try_to_merge_one_page"
#define SYM_COLLAPSE	"pmdp_collapse_flush"
#define SYM_COLLAPSE_END "mm_collapse_huge_page"

#else /* page_remove_rmap() with a VMA */

static inline void cow_forget(void)
{
}

static inline void cow_note_new(struct page *page,
				struct vm_area_struct *vma,
				unsigned long addr)
{
}

#endif /* COMPAT_CANNOT_RMAP_VMA */

/* page_add_new_anon_rmap(page, vma, address) */
static __always_inline void add_new(bool direct, struct page *page,
				    struct vm_area_struct *vma,
				    unsigned long addr)
{
	hit(P_ADD_NEW);
	if (!memwatch_maybe_watched(vma->vm_mm)) {
		cow_forget();
		return;
	}
	cow_note_new(page, vma, addr);
	page_add(P_ADD_NEW, direct, vma, addr,
		 page_nr(page, PageCompound(page)), true);
}

/* page_add_anon_rmap(page, vma, address, flags) */
static __always_inline void add(bool direct, struct page *page,
				struct vm_area_struct *vma,
				unsigned long addr, rmap_t flags)
{
	hit(P_ADD);
	cow_forget();
	if (memwatch_maybe_watched(vma->vm_mm))
		page_add(P_ADD, direct, vma, addr,
			 page_nr(page, flags & RMAP_COMPOUND), false);
}

/* page_remove_rmap(page, vma, compound) */
static __always_inline void remove(bool direct, struct page *page,
				   struct vm_area_struct *vma,
				   bool compound)
{
	struct memwatch_target *t;
	unsigned long addr;
	int bit;

	if (!vma || !memwatch_maybe_watched(vma->vm_mm))
		return;
	rcu_read_lock();
	t = memwatch_lookup(vma->vm_mm);
	if (t && PageAnon(page) && !PageKsm(page) && !PageHuge(page)) {
		bit = fenter(P_REMOVE, direct);
		if (bit >= 0) {
			addr = vma->vm_start + ((page_to_index(page) -
						 vma->vm_pgoff) << PAGE_SHIFT);
			memwatch_track_page_remove(t, vma, addr,
						   page_nr(page, compound));
			fleave(bit, direct);
		}
	}
	rcu_read_unlock();
}

static void __used notrace add_new_fn(struct page *page,
				      struct vm_area_struct *vma,
				      unsigned long addr)
{
	add_new(true, page, vma, addr);
}

static int add_new_kp(struct kprobe *p, struct pt_regs *regs)
{
	add_new(false, (struct page *)regs->di,
		(struct vm_area_struct *)regs->si, regs->dx);
	return 0;
}

static void __used notrace add_fn(struct page *page,
				  struct vm_area_struct *vma,
				  unsigned long addr, rmap_t flags)
{
	add(true, page, vma, addr, flags);
}

static int add_kp(struct kprobe *p, struct pt_regs *regs)
{
	add(false, (struct page *)regs->di, (struct vm_area_struct *)regs->si,
	    regs->dx, (__force rmap_t)regs->cx);
	return 0;
}

#ifdef COMPAT_CANNOT_RMAP_VMA
/* page_remove_rmap(page, compound) */
static void __used notrace remove_fn(struct page *page, bool compound)
{
	hit(P_REMOVE);
	remove(true, page, removed_from(page), compound);
}

static int remove_kp(struct kprobe *p, struct pt_regs *regs)
{
	struct page *page = (struct page *)regs->di;

	hit(P_REMOVE);
	remove(false, page, removed_from(page), regs->si);
	return 0;
}
#else
static void __used notrace remove_fn(struct page *page,
				     struct vm_area_struct *vma,
				     bool compound)
{
	hit(P_REMOVE);
	remove(true, page, vma, compound);
}

static int remove_kp(struct kprobe *p, struct pt_regs *regs)
{
	hit(P_REMOVE);
	remove(false, (struct page *)regs->di,
	       (struct vm_area_struct *)regs->si, regs->dx);
	return 0;
}
#endif

MW_TRAMPOLINE(add_new_tramp, add_new_fn);
MW_TRAMPOLINE(add_tramp, add_fn);
MW_TRAMPOLINE(remove_tramp, remove_fn);

#define SYM_ADD_NEW	"page_add_new_anon_rmap"
#define SYM_ADD		MEMWATCH_SYM_ADD_ANON
#define SYM_ADD_PMD	NULL
#define SYM_REMOVE	"page_remove_rmap"
#define SYM_REMOVE_PMD	NULL
#define add_pmd_tramp	NULL
#define remove_pmd_tramp NULL
#define add_pmd_kp	NULL
#define remove_pmd_kp	NULL

#else /* folio rmap API */

/* folio_add_new_anon_rmap(folio, vma, address, flags) */
static __always_inline void add_new(bool direct, struct folio *folio,
				    struct vm_area_struct *vma,
				    unsigned long addr)
{
	hit(P_ADD_NEW);
	if (memwatch_maybe_watched(vma->vm_mm))
		page_add(P_ADD_NEW, direct, vma, addr, folio_nr_pages(folio),
			 true);
}

/* folio_add_anon_rmap_ptes(folio, page, nr_pages, vma, address, flags) */
static __always_inline void add(bool direct, int nr,
				struct vm_area_struct *vma,
				unsigned long addr)
{
	hit(P_ADD);
	if (memwatch_maybe_watched(vma->vm_mm))
		page_add(P_ADD, direct, vma, addr, nr, false);
}

/* folio_add_anon_rmap_pmd(folio, page, vma, address, flags) */
static __always_inline void add_pmd(bool direct, struct vm_area_struct *vma,
				    unsigned long addr)
{
	hit(P_ADD_PMD);
	if (memwatch_maybe_watched(vma->vm_mm))
		page_add(P_ADD_PMD, direct, vma, addr, HPAGE_PMD_NR, false);
}

/*
 * folio_remove_rmap_ptes(folio, page, nr_pages, vma),
 * folio_remove_rmap_pmd(folio, page, vma)
 */
static __always_inline void remove(int idx, bool direct, struct folio *folio,
				   struct page *page,
				   struct vm_area_struct *vma,
				   unsigned long nr)
{
	struct memwatch_target *t;
	pgoff_t pgoff;
	int bit;

	hit(idx);
	if (!memwatch_maybe_watched(vma->vm_mm))
		return;
	rcu_read_lock();
	t = memwatch_lookup(vma->vm_mm);
	if (t && folio_test_anon(folio) && !folio_test_ksm(folio) &&
	    !folio_test_hugetlb(folio)) {
		bit = fenter(idx, direct);
		if (bit >= 0) {
			pgoff = folio->index + folio_page_idx(folio, page);
			memwatch_track_page_remove(t, vma, vma->vm_start +
						   ((pgoff - vma->vm_pgoff) <<
						    PAGE_SHIFT), nr);
			fleave(bit, direct);
		}
	}
	rcu_read_unlock();
}

static void __used notrace add_new_fn(struct folio *folio,
				      struct vm_area_struct *vma,
				      unsigned long addr)
{
	add_new(true, folio, vma, addr);
}

static int add_new_kp(struct kprobe *p, struct pt_regs *regs)
{
	add_new(false, (struct folio *)regs->di,
		(struct vm_area_struct *)regs->si, regs->dx);
	return 0;
}

static void __used notrace add_fn(struct folio *folio, struct page *page,
				  int nr, struct vm_area_struct *vma,
				  unsigned long addr)
{
	add(true, nr, vma, addr);
}

static int add_kp(struct kprobe *p, struct pt_regs *regs)
{
	add(false, (int)regs->dx, (struct vm_area_struct *)regs->cx, regs->r8);
	return 0;
}

static void __used notrace add_pmd_fn(struct folio *folio, struct page *page,
				      struct vm_area_struct *vma,
				      unsigned long addr)
{
	add_pmd(true, vma, addr);
}

static int add_pmd_kp(struct kprobe *p, struct pt_regs *regs)
{
	add_pmd(false, (struct vm_area_struct *)regs->dx, regs->cx);
	return 0;
}

static void __used notrace remove_fn(struct folio *folio, struct page *page,
				     int nr, struct vm_area_struct *vma)
{
	remove(P_REMOVE, true, folio, page, vma, nr);
}

static int remove_kp(struct kprobe *p, struct pt_regs *regs)
{
	remove(P_REMOVE, false, (struct folio *)regs->di,
	       (struct page *)regs->si, (struct vm_area_struct *)regs->cx,
	       (int)regs->dx);
	return 0;
}

static void __used notrace remove_pmd_fn(struct folio *folio,
					 struct page *page,
					 struct vm_area_struct *vma)
{
	remove(P_REMOVE_PMD, true, folio, page, vma, HPAGE_PMD_NR);
}

static int remove_pmd_kp(struct kprobe *p, struct pt_regs *regs)
{
	remove(P_REMOVE_PMD, false, (struct folio *)regs->di,
	       (struct page *)regs->si, (struct vm_area_struct *)regs->dx,
	       HPAGE_PMD_NR);
	return 0;
}

MW_TRAMPOLINE(add_new_tramp, add_new_fn);
MW_TRAMPOLINE(add_tramp, add_fn);
MW_TRAMPOLINE(add_pmd_tramp, add_pmd_fn);
MW_TRAMPOLINE(remove_tramp, remove_fn);
MW_TRAMPOLINE(remove_pmd_tramp, remove_pmd_fn);

#define SYM_ADD_NEW	"folio_add_new_anon_rmap"
#define SYM_ADD		"folio_add_anon_rmap_ptes"
#define SYM_ADD_PMD	"folio_add_anon_rmap_pmd"
#define SYM_REMOVE	"folio_remove_rmap_ptes"
#define SYM_REMOVE_PMD	"folio_remove_rmap_pmd"

#endif /* COMPAT_CANNOT_FOLIO_RMAP */

#ifndef SYM_ZAP
#define SYM_ZAP		NULL
#define SYM_UNMAP_ONE	NULL
#define SYM_KSM_MERGE	NULL
#define SYM_COLLAPSE	NULL
#define SYM_COLLAPSE_END NULL
#define zap_tramp	NULL
#define zap_kentry	NULL
#define zap_kret	NULL
#define unmap_one_tramp	NULL
#define unmap_one_kentry NULL
#define unmap_one_kret	NULL
#define ksm_merge_tramp	NULL
#define ksm_merge_kentry NULL
#define ksm_merge_kret	NULL
#define collapse_tramp	NULL
#define collapse_kp	NULL
#define collapse_end_tp	NULL
#endif

/* ---- the table ---------------------------------------------------------- */

/*
 * A kretprobe instance is one call in flight whose entry handler wanted
 * its return: a watched process's call, which (but for mremap) holds that
 * process's mmap_lock for writing, so at most one per watched process and
 * function; mremap's may wait for the lock, one per thread. A call that
 * finds none free is not tracked and counts as missed.
 */
#define MW_MAXACTIVE	256

#define FUNC(idx, sym, fn)						\
	[idx] = { .symbol = sym, .type = MW_FUNCTION, .tramp = fn##_tramp, \
		  .kp = { .pre_handler = fn##_kp } }
#define WRAPPED(idx, sym, fn)						\
	[idx] = { .symbol = sym, .type = MW_FUNCTION, .tramp = fn##_tramp, \
		  .rp = { .entry_handler = fn##_kentry,			\
			  .handler = fn##_kret,				\
			  .data_size = sizeof(struct mw_frame) +	\
				       MW_WRAP_STACK_ARGS * sizeof(long), \
			  .maxactive = MW_MAXACTIVE } }

static struct mw_probe probes[NR_PROBES] = {
	WRAPPED(P_MMAP, "do_mmap", mmap),
	WRAPPED(P_MUNMAP, MEMWATCH_SYM_ALIGN_MUNMAP, munmap),
	FUNC(P_BRK, "do_brk_flags", brk),
	WRAPPED(P_MOVE, "move_vma", move),
	WRAPPED(P_MREMAP, "__x64_sys_mremap", mremap),
	FUNC(P_EXIT, "exit_mmap", exit),
	[P_EXEC] = { .symbol = "sched_process_exec", .type = MW_TRACEPOINT,
		     .tp_func = exec_tp },
	[P_FORK] = { .symbol = "sched_process_fork", .type = MW_TRACEPOINT,
		     .tp_func = fork_tp },
	[P_RENAME] = { .symbol = "task_rename", .type = MW_TRACEPOINT,
		       .tp_func = rename_tp },
	FUNC(P_ADD_NEW, SYM_ADD_NEW, add_new),
	FUNC(P_ADD, SYM_ADD, add),
	FUNC(P_ADD_PMD, SYM_ADD_PMD, add_pmd),
	FUNC(P_REMOVE, SYM_REMOVE, remove),
	FUNC(P_REMOVE_PMD, SYM_REMOVE_PMD, remove_pmd),
	WRAPPED(P_ZAP, SYM_ZAP, zap),
	WRAPPED(P_UNMAP_ONE, SYM_UNMAP_ONE, unmap_one),
	WRAPPED(P_KSM_MERGE, SYM_KSM_MERGE, ksm_merge),
	FUNC(P_COLLAPSE, SYM_COLLAPSE, collapse),
	[P_COLLAPSE_END] = { .symbol = SYM_COLLAPSE_END,
			     .type = MW_TRACEPOINT, .tp_func = collapse_end_tp },
};

static void find_tp(struct tracepoint *tp, void *priv)
{
	struct mw_probe *p = priv;

	if (!strcmp(tp->name, p->symbol))
		p->tp = tp;
}

/*
 * Supervisor shadow stacks would refuse the wrappers' returns (tramp.h says
 * why). No kernel memwatch knows enables them; one that did would say so in
 * MSR_IA32_S_CET, which CPUs without CET do not have (the read fails).
 */
static bool kernel_shadow_stack(void)
{
	u64 cet;

	return !rdmsrq_safe(MSR_IA32_S_CET, &cet) && (cet & CET_SHSTK_EN);
}

/* Hook one function by name; its ftrace site must exist (notrace ones fail). */
static int attach_direct(struct mw_probe *p)
{
	char name[KSYM_NAME_LEN];
	int ret;

	/* an odd address asks ftrace to enter by a jump (tramp.h) */
	if ((unsigned long)p->tramp & 1)
		return -EINVAL;
	if (p->rp.handler && kernel_shadow_stack())
		return -EOPNOTSUPP;

	strscpy(name, p->symbol, sizeof(name));
	ret = ftrace_set_filter(&p->fops, name, strlen(name), 1);
	if (!ret)
		ret = memwatch_register_direct(&p->fops, (unsigned long)p->tramp);
	if (ret)
		ftrace_free_filter(&p->fops);
	return ret;
}

static int attach_kprobe(struct mw_probe *p)
{
	int ret;

	if (p->rp.handler) {
		p->rp.kp.symbol_name = p->symbol;
		ret = register_kretprobe(&p->rp);
		if (!ret)
			p->mech = MEMWATCH_PROBE_MECH_KRETPROBE;
	} else {
		p->kp.symbol_name = p->symbol;
		ret = register_kprobe(&p->kp);
		if (!ret)
			p->mech = MEMWATCH_PROBE_MECH_KPROBE;
	}
	return ret;
}

static int attach(struct mw_probe *p, enum mw_hooks mode)
{
	int ret;

	if (p->type == MW_TRACEPOINT) {
		for_each_kernel_tracepoint(find_tp, p);
		if (!p->tp)
			return -ENOENT;
		ret = tracepoint_probe_register(p->tp, p->tp_func, NULL);
		if (!ret)
			p->mech = MEMWATCH_PROBE_MECH_TRACEPOINT;
		return ret;
	}
	if (mode == MW_HOOKS_KPROBE)
		return attach_kprobe(p);
	ret = attach_direct(p);
	if (!ret) {
		p->mech = MEMWATCH_PROBE_MECH_DIRECT;
		return 0;
	}
	if (mode == MW_HOOKS_DIRECT)
		return ret;
	/* taken by another direct caller (a BPF trampoline), or none here */
	pr_info("%s: no direct call (%d), using a kprobe\n", p->symbol, ret);
	return attach_kprobe(p);
}

static void detach(struct mw_probe *p)
{
	switch (p->mech) {
	case MEMWATCH_PROBE_MECH_DIRECT:
		/* waits until no task is in the trampoline (RCU tasks) */
		memwatch_unregister_direct(&p->fops, (unsigned long)p->tramp);
		ftrace_free_filter(&p->fops);
		break;
	case MEMWATCH_PROBE_MECH_KPROBE:
		unregister_kprobe(&p->kp);
		break;
	case MEMWATCH_PROBE_MECH_KRETPROBE:
		unregister_kretprobe(&p->rp);
		break;
	case MEMWATCH_PROBE_MECH_TRACEPOINT:
		tracepoint_probe_unregister(p->tp, p->tp_func, NULL);
		break;
	}
	p->mech = MEMWATCH_PROBE_MECH_NONE;
}

/**
 * memwatch_probes_ready() - whether every probe a watch needs is attached
 *
 * The probes stay armed from load to unload. Arming and disarming them as
 * watches come and go would re-patch the probed functions' ftrace sites
 * under running CPUs again and again; the handlers' first test (no live
 * watch) is cheaper than that risk. So a watch only needs them attached.
 *
 * Return: true if they all are.
 */
bool memwatch_probes_ready(void)
{
	int i;

	for (i = 0; i < NR_PROBES; i++)
		if (probes[i].symbol && !probes[i].attached)
			return false;
	return true;
}

/**
 * memwatch_probes_count() - how many probes GET_STATUS lists
 *
 * Return: the number, attached or not.
 */
unsigned int memwatch_probes_count(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < NR_PROBES; i++)
		n += !!probes[i].symbol;
	return n;
}

/**
 * memwatch_probes_info() - the state of one probe
 * @idx: 0 to memwatch_probes_count() - 1
 * @info: filled in
 */
void memwatch_probes_info(unsigned int idx, struct memwatch_probe_info *info)
{
	unsigned int i, cpu;
	struct mw_probe *p = NULL;

	for (i = 0; i < NR_PROBES; i++) {
		if (probes[i].symbol && !idx--) {
			p = &probes[i];
			break;
		}
	}
	memset(info, 0, sizeof(*info));
	if (!p)
		return;
	info->symbol = p->symbol;
	info->attached = p->attached;
	info->error = p->error;
	info->mechanism = p->mech;
	for_each_possible_cpu(cpu) {
		info->hits += per_cpu(probe_hits, cpu)[i];
		info->missed += per_cpu(probe_missed, cpu)[i];
	}
	if (p->mech == MEMWATCH_PROBE_MECH_KPROBE)
		info->missed += p->kp.nmissed;
	else if (p->mech == MEMWATCH_PROBE_MECH_KRETPROBE)
		info->missed += p->rp.nmissed + p->rp.kp.nmissed;
}

/**
 * memwatch_probes_init() - attach every probe; they stay armed until unload
 *
 * A probe that cannot attach is reported by GET_STATUS and makes WATCH
 * fail; loading still succeeds so that the status can be read.
 *
 * Return: 0, or -EINVAL if the hooks parameter names no mechanism.
 */
int memwatch_probes_init(void)
{
	int i, mode;

	mode = sysfs_match_string(hooks_names, hooks);
	if (mode < 0) {
		pr_err("hooks=%s: must be auto, direct or kprobe\n", hooks);
		return -EINVAL;
	}
	for (i = 0; i < NR_PROBES; i++) {
		struct mw_probe *p = &probes[i];

		if (!p->symbol)
			continue;
		p->error = -attach(p, mode);
		p->attached = !p->error;
		if (p->error)
			pr_warn("cannot attach to %s on Linux %s: %d\n",
				p->symbol, init_utsname()->release,
				-p->error);
	}
	return 0;
}

/**
 * memwatch_probes_uninit() - unregister every probe and wait for handlers
 */
void memwatch_probes_uninit(void)
{
	int i;

	for (i = 0; i < NR_PROBES; i++) {
		detach(&probes[i]);
		probes[i].attached = false;
	}
	tracepoint_synchronize_unregister();
	/*
	 * No task enters a trampoline any more; one may still be in a function
	 * a wrapper runs (it may sleep there), and then in the wrapper's last
	 * instructions after its exit handler.
	 */
	while (wrapped_count())
		msleep(20);
	synchronize_rcu_tasks();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The probe table, its handlers, and attaching them. Every kernel function
 * memwatch hooks is hooked with an ftrace direct call: the function's
 * ftrace site calls a trampoline of ours (tramp.h), nothing between; no
 * ftrace_regs, no list of ftrace_ops, no pt_regs, no kprobe. The handlers
 * run in the context of the hooked function's caller and must not sleep:
 * the VMA-level ones are preemptible, the page-level ones run under the
 * page table lock and disable preemption for the tracking (see fenter()),
 * the tracepoint ones run with preemption off. They decode arguments and
 * call the hooks of track.c and watch.c, nothing else.
 *
 * The page-level functions run for every anonymous page any process maps
 * or unmaps; brk and exit_mmap() only need their arguments. Their
 * trampoline (MW_TRAMPOLINE) calls the handler and then lets the function
 * run. The other VMA-level functions need their return value as well:
 * their trampoline (MW_WRAPPER) calls an entry handler, and for a watched
 * process runs the function itself and passes its return value to an exit
 * handler before returning to the caller, as BPF's fexit trampolines do.
 *
 * All probes are attached at load and stay armed until unload; with no
 * live watch every handler returns after its first test, and an
 * unwatched process never has a function run from a wrapper.
 */

#include <linux/delay.h>
#include <linux/ftrace.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/percpu.h>
#include <linux/ptrace.h>
#include <linux/rcupdate.h>
#include <linux/rmap.h>
#include <linux/sched/mm.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <uapi/linux/mman.h>

#include "probes.h"
#include "track.h"
#include "tramp.h"
#include "watch.h"

enum mw_probe_type { MW_DIRECT, MW_TRACEPOINT };

/**
 * struct mw_probe - one probe and its state
 * @symbol: function or tracepoint name
 * @type: enum mw_probe_type
 * @fops: the ftrace_ops of the direct call, for MW_DIRECT
 * @tramp: the trampoline it calls, for MW_DIRECT
 * @tp_func: handler, for MW_TRACEPOINT
 * @tp: the tracepoint found at load
 * @attached: registered
 * @error: errno of a failed registration
 */
struct mw_probe {
	const char *symbol;
	enum mw_probe_type type;
	struct ftrace_ops fops;
	void (*tramp)(void);
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
	P_ADD_NEW,
	P_ADD,
	P_ADD_PMD,
	P_REMOVE,
	P_REMOVE_PMD,
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

static bool wrap(void)
{
	this_cpu_inc(wrapped);
	return true;
}

static unsigned long unwrap(unsigned long ret)
{
	this_cpu_dec(wrapped);
	return ret;
}

static long wrapped_count(void)
{
	long n = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		n += per_cpu(wrapped, cpu);
	return n;
}

/* ---- VMA level ---------------------------------------------------------- */

/* do_mmap(file, addr, len, prot, flags, ...) */
static bool __used notrace mmap_entry(struct mw_frame *f)
{
	struct mm_struct *mm = current->mm;

	hit(P_MMAP);
	/* a file mapping neither makes a region nor replaces one */
	if (!(f->r8 & (MAP_ANONYMOUS | MAP_FIXED)) || !watched(mm))
		return false;
	f->data[0] = f->dx;
	f->data[1] = f->r8;
	memwatch_track_mmap_begin(mm, f->si, f->dx, f->r8);
	return wrap();
}

static unsigned long __used notrace mmap_exit(struct mw_frame *f,
					      unsigned long ret)
{
	memwatch_track_mmap_end(current->mm, ret, f->data[0], f->data[1]);
	return unwrap(ret);
}

/* do_mas_align_munmap() / do_vmi_align_munmap(): mm, start, end in dx, cx, r8 */
static bool __used notrace munmap_entry(struct mw_frame *f)
{
	struct mm_struct *mm = (struct mm_struct *)f->dx;

	hit(P_MUNMAP);
	if (!watched(mm))
		return false;
	f->data[0] = (unsigned long)mm;
	memwatch_track_unmap(mm, f->cx, f->r8);
	return wrap();
}

static unsigned long __used notrace munmap_exit(struct mw_frame *f,
						unsigned long ret)
{
	if ((int)ret < 0)
		memwatch_track_unmap_failed((struct mm_struct *)f->data[0]);
	return unwrap(ret);
}

/* move_vma(vma, old_addr, old_len, new_len, new_addr, locked, flags, ...) */
static bool __used notrace move_entry(struct mw_frame *f)
{
	struct vm_area_struct *vma = (struct vm_area_struct *)f->di;

	hit(P_MOVE);
	if (!watched(vma->vm_mm))
		return false;
	memwatch_track_move(vma, f->si, f->dx, f->r8, f->cx,
			    f->stack[0] & MREMAP_DONTUNMAP);
	return wrap();
}

static unsigned long __used notrace move_exit(struct mw_frame *f,
					      unsigned long ret)
{
	if (IS_ERR_VALUE(ret))
		memwatch_track_move_failed(current->mm);
	return unwrap(ret);
}

/* __x64_sys_mremap(regs): the user's arguments are in *regs */
static bool __used notrace mremap_entry(struct mw_frame *f)
{
	const struct pt_regs *u = (const struct pt_regs *)f->di;

	hit(P_MREMAP);
	/* only growth in place is seen here, on return; a move is not */
	if (u->dx <= u->si || !watched(current->mm))
		return false;
	f->data[0] = u->di;
	f->data[1] = u->si;
	f->data[2] = u->dx;
	return wrap();
}

static unsigned long __used notrace mremap_exit(struct mw_frame *f,
						unsigned long ret)
{
	if (ret == f->data[0])
		memwatch_track_mremap_grown(current->mm, f->data[0],
					    f->data[1], f->data[2]);
	return unwrap(ret);
}

/* do_brk_flags(iter, vma, addr, len, flags) */
static void __used notrace brk_fn(void *iter, struct vm_area_struct *vma,
				  unsigned long addr, unsigned long len)
{
	struct mm_struct *mm = current->mm;

	hit(P_BRK);
	if (watched(mm))
		memwatch_track_brk(mm, addr, len);
}

/* exit_mmap(mm) */
static void __used notrace exit_fn(struct mm_struct *mm)
{
	hit(P_EXIT);
	if (watched(mm))
		memwatch_exit_mmap(mm);
}

MW_WRAPPER(mmap_tramp, mmap_entry, mmap_exit);
MW_WRAPPER(munmap_tramp, munmap_entry, munmap_exit);
MW_WRAPPER(move_tramp, move_entry, move_exit);
MW_WRAPPER(mremap_tramp, mremap_entry, mremap_exit);
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

/* ---- page level --------------------------------------------------------- */

/*
 * The page hooks run for every anonymous page any process maps or unmaps.
 * An unwatched process pays the trampoline's call and the test of its mm's
 * bucket in the watch hash (memwatch_maybe_watched()); only an mm whose
 * bucket holds a watch is looked up under RCU, and only a watched one
 * takes ftrace's recursion lock around the tracking. Nothing between the
 * lookup and the lock can reach the hooked functions again.
 */

/* The recursion lock also disables preemption, as the pending adds need. */
static __always_inline int fenter(int idx)
{
	int bit = ftrace_test_recursion_trylock(_THIS_IP_, _RET_IP_);

	if (bit < 0)
		raw_cpu_inc(probe_missed[idx]);
	return bit;
}

static __always_inline void page_add(int idx, struct vm_area_struct *vma,
				     unsigned long addr, unsigned long nr,
				     bool new)
{
	struct memwatch_target *t;
	int bit;

	rcu_read_lock();
	t = memwatch_lookup(vma->vm_mm);
	if (t) {
		bit = fenter(idx);
		if (bit >= 0) {
			memwatch_track_page_add(t, vma, addr, nr, new);
			ftrace_test_recursion_unlock(bit);
		}
	}
	rcu_read_unlock();
}

#ifdef COMPAT_CANNOT_FOLIO_RMAP

static inline unsigned long page_nr(struct page *page, bool compound)
{
	return compound ? thp_nr_pages(page) : 1;
}

/* page_add_new_anon_rmap(page, vma, address) */
static void __used notrace add_new_fn(struct page *page,
				      struct vm_area_struct *vma,
				      unsigned long addr)
{
	hit(P_ADD_NEW);
	if (memwatch_maybe_watched(vma->vm_mm))
		page_add(P_ADD_NEW, vma, addr,
			 page_nr(page, PageCompound(page)), true);
}

/* page_add_anon_rmap(page, vma, address, flags) */
static void __used notrace add_fn(struct page *page,
				  struct vm_area_struct *vma,
				  unsigned long addr, rmap_t flags)
{
	hit(P_ADD);
	if (memwatch_maybe_watched(vma->vm_mm))
		page_add(P_ADD, vma, addr,
			 page_nr(page, flags & RMAP_COMPOUND), false);
}

/* page_remove_rmap(page, vma, compound) */
static void __used notrace remove_fn(struct page *page,
				     struct vm_area_struct *vma,
				     bool compound)
{
	struct memwatch_target *t;
	unsigned long addr;
	int bit;

	hit(P_REMOVE);
	if (!memwatch_maybe_watched(vma->vm_mm))
		return;
	rcu_read_lock();
	t = memwatch_lookup(vma->vm_mm);
	if (t && PageAnon(page) && !PageKsm(page) && !PageHuge(page)) {
		bit = fenter(P_REMOVE);
		if (bit >= 0) {
			addr = vma->vm_start + ((page_to_index(page) -
						 vma->vm_pgoff) << PAGE_SHIFT);
			memwatch_track_page_remove(t, vma, addr,
						   page_nr(page, compound));
			ftrace_test_recursion_unlock(bit);
		}
	}
	rcu_read_unlock();
}

MW_TRAMPOLINE(add_new_tramp, add_new_fn);
MW_TRAMPOLINE(add_tramp, add_fn);
MW_TRAMPOLINE(remove_tramp, remove_fn);

#define SYM_ADD_NEW	"page_add_new_anon_rmap"
#define SYM_ADD		"page_add_anon_rmap"
#define SYM_ADD_PMD	NULL
#define SYM_REMOVE	"page_remove_rmap"
#define SYM_REMOVE_PMD	NULL
#define add_pmd_tramp	NULL
#define remove_pmd_tramp NULL

#else /* folio rmap API */

/* folio_add_new_anon_rmap(folio, vma, address, flags) */
static void __used notrace add_new_fn(struct folio *folio,
				      struct vm_area_struct *vma,
				      unsigned long addr)
{
	hit(P_ADD_NEW);
	if (memwatch_maybe_watched(vma->vm_mm))
		page_add(P_ADD_NEW, vma, addr, folio_nr_pages(folio), true);
}

/* folio_add_anon_rmap_ptes(folio, page, nr_pages, vma, address, flags) */
static void __used notrace add_fn(struct folio *folio, struct page *page,
				  int nr, struct vm_area_struct *vma,
				  unsigned long addr)
{
	hit(P_ADD);
	if (memwatch_maybe_watched(vma->vm_mm))
		page_add(P_ADD, vma, addr, nr, false);
}

/* folio_add_anon_rmap_pmd(folio, page, vma, address, flags) */
static void __used notrace add_pmd_fn(struct folio *folio, struct page *page,
				      struct vm_area_struct *vma,
				      unsigned long addr)
{
	hit(P_ADD_PMD);
	if (memwatch_maybe_watched(vma->vm_mm))
		page_add(P_ADD_PMD, vma, addr, HPAGE_PMD_NR, false);
}

static __always_inline void remove_folio(int idx, struct folio *folio,
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
		bit = fenter(idx);
		if (bit >= 0) {
			pgoff = folio->index + folio_page_idx(folio, page);
			memwatch_track_page_remove(t, vma, vma->vm_start +
						   ((pgoff - vma->vm_pgoff) <<
						    PAGE_SHIFT), nr);
			ftrace_test_recursion_unlock(bit);
		}
	}
	rcu_read_unlock();
}

/* folio_remove_rmap_ptes(folio, page, nr_pages, vma) */
static void __used notrace remove_fn(struct folio *folio, struct page *page,
				     int nr, struct vm_area_struct *vma)
{
	remove_folio(P_REMOVE, folio, page, vma, nr);
}

/* folio_remove_rmap_pmd(folio, page, vma) */
static void __used notrace remove_pmd_fn(struct folio *folio,
					 struct page *page,
					 struct vm_area_struct *vma)
{
	remove_folio(P_REMOVE_PMD, folio, page, vma, HPAGE_PMD_NR);
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

/* ---- the table ---------------------------------------------------------- */

#define DIRECT(idx, sym, fn) \
	[idx] = { .symbol = sym, .type = MW_DIRECT, .tramp = fn }

static struct mw_probe probes[NR_PROBES] = {
	DIRECT(P_MMAP, "do_mmap", mmap_tramp),
	DIRECT(P_MUNMAP, MEMWATCH_SYM_ALIGN_MUNMAP, munmap_tramp),
	DIRECT(P_BRK, "do_brk_flags", brk_tramp),
	DIRECT(P_MOVE, "move_vma", move_tramp),
	DIRECT(P_MREMAP, "__x64_sys_mremap", mremap_tramp),
	DIRECT(P_EXIT, "exit_mmap", exit_tramp),
	[P_EXEC] = { .symbol = "sched_process_exec", .type = MW_TRACEPOINT,
		     .tp_func = exec_tp },
	[P_FORK] = { .symbol = "sched_process_fork", .type = MW_TRACEPOINT,
		     .tp_func = fork_tp },
	DIRECT(P_ADD_NEW, SYM_ADD_NEW, add_new_tramp),
	DIRECT(P_ADD, SYM_ADD, add_tramp),
	DIRECT(P_ADD_PMD, SYM_ADD_PMD, add_pmd_tramp),
	DIRECT(P_REMOVE, SYM_REMOVE, remove_tramp),
	DIRECT(P_REMOVE_PMD, SYM_REMOVE_PMD, remove_pmd_tramp),
};

static void find_tp(struct tracepoint *tp, void *priv)
{
	struct mw_probe *p = priv;

	if (!strcmp(tp->name, p->symbol))
		p->tp = tp;
}

/* Hook one function by name; its ftrace site must exist (notrace ones fail). */
static int attach_direct(struct mw_probe *p)
{
	char name[KSYM_NAME_LEN];
	int ret;

	strscpy(name, p->symbol, sizeof(name));
	ret = ftrace_set_filter(&p->fops, name, strlen(name), 1);
	if (!ret)
		ret = memwatch_register_direct(&p->fops, (unsigned long)p->tramp);
	if (ret)
		ftrace_free_filter(&p->fops);
	return ret;
}

static int attach(struct mw_probe *p)
{
	switch (p->type) {
	case MW_DIRECT:
		return attach_direct(p);
	case MW_TRACEPOINT:
		for_each_kernel_tracepoint(find_tp, p);
		if (!p->tp)
			return -ENOENT;
		return tracepoint_probe_register(p->tp, p->tp_func, NULL);
	}
	return -EINVAL;
}

static void detach(struct mw_probe *p)
{
	switch (p->type) {
	case MW_DIRECT:
		/* waits until no task is in the trampoline (RCU tasks) */
		memwatch_unregister_direct(&p->fops, (unsigned long)p->tramp);
		ftrace_free_filter(&p->fops);
		break;
	case MW_TRACEPOINT:
		tracepoint_probe_unregister(p->tp, p->tp_func, NULL);
		break;
	}
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
	for_each_possible_cpu(cpu) {
		info->hits += per_cpu(probe_hits, cpu)[i];
		info->missed += per_cpu(probe_missed, cpu)[i];
	}
}

/**
 * memwatch_probes_init() - attach every probe; they stay armed until unload
 *
 * A probe that cannot attach is reported by GET_STATUS and makes WATCH
 * fail; loading still succeeds so that the status can be read.
 *
 * Return: 0.
 */
int memwatch_probes_init(void)
{
	int i;

	for (i = 0; i < NR_PROBES; i++) {
		struct mw_probe *p = &probes[i];

		if (!p->symbol)
			continue;
		p->error = -attach(p);
		p->attached = !p->error;
		if (p->error)
			pr_warn("cannot attach to %s: %d\n", p->symbol,
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
		if (probes[i].attached)
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

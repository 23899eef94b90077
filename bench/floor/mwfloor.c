// SPDX-License-Identifier: GPL-2.0
/*
 * mwfloor: one hook with an empty handler on the page-level function
 * memwatch hooks on every anonymous fault, and nothing else. bench/guest-
 * bench.py loads it with memwatch unloaded to measure the least any hook
 * of that mechanism can add to a fault, which no filtering in memwatch's
 * handlers can undercut:
 *
 *   mech=kprobe    a kprobe at the function's entry: on an ftrace site, so
 *                  ftrace_regs_caller, then the kprobe handler (what
 *                  memwatch's hooks=kprobe uses)
 *   mech=optprobe  a kprobe on the first instruction after the ftrace
 *                  site: int3, then a jump once the optimizer has patched
 *                  it (/sys/kernel/debug/kprobes/list marks it [OPTIMIZED])
 *   mech=fprobe    an fprobe, entry only: ftrace_regs_caller, then the
 *                  fprobe handler, without the kprobe lookup
 *
 * sym= names the function (folio_add_new_anon_rmap on 6.2 and later,
 * page_add_new_anon_rmap before). hits counts the handler's calls, so the
 * benchmark can tell the hook fired.
 */

#include <linux/atomic.h>
#include <linux/fprobe.h>
#include <linux/ftrace.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/string.h>

static char *mech = "kprobe";
module_param(mech, charp, 0444);
MODULE_PARM_DESC(mech, "kprobe, optprobe or fprobe");

static char *sym = "folio_add_new_anon_rmap";
module_param(sym, charp, 0444);
MODULE_PARM_DESC(sym, "the function to hook");

/* a plain counter: an atomic one would add its own cost to the floor */
static unsigned long hits;
module_param(hits, ulong, 0444);
MODULE_PARM_DESC(hits, "calls of the empty handler (racy, a sign of life)");

static int floor_kp(struct kprobe *p, struct pt_regs *regs)
{
	hits++;
	return 0;
}

static struct kprobe floor_kprobe = { .pre_handler = floor_kp };

#ifndef MWFLOOR_CANNOT_FPROBE
static int floor_fp(struct fprobe *fp, unsigned long ip, unsigned long ret_ip,
		    struct pt_regs *regs, void *data)
{
	hits++;
	return 0;
}

static struct fprobe floor_fprobe = { .entry_handler = floor_fp };
static bool use_fprobe;
#endif

static int __init mwfloor_init(void)
{
	struct kprobe where = { .symbol_name = sym };	/* finds the address */
	unsigned long site;
	int ret;

	if (!strcmp(mech, "fprobe")) {
#ifdef MWFLOOR_CANNOT_FPROBE
		pr_err("mwfloor: no fprobe of the measured form on this kernel\n");
		return -EOPNOTSUPP;
#else
		use_fprobe = true;
		return register_fprobe(&floor_fprobe, sym, NULL);
#endif
	}
	if (!strcmp(mech, "kprobe")) {
		floor_kprobe.symbol_name = sym;
		return register_kprobe(&floor_kprobe);
	}
	if (strcmp(mech, "optprobe")) {
		pr_err("mwfloor: mech must be kprobe, optprobe or fprobe\n");
		return -EINVAL;
	}
	/* an optprobe needs an ordinary instruction: the one after the site */
	ret = register_kprobe(&where);
	if (ret)
		return ret;
	/* at a function's entry, a kprobe sits on the ftrace site */
	site = (where.flags & KPROBE_FLAG_FTRACE) ? (unsigned long)where.addr : 0;
	unregister_kprobe(&where);
	if (!site) {
		pr_err("mwfloor: %s has no ftrace site\n", sym);
		return -ENOENT;
	}
	floor_kprobe.addr = (kprobe_opcode_t *)(site + MCOUNT_INSN_SIZE);
	return register_kprobe(&floor_kprobe);
}

static void __exit mwfloor_exit(void)
{
#ifndef MWFLOOR_CANNOT_FPROBE
	if (use_fprobe) {
		unregister_fprobe(&floor_fprobe);
		return;
	}
#endif
	unregister_kprobe(&floor_kprobe);
}

module_init(mwfloor_init);
module_exit(mwfloor_exit);
MODULE_DESCRIPTION("memwatch benchmark: an empty hook on the fault path");
MODULE_LICENSE("GPL");

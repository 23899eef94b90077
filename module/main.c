// SPDX-License-Identifier: GPL-2.0
/*
 * memwatch: which anonymous regions a process made, how much of each is
 * reserved, committed and touched, and which threads filled them.
 *
 * The module in layers, each file one unit (its header says what it
 * exports and its locking rules):
 *
 *   main.c      load and unload, in layer order
 *   compat.h    every difference between kernels, behind feature probes
 *
 *   probes.c    which kernel functions are hooked, and how: the probe
 *               table, its handlers and attaching them (tramp.h: the
 *               trampolines ftrace direct calls enter)
 *
 *   track.c     what the kernel's VMA and page events do to regions
 *   watch.c     watches: lookup, lifecycle (watch, exec, fork, exit,
 *               unwatch) and access checks
 *   region.c    regions, their extents and per-thread attribution
 *   vaddr.c     reading VMAs and page tables (reserved, committed,
 *               touched)
 *   report.c    consistent copies of a watch for replies, and module
 *               figures
 *   stack.c     user call stacks: samples, their table per watch, the
 *               log of executable file mappings that names their code
 *   selftest.c  DEBUG builds only: self-tests of the extent tree
 *
 *   netlink.c   the generic netlink family: its requests and dumps
 *   events.c    the event ring and the "events" group (event.h is the
 *               one way events leave the core)
 *
 * probes.c calls into the core (track.h, watch.h); netlink.c calls the
 * core's process-context API (watch.h, report.h) and probes.h. The core
 * includes neither probes.h nor netlink.h.
 */

#include <linux/module.h>
#include <net/genetlink.h>
#include <uapi/linux/memwatch.h>

#include "netlink.h"
#include "probes.h"
#include "region.h"
#include "watch.h"

/*
 * The core first, then the probes that feed it, then netlink, which makes
 * the module visible: nothing half-built can be reached. Exit undoes this
 * in reverse, so the probes are gone before the core frees anything.
 */
static int __init memwatch_init(void)
{
	int ret;

	ret = memwatch_region_init();
	if (ret)
		return ret;
#ifdef DEBUG
	ret = -ENOTRECOVERABLE;
	if (!memwatch_region_selftest()) {
		pr_err("region self-tests: FAIL\n");
		goto out_uninit_region;
	}
	pr_info("region self-tests: pass\n");
#endif
	ret = memwatch_probes_init();
	if (ret)
		goto out_uninit_region;
	ret = memwatch_netlink_init();
	if (ret)
		goto out_uninit_probes;
	pr_info("loaded, %u probes\n", memwatch_probes_count());
	return 0;

out_uninit_probes:
	memwatch_probes_uninit();
out_uninit_region:
	memwatch_region_uninit();
	return ret;
}

static void __exit memwatch_exit(void)
{
	memwatch_netlink_uninit();
	memwatch_probes_uninit();
	memwatch_watch_uninit();
	memwatch_region_uninit();
	pr_info("unloaded\n");
}

module_init(memwatch_init);
module_exit(memwatch_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Per-region anonymous memory tracking of watched processes");
MODULE_AUTHOR("memwatch developers");
MODULE_VERSION(MEMWATCH_MODULE_VERSION);
MODULE_ALIAS_GENL_FAMILY(MEMWATCH_GENL_NAME);

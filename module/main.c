// SPDX-License-Identifier: GPL-2.0
/*
 * memwatch: which anonymous regions a process made, how much of each is
 * reserved, committed and touched, and which threads filled them.
 */

#include <linux/module.h>
#include <net/genetlink.h>
#include <uapi/linux/memwatch.h>

#include "netlink.h"
#include "probes.h"
#include "track.h"

/*
 * Tracking first, then the probes that feed it, then netlink, which makes
 * the module visible: nothing half-built can be reached. Exit undoes this
 * in reverse, so the probes are gone before tracking frees anything.
 */
static int __init memwatch_init(void)
{
	int ret;

	ret = memwatch_track_init();
	if (ret)
		return ret;
	ret = memwatch_probes_init();
	if (ret)
		goto out_uninit_track;
	ret = memwatch_netlink_init();
	if (ret)
		goto out_uninit_probes;
	pr_info("loaded, %u probes\n", memwatch_probes_count());
	return 0;

out_uninit_probes:
	memwatch_probes_uninit();
out_uninit_track:
	memwatch_track_uninit();
	return ret;
}

static void __exit memwatch_exit(void)
{
	memwatch_netlink_uninit();
	memwatch_probes_uninit();
	memwatch_track_uninit();
	pr_info("unloaded\n");
}

module_init(memwatch_init);
module_exit(memwatch_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Per-region anonymous memory tracking of watched processes");
MODULE_AUTHOR("memwatch developers");
MODULE_ALIAS_GENL_FAMILY(MEMWATCH_GENL_NAME);

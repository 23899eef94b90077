// SPDX-License-Identifier: GPL-2.0
/*
 * Self-tests of the extent tree, run at load by DEBUG builds only (make
 * module-debug): cuts, splits and refills on a watch with no process,
 * checked against what they must leave. A failure fails the load.
 */

#include <linux/percpu.h>
#include <linux/slab.h>

#include "region.h"
#include "watch.h"

/* Extents are sorted, disjoint, and each region counts its own. */
static bool __extents_sane(struct memwatch_target *t)
{
	unsigned long last_end = 0;
	struct mw_region *r;
	struct rb_node *n;
	u32 nodes = 0, owned = 0, attrs = 0;

	for (n = rb_first(&t->extents); n; n = rb_next(n)) {
		struct mw_extent *e = rb_entry(n, struct mw_extent, rb);

		if (e->start >= e->end || e->start < last_end)
			return false;
		last_end = e->end;
		nodes++;
	}
	list_for_each_entry(r, &t->regions, node) {
		owned += r->nr_extents;
		attrs += r->nr_attrs;
	}
	return nodes == owned && nodes == t->nr_extents &&
	       attrs == t->nr_attrs;
}

static bool __selftest_add(struct memwatch_target *t, unsigned long start,
			   unsigned long end)
{
	struct mw_region *r = memwatch_region_alloc(GFP_ATOMIC);
	struct mw_extent *e = memwatch_extent_alloc(GFP_ATOMIC);

	if (!r || !e) {
		if (r)
			memwatch_region_free(r);
		if (e)
			memwatch_extent_free(e);
		return false;
	}
	__memwatch_region_add(t, r, e, start, end);
	return true;
}

/**
 * memwatch_region_selftest() - test the extent tree
 *
 * Return: true if every check passed.
 */
bool memwatch_region_selftest(void)
{
	struct memwatch_target *t = kzalloc(sizeof(*t), GFP_KERNEL);
	struct mw_extent *e;
	bool ok = false;

	if (!t)
		return false;
	t->pending = alloc_percpu(struct mw_pending);
	if (!t->pending)
		goto out_free;
	spin_lock_init(&t->lock);
	t->extents = RB_ROOT;
	INIT_LIST_HEAD(&t->regions);
	INIT_LIST_HEAD(&t->spare_regions);
	spin_lock(&t->lock);
	if (!__selftest_add(t, 0x10000, 0x20000))
		goto out_unlock;
	__memwatch_cut(t, 0x14000, 0x16000, false);	/* a hole: two extents */
	e = memwatch_extent_at(t, 0x10000);
	if (!e || e->region->nr_extents != 2 || memwatch_extent_at(t, 0x15000) ||
	    !__extents_sane(t))
		goto out_unlock;
	if (!__selftest_add(t, 0x14000, 0x15000))	/* into the hole */
		goto out_unlock;
	__memwatch_split_at(t, 0x18000);
	if (t->nr_regions != 2 || e->region->nr_extents != 3 ||
	    !__extents_sane(t))
		goto out_unlock;
	__memwatch_cut(t, 0x1f000, 0x30000, false);	/* the tail */
	if (memwatch_extent_at(t, 0x1f000) || !memwatch_extent_at(t, 0x1e000) ||
	    !__extents_sane(t))
		goto out_unlock;
	__memwatch_cut(t, 0, 0x100000, false);		/* everything */
	ok = !t->nr_regions && RB_EMPTY_ROOT(&t->extents) &&
	     list_empty(&t->regions);
out_unlock:
	spin_unlock(&t->lock);
	memwatch_region_free_all(t);
	free_percpu(t->pending);
out_free:
	kfree(t);
	return ok;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Events: what the core posts through event.h (regions made and gone,
 * exec, exit, fork), queued in a ring where nothing may sleep and sent to
 * the family's "events" multicast group by a worker, in every network
 * namespace that listens.
 */

#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <net/genetlink.h>
#include <uapi/linux/memwatch.h>

#include "event.h"
#include "netlink.h"

#define EV_RING	1024

/*
 * ev_lock protects the ring and ev_up. Producers run in hooks, where
 * nothing may sleep; the worker sends what they queued from process
 * context.
 */
static DEFINE_SPINLOCK(ev_lock);
static struct memwatch_event ev_ring[EV_RING];
static unsigned int ev_head, ev_tail;
static bool ev_up;

static void ev_work_fn(struct work_struct *work);
static DECLARE_WORK(ev_work, ev_work_fn);

/**
 * memwatch_event_wanted() - whether anyone listens to the "events" group
 *
 * In any network namespace. Events nobody reads are not built, so that a
 * watched process that maps a lot does not pay for them. Callable where
 * nothing may sleep.
 *
 * Return: true if an event posted now would be queued.
 */
bool memwatch_event_wanted(void)
{
	struct net *net;
	bool ret = false;

	rcu_read_lock();
	for_each_net_rcu(net) {
		if (genl_has_listeners(&memwatch_genl_family, net, MEMWATCH_MCGRP_IDX_EVENTS)) {
			ret = true;
			break;
		}
	}
	rcu_read_unlock();
	return ret;
}

/**
 * memwatch_event_post() - queue an event for the "events" group
 * @ev: the event, copied
 *
 * Callable where nothing may sleep. Without a listener the event is not
 * queued.
 *
 * Return: false if the ring was full and the event was dropped.
 */
bool memwatch_event_post(const struct memwatch_event *ev)
{
	bool queued = false, up;

	if (!memwatch_event_wanted())
		return true;
	spin_lock(&ev_lock);
	up = ev_up;
	if (up && ev_head - ev_tail < EV_RING) {
		ev_ring[ev_head++ % EV_RING] = *ev;
		queued = true;
		/*
		 * Under the lock: once memwatch_events_stop() has cleared
		 * ev_up, no one can queue the worker behind its cancel.
		 */
		schedule_work(&ev_work);
	}
	spin_unlock(&ev_lock);
	return queued || !up;
}

static int put_event(struct sk_buff *msg, const struct memwatch_event *ev)
{
	const int pad = MEMWATCH_A_EVENT_PAD;

	if (nla_put_u32(msg, MEMWATCH_A_EVENT_TYPE, ev->type) ||
	    nla_put_u32(msg, MEMWATCH_A_EVENT_PID, ev->pid) ||
	    nla_put_u32(msg, MEMWATCH_A_EVENT_TID, ev->tid) ||
	    nla_put_string(msg, MEMWATCH_A_EVENT_COMM, ev->comm) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_EVENT_NS, ev->ns, pad))
		return -EMSGSIZE;
	if (ev->type == MEMWATCH_EVENT_FORK)
		return nla_put_u32(msg, MEMWATCH_A_EVENT_PPID, ev->ppid);
	if (ev->type != MEMWATCH_EVENT_REGION_NEW &&
	    ev->type != MEMWATCH_EVENT_REGION_GONE)
		return 0;
	if (nla_put_u64_64bit(msg, MEMWATCH_A_EVENT_REGION_ID, ev->region_id,
			      pad) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_EVENT_REGION_START, ev->start,
			      pad) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_EVENT_REGION_END, ev->end, pad) ||
	    nla_put_u32(msg, MEMWATCH_A_EVENT_REGION_KIND, ev->kind) ||
	    nla_put_u32(msg, MEMWATCH_A_EVENT_REGION_FLAGS, ev->flags))
		return -EMSGSIZE;
	if (ev->type == MEMWATCH_EVENT_REGION_NEW && ev->stack_id &&
	    nla_put_u64_64bit(msg, MEMWATCH_A_EVENT_STACK_ID, ev->stack_id,
			      pad))
		return -EMSGSIZE;
	return 0;
}

static void ev_work_fn(struct work_struct *work)
{
	struct memwatch_event ev;

	for (;;) {
		struct sk_buff *msg;
		void *hdr;

		spin_lock(&ev_lock);
		if (ev_tail == ev_head) {
			spin_unlock(&ev_lock);
			return;
		}
		ev = ev_ring[ev_tail++ % EV_RING];
		spin_unlock(&ev_lock);

		msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
		if (!msg)
			continue;
		hdr = genlmsg_put(msg, 0, 0, &memwatch_genl_family, 0, MEMWATCH_CMD_EVENT);
		if (!hdr || put_event(msg, &ev)) {
			nlmsg_free(msg);
			continue;
		}
		genlmsg_end(msg, hdr);
		genlmsg_multicast_allns(&memwatch_genl_family, msg, 0, MEMWATCH_MCGRP_IDX_EVENTS);
		cond_resched();
	}
}

/**
 * memwatch_events_start() - let events be queued; the family is registered
 */
void memwatch_events_start(void)
{
	spin_lock(&ev_lock);
	ev_up = true;
	spin_unlock(&ev_lock);
}

/**
 * memwatch_events_stop() - queue no more and wait for the worker
 *
 * Before the family is unregistered: queued events are dropped.
 */
void memwatch_events_stop(void)
{
	spin_lock(&ev_lock);
	ev_up = false;
	spin_unlock(&ev_lock);
	cancel_work_sync(&ev_work);
}

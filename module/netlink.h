/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The generic netlink family, registered last at load and unregistered
 * first at unload: netlink.c implements its requests, events.c the event
 * interface of event.h behind it.
 */
#ifndef _MEMWATCH_NETLINK_H
#define _MEMWATCH_NETLINK_H

/* what GET_STATUS reports and MODULE_VERSION() says */
#define MEMWATCH_MODULE_VERSION "0.1.0"

struct genl_family;

/* the family, and the index of its "events" multicast group */
extern struct genl_family memwatch_genl_family;
enum { MEMWATCH_MCGRP_IDX_EVENTS };

int memwatch_netlink_init(void);
void memwatch_netlink_uninit(void);

/* events.c: the event ring, between the family's registration and removal */
void memwatch_events_start(void);
void memwatch_events_stop(void);

#endif /* _MEMWATCH_NETLINK_H */

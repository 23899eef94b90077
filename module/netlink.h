/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The generic netlink family, registered last at load and unregistered
 * first at unload; netlink.c implements it, and the event interface of
 * event.h behind it.
 */
#ifndef _MEMWATCH_NETLINK_H
#define _MEMWATCH_NETLINK_H

/* what GET_STATUS reports and MODULE_VERSION() says */
#define MEMWATCH_MODULE_VERSION "0.1.0"

int memwatch_netlink_init(void);
void memwatch_netlink_uninit(void);

#endif /* _MEMWATCH_NETLINK_H */

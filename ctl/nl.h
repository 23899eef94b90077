/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The memwatch generic netlink family, as plain C: nl.c sends the requests
 * include/uapi/linux/memwatch.h describes and parses the replies into the
 * structs of replies.h, so that no command file sees libnl. Attributes a
 * reply lacks read as 0 or "".
 *
 * Every function returns 0 or a negative errno: the kernel's, or -EIO for a
 * local netlink failure (mw_nl_detail() says which), -EPROTO for a reply
 * that does not parse, -EAGAIN for a dump that kept being interrupted.
 * The socket is opened on first use; if the family does not resolve, the
 * call fails with -ENOENT and mw_nl_module_missing() is true.
 */
#ifndef MEMWATCHCTL_NL_H
#define MEMWATCHCTL_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "replies.h"

void mw_nl_set_debug(bool on);
void mw_nl_close(void);

/* What the last failure was, for the message the user sees. */
bool mw_nl_module_missing(void);
const char *mw_nl_extack(void);	/* the kernel's message, or NULL */
const char *mw_nl_detail(void);	/* a local failure, or NULL */

int mw_get_status(struct mw_status *st);
void mw_status_free(struct mw_status *st);

int mw_watch(uint32_t pid, uint32_t flags, bool send_flags,
	     struct mw_watch *w);
/* What later mw_watch() calls ask of fill sampling; < 0: the default. */
void mw_watch_set_fill_every(int64_t every);
int mw_unwatch(uint32_t pid);

/* pid 0 lists every watch. Free *w with free(). */
int mw_get_watches(uint32_t pid, struct mw_watch **w, size_t *nr);
/* The watch a pid names: its live one, else its oldest exited; -ENOENT. */
int mw_get_watch(uint32_t pid, struct mw_watch *w);

int mw_get_regions(uint32_t pid, struct mw_region **r, size_t *nr);
void mw_regions_free(struct mw_region *r, size_t nr);

/*
 * A watch's call stacks and executable file mappings. Of an exited watch,
 * ask before mw_get_regions(), whose complete dump discards it.
 */
int mw_get_stacks(uint32_t pid, struct mw_raw_stack **s, size_t *nr);
void mw_stacks_free(struct mw_raw_stack *s, size_t nr);
int mw_get_code_maps(uint32_t pid, struct mw_code_map **m, size_t *nr);
void mw_code_maps_free(struct mw_code_map *m, size_t nr);

/*
 * Events come on a socket of their own, subscribed to the "events" group:
 * mw_events_open() joins it (so open it before starting what should be
 * seen), mw_events_fd() is for poll(), and mw_events_read() hands each
 * event that has arrived to fn without blocking. Returns 0 or -errno;
 * -ENOBUFS means the socket overflowed and events were lost.
 */
int mw_events_open(void);
int mw_events_fd(void);
typedef void (*mw_event_fn)(const struct mw_event *ev, void *arg);
int mw_events_read(mw_event_fn fn, void *arg);
void mw_events_close(void);

#endif /* MEMWATCHCTL_NL_H */

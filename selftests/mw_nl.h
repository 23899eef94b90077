/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Generic netlink helpers for the memwatch selftests.
 *
 * Every request is sent with NLM_F_ACK on a socket with NETLINK_EXT_ACK
 * set, and the kernel's answer is kept whole: the errno and the extended-ack
 * message text, so tests can check both. Replies are read into the structs
 * memwatchctl reads them into (ctl/replies.h), by a reader of their own
 * that lets nothing odd pass. A raw path builds messages byte by byte so
 * tests can send what a well-behaved client never would.
 */
#ifndef MW_NL_H
#define MW_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/memwatch.h>

#include "../ctl/replies.h"

#define MW_MSG_LEN 256

struct nl_sock;
struct nlmsghdr;

/**
 * struct mw_nl - a generic netlink socket bound to the memwatch family
 * @sk: libnl socket
 * @family: resolved family id
 * @err: result of the last request: 0 or a negative errno from the kernel,
 *	or a negative errno for a local failure (then @local is set)
 * @local: the last request failed before the kernel answered it
 * @msg: extended-ack message of the last request, "" if none came
 * @offs: NLMSGERR_ATTR_OFFS of the last request, 0 if none came
 */
struct mw_nl {
	struct nl_sock *sk;
	int family;
	int err;
	bool local;
	char msg[MW_MSG_LEN];
	uint32_t offs;
};

/**
 * struct mw_attr - one attribute of a request, sent as given
 * @type: attribute type
 * @len: payload length; any length, so malformed payloads can be sent
 * @data: payload
 */
struct mw_attr {
	uint16_t type;
	uint16_t len;
	const void *data;
};

#define MW_ATTR(t, ptr) ((struct mw_attr){ (t), sizeof(*(ptr)), (ptr) })

/* Called for each reply message; return 0 to go on, -errno to stop. */
typedef int (*mw_msg_fn)(const struct nlmsghdr *nlh, void *arg);

int mw_nl_open(struct mw_nl *nl);
void mw_nl_close(struct mw_nl *nl);

int mw_nl_request(struct mw_nl *nl, int family, uint8_t cmd, uint16_t flags,
		  const struct mw_attr *attrs, int nattrs,
		  mw_msg_fn fn, void *arg);
int mw_nl_do(struct mw_nl *nl, uint8_t cmd, const struct mw_attr *attrs,
	     int nattrs);
int mw_nl_dump(struct mw_nl *nl, uint8_t cmd, const struct mw_attr *attrs,
	       int nattrs);

/**
 * struct mw_raw - a request built byte by byte
 * @buf: the message: nlmsghdr, genlmsghdr, attributes
 * @len: bytes used in @buf
 *
 * mw_raw_init() fills in a well-formed header for @cmd; the test may then
 * change any field through mw_raw_nlh()/mw_raw_genl() before mw_nl_raw().
 */
struct mw_raw {
	uint32_t buf[1024];
	size_t len;
};

void mw_raw_init(struct mw_raw *r, int family, uint8_t cmd, uint16_t flags);
struct nlmsghdr *mw_raw_nlh(struct mw_raw *r);
struct genlmsghdr *mw_raw_genl(struct mw_raw *r);
void mw_raw_put(struct mw_raw *r, uint16_t type, const void *data,
		uint16_t len);
int mw_nl_raw(struct mw_nl *nl, struct mw_raw *r, mw_msg_fn fn, void *arg);

/* MEMWATCH_CMD_GET_STATUS; mw_status_free() frees the probes */

int mw_get_status(struct mw_nl *nl, struct mw_status *st);
void mw_status_free(struct mw_status *st);
uint64_t mw_status_hits(const struct mw_status *st);

/* MEMWATCH_CMD_WATCH, _UNWATCH, _GET_WATCHES */

int mw_watch(struct mw_nl *nl, pid_t pid, uint32_t flags,
	     struct mw_watch *reply);
int mw_unwatch(struct mw_nl *nl, pid_t pid);

struct mw_watches {
	int n;
	struct mw_watch *w;
};

int mw_get_watches(struct mw_nl *nl, pid_t pid, struct mw_watches *out);
void mw_watches_free(struct mw_watches *ws);

/* MEMWATCH_CMD_GET_REGIONS; mw_regions_free() frees each region's arrays */

struct mw_regions {
	int n;
	struct mw_region *r;
	/* dumps retried because the kernel flagged them NLM_F_DUMP_INTR */
	int retries;
};

int mw_get_regions(struct mw_nl *nl, pid_t pid, struct mw_regions *out);
void mw_regions_free(struct mw_regions *rs);
const struct mw_region *mw_region_at(const struct mw_regions *rs,
				     uint64_t addr);
int mw_regions_overlapping(const struct mw_regions *rs, uint64_t start,
			   uint64_t end);

const char *mw_cmd_name(int cmd);

#endif /* MW_NL_H */

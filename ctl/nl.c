// SPDX-License-Identifier: GPL-2.0
/*
 * The only file that talks libnl: socket set-up, the request/receive loop
 * with extended acks, dump retries, and parsing replies into nl.h's structs.
 * Replies and events are read by one loop, receive(), with --debug or
 * without: --debug only prints each message it reads (and libnl prints
 * what it sends).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <netlink/netlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>

#include <linux/memwatch.h>

#include "memwatchctl.h"
#include "nl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/*
 * A dump flagged NLM_F_DUMP_INTR saw the data change under it; it is read
 * again from the start. Changes are rare next to a dump's duration, so a
 * few tries are plenty; past them the caller is told to try again.
 */
#define DUMP_TRIES 8

static struct nl_sock *sock;
static struct nl_cb *base_cb;
static int family = -1;
static bool debug;

static bool module_missing;
static char extack_msg[256];
static char detail_msg[256];

void mw_nl_set_debug(bool on)
{
	debug = on;
}

bool mw_nl_module_missing(void)
{
	return module_missing;
}

const char *mw_nl_extack(void)
{
	return extack_msg[0] ? extack_msg : NULL;
}

const char *mw_nl_detail(void)
{
	return detail_msg[0] ? detail_msg : NULL;
}

static int local_failure(const char *what, int nlerr)
{
	snprintf(detail_msg, sizeof(detail_msg), "%s: %s", what,
		 nl_geterror(nlerr));
	return -EIO;
}

void mw_events_close(void);

void mw_nl_close(void)
{
	mw_events_close();
	if (sock)
		nl_socket_free(sock);
	sock = NULL;
	if (base_cb)
		nl_cb_put(base_cb);
	base_cb = NULL;
	family = -1;
}

/*
 * libnl's NL_CB_DEBUG handlers print to stdout unless given a stream: send
 * them to stderr so that --debug never corrupts --json output.
 */
static void debug_to_stderr(struct nl_cb *cb)
{
	int t;

	for (t = 0; t <= NL_CB_TYPE_MAX; t++)
		nl_cb_set(cb, t, NL_CB_DEBUG, NULL, stderr);
	nl_cb_err(cb, NL_CB_DEBUG, NULL, stderr);
}

static int no_seq_check(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

static int nl_open(void)
{
	int one = 1;
	int ret;

	if (sock)
		return 0;

	base_cb = nl_cb_alloc(debug ? NL_CB_DEBUG : NL_CB_DEFAULT);
	if (!base_cb)
		return -ENOMEM;
	if (debug)
		debug_to_stderr(base_cb);
	/*
	 * memwatch's replies are read by receive(), which checks sequence
	 * numbers itself and leaves libnl's expected number behind: libnl's
	 * own loops on this socket (resolving the family and the events
	 * group) must not compare. With --debug, libnl prints every message
	 * sent and what its own loops read; receive() prints the rest.
	 */
	nl_cb_set(base_cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, no_seq_check, NULL);

	sock = nl_socket_alloc_cb(base_cb);
	if (!sock) {
		mw_nl_close();
		return -ENOMEM;
	}

	ret = genl_connect(sock);
	if (ret < 0) {
		mw_nl_close();
		return local_failure("cannot open a generic netlink socket",
				     ret);
	}

	/* libnl's loops size their reads to the reply, however large. */
	nl_socket_enable_msg_peek(sock);

	/*
	 * libnl has no helper for extended acks. A kernel without them
	 * leaves the messages out; nothing else changes, so errors are
	 * ignored. The echoed request in error replies is of no use here.
	 */
	setsockopt(nl_socket_get_fd(sock), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(sock), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));

	family = genl_ctrl_resolve(sock, MEMWATCH_GENL_NAME);
	if (family < 0) {
		mw_nl_close();
		module_missing = true;
		return -ENOENT;
	}
	return 0;
}

/* Extended-ack TLVs: keep the message, or name a missing attribute. */
static void save_extack(void *tlvs, int len)
{
	struct nlattr *pos;
	int rem;

	if (len <= 0)
		return;
	nla_for_each_attr(pos, tlvs, len, rem) {
		switch (nla_type(pos)) {
		case NLMSGERR_ATTR_MSG:
			nla_strlcpy(extack_msg, pos, sizeof(extack_msg));
			return;
		case NLMSGERR_ATTR_MISS_TYPE:
			if (nla_len(pos) >= (int)sizeof(uint32_t) &&
			    !extack_msg[0])
				snprintf(extack_msg, sizeof(extack_msg),
					 "missing attribute %u",
					 nla_get_u32(pos));
			break;
		}
	}
}

struct request {
	uint8_t cmd;
	bool dump;
	int pid_attr;		/* 0: no pid attribute */
	uint32_t pid;
	bool send_flags;
	uint32_t flags;
	int64_t fill_every;	/* WATCH: < 0 sends none */
	int (*parse)(struct nlmsghdr *nlh, void *arg);
	void (*reset)(void *arg);	/* before a dump is read again */
	void *arg;
};

struct recv_state {
	const struct request *req;
	int err;		/* 1 while waiting, then 0 or -errno */
	int parse_err;
	bool interrupted;
};

/* What each kind of reply does. */
static void on_valid(struct recv_state *st, struct nlmsghdr *nlh)
{
	int ret;

	/* libnl before 3.2.26 does not look at the flag itself. */
	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		st->interrupted = true;
	if (st->parse_err || !st->req->parse)
		return;
	/* Keep reading after a bad message so the socket stays in step. */
	ret = st->req->parse(nlh, st->req->arg);
	if (ret < 0)
		st->parse_err = ret;
}

/* The end of a dump carries the dump's errno and, with it, an extack. */
static void on_done(struct recv_state *st, struct nlmsghdr *nlh)
{
	int len = nlmsg_datalen(nlh);
	int error = 0;

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		st->interrupted = true;
	if (len >= (int)sizeof(error)) {
		memcpy(&error, nlmsg_data(nlh), sizeof(error));
		if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
			save_extack((char *)nlmsg_data(nlh) + sizeof(error),
				    len - (int)sizeof(error));
	}
	st->err = error < 0 ? error : 0;
}

/* An error, or with error 0 the ack that ends a do. */
static void on_error(struct recv_state *st, struct nlmsghdr *nlh)
{
	struct nlmsgerr *e = nlmsg_data(nlh);
	uint32_t off = NLMSG_HDRLEN + sizeof(*e);

	if (nlh->nlmsg_len < off) {
		st->err = -EPROTO;
		return;
	}
	if (!e->error) {
		st->err = 0;
		return;
	}
	/* The TLVs follow the echoed request, or only its header if capped. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
	    e->msg.nlmsg_len > NLMSG_HDRLEN &&
	    e->msg.nlmsg_len < nlh->nlmsg_len)
		off += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && off < nlh->nlmsg_len)
		save_extack((char *)nlh + off, (int)(nlh->nlmsg_len - off));
	if (debug && extack_msg[0])
		fprintf(stderr, "kernel reports: %s\n", extack_msg);
	st->err = e->error < 0 ? e->error : -EPROTO;
}

/*
 * Datagrams are read into a buffer and their messages handled in place:
 * nl_recvmsgs() first copies every message into an nl_msg of its own, and
 * a dump of 100,000 regions paid for 100,000 of them. The kernel fills a
 * dump's datagrams up to 32 KiB, or to what one message needs. Events
 * have a buffer of their own: a handler of an event may send requests
 * (run reports a child when its exit event comes).
 */
union rx_buf {
	struct nlmsghdr h;
	char b[256 << 10];
};

static union rx_buf reply_buf, event_buf;

/* --debug: each message read, as libnl prints the ones it sends */
static void debug_dump(struct nlmsghdr *nlh)
{
	struct nl_msg *msg;

	if (!debug)
		return;
	msg = nlmsg_convert(nlh);
	if (!msg)
		return;
	fprintf(stderr, "-- Debug: Received Message:\n");
	nl_msg_dump(msg, stderr);
	nlmsg_free(msg);
}

/*
 * One datagram from @fd into @rx: its length, 0 if a non-blocking socket
 * has none, or -errno (-EIO with the detail set).
 */
static ssize_t recv_datagram(int fd, union rx_buf *rx, int flags,
			     const char *what)
{
	struct iovec iov = { .iov_base = rx->b, .iov_len = sizeof(rx->b) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	do {
		n = recvmsg(fd, &mh, flags);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n < 0) {
		int err = errno;

		snprintf(detail_msg, sizeof(detail_msg), "cannot read %s: %s",
			 what, strerror(err));
		/* the socket overflowed: for events, some were lost */
		return err == ENOBUFS ? -ENOBUFS : -EIO;
	}
	if (mh.msg_flags & MSG_TRUNC) {
		snprintf(detail_msg, sizeof(detail_msg),
			 "%s was larger than %zu bytes", what, sizeof(rx->b));
		return -EIO;
	}
	return n;
}

/* The replies to request @seq, until its ack, error or end of dump. */
static int receive(struct recv_state *st, uint32_t seq)
{
	int fd = nl_socket_get_fd(sock);

	while (st->err > 0) {
		struct nlmsghdr *nlh = &reply_buf.h;
		ssize_t n = recv_datagram(fd, &reply_buf, 0, "the reply");

		if (n < 0)
			return n == -ENOBUFS ? -EIO : (int)n;
		for (; NLMSG_OK(nlh, n) && st->err > 0; nlh = NLMSG_NEXT(nlh, n)) {
			debug_dump(nlh);
			if (nlh->nlmsg_seq != seq)
				continue;	/* a late reply to an older request */
			switch (nlh->nlmsg_type) {
			case NLMSG_NOOP:
			case NLMSG_OVERRUN:
				break;
			case NLMSG_DONE:
				on_done(st, nlh);
				break;
			case NLMSG_ERROR:
				on_error(st, nlh);
				break;
			default:
				on_valid(st, nlh);
			}
		}
	}
	return st->err;
}

static int send_request(const struct request *req, struct recv_state *st)
{
	struct nl_msg *msg;
	uint32_t seq;
	int ret;

	msg = nlmsg_alloc();
	if (!msg)
		return -ENOMEM;
	/* Always ask for an ack: a do without a reply still ends cleanly. */
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
			 NLM_F_ACK | (req->dump ? NLM_F_DUMP : 0), req->cmd,
			 MEMWATCH_GENL_VERSION) ||
	    (req->pid_attr && nla_put_u32(msg, req->pid_attr, req->pid) < 0) ||
	    (req->send_flags &&
	     nla_put_u32(msg, MEMWATCH_A_WATCH_FLAGS, req->flags) < 0) ||
	    (req->cmd == MEMWATCH_CMD_WATCH && req->fill_every >= 0 &&
	     nla_put_u32(msg, MEMWATCH_A_WATCH_FILL_EVERY,
			 (uint32_t)req->fill_every) < 0)) {
		nlmsg_free(msg);
		return -ENOMEM;
	}

	ret = nl_send_auto(sock, msg);
	seq = nlmsg_hdr(msg)->nlmsg_seq;
	nlmsg_free(msg);
	if (ret < 0)
		return local_failure("cannot send the request", ret);
	return receive(st, seq);
}

static int run(const struct request *req)
{
	struct recv_state st;
	int tries = 0;
	int ret;

	ret = nl_open();
	if (ret)
		return ret;

	for (;;) {
		memset(&st, 0, sizeof(st));
		st.req = req;
		st.err = 1;
		extack_msg[0] = '\0';
		detail_msg[0] = '\0';

		ret = send_request(req, &st);
		if (ret)
			return ret;
		if (st.parse_err)
			return st.parse_err;
		if (!st.interrupted || !req->dump)
			return 0;
		if (++tries == DUMP_TRIES) {
			snprintf(detail_msg, sizeof(detail_msg),
				 "the dump was interrupted by changes %d times",
				 tries);
			return -EAGAIN;
		}
		if (req->reset)
			req->reset(req->arg);
	}
}

/* Grow an array by one element, zeroed; NULL when out of memory. */
static void *push(void **arr, size_t *nr, size_t *cap, size_t size)
{
	char *p = *arr;

	if (*nr == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;

		p = realloc(p, ncap * size);
		if (!p)
			return NULL;
		*arr = p;
		*cap = ncap;
	}
	p += *nr * size;
	memset(p, 0, size);
	(*nr)++;
	return p;
}

static uint32_t get_u32(struct nlattr **tb, int type)
{
	return tb[type] ? nla_get_u32(tb[type]) : 0;
}

static uint64_t get_u64(struct nlattr **tb, int type)
{
	return tb[type] ? nla_get_u64(tb[type]) : 0;
}

static void get_string(char *dst, size_t size, struct nlattr **tb, int type)
{
	dst[0] = '\0';
	if (tb[type])
		nla_strlcpy(dst, tb[type], size);
}

/* The attributes a reply carried, as the @present bits of replies.h. */
static uint64_t present_of(struct nlattr **tb, int max)
{
	uint64_t bits = 0;
	int i;

	for (i = 0; i <= max && i < 64; i++)
		if (tb[i])
			bits |= MW_PRESENT(i);
	return bits;
}

static struct nlattr *attrs_of(struct nlmsghdr *nlh, int *len)
{
	struct genlmsghdr *ghdr = nlmsg_data(nlh);

	*len = genlmsg_attrlen(ghdr, 0);
	return genlmsg_attrdata(ghdr, 0);
}

/* MEMWATCH_CMD_GET_STATUS */

static struct nla_policy status_policy[MEMWATCH_A_STATUS_MAX + 1] = {
	[MEMWATCH_A_STATUS_VERSION]		= { .type = NLA_U32 },
	[MEMWATCH_A_STATUS_MODULE_VERSION]	= { .type = NLA_STRING },
	[MEMWATCH_A_STATUS_KERNEL]		= { .type = NLA_STRING },
	[MEMWATCH_A_STATUS_WATCHES]		= { .type = NLA_U32 },
	[MEMWATCH_A_STATUS_MAX_WATCHES]		= { .type = NLA_U32 },
	[MEMWATCH_A_STATUS_MAX_REGIONS]		= { .type = NLA_U32 },
	[MEMWATCH_A_STATUS_MEM_BYTES]		= { .type = NLA_U64 },
	[MEMWATCH_A_STATUS_REGIONS]		= { .type = NLA_U64 },
	[MEMWATCH_A_STATUS_PROBE]		= { .type = NLA_NESTED },
	[MEMWATCH_A_STATUS_MAX_THREADS_PER_REGION] = { .type = NLA_U32 },
};

static struct nla_policy probe_policy[MEMWATCH_A_PROBE_MAX + 1] = {
	[MEMWATCH_A_PROBE_SYMBOL]	= { .type = NLA_STRING },
	[MEMWATCH_A_PROBE_ATTACHED]	= { .type = NLA_U32 },
	[MEMWATCH_A_PROBE_ERROR]	= { .type = NLA_U32 },
	[MEMWATCH_A_PROBE_HITS]		= { .type = NLA_U64 },
	[MEMWATCH_A_PROBE_MISSED]	= { .type = NLA_U64 },
	[MEMWATCH_A_PROBE_MECHANISM]	= { .type = NLA_U32 },
};

struct status_ctx {
	struct mw_status *st;
	size_t cap;
};

static int parse_probe(struct nlattr *nest, struct mw_probe *p)
{
	struct nlattr *tb[MEMWATCH_A_PROBE_MAX + 1];

	if (nla_parse_nested(tb, MEMWATCH_A_PROBE_MAX, nest, probe_policy))
		return -EPROTO;
	get_string(p->symbol, sizeof(p->symbol), tb, MEMWATCH_A_PROBE_SYMBOL);
	p->attached = get_u32(tb, MEMWATCH_A_PROBE_ATTACHED);
	p->error = get_u32(tb, MEMWATCH_A_PROBE_ERROR);
	p->hits = get_u64(tb, MEMWATCH_A_PROBE_HITS);
	p->missed = get_u64(tb, MEMWATCH_A_PROBE_MISSED);
	p->mechanism = get_u32(tb, MEMWATCH_A_PROBE_MECHANISM);
	return 0;
}

static int parse_status(struct nlmsghdr *nlh, void *arg)
{
	struct status_ctx *ctx = arg;
	struct mw_status *st = ctx->st;
	struct nlattr *tb[MEMWATCH_A_STATUS_MAX + 1];
	struct nlattr *attrs, *pos;
	int len, rem, ret;

	if (genlmsg_parse(nlh, 0, tb, MEMWATCH_A_STATUS_MAX, status_policy))
		return -EPROTO;
	st->version = get_u32(tb, MEMWATCH_A_STATUS_VERSION);
	get_string(st->module_version, sizeof(st->module_version), tb,
		   MEMWATCH_A_STATUS_MODULE_VERSION);
	get_string(st->kernel, sizeof(st->kernel), tb,
		   MEMWATCH_A_STATUS_KERNEL);
	st->watches = get_u32(tb, MEMWATCH_A_STATUS_WATCHES);
	st->max_watches = get_u32(tb, MEMWATCH_A_STATUS_MAX_WATCHES);
	st->max_regions = get_u32(tb, MEMWATCH_A_STATUS_MAX_REGIONS);
	st->mem_bytes = get_u64(tb, MEMWATCH_A_STATUS_MEM_BYTES);
	st->regions = get_u64(tb, MEMWATCH_A_STATUS_REGIONS);
	st->max_threads_per_region =
		get_u32(tb, MEMWATCH_A_STATUS_MAX_THREADS_PER_REGION);
	st->present = present_of(tb, MEMWATCH_A_STATUS_MAX);

	/* The probes are a repeated attribute: walk them all. */
	attrs = attrs_of(nlh, &len);
	nla_for_each_attr(pos, attrs, len, rem) {
		struct mw_probe *p;

		if (nla_type(pos) != MEMWATCH_A_STATUS_PROBE)
			continue;
		p = push((void **)&st->probes, &st->nr_probes, &ctx->cap,
			 sizeof(*p));
		if (!p)
			return -ENOMEM;
		ret = parse_probe(pos, p);
		if (ret)
			return ret;
	}
	return 0;
}

void mw_status_free(struct mw_status *st)
{
	free(st->probes);
	st->probes = NULL;
	st->nr_probes = 0;
}

int mw_get_status(struct mw_status *st)
{
	struct status_ctx ctx = { .st = st };
	struct request req = {
		.cmd = MEMWATCH_CMD_GET_STATUS,
		.parse = parse_status,
		.arg = &ctx,
	};

	int ret;

	memset(st, 0, sizeof(*st));
	ret = run(&req);
	if (ret)
		mw_status_free(st);
	return ret;
}

/* MEMWATCH_CMD_WATCH, MEMWATCH_CMD_UNWATCH, MEMWATCH_CMD_GET_WATCHES */

static struct nla_policy watch_policy[MEMWATCH_A_WATCH_MAX + 1] = {
	[MEMWATCH_A_WATCH_PID]			= { .type = NLA_U32 },
	[MEMWATCH_A_WATCH_FLAGS]		= { .type = NLA_U32 },
	[MEMWATCH_A_WATCH_COMM]			= { .type = NLA_STRING },
	[MEMWATCH_A_WATCH_STATE]		= { .type = NLA_U32 },
	[MEMWATCH_A_WATCH_NS]			= { .type = NLA_U64 },
	[MEMWATCH_A_WATCH_REGIONS]		= { .type = NLA_U32 },
	[MEMWATCH_A_WATCH_RESERVED]		= { .type = NLA_U64 },
	[MEMWATCH_A_WATCH_COMMITTED]		= { .type = NLA_U64 },
	[MEMWATCH_A_WATCH_TOUCHED]		= { .type = NLA_U64 },
	[MEMWATCH_A_WATCH_PEAK_TOUCHED]		= { .type = NLA_U64 },
	[MEMWATCH_A_WATCH_FAULTED]		= { .type = NLA_U64 },
	[MEMWATCH_A_WATCH_EXECS]		= { .type = NLA_U32 },
	[MEMWATCH_A_WATCH_DROPPED_REGIONS]	= { .type = NLA_U64 },
	[MEMWATCH_A_WATCH_DROPPED_EVENTS]	= { .type = NLA_U64 },
	[MEMWATCH_A_WATCH_STACKS]		= { .type = NLA_U32 },
	[MEMWATCH_A_WATCH_FILL_EVERY]		= { .type = NLA_U32 },
	[MEMWATCH_A_WATCH_DROPPED_STACKS]	= { .type = NLA_U64 },
};

static int parse_watch(struct nlmsghdr *nlh, struct mw_watch *w)
{
	struct nlattr *tb[MEMWATCH_A_WATCH_MAX + 1];

	if (genlmsg_parse(nlh, 0, tb, MEMWATCH_A_WATCH_MAX, watch_policy))
		return -EPROTO;
	w->pid = get_u32(tb, MEMWATCH_A_WATCH_PID);
	get_string(w->comm, sizeof(w->comm), tb, MEMWATCH_A_WATCH_COMM);
	w->state = get_u32(tb, MEMWATCH_A_WATCH_STATE);
	w->flags = get_u32(tb, MEMWATCH_A_WATCH_FLAGS);
	w->ns = get_u64(tb, MEMWATCH_A_WATCH_NS);
	w->regions = get_u32(tb, MEMWATCH_A_WATCH_REGIONS);
	w->reserved = get_u64(tb, MEMWATCH_A_WATCH_RESERVED);
	w->committed = get_u64(tb, MEMWATCH_A_WATCH_COMMITTED);
	w->touched = get_u64(tb, MEMWATCH_A_WATCH_TOUCHED);
	w->peak_touched = get_u64(tb, MEMWATCH_A_WATCH_PEAK_TOUCHED);
	w->faulted = get_u64(tb, MEMWATCH_A_WATCH_FAULTED);
	w->execs = get_u32(tb, MEMWATCH_A_WATCH_EXECS);
	w->dropped_regions = get_u64(tb, MEMWATCH_A_WATCH_DROPPED_REGIONS);
	w->dropped_events = get_u64(tb, MEMWATCH_A_WATCH_DROPPED_EVENTS);
	w->stacks = get_u32(tb, MEMWATCH_A_WATCH_STACKS);
	w->fill_every = get_u32(tb, MEMWATCH_A_WATCH_FILL_EVERY);
	w->dropped_stacks = get_u64(tb, MEMWATCH_A_WATCH_DROPPED_STACKS);
	w->present = present_of(tb, MEMWATCH_A_WATCH_MAX);
	return 0;
}

static int parse_one_watch(struct nlmsghdr *nlh, void *arg)
{
	return parse_watch(nlh, arg);
}

static int64_t watch_fill_every = -1;

void mw_watch_set_fill_every(int64_t every)
{
	watch_fill_every = every;
}

int mw_watch(uint32_t pid, uint32_t flags, bool send_flags,
	     struct mw_watch *w)
{
	struct request req = {
		.cmd = MEMWATCH_CMD_WATCH,
		.pid_attr = MEMWATCH_A_WATCH_PID,
		.pid = pid,
		.send_flags = send_flags,
		.flags = flags,
		.fill_every = watch_fill_every,
		.parse = parse_one_watch,
		.arg = w,
	};

	memset(w, 0, sizeof(*w));
	return run(&req);
}

int mw_unwatch(uint32_t pid)
{
	struct request req = {
		.cmd = MEMWATCH_CMD_UNWATCH,
		.pid_attr = MEMWATCH_A_WATCH_PID,
		.pid = pid,
	};

	return run(&req);
}

struct watch_list {
	struct mw_watch *v;
	size_t nr, cap;
};

static int parse_watch_entry(struct nlmsghdr *nlh, void *arg)
{
	struct watch_list *l = arg;
	struct mw_watch *w;

	w = push((void **)&l->v, &l->nr, &l->cap, sizeof(*w));
	if (!w)
		return -ENOMEM;
	return parse_watch(nlh, w);
}

static void reset_watches(void *arg)
{
	struct watch_list *l = arg;

	l->nr = 0;
}

int mw_get_watches(uint32_t pid, struct mw_watch **w, size_t *nr)
{
	struct watch_list l = { 0 };
	struct request req = {
		.cmd = MEMWATCH_CMD_GET_WATCHES,
		.dump = true,
		.pid_attr = pid ? MEMWATCH_A_WATCH_PID : 0,
		.pid = pid,
		.parse = parse_watch_entry,
		.reset = reset_watches,
		.arg = &l,
	};
	int ret;

	ret = run(&req);
	if (ret) {
		free(l.v);
		l.v = NULL;
		l.nr = 0;
	}
	*w = l.v;
	*nr = l.nr;
	return ret;
}

int mw_get_watch(uint32_t pid, struct mw_watch *w)
{
	struct mw_watch *watches;
	size_t nr, i;
	int ret;

	ret = mw_get_watches(pid, &watches, &nr);
	if (ret)
		return ret;
	if (!nr)
		return -ENOENT;
	/*
	 * The module filters by pid, but an exited watch can share its pid
	 * with a live one (pid reuse): the live one is the one whose regions
	 * GET_REGIONS returns.
	 */
	*w = watches[0];
	for (i = 0; i < nr; i++) {
		if (watches[i].state == MEMWATCH_WATCH_STATE_LIVE) {
			*w = watches[i];
			break;
		}
	}
	free(watches);
	return 0;
}

/* MEMWATCH_CMD_GET_REGIONS */

static struct nla_policy region_policy[MEMWATCH_A_REGION_MAX + 1] = {
	[MEMWATCH_A_REGION_PID]			= { .type = NLA_U32 },
	[MEMWATCH_A_REGION_ID]			= { .type = NLA_U64 },
	[MEMWATCH_A_REGION_START]		= { .type = NLA_U64 },
	[MEMWATCH_A_REGION_END]			= { .type = NLA_U64 },
	[MEMWATCH_A_REGION_KIND]		= { .type = NLA_U32 },
	[MEMWATCH_A_REGION_FLAGS]		= { .type = NLA_U32 },
	[MEMWATCH_A_REGION_RESERVED]		= { .type = NLA_U64 },
	[MEMWATCH_A_REGION_COMMITTED]		= { .type = NLA_U64 },
	[MEMWATCH_A_REGION_TOUCHED]		= { .type = NLA_U64 },
	[MEMWATCH_A_REGION_PEAK_TOUCHED]	= { .type = NLA_U64 },
	[MEMWATCH_A_REGION_FAULTED]		= { .type = NLA_U64 },
	[MEMWATCH_A_REGION_CREATED_NS]		= { .type = NLA_U64 },
	[MEMWATCH_A_REGION_CREATOR_TID]		= { .type = NLA_U32 },
	[MEMWATCH_A_REGION_CREATOR_COMM]	= { .type = NLA_STRING },
	[MEMWATCH_A_REGION_CREATOR_LAST_COMM]	= { .type = NLA_STRING },
	[MEMWATCH_A_REGION_OTHER_FAULTED]	= { .type = NLA_U64 },
	[MEMWATCH_A_REGION_THREAD]		= { .type = NLA_NESTED },
	[MEMWATCH_A_REGION_EXTENT]		= { .type = NLA_NESTED },
	[MEMWATCH_A_REGION_STACK_ID]		= { .type = NLA_U64 },
	[MEMWATCH_A_REGION_FILL]		= { .type = NLA_NESTED },
	[MEMWATCH_A_REGION_FILL_OTHER]		= { .type = NLA_U64 },
};

static struct nla_policy fill_policy[MEMWATCH_A_FILL_MAX + 1] = {
	[MEMWATCH_A_FILL_STACK_ID]	= { .type = NLA_U64 },
	[MEMWATCH_A_FILL_BYTES]		= { .type = NLA_U64 },
};

static struct nla_policy extent_policy[MEMWATCH_A_EXTENT_MAX + 1] = {
	[MEMWATCH_A_EXTENT_START]	= { .type = NLA_U64 },
	[MEMWATCH_A_EXTENT_END]		= { .type = NLA_U64 },
};

static struct nla_policy thread_policy[MEMWATCH_A_THREAD_MAX + 1] = {
	[MEMWATCH_A_THREAD_TID]		= { .type = NLA_U32 },
	[MEMWATCH_A_THREAD_COMM]	= { .type = NLA_STRING },
	[MEMWATCH_A_THREAD_FAULTED]	= { .type = NLA_U64 },
};

struct region_list {
	struct mw_region *v;
	size_t nr, cap;
};

static int parse_thread(struct nlattr *nest, struct mw_thread *t)
{
	struct nlattr *tb[MEMWATCH_A_THREAD_MAX + 1];

	if (nla_parse_nested(tb, MEMWATCH_A_THREAD_MAX, nest, thread_policy))
		return -EPROTO;
	t->tid = get_u32(tb, MEMWATCH_A_THREAD_TID);
	get_string(t->comm, sizeof(t->comm), tb, MEMWATCH_A_THREAD_COMM);
	t->faulted = get_u64(tb, MEMWATCH_A_THREAD_FAULTED);
	return 0;
}

static int parse_extent(struct nlattr *nest, struct mw_extent *e)
{
	struct nlattr *tb[MEMWATCH_A_EXTENT_MAX + 1];

	if (nla_parse_nested(tb, MEMWATCH_A_EXTENT_MAX, nest, extent_policy))
		return -EPROTO;
	e->start = get_u64(tb, MEMWATCH_A_EXTENT_START);
	e->end = get_u64(tb, MEMWATCH_A_EXTENT_END);
	return 0;
}

static int parse_fill(struct nlattr *nest, struct mw_fill *f)
{
	struct nlattr *tb[MEMWATCH_A_FILL_MAX + 1];

	if (nla_parse_nested(tb, MEMWATCH_A_FILL_MAX, nest, fill_policy))
		return -EPROTO;
	f->stack_id = get_u64(tb, MEMWATCH_A_FILL_STACK_ID);
	f->bytes = get_u64(tb, MEMWATCH_A_FILL_BYTES);
	return 0;
}

static int parse_region(struct nlmsghdr *nlh, void *arg)
{
	struct region_list *l = arg;
	struct nlattr *tb[MEMWATCH_A_REGION_MAX + 1];
	struct nlattr *attrs, *pos;
	struct mw_region *r;
	size_t nr_threads = 0, nr_extents = 0;
	int len, rem, ret;

	if (genlmsg_parse(nlh, 0, tb, MEMWATCH_A_REGION_MAX, region_policy))
		return -EPROTO;
	r = push((void **)&l->v, &l->nr, &l->cap, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->id = get_u64(tb, MEMWATCH_A_REGION_ID);
	r->start = get_u64(tb, MEMWATCH_A_REGION_START);
	r->end = get_u64(tb, MEMWATCH_A_REGION_END);
	r->kind = get_u32(tb, MEMWATCH_A_REGION_KIND);
	r->flags = get_u32(tb, MEMWATCH_A_REGION_FLAGS);
	r->reserved = get_u64(tb, MEMWATCH_A_REGION_RESERVED);
	r->committed = get_u64(tb, MEMWATCH_A_REGION_COMMITTED);
	r->touched = get_u64(tb, MEMWATCH_A_REGION_TOUCHED);
	r->peak_touched = get_u64(tb, MEMWATCH_A_REGION_PEAK_TOUCHED);
	r->faulted = get_u64(tb, MEMWATCH_A_REGION_FAULTED);
	r->created_ns = get_u64(tb, MEMWATCH_A_REGION_CREATED_NS);
	r->stack_id = get_u64(tb, MEMWATCH_A_REGION_STACK_ID);
	r->fill_other = get_u64(tb, MEMWATCH_A_REGION_FILL_OTHER);
	r->creator_tid = get_u32(tb, MEMWATCH_A_REGION_CREATOR_TID);
	get_string(r->creator_comm, sizeof(r->creator_comm), tb,
		   MEMWATCH_A_REGION_CREATOR_COMM);
	/* a module from before renames were followed: the name it had */
	if (tb[MEMWATCH_A_REGION_CREATOR_LAST_COMM])
		get_string(r->creator_latest_comm,
			   sizeof(r->creator_latest_comm), tb,
			   MEMWATCH_A_REGION_CREATOR_LAST_COMM);
	else
		memcpy(r->creator_latest_comm, r->creator_comm,
		       sizeof(r->creator_latest_comm));
	r->other_faulted = get_u64(tb, MEMWATCH_A_REGION_OTHER_FAULTED);
	r->present = present_of(tb, MEMWATCH_A_REGION_MAX);

	/* Arrays of the exact size: a report can hold 100,000 regions. */
	attrs = attrs_of(nlh, &len);
	nla_for_each_attr(pos, attrs, len, rem) {
		nr_threads += nla_type(pos) == MEMWATCH_A_REGION_THREAD;
		nr_extents += nla_type(pos) == MEMWATCH_A_REGION_EXTENT;
	}
	/* A module from before extents: the region is one range. */
	r->extents = calloc(nr_extents ? nr_extents : 1, sizeof(*r->extents));
	r->threads = nr_threads ? calloc(nr_threads, sizeof(*r->threads)) :
				  NULL;
	if (!r->extents || (nr_threads && !r->threads))
		return -ENOMEM;
	nla_for_each_attr(pos, attrs, len, rem) {
		if (nla_type(pos) == MEMWATCH_A_REGION_EXTENT &&
		    r->nr_extents < nr_extents)
			ret = parse_extent(pos, &r->extents[r->nr_extents++]);
		else if (nla_type(pos) == MEMWATCH_A_REGION_THREAD &&
			 r->threads && r->nr_threads < nr_threads)
			ret = parse_thread(pos, &r->threads[r->nr_threads++]);
		else if (nla_type(pos) == MEMWATCH_A_REGION_FILL &&
			 r->nr_fills < MW_MAX_FILLS)
			ret = parse_fill(pos, &r->fills[r->nr_fills++]);
		else
			continue;
		if (ret)
			return ret;
	}
	if (!r->nr_extents) {
		r->extents[0].start = r->start;
		r->extents[0].end = r->end;
		r->nr_extents = 1;
	}
	return 0;
}

void mw_regions_free(struct mw_region *r, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		free(r[i].threads);
		free(r[i].extents);
	}
	free(r);
}

static void reset_regions(void *arg)
{
	struct region_list *l = arg;
	size_t i;

	for (i = 0; i < l->nr; i++) {
		free(l->v[i].threads);
		free(l->v[i].extents);
	}
	l->nr = 0;
}

int mw_get_regions(uint32_t pid, struct mw_region **r, size_t *nr)
{
	struct region_list l = { 0 };
	struct request req = {
		.cmd = MEMWATCH_CMD_GET_REGIONS,
		.dump = true,
		.pid_attr = MEMWATCH_A_REGION_PID,
		.pid = pid,
		.parse = parse_region,
		.reset = reset_regions,
		.arg = &l,
	};
	int ret;

	ret = run(&req);
	if (ret) {
		mw_regions_free(l.v, l.nr);
		l.v = NULL;
		l.nr = 0;
	}
	*r = l.v;
	*nr = l.nr;
	return ret;
}

/* MEMWATCH_CMD_GET_STACKS and MEMWATCH_CMD_GET_CODE_MAPS */

static struct nla_policy stack_policy[MEMWATCH_A_STACK_MAX + 1] = {
	[MEMWATCH_A_STACK_ID]		= { .type = NLA_U64 },
	[MEMWATCH_A_STACK_NS]		= { .type = NLA_U64 },
	[MEMWATCH_A_STACK_REGS]		= { .type = NLA_UNSPEC },
	[MEMWATCH_A_STACK_SIZE]		= { .type = NLA_U32 },
	[MEMWATCH_A_STACK_OFFSET]	= { .type = NLA_U32 },
	[MEMWATCH_A_STACK_DATA]		= { .type = NLA_UNSPEC },
};

static struct nla_policy code_map_policy[MEMWATCH_A_CODE_MAP_MAX + 1] = {
	[MEMWATCH_A_CODE_MAP_START]	= { .type = NLA_U64 },
	[MEMWATCH_A_CODE_MAP_END]	= { .type = NLA_U64 },
	[MEMWATCH_A_CODE_MAP_PGOFF]	= { .type = NLA_U64 },
	[MEMWATCH_A_CODE_MAP_NS]	= { .type = NLA_U64 },
	[MEMWATCH_A_CODE_MAP_PATH]	= { .type = NLA_STRING },
};

struct stack_list {
	struct mw_raw_stack *v;
	size_t nr, cap;
};

/* The stack a piece belongs to: a new one at offset 0, else the last. */
static int parse_stack(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[MEMWATCH_A_STACK_MAX + 1];
	struct stack_list *l = arg;
	struct mw_raw_stack *s;
	uint32_t size, offset, len = 0;

	if (genlmsg_parse(nlh, 0, tb, MEMWATCH_A_STACK_MAX, stack_policy))
		return -EPROTO;
	size = get_u32(tb, MEMWATCH_A_STACK_SIZE);
	offset = get_u32(tb, MEMWATCH_A_STACK_OFFSET);
	if (tb[MEMWATCH_A_STACK_DATA])
		len = nla_len(tb[MEMWATCH_A_STACK_DATA]);
	if (offset > size || len > size - offset)
		return -EPROTO;
	if (!offset) {
		if (!tb[MEMWATCH_A_STACK_REGS] ||
		    nla_len(tb[MEMWATCH_A_STACK_REGS]) != sizeof(s->regs))
			return -EPROTO;
		s = push((void **)&l->v, &l->nr, &l->cap, sizeof(*s));
		if (!s)
			return -ENOMEM;
		s->id = get_u64(tb, MEMWATCH_A_STACK_ID);
		s->ns = get_u64(tb, MEMWATCH_A_STACK_NS);
		memcpy(s->regs, nla_data(tb[MEMWATCH_A_STACK_REGS]),
		       sizeof(s->regs));
		s->size = size;
		s->data = calloc(1, size ? size : 1);
		if (!s->data)
			return -ENOMEM;
	} else {
		if (!l->nr)
			return -EPROTO;
		s = &l->v[l->nr - 1];
		if (s->id != get_u64(tb, MEMWATCH_A_STACK_ID) ||
		    s->size != size)
			return -EPROTO;
	}
	if (len)
		memcpy((uint8_t *)s->data + offset,
		       nla_data(tb[MEMWATCH_A_STACK_DATA]), len);
	return 0;
}

void mw_stacks_free(struct mw_raw_stack *s, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++)
		free((void *)s[i].data);
	free(s);
}

static void reset_stacks(void *arg)
{
	struct stack_list *l = arg;

	mw_stacks_free(l->v, l->nr);
	memset(l, 0, sizeof(*l));
}

int mw_get_stacks(uint32_t pid, struct mw_raw_stack **s, size_t *nr)
{
	struct stack_list l = { 0 };
	struct request req = {
		.cmd = MEMWATCH_CMD_GET_STACKS,
		.dump = true,
		.pid_attr = MEMWATCH_A_STACK_PID,
		.pid = pid,
		.parse = parse_stack,
		.reset = reset_stacks,
		.arg = &l,
	};
	int ret = run(&req);

	if (ret)
		reset_stacks(&l);
	*s = l.v;
	*nr = l.nr;
	return ret;
}

struct code_map_list {
	struct mw_code_map *v;
	size_t nr, cap;
};

static int parse_code_map(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[MEMWATCH_A_CODE_MAP_MAX + 1];
	struct code_map_list *l = arg;
	struct mw_code_map *m;

	if (genlmsg_parse(nlh, 0, tb, MEMWATCH_A_CODE_MAP_MAX,
			  code_map_policy) || !tb[MEMWATCH_A_CODE_MAP_PATH])
		return -EPROTO;
	m = push((void **)&l->v, &l->nr, &l->cap, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->start = get_u64(tb, MEMWATCH_A_CODE_MAP_START);
	m->end = get_u64(tb, MEMWATCH_A_CODE_MAP_END);
	m->pgoff = get_u64(tb, MEMWATCH_A_CODE_MAP_PGOFF);
	m->ns = get_u64(tb, MEMWATCH_A_CODE_MAP_NS);
	m->path = strndup(nla_data(tb[MEMWATCH_A_CODE_MAP_PATH]),
			  nla_len(tb[MEMWATCH_A_CODE_MAP_PATH]));
	return m->path ? 0 : -ENOMEM;
}

void mw_code_maps_free(struct mw_code_map *m, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++)
		free((void *)m[i].path);
	free(m);
}

static void reset_code_maps(void *arg)
{
	struct code_map_list *l = arg;

	mw_code_maps_free(l->v, l->nr);
	memset(l, 0, sizeof(*l));
}

int mw_get_code_maps(uint32_t pid, struct mw_code_map **m, size_t *nr)
{
	struct code_map_list l = { 0 };
	struct request req = {
		.cmd = MEMWATCH_CMD_GET_CODE_MAPS,
		.dump = true,
		.pid_attr = MEMWATCH_A_CODE_MAP_PID,
		.pid = pid,
		.parse = parse_code_map,
		.reset = reset_code_maps,
		.arg = &l,
	};
	int ret = run(&req);

	if (ret)
		reset_code_maps(&l);
	*m = l.v;
	*nr = l.nr;
	return ret;
}

/* MEMWATCH_CMD_EVENT on the "events" multicast group */

static struct nl_sock *ev_sock;

static struct nla_policy event_policy[MEMWATCH_A_EVENT_MAX + 1] = {
	[MEMWATCH_A_EVENT_TYPE]		= { .type = NLA_U32 },
	[MEMWATCH_A_EVENT_PID]		= { .type = NLA_U32 },
	[MEMWATCH_A_EVENT_TID]		= { .type = NLA_U32 },
	[MEMWATCH_A_EVENT_COMM]		= { .type = NLA_STRING },
	[MEMWATCH_A_EVENT_NS]		= { .type = NLA_U64 },
	[MEMWATCH_A_EVENT_REGION_ID]	= { .type = NLA_U64 },
	[MEMWATCH_A_EVENT_REGION_START]	= { .type = NLA_U64 },
	[MEMWATCH_A_EVENT_REGION_END]	= { .type = NLA_U64 },
	[MEMWATCH_A_EVENT_REGION_KIND]	= { .type = NLA_U32 },
	[MEMWATCH_A_EVENT_REGION_FLAGS]	= { .type = NLA_U32 },
	[MEMWATCH_A_EVENT_PPID]		= { .type = NLA_U32 },
	[MEMWATCH_A_EVENT_STACK_ID]	= { .type = NLA_U64 },
};

void mw_events_close(void)
{
	if (ev_sock)
		nl_socket_free(ev_sock);
	ev_sock = NULL;
}

int mw_events_open(void)
{
	int grp, ret;

	if (ev_sock)
		return 0;
	ret = nl_open();	/* resolves the family: a missing module */
	if (ret)
		return ret;
	grp = genl_ctrl_resolve_grp(sock, MEMWATCH_GENL_NAME,
				    MEMWATCH_MCGRP_EVENTS);
	if (grp < 0)
		return local_failure("cannot find the events group", grp);

	ev_sock = nl_socket_alloc();
	if (!ev_sock)
		return -ENOMEM;
	ret = genl_connect(ev_sock);
	if (ret < 0) {
		mw_events_close();
		return local_failure("cannot open a generic netlink socket",
				     ret);
	}
	/* A burst at start-up (an exec maps dozens of regions) must fit. */
	nl_socket_set_buffer_size(ev_sock, 4 << 20, 0);
	ret = nl_socket_add_membership(ev_sock, grp);
	if (ret < 0) {
		mw_events_close();
		if (ret == -NLE_PERM)
			return -EPERM;
		return local_failure("cannot join the events group", ret);
	}
	return 0;
}

int mw_events_fd(void)
{
	return ev_sock ? nl_socket_get_fd(ev_sock) : -1;
}

static void parse_event(struct nlmsghdr *nlh, mw_event_fn fn, void *arg)
{
	struct genlmsghdr *ghdr = nlmsg_data(nlh);
	struct nlattr *tb[MEMWATCH_A_EVENT_MAX + 1];
	struct mw_event ev;

	if (nlh->nlmsg_type != family ||
	    nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN ||
	    ghdr->cmd != MEMWATCH_CMD_EVENT)
		return;
	if (genlmsg_parse(nlh, 0, tb, MEMWATCH_A_EVENT_MAX, event_policy))
		return;	/* one bad event must not stop the stream */
	memset(&ev, 0, sizeof(ev));
	ev.type = get_u32(tb, MEMWATCH_A_EVENT_TYPE);
	ev.pid = get_u32(tb, MEMWATCH_A_EVENT_PID);
	ev.tid = get_u32(tb, MEMWATCH_A_EVENT_TID);
	get_string(ev.comm, sizeof(ev.comm), tb, MEMWATCH_A_EVENT_COMM);
	ev.ns = get_u64(tb, MEMWATCH_A_EVENT_NS);
	ev.region_id = get_u64(tb, MEMWATCH_A_EVENT_REGION_ID);
	ev.start = get_u64(tb, MEMWATCH_A_EVENT_REGION_START);
	ev.end = get_u64(tb, MEMWATCH_A_EVENT_REGION_END);
	ev.kind = get_u32(tb, MEMWATCH_A_EVENT_REGION_KIND);
	ev.flags = get_u32(tb, MEMWATCH_A_EVENT_REGION_FLAGS);
	ev.ppid = get_u32(tb, MEMWATCH_A_EVENT_PPID);
	ev.stack_id = get_u64(tb, MEMWATCH_A_EVENT_STACK_ID);
	ev.present = present_of(tb, MEMWATCH_A_EVENT_MAX);
	fn(&ev, arg);
}

/* The events that have arrived, read as replies are, without blocking. */
int mw_events_read(mw_event_fn fn, void *arg)
{
	struct nlmsghdr *nlh;
	ssize_t n;

	if (!ev_sock)
		return -EBADF;
	for (;;) {
		n = recv_datagram(nl_socket_get_fd(ev_sock), &event_buf,
				  MSG_DONTWAIT, "events");
		if (n <= 0)
			return (int)n;
		for (nlh = &event_buf.h; NLMSG_OK(nlh, n);
		     nlh = NLMSG_NEXT(nlh, n)) {
			debug_dump(nlh);
			parse_event(nlh, fn, arg);
		}
	}
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink helpers for the memwatch selftests (see mw_nl.h).
 *
 * libnl has no extended-ack support, so the answer to each request is read
 * here: the error callback gets the nlmsgerr, the TLVs after it (after the
 * echoed request unless NLM_F_CAPPED) carry the message; a dump's NLMSG_DONE
 * carries its errno and may carry TLVs too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "mw_nl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* A hung module must fail a test, not hang it. */
#define MW_RECV_TIMEOUT_S 20

struct req_state {
	struct mw_nl *nl;
	uint32_t seq;
	mw_msg_fn fn;
	void *arg;
	bool done;
	bool intr;
	int fn_err;
};

static void ext_clear(struct mw_nl *nl)
{
	nl->err = 0;
	nl->local = false;
	nl->msg[0] = '\0';
	nl->offs = 0;
}

/* Read NLMSGERR_ATTR_* TLVs that start @off bytes into @nlh. */
static void ext_parse(struct mw_nl *nl, const struct nlmsghdr *nlh, size_t off)
{
	struct nlattr *head, *a;
	int len, rem;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (nlh->nlmsg_len <= off)
		return;
	head = (struct nlattr *)((char *)nlh + off);
	len = (int)(nlh->nlmsg_len - off);

	nla_for_each_attr(a, head, len, rem) {
		switch (nla_type(a)) {
		case NLMSGERR_ATTR_MSG: {
			int n = nla_len(a);

			if (n <= 0)
				break;
			if ((size_t)n >= sizeof(nl->msg))
				n = sizeof(nl->msg) - 1;
			memcpy(nl->msg, nla_data(a), n);
			nl->msg[n] = '\0';
			break;
		}
		case NLMSGERR_ATTR_OFFS:
			if (nla_len(a) >= 4)
				nl->offs = nla_get_u32(a);
			break;
		}
	}
}

static int seq_cb(struct nl_msg *msg, void *arg)
{
	struct req_state *st = arg;

	/* Anything not answering this request is stale: skip it. */
	return nlmsg_hdr(msg)->nlmsg_seq == st->seq ? NL_OK : NL_SKIP;
}

static int intr_cb(struct nl_msg *msg, void *arg)
{
	struct req_state *st = arg;

	(void)msg;
	st->intr = true;
	return NL_OK;
}

static int valid_cb(struct nl_msg *msg, void *arg)
{
	struct req_state *st = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		st->intr = true;
	if (st->fn && !st->fn_err)
		st->fn_err = st->fn(nlh, st->arg);
	return NL_OK;
}

static int finish_cb(struct nl_msg *msg, void *arg)
{
	struct req_state *st = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		st->intr = true;
	if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
		int err;

		memcpy(&err, NLMSG_DATA(nlh), sizeof(err));
		st->nl->err = err;
		ext_parse(st->nl, nlh, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(int)));
	}
	st->done = true;
	return NL_STOP;
}

static int ack_cb(struct nl_msg *msg, void *arg)
{
	struct req_state *st = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	/* A successful ACK never echoes the request: it is always capped. */
	st->nl->err = 0;
	ext_parse(st->nl, nlh, NLMSG_HDRLEN + sizeof(struct nlmsgerr));
	st->done = true;
	return NL_STOP;
}

static int err_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct req_state *st = arg;
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	size_t off = NLMSG_HDRLEN + sizeof(*e);

	(void)nla;
	if (nlh->nlmsg_seq != st->seq)
		return NL_SKIP;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
	st->nl->err = e->error;
	ext_parse(st->nl, nlh, off);
	st->done = true;
	return NL_STOP;
}

/* Receive until the request numbered st->seq is fully answered. */
static int receive(struct mw_nl *nl, struct req_state *st)
{
	struct nl_cb *cb;
	int ret = 0;

	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		nl->local = true;
		return nl->err = -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, seq_cb, st);
	nl_cb_set(cb, NL_CB_DUMP_INTR, NL_CB_CUSTOM, intr_cb, st);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, st);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, finish_cb, st);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, ack_cb, st);
	nl_cb_err(cb, NL_CB_CUSTOM, err_cb, st);

	while (!st->done) {
		ret = nl_recvmsgs(nl->sk, cb);
		if (st->done)
			break;
		if (ret < 0 && ret != -NLE_DUMP_INTR) {
			nl->local = true;
			snprintf(nl->msg, sizeof(nl->msg), "receive: %s",
				 nl_geterror(ret));
			nl->err = -EIO;
			break;
		}
	}
	nl_cb_put(cb);
	if (!nl->local && !nl->err && st->fn_err)
		nl->err = st->fn_err;
	return nl->err;
}

int mw_nl_open(struct mw_nl *nl)
{
	struct timeval tv = { .tv_sec = MW_RECV_TIMEOUT_S };
	int one = 1;
	int ret;

	memset(nl, 0, sizeof(*nl));
	nl->sk = nl_socket_alloc();
	if (!nl->sk)
		return -ENOMEM;
	ret = genl_connect(nl->sk);
	if (ret < 0) {
		ret = -errno ?: -EIO;
		goto out_free;
	}
	nl_socket_disable_auto_ack(nl->sk);
	nl_socket_enable_msg_peek(nl->sk);
	if (setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		       &one, sizeof(one)) < 0) {
		ret = -errno;
		goto out_free;
	}
	setsockopt(nl_socket_get_fd(nl->sk), SOL_SOCKET, SO_RCVTIMEO, &tv,
		   sizeof(tv));

	nl->family = genl_ctrl_resolve(nl->sk, MEMWATCH_GENL_NAME);
	if (nl->family < 0) {
		ret = nl->family == -NLE_OBJ_NOTFOUND ? -ENOENT : -EIO;
		goto out_free;
	}
	return 0;

out_free:
	nl_socket_free(nl->sk);
	nl->sk = NULL;
	return ret;
}

void mw_nl_close(struct mw_nl *nl)
{
	if (nl->sk)
		nl_socket_free(nl->sk);
	nl->sk = NULL;
}

static int request(struct mw_nl *nl, int family, uint8_t cmd, uint16_t flags,
		   const struct mw_attr *attrs, int nattrs,
		   mw_msg_fn fn, void *arg, bool *intr)
{
	struct req_state st = { .nl = nl, .fn = fn, .arg = arg };
	struct nl_msg *msg;
	int i, ret;

	ext_clear(nl);
	msg = nlmsg_alloc();
	if (!msg) {
		nl->local = true;
		return nl->err = -ENOMEM;
	}
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags,
			 cmd, MEMWATCH_GENL_VERSION))
		goto out_nomem;
	for (i = 0; i < nattrs; i++)
		if (nla_put(msg, attrs[i].type, attrs[i].len, attrs[i].data))
			goto out_nomem;
	nl_complete_msg(nl->sk, msg);
	st.seq = nlmsg_hdr(msg)->nlmsg_seq;
	ret = nl_send(nl->sk, msg);
	nlmsg_free(msg);
	if (ret < 0) {
		nl->local = true;
		snprintf(nl->msg, sizeof(nl->msg), "send: %s", nl_geterror(ret));
		return nl->err = -EIO;
	}
	ret = receive(nl, &st);
	if (intr)
		*intr = st.intr;
	return ret;

out_nomem:
	nlmsg_free(msg);
	nl->local = true;
	return nl->err = -ENOMEM;
}

int mw_nl_request(struct mw_nl *nl, int family, uint8_t cmd, uint16_t flags,
		  const struct mw_attr *attrs, int nattrs,
		  mw_msg_fn fn, void *arg)
{
	return request(nl, family, cmd, flags, attrs, nattrs, fn, arg, NULL);
}

int mw_nl_do(struct mw_nl *nl, uint8_t cmd, const struct mw_attr *attrs,
	     int nattrs)
{
	return mw_nl_request(nl, nl->family, cmd, NLM_F_ACK, attrs, nattrs,
			     NULL, NULL);
}

int mw_nl_dump(struct mw_nl *nl, uint8_t cmd, const struct mw_attr *attrs,
	       int nattrs)
{
	return mw_nl_request(nl, nl->family, cmd, NLM_F_DUMP, attrs, nattrs,
			     NULL, NULL);
}

void mw_raw_init(struct mw_raw *r, int family, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;

	memset(r, 0, sizeof(*r));
	nlh = mw_raw_nlh(r);
	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	g = mw_raw_genl(r);
	g->cmd = cmd;
	g->version = MEMWATCH_GENL_VERSION;
	r->len = NLMSG_HDRLEN + GENL_HDRLEN;
	nlh->nlmsg_len = r->len;
}

struct nlmsghdr *mw_raw_nlh(struct mw_raw *r)
{
	return (struct nlmsghdr *)r->buf;
}

struct genlmsghdr *mw_raw_genl(struct mw_raw *r)
{
	return (struct genlmsghdr *)((char *)r->buf + NLMSG_HDRLEN);
}

/* Append an attribute with exactly @len payload bytes, padded to 4. */
void mw_raw_put(struct mw_raw *r, uint16_t type, const void *data,
		uint16_t len)
{
	struct nlattr *a = (struct nlattr *)((char *)r->buf + r->len);
	size_t total = NLA_HDRLEN + NLA_ALIGN(len);

	if (r->len + total > sizeof(r->buf))
		abort();
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	memset((char *)a + NLA_HDRLEN + len, 0, NLA_ALIGN(len) - len);
	r->len += total;
	mw_raw_nlh(r)->nlmsg_len = r->len;
}

int mw_nl_raw(struct mw_nl *nl, struct mw_raw *r, mw_msg_fn fn, void *arg)
{
	struct req_state st = { .nl = nl, .fn = fn, .arg = arg };
	struct nlmsghdr *nlh = mw_raw_nlh(r);
	int ret;

	ext_clear(nl);
	nlh->nlmsg_seq = st.seq = nl_socket_use_seq(nl->sk);
	nlh->nlmsg_pid = nl_socket_get_local_port(nl->sk);
	ret = nl_sendto(nl->sk, nlh, nlh->nlmsg_len);
	if (ret < 0) {
		nl->local = true;
		snprintf(nl->msg, sizeof(nl->msg), "send: %s", nl_geterror(ret));
		return nl->err = -EIO;
	}
	return receive(nl, &st);
}

/* Attribute readers that tolerate nothing odd going unnoticed. */
static uint32_t get_u32(const struct nlattr *a)
{
	uint32_t v = 0;

	if (nla_len(a) == sizeof(v))
		memcpy(&v, nla_data(a), sizeof(v));
	else
		v = UINT32_MAX;
	return v;
}

static uint64_t get_u64(const struct nlattr *a)
{
	uint64_t v = 0;

	if (nla_len(a) == sizeof(v))
		memcpy(&v, nla_data(a), sizeof(v));
	else
		v = UINT64_MAX;
	return v;
}

static void get_str(char *dst, size_t size, const struct nlattr *a)
{
	size_t n = nla_len(a) > 0 ? (size_t)nla_len(a) : 0;

	if (n >= size)
		n = size - 1;
	memcpy(dst, nla_data(a), n);
	dst[n] = '\0';
}

#define for_each_genl_attr(a, nlh, rem)					\
	nla_for_each_attr(a, genlmsg_attrdata(nlmsg_data(nlh), 0),	\
			  genlmsg_attrlen(nlmsg_data(nlh), 0), rem)

static int parse_probe(const struct nlattr *nest, struct mw_probe *p)
{
	struct nlattr *a;
	int rem;

	memset(p, 0, sizeof(*p));
	nla_for_each_nested(a, (struct nlattr *)nest, rem) {
		switch (nla_type(a)) {
		case MEMWATCH_A_PROBE_SYMBOL:
			get_str(p->symbol, sizeof(p->symbol), a);
			break;
		case MEMWATCH_A_PROBE_ATTACHED:
			p->attached = get_u32(a);
			break;
		case MEMWATCH_A_PROBE_ERROR:
			p->error = get_u32(a);
			break;
		case MEMWATCH_A_PROBE_HITS:
			p->hits = get_u64(a);
			break;
		case MEMWATCH_A_PROBE_MISSED:
			p->missed = get_u64(a);
			break;
		case MEMWATCH_A_PROBE_MECHANISM:
			p->mechanism = get_u32(a);
			break;
		}
	}
	return 0;
}

/* Grow @arr by one zeroed element of @size; NULL when out of memory. */
static void *push(void **arr, size_t *nr, size_t size)
{
	char *p = realloc(*arr, (*nr + 1) * size);

	if (!p)
		return NULL;
	*arr = p;
	p += (*nr)++ * size;
	memset(p, 0, size);
	return p;
}

static int parse_status(const struct nlmsghdr *nlh, void *arg)
{
	struct mw_status *st = arg;
	struct mw_probe *p;
	struct nlattr *a;
	int rem;

	for_each_genl_attr(a, (struct nlmsghdr *)nlh, rem) {
		int t = nla_type(a);

		if (t < 64)
			st->present |= MW_PRESENT(t);
		switch (t) {
		case MEMWATCH_A_STATUS_VERSION:
			st->version = get_u32(a);
			break;
		case MEMWATCH_A_STATUS_MODULE_VERSION:
			get_str(st->module_version, sizeof(st->module_version),
				a);
			break;
		case MEMWATCH_A_STATUS_KERNEL:
			get_str(st->kernel, sizeof(st->kernel), a);
			break;
		case MEMWATCH_A_STATUS_WATCHES:
			st->watches = get_u32(a);
			break;
		case MEMWATCH_A_STATUS_MAX_WATCHES:
			st->max_watches = get_u32(a);
			break;
		case MEMWATCH_A_STATUS_MAX_REGIONS:
			st->max_regions = get_u32(a);
			break;
		case MEMWATCH_A_STATUS_MEM_BYTES:
			st->mem_bytes = get_u64(a);
			break;
		case MEMWATCH_A_STATUS_REGIONS:
			st->regions = get_u64(a);
			break;
		case MEMWATCH_A_STATUS_MAX_THREADS_PER_REGION:
			st->max_threads_per_region = get_u32(a);
			break;
		case MEMWATCH_A_STATUS_PROBE:
			p = push((void **)&st->probes, &st->nr_probes,
				 sizeof(*p));
			if (!p)
				return -ENOMEM;
			parse_probe(a, p);
			break;
		}
	}
	return 0;
}

int mw_get_status(struct mw_nl *nl, struct mw_status *st)
{
	int ret;

	memset(st, 0, sizeof(*st));
	ret = mw_nl_request(nl, nl->family, MEMWATCH_CMD_GET_STATUS, NLM_F_ACK,
			    NULL, 0, parse_status, st);
	if (ret)
		mw_status_free(st);
	return ret;
}

void mw_status_free(struct mw_status *st)
{
	free(st->probes);
	st->probes = NULL;
	st->nr_probes = 0;
}

uint64_t mw_status_hits(const struct mw_status *st)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < st->nr_probes; i++)
		sum += st->probes[i].hits;
	return sum;
}

static void parse_watch_attrs(const struct nlmsghdr *nlh, struct mw_watch *w)
{
	struct nlattr *a;
	int rem;

	memset(w, 0, sizeof(*w));
	for_each_genl_attr(a, (struct nlmsghdr *)nlh, rem) {
		int t = nla_type(a);

		if (t < 64)
			w->present |= MW_PRESENT(t);
		switch (t) {
		case MEMWATCH_A_WATCH_PID:
			w->pid = get_u32(a);
			break;
		case MEMWATCH_A_WATCH_FLAGS:
			w->flags = get_u32(a);
			break;
		case MEMWATCH_A_WATCH_COMM:
			get_str(w->comm, sizeof(w->comm), a);
			break;
		case MEMWATCH_A_WATCH_STATE:
			w->state = get_u32(a);
			break;
		case MEMWATCH_A_WATCH_NS:
			w->ns = get_u64(a);
			break;
		case MEMWATCH_A_WATCH_REGIONS:
			w->regions = get_u32(a);
			break;
		case MEMWATCH_A_WATCH_RESERVED:
			w->reserved = get_u64(a);
			break;
		case MEMWATCH_A_WATCH_COMMITTED:
			w->committed = get_u64(a);
			break;
		case MEMWATCH_A_WATCH_TOUCHED:
			w->touched = get_u64(a);
			break;
		case MEMWATCH_A_WATCH_PEAK_TOUCHED:
			w->peak_touched = get_u64(a);
			break;
		case MEMWATCH_A_WATCH_FAULTED:
			w->faulted = get_u64(a);
			break;
		case MEMWATCH_A_WATCH_EXECS:
			w->execs = get_u32(a);
			break;
		case MEMWATCH_A_WATCH_DROPPED_REGIONS:
			w->dropped_regions = get_u64(a);
			break;
		case MEMWATCH_A_WATCH_DROPPED_EVENTS:
			w->dropped_events = get_u64(a);
			break;
		}
	}
}

static int parse_watch_reply(const struct nlmsghdr *nlh, void *arg)
{
	parse_watch_attrs(nlh, arg);
	return 0;
}

int mw_watch(struct mw_nl *nl, pid_t pid, uint32_t flags,
	     struct mw_watch *reply)
{
	uint32_t p = pid;
	struct mw_attr attrs[] = {
		MW_ATTR(MEMWATCH_A_WATCH_PID, &p),
		MW_ATTR(MEMWATCH_A_WATCH_FLAGS, &flags),
	};
	struct mw_watch dummy;

	return mw_nl_request(nl, nl->family, MEMWATCH_CMD_WATCH, NLM_F_ACK,
			     attrs, flags ? 2 : 1, parse_watch_reply,
			     reply ?: &dummy);
}

int mw_unwatch(struct mw_nl *nl, pid_t pid)
{
	uint32_t p = pid;
	struct mw_attr attr = MW_ATTR(MEMWATCH_A_WATCH_PID, &p);

	return mw_nl_do(nl, MEMWATCH_CMD_UNWATCH, &attr, 1);
}

static int parse_watch_dump(const struct nlmsghdr *nlh, void *arg)
{
	struct mw_watches *ws = arg;
	struct mw_watch *w;

	w = realloc(ws->w, (ws->n + 1) * sizeof(*w));
	if (!w)
		return -ENOMEM;
	ws->w = w;
	parse_watch_attrs(nlh, &ws->w[ws->n++]);
	return 0;
}

/*
 * A dump the kernel flags NLM_F_DUMP_INTR saw its objects change while it
 * ran; it is retried whole, as clients must.
 */
int mw_get_watches(struct mw_nl *nl, pid_t pid, struct mw_watches *out)
{
	uint32_t p = pid;
	struct mw_attr attr = MW_ATTR(MEMWATCH_A_WATCH_PID, &p);
	bool intr = false;
	int tries, ret = 0;

	memset(out, 0, sizeof(*out));
	for (tries = 0; tries < 10; tries++) {
		mw_watches_free(out);
		ret = request(nl, nl->family, MEMWATCH_CMD_GET_WATCHES,
			      NLM_F_DUMP, &attr, pid ? 1 : 0,
			      parse_watch_dump, out, &intr);
		if (ret || !intr)
			return ret;
	}
	return nl->err = -EINTR;
}

void mw_watches_free(struct mw_watches *ws)
{
	free(ws->w);
	ws->w = NULL;
	ws->n = 0;
}

static int parse_thread(const struct nlattr *nest, struct mw_thread *t)
{
	struct nlattr *a;
	int rem;

	memset(t, 0, sizeof(*t));
	nla_for_each_nested(a, (struct nlattr *)nest, rem) {
		switch (nla_type(a)) {
		case MEMWATCH_A_THREAD_TID:
			t->tid = get_u32(a);
			break;
		case MEMWATCH_A_THREAD_COMM:
			get_str(t->comm, sizeof(t->comm), a);
			break;
		case MEMWATCH_A_THREAD_FAULTED:
			t->faulted = get_u64(a);
			break;
		}
	}
	return 0;
}

static int parse_extent(const struct nlattr *nest, struct mw_extent *e)
{
	struct nlattr *a;
	int rem;

	nla_for_each_nested(a, (struct nlattr *)nest, rem) {
		switch (nla_type(a)) {
		case MEMWATCH_A_EXTENT_START:
			e->start = get_u64(a);
			break;
		case MEMWATCH_A_EXTENT_END:
			e->end = get_u64(a);
			break;
		}
	}
	return 0;
}

static int parse_region(const struct nlmsghdr *nlh, void *arg)
{
	struct mw_regions *rs = arg;
	struct mw_region *r;
	struct mw_thread *th;
	struct mw_extent *e;
	struct nlattr *a;
	int rem;

	r = realloc(rs->r, (rs->n + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	rs->r = r;
	r = &rs->r[rs->n++];
	memset(r, 0, sizeof(*r));

	for_each_genl_attr(a, (struct nlmsghdr *)nlh, rem) {
		int t = nla_type(a);

		if (t < 64)
			r->present |= MW_PRESENT(t);
		switch (t) {
		case MEMWATCH_A_REGION_ID:
			r->id = get_u64(a);
			break;
		case MEMWATCH_A_REGION_START:
			r->start = get_u64(a);
			break;
		case MEMWATCH_A_REGION_END:
			r->end = get_u64(a);
			break;
		case MEMWATCH_A_REGION_KIND:
			r->kind = get_u32(a);
			break;
		case MEMWATCH_A_REGION_FLAGS:
			r->flags = get_u32(a);
			break;
		case MEMWATCH_A_REGION_RESERVED:
			r->reserved = get_u64(a);
			break;
		case MEMWATCH_A_REGION_COMMITTED:
			r->committed = get_u64(a);
			break;
		case MEMWATCH_A_REGION_TOUCHED:
			r->touched = get_u64(a);
			break;
		case MEMWATCH_A_REGION_PEAK_TOUCHED:
			r->peak_touched = get_u64(a);
			break;
		case MEMWATCH_A_REGION_FAULTED:
			r->faulted = get_u64(a);
			break;
		case MEMWATCH_A_REGION_CREATED_NS:
			r->created_ns = get_u64(a);
			break;
		case MEMWATCH_A_REGION_CREATOR_TID:
			r->creator_tid = get_u32(a);
			break;
		case MEMWATCH_A_REGION_CREATOR_COMM:
			get_str(r->creator_comm, sizeof(r->creator_comm), a);
			break;
		case MEMWATCH_A_REGION_CREATOR_LAST_COMM:
			get_str(r->creator_latest_comm,
				sizeof(r->creator_latest_comm), a);
			break;
		case MEMWATCH_A_REGION_OTHER_FAULTED:
			r->other_faulted = get_u64(a);
			break;
		case MEMWATCH_A_REGION_THREAD:
			th = push((void **)&r->threads, &r->nr_threads,
				  sizeof(*th));
			if (!th)
				return -ENOMEM;
			parse_thread(a, th);
			break;
		case MEMWATCH_A_REGION_EXTENT:
			e = push((void **)&r->extents, &r->nr_extents,
				 sizeof(*e));
			if (!e)
				return -ENOMEM;
			parse_extent(a, e);
			break;
		}
	}
	return 0;
}

int mw_get_regions(struct mw_nl *nl, pid_t pid, struct mw_regions *out)
{
	uint32_t p = pid;
	struct mw_attr attr = MW_ATTR(MEMWATCH_A_REGION_PID, &p);
	bool intr = false;
	int tries, ret;

	memset(out, 0, sizeof(*out));
	for (tries = 0; tries < 10; tries++) {
		mw_regions_free(out);
		out->retries = tries;
		ret = request(nl, nl->family, MEMWATCH_CMD_GET_REGIONS,
			      NLM_F_DUMP, &attr, 1, parse_region, out, &intr);
		if (ret || !intr)
			return ret;
	}
	return nl->err = -EINTR;
}

void mw_regions_free(struct mw_regions *rs)
{
	int i;

	for (i = 0; i < rs->n; i++) {
		free(rs->r[i].threads);
		free(rs->r[i].extents);
	}
	free(rs->r);
	rs->r = NULL;
	rs->n = 0;
}

const struct mw_region *mw_region_at(const struct mw_regions *rs,
				     uint64_t addr)
{
	int i;

	for (i = 0; i < rs->n; i++)
		if (rs->r[i].start <= addr && addr < rs->r[i].end)
			return &rs->r[i];
	return NULL;
}

int mw_regions_overlapping(const struct mw_regions *rs, uint64_t start,
			   uint64_t end)
{
	int i, n = 0;

	for (i = 0; i < rs->n; i++)
		if (rs->r[i].start < end && start < rs->r[i].end)
			n++;
	return n;
}

const char *mw_cmd_name(int cmd)
{
	switch (cmd) {
	case MEMWATCH_CMD_GET_STATUS:
		return "GET_STATUS";
	case MEMWATCH_CMD_WATCH:
		return "WATCH";
	case MEMWATCH_CMD_UNWATCH:
		return "UNWATCH";
	case MEMWATCH_CMD_GET_WATCHES:
		return "GET_WATCHES";
	case MEMWATCH_CMD_GET_REGIONS:
		return "GET_REGIONS";
	case MEMWATCH_CMD_EVENT:
		return "EVENT";
	}
	return "?";
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family: policies, operations, and the "events"
 * multicast group behind event.h. Requests are checked here (capabilities,
 * access to the process, probes in place) and answered from reports; no
 * tracking logic lives here.
 */

#include <linux/capability.h>
#include <linux/pid_namespace.h>
#include <linux/sched/task.h>
#include <linux/utsname.h>
#include <linux/workqueue.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <uapi/linux/memwatch.h>

#include "event.h"
#include "netlink.h"
#include "probes.h"
#include "region.h"
#include "report.h"
#include "stack.h"
#include "watch.h"

static const struct genl_multicast_group mw_mcgrps[] = {
	[MEMWATCH_MCGRP_IDX_EVENTS] = { .name = MEMWATCH_MCGRP_EVENTS,
			      .flags = GENL_MCAST_CAP_SYS_ADMIN },
};

static const struct nla_policy watch_policy[MEMWATCH_A_WATCH_MAX + 1] = {
	[MEMWATCH_A_WATCH_PID] = NLA_POLICY_MIN(NLA_U32, 1),
	[MEMWATCH_A_WATCH_FLAGS] = { .type = NLA_U32 },
	[MEMWATCH_A_WATCH_FILL_EVERY] = { .type = NLA_U32 },
};

static const struct nla_policy unwatch_policy[MEMWATCH_A_WATCH_MAX + 1] = {
	[MEMWATCH_A_WATCH_PID] = NLA_POLICY_MIN(NLA_U32, 1),
};

static const struct nla_policy watches_policy[MEMWATCH_A_WATCH_MAX + 1] = {
	[MEMWATCH_A_WATCH_PID] = NLA_POLICY_MIN(NLA_U32, 1),
};

static const struct nla_policy regions_policy[MEMWATCH_A_REGION_MAX + 1] = {
	[MEMWATCH_A_REGION_PID] = NLA_POLICY_MIN(NLA_U32, 1),
};

static const struct nla_policy stacks_policy[MEMWATCH_A_STACK_MAX + 1] = {
	[MEMWATCH_A_STACK_PID] = NLA_POLICY_MIN(NLA_U32, 1),
};

static const struct nla_policy code_maps_policy[MEMWATCH_A_CODE_MAP_MAX + 1] = {
	[MEMWATCH_A_CODE_MAP_PID] = NLA_POLICY_MIN(NLA_U32, 1),
};

/*
 * Every command reads process memory layouts: CAP_SYS_ADMIN or CAP_PERFMON,
 * checked against the socket's opener and the sender (netlink_capable), on
 * top of the per-process check.
 */
static int check_perm(const struct sk_buff *skb, struct netlink_ext_ack *extack)
{
	if (netlink_capable(skb, CAP_SYS_ADMIN) ||
	    netlink_capable(skb, CAP_PERFMON))
		return 0;
	NL_SET_ERR_MSG(extack, "memwatch needs CAP_SYS_ADMIN or CAP_PERFMON");
	return -EPERM;
}

/* The checks every command naming a pid starts with. */
static int check_pid_request(struct sk_buff *skb, struct genl_info *info)
{
	int ret = memwatch_genl_strict(info, true);

	if (!ret)
		ret = check_perm(skb, info->extack);
	if (ret)
		return ret;
	if (GENL_REQ_ATTR_CHECK(info, MEMWATCH_A_WATCH_PID)) {
		NL_SET_ERR_MSG(info->extack, "pid attribute is required");
		return -EINVAL;
	}
	return 0;
}

static struct pid_namespace *caller_ns(void)
{
	return task_active_pid_ns(current);
}

/* ---- GET_STATUS --------------------------------------------------------- */

static int put_probe(struct sk_buff *msg, unsigned int idx)
{
	struct memwatch_probe_info pi;
	struct nlattr *nest;

	memwatch_probes_info(idx, &pi);
	nest = nla_nest_start(msg, MEMWATCH_A_STATUS_PROBE);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_string(msg, MEMWATCH_A_PROBE_SYMBOL, pi.symbol) ||
	    nla_put_u32(msg, MEMWATCH_A_PROBE_ATTACHED, pi.attached) ||
	    nla_put_u32(msg, MEMWATCH_A_PROBE_ERROR, pi.error) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_PROBE_HITS, pi.hits,
			      MEMWATCH_A_PROBE_PAD) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_PROBE_MISSED, pi.missed,
			      MEMWATCH_A_PROBE_PAD) ||
	    nla_put_u32(msg, MEMWATCH_A_PROBE_MECHANISM, pi.mechanism)) {
		nla_nest_cancel(msg, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	return 0;
}

static int get_status_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct memwatch_stats st;
	struct sk_buff *msg;
	unsigned int i;
	void *hdr;
	int ret;

	ret = memwatch_genl_strict(info, false);
	if (!ret)
		ret = check_perm(skb, info->extack);
	if (ret)
		return ret;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &memwatch_genl_family, 0,
				MEMWATCH_CMD_GET_STATUS);
	if (!hdr)
		goto nospace;
	memwatch_stats(&st);
	if (nla_put_u32(msg, MEMWATCH_A_STATUS_VERSION, MEMWATCH_GENL_VERSION) ||
	    nla_put_string(msg, MEMWATCH_A_STATUS_MODULE_VERSION,
			   MEMWATCH_MODULE_VERSION) ||
	    nla_put_string(msg, MEMWATCH_A_STATUS_KERNEL, init_utsname()->release) ||
	    nla_put_u32(msg, MEMWATCH_A_STATUS_WATCHES, st.watches) ||
	    nla_put_u32(msg, MEMWATCH_A_STATUS_MAX_WATCHES,
			READ_ONCE(memwatch_max_watches)) ||
	    nla_put_u32(msg, MEMWATCH_A_STATUS_MAX_REGIONS,
			READ_ONCE(memwatch_max_regions)) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_STATUS_MEM_BYTES, st.mem_bytes,
			      MEMWATCH_A_STATUS_PAD) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_STATUS_REGIONS, st.regions,
			      MEMWATCH_A_STATUS_PAD) ||
	    nla_put_u32(msg, MEMWATCH_A_STATUS_MAX_THREADS_PER_REGION,
			READ_ONCE(memwatch_max_threads_per_region)))
		goto nospace;
	for (i = 0; i < memwatch_probes_count(); i++)
		if (put_probe(msg, i))
			goto nospace;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

nospace:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

/* ---- watches ------------------------------------------------------------ */

static int put_watch(struct sk_buff *msg, const struct memwatch_report *rep)
{
	if (nla_put_u32(msg, MEMWATCH_A_WATCH_PID, rep->pid) ||
	    nla_put_string(msg, MEMWATCH_A_WATCH_COMM, rep->comm) ||
	    nla_put_u32(msg, MEMWATCH_A_WATCH_STATE, rep->state) ||
	    nla_put_u32(msg, MEMWATCH_A_WATCH_FLAGS, rep->flags) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_WATCH_NS, rep->watch_ns,
			      MEMWATCH_A_WATCH_PAD) ||
	    nla_put_u32(msg, MEMWATCH_A_WATCH_REGIONS, rep->nr_regions) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_WATCH_RESERVED, rep->reserved,
			      MEMWATCH_A_WATCH_PAD) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_WATCH_COMMITTED, rep->committed,
			      MEMWATCH_A_WATCH_PAD) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_WATCH_TOUCHED, rep->touched,
			      MEMWATCH_A_WATCH_PAD) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_WATCH_PEAK_TOUCHED, rep->peak,
			      MEMWATCH_A_WATCH_PAD) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_WATCH_FAULTED, rep->faulted,
			      MEMWATCH_A_WATCH_PAD) ||
	    nla_put_u32(msg, MEMWATCH_A_WATCH_EXECS, rep->execs) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_WATCH_DROPPED_REGIONS,
			      rep->dropped_regions, MEMWATCH_A_WATCH_PAD) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_WATCH_DROPPED_EVENTS,
			      rep->dropped_events, MEMWATCH_A_WATCH_PAD) ||
	    nla_put_u32(msg, MEMWATCH_A_WATCH_FILL_EVERY, rep->fill_every) ||
	    nla_put_u32(msg, MEMWATCH_A_WATCH_STACKS, rep->nr_stacks) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_WATCH_DROPPED_STACKS,
			      rep->dropped_stacks, MEMWATCH_A_WATCH_PAD))
		return -EMSGSIZE;
	return 0;
}

/* Says why memwatch_report() failed. */
static void report_error(struct netlink_ext_ack *extack, long err)
{
	if (err == -EAGAIN)
		NL_SET_ERR_MSG(extack,
			       "the process kept changing its mappings while memwatch copied them; try again");
	else
		NL_SET_ERR_MSG(extack, "out of memory for the report");
}

static int watch_reply(struct genl_info *info, struct memwatch_target *t)
{
	struct memwatch_report *rep;
	struct sk_buff *msg;
	void *hdr;

	rep = memwatch_report(t, caller_ns(), false);
	if (IS_ERR(rep)) {
		report_error(info->extack, PTR_ERR(rep));
		return PTR_ERR(rep);
	}
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		memwatch_report_free(rep);
		return -ENOMEM;
	}
	hdr = genlmsg_put_reply(msg, info, &memwatch_genl_family, 0, MEMWATCH_CMD_WATCH);
	if (!hdr || put_watch(msg, rep)) {
		memwatch_report_free(rep);
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	memwatch_report_free(rep);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static struct task_struct *get_task(pid_t nr)
{
	struct task_struct *task;
	struct pid *pid = find_get_pid(nr);

	if (!pid)
		return NULL;
	task = get_pid_task(pid, PIDTYPE_PID);
	put_pid(pid);
	return task;
}

static int watch_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *pid_attr = info->attrs[MEMWATCH_A_WATCH_PID];
	struct memwatch_target *t;
	struct task_struct *task;
	u32 fill_every = READ_ONCE(memwatch_fill_every);
	u32 flags = 0;
	pid_t tgid;
	int ret;

	ret = check_pid_request(skb, info);
	if (ret)
		return ret;
	if (info->attrs[MEMWATCH_A_WATCH_FLAGS])
		flags = nla_get_u32(info->attrs[MEMWATCH_A_WATCH_FLAGS]);
	if (info->attrs[MEMWATCH_A_WATCH_FILL_EVERY])
		fill_every = nla_get_u32(info->attrs[MEMWATCH_A_WATCH_FILL_EVERY]);
	if (flags & ~__MEMWATCH_WATCH_F_ALL) {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    info->attrs[MEMWATCH_A_WATCH_FLAGS],
				    "unknown watch flags");
		return -EOPNOTSUPP;
	}
	task = get_task(nla_get_u32(pid_attr));
	if (!task) {
		NL_SET_ERR_MSG_ATTR(info->extack, pid_attr,
				    "no such process in the caller's pid namespace");
		return -ESRCH;
	}
	tgid = task_tgid_nr_ns(task, caller_ns());
	if (task->flags & PF_KTHREAD)
		ret = -EINVAL;
	else if (!memwatch_probes_ready())
		ret = -EOPNOTSUPP;
	else
		ret = memwatch_watch(task, flags, fill_every);
	put_task_struct(task);
	switch (ret) {
	case 0:
		break;
	case -EEXIST:
		if (flags & MEMWATCH_WATCH_F_EXISTING_OK)
			break;
		NL_SET_ERR_MSG_ATTR(info->extack, pid_attr,
				    "process is watched already");
		return ret;
	case -EINVAL:
		NL_SET_ERR_MSG_ATTR(info->extack, pid_attr,
				    "process has no user address space");
		return ret;
	case -EPERM:
		NL_SET_ERR_MSG_ATTR(info->extack, pid_attr,
				    "no ptrace read access to the process");
		return ret;
	case -ENOSPC:
		NL_SET_ERR_MSG(info->extack,
			       "max_watches processes are watched already");
		return ret;
	case -EOPNOTSUPP:
		NL_SET_ERR_MSG(info->extack,
			       "a kernel function memwatch needs is not hooked (see its status; load memwatch with hooks=kprobe if a BPF program holds it)");
		return ret;
	default:
		return ret;
	}
	t = memwatch_target_get(tgid, caller_ns());
	if (!t)		/* unwatched or gone meanwhile */
		return 0;
	ret = watch_reply(info, t);
	memwatch_target_put(t);
	return ret;
}

/* A watch the caller may see, by pid in the caller's namespace. */
static struct memwatch_target *lookup(struct nlattr *pid_attr,
				      struct netlink_ext_ack *extack,
				      int *err)
{
	struct memwatch_target *t;

	t = memwatch_target_get(nla_get_u32(pid_attr), caller_ns());
	if (!t) {
		NL_SET_ERR_MSG_ATTR(extack, pid_attr, "pid is not being watched");
		*err = -ENOENT;
		return NULL;
	}
	if (memwatch_target_may_read(t)) {
		memwatch_target_put(t);
		NL_SET_ERR_MSG_ATTR(extack, pid_attr,
				    "no ptrace read access to the process");
		*err = -EPERM;
		return NULL;
	}
	return t;
}

static int unwatch_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct memwatch_target *t;
	int ret;

	ret = check_pid_request(skb, info);
	if (ret)
		return ret;
	t = lookup(info->attrs[MEMWATCH_A_WATCH_PID], info->extack, &ret);
	if (!t)
		return ret;
	ret = memwatch_unwatch(t);
	if (ret)
		NL_SET_ERR_MSG_ATTR(info->extack,
				    info->attrs[MEMWATCH_A_WATCH_PID],
				    "pid is not being watched");
	memwatch_target_put(t);
	return ret;
}

/*
 * Dumps check their request in .start, where a refusal becomes an error
 * ack with its message. Kernels whose .start gets no extack (6.1) check in
 * the first .dumpit call instead: the errno and the message then arrive in
 * NLMSG_DONE. cb->args[1] says the checks passed.
 */
static int watches_start(struct netlink_callback *cb)
{
	if (!cb->extack)
		return 0;
	cb->args[1] = 1;
	return check_perm(cb->skb, cb->extack);
}

static int watches_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct nlattr **attrs = memwatch_dump_attrs(cb);
	struct pid_namespace *ns = caller_ns();
	unsigned long idx = cb->args[0];
	pid_t only = 0;

	if (!cb->args[1]) {
		int ret = check_perm(cb->skb, cb->extack);

		if (ret)
			return ret;
		cb->args[1] = 1;
	}

	if (attrs && attrs[MEMWATCH_A_WATCH_PID])
		only = nla_get_u32(attrs[MEMWATCH_A_WATCH_PID]);
	cb->seq = memwatch_generation();
	for (;; idx++) {
		struct memwatch_target *t = memwatch_target_get_nth(idx);
		struct memwatch_report *rep;
		void *hdr;
		int ret;

		if (!t)
			break;
		rep = NULL;
		if (!memwatch_target_may_read(t))
			rep = memwatch_report(t, ns, false);
		memwatch_target_put(t);
		if (IS_ERR_OR_NULL(rep))
			continue;
		if (!rep->pid || (only && rep->pid != only)) {
			memwatch_report_free(rep);
			continue;
		}
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &memwatch_genl_family, NLM_F_MULTI,
				  MEMWATCH_CMD_GET_WATCHES);
		ret = hdr ? put_watch(skb, rep) : -EMSGSIZE;
		memwatch_report_free(rep);
		if (ret) {
			if (hdr)
				genlmsg_cancel(skb, hdr);
			break;
		}
		genl_dump_check_consistent(cb, hdr);
		genlmsg_end(skb, hdr);
	}
	cb->args[0] = idx;
	return skb->len;
}

/* ---- GET_REGIONS -------------------------------------------------------- */

/**
 * struct regions_ctx - a GET_REGIONS dump in progress, in cb->ctx
 * @t: the watch, referenced
 * @rep: the copy being sent
 * @next: index of the next region to send
 * @begun: the request was checked and the copy made
 * @complete: every region was sent
 */
struct regions_ctx {
	struct memwatch_target *t;
	struct memwatch_report *rep;
	u32 next;
	bool begun;
	bool complete;
};

/*
 * The checks a dump of one watch starts with: permission, the pid
 * attribute @pid_attr, a watch the caller may read. Return: the watch,
 * referenced, or NULL with *@err set and the extack message.
 */
static struct memwatch_target *dump_target(struct netlink_callback *cb,
					   int pid_attr, int *err)
{
	struct nlattr **attrs = memwatch_dump_attrs(cb);

	*err = check_perm(cb->skb, cb->extack);
	if (*err)
		return NULL;
	if (!attrs[pid_attr]) {
		NL_SET_ERR_ATTR_MISS(cb->extack, NULL, pid_attr);
		NL_SET_ERR_MSG(cb->extack, "pid attribute is required");
		*err = -EINVAL;
		return NULL;
	}
	return lookup(attrs[pid_attr], cb->extack, err);
}

static int regions_begin(struct netlink_callback *cb)
{
	struct regions_ctx *ctx = (struct regions_ctx *)cb->ctx;
	int ret;

	ctx->begun = true;
	ctx->t = dump_target(cb, MEMWATCH_A_REGION_PID, &ret);
	if (!ctx->t)
		return ret;
	ctx->rep = memwatch_report(ctx->t, caller_ns(), true);
	if (IS_ERR(ctx->rep)) {
		ret = PTR_ERR(ctx->rep);
		report_error(cb->extack, ret);
		ctx->rep = NULL;
		memwatch_target_put(ctx->t);
		ctx->t = NULL;
		return ret;
	}
	return 0;
}

static int regions_start(struct netlink_callback *cb)
{
	BUILD_BUG_ON(sizeof(struct regions_ctx) > sizeof(cb->ctx));
	/* see watches_start() */
	return cb->extack ? regions_begin(cb) : 0;
}

static int put_thread(struct sk_buff *msg, const struct memwatch_rep_thread *th)
{
	struct nlattr *nest = nla_nest_start(msg, MEMWATCH_A_REGION_THREAD);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(msg, MEMWATCH_A_THREAD_TID, th->tid) ||
	    nla_put_string(msg, MEMWATCH_A_THREAD_COMM, th->comm) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_THREAD_FAULTED, th->faulted,
			      MEMWATCH_A_THREAD_PAD)) {
		nla_nest_cancel(msg, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	return 0;
}

static int put_extent(struct sk_buff *msg, const struct memwatch_rep_extent *e)
{
	struct nlattr *nest = nla_nest_start(msg, MEMWATCH_A_REGION_EXTENT);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(msg, MEMWATCH_A_EXTENT_START, e->start,
			      MEMWATCH_A_EXTENT_PAD) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_EXTENT_END, e->end,
			      MEMWATCH_A_EXTENT_PAD)) {
		nla_nest_cancel(msg, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	return 0;
}

static int put_fill(struct sk_buff *msg, const struct mw_fill *f)
{
	struct nlattr *nest = nla_nest_start(msg, MEMWATCH_A_REGION_FILL);

	if (!nest ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_FILL_STACK_ID, f->stack_id,
			      MEMWATCH_A_FILL_PAD) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_FILL_BYTES, f->bytes,
			      MEMWATCH_A_FILL_PAD)) {
		nla_nest_cancel(msg, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	return 0;
}

static int put_region(struct sk_buff *msg, const struct memwatch_report *rep,
		      const struct memwatch_rep_region *r)
{
	const int pad = MEMWATCH_A_REGION_PAD;
	u32 i;

	if (nla_put_u64_64bit(msg, MEMWATCH_A_REGION_ID, r->id, pad) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_REGION_START, r->start, pad) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_REGION_END, r->end, pad) ||
	    nla_put_u32(msg, MEMWATCH_A_REGION_KIND, r->kind) ||
	    nla_put_u32(msg, MEMWATCH_A_REGION_FLAGS, r->flags) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_REGION_RESERVED, r->reserved, pad) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_REGION_COMMITTED, r->committed,
			      pad) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_REGION_TOUCHED, r->touched, pad) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_REGION_PEAK_TOUCHED, r->peak,
			      pad) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_REGION_FAULTED, r->faulted, pad) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_REGION_CREATED_NS, r->created_ns,
			      pad) ||
	    nla_put_u32(msg, MEMWATCH_A_REGION_CREATOR_TID, r->creator_tid) ||
	    nla_put_string(msg, MEMWATCH_A_REGION_CREATOR_COMM,
			   r->creator_comm) ||
	    nla_put_string(msg, MEMWATCH_A_REGION_CREATOR_LAST_COMM,
			   r->creator_last_comm) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_REGION_OTHER_FAULTED,
			      r->other_faulted, pad) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_REGION_STACK_ID, r->stack_id,
			      pad) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_REGION_FILL_OTHER, r->fill_other,
			      pad))
		return -EMSGSIZE;
	for (i = 0; i < MW_FILL_SLOTS && r->fills[i].stack_id; i++)
		if (put_fill(msg, &r->fills[i]))
			return -EMSGSIZE;
	for (i = 0; i < r->nr_threads; i++)
		if (put_thread(msg, &rep->threads[r->first_thread + i]))
			return -EMSGSIZE;
	for (i = 0; i < r->nr_extents; i++)
		if (put_extent(msg, &rep->extents[r->first_extent + i]))
			return -EMSGSIZE;
	return 0;
}

static int regions_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct regions_ctx *ctx = (struct regions_ctx *)cb->ctx;
	const struct memwatch_report *rep;

	if (!ctx->begun) {
		int ret = regions_begin(cb);

		if (ret)
			return ret;
	}
	rep = ctx->rep;
	while (ctx->next < rep->nr_regions) {
		void *hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
					cb->nlh->nlmsg_seq, &memwatch_genl_family,
					NLM_F_MULTI, MEMWATCH_CMD_GET_REGIONS);

		if (!hdr)
			break;
		if (put_region(skb, rep, &rep->regions[ctx->next])) {
			genlmsg_cancel(skb, hdr);
			/* a region that fits no message at all is an error */
			if (!skb->len)
				return -EMSGSIZE;
			break;
		}
		genlmsg_end(skb, hdr);
		ctx->next++;
	}
	if (ctx->next == rep->nr_regions)
		ctx->complete = true;
	return skb->len;
}

static int regions_done(struct netlink_callback *cb)
{
	struct regions_ctx *ctx = (struct regions_ctx *)cb->ctx;

	if (!ctx->t)
		return 0;
	/* an exited watch's final data is kept until it has been read */
	if (ctx->complete && memwatch_target_exited(ctx->t))
		memwatch_unwatch(ctx->t);
	memwatch_report_free(ctx->rep);
	memwatch_target_put(ctx->t);
	return 0;
}

/* ---- GET_STACKS and GET_CODE_MAPS --------------------------------------- */

/* A stack's bytes go in pieces small enough for any dump message. */
#define MW_STACK_PIECE	2048

/**
 * struct stacks_ctx - a GET_STACKS or GET_CODE_MAPS dump, in cb->ctx
 * @t: the watch, referenced
 * @next: GET_STACKS: the id of the stack to send next or go on with;
 *	GET_CODE_MAPS: the index of the next mapping
 * @offset: GET_STACKS: where the next piece of that stack starts
 * @begun: the request was checked
 *
 * Entries are sent straight from the watch, under its lock: a stack added
 * while the dump runs is sent if its id comes later; one dropped by an
 * exec is not.
 */
struct stacks_ctx {
	struct memwatch_target *t;
	u64 next;
	u32 offset;
	bool begun;
};

static int stacks_begin(struct netlink_callback *cb, int pid_attr)
{
	struct stacks_ctx *ctx = (struct stacks_ctx *)cb->ctx;
	int ret;

	ctx->begun = true;
	ctx->t = dump_target(cb, pid_attr, &ret);
	return ctx->t ? 0 : ret;
}

static int stacks_start(struct netlink_callback *cb)
{
	BUILD_BUG_ON(sizeof(struct stacks_ctx) > sizeof(cb->ctx));
	/* see watches_start() */
	return cb->extack ? stacks_begin(cb, MEMWATCH_A_STACK_PID) : 0;
}

static int code_maps_start(struct netlink_callback *cb)
{
	return cb->extack ? stacks_begin(cb, MEMWATCH_A_CODE_MAP_PID) : 0;
}

/* One piece of @s, from @offset. */
static int put_stack_piece(struct sk_buff *msg, const struct mw_stack *s,
			   u32 offset)
{
	const int pad = MEMWATCH_A_STACK_PAD;
	u32 len = min_t(u32, s->size - offset, MW_STACK_PIECE);

	if (nla_put_u64_64bit(msg, MEMWATCH_A_STACK_ID, s->id, pad) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_STACK_NS, s->ns, pad) ||
	    nla_put_u32(msg, MEMWATCH_A_STACK_SIZE, s->size) ||
	    nla_put_u32(msg, MEMWATCH_A_STACK_OFFSET, offset))
		return -EMSGSIZE;
	if (!offset && nla_put(msg, MEMWATCH_A_STACK_REGS, sizeof(s->regs),
			       s->regs))
		return -EMSGSIZE;
	if (len && nla_put(msg, MEMWATCH_A_STACK_DATA, len, s->data + offset))
		return -EMSGSIZE;
	return 0;
}

static int stacks_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct stacks_ctx *ctx = (struct stacks_ctx *)cb->ctx;
	struct memwatch_target *t;
	struct mw_stack *s;
	int ret = 0;

	if (!ctx->begun) {
		ret = stacks_begin(cb, MEMWATCH_A_STACK_PID);
		if (ret)
			return ret;
	}
	t = ctx->t;
	spin_lock(&t->lock);
	list_for_each_entry(s, &t->stacks, node) {
		if (s->id < ctx->next)
			continue;
		if (s->id > ctx->next) {	/* the one being sent is gone */
			ctx->next = s->id;
			ctx->offset = 0;
		}
		do {
			void *hdr = genlmsg_put(skb,
						NETLINK_CB(cb->skb).portid,
						cb->nlh->nlmsg_seq, &memwatch_genl_family,
						NLM_F_MULTI,
						MEMWATCH_CMD_GET_STACKS);

			if (!hdr || put_stack_piece(skb, s, ctx->offset)) {
				if (hdr)
					genlmsg_cancel(skb, hdr);
				goto full;
			}
			genlmsg_end(skb, hdr);
			ctx->offset += MW_STACK_PIECE;
		} while (ctx->offset < s->size);
		ctx->next = s->id + 1;
		ctx->offset = 0;
	}
	/* everything sent: the next call finds nothing past the last id */
	ctx->next = t->next_stack_id + 1;
full:
	spin_unlock(&t->lock);
	return skb->len;
}

static int put_code_map(struct sk_buff *msg, const struct mw_code_map *m)
{
	const int pad = MEMWATCH_A_CODE_MAP_PAD;

	if (nla_put_u64_64bit(msg, MEMWATCH_A_CODE_MAP_START, m->start, pad) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_CODE_MAP_END, m->end, pad) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_CODE_MAP_PGOFF, m->pgoff, pad) ||
	    nla_put_u64_64bit(msg, MEMWATCH_A_CODE_MAP_NS, m->ns, pad) ||
	    nla_put_string(msg, MEMWATCH_A_CODE_MAP_PATH, m->path))
		return -EMSGSIZE;
	return 0;
}

static int code_maps_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct stacks_ctx *ctx = (struct stacks_ctx *)cb->ctx;
	struct memwatch_target *t;
	struct mw_code_map *m;
	u64 idx = 0;
	int ret;

	if (!ctx->begun) {
		ret = stacks_begin(cb, MEMWATCH_A_CODE_MAP_PID);
		if (ret)
			return ret;
	}
	t = ctx->t;
	spin_lock(&t->lock);
	list_for_each_entry(m, &t->code_maps, node) {
		void *hdr;

		if (idx++ < ctx->next)
			continue;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &memwatch_genl_family, NLM_F_MULTI,
				  MEMWATCH_CMD_GET_CODE_MAPS);
		if (!hdr || put_code_map(skb, m)) {
			if (hdr)
				genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		ctx->next++;
	}
	spin_unlock(&t->lock);
	return skb->len;
}

static int stacks_done(struct netlink_callback *cb)
{
	struct stacks_ctx *ctx = (struct stacks_ctx *)cb->ctx;

	if (ctx->t)
		memwatch_target_put(ctx->t);
	return 0;
}

/* ---- family ------------------------------------------------------------- */

static const struct genl_ops mw_ops[] = {
	{
		.cmd = MEMWATCH_CMD_GET_STATUS,
		.doit = get_status_doit,
	},
	{
		.cmd = MEMWATCH_CMD_WATCH,
		.doit = watch_doit,
		.policy = watch_policy,
		.maxattr = MEMWATCH_A_WATCH_MAX,
	},
	{
		.cmd = MEMWATCH_CMD_UNWATCH,
		.doit = unwatch_doit,
		.policy = unwatch_policy,
		.maxattr = MEMWATCH_A_WATCH_MAX,
	},
	{
		.cmd = MEMWATCH_CMD_GET_WATCHES,
		.start = watches_start,
		.dumpit = watches_dumpit,
		.policy = watches_policy,
		.maxattr = MEMWATCH_A_WATCH_MAX,
	},
	{
		.cmd = MEMWATCH_CMD_GET_REGIONS,
		.start = regions_start,
		.dumpit = regions_dumpit,
		.done = regions_done,
		.policy = regions_policy,
		.maxattr = MEMWATCH_A_REGION_MAX,
	},
	{
		.cmd = MEMWATCH_CMD_GET_STACKS,
		.start = stacks_start,
		.dumpit = stacks_dumpit,
		.done = stacks_done,
		.policy = stacks_policy,
		.maxattr = MEMWATCH_A_STACK_MAX,
	},
	{
		.cmd = MEMWATCH_CMD_GET_CODE_MAPS,
		.start = code_maps_start,
		.dumpit = code_maps_dumpit,
		.done = stacks_done,
		.policy = code_maps_policy,
		.maxattr = MEMWATCH_A_CODE_MAP_MAX,
	},
};

struct genl_family memwatch_genl_family __ro_after_init = {
	.name = MEMWATCH_GENL_NAME,
	.version = MEMWATCH_GENL_VERSION,
	.module = THIS_MODULE,
	.netnsok = true,
	.parallel_ops = true,
	.ops = mw_ops,
	.n_ops = ARRAY_SIZE(mw_ops),
	.mcgrps = mw_mcgrps,
	.n_mcgrps = ARRAY_SIZE(mw_mcgrps),
};

/**
 * memwatch_netlink_init() - register the family; the module is visible after
 *
 * Return: 0 or a negative errno.
 */
int memwatch_netlink_init(void)
{
	int ret = genl_register_family(&memwatch_genl_family);

	if (!ret)
		memwatch_events_start();
	return ret;
}

/**
 * memwatch_netlink_uninit() - stop events and unregister the family
 */
void memwatch_netlink_uninit(void)
{
	memwatch_events_stop();
	genl_unregister_family(&memwatch_genl_family);
}

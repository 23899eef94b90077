// SPDX-License-Identifier: GPL-2.0
/*
 * memwatch generic netlink interface: the family, GET_STATUS and its probes,
 * privilege checks, and the errno and extended-ack message of every kind of
 * refused request, as include/uapi/linux/memwatch.h documents them.
 *
 * Needs root and the memwatch module loaded; skips otherwise.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "kselftest_harness.h"
#include "mw_nl.h"
#include "mw_util.h"

#define MAX_KIDS 8

FIXTURE(memwatch_nl) {
	struct mw_nl nl;
	pid_t kids[MAX_KIDS];
	int nkids;
	pid_t watched[MAX_KIDS];
	int nwatched;
};

FIXTURE_SETUP(memwatch_nl)
{
	int ret;

	if (geteuid() != 0)
		SKIP(return, "needs root");
	ret = mw_nl_open(&self->nl);
	if (ret == -ENOENT)
		SKIP(return, "generic netlink family \"%s\" absent: module not loaded",
		     MEMWATCH_GENL_NAME);
	ASSERT_EQ(0, ret) {
		TH_LOG("cannot open a generic netlink socket: %s",
		       strerror(-ret));
	}
}

FIXTURE_TEARDOWN(memwatch_nl)
{
	int i;

	for (i = 0; i < self->nwatched; i++)
		mw_unwatch(&self->nl, self->watched[i]);
	for (i = 0; i < self->nkids; i++)
		mw_kill_reap(self->kids[i]);
	mw_nl_close(&self->nl);
}

/* An idle child process to use as a target; reaped at teardown. */
static pid_t idle_kid(struct __test_metadata *_metadata,
		      FIXTURE_DATA(memwatch_nl) *self)
{
	pid_t pid;

	ASSERT_LT(self->nkids, MAX_KIDS);
	pid = mw_spawn_idle();
	ASSERT_GT(pid, 0);
	self->kids[self->nkids++] = pid;
	return pid;
}

/* Remember a watch so that teardown removes it whatever happens. */
static void note_watch(FIXTURE_DATA(memwatch_nl) *self, pid_t pid)
{
	if (self->nwatched < MAX_KIDS)
		self->watched[self->nwatched++] = pid;
}

/* The request was refused with @want and a non-empty extack message. */
static void check_refused(struct __test_metadata *_metadata,
			  const struct mw_nl *nl, int ret, int want,
			  bool need_msg, const char *what)
{
	EXPECT_FALSE(nl->local) {
		TH_LOG("%s: no answer from the kernel: %s", what, nl->msg);
	}
	EXPECT_EQ(-want, ret) {
		TH_LOG("%s: expected %s, got %d (%s), extack \"%s\"", what,
		       strerror(want), ret, strerror(-ret), nl->msg);
	}
	if (need_msg) {
		EXPECT_NE(0, strlen(nl->msg)) {
			TH_LOG("%s: refused without an extack message", what);
		}
	}
	if (nl->msg[0])
		TH_LOG("%s: kernel reports: %s", what, nl->msg);
}

/* CTRL_CMD_GETFAMILY answer, as far as these tests need it. */
struct family_info {
	int id;
	uint32_t version;
	bool has_events_group;
	uint32_t op_flags[256];
	bool has_op[256];
};

static int parse_family(const struct nlmsghdr *nlh, void *arg)
{
	struct family_info *fi = arg;
	struct nlattr *tb[CTRL_ATTR_MAX + 1];
	struct nlattr *a, *b;
	int rem, rem2;

	if (genlmsg_parse((struct nlmsghdr *)nlh, 0, tb, CTRL_ATTR_MAX, NULL))
		return -EINVAL;
	if (tb[CTRL_ATTR_FAMILY_ID])
		fi->id = nla_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
	if (tb[CTRL_ATTR_VERSION])
		fi->version = nla_get_u32(tb[CTRL_ATTR_VERSION]);
	if (tb[CTRL_ATTR_OPS]) {
		nla_for_each_nested(a, tb[CTRL_ATTR_OPS], rem) {
			uint32_t id = 0, flags = 0;

			nla_for_each_nested(b, a, rem2) {
				if (nla_type(b) == CTRL_ATTR_OP_ID)
					id = nla_get_u32(b);
				else if (nla_type(b) == CTRL_ATTR_OP_FLAGS)
					flags = nla_get_u32(b);
			}
			if (id < 256) {
				fi->has_op[id] = true;
				fi->op_flags[id] |= flags;
			}
		}
	}
	if (tb[CTRL_ATTR_MCAST_GROUPS]) {
		nla_for_each_nested(a, tb[CTRL_ATTR_MCAST_GROUPS], rem) {
			nla_for_each_nested(b, a, rem2) {
				if (nla_type(b) == CTRL_ATTR_MCAST_GRP_NAME &&
				    !strcmp(nla_get_string(b),
					    MEMWATCH_MCGRP_EVENTS))
					fi->has_events_group = true;
			}
		}
	}
	return 0;
}

static int get_family(struct mw_nl *nl, struct family_info *fi)
{
	struct mw_attr name = {
		CTRL_ATTR_FAMILY_NAME, sizeof(MEMWATCH_GENL_NAME),
		MEMWATCH_GENL_NAME
	};

	memset(fi, 0, sizeof(*fi));
	return mw_nl_request(nl, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, NLM_F_ACK,
			     &name, 1, parse_family, fi);
}

TEST_F(memwatch_nl, family_resolves_with_version_1_and_events_group)
{
	struct family_info fi;

	ASSERT_EQ(0, get_family(&self->nl, &fi)) {
		TH_LOG("CTRL_CMD_GETFAMILY: %s", self->nl.msg);
	}
	EXPECT_EQ(self->nl.family, fi.id);
	EXPECT_EQ(MEMWATCH_GENL_VERSION, fi.version);
	EXPECT_TRUE(fi.has_events_group) {
		TH_LOG("no multicast group \"%s\"", MEMWATCH_MCGRP_EVENTS);
	}
}

TEST_F(memwatch_nl, family_ops_match_the_header)
{
	static const struct {
		int cmd;
		uint32_t cap;
	} ops[] = {
		{ MEMWATCH_CMD_GET_STATUS, GENL_CMD_CAP_DO },
		{ MEMWATCH_CMD_WATCH, GENL_CMD_CAP_DO },
		{ MEMWATCH_CMD_UNWATCH, GENL_CMD_CAP_DO },
		{ MEMWATCH_CMD_GET_WATCHES, GENL_CMD_CAP_DUMP },
		{ MEMWATCH_CMD_GET_REGIONS, GENL_CMD_CAP_DUMP },
	};
	const uint32_t both = GENL_CMD_CAP_DO | GENL_CMD_CAP_DUMP;
	struct family_info fi;
	unsigned int i;

	ASSERT_EQ(0, get_family(&self->nl, &fi));
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		int cmd = ops[i].cmd;

		EXPECT_TRUE(fi.has_op[cmd]) {
			TH_LOG("no op for %s", mw_cmd_name(cmd));
		}
		EXPECT_EQ(ops[i].cap, fi.op_flags[cmd] & both) {
			TH_LOG("%s: op flags 0x%x", mw_cmd_name(cmd),
			       fi.op_flags[cmd]);
		}
	}
	/* Events are notifications, never requests. */
	EXPECT_FALSE(fi.has_op[MEMWATCH_CMD_EVENT]);
}

TEST_F(memwatch_nl, get_status_reports_version_1)
{
	struct mw_status st;
	struct utsname u;

	ASSERT_EQ(0, mw_get_status(&self->nl, &st)) {
		TH_LOG("GET_STATUS: %s", self->nl.msg);
	}
	ASSERT_TRUE(st.present & MW_PRESENT(MEMWATCH_A_STATUS_VERSION));
	EXPECT_EQ(MEMWATCH_GENL_VERSION, st.version);
	EXPECT_NE(0, strlen(st.module_version));
	ASSERT_EQ(0, uname(&u));
	EXPECT_STREQ(u.release, st.kernel);
	EXPECT_LT(0, st.max_watches);
	EXPECT_LT(0, st.max_regions);
	TH_LOG("module %s on %s, %u watches, %zu probes", st.module_version,
	       st.kernel, st.watches, st.nr_probes);
	mw_status_free(&st);
}

TEST_F(memwatch_nl, every_probe_is_attached)
{
	struct mw_status st;
	size_t i;

	ASSERT_EQ(0, mw_get_status(&self->nl, &st));
	ASSERT_LT(0, st.nr_probes);
	for (i = 0; i < st.nr_probes; i++) {
		const struct mw_probe *p = &st.probes[i];

		EXPECT_NE(0, strlen(p->symbol));
		EXPECT_EQ(1, p->attached) {
			TH_LOG("probe %s not attached (error %u)", p->symbol,
			       p->error);
		}
		EXPECT_EQ(0, p->error) {
			TH_LOG("probe %s: error %u", p->symbol, p->error);
		}
	}
	mw_status_free(&st);
}

/*
 * The page-level probes may stay disabled while nothing is watched, so the
 * faults come from a watched child. 4096 pages: THP is disabled for it, so
 * each page is its own fault.
 */
TEST_F_TIMEOUT(memwatch_nl, probe_hits_rise_when_a_watched_child_faults, 90)
{
	const size_t len = 16 * MW_MIB;
	struct mw_status before, after;
	int go[2], done[2];
	pid_t pid;
	char c = 0;

	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *p;
		size_t off;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(2);
		for (off = 0; off < len; off += 4096)
			p[off] = 1;
		if (write(done[1], &c, 1) != 1)
			_exit(3);
		pause();
		_exit(0);
	}
	self->kids[self->nkids++] = pid;

	ASSERT_EQ(0, mw_watch(&self->nl, pid, 0, NULL)) {
		TH_LOG("WATCH: %s", self->nl.msg);
	}
	note_watch(self, pid);
	ASSERT_EQ(0, mw_get_status(&self->nl, &before));
	ASSERT_EQ(1, write(go[1], &c, 1));
	ASSERT_EQ(1, read(done[0], &c, 1));
	ASSERT_EQ(0, mw_get_status(&self->nl, &after));

	TH_LOG("probe hits %llu -> %llu",
	       (unsigned long long)mw_status_hits(&before),
	       (unsigned long long)mw_status_hits(&after));
	EXPECT_LE(mw_status_hits(&before) + len / 4096,
		  mw_status_hits(&after));
	mw_status_free(&before);
	mw_status_free(&after);
}

struct refusal {
	int cmd;
	int err;
	char msg[MW_MSG_LEN];
};

/* Each request command as a caller that already dropped privileges. */
static int try_every_command(pid_t target, struct refusal *out)
{
	static const int cmds[] = {
		MEMWATCH_CMD_GET_STATUS, MEMWATCH_CMD_WATCH,
		MEMWATCH_CMD_UNWATCH, MEMWATCH_CMD_GET_WATCHES,
		MEMWATCH_CMD_GET_REGIONS,
	};
	uint32_t pid = target;
	struct mw_attr wpid = MW_ATTR(MEMWATCH_A_WATCH_PID, &pid);
	struct mw_attr rpid = MW_ATTR(MEMWATCH_A_REGION_PID, &pid);
	struct mw_nl nl;
	unsigned int i;
	int ret;

	ret = mw_nl_open(&nl);
	if (ret)
		return ret;
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		int cmd = cmds[i];

		switch (cmd) {
		case MEMWATCH_CMD_GET_STATUS:
			ret = mw_nl_do(&nl, cmd, NULL, 0);
			break;
		case MEMWATCH_CMD_WATCH:
		case MEMWATCH_CMD_UNWATCH:
			ret = mw_nl_do(&nl, cmd, &wpid, 1);
			break;
		case MEMWATCH_CMD_GET_WATCHES:
			ret = mw_nl_dump(&nl, cmd, NULL, 0);
			break;
		case MEMWATCH_CMD_GET_REGIONS:
			ret = mw_nl_dump(&nl, cmd, &rpid, 1);
			break;
		}
		out[i].cmd = cmd;
		out[i].err = nl.local ? -EIO : ret;
		snprintf(out[i].msg, sizeof(out[i].msg), "%s", nl.msg);
	}
	mw_nl_close(&nl);
	return i;
}

TEST_F(memwatch_nl, unprivileged_caller_gets_eperm_for_every_command)
{
	struct refusal res[8];
	int fds[2], status, n, i;
	pid_t target, pid;

	/* A watched target, so that a refusal cannot be ENOENT in disguise. */
	target = idle_kid(_metadata, self);
	ASSERT_EQ(0, mw_watch(&self->nl, target, 0, NULL));
	note_watch(self, target);

	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(fds[0]);
		mw_nl_close(&self->nl);
		memset(res, 0, sizeof(res));
		if (mw_drop_privs(MW_UNPRIV_ID, MW_UNPRIV_ID, 0))
			_exit(2);
		n = try_every_command(target, res);
		if (n < 0)
			_exit(3);
		if (write(fds[1], res, n * sizeof(res[0])) !=
		    (ssize_t)(n * sizeof(res[0])))
			_exit(4);
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], res, sizeof(res));
	close(fds[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(5 * sizeof(res[0]), (size_t)n);

	for (i = 0; i < 5; i++) {
		const char *name = mw_cmd_name(res[i].cmd);

		EXPECT_EQ(-EPERM, res[i].err) {
			TH_LOG("%s as uid %d: got %d, extack \"%s\"", name,
			       MW_UNPRIV_ID, res[i].err, res[i].msg);
		}
		EXPECT_NE(0, strlen(res[i].msg)) {
			TH_LOG("%s: EPERM without an extack message", name);
		}
		TH_LOG("%s: kernel reports: %s", name, res[i].msg);
	}
}

/* GET_STATUS as uid 65534 holding only @cap; returns its result. */
static int status_with_only(uint64_t caps, char *msg, size_t size)
{
	struct { int err; char msg[MW_MSG_LEN]; } r = { -EIO, "" };
	int fds[2];
	pid_t pid;

	if (pipe(fds))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct mw_status st;
		struct mw_nl nl;

		close(fds[0]);
		if (mw_drop_privs(MW_UNPRIV_ID, MW_UNPRIV_ID, caps))
			_exit(2);
		if (mw_nl_open(&nl))
			_exit(3);
		r.err = mw_get_status(&nl, &st);
		mw_status_free(&st);
		snprintf(r.msg, sizeof(r.msg), "%s", nl.msg);
		if (write(fds[1], &r, sizeof(r)) != sizeof(r))
			_exit(4);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &r, sizeof(r)) != sizeof(r))
		r.err = -EIO;
	close(fds[0]);
	waitpid(pid, NULL, 0);
	snprintf(msg, size, "%s", r.msg);
	return r.err;
}

TEST_F(memwatch_nl, cap_perfmon_alone_passes_the_capability_check)
{
	char msg[MW_MSG_LEN];
	int ret;

	ret = status_with_only(MW_CAP(CAP_PERFMON), msg, sizeof(msg));
	EXPECT_EQ(0, ret) {
		TH_LOG("GET_STATUS with CAP_PERFMON only: %d (%s)", ret, msg);
	}
}

TEST_F(memwatch_nl, cap_sys_admin_alone_passes_the_capability_check)
{
	char msg[MW_MSG_LEN];
	int ret;

	ret = status_with_only(MW_CAP(CAP_SYS_ADMIN), msg, sizeof(msg));
	EXPECT_EQ(0, ret) {
		TH_LOG("GET_STATUS with CAP_SYS_ADMIN only: %d (%s)", ret,
		       msg);
	}
}

TEST_F(memwatch_nl, cap_net_admin_alone_is_eperm)
{
	char msg[MW_MSG_LEN];
	int ret;

	ret = status_with_only(MW_CAP(CAP_NET_ADMIN), msg, sizeof(msg));
	EXPECT_EQ(-EPERM, ret) {
		TH_LOG("GET_STATUS with CAP_NET_ADMIN only: %d (%s)", ret,
		       msg);
	}
	EXPECT_NE(0, strlen(msg));
}

TEST_F(memwatch_nl, watch_without_pid_is_einval)
{
	int ret = mw_nl_do(&self->nl, MEMWATCH_CMD_WATCH, NULL, 0);

	check_refused(_metadata, &self->nl, ret, EINVAL, true, "WATCH");
}

TEST_F(memwatch_nl, watch_with_only_flags_is_einval)
{
	uint32_t flags = MEMWATCH_WATCH_F_EXISTING_OK;
	struct mw_attr a = MW_ATTR(MEMWATCH_A_WATCH_FLAGS, &flags);
	int ret = mw_nl_do(&self->nl, MEMWATCH_CMD_WATCH, &a, 1);

	check_refused(_metadata, &self->nl, ret, EINVAL, true, "WATCH");
}

TEST_F(memwatch_nl, unwatch_without_pid_is_einval)
{
	int ret = mw_nl_do(&self->nl, MEMWATCH_CMD_UNWATCH, NULL, 0);

	check_refused(_metadata, &self->nl, ret, EINVAL, true, "UNWATCH");
}

TEST_F(memwatch_nl, get_regions_without_pid_is_einval)
{
	int ret = mw_nl_dump(&self->nl, MEMWATCH_CMD_GET_REGIONS, NULL, 0);

	check_refused(_metadata, &self->nl, ret, EINVAL, true, "GET_REGIONS");
}

TEST_F(memwatch_nl, watch_with_u8_pid_is_einval)
{
	pid_t pid = idle_kid(_metadata, self);
	uint8_t p8 = pid & 0xff;
	struct mw_attr a = { MEMWATCH_A_WATCH_PID, sizeof(p8), &p8 };
	int ret = mw_nl_do(&self->nl, MEMWATCH_CMD_WATCH, &a, 1);

	if (!ret)
		note_watch(self, pid);
	check_refused(_metadata, &self->nl, ret, EINVAL, true, "WATCH u8");
}

TEST_F(memwatch_nl, watch_with_u64_pid_is_einval)
{
	pid_t pid = idle_kid(_metadata, self);
	uint64_t p64 = pid;
	struct mw_attr a = MW_ATTR(MEMWATCH_A_WATCH_PID, &p64);
	int ret = mw_nl_do(&self->nl, MEMWATCH_CMD_WATCH, &a, 1);

	if (!ret)
		note_watch(self, pid);
	check_refused(_metadata, &self->nl, ret, EINVAL, true, "WATCH u64");
}

TEST_F(memwatch_nl, get_regions_with_u8_pid_is_einval)
{
	pid_t pid = idle_kid(_metadata, self);
	uint8_t p8 = pid & 0xff;
	struct mw_attr a = { MEMWATCH_A_REGION_PID, sizeof(p8), &p8 };
	int ret;

	ASSERT_EQ(0, mw_watch(&self->nl, pid, 0, NULL));
	note_watch(self, pid);
	ret = mw_nl_dump(&self->nl, MEMWATCH_CMD_GET_REGIONS, &a, 1);
	check_refused(_metadata, &self->nl, ret, EINVAL, true,
		      "GET_REGIONS u8");
}

TEST_F(memwatch_nl, watch_with_unknown_attribute_is_einval)
{
	uint32_t pid = idle_kid(_metadata, self), junk = 1;
	struct mw_attr a[] = {
		MW_ATTR(MEMWATCH_A_WATCH_PID, &pid),
		MW_ATTR(MEMWATCH_A_WATCH_MAX + 1, &junk),
	};
	int ret = mw_nl_do(&self->nl, MEMWATCH_CMD_WATCH, a, 2);

	if (!ret)
		note_watch(self, pid);
	check_refused(_metadata, &self->nl, ret, EINVAL, true, "WATCH");
}

/* COMM is a reply attribute: WATCH does not take it. */
TEST_F(memwatch_nl, watch_with_a_reply_attribute_is_einval)
{
	uint32_t pid = idle_kid(_metadata, self);
	struct mw_attr a[] = {
		MW_ATTR(MEMWATCH_A_WATCH_PID, &pid),
		{ MEMWATCH_A_WATCH_COMM, 4, "abc" },
	};
	int ret = mw_nl_do(&self->nl, MEMWATCH_CMD_WATCH, a, 2);

	if (!ret)
		note_watch(self, pid);
	check_refused(_metadata, &self->nl, ret, EINVAL, true, "WATCH");
}

TEST_F(memwatch_nl, get_status_with_an_attribute_is_einval)
{
	uint32_t v = 1;
	struct mw_attr a = MW_ATTR(MEMWATCH_A_STATUS_VERSION, &v);
	int ret = mw_nl_do(&self->nl, MEMWATCH_CMD_GET_STATUS, &a, 1);

	check_refused(_metadata, &self->nl, ret, EINVAL, true, "GET_STATUS");
}

TEST_F(memwatch_nl, watch_with_unknown_flag_is_eopnotsupp)
{
	pid_t pid = idle_kid(_metadata, self);
	int ret;

	ret = mw_watch(&self->nl, pid, 1U << 31, NULL);
	if (!ret)
		note_watch(self, pid);
	check_refused(_metadata, &self->nl, ret, EOPNOTSUPP, true, "WATCH");

	ret = mw_watch(&self->nl, pid,
		       MEMWATCH_WATCH_F_EXISTING_OK |
		       ((uint32_t)__MEMWATCH_WATCH_F_ALL + 1), NULL);
	if (!ret)
		note_watch(self, pid);
	check_refused(_metadata, &self->nl, ret, EOPNOTSUPP, true, "WATCH");
}

TEST_F(memwatch_nl, unknown_command_is_eopnotsupp)
{
	int ret = mw_nl_do(&self->nl, 200, NULL, 0);

	check_refused(_metadata, &self->nl, ret, EOPNOTSUPP, false, "cmd 200");
	ret = mw_nl_do(&self->nl, MEMWATCH_CMD_MAX + 1, NULL, 0);
	check_refused(_metadata, &self->nl, ret, EOPNOTSUPP, false,
		      "cmd MAX+1");
}

TEST_F(memwatch_nl, event_command_as_a_request_is_eopnotsupp)
{
	int ret = mw_nl_do(&self->nl, MEMWATCH_CMD_EVENT, NULL, 0);

	check_refused(_metadata, &self->nl, ret, EOPNOTSUPP, false, "EVENT");
}

TEST_F(memwatch_nl, dump_of_a_do_command_is_eopnotsupp)
{
	int ret = mw_nl_dump(&self->nl, MEMWATCH_CMD_GET_STATUS, NULL, 0);

	check_refused(_metadata, &self->nl, ret, EOPNOTSUPP, false,
		      "GET_STATUS dump");
}

TEST_F(memwatch_nl, do_of_a_dump_command_is_eopnotsupp)
{
	int ret = mw_nl_do(&self->nl, MEMWATCH_CMD_GET_WATCHES, NULL, 0);

	check_refused(_metadata, &self->nl, ret, EOPNOTSUPP, false,
		      "GET_WATCHES do");
}

TEST_F(memwatch_nl, reserved_header_field_set_is_einval)
{
	struct mw_raw r;
	int ret;

	mw_raw_init(&r, self->nl.family, MEMWATCH_CMD_GET_STATUS, NLM_F_ACK);
	mw_raw_genl(&r)->reserved = 1;
	ret = mw_nl_raw(&self->nl, &r, NULL, NULL);
	check_refused(_metadata, &self->nl, ret, EINVAL, false, "reserved");

	/* The same message, well formed, is accepted. */
	mw_raw_init(&r, self->nl.family, MEMWATCH_CMD_GET_STATUS, NLM_F_ACK);
	EXPECT_EQ(0, mw_nl_raw(&self->nl, &r, NULL, NULL)) {
		TH_LOG("raw GET_STATUS: %s", self->nl.msg);
	}
}

TEST_F(memwatch_nl, raw_attribute_with_odd_length_is_einval)
{
	uint32_t pid = idle_kid(_metadata, self);
	struct mw_raw r;
	int ret;

	/* A u32 attribute whose header claims 3 payload bytes. */
	mw_raw_init(&r, self->nl.family, MEMWATCH_CMD_WATCH, NLM_F_ACK);
	mw_raw_put(&r, MEMWATCH_A_WATCH_PID, &pid, 3);
	ret = mw_nl_raw(&self->nl, &r, NULL, NULL);
	if (!ret)
		note_watch(self, pid);
	check_refused(_metadata, &self->nl, ret, EINVAL, true, "WATCH len 3");
}

TEST_F(memwatch_nl, watch_of_nonexistent_pid_is_esrch)
{
	pid_t pid = mw_reaped_pid();
	int ret;

	ASSERT_LT(0, pid);
	ret = mw_watch(&self->nl, pid, 0, NULL);
	if (!ret)
		note_watch(self, pid);
	check_refused(_metadata, &self->nl, ret, ESRCH, true, "WATCH");
}

/*
 * GET_REGIONS reads a watch, and a watch outlives its process, so a pid
 * with no process behind it is answered from the watches: "not watched"
 * (ENOENT) and "no such process" (ESRCH) are both true of it.
 */
TEST_F(memwatch_nl, get_regions_of_nonexistent_pid_is_refused)
{
	pid_t pid = mw_reaped_pid();
	uint32_t p = pid;
	struct mw_attr a = MW_ATTR(MEMWATCH_A_REGION_PID, &p);
	int ret;

	ASSERT_LT(0, pid);
	ret = mw_nl_dump(&self->nl, MEMWATCH_CMD_GET_REGIONS, &a, 1);
	check_refused(_metadata, &self->nl, ret, ret == -ESRCH ? ESRCH : ENOENT,
		      true, "GET_REGIONS");
}

TEST_F(memwatch_nl, watch_of_kernel_thread_is_einval)
{
	char comm[32];
	int ret;

	/* pid 2 is kthreadd in the initial pid namespace. */
	if (mw_comm(2, comm, sizeof(comm)) || strcmp(comm, "kthreadd"))
		SKIP(return, "pid 2 is not kthreadd here");
	ret = mw_watch(&self->nl, 2, 0, NULL);

	if (!ret)
		note_watch(self, 2);
	check_refused(_metadata, &self->nl, ret, EINVAL, true,
		      "WATCH kthreadd");
}

TEST_F(memwatch_nl, unwatch_of_unwatched_pid_is_enoent)
{
	pid_t pid = idle_kid(_metadata, self);
	int ret = mw_unwatch(&self->nl, pid);

	check_refused(_metadata, &self->nl, ret, ENOENT, true, "UNWATCH");
}

TEST_F(memwatch_nl, get_regions_of_unwatched_pid_is_enoent)
{
	uint32_t pid = idle_kid(_metadata, self);
	struct mw_attr a = MW_ATTR(MEMWATCH_A_REGION_PID, &pid);
	int ret = mw_nl_dump(&self->nl, MEMWATCH_CMD_GET_REGIONS, &a, 1);

	check_refused(_metadata, &self->nl, ret, ENOENT, true, "GET_REGIONS");
}

TEST_F(memwatch_nl, unwatch_twice_is_enoent)
{
	pid_t pid = idle_kid(_metadata, self);
	int ret;

	ASSERT_EQ(0, mw_watch(&self->nl, pid, 0, NULL));
	note_watch(self, pid);
	EXPECT_EQ(0, mw_unwatch(&self->nl, pid)) {
		TH_LOG("UNWATCH: %s", self->nl.msg);
	}
	ret = mw_unwatch(&self->nl, pid);
	check_refused(_metadata, &self->nl, ret, ENOENT, true, "UNWATCH");
}

TEST_F(memwatch_nl, watch_twice_is_eexist)
{
	pid_t pid = idle_kid(_metadata, self);
	int ret;

	ASSERT_EQ(0, mw_watch(&self->nl, pid, 0, NULL)) {
		TH_LOG("WATCH: %s", self->nl.msg);
	}
	note_watch(self, pid);
	ret = mw_watch(&self->nl, pid, 0, NULL);
	check_refused(_metadata, &self->nl, ret, EEXIST, true, "WATCH again");
}

TEST_F(memwatch_nl, watch_twice_with_existing_ok_succeeds)
{
	pid_t pid = idle_kid(_metadata, self);
	struct mw_watches ws;
	struct mw_watch w;

	ASSERT_EQ(0, mw_watch(&self->nl, pid, 0, NULL));
	note_watch(self, pid);
	EXPECT_EQ(0, mw_watch(&self->nl, pid, MEMWATCH_WATCH_F_EXISTING_OK,
			      &w)) {
		TH_LOG("WATCH EXISTING_OK: %s", self->nl.msg);
	}
	EXPECT_EQ((uint32_t)pid, w.pid);

	/* Still one watch, not two. */
	ASSERT_EQ(0, mw_get_watches(&self->nl, pid, &ws));
	EXPECT_EQ(1, ws.n);
	mw_watches_free(&ws);
}

TEST_F(memwatch_nl, watch_replies_with_the_watch)
{
	pid_t pid = idle_kid(_metadata, self);
	struct mw_watch w;
	char comm[32];

	ASSERT_EQ(0, mw_watch(&self->nl, pid, 0, &w)) {
		TH_LOG("WATCH: %s", self->nl.msg);
	}
	note_watch(self, pid);
	ASSERT_EQ(0, mw_comm(pid, comm, sizeof(comm)));
	EXPECT_TRUE(w.present & (1ULL << MEMWATCH_A_WATCH_PID));
	EXPECT_EQ((uint32_t)pid, w.pid);
	EXPECT_STREQ(comm, w.comm);
	EXPECT_EQ(MEMWATCH_WATCH_STATE_LIVE, w.state);
	EXPECT_EQ(0, w.execs);
	EXPECT_EQ(0, w.dropped_regions);
	/* An idle fork has memory: its preexisting regions. */
	EXPECT_LT(0, w.regions);
	EXPECT_LT(0, w.reserved);
}

TEST_F(memwatch_nl, get_watches_lists_a_watch_until_unwatched)
{
	pid_t pid = idle_kid(_metadata, self);
	struct mw_watches ws;
	int i, found = 0;

	ASSERT_EQ(0, mw_watch(&self->nl, pid, 0, NULL));
	note_watch(self, pid);

	ASSERT_EQ(0, mw_get_watches(&self->nl, 0, &ws)) {
		TH_LOG("GET_WATCHES: %s", self->nl.msg);
	}
	for (i = 0; i < ws.n; i++)
		if (ws.w[i].pid == (uint32_t)pid)
			found++;
	EXPECT_EQ(1, found);
	mw_watches_free(&ws);

	ASSERT_EQ(0, mw_get_watches(&self->nl, pid, &ws));
	ASSERT_EQ(1, ws.n);
	EXPECT_EQ((uint32_t)pid, ws.w[0].pid);
	EXPECT_EQ(MEMWATCH_WATCH_STATE_LIVE, ws.w[0].state);
	mw_watches_free(&ws);

	ASSERT_EQ(0, mw_unwatch(&self->nl, pid));
	ASSERT_EQ(0, mw_get_watches(&self->nl, 0, &ws));
	for (i = 0; i < ws.n; i++)
		EXPECT_NE((uint32_t)pid, ws.w[i].pid);
	mw_watches_free(&ws);
}

TEST_F(memwatch_nl, status_counts_watches)
{
	pid_t pid = idle_kid(_metadata, self);
	struct mw_status a, b, c;
	int i;

	/*
	 * The regions of a watch that just ended are freed after an RCU grace
	 * period: with no watch left, wait until they are gone, so that none
	 * is freed while this watch's are counted.
	 */
	for (i = 0; i < 250; i++) {
		ASSERT_EQ(0, mw_get_status(&self->nl, &a));
		if (a.watches || !a.regions)
			break;
		usleep(20000);
	}
	ASSERT_EQ(0, mw_watch(&self->nl, pid, 0, NULL));
	note_watch(self, pid);
	ASSERT_EQ(0, mw_get_status(&self->nl, &b));
	ASSERT_EQ(0, mw_unwatch(&self->nl, pid));
	ASSERT_EQ(0, mw_get_status(&self->nl, &c));
	EXPECT_EQ(a.watches + 1, b.watches);
	EXPECT_EQ(a.watches, c.watches);
	EXPECT_LT(a.regions, b.regions);
	mw_status_free(&a);
	mw_status_free(&b);
	mw_status_free(&c);
}

TEST_HARNESS_MAIN

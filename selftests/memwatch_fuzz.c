// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile-input test of the memwatch generic netlink family.
 *
 * Sends a deterministic stream of generated and mutated messages to the
 * family (every command number, missing, duplicated, truncated, oversized,
 * wrongly typed and wrongly nested attributes, huge and negative values,
 * random netlink flags, bad generic netlink headers, dumps abandoned
 * halfway, and messages from an unprivileged caller), then checks that the
 * module still answers correctly and that its memory use and watch count
 * are back where they were. The kernel log is checked by the runner.
 *
 * Environment:
 *   MEMWATCH_FUZZ_SEED    the seed (default 0x6d656d7761746368, printed)
 *   MEMWATCH_FUZZ_COUNT   messages to send (default 100000)
 *
 * Output: TAP (kselftest.h); per-kind counts are "#" lines.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "kselftest.h"
#include "mw_nl.h"
#include "mw_util.h"

#define DEFAULT_SEED 0x6d656d7761746368ULL
#define DEFAULT_COUNT 100000
#define NTARGETS 4
#define MANY_REGIONS 300
#define PARAM_DIR "/sys/module/memwatch/parameters/"
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

enum kind {
	K_VALID,
	K_CMD,
	K_MISSING,
	K_DUP,
	K_TRUNC,
	K_OVERSIZE,
	K_WRONGLEN,
	K_NESTED,
	K_VALUES,
	K_NLFLAGS,
	K_GENLHDR,
	K_MUTATE,
	K_BATCH,
	K_ALLOCFAIL,
	K_DUMP_ABANDON,
	K_UNPRIV,
	NKINDS
};

static const char *const kind_name[NKINDS] = {
	[K_VALID] = "well-formed requests",
	[K_CMD] = "every command number 0-255",
	[K_MISSING] = "missing required attribute",
	[K_DUP] = "duplicated attributes",
	[K_TRUNC] = "truncated attribute or message",
	[K_OVERSIZE] = "oversized attributes or attribute count",
	[K_WRONGLEN] = "wrongly typed (sized) attributes",
	[K_NESTED] = "wrongly nested attributes",
	[K_VALUES] = "huge and negative values",
	[K_NLFLAGS] = "random netlink flags",
	[K_GENLHDR] = "bad genl header (version, reserved, short)",
	[K_MUTATE] = "random byte mutations of valid messages",
	[K_BATCH] = "several messages in one datagram",
	[K_ALLOCFAIL] = "well-formed, with fail_pct allocation failures",
	[K_DUMP_ABANDON] = "dumps abandoned halfway (socket closed)",
	[K_UNPRIV] = "from an unprivileged caller (nobody)",
};

struct stats {
	unsigned long sent[NKINDS];
	unsigned long replies;
	unsigned long acks;
	unsigned long data;
	unsigned long err[256];
	unsigned long unpriv_ok;
};

static struct stats stats;
static uint64_t rng;
static int family;
static pid_t targets[NTARGETS];
static pid_t many_target;
static uint32_t seq = 1;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

static uint32_t rndn(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

/* ------------------------------------------------------------------ */
/* message building                                                   */
/* ------------------------------------------------------------------ */

#define BUF_SIZE 65536

struct msg {
	char buf[BUF_SIZE] __attribute__((aligned(8)));
	size_t len;
};

static struct nlmsghdr *msg_nlh(struct msg *m)
{
	return (struct nlmsghdr *)m->buf;
}

static struct genlmsghdr *msg_genl(struct msg *m)
{
	return (struct genlmsghdr *)(m->buf + NLMSG_HDRLEN);
}

static void msg_init(struct msg *m, uint8_t cmd, uint16_t flags)
{
	memset(m->buf, 0, NLMSG_HDRLEN + GENL_HDRLEN);
	msg_nlh(m)->nlmsg_type = family;
	msg_nlh(m)->nlmsg_flags = NLM_F_REQUEST | flags;
	msg_nlh(m)->nlmsg_seq = seq++;
	msg_genl(m)->cmd = cmd;
	msg_genl(m)->version = MEMWATCH_GENL_VERSION;
	m->len = NLMSG_HDRLEN + GENL_HDRLEN;
	msg_nlh(m)->nlmsg_len = m->len;
}

/* Append an attribute; returns its offset, or 0 if it does not fit. */
static size_t put(struct msg *m, uint16_t type, const void *data, size_t len)
{
	size_t off = m->len, total = NLA_HDRLEN + NLA_ALIGN(len);
	struct nlattr *a;

	if (len > 0xffff - NLA_HDRLEN || off + total > BUF_SIZE - 64)
		return 0;
	a = (struct nlattr *)(m->buf + off);
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (data)
		memcpy(m->buf + off + NLA_HDRLEN, data, len);
	memset(m->buf + off + NLA_HDRLEN + len, 0, NLA_ALIGN(len) - len);
	m->len += total;
	msg_nlh(m)->nlmsg_len = m->len;
	return off;
}

static void put_u32(struct msg *m, uint16_t type, uint32_t v)
{
	put(m, type, &v, sizeof(v));
}

static void put_u64(struct msg *m, uint16_t type, uint64_t v)
{
	put(m, type, &v, sizeof(v));
}

/* Start a nest; nest_end() fixes its length. */
static size_t nest_start(struct msg *m, uint16_t type)
{
	return put(m, type | NLA_F_NESTED, NULL, 0);
}

static void nest_end(struct msg *m, size_t off)
{
	if (off)
		((struct nlattr *)(m->buf + off))->nla_len = m->len - off;
}

static uint32_t target_pid(void)
{
	if (rndn(8) == 0)
		return many_target;
	return targets[rndn(NTARGETS)];
}

/* A pid value: mostly our targets, sometimes anything at all. */
static uint32_t some_pid(void)
{
	static const uint32_t odd[] = {
		0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe,
		4194304, 4194305, 65536,
	};

	switch (rndn(6)) {
	case 0:
		return odd[rndn(sizeof(odd) / sizeof(odd[0]))];
	case 1:
		return (uint32_t)rnd() | 0x400000;	/* past pid_max */
	case 2:
		return getpid();
	default:
		return target_pid();
	}
}

/* pid 1 is init: never watched by accident (FOLLOW_FORKS would follow it) */
static uint32_t safe_pid(uint32_t pid)
{
	return pid == 1 ? 0 : pid;
}

static uint32_t some_value(void)
{
	static const uint32_t odd[] = {
		0, 1, 2, 3, 4, 0x7fffffff, 0x80000000, 0xffffffff, 0x100,
		0xffff, 0x10000,
	};

	if (rndn(2))
		return odd[rndn(sizeof(odd) / sizeof(odd[0]))];
	return (uint32_t)rnd();
}

static uint16_t dump_or_ack(uint8_t cmd)
{
	if (cmd == MEMWATCH_CMD_GET_WATCHES || cmd == MEMWATCH_CMD_GET_REGIONS)
		return NLM_F_DUMP | NLM_F_ACK;
	return NLM_F_ACK;
}

/* The attribute that names a pid for @cmd (GET_REGIONS has its own set). */
static uint16_t pid_attr(uint8_t cmd)
{
	return cmd == MEMWATCH_CMD_GET_REGIONS ? MEMWATCH_A_REGION_PID :
						 MEMWATCH_A_WATCH_PID;
}

static uint8_t some_cmd(void)
{
	return 1 + rndn(MEMWATCH_CMD_MAX);
}

/* A well-formed request of a random command. */
static void build_valid(struct msg *m)
{
	uint8_t cmd = some_cmd();

	if (cmd == MEMWATCH_CMD_EVENT)
		cmd = MEMWATCH_CMD_GET_STATUS;
	msg_init(m, cmd, dump_or_ack(cmd));
	switch (cmd) {
	case MEMWATCH_CMD_WATCH:
		put_u32(m, MEMWATCH_A_WATCH_PID, target_pid());
		if (rndn(2))
			put_u32(m, MEMWATCH_A_WATCH_FLAGS,
				rndn(__MEMWATCH_WATCH_F_ALL + 1));
		break;
	case MEMWATCH_CMD_UNWATCH:
	case MEMWATCH_CMD_GET_REGIONS:
		put_u32(m, pid_attr(cmd), target_pid());
		break;
	case MEMWATCH_CMD_GET_WATCHES:
		if (rndn(2))
			put_u32(m, MEMWATCH_A_WATCH_PID, target_pid());
		break;
	}
}

/* A random attribute: any type, any small length, plausible contents. */
static void put_random_attr(struct msg *m)
{
	uint16_t type = rndn(4) ? rndn(MEMWATCH_A_REGION_MAX + 3) :
				  (uint16_t)rnd();
	uint8_t data[16];
	size_t len = rndn(3) ? 4 : rndn(sizeof(data) + 1);
	uint32_t v = some_value();
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)rnd();
	if (len >= 4)
		memcpy(data, &v, 4);
	put(m, type, data, len);
}

static void build_cmd(struct msg *m, unsigned long n)
{
	uint8_t cmd = (uint8_t)n;	/* cycles through all 256 in order */
	int i, na = rndn(3);
	static const uint16_t fl[] = { NLM_F_ACK, NLM_F_DUMP | NLM_F_ACK,
				       NLM_F_DUMP, 0, NLM_F_ACK | NLM_F_ROOT };

	msg_init(m, cmd, fl[rndn(sizeof(fl) / sizeof(fl[0]))]);
	if (rndn(2))
		put_u32(m, rndn(2) ? MEMWATCH_A_WATCH_PID : MEMWATCH_A_WATCH_FLAGS,
			safe_pid(some_pid()));
	for (i = 0; i < na; i++)
		put_random_attr(m);
}

static void build_missing(struct msg *m)
{
	static const uint8_t cmds[] = { MEMWATCH_CMD_WATCH, MEMWATCH_CMD_UNWATCH,
					MEMWATCH_CMD_GET_REGIONS };
	uint8_t cmd = cmds[rndn(3)];

	msg_init(m, cmd, dump_or_ack(cmd));
	switch (rndn(3)) {
	case 0:
		break;
	case 1:
		put_u32(m, MEMWATCH_A_WATCH_FLAGS, rndn(4));
		break;
	default:
		/* the other set's pid attribute number, or an empty one */
		if (cmd == MEMWATCH_CMD_GET_REGIONS)
			put_u32(m, MEMWATCH_A_REGION_ID, target_pid());
		else
			put(m, MEMWATCH_A_WATCH_PID, NULL, 0);
	}
}

static void build_dup(struct msg *m)
{
	uint8_t cmd = some_cmd();
	int i, n = 2 + rndn(6);

	msg_init(m, cmd, dump_or_ack(cmd));
	for (i = 0; i < n; i++) {
		if (rndn(3))
			put_u32(m, pid_attr(cmd), safe_pid(some_pid()));
		else
			put_u32(m, MEMWATCH_A_WATCH_FLAGS, rndn(4));
	}
}

static void build_trunc(struct msg *m)
{
	uint8_t cmd = some_cmd();
	struct nlattr *a;
	size_t off;

	msg_init(m, cmd, dump_or_ack(cmd));
	off = put(m, pid_attr(cmd), NULL, 4);
	*(uint32_t *)(m->buf + off + NLA_HDRLEN) = target_pid();
	a = (struct nlattr *)(m->buf + off);
	switch (rndn(5)) {
	case 0:			/* attribute claims more than the message has */
		a->nla_len = 8 + 1 + rndn(64);
		break;
	case 1:			/* attribute shorter than its own header */
		a->nla_len = rndn(NLA_HDRLEN);
		break;
	case 2:			/* message ends inside the attribute header */
		m->len = off + 1 + rndn(NLA_HDRLEN - 1);
		msg_nlh(m)->nlmsg_len = m->len;
		break;
	case 3:			/* message ends inside the payload */
		m->len = off + NLA_HDRLEN + 1 + rndn(3);
		msg_nlh(m)->nlmsg_len = m->len;
		break;
	default:		/* nlmsg_len larger than the datagram */
		msg_nlh(m)->nlmsg_len = m->len + 4 + rndn(256);
		break;
	}
}

static void build_oversize(struct msg *m)
{
	uint8_t cmd = some_cmd();
	static char big[16384];
	size_t len;
	int i, n;

	msg_init(m, cmd, dump_or_ack(cmd));
	switch (rndn(3)) {
	case 0:			/* one huge attribute of a known type */
		len = 5 + rndn(sizeof(big) - 5);
		memset(big, 'A' + rndn(26), len);
		memcpy(big, &(uint32_t){ target_pid() }, 4);
		put(m, rndn(2) ? pid_attr(cmd) : MEMWATCH_A_WATCH_COMM, big, len);
		break;
	case 1:			/* very many attributes */
		n = 200 + rndn(2000);
		for (i = 0; i < n; i++)
			put_u32(m, 1 + rndn(MEMWATCH_A_WATCH_MAX), some_value());
		break;
	default:		/* a valid attribute, then a huge unknown one */
		put_u32(m, pid_attr(cmd), target_pid());
		len = 1 + rndn(sizeof(big));
		memset(big, 0xff, len);
		put(m, MEMWATCH_A_WATCH_MAX + 1 + rndn(100), big, len);
		break;
	}
}

static void build_wronglen(struct msg *m)
{
	static const size_t lens[] = { 0, 1, 2, 3, 5, 6, 7, 8, 12, 16, 64 };
	uint8_t cmd = some_cmd();
	uint8_t data[64];
	uint32_t p = target_pid();
	uint16_t type;
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)rnd();
	memcpy(data, &p, sizeof(p));
	msg_init(m, cmd, dump_or_ack(cmd));
	type = rndn(3) ? pid_attr(cmd) :
	       (uint16_t)(1 + rndn(MEMWATCH_A_WATCH_MAX));
	if (type != pid_attr(cmd) && rndn(2))
		put_u32(m, pid_attr(cmd), target_pid());
	put(m, type, data, lens[rndn(sizeof(lens) / sizeof(lens[0]))]);
}

static void build_nested(struct msg *m)
{
	uint8_t cmd = some_cmd();
	size_t nests[16];
	int depth, i;

	msg_init(m, cmd, dump_or_ack(cmd));
	switch (rndn(4)) {
	case 0:			/* the pid inside a nest of its own type */
		nests[0] = nest_start(m, pid_attr(cmd));
		put_u32(m, pid_attr(cmd), target_pid());
		nest_end(m, nests[0]);
		break;
	case 1:			/* deep nests of reply-only nested types */
		depth = 1 + rndn(16);
		for (i = 0; i < depth; i++)
			nests[i] = nest_start(m, rndn(2) ? MEMWATCH_A_REGION_THREAD :
						 MEMWATCH_A_REGION_EXTENT);
		put_u64(m, MEMWATCH_A_EXTENT_START, rnd());
		for (i = depth - 1; i >= 0; i--)
			nest_end(m, nests[i]);
		break;
	case 2:			/* the nested or byte-order flag on a u32 */
		put_u32(m, pid_attr(cmd) |
			(rndn(2) ? NLA_F_NESTED : NLA_F_NET_BYTEORDER),
			target_pid());
		break;
	default:		/* a nest whose length runs past its parent */
		nests[0] = nest_start(m, MEMWATCH_A_STATUS_PROBE);
		nests[1] = nest_start(m, MEMWATCH_A_PROBE_SYMBOL);
		put(m, 1, "kprobe", 7);
		nest_end(m, nests[1]);
		nest_end(m, nests[0]);
		((struct nlattr *)(m->buf + nests[1]))->nla_len += 4 + rndn(64);
		break;
	}
}

static void build_values(struct msg *m)
{
	uint8_t cmd = some_cmd();

	msg_init(m, cmd, dump_or_ack(cmd));
	put_u32(m, pid_attr(cmd), safe_pid(rndn(2) ? some_value() : some_pid()));
	if (cmd == MEMWATCH_CMD_WATCH || rndn(4) == 0)
		put_u32(m, MEMWATCH_A_WATCH_FLAGS, rndn(2) ? some_value() :
			1U << rndn(32));
}

static void build_nlflags(struct msg *m)
{
	build_valid(m);
	msg_nlh(m)->nlmsg_flags = (uint16_t)rnd() | (rndn(8) ? NLM_F_REQUEST : 0);
	if (rndn(4) == 0)
		msg_nlh(m)->nlmsg_pid = (uint32_t)rnd();
}

static void build_genlhdr(struct msg *m)
{
	static const uint8_t vers[] = { 0, 2, 3, 0x7f, 0xff };

	build_valid(m);
	switch (rndn(4)) {
	case 0:
		msg_genl(m)->version = vers[rndn(sizeof(vers))];
		break;
	case 1:
		msg_genl(m)->reserved = 1 + rndn(0xffff);
		break;
	case 2:			/* no room for the genl header */
		m->len = NLMSG_HDRLEN + rndn(GENL_HDRLEN);
		msg_nlh(m)->nlmsg_len = m->len;
		break;
	default:		/* nlmsg_len shorter than what follows */
		msg_nlh(m)->nlmsg_len = NLMSG_HDRLEN + rndn(GENL_HDRLEN + 8);
		break;
	}
}

static void build_mutate(struct msg *m)
{
	int i, n = 1 + rndn(8);

	build_valid(m);
	if (rndn(2))
		put_u32(m, MEMWATCH_A_WATCH_FLAGS, rndn(4));
	for (i = 0; i < n; i++) {
		/* anywhere after nlmsg_len and nlmsg_type: it stays ours */
		size_t at = 6 + rndn(m->len - 6);

		m->buf[at] ^= (char)(1 + rndn(255));
	}
}

/* Up to five messages back to back in one datagram. */
static void build_batch(struct msg *m)
{
	static struct msg one;
	int i, n = 2 + rndn(4);

	m->len = 0;
	for (i = 0; i < n; i++) {
		switch (rndn(3)) {
		case 0:
			build_valid(&one);
			break;
		case 1:
			build_values(&one);
			break;
		default:
			build_wronglen(&one);
			break;
		}
		/* the last one may lie about its length */
		if (i == n - 1 && rndn(4) == 0)
			msg_nlh(&one)->nlmsg_len += 4 + rndn(64);
		memcpy(m->buf + m->len, one.buf, NLMSG_ALIGN(one.len));
		m->len += NLMSG_ALIGN(one.len);
	}
}

static void build(struct msg *m, enum kind k, unsigned long n)
{
	switch (k) {
	case K_CMD: build_cmd(m, n); break;
	case K_MISSING: build_missing(m); break;
	case K_DUP: build_dup(m); break;
	case K_TRUNC: build_trunc(m); break;
	case K_OVERSIZE: build_oversize(m); break;
	case K_WRONGLEN: build_wronglen(m); break;
	case K_NESTED: build_nested(m); break;
	case K_VALUES: build_values(m); break;
	case K_NLFLAGS: build_nlflags(m); break;
	case K_GENLHDR: build_genlhdr(m); break;
	case K_MUTATE: build_mutate(m); break;
	case K_BATCH: build_batch(m); break;
	default: build_valid(m); break;
	}
}

/* ------------------------------------------------------------------ */
/* sockets                                                            */
/* ------------------------------------------------------------------ */

static int sock_open(int rcvbuf)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int one = 1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return fd;
}

static int send_msg(int fd, const struct msg *m)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	return sendto(fd, m->buf, m->len, 0, (struct sockaddr *)&sa,
		      sizeof(sa)) < 0 ? -errno : 0;
}

/*
 * Read every reply that is queued now; reading continues a running dump, so
 * this returns once nothing more comes. Counts into @st.
 */
static void drain(int fd, struct stats *st)
{
	static char rbuf[65536] __attribute__((aligned(8)));

	for (;;) {
		ssize_t n = recv(fd, rbuf, sizeof(rbuf), MSG_DONTWAIT);
		struct nlmsghdr *nlh;
		int len;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			st->err[ENOBUFS]++;
			continue;
		}
		if (n <= 0)
			return;
		len = (int)n;
		for (nlh = (struct nlmsghdr *)rbuf; NLMSG_OK(nlh, len);
		     nlh = NLMSG_NEXT(nlh, len)) {
			int e;

			st->replies++;
			if (nlh->nlmsg_type == NLMSG_ERROR ||
			    nlh->nlmsg_type == NLMSG_DONE) {
				if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(int))
					continue;
				memcpy(&e, NLMSG_DATA(nlh), sizeof(e));
				if (e == 0 && nlh->nlmsg_type == NLMSG_ERROR)
					st->acks++;
				else if (e < 0 && -e < 256)
					st->err[-e]++;
			} else {
				st->data++;
			}
		}
	}
}

/* ------------------------------------------------------------------ */
/* targets and the status                                             */
/* ------------------------------------------------------------------ */

/* An idle child with MANY_REGIONS separate anonymous mappings. */
static pid_t spawn_many(void)
{
	int fds[2];
	char c = 0;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		long page = sysconf(_SC_PAGESIZE);
		int i;

		close(fds[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (i = 0; i < MANY_REGIONS; i++) {
			/* alternate protections so that no two merge */
			char *p = mmap(NULL, page, i % 2 ? PROT_READ :
				       PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED)
				_exit(1);
			if (i % 2 == 0)
				*p = 1;
		}
		if (write(fds[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	if (pid < 0 || read(fds[0], &c, 1) != 1) {
		close(fds[0]);
		mw_kill_reap(pid);
		return -1;
	}
	close(fds[0]);
	return pid;
}

static int write_param(const char *name, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	return mw_write_file(path, val);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Start a dump on a fresh socket, read at most one datagram, close it. */
static void dump_abandon(struct msg *m)
{
	int fd = sock_open(rndn(2) ? 1 : 4096);
	static char rbuf[8192];

	if (fd < 0)
		return;
	if (rndn(2)) {
		msg_init(m, MEMWATCH_CMD_GET_REGIONS, NLM_F_DUMP | NLM_F_ACK);
		put_u32(m, MEMWATCH_A_REGION_PID,
			rndn(4) ? (uint32_t)many_target : target_pid());
	} else {
		msg_init(m, MEMWATCH_CMD_GET_WATCHES, NLM_F_DUMP | NLM_F_ACK);
	}
	send_msg(fd, m);
	if (rndn(2))
		recv(fd, rbuf, sizeof(rbuf), MSG_DONTWAIT);
	close(fd);
}

/*
 * The unprivileged part: a child that drops to nobody with no capabilities
 * and sends @n messages of the generated kinds. Every reply must be an
 * error: a data message or a zero ack would mean a command ran.
 */
static int run_unpriv(unsigned long n, struct stats *out)
{
	struct stats *sh;
	pid_t pid;
	int status;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -errno;
	memset(sh, 0, sizeof(*sh));
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		static struct msg m;
		unsigned long i;
		int fd;

		if (mw_drop_privs(MW_UNPRIV_ID, MW_UNPRIV_ID, 0))
			_exit(2);
		fd = sock_open(0);
		if (fd < 0)
			_exit(3);
		for (i = 0; i < n; i++) {
			enum kind k = (enum kind)rndn(K_BATCH + 1);

			build(&m, k, i);
			/* only requests that ask for an answer can be checked */
			msg_nlh(&m)->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
			send_msg(fd, &m);
			drain(fd, sh);
		}
		close(fd);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	out->replies += sh->replies;
	out->unpriv_ok = sh->acks + sh->data;
	memcpy(out->err, sh->err, sizeof(out->err));
	munmap(sh, sizeof(*sh));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return -ECHILD;
	return 0;
}

/* The errnos include/uapi/linux/memwatch.h gives a meaning to. */
static bool documented(int e)
{
	return e == EPERM || e == EINVAL || e == EOPNOTSUPP || e == ESRCH ||
	       e == ENOENT || e == EEXIST || e == ENOSPC || e == ENOMEM ||
	       e == EAGAIN || e == ERANGE || e == EBUSY;
}

static void print_errs(const char *who, const struct stats *st)
{
	int e;

	for (e = 1; e < 256; e++)
		if (st->err[e])
			ksft_print_msg("%s: %lu error replies %s (%d)%s\n", who,
				       st->err[e], strerror(e), e,
				       documented(e) ? "" :
				       ", not an errno the UAPI header lists");
}

static uint32_t before_pids[256];
static int nbefore;

static void note_before(struct mw_nl *nl)
{
	struct mw_watches ws;
	int i;

	if (mw_get_watches(nl, 0, &ws))
		return;
	for (i = 0; i < ws.n && nbefore < 256; i++)
		before_pids[nbefore++] = ws.w[i].pid;
	mw_watches_free(&ws);
}

static bool is_ours(uint32_t pid)
{
	int j;

	for (j = 0; j < NTARGETS; j++)
		if (pid == (uint32_t)targets[j])
			return true;
	return pid == (uint32_t)many_target || pid == (uint32_t)getpid();
}

/*
 * Unwatch every watch the fuzzing left behind: mutated values may name any
 * process, so anything not watched before the run is ours.
 */
static int cleanup_watches(struct mw_nl *nl)
{
	struct mw_watches ws;
	int i, j, round, ret;

	for (round = 0; round < 10; round++) {
		bool again = false;

		ret = mw_get_watches(nl, 0, &ws);
		if (ret == -EINTR)
			continue;
		if (ret)
			return ret;
		for (i = 0; i < ws.n; i++) {
			bool before = false;

			for (j = 0; j < nbefore; j++)
				before |= ws.w[i].pid == before_pids[j];
			if (before || !ws.w[i].pid)
				continue;
			if (!is_ours(ws.w[i].pid))
				ksft_print_msg("unwatching pid %u (%s), watched by a generated message\n",
					       ws.w[i].pid, ws.w[i].comm);
			mw_unwatch(nl, ws.w[i].pid);
			again = true;
		}
		mw_watches_free(&ws);
		if (!again)
			return 0;
	}
	return -EINTR;
}

int main(void)
{
	unsigned long count = DEFAULT_COUNT, i, n_unpriv, n_abandon, n_fail;
	struct mw_status st0, st1;
	struct stats unpriv = { 0 };
	static struct msg m;
	double t0, t1;
	const char *env;
	struct mw_nl nl;
	uint64_t seed = DEFAULT_SEED;
	int fd, ret, j, fail_pct_ok;

	ksft_print_header();
	ksft_set_plan(6);

	env = getenv("MEMWATCH_FUZZ_SEED");
	if (env && *env)
		seed = strtoull(env, NULL, 0);
	env = getenv("MEMWATCH_FUZZ_COUNT");
	if (env && *env)
		count = strtoul(env, NULL, 0);
	rng = seed ? seed : 1;
	ksft_print_msg("seed 0x%llx (MEMWATCH_FUZZ_SEED), %lu messages (MEMWATCH_FUZZ_COUNT)\n",
		       (unsigned long long)seed, count);

	if (geteuid() != 0)
		ksft_exit_skip("needs root\n");
	ret = mw_nl_open(&nl);
	if (ret == -ENOENT)
		ksft_exit_skip("family %s absent: module not loaded\n",
			       MEMWATCH_GENL_NAME);
	if (ret)
		ksft_exit_fail_msg("cannot open a genl socket: %s\n",
				   strerror(-ret));
	family = nl.family;

	for (j = 0; j < NTARGETS; j++) {
		targets[j] = mw_spawn_idle();
		if (targets[j] < 0)
			ksft_exit_fail_msg("fork: %s\n", strerror(errno));
	}
	many_target = spawn_many();
	if (many_target < 0)
		ksft_exit_fail_msg("cannot start the target with %d regions\n",
				   MANY_REGIONS);

	ret = mw_get_status(&nl, &st0);
	if (ret)
		ksft_exit_fail_msg("GET_STATUS: %s\n", nl.msg);
	ksft_print_msg("before: %u watches, %llu bytes held, %llu regions\n",
		       st0.watches, (unsigned long long)st0.mem_bytes,
		       (unsigned long long)st0.regions);
	note_before(&nl);
	/* the many-regions target stays watched so that its dumps are long */
	mw_watch(&nl, many_target, 0, NULL);

	fd = sock_open(1 << 20);
	if (fd < 0)
		ksft_exit_fail_msg("socket: %s\n", strerror(errno));

	/*
	 * Shares: unprivileged 5%, abandoned dumps 1%, allocation failures
	 * 4%, the rest spread over the generated kinds.
	 */
	n_unpriv = count / 20;
	n_abandon = count / 100;
	fail_pct_ok = write_param("fail_pct", "0") == 0;
	n_fail = fail_pct_ok ? count / 25 : 0;

	t0 = now_s();
	for (i = 0; i < count - n_unpriv - n_abandon - n_fail; i++) {
		enum kind k = (enum kind)rndn(K_BATCH + 1);

		build(&m, k, stats.sent[K_CMD]);
		if (send_msg(fd, &m) == 0)
			stats.sent[k]++;
		drain(fd, &stats);
		if (i % 97 == 0 && n_abandon) {
			dump_abandon(&m);
			stats.sent[K_DUMP_ABANDON]++;
			n_abandon--;
		}
	}
	for (; n_abandon; n_abandon--) {
		dump_abandon(&m);
		stats.sent[K_DUMP_ABANDON]++;
	}
	if (n_fail) {
		write_param("fail_pct", "30");
		for (i = 0; i < n_fail; i++) {
			build(&m, rndn(2) ? K_VALID : K_DUP, i);
			if (send_msg(fd, &m) == 0)
				stats.sent[K_ALLOCFAIL]++;
			drain(fd, &stats);
		}
		write_param("fail_pct", "0");
	}
	drain(fd, &stats);
	close(fd);

	ret = run_unpriv(n_unpriv, &unpriv);
	stats.sent[K_UNPRIV] = n_unpriv;
	t1 = now_s();

	{
		unsigned long total = 0;
		int k;

		for (k = 0; k < NKINDS; k++) {
			ksft_print_msg("sent %7lu  %s\n", stats.sent[k],
				       kind_name[k]);
			total += stats.sent[k];
		}
		ksft_print_msg("sent %7lu  in all, in %.1f s (%.0f us each)\n",
			       total, t1 - t0, (t1 - t0) * 1e6 / (total ?: 1));
		ksft_print_msg("root: %lu replies: %lu acks, %lu data messages\n",
			       stats.replies, stats.acks, stats.data);
		print_errs("root", &stats);
		print_errs("nobody", &unpriv);
		if (total >= 100000 || count < 100000)
			ksft_test_result_pass("sent %lu messages\n", total);
		else
			ksft_test_result_fail("sent only %lu messages\n", total);
	}

	if (ret == 0 && unpriv.unpriv_ok == 0 && unpriv.err[EPERM])
		ksft_test_result_pass("unprivileged caller: every request refused (%lu EPERM)\n",
				      unpriv.err[EPERM]);
	else
		ksft_test_result_fail("unprivileged caller: %s, %lu requests succeeded, %lu EPERM\n",
				      ret ? strerror(-ret) : "ran",
				      unpriv.unpriv_ok, unpriv.err[EPERM]);

	/* the module still answers */
	ret = mw_get_status(&nl, &st1);
	if (ret == 0 && (st1.present & MW_PRESENT(MEMWATCH_A_STATUS_VERSION)) &&
	    st1.version == MEMWATCH_GENL_VERSION)
		ksft_test_result_pass("GET_STATUS still answers\n");
	else
		ksft_test_result_fail("GET_STATUS after fuzzing: %d %s\n", ret,
				      nl.msg);

	{
		struct mw_watch w;
		struct mw_regions rs;
		bool ok;

		mw_unwatch(&nl, targets[0]);
		ret = mw_watch(&nl, targets[0], 0, &w);
		ok = ret == 0 && w.pid == (uint32_t)targets[0] &&
		     w.state == MEMWATCH_WATCH_STATE_LIVE;
		/*
		 * many_target was watched while allocations were made to fail
		 * (fail_pct): its regions were dropped, as designed. Watch it
		 * afresh to see the module whole again.
		 */
		if (ok) {
			mw_unwatch(&nl, many_target);
			ok = mw_watch(&nl, many_target, 0, NULL) == 0;
		}
		if (ok)
			ok = mw_get_regions(&nl, many_target, &rs) == 0;
		if (ok) {
			ok = rs.n >= MANY_REGIONS / 2;
			if (!ok)
				ksft_print_msg("%d regions of the target with %d mappings\n",
					       rs.n, MANY_REGIONS);
			mw_regions_free(&rs);
		}
		if (ok)
			ksft_test_result_pass("WATCH and GET_REGIONS round trip\n");
		else
			ksft_test_result_fail("WATCH/GET_REGIONS after fuzzing: %d %s\n",
					      ret, nl.msg);
	}

	/* memory and watches back where they were */
	ret = cleanup_watches(&nl);
	if (ret)
		ksft_print_msg("cleanup: %s\n", strerror(-ret));
	for (j = 0; j < 50; j++) {
		mw_status_free(&st1);
		if (mw_get_status(&nl, &st1))
			break;
		if (st1.watches == st0.watches &&
		    st1.mem_bytes == st0.mem_bytes)
			break;
		usleep(100000);
	}
	ksft_print_msg("after: %u watches, %llu bytes held, %llu regions\n",
		       st1.watches, (unsigned long long)st1.mem_bytes,
		       (unsigned long long)st1.regions);
	if (st1.watches == st0.watches)
		ksft_test_result_pass("watch count back to %u\n", st0.watches);
	else
		ksft_test_result_fail("watch count %u, was %u\n", st1.watches,
				      st0.watches);
	if (st1.mem_bytes == st0.mem_bytes && st1.regions == st0.regions)
		ksft_test_result_pass("memory held back to %llu bytes\n",
				      (unsigned long long)st0.mem_bytes);
	else
		ksft_test_result_fail("memory held %llu bytes, was %llu\n",
				      (unsigned long long)st1.mem_bytes,
				      (unsigned long long)st0.mem_bytes);

	mw_status_free(&st0);
	mw_status_free(&st1);
	for (j = 0; j < NTARGETS; j++)
		mw_kill_reap(targets[j]);
	mw_kill_reap(many_target);
	mw_nl_close(&nl);
	ksft_finished();
	return 0;
}

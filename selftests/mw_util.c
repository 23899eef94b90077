// SPDX-License-Identifier: GPL-2.0
/*
 * Process helpers shared by the memwatch selftests (see mw_util.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>

#include "mw_util.h"

/*
 * A process that does nothing until killed: a target with an address space
 * whose pid the caller owns. It dies with the caller.
 */
pid_t mw_spawn_idle(void)
{
	pid_t parent = getpid(), pid;
	int fds[2];
	char c = 0;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		if (write(fds[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	if (read(fds[0], &c, 1) != 1) {
		close(fds[0]);
		mw_kill_reap(pid);
		return -1;
	}
	close(fds[0]);
	return pid;
}

void mw_kill_reap(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* A pid that belonged to a process which has exited and been reaped. */
pid_t mw_reaped_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return pid;
}

/*
 * Become @uid/@gid with no supplementary groups and exactly the capabilities
 * in @caps (permitted and effective; nothing inheritable or ambient).
 */
int mw_drop_privs(uid_t uid, gid_t gid, uint64_t caps)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (setgroups(0, NULL))
		return -errno;
	if (prctl(PR_SET_KEEPCAPS, caps ? 1 : 0, 0, 0, 0))
		return -errno;
	if (setresgid(gid, gid, gid))
		return -errno;
	if (setresuid(uid, uid, uid))
		return -errno;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);

	memset(data, 0, sizeof(data));
	data[0].permitted = data[0].effective = (uint32_t)caps;
	data[1].permitted = data[1].effective = (uint32_t)(caps >> 32);
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0))
		return -errno;
	return 0;
}

int mw_read_file(const char *path, char *buf, size_t size)
{
	ssize_t n, total = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)total < size - 1) {
		n = read(fd, buf + total, size - 1 - total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
		if (n == 0)
			break;
		total += n;
	}
	close(fd);
	buf[total] = '\0';
	return total;
}

int mw_write_file(const char *path, const char *s)
{
	size_t len = strlen(s);
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, s, len) != (ssize_t)len)
		ret = -errno ?: -EIO;
	close(fd);
	return ret;
}

int mw_comm(pid_t pid, char *buf, size_t size)
{
	char path[64];
	int n;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	n = mw_read_file(path, buf, size);
	if (n < 0)
		return n;
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

/* The state letter of /proc/PID[/task/TID]/stat, or 0. */
static char stat_state(const char *path)
{
	char buf[512], *p;

	if (mw_read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	return p[2];
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * Wait until every thread of @pid sleeps (blocked in a pipe read, futex
 * wait...): the process is at rest and its memory does not change.
 */
int mw_wait_at_rest(pid_t pid, int timeout_ms)
{
	char path[64];
	int waited;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	for (waited = 0; waited <= timeout_ms; waited++) {
		bool busy = false;
		struct dirent *de;
		DIR *d = opendir(path);

		if (!d)
			return -errno;
		while ((de = readdir(d))) {
			char sp[384];
			char s;

			if (de->d_name[0] == '.')
				continue;
			snprintf(sp, sizeof(sp), "%s/%s/stat", path,
				 de->d_name);
			s = stat_state(sp);
			if (s != 'S' && s != 'T' && s != 't' && s != 'Z' &&
			    s != 0)
				busy = true;
		}
		closedir(d);
		if (!busy)
			return 0;
		sleep_ms(1);
	}
	return -ETIMEDOUT;
}

/* Wait until @pid has exited (a zombie, not reaped) or is gone. */
int mw_wait_exited(pid_t pid, int timeout_ms)
{
	char path[64];
	int waited;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	for (waited = 0; waited <= timeout_ms; waited++) {
		char s = stat_state(path);

		if (s == 'Z' || s == 'X' || s == 0)
			return 0;
		sleep_ms(1);
	}
	return -ETIMEDOUT;
}

/* mm->start_brk of @pid (0: the caller): field 47 of /proc/PID/stat, or 0 */
uint64_t mw_start_brk(pid_t pid)
{
	char path[64], buf[2048], *p, *tok, *save;
	int field = 3;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/stat");
	if (mw_read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	for (tok = strtok_r(p + 1, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save), field++)
		if (field == 47)
			return strtoull(tok, NULL, 10);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * run: start a command watched from its first instruction, and report on it
 * when it ends. The child waits on a pipe until the watch exists, then
 * execs: memwatch follows the process across the exec, so the regions the
 * loader makes and the very first mmap of the program are seen. "record"
 * starts its command the same way (child_start()).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/memwatch.h>

#include "memwatchctl.h"
#include "nl.h"

static volatile sig_atomic_t forward_pid;
static volatile sig_atomic_t got_signal;

/*
 * SIGINT and SIGTERM go on to the command. A signal the terminal sent
 * (si_code SI_KERNEL: Ctrl-C, Ctrl-\) went to the whole foreground process
 * group, the command included, so it is not sent twice.
 */
static void forward_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got_signal = sig;
	if (forward_pid > 0 && si->si_code != SI_KERNEL)
		kill(forward_pid, sig);
}

void child_forward_signals(pid_t pid)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa;
	size_t i;

	forward_pid = pid;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = forward_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

int child_signal_seen(void)
{
	return got_signal;
}

static void restore_signal_defaults(void)
{
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
}

static int read_full(int fd, void *buf, size_t len)
{
	ssize_t n;

	do {
		n = read(fd, buf, len);
	} while (n < 0 && errno == EINTR);
	return (int)n;
}

/*
 * Fork argv[0], watch the child with flags, then let it exec. Returns 0
 * with *pid set once the exec has succeeded; -errno if the watch failed
 * (the child is killed); CMD_RET_FAILED if the command could not be
 * executed (said on stderr).
 */
int child_start(char **argv, uint32_t flags, bool send_flags, pid_t *pid)
{
	int go[2], err[2], child_errno = 0, ret;
	struct mw_watch w;
	pid_t p;

	if (pipe2(go, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
		return -errno;
	/* Nothing buffered may be written twice, by both processes. */
	fflush(stdout);
	fflush(stderr);
	p = fork();
	if (p < 0) {
		ret = -errno;
		close(go[0]);
		close(go[1]);
		close(err[0]);
		close(err[1]);
		return ret;
	}
	if (p == 0) {
		char c;

		close(go[1]);
		close(err[0]);
		restore_signal_defaults();
		/* EOF instead of a byte: memwatchctl gave up. */
		if (read_full(go[0], &c, 1) != 1)
			_exit(127);
		close(go[0]);
		execvp(argv[0], argv);
		child_errno = errno;
		if (write(err[1], &child_errno, sizeof(child_errno)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(err[1]);

	ret = mw_watch((uint32_t)p, flags, send_flags, &w);
	if (ret) {
		close(go[1]);
		close(err[0]);
		kill(p, SIGKILL);
		waitpid(p, NULL, 0);
		return ret;
	}
	child_forward_signals(p);
	if (write(go[1], "g", 1) != 1) {
		ret = -errno;
		close(go[1]);
		close(err[0]);
		kill(p, SIGKILL);
		waitpid(p, NULL, 0);
		mw_unwatch((uint32_t)p);
		return ret;
	}
	close(go[1]);

	/* The error pipe closes on a successful exec (O_CLOEXEC). */
	ret = read_full(err[0], &child_errno, sizeof(child_errno));
	close(err[0]);
	if (ret == (int)sizeof(child_errno)) {
		waitpid(p, NULL, 0);
		/* The watch of a command that never ran has nothing to say. */
		mw_unwatch((uint32_t)p);
		fprintf(stderr, PROG_NAME ": %s: cannot run '%s': %s; check "
			"the command name and PATH\n", mw_cmd, argv[0],
			strerror(child_errno));
		return CMD_RET_FAILED;
	}
	*pid = p;
	return 0;
}

/*
 * Has the child exited? Leaves it a zombie (WNOWAIT), so that its pid
 * still names its exited watch until child_reap(). Returns 1 and its exit
 * status in the shell's sense (128+N if signal N killed it), 0 if it runs.
 */
int child_exited(pid_t pid, int *status)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) ||
	    si.si_pid != pid)
		return 0;
	if (si.si_code == CLD_EXITED)
		*status = si.si_status;
	else
		*status = 128 + si.si_status;
	return 1;
}

void child_reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* The first argument of the command: after "--", or the first non-option. */
static int command_start(int argc, char **argv, int i)
{
	if (!strcmp(argv[i], "--"))
		return i + 1 < argc ? i + 1 : -1;
	return i;
}

#define MAX_PROCS 1024

struct run {
	struct report_opts o;
	const char *out_path;
	bool follow;
	bool no_stacks;
	char **cmd;

	pid_t root;
	uint32_t pids[MAX_PROCS];
	bool done[MAX_PROCS];
	size_t nr;
	size_t lost;		/* descendants past MAX_PROCS */
	bool events_lost;

	FILE *out;		/* -o FILE */
	size_t nr_reported;
	int err;		/* first failure to report a process */
};

static int find_proc(const struct run *r, uint32_t pid)
{
	size_t i;

	for (i = 0; i < r->nr; i++)
		if (r->pids[i] == pid)
			return (int)i;
	return -1;
}

static void add_proc(struct run *r, uint32_t pid)
{
	if (find_proc(r, pid) >= 0)
		return;
	if (r->nr == MAX_PROCS) {
		r->lost++;
		return;
	}
	r->pids[r->nr++] = pid;
}

/* Read one process's report exactly once and print it where asked. */
static void report_proc(struct run *r, size_t idx)
{
	struct report *rep;
	int ret;

	if (r->done[idx])
		return;
	r->done[idx] = true;
	ret = report_fetch(r->pids[idx], &r->o, &rep);
	if (ret) {
		if (!r->err) {
			mw_subject_pid = r->pids[idx];
			report_failure(ret);
			r->err = ret;
		}
		return;
	}
	if (r->nr_reported && r->o.format == REPORT_TABLE)
		fputc('\n', stdout);
	if (r->follow && r->o.format == REPORT_JSON)
		fputs(r->nr_reported ? ",\n" : "{\"processes\": [\n", stdout);
	report_print(rep, stdout, r->o.format);
	if (r->out) {
		if (r->follow)
			fputs(r->nr_reported ? ",\n" : "{\"processes\": [\n",
			      r->out);
		report_print(rep, r->out, REPORT_JSON);
	}
	r->nr_reported++;
	fflush(stdout);
	report_free(rep);
}

static void on_event(const struct mw_event *ev, void *arg)
{
	struct run *r = arg;
	int idx;

	if (ev->type == MEMWATCH_EVENT_FORK && find_proc(r, ev->ppid) >= 0) {
		add_proc(r, ev->pid);
	} else if (ev->type == MEMWATCH_EVENT_EXIT &&
		   ev->pid != (uint32_t)r->root) {
		/*
		 * A descendant's exited watch is read now, while its parent
		 * has probably not reaped it and its pid still names it.
		 */
		idx = find_proc(r, ev->pid);
		if (idx >= 0)
			report_proc(r, (size_t)idx);
	}
}

static void drain_events(struct run *r)
{
	if (mw_events_read(on_event, r) == -ENOBUFS)
		r->events_lost = true;
}

static int parse_run_args(struct run *r, int argc, char **argv)
{
	const char *val;
	int i, ret, start;

	report_opts_init(&r->o);
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!strcmp(arg, "--") || arg[0] != '-') {
			start = command_start(argc, argv, i);
			if (start < 0)
				break;
			r->cmd = argv + start;
			return 0;
		}
		ret = report_option(argc, argv, &i, &r->o);
		if (ret < 0)
			return CMD_RET_USAGE;
		if (ret)
			continue;
		if (!strcmp(arg, "--follow-forks")) {
			r->follow = true;
		} else if (!strcmp(arg, "--no-stacks")) {
			r->no_stacks = true;
		} else if ((ret = fill_every_option(argc, argv, &i))) {
			if (ret < 0)
				return CMD_RET_USAGE;
		} else if ((ret = option_value(argc, argv, &i, "-o", &val)) ||
			   (ret = option_value(argc, argv, &i, "--output",
					       &val))) {
			if (ret < 0)
				return CMD_RET_USAGE;
			r->out_path = val;
		} else {
			return unknown_argument(arg);
		}
	}
	return usage_error("missing the command; usage: " PROG_NAME
			   " run [OPTIONS] -- CMD [ARGS...]");
}

int cmd_run(int argc, char **argv)
{
	static struct run r;
	int status = 0, ret;
	bool exited = false;
	size_t i;

	memset(&r, 0, sizeof(r));
	ret = parse_run_args(&r, argc, argv);
	if (ret)
		return ret;

	if (r.out_path) {
		r.out = fopen(r.out_path, "w");
		if (!r.out) {
			fprintf(stderr, PROG_NAME ": run: cannot write '%s': "
				"%s; give a writable path to -o\n",
				r.out_path, strerror(errno));
			return CMD_RET_FAILED;
		}
	}
	/* Subscribed before the command starts, so no fork is missed. */
	if (r.follow) {
		ret = mw_events_open();
		if (ret)
			goto out;
	}

	ret = child_start(r.cmd,
			  (r.follow ? MEMWATCH_WATCH_F_FOLLOW_FORKS : 0) |
			  (r.no_stacks ? MEMWATCH_WATCH_F_NO_STACKS : 0),
			  r.follow || r.no_stacks, &r.root);
	if (ret)
		goto out;
	mw_subject_pid = (uint32_t)r.root;
	add_proc(&r, (uint32_t)r.root);

	while (!exited) {
		struct pollfd pfd = { .fd = mw_events_fd(), .events = POLLIN };

		/* No SIGCHLD wake-up: a short poll keeps this simple. */
		if (poll(&pfd, r.follow ? 1 : 0, 50) > 0)
			drain_events(&r);
		exited = child_exited(r.root, &status);
	}
	if (r.follow)
		drain_events(&r);

	/* The command first, then its descendants still unreported. */
	report_proc(&r, 0);
	child_reap(r.root);
	for (i = 1; i < r.nr; i++)
		report_proc(&r, i);

	if (r.follow && r.nr_reported && r.o.format == REPORT_JSON)
		fputs("]}\n", stdout);
	if (r.out && r.follow && r.nr_reported)
		fputs("]}\n", r.out);
	if (r.events_lost || r.lost)
		fprintf(stderr, PROG_NAME ": run: warning: some child "
			"processes were missed (events lost); see '"
			PROG_NAME " list'\n");
	/* the command's own status, once its report is out */
	ret = r.err ? CMD_RET_FAILED : status;
out:
	if (r.out && fclose(r.out) && !ret) {
		fprintf(stderr, PROG_NAME ": run: cannot write '%s': %s; give "
			"a writable path to -o\n", r.out_path, strerror(errno));
		ret = CMD_RET_FAILED;
	}
	return ret;
}

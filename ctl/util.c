// SPDX-License-Identifier: GPL-2.0
/*
 * Messages, argument parsing, number formatting, and the sums over a
 * process's regions, shared by the commands. Sizes are binary (K = 1024)
 * and printed with one decimal, in integer arithmetic.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <inttypes.h>

#include <linux/memwatch.h>

#include "memwatchctl.h"
#include "nl.h"

const char *mw_cmd = "status";
uint32_t mw_subject_pid;

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG_NAME ": %s: ", mw_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CMD_RET_USAGE;
}

int unknown_argument(const char *arg)
{
	if (arg[0] == '-')
		return usage_error("unknown option '%s'; see '" PROG_NAME
				   " %s -h'", arg, mw_cmd);
	return usage_error("unexpected argument '%s'; see '" PROG_NAME
			   " %s -h'", arg, mw_cmd);
}

/*
 * One line on stderr for a runtime error: what went wrong, the kernel's
 * own words when it gave some, and what to do about it.
 */
void report_failure(int err)
{
	char problem[160], advice[200];
	const char *ext = mw_nl_extack();
	uint32_t pid = mw_subject_pid;

	advice[0] = '\0';

	if (mw_nl_module_missing()) {
		/* The extack of the controller adds nothing here. */
		fprintf(stderr, PROG_NAME ": %s: memwatch module is not loaded; "
			"load it with: sudo insmod module/memwatch.ko "
			"(or modprobe memwatch)\n", mw_cmd);
		return;
	}

	switch (-err) {
	case EPERM:
	case EACCES:
		snprintf(problem, sizeof(problem), "permission denied");
		snprintf(advice, sizeof(advice),
			 ": run as root (needs CAP_SYS_ADMIN or CAP_PERFMON%s)",
			 pid ? " and ptrace access to the process" : "");
		break;
	case ESRCH:
		snprintf(problem, sizeof(problem), "no process has pid %u",
			 pid);
		snprintf(advice, sizeof(advice),
			 "; check the pid (it is looked up in this pid namespace)");
		break;
	case ENOENT:
		snprintf(problem, sizeof(problem), "pid %u is not watched", pid);
		snprintf(advice, sizeof(advice),
			 "; start with: " PROG_NAME " watch %u", pid);
		break;
	case EEXIST:
		snprintf(problem, sizeof(problem), "pid %u is watched already",
			 pid);
		snprintf(advice, sizeof(advice),
			 "; add --existing-ok to accept the existing watch");
		break;
	case ENOSPC:
		snprintf(problem, sizeof(problem), "a memwatch limit is reached");
		snprintf(advice, sizeof(advice),
			 "; unwatch a process, or reload the module with larger "
			 "max_watches/max_regions");
		break;
	case ENOMEM:
		snprintf(problem, sizeof(problem), "out of memory");
		snprintf(advice, sizeof(advice), "; free some memory and retry");
		break;
	case EINVAL:
		if (!strcmp(mw_cmd, "watch")) {
			snprintf(problem, sizeof(problem),
				 "pid %u cannot be watched", pid);
			snprintf(advice, sizeof(advice),
				 "; pick a user process (kernel threads have no "
				 "address space)");
		} else {
			snprintf(problem, sizeof(problem),
				 "the module refused the request");
			snprintf(advice, sizeof(advice),
				 "; use the memwatchctl that came with the module");
		}
		break;
	case EOPNOTSUPP:
		snprintf(problem, sizeof(problem),
			 "the module does not support this request");
		snprintf(advice, sizeof(advice),
			 "; load the module that came with this memwatchctl");
		break;
	case EPROTO:
		snprintf(problem, sizeof(problem),
			 "the module sent a reply this memwatchctl cannot read");
		snprintf(advice, sizeof(advice),
			 "; use the memwatchctl that came with the module");
		break;
	case EAGAIN:
		snprintf(problem, sizeof(problem), "%s",
			 mw_nl_detail() ? mw_nl_detail() : "the data kept changing");
		snprintf(advice, sizeof(advice), "; try again");
		break;
	default:
		/* -EIO: a local netlink failure that nl.c described */
		snprintf(problem, sizeof(problem), "%s",
			 err == -EIO && mw_nl_detail() ? mw_nl_detail()
						       : strerror(-err));
		break;
	}

	fprintf(stderr, PROG_NAME ": %s: %s", mw_cmd, problem);
	if (ext)
		fprintf(stderr, " (kernel reports: %s)", ext);
	fprintf(stderr, "%s\n", advice);
}

/* Digits only: no sign, no blanks, no base prefix. */
static int parse_decimal(const char *arg, uint64_t max, uint64_t *out,
			 const char **end)
{
	uint64_t v = 0;
	const char *p = arg;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int d = *p - '0';

		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	*end = p;
	return 0;
}

/* Where a PID may stand, "-5" is a bad pid rather than an unknown option. */
bool pid_argument(const char *arg)
{
	return arg[0] != '-' || (arg[1] >= '0' && arg[1] <= '9');
}

int parse_pid(const char *arg, uint32_t *pid)
{
	const char *end;
	uint64_t v;

	if (parse_decimal(arg, INT_MAX, &v, &end) || *end || v == 0)
		return usage_error("invalid pid '%s': give a process id, a "
				   "decimal number from 1 to %d", arg, INT_MAX);
	*pid = (uint32_t)v;
	mw_subject_pid = *pid;
	return 0;
}

int parse_size(const char *opt, const char *arg, uint64_t *bytes)
{
	static const char suffixes[] = "KMGT";
	const char *end, *s;
	unsigned int shift = 0;
	uint64_t v;

	if (parse_decimal(arg, UINT64_MAX, &v, &end))
		goto bad;
	if (*end) {
		s = strchr(suffixes, end[0] & ~0x20);
		if (s) {
			shift = 10 * (unsigned int)(s - suffixes + 1);
			end++;
			/* also take "KiB" and "KB" */
			if ((end[0] == 'i' || end[0] == 'I') &&
			    (end[1] == 'b' || end[1] == 'B') && !end[2])
				end += 2;
			else if ((end[0] == 'b' || end[0] == 'B') && !end[1])
				end++;
		} else if ((end[0] == 'b' || end[0] == 'B') && !end[1]) {
			end++;
		}
		if (*end)
			goto bad;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return usage_error("size '%s' for %s is too large", arg, opt);
	*bytes = v << shift;
	return 0;
bad:
	return usage_error("invalid size '%s' for %s: give bytes with an "
			   "optional K, M or G suffix (binary units), e.g. 32M",
			   arg, opt);
}

/*
 * A duration: a number with an optional fraction and a unit, ms, s or m
 * (a bare number is seconds): "100ms", "1.5s", "2m".
 */
int parse_duration(const char *opt, const char *arg, uint64_t *ns)
{
	uint64_t whole, frac = 0, scale = 1, unit;
	const char *end, *p;

	if (parse_decimal(arg, UINT32_MAX, &whole, &end))
		goto bad;
	if (*end == '.') {
		p = end + 1;
		if (parse_decimal(p, UINT64_MAX / 10, &frac, &end) ||
		    end - p > 9)
			goto bad;
		for (; p < end; p++)
			scale *= 10;
	}
	if (!strcmp(end, "ms"))
		unit = 1000000ULL;
	else if (!strcmp(end, "s") || !*end)
		unit = 1000000000ULL;
	else if (!strcmp(end, "m"))
		unit = 60000000000ULL;
	else
		goto bad;
	*ns = whole * unit + frac * unit / scale;
	return 0;
bad:
	return usage_error("invalid duration '%s' for %s: give a number "
			   "with ms, s or m, e.g. 100ms or 2s", arg, opt);
}

int parse_percent(const char *opt, const char *arg, unsigned int *pct)
{
	const char *end;
	uint64_t v;

	if (parse_decimal(arg, UINT64_MAX, &v, &end) || *end || v > 100)
		return usage_error("invalid percentage '%s' for %s: give a "
				   "whole number from 0 to 100", arg, opt);
	*pct = v;
	return 0;
}

int parse_count(const char *opt, const char *arg, uint32_t *n)
{
	const char *end;
	uint64_t v;

	if (parse_decimal(arg, UINT32_MAX, &v, &end) || *end)
		return usage_error("invalid number '%s' for %s: give a whole "
				   "number from 0 to %u", arg, opt, UINT32_MAX);
	*n = v;
	return 0;
}

/* "--fill-every N" of watch and run; 1 if argv[*i] was it, <0 if bad */
int fill_every_option(int argc, char **argv, int *i)
{
	const char *val;
	uint32_t n = 0;
	int ret = option_value(argc, argv, i, "--fill-every", &val);

	if (ret <= 0)
		return ret;
	if (parse_count("--fill-every", val, &n))
		return -1;
	mw_watch_set_fill_every(n);
	return 1;
}

/*
 * Match "--name VALUE" or "--name=VALUE" at argv[*i]. Returns 0 if argv[*i]
 * is another argument, 1 with *value set (and *i moved past it), or -1
 * when the value is missing (the usage error is reported).
 */
int option_value(int argc, char **argv, int *i, const char *name,
		 const char **value)
{
	const char *arg = argv[*i];
	size_t len = strlen(name);

	if (strncmp(arg, name, len))
		return 0;
	if (arg[len] == '=') {
		*value = arg + len + 1;
		return 1;
	}
	if (arg[len])
		return 0;
	if (*i + 1 >= argc) {
		usage_error("%s needs a value; see '" PROG_NAME " %s -h'",
			    name, mw_cmd);
		return -1;
	}
	*value = argv[++*i];
	return 1;
}

/*
 * A process or thread name for a table: any bytes may be in one, and a
 * newline or an escape sequence must not break the layout or the terminal.
 */
char *printable(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < size; i++)
		dst[i] = ((unsigned char)src[i] < 0x20 || src[i] == 0x7f) ?
			 '?' : src[i];
	if (size)
		dst[i] = '\0';
	return dst;
}

char *format_size(char buf[SIZE_BUF], uint64_t bytes)
{
	static const char units[] = "KMGTPE";
	uint64_t unit = 1024;
	unsigned int i;

	if (bytes < 1024) {
		snprintf(buf, SIZE_BUF, "%" PRIu64 "B", bytes);
		return buf;
	}
	for (i = 0;; i++, unit <<= 10) {
		uint64_t whole = bytes / unit;
		/* remainder * 10 < 10 * 2^60 fits in 64 bits */
		uint64_t tenths = ((bytes % unit) * 10 + unit / 2) / unit;

		if (tenths == 10) {
			whole++;
			tenths = 0;
		}
		if (whole < 1024 || i == sizeof(units) - 2) {
			/* whole < 1024 but for exbibytes, where it is < 16 */
			snprintf(buf, SIZE_BUF, "%u.%u%c", (unsigned int)whole,
				 (unsigned int)tenths, units[i]);
			return buf;
		}
	}
}

char *format_ns(char buf[DURATION_BUF], uint64_t ns)
{
	snprintf(buf, DURATION_BUF, "%" PRIu64 ".%03" PRIu64 "s",
		 ns / 1000000000, ns % 1000000000 / 1000000);
	return buf;
}

/* The hex digits of the highest address among the regions. */
int range_digits(const struct mw_region *r, size_t nr)
{
	uint64_t max = 0;
	int digits = 1;
	size_t i;

	for (i = 0; i < nr; i++)
		if (r[i].end > max)
			max = r[i].end;
	while (max >>= 4)
		digits++;
	return digits;
}

/* The characters format_range() writes for @digits */
int range_width(int digits)
{
	return 2 * (2 + digits) + 1;
}

char *format_range(char buf[RANGE_BUF], uint64_t start, uint64_t end,
		   int digits)
{
	snprintf(buf, RANGE_BUF, "0x%0*" PRIx64 "-0x%0*" PRIx64, digits,
		 start, digits, end);
	return buf;
}

/* part * 100 <= pct * whole, without overflow */
bool ratio_at_most(uint64_t part, uint64_t whole, unsigned int pct)
{
	uint64_t lhs, rhs;

	if (!__builtin_mul_overflow(part, 100, &lhs) &&
	    !__builtin_mul_overflow(whole, (uint64_t)pct, &rhs))
		return lhs <= rhs;
	/* Only for sizes beyond 2^57 bytes: exact enough there. */
	return (long double)part * 100 <= (long double)whole * pct;
}

/* floor(part * 100 / whole), 0 when whole is 0 */
unsigned int percent_of(uint64_t part, uint64_t whole)
{
	uint64_t lhs;

	if (!whole)
		return 0;
	if (!__builtin_mul_overflow(part, 100, &lhs))
		return lhs / whole;
	return (unsigned int)((long double)part * 100 / whole);
}

uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

const char *watch_state_name(uint32_t state)
{
	switch (state) {
	case MEMWATCH_WATCH_STATE_LIVE:
		return "live";
	case MEMWATCH_WATCH_STATE_EXITED:
		return "exited";
	default:
		return "unknown";
	}
}

/* The rule the README states: large, and little of it touched. */
bool region_is_lazy(const struct mw_region *r, uint64_t min_size,
		    unsigned int max_pct)
{
	return r->reserved >= min_size &&
	       ratio_at_most(r->touched, r->reserved, max_pct);
}

void sum_regions(const struct mw_region *r, size_t nr,
		 struct region_totals *t)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->regions = nr;
	for (i = 0; i < nr; i++) {
		t->reserved += r[i].reserved;
		t->committed += r[i].committed;
		t->touched += r[i].touched;
		t->faulted += r[i].faulted;
	}
}

struct thread_sum *sum_threads(const struct mw_region *r, size_t nr,
			       size_t *nr_out)
{
	struct thread_sum *t = NULL, *p;
	size_t n = 0, cap = 0, i, k, x;

	for (i = 0; i < nr; i++) {
		for (k = 0; k < r[i].nr_threads; k++) {
			const struct mw_thread *th = &r[i].threads[k];

			for (x = 0; x < n && t[x].tid != th->tid; x++)
				;
			if (x == n) {
				if (n == cap) {
					cap = cap ? cap * 2 : 16;
					p = realloc(t, cap * sizeof(*t));
					if (!p) {
						free(t);
						return NULL;
					}
					t = p;
				}
				memset(&t[n], 0, sizeof(t[n]));
				t[n].tid = th->tid;
				memcpy(t[n].comm, th->comm, sizeof(t[n].comm));
				n++;
			}
			t[x].faulted += th->faulted;
		}
	}
	*nr_out = n;
	return t ? t : calloc(1, sizeof(*t));
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Process helpers shared by the memwatch selftests: idle target processes,
 * dropping privileges, reading /proc.
 */
#ifndef MW_UTIL_H
#define MW_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define MW_KIB (1024ULL)
#define MW_MIB (1024ULL * 1024)

/* The uid and gid tests drop to: "nobody" on Debian. */
#define MW_UNPRIV_ID 65534

#define MW_CAP(c) (1ULL << (c))

/**
 * struct mw_report - what a workload process tells the test after a step
 * @err: 0, or the errno of the step that failed (-1 if errno was 0)
 * @line: source line of the failed step
 * @v: addresses, sizes and ids the step produced, as the test expects them
 */
struct mw_report {
	int32_t err;
	int32_t line;
	uint64_t v[32];
};

pid_t mw_spawn_idle(void);
void mw_kill_reap(pid_t pid);
pid_t mw_reaped_pid(void);

int mw_drop_privs(uid_t uid, gid_t gid, uint64_t caps);

int mw_read_file(const char *path, char *buf, size_t size);
int mw_write_file(const char *path, const char *s);
int mw_comm(pid_t pid, char *buf, size_t size);
int mw_wait_at_rest(pid_t pid, int timeout_ms);
int mw_wait_exited(pid_t pid, int timeout_ms);
uint64_t mw_start_brk(pid_t pid);

#endif /* MW_UTIL_H */

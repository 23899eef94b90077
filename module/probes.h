/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The probes: the kernel functions and tracepoints memwatch hooks, attached
 * at load and detached at unload (probes.c), and their state for
 * GET_STATUS. Only main.c and netlink.c use this header; the tracking core
 * knows nothing of how its hooks are called.
 */
#ifndef _MEMWATCH_PROBES_H
#define _MEMWATCH_PROBES_H

#include <linux/types.h>

/**
 * struct memwatch_probe_info - what GET_STATUS reports of one probe
 * @symbol: kernel function or tracepoint
 * @attached: registered with the kernel
 * @error: errno of a failed registration, else 0
 * @hits: times its handler ran
 * @missed: hits that could not be tracked (the handler found itself
 *	already running on that CPU, or the kprobe's own nmissed)
 * @mechanism: enum memwatch_probe_mechanism
 */
struct memwatch_probe_info {
	const char *symbol;
	bool attached;
	int error;
	u64 hits;
	u64 missed;
	u32 mechanism;
};

int memwatch_probes_init(void);
void memwatch_probes_uninit(void);
bool memwatch_probes_ready(void);
unsigned int memwatch_probes_count(void);
void memwatch_probes_info(unsigned int idx, struct memwatch_probe_info *info);

#endif /* _MEMWATCH_PROBES_H */

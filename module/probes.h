/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _MEMWATCH_PROBES_H
#define _MEMWATCH_PROBES_H

#include <linux/types.h>

/**
 * struct memwatch_probe_info - what GET_STATUS reports of one probe
 * @symbol: kernel function or tracepoint
 * @attached: registered with the kernel
 * @error: errno of a failed registration, else 0
 * @hits: times its handler ran
 * @missed: hits the kernel dropped
 */
struct memwatch_probe_info {
	const char *symbol;
	bool attached;
	int error;
	u64 hits;
	u64 missed;
};

int memwatch_probes_init(void);
void memwatch_probes_uninit(void);
int memwatch_probes_enable(bool on);
unsigned int memwatch_probes_count(void);
void memwatch_probes_info(unsigned int idx, struct memwatch_probe_info *info);

#endif /* _MEMWATCH_PROBES_H */

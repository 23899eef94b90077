/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The replies of the memwatch generic netlink family as plain C structs,
 * one definition for every user-space reader: memwatchctl (nl.c fills
 * them) and the selftests' netlink client (selftests/mw_nl.c). The
 * protocol itself, its commands and attributes, is
 * include/uapi/linux/memwatch.h; this is only the shape its readers give
 * the answers.
 *
 * Each field holds its attribute's value as the kernel sent it. An
 * attribute a reply lacks reads as 0 or "", and its bit in the struct's
 * @present stays clear: bit n is set when attribute n came (every
 * attribute number of these replies is below 64). Strings longer than the
 * field are cut.
 */
#ifndef MEMWATCH_REPLIES_H
#define MEMWATCH_REPLIES_H

#include <stddef.h>
#include <stdint.h>

#include <linux/memwatch.h>

/* a task's comm (TASK_COMM_LEN is 16 today), a module version */
#define MW_NAME_LEN 64

#define MW_PRESENT(attr) (1ULL << (attr))

/* MEMWATCH_A_STATUS_PROBE, nested in GET_STATUS */
struct mw_probe {
	char symbol[MW_NAME_LEN * 2];
	uint32_t attached;	/* nonzero: attached */
	uint32_t error;		/* errno of a failed attach */
	uint64_t hits;
	uint64_t missed;
	uint32_t mechanism;	/* enum memwatch_probe_mechanism */
};

/* MEMWATCH_CMD_GET_STATUS */
struct mw_status {
	uint32_t version;
	char module_version[MW_NAME_LEN];
	char kernel[MW_NAME_LEN * 2];
	uint32_t watches;
	uint32_t max_watches;
	uint32_t max_regions;
	uint64_t mem_bytes;
	uint64_t regions;
	uint32_t max_threads_per_region;
	struct mw_probe *probes;	/* in the order sent; free() them */
	size_t nr_probes;
	uint64_t present;		/* MEMWATCH_A_STATUS_* */
};

/* MEMWATCH_CMD_WATCH's reply and each entry of GET_WATCHES */
struct mw_watch {
	uint32_t pid;
	char comm[MW_NAME_LEN];
	uint32_t state;		/* enum memwatch_watch_state */
	uint32_t flags;		/* MEMWATCH_WATCH_F_* */
	uint64_t ns;
	uint32_t regions;
	uint64_t reserved;
	uint64_t committed;
	uint64_t touched;
	uint64_t peak_touched;
	uint64_t faulted;
	uint32_t execs;
	uint64_t dropped_regions;
	uint64_t dropped_events;
	uint32_t fill_every;	/* one fault stack sampled in this many */
	uint32_t stacks;		/* unique call stacks held */
	uint64_t dropped_stacks;
	uint64_t present;	/* MEMWATCH_A_WATCH_* */
};

/* MEMWATCH_A_REGION_THREAD, nested in a region */
struct mw_thread {
	uint32_t tid;
	char comm[MW_NAME_LEN];
	uint64_t faulted;
};

/* MEMWATCH_A_REGION_EXTENT, nested in a region */
struct mw_extent {
	uint64_t start;
	uint64_t end;		/* one past the last byte */
};

/* MEMWATCH_A_REGION_FILL, nested in a region */
struct mw_fill {
	uint64_t stack_id;
	uint64_t bytes;		/* faulted bytes its samples stand for */
};

#define MW_MAX_FILLS 8

/* each entry of MEMWATCH_CMD_GET_REGIONS */
struct mw_region {
	uint64_t id;
	uint64_t start;
	uint64_t end;
	uint32_t kind;		/* enum memwatch_region_kind */
	uint32_t flags;		/* MEMWATCH_REGION_F_* */
	uint64_t reserved;
	uint64_t committed;
	uint64_t touched;
	uint64_t peak_touched;
	uint64_t faulted;
	uint64_t created_ns;
	uint32_t creator_tid;
	char creator_comm[MW_NAME_LEN];		/* when it created the region */
	char creator_latest_comm[MW_NAME_LEN];	/* now, or at its exit */
	uint64_t stack_id;		/* creating call stack, 0 if none */
	struct mw_fill fills[MW_MAX_FILLS];	/* sampled filling stacks */
	size_t nr_fills;
	uint64_t fill_other;		/* bytes of samples not in fills */
	uint64_t other_faulted;
	struct mw_thread *threads;	/* in the order sent */
	size_t nr_threads;
	/*
	 * Lowest first. memwatchctl gives a reply without extents the one
	 * extent [start, end); the selftests keep what was sent.
	 */
	struct mw_extent *extents;
	size_t nr_extents;
	uint64_t present;		/* MEMWATCH_A_REGION_* */
};

/* MEMWATCH_CMD_EVENT, as the "events" multicast group delivers it */
struct mw_event {
	uint32_t type;		/* enum memwatch_event_type */
	uint32_t pid;
	uint32_t tid;
	char comm[MW_NAME_LEN];
	uint64_t ns;
	uint64_t region_id;
	uint64_t start;
	uint64_t end;
	uint32_t kind;		/* enum memwatch_region_kind */
	uint32_t flags;		/* MEMWATCH_REGION_F_* */
	uint32_t ppid;		/* fork events */
	uint64_t stack_id;	/* region-new events: its call stack */
	uint64_t present;	/* MEMWATCH_A_EVENT_* */
};

/* each stack of MEMWATCH_CMD_GET_STACKS, its pieces joined */
struct mw_raw_stack {
	uint64_t id;
	uint64_t ns;		/* when it was taken, since the watch started */
	uint64_t regs[MEMWATCH_STACK_NR_REGS];	/* DWARF x86-64 numbering */
	const uint8_t *data;	/* user memory from regs[7] (rsp) up */
	size_t size;
};

/* each entry of MEMWATCH_CMD_GET_CODE_MAPS */
struct mw_code_map {
	uint64_t start;
	uint64_t end;
	uint64_t pgoff;		/* file offset of start, bytes */
	uint64_t ns;		/* when it was mapped, since the watch started */
	const char *path;
};

/* The name memwatchctl's output gives a region kind. */
static inline const char *mw_region_kind_name(uint32_t kind)
{
	switch (kind) {
	case MEMWATCH_REGION_KIND_MMAP:
		return "mmap";
	case MEMWATCH_REGION_KIND_HEAP:
		return "heap";
	case MEMWATCH_REGION_KIND_STACK:
		return "stack";
	case MEMWATCH_REGION_KIND_MREMAP:
		return "mremap";
	case MEMWATCH_REGION_KIND_PREEXISTING:
		return "preexisting";
	default:
		return "unknown";
	}
}

/* The name memwatchctl's output gives a probe's mechanism. */
static inline const char *mw_probe_mechanism_name(uint32_t mech)
{
	switch (mech) {
	case MEMWATCH_PROBE_MECH_NONE:
		return "none";
	case MEMWATCH_PROBE_MECH_DIRECT:
		return "direct";
	case MEMWATCH_PROBE_MECH_KPROBE:
		return "kprobe";
	case MEMWATCH_PROBE_MECH_KRETPROBE:
		return "kretprobe";
	case MEMWATCH_PROBE_MECH_TRACEPOINT:
		return "tracepoint";
	default:
		return "unknown";
	}
}

#endif /* MEMWATCH_REPLIES_H */

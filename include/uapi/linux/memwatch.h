/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) */
/*
 * memwatch: anonymous-memory tracking of chosen processes, over generic
 * netlink.
 *
 * Family MEMWATCH_GENL_NAME, version MEMWATCH_GENL_VERSION. Every message
 * carries attributes only (no family header). Requests are validated
 * strictly: an attribute a command does not take, a wrong type or length, or
 * a flag bit that is not defined is refused. Every refused request gets an
 * errno and an extended-ack message that names the problem; an errno has one
 * meaning across all commands:
 *
 *    EPERM       the caller has neither CAP_SYS_ADMIN nor CAP_PERFMON, or it
 *                may not read the target's memory map (the rule below)
 *    EINVAL      a required attribute is missing or malformed, or WATCH
 *                named a process without a user address space (a kernel
 *                thread)
 *    EOPNOTSUPP  a flags attribute has a bit this module does not know
 *    ESRCH       no process has that pid in the caller's pid namespace
 *    ENOENT      the pid is not watched
 *    EEXIST      the pid is watched already
 *    ENOSPC      a limit (module parameter) would be exceeded
 *    ENOMEM      the kernel is out of memory
 *    EAGAIN      the process kept changing its mappings while memwatch
 *                copied them for a reply (it tries 8 times); ask again
 *
 * The netlink core answers for itself before memwatch sees a request:
 * ERANGE for a value out of its attribute's range (pid 0), EINVAL for other
 * malformed attributes and EOPNOTSUPP for an unknown command, even to a
 * caller without privilege, and EBUSY for a dump asked on a socket that is
 * still reading another one.
 *
 * Permission: every command needs CAP_SYS_ADMIN or CAP_PERFMON. Commands that
 * name a process also need the access /proc/PID/smaps needs: the caller has
 * CAP_SYS_PTRACE over the target's user namespace, or the caller's fsuid and
 * fsgid match the target's real, effective and saved ids and the target is
 * dumpable. Pids are resolved in the caller's pid namespace and reported in
 * it. The family exists in every network namespace.
 *
 * Sizes are bytes, times are nanoseconds, addresses are user virtual
 * addresses. u64 attributes are padded with the set's _PAD attribute.
 *
 * Words (the README defines them in full): a region is one anonymous mapping
 * the process created (mmap, the brk heap, the main stack, mremap), kept whole
 * across VMA splits and merges; reserved bytes are mapped now, committed bytes
 * are mapped with some access (not PROT_NONE), touched bytes are backed by
 * resident pages now (as smaps Rss), faulted bytes are new anonymous pages
 * that page faults mapped since the watch started. Shared anonymous memory
 * (MAP_SHARED|MAP_ANONYMOUS) is shmem to the kernel: its pages count in
 * touched bytes, not in faulted bytes, peaks or per-thread attribution.
 *
 * MEMWATCH_CMD_GET_STATUS (do)
 * ----------------------------
 *
 * Takes no attributes. Replies with:
 *
 *    MEMWATCH_A_STATUS_VERSION: NLA_U32, MEMWATCH_GENL_VERSION
 *    MEMWATCH_A_STATUS_MODULE_VERSION: NLA_NUL_STRING, e.g. "0.1.0"
 *    MEMWATCH_A_STATUS_KERNEL: NLA_NUL_STRING, the running kernel's release
 *    MEMWATCH_A_STATUS_WATCHES: NLA_U32, watches now (live and exited)
 *    MEMWATCH_A_STATUS_MAX_WATCHES: NLA_U32, module parameter max_watches
 *    MEMWATCH_A_STATUS_MAX_REGIONS: NLA_U32, module parameter max_regions
 *    MEMWATCH_A_STATUS_MEM_BYTES: NLA_U64, memory the module holds for
 *                                 watches, regions and attribution
 *    MEMWATCH_A_STATUS_REGIONS: NLA_U64, regions held over all watches
 *    MEMWATCH_A_STATUS_MAX_THREADS_PER_REGION: NLA_U32, module parameter
 *                                 max_threads_per_region
 *    MEMWATCH_A_STATUS_PROBE: NLA_NESTED, repeated, one per probe:
 *        MEMWATCH_A_PROBE_SYMBOL: NLA_NUL_STRING, kernel function or
 *                                 tracepoint
 *        MEMWATCH_A_PROBE_ATTACHED: NLA_U32, 1 if attached, else 0
 *        MEMWATCH_A_PROBE_ERROR: NLA_U32, errno of a failed attach, else 0
 *        MEMWATCH_A_PROBE_HITS: NLA_U64, times the handler ran
 *        MEMWATCH_A_PROBE_MISSED: NLA_U64, hits that could not be
 *                                 tracked (a page hook refused as
 *                                 recursive, or a kprobe hit the kernel
 *                                 dropped: kprobe nmissed)
 *        MEMWATCH_A_PROBE_MECHANISM: NLA_U32, enum
 *                                 memwatch_probe_mechanism: how it is
 *                                 attached (MEMWATCH_PROBE_MECH_NONE
 *                                 when it is not)
 *
 * The module parameter hooks (read at load) chooses the mechanisms:
 * "direct" hooks every function with an ftrace direct call, "kprobe" with
 * a kprobe or kretprobe, and "auto" (the default) with a direct call
 * where one attaches and a kprobe where not (another direct caller, such
 * as a BPF fentry program, holds the function). Tracepoints are always
 * tracepoints.
 *
 * MEMWATCH_CMD_WATCH (do)
 * -----------------------
 *
 * Starts watching a process: every thread, now and later. Its existing
 * anonymous mappings become regions of kind MEMWATCH_REGION_KIND_PREEXISTING
 * (the heap and the main stack get their own kinds). Takes:
 *
 *    MEMWATCH_A_WATCH_PID: NLA_U32, required
 *    MEMWATCH_A_WATCH_FLAGS: NLA_U32, optional, MEMWATCH_WATCH_F_*:
 *        MEMWATCH_WATCH_F_EXISTING_OK: a watch that exists already is not
 *            an error; the reply describes it
 *        MEMWATCH_WATCH_F_FOLLOW_FORKS: every child process the watched
 *            process creates from now on (fork, vfork, clone without
 *            CLONE_THREAD), and theirs, is watched too, with the same flags,
 *            from its creation; a MEMWATCH_EVENT_FORK event names it. A
 *            child that shares its parent's address space (vfork) is
 *            tracked from its exec on. A child's inherited mappings are
 *            regions of kind MEMWATCH_REGION_KIND_PREEXISTING. A child that
 *            would exceed max_watches is not watched and the parent's
 *            MEMWATCH_A_WATCH_DROPPED_EVENTS counts it.
 *        MEMWATCH_WATCH_F_NO_STACKS: take no call stacks (see
 *            MEMWATCH_CMD_GET_STACKS); regions have stack id 0 and no
 *            filling stacks.
 *    MEMWATCH_A_WATCH_FILL_EVERY: NLA_U32, optional: the call stack of a
 *        thread's first page fault in each region is sampled, and of one
 *        fault in this many of the process's faults; 0 samples none.
 *        Default: module parameter fill_every.
 *
 * Replies with the watch as MEMWATCH_CMD_GET_WATCHES describes it.
 * EEXIST if it is watched (unless MEMWATCH_WATCH_F_EXISTING_OK), ENOSPC past
 * max_watches, EINVAL for a kernel thread. Limits are module parameters:
 * max_watches (live and exited), max_regions (per process), max_exited,
 * max_threads_per_region.
 *
 * MEMWATCH_CMD_UNWATCH (do)
 * -------------------------
 *
 * Stops watching a process, or discards an exited watch's final data. Takes
 * MEMWATCH_A_WATCH_PID: NLA_U32, required. ENOENT if it is not watched.
 *
 * MEMWATCH_CMD_GET_WATCHES (dump)
 * -------------------------------
 *
 * One message per watch the caller may read; optional MEMWATCH_A_WATCH_PID:
 * NLA_U32 selects that pid's watches (none is not an error: the dump is
 * empty). A pid can have a live watch and, after its pid was reused or the
 * process exec'd into a new watch, exited ones; commands that name a pid act
 * on its live watch if it has one, else on its most recent exited one.
 * Dumps set NLM_F_DUMP_INTR when watches came or went while they ran.
 * Each message:
 *
 *    MEMWATCH_A_WATCH_PID: NLA_U32, in the caller's pid namespace (0 once
 *                          the process has exited and its pid is gone)
 *    MEMWATCH_A_WATCH_COMM: NLA_NUL_STRING, the process name
 *    MEMWATCH_A_WATCH_STATE: NLA_U32, enum memwatch_watch_state
 *    MEMWATCH_A_WATCH_FLAGS: NLA_U32, MEMWATCH_WATCH_F_* given at WATCH
 *    MEMWATCH_A_WATCH_NS: NLA_U64, time since the watch started (frozen
 *                         at exit)
 *    MEMWATCH_A_WATCH_REGIONS: NLA_U32
 *    MEMWATCH_A_WATCH_RESERVED: NLA_U64
 *    MEMWATCH_A_WATCH_COMMITTED: NLA_U64
 *    MEMWATCH_A_WATCH_TOUCHED: NLA_U64
 *    MEMWATCH_A_WATCH_PEAK_TOUCHED: NLA_U64, the largest total touched
 *                                   bytes seen since the watch started
 *    MEMWATCH_A_WATCH_FAULTED: NLA_U64
 *    MEMWATCH_A_WATCH_EXECS: NLA_U32, execs seen while watched
 *    MEMWATCH_A_WATCH_DROPPED_REGIONS: NLA_U64, mappings not tracked because
 *                                      max_regions was reached or memory
 *                                      was short; non-zero means the totals
 *                                      miss them
 *    MEMWATCH_A_WATCH_DROPPED_EVENTS: NLA_U64, events not delivered
 *    MEMWATCH_A_WATCH_FILL_EVERY: NLA_U32, as given at WATCH
 *    MEMWATCH_A_WATCH_STACKS: NLA_U32, unique call stacks held
 *    MEMWATCH_A_WATCH_DROPPED_STACKS: NLA_U64, call stacks and code maps
 *                                     not kept (max_stacks or
 *                                     max_code_maps reached, or memory was
 *                                     short): stack id 0 in their place
 *
 * MEMWATCH_CMD_GET_REGIONS (dump)
 * -------------------------------
 *
 * The regions of one watch, lowest address first. Takes
 * MEMWATCH_A_REGION_PID: NLA_U32, required. One message per region:
 *
 *    MEMWATCH_A_REGION_ID: NLA_U64, unique within the watch
 *    MEMWATCH_A_REGION_START: NLA_U64, lowest address
 *    MEMWATCH_A_REGION_END: NLA_U64, end of the highest extent
 *    MEMWATCH_A_REGION_KIND: NLA_U32, enum memwatch_region_kind
 *    MEMWATCH_A_REGION_FLAGS: NLA_U32, MEMWATCH_REGION_F_*
 *    MEMWATCH_A_REGION_RESERVED: NLA_U64
 *    MEMWATCH_A_REGION_COMMITTED: NLA_U64
 *    MEMWATCH_A_REGION_TOUCHED: NLA_U64
 *    MEMWATCH_A_REGION_PEAK_TOUCHED: NLA_U64
 *    MEMWATCH_A_REGION_FAULTED: NLA_U64
 *    MEMWATCH_A_REGION_CREATED_NS: NLA_U64, since the watch started (0 for
 *                                  preexisting regions)
 *    MEMWATCH_A_REGION_CREATOR_TID: NLA_U32, 0 if unknown
 *    MEMWATCH_A_REGION_CREATOR_COMM: NLA_NUL_STRING, its name when it
 *                                    created the region, "" if unknown
 *    MEMWATCH_A_REGION_CREATOR_LAST_COMM: NLA_NUL_STRING, its latest name:
 *                                    now, or when it exited (threads name
 *                                    themselves after they start)
 *    MEMWATCH_A_REGION_STACK_ID: NLA_U64, the call stack of the system call
 *                                that created the region (GET_STACKS); 0
 *                                if none was taken
 *    MEMWATCH_A_REGION_FILL: NLA_NESTED, repeated, at most 4: the call
 *                            stacks of sampled page faults in the region
 *                            (see MEMWATCH_A_WATCH_FILL_EVERY), each with
 *                            the faulted bytes its samples stand for: a
 *                            sample stands for the bytes faulted into the
 *                            region since its previous sample:
 *        MEMWATCH_A_FILL_STACK_ID: NLA_U64
 *        MEMWATCH_A_FILL_BYTES: NLA_U64
 *    MEMWATCH_A_REGION_FILL_OTHER: NLA_U64, bytes of samples whose stacks
 *                                  are not listed (past 4, or not kept);
 *                                  the bytes faulted since the region's
 *                                  latest sample are in no fill figure
 *    MEMWATCH_A_REGION_OTHER_FAULTED: NLA_U64, faulted bytes of threads
 *                                     beyond max_threads_per_region, or
 *                                     that came when memwatch had no room
 *                                     to attribute them
 *    MEMWATCH_A_REGION_EXTENT: NLA_NESTED, repeated, lowest first: the
 *                              address ranges the region owns (a munmap in
 *                              its middle leaves two):
 *        MEMWATCH_A_EXTENT_START: NLA_U64
 *        MEMWATCH_A_EXTENT_END: NLA_U64, one past the last byte
 *    MEMWATCH_A_REGION_THREAD: NLA_NESTED, repeated, most faulted first:
 *        MEMWATCH_A_THREAD_TID: NLA_U32
 *        MEMWATCH_A_THREAD_COMM: NLA_NUL_STRING, its latest name: now,
 *                                or when it exited
 *        MEMWATCH_A_THREAD_FAULTED: NLA_U64
 *
 * While the process lives, reserved, committed and touched bytes are read
 * from its page tables and VMAs when the dump starts, so at rest they equal
 * what /proc/PID/smaps shows. After it exits they are its last figures, and
 * the watch is discarded once a GET_REGIONS dump of it has completed (or by
 * UNWATCH); max_exited bounds how many exited watches wait to be read.
 *
 * Dumps are refused with an error ack carrying the errno and message; on
 * kernels that give a dump's start no extended ack (6.1) the errno and
 * message arrive in the NLMSG_DONE that ends the dump instead.
 *
 * MEMWATCH_CMD_EVENT (notification, multicast group "events")
 * ---------------------------------------------------------
 *
 *    MEMWATCH_A_EVENT_TYPE: NLA_U32, enum memwatch_event_type
 *    MEMWATCH_A_EVENT_PID: NLA_U32
 *    MEMWATCH_A_EVENT_TID: NLA_U32, the thread that caused it, 0 if none
 *    MEMWATCH_A_EVENT_COMM: NLA_NUL_STRING, that thread's name
 *    MEMWATCH_A_EVENT_NS: NLA_U64, since the watch started
 *    MEMWATCH_A_EVENT_REGION_ID, _START, _END: NLA_U64, region events only
 *    MEMWATCH_A_EVENT_REGION_KIND, _FLAGS: NLA_U32, region events only
 *    MEMWATCH_A_EVENT_PPID: NLA_U32, fork events only: the parent
 *    MEMWATCH_A_EVENT_STACK_ID: NLA_U64, MEMWATCH_EVENT_REGION_NEW only:
 *                               the region's call stack, if one was taken
 *
 * MEMWATCH_EVENT_REGION_NEW and _GONE describe a region; _EXEC says the
 * process exec'd (its regions were dropped and its new address space's
 * taken); _EXIT that it exited; _FORK that a child of a watch with
 * MEMWATCH_WATCH_F_FOLLOW_FORKS is now watched (PID is the child).
 *
 * MEMWATCH_CMD_GET_STACKS (dump)
 * ------------------------------
 *
 * The call stacks of one watch, oldest first. Takes MEMWATCH_A_STACK_PID:
 * NLA_U32, required. A call stack is what perf record --call-graph dwarf
 * samples: the thread's user registers at the system call and a copy of
 * the top of its user stack (module parameter stack_bytes from the stack
 * pointer up, less where the stack ends), for user space to unwind with
 * the binaries' CFI; the code it ran is named by GET_CODE_MAPS. Samples
 * of one code path (the same program counter and return addresses in the
 * copy) are kept once, the first one taken; at most max_stacks per watch;
 * an exec drops them.
 * A stack's bytes come in pieces of at most 2048, one message each, the
 * first with offset 0:
 *
 *    MEMWATCH_A_STACK_ID: NLA_U64, unique within the watch, not 0
 *    MEMWATCH_A_STACK_NS: NLA_U64, when it was taken, since the watch
 *                         started
 *    MEMWATCH_A_STACK_REGS: NLA_BINARY, MEMWATCH_STACK_NR_REGS __u64s in
 *                           DWARF's x86-64 numbering (rax rdx rcx rbx rsi
 *                           rdi rbp rsp r8-r15 rip); first piece only
 *    MEMWATCH_A_STACK_SIZE: NLA_U32, bytes of the whole copy
 *    MEMWATCH_A_STACK_OFFSET: NLA_U32, where this piece starts in it
 *    MEMWATCH_A_STACK_DATA: NLA_BINARY, the piece: user memory from
 *                           rsp + offset (absent if the copy is empty)
 *
 * MEMWATCH_CMD_GET_CODE_MAPS (dump)
 * ---------------------------------
 *
 * The executable file mappings the process had while watched (at WATCH,
 * at exec and every one since, including those unmapped again, such as a
 * dlclose()d library's), in the order they were mapped; at most
 * max_code_maps, dropped at exec. Takes MEMWATCH_A_CODE_MAP_PID: NLA_U32,
 * required. One message per mapping:
 *
 *    MEMWATCH_A_CODE_MAP_START: NLA_U64
 *    MEMWATCH_A_CODE_MAP_END: NLA_U64
 *    MEMWATCH_A_CODE_MAP_PGOFF: NLA_U64, file offset of START, bytes
 *    MEMWATCH_A_CODE_MAP_NS: NLA_U64, when it was mapped, since the watch
 *                            started: a stack taken at NS_S ran the code of
 *                            the mappings with NS <= NS_S (the latest, where
 *                            two overlap)
 *    MEMWATCH_A_CODE_MAP_PATH: NLA_NUL_STRING, the file as the kernel names
 *                              it (" (deleted)" appended once removed)
 *
 * GET_STACKS and GET_CODE_MAPS of an exited watch must come before the
 * GET_REGIONS dump that discards it.
 *
 * Events are generated in the kernel's memory paths and sent from a worker
 * shortly after; when they come faster than they can be sent, new ones are
 * dropped and MEMWATCH_A_WATCH_DROPPED_EVENTS counts them. Pids and tids in
 * events are in the pid namespace of the caller that started the watch.
 */

#ifndef _UAPI_LINUX_MEMWATCH_H
#define _UAPI_LINUX_MEMWATCH_H

#include <linux/types.h>

#define MEMWATCH_GENL_NAME "memwatch"
#define MEMWATCH_GENL_VERSION 1
#define MEMWATCH_MCGRP_EVENTS "events"

enum memwatch_cmd {
	MEMWATCH_CMD_GET_STATUS = 1,
	MEMWATCH_CMD_WATCH,
	MEMWATCH_CMD_UNWATCH,
	MEMWATCH_CMD_GET_WATCHES,
	MEMWATCH_CMD_GET_REGIONS,
	MEMWATCH_CMD_EVENT,
	MEMWATCH_CMD_GET_STACKS,
	MEMWATCH_CMD_GET_CODE_MAPS,

	__MEMWATCH_CMD_MAX,
	MEMWATCH_CMD_MAX = (__MEMWATCH_CMD_MAX - 1)
};

enum memwatch_watch_flag {
	MEMWATCH_WATCH_F_EXISTING_OK = 1U << 0,
	MEMWATCH_WATCH_F_FOLLOW_FORKS = 1U << 1,
	MEMWATCH_WATCH_F_NO_STACKS = 1U << 2,
	__MEMWATCH_WATCH_F_ALL = MEMWATCH_WATCH_F_EXISTING_OK |
				 MEMWATCH_WATCH_F_FOLLOW_FORKS |
				 MEMWATCH_WATCH_F_NO_STACKS
};

/* registers of a call stack: DWARF's x86-64 numbers 0 (rax) to 16 (rip) */
#define MEMWATCH_STACK_NR_REGS 17

enum memwatch_watch_state {
	MEMWATCH_WATCH_STATE_LIVE = 1,
	MEMWATCH_WATCH_STATE_EXITED,
};

/* Kinds and flags may gain values: print unknown ones, do not reject them. */
enum memwatch_region_kind {
	MEMWATCH_REGION_KIND_MMAP = 1,
	MEMWATCH_REGION_KIND_HEAP,
	MEMWATCH_REGION_KIND_STACK,
	MEMWATCH_REGION_KIND_MREMAP,
	MEMWATCH_REGION_KIND_PREEXISTING,
};

enum memwatch_region_flag {
	MEMWATCH_REGION_F_PRIVATE = 1U << 0,
	MEMWATCH_REGION_F_SHARED = 1U << 1,
	MEMWATCH_REGION_F_NORESERVE = 1U << 2,
	MEMWATCH_REGION_F_STACK = 1U << 3,
	MEMWATCH_REGION_F_FIXED = 1U << 4,
	MEMWATCH_REGION_F_HUGETLB = 1U << 5,
	/* an event for this region was lost: its figures may be short */
	MEMWATCH_REGION_F_INCOMPLETE = 1U << 6,
};

enum memwatch_event_type {
	MEMWATCH_EVENT_REGION_NEW = 1,
	MEMWATCH_EVENT_REGION_GONE,
	MEMWATCH_EVENT_EXEC,
	MEMWATCH_EVENT_EXIT,
	MEMWATCH_EVENT_FORK,
};

/**
 * enum memwatch_probe_mechanism - how a probe is attached
 * @MEMWATCH_PROBE_MECH_NONE: not attached
 * @MEMWATCH_PROBE_MECH_DIRECT: an ftrace direct call to memwatch's
 *	trampoline
 * @MEMWATCH_PROBE_MECH_KPROBE: a kprobe on the function's entry
 * @MEMWATCH_PROBE_MECH_KRETPROBE: a kretprobe (entry and return)
 * @MEMWATCH_PROBE_MECH_TRACEPOINT: a tracepoint probe
 */
enum memwatch_probe_mechanism {
	MEMWATCH_PROBE_MECH_NONE,
	MEMWATCH_PROBE_MECH_DIRECT,
	MEMWATCH_PROBE_MECH_KPROBE,
	MEMWATCH_PROBE_MECH_KRETPROBE,
	MEMWATCH_PROBE_MECH_TRACEPOINT,
};

enum memwatch_status_attr {
	MEMWATCH_A_STATUS_VERSION = 1,
	MEMWATCH_A_STATUS_MODULE_VERSION,
	MEMWATCH_A_STATUS_KERNEL,
	MEMWATCH_A_STATUS_WATCHES,
	MEMWATCH_A_STATUS_MAX_WATCHES,
	MEMWATCH_A_STATUS_MAX_REGIONS,
	MEMWATCH_A_STATUS_MEM_BYTES,
	MEMWATCH_A_STATUS_REGIONS,
	MEMWATCH_A_STATUS_PROBE,
	MEMWATCH_A_STATUS_PAD,
	MEMWATCH_A_STATUS_MAX_THREADS_PER_REGION,

	__MEMWATCH_A_STATUS_MAX,
	MEMWATCH_A_STATUS_MAX = (__MEMWATCH_A_STATUS_MAX - 1)
};

enum memwatch_probe_attr {
	MEMWATCH_A_PROBE_SYMBOL = 1,
	MEMWATCH_A_PROBE_ATTACHED,
	MEMWATCH_A_PROBE_ERROR,
	MEMWATCH_A_PROBE_HITS,
	MEMWATCH_A_PROBE_MISSED,
	MEMWATCH_A_PROBE_PAD,
	MEMWATCH_A_PROBE_MECHANISM,

	__MEMWATCH_A_PROBE_MAX,
	MEMWATCH_A_PROBE_MAX = (__MEMWATCH_A_PROBE_MAX - 1)
};

enum memwatch_watch_attr {
	MEMWATCH_A_WATCH_PID = 1,
	MEMWATCH_A_WATCH_FLAGS,
	MEMWATCH_A_WATCH_COMM,
	MEMWATCH_A_WATCH_STATE,
	MEMWATCH_A_WATCH_NS,
	MEMWATCH_A_WATCH_REGIONS,
	MEMWATCH_A_WATCH_RESERVED,
	MEMWATCH_A_WATCH_COMMITTED,
	MEMWATCH_A_WATCH_TOUCHED,
	MEMWATCH_A_WATCH_PEAK_TOUCHED,
	MEMWATCH_A_WATCH_FAULTED,
	MEMWATCH_A_WATCH_EXECS,
	MEMWATCH_A_WATCH_DROPPED_REGIONS,
	MEMWATCH_A_WATCH_DROPPED_EVENTS,
	MEMWATCH_A_WATCH_PAD,
	MEMWATCH_A_WATCH_STACKS,
	MEMWATCH_A_WATCH_DROPPED_STACKS,
	MEMWATCH_A_WATCH_FILL_EVERY,

	__MEMWATCH_A_WATCH_MAX,
	MEMWATCH_A_WATCH_MAX = (__MEMWATCH_A_WATCH_MAX - 1)
};

enum memwatch_region_attr {
	MEMWATCH_A_REGION_PID = 1,
	MEMWATCH_A_REGION_ID,
	MEMWATCH_A_REGION_START,
	MEMWATCH_A_REGION_END,
	MEMWATCH_A_REGION_KIND,
	MEMWATCH_A_REGION_FLAGS,
	MEMWATCH_A_REGION_RESERVED,
	MEMWATCH_A_REGION_COMMITTED,
	MEMWATCH_A_REGION_TOUCHED,
	MEMWATCH_A_REGION_PEAK_TOUCHED,
	MEMWATCH_A_REGION_FAULTED,
	MEMWATCH_A_REGION_CREATED_NS,
	MEMWATCH_A_REGION_CREATOR_TID,
	MEMWATCH_A_REGION_CREATOR_COMM,
	MEMWATCH_A_REGION_OTHER_FAULTED,
	MEMWATCH_A_REGION_THREAD,
	MEMWATCH_A_REGION_PAD,
	MEMWATCH_A_REGION_EXTENT,
	MEMWATCH_A_REGION_CREATOR_LAST_COMM,
	MEMWATCH_A_REGION_STACK_ID,
	MEMWATCH_A_REGION_FILL,
	MEMWATCH_A_REGION_FILL_OTHER,

	__MEMWATCH_A_REGION_MAX,
	MEMWATCH_A_REGION_MAX = (__MEMWATCH_A_REGION_MAX - 1)
};

enum memwatch_thread_attr {
	MEMWATCH_A_THREAD_TID = 1,
	MEMWATCH_A_THREAD_COMM,
	MEMWATCH_A_THREAD_FAULTED,
	MEMWATCH_A_THREAD_PAD,

	__MEMWATCH_A_THREAD_MAX,
	MEMWATCH_A_THREAD_MAX = (__MEMWATCH_A_THREAD_MAX - 1)
};

enum memwatch_extent_attr {
	MEMWATCH_A_EXTENT_START = 1,
	MEMWATCH_A_EXTENT_END,
	MEMWATCH_A_EXTENT_PAD,

	__MEMWATCH_A_EXTENT_MAX,
	MEMWATCH_A_EXTENT_MAX = (__MEMWATCH_A_EXTENT_MAX - 1)
};

enum memwatch_event_attr {
	MEMWATCH_A_EVENT_TYPE = 1,
	MEMWATCH_A_EVENT_PID,
	MEMWATCH_A_EVENT_TID,
	MEMWATCH_A_EVENT_COMM,
	MEMWATCH_A_EVENT_NS,
	MEMWATCH_A_EVENT_REGION_ID,
	MEMWATCH_A_EVENT_REGION_START,
	MEMWATCH_A_EVENT_REGION_END,
	MEMWATCH_A_EVENT_REGION_KIND,
	MEMWATCH_A_EVENT_REGION_FLAGS,
	MEMWATCH_A_EVENT_PAD,
	MEMWATCH_A_EVENT_PPID,
	MEMWATCH_A_EVENT_STACK_ID,

	__MEMWATCH_A_EVENT_MAX,
	MEMWATCH_A_EVENT_MAX = (__MEMWATCH_A_EVENT_MAX - 1)
};

enum memwatch_fill_attr {
	MEMWATCH_A_FILL_STACK_ID = 1,
	MEMWATCH_A_FILL_BYTES,
	MEMWATCH_A_FILL_PAD,

	__MEMWATCH_A_FILL_MAX,
	MEMWATCH_A_FILL_MAX = (__MEMWATCH_A_FILL_MAX - 1)
};

enum memwatch_stack_attr {
	MEMWATCH_A_STACK_PID = 1,
	MEMWATCH_A_STACK_ID,
	MEMWATCH_A_STACK_NS,
	MEMWATCH_A_STACK_REGS,
	MEMWATCH_A_STACK_SIZE,
	MEMWATCH_A_STACK_OFFSET,
	MEMWATCH_A_STACK_DATA,
	MEMWATCH_A_STACK_PAD,

	__MEMWATCH_A_STACK_MAX,
	MEMWATCH_A_STACK_MAX = (__MEMWATCH_A_STACK_MAX - 1)
};

enum memwatch_code_map_attr {
	MEMWATCH_A_CODE_MAP_PID = 1,
	MEMWATCH_A_CODE_MAP_START,
	MEMWATCH_A_CODE_MAP_END,
	MEMWATCH_A_CODE_MAP_PGOFF,
	MEMWATCH_A_CODE_MAP_NS,
	MEMWATCH_A_CODE_MAP_PATH,
	MEMWATCH_A_CODE_MAP_PAD,

	__MEMWATCH_A_CODE_MAP_MAX,
	MEMWATCH_A_CODE_MAP_MAX = (__MEMWATCH_A_CODE_MAP_MAX - 1)
};

#endif /* _UAPI_LINUX_MEMWATCH_H */

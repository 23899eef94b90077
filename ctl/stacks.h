/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The call stacks of one watch, as reports show them: fetched from the
 * module (MEMWATCH_CMD_GET_CODE_MAPS, _GET_STACKS), unwound and named
 * (unwind.c), and kept once per distinct list of frames: two samples that
 * differ only in stack data that no frame depends on become one stack.
 * stacks.c implements it, with the table, JSON and by-stack printers.
 */
#ifndef MEMWATCHCTL_STACKS_H
#define MEMWATCHCTL_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "unwind.h"

struct json;
struct mw_region;

/*
 * Frames kept per stack (report --max-frames); deeper ones are cut, and
 * the output says so.
 */
#define MW_STACK_DEFAULT_FRAMES 64
#define MW_STACK_FRAMES_LIMIT 1024
extern unsigned int mw_stack_max_frames;

/**
 * struct mw_stack - one distinct call stack, unwound and named
 * @id: its number in this report, from 1, in the order first seen
 * @frames: innermost first
 * @nr_frames: entries in @frames
 * @truncated: the walk stopped at mw_stack_max_frames
 */
struct mw_stack {
	uint64_t id;
	struct mw_frame *frames;
	size_t nr_frames;
	bool truncated;
};

struct mw_stack_set;

/*
 * Fetch and unwind the call stacks of the watch of pid. Of an exited
 * watch, call it before its regions are fetched. Returns 0 or -errno; an
 * empty set when the watch took none.
 */
int mw_stack_set_fetch(uint32_t pid, struct mw_stack_set **out);
/* Fetch again and unwind the stacks the set does not have yet. */
int mw_stack_set_refresh(struct mw_stack_set *set, uint32_t pid);
void mw_stack_set_free(struct mw_stack_set *set);

/* The stack a module stack id names, NULL for 0 or an id not fetched. */
const struct mw_stack *mw_stack_set_find(const struct mw_stack_set *set,
					 uint64_t module_id);

/* For the table: "LABEL (stack N)" (or "LABEL no call stack") and one
 * line per frame under it. */
void mw_stack_print(FILE *f, const struct mw_stack *s, int indent,
		    const char *label);
/* The frames as a JSON array, with key (NULL inside an array). */
void mw_stack_json(struct json *j, const char *key, const struct mw_stack *s);

#endif /* MEMWATCHCTL_STACKS_H */

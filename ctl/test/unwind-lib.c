// SPDX-License-Identifier: GPL-2.0
/*
 * A library for unwind-test to dlopen and dlclose: its one function maps a
 * region, as code that creates memory does, and captures its own stack.
 * Built twice, with LIB_FN naming the function differently, so that a
 * second library can take the first one's addresses after dlclose.
 */
#include <sys/mman.h>

#include "capture.h"

#ifndef LIB_FN
#error "LIB_FN names the function"
#endif

__attribute__((visibility("default"), noinline, noclone))
void *LIB_FN(struct capture *c, uint64_t stack_end)
{
	void *p;

	CAPTURE(c, stack_end);
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* Keeps the call above from being the function's last act. */
	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

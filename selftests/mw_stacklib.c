// SPDX-License-Identifier: GPL-2.0
/*
 * libmwstack.so, which mw_stackprog dlopen()s and dlclose()s: the report
 * must still name the function that made a region after the library is
 * gone from the process.
 */
#include <stddef.h>
#include <sys/mman.h>

__attribute__((noinline)) void *mw_lib_make_region(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	__asm__ volatile("" : : "r"(p) : "memory");
	return p == MAP_FAILED ? NULL : p;
}

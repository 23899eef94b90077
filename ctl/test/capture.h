/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the memwatch module captures for a stack, taken by a program of
 * itself: the registers at one instruction and a copy of the stack above
 * the stack pointer, in the form ctl/unwind.h unwinds. Everything here is
 * inline so that the registers belong to the function that uses it.
 */
#ifndef MEMWATCH_TEST_CAPTURE_H
#define MEMWATCH_TEST_CAPTURE_H

#include <stdint.h>
#include <string.h>

#include "../unwind.h"

/* The module's default: the top 4 KiB of the user stack. */
#define CAPTURE_BYTES 4096

struct capture {
	struct mw_raw_stack s;
	uint8_t data[CAPTURE_BYTES] __attribute__((aligned(8)));
};

/*
 * A plain loop, not memcpy(): under ASan, memcpy() is intercepted and
 * would object to reading the redzones of the callers' frames. rsp and the
 * end of the stack are 8-byte aligned.
 */
static inline void copy_words(uint8_t *to, uint64_t from, uint64_t n)
{
	const volatile uint64_t *src = (const volatile uint64_t *)(uintptr_t)from;
	uint64_t *dst = (uint64_t *)(void *)to;

	for (uint64_t i = 0; i < n / 8; i++)
		dst[i] = src[i];
}

/*
 * All 17 DWARF registers in one asm statement, so that they agree with each
 * other and with the pc, which is the address of the lea itself: the CFI
 * at that pc describes this very rsp. rax is stored before it is reused.
 */
#define CAPTURE_REGS(r)							\
	__asm__ volatile("movq %%rax, 0(%0)\n\t"			\
			 "movq %%rdx, 8(%0)\n\t"			\
			 "movq %%rcx, 16(%0)\n\t"			\
			 "movq %%rbx, 24(%0)\n\t"			\
			 "movq %%rsi, 32(%0)\n\t"			\
			 "movq %%rdi, 40(%0)\n\t"			\
			 "movq %%rbp, 48(%0)\n\t"			\
			 "movq %%rsp, 56(%0)\n\t"			\
			 "movq %%r8, 64(%0)\n\t"			\
			 "movq %%r9, 72(%0)\n\t"			\
			 "movq %%r10, 80(%0)\n\t"			\
			 "movq %%r11, 88(%0)\n\t"			\
			 "movq %%r12, 96(%0)\n\t"			\
			 "movq %%r13, 104(%0)\n\t"			\
			 "movq %%r14, 112(%0)\n\t"			\
			 "movq %%r15, 120(%0)\n\t"			\
			 "leaq 0(%%rip), %%rax\n\t"			\
			 "movq %%rax, 128(%0)\n\t"			\
			 : : "r"(r) : "rax", "memory")

/*
 * The registers, then the stack from rsp up to at most CAPTURE_BYTES,
 * ending at stack_end (the end of the [stack] mapping). The frames above
 * rsp are not written between the two: only locals could be, and the
 * unwinder needs the return addresses and saved registers.
 */
#define CAPTURE(c, stack_end)						\
	do {								\
		uint64_t sp_, n_;					\
		CAPTURE_REGS((c)->s.regs);				\
		sp_ = (c)->s.regs[MW_UNWIND_REG_SP];			\
		n_ = (stack_end) - sp_;					\
		if (n_ > CAPTURE_BYTES)					\
			n_ = CAPTURE_BYTES;				\
		copy_words((c)->data, sp_, n_);				\
		(c)->s.data = (c)->data;				\
		(c)->s.size = n_;					\
	} while (0)

#endif /* MEMWATCH_TEST_CAPTURE_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The trampolines that ftrace direct calls enter: MW_TRAMPOLINE calls a
 * handler with the hooked function's arguments and lets the function run;
 * MW_WRAPPER also runs the function itself for a watched process and
 * hands its return value to an exit handler, as BPF's fexit trampolines
 * do. x86-64 only. Included by probes.c, which instantiates them.
 */
#ifndef _MEMWATCH_TRAMP_H
#define _MEMWATCH_TRAMP_H

#include <asm/ibt.h>
#include <asm/linkage.h>
#include <asm/nospec-branch.h>
#include <asm/unwind_hints.h>

/*
 * The site calls the trampoline on the hooked function's stack, before its
 * first instruction: the six argument registers are live and are restored
 * before the function runs. CALL_DEPTH_ACCOUNT balances the return-stack
 * accounting for the site's call, which no call thunk counted.
 */
#define MW_TRAMP_ENTRY							\
	ASM_ENDBR							\
	"pushq %rbp\n"							\
	"movq %rsp, %rbp\n"						\
	CALL_DEPTH_ACCOUNT						\
	"pushq %rdi\n"							\
	"pushq %rsi\n"							\
	"pushq %rdx\n"							\
	"pushq %rcx\n"							\
	"pushq %r8\n"							\
	"pushq %r9\n"

/* back to the function with its arguments, as the site left them */
#define MW_TRAMP_RESUME							\
	"popq %r9\n"							\
	"popq %r8\n"							\
	"popq %rcx\n"							\
	"popq %rdx\n"							\
	"popq %rsi\n"							\
	"popq %rdi\n"							\
	"leave\n"							\
	ASM_RET

/* Calls @handler with the hooked function's arguments, then lets it run. */
#define MW_TRAMPOLINE(tramp, handler)					\
	asm(".pushsection .text, \"ax\", @progbits\n"			\
	    ".type " #tramp ", @function\n"				\
	    #tramp ":\n"						\
	    MW_TRAMP_ENTRY						\
	    "call " #handler "\n"					\
	    MW_TRAMP_RESUME						\
	    ".size " #tramp ", .-" #tramp "\n"				\
	    ".popsection\n");						\
	void tramp(void)

/**
 * struct mw_frame - a wrapper's frame, as its handlers see it
 * @data: the entry handler's notes for the exit handler
 * @r9: the hooked function's sixth argument
 * @r8: fifth
 * @cx: fourth
 * @dx: third
 * @si: second
 * @di: first
 * @bp: the caller's frame pointer
 * @body: where the site returns to: the function past its ftrace site
 * @ret: the caller's return address
 * @stack: the arguments past the sixth, on the caller's stack
 */
struct mw_frame {
	unsigned long data[3];
	unsigned long r9, r8, cx, dx, si, di;
	unsigned long bp, body, ret;
	unsigned long stack[];
};

/* stack arguments a wrapper passes on: more than any wrapped function takes */
#define MW_WRAP_STACK_ARGS 4

/*
 * MW_WRAPPER: the trampoline saves the argument registers into a struct
 * mw_frame and calls @entry with it. If @entry returns false the function
 * runs as with MW_TRAMPOLINE. Otherwise the trampoline calls the function's
 * body (past the site) with the same registers and a copy of the stack
 * arguments, calls @exit with the frame and the return value, and returns
 * what @exit returns to the function's caller, skipping the site's return
 * address.
 *
 * The body is entered by mw_call_rax: a return to the address in %rax, so
 * that no indirect branch lands where IBT would want an ENDBR. While the
 * body runs, the unwinder sees the wrapper's frame (ORC from objtool) and
 * then the body address as its caller: the stack stays reliable.
 *
 * mw_call_rax is the one function the wrappers call directly: it has the
 * padding before it that call depth tracking patches call sites to use.
 *
 * A task may sleep in the body; the per-CPU count @wrapped (raised by an
 * entry handler that returns true, dropped by the exit handler) lets
 * unloading wait until none is left inside.
 */
#define MW_DEFINE_CALL_RAX()						\
	asm(".pushsection .text, \"ax\", @progbits\n"			\
	    ASM_FUNC_ALIGN "\n"						\
	    ".type mw_call_rax, @function\n"				\
	    "mw_call_rax:\n"						\
	    "pushq %rax\n"						\
	    UNWIND_HINT_FUNC						\
	    ASM_RET							\
	    ".size mw_call_rax, .-mw_call_rax\n"			\
	    ".popsection\n")

#define MW_WRAPPER(tramp, entry, exit)					\
	asm(".pushsection .text, \"ax\", @progbits\n"			\
	    ".type " #tramp ", @function\n"				\
	    #tramp ":\n"						\
	    MW_TRAMP_ENTRY						\
	    "subq $24, %rsp\n"						\
	    "movq %rsp, %rdi\n"						\
	    "call " #entry "\n"						\
	    "testb %al, %al\n"						\
	    "jnz 1f\n"							\
	    "addq $24, %rsp\n"						\
	    MW_TRAMP_RESUME						\
	    "1:\n"							\
	    "pushq 48(%rbp)\n"						\
	    "pushq 40(%rbp)\n"						\
	    "pushq 32(%rbp)\n"						\
	    "pushq 24(%rbp)\n"						\
	    "movq -8(%rbp), %rdi\n"					\
	    "movq -16(%rbp), %rsi\n"					\
	    "movq -24(%rbp), %rdx\n"					\
	    "movq -32(%rbp), %rcx\n"					\
	    "movq -40(%rbp), %r8\n"					\
	    "movq -48(%rbp), %r9\n"					\
	    "movq 8(%rbp), %rax\n"					\
	    "call mw_call_rax\n"					\
	    "addq $32, %rsp\n"						\
	    "movq %rsp, %rdi\n"						\
	    "movq %rax, %rsi\n"						\
	    "call " #exit "\n"						\
	    "leave\n"							\
	    "addq $8, %rsp\n"						\
	    UNWIND_HINT_FUNC						\
	    ASM_RET							\
	    ".size " #tramp ", .-" #tramp "\n"				\
	    ".popsection\n");						\
	void tramp(void)

#endif /* _MEMWATCH_TRAMP_H */

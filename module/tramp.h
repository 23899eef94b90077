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

#include <asm/linkage.h>
#include <asm/nospec-branch.h>
#include <asm/unwind_hints.h>

/*
 * Why the trampolines are safe, argued against the x86-64 kernels memwatch
 * is meant for (Debian 5.10, 6.1, 6.12, 7.x).
 *
 * Entry. A site hooked by us alone is patched into a direct CALL of the
 * trampoline (x86 ftrace.c: ftrace_call_replace). A site shared with other
 * ftrace_ops calls ftrace_regs_caller; call_direct_funcs() puts our address
 * in pt_regs->orig_ax, and ftrace_regs_caller (ftrace_64.S) puts it on the
 * stack and *returns* into it: on 5.10 through ftrace_epilogue's RET, on
 * 6.1 with a plain RET, on 6.12 and 7.x with a RET after a dummy CALL that
 * keeps the RSB balanced. This is never an indirect JMP. In every case the
 * trampoline finds the site's return address (the body) above the caller's.
 * On 7.x, bit 0 of a direct address means "enter by JMP, with no return
 * address" (CONFIG_DYNAMIC_FTRACE_WITH_JMP, ftrace_is_jmp()), so every
 * trampoline starts 16-byte aligned.
 *
 * IBT (6.12 and 7.x; Debian's 5.10 and 6.1 are built without it). Neither a
 * direct CALL nor a RET needs an ENDBR. ASM_ENDBR at the entry is only an
 * extra safeguard, as in samples/ftrace; 6.12's BPF trampoline
 * (__arch_prepare_bpf_trampoline) has no ENDBR for direct entry. The
 * trampolines use only direct CALLs and RETs, so IBT, retpolines and ITS
 * have no indirect branch here to act on. The body is entered by
 * mw_call_rax's RET at the address the site pushed. An indirect CALL would
 * raise #CP there (there is no ENDBR past the fentry site), but a RET is not
 * checked. Because the function start is never a branch target, it does not
 * matter whether its ENDBR is live, sealed (apply_seal_endbr) or rewritten
 * by FineIBT.
 *
 * Return thunks and the RSB. Every RET is ASM_RET. objtool lists it in
 * .return_sites, and apply_returns() turns it into the return thunk the CPU
 * needs (untrain, SRSO safe RET, ITS, call depth) or into RET; INT3. A
 * wrapped call makes three CALLs (caller to function, site to trampoline,
 * wrapper to mw_call_rax) and three RETs (mw_call_rax into the body, body
 * to wrapper, wrapper to caller). So the RSB ends balanced and never
 * underflows. The first two RETs mispredict, to the instruction after our
 * call and to the body's start: fixed kernel addresses placed in the RSB
 * by our CALL and by the site's. The last RET is predicted correctly.
 * BPF fexit with BPF_TRAMP_F_SKIP_FRAME instead CALLs the body, which
 * leaves the site's RSB entry stale (one entry too many). On 5.10 and
 * 6.1, the RET into a direct trampoline on a shared site leaves the RSB
 * one entry short; that is the kernel's own imbalance, fixed in 6.12, and
 * the wrapper adds none.
 *
 * Call depth tracking (retbleed=stuff; 6.12 and 7.x; compat.h empties the
 * macros on 5.10 and 6.1). The site's CALL bypasses the call thunks
 * (ftrace_call_replace), so the entry does CALL_DEPTH_ACCOUNT, as
 * ftrace_stub_direct_tramp does and as BPF does with
 * x86_call_depth_emit_accounting(). Our other CALLs are redirected at load
 * (callthunks_patch_module_calls) into the 16 NOPs before each callee;
 * ASM_FUNC_ALIGN gives mw_call_rax those NOPs. Without them the call would
 * go uncounted, which only causes an early RSB stuff. The counter goes up
 * three times and down three times: no return is skipped, because
 * mw_call_rax's RET is the return from the site's frame. On a shared site
 * ftrace_regs_caller has already counted the site's CALL and enters us by
 * a bare RET, so the counter is one too deep. That holds for every direct
 * trampoline and is within the slack that nospec-branch.h allows.
 *
 * Unwinding. The .type and .size directives make each trampoline a
 * function, which objtool validates and gives ORC data. The frame is based
 * on %rbp, so in a handler or in the body the next return address is the
 * body's address, and the hooked function's ORC data for its entry leads to
 * the caller. UNWIND_HINT_FUNC marks mw_call_rax after its push, and the
 * wrapper after it drops the site's address. A task asleep in a body
 * unwinds reliably (arch_stack_walk_reliable) through the body, the
 * wrapper, function+site and the caller, so livepatch sees the hooked
 * function on the stack. An IPMODIFY ops such as a livepatch cannot share a
 * site with our ops, which has no ops_func (6.1+:
 * __ftrace_hash_update_ipmodify returns -EBUSY), so the body that runs is
 * the live one. On 5.10 such an ops can share the site, and the wrapper
 * runs whatever the slot holds, as BPF_TRAMP_F_ORIG_STACK does.
 *
 * Shadow stacks. None of these kernels enables supervisor shadow stacks.
 * X86_USER_SHADOW_STACK (6.12, 7.x) sets only MSR_IA32_U_CET, setup_cet()
 * writes only CET_ENDBR_EN to MSR_IA32_S_CET, and 7.x KVM refuses to load
 * if CET_SHSTK_EN is set there (kvm_x86_vendor_init). With supervisor shadow
 * stacks, mw_call_rax's RET and the wrapper's last RET would raise #CP. So
 * would ftrace_regs_caller's and BPF's RETs. On such a kernel (its
 * MSR_IA32_S_CET says so) probes.c attaches no wrapper, and hooks=auto
 * uses kretprobes for the wrapped functions; an odd trampoline address,
 * which would ask for entry without the site's return address, is refused
 * on every kernel.
 */

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
	    ".balign 16, 0x90\n"					\
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
	    ".balign 16, 0x90\n"					\
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

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Entering the guest and coming back.
 *
 * The VMCS switches RSP, RIP, segments and control registers, but not the
 * general purpose registers: they are loaded from and saved to the vCPU's
 * register array here. The array is indexed by the x86 register number
 * (RAX=0 ... R15=15), so instruction decoders index it directly; its RSP
 * slot is unused (RSP lives in the VMCS).
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/unwind_hints.h>

#define R_RAX	(0 * 8)
#define R_RCX	(1 * 8)
#define R_RDX	(2 * 8)
#define R_RBX	(3 * 8)
#define R_RBP	(5 * 8)
#define R_RSI	(6 * 8)
#define R_RDI	(7 * 8)
#define R_R8	(8 * 8)
#define R_R9	(9 * 8)
#define R_R10	(10 * 8)
#define R_R11	(11 * 8)
#define R_R12	(12 * 8)
#define R_R13	(13 * 8)
#define R_R14	(14 * 8)
#define R_R15	(15 * 8)

/*
 * Store the guest registers into the array whose address sits on the
 * stack top (pushed at entry); clobbers RAX.
 */
.macro SAVE_GUEST_REGS
	push	%rax
	mov	8(%rsp), %rax
	mov	%rcx, R_RCX(%rax)
	mov	%rdx, R_RDX(%rax)
	mov	%rbx, R_RBX(%rax)
	mov	%rbp, R_RBP(%rax)
	mov	%rsi, R_RSI(%rax)
	mov	%rdi, R_RDI(%rax)
	mov	%r8, R_R8(%rax)
	mov	%r9, R_R9(%rax)
	mov	%r10, R_R10(%rax)
	mov	%r11, R_R11(%rax)
	mov	%r12, R_R12(%rax)
	mov	%r13, R_R13(%rax)
	mov	%r14, R_R14(%rax)
	mov	%r15, R_R15(%rax)
	pop	R_RAX(%rax)
.endm

	.text

/*
 * int minivmm_vmenter(unsigned long *regs, bool launched,
 *		       unsigned long *host_rsp, unsigned long host_rsp_field)
 *
 * Runs the guest on the current VMCS until the next VM exit. @host_rsp
 * caches the VMCS HOST_RSP field (encoding @host_rsp_field, from the C
 * side's asm/vmx.h), rewritten when the stack moved.
 *
 * Return: 0 after a VM exit, 1 when VMLAUNCH/VMRESUME itself failed (the
 * VM-instruction error field says why).
 */
SYM_FUNC_START(minivmm_vmenter)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	/* The exit path finds the register array here, at HOST_RSP. */
	push	%rdi

	cmp	%rsp, (%rdx)
	je	1f
	mov	%rsp, (%rdx)
	vmwrite	%rsp, %rcx
	jna	.Lfail_nosave
1:
	mov	%rdi, %rax
	/* MOVs keep the flags of this test for the jump below. */
	test	%sil, %sil

	mov	R_RCX(%rax), %rcx
	mov	R_RDX(%rax), %rdx
	mov	R_RBX(%rax), %rbx
	mov	R_RBP(%rax), %rbp
	mov	R_RSI(%rax), %rsi
	mov	R_RDI(%rax), %rdi
	mov	R_R8(%rax), %r8
	mov	R_R9(%rax), %r9
	mov	R_R10(%rax), %r10
	mov	R_R11(%rax), %r11
	mov	R_R12(%rax), %r12
	mov	R_R13(%rax), %r13
	mov	R_R14(%rax), %r14
	mov	R_R15(%rax), %r15
	mov	R_RAX(%rax), %rax

	UNWIND_HINT_SAVE
	jnz	2f
	vmlaunch
	jmp	.Lfail
2:	vmresume

.Lfail:
	/* VMfail: the guest values are still in the registers; keep them. */
	SAVE_GUEST_REGS
	mov	$1, %eax
	jmp	.Lout

SYM_INNER_LABEL(minivmm_vmexit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR
	SAVE_GUEST_REGS
	xor	%eax, %eax
.Lout:
	/* Leave no guest value in a register the host does not reload. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
	pop	%rdi
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET

.Lfail_nosave:
	/* No guest register was loaded; the clearing below is harmless. */
	mov	$1, %eax
	jmp	.Lout

SYM_FUNC_END(minivmm_vmenter)

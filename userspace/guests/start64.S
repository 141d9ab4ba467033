/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Entry of the 64-bit example guests. minivmm's ELF loader starts them
 * in long mode with flat segments, identity-mapped memory, interrupts
 * off and no stack: set one up, bring up the UART, run main() and end
 * the run with its return value through port 0xf4.
 */
	.section .text.start, "ax"
	.code64
	.globl	_start
_start:
	lea	stack_top(%rip), %rsp
	xor	%ebp, %ebp
	call	serial_init
	call	main
	mov	%eax, %edi
	call	exit

	.bss
	.balign	16
	.skip	16384
stack_top:

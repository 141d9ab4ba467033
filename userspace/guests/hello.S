/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hello: the smallest minivmm guest. Real mode, loaded at 0x7c00 like a
 * boot sector: prints a line on the 16550 UART at 0x3f8, polling its line
 * status register as on real hardware, then halts.
 */
	.code16
	.text
	.globl	_start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	$message, %si
1:	lodsb
	test	%al, %al
	jz	3f
	mov	%al, %bl
	mov	$0x3fd, %dx		/* line status: wait for THR empty */
2:	in	%dx, %al
	test	$0x20, %al
	jz	2b
	mov	$0x3f8, %dx
	mov	%bl, %al
	out	%al, %dx
	jmp	1b
3:	hlt
	jmp	3b

message:
	.asciz	"Hello from a minivmm guest in real mode!\n"

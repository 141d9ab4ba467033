/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The multiboot v1 header and entry of the multiboot example. Built
 * twice: as an ELF kernel, and with -DAOUT_KLUDGE as a flat image whose
 * header gives the load addresses (flag 16).
 */
#define MB_MAGIC	0x1badb002
#define MB_PAGE_ALIGN	(1 << 0)
#define MB_MEMORY_INFO	(1 << 1)
#define MB_AOUT_KLUDGE	(1 << 16)
#ifdef AOUT_KLUDGE
#define MB_FLAGS	(MB_PAGE_ALIGN | MB_MEMORY_INFO | MB_AOUT_KLUDGE)
#else
#define MB_FLAGS	(MB_PAGE_ALIGN | MB_MEMORY_INFO)
#endif

	.section .multiboot, "a"
	.balign	4
mb_header:
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)
	/* header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr */
	.long	mb_header, _load_start, _edata, _end, _start

	.text
	.code32
	.globl	_start
_start:
	mov	$stack_top, %esp
	push	%ebx			/* the multiboot information */
	push	%eax			/* the boot loader's magic */
	call	serial_init
	call	mboot_main
	push	%eax
	call	exit

	.bss
	.balign	16
	.skip	16384
stack_top:

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * 32-bit entry of the fast-boot bzImage built by scripts/fastboot.py.
 *
 * The real-mode setup code of the stock kernel jumps here (code32_start)
 * in flat 32-bit protected mode, interrupts off, with %esi pointing to
 * boot_params.  The flat, already decompressed kernel sits at its load
 * address, so all that is left of the decompressor's job is to enter
 * long mode and jump to startup_64, which is what this stub does:
 *
 *   1. zero the tail of the kernel (bss, brk, ...) that fastboot.py
 *      trimmed off the image: the memory holds the boot loader's leftovers;
 *   2. identity-map the first 4 GiB with 2 MiB pages: startup_64 needs the
 *      kernel, boot_params and the command line mapped 1:1;
 *   3. enable PAE, EFER.LME and paging, with a GDT whose __BOOT_CS (0x10)
 *      is a 64-bit code segment and __BOOT_DS (0x18) a flat data segment,
 *      as the 64-bit boot protocol asks;
 *   4. jump to the kernel's entry with %rsi = boot_params.
 *
 * fastboot.py passes, as preprocessor symbols:
 *   KERNEL_ENTRY  physical address of startup_64 (the ELF entry point)
 *   ZERO_START    first byte of the kernel not present in the image
 *   ZERO_END      end of the kernel's memory image (4-byte aligned)
 *   PGTABLE       6 free, page-aligned pages for the page tables
 */

#define CR0_PE		0x00000001
#define CR0_PG		0x80000000
#define CR4_PAE		0x00000020
#define MSR_EFER	0xc0000080
#define EFER_LME	0x00000100

#define PTE_PRESENT	0x001
#define PTE_RW		0x002
#define PTE_PSE		0x080		/* 2 MiB page in a page directory */

#define BOOT_CS		0x10
#define BOOT_DS		0x18

#define PML4		(PGTABLE)
#define PDPT		(PGTABLE + 0x1000)
#define PD		(PGTABLE + 0x2000)	/* four pages: 4 x 1 GiB */

	.text
	.code32
	.globl	_start
_start:
	cli
	cld

	/* 1. Zero what the image does not carry. */
	movl	$ZERO_START, %edi
	movl	$((ZERO_END - ZERO_START) / 4), %ecx
	xorl	%eax, %eax
	rep stosl

	/* 2. Page tables; clear them first, the pages may hold garbage. */
	movl	$PGTABLE, %edi
	movl	$(6 * 0x1000 / 4), %ecx
	rep stosl

	movl	$(PDPT + PTE_PRESENT + PTE_RW), PML4

	/* PDPT[0..3] -> the four page directories */
	movl	$PDPT, %edi
	movl	$(PD + PTE_PRESENT + PTE_RW), %eax
	movl	$4, %ecx
1:	movl	%eax, (%edi)
	addl	$0x1000, %eax
	addl	$8, %edi
	decl	%ecx
	jnz	1b

	/* 2048 entries of 2 MiB each: 0 .. 4 GiB, physical == linear */
	movl	$PD, %edi
	movl	$(PTE_PRESENT + PTE_RW + PTE_PSE), %eax
	xorl	%edx, %edx		/* high half of each entry stays 0 */
	movl	$2048, %ecx
2:	movl	%eax, (%edi)
	movl	%edx, 4(%edi)
	addl	$0x200000, %eax
	addl	$8, %edi
	decl	%ecx
	jnz	2b

	/* 3. Long mode. */
	lgdt	gdt_desc

	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4

	movl	$PML4, %eax
	movl	%eax, %cr3

	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr

	movl	%cr0, %eax
	orl	$(CR0_PG | CR0_PE), %eax
	movl	%eax, %cr0

	ljmp	$BOOT_CS, $long_mode

	.code64
long_mode:
	movl	$BOOT_DS, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs

	/* 4. startup_64 takes boot_params in %rsi; zero-extend %esi. */
	movl	%esi, %esi
	xorl	%eax, %eax
	xorl	%ebx, %ebx
	xorl	%ebp, %ebp
	xorl	%edi, %edi
	movq	$KERNEL_ENTRY, %rcx
	jmp	*%rcx

	.balign	8
gdt:
	.quad	0			/* null */
	.quad	0			/* unused */
	.quad	0x00af9a000000ffff	/* 0x10: 64-bit code, DPL 0 */
	.quad	0x00cf92000000ffff	/* 0x18: flat 4 GiB data */
gdt_end:

gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt

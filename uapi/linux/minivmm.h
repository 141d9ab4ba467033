/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * minivmm: a thin Intel VT-x hypervisor in a kernel module.
 *
 * The ioctl interface of /dev/minivmm and of the VM and vCPU file
 * descriptors it hands out. Documentation/api.rst is the reference.
 *
 * Every structure has a fixed size, explicit padding and reserved fields
 * that must be zero; every flags word rejects unknown bits with -EINVAL.
 */
#ifndef _UAPI_LINUX_MINIVMM_H
#define _UAPI_LINUX_MINIVMM_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#define MINIVMM_API_VERSION	1

#define MINIVMM_IO		0xB7	/* ioctl magic */

/* ---- /dev/minivmm ---------------------------------------------------- */

/* Features the module found and uses (struct minivmm_caps.features). */
#define MINIVMM_CAP_EPT			_BITULL(0)
#define MINIVMM_CAP_EPT_2M		_BITULL(1)
#define MINIVMM_CAP_EPT_1G		_BITULL(2)
#define MINIVMM_CAP_EPT_AD		_BITULL(3)
#define MINIVMM_CAP_VPID		_BITULL(4)
#define MINIVMM_CAP_UNRESTRICTED_GUEST	_BITULL(5)
#define MINIVMM_CAP_PREEMPTION_TIMER	_BITULL(6)
#define MINIVMM_CAP_MSR_BITMAP		_BITULL(7)
#define MINIVMM_CAP_IO_BITMAP		_BITULL(8)
#define MINIVMM_CAP_VIRTUAL_NMI		_BITULL(9)
#define MINIVMM_CAP_TRUE_CTLS		_BITULL(10)
#define MINIVMM_CAP_INVEPT_CONTEXT	_BITULL(11)
#define MINIVMM_CAP_INVVPID_CONTEXT	_BITULL(12)
/* The in-kernel I/O APIC, MINIVMM_IRQ_LINE, _SIGNAL_MSI, _IRQFD, _GET/SET_IOAPIC */
#define MINIVMM_CAP_IOAPIC		_BITULL(18)
/* MINIVMM_IOEVENTFD: guest writes that signal an eventfd without an exit */
#define MINIVMM_CAP_IOEVENTFD		_BITULL(20)
/* MINIVMM_POSTED_RANGE and the posted-write ring of each vCPU */
#define MINIVMM_CAP_POSTED_IO		_BITULL(21)
/* MINIVMM_MEM_LOG_DIRTY and MINIVMM_GET_DIRTY_LOG */
#define MINIVMM_CAP_DIRTY_LOG		_BITULL(22)
/* struct minivmm_run.immediate_exit */
#define MINIVMM_CAP_IMMEDIATE_EXIT	_BITULL(23)
/*
 * struct minivmm_run.handoff: userspace may complete an exit by writing
 * the run structure, with no ioctl, while the vCPU thread polls for the
 * answer (Documentation/api.rst, "Completing exits through the run
 * page"). Clear when the module parameter page_poll_ns is 0.
 */
#define MINIVMM_CAP_RUN_HANDOFF		_BITULL(24)
/* MINIVMM_LINT: the local APICs' LINT0 and LINT1 inputs */
#define MINIVMM_CAP_LINT		_BITULL(25)

/*
 * APIC virtualization assists of VMX (struct minivmm_caps.apic_assists
 * and .apic_assists_used): the control each names is one the CPU allows.
 */
#define MINIVMM_APIC_TPR_SHADOW		_BITUL(0)	/* use TPR shadow */
#define MINIVMM_APIC_VIRT_ACCESSES	_BITUL(1)	/* virtualize APIC accesses */
#define MINIVMM_APIC_REGISTER_VIRT	_BITUL(2)	/* APIC-register virtualization */
#define MINIVMM_APIC_VIRT_INTR_DELIVERY	_BITUL(3)	/* virtual-interrupt delivery */
#define MINIVMM_APIC_POSTED_INTR	_BITUL(4)	/* process posted interrupts */
#define MINIVMM_APIC_VIRT_X2APIC	_BITUL(5)	/* virtualize x2APIC mode */

#define MINIVMM_MAX_CPUS	256	/* CPUs described by vmx_cpus[] */

/**
 * struct minivmm_caps - what the module found, and VMX use right now
 * @vmcs_revision:	VMCS revision identifier (IA32_VMX_BASIC[30:0])
 * @vmcs_size:		bytes the CPU needs for a VMCS region
 * @features:		MINIVMM_CAP_* bits
 * @preemption_timer_shift: the preemption timer counts down once every
 *			2^shift TSC cycles (valid with MINIVMM_CAP_PREEMPTION_TIMER)
 * @tsc_khz:		host TSC frequency in kHz
 * @nr_cpus_online:	online CPUs
 * @nr_cpus_vmx:	CPUs in VMX operation now (0 when no VM exists)
 * @nr_vms:		VMs that exist now, in all processes
 * @max_vcpus:		vCPUs one VM may have
 * @max_mem_slots:	memory slots one VM may have
 * @pad:		zero
 * @vmx_cpus:		bitmap of the CPUs in VMX operation now (CPU n is bit
 *			n % 64 of vmx_cpus[n / 64]; CPUs >= 256 not shown)
 * @nr_vcpus:		vCPUs (each one a kernel thread) that exist now, in
 *			all VMs
 * @max_vms_per_user:	VMs one user may have at a time (0: no limit)
 * @max_vcpus_per_user:	vCPUs one user may have at a time (0: no limit)
 * @pad2:		zero
 * @pinned_pages:	pages of guest memory pinned now, in all VMs
 * @apic_assists:	MINIVMM_APIC_* assists the CPU offers
 * @apic_assists_used:	MINIVMM_APIC_* assists every vCPU uses; always a
 *			subset of @apic_assists. The local APIC emulates
 *			in software what no assist covers.
 * @reserved:		zero
 */
struct minivmm_caps {
	__u32 vmcs_revision;
	__u32 vmcs_size;
	__u64 features;
	__u32 preemption_timer_shift;
	__u32 tsc_khz;
	__u32 nr_cpus_online;
	__u32 nr_cpus_vmx;
	__u32 nr_vms;
	__u32 max_vcpus;
	__u32 max_mem_slots;
	__u32 pad;
	__u64 vmx_cpus[MINIVMM_MAX_CPUS / 64];
	__u32 nr_vcpus;
	__u32 max_vms_per_user;
	__u32 max_vcpus_per_user;
	__u32 pad2;
	__u64 pinned_pages;
	__u32 apic_assists;
	__u32 apic_assists_used;
	__u64 reserved[4];
};

/* Returns MINIVMM_API_VERSION. */
#define MINIVMM_GET_API_VERSION	_IO(MINIVMM_IO, 0x00)
#define MINIVMM_GET_CAPS	_IOR(MINIVMM_IO, 0x01, struct minivmm_caps)
/* The argument is a flags word; none is defined yet, so it must be 0. */
#define MINIVMM_CREATE_VM	_IO(MINIVMM_IO, 0x02)

/* ---- VM file descriptor --------------------------------------------- */

#define MINIVMM_MEM_READONLY	_BITUL(0)
/*
 * Log the pages the guest writes (MINIVMM_GET_DIRTY_LOG). Setting an
 * existing slot again with the same address, size and memory and only
 * this flag changed turns logging on or off, also while vCPUs run.
 */
#define MINIVMM_MEM_LOG_DIRTY	_BITUL(1)

/**
 * struct minivmm_memory_region - map caller memory into guest physical space
 * @slot:		slot number, below max_mem_slots
 * @flags:		MINIVMM_MEM_* bits
 * @guest_phys_addr:	page-aligned guest physical address
 * @size:		page-aligned size in bytes; 0 deletes the slot
 * @userspace_addr:	page-aligned address of the caller's memory
 */
struct minivmm_memory_region {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 size;
	__u64 userspace_addr;
};

#define MINIVMM_SET_MEMORY_REGION \
	_IOW(MINIVMM_IO, 0x10, struct minivmm_memory_region)
/* The argument is the vCPU id, below max_vcpus; returns a vCPU fd. */
#define MINIVMM_CREATE_VCPU	_IO(MINIVMM_IO, 0x11)

/* The I/O APIC every VM has (Documentation/design.rst). */
#define MINIVMM_IOAPIC_ADDR	0xfec00000ULL	/* guest physical, one page */
#define MINIVMM_IOAPIC_PINS	24

/**
 * struct minivmm_irq_line - raise or lower an I/O APIC input pin
 * @pin:	the pin, below MINIVMM_IOAPIC_PINS
 * @level:	1 asserts the line, 0 deasserts it (the device's view: the
 *		entry's polarity bit does not invert it)
 */
struct minivmm_irq_line {
	__u32 pin;
	__u32 level;
};

/**
 * struct minivmm_msi - a message signalled interrupt, as a device writes it
 * @address:	the x86 MSI address: 0xfee in bits 31:20, destination ID in
 *		19:12, redirection hint in bit 3, destination mode in bit 2;
 *		bits 63:32, 11:4 and 1:0 zero
 * @data:	the x86 MSI data: vector in bits 7:0, delivery mode in 10:8
 *		(fixed, lowest priority, SMI, NMI, INIT or ExtINT), level in
 *		bit 14, trigger mode in bit 15; the other bits zero
 * @flags:	zero
 * @pad:	zero
 */
struct minivmm_msi {
	__u64 address;
	__u32 data;
	__u32 flags;
	__u64 pad;
};

/* struct minivmm_irqfd.flags */
#define MINIVMM_IRQFD_DEASSIGN	_BITUL(0)	/* remove the irqfd of @fd */
#define MINIVMM_IRQFD_MSI	_BITUL(1)	/* send @msi_*, not a pin pulse */

/* irqfds one VM may have at a time; one more is -ENOSPC */
#define MINIVMM_MAX_IRQFDS	64

/**
 * struct minivmm_irqfd - an eventfd that interrupts the guest when written
 * @fd:		the eventfd
 * @pin:	without MINIVMM_IRQFD_MSI: the I/O APIC pin it pulses (raises
 *		and lowers); zero with MINIVMM_IRQFD_MSI or _DEASSIGN
 * @flags:	MINIVMM_IRQFD_* bits
 * @msi_data:	with MINIVMM_IRQFD_MSI: struct minivmm_msi's data; else zero
 * @msi_address: with MINIVMM_IRQFD_MSI: struct minivmm_msi's address; else
 *		zero
 * @reserved:	zero
 */
struct minivmm_irqfd {
	__s32 fd;
	__u32 pin;
	__u32 flags;
	__u32 msi_data;
	__u64 msi_address;
	__u64 reserved[2];
};

/**
 * struct minivmm_ioapic_state - the I/O APIC's registers and input lines
 * @id:		the ID register's APIC ID (bits 27:24 of register 0), 0-15
 * @ioregsel:	the register IOREGSEL selects, 0-255
 * @lines:	bit n: pin n's line is asserted now
 * @pad:	zero
 * @redir:	the redirection table; bits the hardware keeps at zero must
 *		be zero, remote IRR (bit 14) is restored as given
 * @reserved:	zero
 */
struct minivmm_ioapic_state {
	__u32 id;
	__u32 ioregsel;
	__u32 lines;
	__u32 pad;
	__u64 redir[MINIVMM_IOAPIC_PINS];
	__u64 reserved[4];
};

/* struct minivmm_lint.pin */
#define MINIVMM_LINT0		0	/* on a PC: the 8259's INTR */
#define MINIVMM_LINT1		1	/* on a PC: the NMI line */
/* struct minivmm_lint.vcpu: the line wired to every vCPU of the VM */
#define MINIVMM_LINT_ALL_VCPUS	0xffffffffU

/**
 * struct minivmm_lint - raise or lower a local APIC's LINT0 or LINT1 input
 * @vcpu:	the vCPU id whose APIC's input it is, below max_vcpus, or
 *		MINIVMM_LINT_ALL_VCPUS for the inputs of every vCPU
 * @pin:	MINIVMM_LINT0 or MINIVMM_LINT1
 * @level:	1 asserts the input, 0 deasserts it (the device's view: the
 *		LVT entry's polarity bit does not invert it)
 * @flags:	zero
 *
 * What an assertion does is what the guest put in the vCPU's LVT LINT0
 * or LINT1 entry (Documentation/api.rst).
 */
struct minivmm_lint {
	__u32 vcpu;
	__u32 pin;
	__u32 level;
	__u32 flags;
};

#define MINIVMM_IRQ_LINE	_IOW(MINIVMM_IO, 0x50, struct minivmm_irq_line)
#define MINIVMM_SIGNAL_MSI	_IOW(MINIVMM_IO, 0x51, struct minivmm_msi)
#define MINIVMM_IRQFD		_IOW(MINIVMM_IO, 0x52, struct minivmm_irqfd)
#define MINIVMM_GET_IOAPIC	_IOR(MINIVMM_IO, 0x53, struct minivmm_ioapic_state)
#define MINIVMM_SET_IOAPIC	_IOW(MINIVMM_IO, 0x54, struct minivmm_ioapic_state)
#define MINIVMM_LINT		_IOW(MINIVMM_IO, 0x55, struct minivmm_lint)

/* struct minivmm_ioeventfd.flags */
#define MINIVMM_IOEVENTFD_PIO		_BITUL(0)	/* @addr is a port */
#define MINIVMM_IOEVENTFD_DATAMATCH	_BITUL(1)	/* only @datamatch */
#define MINIVMM_IOEVENTFD_DEASSIGN	_BITUL(2)	/* remove it */

/* ioeventfds one VM may have at a time; one more is -ENOSPC */
#define MINIVMM_MAX_IOEVENTFDS	64

/**
 * struct minivmm_ioeventfd - an eventfd a guest write signals in the kernel
 * @addr:	with MINIVMM_IOEVENTFD_PIO the port (below 0x10000), else the
 *		guest physical address of the MMIO register
 * @datamatch:	with MINIVMM_IOEVENTFD_DATAMATCH the value a write must
 *		carry, below 2^(8 * @len); else zero
 * @len:	bytes of the write: 1, 2, 4 or 8 (1, 2 or 4 for a port)
 * @fd:		the eventfd
 * @flags:	MINIVMM_IOEVENTFD_* bits
 * @reserved:	zero
 *
 * A guest OUT, or a write to guest physical memory without RAM, of
 * exactly @len bytes at @addr (and of @datamatch with
 * MINIVMM_IOEVENTFD_DATAMATCH) adds 1 to the eventfd's count and the
 * guest goes on without an exit to userspace. Reads, string I/O (INS,
 * OUTS) and writes of another size, address or value exit as before.
 */
struct minivmm_ioeventfd {
	__u64 addr;
	__u64 datamatch;
	__u32 len;
	__s32 fd;
	__u32 flags;
	__u32 reserved;
};

#define MINIVMM_IOEVENTFD	_IOW(MINIVMM_IO, 0x58, struct minivmm_ioeventfd)

/* struct minivmm_posted_range.flags */
#define MINIVMM_POSTED_PIO	_BITUL(0)	/* ports, else guest physical */
#define MINIVMM_POSTED_DELETE	_BITUL(1)	/* remove the range */

/* posted ranges one VM may have at a time; one more is -ENOSPC */
#define MINIVMM_MAX_POSTED_RANGES	16

/**
 * struct minivmm_posted_range - guest writes that go to a ring, not out
 * @addr:	the first port (with MINIVMM_POSTED_PIO) or guest physical
 *		address of the range
 * @size:	ports or bytes in the range, at least 1
 * @flags:	MINIVMM_POSTED_* bits
 * @reserved:	zero
 *
 * A guest OUT, or a write to guest physical memory without RAM, that
 * lies wholly inside the range is appended to the writing vCPU's posted
 * ring (struct minivmm_posted_ring) and the guest goes on; when the ring
 * is full the write exits as it would without the range. Reads exit as
 * always. Userspace drains the ring of a vCPU before it handles any exit
 * of that vCPU, so that it sees the writes in the guest's order.
 */
struct minivmm_posted_range {
	__u64 addr;
	__u64 size;
	__u32 flags;
	__u32 reserved;
};

#define MINIVMM_POSTED_RANGE	_IOW(MINIVMM_IO, 0x59, struct minivmm_posted_range)

/**
 * struct minivmm_dirty_log - the pages of a slot written since the last call
 * @slot:	a slot with MINIVMM_MEM_LOG_DIRTY
 * @pad:	must be 0
 * @bitmap:	user address of the bitmap the call fills: bit N of the
 *		array of 64-bit words (N / 64, bit N % 64) is the slot's
 *		4 KiB page N; (pages + 63) / 64 words
 */
struct minivmm_dirty_log {
	__u32 slot;
	__u32 pad;
	__u64 bitmap;
};

#define MINIVMM_GET_DIRTY_LOG	_IOW(MINIVMM_IO, 0x60, struct minivmm_dirty_log)

/* ---- vCPU file descriptor ------------------------------------------- */

/**
 * struct minivmm_regs - general purpose registers, RIP and RFLAGS
 * @rax:	RAX
 * @rbx:	RBX
 * @rcx:	RCX
 * @rdx:	RDX
 * @rsi:	RSI
 * @rdi:	RDI
 * @rsp:	RSP
 * @rbp:	RBP
 * @r8:	R8
 * @r9:	R9
 * @r10:	R10
 * @r11:	R11
 * @r12:	R12
 * @r13:	R13
 * @r14:	R14
 * @r15:	R15
 * @rip:	instruction pointer
 * @rflags:	flags (bit 1 always set; reserved bits must be 0)
 */
struct minivmm_regs {
	__u64 rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	__u64 r8, r9, r10, r11, r12, r13, r14, r15;
	__u64 rip, rflags;
};

/**
 * struct minivmm_segment - a segment register as VMX holds it
 * @base:	linear base address
 * @limit:	byte-granular limit (the CPU view, after the G bit)
 * @selector:	selector
 * @pad:	zero
 * @attrib:	access rights in the VMCS format: type[3:0], S[4], DPL[6:5],
 *		P[7], AVL[12], L[13], D/B[14], G[15], unusable[16]
 * @reserved:	zero
 */
struct minivmm_segment {
	__u64 base;
	__u32 limit;
	__u16 selector;
	__u16 pad;
	__u32 attrib;
	__u32 reserved;
};

/**
 * struct minivmm_dtable - a descriptor-table register (GDTR, IDTR)
 * @base:	linear base address
 * @limit:	limit
 * @pad:	zero
 */
struct minivmm_dtable {
	__u64 base;
	__u16 limit;
	__u16 pad[3];
};

/**
 * struct minivmm_sregs - segment, control and system registers
 * @cs:		code segment
 * @ds:		data segment
 * @es:		extra segment
 * @fs:		FS
 * @gs:		GS
 * @ss:		stack segment
 * @tr:		task register
 * @ldt:	LDT register
 * @gdt:	GDTR
 * @idt:	IDTR
 * @cr0:	CR0 as the guest sees it
 * @cr2:	CR2
 * @cr3:	CR3
 * @cr4:	CR4 as the guest sees it
 * @efer:	IA32_EFER
 * @reserved:	zero
 */
struct minivmm_sregs {
	struct minivmm_segment cs, ds, es, fs, gs, ss, tr, ldt;
	struct minivmm_dtable gdt, idt;
	__u64 cr0, cr2, cr3, cr4, efer;
	__u64 reserved[4];
};

/**
 * struct minivmm_cpuid_entry - one CPUID leaf/subleaf the guest sees
 * @function:	EAX input
 * @index:	ECX input (subleaf); ignored without MINIVMM_CPUID_INDEXED
 * @flags:	MINIVMM_CPUID_* bits
 * @eax:	EAX output
 * @ebx:	EBX output
 * @ecx:	ECX output
 * @edx:	EDX output
 * @pad:	zero
 */
struct minivmm_cpuid_entry {
	__u32 function;
	__u32 index;
	__u32 flags;
	__u32 eax, ebx, ecx, edx;
	__u32 pad;
};

#define MINIVMM_CPUID_INDEXED	_BITUL(0)
#define MINIVMM_MAX_CPUID	128

/**
 * struct minivmm_cpuid - the guest's CPUID table
 * @nent:	entries at @entries, at most MINIVMM_MAX_CPUID (else -E2BIG)
 * @flags:	zero
 * @entries:	user pointer to an array of struct minivmm_cpuid_entry
 */
struct minivmm_cpuid {
	__u32 nent;
	__u32 flags;
	__u64 entries;
};

#define MINIVMM_GET_REGS	_IOR(MINIVMM_IO, 0x20, struct minivmm_regs)
#define MINIVMM_SET_REGS	_IOW(MINIVMM_IO, 0x21, struct minivmm_regs)
#define MINIVMM_GET_SREGS	_IOR(MINIVMM_IO, 0x22, struct minivmm_sregs)
#define MINIVMM_SET_SREGS	_IOW(MINIVMM_IO, 0x23, struct minivmm_sregs)
#define MINIVMM_SET_CPUID	_IOW(MINIVMM_IO, 0x24, struct minivmm_cpuid)
/* The argument is the vector, 32..255. */
#define MINIVMM_INJECT_INTERRUPT _IO(MINIVMM_IO, 0x25)
#define MINIVMM_RUN		_IO(MINIVMM_IO, 0x26)

/*
 * The argument must be 0. Makes an NMI pending; fails with -EOPNOTSUPP
 * without MINIVMM_CAP_VIRTUAL_NMI.
 */
#define MINIVMM_NMI		_IO(MINIVMM_IO, 0x48)

/**
 * struct minivmm_msr_entry - one MSR in a MINIVMM_GET/SET_MSRS list
 * @index:	the MSR number
 * @reserved:	zero
 * @data:	its value
 */
struct minivmm_msr_entry {
	__u32 index;
	__u32 reserved;
	__u64 data;
};

#define MINIVMM_MAX_MSRS	256

/**
 * struct minivmm_msrs - a list of MSRs to read or write
 * @nmsrs:	entries at @entries, at most MINIVMM_MAX_MSRS (else -E2BIG)
 * @flags:	zero
 * @entries:	user pointer to an array of struct minivmm_msr_entry
 */
struct minivmm_msrs {
	__u32 nmsrs;
	__u32 flags;
	__u64 entries;
};

/**
 * struct minivmm_msr_list - the MSRs the guest can use
 * @nmsrs:	in: room at @indices; out: how many there are
 * @flags:	zero
 * @indices:	user pointer to an array of __u32 MSR numbers
 */
struct minivmm_msr_list {
	__u32 nmsrs;
	__u32 flags;
	__u64 indices;
};

/* Both return the number of entries processed (see api.rst). */
#define MINIVMM_GET_MSRS	_IOW(MINIVMM_IO, 0x49, struct minivmm_msrs)
#define MINIVMM_SET_MSRS	_IOW(MINIVMM_IO, 0x4a, struct minivmm_msrs)
#define MINIVMM_GET_MSR_INDEX_LIST \
	_IOWR(MINIVMM_IO, 0x4b, struct minivmm_msr_list)

/**
 * struct minivmm_fpu - x87, SSE and XCR0 state
 * @fxsave:	the 512-byte FXSAVE image (64-bit format) of the x87 and SSE
 *		state; MXCSR bits the CPU reserves must be 0 (else -EINVAL)
 * @xcr0:	XCR0: XFEATURE FP, or FP | SSE (the values XSETBV accepts)
 * @flags:	zero
 * @pad:	zero
 * @reserved:	zero
 */
struct minivmm_fpu {
	__u8 fxsave[512];
	__u64 xcr0;
	__u32 flags;
	__u32 pad;
	__u64 reserved[6];
};

/**
 * struct minivmm_debugregs - the debug registers
 * @db:		DR0-DR3
 * @dr6:	DR6: bits 63:32 zero, the other non-status bits as they read
 *		(DR6_RESERVED of asm/debugreg.h, bit 12 clear)
 * @dr7:	DR7: bits 63:32, 15, 14, 12 and 11 zero, bit 10 set
 * @flags:	zero
 * @pad:	zero
 * @reserved:	zero
 */
struct minivmm_debugregs {
	__u64 db[4];
	__u64 dr6;
	__u64 dr7;
	__u32 flags;
	__u32 pad;
	__u64 reserved[5];
};

/* struct minivmm_vcpu_events.flags: the parts MINIVMM_SET_VCPU_EVENTS sets. */
#define MINIVMM_EVENTS_INJECTED	_BITUL(0)	/* the event of the next entry */
#define MINIVMM_EVENTS_QUEUED	_BITUL(1)	/* queued interrupt and NMI */
#define MINIVMM_EVENTS_NMI_MASK	_BITUL(2)	/* nmi.masked */
#define MINIVMM_EVENTS_SHADOW	_BITUL(3)	/* shadow */

/* struct minivmm_vcpu_events.exception.type */
#define MINIVMM_EXC_HARD	0	/* a fault, trap or abort */
#define MINIVMM_EXC_SOFT	1	/* INT3 (#BP) or INTO (#OF) */
#define MINIVMM_EXC_PRIV_SOFT	2	/* ICEBP (#DB) */

/* struct minivmm_vcpu_events.shadow */
#define MINIVMM_SHADOW_STI	_BITUL(0)
#define MINIVMM_SHADOW_MOV_SS	_BITUL(1)

/**
 * struct minivmm_vcpu_events - events on their way into the guest
 * @flags:		GET: every MINIVMM_EVENTS_* bit; SET: the parts to set
 * @insn_len:		bytes of the instruction behind an injected software
 *			event (INT n, INT3, INTO, ICEBP): 1-15; 0 otherwise
 * @shadow:		MINIVMM_SHADOW_* bits: STI or MOV SS blocks events
 *			for one instruction
 * @pad:		zero
 * @exception:		an exception delivered with the next entry
 * @exception.injected:	1 when there is one
 * @exception.vector:	0-31, not 2 (an NMI is @nmi.injected)
 * @exception.type:	MINIVMM_EXC_*
 * @exception.has_error_code: it pushes @exception.error_code
 * @exception.error_code: the error code
 * @interrupt:		interrupts
 * @interrupt.injected:	1 when an interrupt is delivered with the next entry
 * @interrupt.vector:	its vector
 * @interrupt.soft:	it is an INT n (else an external interrupt)
 * @interrupt.queued:	1 when a MINIVMM_INJECT_INTERRUPT vector waits
 *			for the guest to take interrupts
 * @interrupt.queued_vector: that vector, 32-255
 * @interrupt.pad:	zero
 * @nmi:		NMIs
 * @nmi.injected:	an NMI is delivered with the next entry
 * @nmi.pending:	an NMI waits for the guest to unblock NMIs
 * @nmi.masked:		NMIs are blocked (an NMI handler runs, until IRET)
 * @nmi.pad:		zero
 * @reserved:		zero
 *
 * At most one of @exception.injected, @interrupt.injected and
 * @nmi.injected is 1: the one event of the next entry.
 */
struct minivmm_vcpu_events {
	__u32 flags;
	__u8 insn_len;
	__u8 shadow;
	__u8 pad[2];
	struct {
		__u8 injected;
		__u8 vector;
		__u8 type;
		__u8 has_error_code;
		__u32 error_code;
	} exception;
	struct {
		__u8 injected;
		__u8 vector;
		__u8 soft;
		__u8 queued;
		__u8 queued_vector;
		__u8 pad[3];
	} interrupt;
	struct {
		__u8 injected;
		__u8 pending;
		__u8 masked;
		__u8 pad;
	} nmi;
	__u32 reserved[5];
};

/*
 * Each GET/SET pair below shares one number: the direction bits of the
 * ioctl code tell them apart.
 */
#define MINIVMM_GET_FPU		_IOR(MINIVMM_IO, 0x4c, struct minivmm_fpu)
#define MINIVMM_SET_FPU		_IOW(MINIVMM_IO, 0x4c, struct minivmm_fpu)
#define MINIVMM_GET_DEBUGREGS	_IOR(MINIVMM_IO, 0x4d, struct minivmm_debugregs)
#define MINIVMM_SET_DEBUGREGS	_IOW(MINIVMM_IO, 0x4d, struct minivmm_debugregs)
#define MINIVMM_GET_VCPU_EVENTS	_IOR(MINIVMM_IO, 0x4e, struct minivmm_vcpu_events)
#define MINIVMM_SET_VCPU_EVENTS	_IOW(MINIVMM_IO, 0x4e, struct minivmm_vcpu_events)

/* The local APIC's register page: the xAPIC layout, offsets 0x000-0x3ff. */
#define MINIVMM_LAPIC_REGS_SIZE	1024

/**
 * struct minivmm_lapic_state - a vCPU's local APIC
 * @regs:	the registers at their xAPIC offsets (asm/apicdef.h), each a
 *		32-bit little-endian value at the start of its 16-byte slot;
 *		everything else zero. The current count (0x390) is the count
 *		the guest would read now, the processor priority (0xa0) the
 *		one the TPR and ISR give. In x2APIC mode the ID (0x020) is
 *		the 32-bit x2APIC ID, the LDR (0x0d0) the logical ID derived
 *		from it and ICR2 (0x310) the high half of the 64-bit ICR.
 * @esr_pending: errors the APIC detected that the next ESR write makes
 *		visible (ESR bits)
 * @flags:	zero
 * @lint:	the LINT inputs asserted now (MINIVMM_LINT): bit 0 LINT0,
 *		bit 1 LINT1; the other bits zero
 * @pad:	zero
 * @reserved:	zero
 */
struct minivmm_lapic_state {
	__u8 regs[MINIVMM_LAPIC_REGS_SIZE];
	__u32 esr_pending;
	__u32 flags;
	__u32 lint;
	__u32 pad;
	__u64 reserved[6];
};

/* struct minivmm_mp_state.state: what RUN does with the vCPU */
#define MINIVMM_MP_STATE_RUNNABLE	0	/* runs the guest */
#define MINIVMM_MP_STATE_HALTED		1	/* sleeps in HLT for an interrupt */
#define MINIVMM_MP_STATE_WAIT_SIPI	2	/* waits for INIT/SIPI, as an AP */

/* struct minivmm_mp_state.flags: IPIs the APIC took and RUN acts on */
#define MINIVMM_MP_INIT_PENDING		_BITUL(0)	/* an INIT */
#define MINIVMM_MP_SIPI_PENDING		_BITUL(1)	/* a start-up IPI */

/**
 * struct minivmm_mp_state - a vCPU's run state
 * @state:	MINIVMM_MP_STATE_*
 * @flags:	MINIVMM_MP_*_PENDING: an INIT or start-up IPI that arrived
 *		and the next RUN carries out (INIT first)
 * @sipi_vector: the start-up IPI's vector with MINIVMM_MP_SIPI_PENDING,
 *		else zero
 * @pad:	zero
 */
struct minivmm_mp_state {
	__u32 state;
	__u32 flags;
	__u8 sipi_vector;
	__u8 pad[7];
};

#define MINIVMM_GET_LAPIC	_IOR(MINIVMM_IO, 0x40, struct minivmm_lapic_state)
#define MINIVMM_SET_LAPIC	_IOW(MINIVMM_IO, 0x40, struct minivmm_lapic_state)
#define MINIVMM_GET_MP_STATE	_IOR(MINIVMM_IO, 0x41, struct minivmm_mp_state)
#define MINIVMM_SET_MP_STATE	_IOW(MINIVMM_IO, 0x41, struct minivmm_mp_state)

/* ---- the shared run structure (mmap of a vCPU fd) ------------------ */

/*
 * A vCPU fd maps MINIVMM_RUN_MMAP_SIZE bytes at offset 0: struct
 * minivmm_run in the first page, then the data area of string I/O exits
 * (MINIVMM_RUN_DATA_SIZE bytes at MINIVMM_RUN_DATA_OFFSET).
 */
#define MINIVMM_RUN_DATA_OFFSET	4096
#define MINIVMM_RUN_DATA_SIZE	4096
#define MINIVMM_RUN_MMAP_SIZE	(MINIVMM_RUN_DATA_OFFSET + MINIVMM_RUN_DATA_SIZE)

/*
 * The posted-write ring of a vCPU: one page at offset
 * MINIVMM_POSTED_RING_OFFSET of the vCPU fd, mapped on its own.
 */
#define MINIVMM_POSTED_RING_OFFSET	8192
#define MINIVMM_POSTED_RING_SIZE	4096
#define MINIVMM_POSTED_RING_VERSION	1

/* struct minivmm_posted_entry.flags */
#define MINIVMM_POSTED_ENTRY_PIO	_BITUL(0)	/* an OUT, else MMIO */

/**
 * struct minivmm_posted_entry - one posted guest write
 * @addr:	the port or guest physical address
 * @data:	the value written, @len bytes of it
 * @len:	bytes: 1, 2 or 4 for a port; 1, 2, 4 or 8 for MMIO
 * @flags:	MINIVMM_POSTED_ENTRY_* bits
 */
struct minivmm_posted_entry {
	__u64 addr;
	__u64 data;
	__u32 len;
	__u32 flags;
};

/**
 * struct minivmm_posted_ring - a vCPU's ring of posted writes
 * @version:	MINIVMM_POSTED_RING_VERSION; set by the module
 * @entries:	entries in @entry; set by the module; the ring holds at
 *		most @entries - 1 writes
 * @head:	the next entry userspace reads: only userspace writes it,
 *		after it has read the entry (a release store)
 * @tail:	the next entry the module writes: only the module writes
 *		it, after the entry (userspace reads it with an acquire
 *		load); @head == @tail: empty
 * @reserved:	zero
 * @entry:	the writes, in the guest's order from @head to @tail
 *
 * A @head the module cannot use (at or past @entries) makes the ring
 * full: writes then exit as they would without a posted range.
 */
struct minivmm_posted_ring {
	__u32 version;
	__u32 entries;
	__u32 head;
	__u32 tail;
	__u64 reserved[6];
	struct minivmm_posted_entry entry[];
};

#define MINIVMM_POSTED_RING_ENTRIES					\
	((MINIVMM_POSTED_RING_SIZE - sizeof(struct minivmm_posted_ring)) / \
	 sizeof(struct minivmm_posted_entry))

enum minivmm_exit_reason {
	MINIVMM_EXIT_NONE		= 0,
	MINIVMM_EXIT_IO			= 1,
	MINIVMM_EXIT_MMIO		= 2,
	MINIVMM_EXIT_HLT		= 3,
	MINIVMM_EXIT_HYPERCALL		= 4,
	MINIVMM_EXIT_SHUTDOWN		= 5,
	MINIVMM_EXIT_FAIL_ENTRY		= 6,
	MINIVMM_EXIT_INTERNAL_ERROR	= 7,
	MINIVMM_EXIT_INTR		= 8,
};

#define MINIVMM_IO_IN		0
#define MINIVMM_IO_OUT		1

enum minivmm_internal_error {
	MINIVMM_INTERNAL_EMULATION	= 1,	/* instruction not decoded */
	MINIVMM_INTERNAL_UNSUPPORTED_IO	= 2,	/* INS/OUTS on memory without RAM */
	MINIVMM_INTERNAL_UNHANDLED_EXIT	= 3,	/* exit the module does not handle */
	MINIVMM_INTERNAL_EPT_MISCONFIG	= 4,	/* a hypervisor bug */
	MINIVMM_INTERNAL_DELIVERY	= 5,	/* exit while delivering an event */
};

/* Hypercalls: VMCALL with the number in RAX, arguments in RBX, RCX, RDX, RSI. */
#define MINIVMM_HC_NOP		0	/* answered in the kernel, RAX = 0 */
#define MINIVMM_HC_USER_BASE	0x100	/* numbers >= this go to userspace */
/* What RAX holds after a hypercall the kernel refused. */
#define MINIVMM_HC_ERR_UNKNOWN	((__u64)-38)	/* number below USER_BASE */
#define MINIVMM_HC_ERR_PERM	((__u64)-1)	/* from guest CPL 1-3 */

/**
 * struct minivmm_run - the exit that made MINIVMM_RUN return
 * @exit_reason:	MINIVMM_EXIT_*
 * @ready_for_interrupt: the guest could take an interrupt now (IF=1, no
 *			interrupt shadow); informational
 * @immediate_exit:	set by userspace: 1 makes MINIVMM_RUN complete the
 *			exit userspace answered (what the next RUN would do
 *			before entering the guest) and return -EINTR without
 *			entering it; 0 runs the guest; other values -EINVAL
 * @pad:		zero
 * @hw_exit_reason:	the VMX basic exit reason behind this exit
 * @handoff:		0 (MINIVMM_HANDOFF_OFF): exits are completed by
 *			MINIVMM_RUN only. Set by userspace to
 *			MINIVMM_HANDOFF_PARKED to complete them through this
 *			page too (MINIVMM_CAP_RUN_HANDOFF): a state in bits
 *			1:0 and a sequence number in bits 31:2, changed by
 *			both sides with atomic instructions only
 * @rip:		guest RIP when RUN returned: past the instruction for
 *			I/O, MMIO, HLT and hypercall exits
 * @io:			MINIVMM_EXIT_IO: an IN, OUT, INS or OUTS, with or
 *			without REP
 * @io.port:		the port
 * @io.size:		bytes of one element: 1, 2 or 4
 * @io.direction:	MINIVMM_IO_IN or MINIVMM_IO_OUT
 * @io.count:		elements in this exit: 1 for IN and OUT; for INS and
 *			OUTS a batch of up to MINIVMM_RUN_DATA_SIZE / size
 *			elements, in the order the guest executes them
 * @io.data:		the element of an IN or OUT (its data_offset points
 *			here)
 * @io.data_offset:	where the @io.count elements are, in bytes from the
 *			start of the mapping: the address of @io.data for IN
 *			and OUT, MINIVMM_RUN_DATA_OFFSET for INS and OUTS. OUT:
 *			the values written; IN: userspace stores the values
 *			read there before the next MINIVMM_RUN
 * @mmio:		MINIVMM_EXIT_MMIO: one access the guest made to guest
 *			physical memory without RAM (or a write to a read-only
 *			slot)
 * @mmio.phys_addr:	guest physical address
 * @mmio.data:		write: the value written; read: userspace stores the
 *			value read here before the next MINIVMM_RUN
 * @mmio.len:		bytes: 1, 2, 4 or 8
 * @mmio.is_write:	1 for a write, 0 for a read
 * @mmio.pad:		zero
 * @hypercall:		MINIVMM_EXIT_HYPERCALL
 * @fail_entry:		MINIVMM_EXIT_FAIL_ENTRY
 * @internal:		MINIVMM_EXIT_INTERNAL_ERROR
 * @padding:		room for future exits; the union's size
 * @exits:		VM exits of this vCPU since its creation
 * @entries:		VM entries of this vCPU since its creation
 *
 * Userspace answers an IN, INS, MMIO read or hypercall in the run
 * structure (io.data_offset, mmio.data, hypercall.ret) before the next
 * MINIVMM_RUN, which completes the instruction. An instruction that both
 * reads and writes device memory (an ALU operation, XCHG, BTS/BTR/BTC, a
 * MOVS between two MMIO addresses) makes two exits: the read, then, at
 * the MINIVMM_RUN that answers it, the write, without entering the guest
 * in between. A REP string instruction exits once per MMIO element, or
 * once per batch of port I/O elements, with RCX, RSI and RDI updated for
 * the elements done; RIP stays on the instruction until the last one,
 * so the guest takes interrupts between exits as a CPU would.
 */
struct minivmm_run {
	__u32 exit_reason;
	__u8 ready_for_interrupt;
	__u8 immediate_exit;
	__u8 pad[2];
	__u32 hw_exit_reason;
	__u32 handoff;			/* MINIVMM_HANDOFF() */
	__u64 rip;
	union {
		/* MINIVMM_EXIT_IO */
		struct {
			__u16 port;
			__u8 size;		/* 1, 2 or 4 */
			__u8 direction;		/* MINIVMM_IO_IN/OUT */
			__u32 count;
			__u32 data;
			__u32 data_offset;
		} io;
		/* MINIVMM_EXIT_MMIO */
		struct {
			__u64 phys_addr;
			__u64 data;
			__u32 len;
			__u8 is_write;
			__u8 pad[3];
		} mmio;
		/* MINIVMM_EXIT_HYPERCALL */
		struct {
			__u64 nr;
			__u64 args[4];
			__u64 ret;		/* returned to the guest in RAX */
		} hypercall;
		/* MINIVMM_EXIT_FAIL_ENTRY */
		struct {
			/* full exit reason (bit 31 set), or 0 */
			__u32 hardware_reason;
			/* VM-instruction error when hardware_reason is 0 */
			__u32 instruction_error;
			__u64 qualification;
		} fail_entry;
		/* MINIVMM_EXIT_INTERNAL_ERROR */
		struct {
			__u32 suberror;		/* enum minivmm_internal_error */
			__u32 ninsn;		/* valid bytes in insn */
			__u8 insn[16];
			__u64 data[4];		/* suberror specific */
		} internal;
		/* MINIVMM_EXIT_SHUTDOWN, _HLT, _INTR: no data */
		__u8 padding[256];
	};
	/* counters of this vCPU since creation */
	__u64 exits;
	__u64 entries;
};

/*
 * struct minivmm_run.handoff: a state and a sequence number.
 *   OFF     exits go through MINIVMM_RUN only; the module never writes it
 *   PARKED  no exit is published and the thread does not poll: answer
 *           with MINIVMM_RUN
 *   USER    the exit numbered seq is in the run structure and the thread
 *           polls: answer it, then cmpxchg USER(seq) to KERNEL(seq)
 *   KERNEL  the answer to exit seq is being completed, the guest runs:
 *           the next exit comes as USER(seq + 1), or PARKED
 */
#define MINIVMM_HANDOFF_OFF		0
#define MINIVMM_HANDOFF_PARKED		1
#define MINIVMM_HANDOFF_USER		2
#define MINIVMM_HANDOFF_KERNEL		3
#define MINIVMM_HANDOFF_STATE_MASK	3
#define MINIVMM_HANDOFF_SEQ_SHIFT	2
#define MINIVMM_HANDOFF(state, seq) \
	((__u32)((__u32)(seq) << MINIVMM_HANDOFF_SEQ_SHIFT | (state)))
#define MINIVMM_HANDOFF_STATE(word)	((word) & MINIVMM_HANDOFF_STATE_MASK)
#define MINIVMM_HANDOFF_SEQ(word)	((__u32)(word) >> MINIVMM_HANDOFF_SEQ_SHIFT)

/* ---- generic netlink family "minivmm" -------------------------------- */

/*
 * Statistics and events. A VM is visible to its creator's effective uid
 * and to CAP_SYS_ADMIN; the "events" multicast group is open to every
 * user and carries only the event, the VM id and, where they apply, the
 * vCPU id and the hardware exit reason.
 */
#define MINIVMM_GENL_NAME		"minivmm"
#define MINIVMM_GENL_VERSION		1
#define MINIVMM_GENL_MCGRP_EVENTS	"events"

enum minivmm_genl_cmd {
	MINIVMM_CMD_UNSPEC,
	MINIVMM_CMD_GET_CAPS,	/* reply: MINIVMM_A_CAPS */
	MINIVMM_CMD_LIST_VMS,	/* dump: one message per VM, VM attributes */
	/* MINIVMM_A_VM_ID; reply: VM attributes, a MINIVMM_A_VCPU per vCPU */
	MINIVMM_CMD_GET_STATS,
	MINIVMM_CMD_EVENT,	/* multicast: MINIVMM_A_EVENT, VM and vCPU ids */
	__MINIVMM_CMD_MAX,
};

#define MINIVMM_CMD_MAX (__MINIVMM_CMD_MAX - 1)

enum minivmm_genl_attr {
	MINIVMM_A_UNSPEC,
	MINIVMM_A_PAD,
	MINIVMM_A_CAPS,			/* binary: struct minivmm_caps */
	MINIVMM_A_VM_ID,		/* u32 */
	MINIVMM_A_VM_PID,		/* u32: creator's thread group */
	MINIVMM_A_VM_UID,		/* u32: creator's effective uid */
	MINIVMM_A_VM_NR_VCPUS,		/* u32 */
	MINIVMM_A_VM_MEM_BYTES,		/* u64: guest memory mapped */
	MINIVMM_A_VCPU,			/* nest: MINIVMM_A_VCPU_* */
	MINIVMM_A_VCPU_ID,		/* u32 */
	MINIVMM_A_VCPU_ENTRIES,		/* u64 */
	MINIVMM_A_VCPU_EXITS,		/* u64 */
	MINIVMM_A_VCPU_GUEST_NS,	/* u64: time in guest mode */
	/* nest: type = VMX basic exit reason + 1, u64 count, nonzero only */
	MINIVMM_A_VCPU_EXIT_REASONS,
	MINIVMM_A_EVENT,		/* u32: enum minivmm_event */
	MINIVMM_A_EXIT_REASON,		/* u32: hardware reason of an event */
	MINIVMM_A_VM_EPT_4K,		/* u64: EPT leaves mapping 4 KiB */
	MINIVMM_A_VM_EPT_2M,		/* u64: EPT leaves mapping 2 MiB */
	/* u64: hand-off waits that polling ended (module parameter poll_ns) */
	MINIVMM_A_VCPU_POLL_HITS,
	MINIVMM_A_VCPU_POLL_MISSES,	/* u64: waits that polled, then slept */
	/* u64: exits MINIVMM_RUN returned to userspace (it returned 0) */
	MINIVMM_A_VCPU_USER_EXITS,
	MINIVMM_A_VCPU_POSTED_WRITES,	/* u64: writes put in the posted ring */
	/* u64: writes of a posted range that exited: the ring was full */
	MINIVMM_A_VCPU_POSTED_FULL,
	/* u64: guest writes that signalled an ioeventfd */
	MINIVMM_A_VCPU_IOEVENTFD_SIGNALS,
	/*
	 * u64: LINT0/LINT1 assertions the vCPU's APIC dropped because its
	 * LVT entry asks for what nothing supplies (ExtINT: no 8259; SMI:
	 * no SMM; a reserved delivery mode)
	 */
	MINIVMM_A_VCPU_LINT_DROPPED,
	__MINIVMM_A_MAX,
};

#define MINIVMM_A_MAX (__MINIVMM_A_MAX - 1)

enum minivmm_event {
	MINIVMM_EVENT_VM_CREATED	= 1,
	MINIVMM_EVENT_VM_DESTROYED	= 2,
	MINIVMM_EVENT_VCPU_SHUTDOWN	= 3,	/* triple fault */
	MINIVMM_EVENT_ENTRY_FAILED	= 4,	/* MINIVMM_EXIT_FAIL_ENTRY */
};

#endif /* _UAPI_LINUX_MINIVMM_H */

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
	__u64 reserved[5];
};

/* Returns MINIVMM_API_VERSION. */
#define MINIVMM_GET_API_VERSION	_IO(MINIVMM_IO, 0x00)
#define MINIVMM_GET_CAPS	_IOR(MINIVMM_IO, 0x01, struct minivmm_caps)
/* The argument is a flags word; none is defined yet, so it must be 0. */
#define MINIVMM_CREATE_VM	_IO(MINIVMM_IO, 0x02)

/* ---- VM file descriptor --------------------------------------------- */

#define MINIVMM_MEM_READONLY	_BITUL(0)

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

/* ---- the shared run structure (mmap of a vCPU fd) ------------------ */

/*
 * A vCPU fd maps MINIVMM_RUN_MMAP_SIZE bytes at offset 0: struct
 * minivmm_run in the first page, then the data area of string I/O exits
 * (MINIVMM_RUN_DATA_SIZE bytes at MINIVMM_RUN_DATA_OFFSET).
 */
#define MINIVMM_RUN_DATA_OFFSET	4096
#define MINIVMM_RUN_DATA_SIZE	4096
#define MINIVMM_RUN_MMAP_SIZE	(MINIVMM_RUN_DATA_OFFSET + MINIVMM_RUN_DATA_SIZE)

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
 * @pad:		zero
 * @hw_exit_reason:	the VMX basic exit reason behind this exit
 * @pad2:		zero
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
	__u8 pad[3];
	__u32 hw_exit_reason;
	__u32 pad2;
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

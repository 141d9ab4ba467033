/* SPDX-License-Identifier: GPL-2.0 */
/*
 * minivmm internal interfaces, shared by the files of the module.
 *
 * main.c	/dev/minivmm, module parameters, init and exit
 * vmx_caps.c	the one place that reads VMX capabilities and picks controls
 * vmx_cpu.c	VMXON/VMXOFF on every CPU, CPU hotplug, reboot
 * vm.c		the VM file descriptor: memory slots, vCPU creation
 * ept.c	the EPT tables that map guest physical memory
 * vcpu.c	the vCPU file descriptor and the vCPU's kernel thread
 * vmcs.c	VMCS set-up and the guest state behind GET/SET_(S)REGS
 * vmenter.S	entering the guest and coming back
 * exit.c	the exit handlers, one per basic exit reason
 * emulate.c	guest memory access and MMIO instruction decoding
 * cpuid.c	the CPUID table a guest sees
 * netlink.c	the generic netlink family: statistics and events
 */
#ifndef MINIVMM_H
#define MINIVMM_H

#include <linux/types.h>
#include <linux/cpumask.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <asm/fpu/types.h>
#include <asm/vmx.h>
#include <uapi/linux/minivmm.h>

#include "compat.h"

#define MINIVMM_MAX_VCPUS	16
#define MINIVMM_MAX_MEM_SLOTS	32

/**
 * struct vmx_config - what vmx_check_features() found and decided
 * @revision_id:	VMCS revision identifier
 * @vmcs_size:		bytes of a VMCS region
 * @features:		MINIVMM_CAP_* bits
 * @pin_based:		pin-based VM-execution controls
 * @cpu_based:		primary processor-based VM-execution controls
 * @cpu_based2:		secondary processor-based VM-execution controls
 * @vmexit:		VM-exit controls
 * @vmentry:		VM-entry controls, without "IA-32e mode guest"
 * @ept_vpid_cap:	IA32_VMX_EPT_VPID_CAP
 * @preemption_timer_shift: the timer ticks every 2^shift TSC cycles
 * @cr0_fixed0:		CR0 bits that must be 1 in VMX operation
 * @cr0_fixed1:		CR0 bits that may be 1 in VMX operation
 * @cr4_fixed0:		CR4 bits that must be 1 in VMX operation
 * @cr4_fixed1:		CR4 bits that may be 1 in VMX operation
 *
 * Every VMCS control value is computed once, here, from the capability
 * MSRs; a vCPU's VMCS copies them.
 */
struct vmx_config {
	u32 revision_id;
	u32 vmcs_size;
	u64 features;
	u32 pin_based;
	u32 cpu_based;
	u32 cpu_based2;
	u32 vmexit;
	u32 vmentry;
	u64 ept_vpid_cap;
	u32 preemption_timer_shift;
	u64 cr0_fixed0, cr0_fixed1;
	u64 cr4_fixed0, cr4_fixed1;
};

extern struct vmx_config vmx_config;
extern bool vmx_rebooting;

/**
 * struct loaded_vmcs - a VMCS region and where it is active
 * @vmcs:	the region (one page)
 * @pa:		its physical address
 * @cpu:	the CPU it is active on, or -1 when clear
 * @launched:	VMLAUNCHed since it became active (else VMRESUME is invalid)
 * @node:	on the per-CPU list of active VMCSs
 */
struct loaded_vmcs {
	void *vmcs;
	u64 pa;
	int cpu;
	bool launched;
	struct list_head node;
};

/* Guest general purpose registers, in x86 encoding order. */
enum {
	R_RAX, R_RCX, R_RDX, R_RBX, R_RSP, R_RBP, R_RSI, R_RDI,
	R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15,
	NR_GPRS
};

#define NR_EXIT_REASONS	(EXIT_REASON_NOTIFY + 1)

/**
 * struct mem_slot - guest physical memory backed by pinned user pages
 * @gpa:	first guest physical address
 * @size:	bytes
 * @uaddr:	the caller's address it came from
 * @flags:	MINIVMM_MEM_*
 * @pages:	the pinned pages, size / PAGE_SIZE of them
 */
struct mem_slot {
	u64 gpa;
	u64 size;
	u64 uaddr;
	u32 flags;
	struct page **pages;
};

/**
 * struct ept - one VM's extended page tables
 * @root:	the PML4 page
 * @eptp:	the EPT pointer every vCPU of the VM uses
 * @tables:	pages of every level, freed with the VM
 * @nr_4k:	leaf entries mapping 4 KiB pages
 * @nr_2m:	leaf entries mapping 2 MiB pages
 */
struct ept {
	u64 *root;
	u64 eptp;
	struct list_head tables;
	unsigned long nr_4k, nr_2m;
};

struct vcpu;

/**
 * struct vm - a virtual machine
 * @id:		unique while the module is loaded
 * @refs:	the VM fd and every vCPU fd hold one
 * @mm:		the address space its memory comes from
 * @owner:	thread group that created it
 * @announced:	the "VM created" event went out
 * @uid:	effective uid that created it
 * @mem_bytes:	guest memory mapped now
 * @lock:	serialises memory map changes and vCPU creation
 * @slots:	memory slots (size 0 when unused)
 * @running:	vCPUs inside MINIVMM_RUN now; vm->lock
 * @ept:	guest physical to host physical
 * @vcpus:	by id; vm->lock
 * @nr_vcpus:	vCPUs that exist now; vm->lock
 * @node:	on the list of all VMs
 */
struct vm {
	unsigned int id;
	refcount_t refs;
	struct mm_struct *mm;
	struct pid *owner;
	bool announced;
	kuid_t uid;
	u64 mem_bytes;
	struct mutex lock;		/* memory map and vCPU creation */
	struct mem_slot slots[MINIVMM_MAX_MEM_SLOTS];
	unsigned int running;
	struct ept ept;
	struct vcpu *vcpus[MINIVMM_MAX_VCPUS];
	unsigned int nr_vcpus;
	struct list_head node;
};

/* A vCPU's pending work for its thread. */
enum vcpu_request { REQ_NONE, REQ_RUN, REQ_CALL };

/* An exit userspace must complete before the guest resumes. */
enum vcpu_pending { DONE, PIO_IN, MMIO_READ, HYPERCALL };

/**
 * struct vcpu - a virtual CPU and the kernel thread that runs it
 * @vm:			the VM
 * @id:			vCPU id
 * @ioctl_lock:		one ioctl at a time
 * @thread:		the kernel thread
 * @wq:			where the thread waits for work
 * @done_wq:		where ioctls wait for the thread's answer
 * @request:		the work handed to the thread
 * @call_fn:		for REQ_CALL: the function to call
 * @call_arg:		for REQ_CALL: its argument
 * @result:		the answer to the request
 * @kick:		leave the guest and return -EINTR
 * @vmcs:		the VMCS and where it is active
 * @vpid:		VPID, 0 when none
 * @host_rsp:		HOST_RSP as last written
 * @host_cr3:		HOST_CR3 as last written
 * @host_cr4:		HOST_CR4 as last written
 * @cpu_based:		primary controls as last written
 * @entry_ctls:		VM-entry controls as last written
 * @regs:		general purpose registers (RSP lives in the VMCS)
 * @cr0:		CR0 as the guest sees it
 * @cr4:		CR4 as the guest sees it
 * @cr2:		CR2
 * @cr8:		CR8 (TPR), emulated
 * @xcr0:		XCR0
 * @dr:			DR0-DR3, emulated
 * @dr6:		DR6, emulated
 * @dr7:		DR7, emulated
 * @star:		IA32_STAR
 * @lstar:		IA32_LSTAR
 * @cstar:		IA32_CSTAR
 * @sfmask:		IA32_FMASK
 * @kernel_gs_base:	IA32_KERNEL_GS_BASE
 * @syscall_msrs:	the guest wrote one of the five above: switch them
 * @tsc_offset:		TSC offset
 * @fpu:		x87 and SSE state (FXSAVE image)
 * @vapic:		virtual-APIC page: the guest's TPR (CR8) lives here
 * @pending_irq:	vector from MINIVMM_INJECT_INTERRUPT, or -1
 * @event_injected:	this entry already delivers an event
 * @reinject_info:	IDT-vectoring information of an event to deliver again
 * @reinject_err:	its error code
 * @reinject_len:	its instruction length
 * @exit_reason:	VMX exit reason of the exit being handled
 * @exit_qual:		its qualification
 * @pending:		what userspace must complete
 * @pending_reg:	the GPR an MMIO read lands in
 * @pending_len:	bytes the completion writes to it
 * @pending_high8:	the GPR is AH, CH, DH or BH
 * @run:		the run structure shared with userspace
 * @cpuid:		the MINIVMM_SET_CPUID table, or NULL
 * @cpuid_nent:		its entries
 * @exits:		exits per VMX basic exit reason
 * @nr_entries:		VM entries
 * @nr_exits:		VM exits
 * @guest_ns:		time in guest mode
 * @fail_dumped:	the first failed entry was logged
 * @host_debugctl:	host IA32_DEBUGCTL, restored after exits
 *
 * Only the vCPU's thread touches its VMCS: ioctls hand it work (a RUN, or
 * a function to call with the VMCS loaded) and wait for the answer.
 */
struct vcpu {
	struct vm *vm;
	unsigned int id;
	struct mutex ioctl_lock;	/* one ioctl at a time */

	struct task_struct *thread;
	wait_queue_head_t wq;
	wait_queue_head_t done_wq;
	enum vcpu_request request;
	int (*call_fn)(struct vcpu *vcpu, void *arg);
	void *call_arg;
	int result;
	bool kick;

	struct loaded_vmcs vmcs;
	u16 vpid;
	unsigned long host_rsp;
	unsigned long host_cr3, host_cr4;
	u32 cpu_based;
	u32 entry_ctls;

	unsigned long regs[NR_GPRS];
	unsigned long cr0, cr4;
	unsigned long cr2;
	u64 cr8;
	u64 xcr0;
	unsigned long dr[4], dr6, dr7;
	u64 star, lstar, cstar, sfmask, kernel_gs_base;
	bool syscall_msrs;
	u64 tsc_offset;
	struct fxregs_state *fpu;
	void *vapic;

	int pending_irq;
	bool event_injected;
	u32 reinject_info;
	u32 reinject_err, reinject_len;

	u32 exit_reason;
	unsigned long exit_qual;

	enum vcpu_pending pending;
	int pending_reg;
	int pending_len;
	bool pending_high8;

	struct minivmm_run *run;
	struct minivmm_cpuid_entry *cpuid;
	unsigned int cpuid_nent;

	u64 exits[NR_EXIT_REASONS];
	u64 nr_entries, nr_exits;
	u64 guest_ns;
	bool fail_dumped;
	unsigned long host_debugctl;
};

/* vmx_caps.c */
int vmx_check_features(void);
void vmx_fill_caps(struct minivmm_caps *caps);

/* vmx_cpu.c */
int vmx_engine_init(void);
void vmx_engine_exit(void);
int vmx_get(void);
void vmx_put(void);
void vmx_cpus_on(struct cpumask *mask);
bool vmx_this_cpu_on(void);
bool loaded_vmcs_load(struct loaded_vmcs *v);
void loaded_vmcs_clear(struct loaded_vmcs *v);

/* vm.c */
int vm_create(unsigned long flags);
unsigned int vm_count(void);
void vm_put(struct vm *vm);
struct vm *vm_get_by_id(unsigned int id);
struct vm *vm_get_next(unsigned int after_id);
struct mem_slot *vm_find_slot(struct vm *vm, u64 gpa);

/* ept.c */
int ept_init(struct ept *ept);
void ept_destroy(struct ept *ept);
int ept_map_slot(struct ept *ept, struct mem_slot *slot);
void ept_unmap_range(struct ept *ept, u64 gpa, u64 size);
void ept_flush_all_cpus(struct ept *ept);

/* vcpu.c */
int vcpu_create(struct vm *vm, unsigned long id);
void vcpu_read_host_state(void);

/* vmenter.S; minivmm_vmexit is where the CPU lands on VM exit */
void minivmm_vmexit(void);
int minivmm_vmenter(unsigned long *regs, bool launched,
		    unsigned long *host_rsp, unsigned long host_rsp_field);

/* vmcs.c */
int vmcs_setup(struct vcpu *vcpu);
void vmcs_refresh_host_percpu(struct vcpu *vcpu);
int vcpu_get_sregs(struct vcpu *vcpu, void *arg);
int vcpu_set_sregs(struct vcpu *vcpu, void *arg);
int vcpu_get_regs(struct vcpu *vcpu, void *arg);
int vcpu_set_regs(struct vcpu *vcpu, void *arg);
int vcpu_set_cr0(struct vcpu *vcpu, unsigned long val);
int vcpu_set_cr4(struct vcpu *vcpu, unsigned long val);
int vcpu_set_efer(struct vcpu *vcpu, u64 val);
void vmcs_dump(struct vcpu *vcpu);
u16 vpid_alloc(void);
void vpid_free(u16 vpid);
int vmx_alloc_bitmaps(void);
void vmx_free_bitmaps(void);

/* exit.c */
int vcpu_handle_exit(struct vcpu *vcpu);
void vcpu_inject_exception(struct vcpu *vcpu, u8 vector, bool has_err,
			   u32 err);
void vcpu_skip_insn(struct vcpu *vcpu);
void vcpu_complete_userspace(struct vcpu *vcpu);

/* emulate.c */
int guest_read_phys(struct vm *vm, u64 gpa, void *buf, unsigned int len);
int guest_fetch_insn(struct vcpu *vcpu, u8 *buf, unsigned int len);
int emulate_mmio(struct vcpu *vcpu, u64 gpa);
int vcpu_load_pdptrs(struct vcpu *vcpu, unsigned long cr3);

/* cpuid.c */
void cpuid_emulate(struct vcpu *vcpu);

/* netlink.c */
int minivmm_netlink_init(void);
void minivmm_netlink_exit(void);
void minivmm_event(enum minivmm_event event, struct vm *vm, int vcpu_id,
		   u32 reason);

/* main.c */
int minivmm_fill_caps(struct minivmm_caps *caps);

#endif /* MINIVMM_H */

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
 * state.c	MSR, FPU, debug register and event state for userspace
 * vmcs.c	VMCS set-up and the guest state behind GET/SET_(S)REGS
 * vmenter.S	entering the guest and coming back
 * exit.c	the exit handlers, one per basic exit reason
 * emulate.c	guest memory access and MMIO instruction decoding
 * cpuid.c	the CPUID table a guest sees
 * msr.c	the MSRs a guest sees: one table
 * lapic.c	the local APIC of each vCPU, and IPI delivery
 * netlink.c	the generic netlink family: statistics and events
 * limits.c	per-user limits, memory pinning charges, live counts
 * ioapic.c	the I/O APIC, interrupt lines, MSIs and irqfds
 * ioeventfd.c	guest writes that signal an eventfd without an exit
 * posted.c	guest writes appended to a ring without an exit
 */
#ifndef MINIVMM_H
#define MINIVMM_H

#include <linux/types.h>
#include <linux/cpumask.h>
#include <linux/hrtimer.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/rcuwait.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <asm/fpu/types.h>
#include <asm/page.h>
#include <asm/vmx.h>
#include <uapi/linux/minivmm.h>

#include "compat.h"

#define MINIVMM_MAX_VCPUS	16
#define MINIVMM_MAX_MEM_SLOTS	32
#define MINIVMM_MSR_SLOTS	32	/* MSR values msr.c keeps per vCPU */

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
 * @apic_assists:	MINIVMM_APIC_* assists the CPU offers
 * @apic_assists_used:	MINIVMM_APIC_* assists the controls above turn on
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
	u32 apic_assists;
	u32 apic_assists_used;
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
 * @flags:	MINIVMM_MEM_*; MINIVMM_MEM_LOG_DIRTY as last set (under
 *		vm->lock), @dirty_bitmap says whether logging is on now
 * @pages:	the pinned pages, size / PAGE_SIZE of them
 * @dirty_bitmap: one bit per page written since MINIVMM_GET_DIRTY_LOG last
 *		took it, NULL while logging is off; changed under vm->lock,
 *		read under rcu_read_lock(), bits set and cleared atomically
 */
struct mem_slot {
	u64 gpa;
	u64 size;
	u64 uaddr;
	u32 flags;
	struct page **pages;
	unsigned long __rcu *dirty_bitmap;
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
struct vmm_user;
struct ioapic;

/**
 * struct vm - a virtual machine
 * @id:		unique while the module is loaded
 * @refs:	the VM fd and every vCPU fd hold one
 * @mm:		the address space its memory comes from
 * @owner:	thread group that created it
 * @announced:	the "VM created" event went out
 * @uid:	effective uid that created it
 * @user:	the user its VMs, vCPUs and pinned pages are charged to
 * @mem_bytes:	guest memory mapped now
 * @lock:	serialises memory map changes and vCPU creation; never held
 *		across pinning user memory or running a guest
 * @slots:	memory slots, NULL when unused; changed under vm->lock, read
 *		under rcu_read_lock() (a deleted slot's pages are unpinned
 *		only after a grace period)
 * @slots_end:	one past the last slot in use, 0 with none: vm_find_slot()
 *		looks no further; changed under vm->lock
 * @running:	vCPUs inside MINIVMM_RUN now (vm_run_begin())
 * @map_changing: a memory map change is in progress, under vm->lock
 * @ept:	guest physical to host physical
 * @vcpus:	by id; changed under vm->lock, read under rcu_read_lock()
 * @nr_vcpus:	vCPUs that exist now; vm->lock
 * @node:	on the list of all VMs
 * @ioapic:	the I/O APIC (ioapic.c), from creation to destruction
 * @ioeventfd_lock: serialises changes of @ioeventfds
 * @ioeventfds:	registered ioeventfds (ioeventfd.c); changed under
 *		@ioeventfd_lock, read under rcu_read_lock()
 * @nr_ioeventfds: how many; @ioeventfd_lock
 * @posted_lock: serialises changes of @posted
 * @posted:	posted-write ranges (posted.c); changed under @posted_lock,
 *		read under rcu_read_lock()
 * @nr_posted:	how many; @posted_lock
 */
struct vm {
	unsigned int id;
	refcount_t refs;
	struct mm_struct *mm;
	struct pid *owner;
	bool announced;
	kuid_t uid;
	struct vmm_user *user;
	u64 mem_bytes;
	struct mutex lock;		/* memory map and vCPU creation */
	struct mem_slot __rcu *slots[MINIVMM_MAX_MEM_SLOTS];
	unsigned int slots_end;
	atomic_t running;
	bool map_changing;
	struct ept ept;
	struct vcpu __rcu *vcpus[MINIVMM_MAX_VCPUS];
	unsigned int nr_vcpus;
	struct list_head node;
	struct ioapic *ioapic;
	struct mutex ioeventfd_lock;	/* changes of the ioeventfd list */
	struct list_head ioeventfds;
	unsigned int nr_ioeventfds;
	struct mutex posted_lock;	/* changes of the posted ranges */
	struct list_head posted;
	unsigned int nr_posted;
};

/*
 * The APIC timer's input clock, in kHz, before the divide configuration:
 * 1 GHz, one count per nanosecond. CPUID leaf 0x40000010 EBX reports it.
 */
#define LAPIC_BUS_KHZ		1000000

/**
 * struct apic_irq - a message to local APICs: an ICR write, an I/O APIC
 *		     pin or an MSI
 * @dest:		APIC ID, or logical destination
 * @vector:		the vector
 * @delivery_mode:	APIC_DM_FIXED ... APIC_DM_EXTINT, as in the ICR
 * @logical:		logical destination mode
 * @level:		level-triggered (sets the TMR bit)
 * @shorthand:		APIC_DEST_NOSHORT, _SELF, _ALLINC or _ALLBUT
 *
 * The APIC_DM_* and APIC_DEST_* values are the ICR's bits in place
 * (0x100-0x700, 0x40000-0xc0000): @delivery_mode and @shorthand are
 * wide enough to hold them.
 */
struct apic_irq {
	u32 dest;
	u8 vector;
	u32 delivery_mode;
	bool logical;
	bool level;
	u32 shorthand;
};

/**
 * struct lapic - a vCPU's local APIC; the registers are vcpu->vapic
 * @lock:		the registers and the fields below; any context, taken
 *			with interrupts off
 * @base:		IA32_APIC_BASE
 * @timer:		the APIC timer (one-shot, periodic, TSC deadline)
 * @armed:		@timer is meant to fire
 * @start:		when the current count period began
 * @period_ns:		one-shot or periodic: nanoseconds of the count
 * @tsc_deadline:	IA32_TSC_DEADLINE (guest TSC), 0 when disarmed
 * @esr_pending:	errors the next ESR write makes visible
 * @tpr_threshold:	TPR_THRESHOLD as last written (vCPU thread only)
 * @irr_pending:	the IRR may hold a vector: set with one, cleared by
 *			the vCPU thread when it finds the IRR empty; read
 *			without the lock, so that an entry with nothing
 *			pending takes no lock (a vector set meanwhile comes
 *			with a wake-up that makes the next entry see it)
 * @init_pending:	an INIT arrived: the thread resets the vCPU
 * @sipi_pending:	a start-up IPI arrived in wait-for-SIPI
 * @sipi_vector:	its vector
 * @lint:		the LINT inputs asserted now: bit 0 LINT0, bit 1 LINT1
 *			(MINIVMM_LINT); kept across INIT, as the wires are
 * @lint_dropped:	LINT assertions whose LVT entry asked for what nothing
 *			supplies (ExtINT, SMI, a reserved mode, an NMI
 *			without virtual NMIs)
 */
struct lapic {
	spinlock_t lock;	/* the registers and this structure */
	u64 base;
	struct hrtimer timer;
	bool armed;
	ktime_t start;
	u64 period_ns;
	u64 tsc_deadline;
	u32 esr_pending;
	u32 tpr_threshold;
	bool irr_pending;
	bool init_pending;
	bool sipi_pending;
	u8 sipi_vector;
	u8 lint;
	u64 lint_dropped;
};

/* What a vCPU's thread does with RUN: run the guest, or wait in HLT or
 * for a start-up IPI.
 */
enum vcpu_mp_state { MP_RUNNABLE, MP_HALTED, MP_WAIT_SIPI };

/* A vCPU's pending work for its thread. */
enum vcpu_request { REQ_NONE, REQ_RUN, REQ_CALL };

/*
 * Who has a vCPU's thread (vcpu->own): nobody, an ioctl that hands it a
 * function (under ioctl_lock), MINIVMM_RUN, a run the thread began itself
 * for an answer written in the run page, or such a run that a
 * MINIVMM_RUN waits for. Changed by cmpxchg only, except by the owner
 * giving it back.
 */
enum vcpu_owner { OWN_IDLE, OWN_CALL, OWN_RUN, OWN_PAGE, OWN_PAGE_RUN };

/* An exit userspace must complete before the guest resumes. */
enum vcpu_pending { DONE, PIO_IN, PIO_INS, MMIO_READ, HYPERCALL };

/**
 * struct emul_state - an emulated instruction that waits for userspace
 * @op:		what it does (enum emul_op in emulate.c)
 * @alu:	the arithmetic of an ALU or bit-test operation
 * @size:	bytes of the memory operand (of one string element)
 * @reg_size:	bytes of the register operand
 * @reg:	the register operand (x86 encoding), or -1
 * @high8:	@reg is AH, CH, DH or BH
 * @sx:		a MOVSX: the read is sign-extended to @reg_size
 * @has_imm:	the source is @imm rather than @reg
 * @regdst:	an ALU operation whose destination is @reg, not memory
 * @imm:	the immediate operand
 * @gpa:	the MMIO address
 * @dst_mmio:	MOVS from MMIO: the destination is MMIO too
 * @dst_gpa:	MOVS from MMIO: where the element goes
 * @dst_gpa2:	MOVS from MMIO to RAM: its last byte (maybe on another page)
 * @dst_gla:	MOVS from MMIO to RAM: the destination's linear address
 * @base:	INS: the ES base
 * @off:	INS: RDI of the first element
 * @amask:	INS: the address-size mask
 * @step:	INS: bytes between elements (negative with DF set)
 * @count:	INS: elements in the batch
 *
 * A read from device memory exits to userspace; the rest of the
 * instruction (the register or memory that receives the value, the
 * flags, the write half of a read-modify-write) runs when the next
 * MINIVMM_RUN hands the value back.
 */
struct emul_state {
	u8 op, alu, size, reg_size;
	s8 reg;
	bool high8, sx, has_imm, regdst;
	u64 imm;
	u64 gpa;
	bool dst_mmio;
	u64 dst_gpa, dst_gpa2, dst_gla;
	u64 base, off, amask;
	s64 step;
	unsigned int count;
};

/**
 * struct vcpu_poll - one side's spin before it sleeps in a hand-off
 * @ns:		how long it spins now (at most the poll_ns parameter)
 * @idle:	waits without a spin since the last probe
 */
struct vcpu_poll {
	u32 ns;
	u32 idle;
};

/**
 * struct vcpu - a virtual CPU and the kernel thread that runs it
 * @vm:			the VM
 * @id:			vCPU id
 * @ioctl_lock:		one state ioctl at a time (MINIVMM_RUN takes it
 *			only to wait for one); held briefly, never across
 *			a guest run
 * @own:		enum vcpu_owner: who has the thread now; another
 *			thread-bound ioctl is -EBUSY unless OWN_IDLE
 * @thread:		the kernel thread
 * @req_wait:		where the thread sleeps for work
 * @done_wait:		where the one ioctl that handed it work sleeps for
 *			the answer
 * @run_caller:		the task in MINIVMM_RUN; valid while it is there
 * @run_poll:		the RUN caller's polling for the guest's exit
 * @req_poll:		the thread's polling for the next request
 * @poll_hits:		waits that polling ended (either side)
 * @poll_misses:	waits that polled, then slept
 * @request:		the work handed to the thread
 * @call_fn:		for REQ_CALL: the function to call
 * @call_arg:		for REQ_CALL: its argument
 * @result:		the answer to the request
 * @kick:		leave the guest and return -EINTR
 * @immediate_exit:	this RUN completes what userspace answered and leaves
 *			without entering the guest (struct minivmm_run)
 * @handoff_seq:	thread only: the number of the exit published last
 *			in run->handoff
 * @page_polling:	thread only: run->handoff says USER(@handoff_seq)
 *			and the thread polls it for the answer
 * @page_live:		thread only: exit @handoff_seq went out through the
 *			page and no answer to it was taken yet
 * @page_attached:	thread only: a RUN attached to the run the thread
 *			began from the page; it takes @page_result
 * @page_result:	what that run, or one nobody waited for, ended with
 * @vmcs:		the VMCS and where it is active
 * @vpid:		VPID, 0 when none
 * @host_rsp:		HOST_RSP as last written
 * @host_cr3:		HOST_CR3 as last written
 * @host_cr4:		HOST_CR4 as last written
 * @cpu_based:		primary controls as last written
 * @cpu_based2:		secondary controls as last written
 * @entry_ctls:		VM-entry controls as last written
 * @regs:		general purpose registers (RSP lives in the VMCS)
 * @cr0:		CR0 as the guest sees it
 * @cr4:		CR4 as the guest sees it
 * @cr2:		CR2
 * @xcr0:		XCR0
 * @dr:			DR0-DR3; in the CPU while the guest runs with DR7
 *			enabling a breakpoint
 * @dr6:		DR6 (#DB exits, so the CPU's DR6 is never the guest's)
 * @dr7:		DR7, also in GUEST_DR7
 * @star:		IA32_STAR
 * @lstar:		IA32_LSTAR
 * @cstar:		IA32_CSTAR
 * @sfmask:		IA32_FMASK
 * @kernel_gs_base:	IA32_KERNEL_GS_BASE
 * @syscall_msrs:	the guest wrote one of the five above: switch them
 * @tsc_offset:		TSC offset, as in the VMCS on the CPU it is loaded on
 * @tsc_comp:		the host CPU's TSC compensation @tsc_offset includes
 * @last_guest_tsc:	guest TSC when its thread last left guest mode, or
 *			when the TSC was last written: the next CPU's guest
 *			TSC starts no lower
 * @tsc_adjust:		IA32_TSC_ADJUST
 * @tsc_aux:		IA32_TSC_AUX: in the CPU while the guest runs
 * @msrs:		the other MSR values msr.c keeps for the guest
 * @dr_loaded:		the guest's DR0-DR3 are in the CPU now
 * @triple_fault:	an exception met an event being delivered: shut down
 * @fpu:		x87 and SSE state (FXSAVE image)
 * @vapic:		virtual-APIC page: the local APIC's registers, the
 *			guest's TPR (CR8) among them
 * @lapic:		the local APIC
 * @mp_state:		running, halted in the kernel, or waiting for SIPI
 * @halt_nmi_blocked:	NMIs were blocked when the vCPU halted: a pending NMI
 *			cannot end that halt (only an IRET unblocks them)
 * @pending_irq:	vector from MINIVMM_INJECT_INTERRUPT, or -1; set by
 *			cmpxchg from -1 (also while the guest runs), taken
 *			by the thread
 * @nmi_pending:	an NMI waits for the guest to unblock NMIs; set from
 *			any context (vcpu_queue_nmi()), taken by the thread
 * @nmi_may_block:	an NMI went in (or SET_VCPU_EVENTS or an unfinished
 *			IRET blocked NMIs) and no exit since showed NMIs
 *			unblocked: only then can the guest have them blocked
 * @event_injected:	this entry already delivers an event
 * @reinject_info:	IDT-vectoring information of an event to deliver again
 * @reinject_err:	its error code
 * @reinject_len:	its instruction length
 * @exit_reason:	VMX exit reason of the exit being handled
 * @exit_qual:		its qualification
 * @pending:		what userspace must complete
 * @pending_len:	bytes an IN writes to RAX
 * @emul:		the emulated instruction an MMIO read or INS completes
 * @run:		the run structure shared with userspace
 * @run_data:		the data area mapped after it (string I/O)
 * @posted:		the posted-write ring, shared with userspace
 * @posted_tail:	the ring's tail as the module wrote it last (the
 *			page's copy is userspace's to spoil)
 * @cpuid:		the MINIVMM_SET_CPUID table, or NULL
 * @cpuid_nent:		its entries
 * @cpuid_changed:	MINIVMM_SET_CPUID ran: recheck what depends on it
 * @exits:		exits per VMX basic exit reason
 * @nr_entries:		VM entries
 * @nr_exits:		VM exits
 * @guest_ns:		time in guest mode
 * @user_exits:		exits handed to userspace (RUN returned 0)
 * @posted_writes:	guest writes put in @posted
 * @posted_full:	writes of a posted range that exited, the ring full
 * @ioeventfd_signals:	guest writes that signalled an ioeventfd
 * @host_debugctl:	host IA32_DEBUGCTL, restored after exits
 * @rcu:		frees the structure after readers of vm->vcpus
 * @host_tsc_aux:	host IA32_TSC_AUX, restored after exits
 *
 * Only the vCPU's thread touches its VMCS: ioctls hand it work (a RUN, or
 * a function to call with the VMCS loaded) and wait for the answer.
 */
struct vcpu {
	struct vm *vm;
	unsigned int id;
	struct mutex ioctl_lock;	/* one state ioctl at a time */
	int own;

	struct task_struct *thread;
	struct rcuwait req_wait;
	struct rcuwait done_wait;
	struct task_struct *run_caller;
	struct vcpu_poll run_poll, req_poll;
	u64 poll_hits, poll_misses;
	enum vcpu_request request;
	int (*call_fn)(struct vcpu *vcpu, void *arg);
	void *call_arg;
	int result;
	bool kick;
	bool immediate_exit;
	u32 handoff_seq;
	bool page_polling;
	bool page_live;
	bool page_attached;
	int page_result;

	struct loaded_vmcs vmcs;
	u16 vpid;
	unsigned long host_rsp;
	unsigned long host_cr3, host_cr4;
	u32 cpu_based;
	u32 cpu_based2;
	u32 entry_ctls;

	unsigned long regs[NR_GPRS];
	unsigned long cr0, cr4;
	unsigned long cr2;
	u64 xcr0;
	unsigned long dr[4], dr6, dr7;
	u64 star, lstar, cstar, sfmask, kernel_gs_base;
	bool syscall_msrs;
	u64 tsc_offset;
	u64 tsc_comp;
	u64 last_guest_tsc;
	u64 tsc_adjust;
	u64 tsc_aux;
	u64 msrs[MINIVMM_MSR_SLOTS];
	bool dr_loaded;
	bool triple_fault;
	struct fxregs_state *fpu;
	void *vapic;
	struct lapic lapic;
	enum vcpu_mp_state mp_state;
	bool halt_nmi_blocked;

	int pending_irq;
	bool nmi_pending;
	bool nmi_may_block;
	bool event_injected;
	u32 reinject_info;
	u32 reinject_err, reinject_len;

	u32 exit_reason;
	unsigned long exit_qual;

	enum vcpu_pending pending;
	int pending_len;
	struct emul_state emul;

	struct minivmm_run *run;
	void *run_data;
	struct minivmm_posted_ring *posted;
	u32 posted_tail;
	struct minivmm_cpuid_entry *cpuid;
	unsigned int cpuid_nent;
	bool cpuid_changed;

	u64 exits[NR_EXIT_REASONS];
	u64 nr_entries, nr_exits;
	u64 guest_ns;
	u64 user_exits;
	u64 posted_writes, posted_full;
	u64 ioeventfd_signals;
	unsigned long host_debugctl;
	struct rcu_head rcu;
	u64 host_tsc_aux;
};

/* A 4-level guest's linear address is canonical: bits 63:47 all equal. */
static inline bool guest_canonical(u64 addr)
{
	return __is_canonical_address(addr, 48);
}

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
int vm_run_wait_begin(struct vm *vm);
void slot_mark_dirty(struct mem_slot *slot, u64 gpa);

/**
 * vm_run_try_begin() - count a vCPU into RUN, with no lock
 * @vm: the vCPU's VM
 *
 * Return: false while a memory map change is in progress: not counted.
 */
static inline bool vm_run_try_begin(struct vm *vm)
{
	atomic_inc(&vm->running);
	/* Pairs with the barrier in vm_map_change_begin(). */
	smp_mb__after_atomic();
	/* Acquire: what the change before this one made is seen. */
	if (likely(!smp_load_acquire(&vm->map_changing)))
		return true;
	atomic_dec(&vm->running);
	return false;
}

/**
 * vm_run_begin() - count a vCPU into RUN
 * @vm: the vCPU's VM
 *
 * With no lock, unless a memory map change is in progress: then it waits
 * for vm->lock (vm_run_wait_begin()).
 *
 * Return: 0, or -EINTR when a fatal signal came while waiting.
 */
static inline int vm_run_begin(struct vm *vm)
{
	return likely(vm_run_try_begin(vm)) ? 0 : vm_run_wait_begin(vm);
}

/**
 * vm_run_end() - count a vCPU out of RUN
 * @vm: the vCPU's VM
 */
static inline void vm_run_end(struct vm *vm)
{
	atomic_dec(&vm->running);
}

/* limits.c */
int limits_vm_charge(struct vm *vm);
void limits_vm_uncharge(struct vm *vm);
int limits_vcpu_charge(struct vm *vm);
void limits_vcpu_uncharge(struct vm *vm);
int limits_pin_charge(struct vm *vm, unsigned long npages);
void limits_pin_uncharge(struct vm *vm, unsigned long npages);
void limits_fill_caps(struct minivmm_caps *caps);

/* ept.c */
int ept_init(struct ept *ept);
void ept_destroy(struct ept *ept);
int ept_map_slot(struct ept *ept, struct mem_slot *slot);
void ept_unmap_range(struct ept *ept, u64 gpa, u64 size);
void ept_flush_all_cpus(struct ept *ept);
int ept_log_dirty_start(struct ept *ept, struct mem_slot *slot);
void ept_log_dirty_stop(struct ept *ept, struct mem_slot *slot);
bool ept_allow_write(struct ept *ept, u64 gpa);
void ept_write_protect(struct ept *ept, u64 gpa);

/* vcpu.c */
int vcpu_create(struct vm *vm, unsigned long id);
void vcpu_read_host_state(void);
bool vcpu_handoff_enabled(void);
int vcpu_call_on_thread(struct vcpu *vcpu, int (*fn)(struct vcpu *, void *),
			void *arg);
void vcpu_queue_nmi(struct vcpu *vcpu);
bool vcpu_nmi_pending(struct vcpu *vcpu);
u32 vcpu_interruptibility(struct vcpu *vcpu, bool *stale_nmi_block);

/* state.c */
int vcpu_msrs_ioctl(struct vcpu *vcpu, void __user *uarg, bool set);
int vcpu_msr_list_ioctl(struct vcpu *vcpu, void __user *uarg);
int vcpu_fpu_ioctl(struct vcpu *vcpu, void __user *uarg, bool set);
int vcpu_debugregs_ioctl(struct vcpu *vcpu, void __user *uarg, bool set);
int vcpu_events_ioctl(struct vcpu *vcpu, void __user *uarg, bool set);
int vcpu_lapic_ioctl(struct vcpu *vcpu, void __user *uarg, bool set);
int vcpu_mp_state_ioctl(struct vcpu *vcpu, void __user *uarg, bool set);

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
void vcpu_reset_init(struct vcpu *vcpu);
void vcpu_start_sipi(struct vcpu *vcpu, u8 vector);
void vmcs_dump(struct vcpu *vcpu);
void vcpu_log_failed_entry(struct vcpu *vcpu, const char *what, u64 code,
			   u64 qual);
u16 vpid_alloc(void);
void vpid_free(u16 vpid);
int vmx_alloc_bitmaps(void);
void vmx_free_bitmaps(void);

/* exit.c */
int vcpu_handle_exit(struct vcpu *vcpu);
void vcpu_inject_exception(struct vcpu *vcpu, u8 vector, bool has_err,
			   u32 err);
void vcpu_inject_page_fault(struct vcpu *vcpu, unsigned long addr, u32 err);
void vcpu_inject_db(struct vcpu *vcpu, unsigned long dr6);
void vcpu_advance_rip(struct vcpu *vcpu, unsigned int len);
void vcpu_skip_insn(struct vcpu *vcpu);
int vcpu_complete_userspace(struct vcpu *vcpu);

/* emulate.c */
int guest_read_phys(struct vm *vm, u64 gpa, void *buf, unsigned int len);
int guest_fetch_insn(struct vcpu *vcpu, u8 *buf, unsigned int len);
int emulate_mmio(struct vcpu *vcpu, u64 gpa);
int emulate_string_io(struct vcpu *vcpu, unsigned long qual);
int emulate_complete(struct vcpu *vcpu);
bool guest_long64(struct vcpu *vcpu);
int vcpu_load_pdptrs(struct vcpu *vcpu, unsigned long cr3);

/* lapic.c */
void lapic_init(struct vcpu *vcpu);
void lapic_reset(struct vcpu *vcpu);
void lapic_destroy(struct vcpu *vcpu);
bool lapic_mmio(struct vcpu *vcpu, u64 gpa, unsigned int len, bool write,
		u64 *val);
int lapic_take_interrupt(struct vcpu *vcpu, bool inject);
bool lapic_interrupt_due(struct vcpu *vcpu);
void lapic_update_tpr_threshold(struct vcpu *vcpu);
u64 lapic_get_cr8(struct vcpu *vcpu);
void lapic_set_cr8(struct vcpu *vcpu, u64 cr8);
u64 lapic_get_base(struct vcpu *vcpu, u32 msr);
bool lapic_set_base(struct vcpu *vcpu, u32 msr, u64 val);
bool lapic_x2apic_read(struct vcpu *vcpu, u32 msr, u64 *val);
bool lapic_x2apic_write(struct vcpu *vcpu, u32 msr, u64 val);
u64 lapic_get_tsc_deadline(struct vcpu *vcpu, u32 msr);
bool lapic_set_tsc_deadline(struct vcpu *vcpu, u32 msr, u64 val);
int apic_deliver(struct vm *vm, struct vcpu *src, const struct apic_irq *irq);
void lapic_get_state(struct vcpu *vcpu, struct minivmm_lapic_state *s);
int lapic_set_state(struct vcpu *vcpu, const struct minivmm_lapic_state *s);
int lapic_lint_ioctl(struct vm *vm, void __user *uarg);

/* vcpu.c: an event became due for @vcpu; any context */
void vcpu_wake(struct vcpu *vcpu);

/* cpuid.c */
void cpuid_read_host(void);
void cpuid_emulate(struct vcpu *vcpu);
void cpuid_guest_leaf(struct vcpu *vcpu, u32 fn, u32 idx, u32 *r);

/* msr.c */
bool msr_read(struct vcpu *vcpu, u32 msr, u64 *val);
bool msr_write(struct vcpu *vcpu, u32 msr, u64 val);
bool msr_get(struct vcpu *vcpu, u32 msr, u64 *val);
bool msr_set(struct vcpu *vcpu, u32 msr, u64 val);
unsigned int msr_list(struct vcpu *vcpu, u32 *idx, unsigned int max);
void msr_reset(struct vcpu *vcpu);
void msr_tsc_follow_cpu(struct vcpu *vcpu);

/* tsc.c */
void tsc_sync_init(void);
void tsc_cpu_online(unsigned int cpu);
void tsc_cpu_offline(unsigned int cpu);
void tsc_suspend(void);
void tsc_resume(void);
u64 tsc_comp_this_cpu(void);
u64 tsc_comp_raise(u64 want);

/* netlink.c */
int minivmm_netlink_init(void);
void minivmm_netlink_exit(void);
void minivmm_event(enum minivmm_event event, struct vm *vm, int vcpu_id,
		   u32 reason);

/* main.c */
int minivmm_fill_caps(struct minivmm_caps *caps);

/* ioapic.c */
int ioapic_create(struct vm *vm);
void ioapic_destroy(struct vm *vm);
long ioapic_ioctl(struct vm *vm, unsigned int cmd, void __user *uarg);
bool ioapic_mmio(struct vcpu *vcpu, u64 gpa, unsigned int len, bool write,
		 u64 *val);
void ioapic_eoi(struct vm *vm, u8 vector);

/* ioeventfd.c */
void ioeventfd_init(struct vm *vm);
void ioeventfd_destroy(struct vm *vm);
int ioeventfd_ioctl(struct vm *vm, void __user *uarg);
bool ioeventfd_write(struct vcpu *vcpu, bool pio, u64 addr,
		     unsigned int len, u64 val);

/* posted.c */
void posted_vm_init(struct vm *vm);
void posted_vm_destroy(struct vm *vm);
void posted_ring_init(struct vcpu *vcpu);
int posted_range_ioctl(struct vm *vm, void __user *uarg);
bool posted_write(struct vcpu *vcpu, bool pio, u64 addr, unsigned int len,
		  u64 val);

#endif /* MINIVMM_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU file descriptor and the kernel thread that runs the vCPU.
 *
 * Each vCPU has its own kernel thread and only that thread touches its
 * VMCS. An ioctl hands the thread a request, MINIVMM_RUN or a function to
 * call with the VMCS loaded, and sleeps until it is answered. The thread
 * may be moved between CPUs by the scheduler: loaded_vmcs_load() then
 * VMCLEARs the VMCS on the old CPU and the per-CPU host state is rewritten
 * before the next VMLAUNCH.
 *
 * RUN does not hold the vCPU's ioctl lock while the guest runs: another
 * thread's interrupt request is queued and the guest kicked out to take
 * it; the ioctls that need the thread fail with -EBUSY instead of
 * waiting for a guest that may never stop. Every wait a user can cause
 * is killable, or bounded by the thread's answer to a kick.
 *
 * A signal to the caller of MINIVMM_RUN kicks the thread out of guest mode
 * (an IPI forces a VM exit) and RUN returns -EINTR. The guest can never
 * keep the CPU: external interrupts exit, the VMX preemption timer bounds
 * each slice, and the thread yields whenever the scheduler asks.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/apic.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/msr.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/trapnr.h>
#include <asm/tsc.h>

#include "minivmm.h"
#include "vmx_ops.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

/* Host values of the MSRs VMX does not switch; the same on every CPU. */
static u64 host_star, host_lstar, host_cstar, host_sfmask, host_xcr0;

/**
 * vcpu_read_host_state() - remember the host values a guest may replace
 *
 * Called once at module load.
 */
void vcpu_read_host_state(void)
{
	rdmsrl(MSR_STAR, host_star);
	rdmsrl(MSR_LSTAR, host_lstar);
	rdmsrl(MSR_CSTAR, host_cstar);
	rdmsrl(MSR_SYSCALL_MASK, host_sfmask);
	if (boot_cpu_has(X86_FEATURE_OSXSAVE))
		host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
}

/*
 * The MSRs switched around entries, read and written inline rather than
 * through the paravirt call: a Xen PV host, the one that needs that
 * call, has no VMX to give minivmm.
 */
static __always_inline u64 host_rdmsr(u32 msr)
{
	return native_read_msr(msr);
}

static __always_inline void host_wrmsr(u32 msr, u64 val)
{
	native_write_msr(msr, (u32)val, val >> 32);
}

static void fpu_load(struct fxregs_state *fx)
{
	asm volatile("fxrstor64 %0" : : "m" (*fx));
}

static void fpu_save(struct fxregs_state *fx)
{
	asm volatile("fxsave64 %0" : "=m" (*fx));
}

/*
 * KERNEL_GS_BASE is live in the CPU for 64-bit guests (SWAPGS) and for
 * guests that wrote one of the syscall MSRs. The entry controls tell the
 * mode: this is read twice around one entry, with nothing in between that
 * could change it.
 */
static bool vcpu_swaps_kgs(struct vcpu *vcpu)
{
	return vcpu->syscall_msrs ||
	       (vcpu->entry_ctls & VM_ENTRY_IA32E_MODE);
}

/*
 * RDTSCP (and RDPID) run without exiting when the secondary control
 * allows them; a guest whose CPUID shows no RDTSCP gets #UD instead, as
 * on a CPU without it, and its IA32_TSC_AUX then never needs switching.
 */
static void vcpu_update_rdtscp(struct vcpu *vcpu)
{
	u32 ctl = vcpu->cpu_based2 & ~SECONDARY_EXEC_ENABLE_RDTSCP;
	u32 r[4];

	vcpu->cpuid_changed = false;
	if (!(vmx_config.cpu_based2 & SECONDARY_EXEC_ENABLE_RDTSCP))
		return;
	cpuid_guest_leaf(vcpu, 0x80000001, 0, r);
	if (r[3] & BIT(X86_FEATURE_RDTSCP & 31))
		ctl |= SECONDARY_EXEC_ENABLE_RDTSCP;
	if (ctl != vcpu->cpu_based2) {
		vcpu->cpu_based2 = ctl;
		vmcs_write32(SECONDARY_VM_EXEC_CONTROL, ctl);
	}
}

/*
 * Swap in the guest's view of what VMX does not switch; interrupts are off
 * from here until vcpu_put_guest_state(), so nothing on this CPU can take
 * a syscall with the guest's values live. The guest's FPU registers stay
 * in the CPU across a whole batch of entries (vcpu_enter_exit()).
 */
static void vcpu_load_guest_state(struct vcpu *vcpu, u64 *host_kgs)
{
	if ((vcpu->cr4 & X86_CR4_OSXSAVE) && vcpu->xcr0 != host_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vcpu->xcr0);
	/* SWAPGS never exits: a 64-bit guest always needs its own. */
	if (vcpu_swaps_kgs(vcpu)) {
		*host_kgs = host_rdmsr(MSR_KERNEL_GS_BASE);
		host_wrmsr(MSR_KERNEL_GS_BASE, vcpu->kernel_gs_base);
	}
	if (vcpu->syscall_msrs) {
		host_wrmsr(MSR_STAR, vcpu->star);
		host_wrmsr(MSR_LSTAR, vcpu->lstar);
		host_wrmsr(MSR_CSTAR, vcpu->cstar);
		host_wrmsr(MSR_SYSCALL_MASK, vcpu->sfmask);
	}
	if (native_read_cr2() != vcpu->cr2)
		native_write_cr2(vcpu->cr2);
	/* RDTSCP in the guest reads the CPU's own IA32_TSC_AUX. */
	if (unlikely(vcpu->cpuid_changed))
		vcpu_update_rdtscp(vcpu);
	if (vcpu->cpu_based2 & SECONDARY_EXEC_ENABLE_RDTSCP) {
		if (vcpu->host_tsc_aux != vcpu->tsc_aux)
			host_wrmsr(MSR_TSC_AUX, vcpu->tsc_aux);
	}
	/*
	 * Entry loads DR7 from the VMCS; DR0-DR3 matter only while it
	 * enables a breakpoint. A host breakpoint must not match the
	 * guest's addresses on the way in: the host's DR7 goes first.
	 */
	vcpu->dr_loaded = vcpu->dr7 & (DR_LOCAL_ENABLE_MASK |
				       DR_GLOBAL_ENABLE_MASK);
	if (vcpu->dr_loaded) {
		if (hw_breakpoint_active())
			set_debugreg(0UL, 7);
		set_debugreg(vcpu->dr[0], 0);
		set_debugreg(vcpu->dr[1], 1);
		set_debugreg(vcpu->dr[2], 2);
		set_debugreg(vcpu->dr[3], 3);
	}
}

static void vcpu_put_guest_state(struct vcpu *vcpu, u64 host_kgs)
{
	/*
	 * VM exit left DR7 at 0x400: give the host its breakpoints (perf,
	 * ptrace) back, and its DR0-DR3 when the guest's were loaded.
	 */
	if (vcpu->dr_loaded || hw_breakpoint_active())
		hw_breakpoint_restore();
	if ((vcpu->cpu_based2 & SECONDARY_EXEC_ENABLE_RDTSCP) &&
	    vcpu->host_tsc_aux != vcpu->tsc_aux)
		host_wrmsr(MSR_TSC_AUX, vcpu->host_tsc_aux);
	vcpu->cr2 = native_read_cr2();
	if (vcpu->syscall_msrs) {
		host_wrmsr(MSR_STAR, host_star);
		host_wrmsr(MSR_LSTAR, host_lstar);
		host_wrmsr(MSR_CSTAR, host_cstar);
		host_wrmsr(MSR_SYSCALL_MASK, host_sfmask);
	}
	if (vcpu_swaps_kgs(vcpu)) {
		/* The guest's SWAPGS changed it without an exit. */
		vcpu->kernel_gs_base = host_rdmsr(MSR_KERNEL_GS_BASE);
		host_wrmsr(MSR_KERNEL_GS_BASE, host_kgs);
	}
	if ((vcpu->cr4 & X86_CR4_OSXSAVE) && vcpu->xcr0 != host_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, host_xcr0);
	/* VM exit clears DEBUGCTL. */
	if (vcpu->host_debugctl)
		update_debugctlmsr(vcpu->host_debugctl);
}

/* Turn one exiting control (an interrupt or NMI window) on or off. */
static void vcpu_set_window(struct vcpu *vcpu, u32 bit, bool on)
{
	u32 ctl = on ? vcpu->cpu_based | bit : vcpu->cpu_based & ~bit;

	if (ctl != vcpu->cpu_based) {
		vcpu->cpu_based = ctl;
		vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, ctl);
	}
}

/*
 * Deliver what must go in with this entry: an event whose delivery an exit
 * interrupted, then a pending NMI once the guest can take it, then an
 * interrupt: first one from MINIVMM_INJECT_INTERRUPT (it bypasses the
 * APIC, like an ExtINT), then the local APIC's highest deliverable vector,
 * which moves from the IRR to the ISR as it goes in. Until the guest can
 * take them, ask for an NMI-window or interrupt-window exit.
 *
 * NMIs wait for virtual-NMI blocking (set by the CPU when it delivers one,
 * cleared by the guest's IRET) and for a MOV-SS shadow, which the
 * NMI-window exit respects. An STI shadow holds them too, as some CPUs
 * refuse an NMI injected into one; those CPUs also hold the NMI-window
 * exit until the shadow ends. A CPU that exits inside the shadow would
 * itself deliver an NMI there: the NMI goes in and, as on that CPU, its
 * delivery ends the shadow. So it does on a CPU that reported a stale NMI
 * blocking, which would hold the window exit back for long.
 */
static void vcpu_inject_events(struct vcpu *vcpu)
{
	u32 info = vcpu->reinject_info, intr;
	bool can, irq_window = false, nmi_window = false, stale;
	int irq;

	/* Most entries: nothing to deliver, no window to wait for. */
	if (!(info & VECTORING_INFO_VALID_MASK) &&
	    !READ_ONCE(vcpu->nmi_pending) && READ_ONCE(vcpu->pending_irq) < 0 &&
	    !READ_ONCE(vcpu->lapic.irr_pending)) {
		if (!(vcpu->cpu_based & (CPU_BASED_INTR_WINDOW_EXITING |
					 CPU_BASED_NMI_WINDOW_EXITING)) &&
		    !vcpu->lapic.tpr_threshold)
			return;
		goto windows;
	}

	intr = vcpu_interruptibility(vcpu, &stale);
	if (info & VECTORING_INFO_VALID_MASK) {
		u32 type = info & VECTORING_INFO_TYPE_MASK;

		vmcs_write32(VM_ENTRY_INTR_INFO_FIELD,
			     info & ~INTR_INFO_UNBLOCK_NMI);
		if (info & VECTORING_INFO_DELIVER_CODE_MASK)
			vmcs_write32(VM_ENTRY_EXCEPTION_ERROR_CODE,
				     vcpu->reinject_err);
		if (type == INTR_TYPE_SOFT_INTR ||
		    type == INTR_TYPE_SOFT_EXCEPTION ||
		    type == INTR_TYPE_PRIV_SW_EXCEPTION)
			vmcs_write32(VM_ENTRY_INSTRUCTION_LEN,
				     vcpu->reinject_len);
		/*
		 * An NMI whose delivery an exit cut short was never taken:
		 * it does not block NMIs yet, and entry refuses to inject
		 * one while they are blocked.
		 */
		if (type == INTR_TYPE_NMI_INTR &&
		    (intr & GUEST_INTR_STATE_NMI)) {
			intr &= ~GUEST_INTR_STATE_NMI;
			vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, intr);
		}
		if (type == INTR_TYPE_NMI_INTR)
			vcpu->nmi_may_block = true;
		vcpu->reinject_info = 0;
		vcpu->event_injected = true;
	}

	/* Queued from any context while the guest runs; taken only here. */
	if (READ_ONCE(vcpu->nmi_pending)) {
		if ((intr & GUEST_INTR_STATE_STI) &&
		    ((u16)vcpu->exit_reason == EXIT_REASON_NMI_WINDOW ||
		     stale)) {
			intr &= ~GUEST_INTR_STATE_STI;
			vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, intr);
		}
		if (vcpu->event_injected ||
		    (intr & (GUEST_INTR_STATE_NMI | GUEST_INTR_STATE_MOV_SS |
			     GUEST_INTR_STATE_STI))) {
			nmi_window = true;
		} else if (xchg(&vcpu->nmi_pending, false)) {
			/* One queued after the xchg waits for the IRET. */
			vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, X86_TRAP_NMI |
				     INTR_TYPE_NMI_INTR | INTR_INFO_VALID_MASK);
			vcpu->event_injected = true;
			vcpu->nmi_may_block = true;
		}
	}

	can = !vcpu->event_injected &&
	      (vmcs_readl(GUEST_RFLAGS) & X86_EFLAGS_IF) &&
	      !(intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS));

	/* Set from other threads while the guest runs; only taken here. */
	irq = READ_ONCE(vcpu->pending_irq);
	if (irq >= 0 && can) {
		vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, irq |
			     INTR_TYPE_EXT_INTR | INTR_INFO_VALID_MASK);
		WRITE_ONCE(vcpu->pending_irq, -1);
		can = false;
		vcpu->event_injected = true;
	} else if (irq >= 0) {
		irq_window = true;
	}

	irq = lapic_take_interrupt(vcpu, can);
	if (irq >= 0 && can) {
		vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, irq |
			     INTR_TYPE_EXT_INTR | INTR_INFO_VALID_MASK);
		vcpu->event_injected = true;
	} else if (irq >= 0) {
		irq_window = true;
	}
windows:
	/* Another interrupt waits behind the one going in now. */
	vcpu_set_window(vcpu, CPU_BASED_INTR_WINDOW_EXITING, irq_window);
	vcpu_set_window(vcpu, CPU_BASED_NMI_WINDOW_EXITING, nmi_window);
	lapic_update_tpr_threshold(vcpu);
}

/* The host state that follows the thread rather than the CPU. */
static void vcpu_refresh_host_task_state(struct vcpu *vcpu)
{
	unsigned long cr3 = __read_cr3(), cr4 = cr4_read_shadow();

	/* A kernel thread borrows whichever mm ran last. */
	if (cr3 != vcpu->host_cr3) {
		vmcs_writel(HOST_CR3, cr3);
		vcpu->host_cr3 = cr3;
	}
	if (cr4 != vcpu->host_cr4) {
		vmcs_writel(HOST_CR4, cr4);
		vcpu->host_cr4 = cr4;
	}
}

static void vcpu_entry_failed(struct vcpu *vcpu)
{
	struct minivmm_run *run = vcpu->run;

	run->exit_reason = MINIVMM_EXIT_FAIL_ENTRY;
	run->hw_exit_reason = 0;
	run->fail_entry.hardware_reason = 0;
	run->fail_entry.instruction_error = vmcs_read32(VM_INSTRUCTION_ERROR);
	run->fail_entry.qualification = 0;
	vcpu_log_failed_entry(vcpu, "VM entry instruction failed, error",
			      run->fail_entry.instruction_error, 0);
}

/*
 * vcpu_run() must see the vCPU first: it halted in the kernel, or an INIT
 * or start-up IPI came for it.
 */
static bool vcpu_must_leave_batch(struct vcpu *vcpu)
{
	return vcpu->mp_state != MP_RUNNABLE ||
	       READ_ONCE(vcpu->lapic.init_pending) ||
	       READ_ONCE(vcpu->lapic.sipi_pending);
}

/*
 * Guest RIP and whether the guest could take an interrupt now, for the
 * run structure; the VMCS loaded, preemption off.
 */
static void __vcpu_fill_run_state(struct vcpu *vcpu)
{
	struct minivmm_run *run = vcpu->run;

	run->rip = vmcs_readl(GUEST_RIP);
	run->ready_for_interrupt =
		(vmcs_readl(GUEST_RFLAGS) & X86_EFLAGS_IF) &&
		!(vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) &
		  (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS)) &&
		!(vcpu->reinject_info & VECTORING_INFO_VALID_MASK) &&
		vcpu->mp_state == MP_RUNNABLE;
}

/* The same, from the thread with nothing loaded. */
static void vcpu_fill_run_state(struct vcpu *vcpu)
{
	preempt_disable();
	if (loaded_vmcs_load(&vcpu->vmcs))
		vmcs_refresh_host_percpu(vcpu);
	__vcpu_fill_run_state(vcpu);
	preempt_enable();
}

/*
 * Entries in one batch at most: the loop in vcpu_run() then gets its turn
 * (cond_resched()) even with no other task asking for the CPU.
 */
#define ENTRY_BATCH	64

/*
 * Trips into the guest and back, each exit handled, for as long as exits
 * are handled here: the guest's FPU registers are loaded once for the
 * batch, inside kernel_fpu_begin() (interrupt handlers meanwhile see the
 * FPU as unusable, as during any kernel FPU section). Interrupts are taken
 * between entries, and the batch ends when this CPU is wanted elsewhere.
 * An exit for userspace fills in the run structure's state here, with
 * the VMCS still loaded.
 * Return: >0 to enter again, 0 to return to userspace, <0 an error.
 */
static int vcpu_enter_exit(struct vcpu *vcpu)
{
	unsigned int budget = ENTRY_BATCH;
	u64 host_kgs = 0, t0, guest_tsc = 0;
	u16 host_ldt;
	int failed, ret;

	preempt_disable();
	if (loaded_vmcs_load(&vcpu->vmcs)) {
		vmcs_refresh_host_percpu(vcpu);
	} else {
		/* Another vCPU may have grown this CPU's TSC compensation. */
		msr_tsc_follow_cpu(vcpu);
	}
	asm volatile("sldt %0" : "=rm" (host_ldt));
	/*
	 * Per CPU, and the thread stays on this one for the batch. Read even
	 * while the guest has no RDTSCP: a CPUID change may give it one at
	 * the first entry.
	 */
	if (vmx_config.cpu_based2 & SECONDARY_EXEC_ENABLE_RDTSCP)
		vcpu->host_tsc_aux = host_rdmsr(MSR_TSC_AUX);
	kernel_fpu_begin_mask(0);
	fpu_load(vcpu->fpu);

	do {
		local_irq_disable();
		if (need_resched() || READ_ONCE(vcpu->kick) ||
		    READ_ONCE(vmx_rebooting) || vcpu_must_leave_batch(vcpu)) {
			local_irq_enable();
			ret = 1;
			break;
		}
		vcpu_inject_events(vcpu);
		vcpu_refresh_host_task_state(vcpu);

		vcpu_load_guest_state(vcpu, &host_kgs);
		trace_minivmm_entry(vcpu->vm->id, vcpu->id);
		t0 = rdtsc();
		failed = minivmm_vmenter(vcpu->regs, vcpu->vmcs.launched,
					 &vcpu->host_rsp, HOST_RSP);

		guest_tsc += rdtsc() - t0;
		vcpu_put_guest_state(vcpu, host_kgs);
		vcpu->nr_entries++;
		vcpu->event_injected = false;

		if (failed) {
			vcpu_entry_failed(vcpu);
			ret = 0;
		} else {
			ret = vcpu_handle_exit(vcpu);
		}
		local_irq_enable();
	} while (ret > 0 && --budget);
	if (ret <= 0)
		__vcpu_fill_run_state(vcpu);

	/*
	 * VM exit leaves LDTR null, the GDTR limit at 0xffff and the TR limit
	 * at 0x67, none of which the kernel itself uses: give back the LDT
	 * of the mm this thread borrows, the real GDT limit, and make the
	 * next task with an I/O bitmap reload TR before any task can need
	 * them.
	 */
	if (host_ldt)
		asm volatile("lldt %0" : : "rm" (host_ldt));
	load_fixmap_gdt(smp_processor_id());
	invalidate_tss_limit();
	fpu_save(vcpu->fpu);
	kernel_fpu_end();
	/* The most the guest can have read on this CPU. */
	vcpu->last_guest_tsc = rdtsc() + vcpu->tsc_offset;
	preempt_enable();
	if (likely(tsc_khz))
		vcpu->guest_ns += mul_u64_u32_div(guest_tsc, NSEC_PER_MSEC,
						  tsc_khz);
	return ret;
}

/*
 * Wake the task waiting on @w, if there is one, after a store it tests.
 * Most hand-offs find the other side polling, not waiting: then this is
 * the barrier and one load. The barrier orders the store before the
 * test, as the one in rcuwait_wake_up() would; the waiter's
 * set_current_state() orders its registration before its test.
 */
static __always_inline void vcpu_wake_waiter(struct rcuwait *w)
{
	/* Pairs with the waiter's set_current_state(). */
	smp_mb();
	if (rcuwait_active(w))
		rcuwait_wake_up(w);
}

/**
 * vcpu_wake() - an event became due for a vCPU
 * @vcpu: the vCPU
 *
 * Wakes its thread from an in-kernel HLT or wait-for-SIPI, and makes it
 * leave guest mode when it runs on another CPU, so that it takes the
 * event at its next entry. Not a kick: RUN goes on. Any context.
 */
void vcpu_wake(struct vcpu *vcpu)
{
	rcuwait_wake_up(&vcpu->req_wait);
	kick_process(vcpu->thread);
}

/* An interrupt the halted guest can take, or an NMI, is due. */
static bool vcpu_halt_ends(struct vcpu *vcpu)
{
	return READ_ONCE(vcpu->pending_irq) >= 0 ||
	       (vcpu_nmi_pending(vcpu) && !vcpu->halt_nmi_blocked) ||
	       lapic_interrupt_due(vcpu);
}

/* Something the halted or waiting thread must act on. */
static bool vcpu_should_wake(struct vcpu *vcpu)
{
	if (READ_ONCE(vcpu->kick) || kthread_should_stop() ||
	    READ_ONCE(vcpu->lapic.init_pending))
		return true;
	if (vcpu->mp_state == MP_WAIT_SIPI)
		return READ_ONCE(vcpu->lapic.sipi_pending);
	return vcpu_halt_ends(vcpu);
}

/* INIT and start-up IPIs, on the vCPU's thread. */
static void vcpu_check_init_sipi(struct vcpu *vcpu)
{
	struct lapic *apic = &vcpu->lapic;
	unsigned long flags;
	bool init, sipi;
	u8 vector;

	if (!READ_ONCE(apic->init_pending) && !READ_ONCE(apic->sipi_pending))
		return;
	spin_lock_irqsave(&apic->lock, flags);
	init = apic->init_pending;
	sipi = apic->sipi_pending;
	vector = apic->sipi_vector;
	apic->init_pending = false;
	apic->sipi_pending = false;
	spin_unlock_irqrestore(&apic->lock, flags);

	if (init) {
		preempt_disable();
		if (loaded_vmcs_load(&vcpu->vmcs))
			vmcs_refresh_host_percpu(vcpu);
		vcpu_reset_init(vcpu);
		preempt_enable();
		lapic_reset(vcpu);
		/* The BSP starts over; an AP waits for its start-up IPI. */
		vcpu->mp_state = vcpu->lapic.base & MSR_IA32_APICBASE_BSP ?
				 MP_RUNNABLE : MP_WAIT_SIPI;
	}
	/* An INIT clears an earlier SIPI: this one came after it. */
	if (sipi && vcpu->mp_state == MP_WAIT_SIPI) {
		preempt_disable();
		if (loaded_vmcs_load(&vcpu->vmcs))
			vmcs_refresh_host_percpu(vcpu);
		vcpu_start_sipi(vcpu, vector);
		preempt_enable();
		vcpu->mp_state = MP_RUNNABLE;
	}
}

/*
 * Sleep while the vCPU is halted or waits for SIPI, until an interrupt
 * is due, a start-up IPI or INIT arrives, or RUN's caller kicks. The
 * sleep is bounded: the loop around it checks for a machine going down.
 */
static void vcpu_block(struct vcpu *vcpu)
{
	long left = HZ;

	/* The thread is the only waiter: vcpu_wake() finds it here. */
	prepare_to_rcuwait(&vcpu->req_wait);
	for (;;) {
		/* Pairs with the barrier in rcuwait_wake_up(). */
		set_current_state(TASK_IDLE);
		if (vcpu_should_wake(vcpu) || !left)
			break;
		left = schedule_timeout(left);
	}
	finish_rcuwait(&vcpu->req_wait);
	if (vcpu->mp_state == MP_HALTED && vcpu_halt_ends(vcpu))
		vcpu->mp_state = MP_RUNNABLE;
}

static int vcpu_run(struct vcpu *vcpu)
{
	bool filled = false;
	int ret;

	vcpu->host_debugctl = host_rdmsr(MSR_IA32_DEBUGCTLMSR);
	/* An instruction that needs the device again exits right away. */
	ret = vcpu_complete_userspace(vcpu);
	if (ret > 0 && vcpu->immediate_exit) {
		vcpu->run->exit_reason = MINIVMM_EXIT_INTR;
		return -EINTR;
	}
	while (ret > 0) {
		if (READ_ONCE(vcpu->kick) || kthread_should_stop()) {
			vcpu->run->exit_reason = MINIVMM_EXIT_INTR;
			return -EINTR;
		}
		/* The machine is going down: VMX is off on every CPU. */
		if (READ_ONCE(vmx_rebooting))
			return -EIO;
		vcpu_check_init_sipi(vcpu);
		if (vcpu->mp_state != MP_RUNNABLE) {
			vcpu_block(vcpu);
			continue;
		}
		cond_resched();
		ret = vcpu_enter_exit(vcpu);
		/* On its way out to userspace it filled in the state. */
		filled = true;
	}
	if (!ret)
		vcpu->user_exits++;
	vcpu->run->exits = vcpu->nr_exits;
	vcpu->run->entries = vcpu->nr_entries;
	if (!filled)
		vcpu_fill_run_state(vcpu);
	if (vcpu->run->exit_reason == MINIVMM_EXIT_SHUTDOWN)
		minivmm_event(MINIVMM_EVENT_VCPU_SHUTDOWN, vcpu->vm, vcpu->id,
			      0);
	else if (vcpu->run->exit_reason == MINIVMM_EXIT_FAIL_ENTRY)
		minivmm_event(MINIVMM_EVENT_ENTRY_FAILED, vcpu->vm, vcpu->id,
			      vcpu->run->fail_entry.hardware_reason);
	return ret;
}

static int vcpu_call(struct vcpu *vcpu)
{
	int ret;

	preempt_disable();
	if (loaded_vmcs_load(&vcpu->vmcs))
		vmcs_refresh_host_percpu(vcpu);
	ret = vcpu->call_fn(vcpu, vcpu->call_arg);
	preempt_enable();
	return ret;
}

/*
 * Hand-off polling: before it sleeps, the RUN caller polls for the guest's
 * exit and the thread for the next request. With the other side on
 * another CPU it spins; on a machine with one CPU it hands the CPU over
 * with yield_to(), both sides staying runnable, which costs a context
 * switch but neither a wake-up nor a dequeue. Each side of each vCPU keeps its own
 * window: a poll that ends without the answer halves it, down to nothing;
 * a sleep shorter than poll_ns, or a hit of the full-length probe made
 * every POLL_PROBE_EVERY waits without polling, opens it again.
 */
static unsigned int poll_ns = 200000;
module_param(poll_ns, uint, 0644);
MODULE_PARM_DESC(poll_ns,
		 "ns the RUN caller and the vCPU thread poll for each other before sleeping, 0 never (default 200000)");

#define POLL_MIN_NS		10000
#define POLL_PROBE_EVERY	16

static bool vcpu_request_pending(struct vcpu *vcpu)
{
	return READ_ONCE(vcpu->request) != REQ_NONE;
}

static bool vcpu_request_done(struct vcpu *vcpu)
{
	/* Pairs with the release in vcpu_thread(): the result is visible. */
	return smp_load_acquire(&vcpu->request) == REQ_NONE;
}

/*
 * Poll until @done or the window ends; @other is the task that makes
 * @done true. The poll ends early on a signal, when this CPU is wanted
 * elsewhere, or when @other cannot run here now (asleep: only the sleep
 * waits for it).
 * Return: the TSC when the wait began, or 0 when not polling at all;
 * *@hit tells whether @done came true.
 */
static __always_inline u64 vcpu_poll(struct vcpu *vcpu, struct vcpu_poll *p,
				     bool (*done)(struct vcpu *),
				     struct task_struct *other, bool *hit)
{
	u32 max = READ_ONCE(poll_ns), win = min(p->ns, max);
	u64 start, now, limit;

	*hit = false;
	if (!max || !other)
		return 0;
	/* The TSC: cheaper to read than local_clock(), and enough here. */
	start = rdtsc();
	if (!win) {
		if (++p->idle < POLL_PROBE_EVERY)
			return start;
		p->idle = 0;
		win = max;
	}
	limit = mul_u64_u32_div(win, tsc_khz, NSEC_PER_MSEC);
	now = start;
	while (now - start < limit) {
		if (done(vcpu)) {
			vcpu->poll_hits++;
			p->ns = win;
			*hit = true;
			return start;
		}
		if (signal_pending(current))
			break;
		if (task_cpu(other) == raw_smp_processor_id()) {
			/*
			 * With other CPUs, sleep instead: the wake-up may
			 * place the sleeper on an idle one, while a pair
			 * handing one CPU back and forth stays together.
			 */
			if (num_online_cpus() > 1 ||
			    yield_to(other, false) <= 0)
				break;
		} else {
			if (need_resched())
				break;
			cpu_relax();
		}
		now = rdtsc();
	}
	vcpu->poll_misses++;
	p->ns = win / 2 < POLL_MIN_NS ? 0 : win / 2;
	return start;
}

/*
 * After a sleep that vcpu_poll() began: a short one opens the window.
 * Compared in TSC cycles, as read on two CPUs maybe: a TSC behind the
 * first one's makes the difference huge, a long sleep, which it may be.
 */
static void vcpu_poll_end(struct vcpu_poll *p, u64 start)
{
	u32 max = READ_ONCE(poll_ns);
	u64 waited;

	if (!start)
		return;
	waited = rdtsc() - start;
	if (waited <= mul_u64_u32_div(max, tsc_khz, NSEC_PER_MSEC) &&
	    waited > mul_u64_u32_div(p->ns, tsc_khz, NSEC_PER_MSEC))
		p->ns = min_t(u32, max, max_t(u32, POLL_MIN_NS, p->ns * 2));
}

/*
 * Sleep until an ioctl hands the thread work, or the vCPU goes away;
 * @caller: the task whose RUN ended last, to poll for, or NULL.
 */
static void vcpu_wait_request(struct vcpu *vcpu, struct task_struct *caller)
{
	bool hit;
	u64 start;

	start = vcpu_poll(vcpu, &vcpu->req_poll, vcpu_request_pending, caller,
			  &hit);
	if (hit)
		return;
	rcuwait_wait_event(&vcpu->req_wait, vcpu_request_pending(vcpu) ||
			   kthread_should_stop(), TASK_IDLE);
	vcpu_poll_end(&vcpu->req_poll, start);
}

/*
 * Completing exits through the run page (struct minivmm_run.handoff).
 *
 * The word is shared with userspace, which may write anything into it at
 * any time: the thread only compares it with the two values it expects,
 * USER(seq) and KERNEL(seq), seq being its own count (@handoff_seq), and
 * changes it with a store-release or a cmpxchg. The exit's data goes out
 * before USER(seq) (the release); the answer is read after KERNEL(seq)
 * is seen (the acquire, paired with the cmpxchg userspace makes after it
 * wrote the answer). Any other value ends the poll: the thread parks and
 * only MINIVMM_RUN goes on.
 *
 * A run the thread begins from the page is a RUN without a caller: it
 * takes the thread as OWN_PAGE by cmpxchg (an ioctl that has it already
 * wins, and the answer is left to RUN) and counts itself in vm->running
 * as RUN does, but never waits: a memory map change in progress parks
 * the thread and leaves the answer to MINIVMM_RUN. A RUN
 * issued during it attaches (OWN_PAGE_RUN) and returns its exit.
 */
static unsigned int page_poll_ns = 200000;
module_param(page_poll_ns, uint, 0644);
MODULE_PARM_DESC(page_poll_ns,
		 "ns the vCPU thread polls the run page for the answer to an exit (struct minivmm_run.handoff), 0 turns that mode off (default 200000)");

/**
 * vcpu_handoff_enabled() - whether exits may be completed through the page
 *
 * Return: true when the page_poll_ns module parameter is not 0.
 */
bool vcpu_handoff_enabled(void)
{
	return READ_ONCE(page_poll_ns);
}

/*
 * After a run that used the page: publish its exit as USER(seq + 1), and
 * poll; PARKED(seq + 1) when polling is off now; an error parks at the
 * number of the last exit, the next RUN returns it.
 */
static void vcpu_page_publish(struct vcpu *vcpu, int ret)
{
	u32 state = MINIVMM_HANDOFF_PARKED;

	if (!ret) {
		vcpu->handoff_seq++;
		if (READ_ONCE(page_poll_ns))
			state = MINIVMM_HANDOFF_USER;
	}
	vcpu->page_polling = state == MINIVMM_HANDOFF_USER;
	vcpu->page_live = !ret;
	/* The exit in the run structure is visible first. */
	smp_store_release(&vcpu->run->handoff,
			  MINIVMM_HANDOFF(state, vcpu->handoff_seq));
}

/*
 * Poll the page for the answer to the published exit, at most
 * page_poll_ns, yielding the CPU when the scheduler asks (or, when the
 * RUN caller @user waits for this CPU, to it).
 * Return: true when userspace answered; false when a request came, the
 * thread must stop, or the thread parked (->page_polling false).
 */
static bool vcpu_page_poll(struct vcpu *vcpu, struct task_struct *user)
{
	u32 *word = &vcpu->run->handoff, w;
	u32 ut = MINIVMM_HANDOFF(MINIVMM_HANDOFF_USER, vcpu->handoff_seq);
	u32 kt = MINIVMM_HANDOFF(MINIVMM_HANDOFF_KERNEL, vcpu->handoff_seq);
	u32 parked = MINIVMM_HANDOFF(MINIVMM_HANDOFF_PARKED, vcpu->handoff_seq);
	u64 start = rdtsc(), limit;

	limit = mul_u64_u32_div(READ_ONCE(page_poll_ns), tsc_khz,
				NSEC_PER_MSEC);
	for (;;) {
		/* Pairs with userspace's cmpxchg: the answer is visible. */
		w = smp_load_acquire(word);
		if (w == kt)
			return true;
		if (w != ut)
			break;
		if (vcpu_request_pending(vcpu) || kthread_should_stop())
			return false;
		/*
		 * The window ends; or the one CPU is this one, and the task
		 * that would answer is not there to take it.
		 */
		if (rdtsc() - start >= limit ||
		    (user && task_cpu(user) == raw_smp_processor_id() &&
		     yield_to(user, false) <= 0 && num_online_cpus() == 1)) {
			/* Fails when the answer came just now. */
			if (cmpxchg(word, ut, parked) == ut)
				break;
			continue;
		}
		if (need_resched())
			cond_resched();
		else
			cpu_relax();
	}
	vcpu->page_polling = false;
	return false;
}

/*
 * Run the guest for the answer userspace wrote in the page, as RUN would.
 * Return: false when an ioctl has the thread, true otherwise, also when
 * a memory map change left the answer to RUN (the thread parks: it polls
 * no more).
 */
static bool vcpu_page_run(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	int ret, old;

	if (!vm_run_try_begin(vm)) {
		/*
		 * A memory map change: leave the answer (the word says
		 * KERNEL(seq)) to MINIVMM_RUN, which waits for it.
		 */
		vcpu->page_polling = false;
		return true;
	}
	/* Only a RUN attached to this run kicks it; it comes later. */
	WRITE_ONCE(vcpu->kick, false);
	if (cmpxchg(&vcpu->own, OWN_IDLE, OWN_PAGE) != OWN_IDLE) {
		/*
		 * An ioctl has the thread: its request, if it made one yet,
		 * comes next, and RUN completes the answer (the word says
		 * KERNEL(seq)) rather than the thread waiting for the
		 * ioctl's owner to give it back.
		 */
		vm_run_end(vm);
		vcpu->page_polling = false;
		return false;
	}
	vcpu->immediate_exit = false;
	vcpu->page_live = false;
	ret = vcpu_run(vcpu);
	vm_run_end(vm);
	/*
	 * Give the thread back before the exit goes out: an ioctl made on
	 * seeing it must not find the thread still taken.
	 */
	old = cmpxchg(&vcpu->own, OWN_PAGE, OWN_IDLE);
	vcpu_page_publish(vcpu, ret);
	vcpu->page_result = ret;
	if (old != OWN_PAGE) {
		/* OWN_PAGE_RUN: the RUN owns the thread now, and the result. */
		vcpu->page_attached = true;
		WRITE_ONCE(vcpu->own, OWN_RUN);
	}
	return true;
}

/*
 * MINIVMM_RUN's request. With the page in use it may find the exit it
 * must return already there: the one of the run it attached to, an error
 * nobody waited for, or an exit published in the page that userspace has
 * not answered (the word does not say KERNEL(seq)): a RUN issued while
 * waiting for the next exit must return that exit, not complete it.
 */
static int vcpu_run_request(struct vcpu *vcpu)
{
	struct minivmm_run *run = vcpu->run;
	u32 kt = MINIVMM_HANDOFF(MINIVMM_HANDOFF_KERNEL, vcpu->handoff_seq);
	bool page;
	int ret;
	u32 w;

	if (vcpu->page_attached || vcpu->page_result < 0) {
		vcpu->page_attached = false;
		ret = vcpu->page_result;
		vcpu->page_result = 0;
		return ret;
	}
	w = READ_ONCE(run->handoff);
	page = MINIVMM_HANDOFF_STATE(w) != MINIVMM_HANDOFF_OFF;
	if (page && vcpu->page_live && w != kt)
		return 0;
	vcpu->page_polling = false;
	vcpu->page_live = false;
	page = page && READ_ONCE(page_poll_ns);
	if (page)
		WRITE_ONCE(run->handoff, kt);
	ret = vcpu_run(vcpu);
	if (page)
		vcpu_page_publish(vcpu, ret);
	return ret;
}

static int vcpu_thread(void *data)
{
	struct vcpu *vcpu = data;
	/* The task of the last RUN, held: the one to poll for. */
	struct task_struct *caller = NULL;
	bool after_run = false;
	enum vcpu_request req;

	for (;;) {
		if (vcpu->page_polling && vcpu_page_poll(vcpu, caller) &&
		    vcpu_page_run(vcpu)) {
			after_run = true;
			continue;
		}
		vcpu_wait_request(vcpu, after_run ? caller : NULL);
		if (kthread_should_stop())
			break;
		/* Pairs with the release in vcpu_request_start(). */
		req = smp_load_acquire(&vcpu->request);
		if (req == REQ_NONE)
			continue;
		if (req == REQ_RUN) {
			vcpu->result = vcpu_run_request(vcpu);
			/*
			 * Still inside RUN, so still there: hold it. The
			 * one held already cannot have been freed and its
			 * address reused, so the same address is the same
			 * task.
			 */
			if (caller != vcpu->run_caller) {
				if (caller)
					put_task_struct(caller);
				caller = vcpu->run_caller;
				get_task_struct(caller);
			}
		} else {
			vcpu->result = vcpu_call(vcpu);
		}
		after_run = req == REQ_RUN;
		/* The result must be visible before the request is done. */
		smp_store_release(&vcpu->request, REQ_NONE);
		vcpu_wake_waiter(&vcpu->done_wait);
	}
	if (caller)
		put_task_struct(caller);
	loaded_vmcs_clear(&vcpu->vmcs);
	return 0;
}

static void vcpu_request_start(struct vcpu *vcpu, enum vcpu_request req)
{
	/* What the request reads (call_fn, kick, ...) is visible first. */
	smp_store_release(&vcpu->request, req);
	vcpu_wake_waiter(&vcpu->req_wait);
}

/**
 * vcpu_call_on_thread() - run @fn on the vCPU thread with its VMCS loaded
 * @vcpu: the vCPU, idle: its ioctl_lock held and no RUN in flight, or
 *	  being created
 * @fn: the function; preemption is off while it runs
 * @arg: its argument
 *
 * The wait is uninterruptible but bounded: the thread is idle, and @fn
 * runs with preemption off and never sleeps. @arg may live on the
 * caller's stack, so the caller cannot leave before the answer.
 *
 * Return: what @fn returned.
 */
int vcpu_call_on_thread(struct vcpu *vcpu, int (*fn)(struct vcpu *, void *),
			void *arg)
{
	vcpu->call_fn = fn;
	vcpu->call_arg = arg;
	vcpu_request_start(vcpu, REQ_CALL);
	rcuwait_wait_event(&vcpu->done_wait, vcpu_request_done(vcpu),
			   TASK_UNINTERRUPTIBLE);
	return vcpu->result;
}

/*
 * After a kick: the thread tests the kick with interrupts off before every
 * entry and exit handlers never sleep, so the answer comes within one
 * exit; kicking again now and then keeps the wait bounded whatever the
 * thread was doing when the IPI came.
 */
static void vcpu_wait_kicked(struct vcpu *vcpu)
{
	prepare_to_rcuwait(&vcpu->done_wait);
	for (;;) {
		/* Pairs with the barrier in rcuwait_wake_up(). */
		set_current_state(TASK_UNINTERRUPTIBLE);
		if (vcpu_request_done(vcpu))
			break;
		if (!schedule_timeout(HZ / 10))
			vcpu_wake(vcpu);
	}
	finish_rcuwait(&vcpu->done_wait);
}

/* Wait for the thread to end a RUN: until the guest exits, or a signal. */
static int vcpu_wait_run(struct vcpu *vcpu)
{
	bool hit;
	u64 start;
	int ret;

	start = vcpu_poll(vcpu, &vcpu->run_poll, vcpu_request_done,
			  vcpu->thread, &hit);
	if (hit)
		return vcpu->result;
	ret = rcuwait_wait_event(&vcpu->done_wait, vcpu_request_done(vcpu),
				 TASK_INTERRUPTIBLE);
	if (ret) {
		WRITE_ONCE(vcpu->kick, true);
		/* An IPI to the thread's CPU forces a VM exit; a HLT wakes. */
		vcpu_wake(vcpu);
		vcpu_wait_kicked(vcpu);
		start = 0;
	}
	vcpu_poll_end(&vcpu->run_poll, start);
	return vcpu->result;
}

/* Give the thread back: what its owner did is seen by the next owner. */
static void vcpu_put_own(struct vcpu *vcpu)
{
	/* Pairs with the cmpxchg that takes it next. */
	smp_store_release(&vcpu->own, OWN_IDLE);
}

/*
 * Take the thread for RUN: free, or running for an answer written in the
 * page, which the RUN then waits for. Return: the owner found.
 */
static int vcpu_claim_run(struct vcpu *vcpu)
{
	int old = READ_ONCE(vcpu->own), new;

	do {
		if (old == OWN_IDLE)
			new = OWN_RUN;
		else if (old == OWN_PAGE)
			new = OWN_PAGE_RUN;
		else
			return old;
	} while (!try_cmpxchg(&vcpu->own, &old, new));
	return old;
}

/*
 * MINIVMM_RUN. With run->immediate_exit set it only completes the exit
 * userspace answered, also with a signal pending: a snapshot taken after
 * it has the whole instruction in the registers and memory. While the
 * thread runs the guest for an answer written in the run page, RUN
 * attaches to that run and returns its exit (immediate_exit then stops
 * it like a signal).
 */
static int vcpu_ioctl_run(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	bool attach;
	u8 immediate;
	u32 state;
	int ret;

	/* Shared with userspace: read once. */
	immediate = READ_ONCE(vcpu->run->immediate_exit);
	if (immediate > 1)
		return -EINVAL;
	/* Ordered after the RUN before this one: it gave the thread back. */
	ret = vcpu_claim_run(vcpu);
	if (ret == OWN_CALL) {
		/*
		 * Another ioctl has the thread, under ioctl_lock: wait for it
		 * as that ioctl's peers do. RUN itself takes no lock.
		 */
		if (mutex_lock_killable(&vcpu->ioctl_lock))
			return -EINTR;
		ret = vcpu_claim_run(vcpu);
		mutex_unlock(&vcpu->ioctl_lock);
	}
	if (ret != OWN_IDLE && ret != OWN_PAGE)
		return -EBUSY;
	attach = ret == OWN_PAGE;
	if (!attach && signal_pending(current) && !immediate) {
		/* An exit published in the page stays as it is. */
		state = MINIVMM_HANDOFF_STATE(READ_ONCE(vcpu->run->handoff));
		if (state == MINIVMM_HANDOFF_OFF)
			vcpu->run->exit_reason = MINIVMM_EXIT_INTR;
		vcpu_put_own(vcpu);
		return -EINTR;
	}
	if (!attach) {
		if (vm_run_begin(vm)) {
			vcpu_put_own(vcpu);
			return -EINTR;
		}
		WRITE_ONCE(vcpu->kick, false);
		vcpu->immediate_exit = immediate;
	} else if (immediate) {
		/* The thread cleared it before it took the run. */
		WRITE_ONCE(vcpu->kick, true);
	}
	vcpu->run_caller = current;
	vcpu_request_start(vcpu, REQ_RUN);
	if (attach && immediate)
		vcpu_wake(vcpu);

	ret = vcpu_wait_run(vcpu);

	if (!attach)
		vm_run_end(vm);
	/* The result is read: other ioctls may hand the thread work now. */
	vcpu_put_own(vcpu);
	return ret;
}

static int vcpu_set_cpuid(struct vcpu *vcpu, struct minivmm_cpuid __user *uc)
{
	struct minivmm_cpuid_entry *entries = NULL, *old;
	struct minivmm_cpuid c;
	unsigned int i;

	if (copy_from_user(&c, uc, sizeof(c)))
		return -EFAULT;
	if (c.flags)
		return -EINVAL;
	if (c.nent > MINIVMM_MAX_CPUID)
		return -E2BIG;
	if (c.nent) {
		entries = memdup_user(u64_to_user_ptr(c.entries),
				      array_size(c.nent, sizeof(*entries)));
		if (IS_ERR(entries))
			return PTR_ERR(entries);
	}
	for (i = 0; i < c.nent; i++) {
		if (entries[i].flags & ~MINIVMM_CPUID_INDEXED ||
		    entries[i].pad) {
			kfree(entries);
			return -EINVAL;
		}
	}
	/* The thread only reads the table during RUN, which is not now. */
	old = vcpu->cpuid;
	vcpu->cpuid = entries;
	vcpu->cpuid_nent = c.nent;
	vcpu->cpuid_changed = true;
	kfree(old);
	return 0;
}

/* Needs no lock: the vCPU may be running, and takes it at its next entry. */
static int vcpu_inject(struct vcpu *vcpu, unsigned long vector)
{
	if (vector < 32 || vector > 255)
		return -EINVAL;
	if (cmpxchg(&vcpu->pending_irq, -1, (int)vector) != -1)
		return -EBUSY;
	/*
	 * Make that entry now, or wake a halted vCPU. The cmpxchg orders the
	 * vector before the wake-up: a thread that sleeps after it, or a RUN
	 * that begins after it, finds the vector.
	 */
	vcpu_wake(vcpu);
	return 0;
}

/**
 * vcpu_nmi_pending() - whether an NMI waits for @vcpu
 * @vcpu: the vCPU
 *
 * An NMI wakes a halted vCPU whatever its interrupt flag says.
 *
 * Return: true while an NMI is queued and not yet injected.
 */
bool vcpu_nmi_pending(struct vcpu *vcpu)
{
	return READ_ONCE(vcpu->nmi_pending);
}

/**
 * vcpu_interruptibility() - the guest's interruptibility state
 * @vcpu: the vCPU, its VMCS loaded
 * @stale_nmi_block: NULL, or set to whether the CPU reported an NMI
 *		     blocking the guest cannot have
 *
 * Virtual-NMI blocking comes only from an NMI that went in, and goes with
 * the guest's IRET. Some CPUs (Bochs 2.7) do not drop the blocking left
 * by the guest that ran before on the CPU when VM entry loads a state
 * without it, and report it at every exit of the next guest: such a
 * blocking is cleared here. That CPU also holds back the NMI-window exit
 * until the guest's next IRET.
 *
 * Return: GUEST_INTERRUPTIBILITY_INFO, without a stale NMI blocking.
 */
u32 vcpu_interruptibility(struct vcpu *vcpu, bool *stale_nmi_block)
{
	u32 intr = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);
	bool stale = false;

	if (!(intr & GUEST_INTR_STATE_NMI)) {
		vcpu->nmi_may_block = false;
	} else if (!vcpu->nmi_may_block) {
		intr &= ~GUEST_INTR_STATE_NMI;
		vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, intr);
		stale = true;
	}
	if (stale_nmi_block)
		*stale_nmi_block = stale;
	return intr;
}

/**
 * vcpu_queue_nmi() - make an NMI pending for @vcpu
 * @vcpu: the vCPU
 *
 * Any context. NMIs queued before the guest takes one collapse into one,
 * as the CPU's NMI latch does. Without virtual NMIs nothing could tell
 * when the guest unblocks NMIs: the NMI is dropped.
 */
void vcpu_queue_nmi(struct vcpu *vcpu)
{
	if (!(vmx_config.features & MINIVMM_CAP_VIRTUAL_NMI))
		return;
	WRITE_ONCE(vcpu->nmi_pending, true);
	/* Order the NMI before vcpu_wake()'s test of a running RUN. */
	smp_mb();
	vcpu_wake(vcpu);
}

/* MINIVMM_NMI: no lock, like MINIVMM_INJECT_INTERRUPT. */
static int vcpu_nmi(struct vcpu *vcpu, unsigned long arg)
{
	if (arg)
		return -EINVAL;
	if (!(vmx_config.features & MINIVMM_CAP_VIRTUAL_NMI))
		return -EOPNOTSUPP;
	vcpu_queue_nmi(vcpu);
	return 0;
}

/* Copy a register structure in or out around a call on the thread. */
static int vcpu_regs_ioctl(struct vcpu *vcpu, void __user *uarg, size_t size,
			   int (*fn)(struct vcpu *, void *), bool set)
{
	u8 buf[sizeof(struct minivmm_sregs)];
	int ret;

	BUILD_BUG_ON(sizeof(struct minivmm_regs) > sizeof(buf));
	if (set && copy_from_user(buf, uarg, size))
		return -EFAULT;
	if (!set && !access_ok(uarg, size))
		return -EFAULT;
	ret = vcpu_call_on_thread(vcpu, fn, buf);
	if (!ret && !set && copy_to_user(uarg, buf, size))
		return -EFAULT;
	/* Userspace set up an AP itself: it need not wait for SIPI. */
	if (!ret && set && vcpu->mp_state == MP_WAIT_SIPI)
		vcpu->mp_state = MP_RUNNABLE;
	return ret;
}

/**
 * vcpu_ioctl() - ioctls of a vCPU fd
 * @filp: the vCPU fd
 * @cmd: MINIVMM_RUN, MINIVMM_GET/SET_REGS, MINIVMM_GET/SET_SREGS,
 *	 MINIVMM_SET_CPUID, MINIVMM_INJECT_INTERRUPT, MINIVMM_NMI,
 *	 MINIVMM_GET/SET_MSRS, MINIVMM_GET_MSR_INDEX_LIST,
 *	 MINIVMM_GET/SET_FPU, MINIVMM_GET/SET_DEBUGREGS,
 *	 MINIVMM_GET/SET_VCPU_EVENTS, MINIVMM_GET/SET_LAPIC or
 *	 MINIVMM_GET/SET_MP_STATE
 * @arg: its argument
 *
 * MINIVMM_INJECT_INTERRUPT and MINIVMM_NMI act on a running vCPU; the
 * other commands fail with -EBUSY while a MINIVMM_RUN of the vCPU is in
 * flight.
 *
 * Return: 0, the number of MSRs processed for MINIVMM_GET/SET_MSRS, or a
 * negative errno: -EINTR when a signal interrupted RUN or a fatal signal
 * the wait for another ioctl, -EFAULT for a bad pointer, -EINVAL for
 * invalid values or non-zero reserved fields, -E2BIG for too many CPUID
 * or MSR entries, -EBUSY when an interrupt is already pending or the
 * vCPU is running, -EOPNOTSUPP for NMIs without virtual NMIs, -EIO from
 * a process that did not create the VM, -ENOTTY for an unknown command.
 */
static long vcpu_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	struct vcpu *vcpu = filp->private_data;
	void __user *uarg = (void __user *)arg;
	long ret;

	if (current->mm != vcpu->vm->mm)
		return -EIO;

	switch (cmd) {
	case MINIVMM_RUN:
		return arg ? -EINVAL : vcpu_ioctl_run(vcpu);
	case MINIVMM_INJECT_INTERRUPT:
		return vcpu_inject(vcpu, arg);
	case MINIVMM_NMI:
		return vcpu_nmi(vcpu, arg);
	case MINIVMM_GET_REGS:
	case MINIVMM_SET_REGS:
	case MINIVMM_GET_SREGS:
	case MINIVMM_SET_SREGS:
	case MINIVMM_SET_CPUID:
	case MINIVMM_GET_MSRS:
	case MINIVMM_SET_MSRS:
	case MINIVMM_GET_MSR_INDEX_LIST:
	case MINIVMM_GET_FPU:
	case MINIVMM_SET_FPU:
	case MINIVMM_GET_DEBUGREGS:
	case MINIVMM_SET_DEBUGREGS:
	case MINIVMM_GET_VCPU_EVENTS:
	case MINIVMM_SET_VCPU_EVENTS:
	case MINIVMM_GET_LAPIC:
	case MINIVMM_SET_LAPIC:
	case MINIVMM_GET_MP_STATE:
	case MINIVMM_SET_MP_STATE:
		break;
	default:
		return -ENOTTY;
	}

	if (mutex_lock_killable(&vcpu->ioctl_lock))
		return -EINTR;
	/*
	 * Ordered after the release at the end of RUN (its result was read)
	 * and against the thread taking itself for a run from the page.
	 */
	if (cmpxchg(&vcpu->own, OWN_IDLE, OWN_CALL) != OWN_IDLE) {
		mutex_unlock(&vcpu->ioctl_lock);
		return -EBUSY;
	}
	switch (cmd) {
	case MINIVMM_GET_REGS:
		ret = vcpu_regs_ioctl(vcpu, uarg, sizeof(struct minivmm_regs),
				      vcpu_get_regs, false);
		break;
	case MINIVMM_SET_REGS:
		ret = vcpu_regs_ioctl(vcpu, uarg, sizeof(struct minivmm_regs),
				      vcpu_set_regs, true);
		break;
	case MINIVMM_GET_SREGS:
		ret = vcpu_regs_ioctl(vcpu, uarg, sizeof(struct minivmm_sregs),
				      vcpu_get_sregs, false);
		break;
	case MINIVMM_SET_SREGS:
		ret = vcpu_regs_ioctl(vcpu, uarg, sizeof(struct minivmm_sregs),
				      vcpu_set_sregs, true);
		break;
	case MINIVMM_GET_MSRS:
	case MINIVMM_SET_MSRS:
		ret = vcpu_msrs_ioctl(vcpu, uarg, cmd == MINIVMM_SET_MSRS);
		break;
	case MINIVMM_GET_MSR_INDEX_LIST:
		ret = vcpu_msr_list_ioctl(vcpu, uarg);
		break;
	case MINIVMM_GET_FPU:
	case MINIVMM_SET_FPU:
		ret = vcpu_fpu_ioctl(vcpu, uarg, cmd == MINIVMM_SET_FPU);
		break;
	case MINIVMM_GET_DEBUGREGS:
	case MINIVMM_SET_DEBUGREGS:
		ret = vcpu_debugregs_ioctl(vcpu, uarg,
					   cmd == MINIVMM_SET_DEBUGREGS);
		break;
	case MINIVMM_GET_VCPU_EVENTS:
	case MINIVMM_SET_VCPU_EVENTS:
		ret = vcpu_events_ioctl(vcpu, uarg,
					cmd == MINIVMM_SET_VCPU_EVENTS);
		break;
	case MINIVMM_GET_LAPIC:
	case MINIVMM_SET_LAPIC:
		ret = vcpu_lapic_ioctl(vcpu, uarg, cmd == MINIVMM_SET_LAPIC);
		break;
	case MINIVMM_GET_MP_STATE:
	case MINIVMM_SET_MP_STATE:
		ret = vcpu_mp_state_ioctl(vcpu, uarg,
					  cmd == MINIVMM_SET_MP_STATE);
		break;
	default:
		ret = vcpu_set_cpuid(vcpu, uarg);
	}
	vcpu_put_own(vcpu);
	mutex_unlock(&vcpu->ioctl_lock);
	return ret;
}

static int vcpu_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct vcpu *vcpu = filp->private_data;
	int ret;

	/* The posted-write ring is a mapping of its own. */
	if (vma->vm_pgoff == MINIVMM_POSTED_RING_OFFSET >> PAGE_SHIFT) {
		if (vma->vm_end - vma->vm_start != MINIVMM_POSTED_RING_SIZE)
			return -EINVAL;
		vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
		return vm_insert_page(vma, vma->vm_start,
				      virt_to_page(vcpu->posted));
	}
	if (vma->vm_pgoff ||
	    vma->vm_end - vma->vm_start != MINIVMM_RUN_MMAP_SIZE)
		return -EINVAL;
	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	ret = vm_insert_page(vma, vma->vm_start, virt_to_page(vcpu->run));
	if (ret)
		return ret;
	return vm_insert_page(vma, vma->vm_start + MINIVMM_RUN_DATA_OFFSET,
			      virt_to_page(vcpu->run_data));
}

static void vcpu_free_rcu(struct rcu_head *head)
{
	struct vcpu *vcpu = container_of(head, struct vcpu, rcu);

	if (vcpu->thread)
		put_task_struct(vcpu->thread);
	free_page((unsigned long)vcpu->vmcs.vmcs);
	free_page((unsigned long)vcpu->run);
	free_page((unsigned long)vcpu->run_data);
	free_page((unsigned long)vcpu->posted);
	free_page((unsigned long)vcpu->fpu);
	free_page((unsigned long)vcpu->vapic);
	kfree(vcpu->cpuid);
	kfree(vcpu);
}

static void vcpu_free(struct vcpu *vcpu)
{
	if (vcpu->vpid)
		vpid_free(vcpu->vpid);
	/*
	 * Statistics readers and IPI senders (which set bits in the APIC
	 * page and wake the thread) may still hold it, under
	 * rcu_read_lock().
	 */
	call_rcu(&vcpu->rcu, vcpu_free_rcu);
}

static void vcpu_destroy(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	kthread_stop(vcpu->thread);
	lapic_destroy(vcpu);
	mutex_lock(&vm->lock);
	RCU_INIT_POINTER(vm->vcpus[vcpu->id], NULL);
	WRITE_ONCE(vm->nr_vcpus, vm->nr_vcpus - 1);
	mutex_unlock(&vm->lock);
	vcpu_free(vcpu);
	limits_vcpu_uncharge(vm);
	vm_put(vm);
}

static int vcpu_release(struct inode *inode, struct file *filp)
{
	vcpu_destroy(filp->private_data);
	return 0;
}

static const struct file_operations vcpu_fops = {
	.owner		= THIS_MODULE,
	.release	= vcpu_release,
	.unlocked_ioctl	= vcpu_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= vcpu_mmap,
	.llseek		= noop_llseek,
};

static int vcpu_setup_on_thread(struct vcpu *vcpu, void *unused)
{
	return vmcs_setup(vcpu);
}

static struct vcpu *vcpu_alloc(struct vm *vm, unsigned int id)
{
	struct vcpu *vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);

	if (!vcpu)
		return NULL;
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->pending_irq = -1;
	/* Like an AP on a PC: only the first vCPU runs from reset. */
	vcpu->mp_state = id ? MP_WAIT_SIPI : MP_RUNNABLE;
	vcpu->vmcs.cpu = -1;
	/* Poll from the start: a window that does not pay soon closes. */
	vcpu->run_poll.ns = poll_ns;
	vcpu->req_poll.ns = poll_ns;
	INIT_LIST_HEAD(&vcpu->vmcs.node);
	mutex_init(&vcpu->ioctl_lock);
	rcuwait_init(&vcpu->req_wait);
	rcuwait_init(&vcpu->done_wait);

	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->run_data = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->posted = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->fpu = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->vmcs.vmcs = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->vapic = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run || !vcpu->run_data || !vcpu->posted || !vcpu->fpu ||
	    !vcpu->vmcs.vmcs || !vcpu->vapic) {
		vcpu_free(vcpu);
		return NULL;
	}
	posted_ring_init(vcpu);
	lapic_init(vcpu);
	vcpu->vmcs.pa = __pa(vcpu->vmcs.vmcs);
	*(u32 *)vcpu->vmcs.vmcs = vmx_config.revision_id;
	/* The x87 and SSE state after reset. */
	vcpu->fpu->cwd = 0x37f;
	vcpu->fpu->mxcsr = 0x1f80;
	vcpu->xcr0 = XFEATURE_MASK_FP;
	if (vmx_config.features & MINIVMM_CAP_VPID)
		vcpu->vpid = vpid_alloc();
	return vcpu;
}

/**
 * vcpu_create() - MINIVMM_CREATE_VCPU
 * @vm: the VM
 * @id: the vCPU id, below MINIVMM_MAX_VCPUS
 *
 * Return: a vCPU fd; -EINVAL for an id out of range, -EEXIST when the id
 * is taken, -EIO from a process that did not create the VM, -EINTR for a
 * fatal signal, -EAGAIN when the user may not have another vCPU thread
 * (max_vcpus_per_user, RLIMIT_NPROC), -ENOMEM, or the error of setting up
 * the VMCS.
 */
int vcpu_create(struct vm *vm, unsigned long id)
{
	struct vcpu *vcpu;
	int ret, fd;

	if (id >= MINIVMM_MAX_VCPUS)
		return -EINVAL;
	if (current->mm != vm->mm)
		return -EIO;

	if (mutex_lock_killable(&vm->lock))
		return -EINTR;
	if (rcu_access_pointer(vm->vcpus[id])) {
		ret = -EEXIST;
		goto unlock;
	}
	ret = limits_vcpu_charge(vm);
	if (ret)
		goto unlock;
	vcpu = vcpu_alloc(vm, id);
	if (!vcpu) {
		ret = -ENOMEM;
		goto uncharge;
	}
	vcpu->thread = kthread_create(vcpu_thread, vcpu, "minivmm/%u:%lu",
				      vm->id, id);
	if (IS_ERR(vcpu->thread)) {
		ret = PTR_ERR(vcpu->thread);
		vcpu->thread = NULL;
		vcpu_free(vcpu);
		goto uncharge;
	}
	get_task_struct(vcpu->thread);
	wake_up_process(vcpu->thread);

	ret = vcpu_call_on_thread(vcpu, vcpu_setup_on_thread, NULL);
	if (ret)
		goto stop;

	refcount_inc(&vm->refs);
	fd = anon_inode_getfd("minivmm-vcpu", &vcpu_fops, vcpu,
			      O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		refcount_dec(&vm->refs);
		ret = fd;
		goto stop;
	}
	rcu_assign_pointer(vm->vcpus[id], vcpu);
	WRITE_ONCE(vm->nr_vcpus, vm->nr_vcpus + 1);
	mutex_unlock(&vm->lock);
	return fd;

stop:
	kthread_stop(vcpu->thread);
	vcpu_free(vcpu);
uncharge:
	limits_vcpu_uncharge(vm);
unlock:
	mutex_unlock(&vm->lock);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * VM exit handling: one handler per basic exit reason, dispatched through
 * a table, every exit counted.
 *
 * A handler returns 1 to enter the guest again, 0 to return to userspace
 * with the run structure filled in, or a negative errno. Handlers run on
 * the vCPU thread with interrupts off and the VMCS loaded; each VMCS field
 * is read at most once per exit.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/nospec.h>
#include <asm/apic.h>
#include <asm/hardirq.h>
#include <asm/debugreg.h>
#include <asm/irq_vectors.h>
#include <asm/msr.h>
#include <asm/sync_core.h>
#include <asm/trapnr.h>
#include <asm/vmx.h>

#include "minivmm.h"
#include "vmx_ops.h"
#include "trace.h"

#define RFLAGS_IF	X86_EFLAGS_IF

static unsigned int guest_cpl(void)
{
	return VMX_AR_DPL(vmcs_read32(GUEST_SS_AR_BYTES));
}

static bool guest_long_mode(struct vcpu *vcpu)
{
	return vcpu->entry_ctls & VM_ENTRY_IA32E_MODE;
}

/* DR6 and DR7 bits asm/debugreg.h does not name. */
#define DR6_BD		BIT(13)		/* general detect */
#define DR6_BS		DR_STEP		/* single step */
#define DR6_STATUS	(DR_TRAP_BITS | DR6_BD | DR6_BS | DR_SWITCH)
#define DR7_GD		BIT(13)
#define DR7_FIXED1	0x400UL
#define DR7_RESERVED0	(BIT(11) | BIT(12) | BIT(14) | BIT(15))
#define DR_RW_IO	2

/*
 * The breakpoints among DR0-DR3 that an I/O access to @size bytes at
 * @port hits: enabled, of type I/O (CR4.DE), and overlapping the access.
 */
static unsigned long io_breakpoints(struct vcpu *vcpu, u16 port,
				    unsigned int size)
{
	unsigned long dr7 = vcpu->dr7, hit = 0;
	int i;

	if (!(vcpu->cr4 & X86_CR4_DE))
		return 0;
	for (i = 0; i < 4; i++) {
		unsigned int ctl = dr7 >> (DR_CONTROL_SHIFT + i * 4);
		/* LEN encodes 1, 2, 8 and 4 bytes. */
		static const u8 lens[4] = { 1, 2, 8, 4 };
		unsigned long len = lens[(ctl >> 2) & 3];
		unsigned long addr = vcpu->dr[i] & ~(len - 1) & 0xffff;

		if (!(dr7 & (3UL << (i * 2))) || (ctl & 3) != DR_RW_IO)
			continue;
		if (port < addr + len && addr < (unsigned long)port + size)
			hit |= BIT(i);
	}
	return hit;
}

/*
 * The trap-like debug exceptions of an instruction the module emulated
 * and stepped over: a single step with RFLAGS.TF (unless DEBUGCTL.BTF
 * makes it a step on branches), and the I/O breakpoints of an IN or OUT.
 */
static void vcpu_debug_trap(struct vcpu *vcpu)
{
	unsigned long dr6 = 0;

	if ((vmcs_readl(GUEST_RFLAGS) & X86_EFLAGS_TF) &&
	    !(vmcs_read64(GUEST_IA32_DEBUGCTL) & DEBUGCTLMSR_BTF))
		dr6 |= DR6_BS;
	if ((u16)vcpu->exit_reason == EXIT_REASON_IO_INSTRUCTION)
		dr6 |= io_breakpoints(vcpu, vcpu->exit_qual >> 16,
				      (vcpu->exit_qual & 7) + 1);
	if (dr6)
		vcpu_inject_db(vcpu, dr6);
}

/**
 * vcpu_advance_rip() - step over an instruction the module emulated
 * @vcpu: the vCPU
 * @len: the instruction's length
 *
 * Stepping over an instruction also ends an STI or MOV-SS shadow, and
 * raises the single-step or I/O breakpoint #DB the CPU would raise after
 * it.
 */
void vcpu_advance_rip(struct vcpu *vcpu, unsigned int len)
{
	unsigned long rip = vmcs_readl(GUEST_RIP) + len;
	u32 intr = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);

	if (!guest_long_mode(vcpu))
		rip = (u32)rip;
	vmcs_writel(GUEST_RIP, rip);
	if (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))
		vmcs_write32(GUEST_INTERRUPTIBILITY_INFO,
			     intr & ~(GUEST_INTR_STATE_STI |
				      GUEST_INTR_STATE_MOV_SS));
	vcpu_debug_trap(vcpu);
}

/**
 * vcpu_skip_insn() - step over the instruction that exited
 * @vcpu: the vCPU
 */
void vcpu_skip_insn(struct vcpu *vcpu)
{
	vcpu_advance_rip(vcpu, vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
}

/* Exception classes of the SDM's double-fault table. */
static bool exception_contributory(u8 vector)
{
	return vector == X86_TRAP_DE || (vector >= X86_TRAP_TS &&
					 vector <= X86_TRAP_GP);
}

/*
 * Faults push an RFLAGS image with RF set, so that IRET back to the
 * faulting instruction does not take its instruction breakpoint again.
 * #DB is left alone, as KVM leaves it: code-breakpoint and general-detect
 * #DBs do not set RF on Intel CPUs. Traps (#BP, #OF) and aborts (#DF,
 * #MC) leave RF as it is.
 */
static bool exception_is_fault(u8 vector)
{
	switch (vector) {
	case X86_TRAP_DB:
	case X86_TRAP_BP:
	case X86_TRAP_OF:
	case X86_TRAP_DF:
	case X86_TRAP_MC:
		return false;
	default:
		return true;
	}
}

/*
 * An exception raised while the CPU was delivering another event (the
 * exit interrupted its delivery): what the SDM's double-fault rules
 * make of the pair. Returns the vector to deliver, or -1 for a triple
 * fault. A benign pair delivers the new exception; an interrupt whose
 * delivery is lost goes back to wait for its turn.
 */
static int exception_merge(struct vcpu *vcpu, u8 vector)
{
	u32 prev = vcpu->reinject_info;
	u8 pv = prev & VECTORING_INFO_VECTOR_MASK;

	vcpu->reinject_info = 0;
	switch (prev & VECTORING_INFO_TYPE_MASK) {
	case INTR_TYPE_HARD_EXCEPTION:
		if (pv == X86_TRAP_DF &&
		    (exception_contributory(vector) || vector == X86_TRAP_PF))
			return -1;
		if ((exception_contributory(pv) &&
		     exception_contributory(vector)) ||
		    (pv == X86_TRAP_PF && (exception_contributory(vector) ||
					   vector == X86_TRAP_PF)))
			return X86_TRAP_DF;
		break;
	case INTR_TYPE_EXT_INTR:
		if (vcpu->pending_irq < 0)
			vcpu->pending_irq = pv;
		break;
	case INTR_TYPE_NMI_INTR:
		/* Not taken: it waits again, and blocks nothing yet. */
		WRITE_ONCE(vcpu->nmi_pending, true);
		vmcs_write32(GUEST_INTERRUPTIBILITY_INFO,
			     vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) &
			     ~GUEST_INTR_STATE_NMI);
		break;
	}
	return vector;
}

/**
 * vcpu_inject_exception() - deliver an exception with the next entry
 * @vcpu: the vCPU
 * @vector: the exception
 * @has_err: whether it pushes an error code (not in real mode)
 * @err: the error code
 *
 * The guest sees the frame a CPU would push: the RIP of the instruction
 * the caller left in GUEST_RIP, RF set in the RFLAGS image of a fault,
 * the error code in protected mode. When the exit interrupted the
 * delivery of another event, the pair becomes a #DF or a triple fault
 * (vcpu->triple_fault: the exit handler then reports a shutdown).
 */
void vcpu_inject_exception(struct vcpu *vcpu, u8 vector, bool has_err,
			   u32 err)
{
	u32 info;
	int v = vector;

	if (vcpu->reinject_info & VECTORING_INFO_VALID_MASK) {
		v = exception_merge(vcpu, vector);
		if (v < 0) {
			vcpu->triple_fault = true;
			return;
		}
		if (v == X86_TRAP_DF && vector != X86_TRAP_DF) {
			has_err = true;
			err = 0;
		}
	}
	if (exception_is_fault(v))
		vmcs_writel(GUEST_RFLAGS,
			    vmcs_readl(GUEST_RFLAGS) | X86_EFLAGS_RF);
	info = v | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_VALID_MASK;
	if (has_err && (vcpu->cr0 & X86_CR0_PE)) {
		info |= INTR_INFO_DELIVER_CODE_MASK;
		vmcs_write32(VM_ENTRY_EXCEPTION_ERROR_CODE, err);
	}
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, info);
	vcpu->event_injected = true;
}

/**
 * vcpu_inject_page_fault() - deliver a #PF with the next entry
 * @vcpu: the vCPU
 * @addr: the linear address that faulted: the guest's CR2
 * @err: the page-fault error code
 */
void vcpu_inject_page_fault(struct vcpu *vcpu, unsigned long addr, u32 err)
{
	vcpu->cr2 = addr;
	vcpu_inject_exception(vcpu, X86_TRAP_PF, true, err);
}

/**
 * vcpu_inject_db() - deliver a #DB with the next entry
 * @vcpu: the vCPU
 * @dr6: the DR6 status bits of this #DB (B0-B3, BD, BS)
 *
 * DR6 gets the new status bits, with B0-B3 replaced as KVM does (the SDM
 * lets a CPU clear them); entering the handler clears DR7.GD, as the CPU
 * does so the handler itself may use the debug registers.
 */
void vcpu_inject_db(struct vcpu *vcpu, unsigned long dr6)
{
	vcpu->dr6 = (vcpu->dr6 & ~DR_TRAP_BITS) | (dr6 & DR6_STATUS);
	if (vcpu->dr7 & DR7_GD) {
		vcpu->dr7 &= ~DR7_GD;
		vmcs_writel(GUEST_DR7, vcpu->dr7);
	}
	vcpu_inject_exception(vcpu, X86_TRAP_DB, false, 0);
}

static int inject_gp(struct vcpu *vcpu)
{
	vcpu_inject_exception(vcpu, X86_TRAP_GP, true, 0);
	return 1;
}

static int inject_ud(struct vcpu *vcpu)
{
	vcpu_inject_exception(vcpu, X86_TRAP_UD, false, 0);
	return 1;
}

static int internal_error(struct vcpu *vcpu, u32 suberror, u64 d0, u64 d1)
{
	struct minivmm_run *run = vcpu->run;

	run->exit_reason = MINIVMM_EXIT_INTERNAL_ERROR;
	memset(&run->internal, 0, sizeof(run->internal));
	run->internal.suberror = suberror;
	run->internal.data[0] = d0;
	run->internal.data[1] = d1;
	return 0;
}

/**
 * vcpu_complete_userspace() - finish the instruction userspace answered
 * @vcpu: the vCPU, before it enters the guest again
 *
 * An IN, INS, MMIO read and hypercall exit to userspace with the guest
 * RIP already past the instruction (or, for a REP string instruction
 * with elements left, on it); the value userspace left in the run
 * structure lands in the guest register or memory here. The rest of an
 * emulated instruction may need the device again: the write half of a
 * read-modify-write is an exit of its own, made here.
 *
 * Return: 1 to enter the guest, 0 to return to userspace with the next
 * exit of the same instruction in the run structure.
 */
int vcpu_complete_userspace(struct vcpu *vcpu)
{
	struct minivmm_run *run = vcpu->run;
	unsigned long *reg;
	u64 val, mask;
	int ret;

	switch (vcpu->pending) {
	case PIO_IN:
		reg = &vcpu->regs[R_RAX];
		mask = vcpu->pending_len == 4 ? ~0UL :
		       (1UL << (vcpu->pending_len * 8)) - 1;
		val = run->io.data & mask;
		/* A 32-bit destination clears the upper half. */
		*reg = vcpu->pending_len == 4 ? val : (*reg & ~mask) | val;
		break;
	case PIO_INS:
	case MMIO_READ:
		/* Flags, RSP and the page tables live in the VMCS. */
		preempt_disable();
		if (loaded_vmcs_load(&vcpu->vmcs))
			vmcs_refresh_host_percpu(vcpu);
		ret = emulate_complete(vcpu);
		preempt_enable();
		return ret;
	case HYPERCALL:
		vcpu->regs[R_RAX] = run->hypercall.ret;
		break;
	case DONE:
		break;
	}
	vcpu->pending = DONE;
	return 1;
}

static int handle_resume(struct vcpu *vcpu)
{
	return 1;
}

static int handle_skip(struct vcpu *vcpu)
{
	vcpu_skip_insn(vcpu);
	return 1;
}

/* How long to wait for our own NMI to come in (cpu_relax() rounds). */
#define NMI_WAIT_ROUNDS	100000

/*
 * An NMI meant for the host caused the exit: the exit consumed it and left
 * NMIs blocked until the next IRET. Raise it again as a real NMI and let
 * the host's own NMI entry take it, here, with interrupts still off (the
 * handler runs in NMI context whatever the interrupt flag says).
 *
 * apic->send_IPI() sends NMI_VECTOR with the NMI delivery mode (unlike
 * send_IPI_self(), whose x2APIC SELF IPI register only sends fixed
 * interrupts, and vectors below 16 not at all); iret_to_self() lifts the
 * blocking. The wait makes sure the NMI is taken before the next entry:
 * arriving in guest mode it would only cause another NMI exit.
 */
static void raise_host_nmi(void)
{
	unsigned int seen = this_cpu_read(irq_stat.__nmi_count);
	int i;

	apic->send_IPI(smp_processor_id(), NMI_VECTOR);
	iret_to_self();
	for (i = 0; i < NMI_WAIT_ROUNDS; i++) {
		if (this_cpu_read(irq_stat.__nmi_count) != seen)
			return;
		cpu_relax();
	}
}

/*
 * #DB always exits (the exception bitmap): a #DB that exits leaves DR6
 * alone, so the host's DR6 never holds guest status bits, and the guest's
 * DR6 is kept here. ICEBP exits on the instruction itself and goes back
 * in as the same privileged software exception, past the instruction; it
 * sets no DR6 status bit.
 */
static int handle_db(struct vcpu *vcpu, u32 info)
{
	u32 intr;

	if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_PRIV_SW_EXCEPTION) {
		vmcs_write32(VM_ENTRY_INSTRUCTION_LEN,
			     vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
		vmcs_write32(VM_ENTRY_INTR_INFO_FIELD,
			     X86_TRAP_DB | INTR_TYPE_PRIV_SW_EXCEPTION |
			     INTR_INFO_VALID_MASK);
		vcpu->event_injected = true;
		return 1;
	}
	/*
	 * In an STI or MOV-SS shadow with TF set, VM entry insists that a
	 * single step be pending; the exit did not record it.
	 */
	intr = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);
	if ((vmcs_readl(GUEST_RFLAGS) & X86_EFLAGS_TF) &&
	    (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS)))
		vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS,
			    vmcs_readl(GUEST_PENDING_DBG_EXCEPTIONS) | DR6_BS);
	vcpu_inject_db(vcpu, vcpu->exit_qual);
	return 1;
}

/*
 * The exit came from a fault in an IRET that had already unblocked NMIs
 * (@unblocked: bit 12 of the exit's interruption information, or of an
 * EPT violation's qualification). The IRET runs again after the fault is
 * dealt with: until then NMIs stay blocked, as they were before it
 * (SDM 27.2.3). The bit means nothing when the exit interrupted the
 * delivery of an event.
 */
static void nmi_iret_reblock(struct vcpu *vcpu, bool unblocked)
{
	if (!unblocked || !(vmx_config.features & MINIVMM_CAP_VIRTUAL_NMI) ||
	    (vcpu->reinject_info & VECTORING_INFO_VALID_MASK))
		return;
	vcpu->nmi_may_block = true;
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO,
		     vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) |
		     GUEST_INTR_STATE_NMI);
}

static int handle_exception_nmi(struct vcpu *vcpu)
{
	u32 info = vmcs_read32(VM_EXIT_INTR_INFO);

	if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR) {
		raise_host_nmi();
		return 1;
	}
	nmi_iret_reblock(vcpu, info & INTR_INFO_UNBLOCK_NMI);
	/* #DB is the only exception in the exception bitmap. */
	if ((info & INTR_INFO_VECTOR_MASK) == X86_TRAP_DB)
		return handle_db(vcpu, info);
	return internal_error(vcpu, MINIVMM_INTERNAL_UNHANDLED_EXIT,
			      vcpu->exit_reason, info);
}

/*
 * The guest can take NMIs again (its IRET unblocked them): the next entry
 * injects the pending one and turns the window off.
 */
static int handle_nmi_window(struct vcpu *vcpu)
{
	return 1;
}

static int handle_triple_fault(struct vcpu *vcpu)
{
	vcpu->run->exit_reason = MINIVMM_EXIT_SHUTDOWN;
	return 0;
}

static int handle_cpuid(struct vcpu *vcpu)
{
	cpuid_emulate(vcpu);
	vcpu_skip_insn(vcpu);
	return 1;
}

static int handle_hlt(struct vcpu *vcpu)
{
	u32 nmi_blocked;

	vcpu_skip_insn(vcpu);
	nmi_blocked = vcpu_interruptibility(vcpu, NULL) & GUEST_INTR_STATE_NMI;
	/*
	 * Stepping over HLT raised a #DB, or an NMI waits and is not
	 * blocked (an NMI handler halting before its IRET stays halted):
	 * deliver it instead of halting.
	 */
	if (vcpu->event_injected || (vcpu_nmi_pending(vcpu) && !nmi_blocked))
		return 1;
	/*
	 * With interrupts enabled the vCPU sleeps in the kernel, in
	 * vcpu_run(), until one is due (unless one is due already); with
	 * them off nothing but userspace can end the halt.
	 */
	if (vmcs_readl(GUEST_RFLAGS) & RFLAGS_IF) {
		if (READ_ONCE(vcpu->pending_irq) < 0 &&
		    !lapic_interrupt_due(vcpu)) {
			vcpu->halt_nmi_blocked = nmi_blocked;
			vcpu->mp_state = MP_HALTED;
		}
		return 1;
	}
	vcpu->run->exit_reason = MINIVMM_EXIT_HLT;
	return 0;
}

static int handle_vmcall(struct vcpu *vcpu)
{
	struct minivmm_run *run = vcpu->run;
	u64 nr = vcpu->regs[R_RAX];

	vcpu_skip_insn(vcpu);
	if (guest_cpl()) {
		vcpu->regs[R_RAX] = MINIVMM_HC_ERR_PERM;
		return 1;
	}
	if (nr == MINIVMM_HC_NOP) {
		vcpu->regs[R_RAX] = 0;
		return 1;
	}
	if (nr < MINIVMM_HC_USER_BASE) {
		vcpu->regs[R_RAX] = MINIVMM_HC_ERR_UNKNOWN;
		return 1;
	}
	run->exit_reason = MINIVMM_EXIT_HYPERCALL;
	run->hypercall.nr = nr;
	run->hypercall.args[0] = vcpu->regs[R_RBX];
	run->hypercall.args[1] = vcpu->regs[R_RCX];
	run->hypercall.args[2] = vcpu->regs[R_RDX];
	run->hypercall.args[3] = vcpu->regs[R_RSI];
	run->hypercall.ret = 0;
	vcpu->pending = HYPERCALL;
	return 0;
}

static unsigned long read_gpr(struct vcpu *vcpu, int reg)
{
	unsigned long val = reg == R_RSP ? vmcs_readl(GUEST_RSP) :
					   vcpu->regs[reg];

	return guest_long_mode(vcpu) ? val : (u32)val;
}

static void write_gpr(struct vcpu *vcpu, int reg, unsigned long val)
{
	if (reg == R_RSP)
		vmcs_writel(GUEST_RSP, val);
	else
		vcpu->regs[reg] = val;
}

static int handle_cr(struct vcpu *vcpu)
{
	unsigned long q = vcpu->exit_qual, val;
	int cr = q & CONTROL_REG_ACCESS_NUM;
	int reg = (q & CONTROL_REG_ACCESS_REG) >> 8;
	int ret = -EINVAL;

	switch ((q & CONTROL_REG_ACCESS_TYPE) >> 4) {
	case 0:		/* MOV to CR */
		val = read_gpr(vcpu, reg);
		if (cr == 0) {
			ret = vcpu_set_cr0(vcpu, val);
		} else if (cr == 4) {
			ret = vcpu_set_cr4(vcpu, val);
		} else if (cr == 8 && !(val & ~0xfUL)) {
			lapic_set_cr8(vcpu, val);
			ret = 0;
		}
		break;
	case 1:		/* MOV from CR */
		if (cr == 8) {
			write_gpr(vcpu, reg, lapic_get_cr8(vcpu));
			ret = 0;
		}
		break;
	case 2:		/* CLTS */
		ret = vcpu_set_cr0(vcpu, vcpu->cr0 & ~X86_CR0_TS);
		break;
	case 3:		/* LMSW: sets PE, MP, EM, TS; cannot clear PE */
		val = (q & LMSW_SOURCE_DATA) >> LMSW_SOURCE_DATA_SHIFT;
		ret = vcpu_set_cr0(vcpu, (vcpu->cr0 & ~0xeUL) | (val & 0xf));
		break;
	}
	if (ret)
		return inject_gp(vcpu);
	vcpu_skip_insn(vcpu);
	return 1;
}

/*
 * MOV DR always exits: the registers live in the vCPU (DR7 also in the
 * VMCS, DR0-DR3 go into the CPU around entries while DR7 enables one).
 */
static int handle_dr(struct vcpu *vcpu)
{
	unsigned long q = vcpu->exit_qual, val;
	int n = q & DEBUG_REG_ACCESS_NUM, reg = DEBUG_REG_ACCESS_REG(q);

	if (guest_cpl())
		return inject_gp(vcpu);
	if (n == 4 || n == 5) {
		if (vcpu->cr4 & X86_CR4_DE)
			return inject_ud(vcpu);
		n += 2;
	}
	/*
	 * The exit comes before the CPU checks DR7.GD: raise the general
	 * detect #DB here, a fault on the MOV.
	 */
	if (vcpu->dr7 & DR7_GD) {
		vcpu_inject_db(vcpu, DR6_BD);
		return 1;
	}
	if ((q & DEBUG_REG_ACCESS_TYPE) == TYPE_MOV_FROM_DR) {
		write_gpr(vcpu, reg, n < 4 ? vcpu->dr[n] :
				     n == 6 ? vcpu->dr6 : vcpu->dr7);
	} else {
		val = read_gpr(vcpu, reg);
		if (n >= 6 && (val >> 32))
			return inject_gp(vcpu);
		if (n < 4) {
			vcpu->dr[n] = val;
		} else if (n == 6) {
			vcpu->dr6 = (val & DR6_STATUS) | DR6_RESERVED;
		} else {
			vcpu->dr7 = (val & ~DR7_RESERVED0) | DR7_FIXED1;
			vmcs_writel(GUEST_DR7, vcpu->dr7);
		}
	}
	vcpu_skip_insn(vcpu);
	return 1;
}

static int handle_io(struct vcpu *vcpu)
{
	struct minivmm_run *run = vcpu->run;
	unsigned long q = vcpu->exit_qual;
	unsigned int size = (q & 7) + 1;
	u32 data = vcpu->regs[R_RAX] &
		   (size == 4 ? ~0U : (1U << (size * 8)) - 1);
	bool in = q & 8;

	if (q & 16)	/* INS/OUTS, with or without REP */
		return emulate_string_io(vcpu, q);

	if (!in && (ioeventfd_write(vcpu, true, q >> 16, size, data) ||
		    posted_write(vcpu, true, q >> 16, size, data))) {
		vcpu_skip_insn(vcpu);
		return 1;
	}
	run->exit_reason = MINIVMM_EXIT_IO;
	memset(&run->io, 0, sizeof(run->io));
	run->io.port = q >> 16;
	run->io.size = size;
	run->io.direction = in ? MINIVMM_IO_IN : MINIVMM_IO_OUT;
	run->io.count = 1;
	run->io.data_offset = offsetof(struct minivmm_run, io.data);
	if (!in)
		run->io.data = data;
	vcpu_skip_insn(vcpu);
	if (in) {
		vcpu->pending = PIO_IN;
		vcpu->pending_len = size;
	}
	return 0;
}

static int handle_rdmsr(struct vcpu *vcpu)
{
	u64 val;

	if (!msr_read(vcpu, vcpu->regs[R_RCX], &val))
		return inject_gp(vcpu);
	vcpu->regs[R_RAX] = (u32)val;
	vcpu->regs[R_RDX] = val >> 32;
	vcpu_skip_insn(vcpu);
	return 1;
}

static int handle_wrmsr(struct vcpu *vcpu)
{
	u64 val = (u32)vcpu->regs[R_RAX] | (vcpu->regs[R_RDX] << 32);

	if (!msr_write(vcpu, vcpu->regs[R_RCX], val))
		return inject_gp(vcpu);
	vcpu_skip_insn(vcpu);
	return 1;
}

static int handle_xsetbv(struct vcpu *vcpu)
{
	u64 val = (u32)vcpu->regs[R_RAX] | (vcpu->regs[R_RDX] << 32);
	u64 allowed = XFEATURE_MASK_FP | XFEATURE_MASK_SSE;

	if (guest_cpl() || (u32)vcpu->regs[R_RCX] ||
	    !(val & XFEATURE_MASK_FP) || (val & ~allowed))
		return inject_gp(vcpu);
	vcpu->xcr0 = val;
	vcpu_skip_insn(vcpu);
	return 1;
}

/*
 * The one slot lookup of an EPT violation. A write to a page of writable
 * RAM that dirty logging write-protected (or did until logging stopped)
 * gets the write permission back, then the page is logged, in this order
 * (see slot_take_dirty()): *@done, the guest may go on (an event being
 * delivered goes in again). Return: whether @gpa is writable RAM.
 */
static bool ept_lookup(struct vcpu *vcpu, u64 gpa, bool *done)
{
	struct mem_slot *slot;
	bool ram;

	rcu_read_lock();
	slot = vm_find_slot(vcpu->vm, gpa);
	ram = slot && !(slot->flags & MINIVMM_MEM_READONLY);
	*done = ram && (vcpu->exit_qual & EPT_VIOLATION_ACC_WRITE) &&
		ept_allow_write(&vcpu->vm->ept, gpa);
	if (*done)
		slot_mark_dirty(slot, gpa);
	rcu_read_unlock();
	return ram;
}

static int handle_ept_violation(struct vcpu *vcpu)
{
	u64 gpa = vmcs_read64(GUEST_PHYSICAL_ADDRESS);
	bool ram, done;

	/* The qualification's bit 12 is the same "NMI unblocking" bit. */
	nmi_iret_reblock(vcpu, vcpu->exit_qual & INTR_INFO_UNBLOCK_NMI);

	ram = ept_lookup(vcpu, gpa, &done);
	if (done)
		return 1;

	/* The IDT, GDT or stack of an event being delivered is not RAM. */
	if (vcpu->reinject_info & VECTORING_INFO_VALID_MASK)
		return internal_error(vcpu, MINIVMM_INTERNAL_DELIVERY, gpa,
				      vcpu->reinject_info);
	if (vcpu->exit_qual & EPT_VIOLATION_ACC_INSTR)
		return internal_error(vcpu, MINIVMM_INTERNAL_EMULATION, gpa,
				      vcpu->exit_qual);
	if (ram)
		return internal_error(vcpu, MINIVMM_INTERNAL_UNHANDLED_EXIT,
				      vcpu->exit_reason, gpa);
	return emulate_mmio(vcpu, gpa);
}

static int handle_ept_misconfig(struct vcpu *vcpu)
{
	u64 gpa = vmcs_read64(GUEST_PHYSICAL_ADDRESS);

	pr_err_ratelimited("vCPU %u:%u: EPT misconfiguration at %#llx\n",
			   vcpu->vm->id, vcpu->id, gpa);
	return internal_error(vcpu, MINIVMM_INTERNAL_EPT_MISCONFIG, gpa, 0);
}

typedef int (*exit_handler_t)(struct vcpu *vcpu);

static const exit_handler_t exit_handlers[] = {
	[EXIT_REASON_EXCEPTION_NMI]		= handle_exception_nmi,
	[EXIT_REASON_EXTERNAL_INTERRUPT]	= handle_resume,
	[EXIT_REASON_TRIPLE_FAULT]		= handle_triple_fault,
	[EXIT_REASON_INTERRUPT_WINDOW]		= handle_resume,
	[EXIT_REASON_NMI_WINDOW]		= handle_nmi_window,
	[EXIT_REASON_CPUID]			= handle_cpuid,
	[EXIT_REASON_HLT]			= handle_hlt,
	[EXIT_REASON_INVD]			= handle_skip,
	[EXIT_REASON_TPR_BELOW_THRESHOLD]	= handle_resume,
	[EXIT_REASON_RDPMC]			= inject_gp,
	[EXIT_REASON_VMCALL]			= handle_vmcall,
	[EXIT_REASON_VMCLEAR]			= inject_ud,
	[EXIT_REASON_VMLAUNCH]			= inject_ud,
	[EXIT_REASON_VMPTRLD]			= inject_ud,
	[EXIT_REASON_VMPTRST]			= inject_ud,
	[EXIT_REASON_VMREAD]			= inject_ud,
	[EXIT_REASON_VMRESUME]			= inject_ud,
	[EXIT_REASON_VMWRITE]			= inject_ud,
	[EXIT_REASON_VMOFF]			= inject_ud,
	[EXIT_REASON_VMON]			= inject_ud,
	[EXIT_REASON_CR_ACCESS]			= handle_cr,
	[EXIT_REASON_DR_ACCESS]			= handle_dr,
	[EXIT_REASON_IO_INSTRUCTION]		= handle_io,
	[EXIT_REASON_MSR_READ]			= handle_rdmsr,
	[EXIT_REASON_MSR_WRITE]			= handle_wrmsr,
	[EXIT_REASON_MWAIT_INSTRUCTION]		= inject_ud,
	[EXIT_REASON_MONITOR_INSTRUCTION]	= inject_ud,
	[EXIT_REASON_PAUSE_INSTRUCTION]		= handle_skip,
	[EXIT_REASON_EPT_VIOLATION]		= handle_ept_violation,
	[EXIT_REASON_EPT_MISCONFIG]		= handle_ept_misconfig,
	[EXIT_REASON_INVEPT]			= inject_ud,
	[EXIT_REASON_PREEMPTION_TIMER]		= handle_resume,
	[EXIT_REASON_INVVPID]			= inject_ud,
	[EXIT_REASON_WBINVD]			= handle_skip,
	[EXIT_REASON_XSETBV]			= handle_xsetbv,
	[EXIT_REASON_VMFUNC]			= inject_ud,
};

static int handle_failed_entry(struct vcpu *vcpu, u32 reason)
{
	struct minivmm_run *run = vcpu->run;

	run->exit_reason = MINIVMM_EXIT_FAIL_ENTRY;
	run->fail_entry.hardware_reason = reason;
	run->fail_entry.instruction_error = 0;
	run->fail_entry.qualification = vmcs_readl(EXIT_QUALIFICATION);
	vcpu_log_failed_entry(vcpu, "VM entry failed: exit reason", reason,
			      run->fail_entry.qualification);
	return 0;
}

/*
 * The exception a handler raised, and what the exit was about. Out of
 * line: its buffer would give every exit a stack canary to check.
 */
static noinline void trace_exit_fault(struct vcpu *vcpu, u32 basic)
{
	u32 info = vmcs_read32(VM_ENTRY_INTR_INFO_FIELD);
	char err[24] = "";
	u64 what;

	/* The error code, when the exception has one. */
	if (info & INTR_INFO_DELIVER_CODE_MASK)
		snprintf(err, sizeof(err), " error %#x",
			 vmcs_read32(VM_ENTRY_EXCEPTION_ERROR_CODE));
	switch (basic) {
	case EXIT_REASON_MSR_READ:
	case EXIT_REASON_MSR_WRITE:
		what = (u32)vcpu->regs[R_RCX];
		break;
	case EXIT_REASON_IO_INSTRUCTION:
		what = vcpu->exit_qual >> 16;
		break;
	case EXIT_REASON_EPT_VIOLATION:
		what = vmcs_read64(GUEST_PHYSICAL_ADDRESS);
		break;
	default:
		what = vcpu->exit_qual;
	}
	trace_minivmm_exit_fault(vcpu->vm->id, vcpu->id, basic, what,
				 info & INTR_INFO_VECTOR_MASK, err);
}

/**
 * vcpu_handle_exit() - handle the VM exit that just happened
 * @vcpu: the vCPU, on its thread, interrupts off
 *
 * Return: 1 to enter the guest again, 0 to return to userspace, or a
 * negative errno.
 */
int vcpu_handle_exit(struct vcpu *vcpu)
{
	u32 reason = vmcs_read32(VM_EXIT_REASON), basic = (u16)reason;
	u32 idt = vmcs_read32(IDT_VECTORING_INFO_FIELD);
	int ret;

	vcpu->exit_reason = reason;
	vcpu->nr_exits++;
	vcpu->run->hw_exit_reason = reason;

	/* A failed entry leaves the VMCS unlaunched: VMLAUNCH it again. */
	if (reason & VMX_EXIT_REASONS_FAILED_VMENTRY)
		return handle_failed_entry(vcpu, reason);
	vcpu->vmcs.launched = true;

	vcpu->exit_qual = vmcs_readl(EXIT_QUALIFICATION);
	if (basic < NR_EXIT_REASONS)
		vcpu->exits[basic]++;

	/* An event whose delivery the exit interrupted goes in again. */
	if (idt & VECTORING_INFO_VALID_MASK) {
		vcpu->reinject_info = idt;
		if (idt & VECTORING_INFO_DELIVER_CODE_MASK)
			vcpu->reinject_err =
				vmcs_read32(IDT_VECTORING_ERROR_CODE);
		vcpu->reinject_len = vmcs_read32(VM_EXIT_INSTRUCTION_LEN);
	}

	if (trace_minivmm_exit_enabled())
		trace_minivmm_exit(vcpu->vm->id, vcpu->id, reason,
				   vcpu->exit_qual, vmcs_readl(GUEST_RIP));

	if (basic >= ARRAY_SIZE(exit_handlers) || !exit_handlers[basic])
		return internal_error(vcpu, MINIVMM_INTERNAL_UNHANDLED_EXIT,
				      reason, vcpu->exit_qual);
	basic = array_index_nospec(basic, ARRAY_SIZE(exit_handlers));
	ret = exit_handlers[basic](vcpu);
	if (vcpu->triple_fault) {
		vcpu->triple_fault = false;
		return handle_triple_fault(vcpu);
	}
	if (vcpu->event_injected && trace_minivmm_exit_fault_enabled())
		trace_exit_fault(vcpu, basic);
	return ret;
}

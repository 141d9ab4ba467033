// SPDX-License-Identifier: GPL-2.0
/*
 * The rest of a vCPU's architectural state, for debuggers, snapshots and
 * migration: MSRs, the x87/SSE image and XCR0, the debug registers, the
 * events on their way into the guest, the local APIC and the run state.
 *
 * Each ioctl runs with the vCPU's ioctl lock held and no RUN in flight
 * (vcpu.c checks both): what lives in the VMCS is read and written on
 * the vCPU thread, the rest directly. Every value is checked before any
 * of it lands, so a refused SET changes nothing; the one exception is
 * the MSR list, which stops at the first MSR it cannot set and says how
 * far it came.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/debugreg.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <asm/trapnr.h>
#include <asm/vmx.h>

#include "minivmm.h"
#include "vmx_ops.h"

/* DR6 bits a guest can see change, and the DR7 bits that must be 0. */
#define DR6_STATUS	(DR_TRAP_BITS | BIT(13) | DR_STEP | DR_SWITCH)
#define DR7_FIXED1	0x400ULL
#define DR7_RESERVED0	(BIT(11) | BIT(12) | BIT(14) | BIT(15))

/* FXSAVE's MXCSR_MASK: 0 there means the SDM's default mask. */
#define MXCSR_MASK_DEFAULT	0xffbf

/**
 * struct msr_call - a MINIVMM_GET/SET_MSRS list for the vCPU thread
 * @e:		the entries
 * @n:		how many
 * @set:	write them (else read)
 */
struct msr_call {
	struct minivmm_msr_entry *e;
	u32 n;
	bool set;
};

static int msrs_on_thread(struct vcpu *vcpu, void *arg)
{
	struct msr_call *c = arg;
	u32 i;

	for (i = 0; i < c->n; i++) {
		struct minivmm_msr_entry *e = &c->e[i];

		if (c->set ? !msr_set(vcpu, e->index, e->data) :
			     !msr_get(vcpu, e->index, &e->data))
			break;
	}
	return i;
}

/**
 * vcpu_msrs_ioctl() - MINIVMM_GET_MSRS and MINIVMM_SET_MSRS
 * @vcpu: the vCPU, idle, its ioctl lock held
 * @uarg: struct minivmm_msrs
 * @set: MINIVMM_SET_MSRS
 *
 * Entries are processed in order up to the first MSR the guest cannot
 * use (or, for SET, cannot hold that value); GET writes back the values
 * of the entries it processed.
 *
 * Return: the number of entries processed, -EFAULT, -EINVAL for non-zero
 * flags or reserved fields, -E2BIG above MINIVMM_MAX_MSRS, -ENOMEM.
 */
int vcpu_msrs_ioctl(struct vcpu *vcpu, void __user *uarg, bool set)
{
	struct minivmm_msrs __user *um = uarg;
	struct minivmm_msr_entry *e;
	struct minivmm_msrs m;
	struct msr_call c;
	int ret;
	u32 i;

	if (copy_from_user(&m, um, sizeof(m)))
		return -EFAULT;
	if (m.flags)
		return -EINVAL;
	if (m.nmsrs > MINIVMM_MAX_MSRS)
		return -E2BIG;
	if (!m.nmsrs)
		return 0;
	e = memdup_user(u64_to_user_ptr(m.entries),
			array_size(m.nmsrs, sizeof(*e)));
	if (IS_ERR(e))
		return PTR_ERR(e);
	for (i = 0; i < m.nmsrs; i++) {
		if (e[i].reserved) {
			kfree(e);
			return -EINVAL;
		}
	}
	c.e = e;
	c.n = m.nmsrs;
	c.set = set;
	ret = vcpu_call_on_thread(vcpu, msrs_on_thread, &c);
	if (!set && ret > 0 &&
	    copy_to_user(u64_to_user_ptr(m.entries), e, ret * sizeof(*e)))
		ret = -EFAULT;
	kfree(e);
	return ret;
}

/**
 * vcpu_msr_list_ioctl() - MINIVMM_GET_MSR_INDEX_LIST
 * @vcpu: the vCPU, idle, its ioctl lock held
 * @uarg: struct minivmm_msr_list
 *
 * The list follows the vCPU's CPUID table: an MSR whose CPUID bit the
 * guest does not see is not in it. nmsrs is written back with the
 * number of MSRs, also when the room was too small.
 *
 * Return: 0, -EFAULT, -EINVAL for non-zero flags, -E2BIG when nmsrs is
 * smaller than the list, -ENOMEM.
 */
int vcpu_msr_list_ioctl(struct vcpu *vcpu, void __user *uarg)
{
	struct minivmm_msr_list __user *ul = uarg;
	struct minivmm_msr_list l;
	unsigned int n;
	u32 *idx;
	int ret = 0;

	if (copy_from_user(&l, ul, sizeof(l)))
		return -EFAULT;
	if (l.flags)
		return -EINVAL;
	idx = kmalloc_array(MINIVMM_MAX_MSRS, sizeof(*idx), GFP_KERNEL);
	if (!idx)
		return -ENOMEM;
	n = msr_list(vcpu, idx, MINIVMM_MAX_MSRS);
	if (l.nmsrs < n)
		ret = -E2BIG;
	else if (copy_to_user(u64_to_user_ptr(l.indices), idx,
			      n * sizeof(*idx)))
		ret = -EFAULT;
	kfree(idx);
	l.nmsrs = n;
	if (put_user(l.nmsrs, &ul->nmsrs))
		return -EFAULT;
	return ret;
}

/* The MXCSR bits this CPU's FXRSTOR accepts. */
static u32 mxcsr_feature_bits(void)
{
	struct fxregs_state *fx = kzalloc(sizeof(*fx), GFP_KERNEL);
	u32 mask;

	if (!fx)
		return MXCSR_MASK_DEFAULT;
	/* FXSAVE only reads the FPU: the saved image is thrown away. */
	kernel_fpu_begin();
	asm volatile("fxsave64 %0" : "=m" (*fx));
	kernel_fpu_end();
	mask = fx->mxcsr_mask ? fx->mxcsr_mask : MXCSR_MASK_DEFAULT;
	kfree(fx);
	return mask;
}

/**
 * vcpu_fpu_ioctl() - MINIVMM_GET_FPU and MINIVMM_SET_FPU
 * @vcpu: the vCPU, idle, its ioctl lock held: the thread does not touch
 *	  the image between runs
 * @uarg: struct minivmm_fpu
 * @set: MINIVMM_SET_FPU
 *
 * The image is what FXSAVE64 stores and FXRSTOR64 loads around every
 * entry. MXCSR is the one field FXRSTOR faults on: reserved bits in it
 * are refused here, before they could reach the CPU.
 *
 * Return: 0, -EFAULT, or -EINVAL for reserved MXCSR bits, an XCR0 that
 * XSETBV would refuse, or non-zero flags, pad or reserved fields.
 */
int vcpu_fpu_ioctl(struct vcpu *vcpu, void __user *uarg, bool set)
{
	struct minivmm_fpu *f;
	struct fxregs_state *fx;
	int ret = 0;

	BUILD_BUG_ON(sizeof(f->fxsave) != sizeof(*vcpu->fpu));
	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	if (!set) {
		memcpy(f->fxsave, vcpu->fpu, sizeof(f->fxsave));
		f->xcr0 = vcpu->xcr0;
		if (copy_to_user(uarg, f, sizeof(*f)))
			ret = -EFAULT;
		goto out;
	}
	if (copy_from_user(f, uarg, sizeof(*f))) {
		ret = -EFAULT;
		goto out;
	}
	fx = (struct fxregs_state *)f->fxsave;
	if (f->flags || f->pad || memchr_inv(f->reserved, 0,
					     sizeof(f->reserved)) ||
	    (fx->mxcsr & ~mxcsr_feature_bits()) ||
	    (f->xcr0 != XFEATURE_MASK_FP &&
	     f->xcr0 != (XFEATURE_MASK_FP | XFEATURE_MASK_SSE))) {
		ret = -EINVAL;
		goto out;
	}
	memcpy(vcpu->fpu, f->fxsave, sizeof(f->fxsave));
	vcpu->xcr0 = f->xcr0;
out:
	kfree(f);
	return ret;
}

static int set_dr_on_thread(struct vcpu *vcpu, void *arg)
{
	struct minivmm_debugregs *d = arg;

	memcpy(vcpu->dr, d->db, sizeof(vcpu->dr));
	vcpu->dr6 = d->dr6;
	vcpu->dr7 = d->dr7;
	vmcs_writel(GUEST_DR7, vcpu->dr7);
	return 0;
}

/**
 * vcpu_debugregs_ioctl() - MINIVMM_GET_DEBUGREGS and MINIVMM_SET_DEBUGREGS
 * @vcpu: the vCPU, idle, its ioctl lock held
 * @uarg: struct minivmm_debugregs
 * @set: MINIVMM_SET_DEBUGREGS
 *
 * DR0-DR3 take any value, as the guest's MOV to them does: the CPU
 * checks none when they are loaded.
 *
 * Return: 0, -EFAULT, or -EINVAL for a reserved DR6 or DR7 bit, or
 * non-zero flags, pad or reserved fields.
 */
int vcpu_debugregs_ioctl(struct vcpu *vcpu, void __user *uarg, bool set)
{
	struct minivmm_debugregs d;

	if (!set) {
		memset(&d, 0, sizeof(d));
		memcpy(d.db, vcpu->dr, sizeof(d.db));
		d.dr6 = vcpu->dr6;
		d.dr7 = vcpu->dr7;
		return copy_to_user(uarg, &d, sizeof(d)) ? -EFAULT : 0;
	}
	if (copy_from_user(&d, uarg, sizeof(d)))
		return -EFAULT;
	if (d.flags || d.pad || memchr_inv(d.reserved, 0, sizeof(d.reserved)))
		return -EINVAL;
	if ((d.dr6 & ~(u64)DR6_STATUS) != DR6_RESERVED ||
	    (d.dr7 >> 32) || (d.dr7 & DR7_RESERVED0) || !(d.dr7 & DR7_FIXED1))
		return -EINVAL;
	return vcpu_call_on_thread(vcpu, set_dr_on_thread, &d);
}

/* The exceptions that push an error code in protected mode. */
static bool exception_has_error(u8 vector)
{
	return vector == X86_TRAP_DF || vector == X86_TRAP_TS ||
	       vector == X86_TRAP_NP || vector == X86_TRAP_SS ||
	       vector == X86_TRAP_GP || vector == X86_TRAP_PF ||
	       vector == X86_TRAP_AC;
}

static int get_events_on_thread(struct vcpu *vcpu, void *arg)
{
	struct minivmm_vcpu_events *ev = arg;
	u32 info = 0, err = 0, len = 0;
	u32 intr = vcpu_interruptibility(vcpu, NULL);
	int irq = READ_ONCE(vcpu->pending_irq);
	u8 vector;

	/* The event of the next entry: an interrupted one, or an exit's. */
	if (vcpu->reinject_info & VECTORING_INFO_VALID_MASK) {
		info = vcpu->reinject_info;
		err = vcpu->reinject_err;
		len = vcpu->reinject_len;
	} else if (vcpu->event_injected) {
		info = vmcs_read32(VM_ENTRY_INTR_INFO_FIELD);
		if (info & INTR_INFO_DELIVER_CODE_MASK)
			err = vmcs_read32(VM_ENTRY_EXCEPTION_ERROR_CODE);
		len = vmcs_read32(VM_ENTRY_INSTRUCTION_LEN);
	}
	vector = info & INTR_INFO_VECTOR_MASK;
	if (info & INTR_INFO_VALID_MASK) {
		switch (info & INTR_INFO_INTR_TYPE_MASK) {
		case INTR_TYPE_SOFT_INTR:
			ev->interrupt.soft = 1;
			ev->insn_len = len;
			fallthrough;
		case INTR_TYPE_EXT_INTR:
			ev->interrupt.injected = 1;
			ev->interrupt.vector = vector;
			break;
		case INTR_TYPE_NMI_INTR:
			ev->nmi.injected = 1;
			break;
		case INTR_TYPE_SOFT_EXCEPTION:
		case INTR_TYPE_PRIV_SW_EXCEPTION:
			ev->exception.type =
				(info & INTR_INFO_INTR_TYPE_MASK) ==
				INTR_TYPE_SOFT_EXCEPTION ?
				MINIVMM_EXC_SOFT : MINIVMM_EXC_PRIV_SOFT;
			ev->insn_len = len;
			fallthrough;
		default:
			ev->exception.injected = 1;
			ev->exception.vector = vector;
			ev->exception.has_error_code =
				!!(info & INTR_INFO_DELIVER_CODE_MASK);
			ev->exception.error_code = err;
		}
	}
	if (irq >= 0) {
		ev->interrupt.queued = 1;
		ev->interrupt.queued_vector = irq;
	}
	ev->nmi.pending = vcpu_nmi_pending(vcpu);
	ev->nmi.masked = !!(intr & GUEST_INTR_STATE_NMI);
	if (intr & GUEST_INTR_STATE_STI)
		ev->shadow |= MINIVMM_SHADOW_STI;
	if (intr & GUEST_INTR_STATE_MOV_SS)
		ev->shadow |= MINIVMM_SHADOW_MOV_SS;
	ev->flags = MINIVMM_EVENTS_INJECTED | MINIVMM_EVENTS_QUEUED |
		    MINIVMM_EVENTS_NMI_MASK | MINIVMM_EVENTS_SHADOW;
	return 0;
}

/* The VM-entry interruption information of the injected event, or 0. */
static u32 events_entry_info(const struct minivmm_vcpu_events *ev)
{
	u32 info = INTR_INFO_VALID_MASK;

	if (ev->nmi.injected)
		return info | INTR_TYPE_NMI_INTR | X86_TRAP_NMI;
	if (ev->interrupt.injected)
		return info | ev->interrupt.vector |
		       (ev->interrupt.soft ? INTR_TYPE_SOFT_INTR :
					     INTR_TYPE_EXT_INTR);
	if (!ev->exception.injected)
		return 0;
	info |= ev->exception.vector;
	if (ev->exception.has_error_code)
		info |= INTR_INFO_DELIVER_CODE_MASK;
	switch (ev->exception.type) {
	case MINIVMM_EXC_SOFT:
		return info | INTR_TYPE_SOFT_EXCEPTION;
	case MINIVMM_EXC_PRIV_SOFT:
		return info | INTR_TYPE_PRIV_SW_EXCEPTION;
	default:
		return info | INTR_TYPE_HARD_EXCEPTION;
	}
}

/*
 * What SET_VCPU_EVENTS changes, against the state it lands in (RFLAGS,
 * CR0.PE, the interruptibility it leaves): the combinations VM entry
 * would refuse are -EINVAL here.
 */
static int set_events_on_thread(struct vcpu *vcpu, void *arg)
{
	const struct minivmm_vcpu_events *ev = arg;
	u32 intr = vcpu_interruptibility(vcpu, NULL);
	bool irq_on = vmcs_readl(GUEST_RFLAGS) & X86_EFLAGS_IF;
	u32 info = events_entry_info(ev), type;
	u8 vector = ev->exception.vector;

	if (ev->flags & MINIVMM_EVENTS_SHADOW) {
		intr &= ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
		if (ev->shadow & MINIVMM_SHADOW_STI)
			intr |= GUEST_INTR_STATE_STI;
		if (ev->shadow & MINIVMM_SHADOW_MOV_SS)
			intr |= GUEST_INTR_STATE_MOV_SS;
	}
	if (ev->flags & MINIVMM_EVENTS_NMI_MASK) {
		intr &= ~GUEST_INTR_STATE_NMI;
		if (ev->nmi.masked)
			intr |= GUEST_INTR_STATE_NMI;
	}
	if ((intr & GUEST_INTR_STATE_STI) && !irq_on)
		return -EINVAL;

	if (ev->flags & MINIVMM_EVENTS_INJECTED) {
		type = info & INTR_INFO_INTR_TYPE_MASK;
		if (info && type == INTR_TYPE_EXT_INTR &&
		    (!irq_on || (intr & (GUEST_INTR_STATE_STI |
					 GUEST_INTR_STATE_MOV_SS))))
			return -EINVAL;
		if (info && type == INTR_TYPE_NMI_INTR &&
		    (intr & (GUEST_INTR_STATE_NMI | GUEST_INTR_STATE_MOV_SS)))
			return -EINVAL;
		/* Real mode pushes no error code; protected mode must. */
		if (info && type == INTR_TYPE_HARD_EXCEPTION &&
		    ev->exception.has_error_code !=
		    ((vcpu->cr0 & X86_CR0_PE) && exception_has_error(vector)))
			return -EINVAL;
		if (vcpu->event_injected) {
			vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, 0);
			vcpu->event_injected = false;
		}
		vcpu->reinject_info = info;
		vcpu->reinject_err = ev->exception.error_code;
		vcpu->reinject_len = ev->insn_len;
	}
	if (ev->flags & MINIVMM_EVENTS_QUEUED) {
		WRITE_ONCE(vcpu->pending_irq, ev->interrupt.queued ?
			   ev->interrupt.queued_vector : -1);
		WRITE_ONCE(vcpu->nmi_pending, ev->nmi.pending);
	}
	if (intr & GUEST_INTR_STATE_NMI)
		vcpu->nmi_may_block = true;
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, intr);
	/* A halted vCPU's NMI blocking is the one its halt began with. */
	if (vcpu->mp_state == MP_HALTED)
		vcpu->halt_nmi_blocked = intr & GUEST_INTR_STATE_NMI;
	return 0;
}

/* The checks that need nothing but the structure. */
static int events_check(const struct minivmm_vcpu_events *ev)
{
	const u32 known = MINIVMM_EVENTS_INJECTED | MINIVMM_EVENTS_QUEUED |
			  MINIVMM_EVENTS_NMI_MASK | MINIVMM_EVENTS_SHADOW;
	bool soft = false;
	u8 v = ev->exception.vector;

	if ((ev->flags & ~known) || ev->pad[0] || ev->pad[1] ||
	    memchr_inv(ev->interrupt.pad, 0, sizeof(ev->interrupt.pad)) ||
	    ev->nmi.pad || memchr_inv(ev->reserved, 0, sizeof(ev->reserved)))
		return -EINVAL;
	if (ev->exception.injected > 1 || ev->exception.has_error_code > 1 ||
	    ev->interrupt.injected > 1 || ev->interrupt.soft > 1 ||
	    ev->interrupt.queued > 1 || ev->nmi.injected > 1 ||
	    ev->nmi.pending > 1 || ev->nmi.masked > 1 ||
	    (ev->shadow & ~(MINIVMM_SHADOW_STI | MINIVMM_SHADOW_MOV_SS)) ||
	    ev->shadow == (MINIVMM_SHADOW_STI | MINIVMM_SHADOW_MOV_SS))
		return -EINVAL;
	if (ev->exception.injected + ev->interrupt.injected +
	    ev->nmi.injected > 1)
		return -EINVAL;
	if (ev->exception.injected) {
		switch (ev->exception.type) {
		case MINIVMM_EXC_HARD:
			if (v > 31 || v == X86_TRAP_NMI)
				return -EINVAL;
			break;
		case MINIVMM_EXC_SOFT:
			if (v != X86_TRAP_BP && v != X86_TRAP_OF)
				return -EINVAL;
			soft = true;
			break;
		case MINIVMM_EXC_PRIV_SOFT:
			if (v != X86_TRAP_DB)
				return -EINVAL;
			soft = true;
			break;
		default:
			return -EINVAL;
		}
		if (soft && ev->exception.has_error_code)
			return -EINVAL;
	} else if (ev->exception.vector || ev->exception.type ||
		   ev->exception.has_error_code || ev->exception.error_code) {
		return -EINVAL;
	}
	if (!ev->exception.has_error_code && ev->exception.error_code)
		return -EINVAL;
	if (ev->interrupt.injected) {
		soft = ev->interrupt.soft;
		if (!soft && ev->interrupt.vector < 32)
			return -EINVAL;
	} else if (ev->interrupt.vector || ev->interrupt.soft) {
		return -EINVAL;
	}
	if (ev->interrupt.queued ? ev->interrupt.queued_vector < 32 :
				   ev->interrupt.queued_vector)
		return -EINVAL;
	/* Only the software events have an instruction to step over. */
	if (soft ? !ev->insn_len || ev->insn_len > 15 : ev->insn_len)
		return -EINVAL;
	return 0;
}

/**
 * vcpu_events_ioctl() - MINIVMM_GET_VCPU_EVENTS and MINIVMM_SET_VCPU_EVENTS
 * @vcpu: the vCPU, idle, its ioctl lock held
 * @uarg: struct minivmm_vcpu_events
 * @set: MINIVMM_SET_VCPU_EVENTS
 *
 * SET changes only the parts its flags name. What VM entry would refuse
 * is checked against the registers the vCPU has now: a restorer sets the
 * registers first.
 *
 * Return: 0, -EFAULT, -EOPNOTSUPP for an NMI field without
 * MINIVMM_CAP_VIRTUAL_NMI, or -EINVAL for a malformed or contradictory
 * structure (see Documentation/api.rst).
 */
int vcpu_events_ioctl(struct vcpu *vcpu, void __user *uarg, bool set)
{
	struct minivmm_vcpu_events ev;
	int ret;

	if (!set) {
		memset(&ev, 0, sizeof(ev));
		vcpu_call_on_thread(vcpu, get_events_on_thread, &ev);
		return copy_to_user(uarg, &ev, sizeof(ev)) ? -EFAULT : 0;
	}
	if (copy_from_user(&ev, uarg, sizeof(ev)))
		return -EFAULT;
	ret = events_check(&ev);
	if (ret)
		return ret;
	if (!(vmx_config.features & MINIVMM_CAP_VIRTUAL_NMI) &&
	    (ev.nmi.injected || ev.nmi.pending || ev.nmi.masked))
		return -EOPNOTSUPP;
	return vcpu_call_on_thread(vcpu, set_events_on_thread, &ev);
}

/**
 * vcpu_lapic_ioctl() - MINIVMM_GET_LAPIC and MINIVMM_SET_LAPIC
 * @vcpu: the vCPU, idle, its ioctl lock held
 * @uarg: struct minivmm_lapic_state
 * @set: MINIVMM_SET_LAPIC
 *
 * The register page in the xAPIC layout (lapic.c says what SET checks
 * and re-arms). IA32_APIC_BASE is the MSR's: a restorer sets it first.
 *
 * Return: 0, -EFAULT, -ENOMEM, or -EINVAL for non-zero flags, padding or
 * reserved fields, LINT bits other than 0 and 1, or a page the APIC could
 * not hold.
 */
int vcpu_lapic_ioctl(struct vcpu *vcpu, void __user *uarg, bool set)
{
	struct minivmm_lapic_state *s;
	int ret = 0;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	if (!set) {
		lapic_get_state(vcpu, s);
		if (copy_to_user(uarg, s, sizeof(*s)))
			ret = -EFAULT;
	} else if (copy_from_user(s, uarg, sizeof(*s))) {
		ret = -EFAULT;
	} else if (s->flags || s->pad ||
		   memchr_inv(s->reserved, 0, sizeof(s->reserved))) {
		ret = -EINVAL;
	} else {
		ret = lapic_set_state(vcpu, s);
	}
	kfree(s);
	return ret;
}

static int set_halted_on_thread(struct vcpu *vcpu, void *arg)
{
	if (!(vmcs_readl(GUEST_RFLAGS) & X86_EFLAGS_IF))
		return -EINVAL;
	/* As at a HLT: NMIs blocked now stay so until an IRET. */
	vcpu->halt_nmi_blocked = vcpu_interruptibility(vcpu, NULL) &
				 GUEST_INTR_STATE_NMI;
	WRITE_ONCE(vcpu->mp_state, MP_HALTED);
	return 0;
}

/**
 * vcpu_mp_state_ioctl() - MINIVMM_GET_MP_STATE and MINIVMM_SET_MP_STATE
 * @vcpu: the vCPU, idle, its ioctl lock held: its thread does not look
 *	  at the run state until the next RUN
 * @uarg: struct minivmm_mp_state
 * @set: MINIVMM_SET_MP_STATE
 *
 * Besides the run state, the INIT and start-up IPI the APIC latched for
 * the next RUN travel too, so that a restore loses no start-up in flight.
 * A halted vCPU waits as after the guest's HLT, which halts in the kernel
 * only with interrupts enabled: HALTED needs RFLAGS.IF set (a restorer
 * sets the registers first).
 *
 * Return: 0, -EFAULT, or -EINVAL for an unknown state or flag, non-zero
 * padding, a vector without MINIVMM_MP_SIPI_PENDING, a start-up IPI the
 * APIC would have dropped (neither waiting for one nor after an INIT),
 * or HALTED with RFLAGS.IF clear.
 */
int vcpu_mp_state_ioctl(struct vcpu *vcpu, void __user *uarg, bool set)
{
	static const enum vcpu_mp_state states[] = {
		[MINIVMM_MP_STATE_RUNNABLE] = MP_RUNNABLE,
		[MINIVMM_MP_STATE_HALTED] = MP_HALTED,
		[MINIVMM_MP_STATE_WAIT_SIPI] = MP_WAIT_SIPI,
	};
	const u32 known = MINIVMM_MP_INIT_PENDING | MINIVMM_MP_SIPI_PENDING;
	struct lapic *apic = &vcpu->lapic;
	struct minivmm_mp_state m;
	unsigned long flags;
	int ret;
	u32 i;

	if (!set) {
		memset(&m, 0, sizeof(m));
		for (i = 0; i < ARRAY_SIZE(states); i++)
			if (states[i] == vcpu->mp_state)
				m.state = i;
		spin_lock_irqsave(&apic->lock, flags);
		if (apic->init_pending)
			m.flags |= MINIVMM_MP_INIT_PENDING;
		if (apic->sipi_pending) {
			m.flags |= MINIVMM_MP_SIPI_PENDING;
			m.sipi_vector = apic->sipi_vector;
		}
		spin_unlock_irqrestore(&apic->lock, flags);
		return copy_to_user(uarg, &m, sizeof(m)) ? -EFAULT : 0;
	}
	if (copy_from_user(&m, uarg, sizeof(m)))
		return -EFAULT;
	if (m.state >= ARRAY_SIZE(states) || (m.flags & ~known) ||
	    memchr_inv(m.pad, 0, sizeof(m.pad)) ||
	    (m.sipi_vector && !(m.flags & MINIVMM_MP_SIPI_PENDING)))
		return -EINVAL;
	if ((m.flags & MINIVMM_MP_SIPI_PENDING) &&
	    !(m.flags & MINIVMM_MP_INIT_PENDING) &&
	    m.state != MINIVMM_MP_STATE_WAIT_SIPI)
		return -EINVAL;
	if (m.state == MINIVMM_MP_STATE_HALTED) {
		ret = vcpu_call_on_thread(vcpu, set_halted_on_thread, NULL);
		if (ret)
			return ret;
	} else {
		WRITE_ONCE(vcpu->mp_state, states[m.state]);
	}
	spin_lock_irqsave(&apic->lock, flags);
	apic->init_pending = m.flags & MINIVMM_MP_INIT_PENDING;
	apic->sipi_pending = m.flags & MINIVMM_MP_SIPI_PENDING;
	apic->sipi_vector = m.sipi_vector;
	spin_unlock_irqrestore(&apic->lock, flags);
	return 0;
}

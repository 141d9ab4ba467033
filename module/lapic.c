// SPDX-License-Identifier: GPL-2.0
/*
 * The local APIC of each vCPU: an xAPIC at the address IA32_APIC_BASE
 * holds, emulated register by register.
 *
 * The register page is the vCPU's virtual-APIC page (vcpu->vapic): with
 * a TPR shadow the CPU keeps the guest's CR8 at offset 0x80 of that page,
 * which is where the APIC's TPR lives, so CR8 and the TPR are the same
 * register without any copying. Every other register is written only
 * here, under lapic->lock, from the vCPU's thread (register accesses),
 * another vCPU's thread (IPIs), a host timer interrupt (the APIC timer)
 * or any thread delivering an I/O APIC or MSI message; the lock is
 * always taken with interrupts off.
 *
 * An accepted interrupt sets its IRR bit and wakes the vCPU
 * (vcpu_wake()); the vCPU's thread moves the highest IRR vector above
 * the processor priority to the ISR when it injects it at the next VM
 * entry (lapic_take_interrupt()), and an EOI clears the highest ISR bit.
 *
 * The LINT0 and LINT1 inputs are lines userspace raises and lowers
 * (MINIVMM_LINT); an assertion does what the LVT LINT0 or LINT1 entry
 * says: a vector (edge or, on LINT0, level with remote IRR until the
 * EOI), an NMI or an INIT, and nothing while masked. With the APIC
 * hardware-disabled they are the processor's INTR and NMI pins.
 *
 * The APIC timer counts at LAPIC_BUS_KHZ, divided by the divide
 * configuration; a host hrtimer fires when the count would reach zero
 * (or at the TSC deadline). The guest learns the frequency from CPUID
 * leaf 0x40000010 (cpuid.c).
 */
#include <linux/hrtimer.h>
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <asm/apicdef.h>
#include <asm/msr-index.h>
#include <asm/tsc.h>

#include "minivmm.h"
#include "vmx_ops.h"

/* Version 0x14 (an integrated xAPIC), six LVT entries: max LVT 5. */
#define LAPIC_VERSION		(0x14 | (5 << 16))
#define LAPIC_PAGE_SIZE		4096
/* No periodic timer fires more often than this: the host stays usable. */
#define LAPIC_MIN_PERIOD_NS	100000ULL

#define LVT_TIMER_MODE_MASK	(3 << 17)
#define LVT_COMMON		(APIC_VECTOR_MASK | APIC_LVT_MASKED)

static u32 *lapic_reg(struct vcpu *vcpu, u32 off)
{
	return (u32 *)(vcpu->vapic + off);
}

static u32 lapic_get(struct vcpu *vcpu, u32 off)
{
	return READ_ONCE(*lapic_reg(vcpu, off));
}

static void lapic_set(struct vcpu *vcpu, u32 off, u32 val)
{
	WRITE_ONCE(*lapic_reg(vcpu, off), val);
}

/* Bit @vec of the 256-bit register (IRR, ISR, TMR) at @base. */
static u32 *vec_word(struct vcpu *vcpu, u32 base, u8 vec)
{
	return lapic_reg(vcpu, base + (vec / 32) * 0x10);
}

static void vec_set(struct vcpu *vcpu, u32 base, u8 vec)
{
	*vec_word(vcpu, base, vec) |= BIT(vec % 32);
}

static void vec_clear(struct vcpu *vcpu, u32 base, u8 vec)
{
	*vec_word(vcpu, base, vec) &= ~BIT(vec % 32);
}

static bool vec_test(struct vcpu *vcpu, u32 base, u8 vec)
{
	return *vec_word(vcpu, base, vec) & BIT(vec % 32);
}

/* The highest vector set in the 256-bit register at @base, or -1. */
static int vec_highest(struct vcpu *vcpu, u32 base)
{
	int i;
	u32 w;

	for (i = 7; i >= 0; i--) {
		w = READ_ONCE(*lapic_reg(vcpu, base + i * 0x10));
		if (w)
			return i * 32 + fls(w) - 1;
	}
	return -1;
}

static bool lapic_hw_enabled(struct vcpu *vcpu)
{
	return vcpu->lapic.base & MSR_IA32_APICBASE_ENABLE;
}

static bool lapic_sw_enabled(struct vcpu *vcpu)
{
	return lapic_get(vcpu, APIC_SPIV) & APIC_SPIV_APIC_ENABLED;
}

static bool lapic_x2apic(struct vcpu *vcpu)
{
	return vcpu->lapic.base & X2APIC_ENABLE;
}

/* The x2APIC logical ID: cluster (ID[19:4]) and one bit of 16 (ID[3:0]). */
static u32 x2apic_ldr(struct vcpu *vcpu)
{
	return ((vcpu->id >> 4) << 16) | BIT(vcpu->id & 0xf);
}

/* The processor priority: the TPR, or the class of the highest ISR vector. */
static u32 lapic_ppr(struct vcpu *vcpu)
{
	u32 tpr = lapic_get(vcpu, APIC_TASKPRI) & 0xff;
	int isr = vec_highest(vcpu, APIC_ISR);
	u32 isrv = isr < 0 ? 0 : isr;

	return (tpr & 0xf0) >= (isrv & 0xf0) ? tpr : isrv & 0xf0;
}

/* The vector to deliver now, or -1: the highest IRR above the PPR class. */
static int lapic_deliverable(struct vcpu *vcpu)
{
	int irr;

	if (!lapic_hw_enabled(vcpu))
		return -1;
	irr = vec_highest(vcpu, APIC_IRR);
	if (irr < 0 || (irr & 0xf0) <= (lapic_ppr(vcpu) & 0xf0))
		return -1;
	return irr;
}

static void lapic_error(struct vcpu *vcpu, u32 bits);

/* Latch @vec in the IRR; the caller holds the lock and wakes the vCPU. */
static bool lapic_accept_fixed(struct vcpu *vcpu, u8 vec, bool level)
{
	if (!lapic_hw_enabled(vcpu) || !lapic_sw_enabled(vcpu))
		return false;
	if (vec < 16) {
		lapic_error(vcpu, APIC_ESR_RECVILL);
		return false;
	}
	vec_set(vcpu, APIC_IRR, vec);
	WRITE_ONCE(vcpu->lapic.irr_pending, true);
	if (level)
		vec_set(vcpu, APIC_TMR, vec);
	else
		vec_clear(vcpu, APIC_TMR, vec);
	return true;
}

/*
 * An error the APIC detected: it shows in the ESR after the next ESR
 * write, and raises the error LVT's interrupt.
 */
static void lapic_error(struct vcpu *vcpu, u32 bits)
{
	u32 lvt = lapic_get(vcpu, APIC_LVTERR);

	vcpu->lapic.esr_pending |= bits;
	if (!(lvt & APIC_LVT_MASKED) && (lvt & APIC_VECTOR_MASK) >= 16)
		lapic_accept_fixed(vcpu, lvt & APIC_VECTOR_MASK, false);
}

/* ---- LINT0 and LINT1 ----------------------------------------------- */

/* What an assertion of a LINT input asks of the caller, once unlocked. */
enum lint_action { LINT_NONE, LINT_WAKE, LINT_NMI, LINT_DROP };

static u32 lint_lvt(u32 pin)
{
	return pin ? APIC_LVT1 : APIC_LVT0;
}

/*
 * Does LVT entry @lvt of input @pin take a level-triggered fixed
 * interrupt? Only LINT0 can: the SDM has no level-sensitive LINT1, and
 * NMI, SMI and INIT are edge-triggered whatever the trigger bit says.
 */
static bool lint_level(u32 pin, u32 lvt)
{
	return pin == MINIVMM_LINT0 &&
	       (lvt & APIC_MODE_MASK) == APIC_DM_FIXED &&
	       (lvt & APIC_LVT_LEVEL_TRIGGER);
}

/*
 * Input @pin is asserted; @rose: it was not before. The lock is held.
 * An edge-triggered entry acts on the rise only, a level-triggered one
 * whenever the input is asserted and its remote IRR is clear (it then
 * sets remote IRR until the EOI). A masked entry does nothing, and
 * remembers nothing.
 */
static enum lint_action lapic_lint_fire(struct vcpu *vcpu, u32 pin, bool rose)
{
	u32 off = lint_lvt(pin), lvt = lapic_get(vcpu, off);
	bool nmi = vmx_config.features & MINIVMM_CAP_VIRTUAL_NMI;

	/* A processor without its APIC: LINT0 is INTR, LINT1 NMI. */
	if (!lapic_hw_enabled(vcpu)) {
		if (!rose)
			return LINT_NONE;
		if (pin == MINIVMM_LINT1 && nmi)
			return LINT_NMI;
		vcpu->lapic.lint_dropped++;
		return LINT_DROP;
	}
	if (lvt & APIC_LVT_MASKED)
		return LINT_NONE;
	if (lint_level(pin, lvt)) {
		if (lvt & APIC_LVT_REMOTE_IRR ||
		    !lapic_accept_fixed(vcpu, lvt & APIC_VECTOR_MASK, true))
			return LINT_NONE;
		lapic_set(vcpu, off, lvt | APIC_LVT_REMOTE_IRR);
		return LINT_WAKE;
	}
	if (!rose)
		return LINT_NONE;
	switch (lvt & APIC_MODE_MASK) {
	case APIC_DM_FIXED:
		if (!lapic_accept_fixed(vcpu, lvt & APIC_VECTOR_MASK, false))
			return LINT_NONE;
		return LINT_WAKE;
	case APIC_DM_NMI:
		if (!nmi)
			break;
		return LINT_NMI;
	case APIC_DM_INIT:
		vcpu->lapic.init_pending = true;
		vcpu->lapic.sipi_pending = false;
		return LINT_WAKE;
	}
	/* ExtINT (no 8259 gives a vector), SMI (no SMM), reserved modes. */
	vcpu->lapic.lint_dropped++;
	return LINT_DROP;
}

/*
 * An EOI ended level-triggered vector @vec: an LVT LINT0 entry waiting
 * for it clears remote IRR, and takes the input again if it is still
 * asserted. On the vCPU's own thread, the lock held: the vector goes in
 * at the next entry without a wake-up.
 */
static void lapic_lint_eoi(struct vcpu *vcpu, u8 vec)
{
	u32 lvt = lapic_get(vcpu, APIC_LVT0);

	if (!(lvt & APIC_LVT_REMOTE_IRR) || (lvt & APIC_VECTOR_MASK) != vec)
		return;
	lapic_set(vcpu, APIC_LVT0, lvt & ~APIC_LVT_REMOTE_IRR);
	if (vcpu->lapic.lint & BIT(MINIVMM_LINT0))
		lapic_lint_fire(vcpu, MINIVMM_LINT0, false);
}

/* Drive input @pin of @vcpu; returns whether its APIC took something. */
static bool lapic_set_lint(struct vcpu *vcpu, u32 pin, bool level)
{
	struct lapic *apic = &vcpu->lapic;
	enum lint_action act = LINT_NONE;
	unsigned long flags;
	bool was;

	spin_lock_irqsave(&apic->lock, flags);
	was = apic->lint & BIT(pin);
	if (level) {
		apic->lint |= BIT(pin);
		act = lapic_lint_fire(vcpu, pin, !was);
	} else {
		apic->lint &= ~BIT(pin);
	}
	spin_unlock_irqrestore(&apic->lock, flags);
	if (act == LINT_NMI)
		vcpu_queue_nmi(vcpu);
	else if (act == LINT_WAKE)
		vcpu_wake(vcpu);
	return act == LINT_NMI || act == LINT_WAKE;
}

/**
 * lapic_lint_ioctl() - MINIVMM_LINT
 * @vm: the VM
 * @uarg: user pointer to struct minivmm_lint
 *
 * Raises or lowers LINT0 or LINT1 of one vCPU's local APIC, or of every
 * vCPU's. Any thread, also while the vCPUs run or are halted: what the
 * LVT entry asks for is latched and the vCPU woken or kicked, as for an
 * I/O APIC message.
 *
 * Return: the number of vCPUs whose APIC took an interrupt, an NMI or an
 * INIT from this call (0 when none did, a deassertion always); -EFAULT
 * for a bad pointer; -EINVAL for a pin other than 0 and 1, a level other
 * than 0 and 1, nonzero flags or a vCPU id at or above max_vcpus that is
 * not MINIVMM_LINT_ALL_VCPUS; -ENOENT when the VM has no vCPU with that
 * id.
 */
int lapic_lint_ioctl(struct vm *vm, void __user *uarg)
{
	struct minivmm_lint l;
	struct vcpu *vcpu;
	bool all, found = false;
	int i, n = 0;

	if (copy_from_user(&l, uarg, sizeof(l)))
		return -EFAULT;
	all = l.vcpu == MINIVMM_LINT_ALL_VCPUS;
	if (l.pin > MINIVMM_LINT1 || l.level > 1 || l.flags ||
	    (!all && l.vcpu >= MINIVMM_MAX_VCPUS))
		return -EINVAL;
	rcu_read_lock();
	for (i = 0; i < MINIVMM_MAX_VCPUS; i++) {
		if (!all && i != l.vcpu)
			continue;
		vcpu = rcu_dereference(vm->vcpus[i]);
		if (!vcpu)
			continue;
		found = true;
		n += lapic_set_lint(vcpu, l.pin, l.level);
	}
	rcu_read_unlock();
	return all || found ? n : -ENOENT;
}

/* ---- the timer ------------------------------------------------------ */

static u32 lapic_timer_mode(struct vcpu *vcpu)
{
	return lapic_get(vcpu, APIC_LVTT) & LVT_TIMER_MODE_MASK;
}

/* Nanoseconds of one count at the current divide configuration. */
static u64 lapic_tick_ns(struct vcpu *vcpu)
{
	u32 dcr = lapic_get(vcpu, APIC_TDCR);
	u32 code = (dcr & 3) | ((dcr & 8) >> 1);

	/* 0b111 divides by 1, n by 2^(n+1). */
	return div_u64((1000000ULL << ((code + 1) & 7)), LAPIC_BUS_KHZ);
}

static enum hrtimer_restart lapic_timer_fn(struct hrtimer *t)
{
	struct lapic *apic = container_of(t, struct lapic, timer);
	struct vcpu *vcpu = container_of(apic, struct vcpu, lapic);
	enum hrtimer_restart ret = HRTIMER_NORESTART;
	unsigned long flags;
	u32 lvt;

	spin_lock_irqsave(&apic->lock, flags);
	/* Stopped, or started again, while this waited for the lock. */
	if (!apic->armed || hrtimer_is_queued(t)) {
		spin_unlock_irqrestore(&apic->lock, flags);
		return HRTIMER_NORESTART;
	}
	lvt = lapic_get(vcpu, APIC_LVTT);
	if (!(lvt & APIC_LVT_MASKED))
		lapic_accept_fixed(vcpu, lvt & APIC_VECTOR_MASK, false);
	if (lapic_timer_mode(vcpu) == APIC_LVT_TIMER_PERIODIC &&
	    apic->period_ns) {
		hrtimer_forward_now(t, ns_to_ktime(apic->period_ns));
		ret = HRTIMER_RESTART;
	} else {
		apic->armed = false;
		apic->period_ns = 0;
		if (lapic_timer_mode(vcpu) == APIC_LVT_TIMER_TSCDEADLINE)
			apic->tsc_deadline = 0;
	}
	spin_unlock_irqrestore(&apic->lock, flags);
	vcpu_wake(vcpu);
	return ret;
}

/* Stop the timer; the lock is held, so the callback may be running. */
static void lapic_timer_stop(struct vcpu *vcpu)
{
	vcpu->lapic.armed = false;
	vcpu->lapic.period_ns = 0;
	hrtimer_try_to_cancel(&vcpu->lapic.timer);
}

/* A write of the initial count (0 stops the timer). */
static void lapic_timer_start_count(struct vcpu *vcpu, u32 count)
{
	struct lapic *apic = &vcpu->lapic;
	u64 ns;

	lapic_timer_stop(vcpu);
	if (!count || lapic_timer_mode(vcpu) == APIC_LVT_TIMER_TSCDEADLINE)
		return;
	ns = count * lapic_tick_ns(vcpu);
	if (lapic_timer_mode(vcpu) == APIC_LVT_TIMER_PERIODIC)
		ns = max(ns, LAPIC_MIN_PERIOD_NS);
	apic->period_ns = ns;
	apic->armed = true;
	apic->start = ktime_get();
	hrtimer_start(&apic->timer, ktime_add_ns(apic->start, ns),
		      HRTIMER_MODE_ABS_HARD);
}

static void lapic_timer_start_deadline(struct vcpu *vcpu)
{
	struct lapic *apic = &vcpu->lapic;
	u64 host_tsc, now = rdtsc(), ns = 0;

	lapic_timer_stop(vcpu);
	if (!apic->tsc_deadline ||
	    lapic_timer_mode(vcpu) != APIC_LVT_TIMER_TSCDEADLINE)
		return;
	host_tsc = apic->tsc_deadline - vcpu->tsc_offset;
	if ((s64)(host_tsc - now) > 0 && tsc_khz)
		ns = mul_u64_u32_div(host_tsc - now, 1000000, tsc_khz);
	apic->armed = true;
	hrtimer_start(&apic->timer, ktime_add_ns(ktime_get(), ns),
		      HRTIMER_MODE_ABS_HARD);
}

/* The current count: what is left of the period, in counts. */
static u32 lapic_timer_current(struct vcpu *vcpu)
{
	struct lapic *apic = &vcpu->lapic;
	u64 elapsed, left;

	if (!apic->period_ns ||
	    lapic_timer_mode(vcpu) == APIC_LVT_TIMER_TSCDEADLINE)
		return 0;
	elapsed = ktime_to_ns(ktime_sub(ktime_get(), apic->start));
	if (lapic_timer_mode(vcpu) == APIC_LVT_TIMER_PERIODIC)
		div64_u64_rem(elapsed, apic->period_ns, &elapsed);
	else if (elapsed >= apic->period_ns)
		return 0;
	left = apic->period_ns - elapsed;
	return div64_u64(left, lapic_tick_ns(vcpu));
}

/* ---- registers -------------------------------------------------------- */

static void lapic_reset_regs(struct vcpu *vcpu)
{
	static const u32 lvts[] = {
		APIC_LVTT, APIC_LVTTHMR, APIC_LVTPC, APIC_LVT0, APIC_LVT1,
		APIC_LVTERR,
	};
	int i;

	lapic_timer_stop(vcpu);
	memset(vcpu->vapic, 0, LAPIC_PAGE_SIZE);
	lapic_set(vcpu, APIC_ID, vcpu->id << 24);
	lapic_set(vcpu, APIC_LVR, LAPIC_VERSION);
	lapic_set(vcpu, APIC_DFR, APIC_DFR_FLAT);
	lapic_set(vcpu, APIC_SPIV, 0xff);
	for (i = 0; i < ARRAY_SIZE(lvts); i++)
		lapic_set(vcpu, lvts[i], APIC_LVT_MASKED);
	vcpu->lapic.esr_pending = 0;
	vcpu->lapic.tsc_deadline = 0;
}

/**
 * lapic_init() - set up a new vCPU's local APIC, in its reset state
 * @vcpu: the vCPU, its virtual-APIC page allocated
 */
void lapic_init(struct vcpu *vcpu)
{
	spin_lock_init(&vcpu->lapic.lock);
	hrtimer_init(&vcpu->lapic.timer, CLOCK_MONOTONIC,
		     HRTIMER_MODE_ABS_HARD);
	vcpu->lapic.timer.function = lapic_timer_fn;
	vcpu->lapic.base = APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE;
	if (vcpu->id == 0)
		vcpu->lapic.base |= MSR_IA32_APICBASE_BSP;
	lapic_reset_regs(vcpu);
}

/**
 * lapic_reset() - the APIC's registers after INIT
 * @vcpu: the vCPU
 *
 * IA32_APIC_BASE, and with it the APIC ID, survive an INIT.
 */
void lapic_reset(struct vcpu *vcpu)
{
	unsigned long flags;

	spin_lock_irqsave(&vcpu->lapic.lock, flags);
	lapic_reset_regs(vcpu);
	spin_unlock_irqrestore(&vcpu->lapic.lock, flags);
}

/**
 * lapic_destroy() - stop a vCPU's APIC timer for good
 * @vcpu: the vCPU, whose thread has stopped
 */
void lapic_destroy(struct vcpu *vcpu)
{
	hrtimer_cancel(&vcpu->lapic.timer);
}

static void lapic_eoi(struct vcpu *vcpu)
{
	int isr = vec_highest(vcpu, APIC_ISR);

	if (isr < 0)
		return;
	vec_clear(vcpu, APIC_ISR, isr);
	if (vec_test(vcpu, APIC_TMR, isr)) {
		lapic_lint_eoi(vcpu, isr);
		ioapic_eoi(vcpu->vm, isr);
	}
}

/*
 * An ICR write: the low half sends, to @dest (an 8-bit xAPIC or a 32-bit
 * x2APIC destination). Called without the lock.
 */
static void lapic_send_ipi(struct vcpu *vcpu, u32 lo, u32 dest)
{
	unsigned long flags;
	struct apic_irq irq = {
		.dest = dest,
		.vector = lo & APIC_VECTOR_MASK,
		.delivery_mode = lo & APIC_DM_FIXED_MASK,
		.logical = lo & APIC_DEST_LOGICAL,
		.level = lo & APIC_INT_LEVELTRIG,
		.shorthand = lo & APIC_DEST_ALLBUT,
	};

	/* INIT level de-assert: only old APICs act on it. */
	if (irq.delivery_mode == APIC_DM_INIT && irq.level &&
	    !(lo & APIC_INT_ASSERT))
		return;
	/*
	 * Vectors 0-15 are illegal: the sender flags it, and the message
	 * goes out all the same for each receiver to flag and drop (the
	 * SDM's send and receive illegal vector errors; a self IPI sets
	 * both).
	 */
	if ((irq.delivery_mode == APIC_DM_FIXED ||
	     irq.delivery_mode == APIC_DM_LOWEST) && irq.vector < 16) {
		spin_lock_irqsave(&vcpu->lapic.lock, flags);
		lapic_error(vcpu, APIC_ESR_SENDILL);
		spin_unlock_irqrestore(&vcpu->lapic.lock, flags);
	}
	apic_deliver(vcpu->vm, vcpu, &irq);
}

static bool lapic_reg_readable(u32 off)
{
	switch (off) {
	case APIC_ID: case APIC_LVR: case APIC_TASKPRI: case APIC_ARBPRI:
	case APIC_PROCPRI: case APIC_EOI: case APIC_LDR: case APIC_DFR:
	case APIC_SPIV: case APIC_ESR: case APIC_ICR: case APIC_ICR2:
	case APIC_LVTT: case APIC_LVTTHMR: case APIC_LVTPC: case APIC_LVT0:
	case APIC_LVT1: case APIC_LVTERR: case APIC_TMICT: case APIC_TMCCT:
	case APIC_TDCR:
		return true;
	}
	return off >= APIC_ISR && off < APIC_ESR && !(off & 0xf);
}

/* A read of the 32-bit register at @off; the lock is held. */
static u32 lapic_read_reg(struct vcpu *vcpu, u32 off)
{
	switch (off) {
	case APIC_PROCPRI:
		return lapic_ppr(vcpu);
	case APIC_ARBPRI:
	case APIC_EOI:
		return 0;
	case APIC_TMCCT:
		return lapic_timer_current(vcpu);
	case APIC_TASKPRI:
		return lapic_get(vcpu, off) & 0xff;
	}
	return lapic_get(vcpu, off);
}

/*
 * A write of the 32-bit register at @off; the lock is held.
 * Return: true for an ICR write, whose IPI the caller sends unlocked.
 */
static bool lapic_write_reg(struct vcpu *vcpu, u32 off, u32 val)
{
	u32 mask = 0;

	switch (off) {
	case APIC_ID:
		/* Read-only here, as on many xAPICs: IDs stay the vCPU ids. */
		return false;
	case APIC_TASKPRI:
		lapic_set(vcpu, off, val & 0xff);
		return false;
	case APIC_EOI:
		lapic_eoi(vcpu);
		return false;
	case APIC_LDR:
		lapic_set(vcpu, off, val & APIC_LDR_MASK);
		return false;
	case APIC_DFR:
		lapic_set(vcpu, off, val | APIC_DFR_CLUSTER);
		return false;
	case APIC_SPIV:
		lapic_set(vcpu, off, val & (APIC_VECTOR_MASK |
					    APIC_SPIV_APIC_ENABLED |
					    APIC_SPIV_FOCUS_DISABLED));
		if (!(val & APIC_SPIV_APIC_ENABLED)) {
			static const u32 lvts[] = {
				APIC_LVTT, APIC_LVTTHMR, APIC_LVTPC,
				APIC_LVT0, APIC_LVT1, APIC_LVTERR,
			};
			int i;

			for (i = 0; i < ARRAY_SIZE(lvts); i++)
				lapic_set(vcpu, lvts[i],
					  lapic_get(vcpu, lvts[i]) |
					  APIC_LVT_MASKED);
		}
		return false;
	case APIC_ESR:
		lapic_set(vcpu, off, vcpu->lapic.esr_pending);
		vcpu->lapic.esr_pending = 0;
		return false;
	case APIC_ICR:
		val &= ~(APIC_ICR_BUSY | APIC_ICR_RR_MASK | 0xfff30000);
		lapic_set(vcpu, off, val);
		return true;
	case APIC_ICR2:
		lapic_set(vcpu, off, val & 0xff000000);
		return false;
	case APIC_LVTT:
		mask = LVT_COMMON | LVT_TIMER_MODE_MASK;
		if ((val & LVT_TIMER_MODE_MASK) == LVT_TIMER_MODE_MASK)
			val &= ~LVT_TIMER_MODE_MASK;
		break;
	case APIC_LVTTHMR:
	case APIC_LVTPC:
		mask = LVT_COMMON | APIC_MODE_MASK;
		break;
	case APIC_LVT0:
	case APIC_LVT1:
		mask = LVT_COMMON | APIC_MODE_MASK | APIC_INPUT_POLARITY |
		       APIC_LVT_LEVEL_TRIGGER;
		break;
	case APIC_LVTERR:
		mask = LVT_COMMON;
		break;
	case APIC_TMICT:
		lapic_set(vcpu, off, val);
		lapic_timer_start_count(vcpu, val);
		return false;
	case APIC_TDCR:
		lapic_set(vcpu, off, val & 0xb);
		return false;
	default:
		/* Read-only registers ignore writes; none else exist. */
		if (!lapic_reg_readable(off))
			lapic_error(vcpu, APIC_ESR_ILLREGA);
		return false;
	}

	/* An LVT entry: masked for good while the APIC is disabled. */
	if (!lapic_sw_enabled(vcpu))
		val |= APIC_LVT_MASKED;
	if (off == APIC_LVTT) {
		u32 old = lapic_get(vcpu, off);

		lapic_set(vcpu, off, val & mask);
		/* A mode change stops the timer, as on hardware. */
		if ((old ^ val) & LVT_TIMER_MODE_MASK) {
			lapic_timer_stop(vcpu);
			lapic_set(vcpu, APIC_TMICT, 0);
			vcpu->lapic.tsc_deadline = 0;
		}
		return false;
	}
	val &= mask;
	if (off == APIC_LVT0 || off == APIC_LVT1) {
		u32 pin = off == APIC_LVT1;

		/* Remote IRR waits for an EOI only in level-triggered mode. */
		if (lint_level(pin, val))
			val |= lapic_get(vcpu, off) & APIC_LVT_REMOTE_IRR;
		lapic_set(vcpu, off, val);
		/* An input still asserted is taken when unmasked. */
		if (vcpu->lapic.lint & BIT(pin))
			lapic_lint_fire(vcpu, pin, false);
		return false;
	}
	lapic_set(vcpu, off, (lapic_get(vcpu, off) & APIC_LVT_REMOTE_IRR) |
		  val);
	return false;
}

/*
 * An access to the page at offset @off, out of line: every MMIO access
 * asks lapic_mmio() first, and most are for other devices.
 */
static noinline void lapic_mmio_access(struct vcpu *vcpu, u32 off,
				       unsigned int len, bool write, u64 *val)
{
	bool send = false;
	unsigned long flags;
	u32 reg;

	spin_lock_irqsave(&vcpu->lapic.lock, flags);
	if (write) {
		if (len == 4 && !(off & 0xf))
			send = lapic_write_reg(vcpu, off, *val);
	} else if (lapic_reg_readable(off & ~0xf)) {
		reg = lapic_read_reg(vcpu, off & ~0xf);
		*val = (off & 0xf) < 4 ? reg >> ((off & 3) * 8) : 0;
	} else {
		*val = 0;
		lapic_error(vcpu, APIC_ESR_ILLREGA);
	}
	spin_unlock_irqrestore(&vcpu->lapic.lock, flags);
	if (send)
		lapic_send_ipi(vcpu, lapic_get(vcpu, APIC_ICR),
			       GET_XAPIC_DEST_FIELD(lapic_get(vcpu, APIC_ICR2)));
}

/**
 * lapic_mmio() - an access to the xAPIC register page
 * @vcpu: the vCPU, on its thread, interrupts off
 * @gpa: the guest physical address accessed
 * @len: bytes, 1 to 8
 * @write: a write
 * @val: the value written, or where the value read goes
 *
 * Registers are 32 bits wide, 16-byte aligned: a narrower read returns
 * part of the register, a wider one the register in the low half; a
 * write other than an aligned 32-bit one is dropped (the SDM leaves
 * such accesses undefined). Reserved offsets read as 0 and set the
 * illegal-register bit of the ESR.
 *
 * Return: true when @gpa is in this vCPU's enabled APIC page.
 */
bool lapic_mmio(struct vcpu *vcpu, u64 gpa, unsigned int len, bool write,
		u64 *val)
{
	u64 base = vcpu->lapic.base & MSR_IA32_APICBASE_BASE;

	/* In x2APIC mode the page is not decoded: only the MSRs reach it. */
	if (!lapic_hw_enabled(vcpu) || lapic_x2apic(vcpu) ||
	    gpa - base >= LAPIC_PAGE_SIZE)
		return false;
	lapic_mmio_access(vcpu, gpa - base, len, write, val);
	return true;
}

/* ---- interrupts into the guest --------------------------------------- */

/**
 * lapic_take_interrupt() - the APIC interrupt to inject at this entry
 * @vcpu: the vCPU, on its thread, interrupts off
 * @inject: the guest can take it now: it moves from the IRR to the ISR
 *
 * Return: the vector, or -1 when none is deliverable.
 */
int lapic_take_interrupt(struct vcpu *vcpu, bool inject)
{
	unsigned long flags;
	int vec;

	if (!READ_ONCE(vcpu->lapic.irr_pending))
		return -1;
	spin_lock_irqsave(&vcpu->lapic.lock, flags);
	vec = lapic_deliverable(vcpu);
	if (vec >= 0 && inject) {
		vec_clear(vcpu, APIC_IRR, vec);
		vec_set(vcpu, APIC_ISR, vec);
	}
	if (vec_highest(vcpu, APIC_IRR) < 0)
		WRITE_ONCE(vcpu->lapic.irr_pending, false);
	spin_unlock_irqrestore(&vcpu->lapic.lock, flags);
	return vec;
}

/**
 * lapic_interrupt_due() - an APIC interrupt waits above the priority
 * @vcpu: the vCPU
 *
 * Return: true when lapic_take_interrupt() would find one.
 */
bool lapic_interrupt_due(struct vcpu *vcpu)
{
	unsigned long flags;
	bool due;

	if (!READ_ONCE(vcpu->lapic.irr_pending))
		return false;
	spin_lock_irqsave(&vcpu->lapic.lock, flags);
	due = lapic_deliverable(vcpu) >= 0;
	spin_unlock_irqrestore(&vcpu->lapic.lock, flags);
	return due;
}

/**
 * lapic_update_tpr_threshold() - make lowering CR8 exit when it unmasks
 * @vcpu: the vCPU, on its thread with its VMCS loaded, interrupts off
 *
 * With a TPR shadow the guest writes CR8 without exiting. When the TPR
 * holds back the highest pending vector, the threshold is that vector's
 * class: a write below it exits (TPR below threshold) and the vector
 * goes in at the next entry.
 */
void lapic_update_tpr_threshold(struct vcpu *vcpu)
{
	u32 threshold = 0, tpr;
	unsigned long flags;
	int irr, isr;

	if (!(vcpu->cpu_based & CPU_BASED_TPR_SHADOW))
		return;
	if (!READ_ONCE(vcpu->lapic.irr_pending) && !vcpu->lapic.tpr_threshold)
		return;
	spin_lock_irqsave(&vcpu->lapic.lock, flags);
	irr = vec_highest(vcpu, APIC_IRR);
	isr = vec_highest(vcpu, APIC_ISR);
	tpr = lapic_get(vcpu, APIC_TASKPRI) & 0xf0;
	if (irr >= 0 && (irr & 0xf0) <= tpr &&
	    (isr < 0 || (irr & 0xf0) > (isr & 0xf0)))
		threshold = irr >> 4;
	spin_unlock_irqrestore(&vcpu->lapic.lock, flags);
	if (threshold != vcpu->lapic.tpr_threshold) {
		vcpu->lapic.tpr_threshold = threshold;
		vmcs_write32(TPR_THRESHOLD, threshold);
	}
}

/**
 * lapic_get_cr8() - CR8 as the guest reads it: TPR[7:4]
 * @vcpu: the vCPU
 *
 * Return: CR8.
 */
u64 lapic_get_cr8(struct vcpu *vcpu)
{
	return (lapic_get(vcpu, APIC_TASKPRI) >> 4) & 0xf;
}

/**
 * lapic_set_cr8() - MOV to CR8 where it exits (no TPR shadow)
 * @vcpu: the vCPU
 * @cr8: the value, 0-15
 */
void lapic_set_cr8(struct vcpu *vcpu, u64 cr8)
{
	unsigned long flags;

	spin_lock_irqsave(&vcpu->lapic.lock, flags);
	lapic_set(vcpu, APIC_TASKPRI, cr8 << 4);
	spin_unlock_irqrestore(&vcpu->lapic.lock, flags);
}

/* ---- MSRs --------------------------------------------------------------- */

/**
 * lapic_get_base() - IA32_APIC_BASE
 * @vcpu: the vCPU
 * @msr: MSR_IA32_APICBASE
 *
 * Return: the MSR's value.
 */
u64 lapic_get_base(struct vcpu *vcpu, u32 msr)
{
	return vcpu->lapic.base;
}

/**
 * lapic_set_base() - WRMSR IA32_APIC_BASE (msr.c checked reserved bits)
 * @vcpu: the vCPU
 * @msr: MSR_IA32_APICBASE
 * @val: the new value
 *
 * Clearing EN disables the APIC: its page becomes ordinary MMIO, CPUID
 * hides it, and its state returns to reset but for the ID, as the SDM
 * describes; setting EN again gives an APIC that is software disabled.
 * EXTD (x2APIC mode) may be set only from xAPIC mode and left only by
 * disabling the APIC. The BSP flag is read-only.
 *
 * Return: false (#GP) for an illegal mode transition.
 */
bool lapic_set_base(struct vcpu *vcpu, u32 msr, u64 val)
{
	u64 en = MSR_IA32_APICBASE_ENABLE, x2 = en | X2APIC_ENABLE;
	unsigned long flags;
	u64 old = vcpu->lapic.base;

	/* EXTD without EN; x2APIC to xAPIC; disabled to x2APIC. */
	if ((val & x2) == X2APIC_ENABLE ||
	    ((old & x2) == x2 && (val & x2) == en) ||
	    (!(old & en) && (val & x2) == x2))
		return false;
	spin_lock_irqsave(&vcpu->lapic.lock, flags);
	vcpu->lapic.base = (val & ~MSR_IA32_APICBASE_BSP) |
			   (old & MSR_IA32_APICBASE_BSP);
	if ((old & MSR_IA32_APICBASE_ENABLE) &&
	    !(val & MSR_IA32_APICBASE_ENABLE))
		lapic_reset_regs(vcpu);
	/* x2APIC IDs are 32 bits; the logical ID is derived from it. */
	if ((val & x2) == x2 && !(old & X2APIC_ENABLE)) {
		lapic_set(vcpu, APIC_ID, vcpu->id);
		lapic_set(vcpu, APIC_LDR, x2apic_ldr(vcpu));
	}
	spin_unlock_irqrestore(&vcpu->lapic.lock, flags);
	return true;
}

/* The x2APIC register behind MSR @msr, or 0 when it has none. */
static u32 x2apic_reg(u32 msr)
{
	u32 off = (msr - APIC_BASE_MSR) << 4;

	switch (off) {
	case APIC_ARBPRI: case APIC_DFR: case APIC_ICR2: case APIC_LVTCMCI:
		return 0;
	}
	return lapic_reg_readable(off) || off == APIC_SELF_IPI ? off : 0;
}

/**
 * lapic_x2apic_read() - RDMSR of an x2APIC register (0x800-0x83f)
 * @vcpu: the vCPU
 * @msr: the MSR
 * @val: the value read
 *
 * Return: false (#GP) outside x2APIC mode, for a register x2APIC does
 * not have (DFR, ICR2, the arbitration priority) or a write-only one
 * (EOI, SELF IPI).
 */
bool lapic_x2apic_read(struct vcpu *vcpu, u32 msr, u64 *val)
{
	u32 off = x2apic_reg(msr);
	unsigned long flags;

	if (!lapic_x2apic(vcpu) || !off || off == APIC_EOI ||
	    off == APIC_SELF_IPI)
		return false;
	spin_lock_irqsave(&vcpu->lapic.lock, flags);
	*val = lapic_read_reg(vcpu, off);
	if (off == APIC_ICR)
		*val |= (u64)lapic_get(vcpu, APIC_ICR2) << 32;
	spin_unlock_irqrestore(&vcpu->lapic.lock, flags);
	return true;
}

/**
 * lapic_x2apic_write() - WRMSR of an x2APIC register (0x800-0x83f)
 * @vcpu: the vCPU
 * @msr: the MSR
 * @val: EDX:EAX
 *
 * The ICR is one 64-bit register (destination in the high half) and a
 * write sends; SELF IPI sends a fixed interrupt to this APIC.
 *
 * Return: false (#GP) outside x2APIC mode, for a register x2APIC does
 * not have or a read-only one (ID, version, PPR, LDR, ISR, TMR, IRR,
 * current count), for bits above 31 (but in the ICR), and for a
 * non-zero EOI or ESR write.
 */
bool lapic_x2apic_write(struct vcpu *vcpu, u32 msr, u64 val)
{
	u32 off = x2apic_reg(msr);
	unsigned long flags;
	bool send = false;

	if (!lapic_x2apic(vcpu) || !off)
		return false;
	switch (off) {
	case APIC_ID: case APIC_LVR: case APIC_PROCPRI: case APIC_LDR:
	case APIC_TMCCT:
		return false;
	case APIC_EOI: case APIC_ESR:
		if (val)
			return false;
		break;
	case APIC_ICR:
		break;
	default:
		if (off >= APIC_ISR && off < APIC_ESR)
			return false;
	}
	if (off != APIC_ICR && (val >> 32))
		return false;
	if (off == APIC_SELF_IPI) {
		lapic_send_ipi(vcpu, APIC_DEST_SELF | (val & APIC_VECTOR_MASK),
			       0);
		return true;
	}
	spin_lock_irqsave(&vcpu->lapic.lock, flags);
	if (off == APIC_ICR) {
		lapic_set(vcpu, APIC_ICR2, val >> 32);
		send = lapic_write_reg(vcpu, APIC_ICR, val);
	} else {
		lapic_write_reg(vcpu, off, val);
	}
	spin_unlock_irqrestore(&vcpu->lapic.lock, flags);
	if (send)
		lapic_send_ipi(vcpu, lapic_get(vcpu, APIC_ICR), val >> 32);
	return true;
}

/**
 * lapic_get_tsc_deadline() - IA32_TSC_DEADLINE
 * @vcpu: the vCPU
 * @msr: MSR_IA32_TSC_DEADLINE
 *
 * Return: the armed deadline, or 0 after it fired or outside TSC-deadline
 * mode.
 */
u64 lapic_get_tsc_deadline(struct vcpu *vcpu, u32 msr)
{
	if (lapic_timer_mode(vcpu) != APIC_LVT_TIMER_TSCDEADLINE)
		return 0;
	return READ_ONCE(vcpu->lapic.tsc_deadline);
}

/**
 * lapic_set_tsc_deadline() - WRMSR IA32_TSC_DEADLINE
 * @vcpu: the vCPU
 * @msr: MSR_IA32_TSC_DEADLINE
 * @val: a guest TSC value; 0 disarms. Ignored outside TSC-deadline mode.
 *
 * Return: true.
 */
bool lapic_set_tsc_deadline(struct vcpu *vcpu, u32 msr, u64 val)
{
	unsigned long flags;

	spin_lock_irqsave(&vcpu->lapic.lock, flags);
	if (lapic_timer_mode(vcpu) == APIC_LVT_TIMER_TSCDEADLINE) {
		vcpu->lapic.tsc_deadline = val;
		lapic_timer_start_deadline(vcpu);
	}
	spin_unlock_irqrestore(&vcpu->lapic.lock, flags);
	return true;
}

/* ---- delivery of messages ---------------------------------------------- */

/* Does @vcpu's APIC match the destination of @irq (no shorthand)? */
static bool lapic_match_dest(struct vcpu *vcpu, const struct apic_irq *irq)
{
	u32 ldr, dfr, id = vcpu->id;
	u8 dest = irq->dest;

	/*
	 * x2APIC: 32-bit IDs; logical is cluster[31:16], 16 bits[15:0]. All
	 * ones is a broadcast in either mode (SDM, ICR operation in x2APIC
	 * mode).
	 */
	if (lapic_x2apic(vcpu)) {
		if (irq->dest == ~0u)
			return true;
		if (!irq->logical)
			return irq->dest == id;
		ldr = x2apic_ldr(vcpu);
		return (irq->dest >> 16) == (ldr >> 16) &&
		       (irq->dest & ldr & 0xffff);
	}
	if (!irq->logical)
		return dest == 0xff || dest == id;
	ldr = GET_APIC_LOGICAL_ID(lapic_get(vcpu, APIC_LDR));
	dfr = lapic_get(vcpu, APIC_DFR);
	if (dfr == APIC_DFR_FLAT)
		return ldr & dest;
	/* Cluster model: the high nibble names the cluster (15: all). */
	if ((dest >> 4) != 0xf && (dest >> 4) != (ldr >> 4))
		return false;
	return ldr & dest & 0xf;
}

static bool lapic_is_target(struct vcpu *vcpu, struct vcpu *src,
			    const struct apic_irq *irq)
{
	switch (irq->shorthand) {
	case APIC_DEST_SELF:
		return vcpu == src;
	case APIC_DEST_ALLINC:
		return true;
	case APIC_DEST_ALLBUT:
		return vcpu != src;
	}
	return lapic_match_dest(vcpu, irq);
}

/* One destination takes the message. */
static bool lapic_accept(struct vcpu *vcpu, const struct apic_irq *irq)
{
	struct lapic *apic = &vcpu->lapic;
	unsigned long flags;
	bool ok = false;

	spin_lock_irqsave(&apic->lock, flags);
	if (!lapic_hw_enabled(vcpu)) {
		spin_unlock_irqrestore(&apic->lock, flags);
		return false;
	}
	switch (irq->delivery_mode) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		ok = lapic_accept_fixed(vcpu, irq->vector, irq->level);
		break;
	case APIC_DM_INIT:
		/* A start-up IPI before it is void. */
		apic->init_pending = true;
		apic->sipi_pending = false;
		ok = true;
		break;
	case APIC_DM_STARTUP:
		if (apic->init_pending ||
		    READ_ONCE(vcpu->mp_state) == MP_WAIT_SIPI) {
			apic->sipi_vector = irq->vector;
			apic->sipi_pending = true;
		}
		ok = true;
		break;
	case APIC_DM_NMI:
		ok = true;
		break;
	}
	spin_unlock_irqrestore(&apic->lock, flags);
	if (irq->delivery_mode == APIC_DM_NMI)
		vcpu_queue_nmi(vcpu);
	else if (ok)
		vcpu_wake(vcpu);
	return ok;
}

/**
 * apic_deliver() - send a message to the local APICs it names
 * @vm: the VM
 * @src: the sending vCPU (an ICR write), or NULL (I/O APIC, MSI)
 * @irq: the message
 *
 * Fixed, lowest-priority (given to the first APIC that matches), NMI,
 * INIT and start-up messages; SMI, remote read and ExtINT are dropped.
 * Any context; takes each destination's lock in turn, never two at once.
 *
 * Return: the number of vCPUs that accepted it.
 */
int apic_deliver(struct vm *vm, struct vcpu *src, const struct apic_irq *irq)
{
	struct vcpu *vcpu;
	int i, n = 0;

	rcu_read_lock();
	for (i = 0; i < MINIVMM_MAX_VCPUS; i++) {
		vcpu = rcu_dereference(vm->vcpus[i]);
		if (!vcpu || !lapic_is_target(vcpu, src, irq))
			continue;
		if (lapic_accept(vcpu, irq))
			n++;
		if (n && irq->delivery_mode == APIC_DM_LOWEST)
			break;
	}
	rcu_read_unlock();
	return n;
}

/* ---- state for userspace (MINIVMM_GET/SET_LAPIC) ------------------------ */

#define LAPIC_STATE_ESR		0xff	/* the ESR's defined bits */
#define LAPIC_ICR_BITS		0x000cefffU	/* what an ICR write keeps */

static u32 page_reg(const u8 *regs, u32 off)
{
	u32 val;

	memcpy(&val, regs + off, sizeof(val));
	return val;
}

static void page_set(u8 *regs, u32 off, u32 val)
{
	memcpy(regs + off, &val, sizeof(val));
}

/* The page as the guest would read it now; the lock is held. */
static void lapic_fill_page(struct vcpu *vcpu, u8 *regs)
{
	u32 count = lapic_timer_current(vcpu);

	/*
	 * A one-shot whose hrtimer has not run yet has not delivered its
	 * interrupt: it reads one count left, so a restore still fires it.
	 */
	if (!count && vcpu->lapic.armed &&
	    lapic_timer_mode(vcpu) == APIC_LVT_TIMER_ONESHOT)
		count = 1;
	memcpy(regs, vcpu->vapic, MINIVMM_LAPIC_REGS_SIZE);
	page_set(regs, APIC_TASKPRI, lapic_read_reg(vcpu, APIC_TASKPRI));
	page_set(regs, APIC_PROCPRI, lapic_ppr(vcpu));
	page_set(regs, APIC_TMCCT, count);
}

/**
 * lapic_get_state() - the APIC for MINIVMM_GET_LAPIC
 * @vcpu: the vCPU, idle
 * @s: filled in (the caller zeroed it)
 */
void lapic_get_state(struct vcpu *vcpu, struct minivmm_lapic_state *s)
{
	unsigned long flags;

	spin_lock_irqsave(&vcpu->lapic.lock, flags);
	lapic_fill_page(vcpu, s->regs);
	s->esr_pending = vcpu->lapic.esr_pending;
	s->lint = vcpu->lapic.lint;
	spin_unlock_irqrestore(&vcpu->lapic.lock, flags);
}

/* The bits each writable register can hold, or 0 for the others. */
static u32 lapic_state_mask(struct vcpu *vcpu, u32 off)
{
	switch (off) {
	case APIC_TASKPRI:
		return 0xff;
	case APIC_LDR:
		return APIC_LDR_MASK;
	case APIC_SPIV:
		return APIC_VECTOR_MASK | APIC_SPIV_APIC_ENABLED |
		       APIC_SPIV_FOCUS_DISABLED;
	case APIC_ESR:
		return LAPIC_STATE_ESR;
	case APIC_ICR:
		return LAPIC_ICR_BITS;
	case APIC_ICR2:
		return lapic_x2apic(vcpu) ? ~0U : 0xff000000;
	case APIC_LVTT:
		return LVT_COMMON | LVT_TIMER_MODE_MASK;
	case APIC_LVTTHMR:
	case APIC_LVTPC:
		return LVT_COMMON | APIC_MODE_MASK;
	case APIC_LVT0:
	case APIC_LVT1:
		return LVT_COMMON | APIC_MODE_MASK | APIC_INPUT_POLARITY |
		       APIC_LVT_REMOTE_IRR | APIC_LVT_LEVEL_TRIGGER;
	case APIC_LVTERR:
		return LVT_COMMON;
	case APIC_TMICT:
	case APIC_TMCCT:
		return ~0U;
	case APIC_TDCR:
		return 0xb;
	}
	/* ISR, TMR, IRR: vectors 0-15 do not exist. */
	if (off >= APIC_ISR && off < APIC_ESR)
		return (off & 0x70) ? ~0U : 0xffff0000;
	return 0;
}

/*
 * Is @regs a page this APIC could hold? The ID and version are read-only
 * and must be this APIC's, the processor priority must be the one the
 * TPR and ISR give, and the write-only or always-zero registers zero.
 */
static bool lapic_state_valid(struct vcpu *vcpu, const u8 *regs)
{
	static const u32 lvts[] = {
		APIC_LVTT, APIC_LVTTHMR, APIC_LVTPC, APIC_LVT0, APIC_LVT1,
		APIC_LVTERR,
	};
	u32 off, val, tpr, isrv = 0, ppr;
	int i;

	for (off = 0; off < MINIVMM_LAPIC_REGS_SIZE; off += 16) {
		val = page_reg(regs, off);
		if (memchr_inv(regs + off + 4, 0, 12))
			return false;
		switch (off) {
		case APIC_ID:
			if (val != lapic_get(vcpu, APIC_ID))
				return false;
			continue;
		case APIC_LVR:
			if (val != LAPIC_VERSION)
				return false;
			continue;
		case APIC_PROCPRI:
			continue;
		case APIC_LDR:
			/* Derived from the ID in x2APIC mode: read-only. */
			if (lapic_x2apic(vcpu)) {
				if (val != x2apic_ldr(vcpu))
					return false;
				continue;
			}
			break;
		case APIC_DFR:
			if ((val & APIC_DFR_CLUSTER) != APIC_DFR_CLUSTER)
				return false;
			continue;
		}
		if (val & ~lapic_state_mask(vcpu, off))
			return false;
	}
	val = page_reg(regs, APIC_LVTT);
	if ((val & LVT_TIMER_MODE_MASK) == LVT_TIMER_MODE_MASK)
		return false;
	/* A one-shot or periodic count never exceeds its initial count. */
	if ((val & LVT_TIMER_MODE_MASK) == APIC_LVT_TIMER_TSCDEADLINE ?
	    page_reg(regs, APIC_TMCCT) :
	    page_reg(regs, APIC_TMCCT) > page_reg(regs, APIC_TMICT))
		return false;
	/* A software-disabled APIC keeps every LVT entry masked. */
	if (!(page_reg(regs, APIC_SPIV) & APIC_SPIV_APIC_ENABLED))
		for (i = 0; i < ARRAY_SIZE(lvts); i++)
			if (!(page_reg(regs, lvts[i]) & APIC_LVT_MASKED))
				return false;
	tpr = page_reg(regs, APIC_TASKPRI);
	for (i = 7; i >= 0; i--) {
		val = page_reg(regs, APIC_ISR + i * 0x10);
		if (val) {
			isrv = i * 32 + fls(val) - 1;
			break;
		}
	}
	ppr = (tpr & 0xf0) >= (isrv & 0xf0) ? tpr : isrv & 0xf0;
	return page_reg(regs, APIC_PROCPRI) == ppr;
}

/* Start the one-shot or periodic timer @left counts before it fires. */
static void lapic_timer_resume(struct vcpu *vcpu, u32 left)
{
	struct lapic *apic = &vcpu->lapic;
	u64 tick = lapic_tick_ns(vcpu), ns;
	ktime_t now = ktime_get();

	ns = lapic_get(vcpu, APIC_TMICT) * tick;
	if (lapic_timer_mode(vcpu) == APIC_LVT_TIMER_PERIODIC)
		ns = max(ns, LAPIC_MIN_PERIOD_NS);
	apic->period_ns = ns;
	apic->armed = true;
	/* The period began as long ago as the counts already gone took. */
	apic->start = ktime_sub_ns(now, ns - left * tick);
	hrtimer_start(&apic->timer, ktime_add_ns(apic->start, ns),
		      HRTIMER_MODE_ABS_HARD);
}

/**
 * lapic_set_state() - MINIVMM_SET_LAPIC
 * @vcpu: the vCPU, idle: no RUN is in flight
 * @s: the state, flags and reserved fields checked
 *
 * The page replaces the registers; what derives from them is computed
 * again when used (the processor priority, the highest pending vector,
 * CR8, which is the TPR, and the TPR threshold at the next entry, where
 * a pending IRR vector above the priority goes in). A one-shot or
 * periodic timer runs on from the current count; one that had expired
 * (current count 0) stays so. A TSC deadline is disarmed: the restorer
 * writes IA32_TSC_DEADLINE after this. With IA32_APIC_BASE.EN clear the
 * APIC's registers are inaccessible and at their reset values: only the
 * page GET returns then is accepted, and it changes nothing. The LINT
 * inputs' levels (wires outside the APIC) are set in either case, and
 * nothing is sent for them: what they sent is in the page.
 *
 * Return: 0, or -EINVAL for LINT bits other than 0 and 1 or a page the
 * APIC could not hold.
 */
int lapic_set_state(struct vcpu *vcpu, const struct minivmm_lapic_state *s)
{
	struct lapic *apic = &vcpu->lapic;
	unsigned long flags;
	int ret = -EINVAL;
	u8 *now;
	u32 left;

	if (s->esr_pending & ~LAPIC_STATE_ESR ||
	    s->lint & ~(BIT(MINIVMM_LINT0) | BIT(MINIVMM_LINT1)))
		return -EINVAL;
	now = kmalloc(MINIVMM_LAPIC_REGS_SIZE, GFP_KERNEL);
	if (!now)
		return -ENOMEM;
	spin_lock_irqsave(&apic->lock, flags);
	if (!lapic_hw_enabled(vcpu)) {
		lapic_fill_page(vcpu, now);
		if (!memcmp(now, s->regs, MINIVMM_LAPIC_REGS_SIZE) &&
		    s->esr_pending == apic->esr_pending) {
			apic->lint = s->lint;
			ret = 0;
		}
		goto out;
	}
	if (!lapic_state_valid(vcpu, s->regs))
		goto out;
	lapic_timer_stop(vcpu);
	apic->tsc_deadline = 0;
	memcpy(vcpu->vapic, s->regs, MINIVMM_LAPIC_REGS_SIZE);
	WRITE_ONCE(apic->irr_pending, true);
	/* Computed when read, never kept. */
	lapic_set(vcpu, APIC_PROCPRI, 0);
	lapic_set(vcpu, APIC_TMCCT, 0);
	apic->esr_pending = s->esr_pending;
	apic->lint = s->lint;
	left = page_reg(s->regs, APIC_TMCCT);
	if (lapic_get(vcpu, APIC_TMICT) &&
	    lapic_timer_mode(vcpu) != APIC_LVT_TIMER_TSCDEADLINE &&
	    (left || lapic_timer_mode(vcpu) == APIC_LVT_TIMER_PERIODIC))
		lapic_timer_resume(vcpu, left);
	ret = 0;
out:
	spin_unlock_irqrestore(&apic->lock, flags);
	kfree(now);
	return ret;
}

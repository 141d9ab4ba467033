// SPDX-License-Identifier: GPL-2.0
/*
 * The MSRs a guest sees: one table.
 *
 * Each entry names an MSR (or a run of consecutive ones), the CPUID bit
 * whose presence in the guest's CPUID makes it exist, its value after
 * reset and the bits a WRMSR may change. An MSR that is not in the table,
 * or whose CPUID bit the guest does not see, raises #GP on RDMSR and
 * WRMSR; so does a WRMSR that changes a bit outside the writable mask or
 * that an entry's check refuses. Nothing here ever reads or writes a host
 * MSR on the guest's behalf: every value is the guest's own copy, kept in
 * the vCPU or in its VMCS.
 *
 * Where the SDM leaves a choice (a write to IA32_BIOS_SIGN_ID, the reset
 * value of IA32_MISC_ENABLE and of the microcode revision), minivmm does
 * what KVM does.
 */
#include <linux/bits.h>
#include <linux/kernel.h>
#include <asm/apicdef.h>
#include <asm/cpufeatures.h>
#include <asm/msr.h>
#include <asm/mtrr.h>
#include <asm/processor.h>
#include <asm/vmx.h>

#include "minivmm.h"
#include "vmx_ops.h"

/* The variable-range MTRR pairs start here; msr-index.h has no name. */
#define MSR_MTRR_PHYS_BASE0	0x200
#define MTRR_VAR_PAIRS		8
/* IA32_MTRRCAP: VCNT, fixed ranges supported, write-combining supported. */
#define MTRRCAP_FIX		BIT_ULL(8)
#define MTRRCAP_WC		BIT_ULL(10)
#define MTRR_DEF_TYPE_MASK	0xffULL
#define MTRR_DEF_FE		BIT_ULL(10)
#define MTRR_DEF_E		BIT_ULL(11)
#define MTRR_PHYS_MASK_VALID	BIT_ULL(11)

/* IA32_MCG_STATUS: RIPV, EIPV, MCIP. */
#define MCG_STATUS_BITS		0x7ULL

/* KVM's microcode revision for a guest: a value no real CPU reports. */
#define GUEST_UCODE_REV		0x100000000ULL

#define MISC_ENABLE_RESET	(MSR_IA32_MISC_ENABLE_FAST_STRING | \
				 MSR_IA32_MISC_ENABLE_BTS_UNAVAIL | \
				 MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL)

enum cpuid_reg { EAX, EBX, ECX, EDX };

/* Storage slots in vcpu->msrs for the MSRs the table keeps there. */
enum {
	SLOT_MISC_ENABLE,
	SLOT_MCG_STATUS,
	SLOT_MTRR_DEF,
	SLOT_MTRR_FIX64K,
	SLOT_MTRR_FIX16K,			/* two */
	SLOT_MTRR_FIX4K = SLOT_MTRR_FIX16K + 2,	/* eight */
	SLOT_MTRR_VAR = SLOT_MTRR_FIX4K + 8,	/* base and mask, 8 pairs */
	NR_SLOTS = SLOT_MTRR_VAR + 2 * MTRR_VAR_PAIRS,
	NO_SLOT = 0xff,
};

static_assert(NR_SLOTS <= MINIVMM_MSR_SLOTS);

/**
 * struct msr_def - one MSR, or a run of consecutive ones, in the table
 * @index:	the (first) MSR number
 * @count:	how many consecutive MSRs the entry covers
 * @slot:	first slot in vcpu->msrs, or NO_SLOT when @get/@set (or
 *		a read-only @reset) hold the value
 * @fn:		CPUID leaf of the bit that makes it exist; 0: always
 * @reg:	register of that leaf
 * @bit:	bit in that register
 * @reset:	value after reset (and the value of a read-only MSR)
 * @writable:	bits WRMSR may change; changing any other bit is #GP
 * @check:	optional further check of a written value; false is #GP
 * @get:	reads the value where it does not live in a slot
 * @read:	reads it where a read may fail; false is #GP
 * @set:	writes it; false is #GP
 */
struct msr_def {
	u32 index;
	u8 count;
	u8 slot;
	u32 fn;
	u8 reg, bit;
	u64 reset;
	u64 writable;
	bool (*check)(struct vcpu *vcpu, u32 msr, u64 val);
	u64 (*get)(struct vcpu *vcpu, u32 msr);
	bool (*read)(struct vcpu *vcpu, u32 msr, u64 *val);
	bool (*set)(struct vcpu *vcpu, u32 msr, u64 val);
};

static u64 phys_reserved(void)
{
	return ~0ULL << boot_cpu_data.x86_phys_bits;
}

/* A memory type of the PAT: UC, WC, WT, WP, WB, UC-. */
static bool pat_type_valid(u8 type)
{
	return type < 8 && type != 2 && type != 3;
}

/* A memory type of an MTRR: the PAT's but UC- (7). */
static bool mtrr_type_valid(u8 type)
{
	return type != 7 && pat_type_valid(type);
}

static bool check_pat(struct vcpu *vcpu, u32 msr, u64 val)
{
	int i;

	for (i = 0; i < 8; i++)
		if (!pat_type_valid(val >> (i * 8)))
			return false;
	return true;
}

static bool check_mtrr_fixed(struct vcpu *vcpu, u32 msr, u64 val)
{
	int i;

	for (i = 0; i < 8; i++)
		if (!mtrr_type_valid(val >> (i * 8)))
			return false;
	return true;
}

static bool check_mtrr_def(struct vcpu *vcpu, u32 msr, u64 val)
{
	return mtrr_type_valid(val & MTRR_DEF_TYPE_MASK);
}

/* PHYSBASEn: type, and the base below MAXPHYADDR; PHYSMASKn: V, mask. */
static bool check_mtrr_var(struct vcpu *vcpu, u32 msr, u64 val)
{
	u64 reserved = phys_reserved();

	if ((msr - MSR_MTRR_PHYS_BASE0) & 1)
		return !(val & (reserved | (MTRR_PHYS_MASK_VALID - 1)));
	return !(val & (reserved | 0xf00)) && mtrr_type_valid(val);
}

/*
 * The local APIC (lapic.c) keeps the value and checks mode transitions;
 * every 64-bit CPU has the MSR, whatever CPUID says about the APIC. A
 * write may move the base, clear EN or set EXTD (x2APIC mode), which is
 * reserved when the guest's CPUID shows no x2APIC.
 */
static bool check_apic_base(struct vcpu *vcpu, u32 msr, u64 val)
{
	u32 r[4];

	cpuid_guest_leaf(vcpu, 1, 0, r);
	if ((val & X2APIC_ENABLE) && !(r[ECX] & BIT(X86_FEATURE_X2APIC & 31)))
		return false;
	return !(val & (phys_reserved() | GENMASK_ULL(7, 0) | BIT_ULL(9)));
}

static u64 get_tsc(struct vcpu *vcpu, u32 msr)
{
	return rdtsc() + vcpu->tsc_offset;
}

static bool tsc_offsetting(void)
{
	return vmx_config.cpu_based & CPU_BASED_USE_TSC_OFFSETTING;
}

/* A written TSC is where the guest's time now stands, also if lower. */
static void set_tsc_offset(struct vcpu *vcpu, u64 offset)
{
	vcpu->tsc_offset = offset;
	vmcs_write64(TSC_OFFSET, offset);
	vcpu->last_guest_tsc = rdtsc() + offset;
}

/**
 * msr_tsc_follow_cpu() - take this CPU's TSC compensation into the offset
 * @vcpu: the vCPU, its VMCS loaded on this CPU, preemption off
 *
 * The guest's TSC is this CPU's TSC plus the offset, and the offset
 * includes the CPU's compensation (tsc.c), which makes the host CPUs'
 * TSCs agree as measured. The safety net, for a CPU that could not be
 * measured: when the vCPU's thread arrives on a CPU whose TSC would put
 * the guest's behind what it already saw, that CPU's compensation grows
 * by the difference, for every vCPU that runs here: a guest TSC never
 * goes back. With agreeing (or measured) TSCs nothing ever grows.
 */
void msr_tsc_follow_cpu(struct vcpu *vcpu)
{
	u64 comp = tsc_comp_this_cpu();
	u64 offset = vcpu->tsc_offset + (comp - vcpu->tsc_comp);
	s64 behind;

	if (!tsc_offsetting())
		return;
	behind = vcpu->last_guest_tsc - (rdtsc() + offset);
	if (behind > 0) {
		comp = tsc_comp_raise(comp + behind);
		offset = vcpu->tsc_offset + (comp - vcpu->tsc_comp);
	}
	vcpu->tsc_comp = comp;
	if (offset != vcpu->tsc_offset) {
		vcpu->tsc_offset = offset;
		vmcs_write64(TSC_OFFSET, offset);
	}
}

/* The SDM: a write to the TSC moves IA32_TSC_ADJUST by as much. */
static bool set_tsc(struct vcpu *vcpu, u32 msr, u64 val)
{
	u64 offset = val - rdtsc();

	if (!tsc_offsetting())
		return false;
	vcpu->tsc_adjust += offset - vcpu->tsc_offset;
	set_tsc_offset(vcpu, offset);
	return true;
}

static u64 get_tsc_adjust(struct vcpu *vcpu, u32 msr)
{
	return vcpu->tsc_adjust;
}

/* ... and a write to IA32_TSC_ADJUST moves the TSC by as much. */
static bool set_tsc_adjust(struct vcpu *vcpu, u32 msr, u64 val)
{
	if (!tsc_offsetting())
		return false;
	set_tsc_offset(vcpu, vcpu->tsc_offset + (val - vcpu->tsc_adjust));
	vcpu->tsc_adjust = val;
	return true;
}

/* KVM takes and ignores the guest's write (the OS writes 0 to load it). */
static bool set_ignore(struct vcpu *vcpu, u32 msr, u64 val)
{
	return true;
}

static u64 get_vmcs(struct vcpu *vcpu, u32 msr)
{
	switch (msr) {
	case MSR_IA32_SYSENTER_CS:
		return vmcs_read32(GUEST_SYSENTER_CS);
	case MSR_IA32_SYSENTER_ESP:
		return vmcs_readl(GUEST_SYSENTER_ESP);
	case MSR_IA32_SYSENTER_EIP:
		return vmcs_readl(GUEST_SYSENTER_EIP);
	case MSR_IA32_DEBUGCTLMSR:
		return vmcs_read64(GUEST_IA32_DEBUGCTL);
	case MSR_IA32_CR_PAT:
		return vmcs_read64(GUEST_IA32_PAT);
	case MSR_EFER:
		return vmcs_read64(GUEST_IA32_EFER);
	case MSR_FS_BASE:
		return vmcs_readl(GUEST_FS_BASE);
	default:	/* MSR_GS_BASE */
		return vmcs_readl(GUEST_GS_BASE);
	}
}

static bool set_vmcs(struct vcpu *vcpu, u32 msr, u64 val)
{
	switch (msr) {
	case MSR_IA32_SYSENTER_CS:
		vmcs_write32(GUEST_SYSENTER_CS, val);
		break;
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
	case MSR_FS_BASE:
	case MSR_GS_BASE:
		if (!guest_canonical(val))
			return false;
		vmcs_writel(msr == MSR_IA32_SYSENTER_ESP ? GUEST_SYSENTER_ESP :
			    msr == MSR_IA32_SYSENTER_EIP ? GUEST_SYSENTER_EIP :
			    msr == MSR_FS_BASE ? GUEST_FS_BASE : GUEST_GS_BASE,
			    val);
		break;
	case MSR_IA32_DEBUGCTLMSR:
		vmcs_write64(GUEST_IA32_DEBUGCTL, val);
		break;
	case MSR_IA32_CR_PAT:
		vmcs_write64(GUEST_IA32_PAT, val);
		break;
	case MSR_EFER:
		return !vcpu_set_efer(vcpu, val);
	}
	return true;
}

static u64 *syscall_msr(struct vcpu *vcpu, u32 msr)
{
	switch (msr) {
	case MSR_STAR:
		return &vcpu->star;
	case MSR_LSTAR:
		return &vcpu->lstar;
	case MSR_CSTAR:
		return &vcpu->cstar;
	case MSR_SYSCALL_MASK:
		return &vcpu->sfmask;
	default:	/* MSR_KERNEL_GS_BASE */
		return &vcpu->kernel_gs_base;
	}
}

static u64 get_syscall(struct vcpu *vcpu, u32 msr)
{
	return *syscall_msr(vcpu, msr);
}

/*
 * These reach the CPU (vcpu.c loads them around entries): the table's
 * writable mask keeps IA32_FMASK's reserved upper half out, the
 * canonical check the addresses.
 */
static bool set_syscall(struct vcpu *vcpu, u32 msr, u64 val)
{
	if ((msr == MSR_LSTAR || msr == MSR_CSTAR ||
	     msr == MSR_KERNEL_GS_BASE) && !guest_canonical(val))
		return false;
	*syscall_msr(vcpu, msr) = val;
	/* From now on STAR, LSTAR, CSTAR and FMASK go in around entries. */
	if (msr != MSR_KERNEL_GS_BASE)
		vcpu->syscall_msrs = true;
	return true;
}

static u64 get_tsc_aux(struct vcpu *vcpu, u32 msr)
{
	return vcpu->tsc_aux;
}

static bool set_tsc_aux(struct vcpu *vcpu, u32 msr, u64 val)
{
	vcpu->tsc_aux = val;
	return true;
}

#define F(x)		(X86_FEATURE_##x & 31)
#define ALL		~0ULL

#define MSR_VMCS(i, f, r, b, w, c)					\
	{ .index = i, .count = 1, .slot = NO_SLOT, .fn = f, .reg = r,	\
	  .bit = b, .writable = w, .check = c, .get = get_vmcs,		\
	  .set = set_vmcs }
#define MSR_SYSCALL(i, w)						\
	{ .index = i, .count = 1, .slot = NO_SLOT, .fn = 0x80000001,	\
	  .reg = EDX, .bit = F(LM), .writable = w, .get = get_syscall,	\
	  .set = set_syscall }
#define MSR_STORED(i, n, s, f, r, b, rst, w, c)				\
	{ .index = i, .count = n, .slot = s, .fn = f, .reg = r,		\
	  .bit = b, .reset = rst, .writable = w, .check = c }
#define MSR_CONST(i, f, r, b, val)					\
	{ .index = i, .count = 1, .slot = NO_SLOT, .fn = f, .reg = r,	\
	  .bit = b, .reset = val }

static const struct msr_def msr_table[] = {
	{ .index = MSR_IA32_TSC, .count = 1, .slot = NO_SLOT, .fn = 1,
	  .reg = EDX, .bit = F(TSC), .writable = ALL, .get = get_tsc,
	  .set = set_tsc },
	MSR_CONST(MSR_IA32_PLATFORM_ID, 0, 0, 0, 0),
	{ .index = MSR_IA32_APICBASE, .count = 1, .slot = NO_SLOT,
	  .writable = ALL, .check = check_apic_base, .get = lapic_get_base,
	  .set = lapic_set_base },
	/* The x2APIC registers: 0x800-0x83f, #GP outside x2APIC mode. */
	{ .index = APIC_BASE_MSR, .count = 0x40, .slot = NO_SLOT, .fn = 1,
	  .reg = ECX, .bit = F(X2APIC), .writable = ALL,
	  .read = lapic_x2apic_read, .set = lapic_x2apic_write },
	{ .index = MSR_IA32_TSC_DEADLINE, .count = 1, .slot = NO_SLOT,
	  .fn = 1, .reg = ECX, .bit = F(TSC_DEADLINE_TIMER), .writable = ALL,
	  .get = lapic_get_tsc_deadline, .set = lapic_set_tsc_deadline },
	{ .index = MSR_IA32_TSC_ADJUST, .count = 1, .slot = NO_SLOT, .fn = 7,
	  .reg = EBX, .bit = F(TSC_ADJUST), .writable = ALL,
	  .get = get_tsc_adjust, .set = set_tsc_adjust },
	{ .index = MSR_IA32_UCODE_REV, .count = 1, .slot = NO_SLOT,
	  .reset = GUEST_UCODE_REV, .writable = ALL, .set = set_ignore },
	MSR_CONST(MSR_MTRRcap, 1, EDX, F(MTRR),
		  MTRRCAP_WC | MTRRCAP_FIX | MTRR_VAR_PAIRS),
	MSR_VMCS(MSR_IA32_SYSENTER_CS, 1, EDX, F(SEP), 0xffffffffULL, NULL),
	MSR_VMCS(MSR_IA32_SYSENTER_ESP, 1, EDX, F(SEP), ALL, NULL),
	MSR_VMCS(MSR_IA32_SYSENTER_EIP, 1, EDX, F(SEP), ALL, NULL),
	/* An empty machine-check architecture: no banks, no MCG_CTL. */
	MSR_CONST(MSR_IA32_MCG_CAP, 1, EDX, F(MCA), 0),
	MSR_STORED(MSR_IA32_MCG_STATUS, 1, SLOT_MCG_STATUS, 1, EDX, F(MCA),
		   0, MCG_STATUS_BITS, NULL),
	/*
	 * Fast strings is the one bit a guest may change: the others
	 * describe features (PEBS, BTS, a PMU, NX, CPUID limits) that the
	 * guest's CPUID fixes, so changing them is refused.
	 */
	MSR_STORED(MSR_IA32_MISC_ENABLE, 1, SLOT_MISC_ENABLE, 0, 0, 0,
		   MISC_ENABLE_RESET, MSR_IA32_MISC_ENABLE_FAST_STRING, NULL),
	/* Single-step on branches only; no LBR, BTS or PMU freezing. */
	MSR_VMCS(MSR_IA32_DEBUGCTLMSR, 0, 0, 0, DEBUGCTLMSR_BTF, NULL),
	MSR_STORED(MSR_MTRR_PHYS_BASE0, 2 * MTRR_VAR_PAIRS, SLOT_MTRR_VAR, 1,
		   EDX, F(MTRR), 0, ALL, check_mtrr_var),
	MSR_STORED(MSR_MTRRfix64K_00000, 1, SLOT_MTRR_FIX64K, 1, EDX,
		   F(MTRR), 0, ALL, check_mtrr_fixed),
	MSR_STORED(MSR_MTRRfix16K_80000, 2, SLOT_MTRR_FIX16K, 1, EDX,
		   F(MTRR), 0, ALL, check_mtrr_fixed),
	MSR_STORED(MSR_MTRRfix4K_C0000, 8, SLOT_MTRR_FIX4K, 1, EDX,
		   F(MTRR), 0, ALL, check_mtrr_fixed),
	MSR_VMCS(MSR_IA32_CR_PAT, 1, EDX, F(PAT), ALL, check_pat),
	MSR_STORED(MSR_MTRRdefType, 1, SLOT_MTRR_DEF, 1, EDX, F(MTRR), 0,
		   MTRR_DEF_TYPE_MASK | MTRR_DEF_FE | MTRR_DEF_E,
		   check_mtrr_def),
	/* KVM's choice: EFER exists whatever CPUID says. */
	MSR_VMCS(MSR_EFER, 0, 0, 0, ALL, NULL),
	MSR_SYSCALL(MSR_STAR, ALL),
	MSR_SYSCALL(MSR_LSTAR, ALL),
	MSR_SYSCALL(MSR_CSTAR, ALL),
	MSR_SYSCALL(MSR_SYSCALL_MASK, 0xffffffffULL),
	MSR_VMCS(MSR_FS_BASE, 0x80000001, EDX, F(LM), ALL, NULL),
	MSR_VMCS(MSR_GS_BASE, 0x80000001, EDX, F(LM), ALL, NULL),
	MSR_SYSCALL(MSR_KERNEL_GS_BASE, ALL),
	{ .index = MSR_TSC_AUX, .count = 1, .slot = NO_SLOT,
	  .fn = 0x80000001, .reg = EDX, .bit = F(RDTSCP),
	  .writable = 0xffffffffULL, .get = get_tsc_aux, .set = set_tsc_aux },
};

/* The entry for @msr when the guest's CPUID says it exists. */
static const struct msr_def *msr_find(struct vcpu *vcpu, u32 msr)
{
	const struct msr_def *d;
	u32 r[4];

	for (d = msr_table; d < msr_table + ARRAY_SIZE(msr_table); d++) {
		if (msr - d->index >= d->count)
			continue;
		if (!d->fn)
			return d;
		cpuid_guest_leaf(vcpu, d->fn, 0, r);
		return r[d->reg] & BIT(d->bit) ? d : NULL;
	}
	return NULL;
}

static u64 msr_value(struct vcpu *vcpu, const struct msr_def *d, u32 msr)
{
	if (d->get)
		return d->get(vcpu, msr);
	if (d->slot == NO_SLOT)
		return d->reset;
	return vcpu->msrs[d->slot + msr - d->index];
}

/**
 * msr_read() - RDMSR by the guest
 * @vcpu: the vCPU, its VMCS loaded
 * @msr: ECX
 * @val: the value read
 *
 * Return: false when the CPU would raise #GP.
 */
bool msr_read(struct vcpu *vcpu, u32 msr, u64 *val)
{
	const struct msr_def *d = msr_find(vcpu, msr);

	if (!d)
		return false;
	if (d->read)
		return d->read(vcpu, msr, val);
	*val = msr_value(vcpu, d, msr);
	return true;
}

/**
 * msr_write() - WRMSR by the guest
 * @vcpu: the vCPU, its VMCS loaded
 * @msr: ECX
 * @val: EDX:EAX
 *
 * Return: false when the CPU would raise #GP; the MSR is then unchanged.
 */
bool msr_write(struct vcpu *vcpu, u32 msr, u64 val)
{
	const struct msr_def *d = msr_find(vcpu, msr);

	if (!d || ((val ^ msr_value(vcpu, d, msr)) & ~d->writable))
		return false;
	if (d->check && !d->check(vcpu, msr, val))
		return false;
	if (d->set)
		return d->set(vcpu, msr, val);
	/* A constant: read-only, as on a CPU, whatever the value. */
	if (d->slot == NO_SLOT)
		return false;
	vcpu->msrs[d->slot + msr - d->index] = val;
	return true;
}

/**
 * msr_reset() - the MSR values of a vCPU after reset
 * @vcpu: a new vCPU
 *
 * The values that live in the VMCS (PAT, EFER, DEBUGCTL, SYSENTER) are
 * reset with the rest of the guest state in vmcs.c.
 */
void msr_reset(struct vcpu *vcpu)
{
	const struct msr_def *d;
	int i;

	for (d = msr_table; d < msr_table + ARRAY_SIZE(msr_table); d++)
		if (d->slot != NO_SLOT)
			for (i = 0; i < d->count; i++)
				vcpu->msrs[d->slot + i] = d->reset;
	vcpu->tsc_aux = 0;
	vcpu->tsc_adjust = 0;
}

/*
 * The x2APIC registers act when read or written (EOI, ICR): they are the
 * APIC's state, not MSRs a restorer sets, and userspace does not reach
 * them here.
 */
static bool msr_host_access(const struct msr_def *d)
{
	return d && !d->read;
}

/**
 * msr_get() - read an MSR for userspace (MINIVMM_GET_MSRS)
 * @vcpu: the vCPU, idle, its VMCS loaded
 * @msr: the MSR
 * @val: the value read
 *
 * Return: false when the guest could not read it either.
 */
bool msr_get(struct vcpu *vcpu, u32 msr, u64 *val)
{
	const struct msr_def *d = msr_find(vcpu, msr);

	if (!msr_host_access(d))
		return false;
	*val = msr_value(vcpu, d, msr);
	return true;
}

/**
 * msr_set() - write an MSR for userspace (MINIVMM_SET_MSRS)
 * @vcpu: the vCPU, idle, its VMCS loaded
 * @msr: the MSR
 * @val: the value
 *
 * The checks of a guest's WRMSR apply: a read-only MSR takes only the
 * value it has. A restorer sets IA32_TSC and IA32_TSC_ADJUST each to
 * its saved value, in either order, so unlike the guest's writes
 * neither moves the other.
 *
 * Return: false when the guest's WRMSR would raise #GP; the MSR is then
 * unchanged.
 */
bool msr_set(struct vcpu *vcpu, u32 msr, u64 val)
{
	const struct msr_def *d = msr_find(vcpu, msr);

	if (!msr_host_access(d))
		return false;
	/* A restorer writes back what it read: a constant takes its value. */
	if (d->slot == NO_SLOT && !d->set)
		return val == d->reset;
	switch (msr) {
	case MSR_IA32_TSC:
		if (!tsc_offsetting())
			return false;
		set_tsc_offset(vcpu, val - rdtsc());
		return true;
	case MSR_IA32_TSC_ADJUST:
		vcpu->tsc_adjust = val;
		return true;
	}
	return msr_write(vcpu, msr, val);
}

/**
 * msr_list() - the MSRs the guest can use, with its CPUID now
 * @vcpu: the vCPU
 * @idx: filled with up to @max MSR numbers
 * @max: room at @idx
 *
 * Return: how many there are (also those beyond @max).
 */
unsigned int msr_list(struct vcpu *vcpu, u32 *idx, unsigned int max)
{
	const struct msr_def *d;
	unsigned int n = 0;
	u32 i;

	for (d = msr_table; d < msr_table + ARRAY_SIZE(msr_table); d++) {
		for (i = 0; i < d->count; i++) {
			if (msr_find(vcpu, d->index + i) != d ||
			    !msr_host_access(d))
				continue;
			if (n < max)
				idx[n] = d->index + i;
			n++;
		}
	}
	return n;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The CPUID a guest sees.
 *
 * With a table from MINIVMM_SET_CPUID, the guest sees exactly that table
 * (zeros for a leaf it lacks). Without one it sees the host's CPUID cut
 * down to what minivmm virtualises: no VMX, no AVX or
 * other XSAVE state beyond x87 and SSE, no performance monitoring (leaf
 * 0xA is zero), no speculation controls (leaf 7 EDX is zero,
 * so IA32_ARCH_CAPABILITIES, SPEC_CTRL, PRED_CMD and FLUSH_CMD do not
 * exist), and the hypervisor bit set with a "minivmm" signature leaf.
 * The topology is the VM's own: one package whose cores, of one thread
 * each, are the vCPUs, x2APIC ID = vCPU id (leaf 1 EBX, leaves 0xB and
 * 0x1F, the core counts of leaf 4, whose caches are the host's).
 * The local APIC shows (leaf 1 EDX.APIC) while IA32_APIC_BASE enables it,
 * with x2APIC mode and its TSC-deadline timer (leaf 1 ECX); leaf 0x40000010, as VMware
 * defined it, gives the frequencies a guest needs for its timers: EAX
 * the TSC's in kHz, EBX the APIC timer's input clock in kHz. Guests that
 * know no hypervisor (Linux on one it does not recognise) find the same
 * frequencies where Intel's CPUs give them: leaf 0x15 (the crystal,
 * which clocks the APIC timer, and the TSC's ratio to it) and leaf 0x16
 * (in MHz), the basic leaves reaching at least 0x16 for that.
 *
 * The MSRs a guest may use follow from the same leaves (msr.c looks them
 * up here): MTRRs and PAT, SYSENTER, an empty machine-check architecture
 * (MCE, MCA), IA32_TSC_ADJUST (emulated, so shown whatever the host has)
 * and IA32_TSC_AUX with RDTSCP.
 */
#include <linux/bitfield.h>
#include <linux/bits.h>
#include <linux/math.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <asm/cpufeatures.h>
#include <asm/fpu/types.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/tsc.h>
#include <asm/vmx.h>

#include "minivmm.h"
#include "vmx_ops.h"

#define F(x)		BIT(X86_FEATURE_##x & 31)
#define HV_LEAF		0x40000000
#define HV_LEAF_FREQ	0x40000010
#define LEAF_CACHE	4
#define LEAF_TOPO	0xb
#define LEAF_TOPO_V2	0x1f
#define LEAF_TSC	0x15
#define LEAF_FREQ	0x16
/*
 * Linux computes crystal kHz * leaf 0x15 EBX in 32 bits: with a 1 GHz
 * crystal the numerator must stay below 2^32 / 10^6.
 */
#define TSC_RATIO_MAX_NUM	(U32_MAX / LAPIC_BUS_KHZ)

/* Leaf 1 ECX and EDX, leaf 7 EBX, leaf 0x80000001 ECX and EDX. */
#define LEAF1_ECX	(F(XMM3) | F(PCLMULQDQ) | F(SSSE3) | F(CX16) | \
			 F(XMM4_1) | F(XMM4_2) | F(MOVBE) | F(POPCNT) | \
			 F(AES) | F(XSAVE) | F(RDRAND))
#define LEAF1_ECX_EMUL	(F(TSC_DEADLINE_TIMER) | F(X2APIC))
#define LEAF1_EDX	(F(FPU) | F(VME) | F(DE) | F(PSE) | F(TSC) | \
			 F(MSR) | F(PAE) | F(MCE) | F(CX8) | F(SEP) | \
			 F(MTRR) | F(PGE) | F(MCA) | F(CMOV) | F(PAT) | F(PSE36) | \
			 F(CLFLUSH) | F(MMX) | F(FXSR) | F(XMM) | F(XMM2))
#define LEAF7_EBX	(F(FSGSBASE) | F(BMI1) | F(SMEP) | F(BMI2) | \
			 F(ERMS) | F(RDSEED) | F(ADX) | F(SMAP) | \
			 F(CLFLUSHOPT))
#define EXT1_ECX	(F(LAHF_LM) | F(ABM) | F(3DNOWPREFETCH))
#define EXT1_EDX	(F(SYSCALL) | F(NX) | F(GBPAGES) | F(LM))

/*
 * The ratio @a / @b as a fraction whose numerator is at most @max_num:
 * the last convergent of its continued fraction that fits, or the
 * semiconvergent after it when that one is closer (its term more than
 * half the convergent's).
 */
static void ratio_approx(u64 a, u64 b, u64 max_num, u32 *num, u32 *den)
{
	u64 p0 = 0, q0 = 1, p1 = 1, q1 = 0, k, t;

	while (b) {
		k = div64_u64(a, b);
		if (k * p1 + p0 > max_num || k * q1 + q0 > U32_MAX) {
			t = min(div64_u64(max_num - p0, p1),
				q1 ? div64_u64(U32_MAX - q0, q1) : k);
			if (2 * t > k) {
				p1 = t * p1 + p0;
				q1 = t * q1 + q0;
			}
			break;
		}
		t = k * p1 + p0;
		p0 = p1;
		p1 = t;
		t = k * q1 + q0;
		q0 = q1;
		q1 = t;
		t = a - k * b;
		a = b;
		b = t;
	}
	*num = p1;
	*den = q1;
}

/*
 * The level types of leaves 0xB and 0x1F (ECX[15:8]), as the SDM numbers
 * them: no kernel header shares them.
 */
#define TOPO_TYPE_INVALID	0
#define TOPO_TYPE_SMT		1
#define TOPO_TYPE_CORE		2

/*
 * How many x2APIC IDs the VM's package spans: a vCPU's APIC ID is its id,
 * so up to the highest id of the vCPUs that exist (N for the tool's vCPUs
 * 0..N-1). vCPUs are created before a guest starts its other CPUs: by
 * then the count no longer changes.
 */
static unsigned int vm_apic_ids(const struct vm *vm)
{
	unsigned int n = MINIVMM_MAX_VCPUS;

	while (n > 1 && !rcu_access_pointer(vm->vcpus[n - 1]))
		n--;
	return n;
}

/* The width of the core ID in an x2APIC ID: the package ID is above it. */
static unsigned int vm_core_bits(const struct vm *vm)
{
	return order_base_2(vm_apic_ids(vm));
}

/*
 * Leaves 0xB and 0x1F: subleaf 0 the SMT level (one thread, no bits of
 * the APIC ID), subleaf 1 the core level (vm_apic_ids() cores, the core
 * ID in the bits below vm_core_bits()), and past them the invalid level
 * (type 0, EAX = EBX = 0); ECX[7:0] is the subleaf and EDX the vCPU's
 * x2APIC ID at every subleaf. Leaf 0x1F has no levels (module, die...)
 * that leaf 0xB lacks.
 */
static void cpuid_topology(struct vcpu *vcpu, u32 idx, u32 *r)
{
	memset(r, 0, 4 * sizeof(*r));
	r[2] = idx & 0xff;
	if (idx == 0) {
		r[1] = 1;
		r[2] |= TOPO_TYPE_SMT << 8;
	} else if (idx == 1) {
		r[0] = vm_core_bits(vcpu->vm);
		r[1] = vm_apic_ids(vcpu->vm);
		r[2] |= TOPO_TYPE_CORE << 8;
	} else {
		r[2] |= TOPO_TYPE_INVALID << 8;
	}
	r[3] = vcpu->id;
}

/*
 * Leaf 4: the host's caches as the VM's package would have them. Every
 * vCPU is a core of its own: caches of level 1 and 2 belong to one
 * (shared by 1 thread), those of level 3 and up to the package, and the
 * package has room for 2^vm_core_bits() cores (EAX[31:26], in every
 * subleaf of a cache, as leaf 1 EBX[23:16] and leaf 0xB say).
 */
#define CACHE_TYPE_MASK		GENMASK(4, 0)
#define CACHE_LEVEL_MASK	GENMASK(7, 5)
#define CACHE_SHARING_MASK	GENMASK(25, 14)
#define CACHE_CORES_MASK	GENMASK(31, 26)

static void cpuid_cache(struct vcpu *vcpu, u32 *r)
{
	u32 ids = BIT(vm_core_bits(vcpu->vm));

	if (!(r[0] & CACHE_TYPE_MASK)) {
		memset(r, 0, 4 * sizeof(*r));
		return;
	}
	r[0] &= ~(CACHE_SHARING_MASK | CACHE_CORES_MASK);
	if (FIELD_GET(CACHE_LEVEL_MASK, r[0]) >= 3)
		r[0] |= FIELD_PREP(CACHE_SHARING_MASK, ids - 1);
	r[0] |= FIELD_PREP(CACHE_CORES_MASK, ids - 1);
}

/* Leaves 0x15 and 0x16: the TSC and APIC-timer clocks as Intel gives them. */
static void cpuid_tsc_leaves(u32 fn, u32 *r)
{
	memset(r, 0, 4 * sizeof(*r));
	if (fn == LEAF_TSC) {
		ratio_approx(tsc_khz, LAPIC_BUS_KHZ, TSC_RATIO_MAX_NUM,
			     &r[1], &r[0]);
		r[2] = LAPIC_BUS_KHZ * 1000;
	} else {
		r[0] = DIV_ROUND_CLOSEST(tsc_khz, 1000);
		r[1] = r[0];
		r[2] = LAPIC_BUS_KHZ / 1000;
	}
}

/*
 * The host's basic leaves 0-7 (leaf 7 subleaf 0 only) and extended leaves
 * 0x80000000-0x80000008, the ones guests ask for, read once at module
 * load: a CPUID per exit would cost more than the rest of the exit's
 * handling, and under a hypervisor an exit of its own. What a guest sees
 * of them is the same on every CPU and does not change while the host
 * runs: leaf 1's per-CPU APIC ID and the host's OSXSAVE are not passed
 * through. Leaf 6 read here is never shown. Leaf 4's subleaves (the
 * caches, subleaf 0 in host_basic too) are cached up to the first of
 * type 0 (no more caches), at most HOST_CACHES of them.
 */
#define HOST_BASIC	8
#define HOST_EXT	9
#define HOST_CACHES	8
static u32 host_basic[HOST_BASIC][4], host_ext[HOST_EXT][4];
static u32 host_cache[HOST_CACHES][4];

/**
 * cpuid_read_host() - read the host leaves the default table caches
 *
 * Called once at module load.
 */
void cpuid_read_host(void)
{
	u32 *r;
	int i;

	for (i = 0; i < HOST_BASIC; i++) {
		r = host_basic[i];
		cpuid_count(i, 0, &r[0], &r[1], &r[2], &r[3]);
	}
	for (i = 0; i < HOST_EXT; i++) {
		r = host_ext[i];
		cpuid_count(0x80000000 + i, 0, &r[0], &r[1], &r[2], &r[3]);
	}
	for (i = 0; i < HOST_CACHES && boot_cpu_data.cpuid_level >= LEAF_CACHE;
	     i++) {
		r = host_cache[i];
		cpuid_count(LEAF_CACHE, i, &r[0], &r[1], &r[2], &r[3]);
		if (!(r[0] & CACHE_TYPE_MASK))
			break;
	}
}

/* The host's leaf @fn, subleaf @idx: from the cache when it holds it. */
static void cpuid_host(u32 fn, u32 idx, u32 *r)
{
	if (fn == LEAF_CACHE && idx >= HOST_CACHES)
		memset(r, 0, 4 * sizeof(*r));
	else if (fn == LEAF_CACHE)
		memcpy(r, host_cache[idx], 4 * sizeof(*r));
	else if (fn < HOST_BASIC && (fn != 7 || !idx))
		memcpy(r, host_basic[fn], 4 * sizeof(*r));
	else if (fn - 0x80000000 < HOST_EXT)
		memcpy(r, host_ext[fn - 0x80000000], 4 * sizeof(*r));
	else
		cpuid_count(fn, idx, &r[0], &r[1], &r[2], &r[3]);
}

static void cpuid_default(struct vcpu *vcpu, u32 fn, u32 idx, u32 *r)
{
	u32 ids;

	if (fn >= HV_LEAF && fn < 0x80000000) {
		memset(r, 0, 4 * sizeof(*r));
		if (fn == HV_LEAF) {
			r[0] = HV_LEAF_FREQ;
			memcpy(&r[1], "minivmm     ", 12);
		} else if (fn == HV_LEAF_FREQ) {
			r[0] = tsc_khz;
			r[1] = LAPIC_BUS_KHZ;
		}
		return;
	}
	if (fn == LEAF_TSC || fn == LEAF_FREQ) {
		cpuid_tsc_leaves(fn, r);
		return;
	}
	/*
	 * The topology is the VM's whatever the host has; leaf 0x1F only
	 * where the basic leaves reach it (the host's do, ours being 0x16 or
	 * the host's), else it is zero like the other leaves past the last.
	 */
	if (fn == LEAF_TOPO ||
	    (fn == LEAF_TOPO_V2 && fn <= (u32)boot_cpu_data.cpuid_level)) {
		cpuid_topology(vcpu, idx, r);
		return;
	}
	/*
	 * Past the host's basic leaves, up to ours: nothing there. The
	 * kernel read the host's last basic leaf at boot (after lifting any
	 * BIOS limit on it); it does not change while the host runs.
	 */
	if (fn < LEAF_FREQ && fn > (u32)boot_cpu_data.cpuid_level) {
		memset(r, 0, 4 * sizeof(*r));
		return;
	}
	cpuid_host(fn, idx, r);

	switch (fn) {
	case 0:
		r[0] = max_t(u32, r[0], LEAF_FREQ);
		break;
	case 1:
		/*
		 * EBX[31:24] is the initial APIC ID: the vCPU id; EBX[23:16]
		 * the APIC IDs the package has room for, which HTT says is
		 * more than one.
		 */
		ids = BIT(vm_core_bits(vcpu->vm));
		r[1] = (r[1] & 0xffff) | (ids << 16) | (vcpu->id << 24);
		r[2] = (r[2] & LEAF1_ECX) | LEAF1_ECX_EMUL | F(HYPERVISOR);
		if (vcpu->cr4 & X86_CR4_OSXSAVE)
			r[2] |= F(OSXSAVE);
		r[3] &= LEAF1_EDX;
		if (ids > 1)
			r[3] |= F(HT);
		/* Like hardware: the bit follows IA32_APIC_BASE.EN. */
		if (vcpu->lapic.base & MSR_IA32_APICBASE_ENABLE)
			r[3] |= F(APIC);
		break;
	case 7:
		if (idx == 0) {
			r[0] = 0;
			r[1] = (r[1] & LEAF7_EBX) | F(TSC_ADJUST);
		} else {
			r[1] = 0;
		}
		r[2] = 0;
		r[3] = 0;
		break;
	case 0xd:
		/* Only x87 and SSE state: the legacy area and the header. */
		r[0] = idx == 0 ? XFEATURE_MASK_FP | XFEATURE_MASK_SSE : 0;
		r[1] = idx == 0 ? 512 + 64 : 0;
		r[2] = r[1];
		r[3] = 0;
		break;
	case LEAF_CACHE:
		cpuid_cache(vcpu, r);
		break;
	case 6: case 0xa: case LEAF_TOPO_V2:
		memset(r, 0, 4 * sizeof(*r));
		break;
	case 0x80000001:
		r[2] &= EXT1_ECX;
		r[3] &= EXT1_EDX;
		if (vmx_config.cpu_based2 & SECONDARY_EXEC_ENABLE_RDTSCP)
			r[3] |= F(RDTSCP);
		break;
	case 0x80000008:
		/* Address sizes only: EBX holds speculation-control bits. */
		r[1] = 0;
		break;
	}
}

static void cpuid_from_table(struct vcpu *vcpu, u32 fn, u32 idx, u32 *r)
{
	unsigned int i;

	memset(r, 0, 4 * sizeof(*r));
	for (i = 0; i < vcpu->cpuid_nent; i++) {
		const struct minivmm_cpuid_entry *e = &vcpu->cpuid[i];

		if (e->function == fn &&
		    (!(e->flags & MINIVMM_CPUID_INDEXED) || e->index == idx)) {
			r[0] = e->eax;
			r[1] = e->ebx;
			r[2] = e->ecx;
			r[3] = e->edx;
			return;
		}
	}
}

/**
 * cpuid_guest_leaf() - a CPUID leaf as the guest sees it
 * @vcpu: the vCPU
 * @fn: the leaf (EAX)
 * @idx: the subleaf (ECX)
 * @r: EAX, EBX, ECX, EDX
 */
void cpuid_guest_leaf(struct vcpu *vcpu, u32 fn, u32 idx, u32 *r)
{
	if (vcpu->cpuid)
		cpuid_from_table(vcpu, fn, idx, r);
	else
		cpuid_default(vcpu, fn, idx, r);
}

/**
 * cpuid_emulate() - answer the guest's CPUID into its registers
 * @vcpu: the vCPU, at a CPUID exit
 */
void cpuid_emulate(struct vcpu *vcpu)
{
	u32 fn = vcpu->regs[R_RAX], idx = vcpu->regs[R_RCX], r[4];

	cpuid_guest_leaf(vcpu, fn, idx, r);
	vcpu->regs[R_RAX] = r[0];
	vcpu->regs[R_RBX] = r[1];
	vcpu->regs[R_RCX] = r[2];
	vcpu->regs[R_RDX] = r[3];
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The CPUID a guest sees.
 *
 * With a table from MINIVMM_SET_CPUID, the guest sees exactly that table
 * (zeros for a leaf it lacks). Without one it sees the host's CPUID cut
 * down to what minivmm virtualises: no VMX, no AVX or
 * other XSAVE state beyond x87 and SSE, no performance monitoring (leaf
 * 0xA is zero) or topology, no speculation controls (leaf 7 EDX is zero,
 * so IA32_ARCH_CAPABILITIES, SPEC_CTRL, PRED_CMD and FLUSH_CMD do not
 * exist), and the hypervisor bit set with a "minivmm" signature leaf.
 * The local APIC shows (leaf 1 EDX.APIC) while IA32_APIC_BASE enables it,
 * with x2APIC mode and its TSC-deadline timer (leaf 1 ECX); leaf 0x40000010, as VMware
 * defined it, gives the frequencies a guest needs for its timers: EAX
 * the TSC's in kHz, EBX the APIC timer's input clock in kHz.
 *
 * The MSRs a guest may use follow from the same leaves (msr.c looks them
 * up here): MTRRs and PAT, SYSENTER, an empty machine-check architecture
 * (MCE, MCA), IA32_TSC_ADJUST (emulated, so shown whatever the host has)
 * and IA32_TSC_AUX with RDTSCP.
 */
#include <linux/bits.h>
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

static void cpuid_default(struct vcpu *vcpu, u32 fn, u32 idx, u32 *r)
{
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
	cpuid_count(fn, idx, &r[0], &r[1], &r[2], &r[3]);

	switch (fn) {
	case 1:
		/* EBX[31:24] is the initial APIC ID: the vCPU id. */
		r[1] = (r[1] & 0xffff) | (vcpu->id << 24);
		r[2] = (r[2] & LEAF1_ECX) | LEAF1_ECX_EMUL | F(HYPERVISOR);
		if (vcpu->cr4 & X86_CR4_OSXSAVE)
			r[2] |= F(OSXSAVE);
		r[3] &= LEAF1_EDX;
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
	case 4: case 6: case 0xa: case 0xb: case 0x1f:
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

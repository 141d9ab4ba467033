// SPDX-License-Identifier: GPL-2.0
/*
 * The one place that reads the VMX capability MSRs.
 *
 * vmx_check_features() names every VMX capability minivmm needs, computes
 * each VMCS control word as (wanted | must-be-one) & may-be-one, and says
 * exactly which required feature is missing when one is.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <asm/msr.h>
#include <asm/tsc.h>
#include <asm/vmx.h>

#include "minivmm.h"

static bool vpid = true;
module_param(vpid, bool, 0444);
MODULE_PARM_DESC(vpid, "Tag guest TLB entries with a VPID when the CPU can");

static bool preemption_timer = true;
module_param(preemption_timer, bool, 0444);
MODULE_PARM_DESC(preemption_timer,
		 "Bound each guest slice with the VMX preemption timer");

struct vmx_config vmx_config;

enum vmx_ctl { VC_PIN, VC_CPU, VC_CPU2, VC_EXIT, VC_ENTRY, NR_VC };

static const char * const vmx_ctl_names[NR_VC] = {
	"pin-based", "processor-based", "secondary processor-based",
	"VM-exit", "VM-entry",
};

struct vmx_feature {
	enum vmx_ctl ctl;
	u32 bit;
	const char *name;
	bool required;
	u64 cap;		/* MINIVMM_CAP_* it provides, if any */
	bool *enable;		/* module parameter for optional ones */
};

static const struct vmx_feature vmx_features[] = {
	{ VC_PIN, PIN_BASED_EXT_INTR_MASK, "external-interrupt exiting", true },
	{ VC_PIN, PIN_BASED_NMI_EXITING, "NMI exiting", true },
	{ VC_PIN, PIN_BASED_VIRTUAL_NMIS, "virtual NMIs", false,
	  MINIVMM_CAP_VIRTUAL_NMI },
	{ VC_PIN, PIN_BASED_VMX_PREEMPTION_TIMER, "VMX preemption timer",
	  false, MINIVMM_CAP_PREEMPTION_TIMER, &preemption_timer },
	{ VC_CPU, CPU_BASED_HLT_EXITING, "HLT exiting", true },
	/*
	 * Without these the guest would reach the host's TPR (through CR8),
	 * performance counters or MWAIT. CR8 goes to a TPR shadow when the CPU
	 * has one, else it exits (vmx_check_cr8() insists on one of them).
	 */
	{ VC_CPU, CPU_BASED_TPR_SHADOW, "TPR shadow", false },
	{ VC_CPU, CPU_BASED_CR8_LOAD_EXITING, "CR8-load exiting", false },
	{ VC_CPU, CPU_BASED_CR8_STORE_EXITING, "CR8-store exiting", false },
	{ VC_CPU, CPU_BASED_RDPMC_EXITING, "RDPMC exiting", true },
	{ VC_CPU, CPU_BASED_MWAIT_EXITING, "MWAIT exiting", true },
	{ VC_CPU, CPU_BASED_MONITOR_EXITING, "MONITOR exiting", true },
	{ VC_CPU, CPU_BASED_USE_TSC_OFFSETTING, "TSC offsetting", false },
	{ VC_CPU, CPU_BASED_MOV_DR_EXITING, "MOV-DR exiting", true },
	{ VC_CPU, CPU_BASED_USE_IO_BITMAPS, "I/O bitmaps", true,
	  MINIVMM_CAP_IO_BITMAP },
	{ VC_CPU, CPU_BASED_USE_MSR_BITMAPS, "MSR bitmaps", true,
	  MINIVMM_CAP_MSR_BITMAP },
	{ VC_CPU, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS,
	  "secondary controls", true },
	{ VC_CPU2, SECONDARY_EXEC_ENABLE_EPT, "EPT", true, MINIVMM_CAP_EPT },
	{ VC_CPU2, SECONDARY_EXEC_UNRESTRICTED_GUEST, "unrestricted guest",
	  true, MINIVMM_CAP_UNRESTRICTED_GUEST },
	{ VC_CPU2, SECONDARY_EXEC_ENABLE_VPID, "VPID", false,
	  MINIVMM_CAP_VPID, &vpid },
	{ VC_CPU2, SECONDARY_EXEC_WBINVD_EXITING, "WBINVD exiting", false },
	{ VC_CPU2, SECONDARY_EXEC_ENABLE_RDTSCP, "RDTSCP", false },
	{ VC_EXIT, VM_EXIT_HOST_ADDR_SPACE_SIZE, "64-bit host", true },
	{ VC_EXIT, VM_EXIT_SAVE_IA32_EFER, "save guest EFER", true },
	{ VC_EXIT, VM_EXIT_LOAD_IA32_EFER, "load host EFER", true },
	{ VC_EXIT, VM_EXIT_SAVE_IA32_PAT, "save guest PAT", true },
	{ VC_EXIT, VM_EXIT_LOAD_IA32_PAT, "load host PAT", true },
	{ VC_EXIT, VM_EXIT_SAVE_DEBUG_CONTROLS, "save guest DR7", true },
	{ VC_ENTRY, VM_ENTRY_LOAD_IA32_EFER, "load guest EFER", true },
	{ VC_ENTRY, VM_ENTRY_LOAD_IA32_PAT, "load guest PAT", true },
	{ VC_ENTRY, VM_ENTRY_IA32E_MODE, "64-bit guests", true },
	{ VC_ENTRY, VM_ENTRY_LOAD_DEBUG_CONTROLS, "load guest DR7", true },
};

/* IA32E_MODE is allowed here but set per guest, from its EFER.LMA. */
#define VM_ENTRY_DYNAMIC	VM_ENTRY_IA32E_MODE

static int rdmsr_cap(u32 msr, u64 *val)
{
	if (rdmsrl_safe(msr, val)) {
		pr_err("VMX unavailable: capability MSR %#x unreadable\n", msr);
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * With a TPR shadow, MOV CR8 reads and writes the shadow in the vCPU's
 * virtual-APIC page without exiting; without one, it must exit.
 */
static int vmx_check_cr8(struct vmx_config *c, u32 must1)
{
	const u32 cr8_exits = CPU_BASED_CR8_LOAD_EXITING |
			      CPU_BASED_CR8_STORE_EXITING;

	if (c->cpu_based & CPU_BASED_TPR_SHADOW) {
		c->cpu_based &= ~cr8_exits | must1;
		return 0;
	}
	if ((c->cpu_based & cr8_exits) != cr8_exits) {
		pr_err("VMX unavailable: CPU has neither a TPR shadow nor CR8 exiting\n");
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * The APIC assists: which the CPU offers, and which the control words
 * just chosen turn on. Only the TPR shadow is wanted today; the local
 * APIC emulates the rest, so the others are reported but never set.
 */
static void vmx_check_apic_assists(struct vmx_config *c, const u32 *may1)
{
	static const struct {
		enum vmx_ctl ctl;
		u32 bit;
		u32 assist;
	} assists[] = {
		{ VC_CPU, CPU_BASED_TPR_SHADOW, MINIVMM_APIC_TPR_SHADOW },
		{ VC_CPU2, SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES,
		  MINIVMM_APIC_VIRT_ACCESSES },
		{ VC_CPU2, SECONDARY_EXEC_APIC_REGISTER_VIRT,
		  MINIVMM_APIC_REGISTER_VIRT },
		{ VC_CPU2, SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY,
		  MINIVMM_APIC_VIRT_INTR_DELIVERY },
		{ VC_PIN, PIN_BASED_POSTED_INTR, MINIVMM_APIC_POSTED_INTR },
		{ VC_CPU2, SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE,
		  MINIVMM_APIC_VIRT_X2APIC },
	};
	const u32 used[NR_VC] = {
		[VC_PIN] = c->pin_based, [VC_CPU] = c->cpu_based,
		[VC_CPU2] = c->cpu_based2,
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(assists); i++) {
		if (may1[assists[i].ctl] & assists[i].bit)
			c->apic_assists |= assists[i].assist;
		if (used[assists[i].ctl] & assists[i].bit)
			c->apic_assists_used |= assists[i].assist;
	}
}

static int vmx_check_ept(u64 cap)
{
	static const struct { u64 bit; const char *name; } need[] = {
		{ VMX_EPT_PAGE_WALK_4_BIT, "4-level EPT walk" },
		{ VMX_EPTP_WB_BIT, "write-back EPT paging structures" },
		{ VMX_EPT_INVEPT_BIT, "INVEPT" },
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(need); i++) {
		if (!(cap & need[i].bit)) {
			pr_err("VMX unavailable: CPU lacks %s\n", need[i].name);
			return -EOPNOTSUPP;
		}
	}
	if (!(cap & (VMX_EPT_EXTENT_CONTEXT_BIT | VMX_EPT_EXTENT_GLOBAL_BIT))) {
		pr_err("VMX unavailable: INVEPT supports no usable extent\n");
		return -EOPNOTSUPP;
	}
	return 0;
}

/**
 * vmx_check_features() - decide whether, and how, minivmm can use VMX
 *
 * Reads every capability MSR of the boot CPU, fills vmx_config with the
 * control words every VMCS will use, and logs the first missing
 * requirement. All CPUs of a system report the same capabilities.
 *
 * Return: 0, or -EOPNOTSUPP when VMX is absent, disabled by firmware or
 * lacks a required feature.
 */
int vmx_check_features(void)
{
	static const u32 plain_msr[NR_VC] = {
		MSR_IA32_VMX_PINBASED_CTLS, MSR_IA32_VMX_PROCBASED_CTLS,
		MSR_IA32_VMX_PROCBASED_CTLS2, MSR_IA32_VMX_EXIT_CTLS,
		MSR_IA32_VMX_ENTRY_CTLS,
	};
	static const u32 true_msr[NR_VC] = {
		MSR_IA32_VMX_TRUE_PINBASED_CTLS,
		MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
		MSR_IA32_VMX_PROCBASED_CTLS2, MSR_IA32_VMX_TRUE_EXIT_CTLS,
		MSR_IA32_VMX_TRUE_ENTRY_CTLS,
	};
	struct vmx_config *c = &vmx_config;
	u32 want[NR_VC] = {}, must1[NR_VC], may1[NR_VC], ctl[NR_VC];
	u64 basic, feat, misc, val;
	const u32 *msrs;
	int i, ret;

	memset(c, 0, sizeof(*c));

	if (!cpu_has_vmx()) {
		pr_info("VMX unavailable: the CPU does not have VMX\n");
		return -EOPNOTSUPP;
	}
	if (rdmsrl_safe(MSR_IA32_FEAT_CTL, &feat) ||
	    !(feat & FEAT_CTL_LOCKED) ||
	    !(feat & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		pr_err("VMX unavailable: disabled by firmware (IA32_FEATURE_CONTROL=%#llx)\n",
		       feat);
		return -EOPNOTSUPP;
	}

	ret = rdmsr_cap(MSR_IA32_VMX_BASIC, &basic);
	if (ret)
		return ret;
	c->revision_id = vmx_basic_vmcs_revision_id(basic);
	c->vmcs_size = vmx_basic_vmcs_size(basic);
	if (c->vmcs_size > PAGE_SIZE ||
	    (basic & VMX_BASIC_32BIT_PHYS_ADDR_ONLY) ||
	    vmx_basic_vmcs_mem_type(basic) != X86_MEMTYPE_WB) {
		pr_err("VMX unavailable: unusable VMCS layout (IA32_VMX_BASIC=%#llx)\n",
		       basic);
		return -EOPNOTSUPP;
	}
	if (basic & VMX_BASIC_TRUE_CTLS)
		c->features |= MINIVMM_CAP_TRUE_CTLS;
	msrs = (basic & VMX_BASIC_TRUE_CTLS) ? true_msr : plain_msr;

	for (i = 0; i < NR_VC; i++) {
		ret = rdmsr_cap(msrs[i], &val);
		if (ret)
			return ret;
		must1[i] = (u32)val;
		may1[i] = val >> 32;
	}

	for (i = 0; i < ARRAY_SIZE(vmx_features); i++) {
		const struct vmx_feature *f = &vmx_features[i];

		if (may1[f->ctl] & f->bit) {
			if (!f->enable || *f->enable) {
				want[f->ctl] |= f->bit;
				c->features |= f->cap;
			}
		} else if (f->required) {
			pr_err("VMX unavailable: CPU lacks %s (%s control %#x)\n",
			       f->name, vmx_ctl_names[f->ctl], f->bit);
			return -EOPNOTSUPP;
		}
	}
	for (i = 0; i < NR_VC; i++)
		ctl[i] = (want[i] | must1[i]) & may1[i];

	c->pin_based = ctl[VC_PIN];
	c->cpu_based = ctl[VC_CPU];
	c->cpu_based2 = ctl[VC_CPU2];
	c->vmexit = ctl[VC_EXIT];
	c->vmentry = ctl[VC_ENTRY] & ~VM_ENTRY_DYNAMIC;
	ret = vmx_check_cr8(c, must1[VC_CPU]);
	if (ret)
		return ret;
	vmx_check_apic_assists(c, may1);
	/*
	 * Virtual NMIs are only of use with NMI-window exiting, which the
	 * vCPU turns on while an NMI waits; without both, NMIs are not
	 * offered (MINIVMM_NMI fails) and the plain NMI-exiting model stays.
	 */
	if ((c->pin_based & PIN_BASED_VIRTUAL_NMIS) &&
	    !(may1[VC_CPU] & CPU_BASED_NMI_WINDOW_EXITING)) {
		pr_info("virtual NMIs unused: no NMI-window exiting\n");
		c->pin_based &= ~PIN_BASED_VIRTUAL_NMIS | must1[VC_PIN];
		c->features &= ~MINIVMM_CAP_VIRTUAL_NMI;
	}

	ret = rdmsr_cap(MSR_IA32_VMX_EPT_VPID_CAP, &c->ept_vpid_cap);
	if (ret)
		return ret;
	ret = vmx_check_ept(c->ept_vpid_cap);
	if (ret)
		return ret;
	if (c->ept_vpid_cap & VMX_EPT_2MB_PAGE_BIT)
		c->features |= MINIVMM_CAP_EPT_2M;
	if (c->ept_vpid_cap & VMX_EPT_1GB_PAGE_BIT)
		c->features |= MINIVMM_CAP_EPT_1G;
	if (c->ept_vpid_cap & VMX_EPT_AD_BIT)
		c->features |= MINIVMM_CAP_EPT_AD;
	if (c->ept_vpid_cap & VMX_EPT_EXTENT_CONTEXT_BIT)
		c->features |= MINIVMM_CAP_INVEPT_CONTEXT;

	/* Without a usable INVVPID, VPID would leave stale guest TLBs. */
	if (c->features & MINIVMM_CAP_VPID) {
		u64 vcap = c->ept_vpid_cap >> 32;

		if (!(vcap & VMX_VPID_INVVPID_BIT) ||
		    !(vcap & (VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT |
			      VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT))) {
			pr_info("VPID unused: INVVPID lacks a usable extent\n");
			c->features &= ~MINIVMM_CAP_VPID;
			c->cpu_based2 &= ~SECONDARY_EXEC_ENABLE_VPID;
		} else if (vcap & VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT) {
			c->features |= MINIVMM_CAP_INVVPID_CONTEXT;
		}
	}

	ret = rdmsr_cap(MSR_IA32_VMX_MISC, &misc);
	if (ret)
		return ret;
	c->preemption_timer_shift = vmx_misc_preemption_timer_rate(misc);

	if (rdmsr_cap(MSR_IA32_VMX_CR0_FIXED0, &c->cr0_fixed0) ||
	    rdmsr_cap(MSR_IA32_VMX_CR0_FIXED1, &c->cr0_fixed1) ||
	    rdmsr_cap(MSR_IA32_VMX_CR4_FIXED0, &c->cr4_fixed0) ||
	    rdmsr_cap(MSR_IA32_VMX_CR4_FIXED1, &c->cr4_fixed1))
		return -EOPNOTSUPP;

	pr_info("VMX usable: VMCS revision %#x, features %#llx, APIC assists %#x (using %#x)\n",
		c->revision_id, c->features, c->apic_assists,
		c->apic_assists_used);
	return 0;
}

/**
 * vmx_fill_caps() - describe the capabilities for MINIVMM_GET_CAPS
 * @caps: filled in; the CPU fields are the caller's
 */
void vmx_fill_caps(struct minivmm_caps *caps)
{
	caps->vmcs_revision = vmx_config.revision_id;
	caps->vmcs_size = vmx_config.vmcs_size;
	caps->features = vmx_config.features;
	/* A VM has an I/O APIC whenever a VM can exist at all. */
	if (vmx_config.features & MINIVMM_CAP_EPT)
		caps->features |= MINIVMM_CAP_IOAPIC | MINIVMM_CAP_IOEVENTFD |
				  MINIVMM_CAP_POSTED_IO |
				  MINIVMM_CAP_DIRTY_LOG | MINIVMM_CAP_LINT;
	caps->features |= MINIVMM_CAP_IMMEDIATE_EXIT;
	caps->preemption_timer_shift = vmx_config.preemption_timer_shift;
	caps->tsc_khz = tsc_khz;
	caps->max_vcpus = MINIVMM_MAX_VCPUS;
	caps->max_mem_slots = MINIVMM_MAX_MEM_SLOTS;
	caps->apic_assists = vmx_config.apic_assists;
	caps->apic_assists_used = vmx_config.apic_assists_used;
}

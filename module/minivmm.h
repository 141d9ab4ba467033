/* SPDX-License-Identifier: GPL-2.0 */
/*
 * minivmm internal interfaces, shared by the files of the module.
 *
 * main.c	/dev/minivmm, module parameters, init and exit
 * vmx_caps.c	the one place that reads VMX capabilities and picks controls
 * vmx_cpu.c	VMXON/VMXOFF on every CPU, CPU hotplug, reboot
 * vm.c		the VM file descriptor
 */
#ifndef MINIVMM_H
#define MINIVMM_H

#include <linux/types.h>
#include <linux/cpumask.h>
#include <linux/list.h>
#include <uapi/linux/minivmm.h>

#define MINIVMM_MAX_VCPUS	16
#define MINIVMM_MAX_MEM_SLOTS	32

/**
 * struct vmx_config - what vmx_check_features() found and decided
 *
 * Every VMCS control value is computed once, here, from the capability
 * MSRs; a vCPU's VMCS copies them.
 */
struct vmx_config {
	u32 revision_id;
	u32 vmcs_size;
	u64 features;		/* MINIVMM_CAP_* */
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

/* vmx_caps.c */
int vmx_check_features(void);
void vmx_fill_caps(struct minivmm_caps *caps);

/* vmx_cpu.c */
int vmx_engine_init(void);
void vmx_engine_exit(void);
int vmx_get(void);
void vmx_put(void);
void vmx_cpus_on(struct cpumask *mask);
bool loaded_vmcs_load(struct loaded_vmcs *v);
void loaded_vmcs_clear(struct loaded_vmcs *v);

/* vm.c */
int vm_create(unsigned long flags);
unsigned int vm_count(void);

#endif /* MINIVMM_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * The per-CPU VMX engine.
 *
 * VMX operation is entered on every online CPU when the first VM is
 * created and left on all of them when the last VM goes away. CPUs that
 * come and go meanwhile follow through a CPU hotplug state, a reboot
 * notifier leaves VMX operation before the machine restarts, and syscore
 * suspend/resume hooks leave it before the machine sleeps and enter it
 * again when it wakes up. The same hotplug state and hooks keep the
 * guests' TSC one across the CPUs (tsc.c).
 *
 * Locking: cpus_read_lock() (or the hotplug lock a hotplug callback runs
 * under) is always taken before vmx_lock, so enabling and hotplug never
 * invert each other.
 *
 * A VMCS is active on at most one CPU. Each CPU keeps the list of VMCSs
 * active on it, touched only from that CPU with interrupts off, so that a
 * CPU leaving VMX operation can VMCLEAR them first (VMXOFF does not write
 * back cached VMCS data).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/reboot.h>
#include <linux/smp.h>
#include <linux/syscore_ops.h>
#include <asm/msr.h>
#include <asm/tlbflush.h>

#include "minivmm.h"
#include "vmx_ops.h"

struct vmx_cpu {
	void *vmxon_region;
	bool on;
	int error;			/* why VMXON failed, for the log */
	struct list_head loaded;	/* struct loaded_vmcs active here */
	struct loaded_vmcs *current_vmcs;
};

static DEFINE_PER_CPU(struct vmx_cpu, vmx_cpu);
static DEFINE_MUTEX(vmx_lock);
static unsigned int vmx_users;		/* VMs holding VMX on; vmx_lock */
static enum cpuhp_state vmx_hp_state;
bool vmx_rebooting;

void vmx_insn_failed(const char *insn, unsigned long field,
		     unsigned long value, unsigned long caller)
{
	/* The VM-instruction error field is only valid with a current VMCS. */
	unsigned long err = 0;

	asm volatile("vmread %1, %0" : "+r" (err) :
		     "r" ((unsigned long)VM_INSTRUCTION_ERROR) : "cc");
	pr_err_ratelimited("%s %#lx (value %#lx) failed: VM-instruction error %lu, at %pS\n",
			   insn, field, value, err, (void *)caller);
}

void vmx_insn_faulted(const char *insn, unsigned long field,
		      unsigned long caller)
{
	/* Only a reboot turns VMX off under a running VM. */
	if (!READ_ONCE(vmx_rebooting))
		pr_err_ratelimited("%s %#lx faulted outside VMX operation, at %pS\n",
				   insn, field, (void *)caller);
}

/* VMXON that fails or faults returns -EIO; the caller says why. */
static int cpu_vmxon(u64 pa)
{
	u8 res = VMX_FAULT;

	asm volatile("1: vmxon %[pa]\n\t"
		     "setna %[res]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [res] "+qm" (res) : [pa] "m" (pa) : "cc", "memory");
	return res == VMX_OK ? 0 : -EIO;
}

/* Enter VMX operation on this CPU; interrupts are off. */
static int vmx_cpu_on(void)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	u64 feat;

	if (vc->on)
		return 0;
	/* Someone else (kvm_intel) owns VMX on this CPU. */
	if (cr4_read_shadow() & X86_CR4_VMXE)
		return -EBUSY;
	if (rdmsrl_safe(MSR_IA32_FEAT_CTL, &feat) ||
	    (feat & (FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) !=
	    (FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX))
		return -EOPNOTSUPP;

	*(u32 *)vc->vmxon_region = vmx_config.revision_id;
	cr4_set_bits(X86_CR4_VMXE);
	if (cpu_vmxon(__pa(vc->vmxon_region))) {
		cr4_clear_bits(X86_CR4_VMXE);
		return -EIO;
	}
	vc->on = true;
	vc->current_vmcs = NULL;

	/* VMXOFF does not flush: drop translations left from before. */
	if (vmx_config.ept_vpid_cap & VMX_EPT_EXTENT_GLOBAL_BIT)
		__invept(VMX_EPT_EXTENT_GLOBAL, 0);
	if ((vmx_config.features & MINIVMM_CAP_VPID) &&
	    (vmx_config.ept_vpid_cap >> 32) & VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT)
		__invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, 0);
	return 0;
}

/**
 * vmx_this_cpu_on() - is this CPU in VMX operation?
 *
 * Return: true when it is. Call with preemption off.
 */
bool vmx_this_cpu_on(void)
{
	return this_cpu_ptr(&vmx_cpu)->on;
}

static void __loaded_vmcs_clear(struct loaded_vmcs *v)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);

	vmcs_clear_pa(v->pa);
	if (vc->current_vmcs == v)
		vc->current_vmcs = NULL;
	list_del(&v->node);
	v->launched = false;
	/* The list update must be visible before a new owner sees cpu = -1. */
	smp_wmb();
	WRITE_ONCE(v->cpu, -1);
}

/* Leave VMX operation on this CPU; interrupts are off. */
static void vmx_cpu_off(void)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	struct loaded_vmcs *v, *tmp;

	if (!vc->on)
		return;
	list_for_each_entry_safe(v, tmp, &vc->loaded, node)
		__loaded_vmcs_clear(v);
	cpu_vmxoff();
	vc->on = false;
}

static void vmx_cpu_on_ipi(void *unused)
{
	this_cpu_ptr(&vmx_cpu)->error = vmx_cpu_on();
}

static void vmx_cpu_off_ipi(void *unused)
{
	vmx_cpu_off();
}

/* Rate-limited: every MINIVMM_CREATE_VM of any user may end up here. */
static void vmx_report_failure(int cpu, int err)
{
	switch (err) {
	case -EBUSY:
		pr_warn_ratelimited("CPU %d: VMX is already in use by another hypervisor (CR4.VMXE is set; a KVM VM exists?)\n",
				    cpu);
		break;
	case -EOPNOTSUPP:
		pr_warn_ratelimited("CPU %d: VMX disabled by firmware\n", cpu);
		break;
	default:
		pr_warn_ratelimited("CPU %d: VMXON failed\n", cpu);
	}
}

/**
 * vmx_get() - hold VMX operation on every online CPU
 *
 * The first holder turns VMX on everywhere; if any CPU refuses, none is
 * left in VMX operation.
 *
 * Return: 0, -EOPNOTSUPP without usable VMX, -EBUSY when another
 * hypervisor holds VMX, -EIO when VMXON failed.
 */
int vmx_get(void)
{
	int cpu, ret = 0;

	if (!(vmx_config.features & MINIVMM_CAP_EPT))
		return -EOPNOTSUPP;

	cpus_read_lock();
	mutex_lock(&vmx_lock);
	if (vmx_rebooting) {
		ret = -EBUSY;
		goto out;
	}
	if (vmx_users++)
		goto out;

	on_each_cpu(vmx_cpu_on_ipi, NULL, 1);
	for_each_online_cpu(cpu) {
		ret = per_cpu(vmx_cpu, cpu).error;
		if (ret) {
			vmx_report_failure(cpu, ret);
			break;
		}
	}
	if (ret) {
		on_each_cpu(vmx_cpu_off_ipi, NULL, 1);
		vmx_users = 0;
	}
out:
	mutex_unlock(&vmx_lock);
	cpus_read_unlock();
	return ret;
}

/**
 * vmx_put() - drop a hold taken by vmx_get(); the last one turns VMX off
 */
void vmx_put(void)
{
	cpus_read_lock();
	mutex_lock(&vmx_lock);
	if (!--vmx_users)
		on_each_cpu(vmx_cpu_off_ipi, NULL, 1);
	mutex_unlock(&vmx_lock);
	cpus_read_unlock();
}

/**
 * vmx_cpus_on() - the CPUs in VMX operation now
 * @mask: filled in
 */
void vmx_cpus_on(struct cpumask *mask)
{
	int cpu;

	cpumask_clear(mask);
	cpus_read_lock();
	mutex_lock(&vmx_lock);
	for_each_online_cpu(cpu)
		if (per_cpu(vmx_cpu, cpu).on)
			cpumask_set_cpu(cpu, mask);
	mutex_unlock(&vmx_lock);
	cpus_read_unlock();
}

/**
 * loaded_vmcs_load() - make @v the current VMCS of this CPU
 * @v: the VMCS
 *
 * Called with preemption off and interrupts on. If @v was last active on
 * another CPU it is VMCLEARed there first, and must be launched afresh.
 *
 * Return: true when @v moved to this CPU, so the per-CPU host state
 * fields must be rewritten; false otherwise.
 */
bool loaded_vmcs_load(struct loaded_vmcs *v)
{
	int cpu = smp_processor_id(), old = READ_ONCE(v->cpu);
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	unsigned long flags;
	bool moved = old != cpu;

	/*
	 * Current here already, the case of nearly every call: nothing to
	 * change. Only this thread makes @v current on a CPU or moves it;
	 * the VMCLEAR of a CPU leaving VMX operation (the one other writer)
	 * may come at any moment after this test as after the one below.
	 */
	if (likely(!moved && vc->current_vmcs == v))
		return false;
	if (moved && old >= 0)
		loaded_vmcs_clear(v);

	local_irq_save(flags);
	if (moved) {
		/* Pairs with the smp_wmb() in __loaded_vmcs_clear(). */
		smp_rmb();
		list_add(&v->node, &vc->loaded);
		WRITE_ONCE(v->cpu, cpu);
		v->launched = false;
	}
	if (vc->current_vmcs != v) {
		vmcs_ptrld_pa(v->pa);
		vc->current_vmcs = v;
	}
	local_irq_restore(flags);
	return moved;
}

static void loaded_vmcs_clear_ipi(void *arg)
{
	struct loaded_vmcs *v = arg;

	/* The CPU may have cleared it on its own way out, meanwhile. */
	if (v->cpu == smp_processor_id())
		__loaded_vmcs_clear(v);
}

/**
 * loaded_vmcs_clear() - VMCLEAR @v on the CPU where it is active, if any
 * @v: the VMCS
 *
 * Interrupts must be on (it may send an IPI and wait for it).
 */
void loaded_vmcs_clear(struct loaded_vmcs *v)
{
	int cpu = READ_ONCE(v->cpu);

	/* An offlined CPU already cleared it; -ENXIO is then expected. */
	if (cpu >= 0)
		smp_call_function_single(cpu, loaded_vmcs_clear_ipi, v, 1);
}

static int vmx_cpu_online(unsigned int cpu)
{
	int ret = 0;

	tsc_cpu_online(cpu);
	mutex_lock(&vmx_lock);
	if (vmx_users && !vmx_rebooting) {
		local_irq_disable();
		ret = vmx_cpu_on();
		local_irq_enable();
		if (ret)
			vmx_report_failure(cpu, ret);
	}
	mutex_unlock(&vmx_lock);
	return ret;
}

static int vmx_cpu_offline(unsigned int cpu)
{
	tsc_cpu_offline(cpu);
	mutex_lock(&vmx_lock);
	local_irq_disable();
	vmx_cpu_off();
	local_irq_enable();
	mutex_unlock(&vmx_lock);
	return 0;
}

static int vmx_reboot(struct notifier_block *nb, unsigned long code,
		      void *unused)
{
	/*
	 * No lock: this may run with the system half shut down. New VMXON is
	 * refused from now on and vCPUs stop entering the guest.
	 */
	WRITE_ONCE(vmx_rebooting, true);
	if (READ_ONCE(vmx_users))
		pr_info("reboot: leaving VMX operation under %u VM(s)\n",
			vm_count());
	on_each_cpu(vmx_cpu_off_ipi, NULL, 1);
	return NOTIFY_OK;
}

static struct notifier_block vmx_reboot_nb = {
	.notifier_call = vmx_reboot,
};

/*
 * Suspend to RAM and hibernation: the other CPUs have gone offline (the
 * hotplug state took them out of VMX operation) and this is the last
 * one, interrupts off, nothing else running. Firmware resumes CPUs
 * outside VMX operation, so leave it here (VMCLEARing every VMCS active
 * on this CPU, as VMXOFF would lose their cached state) and enter it again
 * on resume; the CPUs coming back online follow the hotplug state. vCPUs
 * load their VMCS afresh before the next entry, as after a migration.
 */
static int vmx_suspend(SYSCORE_ARGS)
{
	tsc_suspend();
	if (vmx_users)
		pr_info("suspend: leaving VMX operation under %u VM(s)\n",
			vm_count());
	vmx_cpu_off();
	return 0;
}

static void vmx_resume(SYSCORE_ARGS)
{
	int ret;

	tsc_resume();
	if (!vmx_users || vmx_rebooting)
		return;
	ret = vmx_cpu_on();
	if (ret)
		vmx_report_failure(smp_processor_id(), ret);
	else
		pr_info("resume: back in VMX operation\n");
}

static struct compat_syscore vmx_syscore = {
	.ops = {
		.suspend	= vmx_suspend,
		.resume		= vmx_resume,
	},
};

/**
 * vmx_engine_init() - allocate VMXON regions, register hotplug and reboot
 *
 * Return: 0 or a negative errno.
 */
int vmx_engine_init(void)
{
	int cpu, ret;

	for_each_possible_cpu(cpu) {
		struct vmx_cpu *vc = per_cpu_ptr(&vmx_cpu, cpu);
		struct page *page;

		INIT_LIST_HEAD(&vc->loaded);
		page = alloc_pages_node(cpu_to_node(cpu),
					GFP_KERNEL | __GFP_ZERO, 0);
		if (!page) {
			ret = -ENOMEM;
			goto free;
		}
		vc->vmxon_region = page_address(page);
	}

	tsc_sync_init();
	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "minivmm:online",
				vmx_cpu_online, vmx_cpu_offline);
	if (ret < 0)
		goto free;
	vmx_hp_state = ret;
	register_reboot_notifier(&vmx_reboot_nb);
	compat_register_syscore(&vmx_syscore);
	return 0;

free:
	for_each_possible_cpu(cpu) {
		struct vmx_cpu *vc = per_cpu_ptr(&vmx_cpu, cpu);

		if (vc->vmxon_region)
			free_page((unsigned long)vc->vmxon_region);
		vc->vmxon_region = NULL;
	}
	return ret;
}

/**
 * vmx_engine_exit() - undo vmx_engine_init(); no VM may exist
 */
void vmx_engine_exit(void)
{
	int cpu;

	compat_unregister_syscore(&vmx_syscore);
	unregister_reboot_notifier(&vmx_reboot_nb);
	cpuhp_remove_state(vmx_hp_state);
	for_each_possible_cpu(cpu) {
		struct vmx_cpu *vc = per_cpu_ptr(&vmx_cpu, cpu);

		free_page((unsigned long)vc->vmxon_region);
		vc->vmxon_region = NULL;
	}
}

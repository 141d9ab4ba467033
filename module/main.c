// SPDX-License-Identifier: GPL-2.0
/*
 * minivmm: a thin Intel VT-x hypervisor.
 *
 * This file owns /dev/minivmm: the ioctls that ask what the module found
 * and create VMs. VMX itself lives in vmx_*.c, the VM in vm.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "minivmm.h"

/**
 * minivmm_fill_caps() - what MINIVMM_GET_CAPS and the netlink family say
 * @caps: filled in
 *
 * Return: 0 or -ENOMEM.
 */
int minivmm_fill_caps(struct minivmm_caps *caps)
{
	cpumask_var_t on;
	int cpu;

	memset(caps, 0, sizeof(*caps));
	if (!zalloc_cpumask_var(&on, GFP_KERNEL))
		return -ENOMEM;
	vmx_fill_caps(caps);
	if (vcpu_handoff_enabled())
		caps->features |= MINIVMM_CAP_RUN_HANDOFF;
	vmx_cpus_on(on);
	for_each_cpu(cpu, on) {
		caps->nr_cpus_vmx++;
		if (cpu < MINIVMM_MAX_CPUS)
			caps->vmx_cpus[cpu / 64] |= BIT_ULL(cpu % 64);
	}
	free_cpumask_var(on);
	caps->nr_cpus_online = num_online_cpus();
	caps->nr_vms = vm_count();
	limits_fill_caps(caps);
	return 0;
}

static long minivmm_get_caps(struct minivmm_caps __user *ucaps)
{
	struct minivmm_caps caps;
	int ret = minivmm_fill_caps(&caps);

	if (ret)
		return ret;
	return copy_to_user(ucaps, &caps, sizeof(caps)) ? -EFAULT : 0;
}

/**
 * minivmm_dev_ioctl() - ioctls of /dev/minivmm
 * @filp: the open device
 * @cmd: MINIVMM_GET_API_VERSION, MINIVMM_GET_CAPS or MINIVMM_CREATE_VM
 * @arg: the command's argument
 *
 * Return: the API version, 0, a new VM fd, or a negative errno: -ENOTTY
 * for an unknown command, -EFAULT for a bad pointer, -EINVAL for unknown
 * flags, -EOPNOTSUPP without usable VMX, -EBUSY when another hypervisor
 * holds VMX.
 */
static long minivmm_dev_ioctl(struct file *filp, unsigned int cmd,
			      unsigned long arg)
{
	switch (cmd) {
	case MINIVMM_GET_API_VERSION:
		return arg ? -EINVAL : MINIVMM_API_VERSION;
	case MINIVMM_GET_CAPS:
		return minivmm_get_caps((void __user *)arg);
	case MINIVMM_CREATE_VM:
		return vm_create(arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations minivmm_dev_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= minivmm_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice minivmm_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "minivmm",
	.fops	= &minivmm_dev_fops,
	.mode	= 0666,
};

static int __init minivmm_init(void)
{
	int ret;

	/* Without VMX the device still answers; VM creation says why not. */
	if (!vmx_check_features()) {
		vcpu_read_host_state();
		cpuid_read_host();
	}

	ret = vmx_alloc_bitmaps();
	if (ret)
		return ret;
	ret = vmx_engine_init();
	if (ret)
		goto free_bitmaps;
	ret = minivmm_netlink_init();
	if (ret)
		goto engine_exit;
	ret = misc_register(&minivmm_dev);
	if (ret)
		goto netlink_exit;
	return 0;

netlink_exit:
	minivmm_netlink_exit();
engine_exit:
	vmx_engine_exit();
free_bitmaps:
	vmx_free_bitmaps();
	return ret;
}

static void __exit minivmm_exit(void)
{
	misc_deregister(&minivmm_dev);
	minivmm_netlink_exit();
	vmx_engine_exit();
	vmx_free_bitmaps();
	/* vCPUs are freed by an RCU callback in this module. */
	rcu_barrier();
}

module_init(minivmm_init);
module_exit(minivmm_exit);

MODULE_DESCRIPTION("minivmm: a thin Intel VT-x hypervisor");
MODULE_LICENSE("GPL");

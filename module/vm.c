// SPDX-License-Identifier: GPL-2.0
/*
 * The VM file descriptor.
 *
 * A VM holds VMX operation on every CPU (vmx_get()) from its creation
 * until its last reference goes away.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "minivmm.h"

struct vm {
	unsigned int id;
};

static atomic_t vm_nr = ATOMIC_INIT(0);
static atomic_t vm_next_id = ATOMIC_INIT(0);

/**
 * vm_count() - how many VMs exist now
 *
 * Return: the number of VMs.
 */
unsigned int vm_count(void)
{
	return atomic_read(&vm_nr);
}

static void vm_destroy(struct vm *vm)
{
	kfree(vm);
	atomic_dec(&vm_nr);
	vmx_put();
}

static int vm_release(struct inode *inode, struct file *filp)
{
	vm_destroy(filp->private_data);
	return 0;
}

/**
 * vm_ioctl() - ioctls of a VM fd
 * @filp: the VM fd
 * @cmd: the command
 * @arg: its argument
 *
 * Return: -ENOTTY for an unknown command.
 */
static long vm_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	return -ENOTTY;
}

static const struct file_operations vm_fops = {
	.owner		= THIS_MODULE,
	.release	= vm_release,
	.unlocked_ioctl	= vm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

/**
 * vm_create() - MINIVMM_CREATE_VM
 * @flags: must be 0
 *
 * Return: a new VM fd, or -EINVAL, -ENOMEM, or vmx_get()'s error.
 */
int vm_create(unsigned long flags)
{
	struct vm *vm;
	int ret, fd;

	if (flags)
		return -EINVAL;
	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	ret = vmx_get();
	if (ret) {
		kfree(vm);
		return ret;
	}
	vm->id = atomic_inc_return(&vm_next_id);
	atomic_inc(&vm_nr);

	fd = anon_inode_getfd("minivmm-vm", &vm_fops, vm, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		vm_destroy(vm);
	return fd;
}

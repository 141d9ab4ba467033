// SPDX-License-Identifier: GPL-2.0
/*
 * What one user may take from the host: VMs, vCPU threads and pinned
 * guest memory, and the live counts of all three.
 *
 * Everything is charged to the real uid of the process that created the
 * VM, as fork() charges RLIMIT_NPROC and io_uring and VFIO charge
 * RLIMIT_MEMLOCK:
 *
 * - VMs per user: at most max_vms_per_user (-EAGAIN);
 * - vCPUs per user: at most max_vcpus_per_user, and, since each vCPU is a
 *   kernel thread that RLIMIT_NPROC would otherwise never see, the user's
 *   processes plus its vCPU threads stay within the creator's
 *   RLIMIT_NPROC unless it could exceed that limit with fork() too
 *   (-EAGAIN);
 * - pinned guest memory: added to the user's locked_vm, which also counts
 *   io_uring's and RDMA's pinned pages, against the creator's
 *   RLIMIT_MEMLOCK unless it has CAP_IPC_LOCK (-ENOMEM), and to the
 *   creating mm's pinned_vm ("VmPin" in /proc/PID/status).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/user_namespace.h>

#include "minivmm.h"

static unsigned int max_vms_per_user = 64;
module_param(max_vms_per_user, uint, 0644);
MODULE_PARM_DESC(max_vms_per_user,
		 "VMs one user may have at a time, 0 for no limit (default 64)");

static unsigned int max_vcpus_per_user = 256;
module_param(max_vcpus_per_user, uint, 0644);
MODULE_PARM_DESC(max_vcpus_per_user,
		 "vCPUs (kernel threads) one user may have at a time, 0 for no limit (default 256)");

/**
 * struct vmm_user - what one user holds now
 * @uid:	the real uid charged
 * @user:	its user_struct, whose locked_vm pinned memory is charged to
 * @nr_vms:	its VMs; the record lives while there is one
 * @nr_vcpus:	vCPUs of those VMs
 * @node:	on vmm_users
 */
struct vmm_user {
	kuid_t uid;
	struct user_struct *user;
	unsigned int nr_vms;
	unsigned int nr_vcpus;
	struct list_head node;
};

static LIST_HEAD(vmm_users);
static DEFINE_MUTEX(vmm_users_lock);	/* vmm_users and their counts */
static atomic_t vcpus_live = ATOMIC_INIT(0);
static atomic_long_t pages_pinned = ATOMIC_LONG_INIT(0);

static struct vmm_user *vmm_user_find(kuid_t uid)
{
	struct vmm_user *u;

	list_for_each_entry(u, &vmm_users, node)
		if (uid_eq(u->uid, uid))
			return u;
	return NULL;
}

/**
 * limits_vm_charge() - charge a new VM to the calling user
 * @vm: the VM being created by the current process
 *
 * Return: 0; -EAGAIN when the user has max_vms_per_user VMs already;
 * -ENOMEM.
 */
int limits_vm_charge(struct vm *vm)
{
	unsigned int max = READ_ONCE(max_vms_per_user);
	kuid_t uid = current_uid();
	struct vmm_user *u;
	int ret = 0;

	mutex_lock(&vmm_users_lock);
	u = vmm_user_find(uid);
	if (!u) {
		u = kzalloc(sizeof(*u), GFP_KERNEL_ACCOUNT);
		if (!u) {
			ret = -ENOMEM;
			goto unlock;
		}
		u->uid = uid;
		u->user = get_current_user();
		list_add(&u->node, &vmm_users);
	}
	if (max && u->nr_vms >= max) {
		ret = -EAGAIN;
		goto unlock;
	}
	u->nr_vms++;
	vm->user = u;
unlock:
	mutex_unlock(&vmm_users_lock);
	return ret;
}

/**
 * limits_vm_uncharge() - give back what limits_vm_charge() took
 * @vm: the VM, destroyed; its vCPUs and pinned pages are gone already
 */
void limits_vm_uncharge(struct vm *vm)
{
	struct vmm_user *u = vm->user;

	mutex_lock(&vmm_users_lock);
	if (!--u->nr_vms) {
		list_del(&u->node);
		free_uid(u->user);
		kfree(u);
	}
	mutex_unlock(&vmm_users_lock);
	vm->user = NULL;
}

/* Could the current process fork() past its RLIMIT_NPROC? */
static bool nproc_exempt(void)
{
	return uid_eq(current_uid(), GLOBAL_ROOT_UID) ||
	       capable(CAP_SYS_RESOURCE) ||
	       capable(CAP_SYS_ADMIN);
}

/**
 * limits_vcpu_charge() - charge a new vCPU thread to the VM's user
 * @vm: the VM, its creator calling
 *
 * Return: 0, or -EAGAIN when the user has max_vcpus_per_user vCPUs, or
 * when one more thread would take its processes and vCPU threads past
 * the caller's RLIMIT_NPROC.
 */
int limits_vcpu_charge(struct vm *vm)
{
	unsigned int max = READ_ONCE(max_vcpus_per_user);
	unsigned long nproc = rlimit(RLIMIT_NPROC);
	struct vmm_user *u = vm->user;
	long procs;
	int ret = 0;

	mutex_lock(&vmm_users_lock);
	if (max && u->nr_vcpus >= max) {
		ret = -EAGAIN;
		goto unlock;
	}
	if (nproc != RLIM_INFINITY) {
		procs = get_rlimit_value(current_cred()->ucounts,
					 UCOUNT_RLIMIT_NPROC);
		if (procs + u->nr_vcpus + 1 > nproc && !nproc_exempt()) {
			ret = -EAGAIN;
			goto unlock;
		}
	}
	u->nr_vcpus++;
	atomic_inc(&vcpus_live);
unlock:
	mutex_unlock(&vmm_users_lock);
	return ret;
}

/**
 * limits_vcpu_uncharge() - give back what limits_vcpu_charge() took
 * @vm: the VM whose vCPU thread is gone
 */
void limits_vcpu_uncharge(struct vm *vm)
{
	mutex_lock(&vmm_users_lock);
	vm->user->nr_vcpus--;
	atomic_dec(&vcpus_live);
	mutex_unlock(&vmm_users_lock);
}

/**
 * limits_pin_charge() - charge @npages of guest memory about to be pinned
 * @vm: the VM, its creator calling
 * @npages: pages
 *
 * Return: 0, or -ENOMEM when the user's pinned and locked pages would go
 * past the caller's RLIMIT_MEMLOCK and it lacks CAP_IPC_LOCK.
 */
int limits_pin_charge(struct vm *vm, unsigned long npages)
{
	atomic_long_t *locked = &vm->user->user->locked_vm;
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	unsigned long cur;

	/* The limit first: capable() is audited, ask it only when over. */
	cur = atomic_long_add_return(npages, locked);
	if (cur > limit && !capable(CAP_IPC_LOCK)) {
		atomic_long_sub(npages, locked);
		return -ENOMEM;
	}
	atomic64_add(npages, &vm->mm->pinned_vm);
	atomic_long_add(npages, &pages_pinned);
	return 0;
}

/**
 * limits_pin_uncharge() - give back a limits_pin_charge()
 * @vm: the VM
 * @npages: pages unpinned
 */
void limits_pin_uncharge(struct vm *vm, unsigned long npages)
{
	atomic_long_sub(npages, &vm->user->user->locked_vm);
	atomic64_sub(npages, &vm->mm->pinned_vm);
	atomic_long_sub(npages, &pages_pinned);
}

/**
 * limits_fill_caps() - the live counts and the limits, for the caps
 * @caps: filled in
 */
void limits_fill_caps(struct minivmm_caps *caps)
{
	caps->nr_vcpus = atomic_read(&vcpus_live);
	caps->pinned_pages = atomic_long_read(&pages_pinned);
	caps->max_vms_per_user = READ_ONCE(max_vms_per_user);
	caps->max_vcpus_per_user = READ_ONCE(max_vcpus_per_user);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * ioeventfds: guest writes that signal an eventfd inside the kernel.
 *
 * A device thread in userspace sleeps on the eventfd; the vCPU that wrote
 * goes back into the guest at once, with no exit to userspace. The exit
 * handlers look the registrations up with interrupts off and without a
 * lock: the list is RCU-protected, changed under vm->ioeventfd_lock, and
 * an entry taken off it is freed only after a grace period, so a vCPU
 * that found it can still signal its eventfd.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "minivmm.h"

/* Guest physical addresses EPT's 4 levels reach. */
#define IOEVENTFD_GPA_LIMIT	BIT_ULL(48)
#define IOEVENTFD_PORTS		0x10000

#define IOEVENTFD_FLAGS	(MINIVMM_IOEVENTFD_PIO |			\
			 MINIVMM_IOEVENTFD_DATAMATCH |			\
			 MINIVMM_IOEVENTFD_DEASSIGN)

/**
 * struct ioeventfd - one registration
 * @node:	on vm->ioeventfds
 * @ctx:	the eventfd (a reference, held until the entry is freed)
 * @addr:	port or guest physical address
 * @datamatch:	the value a write must carry, when @match
 * @len:	bytes of the write
 * @pio:	@addr is a port
 * @match:	only writes of @datamatch count
 */
struct ioeventfd {
	struct list_head node;
	struct eventfd_ctx *ctx;
	u64 addr;
	u64 datamatch;
	u32 len;
	bool pio;
	bool match;
};

/**
 * ioeventfd_init() - a new VM has no ioeventfds
 * @vm: the VM, not yet visible to anyone
 */
void ioeventfd_init(struct vm *vm)
{
	INIT_LIST_HEAD(&vm->ioeventfds);
	mutex_init(&vm->ioeventfd_lock);
	vm->nr_ioeventfds = 0;
}

static void ioeventfd_free(struct ioeventfd *e)
{
	eventfd_ctx_put(e->ctx);
	kfree(e);
}

/**
 * ioeventfd_destroy() - release every ioeventfd of a VM being destroyed
 * @vm: the VM; its last reference is gone, so no vCPU can read the list
 */
void ioeventfd_destroy(struct vm *vm)
{
	struct ioeventfd *e, *tmp;

	list_for_each_entry_safe(e, tmp, &vm->ioeventfds, node) {
		list_del(&e->node);
		ioeventfd_free(e);
	}
	vm->nr_ioeventfds = 0;
}

static bool ioeventfd_hit(const struct ioeventfd *e, bool pio, u64 addr,
			  unsigned int len, u64 val)
{
	return e->pio == pio && e->addr == addr && e->len == len &&
	       (!e->match || e->datamatch == val);
}

/* The search, out of line: most VMs have no ioeventfd to look through. */
static noinline bool ioeventfd_find(struct vcpu *vcpu, bool pio, u64 addr,
				    unsigned int len, u64 val)
{
	struct vm *vm = vcpu->vm;
	struct ioeventfd *e;
	bool hit = false;

	rcu_read_lock();
	list_for_each_entry_rcu(e, &vm->ioeventfds, node) {
		if (ioeventfd_hit(e, pio, addr, len, val)) {
			minivmm_eventfd_signal(e->ctx);
			hit = true;
			break;
		}
	}
	rcu_read_unlock();
	if (hit)
		vcpu->ioeventfd_signals++;
	return hit;
}

/**
 * ioeventfd_write() - signal the eventfd a guest write is registered for
 * @vcpu: the vCPU that wrote, on its thread (it counts the signal)
 * @pio: an OUT (else an MMIO write)
 * @addr: the port or guest physical address
 * @len: bytes written
 * @val: the value, already cut to @len bytes
 *
 * On the vCPU's thread: the exit handlers call it with interrupts off.
 *
 * Return: true when an ioeventfd took the write (the guest goes on),
 * false when the write still needs an exit.
 */
bool ioeventfd_write(struct vcpu *vcpu, bool pio, u64 addr,
		     unsigned int len, u64 val)
{
	/* Most VMs have none: a port exit then costs one load more. */
	if (list_empty(&vcpu->vm->ioeventfds))
		return false;
	return ioeventfd_find(vcpu, pio, addr, len, val);
}

/*
 * Whether @a and @e may both exist: a write must never match two of
 * them. Same register, distinct values is the one overlap allowed (a
 * doorbell whose value names the queue).
 */
static bool ioeventfd_conflict(const struct ioeventfd *e,
			       const struct minivmm_ioeventfd *a)
{
	bool pio = a->flags & MINIVMM_IOEVENTFD_PIO;
	bool match = a->flags & MINIVMM_IOEVENTFD_DATAMATCH;

	if (e->pio != pio || a->addr >= e->addr + e->len ||
	    e->addr >= a->addr + a->len)
		return false;
	return !(e->match && match && e->addr == a->addr &&
		 e->len == a->len && e->datamatch != a->datamatch);
}

static int ioeventfd_check(const struct minivmm_ioeventfd *a)
{
	bool pio = a->flags & MINIVMM_IOEVENTFD_PIO;

	if ((a->flags & ~IOEVENTFD_FLAGS) || a->reserved)
		return -EINVAL;
	if (a->len != 1 && a->len != 2 && a->len != 4 && a->len != 8)
		return -EINVAL;
	if (pio && (a->len == 8 || a->addr >= IOEVENTFD_PORTS ||
		    a->addr + a->len > IOEVENTFD_PORTS))
		return -EINVAL;
	if (!pio && (a->addr >= IOEVENTFD_GPA_LIMIT ||
		     a->addr + a->len > IOEVENTFD_GPA_LIMIT))
		return -EINVAL;
	if (!(a->flags & MINIVMM_IOEVENTFD_DATAMATCH))
		return a->datamatch ? -EINVAL : 0;
	if (a->len < 8 && a->datamatch >> (a->len * 8))
		return -EINVAL;
	return 0;
}

static int ioeventfd_assign(struct vm *vm, const struct minivmm_ioeventfd *a,
			    struct eventfd_ctx *ctx)
{
	struct ioeventfd *e, *n;

	n = kzalloc(sizeof(*n), GFP_KERNEL_ACCOUNT);
	if (!n)
		return -ENOMEM;
	n->ctx = ctx;
	n->addr = a->addr;
	n->len = a->len;
	n->pio = a->flags & MINIVMM_IOEVENTFD_PIO;
	n->match = a->flags & MINIVMM_IOEVENTFD_DATAMATCH;
	n->datamatch = a->datamatch;

	if (mutex_lock_killable(&vm->ioeventfd_lock)) {
		kfree(n);
		return -EINTR;
	}
	list_for_each_entry(e, &vm->ioeventfds, node) {
		if (ioeventfd_conflict(e, a)) {
			mutex_unlock(&vm->ioeventfd_lock);
			kfree(n);
			return -EEXIST;
		}
	}
	if (vm->nr_ioeventfds >= MINIVMM_MAX_IOEVENTFDS) {
		mutex_unlock(&vm->ioeventfd_lock);
		kfree(n);
		return -ENOSPC;
	}
	list_add_tail_rcu(&n->node, &vm->ioeventfds);
	vm->nr_ioeventfds++;
	mutex_unlock(&vm->ioeventfd_lock);
	return 0;
}

static int ioeventfd_deassign(struct vm *vm, const struct minivmm_ioeventfd *a,
			      struct eventfd_ctx *ctx)
{
	bool pio = a->flags & MINIVMM_IOEVENTFD_PIO;
	bool match = a->flags & MINIVMM_IOEVENTFD_DATAMATCH;
	struct ioeventfd *e, *found = NULL;

	if (mutex_lock_killable(&vm->ioeventfd_lock))
		return -EINTR;
	list_for_each_entry(e, &vm->ioeventfds, node) {
		if (e->ctx == ctx && e->pio == pio && e->addr == a->addr &&
		    e->len == a->len && e->match == match &&
		    e->datamatch == a->datamatch) {
			found = e;
			break;
		}
	}
	if (found) {
		list_del_rcu(&found->node);
		vm->nr_ioeventfds--;
	}
	mutex_unlock(&vm->ioeventfd_lock);
	if (!found)
		return -ENOENT;
	/* A vCPU may be signalling it right now. */
	synchronize_rcu();
	ioeventfd_free(found);
	return 0;
}

/**
 * ioeventfd_ioctl() - MINIVMM_IOEVENTFD
 * @vm: the VM
 * @uarg: user pointer to struct minivmm_ioeventfd
 *
 * The registration holds the eventfd itself, not the fd: closing the fd
 * does not end it; MINIVMM_IOEVENTFD_DEASSIGN or the VM's end does.
 *
 * Return: 0; -EFAULT for a bad pointer; -EINVAL for unknown flags, a
 * nonzero reserved field, a length other than 1, 2, 4 or 8 (8 for a
 * port), a range past the last port or guest physical address, a
 * datamatch wider than the length or given without
 * MINIVMM_IOEVENTFD_DATAMATCH, or a file that is not an eventfd; -EBADF
 * when @fd is not an open file; -EEXIST when the range overlaps an
 * ioeventfd of the VM (the same register with another datamatch value is
 * allowed); -ENOSPC past MINIVMM_MAX_IOEVENTFDS; -ENOENT when deassigning
 * one that is not registered (all of eventfd, address, length, flags and
 * datamatch must match); -EINTR when a fatal signal ended the wait for
 * the lock; -ENOMEM.
 */
int ioeventfd_ioctl(struct vm *vm, void __user *uarg)
{
	struct minivmm_ioeventfd a;
	struct eventfd_ctx *ctx;
	int ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	ret = ioeventfd_check(&a);
	if (ret)
		return ret;
	ctx = eventfd_ctx_fdget(a.fd);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	if (a.flags & MINIVMM_IOEVENTFD_DEASSIGN) {
		ret = ioeventfd_deassign(vm, &a, ctx);
		eventfd_ctx_put(ctx);
		return ret;
	}
	/* Success hands the reference to the registration. */
	ret = ioeventfd_assign(vm, &a, ctx);
	if (ret)
		eventfd_ctx_put(ctx);
	return ret;
}

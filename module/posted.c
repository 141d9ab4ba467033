// SPDX-License-Identifier: GPL-2.0
/*
 * Posted writes: guest writes to registered port and MMIO ranges that go
 * to a ring shared with userspace instead of out of MINIVMM_RUN.
 *
 * A device whose writes need no answer (a UART's transmit register, a
 * doorbell whose value is all that matters) can take them in batches:
 * the vCPU appends each write to its own ring and re-enters the guest.
 * A read still exits, and so does a write that finds the ring full; as
 * userspace drains the ring before it handles any exit, it sees the
 * writes and the exit in the guest's order.
 *
 * One ring per vCPU, written only by that vCPU's thread: no lock. The
 * page is shared with userspace, which may write anything into it, so
 * the module keeps the tail it trusts in the vCPU and reads only the
 * head from the page, checking it. The ranges are an RCU list per VM,
 * like the ioeventfds.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "minivmm.h"

#define POSTED_GPA_LIMIT	BIT_ULL(48)
#define POSTED_PORTS		0x10000
#define POSTED_FLAGS		(MINIVMM_POSTED_PIO | MINIVMM_POSTED_DELETE)

/**
 * struct posted_range - one registered range
 * @node:	on vm->posted
 * @addr:	first port or guest physical address
 * @size:	ports or bytes
 * @pio:	ports
 */
struct posted_range {
	struct list_head node;
	u64 addr;
	u64 size;
	bool pio;
};

/**
 * posted_vm_init() - a new VM has no posted ranges
 * @vm: the VM, not yet visible to anyone
 */
void posted_vm_init(struct vm *vm)
{
	INIT_LIST_HEAD(&vm->posted);
	mutex_init(&vm->posted_lock);
	vm->nr_posted = 0;
}

/**
 * posted_vm_destroy() - free the posted ranges of a VM being destroyed
 * @vm: the VM; its last reference is gone, so no vCPU can read the list
 */
void posted_vm_destroy(struct vm *vm)
{
	struct posted_range *r, *tmp;

	list_for_each_entry_safe(r, tmp, &vm->posted, node) {
		list_del(&r->node);
		kfree(r);
	}
	vm->nr_posted = 0;
}

/**
 * posted_ring_init() - describe a new vCPU's ring in its page
 * @vcpu: the vCPU, its zeroed ring page allocated
 */
void posted_ring_init(struct vcpu *vcpu)
{
	vcpu->posted->version = MINIVMM_POSTED_RING_VERSION;
	vcpu->posted->entries = MINIVMM_POSTED_RING_ENTRIES;
	vcpu->posted_tail = 0;
}

static bool posted_in_range(struct vm *vm, bool pio, u64 addr,
			    unsigned int len)
{
	struct posted_range *r;
	bool in = false;

	rcu_read_lock();
	list_for_each_entry_rcu(r, &vm->posted, node) {
		if (r->pio == pio && addr >= r->addr &&
		    addr + len <= r->addr + r->size) {
			in = true;
			break;
		}
	}
	rcu_read_unlock();
	return in;
}

/* The range check and the append, out of line: most VMs post nothing. */
static noinline bool posted_append(struct vcpu *vcpu, bool pio, u64 addr,
				   unsigned int len, u64 val)
{
	struct minivmm_posted_ring *ring = vcpu->posted;
	struct minivmm_posted_entry *e;
	u32 tail = vcpu->posted_tail, next, head;

	if (!posted_in_range(vcpu->vm, pio, addr, len))
		return false;
	next = tail + 1 == MINIVMM_POSTED_RING_ENTRIES ? 0 : tail + 1;
	/* Userspace owns the head; one out of range reads as full. */
	head = READ_ONCE(ring->head);
	if (head >= MINIVMM_POSTED_RING_ENTRIES || next == head) {
		vcpu->posted_full++;
		return false;
	}
	e = &ring->entry[tail];
	e->addr = addr;
	e->data = val;
	e->len = len;
	e->flags = pio ? MINIVMM_POSTED_ENTRY_PIO : 0;
	/* The entry, then the tail that publishes it. */
	smp_store_release(&ring->tail, next);
	vcpu->posted_tail = next;
	vcpu->posted_writes++;
	return true;
}

/**
 * posted_write() - append a guest write to the vCPU's ring if it is posted
 * @vcpu: the vCPU that wrote, on its thread
 * @pio: an OUT (else an MMIO write)
 * @addr: the port or guest physical address
 * @len: bytes written
 * @val: the value, already cut to @len bytes
 *
 * Called from the exit handlers, interrupts off.
 *
 * Return: true when the write is in the ring (the guest goes on), false
 * when it needs an exit: not in a posted range, or the ring is full.
 */
bool posted_write(struct vcpu *vcpu, bool pio, u64 addr, unsigned int len,
		  u64 val)
{
	if (list_empty(&vcpu->vm->posted))
		return false;
	return posted_append(vcpu, pio, addr, len, val);
}

static int posted_check(const struct minivmm_posted_range *a)
{
	u64 limit = (a->flags & MINIVMM_POSTED_PIO) ? POSTED_PORTS :
						      POSTED_GPA_LIMIT;

	if ((a->flags & ~POSTED_FLAGS) || a->reserved || !a->size)
		return -EINVAL;
	if (a->addr >= limit || a->size > limit - a->addr)
		return -EINVAL;
	return 0;
}

static int posted_add(struct vm *vm, const struct minivmm_posted_range *a)
{
	bool pio = a->flags & MINIVMM_POSTED_PIO;
	struct posted_range *r, *n;
	int ret = 0;

	n = kzalloc(sizeof(*n), GFP_KERNEL_ACCOUNT);
	if (!n)
		return -ENOMEM;
	n->addr = a->addr;
	n->size = a->size;
	n->pio = pio;

	if (mutex_lock_killable(&vm->posted_lock)) {
		kfree(n);
		return -EINTR;
	}
	list_for_each_entry(r, &vm->posted, node) {
		if (r->pio == pio && a->addr < r->addr + r->size &&
		    r->addr < a->addr + a->size) {
			ret = -EEXIST;
			break;
		}
	}
	if (!ret && vm->nr_posted >= MINIVMM_MAX_POSTED_RANGES)
		ret = -ENOSPC;
	if (!ret) {
		list_add_tail_rcu(&n->node, &vm->posted);
		vm->nr_posted++;
	}
	mutex_unlock(&vm->posted_lock);
	if (ret)
		kfree(n);
	return ret;
}

static int posted_delete(struct vm *vm, const struct minivmm_posted_range *a)
{
	bool pio = a->flags & MINIVMM_POSTED_PIO;
	struct posted_range *r, *found = NULL;

	if (mutex_lock_killable(&vm->posted_lock))
		return -EINTR;
	list_for_each_entry(r, &vm->posted, node) {
		if (r->pio == pio && r->addr == a->addr && r->size == a->size) {
			found = r;
			break;
		}
	}
	if (found) {
		list_del_rcu(&found->node);
		vm->nr_posted--;
	}
	mutex_unlock(&vm->posted_lock);
	if (!found)
		return -ENOENT;
	/* Once the ioctl returns, no vCPU posts a write of the range. */
	synchronize_rcu();
	kfree(found);
	return 0;
}

/**
 * posted_range_ioctl() - MINIVMM_POSTED_RANGE
 * @vm: the VM
 * @uarg: user pointer to struct minivmm_posted_range
 *
 * Return: 0; -EFAULT for a bad pointer; -EINVAL for unknown flags, a
 * nonzero reserved field, a zero size or a range past the last port or
 * guest physical address; -EEXIST when the range overlaps a posted range
 * of the same kind; -ENOSPC past MINIVMM_MAX_POSTED_RANGES; -ENOENT when
 * deleting a range not registered as given; -EINTR when a fatal signal
 * ended the wait for the lock; -ENOMEM.
 */
int posted_range_ioctl(struct vm *vm, void __user *uarg)
{
	struct minivmm_posted_range a;
	int ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	ret = posted_check(&a);
	if (ret)
		return ret;
	if (a.flags & MINIVMM_POSTED_DELETE)
		return posted_delete(vm, &a);
	return posted_add(vm, &a);
}

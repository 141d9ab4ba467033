// SPDX-License-Identifier: GPL-2.0
/*
 * The VM file descriptor: guest memory and vCPU creation.
 *
 * A VM holds VMX operation on every CPU (vmx_get()) from its creation
 * until its last reference goes: the VM fd holds one, each vCPU fd one.
 * Its memory comes from the creating process, pinned long-term while it
 * is mapped; only that process may change the memory map.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "minivmm.h"

/* Guest physical addresses EPT's 4 levels reach. */
#define GPA_LIMIT	BIT_ULL(48)

static LIST_HEAD(vm_list);
static DEFINE_MUTEX(vm_list_lock);
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

/* No reader may see @slot any more: it is unpublished and a grace passed. */
static void slot_release(struct vm *vm, struct mem_slot *slot)
{
	unpin_user_pages_dirty_lock(slot->pages, slot->size >> PAGE_SHIFT,
				    !(slot->flags & MINIVMM_MEM_READONLY));
	limits_pin_uncharge(vm, slot->size >> PAGE_SHIFT);
	kvfree(rcu_dereference_protected(slot->dirty_bitmap, true));
	kvfree(slot->pages);
	kfree(slot);
}

static void vm_destroy(struct vm *vm)
{
	int i;

	mutex_lock(&vm_list_lock);
	list_del(&vm->node);
	mutex_unlock(&vm_list_lock);
	if (vm->announced)
		minivmm_event(MINIVMM_EVENT_VM_DESTROYED, vm, -1, 0);
	/* First: an eventfd write may interrupt the VM until its irqfd goes. */
	ioapic_destroy(vm);
	ioeventfd_destroy(vm);
	posted_vm_destroy(vm);

	/* No vCPU is left; drop every cached translation before freeing. */
	ept_flush_all_cpus(&vm->ept);
	/* The last reference is gone: nothing can read the slots. */
	for (i = 0; i < MINIVMM_MAX_MEM_SLOTS; i++) {
		struct mem_slot *slot = rcu_dereference_protected(vm->slots[i],
								  true);

		if (slot)
			slot_release(vm, slot);
	}
	ept_destroy(&vm->ept);
	limits_vm_uncharge(vm);
	mmdrop(vm->mm);
	put_pid(vm->owner);
	kfree(vm);
	atomic_dec(&vm_nr);
	vmx_put();
}

/**
 * vm_put() - drop a reference; the last one destroys the VM
 * @vm: the VM
 */
void vm_put(struct vm *vm)
{
	if (refcount_dec_and_test(&vm->refs))
		vm_destroy(vm);
}

/* The first VM on the list, after @after_id, whose reference we get. */
static struct vm *vm_get_matching(unsigned int id, bool exact)
{
	struct vm *vm, *found = NULL;

	mutex_lock(&vm_list_lock);
	list_for_each_entry(vm, &vm_list, node) {
		if (exact ? vm->id != id : vm->id <= id)
			continue;
		/* A VM whose last reference is gone is being destroyed. */
		if (refcount_inc_not_zero(&vm->refs)) {
			found = vm;
			break;
		}
	}
	mutex_unlock(&vm_list_lock);
	return found;
}

/**
 * vm_get_by_id() - a reference to the VM with id @id
 * @id: the VM id
 *
 * Return: the VM (drop it with vm_put()), or NULL.
 */
struct vm *vm_get_by_id(unsigned int id)
{
	return vm_get_matching(id, true);
}

/**
 * vm_get_next() - a reference to the VM with the next id after @after_id
 * @after_id: 0 for the first VM
 *
 * VMs are on the list in creation order, so ids increase along it.
 *
 * Return: the VM (drop it with vm_put()), or NULL after the last one.
 */
struct vm *vm_get_next(unsigned int after_id)
{
	return vm_get_matching(after_id, false);
}

/**
 * vm_find_slot() - the slot holding guest physical address @gpa
 * @vm: the VM
 * @gpa: the address
 *
 * A slot found under rcu_read_lock() stays valid, its pages pinned, until
 * rcu_read_unlock(): deletion unpublishes it and waits for a grace period
 * before unpinning. Holding vm->lock also keeps it.
 *
 * Return: the slot, or NULL when no memory is there.
 */
struct mem_slot *vm_find_slot(struct vm *vm, u64 gpa)
{
	/* Pairs with vm_set_slots_end(): no slot is published past it. */
	unsigned int i, end = smp_load_acquire(&vm->slots_end);

	for (i = 0; i < end; i++) {
		struct mem_slot *s;

		s = rcu_dereference_check(vm->slots[i],
					  lockdep_is_held(&vm->lock));
		if (s && gpa >= s->gpa && gpa - s->gpa < s->size)
			return s;
	}
	return NULL;
}

/**
 * slot_mark_dirty() - log a write to @gpa when @slot logs
 * @slot: the slot holding @gpa, found under the caller's rcu_read_lock()
 * @gpa: the address written
 *
 * The module's own writes to guest memory call it after the write, so
 * that a log taken in between keeps the bit for the next call.
 */
void slot_mark_dirty(struct mem_slot *slot, u64 gpa)
{
	unsigned long *bitmap = rcu_dereference(slot->dirty_bitmap);

	if (bitmap)
		set_bit((gpa - slot->gpa) >> PAGE_SHIFT, bitmap);
}

static struct mem_slot *vm_slot_locked(struct vm *vm, unsigned int i)
{
	return rcu_dereference_protected(vm->slots[i],
					 lockdep_is_held(&vm->lock));
}

/*
 * After a slot came or went, vm->lock held: vm_find_slot() looks no
 * further than the last slot in use. A new slot is published before the
 * end that covers it (the release), so a lookup that sees the new end
 * sees the slot; one that still sees the old end misses a slot it could
 * as well have missed a moment earlier.
 */
static void vm_set_slots_end(struct vm *vm)
{
	unsigned int end = MINIVMM_MAX_MEM_SLOTS;

	while (end && !vm_slot_locked(vm, end - 1))
		end--;
	/* Pairs with the acquire in vm_find_slot(). */
	smp_store_release(&vm->slots_end, end);
}

/*
 * Begin a change of the memory map, vm->lock held: -EBUSY while a vCPU is
 * in RUN. RUN counts itself in vm->running without the lock, then looks
 * at vm->map_changing (vm_run_try_begin()); with a full barrier on both sides
 * at least one of the two sees the other, so no vCPU runs on a map that
 * is changing.
 */
static int vm_map_change_begin(struct vm *vm)
{
	WRITE_ONCE(vm->map_changing, true);
	/* Pairs with the barrier in vm_run_try_begin(). */
	smp_mb();
	if (atomic_read(&vm->running)) {
		WRITE_ONCE(vm->map_changing, false);
		return -EBUSY;
	}
	return 0;
}

static void vm_map_change_end(struct vm *vm)
{
	/* Pairs with the acquire in vm_run_try_begin(): all of it is seen. */
	smp_store_release(&vm->map_changing, false);
}

/**
 * vm_run_wait_begin() - count a vCPU into RUN once no map change is made
 * @vm: the vCPU's VM
 *
 * vm_run_begin()'s way when a change is in progress: under vm->lock no
 * change is half made.
 *
 * Return: 0, or -EINTR when a fatal signal came while waiting.
 */
int vm_run_wait_begin(struct vm *vm)
{
	if (mutex_lock_killable(&vm->lock))
		return -EINTR;
	atomic_inc(&vm->running);
	mutex_unlock(&vm->lock);
	return 0;
}

/* Why @r cannot be added now, or 0; vm->lock held. */
static int vm_check_add(struct vm *vm, const struct minivmm_memory_region *r)
{
	int i;

	if (atomic_read(&vm->running))
		return -EBUSY;
	if (vm_slot_locked(vm, r->slot))
		return -EEXIST;
	for (i = 0; i < MINIVMM_MAX_MEM_SLOTS; i++) {
		struct mem_slot *s = vm_slot_locked(vm, i);

		if (s && r->guest_phys_addr < s->gpa + s->size &&
		    s->gpa < r->guest_phys_addr + r->size)
			return -EEXIST;
	}
	return 0;
}

/*
 * Unpublish slot @i, vm->lock held; the caller releases it after a grace
 * period, without the lock.
 */
static struct mem_slot *vm_unpublish_slot(struct vm *vm, unsigned int i)
{
	struct mem_slot *slot = vm_slot_locked(vm, i);
	int ret = vm_map_change_begin(vm);

	if (ret)
		return ERR_PTR(ret);
	if (slot) {
		ept_unmap_range(&vm->ept, slot->gpa, slot->size);
		ept_flush_all_cpus(&vm->ept);
		WRITE_ONCE(vm->mem_bytes, vm->mem_bytes - slot->size);
		RCU_INIT_POINTER(vm->slots[i], NULL);
		vm_set_slots_end(vm);
	}
	vm_map_change_end(vm);
	return slot ?: ERR_PTR(-ENOENT);
}

static unsigned long *dirty_bitmap_alloc(unsigned long npages)
{
	return kvcalloc(BITS_TO_LONGS(npages), sizeof(long),
			GFP_KERNEL_ACCOUNT);
}

/*
 * Pin the memory of a new slot. This may wait as long as the memory's
 * owner wants (a FUSE file's pages): it runs without any lock, and only a
 * fatal signal ends it early.
 */
static struct mem_slot *slot_pin(struct vm *vm,
				 const struct minivmm_memory_region *r)
{
	unsigned long npages = r->size >> PAGE_SHIFT;
	unsigned int gup = FOLL_LONGTERM;
	struct mem_slot *slot;
	int pinned, ret;

	ret = limits_pin_charge(vm, npages);
	if (ret)
		return ERR_PTR(ret);
	slot = kzalloc(sizeof(*slot), GFP_KERNEL_ACCOUNT);
	if (!slot)
		goto nomem;
	slot->pages = kvmalloc_array(npages, sizeof(*slot->pages),
				     GFP_KERNEL_ACCOUNT);
	if (!slot->pages) {
		kfree(slot);
		goto nomem;
	}
	if (!(r->flags & MINIVMM_MEM_READONLY))
		gup |= FOLL_WRITE;
	pinned = pin_user_pages_fast(r->userspace_addr, npages, gup,
				     slot->pages);
	if (pinned != npages) {
		if (pinned > 0)
			unpin_user_pages(slot->pages, pinned);
		kvfree(slot->pages);
		kfree(slot);
		limits_pin_uncharge(vm, npages);
		if (pinned < 0 && pinned != -EFAULT)
			return ERR_PTR(pinned);
		return ERR_PTR(-EFAULT);
	}
	slot->gpa = r->guest_phys_addr;
	slot->size = r->size;
	slot->uaddr = r->userspace_addr;
	slot->flags = r->flags;
	if (r->flags & MINIVMM_MEM_LOG_DIRTY) {
		unsigned long *bitmap = dirty_bitmap_alloc(npages);

		if (!bitmap) {
			slot_release(vm, slot);
			return ERR_PTR(-ENOMEM);
		}
		/* Not published yet: no reader. */
		RCU_INIT_POINTER(slot->dirty_bitmap, bitmap);
	}
	return slot;

nomem:
	limits_pin_uncharge(vm, npages);
	return ERR_PTR(-ENOMEM);
}

/* Install a pinned slot, re-checking what may have changed meanwhile. */
static int vm_install_slot(struct vm *vm, struct mem_slot *slot,
			   const struct minivmm_memory_region *r)
{
	int ret = vm_check_add(vm, r);

	if (!ret)
		ret = vm_map_change_begin(vm);
	if (ret)
		return ret;
	ret = ept_map_slot(&vm->ept, slot);
	if (ret) {
		ept_unmap_range(&vm->ept, slot->gpa, slot->size);
		ept_flush_all_cpus(&vm->ept);
	} else {
		WRITE_ONCE(vm->mem_bytes, vm->mem_bytes + slot->size);
		rcu_assign_pointer(vm->slots[r->slot], slot);
		vm_set_slots_end(vm);
	}
	vm_map_change_end(vm);
	return ret;
}

static int vm_add_slot(struct vm *vm, const struct minivmm_memory_region *r)
{
	struct mem_slot *slot;
	int ret;

	/* Fail before pinning when it cannot work anyway. */
	if (mutex_lock_killable(&vm->lock))
		return -EINTR;
	ret = vm_check_add(vm, r);
	mutex_unlock(&vm->lock);
	if (ret)
		return ret;

	slot = slot_pin(vm, r);
	if (IS_ERR(slot))
		return PTR_ERR(slot);

	if (mutex_lock_killable(&vm->lock)) {
		ret = -EINTR;
	} else {
		ret = vm_install_slot(vm, slot, r);
		mutex_unlock(&vm->lock);
	}
	/* Never published: no reader can have it. */
	if (ret)
		slot_release(vm, slot);
	return ret;
}

/*
 * Turn dirty logging of slot @r->slot on or off, when @r names it exactly
 * with only MINIVMM_MEM_LOG_DIRTY changed; vCPUs may run. 1 when @r is not
 * such a change.
 */
static int vm_set_logging(struct vm *vm, const struct minivmm_memory_region *r)
{
	unsigned long *bitmap, *old = NULL;
	struct mem_slot *slot;
	int ret = 0;

	if (mutex_lock_killable(&vm->lock))
		return -EINTR;
	slot = vm_slot_locked(vm, r->slot);
	if (!slot || slot->gpa != r->guest_phys_addr ||
	    slot->size != r->size || slot->uaddr != r->userspace_addr ||
	    (slot->flags ^ r->flags) != MINIVMM_MEM_LOG_DIRTY) {
		ret = 1;
	} else if (r->flags & MINIVMM_MEM_LOG_DIRTY) {
		bitmap = dirty_bitmap_alloc(r->size >> PAGE_SHIFT);
		if (!bitmap) {
			ret = -ENOMEM;
			goto out;
		}
		/* Published first: a write fault from now on logs the page. */
		rcu_assign_pointer(slot->dirty_bitmap, bitmap);
		slot->flags = r->flags;
		ret = ept_log_dirty_start(&vm->ept, slot);
		ept_flush_all_cpus(&vm->ept);
		if (ret) {
			ept_log_dirty_stop(&vm->ept, slot);
			RCU_INIT_POINTER(slot->dirty_bitmap, NULL);
			slot->flags = r->flags & ~MINIVMM_MEM_LOG_DIRTY;
			old = bitmap;
		}
	} else {
		old = rcu_dereference_protected(slot->dirty_bitmap,
						lockdep_is_held(&vm->lock));
		RCU_INIT_POINTER(slot->dirty_bitmap, NULL);
		slot->flags = r->flags;
		ept_log_dirty_stop(&vm->ept, slot);
	}
out:
	mutex_unlock(&vm->lock);
	if (old) {
		/* A write fault on a running vCPU may still be setting a bit. */
		synchronize_rcu();
		kvfree(old);
	}
	return ret;
}

static int vm_delete_slot(struct vm *vm, unsigned int i)
{
	struct mem_slot *slot;

	if (mutex_lock_killable(&vm->lock))
		return -EINTR;
	slot = vm_unpublish_slot(vm, i);
	mutex_unlock(&vm->lock);
	if (IS_ERR(slot))
		return PTR_ERR(slot);
	/* A vCPU thread outside RUN (SET_SREGS) may still be reading it. */
	synchronize_rcu();
	slot_release(vm, slot);
	return 0;
}

/**
 * vm_set_memory_region() - MINIVMM_SET_MEMORY_REGION
 * @vm: the VM
 * @ur: user pointer to struct minivmm_memory_region
 *
 * Setting a slot again with only MINIVMM_MEM_LOG_DIRTY changed turns dirty
 * logging on (every page write-protected, the log empty) or off; this
 * works while vCPUs run.
 *
 * Return: 0; -EFAULT for a bad pointer or unmapped memory; -EINVAL for
 * unknown flags, MINIVMM_MEM_LOG_DIRTY with MINIVMM_MEM_READONLY, a slot
 * number out of range, unaligned or overflowing addresses; -E2BIG for
 * a slot larger than the host's RAM (it could never be pinned); -EEXIST
 * when the slot is in use (other than for a change of logging) or the
 * range overlaps another slot; -ENOENT when deleting an unused slot;
 * -EBUSY while a vCPU runs (but for a change of logging); -EIO from a
 * process that did not create the VM; -EINTR when a fatal signal ended
 * the wait for the memory or the VM's lock; -ENOMEM, also when the pages
 * would take the user past RLIMIT_MEMLOCK.
 */
static int vm_set_memory_region(struct vm *vm, void __user *ur)
{
	const u32 known = MINIVMM_MEM_READONLY | MINIVMM_MEM_LOG_DIRTY;
	struct minivmm_memory_region r;
	int ret;

	if (copy_from_user(&r, ur, sizeof(r)))
		return -EFAULT;
	if (r.flags & ~known || r.slot >= MINIVMM_MAX_MEM_SLOTS)
		return -EINVAL;
	/* The guest cannot write a read-only slot: nothing to log. */
	if ((r.flags & MINIVMM_MEM_READONLY) &&
	    (r.flags & MINIVMM_MEM_LOG_DIRTY))
		return -EINVAL;
	if (!PAGE_ALIGNED(r.guest_phys_addr) || !PAGE_ALIGNED(r.size) ||
	    !PAGE_ALIGNED(r.userspace_addr))
		return -EINVAL;
	if (r.guest_phys_addr >= GPA_LIMIT || r.size > GPA_LIMIT ||
	    r.guest_phys_addr + r.size > GPA_LIMIT)
		return -EINVAL;
	/* Before any allocation: kvmalloc() refuses (and WARNs) past INT_MAX. */
	if (r.size >> PAGE_SHIFT > totalram_pages() ||
	    r.size >> PAGE_SHIFT > INT_MAX / sizeof(struct page *))
		return -E2BIG;
	if (r.size && (r.userspace_addr + r.size < r.userspace_addr ||
		       !access_ok(u64_to_user_ptr(r.userspace_addr), r.size)))
		return -EFAULT;
	if (current->mm != vm->mm)
		return -EIO;

	if (!r.size)
		return vm_delete_slot(vm, r.slot);
	ret = vm_set_logging(vm, &r);
	if (ret <= 0)
		return ret;
	return vm_add_slot(vm, &r);
}

/*
 * Move the bits of @slot's log into @out and write-protect the pages they
 * stand for again; vm->lock held. Returns whether any bit was set.
 *
 * Each word is taken with xchg() before its pages lose write permission,
 * while a write fault sets the permission before the bit: a page is
 * never left writable with its bit clear, but for the moment between the
 * xchg() and the protection, where a write still counts for this call.
 */
static bool slot_take_dirty(struct vm *vm, struct mem_slot *slot,
			    unsigned long *bitmap, unsigned long *out)
{
	unsigned long nwords = BITS_TO_LONGS(slot->size >> PAGE_SHIFT), i;
	bool any = false;

	for (i = 0; i < nwords; i++) {
		unsigned long mask, bit;

		out[i] = 0;
		if (!READ_ONCE(bitmap[i]))
			continue;
		mask = xchg(&bitmap[i], 0);
		out[i] = mask;
		any = true;
		for_each_set_bit(bit, &mask, BITS_PER_LONG)
			ept_write_protect(&vm->ept, slot->gpa +
					  ((u64)(i * BITS_PER_LONG + bit) <<
					   PAGE_SHIFT));
	}
	return any;
}

/**
 * vm_get_dirty_log() - MINIVMM_GET_DIRTY_LOG
 * @vm: the VM
 * @uarg: user pointer to struct minivmm_dirty_log
 *
 * Hands the caller the pages of a slot written since logging was turned on
 * or since the last call, and clears the log; vCPUs may run meanwhile.
 * Before it returns, every CPU has dropped the writable translations of
 * those pages (INVEPT), so that any write after the return is in the next
 * call's log; a write while the call is under way may be in this call's
 * log or the next, and is in the page when the call returns.
 *
 * Return: 0; -EFAULT for a bad pointer or a bitmap that cannot be written
 * (checked before the log is taken); -EINVAL for a slot number out of
 * range, an unused slot or a nonzero pad; -ENOENT for a slot without
 * dirty logging; -EINTR when a fatal signal ended the wait for the VM's
 * lock; -ENOMEM.
 */
static int vm_get_dirty_log(struct vm *vm, void __user *uarg)
{
	struct minivmm_dirty_log log;
	unsigned long *bitmap, *out = NULL;
	void __user *ubitmap;
	struct mem_slot *slot;
	size_t bytes;
	bool any;
	int ret;

	if (copy_from_user(&log, uarg, sizeof(log)))
		return -EFAULT;
	if (log.slot >= MINIVMM_MAX_MEM_SLOTS || log.pad)
		return -EINVAL;
	ubitmap = u64_to_user_ptr(log.bitmap);

	if (mutex_lock_killable(&vm->lock))
		return -EINTR;
	slot = vm_slot_locked(vm, log.slot);
	ret = -EINVAL;
	if (!slot)
		goto unlock;
	bitmap = rcu_dereference_protected(slot->dirty_bitmap,
					   lockdep_is_held(&vm->lock));
	ret = -ENOENT;
	if (!bitmap)
		goto unlock;
	/* In 64-bit words, whatever the size of a long. */
	bytes = DIV_ROUND_UP(slot->size >> PAGE_SHIFT, 64) * sizeof(u64);
	/* A bitmap the copy would fail on must not cost the log. */
	ret = -EFAULT;
	if (!access_ok(ubitmap, bytes) || fault_in_writeable(ubitmap, bytes))
		goto unlock;
	ret = -ENOMEM;
	out = kvzalloc(bytes, GFP_KERNEL_ACCOUNT);
	if (!out)
		goto unlock;
	any = slot_take_dirty(vm, slot, bitmap, out);
	if (any)
		ept_flush_all_cpus(&vm->ept);
	ret = 0;
unlock:
	mutex_unlock(&vm->lock);
	/* Only the caller's own unmapping since the check can fail it. */
	if (!ret && copy_to_user(ubitmap, out, bytes))
		ret = -EFAULT;
	kvfree(out);
	return ret;
}

static int vm_release(struct inode *inode, struct file *filp)
{
	vm_put(filp->private_data);
	return 0;
}

/**
 * vm_ioctl() - ioctls of a VM fd
 * @filp: the VM fd
 * @cmd: MINIVMM_SET_MEMORY_REGION, MINIVMM_CREATE_VCPU,
 *	 MINIVMM_GET_DIRTY_LOG, one of the interrupt ioctls of
 *	 ioapic_ioctl(), MINIVMM_LINT, MINIVMM_IOEVENTFD or
 *	 MINIVMM_POSTED_RANGE
 * @arg: its argument
 *
 * Return: see vm_set_memory_region(), vcpu_create(), vm_get_dirty_log(),
 * ioapic_ioctl(), lapic_lint_ioctl(), ioeventfd_ioctl() and
 * posted_range_ioctl();
 * -ENOTTY for an unknown command.
 */
static long vm_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	struct vm *vm = filp->private_data;

	switch (cmd) {
	case MINIVMM_SET_MEMORY_REGION:
		return vm_set_memory_region(vm, (void __user *)arg);
	case MINIVMM_CREATE_VCPU:
		return vcpu_create(vm, arg);
	case MINIVMM_GET_DIRTY_LOG:
		return vm_get_dirty_log(vm, (void __user *)arg);
	case MINIVMM_IRQ_LINE:
	case MINIVMM_SIGNAL_MSI:
	case MINIVMM_IRQFD:
	case MINIVMM_GET_IOAPIC:
	case MINIVMM_SET_IOAPIC:
		return ioapic_ioctl(vm, cmd, (void __user *)arg);
	case MINIVMM_LINT:
		return lapic_lint_ioctl(vm, (void __user *)arg);
	case MINIVMM_IOEVENTFD:
		return ioeventfd_ioctl(vm, (void __user *)arg);
	case MINIVMM_POSTED_RANGE:
		return posted_range_ioctl(vm, (void __user *)arg);
	default:
		return -ENOTTY;
	}
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
 * Return: a new VM fd, or -EINVAL, -ENOMEM, -EAGAIN (the user has
 * max_vms_per_user VMs), or vmx_get()'s error.
 */
int vm_create(unsigned long flags)
{
	struct file *file;
	struct vm *vm;
	int ret, fd;

	if (flags)
		return -EINVAL;
	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	ret = limits_vm_charge(vm);
	if (ret)
		goto free;
	ret = ept_init(&vm->ept);
	if (ret)
		goto uncharge;
	ret = ioapic_create(vm);
	if (ret)
		goto free_ept;
	ret = vmx_get();
	if (ret)
		goto free_ioapic;

	refcount_set(&vm->refs, 1);
	mutex_init(&vm->lock);
	ioeventfd_init(vm);
	posted_vm_init(vm);
	mmgrab(current->mm);
	vm->mm = current->mm;
	vm->owner = get_pid(task_tgid(current));
	vm->uid = current_euid();
	vm->id = atomic_inc_return(&vm_next_id);
	atomic_inc(&vm_nr);
	mutex_lock(&vm_list_lock);
	list_add_tail(&vm->node, &vm_list);
	mutex_unlock(&vm_list_lock);

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		vm_put(vm);
		return fd;
	}
	file = anon_inode_getfile("minivmm-vm", &vm_fops, vm, O_RDWR);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		vm_put(vm);
		return PTR_ERR(file);
	}
	/* Announce it while no other thread can close it yet. */
	minivmm_event(MINIVMM_EVENT_VM_CREATED, vm, -1, 0);
	vm->announced = true;
	fd_install(fd, file);
	return fd;

free_ioapic:
	ioapic_destroy(vm);
free_ept:
	ept_destroy(&vm->ept);
uncharge:
	limits_vm_uncharge(vm);
free:
	kfree(vm);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The I/O APIC of a VM, its interrupt lines, MSIs and irqfds.
 *
 * Every VM has one I/O APIC at MINIVMM_IOAPIC_ADDR with 24 input pins,
 * modelled on the version 0x20 part of Intel's ICH chipsets: the ID,
 * version and arbitration registers, a 24-entry redirection table, and
 * the directed EOI register at +0x40. A pin's line is raised and lowered
 * by MINIVMM_IRQ_LINE or pulsed by an irqfd; an edge-triggered pin sends
 * its message on a 0->1 transition, a level-triggered one whenever the
 * line is asserted and remote IRR is clear. Messages go to the local
 * APICs through apic_deliver().
 *
 * One spinlock per I/O APIC guards its registers and line states: the
 * callers run with interrupts off (exit handlers, eventfd wake-ups), from
 * any thread. apic_deliver() is never called with it held. The local
 * APIC calls ioapic_eoi() under its own lock: what that EOI re-sends goes
 * out from an irq_work, after that lock is dropped.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/irq_work.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <asm/apicdef.h>
#include <asm/io_apic.h>
#include <asm/msi.h>

#include "minivmm.h"

#define NR_PINS			MINIVMM_IOAPIC_PINS
#define IOAPIC_VERSION		0x20	/* ICH: has the EOI register */

/* MMIO offsets in the I/O APIC's page */
#define IOREGSEL		0x00
#define IOWIN			0x10
#define IOEOI			0x40

/* Indirect registers IOREGSEL selects */
#define REG_ID			0x00
#define REG_VERSION		0x01
#define REG_ARB			0x02
#define REG_REDIR		0x10	/* two per pin: low, then high dword */

#define ID_MASK			0x0f	/* bits 27:24 of REG_ID */

/*
 * Redirection entry bits the guest can write: vector, delivery mode,
 * destination mode, polarity, trigger mode, mask and the destination.
 * Delivery status and remote IRR are read-only; the rest reads as zero.
 */
#define RTE_WRITABLE		(GENMASK_ULL(11, 0) | BIT_ULL(13) | \
				 BIT_ULL(15) | BIT_ULL(16) | GENMASK_ULL(63, 56))
#define RTE_REMOTE_IRR		BIT_ULL(14)
#define RTE_MASKED		BIT_ULL(16)

/* MSI address and data (Intel SDM Vol. 3A 11.11) */
#define MSI_ADDR_RESERVED	(GENMASK_ULL(63, 32) | GENMASK_ULL(11, 4) | \
				 GENMASK_ULL(1, 0))
#define MSI_DATA_RESERVED	(GENMASK(31, 16) | GENMASK(13, 11))

/**
 * struct irqfd - an eventfd that interrupts the guest when written
 * @vm:		the VM
 * @ctx:	the eventfd (a reference)
 * @wqh:	the eventfd's wait queue, which @wait is on
 * @wait:	its entry, whose callback fires the interrupt
 * @pt:		for hooking @wait into @wqh through vfs_poll()
 * @node:	on the I/O APIC's list while registered; empty once
 *		unregistered by whoever took it off (and frees it)
 * @msi:	send @irq rather than pulse @pin
 * @pin:	the I/O APIC pin
 * @irq:	the decoded MSI
 */
struct irqfd {
	struct vm *vm;
	struct eventfd_ctx *ctx;
	wait_queue_head_t *wqh;
	wait_queue_entry_t wait;
	poll_table pt;
	struct list_head node;
	bool msi;
	unsigned int pin;
	struct apic_irq irq;
};

/**
 * struct ioapic - one VM's I/O APIC
 * @vm:		the VM it belongs to
 * @lock:	guards every field below up to @irqfd_mutex
 * @id:		APIC ID (register 0, bits 27:24)
 * @ioregsel:	the register IOWIN reaches
 * @lines:	bit n: pin n's line is asserted
 * @redir:	the redirection table
 * @resend:	pins whose EOI came while their line was asserted, for
 *		@eoi_work to send again
 * @eoi_work:	sends them, outside the local APIC's lock
 * @irqfd_mutex: serialises registering and unregistering irqfds
 * @irqfd_lock:	guards @irqfds and @nr_irqfds (taken in wake-up callbacks)
 * @irqfds:	registered irqfds
 * @nr_irqfds:	how many
 */
struct ioapic {
	struct vm *vm;
	spinlock_t lock;		/* registers and lines */
	u8 id;
	u8 ioregsel;
	u32 lines;
	u64 redir[NR_PINS];
	u32 resend;
	struct irq_work eoi_work;

	struct mutex irqfd_mutex;	/* register/unregister */
	spinlock_t irqfd_lock;		/* the list */
	struct list_head irqfds;
	unsigned int nr_irqfds;
};

/* The message redirection entry @rte sends. */
static void rte_to_irq(u64 rte, struct apic_irq *irq)
{
	struct IO_APIC_route_entry e;

	e.w1 = lower_32_bits(rte);
	e.w2 = upper_32_bits(rte);
	memset(irq, 0, sizeof(*irq));
	irq->vector = e.vector;
	irq->delivery_mode = e.delivery_mode << 8;	/* APIC_DM_* */
	irq->logical = e.dest_mode_logical;
	irq->level = e.is_level;
	irq->dest = e.destid_0_7;
}

static bool rte_level(u64 rte)
{
	struct IO_APIC_route_entry e = { .w1 = lower_32_bits(rte) };

	return e.is_level;
}

/*
 * Whether pin @pin sends its message now that its line is asserted, and
 * which; io->lock held. A level-triggered pin then waits for its EOI.
 */
static bool pin_fire(struct ioapic *io, unsigned int pin,
		     struct apic_irq *irq)
{
	u64 rte = io->redir[pin];

	if (rte & RTE_MASKED)
		return false;
	if (rte_level(rte)) {
		if (rte & RTE_REMOTE_IRR)
			return false;
		io->redir[pin] |= RTE_REMOTE_IRR;
	}
	rte_to_irq(rte, irq);
	return true;
}

/* Send @irq from @pin; io->lock not held. */
static void pin_send(struct vm *vm, unsigned int pin,
		     const struct apic_irq *irq)
{
	struct ioapic *io = vm->ioapic;
	unsigned long flags;

	if (apic_deliver(vm, NULL, irq) || !irq->level)
		return;
	/*
	 * No local APIC took it, so no EOI will come: do not leave the pin
	 * waiting for one (unless the guest reprogrammed it meanwhile).
	 */
	spin_lock_irqsave(&io->lock, flags);
	if ((u8)io->redir[pin] == irq->vector)
		io->redir[pin] &= ~RTE_REMOTE_IRR;
	spin_unlock_irqrestore(&io->lock, flags);
}

/**
 * ioapic_set_irq() - drive the line of an I/O APIC input pin
 * @vm: the VM
 * @pin: the pin, below MINIVMM_IOAPIC_PINS
 * @level: true asserts it
 *
 * Any context, any thread.
 */
static void ioapic_set_irq(struct vm *vm, unsigned int pin, bool level)
{
	struct ioapic *io = vm->ioapic;
	struct apic_irq irq;
	unsigned long flags;
	bool send = false;
	u32 bit = BIT(pin);

	spin_lock_irqsave(&io->lock, flags);
	if (level) {
		/* An edge pin sends on the rising edge only. */
		if (rte_level(io->redir[pin]) || !(io->lines & bit))
			send = pin_fire(io, pin, &irq);
		io->lines |= bit;
	} else {
		io->lines &= ~bit;
	}
	spin_unlock_irqrestore(&io->lock, flags);
	if (send)
		pin_send(vm, pin, &irq);
}

/*
 * An EOI for @vector: level-triggered pins waiting for it may send again;
 * io->lock held. Returns the pins to send, their messages in @irqs.
 */
static u32 ioapic_eoi_locked(struct ioapic *io, u8 vector,
			     struct apic_irq *irqs)
{
	u32 send = 0;
	unsigned int pin;

	for (pin = 0; pin < NR_PINS; pin++) {
		u64 rte = io->redir[pin];

		if ((u8)rte != vector || !(rte & RTE_REMOTE_IRR))
			continue;
		io->redir[pin] &= ~RTE_REMOTE_IRR;
		/* The device still holds the line: it still wants service. */
		if ((io->lines & BIT(pin)) && pin_fire(io, pin, &irqs[pin]))
			send |= BIT(pin);
	}
	return send;
}

static void ioapic_send_pins(struct vm *vm, u32 pins,
			     const struct apic_irq *irqs)
{
	unsigned int pin;

	for (pin = 0; pin < NR_PINS; pin++)
		if (pins & BIT(pin))
			pin_send(vm, pin, &irqs[pin]);
}

/* Send again the pins ioapic_eoi() found still asserted. */
static void ioapic_eoi_work(struct irq_work *work)
{
	struct ioapic *io = container_of(work, struct ioapic, eoi_work);
	struct apic_irq irqs[NR_PINS];
	unsigned long flags;
	unsigned int pin;
	u32 send = 0;

	spin_lock_irqsave(&io->lock, flags);
	for (pin = 0; pin < NR_PINS; pin++)
		if ((io->resend & io->lines & BIT(pin)) &&
		    pin_fire(io, pin, &irqs[pin]))
			send |= BIT(pin);
	io->resend = 0;
	spin_unlock_irqrestore(&io->lock, flags);
	ioapic_send_pins(io->vm, send, irqs);
}

/**
 * ioapic_eoi() - a local APIC ended a level-triggered interrupt
 * @vm: the VM
 * @vector: the vector whose in-service bit the EOI cleared
 *
 * Clears remote IRR of every pin that sent @vector; a pin whose line is
 * still asserted sends again, from an irq_work: the caller may hold the
 * lock of the local APIC that the message goes to. Called with
 * interrupts off.
 */
void ioapic_eoi(struct vm *vm, u8 vector)
{
	struct ioapic *io = vm->ioapic;
	unsigned long flags;
	unsigned int pin;

	spin_lock_irqsave(&io->lock, flags);
	for (pin = 0; pin < NR_PINS; pin++) {
		u64 rte = io->redir[pin];

		if ((u8)rte != vector || !(rte & RTE_REMOTE_IRR))
			continue;
		io->redir[pin] &= ~RTE_REMOTE_IRR;
		if (io->lines & BIT(pin))
			io->resend |= BIT(pin);
	}
	if (io->resend)
		irq_work_queue(&io->eoi_work);
	spin_unlock_irqrestore(&io->lock, flags);
}

/* The indirect register @reg; io->lock held. */
static u32 ioapic_read_reg(struct ioapic *io, u8 reg)
{
	union IO_APIC_reg_01 ver = { .raw = 0 };
	unsigned int pin;

	switch (reg) {
	case REG_ID:
		return (u32)io->id << 24;
	case REG_VERSION:
		ver.bits.version = IOAPIC_VERSION;
		ver.bits.entries = NR_PINS - 1;
		return ver.raw;
	case REG_ARB:
		/* Arbitration ID follows the APIC ID, as after a reset. */
		return (u32)io->id << 24;
	}
	if (reg < REG_REDIR || reg >= REG_REDIR + 2 * NR_PINS)
		return 0;
	pin = (reg - REG_REDIR) / 2;
	return reg & 1 ? upper_32_bits(io->redir[pin]) :
			 lower_32_bits(io->redir[pin]);
}

/*
 * Write @val to the indirect register @reg; io->lock held. Returns true
 * and fills @irq when the pin must send (a level-triggered line unmasked
 * while asserted).
 */
static bool ioapic_write_reg(struct ioapic *io, u8 reg, u32 val,
			     unsigned int *pinp, struct apic_irq *irq)
{
	unsigned int pin;
	u64 rte, old;

	if (reg == REG_ID) {
		io->id = (val >> 24) & ID_MASK;
		return false;
	}
	if (reg < REG_REDIR || reg >= REG_REDIR + 2 * NR_PINS)
		return false;	/* read-only or unimplemented */
	pin = (reg - REG_REDIR) / 2;
	old = io->redir[pin];
	if (reg & 1)
		rte = (old & GENMASK_ULL(31, 0)) | ((u64)val << 32);
	else
		rte = (old & GENMASK_ULL(63, 32)) | val;
	rte = (rte & RTE_WRITABLE) | (old & RTE_REMOTE_IRR);
	/* An edge-triggered pin never waits for an EOI. */
	if (!rte_level(rte))
		rte &= ~RTE_REMOTE_IRR;
	io->redir[pin] = rte;
	*pinp = pin;
	return rte_level(rte) && (io->lines & BIT(pin)) &&
	       pin_fire(io, pin, irq);
}

/* MMIO offset @off, read @len bytes wide. */
static u64 ioapic_mmio_read(struct ioapic *io, unsigned int off,
			    unsigned int len)
{
	unsigned int shift = (off & 3) * 8;
	u64 val = 0;

	switch (off & ~3) {
	case IOREGSEL:
		val = io->ioregsel;
		break;
	case IOWIN:
		val = ioapic_read_reg(io, io->ioregsel);
		break;
	}
	val >>= shift;
	return len >= 8 ? val : val & GENMASK_ULL(len * 8 - 1, 0);
}

/*
 * An access to the page, out of line: its interrupt array (zeroed on
 * entry where the kernel zeroes locals) is for the I/O APIC's accesses,
 * not for every MMIO access that asks whether it is one.
 */
static noinline void ioapic_access(struct vcpu *vcpu, unsigned int off,
				   unsigned int len, bool write, u64 *val)
{
	struct vm *vm = vcpu->vm;
	struct ioapic *io = vm->ioapic;
	struct apic_irq irqs[NR_PINS];
	unsigned long flags;
	unsigned int pin = 0;
	u32 send = 0;

	spin_lock_irqsave(&io->lock, flags);
	if (!write) {
		*val = ioapic_mmio_read(io, off, len);
	} else if (off == IOREGSEL) {
		io->ioregsel = *val;
	} else if (off == IOWIN && len >= 4) {
		if (ioapic_write_reg(io, io->ioregsel, *val, &pin, &irqs[0]))
			send = 1;
	} else if (off == IOEOI && len >= 4) {
		send = ioapic_eoi_locked(io, *val, irqs);
	}
	spin_unlock_irqrestore(&io->lock, flags);

	if (off == IOWIN && send)
		pin_send(vm, pin, &irqs[0]);
	else if (send)
		ioapic_send_pins(vm, send, irqs);
}

/**
 * ioapic_mmio() - a guest access to the I/O APIC's page
 * @vcpu: the vCPU that made it
 * @gpa: guest physical address
 * @len: bytes, 1 to 8
 * @write: a write of *@val, else a read into *@val
 * @val: the value
 *
 * IOREGSEL takes a write of any width at its first byte; IOWIN and the
 * EOI register take aligned 32-bit (and 64-bit, whose upper half is
 * dropped) writes; other writes are ignored. Reads of any width return
 * the bytes of the register dwords they cover; everything else in the
 * page reads as zero. Called from exit handlers with interrupts off.
 *
 * Return: true when @gpa is in the I/O APIC's page and the access is done.
 */
bool ioapic_mmio(struct vcpu *vcpu, u64 gpa, unsigned int len, bool write,
		 u64 *val)
{
	if (gpa < MINIVMM_IOAPIC_ADDR || gpa - MINIVMM_IOAPIC_ADDR >= PAGE_SIZE)
		return false;
	ioapic_access(vcpu, gpa - MINIVMM_IOAPIC_ADDR, len, write, val);
	return true;
}

/* ---- MSI ---------------------------------------------------------------- */

/*
 * The message of an MSI write of @data to @address, or -EINVAL when a
 * reserved bit is set or the delivery mode is reserved.
 */
static int msi_decode(u64 address, u32 data, struct apic_irq *irq)
{
	union {
		u32 raw;
		struct x86_msi_addr_lo f;
	} a = { .raw = lower_32_bits(address) };
	union {
		u32 raw;
		struct x86_msi_data f;
	} d = { .raw = data };

	if (address & MSI_ADDR_RESERVED || data & MSI_DATA_RESERVED)
		return -EINVAL;
	if (a.f.base_address != X86_MSI_BASE_ADDRESS_LOW)
		return -EINVAL;
	switch (d.f.delivery_mode << 8) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
	case APIC_DM_SMI:
	case APIC_DM_NMI:
	case APIC_DM_INIT:
	case APIC_DM_EXTINT:
		break;
	default:
		return -EINVAL;
	}
	memset(irq, 0, sizeof(*irq));
	irq->vector = d.f.vector;
	irq->delivery_mode = d.f.delivery_mode << 8;	/* APIC_DM_* */
	irq->level = d.f.is_level;
	irq->dest = a.f.destid_0_7;
	/*
	 * With the redirection hint clear the message goes to the APIC ID in
	 * the destination field whatever the DM bit says; with it set, DM
	 * chooses and the processors with the lowest priority take it.
	 */
	if (a.f.redirect_hint) {
		irq->logical = a.f.dest_mode_logical;
		if (irq->delivery_mode == APIC_DM_FIXED)
			irq->delivery_mode = APIC_DM_LOWEST;
	}
	return 0;
}

/* ---- ioctls -------------------------------------------------------------- */

/**
 * ioapic_irq_line() - MINIVMM_IRQ_LINE
 * @vm: the VM
 * @uarg: user pointer to struct minivmm_irq_line
 *
 * Any thread, while vCPUs run.
 *
 * Return: 0; -EFAULT for a bad pointer; -EINVAL for a pin out of range
 * or a level other than 0 and 1.
 */
static int ioapic_irq_line(struct vm *vm, void __user *uarg)
{
	struct minivmm_irq_line l;

	if (copy_from_user(&l, uarg, sizeof(l)))
		return -EFAULT;
	if (l.pin >= NR_PINS || l.level > 1)
		return -EINVAL;
	ioapic_set_irq(vm, l.pin, l.level);
	return 0;
}

/**
 * ioapic_signal_msi() - MINIVMM_SIGNAL_MSI
 * @vm: the VM
 * @uarg: user pointer to struct minivmm_msi
 *
 * Any thread, while vCPUs run.
 *
 * Return: the number of vCPUs that accepted the interrupt (0 when none
 * did); -EFAULT for a bad pointer; -EINVAL for flags, padding or a
 * reserved address or data bit that is not zero, an address outside
 * 0xfee00000-0xfeefffff or a reserved delivery mode.
 */
static int ioapic_signal_msi(struct vm *vm, void __user *uarg)
{
	struct minivmm_msi m;
	struct apic_irq irq;
	int ret;

	if (copy_from_user(&m, uarg, sizeof(m)))
		return -EFAULT;
	if (m.flags || m.pad)
		return -EINVAL;
	ret = msi_decode(m.address, m.data, &irq);
	if (ret)
		return ret;
	return apic_deliver(vm, NULL, &irq);
}

/* The eventfd was written: interrupt the guest. Any context. */
static void irqfd_fire(struct irqfd *f)
{
	if (f->msi) {
		apic_deliver(f->vm, NULL, &f->irq);
	} else {
		ioapic_set_irq(f->vm, f->pin, true);
		ioapic_set_irq(f->vm, f->pin, false);
	}
}

/*
 * The eventfd's wait queue woke us, its lock held, interrupts off: on a
 * write (EPOLLIN) consume the count and interrupt; on the eventfd's
 * release (EPOLLHUP) unregister, unless VM destruction or DEASSIGN got
 * there first and frees it instead.
 */
static int irqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode,
			int sync, void *key)
{
	struct irqfd *f = container_of(wait, struct irqfd, wait);
	__poll_t events = key_to_poll(key);
	struct ioapic *io = f->vm->ioapic;
	unsigned long flags;
	bool mine = false;
	u64 cnt;

	if (events & EPOLLIN) {
		eventfd_ctx_do_read(f->ctx, &cnt);
		irqfd_fire(f);
	}
	if (events & EPOLLHUP) {
		spin_lock_irqsave(&io->irqfd_lock, flags);
		if (!list_empty(&f->node)) {
			list_del_init(&f->node);
			io->nr_irqfds--;
			mine = true;
		}
		spin_unlock_irqrestore(&io->irqfd_lock, flags);
		if (mine) {
			/*
			 * The walk of the wait queue already holds the next
			 * entry, and the eventfd's file still holds the
			 * context: dropping ours cannot free it under us.
			 */
			list_del_init(&wait->entry);
			eventfd_ctx_put(f->ctx);
			kfree(f);
		}
	}
	return 0;
}

static void irqfd_queue(struct file *file, wait_queue_head_t *wqh,
			poll_table *pt)
{
	struct irqfd *f = container_of(pt, struct irqfd, pt);

	f->wqh = wqh;
	add_wait_queue(wqh, &f->wait);
}

/* @f is off the list, and so ours alone: unhook it and free it. */
static void irqfd_free(struct irqfd *f)
{
	u64 cnt;

	/* Waits for a wake-up callback that is running on it now. */
	eventfd_ctx_remove_wait_queue(f->ctx, &f->wait, &cnt);
	eventfd_ctx_put(f->ctx);
	kfree(f);
}

static struct irqfd *irqfd_find(struct ioapic *io, struct eventfd_ctx *ctx)
{
	struct irqfd *f;

	list_for_each_entry(f, &io->irqfds, node)
		if (f->ctx == ctx)
			return f;
	return NULL;
}

static int irqfd_assign(struct vm *vm, const struct minivmm_irqfd *a)
{
	struct ioapic *io = vm->ioapic;
	struct eventfd_ctx *ctx;
	struct irqfd *f;
	struct file *file;
	__poll_t events;
	int ret;
	u64 cnt;

	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		return -ENOMEM;
	f->vm = vm;
	f->pin = a->pin;
	f->msi = a->flags & MINIVMM_IRQFD_MSI;
	if (f->msi) {
		ret = msi_decode(a->msi_address, a->msi_data, &f->irq);
		if (ret)
			goto free;
	}
	INIT_LIST_HEAD(&f->node);
	init_waitqueue_func_entry(&f->wait, irqfd_wakeup);
	init_poll_funcptr(&f->pt, irqfd_queue);

	file = fget(a->fd);
	if (!file) {
		ret = -EBADF;
		goto free;
	}
	ctx = eventfd_ctx_fileget(file);
	if (IS_ERR(ctx)) {
		ret = PTR_ERR(ctx);
		goto put_fd;
	}
	f->ctx = ctx;

	/* No DEASSIGN may unhook it before it is hooked. */
	mutex_lock(&io->irqfd_mutex);
	spin_lock_irq(&io->irqfd_lock);
	if (irqfd_find(io, ctx))
		ret = -EBUSY;
	else if (io->nr_irqfds >= MINIVMM_MAX_IRQFDS)
		ret = -ENOSPC;
	else
		ret = 0;
	if (!ret) {
		list_add_tail(&f->node, &io->irqfds);
		io->nr_irqfds++;
	}
	spin_unlock_irq(&io->irqfd_lock);
	if (ret) {
		mutex_unlock(&io->irqfd_mutex);
		eventfd_ctx_put(ctx);
		goto put_fd;
	}
	/*
	 * We hold the file, so its release (EPOLLHUP) cannot come before
	 * the entry is on its wait queue.
	 */
	events = vfs_poll(file, &f->pt);
	/* A write before the registration counts too. */
	if (events & EPOLLIN) {
		spin_lock_irq(&f->wqh->lock);
		eventfd_ctx_do_read(ctx, &cnt);
		spin_unlock_irq(&f->wqh->lock);
		if (cnt)
			irqfd_fire(f);
	}
	mutex_unlock(&io->irqfd_mutex);
	fput(file);
	return 0;

put_fd:
	fput(file);
free:
	kfree(f);
	return ret;
}

static int irqfd_deassign(struct vm *vm, int fd)
{
	struct ioapic *io = vm->ioapic;
	struct eventfd_ctx *ctx;
	struct irqfd *f;

	ctx = eventfd_ctx_fdget(fd);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	mutex_lock(&io->irqfd_mutex);
	spin_lock_irq(&io->irqfd_lock);
	f = irqfd_find(io, ctx);
	if (f) {
		list_del_init(&f->node);
		io->nr_irqfds--;
	}
	spin_unlock_irq(&io->irqfd_lock);
	if (f)
		irqfd_free(f);
	mutex_unlock(&io->irqfd_mutex);
	eventfd_ctx_put(ctx);
	return f ? 0 : -ENOENT;
}

/**
 * ioapic_irqfd() - MINIVMM_IRQFD
 * @vm: the VM
 * @uarg: user pointer to struct minivmm_irqfd
 *
 * Return: 0; -EFAULT for a bad pointer; -EBADF when @fd is not an open
 * file; -EINVAL for unknown flags, nonzero reserved fields, a pin out of
 * range, fields that do not belong to the request (a pin with
 * MINIVMM_IRQFD_MSI or _DEASSIGN, MSI fields without MINIVMM_IRQFD_MSI),
 * an MSI that MINIVMM_SIGNAL_MSI refuses, or a file that is not an
 * eventfd; -EBUSY when the eventfd is already an irqfd of this VM;
 * -ENOSPC when the VM has MINIVMM_MAX_IRQFDS irqfds; -ENOENT when
 * deassigning an eventfd that is not one; -ENOMEM.
 */
static int ioapic_irqfd(struct vm *vm, void __user *uarg)
{
	struct minivmm_irqfd a;
	bool msi;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags & ~(MINIVMM_IRQFD_DEASSIGN | MINIVMM_IRQFD_MSI) ||
	    a.reserved[0] || a.reserved[1])
		return -EINVAL;
	msi = a.flags & MINIVMM_IRQFD_MSI;
	if (a.flags & MINIVMM_IRQFD_DEASSIGN) {
		if (msi || a.pin || a.msi_address || a.msi_data)
			return -EINVAL;
		return irqfd_deassign(vm, a.fd);
	}
	if (msi ? a.pin != 0 : a.pin >= NR_PINS || a.msi_address || a.msi_data)
		return -EINVAL;
	return irqfd_assign(vm, &a);
}

/**
 * ioapic_get_state() - MINIVMM_GET_IOAPIC
 * @vm: the VM
 * @uarg: user pointer to struct minivmm_ioapic_state
 *
 * Return: 0, or -EFAULT for a bad pointer.
 */
static int ioapic_get_state(struct vm *vm, void __user *uarg)
{
	struct ioapic *io = vm->ioapic;
	struct minivmm_ioapic_state s;
	unsigned long flags;

	memset(&s, 0, sizeof(s));
	spin_lock_irqsave(&io->lock, flags);
	s.id = io->id;
	s.ioregsel = io->ioregsel;
	s.lines = io->lines;
	memcpy(s.redir, io->redir, sizeof(s.redir));
	spin_unlock_irqrestore(&io->lock, flags);
	return copy_to_user(uarg, &s, sizeof(s)) ? -EFAULT : 0;
}

/**
 * ioapic_set_state() - MINIVMM_SET_IOAPIC
 * @vm: the VM
 * @uarg: user pointer to struct minivmm_ioapic_state
 *
 * Restores the registers and line states as given; sends nothing (a
 * level-triggered pin whose line is asserted with remote IRR clear and
 * unmasked sends at its next line change or EOI, as the restored guest's
 * interrupt was already in its local APIC).
 *
 * Return: 0; -EFAULT for a bad pointer; -EINVAL for an ID above 15, an
 * IOREGSEL above 255, a line bit of a pin that does not exist, nonzero
 * padding or a redirection entry with a bit set that the hardware keeps
 * at zero.
 */
static int ioapic_set_state(struct vm *vm, void __user *uarg)
{
	struct ioapic *io = vm->ioapic;
	struct minivmm_ioapic_state s;
	unsigned long flags;
	unsigned int i;

	if (copy_from_user(&s, uarg, sizeof(s)))
		return -EFAULT;
	if (s.id > ID_MASK || s.ioregsel > 0xff || s.lines >> NR_PINS ||
	    s.pad || memchr_inv(s.reserved, 0, sizeof(s.reserved)))
		return -EINVAL;
	for (i = 0; i < NR_PINS; i++)
		if (s.redir[i] & ~(RTE_WRITABLE | RTE_REMOTE_IRR))
			return -EINVAL;
	spin_lock_irqsave(&io->lock, flags);
	io->id = s.id;
	io->ioregsel = s.ioregsel;
	io->lines = s.lines;
	memcpy(io->redir, s.redir, sizeof(io->redir));
	spin_unlock_irqrestore(&io->lock, flags);
	return 0;
}

/**
 * ioapic_ioctl() - the VM fd's interrupt ioctls
 * @vm: the VM
 * @cmd: MINIVMM_IRQ_LINE, _SIGNAL_MSI, _IRQFD, _GET_IOAPIC or _SET_IOAPIC
 * @uarg: its argument
 *
 * Return: see each ioctl; -ENOTTY for another command.
 */
long ioapic_ioctl(struct vm *vm, unsigned int cmd, void __user *uarg)
{
	switch (cmd) {
	case MINIVMM_IRQ_LINE:
		return ioapic_irq_line(vm, uarg);
	case MINIVMM_SIGNAL_MSI:
		return ioapic_signal_msi(vm, uarg);
	case MINIVMM_IRQFD:
		return ioapic_irqfd(vm, uarg);
	case MINIVMM_GET_IOAPIC:
		return ioapic_get_state(vm, uarg);
	case MINIVMM_SET_IOAPIC:
		return ioapic_set_state(vm, uarg);
	}
	return -ENOTTY;
}

/**
 * ioapic_create() - give a new VM its I/O APIC, in its reset state
 * @vm: the VM
 *
 * Return: 0 or -ENOMEM.
 */
int ioapic_create(struct vm *vm)
{
	struct ioapic *io = kzalloc(sizeof(*io), GFP_KERNEL_ACCOUNT);
	unsigned int pin;

	if (!io)
		return -ENOMEM;
	io->vm = vm;
	spin_lock_init(&io->lock);
	init_irq_work(&io->eoi_work, ioapic_eoi_work);
	for (pin = 0; pin < NR_PINS; pin++)
		io->redir[pin] = RTE_MASKED;
	mutex_init(&io->irqfd_mutex);
	spin_lock_init(&io->irqfd_lock);
	INIT_LIST_HEAD(&io->irqfds);
	vm->ioapic = io;
	return 0;
}

/**
 * ioapic_destroy() - free a VM's I/O APIC and unregister its irqfds
 * @vm: the VM, whose last reference is gone
 *
 * An eventfd that outlives the VM no longer interrupts anything; one
 * whose release races with this is freed by exactly one of the two.
 */
void ioapic_destroy(struct vm *vm)
{
	struct ioapic *io = vm->ioapic;
	struct irqfd *f;

	if (!io)
		return;
	spin_lock_irq(&io->irqfd_lock);
	while (!list_empty(&io->irqfds)) {
		f = list_first_entry(&io->irqfds, struct irqfd, node);
		list_del_init(&f->node);
		io->nr_irqfds--;
		spin_unlock_irq(&io->irqfd_lock);
		irqfd_free(f);
		spin_lock_irq(&io->irqfd_lock);
	}
	spin_unlock_irq(&io->irqfd_lock);
	/* No vCPU is left to EOI; a re-send queued before must be done. */
	irq_work_sync(&io->eoi_work);
	kfree(io);
	vm->ioapic = NULL;
}

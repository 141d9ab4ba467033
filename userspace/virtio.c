// SPDX-License-Identifier: GPL-2.0
/*
 * A virtio console (device ID 3) over virtio-mmio version 2, for 'minivmm
 * run --kernel --virtio-console': the guest's own drivers (virtio_mmio,
 * virtio_console) find it in the DSDT as LNRO0005 and make it /dev/hvc0,
 * whose output goes to the tool's stdout and whose input comes from the
 * tool's stdin (the UART then gets none).
 *
 * The registers are MMIO exits the vCPU's thread handles here, all but
 * one: QueueNotify is an ioeventfd (MINIVMM_IOEVENTFD), so the guest's
 * kick adds to an eventfd inside the kernel and the vCPU goes on. The
 * device's thread waits on that eventfd, takes what the guest made
 * available on the transmit queue (split virtqueue), writes it out,
 * returns the buffers in the used ring, sets the interrupt status and
 * writes the irqfd (MINIVMM_IRQFD) of I/O APIC pin VIRTIO_CONSOLE_GSI:
 * the interrupt goes in from that write, in the kernel, with no exit and
 * no ioctl.
 *
 * The receive queue is served by the same thread: while the guest has
 * receive buffers available and no input is held, it waits on stdin as
 * well as on the eventfd; what one read of stdin brings is held until
 * it is all in the guest's buffers, which go to the used ring as they
 * are filled, with an interrupt as on the transmit queue. Without
 * buffers stdin is not read (it stays in the pipe or the terminal), and
 * buffers the guest posts stay available until input comes. Input held
 * across a reset of the device goes to the next buffers. At the end of
 * stdin the thread stops reading it; the guest is not told (virtio's
 * console has no end of input).
 *
 * The module's irqfd pulses its pin (no resampling irqfd), so the DSDT
 * declares the interrupt edge-triggered: every pulse is an edge the
 * guest takes. A level-triggered line would have to stay up until the
 * guest's InterruptACK, which only MINIVMM_IRQ_LINE from this thread
 * could do, an ioctl per interrupt; and a pulse on a level pin whose
 * remote IRR is still set (the guest in its handler) would be lost.
 * With edges, a pulse during the handler makes the LAPIC take it again
 * after the EOI, and the handler finds the new status.
 *
 * Everything the guest names is checked against its RAM: the rings when
 * the queue is made ready, each buffer before it is read. A bad one
 * sets DEVICE_NEEDS_RESET, stops the queue and says so once on stderr;
 * the tool goes on.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "lib/libminivmm.h"
#include "minivmm.h"
#include "virtio.h"

/* The MagicValue register: "virt" in little-endian. */
#define VIRTIO_MMIO_MAGIC	0x74726976
#define VIRTIO_MMIO_MODERN	2
/* VendorID: "MVMM". */
#define VIRTIO_VENDOR		0x4d4d564d
#define QUEUE_NUM_MAX		256
#define QUEUE_RX		0	/* receiveq: port 0's input */
#define QUEUE_TX		1	/* transmitq: port 0's output */
#define NR_QUEUES		2
/* What the device offers: VIRTIO_F_VERSION_1, nothing else. */
#define DEVICE_FEATURES		(1ULL << VIRTIO_F_VERSION_1)
/* What one read of stdin takes at most. */
#define INPUT_SIZE		4096

struct vq {
	bool ready;
	bool broken;
	uint32_t num;
	uint64_t desc, avail, used;
	uint16_t last_avail;	/* the next avail entry to take */
	uint16_t used_idx;	/* the used ring's idx as last written */
	struct vring_desc *d;	/* the rings, in the tool's mapping */
	uint16_t *a;		/* flags, idx, ring[num] */
	uint8_t *u;		/* flags, idx, ring[num] of id and len */
};

struct virtio_console {
	struct mvm *vm;
	pthread_mutex_t lock;	/* the vCPUs' register accesses, the thread */
	uint32_t status;
	uint32_t dev_features_sel, drv_features_sel;
	uint64_t drv_features;
	uint32_t queue_sel;
	struct vq q[NR_QUEUES];
	atomic_uint isr;	/* InterruptStatus */
	int kick_fd;		/* the ioeventfd of QueueNotify */
	int irq_fd;		/* the irqfd of VIRTIO_CONSOLE_GSI */
	pthread_t thread;
	atomic_bool stopping;
	bool warned;
	int in_fd;		/* stdin; -1 at its end, or without input */
	/* Read from in_fd, not yet in a receive buffer: the thread's own. */
	uint8_t in[INPUT_SIZE];
	size_t in_off, in_len;
	atomic_ullong requests, bytes, bytes_in, interrupts;
};

bool virtio_console_owns(uint64_t gpa)
{
	return gpa >= VIRTIO_CONSOLE_ADDR &&
	       gpa < VIRTIO_CONSOLE_ADDR + VIRTIO_CONSOLE_SIZE;
}

static void reset(struct virtio_console *c)
{
	c->status = 0;
	c->dev_features_sel = 0;
	c->drv_features_sel = 0;
	c->drv_features = 0;
	c->queue_sel = 0;
	memset(c->q, 0, sizeof(c->q));
	atomic_store(&c->isr, 0);
}

static void raise_irq(struct virtio_console *c, unsigned int why)
{
	uint64_t one = 1;

	atomic_fetch_or(&c->isr, why);
	if (write(c->irq_fd, &one, sizeof(one)) == sizeof(one))
		atomic_fetch_add(&c->interrupts, 1);
}

/* The device cannot go on with @q: the guest must reset it. Locked. */
static void broken(struct virtio_console *c, struct vq *q, const char *why)
{
	q->broken = true;
	c->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	if (!c->warned) {
		c->warned = true;
		warn("virtio-console: %s; the device needs a reset", why);
	}
	raise_irq(c, VIRTIO_MMIO_INT_CONFIG);
}

/* QueueReady: map and check the rings. Locked. */
static void queue_ready(struct virtio_console *c, struct vq *q)
{
	uint32_t n = q->num;

	if (!n || n > QUEUE_NUM_MAX || (n & (n - 1)) || q->desc & 15 ||
	    q->avail & 1 || q->used & 3) {
		broken(c, q, "a queue size or ring alignment virtio forbids");
		return;
	}
	q->d = mvm_gpa(c->vm, q->desc, 16 * n);
	q->a = mvm_gpa(c->vm, q->avail, 6 + 2 * n);
	q->u = mvm_gpa(c->vm, q->used, 6 + 8 * n);
	if (!q->d || !q->a || !q->u) {
		broken(c, q, "a ring outside guest RAM");
		return;
	}
	q->last_avail = 0;
	q->used_idx = 0;
	q->ready = true;
}

/* Return the chain at @head, @len bytes written into it. Locked. */
static void put_used(struct vq *q, uint16_t head, uint32_t len)
{
	uint32_t elem[2] = { head, len };

	memcpy(q->u + 4 + 8 * (q->used_idx % q->num), elem, sizeof(elem));
	q->used_idx++;
	q->last_avail++;
}

/* Publish the used ring and interrupt, unless the guest said not to. */
static void publish_used(struct virtio_console *c, struct vq *q)
{
	uint16_t flags;

	__atomic_store_n((uint16_t *)(q->u + 2), q->used_idx,
			 __ATOMIC_RELEASE);
	/* The used idx before the guest's flags: it may have just set them. */
	atomic_thread_fence(memory_order_seq_cst);
	flags = __atomic_load_n(&q->a[0], __ATOMIC_RELAXED);
	if (!(flags & VRING_AVAIL_F_NO_INTERRUPT))
		raise_irq(c, VIRTIO_MMIO_INT_VRING);
}

/*
 * The available entries of @q that are not taken yet: 0 if there are
 * none, or the queue is not in use, or (having marked it broken) the
 * guest made more available than the queue holds. Locked.
 */
static uint16_t avail_count(struct virtio_console *c, struct vq *q)
{
	uint16_t n;

	if (!q->ready || q->broken)
		return 0;
	n = __atomic_load_n(&q->a[1], __ATOMIC_ACQUIRE) - q->last_avail;
	if (n > q->num) {
		broken(c, q, "more buffers available than the queue holds");
		return 0;
	}
	return n;
}

/*
 * The chain from descriptor @head: on the transmit queue (@rx false)
 * write its buffers to stdout; on the receive queue fill them with held
 * input, its length in *@len. False if a descriptor is out of the table
 * or guest RAM, indirect, device-writable on the transmit queue or not
 * on the receive queue, or the chain loops.
 */
static bool do_chain(struct virtio_console *c, struct vq *q, uint16_t head,
		     bool rx, uint32_t *len)
{
	uint32_t i = head, n, k;
	struct vring_desc d;
	void *buf;

	*len = 0;
	for (n = 0; n < q->num; n++) {
		if (i >= q->num)
			return false;
		memcpy(&d, &q->d[i], sizeof(d));
		if ((d.flags & VRING_DESC_F_INDIRECT) ||
		    !!(d.flags & VRING_DESC_F_WRITE) != rx)
			return false;
		buf = d.len ? mvm_gpa(c->vm, d.addr, d.len) : NULL;
		if (d.len && !buf)
			return false;
		if (rx) {
			k = d.len < c->in_len ? d.len : c->in_len;
			if (k)
				memcpy(buf, c->in + c->in_off, k);
			c->in_off += k;
			c->in_len -= k;
			*len += k;
			atomic_fetch_add(&c->bytes_in, k);
		} else if (d.len) {
			fwrite(buf, 1, d.len, stdout);
			atomic_fetch_add(&c->bytes, d.len);
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			return true;
		i = d.next;
	}
	return false;
}

/*
 * Take the available buffers of queue @qi: send those of the transmit
 * queue, fill those of the receive queue while input is held. Locked.
 */
static void serve(struct virtio_console *c, unsigned int qi)
{
	struct vq *q = &c->q[qi];
	bool rx = qi == QUEUE_RX, used = false;
	uint16_t n, head;
	uint32_t len;

	if (rx && !c->in_len)
		return;
	for (n = avail_count(c, q); n && (!rx || c->in_len); n--) {
		head = __atomic_load_n(&q->a[2 + q->last_avail % q->num],
				       __ATOMIC_RELAXED);
		if (!do_chain(c, q, head, rx, &len)) {
			broken(c, q, "a bad descriptor chain");
			break;
		}
		put_used(q, head, len);
		if (!rx)
			atomic_fetch_add(&c->requests, 1);
		used = true;
	}
	if (!used)
		return;
	if (!rx)
		fflush(stdout);
	publish_used(c, q);
}

/* Read what stdin has, to hold until the guest takes it. */
static void read_input(struct virtio_console *c)
{
	ssize_t n = read(c->in_fd, c->in, sizeof(c->in));

	if (n > 0) {
		c->in_off = 0;
		c->in_len = n;
	} else if (!n || (errno != EINTR && errno != EAGAIN)) {
		c->in_fd = -1;		/* its end, or an error: no more */
	}
}

/*
 * The device's thread: it sleeps until the guest kicks, or until stdin
 * has input while the guest has buffers for it and none is held.
 */
static void *device_thread(void *arg)
{
	struct virtio_console *c = arg;
	struct pollfd p[2] = {
		{ .fd = c->kick_fd, .events = POLLIN },
		{ .fd = c->in_fd, .events = POLLIN },
	};
	bool want_input;
	uint64_t count;

	while (!atomic_load(&c->stopping)) {
		pthread_mutex_lock(&c->lock);
		want_input = false;
		if (c->status & VIRTIO_CONFIG_S_DRIVER_OK) {
			serve(c, QUEUE_TX);
			serve(c, QUEUE_RX);
			want_input = c->in_fd >= 0 && !c->in_len &&
				     avail_count(c, &c->q[QUEUE_RX]);
		}
		pthread_mutex_unlock(&c->lock);

		p[1].fd = c->in_fd;
		if (poll(p, want_input ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents &&
		    read(c->kick_fd, &count, sizeof(count)) < 0 &&
		    errno != EAGAIN)
			break;
		if (want_input && p[1].revents)
			read_input(c);
	}
	return NULL;
}

struct virtio_console *virtio_console_start(struct mvm *vm, int in_fd)
{
	struct virtio_console *c = calloc(1, sizeof(*c));
	struct minivmm_ioeventfd io = {
		.addr = VIRTIO_CONSOLE_ADDR + VIRTIO_MMIO_QUEUE_NOTIFY,
		.len = 4,
	};
	struct minivmm_irqfd irq = { .pin = VIRTIO_CONSOLE_GSI };
	sigset_t all, old;
	int err;

	if (!c)
		return NULL;
	c->vm = vm;
	c->in_fd = in_fd;
	pthread_mutex_init(&c->lock, NULL);
	reset(c);
	c->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->irq_fd = eventfd(0, EFD_CLOEXEC);
	if (c->kick_fd < 0 || c->irq_fd < 0)
		goto fail;
	io.fd = c->kick_fd;
	irq.fd = c->irq_fd;
	if (ioctl(mvm_fd(vm), MINIVMM_IOEVENTFD, &io) ||
	    ioctl(mvm_fd(vm), MINIVMM_IRQFD, &irq))
		goto fail;
	/* Signals are the vCPU threads': they stop the guest. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&c->thread, NULL, device_thread, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		errno = err;
		goto fail;
	}
	return c;
fail:
	err = errno;
	if (c->kick_fd >= 0)
		close(c->kick_fd);
	if (c->irq_fd >= 0)
		close(c->irq_fd);
	free(c);
	errno = err;
	return NULL;
}

void virtio_console_stop(struct virtio_console *c)
{
	uint64_t one = 1;

	if (!c)
		return;
	atomic_store(&c->stopping, true);
	if (write(c->kick_fd, &one, sizeof(one)) != sizeof(one))
		pthread_cancel(c->thread);
	pthread_join(c->thread, NULL);
	fflush(stdout);
	close(c->kick_fd);
	close(c->irq_fd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void virtio_console_stats(struct virtio_console *c, uint64_t *requests,
			  uint64_t *bytes, uint64_t *bytes_in,
			  uint64_t *interrupts)
{
	*requests = atomic_load(&c->requests);
	*bytes = atomic_load(&c->bytes);
	*bytes_in = atomic_load(&c->bytes_in);
	*interrupts = atomic_load(&c->interrupts);
}

static uint32_t reg_read(struct virtio_console *c, unsigned int off)
{
	struct vq *q = c->queue_sel < NR_QUEUES ? &c->q[c->queue_sel] : NULL;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_MODERN;
	case VIRTIO_MMIO_DEVICE_ID:
		return VIRTIO_ID_CONSOLE;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return c->dev_features_sel < 2 ?
		       DEVICE_FEATURES >> (32 * c->dev_features_sel) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? QUEUE_NUM_MAX : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q && q->ready;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return atomic_load(&c->isr);
	case VIRTIO_MMIO_STATUS:
		return c->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		return ~0U;		/* no shared memory regions */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return 0;
	}
	return 0;
}

/* Write @v to the low (@high false) or high half of @reg. */
static void set_half(uint64_t *reg, bool high, uint32_t v)
{
	if (high)
		*reg = (*reg & 0xffffffffULL) | (uint64_t)v << 32;
	else
		*reg = (*reg & ~0xffffffffULL) | v;
}

static void status_write(struct virtio_console *c, uint32_t v)
{
	uint32_t was = c->status;
	uint64_t one = 1;

	if (!v) {
		reset(c);
		return;
	}
	/* FEATURES_OK only for what was offered, VERSION_1 included. */
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    ((c->drv_features & ~DEVICE_FEATURES) ||
	     !(c->drv_features & (1ULL << VIRTIO_F_VERSION_1))))
		v &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	c->status = (c->status & VIRTIO_CONFIG_S_NEEDS_RESET) | v;
	/*
	 * The thread serves nothing before DRIVER_OK: buffers the driver
	 * made available before it are served now.
	 */
	if ((c->status & ~was & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    write(c->kick_fd, &one, sizeof(one)) != sizeof(one))
		warn("virtio-console: a lost notification");
}

static void reg_write(struct virtio_console *c, unsigned int off, uint32_t v)
{
	struct vq *q = c->queue_sel < NR_QUEUES ? &c->q[c->queue_sel] : NULL;
	uint64_t one = 1;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		c->dev_features_sel = v;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (c->drv_features_sel < 2)
			set_half(&c->drv_features, c->drv_features_sel, v);
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		c->drv_features_sel = v;
		return;
	case VIRTIO_MMIO_QUEUE_SEL:
		c->queue_sel = v;
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* The ioeventfd takes these: should one come, the same. */
		if (write(c->kick_fd, &one, sizeof(one)) != sizeof(one))
			warn("virtio-console: a lost notification");
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		atomic_fetch_and(&c->isr, ~v);
		return;
	case VIRTIO_MMIO_STATUS:
		status_write(c, v);
		return;
	case VIRTIO_MMIO_QUEUE_READY:
		/* A driver tearing a queue down reads back 0. */
		if (q && !(v & 1) && q->ready) {
			q->ready = false;
			q->d = NULL;
			q->a = NULL;
			q->u = NULL;
			return;
		}
		break;
	}
	/* The queue's registers: only while it is not ready. */
	if (!q || q->ready || q->broken)
		return;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		q->num = v;
		return;
	case VIRTIO_MMIO_QUEUE_READY:
		if (v & 1)
			queue_ready(c, q);
		return;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_half(&q->desc, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, v);
		return;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		set_half(&q->avail, off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, v);
		return;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		set_half(&q->used, off == VIRTIO_MMIO_QUEUE_USED_HIGH, v);
		return;
	}
}

void virtio_console_mmio(struct virtio_console *c, uint64_t gpa,
			 unsigned int len, bool is_write, uint64_t *data)
{
	unsigned int off = gpa - VIRTIO_CONSOLE_ADDR;

	pthread_mutex_lock(&c->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		/* struct virtio_console_config: nothing offered, all zero. */
		if (!is_write)
			*data = 0;
	} else if (len != 4 || off & 3) {
		/* The registers are 32 bits wide, accessed so. */
		if (!is_write)
			*data = 0;
	} else if (is_write) {
		reg_write(c, off, *data);
	} else {
		*data = reg_read(c, off);
	}
	pthread_mutex_unlock(&c->lock);
}

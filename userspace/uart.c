// SPDX-License-Identifier: GPL-2.0
/*
 * A 16550A UART: what a guest driver (or a polling loop) needs to talk
 * over COM1 to the terminal of 'minivmm run'.
 *
 * Transmitting is instantaneous: the THR is always empty (LSR THRE and
 * TEMT set) and every byte goes straight to stdout. Received bytes come
 * from stdin, read by a thread of their own as they arrive, so LSR DR
 * says whether input is there. The modem lines are those of a connected cable: CTS and DSR
 * always, DCD (carrier) until stdin reaches its end. MCR loopback mode
 * routes the transmitter to the receiver and the modem controls to the
 * modem status, as the real chip does (drivers probe with it). The
 * divisor latch, LCR, FCR and SCR hold what is written and change
 * nothing. Interrupts (IIR) are computed as the chip would raise them;
 * when one becomes pending (a rising edge, as on an ISA line) the UART
 * calls the raise function 'minivmm run' gave it, from whichever thread
 * made it pending: the vCPU's on a register access, the reader's when
 * input arrives, so the interrupt reaches a running or halted guest at
 * once. A lock serialises the two threads.
 *
 * Posted transmit (uart_post_start()): a write to the THR that is a plain
 * transmit needs no answer, so it can go to the vCPU's posted ring
 * instead of out of RUN, and be applied later, in order: by the vCPU's
 * thread before it handles any exit (so whatever the guest reads, and
 * whatever it writes elsewhere, comes after the bytes it sent before),
 * and by a drain thread while the guest runs without exits, so output
 * is not held back. Which writes may be posted depends on the UART's
 * state: with LCR.DLAB the THR is the divisor latch, and in loopback
 * mode a byte sent is one received (data ready, perhaps an interrupt,
 * which the guest expects at once): the posted range exists only while
 * neither is set, and is removed by the LCR or MCR write that sets one,
 * before the guest goes on. IER is no reason: with its THR-empty
 * interrupt enabled, the write makes the interrupt pending when it is
 * applied, which is at the latest when the guest next reads a register
 * (the read exits, the ring is applied first, so IIR and LSR agree with
 * it) and otherwise within a drain period, as a real 16550's interrupt
 * comes when its transmitter has sent the byte. A guest halted until
 * that interrupt is woken by the drain thread, which polls the ring
 * every millisecond while the guest sends, backing off to 10 ms. Writes of several vCPUs
 * would be in several rings with no order between them, so the tool
 * posts only for a VM with one vCPU.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/minivmm.h>

#include "minivmm.h"
#include "snapshot.h"
#include "uart.h"

#define RBR	0	/* read; DLL with LCR.DLAB */
#define THR	0	/* write */
#define IER	1	/* DLM with LCR.DLAB */
#define IIR	2	/* read */
#define FCR	2	/* write */
#define LCR	3
#define MCR	4
#define LSR	5
#define MSR	6
#define SCR	7

#define IER_RDI		0x01	/* received data available */
#define IER_THRI	0x02	/* transmitter holding register empty */
#define IER_MASK	0x0f
#define IIR_NO_INT	0x01
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_FIFO	0xc0
#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define LCR_DLAB	0x80
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define MCR_MASK	0x1f
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

/*
 * The drain thread's period: short while the guest sends (an interrupt-
 * driven driver waits for the THR-empty interrupt after each 16 bytes),
 * doubling with each empty pass up to the longest, when it does not.
 * Each pass is a wake-up of the host's: a guest that exits anyway (one
 * that reads LSR before each byte) would pay for shorter ones.
 */
#define DRAIN_MIN_US	1000
#define DRAIN_MAX_US	10000

static void post_update(struct uart *u);

static void rx_push(struct uart *u, uint8_t c)
{
	if (u->rx_head + u->rx_len < UART_RX_SIZE)
		u->rx[u->rx_head + u->rx_len++] = c;
}

static bool irq_pending(struct uart *u);

/*
 * The reader: one read of stdin at a time into the empty receive buffer
 * (the guest drains it before the next), until the end of the input.
 */
static void *uart_reader(void *arg)
{
	struct uart *u = arg;
	uint8_t buf[UART_RX_SIZE];
	bool was, now;
	ssize_t n;

	for (;;) {
		pthread_mutex_lock(&u->lock);
		while (u->rx_len || (u->mcr & MCR_LOOP))
			pthread_cond_wait(&u->drained, &u->lock);
		pthread_mutex_unlock(&u->lock);

		n = read(u->in_fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;

		pthread_mutex_lock(&u->lock);
		was = irq_pending(u);
		if (n > 0) {
			memcpy(u->rx, buf, n);
			u->rx_head = 0;
			u->rx_len = n;
		} else {
			u->in_fd = -1;		/* the end of the input: no carrier */
		}
		now = irq_pending(u);
		pthread_mutex_unlock(&u->lock);
		if (!was && now && u->raise)
			u->raise(u->raise_arg);
		if (n <= 0)
			return NULL;
	}
}

void uart_start_reader(struct uart *u, int in_fd)
{
	sigset_t all, old;
	pthread_t t;

	u->in_fd = in_fd;
	if (in_fd < 0)
		return;
	/* Signals are the vCPU thread's: they stop the guest. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&t, NULL, uart_reader, u))
		u->in_fd = -1;
	else
		pthread_detach(t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void uart_init(struct uart *u, int in_fd, FILE *out,
	       void (*raise)(void *arg), void *arg)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->drained, NULL);
	u->out = out;
	u->raise = raise;
	u->raise_arg = arg;
	u->mcr = MCR_OUT2;
	u->lcr = 0x03;		/* 8N1 */
	u->dll = 12;		/* 9600 baud */
	uart_start_reader(u, in_fd);
}

static uint8_t iir(struct uart *u)
{
	uint8_t fifo = u->fcr & FCR_ENABLE ? IIR_FIFO : 0;

	if ((u->ier & IER_RDI) && u->rx_len)
		return IIR_RDI | fifo;
	if ((u->ier & IER_THRI) && u->thre_irq)
		return IIR_THRI | fifo;
	return IIR_NO_INT | fifo;
}

static bool irq_pending(struct uart *u)
{
	return !(iir(u) & IIR_NO_INT);
}

static uint8_t uart_in_locked(struct uart *u, unsigned int offset)
{
	uint8_t v;

	switch (offset) {
	case RBR:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		if (!u->rx_len) {
			fflush(u->out);
			return 0;
		}
		v = u->rx[u->rx_head++];
		if (!--u->rx_len)
			pthread_cond_signal(&u->drained);
		return v;
	case IER:
		return u->lcr & LCR_DLAB ? u->dlm : u->ier;
	case IIR:
		v = iir(u);
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if ((v & 0x0f) == IIR_THRI)
			u->thre_irq = false;
		return v;
	case LCR:
		return u->lcr;
	case MCR:
		return u->mcr;
	case LSR:
		/*
		 * Polled again without sending: the guest waits for input,
		 * show what it printed (a prompt). A guest that checks for
		 * THR empty before each byte does not get a flush per byte.
		 */
		if (!u->rx_len && ++u->idle_polls >= 2)
			fflush(u->out);
		return LSR_THRE | LSR_TEMT | (u->rx_len ? LSR_DR : 0);
	case MSR:
		if (u->mcr & MCR_LOOP)
			return (u->mcr & MCR_DTR ? MSR_DSR : 0) |
			       (u->mcr & MCR_RTS ? MSR_CTS : 0) |
			       (u->mcr & MCR_OUT1 ? MSR_RI : 0) |
			       (u->mcr & MCR_OUT2 ? MSR_DCD : 0);
		return MSR_CTS | MSR_DSR | (u->in_fd >= 0 ? MSR_DCD : 0);
	default:
		return u->scr;
	}
}

static void uart_out_locked(struct uart *u, unsigned int offset,
			    uint8_t value)
{
	switch (offset) {
	case THR:
		if (u->lcr & LCR_DLAB) {
			u->dll = value;
			return;
		}
		u->idle_polls = 0;
		if (u->mcr & MCR_LOOP) {
			rx_push(u, value);
		} else {
			fputc(value, u->out);
			if (value == '\n')
				fflush(u->out);
		}
		/* Sent at once: the THR is empty again. */
		u->thre_irq = true;
		return;
	case IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = value;
			return;
		}
		/* Enabling it with the THR empty raises it, as on the chip. */
		if ((value & IER_THRI) && !(u->ier & IER_THRI))
			u->thre_irq = true;
		u->ier = value & IER_MASK;
		return;
	case FCR:
		u->fcr = value & FCR_ENABLE;
		if (value & FCR_CLEAR_RX) {
			u->rx_len = 0;
			pthread_cond_signal(&u->drained);
		}
		return;
	case LCR:
		u->lcr = value;
		post_update(u);
		return;
	case MCR:
		u->mcr = value & MCR_MASK;
		post_update(u);
		/* Out of loopback mode the reader may fill the buffer again. */
		pthread_cond_signal(&u->drained);
		return;
	case SCR:
		u->scr = value;
		return;
	default:
		return;		/* LSR and MSR are read-only */
	}
}

/* An access from the vCPU's thread, and the edge it may raise. */
uint8_t uart_in(struct uart *u, unsigned int offset)
{
	bool was, now;
	uint8_t v;

	pthread_mutex_lock(&u->lock);
	was = irq_pending(u);
	v = uart_in_locked(u, offset);
	now = irq_pending(u);
	pthread_mutex_unlock(&u->lock);
	if (!was && now && u->raise)
		u->raise(u->raise_arg);
	return v;
}

void uart_out(struct uart *u, unsigned int offset, uint8_t value)
{
	bool was, now;

	pthread_mutex_lock(&u->lock);
	was = irq_pending(u);
	uart_out_locked(u, offset, value);
	now = irq_pending(u);
	pthread_mutex_unlock(&u->lock);
	if (!was && now && u->raise)
		u->raise(u->raise_arg);
}

/* ---- posted transmit ------------------------------------------------ */

static int post_range(struct uart *u, uint32_t flags)
{
	struct minivmm_posted_range r = {
		.addr = UART_BASE + THR, .size = 1,
		.flags = MINIVMM_POSTED_PIO | flags,
	};

	return ioctl(u->vm_fd, MINIVMM_POSTED_RANGE, &r) ? -errno : 0;
}

/*
 * With u->lock held, on the thread handling an LCR or MCR write: the THR
 * is posted exactly while a write to it is a plain transmit. Removing
 * the range returns once no vCPU can post to it any more: the guest,
 * stopped at this exit, finds it gone.
 */
static void post_update(struct uart *u)
{
	bool want = u->ring && !(u->lcr & LCR_DLAB) && !(u->mcr & MCR_LOOP);
	int ret;

	if (want == u->posting)
		return;
	if (want) {
		/* Should it fail, the writes exit: slower, as correct. */
		u->posting = !post_range(u, 0);
		return;
	}
	ret = post_range(u, MINIVMM_POSTED_DELETE);
	if (ret)
		die("cannot stop posting UART writes: %s", strerror(-ret));
	u->posting = false;
}

/* Apply what the ring holds; how many writes that was. */
static unsigned int post_drain(struct uart *u)
{
	struct minivmm_posted_ring *r = u->ring;
	struct minivmm_posted_entry e;
	unsigned int n = 0, i;
	uint32_t head, tail;

	pthread_mutex_lock(&u->drain_lock);
	head = r->head;
	tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	if (tail >= MINIVMM_POSTED_RING_ENTRIES)
		tail = head;		/* never from the module */
	while (head != tail) {
		e = r->entry[head];
		/* Only the THR is posted; a wider OUT is one per port. */
		if ((e.flags & MINIVMM_POSTED_ENTRY_PIO) && e.len <= 4 &&
		    e.addr >= UART_BASE && e.addr + e.len <= UART_BASE + UART_PORTS)
			for (i = 0; i < e.len; i++)
				uart_out(u, e.addr + i - UART_BASE,
					 e.data >> (8 * i));
		head = head + 1 == MINIVMM_POSTED_RING_ENTRIES ? 0 : head + 1;
		n++;
	}
	__atomic_store_n(&r->head, head, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&u->drain_lock);
	return n;
}

void uart_post_drain(struct uart *u)
{
	if (u->ring)
		post_drain(u);
}

/*
 * The drain thread: the bytes a guest sends while it runs without exits
 * (or halts, waiting for the THR-empty interrupt) go out, and raise the
 * interrupt, within a period.
 */
static void *uart_drainer(void *arg)
{
	struct uart *u = arg;
	unsigned int us = DRAIN_MAX_US;

	while (!atomic_load(&u->stopping)) {
		usleep(us);
		if (post_drain(u)) {
			fflush(u->out);
			us = DRAIN_MIN_US;
		} else if (us < DRAIN_MAX_US) {
			us = us * 2 < DRAIN_MAX_US ? us * 2 : DRAIN_MAX_US;
		}
	}
	return NULL;
}

int uart_post_start(struct uart *u, int vm_fd, int vcpu_fd)
{
	sigset_t all, old;
	void *p;
	int ret;

	p = mmap(NULL, MINIVMM_POSTED_RING_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED, vcpu_fd, MINIVMM_POSTED_RING_OFFSET);
	if (p == MAP_FAILED)
		return -errno;
	if (((struct minivmm_posted_ring *)p)->entries !=
	    MINIVMM_POSTED_RING_ENTRIES) {
		munmap(p, MINIVMM_POSTED_RING_SIZE);
		return -EPROTO;
	}
	pthread_mutex_init(&u->drain_lock, NULL);
	u->vm_fd = vm_fd;
	atomic_store(&u->stopping, false);
	pthread_mutex_lock(&u->lock);
	u->ring = p;
	post_update(u);
	pthread_mutex_unlock(&u->lock);

	/* Signals are the vCPU thread's: they stop the guest. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&u->drainer, NULL, uart_drainer, u);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		pthread_mutex_lock(&u->lock);
		u->ring = NULL;
		post_update(u);
		pthread_mutex_unlock(&u->lock);
		munmap(p, MINIVMM_POSTED_RING_SIZE);
		return -ret;
	}
	return 0;
}

void uart_post_stop(struct uart *u)
{
	if (!u->ring)
		return;
	atomic_store(&u->stopping, true);
	pthread_join(u->drainer, NULL);
	post_drain(u);
	munmap(u->ring, MINIVMM_POSTED_RING_SIZE);
	u->ring = NULL;
}

void uart_save(struct uart *u, struct snap_devices *d)
{
	pthread_mutex_lock(&u->lock);
	d->ier = u->ier;
	d->lcr = u->lcr;
	d->mcr = u->mcr;
	d->scr = u->scr;
	d->fcr = u->fcr;
	d->dll = u->dll;
	d->dlm = u->dlm;
	d->thre_irq = u->thre_irq;
	d->rx_len = u->rx_len;
	memcpy(d->rx, u->rx + u->rx_head, u->rx_len);
	pthread_mutex_unlock(&u->lock);
}

/* Before the guest runs: the reader waits for the input to drain. */
void uart_restore(struct uart *u, const struct snap_devices *d)
{
	pthread_mutex_lock(&u->lock);
	u->ier = d->ier & IER_MASK;
	u->lcr = d->lcr;
	u->mcr = d->mcr & MCR_MASK;
	u->scr = d->scr;
	u->fcr = d->fcr & FCR_ENABLE;
	u->dll = d->dll;
	u->dlm = d->dlm;
	u->thre_irq = d->thre_irq;
	u->rx_head = 0;
	u->rx_len = d->rx_len;
	memcpy(u->rx, d->rx, d->rx_len);
	pthread_mutex_unlock(&u->lock);
}

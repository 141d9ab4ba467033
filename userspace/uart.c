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
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

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
		return;
	case MCR:
		u->mcr = value & MCR_MASK;
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

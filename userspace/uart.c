// SPDX-License-Identifier: GPL-2.0
/*
 * A 16550A UART: what a guest driver (or a polling loop) needs to talk
 * over COM1 to the terminal of 'minivmm run'.
 *
 * Transmitting is instantaneous: the THR is always empty (LSR THRE and
 * TEMT set) and every byte goes straight to stdout. Received bytes come
 * from stdin, read without blocking whenever the guest looks at the
 * line status or the receive buffer, so LSR DR says whether input is
 * there. The modem lines are those of a connected cable: CTS and DSR
 * always, DCD (carrier) until stdin reaches its end. MCR loopback mode
 * routes the transmitter to the receiver and the modem controls to the
 * modem status, as the real chip does (drivers probe with it). The
 * divisor latch, LCR, FCR and SCR hold what is written and change
 * nothing. Interrupts (IIR) are computed as the chip would raise them;
 * 'minivmm run' delivers them on UART_VECTOR when the guest halts.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

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

void uart_init(struct uart *u, int in_fd, FILE *out)
{
	memset(u, 0, sizeof(*u));
	u->in_fd = in_fd;
	u->out = out;
	u->mcr = MCR_OUT2;
	u->lcr = 0x03;		/* 8N1 */
	u->dll = 12;		/* 9600 baud */
}

static void rx_push(struct uart *u, uint8_t c)
{
	if (u->rx_head + u->rx_len < UART_RX_SIZE)
		u->rx[u->rx_head + u->rx_len++] = c;
}

/* Take what stdin has now into the receive buffer, without blocking. */
static void rx_fill(struct uart *u)
{
	struct pollfd p = { .fd = u->in_fd, .events = POLLIN };
	ssize_t n;

	if (u->rx_len || u->in_fd < 0 || (u->mcr & MCR_LOOP))
		return;
	u->rx_head = 0;
	if (poll(&p, 1, 0) <= 0)
		return;
	n = read(u->in_fd, u->rx, UART_RX_SIZE);
	if (n > 0)
		u->rx_len = n;
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		u->in_fd = -1;		/* the end of the input: no carrier */
}

static uint8_t iir(struct uart *u)
{
	uint8_t fifo = u->fcr & FCR_ENABLE ? IIR_FIFO : 0;

	rx_fill(u);
	if ((u->ier & IER_RDI) && u->rx_len)
		return IIR_RDI | fifo;
	if ((u->ier & IER_THRI) && u->thre_irq)
		return IIR_THRI | fifo;
	return IIR_NO_INT | fifo;
}

uint8_t uart_in(struct uart *u, unsigned int offset)
{
	uint8_t v;

	switch (offset) {
	case RBR:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		rx_fill(u);
		if (!u->rx_len) {
			fflush(u->out);
			return 0;
		}
		v = u->rx[u->rx_head++];
		u->rx_len--;
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
		rx_fill(u);
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

void uart_out(struct uart *u, unsigned int offset, uint8_t value)
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
		if (value & FCR_CLEAR_RX)
			u->rx_len = 0;
		return;
	case LCR:
		u->lcr = value;
		return;
	case MCR:
		u->mcr = value & MCR_MASK;
		return;
	case SCR:
		u->scr = value;
		return;
	default:
		return;		/* LSR and MSR are read-only */
	}
}

bool uart_irq_pending(struct uart *u)
{
	return !(iir(u) & IIR_NO_INT);
}

bool uart_waits_for_input(struct uart *u)
{
	return (u->ier & IER_RDI) && u->in_fd >= 0 && !(u->mcr & MCR_LOOP);
}

int uart_wait_input(struct uart *u)
{
	struct pollfd p = { .fd = u->in_fd, .events = POLLIN };

	fflush(u->out);
	if (u->in_fd < 0)
		return 0;
	if (poll(&p, 1, -1) < 0)
		return errno == EINTR ? -EINTR : 0;
	rx_fill(u);
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A 16550A UART for 'minivmm run': COM1 at 0x3f8 on the tool's stdin and
 * stdout. See uart.c.
 */
#ifndef MINIVMM_UART_H
#define MINIVMM_UART_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define UART_BASE	0x3f8
#define UART_PORTS	8
/* Its interrupt, as IRQ 4 of a PIC programmed with base 0x20 would be. */
#define UART_VECTOR	0x24

#define UART_RX_SIZE	4096

struct uart {
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thre_irq;		/* the THR-empty interrupt is pending */
	unsigned int idle_polls;	/* LSR reads since the last byte sent */
	int in_fd;		/* stdin, -1 once it is at its end */
	FILE *out;
	uint8_t rx[UART_RX_SIZE];
	unsigned int rx_head, rx_len;
};

void uart_init(struct uart *u, int in_fd, FILE *out);

/* A guest IN or OUT on port UART_BASE + @offset. */
uint8_t uart_in(struct uart *u, unsigned int offset);
void uart_out(struct uart *u, unsigned int offset, uint8_t value);

/* An interrupt the guest enabled is pending (IIR bit 0 clear). */
bool uart_irq_pending(struct uart *u);

/*
 * The guest enabled the receive interrupt and input may still come: it
 * makes sense for a halted guest to wait for it.
 */
bool uart_waits_for_input(struct uart *u);

/*
 * Block until stdin has input (or reaches its end): 0, or -EINTR when a
 * signal came first.
 */
int uart_wait_input(struct uart *u);

#endif /* MINIVMM_UART_H */

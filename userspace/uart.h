/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A 16550A UART for 'minivmm run': COM1 at 0x3f8 on the tool's stdin and
 * stdout. See uart.c.
 */
#ifndef MINIVMM_UART_H
#define MINIVMM_UART_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define UART_BASE	0x3f8
#define UART_PORTS	8
/* Its interrupt, as IRQ 4 of a PIC programmed with base 0x20 would be. */
#define UART_VECTOR	0x24

#define UART_RX_SIZE	4096

struct minivmm_posted_ring;

struct uart {
	pthread_mutex_t lock;	/* the vCPU's thread and the reader's */
	pthread_cond_t drained;	/* the receive buffer emptied */
	void (*raise)(void *arg);
	void *raise_arg;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thre_irq;		/* the THR-empty interrupt is pending */
	unsigned int idle_polls;	/* LSR reads since the last byte sent */
	int in_fd;		/* stdin, -1 once it is at its end */
	FILE *out;
	uint8_t rx[UART_RX_SIZE];
	unsigned int rx_head, rx_len;

	/* Posted THR writes (uart_post_start()) */
	struct minivmm_posted_ring *ring;	/* vCPU 0's, or NULL */
	int vm_fd;
	bool posting;		/* the THR is a posted range now */
	pthread_mutex_t drain_lock;	/* one drainer at a time, in order */
	pthread_t drainer;
	atomic_bool stopping;	/* the drain thread is to end */
};

/*
 * Reset state; a thread reads @in_fd (unless it is negative) into the
 * receive buffer. @raise(@arg) is called, from the thread that made it
 * so, each time an interrupt the guest enabled becomes pending.
 */
void uart_init(struct uart *u, int in_fd, FILE *out,
	       void (*raise)(void *arg), void *arg);

/* uart_init() with @in_fd -1, then the reader of @in_fd on its own. */
void uart_start_reader(struct uart *u, int in_fd);

struct snap_devices;

/* The registers and unread input, for a snapshot; and back. */
void uart_save(struct uart *u, struct snap_devices *d);
void uart_restore(struct uart *u, const struct snap_devices *d);

/* A guest IN or OUT on port UART_BASE + @offset. */
uint8_t uart_in(struct uart *u, unsigned int offset);
void uart_out(struct uart *u, unsigned int offset, uint8_t value);

/*
 * Post the guest's writes to the transmit register: the THR becomes a
 * posted range of the VM (@vm_fd) whose writes go to the ring of the vCPU
 * (@vcpu_fd; the VM's only one) without an exit, while the line control
 * and modem control registers make a THR write a plain transmit (not the
 * divisor latch, not loopback). A thread of its own applies the ring
 * within 10 ms (1 ms while output flows), and uart_post_drain() before
 * each exit; an interrupt a write raises (THR empty) comes when it is
 * applied. 0, or a negative errno (the writes then exit as before).
 */
int uart_post_start(struct uart *u, int vm_fd, int vcpu_fd);

/*
 * Apply the writes in the ring, in the guest's order. The vCPU's thread
 * calls it whenever RUN returns, before it handles the exit: what the
 * guest wrote before the exit is then out before the exit's effects.
 */
void uart_post_drain(struct uart *u);

/* End the drain thread, with a last drain (the vCPU no longer runs). */
void uart_post_stop(struct uart *u);

#endif /* MINIVMM_UART_H */

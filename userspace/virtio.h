/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A virtio console over virtio-mmio for 'minivmm run --kernel
 * --virtio-console'. See virtio.c.
 */
#ifndef MINIVMM_VIRTIO_H
#define MINIVMM_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

struct mvm;

/*
 * Where the device is: a register window in the hole between RAM
 * (below 3 GiB) and the I/O APIC, and an I/O APIC pin that nothing else
 * uses (the UART has 4, the PC's timer 2).
 */
#define VIRTIO_CONSOLE_ADDR	0xd0000000ULL
#define VIRTIO_CONSOLE_SIZE	0x200
#define VIRTIO_CONSOLE_GSI	16

struct virtio_console;

/*
 * The device on @vm, its queue notifications an ioeventfd and its
 * interrupt an irqfd of pin VIRTIO_CONSOLE_GSI; its thread writes what
 * the guest sends to stdout, and gives the guest what it reads from
 * @in_fd (none if it is negative). NULL with errno set if the module
 * cannot.
 */
struct virtio_console *virtio_console_start(struct mvm *vm, int in_fd);

/* Stop the thread and free the device (the vCPUs no longer run). */
void virtio_console_stop(struct virtio_console *c);

/* Whether @gpa is in the device's register window. */
bool virtio_console_owns(uint64_t gpa);

/* A guest access (an MMIO exit) of @len bytes to @gpa in the window. */
void virtio_console_mmio(struct virtio_console *c, uint64_t gpa,
			 unsigned int len, bool is_write, uint64_t *data);

/*
 * Buffers the guest sent and their bytes, bytes it received, and
 * interrupts raised, for --stats.
 */
void virtio_console_stats(struct virtio_console *c, uint64_t *requests,
			  uint64_t *bytes, uint64_t *bytes_in,
			  uint64_t *interrupts);

#endif /* MINIVMM_VIRTIO_H */

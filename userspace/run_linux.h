/* SPDX-License-Identifier: GPL-2.0 */
/*
 * minivmm run --kernel: loading a Linux kernel, and the ACPI ports of
 * the platform its tables describe.
 */
#ifndef MINIVMM_RUN_LINUX_H
#define MINIVMM_RUN_LINUX_H

#include <stdbool.h>
#include <stdint.h>

struct mvm;
struct mvm_vcpu;

/* The exit status of an ACPI power-off (S5). */
#define RUN_LINUX_POWEROFF	0

/**
 * struct run_linux - what --kernel, --initrd, --cmdline and --vcpus ask
 * @kernel:	the bzImage or vmlinux file
 * @initrd:	the initrd file, or NULL
 * @cmdline:	the command line, or NULL
 * @nr_cpus:	CPUs the ACPI tables describe
 */
struct run_linux {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	unsigned int nr_cpus;
};

/* Load it all, or die with one line naming the file. */
void run_linux_load(struct mvm *vm, struct mvm_vcpu *vcpu,
		    const struct run_linux *l, bool trace);

/* The ACPI sleep registers: 0 with *@v set, or -1 if @port is not one. */
int run_linux_port_in(uint16_t port, uint8_t *v);

/* -1 to go on, or the exit status (a write of S5 with SLP_EN: 0). */
int run_linux_port_out(uint16_t port, uint8_t v);

#endif /* MINIVMM_RUN_LINUX_H */

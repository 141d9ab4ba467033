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

/*
 * The CMOS clock's ports and registers (a PC's MC146818): Linux reads
 * the time there at boot even when the FADT says there is no RTC device.
 */
#define PORT_CMOS_INDEX		0x70
#define PORT_CMOS_DATA		0x71
#define RTC_SECONDS		0x00
#define RTC_MINUTES		0x02
#define RTC_HOURS		0x04
#define RTC_DAY_OF_WEEK		0x06
#define RTC_DAY_OF_MONTH	0x07
#define RTC_MONTH		0x08
#define RTC_YEAR		0x09
#define RTC_REG_A		0x0a
#define RTC_REG_A_DIVIDER	0x26	/* 32.768 kHz base, 1024 Hz rate */
#define RTC_REG_B		0x0b
#define RTC_REG_B_24H		0x02	/* 24-hour, BCD, no interrupts */
#define RTC_REG_D		0x0d
#define RTC_REG_D_VALID		0x80	/* the battery is good */

/**
 * struct run_linux - what --kernel, --initrd, --cmdline and --vcpus ask
 * @kernel:	the bzImage or vmlinux file
 * @initrd:	the initrd file, or NULL
 * @cmdline:	the command line, or NULL
 * @nr_cpus:	CPUs the ACPI tables describe
 *
 * Set by run_linux_open():
 * @image:	the kernel file, mapped
 * @size:	its size
 * @initrd_data: the initrd file, mapped (NULL: none)
 * @initrd_size: its size
 */
struct run_linux {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	unsigned int nr_cpus;

	void *image;
	size_t size;
	void *initrd_data;
	size_t initrd_size;
};

/*
 * Map the files and check that the kernel is one, before any VM exists
 * (a bad file costs no guest memory); die with one line if not.
 */
void run_linux_open(struct run_linux *l);

/* Load it all (after run_linux_open()), or die with one line. */
void run_linux_load(struct mvm *vm, struct mvm_vcpu *vcpu,
		    const struct run_linux *l, bool trace);

/*
 * The ACPI sleep registers and the CMOS clock: 0 with *@v set, or -1 if
 * @port is not one of theirs.
 */
int run_linux_port_in(uint16_t port, uint8_t *v);

/* -1 to go on, or the exit status (a write of S5 with SLP_EN: 0). */
int run_linux_port_out(uint16_t port, uint8_t v);

/* The CMOS index register, for a snapshot; and back. */
uint8_t run_linux_cmos_index(void);
void run_linux_set_cmos_index(uint8_t index);

#endif /* MINIVMM_RUN_LINUX_H */

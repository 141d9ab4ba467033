/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The snapshot format of minivmm: a VM's whole state as a stream of
 * checksummed sections, the same in a file ('minivmm run --snapshot',
 * 'minivmm restore', 'minivmm snapshot-info') and on a live migration's
 * socket. Documentation/snapshot.rst describes it; snapshot.c reads and
 * writes it.
 *
 * All numbers are little-endian (the format exists only on x86-64). The
 * vCPU and I/O APIC sections hold the module's uapi structures as the
 * state ioctls return them: a change to one changes SNAP_VERSION.
 */
#ifndef MINIVMM_SNAPSHOT_H
#define MINIVMM_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/minivmm.h>

#include "uart.h"

struct mvm;
struct mvm_vcpu;

#define SNAP_MAGIC	"MVMSNAP"	/* 8 bytes with the NUL */
#define SNAP_VERSION	1

/* The first 16 bytes of a stream. */
struct snap_prefix {
	char magic[8];
	uint32_t version;
	uint32_t reserved;
};

enum snap_type {
	SNAP_HEADER = 1,	/* struct snap_header: the host it needs */
	SNAP_CONFIG = 2,	/* struct snap_config: the machine */
	SNAP_VCPU = 3,		/* struct snap_vcpu, one per vCPU */
	SNAP_IOAPIC = 4,	/* struct minivmm_ioapic_state */
	SNAP_DEVICES = 5,	/* struct snap_devices */
	SNAP_MEMORY = 6,	/* struct snap_memory, then the pages */
	SNAP_END = 7,		/* empty: the stream is complete */
};

/*
 * Each section: this, then @len bytes. @crc is the CRC-32 (the one of
 * zlib and gzip) of the first 8 bytes of this header and the payload.
 */
struct snap_section {
	uint32_t type;
	uint32_t len;
	uint32_t crc;
	uint32_t reserved;
};

/* CPUID leaves of the host fingerprint, with the registers that count. */
#define SNAP_CPUID_LEAVES	7

struct snap_cpuid {
	uint32_t function, index;
	uint32_t eax, ebx, ecx, edx;
};

/*
 * What a restore on another host would get wrong: the guest's default
 * CPUID derives from the host's, the FPU image from its FXSAVE layout,
 * the guest's time from its TSC rate, what the module does from its
 * features.
 */
struct snap_header {
	uint32_t api_version;		/* MINIVMM_GET_API_VERSION */
	uint32_t tsc_khz;		/* struct minivmm_caps */
	uint64_t features;		/* struct minivmm_caps */
	uint32_t mxcsr_mask;		/* of the host's FXSAVE image */
	uint32_t fpu_size;		/* sizeof(struct minivmm_fpu) */
	struct snap_cpuid cpuid[SNAP_CPUID_LEAVES];
};

/* struct snap_config.flags */
#define SNAP_CFG_LINUX	1	/* --kernel: ACPI ports, UART on I/O APIC pin 4 */

struct snap_config {
	uint64_t mem_size;
	uint32_t nr_vcpus;
	uint32_t flags;
	char image[256];	/* what was booted, for snapshot-info */
};

/* struct snap_vcpu.flags */
#define SNAP_VCPU_DONE	1	/* halted for good by its OS: not run again */

struct snap_vcpu {
	uint32_t id;
	uint32_t flags;
	uint32_t nmsrs;		/* entries in @msrs */
	uint32_t pad;
	struct minivmm_regs regs;
	struct minivmm_sregs sregs;
	struct minivmm_fpu fpu;
	struct minivmm_debugregs debugregs;
	struct minivmm_lapic_state lapic;
	struct minivmm_mp_state mp_state;
	struct minivmm_vcpu_events events;
	struct minivmm_msr_entry msrs[];
};

/* The tool's devices (cmd_run.c, uart.c, run_linux.c). */
struct snap_devices {
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm, thre_irq;	/* the UART */
	uint8_t sysctl_a;	/* port 0x92 */
	uint8_t cmos_index;	/* --kernel: port 0x70 */
	uint8_t pad[2];
	uint32_t rx_len;	/* input the guest has yet to read */
	uint8_t rx[UART_RX_SIZE];
};

/* struct snap_memory.flags */
#define SNAP_MEM_ZERO	1	/* the pages are zero: no data follows */
#define SNAP_MEM_RUN	256	/* pages per section, at most */

struct snap_memory {
	uint64_t gpa;
	uint32_t npages;
	uint32_t flags;
};

/* A stream being written; @bytes counts what went out. */
struct snap_writer {
	int fd;
	uint64_t bytes;
};

/*
 * Each function below returns 0, or -1 with one line for snap_strerror()
 * (without the file's name).
 */
const char *snap_strerror(void);

/* Make @why the line of snap_strerror(); returns -1. */
int snap_error(const char *why);

/* The prefix, the header of this host and @cfg. */
int snap_write_begin(struct snap_writer *w, const struct snap_config *cfg);

/*
 * Guest memory: every page that is not zero when @dirty is NULL (the
 * reader's VM starts zeroed), else the pages whose bit is set in @dirty
 * (bit N: page N of guest RAM, counted from gpa 0 across the hole below
 * 4 GiB), zero ones as such. *@pages gets the pages sent.
 */
int snap_write_memory(struct snap_writer *w, struct mvm *vm,
		      const uint64_t *dirty, uint64_t *pages);

/* The vCPUs and the I/O APIC as they were when the vCPUs paused. */
struct snap_saved {
	unsigned int n;
	struct snap_vcpu *vcpus[MINIVMM_MAX_CPUS];
	size_t len[MINIVMM_MAX_CPUS];
	struct minivmm_ioapic_state ioapic;
};

/*
 * Read every vCPU's state (each out of MINIVMM_RUN after a RUN with
 * immediate_exit) and the I/O APIC's into @sv the moment the vCPUs
 * paused: the guest's TSC and its local APIC timers are then those of
 * that moment, and the time the memory takes to write passes unseen.
 */
int snap_save(struct snap_saved *sv, struct mvm *vm,
	      struct mvm_vcpu *const *vcpus, const bool *done,
	      unsigned int n);

/* Write what snap_save() read, the devices, and the end. */
int snap_write_saved(struct snap_writer *w, const struct snap_saved *sv,
		     const struct snap_devices *dev);

void snap_saved_free(struct snap_saved *sv);

/* Guest physical address of page @page of guest RAM. */
uint64_t snap_page_gpa(uint64_t page);

/* A stream being read. */
struct snap_reader {
	int fd;
	uint64_t offset;	/* bytes read so far */
	bool print;		/* describe each section on stdout */
};

/* What a stream holds besides memory. */
struct snap_state {
	struct snap_header header;
	struct snap_config cfg;
	struct snap_vcpu **vcpus;	/* cfg.nr_vcpus of them */
	struct minivmm_ioapic_state ioapic;
	struct snap_devices dev;
};

/*
 * Read a whole stream into @st, checking every section: a wrong magic,
 * version, host (unless @r->print: the description names it), checksum,
 * size or value, or a stream that ends before SNAP_END, is an error.
 * With @vm non-NULL the VM is created when the configuration arrives
 * (*@vm) and memory sections are copied into it; otherwise the stream is
 * only checked. Nothing is applied to vCPUs.
 */
int snap_read(struct snap_reader *r, struct snap_state *st, struct mvm **vm);

/* Set every vCPU, then the I/O APIC, in the order of api.rst. */
int snap_apply(const struct snap_state *st, struct mvm *vm,
	       struct mvm_vcpu *const *vcpus);

void snap_state_free(struct snap_state *st);

#endif /* MINIVMM_SNAPSHOT_H */

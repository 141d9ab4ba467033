// SPDX-License-Identifier: GPL-2.0
/*
 * minivmm run: boot an image in a new VM and drive it until it stops.
 *
 * The machine is a bare PC: RAM from 0 (above 3 GiB continued at 4 GiB),
 * a 16550A UART at 0x3f8 on stdin/stdout, the debug console port 0xe9,
 * QEMU's isa-debug-exit port 0xf4 (writing V ends the run with status
 * (V << 1) | 1), and hypercall 0x100, which writes guest memory to the
 * console. Each vCPU has the module's local APIC (its timer included)
 * and a thread of its own; vCPU 0 starts, the others wait in the kernel
 * for INIT and a start-up IPI from it. A guest that halts with
 * interrupts enabled sleeps in the kernel until one comes. The UART's
 * interrupt goes in on vector 0x24 (no PIC or I/O APIC), with --kernel
 * as ISA IRQ 4 on pin 4 of the module's I/O APIC, the moment it becomes
 * pending, from the thread that reads stdin or the one running the
 * guest, while the guest runs or halts. A halt of vCPU 0 with interrupts
 * disabled ends the run (status 0), and says so on stderr; another vCPU
 * halted so is stopped for good (an OS parks its APs so at power-off),
 * its thread ends, and the others go on. Whatever ends the run on one
 * vCPU stops them all.
 * With --snapshot or --migrate-to, SIGUSR1 stops every vCPU (each
 * completes its last exit in the kernel with immediate_exit first) and
 * writes the machine to a file or sends it to another minivmm
 * (snapshot.c, migrate.c); 'minivmm restore' (and 'minivmm run
 * --incoming') builds a machine from that and runs it here, the same
 * way. SIGUSR2 kicks a vCPU thread out of RUN.
 * A PC's fixed ports: writing bit 0 of port 0x92 (system control port
 * A) or command 0xfe to the keyboard controller's port 0x64 resets the
 * machine, which ends the run with status 4; port 0x80 (POST codes)
 * takes writes. Nothing else is attached: other ports read all-ones, as
 * an ISA bus with nothing on it does, and drop writes; guest physical
 * addresses without RAM (the local APIC's 0xfee00000 included) read zero
 * and drop writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/libminivmm.h"
#include "minivmm.h"
#include "ktrace.h"
#include "migrate.h"
#include "nl.h"
#include "run_linux.h"
#include "snapshot.h"
#include "stat.h"
#include "uart.h"
#include "virtio.h"

#define PORT_KBC_DATA	0x60
#define PORT_KBC_CMD	0x64
#define KBC_CMD_RESET	0xfe	/* pulse the CPU reset line */
#define PORT_POST	0x80
#define PORT_SYSCTL_A	0x92
#define SYSCTL_A_RESET	0x01
#define SYSCTL_A_A20	0x02
#define PORT_DEBUGCON	0xe9
#define PORT_EXIT	0xf4
#define HC_CONSOLE	0x100	/* RBX: guest address, RCX: length */

#define STATUS_HALT	0
#define STATUS_CRASH	2
#define STATUS_RESET	4
#define STATUS_TIMEOUT	124
/* Stopped on SIGUSR1: the guest lives on in a snapshot or elsewhere. */
#define STATUS_MOVED	(128 + SIGUSR1)
/* Interrupts a vCPU thread's RUN. */
#define SIGKICK		SIGUSR2

#define DEFAULT_MEM	(16ULL << 20)

enum {
	OPT_MEM = 256, OPT_VCPUS, OPT_ENTRY, OPT_FORMAT, OPT_CMDLINE,
	OPT_MODULE, OPT_TIMEOUT, OPT_TRACE, OPT_STATS, OPT_KERNEL, OPT_INITRD,
	OPT_NO_POSTED, OPT_SNAPSHOT, OPT_SNAPSHOT_STOP, OPT_MIGRATE_TO,
	OPT_INCOMING, OPT_VIRTIO_CONSOLE,
};

/* Guest RAM of --kernel when --mem is not given. */
#define DEFAULT_KERNEL_MEM	(128ULL << 20)

/* The options of both run and restore: the running machine's. */
static const struct cli_option vmm_options[] = {
	{ "no-posted", NULL, OPT_NO_POSTED,
	  "every UART transmit exits to the tool (no posted writes)" },
	{ "timeout", "SECONDS", OPT_TIMEOUT,
	  "stop the guest after this long (exit status 124)" },
	{ "trace", NULL, OPT_TRACE,
	  "print every exit, and the exceptions the kernel raises, on stderr" },
	{ "stats", NULL, OPT_STATS,
	  "print the exit statistics on stderr at the end" },
	{ "snapshot", "FILE", OPT_SNAPSHOT,
	  "write a snapshot to FILE on each SIGUSR1, then go on" },
	{ "snapshot-stop", NULL, OPT_SNAPSHOT_STOP,
	  "--snapshot: stop after writing it (exit status 138)" },
	{ "migrate-to", "unix:PATH", OPT_MIGRATE_TO,
	  "on SIGUSR1, migrate the running guest to 'run --incoming'" },
	{ }
};

static const struct cli_option run_options[] = {
	{ "mem", "SIZE", OPT_MEM,
	  "guest RAM, with a K, M or G suffix (default 16M)" },
	{ "vcpus", "N", OPT_VCPUS,
	  "vCPUs (default 1): vCPU 0 runs IMAGE, the others wait for a start-up IPI" },
	{ "entry", "ADDR", OPT_ENTRY,
	  "start here (flat images: load here too; default 0x7c00)" },
	{ "format", "FMT", OPT_FORMAT,
	  "flat, elf, multiboot or auto (default: auto-detect)" },
	{ "cmdline", "STRING", OPT_CMDLINE,
	  "multiboot and --kernel: the kernel command line" },
	{ "module", "'FILE [ARGS]'", OPT_MODULE,
	  "multiboot: a boot module, repeatable" },
	{ "kernel", "FILE", OPT_KERNEL,
	  "boot a Linux bzImage or vmlinux instead of IMAGE (default --mem 128M)" },
	{ "initrd", "FILE", OPT_INITRD,
	  "--kernel: its initrd (initramfs)" },
	{ "virtio-console", NULL, OPT_VIRTIO_CONSOLE,
	  "--kernel: the guest's /dev/hvc0 on stdin and stdout (virtio-mmio, in ACPI)" },
	{ "incoming", "unix:PATH", OPT_INCOMING,
	  "boot nothing: take the guest 'run --migrate-to unix:PATH' sends" },
	{ }
};

struct run_opts {
	uint64_t mem;
	unsigned int vcpus;
	uint64_t entry;
	bool entry_set;
	enum mvm_format format;
	const char *cmdline;
	const char **modules;
	unsigned int nr_modules;
	unsigned int timeout;
	bool trace;
	bool stats;
	const char *image;
	bool mem_set;
	bool no_posted;
	bool virtio_console;	/* --virtio-console */
	struct run_linux lk;	/* --kernel and its options */
	const char *snapshot;	/* --snapshot */
	bool snapshot_stop;
	const char *migrate_to;
	const char *incoming;	/* --incoming of run or restore */
	const char *machine_opt; /* run: the first option that makes a machine */
};

/* One per vCPU, each run by a thread of its own (vCPU 0's: the main one). */
struct machine {
	struct mvm *vm;
	struct mvm_vcpu *vcpu;
	struct minivmm_run *run;
	struct uart *uart;		/* shared by all vCPUs */
	bool trace;
	uint8_t sysctl_a;		/* port 0x92 as last written */
	bool acpi;			/* --kernel: the ACPI sleep ports */
	bool ioapic;			/* --kernel: the UART on I/O APIC pin 4 */
	struct virtio_console *virtio;	/* --virtio-console, or NULL */
	pthread_t thread;
	atomic_bool done;		/* the thread left drive() */
	bool parked;			/* paused: out of RUN (pause_lock) */
};

/* A machine built by 'run' or 'restore', and how to run it. */
struct vmm {
	struct mvm *vm;
	struct machine *cpus;		/* vCPU i's, thread and all */
	unsigned int n;
	struct snap_config cfg;
	struct run_opts *o;
	struct virtio_console *virtio;	/* --virtio-console, or NULL */
};

/* The UART's pin on the I/O APIC, as on a PC (ISA IRQ 4). */
#define UART_IOAPIC_PIN	4

/* drive(): the run ends with the status the first vCPU to end it chose. */
#define DRIVE_STOPPED	(-2)	/* by a signal */
#define DRIVE_VCPU_DONE	(-3)	/* an AP halted for good: only it stops */

static pthread_mutex_t end_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int run_status = -1;

static volatile sig_atomic_t stop_signal;

/*
 * The first signal stops the guest: RUN returns -EINTR. Should it land
 * just before the ioctl, after the loop looked at stop_signal, the
 * repeating timer armed here interrupts the ioctl again soon after.
 */
static void on_signal(int sig)
{
	struct itimerval again = {
		.it_interval = { .tv_usec = 50000 },
		.it_value = { .tv_usec = 50000 },
	};

	if (stop_signal)
		return;
	stop_signal = sig;
	setitimer(ITIMER_REAL, &again, NULL);
}

static void tracef(struct machine *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void tracef(struct machine *m, const char *fmt, ...)
{
	va_list ap;

	if (!m->trace)
		return;
	fflush(stdout);
	fprintf(stderr, "trace: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " rip %#llx\n", (unsigned long long)m->run->rip);
}

static void print_seg(const char *name, const struct minivmm_segment *s)
{
	fprintf(stderr, "  %-3s %04x base %016llx limit %08x attr %05x\n",
		name, s->selector, (unsigned long long)s->base, s->limit,
		s->attrib);
}

static void print_regs(struct mvm_vcpu *vcpu)
{
	struct minivmm_regs r;
	struct minivmm_sregs s;

	if (mvm_get_regs(vcpu, &r) || mvm_get_sregs(vcpu, &s)) {
		fprintf(stderr, "  (registers unavailable: %s)\n",
			mvm_strerror(NULL));
		return;
	}
	fprintf(stderr,
		"  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
		"  rsi %016llx rdi %016llx rbp %016llx rsp %016llx\n"
		"  r8  %016llx r9  %016llx r10 %016llx r11 %016llx\n"
		"  r12 %016llx r13 %016llx r14 %016llx r15 %016llx\n"
		"  rip %016llx rflags %08llx\n",
		r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp,
		r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15,
		r.rip, r.rflags);
	print_seg("cs", &s.cs);
	print_seg("ds", &s.ds);
	print_seg("ss", &s.ss);
	print_seg("tr", &s.tr);
	fprintf(stderr,
		"  cr0 %08llx cr2 %016llx cr3 %016llx cr4 %08llx efer %llx\n"
		"  gdt %016llx/%04x idt %016llx/%04x\n",
		s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.gdt.base, s.gdt.limit,
		s.idt.base, s.idt.limit);
}

static const char *entry_failure(uint32_t reason)
{
	switch (reason & 0xffff) {
	case 33:
		return "the guest state is invalid (VM-entry checks on guest state failed)";
	case 34:
		return "loading the guest's MSRs failed";
	case 41:
		return "a machine check during VM entry";
	default:
		return "unknown reason";
	}
}

static const char *vm_instruction_error(uint32_t err)
{
	switch (err) {
	case 7:
		return "invalid control fields";
	case 8:
		return "invalid host-state fields";
	case 26:
		return "events blocked by MOV SS";
	default:
		return "see the Intel SDM, VM-instruction error numbers";
	}
}

/* Why the guest stopped, for a person reading the terminal. */
static void explain(struct machine *m)
{
	struct minivmm_run *run = m->run;
	const char *name;
	unsigned int i;

	fflush(stdout);
	switch (run->exit_reason) {
	case MINIVMM_EXIT_SHUTDOWN:
		warn("the guest triple-faulted (shutdown): %s",
		     "an exception it could not handle (no IDT? a bad stack?)");
		break;
	case MINIVMM_EXIT_FAIL_ENTRY:
		if (run->fail_entry.hardware_reason)
			warn("VM entry failed: %s (exit reason %#x, qualification %#llx)",
			     entry_failure(run->fail_entry.hardware_reason),
			     run->fail_entry.hardware_reason,
			     (unsigned long long)run->fail_entry.qualification);
		else
			warn("VM entry failed: VM-instruction error %u (%s)",
			     run->fail_entry.instruction_error,
			     vm_instruction_error(run->fail_entry.instruction_error));
		break;
	case MINIVMM_EXIT_INTERNAL_ERROR:
		switch (run->internal.suberror) {
		case MINIVMM_INTERNAL_EMULATION:
			fprintf(stderr,
				"%s: the guest ran an instruction minivmm cannot emulate on MMIO at %#llx (instruction bytes",
				prog,
				(unsigned long long)run->internal.data[0]);
			for (i = 0; i < run->internal.ninsn &&
			     i < sizeof(run->internal.insn); i++)
				fprintf(stderr, " %02x", run->internal.insn[i]);
			fprintf(stderr, ")\n");
			break;
		case MINIVMM_INTERNAL_UNSUPPORTED_IO:
			warn("the guest used string I/O on port %#llx with memory that is not RAM",
			     (unsigned long long)run->internal.data[0]);
			break;
		case MINIVMM_INTERNAL_UNHANDLED_EXIT:
			name = vmx_exit_reason_name(run->internal.data[0]);
			warn("VM exit %llu (%s) that minivmm does not handle, qualification %#llx",
			     (unsigned long long)run->internal.data[0],
			     name ? name : "unknown",
			     (unsigned long long)run->internal.data[1]);
			break;
		case MINIVMM_INTERNAL_EPT_MISCONFIG:
			warn("EPT misconfiguration at %#llx: a minivmm bug, see dmesg",
			     (unsigned long long)run->internal.data[0]);
			break;
		case MINIVMM_INTERNAL_DELIVERY:
			warn("%s (data %#llx %#llx)",
			     "VM exit while delivering an event: are the IDT and stack in RAM?",
			     (unsigned long long)run->internal.data[0],
			     (unsigned long long)run->internal.data[1]);
			break;
		default:
			warn("internal error, suberror %u", run->internal.suberror);
		}
		break;
	default:
		warn("unexpected exit %u (%s)", run->exit_reason,
		     mvm_exit_name(run->exit_reason));
	}
	print_regs(m->vcpu);
}

/* What sits at @port, for --trace. */
static const char *port_name(uint16_t port)
{
	if (port >= UART_BASE && port < UART_BASE + UART_PORTS)
		return "uart";
	switch (port) {
	case PORT_DEBUGCON:
		return "debugcon";
	case PORT_EXIT:
		return "debug exit";
	case PORT_POST:
		return "post code";
	case PORT_SYSCTL_A:
		return "system control port A";
	case PORT_KBC_DATA:
	case PORT_KBC_CMD:
		return "keyboard controller";
	default:
		return "nothing";
	}
}

/* A byte the guest reads from @port. */
static uint8_t port_in(struct machine *m, uint16_t port)
{
	uint8_t v;

	if (port >= UART_BASE && port < UART_BASE + UART_PORTS)
		return uart_in(m->uart, port - UART_BASE);
	if (m->acpi && !run_linux_port_in(port, &v))
		return v;
	switch (port) {
	case PORT_DEBUGCON:
		return PORT_DEBUGCON;	/* how guests detect it */
	case PORT_SYSCTL_A:
		/* A20 is always on: guest memory never wraps at 1 MiB. */
		return (m->sysctl_a & ~SYSCTL_A_RESET) | SYSCTL_A_A20;
	case PORT_KBC_CMD:
		/* A controller with nothing attached: no data, ready. */
		return 0;
	}
	/* Nothing drives the ISA bus: its pull-ups read all-ones. */
	return 0xff;
}

/* A byte the guest writes to @port: -1 to go on, or the exit status. */
static int port_out(struct machine *m, uint16_t port, uint8_t v)
{
	int ret;

	if (port >= UART_BASE && port < UART_BASE + UART_PORTS) {
		uart_out(m->uart, port - UART_BASE, v);
		return -1;
	}
	if (m->acpi) {
		ret = run_linux_port_out(port, v);
		if (ret >= 0) {
			tracef(m, "ACPI power-off (S5)");
			return ret;
		}
	}
	switch (port) {
	case PORT_DEBUGCON:
		putchar(v);
		if (v == '\n')
			fflush(stdout);
		break;
	case PORT_EXIT:
		return (v << 1) | 1;
	case PORT_SYSCTL_A:
		m->sysctl_a = v;
		if (v & SYSCTL_A_RESET) {
			tracef(m, "reset through port 0x92");
			return STATUS_RESET;
		}
		break;
	case PORT_KBC_CMD:
		if (v == KBC_CMD_RESET) {
			tracef(m, "reset through the keyboard controller");
			return STATUS_RESET;
		}
		break;
	}
	/* Port 0x80 (POST codes) and the absent devices drop writes. */
	return -1;
}

/*
 * An IN, OUT, INS or OUTS: io.count elements (a string batch) in the data
 * area. A wider access is one to consecutive byte ports, as on an ISA bus.
 */
static int handle_io(struct machine *m)
{
	struct minivmm_run *run = m->run;
	uint8_t *data = mvm_io_data(m->vcpu);
	unsigned int i, e, size = run->io.size;
	uint32_t v = 0;
	int ret = -1;

	if (!data)
		die("the kernel reported an I/O exit that does not fit in the run structure");
	if (run->io.direction == MINIVMM_IO_IN) {
		for (e = 0; e < run->io.count; e++, data += size)
			for (i = 0; i < size; i++)
				data[i] = port_in(m, run->io.port + i);
		data -= size;
		memcpy(&v, data, size);
		if (run->io.count == 1)
			tracef(m, "io in port %#x (%s) size %u -> %#x",
			       run->io.port, port_name(run->io.port), size, v);
		else
			tracef(m, "io ins port %#x (%s) size %u count %u, last -> %#x",
			       run->io.port, port_name(run->io.port), size,
			       run->io.count, v);
		return -1;
	}
	if (run->io.count == 1) {
		memcpy(&v, data, size);
		tracef(m, "io out port %#x (%s) size %u data %#x", run->io.port,
		       port_name(run->io.port), size, v);
	} else {
		tracef(m, "io outs port %#x (%s) size %u count %u", run->io.port,
		       port_name(run->io.port), size, run->io.count);
	}
	for (e = 0; e < run->io.count && ret < 0; e++, data += size)
		for (i = 0; i < size && ret < 0; i++)
			ret = port_out(m, run->io.port + i, data[i]);
	return ret;
}

static void handle_hypercall(struct machine *m)
{
	struct minivmm_run *run = m->run;
	__u64 *a = run->hypercall.args;
	void *p;

	switch (run->hypercall.nr) {
	case HC_CONSOLE:
		p = mvm_gpa(m->vm, a[0], a[1]);
		if (p) {
			fwrite(p, 1, a[1], stdout);
			fflush(stdout);
			run->hypercall.ret = a[1];
		} else {
			run->hypercall.ret = -(uint64_t)EFAULT;
		}
		break;
	default:
		run->hypercall.ret = MINIVMM_HC_ERR_UNKNOWN;
	}
	tracef(m, "hypercall %#llx (%#llx, %#llx, %#llx, %#llx) -> %#llx",
	       (unsigned long long)run->hypercall.nr,
	       (unsigned long long)a[0], (unsigned long long)a[1],
	       (unsigned long long)a[2], (unsigned long long)a[3],
	       (unsigned long long)run->hypercall.ret);
}

/*
 * The UART raised its interrupt: inject it now, from whichever thread
 * noticed, while the guest runs or sleeps in HLT.
 */
static void uart_raise(void *arg)
{
	struct machine *m = arg;
	int ret;

	if (m->ioapic) {
		/* An ISA line is edge-triggered: a pulse is one interrupt. */
		tracef(m, "uart: I/O APIC pin %u", UART_IOAPIC_PIN);
		if (mvm_irq_line(m->vm, UART_IOAPIC_PIN, 1) ||
		    mvm_irq_line(m->vm, UART_IOAPIC_PIN, 0))
			die("%s", mvm_strerror(m->vm));
		return;
	}
	ret = mvm_inject_interrupt(m->vcpu, UART_VECTOR);
	tracef(m, "uart: inject vector %u", UART_VECTOR);
	/* -EBUSY: one is still queued, the guest gets it anyway. */
	if (ret && ret != -EBUSY)
		die("%s", mvm_strerror(m->vm));
}

/*
 * The guest halted with interrupts disabled (with them enabled it sleeps
 * in the kernel until an interrupt comes): nothing can wake it.
 */
static int handle_hlt(struct machine *m)
{
	/* An AP stopped by its OS (Linux's stop_this_cpu()): it is done. */
	if (mvm_vcpu_id(m->vcpu)) {
		tracef(m, "vCPU %u halted with interrupts disabled",
		       mvm_vcpu_id(m->vcpu));
		return DRIVE_VCPU_DONE;
	}
	fflush(stdout);
	warn("the guest halted with interrupts disabled");
	return STATUS_HALT;
}

static int stop_status(void)
{
	fflush(stdout);
	switch (stop_signal) {
	case SIGALRM:
		warn("timeout: the guest was stopped");
		return STATUS_TIMEOUT;
	case SIGINT:
		warn("interrupted: the guest was stopped");
		return 128 + SIGINT;
	default:
		warn("%s: the guest was stopped", strsignal(stop_signal));
		return 128 + stop_signal;
	}
}

/* An exit to handle: -1 to go on, else what drive() returns. */
static int handle_exit(struct machine *m)
{
	struct minivmm_run *run = m->run;

	switch (run->exit_reason) {
	case MINIVMM_EXIT_IO:
		return handle_io(m);
	case MINIVMM_EXIT_MMIO:
		if (m->virtio && virtio_console_owns(run->mmio.phys_addr)) {
			tracef(m, "mmio %s %#llx len %u: virtio-console",
			       run->mmio.is_write ? "write" : "read",
			       (unsigned long long)run->mmio.phys_addr,
			       run->mmio.len);
			virtio_console_mmio(m->virtio, run->mmio.phys_addr,
					    run->mmio.len, run->mmio.is_write,
					    (uint64_t *)&run->mmio.data);
		} else if (run->mmio.is_write) {
			tracef(m, "mmio write %#llx len %u data %#llx (dropped)",
			       (unsigned long long)run->mmio.phys_addr,
			       run->mmio.len,
			       (unsigned long long)run->mmio.data);
		} else {
			run->mmio.data = 0;
			tracef(m, "mmio read %#llx len %u -> 0",
			       (unsigned long long)run->mmio.phys_addr,
			       run->mmio.len);
		}
		return -1;
	case MINIVMM_EXIT_HYPERCALL:
		handle_hypercall(m);
		return -1;
	case MINIVMM_EXIT_HLT:
		tracef(m, "hlt");
		return handle_hlt(m);
	default:
		tracef(m, "%s", mvm_exit_name(run->exit_reason));
		explain(m);
		return STATUS_CRASH;
	}
}

/*
 * Pausing every vCPU for a snapshot or a migration's last copy: each
 * thread sees pause_req at the top of its loop, completes in the kernel
 * what its last exit left there (RUN with immediate_exit), and waits
 * until the pause is over.
 */
static pthread_mutex_t pause_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pause_cond = PTHREAD_COND_INITIALIZER;
static atomic_bool pause_req;

/* -1 after a pause, or what drive() returns for an exit on the way. */
static int park(struct machine *m)
{
	int ret;

	m->run->immediate_exit = 1;
	for (;;) {
		ret = mvm_run(m->vcpu);
		if (ret == -EINTR)
			break;
		if (ret)
			die("%s", mvm_strerror(m->vm));
		uart_post_drain(m->uart);
		/* The instruction needs the device again. */
		ret = handle_exit(m);
		if (ret >= 0 || ret == DRIVE_VCPU_DONE) {
			m->run->immediate_exit = 0;
			return ret;
		}
	}
	m->run->immediate_exit = 0;
	pthread_mutex_lock(&pause_lock);
	m->parked = true;
	pthread_cond_broadcast(&pause_cond);
	while (atomic_load(&pause_req))
		pthread_cond_wait(&pause_cond, &pause_lock);
	m->parked = false;
	pthread_mutex_unlock(&pause_lock);
	return -1;
}

static int drive(struct machine *m)
{
	int ret;

	for (;;) {
		if (atomic_load(&run_status) >= 0)
			return run_status;
		if (stop_signal)
			return DRIVE_STOPPED;
		if (atomic_load(&pause_req)) {
			ret = park(m);
			if (ret >= 0 || ret == DRIVE_VCPU_DONE)
				return ret;
			continue;
		}
		ret = mvm_run(m->vcpu);
		/* What the guest sent before this exit goes out first. */
		uart_post_drain(m->uart);
		/* The exceptions the module raised on the way: in order. */
		if (m->trace)
			ktrace_drain(stderr);
		if (ret == -EINTR)
			continue;
		if (ret)
			die("%s", mvm_strerror(m->vm));
		ret = handle_exit(m);
		if (ret >= 0 || ret == DRIVE_VCPU_DONE)
			return ret;
	}
}

static void on_kick(int sig)
{
}

static int nmi_button_fd = -1;	/* the VM fd, for on_quit() */

/*
 * SIGQUIT is the machine's NMI button: a pulse of LINT1 on every vCPU,
 * which the MADT (--kernel) and PC firmware wire as NMI. What it does is
 * up to each vCPU's LVT LINT1 entry; a vCPU in RUN meanwhile goes on.
 */
static void on_quit(int sig)
{
	struct minivmm_lint l = {
		.vcpu = MINIVMM_LINT_ALL_VCPUS, .pin = MINIVMM_LINT1,
		.level = 1,
	};
	int err = errno;

	if (!ioctl(nmi_button_fd, MINIVMM_LINT, &l)) {
		l.level = 0;
		ioctl(nmi_button_fd, MINIVMM_LINT, &l);
	}
	errno = err;
}

/* Kick every vCPU thread out of RUN until each is paused or done. */
static void pause_all(void *arg)
{
	struct vmm *v = arg;
	unsigned int i, left;

	atomic_store(&pause_req, true);
	for (;;) {
		left = 0;
		pthread_mutex_lock(&pause_lock);
		for (i = 0; i < v->n; i++) {
			if (v->cpus[i].parked || atomic_load(&v->cpus[i].done))
				continue;
			pthread_kill(v->cpus[i].thread, SIGKICK);
			left++;
		}
		pthread_mutex_unlock(&pause_lock);
		if (!left)
			return;
		usleep(1000);
	}
}

static void resume_all(void *arg)
{
	pthread_mutex_lock(&pause_lock);
	atomic_store(&pause_req, false);
	pthread_cond_broadcast(&pause_cond);
	pthread_mutex_unlock(&pause_lock);
}

/*
 * vCPU @self's drive() returned @status: the first vCPU to end the run
 * sets its status, then interrupts the others' RUN until they leave
 * theirs (a kick that lands just before the ioctl is sent again).
 */
static int end_run(struct machine *self, struct machine *all,
		   unsigned int n, int status)
{
	bool first = false;
	unsigned int i;

	if (status == DRIVE_VCPU_DONE) {
		atomic_store(&self->done, true);
		return -1;
	}
	pthread_mutex_lock(&end_lock);
	if (atomic_load(&run_status) < 0) {
		atomic_store(&run_status,
			     status == DRIVE_STOPPED ? stop_status() : status);
		first = true;
	}
	pthread_mutex_unlock(&end_lock);
	atomic_store(&self->done, true);
	if (!first)
		return run_status;
	for (i = 0; i < n; i++)
		while (&all[i] != self && !atomic_load(&all[i].done)) {
			pthread_kill(all[i].thread, SIGKICK);
			usleep(1000);
		}
	return run_status;
}

/* End the run with @status, unless it has ended already. */
static void set_status(int status)
{
	pthread_mutex_lock(&end_lock);
	if (atomic_load(&run_status) < 0)
		atomic_store(&run_status, status);
	pthread_mutex_unlock(&end_lock);
}

/* ---- snapshots and migration, on SIGUSR1 ----------------------------- */

static sem_t ctl_sem;		/* posted by SIGUSR1, and to end */
static atomic_bool ctl_quit;

static void on_usr1(int sig)
{
	sem_post(&ctl_sem);
}

/* The machine's state, read the moment the vCPUs paused. */
static struct snap_saved saved;
static struct snap_devices saved_dev;
static bool saved_ok;

/*
 * Stop every vCPU and read the state at once: the guest's clock stops
 * there, and the memory written after it does not count as its time.
 */
static void pause_and_save(void *arg)
{
	struct vmm *v = arg;
	struct mvm_vcpu *vcpus[MINIVMM_MAX_CPUS];
	bool done[MINIVMM_MAX_CPUS];
	unsigned int i;

	pause_all(v);
	snap_saved_free(&saved);
	for (i = 0; i < v->n; i++) {
		vcpus[i] = v->cpus[i].vcpu;
		done[i] = atomic_load(&v->cpus[i].done);
	}
	/*
	 * What the guest sent is out (and the interrupt that may raise
	 * pending) before the registers are read.
	 */
	uart_post_drain(v->cpus[0].uart);
	/* A guest that ended meanwhile is not sent anywhere. */
	if (atomic_load(&run_status) >= 0) {
		saved_ok = false;
		snap_error("the guest ended before its vCPUs could be stopped");
		return;
	}
	saved_ok = !snap_save(&saved, v->vm, vcpus, done, v->n);
	memset(&saved_dev, 0, sizeof(saved_dev));
	uart_save(v->cpus[0].uart, &saved_dev);
	saved_dev.sysctl_a = v->cpus[0].sysctl_a;
	saved_dev.cmos_index = run_linux_cmos_index();
}

/* The state after the memory, as pause_and_save() read it. */
static int save_state(struct snap_writer *w, void *arg)
{
	int ret;

	if (!saved_ok)
		return -1;
	ret = snap_write_saved(w, &saved, &saved_dev);
	snap_saved_free(&saved);
	saved_ok = false;
	return ret;
}

/* Write --snapshot's file whole, then put it in place. */
static void write_snapshot(struct vmm *v)
{
	const char *path = v->o->snapshot;
	struct snap_writer w = { 0 };
	char tmp[4096], size[32];
	uint64_t pages;
	int ret;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w.fd < 0)
		die_perror("%s", tmp);
	ret = snap_write_begin(&w, &v->cfg) ||
	      snap_write_memory(&w, v->vm, NULL, &pages) ||
	      save_state(&w, v);
	if (ret)
		die("%s: %s", path, snap_strerror());
	if (close(w.fd) || rename(tmp, path))
		die_perror("%s", path);
	fflush(stdout);
	fprintf(stderr, "%s: snapshot written to %s (%s)%s\n", prog, path,
		format_bytes(w.bytes, size, sizeof(size)),
		v->o->snapshot_stop ? ": the guest was stopped" : "");
}

/* Takes no signals: they are the vCPU threads'. */
static void *controller(void *arg)
{
	struct vmm *v = arg;
	struct migrate_source src = {
		.vm = v->vm, .cfg = &v->cfg, .pause = pause_and_save,
		.resume = resume_all, .save_state = save_state, .arg = v,
	};

	for (;;) {
		while (sem_wait(&ctl_sem))
			;
		if (atomic_load(&ctl_quit) || atomic_load(&run_status) >= 0)
			return NULL;
		fflush(stdout);
		if (v->o->migrate_to) {
			if (migrate_send(&src, v->o->migrate_to)) {
				set_status(STATUS_MOVED);
				resume_all(v);
				return NULL;
			}
			continue;
		}
		pause_and_save(v);
		/* The guest may have ended meanwhile: nothing to save. */
		if (atomic_load(&run_status) < 0) {
			fflush(stdout);
			write_snapshot(v);
			if (v->o->snapshot_stop)
				set_status(STATUS_MOVED);
		}
		resume_all(v);
	}
}

struct vcpu_thread {
	struct machine *all;
	unsigned int n, index;
};

static void *vcpu_thread(void *arg)
{
	struct vcpu_thread *t = arg;
	struct machine *m = &t->all[t->index];

	/* Not before every thread is known: ending the run kicks them all. */
	pthread_mutex_lock(&end_lock);
	pthread_mutex_unlock(&end_lock);
	end_run(m, t->all, t->n, drive(m));
	return NULL;
}

static void print_stats(struct machine *m)
{
	struct mnl_vm vm;
	struct mnl *nl;
	int id;

	fflush(stdout);
	if (mnl_open(&nl) == 0) {
		id = mnl_find_vm_of_pid(nl, getpid());
		if (id >= 0 && !mnl_get_stats(nl, id, &vm)) {
			stat_print_vm(stderr, &vm, NULL);
			mnl_vm_free(&vm);
			mnl_close(nl);
			return;
		}
		mnl_close(nl);
	}
	warn("no netlink statistics (%s); the run structure says:",
	     mnl_strerror());
	fprintf(stderr, "  vCPU %u  entries %llu  exits %llu\n",
		mvm_vcpu_id(m->vcpu), (unsigned long long)m->run->entries,
		(unsigned long long)m->run->exits);
}

static void print_virtio_stats(struct virtio_console *c)
{
	uint64_t requests, bytes, bytes_in, interrupts;

	virtio_console_stats(c, &requests, &bytes, &bytes_in, &interrupts);
	fprintf(stderr,
		"  virtio-console: %llu requests, %llu bytes, %llu bytes in, %llu interrupts\n",
		(unsigned long long)requests, (unsigned long long)bytes,
		(unsigned long long)bytes_in, (unsigned long long)interrupts);
}

/*
 * --virtio-console: the DSDT gets the device (replacing the tables
 * mvm_load_linux() wrote), and the device its thread, which reads stdin
 * (the UART then reads none).
 */
static void start_virtio_console(struct vmm *v)
{
	const struct mvm_acpi_device dev = {
		.name = "VCON", .hid = "LNRO0005",
		.addr = VIRTIO_CONSOLE_ADDR, .size = VIRTIO_CONSOLE_SIZE,
		.gsi = VIRTIO_CONSOLE_GSI, .flags = 0,	/* edge: virtio.c */
	};
	void *acpi = mvm_gpa(v->vm, MVM_ACPI_ADDR, MVM_ACPI_SIZE);
	unsigned int i;

	if (!acpi || mvm_acpi_tables_devices(acpi, MVM_ACPI_SIZE,
					     MVM_ACPI_ADDR, v->o->vcpus,
					     &dev, 1) < 0)
		die("virtio-console: %s", mvm_strerror(NULL));
	v->virtio = virtio_console_start(v->vm, STDIN_FILENO);
	if (!v->virtio)
		die("virtio-console: %s", strerror(errno));
	for (i = 0; i < v->n; i++)
		v->cpus[i].virtio = v->virtio;
}

/*
 * --trace: the exceptions the module raises itself (a #GP for an MSR,
 * a #PF from its page walk) are tracepoint events, not exits.
 */
static void start_ktrace(void)
{
	struct mnl *nl;
	int id = -1, ret;

	if (mnl_open(&nl) == 0) {
		id = mnl_find_vm_of_pid(nl, getpid());
		mnl_close(nl);
	}
	ret = ktrace_start(id < 0 ? -1 : id);
	if (ret) {
		fflush(stdout);
		fprintf(stderr,
			"trace: exceptions raised in the kernel not shown (tracefs: %s)\n",
			strerror(-ret));
	}
}

/* --kernel: what goes with it, and what does not. */
static void parse_linux_options(int argc, char **argv, struct run_opts *o)
{
	if (optind < argc)
		die_usage(&cmd_run, "unexpected argument '%s' with --kernel",
			  argv[optind]);
	if (o->nr_modules || o->entry_set || o->format != MVM_FORMAT_AUTO)
		die_usage(&cmd_run,
			  "--module, --entry and --format do not go with --kernel");
	if (!o->mem_set)
		o->mem = DEFAULT_KERNEL_MEM;
	o->lk.cmdline = o->cmdline;
	o->lk.nr_cpus = o->vcpus;
	o->image = o->lk.kernel;
}

/* One of vmm_options[], which run and restore share. */
static void parse_common(const struct command *cmd, int c, const char *arg,
			 struct run_opts *o)
{
	uint64_t v;

	switch (c) {
	case OPT_NO_POSTED:
		o->no_posted = true;
		break;
	case OPT_TIMEOUT:
		if (parse_u64(arg, 1, 1U << 30, &v))
			die_usage(cmd,
				  "bad timeout '%s' (whole seconds, at least 1)",
				  arg);
		o->timeout = v;
		break;
	case OPT_TRACE:
		o->trace = true;
		break;
	case OPT_STATS:
		o->stats = true;
		break;
	case OPT_SNAPSHOT:
		o->snapshot = arg;
		break;
	case OPT_SNAPSHOT_STOP:
		o->snapshot_stop = true;
		break;
	case OPT_MIGRATE_TO:
		if (migrate_parse(arg))
			die_usage(cmd, "bad --migrate-to '%s' (unix:PATH)", arg);
		o->migrate_to = arg;
		break;
	}
}

/* --incoming of run or restore. */
static void parse_incoming(const struct command *cmd, const char *arg,
			   struct run_opts *o)
{
	if (migrate_parse(arg))
		die_usage(cmd, "bad --incoming '%s' (unix:PATH)", arg);
	o->incoming = arg;
}

/* Remember the first of run_options[] but --incoming given: its name. */
static void note_machine_option(struct run_opts *o, int c)
{
	const struct cli_option *opt;

	if (c == OPT_INCOMING || o->machine_opt)
		return;
	for (opt = run_options; opt->name; opt++)
		if (opt->key == c)
			o->machine_opt = opt->name;
}

static void check_common(const struct command *cmd, struct run_opts *o)
{
	if (o->snapshot_stop && !o->snapshot)
		die_usage(cmd, "--snapshot-stop needs --snapshot");
	if (o->snapshot && o->migrate_to)
		die_usage(cmd, "--snapshot and --migrate-to do not go together");
	if (o->virtio_console && (o->snapshot || o->migrate_to))
		die_usage(cmd,
			  "--virtio-console does not go with --snapshot or --migrate-to");
}

static void parse_options(int argc, char **argv, struct run_opts *o)
{
	const char *arg;
	uint64_t v;
	int c;

	while ((c = cli_getopt(&cmd_run, argc, argv, &arg)) != -1) {
		note_machine_option(o, c);
		switch (c) {
		case OPT_INCOMING:
			parse_incoming(&cmd_run, arg, o);
			break;
		case OPT_MEM:
			if (parse_size(arg, &o->mem) || !o->mem ||
			    o->mem % 4096)
				die_usage(&cmd_run,
					  "bad memory size '%s' (a non-zero multiple of 4K, e.g. 64M)",
					  arg);
			o->mem_set = true;
			break;
		case OPT_VCPUS:
			if (parse_u64(arg, 1, MINIVMM_MAX_CPUS, &v))
				die_usage(&cmd_run, "bad vCPU count '%s'", arg);
			o->vcpus = v;
			break;
		case OPT_ENTRY:
			if (parse_u64(arg, 0, UINT64_MAX, &o->entry))
				die_usage(&cmd_run, "bad address '%s'", arg);
			o->entry_set = true;
			break;
		case OPT_FORMAT:
			if (mvm_format_parse(arg, &o->format))
				die_usage(&cmd_run, "%s", mvm_strerror(NULL));
			break;
		case OPT_CMDLINE:
			o->cmdline = arg;
			break;
		case OPT_MODULE:
			o->modules = realloc(o->modules, (o->nr_modules + 1) *
					     sizeof(*o->modules));
			if (!o->modules)
				die("out of memory");
			o->modules[o->nr_modules++] = arg;
			break;
		case OPT_KERNEL:
			o->lk.kernel = arg;
			break;
		case OPT_INITRD:
			o->lk.initrd = arg;
			break;
		case OPT_VIRTIO_CONSOLE:
			o->virtio_console = true;
			break;
		default:
			parse_common(&cmd_run, c, arg, o);
		}
	}
	check_common(&cmd_run, o);
	if (o->incoming) {
		/* The machine comes with the guest: nothing to boot. */
		if (o->machine_opt)
			die_usage(&cmd_run,
				  "--%s does not go with --incoming (the machine comes from the source)",
				  o->machine_opt);
		if (optind < argc)
			die_usage(&cmd_run,
				  "unexpected argument '%s' with --incoming",
				  argv[optind]);
		return;
	}
	if (o->lk.kernel) {
		parse_linux_options(argc, argv, o);
		return;
	}
	if (o->lk.initrd)
		die_usage(&cmd_run, "--initrd needs --kernel");
	if (o->virtio_console)
		die_usage(&cmd_run, "--virtio-console needs --kernel");
	if (optind >= argc)
		die_usage(&cmd_run, "no IMAGE given");
	if (optind < argc - 1)
		die_usage(&cmd_run, "unexpected argument '%s' after IMAGE",
			  argv[optind + 1]);
	o->image = argv[optind];
}

/* Read the --module files; the string is the argument as given. */
static struct mvm_module *read_modules(struct run_opts *o)
{
	struct mvm_module *mods = calloc(o->nr_modules + 1, sizeof(*mods));
	unsigned int i;
	void *data;
	size_t size;
	char *file;

	if (!mods)
		die("out of memory");
	for (i = 0; i < o->nr_modules; i++) {
		file = strndup(o->modules[i], strcspn(o->modules[i], " "));
		if (!file)
			die("out of memory");
		if (mvm_read_file(file, &data, &size))
			die("module: %s", mvm_strerror(NULL));
		free(file);
		mods[i] = (struct mvm_module){ data, size, o->modules[i] };
	}
	return mods;
}

static void load(struct machine *m, struct run_opts *o, void *image,
		 size_t size)
{
	struct mvm_module *mods = NULL;
	struct mvm_boot boot = {
		.format = o->format, .addr = o->entry_set ? o->entry : 0,
		.cmdline = o->cmdline, .nr_modules = o->nr_modules,
	};
	enum mvm_format format = o->format;
	struct minivmm_regs regs;
	unsigned int i;

	if (format == MVM_FORMAT_AUTO)
		format = mvm_detect_format(image, size);
	if ((o->cmdline || o->nr_modules) && format != MVM_FORMAT_MULTIBOOT)
		die("%s: --cmdline and --module need a multiboot image (this is %s)",
		    o->image, mvm_format_name(format));
	if (format == MVM_FORMAT_FLAT && o->entry_set && !o->entry)
		die("%s: a flat image cannot be loaded at address 0",
		    o->image);
	boot.format = format;
	if (o->nr_modules) {
		mods = read_modules(o);
		boot.modules = mods;
	}
	if (mvm_load(m->vm, m->vcpu, image, size, &boot))
		die("%s: %s", o->image, mvm_strerror(m->vm));
	for (i = 0; i < o->nr_modules; i++)
		free((void *)mods[i].data);
	free(mods);

	if (o->entry_set && format != MVM_FORMAT_FLAT) {
		if (mvm_get_regs(m->vcpu, &regs))
			die("%s", mvm_strerror(m->vm));
		regs.rip = o->entry;
		boot.entry = o->entry;
		if (mvm_set_regs(m->vcpu, &regs))
			die("%s", mvm_strerror(m->vm));
	}
	if (o->trace) {
		fprintf(stderr, "trace: %s image %#llx-%#llx, entry %#llx",
			mvm_format_name(boot.loaded),
			(unsigned long long)boot.image_start,
			(unsigned long long)boot.image_end,
			(unsigned long long)boot.entry);
		if (boot.data_size)
			fprintf(stderr, ", loader data %#llx-%#llx",
				(unsigned long long)boot.data_addr,
				(unsigned long long)(boot.data_addr +
						     boot.data_size));
		if (boot.info_addr)
			fprintf(stderr, ", multiboot info %#llx",
				(unsigned long long)boot.info_addr);
		fputc('\n', stderr);
	}
}

static struct uart uart;

/* vCPUs 0..@n-1 of @v->vm, each with its machine; the UART on stdin. */
static void make_vcpus(struct vmm *v, unsigned int n, bool linux_machine,
		       bool trace)
{
	unsigned int i;

	v->n = n;
	v->cpus = calloc(n, sizeof(*v->cpus));
	if (!v->cpus)
		die("out of memory");
	for (i = 0; i < n; i++) {
		struct machine *m = &v->cpus[i];

		m->vm = v->vm;
		if (mvm_vcpu_create(v->vm, i, &m->vcpu))
			die("%s", mvm_strerror(v->vm));
		m->run = mvm_vcpu_run_struct(m->vcpu);
		m->uart = &uart;
		m->trace = trace;
		m->acpi = linux_machine;
		m->ioapic = linux_machine;
	}
	/* The UART interrupts through vCPU 0. */
	uart_init(&uart, -1, stdout, uart_raise, &v->cpus[0]);
}

/*
 * Run the machine until it stops: a thread per vCPU (vCPU 0's is this
 * one), and with --snapshot or --migrate-to one more that acts on
 * SIGUSR1. Returns the exit status.
 */
static int run_vmm(struct vmm *v)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct run_opts *o = v->o;
	struct vcpu_thread *threads;
	sigset_t all, old;
	pthread_t ctl;
	unsigned int i;
	int ret;

	threads = calloc(v->n, sizeof(*threads));
	if (!threads)
		die("out of memory");
	if (o->trace)
		start_ktrace();
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = on_kick;
	sigaction(SIGKICK, &sa, NULL);
	nmi_button_fd = mvm_fd(v->vm);
	sa.sa_handler = on_quit;
	sigaction(SIGQUIT, &sa, NULL);
	sa.sa_handler = o->snapshot || o->migrate_to ? on_usr1 : SIG_IGN;
	sigaction(SIGUSR1, &sa, NULL);
	/* A destination that goes away fails the migration, no more. */
	if (o->migrate_to)
		signal(SIGPIPE, SIG_IGN);
	sem_init(&ctl_sem, 0, 0);
	if (o->timeout)
		alarm(o->timeout);

	/*
	 * UART transmits without exits; --trace shows each write, and the
	 * rings of several vCPUs would not keep the order of their writes.
	 */
	if (v->n == 1 && !o->trace && !o->no_posted)
		uart_post_start(&uart, mvm_fd(v->vm), mvm_vcpu_fd(v->cpus[0].vcpu));

	v->cpus[0].thread = pthread_self();
	pthread_mutex_lock(&end_lock);
	for (i = 1; i < v->n; i++) {
		threads[i] = (struct vcpu_thread){ v->cpus, v->n, i };
		/* A vCPU its OS stopped for good before a snapshot stays so. */
		if (atomic_load(&v->cpus[i].done))
			continue;
		if (pthread_create(&v->cpus[i].thread, NULL, vcpu_thread,
				   &threads[i]))
			die("cannot start the thread of vCPU %u", i);
	}
	/* After the vCPU threads, which it kicks. */
	if (o->snapshot || o->migrate_to) {
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		if (pthread_create(&ctl, NULL, controller, v))
			die("cannot start a thread");
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	pthread_mutex_unlock(&end_lock);
	end_run(&v->cpus[0], v->cpus, v->n, drive(&v->cpus[0]));
	for (i = 1; i < v->n; i++)
		if (v->cpus[i].thread)
			pthread_join(v->cpus[i].thread, NULL);
	if (o->snapshot || o->migrate_to) {
		atomic_store(&ctl_quit, true);
		sem_post(&ctl_sem);
		pthread_join(ctl, NULL);
	}
	ret = run_status;
	free(threads);
	/* No more interruptions: the statistics talk to the kernel. */
	setitimer(ITIMER_REAL, &(struct itimerval){ 0 }, NULL);
	uart_post_stop(&uart);
	fflush(stdout);
	if (o->stats)
		print_stats(&v->cpus[0]);
	if (o->stats && v->virtio)
		print_virtio_stats(v->virtio);
	virtio_console_stop(v->virtio);
	mvm_destroy(v->vm);
	free(v->cpus);
	return ret;
}

/*
 * Build the machine that @file holds ('minivmm restore FILE'), or that
 * the source sends to @o->incoming when @file is NULL, and run it. A
 * stream that fails on the way ends the process before any vCPU runs.
 */
static int resume(struct run_opts *o, const char *file)
{
	struct vmm v = { .o = o };
	struct snap_reader r = { .fd = -1 };
	struct mvm_vcpu *vcpus[MINIVMM_MAX_CPUS];
	struct snap_state st;
	char name[4200];
	unsigned int i;

	if (o->incoming) {
		r.fd = migrate_accept(o->incoming);
		snprintf(name, sizeof(name), "incoming migration on %s failed",
			 o->incoming);
	} else {
		snprintf(name, sizeof(name), "%s", file);
		r.fd = open(file, O_RDONLY | O_CLOEXEC);
		if (r.fd < 0)
			die_perror("%s", file);
		/* All of it is checked before a VM exists. */
		if (snap_read(&r, &st, NULL))
			die("%s: %s", name, snap_strerror());
		snap_state_free(&st);
		if (lseek(r.fd, 0, SEEK_SET))
			die_perror("%s", file);
		r.offset = 0;
	}
	if (snap_read(&r, &st, &v.vm))
		die("%s: %s", name, snap_strerror());
	v.cfg = st.cfg;
	make_vcpus(&v, st.cfg.nr_vcpus, st.cfg.flags & SNAP_CFG_LINUX, o->trace);
	for (i = 0; i < v.n; i++)
		vcpus[i] = v.cpus[i].vcpu;
	if (snap_apply(&st, v.vm, vcpus))
		die("%s: %s", name, snap_strerror());
	for (i = 0; i < v.n; i++) {
		v.cpus[i].sysctl_a = st.dev.sysctl_a;
		if (st.vcpus[i]->flags & SNAP_VCPU_DONE)
			atomic_store(&v.cpus[i].done, true);
	}
	uart_restore(&uart, &st.dev);
	run_linux_set_cmos_index(st.dev.cmos_index);
	snap_state_free(&st);
	if (o->incoming)
		migrate_ack(r.fd);
	else
		close(r.fd);
	uart_start_reader(&uart, STDIN_FILENO);
	return run_vmm(&v);
}

static int run_main(int argc, char **argv)
{
	struct run_opts o = { .mem = DEFAULT_MEM, .vcpus = 1 };
	struct vmm v = { .o = &o };
	struct minivmm_caps caps;
	size_t size;
	void *image;

	/* Small statuses belong to the guest: ours is 125, as timeout(1)'s. */
	die_status = 125;
	parse_options(argc, argv, &o);
	if (o.incoming)
		return resume(&o, NULL);

	if (o.lk.kernel)
		run_linux_open(&o.lk);
	else if (mvm_read_file(o.image, &image, &size))
		die("%s", mvm_strerror(NULL));
	if (o.vcpus > 1 && !mvm_get_caps(&caps) && o.vcpus > caps.max_vcpus)
		die("--vcpus %u: a VM has at most %u vCPUs", o.vcpus,
		    caps.max_vcpus);
	if (mvm_create(&v.vm, o.mem))
		die("%s", mvm_strerror(NULL));
	/* The others wait in the kernel for a start-up IPI, if one comes. */
	make_vcpus(&v, o.vcpus, o.lk.kernel, o.trace);
	v.cfg = (struct snap_config){
		.mem_size = o.mem, .nr_vcpus = o.vcpus,
		.flags = o.lk.kernel ? SNAP_CFG_LINUX : 0,
	};
	snprintf(v.cfg.image, sizeof(v.cfg.image), "%s", o.image);
	if (o.lk.kernel) {
		run_linux_load(v.vm, v.cpus[0].vcpu, &o.lk, o.trace);
		if (o.virtio_console)
			start_virtio_console(&v);
	} else {
		load(&v.cpus[0], &o, image, size);
		free(image);
	}
	/* Stdin goes to one console: the virtio one if there is one. */
	if (!v.virtio)
		uart_start_reader(&uart, STDIN_FILENO);
	return run_vmm(&v);
}

const struct command cmd_run = {
	.name = "run",
	.synopsis = "[OPTIONS] IMAGE | [OPTIONS] --kernel FILE | [OPTIONS] --incoming unix:PATH",
	.summary = "boot an image in a new VM",
	.description =
	"Boot IMAGE in a new VM: a flat binary (started in real mode), an ELF32\n"
	"or ELF64 executable (started in protected or long mode at its entry\n"
	"point) or a multiboot v1 kernel (booted as QEMU's -kernel does); or,\n"
	"with --kernel, a Linux bzImage or vmlinux through the 64-bit boot\n"
	"protocol, with ACPI tables describing the machine.\n"
	"The console is a 16550 UART at 0x3f8 on stdin/stdout, and port 0xe9.\n\n"
	"Exit status: 0 when the guest halts for good, (V << 1) | 1 when it\n"
	"writes V to port 0xf4, 4 when it resets the machine (port 0x92 bit 0,\n"
	"keyboard controller command 0xfe, the ACPI reset register), 0 when a\n"
	"--kernel guest powers off (ACPI S5), 2 when it crashes (triple fault, entry failure,\n"
	"something minivmm cannot emulate), 124 on --timeout, 128 + N on\n"
	"signal N (130 for Ctrl-C), 125 when minivmm itself fails.\n\n"
	"With --snapshot, SIGUSR1 writes the whole machine to FILE (see\n"
	"'minivmm restore'); with --migrate-to unix:PATH it moves the running\n"
	"guest to 'minivmm run --incoming unix:PATH' (or 'minivmm restore\n"
	"--incoming'), which listens at PATH, builds the machine the source\n"
	"sends (no IMAGE, --kernel, --mem or other machine options) and runs\n"
	"it. After --snapshot-stop or a migration the exit status is 138\n"
	"(128 + SIGUSR1). A migration that fails (nobody listening at PATH,\n"
	"the destination gone) says so in one line and the guest goes on\n"
	"here; the next SIGUSR1 tries again. A destination whose stream is\n"
	"corrupt or cut short says so in one line and exits with 125 before\n"
	"the guest runs.",
	.options = run_options,
	.more_options = vmm_options,
	.run = run_main,
};

static const struct cli_option restore_options[] = {
	{ "incoming", "unix:PATH", OPT_INCOMING,
	  "take a migrating guest from 'run --migrate-to unix:PATH', not FILE" },
	{ }
};

static int restore_main(int argc, char **argv)
{
	struct run_opts o = { 0 };
	const char *arg;
	int c;

	die_status = 125;
	while ((c = cli_getopt(&cmd_restore, argc, argv, &arg)) != -1) {
		if (c == OPT_INCOMING)
			parse_incoming(&cmd_restore, arg, &o);
		else
			parse_common(&cmd_restore, c, arg, &o);
	}
	check_common(&cmd_restore, &o);
	if (o.incoming && optind < argc)
		die_usage(&cmd_restore, "unexpected argument '%s' with --incoming",
			  argv[optind]);
	if (!o.incoming && optind != argc - 1)
		die_usage(&cmd_restore, "give one FILE");
	return resume(&o, o.incoming ? NULL : argv[optind]);
}

const struct command cmd_restore = {
	.name = "restore",
	.synopsis = "[OPTIONS] FILE | [OPTIONS] --incoming unix:PATH",
	.summary = "resume a snapshot or a migrating guest",
	.description =
	"Resume the VM that 'minivmm run --snapshot' wrote to FILE, or that\n"
	"'minivmm run --migrate-to unix:PATH' sends (as 'minivmm run\n"
	"--incoming unix:PATH' does), in a new VM, with the same console and\n"
	"exit statuses as 'minivmm run'. FILE is checked whole before the VM\n"
	"is made: a file of another format version, made on a host with\n"
	"another CPU or module, corrupt or truncated, is refused with one line\n"
	"and exit status 125.",
	.options = restore_options,
	.more_options = vmm_options,
	.run = restore_main,
};

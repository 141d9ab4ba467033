// SPDX-License-Identifier: GPL-2.0
/*
 * exit_bench: what a VM exit costs under minivmm, next to KVM, in the
 * same boot of the same machine.
 *
 * Four real-mode guests, each run under both hypervisors:
 *   pio     N "out" instructions, each a round trip to userspace and back
 *   mmio    N one-byte MMIO writes (just above RAM), each a round trip
 *   cpuid   N CPUID instructions, each answered inside the kernel
 *   hlt     N HLT instructions, each a round trip to userspace
 * pio-page, mmio-page and hlt-page run the pio, mmio and hlt guests with
 * each exit completed through the run page (struct minivmm_run.handoff):
 * the answer is a cmpxchg of the handoff word, not a RUN, while the
 * vCPU thread polls (module parameter page_poll_ns); the KVM column is
 * KVM's ioctl round trip, as in the pio, mmio and hlt rows. With one
 * host CPU the bench's spin calls sched_yield() between looks.
 * The host counts TSC cycles around the whole run and divides by N. In
 * the emulated machine the TSC counts emulated instructions, so these are
 * repeatable path lengths; on real hardware they are cycles. Each guest
 * runs 5 times under each hypervisor, alternating, each time in a
 * new VM.
 *
 * Three more rows measure interrupts, each with its own guest:
 *   timer   the guest arms its TSC-deadline timer, halts, and its handler
 *           counts the cycles from the deadline to its first instruction
 *   ipi     vCPU 0 sends a fixed IPI to vCPU 1, which waits halted; the
 *           cycles from the ICR write until vCPU 0 sees the flag vCPU 1's
 *           handler writes (each vCPU on its own host thread)
 *   irqfd   a host thread writes an eventfd that sends an MSI to the
 *           halted guest; host cycles from the write until it sees the
 *           counter the guest's handler increments
 * Both hypervisors get the same guest: the x2APIC MSRs reach the local
 * APIC from real mode. A guest whose CPUID lacks x2APIC (or TSC deadline)
 * says so, and its row is reported unavailable.
 *
 * And the VM as a whole:
 *   lifecycle  open the device, create a VM, give it 1 MiB of RAM and a
 *              vCPU, run to the guest's first exit (its first
 *              instruction, an OUT), close it all: host cycles for the
 *              whole, each one the same
 *   compute    a loop of register arithmetic with no exit, timed by the
 *              guest's own RDTSC (cycles per 1000 rounds); the same instructions on the host are a
 *              third column: what running inside a VM costs a guest that
 *              never exits (host interrupts and the preemption timer
 *              still take it out)
 *   scale      idle 1-vCPU VMs (1 MiB of RAM each, all of it faulted in,
 *              never run) created until the hypervisor refuses, memory
 *              runs low (MemAvailable below SCALE_RESERVE_MB) or
 *              SCALE_CAP, minivmm's own default per-user limit: how many,
 *              and the kernel memory per VM (MemFree's drop less the
 *              guest RAM; and apart, the growth of Slab, KernelStack,
 *              PageTables, SecPageTables and VmallocUsed in
 *              /proc/meminfo), once per hypervisor
 *
 * Prints one line per guest and hypervisor (median, min and max) and the
 * minivmm/KVM ratio of the medians; --json FILE writes the same as JSON
 * (report.h). A hypervisor that is not available is reported and
 * skipped; the exit status is 1 when a row failed under minivmm. --quick
 * runs each row once with few iterations: make check uses it so that the
 * bench cannot rot, and its numbers mean nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <linux/kvm.h>
#include <linux/minivmm.h>

#include "report.h"

#define MEM_SIZE	(1 << 20)
#define CODE_ADDR	0x7c00
/* Iterations per run; --quick: few, to prove it works. */
static unsigned int iterations = 10000;
/*
 * VM lifecycles per run, and loop rounds of the compute row, which
 * reports cycles per COMPUTE_PER rounds.
 */
static unsigned int lifecycles = 50, compute_rounds = 1000000;
#define COMPUTE_PER		1000
/* The scale row: VMs at most, and the memory it leaves the machine. */
static unsigned int scale_cap = 64;
#define SCALE_RESERVE_MB	48
/* The MMIO row's writes: ES:0x10, the first byte above RAM. */
#define MMIO_SEG	0xffff
#define MMIO_OFF	0x10
#define MMIO_ADDR	(MMIO_SEG * 16 + MMIO_OFF)

/*
 * The interrupt rows: fewer iterations, as each one also waits DELAY
 * cycles so that the next interrupt finds the vCPU halted, asleep in the
 * host, rather than still on its way back to HLT.
 */
static unsigned int irq_iterations = 1000;
#define DELAY		20000
#define VEC		0x40		/* the vector of every row */
/* Where the interrupt guests keep what handlers and the host read. */
#define D_TOTAL		0x500		/* u64: cycles, summed */
#define D_FLAG		0x508		/* u32: written by the handler */
#define D_READY		0x50c		/* u32: the guest's APIC is set up */
#define D_DEADLINE	0x510		/* u64: the deadline armed last */
#define D_ITERATIONS	0x518		/* u32: the guest's loop count */
#define STACK0		0x7000
#define STACK1		0x6000
#define PORT_DONE	0xf4
#define PORT_MISSING	0xf6		/* CPUID lacks what the guest needs */
/* A guest that has not ended after this many seconds failed. */
#define TIMEOUT_S	120
/* A row's error that is no errno: the guest's CPUID said no. */
#define ERR_MISSING	1000
/* The compute row's third column: no VM, the loop on the host. */
#define ERR_HOST	1001

/* The SDM's numbers: userspace has no asm/msr-index.h or apicdef.h. */
#define MSR_APIC_BASE		0x1b
#define APIC_BASE_X2APIC	0xc00		/* EXTD | EN */
#define MSR_TSC_DEADLINE	0x6e0
#define X2APIC_EOI		0x80b
#define X2APIC_SVR		0x80f
#define X2APIC_ICR		0x830
#define X2APIC_LVTT		0x832
#define SVR_ENABLE		0x100
#define LVTT_TSC_DEADLINE	(2 << 17)
#define CPUID1_X2APIC		(1 << 21)
#define CPUID1_TSC_DEADLINE	(1 << 24)
/* Fixed delivery to APIC ID 0, physical destination, edge. */
#define MSI_ADDR		0xfee00000
#define IRQFD_GSI		24
#define KVM_MAX_CPUID		256

struct hv;

struct runner;

/**
 * struct guest - one row of the table
 * @name:	the row's name
 * @code:	the guest's real-mode code, copied to CODE_ADDR
 * @end:	its end
 * @row:	the interrupt rows: what the host does while the vCPUs run
 *		on their runners; NULL for the exit rows
 * @ap:		vCPU 1's entry point in @code; NULL for one vCPU
 * @handler:	the handler of VEC in @code (interrupt rows)
 * @measure:	one run of the row under a hypervisor: cycles, or a
 *		negative error
 * @count:	what the guest finds at D_ITERATIONS, when not the exit or
 *		interrupt rows' count
 * @page:	minivmm completes the exits through the run page
 */
struct guest {
	const char *name;
	const unsigned char *code, *end;
	int (*row)(struct hv *hv, struct runner *r, unsigned int n,
		   double *cycles);
	const unsigned char *ap, *handler;
	double (*measure)(struct hv *hv, const struct guest *g);
	unsigned int *count;
	bool page;
};

/*
 * ECX counts down from D_ITERATIONS; each guest ends with an OUT to port
 * 0xf4. ES is MMIO_SEG.
 */
#define GUEST(name, body)						\
	extern const unsigned char name[], name##_end[];		\
	asm(".pushsection .rodata." #name ", \"a\"\n"			\
	    #name ":\n\t.code16\n\t"					\
	    "mov $" S(MMIO_SEG) ", %ax\n\tmov %ax, %es\n\t"		\
	    "xor %ax, %ax\n\tmov %ax, %ds\n\t"				\
	    "mov " __stringify(D_ITERATIONS) ", %ecx\n"			\
	    "1:\n\t" body "\n\t"					\
	    "dec %ecx\n\tjnz 1b\n\t"					\
	    "mov $0, %al\n\tout %al, $0xf4\n\t.code64\n"		\
	    #name "_end:\n.popsection\n")
#define __stringify_1(x)	#x
#define __stringify(x)		__stringify_1(x)
#define S(x)			__stringify(x)

GUEST(guest_pio, "out %al, $0x80");
GUEST(guest_mmio, "movb %al, %es:" S(MMIO_OFF));
GUEST(guest_cpuid, "push %ecx\n\txor %eax, %eax\n\tcpuid\n\tpop %ecx");
GUEST(guest_hlt, "hlt");

/* An interrupt guest: real-mode code, labels of its own inside. */
#define IRQ_GUEST(name, body)						\
	asm(".pushsection .rodata." #name ", \"a\"\n"			\
	    #name ":\n\t.code16\n\t" body "\n\t.code64\n"		\
	    #name "_end:\n.popsection\n")

/*
 * Where each vCPU of an interrupt guest starts: flat real mode on a
 * stack of its own; CPUID leaf 1 must have the ECX bits @need, else the
 * guest reports on PORT_MISSING (MISSING, the next label 99) and goes no
 * further; then the local APIC in x2APIC mode, whose MSRs real mode
 * reaches (the xAPIC page at 0xfee00000 it cannot), software-enabled.
 */
#define APIC_ON(sp, need)						\
	"xor %ax, %ax\n\tmov %ax, %ds\n\tmov %ax, %ss\n\t"		\
	"mov $" S(sp) ", %sp\n\t"					\
	"mov $1, %eax\n\tcpuid\n\t"					\
	"mov $(" S(need) "), %edx\n\t"				\
	"and %edx, %ecx\n\tcmp %edx, %ecx\n\tjne 99f\n\t"		\
	"mov $" S(MSR_APIC_BASE) ", %ecx\n\trdmsr\n\t"			\
	"or $" S(APIC_BASE_X2APIC) ", %eax\n\twrmsr\n\t"		\
	"mov $" S(X2APIC_SVR) ", %ecx\n\t"				\
	"mov $(" S(SVR_ENABLE) " | 0xff), %eax\n\t"			\
	"xor %edx, %edx\n\twrmsr\n\t"
#define MISSING	"99: out %al, $" S(PORT_MISSING) "\n\tjmp 99b\n\t"
#define EOI	"mov $" S(X2APIC_EOI) ", %ecx\n\t"			\
		"xor %eax, %eax\n\txor %edx, %edx\n\twrmsr\n\t"
/* D_TOTAL += EDX:EAX */
#define ADD_TOTAL							\
	"add %eax, " S(D_TOTAL) "\n\tadc %edx, " S(D_TOTAL) " + 4\n\t"

extern const unsigned char guest_timer[], guest_timer_end[],
	guest_timer_irq[];
extern const unsigned char guest_ipi[], guest_ipi_end[], guest_ipi_ap[],
	guest_ipi_irq[];
extern const unsigned char guest_irqfd[], guest_irqfd_end[],
	guest_irqfd_irq[];

/*
 * Timer: arm the TSC deadline DELAY cycles ahead, halt until the handler
 * has run (STI's shadow covers the HLT, so the interrupt cannot slip in
 * between), again D_ITERATIONS times. The handler adds the cycles from
 * the deadline to its first instruction.
 */
IRQ_GUEST(guest_timer,
	  APIC_ON(STACK0, CPUID1_X2APIC | CPUID1_TSC_DEADLINE)
	  "mov $" S(X2APIC_LVTT) ", %ecx\n\t"
	  "mov $(" S(LVTT_TSC_DEADLINE) " | " S(VEC) "), %eax\n\t"
	  "xor %edx, %edx\n\twrmsr\n\t"
	  "mov " S(D_ITERATIONS) ", %esi\n"
	  "1:\tmovl $0, " S(D_FLAG) "\n\t"
	  "rdtsc\n\tadd $" S(DELAY) ", %eax\n\tadc $0, %edx\n\t"
	  "mov %eax, " S(D_DEADLINE) "\n\t"
	  "mov %edx, " S(D_DEADLINE) " + 4\n\t"
	  "mov $" S(MSR_TSC_DEADLINE) ", %ecx\n\twrmsr\n"
	  "2:\tcmpl $0, " S(D_FLAG) "\n\tjne 3f\n\t"
	  "sti\n\thlt\n\tcli\n\tjmp 2b\n"
	  "3:\tdec %esi\n\tjnz 1b\n"
	  "4:\tout %al, $" S(PORT_DONE) "\n\tjmp 4b\n\t"
	  MISSING
	  "guest_timer_irq:\n\t"
	  "rdtsc\n\t"
	  "sub " S(D_DEADLINE) ", %eax\n\t"
	  "sbb " S(D_DEADLINE) " + 4, %edx\n\t"
	  ADD_TOTAL
	  "movl $1, " S(D_FLAG) "\n\t"
	  EOI
	  "iret");

/*
 * IPI: vCPU 1 sets up its APIC, says so in D_READY and halts for good;
 * its handler sets D_FLAG. vCPU 0 waits DELAY cycles (vCPU 1 gets back
 * into HLT), clears the flag, sends VEC to APIC ID 1 (the ICR's high
 * half) and spins until the flag is set, adding up the cycles.
 */
IRQ_GUEST(guest_ipi,
	  APIC_ON(STACK0, CPUID1_X2APIC)
	  "1:\tpause\n\tcmpl $0, " S(D_READY) "\n\tje 1b\n\t"
	  "mov " S(D_ITERATIONS) ", %esi\n"
	  "2:\trdtsc\n\tmov %eax, %edi\n"
	  "3:\tpause\n\trdtsc\n\tsub %edi, %eax\n\t"
	  "cmp $" S(DELAY) ", %eax\n\tjb 3b\n\t"
	  "movl $0, " S(D_FLAG) "\n\t"
	  "rdtsc\n\tmov %eax, %edi\n\tmov %edx, %ebp\n\t"
	  "mov $" S(X2APIC_ICR) ", %ecx\n\t"
	  "mov $" S(VEC) ", %eax\n\tmov $1, %edx\n\twrmsr\n"
	  "4:\tpause\n\tcmpl $0, " S(D_FLAG) "\n\tje 4b\n\t"
	  "rdtsc\n\tsub %edi, %eax\n\tsbb %ebp, %edx\n\t"
	  ADD_TOTAL
	  "dec %esi\n\tjnz 2b\n"
	  "5:\tout %al, $" S(PORT_DONE) "\n\tjmp 5b\n\t"
	  MISSING
	  "guest_ipi_ap:\n\t"
	  APIC_ON(STACK1, CPUID1_X2APIC)
	  "movl $1, " S(D_READY) "\n\t"
	  "sti\n"
	  "6:\thlt\n\tjmp 6b\n\t"
	  MISSING
	  "guest_ipi_irq:\n\t"
	  "movl $1, " S(D_FLAG) "\n\t"
	  EOI
	  "iret");

/* irqfd: halt for good; the handler counts in D_FLAG. */
IRQ_GUEST(guest_irqfd,
	  APIC_ON(STACK0, CPUID1_X2APIC)
	  "movl $1, " S(D_READY) "\n\t"
	  "sti\n"
	  "1:\thlt\n\tjmp 1b\n\t"
	  MISSING
	  "guest_irqfd_irq:\n\t"
	  "incl " S(D_FLAG) "\n\t"
	  EOI
	  "iret");

/* Lifecycle and scale: the first instruction exits, and ends the guest. */
extern const unsigned char guest_first[], guest_first_end[];
IRQ_GUEST(guest_first,
	  "1:\tout %al, $" S(PORT_DONE) "\n\tjmp 1b");

/*
 * Compute: D_ITERATIONS rounds of register arithmetic, no exit; the same
 * instructions run on the host as compute_host(rounds).
 */
#define COMPUTE_LOOP							\
	"1:\timul %ebx, %ebx\n\tadd %ecx, %ebx\n\t"			\
	"dec %ecx\n\tjnz 1b\n\t"
void compute_host(unsigned int rounds);
asm(".pushsection .text\n"
	"compute_host:\n\t"
	"push %rbx\n\tmov %edi, %ecx\n\txor %ebx, %ebx\n"
	COMPUTE_LOOP
	"pop %rbx\n\tret\n"
	".popsection\n");
extern const unsigned char guest_compute[], guest_compute_end[];
IRQ_GUEST(guest_compute,
	  "xor %ax, %ax\n\tmov %ax, %ds\n\t"
	  "mov " S(D_ITERATIONS) ", %ecx\n\txor %ebx, %ebx\n\t"
	  "rdtsc\n\tmov %eax, %edi\n\tmov %edx, %ebp\n"
	  COMPUTE_LOOP
	  "rdtsc\n\tsub %edi, %eax\n\tsbb %ebp, %edx\n\t"
	  ADD_TOTAL
	  "2:\tout %al, $" S(PORT_DONE) "\n\tjmp 2b");

/**
 * struct hv - a hypervisor, and the VM of one measurement
 * @name:	its name in the table
 * @setup:	a VM with one vCPU, no interrupt controller (the exit rows)
 * @run:	one RUN of the exit rows; sets *done at the guest's end
 * @irq_setup:	a VM with its in-kernel local APICs and @n vCPUs, vCPU 1
 *		runnable at the guest's @ap
 * @run_vcpu:	one RUN of vCPU @i: the port of an OUT, or -errno (-EIO
 *		for another exit)
 * @irqfd:	makes eventfd @fd send VEC to APIC ID 0 as an MSI
 * @dev:	the device fd
 * @vm:		the VM fd
 * @vcpu:	the vCPU fds
 * @mem:	guest memory
 * @run_page:	the vCPUs' run structures
 * @run_size:	their mapping's size
 * @efd:	the eventfd of the irqfd row
 */
struct hv {
	const char *name;
	int (*setup)(struct hv *hv, const struct guest *g);
	int (*run)(struct hv *hv, int *done);
	int (*irq_setup)(struct hv *hv, const struct guest *g, unsigned int n);
	int (*run_vcpu)(struct hv *hv, unsigned int i);
	int (*irqfd)(struct hv *hv, int fd);
	int dev, vm, vcpu[2];
	void *mem, *run_page[2];
	size_t run_size;
	int efd;
};

static void *guest_memory(const struct guest *g)
{
	uint16_t *ivt;
	void *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (mem == MAP_FAILED)
		return NULL;
	memcpy((char *)mem + CODE_ADDR, g->code, g->end - g->code);
	*(uint32_t *)((char *)mem + D_ITERATIONS) =
		g->count ? *g->count : g->row ? irq_iterations : iterations;
	/* The real-mode IVT at 0: offset, then segment 0. */
	if (g->handler) {
		ivt = mem;
		ivt[VEC * 2] = CODE_ADDR + (g->handler - g->code);
		ivt[VEC * 2 + 1] = 0;
	}
	return mem;
}

static uint32_t *guest_u32(struct hv *hv, unsigned long addr)
{
	return (uint32_t *)((char *)hv->mem + addr);
}

/* ---- minivmm -------------------------------------------------------- */

static int mvm_create(struct hv *hv, const struct guest *g, unsigned int n)
{
	struct minivmm_memory_region r = { .size = MEM_SIZE };
	unsigned int i;

	hv->dev = open("/dev/minivmm", O_RDWR);
	if (hv->dev < 0)
		return -errno;
	hv->vm = ioctl(hv->dev, MINIVMM_CREATE_VM, 0);
	if (hv->vm < 0)
		return -errno;
	hv->mem = guest_memory(g);
	if (!hv->mem)
		return -ENOMEM;
	r.userspace_addr = (uintptr_t)hv->mem;
	if (ioctl(hv->vm, MINIVMM_SET_MEMORY_REGION, &r))
		return -errno;
	hv->run_size = MINIVMM_RUN_MMAP_SIZE;
	for (i = 0; i < n; i++) {
		hv->vcpu[i] = ioctl(hv->vm, MINIVMM_CREATE_VCPU, i);
		if (hv->vcpu[i] < 0)
			return -errno;
		hv->run_page[i] = mmap(NULL, hv->run_size,
				       PROT_READ | PROT_WRITE, MAP_SHARED,
				       hv->vcpu[i], 0);
		if (hv->run_page[i] == MAP_FAILED)
			return -errno;
	}
	return 0;
}

static int mvm_setup(struct hv *hv, const struct guest *g)
{
	return mvm_create(hv, g, 1);
}

/* An exit of the exit rows: 0, with *@done set at the last one. */
static int mvm_check_exit(struct minivmm_run *run, int *done)
{
	if (run->exit_reason == MINIVMM_EXIT_IO && run->io.port == 0xf4)
		*done = 1;
	else if (run->exit_reason != MINIVMM_EXIT_IO &&
		 run->exit_reason != MINIVMM_EXIT_HLT &&
		 (run->exit_reason != MINIVMM_EXIT_MMIO ||
		  run->mmio.phys_addr != MMIO_ADDR))
		return -EIO;
	return 0;
}

static int mvm_run(struct hv *hv, int *done)
{
	if (ioctl(hv->vcpu[0], MINIVMM_RUN, 0))
		return -errno;
	return mvm_check_exit(hv->run_page[0], done);
}

/* Looks at the handoff word before the bench waits in RUN instead. */
#define PAGE_SPINS	(1UL << 24)

/*
 * The page's protocol: hand back the exit held (number seq) with a
 * cmpxchg of USER(seq) to KERNEL(seq) and spin for USER(seq + 1) or
 * PARKED(seq + 1); when the thread parked already, or the spin ends,
 * RUN completes the answer or waits for the run that took it.
 */
static int mvm_run_page(struct hv *hv, int *done)
{
	struct minivmm_run *run = hv->run_page[0];
	uint32_t w = __atomic_load_n(&run->handoff, __ATOMIC_ACQUIRE);
	uint32_t seq = MINIVMM_HANDOFF_SEQ(w), user, kern;
	static int yield = -1;
	unsigned long spins;

	if (yield < 0)
		yield = sysconf(_SC_NPROCESSORS_ONLN) < 2;
	user = MINIVMM_HANDOFF(MINIVMM_HANDOFF_USER, seq);
	kern = MINIVMM_HANDOFF(MINIVMM_HANDOFF_KERNEL, seq);
	if (MINIVMM_HANDOFF_STATE(w) == MINIVMM_HANDOFF_OFF) {
		/* The first RUN: turn the page on. */
		__atomic_store_n(&run->handoff,
				 MINIVMM_HANDOFF(MINIVMM_HANDOFF_PARKED, 0),
				 __ATOMIC_RELEASE);
	} else if (__atomic_compare_exchange_n(&run->handoff, &user, kern,
					       0, __ATOMIC_RELEASE,
					       __ATOMIC_RELAXED)) {
		for (spins = PAGE_SPINS; spins; spins--) {
			w = __atomic_load_n(&run->handoff, __ATOMIC_ACQUIRE);
			if (w != kern) {
				if (MINIVMM_HANDOFF_SEQ(w) != seq + 1)
					break;
				return mvm_check_exit(run, done);
			}
			if (yield)
				sched_yield();
			else
				_mm_pause();
		}
	} else {
		__atomic_store_n(&run->handoff, kern, __ATOMIC_RELEASE);
	}
	if (ioctl(hv->vcpu[0], MINIVMM_RUN, 0))
		return -errno;
	return mvm_check_exit(run, done);
}

/* Every minivmm VM has its local APICs (and I/O APIC) in the module. */
static int mvm_irq_setup(struct hv *hv, const struct guest *g, unsigned int n)
{
	struct minivmm_regs regs;
	int ret = mvm_create(hv, g, n);

	if (ret || !g->ap)
		return ret;
	/* Registers from userspace start an AP without INIT and SIPI. */
	if (ioctl(hv->vcpu[1], MINIVMM_GET_REGS, &regs))
		return -errno;
	regs.rip = CODE_ADDR + (g->ap - g->code);
	return ioctl(hv->vcpu[1], MINIVMM_SET_REGS, &regs) ? -errno : 0;
}

static int mvm_run_vcpu(struct hv *hv, unsigned int i)
{
	struct minivmm_run *run = hv->run_page[i];

	if (ioctl(hv->vcpu[i], MINIVMM_RUN, 0))
		return -errno;
	return run->exit_reason == MINIVMM_EXIT_IO ? run->io.port : -EIO;
}

static int mvm_irqfd(struct hv *hv, int fd)
{
	struct minivmm_irqfd a = {
		.fd = fd, .flags = MINIVMM_IRQFD_MSI,
		.msi_address = MSI_ADDR, .msi_data = VEC,
	};

	return ioctl(hv->vm, MINIVMM_IRQFD, &a) ? -errno : 0;
}

/* ---- KVM ------------------------------------------------------------ */

/*
 * vCPU 0 starts at CODE_ADDR, vCPU 1 at the guest's @ap; with @irqchip,
 * KVM's local APICs (and PIC and I/O APIC) are in the kernel, as
 * minivmm's are.
 */
static int kvm_create(struct hv *hv, const struct guest *g, unsigned int n,
		      int irqchip)
{
	struct kvm_userspace_memory_region r = { .memory_size = MEM_SIZE };
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = CODE_ADDR, .rflags = 2 };
	unsigned int i;
	int size;

	hv->dev = open("/dev/kvm", O_RDWR);
	if (hv->dev < 0)
		return -errno;
	hv->vm = ioctl(hv->dev, KVM_CREATE_VM, 0);
	if (hv->vm < 0)
		return -errno;
	hv->mem = guest_memory(g);
	if (!hv->mem)
		return -ENOMEM;
	r.userspace_addr = (uintptr_t)hv->mem;
	if (ioctl(hv->vm, KVM_SET_USER_MEMORY_REGION, &r))
		return -errno;
	/* Before the vCPUs, which then get their local APICs. */
	if (irqchip && ioctl(hv->vm, KVM_CREATE_IRQCHIP, 0))
		return -errno;
	size = ioctl(hv->dev, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size <= 0)
		return -EINVAL;
	hv->run_size = size;
	for (i = 0; i < n; i++) {
		hv->vcpu[i] = ioctl(hv->vm, KVM_CREATE_VCPU, i);
		if (hv->vcpu[i] < 0)
			return -errno;
		hv->run_page[i] = mmap(NULL, size, PROT_READ | PROT_WRITE,
				       MAP_SHARED, hv->vcpu[i], 0);
		if (hv->run_page[i] == MAP_FAILED)
			return -errno;
		/* KVM resets to F000:FFF0; start where minivmm does. */
		if (ioctl(hv->vcpu[i], KVM_GET_SREGS, &sregs))
			return -errno;
		sregs.cs.base = 0;
		sregs.cs.selector = 0;
		if (i)
			regs.rip = CODE_ADDR + (g->ap - g->code);
		if (ioctl(hv->vcpu[i], KVM_SET_SREGS, &sregs) ||
		    ioctl(hv->vcpu[i], KVM_SET_REGS, &regs))
			return -errno;
	}
	return 0;
}

static int kvm_setup(struct hv *hv, const struct guest *g)
{
	return kvm_create(hv, g, 1, 0);
}

static int kvm_run_once(struct hv *hv, int *done)
{
	struct kvm_run *run = hv->run_page[0];

	if (ioctl(hv->vcpu[0], KVM_RUN, 0))
		return -errno;
	if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0xf4)
		*done = 1;
	else if (run->exit_reason != KVM_EXIT_IO &&
		 run->exit_reason != KVM_EXIT_HLT &&
		 (run->exit_reason != KVM_EXIT_MMIO ||
		  run->mmio.phys_addr != MMIO_ADDR))
		return -EIO;
	return 0;
}

/*
 * KVM's guest sees the CPUID userspace gives it: what KVM supports, plus
 * the TSC-deadline timer, which KVM leaves out of that list for
 * userspace to add when it has KVM_CAP_TSC_DEADLINE_TIMER, and vCPU @i's
 * initial APIC ID.
 */
static int kvm_set_cpuid(struct hv *hv, unsigned int i)
{
	struct kvm_cpuid_entry2 *e;
	struct kvm_cpuid2 *c;
	int deadline, ret = 0;
	unsigned int k;

	c = calloc(1, sizeof(*c) + KVM_MAX_CPUID * sizeof(*e));
	if (!c)
		return -ENOMEM;
	c->nent = KVM_MAX_CPUID;
	deadline = ioctl(hv->dev, KVM_CHECK_EXTENSION,
			 KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	if (ioctl(hv->dev, KVM_GET_SUPPORTED_CPUID, c))
		ret = -errno;
	for (k = 0; !ret && k < c->nent; k++) {
		e = &c->entries[k];
		if (e->function != 1)
			continue;
		if (deadline)
			e->ecx |= CPUID1_TSC_DEADLINE;
		e->ebx = (e->ebx & 0xffffff) | i << 24;
	}
	if (!ret && ioctl(hv->vcpu[i], KVM_SET_CPUID2, c))
		ret = -errno;
	free(c);
	return ret;
}

static int kvm_irq_setup(struct hv *hv, const struct guest *g, unsigned int n)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
	int ret = kvm_create(hv, g, n, 1);
	unsigned int i;

	for (i = 0; !ret && i < n; i++)
		ret = kvm_set_cpuid(hv, i);
	/* With KVM's APICs an AP waits for INIT and SIPI: not this one. */
	if (!ret && n > 1 && ioctl(hv->vcpu[1], KVM_SET_MP_STATE, &mp))
		ret = -errno;
	return ret;
}

static int kvm_run_vcpu(struct hv *hv, unsigned int i)
{
	struct kvm_run *run = hv->run_page[i];

	if (ioctl(hv->vcpu[i], KVM_RUN, 0))
		return -errno;
	return run->exit_reason == KVM_EXIT_IO ? run->io.port : -EIO;
}

/* KVM sends MSIs through its GSI routing: one route, the irqfd's. */
static int kvm_irqfd(struct hv *hv, int fd)
{
	struct kvm_irqfd f = { .fd = fd, .gsi = IRQFD_GSI };
	struct kvm_irq_routing *rt;
	int ret = 0;

	rt = calloc(1, sizeof(*rt) + sizeof(rt->entries[0]));
	if (!rt)
		return -ENOMEM;
	rt->nr = 1;
	rt->entries[0].gsi = IRQFD_GSI;
	rt->entries[0].type = KVM_IRQ_ROUTING_MSI;
	rt->entries[0].u.msi.address_lo = MSI_ADDR;
	rt->entries[0].u.msi.data = VEC;
	if (ioctl(hv->vm, KVM_SET_GSI_ROUTING, rt) ||
	    ioctl(hv->vm, KVM_IRQFD, &f))
		ret = -errno;
	free(rt);
	return ret;
}

static void hv_teardown(struct hv *hv)
{
	unsigned int i;

	for (i = 0; i < 2; i++) {
		if (hv->run_page[i] && hv->run_page[i] != MAP_FAILED)
			munmap(hv->run_page[i], hv->run_size);
		if (hv->vcpu[i] > 0)
			close(hv->vcpu[i]);
	}
	if (hv->vm > 0)
		close(hv->vm);
	if (hv->dev > 0)
		close(hv->dev);
	if (hv->efd > 0)
		close(hv->efd);
	if (hv->mem)
		munmap(hv->mem, MEM_SIZE);
	memset(hv, 0, sizeof(*hv));
}

/* Cycles per iteration, or a negative errno. */
static double measure(struct hv *proto, const struct guest *g)
{
	/* The VM and its vCPU are gone, and VMX released, on return. */
	struct hv hv = *proto;
	uint64_t t0, t1;
	int done = 0, ret;

	ret = hv.setup(&hv, g);
	if (ret) {
		hv_teardown(&hv);
		return ret;
	}
	t0 = __rdtsc();
	while (!done) {
		ret = hv.run(&hv, &done);
		if (ret)
			break;
	}
	t1 = __rdtsc();
	hv_teardown(&hv);
	return ret ? ret : (double)(t1 - t0) / iterations;
}

/* ---- the interrupt rows ---------------------------------------------- */

/**
 * struct runner - a host thread that runs one vCPU
 * @hv:		the hypervisor and VM
 * @vcpu:	the vCPU's index
 * @thread:	the thread
 * @stop:	set: the next -EINTR ends the thread
 * @finished:	set by the thread as it ends
 * @result:	how it ended: the port of the OUT that ended the guest, or
 *		-errno
 */
struct runner {
	struct hv *hv;
	unsigned int vcpu;
	pthread_t thread;
	int stop, finished, result;
};

static void nop_handler(int sig __attribute__((unused)))
{
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int finished(struct runner *r)
{
	return __atomic_load_n(&r->finished, __ATOMIC_ACQUIRE);
}

/* Every OUT ends the guest: the interrupts themselves never exit. */
static void *runner_fn(void *arg)
{
	struct runner *r = arg;
	int ret;

	do
		ret = r->hv->run_vcpu(r->hv, r->vcpu);
	while (ret == -EINTR && !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE));
	r->result = ret;
	__atomic_store_n(&r->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int runner_stop(struct runner *r)
{
	const struct timespec ms = { 0, 1000 * 1000 };

	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	/* Again and again: a signal just before the RUN ioctl is lost. */
	while (!finished(r)) {
		pthread_kill(r->thread, SIGUSR1);
		nanosleep(&ms, NULL);
	}
	pthread_join(r->thread, NULL);
	return r->result;
}

/*
 * Timer and IPI: the guest measures; the host waits for vCPU 0's end (or
 * any vCPU's, which the runners' results then explain).
 */
static int guest_row(struct hv *hv, struct runner *r, unsigned int n,
		     double *cycles)
{
	const struct timespec tick = { 0, 50 * 1000 * 1000 };
	double end = now() + TIMEOUT_S;
	unsigned int i;

	for (;;) {
		for (i = 0; i < n && !finished(&r[i]); i++)
			;
		if (i < n)
			break;
		if (now() > end)
			return -ETIMEDOUT;
		nanosleep(&tick, NULL);
	}
	if (!finished(&r[0]) || r[0].result != PORT_DONE)
		return -EIO;
	*cycles = (double)*(uint64_t *)guest_u32(hv, D_TOTAL) / irq_iterations;
	return 0;
}

/*
 * Until the guest moves *@p away from @old. Yields rather than sleeps:
 * the vCPU may need this CPU (the 1-CPU machine), and a wake-up would
 * be counted. The clock is read only every 1024 rounds, for the same
 * reason.
 */
static int wait_change(uint32_t *p, uint32_t old, struct runner *r)
{
	unsigned int spins = 0;
	double end = 0;

	while (__atomic_load_n(p, __ATOMIC_ACQUIRE) == old) {
		sched_yield();
		if (++spins % 1024)
			continue;
		if (finished(r))
			return -EIO;
		if (!end)
			end = now() + TIMEOUT_S;
		else if (now() > end)
			return -ETIMEDOUT;
	}
	return 0;
}

/* irqfd: the host measures, from the eventfd write to the handler's count. */
static int irqfd_row(struct hv *hv, struct runner *r,
		     unsigned int n __attribute__((unused)), double *cycles)
{
	uint32_t *count = guest_u32(hv, D_FLAG), old;
	uint64_t one = 1, t0, total = 0;
	unsigned int i;
	int ret;

	ret = wait_change(guest_u32(hv, D_READY), 0, r);
	for (i = 0; !ret && i < irq_iterations; i++) {
		/* The guest gets back into HLT, and to sleep there. */
		t0 = __rdtsc();
		while (__rdtsc() - t0 < DELAY)
			sched_yield();
		old = __atomic_load_n(count, __ATOMIC_ACQUIRE);
		t0 = __rdtsc();
		if (write(hv->efd, &one, sizeof(one)) != sizeof(one))
			return -errno;
		ret = wait_change(count, old, r);
		total += __rdtsc() - t0;
	}
	*cycles = (double)total / irq_iterations;
	return ret;
}

/* Cycles per interrupt, or a negative error. */
static double measure_irq(struct hv *proto, const struct guest *g)
{
	struct hv hv = *proto;
	struct runner r[2];
	unsigned int i, n = g->ap ? 2 : 1, started = 0;
	double cycles = 0;
	int ret, res, err = 0;

	memset(r, 0, sizeof(r));
	ret = hv.irq_setup(&hv, g, n);
	if (!ret && g->row == irqfd_row) {
		hv.efd = eventfd(0, EFD_CLOEXEC);
		ret = hv.efd < 0 ? -errno : hv.irqfd(&hv, hv.efd);
	}
	for (; !ret && started < n; started++) {
		r[started].hv = &hv;
		r[started].vcpu = started;
		ret = -pthread_create(&r[started].thread, NULL, runner_fn,
				      &r[started]);
		if (ret)
			break;
	}
	if (!ret)
		ret = g->row(&hv, r, n, &cycles);
	/* A vCPU's own end explains a row that failed or timed out. */
	for (i = 0; i < started; i++) {
		res = runner_stop(&r[i]);
		if (res == PORT_MISSING)
			err = -ERR_MISSING;
		else if (!err && res != PORT_DONE && res != -EINTR)
			err = res > 0 ? -EIO : res;
	}
	hv_teardown(&hv);
	if (err)
		return err;
	return ret ? ret : cycles;
}

/* ---- the VM as a whole ---------------------------------------------- */

/* Host cycles per VM from the device's open to the last close. */
static double measure_lifecycle(struct hv *proto, const struct guest *g)
{
	struct hv hv;
	uint64_t t0 = __rdtsc();
	unsigned int i;
	int done, ret;

	for (i = 0; i < lifecycles; i++) {
		hv = *proto;
		done = 0;
		ret = hv.setup(&hv, g);
		if (!ret)
			ret = hv.run(&hv, &done);
		hv_teardown(&hv);
		if (!ret && !done)
			ret = -EIO;
		if (ret)
			return ret;
	}
	return (double)(__rdtsc() - t0) / lifecycles;
}

/*
 * Guest cycles per COMPUTE_PER rounds inside a VM; on the host without
 * setup.
 */
static double measure_compute(struct hv *proto, const struct guest *g)
{
	struct hv hv = *proto;
	int done = 0, ret;
	uint64_t total;

	if (!hv.setup) {
		total = __rdtsc();
		compute_host(compute_rounds);
		return (double)(__rdtsc() - total) * COMPUTE_PER /
		       compute_rounds;
	}
	ret = hv.setup(&hv, g);
	while (!ret && !done)
		ret = hv.run(&hv, &done);
	total = ret ? 0 : *(uint64_t *)guest_u32(&hv, D_TOTAL);
	hv_teardown(&hv);
	return ret ? ret : (double)total * COMPUTE_PER / compute_rounds;
}

/**
 * struct meminfo - the lines of /proc/meminfo the scale row reads, in KiB
 * @free:	MemFree
 * @avail:	MemAvailable
 * @kernel:	Slab + KernelStack + PageTables + SecPageTables +
 *		VmallocUsed
 */
struct meminfo {
	long free, avail, kernel;
};

static int read_meminfo(struct meminfo *m)
{
	static const char *const kernel[] = {
		"Slab:", "KernelStack:", "PageTables:", "SecPageTables:",
		"VmallocUsed:",
	};
	char key[64];
	long kb;
	unsigned int i;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -errno;
	memset(m, 0, sizeof(*m));
	while (fscanf(f, "%63s %ld kB ", key, &kb) == 2) {
		if (!strcmp(key, "MemFree:"))
			m->free = kb;
		else if (!strcmp(key, "MemAvailable:"))
			m->avail = kb;
		for (i = 0; i < sizeof(kernel) / sizeof(kernel[0]); i++)
			if (!strcmp(key, kernel[i]))
				m->kernel += kb;
	}
	fclose(f);
	return 0;
}

/**
 * struct scale - what the scale row found under one hypervisor
 * @vms:	idle VMs that were alive at once
 * @bound:	what stopped it: "cap", "memory" or the hypervisor's error
 * @kib:	kernel memory per VM: MemFree's drop less the guest RAM
 * @slab_kib:	Slab, KernelStack, page tables and vmalloc per VM
 */
struct scale {
	unsigned int vms;
	const char *bound;
	double kib, slab_kib;
};

static int scale(struct hv *proto, const struct guest *g, struct scale *sc)
{
	struct hv *vms = calloc(scale_cap, sizeof(*vms));
	struct meminfo m0, m1, m;
	unsigned int i;
	int ret;

	memset(sc, 0, sizeof(*sc));
	if (!vms)
		return -ENOMEM;
	/* What the VMs of the rows before freed after their close, freed. */
	sleep(1);
	ret = read_meminfo(&m0);
	sc->bound = "cap";
	while (!ret && sc->vms < scale_cap) {
		ret = read_meminfo(&m);
		if (ret)
			break;
		if (m.avail < SCALE_RESERVE_MB * 1024) {
			sc->bound = "memory";
			break;
		}
		vms[sc->vms] = *proto;
		ret = vms[sc->vms].setup(&vms[sc->vms], g);
		if (ret) {
			hv_teardown(&vms[sc->vms]);
			/* The first VM's error is the row's; later, the bound. */
			if (sc->vms)
				sc->bound = strerror(-ret);
			ret = sc->vms ? 0 : ret;
			break;
		}
		/* All of the RAM in, under KVM too, to be subtracted. */
		memset(vms[sc->vms].mem, 0, MEM_SIZE);
		sc->vms++;
	}
	if (!ret)
		ret = read_meminfo(&m1);
	if (!ret && sc->vms) {
		sc->kib = (double)(m0.free - m1.free) / sc->vms -
			  MEM_SIZE / 1024;
		sc->slab_kib = (double)(m1.kernel - m0.kernel) / sc->vms;
	}
	for (i = 0; i < sc->vms; i++)
		hv_teardown(&vms[i]);
	free(vms);
	return ret;
}

static const struct guest idle_guest = {
	.name = "scale", .code = guest_first, .end = guest_first_end,
};

static void scale_row(struct report *rep, struct hv *hvs)
{
	struct scale sc[2];
	int err[2];
	unsigned int h;
	FILE *j = report_json_row(rep);

	if (j)
		fprintf(j, "\"row\": \"scale\"");
	for (h = 0; h < 2; h++) {
		err[h] = -scale(&hvs[h], &idle_guest, &sc[h]);
		if (err[h]) {
			printf("%-9s %-8s unavailable: %s\n", "scale",
			       hvs[h].name, strerror(err[h]));
			if (j)
				fprintf(j, ", \"%s\": {\"unavailable\": \"%s\"}",
					hvs[h].name, strerror(err[h]));
			continue;
		}
		printf("%-9s %-8s %10u VMs (%s), KiB per VM: %.0f", "scale",
		       hvs[h].name, sc[h].vms, sc[h].bound, sc[h].kib);
		printf(" (slab, stacks, page tables, vmalloc: %.0f)\n",
		       sc[h].slab_kib);
		if (!j)
			continue;
		fprintf(j, ", \"%s\": {\"vms\": %u, \"bound\": \"%s\", ",
			hvs[h].name, sc[h].vms, sc[h].bound);
		fprintf(j, "\"kernel_kib_per_vm\": %.0f, \"meminfo_kib_per_vm\": %.0f}",
			sc[h].kib, sc[h].slab_kib);
	}
	if (err[0])
		rep->failed++;
	if (!err[0] && !err[1] && sc[0].kib > 0 && sc[1].kib > 0) {
		printf("%-9s ratio    %10.2f (minivmm / kvm, memory per VM)\n",
		       "scale", sc[0].kib / sc[1].kib);
		if (j)
			fprintf(j, ", \"ratio\": %.3f", sc[0].kib / sc[1].kib);
	} else if (j) {
		fprintf(j, ", \"ratio\": null");
	}
	if (j)
		fputc('}', j);
}

static const struct guest guests[] = {
	{ .name = "pio", .code = guest_pio, .end = guest_pio_end,
	  .measure = measure },
	{ .name = "mmio", .code = guest_mmio, .end = guest_mmio_end,
	  .measure = measure },
	{ .name = "pio-page", .code = guest_pio, .end = guest_pio_end,
	  .measure = measure, .page = true },
	{ .name = "mmio-page", .code = guest_mmio, .end = guest_mmio_end,
	  .measure = measure, .page = true },
	{ .name = "cpuid", .code = guest_cpuid, .end = guest_cpuid_end,
	  .measure = measure },
	{ .name = "hlt", .code = guest_hlt, .end = guest_hlt_end,
	  .measure = measure },
	{ .name = "hlt-page", .code = guest_hlt, .end = guest_hlt_end,
	  .measure = measure, .page = true },
	{ .name = "timer", .code = guest_timer, .end = guest_timer_end,
	  .row = guest_row, .handler = guest_timer_irq,
	  .measure = measure_irq },
	{ .name = "ipi", .code = guest_ipi, .end = guest_ipi_end,
	  .row = guest_row, .ap = guest_ipi_ap, .handler = guest_ipi_irq,
	  .measure = measure_irq },
	{ .name = "irqfd", .code = guest_irqfd, .end = guest_irqfd_end,
	  .row = irqfd_row, .handler = guest_irqfd_irq,
	  .measure = measure_irq },
	{ .name = "lifecycle", .code = guest_first, .end = guest_first_end,
	  .measure = measure_lifecycle },
	{ .name = "compute", .code = guest_compute,
	  .end = guest_compute_end, .measure = measure_compute,
	  .count = &compute_rounds },
};

static const char *why(int err)
{
	if (err == ERR_MISSING)
		return "the guest's CPUID lacks x2APIC or the TSC deadline";
	return strerror(err);
}

int main(int argc, char **argv)
{
	struct hv hvs[] = {
		{ .name = "minivmm", .setup = mvm_setup, .run = mvm_run,
		  .irq_setup = mvm_irq_setup, .run_vcpu = mvm_run_vcpu,
		  .irqfd = mvm_irqfd },
		{ .name = "kvm", .setup = kvm_setup, .run = kvm_run_once,
		  .irq_setup = kvm_irq_setup, .run_vcpu = kvm_run_vcpu,
		  .irqfd = kvm_irqfd },
		/* The compute row's host column: no setup, no VM. */
		{ .name = "host" },
	};
	struct hv page_hv = hvs[0];
	struct report rep = { .width = 9, .why = why };
	struct sigaction sa = { .sa_handler = nop_handler };
	struct report_hv c[3];
	const struct guest *g;
	unsigned int i, h, r, n;
	char poll[32] = "unknown";
	long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	int ret = report_options(&rep, argc, argv);
	FILE *f;

	if (ret)
		return ret;
	if (rep.quick) {
		iterations = 100;
		irq_iterations = 20;
		lifecycles = 2;
		compute_rounds = 10000;
		scale_cap = 4;
	}
	/* No SA_RESTART: the signal ends a RUN that waits in the kernel. */
	sigaction(SIGUSR1, &sa, NULL);
	/* KVM spins this long in a halted vCPU before it sleeps. */
	f = fopen("/sys/module/kvm/parameters/halt_poll_ns", "r");
	if (f) {
		if (!fgets(poll, sizeof(poll), f))
			strcpy(poll, "unknown");
		poll[strcspn(poll, "\n")] = 0;
		fclose(f);
	}
	printf("# %u runs; iterations per run: %u, interrupt rows %u, ",
	       rep.repeats, iterations, irq_iterations);
	printf("lifecycle %u (VMs), compute %u (rounds)\n", lifecycles,
	       compute_rounds);
	printf("# %ld host CPUs, KVM's halt_poll_ns %s", ncpus, poll);
	f = fopen("/sys/module/minivmm/parameters/page_poll_ns", "r");
	if (f) {
		if (fgets(poll, sizeof(poll), f))
			printf(", minivmm's page_poll_ns %s",
			       strtok(poll, "\n"));
		fclose(f);
	}
	printf("\n");
	printf("# cycles per iteration: median (min-max)\n");
	report_start(&rep,
		     "\"iterations\": %u, \"irq_iterations\": %u, \"lifecycles\": %u, \"compute_rounds\": %u, \"runs\": %u, \"host_cpus\": %ld",
		     iterations, irq_iterations, lifecycles, compute_rounds,
		     rep.repeats, ncpus);
	for (i = 0; i < sizeof(guests) / sizeof(guests[0]); i++) {
		g = &guests[i];
		if (!report_wants(&rep, g->name))
			continue;
		n = g->measure == measure_compute ? 3 : 2;
		page_hv.run = mvm_run_page;
		for (r = 0; r < rep.repeats; r++)
			for (h = 0; h < n; h++)
				c[h].c[r] = g->measure(h || !g->page ?
						       &hvs[h] : &page_hv, g);
		for (h = 0; h < n; h++) {
			c[h].name = hvs[h].name;
			c[h].note[0] = 0;
		}
		report_row(&rep, g->name, c, n,
			   n > 2 ? "cycles per " S(COMPUTE_PER) " rounds" :
				   "cycles");
		if (g->ap && ncpus < 2)
			printf("%-9s note: one host CPU, both vCPU threads share it\n",
			       g->name);
	}
	if (!report_wants(&rep, "scale"))
		return report_end(&rep);
	printf("# scale: idle 1-vCPU VMs of 1 MiB, at most %u, ", scale_cap);
	printf("while MemAvailable >= %u MiB; kernel memory per VM\n",
	       SCALE_RESERVE_MB);
	scale_row(&rep, hvs);
	return report_end(&rep);
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guests for the minivmm selftests: VMs with RAM at guest physical 0,
 * vCPUs set up in real, protected or long mode, guest code written as
 * assembly in the test's own file, and "ucalls" through which guest code
 * reports to the test.
 *
 * Guest physical layout of a test VM (identity mapped in long mode):
 *
 *   0x0000  real-mode IVT
 *   0x1000  GDT (GDT_CODE32, GDT_DATA, GDT_CODE64, GDT_CODE16)
 *   0x2000  PML4, 0x3000 PDPT, 0x4000 PD: the first 1 GiB, 2 MiB pages
 *   0x5000  IDT for protected and long mode (256 gates)
 *   0x7000  real-mode stack top (grows down)
 *   0x7c00  real-mode code
 *   0x10000 protected and long mode code
 *   0x80000 protected and long mode stack top
 *   MMIO_BASE: nothing; accesses there are MMIO exits
 */
#ifndef MINIVMM_GUEST_H
#define MINIVMM_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/minivmm.h>

#define GUEST_GDT	0x1000
#define GUEST_PML4	0x2000
#define GUEST_IDT	0x5000
#define REAL_STACK	0x7000
#define REAL_CODE	0x7c00
#define GUEST_CODE_ADDR	0x10000
#define GUEST_STACK	0x80000
#define GUEST_MEM_SIZE	(2UL << 20)
#define MMIO_BASE	0x10000000UL

#define GDT_CODE32	0x08
#define GDT_DATA	0x10
#define GDT_CODE64	0x18
#define GDT_CODE16	0x20

/*
 * The ucall port: the guest writes a UCALL_* number in EAX to it, with
 * arguments in EBX/RBX, ECX/RCX and EDX/RDX.
 */
#define UCALL_PORT	0xf8
#define UCALL_DONE	0
#define UCALL_SYNC	1	/* RBX: stage */
#define UCALL_FAIL	2	/* RBX: line, RCX: got, RDX: wanted */

/* Assembly for guest code (AT&T syntax). */
#define UCALL_ASM(nr)		"mov $" #nr ", %eax\n\tout %eax, $0xf8\n\t"
#define GUEST_DONE_ASM		UCALL_ASM(0)
#define GUEST_SYNC_ASM(stage)	"mov $" #stage ", %ebx\n\t" UCALL_ASM(1)

/*
 * GUEST_CODE(name, mode, asm) puts guest code in the test binary, between
 * the symbols name and name_end. @mode is ".code16", ".code32" or
 * ".code64". The code is copied into the guest, so it must not depend on
 * its own address except through RIP-relative addressing.
 */
#define GUEST_CODE(name, mode, body)					\
	extern const unsigned char name[], name##_end[];		\
	asm(".pushsection .rodata." #name ", \"a\"\n"			\
	    ".globl " #name "\n" #name ":\n\t" mode "\n\t"		\
	    body "\n\t.code64\n"					\
	    ".globl " #name "_end\n" #name "_end:\n"			\
	    ".popsection\n")

#define GUEST_CODE_SIZE(name)	((size_t)(name##_end - (name)))

enum guest_mode { MODE_REAL, MODE_PROTECTED, MODE_LONG };

struct test_vm {
	int dev;
	int fd;
	uint8_t *mem;		/* guest physical 0 .. mem_size */
	size_t mem_size;
};

struct test_vcpu {
	struct test_vm *vm;
	int fd;
	int id;
	struct minivmm_run *run;
};

struct ucall {
	uint64_t nr;
	uint64_t args[3];
};

/*
 * The helpers below check everything they do: a failure prints where and
 * why, and ends the test (each harness test runs in its own process) as
 * a failure.
 */
#define TEST_REQUIRE(cond, fmt, ...)					\
	do {								\
		if (!(cond))						\
			test_fail(__FILE__, __LINE__, #cond, fmt,	\
				  ##__VA_ARGS__);			\
	} while (0)

void __attribute__((noreturn, format(printf, 4, 5)))
test_fail(const char *file, int line, const char *cond, const char *fmt, ...);

struct test_vm *test_vm_create(size_t mem_size);
void test_vm_destroy(struct test_vm *vm);
struct test_vcpu *test_vcpu_add(struct test_vm *vm, int id);
void test_vcpu_destroy(struct test_vcpu *vcpu);

/* Put @len bytes of code at guest physical @gpa. */
void test_vm_load(struct test_vm *vm, uint64_t gpa, const void *code,
		  size_t len);

/*
 * Set the vCPU up in @mode with RIP = @entry (the GDT, page tables and
 * stack of the layout above are written into guest memory).
 */
void test_vcpu_setup(struct test_vcpu *vcpu, enum guest_mode mode,
		     uint64_t entry);

/* Load @code for @mode at its usual address and set the vCPU up there. */
void test_vcpu_load(struct test_vcpu *vcpu, enum guest_mode mode,
		    const void *code, size_t len);

/* MINIVMM_RUN; 0 or -errno. */
int test_vcpu_run(struct test_vcpu *vcpu);

/*
 * A guest that reads RDTSC in a loop and counts the reads that went
 * back: test_tsc_watch_load() sets the vCPU up with it; test_tsc_watch()
 * runs @rounds rounds of 10000 reads, the vCPU's thread (and the caller)
 * on CPU 0 for even rounds and CPU 1 for odd ones, and returns how many
 * reads since the load went back, and in *max_back by how much at most.
 */
void test_tsc_watch_load(struct test_vcpu *vcpu);
uint64_t test_tsc_watch(struct test_vcpu *vcpu, int rounds,
			uint64_t *max_back);

/*
 * Two vCPUs of a new VM, their threads on host CPU 0 and 1 from their
 * first entry, read their TSCs in turns through guest memory, TSC_TURNS
 * reads in all: returns how many were lower than the other vCPU's read
 * just before, and in *max_back by how much at most. Needs 2 CPUs.
 */
#define TSC_TURNS	4096
uint64_t test_tsc_turns(uint64_t *max_back);

/*
 * MINIVMM_RUN with a SIGALRM due in @ms (a handler that does nothing, no
 * SA_RESTART): a vCPU halted with interrupts on sleeps in the kernel, and
 * the signal ends RUN. 0 or -errno.
 */
int test_vcpu_run_for(struct test_vcpu *vcpu, unsigned int ms);

/* Run and expect an exit of @reason; returns the run structure. */
struct minivmm_run *test_run_expect(struct test_vcpu *vcpu, uint32_t reason);

/*
 * Run until the guest's next ucall and return its number: a UCALL_FAIL
 * fails the test with the guest's line and values.
 */
uint64_t test_run_ucall(struct test_vcpu *vcpu, struct ucall *uc);

/* Run to the next ucall and require UCALL_SYNC with @stage in RBX. */
struct ucall test_expect_sync(struct test_vcpu *vcpu, uint64_t stage);

/* Run to the next ucall and require UCALL_DONE. */
void test_expect_done(struct test_vcpu *vcpu);

void test_get_regs(struct test_vcpu *vcpu, struct minivmm_regs *regs);
void test_set_regs(struct test_vcpu *vcpu, const struct minivmm_regs *regs);
void test_get_sregs(struct test_vcpu *vcpu, struct minivmm_sregs *sregs);
void test_set_sregs(struct test_vcpu *vcpu, const struct minivmm_sregs *sregs);

/* Point vector @vec of the real-mode IVT or the IDT at guest @handler. */
void test_set_ivt(struct test_vm *vm, int vec, uint16_t seg, uint16_t off);
void test_set_idt(struct test_vm *vm, enum guest_mode mode, int vec,
		  uint64_t handler);

const char *exit_reason_str(uint32_t reason);

/*
 * The kernel thread that runs @vcpu ("minivmm/VM:VCPU" in /proc/PID/comm).
 * VM numbers only grow, so the thread is the one with @vcpu's id and the
 * highest VM number: call this while @vcpu's VM is the newest one. Stores
 * the VM number in *@vm_id when @vm_id is not NULL; returns the thread's
 * pid, or ends the test when there is no such thread.
 */
pid_t test_vcpu_thread(struct test_vcpu *vcpu, unsigned int *vm_id);

/*
 * Pin the calling thread and @vcpu's kernel thread (the newest VM's, as
 * test_vcpu_thread() finds it) to host CPU @cpu. Returns 0 or -1 (errno).
 */
int test_pin_with_vcpu(struct test_vcpu *vcpu, int cpu);

/*
 * Exception handlers for guests that expect a fault. After
 * test_install_exc_handlers(), every exception (vectors 0-31) makes a
 * UCALL_SYNC with RBX = EXC_SYNC(vector), RCX = the error code (0 when the
 * vector has none, and always 0 in real mode) and RDX = the RIP (IP) saved
 * in the exception frame; the guest then continues at the address in RDI
 * (EDI, DI), which the guest code sets before the instruction it expects
 * to fault. The handlers clobber RAX, RBX, RCX, RDX (and BP in real mode).
 * They live at GUEST_EXC_ADDR, reachable from real mode at 0000:9000.
 */
#define GUEST_EXC_ADDR		0x9000
#define EXC_SYNC(vec)		(0xec00 | (vec))

void test_install_exc_handlers(struct test_vm *vm, enum guest_mode mode);

/*
 * Transparent huge pages, for tests that want guest RAM the module maps
 * with 2 MiB EPT pages (and for those that want RAM it cannot).
 */
#define SZ_2M		(2UL << 20)

/*
 * @size bytes of anonymous memory, 2 MiB aligned, exactly @size long
 * (munmap-able as is) and faulted in; with @huge backed by transparent
 * huge pages when the kernel gives them, else by small pages only.
 */
void *test_huge_ram(size_t size, bool huge);

/* True when the page at @p is part of a transparent huge page. */
bool test_is_huge_backed(void *p);

/*
 * Small machines (below 512 MiB) boot with transparent huge pages off:
 * test_thp_get() turns them on for madvise()d memory until
 * test_thp_put_back() (or the process's exit) restores "never".
 */
void test_thp_get(void);
void test_thp_put_back(void);

/*
 * GUEST_LABEL(label) in a GUEST_CODE body marks an address the test needs
 * (declare it with "extern const unsigned char label[];");
 * GUEST_LABEL_OFFSET(code, label) is its offset from the start of @code.
 */
#define GUEST_LABEL(label)	".globl " #label "\n" #label ":\n\t"
#define GUEST_LABEL_OFFSET(code, label)					\
	((uint64_t)((uintptr_t)(label) - (uintptr_t)(code)))

/* The guest RIP of @label in @code loaded for long (or protected) mode. */
#define GUEST_LONG_ADDR(code, label)					\
	(GUEST_CODE_ADDR + GUEST_LABEL_OFFSET(code, label))

#endif /* MINIVMM_GUEST_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * Guests for the minivmm selftests: see include/guest.h.
 */
#include <asm/processor-flags.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include "guest.h"
#include "minivmm_test.h"

#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)

/* VMX segment access rights. */
#define AR_CODE32	0xc09b	/* G, D, P, S, execute/read, accessed */
#define AR_CODE64	0xa09b	/* G, L, P, S, execute/read, accessed */
#define AR_DATA32	0xc093	/* G, B, P, S, read/write, accessed */
#define AR_TSS_BUSY	0x008b
#define AR_UNUSABLE	0x10000

void test_fail(const char *file, int line, const char *cond,
	       const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "# %s:%d: %s: ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

struct test_vm *test_vm_create(size_t mem_size)
{
	struct minivmm_memory_region r = { 0 };
	struct test_vm *vm = calloc(1, sizeof(*vm));

	TEST_REQUIRE(vm, "out of memory");
	vm->dev = minivmm_open();
	TEST_REQUIRE(vm->dev >= 0, "open %s: %s", MINIVMM_DEV, strerror(errno));
	vm->fd = ioctl(vm->dev, MINIVMM_CREATE_VM, 0);
	TEST_REQUIRE(vm->fd >= 0, "MINIVMM_CREATE_VM: %s", strerror(errno));
	vm->mem_size = mem_size;
	vm->mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_REQUIRE(vm->mem != MAP_FAILED, "mmap: %s", strerror(errno));
	r.slot = 0;
	r.guest_phys_addr = 0;
	r.size = mem_size;
	r.userspace_addr = (uintptr_t)vm->mem;
	TEST_REQUIRE(!ioctl(vm->fd, MINIVMM_SET_MEMORY_REGION, &r),
		     "MINIVMM_SET_MEMORY_REGION: %s", strerror(errno));
	return vm;
}

void test_vm_destroy(struct test_vm *vm)
{
	if (!vm)
		return;
	close(vm->fd);
	close(vm->dev);
	munmap(vm->mem, vm->mem_size);
	free(vm);
}

struct test_vcpu *test_vcpu_add(struct test_vm *vm, int id)
{
	struct test_vcpu *vcpu = calloc(1, sizeof(*vcpu));

	TEST_REQUIRE(vcpu, "out of memory");
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->fd, MINIVMM_CREATE_VCPU, id);
	TEST_REQUIRE(vcpu->fd >= 0, "MINIVMM_CREATE_VCPU: %s",
		     strerror(errno));
	vcpu->run = mmap(NULL, MINIVMM_RUN_MMAP_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	TEST_REQUIRE(vcpu->run != MAP_FAILED, "mmap run: %s", strerror(errno));
	return vcpu;
}

void test_vcpu_destroy(struct test_vcpu *vcpu)
{
	if (!vcpu)
		return;
	munmap(vcpu->run, MINIVMM_RUN_MMAP_SIZE);
	close(vcpu->fd);
	free(vcpu);
}

void test_vm_load(struct test_vm *vm, uint64_t gpa, const void *code,
		  size_t len)
{
	memcpy(vm->mem + gpa, code, len);
}

int test_vcpu_run(struct test_vcpu *vcpu)
{
	return ioctl(vcpu->fd, MINIVMM_RUN, 0) ? -errno : 0;
}

static void on_alarm(int sig)
{
}

int test_vcpu_run_for(struct test_vcpu *vcpu, unsigned int ms)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = {
		.it_value = { .tv_sec = ms / 1000,
			      .tv_usec = (ms % 1000) * 1000 },
	};
	int ret;

	TEST_REQUIRE(!sigaction(SIGALRM, &sa, NULL), "sigaction: %m");
	TEST_REQUIRE(!setitimer(ITIMER_REAL, &it, NULL), "setitimer: %m");
	ret = test_vcpu_run(vcpu);
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	return ret;
}

void test_get_regs(struct test_vcpu *vcpu, struct minivmm_regs *regs)
{
	TEST_REQUIRE(!ioctl(vcpu->fd, MINIVMM_GET_REGS, regs), "MINIVMM_GET_REGS: %s",
		     strerror(errno));
}

void test_set_regs(struct test_vcpu *vcpu, const struct minivmm_regs *regs)
{
	TEST_REQUIRE(!ioctl(vcpu->fd, MINIVMM_SET_REGS, regs), "MINIVMM_SET_REGS: %s",
		     strerror(errno));
}

void test_get_sregs(struct test_vcpu *vcpu, struct minivmm_sregs *sregs)
{
	TEST_REQUIRE(!ioctl(vcpu->fd, MINIVMM_GET_SREGS, sregs), "MINIVMM_GET_SREGS: %s",
		     strerror(errno));
}

void test_set_sregs(struct test_vcpu *vcpu, const struct minivmm_sregs *sregs)
{
	TEST_REQUIRE(!ioctl(vcpu->fd, MINIVMM_SET_SREGS, sregs),
		     "MINIVMM_SET_SREGS: %s", strerror(errno));
}

static void write_gdt(struct test_vm *vm)
{
	uint64_t *gdt = (uint64_t *)(vm->mem + GUEST_GDT);

	gdt[0] = 0;
	gdt[GDT_CODE32 / 8] = 0x00cf9b000000ffffULL;
	gdt[GDT_DATA / 8] = 0x00cf93000000ffffULL;
	gdt[GDT_CODE64 / 8] = 0x00af9b000000ffffULL;
	gdt[GDT_CODE16 / 8] = 0x00009b000000ffffULL;
}

/* Identity map the first 1 GiB with 2 MiB pages. */
static void write_page_tables(struct test_vm *vm)
{
	uint64_t *pml4 = (uint64_t *)(vm->mem + GUEST_PML4);
	uint64_t *pdpt = pml4 + 512, *pd = pml4 + 1024;
	int i;

	memset(pml4, 0, 3 * 4096);
	pml4[0] = (GUEST_PML4 + 0x1000) | 3;
	pdpt[0] = (GUEST_PML4 + 0x2000) | 3;
	for (i = 0; i < 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;	/* P, W, PS */
}

static struct minivmm_segment seg(uint16_t sel, uint32_t ar)
{
	struct minivmm_segment s = {
		.base = 0, .limit = 0xffffffff, .selector = sel, .attrib = ar,
	};

	return s;
}

void test_vcpu_setup(struct test_vcpu *vcpu, enum guest_mode mode,
		     uint64_t entry)
{
	struct minivmm_regs regs = { .rflags = 2 };
	struct minivmm_sregs s;

	test_get_sregs(vcpu, &s);
	if (mode == MODE_REAL) {
		regs.rip = entry;
		regs.rsp = REAL_STACK;
		test_set_regs(vcpu, &regs);
		return;
	}

	write_gdt(vcpu->vm);
	s.gdt.base = GUEST_GDT;
	s.gdt.limit = 5 * 8 - 1;
	s.idt.base = GUEST_IDT;
	s.idt.limit = mode == MODE_LONG ? 256 * 16 - 1 : 256 * 8 - 1;
	s.ds = seg(GDT_DATA, AR_DATA32);
	s.es = s.ds;
	s.fs = s.ds;
	s.gs = s.ds;
	s.ss = s.ds;
	s.tr = seg(0, AR_TSS_BUSY);
	s.tr.limit = 0x67;
	s.ldt = seg(0, AR_UNUSABLE);
	s.ldt.limit = 0;
	s.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE;
	s.cr4 = X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	s.efer = 0;
	if (mode == MODE_PROTECTED) {
		s.cs = seg(GDT_CODE32, AR_CODE32);
	} else {
		write_page_tables(vcpu->vm);
		s.cs = seg(GDT_CODE64, AR_CODE64);
		s.cr0 |= X86_CR0_PG;
		s.cr3 = GUEST_PML4;
		s.cr4 |= X86_CR4_PAE;
		s.efer = EFER_LME | EFER_LMA;
	}
	test_set_sregs(vcpu, &s);
	regs.rip = entry;
	regs.rsp = GUEST_STACK;
	test_set_regs(vcpu, &regs);
}

void test_vcpu_load(struct test_vcpu *vcpu, enum guest_mode mode,
		    const void *code, size_t len)
{
	uint64_t at = mode == MODE_REAL ? REAL_CODE : GUEST_CODE_ADDR;

	test_vm_load(vcpu->vm, at, code, len);
	test_vcpu_setup(vcpu, mode, at);
}

void test_set_ivt(struct test_vm *vm, int vec, uint16_t seg, uint16_t off)
{
	uint16_t *ivt = (uint16_t *)vm->mem;

	ivt[vec * 2] = off;
	ivt[vec * 2 + 1] = seg;
}

void test_set_idt(struct test_vm *vm, enum guest_mode mode, int vec,
		  uint64_t handler)
{
	uint8_t *idt = vm->mem + GUEST_IDT;

	if (mode == MODE_LONG) {
		uint64_t *g = (uint64_t *)(idt + vec * 16);

		/* 64-bit interrupt gate, present, DPL 0. */
		g[0] = (handler & 0xffff) | ((uint64_t)GDT_CODE64 << 16) |
		       (0x8eULL << 40) | ((handler >> 16 & 0xffff) << 48);
		g[1] = handler >> 32;
	} else {
		uint64_t *g = (uint64_t *)(idt + vec * 8);

		/* 32-bit interrupt gate, present, DPL 0. */
		g[0] = (handler & 0xffff) | ((uint64_t)GDT_CODE32 << 16) |
		       (0x8eULL << 40) | ((handler >> 16 & 0xffff) << 48);
	}
}

static const char * const exit_names[] = {
	[MINIVMM_EXIT_NONE] = "NONE",
	[MINIVMM_EXIT_IO] = "IO",
	[MINIVMM_EXIT_MMIO] = "MMIO",
	[MINIVMM_EXIT_HLT] = "HLT",
	[MINIVMM_EXIT_HYPERCALL] = "HYPERCALL",
	[MINIVMM_EXIT_SHUTDOWN] = "SHUTDOWN",
	[MINIVMM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
	[MINIVMM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	[MINIVMM_EXIT_INTR] = "INTR",
};

const char *exit_reason_str(uint32_t reason)
{
	if (reason < sizeof(exit_names) / sizeof(exit_names[0]) &&
	    exit_names[reason])
		return exit_names[reason];
	return "unknown";
}

struct minivmm_run *test_run_expect(struct test_vcpu *vcpu, uint32_t reason)
{
	struct minivmm_run *run = vcpu->run;
	int ret = test_vcpu_run(vcpu);

	TEST_REQUIRE(!ret, "MINIVMM_RUN: %s", strerror(-ret));
	TEST_REQUIRE(run->exit_reason == reason,
		     "exit %s (hardware reason %#x, rip %#llx), wanted %s",
		     exit_reason_str(run->exit_reason), run->hw_exit_reason,
		     (unsigned long long)run->rip, exit_reason_str(reason));
	return run;
}

uint64_t test_run_ucall(struct test_vcpu *vcpu, struct ucall *uc)
{
	struct minivmm_run *run;
	struct minivmm_regs regs;

	run = test_run_expect(vcpu, MINIVMM_EXIT_IO);
	TEST_REQUIRE(run->io.port == UCALL_PORT &&
		     run->io.direction == MINIVMM_IO_OUT,
		     "I/O to port %#x, not a ucall", run->io.port);
	test_get_regs(vcpu, &regs);
	uc->nr = run->io.data;
	uc->args[0] = regs.rbx;
	uc->args[1] = regs.rcx;
	uc->args[2] = regs.rdx;
	TEST_REQUIRE(uc->nr != UCALL_FAIL,
		     "guest assertion at line %llu: got %#llx, wanted %#llx",
		     (unsigned long long)uc->args[0],
		     (unsigned long long)uc->args[1],
		     (unsigned long long)uc->args[2]);
	return uc->nr;
}

/*
 * The exception handlers of test_install_exc_handlers(): for each of the
 * three modes, 32 stubs of 16 bytes (one per vector) that push the vector
 * (and a zero where the CPU pushes no error code) and jump to a common
 * part that reports the exception and resumes the guest at RDI.
 */
#define EXC_NO_ERRCODE							\
	"(\\v <> 8) && (\\v <> 17) && (\\v <> 21) && (\\v <> 29) && "	\
	"(\\v <> 30) && ((\\v < 10) || (\\v > 14))"
#define EXC_VECTORS							\
	"0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,"\
	"24,25,26,27,28,29,30,31"

GUEST_CODE(exc_handlers, ".code64",
	   ".balign 16\n\t"
	   GUEST_LABEL(exc_stubs64)
	   ".irp v," EXC_VECTORS "\n\t"
	   ".balign 16, 0xcc\n\t"
	   ".if " EXC_NO_ERRCODE "\n\t"
	   "push $0\n\t"
	   ".endif\n\t"
	   "push $\\v\n\t"
	   "jmp exc_common64\n\t"
	   ".endr\n"
	   "exc_common64:\n\t"
	   "pop %rbx\n\t"
	   "or $0xec00, %ebx\n\t"
	   "pop %rcx\n\t"
	   "mov (%rsp), %rdx\n\t"
	   UCALL_ASM(1)
	   "mov %rdi, (%rsp)\n\t"
	   "iretq\n\t"

	   ".code32\n\t"
	   ".balign 16\n\t"
	   GUEST_LABEL(exc_stubs32)
	   ".irp v," EXC_VECTORS "\n\t"
	   ".balign 16, 0xcc\n\t"
	   ".if " EXC_NO_ERRCODE "\n\t"
	   "push $0\n\t"
	   ".endif\n\t"
	   "push $\\v\n\t"
	   "jmp exc_common32\n\t"
	   ".endr\n"
	   "exc_common32:\n\t"
	   "pop %ebx\n\t"
	   "or $0xec00, %ebx\n\t"
	   "pop %ecx\n\t"
	   "mov (%esp), %edx\n\t"
	   UCALL_ASM(1)
	   "mov %edi, (%esp)\n\t"
	   "iret\n\t"

	   /* Real mode pushes no error codes. */
	   ".code16\n\t"
	   ".balign 16\n\t"
	   GUEST_LABEL(exc_stubs16)
	   ".irp v," EXC_VECTORS "\n\t"
	   ".balign 16, 0xcc\n\t"
	   "pushw $\\v\n\t"
	   "jmp exc_common16\n\t"
	   ".endr\n"
	   "exc_common16:\n\t"
	   "pop %bx\n\t"
	   "movzwl %bx, %ebx\n\t"
	   "or $0xec00, %ebx\n\t"
	   "xor %ecx, %ecx\n\t"
	   "mov %sp, %bp\n\t"
	   "movzwl (%bp), %edx\n\t"
	   UCALL_ASM(1)
	   "mov %di, (%bp)\n\t"
	   "iret\n\t");

extern const unsigned char exc_stubs64[], exc_stubs32[], exc_stubs16[];

void test_install_exc_handlers(struct test_vm *vm, enum guest_mode mode)
{
	const unsigned char *stubs = mode == MODE_LONG ? exc_stubs64 :
				     mode == MODE_PROTECTED ? exc_stubs32 :
				     exc_stubs16;
	uint64_t base = GUEST_EXC_ADDR +
			GUEST_LABEL_OFFSET(exc_handlers, stubs);
	int v;

	/* Between real-mode code and protected/long mode code. */
	TEST_REQUIRE(GUEST_EXC_ADDR + GUEST_CODE_SIZE(exc_handlers) <=
		     GUEST_CODE_ADDR, "exception handlers too big");
	test_vm_load(vm, GUEST_EXC_ADDR, exc_handlers,
		     GUEST_CODE_SIZE(exc_handlers));
	for (v = 0; v < 32; v++) {
		if (mode == MODE_REAL)
			test_set_ivt(vm, v, 0, base + 16 * v);
		else
			test_set_idt(vm, mode, v, base + 16 * v);
	}
}

pid_t test_vcpu_thread(struct test_vcpu *vcpu, unsigned int *vm_id)
{
	unsigned int vm, id, best_vm = 0;
	char path[300], comm[32];
	struct dirent *d;
	pid_t best = -1;
	DIR *dir;
	FILE *f;

	dir = opendir("/proc");
	TEST_REQUIRE(dir, "opendir /proc: %s", strerror(errno));
	while ((d = readdir(dir))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;	/* the task went away meanwhile */
		if (fgets(comm, sizeof(comm), f) &&
		    sscanf(comm, "minivmm/%u:%u", &vm, &id) == 2 &&
		    id == (unsigned int)vcpu->id && (best < 0 || vm > best_vm)) {
			best = atoi(d->d_name);
			best_vm = vm;
		}
		fclose(f);
	}
	closedir(dir);
	TEST_REQUIRE(best > 0, "no minivmm/*:%d thread in /proc", vcpu->id);
	if (vm_id)
		*vm_id = best_vm;
	return best;
}

int test_pin_with_vcpu(struct test_vcpu *vcpu, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -1;
	return sched_setaffinity(test_vcpu_thread(vcpu, NULL), sizeof(set),
				 &set);
}

struct ucall test_expect_sync(struct test_vcpu *vcpu, uint64_t stage)
{
	struct ucall uc;
	uint64_t nr = test_run_ucall(vcpu, &uc);

	TEST_REQUIRE(nr == UCALL_SYNC && uc.args[0] == stage,
		     "ucall %lu with %#lx, wanted UCALL_SYNC with %#lx",
		     (unsigned long)nr, (unsigned long)uc.args[0],
		     (unsigned long)stage);
	return uc;
}

void test_expect_done(struct test_vcpu *vcpu)
{
	struct ucall uc;
	uint64_t nr = test_run_ucall(vcpu, &uc);

	TEST_REQUIRE(nr == UCALL_DONE, "ucall %lu with %#lx, wanted UCALL_DONE",
		     (unsigned long)nr, (unsigned long)uc.args[0]);
}

/* R8 the last read, R9 how many went back, R10 by how much at most. */
GUEST_CODE(guest_tsc_watch, ".code64",
	   "xor %r8, %r8\n\t"
	   "xor %r9, %r9\n\t"
	   "xor %r10, %r10\n\t"
	   "1: mov $10000, %r11d\n\t"
	   "2: rdtsc\n\t"
	   "shl $32, %rdx\n\t"
	   "or %rdx, %rax\n\t"
	   "mov %r8, %rdx\n\t"
	   "sub %rax, %rdx\n\t"
	   "jbe 3f\n\t"
	   "inc %r9\n\t"
	   "cmp %r10, %rdx\n\t"
	   "cmova %rdx, %r10\n\t"
	   "3: mov %rax, %r8\n\t"
	   "dec %r11d\n\t"
	   "jnz 2b\n\t"
	   "mov %r9, %rcx\n\t"
	   "mov %r10, %rdx\n\t"
	   GUEST_SYNC_ASM(1)
	   "jmp 1b\n\t");

void test_tsc_watch_load(struct test_vcpu *vcpu)
{
	test_vcpu_load(vcpu, MODE_LONG, guest_tsc_watch,
		       GUEST_CODE_SIZE(guest_tsc_watch));
}

uint64_t test_tsc_watch(struct test_vcpu *vcpu, int rounds,
			uint64_t *max_back)
{
	struct ucall uc = { };
	int i;

	for (i = 0; i < rounds; i++) {
		TEST_REQUIRE(!test_pin_with_vcpu(vcpu, i & 1),
			     "cannot move to CPU %d: %s", i & 1,
			     strerror(errno));
		uc = test_expect_sync(vcpu, 1);
	}
	*max_back = uc.args[2];
	return uc.args[1];
}

/*
 * Two vCPUs take turns through guest memory, as Linux's check of its
 * CPUs' TSCs does: at its turn each reads its TSC, compares it with the
 * other's last read, publishes its own and hands the turn over. RDI: the
 * vCPU's first turn (its id); R8: how long it waits for a turn. Stage 2
 * reports RCX reads lower than the other's read before, RDX by how much
 * at most; stage 3, that the other vCPU stopped taking its turns.
 */
#define TURN_GPA	0x90000UL
#define LAST_GPA	0x90008UL
#define TURN_SPIN	(1 << 22)

#define STR(x)		#x
#define XSTR(x)		STR(x)

GUEST_CODE(guest_tsc_turns, ".code64",
	   GUEST_SYNC_ASM(1)
	   "xor %r9, %r9\n\t"
	   "xor %r10, %r10\n\t"
	   "mov %rdi, %r12\n"
	   "1: mov %r8, %r13\n"
	   "2: cmp %r12, " XSTR(TURN_GPA) "\n\t"
	   "je 3f\n\t"
	   "pause\n\t"
	   "dec %r13\n\t"
	   "jnz 2b\n\t"
	   GUEST_SYNC_ASM(3)
	   "hlt\n"
	   "3: lfence\n\t"
	   "rdtsc\n\t"
	   "lfence\n\t"
	   "shl $32, %rdx\n\t"
	   "or %rdx, %rax\n\t"
	   "mov " XSTR(LAST_GPA) ", %rdx\n\t"
	   "sub %rax, %rdx\n\t"
	   "jbe 4f\n\t"
	   "inc %r9\n\t"
	   "cmp %r10, %rdx\n\t"
	   "cmova %rdx, %r10\n"
	   "4: mov %rax, " XSTR(LAST_GPA) "\n\t"
	   "inc %r12\n\t"
	   "mov %r12, " XSTR(TURN_GPA) "\n\t"
	   "inc %r12\n\t"
	   "cmp $" XSTR(TSC_TURNS) ", %r12\n\t"
	   "jb 1b\n\t"
	   "mov %r9, %rcx\n\t"
	   "mov %r10, %rdx\n\t"
	   GUEST_SYNC_ASM(2)
	   "hlt\n\t");

struct tsc_turner {
	struct test_vcpu *vcpu;
	struct ucall uc;
	int pin_errno;
};

static void *tsc_turner_thread(void *arg)
{
	struct tsc_turner *t = arg;

	/* This thread runs it on the CPU its vCPU's thread is on. */
	if (test_pin_with_vcpu(t->vcpu, t->vcpu->id))
		t->pin_errno = errno;
	else
		t->uc = test_expect_sync(t->vcpu, 2);
	return NULL;
}

uint64_t test_tsc_turns(uint64_t *max_back)
{
	struct tsc_turner t[2];
	struct minivmm_regs regs;
	pthread_t thread[2];
	struct test_vm *vm;
	uint64_t back = 0;
	int i;

	vm = test_vm_create(GUEST_MEM_SIZE);
	memset(t, 0, sizeof(t));
	for (i = 0; i < 2; i++) {
		t[i].vcpu = test_vcpu_add(vm, i);
		test_vcpu_load(t[i].vcpu, MODE_LONG, guest_tsc_turns,
			       GUEST_CODE_SIZE(guest_tsc_turns));
		test_get_regs(t[i].vcpu, &regs);
		regs.rsp = GUEST_STACK - i * 0x4000;
		regs.rdi = i;
		regs.r8 = (uint64_t)TURN_SPIN * timeout_scale();
		test_set_regs(t[i].vcpu, &regs);
		/* Before its first entry. */
		TEST_REQUIRE(!test_pin_with_vcpu(t[i].vcpu, i),
			     "cannot move to CPU %d: %s", i, strerror(errno));
		test_expect_sync(t[i].vcpu, 1);
	}
	for (i = 0; i < 2; i++)
		TEST_REQUIRE(!pthread_create(&thread[i], NULL,
					     tsc_turner_thread, &t[i]),
			     "pthread_create failed");
	for (i = 0; i < 2; i++)
		pthread_join(thread[i], NULL);
	*max_back = 0;
	for (i = 0; i < 2; i++) {
		TEST_REQUIRE(!t[i].pin_errno, "cannot move to CPU %d: %s", i,
			     strerror(t[i].pin_errno));
		back += t[i].uc.args[1];
		if (t[i].uc.args[2] > *max_back)
			*max_back = t[i].uc.args[2];
	}
	for (i = 0; i < 2; i++)
		test_vcpu_destroy(t[i].vcpu);
	test_vm_destroy(vm);
	return back;
}

void *test_huge_ram(size_t size, bool huge)
{
	uint8_t *p, *aligned;
	size_t span = size + SZ_2M;

	p = mmap(NULL, span, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_REQUIRE(p != MAP_FAILED, "mmap: %s", strerror(errno));
	aligned = (uint8_t *)(((uintptr_t)p + SZ_2M - 1) & ~(SZ_2M - 1));
	if (aligned > p)
		munmap(p, aligned - p);
	munmap(aligned + size, p + span - (aligned + size));
	madvise(aligned, size, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	memset(aligned, 0, size);
	return aligned;
}

bool test_is_huge_backed(void *p)
{
	unsigned long start, end, kb;
	bool in_vma = false, huge = false;
	char line[256];
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		/* A mapping's first line; the others are "Key: value". */
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in_vma = (uintptr_t)p >= start && (uintptr_t)p < end;
			continue;
		}
		if (in_vma && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1) {
			huge = kb >= SZ_2M / 1024;
			break;
		}
	}
	fclose(f);
	return huge;
}

#define THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"

/* "never" when THP was turned on for madvise()d memory, else "". */
static char thp_restore[16];

void test_thp_put_back(void)
{
	FILE *f;

	if (!thp_restore[0])
		return;
	f = fopen(THP_ENABLED, "w");
	if (f) {
		fputs(thp_restore, f);
		fclose(f);
	}
	thp_restore[0] = 0;
}

void test_thp_get(void)
{
	char line[128] = "";
	FILE *f = fopen(THP_ENABLED, "r");

	if (!f)
		return;
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	if (!strstr(line, "[never]"))
		return;
	f = fopen(THP_ENABLED, "w");
	if (!f)
		return;
	if (fputs("madvise", f) >= 0 && !fclose(f)) {
		strcpy(thp_restore, "never");
		atexit(test_thp_put_back);
	}
}

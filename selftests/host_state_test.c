// SPDX-License-Identifier: GPL-2.0
/*
 * State VMX does not switch (docs: vmx-pitfalls.md): the guest's FPU and
 * SSE registers, its syscall MSRs and SWAPGS, CR2, XCR0, debug registers
 * and TSC, each changed by the guest and used by the host in between
 * exits. Both sides check that they kept their own values.
 *
 * The vCPU's kernel thread and the test are kept on one CPU, so whatever
 * the guest leaves behind in the CPU is met by the test's next syscall,
 * page fault or instruction.
 */
#include <asm/prctl.h>
#include <cpuid.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "minivmm_test.h"

#define TABLE_GPA	0x98000UL	/* values the test gives the guest */
#define SCRATCH_GPA	0x99000UL
#define EXITS		64

#define GUEST_FAIL_ASM	UCALL_ASM(2)

/*
 * The guest checks "got" in RCX against "wanted" in RDX, failing with
 * check number @id in RBX; jumps to the fail path at label 9.
 * CHECK_ASM_STR() is the same with @id as a string.
 */
#define CHECK_ASM(id)	CHECK_ASM_STR(#id)
#define CHECK_ASM_STR(id)						\
	"mov $" id ", %ebx\n\t"					\
	"cmp %rdx, %rcx\n\t"						\
	"jne 9f\n\t"

/* ---- FPU and SSE ----------------------------------------------------- */

#define HOST_MXCSR	0x3f80		/* round down, all masked */

#define XMM_LOAD(n)	"movdqu " #n "*16+0x98000, %xmm" #n "\n\t"
#define XMM_CHECK(n)							\
	"movdqu %xmm" #n ", 0x99000\n\t"				\
	"mov 0x99000, %rcx\n\t"						\
	"mov " #n "*16+0x98000, %rdx\n\t"				\
	CHECK_ASM_STR(#n)						\
	"mov 0x99008, %rcx\n\t"						\
	"mov " #n "*16+0x98008, %rdx\n\t"				\
	CHECK_ASM_STR(#n)

/*
 * Long mode: XMM0-15 from the table, MXCSR 0x7f80 (round toward zero,
 * all masked) and the x87 control word 0x0f7f (truncate); then EXITS
 * times: report, and check them all (checks 0-15: XMM, 16: MXCSR, 17:
 * FCW).
 */
GUEST_CODE(guest_sse, ".code64",
	   XMM_LOAD(0) XMM_LOAD(1) XMM_LOAD(2) XMM_LOAD(3)
	   XMM_LOAD(4) XMM_LOAD(5) XMM_LOAD(6) XMM_LOAD(7)
	   XMM_LOAD(8) XMM_LOAD(9) XMM_LOAD(10) XMM_LOAD(11)
	   XMM_LOAD(12) XMM_LOAD(13) XMM_LOAD(14) XMM_LOAD(15)
	   "movl $0x7f80, 0x99010\n\t"
	   "ldmxcsr 0x99010\n\t"
	   "fninit\n\t"
	   "movw $0x0f7f, 0x99014\n\t"
	   "fldcw 0x99014\n\t"
	   "mov $64, %r12d\n\t"
	   "1: " UCALL_ASM(1)
	   XMM_CHECK(0) XMM_CHECK(1) XMM_CHECK(2) XMM_CHECK(3)
	   XMM_CHECK(4) XMM_CHECK(5) XMM_CHECK(6) XMM_CHECK(7)
	   XMM_CHECK(8) XMM_CHECK(9) XMM_CHECK(10) XMM_CHECK(11)
	   XMM_CHECK(12) XMM_CHECK(13) XMM_CHECK(14) XMM_CHECK(15)
	   "stmxcsr 0x99010\n\t"
	   "mov 0x99010, %ecx\n\t"
	   "mov $0x7f80, %edx\n\t"
	   CHECK_ASM(16)
	   "xor %ecx, %ecx\n\t"
	   "fnstcw 0x99014\n\t"
	   "movzwl 0x99014, %ecx\n\t"
	   "mov $0x0f7f, %edx\n\t"
	   CHECK_ASM(17)
	   "dec %r12d\n\t"
	   "jnz 1b\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t"
	   "9: " GUEST_FAIL_ASM
	   "hlt\n\t");

#define XMM_IN(n)	"movdqu " #n "*16(%[in]), %%xmm" #n "\n\t"
#define XMM_OUT(n)	"movdqu %%xmm" #n ", " #n "*16(%[out])\n\t"

/*
 * MINIVMM_RUN with all of XMM0-15 and MXCSR holding the test's own values
 * across the system call; what they hold afterwards goes to @out and
 * @mxcsr. Returns what the system call returned.
 */
static long run_holding_sse(int fd, const uint8_t in[16][16],
			    uint8_t out[16][16], uint32_t *mxcsr)
{
	uint32_t mx = HOST_MXCSR, dflt = 0x1f80;
	long ret;

	asm volatile("ldmxcsr %[mx]\n\t"
		     XMM_IN(0) XMM_IN(1) XMM_IN(2) XMM_IN(3)
		     XMM_IN(4) XMM_IN(5) XMM_IN(6) XMM_IN(7)
		     XMM_IN(8) XMM_IN(9) XMM_IN(10) XMM_IN(11)
		     XMM_IN(12) XMM_IN(13) XMM_IN(14) XMM_IN(15)
		     "syscall\n\t"
		     XMM_OUT(0) XMM_OUT(1) XMM_OUT(2) XMM_OUT(3)
		     XMM_OUT(4) XMM_OUT(5) XMM_OUT(6) XMM_OUT(7)
		     XMM_OUT(8) XMM_OUT(9) XMM_OUT(10) XMM_OUT(11)
		     XMM_OUT(12) XMM_OUT(13) XMM_OUT(14) XMM_OUT(15)
		     "stmxcsr %[mxo]\n\t"
		     "ldmxcsr %[dflt]\n\t"
		     : "=a" (ret), [mxo] "=m" (*mxcsr)
		     : "0" ((long)SYS_ioctl), "D" ((long)fd),
		       "S" ((long)MINIVMM_RUN), "d" (0L), [in] "r" (in),
		       [out] "r" (out), [mx] "m" (mx), [dflt] "m" (dflt)
		     : "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2",
		       "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
		       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
		       "xmm15");
	return ret;
}

/* Keep the test and @vcpu's kernel thread on the CPU the test runs on. */
static void same_cpu(struct __test_metadata *_metadata,
		     struct test_vcpu *vcpu)
{
	int cpu = sched_getcpu();
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	EXPECT_EQ(0, sched_setaffinity(0, sizeof(set), &set));
	EXPECT_EQ(0, sched_setaffinity(test_vcpu_thread(vcpu, NULL),
				       sizeof(set), &set))
		TH_LOG("pinning the vCPU thread: %s", strerror(errno));
}

/* A guest ucall exit after a raw RUN that returned @ret. */
static void expect_ucall(struct __test_metadata *_metadata,
			 struct test_vcpu *vcpu, long ret, uint32_t nr)
{
	struct minivmm_run *run = vcpu->run;
	struct minivmm_regs r = { 0 };

	ASSERT_EQ(0, ret) TH_LOG("MINIVMM_RUN: %s", strerror(-ret));
	ASSERT_EQ(MINIVMM_EXIT_IO, run->exit_reason)
		TH_LOG("exit %s, hardware reason %#x",
		       exit_reason_str(run->exit_reason), run->hw_exit_reason);
	ASSERT_EQ(UCALL_PORT, run->io.port);
	if (run->io.data == UCALL_FAIL)
		test_get_regs(vcpu, &r);
	ASSERT_NE(UCALL_FAIL, run->io.data)
		TH_LOG("guest check %llu: got %#llx, wanted %#llx",
		       r.rbx, r.rcx, r.rdx);
	ASSERT_EQ(nr, run->io.data);
}

FIXTURE(host) {
	struct test_vm *vm;
	struct test_vcpu *vcpu;
};

FIXTURE_SETUP(host)
{
}

FIXTURE_TEARDOWN(host)
{
	test_vcpu_destroy(self->vcpu);
	test_vm_destroy(self->vm);
}

/*
 * A VM in *@vm with a long-mode vCPU in *@vcpu running the code from @code
 * to @end, on the test's CPU.
 */
static void setup_guest(struct __test_metadata *_metadata,
			struct test_vm **vm, struct test_vcpu **vcpu,
			const unsigned char *code, const unsigned char *end)
{
	*vm = test_vm_create(GUEST_MEM_SIZE);
	*vcpu = test_vcpu_add(*vm, 0);
	test_vcpu_load(*vcpu, MODE_LONG, code, end - code);
	same_cpu(_metadata, *vcpu);
}

/*
 * In a TEST_F() body: skip the test without VMX, else setup_guest() for
 * the fixture, GUEST_CODE() @code.
 */
#define SETUP_GUEST(code)						\
	do {								\
		REQUIRE_VMX();						\
		setup_guest(_metadata, &self->vm, &self->vcpu, code,	\
			    code##_end);				\
	} while (0)

TEST_F(host, guest_and_host_sse_state_survive_exits)
{
	uint8_t guest[16][16], in[16][16], out[16][16];
	uint32_t mxcsr;
	double d = 1.0;
	int i, j, k;
	long ret;

	SETUP_GUEST(guest_sse);
	for (i = 0; i < 16; i++)
		for (j = 0; j < 16; j++)
			guest[i][j] = 0x80 + i * 16 + j;
	memcpy(self->vm->mem + TABLE_GPA, guest, sizeof(guest));

	for (k = 0; k < EXITS; k++) {
		/* Different values each time: nothing can be left over. */
		for (i = 0; i < 16; i++)
			for (j = 0; j < 16; j++)
				in[i][j] = k * 7 + i * 16 + j;
		memset(out, 0, sizeof(out));
		ret = run_holding_sse(self->vcpu->fd, in, out, &mxcsr);
		expect_ucall(_metadata, self->vcpu, ret, UCALL_SYNC);
		EXPECT_EQ(0, memcmp(in, out, sizeof(in)))
			TH_LOG("exit %d: the test's XMM registers changed", k);
		EXPECT_EQ(HOST_MXCSR, mxcsr)
			TH_LOG("exit %d: the test's MXCSR changed", k);
		/* More SSE work of the compiler's own between the runs. */
		for (i = 0; i < 100; i++)
			d = d * 1.000001 + 0.5;
		memset(out, k, sizeof(out));
	}
	EXPECT_LT(1.0, d);
	ret = run_holding_sse(self->vcpu->fd, in, out, &mxcsr);
	expect_ucall(_metadata, self->vcpu, ret, UCALL_DONE);
}

/* ---- Syscall MSRs and SWAPGS ----------------------------------------- */

#define MSR_GS_BASE		0xc0000101
#define MSR_KERNEL_GS_BASE	0xc0000102

/* WRMSR @msr with the quadword at TABLE_GPA + @off. */
#define WRMSR_ASM(msr, off)						\
	"mov $" #msr ", %ecx\n\t"					\
	"mov 0x98000+" #off ", %eax\n\t"				\
	"mov 0x98004+" #off ", %edx\n\t"				\
	"wrmsr\n\t"

/* RDMSR @msr and check it against the quadword at TABLE_GPA + @off. */
#define RDMSR_CHECK_ASM(id, msr, off)					\
	"mov $" #msr ", %ecx\n\t"					\
	"rdmsr\n\t"							\
	"shl $32, %rdx\n\t"						\
	"mov %eax, %ecx\n\t"						\
	"or %rdx, %rcx\n\t"						\
	"mov 0x98000+" #off ", %rdx\n\t"				\
	CHECK_ASM(id)

/*
 * Long mode: write STAR, LSTAR, CSTAR, SFMASK, KERNEL_GS_BASE and
 * GS_BASE from the table (quadwords 0-5), SWAPGS, then EXITS times:
 * report, and read them all back (checks 1-6; GS_BASE and
 * KERNEL_GS_BASE swapped).
 */
GUEST_CODE(guest_syscall_msrs, ".code64",
	   WRMSR_ASM(0xc0000081, 0)
	   WRMSR_ASM(0xc0000082, 8)
	   WRMSR_ASM(0xc0000083, 16)
	   WRMSR_ASM(0xc0000084, 24)
	   WRMSR_ASM(0xc0000102, 32)
	   WRMSR_ASM(0xc0000101, 40)
	   "swapgs\n\t"
	   "mov $64, %r12d\n\t"
	   "1: " UCALL_ASM(1)
	   RDMSR_CHECK_ASM(1, 0xc0000081, 0)
	   RDMSR_CHECK_ASM(2, 0xc0000082, 8)
	   RDMSR_CHECK_ASM(3, 0xc0000083, 16)
	   RDMSR_CHECK_ASM(4, 0xc0000084, 24)
	   RDMSR_CHECK_ASM(5, 0xc0000101, 32)
	   RDMSR_CHECK_ASM(6, 0xc0000102, 40)
	   "dec %r12d\n\t"
	   "jnz 1b\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t"
	   "9: " GUEST_FAIL_ASM
	   "hlt\n\t");

/*
 * Long mode: write GS_BASE from the table (quadword 0), SWAPGS, then
 * EXITS times: report, and check that GS_BASE reads 0 (the reset value
 * of KERNEL_GS_BASE, check 1) and KERNEL_GS_BASE the value written
 * (check 2).
 */
GUEST_CODE(guest_swapgs_only, ".code64",
	   WRMSR_ASM(0xc0000101, 0)
	   "swapgs\n\t"
	   "mov $64, %r12d\n\t"
	   "1: " UCALL_ASM(1)
	   "mov $0xc0000101, %ecx\n\t"
	   "rdmsr\n\t"
	   "shl $32, %rdx\n\t"
	   "mov %eax, %ecx\n\t"
	   "or %rdx, %rcx\n\t"
	   "xor %edx, %edx\n\t"
	   CHECK_ASM(1)
	   RDMSR_CHECK_ASM(2, 0xc0000102, 0)
	   "dec %r12d\n\t"
	   "jnz 1b\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t"
	   "9: " GUEST_FAIL_ASM
	   "hlt\n\t");

static unsigned long host_gs_base(void)
{
	unsigned long base = ~0UL;

	syscall(SYS_arch_prctl, ARCH_GET_GS, &base);
	return base;
}

/*
 * Make system calls as the test would after an exit: each one goes
 * through LSTAR, SFMASK, STAR and SWAPGS with KERNEL_GS_BASE.
 */
static int host_syscalls(pid_t pid, int n)
{
	int bad = 0;

	while (n--)
		bad += syscall(SYS_getpid) != pid;
	return bad;
}

TEST_F(host, guest_syscall_msrs_do_not_reach_host)
{
	const uint64_t msrs[6] = {
		0x0023001000000000ULL,		/* STAR */
		0xffffffff8badf000ULL,		/* LSTAR */
		0xffffffff8badc000ULL,		/* CSTAR */
		0x0000000000047700ULL,		/* SFMASK */
		0xffff888012345000ULL,		/* KERNEL_GS_BASE */
		0x00007fffdead0000ULL,		/* GS_BASE */
	};
	unsigned long gs = host_gs_base();
	pid_t pid = getpid();
	struct ucall uc;
	int k;

	SETUP_GUEST(guest_syscall_msrs);
	memcpy(self->vm->mem + TABLE_GPA, msrs, sizeof(msrs));
	for (k = 0; k < EXITS; k++) {
		ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
		/* A guest LSTAR or SFMASK live here would end the machine. */
		EXPECT_EQ(0, host_syscalls(pid, 200));
		EXPECT_EQ(gs, host_gs_base()) TH_LOG("exit %d", k);
	}
	ASSERT_EQ(UCALL_DONE, test_run_ucall(self->vcpu, &uc));
}

TEST_F(host, guest_swapgs_swaps_gs_bases_without_msr_writes)
{
	const uint64_t gs_base = 0x00007fffbeef0000ULL;
	unsigned long gs = host_gs_base();
	pid_t pid = getpid();
	struct ucall uc;
	int k;

	/* GS_BASE is in the VMCS: writing it is no syscall-MSR write. */
	SETUP_GUEST(guest_swapgs_only);
	memcpy(self->vm->mem + TABLE_GPA, &gs_base, sizeof(gs_base));
	for (k = 0; k < EXITS; k++) {
		ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
		EXPECT_EQ(0, host_syscalls(pid, 50));
		EXPECT_EQ(gs, host_gs_base()) TH_LOG("exit %d", k);
	}
	ASSERT_EQ(UCALL_DONE, test_run_ucall(self->vcpu, &uc));
}

/* ---- CR2 ------------------------------------------------------------- */

#define GUEST_CR2	0x0000123456789000ULL

/* Long mode: set CR2, then EXITS times: report, check CR2 (check 1). */
GUEST_CODE(guest_cr2, ".code64",
	   "movabs $0x0000123456789000, %rax\n\t"
	   "mov %rax, %cr2\n\t"
	   "mov $64, %r12d\n\t"
	   "1: " UCALL_ASM(1)
	   "mov %cr2, %rcx\n\t"
	   "movabs $0x0000123456789000, %rdx\n\t"
	   CHECK_ASM(1)
	   "dec %r12d\n\t"
	   "jnz 1b\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t"
	   "9: " GUEST_FAIL_ASM
	   "hlt\n\t");

TEST_F(host, guest_cr2_survives_host_page_faults)
{
	struct minivmm_sregs s;
	struct ucall uc;
	uint8_t *p;
	int k, i;

	SETUP_GUEST(guest_cr2);
	for (k = 0; k < EXITS; k++) {
		ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
		/* Fresh memory: every page a page fault, CR2 rewritten. */
		p = mmap(NULL, 32 * 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, p);
		for (i = 0; i < 32; i++)
			p[i * 4096 + k] = i;
		munmap(p, 32 * 4096);
	}
	test_get_sregs(self->vcpu, &s);
	EXPECT_EQ(GUEST_CR2, s.cr2);
	ASSERT_EQ(UCALL_DONE, test_run_ucall(self->vcpu, &uc));
}

/* ---- XCR0 ------------------------------------------------------------ */

/*
 * Long mode: set CR4.OSXSAVE and XCR0 = x87 | SSE, then EXITS times:
 * report, and check XGETBV (check 1).
 */
GUEST_CODE(guest_xsetbv, ".code64",
	   "mov %cr4, %rax\n\t"
	   "bts $18, %rax\n\t"
	   "mov %rax, %cr4\n\t"
	   "xor %ecx, %ecx\n\t"
	   "xor %edx, %edx\n\t"
	   "mov $3, %eax\n\t"
	   "xsetbv\n\t"
	   "mov $64, %r12d\n\t"
	   "1: " UCALL_ASM(1)
	   "xor %ecx, %ecx\n\t"
	   "xgetbv\n\t"
	   "shl $32, %rdx\n\t"
	   "mov %eax, %ecx\n\t"
	   "or %rdx, %rcx\n\t"
	   "mov $3, %edx\n\t"
	   CHECK_ASM(1)
	   "dec %r12d\n\t"
	   "jnz 1b\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t"
	   "9: " GUEST_FAIL_ASM
	   "hlt\n\t");

static bool host_has_avx(void)
{
	unsigned int a, b, c, d;
	uint32_t lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return false;
	if (!(c & (1U << 27)) || !(c & (1U << 28)))	/* OSXSAVE, AVX */
		return false;
	asm volatile("xgetbv" : "=a" (lo), "=d" (hi) : "c" (0));
	return (lo & 6) == 6;		/* SSE and AVX state enabled */
}

static uint64_t host_xcr0(void)
{
	uint32_t lo, hi;

	asm volatile("xgetbv" : "=a" (lo), "=d" (hi) : "c" (0));
	return lo | (uint64_t)hi << 32;
}

TEST_F(host, guest_xcr0_survives_exits)
{
	struct ucall uc;
	int k;

	SETUP_GUEST(guest_xsetbv);
	for (k = 0; k < EXITS; k++)
		ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
	ASSERT_EQ(UCALL_DONE, test_run_ucall(self->vcpu, &uc));
}

#define YMM_IN(n)	"vmovdqu " #n "*32(%[in]), %%ymm" #n "\n\t"
#define YMM_OUT(n)	"vmovdqu %%ymm" #n ", " #n "*32(%[out])\n\t"

/*
 * MINIVMM_RUN with YMM0-15 holding @in across the system call (AVX
 * needs XCR0 bit 2 when the test executes it); their values afterwards
 * go to @out.
 */
static long run_holding_avx(int fd, const uint8_t in[16][32],
			    uint8_t out[16][32])
{
	long ret;

	asm volatile(YMM_IN(0) YMM_IN(1) YMM_IN(2) YMM_IN(3)
		     YMM_IN(4) YMM_IN(5) YMM_IN(6) YMM_IN(7)
		     YMM_IN(8) YMM_IN(9) YMM_IN(10) YMM_IN(11)
		     YMM_IN(12) YMM_IN(13) YMM_IN(14) YMM_IN(15)
		     "syscall\n\t"
		     YMM_OUT(0) YMM_OUT(1) YMM_OUT(2) YMM_OUT(3)
		     YMM_OUT(4) YMM_OUT(5) YMM_OUT(6) YMM_OUT(7)
		     YMM_OUT(8) YMM_OUT(9) YMM_OUT(10) YMM_OUT(11)
		     YMM_OUT(12) YMM_OUT(13) YMM_OUT(14) YMM_OUT(15)
		     "vzeroupper\n\t"
		     : "=a" (ret)
		     : "0" ((long)SYS_ioctl), "D" ((long)fd),
		       "S" ((long)MINIVMM_RUN), "d" (0L), [in] "r" (in),
		       [out] "r" (out)
		     : "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2",
		       "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
		       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
		       "xmm15");
	return ret;
}

TEST_F(host, host_avx_works_after_guest_xsetbv)
{
	uint8_t in[16][32], out[16][32];
	uint64_t xcr0;
	int i, j, k;
	long ret;

	REQUIRE_VMX();
	if (!host_has_avx())
		SKIP(return, "the host has no usable AVX");
	xcr0 = host_xcr0();
	SETUP_GUEST(guest_xsetbv);

	for (k = 0; k < EXITS; k++) {
		for (i = 0; i < 16; i++)
			for (j = 0; j < 32; j++)
				in[i][j] = k * 3 + i * 32 + j;
		memset(out, 0, sizeof(out));
		/* An XCR0 without AVX left live would be SIGILL here. */
		ret = run_holding_avx(self->vcpu->fd, in, out);
		expect_ucall(_metadata, self->vcpu, ret, UCALL_SYNC);
		EXPECT_EQ(0, memcmp(in, out, sizeof(in)))
			TH_LOG("exit %d: the test's YMM registers changed", k);
		EXPECT_EQ(xcr0, host_xcr0()) TH_LOG("exit %d", k);
	}
	ret = run_holding_avx(self->vcpu->fd, in, out);
	expect_ucall(_metadata, self->vcpu, ret, UCALL_DONE);
}

/* ---- Debug registers ------------------------------------------------- */

#define DR_LOAD(n)	"mov 0x98000+" #n "*8, %rax\n\tmov %rax, %dr" #n "\n\t"
#define DR_CHECK(n)							\
	"mov %dr" #n ", %rcx\n\t"					\
	"mov 0x98000+" #n "*8, %rdx\n\t"				\
	CHECK_ASM(n)

/*
 * Long mode: DR0-3 from the table (quadwords 0-3), DR7 = 0xffff04ff
 * (breakpoints 0-3 enabled, local and global, on 4-byte reads and
 * writes), then EXITS times: report, and read them back (checks 0-3, 7).
 */
GUEST_CODE(guest_dr, ".code64",
	   DR_LOAD(0) DR_LOAD(1) DR_LOAD(2) DR_LOAD(3)
	   "mov $0xffff04ff, %eax\n\t"
	   "mov %rax, %dr7\n\t"
	   "mov $64, %r12d\n\t"
	   "1: " UCALL_ASM(1)
	   DR_CHECK(0) DR_CHECK(1) DR_CHECK(2) DR_CHECK(3)
	   "mov %dr7, %rcx\n\t"
	   "mov $0xffff04ff, %edx\n\t"
	   CHECK_ASM(7)
	   "dec %r12d\n\t"
	   "jnz 1b\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t"
	   "9: " GUEST_FAIL_ASM
	   "hlt\n\t");

static volatile uint32_t watched[4];
static volatile int traps;

static void on_sigtrap(int sig)
{
	traps++;
}

TEST_F(host, guest_debug_registers_do_not_arm_host_breakpoints)
{
	struct sigaction sa = { .sa_handler = on_sigtrap };
	uint64_t addrs[4];
	struct ucall uc;
	int i, k, n;

	SETUP_GUEST(guest_dr);
	ASSERT_EQ(0, sigaction(SIGTRAP, &sa, NULL));
	/* The guest aims its breakpoints at the test's own variables. */
	for (i = 0; i < 4; i++)
		addrs[i] = (uintptr_t)&watched[i];
	memcpy(self->vm->mem + TABLE_GPA, addrs, sizeof(addrs));

	for (k = 0; k < EXITS; k++) {
		ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
		for (n = 0; n < 100; n++)
			for (i = 0; i < 4; i++)
				watched[i] = watched[i] + 1;
	}
	ASSERT_EQ(UCALL_DONE, test_run_ucall(self->vcpu, &uc));
	EXPECT_EQ(0, traps);
	EXPECT_EQ(EXITS * 100, watched[3]);
}

/* ---- TSC ------------------------------------------------------------- */

/*
 * Long mode, 200 times: RDTSC, check it is above the previous value
 * (check 1), report it (RBX).
 */
GUEST_CODE(guest_tsc, ".code64",
	   "xor %r13d, %r13d\n\t"
	   "mov $200, %r12d\n\t"
	   "1: rdtsc\n\t"
	   "shl $32, %rdx\n\t"
	   "or %rax, %rdx\n\t"
	   "mov %rdx, %rcx\n\t"
	   "mov %r13, %rdx\n\t"
	   "mov $1, %ebx\n\t"
	   "cmp %rdx, %rcx\n\t"
	   "jbe 9f\n\t"
	   "mov %rcx, %r13\n\t"
	   "mov %rcx, %rbx\n\t"
	   UCALL_ASM(1)
	   "dec %r12d\n\t"
	   "jnz 1b\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t"
	   "9: " GUEST_FAIL_ASM
	   "hlt\n\t");

TEST_F(host, guest_tsc_is_monotonic_across_exits)
{
	uint64_t last = 0;
	struct ucall uc;
	int k;

	SETUP_GUEST(guest_tsc);
	for (k = 0; k < 200; k++) {
		ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
		EXPECT_LT(last, uc.args[0]) TH_LOG("exit %d", k);
		last = uc.args[0];
		/* Some host time between the exits, now and then. */
		if (!(k % 16))
			usleep(1000);
	}
	ASSERT_EQ(UCALL_DONE, test_run_ucall(self->vcpu, &uc));
}

TEST_HARNESS_MAIN

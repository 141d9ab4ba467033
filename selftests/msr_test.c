// SPDX-License-Identifier: GPL-2.0
/*
 * The MSRs a guest sees, table-driven: for each MSR, the CPUID bit that
 * makes it exist, its value after reset, values a WRMSR must take and read
 * back, and values it must refuse with #GP (leaving the MSR unchanged).
 * MSRs that must not exist raise #GP on RDMSR and WRMSR. Then the MSRs
 * that are tied to each other or to the host: IA32_TSC and
 * IA32_TSC_ADJUST, IA32_TSC_AUX through RDTSCP (and the host's TSC_AUX
 * after the guest ran), IA32_FMASK's reserved upper half, and a guest TSC
 * that never goes back while its thread moves between host CPUs.
 *
 * The table below is the specification (the SDM's, with KVM's choices
 * where it leaves one): it is written independently of the module's.
 */
#include <cpuid.h>
#include <sched.h>
#include <string.h>
#include <x86intrin.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "minivmm_test.h"

#define UD_VECTOR	6
#define GP_VECTOR	13
#define ST_OK		0
#define ST_UD		6
#define ST_GP		13

enum { EAX, EBX, ECX, EDX };

/*
 * The guest serves requests: at each ucall it reports RBX (a value) and
 * RCX (ST_OK, ST_GP after a #GP with the error code in RBX, ST_UD after
 * a #UD), then
 * performs what R12 asks with the MSR number in R9: 0 RDMSR, 1 WRMSR of
 * R8, 2 CPUID leaf R9 subleaf 0 (EAX-EDX into R10, R11, R13, R14),
 * 3 RDTSCP (TSC_AUX into RBX).
 */
GUEST_CODE(guest_msr_server, ".code64",
	   "lea 1f(%rip), %rdi\n\t"
	   "xor %ebx, %ebx\n\t"
	   "xor %ecx, %ecx\n"
	   "1: " UCALL_ASM(1)
	   "mov %r9d, %ecx\n\t"
	   "cmp $1, %r12\n\t"
	   "je 2f\n\t"
	   "cmp $2, %r12\n\t"
	   "je 3f\n\t"
	   "cmp $3, %r12\n\t"
	   "je 4f\n\t"
	   "rdmsr\n\t"
	   "shl $32, %rdx\n\t"
	   "mov %eax, %ebx\n\t"
	   "or %rdx, %rbx\n\t"
	   "xor %ecx, %ecx\n\t"
	   "jmp 1b\n"
	   "2: mov %r8, %rax\n\t"
	   "mov %r8, %rdx\n\t"
	   "shr $32, %rdx\n\t"
	   "wrmsr\n\t"
	   "xor %ebx, %ebx\n\t"
	   "xor %ecx, %ecx\n\t"
	   "jmp 1b\n"
	   "3: mov %r9d, %eax\n\t"
	   "xor %ecx, %ecx\n\t"
	   "cpuid\n\t"
	   "mov %eax, %r10d\n\t"
	   "mov %ebx, %r11d\n\t"
	   "mov %ecx, %r13d\n\t"
	   "mov %edx, %r14d\n\t"
	   "xor %ecx, %ecx\n\t"
	   "jmp 1b\n"
	   "4: rdtscp\n\t"
	   "mov %ecx, %ebx\n\t"
	   "xor %ecx, %ecx\n\t"
	   "jmp 1b\n\t"
	   GUEST_LABEL(msr_gp_handler)
	   "pop %rbx\n\t"
	   "mov $13, %ecx\n\t"
	   "mov %rdi, (%rsp)\n\t"
	   "iretq\n\t"
	   GUEST_LABEL(msr_ud_handler)
	   "xor %ebx, %ebx\n\t"
	   "mov $6, %ecx\n\t"
	   "mov %rdi, (%rsp)\n\t"
	   "iretq\n\t");

extern const unsigned char msr_gp_handler[], msr_ud_handler[];

#define MAX_VALUES	4
#define CANON_HOLE	0x0000800000000000ULL

/*
 * One MSR: @fn/@reg/@bit is the CPUID bit that makes it exist (@fn 0:
 * always), @reset its value after reset (unless @no_reset), @good values
 * a WRMSR takes and RDMSR returns, @bad values WRMSR refuses with #GP.
 * @ignored: WRMSR takes the value but the MSR keeps reading @reset.
 */
struct msr_case {
	const char *name;
	uint32_t index;
	uint32_t fn;
	uint8_t reg, bit;
	bool no_reset, ignored;
	uint64_t reset;
	uint64_t good[MAX_VALUES];
	int ngood;
	uint64_t bad[MAX_VALUES];
	int nbad;
};

#define GOOD(...)	.good = { __VA_ARGS__ }, \
			.ngood = sizeof((uint64_t[]){ __VA_ARGS__ }) / 8
#define BAD(...)	.bad = { __VA_ARGS__ }, \
			.nbad = sizeof((uint64_t[]){ __VA_ARGS__ }) / 8
#define LEAF1_EDX(b)	.fn = 1, .reg = EDX, .bit = (b)
#define EXT1_EDX(b)	.fn = 0x80000001, .reg = EDX, .bit = (b)
#define MTRR		LEAF1_EDX(12)
#define LM		EXT1_EDX(29)
/* A mask of 36 physical address bits, valid: every CPU has at least 36. */
#define MTRR_MASK_36	0xff0000800ULL

static const struct msr_case msrs[] = {
	{ "IA32_PLATFORM_ID", 0x17, .reset = 0, BAD(1) },
	{ "IA32_APIC_BASE", 0x1b, .reset = 0xfee00900,
	  GOOD(0xfed00900, 0xfee00100, 0xfee00900),
	  /* Bit 9, EXTD without EN, bit 0, above MAXPHYADDR. */
	  BAD(0xfee00b00, 0xfee00500, 0xfee00901, 1ULL << 63) },
	{ "IA32_TSC_ADJUST", 0x3b, .fn = 7, .reg = EBX, .bit = 1,
	  .reset = 0 },
	/* Disarmed; outside TSC-deadline mode writes are ignored. */
	{ "IA32_TSC_DEADLINE", 0x6e0, .fn = 1, .reg = ECX, .bit = 24,
	  .reset = 0, GOOD(0) },
	{ "IA32_BIOS_SIGN_ID", 0x8b, .reset = 0x100000000ULL, .ignored = true,
	  GOOD(0) },
	{ "IA32_MTRRCAP", 0xfe, MTRR, .reset = 0x508, BAD(0, 0x50a) },
	{ "IA32_SYSENTER_CS", 0x174, LEAF1_EDX(11), .reset = 0, GOOD(0x10) },
	{ "IA32_SYSENTER_ESP", 0x175, LEAF1_EDX(11), .reset = 0,
	  GOOD(0xffff800000001000ULL), BAD(CANON_HOLE) },
	{ "IA32_SYSENTER_EIP", 0x176, LEAF1_EDX(11), .reset = 0,
	  GOOD(0x00007fff00002000ULL), BAD(CANON_HOLE) },
	{ "IA32_MCG_CAP", 0x179, LEAF1_EDX(14), .reset = 0, BAD(1, 0x100) },
	{ "IA32_MCG_STATUS", 0x17a, LEAF1_EDX(14), .reset = 0, GOOD(4, 0),
	  BAD(8, 1ULL << 63) },
	{ "IA32_MISC_ENABLE", 0x1a0, .reset = 0x1801, GOOD(0x1800, 0x1801),
	  BAD(0x1881, 0x401801, 0x400001801ULL, 0x801) },
	{ "IA32_DEBUGCTL", 0x1d9, .reset = 0, GOOD(2, 0), BAD(1, 0x40) },
	{ "IA32_MTRR_PHYSBASE0", 0x200, MTRR, .reset = 0,
	  GOOD(0x80000006, 0x100000000ULL, 0),
	  BAD(2, 7, 0x100, 1ULL << 63) },
	{ "IA32_MTRR_PHYSMASK0", 0x201, MTRR, .reset = 0,
	  GOOD(MTRR_MASK_36, 0), BAD(0x400, 1, 1ULL << 63) },
	{ "IA32_MTRR_PHYSBASE7", 0x20e, MTRR, .reset = 0, GOOD(0xc0000001),
	  BAD(3) },
	{ "IA32_MTRR_PHYSMASK7", 0x20f, MTRR, .reset = 0, GOOD(MTRR_MASK_36),
	  BAD(0x200) },
	{ "IA32_MTRR_FIX64K_00000", 0x250, MTRR, .reset = 0,
	  GOOD(0x0606060606060606ULL), BAD(2, 7, 0x0800000000000000ULL) },
	{ "IA32_MTRR_FIX16K_80000", 0x258, MTRR, .reset = 0,
	  GOOD(0x0606060606060606ULL), BAD(3) },
	{ "IA32_MTRR_FIX16K_A0000", 0x259, MTRR, .reset = 0,
	  GOOD(0x0000000001010101ULL), BAD(0x0300) },
	{ "IA32_MTRR_FIX4K_C0000", 0x268, MTRR, .reset = 0,
	  GOOD(0x0505050505050505ULL), BAD(0x07) },
	{ "IA32_MTRR_FIX4K_F8000", 0x26f, MTRR, .reset = 0,
	  GOOD(0x0404040404040404ULL), BAD(0x0200000000000000ULL) },
	{ "IA32_PAT", 0x277, LEAF1_EDX(16), .reset = 0x0007040600070406ULL,
	  GOOD(0x0007010600070406ULL, 0x0007040600070406ULL),
	  BAD(0x0007040600070402ULL, 0x0807040600070406ULL) },
	{ "IA32_MTRR_DEF_TYPE", 0x2ff, MTRR, .reset = 0, GOOD(0xc06, 0x800),
	  BAD(0x1000, 0x2, 0x100) },
	{ "IA32_STAR", 0xc0000081, LM, .reset = 0,
	  GOOD(0x0023001000000000ULL) },
	{ "IA32_LSTAR", 0xc0000082, LM, .reset = 0,
	  GOOD(0xffffffff81000000ULL), BAD(CANON_HOLE) },
	{ "IA32_CSTAR", 0xc0000083, LM, .reset = 0,
	  GOOD(0xffffffff82000000ULL), BAD(CANON_HOLE) },
	{ "IA32_FMASK", 0xc0000084, LM, .reset = 0, GOOD(0x47700, 0xffffffff),
	  BAD(1ULL << 32, 0xffffffff00000000ULL) },
	{ "IA32_FS_BASE", 0xc0000100, LM, .no_reset = true,
	  GOOD(0x00007fff12340000ULL), BAD(CANON_HOLE) },
	{ "IA32_GS_BASE", 0xc0000101, LM, .no_reset = true,
	  GOOD(0xffff880012345000ULL), BAD(CANON_HOLE) },
	{ "IA32_KERNEL_GS_BASE", 0xc0000102, LM, .reset = 0,
	  GOOD(0xffff888000000000ULL), BAD(CANON_HOLE) },
	{ "IA32_TSC_AUX", 0xc0000103, EXT1_EDX(27), .reset = 0,
	  GOOD(0xffffffff, 7), BAD(1ULL << 32) },
	{ "IA32_TIME_STAMP_COUNTER", 0x10, LEAF1_EDX(4), .no_reset = true },
};

/* MSRs no guest of minivmm has: #GP on RDMSR and WRMSR. */
static const struct {
	const char *name;
	uint32_t index;
} absent[] = {
	{ "IA32_FEATURE_CONTROL (no VMX/SMX)", 0x3a },
	{ "IA32_SPEC_CTRL", 0x48 },
	{ "IA32_PRED_CMD", 0x49 },
	{ "IA32_PMC0 (no PMU)", 0xc1 },
	{ "IA32_ARCH_CAPABILITIES", 0x10a },
	{ "IA32_FLUSH_CMD", 0x10b },
	{ "IA32_MCG_CTL (MCG_CAP.MCG_CTL_P clear)", 0x17b },
	{ "IA32_PERFEVTSEL0", 0x186 },
	{ "IA32_MC0_CTL2 (no CMCI)", 0x280 },
	{ "IA32_FIXED_CTR_CTRL", 0x38d },
	{ "IA32_PERF_GLOBAL_CTRL", 0x38f },
	{ "IA32_MC0_CTL (no banks)", 0x400 },
	{ "IA32_MC0_STATUS", 0x401 },
	{ "IA32_VMX_BASIC", 0x480 },
	{ "IA32_VMX_PROCBASED_CTLS2", 0x48b },
	{ "x2APIC ID (in xAPIC mode)", 0x802 },
	{ "IA32_XSS", 0xda0 },
	{ "MTRR PHYSBASE8 (VCNT is 8)", 0x210 },
	{ "unassigned", 0xdeadbeef },
};

static const struct msr_case tsc_adjust = {
	"IA32_TSC_ADJUST", 0x3b, .fn = 7, .reg = EBX, .bit = 1,
};

FIXTURE(msr) {
	struct test_vm *vm;
	struct test_vcpu *vcpu;
};

static struct test_vcpu *msr_vcpu(struct test_vm *vm, int id)
{
	struct test_vcpu *vcpu = test_vcpu_add(vm, id);
	struct ucall uc;

	test_vcpu_setup(vcpu, MODE_LONG, GUEST_CODE_ADDR);
	/* The server's first ucall: ready for a request. */
	TEST_REQUIRE(test_run_ucall(vcpu, &uc) == UCALL_SYNC, "no ucall");
	return vcpu;
}

FIXTURE_SETUP(msr)
{
	struct minivmm_caps caps;

	self->vm = NULL;
	self->vcpu = NULL;
	if (minivmm_caps(&caps) || !(caps.features & MINIVMM_CAP_EPT))
		return;
	self->vm = test_vm_create(GUEST_MEM_SIZE);
	test_vm_load(self->vm, GUEST_CODE_ADDR, guest_msr_server,
		     GUEST_CODE_SIZE(guest_msr_server));
	test_set_idt(self->vm, MODE_LONG, GP_VECTOR,
		     GUEST_LONG_ADDR(guest_msr_server, msr_gp_handler));
	test_set_idt(self->vm, MODE_LONG, UD_VECTOR,
		     GUEST_LONG_ADDR(guest_msr_server, msr_ud_handler));
	self->vcpu = msr_vcpu(self->vm, 0);
}

FIXTURE_TEARDOWN(msr)
{
	test_vcpu_destroy(self->vcpu);
	test_vm_destroy(self->vm);
}

/* One request to the guest; returns ST_OK or ST_GP, the value in *val. */
static int guest_op(struct test_vcpu *vcpu, int op, uint32_t index,
		    uint64_t in, uint64_t *val)
{
	struct minivmm_regs regs;
	struct ucall uc;

	test_get_regs(vcpu, &regs);
	regs.r12 = op;
	regs.r9 = index;
	regs.r8 = in;
	test_set_regs(vcpu, &regs);
	TEST_REQUIRE(test_run_ucall(vcpu, &uc) == UCALL_SYNC, "no ucall");
	TEST_REQUIRE(uc.args[1] == ST_OK || uc.args[1] == ST_GP ||
		     uc.args[1] == ST_UD,
		     "unexpected status %#lx", (unsigned long)uc.args[1]);
	/* #GP from RDMSR/WRMSR pushes error code 0. */
	TEST_REQUIRE(uc.args[1] != ST_GP || uc.args[0] == 0,
		     "#GP error code %#lx", (unsigned long)uc.args[0]);
	if (val)
		*val = uc.args[0];
	return uc.args[1];
}

static int rdmsr(struct test_vcpu *vcpu, uint32_t index, uint64_t *val)
{
	return guest_op(vcpu, 0, index, 0, val);
}

static int wrmsr(struct test_vcpu *vcpu, uint32_t index, uint64_t val)
{
	return guest_op(vcpu, 1, index, val, NULL);
}

static uint32_t guest_cpuid(struct test_vcpu *vcpu, uint32_t fn, int reg)
{
	struct minivmm_regs regs;

	guest_op(vcpu, 2, fn, 0, NULL);
	test_get_regs(vcpu, &regs);
	switch (reg) {
	case EAX:
		return regs.r10;
	case EBX:
		return regs.r11;
	case ECX:
		return regs.r13;
	default:
		return regs.r14;
	}
}

static bool msr_exists(struct test_vcpu *vcpu, const struct msr_case *m)
{
	return !m->fn || (guest_cpuid(vcpu, m->fn, m->reg) >> m->bit & 1);
}

TEST_F(msr, exists_exactly_when_cpuid_shows_it)
{
	uint64_t val;
	size_t i;

	REQUIRE_VMX();
	for (i = 0; i < ARRAY_SIZE(msrs); i++) {
		bool has = msr_exists(self->vcpu, &msrs[i]);
		int st = rdmsr(self->vcpu, msrs[i].index, &val);

		EXPECT_EQ(has ? ST_OK : ST_GP, st)
			TH_LOG("RDMSR %s (%#x), CPUID bit %s", msrs[i].name,
			       msrs[i].index, has ? "set" : "clear");
		if (!has)
			EXPECT_EQ(ST_GP, wrmsr(self->vcpu, msrs[i].index, 0))
				TH_LOG("WRMSR %s", msrs[i].name);
	}
}

TEST_F(msr, reset_values)
{
	uint64_t val;
	size_t i;

	REQUIRE_VMX();
	for (i = 0; i < ARRAY_SIZE(msrs); i++) {
		if (msrs[i].no_reset || !msr_exists(self->vcpu, &msrs[i]))
			continue;
		ASSERT_EQ(ST_OK, rdmsr(self->vcpu, msrs[i].index, &val));
		EXPECT_EQ(msrs[i].reset, val)
			TH_LOG("%s (%#x)", msrs[i].name, msrs[i].index);
	}
}

/*
 * With a CPUID table from userspace the MSRs follow that table: one that
 * shows TSC, MSR, SEP and long mode but no MTRR, PAT, MCA or RDTSCP.
 */
TEST_F(msr, msrs_follow_a_cpuid_table_from_userspace)
{
	struct minivmm_cpuid_entry e[2] = {
		{ .function = 1, .edx = (1U << 4) | (1U << 5) | (1U << 11) },
		{ .function = 0x80000001, .edx = 1U << 29 },
	};
	struct minivmm_cpuid c = {
		.nent = 2, .entries = (uintptr_t)e,
	};
	static const uint32_t gone[] = {
		0xfe, 0x200, 0x250, 0x2ff, 0x277, 0x179, 0x17a, 0xc0000103,
		0x3b,
	};
	static const uint32_t kept[] = {
		0x10, 0x1b, 0x174, 0x1a0, 0xc0000082, 0xc0000084,
	};
	size_t i;

	REQUIRE_VMX();
	ASSERT_EQ(0, ioctl(self->vcpu->fd, MINIVMM_SET_CPUID, &c));
	for (i = 0; i < ARRAY_SIZE(gone); i++)
		EXPECT_EQ(ST_GP, rdmsr(self->vcpu, gone[i], NULL))
			TH_LOG("MSR %#x", gone[i]);
	for (i = 0; i < ARRAY_SIZE(kept); i++)
		EXPECT_EQ(ST_OK, rdmsr(self->vcpu, kept[i], NULL))
			TH_LOG("MSR %#x", kept[i]);
}

/* Only vCPU 0 is the bootstrap processor. */
TEST_F(msr, apic_base_bsp_only_on_vcpu0)
{
	struct test_vcpu *v1;
	uint64_t val;

	REQUIRE_VMX();
	v1 = msr_vcpu(self->vm, 1);
	ASSERT_EQ(ST_OK, rdmsr(v1, 0x1b, &val));
	EXPECT_EQ(0xfee00800, val);
	test_vcpu_destroy(v1);
}

TEST_F(msr, writable_values_read_back)
{
	uint64_t val;
	size_t i;
	int k;

	REQUIRE_VMX();
	for (i = 0; i < ARRAY_SIZE(msrs); i++) {
		const struct msr_case *m = &msrs[i];

		if (!msr_exists(self->vcpu, m))
			continue;
		for (k = 0; k < m->ngood; k++) {
			EXPECT_EQ(ST_OK, wrmsr(self->vcpu, m->index,
					       m->good[k]))
				TH_LOG("WRMSR %s = %#llx", m->name,
				       (unsigned long long)m->good[k]);
			ASSERT_EQ(ST_OK, rdmsr(self->vcpu, m->index, &val));
			EXPECT_EQ(m->ignored ? m->reset : m->good[k], val)
				TH_LOG("%s", m->name);
		}
	}
}

TEST_F(msr, reserved_bits_gp_and_keep_value)
{
	uint64_t before, after;
	size_t i;
	int k;

	REQUIRE_VMX();
	for (i = 0; i < ARRAY_SIZE(msrs); i++) {
		const struct msr_case *m = &msrs[i];

		if (!msr_exists(self->vcpu, m))
			continue;
		for (k = 0; k < m->nbad; k++) {
			ASSERT_EQ(ST_OK, rdmsr(self->vcpu, m->index, &before));
			EXPECT_EQ(ST_GP, wrmsr(self->vcpu, m->index,
					       m->bad[k]))
				TH_LOG("WRMSR %s = %#llx", m->name,
				       (unsigned long long)m->bad[k]);
			ASSERT_EQ(ST_OK, rdmsr(self->vcpu, m->index, &after));
			EXPECT_EQ(before, after) TH_LOG("%s", m->name);
		}
	}
}

TEST_F(msr, absent_msrs_gp_on_read_and_write)
{
	size_t i;

	REQUIRE_VMX();
	for (i = 0; i < ARRAY_SIZE(absent); i++) {
		EXPECT_EQ(ST_GP, rdmsr(self->vcpu, absent[i].index, NULL))
			TH_LOG("RDMSR %s (%#x)", absent[i].name,
			       absent[i].index);
		EXPECT_EQ(ST_GP, wrmsr(self->vcpu, absent[i].index, 0))
			TH_LOG("WRMSR %s (%#x)", absent[i].name,
			       absent[i].index);
	}
}

/* What makes the absent ones absent: CPUID says so. */
TEST_F(msr, cpuid_shows_no_pmu_vmx_or_speculation_controls)
{
	REQUIRE_VMX();
	EXPECT_EQ(0, guest_cpuid(self->vcpu, 0xa, EAX));
	/* ARCH_CAPABILITIES, SPEC_CTRL/IBRS, STIBP, FLUSH_L1D, SSBD. */
	EXPECT_EQ(0, guest_cpuid(self->vcpu, 7, EDX) &
		  ((1U << 29) | (1U << 26) | (1U << 27) | (1U << 28) |
		   (1U << 31)));
	/* VMX, SMX, PDCM. */
	EXPECT_EQ(0, guest_cpuid(self->vcpu, 1, ECX) &
		  ((1U << 5) | (1U << 6) | (1U << 15)));
	/* MCE and MCA with an empty MCA; MTRR, PAT, SEP. */
	EXPECT_EQ((1U << 7) | (1U << 14) | (1U << 12) | (1U << 16) |
		  (1U << 11),
		  guest_cpuid(self->vcpu, 1, EDX) &
		  ((1U << 7) | (1U << 14) | (1U << 12) | (1U << 16) |
		   (1U << 11)));
}

/* Issue 12: the upper half of IA32_FMASK must never reach the host. */
TEST_F(msr, fmask_high_bits_gp)
{
	uint64_t val;

	REQUIRE_VMX();
	ASSERT_EQ(ST_OK, wrmsr(self->vcpu, 0xc0000084, 0x700));
	EXPECT_EQ(ST_GP, wrmsr(self->vcpu, 0xc0000084, 0x100000700ULL));
	ASSERT_EQ(ST_OK, rdmsr(self->vcpu, 0xc0000084, &val));
	EXPECT_EQ(0x700, val);
}

/*
 * A constant MSR is read-only: writing back the very value it reads is a
 * #GP too (and never lands anywhere in the module).
 */
TEST_F(msr, constant_msrs_gp_on_write_of_their_value)
{
	static const uint32_t consts[] = { 0x17, 0xfe, 0x179 };
	uint64_t val;
	unsigned int i;

	REQUIRE_VMX();
	for (i = 0; i < sizeof(consts) / sizeof(consts[0]); i++) {
		if (rdmsr(self->vcpu, consts[i], &val) != ST_OK)
			continue;	/* hidden by this guest's CPUID */
		EXPECT_EQ(ST_GP, wrmsr(self->vcpu, consts[i], val)) {
			TH_LOG("MSR %#x", consts[i]);
		}
	}
	/* IA32_PLATFORM_ID exists on every CPU the guest can be shown. */
	ASSERT_EQ(ST_OK, rdmsr(self->vcpu, 0x17, &val));
}

#define TSC_SLACK	(1ULL << 36)

TEST_F(msr, tsc_write_moves_tsc_adjust_by_as_much)
{
	uint64_t tsc, adj, tsc2;

	REQUIRE_VMX();
	if (!msr_exists(self->vcpu, &tsc_adjust))
		SKIP(return, "the guest's CPUID has no IA32_TSC_ADJUST");
	/* The host CPUs' TSCs need not agree: compare readings of one. */
	ASSERT_EQ(0, test_pin_with_vcpu(self->vcpu, 0));
	ASSERT_EQ(ST_OK, rdmsr(self->vcpu, 0x10, &tsc));
	ASSERT_EQ(ST_OK, wrmsr(self->vcpu, 0x10, tsc + (1ULL << 40)));
	ASSERT_EQ(ST_OK, rdmsr(self->vcpu, 0x3b, &adj));
	ASSERT_EQ(ST_OK, rdmsr(self->vcpu, 0x10, &tsc2));
	/*
	 * The TSC jumped by 2^40 less the cycles between the RDMSR and the
	 * WRMSR; TSC_ADJUST by exactly that jump.
	 */
	EXPECT_GE(1ULL << 40, adj);
	EXPECT_LT((1ULL << 40) - TSC_SLACK, adj);
	EXPECT_LE(tsc + adj, tsc2);
	EXPECT_GT(tsc + adj + TSC_SLACK, tsc2);
}

TEST_F(msr, tsc_adjust_write_moves_tsc_by_as_much)
{
	uint64_t tsc, tsc2, adj;

	REQUIRE_VMX();
	if (!msr_exists(self->vcpu, &tsc_adjust))
		SKIP(return, "the guest's CPUID has no IA32_TSC_ADJUST");
	/* The host CPUs' TSCs need not agree: compare readings of one. */
	ASSERT_EQ(0, test_pin_with_vcpu(self->vcpu, 0));
	ASSERT_EQ(ST_OK, rdmsr(self->vcpu, 0x10, &tsc));
	ASSERT_EQ(ST_OK, wrmsr(self->vcpu, 0x3b, 1ULL << 41));
	ASSERT_EQ(ST_OK, rdmsr(self->vcpu, 0x10, &tsc2));
	ASSERT_EQ(ST_OK, rdmsr(self->vcpu, 0x3b, &adj));
	EXPECT_EQ(1ULL << 41, adj);
	EXPECT_LE(tsc + (1ULL << 41), tsc2);
	EXPECT_GT(tsc + (1ULL << 41) + TSC_SLACK, tsc2);
}

/*
 * Issue 12: RDTSCP in the guest returns the guest's IA32_TSC_AUX, and
 * the host's (Linux: the CPU number, node above bit 12) is intact on
 * every CPU the guest ran on.
 */
TEST_F(msr, rdtscp_reads_guest_tsc_aux_host_keeps_its_own)
{
	uint64_t mask[MINIVMM_MAX_CPUS / 64];
	unsigned int aux;
	uint64_t val;
	int cpu, n = 0;

	REQUIRE_VMX();
	if (!cpuinfo_has_flag("rdtscp"))
		SKIP(return, "the host has no RDTSCP");
	if (!(guest_cpuid(self->vcpu, 0x80000001, EDX) & (1U << 27)))
		SKIP(return, "the guest's CPUID has no RDTSCP");
	online_cpus(mask);
	for (cpu = 0; cpu < MINIVMM_MAX_CPUS; cpu++) {
		if (!(mask[cpu / 64] >> (cpu % 64) & 1))
			continue;
		ASSERT_EQ(0, test_pin_with_vcpu(self->vcpu, cpu));
		ASSERT_EQ(ST_OK, wrmsr(self->vcpu, 0xc0000103,
				       0xabc00 + cpu));
		ASSERT_EQ(ST_OK, guest_op(self->vcpu, 3, 0, 0, &val));
		EXPECT_EQ(0xabc00 + cpu, val);
		__rdtscp(&aux);
		EXPECT_EQ(cpu, aux & 0xfff) TH_LOG("host TSC_AUX %#x", aux);
		n++;
	}
	EXPECT_LT(0, n);
}

/*
 * The guest TSC is the host CPU's TSC plus an offset; on the 2-CPU
 * machine after a suspend the CPUs' TSCs are apart. Moving the vCPU's
 * thread from CPU to CPU must never let the guest see its TSC go back.
 */
TEST(guest_tsc_never_goes_back_as_its_thread_moves_between_cpus)
{
	uint64_t back, max_back;
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	int64_t lo, hi;

	REQUIRE_VMX();
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs 2 online CPUs");
	ASSERT_TRUE(host_tsc_gap(&lo, &hi));
	TH_LOG("host TSCs: CPU 1 - CPU 0 in [%lld, %lld]: %s",
	       (long long)lo, (long long)hi,
	       host_tsc_gap_agrees(lo, hi) ? "agree" : "apart");
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_tsc_watch_load(vcpu);
	back = test_tsc_watch(vcpu, 8, &max_back);
	EXPECT_EQ(0, back) {
		TH_LOG("%llu reads went back, by up to %llu cycles",
		       (unsigned long long)back,
		       (unsigned long long)max_back);
	}
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

/*
 * A VM's two vCPUs, their threads on host CPU 0 and 1 from their first
 * entry, read their TSCs in turns: a read after the other vCPU's is never
 * lower, whatever the host CPUs' own TSCs are (the 2-CPU machine's are
 * apart after suspend_test).
 */
TEST(vcpus_on_two_host_cpus_read_one_tsc)
{
	uint64_t back, max_back;
	int64_t lo, hi;

	REQUIRE_VMX();
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs 2 online CPUs");
	ASSERT_TRUE(host_tsc_gap(&lo, &hi));
	TH_LOG("host TSCs: CPU 1 - CPU 0 in [%lld, %lld]: %s",
	       (long long)lo, (long long)hi,
	       host_tsc_gap_agrees(lo, hi) ? "agree" : "apart");
	back = test_tsc_turns(&max_back);
	EXPECT_EQ(0, back) {
		TH_LOG("%llu of %d reads lower than the other vCPU's, by up to %llu cycles",
		       (unsigned long long)back, TSC_TURNS,
		       (unsigned long long)max_back);
	}
}

/* A CPUID table without RDTSCP: RDTSCP is #UD, as on a CPU without it. */
TEST_F(msr, rdtscp_ud_when_cpuid_table_lacks_it)
{
	struct minivmm_cpuid_entry e = {
		.function = 0x80000001, .edx = 1U << 29,
	};
	struct minivmm_cpuid c = {
		.nent = 1, .entries = (uintptr_t)&e,
	};

	REQUIRE_VMX();
	ASSERT_EQ(0, ioctl(self->vcpu->fd, MINIVMM_SET_CPUID, &c));
	EXPECT_EQ(ST_UD, guest_op(self->vcpu, 3, 0, 0, NULL));
	/* And back with the default CPUID, which shows RDTSCP here. */
	c.nent = 0;
	ASSERT_EQ(0, ioctl(self->vcpu->fd, MINIVMM_SET_CPUID, &c));
	if (!(guest_cpuid(self->vcpu, 0x80000001, EDX) & (1U << 27)))
		return;
	EXPECT_EQ(ST_OK, guest_op(self->vcpu, 3, 0, 0, NULL));
}

TEST_HARNESS_MAIN

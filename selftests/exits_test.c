// SPDX-License-Identifier: GPL-2.0
/*
 * The exits minivmm handles for a guest: CPUID, HLT, port I/O, VMCALL,
 * RDMSR/WRMSR, control and debug register accesses, INVD/WBINVD, XSETBV,
 * the VMX instructions, triple faults, failed VM entries (and how often
 * they reach the kernel log), and the exit counters of the run structure.
 *
 * Most guests run in long mode with the exception handlers of
 * test_install_exc_handlers(), so an exception the module injects is seen
 * by the test as a ucall naming the vector and the faulting RIP.
 */
#include <asm/processor-flags.h>
#include <cpuid.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "minivmm_test.h"

#define GP_VECTOR	13
#define UD_VECTOR	6

/* The ucall stage guests report once they are past the code under test. */
#define STAGE_AFTER	0x5a

/*
 * FAULT64(insn): run @insn expecting an exception. RSI is the address of
 * @insn, which the test compares with the RIP the handler reports; RDI is
 * where the handler resumes the guest (just past @insn).
 */
#define FAULT64(insn)							\
	"lea 8f(%rip), %rsi\n\t"					\
	"lea 9f(%rip), %rdi\n"						\
	"8:\n\t" insn "\n"						\
	"9:\n\t"

/* The same in real mode, for code loaded at REAL_CODE. */
#define FAULT16(code, insn)						\
	"mov $(0x7c00 + 8f - " #code "), %esi\n\t"			\
	"mov $(0x7c00 + 9f - " #code "), %edi\n"			\
	"8:\n\t" insn "\n"						\
	"9:\n\t"

/* Report RAX:RDX of an RDMSR as one 64-bit value in RBX. */
#define MSR_TO_RBX							\
	"shl $32, %rdx\n\t"						\
	"mov %eax, %ebx\n\t"						\
	"or %rdx, %rbx\n\t"

FIXTURE(exits) {
	struct test_vm *vm;
	struct test_vcpu *vcpu;
};

FIXTURE_SETUP(exits)
{
}

FIXTURE_TEARDOWN(exits)
{
	test_vcpu_destroy(self->vcpu);
	test_vm_destroy(self->vm);
}

/*
 * A VM in *@vm with one vCPU in *@vcpu running the code from @code to @end
 * in @mode, exception handlers in place.
 */
static void setup_guest(struct test_vm **vm, struct test_vcpu **vcpu,
			enum guest_mode mode, const unsigned char *code,
			const unsigned char *end)
{
	*vm = test_vm_create(GUEST_MEM_SIZE);
	*vcpu = test_vcpu_add(*vm, 0);
	test_install_exc_handlers(*vm, mode);
	test_vcpu_load(*vcpu, mode, code, end - code);
}

/* In a TEST_F() body: setup_guest() for the fixture, GUEST_CODE() @code. */
#define SETUP_GUEST(mode, code)						\
	setup_guest(&self->vm, &self->vcpu, mode, code, code##_end)

/*
 * Run to the report of the exception handlers: @vector with @err, raised
 * by the instruction at the guest's RSI (see FAULT64/FAULT16).
 */
static void expect_exception(struct test_vcpu *vcpu, int vector, uint64_t err)
{
	struct minivmm_regs regs;
	struct ucall uc;
	uint64_t nr = test_run_ucall(vcpu, &uc);

	TEST_REQUIRE(nr == UCALL_SYNC && uc.args[0] == EXC_SYNC(vector),
		     "ucall %lu with %#lx, wanted exception %d",
		     (unsigned long)nr, (unsigned long)uc.args[0], vector);
	TEST_REQUIRE(uc.args[1] == err, "error code %#lx, wanted %#lx",
		     (unsigned long)uc.args[1], (unsigned long)err);
	test_get_regs(vcpu, &regs);
	TEST_REQUIRE(uc.args[2] == regs.rsi,
		     "exception at RIP %#lx, wanted at %#lx",
		     (unsigned long)uc.args[2], (unsigned long)regs.rsi);
}

/* ---- CPUID ---------------------------------------------------------- */

/*
 * Loops on CPUID with EAX = R12, ECX = R13 (set by the test), reporting
 * EAX, EBX, ECX, EDX in R8-R11 with a ucall after each.
 */
GUEST_CODE(guest_cpuid, ".code64",
	   "1:\n\t"
	   "mov %r12d, %eax\n\t"
	   "mov %r13d, %ecx\n\t"
	   "cpuid\n\t"
	   "mov %eax, %r8d\n\t"
	   "mov %ebx, %r9d\n\t"
	   "mov %ecx, %r10d\n\t"
	   "mov %edx, %r11d\n\t"
	   GUEST_SYNC_ASM(0x5a)
	   "jmp 1b\n\t");

/* What the guest's CPUID returns for @leaf/@subleaf: EAX, EBX, ECX, EDX. */
static void query_cpuid(struct test_vcpu *vcpu, uint32_t leaf,
			uint32_t subleaf, uint32_t r[4])
{
	struct minivmm_regs regs;

	test_get_regs(vcpu, &regs);
	regs.r12 = leaf;
	regs.r13 = subleaf;
	/* Poison the outputs: they must all come from the CPUID. */
	regs.r8 = 0xdeadbeefdeadbeefULL;
	regs.r9 = regs.r8;
	regs.r10 = regs.r8;
	regs.r11 = regs.r8;
	test_set_regs(vcpu, &regs);
	test_expect_sync(vcpu, STAGE_AFTER);
	test_get_regs(vcpu, &regs);
	r[0] = regs.r8;
	r[1] = regs.r9;
	r[2] = regs.r10;
	r[3] = regs.r11;
	/* 32-bit moves: the upper halves are clear if CPUID ran. */
	TEST_REQUIRE(!((regs.r8 | regs.r9 | regs.r10 | regs.r11) >> 32),
		     "CPUID outputs not written");
}

TEST_F(exits, cpuid_default_leaf1_hypervisor_set_vmx_clear)
{
	unsigned int a, b, c, d;
	uint32_t r[4];

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_cpuid);
	query_cpuid(self->vcpu, 1, 0, r);
	EXPECT_EQ(1U << 31, r[2] & (1U << 31));	/* hypervisor */
	EXPECT_EQ(0, r[2] & (1U << 5));		/* VMX */
	/* The rest of the signature is the host's. */
	__cpuid(1, a, b, c, d);
	EXPECT_EQ(a, r[0]);
	/* The host has VMX, so hiding it means something. */
	EXPECT_EQ(1U << 5, c & (1U << 5));
}

TEST_F(exits, cpuid_default_signature_leaf)
{
	uint32_t r[4];
	char sig[13] = { 0 };

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_cpuid);
	query_cpuid(self->vcpu, 0x40000000, 0, r);
	/* The highest hypervisor leaf: 0x40000010, the frequencies. */
	EXPECT_EQ(0x40000010, r[0]);
	memcpy(sig, &r[1], 12);
	EXPECT_STREQ("minivmm     ", sig);
}

TEST_F(exits, cpuid_default_leaf1_apic_id_is_vcpu_id)
{
	struct test_vcpu *other;
	uint32_t r[4];

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_cpuid);
	query_cpuid(self->vcpu, 1, 0, r);
	EXPECT_EQ(0, r[1] >> 24);

	/* A second vCPU of the same VM, id 7, running the same code. */
	other = test_vcpu_add(self->vm, 7);
	test_vcpu_setup(other, MODE_LONG, GUEST_CODE_ADDR);
	query_cpuid(other, 1, 0, r);
	EXPECT_EQ(7, r[1] >> 24);
	test_vcpu_destroy(other);
}

/*
 * The host leaves the module reads once at load are the host's, each at
 * its own place: the vendor, the extended leaves, and a subleaf of leaf
 * 7 other than the one cached.
 */
TEST_F(exits, cpuid_default_cached_host_leaves)
{
	unsigned int a, b, c, d;
	uint32_t r[4];

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_cpuid);
	query_cpuid(self->vcpu, 0, 0, r);
	__cpuid(0, a, b, c, d);
	EXPECT_EQ(a > 0x16 ? a : 0x16, r[0]);
	EXPECT_EQ(b, r[1]);
	EXPECT_EQ(c, r[2]);
	EXPECT_EQ(d, r[3]);
	if (a >= 7) {
		__cpuid_count(7, 1, a, b, c, d);
		query_cpuid(self->vcpu, 7, 1, r);
		EXPECT_EQ(a, r[0]);
		EXPECT_EQ(0, r[1]);
	}
	__cpuid(0x80000000, a, b, c, d);
	query_cpuid(self->vcpu, 0x80000000, 0, r);
	EXPECT_EQ(a, r[0]);
	if (a >= 0x80000008) {
		__cpuid(0x80000008, a, b, c, d);
		query_cpuid(self->vcpu, 0x80000008, 0, r);
		EXPECT_EQ(a, r[0]);
		EXPECT_EQ(0, r[1]);
	}
}

TEST_F(exits, cpuid_default_leaf_d_x87_sse_only)
{
	uint32_t r[4];

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_cpuid);
	query_cpuid(self->vcpu, 0xd, 0, r);
	EXPECT_EQ(3, r[0]);
	EXPECT_EQ(0, r[3]);
}

/*
 * The topology one vCPU sees in a VM of @n vCPUs (ids 0..n-1): one
 * package of @n cores of one thread, the x2APIC ID its @id, the core ID
 * @bits wide. Leaf 0xB and, where the basic leaves reach it, leaf 0x1F:
 * the SMT level, the core level, then the invalid level (type 0); leaf
 * 1's initial APIC ID, the 2^@bits IDs of the package and HTT with more
 * than one; the cores of leaf 4, if it has a cache.
 */
static void expect_topology(struct __test_metadata *_metadata,
			    struct test_vcpu *vcpu, uint32_t id, uint32_t n,
			    uint32_t bits)
{
	uint32_t leaf, max, r[4];

	query_cpuid(vcpu, 0, 0, r);
	max = r[0];
	for (leaf = 0xb; leaf <= 0x1f; leaf += 0x1f - 0xb) {
		if (leaf > max)
			break;
		query_cpuid(vcpu, leaf, 0, r);
		EXPECT_EQ(0, r[0]);		/* no bits for the thread */
		EXPECT_EQ(1, r[1] & 0xffff);	/* one thread per core */
		EXPECT_EQ(0x100, r[2]);		/* level 0, type SMT */
		EXPECT_EQ(id, r[3]);
		query_cpuid(vcpu, leaf, 1, r);
		EXPECT_EQ(bits, r[0] & 0x1f);
		EXPECT_EQ(n, r[1] & 0xffff);
		EXPECT_EQ(0x201, r[2]);		/* level 1, type core */
		EXPECT_EQ(id, r[3]);
		query_cpuid(vcpu, leaf, 2, r);
		EXPECT_EQ(0, r[0]);
		EXPECT_EQ(0, r[1]);
		EXPECT_EQ(2, r[2]);		/* level 2, type 0: the end */
		EXPECT_EQ(id, r[3]);
	}
	query_cpuid(vcpu, 1, 0, r);
	EXPECT_EQ(id, r[1] >> 24);
	EXPECT_EQ(1U << bits, (r[1] >> 16) & 0xff);
	EXPECT_EQ(bits ? 1U << 28 : 0, r[3] & (1U << 28));	/* HTT */
	query_cpuid(vcpu, 4, 0, r);
	if (r[0] & 0x1f)
		EXPECT_EQ((1U << bits) - 1, r[0] >> 26);
}

TEST_F(exits, cpuid_default_topology_one_vcpu)
{
	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_cpuid);
	expect_topology(_metadata, self->vcpu, 0, 1, 0);
}

/* Three vCPUs: three cores, the core ID 2 bits wide, each its own ID. */
TEST_F(exits, cpuid_default_topology_three_vcpus)
{
	struct test_vcpu *other[2];
	int i;

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_cpuid);
	for (i = 0; i < 2; i++) {
		other[i] = test_vcpu_add(self->vm, i + 1);
		test_vcpu_setup(other[i], MODE_LONG, GUEST_CODE_ADDR);
	}
	expect_topology(_metadata, self->vcpu, 0, 3, 2);
	for (i = 0; i < 2; i++)
		expect_topology(_metadata, other[i], i + 1, 3, 2);
	for (i = 0; i < 2; i++)
		test_vcpu_destroy(other[i]);
}

static const struct minivmm_cpuid_entry cpuid_table[] = {
	{ .function = 0, .eax = 0xd, .ebx = 0x11111111, .ecx = 0x22222222,
	  .edx = 0x33333333 },
	{ .function = 7, .index = 0, .flags = MINIVMM_CPUID_INDEXED,
	  .eax = 1, .ebx = 0x70, .ecx = 0x71, .edx = 0x72 },
	{ .function = 7, .index = 1, .flags = MINIVMM_CPUID_INDEXED,
	  .eax = 0x7100, .ebx = 0x7101, .ecx = 0x7102, .edx = 0x7103 },
	{ .function = 0x80000000, .eax = 0x80000008, .ebx = 0xa, .ecx = 0xb,
	  .edx = 0xc },
};

static void set_cpuid_table(struct test_vcpu *vcpu)
{
	struct minivmm_cpuid c = {
		.nent = ARRAY_SIZE(cpuid_table),
		.entries = (uintptr_t)cpuid_table,
	};

	TEST_REQUIRE(!ioctl(vcpu->fd, MINIVMM_SET_CPUID, &c),
		     "MINIVMM_SET_CPUID: %s", strerror(errno));
}

TEST_F(exits, cpuid_table_exact_values)
{
	uint32_t r[4];

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_cpuid);
	set_cpuid_table(self->vcpu);
	query_cpuid(self->vcpu, 0, 0, r);
	EXPECT_EQ(0xd, r[0]);
	EXPECT_EQ(0x11111111, r[1]);
	EXPECT_EQ(0x22222222, r[2]);
	EXPECT_EQ(0x33333333, r[3]);
	/* Not indexed: ECX does not matter. */
	query_cpuid(self->vcpu, 0x80000000, 9, r);
	EXPECT_EQ(0x80000008, r[0]);
	EXPECT_EQ(0xa, r[1]);
	EXPECT_EQ(0xb, r[2]);
	EXPECT_EQ(0xc, r[3]);
}

TEST_F(exits, cpuid_table_indexed_subleaf)
{
	uint32_t r[4];

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_cpuid);
	set_cpuid_table(self->vcpu);
	query_cpuid(self->vcpu, 7, 1, r);
	EXPECT_EQ(0x7100, r[0]);
	EXPECT_EQ(0x7101, r[1]);
	EXPECT_EQ(0x7102, r[2]);
	EXPECT_EQ(0x7103, r[3]);
	query_cpuid(self->vcpu, 7, 0, r);
	EXPECT_EQ(1, r[0]);
	EXPECT_EQ(0x70, r[1]);
	EXPECT_EQ(0x71, r[2]);
	EXPECT_EQ(0x72, r[3]);
	/* A subleaf without an entry. */
	query_cpuid(self->vcpu, 7, 2, r);
	EXPECT_EQ(0, r[0] | r[1] | r[2] | r[3]);
}

TEST_F(exits, cpuid_table_absent_leaf_reads_zero)
{
	uint32_t r[4];

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_cpuid);
	set_cpuid_table(self->vcpu);
	query_cpuid(self->vcpu, 1, 0, r);
	EXPECT_EQ(0, r[0] | r[1] | r[2] | r[3]);
	/* Not even the signature leaf is added to a table. */
	query_cpuid(self->vcpu, 0x40000000, 0, r);
	EXPECT_EQ(0, r[0] | r[1] | r[2] | r[3]);
	query_cpuid(self->vcpu, 0x80000001, 0, r);
	EXPECT_EQ(0, r[0] | r[1] | r[2] | r[3]);
}

/* ---- HLT ------------------------------------------------------------ */

GUEST_CODE(guest_hlt, ".code64",
	   "nop\n\t"
	   "hlt\n\t"
	   GUEST_LABEL(guest_hlt_after)
	   GUEST_SYNC_ASM(0x5a)
	   "hlt\n\t");
extern const unsigned char guest_hlt_after[];

TEST_F(exits, hlt_exits_with_rip_past_hlt)
{
	uint64_t after = GUEST_LONG_ADDR(guest_hlt, guest_hlt_after);
	struct minivmm_regs regs;
	struct minivmm_run *run;

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_hlt);
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_HLT);
	EXPECT_EQ(after, run->rip);
	test_get_regs(self->vcpu, &regs);
	EXPECT_EQ(after, regs.rip);
	/* Running again continues after the HLT. */
	test_expect_sync(self->vcpu, STAGE_AFTER);
}

/* ---- port I/O ------------------------------------------------------- */

GUEST_CODE(guest_out8, ".code64",
	   "mov $0x12345678, %eax\n\t"
	   "out %al, $0x80\n\t"
	   GUEST_LABEL(guest_out8_after)
	   GUEST_SYNC_ASM(0x5a));
GUEST_CODE(guest_out16, ".code64",
	   "mov $0x12345678, %eax\n\t"
	   "out %ax, $0x81\n\t"
	   GUEST_LABEL(guest_out16_after)
	   GUEST_SYNC_ASM(0x5a));
GUEST_CODE(guest_out32, ".code64",
	   "mov $0x12345678, %eax\n\t"
	   "out %eax, $0x82\n\t"
	   GUEST_LABEL(guest_out32_after)
	   GUEST_SYNC_ASM(0x5a));
GUEST_CODE(guest_out_dx, ".code64",
	   "mov $0x12345678, %eax\n\t"
	   "mov $0x3f8, %edx\n\t"
	   "out %al, %dx\n\t"
	   GUEST_LABEL(guest_out_dx_after)
	   GUEST_SYNC_ASM(0x5a));
extern const unsigned char guest_out8_after[], guest_out16_after[],
	guest_out32_after[], guest_out_dx_after[];

/* Run to an I/O exit and check what it reports. */
static struct minivmm_run *expect_io(struct test_vcpu *vcpu, uint16_t port,
				     uint8_t size, uint8_t dir, uint64_t rip)
{
	struct minivmm_run *run = test_run_expect(vcpu, MINIVMM_EXIT_IO);

	TEST_REQUIRE(run->io.port == port, "port %#x, wanted %#x",
		     run->io.port, port);
	TEST_REQUIRE(run->io.size == size, "size %u, wanted %u",
		     run->io.size, size);
	TEST_REQUIRE(run->io.direction == dir, "direction %u, wanted %u",
		     run->io.direction, dir);
	TEST_REQUIRE(run->io.count == 1, "count %u", run->io.count);
	TEST_REQUIRE(run->rip == rip, "rip %#llx, wanted %#lx",
		     (unsigned long long)run->rip, (unsigned long)rip);
	return run;
}

TEST_F(exits, out_byte)
{
	struct minivmm_run *run;

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_out8);
	run = expect_io(self->vcpu, 0x80, 1, MINIVMM_IO_OUT,
			GUEST_LONG_ADDR(guest_out8, guest_out8_after));
	EXPECT_EQ(0x78, run->io.data);
	test_expect_sync(self->vcpu, STAGE_AFTER);
}

TEST_F(exits, out_word)
{
	struct minivmm_run *run;

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_out16);
	run = expect_io(self->vcpu, 0x81, 2, MINIVMM_IO_OUT,
			GUEST_LONG_ADDR(guest_out16, guest_out16_after));
	EXPECT_EQ(0x5678, run->io.data);
	test_expect_sync(self->vcpu, STAGE_AFTER);
}

TEST_F(exits, out_dword)
{
	struct minivmm_run *run;

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_out32);
	run = expect_io(self->vcpu, 0x82, 4, MINIVMM_IO_OUT,
			GUEST_LONG_ADDR(guest_out32, guest_out32_after));
	EXPECT_EQ(0x12345678, run->io.data);
	test_expect_sync(self->vcpu, STAGE_AFTER);
}

TEST_F(exits, out_port_in_dx)
{
	struct minivmm_run *run;

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_out_dx);
	run = expect_io(self->vcpu, 0x3f8, 1, MINIVMM_IO_OUT,
			GUEST_LONG_ADDR(guest_out_dx, guest_out_dx_after));
	EXPECT_EQ(0x78, run->io.data);
	test_expect_sync(self->vcpu, STAGE_AFTER);
}

/* IN into a RAX full of a pattern; RBX reports RAX afterwards. */
#define GUEST_IN(name, insn)						\
	GUEST_CODE(name, ".code64",					\
		   "movabs $0x1122334455667788, %rax\n\t"		\
		   "mov $0x1234, %edx\n\t"				\
		   insn "\n\t"						\
		   GUEST_LABEL(name##_after)				\
		   "mov %rax, %rbx\n\t"					\
		   UCALL_ASM(1));					\
	extern const unsigned char name##_after[]

GUEST_IN(guest_in8, "in $0x60, %al");
GUEST_IN(guest_in16, "in $0x61, %ax");
GUEST_IN(guest_in32, "in $0x62, %eax");
GUEST_IN(guest_in_dx, "in %dx, %ax");

/* The data the test answers every IN with: more bits than any size. */
#define IN_DATA		0xabcdefa5U

static uint64_t run_in(struct test_vcpu *vcpu, uint16_t port, uint8_t size,
		       uint64_t rip)
{
	struct minivmm_run *run = expect_io(vcpu, port, size, MINIVMM_IO_IN,
					    rip);
	struct ucall uc;

	run->io.data = IN_DATA;
	TEST_REQUIRE(test_run_ucall(vcpu, &uc) == UCALL_SYNC, "no ucall");
	return uc.args[0];
}

TEST_F(exits, in_byte_keeps_upper_bits)
{
	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_in8);
	EXPECT_EQ(0x11223344556677a5ULL,
		  run_in(self->vcpu, 0x60, 1,
			 GUEST_LONG_ADDR(guest_in8, guest_in8_after)));
}

TEST_F(exits, in_word_keeps_upper_bits)
{
	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_in16);
	EXPECT_EQ(0x112233445566efa5ULL,
		  run_in(self->vcpu, 0x61, 2,
			 GUEST_LONG_ADDR(guest_in16, guest_in16_after)));
}

TEST_F(exits, in_dword_zero_extends)
{
	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_in32);
	EXPECT_EQ(0xabcdefa5ULL,
		  run_in(self->vcpu, 0x62, 4,
			 GUEST_LONG_ADDR(guest_in32, guest_in32_after)));
}

TEST_F(exits, in_port_in_dx)
{
	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_in_dx);
	EXPECT_EQ(0x112233445566efa5ULL,
		  run_in(self->vcpu, 0x1234, 2,
			 GUEST_LONG_ADDR(guest_in_dx, guest_in_dx_after)));
}

/* String I/O whose memory operand is not RAM (emulate_test covers RAM). */
GUEST_CODE(guest_rep_outsb, ".code64",
	   "mov $0x10000000, %esi\n\t"
	   "mov $4, %ecx\n\t"
	   "mov $0x80, %edx\n\t"
	   "rep outsb\n\t"
	   GUEST_SYNC_ASM(0x5a));

GUEST_CODE(guest_insb, ".code64",
	   "mov $0x10000000, %edi\n\t"
	   "mov $0x81, %edx\n\t"
	   "insb\n\t"
	   GUEST_SYNC_ASM(0x5a));

static void expect_unsupported_io(struct test_vcpu *vcpu, uint16_t port)
{
	struct minivmm_run *run;

	run = test_run_expect(vcpu, MINIVMM_EXIT_INTERNAL_ERROR);
	TEST_REQUIRE(run->internal.suberror == MINIVMM_INTERNAL_UNSUPPORTED_IO,
		     "suberror %u", run->internal.suberror);
	TEST_REQUIRE(run->internal.data[0] == port, "data[0] %#llx, wanted %#x",
		     (unsigned long long)run->internal.data[0], port);
}

TEST_F(exits, rep_outsb_from_mmio_is_unsupported_io)
{
	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_rep_outsb);
	expect_unsupported_io(self->vcpu, 0x80);
}

TEST_F(exits, insb_to_mmio_is_unsupported_io)
{
	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_insb);
	expect_unsupported_io(self->vcpu, 0x81);
}

/* ---- VMCALL --------------------------------------------------------- */

/*
 * VMCALL with RAX = R8 and arguments RBX, RCX, RDX, RSI = R9-R12; the
 * ucall after it reports RAX in RBX and the arguments in R9-R12 and
 * RCX/RDX.
 */
GUEST_CODE(guest_vmcall, ".code64",
	   "mov %r8, %rax\n\t"
	   "mov %r9, %rbx\n\t"
	   "mov %r10, %rcx\n\t"
	   "mov %r11, %rdx\n\t"
	   "mov %r12, %rsi\n\t"
	   "vmcall\n\t"
	   GUEST_LABEL(guest_vmcall_after)
	   "mov %rbx, %r9\n\t"
	   "mov %rsi, %r12\n\t"
	   "mov %rax, %rbx\n\t"
	   UCALL_ASM(1));
extern const unsigned char guest_vmcall_after[];

static const uint64_t hc_args[4] = {
	0x1111111111111111ULL, 0x2222222222222222ULL,
	0x3333333333333333ULL, 0x4444444444444444ULL,
};

static void setup_vmcall(struct test_vcpu *vcpu, uint64_t nr)
{
	struct minivmm_regs regs;

	test_get_regs(vcpu, &regs);
	regs.r8 = nr;
	regs.r9 = hc_args[0];
	regs.r10 = hc_args[1];
	regs.r11 = hc_args[2];
	regs.r12 = hc_args[3];
	test_set_regs(vcpu, &regs);
}

/* The ucall after the VMCALL: returns RAX, checks the arguments survived. */
static uint64_t vmcall_result(struct test_vcpu *vcpu)
{
	struct minivmm_regs regs;
	struct ucall uc;

	TEST_REQUIRE(test_run_ucall(vcpu, &uc) == UCALL_SYNC, "no ucall");
	test_get_regs(vcpu, &regs);
	TEST_REQUIRE(regs.r9 == hc_args[0] && uc.args[1] == hc_args[1] &&
		     uc.args[2] == hc_args[2] && regs.r12 == hc_args[3],
		     "hypercall argument registers changed");
	return uc.args[0];
}

TEST_F(exits, vmcall_nop_answered_in_kernel)
{
	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_vmcall);
	setup_vmcall(self->vcpu, MINIVMM_HC_NOP);
	/* No hypercall exit: the next exit is the ucall, with RAX = 0. */
	EXPECT_EQ(0, vmcall_result(self->vcpu));
	/* VMCALL did exit, into the kernel: 2 exits for one exit to us. */
	EXPECT_LE(2, self->vcpu->run->exits);
}

TEST_F(exits, vmcall_user_hypercall_exit)
{
	struct minivmm_run *run;

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_vmcall);
	setup_vmcall(self->vcpu, 0x1234);
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_HYPERCALL);
	EXPECT_EQ(0x1234, run->hypercall.nr);
	EXPECT_EQ(hc_args[0], run->hypercall.args[0]);
	EXPECT_EQ(hc_args[1], run->hypercall.args[1]);
	EXPECT_EQ(hc_args[2], run->hypercall.args[2]);
	EXPECT_EQ(hc_args[3], run->hypercall.args[3]);
	EXPECT_EQ(GUEST_LONG_ADDR(guest_vmcall, guest_vmcall_after), run->rip);
	run->hypercall.ret = 0xfeedfacecafebeefULL;
	EXPECT_EQ(0xfeedfacecafebeefULL, vmcall_result(self->vcpu));
}

TEST_F(exits, vmcall_user_base_exits)
{
	struct minivmm_run *run;

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_vmcall);
	setup_vmcall(self->vcpu, MINIVMM_HC_USER_BASE);
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_HYPERCALL);
	EXPECT_EQ(MINIVMM_HC_USER_BASE, run->hypercall.nr);
	run->hypercall.ret = 7;
	EXPECT_EQ(7, vmcall_result(self->vcpu));
}

TEST_F(exits, vmcall_low_number_enosys)
{
	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_vmcall);
	setup_vmcall(self->vcpu, 0x42);
	EXPECT_EQ((uint64_t)-38, vmcall_result(self->vcpu));
}

TEST_F(exits, vmcall_highest_kernel_number_enosys)
{
	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_vmcall);
	setup_vmcall(self->vcpu, MINIVMM_HC_USER_BASE - 1);
	EXPECT_EQ((uint64_t)-38, vmcall_result(self->vcpu));
}

/* ---- RDMSR / WRMSR -------------------------------------------------- */

/*
 * WRMSR of R8 to MSR ECX, then RDMSR of it: RBX reports the value read.
 * An exception ends the guest at the HLT with its own report first.
 */
GUEST_CODE(guest_msr_rw, ".code64",
	   "lea 2f(%rip), %rdi\n\t"
	   "mov %ecx, %r12d\n\t"
	   "mov %r8, %rax\n\t"
	   "mov %r8, %rdx\n\t"
	   "shr $32, %rdx\n\t"
	   "wrmsr\n\t"
	   "mov %r12d, %ecx\n\t"
	   "rdmsr\n\t"
	   MSR_TO_RBX
	   UCALL_ASM(1)
	   "2: hlt\n\t");

FIXTURE(msr) {
	struct test_vm *vm;
	struct test_vcpu *vcpu;
};

FIXTURE_VARIANT(msr) {
	uint32_t index;
	uint64_t value;
	uint64_t slack;		/* the value read back may be larger */
};

FIXTURE_SETUP(msr)
{
}

FIXTURE_TEARDOWN(msr)
{
	test_vcpu_destroy(self->vcpu);
	test_vm_destroy(self->vm);
}

/* Long mode keeps LME and LMA; SCE and NXE are the guest's to change. */
FIXTURE_VARIANT_ADD(msr, efer) {
	.index = 0xc0000080, .value = 0xd01,
};

FIXTURE_VARIANT_ADD(msr, pat) {
	.index = 0x277, .value = 0x0001050400070406ULL,
};

FIXTURE_VARIANT_ADD(msr, sysenter_cs) {
	.index = 0x174, .value = 0x10,
};

FIXTURE_VARIANT_ADD(msr, sysenter_esp) {
	.index = 0x175, .value = 0xffff800000001000ULL,
};

FIXTURE_VARIANT_ADD(msr, sysenter_eip) {
	.index = 0x176, .value = 0x00007fff00002000ULL,
};

FIXTURE_VARIANT_ADD(msr, star) {
	.index = 0xc0000081, .value = 0x0023001000000000ULL,
};

FIXTURE_VARIANT_ADD(msr, lstar) {
	.index = 0xc0000082, .value = 0xffffffff81000000ULL,
};

FIXTURE_VARIANT_ADD(msr, cstar) {
	.index = 0xc0000083, .value = 0xffffffff82000000ULL,
};

FIXTURE_VARIANT_ADD(msr, sfmask) {
	.index = 0xc0000084, .value = 0x47700,
};

FIXTURE_VARIANT_ADD(msr, fs_base) {
	.index = 0xc0000100, .value = 0x00007fff12340000ULL,
};

FIXTURE_VARIANT_ADD(msr, gs_base) {
	.index = 0xc0000101, .value = 0xffff880012345000ULL,
};

FIXTURE_VARIANT_ADD(msr, kernel_gs_base) {
	.index = 0xc0000102, .value = 0xffff888000000000ULL,
};

/* The TSC keeps counting between the WRMSR and the RDMSR. */
FIXTURE_VARIANT_ADD(msr, tsc) {
	.index = 0x10, .value = 0x0000100000000000ULL, .slack = 1ULL << 36,
};

TEST_F(msr, write_then_read_back)
{
	struct minivmm_regs regs;
	struct ucall uc;

	REQUIRE_VMX();
	self->vm = test_vm_create(GUEST_MEM_SIZE);
	self->vcpu = test_vcpu_add(self->vm, 0);
	test_install_exc_handlers(self->vm, MODE_LONG);
	test_vcpu_load(self->vcpu, MODE_LONG, guest_msr_rw,
		       GUEST_CODE_SIZE(guest_msr_rw));
	test_get_regs(self->vcpu, &regs);
	regs.rcx = variant->index;
	regs.r8 = variant->value;
	test_set_regs(self->vcpu, &regs);

	ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
	ASSERT_NE(EXC_SYNC(GP_VECTOR), uc.args[0]) {
		TH_LOG("MSR %#x: #GP at RIP %#lx", variant->index,
		       (unsigned long)uc.args[2]);
	}
	EXPECT_LE(variant->value, uc.args[0]);
	EXPECT_GE(variant->value + variant->slack, uc.args[0]);
}

/* A store through FS after WRMSR FS_BASE: the new base is in effect. */
GUEST_CODE(guest_fs_base, ".code64",
	   "mov $0xc0000100, %ecx\n\t"
	   "mov $0x8000, %eax\n\t"
	   "xor %edx, %edx\n\t"
	   "wrmsr\n\t"
	   "mov %fs:8, %rbx\n\t"
	   UCALL_ASM(1));

TEST_F(exits, wrmsr_fs_base_moves_fs)
{
	struct ucall uc;

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_fs_base);
	*(uint64_t *)(self->vm->mem + 0x8008) = 0x0123456789abcdefULL;
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
	EXPECT_EQ(0x0123456789abcdefULL, uc.args[0]);
}

/* RDMSR of ECX, expecting #GP. */
GUEST_CODE(guest_rdmsr_gp, ".code64",
	   FAULT64("rdmsr")
	   GUEST_DONE_ASM
	   "hlt\n\t");

/* WRMSR of R8 to ECX, expecting #GP. */
GUEST_CODE(guest_wrmsr_gp, ".code64",
	   "mov %r8, %rax\n\t"
	   "mov %r8, %rdx\n\t"
	   "shr $32, %rdx\n\t"
	   FAULT64("wrmsr")
	   GUEST_DONE_ASM
	   "hlt\n\t");

/*
 * An allowed MSR (ECX) written with an invalid value (R8): #GP, and the
 * MSR keeps its value. The ucall after the fault reports the value before
 * (RBX) and after (RCX).
 */
GUEST_CODE(guest_wrmsr_bad_value, ".code64",
	   "mov %ecx, %r12d\n\t"
	   "rdmsr\n\t"
	   MSR_TO_RBX
	   "mov %rbx, %r13\n\t"
	   "mov %r8, %rax\n\t"
	   "mov %r8, %rdx\n\t"
	   "shr $32, %rdx\n\t"
	   "mov %r12d, %ecx\n\t"
	   FAULT64("wrmsr")
	   "mov %r12d, %ecx\n\t"
	   "rdmsr\n\t"
	   MSR_TO_RBX
	   "mov %rbx, %rcx\n\t"
	   "mov %r13, %rbx\n\t"
	   UCALL_ASM(1)
	   "hlt\n\t");

static void run_msr_gp(struct test_vm **vm, struct test_vcpu **vcpu,
		       const unsigned char *code, const unsigned char *end,
		       uint32_t index, uint64_t value)
{
	struct minivmm_regs regs;

	setup_guest(vm, vcpu, MODE_LONG, code, end);
	test_get_regs(*vcpu, &regs);
	regs.rcx = index;
	regs.r8 = value;
	test_set_regs(*vcpu, &regs);
	expect_exception(*vcpu, GP_VECTOR, 0);
}

#define RUN_MSR_GP(code, index, value)					\
	run_msr_gp(&self->vm, &self->vcpu, code, code##_end, index, value)

/* Bit 9 of IA32_APIC_BASE is reserved (msr_test has the whole MSR). */
TEST_F(exits, wrmsr_apic_base_reserved_bit_gp)
{
	REQUIRE_VMX();
	RUN_MSR_GP(guest_wrmsr_gp, 0x1b, 0xfee00b00);
	test_expect_done(self->vcpu);
}

TEST_F(exits, rdmsr_feature_control_gp)
{
	REQUIRE_VMX();
	RUN_MSR_GP(guest_rdmsr_gp, 0x3a, 0);
	test_expect_done(self->vcpu);
}

TEST_F(exits, wrmsr_feature_control_gp)
{
	REQUIRE_VMX();
	RUN_MSR_GP(guest_wrmsr_gp, 0x3a, 5);
	test_expect_done(self->vcpu);
}

TEST_F(exits, wrmsr_invalid_pat_gp_keeps_pat)
{
	struct ucall uc;

	REQUIRE_VMX();
	/* Memory type 2 in PA0 is reserved. */
	RUN_MSR_GP(guest_wrmsr_bad_value, 0x277, 0x0007040600070402ULL);
	uc = test_expect_sync(self->vcpu, 0x0007040600070406ULL);
	EXPECT_EQ(uc.args[0], uc.args[1]);
}

TEST_F(exits, wrmsr_noncanonical_lstar_gp_keeps_lstar)
{
	struct ucall uc;

	REQUIRE_VMX();
	RUN_MSR_GP(guest_wrmsr_bad_value, 0xc0000082, 0x0000800000000000ULL);
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
	EXPECT_EQ(uc.args[0], uc.args[1]);
	EXPECT_NE(0x0000800000000000ULL, uc.args[1]);
}

/* Real mode: RDMSR of FEATURE_CONTROL (no VMX), #GP through IVT vector 13. */
GUEST_CODE(guest_rm_rdmsr_gp, ".code16",
	   "mov $0x3a, %ecx\n\t"
	   FAULT16(guest_rm_rdmsr_gp, "rdmsr")
	   GUEST_DONE_ASM
	   "hlt\n\t");

TEST_F(exits, real_mode_rdmsr_absent_msr_gp)
{
	REQUIRE_VMX();
	SETUP_GUEST(MODE_REAL, guest_rm_rdmsr_gp);
	/* Real mode pushes no error code. */
	expect_exception(self->vcpu, GP_VECTOR, 0);
	test_expect_done(self->vcpu);
}

/* ---- control registers ---------------------------------------------- */

/* CR0 with WP, AM, MP set and NE cleared: RBX reads back, RCX wrote. */
GUEST_CODE(guest_cr0_write, ".code64",
	   "mov %cr0, %rax\n\t"
	   "or $0x50002, %rax\n\t"
	   "and $~0x20, %rax\n\t"
	   "mov %rax, %rcx\n\t"
	   "mov %rax, %cr0\n\t"
	   "mov %cr0, %rbx\n\t"
	   UCALL_ASM(1));

TEST_F(exits, cr0_write_reads_back_exactly)
{
	struct minivmm_sregs sregs;
	struct ucall uc;

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_cr0_write);
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
	EXPECT_EQ(uc.args[1], uc.args[0]);
	EXPECT_EQ(X86_CR0_WP | X86_CR0_AM | X86_CR0_MP,
		  uc.args[0] & (X86_CR0_WP | X86_CR0_AM | X86_CR0_MP));
	/* NE is forced on in the real CR0, but not in the guest's view. */
	EXPECT_EQ(0, uc.args[0] & X86_CR0_NE);
	EXPECT_EQ(X86_CR0_PG | 1, uc.args[0] & (X86_CR0_PG | 1));
	test_get_sregs(self->vcpu, &sregs);
	EXPECT_EQ(uc.args[1], sregs.cr0);
}

/* CR4 with TSD, DE, PSE, MCE, PGE, PCE added: RBX reads, RCX wrote. */
GUEST_CODE(guest_cr4_write, ".code64",
	   "mov %cr4, %r8\n\t"
	   "mov %r8, %rax\n\t"
	   "or $0x1dc, %rax\n\t"
	   "mov %rax, %rcx\n\t"
	   "mov %rax, %cr4\n\t"
	   "mov %cr4, %rbx\n\t"
	   UCALL_ASM(1));

TEST_F(exits, cr4_write_reads_back_exactly)
{
	struct minivmm_regs regs;
	struct minivmm_sregs sregs;
	struct ucall uc;

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_cr4_write);
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
	test_get_regs(self->vcpu, &regs);
	/* The guest never sees the VMXE that VMX operation needs. */
	EXPECT_EQ(0, regs.r8 & X86_CR4_VMXE);
	EXPECT_EQ(uc.args[1], uc.args[0]);
	EXPECT_EQ(0x1dc, uc.args[0] & 0x1dc);
	test_get_sregs(self->vcpu, &sregs);
	EXPECT_EQ(uc.args[1], sregs.cr4);
}

/* Set a bit (R9) of CR(R8 = 0 or 4) expecting #GP; report CR before/after. */
GUEST_CODE(guest_cr_bad_bit, ".code64",
	   "cmp $4, %r8\n\t"
	   "je 4f\n\t"
	   "mov %cr0, %r12\n\t"
	   "mov %r12, %rax\n\t"
	   "xor %r9, %rax\n\t"
	   FAULT64("mov %rax, %cr0")
	   "mov %cr0, %rcx\n\t"
	   "jmp 5f\n"
	   "4:\n\t"
	   "mov %cr4, %r12\n\t"
	   "mov %r12, %rax\n\t"
	   "xor %r9, %rax\n\t"
	   FAULT64("mov %rax, %cr4")
	   "mov %cr4, %rcx\n"
	   "5:\n\t"
	   "mov %r12, %rbx\n\t"
	   UCALL_ASM(1)
	   "hlt\n\t");

/* Flip the @flip bits of CR@cr: #GP, and the register is unchanged. */
static void run_cr_gp(struct __test_metadata *_metadata,
		      struct test_vm **vm, struct test_vcpu **vcpu, int cr,
		      uint64_t flip)
{
	struct minivmm_regs regs;
	struct ucall uc;

	setup_guest(vm, vcpu, MODE_LONG, guest_cr_bad_bit,
		    guest_cr_bad_bit_end);
	test_get_regs(*vcpu, &regs);
	regs.r8 = cr;
	regs.r9 = flip;
	test_set_regs(*vcpu, &regs);
	expect_exception(*vcpu, GP_VECTOR, 0);
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(*vcpu, &uc));
	EXPECT_EQ(uc.args[0], uc.args[1]);
}

TEST_F(exits, cr4_vmxe_gp)
{
	REQUIRE_VMX();
	run_cr_gp(_metadata, &self->vm, &self->vcpu, 4, X86_CR4_VMXE);
}

TEST_F(exits, cr4_smxe_gp)
{
	REQUIRE_VMX();
	run_cr_gp(_metadata, &self->vm, &self->vcpu, 4, 1ULL << 14);
}

TEST_F(exits, cr4_clear_pae_in_long_mode_gp)
{
	REQUIRE_VMX();
	run_cr_gp(_metadata, &self->vm, &self->vcpu, 4, 1ULL << 5);
}

TEST_F(exits, cr0_nw_without_cd_gp)
{
	REQUIRE_VMX();
	/* The guest's CR0 has CD clear: setting NW alone is invalid. */
	run_cr_gp(_metadata, &self->vm, &self->vcpu, 0, 1ULL << 29);
}

TEST_F(exits, cr0_pg_without_pe_gp)
{
	REQUIRE_VMX();
	run_cr_gp(_metadata, &self->vm, &self->vcpu, 0, 1);
}

TEST_F(exits, cr0_upper_half_gp)
{
	REQUIRE_VMX();
	run_cr_gp(_metadata, &self->vm, &self->vcpu, 0, 1ULL << 32);
}

/* TS set by MOV (RBX reads it), cleared by CLTS (RCX reads it). */
GUEST_CODE(guest_clts, ".code64",
	   "mov %cr0, %rax\n\t"
	   "or $8, %rax\n\t"
	   "mov %rax, %cr0\n\t"
	   "mov %cr0, %rbx\n\t"
	   "clts\n\t"
	   "mov %cr0, %rcx\n\t"
	   UCALL_ASM(1));

TEST_F(exits, clts_clears_ts)
{
	struct ucall uc;

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_clts);
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
	EXPECT_EQ(X86_CR0_TS, uc.args[0] & X86_CR0_TS);
	EXPECT_EQ(uc.args[0] & ~X86_CR0_TS, uc.args[1]);
}

/*
 * LMSW 0xe (MP, EM, TS; PE clear): RBX reads CR0. LMSW 0: RCX reads CR0.
 * RDX is CR0 before.
 */
GUEST_CODE(guest_lmsw, ".code64",
	   "mov %cr0, %r8\n\t"
	   "mov $0xe, %eax\n\t"
	   "lmsw %ax\n\t"
	   "mov %cr0, %rbx\n\t"
	   "xor %eax, %eax\n\t"
	   "lmsw %ax\n\t"
	   "mov %cr0, %rcx\n\t"
	   "mov %r8, %rdx\n\t"
	   UCALL_ASM(1));

TEST_F(exits, lmsw_sets_low_bits_but_never_clears_pe)
{
	struct ucall uc;

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_lmsw);
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
	EXPECT_EQ(uc.args[2] | 0xf, uc.args[0]);
	EXPECT_EQ((uc.args[2] & ~0xfULL) | 1, uc.args[1]);
}

/* CR8 written 7, 15, 0 and read back each time into RBX, RCX, RDX. */
GUEST_CODE(guest_cr8, ".code64",
	   "mov $7, %eax\n\t"
	   "mov %rax, %cr8\n\t"
	   "mov %cr8, %r8\n\t"
	   "mov $15, %eax\n\t"
	   "mov %rax, %cr8\n\t"
	   "mov %cr8, %r9\n\t"
	   "xor %eax, %eax\n\t"
	   "mov %rax, %cr8\n\t"
	   "mov %cr8, %rdx\n\t"
	   "mov %r8, %rbx\n\t"
	   "mov %r9, %rcx\n\t"
	   UCALL_ASM(1));

TEST_F(exits, cr8_write_reads_back)
{
	struct ucall uc;

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_cr8);
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
	EXPECT_EQ(7, uc.args[0]);
	EXPECT_EQ(15, uc.args[1]);
	EXPECT_EQ(0, uc.args[2]);
}

/* CR8 = 3, then 16 (#GP); RBX reads CR8 after. */
GUEST_CODE(guest_cr8_gp, ".code64",
	   "mov $3, %eax\n\t"
	   "mov %rax, %cr8\n\t"
	   "mov $16, %eax\n\t"
	   FAULT64("mov %rax, %cr8")
	   "mov %cr8, %rbx\n\t"
	   "xor %eax, %eax\n\t"
	   "mov %rax, %cr8\n\t"
	   UCALL_ASM(1));

TEST_F(exits, cr8_above_15_gp)
{
	struct ucall uc;

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_cr8_gp);
	expect_exception(self->vcpu, GP_VECTOR, 0);
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
	EXPECT_EQ(3, uc.args[0]);
}

/* 64 CR8 writes between two ucalls. */
/* CR8 = 15, then a report per stage, then CR8 read back. */
GUEST_CODE(guest_cr8_high, ".code64",
	   "mov $15, %eax\n\t"
	   "mov %rax, %cr8\n\t"
	   "xor %ebx, %ebx\n"
	   "1:\n\t"
	   "inc %ebx\n\t"
	   UCALL_ASM(1)
	   "cmp $5, %ebx\n\t"
	   "jb 1b\n\t"
	   "mov %cr8, %rbx\n\t"
	   "xor %eax, %eax\n\t"
	   "mov %rax, %cr8\n\t"
	   UCALL_ASM(1));

/*
 * The guest's CR8 is its own (a TPR shadow, or emulated): a guest that
 * raises it to 15 must not raise the host's task priority, which would
 * block the host's timer interrupt (vector 0xec) and with it the sleeps
 * the test does between the guest's reports.
 */
TEST_F(exits, cr8_does_not_reach_host_tpr)
{
	int i;

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_cr8_high);
	for (i = 1; i <= 5; i++) {
		test_expect_sync(self->vcpu, i);
		usleep(20000);
	}
	test_expect_sync(self->vcpu, 15);
}

/* ---- debug registers ------------------------------------------------ */

/* DR0-3, DR6, DR7 written from R8-R13, read back into R8-R13. */
GUEST_CODE(guest_dr, ".code64",
	   "mov %r8, %dr0\n\t"
	   "mov %r9, %dr1\n\t"
	   "mov %r10, %dr2\n\t"
	   "mov %r11, %dr3\n\t"
	   "mov %r12, %dr6\n\t"
	   "mov %r13, %dr7\n\t"
	   "xor %r8, %r8\n\t"
	   "xor %r9, %r9\n\t"
	   "xor %r10, %r10\n\t"
	   "xor %r11, %r11\n\t"
	   "xor %r12, %r12\n\t"
	   "xor %r13, %r13\n\t"
	   "mov %dr0, %r8\n\t"
	   "mov %dr1, %r9\n\t"
	   "mov %dr2, %r10\n\t"
	   "mov %dr3, %r11\n\t"
	   "mov %dr6, %r12\n\t"
	   "mov %dr7, %r13\n\t"
	   GUEST_SYNC_ASM(0x5a));

TEST_F(exits, mov_dr_reads_back)
{
	static const uint64_t val[6] = {
		0xffff800000001000ULL, 0x2000, 0x00007fff00003000ULL, 0x4000,
		0xffff0ff1, 0x455,
	};
	struct minivmm_regs regs;

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_dr);
	test_get_regs(self->vcpu, &regs);
	regs.r8 = val[0];
	regs.r9 = val[1];
	regs.r10 = val[2];
	regs.r11 = val[3];
	regs.r12 = val[4];
	regs.r13 = val[5];
	test_set_regs(self->vcpu, &regs);
	test_expect_sync(self->vcpu, STAGE_AFTER);
	test_get_regs(self->vcpu, &regs);
	EXPECT_EQ(val[0], regs.r8);
	EXPECT_EQ(val[1], regs.r9);
	EXPECT_EQ(val[2], regs.r10);
	EXPECT_EQ(val[3], regs.r11);
	EXPECT_EQ(val[4], regs.r12);
	EXPECT_EQ(val[5], regs.r13);
}

/* DR4 and DR5 (CR4.DE clear) written, DR6 and DR7 read into RBX, RCX. */
GUEST_CODE(guest_dr45, ".code64",
	   "mov $0xffff0ff2, %eax\n\t"
	   "mov %rax, %dr4\n\t"
	   "mov $0x411, %eax\n\t"
	   "mov %rax, %dr5\n\t"
	   "mov %dr6, %rbx\n\t"
	   "mov %dr7, %rcx\n\t"
	   "mov $0x401, %eax\n\t"
	   "mov %rax, %dr7\n\t"
	   "mov %dr5, %rdx\n\t"
	   UCALL_ASM(1));

TEST_F(exits, dr4_dr5_alias_dr6_dr7)
{
	struct ucall uc;

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_dr45);
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
	EXPECT_EQ(0xffff0ff2, uc.args[0]);
	EXPECT_EQ(0x411, uc.args[1]);
	EXPECT_EQ(0x401, uc.args[2]);
}

GUEST_CODE(guest_dr4_de, ".code64",
	   "mov %cr4, %rax\n\t"
	   "or $8, %rax\n\t"
	   "mov %rax, %cr4\n\t"
	   FAULT64("mov %dr4, %rax")
	   GUEST_DONE_ASM);

TEST_F(exits, dr4_with_cr4_de_ud)
{
	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_dr4_de);
	expect_exception(self->vcpu, UD_VECTOR, 0);
	test_expect_done(self->vcpu);
}

/* ---- INVD, WBINVD --------------------------------------------------- */

GUEST_CODE(guest_invd_wbinvd, ".code64",
	   "movq $0x1234, 0x8000\n\t"
	   GUEST_SYNC_ASM(1)
	   "invd\n\t"
	   "wbinvd\n\t"
	   "mov 0x8000, %rcx\n\t"
	   GUEST_SYNC_ASM(2));

TEST_F(exits, invd_wbinvd_skipped)
{
	struct ucall uc;
	uint64_t exits;

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_invd_wbinvd);
	test_expect_sync(self->vcpu, 1);
	exits = self->vcpu->run->exits;
	uc = test_expect_sync(self->vcpu, 2);
	/* INVD always exits; the module stepped over it. */
	EXPECT_LE(exits + 2, self->vcpu->run->exits);
	/* Nothing written before was thrown away. */
	EXPECT_EQ(0x1234, uc.args[1]);
}

/* ---- XSETBV --------------------------------------------------------- */

/*
 * With CR4.OSXSAVE set: XSETBV of XCR(R9) = R8; RBX reports XCR0 after
 * (read with XGETBV).
 */
GUEST_CODE(guest_xsetbv, ".code64",
	   "mov %cr4, %rax\n\t"
	   "bts $18, %rax\n\t"
	   "mov %rax, %cr4\n\t"
	   "mov %r8, %rax\n\t"
	   "mov %r8, %rdx\n\t"
	   "shr $32, %rdx\n\t"
	   "mov %r9d, %ecx\n\t"
	   FAULT64("xsetbv")
	   "xor %ecx, %ecx\n\t"
	   "xgetbv\n\t"
	   MSR_TO_RBX
	   UCALL_ASM(1));

FIXTURE(xsetbv) {
	struct test_vm *vm;
	struct test_vcpu *vcpu;
};

FIXTURE_VARIANT(xsetbv) {
	uint32_t index;
	uint64_t value;
	bool gp;
};

FIXTURE_SETUP(xsetbv)
{
}

FIXTURE_TEARDOWN(xsetbv)
{
	test_vcpu_destroy(self->vcpu);
	test_vm_destroy(self->vm);
}

FIXTURE_VARIANT_ADD(xsetbv, x87_sse_accepted) {
	.value = 3,
};

FIXTURE_VARIANT_ADD(xsetbv, x87_only_accepted) {
	.value = 1,
};

FIXTURE_VARIANT_ADD(xsetbv, avx_gp) {
	.value = 7, .gp = true,
};

FIXTURE_VARIANT_ADD(xsetbv, zero_gp) {
	.value = 0, .gp = true,
};

FIXTURE_VARIANT_ADD(xsetbv, sse_without_x87_gp) {
	.value = 2, .gp = true,
};

FIXTURE_VARIANT_ADD(xsetbv, xcr1_gp) {
	.index = 1, .value = 1, .gp = true,
};

TEST_F(xsetbv, xcr0)
{
	struct minivmm_regs regs;
	struct ucall uc;

	REQUIRE_VMX();
	if (!cpuinfo_has_flag("xsave"))
		SKIP(return, "no XSAVE on this CPU");
	self->vm = test_vm_create(GUEST_MEM_SIZE);
	self->vcpu = test_vcpu_add(self->vm, 0);
	test_install_exc_handlers(self->vm, MODE_LONG);
	test_vcpu_load(self->vcpu, MODE_LONG, guest_xsetbv,
		       GUEST_CODE_SIZE(guest_xsetbv));
	test_get_regs(self->vcpu, &regs);
	regs.r8 = variant->value;
	regs.r9 = variant->index;
	test_set_regs(self->vcpu, &regs);
	if (variant->gp)
		expect_exception(self->vcpu, GP_VECTOR, 0);
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
	/* After a #GP XCR0 keeps its reset value, x87 only. */
	EXPECT_EQ(variant->gp ? 1 : variant->value, uc.args[0]);
}

/* ---- VMX instructions, MONITOR, MWAIT ------------------------------- */

/* RAX points at a zeroed page for the memory operands. */
#define GUEST_UD(name, insn)						\
	GUEST_CODE(name, ".code64",					\
		   "mov $0x8000, %eax\n\t"				\
		   "xor %ecx, %ecx\n\t"					\
		   "xor %edx, %edx\n\t"					\
		   FAULT64(insn)					\
		   GUEST_DONE_ASM)

GUEST_UD(guest_vmxon, "vmxon (%rax)");
GUEST_UD(guest_vmxoff, "vmxoff");
GUEST_UD(guest_vmclear, "vmclear (%rax)");
GUEST_UD(guest_vmptrld, "vmptrld (%rax)");
GUEST_UD(guest_vmptrst, "vmptrst (%rax)");
GUEST_UD(guest_vmread, "vmread %rcx, %rbx");
GUEST_UD(guest_vmwrite, "vmwrite %rbx, %rcx");
GUEST_UD(guest_vmlaunch, "vmlaunch");
GUEST_UD(guest_vmresume, "vmresume");
GUEST_UD(guest_invept, "invept (%rax), %rcx");
GUEST_UD(guest_invvpid, "invvpid (%rax), %rcx");
GUEST_UD(guest_vmfunc, "vmfunc");
GUEST_UD(guest_monitor, "monitor %rax, %ecx, %edx");
GUEST_UD(guest_mwait, "mwait %eax, %ecx");

FIXTURE(vmx_insn) {
	struct test_vm *vm;
	struct test_vcpu *vcpu;
};

FIXTURE_VARIANT(vmx_insn) {
	const unsigned char *code;
	const unsigned char *end;
};

FIXTURE_SETUP(vmx_insn)
{
}

FIXTURE_TEARDOWN(vmx_insn)
{
	test_vcpu_destroy(self->vcpu);
	test_vm_destroy(self->vm);
}

FIXTURE_VARIANT_ADD(vmx_insn, vmxon) {
	.code = guest_vmxon, .end = guest_vmxon_end,
};

FIXTURE_VARIANT_ADD(vmx_insn, vmxoff) {
	.code = guest_vmxoff, .end = guest_vmxoff_end,
};

FIXTURE_VARIANT_ADD(vmx_insn, vmclear) {
	.code = guest_vmclear, .end = guest_vmclear_end,
};

FIXTURE_VARIANT_ADD(vmx_insn, vmptrld) {
	.code = guest_vmptrld, .end = guest_vmptrld_end,
};

FIXTURE_VARIANT_ADD(vmx_insn, vmptrst) {
	.code = guest_vmptrst, .end = guest_vmptrst_end,
};

FIXTURE_VARIANT_ADD(vmx_insn, vmread) {
	.code = guest_vmread, .end = guest_vmread_end,
};

FIXTURE_VARIANT_ADD(vmx_insn, vmwrite) {
	.code = guest_vmwrite, .end = guest_vmwrite_end,
};

FIXTURE_VARIANT_ADD(vmx_insn, vmlaunch) {
	.code = guest_vmlaunch, .end = guest_vmlaunch_end,
};

FIXTURE_VARIANT_ADD(vmx_insn, vmresume) {
	.code = guest_vmresume, .end = guest_vmresume_end,
};

FIXTURE_VARIANT_ADD(vmx_insn, invept) {
	.code = guest_invept, .end = guest_invept_end,
};

FIXTURE_VARIANT_ADD(vmx_insn, invvpid) {
	.code = guest_invvpid, .end = guest_invvpid_end,
};

FIXTURE_VARIANT_ADD(vmx_insn, vmfunc) {
	.code = guest_vmfunc, .end = guest_vmfunc_end,
};

FIXTURE_VARIANT_ADD(vmx_insn, monitor) {
	.code = guest_monitor, .end = guest_monitor_end,
};

FIXTURE_VARIANT_ADD(vmx_insn, mwait) {
	.code = guest_mwait, .end = guest_mwait_end,
};

TEST_F(vmx_insn, raises_ud)
{
	REQUIRE_VMX();
	self->vm = test_vm_create(GUEST_MEM_SIZE);
	self->vcpu = test_vcpu_add(self->vm, 0);
	test_install_exc_handlers(self->vm, MODE_LONG);
	test_vcpu_load(self->vcpu, MODE_LONG, variant->code,
		       variant->end - variant->code);
	expect_exception(self->vcpu, UD_VECTOR, 0);
	test_expect_done(self->vcpu);
}

/* ---- triple fault --------------------------------------------------- */

GUEST_CODE(guest_rm_int3, ".code16",
	   "int $3\n\t"
	   GUEST_DONE_ASM);

TEST_F(exits, triple_fault_real_mode_shutdown)
{
	struct minivmm_sregs sregs;

	REQUIRE_VMX();
	self->vm = test_vm_create(GUEST_MEM_SIZE);
	self->vcpu = test_vcpu_add(self->vm, 0);
	test_vcpu_load(self->vcpu, MODE_REAL, guest_rm_int3,
		       GUEST_CODE_SIZE(guest_rm_int3));
	/* An IVT of limit 0: INT 3, then #GP and #DF, cannot be delivered. */
	test_get_sregs(self->vcpu, &sregs);
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	test_set_sregs(self->vcpu, &sregs);
	test_run_expect(self->vcpu, MINIVMM_EXIT_SHUTDOWN);
}

GUEST_CODE(guest_ud2, ".code64",
	   "ud2\n\t"
	   GUEST_DONE_ASM);

TEST_F(exits, triple_fault_long_mode_shutdown)
{
	struct minivmm_sregs sregs;

	REQUIRE_VMX();
	self->vm = test_vm_create(GUEST_MEM_SIZE);
	self->vcpu = test_vcpu_add(self->vm, 0);
	test_vcpu_load(self->vcpu, MODE_LONG, guest_ud2,
		       GUEST_CODE_SIZE(guest_ud2));
	test_get_sregs(self->vcpu, &sregs);
	sregs.idt.limit = 0;
	test_set_sregs(self->vcpu, &sregs);
	test_run_expect(self->vcpu, MINIVMM_EXIT_SHUTDOWN);
}

/* ---- failed VM entry ------------------------------------------------ */

GUEST_CODE(guest_pm_done, ".code32",
	   GUEST_DONE_ASM
	   "hlt\n\t");

TEST_F(exits, fail_entry_unusable_tr_then_recovers)
{
	struct minivmm_sregs sregs, good;
	struct minivmm_run *run;

	REQUIRE_VMX();
	SETUP_GUEST(MODE_PROTECTED, guest_pm_done);
	test_get_sregs(self->vcpu, &good);
	sregs = good;
	/* TR must always be usable: the entry checks reject this state. */
	sregs.tr.attrib |= 0x10000;
	test_set_sregs(self->vcpu, &sregs);
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_FAIL_ENTRY);
	EXPECT_EQ(0x80000021, run->fail_entry.hardware_reason);
	EXPECT_EQ(0x80000021, run->hw_exit_reason);

	/*
	 * Entering again without a fix fails the same way: the failed entry
	 * did not launch the VMCS, so this is VMLAUNCH again, not VMRESUME.
	 */
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_FAIL_ENTRY);
	EXPECT_EQ(0x80000021, run->fail_entry.hardware_reason) {
		TH_LOG("VM-instruction error %u",
		       run->fail_entry.instruction_error);
	}

	/* The vCPU is not broken: with a good state again it runs. */
	test_set_sregs(self->vcpu, &good);
	ASSERT_EQ(0, test_vcpu_run(self->vcpu));
	ASSERT_EQ(MINIVMM_EXIT_IO, run->exit_reason) {
		TH_LOG("exit %s, hardware reason %#x, VM-instruction error %u",
		       exit_reason_str(run->exit_reason),
		       run->fail_entry.hardware_reason,
		       run->fail_entry.instruction_error);
	}
	EXPECT_EQ(UCALL_PORT, run->io.port);
	EXPECT_EQ(UCALL_DONE, run->io.data);
}

/* ---- exit counters -------------------------------------------------- */

GUEST_CODE(guest_counters, ".code64",
	   GUEST_SYNC_ASM(1)
	   "mov $100, %r8d\n"
	   "1:\n\t"
	   "xor %eax, %eax\n\t"
	   "cpuid\n\t"
	   "dec %r8d\n\t"
	   "jnz 1b\n\t"
	   GUEST_SYNC_ASM(2)
	   "hlt\n\t");

TEST_F(exits, exit_counters_grow)
{
	struct minivmm_run *run;
	uint64_t exits, entries;

	REQUIRE_VMX();
	SETUP_GUEST(MODE_LONG, guest_counters);
	run = self->vcpu->run;
	EXPECT_EQ(0, run->exits);
	EXPECT_EQ(0, run->entries);

	test_expect_sync(self->vcpu, 1);
	EXPECT_LE(1, run->exits);
	EXPECT_LE(1, run->entries);
	exits = run->exits;
	entries = run->entries;

	/* 100 CPUID exits handled in the kernel, then the ucall. */
	test_expect_sync(self->vcpu, 2);
	EXPECT_LE(exits + 101, run->exits);
	EXPECT_LE(entries + 101, run->entries);
	exits = run->exits;
	entries = run->entries;

	test_run_expect(self->vcpu, MINIVMM_EXIT_HLT);
	EXPECT_LE(exits + 1, run->exits);
	EXPECT_LE(entries + 1, run->entries);
	/* Every entry but a failed one ends in an exit. */
	EXPECT_EQ(run->entries, run->exits);
}

/* ---- What failed entries write to the kernel log --------------------- */

#define LOG_VMS		4
#define LOG_VCPUS	4
#define LOG_RUNS	4

/* Records in /dev/kmsg (after @fd's position) that report a failed entry. */
static int count_entry_reports(int fd)
{
	char rec[8192];
	ssize_t n;
	int count = 0;

	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		rec[n] = 0;
		if (strstr(rec, "minivmm: vCPU") && strstr(rec, "VM entry"))
			count++;
	}
	return count;
}

TEST(failed_entries_reach_the_log_at_most_once_a_minute)
{
	struct test_vcpu *vcpus[LOG_VMS][LOG_VCPUS];
	struct test_vm *vms[LOG_VMS];
	struct minivmm_sregs sregs;
	struct timespec t0, t1;
	int kmsg, v, c, i, reports;
	long minutes;

	REQUIRE_VMX();
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (kmsg < 0)
		SKIP(return, "/dev/kmsg: %s", strerror(errno));
	ASSERT_LE(0, lseek(kmsg, 0, SEEK_END));
	clock_gettime(CLOCK_MONOTONIC, &t0);

	/* Every vCPU of every VM fails its entry, again and again. */
	for (v = 0; v < LOG_VMS; v++) {
		vms[v] = test_vm_create(GUEST_MEM_SIZE);
		for (c = 0; c < LOG_VCPUS; c++) {
			vcpus[v][c] = test_vcpu_add(vms[v], c);
			test_vcpu_setup(vcpus[v][c], MODE_PROTECTED,
					GUEST_CODE_ADDR);
			test_get_sregs(vcpus[v][c], &sregs);
			sregs.tr.attrib |= 0x10000;	/* unusable TR */
			test_set_sregs(vcpus[v][c], &sregs);
			for (i = 0; i < LOG_RUNS; i++)
				test_run_expect(vcpus[v][c],
						MINIVMM_EXIT_FAIL_ENTRY);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	reports = count_entry_reports(kmsg);
	close(kmsg);

	/* One report a minute for the module, whatever the vCPU or VM. */
	minutes = (t1.tv_sec - t0.tv_sec) / 60;
	TH_LOG("%d failed entries in %ld s: %d reports",
	       LOG_VMS * LOG_VCPUS * LOG_RUNS, (long)(t1.tv_sec - t0.tv_sec),
	       reports);
	EXPECT_GE(1 + minutes, reports);
	for (v = 0; v < LOG_VMS; v++) {
		for (c = 0; c < LOG_VCPUS; c++)
			test_vcpu_destroy(vcpus[v][c]);
		test_vm_destroy(vms[v]);
	}
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * MMIO: guest accesses to physical addresses without a memory slot, and
 * writes to a read-only slot, exit to userspace with the address, the
 * size and the data, decoded from the guest's MOV instruction.
 *
 * Each test runs one MOV form (emulate_test covers the other forms
 * against the CPU's own results). The guest fills its registers with a
 * pattern first, so a read that writes too much or too little of the
 * destination shows; the ucall right after the MOV reports a marker, so
 * a RIP advanced by the wrong length shows too.
 */
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "minivmm_test.h"

#define STAGE_AFTER	0x5a

/* Real mode has no RAM above RM_MEM_SIZE: its MMIO is at 9000:0000. */
#define RM_MEM_SIZE	0x80000
#define RM_MMIO		0x90000

/* The values the test answers reads with, by size. */
#define D1		0xa5ULL
#define D2		0xa5b6ULL
#define D4		0xa5b6c7d8ULL
#define D8		0xa5b6c7d8e9fa0b1cULL

/* The pattern long mode guests load into RAX, RCX, RDI, R9, R10. */
#define PAT		0x1122334455667788ULL

/*
 * A long mode guest: RBX = MMIO_BASE, RSI = 2, the pattern in RAX, RCX,
 * RDI, R9 and R10; @insn; RAX saved in R15 (the ucall needs RAX); the
 * marker ucall. name_insn and name_after mark the instruction.
 */
#define MMIO64(name, insn)						\
	GUEST_CODE(name, ".code64",					\
		   "mov $0x10000000, %ebx\n\t"				\
		   "movabs $0x1122334455667788, %rcx\n\t"		\
		   "mov %rcx, %rax\n\t"					\
		   "mov %rcx, %rdi\n\t"					\
		   "mov %rcx, %r9\n\t"					\
		   "mov %rcx, %r10\n\t"					\
		   "mov $2, %esi\n\t"					\
		   GUEST_LABEL(name##_insn)				\
		   insn "\n\t"						\
		   GUEST_LABEL(name##_after)				\
		   "mov %rax, %r15\n\t"					\
		   GUEST_SYNC_ASM(0x5a)					\
		   "hlt\n\t");						\
	extern const unsigned char name##_insn[], name##_after[]

/* Protected mode: EBX = MMIO_BASE, ECX = EAX = 0x55667788; EAX in EDI. */
#define MMIO32(name, insn)						\
	GUEST_CODE(name, ".code32",					\
		   "mov $0x10000000, %ebx\n\t"				\
		   "mov $0x55667788, %ecx\n\t"				\
		   "mov %ecx, %eax\n\t"					\
		   GUEST_LABEL(name##_insn)				\
		   insn "\n\t"						\
		   GUEST_LABEL(name##_after)				\
		   "mov %eax, %edi\n\t"					\
		   GUEST_SYNC_ASM(0x5a)					\
		   "hlt\n\t");						\
	extern const unsigned char name##_insn[], name##_after[]

/*
 * Real mode: DS = 9000, ES = 9800, EBX = 0x10, ECX = EAX = 0x55667788;
 * EAX in EDI.
 */
#define MMIO16(name, insn)						\
	GUEST_CODE(name, ".code16",					\
		   "mov $0x9000, %ax\n\t"				\
		   "mov %ax, %ds\n\t"					\
		   "mov $0x9800, %ax\n\t"				\
		   "mov %ax, %es\n\t"					\
		   "mov $0x10, %ebx\n\t"				\
		   "mov $0x55667788, %ecx\n\t"				\
		   "mov %ecx, %eax\n\t"					\
		   GUEST_LABEL(name##_insn)				\
		   insn "\n\t"						\
		   GUEST_LABEL(name##_after)				\
		   "mov %eax, %edi\n\t"					\
		   GUEST_SYNC_ASM(0x5a)					\
		   "hlt\n\t");						\
	extern const unsigned char name##_insn[], name##_after[]

#define NO_REG		((size_t)-1)
#define REG(r)		offsetof(struct minivmm_regs, r)

struct mmio_case {
	enum guest_mode mode;
	const unsigned char *code, *end, *after;
	uint64_t gpa;		/* rip_rel: relative to the RIP after */
	bool rip_rel;
	uint32_t len;
	bool write;
	uint64_t data;		/* write: expected; read: supplied */
	size_t reg;		/* read: the register (REG()) it lands in */
	uint64_t want;		/* read: that register afterwards */
};

FIXTURE(mmio) {
	struct test_vm *vm;
	struct test_vcpu *vcpu;
};

FIXTURE_SETUP(mmio)
{
}

FIXTURE_TEARDOWN(mmio)
{
	test_vcpu_destroy(self->vcpu);
	test_vm_destroy(self->vm);
}

static uint64_t code_base(enum guest_mode mode)
{
	return mode == MODE_REAL ? REAL_CODE : GUEST_CODE_ADDR;
}

/*
 * Run @c in a VM stored in *@vm, its vCPU in *@vcpu: the MMIO exit it
 * expects, then what the guest does with the data.
 */
static void run_mmio_case(struct __test_metadata *_metadata,
			  struct test_vm **vm, struct test_vcpu **vcpu,
			  const struct mmio_case *c)
{
	uint64_t after = code_base(c->mode) + (c->after - c->code);
	uint64_t gpa = c->rip_rel ? after + c->gpa : c->gpa;
	struct minivmm_regs regs;
	struct minivmm_run *run;
	struct ucall uc;

	*vm = test_vm_create(c->mode == MODE_REAL ? RM_MEM_SIZE :
			     GUEST_MEM_SIZE);
	*vcpu = test_vcpu_add(*vm, 0);
	test_install_exc_handlers(*vm, c->mode);
	test_vcpu_load(*vcpu, c->mode, c->code, c->end - c->code);

	run = test_run_expect(*vcpu, MINIVMM_EXIT_MMIO);
	EXPECT_EQ(gpa, run->mmio.phys_addr);
	EXPECT_EQ(c->len, run->mmio.len);
	EXPECT_EQ(c->write, run->mmio.is_write);
	if (c->write)
		EXPECT_EQ(c->data, run->mmio.data);
	/* RIP is past the MOV already. */
	EXPECT_EQ(after, run->rip);
	if (!c->write)
		run->mmio.data = c->data;

	ASSERT_EQ(UCALL_SYNC, test_run_ucall(*vcpu, &uc));
	ASSERT_EQ(STAGE_AFTER, uc.args[0]);
	if (c->write)
		return;
	test_get_regs(*vcpu, &regs);
	EXPECT_EQ(c->want, *(uint64_t *)((char *)&regs + c->reg));
}

#define CODE(name)	.code = name, .end = name##_end, .after = name##_after

/*
 * MMIO_TEST(name, ...): the mmio_case name_case initialized with ..., and
 * the test mmio.name that runs it.
 */
#define MMIO_TEST(name, ...)						\
	static const struct mmio_case name##_case = { __VA_ARGS__ };	\
									\
	TEST_F(mmio, name)						\
	{								\
		REQUIRE_VMX();						\
		run_mmio_case(_metadata, &self->vm, &self->vcpu,	\
			      &name##_case);				\
	}

/* ---- long mode writes ----------------------------------------------- */

MMIO64(lm_w88, "mov %cl, (%rbx)");
MMIO_TEST(long_write_88_byte, .mode = MODE_LONG, CODE(lm_w88),
	  .gpa = MMIO_BASE, .len = 1, .write = true, .data = 0x88)

MMIO64(lm_w88_ah, "mov %ah, (%rbx)");
MMIO_TEST(long_write_88_ah, .mode = MODE_LONG, CODE(lm_w88_ah),
	  .gpa = MMIO_BASE, .len = 1, .write = true, .data = 0x77)

MMIO64(lm_w88_rex_dil, "mov %dil, (%rbx)");
MMIO_TEST(long_write_88_rex_dil, .mode = MODE_LONG, CODE(lm_w88_rex_dil),
	  .gpa = MMIO_BASE, .len = 1, .write = true, .data = 0x88)

MMIO64(lm_w89_16, "mov %cx, (%rbx)");
MMIO_TEST(long_write_89_word, .mode = MODE_LONG, CODE(lm_w89_16),
	  .gpa = MMIO_BASE, .len = 2, .write = true, .data = 0x7788)

MMIO64(lm_w89_32, "mov %ecx, (%rbx)");
MMIO_TEST(long_write_89_dword, .mode = MODE_LONG, CODE(lm_w89_32),
	  .gpa = MMIO_BASE, .len = 4, .write = true, .data = 0x55667788)

MMIO64(lm_w89_64, "mov %rcx, (%rbx)");
MMIO_TEST(long_write_89_qword, .mode = MODE_LONG, CODE(lm_w89_64),
	  .gpa = MMIO_BASE, .len = 8, .write = true, .data = PAT)

MMIO64(lm_w89_sib, "mov %r9d, 0x10(%rbx,%rsi,4)");
MMIO_TEST(long_write_89_rex_r_sib_disp8, .mode = MODE_LONG,
	  CODE(lm_w89_sib), .gpa = MMIO_BASE + 0x18, .len = 4,
	  .write = true, .data = 0x55667788)

MMIO64(lm_w89_disp32, "mov %rcx, 0x12345(%rbx)");
MMIO_TEST(long_write_89_disp32, .mode = MODE_LONG, CODE(lm_w89_disp32),
	  .gpa = MMIO_BASE + 0x12345, .len = 8, .write = true, .data = PAT)

MMIO64(lm_w89_riprel, "mov %ecx, 0x10000000(%rip)");
MMIO_TEST(long_write_89_rip_relative, .mode = MODE_LONG,
	  CODE(lm_w89_riprel), .gpa = 0x10000000, .rip_rel = true, .len = 4,
	  .write = true, .data = 0x55667788)

MMIO64(lm_w89_addr32, "mov %ecx, (%ebx)");
MMIO_TEST(long_write_89_addr32_prefix, .mode = MODE_LONG,
	  CODE(lm_w89_addr32), .gpa = MMIO_BASE, .len = 4, .write = true,
	  .data = 0x55667788)

MMIO64(lm_w89_fs, "mov %ecx, %fs:(%rbx)");
MMIO_TEST(long_write_89_segment_prefix, .mode = MODE_LONG,
	  CODE(lm_w89_fs), .gpa = MMIO_BASE, .len = 4, .write = true,
	  .data = 0x55667788)

MMIO64(lm_wc6, "movb $0xa5, (%rbx)");
MMIO_TEST(long_write_c6_imm8, .mode = MODE_LONG, CODE(lm_wc6),
	  .gpa = MMIO_BASE, .len = 1, .write = true, .data = 0xa5)

MMIO64(lm_wc7_16, "movw $0xbeef, (%rbx)");
MMIO_TEST(long_write_c7_imm16, .mode = MODE_LONG, CODE(lm_wc7_16),
	  .gpa = MMIO_BASE, .len = 2, .write = true, .data = 0xbeef)

MMIO64(lm_wc7_32, "movl $0xdeadbeef, 8(%rbx)");
MMIO_TEST(long_write_c7_imm32_disp8, .mode = MODE_LONG, CODE(lm_wc7_32),
	  .gpa = MMIO_BASE + 8, .len = 4, .write = true, .data = 0xdeadbeef)

MMIO64(lm_wc7_64, "movq $-0x21524111, (%rbx)");
MMIO_TEST(long_write_c7_imm32_sign_extended_to_64, .mode = MODE_LONG,
	  CODE(lm_wc7_64), .gpa = MMIO_BASE, .len = 8, .write = true,
	  .data = 0xffffffffdeadbeefULL)

MMIO64(lm_wc7_64_pos, "movq $0x7eadbeef, (%rbx)");
MMIO_TEST(long_write_c7_positive_imm32_to_64, .mode = MODE_LONG,
	  CODE(lm_wc7_64_pos), .gpa = MMIO_BASE, .len = 8, .write = true,
	  .data = 0x7eadbeef)

MMIO64(lm_wa2, "movabs %al, 0x10000000");
MMIO_TEST(long_write_a2_moffs, .mode = MODE_LONG, CODE(lm_wa2),
	  .gpa = MMIO_BASE, .len = 1, .write = true, .data = 0x88)

MMIO64(lm_wa3, "movabs %eax, 0x10000008");
MMIO_TEST(long_write_a3_moffs, .mode = MODE_LONG, CODE(lm_wa3),
	  .gpa = MMIO_BASE + 8, .len = 4, .write = true, .data = 0x55667788)

MMIO64(lm_wa3_64, "movabs %rax, 0x10000000");
MMIO_TEST(long_write_a3_moffs_qword, .mode = MODE_LONG, CODE(lm_wa3_64),
	  .gpa = MMIO_BASE, .len = 8, .write = true, .data = PAT)

MMIO64(lm_w89_rsp, "mov %rsp, (%rbx)");
MMIO_TEST(long_write_89_from_rsp, .mode = MODE_LONG, CODE(lm_w89_rsp),
	  .gpa = MMIO_BASE, .len = 8, .write = true, .data = GUEST_STACK)

MMIO64(lm_w89_sib_nobase, "mov %ecx, 0x10000000(,%rsi,4)");
MMIO_TEST(long_write_89_sib_no_base_disp32, .mode = MODE_LONG,
	  CODE(lm_w89_sib_nobase), .gpa = MMIO_BASE + 8, .len = 4,
	  .write = true, .data = 0x55667788)

MMIO64(lm_w89_r12, "lea 0x10000000, %r12\n\tmov %ecx, 4(%r12)");
MMIO_TEST(long_write_89_rex_b_base, .mode = MODE_LONG, CODE(lm_w89_r12),
	  .gpa = MMIO_BASE + 4, .len = 4, .write = true, .data = 0x55667788)

/* ---- long mode reads ------------------------------------------------ */

MMIO64(lm_r8a, "mov (%rbx), %cl");
MMIO_TEST(long_read_8a_byte_keeps_upper_bits, .mode = MODE_LONG,
	  CODE(lm_r8a), .gpa = MMIO_BASE, .len = 1, .data = D1,
	  .reg = REG(rcx), .want = 0x11223344556677a5ULL)

MMIO64(lm_r8a_ah, "mov (%rbx), %ah");
MMIO_TEST(long_read_8a_ah, .mode = MODE_LONG, CODE(lm_r8a_ah),
	  .gpa = MMIO_BASE, .len = 1, .data = D1, .reg = REG(r15),
	  .want = 0x112233445566a588ULL)

/* With a REX prefix, register 7 is DIL, not BH. */
MMIO64(lm_r8a_dil, "mov (%rbx), %dil");
MMIO_TEST(long_read_8a_rex_dil, .mode = MODE_LONG, CODE(lm_r8a_dil),
	  .gpa = MMIO_BASE, .len = 1, .data = D1, .reg = REG(rdi),
	  .want = 0x11223344556677a5ULL)

MMIO64(lm_r8b_16, "mov (%rbx), %cx");
MMIO_TEST(long_read_8b_word_keeps_upper_bits, .mode = MODE_LONG,
	  CODE(lm_r8b_16), .gpa = MMIO_BASE, .len = 2, .data = D2,
	  .reg = REG(rcx), .want = 0x112233445566a5b6ULL)

MMIO64(lm_r8b_32, "mov (%rbx), %ecx");
MMIO_TEST(long_read_8b_dword_zero_extends, .mode = MODE_LONG,
	  CODE(lm_r8b_32), .gpa = MMIO_BASE, .len = 4, .data = D4,
	  .reg = REG(rcx), .want = D4)

MMIO64(lm_r8b_64, "mov (%rbx), %rcx");
MMIO_TEST(long_read_8b_qword, .mode = MODE_LONG, CODE(lm_r8b_64),
	  .gpa = MMIO_BASE, .len = 8, .data = D8, .reg = REG(rcx),
	  .want = D8)

MMIO64(lm_r8b_r10, "mov 0x1000(%rbx), %r10d");
MMIO_TEST(long_read_8b_rex_r_disp32, .mode = MODE_LONG, CODE(lm_r8b_r10),
	  .gpa = MMIO_BASE + 0x1000, .len = 4, .data = D4, .reg = REG(r10),
	  .want = D4)

MMIO64(lm_rb6_32, "movzbl (%rbx), %ecx");
MMIO_TEST(long_read_movzx_b6_to_dword, .mode = MODE_LONG, CODE(lm_rb6_32),
	  .gpa = MMIO_BASE, .len = 1, .data = D1, .reg = REG(rcx),
	  .want = D1)

MMIO64(lm_rb6_16, "movzbw (%rbx), %cx");
MMIO_TEST(long_read_movzx_b6_to_word, .mode = MODE_LONG, CODE(lm_rb6_16),
	  .gpa = MMIO_BASE, .len = 1, .data = D1, .reg = REG(rcx),
	  .want = 0x11223344556600a5ULL)

MMIO64(lm_rb7_32, "movzwl (%rbx), %ecx");
MMIO_TEST(long_read_movzx_b7_to_dword, .mode = MODE_LONG, CODE(lm_rb7_32),
	  .gpa = MMIO_BASE, .len = 2, .data = D2, .reg = REG(rcx),
	  .want = D2)

MMIO64(lm_rb7_64, "movzwq (%rbx), %r9");
MMIO_TEST(long_read_movzx_b7_rex_w_to_qword, .mode = MODE_LONG,
	  CODE(lm_rb7_64), .gpa = MMIO_BASE, .len = 2, .data = D2,
	  .reg = REG(r9), .want = D2)

MMIO64(lm_ra0, "movabs 0x10000000, %al");
MMIO_TEST(long_read_a0_moffs, .mode = MODE_LONG, CODE(lm_ra0),
	  .gpa = MMIO_BASE, .len = 1, .data = D1, .reg = REG(r15),
	  .want = 0x11223344556677a5ULL)

MMIO64(lm_ra1, "movabs 0x10000010, %eax");
MMIO_TEST(long_read_a1_moffs, .mode = MODE_LONG, CODE(lm_ra1),
	  .gpa = MMIO_BASE + 0x10, .len = 4, .data = D4, .reg = REG(r15),
	  .want = D4)

MMIO64(lm_ra1_64, "movabs 0x10000000, %rax");
MMIO_TEST(long_read_a1_moffs_qword, .mode = MODE_LONG, CODE(lm_ra1_64),
	  .gpa = MMIO_BASE, .len = 8, .data = D8, .reg = REG(r15),
	  .want = D8)

/* ---- protected mode ------------------------------------------------- */

MMIO32(pm_w89_32, "mov %ecx, (%ebx)");
MMIO_TEST(protected_write_89_dword, .mode = MODE_PROTECTED,
	  CODE(pm_w89_32), .gpa = MMIO_BASE, .len = 4, .write = true,
	  .data = 0x55667788)

MMIO32(pm_w89_16, "mov %cx, (%ebx)");
MMIO_TEST(protected_write_89_word, .mode = MODE_PROTECTED,
	  CODE(pm_w89_16), .gpa = MMIO_BASE, .len = 2, .write = true,
	  .data = 0x7788)

MMIO32(pm_wc7, "movl $0xdeadbeef, 4(%ebx)");
MMIO_TEST(protected_write_c7_imm32, .mode = MODE_PROTECTED, CODE(pm_wc7),
	  .gpa = MMIO_BASE + 4, .len = 4, .write = true, .data = 0xdeadbeef)

MMIO32(pm_r8b_16, "mov (%ebx), %cx");
MMIO_TEST(protected_read_8b_word_keeps_upper_bits, .mode = MODE_PROTECTED,
	  CODE(pm_r8b_16), .gpa = MMIO_BASE, .len = 2, .data = D2,
	  .reg = REG(rcx), .want = 0x5566a5b6)

MMIO32(pm_ra1, "mov 0x10000000, %eax");
MMIO_TEST(protected_read_a1_moffs, .mode = MODE_PROTECTED, CODE(pm_ra1),
	  .gpa = MMIO_BASE, .len = 4, .data = D4, .reg = REG(rdi),
	  .want = D4)

MMIO32(pm_rb6, "movzbl (%ebx), %ecx");
MMIO_TEST(protected_read_movzx_b6, .mode = MODE_PROTECTED, CODE(pm_rb6),
	  .gpa = MMIO_BASE, .len = 1, .data = D1, .reg = REG(rcx),
	  .want = D1)

/* ---- real mode ------------------------------------------------------ */

MMIO16(rm_w89_16, "mov %cx, (%bx)");
MMIO_TEST(real_write_89_word, .mode = MODE_REAL, CODE(rm_w89_16),
	  .gpa = RM_MMIO + 0x10, .len = 2, .write = true, .data = 0x7788)

MMIO16(rm_w89_32, "mov %ecx, (%bx)");
MMIO_TEST(real_write_89_dword_opsize_prefix, .mode = MODE_REAL,
	  CODE(rm_w89_32), .gpa = RM_MMIO + 0x10, .len = 4, .write = true,
	  .data = 0x55667788)

MMIO16(rm_w89_es, "mov %cx, %es:2(%bx)");
MMIO_TEST(real_write_89_segment_prefix, .mode = MODE_REAL,
	  CODE(rm_w89_es), .gpa = 0x98012, .len = 2, .write = true,
	  .data = 0x7788)

MMIO16(rm_wc6, "movb $0xa5, 1(%bx)");
MMIO_TEST(real_write_c6_imm8, .mode = MODE_REAL, CODE(rm_wc6),
	  .gpa = RM_MMIO + 0x11, .len = 1, .write = true, .data = 0xa5)

MMIO16(rm_r8b_16, "mov (%bx), %cx");
MMIO_TEST(real_read_8b_word, .mode = MODE_REAL, CODE(rm_r8b_16),
	  .gpa = RM_MMIO + 0x10, .len = 2, .data = D2, .reg = REG(rcx),
	  .want = 0x5566a5b6)

MMIO16(rm_r8b_addr32, "mov (%ebx), %ecx");
MMIO_TEST(real_read_8b_addr32_prefix, .mode = MODE_REAL,
	  CODE(rm_r8b_addr32), .gpa = RM_MMIO + 0x10, .len = 4, .data = D4,
	  .reg = REG(rcx), .want = D4)

MMIO16(rm_ra1, "mov 0x20, %ax");
MMIO_TEST(real_read_a1_moffs, .mode = MODE_REAL, CODE(rm_ra1),
	  .gpa = RM_MMIO + 0x20, .len = 2, .data = D2, .reg = REG(rdi),
	  .want = 0x5566a5b6)

/* ---- what is not emulated ------------------------------------------- */

/*
 * Run to an EMULATION internal error at @gpa; the instruction bytes
 * reported start with the @len bytes at @insn.
 */
static void expect_emulation_error(struct test_vcpu *vcpu, uint64_t gpa,
				   const unsigned char *insn, unsigned int len)
{
	struct minivmm_run *run;

	run = test_run_expect(vcpu, MINIVMM_EXIT_INTERNAL_ERROR);
	TEST_REQUIRE(run->internal.suberror == MINIVMM_INTERNAL_EMULATION,
		     "suberror %u", run->internal.suberror);
	TEST_REQUIRE(run->internal.data[0] == gpa, "address %#llx, wanted %#lx",
		     (unsigned long long)run->internal.data[0],
		     (unsigned long)gpa);
	TEST_REQUIRE(run->internal.ninsn >= len &&
		     run->internal.ninsn <= sizeof(run->internal.insn),
		     "%u instruction bytes", run->internal.ninsn);
	TEST_REQUIRE(!memcmp(run->internal.insn, insn, len),
		     "instruction bytes %02x %02x %02x, wanted %02x %02x",
		     run->internal.insn[0], run->internal.insn[1],
		     run->internal.insn[2], insn[0], insn[1]);
}

/* A VM in *@vm with a long-mode vCPU in *@vcpu running @code. */
static void setup_long(struct test_vm **vm, struct test_vcpu **vcpu,
		       const unsigned char *code, size_t size)
{
	*vm = test_vm_create(GUEST_MEM_SIZE);
	*vcpu = test_vcpu_add(*vm, 0);
	test_install_exc_handlers(*vm, MODE_LONG);
	test_vcpu_load(*vcpu, MODE_LONG, code, size);
}

/* NOT is not among the forms guests use on device memory. */
MMIO64(lm_not, "notl (%rbx)");

TEST_F(mmio, not_on_mmio_is_emulation_error)
{
	REQUIRE_VMX();
	setup_long(&self->vm, &self->vcpu, lm_not, GUEST_CODE_SIZE(lm_not));
	expect_emulation_error(self->vcpu, MMIO_BASE, lm_not_insn,
			       lm_not_after - lm_not_insn);
}

MMIO64(lm_r8b_rsp, "mov (%rbx), %rsp");
MMIO_TEST(long_read_8b_into_rsp, .mode = MODE_LONG, CODE(lm_r8b_rsp),
	  .gpa = MMIO_BASE, .len = 8, .data = D8, .reg = REG(rsp), .want = D8)

MMIO64(lm_fetch, "jmp *%rbx");

TEST_F(mmio, code_fetch_from_mmio_is_emulation_error)
{
	struct minivmm_run *run;

	REQUIRE_VMX();
	setup_long(&self->vm, &self->vcpu, lm_fetch, GUEST_CODE_SIZE(lm_fetch));
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_INTERNAL_ERROR);
	EXPECT_EQ(MINIVMM_INTERNAL_EMULATION, run->internal.suberror);
	EXPECT_EQ(MMIO_BASE, run->internal.data[0]);
	/* There are no bytes to read at an address without memory. */
	EXPECT_EQ(0, run->internal.ninsn);
}

/*
 * A byte read into SPL (REX): either refused like any read into RSP, or
 * decoded, and then the byte must land in SPL.
 */
GUEST_CODE(lm_r8a_spl, ".code64",
	   "mov $0x10000000, %ebx\n\t"
	   "mov %rsp, %r14\n\t"
	   "mov (%rbx), %spl\n\t"
	   "mov %rsp, %r13\n\t"
	   "mov %r14, %rsp\n\t"
	   GUEST_SYNC_ASM(0x5a)
	   "hlt\n\t");

TEST_F(mmio, read_into_spl_refused_or_lands)
{
	struct minivmm_regs regs;
	struct minivmm_run *run;
	struct ucall uc;

	REQUIRE_VMX();
	setup_long(&self->vm, &self->vcpu, lm_r8a_spl,
		   GUEST_CODE_SIZE(lm_r8a_spl));
	ASSERT_EQ(0, test_vcpu_run(self->vcpu));
	run = self->vcpu->run;
	if (run->exit_reason == MINIVMM_EXIT_INTERNAL_ERROR) {
		EXPECT_EQ(MINIVMM_INTERNAL_EMULATION, run->internal.suberror);
		return;
	}
	ASSERT_EQ(MINIVMM_EXIT_MMIO, run->exit_reason);
	EXPECT_EQ(1, run->mmio.len);
	EXPECT_EQ(0, run->mmio.is_write);
	run->mmio.data = D1;
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
	ASSERT_EQ(STAGE_AFTER, uc.args[0]);
	test_get_regs(self->vcpu, &regs);
	EXPECT_EQ((GUEST_STACK & ~0xffULL) | D1, regs.r13);
}

/* ---- read-only slots ------------------------------------------------ */

#define RO_GPA		0x200000UL	/* just above the RAM */
#define RO_SLOT		1
#define RO_PAT0		0x0123456789abcdefULL
#define RO_PAT1		0xfedcba9876543210ULL

/* Reads through a read-only slot, one write, then the same read again. */
GUEST_CODE(guest_ro, ".code64",
	   "mov $0x200000, %ebx\n\t"
	   "mov (%rbx), %r8\n\t"
	   "mov 8(%rbx), %r9\n\t"
	   GUEST_SYNC_ASM(1)
	   "mov $0x200000, %ebx\n\t"
	   "movabs $0x1111222233334444, %rax\n\t"
	   "mov %rax, 8(%rbx)\n\t"
	   GUEST_LABEL(guest_ro_after)
	   "mov 8(%rbx), %r10\n\t"
	   GUEST_SYNC_ASM(2)
	   "hlt\n\t");
extern const unsigned char guest_ro_after[];

/*
 * A VM (in *@vm, its vCPU in *@vcpu) whose guest_ro sees a read-only page
 * at RO_GPA; returns the page.
 */
static uint64_t *setup_ro(struct test_vm **vm, struct test_vcpu **vcpu)
{
	struct minivmm_memory_region r = {
		.slot = RO_SLOT, .flags = MINIVMM_MEM_READONLY,
		.guest_phys_addr = RO_GPA, .size = 4096,
	};
	uint64_t *page;

	setup_long(vm, vcpu, guest_ro, GUEST_CODE_SIZE(guest_ro));
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_REQUIRE(page != MAP_FAILED, "mmap: %s", strerror(errno));
	page[0] = RO_PAT0;
	page[1] = RO_PAT1;
	/* Even memory the process cannot write makes a read-only slot. */
	TEST_REQUIRE(!mprotect(page, 4096, PROT_READ), "mprotect: %s",
		     strerror(errno));
	r.userspace_addr = (uintptr_t)page;
	TEST_REQUIRE(!ioctl((*vm)->fd, MINIVMM_SET_MEMORY_REGION, &r),
		     "read-only MINIVMM_SET_MEMORY_REGION: %s",
		     strerror(errno));
	return page;
}

TEST_F(mmio, readonly_slot_reads_backing_memory)
{
	struct minivmm_regs regs;
	struct ucall uc;

	REQUIRE_VMX();
	setup_ro(&self->vm, &self->vcpu);
	/* No MMIO exit: the reads are served from the slot's memory. */
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
	ASSERT_EQ(1, uc.args[0]);
	test_get_regs(self->vcpu, &regs);
	EXPECT_EQ(RO_PAT0, regs.r8);
	EXPECT_EQ(RO_PAT1, regs.r9);
}

TEST_F(mmio, readonly_slot_write_is_mmio_exit)
{
	struct minivmm_regs regs;
	struct minivmm_run *run;
	struct ucall uc;
	uint64_t *page;

	REQUIRE_VMX();
	page = setup_ro(&self->vm, &self->vcpu);
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));

	run = test_run_expect(self->vcpu, MINIVMM_EXIT_MMIO);
	EXPECT_EQ(RO_GPA + 8, run->mmio.phys_addr);
	EXPECT_EQ(8, run->mmio.len);
	EXPECT_EQ(1, run->mmio.is_write);
	EXPECT_EQ(0x1111222233334444ULL, run->mmio.data);
	EXPECT_EQ(GUEST_CODE_ADDR + GUEST_LABEL_OFFSET(guest_ro,
						       guest_ro_after),
		  run->rip);

	/* The write went nowhere: the guest and the process see the old. */
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
	ASSERT_EQ(2, uc.args[0]);
	test_get_regs(self->vcpu, &regs);
	EXPECT_EQ(RO_PAT1, regs.r10);
	EXPECT_EQ(RO_PAT0, page[0]);
	EXPECT_EQ(RO_PAT1, page[1]);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * Instruction emulation on device memory, against what the CPU does.
 *
 * Each test runs one instruction form twice in a long mode guest: on RAM,
 * where the CPU executes it, then on MMIO, where minivmm emulates it
 * against a device in this file that behaves as memory. Both runs start
 * from the same registers, memory and flags (once with the arithmetic
 * flags clear, once with them set, so that ADC and SBB see a carry and
 * untouched flags show), and the guest saves the registers, RFLAGS and
 * the operand memory afterwards. The two must be identical.
 */
#include <stddef.h>
#include <string.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "minivmm_test.h"

#define RAM_OPND	0x90000		/* the RAM run's operand */
#define OUT_RAM		0x92000		/* results of the RAM run */
#define OUT_MMIO	0x92100		/* results of the MMIO run */
#define OUT_STRIDE	0x80		/* per flags setting */
#define CROSS		0x95000		/* a page boundary in RAM */
#define DEV_SIZE	0x1000

/* What the guest saves after the instruction, in qwords. */
enum {
	S_RAX, S_RCX, S_RDX, S_RSI, S_RDI, S_R8, S_RFLAGS, S_RSI_REL,
	S_RDI_REL, S_MEM0, S_MEM1, S_MEM2, S_MEM3, S_CROSS0, S_CROSS1,
	NR_SLOTS
};

static const char *const slot_names[NR_SLOTS] = {
	"rax", "rcx", "rdx", "rsi", "rdi", "r8", "rflags", "rsi - operand",
	"rdi - operand", "mem[0]", "mem[8]", "mem[16]", "mem[24]",
	"ram[0x94ff8]", "ram[0x95000]",
};

/*
 * EMUL64(name, body): the guest that runs @body with RBX pointing at the
 * operand (RAM_OPND, then MMIO_BASE), each time with RFLAGS 0x2 and then
 * 0x8d7. Before @body: the operand's 32 bytes and the 16 bytes of RAM
 * around CROSS are filled with patterns, RAX, RCX, RSI, RDI and R8 hold
 * patterns, RDX = 37 (a bit offset past the first dword).
 */
#define EMUL64(name, body)						\
	GUEST_CODE(name, ".code64",					\
		   "mov $0x90000, %ebx\n\t"				\
		   "mov $0x92000, %ebp\n\t"				\
		   "call 1f\n\t"					\
		   "mov $0x10000000, %ebx\n\t"				\
		   "mov $0x92100, %ebp\n\t"				\
		   "call 1f\n\t"					\
		   GUEST_DONE_ASM					\
		   "hlt\n"						\
		   "1:\n\t"						\
		   "mov $0x2, %r14d\n\t"				\
		   "call 2f\n\t"					\
		   "add $0x80, %rbp\n\t"				\
		   "mov $0x8d7, %r14d\n\t"				\
		   "call 2f\n\t"					\
		   "ret\n"						\
		   "2:\n\t"						\
		   "movabs $0xf0e1d2c3b4a59687, %r8\n\t"		\
		   "mov %r8, (%rbx)\n\t"				\
		   "not %r8\n\t"					\
		   "mov %r8, 8(%rbx)\n\t"				\
		   "movabs $0x0123456789abcdef, %r8\n\t"		\
		   "mov %r8, 16(%rbx)\n\t"				\
		   "mov %r8, 24(%rbx)\n\t"				\
		   "movabs $0xa1a2a3a4a5a6a7a8, %r8\n\t"		\
		   "mov %r8, 0x94ff8\n\t"				\
		   "movabs $0xb1b2b3b4b5b6b7b8, %r8\n\t"		\
		   "mov %r8, 0x95000\n\t"				\
		   "movabs $0x1122334455667788, %rax\n\t"		\
		   "movabs $0x7f6e5d4c3b2a1908, %rcx\n\t"		\
		   "mov $37, %edx\n\t"					\
		   "movabs $0x8877665544332211, %rsi\n\t"		\
		   "mov %rsi, %rdi\n\t"					\
		   "movabs $0x5555aaaa5555aaaa, %r8\n\t"		\
		   "push %r14\n\t"					\
		   "popf\n\t"						\
		   body "\n\t"						\
		   "pushf\n\t"						\
		   "pop %r12\n\t"					\
		   "mov %rax, 0(%rbp)\n\t"				\
		   "mov %rcx, 8(%rbp)\n\t"				\
		   "mov %rdx, 16(%rbp)\n\t"				\
		   "mov %rsi, 24(%rbp)\n\t"				\
		   "mov %rdi, 32(%rbp)\n\t"				\
		   "mov %r8, 40(%rbp)\n\t"				\
		   "mov %r12, 48(%rbp)\n\t"				\
		   "mov %rsi, %r9\n\t"					\
		   "sub %rbx, %r9\n\t"					\
		   "mov %r9, 56(%rbp)\n\t"				\
		   "mov %rdi, %r9\n\t"					\
		   "sub %rbx, %r9\n\t"					\
		   "mov %r9, 64(%rbp)\n\t"				\
		   "mov (%rbx), %r9\n\t"				\
		   "mov %r9, 72(%rbp)\n\t"				\
		   "mov 8(%rbx), %r9\n\t"				\
		   "mov %r9, 80(%rbp)\n\t"				\
		   "mov 16(%rbx), %r9\n\t"				\
		   "mov %r9, 88(%rbp)\n\t"				\
		   "mov 24(%rbx), %r9\n\t"				\
		   "mov %r9, 96(%rbp)\n\t"				\
		   "mov 0x94ff8, %r9\n\t"				\
		   "mov %r9, 104(%rbp)\n\t"				\
		   "mov 0x95000, %r9\n\t"				\
		   "mov %r9, 112(%rbp)\n\t"				\
		   "ret\n")

/* Which of RSI and RDI hold operand addresses (compared relative to it). */
#define REL_RSI		1
#define REL_RDI		2

struct emul_case {
	const unsigned char *code, *end;
	unsigned int rel;
	enum guest_mode mode;	/* MODE_LONG unless MODE_PROTECTED */
};

FIXTURE(emul) {
	struct test_vm *vm;
	struct test_vcpu *vcpu;
};

/* The device's memory (each test runs in a process of its own). */
static uint8_t dev[DEV_SIZE];

FIXTURE_SETUP(emul)
{
	self->vm = NULL;
	self->vcpu = NULL;
}

FIXTURE_TEARDOWN(emul)
{
	if (self->vcpu)
		test_vcpu_destroy(self->vcpu);
	if (self->vm)
		test_vm_destroy(self->vm);
}

/* The device: DEV_SIZE bytes of memory at MMIO_BASE. */
static void dev_access(struct __test_metadata *_metadata,
		       struct minivmm_run *run)
{
	uint64_t off = run->mmio.phys_addr - MMIO_BASE;

	ASSERT_GE(run->mmio.phys_addr, MMIO_BASE);
	ASSERT_LE(off + run->mmio.len, DEV_SIZE);
	ASSERT_TRUE(run->mmio.len == 1 || run->mmio.len == 2 ||
		    run->mmio.len == 4 || run->mmio.len == 8);
	if (run->mmio.is_write) {
		memcpy(dev + off, &run->mmio.data, run->mmio.len);
	} else {
		run->mmio.data = 0;
		memcpy(&run->mmio.data, dev + off, run->mmio.len);
	}
}

/* Run to UCALL_DONE, serving MMIO; a guest exception fails the test. */
static void run_to_done(struct __test_metadata *_metadata,
			struct test_vcpu *vcpu)
{
	struct minivmm_run *run = vcpu->run;
	struct minivmm_regs regs;

	for (;;) {
		ASSERT_EQ(0, test_vcpu_run(vcpu));
		if (run->exit_reason == MINIVMM_EXIT_MMIO) {
			dev_access(_metadata, run);
			continue;
		}
		ASSERT_EQ(MINIVMM_EXIT_IO, run->exit_reason) {
			TH_LOG("exit %s, internal suberror %u, insn %02x %02x %02x %02x",
			       exit_reason_str(run->exit_reason),
			       run->internal.suberror, run->internal.insn[0],
			       run->internal.insn[1], run->internal.insn[2],
			       run->internal.insn[3]);
		}
		ASSERT_EQ(UCALL_PORT, run->io.port);
		if (run->io.data == UCALL_DONE)
			return;
		test_get_regs(vcpu, &regs);
		ASSERT_EQ(UCALL_DONE, run->io.data) {
			TH_LOG("ucall %u rbx %#llx rcx %#llx rdx %#llx",
			       run->io.data, (unsigned long long)regs.rbx,
			       (unsigned long long)regs.rcx,
			       (unsigned long long)regs.rdx);
		}
	}
}

/* Run @c in a VM stored in *@vm, its vCPU in *@vcpu; compare the runs. */
static void run_case(struct __test_metadata *_metadata, struct test_vm **vm,
		     struct test_vcpu **vcpu, const struct emul_case *c)
{
	const uint64_t *ram, *mmio;
	enum guest_mode mode;
	unsigned int f, i;

	*vm = test_vm_create(GUEST_MEM_SIZE);
	*vcpu = test_vcpu_add(*vm, 0);
	mode = c->mode == MODE_PROTECTED ? MODE_PROTECTED : MODE_LONG;
	test_install_exc_handlers(*vm, mode);
	test_vcpu_load(*vcpu, mode, c->code, c->end - c->code);
	run_to_done(_metadata, *vcpu);

	for (f = 0; f < 2; f++) {
		ram = (void *)((*vm)->mem + OUT_RAM + f * OUT_STRIDE);
		mmio = (void *)((*vm)->mem + OUT_MMIO + f * OUT_STRIDE);
		for (i = 0; i < NR_SLOTS; i++) {
			if (((c->rel & REL_RSI) && i == S_RSI) ||
			    (!(c->rel & REL_RSI) && i == S_RSI_REL) ||
			    ((c->rel & REL_RDI) && i == S_RDI) ||
			    (!(c->rel & REL_RDI) && i == S_RDI_REL))
				continue;
			EXPECT_EQ(ram[i], mmio[i]) {
				TH_LOG("%s, flags in %s: CPU %#llx, emulated %#llx",
				       slot_names[i], f ? "0x8d7" : "0x2",
				       (unsigned long long)ram[i],
				       (unsigned long long)mmio[i]);
			}
		}
	}
}

/*
 * EMUL_TEST(name, body[, rel]): the guest name_code running @body, and the
 * test emul.name comparing its two runs.
 */
#define EMUL_TEST(name, body, ...)					\
	extern const unsigned char name##_code[], name##_code_end[];	\
	static const struct emul_case name##_case = {			\
		.code = name##_code, .end = name##_code_end,		\
		__VA_ARGS__						\
	};								\
	EMUL64(name##_code, body);					\
	TEST_F(emul, name)						\
	{								\
		REQUIRE_VMX();						\
		run_case(_metadata, &self->vm, &self->vcpu,		\
			 &name##_case);					\
	}

/*
 * EMUL32(name, body): EMUL64 for 32-bit protected mode: EAX, ECX, ESI,
 * EDI hold patterns, EDX = 37, and the guest saves dwords (the upper
 * halves of the result slots stay zero in both runs).
 */
#define EMUL32(name, body)						\
	GUEST_CODE(name, ".code32",					\
		   "mov $0x90000, %ebx\n\t"				\
		   "mov $0x92000, %ebp\n\t"				\
		   "call 1f\n\t"					\
		   "mov $0x10000000, %ebx\n\t"				\
		   "mov $0x92100, %ebp\n\t"				\
		   "call 1f\n\t"					\
		   GUEST_DONE_ASM					\
		   "hlt\n"						\
		   "1:\n\t"						\
		   "push $0x2\n\t"					\
		   "call 2f\n\t"					\
		   "add $4, %esp\n\t"					\
		   "add $0x80, %ebp\n\t"				\
		   "push $0x8d7\n\t"					\
		   "call 2f\n\t"					\
		   "add $4, %esp\n\t"					\
		   "ret\n"						\
		   "2:\n\t"						\
		   "movl $0xb4a59687, (%ebx)\n\t"			\
		   "movl $0xf0e1d2c3, 4(%ebx)\n\t"			\
		   "movl $0x4b5a6978, 8(%ebx)\n\t"			\
		   "movl $0x0f1e2d3c, 12(%ebx)\n\t"			\
		   "movl $0xa1a2a3a4, 0x94ffc\n\t"			\
		   "movl $0xb1b2b3b4, 0x95000\n\t"			\
		   "mov $0x55667788, %eax\n\t"				\
		   "mov $0x7f6e5d4c, %ecx\n\t"				\
		   "mov $37, %edx\n\t"					\
		   "mov $0x88776655, %esi\n\t"				\
		   "mov %esi, %edi\n\t"				\
		   "pushl 4(%esp)\n\t"					\
		   "popf\n\t"						\
		   body "\n\t"						\
		   "pushf\n\t"						\
		   "mov %eax, 0(%ebp)\n\t"				\
		   "mov %ecx, 8(%ebp)\n\t"				\
		   "mov %edx, 16(%ebp)\n\t"				\
		   "mov %esi, 24(%ebp)\n\t"				\
		   "mov %edi, 32(%ebp)\n\t"				\
		   "pop %eax\n\t"					\
		   "mov %eax, 48(%ebp)\n\t"				\
		   "mov %esi, %eax\n\t"				\
		   "sub %ebx, %eax\n\t"				\
		   "mov %eax, 56(%ebp)\n\t"				\
		   "mov %edi, %eax\n\t"				\
		   "sub %ebx, %eax\n\t"				\
		   "mov %eax, 64(%ebp)\n\t"				\
		   "mov (%ebx), %eax\n\t"				\
		   "mov %eax, 72(%ebp)\n\t"				\
		   "mov 4(%ebx), %eax\n\t"				\
		   "mov %eax, 80(%ebp)\n\t"				\
		   "mov 8(%ebx), %eax\n\t"				\
		   "mov %eax, 88(%ebp)\n\t"				\
		   "mov 12(%ebx), %eax\n\t"				\
		   "mov %eax, 96(%ebp)\n\t"				\
		   "ret\n")

/* EMUL32_TEST(name, body[, rel]): EMUL_TEST in protected mode. */
#define EMUL32_TEST(name, body, ...)					\
	extern const unsigned char name##_code[], name##_code_end[];	\
	static const struct emul_case name##_case = {			\
		.code = name##_code, .end = name##_code_end,		\
		.mode = MODE_PROTECTED, __VA_ARGS__			\
	};								\
	EMUL32(name##_code, body);					\
	TEST_F(emul, name)						\
	{								\
		REQUIRE_VMX();						\
		run_case(_metadata, &self->vm, &self->vcpu,		\
			 &name##_case);					\
	}

/* ---- loads: MOV, MOVZX, MOVSX, MOVSXD -------------------------------- */

EMUL_TEST(mov_load_high8, "mov 1(%rbx), %ah")
EMUL_TEST(mov_load_r8_rex, "mov 8(%rbx), %r8w")
EMUL_TEST(movzx_byte_to_dword, "movzbl 1(%rbx), %ecx")
EMUL_TEST(movzx_word_to_qword, "movzwq 2(%rbx), %rcx")
EMUL_TEST(movzx_byte_to_word, "movzbw (%rbx), %cx")
EMUL_TEST(movsx_byte_to_word, "movsbw (%rbx), %cx")
EMUL_TEST(movsx_word_to_dword, "movswl 6(%rbx), %ecx")
EMUL_TEST(movsx_byte_to_qword, "movsbq 7(%rbx), %rdx")
EMUL_TEST(movsxd_dword_to_qword, "movslq 4(%rbx), %rsi")

/* ---- stores ---------------------------------------------------------- */

EMUL_TEST(mov_store_imm_qword, "movq $-2, 8(%rbx)")
EMUL_TEST(mov_store_high8, "mov %ch, 3(%rbx)")

/* ---- arithmetic on memory, register and immediate sources ------------ */

EMUL_TEST(add_reg_to_byte, "add %cl, (%rbx)")
EMUL_TEST(add_reg_to_word, "add %cx, (%rbx)")
EMUL_TEST(add_reg_to_dword, "add %ecx, (%rbx)")
EMUL_TEST(add_reg_to_qword, "add %rcx, (%rbx)")
EMUL_TEST(add_mem_to_reg, "add (%rbx), %ecx")
EMUL_TEST(add_mem_to_high8, "add 7(%rbx), %ah")
EMUL_TEST(add_imm8_to_byte, "addb $0x7f, 7(%rbx)")
EMUL_TEST(add_simm8_to_dword, "addl $-5, (%rbx)")
EMUL_TEST(add_imm32_to_qword, "addq $0x7fffffff, 8(%rbx)")
EMUL_TEST(add_imm16_to_word, "addw $0x8001, 6(%rbx)")
EMUL_TEST(adc_reg_to_dword, "adc %eax, 4(%rbx)")
EMUL_TEST(adc_imm_to_byte, "adcb $0xff, 8(%rbx)")
EMUL_TEST(sbb_mem_from_reg, "sbb (%rbx), %rax")
EMUL_TEST(sbb_imm_from_word, "sbbw $1, 16(%rbx)")
EMUL_TEST(sub_reg_from_qword, "sub %r8, (%rbx)")
EMUL_TEST(sub_mem_from_reg, "sub 8(%rbx), %cx")
EMUL_TEST(sub_simm8_from_byte, "subb $0x80, 3(%rbx)")
EMUL_TEST(and_reg_to_dword, "and %ecx, 8(%rbx)")
EMUL_TEST(and_imm_to_qword, "andq $-256, (%rbx)")
EMUL_TEST(and_mem_to_reg8, "and 5(%rbx), %dl")
EMUL_TEST(or_reg_to_word, "or %si, 2(%rbx)")
EMUL_TEST(or_imm_to_dword, "orl $0x80000000, 12(%rbx)")
EMUL_TEST(or_mem_to_reg, "or 16(%rbx), %rdi")
EMUL_TEST(xor_reg_to_qword_zero, "xor %rcx, %rcx\n\txor %rcx, (%rbx)")
EMUL_TEST(xor_self_pattern, "mov (%rbx), %rax\n\txor %rax, (%rbx)")
EMUL_TEST(xor_imm_to_byte, "xorb $0x5a, 1(%rbx)")
EMUL_TEST(cmp_reg_with_dword, "cmp %ecx, (%rbx)")
EMUL_TEST(cmp_mem_with_reg, "cmp (%rbx), %rcx")
EMUL_TEST(cmp_imm_with_byte, "cmpb $0x87, (%rbx)")
EMUL_TEST(cmp_simm8_with_qword, "cmpq $-1, 8(%rbx)")
EMUL_TEST(test_reg_with_dword, "test %ecx, 4(%rbx)")
EMUL_TEST(test_imm_with_byte, "testb $0x80, 7(%rbx)")
EMUL_TEST(test_imm_with_word_zero, "testw $0x0101, 16(%rbx)")

/* ---- XCHG and the bit tests ------------------------------------------ */

EMUL_TEST(xchg_dword, "xchg %ecx, 4(%rbx)")
EMUL_TEST(xchg_high8, "xchg %ah, 2(%rbx)")
EMUL_TEST(xchg_qword_rex, "xchg %r8, 8(%rbx)")
EMUL_TEST(bt_reg_dword_next_dword, "bt %edx, (%rbx)")
EMUL_TEST(bts_reg_qword, "bts %rdx, (%rbx)")
EMUL_TEST(btr_reg_word, "btr %dx, 8(%rbx)")
EMUL_TEST(btc_reg_dword, "btc %edx, 8(%rbx)")
EMUL_TEST(bt_imm_dword, "btl $3, (%rbx)")
EMUL_TEST(bts_imm_qword, "btsq $63, 8(%rbx)")
EMUL_TEST(btr_imm_word, "btrw $15, 16(%rbx)")
EMUL_TEST(btc_imm_dword, "btcl $33, (%rbx)")

/* ---- string instructions: one element, REP, both directions ---------- */

EMUL_TEST(stos_word_rep,
	  "mov %rbx, %rdi\n\tmov $3, %ecx\n\trep stosw", .rel = REL_RDI)
EMUL_TEST(stos_dword_rep_backwards,
	  "lea 24(%rbx), %rdi\n\tmov $4, %ecx\n\tstd\n\trep stosl\n\tcld",
	  .rel = REL_RDI)
EMUL_TEST(stos_qword_once, "lea 8(%rbx), %rdi\n\tstosq", .rel = REL_RDI)
EMUL_TEST(stos_rep_zero_count,
	  "mov %rbx, %rdi\n\txor %ecx, %ecx\n\trep stosb", .rel = REL_RDI)
EMUL_TEST(lods_dword, "lea 4(%rbx), %rsi\n\tlodsl", .rel = REL_RSI)
EMUL_TEST(lods_byte_backwards, "lea 9(%rbx), %rsi\n\tstd\n\tlodsb\n\tcld",
	  .rel = REL_RSI)
EMUL_TEST(movs_mmio_to_mmio_rep,
	  "mov %rbx, %rsi\n\tlea 16(%rbx), %rdi\n\tmov $3, %ecx\n\t"
	  "rep movsl", .rel = REL_RSI | REL_RDI)
EMUL_TEST(movs_mmio_to_mmio_backwards,
	  "lea 6(%rbx), %rsi\n\tlea 30(%rbx), %rdi\n\tmov $4, %ecx\n\t"
	  "std\n\trep movsw\n\tcld", .rel = REL_RSI | REL_RDI)
/* The RAM side crosses a page boundary: 0x94ffc-0x95003. */
EMUL_TEST(movs_ram_to_mmio_across_page,
	  "mov $0x94ffc, %esi\n\tmov %rbx, %rdi\n\tmov $4, %ecx\n\t"
	  "rep movsw", .rel = REL_RDI)
EMUL_TEST(movs_mmio_to_ram_across_page_backwards,
	  "lea 6(%rbx), %rsi\n\tmov $0x95002, %edi\n\tmov $4, %ecx\n\t"
	  "std\n\trep movsw\n\tcld", .rel = REL_RSI)
/* A dword straddling the boundary: the copy is split across pages. */
EMUL_TEST(movs_mmio_to_ram_straddling_element,
	  "lea 8(%rbx), %rsi\n\tmov $0x94ffe, %edi\n\tmovsl", .rel = REL_RSI)
EMUL_TEST(movs_qword_mmio_to_ram_addr32,
	  "lea 16(%rbx), %esi\n\tmov $0x94ff8, %edi\n\tmov $2, %ecx\n\t"
	  "addr32 rep movsq", .rel = REL_RSI)

/* ---- the same in 32-bit protected mode ------------------------------- */

EMUL32_TEST(pm_add_reg_to_dword, "add %ecx, 4(%ebx)")
EMUL32_TEST(pm_add_reg_to_word_opsize, "add %cx, 2(%ebx)")
EMUL32_TEST(pm_sub_simm8_from_word, "subw $-3, 6(%ebx)")
EMUL32_TEST(pm_adc_imm32_to_dword, "adcl $0x80000000, (%ebx)")
EMUL32_TEST(pm_cmp_mem_with_high8, "cmp 3(%ebx), %ch")
EMUL32_TEST(pm_or_mem_to_word_reg, "or 8(%ebx), %si")
EMUL32_TEST(pm_test_imm_with_dword, "testl $0x00010000, 12(%ebx)")
EMUL32_TEST(pm_xchg_word, "xchg %ax, 10(%ebx)")
EMUL32_TEST(pm_bts_reg_dword, "bts %edx, (%ebx)")
EMUL32_TEST(pm_btr_imm_word, "btrw $9, 8(%ebx)")
EMUL32_TEST(pm_movzx_byte, "movzbl 5(%ebx), %edi")
EMUL32_TEST(pm_movsx_word, "movswl 2(%ebx), %eax")
EMUL32_TEST(pm_stos_word_rep_backwards,
	    "lea 14(%ebx), %edi\n\tmov $5, %ecx\n\tstd\n\trep stosw\n\tcld",
	    .rel = REL_RDI)
EMUL32_TEST(pm_movs_mmio_to_mmio,
	    "mov %ebx, %esi\n\tlea 8(%ebx), %edi\n\tmov $2, %ecx\n\t"
	    "rep movsl", .rel = REL_RSI | REL_RDI)
EMUL32_TEST(pm_movs_ram_to_mmio_across_page,
	    "mov $0x94ffd, %esi\n\tmov %ebx, %edi\n\tmov $6, %ecx\n\t"
	    "rep movsb", .rel = REL_RDI)
EMUL32_TEST(pm_lods_word, "lea 6(%ebx), %esi\n\tlodsw", .rel = REL_RSI)

/* ---- the read-modify-write sequence seen from userspace -------------- */

GUEST_CODE(guest_rmw, ".code64",
	   "mov $0x10000000, %ebx\n\t"
	   "mov $0x80000001, %ecx\n\t"
	   "push $0x2\n\t"
	   "popf\n\t"
	   GUEST_LABEL(guest_rmw_insn)
	   "add %ecx, 4(%rbx)\n\t"
	   GUEST_LABEL(guest_rmw_after)
	   "pushf\n\t"
	   "pop %r12\n\t"
	   GUEST_DONE_ASM
	   "hlt");
extern const unsigned char guest_rmw_insn[], guest_rmw_after[];

/* ADD to MMIO: a read exit, then a write exit with the sum; then flags. */
TEST_F(emul, read_modify_write_is_a_read_then_a_write_exit)
{
	uint64_t after = GUEST_LONG_ADDR(guest_rmw, guest_rmw_after);
	struct minivmm_regs regs;
	struct minivmm_run *run;

	REQUIRE_VMX();
	self->vm = test_vm_create(GUEST_MEM_SIZE);
	self->vcpu = test_vcpu_add(self->vm, 0);
	test_vcpu_load(self->vcpu, MODE_LONG, guest_rmw,
		       GUEST_CODE_SIZE(guest_rmw));

	run = test_run_expect(self->vcpu, MINIVMM_EXIT_MMIO);
	EXPECT_EQ(MMIO_BASE + 4, run->mmio.phys_addr);
	EXPECT_EQ(4, run->mmio.len);
	EXPECT_EQ(0, run->mmio.is_write);
	EXPECT_EQ(after, run->rip);
	run->mmio.data = 0x80000000;

	run = test_run_expect(self->vcpu, MINIVMM_EXIT_MMIO);
	EXPECT_EQ(MMIO_BASE + 4, run->mmio.phys_addr);
	EXPECT_EQ(4, run->mmio.len);
	EXPECT_EQ(1, run->mmio.is_write);
	EXPECT_EQ(1, run->mmio.data);
	EXPECT_EQ(after, run->rip);

	test_expect_done(self->vcpu);
	test_get_regs(self->vcpu, &regs);
	/* 0x80000000 + 0x80000001: carry and overflow, result 1. */
	EXPECT_EQ(0x801, regs.r12 & 0x8d5);
}

/* CMP only reads: one exit, no write. */
GUEST_CODE(guest_cmp, ".code64",
	   "mov $0x10000000, %ebx\n\t"
	   "cmpl $5, (%rbx)\n\t"
	   GUEST_DONE_ASM
	   "hlt");

TEST_F(emul, cmp_is_one_read_exit)
{
	struct minivmm_run *run;

	REQUIRE_VMX();
	self->vm = test_vm_create(GUEST_MEM_SIZE);
	self->vcpu = test_vcpu_add(self->vm, 0);
	test_vcpu_load(self->vcpu, MODE_LONG, guest_cmp,
		       GUEST_CODE_SIZE(guest_cmp));
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_MMIO);
	EXPECT_EQ(0, run->mmio.is_write);
	run->mmio.data = 5;
	test_expect_done(self->vcpu);
}

/*
 * REP STOS to MMIO: one exit per element with RCX and RDI counting, RIP
 * on the instruction until the last one.
 */
GUEST_CODE(guest_rep_stos, ".code64",
	   "mov $0x10000000, %edi\n\t"
	   "mov $3, %ecx\n\t"
	   "mov $0xabcd, %eax\n\t"
	   GUEST_LABEL(guest_rep_stos_insn)
	   "rep stosw\n\t"
	   GUEST_LABEL(guest_rep_stos_after)
	   GUEST_DONE_ASM
	   "hlt");
extern const unsigned char guest_rep_stos_insn[], guest_rep_stos_after[];

TEST_F(emul, rep_stos_exits_per_element_with_registers_updated)
{
	uint64_t insn = GUEST_LONG_ADDR(guest_rep_stos, guest_rep_stos_insn);
	uint64_t after = GUEST_LONG_ADDR(guest_rep_stos, guest_rep_stos_after);
	struct minivmm_regs regs;
	struct minivmm_run *run;
	int i;

	REQUIRE_VMX();
	self->vm = test_vm_create(GUEST_MEM_SIZE);
	self->vcpu = test_vcpu_add(self->vm, 0);
	test_vcpu_load(self->vcpu, MODE_LONG, guest_rep_stos,
		       GUEST_CODE_SIZE(guest_rep_stos));
	for (i = 0; i < 3; i++) {
		run = test_run_expect(self->vcpu, MINIVMM_EXIT_MMIO);
		EXPECT_EQ(MMIO_BASE + 2 * i, run->mmio.phys_addr);
		EXPECT_EQ(2, run->mmio.len);
		EXPECT_EQ(1, run->mmio.is_write);
		EXPECT_EQ(0xabcd, run->mmio.data);
		EXPECT_EQ(i == 2 ? after : insn, run->rip);
		test_get_regs(self->vcpu, &regs);
		EXPECT_EQ(2 - i, regs.rcx);
		EXPECT_EQ(MMIO_BASE + 2 * (i + 1), regs.rdi);
	}
	test_expect_done(self->vcpu);
}

/*
 * MOVS from MMIO to a linear address that is not mapped: #PF with a
 * write error code, CR2 and the MOVS as the faulting instruction, and
 * the registers untouched.
 */
GUEST_CODE(guest_movs_pf, ".code64",
	   "mov $0x10000000, %esi\n\t"
	   "mov $0x40000000, %edi\n\t"
	   "mov $2, %ecx\n\t"
	   GUEST_LABEL(guest_movs_pf_insn)
	   "rep movsl\n\t"
	   "hlt");
extern const unsigned char guest_movs_pf_insn[];

TEST_F(emul, movs_to_unmapped_page_raises_page_fault)
{
	struct minivmm_sregs sregs;
	struct minivmm_regs regs;
	struct ucall uc;

	REQUIRE_VMX();
	self->vm = test_vm_create(GUEST_MEM_SIZE);
	self->vcpu = test_vcpu_add(self->vm, 0);
	test_install_exc_handlers(self->vm, MODE_LONG);
	test_vcpu_load(self->vcpu, MODE_LONG, guest_movs_pf,
		       GUEST_CODE_SIZE(guest_movs_pf));
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
	EXPECT_EQ(EXC_SYNC(14), uc.args[0]);
	/* Not present, write, supervisor. */
	EXPECT_EQ(2, uc.args[1]);
	EXPECT_EQ(GUEST_LONG_ADDR(guest_movs_pf, guest_movs_pf_insn),
		  uc.args[2]);
	test_get_sregs(self->vcpu, &sregs);
	EXPECT_EQ(0x40000000, sregs.cr2);
	/* The handler clobbers RCX; RSI and RDI are as before. */
	test_get_regs(self->vcpu, &regs);
	EXPECT_EQ(MMIO_BASE, regs.rsi);
	EXPECT_EQ(0x40000000, regs.rdi);
}

/* ---- INS and OUTS: batches in the run structure's data area ---------- */

#define SIO_PORT	0xf0

/*
 * Run to the next exit and require a batch of @count elements of @size
 * bytes on SIO_PORT in direction @dir, with RIP at @rip; returns the data.
 */
static uint8_t *expect_batch(struct __test_metadata *_metadata,
			     struct test_vcpu *vcpu, unsigned int size,
			     unsigned int dir, unsigned int count, uint64_t rip)
{
	struct minivmm_run *run = test_run_expect(vcpu, MINIVMM_EXIT_IO);

	EXPECT_EQ(SIO_PORT, run->io.port);
	EXPECT_EQ(size, run->io.size);
	EXPECT_EQ(dir, run->io.direction);
	EXPECT_EQ(count, run->io.count);
	EXPECT_EQ(rip, run->rip);
	EXPECT_EQ(MINIVMM_RUN_DATA_OFFSET, run->io.data_offset);
	return (uint8_t *)run + MINIVMM_RUN_DATA_OFFSET;
}

FIXTURE(strio) {
	struct test_vm *vm;
	struct test_vcpu *vcpu;
};

FIXTURE_SETUP(strio)
{
	self->vm = test_vm_create(GUEST_MEM_SIZE);
	self->vcpu = test_vcpu_add(self->vm, 0);
	test_install_exc_handlers(self->vm, MODE_LONG);
}

FIXTURE_TEARDOWN(strio)
{
	test_vcpu_destroy(self->vcpu);
	test_vm_destroy(self->vm);
}

/* Fill guest memory [@gpa, @gpa + @len) with bytes @seed, @seed + 1, ... */
static void fill(struct test_vm *vm, uint64_t gpa, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		vm->mem[gpa + i] = seed + i * 7;
}

GUEST_CODE(sio_outsb, ".code64",
	   "mov $0xf0, %edx\n\t"
	   "mov $0x94ffc, %esi\n\t"
	   "mov $10, %ecx\n\t"
	   "rep outsb\n\t"
	   GUEST_LABEL(sio_outsb_after)
	   GUEST_DONE_ASM
	   "hlt");
extern const unsigned char sio_outsb_after[];

TEST_F(strio, rep_outsb_across_a_page_is_one_batch)
{
	struct minivmm_regs regs;
	uint8_t *data;

	REQUIRE_VMX();
	fill(self->vm, 0x94ffc, 10, 0x30);
	test_vcpu_load(self->vcpu, MODE_LONG, sio_outsb,
		       GUEST_CODE_SIZE(sio_outsb));
	data = expect_batch(_metadata, self->vcpu, 1, MINIVMM_IO_OUT, 10,
			    GUEST_LONG_ADDR(sio_outsb, sio_outsb_after));
	EXPECT_EQ(0, memcmp(data, self->vm->mem + 0x94ffc, 10));
	test_expect_done(self->vcpu);
	test_get_regs(self->vcpu, &regs);
	EXPECT_EQ(0x94ffc + 10, regs.rsi);
}

GUEST_CODE(sio_outsw_down, ".code64",
	   "mov $0xf0, %edx\n\t"
	   "mov $0x95002, %esi\n\t"
	   "mov $5, %ecx\n\t"
	   "std\n\t"
	   "rep outsw\n\t"
	   GUEST_LABEL(sio_outsw_down_after)
	   "cld\n\t"
	   "mov %rcx, %r8\n\t"
	   GUEST_DONE_ASM
	   "hlt");
extern const unsigned char sio_outsw_down_after[];

TEST_F(strio, rep_outsw_backwards_in_execution_order)
{
	struct minivmm_regs regs;
	uint8_t *data;
	int i;

	REQUIRE_VMX();
	fill(self->vm, 0x94ff8, 12, 0x40);
	test_vcpu_load(self->vcpu, MODE_LONG, sio_outsw_down,
		       GUEST_CODE_SIZE(sio_outsw_down));
	data = expect_batch(_metadata, self->vcpu, 2, MINIVMM_IO_OUT, 5,
			    GUEST_LONG_ADDR(sio_outsw_down,
					    sio_outsw_down_after));
	for (i = 0; i < 5; i++)
		EXPECT_EQ(0, memcmp(data + 2 * i,
				    self->vm->mem + 0x95002 - 2 * i, 2))
			TH_LOG("element %d", i);
	test_expect_done(self->vcpu);
	test_get_regs(self->vcpu, &regs);
	EXPECT_EQ(0x95002 - 10, regs.rsi);
	EXPECT_EQ(0, regs.r8);
}

GUEST_CODE(sio_insl, ".code64",
	   "mov $0xf0, %edx\n\t"
	   "mov $0x94ff8, %edi\n\t"
	   "mov $6, %ecx\n\t"
	   "rep insl\n\t"
	   GUEST_LABEL(sio_insl_after)
	   GUEST_DONE_ASM
	   "hlt");
extern const unsigned char sio_insl_after[];

TEST_F(strio, rep_insl_lands_in_memory_across_a_page)
{
	struct minivmm_regs regs;
	uint32_t *data, got;
	int i;

	REQUIRE_VMX();
	test_vcpu_load(self->vcpu, MODE_LONG, sio_insl,
		       GUEST_CODE_SIZE(sio_insl));
	data = (uint32_t *)expect_batch(_metadata, self->vcpu, 4,
					MINIVMM_IO_IN, 6,
					GUEST_LONG_ADDR(sio_insl,
							sio_insl_after));
	for (i = 0; i < 6; i++)
		data[i] = 0x11110000 + i;
	test_expect_done(self->vcpu);
	for (i = 0; i < 6; i++) {
		memcpy(&got, self->vm->mem + 0x94ff8 + 4 * i, 4);
		EXPECT_EQ(0x11110000 + i, got);
	}
	test_get_regs(self->vcpu, &regs);
	EXPECT_EQ(0x94ff8 + 24, regs.rdi);
	EXPECT_EQ(0, regs.rcx);
}

GUEST_CODE(sio_insw_down, ".code64",
	   "mov $0xf0, %edx\n\t"
	   "mov $0x95000, %edi\n\t"
	   "mov $3, %ecx\n\t"
	   "std\n\t"
	   "rep insw\n\t"
	   "cld\n\t"
	   GUEST_DONE_ASM
	   "hlt");

TEST_F(strio, rep_insw_backwards)
{
	struct minivmm_regs regs;
	uint16_t *data, got;
	int i;

	REQUIRE_VMX();
	test_vcpu_load(self->vcpu, MODE_LONG, sio_insw_down,
		       GUEST_CODE_SIZE(sio_insw_down));
	ASSERT_EQ(0, test_vcpu_run(self->vcpu));
	ASSERT_EQ(MINIVMM_EXIT_IO, self->vcpu->run->exit_reason);
	ASSERT_EQ(3, self->vcpu->run->io.count);
	data = (uint16_t *)((uint8_t *)self->vcpu->run +
			    self->vcpu->run->io.data_offset);
	for (i = 0; i < 3; i++)
		data[i] = 0xa000 + i;
	test_expect_done(self->vcpu);
	for (i = 0; i < 3; i++) {
		memcpy(&got, self->vm->mem + 0x95000 - 2 * i, 2);
		EXPECT_EQ(0xa000 + i, got);
	}
	test_get_regs(self->vcpu, &regs);
	EXPECT_EQ(0x95000 - 6, regs.rdi);
}

#define BIG_COUNT	5000
#define BIG_GPA		0x100000

GUEST_CODE(sio_insb_big, ".code64",
	   "mov $0xf0, %edx\n\t"
	   "mov $0x100000, %edi\n\t"
	   "mov $5000, %ecx\n\t"
	   GUEST_LABEL(sio_insb_big_insn)
	   "rep insb\n\t"
	   GUEST_LABEL(sio_insb_big_after)
	   GUEST_DONE_ASM
	   "hlt");
extern const unsigned char sio_insb_big_insn[], sio_insb_big_after[];

/* More than the data area holds: a full batch, then the rest. */
TEST_F(strio, rep_insb_longer_than_a_batch_exits_twice)
{
	unsigned int first = MINIVMM_RUN_DATA_SIZE;
	struct minivmm_regs regs;
	uint8_t *data;
	unsigned int i;

	REQUIRE_VMX();
	test_vcpu_load(self->vcpu, MODE_LONG, sio_insb_big,
		       GUEST_CODE_SIZE(sio_insb_big));
	data = expect_batch(_metadata, self->vcpu, 1, MINIVMM_IO_IN, first,
			    GUEST_LONG_ADDR(sio_insb_big, sio_insb_big_insn));
	for (i = 0; i < first; i++)
		data[i] = i * 3;
	test_get_regs(self->vcpu, &regs);
	EXPECT_EQ(BIG_COUNT - first, regs.rcx);
	data = expect_batch(_metadata, self->vcpu, 1, MINIVMM_IO_IN,
			    BIG_COUNT - first,
			    GUEST_LONG_ADDR(sio_insb_big, sio_insb_big_after));
	for (i = 0; i < BIG_COUNT - first; i++)
		data[i] = (first + i) * 3;
	test_expect_done(self->vcpu);
	for (i = 0; i < BIG_COUNT; i++)
		if (self->vm->mem[BIG_GPA + i] != (uint8_t)(i * 3))
			break;
	EXPECT_EQ(BIG_COUNT, i);
	test_get_regs(self->vcpu, &regs);
	EXPECT_EQ(BIG_GPA + BIG_COUNT, regs.rdi);
	EXPECT_EQ(0, regs.rcx);
}

GUEST_CODE(sio_outsl_one, ".code64",
	   "mov $0xf0, %edx\n\t"
	   "mov $0x94ffe, %esi\n\t"
	   "mov $7, %ecx\n\t"
	   "outsl\n\t"
	   GUEST_LABEL(sio_outsl_one_after)
	   GUEST_DONE_ASM
	   "hlt");
extern const unsigned char sio_outsl_one_after[];

/* Without REP: one element (this one straddles a page); RCX untouched. */
TEST_F(strio, outsl_without_rep_is_one_element)
{
	struct minivmm_regs regs;
	uint8_t *data;

	REQUIRE_VMX();
	fill(self->vm, 0x94ffe, 4, 0x70);
	test_vcpu_load(self->vcpu, MODE_LONG, sio_outsl_one,
		       GUEST_CODE_SIZE(sio_outsl_one));
	data = expect_batch(_metadata, self->vcpu, 4, MINIVMM_IO_OUT, 1,
			    GUEST_LONG_ADDR(sio_outsl_one,
					    sio_outsl_one_after));
	EXPECT_EQ(0, memcmp(data, self->vm->mem + 0x94ffe, 4));
	test_expect_done(self->vcpu);
	test_get_regs(self->vcpu, &regs);
	EXPECT_EQ(7, regs.rcx);
	EXPECT_EQ(0x94ffe + 4, regs.rsi);
}

GUEST_CODE(sio_ins_pf, ".code64",
	   "mov $0xf0, %edx\n\t"
	   "mov $0x40000000, %edi\n\t"
	   "mov $4, %ecx\n\t"
	   GUEST_LABEL(sio_ins_pf_insn)
	   "rep insb\n\t"
	   "hlt");
extern const unsigned char sio_ins_pf_insn[];

/*
 * INS to an unmapped page: the #PF a CPU raises on the store, with no
 * exit: minivmm checks the destination before asking for the data.
 */
TEST_F(strio, rep_ins_to_unmapped_page_raises_page_fault)
{
	struct minivmm_sregs sregs;
	struct ucall uc;

	REQUIRE_VMX();
	test_vcpu_load(self->vcpu, MODE_LONG, sio_ins_pf,
		       GUEST_CODE_SIZE(sio_ins_pf));
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
	EXPECT_EQ(EXC_SYNC(14), uc.args[0]);
	EXPECT_EQ(2, uc.args[1]);
	EXPECT_EQ(GUEST_LONG_ADDR(sio_ins_pf, sio_ins_pf_insn), uc.args[2]);
	test_get_sregs(self->vcpu, &sregs);
	EXPECT_EQ(0x40000000, sregs.cr2);
}

GUEST_CODE(sio_outs_gp, ".code64",
	   "mov $0xf0, %edx\n\t"
	   "movabs $0x8000000000000000, %rsi\n\t"
	   "mov $4, %ecx\n\t"
	   GUEST_LABEL(sio_outs_gp_insn)
	   "rep outsb\n\t"
	   "hlt");
extern const unsigned char sio_outs_gp_insn[];

/* A non-canonical source: #GP(0), no exit. */
TEST_F(strio, outs_from_non_canonical_address_raises_gp)
{
	struct ucall uc;

	REQUIRE_VMX();
	test_vcpu_load(self->vcpu, MODE_LONG, sio_outs_gp,
		       GUEST_CODE_SIZE(sio_outs_gp));
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
	EXPECT_EQ(EXC_SYNC(13), uc.args[0]);
	EXPECT_EQ(0, uc.args[1]);
	EXPECT_EQ(GUEST_LONG_ADDR(sio_outs_gp, sio_outs_gp_insn), uc.args[2]);
}

/*
 * Real mode, 16-bit addresses: SI wraps from 0xffff to 0 inside DS
 * (0x5000), and an ES override takes the bytes from ES (0x6000).
 */
GUEST_CODE(sio_real, ".code16",
	   "mov $0x5000, %ax\n\t"
	   "mov %ax, %ds\n\t"
	   "mov $0x6000, %ax\n\t"
	   "mov %ax, %es\n\t"
	   "mov $0xf0, %dx\n\t"
	   "mov $0x1234fffe, %esi\n\t"
	   "mov $0xabcd0004, %ecx\n\t"
	   "rep outsb\n\t"
	   "mov %esi, %ebp\n\t"
	   "mov %ecx, %edi\n\t"
	   "mov $0x10, %si\n\t"
	   "mov $2, %cx\n\t"
	   "rep outsw %es:(%si), (%dx)\n\t"
	   "mov $0, %eax\n\t"
	   "out %eax, $0xf8\n\t"
	   "hlt");

TEST_F(strio, real_mode_si_wraps_and_segment_override)
{
	struct minivmm_regs regs;
	uint8_t *data;

	REQUIRE_VMX();
	fill(self->vm, 0x5fffe, 2, 0x11);
	fill(self->vm, 0x50000, 2, 0x22);
	fill(self->vm, 0x60010, 4, 0x33);
	fill(self->vm, 0x50010, 4, 0x44);
	test_vcpu_load(self->vcpu, MODE_REAL, sio_real,
		       GUEST_CODE_SIZE(sio_real));
	data = (uint8_t *)self->vcpu->run + MINIVMM_RUN_DATA_OFFSET;

	test_run_expect(self->vcpu, MINIVMM_EXIT_IO);
	ASSERT_EQ(4, self->vcpu->run->io.count);
	EXPECT_EQ(self->vm->mem[0x5fffe], data[0]);
	EXPECT_EQ(self->vm->mem[0x5ffff], data[1]);
	EXPECT_EQ(self->vm->mem[0x50000], data[2]);
	EXPECT_EQ(self->vm->mem[0x50001], data[3]);

	test_run_expect(self->vcpu, MINIVMM_EXIT_IO);
	ASSERT_EQ(2, self->vcpu->run->io.count);
	EXPECT_EQ(2, self->vcpu->run->io.size);
	EXPECT_EQ(0, memcmp(data, self->vm->mem + 0x60010, 4));

	test_expect_done(self->vcpu);
	test_get_regs(self->vcpu, &regs);
	/* Only SI and CX count; the upper halves stay. */
	EXPECT_EQ(0x12340002, regs.rbp);
	EXPECT_EQ(0xabcd0000, regs.rdi);
}

/* Protected mode with an address-size prefix: 16-bit SI and CX again. */
GUEST_CODE(sio_addr16, ".code32",
	   "mov $0xf0, %edx\n\t"
	   "mov $0x5678fffe, %esi\n\t"
	   "mov $0x00010003, %ecx\n\t"
	   "addr16 rep outsb\n\t"
	   "mov %esi, %ebp\n\t"
	   "mov %ecx, %edi\n\t"
	   GUEST_DONE_ASM
	   "hlt");

TEST_F(strio, address_size_prefix_uses_16_bit_registers)
{
	struct minivmm_regs regs;
	uint8_t *data;

	REQUIRE_VMX();
	fill(self->vm, 0xfffe, 2, 0x55);
	test_vcpu_load(self->vcpu, MODE_PROTECTED, sio_addr16,
		       GUEST_CODE_SIZE(sio_addr16));
	data = (uint8_t *)self->vcpu->run + MINIVMM_RUN_DATA_OFFSET;
	test_run_expect(self->vcpu, MINIVMM_EXIT_IO);
	ASSERT_EQ(3, self->vcpu->run->io.count);
	EXPECT_EQ(self->vm->mem[0xfffe], data[0]);
	EXPECT_EQ(self->vm->mem[0xffff], data[1]);
	EXPECT_EQ(self->vm->mem[0], data[2]);
	test_expect_done(self->vcpu);
	test_get_regs(self->vcpu, &regs);
	EXPECT_EQ(0x56780001, regs.rbp);
	EXPECT_EQ(0x00010000, regs.rdi);
}

/* ---- MOVS through the guest's page tables ---------------------------- */

/*
 * The RAM side of a MOVS is found by walking the guest's page tables: map
 * two linear pages onto physical pages that are not adjacent (PAGE_A,
 * PAGE_B), copy three dwords from MMIO across the linear boundary, then
 * one dword that straddles it.
 */
#define PAGE_A		0x95000
#define PAGE_B		0x97000
#define PT_BASE		0x20000		/* page-table pages from here */

#define MOVS_PAGED(name, mode, lin)					\
	GUEST_CODE(name, mode,						\
		   "mov $0x10000000, %esi\n\t"				\
		   "mov $(" #lin " + 0xffc), %edi\n\t"		\
		   "mov $3, %ecx\n\t"					\
		   "rep movsl\n\t"					\
		   "mov $(" #lin " + 0xffe), %edi\n\t"		\
		   "movsl\n\t"					\
		   GUEST_DONE_ASM					\
		   "hlt")

MOVS_PAGED(movs_paged32, ".code32", 0x400000);
MOVS_PAGED(movs_paged64, ".code64", 0x40000000);

static uint32_t *pt32(struct test_vm *vm, int n)
{
	return (uint32_t *)(vm->mem + PT_BASE + n * 0x1000);
}

static uint64_t *pt64(struct test_vm *vm, int n)
{
	return (uint64_t *)(vm->mem + PT_BASE + n * 0x1000);
}

static uint64_t pt_addr(int n)
{
	return PT_BASE + n * 0x1000;
}

/* Serve the four reads, then check where the dwords landed. */
static void check_movs_paged(struct __test_metadata *_metadata,
			     struct test_vm *vm, struct test_vcpu *vcpu)
{
	static const uint32_t vals[4] = {
		0xa0b0c0d0, 0xa1b1c1d1, 0xa2b2c2d2, 0x44332211,
	};
	struct minivmm_run *run;
	uint32_t got;
	int i;

	memset(vm->mem + PAGE_A, 0, 0x1000);
	memset(vm->mem + PAGE_B, 0, 0x1000);
	for (i = 0; i < 4; i++) {
		run = test_run_expect(vcpu, MINIVMM_EXIT_MMIO);
		EXPECT_EQ(MMIO_BASE + 4 * i, run->mmio.phys_addr);
		EXPECT_EQ(0, run->mmio.is_write);
		EXPECT_EQ(4, run->mmio.len);
		run->mmio.data = vals[i];
	}
	test_expect_done(vcpu);
	/* The last dword overwrote half of each of the first two. */
	memcpy(&got, vm->mem + PAGE_A + 0xffc, 4);
	EXPECT_EQ(vals[0] & 0xffff, got & 0xffff);
	memcpy(&got, vm->mem + PAGE_B, 4);
	EXPECT_EQ(vals[1] >> 16, got >> 16);
	memcpy(&got, vm->mem + PAGE_B + 4, 4);
	EXPECT_EQ(vals[2], got);
	/* The straddling dword: two bytes on each page. */
	EXPECT_EQ(0x11, vm->mem[PAGE_A + 0xffe]);
	EXPECT_EQ(0x22, vm->mem[PAGE_A + 0xfff]);
	EXPECT_EQ(0x33, vm->mem[PAGE_B]);
	EXPECT_EQ(0x44, vm->mem[PAGE_B + 1]);
}

FIXTURE(paged) {
	struct test_vm *vm;
	struct test_vcpu *vcpu;
};

FIXTURE_SETUP(paged)
{
	self->vm = test_vm_create(GUEST_MEM_SIZE);
	self->vcpu = test_vcpu_add(self->vm, 0);
}

FIXTURE_TEARDOWN(paged)
{
	test_vcpu_destroy(self->vcpu);
	test_vm_destroy(self->vm);
}

/* 32-bit paging, 4 KiB pages. */
TEST_F(paged, movs_through_32_bit_paging)
{
	struct minivmm_sregs sregs;
	int i;

	REQUIRE_VMX();
	test_vcpu_load(self->vcpu, MODE_PROTECTED, movs_paged32,
		       GUEST_CODE_SIZE(movs_paged32));
	memset(self->vm->mem + PT_BASE, 0, 4 * 0x1000);
	/* The low 2 MiB identity mapped, MMIO_BASE, and the two pages. */
	pt32(self->vm, 0)[0] = pt_addr(1) | 3;
	for (i = 0; i < 512; i++)
		pt32(self->vm, 1)[i] = (i << 12) | 3;
	pt32(self->vm, 0)[1] = pt_addr(2) | 3;
	pt32(self->vm, 2)[0] = PAGE_A | 3;
	pt32(self->vm, 2)[1] = PAGE_B | 3;
	pt32(self->vm, 0)[MMIO_BASE >> 22] = pt_addr(3) | 3;
	pt32(self->vm, 3)[0] = MMIO_BASE | 3;
	test_get_sregs(self->vcpu, &sregs);
	sregs.cr3 = pt_addr(0);
	sregs.cr0 |= 1ULL << 31;
	test_set_sregs(self->vcpu, &sregs);
	check_movs_paged(_metadata, self->vm, self->vcpu);
	/* The walk set accessed bits, and dirty bits on the written pages. */
	EXPECT_EQ(0x20, pt32(self->vm, 0)[1] & 0x60);
	EXPECT_EQ(0x60, pt32(self->vm, 2)[0] & 0x60);
	EXPECT_EQ(0x60, pt32(self->vm, 2)[1] & 0x60);
}

/* PAE paging: PDPTEs from the VMCS, 4 KiB and 2 MiB pages. */
TEST_F(paged, movs_through_pae_paging)
{
	struct minivmm_sregs sregs;
	int i;

	REQUIRE_VMX();
	test_vcpu_load(self->vcpu, MODE_PROTECTED, movs_paged32,
		       GUEST_CODE_SIZE(movs_paged32));
	memset(self->vm->mem + PT_BASE, 0, 4 * 0x1000);
	pt64(self->vm, 0)[0] = pt_addr(1) | 1;		/* PDPTE: P only */
	pt64(self->vm, 1)[0] = pt_addr(2) | 3;		/* 0-2 MiB */
	for (i = 0; i < 512; i++)
		pt64(self->vm, 2)[i] = (i << 12) | 3;
	pt64(self->vm, 1)[2] = pt_addr(3) | 3;		/* 4 MiB: the pages */
	pt64(self->vm, 3)[0] = PAGE_A | 3;
	pt64(self->vm, 3)[1] = PAGE_B | 3;
	pt64(self->vm, 1)[MMIO_BASE >> 21] = MMIO_BASE | 0x83;
	test_get_sregs(self->vcpu, &sregs);
	sregs.cr3 = pt_addr(0);
	sregs.cr4 |= 1ULL << 5;
	sregs.cr0 |= 1ULL << 31;
	test_set_sregs(self->vcpu, &sregs);
	check_movs_paged(_metadata, self->vm, self->vcpu);
}

/* 4-level paging: the second GiB of linear space on the two pages. */
TEST_F(paged, movs_through_4_level_paging)
{
	uint64_t *pdpt = (uint64_t *)(self->vm->mem + GUEST_PML4 + 0x1000);

	REQUIRE_VMX();
	test_vcpu_load(self->vcpu, MODE_LONG, movs_paged64,
		       GUEST_CODE_SIZE(movs_paged64));
	memset(self->vm->mem + PT_BASE, 0, 2 * 0x1000);
	pdpt[1] = pt_addr(0) | 3;
	pt64(self->vm, 0)[0] = pt_addr(1) | 3;
	pt64(self->vm, 1)[0] = PAGE_A | 3;
	pt64(self->vm, 1)[1] = PAGE_B | 3;
	check_movs_paged(_metadata, self->vm, self->vcpu);
	EXPECT_EQ(0x20, pdpt[1] & 0x60);
	EXPECT_EQ(0x60, pt64(self->vm, 1)[0] & 0x60);
	EXPECT_EQ(0x60, pt64(self->vm, 1)[1] & 0x60);
}

TEST_HARNESS_MAIN

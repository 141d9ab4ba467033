// SPDX-License-Identifier: GPL-2.0
/*
 * Exceptions as a CPU delivers them, and the guest's debug facilities.
 *
 * Guest code (long mode) runs the instruction under test; handlers for
 * #DB, #BP, #UD, #DF, #GP and #PF report the frame the CPU pushed: vector,
 * error code, RIP, RFLAGS, and DR6 for #DB. Each test checks the frame a
 * real CPU would push (SDM vol. 3, chapters 6 and 18): faults with the RIP
 * of the faulting instruction and RF set, traps with the RIP after it,
 * DR6 status bits, DR7.GD cleared on entry to the handler.
 *
 * Then the host side (issue 12): a host hardware breakpoint still fires
 * after a guest ran on that CPU, with and without guest breakpoints.
 */
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "minivmm_test.h"

#define DB_VECTOR	1
#define BP_VECTOR	3
#define UD_VECTOR	6
#define DF_VECTOR	8
#define GP_VECTOR	13

#define RFLAGS_TF	(1ULL << 8)
#define RFLAGS_RF	(1ULL << 16)
#define DR6_BD		(1ULL << 13)
#define DR6_BS		(1ULL << 14)
#define DR6_TRAPS	0xfULL

#define HANDLERS_GPA	0x20000UL
#define DATA_GPA	0x8000UL
#define IO_BP_PORT	0x80

/*
 * The handlers: each stub pushes a zero where the CPU pushes no error
 * code, then its vector. The common part reports with a ucall: RBX =
 * EXC_SYNC(vector), RCX = RIP, RDX = RFLAGS of the frame, R8 = DR6, R9 =
 * the error code; then resets DR6 (as an OS does), clears TF and sets RF
 * in the frame, and returns to RDI when RDI is not zero, else to the
 * frame's RIP.
 */
#define STUB(v, err)							\
	GUEST_LABEL(stub_##v)						\
	err								\
	"push $" #v "\n\t"						\
	"jmp frame_common\n\t"
#define NO_ERR	"push $0\n\t"

GUEST_CODE(handlers, ".code64",
	   STUB(1, NO_ERR)
	   STUB(3, NO_ERR)
	   STUB(6, NO_ERR)
	   STUB(8, "")
	   STUB(13, "")
	   STUB(14, "")
	   "frame_common:\n\t"
	   "pop %rbx\n\t"
	   "pop %r9\n\t"
	   "or $0xec00, %ebx\n\t"
	   "mov (%rsp), %rcx\n\t"
	   "mov 16(%rsp), %rdx\n\t"
	   "mov %dr6, %r8\n\t"
	   UCALL_ASM(1)
	   "mov $0xffff0ff0, %eax\n\t"
	   "mov %rax, %dr6\n\t"
	   "andq $~0x100, 16(%rsp)\n\t"
	   "orq $0x10000, 16(%rsp)\n\t"
	   "test %rdi, %rdi\n\t"
	   "jz 1f\n\t"
	   "mov %rdi, (%rsp)\n"
	   "1: iretq\n\t");

extern const unsigned char stub_1[], stub_3[], stub_6[], stub_8[],
	stub_13[], stub_14[];

#define HANDLER(v)	(HANDLERS_GPA + GUEST_LABEL_OFFSET(handlers, stub_##v))

/* TF on: the step traps after the instruction that follows the POPF. */
#define TF_ON		"pushf\n\torq $0x100, (%rsp)\n\tpopf\n\t"

struct frame {
	uint64_t vector, rip, rflags, dr6, err;
};

FIXTURE(dbg) {
	struct test_vm *vm;
	struct test_vcpu *vcpu;
};

FIXTURE_SETUP(dbg)
{
	self->vm = NULL;
	self->vcpu = NULL;
}

FIXTURE_TEARDOWN(dbg)
{
	test_vcpu_destroy(self->vcpu);
	test_vm_destroy(self->vm);
}

static void setup(struct test_vm **vm, struct test_vcpu **vcpu,
		  const unsigned char *code, const unsigned char *end)
{
	*vm = test_vm_create(GUEST_MEM_SIZE);
	*vcpu = test_vcpu_add(*vm, 0);
	test_vm_load(*vm, HANDLERS_GPA, handlers, GUEST_CODE_SIZE(handlers));
	test_set_idt(*vm, MODE_LONG, DB_VECTOR, HANDLER(1));
	test_set_idt(*vm, MODE_LONG, BP_VECTOR, HANDLER(3));
	test_set_idt(*vm, MODE_LONG, UD_VECTOR, HANDLER(6));
	test_set_idt(*vm, MODE_LONG, DF_VECTOR, HANDLER(8));
	test_set_idt(*vm, MODE_LONG, GP_VECTOR, HANDLER(13));
	test_set_idt(*vm, MODE_LONG, 14, HANDLER(14));
	test_vcpu_load(*vcpu, MODE_LONG, code, end - code);
}

#define SETUP(code)	setup(&self->vm, &self->vcpu, code, code##_end)

/* Run to the next exception report. */
static struct frame next_frame(struct test_vcpu *vcpu)
{
	struct minivmm_regs regs;
	struct frame f;
	struct ucall uc;

	TEST_REQUIRE(test_run_ucall(vcpu, &uc) == UCALL_SYNC &&
		     (uc.args[0] & 0xff00) == 0xec00,
		     "no exception: ucall with %#lx",
		     (unsigned long)uc.args[0]);
	test_get_regs(vcpu, &regs);
	f.vector = uc.args[0] & 0xff;
	f.rip = uc.args[1];
	f.rflags = uc.args[2];
	f.dr6 = regs.r8;
	f.err = regs.r9;
	return f;
}

/* The guest's next stop is the port @port (not a ucall), answered. */
static void expect_port(struct test_vcpu *vcpu, uint16_t port)
{
	struct minivmm_run *run = test_run_expect(vcpu, MINIVMM_EXIT_IO);

	TEST_REQUIRE(run->io.port == port, "I/O to port %#x, wanted %#x",
		     run->io.port, port);
}

#define ADDR(code, label)	GUEST_LONG_ADDR(code, label)

/* ---- breakpoints in DR0-DR3 -------------------------------------------- */

/* DR0 on the NOP, execute, enabled locally (L0). */
GUEST_CODE(g_insn_bp, ".code64",
	   "xor %edi, %edi\n\t"
	   "lea insn_bp_at(%rip), %rax\n\t"
	   "mov %rax, %dr0\n\t"
	   "mov $0x401, %eax\n\t"
	   "mov %rax, %dr7\n\t"
	   GUEST_LABEL(insn_bp_at)
	   "nop\n\t"
	   GUEST_DONE_ASM);
extern const unsigned char insn_bp_at[];

/*
 * A fault before the instruction, RF clear in the frame; the handler's
 * IRET with RF set runs the NOP without a second #DB.
 */
TEST_F(dbg, instruction_breakpoint_faults_before_insn_once)
{
	struct frame f;

	REQUIRE_VMX();
	SETUP(g_insn_bp);
	f = next_frame(self->vcpu);
	EXPECT_EQ(DB_VECTOR, f.vector);
	EXPECT_EQ(ADDR(g_insn_bp, insn_bp_at), f.rip);
	EXPECT_EQ(0, f.rflags & RFLAGS_RF);
	EXPECT_EQ(0xffff0ff1, f.dr6);
	test_expect_done(self->vcpu);
}

/* DR1 on DATA_GPA, 4-byte writes (RW1 = 01, LEN1 = 11), G1. */
GUEST_CODE(g_write_bp, ".code64",
	   "xor %edi, %edi\n\t"
	   "mov $0x8000, %eax\n\t"
	   "mov %rax, %dr1\n\t"
	   "mov $0xd00408, %eax\n\t"
	   "mov %rax, %dr7\n\t"
	   "mov 0x8000, %eax\n\t"
	   "movl $1, 0x8000\n\t"
	   GUEST_LABEL(write_bp_after)
	   "mov 0x8000, %eax\n\t"
	   GUEST_DONE_ASM);
extern const unsigned char write_bp_after[];

TEST_F(dbg, data_write_breakpoint_traps_after_write_only)
{
	struct frame f;

	REQUIRE_VMX();
	SETUP(g_write_bp);
	f = next_frame(self->vcpu);
	EXPECT_EQ(DB_VECTOR, f.vector);
	EXPECT_EQ(ADDR(g_write_bp, write_bp_after), f.rip);
	EXPECT_EQ(0x2, f.dr6 & (DR6_TRAPS | DR6_BS | DR6_BD));
	EXPECT_EQ(1, *(uint32_t *)(self->vm->mem + DATA_GPA));
	/* The reads before and after do not trap. */
	test_expect_done(self->vcpu);
}

/* DR3 on DATA_GPA + 8, 4-byte reads and writes (RW3 = 11, LEN3 = 11). */
GUEST_CODE(g_rw_bp, ".code64",
	   "xor %edi, %edi\n\t"
	   "mov $0x8008, %eax\n\t"
	   "mov %rax, %dr3\n\t"
	   "mov $0xf0000440, %eax\n\t"
	   "mov %rax, %dr7\n\t"
	   "mov 0x8008, %eax\n\t"
	   GUEST_LABEL(rw_bp_after)
	   "nop\n\t"
	   GUEST_DONE_ASM);
extern const unsigned char rw_bp_after[];

TEST_F(dbg, data_read_write_breakpoint_traps_on_read)
{
	struct frame f;

	REQUIRE_VMX();
	SETUP(g_rw_bp);
	f = next_frame(self->vcpu);
	EXPECT_EQ(DB_VECTOR, f.vector);
	EXPECT_EQ(ADDR(g_rw_bp, rw_bp_after), f.rip);
	EXPECT_EQ(0x8, f.dr6 & (DR6_TRAPS | DR6_BS | DR6_BD));
	test_expect_done(self->vcpu);
}

/* CR4.DE, DR2 on port 0x80 (RW2 = 10, LEN2 = 00), L2; then OUT to it. */
GUEST_CODE(g_io_bp, ".code64",
	   "xor %edi, %edi\n\t"
	   "mov %cr4, %rax\n\t"
	   "or $8, %rax\n\t"
	   "mov %rax, %cr4\n\t"
	   "mov $0x80, %eax\n\t"
	   "mov %rax, %dr2\n\t"
	   "mov $0x2000410, %eax\n\t"
	   "mov %rax, %dr7\n\t"
	   "out %al, $0x81\n\t"
	   "out %al, $0x80\n\t"
	   GUEST_LABEL(io_bp_after)
	   "nop\n\t"
	   GUEST_DONE_ASM);
extern const unsigned char io_bp_after[];

TEST_F(dbg, io_breakpoint_traps_after_out_with_cr4_de)
{
	struct frame f;

	REQUIRE_VMX();
	SETUP(g_io_bp);
	/* Port 0x81 is outside the 1-byte breakpoint: no #DB. */
	expect_port(self->vcpu, 0x81);
	expect_port(self->vcpu, IO_BP_PORT);
	f = next_frame(self->vcpu);
	EXPECT_EQ(DB_VECTOR, f.vector);
	EXPECT_EQ(ADDR(g_io_bp, io_bp_after), f.rip);
	EXPECT_EQ(0x4, f.dr6 & (DR6_TRAPS | DR6_BS | DR6_BD));
	test_expect_done(self->vcpu);
}

/* DR7.GD: the next MOV DR faults with DR6.BD; the handler finds GD clear. */
GUEST_CODE(g_gd, ".code64",
	   "xor %edi, %edi\n\t"
	   "mov $0x2400, %eax\n\t"
	   "mov %rax, %dr7\n\t"
	   GUEST_LABEL(gd_at)
	   "mov %dr0, %rax\n\t"
	   "mov %dr7, %rcx\n\t"
	   GUEST_SYNC_ASM(0x77));
extern const unsigned char gd_at[];

TEST_F(dbg, general_detect_faults_on_mov_dr_and_clears_gd)
{
	struct ucall uc;
	struct frame f;

	REQUIRE_VMX();
	SETUP(g_gd);
	f = next_frame(self->vcpu);
	EXPECT_EQ(DB_VECTOR, f.vector);
	EXPECT_EQ(ADDR(g_gd, gd_at), f.rip);
	EXPECT_EQ(DR6_BD, f.dr6 & (DR6_TRAPS | DR6_BS | DR6_BD));
	/* As KVM and Intel CPUs do: a general-detect #DB leaves RF clear. */
	EXPECT_EQ(0, f.rflags & RFLAGS_RF);
	/* The MOV ran again, without GD, and DR7 reads back without it. */
	uc = test_expect_sync(self->vcpu, 0x77);
	EXPECT_EQ(0x400, uc.args[1]);
}

/* Reserved DR6/DR7 bits read as the CPU fixes them; upper half is #GP. */
GUEST_CODE(g_dr_bits, ".code64",
	   "xor %edi, %edi\n\t"
	   "xor %eax, %eax\n\t"
	   "mov %rax, %dr6\n\t"
	   "mov %rax, %dr7\n\t"
	   "mov %dr6, %rcx\n\t"
	   "mov %dr7, %rdx\n\t"
	   GUEST_SYNC_ASM(0x71)
	   "lea 1f(%rip), %rdi\n\t"
	   "mov $1, %eax\n\t"
	   "shl $32, %rax\n\t"
	   GUEST_LABEL(dr7_high_at)
	   "mov %rax, %dr7\n"
	   "1: " GUEST_DONE_ASM);
extern const unsigned char dr7_high_at[];

TEST_F(dbg, dr6_dr7_fixed_bits_and_upper_half_gp)
{
	struct ucall uc;
	struct frame f;

	REQUIRE_VMX();
	SETUP(g_dr_bits);
	uc = test_expect_sync(self->vcpu, 0x71);
	EXPECT_EQ(0xffff0ff0, uc.args[1]);
	EXPECT_EQ(0x400, uc.args[2]);
	f = next_frame(self->vcpu);
	EXPECT_EQ(GP_VECTOR, f.vector);
	EXPECT_EQ(ADDR(g_dr_bits, dr7_high_at), f.rip);
	EXPECT_EQ(0, f.err);
	test_expect_done(self->vcpu);
}

/* ---- single step ----------------------------------------------------- */

GUEST_CODE(g_step_native, ".code64",
	   "xor %edi, %edi\n\t"
	   TF_ON
	   "nop\n\t"
	   GUEST_LABEL(step_native_after)
	   "nop\n\t"
	   GUEST_DONE_ASM);
extern const unsigned char step_native_after[];

TEST_F(dbg, single_step_traps_after_next_insn)
{
	struct frame f;

	REQUIRE_VMX();
	SETUP(g_step_native);
	f = next_frame(self->vcpu);
	EXPECT_EQ(DB_VECTOR, f.vector);
	EXPECT_EQ(ADDR(g_step_native, step_native_after), f.rip);
	EXPECT_EQ(DR6_BS, f.dr6 & (DR6_TRAPS | DR6_BS | DR6_BD));
	EXPECT_EQ(RFLAGS_TF, f.rflags & RFLAGS_TF);
	test_expect_done(self->vcpu);
}

GUEST_CODE(g_step_cpuid, ".code64",
	   "xor %edi, %edi\n\t"
	   "xor %eax, %eax\n\t"
	   TF_ON
	   "cpuid\n\t"
	   GUEST_LABEL(step_cpuid_after)
	   "nop\n\t"
	   GUEST_DONE_ASM);
extern const unsigned char step_cpuid_after[];

TEST_F(dbg, single_step_across_emulated_cpuid)
{
	struct frame f;

	REQUIRE_VMX();
	SETUP(g_step_cpuid);
	f = next_frame(self->vcpu);
	EXPECT_EQ(DB_VECTOR, f.vector);
	EXPECT_EQ(ADDR(g_step_cpuid, step_cpuid_after), f.rip);
	EXPECT_EQ(DR6_BS, f.dr6 & (DR6_TRAPS | DR6_BS | DR6_BD));
	test_expect_done(self->vcpu);
}

GUEST_CODE(g_step_out, ".code64",
	   "xor %edi, %edi\n\t"
	   TF_ON
	   "out %al, $0x80\n\t"
	   GUEST_LABEL(step_out_after)
	   "nop\n\t"
	   GUEST_DONE_ASM);
extern const unsigned char step_out_after[];

TEST_F(dbg, single_step_across_out_to_userspace)
{
	struct frame f;

	REQUIRE_VMX();
	SETUP(g_step_out);
	expect_port(self->vcpu, IO_BP_PORT);
	f = next_frame(self->vcpu);
	EXPECT_EQ(DB_VECTOR, f.vector);
	EXPECT_EQ(ADDR(g_step_out, step_out_after), f.rip);
	EXPECT_EQ(DR6_BS, f.dr6 & (DR6_TRAPS | DR6_BS | DR6_BD));
	test_expect_done(self->vcpu);
}

GUEST_CODE(g_step_hlt, ".code64",
	   "xor %edi, %edi\n\t"
	   TF_ON
	   "hlt\n\t"
	   GUEST_LABEL(step_hlt_after)
	   "nop\n\t"
	   GUEST_DONE_ASM);
extern const unsigned char step_hlt_after[];

/* The #DB after HLT is an event: the vCPU does not stay halted. */
TEST_F(dbg, single_step_across_hlt_delivers_db_instead_of_halting)
{
	struct frame f;

	REQUIRE_VMX();
	SETUP(g_step_hlt);
	f = next_frame(self->vcpu);
	EXPECT_EQ(DB_VECTOR, f.vector);
	EXPECT_EQ(ADDR(g_step_hlt, step_hlt_after), f.rip);
	EXPECT_EQ(DR6_BS, f.dr6 & (DR6_TRAPS | DR6_BS | DR6_BD));
	test_expect_done(self->vcpu);
}

/* ---- ICEBP, INT3 ------------------------------------------------------ */

GUEST_CODE(g_icebp, ".code64",
	   "xor %edi, %edi\n\t"
	   ".byte 0xf1\n\t"
	   GUEST_LABEL(icebp_after)
	   "nop\n\t"
	   GUEST_DONE_ASM);
extern const unsigned char icebp_after[];

TEST_F(dbg, icebp_delivers_db_after_insn)
{
	struct frame f;

	REQUIRE_VMX();
	SETUP(g_icebp);
	f = next_frame(self->vcpu);
	EXPECT_EQ(DB_VECTOR, f.vector);
	EXPECT_EQ(ADDR(g_icebp, icebp_after), f.rip);
	EXPECT_EQ(0, f.dr6 & (DR6_TRAPS | DR6_BS | DR6_BD));
	test_expect_done(self->vcpu);
}

GUEST_CODE(g_int3, ".code64",
	   "xor %edi, %edi\n\t"
	   "int3\n\t"
	   GUEST_LABEL(int3_after)
	   "nop\n\t"
	   GUEST_DONE_ASM);
extern const unsigned char int3_after[];

TEST_F(dbg, int3_traps_after_insn_rf_clear)
{
	struct frame f;

	REQUIRE_VMX();
	SETUP(g_int3);
	f = next_frame(self->vcpu);
	EXPECT_EQ(BP_VECTOR, f.vector);
	EXPECT_EQ(ADDR(g_int3, int3_after), f.rip);
	EXPECT_EQ(0, f.rflags & RFLAGS_RF);
	test_expect_done(self->vcpu);
}

/* ---- exceptions the module injects ------------------------------------ */

/* MOV to CR4 with VMXE (the guest has no VMX): #GP(0). */
GUEST_CODE(g_cr4_gp, ".code64",
	   "lea 1f(%rip), %rdi\n\t"
	   "mov %cr4, %rax\n\t"
	   "or $0x2000, %rax\n\t"
	   GUEST_LABEL(cr4_gp_at)
	   "mov %rax, %cr4\n"
	   "1: " GUEST_DONE_ASM);
extern const unsigned char cr4_gp_at[];

TEST_F(dbg, injected_gp_frame_is_a_fault_with_rf_set)
{
	struct frame f;

	REQUIRE_VMX();
	SETUP(g_cr4_gp);
	f = next_frame(self->vcpu);
	EXPECT_EQ(GP_VECTOR, f.vector);
	EXPECT_EQ(0, f.err);
	EXPECT_EQ(ADDR(g_cr4_gp, cr4_gp_at), f.rip);
	EXPECT_EQ(RFLAGS_RF, f.rflags & RFLAGS_RF);
	test_expect_done(self->vcpu);
}

/* MOV from DR4 with CR4.DE: #UD, which pushes no error code. */
GUEST_CODE(g_dr4_ud, ".code64",
	   "lea 1f(%rip), %rdi\n\t"
	   "mov %cr4, %rax\n\t"
	   "or $8, %rax\n\t"
	   "mov %rax, %cr4\n\t"
	   GUEST_LABEL(dr4_ud_at)
	   "mov %dr4, %rax\n"
	   "1: " GUEST_DONE_ASM);
extern const unsigned char dr4_ud_at[];

TEST_F(dbg, injected_ud_frame_is_a_fault_with_rf_set)
{
	struct frame f;

	REQUIRE_VMX();
	SETUP(g_dr4_ud);
	f = next_frame(self->vcpu);
	EXPECT_EQ(UD_VECTOR, f.vector);
	EXPECT_EQ(ADDR(g_dr4_ud, dr4_ud_at), f.rip);
	EXPECT_EQ(RFLAGS_RF, f.rflags & RFLAGS_RF);
	test_expect_done(self->vcpu);
}

/* An injected #GP whose gate is not present: #NP during delivery, #DF. */
TEST_F(dbg, injected_gp_with_absent_gate_becomes_double_fault)
{
	struct frame f;

	REQUIRE_VMX();
	SETUP(g_cr4_gp);
	memset(self->vm->mem + GUEST_IDT + GP_VECTOR * 16, 0, 16);
	f = next_frame(self->vcpu);
	EXPECT_EQ(DF_VECTOR, f.vector);
	EXPECT_EQ(0, f.err);
}

TEST_F(dbg, injected_gp_with_absent_gp_and_df_gates_shuts_down)
{
	REQUIRE_VMX();
	SETUP(g_cr4_gp);
	memset(self->vm->mem + GUEST_IDT + GP_VECTOR * 16, 0, 16);
	memset(self->vm->mem + GUEST_IDT + DF_VECTOR * 16, 0, 16);
	test_run_expect(self->vcpu, MINIVMM_EXIT_SHUTDOWN);
}

/* ---- the host's breakpoints (issue 12) -------------------------------- */

static volatile uint32_t host_watched;

/* A pinned hardware write breakpoint on host_watched, on @cpu only. */
static int host_breakpoint(int cpu)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_BREAKPOINT,
		.size = sizeof(attr),
		.bp_type = HW_BREAKPOINT_W,
		.bp_addr = (uintptr_t)&host_watched,
		.bp_len = HW_BREAKPOINT_LEN_4,
		.pinned = 1,
		.exclude_kernel = 1,
	};

	return syscall(SYS_perf_event_open, &attr, -1, cpu, -1, 0);
}

static uint64_t hits(int fd)
{
	uint64_t n = 0;

	TEST_REQUIRE(read(fd, &n, sizeof(n)) == sizeof(n), "read counter");
	return n;
}

/* Keep the test and the vCPU's thread on @cpu. */
static void pin_both(struct test_vcpu *vcpu, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	TEST_REQUIRE(!sched_setaffinity(0, sizeof(set), &set), "pin test");
	TEST_REQUIRE(!sched_setaffinity(test_vcpu_thread(vcpu, NULL),
					sizeof(set), &set),
		     "pin vCPU thread: %s", strerror(errno));
}

/* Reports 20 times; with R12 set, first arms a guest write breakpoint. */
GUEST_CODE(g_exits, ".code64",
	   "test %r12, %r12\n\t"
	   "jz 1f\n\t"
	   "mov $0x8000, %eax\n\t"
	   "mov %rax, %dr0\n\t"
	   "mov $0xd0402, %eax\n\t"
	   "mov %rax, %dr7\n"
	   "1: mov $20, %r13d\n"
	   "2: " GUEST_SYNC_ASM(0x33)
	   "dec %r13d\n\t"
	   "jnz 2b\n\t"
	   GUEST_DONE_ASM);

static void host_breakpoint_after_guest(struct __test_metadata *_metadata,
					struct test_vm **vm,
					struct test_vcpu **vcpu,
					bool guest_breakpoints)
{
	uint64_t mask[MINIVMM_MAX_CPUS / 64];
	struct minivmm_regs regs;
	int cpu, fd, k;
	uint64_t n;

	setup(vm, vcpu, g_exits, g_exits_end);
	test_get_regs(*vcpu, &regs);
	regs.r12 = guest_breakpoints;
	test_set_regs(*vcpu, &regs);
	online_cpus(mask);
	for (cpu = 0; cpu < MINIVMM_MAX_CPUS; cpu++) {
		if (!(mask[cpu / 64] >> (cpu % 64) & 1))
			continue;
		fd = host_breakpoint(cpu);
		if (fd < 0)
			SKIP(return, "perf_event_open breakpoint: %s",
			     strerror(errno));
		pin_both(*vcpu, cpu);
		host_watched++;
		n = hits(fd);
		if (n != 1)
			SKIP(return, "host breakpoints do not fire here");
		for (k = 0; k < 5; k++) {
			test_expect_sync(*vcpu, 0x33);
			host_watched++;
			EXPECT_EQ(n + 1, hits(fd)) TH_LOG("CPU %d, exit %d",
							  cpu, k);
			n = hits(fd);
		}
		close(fd);
	}
}

TEST_F(dbg, host_breakpoint_fires_after_guest_ran)
{
	REQUIRE_VMX();
	host_breakpoint_after_guest(_metadata, &self->vm, &self->vcpu, false);
}

TEST_F(dbg, host_breakpoint_fires_after_guest_used_breakpoints)
{
	REQUIRE_VMX();
	host_breakpoint_after_guest(_metadata, &self->vm, &self->vcpu, true);
}

TEST_HARNESS_MAIN

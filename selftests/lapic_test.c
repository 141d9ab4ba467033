// SPDX-License-Identifier: GPL-2.0
/*
 * The local APIC in the module: its registers in xAPIC mode, CR8 as the
 * TPR, interrupt priority (TPR, PPR, ISR), EOI, the error status
 * register and the error LVT, self-IPIs, the timer in its three modes
 * waking a halted guest, the x2APIC MSRs, HLT with interrupts off,
 * ready_for_interrupt, IPIs between four vCPUs, NMI, lowest-priority,
 * all-including-self, cluster-model and x2APIC IPIs, the TMR of a
 * level-triggered I/O APIC pin, an AP started by INIT and SIPI, the
 * APIC's and the run state's ioctls (MINIVMM_GET/SET_LAPIC,
 * MINIVMM_GET/SET_MP_STATE): round trips, bad arguments, timers and
 * halts restored into a new vCPU; illegal vectors in the receiver's ESR,
 * the x2APIC physical broadcast, and the LINT0/LINT1 inputs
 * (MINIVMM_LINT) through their LVT entries: NMI, fixed edge and level
 * with remote IRR, masked, ExtINT, every vCPU, the APIC disabled.
 *
 * Most tests drive a "poke" guest: a long-mode loop that reports with a
 * ucall (RBX = POKE_READY), then does what the test put in its
 * registers (RCX = the operation, RDX and RSI its operands) and reports
 * again, RCX carrying what it read. Interrupt handlers report with
 * RBX = IRQ_SYNC(vector) and RCX = the ISR word of their vector, then
 * run the same loop until told to return (without an EOI of their own).
 * The guest moves its APIC to APIC_TB, inside the first GiB its page
 * tables map.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "minivmm_test.h"

#define APIC_TB		0x20000000UL
#define APIC_DEF	0xfee00000UL
#define POKE_READY	0x77
#define IRQ_SYNC(vec)	(0x1000 | (vec))
#define AP_SYNC		0x5151

/* Register offsets and bits: the SDM's, as asm/apicdef.h names them. */
#define APIC_ID		0x20
#define APIC_LVR	0x30
#define APIC_TASKPRI	0x80
#define APIC_ARBPRI	0x90
#define APIC_PROCPRI	0xa0
#define APIC_EOI	0xb0
#define APIC_RRR	0xc0
#define APIC_LDR	0xd0
#define APIC_DFR	0xe0
#define APIC_SPIV	0xf0
#define APIC_ISR	0x100
#define APIC_TMR	0x180
#define APIC_IRR	0x200
#define APIC_ESR	0x280
#define APIC_ICR	0x300
#define APIC_ICR2	0x310
#define APIC_LVTT	0x320
#define APIC_LVTTHMR	0x330
#define APIC_LVTPC	0x340
#define APIC_LVT0	0x350
#define APIC_LVT1	0x360
#define APIC_LVTERR	0x370
#define APIC_TMICT	0x380
#define APIC_TMCCT	0x390
#define APIC_TDCR	0x3e0
#define MASKED		(1u << 16)
#define PERIODIC	(1u << 17)
#define TSC_DEADLINE	(2u << 17)
#define DM_LOWEST	0x100
#define DM_NMI		0x400
#define DM_INIT		0x500
#define DM_STARTUP	0x600
#define DEST_LOGICAL	0x800
#define INT_ASSERT	0x4000
#define DEST_SELF	0x40000
#define DEST_ALLINC	0x80000
#define DEST_ALLBUT	0xc0000
#define ESR_SENDILL	0x20
#define ESR_RECVILL	0x40
#define DM_EXTINT	0x700
#define LVT_REMOTE_IRR	(1u << 14)
#define LVT_LEVEL	(1u << 15)
#define TDCR_DIV_1	0xb
#define MSR_APIC_BASE	0x1b
#define MSR_TSC_DEADLINE 0x6e0

enum {
	OP_READ, OP_WRITE, OP_WINDOW, OP_SET_CR8, OP_GET_CR8, OP_RETURN,
	OP_HALT, OP_DEADLINE, OP_RDMSR, OP_CR8_WINDOW, OP_WRMSR,
};

/* Handler for @vec: report, then poke until OP_RETURN. */
#define POKE_HANDLER(vec)						\
	GUEST_LABEL(guest_poke_irq_##vec)				\
	"push %rax\n\tpush %rbx\n\tpush %rcx\n\t"			\
	"push %rdx\n\tpush %rsi\n\t"					\
	"mov $(0x1000 | " #vec "), %ebx\n\t"				\
	"mov (0x20000000 + 0x100 + (" #vec " / 32) * 16), %ecx\n\t"	\
	"call 9b\n\t"							\
	"pop %rsi\n\tpop %rdx\n\tpop %rcx\n\t"				\
	"pop %rbx\n\tpop %rax\n\t"					\
	"iretq\n\t"

GUEST_CODE(guest_poke, ".code64",
	   /* Move this vCPU's APIC into the mapped first GiB. */
	   "mov $0x1b, %ecx\n\t"
	   "rdmsr\n\t"
	   "and $0xfff, %eax\n\t"
	   "or $0x20000000, %eax\n\t"
	   "wrmsr\n\t"
	   "xor %ecx, %ecx\n\t"
	   "call 8f\n\t"
	   /* OP_RETURN at the top: HLT with interrupts off. */
	   "hlt\n\t"
	   "jmp .\n\t"
	   /* The loop: 8 reports ready, 9 reports with RBX as it is. */
	   GUEST_LABEL(guest_poke_ready)
	   "8: mov $0x77, %ebx\n\t"
	   "9: mov $1, %eax\n\t"
	   "out %eax, $0xf8\n\t"
	   "cmp $1, %ecx\n\t"
	   "je 11f\n\t"
	   "cmp $2, %ecx\n\t"
	   "je 12f\n\t"
	   "cmp $3, %ecx\n\t"
	   "je 13f\n\t"
	   "cmp $4, %ecx\n\t"
	   "je 14f\n\t"
	   "cmp $5, %ecx\n\t"
	   "je 15f\n\t"
	   "cmp $6, %ecx\n\t"
	   "je 16f\n\t"
	   "cmp $7, %ecx\n\t"
	   "je 17f\n\t"
	   "cmp $8, %ecx\n\t"
	   "je 18f\n\t"
	   "cmp $9, %ecx\n\t"
	   "je 19f\n\t"
	   "cmp $10, %ecx\n\t"
	   "je 20f\n\t"
	   "mov 0x20000000(%rdx), %ecx\n\t"
	   "jmp 8b\n\t"
	   "11: mov %esi, 0x20000000(%rdx)\n\t"
	   "jmp 8b\n\t"
	   "12: sti\n\tnop\n\tnop\n\tcli\n\t"
	   "jmp 8b\n\t"
	   "13: mov %rdx, %cr8\n\t"
	   "jmp 8b\n\t"
	   "14: mov %cr8, %rcx\n\t"
	   "jmp 8b\n\t"
	   "15: ret\n\t"
	   "16: sti\n\thlt\n\tcli\n\t"
	   "jmp 8b\n\t"
	   "17: rdtsc\n\t"
	   "shl $32, %rdx\n\t"
	   "or %rdx, %rax\n\t"
	   "add %rsi, %rax\n\t"
	   "mov %rax, %rdx\n\t"
	   "shr $32, %rdx\n\t"
	   "mov $0x6e0, %ecx\n\t"
	   "wrmsr\n\t"
	   "jmp 8b\n\t"
	   "18: mov %edx, %ecx\n\t"
	   "rdmsr\n\t"
	   "mov %eax, %ecx\n\t"
	   "jmp 8b\n\t"
	   "20: mov %edx, %ecx\n\t"
	   "mov %rsi, %rax\n\t"
	   "mov %rsi, %rdx\n\t"
	   "shr $32, %rdx\n\t"
	   "wrmsr\n\t"
	   "jmp 8b\n\t"
	   "19: sti\n\tmov %rdx, %cr8\n\tnop\n\tnop\n\tcli\n\t"
	   "jmp 8b\n\t"
	   POKE_HANDLER(2)
	   POKE_HANDLER(0x30)
	   POKE_HANDLER(0x45)
	   POKE_HANDLER(0x50)
	   POKE_HANDLER(0x60));
extern const unsigned char guest_poke_irq_0x30[], guest_poke_irq_0x45[],
	guest_poke_irq_0x50[], guest_poke_irq_0x60[], guest_poke_ready[],
	guest_poke_irq_2[];

static struct test_vcpu *poke_vcpu(struct test_vm *vm, int id)
{
	struct test_vcpu *vcpu = test_vcpu_add(vm, id);
	struct minivmm_regs regs;

	test_vcpu_load(vcpu, MODE_LONG, guest_poke,
		       GUEST_CODE_SIZE(guest_poke));
	test_get_regs(vcpu, &regs);
	regs.rsp = GUEST_STACK - id * 0x1000;
	test_set_regs(vcpu, &regs);
	return vcpu;
}

static void poke_idt(struct test_vm *vm)
{
	static const unsigned char *const handlers[] = {
		guest_poke_irq_0x30, guest_poke_irq_0x45,
		guest_poke_irq_0x50, guest_poke_irq_0x60,
	};
	static const int vectors[] = { 0x30, 0x45, 0x50, 0x60 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vectors); i++)
		test_set_idt(vm, MODE_LONG, vectors[i],
			     GUEST_CODE_ADDR +
			     GUEST_LABEL_OFFSET(guest_poke, handlers[i]));
}

/* Run to the next report; returns it. */
static struct ucall next(struct test_vcpu *vcpu)
{
	struct ucall uc;
	uint64_t nr = test_run_ucall(vcpu, &uc);

	TEST_REQUIRE(nr == UCALL_SYNC, "ucall %lu", (unsigned long)nr);
	return uc;
}

/* Do @op in the guest; returns the report that follows. */
static struct ucall op(struct test_vcpu *vcpu, int op, uint64_t a,
		       uint64_t b)
{
	struct minivmm_regs regs;

	test_get_regs(vcpu, &regs);
	regs.rcx = op;
	regs.rdx = a;
	regs.rsi = b;
	/* An exception reports, then resumes at the ready report. */
	regs.rdi = GUEST_LONG_ADDR(guest_poke, guest_poke_ready);
	test_set_regs(vcpu, &regs);
	return next(vcpu);
}

static void expect_ready(struct test_vcpu *vcpu, struct ucall uc)
{
	TEST_REQUIRE(uc.args[0] == POKE_READY, "report %#lx, wanted ready",
		     (unsigned long)uc.args[0]);
}

static uint32_t rd(struct test_vcpu *vcpu, uint32_t off)
{
	struct ucall uc = op(vcpu, OP_READ, off, 0);

	expect_ready(vcpu, uc);
	return uc.args[1];
}

static void wr(struct test_vcpu *vcpu, uint32_t off, uint32_t val)
{
	expect_ready(vcpu, op(vcpu, OP_WRITE, off, val));
}

/* The report after @uc must be the handler of @vec; returns its ISR word. */
static uint32_t expect_irq(struct test_vcpu *vcpu, struct ucall uc, int vec)
{
	TEST_REQUIRE(uc.args[0] == IRQ_SYNC(vec), "report %#lx, wanted IRQ %#x",
		     (unsigned long)uc.args[0], vec);
	return uc.args[1];
}

FIXTURE(lapic) {
	struct test_vm *vm;
	struct test_vcpu *vcpu;
};

FIXTURE_SETUP(lapic)
{
	self->vm = NULL;
	self->vcpu = NULL;
}

FIXTURE_TEARDOWN(lapic)
{
	if (self->vcpu)
		test_vcpu_destroy(self->vcpu);
	if (self->vm)
		test_vm_destroy(self->vm);
}

/* A VM with one poke vCPU, at its first report. */
static void poke_setup(struct test_vm **vm, struct test_vcpu **vcpu)
{
	*vm = test_vm_create(GUEST_MEM_SIZE);
	test_install_exc_handlers(*vm, MODE_LONG);
	poke_idt(*vm);
	*vcpu = poke_vcpu(*vm, 0);
	expect_ready(*vcpu, next(*vcpu));
}

#define POKE_SETUP()	poke_setup(&self->vm, &self->vcpu)

/* Software-enable the APIC with spurious vector 0xff. */
static void enable(struct test_vcpu *vcpu)
{
	wr(vcpu, APIC_SPIV, 0x1ff);
}

static void self_ipi(struct test_vcpu *vcpu, int vec)
{
	wr(vcpu, APIC_ICR, DEST_SELF | vec);
}

/* ---- registers ------------------------------------------------------ */

static const struct {
	uint32_t off, val;
} reset_regs[] = {
	{ APIC_ID, 0 }, { APIC_LVR, 0x50014 }, { APIC_TASKPRI, 0 },
	{ APIC_ARBPRI, 0 }, { APIC_PROCPRI, 0 }, { APIC_EOI, 0 },
	{ APIC_LDR, 0 }, { APIC_DFR, 0xffffffff }, { APIC_SPIV, 0xff },
	{ APIC_ESR, 0 }, { APIC_ICR, 0 }, { APIC_ICR2, 0 },
	{ APIC_LVTT, MASKED }, { APIC_LVTTHMR, MASKED },
	{ APIC_LVTPC, MASKED }, { APIC_LVT0, MASKED }, { APIC_LVT1, MASKED },
	{ APIC_LVTERR, MASKED }, { APIC_TMICT, 0 }, { APIC_TMCCT, 0 },
	{ APIC_TDCR, 0 },
};

TEST_F(lapic, registers_read_their_reset_values)
{
	unsigned int i;

	REQUIRE_VMX();
	POKE_SETUP();
	for (i = 0; i < ARRAY_SIZE(reset_regs); i++) {
		EXPECT_EQ(reset_regs[i].val, rd(self->vcpu, reset_regs[i].off)) {
			TH_LOG("register %#x", reset_regs[i].off);
		}
	}
	for (i = 0; i < 8; i++) {
		EXPECT_EQ(0, rd(self->vcpu, APIC_ISR + i * 16));
		EXPECT_EQ(0, rd(self->vcpu, APIC_TMR + i * 16));
		EXPECT_EQ(0, rd(self->vcpu, APIC_IRR + i * 16));
	}
}

TEST_F(lapic, apic_id_is_vcpu_id)
{
	struct test_vcpu *v3;

	REQUIRE_VMX();
	POKE_SETUP();
	v3 = poke_vcpu(self->vm, 3);
	expect_ready(v3, next(v3));
	EXPECT_EQ(3u << 24, rd(v3, APIC_ID));
	/* Read-only: the ID stays the vCPU id. */
	wr(v3, APIC_ID, 5u << 24);
	EXPECT_EQ(3u << 24, rd(v3, APIC_ID));
	test_vcpu_destroy(v3);
}

static const struct {
	uint32_t off, val, back;
} rw_regs[] = {
	{ APIC_TASKPRI, 0xffffffff, 0xff },
	{ APIC_TASKPRI, 0x35, 0x35 },
	{ APIC_LDR, 0xffffffff, 0xff000000 },
	{ APIC_DFR, 0, 0x0fffffff },
	{ APIC_DFR, 0xffffffff, 0xffffffff },
	{ APIC_SPIV, 0xffffffff, 0x3ff },
	{ APIC_ICR2, 0xffffffff, 0xff000000 },
	/* Mode 3 is reserved: one-shot. */
	{ APIC_LVTT, 0xffffffff, 0x100ff },
	{ APIC_LVTT, PERIODIC | 0x31, PERIODIC | 0x31 },
	{ APIC_LVTTHMR, 0xffffffff, 0x107ff },
	{ APIC_LVTPC, 0xffffffff, 0x107ff },
	{ APIC_LVT0, 0xffffffff, 0x1a7ff },
	{ APIC_LVT1, 0xffffffff, 0x1a7ff },
	{ APIC_LVTERR, 0xffffffff, 0x100ff },
	{ APIC_TDCR, 0xffffffff, 0xb },
	{ APIC_TDCR, 0, 0 },
	/* Read-only registers ignore writes. */
	{ APIC_LVR, 0, 0x50014 },
	{ APIC_PROCPRI, 0xff, 0x35 },
	{ APIC_ISR, 0xffffffff, 0 },
	{ APIC_IRR, 0xffffffff, 0 },
	{ APIC_TMR, 0xffffffff, 0 },
};

TEST_F(lapic, registers_write_and_read_back)
{
	unsigned int i;

	REQUIRE_VMX();
	POKE_SETUP();
	enable(self->vcpu);
	for (i = 0; i < ARRAY_SIZE(rw_regs); i++) {
		wr(self->vcpu, rw_regs[i].off, rw_regs[i].val);
		EXPECT_EQ(rw_regs[i].back, rd(self->vcpu, rw_regs[i].off)) {
			TH_LOG("register %#x written %#x", rw_regs[i].off,
			       rw_regs[i].val);
		}
	}
}

TEST_F(lapic, software_disable_masks_lvt_entries)
{
	REQUIRE_VMX();
	POKE_SETUP();
	enable(self->vcpu);
	wr(self->vcpu, APIC_LVT0, 0x30);
	EXPECT_EQ(0x30, rd(self->vcpu, APIC_LVT0));
	wr(self->vcpu, APIC_SPIV, 0xff);
	EXPECT_EQ(MASKED | 0x30, rd(self->vcpu, APIC_LVT0));
	/* Nor can they be unmasked while it is disabled. */
	wr(self->vcpu, APIC_LVT0, 0x31);
	EXPECT_EQ(MASKED | 0x31, rd(self->vcpu, APIC_LVT0));
}

TEST_F(lapic, esr_shows_errors_after_a_write)
{
	REQUIRE_VMX();
	POKE_SETUP();
	enable(self->vcpu);
	wr(self->vcpu, APIC_ESR, 0);
	EXPECT_EQ(0, rd(self->vcpu, APIC_ESR));
	/* Vectors 0-15 are illegal: sent and received, for a self IPI. */
	self_ipi(self->vcpu, 5);
	EXPECT_EQ(0, rd(self->vcpu, APIC_ESR));
	wr(self->vcpu, APIC_ESR, 0);
	EXPECT_EQ(ESR_SENDILL | ESR_RECVILL, rd(self->vcpu, APIC_ESR));
	EXPECT_EQ(0, rd(self->vcpu, APIC_IRR));
	wr(self->vcpu, APIC_ESR, 0);
	EXPECT_EQ(0, rd(self->vcpu, APIC_ESR));
}

/* An error raises the error LVT's vector, unless the entry is masked. */
TEST_F(lapic, error_lvt_interrupt_for_illegal_vector)
{
	REQUIRE_VMX();
	POKE_SETUP();
	enable(self->vcpu);
	wr(self->vcpu, APIC_LVTERR, MASKED | 0x30);
	self_ipi(self->vcpu, 5);
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
	wr(self->vcpu, APIC_ESR, 0);
	EXPECT_EQ(ESR_SENDILL | ESR_RECVILL, rd(self->vcpu, APIC_ESR));
	wr(self->vcpu, APIC_LVTERR, 0x30);
	self_ipi(self->vcpu, 5);
	/* Not the illegal vector: the error's. */
	EXPECT_EQ(0, rd(self->vcpu, APIC_IRR));
	EXPECT_EQ(1u << 16, rd(self->vcpu, APIC_IRR + 16));
	EXPECT_EQ(1u << 16, expect_irq(self->vcpu,
				       op(self->vcpu, OP_WINDOW, 0, 0), 0x30));
	wr(self->vcpu, APIC_ESR, 0);
	EXPECT_EQ(ESR_SENDILL | ESR_RECVILL, rd(self->vcpu, APIC_ESR));
	wr(self->vcpu, APIC_EOI, 0);
	expect_ready(self->vcpu, op(self->vcpu, OP_RETURN, 0, 0));
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
}

TEST_F(lapic, cr8_and_tpr_are_one_register)
{
	struct ucall uc;

	REQUIRE_VMX();
	POKE_SETUP();
	expect_ready(self->vcpu, op(self->vcpu, OP_SET_CR8, 5, 0));
	EXPECT_EQ(0x50, rd(self->vcpu, APIC_TASKPRI));
	wr(self->vcpu, APIC_TASKPRI, 0x7c);
	uc = op(self->vcpu, OP_GET_CR8, 0, 0);
	expect_ready(self->vcpu, uc);
	EXPECT_EQ(7, uc.args[1]);
}

TEST_F(lapic, apic_base_relocates_and_reads_back)
{
	struct ucall uc;

	REQUIRE_VMX();
	POKE_SETUP();
	uc = op(self->vcpu, OP_RDMSR, MSR_APIC_BASE, 0);
	expect_ready(self->vcpu, uc);
	/* EN and BSP, at the base the guest chose. */
	EXPECT_EQ(APIC_TB | 0x900, uc.args[1]);
	EXPECT_EQ(0x50014, rd(self->vcpu, APIC_LVR));
}

/* Protected mode, no paging: the APIC at its default address. */
GUEST_CODE(guest_default_base, ".code32",
	   "mov 0xfee00030, %ecx\n\t"
	   "mov $1, %ebx\n\t"
	   "mov $1, %eax\n\t"
	   "out %eax, $0xf8\n\t"
	   "mov $1, %eax\n\t"
	   "cpuid\n\t"
	   "mov %edx, %ecx\n\t"
	   "mov $2, %ebx\n\t"
	   "mov $1, %eax\n\t"
	   "out %eax, $0xf8\n\t"
	   "hlt\n\t");

TEST_F(lapic, default_base_and_cpuid_apic_bit)
{
	struct ucall uc;

	REQUIRE_VMX();
	self->vm = test_vm_create(GUEST_MEM_SIZE);
	self->vcpu = test_vcpu_add(self->vm, 0);
	test_vcpu_load(self->vcpu, MODE_PROTECTED, guest_default_base,
		       GUEST_CODE_SIZE(guest_default_base));
	uc = test_expect_sync(self->vcpu, 1);
	EXPECT_EQ(0x50014, uc.args[1]);
	uc = test_expect_sync(self->vcpu, 2);
	EXPECT_TRUE(uc.args[1] & (1 << 9));
	test_run_expect(self->vcpu, MINIVMM_EXIT_HLT);
}

/* ---- priority, EOI, self-IPI --------------------------------------- */

TEST_F(lapic, self_ipi_delivered_with_isr_set_until_eoi)
{
	REQUIRE_VMX();
	POKE_SETUP();
	enable(self->vcpu);
	self_ipi(self->vcpu, 0x45);
	/* Interrupts are off in the loop: it waits in the IRR. */
	EXPECT_EQ(1u << 5, rd(self->vcpu, APIC_IRR + 2 * 16));
	EXPECT_EQ(1u << 5,
		  expect_irq(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0),
			     0x45));
	EXPECT_EQ(0, rd(self->vcpu, APIC_IRR + 2 * 16));
	EXPECT_EQ(0x40, rd(self->vcpu, APIC_PROCPRI));
	wr(self->vcpu, APIC_EOI, 0);
	EXPECT_EQ(0, rd(self->vcpu, APIC_ISR + 2 * 16));
	EXPECT_EQ(0, rd(self->vcpu, APIC_PROCPRI));
	expect_ready(self->vcpu, op(self->vcpu, OP_RETURN, 0, 0));
	/* Nothing else comes. */
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
}

TEST_F(lapic, software_disabled_apic_drops_fixed_interrupts)
{
	REQUIRE_VMX();
	POKE_SETUP();
	self_ipi(self->vcpu, 0x45);
	EXPECT_EQ(0, rd(self->vcpu, APIC_IRR + 2 * 16));
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
}

TEST_F(lapic, tpr_masks_lower_classes)
{
	REQUIRE_VMX();
	POKE_SETUP();
	enable(self->vcpu);
	wr(self->vcpu, APIC_TASKPRI, 0x50);
	self_ipi(self->vcpu, 0x45);
	self_ipi(self->vcpu, 0x50);
	/* Class 4 and 5 are not above the TPR's class 5. */
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
	EXPECT_EQ(0x50, rd(self->vcpu, APIC_PROCPRI));
	wr(self->vcpu, APIC_TASKPRI, 0x4f);
	expect_irq(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0), 0x50);
	wr(self->vcpu, APIC_EOI, 0);
	expect_ready(self->vcpu, op(self->vcpu, OP_RETURN, 0, 0));
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
	EXPECT_EQ(1u << 5, rd(self->vcpu, APIC_IRR + 2 * 16));
}

/*
 * Lowering CR8 below a pending vector's class delivers it right away,
 * before the guest's next exit (the TPR threshold with a TPR shadow).
 */
TEST_F(lapic, lowering_cr8_delivers_pending_vector)
{
	REQUIRE_VMX();
	POKE_SETUP();
	enable(self->vcpu);
	expect_ready(self->vcpu, op(self->vcpu, OP_SET_CR8, 6, 0));
	self_ipi(self->vcpu, 0x60);
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
	expect_irq(self->vcpu, op(self->vcpu, OP_CR8_WINDOW, 5, 0), 0x60);
	wr(self->vcpu, APIC_EOI, 0);
	expect_ready(self->vcpu, op(self->vcpu, OP_RETURN, 0, 0));
}

TEST_F(lapic, isr_blocks_same_and_lower_classes_until_eoi)
{
	REQUIRE_VMX();
	POKE_SETUP();
	enable(self->vcpu);
	self_ipi(self->vcpu, 0x50);
	expect_irq(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0), 0x50);
	/* In the handler of 0x50: 0x45 waits, 0x60 nests. */
	self_ipi(self->vcpu, 0x45);
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
	self_ipi(self->vcpu, 0x60);
	expect_irq(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0), 0x60);
	EXPECT_EQ(0x60, rd(self->vcpu, APIC_PROCPRI));
	/* EOI ends the highest in service: 0x60. */
	wr(self->vcpu, APIC_EOI, 0);
	EXPECT_EQ(0, rd(self->vcpu, APIC_ISR + 3 * 16));
	EXPECT_EQ(1u << 16, rd(self->vcpu, APIC_ISR + 2 * 16));
	expect_ready(self->vcpu, op(self->vcpu, OP_RETURN, 0, 0));
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
	wr(self->vcpu, APIC_EOI, 0);
	expect_irq(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0), 0x45);
	wr(self->vcpu, APIC_EOI, 0);
	/* Out of the handlers of 0x45 and 0x50. */
	expect_ready(self->vcpu, op(self->vcpu, OP_RETURN, 0, 0));
	expect_ready(self->vcpu, op(self->vcpu, OP_RETURN, 0, 0));
	EXPECT_EQ(0, rd(self->vcpu, APIC_ISR + 2 * 16));
}

/* ---- the timer ------------------------------------------------------ */

#define TIMER_MS	20
/* Bochs runs far slower than real time: a generous upper bound. */
#define LATE_MS		(5000ULL * timeout_scale())
/*
 * The test reads the clock on whichever CPU it runs: two CPUs' clocks
 * may differ by a little (the 2-CPU machine's TSCs do), so "not early"
 * allows that much.
 */
#define EARLY_MS	2

/* Halt until the timer's vector 0x30 comes; the time it took, in ms. */
static uint64_t halt_for_timer(struct test_vcpu *vcpu, uint64_t t0)
{
	expect_irq(vcpu, op(vcpu, OP_HALT, 0, 0), 0x30);
	return (monotonic_ns() - t0) / 1000000;
}

TEST_F(lapic, oneshot_timer_wakes_halted_guest)
{
	uint64_t t0, ms;

	REQUIRE_VMX();
	POKE_SETUP();
	enable(self->vcpu);
	wr(self->vcpu, APIC_TDCR, TDCR_DIV_1);
	wr(self->vcpu, APIC_LVTT, 0x30);
	t0 = monotonic_ns();
	/* 1 GHz input clock: one count per nanosecond. */
	wr(self->vcpu, APIC_TMICT, TIMER_MS * 1000000);
	ms = halt_for_timer(self->vcpu, t0);
	TH_LOG("one-shot of %d ms fired after %lu ms", TIMER_MS,
	       (unsigned long)ms);
	EXPECT_LE(TIMER_MS - EARLY_MS, ms);
	EXPECT_GE(TIMER_MS + LATE_MS, ms);
	wr(self->vcpu, APIC_EOI, 0);
	EXPECT_EQ(0, rd(self->vcpu, APIC_TMCCT));
	expect_ready(self->vcpu, op(self->vcpu, OP_RETURN, 0, 0));
	/* One-shot: nothing more. */
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
}

TEST_F(lapic, current_count_counts_down)
{
	uint32_t a, b;

	REQUIRE_VMX();
	POKE_SETUP();
	enable(self->vcpu);
	wr(self->vcpu, APIC_TDCR, 0x3);		/* divide by 16 */
	wr(self->vcpu, APIC_LVTT, MASKED | 0x30);
	wr(self->vcpu, APIC_TMICT, 0xffffffff);
	/* The host clock may tick coarsely: let it move between reads. */
	usleep(50000);
	a = rd(self->vcpu, APIC_TMCCT);
	usleep(50000);
	b = rd(self->vcpu, APIC_TMCCT);
	EXPECT_GT(0xffffffffu, a);
	EXPECT_LT(0u, b);
	EXPECT_GT(a, b);
	EXPECT_EQ(0xffffffffu, rd(self->vcpu, APIC_TMICT));
	/* A zero initial count stops it. */
	wr(self->vcpu, APIC_TMICT, 0);
	EXPECT_EQ(0, rd(self->vcpu, APIC_TMCCT));
}

TEST_F(lapic, periodic_timer_fires_repeatedly)
{
	uint64_t t0, ms = 0;
	int i, ticks;
	struct ucall uc;

	REQUIRE_VMX();
	POKE_SETUP();
	enable(self->vcpu);
	wr(self->vcpu, APIC_TDCR, TDCR_DIV_1);
	wr(self->vcpu, APIC_LVTT, PERIODIC | 0x30);
	t0 = monotonic_ns();
	wr(self->vcpu, APIC_TMICT, TIMER_MS * 1000000);
	ms = halt_for_timer(self->vcpu, t0);
	/* Each round: the guest is in the handler of tick @ticks. */
	for (ticks = 1, i = 0; i < 10; i++) {
		wr(self->vcpu, APIC_EOI, 0);
		uc = op(self->vcpu, OP_RETURN, 0, 0);
		/*
		 * When the round trips since the last tick took a period
		 * (a slow host), the next tick is pending already and the
		 * IRET that unmasks interrupts takes it at once.
		 */
		if (uc.args[0] == IRQ_SYNC(0x30)) {
			if (++ticks == 3)
				ms = (monotonic_ns() - t0) / 1000000;
			continue;
		}
		expect_ready(self->vcpu, uc);
		if (ticks >= 3)
			break;
		ms = halt_for_timer(self->vcpu, t0);
		ticks++;
	}
	ASSERT_LT(i, 10) TH_LOG("the guest never left its handler");
	TH_LOG("3 periods of %d ms after %lu ms", TIMER_MS, (unsigned long)ms);
	EXPECT_LE(3 * TIMER_MS - EARLY_MS, ms);
	EXPECT_GE(3 * TIMER_MS + LATE_MS, ms);
	/* Still counting down within a period. */
	EXPECT_LT(0u, rd(self->vcpu, APIC_TMCCT));
	wr(self->vcpu, APIC_TMICT, 0);
}

TEST_F(lapic, tsc_deadline_timer_fires)
{
	struct minivmm_caps caps;
	uint64_t t0, ms;
	struct ucall uc;

	REQUIRE_VMX();
	ASSERT_EQ(0, minivmm_caps(&caps));
	POKE_SETUP();
	enable(self->vcpu);
	wr(self->vcpu, APIC_LVTT, TSC_DEADLINE | 0x30);
	t0 = monotonic_ns();
	expect_ready(self->vcpu, op(self->vcpu, OP_DEADLINE, 0,
				    (uint64_t)caps.tsc_khz * TIMER_MS));
	uc = op(self->vcpu, OP_RDMSR, MSR_TSC_DEADLINE, 0);
	/* Armed, unless it fired already (then 0). */
	if (uc.args[0] == POKE_READY) {
		ms = halt_for_timer(self->vcpu, t0);
	} else {
		expect_irq(self->vcpu, uc, 0x30);
		ms = (monotonic_ns() - t0) / 1000000;
	}
	TH_LOG("deadline %d ms ahead fired after %lu ms", TIMER_MS,
	       (unsigned long)ms);
	EXPECT_LE(TIMER_MS - EARLY_MS, ms);
	EXPECT_GE(TIMER_MS + LATE_MS, ms);
	wr(self->vcpu, APIC_EOI, 0);
	/* Fired: the MSR reads 0. */
	uc = op(self->vcpu, OP_RDMSR, MSR_TSC_DEADLINE, 0);
	expect_ready(self->vcpu, uc);
	EXPECT_EQ(0, uc.args[1]);
}

GUEST_CODE(guest_cpuid_leaf, ".code64",
	   "mov %esi, %eax\n\t"
	   "xor %ecx, %ecx\n\t"
	   "cpuid\n\t"
	   "mov %ecx, %esi\n\t"
	   "mov %ebx, %ecx\n\t"
	   "mov %eax, %ebx\n\t"
	   "mov %edx, %edx\n\t"
	   "mov $1, %eax\n\t"
	   "out %eax, $0xf8\n\t"
	   "hlt\n\t");

static void cpuid_leaf(struct test_vm *vm, uint32_t leaf, uint32_t r[4])
{
	struct test_vcpu *vcpu = test_vcpu_add(vm, 0);
	struct minivmm_regs regs;
	struct ucall uc;

	test_vcpu_load(vcpu, MODE_LONG, guest_cpuid_leaf,
		       GUEST_CODE_SIZE(guest_cpuid_leaf));
	test_get_regs(vcpu, &regs);
	regs.rsi = leaf;
	test_set_regs(vcpu, &regs);
	test_run_ucall(vcpu, &uc);
	test_get_regs(vcpu, &regs);
	r[0] = uc.args[0];
	r[1] = uc.args[1];
	r[2] = regs.rsi;
	r[3] = uc.args[2];
	test_vcpu_destroy(vcpu);
}

TEST_F(lapic, cpuid_reports_tsc_deadline_and_timer_frequency)
{
	struct minivmm_caps caps;
	uint32_t r[4];

	REQUIRE_VMX();
	ASSERT_EQ(0, minivmm_caps(&caps));
	self->vm = test_vm_create(GUEST_MEM_SIZE);
	cpuid_leaf(self->vm, 1, r);
	EXPECT_TRUE(r[2] & (1u << 24));		/* TSC deadline */
	EXPECT_TRUE(r[3] & (1u << 9));		/* APIC */
	EXPECT_TRUE(r[2] & (1u << 21));		/* x2APIC */
	cpuid_leaf(self->vm, 0x40000000, r);
	EXPECT_EQ(0x40000010, r[0]);
	cpuid_leaf(self->vm, 0x40000010, r);
	EXPECT_EQ(caps.tsc_khz, r[0]);
	EXPECT_EQ(1000000, r[1]);
}

/*
 * The same frequencies where Intel's CPUs give them, for guests that do
 * not know minivmm's leaf: the crystal (the APIC timer's clock, 1 GHz)
 * in leaf 0x15 ECX, the TSC as crystal * EBX / EAX, with EBX small enough
 * for Linux's 32-bit product of it with the crystal's kHz; leaf 0x16 in
 * MHz. The basic leaves reach 0x16.
 */
TEST_F(lapic, cpuid_leaves_15_and_16_give_tsc_and_crystal_frequencies)
{
	struct minivmm_caps caps;
	uint64_t khz;
	uint32_t r[4];

	REQUIRE_VMX();
	ASSERT_EQ(0, minivmm_caps(&caps));
	self->vm = test_vm_create(GUEST_MEM_SIZE);
	cpuid_leaf(self->vm, 0, r);
	EXPECT_LE(0x16, r[0]);
	cpuid_leaf(self->vm, 0x15, r);
	EXPECT_EQ(1000000000u, r[2]);
	ASSERT_NE(0, r[0]);
	ASSERT_NE(0, r[1]);
	EXPECT_GE(UINT32_MAX, 1000000ULL * r[1]);
	khz = 1000000ULL * r[1] / r[0];
	/* The closest fraction with that numerator: within 1 / (2 * 4294). */
	EXPECT_GE(caps.tsc_khz / 8000 + 1, khz > caps.tsc_khz ?
		  khz - caps.tsc_khz : caps.tsc_khz - khz)
		TH_LOG("TSC %llu kHz from %u/%u, %u kHz measured",
		       (unsigned long long)khz, r[1], r[0], caps.tsc_khz);
	cpuid_leaf(self->vm, 0x16, r);
	EXPECT_EQ((caps.tsc_khz + 500) / 1000, r[0]);
	EXPECT_EQ(1000, r[2]);
}

/* ---- x2APIC -------------------------------------------------------- */

#define X2APIC(off)	(0x800 + ((off) >> 4))
#define MSR_SELF_IPI	0x83f
#define EXC_GP		EXC_SYNC(13)

/* RDMSR @msr: its low half, or ~0ULL for a #GP. */
static uint64_t x2_rd(struct test_vcpu *vcpu, uint32_t msr)
{
	struct ucall uc = op(vcpu, OP_RDMSR, msr, 0);

	if (uc.args[0] == EXC_GP) {
		expect_ready(vcpu, next(vcpu));
		return ~0ULL;
	}
	expect_ready(vcpu, uc);
	return (uint32_t)uc.args[1];
}

/* WRMSR @msr: 0, or -1 for a #GP. */
static int x2_wr(struct test_vcpu *vcpu, uint32_t msr, uint64_t val)
{
	struct ucall uc = op(vcpu, OP_WRMSR, msr, val);

	if (uc.args[0] == EXC_GP) {
		expect_ready(vcpu, next(vcpu));
		return -1;
	}
	expect_ready(vcpu, uc);
	return 0;
}

#define BASE_X2		(APIC_TB | 0xd00)	/* EN, EXTD, BSP */

/*
 * Open an interrupt window and take @vec: in x2APIC mode the handler's
 * read of its ISR word through the page is plain MMIO (answered 0).
 */
static void x2_window_irq(struct test_vcpu *vcpu, int vec)
{
	struct minivmm_regs regs;
	struct minivmm_run *run;

	test_get_regs(vcpu, &regs);
	regs.rcx = OP_WINDOW;
	test_set_regs(vcpu, &regs);
	run = test_run_expect(vcpu, MINIVMM_EXIT_MMIO);
	TEST_REQUIRE(run->mmio.phys_addr == APIC_TB + APIC_ISR + vec / 32 * 16,
		     "MMIO at %#llx", (unsigned long long)run->mmio.phys_addr);
	run->mmio.data = 0;
	expect_irq(vcpu, next(vcpu), vec);
}

TEST_F(lapic, x2apic_registers_through_msrs)
{
	REQUIRE_VMX();
	POKE_SETUP();
	/* Not in x2APIC mode yet: the MSRs do not exist. */
	EXPECT_EQ(~0ULL, x2_rd(self->vcpu, X2APIC(APIC_LVR)));
	ASSERT_EQ(0, x2_wr(self->vcpu, MSR_APIC_BASE, BASE_X2));
	EXPECT_EQ(BASE_X2, x2_rd(self->vcpu, MSR_APIC_BASE));
	EXPECT_EQ(0, x2_rd(self->vcpu, X2APIC(APIC_ID)));
	EXPECT_EQ(0x50014, x2_rd(self->vcpu, X2APIC(APIC_LVR)));
	/* Cluster 0, bit 0 for APIC ID 0. */
	EXPECT_EQ(1, x2_rd(self->vcpu, X2APIC(APIC_LDR)));
	EXPECT_EQ(0, x2_wr(self->vcpu, X2APIC(APIC_TASKPRI), 0x20));
	EXPECT_EQ(0x20, x2_rd(self->vcpu, X2APIC(APIC_TASKPRI)));
	EXPECT_EQ(0x20, x2_rd(self->vcpu, X2APIC(APIC_PROCPRI)));
	EXPECT_EQ(0, x2_wr(self->vcpu, X2APIC(APIC_TASKPRI), 0));
	EXPECT_EQ(0, x2_wr(self->vcpu, X2APIC(APIC_SPIV), 0x1ff));
	EXPECT_EQ(0x1ff, x2_rd(self->vcpu, X2APIC(APIC_SPIV)));
	EXPECT_EQ(0, x2_wr(self->vcpu, X2APIC(APIC_LVT0), 0x10030));
	EXPECT_EQ(0x10030, x2_rd(self->vcpu, X2APIC(APIC_LVT0)));
	EXPECT_EQ(0, x2_wr(self->vcpu, X2APIC(APIC_TDCR), 0xb));
	EXPECT_EQ(0xb, x2_rd(self->vcpu, X2APIC(APIC_TDCR)));
}

TEST_F(lapic, x2apic_mode_leaves_the_page_to_userspace)
{
	struct minivmm_regs regs;
	struct minivmm_run *run;

	REQUIRE_VMX();
	POKE_SETUP();
	ASSERT_EQ(0, x2_wr(self->vcpu, MSR_APIC_BASE, BASE_X2));
	test_get_regs(self->vcpu, &regs);
	regs.rcx = OP_READ;
	regs.rdx = APIC_LVR;
	test_set_regs(self->vcpu, &regs);
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_MMIO);
	EXPECT_EQ(APIC_TB + APIC_LVR, run->mmio.phys_addr);
	EXPECT_EQ(0, run->mmio.is_write);
	run->mmio.data = 0x1234;
	EXPECT_EQ(0x1234, next(self->vcpu).args[1]);
}

TEST_F(lapic, x2apic_self_ipi_and_icr)
{
	REQUIRE_VMX();
	POKE_SETUP();
	ASSERT_EQ(0, x2_wr(self->vcpu, MSR_APIC_BASE, BASE_X2));
	ASSERT_EQ(0, x2_wr(self->vcpu, X2APIC(APIC_SPIV), 0x1ff));
	ASSERT_EQ(0, x2_wr(self->vcpu, MSR_SELF_IPI, 0x45));
	EXPECT_EQ(1u << 5, x2_rd(self->vcpu, X2APIC(APIC_IRR + 2 * 16)));
	x2_window_irq(self->vcpu, 0x45);
	EXPECT_EQ(1u << 5, x2_rd(self->vcpu, X2APIC(APIC_ISR + 2 * 16)));
	EXPECT_EQ(0, x2_wr(self->vcpu, X2APIC(APIC_EOI), 0));
	EXPECT_EQ(0, x2_rd(self->vcpu, X2APIC(APIC_ISR + 2 * 16)));
	expect_ready(self->vcpu, op(self->vcpu, OP_RETURN, 0, 0));
	/* One 64-bit ICR: destination 0 (this APIC) in the high half. */
	ASSERT_EQ(0, x2_wr(self->vcpu, X2APIC(APIC_ICR), 0x50));
	x2_window_irq(self->vcpu, 0x50);
	EXPECT_EQ(0, x2_wr(self->vcpu, X2APIC(APIC_EOI), 0));
	expect_ready(self->vcpu, op(self->vcpu, OP_RETURN, 0, 0));
	/* Another destination: not this one. */
	ASSERT_EQ(0, x2_wr(self->vcpu, X2APIC(APIC_ICR), (5ULL << 32) | 0x60));
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
}

TEST_F(lapic, x2apic_reserved_and_read_only_registers_gp)
{
	static const uint32_t no_read[] = {
		APIC_DFR, APIC_ICR2, APIC_ARBPRI, APIC_EOI, 0x3f0, 0x400,
	};
	static const uint32_t no_write[] = {
		APIC_ID, APIC_LVR, APIC_PROCPRI, APIC_LDR, APIC_ISR, APIC_IRR,
		APIC_TMR, APIC_TMCCT, APIC_DFR, APIC_ICR2,
	};
	unsigned int i;

	REQUIRE_VMX();
	POKE_SETUP();
	ASSERT_EQ(0, x2_wr(self->vcpu, MSR_APIC_BASE, BASE_X2));
	for (i = 0; i < ARRAY_SIZE(no_read); i++)
		EXPECT_EQ(~0ULL, x2_rd(self->vcpu, X2APIC(no_read[i]))) {
			TH_LOG("RDMSR %#x", X2APIC(no_read[i]));
		}
	for (i = 0; i < ARRAY_SIZE(no_write); i++)
		EXPECT_EQ(-1, x2_wr(self->vcpu, X2APIC(no_write[i]), 0)) {
			TH_LOG("WRMSR %#x", X2APIC(no_write[i]));
		}
	EXPECT_EQ(-1, x2_wr(self->vcpu, X2APIC(APIC_EOI), 1));
	EXPECT_EQ(-1, x2_wr(self->vcpu, X2APIC(APIC_ESR), 1));
	EXPECT_EQ(-1, x2_wr(self->vcpu, X2APIC(APIC_TASKPRI), 1ULL << 32));
}

TEST_F(lapic, x2apic_illegal_mode_transitions_gp)
{
	REQUIRE_VMX();
	POKE_SETUP();
	/* EXTD without EN. */
	EXPECT_EQ(-1, x2_wr(self->vcpu, MSR_APIC_BASE, APIC_TB | 0x500));
	ASSERT_EQ(0, x2_wr(self->vcpu, MSR_APIC_BASE, BASE_X2));
	/* x2APIC straight back to xAPIC. */
	EXPECT_EQ(-1, x2_wr(self->vcpu, MSR_APIC_BASE, APIC_TB | 0x900));
	EXPECT_EQ(BASE_X2, x2_rd(self->vcpu, MSR_APIC_BASE));
	/* Through disabled it may; disabled to x2APIC it may not. */
	EXPECT_EQ(0, x2_wr(self->vcpu, MSR_APIC_BASE, APIC_TB | 0x100));
	EXPECT_EQ(-1, x2_wr(self->vcpu, MSR_APIC_BASE, BASE_X2));
	EXPECT_EQ(0, x2_wr(self->vcpu, MSR_APIC_BASE, APIC_TB | 0x900));
	EXPECT_EQ(0x50014, rd(self->vcpu, APIC_LVR));
}

static const struct {
	uint32_t off, val;
} x2_lvts[] = {
	{ APIC_LVTT, PERIODIC | MASKED | 0x31 },
	{ APIC_LVTTHMR, MASKED | 0x433 },
	{ APIC_LVTPC, MASKED | 0x434 },
	{ APIC_LVT1, MASKED | 0x400 },
	{ APIC_LVT1, 0xa035 },
	{ APIC_LVTERR, 0x36 },
	{ APIC_LVTERR, MASKED | 0x37 },
	{ APIC_LVTT, MASKED | 0x32 },
};

TEST_F(lapic, x2apic_lvt_timer_and_tmr_registers_through_msrs)
{
	uint64_t a, b;
	unsigned int i;

	REQUIRE_VMX();
	POKE_SETUP();
	ASSERT_EQ(0, x2_wr(self->vcpu, MSR_APIC_BASE, BASE_X2));
	ASSERT_EQ(0, x2_wr(self->vcpu, X2APIC(APIC_SPIV), 0x1ff));
	for (i = 0; i < ARRAY_SIZE(x2_lvts); i++) {
		EXPECT_EQ(0, x2_wr(self->vcpu, X2APIC(x2_lvts[i].off),
				   x2_lvts[i].val));
		EXPECT_EQ(x2_lvts[i].val,
			  x2_rd(self->vcpu, X2APIC(x2_lvts[i].off))) {
			TH_LOG("MSR %#x written %#x", X2APIC(x2_lvts[i].off),
			       x2_lvts[i].val);
		}
	}
	/* A masked one-shot, divide by 16: it counts, it does not fire. */
	EXPECT_EQ(0, x2_wr(self->vcpu, X2APIC(APIC_TDCR), 0x3));
	EXPECT_EQ(0, x2_wr(self->vcpu, X2APIC(APIC_TMICT), 0xffffffff));
	EXPECT_EQ(0xffffffff, x2_rd(self->vcpu, X2APIC(APIC_TMICT)));
	usleep(50000);
	a = x2_rd(self->vcpu, X2APIC(APIC_TMCCT));
	usleep(50000);
	b = x2_rd(self->vcpu, X2APIC(APIC_TMCCT));
	EXPECT_GT(0xffffffffULL, a);
	EXPECT_LT(0ULL, b);
	EXPECT_GT(a, b);
	/* The current count is read-only. */
	EXPECT_EQ(-1, x2_wr(self->vcpu, X2APIC(APIC_TMCCT), 0));
	EXPECT_EQ(-1, x2_wr(self->vcpu, X2APIC(APIC_TMCCT), 0x1234));
	EXPECT_EQ(0xffffffff, x2_rd(self->vcpu, X2APIC(APIC_TMICT)));
	EXPECT_EQ(0, x2_wr(self->vcpu, X2APIC(APIC_TMICT), 0));
	EXPECT_EQ(0, x2_rd(self->vcpu, X2APIC(APIC_TMCCT)));
	/* The TMR: eight read-only words, nothing level-triggered yet. */
	for (i = 0; i < 8; i++) {
		EXPECT_EQ(0, x2_rd(self->vcpu, X2APIC(APIC_TMR + i * 16)));
		EXPECT_EQ(-1, x2_wr(self->vcpu, X2APIC(APIC_TMR + i * 16), 0))
			TH_LOG("WRMSR %#x", X2APIC(APIC_TMR + i * 16));
	}
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
}

/* ---- HLT and ready_for_interrupt ----------------------------------- */

TEST_F(lapic, hlt_with_interrupts_off_exits)
{
	struct minivmm_regs regs;
	struct minivmm_run *run;

	REQUIRE_VMX();
	POKE_SETUP();
	enable(self->vcpu);
	/* Returning from the loop at the top reaches HLT with IF = 0. */
	test_get_regs(self->vcpu, &regs);
	regs.rcx = OP_RETURN;
	test_set_regs(self->vcpu, &regs);
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_HLT);
	EXPECT_EQ(0, run->ready_for_interrupt);
}

TEST_F(lapic, halted_vcpu_sleeps_until_signal)
{
	struct minivmm_regs regs;
	uint64_t t0;

	REQUIRE_VMX();
	POKE_SETUP();
	test_get_regs(self->vcpu, &regs);
	regs.rcx = OP_HALT;
	test_set_regs(self->vcpu, &regs);
	t0 = monotonic_ns();
	EXPECT_EQ(-EINTR, test_vcpu_run_for(self->vcpu, 300));
	EXPECT_EQ(MINIVMM_EXIT_INTR, self->vcpu->run->exit_reason);
	EXPECT_LE(250, (monotonic_ns() - t0) / 1000000);
	/* Still halted: an interrupt ends the halt. */
	EXPECT_EQ(0, ioctl(self->vcpu->fd, MINIVMM_INJECT_INTERRUPT, 0x45));
	expect_irq(self->vcpu, next(self->vcpu), 0x45);
}

GUEST_CODE(guest_ready, ".code64",
	   "sti\n\t"
	   "nop\n\t"
	   GUEST_SYNC_ASM(1)
	   "cli\n\t"
	   GUEST_SYNC_ASM(2)
	   "sti\n\t"
	   "nop\n\t"
	   GUEST_SYNC_ASM(3)
	   "cli\n\t"
	   "hlt\n\t");

/*
 * Every exit to userspace is at an instruction boundary past any STI or
 * MOV SS shadow: IF alone decides.
 */
TEST_F(lapic, ready_for_interrupt_follows_if)
{
	REQUIRE_VMX();
	self->vm = test_vm_create(GUEST_MEM_SIZE);
	self->vcpu = test_vcpu_add(self->vm, 0);
	test_vcpu_load(self->vcpu, MODE_LONG, guest_ready,
		       GUEST_CODE_SIZE(guest_ready));
	test_expect_sync(self->vcpu, 1);
	EXPECT_EQ(1, self->vcpu->run->ready_for_interrupt);
	test_expect_sync(self->vcpu, 2);
	EXPECT_EQ(0, self->vcpu->run->ready_for_interrupt);
	test_expect_sync(self->vcpu, 3);
	EXPECT_EQ(1, self->vcpu->run->ready_for_interrupt);
	test_run_expect(self->vcpu, MINIVMM_EXIT_HLT);
}

/* ---- IPIs and SMP start-up ----------------------------------------- */

struct ipi_worker {
	struct test_vcpu *vcpu;
	pthread_t thread;
	int ready;
	int got[2];
	pthread_mutex_t *lock;
	pthread_cond_t *cond;
};

/*
 * A destination vCPU: enable its APIC with a logical ID of its own bit,
 * say so, then halt for two IPIs (0x45, then 0x50).
 */
static void *ipi_worker_fn(void *arg)
{
	struct ipi_worker *w = arg;
	struct test_vcpu *vcpu = w->vcpu;
	struct ucall uc;
	int i;

	expect_ready(vcpu, next(vcpu));
	enable(vcpu);
	wr(vcpu, APIC_LDR, (1u << vcpu->id) << 24);
	pthread_mutex_lock(w->lock);
	w->ready = 1;
	pthread_cond_broadcast(w->cond);
	pthread_mutex_unlock(w->lock);
	/* The second may be pending already when the first returns. */
	uc = op(vcpu, OP_HALT, 0, 0);
	for (i = 0; i < 2; i++) {
		w->got[i] = uc.args[0];
		wr(vcpu, APIC_EOI, 0);
		uc = op(vcpu, OP_RETURN, 0, 0);
		if (i == 0 && uc.args[0] == POKE_READY)
			uc = op(vcpu, OP_HALT, 0, 0);
	}
	expect_ready(vcpu, uc);
	return NULL;
}

TEST_F(lapic, ipis_among_four_vcpus)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	struct ipi_worker w[4] = { 0 };
	int i;

	REQUIRE_VMX();
	POKE_SETUP();
	enable(self->vcpu);
	/* Set up every vCPU first: that rewrites the shared page tables. */
	for (i = 1; i < 4; i++) {
		w[i].vcpu = poke_vcpu(self->vm, i);
		w[i].lock = &lock;
		w[i].cond = &cond;
	}
	for (i = 1; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&w[i].thread, NULL, ipi_worker_fn,
					    &w[i]));
	pthread_mutex_lock(&lock);
	while (!w[1].ready || !w[2].ready || !w[3].ready)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);

	/* Physical to 1, logical (flat) to 2 and to 3. */
	wr(self->vcpu, APIC_ICR2, 1u << 24);
	wr(self->vcpu, APIC_ICR, 0x45);
	wr(self->vcpu, APIC_ICR2, 0x04u << 24);
	wr(self->vcpu, APIC_ICR, DEST_LOGICAL | 0x45);
	wr(self->vcpu, APIC_ICR2, 0x08u << 24);
	wr(self->vcpu, APIC_ICR, DEST_LOGICAL | 0x45);
	/* All but self: 1, 2 and 3, not 0. */
	wr(self->vcpu, APIC_ICR, DEST_ALLBUT | 0x50);
	/*
	 * Each gets both. In the order sent, unless both were in its IRR
	 * before it ran (one host CPU for four vCPUs): then the higher
	 * vector goes first, as on a CPU.
	 */
	for (i = 1; i < 4; i++) {
		pthread_join(w[i].thread, NULL);
		EXPECT_TRUE((w[i].got[0] == IRQ_SYNC(0x45) &&
			     w[i].got[1] == IRQ_SYNC(0x50)) ||
			    (w[i].got[0] == IRQ_SYNC(0x50) &&
			     w[i].got[1] == IRQ_SYNC(0x45))) {
			TH_LOG("vCPU %d got %#x, %#x", i, w[i].got[0],
			       w[i].got[1]);
		}
		test_vcpu_destroy(w[i].vcpu);
	}
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
}

/* Another poke vCPU at its first report, its APIC software-enabled. */
static struct test_vcpu *peer(struct test_vm *vm, int id)
{
	struct test_vcpu *vcpu = poke_vcpu(vm, id);

	expect_ready(vcpu, next(vcpu));
	enable(vcpu);
	return vcpu;
}

/* Is @vec in the IRR of @vcpu? */
static bool irr_has(struct test_vcpu *vcpu, int vec)
{
	return rd(vcpu, APIC_IRR + vec / 32 * 16) & (1u << (vec % 32));
}

/* Take the pending @vec: its handler runs, EOI, back in the loop. */
static void take(struct test_vcpu *vcpu, int vec)
{
	expect_irq(vcpu, op(vcpu, OP_WINDOW, 0, 0), vec);
	wr(vcpu, APIC_EOI, 0);
	expect_ready(vcpu, op(vcpu, OP_RETURN, 0, 0));
}

static void send_ipi(struct test_vcpu *vcpu, uint8_t dest, uint32_t icr)
{
	wr(vcpu, APIC_ICR2, (uint32_t)dest << 24);
	wr(vcpu, APIC_ICR, icr);
}

/*
 * The IPIs below go to vCPUs outside RUN: the message waits in the IRR
 * (or as a pending NMI) until the destination runs.
 */
TEST_F(lapic, ipi_all_including_self_reaches_every_vcpu)
{
	struct test_vcpu *v1;

	REQUIRE_VMX();
	POKE_SETUP();
	enable(self->vcpu);
	v1 = peer(self->vm, 1);
	/* The shorthand ignores the destination field. */
	send_ipi(self->vcpu, 5, DEST_ALLINC | 0x45);
	EXPECT_TRUE(irr_has(self->vcpu, 0x45));
	EXPECT_TRUE(irr_has(v1, 0x45));
	take(self->vcpu, 0x45);
	take(v1, 0x45);
	/* Once each. */
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
	expect_ready(v1, op(v1, OP_WINDOW, 0, 0));
	test_vcpu_destroy(v1);
}

/*
 * Lowest priority goes to one APIC of the destination; which one is the
 * APIC's choice (the first that matches, api.rst says), not asserted.
 */
TEST_F(lapic, ipi_lowest_priority_reaches_one_destination)
{
	struct test_vcpu *v[3];
	bool got[3];
	int i, n = 0;

	REQUIRE_VMX();
	POKE_SETUP();
	enable(self->vcpu);
	for (i = 1; i < 3; i++) {
		v[i] = peer(self->vm, i);
		wr(v[i], APIC_LDR, (1u << i) << 24);
	}
	send_ipi(self->vcpu, 0x06, DM_LOWEST | DEST_LOGICAL | 0x45);
	EXPECT_FALSE(irr_has(self->vcpu, 0x45));
	for (i = 1; i < 3; i++) {
		got[i] = irr_has(v[i], 0x45);
		n += got[i];
	}
	EXPECT_EQ(1, n) TH_LOG("vCPU 1 %d, vCPU 2 %d", got[1], got[2]);
	for (i = 1; i < 3; i++) {
		if (got[i])
			take(v[i], 0x45);
		expect_ready(v[i], op(v[i], OP_WINDOW, 0, 0));
		test_vcpu_destroy(v[i]);
	}
}

/*
 * The cluster model: the destination's high nibble names the cluster,
 * the low one APICs in it. vCPU 1 is cluster 1 bit 0, vCPU 2 cluster 2
 * bit 0: in the flat model 0x11 would reach both.
 */
TEST_F(lapic, ipi_cluster_logical_destination)
{
	static const struct {
		uint8_t dest;
		bool to1, to2;
	} sends[] = {
		{ 0x11, true, false }, { 0x21, false, true },
		{ 0x12, false, false }, { 0x31, false, false },
		{ 0x01, false, false }, { 0xff, true, true },
	};
	struct test_vcpu *v1, *v2;
	unsigned int i;

	REQUIRE_VMX();
	POKE_SETUP();
	enable(self->vcpu);
	v1 = peer(self->vm, 1);
	v2 = peer(self->vm, 2);
	wr(v1, APIC_DFR, 0x0fffffff);
	wr(v2, APIC_DFR, 0x0fffffff);
	wr(v1, APIC_LDR, 0x11u << 24);
	wr(v2, APIC_LDR, 0x21u << 24);
	for (i = 0; i < ARRAY_SIZE(sends); i++) {
		send_ipi(self->vcpu, sends[i].dest, DEST_LOGICAL | 0x45);
		EXPECT_EQ(sends[i].to1, irr_has(v1, 0x45))
			TH_LOG("destination %#x", sends[i].dest);
		EXPECT_EQ(sends[i].to2, irr_has(v2, 0x45))
			TH_LOG("destination %#x", sends[i].dest);
		if (sends[i].to1)
			take(v1, 0x45);
		if (sends[i].to2)
			take(v2, 0x45);
	}
	EXPECT_FALSE(irr_has(self->vcpu, 0x45));
	expect_ready(v1, op(v1, OP_WINDOW, 0, 0));
	expect_ready(v2, op(v2, OP_WINDOW, 0, 0));
	test_vcpu_destroy(v1);
	test_vcpu_destroy(v2);
}

static bool have_cap(uint64_t cap)
{
	struct minivmm_caps caps;

	return !minivmm_caps(&caps) && (caps.features & cap);
}

/*
 * An NMI IPI runs the destination's NMI handler (vector 2) even with
 * IF = 0, bypassing the IRR and ISR; its IRET lets the next one in.
 */
TEST_F(lapic, nmi_ipi_runs_the_targets_nmi_handler)
{
	struct test_vcpu *v1;
	struct ucall uc;
	int i;

	REQUIRE_VMX();
	if (!have_cap(MINIVMM_CAP_VIRTUAL_NMI))
		SKIP(return, "no virtual NMIs: APIC NMIs are dropped");
	POKE_SETUP();
	enable(self->vcpu);
	v1 = peer(self->vm, 1);
	test_set_idt(self->vm, MODE_LONG, 2, GUEST_CODE_ADDR +
		     GUEST_LABEL_OFFSET(guest_poke, guest_poke_irq_2));
	for (i = 0; i < 2; i++) {
		/* The vector field means nothing for an NMI. */
		send_ipi(self->vcpu, 1, DM_NMI | 0x45);
		/* Taken before the read; the handler sees ISR word 0 clear. */
		uc = op(v1, OP_READ, APIC_IRR + 2 * 16, 0);
		EXPECT_EQ(0, expect_irq(v1, uc, 2));
		uc = op(v1, OP_RETURN, 0, 0);
		expect_ready(v1, uc);
		EXPECT_EQ(0, uc.args[1]);
	}
	expect_ready(v1, op(v1, OP_WINDOW, 0, 0));
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
	test_vcpu_destroy(v1);
}

/*
 * x2APIC: the ICR's destination is 32 bits (0x101 is not APIC 1), a
 * logical one is cluster (31:16) and bit (15:0) of the derived LDR, and
 * 0xffffffff is a broadcast in both modes.
 */
TEST_F(lapic, x2apic_ipi_to_another_vcpu)
{
	struct test_vcpu *v1;

	REQUIRE_VMX();
	POKE_SETUP();
	v1 = poke_vcpu(self->vm, 1);
	expect_ready(v1, next(v1));
	ASSERT_EQ(0, x2_wr(self->vcpu, MSR_APIC_BASE, BASE_X2));
	ASSERT_EQ(0, x2_wr(v1, MSR_APIC_BASE, APIC_TB | 0xc00));
	ASSERT_EQ(0, x2_wr(self->vcpu, X2APIC(APIC_SPIV), 0x1ff));
	ASSERT_EQ(0, x2_wr(v1, X2APIC(APIC_SPIV), 0x1ff));
	EXPECT_EQ(2, x2_rd(v1, X2APIC(APIC_LDR)));

	ASSERT_EQ(0, x2_wr(self->vcpu, X2APIC(APIC_ICR),
			   (0x101ULL << 32) | 0x45));
	EXPECT_EQ(0, x2_rd(v1, X2APIC(APIC_IRR + 2 * 16)));
	ASSERT_EQ(0, x2_wr(self->vcpu, X2APIC(APIC_ICR), (1ULL << 32) | 0x45));
	EXPECT_EQ(1u << 5, x2_rd(v1, X2APIC(APIC_IRR + 2 * 16)));
	EXPECT_EQ(0, x2_rd(self->vcpu, X2APIC(APIC_IRR + 2 * 16)));
	x2_window_irq(v1, 0x45);
	EXPECT_EQ(0, x2_wr(v1, X2APIC(APIC_EOI), 0));
	expect_ready(v1, op(v1, OP_RETURN, 0, 0));

	/* Logical: cluster 1 bit 1 is nobody, cluster 0 bit 1 is vCPU 1. */
	ASSERT_EQ(0, x2_wr(self->vcpu, X2APIC(APIC_ICR),
			   (0x10002ULL << 32) | DEST_LOGICAL | 0x50));
	EXPECT_EQ(0, x2_rd(v1, X2APIC(APIC_IRR + 2 * 16)));
	ASSERT_EQ(0, x2_wr(self->vcpu, X2APIC(APIC_ICR),
			   (0x2ULL << 32) | DEST_LOGICAL | 0x50));
	EXPECT_EQ(1u << 16, x2_rd(v1, X2APIC(APIC_IRR + 2 * 16)));
	EXPECT_EQ(0, x2_rd(self->vcpu, X2APIC(APIC_IRR + 2 * 16)));
	x2_window_irq(v1, 0x50);
	EXPECT_EQ(0, x2_wr(v1, X2APIC(APIC_EOI), 0));
	expect_ready(v1, op(v1, OP_RETURN, 0, 0));

	/* All ones is a broadcast, logical as well, to the sender too. */
	ASSERT_EQ(0, x2_wr(self->vcpu, X2APIC(APIC_ICR),
			   (0xffffffffULL << 32) | DEST_LOGICAL | 0x60));
	EXPECT_EQ(1, x2_rd(v1, X2APIC(APIC_IRR + 3 * 16)));
	EXPECT_EQ(1, x2_rd(self->vcpu, X2APIC(APIC_IRR + 3 * 16)));
	x2_window_irq(v1, 0x60);
	EXPECT_EQ(0, x2_wr(v1, X2APIC(APIC_EOI), 0));
	expect_ready(v1, op(v1, OP_RETURN, 0, 0));
	x2_window_irq(self->vcpu, 0x60);
	EXPECT_EQ(0, x2_wr(self->vcpu, X2APIC(APIC_EOI), 0));
	expect_ready(self->vcpu, op(self->vcpu, OP_RETURN, 0, 0));
	expect_ready(v1, op(v1, OP_WINDOW, 0, 0));
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
	test_vcpu_destroy(v1);
}

#define RTE_REMOTE_IRR	(1ULL << 14)
#define RTE_LEVEL	(1ULL << 15)

static void ioapic_state(struct test_vm *vm, unsigned long cmd,
			 struct minivmm_ioapic_state *s)
{
	TEST_REQUIRE(!ioctl(vm->fd, cmd, s), "I/O APIC state: %m");
}

static void irq_line(struct test_vm *vm, uint32_t pin, uint32_t level)
{
	struct minivmm_irq_line l = { .pin = pin, .level = level };

	TEST_REQUIRE(!ioctl(vm->fd, MINIVMM_IRQ_LINE, &l),
		     "MINIVMM_IRQ_LINE: %m");
}

/*
 * A level-triggered interrupt from an I/O APIC pin sets its TMR bit; the
 * EOI goes to the I/O APIC (remote IRR clears). As the SDM has it, the
 * TMR bit changes when a vector is accepted, not at its EOI: the next
 * edge-triggered 0x45 clears it.
 */
TEST_F(lapic, level_triggered_pin_sets_tmr_and_eoi_reaches_ioapic)
{
	struct minivmm_ioapic_state io;

	REQUIRE_VMX();
	if (!have_cap(MINIVMM_CAP_IOAPIC))
		SKIP(return, "no in-kernel I/O APIC");
	POKE_SETUP();
	enable(self->vcpu);
	ioapic_state(self->vm, MINIVMM_GET_IOAPIC, &io);
	io.redir[5] = RTE_LEVEL | 0x45;			/* to APIC 0 */
	ioapic_state(self->vm, MINIVMM_SET_IOAPIC, &io);
	irq_line(self->vm, 5, 1);
	EXPECT_EQ(1u << 5, rd(self->vcpu, APIC_TMR + 2 * 16));
	EXPECT_TRUE(irr_has(self->vcpu, 0x45));
	expect_irq(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0), 0x45);
	irq_line(self->vm, 5, 0);
	ioapic_state(self->vm, MINIVMM_GET_IOAPIC, &io);
	EXPECT_TRUE(io.redir[5] & RTE_REMOTE_IRR);
	wr(self->vcpu, APIC_EOI, 0);
	ioapic_state(self->vm, MINIVMM_GET_IOAPIC, &io);
	EXPECT_FALSE(io.redir[5] & RTE_REMOTE_IRR);
	EXPECT_EQ(0, rd(self->vcpu, APIC_ISR + 2 * 16));
	EXPECT_EQ(1u << 5, rd(self->vcpu, APIC_TMR + 2 * 16));
	expect_ready(self->vcpu, op(self->vcpu, OP_RETURN, 0, 0));
	self_ipi(self->vcpu, 0x45);
	EXPECT_EQ(0, rd(self->vcpu, APIC_TMR + 2 * 16));
	take(self->vcpu, 0x45);
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
}

/* An AP's start-up code, at 0x8000 (SIPI vector 8): report CS. */
GUEST_CODE(guest_ap, ".code16",
	   "mov %cs, %cx\n\t"
	   "mov $0x5151, %ebx\n\t"
	   "mov $1, %eax\n\t"
	   "out %eax, $0xf8\n\t"
	   "hlt\n\t");

struct ap_run {
	struct test_vcpu *vcpu;
	struct ucall uc;
	uint64_t nr;
	uint32_t halt_reason;
};

static void *ap_fn(void *arg)
{
	struct ap_run *ap = arg;

	ap->nr = test_run_ucall(ap->vcpu, &ap->uc);
	if (!test_vcpu_run(ap->vcpu))
		ap->halt_reason = ap->vcpu->run->exit_reason;
	return NULL;
}

TEST_F(lapic, init_sipi_restarts_long_mode_vcpu_in_real_mode)
{
	struct ap_run ap = { 0 };

	REQUIRE_VMX();
	POKE_SETUP();
	test_vm_load(self->vm, 0x8000, guest_ap, GUEST_CODE_SIZE(guest_ap));
	ap.vcpu = poke_vcpu(self->vm, 1);
	expect_ready(ap.vcpu, next(ap.vcpu));
	wr(self->vcpu, APIC_ICR2, 1u << 24);
	wr(self->vcpu, APIC_ICR, DM_INIT | INT_ASSERT);
	wr(self->vcpu, APIC_ICR, DM_STARTUP | 0x08);
	ap_fn(&ap);
	EXPECT_EQ(UCALL_SYNC, ap.nr);
	EXPECT_EQ(AP_SYNC, ap.uc.args[0]);
	EXPECT_EQ(0x800, ap.uc.args[1]);
	EXPECT_EQ(MINIVMM_EXIT_HLT, ap.halt_reason);
	test_vcpu_destroy(ap.vcpu);
}

TEST_F(lapic, ap_waits_for_sipi)
{
	struct test_vcpu *ap;

	REQUIRE_VMX();
	POKE_SETUP();
	ap = test_vcpu_add(self->vm, 1);
	EXPECT_EQ(-EINTR, test_vcpu_run_for(ap, 200));
	EXPECT_EQ(MINIVMM_EXIT_INTR, ap->run->exit_reason);
	test_vcpu_destroy(ap);
}

TEST_F(lapic, init_sipi_starts_ap_in_real_mode)
{
	struct ap_run ap = { 0 };
	pthread_t t;

	REQUIRE_VMX();
	POKE_SETUP();
	test_vm_load(self->vm, 0x8000, guest_ap, GUEST_CODE_SIZE(guest_ap));
	ap.vcpu = test_vcpu_add(self->vm, 1);
	ASSERT_EQ(0, pthread_create(&t, NULL, ap_fn, &ap));
	wr(self->vcpu, APIC_ICR2, 1u << 24);
	wr(self->vcpu, APIC_ICR, DM_INIT | INT_ASSERT);
	wr(self->vcpu, APIC_ICR, DM_STARTUP | 0x08);
	pthread_join(t, NULL);
	EXPECT_EQ(UCALL_SYNC, ap.nr);
	EXPECT_EQ(AP_SYNC, ap.uc.args[0]);
	EXPECT_EQ(0x800, ap.uc.args[1]);
	EXPECT_EQ(MINIVMM_EXIT_HLT, ap.halt_reason);
	test_vcpu_destroy(ap.vcpu);
}

/* ---- the APIC's and the run state's ioctls -------------------------- */

#define MSR_IA32_TSC	0x10

static uint32_t page_rd(const struct minivmm_lapic_state *s, uint32_t off)
{
	uint32_t v;

	memcpy(&v, s->regs + off, sizeof(v));
	return v;
}

static void page_wr(struct minivmm_lapic_state *s, uint32_t off, uint32_t v)
{
	memcpy(s->regs + off, &v, sizeof(v));
}

/* The ioctl's errno, or 0. */
static int xioctl(struct test_vcpu *vcpu, unsigned long cmd, void *arg)
{
	return ioctl(vcpu->fd, cmd, arg) ? errno : 0;
}

static void get_lapic(struct test_vcpu *vcpu, struct minivmm_lapic_state *s)
{
	TEST_REQUIRE(!xioctl(vcpu, MINIVMM_GET_LAPIC, s),
		     "MINIVMM_GET_LAPIC: %m");
}

static void set_lapic(struct test_vcpu *vcpu,
		      const struct minivmm_lapic_state *s)
{
	TEST_REQUIRE(!xioctl(vcpu, MINIVMM_SET_LAPIC, (void *)s),
		     "MINIVMM_SET_LAPIC: %m");
}

static void get_mp(struct test_vcpu *vcpu, struct minivmm_mp_state *m)
{
	TEST_REQUIRE(!xioctl(vcpu, MINIVMM_GET_MP_STATE, m),
		     "MINIVMM_GET_MP_STATE: %m");
}

static int set_mp(struct test_vcpu *vcpu, uint32_t state, uint32_t flags,
		  uint8_t vector)
{
	struct minivmm_mp_state m = {
		.state = state, .flags = flags, .sipi_vector = vector,
	};

	return xioctl(vcpu, MINIVMM_SET_MP_STATE, &m);
}

static void set_msr(struct test_vcpu *vcpu, uint32_t index, uint64_t data)
{
	struct minivmm_msr_entry e = { .index = index, .data = data };
	struct minivmm_msrs m = { .nmsrs = 1, .entries = (uintptr_t)&e };

	TEST_REQUIRE(ioctl(vcpu->fd, MINIVMM_SET_MSRS, &m) == 1,
		     "MINIVMM_SET_MSRS %#x: %m", index);
}

static uint64_t get_msr(struct test_vcpu *vcpu, uint32_t index)
{
	struct minivmm_msr_entry e = { .index = index };
	struct minivmm_msrs m = { .nmsrs = 1, .entries = (uintptr_t)&e };

	TEST_REQUIRE(ioctl(vcpu->fd, MINIVMM_GET_MSRS, &m) == 1,
		     "MINIVMM_GET_MSRS %#x: %m", index);
	return e.data;
}

/* A second VM with a poke vCPU at its first report: a restore target. */
struct restore_target {
	struct test_vm *vm;
	struct test_vcpu *vcpu;
};

static void target_create(struct restore_target *t)
{
	poke_setup(&t->vm, &t->vcpu);
}

static void target_destroy(struct restore_target *t)
{
	test_vcpu_destroy(t->vcpu);
	test_vm_destroy(t->vm);
}

TEST_F(lapic, lapic_state_set_then_get_returns_same_page)
{
	struct minivmm_lapic_state s, back;

	REQUIRE_VMX();
	POKE_SETUP();
	get_lapic(self->vcpu, &s);
	EXPECT_EQ(0, page_rd(&s, APIC_ID));
	EXPECT_EQ(0x50014, page_rd(&s, APIC_LVR));
	page_wr(&s, APIC_SPIV, 0x1ff);
	page_wr(&s, APIC_TASKPRI, 0x20);
	page_wr(&s, APIC_PROCPRI, 0x30);
	page_wr(&s, APIC_ISR + 0x10, 1u << 16);		/* vector 0x30 */
	page_wr(&s, APIC_TMR + 0x10, 1u << 16);
	page_wr(&s, APIC_LDR, 0x04000000);
	page_wr(&s, APIC_DFR, 0x0fffffff);
	page_wr(&s, APIC_ESR, ESR_SENDILL);
	page_wr(&s, APIC_ICR, 0x4045);
	page_wr(&s, APIC_ICR2, 0x02000000);
	page_wr(&s, APIC_LVT0, 0x8700);
	page_wr(&s, APIC_LVTERR, 0x31);
	page_wr(&s, APIC_TDCR, 0xa);
	s.esr_pending = 0x40;
	set_lapic(self->vcpu, &s);
	get_lapic(self->vcpu, &back);
	EXPECT_EQ(0, memcmp(&s, &back, sizeof(s)));
	/* The guest reads what was set; CR8 is the TPR. */
	EXPECT_EQ(0x30, rd(self->vcpu, APIC_PROCPRI));
	EXPECT_EQ(0x04000000, rd(self->vcpu, APIC_LDR));
	EXPECT_EQ(2, op(self->vcpu, OP_GET_CR8, 0, 0).args[1]);
}

TEST_F(lapic, lapic_state_bad_flags_reserved_and_values_einval)
{
	struct minivmm_lapic_state good, s, now;

	REQUIRE_VMX();
	POKE_SETUP();
	get_lapic(self->vcpu, &good);
#define BAD(change)							\
	do {								\
		s = good;						\
		change;							\
		EXPECT_EQ(EINVAL, xioctl(self->vcpu, MINIVMM_SET_LAPIC, &s)) \
			TH_LOG("%s", #change);				\
	} while (0)
	BAD(s.flags = 1);
	BAD(s.reserved[5] = 1);
	BAD(s.pad = 1);
	BAD(s.lint = 4);		/* LINT0 and LINT1 only */
	BAD(s.esr_pending = 0x100);
	/* Read-only: the ID and the version. */
	BAD(page_wr(&s, APIC_ID, 1u << 24));
	BAD(page_wr(&s, APIC_LVR, 0x50015));
	/* Reserved bits and offsets. */
	BAD(page_wr(&s, APIC_TASKPRI, 0x100));
	BAD(page_wr(&s, APIC_LDR, 0x00ff0000));
	BAD(page_wr(&s, APIC_DFR, 0xf0000000));
	BAD(page_wr(&s, APIC_SPIV, 0x400));
	BAD(page_wr(&s, APIC_IRR, 1u << 5));		/* vector 5 */
	BAD(page_wr(&s, APIC_ICR, 1u << 12));		/* delivery status */
	BAD(page_wr(&s, APIC_LVTT, 3u << 17));		/* timer mode 3 */
	BAD(page_wr(&s, APIC_TDCR, 4));
	BAD(page_wr(&s, APIC_EOI, 1));
	BAD(page_wr(&s, 0x10, 1));
	BAD(page_wr(&s, APIC_ESR + 4, 1));
	/* Values the APIC could not hold. */
	BAD(page_wr(&s, APIC_PROCPRI, 0x10));		/* TPR 0, no ISR */
	BAD(page_wr(&s, APIC_LVT0, 0x30));		/* unmasked, disabled */
	BAD((page_wr(&s, APIC_TMICT, 10), page_wr(&s, APIC_TMCCT, 11)));
#undef BAD
	get_lapic(self->vcpu, &now);
	EXPECT_EQ(0, memcmp(&good, &now, sizeof(now)));
}

TEST_F(lapic, state_ioctls_bad_pointer_efault)
{
	REQUIRE_VMX();
	POKE_SETUP();
	EXPECT_EQ(EFAULT, xioctl(self->vcpu, MINIVMM_GET_LAPIC, NULL));
	EXPECT_EQ(EFAULT, xioctl(self->vcpu, MINIVMM_SET_LAPIC, NULL));
	EXPECT_EQ(EFAULT, xioctl(self->vcpu, MINIVMM_GET_MP_STATE, NULL));
	EXPECT_EQ(EFAULT, xioctl(self->vcpu, MINIVMM_SET_MP_STATE, NULL));
}

struct busy_probe {
	struct test_vcpu *vcpu;
	int errs[4];
};

/* Wait for the RUN to be in flight, try each ioctl, then end the halt. */
static void *busy_probe_fn(void *arg)
{
	struct busy_probe *p = arg;
	struct minivmm_lapic_state s;
	struct minivmm_mp_state m;
	int i;

	for (i = 0; i < 5000; i++) {
		if (xioctl(p->vcpu, MINIVMM_GET_LAPIC, &s) == EBUSY)
			break;
		usleep(1000);
	}
	p->errs[0] = xioctl(p->vcpu, MINIVMM_GET_LAPIC, &s);
	p->errs[1] = xioctl(p->vcpu, MINIVMM_SET_LAPIC, &s);
	p->errs[2] = xioctl(p->vcpu, MINIVMM_GET_MP_STATE, &m);
	p->errs[3] = xioctl(p->vcpu, MINIVMM_SET_MP_STATE, &m);
	ioctl(p->vcpu->fd, MINIVMM_INJECT_INTERRUPT, 0x45);
	return NULL;
}

TEST_F(lapic, state_ioctls_ebusy_during_run)
{
	struct busy_probe p = { 0 };
	pthread_t t;
	int i;

	REQUIRE_VMX();
	POKE_SETUP();
	p.vcpu = self->vcpu;
	ASSERT_EQ(0, pthread_create(&t, NULL, busy_probe_fn, &p));
	/* Halted in the kernel until the prober's interrupt. */
	expect_irq(self->vcpu, op(self->vcpu, OP_HALT, 0, 0), 0x45);
	pthread_join(t, NULL);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(EBUSY, p.errs[i]) TH_LOG("ioctl %d", i);
}

TEST_F(lapic, irr_bit_set_through_set_lapic_is_delivered)
{
	struct minivmm_lapic_state s;

	REQUIRE_VMX();
	POKE_SETUP();
	get_lapic(self->vcpu, &s);
	page_wr(&s, APIC_SPIV, 0x1ff);
	page_wr(&s, APIC_IRR + 0x20, 1u << 5);		/* vector 0x45 */
	set_lapic(self->vcpu, &s);
	/* It goes in as soon as the guest takes interrupts, into the ISR. */
	EXPECT_EQ(1u << 5, expect_irq(self->vcpu,
				      op(self->vcpu, OP_WINDOW, 0, 0), 0x45));
	wr(self->vcpu, APIC_EOI, 0);
	EXPECT_EQ(0, rd(self->vcpu, APIC_IRR + 0x20));
}

/* Arm the APIC timer of a poke vCPU: vector 0x30, divide by 1. */
static void arm_timer(struct test_vcpu *vcpu, uint32_t lvtt, uint32_t ns)
{
	enable(vcpu);
	wr(vcpu, APIC_TDCR, TDCR_DIV_1);
	wr(vcpu, APIC_LVTT, lvtt | 0x30);
	wr(vcpu, APIC_TMICT, ns);
}

#define RESTORE_MS	1000

TEST_F(lapic, oneshot_timer_restored_into_new_vcpu_fires)
{
	struct minivmm_lapic_state s, back;
	struct restore_target b;
	uint64_t t0, ms;

	REQUIRE_VMX();
	POKE_SETUP();
	t0 = monotonic_ns();
	arm_timer(self->vcpu, 0, RESTORE_MS * 1000000);
	get_lapic(self->vcpu, &s);
	EXPECT_GT(RESTORE_MS * 1000000u, page_rd(&s, APIC_TMCCT));
	EXPECT_LT(0u, page_rd(&s, APIC_TMCCT));
	target_create(&b);
	set_lapic(b.vcpu, &s);
	usleep(10000);
	get_lapic(b.vcpu, &back);
	/* Counting down from where it was read. */
	EXPECT_GT(page_rd(&s, APIC_TMCCT), page_rd(&back, APIC_TMCCT));
	EXPECT_LT(0u, page_rd(&back, APIC_TMCCT));
	ms = halt_for_timer(b.vcpu, t0);
	TH_LOG("one-shot of %d ms, restored, fired after %lu ms", RESTORE_MS,
	       (unsigned long)ms);
	EXPECT_LE(RESTORE_MS - EARLY_MS, ms);
	wr(b.vcpu, APIC_EOI, 0);
	EXPECT_EQ(0, rd(b.vcpu, APIC_TMCCT));
	target_destroy(&b);
}

TEST_F(lapic, expired_oneshot_timer_stays_expired_after_restore)
{
	struct minivmm_lapic_state s;
	struct minivmm_regs regs;

	REQUIRE_VMX();
	POKE_SETUP();
	arm_timer(self->vcpu, MASKED, 1000);
	usleep(10000);
	get_lapic(self->vcpu, &s);
	EXPECT_EQ(0, page_rd(&s, APIC_TMCCT));
	page_wr(&s, APIC_LVTT, 0x30);			/* unmasked now */
	set_lapic(self->vcpu, &s);
	EXPECT_EQ(0, rd(self->vcpu, APIC_TMCCT));
	/* Nothing fires: the HLT lasts until the signal. */
	test_get_regs(self->vcpu, &regs);
	regs.rcx = OP_HALT;
	test_set_regs(self->vcpu, &regs);
	EXPECT_EQ(-EINTR, test_vcpu_run_for(self->vcpu, 100));
}

TEST_F(lapic, periodic_timer_restored_into_new_vcpu_keeps_firing)
{
	struct minivmm_lapic_state s;
	struct restore_target b;
	uint64_t t0, ms = 0;
	int i;

	REQUIRE_VMX();
	POKE_SETUP();
	arm_timer(self->vcpu, PERIODIC | MASKED, TIMER_MS * 1000000);
	get_lapic(self->vcpu, &s);
	wr(self->vcpu, APIC_TMICT, 0);
	page_wr(&s, APIC_LVTT, PERIODIC | 0x30);	/* unmasked in B */
	target_create(&b);
	t0 = monotonic_ns();
	set_lapic(b.vcpu, &s);
	for (i = 1; i <= 3; i++) {
		ms = halt_for_timer(b.vcpu, t0);
		wr(b.vcpu, APIC_EOI, 0);
		expect_ready(b.vcpu, op(b.vcpu, OP_RETURN, 0, 0));
	}
	TH_LOG("3 restored periods of %d ms after %lu ms", TIMER_MS,
	       (unsigned long)ms);
	/* The first came after what was left of a period. */
	EXPECT_LE(2 * TIMER_MS - EARLY_MS, ms);
	EXPECT_LT(0u, rd(b.vcpu, APIC_TMCCT));
	target_destroy(&b);
}

TEST_F(lapic, tsc_deadline_msr_is_in_the_index_list)
{
	struct minivmm_msr_list l = { .nmsrs = MINIVMM_MAX_MSRS };
	uint32_t idx[MINIVMM_MAX_MSRS];
	unsigned int i, found = 0;

	REQUIRE_VMX();
	POKE_SETUP();
	l.indices = (uintptr_t)idx;
	ASSERT_EQ(0, xioctl(self->vcpu, MINIVMM_GET_MSR_INDEX_LIST, &l));
	for (i = 0; i < l.nmsrs; i++)
		found += idx[i] == MSR_TSC_DEADLINE;
	EXPECT_EQ(1, found);
}

TEST_F(lapic, tsc_deadline_restored_after_lapic_fires)
{
	struct minivmm_lapic_state s;
	struct restore_target b;
	struct minivmm_caps caps;
	uint64_t t0, tsc, deadline, ms;

	REQUIRE_VMX();
	ASSERT_EQ(0, minivmm_caps(&caps));
	POKE_SETUP();
	enable(self->vcpu);
	wr(self->vcpu, APIC_LVTT, TSC_DEADLINE | MASKED | 0x30);
	t0 = monotonic_ns();
	expect_ready(self->vcpu, op(self->vcpu, OP_DEADLINE, 0,
				    (uint64_t)caps.tsc_khz * RESTORE_MS));
	/* The snapshot: IA32_TSC, the APIC, IA32_TSC_DEADLINE. */
	tsc = get_msr(self->vcpu, MSR_IA32_TSC);
	get_lapic(self->vcpu, &s);
	deadline = get_msr(self->vcpu, MSR_TSC_DEADLINE);
	EXPECT_LT(tsc, deadline);
	page_wr(&s, APIC_LVTT, TSC_DEADLINE | 0x30);
	target_create(&b);
	set_msr(b.vcpu, MSR_IA32_TSC, tsc);
	set_lapic(b.vcpu, &s);
	set_msr(b.vcpu, MSR_TSC_DEADLINE, deadline);
	EXPECT_EQ(deadline, get_msr(b.vcpu, MSR_TSC_DEADLINE));
	ms = halt_for_timer(b.vcpu, t0);
	TH_LOG("deadline %d ms ahead, restored, fired after %lu ms",
	       RESTORE_MS, (unsigned long)ms);
	EXPECT_LE(RESTORE_MS - EARLY_MS, ms);
	target_destroy(&b);
}

TEST_F(lapic, x2apic_state_round_trip_has_32bit_id)
{
	struct minivmm_lapic_state s, back;
	struct test_vcpu *v3;

	REQUIRE_VMX();
	POKE_SETUP();
	v3 = poke_vcpu(self->vm, 3);
	set_msr(v3, MSR_APIC_BASE, APIC_TB | 0xc00);	/* EN, EXTD */
	get_lapic(v3, &s);
	EXPECT_EQ(3, page_rd(&s, APIC_ID));
	/* Cluster 0, logical bit 3. */
	EXPECT_EQ(1u << 3, page_rd(&s, APIC_LDR));
	page_wr(&s, APIC_SPIV, 0x1ff);
	page_wr(&s, APIC_ICR2, 0x12345678);		/* 32-bit destination */
	set_lapic(v3, &s);
	get_lapic(v3, &back);
	EXPECT_EQ(0, memcmp(&s, &back, sizeof(s)));
	/* The xAPIC form of the ID, and another LDR, are not this APIC's. */
	page_wr(&back, APIC_ID, 3u << 24);
	EXPECT_EQ(EINVAL, xioctl(v3, MINIVMM_SET_LAPIC, &back));
	page_wr(&back, APIC_ID, 3);
	page_wr(&back, APIC_LDR, 1u << 4);
	EXPECT_EQ(EINVAL, xioctl(v3, MINIVMM_SET_LAPIC, &back));
	/* The guest reads them through the MSRs. */
	expect_ready(v3, next(v3));
	EXPECT_EQ(3, x2_rd(v3, X2APIC(APIC_ID)));
	EXPECT_EQ(0x1ff, x2_rd(v3, X2APIC(APIC_SPIV)));
	test_vcpu_destroy(v3);
}

TEST_F(lapic, mp_state_set_then_get_each_state)
{
	static const struct minivmm_mp_state states[] = {
		{ MINIVMM_MP_STATE_RUNNABLE, 0, 0 },
		{ MINIVMM_MP_STATE_HALTED, 0, 0 },
		{ MINIVMM_MP_STATE_WAIT_SIPI, 0, 0 },
		{ MINIVMM_MP_STATE_WAIT_SIPI, MINIVMM_MP_SIPI_PENDING, 0x9a },
		{ MINIVMM_MP_STATE_RUNNABLE, MINIVMM_MP_INIT_PENDING, 0 },
		{ MINIVMM_MP_STATE_HALTED, MINIVMM_MP_INIT_PENDING |
		  MINIVMM_MP_SIPI_PENDING, 0x10 },
	};
	struct minivmm_regs regs;
	struct minivmm_mp_state m;
	unsigned int i;

	REQUIRE_VMX();
	POKE_SETUP();
	get_mp(self->vcpu, &m);
	EXPECT_EQ(MINIVMM_MP_STATE_RUNNABLE, m.state);
	EXPECT_EQ(0, m.flags);
	test_get_regs(self->vcpu, &regs);
	regs.rflags |= 0x200;		/* a halt is an in-kernel one */
	test_set_regs(self->vcpu, &regs);
	for (i = 0; i < ARRAY_SIZE(states); i++) {
		EXPECT_EQ(0, xioctl(self->vcpu, MINIVMM_SET_MP_STATE,
				    (void *)&states[i]));
		get_mp(self->vcpu, &m);
		EXPECT_EQ(0, memcmp(&states[i], &m, sizeof(m)))
			TH_LOG("state %u flags %#x: got %u %#x", states[i].state,
			       states[i].flags, m.state, m.flags);
	}
}

TEST_F(lapic, mp_state_unknown_state_or_flags_einval)
{
	struct minivmm_mp_state m = { 0 }, now;
	struct minivmm_regs regs;

	REQUIRE_VMX();
	POKE_SETUP();
	EXPECT_EQ(EINVAL, set_mp(self->vcpu, 3, 0, 0));
	EXPECT_EQ(EINVAL, set_mp(self->vcpu, ~0u, 0, 0));
	EXPECT_EQ(EINVAL, set_mp(self->vcpu, MINIVMM_MP_STATE_RUNNABLE, 4, 0));
	/* A vector without a start-up IPI. */
	EXPECT_EQ(EINVAL, set_mp(self->vcpu, MINIVMM_MP_STATE_WAIT_SIPI, 0, 8));
	/* A start-up IPI the APIC drops: not waiting for one, no INIT. */
	EXPECT_EQ(EINVAL, set_mp(self->vcpu, MINIVMM_MP_STATE_RUNNABLE,
				 MINIVMM_MP_SIPI_PENDING, 8));
	m.pad[3] = 1;
	EXPECT_EQ(EINVAL, xioctl(self->vcpu, MINIVMM_SET_MP_STATE, &m));
	/* The poke loop runs with interrupts off: its HLT exits instead. */
	test_get_regs(self->vcpu, &regs);
	ASSERT_EQ(0, regs.rflags & 0x200);
	EXPECT_EQ(EINVAL, set_mp(self->vcpu, MINIVMM_MP_STATE_HALTED, 0, 0));
	get_mp(self->vcpu, &now);
	EXPECT_EQ(MINIVMM_MP_STATE_RUNNABLE, now.state);
	EXPECT_EQ(0, now.flags);
}

TEST_F(lapic, vcpu_restored_halted_wakes_on_interrupt_only)
{
	struct minivmm_regs regs;
	struct minivmm_mp_state m;
	struct restore_target b;

	REQUIRE_VMX();
	POKE_SETUP();
	test_get_regs(self->vcpu, &regs);
	regs.rcx = OP_HALT;
	test_set_regs(self->vcpu, &regs);
	EXPECT_EQ(-EINTR, test_vcpu_run_for(self->vcpu, 100));
	get_mp(self->vcpu, &m);
	ASSERT_EQ(MINIVMM_MP_STATE_HALTED, m.state);
	test_get_regs(self->vcpu, &regs);

	target_create(&b);
	test_set_regs(b.vcpu, &regs);
	EXPECT_EQ(0, set_mp(b.vcpu, MINIVMM_MP_STATE_HALTED, 0, 0));
	/* Had it run on, it would report at once. */
	EXPECT_EQ(-EINTR, test_vcpu_run_for(b.vcpu, 200));
	EXPECT_EQ(MINIVMM_EXIT_INTR, b.vcpu->run->exit_reason);
	EXPECT_EQ(0, ioctl(b.vcpu->fd, MINIVMM_INJECT_INTERRUPT, 0x45));
	expect_irq(b.vcpu, next(b.vcpu), 0x45);
	/* The handler returns past the HLT, to the ready report. */
	expect_ready(b.vcpu, op(b.vcpu, OP_RETURN, 0, 0));
	target_destroy(&b);
}

TEST_F(lapic, vcpu_set_wait_sipi_runs_only_after_init_sipi)
{
	struct ap_run ap = { 0 };
	pthread_t t;

	REQUIRE_VMX();
	POKE_SETUP();
	test_vm_load(self->vm, 0x8000, guest_ap, GUEST_CODE_SIZE(guest_ap));
	/* Set up to run the poke loop, then made to wait instead. */
	ap.vcpu = poke_vcpu(self->vm, 1);
	EXPECT_EQ(0, set_mp(ap.vcpu, MINIVMM_MP_STATE_WAIT_SIPI, 0, 0));
	EXPECT_EQ(-EINTR, test_vcpu_run_for(ap.vcpu, 200));
	EXPECT_EQ(MINIVMM_EXIT_INTR, ap.vcpu->run->exit_reason);
	ASSERT_EQ(0, pthread_create(&t, NULL, ap_fn, &ap));
	wr(self->vcpu, APIC_ICR2, 1u << 24);
	wr(self->vcpu, APIC_ICR, DM_INIT | INT_ASSERT);
	wr(self->vcpu, APIC_ICR, DM_STARTUP | 0x08);
	pthread_join(t, NULL);
	EXPECT_EQ(UCALL_SYNC, ap.nr);
	EXPECT_EQ(AP_SYNC, ap.uc.args[0]);
	EXPECT_EQ(0x800, ap.uc.args[1]);
	test_vcpu_destroy(ap.vcpu);
}

TEST_F(lapic, latched_sipi_travels_with_mp_state)
{
	struct minivmm_mp_state m;
	struct ap_run ap = { 0 };

	REQUIRE_VMX();
	POKE_SETUP();
	test_vm_load(self->vm, 0x8000, guest_ap, GUEST_CODE_SIZE(guest_ap));
	ap.vcpu = test_vcpu_add(self->vm, 1);
	/* Sent while the AP is not in RUN: its APIC holds it. */
	wr(self->vcpu, APIC_ICR2, 1u << 24);
	wr(self->vcpu, APIC_ICR, DM_STARTUP | 0x08);
	get_mp(ap.vcpu, &m);
	EXPECT_EQ(MINIVMM_MP_STATE_WAIT_SIPI, m.state);
	EXPECT_EQ(MINIVMM_MP_SIPI_PENDING, m.flags);
	EXPECT_EQ(0x08, m.sipi_vector);
	/* Dropped, then restored: the next RUN starts at the vector. */
	EXPECT_EQ(0, set_mp(ap.vcpu, MINIVMM_MP_STATE_WAIT_SIPI, 0, 0));
	EXPECT_EQ(0, xioctl(ap.vcpu, MINIVMM_SET_MP_STATE, &m));
	ap_fn(&ap);
	EXPECT_EQ(UCALL_SYNC, ap.nr);
	EXPECT_EQ(AP_SYNC, ap.uc.args[0]);
	EXPECT_EQ(0x800, ap.uc.args[1]);
	test_vcpu_destroy(ap.vcpu);
}

/* ---- illegal vectors and the x2APIC broadcast ------------------------ */

/* ESR as the next ESR write makes it visible. */
static uint32_t esr(struct test_vcpu *vcpu)
{
	wr(vcpu, APIC_ESR, 0);
	return rd(vcpu, APIC_ESR);
}

static int signal_msi(struct test_vm *vm, uint64_t address, uint32_t data)
{
	struct minivmm_msi m = { .address = address, .data = data };
	int r = ioctl(vm->fd, MINIVMM_SIGNAL_MSI, &m);

	return r < 0 ? -errno : r;
}

/*
 * A vector below 16 sent by an IPI or an MSI: the sender's ESR says
 * "send illegal vector", every receiver's "receive illegal vector", and
 * no IRR bit is set.
 */
TEST_F(lapic, illegal_vector_sets_the_receivers_esr_and_delivers_nothing)
{
	struct test_vcpu *v1;

	REQUIRE_VMX();
	POKE_SETUP();
	enable(self->vcpu);
	v1 = peer(self->vm, 1);
	EXPECT_EQ(0, esr(self->vcpu));
	EXPECT_EQ(0, esr(v1));
	send_ipi(self->vcpu, 1, 5);
	EXPECT_EQ(ESR_SENDILL, esr(self->vcpu));
	EXPECT_EQ(ESR_RECVILL, esr(v1));
	EXPECT_EQ(0, rd(v1, APIC_IRR));
	/* Lowest priority too. */
	send_ipi(self->vcpu, 1, DM_LOWEST | 15);
	EXPECT_EQ(ESR_SENDILL, esr(self->vcpu));
	EXPECT_EQ(ESR_RECVILL, esr(v1));
	EXPECT_EQ(0, rd(v1, APIC_IRR));
	/* An MSI has no sender APIC: only the receiver's ESR. */
	if (have_cap(MINIVMM_CAP_IOAPIC)) {
		EXPECT_EQ(0, signal_msi(self->vm, 0xfee01000, 7));
		EXPECT_EQ(ESR_RECVILL, esr(v1));
		EXPECT_EQ(0, esr(self->vcpu));
		EXPECT_EQ(0, rd(v1, APIC_IRR));
	}
	/* A legal vector still goes, and the error bits stay clear. */
	send_ipi(self->vcpu, 1, 0x45);
	EXPECT_EQ(0, esr(self->vcpu));
	EXPECT_EQ(0, esr(v1));
	take(v1, 0x45);
	expect_ready(v1, op(v1, OP_WINDOW, 0, 0));
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
	test_vcpu_destroy(v1);
}

/* x2APIC: physical destination 0xffffffff reaches every APIC. */
TEST_F(lapic, x2apic_physical_broadcast_reaches_every_vcpu)
{
	struct test_vcpu *v[3];
	int i;

	REQUIRE_VMX();
	POKE_SETUP();
	v[0] = self->vcpu;
	for (i = 1; i < 3; i++) {
		v[i] = poke_vcpu(self->vm, i);
		expect_ready(v[i], next(v[i]));
	}
	ASSERT_EQ(0, x2_wr(v[0], MSR_APIC_BASE, BASE_X2));
	for (i = 1; i < 3; i++)
		ASSERT_EQ(0, x2_wr(v[i], MSR_APIC_BASE, APIC_TB | 0xc00));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, x2_wr(v[i], X2APIC(APIC_SPIV), 0x1ff));
	/* Physical (destination mode bit clear), no shorthand. */
	ASSERT_EQ(0, x2_wr(v[0], X2APIC(APIC_ICR),
			   (0xffffffffULL << 32) | 0x60));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(1, x2_rd(v[i], X2APIC(APIC_IRR + 3 * 16)))
			TH_LOG("vCPU %d", i);
	for (i = 0; i < 3; i++) {
		x2_window_irq(v[i], 0x60);
		EXPECT_EQ(0, x2_wr(v[i], X2APIC(APIC_EOI), 0));
		expect_ready(v[i], op(v[i], OP_RETURN, 0, 0));
		/* Once each. */
		expect_ready(v[i], op(v[i], OP_WINDOW, 0, 0));
	}
	for (i = 1; i < 3; i++)
		test_vcpu_destroy(v[i]);
}

/* ---- LINT0 and LINT1 (MINIVMM_LINT) ---------------------------------- */

/* MINIVMM_LINT: its result, or -errno. */
static int lint(struct test_vm *vm, uint32_t vcpu, uint32_t pin,
		uint32_t level)
{
	struct minivmm_lint l = { .vcpu = vcpu, .pin = pin, .level = level };
	int r = ioctl(vm->fd, MINIVMM_LINT, &l);

	return r < 0 ? -errno : r;
}

#define REQUIRE_LINT()							\
	do {								\
		if (!have_cap(MINIVMM_CAP_LINT))			\
			SKIP(return, "no MINIVMM_LINT");		\
	} while (0)

#define REQUIRE_LINT_NMI()						\
	do {								\
		REQUIRE_LINT();						\
		if (!have_cap(MINIVMM_CAP_VIRTUAL_NMI))			\
			SKIP(return, "no virtual NMIs: NMIs are dropped"); \
	} while (0)

static void nmi_idt(struct test_vm *vm)
{
	test_set_idt(vm, MODE_LONG, 2, GUEST_CODE_ADDR +
		     GUEST_LABEL_OFFSET(guest_poke, guest_poke_irq_2));
}

/* A pulse of a LINT input from another thread, a little later. */
struct lint_later {
	struct test_vm *vm;
	uint32_t vcpu, pin;
	int ret;
	pthread_t thread;
};

static void *lint_later_fn(void *arg)
{
	struct lint_later *l = arg;
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	/* Give the guest time to halt first (not a bound). */
	ts.tv_nsec *= timeout_scale() > 10 ? 10 : timeout_scale();
	nanosleep(&ts, NULL);
	l->ret = lint(l->vm, l->vcpu, l->pin, 1);
	if (l->ret >= 0 && lint(l->vm, l->vcpu, l->pin, 0))
		l->ret = -EIO;
	return NULL;
}

/*
 * LINT1 with the LVT entry in NMI mode, pulsed from another thread while
 * the guest halts: the NMI wakes it into its NMI handler, past the IRR
 * and ISR; while the handler runs a second pulse waits for its IRET.
 */
TEST_F(lapic, lint1_nmi_from_another_thread_wakes_the_halted_guest)
{
	struct lint_later l = { .pin = MINIVMM_LINT1 };
	struct ucall uc;

	REQUIRE_VMX();
	REQUIRE_LINT_NMI();
	POKE_SETUP();
	enable(self->vcpu);
	nmi_idt(self->vm);
	wr(self->vcpu, APIC_LVT1, DM_NMI);
	l.vm = self->vm;
	ASSERT_EQ(0, pthread_create(&l.thread, NULL, lint_later_fn, &l));
	uc = op(self->vcpu, OP_HALT, 0, 0);
	pthread_join(l.thread, NULL);
	EXPECT_EQ(1, l.ret);
	EXPECT_EQ(0, expect_irq(self->vcpu, uc, 2));
	/* In the handler: NMIs are blocked until its IRET. */
	EXPECT_EQ(1, lint(self->vm, 0, MINIVMM_LINT1, 1));
	EXPECT_EQ(0, lint(self->vm, 0, MINIVMM_LINT1, 0));
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
	EXPECT_EQ(0, rd(self->vcpu, APIC_IRR));
	/* Its IRET lets the second one in at once. */
	expect_irq(self->vcpu, op(self->vcpu, OP_RETURN, 0, 0), 2);
	expect_ready(self->vcpu, op(self->vcpu, OP_RETURN, 0, 0));
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
}

/*
 * A masked LVT LINT1 entry delivers nothing, and an edge it saw is lost:
 * unmasking it later sends nothing. Out of reset (APIC software
 * disabled, every LVT entry masked) a pulse does nothing either.
 */
TEST_F(lapic, masked_lint1_delivers_nothing)
{
	REQUIRE_VMX();
	REQUIRE_LINT_NMI();
	POKE_SETUP();
	nmi_idt(self->vm);
	EXPECT_EQ(0, lint(self->vm, 0, MINIVMM_LINT1, 1));
	EXPECT_EQ(0, lint(self->vm, 0, MINIVMM_LINT1, 0));
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
	enable(self->vcpu);
	wr(self->vcpu, APIC_LVT1, MASKED | DM_NMI);
	EXPECT_EQ(0, lint(self->vm, MINIVMM_LINT_ALL_VCPUS, MINIVMM_LINT1, 1));
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
	/* Unmasked while the input is still high: no edge, no NMI. */
	wr(self->vcpu, APIC_LVT1, DM_NMI);
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
	EXPECT_EQ(0, lint(self->vm, 0, MINIVMM_LINT1, 0));
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
	/* The next edge is taken. */
	EXPECT_EQ(1, lint(self->vm, 0, MINIVMM_LINT1, 1));
	EXPECT_EQ(0, expect_irq(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0), 2));
	expect_ready(self->vcpu, op(self->vcpu, OP_RETURN, 0, 0));
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
}

/*
 * LINT0 in fixed mode, edge-triggered: each rising edge puts the vector
 * in the IRR (TMR clear); holding the input high sends nothing more.
 */
TEST_F(lapic, lint0_fixed_edge_delivers_its_vector)
{
	int i;

	REQUIRE_VMX();
	REQUIRE_LINT();
	POKE_SETUP();
	enable(self->vcpu);
	wr(self->vcpu, APIC_LVT0, 0x45);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(1, lint(self->vm, 0, MINIVMM_LINT0, 1));
		EXPECT_TRUE(irr_has(self->vcpu, 0x45));
		EXPECT_EQ(0, rd(self->vcpu, APIC_TMR + 2 * 16));
		EXPECT_EQ(1u << 5, expect_irq(self->vcpu,
					      op(self->vcpu, OP_WINDOW, 0, 0),
					      0x45));
		/* Still high: no second edge. */
		EXPECT_EQ(0, lint(self->vm, 0, MINIVMM_LINT0, 1));
		EXPECT_FALSE(irr_has(self->vcpu, 0x45));
		wr(self->vcpu, APIC_EOI, 0);
		expect_ready(self->vcpu, op(self->vcpu, OP_RETURN, 0, 0));
		expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
		EXPECT_EQ(0, lint(self->vm, 0, MINIVMM_LINT0, 0));
	}
	EXPECT_EQ(0x45, rd(self->vcpu, APIC_LVT0));
}

/*
 * LINT0 level-triggered: the vector goes in with its TMR bit and the
 * entry's remote IRR set; while remote IRR is set the input sends
 * nothing, however it moves. The EOI clears remote IRR and, the input
 * still high, sends again; after the input falls an EOI sends nothing.
 */
TEST_F(lapic, lint0_level_is_not_sent_again_before_the_eoi)
{
	REQUIRE_VMX();
	REQUIRE_LINT();
	POKE_SETUP();
	enable(self->vcpu);
	wr(self->vcpu, APIC_LVT0, LVT_LEVEL | 0x45);
	EXPECT_EQ(1, lint(self->vm, 0, MINIVMM_LINT0, 1));
	EXPECT_EQ(LVT_REMOTE_IRR | LVT_LEVEL | 0x45, rd(self->vcpu, APIC_LVT0));
	EXPECT_EQ(1u << 5, rd(self->vcpu, APIC_TMR + 2 * 16));
	expect_irq(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0), 0x45);
	/* In the handler, before its EOI. */
	EXPECT_EQ(0, lint(self->vm, 0, MINIVMM_LINT0, 1));
	EXPECT_EQ(0, lint(self->vm, 0, MINIVMM_LINT0, 0));
	EXPECT_EQ(0, lint(self->vm, 0, MINIVMM_LINT0, 1));
	EXPECT_FALSE(irr_has(self->vcpu, 0x45));
	EXPECT_EQ(LVT_REMOTE_IRR | LVT_LEVEL | 0x45, rd(self->vcpu, APIC_LVT0));
	/* The EOI: the input is still high, so it is sent again. */
	wr(self->vcpu, APIC_EOI, 0);
	EXPECT_TRUE(irr_has(self->vcpu, 0x45));
	EXPECT_EQ(LVT_REMOTE_IRR | LVT_LEVEL | 0x45, rd(self->vcpu, APIC_LVT0));
	/* Taken as soon as the handler's IRET opens the window again. */
	expect_irq(self->vcpu, op(self->vcpu, OP_RETURN, 0, 0), 0x45);
	EXPECT_EQ(0, lint(self->vm, 0, MINIVMM_LINT0, 0));
	wr(self->vcpu, APIC_EOI, 0);
	EXPECT_EQ(LVT_LEVEL | 0x45, rd(self->vcpu, APIC_LVT0));
	EXPECT_FALSE(irr_has(self->vcpu, 0x45));
	expect_ready(self->vcpu, op(self->vcpu, OP_RETURN, 0, 0));
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
	/* Masked while high, it is sent when unmasked (a level, not an edge). */
	wr(self->vcpu, APIC_LVT0, MASKED | LVT_LEVEL | 0x45);
	EXPECT_EQ(0, lint(self->vm, 0, MINIVMM_LINT0, 1));
	EXPECT_FALSE(irr_has(self->vcpu, 0x45));
	wr(self->vcpu, APIC_LVT0, LVT_LEVEL | 0x45);
	EXPECT_TRUE(irr_has(self->vcpu, 0x45));
	EXPECT_EQ(0, lint(self->vm, 0, MINIVMM_LINT0, 0));
	take(self->vcpu, 0x45);
	EXPECT_EQ(LVT_LEVEL | 0x45, rd(self->vcpu, APIC_LVT0));
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
}

/* The input levels are part of MINIVMM_GET/SET_LAPIC. */
TEST_F(lapic, lint_levels_travel_with_the_lapic_state)
{
	struct minivmm_lapic_state s;

	REQUIRE_VMX();
	REQUIRE_LINT();
	POKE_SETUP();
	get_lapic(self->vcpu, &s);
	EXPECT_EQ(0, s.lint);
	EXPECT_EQ(0, lint(self->vm, 0, MINIVMM_LINT1, 1));
	get_lapic(self->vcpu, &s);
	EXPECT_EQ(2, s.lint);
	s.lint = 1;
	EXPECT_EQ(0, xioctl(self->vcpu, MINIVMM_SET_LAPIC, &s));
	get_lapic(self->vcpu, &s);
	EXPECT_EQ(1, s.lint);
	/* LINT0 is high: no edge, and a deassertion sends nothing. */
	enable(self->vcpu);
	wr(self->vcpu, APIC_LVT0, 0x45);
	EXPECT_EQ(0, lint(self->vm, 0, MINIVMM_LINT0, 1));
	EXPECT_EQ(0, lint(self->vm, 0, MINIVMM_LINT0, 0));
	EXPECT_FALSE(irr_has(self->vcpu, 0x45));
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
}

/*
 * LINT0 in ExtINT mode needs an 8259 to give the vector; there is none:
 * the assertion is dropped (and counted), nothing reaches the guest.
 */
TEST_F(lapic, lint0_extint_is_dropped_without_an_8259)
{
	REQUIRE_VMX();
	REQUIRE_LINT();
	POKE_SETUP();
	enable(self->vcpu);
	wr(self->vcpu, APIC_LVT0, DM_EXTINT | 0x45);
	EXPECT_EQ(0, lint(self->vm, 0, MINIVMM_LINT0, 1));
	EXPECT_EQ(0, lint(self->vm, 0, MINIVMM_LINT0, 0));
	EXPECT_EQ(0, rd(self->vcpu, APIC_IRR + 2 * 16));
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
}

/*
 * MINIVMM_LINT_ALL_VCPUS drives the input of every vCPU; each APIC does
 * what its own LVT entry says (here: vCPU 0 a vector, vCPU 1 masked, as
 * Linux leaves LINT1 on its APs).
 */
TEST_F(lapic, lint_to_all_vcpus_follows_each_lvt)
{
	struct test_vcpu *v1;

	REQUIRE_VMX();
	REQUIRE_LINT();
	POKE_SETUP();
	enable(self->vcpu);
	v1 = peer(self->vm, 1);
	wr(self->vcpu, APIC_LVT0, 0x45);
	wr(v1, APIC_LVT0, MASKED | 0x45);
	EXPECT_EQ(1, lint(self->vm, MINIVMM_LINT_ALL_VCPUS, MINIVMM_LINT0, 1));
	EXPECT_EQ(0, lint(self->vm, MINIVMM_LINT_ALL_VCPUS, MINIVMM_LINT0, 0));
	EXPECT_TRUE(irr_has(self->vcpu, 0x45));
	EXPECT_FALSE(irr_has(v1, 0x45));
	/* One vCPU's input alone. */
	wr(v1, APIC_LVT0, 0x50);
	EXPECT_EQ(1, lint(self->vm, 1, MINIVMM_LINT0, 1));
	EXPECT_TRUE(irr_has(v1, 0x50));
	EXPECT_FALSE(irr_has(self->vcpu, 0x50));
	take(self->vcpu, 0x45);
	take(v1, 0x50);
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
	expect_ready(v1, op(v1, OP_WINDOW, 0, 0));
	test_vcpu_destroy(v1);
}

/*
 * With IA32_APIC_BASE.EN clear the processor has no APIC: LINT1 is its
 * NMI pin and LINT0 its INTR pin, which no 8259 drives (dropped).
 */
TEST_F(lapic, lint_with_the_apic_disabled_is_nmi_and_intr)
{
	struct minivmm_regs regs;
	struct minivmm_run *run;

	REQUIRE_VMX();
	REQUIRE_LINT_NMI();
	POKE_SETUP();
	nmi_idt(self->vm);
	ASSERT_EQ(0, x2_wr(self->vcpu, MSR_APIC_BASE, APIC_TB | 0x100));
	EXPECT_EQ(0, lint(self->vm, 0, MINIVMM_LINT0, 1));
	EXPECT_EQ(1, lint(self->vm, 0, MINIVMM_LINT1, 1));
	/* The handler's read of its ISR word is plain MMIO now. */
	test_get_regs(self->vcpu, &regs);
	regs.rcx = OP_WINDOW;
	test_set_regs(self->vcpu, &regs);
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_MMIO);
	EXPECT_EQ(APIC_TB + APIC_ISR, run->mmio.phys_addr);
	run->mmio.data = 0;
	expect_irq(self->vcpu, next(self->vcpu), 2);
	expect_ready(self->vcpu, op(self->vcpu, OP_RETURN, 0, 0));
	/* High already: no edge. */
	EXPECT_EQ(0, lint(self->vm, 0, MINIVMM_LINT1, 1));
	EXPECT_EQ(0, lint(self->vm, 0, MINIVMM_LINT1, 0));
	EXPECT_EQ(0, lint(self->vm, 0, MINIVMM_LINT0, 0));
	expect_ready(self->vcpu, op(self->vcpu, OP_WINDOW, 0, 0));
}

TEST(lint_errors)
{
	struct minivmm_lint l = { 0 };
	struct minivmm_caps caps;
	struct test_vm *vm;
	struct test_vcpu *v;

	REQUIRE_VMX();
	if (!have_cap(MINIVMM_CAP_LINT))
		SKIP(return, "no MINIVMM_LINT");
	ASSERT_EQ(0, minivmm_caps(&caps));
	vm = test_vm_create(GUEST_MEM_SIZE);
	/* No vCPU yet: none to name; all of none is no error. */
	EXPECT_EQ(-ENOENT, lint(vm, 0, MINIVMM_LINT0, 1));
	EXPECT_EQ(0, lint(vm, MINIVMM_LINT_ALL_VCPUS, MINIVMM_LINT1, 1));
	v = test_vcpu_add(vm, 1);
	EXPECT_EQ(-ENOENT, lint(vm, 0, MINIVMM_LINT0, 1));
	EXPECT_EQ(0, lint(vm, 1, MINIVMM_LINT0, 1));
	EXPECT_EQ(-EINVAL, lint(vm, caps.max_vcpus, MINIVMM_LINT0, 1));
	EXPECT_EQ(-EINVAL, lint(vm, 0xfffffffe, MINIVMM_LINT0, 1));
	EXPECT_EQ(-EINVAL, lint(vm, 1, 2, 1));
	EXPECT_EQ(-EINVAL, lint(vm, 1, 0xffffffff, 0));
	EXPECT_EQ(-EINVAL, lint(vm, 1, MINIVMM_LINT1, 2));
	EXPECT_EQ(-EINVAL, lint(vm, MINIVMM_LINT_ALL_VCPUS, MINIVMM_LINT1, 2));
	l.vcpu = 1;
	l.flags = 1;
	EXPECT_EQ(-1, ioctl(vm->fd, MINIVMM_LINT, &l));
	EXPECT_EQ(EINVAL, errno);
	l.flags = 0x80000000;
	EXPECT_EQ(-1, ioctl(vm->fd, MINIVMM_LINT, &l));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(vm->fd, MINIVMM_LINT, NULL));
	EXPECT_EQ(EFAULT, errno);
	/* A vCPU fd is not the VM's. */
	l.flags = 0;
	EXPECT_EQ(-1, ioctl(v->fd, MINIVMM_LINT, &l));
	EXPECT_EQ(ENOTTY, errno);
	test_vcpu_destroy(v);
	test_vm_destroy(vm);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * MINIVMM_INJECT_INTERRUPT: external interrupts delivered through the
 * guest's IDT (long mode) or IVT (real mode), held back while the guest
 * has interrupts disabled or is in an STI shadow, waking a guest halted
 * in the kernel from another thread, and the ioctl's errors.
 *
 * The guests' interrupt handlers report with a ucall: RBX =
 * IRQ_SYNC(vector), RCX = the RIP (IP) and RDX = the RFLAGS (FLAGS) saved
 * in the interrupt frame; all other registers are preserved.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "minivmm_test.h"

#define IRQ_SYNC(vec)	(0x1000 | (vec))
#define VEC_A		0x41
#define VEC_B		0x42
#define RFLAGS_IF	(1ULL << 9)

/* A 64-bit interrupt handler for @vec: no error code, frame RIP/CS/RFLAGS. */
#define IRQ_HANDLER64(label, vec)					\
	GUEST_LABEL(label)						\
	"push %rax\n\t"							\
	"push %rbx\n\t"							\
	"push %rcx\n\t"							\
	"push %rdx\n\t"							\
	"mov $(0x1000 | " #vec "), %ebx\n\t"				\
	"mov 32(%rsp), %rcx\n\t"					\
	"mov 48(%rsp), %rdx\n\t"					\
	UCALL_ASM(1)							\
	"pop %rdx\n\t"							\
	"pop %rcx\n\t"							\
	"pop %rbx\n\t"							\
	"pop %rax\n\t"							\
	"iretq\n\t"

/* A real-mode handler: the frame is IP, CS, FLAGS above PUSHAL's 32 bytes. */
#define IRQ_HANDLER16(label, vec)					\
	GUEST_LABEL(label)						\
	"pushal\n\t"							\
	"mov %sp, %bp\n\t"						\
	"mov $(0x1000 | " #vec "), %ebx\n\t"				\
	"movzwl 32(%bp), %ecx\n\t"					\
	"movzwl 36(%bp), %edx\n\t"					\
	UCALL_ASM(1)							\
	"popal\n\t"							\
	"iret\n\t"

FIXTURE(inject) {
	struct test_vm *vm;
	struct test_vcpu *vcpu;
};

FIXTURE_SETUP(inject)
{
}

FIXTURE_TEARDOWN(inject)
{
	test_vcpu_destroy(self->vcpu);
	test_vm_destroy(self->vm);
}

static int inject(struct test_vcpu *vcpu, unsigned long vector)
{
	return ioctl(vcpu->fd, MINIVMM_INJECT_INTERRUPT, vector) ? errno : 0;
}

/*
 * A VM in *@vm with one vCPU in *@vcpu running the code from @code to @end
 * in @mode, with RFLAGS.IF = @irq_on and the handlers at @irq_a and @irq_b
 * (labels in the code) hooked to VEC_A and VEC_B.
 */
static void setup(struct test_vm **vm, struct test_vcpu **vcpu,
		  enum guest_mode mode, const unsigned char *code,
		  const unsigned char *end, bool irq_on,
		  const unsigned char *irq_a, const unsigned char *irq_b)
{
	uint64_t base = mode == MODE_REAL ? REAL_CODE : GUEST_CODE_ADDR;
	uint64_t handler_a = GUEST_LABEL_OFFSET(code, irq_a);
	uint64_t handler_b = GUEST_LABEL_OFFSET(code, irq_b);
	struct minivmm_regs regs;

	*vm = test_vm_create(GUEST_MEM_SIZE);
	*vcpu = test_vcpu_add(*vm, 0);
	test_install_exc_handlers(*vm, mode);
	test_vcpu_load(*vcpu, mode, code, end - code);
	if (mode == MODE_REAL) {
		test_set_ivt(*vm, VEC_A, 0, base + handler_a);
		test_set_ivt(*vm, VEC_B, 0, base + handler_b);
	} else {
		test_set_idt(*vm, mode, VEC_A, base + handler_a);
		test_set_idt(*vm, mode, VEC_B, base + handler_b);
	}
	test_get_regs(*vcpu, &regs);
	regs.rflags = irq_on ? 0x202 : 0x2;
	test_set_regs(*vcpu, &regs);
}

/*
 * In a TEST_F() body: setup() for the fixture, GUEST_CODE() @code and its
 * labels code_irq_a and code_irq_b.
 */
#define SETUP(mode, code, irq_on)					\
	setup(&self->vm, &self->vcpu, mode, code, code##_end, irq_on,	\
	      code##_irq_a, code##_irq_b)

/*
 * Run to the handler of @vec; it interrupted the guest at @rip with
 * interrupts enabled.
 */
static void expect_irq(struct test_vcpu *vcpu, int vec, uint64_t rip)
{
	struct ucall uc = test_expect_sync(vcpu, IRQ_SYNC(vec));

	TEST_REQUIRE(uc.args[1] == rip, "interrupted at %#lx, wanted %#lx",
		     (unsigned long)uc.args[1], (unsigned long)rip);
	TEST_REQUIRE(uc.args[2] & RFLAGS_IF, "saved RFLAGS %#lx without IF",
		     (unsigned long)uc.args[2]);
}

/* ---- delivery ------------------------------------------------------- */

GUEST_CODE(guest_lm, ".code64",
	   GUEST_SYNC_ASM(1)
	   "cli\n\t"
	   "hlt\n\t"
	   IRQ_HANDLER64(guest_lm_irq_a, 0x41)
	   IRQ_HANDLER64(guest_lm_irq_b, 0x42));
extern const unsigned char guest_lm_irq_a[], guest_lm_irq_b[];

TEST_F(inject, long_mode_idt_delivery)
{
	REQUIRE_VMX();
	SETUP(MODE_LONG, guest_lm, true);
	ASSERT_EQ(0, inject(self->vcpu, VEC_B));
	/* IF is set: delivered before the first instruction. */
	expect_irq(self->vcpu, VEC_B, GUEST_CODE_ADDR);
	/* IRET returns to the guest's code. */
	test_expect_sync(self->vcpu, 1);
	test_run_expect(self->vcpu, MINIVMM_EXIT_HLT);
}

GUEST_CODE(guest_rm, ".code16",
	   GUEST_SYNC_ASM(1)
	   "cli\n\t"
	   "hlt\n\t"
	   IRQ_HANDLER16(guest_rm_irq_a, 0x41)
	   IRQ_HANDLER16(guest_rm_irq_b, 0x42));
extern const unsigned char guest_rm_irq_a[], guest_rm_irq_b[];

TEST_F(inject, real_mode_ivt_delivery)
{
	REQUIRE_VMX();
	SETUP(MODE_REAL, guest_rm, true);
	ASSERT_EQ(0, inject(self->vcpu, VEC_A));
	expect_irq(self->vcpu, VEC_A, REAL_CODE);
	test_expect_sync(self->vcpu, 1);
	test_run_expect(self->vcpu, MINIVMM_EXIT_HLT);
}

/* ---- waiting for the guest ------------------------------------------ */

/*
 * Interrupts off: a ucall with the interrupt pending, then STI and one
 * more instruction (the STI shadow) before the interrupt can come.
 */
GUEST_CODE(guest_sti, ".code64",
	   GUEST_SYNC_ASM(1)
	   "nop\n\t"
	   GUEST_SYNC_ASM(2)
	   "sti\n\t"
	   "nop\n\t"
	   GUEST_LABEL(guest_sti_window)
	   "nop\n\t"
	   GUEST_SYNC_ASM(3)
	   "cli\n\t"
	   "hlt\n\t"
	   IRQ_HANDLER64(guest_sti_irq_a, 0x41)
	   IRQ_HANDLER64(guest_sti_irq_b, 0x42));
extern const unsigned char guest_sti_irq_a[], guest_sti_irq_b[],
	guest_sti_window[];

TEST_F(inject, if_clear_waits_for_sti)
{
	REQUIRE_VMX();
	SETUP(MODE_LONG, guest_sti, false);
	test_expect_sync(self->vcpu, 1);
	ASSERT_EQ(0, inject(self->vcpu, VEC_A));
	/* With IF clear the guest runs on to its next ucall... */
	test_expect_sync(self->vcpu, 2);
	/* ...and is interrupted only after STI and the instruction after. */
	expect_irq(self->vcpu, VEC_A, GUEST_LONG_ADDR(guest_sti, guest_sti_window));
	test_expect_sync(self->vcpu, 3);
	test_run_expect(self->vcpu, MINIVMM_EXIT_HLT);
}

/* STI; HLT: the HLT is in the STI shadow, the interrupt comes after it. */
GUEST_CODE(guest_sti_hlt, ".code64",
	   GUEST_SYNC_ASM(1)
	   "sti\n\t"
	   "hlt\n\t"
	   GUEST_LABEL(guest_sti_hlt_after)
	   GUEST_SYNC_ASM(2)
	   "hlt\n\t"
	   IRQ_HANDLER64(guest_sti_hlt_irq_a, 0x41)
	   IRQ_HANDLER64(guest_sti_hlt_irq_b, 0x42));
extern const unsigned char guest_sti_hlt_irq_a[], guest_sti_hlt_irq_b[],
	guest_sti_hlt_after[];

TEST_F(inject, hlt_with_interrupt_pending_resumes_in_handler)
{
	REQUIRE_VMX();
	SETUP(MODE_LONG, guest_sti_hlt, false);
	test_expect_sync(self->vcpu, 1);
	ASSERT_EQ(0, inject(self->vcpu, VEC_B));
	/* No HLT exit: the interrupt is delivered right after the HLT. */
	expect_irq(self->vcpu, VEC_B,
		   GUEST_LONG_ADDR(guest_sti_hlt, guest_sti_hlt_after));
	test_expect_sync(self->vcpu, 2);
}

/*
 * Interrupts on, nothing pending: the vCPU sleeps in HLT, in the kernel,
 * until an interrupt comes.
 */
GUEST_CODE(guest_halted, ".code64",
	   "hlt\n\t"
	   GUEST_LABEL(guest_halted_after)
	   GUEST_SYNC_ASM(1)
	   "hlt\n\t"
	   IRQ_HANDLER64(guest_halted_irq_a, 0x41)
	   IRQ_HANDLER64(guest_halted_irq_b, 0x42));
extern const unsigned char guest_halted_irq_a[], guest_halted_irq_b[],
	guest_halted_after[];

struct late_inject {
	struct test_vcpu *vcpu;
	int err;
};

/* Inject VEC_A a tenth of a second from now, while RUN sleeps in HLT. */
static void *inject_later(void *arg)
{
	struct late_inject *l = arg;

	usleep(100000);
	l->err = inject(l->vcpu, VEC_A);
	return NULL;
}

TEST_F(inject, interrupt_from_another_thread_wakes_halted_guest)
{
	uint64_t after = GUEST_LONG_ADDR(guest_halted, guest_halted_after);
	struct late_inject l;
	pthread_t t;

	REQUIRE_VMX();
	SETUP(MODE_LONG, guest_halted, true);
	l.vcpu = self->vcpu;
	l.err = -1;
	ASSERT_EQ(0, pthread_create(&t, NULL, inject_later, &l));
	/* No HLT exit: RUN returns with the handler's report. */
	expect_irq(self->vcpu, VEC_A, after);
	pthread_join(t, NULL);
	EXPECT_EQ(0, l.err);
	test_expect_sync(self->vcpu, 1);
}

TEST_F(inject, halted_guest_run_ends_on_signal)
{
	REQUIRE_VMX();
	SETUP(MODE_LONG, guest_halted, true);
	EXPECT_EQ(-EINTR, test_vcpu_run_for(self->vcpu, 200));
	EXPECT_EQ(MINIVMM_EXIT_INTR, self->vcpu->run->exit_reason);
}

/* ---- the ioctl ------------------------------------------------------ */

/* HLT in a loop with interrupts on: every run delivers what is pending. */
GUEST_CODE(guest_idle, ".code64",
	   "1:\n\t"
	   "hlt\n\t"
	   "jmp 1b\n\t"
	   IRQ_HANDLER64(guest_idle_irq_a, 0x41)
	   IRQ_HANDLER64(guest_idle_irq_b, 0x42)
	   IRQ_HANDLER64(guest_idle_irq_32, 32)
	   IRQ_HANDLER64(guest_idle_irq_255, 255));
extern const unsigned char guest_idle_irq_a[], guest_idle_irq_b[],
	guest_idle_irq_32[], guest_idle_irq_255[];

TEST_F(inject, second_interrupt_while_pending_ebusy)
{
	REQUIRE_VMX();
	SETUP(MODE_LONG, guest_idle, true);
	ASSERT_EQ(0, inject(self->vcpu, VEC_A));
	EXPECT_EQ(EBUSY, inject(self->vcpu, VEC_B));
	EXPECT_EQ(EBUSY, inject(self->vcpu, VEC_A));

	/* The first one is delivered, the refused one is not: it halts. */
	test_expect_sync(self->vcpu, IRQ_SYNC(VEC_A));
	EXPECT_EQ(-EINTR, test_vcpu_run_for(self->vcpu, 200));

	/* Delivered, it no longer blocks the next. */
	ASSERT_EQ(0, inject(self->vcpu, VEC_B));
	test_expect_sync(self->vcpu, IRQ_SYNC(VEC_B));
}

TEST_F(inject, vector_out_of_range_einval)
{
	static const unsigned long bad[] = {
		0, 1, 2, 8, 14, 31, 256, 257, 0x141, 0x10000, ~0UL,
	};
	unsigned int i;

	REQUIRE_VMX();
	SETUP(MODE_LONG, guest_idle, true);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(EINVAL, inject(self->vcpu, bad[i])) {
			TH_LOG("vector %#lx", bad[i]);
		}
	}
	/* None of them was queued: nothing is delivered, it stays halted. */
	EXPECT_EQ(-EINTR, test_vcpu_run_for(self->vcpu, 200));
	EXPECT_EQ(0, inject(self->vcpu, VEC_A));
}

TEST_F(inject, vectors_32_and_255_delivered)
{
	REQUIRE_VMX();
	SETUP(MODE_LONG, guest_idle, true);
	test_set_idt(self->vm, MODE_LONG, 32,
		     GUEST_LONG_ADDR(guest_idle, guest_idle_irq_32));
	test_set_idt(self->vm, MODE_LONG, 255,
		     GUEST_LONG_ADDR(guest_idle, guest_idle_irq_255));
	ASSERT_EQ(0, inject(self->vcpu, 32));
	test_expect_sync(self->vcpu, IRQ_SYNC(32));
	ASSERT_EQ(0, inject(self->vcpu, 255));
	test_expect_sync(self->vcpu, IRQ_SYNC(255));
}

TEST_HARNESS_MAIN

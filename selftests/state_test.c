// SPDX-License-Identifier: GPL-2.0
/*
 * The complete vCPU state and NMIs: MINIVMM_NMI, MINIVMM_GET/SET_MSRS,
 * MINIVMM_GET_MSR_INDEX_LIST, MINIVMM_GET/SET_FPU,
 * MINIVMM_GET/SET_DEBUGREGS and MINIVMM_GET/SET_VCPU_EVENTS, and the
 * run structure's immediate_exit, which completes an answered IN or MMIO
 * read before a snapshot reads the registers.
 *
 * Each state ioctl: "set, then get, returns the same", the guest sees
 * what was set, every bad argument with its exact errno, and -EBUSY
 * while a RUN is in flight. NMIs: delivered through the guest's IDT
 * vector 2 with IF clear or set, held while the NMI handler runs until
 * its IRET, waking a guest halted with IF clear, and sent from another
 * thread while the guest spins.
 *
 * The guests run in long mode. The NMI handler reports with a ucall:
 * RBX = NMI_SYNC, RCX = the RIP and RDX = the RFLAGS in its frame; it
 * then makes a second ucall, NMI_END, before its IRETQ.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "minivmm_test.h"

#define NMI_SYNC	0x2002
#define NMI_END		0x2003
#define IRQ_SYNC	0x1041
#define VEC_IRQ		0x41
#define RFLAGS_IF	(1ULL << 9)
#define FLAG_ADDR	0x600	/* the other thread releases a spinning guest */
#define READY_ADDR	0x608	/* the guest says it spins */

#define MSR_IA32_TSC		0x10
#define MSR_SYSENTER_CS		0x174
#define MSR_MTRRCAP		0xfe
#define MSR_PAT			0x277
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_FMASK		0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102

#define XCR0_FP		1ULL
#define XCR0_SSE	2ULL
#define FXSAVE_MXCSR	24
#define FXSAVE_XMM0	160

/* An NMI handler (vector 2): two ucalls, then IRETQ. */
#define NMI_HANDLER64(label)						\
	GUEST_LABEL(label)						\
	"push %rax\n\t"							\
	"push %rbx\n\t"							\
	"push %rcx\n\t"							\
	"push %rdx\n\t"							\
	"movl $1, 0x600\n\t"						\
	"mov $0x2002, %ebx\n\t"						\
	"mov 32(%rsp), %rcx\n\t"					\
	"mov 48(%rsp), %rdx\n\t"					\
	UCALL_ASM(1)							\
	"mov $0x2003, %ebx\n\t"						\
	UCALL_ASM(1)							\
	"pop %rdx\n\t"							\
	"pop %rcx\n\t"							\
	"pop %rbx\n\t"							\
	"pop %rax\n\t"							\
	"iretq\n\t"

/* An interrupt handler for VEC_IRQ: one ucall, IRQ_SYNC. */
#define IRQ_HANDLER64(label)						\
	GUEST_LABEL(label)						\
	"push %rbx\n\t"							\
	"push %rax\n\t"							\
	"mov $0x1041, %ebx\n\t"						\
	UCALL_ASM(1)							\
	"pop %rax\n\t"							\
	"pop %rbx\n\t"							\
	"iretq\n\t"

static bool have_vnmi(void)
{
	struct minivmm_caps c;

	return !minivmm_caps(&c) && (c.features & MINIVMM_CAP_VIRTUAL_NMI);
}

#define REQUIRE_VNMI()							\
	do {								\
		if (!have_vnmi())					\
			SKIP(return, "no virtual NMIs on this machine");\
	} while (0)

FIXTURE(state) {
	struct test_vm *vm;
	struct test_vcpu *vcpu;
};

FIXTURE_SETUP(state)
{
}

FIXTURE_TEARDOWN(state)
{
	test_vcpu_destroy(self->vcpu);
	test_vm_destroy(self->vm);
}

/*
 * A long-mode vCPU running @code from @end, RFLAGS.IF = @irq_on, the
 * exception handlers installed, and @nmi and @irq (labels in the code,
 * or NULL) hooked to vectors 2 and VEC_IRQ.
 */
static void setup(struct test_vm **vm, struct test_vcpu **vcpu,
		  const unsigned char *code, const unsigned char *end,
		  bool irq_on, const unsigned char *nmi,
		  const unsigned char *irq)
{
	struct minivmm_regs regs;

	*vm = test_vm_create(GUEST_MEM_SIZE);
	*vcpu = test_vcpu_add(*vm, 0);
	test_install_exc_handlers(*vm, MODE_LONG);
	test_vcpu_load(*vcpu, MODE_LONG, code, end - code);
	if (nmi)
		test_set_idt(*vm, MODE_LONG, 2,
			     GUEST_CODE_ADDR + GUEST_LABEL_OFFSET(code, nmi));
	if (irq)
		test_set_idt(*vm, MODE_LONG, VEC_IRQ,
			     GUEST_CODE_ADDR + GUEST_LABEL_OFFSET(code, irq));
	test_get_regs(*vcpu, &regs);
	regs.rflags = irq_on ? 0x202 : 0x2;
	test_set_regs(*vcpu, &regs);
}

#define SETUP(code, irq_on, nmi, irq)					\
	setup(&self->vm, &self->vcpu, code, code##_end, irq_on, nmi, irq)

static int xioctl(struct test_vcpu *vcpu, unsigned long cmd, void *arg)
{
	return ioctl(vcpu->fd, cmd, arg) < 0 ? errno : 0;
}

static int nmi(struct test_vcpu *vcpu, unsigned long arg)
{
	return ioctl(vcpu->fd, MINIVMM_NMI, arg) ? errno : 0;
}

/* Run to the NMI handler; it interrupted the guest at @rip. */
static struct ucall expect_nmi(struct test_vcpu *vcpu, uint64_t rip)
{
	struct ucall uc = test_expect_sync(vcpu, NMI_SYNC);

	TEST_REQUIRE(uc.args[1] == rip, "NMI at %#lx, wanted %#lx",
		     (unsigned long)uc.args[1], (unsigned long)rip);
	return uc;
}

static void get_events(struct test_vcpu *vcpu, struct minivmm_vcpu_events *e)
{
	memset(e, 0xcc, sizeof(*e));
	TEST_REQUIRE(!ioctl(vcpu->fd, MINIVMM_GET_VCPU_EVENTS, e),
		     "MINIVMM_GET_VCPU_EVENTS: %s", strerror(errno));
}

static int set_events(struct test_vcpu *vcpu,
		      const struct minivmm_vcpu_events *e)
{
	return xioctl(vcpu, MINIVMM_SET_VCPU_EVENTS, (void *)e);
}

/* ---- NMIs ------------------------------------------------------------ */

GUEST_CODE(guest_nmi, ".code64",
	   GUEST_SYNC_ASM(1)
	   GUEST_LABEL(guest_nmi_at)
	   "nop\n\t"
	   GUEST_SYNC_ASM(2)
	   "cli\n\t"
	   "hlt\n\t"
	   NMI_HANDLER64(guest_nmi_handler));
extern const unsigned char guest_nmi_handler[], guest_nmi_at[];

static void nmi_delivery(struct __test_metadata *_metadata,
			 struct test_vcpu *vcpu, bool irq_on)
{
	struct ucall uc;

	test_expect_sync(vcpu, 1);
	ASSERT_EQ(0, nmi(vcpu, 0));
	uc = expect_nmi(vcpu, GUEST_LONG_ADDR(guest_nmi, guest_nmi_at));
	EXPECT_EQ(irq_on, !!(uc.args[2] & RFLAGS_IF));
	test_expect_sync(vcpu, NMI_END);
	/* IRETQ goes back to the interrupted code. */
	test_expect_sync(vcpu, 2);
	test_run_expect(vcpu, MINIVMM_EXIT_HLT);
}

TEST_F(state, nmi_delivered_through_idt_vector_2)
{
	REQUIRE_VMX();
	REQUIRE_VNMI();
	SETUP(guest_nmi, true, guest_nmi_handler, NULL);
	nmi_delivery(_metadata, self->vcpu, true);
}

TEST_F(state, nmi_delivered_with_if_clear)
{
	REQUIRE_VMX();
	REQUIRE_VNMI();
	SETUP(guest_nmi, false, guest_nmi_handler, NULL);
	nmi_delivery(_metadata, self->vcpu, false);
}

TEST_F(state, second_nmi_held_until_iret)
{
	uint64_t at = GUEST_LONG_ADDR(guest_nmi, guest_nmi_at);
	struct minivmm_vcpu_events e;

	REQUIRE_VMX();
	REQUIRE_VNMI();
	SETUP(guest_nmi, true, guest_nmi_handler, NULL);
	test_expect_sync(self->vcpu, 1);
	ASSERT_EQ(0, nmi(self->vcpu, 0));
	expect_nmi(self->vcpu, at);
	get_events(self->vcpu, &e);
	EXPECT_EQ(1, e.nmi.masked);
	EXPECT_EQ(0, e.nmi.pending);

	/* Inside the handler: the second one waits... */
	ASSERT_EQ(0, nmi(self->vcpu, 0));
	get_events(self->vcpu, &e);
	EXPECT_EQ(1, e.nmi.pending);
	test_expect_sync(self->vcpu, NMI_END);
	/* ...for the IRETQ, and comes before the interrupted NOP runs. */
	expect_nmi(self->vcpu, at);
	test_expect_sync(self->vcpu, NMI_END);
	test_expect_sync(self->vcpu, 2);
	get_events(self->vcpu, &e);
	EXPECT_EQ(0, e.nmi.masked);
	EXPECT_EQ(0, e.nmi.pending);
}

/* IF clear: HLT exits; an NMI wakes it. */
GUEST_CODE(guest_nmi_hlt, ".code64",
	   "hlt\n\t"
	   GUEST_LABEL(guest_nmi_hlt_after)
	   GUEST_SYNC_ASM(1)
	   "hlt\n\t"
	   NMI_HANDLER64(guest_nmi_hlt_handler));
extern const unsigned char guest_nmi_hlt_handler[], guest_nmi_hlt_after[];

TEST_F(state, nmi_wakes_guest_halted_with_if_clear)
{
	uint64_t after = GUEST_LONG_ADDR(guest_nmi_hlt, guest_nmi_hlt_after);
	struct minivmm_run *run;
	struct ucall uc;

	REQUIRE_VMX();
	REQUIRE_VNMI();
	SETUP(guest_nmi_hlt, false, guest_nmi_hlt_handler, NULL);
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_HLT);
	EXPECT_EQ(after, run->rip);
	ASSERT_EQ(0, nmi(self->vcpu, 0));
	uc = expect_nmi(self->vcpu, after);
	EXPECT_EQ(0, uc.args[2] & RFLAGS_IF);
	test_expect_sync(self->vcpu, NMI_END);
	test_expect_sync(self->vcpu, 1);
}

/* Spin with IF clear until the NMI handler sets the flag. */
GUEST_CODE(guest_nmi_spin, ".code64",
	   "movl $1, 0x608\n\t"
	   "1:\n\t"
	   "cmpl $0, 0x600\n\t"
	   "je 1b\n\t"
	   GUEST_SYNC_ASM(1)
	   "hlt\n\t"
	   NMI_HANDLER64(guest_nmi_spin_handler));
extern const unsigned char guest_nmi_spin_handler[];

struct nmi_sender {
	struct test_vcpu *vcpu;
	volatile uint32_t *ready;
	int err;
};

static void *send_nmi(void *arg)
{
	struct nmi_sender *s = arg;
	int i;

	/* Up to 20 s for the guest to reach its loop (Bochs is slow). */
	for (i = 0; i < 2000 && !*s->ready; i++)
		usleep(10000);
	usleep(50000);
	s->err = nmi(s->vcpu, 0);
	return NULL;
}

TEST_F(state, nmi_from_another_thread_while_guest_spins)
{
	struct nmi_sender s;
	pthread_t t;

	REQUIRE_VMX();
	REQUIRE_VNMI();
	SETUP(guest_nmi_spin, false, guest_nmi_spin_handler, NULL);
	s.vcpu = self->vcpu;
	s.ready = (volatile uint32_t *)(self->vm->mem + READY_ADDR);
	s.err = -1;
	ASSERT_EQ(0, pthread_create(&t, NULL, send_nmi, &s));
	/* One RUN: the NMI reaches the spinning guest without ending it. */
	test_expect_sync(self->vcpu, NMI_SYNC);
	pthread_join(t, NULL);
	EXPECT_EQ(0, s.err);
	test_expect_sync(self->vcpu, NMI_END);
	test_expect_sync(self->vcpu, 1);
}

/*
 * A guest that exits inside its NMI handler leaves the CPU with NMIs
 * blocked; the next guest to enter on that CPU has them unblocked, as its
 * VMCS says, and takes an NMI at once. (Bochs 2.7 kept the blocking.)
 */
TEST_F(state, nmi_blocking_of_another_guest_does_not_hold_nmis)
{
	uint64_t at = GUEST_LONG_ADDR(guest_nmi, guest_nmi_at);
	struct minivmm_vcpu_events e;
	struct test_vcpu *vcpu2;
	struct test_vm *vm2;

	REQUIRE_VMX();
	REQUIRE_VNMI();
	SETUP(guest_nmi, true, guest_nmi_handler, NULL);
	ASSERT_EQ(0, test_pin_with_vcpu(self->vcpu, 0));
	test_expect_sync(self->vcpu, 1);
	ASSERT_EQ(0, nmi(self->vcpu, 0));
	/* Stopped in the handler, before its IRETQ. */
	expect_nmi(self->vcpu, at);

	setup(&vm2, &vcpu2, guest_nmi, guest_nmi_end, true,
	      guest_nmi_handler, NULL);
	ASSERT_EQ(0, test_pin_with_vcpu(vcpu2, 0));
	test_expect_sync(vcpu2, 1);
	get_events(vcpu2, &e);
	EXPECT_EQ(0, e.nmi.masked);
	ASSERT_EQ(0, nmi(vcpu2, 0));
	expect_nmi(vcpu2, at);
	test_expect_sync(vcpu2, NMI_END);
	test_expect_sync(vcpu2, 2);
	test_vcpu_destroy(vcpu2);
	test_vm_destroy(vm2);
}

/* "STI; CLI": the NMI may not wait for an interrupt window. */
GUEST_CODE(guest_nmi_cli, ".code64",
	   "cli\n\t"
	   GUEST_LABEL(guest_nmi_cli_after)
	   GUEST_SYNC_ASM(1)
	   "hlt\n\t"
	   NMI_HANDLER64(guest_nmi_cli_handler));
extern const unsigned char guest_nmi_cli_handler[], guest_nmi_cli_after[];

TEST_F(state, nmi_pending_in_sti_shadow_taken_before_cli_ends_it)
{
	uint64_t after = GUEST_LONG_ADDR(guest_nmi_cli, guest_nmi_cli_after);
	struct minivmm_vcpu_events e;
	struct ucall uc;

	REQUIRE_VMX();
	REQUIRE_VNMI();
	SETUP(guest_nmi_cli, true, guest_nmi_cli_handler, NULL);
	/* The guest has just executed STI: CLI is in its shadow. */
	memset(&e, 0, sizeof(e));
	e.flags = MINIVMM_EVENTS_SHADOW | MINIVMM_EVENTS_QUEUED;
	e.shadow = MINIVMM_SHADOW_STI;
	e.nmi.pending = 1;
	ASSERT_EQ(0, set_events(self->vcpu, &e));
	/*
	 * A CPU whose STI shadow blocks NMIs takes it after the CLI, one
	 * whose shadow does not, on it; either way before the ucall.
	 */
	uc = test_expect_sync(self->vcpu, NMI_SYNC);
	EXPECT_TRUE(uc.args[1] == GUEST_CODE_ADDR || uc.args[1] == after) {
		TH_LOG("NMI at %#lx", (unsigned long)uc.args[1]);
	}
	test_expect_sync(self->vcpu, NMI_END);
	test_expect_sync(self->vcpu, 1);
}

/*
 * Blocking by MOV SS holds NMIs on every processor (SDM Vol. 3C, table
 * "Interruptibility State"; only the STI shadow's hold on NMIs varies),
 * until the instruction after the MOV SS completes.
 */
GUEST_CODE(guest_nmi_movss, ".code64",
	   "nop\n\t"
	   GUEST_LABEL(guest_nmi_movss_after)
	   GUEST_SYNC_ASM(1)
	   "hlt\n\t"
	   NMI_HANDLER64(guest_nmi_movss_handler));
extern const unsigned char guest_nmi_movss_handler[], guest_nmi_movss_after[];

TEST_F(state, nmi_pending_in_mov_ss_shadow_taken_after_the_next_instruction)
{
	uint64_t after = GUEST_LONG_ADDR(guest_nmi_movss,
					 guest_nmi_movss_after);
	struct minivmm_vcpu_events e;

	REQUIRE_VMX();
	REQUIRE_VNMI();
	SETUP(guest_nmi_movss, false, guest_nmi_movss_handler, NULL);
	/* The guest has just executed MOV SS: the NOP is in its shadow. */
	memset(&e, 0, sizeof(e));
	e.flags = MINIVMM_EVENTS_SHADOW | MINIVMM_EVENTS_QUEUED;
	e.shadow = MINIVMM_SHADOW_MOV_SS;
	e.nmi.pending = 1;
	ASSERT_EQ(0, set_events(self->vcpu, &e));
	expect_nmi(self->vcpu, after);
	test_expect_sync(self->vcpu, NMI_END);
	test_expect_sync(self->vcpu, 1);
}

/*
 * An NMI handler whose IRETQ pops its frame from device memory: the IRET
 * exits (EPT violation) after it began unblocking NMIs, and cannot be
 * emulated. It never completed, so NMIs must still be blocked.
 */
GUEST_CODE(guest_nmi_iret_mmio, ".code64",
	   GUEST_SYNC_ASM(1)
	   "hlt\n\t"
	   GUEST_LABEL(guest_nmi_iret_mmio_handler)
	   "mov $0x10000000, %rsp\n\t"
	   "iretq\n\t");
extern const unsigned char guest_nmi_iret_mmio_handler[];

TEST_F(state, nmi_still_blocked_when_iret_exits_unfinished)
{
	struct minivmm_vcpu_events e;
	struct minivmm_run *run;

	REQUIRE_VMX();
	REQUIRE_VNMI();
	SETUP(guest_nmi_iret_mmio, true, guest_nmi_iret_mmio_handler, NULL);
	test_expect_sync(self->vcpu, 1);
	ASSERT_EQ(0, nmi(self->vcpu, 0));
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_INTERNAL_ERROR);
	EXPECT_EQ(48, run->hw_exit_reason);	/* EPT violation */
	get_events(self->vcpu, &e);
	EXPECT_EQ(1, e.nmi.masked);
}

TEST_F(state, nmi_nonzero_argument_einval)
{
	struct minivmm_vcpu_events e;

	REQUIRE_VMX();
	SETUP(guest_nmi, true, guest_nmi_handler, NULL);
	EXPECT_EQ(EINVAL, nmi(self->vcpu, 1));
	EXPECT_EQ(EINVAL, nmi(self->vcpu, ~0UL));
	get_events(self->vcpu, &e);
	EXPECT_EQ(0, e.nmi.pending);
}

TEST(nmi_without_virtual_nmis_eopnotsupp)
{
	struct test_vcpu *vcpu;
	struct test_vm *vm;

	REQUIRE_VMX();
	if (have_vnmi())
		SKIP(return, "this machine has virtual NMIs");
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	EXPECT_EQ(EOPNOTSUPP, nmi(vcpu, 0));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

/* ---- MSRs ------------------------------------------------------------ */

static int msrs(struct test_vcpu *vcpu, unsigned long cmd,
		struct minivmm_msr_entry *e, uint32_t n)
{
	struct minivmm_msrs m = {
		.nmsrs = n, .entries = (uintptr_t)e,
	};
	int ret = ioctl(vcpu->fd, cmd, &m);

	return ret < 0 ? -errno : ret;
}

GUEST_CODE(guest_idle, ".code64",
	   "1:\n\t"
	   "hlt\n\t"
	   "jmp 1b\n\t"
	   NMI_HANDLER64(guest_idle_nmi)
	   IRQ_HANDLER64(guest_idle_irq));
extern const unsigned char guest_idle_nmi[], guest_idle_irq[];

TEST_F(state, msrs_set_then_get_returns_same)
{
	struct minivmm_msr_entry set[] = {
		{ .index = MSR_STAR, .data = 0x0023001000000000ULL },
		{ .index = MSR_LSTAR, .data = 0xffffffff81000000ULL },
		{ .index = MSR_FMASK, .data = 0x47700 },
		{ .index = MSR_KERNEL_GS_BASE, .data = 0x123456789000ULL },
		{ .index = MSR_SYSENTER_CS, .data = 0x10 },
		{ .index = MSR_PAT, .data = 0x0007010600070106ULL },
	}, get[ARRAY_SIZE(set)];
	unsigned int i;

	REQUIRE_VMX();
	SETUP(guest_idle, true, guest_idle_nmi, guest_idle_irq);
	ASSERT_EQ(ARRAY_SIZE(set), msrs(self->vcpu, MINIVMM_SET_MSRS, set,
					ARRAY_SIZE(set)));
	memset(get, 0, sizeof(get));
	for (i = 0; i < ARRAY_SIZE(set); i++)
		get[i].index = set[i].index;
	ASSERT_EQ(ARRAY_SIZE(set), msrs(self->vcpu, MINIVMM_GET_MSRS, get,
					ARRAY_SIZE(get)));
	for (i = 0; i < ARRAY_SIZE(set); i++) {
		EXPECT_EQ(set[i].data, get[i].data) {
			TH_LOG("MSR %#x", set[i].index);
		}
	}
}

/* RDMSR of LSTAR: RCX = low half, RDX = high half. */
GUEST_CODE(guest_rdmsr, ".code64",
	   "mov $0xc0000082, %ecx\n\t"
	   "rdmsr\n\t"
	   "mov %eax, %ecx\n\t"
	   GUEST_SYNC_ASM(1)
	   "hlt\n\t");

TEST_F(state, msrs_guest_reads_value_set)
{
	struct minivmm_msr_entry e = {
		.index = MSR_LSTAR, .data = 0xffff800012345678ULL,
	};
	struct ucall uc;

	REQUIRE_VMX();
	SETUP(guest_rdmsr, false, NULL, NULL);
	ASSERT_EQ(1, msrs(self->vcpu, MINIVMM_SET_MSRS, &e, 1));
	uc = test_expect_sync(self->vcpu, 1);
	EXPECT_EQ(0x12345678, uc.args[1]);
	EXPECT_EQ(0xffff8000, uc.args[2]);
}

TEST_F(state, msrs_stop_at_first_msr_guest_cannot_use)
{
	struct minivmm_msr_entry e[] = {
		{ .index = MSR_STAR, .data = 0x0023001000000000ULL },
		{ .index = 0xdeadbeef, .data = 1 },
		{ .index = MSR_LSTAR, .data = 0xffff800000001000ULL },
	}, before = { .index = MSR_LSTAR };

	REQUIRE_VMX();
	SETUP(guest_idle, true, NULL, NULL);
	ASSERT_EQ(1, msrs(self->vcpu, MINIVMM_GET_MSRS, &before, 1));
	EXPECT_EQ(1, msrs(self->vcpu, MINIVMM_SET_MSRS, e, 3));
	EXPECT_EQ(1, msrs(self->vcpu, MINIVMM_GET_MSRS, e, 3));
	/* LSTAR, after the unknown MSR, was not written. */
	e[0].index = MSR_LSTAR;
	ASSERT_EQ(1, msrs(self->vcpu, MINIVMM_GET_MSRS, e, 1));
	EXPECT_EQ(before.data, e[0].data);
	/* A read-only MSR takes only its own value. */
	e[0].index = MSR_MTRRCAP;
	ASSERT_EQ(1, msrs(self->vcpu, MINIVMM_GET_MSRS, e, 1));
	EXPECT_EQ(1, msrs(self->vcpu, MINIVMM_SET_MSRS, e, 1));
	e[0].data ^= 1;
	EXPECT_EQ(0, msrs(self->vcpu, MINIVMM_SET_MSRS, e, 1));
	/* A value the guest's WRMSR would #GP on: FMASK's upper half. */
	e[0].index = MSR_FMASK;
	e[0].data = 1ULL << 32;
	EXPECT_EQ(0, msrs(self->vcpu, MINIVMM_SET_MSRS, e, 1));
}

TEST_F(state, msrs_bad_arguments)
{
	struct minivmm_msr_entry e[2] = {
		{ .index = MSR_STAR }, { .index = MSR_LSTAR },
	};
	struct minivmm_msrs m = { .nmsrs = 1, .entries = (uintptr_t)e };

	REQUIRE_VMX();
	SETUP(guest_idle, true, NULL, NULL);
	EXPECT_EQ(0, msrs(self->vcpu, MINIVMM_GET_MSRS, e, 0));
	EXPECT_EQ(-E2BIG, msrs(self->vcpu, MINIVMM_GET_MSRS, e,
			       MINIVMM_MAX_MSRS + 1));
	EXPECT_EQ(-E2BIG, msrs(self->vcpu, MINIVMM_SET_MSRS, e, ~0U));
	EXPECT_EQ(-EFAULT, msrs(self->vcpu, MINIVMM_GET_MSRS, NULL, 1));
	EXPECT_EQ(-EFAULT, msrs(self->vcpu, MINIVMM_SET_MSRS, NULL, 1));
	EXPECT_EQ(EFAULT, xioctl(self->vcpu, MINIVMM_GET_MSRS, NULL));
	m.flags = 1;
	EXPECT_EQ(EINVAL, xioctl(self->vcpu, MINIVMM_GET_MSRS, &m));
	EXPECT_EQ(EINVAL, xioctl(self->vcpu, MINIVMM_SET_MSRS, &m));
	e[1].reserved = 1;
	EXPECT_EQ(-EINVAL, msrs(self->vcpu, MINIVMM_GET_MSRS, e, 2));
	EXPECT_EQ(-EINVAL, msrs(self->vcpu, MINIVMM_SET_MSRS, e, 2));
}

/* RDTSC: RCX = low half, RDX = high half. */
GUEST_CODE(guest_rdtsc, ".code64",
	   "rdtsc\n\t"
	   "mov %eax, %ecx\n\t"
	   GUEST_SYNC_ASM(1)
	   "hlt\n\t");

TEST_F(state, tsc_set_is_what_guest_reads)
{
	const uint64_t tsc = 1ULL << 44;
	struct minivmm_msr_entry e = { .index = MSR_IA32_TSC, .data = tsc };
	struct ucall uc;
	uint64_t got;

	REQUIRE_VMX();
	SETUP(guest_rdtsc, false, NULL, NULL);
	ASSERT_EQ(1, msrs(self->vcpu, MINIVMM_SET_MSRS, &e, 1));
	ASSERT_EQ(1, msrs(self->vcpu, MINIVMM_GET_MSRS, &e, 1));
	EXPECT_LE(tsc, e.data);
	uc = test_expect_sync(self->vcpu, 1);
	got = (uc.args[2] << 32) | uc.args[1];
	/* Counted on from the value set: a wide bound, never a timing. */
	EXPECT_LE(tsc, got);
	EXPECT_GT(tsc + (1ULL << 40), got);
}

TEST_F(state, msr_index_list_lists_usable_msrs)
{
	struct minivmm_msr_list l = { .nmsrs = MINIVMM_MAX_MSRS };
	struct minivmm_msr_entry e[MINIVMM_MAX_MSRS];
	uint32_t idx[MINIVMM_MAX_MSRS];
	bool tsc = false, lstar = false;
	unsigned int i, n;

	REQUIRE_VMX();
	SETUP(guest_idle, true, NULL, NULL);
	l.indices = (uintptr_t)idx;
	ASSERT_EQ(0, xioctl(self->vcpu, MINIVMM_GET_MSR_INDEX_LIST, &l));
	n = l.nmsrs;
	ASSERT_LT(2, n);
	memset(e, 0, sizeof(e));
	for (i = 0; i < n; i++) {
		e[i].index = idx[i];
		tsc |= idx[i] == MSR_IA32_TSC;
		lstar |= idx[i] == MSR_LSTAR;
	}
	EXPECT_TRUE(tsc);
	EXPECT_TRUE(lstar);
	/* Every MSR listed can be read, so a snapshot can save them all. */
	EXPECT_EQ(n, msrs(self->vcpu, MINIVMM_GET_MSRS, e, n));
	/* And written back as read, so a restore can set them all. */
	EXPECT_EQ(n, msrs(self->vcpu, MINIVMM_SET_MSRS, e, n));

	/* Too little room: -E2BIG, with the number needed. */
	l.nmsrs = n - 1;
	EXPECT_EQ(E2BIG, xioctl(self->vcpu, MINIVMM_GET_MSR_INDEX_LIST, &l));
	EXPECT_EQ(n, l.nmsrs);
	l.flags = 1;
	EXPECT_EQ(EINVAL, xioctl(self->vcpu, MINIVMM_GET_MSR_INDEX_LIST, &l));
	l.flags = 0;
	l.nmsrs = n;
	l.indices = 0;
	EXPECT_EQ(EFAULT, xioctl(self->vcpu, MINIVMM_GET_MSR_INDEX_LIST, &l));
	EXPECT_EQ(EFAULT, xioctl(self->vcpu, MINIVMM_GET_MSR_INDEX_LIST, NULL));
}

/* ---- FPU ------------------------------------------------------------- */

/* XMM0: RCX = low quadword, RDX = high quadword. */
GUEST_CODE(guest_xmm, ".code64",
	   "movq %xmm0, %rcx\n\t"
	   "psrldq $8, %xmm0\n\t"
	   "movq %xmm0, %rdx\n\t"
	   GUEST_SYNC_ASM(1)
	   "hlt\n\t");

static void get_fpu(struct test_vcpu *vcpu, struct minivmm_fpu *f)
{
	TEST_REQUIRE(!ioctl(vcpu->fd, MINIVMM_GET_FPU, f),
		     "MINIVMM_GET_FPU: %s", strerror(errno));
}

TEST_F(state, fpu_set_then_get_returns_same)
{
	struct minivmm_fpu f, g;
	uint32_t mxcsr = 0x1f80 | 0x6000;	/* round toward zero */

	REQUIRE_VMX();
	SETUP(guest_idle, true, NULL, NULL);
	get_fpu(self->vcpu, &f);
	EXPECT_EQ(XCR0_FP, f.xcr0);
	EXPECT_EQ(0x1f80, *(uint32_t *)(f.fxsave + FXSAVE_MXCSR));
	memcpy(f.fxsave + FXSAVE_MXCSR, &mxcsr, 4);
	memset(f.fxsave + FXSAVE_XMM0, 0x5a, 16 * 16);
	f.xcr0 = XCR0_FP | XCR0_SSE;
	ASSERT_EQ(0, xioctl(self->vcpu, MINIVMM_SET_FPU, &f));
	get_fpu(self->vcpu, &g);
	EXPECT_EQ(0, memcmp(&f, &g, sizeof(f)));
}

TEST_F(state, fpu_guest_reads_xmm_set)
{
	const uint64_t lo = 0x0123456789abcdefULL, hi = 0xfedcba9876543210ULL;
	struct minivmm_fpu f;
	struct ucall uc;

	REQUIRE_VMX();
	SETUP(guest_xmm, false, NULL, NULL);
	get_fpu(self->vcpu, &f);
	memcpy(f.fxsave + FXSAVE_XMM0, &lo, 8);
	memcpy(f.fxsave + FXSAVE_XMM0 + 8, &hi, 8);
	ASSERT_EQ(0, xioctl(self->vcpu, MINIVMM_SET_FPU, &f));
	uc = test_expect_sync(self->vcpu, 1);
	EXPECT_EQ(lo, uc.args[1]);
	EXPECT_EQ(hi, uc.args[2]);
}

TEST_F(state, fpu_bad_arguments)
{
	struct minivmm_fpu f, bad, now;
	uint32_t mxcsr = 0x1f80 | (1U << 31);

	REQUIRE_VMX();
	SETUP(guest_idle, true, NULL, NULL);
	get_fpu(self->vcpu, &f);
	bad = f;
	memcpy(bad.fxsave + FXSAVE_MXCSR, &mxcsr, 4);
	EXPECT_EQ(EINVAL, xioctl(self->vcpu, MINIVMM_SET_FPU, &bad));
	bad = f;
	bad.xcr0 = 0;
	EXPECT_EQ(EINVAL, xioctl(self->vcpu, MINIVMM_SET_FPU, &bad));
	bad.xcr0 = XCR0_SSE;
	EXPECT_EQ(EINVAL, xioctl(self->vcpu, MINIVMM_SET_FPU, &bad));
	bad.xcr0 = 7;		/* AVX: XSETBV refuses it too */
	EXPECT_EQ(EINVAL, xioctl(self->vcpu, MINIVMM_SET_FPU, &bad));
	bad = f;
	bad.flags = 1;
	EXPECT_EQ(EINVAL, xioctl(self->vcpu, MINIVMM_SET_FPU, &bad));
	bad = f;
	bad.pad = 1;
	EXPECT_EQ(EINVAL, xioctl(self->vcpu, MINIVMM_SET_FPU, &bad));
	bad = f;
	bad.reserved[5] = 1;
	EXPECT_EQ(EINVAL, xioctl(self->vcpu, MINIVMM_SET_FPU, &bad));
	EXPECT_EQ(EFAULT, xioctl(self->vcpu, MINIVMM_SET_FPU, NULL));
	EXPECT_EQ(EFAULT, xioctl(self->vcpu, MINIVMM_GET_FPU, NULL));
	/* Nothing of the refused ones landed. */
	get_fpu(self->vcpu, &now);
	EXPECT_EQ(0, memcmp(&f, &now, sizeof(f)));
}

/* ---- debug registers ------------------------------------------------- */

static void get_dr(struct test_vcpu *vcpu, struct minivmm_debugregs *d)
{
	TEST_REQUIRE(!ioctl(vcpu->fd, MINIVMM_GET_DEBUGREGS, d),
		     "MINIVMM_GET_DEBUGREGS: %s", strerror(errno));
}

TEST_F(state, debugregs_set_then_get_returns_same)
{
	struct minivmm_debugregs d = {
		/* DR3: a value a guest's MOV may leave, though no address */
		.db = { 0x1000, 0xffffffff80001000ULL, 0x7fff00000000ULL,
			0x8000000000000008ULL },
		.dr6 = 0xffff0ff0 | 0x4003,
		/* L1, a 4-byte write watch; GE; bit 10 */
		.dr7 = 0x400 | 0x200 | 0x4 | (0xdUL << 20),
	}, g;

	REQUIRE_VMX();
	SETUP(guest_idle, true, NULL, NULL);
	get_dr(self->vcpu, &g);
	EXPECT_EQ(0xffff0ff0, g.dr6);
	EXPECT_EQ(0x400, g.dr7);
	ASSERT_EQ(0, xioctl(self->vcpu, MINIVMM_SET_DEBUGREGS, &d));
	get_dr(self->vcpu, &g);
	EXPECT_EQ(0, memcmp(&d, &g, sizeof(d)));
}

/* An instruction breakpoint on the NOP at guest_dr_bp. */
GUEST_CODE(guest_dr, ".code64",
	   "lea 2f(%rip), %rdi\n\t"
	   GUEST_LABEL(guest_dr_bp)
	   "nop\n\t"
	   GUEST_SYNC_ASM(1)
	   "2:\n\t"
	   GUEST_SYNC_ASM(2)
	   "hlt\n\t");
extern const unsigned char guest_dr_bp[];

TEST_F(state, debugregs_guest_hits_dr7_breakpoint)
{
	uint64_t bp = GUEST_LONG_ADDR(guest_dr, guest_dr_bp);
	struct minivmm_debugregs d = {
		.db = { bp }, .dr6 = 0xffff0ff0, .dr7 = 0x400 | 1,
	};
	struct ucall uc;

	REQUIRE_VMX();
	SETUP(guest_dr, false, NULL, NULL);
	ASSERT_EQ(0, xioctl(self->vcpu, MINIVMM_SET_DEBUGREGS, &d));
	uc = test_expect_sync(self->vcpu, EXC_SYNC(1));
	EXPECT_EQ(bp, uc.args[2]);
	get_dr(self->vcpu, &d);
	EXPECT_EQ(1, d.dr6 & 0xf);	/* B0 */
	/* The handler went on past the breakpoint. */
	test_expect_sync(self->vcpu, 2);
}

TEST_F(state, debugregs_bad_arguments)
{
	struct minivmm_debugregs d = { .dr6 = 0xffff0ff0, .dr7 = 0x400 }, b,
		now;
	static const uint64_t bad_dr7[] = {
		0, 0x400 | (1ULL << 11), 0x400 | (1ULL << 12),
		0x400 | (1ULL << 14), 0x400 | (1ULL << 15), 0x400 | (1ULL << 32),
	};
	static const uint64_t bad_dr6[] = {
		0, 0xffff0ff0 | (1ULL << 32), 0xffff0ff0 | (1ULL << 12),
		0xffff0fe0,
	};
	unsigned int i;

	REQUIRE_VMX();
	SETUP(guest_idle, true, NULL, NULL);
	ASSERT_EQ(0, xioctl(self->vcpu, MINIVMM_SET_DEBUGREGS, &d));
	for (i = 0; i < ARRAY_SIZE(bad_dr7); i++) {
		b = d;
		b.dr7 = bad_dr7[i];
		EXPECT_EQ(EINVAL, xioctl(self->vcpu, MINIVMM_SET_DEBUGREGS, &b)) {
			TH_LOG("DR7 %#llx", (unsigned long long)b.dr7);
		}
	}
	for (i = 0; i < ARRAY_SIZE(bad_dr6); i++) {
		b = d;
		b.dr6 = bad_dr6[i];
		EXPECT_EQ(EINVAL, xioctl(self->vcpu, MINIVMM_SET_DEBUGREGS, &b)) {
			TH_LOG("DR6 %#llx", (unsigned long long)b.dr6);
		}
	}
	b = d;
	b.flags = 1;
	EXPECT_EQ(EINVAL, xioctl(self->vcpu, MINIVMM_SET_DEBUGREGS, &b));
	b = d;
	b.pad = 1;
	EXPECT_EQ(EINVAL, xioctl(self->vcpu, MINIVMM_SET_DEBUGREGS, &b));
	b = d;
	b.reserved[4] = 1;
	EXPECT_EQ(EINVAL, xioctl(self->vcpu, MINIVMM_SET_DEBUGREGS, &b));
	EXPECT_EQ(EFAULT, xioctl(self->vcpu, MINIVMM_SET_DEBUGREGS, NULL));
	EXPECT_EQ(EFAULT, xioctl(self->vcpu, MINIVMM_GET_DEBUGREGS, NULL));
	get_dr(self->vcpu, &now);
	EXPECT_EQ(0, memcmp(&d, &now, sizeof(d)));
}

/* ---- events ---------------------------------------------------------- */

#define ALL_EVENTS	(MINIVMM_EVENTS_INJECTED | MINIVMM_EVENTS_QUEUED | \
			 MINIVMM_EVENTS_NMI_MASK | MINIVMM_EVENTS_SHADOW)

TEST_F(state, events_set_then_get_returns_same)
{
	struct minivmm_vcpu_events e, g;

	REQUIRE_VMX();
	REQUIRE_VNMI();
	SETUP(guest_idle, true, guest_idle_nmi, guest_idle_irq);
	get_events(self->vcpu, &e);
	EXPECT_EQ(ALL_EVENTS, e.flags);
	EXPECT_EQ(0, e.exception.injected);
	EXPECT_EQ(0, e.interrupt.injected);
	EXPECT_EQ(0, e.nmi.injected | e.nmi.pending | e.nmi.masked);
	EXPECT_EQ(0, e.shadow);

	memset(&e, 0, sizeof(e));
	e.flags = ALL_EVENTS;
	e.exception.injected = 1;
	e.exception.vector = 14;
	e.exception.has_error_code = 1;
	e.exception.error_code = 0x6;
	e.interrupt.queued = 1;
	e.interrupt.queued_vector = VEC_IRQ;
	e.nmi.pending = 1;
	e.nmi.masked = 1;
	e.shadow = MINIVMM_SHADOW_STI;
	ASSERT_EQ(0, set_events(self->vcpu, &e));
	get_events(self->vcpu, &g);
	EXPECT_EQ(0, memcmp(&e, &g, sizeof(e)));

	/* A software interrupt with its instruction length. */
	memset(&e, 0, sizeof(e));
	e.flags = ALL_EVENTS;
	e.interrupt.injected = 1;
	e.interrupt.vector = 0x80;
	e.interrupt.soft = 1;
	e.insn_len = 2;
	ASSERT_EQ(0, set_events(self->vcpu, &e));
	get_events(self->vcpu, &g);
	EXPECT_EQ(0, memcmp(&e, &g, sizeof(e)));

	/* An NMI on its way in. */
	memset(&e, 0, sizeof(e));
	e.flags = ALL_EVENTS;
	e.nmi.injected = 1;
	ASSERT_EQ(0, set_events(self->vcpu, &e));
	get_events(self->vcpu, &g);
	EXPECT_EQ(0, memcmp(&e, &g, sizeof(e)));
}

TEST_F(state, events_set_only_parts_flags_name)
{
	struct minivmm_vcpu_events e, g;

	REQUIRE_VMX();
	SETUP(guest_idle, true, guest_idle_nmi, guest_idle_irq);
	ASSERT_EQ(0, ioctl(self->vcpu->fd, MINIVMM_INJECT_INTERRUPT, VEC_IRQ));
	memset(&e, 0, sizeof(e));
	e.flags = MINIVMM_EVENTS_SHADOW;
	e.shadow = MINIVMM_SHADOW_MOV_SS;
	ASSERT_EQ(0, set_events(self->vcpu, &e));
	get_events(self->vcpu, &g);
	EXPECT_EQ(MINIVMM_SHADOW_MOV_SS, g.shadow);
	/* The queued interrupt is still there. */
	EXPECT_EQ(1, g.interrupt.queued);
	EXPECT_EQ(VEC_IRQ, g.interrupt.queued_vector);
}

TEST_F(state, events_injected_exception_delivered_on_next_run)
{
	struct minivmm_vcpu_events e;
	struct ucall uc;

	REQUIRE_VMX();
	SETUP(guest_idle, true, NULL, NULL);
	memset(&e, 0, sizeof(e));
	e.flags = MINIVMM_EVENTS_INJECTED;
	e.exception.injected = 1;
	e.exception.vector = 13;
	e.exception.has_error_code = 1;
	e.exception.error_code = 0x18;
	ASSERT_EQ(0, set_events(self->vcpu, &e));
	uc = test_expect_sync(self->vcpu, EXC_SYNC(13));
	EXPECT_EQ(0x18, uc.args[1]);
	EXPECT_EQ(GUEST_CODE_ADDR, uc.args[2]);
}

TEST_F(state, events_pending_nmi_delivered_on_next_run)
{
	struct minivmm_vcpu_events e;

	REQUIRE_VMX();
	REQUIRE_VNMI();
	SETUP(guest_idle, true, guest_idle_nmi, guest_idle_irq);
	memset(&e, 0, sizeof(e));
	e.flags = MINIVMM_EVENTS_QUEUED;
	e.nmi.pending = 1;
	ASSERT_EQ(0, set_events(self->vcpu, &e));
	expect_nmi(self->vcpu, GUEST_CODE_ADDR);
	test_expect_sync(self->vcpu, NMI_END);
	/* Back to its HLT, with interrupts on: it sleeps until a signal. */
	EXPECT_EQ(-EINTR, test_vcpu_run_for(self->vcpu, 100));
	EXPECT_EQ(MINIVMM_EXIT_INTR, self->vcpu->run->exit_reason);
}

TEST_F(state, events_masked_nmi_waits_for_iret)
{
	struct minivmm_vcpu_events e;

	REQUIRE_VMX();
	REQUIRE_VNMI();
	SETUP(guest_idle, true, guest_idle_nmi, guest_idle_irq);
	memset(&e, 0, sizeof(e));
	e.flags = MINIVMM_EVENTS_QUEUED | MINIVMM_EVENTS_NMI_MASK;
	e.nmi.pending = 1;
	e.nmi.masked = 1;
	ASSERT_EQ(0, set_events(self->vcpu, &e));
	/*
	 * Blocked until an IRET: the guest halts with it pending, and the
	 * NMI it cannot take does not end the halt.
	 */
	EXPECT_EQ(-EINTR, test_vcpu_run_for(self->vcpu, 100));
	EXPECT_EQ(MINIVMM_EXIT_INTR, self->vcpu->run->exit_reason);
	get_events(self->vcpu, &e);
	EXPECT_EQ(1, e.nmi.pending);
	EXPECT_EQ(1, e.nmi.masked);
	ASSERT_EQ(0, ioctl(self->vcpu->fd, MINIVMM_INJECT_INTERRUPT, VEC_IRQ));
	test_expect_sync(self->vcpu, IRQ_SYNC);
	/* The interrupt handler's IRETQ unblocks NMIs, as on a CPU. */
	expect_nmi(self->vcpu, GUEST_CODE_ADDR + 1);
}

TEST_F(state, events_bad_arguments)
{
	struct minivmm_vcpu_events z, e, now, before;
	struct minivmm_regs regs;

	REQUIRE_VMX();
	SETUP(guest_idle, false, guest_idle_nmi, guest_idle_irq);
	get_events(self->vcpu, &before);
	memset(&z, 0, sizeof(z));
	z.flags = ALL_EVENTS;

#define BAD(field, value)						\
	do {								\
		e = z;							\
		field;							\
		EXPECT_EQ(value, set_events(self->vcpu, &e)) {		\
			TH_LOG("%s", #field);				\
		}							\
	} while (0)

	BAD(e.flags = 1 << 4, EINVAL);
	BAD(e.pad[1] = 1, EINVAL);
	BAD(e.interrupt.pad[0] = 1, EINVAL);
	BAD(e.nmi.pad = 1, EINVAL);
	BAD(e.reserved[4] = 1, EINVAL);
	BAD(e.shadow = 4, EINVAL);
	BAD(e.shadow = MINIVMM_SHADOW_STI | MINIVMM_SHADOW_MOV_SS, EINVAL);
	BAD(e.exception.injected = 2, EINVAL);
	BAD((e.exception.injected = 1, e.exception.vector = 32), EINVAL);
	BAD((e.exception.injected = 1, e.exception.vector = 2), EINVAL);
	BAD((e.exception.injected = 1, e.exception.vector = 6,
	     e.exception.type = 3), EINVAL);
	BAD((e.exception.injected = 1, e.exception.vector = 5,
	     e.exception.type = MINIVMM_EXC_SOFT, e.insn_len = 1), EINVAL);
	BAD((e.exception.injected = 1, e.exception.vector = 3,
	     e.exception.type = MINIVMM_EXC_SOFT), EINVAL);
	BAD((e.exception.injected = 1, e.exception.vector = 3,
	     e.exception.type = MINIVMM_EXC_SOFT, e.insn_len = 16), EINVAL);
	BAD((e.exception.injected = 1, e.exception.vector = 6,
	     e.insn_len = 1), EINVAL);
	/* Protected mode: #GP pushes an error code, #UD does not. */
	BAD((e.exception.injected = 1, e.exception.vector = 13), EINVAL);
	BAD((e.exception.injected = 1, e.exception.vector = 6,
	     e.exception.has_error_code = 1), EINVAL);
	BAD((e.exception.injected = 1, e.exception.vector = 6,
	     e.exception.error_code = 1), EINVAL);
	BAD(e.exception.vector = 6, EINVAL);
	BAD((e.exception.injected = 1, e.exception.vector = 6,
	     e.interrupt.injected = 1, e.interrupt.vector = VEC_IRQ,
	     e.interrupt.soft = 1, e.insn_len = 2), EINVAL);
	BAD((e.interrupt.injected = 1, e.interrupt.vector = 31), EINVAL);
	BAD(e.interrupt.vector = VEC_IRQ, EINVAL);
	BAD((e.interrupt.injected = 1, e.interrupt.vector = 3,
	     e.interrupt.soft = 1), EINVAL);
	BAD((e.interrupt.queued = 1, e.interrupt.queued_vector = 31), EINVAL);
	BAD(e.interrupt.queued_vector = VEC_IRQ, EINVAL);
	/* IF is clear: no STI shadow, no external interrupt injected. */
	BAD(e.shadow = MINIVMM_SHADOW_STI, EINVAL);
	BAD((e.interrupt.injected = 1, e.interrupt.vector = VEC_IRQ), EINVAL);
	if (have_vnmi()) {
		BAD(e.nmi.injected = 2, EINVAL);
		BAD((e.nmi.injected = 1, e.nmi.masked = 1), EINVAL);
		BAD((e.nmi.injected = 1, e.shadow = MINIVMM_SHADOW_MOV_SS),
		    EINVAL);
	} else {
		BAD(e.nmi.pending = 1, EOPNOTSUPP);
	}
	EXPECT_EQ(EFAULT, xioctl(self->vcpu, MINIVMM_SET_VCPU_EVENTS, NULL));
	EXPECT_EQ(EFAULT, xioctl(self->vcpu, MINIVMM_GET_VCPU_EVENTS, NULL));
	get_events(self->vcpu, &now);
	EXPECT_EQ(0, memcmp(&before, &now, sizeof(now)));

	/* With IF set, the STI shadow and the interrupt are accepted. */
	test_get_regs(self->vcpu, &regs);
	regs.rflags = 0x202;
	test_set_regs(self->vcpu, &regs);
	e = z;
	e.shadow = MINIVMM_SHADOW_STI;
	EXPECT_EQ(0, set_events(self->vcpu, &e));
	e = z;
	e.interrupt.injected = 1;
	e.interrupt.vector = VEC_IRQ;
	EXPECT_EQ(0, set_events(self->vcpu, &e));
#undef BAD
}

/* ---- -EBUSY during RUN ----------------------------------------------- */

GUEST_CODE(guest_spin, ".code64",
	   "movl $1, 0x608\n\t"
	   "1:\n\t"
	   "cmpl $0, 0x600\n\t"
	   "je 1b\n\t"
	   GUEST_SYNC_ASM(1)
	   "hlt\n\t");

struct busy_prober {
	struct test_vcpu *vcpu;
	volatile uint32_t *ready, *release;
	int errs[11];
};

static void *probe_busy(void *arg)
{
	struct busy_prober *p = arg;
	struct minivmm_msr_entry e = { .index = MSR_STAR };
	struct minivmm_msrs m = { .nmsrs = 1, .entries = (uintptr_t)&e };
	uint32_t idx[MINIVMM_MAX_MSRS];
	struct minivmm_msr_list l = {
		.nmsrs = MINIVMM_MAX_MSRS, .indices = (uintptr_t)idx,
	};
	struct minivmm_vcpu_events ev = { 0 };
	struct minivmm_debugregs d = { .dr6 = 0xffff0ff0, .dr7 = 0x400 };
	struct minivmm_fpu f = { .xcr0 = 1 };
	int i;

	for (i = 0; i < 2000 && !*p->ready; i++)
		usleep(10000);
	p->errs[0] = xioctl(p->vcpu, MINIVMM_GET_MSRS, &m);
	p->errs[1] = xioctl(p->vcpu, MINIVMM_SET_MSRS, &m);
	p->errs[2] = xioctl(p->vcpu, MINIVMM_GET_MSR_INDEX_LIST, &l);
	p->errs[3] = xioctl(p->vcpu, MINIVMM_GET_FPU, &f);
	p->errs[4] = xioctl(p->vcpu, MINIVMM_SET_FPU, &f);
	p->errs[5] = xioctl(p->vcpu, MINIVMM_GET_DEBUGREGS, &d);
	p->errs[6] = xioctl(p->vcpu, MINIVMM_SET_DEBUGREGS, &d);
	p->errs[7] = xioctl(p->vcpu, MINIVMM_GET_VCPU_EVENTS, &ev);
	p->errs[8] = xioctl(p->vcpu, MINIVMM_SET_VCPU_EVENTS, &ev);
	/* Still in the same RUN: the guest has not been released. */
	p->errs[9] = *p->release;
	p->errs[10] = !*p->ready;
	*p->release = 1;
	return NULL;
}

TEST_F(state, state_ioctls_ebusy_during_run)
{
	struct busy_prober p;
	pthread_t t;
	int i;

	REQUIRE_VMX();
	SETUP(guest_spin, false, NULL, NULL);
	p.vcpu = self->vcpu;
	p.ready = (volatile uint32_t *)(self->vm->mem + READY_ADDR);
	p.release = (volatile uint32_t *)(self->vm->mem + FLAG_ADDR);
	ASSERT_EQ(0, pthread_create(&t, NULL, probe_busy, &p));
	test_expect_sync(self->vcpu, 1);
	pthread_join(t, NULL);
	for (i = 0; i < 9; i++) {
		EXPECT_EQ(EBUSY, p.errs[i]) {
			TH_LOG("ioctl %d", i);
		}
	}
	EXPECT_EQ(0, p.errs[9]);
	EXPECT_EQ(0, p.errs[10]);
}

/* ---- immediate_exit ------------------------------------------------- */

#define IMM_PORT	0x71

/* An IN of one byte into AL, then the whole EAX in a ucall's RCX. */
GUEST_CODE(guest_in, ".code64",
	   "mov $0x11223300, %eax\n\t"
	   "in $0x71, %al\n\t"
	   "mov %eax, %ecx\n\t"
	   GUEST_SYNC_ASM(1)
	   "cli\n\t"
	   "hlt\n\t");

/* A 4-byte MMIO read into EAX, then EAX in a ucall's RCX. */
GUEST_CODE(guest_mmio_read, ".code64",
	   "mov $0x10000000, %rsi\n\t"
	   "mov (%rsi), %eax\n\t"
	   "mov %eax, %ecx\n\t"
	   GUEST_SYNC_ASM(1)
	   "cli\n\t"
	   "hlt\n\t");

/* RUN with immediate_exit: -EINTR and MINIVMM_EXIT_INTR, no guest entry. */
static void run_immediate(struct __test_metadata *_metadata,
			  struct test_vcpu *vcpu)
{
	uint64_t entries = vcpu->run->entries;

	vcpu->run->immediate_exit = 1;
	EXPECT_EQ(-EINTR, test_vcpu_run(vcpu));
	EXPECT_EQ(MINIVMM_EXIT_INTR, vcpu->run->exit_reason);
	EXPECT_EQ(entries, vcpu->run->entries);
	vcpu->run->immediate_exit = 0;
}

TEST_F(state, immediate_exit_completes_in_before_get_regs)
{
	struct minivmm_regs regs;
	struct minivmm_run *run;
	uint64_t rip;
	struct ucall uc;

	REQUIRE_VMX();
	SETUP(guest_in, false, NULL, NULL);
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_IO);
	ASSERT_EQ(IMM_PORT, run->io.port);
	ASSERT_EQ(MINIVMM_IO_IN, run->io.direction);
	rip = run->rip;
	run->io.data = 0x5a;
	/* Without it the answer is not in RAX yet. */
	test_get_regs(self->vcpu, &regs);
	EXPECT_EQ(0x11223300, regs.rax & 0xffffffff);

	run_immediate(_metadata, self->vcpu);
	test_get_regs(self->vcpu, &regs);
	EXPECT_EQ(0x1122335a, regs.rax & 0xffffffff);
	EXPECT_EQ(rip, regs.rip);
	/* Nothing is pending any more: a second one changes nothing. */
	run->io.data = 0xa5;
	run_immediate(_metadata, self->vcpu);
	test_get_regs(self->vcpu, &regs);
	EXPECT_EQ(0x1122335a, regs.rax & 0xffffffff);

	/* The guest goes on after the IN, which it does not repeat. */
	uc = test_expect_sync(self->vcpu, 1);
	EXPECT_EQ(0x1122335a, uc.args[1]);
	test_run_expect(self->vcpu, MINIVMM_EXIT_HLT);
}

TEST_F(state, immediate_exit_completes_mmio_read)
{
	struct minivmm_regs regs;
	struct minivmm_run *run;
	struct ucall uc;

	REQUIRE_VMX();
	SETUP(guest_mmio_read, false, NULL, NULL);
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_MMIO);
	ASSERT_EQ(MMIO_BASE, run->mmio.phys_addr);
	ASSERT_EQ(0, run->mmio.is_write);
	run->mmio.data = 0xfeedf00d;
	run_immediate(_metadata, self->vcpu);
	test_get_regs(self->vcpu, &regs);
	EXPECT_EQ(0xfeedf00d, regs.rax & 0xffffffff);
	uc = test_expect_sync(self->vcpu, 1);
	EXPECT_EQ(0xfeedf00d, uc.args[1]);
}

TEST_F(state, immediate_exit_bad_value_einval)
{
	struct minivmm_regs regs;
	struct minivmm_run *run;

	REQUIRE_VMX();
	SETUP(guest_in, false, NULL, NULL);
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_IO);
	run->io.data = 0x5a;
	run->immediate_exit = 2;
	EXPECT_EQ(-EINVAL, test_vcpu_run(self->vcpu));
	run->immediate_exit = 0xff;
	EXPECT_EQ(-EINVAL, test_vcpu_run(self->vcpu));
	/* Refused: the answer is still pending, and lands next time. */
	test_get_regs(self->vcpu, &regs);
	EXPECT_EQ(0x11223300, regs.rax & 0xffffffff);
	run_immediate(_metadata, self->vcpu);
	test_get_regs(self->vcpu, &regs);
	EXPECT_EQ(0x1122335a, regs.rax & 0xffffffff);
}

TEST(immediate_exit_and_dirty_log_in_caps)
{
	struct minivmm_caps c;

	REQUIRE_VMX();
	ASSERT_EQ(0, minivmm_caps(&c));
	EXPECT_TRUE(c.features & MINIVMM_CAP_IMMEDIATE_EXIT);
	EXPECT_TRUE(c.features & MINIVMM_CAP_DIRTY_LOG);
}

TEST_HARNESS_MAIN

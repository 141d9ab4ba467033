// SPDX-License-Identifier: GPL-2.0
/*
 * Guests run in each mode: real mode from the reset state, 32-bit
 * protected mode and 64-bit long mode set up through SET_SREGS.
 */
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "minivmm_test.h"

/* Each guest proves its mode by a computation only that mode gets right. */
GUEST_CODE(guest_real, ".code16",
	   "mov $0x1234, %ax\n\t"
	   "mov %ax, %bx\n\t"
	   "add $0x1111, %bx\n\t"
	   "mov %bx, %cx\n\t"
	   "xor %edx, %edx\n\t"
	   UCALL_ASM(1)
	   GUEST_DONE_ASM
	   "hlt\n\t");

GUEST_CODE(guest_protected, ".code32",
	   "mov $0x12345678, %ebx\n\t"
	   "mov %cr0, %ecx\n\t"
	   "push $0x2a\n\t"
	   "pop %edx\n\t"
	   UCALL_ASM(1)
	   GUEST_DONE_ASM
	   "hlt\n\t");

GUEST_CODE(guest_long, ".code64",
	   "movabs $0x123456789abcdef0, %rbx\n\t"
	   "mov %cr4, %rcx\n\t"
	   "lea 0(%rip), %rdx\n\t"
	   UCALL_ASM(1)
	   GUEST_DONE_ASM
	   "hlt\n\t");

FIXTURE(mode) {
	struct test_vm *vm;
	struct test_vcpu *vcpu;
};

FIXTURE_SETUP(mode)
{
}

FIXTURE_TEARDOWN(mode)
{
	test_vcpu_destroy(self->vcpu);
	test_vm_destroy(self->vm);
}

/* A VM in *@vm with one vCPU in *@vcpu running @code (@size bytes) in @mode. */
static void setup_guest(struct test_vm **vm, struct test_vcpu **vcpu,
			enum guest_mode mode, const unsigned char *code,
			size_t size)
{
	*vm = test_vm_create(GUEST_MEM_SIZE);
	*vcpu = test_vcpu_add(*vm, 0);
	test_vcpu_load(*vcpu, mode, code, size);
}

TEST_F(mode, real_mode_from_reset_state)
{
	struct minivmm_sregs s;
	struct minivmm_regs r;
	struct ucall uc;

	REQUIRE_VMX();
	self->vm = test_vm_create(GUEST_MEM_SIZE);
	self->vcpu = test_vcpu_add(self->vm, 0);

	/* The documented reset state: real mode at 0000:7C00. */
	test_get_sregs(self->vcpu, &s);
	test_get_regs(self->vcpu, &r);
	EXPECT_EQ(0, s.cr0 & 1);
	EXPECT_EQ(0, s.cs.selector);
	EXPECT_EQ(0, s.cs.base);
	EXPECT_EQ(0x7c00, r.rip);
	EXPECT_EQ(2, r.rflags);

	test_vm_load(self->vm, REAL_CODE, guest_real,
		     GUEST_CODE_SIZE(guest_real));
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
	EXPECT_EQ(0x2345, uc.args[0] & 0xffff);
	EXPECT_EQ(0x2345, uc.args[1] & 0xffff);
	ASSERT_EQ(UCALL_DONE, test_run_ucall(self->vcpu, &uc));
	test_run_expect(self->vcpu, MINIVMM_EXIT_HLT);
}

TEST_F(mode, protected_mode)
{
	struct ucall uc;

	REQUIRE_VMX();
	setup_guest(&self->vm, &self->vcpu, MODE_PROTECTED, guest_protected,
		    GUEST_CODE_SIZE(guest_protected));
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
	EXPECT_EQ(0x12345678, uc.args[0]);
	EXPECT_EQ(1, uc.args[1] & 1);		/* CR0.PE */
	EXPECT_EQ(0, uc.args[1] & (1U << 31));	/* CR0.PG */
	EXPECT_EQ(0x2a, uc.args[2]);
	ASSERT_EQ(UCALL_DONE, test_run_ucall(self->vcpu, &uc));
}

TEST_F(mode, long_mode)
{
	struct minivmm_sregs s;
	struct ucall uc;

	REQUIRE_VMX();
	setup_guest(&self->vm, &self->vcpu, MODE_LONG, guest_long,
		    GUEST_CODE_SIZE(guest_long));
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(self->vcpu, &uc));
	EXPECT_EQ(0x123456789abcdef0ULL, uc.args[0]);
	/* The guest reads its own CR4 (PAE) through the read shadow. */
	EXPECT_EQ(1U << 5, uc.args[1] & ((1U << 5) | (1U << 13)));
	/* RIP-relative LEA: the code runs where it was loaded. */
	EXPECT_LT(GUEST_CODE_ADDR, uc.args[2]);
	EXPECT_GT(GUEST_CODE_ADDR + 64, uc.args[2]);
	ASSERT_EQ(UCALL_DONE, test_run_ucall(self->vcpu, &uc));

	test_get_sregs(self->vcpu, &s);
	EXPECT_EQ(1U << 10, s.efer & (1U << 10));	/* EFER.LMA */
}

TEST_HARNESS_MAIN

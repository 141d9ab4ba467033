// SPDX-License-Identifier: GPL-2.0
/*
 * minivmm and KVM in the same boot: whoever holds VMX first keeps it, the
 * other is refused with -EBUSY, and each works again once the other lets
 * go.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "minivmm_test.h"

#define KVM_CREATE_VM	_IO(0xAE, 0x01)

static int kvm_open(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0 && system("modprobe kvm_intel 2>/dev/null") == 0)
		fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	return fd;
}

FIXTURE(coexist) {
	int kvm;
	int dev;
};

FIXTURE_SETUP(coexist)
{
	self->kvm = kvm_open();
	self->dev = minivmm_open();
}

FIXTURE_TEARDOWN(coexist)
{
	if (self->kvm >= 0)
		close(self->kvm);
	if (self->dev >= 0)
		close(self->dev);
}

#define REQUIRE_KVM()							\
	do {								\
		REQUIRE_VMX();						\
		if (self->kvm < 0)					\
			SKIP(return, "no /dev/kvm (kvm_intel)");	\
	} while (0)

TEST_F_TIMEOUT(coexist, kvm_vm_makes_create_vm_ebusy, 120)
{
	uint64_t on[MINIVMM_MAX_CPUS / 64];
	int kvm_vm, vm;

	REQUIRE_KVM();
	kvm_vm = ioctl(self->kvm, KVM_CREATE_VM, 0);
	ASSERT_LE(0, kvm_vm);

	EXPECT_EQ(-1, ioctl(self->dev, MINIVMM_CREATE_VM, 0));
	EXPECT_EQ(EBUSY, errno);
	/* The refusal left no CPU in VMX operation on our side. */
	EXPECT_EQ(0, minivmm_vmx_cpus(on));

	close(kvm_vm);
	vm = ioctl(self->dev, MINIVMM_CREATE_VM, 0);
	ASSERT_LE(0, vm);
	close(vm);
}

TEST_F_TIMEOUT(coexist, minivmm_vm_makes_kvm_fail, 120)
{
	int kvm_vm, vm;

	REQUIRE_KVM();
	vm = ioctl(self->dev, MINIVMM_CREATE_VM, 0);
	ASSERT_LE(0, vm);

	kvm_vm = ioctl(self->kvm, KVM_CREATE_VM, 0);
	EXPECT_EQ(-1, kvm_vm);
	EXPECT_EQ(EBUSY, errno);
	if (kvm_vm >= 0)
		close(kvm_vm);

	close(vm);
	/* The host is healthy: KVM gets VMX now. */
	kvm_vm = ioctl(self->kvm, KVM_CREATE_VM, 0);
	ASSERT_LE(0, kvm_vm);
	close(kvm_vm);
}

TEST_HARNESS_MAIN

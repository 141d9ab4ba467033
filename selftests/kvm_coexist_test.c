// SPDX-License-Identifier: GPL-2.0
/*
 * minivmm and KVM in the same boot: whoever holds VMX first keeps it, the
 * other is refused (minivmm with -EBUSY, KVM with its own errno), and each
 * works again once the other lets go.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/utsname.h>

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

/*
 * KVM_CREATE_VM's errno when KVM cannot turn VMX on: -EBUSY from 6.1's
 * hardware_enable_all(); since 6.12 KVM enables VMX through a CPU hotplug
 * state whose callback fails with -EIO.
 */
static int kvm_refusal_errno(void)
{
	unsigned int major = 0, minor = 0;
	struct utsname u;

	if (uname(&u) == 0)
		sscanf(u.release, "%u.%u", &major, &minor);
	return major > 6 || (major == 6 && minor >= 12) ? EIO : EBUSY;
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
	int kvm_vm, vm, err;

	REQUIRE_KVM();
	vm = ioctl(self->dev, MINIVMM_CREATE_VM, 0);
	ASSERT_LE(0, vm);

	kvm_vm = ioctl(self->kvm, KVM_CREATE_VM, 0);
	err = errno;
	EXPECT_EQ(-1, kvm_vm);
	EXPECT_EQ(kvm_refusal_errno(), err);
	if (kvm_vm >= 0)
		close(kvm_vm);

	close(vm);
	/* The host is healthy: KVM gets VMX now. */
	kvm_vm = ioctl(self->kvm, KVM_CREATE_VM, 0);
	ASSERT_LE(0, kvm_vm);
	close(kvm_vm);
}

TEST_HARNESS_MAIN

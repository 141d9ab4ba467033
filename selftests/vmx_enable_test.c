// SPDX-License-Identifier: GPL-2.0
/*
 * VMX operation follows the VMs: on every online CPU while one exists,
 * on none once the last is gone, however the last reference goes.
 */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "minivmm_test.h"

static int create_vm(void)
{
	int dev = minivmm_open(), vm;

	if (dev < 0)
		return -1;
	vm = ioctl(dev, MINIVMM_CREATE_VM, 0);
	close(dev);
	return vm;
}

static void expect_all_online(struct __test_metadata *_metadata)
{
	uint64_t on[MINIVMM_MAX_CPUS / 64], online[MINIVMM_MAX_CPUS / 64];
	unsigned int n = online_cpus(online);

	EXPECT_EQ(n, minivmm_vmx_cpus(on));
	EXPECT_EQ(0, memcmp(on, online, sizeof(on)));
}

static unsigned int nr_vms(void)
{
	struct minivmm_caps caps;

	return minivmm_caps(&caps) ? ~0U : caps.nr_vms;
}

TEST(no_vm_no_vmx)
{
	uint64_t on[MINIVMM_MAX_CPUS / 64];

	REQUIRE_VMX();
	EXPECT_EQ(0, minivmm_vmx_cpus(on));
	EXPECT_EQ(0, on[0]);
	EXPECT_EQ(0, nr_vms());
}

TEST(vm_turns_vmx_on_everywhere_and_off)
{
	uint64_t on[MINIVMM_MAX_CPUS / 64];
	int vm;

	REQUIRE_VMX();
	vm = create_vm();
	ASSERT_LE(0, vm);
	expect_all_online(_metadata);
	EXPECT_EQ(1, nr_vms());
	close(vm);
	EXPECT_EQ(0, minivmm_vmx_cpus(on));
	EXPECT_EQ(0, nr_vms());
}

TEST(vms_share_one_enablement)
{
	uint64_t on[MINIVMM_MAX_CPUS / 64];
	int vm[3], i;

	REQUIRE_VMX();
	for (i = 0; i < 3; i++) {
		vm[i] = create_vm();
		ASSERT_LE(0, vm[i]);
	}
	EXPECT_EQ(3, nr_vms());
	expect_all_online(_metadata);
	close(vm[1]);
	expect_all_online(_metadata);
	close(vm[0]);
	expect_all_online(_metadata);
	EXPECT_EQ(1, nr_vms());
	close(vm[2]);
	EXPECT_EQ(0, minivmm_vmx_cpus(on));
}

TEST(dup_fd_keeps_vm)
{
	uint64_t on[MINIVMM_MAX_CPUS / 64];
	int vm, copy;

	REQUIRE_VMX();
	vm = create_vm();
	ASSERT_LE(0, vm);
	copy = dup(vm);
	ASSERT_LE(0, copy);
	close(vm);
	EXPECT_EQ(1, nr_vms());
	expect_all_online(_metadata);
	close(copy);
	EXPECT_EQ(0, minivmm_vmx_cpus(on));
}

TEST(exit_without_close_releases)
{
	uint64_t on[MINIVMM_MAX_CPUS / 64];
	int status;
	pid_t pid;

	REQUIRE_VMX();
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(create_vm() < 0 ? 1 : 0);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, nr_vms());
	EXPECT_EQ(0, minivmm_vmx_cpus(on));
}

TEST(create_and_close_many)
{
	uint64_t on[MINIVMM_MAX_CPUS / 64];
	int i, vm;

	REQUIRE_VMX();
	for (i = 0; i < 50; i++) {
		vm = create_vm();
		ASSERT_LE(0, vm);
		close(vm);
	}
	EXPECT_EQ(0, minivmm_vmx_cpus(on));
}

TEST_HARNESS_MAIN

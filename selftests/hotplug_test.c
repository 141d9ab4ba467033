// SPDX-License-Identifier: GPL-2.0
/*
 * CPU hotplug while VMX is held: a CPU that goes offline leaves VMX
 * operation, one that comes back enters it again, and with no VM a CPU
 * coming online stays out of it.
 */
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "minivmm_test.h"

/* The highest online CPU other than 0, which Linux may not offline. */
static int pick_cpu(void)
{
	uint64_t online[MINIVMM_MAX_CPUS / 64];
	int cpu;

	online_cpus(online);
	for (cpu = MINIVMM_MAX_CPUS - 1; cpu > 0; cpu--)
		if (online[cpu / 64] & (1ULL << (cpu % 64)))
			return cpu;
	return -1;
}

static bool vmx_on(int cpu)
{
	uint64_t on[MINIVMM_MAX_CPUS / 64];

	minivmm_vmx_cpus(on);
	return on[cpu / 64] & (1ULL << (cpu % 64));
}

FIXTURE(hotplug) {
	int cpu;
	int vm;
};

FIXTURE_SETUP(hotplug)
{
	self->vm = -1;
	self->cpu = pick_cpu();
}

FIXTURE_TEARDOWN(hotplug)
{
	if (self->cpu > 0)
		set_cpu_online(self->cpu, true);
	if (self->vm >= 0)
		close(self->vm);
}

#define REQUIRE_HOTPLUG()						\
	do {								\
		char p[64];						\
		REQUIRE_VMX();						\
		if (self->cpu <= 0)					\
			SKIP(return, "needs 2 CPUs");			\
		snprintf(p, sizeof(p),					\
			 "/sys/devices/system/cpu/cpu%d/online",	\
			 self->cpu);					\
		if (access(p, W_OK))					\
			SKIP(return, "CPU %d cannot go offline",	\
			     self->cpu);				\
	} while (0)

static int create_vm(void)
{
	int dev = minivmm_open(), vm;

	vm = ioctl(dev, MINIVMM_CREATE_VM, 0);
	close(dev);
	return vm;
}

TEST_F_TIMEOUT(hotplug, vmx_follows_cpu_offline_online, 120)
{
	uint64_t on[MINIVMM_MAX_CPUS / 64];
	unsigned int n;

	REQUIRE_HOTPLUG();
	self->vm = create_vm();
	ASSERT_LE(0, self->vm);
	n = minivmm_vmx_cpus(on);
	ASSERT_TRUE(vmx_on(self->cpu));

	ASSERT_EQ(0, set_cpu_online(self->cpu, false));
	EXPECT_FALSE(vmx_on(self->cpu));
	EXPECT_EQ(n - 1, minivmm_vmx_cpus(on));
	EXPECT_TRUE(vmx_on(0));

	ASSERT_EQ(0, set_cpu_online(self->cpu, true));
	EXPECT_TRUE(vmx_on(self->cpu));
	EXPECT_EQ(n, minivmm_vmx_cpus(on));

	close(self->vm);
	self->vm = -1;
	EXPECT_EQ(0, minivmm_vmx_cpus(on));
}

TEST_F_TIMEOUT(hotplug, cpu_online_without_vm_stays_off, 120)
{
	uint64_t on[MINIVMM_MAX_CPUS / 64];

	REQUIRE_HOTPLUG();
	ASSERT_EQ(0, set_cpu_online(self->cpu, false));
	ASSERT_EQ(0, set_cpu_online(self->cpu, true));
	EXPECT_EQ(0, minivmm_vmx_cpus(on));

	/* A VM created after the CPU came back covers it too. */
	self->vm = create_vm();
	ASSERT_LE(0, self->vm);
	EXPECT_TRUE(vmx_on(self->cpu));
}

TEST_F_TIMEOUT(hotplug, vm_created_while_cpu_offline, 120)
{
	REQUIRE_HOTPLUG();
	ASSERT_EQ(0, set_cpu_online(self->cpu, false));
	self->vm = create_vm();
	ASSERT_LE(0, self->vm);
	EXPECT_FALSE(vmx_on(self->cpu));
	ASSERT_EQ(0, set_cpu_online(self->cpu, true));
	EXPECT_TRUE(vmx_on(self->cpu));
}

TEST_HARNESS_MAIN

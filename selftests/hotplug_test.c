// SPDX-License-Identifier: GPL-2.0
/*
 * CPU hotplug while VMX is held: a CPU that goes offline leaves VMX
 * operation, one that comes back enters it again, and with no VM a CPU
 * coming online stays out of it.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "minivmm_test.h"

/*
 * Counts in RBX forever and reports every 64K iterations; the test checks
 * each report, so a vCPU whose state was lost or mixed up when its CPU
 * went away shows up as a wrong count.
 */
#define SYNC_EVERY	0x10000

GUEST_CODE(guest_count, ".code64",
	   "xor %ebx, %ebx\n\t"
	   "1: inc %rbx\n\t"
	   "test $0xffff, %ebx\n\t"
	   "jnz 1b\n\t"
	   UCALL_ASM(1)
	   "jmp 1b\n\t");

struct counter {
	struct test_vcpu *vcpu;
	volatile uint64_t syncs;
	volatile bool stop;
};

static void *count_in_guest(void *arg)
{
	struct counter *c = arg;
	struct ucall uc;

	while (!c->stop) {
		TEST_REQUIRE(test_run_ucall(c->vcpu, &uc) == UCALL_SYNC,
			     "ucall %llu", (unsigned long long)uc.nr);
		TEST_REQUIRE(uc.args[0] == (c->syncs + 1) * SYNC_EVERY,
			     "count %#llx after %llu reports",
			     (unsigned long long)uc.args[0],
			     (unsigned long long)c->syncs);
		c->syncs++;
	}
	return NULL;
}

/* Wait until the guest has reported @n times in all. */
static bool wait_syncs(struct counter *c, uint64_t n)
{
	int ms;

	for (ms = 0; ms < 60000 && c->syncs < n; ms++)
		usleep(1000);
	return c->syncs >= n;
}

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

TEST_F_TIMEOUT(hotplug, guest_runs_on_while_cpus_come_and_go, 300)
{
	struct counter c = { 0 };
	struct test_vm *vm;
	pthread_t thread;
	uint64_t before;
	int i;

	REQUIRE_HOTPLUG();
	vm = test_vm_create(GUEST_MEM_SIZE);
	c.vcpu = test_vcpu_add(vm, 0);
	test_vcpu_load(c.vcpu, MODE_LONG, guest_count,
		       GUEST_CODE_SIZE(guest_count));
	ASSERT_EQ(0, pthread_create(&thread, NULL, count_in_guest, &c));
	ASSERT_TRUE(wait_syncs(&c, 1));

	/* The guest keeps running, and counting right, through all this. */
	for (i = 0; i < 5; i++) {
		before = c.syncs;
		ASSERT_EQ(0, set_cpu_online(self->cpu, false));
		EXPECT_FALSE(vmx_on(self->cpu));
		ASSERT_TRUE(wait_syncs(&c, before + 1));
		ASSERT_EQ(0, set_cpu_online(self->cpu, true));
		EXPECT_TRUE(vmx_on(self->cpu));
		ASSERT_TRUE(wait_syncs(&c, before + 2));
	}
	c.stop = true;
	ASSERT_EQ(0, pthread_join(thread, NULL));
	TH_LOG("%llu reports", (unsigned long long)c.syncs);
	test_vcpu_destroy(c.vcpu);
	test_vm_destroy(vm);
}

TEST_HARNESS_MAIN

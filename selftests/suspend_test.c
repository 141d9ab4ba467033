// SPDX-License-Identifier: GPL-2.0
/*
 * Suspend to RAM with VMs open. The machine comes back from S3 with its
 * CPUs reset, outside VMX operation: the module leaves VMX operation
 * before and enters it again after, so every online CPU is in VMX
 * operation again and a guest stopped before the suspend runs on.
 * Without VMs, no CPU is in VMX operation after a resume either. A
 * guest's TSC never goes back across the suspend, wherever its vCPU's
 * thread runs after it, and a guest's two vCPUs on the two host CPUs
 * read one TSC after it.
 *
 * Runs where /sys/power/state offers "mem" (the emulated machine's
 * firmware resumes at once); an RTC alarm wakes machines that sleep.
 * Bochs keeps the CPUs in VMX operation across its S3, so the kernel log
 * lines of the module's suspend and resume hooks show that they ran.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "minivmm_test.h"
#include "guest.h"

#define WAKE_AFTER_S	2

/* Real mode: stage 1 before the suspend, stage 2 after it. */
GUEST_CODE(guest_two_stages, ".code16",
	   "mov $0x1234, %si\n\t"
	   GUEST_SYNC_ASM(1)
	   GUEST_SYNC_ASM(2)
	   "cmp $0x1234, %si\n\t"
	   "jne 1f\n\t"
	   GUEST_DONE_ASM
	   "1:\n\t"
	   "hlt");

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		ret = -errno;
	close(fd);
	return ret;
}

static bool can_suspend_to_ram(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/power/state", "r");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strstr(buf, "mem");
}

/* Suspend to RAM and come back: 0, or -errno. */
static int suspend_to_ram(void)
{
	char alarm[32];

	/* Firmware that really sleeps needs something to wake it. */
	snprintf(alarm, sizeof(alarm), "+%d", WAKE_AFTER_S);
	write_file("/sys/class/rtc/rtc0/wakealarm", "0");
	write_file("/sys/class/rtc/rtc0/wakealarm", alarm);
	return write_file("/sys/power/state", "mem");
}

#define REQUIRE_SUSPEND()						\
	do {								\
		REQUIRE_VMX();						\
		if (geteuid())						\
			SKIP(return, "needs root to suspend");		\
		if (!can_suspend_to_ram())				\
			SKIP(return, "no suspend to RAM here");		\
		if (write_file("/sys/power/pm_test", "none") &&		\
		    !access("/sys/power/pm_test", F_OK))		\
			SKIP(return, "cannot clear pm_test");		\
	} while (0)

TEST(guest_runs_on_after_suspend_to_ram)
{
	uint64_t online[MINIVMM_MAX_CPUS / 64], vmx[MINIVMM_MAX_CPUS / 64];
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	unsigned int n;

	REQUIRE_SUSPEND();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_vcpu_load(vcpu, MODE_REAL, guest_two_stages,
		       GUEST_CODE_SIZE(guest_two_stages));
	test_expect_sync(vcpu, 1);

	kmsg_write("suspend_test: suspend with a VM\n");
	ASSERT_EQ(0, suspend_to_ram());

	/*
	 * The emulated machine keeps VMX operation across S3, which real
	 * CPUs do not: the hooks' own lines show they left and re-entered
	 * it, and the guest shows that this worked.
	 */
	EXPECT_TRUE(kmsg_has_after("suspend_test: suspend with a VM",
				   "minivmm: suspend: leaving VMX operation"));
	EXPECT_TRUE(kmsg_has_after("suspend_test: suspend with a VM",
				   "minivmm: resume: back in VMX operation"));
	n = online_cpus(online);
	EXPECT_EQ(n, minivmm_vmx_cpus(vmx));
	EXPECT_EQ(0, memcmp(online, vmx, sizeof(vmx)));
	test_expect_sync(vcpu, 2);
	test_expect_done(vcpu);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(no_vmx_after_suspend_without_vms)
{
	uint64_t vmx[MINIVMM_MAX_CPUS / 64];
	struct test_vm *vm;

	REQUIRE_SUSPEND();
	/* VMX came and went: nothing is left to turn on at resume. */
	vm = test_vm_create(GUEST_MEM_SIZE);
	test_vm_destroy(vm);
	ASSERT_EQ(0, suspend_to_ram());
	EXPECT_EQ(0, minivmm_vmx_cpus(vmx));
}

/*
 * The 2-CPU machine resumes with its CPUs' TSCs apart (and the kernel,
 * told tsc=reliable, does not notice). A guest that read its TSC before
 * the suspend reads it on, its vCPU's thread moved from CPU to CPU:
 * never lower than before.
 */
TEST(guest_tsc_never_goes_back_across_suspend_and_cpu_moves)
{
	uint64_t back, max_back;
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	int64_t lo, hi;

	REQUIRE_SUSPEND();
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs 2 online CPUs");
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_tsc_watch_load(vcpu);
	test_tsc_watch(vcpu, 2, &max_back);
	ASSERT_EQ(0, suspend_to_ram());
	ASSERT_TRUE(host_tsc_gap(&lo, &hi));
	TH_LOG("host TSCs after resume: CPU 1 - CPU 0 in [%lld, %lld]: %s",
	       (long long)lo, (long long)hi,
	       host_tsc_gap_agrees(lo, hi) ? "agree" : "apart");
	back = test_tsc_watch(vcpu, 8, &max_back);
	EXPECT_EQ(0, back) {
		TH_LOG("%llu reads went back, by up to %llu cycles",
		       (unsigned long long)back,
		       (unsigned long long)max_back);
	}
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

/*
 * And after a resume with the host CPUs' TSCs apart, a VM's two vCPUs,
 * their threads on CPU 0 and 1 from their first entry, read their TSCs
 * in turns: none lower than the other's read before it (the module
 * measured CPU 1's TSC against CPU 0's as CPU 1 came back online).
 */
TEST(two_vcpus_read_one_tsc_after_suspend)
{
	uint64_t back, max_back;
	int64_t lo, hi;

	REQUIRE_SUSPEND();
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs 2 online CPUs");
	ASSERT_EQ(0, suspend_to_ram());
	ASSERT_TRUE(host_tsc_gap(&lo, &hi));
	TH_LOG("host TSCs after resume: CPU 1 - CPU 0 in [%lld, %lld]: %s",
	       (long long)lo, (long long)hi,
	       host_tsc_gap_agrees(lo, hi) ? "agree" : "apart");
	back = test_tsc_turns(&max_back);
	EXPECT_EQ(0, back) {
		TH_LOG("%llu of %d reads lower than the other vCPU's, by up to %llu cycles",
		       (unsigned long long)back, TSC_TURNS,
		       (unsigned long long)max_back);
	}
}

TEST_HARNESS_MAIN

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The minivmm selftest library: device access, capability checks and
 * small helpers shared by the tests. Tests use kselftest_harness.h; a
 * test that needs something the machine lacks reports SKIP.
 */
#ifndef MINIVMM_TEST_H
#define MINIVMM_TEST_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include <linux/minivmm.h>

#define MINIVMM_DEV	"/dev/minivmm"

/* Open /dev/minivmm; -1 with errno when it is absent. */
int minivmm_open(void);

/* MINIVMM_GET_CAPS on a fresh fd; 0, or -errno. */
int minivmm_caps(struct minivmm_caps *caps);

/* The VMX usage the caps ioctl reports now: CPUs in VMX operation. */
unsigned int minivmm_vmx_cpus(uint64_t mask[MINIVMM_MAX_CPUS / 64]);

/* Online CPUs as a bitmap; returns their count. */
unsigned int online_cpus(uint64_t mask[MINIVMM_MAX_CPUS / 64]);

/* Write "0" or "1" to /sys/devices/system/cpu/cpuN/online; 0 or -errno. */
int set_cpu_online(int cpu, bool online);

/* True when the named flag is in /proc/cpuinfo's "vmx flags" line. */
bool cpuinfo_has_vmx_flag(const char *flag);

/* True when /proc/cpuinfo's "flags" line has the named flag. */
bool cpuinfo_has_flag(const char *flag);

/*
 * The rounds a stress test makes: @rounds, divided by the environment's
 * MINIVMM_STRESS_DIVISOR (set on slow debug kernels), at least 1. Says so
 * on stdout when it divides.
 */
unsigned int stress_rounds(unsigned int rounds);

/*
 * How many times longer than on Debian's kernels a wall-clock wait may
 * take: the environment's MINIVMM_TIMEOUT_SCALE (set on slow debug
 * kernels), at least 1.
 */
int timeout_scale(void);

/*
 * CPU 1's TSC minus CPU 0's is in [*lo, *hi] (read on 0, 1, then 0
 * again); false when the caller cannot run on both.
 */
bool host_tsc_gap(int64_t *lo, int64_t *hi);

/* Whether a gap from host_tsc_gap() allows the two TSCs to agree. */
static inline bool host_tsc_gap_agrees(int64_t lo, int64_t hi)
{
	return lo <= 0 && hi >= 0;
}

/* How many tasks are named "minivmm/..." (vCPU threads) now, or -1. */
int count_vcpu_threads(void);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t monotonic_ns(void);

/*
 * A memory slot whose pinning takes a while: @size bytes of fresh
 * anonymous memory that the pinning itself faults in, so other calls can
 * be made while it is under way. Fill in vm_fd, slot, gpa and size.
 * Pinning holds the mmap lock for reading: meanwhile the process must not
 * mmap() or munmap() (nor malloc() anew), which would wait for it.
 */
struct slow_pin {
	int vm_fd;
	uint32_t slot;
	uint64_t gpa;
	size_t size;
	void *mem;
	pthread_t thread;
	int ret;			/* 0 or -errno, once done */
	volatile uint64_t done_ns;	/* when the ioctl returned, or 0 */
};

/*
 * Start MINIVMM_SET_MEMORY_REGION on a thread and return once the pinning
 * is seen under way (the process's resident memory grew by an eighth of
 * the slot): true, or false when the ioctl ended first.
 */
bool slow_pin_start(struct slow_pin *p);

/* Wait for the ioctl, unmap the memory (not the slot); its result. */
int slow_pin_join(struct slow_pin *p);
/* An ordinary user of the emulated machine, with no capabilities. */
#define TEST_UID	1000

/*
 * Become @uid: real, effective and saved uid and gid, no supplementary
 * groups, no capabilities. 0, or -1 with errno. Needs root.
 */
int become_user(uid_t uid);

/*
 * Run @fn(@arg) in a child process that has become @uid (real, effective
 * and saved uid and gid, no supplementary groups, no capabilities) and
 * return what it returned (its exit status, 0-255), or -1 when the child
 * could not switch users or died of a signal. Needs root.
 */
int run_as_user(uid_t uid, int (*fn)(void *arg), void *arg);

/* Write @text (a line, with its newline) to the kernel log. Needs root. */
void kmsg_write(const char *text);

/*
 * Whether the kernel log has, after a record holding @marker, a record
 * holding @needle. Needs root.
 */
bool kmsg_has_after(const char *marker, const char *needle);

/* MINIVMM_GET_CAPS's live counts: VMs, vCPUs and pinned pages now. */
struct live_counts {
	unsigned int vms, vcpus;
	unsigned long long pinned_pages;
};

/* The live counts now; 0, or -errno. */
int live_counts(struct live_counts *c);

/*
 * Wait up to @ms milliseconds for the live counts to equal @want; true
 * when they did (*@now holds the last ones read).
 */
bool live_counts_reach(const struct live_counts *want, struct live_counts *now,
		       unsigned int ms);

/*
 * Exits completed through the run page (MINIVMM_CAP_RUN_HANDOFF). Turn it
 * on for a vCPU before its first MINIVMM_RUN with handoff_enable(); then
 * each call of handoff_next() hands back the exit just answered in @run
 * (an IN's data, an MMIO read's value...) and returns with the next exit
 * there: through the page when the vCPU thread is still polling, else
 * through MINIVMM_RUN. It looks at the word @spins times at most,
 * calling sched_yield() between looks when @yield (one CPU), before it
 * waits in MINIVMM_RUN. 0, or MINIVMM_RUN's -errno; *@by_page (may be
 * NULL) says whether no ioctl was made.
 */
void handoff_enable(struct minivmm_run *run);
int handoff_next(int vcpu_fd, struct minivmm_run *run, unsigned long spins,
		 bool yield, bool *by_page);

/*
 * Skip the calling test unless the module can run VMs here. Use inside a
 * TEST()/TEST_F() body.
 */
#define REQUIRE_VMX()							\
	do {								\
		struct minivmm_caps __c;				\
		if (minivmm_caps(&__c))					\
			SKIP(return, "no " MINIVMM_DEV);		\
		if (!(__c.features & MINIVMM_CAP_EPT))			\
			SKIP(return, "no usable VMX on this machine");	\
	} while (0)

#endif /* MINIVMM_TEST_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * What an ordinary user (uid 1000, no capabilities) may take from the
 * host through /dev/minivmm: pinned guest memory within RLIMIT_MEMLOCK
 * (-ENOMEM beyond), vCPU threads within RLIMIT_NPROC and
 * max_vcpus_per_user, VMs within max_vms_per_user (-EAGAIN beyond), and
 * that everything charged is given back.
 *
 * Each check runs in a child that has become the user; its exit status
 * says which step failed (0: all passed), and it explains on stderr.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "minivmm_test.h"
#include "guest.h"

#define PARAM_DIR	"/sys/module/minivmm/parameters/"
#define MEMLOCK_LIMIT	(64 << 10)

/* A step of a child failed: say which and why, and give its number. */
#define FAIL_STEP(n, fmt, ...)						\
	do {								\
		int __step = (n);					\
		fprintf(stderr, "# step %d: " fmt "\n", __step,	\
			##__VA_ARGS__);					\
		return __step;						\
	} while (0)

/* VmPin of /proc/self/status in KiB, or -1. */
static long vm_pin_kib(void)
{
	char line[128];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int set_region(int vm, uint32_t slot, uint64_t gpa, void *mem,
		      uint64_t size)
{
	struct minivmm_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.size = size,
		.userspace_addr = (uintptr_t)mem,
	};

	return ioctl(vm, MINIVMM_SET_MEMORY_REGION, &r) ? -errno : 0;
}

/* A new VM fd, or -errno. */
static int new_vm(void)
{
	int dev = minivmm_open(), vm;

	if (dev < 0)
		return -errno;
	vm = ioctl(dev, MINIVMM_CREATE_VM, 0);
	if (vm < 0)
		vm = -errno;
	close(dev);
	return vm;
}

static int set_limit(int resource, rlim_t cur, rlim_t max)
{
	struct rlimit rl = { .rlim_cur = cur, .rlim_max = max };

	return setrlimit(resource, &rl) ? -errno : 0;
}

/* Write a module parameter; 0 or -errno. */
static int set_param(const char *name, unsigned int val)
{
	char path[128], buf[16];
	int fd, n, ret = 0;

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%u", val);
	if (write(fd, buf, n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

static unsigned int get_param(const char *name)
{
	char path[128];
	unsigned int val = 0;
	FILE *f;

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%u", &val) != 1)
			val = 0;
		fclose(f);
	}
	return val;
}

static int memlock_child(void *arg)
{
	size_t big = 1 << 20;
	void *mem;
	int vm, ret;

	if (set_limit(RLIMIT_MEMLOCK, MEMLOCK_LIMIT, MEMLOCK_LIMIT))
		FAIL_STEP(1, "setrlimit: %s", strerror(errno));
	vm = new_vm();
	if (vm < 0)
		FAIL_STEP(2, "CREATE_VM as uid %d: %s", TEST_UID, strerror(-vm));
	mem = mmap(NULL, big, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED)
		FAIL_STEP(3, "mmap: %s", strerror(errno));

	ret = set_region(vm, 0, 0, mem, big);
	if (ret != -ENOMEM)
		FAIL_STEP(4, "1 MiB past a 64 KiB RLIMIT_MEMLOCK: %s, wanted ENOMEM",
			  strerror(-ret));
	if (vm_pin_kib() != 0)
		FAIL_STEP(5, "VmPin %ld kB after a refused slot", vm_pin_kib());
	/* Up to the limit is fine, one page more is not. */
	ret = set_region(vm, 0, 0, mem, MEMLOCK_LIMIT);
	if (ret)
		FAIL_STEP(6, "64 KiB within the limit: %s", strerror(-ret));
	ret = set_region(vm, 1, MEMLOCK_LIMIT, (char *)mem + MEMLOCK_LIMIT,
			 4096);
	if (ret != -ENOMEM)
		FAIL_STEP(7, "one page past the limit: %s, wanted ENOMEM",
			  strerror(-ret));
	return 0;
}

static int pin_charge_child(void *arg)
{
	const struct live_counts *base = arg;
	struct live_counts now;
	size_t size = 256 << 10;
	void *mem;
	int vm, ret;

	vm = new_vm();
	if (vm < 0)
		FAIL_STEP(1, "CREATE_VM: %s", strerror(-vm));
	mem = mmap(NULL, 2 * size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		FAIL_STEP(2, "mmap: %s", strerror(errno));
	ret = set_region(vm, 0, 0, mem, size);
	if (!ret)
		ret = set_region(vm, 1, size, (char *)mem + size, size);
	if (ret)
		FAIL_STEP(3, "SET_MEMORY_REGION: %s", strerror(-ret));
	if (vm_pin_kib() != 2 * (long)size >> 10)
		FAIL_STEP(4, "VmPin %ld kB, wanted %zu", vm_pin_kib(),
			  2 * size >> 10);
	if (live_counts(&now) ||
	    now.pinned_pages != base->pinned_pages + 2 * size / 4096)
		FAIL_STEP(5, "caps: %llu pages pinned, wanted %llu",
			  now.pinned_pages,
			  base->pinned_pages + 2 * size / 4096);

	/* Unmapping does not unpin: the pages stay charged. */
	munmap(mem, 2 * size);
	if (vm_pin_kib() != 2 * (long)size >> 10)
		FAIL_STEP(6, "VmPin %ld kB after munmap", vm_pin_kib());
	ret = set_region(vm, 0, 0, NULL, 0);
	if (ret)
		FAIL_STEP(7, "deleting slot 0: %s", strerror(-ret));
	if (vm_pin_kib() != (long)size >> 10)
		FAIL_STEP(8, "VmPin %ld kB after deleting a slot", vm_pin_kib());
	close(vm);
	if (vm_pin_kib() != 0)
		FAIL_STEP(9, "VmPin %ld kB after closing the VM", vm_pin_kib());
	if (!live_counts_reach(base, &now, 2000))
		FAIL_STEP(10, "caps: %llu pages pinned after the VM, wanted %llu",
			  now.pinned_pages, base->pinned_pages);
	return 0;
}

/* RLIMIT_NPROC 4 (hard 64): a process of uid 1000 and its vCPU threads. */
static int nproc_child(void *arg)
{
	int vm, fd, i, created = 0;

	if (set_limit(RLIMIT_NPROC, 4, 64))
		FAIL_STEP(1, "setrlimit: %s", strerror(errno));
	vm = new_vm();
	if (vm < 0)
		FAIL_STEP(2, "CREATE_VM: %s", strerror(-vm));
	for (i = 0; i < MINIVMM_MAX_CPUS / 16; i++) {
		fd = ioctl(vm, MINIVMM_CREATE_VCPU, i);
		if (fd < 0)
			break;
		created++;
	}
	/* This process counts too: at most 3 vCPU threads fit in 4. */
	if (fd >= 0 || created > 3)
		FAIL_STEP(3, "%d vCPU threads under RLIMIT_NPROC 4", created);
	if (errno != EAGAIN)
		FAIL_STEP(4, "vCPU %d: %s, wanted EAGAIN", created,
			  strerror(errno));
	if (!created)
		FAIL_STEP(5, "not even one vCPU thread under RLIMIT_NPROC 4");
	/* The limit, not something else, said no. */
	if (set_limit(RLIMIT_NPROC, 64, 64))
		FAIL_STEP(6, "raising RLIMIT_NPROC: %s", strerror(errno));
	fd = ioctl(vm, MINIVMM_CREATE_VCPU, created);
	if (fd < 0)
		FAIL_STEP(7, "vCPU %d under RLIMIT_NPROC 64: %s", created,
			  strerror(errno));
	return 0;
}

/* max_vcpus_per_user is 3: 2 vCPUs in one VM, 1 in another, then no more. */
static int vcpus_per_user_child(void *arg)
{
	int a, b, a0, fd;

	a = new_vm();
	b = new_vm();
	if (a < 0 || b < 0)
		FAIL_STEP(1, "CREATE_VM: %s", strerror(-(a < 0 ? a : b)));
	a0 = ioctl(a, MINIVMM_CREATE_VCPU, 0);
	if (a0 < 0 || ioctl(a, MINIVMM_CREATE_VCPU, 1) < 0 ||
	    ioctl(b, MINIVMM_CREATE_VCPU, 0) < 0)
		FAIL_STEP(2, "3 vCPUs under max_vcpus_per_user 3: %s",
			  strerror(errno));
	fd = ioctl(b, MINIVMM_CREATE_VCPU, 1);
	if (fd >= 0 || errno != EAGAIN)
		FAIL_STEP(3, "a 4th vCPU: %s, wanted EAGAIN",
			  fd >= 0 ? "created" : strerror(errno));
	/* A vCPU that goes gives its place back. */
	close(a0);
	if (ioctl(b, MINIVMM_CREATE_VCPU, 1) < 0)
		FAIL_STEP(4, "a vCPU after closing one: %s", strerror(errno));
	return 0;
}

/* max_vms_per_user is 2. */
static int vms_per_user_child(void *arg)
{
	int a, b, c;

	a = new_vm();
	b = new_vm();
	if (a < 0 || b < 0)
		FAIL_STEP(1, "2 VMs under max_vms_per_user 2: %s",
			  strerror(-(a < 0 ? a : b)));
	c = new_vm();
	if (c != -EAGAIN)
		FAIL_STEP(2, "a 3rd VM: %s, wanted EAGAIN",
			  c >= 0 ? "created" : strerror(-c));
	close(a);
	c = new_vm();
	if (c < 0)
		FAIL_STEP(3, "a VM after closing one: %s", strerror(-c));
	return 0;
}

/*
 * Takes the two VMs max_vms_per_user allows, says so on pipe @arg[1] and
 * holds them until @arg[0] reaches its end.
 */
static int hold_vms_child(void *arg)
{
	int *pipefd = arg, a, b;
	char c;

	a = new_vm();
	b = new_vm();
	if (a < 0 || b < 0)
		FAIL_STEP(1, "2 VMs: %s", strerror(-(a < 0 ? a : b)));
	if (new_vm() != -EAGAIN)
		FAIL_STEP(2, "a 3rd VM was not refused");
	if (write(pipefd[1], "r", 1) != 1)
		FAIL_STEP(3, "pipe: %s", strerror(errno));
	close(pipefd[1]);
	while (read(pipefd[0], &c, 1) > 0)
		;
	return 0;
}

/* Long mode: 100 CPUID exits, then report. */
GUEST_CODE(guest_count, ".code64",
	   "mov $100, %esi\n"
	   "1:\n\t"
	   "xor %eax, %eax\n\t"
	   "cpuid\n\t"
	   "dec %esi\n\t"
	   "jnz 1b\n\t"
	   GUEST_SYNC_ASM(7)
	   GUEST_DONE_ASM);

static int guest_child(void *arg)
{
	struct test_vcpu *vcpu;
	struct test_vm *vm;

	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_vcpu_load(vcpu, MODE_LONG, guest_count,
		       GUEST_CODE_SIZE(guest_count));
	test_expect_sync(vcpu, 7);
	test_expect_done(vcpu);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
	return 0;
}

FIXTURE(limits) {
	struct live_counts base;
	unsigned int max_vms, max_vcpus;
};

FIXTURE_SETUP(limits)
{
	self->max_vms = get_param("max_vms_per_user");
	self->max_vcpus = get_param("max_vcpus_per_user");
	if (live_counts(&self->base))
		memset(&self->base, 0, sizeof(self->base));
}

FIXTURE_TEARDOWN(limits)
{
	if (!geteuid()) {
		set_param("max_vms_per_user", self->max_vms);
		set_param("max_vcpus_per_user", self->max_vcpus);
	}
}

#define REQUIRE_ROOT()							\
	do {								\
		REQUIRE_VMX();						\
		if (geteuid())						\
			SKIP(return, "needs root to switch users");	\
	} while (0)

TEST_F(limits, device_is_open_to_every_user)
{
	struct stat st;

	REQUIRE_VMX();
	ASSERT_EQ(0, stat(MINIVMM_DEV, &st));
	EXPECT_EQ(0666, st.st_mode & 0777);
}

TEST_F(limits, unprivileged_user_runs_a_guest)
{
	REQUIRE_ROOT();
	EXPECT_EQ(0, run_as_user(TEST_UID, guest_child, NULL));
}

TEST_F(limits, memlock_exceeded_is_enomem)
{
	REQUIRE_ROOT();
	EXPECT_EQ(0, run_as_user(TEST_UID, memlock_child, NULL));
}

TEST_F(limits, pinned_pages_are_charged_until_unpinned)
{
	REQUIRE_ROOT();
	EXPECT_EQ(0, run_as_user(TEST_UID, pin_charge_child, &self->base));
}

TEST_F(limits, cap_ipc_lock_pins_past_memlock)
{
	struct test_vm *vm;
	struct rlimit old;

	REQUIRE_ROOT();
	ASSERT_EQ(0, getrlimit(RLIMIT_MEMLOCK, &old));
	ASSERT_EQ(0, set_limit(RLIMIT_MEMLOCK, MEMLOCK_LIMIT, old.rlim_max));
	vm = test_vm_create(GUEST_MEM_SIZE);
	test_vm_destroy(vm);
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &old));
}

TEST_F(limits, nproc_limit_is_eagain_for_vcpu_threads)
{
	REQUIRE_ROOT();
	EXPECT_EQ(0, run_as_user(TEST_UID, nproc_child, NULL));
}

TEST_F(limits, max_vcpus_per_user_is_eagain)
{
	REQUIRE_ROOT();
	ASSERT_EQ(0, set_param("max_vcpus_per_user", 3));
	EXPECT_EQ(0, run_as_user(TEST_UID, vcpus_per_user_child, NULL));
}

TEST_F(limits, max_vms_per_user_is_eagain)
{
	REQUIRE_ROOT();
	ASSERT_EQ(0, set_param("max_vms_per_user", 2));
	EXPECT_EQ(0, run_as_user(TEST_UID, vms_per_user_child, NULL));
}

TEST_F(limits, vm_limit_is_per_user)
{
	int to_child[2], from_child[2], fds[2], status;
	pid_t pid;
	char c;

	REQUIRE_ROOT();
	ASSERT_EQ(0, set_param("max_vms_per_user", 2));
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(from_child));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		fds[0] = to_child[0];
		fds[1] = from_child[1];
		close(to_child[1]);
		close(from_child[0]);
		_exit(become_user(TEST_UID + 1) ? 100 :
		      hold_vms_child(fds));
	}
	close(to_child[0]);
	close(from_child[1]);
	/* uid 1001 holds its two VMs: uid 1000 still gets its own two. */
	ASSERT_EQ(1, read(from_child[0], &c, 1));
	EXPECT_EQ(0, run_as_user(TEST_UID, vms_per_user_child, NULL));
	close(to_child[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_F(limits, caps_report_the_limits)
{
	struct minivmm_caps caps;

	REQUIRE_ROOT();
	ASSERT_EQ(0, set_param("max_vms_per_user", 5));
	ASSERT_EQ(0, set_param("max_vcpus_per_user", 7));
	ASSERT_EQ(0, minivmm_caps(&caps));
	EXPECT_EQ(5, caps.max_vms_per_user);
	EXPECT_EQ(7, caps.max_vcpus_per_user);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * Every VM and vCPU ioctl given every kind of bad argument, each failure
 * with its exact errno, and the valid cases next to them that prove the
 * checks are not wider than documented.
 */
#include <asm/processor-flags.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "minivmm_test.h"

#define PAGE		4096UL
#define GPA_LIMIT	(1ULL << 48)
/* An address in the kernel half: never user memory. */
#define KERNEL_PTR	((void *)0xffff888000000000UL)

#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)

/*
 * Expect @call to fail with errno @err; the log names the call, what it
 * returned and the errno it set, then @fmt.
 */
#define EXPECT_ERRNO_CTX(err, call, fmt, ...)				\
	do {								\
		long __ret;						\
		int __err;						\
		errno = 0;						\
		__ret = (call);						\
		__err = errno;						\
		EXPECT_TRUE(__ret == -1 && __err == (err))		\
			TH_LOG("%s: returned %ld, errno %d (%s); wanted %s " \
			       fmt, #call, __ret, __err, strerror(__err), \
			       #err, ##__VA_ARGS__);			\
	} while (0)

#define EXPECT_ERRNO(err, call)	EXPECT_ERRNO_CTX(err, call, "")

/* Expect @call to succeed (return >= 0), with the errno in the log. */
#define EXPECT_OK(call)							\
	do {								\
		long __ret;						\
		errno = 0;						\
		__ret = (call);						\
		EXPECT_LE(0, __ret)					\
			TH_LOG("%s: %s", #call, strerror(errno));	\
	} while (0)

/* Real mode, at 0x7c00: report the word at 0x7e00 in BX, then halt. */
GUEST_CODE(guest_read_word, ".code16",
	   "mov 0x7e00, %bx\n\t"
	   UCALL_ASM(1)
	   "hlt\n\t");

/* Real mode: report CPUID leaf 0x40000000 (EBX, ECX, EDX), forever. */
GUEST_CODE(guest_cpuid_hv, ".code16",
	   "1: mov $0x40000000, %eax\n\t"
	   "cpuid\n\t"
	   UCALL_ASM(1)
	   "jmp 1b\n\t");

/*
 * Long mode: report the quadword of the read-only slot at 2 MiB, then try
 * to write it (an MMIO exit), then finish.
 */
GUEST_CODE(guest_ro_slot, ".code64",
	   "mov 0x200000, %rbx\n\t"
	   UCALL_ASM(1)
	   "movl $0x55aa, 0x200000\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");

static struct minivmm_caps get_caps(struct __test_metadata *_metadata)
{
	struct minivmm_caps caps;

	memset(&caps, 0, sizeof(caps));
	EXPECT_EQ(0, minivmm_caps(&caps));
	return caps;
}

static int set_region(int vm_fd, uint32_t slot, uint32_t flags, uint64_t gpa,
		      uint64_t size, const void *mem)
{
	struct minivmm_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.size = size, .userspace_addr = (uintptr_t)mem,
	};

	return ioctl(vm_fd, MINIVMM_SET_MEMORY_REGION, &r);
}

static void *map_pages(size_t pages, int prot)
{
	void *p = mmap(NULL, pages * PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	TEST_REQUIRE(p != MAP_FAILED, "mmap: %s", strerror(errno));
	return p;
}

/*
 * Two pages: the first read/write, the second inaccessible. The returned
 * pointer is @len bytes before the boundary, so an object of more than
 * @len bytes there runs into the inaccessible page.
 */
static void *straddle(size_t len)
{
	uint8_t *p = map_pages(2, PROT_READ | PROT_WRITE);

	TEST_REQUIRE(!mprotect(p + PAGE, PAGE, PROT_NONE), "mprotect: %s",
		     strerror(errno));
	return p + PAGE - len;
}

/*
 * Run @fn in a forked child with the parent's fds; the child's exit status
 * is the number of its checks that failed.
 */
static int in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	TEST_REQUIRE(pid >= 0, "fork: %s", strerror(errno));
	if (!pid)
		_exit(fn(arg));
	TEST_REQUIRE(waitpid(pid, &status, 0) == pid, "waitpid: %s",
		     strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* In a child: @call must fail with EIO; print and count it otherwise. */
#define CHILD_EXPECT_EIO(call)						\
	do {								\
		long __r;						\
		errno = 0;						\
		__r = (call);						\
		if (__r != -1 || errno != EIO) {			\
			fprintf(stderr, "# child: %s: returned %ld, "	\
				"errno %d (%s); wanted EIO\n", #call,	\
				__r, errno, strerror(errno));		\
			bad++;						\
		}							\
	} while (0)

/* ---- MINIVMM_SET_MEMORY_REGION -------------------------------------- */

TEST(set_memory_region_bad_pointer_is_efault)
{
	struct test_vm *vm;
	void *p;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	EXPECT_ERRNO(EFAULT, ioctl(vm->fd, MINIVMM_SET_MEMORY_REGION, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(vm->fd, MINIVMM_SET_MEMORY_REGION,
				   KERNEL_PTR));
	p = map_pages(1, PROT_NONE);
	EXPECT_ERRNO(EFAULT, ioctl(vm->fd, MINIVMM_SET_MEMORY_REGION, p));
	/* The structure's last field lies in an inaccessible page. */
	p = straddle(sizeof(struct minivmm_memory_region) - 8);
	EXPECT_ERRNO(EFAULT, ioctl(vm->fd, MINIVMM_SET_MEMORY_REGION, p));
	test_vm_destroy(vm);
}

TEST(set_memory_region_unknown_flags_is_einval)
{
	struct test_vm *vm;
	void *mem;
	int bit;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	mem = map_pages(1, PROT_READ | PROT_WRITE);
	for (bit = 2; bit < 32; bit++)
		EXPECT_ERRNO_CTX(EINVAL, set_region(vm->fd, 1, 1U << bit,
						    0x200000, PAGE, mem),
				 "flag bit %d", bit);
	EXPECT_ERRNO(EINVAL, set_region(vm->fd, 1, ~0U, 0x200000, PAGE, mem));
	/* The two defined flags are accepted. */
	EXPECT_OK(set_region(vm->fd, 1, MINIVMM_MEM_READONLY, 0x200000, PAGE,
			     mem));
	EXPECT_OK(set_region(vm->fd, 2, MINIVMM_MEM_LOG_DIRTY, 0x300000, PAGE,
			     mem));
	test_vm_destroy(vm);
}

TEST(set_memory_region_slot_out_of_range_is_einval)
{
	struct minivmm_caps caps;
	struct test_vm *vm;
	uint8_t *mem;

	REQUIRE_VMX();
	caps = get_caps(_metadata);
	ASSERT_LT(1, caps.max_mem_slots);
	vm = test_vm_create(GUEST_MEM_SIZE);
	mem = map_pages(2, PROT_READ | PROT_WRITE);
	EXPECT_ERRNO(EINVAL, set_region(vm->fd, caps.max_mem_slots, 0,
					0x200000, PAGE, mem));
	EXPECT_ERRNO(EINVAL, set_region(vm->fd, caps.max_mem_slots + 1, 0,
					0x200000, PAGE, mem));
	EXPECT_ERRNO(EINVAL, set_region(vm->fd, 0x80000000U, 0, 0x200000,
					PAGE, mem));
	EXPECT_ERRNO(EINVAL, set_region(vm->fd, ~0U, 0, 0x200000, PAGE, mem));
	/* Deleting an out-of-range slot is refused the same way. */
	EXPECT_ERRNO(EINVAL, set_region(vm->fd, caps.max_mem_slots, 0, 0, 0,
					NULL));
	/* The last slot exists. */
	EXPECT_OK(set_region(vm->fd, caps.max_mem_slots - 1, 0, 0x200000,
			     PAGE, mem));
	test_vm_destroy(vm);
}

TEST(set_memory_region_unaligned_is_einval)
{
	struct test_vm *vm;
	uint8_t *mem;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	mem = map_pages(2, PROT_READ | PROT_WRITE);
	EXPECT_ERRNO(EINVAL, set_region(vm->fd, 1, 0, 0x200800, PAGE, mem));
	EXPECT_ERRNO(EINVAL, set_region(vm->fd, 1, 0, 0x200001, PAGE, mem));
	EXPECT_ERRNO(EINVAL, set_region(vm->fd, 1, 0, 0x200000, 0x1800, mem));
	EXPECT_ERRNO(EINVAL, set_region(vm->fd, 1, 0, 0x200000, 1, mem));
	EXPECT_ERRNO(EINVAL, set_region(vm->fd, 1, 0, 0x200000, PAGE,
					mem + 0x10));
	EXPECT_ERRNO(EINVAL, set_region(vm->fd, 1, 0, 0x200000, PAGE,
					mem + 0x800));
	EXPECT_OK(set_region(vm->fd, 1, 0, 0x200000, 2 * PAGE, mem));
	test_vm_destroy(vm);
}

TEST(set_memory_region_beyond_48_bits_is_einval)
{
	struct test_vm *vm;
	uint8_t *mem;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	mem = map_pages(2, PROT_READ | PROT_WRITE);
	EXPECT_ERRNO(EINVAL, set_region(vm->fd, 1, 0, GPA_LIMIT, PAGE, mem));
	EXPECT_ERRNO(EINVAL, set_region(vm->fd, 1, 0, GPA_LIMIT - PAGE,
					2 * PAGE, mem));
	EXPECT_ERRNO(EINVAL, set_region(vm->fd, 1, 0, 1ULL << 63, PAGE, mem));
	/* Ranges that wrap around 2^64. */
	EXPECT_ERRNO(EINVAL, set_region(vm->fd, 1, 0, -PAGE, 2 * PAGE, mem));
	EXPECT_ERRNO(EINVAL, set_region(vm->fd, 1, 0, 0x200000, -PAGE, mem));
	EXPECT_ERRNO(EINVAL, set_region(vm->fd, 1, 0, 0x200000,
					GPA_LIMIT + PAGE, mem));
	/* The last page below 2^48 is usable. */
	EXPECT_OK(set_region(vm->fd, 1, 0, GPA_LIMIT - PAGE, PAGE, mem));
	test_vm_destroy(vm);
}

TEST(huge_slot_is_e2big)
{
	const uint64_t huge = 1ULL << 40;
	struct test_vm *vm;
	void *mem;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	/* Address space only: the size alone must be refused, nothing pinned. */
	mem = mmap(NULL, huge, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, mem) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_ERRNO(E2BIG, set_region(vm->fd, 1, 0, huge, huge, mem));
	EXPECT_ERRNO(E2BIG, set_region(vm->fd, 1, MINIVMM_MEM_READONLY, 0,
				       huge, mem));
	munmap(mem, huge);
	/* The VM is unharmed: a normal slot still goes in. */
	mem = map_pages(1, PROT_READ | PROT_WRITE);
	EXPECT_OK(set_region(vm->fd, 1, 0, 0x200000, PAGE, mem));
	test_vm_destroy(vm);
}

/* ---- Pinning that takes a while ------------------------------------- */

#define SLOW_PIN_SIZE	(64UL << 20)
#define SLOW_PIN_GPA	(1ULL << 32)

/* Real mode: HLT. */
GUEST_CODE(guest_hlt, ".code16", "hlt");

TEST(vcpu_create_and_run_do_not_wait_for_pinning)
{
	struct slow_pin pin = {
		.slot = 1, .gpa = SLOW_PIN_GPA, .size = SLOW_PIN_SIZE,
	};
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	uint64_t t0, ran;
	int fd;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	/*
	 * Everything that maps memory comes first: pinning holds the mmap
	 * lock for reading, so mmap() would wait for it in any process.
	 */
	vcpu = test_vcpu_add(vm, 1);
	test_vcpu_load(vcpu, MODE_REAL, guest_hlt, GUEST_CODE_SIZE(guest_hlt));
	pin.vm_fd = vm->fd;
	t0 = monotonic_ns();
	if (!slow_pin_start(&pin)) {
		slow_pin_join(&pin);
		SKIP(return, "pinning %lu MiB ended before it could be overlapped",
		     SLOW_PIN_SIZE >> 20);
	}

	/* CREATE_VCPU and RUN need the VM's lock, never the pinning. */
	fd = ioctl(vm->fd, MINIVMM_CREATE_VCPU, 2);
	test_run_expect(vcpu, MINIVMM_EXIT_HLT);
	ran = monotonic_ns();
	slow_pin_join(&pin);
	TH_LOG("vCPU created and run after %llu ms, slot pinned after %llu ms",
	       (unsigned long long)(ran - t0) / 1000000,
	       (unsigned long long)(pin.done_ns - t0) / 1000000);
	EXPECT_LE(0, fd) TH_LOG("CREATE_VCPU: %s", strerror(errno));
	EXPECT_LT(ran, pin.done_ns) TH_LOG("the vCPUs waited for the pinning");
	EXPECT_EQ(0, pin.ret) TH_LOG("%s", strerror(-pin.ret));
	close(fd);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(set_memory_region_unmapped_memory_is_efault)
{
	struct test_vm *vm;
	uint8_t *mem;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	/* Pages 0 and 2 mapped, 1 and 3 not. */
	mem = map_pages(4, PROT_READ | PROT_WRITE);
	ASSERT_EQ(0, munmap(mem + PAGE, PAGE));
	ASSERT_EQ(0, munmap(mem + 3 * PAGE, PAGE));
	/* A hole in the middle, at the start, at the end. */
	EXPECT_ERRNO(EFAULT, set_region(vm->fd, 1, 0, 0x200000, 3 * PAGE,
					mem));
	EXPECT_ERRNO(EFAULT, set_region(vm->fd, 1, 0, 0x200000, 2 * PAGE,
					mem + PAGE));
	EXPECT_ERRNO(EFAULT, set_region(vm->fd, 1, 0, 0x200000, 2 * PAGE,
					mem + 2 * PAGE));
	EXPECT_ERRNO(EFAULT, set_region(vm->fd, 1, 0, 0x200000, PAGE,
					mem + PAGE));
	EXPECT_ERRNO(EFAULT, set_region(vm->fd, 1, MINIVMM_MEM_READONLY,
					0x200000, 3 * PAGE, mem));
	/* Kernel addresses are never user memory. */
	EXPECT_ERRNO(EFAULT, set_region(vm->fd, 1, 0, 0x200000, PAGE,
					KERNEL_PTR));
	/* A failed attempt leaves the slot free: the mapped part works. */
	EXPECT_OK(set_region(vm->fd, 1, 0, 0x200000, PAGE, mem));
	test_vm_destroy(vm);
}

TEST(set_memory_region_prot_none_is_efault)
{
	struct test_vm *vm;
	void *mem;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	mem = map_pages(2, PROT_NONE);
	EXPECT_ERRNO(EFAULT, set_region(vm->fd, 1, 0, 0x200000, 2 * PAGE,
					mem));
	EXPECT_ERRNO(EFAULT, set_region(vm->fd, 1, MINIVMM_MEM_READONLY,
					0x200000, 2 * PAGE, mem));
	test_vm_destroy(vm);
}

TEST(writable_slot_on_read_only_memory_is_efault)
{
	struct test_vm *vm;
	void *mem;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	mem = map_pages(1, PROT_READ);
	EXPECT_ERRNO(EFAULT, set_region(vm->fd, 1, 0, 0x200000, PAGE, mem));
	test_vm_destroy(vm);
}

TEST(readonly_slot_on_read_only_memory_works)
{
	const uint64_t pattern = 0x0123456789abcdefULL;
	struct minivmm_run *run;
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	struct ucall uc;
	uint64_t *mem;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	mem = map_pages(1, PROT_READ | PROT_WRITE);
	mem[0] = pattern;
	ASSERT_EQ(0, mprotect(mem, PAGE, PROT_READ));
	EXPECT_OK(set_region(vm->fd, 1, MINIVMM_MEM_READONLY, 0x200000, PAGE,
			     mem));

	vcpu = test_vcpu_add(vm, 0);
	test_vcpu_load(vcpu, MODE_LONG, guest_ro_slot,
		       GUEST_CODE_SIZE(guest_ro_slot));
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(vcpu, &uc));
	EXPECT_EQ(pattern, uc.args[0]);

	/* A write to the read-only slot is an MMIO exit, memory unchanged. */
	run = test_run_expect(vcpu, MINIVMM_EXIT_MMIO);
	EXPECT_EQ(0x200000, run->mmio.phys_addr);
	EXPECT_EQ(1, run->mmio.is_write);
	EXPECT_EQ(4, run->mmio.len);
	EXPECT_EQ(0x55aa, run->mmio.data);
	EXPECT_EQ(pattern, mem[0]);
	ASSERT_EQ(UCALL_DONE, test_run_ucall(vcpu, &uc));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(overlapping_slot_is_eexist)
{
	struct test_vm *vm;
	uint8_t *mem;

	REQUIRE_VMX();
	/* Slot 0 covers [0, 2 MiB). */
	vm = test_vm_create(GUEST_MEM_SIZE);
	mem = map_pages(4, PROT_READ | PROT_WRITE);
	EXPECT_ERRNO(EEXIST, set_region(vm->fd, 1, 0, 0, PAGE, mem));
	EXPECT_ERRNO(EEXIST, set_region(vm->fd, 1, 0, 0x100000, PAGE, mem));
	EXPECT_ERRNO(EEXIST, set_region(vm->fd, 1, 0, 0x200000 - PAGE,
					PAGE, mem));
	/* Straddling the end of slot 0. */
	EXPECT_ERRNO(EEXIST, set_region(vm->fd, 1, 0, 0x200000 - PAGE,
					2 * PAGE, mem));
	/* Adjacent is fine; then overlapping that one is refused. */
	EXPECT_OK(set_region(vm->fd, 1, 0, 0x200000, 2 * PAGE, mem));
	EXPECT_ERRNO(EEXIST, set_region(vm->fd, 2, 0, 0x201000, 2 * PAGE,
					mem + 2 * PAGE));
	/* Covering other slots entirely. */
	EXPECT_ERRNO(EEXIST, set_region(vm->fd, 2, 0, 0x1ff000, 4 * PAGE,
					mem));
	EXPECT_OK(set_region(vm->fd, 2, 0, 0x202000, 2 * PAGE,
			     mem + 2 * PAGE));
	test_vm_destroy(vm);
}

TEST(reused_slot_is_eexist)
{
	struct test_vm *vm;
	uint8_t *mem;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	mem = map_pages(1, PROT_READ | PROT_WRITE);
	/* Slot 0 is in use, even for a range that overlaps nothing. */
	EXPECT_ERRNO(EEXIST, set_region(vm->fd, 0, 0, 0x400000, PAGE, mem));
	EXPECT_ERRNO(EEXIST, set_region(vm->fd, 0, 0, 0, GUEST_MEM_SIZE,
					vm->mem));
	EXPECT_OK(set_region(vm->fd, 1, 0, 0x400000, PAGE, mem));
	EXPECT_ERRNO(EEXIST, set_region(vm->fd, 1, 0, 0x800000, PAGE, mem));
	test_vm_destroy(vm);
}

TEST(deleting_unused_slot_is_enoent)
{
	struct minivmm_caps caps;
	struct test_vm *vm;

	REQUIRE_VMX();
	caps = get_caps(_metadata);
	vm = test_vm_create(GUEST_MEM_SIZE);
	EXPECT_ERRNO(ENOENT, set_region(vm->fd, 1, 0, 0, 0, NULL));
	EXPECT_ERRNO(ENOENT, set_region(vm->fd, caps.max_mem_slots - 1, 0,
					0x200000, 0, vm->mem));
	/* Deleting twice: the second time the slot is unused. */
	EXPECT_OK(set_region(vm->fd, 0, 0, 0, 0, NULL));
	EXPECT_ERRNO(ENOENT, set_region(vm->fd, 0, 0, 0, 0, NULL));
	test_vm_destroy(vm);
}

TEST(delete_then_re_add_works)
{
	struct test_vcpu *vcpu;
	struct minivmm_regs regs;
	struct test_vm *vm;
	struct ucall uc;
	uint8_t *fresh;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_vm_load(vm, REAL_CODE, guest_read_word,
		     GUEST_CODE_SIZE(guest_read_word));
	*(uint16_t *)(vm->mem + 0x7e00) = 0x1111;
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(vcpu, &uc));
	EXPECT_EQ(0x1111, uc.args[0] & 0xffff);

	/* Replace slot 0 with other memory holding the same code. */
	EXPECT_OK(set_region(vm->fd, 0, 0, 0, 0, NULL));
	fresh = map_pages(GUEST_MEM_SIZE / PAGE, PROT_READ | PROT_WRITE);
	memcpy(fresh + REAL_CODE, guest_read_word,
	       GUEST_CODE_SIZE(guest_read_word));
	*(uint16_t *)(fresh + 0x7e00) = 0x2222;
	ASSERT_EQ(0, set_region(vm->fd, 0, 0, 0, GUEST_MEM_SIZE, fresh));

	/* The vCPU sees the new memory, not the old one. */
	test_get_regs(vcpu, &regs);
	regs.rip = REAL_CODE;
	test_set_regs(vcpu, &regs);
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(vcpu, &uc));
	EXPECT_EQ(0x2222, uc.args[0] & 0xffff);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

struct region_arg {
	int vm_fd;
	void *mem;
};

static int child_set_region(void *arg)
{
	struct region_arg *a = arg;
	int bad = 0;

	CHILD_EXPECT_EIO(set_region(a->vm_fd, 1, 0, 0x200000, PAGE, a->mem));
	/* Deleting the parent's slot is refused too. */
	CHILD_EXPECT_EIO(set_region(a->vm_fd, 0, 0, 0, 0, NULL));
	return bad;
}

TEST(set_memory_region_from_child_is_eio)
{
	struct region_arg a;
	struct test_vm *vm;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	a.vm_fd = vm->fd;
	a.mem = map_pages(1, PROT_READ | PROT_WRITE);
	EXPECT_EQ(0, in_child(child_set_region, &a));
	/* The parent's memory map is untouched and still its own. */
	EXPECT_ERRNO(EEXIST, set_region(vm->fd, 0, 0, 0x400000, PAGE, a.mem));
	EXPECT_OK(set_region(vm->fd, 1, 0, 0x200000, PAGE, a.mem));
	test_vm_destroy(vm);
}

/* ---- MINIVMM_CREATE_VCPU -------------------------------------------- */

TEST(create_vcpu_id_out_of_range_is_einval)
{
	struct minivmm_caps caps;
	struct test_vm *vm;

	REQUIRE_VMX();
	caps = get_caps(_metadata);
	vm = test_vm_create(GUEST_MEM_SIZE);
	EXPECT_ERRNO(EINVAL, ioctl(vm->fd, MINIVMM_CREATE_VCPU,
				   (unsigned long)caps.max_vcpus));
	EXPECT_ERRNO(EINVAL, ioctl(vm->fd, MINIVMM_CREATE_VCPU,
				   (unsigned long)caps.max_vcpus + 1));
	EXPECT_ERRNO(EINVAL, ioctl(vm->fd, MINIVMM_CREATE_VCPU, -1UL));
	/* Ids whose low 32 bits would be valid. */
	EXPECT_ERRNO(EINVAL, ioctl(vm->fd, MINIVMM_CREATE_VCPU, 1UL << 32));
	EXPECT_ERRNO(EINVAL, ioctl(vm->fd, MINIVMM_CREATE_VCPU,
				   (1UL << 63) | 1));
	/* The highest id exists. */
	EXPECT_OK(ioctl(vm->fd, MINIVMM_CREATE_VCPU,
			(unsigned long)caps.max_vcpus - 1));
	test_vm_destroy(vm);
}

TEST(create_vcpu_duplicate_is_eexist)
{
	struct test_vm *vm;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	EXPECT_OK(ioctl(vm->fd, MINIVMM_CREATE_VCPU, 0));
	EXPECT_ERRNO(EEXIST, ioctl(vm->fd, MINIVMM_CREATE_VCPU, 0));
	EXPECT_OK(ioctl(vm->fd, MINIVMM_CREATE_VCPU, 5));
	EXPECT_ERRNO(EEXIST, ioctl(vm->fd, MINIVMM_CREATE_VCPU, 5));
	EXPECT_ERRNO(EEXIST, ioctl(vm->fd, MINIVMM_CREATE_VCPU, 0));
	test_vm_destroy(vm);
}

TEST(create_vcpu_all_ids_at_once)
{
	struct minivmm_caps caps;
	struct test_vm *vm;
	unsigned int id;

	REQUIRE_VMX();
	caps = get_caps(_metadata);
	vm = test_vm_create(GUEST_MEM_SIZE);
	for (id = 0; id < caps.max_vcpus; id++)
		EXPECT_OK(ioctl(vm->fd, MINIVMM_CREATE_VCPU,
				(unsigned long)id));
	test_vm_destroy(vm);
}

TEST(create_vcpu_after_close_works)
{
	struct minivmm_regs regs;
	struct test_vm *vm;
	int fd, i;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	for (i = 0; i < 3; i++) {
		fd = ioctl(vm->fd, MINIVMM_CREATE_VCPU, 3);
		ASSERT_LE(0, fd) TH_LOG("round %d: %s", i, strerror(errno));
		/* A new vCPU starts from the reset state every time. */
		ASSERT_EQ(0, ioctl(fd, MINIVMM_GET_REGS, &regs));
		EXPECT_EQ(0x7c00, regs.rip);
		regs.rip = 0x1234;
		ASSERT_EQ(0, ioctl(fd, MINIVMM_SET_REGS, &regs));
		EXPECT_EQ(0, close(fd));
	}
	test_vm_destroy(vm);
}

static int child_create_vcpu(void *arg)
{
	int vm_fd = *(int *)arg, bad = 0;

	CHILD_EXPECT_EIO(ioctl(vm_fd, MINIVMM_CREATE_VCPU, 1));
	return bad;
}

TEST(create_vcpu_from_child_is_eio)
{
	struct test_vm *vm;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	EXPECT_EQ(0, in_child(child_create_vcpu, &vm->fd));
	/* The id the child asked for is still free. */
	EXPECT_OK(ioctl(vm->fd, MINIVMM_CREATE_VCPU, 1));
	test_vm_destroy(vm);
}

/* ---- GET/SET_REGS, GET/SET_SREGS ------------------------------------ */

/* Pointers no register structure may be copied through. */
static void expect_bad_pointers(struct __test_metadata *_metadata, int fd,
				unsigned long cmd, size_t size, bool get)
{
	void *p;

	EXPECT_ERRNO(EFAULT, ioctl(fd, cmd, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(fd, cmd, (void *)8));
	EXPECT_ERRNO(EFAULT, ioctl(fd, cmd, KERNEL_PTR));
	p = map_pages(1, PROT_NONE);
	EXPECT_ERRNO(EFAULT, ioctl(fd, cmd, p));
	/* Only the last 8 bytes of the structure are inaccessible. */
	EXPECT_ERRNO(EFAULT, ioctl(fd, cmd, straddle(size - 8)));
	if (get) {
		p = map_pages(1, PROT_READ);
		EXPECT_ERRNO(EFAULT, ioctl(fd, cmd, p));
	}
}

TEST(get_regs_bad_pointer_is_efault)
{
	struct test_vcpu *vcpu;
	struct test_vm *vm;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	expect_bad_pointers(_metadata, vcpu->fd, MINIVMM_GET_REGS,
			    sizeof(struct minivmm_regs), true);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(set_regs_bad_pointer_is_efault)
{
	struct test_vcpu *vcpu;
	struct minivmm_regs r;
	struct test_vm *vm;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	expect_bad_pointers(_metadata, vcpu->fd, MINIVMM_SET_REGS,
			    sizeof(struct minivmm_regs), false);
	/* Nothing was set. */
	test_get_regs(vcpu, &r);
	EXPECT_EQ(0x7c00, r.rip);
	EXPECT_EQ(2, r.rflags);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(get_sregs_bad_pointer_is_efault)
{
	struct test_vcpu *vcpu;
	struct test_vm *vm;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	expect_bad_pointers(_metadata, vcpu->fd, MINIVMM_GET_SREGS,
			    sizeof(struct minivmm_sregs), true);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(set_sregs_bad_pointer_is_efault)
{
	struct minivmm_sregs before, after;
	struct test_vcpu *vcpu;
	struct test_vm *vm;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_get_sregs(vcpu, &before);
	expect_bad_pointers(_metadata, vcpu->fd, MINIVMM_SET_SREGS,
			    sizeof(struct minivmm_sregs), false);
	test_get_sregs(vcpu, &after);
	EXPECT_EQ(0, memcmp(&before, &after, sizeof(before)));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

static int set_sregs(struct test_vcpu *vcpu, const struct minivmm_sregs *s)
{
	return ioctl(vcpu->fd, MINIVMM_SET_SREGS, s);
}

static struct minivmm_segment *seg_n(struct minivmm_sregs *s, int i)
{
	struct minivmm_segment *segs[] = {
		&s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss, &s->tr, &s->ldt,
	};

	return segs[i];
}

static const char * const seg_names[] = {
	"cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt",
};

TEST(set_sregs_nonzero_pad_or_reserved_is_einval)
{
	struct minivmm_sregs good, s;
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	int i, j;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_get_sregs(vcpu, &good);
	ASSERT_EQ(0, set_sregs(vcpu, &good));

	for (i = 0; i < 8; i++) {
		s = good;
		seg_n(&s, i)->pad = 1;
		EXPECT_ERRNO_CTX(EINVAL, set_sregs(vcpu, &s), "%s.pad",
				 seg_names[i]);
		s = good;
		seg_n(&s, i)->reserved = 0x80000000;
		EXPECT_ERRNO_CTX(EINVAL, set_sregs(vcpu, &s), "%s.reserved",
				 seg_names[i]);
	}
	for (j = 0; j < 3; j++) {
		s = good;
		s.gdt.pad[j] = 1;
		EXPECT_ERRNO_CTX(EINVAL, set_sregs(vcpu, &s), "gdt.pad[%d]", j);
		s = good;
		s.idt.pad[j] = 0x8000;
		EXPECT_ERRNO_CTX(EINVAL, set_sregs(vcpu, &s), "idt.pad[%d]", j);
	}
	for (j = 0; j < 4; j++) {
		s = good;
		s.reserved[j] = 1ULL << 63;
		EXPECT_ERRNO_CTX(EINVAL, set_sregs(vcpu, &s), "reserved[%d]",
				 j);
	}
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(set_sregs_reserved_attrib_bits_is_einval)
{
	const uint32_t reserved = 0xfffe0f00;
	struct minivmm_sregs good, s;
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	int i, bit;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_get_sregs(vcpu, &good);

	for (i = 0; i < 8; i++) {
		for (bit = 0; bit < 32; bit++) {
			if (!(reserved & (1U << bit)))
				continue;
			s = good;
			seg_n(&s, i)->attrib |= 1U << bit;
			EXPECT_ERRNO_CTX(EINVAL, set_sregs(vcpu, &s),
					 "%s.attrib bit %d", seg_names[i],
					 bit);
		}
	}
	/* AVL, L, D/B, G and unusable are not reserved. */
	s = good;
	s.fs.attrib |= 0xf000;
	s.gs.attrib |= 0x10000;
	EXPECT_OK(set_sregs(vcpu, &s));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(set_sregs_invalid_cr0_is_einval)
{
	struct minivmm_sregs good, s;
	struct test_vcpu *vcpu;
	struct test_vm *vm;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_get_sregs(vcpu, &good);

	s = good;
	s.cr0 = X86_CR0_ET | X86_CR0_PG;		/* paging without protection */
	EXPECT_ERRNO(EINVAL, set_sregs(vcpu, &s));
	s.cr0 = X86_CR0_ET | X86_CR0_NW;		/* no write-through, caching on */
	EXPECT_ERRNO(EINVAL, set_sregs(vcpu, &s));
	s.cr0 = X86_CR0_ET | X86_CR0_PE | X86_CR0_NW;
	EXPECT_ERRNO(EINVAL, set_sregs(vcpu, &s));
	s.cr0 = X86_CR0_ET | (1ULL << 32);
	EXPECT_ERRNO(EINVAL, set_sregs(vcpu, &s));
	s.cr0 = X86_CR0_ET | (1ULL << 63);
	EXPECT_ERRNO(EINVAL, set_sregs(vcpu, &s));

	/* Caching off, and NW with CD, are valid. */
	s.cr0 = X86_CR0_ET | X86_CR0_CD;
	EXPECT_OK(set_sregs(vcpu, &s));
	s.cr0 = X86_CR0_ET | X86_CR0_CD | X86_CR0_NW;
	EXPECT_OK(set_sregs(vcpu, &s));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(set_sregs_invalid_cr4_is_einval)
{
	static const struct { int bit; const char *name; } bad[] = {
		{ 12, "LA57" }, { 13, "VMXE" }, { 14, "SMXE" },
		{ 17, "PCIDE" }, { 19, "KL" }, { 22, "PKE" }, { 23, "CET" },
		{ 24, "PKS" }, { 32, "bit 32" }, { 63, "bit 63" },
	};
	struct minivmm_sregs good, s;
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	unsigned int i;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_get_sregs(vcpu, &good);

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		s = good;
		s.cr4 = 1ULL << bad[i].bit;
		EXPECT_ERRNO_CTX(EINVAL, set_sregs(vcpu, &s), "CR4.%s",
				 bad[i].name);
	}
	/* PAE, PSE, DE, PGE, OSFXSR, OSXMMEXCPT together are fine. */
	s = good;
	s.cr4 = (1 << 5) | (1 << 4) | (1 << 3) | (1 << 7) | (1 << 9) |
		(1 << 10);
	EXPECT_OK(set_sregs(vcpu, &s));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(set_sregs_invalid_efer_is_einval)
{
	static const int bad_bits[] = {
		1, 2, 7, 9, 12, 13, 14, 15, 16, 32, 63,
	};
	struct minivmm_sregs good, s;
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	unsigned int i;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_get_sregs(vcpu, &good);

	for (i = 0; i < ARRAY_SIZE(bad_bits); i++) {
		s = good;
		s.efer = 1ULL << bad_bits[i];
		EXPECT_ERRNO_CTX(EINVAL, set_sregs(vcpu, &s), "EFER bit %d",
				 bad_bits[i]);
	}
	/* SCE, NXE and LME without paging are fine. */
	s = good;
	s.efer = 1 | (1 << 11) | EFER_LME;
	EXPECT_OK(set_sregs(vcpu, &s));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(set_sregs_inconsistent_long_mode_is_einval)
{
	struct minivmm_sregs good, s;
	struct test_vcpu *vcpu;
	struct test_vm *vm;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	/* A valid long-mode state to start from. */
	test_vcpu_setup(vcpu, MODE_LONG, GUEST_CODE_ADDR);
	test_get_sregs(vcpu, &good);
	ASSERT_EQ(EFER_LME | EFER_LMA, good.efer & (EFER_LME | EFER_LMA));

	s = good;				/* LME and PG without LMA */
	s.efer &= ~EFER_LMA;
	EXPECT_ERRNO(EINVAL, set_sregs(vcpu, &s));
	s = good;				/* LMA without LME */
	s.efer &= ~EFER_LME;
	EXPECT_ERRNO(EINVAL, set_sregs(vcpu, &s));
	s = good;				/* LMA without paging */
	s.cr0 &= ~X86_CR0_PG;
	EXPECT_ERRNO(EINVAL, set_sregs(vcpu, &s));
	s = good;				/* long mode without PAE */
	s.cr4 &= ~X86_CR4_PAE;
	EXPECT_ERRNO(EINVAL, set_sregs(vcpu, &s));
	s = good;				/* LMA in real mode */
	s.cr0 = X86_CR0_ET;
	s.efer = EFER_LMA;
	EXPECT_ERRNO(EINVAL, set_sregs(vcpu, &s));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(set_sregs_bad_pae_pdpt_is_einval)
{
	struct minivmm_sregs good, s;
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	uint64_t *pdpt;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_vcpu_setup(vcpu, MODE_PROTECTED, GUEST_CODE_ADDR);
	test_get_sregs(vcpu, &good);

	/* 32-bit PAE paging with its four PDPTEs at 0x6000. */
	pdpt = (uint64_t *)(vm->mem + 0x6000);
	memset(pdpt, 0, 32);
	s = good;
	s.cr0 |= X86_CR0_PG;
	s.cr4 |= X86_CR4_PAE;
	s.cr3 = 0x6000;
	EXPECT_OK(set_sregs(vcpu, &s));
	ASSERT_EQ(0, set_sregs(vcpu, &good));

	/* A present PDPTE with a reserved bit (R/W is reserved there). */
	pdpt[2] = 0x100000 | 1 | 2;
	EXPECT_ERRNO(EINVAL, set_sregs(vcpu, &s));
	/* Bits above the physical address width are reserved too. */
	pdpt[2] = 0x100000 | 1 | (1ULL << 62);
	EXPECT_ERRNO(EINVAL, set_sregs(vcpu, &s));
	/* The table outside guest RAM. */
	pdpt[2] = 0;
	s.cr3 = MMIO_BASE;
	EXPECT_ERRNO(EINVAL, set_sregs(vcpu, &s));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(rejected_set_sregs_changes_nothing)
{
	struct minivmm_sregs before, after, s;
	struct test_vcpu *vcpu;
	struct test_vm *vm;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_vcpu_setup(vcpu, MODE_PROTECTED, GUEST_CODE_ADDR);
	test_get_sregs(vcpu, &before);

	/* Each invalid state also carries other, valid changes. */
	s = before;
	s.cs.base = 0x1000;
	s.cr3 = 0x3000;
	s.ss.pad = 1;
	EXPECT_ERRNO(EINVAL, set_sregs(vcpu, &s));
	s.ss.pad = 0;
	s.cr4 = 1ULL << 13;
	EXPECT_ERRNO(EINVAL, set_sregs(vcpu, &s));
	s.cr4 = before.cr4;
	s.efer = EFER_LMA;
	EXPECT_ERRNO(EINVAL, set_sregs(vcpu, &s));
	/* PAE paging whose table is outside RAM. */
	s.efer = 0;
	s.cr0 |= X86_CR0_PG;
	s.cr4 |= X86_CR4_PAE;
	s.cr3 = MMIO_BASE;
	EXPECT_ERRNO(EINVAL, set_sregs(vcpu, &s));

	test_get_sregs(vcpu, &after);
	EXPECT_EQ(before.cr3, after.cr3);
	EXPECT_EQ(before.cs.base, after.cs.base);
	EXPECT_EQ(before.cr0, after.cr0);
	EXPECT_EQ(before.cr4, after.cr4);
	EXPECT_EQ(before.efer, after.efer);
	EXPECT_EQ(0, memcmp(&before, &after, sizeof(before)));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

static void expect_sregs_round_trip(struct __test_metadata *_metadata,
				    struct test_vcpu *vcpu)
{
	struct minivmm_sregs a, b;

	memset(&a, 0xcc, sizeof(a));
	memset(&b, 0x33, sizeof(b));
	test_get_sregs(vcpu, &a);
	EXPECT_EQ(0, set_sregs(vcpu, &a))
		TH_LOG("SET_SREGS of what GET_SREGS gave: %s",
		       strerror(errno));
	test_get_sregs(vcpu, &b);
	EXPECT_EQ(0, memcmp(&a, &b, sizeof(a)));
}

TEST(sregs_round_trip)
{
	struct minivmm_sregs s, t;
	struct test_vcpu *vcpu;
	struct test_vm *vm;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);

	/* The reset state. */
	expect_sregs_round_trip(_metadata, vcpu);
	/* Long mode. */
	test_vcpu_setup(vcpu, MODE_LONG, GUEST_CODE_ADDR);
	expect_sregs_round_trip(_metadata, vcpu);
	/* Values GET_SREGS must hand back exactly as they were set. */
	test_get_sregs(vcpu, &s);
	s.cr2 = 0xdeadbeef000ULL;
	s.fs.base = 0x7fff12345000ULL;
	s.gs.base = 0xffff800012345000ULL;
	s.gdt.limit = 0x27;
	s.idt.base = 0x5000;
	ASSERT_EQ(0, set_sregs(vcpu, &s));
	test_get_sregs(vcpu, &t);
	EXPECT_EQ(0, memcmp(&s, &t, sizeof(s)));
	expect_sregs_round_trip(_metadata, vcpu);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(set_regs_reserved_rflags_is_einval)
{
	static const int bad_bits[] = { 3, 5, 15, 22, 23, 31, 32, 63 };
	struct minivmm_regs good, r;
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	unsigned int i;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_get_regs(vcpu, &good);

	for (i = 0; i < ARRAY_SIZE(bad_bits); i++) {
		r = good;
		r.rflags |= 1ULL << bad_bits[i];
		r.rax = 0x1234;
		EXPECT_ERRNO_CTX(EINVAL, ioctl(vcpu->fd, MINIVMM_SET_REGS, &r),
				 "RFLAGS bit %d", bad_bits[i]);
	}
	/* None of them changed anything. */
	test_get_regs(vcpu, &r);
	EXPECT_EQ(0, memcmp(&good, &r, sizeof(r)));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(regs_round_trip)
{
	struct minivmm_regs a, b;
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	__u64 *p;
	int i;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);

	/* A distinct value in every general register. */
	for (p = &a.rax, i = 0; p < &a.rip; p++, i++)
		*p = (0x0101010101010101ULL * (i + 1)) ^ (1ULL << 63);
	a.rip = 0x7c10;
	a.rflags = 0x3f7fd7;	/* every bit that is not reserved */
	ASSERT_EQ(0, ioctl(vcpu->fd, MINIVMM_SET_REGS, &a));
	test_get_regs(vcpu, &b);
	EXPECT_EQ(0, memcmp(&a, &b, sizeof(a)));

	/* RFLAGS bit 1 always reads as set. */
	a.rflags = 0;
	ASSERT_EQ(0, ioctl(vcpu->fd, MINIVMM_SET_REGS, &a));
	test_get_regs(vcpu, &b);
	EXPECT_EQ(2, b.rflags);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

/* ---- MINIVMM_SET_CPUID ---------------------------------------------- */

static int set_cpuid(struct test_vcpu *vcpu, uint32_t nent, uint32_t flags,
		     const void *entries)
{
	struct minivmm_cpuid c = {
		.nent = nent, .flags = flags, .entries = (uintptr_t)entries,
	};

	return ioctl(vcpu->fd, MINIVMM_SET_CPUID, &c);
}

/* Run guest_cpuid_hv to its next report of leaf 0x40000000. */
static void read_hv_leaf(struct __test_metadata *_metadata,
			 struct test_vcpu *vcpu, uint32_t out[3])
{
	struct ucall uc;

	ASSERT_EQ(UCALL_SYNC, test_run_ucall(vcpu, &uc));
	out[0] = uc.args[0];
	out[1] = uc.args[1];
	out[2] = uc.args[2];
}

static void expect_signature(struct __test_metadata *_metadata,
			     struct test_vcpu *vcpu)
{
	uint32_t regs[3];

	read_hv_leaf(_metadata, vcpu, regs);
	EXPECT_EQ(0, memcmp(regs, "minivmm     ", 12))
		TH_LOG("leaf 0x40000000: %.12s", (char *)regs);
}

static void expect_hv_leaf(struct __test_metadata *_metadata,
			   struct test_vcpu *vcpu, uint32_t b, uint32_t c,
			   uint32_t d)
{
	uint32_t regs[3];

	read_hv_leaf(_metadata, vcpu, regs);
	EXPECT_EQ(b, regs[0]);
	EXPECT_EQ(c, regs[1]);
	EXPECT_EQ(d, regs[2]);
}

static struct test_vcpu *cpuid_vcpu(struct test_vm **vm)
{
	struct test_vcpu *vcpu;

	*vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(*vm, 0);
	test_vm_load(*vm, REAL_CODE, guest_cpuid_hv,
		     GUEST_CODE_SIZE(guest_cpuid_hv));
	return vcpu;
}

TEST(set_cpuid_too_many_entries_is_e2big)
{
	struct minivmm_cpuid_entry *e;
	size_t n = MINIVMM_MAX_CPUID + 1;
	struct test_vcpu *vcpu;
	struct test_vm *vm;

	REQUIRE_VMX();
	vcpu = cpuid_vcpu(&vm);
	e = calloc(n, sizeof(*e));
	ASSERT_NE(NULL, e);
	EXPECT_ERRNO(E2BIG, set_cpuid(vcpu, n, 0, e));
	EXPECT_ERRNO(E2BIG, set_cpuid(vcpu, 1000, 0, e));
	EXPECT_ERRNO(E2BIG, set_cpuid(vcpu, ~0U, 0, e));
	/* Exactly the maximum is accepted. */
	e[n - 2].function = 0x40000000;
	e[n - 2].ebx = 0x11;
	EXPECT_OK(set_cpuid(vcpu, n - 1, 0, e));
	expect_hv_leaf(_metadata, vcpu, 0x11, 0, 0);
	free(e);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(set_cpuid_nonzero_flags_is_einval)
{
	struct minivmm_cpuid_entry e[2] = { { 0 } };
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	int bit;

	REQUIRE_VMX();
	vcpu = cpuid_vcpu(&vm);
	for (bit = 0; bit < 32; bit++)
		EXPECT_ERRNO_CTX(EINVAL, set_cpuid(vcpu, 2, 1U << bit, e),
				 "flags bit %d", bit);
	/* Entry flags other than INDEXED. */
	for (bit = 1; bit < 32; bit++) {
		e[1].flags = 1U << bit;
		EXPECT_ERRNO_CTX(EINVAL, set_cpuid(vcpu, 2, 0, e),
				 "entry flags bit %d", bit);
	}
	e[1].flags = MINIVMM_CPUID_INDEXED;
	EXPECT_OK(set_cpuid(vcpu, 2, 0, e));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(set_cpuid_nonzero_entry_pad_is_einval)
{
	struct minivmm_cpuid_entry *e;
	struct test_vcpu *vcpu;
	struct test_vm *vm;

	REQUIRE_VMX();
	vcpu = cpuid_vcpu(&vm);
	e = calloc(MINIVMM_MAX_CPUID, sizeof(*e));
	ASSERT_NE(NULL, e);
	e[0].pad = 1;
	EXPECT_ERRNO(EINVAL, set_cpuid(vcpu, 1, 0, e));
	e[0].pad = 0;
	/* Only the last entry of a full table is wrong. */
	e[MINIVMM_MAX_CPUID - 1].pad = 0x80000000;
	EXPECT_ERRNO(EINVAL, set_cpuid(vcpu, MINIVMM_MAX_CPUID, 0, e));
	e[MINIVMM_MAX_CPUID - 1].pad = 0;
	EXPECT_OK(set_cpuid(vcpu, MINIVMM_MAX_CPUID, 0, e));
	free(e);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(set_cpuid_bad_pointer_is_efault)
{
	struct minivmm_cpuid_entry *e;
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	void *none;

	REQUIRE_VMX();
	vcpu = cpuid_vcpu(&vm);
	EXPECT_ERRNO(EFAULT, ioctl(vcpu->fd, MINIVMM_SET_CPUID, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(vcpu->fd, MINIVMM_SET_CPUID, KERNEL_PTR));
	none = map_pages(1, PROT_NONE);
	EXPECT_ERRNO(EFAULT, ioctl(vcpu->fd, MINIVMM_SET_CPUID, none));
	EXPECT_ERRNO(EFAULT, set_cpuid(vcpu, 1, 0, NULL));
	EXPECT_ERRNO(EFAULT, set_cpuid(vcpu, 1, 0, KERNEL_PTR));
	EXPECT_ERRNO(EFAULT, set_cpuid(vcpu, 1, 0, none));
	/* Two entries, the second one in an inaccessible page. */
	e = straddle(sizeof(*e));
	memset(e, 0, sizeof(*e));
	EXPECT_ERRNO(EFAULT, set_cpuid(vcpu, 2, 0, e));
	EXPECT_OK(set_cpuid(vcpu, 1, 0, e));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(set_cpuid_nent_zero_clears_table)
{
	struct minivmm_cpuid_entry e[2] = {
		{ .function = 0x40000000, .eax = 1, .ebx = 2, .ecx = 3,
		  .edx = 4 },
		{ .function = 0 },
	};
	struct test_vcpu *vcpu;
	struct test_vm *vm;

	REQUIRE_VMX();
	vcpu = cpuid_vcpu(&vm);
	expect_signature(_metadata, vcpu);

	ASSERT_EQ(0, set_cpuid(vcpu, 1, 0, e));
	expect_hv_leaf(_metadata, vcpu, 2, 3, 4);
	/* A table without the leaf: it reads as zeros. */
	ASSERT_EQ(0, set_cpuid(vcpu, 1, 0, &e[1]));
	expect_hv_leaf(_metadata, vcpu, 0, 0, 0);
	/* No table: back to the default. */
	ASSERT_EQ(0, set_cpuid(vcpu, 0, 0, NULL));
	expect_signature(_metadata, vcpu);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(rejected_set_cpuid_keeps_table)
{
	struct minivmm_cpuid_entry e[2] = {
		{ .function = 0x40000000, .ebx = 7, .ecx = 8, .edx = 9 },
		{ .function = 0x40000000, .ebx = 1, .ecx = 1, .edx = 1,
		  .pad = 1 },
	};
	struct test_vcpu *vcpu;
	struct test_vm *vm;

	REQUIRE_VMX();
	vcpu = cpuid_vcpu(&vm);
	ASSERT_EQ(0, set_cpuid(vcpu, 1, 0, e));
	EXPECT_ERRNO(EINVAL, set_cpuid(vcpu, 1, 0, &e[1]));
	EXPECT_ERRNO(EINVAL, set_cpuid(vcpu, 1, 1, &e[0]));
	EXPECT_ERRNO(E2BIG, set_cpuid(vcpu, MINIVMM_MAX_CPUID + 1, 0, e));
	EXPECT_ERRNO(EFAULT, set_cpuid(vcpu, 1, 0, NULL));
	expect_hv_leaf(_metadata, vcpu, 7, 8, 9);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

/* ---- MINIVMM_INJECT_INTERRUPT, MINIVMM_RUN, mmap -------------------- */

TEST(inject_interrupt_bad_vector_is_einval)
{
	static const unsigned long bad[] = {
		0, 2, 8, 14, 31, 256, 257, 0xffff, -1UL, (1UL << 32) | 32,
	};
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	unsigned int i;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		EXPECT_ERRNO_CTX(EINVAL, ioctl(vcpu->fd,
					       MINIVMM_INJECT_INTERRUPT,
					       bad[i]),
				 "vector %#lx", bad[i]);
	/* None of them was queued: the lowest valid vector can be. */
	EXPECT_OK(ioctl(vcpu->fd, MINIVMM_INJECT_INTERRUPT, 32));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(inject_interrupt_while_pending_is_ebusy)
{
	struct test_vcpu *a, *b;
	struct test_vm *vm;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	a = test_vcpu_add(vm, 0);
	b = test_vcpu_add(vm, 1);
	EXPECT_OK(ioctl(a->fd, MINIVMM_INJECT_INTERRUPT, 32));
	EXPECT_ERRNO(EBUSY, ioctl(a->fd, MINIVMM_INJECT_INTERRUPT, 33));
	EXPECT_ERRNO(EBUSY, ioctl(a->fd, MINIVMM_INJECT_INTERRUPT, 32));
	/* The queue is per vCPU; 255 is valid. */
	EXPECT_OK(ioctl(b->fd, MINIVMM_INJECT_INTERRUPT, 255));
	test_vcpu_destroy(b);
	test_vcpu_destroy(a);
	test_vm_destroy(vm);
}

TEST(run_with_argument_is_einval)
{
	struct test_vcpu *vcpu;
	struct minivmm_regs r;
	struct test_vm *vm;
	struct ucall uc;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_vm_load(vm, REAL_CODE, guest_read_word,
		     GUEST_CODE_SIZE(guest_read_word));
	EXPECT_ERRNO(EINVAL, ioctl(vcpu->fd, MINIVMM_RUN, 1));
	EXPECT_ERRNO(EINVAL, ioctl(vcpu->fd, MINIVMM_RUN, 1UL << 32));
	EXPECT_ERRNO(EINVAL, ioctl(vcpu->fd, MINIVMM_RUN, -1UL));
	/* The guest did not run. */
	test_get_regs(vcpu, &r);
	EXPECT_EQ(0x7c00, r.rip);
	EXPECT_EQ(0, vcpu->run->entries);
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(vcpu, &uc));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(mmap_wrong_size_or_offset_is_einval)
{
	struct test_vm *vm;
	void *p;
	int fd;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	fd = ioctl(vm->fd, MINIVMM_CREATE_VCPU, 0);
	ASSERT_LE(0, fd);
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PAGE);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, 16 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	/* The run structure and its data area, from offset 0. */
	p = mmap(NULL, MINIVMM_RUN_MMAP_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("%s", strerror(errno));
	munmap(p, MINIVMM_RUN_MMAP_SIZE);
	close(fd);
	test_vm_destroy(vm);
}

/* ---- Unknown ioctls, other processes, lifetime ---------------------- */

TEST(vm_unknown_ioctl_is_enotty)
{
	struct minivmm_regs r;
	struct test_vm *vm;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	EXPECT_ERRNO(ENOTTY, ioctl(vm->fd, _IO(MINIVMM_IO, 0x7f), 0));
	EXPECT_ERRNO(ENOTTY, ioctl(vm->fd, _IO(MINIVMM_IO, 0x12), 0));
	/* KVM_CREATE_VCPU: another hypervisor's number. */
	EXPECT_ERRNO(ENOTTY, ioctl(vm->fd, _IO(0xAE, 0x41), 0));
	/* Device and vCPU commands sent to a VM. */
	EXPECT_ERRNO(ENOTTY, ioctl(vm->fd, MINIVMM_GET_API_VERSION, 0));
	EXPECT_ERRNO(ENOTTY, ioctl(vm->fd, MINIVMM_CREATE_VM, 0));
	EXPECT_ERRNO(ENOTTY, ioctl(vm->fd, MINIVMM_RUN, 0));
	EXPECT_ERRNO(ENOTTY, ioctl(vm->fd, MINIVMM_GET_REGS, &r));
	EXPECT_ERRNO(ENOTTY, ioctl(vm->fd, MINIVMM_INJECT_INTERRUPT, 32));
	test_vm_destroy(vm);
}

TEST(vcpu_unknown_ioctl_is_enotty)
{
	struct minivmm_memory_region region = { 0 };
	struct minivmm_caps caps;
	struct test_vcpu *vcpu;
	struct test_vm *vm;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	EXPECT_ERRNO(ENOTTY, ioctl(vcpu->fd, _IO(MINIVMM_IO, 0x7f), 0));
	EXPECT_ERRNO(ENOTTY, ioctl(vcpu->fd, _IO(MINIVMM_IO, 0x27), 0));
	/* KVM_RUN: another hypervisor's number. */
	EXPECT_ERRNO(ENOTTY, ioctl(vcpu->fd, _IO(0xAE, 0x80), 0));
	/* Device and VM commands sent to a vCPU. */
	EXPECT_ERRNO(ENOTTY, ioctl(vcpu->fd, MINIVMM_GET_API_VERSION, 0));
	EXPECT_ERRNO(ENOTTY, ioctl(vcpu->fd, MINIVMM_GET_CAPS, &caps));
	EXPECT_ERRNO(ENOTTY, ioctl(vcpu->fd, MINIVMM_CREATE_VCPU, 1));
	EXPECT_ERRNO(ENOTTY, ioctl(vcpu->fd, MINIVMM_SET_MEMORY_REGION,
				   &region));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

static int child_vcpu_ioctls(void *arg)
{
	struct minivmm_cpuid cpuid = { 0 };
	struct test_vcpu *vcpu = arg;
	struct minivmm_sregs s;
	struct minivmm_regs r;
	int bad = 0;

	memset(&r, 0, sizeof(r));
	memset(&s, 0, sizeof(s));
	CHILD_EXPECT_EIO(ioctl(vcpu->fd, MINIVMM_RUN, 0));
	CHILD_EXPECT_EIO(ioctl(vcpu->fd, MINIVMM_GET_REGS, &r));
	CHILD_EXPECT_EIO(ioctl(vcpu->fd, MINIVMM_SET_REGS, &r));
	CHILD_EXPECT_EIO(ioctl(vcpu->fd, MINIVMM_GET_SREGS, &s));
	CHILD_EXPECT_EIO(ioctl(vcpu->fd, MINIVMM_SET_SREGS, &s));
	CHILD_EXPECT_EIO(ioctl(vcpu->fd, MINIVMM_SET_CPUID, &cpuid));
	CHILD_EXPECT_EIO(ioctl(vcpu->fd, MINIVMM_INJECT_INTERRUPT, 32));
	return bad;
}

TEST(vcpu_ioctls_from_child_are_eio)
{
	struct test_vcpu *vcpu;
	struct minivmm_regs r;
	struct test_vm *vm;
	struct ucall uc;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_vm_load(vm, REAL_CODE, guest_read_word,
		     GUEST_CODE_SIZE(guest_read_word));
	EXPECT_EQ(0, in_child(child_vcpu_ioctls, vcpu));

	/* The child changed nothing: the vCPU is at reset, still ours. */
	test_get_regs(vcpu, &r);
	EXPECT_EQ(0x7c00, r.rip);
	EXPECT_EQ(0, vcpu->run->entries);
	EXPECT_OK(ioctl(vcpu->fd, MINIVMM_INJECT_INTERRUPT, 32));
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(vcpu, &uc));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(vm_lives_until_last_vcpu_fd_closes)
{
	struct minivmm_caps before, now;
	struct test_vcpu *vcpu;
	struct minivmm_regs r;
	struct test_vm *vm;
	struct ucall uc;

	REQUIRE_VMX();
	before = get_caps(_metadata);
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	*(uint16_t *)(vm->mem + 0x7e00) = 0x4242;
	test_vm_load(vm, REAL_CODE, guest_read_word,
		     GUEST_CODE_SIZE(guest_read_word));

	/* Close the VM and the device; keep the vCPU. */
	EXPECT_EQ(0, close(vm->fd));
	EXPECT_EQ(0, close(vm->dev));
	vm->fd = -1;
	vm->dev = -1;
	now = get_caps(_metadata);
	EXPECT_EQ(before.nr_vms + 1, now.nr_vms);

	/* The vCPU works, with the VM's memory. */
	test_get_regs(vcpu, &r);
	EXPECT_EQ(0x7c00, r.rip);
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(vcpu, &uc));
	EXPECT_EQ(0x4242, uc.args[0] & 0xffff);
	test_run_expect(vcpu, MINIVMM_EXIT_HLT);

	/* The last fd (and the run mapping) gone: so is the VM. */
	test_vcpu_destroy(vcpu);
	now = get_caps(_metadata);
	EXPECT_EQ(before.nr_vms, now.nr_vms);
	test_vm_destroy(vm);
}

TEST_HARNESS_MAIN

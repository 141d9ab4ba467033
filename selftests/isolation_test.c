// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory: each VM sees only its own, guest and test share it both
 * ways, the memory map cannot change under a running vCPU, and slots
 * added or deleted between runs take effect with no stale translation
 * left behind.
 *
 * Every test runs twice: with guest RAM in 2 MiB-aligned transparent huge
 * pages, which the module maps with 2 MiB EPT pages, and with memory only
 * 4 KiB EPT pages can map (a slot 4 KiB short of 2 MiB, a one-page slot).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "minivmm_test.h"

#define PAGE		4096UL

/* Guest physical layout on top of guest.h's. */
#define DATA_GPA	0x100000UL	/* in slot 0 */
#define FLAG_GPA	0x90000UL	/* in slot 0 */
#define SLOT1_GPA	0x200000UL	/* the slot tests add and delete */

/* Quadwords guest_fill_check writes: 512 KiB. */
#define FILL_QWORDS	0x10000

#define UCALL_FAIL_ASM	UCALL_ASM(2)

/*
 * Long mode. Fill FILL_QWORDS quadwords at DATA_GPA with RSI + index,
 * report, then check they are all still there and finish. On a mismatch
 * report a failure: RBX = 1, RCX = found, RDX = expected.
 */
GUEST_CODE(guest_fill_check, ".code64",
	   "mov $0x100000, %rdi\n\t"
	   "xor %ecx, %ecx\n\t"
	   "1: lea (%rsi,%rcx), %rax\n\t"
	   "mov %rax, (%rdi,%rcx,8)\n\t"
	   "inc %rcx\n\t"
	   "cmp $0x10000, %rcx\n\t"
	   "jne 1b\n\t"
	   GUEST_SYNC_ASM(1)
	   "xor %ecx, %ecx\n\t"
	   "2: lea (%rsi,%rcx), %rdx\n\t"
	   "cmp %rdx, (%rdi,%rcx,8)\n\t"
	   "jne 3f\n\t"
	   "inc %rcx\n\t"
	   "cmp $0x10000, %rcx\n\t"
	   "jne 2b\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t"
	   "3: mov (%rdi,%rcx,8), %rcx\n\t"
	   "mov $1, %ebx\n\t"
	   UCALL_FAIL_ASM
	   "hlt\n\t");

/*
 * Long mode, 16 rounds r: read the quadword the test left at
 * DATA_GPA + r * 4 KiB, store 3 * value + 1 right after it, and report
 * the value (RBX) and the round (RCX).
 */
GUEST_CODE(guest_exchange, ".code64",
	   "xor %r12d, %r12d\n\t"
	   "1: mov %r12, %rdi\n\t"
	   "shl $12, %rdi\n\t"
	   "add $0x100000, %rdi\n\t"
	   "mov (%rdi), %rbx\n\t"
	   "lea 1(%rbx,%rbx,2), %rax\n\t"
	   "mov %rax, 8(%rdi)\n\t"
	   "mov %r12, %rcx\n\t"
	   UCALL_ASM(1)
	   "inc %r12\n\t"
	   "cmp $16, %r12\n\t"
	   "jne 1b\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");

/* Long mode: raise the flag at FLAG_GPA, then spin. */
GUEST_CODE(guest_flag_spin, ".code64",
	   "movl $1, 0x90000\n\t"
	   "1: jmp 1b\n\t");

/*
 * Long mode, forever: read SLOT1_GPA + 0x10, spin a while, read
 * SLOT1_GPA + 0x18, report. Both reads are in one RUN unless the first
 * one leaves for userspace.
 */
GUEST_CODE(guest_read_twice, ".code64",
	   "1: mov 0x200010, %rbx\n\t"
	   "mov $200000, %ecx\n\t"
	   "2: dec %ecx\n\t"
	   "jnz 2b\n\t"
	   "mov 0x200018, %rdx\n\t"
	   UCALL_ASM(1)
	   "jmp 1b\n\t");

/*
 * Long mode: read SLOT1_GPA + 0x10 and report it (RBX), twice; then
 * write 0x5a5a5a5a5a5a5a5a to SLOT1_GPA + 0x18 and finish.
 */
GUEST_CODE(guest_new_slot, ".code64",
	   "mov 0x200010, %rbx\n\t"
	   UCALL_ASM(1)
	   "mov 0x200010, %rbx\n\t"
	   UCALL_ASM(1)
	   "movabs $0x5a5a5a5a5a5a5a5a, %rcx\n\t"
	   "mov %rcx, 0x200018\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");

/*
 * Long mode: read SLOT1_GPA + 0x20 and report it (RBX), twice; then
 * write 0x77 to SLOT1_GPA + 0x28 and finish.
 */
GUEST_CODE(guest_old_slot, ".code64",
	   "mov 0x200020, %rbx\n\t"
	   UCALL_ASM(1)
	   "mov 0x200020, %rbx\n\t"
	   UCALL_ASM(1)
	   "movq $0x77, 0x200028\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");

static int set_region(struct test_vm *vm, uint32_t slot, uint64_t gpa,
		      uint64_t size, void *mem)
{
	struct minivmm_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .size = size,
		.userspace_addr = (uintptr_t)mem,
	};

	return ioctl(vm->fd, MINIVMM_SET_MEMORY_REGION, &r) ? -errno : 0;
}

/* A VM whose slot 0 at guest physical 0 is @mem, @size bytes. */
static struct test_vm *vm_on(void *mem, size_t size)
{
	struct test_vm *vm = calloc(1, sizeof(*vm));
	int ret;

	TEST_REQUIRE(vm, "out of memory");
	vm->dev = minivmm_open();
	TEST_REQUIRE(vm->dev >= 0, "open: %s", strerror(errno));
	vm->fd = ioctl(vm->dev, MINIVMM_CREATE_VM, 0);
	TEST_REQUIRE(vm->fd >= 0, "MINIVMM_CREATE_VM: %s", strerror(errno));
	vm->mem = mem;
	vm->mem_size = size;
	ret = set_region(vm, 0, 0, size, mem);
	TEST_REQUIRE(!ret, "slot 0: %s", strerror(-ret));
	return vm;
}

FIXTURE(mem) {
	/* Slot 0 and the extra slot: their size and backing. */
	size_t ram_size, slot1_size;
};

FIXTURE_VARIANT(mem) {
	bool huge;
};

FIXTURE_VARIANT_ADD(mem, huge_pages) {
	.huge = true,
};

FIXTURE_VARIANT_ADD(mem, small_pages) {
	.huge = false,
};

FIXTURE_SETUP(mem)
{
	/* 4 KiB short of 2 MiB: no 2 MiB EPT page can map any of it. */
	self->ram_size = variant->huge ? SZ_2M : SZ_2M - PAGE;
	self->slot1_size = variant->huge ? SZ_2M : PAGE;
	if (variant->huge)
		test_thp_get();
}

FIXTURE_TEARDOWN(mem)
{
	test_thp_put_back();
}

static const char *huge_missing(void *mem)
{
	struct minivmm_caps caps;

	if (minivmm_caps(&caps) || !(caps.features & MINIVMM_CAP_EPT_2M))
		return "the module does not use 2 MiB EPT pages";
	if (!test_is_huge_backed(mem))
		return "no transparent huge page for the guest's memory";
	return NULL;
}

/*
 * Guest RAM for slot 0, or for the extra slot when @slot1. With huge
 * pages, SKIP when the module or the kernel cannot provide them.
 */
#define RAM(slot1)							\
	({								\
		size_t __sz = (slot1) ? self->slot1_size : self->ram_size; \
		void *__m = test_huge_ram(__sz, variant->huge);		\
		const char *__why = variant->huge ? huge_missing(__m) : NULL; \
		if (__why)						\
			SKIP(return, "%s", __why);			\
		__m;							\
	})

TEST_F(mem, two_vms_with_the_same_addresses_see_only_their_own_memory)
{
	const uint64_t seed[2] = { 0x1111000000000000ULL,
				   0x2222000000000000ULL };
	struct test_vcpu *vcpu[2];
	struct test_vm *vm[2];
	struct minivmm_regs regs;
	struct ucall uc;
	uint64_t *data;
	int i, j, bad;

	REQUIRE_VMX();
	for (i = 0; i < 2; i++) {
		vm[i] = vm_on(RAM(false), self->ram_size);
		vcpu[i] = test_vcpu_add(vm[i], 0);
		test_vcpu_load(vcpu[i], MODE_LONG, guest_fill_check,
			       GUEST_CODE_SIZE(guest_fill_check));
		test_get_regs(vcpu[i], &regs);
		regs.rsi = seed[i];
		test_set_regs(vcpu[i], &regs);
	}

	/* Both fill the same guest physical range, one after the other. */
	for (i = 0; i < 2; i++)
		ASSERT_EQ(UCALL_SYNC, test_run_ucall(vcpu[i], &uc));

	/* Each backing buffer holds its own VM's pattern only. */
	for (i = 0; i < 2; i++) {
		data = (uint64_t *)(vm[i]->mem + DATA_GPA);
		for (j = 0, bad = 0; j < FILL_QWORDS; j++)
			bad += data[j] != seed[i] + j;
		EXPECT_EQ(0, bad) TH_LOG("VM %d: %d quadwords not its own", i,
					 bad);
	}

	/* And each guest reads back what it wrote, not the other's. */
	for (i = 0; i < 2; i++)
		EXPECT_EQ(UCALL_DONE, test_run_ucall(vcpu[i], &uc));
	for (i = 0; i < 2; i++) {
		test_vcpu_destroy(vcpu[i]);
		test_vm_destroy(vm[i]);
	}
}

TEST_F(mem, guest_and_test_see_each_others_writes)
{
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	struct ucall uc;
	uint64_t *slot, v;
	int r;

	REQUIRE_VMX();
	vm = vm_on(RAM(false), self->ram_size);
	vcpu = test_vcpu_add(vm, 0);
	test_vcpu_load(vcpu, MODE_LONG, guest_exchange,
		       GUEST_CODE_SIZE(guest_exchange));

	for (r = 0; r < 16; r++) {
		slot = (uint64_t *)(vm->mem + DATA_GPA + r * PAGE);
		v = 0x0123456700000000ULL + r * 0x10001;
		slot[0] = v;
		ASSERT_EQ(UCALL_SYNC, test_run_ucall(vcpu, &uc));
		EXPECT_EQ(r, uc.args[1]);
		/* The guest read the test's value... */
		EXPECT_EQ(v, uc.args[0]);
		/* ...and the test reads the guest's. */
		EXPECT_EQ(3 * v + 1, slot[1]);
	}
	ASSERT_EQ(UCALL_DONE, test_run_ucall(vcpu, &uc));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

struct runner {
	struct test_vcpu *vcpu;
	int ret;
};

static void *run_thread(void *arg)
{
	struct runner *r = arg;

	r->ret = test_vcpu_run(r->vcpu);
	return NULL;
}

static void on_signal(int sig)
{
}

/* Wait up to @ms milliseconds for the guest to set the flag at @gpa. */
static bool wait_flag(struct test_vm *vm, uint64_t gpa, int ms)
{
	volatile uint32_t *flag = (volatile uint32_t *)(vm->mem + gpa);

	while (ms-- > 0) {
		if (*flag)
			return true;
		usleep(1000);
	}
	return *flag != 0;
}

TEST_F(mem, memory_map_change_while_running_is_ebusy)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct test_vcpu *vcpu;
	struct runner runner;
	struct test_vm *vm;
	pthread_t thread;
	void *extra;

	REQUIRE_VMX();
	vm = vm_on(RAM(false), self->ram_size);
	extra = RAM(true);
	vcpu = test_vcpu_add(vm, 0);
	test_vcpu_load(vcpu, MODE_LONG, guest_flag_spin,
		       GUEST_CODE_SIZE(guest_flag_spin));
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));

	runner.vcpu = vcpu;
	ASSERT_EQ(0, pthread_create(&thread, NULL, run_thread, &runner));
	ASSERT_TRUE(wait_flag(vm, FLAG_GPA, 10000))
		TH_LOG("the guest never ran");

	/* The guest is running: adding, deleting both refused. */
	EXPECT_EQ(-EBUSY, set_region(vm, 1, SLOT1_GPA, self->slot1_size,
				     extra));
	EXPECT_EQ(-EBUSY, set_region(vm, 0, 0, 0, NULL));

	/* Once RUN has returned, the same changes are accepted. */
	ASSERT_EQ(0, pthread_kill(thread, SIGUSR1));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(-EINTR, runner.ret);
	EXPECT_EQ(MINIVMM_EXIT_INTR, vcpu->run->exit_reason);
	EXPECT_EQ(0, set_region(vm, 1, SLOT1_GPA, self->slot1_size, extra));
	EXPECT_EQ(0, set_region(vm, 1, 0, 0, NULL));
	EXPECT_EQ(0, set_region(vm, 0, 0, 0, NULL));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

struct mapper {
	struct test_vm *vm;
	void *mem;
	size_t size;
	volatile bool stop;
	volatile unsigned int runs;	/* RUNs returned so far */
	volatile unsigned int added, deleted;
	unsigned int busy, other;
};

/*
 * Between RUNs, wait (bounded) for the other thread to change the map:
 * on a slow or single CPU it might otherwise never find a moment with
 * no RUN in flight.
 */
static void wait_for_change(struct mapper *m)
{
	unsigned int seen = m->added + m->deleted;
	int ms = 5000 * timeout_scale();

	while (m->added + m->deleted == seen && ms-- > 0)
		usleep(1000);
}

/* Add and delete slot 1 over and over, counting what each call gave. */
static void *map_thread(void *arg)
{
	struct mapper *m = arg;
	unsigned int seen;
	bool mapped = false;
	int ret;

	while (!m->stop) {
		ret = mapped ? set_region(m->vm, 1, 0, 0, NULL) :
			       set_region(m->vm, 1, SLOT1_GPA, m->size, m->mem);
		if (!ret) {
			mapped = !mapped;
			if (!mapped) {
				m->deleted++;
				continue;
			}
			m->added++;
			/*
			 * Delete it only once RUNs ran on the new map: the
			 * deletion then meets RUNs in flight.
			 */
			seen = m->runs;
			while (!m->stop && m->runs - seen < 2)
				usleep(50);
		} else if (ret == -EBUSY) {
			m->busy++;
		} else {
			m->other++;
		}
	}
	return NULL;
}

/*
 * RUN counts itself in without a lock: a slot added or deleted by another
 * thread must still never change the map in the middle of a RUN. The
 * guest reads the slot twice in one RUN; a second read that finds the
 * slot gone after the first found it there is such a change (or, for a
 * change that lands at another point of the RUN, an exit other than the
 * guest's). On two CPUs, a change check that ignores running vCPUs fails
 * this test; on one, the scheduler seldom puts a change inside a RUN.
 */
TEST_F(mem, memory_map_changes_racing_runs_never_land_inside_one)
{
	unsigned int i, rounds = stress_rounds(400), mid_run = 0, ios = 0;
	struct minivmm_run *run;
	struct test_vcpu *vcpu;
	struct mapper m = { 0 };
	bool first_left = false;
	pthread_t thread;

	REQUIRE_VMX();
	m.vm = vm_on(RAM(false), self->ram_size);
	m.mem = RAM(true);
	m.size = self->slot1_size;
	vcpu = test_vcpu_add(m.vm, 0);
	run = vcpu->run;
	test_vcpu_load(vcpu, MODE_LONG, guest_read_twice,
		       GUEST_CODE_SIZE(guest_read_twice));
	ASSERT_EQ(0, pthread_create(&thread, NULL, map_thread, &m));

	for (i = 0; i < rounds; i++) {
		ASSERT_EQ(0, test_vcpu_run(vcpu));
		m.runs++;
		if (run->exit_reason == MINIVMM_EXIT_IO) {
			ASSERT_EQ(UCALL_PORT, run->io.port);
			first_left = false;
			ios++;
		} else {
			ASSERT_EQ(MINIVMM_EXIT_MMIO, run->exit_reason);
			ASSERT_EQ(0, run->mmio.is_write);
			run->mmio.data = 0;
			if (run->mmio.phys_addr == SLOT1_GPA + 0x10) {
				first_left = true;
			} else {
				ASSERT_EQ(SLOT1_GPA + 0x18,
					  run->mmio.phys_addr);
				mid_run += !first_left;
				first_left = false;
			}
		}
		if (i % 4 == 3)
			wait_for_change(&m);
	}
	m.stop = true;
	ASSERT_EQ(0, pthread_join(thread, NULL));
	TH_LOG("%u RUNs, %u reports; slot added %u, deleted %u times, %u refused",
	       rounds, ios, m.added, m.deleted, m.busy);
	EXPECT_EQ(0, mid_run);
	EXPECT_EQ(0, m.other);
	/* The race was run: changes landed between RUNs and were refused. */
	EXPECT_LT(0, m.deleted);
	EXPECT_LT(0, m.busy);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(m.vm);
	munmap(m.mem, m.size);
}

TEST_F(mem, slot_added_after_first_run_is_used)
{
	const uint64_t pattern = 0xfeedface0badf00dULL;
	struct minivmm_run *run;
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	struct ucall uc;
	uint64_t *extra;

	REQUIRE_VMX();
	vm = vm_on(RAM(false), self->ram_size);
	extra = RAM(true);
	extra[2] = pattern;		/* SLOT1_GPA + 0x10 */
	vcpu = test_vcpu_add(vm, 0);
	test_vcpu_load(vcpu, MODE_LONG, guest_new_slot,
		       GUEST_CODE_SIZE(guest_new_slot));

	/* No memory there yet: an MMIO read, answered by the test. */
	run = test_run_expect(vcpu, MINIVMM_EXIT_MMIO);
	EXPECT_EQ(SLOT1_GPA + 0x10, run->mmio.phys_addr);
	EXPECT_EQ(0, run->mmio.is_write);
	EXPECT_EQ(8, run->mmio.len);
	run->mmio.data = 0xabcdef;
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(vcpu, &uc));
	EXPECT_EQ(0xabcdef, uc.args[0]);

	/* The slot added now is what the guest reads and writes. */
	ASSERT_EQ(0, set_region(vm, 1, SLOT1_GPA, self->slot1_size, extra));
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(vcpu, &uc));
	EXPECT_EQ(pattern, uc.args[0]);
	ASSERT_EQ(UCALL_DONE, test_run_ucall(vcpu, &uc));
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, extra[3]);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
	munmap(extra, self->slot1_size);
}

TEST_F(mem, deleted_slot_accesses_are_mmio)
{
	const uint64_t pattern = 0x1122334455667788ULL;
	struct minivmm_run *run;
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	struct ucall uc;
	uint64_t *extra;

	REQUIRE_VMX();
	vm = vm_on(RAM(false), self->ram_size);
	extra = RAM(true);
	extra[4] = pattern;		/* SLOT1_GPA + 0x20 */
	ASSERT_EQ(0, set_region(vm, 1, SLOT1_GPA, self->slot1_size, extra));
	vcpu = test_vcpu_add(vm, 0);
	test_vcpu_load(vcpu, MODE_LONG, guest_old_slot,
		       GUEST_CODE_SIZE(guest_old_slot));

	/* The guest reads RAM, caching the translation on its way. */
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(vcpu, &uc));
	EXPECT_EQ(pattern, uc.args[0]);

	/* Deleted: the same read is an MMIO exit now. */
	ASSERT_EQ(0, set_region(vm, 1, 0, 0, NULL));
	run = test_run_expect(vcpu, MINIVMM_EXIT_MMIO);
	EXPECT_EQ(SLOT1_GPA + 0x20, run->mmio.phys_addr);
	EXPECT_EQ(0, run->mmio.is_write);
	EXPECT_EQ(8, run->mmio.len);
	run->mmio.data = 0x4321;
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(vcpu, &uc));
	EXPECT_EQ(0x4321, uc.args[0]);

	/* So is a write, and the old memory does not change. */
	run = test_run_expect(vcpu, MINIVMM_EXIT_MMIO);
	EXPECT_EQ(SLOT1_GPA + 0x28, run->mmio.phys_addr);
	EXPECT_EQ(1, run->mmio.is_write);
	EXPECT_EQ(8, run->mmio.len);
	EXPECT_EQ(0x77, run->mmio.data);
	EXPECT_EQ(0, extra[5]);
	ASSERT_EQ(UCALL_DONE, test_run_ucall(vcpu, &uc));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
	munmap(extra, self->slot1_size);
}

/*
 * The lookup of a slot stops at the last slot in use: a slot with the
 * highest number is found, also after a slot below it went, and once it
 * goes too its addresses are device memory.
 */
TEST_F(mem, last_slot_number_is_found_until_deleted)
{
	const uint64_t pattern = 0x8877665544332211ULL;
	struct minivmm_caps caps;
	struct minivmm_run *run;
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	struct ucall uc;
	uint64_t *extra, *low;
	uint32_t last;

	REQUIRE_VMX();
	ASSERT_EQ(0, minivmm_caps(&caps));
	ASSERT_LT(2, caps.max_mem_slots);
	last = caps.max_mem_slots - 1;
	vm = vm_on(RAM(false), self->ram_size);
	extra = RAM(true);
	low = RAM(true);
	extra[4] = pattern;		/* SLOT1_GPA + 0x20 */
	ASSERT_EQ(0, set_region(vm, 1, SLOT1_GPA + self->slot1_size,
				self->slot1_size, low));
	ASSERT_EQ(0, set_region(vm, last, SLOT1_GPA, self->slot1_size,
				extra));
	ASSERT_EQ(0, set_region(vm, 1, 0, 0, NULL));
	vcpu = test_vcpu_add(vm, 0);
	test_vcpu_load(vcpu, MODE_LONG, guest_old_slot,
		       GUEST_CODE_SIZE(guest_old_slot));

	/* RAM: no exit before the report. */
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(vcpu, &uc));
	EXPECT_EQ(pattern, uc.args[0]);

	/* The last slot gone: no slot is left above slot 0. */
	ASSERT_EQ(0, set_region(vm, last, 0, 0, NULL));
	run = test_run_expect(vcpu, MINIVMM_EXIT_MMIO);
	EXPECT_EQ(SLOT1_GPA + 0x20, run->mmio.phys_addr);
	EXPECT_EQ(0, run->mmio.is_write);
	run->mmio.data = 0x1234;
	ASSERT_EQ(UCALL_SYNC, test_run_ucall(vcpu, &uc));
	EXPECT_EQ(0x1234, uc.args[0]);

	/* Back in the last slot: RAM again, the guest's write lands there. */
	ASSERT_EQ(0, set_region(vm, last, SLOT1_GPA, self->slot1_size,
				extra));
	ASSERT_EQ(UCALL_DONE, test_run_ucall(vcpu, &uc));
	EXPECT_EQ(0x77, extra[5]);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
	munmap(extra, self->slot1_size);
	munmap(low, self->slot1_size);
}

TEST_HARNESS_MAIN

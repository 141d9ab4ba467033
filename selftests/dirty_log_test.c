// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty page logging: MINIVMM_MEM_LOG_DIRTY on a memory slot and
 * MINIVMM_GET_DIRTY_LOG report the pages the guest wrote, and only those,
 * across 4 KiB and 2 MiB EPT mappings and while a vCPU runs.
 *
 * Slot 0 (guest.h's layout) holds the code, the page tables and the list
 * of pages the guest touches; slot 1, the logged one, is 2 MiB at
 * SLOT1_GPA, so that the guest's own page table updates (in slot 0) never
 * show in its log.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "minivmm_test.h"

#define PAGE		4096UL
#define SLOT1_GPA	0x200000UL
#define SLOT1_PAGES	(SZ_2M / PAGE)
#define LOG_WORDS	(SLOT1_PAGES / 64)
#define LIST_GPA	0x90000UL	/* count, then gpa | 1 for a read */
#define STOP_GPA	0x98000UL

/*
 * Long mode. Read the list at LIST_GPA: for each entry, increment the
 * quadword at the address, or only read it when bit 0 is set. Then
 * UCALL_SYNC 1 and start over with the list as it is then.
 */
GUEST_CODE(guest_touch, ".code64",
	   "1: mov $0x90000, %rsi\n\t"
	   "mov (%rsi), %rcx\n\t"
	   "add $8, %rsi\n\t"
	   "2: test %rcx, %rcx\n\t"
	   "jz 4f\n\t"
	   "mov (%rsi), %rdi\n\t"
	   "btr $0, %rdi\n\t"
	   "jc 3f\n\t"
	   "incq (%rdi)\n\t"
	   "jmp 5f\n\t"
	   "3: mov (%rdi), %rax\n\t"
	   "5: add $8, %rsi\n\t"
	   "dec %rcx\n\t"
	   "jmp 2b\n\t"
	   "4: " GUEST_SYNC_ASM(1)
	   "jmp 1b\n\t");

/*
 * Pages of slot 1 guest_counter writes: COUNTER_PAGES of them,
 * COUNTER_STRIDE apart, from the first page to the last but one, so
 * that they lie all over a 2 MiB mapping.
 */
#define COUNTER_PAGES	16
#define COUNTER_STRIDE	34

/* Whether guest_counter writes page @i of slot 1. */
static bool counter_writes(unsigned int i)
{
	return i % COUNTER_STRIDE == 0 && i / COUNTER_STRIDE < COUNTER_PAGES;
}

/*
 * Long mode. Until the quadword at STOP_GPA is nonzero: increment a
 * counter and write it to the first quadword of pages 0, 34, 68 ...
 * 510 of slot 1, in that order. Then UCALL_DONE.
 */
GUEST_CODE(guest_counter, ".code64",
	   "xor %rax, %rax\n\t"
	   "1: inc %rax\n\t"
	   "mov $0x200000, %rdi\n\t"
	   "mov $16, %ecx\n\t"
	   "2: mov %rax, (%rdi)\n\t"
	   "add $(34 * 4096), %rdi\n\t"
	   "dec %ecx\n\t"
	   "jnz 2b\n\t"
	   "cmpq $0, 0x98000\n\t"
	   "je 1b\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");

static int set_region(struct test_vm *vm, uint32_t slot, uint32_t flags,
		      uint64_t gpa, uint64_t size, void *mem)
{
	struct minivmm_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.size = size, .userspace_addr = (uintptr_t)mem,
	};

	return ioctl(vm->fd, MINIVMM_SET_MEMORY_REGION, &r) ? -errno : 0;
}

static int get_log(struct test_vm *vm, uint32_t slot, void *bitmap)
{
	struct minivmm_dirty_log log = {
		.slot = slot, .bitmap = (uintptr_t)bitmap,
	};

	return ioctl(vm->fd, MINIVMM_GET_DIRTY_LOG, &log) ? -errno : 0;
}

/* A VM with slot 0 and slot 1 (@mem, @flags), a vCPU running @code. */
struct setup {
	struct test_vm *vm;
	struct test_vcpu *vcpu;
	uint8_t *mem1;
};

static void setup(struct setup *s, uint32_t flags, bool huge,
		  const void *code, size_t len)
{
	int ret;

	s->vm = test_vm_create(GUEST_MEM_SIZE);
	s->mem1 = test_huge_ram(SZ_2M, huge);
	ret = set_region(s->vm, 1, flags, SLOT1_GPA, SZ_2M, s->mem1);
	TEST_REQUIRE(!ret, "slot 1: %s", strerror(-ret));
	s->vcpu = test_vcpu_add(s->vm, 0);
	test_vcpu_load(s->vcpu, MODE_LONG, code, len);
}

static void teardown(struct setup *s)
{
	test_vcpu_destroy(s->vcpu);
	test_vm_destroy(s->vm);
	munmap(s->mem1, SZ_2M);
}

/* Have the guest write the slot-1 pages @writes and read @reads. */
static void touch(struct setup *s, const int *writes, int nw,
		  const int *reads, int nr)
{
	uint64_t *list = (uint64_t *)(s->vm->mem + LIST_GPA);
	int i;

	list[0] = nw + nr;
	for (i = 0; i < nw; i++)
		list[1 + i] = SLOT1_GPA + writes[i] * PAGE;
	for (i = 0; i < nr; i++)
		list[1 + nw + i] = (SLOT1_GPA + reads[i] * PAGE) | 1;
	test_expect_sync(s->vcpu, 1);
}

/* The pages set in @log, as a printable list, for messages. */
static const char *pages_str(const uint64_t *log)
{
	static char buf[512];
	size_t n = 0;
	unsigned int i;

	buf[0] = 0;
	for (i = 0; i < SLOT1_PAGES && n < sizeof(buf) - 16; i++)
		if (log[i / 64] & (1ULL << (i % 64)))
			n += snprintf(buf + n, sizeof(buf) - n, " %u", i);
	return buf;
}

/* Whether @log holds exactly the pages @want. */
static bool log_is(const uint64_t *log, const int *want, int n)
{
	uint64_t expect[LOG_WORDS] = { 0 };
	int i;

	for (i = 0; i < n; i++)
		expect[want[i] / 64] |= 1ULL << (want[i] % 64);
	return !memcmp(expect, log, sizeof(expect));
}

static const int written[] = { 0, 5, 63, 64, 300, 511 };
static const int only_read[] = { 1, 6, 100 };

#define N(a)	((int)(sizeof(a) / sizeof((a)[0])))

TEST(reports_exactly_the_pages_written)
{
	uint64_t log[LOG_WORDS];
	struct setup s;
	int i;

	REQUIRE_VMX();
	setup(&s, MINIVMM_MEM_LOG_DIRTY, false, guest_touch,
	      GUEST_CODE_SIZE(guest_touch));
	touch(&s, written, N(written), only_read, N(only_read));
	for (i = 0; i < N(written); i++)
		EXPECT_EQ(1, *(uint64_t *)(s.mem1 + written[i] * PAGE));
	memset(log, 0xa5, sizeof(log));
	ASSERT_EQ(0, get_log(s.vm, 1, log));
	EXPECT_TRUE(log_is(log, written, N(written)))
		TH_LOG("logged:%s", pages_str(log));
	teardown(&s);
}

TEST(second_call_is_empty)
{
	uint64_t log[LOG_WORDS];
	struct setup s;

	REQUIRE_VMX();
	setup(&s, MINIVMM_MEM_LOG_DIRTY, false, guest_touch,
	      GUEST_CODE_SIZE(guest_touch));
	touch(&s, written, N(written), NULL, 0);
	ASSERT_EQ(0, get_log(s.vm, 1, log));
	ASSERT_TRUE(log_is(log, written, N(written)))
		TH_LOG("logged:%s", pages_str(log));
	memset(log, 0xa5, sizeof(log));
	ASSERT_EQ(0, get_log(s.vm, 1, log));
	EXPECT_TRUE(log_is(log, NULL, 0)) TH_LOG("logged:%s", pages_str(log));
	teardown(&s);
}

TEST(writes_after_the_clear_are_seen)
{
	const int first[] = { 3, 7 }, second[] = { 3, 9 };
	uint64_t log[LOG_WORDS];
	struct setup s;

	REQUIRE_VMX();
	setup(&s, MINIVMM_MEM_LOG_DIRTY, false, guest_touch,
	      GUEST_CODE_SIZE(guest_touch));
	touch(&s, first, N(first), NULL, 0);
	ASSERT_EQ(0, get_log(s.vm, 1, log));
	ASSERT_TRUE(log_is(log, first, N(first)))
		TH_LOG("logged:%s", pages_str(log));
	/* Page 3 again: its write permission must be gone once more. */
	touch(&s, second, N(second), NULL, 0);
	ASSERT_EQ(0, get_log(s.vm, 1, log));
	EXPECT_TRUE(log_is(log, second, N(second)))
		TH_LOG("logged:%s", pages_str(log));
	EXPECT_EQ(2, *(uint64_t *)(s.mem1 + 3 * PAGE));
	teardown(&s);
}

TEST(logging_turned_on_splits_a_2m_mapping)
{
	const int before[] = { 10 }, after[] = { 2, 300, 511 };
	uint64_t log[LOG_WORDS];
	struct minivmm_caps caps;
	struct setup s;

	REQUIRE_VMX();
	if (minivmm_caps(&caps) || !(caps.features & MINIVMM_CAP_EPT_2M))
		SKIP(return, "the module does not use 2 MiB EPT pages");
	test_thp_get();
	setup(&s, 0, true, guest_touch, GUEST_CODE_SIZE(guest_touch));
	if (!test_is_huge_backed(s.mem1)) {
		teardown(&s);
		test_thp_put_back();
		SKIP(return, "no transparent huge page for slot 1");
	}
	/* The guest uses the 2 MiB mapping before logging starts. */
	touch(&s, before, N(before), NULL, 0);
	ASSERT_EQ(0, set_region(s.vm, 1, MINIVMM_MEM_LOG_DIRTY, SLOT1_GPA,
				SZ_2M, s.mem1));
	ASSERT_EQ(0, get_log(s.vm, 1, log));
	EXPECT_TRUE(log_is(log, NULL, 0)) TH_LOG("logged:%s", pages_str(log));
	touch(&s, after, N(after), before, N(before));
	ASSERT_EQ(0, get_log(s.vm, 1, log));
	EXPECT_TRUE(log_is(log, after, N(after)))
		TH_LOG("logged:%s", pages_str(log));
	teardown(&s);
	test_thp_put_back();
}

TEST(logging_turned_off_and_on_again)
{
	const int pages[] = { 4, 40 };
	uint64_t log[LOG_WORDS];
	struct setup s;

	REQUIRE_VMX();
	setup(&s, MINIVMM_MEM_LOG_DIRTY, false, guest_touch,
	      GUEST_CODE_SIZE(guest_touch));
	touch(&s, pages, N(pages), NULL, 0);
	ASSERT_EQ(0, set_region(s.vm, 1, 0, SLOT1_GPA, SZ_2M, s.mem1));
	EXPECT_EQ(-ENOENT, get_log(s.vm, 1, log));
	/* Writes go on, without a log. */
	touch(&s, pages, N(pages), NULL, 0);
	EXPECT_EQ(2, *(uint64_t *)(s.mem1 + 40 * PAGE));
	ASSERT_EQ(0, set_region(s.vm, 1, MINIVMM_MEM_LOG_DIRTY, SLOT1_GPA,
				SZ_2M, s.mem1));
	ASSERT_EQ(0, get_log(s.vm, 1, log));
	EXPECT_TRUE(log_is(log, NULL, 0)) TH_LOG("logged:%s", pages_str(log));
	touch(&s, pages + 1, 1, NULL, 0);
	ASSERT_EQ(0, get_log(s.vm, 1, log));
	EXPECT_TRUE(log_is(log, pages + 1, 1))
		TH_LOG("logged:%s", pages_str(log));
	teardown(&s);
}

struct runner {
	struct test_vcpu *vcpu;
	uint64_t nr;
};

static void *run_thread(void *arg)
{
	struct runner *r = arg;
	struct ucall uc;

	r->nr = test_run_ucall(r->vcpu, &uc);
	return NULL;
}

/*
 * A copy of slot 1 kept up to date from the log alone, as a migration
 * does, while the guest writes: equal to the memory once it stopped.
 * Each round waits for a whole pass of the guest over its pages after
 * the previous call (the counter moved on twice), so the log must hold
 * every page the guest writes, and no other. With @huge, slot 1 is one
 * 2 MiB EPT leaf (a transparent huge page behind it; SKIP without) and
 * logging is turned on while the vCPU runs, splitting it under the
 * guest; without, slot 1 is logged from the start, 4 KiB leaves.
 */
static void log_while_running(struct __test_metadata *_metadata, bool huge)
{
	volatile uint64_t *counter, *stop;
	unsigned int round, rounds = 20, ms;
	uint64_t log[LOG_WORDS];
	struct minivmm_caps caps;
	struct runner runner;
	pthread_t thread;
	struct setup s;
	uint8_t *copy;
	uint64_t seen;
	unsigned int i;

	REQUIRE_VMX();
	if (huge) {
		if (minivmm_caps(&caps) ||
		    !(caps.features & MINIVMM_CAP_EPT_2M))
			SKIP(return, "the module does not use 2 MiB EPT pages");
		test_thp_get();
	}
	setup(&s, huge ? 0 : MINIVMM_MEM_LOG_DIRTY, huge, guest_counter,
	      GUEST_CODE_SIZE(guest_counter));
	if (huge && !test_is_huge_backed(s.mem1)) {
		teardown(&s);
		test_thp_put_back();
		SKIP(return, "no transparent huge page for slot 1");
	}
	copy = malloc(SZ_2M);
	ASSERT_NE(NULL, copy);
	counter = (volatile uint64_t *)s.mem1;
	stop = (volatile uint64_t *)(s.vm->mem + STOP_GPA);
	if (!huge)
		memcpy(copy, s.mem1, SZ_2M);

	runner.vcpu = s.vcpu;
	ASSERT_EQ(0, pthread_create(&thread, NULL, run_thread, &runner));
	for (ms = 0; !*counter && ms < 10000u * timeout_scale(); ms++)
		usleep(1000);
	ASSERT_NE(0, *counter) TH_LOG("the guest never ran");
	if (huge) {
		/* The guest writes through the 2 MiB leaf meanwhile. */
		ASSERT_EQ(0, set_region(s.vm, 1, MINIVMM_MEM_LOG_DIRTY,
					SLOT1_GPA, SZ_2M, s.mem1));
		/* Written after logging began: logged, and copied again. */
		memcpy(copy, s.mem1, SZ_2M);
	}

	seen = *counter;
	for (round = 0; round <= rounds; round++) {
		/*
		 * Pass seen + 1 began after the last call returned; once the
		 * counter is past it, all of its writes must be in this log.
		 * The last round, after the guest stopped, takes the rest.
		 */
		if (round < rounds) {
			for (ms = 0; *counter < seen + 2 &&
			     ms < 10000u * timeout_scale(); ms++)
				usleep(1000);
			ASSERT_LE(seen + 2, *counter) TH_LOG("the guest stopped");
		} else {
			*stop = 1;
			pthread_join(thread, NULL);
			ASSERT_EQ(UCALL_DONE, runner.nr);
		}
		ASSERT_EQ(0, get_log(s.vm, 1, log));
		seen = *counter;
		for (i = 0; i < SLOT1_PAGES; i++) {
			bool logged = log[i / 64] & (1ULL << (i % 64));

			ASSERT_FALSE(logged && !counter_writes(i))
				TH_LOG("round %u: page %u logged, never written",
				       round, i);
			if (round < rounds)
				ASSERT_FALSE(!logged && counter_writes(i))
					TH_LOG("round %u: page %u written, not logged",
					       round, i);
			if (logged)
				memcpy(copy + i * PAGE, s.mem1 + i * PAGE,
				       PAGE);
		}
	}
	TH_LOG("%u rounds, counter %llu", rounds,
	       (unsigned long long)*counter);
	for (i = 0; i < SLOT1_PAGES; i++) {
		const uint64_t *c = (uint64_t *)(copy + i * PAGE);
		const uint64_t *m = (uint64_t *)(s.mem1 + i * PAGE);

		EXPECT_EQ(0, memcmp(c, m, PAGE))
			TH_LOG("page %u: copy %llu, memory %llu", i,
			       (unsigned long long)c[0],
			       (unsigned long long)m[0]);
	}
	free(copy);
	teardown(&s);
	if (huge)
		test_thp_put_back();
}

TEST(log_read_while_the_vcpu_runs)
{
	log_while_running(_metadata, false);
}

TEST(log_turned_on_and_read_while_the_vcpu_runs_on_a_2m_mapping)
{
	log_while_running(_metadata, true);
}

/* A VM with slot 1 as given, no vCPU: for the argument checks. */
static struct test_vm *arg_vm(uint32_t flags, uint8_t **mem1)
{
	struct test_vm *vm = test_vm_create(GUEST_MEM_SIZE);
	int ret;

	*mem1 = test_huge_ram(SZ_2M, false);
	ret = set_region(vm, 1, flags, SLOT1_GPA, SZ_2M, *mem1);
	TEST_REQUIRE(!ret, "slot 1: %s", strerror(-ret));
	return vm;
}

TEST(slot_number_out_of_range_is_einval)
{
	uint64_t log[LOG_WORDS];
	struct minivmm_caps caps;
	struct test_vm *vm;
	uint8_t *mem1;

	REQUIRE_VMX();
	ASSERT_EQ(0, minivmm_caps(&caps));
	vm = arg_vm(MINIVMM_MEM_LOG_DIRTY, &mem1);
	EXPECT_EQ(-EINVAL, get_log(vm, caps.max_mem_slots, log));
	EXPECT_EQ(-EINVAL, get_log(vm, ~0u, log));
	test_vm_destroy(vm);
	munmap(mem1, SZ_2M);
}

TEST(unused_slot_is_einval)
{
	uint64_t log[LOG_WORDS];
	struct test_vm *vm;
	uint8_t *mem1;

	REQUIRE_VMX();
	vm = arg_vm(MINIVMM_MEM_LOG_DIRTY, &mem1);
	EXPECT_EQ(-EINVAL, get_log(vm, 2, log));
	test_vm_destroy(vm);
	munmap(mem1, SZ_2M);
}

TEST(slot_without_logging_is_enoent)
{
	uint64_t log[LOG_WORDS];
	struct test_vm *vm;
	uint8_t *mem1;

	REQUIRE_VMX();
	vm = arg_vm(0, &mem1);
	EXPECT_EQ(-ENOENT, get_log(vm, 1, log));
	EXPECT_EQ(-ENOENT, get_log(vm, 0, log));
	test_vm_destroy(vm);
	munmap(mem1, SZ_2M);
}

TEST(nonzero_pad_is_einval)
{
	uint64_t log[LOG_WORDS];
	struct minivmm_dirty_log arg = {
		.slot = 1, .pad = 1, .bitmap = (uintptr_t)log,
	};
	struct test_vm *vm;
	uint8_t *mem1;

	REQUIRE_VMX();
	vm = arg_vm(MINIVMM_MEM_LOG_DIRTY, &mem1);
	EXPECT_EQ(-1, ioctl(vm->fd, MINIVMM_GET_DIRTY_LOG, &arg));
	EXPECT_EQ(EINVAL, errno);
	test_vm_destroy(vm);
	munmap(mem1, SZ_2M);
}

TEST(unwritable_bitmap_is_efault_and_keeps_the_log)
{
	const int pages[] = { 8 };
	uint64_t log[LOG_WORDS];
	struct setup s;
	void *ro;

	REQUIRE_VMX();
	setup(&s, MINIVMM_MEM_LOG_DIRTY, false, guest_touch,
	      GUEST_CODE_SIZE(guest_touch));
	touch(&s, pages, N(pages), NULL, 0);
	ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-EFAULT, get_log(s.vm, 1, NULL));
	EXPECT_EQ(-EFAULT, get_log(s.vm, 1, ro));
	EXPECT_EQ(-EFAULT, ioctl(s.vm->fd, MINIVMM_GET_DIRTY_LOG, NULL) ?
			   -errno : 0);
	ASSERT_EQ(0, get_log(s.vm, 1, log));
	EXPECT_TRUE(log_is(log, pages, N(pages)))
		TH_LOG("logged:%s", pages_str(log));
	munmap(ro, PAGE);
	teardown(&s);
}

TEST(logging_a_readonly_slot_is_einval)
{
	struct test_vm *vm = NULL;
	uint8_t *mem1;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	mem1 = test_huge_ram(SZ_2M, false);
	EXPECT_EQ(-EINVAL, set_region(vm, 1, MINIVMM_MEM_LOG_DIRTY |
				      MINIVMM_MEM_READONLY, SLOT1_GPA, SZ_2M,
				      mem1));
	test_vm_destroy(vm);
	munmap(mem1, SZ_2M);
}

TEST(changing_more_than_logging_is_eexist)
{
	struct test_vm *vm;
	uint8_t *mem1;

	REQUIRE_VMX();
	vm = arg_vm(0, &mem1);
	EXPECT_EQ(-EEXIST, set_region(vm, 1, MINIVMM_MEM_LOG_DIRTY, SLOT1_GPA,
				      SZ_2M - PAGE, mem1));
	EXPECT_EQ(-EEXIST, set_region(vm, 1, MINIVMM_MEM_LOG_DIRTY,
				      SLOT1_GPA + SZ_2M, SZ_2M, mem1));
	/* The same flags again: still the slot in use. */
	EXPECT_EQ(-EEXIST, set_region(vm, 1, 0, SLOT1_GPA, SZ_2M, mem1));
	test_vm_destroy(vm);
	munmap(mem1, SZ_2M);
}

TEST_HARNESS_MAIN

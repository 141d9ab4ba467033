// SPDX-License-Identifier: GPL-2.0
/*
 * Posted writes (MINIVMM_POSTED_RANGE): guest OUTs and MMIO writes inside
 * a registered range go to the vCPU's posted ring, in the guest's order,
 * and the guest goes on; a read, a write outside the ranges and a write
 * that finds the ring full exit as before, with the earlier writes in the
 * ring. Every bad argument has its errno.
 *
 * The guests are small long-mode programs ending in a ucall; a test that
 * expects the writes to be posted runs the guest once, so any exit for
 * them fails it.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "minivmm_test.h"

#define PORT		0xe0
#define ENTRIES		MINIVMM_POSTED_RING_ENTRIES
/* More writes than the ring holds; a number the guest's assembly can use. */
#define MANY		200
_Static_assert(MANY > ENTRIES, "MANY must overflow the ring");
#define GPA_LIMIT	(1ULL << 48)

#define STR(x)		#x
#define XSTR(x)		STR(x)

/* Four OUTs of 1, 2, 4 and 1 bytes to PORT..PORT+3, then done. */
GUEST_CODE(g_port_seq, ".code64",
	   "mov $0x11, %al\n\t"
	   "out %al, $" XSTR(PORT) "\n\t"
	   "mov $0x2233, %ax\n\t"
	   "out %ax, $(" XSTR(PORT) " + 2)\n\t"
	   "mov $0x44556677, %eax\n\t"
	   "out %eax, $" XSTR(PORT) "\n\t"
	   "mov $0x88, %al\n\t"
	   "out %al, $(" XSTR(PORT) " + 3)\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");

/* MMIO writes of 1, 2, 4 and 8 bytes at MMIO_BASE + 0, 2, 4, 8. */
GUEST_CODE(g_mmio_seq, ".code64",
	   "mov $0x10000000, %ebx\n\t"
	   "movb $0x11, (%rbx)\n\t"
	   "movw $0x2233, 2(%rbx)\n\t"
	   "movl $0x44556677, 4(%rbx)\n\t"
	   "movabs $0x8899aabbccddeeff, %rax\n\t"
	   "mov %rax, 8(%rbx)\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");

/* Two-byte OUTs of 1, 2, ..., MANY to PORT, then done. */
GUEST_CODE(g_port_many, ".code64",
	   "mov $" XSTR(MANY) ", %ecx\n\t"
	   "xor %edx, %edx\n\t"
	   "1: inc %edx\n\t"
	   "mov %edx, %eax\n\t"
	   "out %ax, $" XSTR(PORT) "\n\t"
	   "loop 1b\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");

/* Writes 1, 2, 3 to MMIO_BASE, reads it into R15, then done. */
GUEST_CODE(g_write_read, ".code64",
	   "mov $0x10000000, %ebx\n\t"
	   "movl $1, (%rbx)\n\t"
	   "movl $2, (%rbx)\n\t"
	   "movl $3, (%rbx)\n\t"
	   "mov (%rbx), %r15d\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");

/* A 4-byte OUT at PORT, a 1-byte at PORT + 2, a 1-byte at PORT + 1. */
GUEST_CODE(g_port_edges, ".code64",
	   "mov $0x12345678, %eax\n\t"
	   "out %eax, $" XSTR(PORT) "\n\t"
	   "out %al, $(" XSTR(PORT) " + 2)\n\t"
	   "out %al, $(" XSTR(PORT) " + 1)\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");

FIXTURE(posted) {
	struct test_vm *vm;
	struct test_vcpu *vcpu;
	struct minivmm_posted_ring *ring;
	const char *skip;	/* why there is no VM */
};

/* A SKIP in the set-up would still run the body: each body skips first. */
#define REQUIRE_POSTED()						\
	do {								\
		if (self->skip)						\
			SKIP(return, "%s", self->skip);			\
	} while (0)

FIXTURE_SETUP(posted)
{
	struct minivmm_caps c;
	void *p;

	if (minivmm_caps(&c))
		self->skip = "no " MINIVMM_DEV;
	else if (!(c.features & MINIVMM_CAP_EPT))
		self->skip = "no usable VMX on this machine";
	else if (!(c.features & MINIVMM_CAP_POSTED_IO))
		self->skip = "no MINIVMM_CAP_POSTED_IO";
	if (self->skip)
		return;
	self->vm = test_vm_create(GUEST_MEM_SIZE);
	self->vcpu = test_vcpu_add(self->vm, 0);
	p = mmap(NULL, MINIVMM_POSTED_RING_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED, self->vcpu->fd, MINIVMM_POSTED_RING_OFFSET);
	ASSERT_NE(MAP_FAILED, p);
	self->ring = p;
}

FIXTURE_TEARDOWN(posted)
{
	if (self->skip)
		return;
	munmap(self->ring, MINIVMM_POSTED_RING_SIZE);
	test_vcpu_destroy(self->vcpu);
	test_vm_destroy(self->vm);
}

static int range(struct test_vm *vm, uint64_t addr, uint64_t size,
		 uint32_t flags)
{
	struct minivmm_posted_range a = {
		.addr = addr, .size = size, .flags = flags,
	};

	return ioctl(vm->fd, MINIVMM_POSTED_RANGE, &a) ? -errno : 0;
}

/* Take up to @max entries from the ring, in order; how many there were. */
static unsigned int drain(struct minivmm_posted_ring *ring,
			  struct minivmm_posted_entry *out, unsigned int max)
{
	uint32_t head = ring->head;
	uint32_t tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
	unsigned int n = 0;

	while (head != tail) {
		if (n < max)
			out[n] = ring->entry[head];
		n++;
		head = head + 1 == ring->entries ? 0 : head + 1;
	}
	__atomic_store_n(&ring->head, head, __ATOMIC_RELEASE);
	return n;
}

/* Load guest code @name in long mode. */
static void load(struct test_vcpu *vcpu, const unsigned char *code,
		 const unsigned char *end)
{
	test_vcpu_load(vcpu, MODE_LONG, code, end - code);
}

#define LOAD(self, name)	load((self)->vcpu, name, name##_end)

#define EXPECT_ENTRY(e, a, l, d, f)					\
	do {								\
		const struct minivmm_posted_entry *__e = &(e);		\
									\
		EXPECT_EQ((a), __e->addr);				\
		EXPECT_EQ((l), __e->len);				\
		EXPECT_EQ((d), __e->data);				\
		EXPECT_EQ((f), __e->flags);				\
	} while (0)

TEST_F(posted, ring_page_describes_itself)
{
	REQUIRE_POSTED();
	EXPECT_EQ(MINIVMM_POSTED_RING_VERSION, self->ring->version);
	EXPECT_EQ(ENTRIES, self->ring->entries);
	EXPECT_EQ(0, self->ring->head);
	EXPECT_EQ(0, self->ring->tail);
}

TEST_F(posted, ring_mapping_of_another_size_is_einval)
{
	void *p;

	REQUIRE_POSTED();
	p = mmap(NULL, 2 * MINIVMM_POSTED_RING_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED, self->vcpu->fd, MINIVMM_POSTED_RING_OFFSET);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(posted, port_writes_reach_ring_in_order)
{
	struct minivmm_posted_entry e[8];

	REQUIRE_POSTED();
	ASSERT_EQ(0, range(self->vm, PORT, 4, MINIVMM_POSTED_PIO));
	LOAD(self, g_port_seq);
	test_expect_done(self->vcpu);
	ASSERT_EQ(4, drain(self->ring, e, 8));
	EXPECT_ENTRY(e[0], PORT, 1, 0x11, MINIVMM_POSTED_ENTRY_PIO);
	EXPECT_ENTRY(e[1], PORT + 2, 2, 0x2233, MINIVMM_POSTED_ENTRY_PIO);
	EXPECT_ENTRY(e[2], PORT, 4, 0x44556677, MINIVMM_POSTED_ENTRY_PIO);
	EXPECT_ENTRY(e[3], PORT + 3, 1, 0x88, MINIVMM_POSTED_ENTRY_PIO);
}

TEST_F(posted, mmio_writes_reach_ring_in_order)
{
	struct minivmm_posted_entry e[8];

	REQUIRE_POSTED();
	ASSERT_EQ(0, range(self->vm, MMIO_BASE, 16, 0));
	LOAD(self, g_mmio_seq);
	test_expect_done(self->vcpu);
	ASSERT_EQ(4, drain(self->ring, e, 8));
	EXPECT_ENTRY(e[0], MMIO_BASE, 1, 0x11, 0);
	EXPECT_ENTRY(e[1], MMIO_BASE + 2, 2, 0x2233, 0);
	EXPECT_ENTRY(e[2], MMIO_BASE + 4, 4, 0x44556677, 0);
	EXPECT_ENTRY(e[3], MMIO_BASE + 8, 8, 0x8899aabbccddeeffULL, 0);
}

TEST_F(posted, full_ring_exits_with_the_next_write)
{
	static struct minivmm_posted_entry e[MANY];
	struct minivmm_run *run;
	unsigned int n, i;

	REQUIRE_POSTED();
	ASSERT_EQ(0, range(self->vm, PORT, 2, MINIVMM_POSTED_PIO));
	LOAD(self, g_port_many);
	/* The ring holds ENTRIES - 1: the next write exits. */
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_IO);
	EXPECT_EQ(PORT, run->io.port);
	EXPECT_EQ(MINIVMM_IO_OUT, run->io.direction);
	EXPECT_EQ(ENTRIES, run->io.data);
	n = drain(self->ring, e, MANY);
	ASSERT_EQ(ENTRIES - 1, n);
	for (i = 0; i < n; i++)
		ASSERT_EQ(i + 1, e[i].data) TH_LOG("entry %u", i);
	/* Drained: the rest are posted again. */
	test_expect_done(self->vcpu);
	n = drain(self->ring, e, MANY);
	ASSERT_EQ(MANY - ENTRIES, n);
	for (i = 0; i < n; i++)
		ASSERT_EQ(ENTRIES + 1 + i, e[i].data) TH_LOG("entry %u", i);
}

TEST_F(posted, read_exits_after_the_writes_before_it)
{
	struct minivmm_posted_entry e[8];
	struct minivmm_regs regs;
	struct minivmm_run *run;

	REQUIRE_POSTED();
	ASSERT_EQ(0, range(self->vm, MMIO_BASE, 4, 0));
	LOAD(self, g_write_read);
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_MMIO);
	EXPECT_EQ(MMIO_BASE, run->mmio.phys_addr);
	EXPECT_EQ(0, run->mmio.is_write);
	ASSERT_EQ(3, drain(self->ring, e, 8));
	EXPECT_EQ(1, e[0].data);
	EXPECT_EQ(2, e[1].data);
	EXPECT_EQ(3, e[2].data);
	run->mmio.data = 0x5a;
	test_expect_done(self->vcpu);
	test_get_regs(self->vcpu, &regs);
	EXPECT_EQ(0x5a, regs.r15);
}

TEST_F(posted, writes_not_wholly_inside_exit)
{
	struct minivmm_posted_entry e[8];
	struct minivmm_run *run;

	REQUIRE_POSTED();
	ASSERT_EQ(0, range(self->vm, PORT, 2, MINIVMM_POSTED_PIO));
	LOAD(self, g_port_edges);
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_IO);
	EXPECT_EQ(PORT, run->io.port);
	EXPECT_EQ(4, run->io.size);
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_IO);
	EXPECT_EQ(PORT + 2, run->io.port);
	EXPECT_EQ(0, drain(self->ring, e, 8));
	test_expect_done(self->vcpu);
	ASSERT_EQ(1, drain(self->ring, e, 8));
	EXPECT_ENTRY(e[0], PORT + 1, 1, 0x78, MINIVMM_POSTED_ENTRY_PIO);
}

TEST_F(posted, deleted_range_exits)
{
	struct minivmm_posted_entry e[8];
	struct minivmm_run *run;

	REQUIRE_POSTED();
	ASSERT_EQ(0, range(self->vm, PORT, 4, MINIVMM_POSTED_PIO));
	ASSERT_EQ(0, range(self->vm, PORT, 4,
			   MINIVMM_POSTED_PIO | MINIVMM_POSTED_DELETE));
	LOAD(self, g_port_seq);
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_IO);
	EXPECT_EQ(PORT, run->io.port);
	EXPECT_EQ(0x11, run->io.data);
	EXPECT_EQ(0, drain(self->ring, e, 8));
}

TEST_F(posted, head_out_of_range_makes_writes_exit)
{
	struct minivmm_run *run;

	REQUIRE_POSTED();
	ASSERT_EQ(0, range(self->vm, PORT, 4, MINIVMM_POSTED_PIO));
	self->ring->head = ENTRIES + 5;
	LOAD(self, g_port_seq);
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_IO);
	EXPECT_EQ(PORT, run->io.port);
	EXPECT_EQ(0x11, run->io.data);
	EXPECT_EQ(0, self->ring->tail);
}

/* ---- bad arguments ------------------------------------------------------ */

TEST_F(posted, unknown_flag_is_einval)
{
	REQUIRE_POSTED();
	EXPECT_EQ(-EINVAL, range(self->vm, PORT, 4, 1U << 2));
}

TEST_F(posted, nonzero_reserved_is_einval)
{
	struct minivmm_posted_range a = {
		.addr = PORT, .size = 4, .flags = MINIVMM_POSTED_PIO,
		.reserved = 1,
	};

	REQUIRE_POSTED();
	EXPECT_EQ(-1, ioctl(self->vm->fd, MINIVMM_POSTED_RANGE, &a));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(posted, zero_size_is_einval)
{
	REQUIRE_POSTED();
	EXPECT_EQ(-EINVAL, range(self->vm, PORT, 0, MINIVMM_POSTED_PIO));
}

TEST_F(posted, range_past_last_port_is_einval)
{
	REQUIRE_POSTED();
	EXPECT_EQ(-EINVAL, range(self->vm, 0xffff, 2, MINIVMM_POSTED_PIO));
	EXPECT_EQ(-EINVAL, range(self->vm, 0x10000, 1, MINIVMM_POSTED_PIO));
	EXPECT_EQ(0, range(self->vm, 0xffff, 1, MINIVMM_POSTED_PIO));
}

TEST_F(posted, range_past_guest_physical_limit_is_einval)
{
	REQUIRE_POSTED();
	EXPECT_EQ(-EINVAL, range(self->vm, GPA_LIMIT - 4, 8, 0));
	EXPECT_EQ(-EINVAL, range(self->vm, 4096, ~0ULL, 0));
}

TEST_F(posted, bad_pointer_is_efault)
{
	REQUIRE_POSTED();
	EXPECT_EQ(-1, ioctl(self->vm->fd, MINIVMM_POSTED_RANGE, (void *)8));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(posted, overlapping_range_is_eexist)
{
	REQUIRE_POSTED();
	ASSERT_EQ(0, range(self->vm, PORT, 4, MINIVMM_POSTED_PIO));
	EXPECT_EQ(-EEXIST, range(self->vm, PORT + 3, 4, MINIVMM_POSTED_PIO));
	EXPECT_EQ(-EEXIST, range(self->vm, PORT - 1, 2, MINIVMM_POSTED_PIO));
	/* MMIO at the same numbers is another space. */
	EXPECT_EQ(0, range(self->vm, PORT, 4, 0));
}

TEST_F(posted, one_past_the_limit_is_enospc)
{
	int i;

	REQUIRE_POSTED();
	for (i = 0; i < MINIVMM_MAX_POSTED_RANGES; i++)
		ASSERT_EQ(0, range(self->vm, 0x1000 + 4 * i, 4,
				   MINIVMM_POSTED_PIO)) TH_LOG("range %d", i);
	EXPECT_EQ(-ENOSPC, range(self->vm, 0x2000, 4, MINIVMM_POSTED_PIO));
	ASSERT_EQ(0, range(self->vm, 0x1000, 4,
			   MINIVMM_POSTED_PIO | MINIVMM_POSTED_DELETE));
	EXPECT_EQ(0, range(self->vm, 0x2000, 4, MINIVMM_POSTED_PIO));
}

TEST_F(posted, delete_of_unknown_is_enoent)
{
	REQUIRE_POSTED();
	EXPECT_EQ(-ENOENT, range(self->vm, PORT, 4,
				 MINIVMM_POSTED_PIO | MINIVMM_POSTED_DELETE));
	ASSERT_EQ(0, range(self->vm, PORT, 4, MINIVMM_POSTED_PIO));
	/* Only the range as registered: not a part, not MMIO. */
	EXPECT_EQ(-ENOENT, range(self->vm, PORT, 2,
				 MINIVMM_POSTED_PIO | MINIVMM_POSTED_DELETE));
	EXPECT_EQ(-ENOENT, range(self->vm, PORT, 4, MINIVMM_POSTED_DELETE));
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * MINIVMM_IOEVENTFD: a guest OUT or MMIO write that matches a
 * registration signals its eventfd in the kernel, and the guest goes on
 * without an exit to userspace; reads, writes of another size or value,
 * and writes after DEASSIGN exit as before. A device thread reads the
 * eventfd while the vCPU runs. Every bad argument has its errno.
 *
 * The guests are small long-mode programs. A test that expects no exit
 * for the registered writes runs the guest once: the first exit must be
 * the ucall after the last write, and the run structure's VM exit count
 * shows that every write did leave the guest, into the kernel only.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "minivmm_test.h"

#define PORT		0xe0
#define WRITES		100
#define ROUNDS		10
#define FLAG		0x8000	/* guest physical: the device thread's answer */
#define GPA_LIMIT	(1ULL << 48)

#define STR(x)		#x
#define XSTR(x)		STR(x)

/* WRITES one-byte OUTs to PORT, then done. */
GUEST_CODE(g_port_loop, ".code64",
	   "mov $" XSTR(WRITES) ", %ecx\n\t"
	   "1: mov %cl, %al\n\t"
	   "out %al, $" XSTR(PORT) "\n\t"
	   "loop 1b\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");

/* WRITES four-byte writes to MMIO_BASE, then done. */
GUEST_CODE(g_mmio_loop, ".code64",
	   "mov $0x10000000, %ebx\n\t"
	   "mov $" XSTR(WRITES) ", %ecx\n\t"
	   "1: mov %ecx, (%rbx)\n\t"
	   "loop 1b\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");

/* OUT 0x42, 0x43, 0x42 to PORT, then done. */
GUEST_CODE(g_port_values, ".code64",
	   "mov $0x42, %al\n\t"
	   "out %al, $" XSTR(PORT) "\n\t"
	   "mov $0x43, %al\n\t"
	   "out %al, $" XSTR(PORT) "\n\t"
	   "mov $0x42, %al\n\t"
	   "out %al, $" XSTR(PORT) "\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");

/* Eight-byte MMIO writes of V, V + 1, V, then done. */
GUEST_CODE(g_mmio_values, ".code64",
	   "mov $0x10000000, %ebx\n\t"
	   "movabs $0x1122334455667788, %rax\n\t"
	   "mov %rax, (%rbx)\n\t"
	   "inc %rax\n\t"
	   "mov %rax, (%rbx)\n\t"
	   "dec %rax\n\t"
	   "mov %rax, (%rbx)\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");
#define MMIO_VALUE	0x1122334455667788ULL

/* A one-byte IN from PORT, then done. */
GUEST_CODE(g_port_read, ".code64",
	   "in $" XSTR(PORT) ", %al\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");

/* A four-byte read of MMIO_BASE, then done. */
GUEST_CODE(g_mmio_read, ".code64",
	   "mov $0x10000000, %ebx\n\t"
	   "mov (%rbx), %eax\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");

/* A one-byte, then a two-byte OUT to PORT, then done. */
GUEST_CODE(g_port_sizes, ".code64",
	   "mov $0x1234, %eax\n\t"
	   "out %al, $" XSTR(PORT) "\n\t"
	   "out %ax, $" XSTR(PORT) "\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");

/*
 * ROUNDS times: OUT the round number to PORT, then spin until the
 * device thread writes it to FLAG.
 */
GUEST_CODE(g_device, ".code64",
	   "mov $" XSTR(ROUNDS) ", %ecx\n\t"
	   "xor %edx, %edx\n\t"
	   "1: inc %edx\n\t"
	   "mov %dl, %al\n\t"
	   "out %al, $" XSTR(PORT) "\n\t"
	   "2: pause\n\t"
	   "cmp " XSTR(FLAG) ", %edx\n\t"
	   "jne 2b\n\t"
	   "loop 1b\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");

/* OUT to PORT forever. */
GUEST_CODE(g_port_forever, ".code64",
	   "1: out %al, $" XSTR(PORT) "\n\t"
	   "jmp 1b\n\t");

FIXTURE(ioeventfd) {
	struct test_vm *vm;
	struct test_vcpu *vcpu;
	int efd;
	const char *skip;	/* why there is no VM */
};

/*
 * A SKIP in the set-up would still run the test body: the set-up leaves
 * the reason, and each body skips on it first.
 */
#define REQUIRE_IOEVENTFD()						\
	do {								\
		if (self->skip)						\
			SKIP(return, "%s", self->skip);			\
	} while (0)

FIXTURE_SETUP(ioeventfd)
{
	struct minivmm_caps c;

	self->efd = -1;
	if (minivmm_caps(&c))
		self->skip = "no " MINIVMM_DEV;
	else if (!(c.features & MINIVMM_CAP_EPT))
		self->skip = "no usable VMX on this machine";
	else if (!(c.features & MINIVMM_CAP_IOEVENTFD))
		self->skip = "no MINIVMM_CAP_IOEVENTFD";
	if (self->skip)
		return;
	self->vm = test_vm_create(GUEST_MEM_SIZE);
	self->vcpu = test_vcpu_add(self->vm, 0);
	self->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, self->efd);
}

FIXTURE_TEARDOWN(ioeventfd)
{
	if (self->efd >= 0)
		close(self->efd);
	if (self->vm) {
		test_vcpu_destroy(self->vcpu);
		test_vm_destroy(self->vm);
	}
}

static int iofd(struct test_vm *vm, int fd, uint64_t addr, uint32_t len,
		uint32_t flags, uint64_t datamatch)
{
	struct minivmm_ioeventfd a = {
		.addr = addr, .len = len, .fd = fd, .flags = flags,
		.datamatch = datamatch,
	};

	return ioctl(vm->fd, MINIVMM_IOEVENTFD, &a) ? -errno : 0;
}

static int port_fd(struct test_vm *vm, int fd, uint64_t port, uint32_t len)
{
	return iofd(vm, fd, port, len, MINIVMM_IOEVENTFD_PIO, 0);
}

/* The eventfd's count, read (and so reset); 0 when nothing came. */
static uint64_t efd_take(int efd)
{
	uint64_t n;

	if (read(efd, &n, sizeof(n)) != sizeof(n)) {
		TEST_REQUIRE(errno == EAGAIN, "read eventfd: %m");
		return 0;
	}
	return n;
}

/* Load guest code @name in long mode. */
static void load(struct test_vcpu *vcpu, const unsigned char *code,
		 const unsigned char *end)
{
	test_vcpu_load(vcpu, MODE_LONG, code, end - code);
}

#define LOAD(self, name)	load((self)->vcpu, name, name##_end)

/* Require an exit for an OUT of @data to PORT with @size bytes. */
static void expect_out(struct test_vcpu *vcpu, unsigned int size,
		       uint32_t data)
{
	struct minivmm_run *run = test_run_expect(vcpu, MINIVMM_EXIT_IO);

	TEST_REQUIRE(run->io.port == PORT &&
		     run->io.direction == MINIVMM_IO_OUT &&
		     run->io.size == size && run->io.data == data,
		     "I/O exit: port %#x dir %u size %u data %#x",
		     run->io.port, run->io.direction, run->io.size,
		     run->io.data);
}

/* ---- writes that signal without an exit ------------------------------ */

TEST_F(ioeventfd, port_writes_signal_without_exit)
{
	uint64_t exits;

	REQUIRE_IOEVENTFD();
	ASSERT_EQ(0, port_fd(self->vm, self->efd, PORT, 1));
	LOAD(self, g_port_loop);
	exits = self->vcpu->run->exits;
	test_expect_done(self->vcpu);
	EXPECT_EQ(WRITES, efd_take(self->efd));
	EXPECT_LE(exits + WRITES, self->vcpu->run->exits);
}

TEST_F(ioeventfd, mmio_writes_signal_without_exit)
{
	uint64_t exits;

	REQUIRE_IOEVENTFD();
	ASSERT_EQ(0, iofd(self->vm, self->efd, MMIO_BASE, 4, 0, 0));
	LOAD(self, g_mmio_loop);
	exits = self->vcpu->run->exits;
	test_expect_done(self->vcpu);
	EXPECT_EQ(WRITES, efd_take(self->efd));
	EXPECT_LE(exits + WRITES, self->vcpu->run->exits);
}

TEST_F(ioeventfd, port_datamatch_signals_only_its_value)
{
	REQUIRE_IOEVENTFD();
	ASSERT_EQ(0, iofd(self->vm, self->efd, PORT, 1,
			  MINIVMM_IOEVENTFD_PIO | MINIVMM_IOEVENTFD_DATAMATCH,
			  0x42));
	LOAD(self, g_port_values);
	expect_out(self->vcpu, 1, 0x43);
	EXPECT_EQ(1, efd_take(self->efd));
	test_expect_done(self->vcpu);
	EXPECT_EQ(1, efd_take(self->efd));
}

TEST_F(ioeventfd, mmio_datamatch_compares_eight_bytes)
{
	struct minivmm_run *run;

	REQUIRE_IOEVENTFD();
	ASSERT_EQ(0, iofd(self->vm, self->efd, MMIO_BASE, 8,
			  MINIVMM_IOEVENTFD_DATAMATCH, MMIO_VALUE));
	LOAD(self, g_mmio_values);
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_MMIO);
	EXPECT_EQ(MMIO_BASE, run->mmio.phys_addr);
	EXPECT_EQ(1, run->mmio.is_write);
	EXPECT_EQ(8, run->mmio.len);
	EXPECT_EQ(MMIO_VALUE + 1, run->mmio.data);
	EXPECT_EQ(1, efd_take(self->efd));
	test_expect_done(self->vcpu);
	EXPECT_EQ(1, efd_take(self->efd));
}

TEST_F(ioeventfd, same_register_two_values_two_eventfds)
{
	int efd2 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	REQUIRE_IOEVENTFD();
	ASSERT_LE(0, efd2);
	ASSERT_EQ(0, iofd(self->vm, self->efd, PORT, 1,
			  MINIVMM_IOEVENTFD_PIO | MINIVMM_IOEVENTFD_DATAMATCH,
			  0x42));
	ASSERT_EQ(0, iofd(self->vm, efd2, PORT, 1,
			  MINIVMM_IOEVENTFD_PIO | MINIVMM_IOEVENTFD_DATAMATCH,
			  0x43));
	LOAD(self, g_port_values);
	test_expect_done(self->vcpu);
	EXPECT_EQ(2, efd_take(self->efd));
	EXPECT_EQ(1, efd_take(efd2));
	close(efd2);
}

/* ---- accesses that still exit ----------------------------------------- */

TEST_F(ioeventfd, port_read_exits)
{
	struct minivmm_run *run;

	REQUIRE_IOEVENTFD();
	ASSERT_EQ(0, port_fd(self->vm, self->efd, PORT, 1));
	LOAD(self, g_port_read);
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_IO);
	EXPECT_EQ(PORT, run->io.port);
	EXPECT_EQ(MINIVMM_IO_IN, run->io.direction);
	test_expect_done(self->vcpu);
	EXPECT_EQ(0, efd_take(self->efd));
}

TEST_F(ioeventfd, mmio_read_exits)
{
	struct minivmm_run *run;

	REQUIRE_IOEVENTFD();
	ASSERT_EQ(0, iofd(self->vm, self->efd, MMIO_BASE, 4, 0, 0));
	LOAD(self, g_mmio_read);
	run = test_run_expect(self->vcpu, MINIVMM_EXIT_MMIO);
	EXPECT_EQ(MMIO_BASE, run->mmio.phys_addr);
	EXPECT_EQ(0, run->mmio.is_write);
	test_expect_done(self->vcpu);
	EXPECT_EQ(0, efd_take(self->efd));
}

TEST_F(ioeventfd, write_of_another_size_exits)
{
	REQUIRE_IOEVENTFD();
	ASSERT_EQ(0, port_fd(self->vm, self->efd, PORT, 2));
	LOAD(self, g_port_sizes);
	expect_out(self->vcpu, 1, 0x34);
	EXPECT_EQ(0, efd_take(self->efd));
	test_expect_done(self->vcpu);
	EXPECT_EQ(1, efd_take(self->efd));
}

TEST_F(ioeventfd, deassigned_write_exits)
{
	REQUIRE_IOEVENTFD();
	ASSERT_EQ(0, port_fd(self->vm, self->efd, PORT, 1));
	ASSERT_EQ(0, iofd(self->vm, self->efd, PORT, 1,
			  MINIVMM_IOEVENTFD_PIO | MINIVMM_IOEVENTFD_DEASSIGN,
			  0));
	LOAD(self, g_port_loop);
	expect_out(self->vcpu, 1, WRITES & 0xff);
	EXPECT_EQ(0, efd_take(self->efd));
	/* Registering it again works. */
	EXPECT_EQ(0, port_fd(self->vm, self->efd, PORT, 1));
}

/* ---- a device thread while the vCPU runs ----------------------------- */

struct device {
	struct test_vm *vm;
	int efd;
	unsigned int rounds;	/* served */
	uint64_t bad_count;	/* a read that did not return 1, or 0 */
	int deassign;		/* deassign after the first signal: result */
	pthread_t thread;
};

/* Wait for the eventfd (bounded) and take its count; 0 on timeout. */
static uint64_t device_wait(struct device *d)
{
	struct pollfd p = { .fd = d->efd, .events = POLLIN };
	uint64_t n = 0;

	if (poll(&p, 1, 10000 * timeout_scale()) != 1)
		return 0;
	if (read(d->efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

static void *device_serve(void *arg)
{
	struct device *d = arg;
	volatile uint32_t *flag = (uint32_t *)(d->vm->mem + FLAG);
	unsigned int i;

	for (i = 1; i <= ROUNDS; i++) {
		uint64_t n = device_wait(d);

		if (n != 1) {
			d->bad_count = n ? n : ~0ULL;
			break;
		}
		*flag = i;
		d->rounds = i;
	}
	return NULL;
}

TEST_F(ioeventfd, device_thread_serves_running_guest)
{
	struct device d = { .vm = self->vm, .efd = self->efd };

	REQUIRE_IOEVENTFD();
	ASSERT_EQ(0, port_fd(self->vm, self->efd, PORT, 1));
	LOAD(self, g_device);
	ASSERT_EQ(0, pthread_create(&d.thread, NULL, device_serve, &d));
	/* The guest spins until the thread answers: a hang ends by SIGALRM. */
	EXPECT_EQ(0, test_vcpu_run_for(self->vcpu, 30000 * timeout_scale()));
	if (self->vcpu->run->exit_reason != MINIVMM_EXIT_IO ||
	    self->vcpu->run->io.port != UCALL_PORT) {
		/* Let the thread see its last round and end. */
		*(volatile uint32_t *)(self->vm->mem + FLAG) = 0;
	}
	pthread_join(d.thread, NULL);
	EXPECT_EQ(0, d.bad_count);
	EXPECT_EQ(ROUNDS, d.rounds);
	EXPECT_EQ(MINIVMM_EXIT_IO, self->vcpu->run->exit_reason);
	EXPECT_EQ(UCALL_PORT, self->vcpu->run->io.port);
}

static void *device_deassign(void *arg)
{
	struct device *d = arg;

	if (!device_wait(d)) {
		d->deassign = -ETIMEDOUT;
		return NULL;
	}
	d->deassign = iofd(d->vm, d->efd, PORT, 1,
			   MINIVMM_IOEVENTFD_PIO | MINIVMM_IOEVENTFD_DEASSIGN,
			   0);
	return NULL;
}

TEST_F(ioeventfd, deassign_while_guest_writes_makes_next_write_exit)
{
	struct device d = { .vm = self->vm, .efd = self->efd };

	REQUIRE_IOEVENTFD();
	ASSERT_EQ(0, port_fd(self->vm, self->efd, PORT, 1));
	LOAD(self, g_port_forever);
	ASSERT_EQ(0, pthread_create(&d.thread, NULL, device_deassign, &d));
	EXPECT_EQ(0, test_vcpu_run_for(self->vcpu, 30000 * timeout_scale()));
	pthread_join(d.thread, NULL);
	EXPECT_EQ(0, d.deassign);
	EXPECT_EQ(MINIVMM_EXIT_IO, self->vcpu->run->exit_reason);
	EXPECT_EQ(PORT, self->vcpu->run->io.port);
	EXPECT_EQ(MINIVMM_IO_OUT, self->vcpu->run->io.direction);
}

/* ---- bad arguments ------------------------------------------------------ */

TEST_F(ioeventfd, unknown_flag_is_einval)
{
	REQUIRE_IOEVENTFD();
	EXPECT_EQ(-EINVAL, iofd(self->vm, self->efd, PORT, 1,
				MINIVMM_IOEVENTFD_PIO | (1U << 3), 0));
}

TEST_F(ioeventfd, nonzero_reserved_is_einval)
{
	struct minivmm_ioeventfd a = {
		.addr = PORT, .len = 1, .fd = self->efd,
		.flags = MINIVMM_IOEVENTFD_PIO, .reserved = 1,
	};

	REQUIRE_IOEVENTFD();

	EXPECT_EQ(-1, ioctl(self->vm->fd, MINIVMM_IOEVENTFD, &a));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(ioeventfd, bad_length_is_einval)
{
	REQUIRE_IOEVENTFD();
	EXPECT_EQ(-EINVAL, port_fd(self->vm, self->efd, PORT, 0));
	EXPECT_EQ(-EINVAL, port_fd(self->vm, self->efd, PORT, 3));
	EXPECT_EQ(-EINVAL, iofd(self->vm, self->efd, MMIO_BASE, 16, 0, 0));
}

TEST_F(ioeventfd, eight_byte_port_is_einval)
{
	REQUIRE_IOEVENTFD();
	EXPECT_EQ(-EINVAL, port_fd(self->vm, self->efd, PORT, 8));
}

TEST_F(ioeventfd, port_past_0xffff_is_einval)
{
	REQUIRE_IOEVENTFD();
	EXPECT_EQ(-EINVAL, port_fd(self->vm, self->efd, 0x10000, 1));
	EXPECT_EQ(-EINVAL, port_fd(self->vm, self->efd, 0xffff, 2));
	EXPECT_EQ(0, port_fd(self->vm, self->efd, 0xfffe, 2));
}

TEST_F(ioeventfd, mmio_past_guest_physical_limit_is_einval)
{
	REQUIRE_IOEVENTFD();
	EXPECT_EQ(-EINVAL, iofd(self->vm, self->efd, GPA_LIMIT, 4, 0, 0));
	EXPECT_EQ(-EINVAL, iofd(self->vm, self->efd, GPA_LIMIT - 2, 4, 0, 0));
	EXPECT_EQ(-EINVAL, iofd(self->vm, self->efd, ~0ULL - 1, 4, 0, 0));
}

TEST_F(ioeventfd, datamatch_without_flag_is_einval)
{
	REQUIRE_IOEVENTFD();
	EXPECT_EQ(-EINVAL, iofd(self->vm, self->efd, PORT, 1,
				MINIVMM_IOEVENTFD_PIO, 0x42));
}

TEST_F(ioeventfd, datamatch_wider_than_length_is_einval)
{
	REQUIRE_IOEVENTFD();
	EXPECT_EQ(-EINVAL, iofd(self->vm, self->efd, PORT, 1,
				MINIVMM_IOEVENTFD_PIO |
				MINIVMM_IOEVENTFD_DATAMATCH, 0x100));
	EXPECT_EQ(-EINVAL, iofd(self->vm, self->efd, MMIO_BASE, 4,
				MINIVMM_IOEVENTFD_DATAMATCH, 1ULL << 32));
}

TEST_F(ioeventfd, closed_fd_is_ebadf)
{
	int fd = eventfd(0, 0);

	REQUIRE_IOEVENTFD();
	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_EQ(-EBADF, port_fd(self->vm, fd, PORT, 1));
	EXPECT_EQ(-EBADF, port_fd(self->vm, -1, PORT, 1));
}

TEST_F(ioeventfd, file_that_is_no_eventfd_is_einval)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	REQUIRE_IOEVENTFD();
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EINVAL, port_fd(self->vm, fd, PORT, 1));
	close(fd);
}

TEST_F(ioeventfd, bad_pointer_is_efault)
{
	REQUIRE_IOEVENTFD();
	EXPECT_EQ(-1, ioctl(self->vm->fd, MINIVMM_IOEVENTFD, (void *)8));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(ioeventfd, same_registration_twice_is_eexist)
{
	REQUIRE_IOEVENTFD();
	ASSERT_EQ(0, port_fd(self->vm, self->efd, PORT, 1));
	EXPECT_EQ(-EEXIST, port_fd(self->vm, self->efd, PORT, 1));
}

TEST_F(ioeventfd, overlapping_range_is_eexist)
{
	int efd2 = eventfd(0, EFD_CLOEXEC);

	REQUIRE_IOEVENTFD();
	ASSERT_LE(0, efd2);
	ASSERT_EQ(0, port_fd(self->vm, self->efd, 0x100, 4));
	EXPECT_EQ(-EEXIST, port_fd(self->vm, efd2, 0x103, 1));
	EXPECT_EQ(-EEXIST, port_fd(self->vm, efd2, 0xff, 2));
	ASSERT_EQ(0, iofd(self->vm, self->efd, MMIO_BASE, 8, 0, 0));
	EXPECT_EQ(-EEXIST, iofd(self->vm, efd2, MMIO_BASE + 4, 4, 0, 0));
	close(efd2);
}

TEST_F(ioeventfd, datamatch_and_any_value_on_one_register_is_eexist)
{
	REQUIRE_IOEVENTFD();
	ASSERT_EQ(0, iofd(self->vm, self->efd, PORT, 1,
			  MINIVMM_IOEVENTFD_PIO | MINIVMM_IOEVENTFD_DATAMATCH,
			  0x42));
	EXPECT_EQ(-EEXIST, port_fd(self->vm, self->efd, PORT, 1));
	EXPECT_EQ(-EEXIST, iofd(self->vm, self->efd, PORT, 1,
				MINIVMM_IOEVENTFD_PIO |
				MINIVMM_IOEVENTFD_DATAMATCH, 0x42));
}

TEST_F(ioeventfd, port_and_mmio_of_one_number_are_distinct)
{
	REQUIRE_IOEVENTFD();
	ASSERT_EQ(0, port_fd(self->vm, self->efd, PORT, 1));
	EXPECT_EQ(0, iofd(self->vm, self->efd, PORT, 1, 0, 0));
}

TEST_F(ioeventfd, one_past_the_limit_is_enospc)
{
	int i;

	REQUIRE_IOEVENTFD();
	for (i = 0; i < MINIVMM_MAX_IOEVENTFDS; i++)
		ASSERT_EQ(0, port_fd(self->vm, self->efd, 0x1000 + i, 1))
			TH_LOG("ioeventfd %d", i);
	EXPECT_EQ(-ENOSPC, port_fd(self->vm, self->efd, 0x2000, 1));
	/* A slot given back can be taken again. */
	ASSERT_EQ(0, iofd(self->vm, self->efd, 0x1000, 1,
			  MINIVMM_IOEVENTFD_PIO | MINIVMM_IOEVENTFD_DEASSIGN,
			  0));
	EXPECT_EQ(0, port_fd(self->vm, self->efd, 0x2000, 1));
}

TEST_F(ioeventfd, deassign_of_unknown_is_enoent)
{
	int efd2 = eventfd(0, EFD_CLOEXEC);

	REQUIRE_IOEVENTFD();
	ASSERT_LE(0, efd2);
	EXPECT_EQ(-ENOENT, iofd(self->vm, self->efd, PORT, 1,
				MINIVMM_IOEVENTFD_PIO |
				MINIVMM_IOEVENTFD_DEASSIGN, 0));
	ASSERT_EQ(0, port_fd(self->vm, self->efd, PORT, 1));
	/* Another eventfd, another length, MMIO: not that registration. */
	EXPECT_EQ(-ENOENT, iofd(self->vm, efd2, PORT, 1,
				MINIVMM_IOEVENTFD_PIO |
				MINIVMM_IOEVENTFD_DEASSIGN, 0));
	EXPECT_EQ(-ENOENT, iofd(self->vm, self->efd, PORT, 2,
				MINIVMM_IOEVENTFD_PIO |
				MINIVMM_IOEVENTFD_DEASSIGN, 0));
	EXPECT_EQ(-ENOENT, iofd(self->vm, self->efd, PORT, 1,
				MINIVMM_IOEVENTFD_DEASSIGN, 0));
	close(efd2);
}

/*
 * The registration holds the eventfd, not the fd number it came by: the
 * number may be closed (the VM's end or DEASSIGN releases the eventfd).
 */
TEST_F(ioeventfd, registration_outlives_its_fd_number)
{
	int dup_fd = dup(self->efd);

	REQUIRE_IOEVENTFD();
	ASSERT_LE(0, dup_fd);
	ASSERT_EQ(0, port_fd(self->vm, dup_fd, PORT, 1));
	close(dup_fd);
	LOAD(self, g_port_loop);
	test_expect_done(self->vcpu);
	EXPECT_EQ(WRITES, efd_take(self->efd));
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * The I/O APIC every VM has at 0xfec00000: its registers as a guest reads
 * and writes them through IOREGSEL and IOWIN, interrupts it sends for
 * MINIVMM_IRQ_LINE (edge and level triggered, remote IRR and EOI, masked
 * pins), MINIVMM_SIGNAL_MSI and irqfds, written from another thread while
 * the guest runs or is halted, the lifetime of irqfds against their
 * eventfd and their VM, MINIVMM_GET/SET_IOAPIC, and every error of the new
 * ioctls.
 *
 * One 32-bit protected-mode guest serves every test: a command loop that
 * reports UCALL_SYNC(STAGE_READY), then performs the command the test put
 * in its mailbox (guest physical MBOX) and comes back. Its interrupt
 * handlers count the interrupt, report UCALL_SYNC(IRQ_SYNC(vector)),
 * optionally write the vector to the I/O APIC's EOI register and the
 * local APIC's EOI register, and return. HLT with interrupts enabled
 * sleeps in the kernel: a guest that halts waiting for an interrupt makes
 * no exit until its handler reports.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "minivmm_test.h"

#define MBOX		0x8000
#define STAGE_READY	1
#define IRQ_SYNC(vec)	(0x1000 | (vec))
#define VEC_A		0x41
#define VEC_B		0x42

/* Mailbox commands */
#define CMD_WRITE_REG	1	/* IOREGSEL = arg, IOWIN = val */
#define CMD_READ_REG	2	/* IOREGSEL = arg, result = IOWIN */
#define CMD_WRITE32	3	/* 32-bit write of val at offset arg */
#define CMD_READ32	4	/* result = 32-bit read at offset arg */
#define CMD_READ8	5	/* result = byte read at offset arg */
#define CMD_SPIN	6	/* IF=1 until the count leaves arg, or val loops */
#define CMD_HALT	7	/* STI; HLT until the count leaves arg */

/* Mailbox layout (32-bit words) */
#define MB_CMD		0x00
#define MB_ARG		0x04
#define MB_VAL		0x08
#define MB_RESULT	0x0c
#define MB_COUNT	0x10	/* interrupts the handlers took */
#define MB_VECTOR	0x14	/* the last one's vector */
#define MB_IO_EOI	0x18	/* nonzero: handlers EOI the I/O APIC too */
#define MB_NO_LAPIC_EOI	0x1c	/* nonzero: handlers leave the local APIC */

#define LAPIC_EOI_OFF	0x2000b0	/* 0xfee000b0 as an offset from IOAPIC */

#define IOAPIC		0xfec00000u

/* Redirection entry bits */
#define RTE_LOGICAL	(1u << 11)
#define RTE_REMOTE_IRR	(1u << 14)
#define RTE_LEVEL	(1u << 15)
#define RTE_MASKED	(1u << 16)

/* A handler for @vec (see the top of the file). */
#define IRQ_HANDLER32(label, vec)					\
	GUEST_LABEL(label)						\
	"push %eax\n\t"							\
	"push %ebx\n\t"							\
	"push %esi\n\t"							\
	"mov $0x8000, %esi\n\t"						\
	"incl 0x10(%esi)\n\t"						\
	"movl $" #vec ", 0x14(%esi)\n\t"				\
	"mov $(0x1000 | " #vec "), %ebx\n\t"				\
	UCALL_ASM(1)							\
	"cmpl $0, 0x18(%esi)\n\t"					\
	"je 1f\n\t"							\
	"movl $" #vec ", 0xfec00040\n"					\
	"1:\n\t"							\
	"cmpl $0, 0x1c(%esi)\n\t"					\
	"jne 2f\n\t"							\
	"movl $0, 0xfee000b0\n"					\
	"2:\n\t"							\
	"pop %esi\n\t"							\
	"pop %ebx\n\t"							\
	"pop %eax\n\t"							\
	"iret\n\t"

GUEST_CODE(guest, ".code32",
	   /* Software-enable the local APIC, spurious vector 0xff. */
	   "movl $0x1ff, 0xfee000f0\n"
	   "0:\n\t"
	   "mov $0x8000, %esi\n\t"
	   GUEST_SYNC_ASM(1)
	   "mov 0x0(%esi), %eax\n\t"
	   "mov 0x4(%esi), %ecx\n\t"
	   "mov 0x8(%esi), %edx\n\t"
	   "cmp $1, %eax\n\t"
	   "jne 2f\n\t"
	   "mov %ecx, 0xfec00000\n\t"
	   "mov %edx, 0xfec00010\n\t"
	   "jmp 0b\n"
	   "2:\n\t"
	   "cmp $2, %eax\n\t"
	   "jne 3f\n\t"
	   "mov %ecx, 0xfec00000\n\t"
	   "mov 0xfec00010, %eax\n\t"
	   "mov %eax, 0xc(%esi)\n\t"
	   "jmp 0b\n"
	   "3:\n\t"
	   "cmp $3, %eax\n\t"
	   "jne 4f\n\t"
	   "mov %edx, 0xfec00000(%ecx)\n\t"
	   "jmp 0b\n"
	   "4:\n\t"
	   "cmp $4, %eax\n\t"
	   "jne 5f\n\t"
	   "mov 0xfec00000(%ecx), %eax\n\t"
	   "mov %eax, 0xc(%esi)\n\t"
	   "jmp 0b\n"
	   "5:\n\t"
	   "cmp $5, %eax\n\t"
	   "jne 6f\n\t"
	   "movzbl 0xfec00000(%ecx), %eax\n\t"
	   "mov %eax, 0xc(%esi)\n\t"
	   "jmp 0b\n"
	   "6:\n\t"
	   "cmp $6, %eax\n\t"
	   "jne 7f\n\t"
	   "sti\n"
	   "61:\n\t"
	   "cmp %ecx, 0x10(%esi)\n\t"
	   "jne 62f\n\t"
	   "pause\n\t"
	   "dec %edx\n\t"
	   "jnz 61b\n"
	   "62:\n\t"
	   "cli\n\t"
	   "jmp 0b\n"
	   "7:\n\t"
	   "cmp $7, %eax\n\t"
	   "jne 8f\n"
	   "71:\n\t"
	   "sti\n\t"
	   "hlt\n\t"
	   "cli\n\t"
	   "cmp %ecx, 0x10(%esi)\n\t"
	   "je 71b\n\t"
	   "jmp 0b\n"
	   "8:\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t"
	   IRQ_HANDLER32(guest_irq_a, 0x41)
	   IRQ_HANDLER32(guest_irq_b, 0x42));
extern const unsigned char guest_irq_a[], guest_irq_b[];

/* The fixture's guest is reachable: the machine has usable VMX. */
static bool vmx_usable(void)
{
	struct minivmm_caps c;

	return !minivmm_caps(&c) && (c.features & MINIVMM_CAP_EPT);
}

FIXTURE(ioapic) {
	struct test_vm *vm;
	struct test_vcpu *vcpu;
	/* Called at each interrupt, while its handler runs. */
	void (*on_irq)(struct __test_metadata *_metadata,
		       struct _test_data_ioapic *self, int vec);
	int pin;			/* for on_irq */
};

static void run_ready(struct __test_metadata *_metadata,
		      struct _test_data_ioapic *self);

FIXTURE_SETUP(ioapic)
{
	struct minivmm_regs regs;

	if (!vmx_usable())
		return;
	self->vm = test_vm_create(GUEST_MEM_SIZE);
	self->vcpu = test_vcpu_add(self->vm, 0);
	test_install_exc_handlers(self->vm, MODE_PROTECTED);
	test_vcpu_load(self->vcpu, MODE_PROTECTED, guest, guest_end - guest);
	test_set_idt(self->vm, MODE_PROTECTED, VEC_A,
		     GUEST_LONG_ADDR(guest, guest_irq_a));
	test_set_idt(self->vm, MODE_PROTECTED, VEC_B,
		     GUEST_LONG_ADDR(guest, guest_irq_b));
	test_get_regs(self->vcpu, &regs);
	regs.rflags = 0x2;
	test_set_regs(self->vcpu, &regs);
	/* To the command loop, waiting for the first command. */
	run_ready(_metadata, self);
}

FIXTURE_TEARDOWN(ioapic)
{
	test_vcpu_destroy(self->vcpu);
	test_vm_destroy(self->vm);
}

static uint32_t *mbox(struct _test_data_ioapic *self, unsigned int off)
{
	return (uint32_t *)(self->vm->mem + MBOX + off);
}

/*
 * Run the guest to its next STAGE_READY. Interrupt handlers report on
 * the way (on_irq sees each). Any other exit fails the test: the I/O
 * APIC and the local APIC never exit, nor does a HLT with interrupts on.
 */
static void run_ready(struct __test_metadata *_metadata,
		      struct _test_data_ioapic *self)
{
	struct test_vcpu *vcpu = self->vcpu;
	struct minivmm_run *run = vcpu->run;
	struct minivmm_regs regs;

	for (;;) {
		TEST_REQUIRE(test_vcpu_run(vcpu) == 0, "RUN: %s",
			     strerror(errno));
		TEST_REQUIRE(run->exit_reason == MINIVMM_EXIT_IO &&
			     run->io.port == UCALL_PORT,
			     "exit %s", exit_reason_str(run->exit_reason));
		test_get_regs(vcpu, &regs);
		TEST_REQUIRE(run->io.data == UCALL_SYNC,
			     "ucall %u (%#llx %#llx %#llx)", run->io.data,
			     (unsigned long long)regs.rbx,
			     (unsigned long long)regs.rcx,
			     (unsigned long long)regs.rdx);
		if (regs.rbx == STAGE_READY)
			return;
		TEST_REQUIRE((regs.rbx & ~0xffULL) == IRQ_SYNC(0),
			     "stage %#llx", (unsigned long long)regs.rbx);
		if (self->on_irq)
			self->on_irq(_metadata, self, regs.rbx & 0xff);
	}
}

/* Make the guest run @cmd; returns its result word. */
static uint32_t guest_cmd(struct __test_metadata *_metadata,
			  struct _test_data_ioapic *self, uint32_t cmd,
			  uint32_t arg, uint32_t val)
{
	*mbox(self, MB_CMD) = cmd;
	*mbox(self, MB_ARG) = arg;
	*mbox(self, MB_VAL) = val;
	*mbox(self, MB_RESULT) = 0xdeadbeef;
	run_ready(_metadata, self);
	return *mbox(self, MB_RESULT);
}

#define CMD(cmd, arg, val)	guest_cmd(_metadata, self, cmd, arg, val)
#define READ_REG(reg)		CMD(CMD_READ_REG, reg, 0)
#define WRITE_REG(reg, val)	CMD(CMD_WRITE_REG, reg, val)
/* The guest programs pin @pin: low dword @lo, destination APIC ID 0. */
static void program(struct __test_metadata *_metadata,
		    struct _test_data_ioapic *self, int pin, uint32_t lo)
{
	WRITE_REG(0x11 + 2 * pin, 0);
	WRITE_REG(0x10 + 2 * pin, lo);
}

#define PROGRAM(pin, lo)	program(_metadata, self, pin, lo)

/* Interrupts taken so far. */
#define COUNT()			(*mbox(self, MB_COUNT))

/* The guest spins with interrupts enabled, long enough to take a pending one. */
#define SPIN_SHORT()		CMD(CMD_SPIN, COUNT(), 20000)
/* The guest spins until an interrupt comes. */
#define SPIN_UNTIL_IRQ()	CMD(CMD_SPIN, COUNT(), 0x7fffffff)

static int irq_line(struct test_vm *vm, uint32_t pin, uint32_t level)
{
	struct minivmm_irq_line l = { .pin = pin, .level = level };

	return ioctl(vm->fd, MINIVMM_IRQ_LINE, &l) ? errno : 0;
}

static int signal_msi(struct test_vm *vm, uint64_t address, uint32_t data)
{
	struct minivmm_msi m = { .address = address, .data = data };
	int ret = ioctl(vm->fd, MINIVMM_SIGNAL_MSI, &m);

	return ret < 0 ? -errno : ret;
}

static int irqfd(struct test_vm *vm, int fd, uint32_t pin, uint32_t flags)
{
	struct minivmm_irqfd a = { .fd = fd, .pin = pin, .flags = flags };

	return ioctl(vm->fd, MINIVMM_IRQFD, &a) ? errno : 0;
}

static int irqfd_msi(struct test_vm *vm, int fd, uint64_t address,
		     uint32_t data)
{
	struct minivmm_irqfd a = {
		.fd = fd, .flags = MINIVMM_IRQFD_MSI,
		.msi_address = address, .msi_data = data,
	};

	return ioctl(vm->fd, MINIVMM_IRQFD, &a) ? errno : 0;
}

static uint64_t rte(struct test_vm *vm, int pin)
{
	struct minivmm_ioapic_state s;

	TEST_REQUIRE(!ioctl(vm->fd, MINIVMM_GET_IOAPIC, &s), "GET_IOAPIC: %s",
		     strerror(errno));
	return s.redir[pin];
}

/* ---- another thread -------------------------------------------------- */

enum async_op { ASYNC_LINE, ASYNC_MSI, ASYNC_EVENTFD };

struct async {
	pthread_t thread;
	enum async_op op;
	struct test_vm *vm;
	int pin, fd;
	uint32_t msi_data;
	int ret;
};

/*
 * Let the vCPU get into its wait first (a pending interrupt would be
 * taken all the same, but then it would not test a waiting guest).
 */
static void *async_fn(void *arg)
{
	struct async *a = arg;
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	uint64_t one = 1;

	nanosleep(&ts, NULL);
	switch (a->op) {
	case ASYNC_LINE:
		a->ret = irq_line(a->vm, a->pin, 1);
		break;
	case ASYNC_MSI:
		a->ret = signal_msi(a->vm, 0xfee00000, a->msi_data);
		break;
	case ASYNC_EVENTFD:
		a->ret = write(a->fd, &one, sizeof(one)) == sizeof(one) ?
			 0 : errno;
		break;
	}
	return NULL;
}

static void async_start(struct async *a)
{
	TEST_REQUIRE(!pthread_create(&a->thread, NULL, async_fn, a),
		     "pthread_create");
}

static int async_join(struct async *a)
{
	pthread_join(a->thread, NULL);
	return a->ret;
}

/* ---- registers --------------------------------------------------------- */

TEST_F(ioapic, id_register_keeps_bits_27_24)
{
	REQUIRE_VMX();
	EXPECT_EQ(0, READ_REG(0x00));
	WRITE_REG(0x00, 0xffffffff);
	EXPECT_EQ(0x0f000000, READ_REG(0x00));
	WRITE_REG(0x00, 0x05a5a5a5);
	EXPECT_EQ(0x05000000, READ_REG(0x00));
}

TEST_F(ioapic, version_register_says_0x20_and_24_pins)
{
	REQUIRE_VMX();
	EXPECT_EQ(0x00170020, READ_REG(0x01));
	/* Read-only. */
	WRITE_REG(0x01, 0);
	EXPECT_EQ(0x00170020, READ_REG(0x01));
}

TEST_F(ioapic, arbitration_register_follows_id_read_only)
{
	REQUIRE_VMX();
	EXPECT_EQ(0, READ_REG(0x02));
	WRITE_REG(0x02, 0x0f000000);
	EXPECT_EQ(0, READ_REG(0x02));
	WRITE_REG(0x00, 0x03000000);
	EXPECT_EQ(0x03000000, READ_REG(0x02));
}

TEST_F(ioapic, redirection_entries_reset_masked)
{
	int pin;

	REQUIRE_VMX();
	for (pin = 0; pin < MINIVMM_IOAPIC_PINS; pin++) {
		EXPECT_EQ(RTE_MASKED, READ_REG(0x10 + 2 * pin)) TH_LOG("pin %d", pin);
		EXPECT_EQ(0, READ_REG(0x11 + 2 * pin)) TH_LOG("pin %d", pin);
	}
}

TEST_F(ioapic, redirection_entries_reserved_bits_read_zero)
{
	int pin;

	REQUIRE_VMX();
	for (pin = 0; pin < MINIVMM_IOAPIC_PINS; pin++) {
		WRITE_REG(0x10 + 2 * pin, 0xffffffff);
		WRITE_REG(0x11 + 2 * pin, 0xffffffff);
		/*
		 * Vector, delivery mode, destination mode, polarity,
		 * trigger and mask stick; delivery status and remote IRR
		 * (read-only) and bits 31:17 read zero.
		 */
		EXPECT_EQ(0x0001afff, READ_REG(0x10 + 2 * pin)) TH_LOG("pin %d", pin);
		EXPECT_EQ(0xff000000, READ_REG(0x11 + 2 * pin)) TH_LOG("pin %d", pin);
	}
}

TEST_F(ioapic, redirection_entries_are_independent)
{
	int pin;

	REQUIRE_VMX();
	for (pin = 0; pin < MINIVMM_IOAPIC_PINS; pin++) {
		WRITE_REG(0x10 + 2 * pin, 0x20 + pin);
		WRITE_REG(0x11 + 2 * pin, (uint32_t)pin << 24);
	}
	for (pin = 0; pin < MINIVMM_IOAPIC_PINS; pin++) {
		EXPECT_EQ(0x20 + pin, READ_REG(0x10 + 2 * pin)) TH_LOG("pin %d", pin);
		EXPECT_EQ((uint32_t)pin << 24, READ_REG(0x11 + 2 * pin))
			TH_LOG("pin %d", pin);
		EXPECT_EQ(((uint64_t)pin << 56) | (0x20 + pin),
			  rte(self->vm, pin)) TH_LOG("pin %d", pin);
	}
}

TEST_F(ioapic, ioregsel_reads_back_and_iowin_bytes)
{
	REQUIRE_VMX();
	CMD(CMD_WRITE32, 0x00, 0x01);
	EXPECT_EQ(0x01, CMD(CMD_READ32, 0x00, 0));
	/* Byte reads of IOWIN: the selected register's bytes. */
	EXPECT_EQ(0x20, CMD(CMD_READ8, 0x10, 0));
	EXPECT_EQ(0x00, CMD(CMD_READ8, 0x11, 0));
	EXPECT_EQ(0x17, CMD(CMD_READ8, 0x12, 0));
}

TEST_F(ioapic, unimplemented_registers_read_zero)
{
	REQUIRE_VMX();
	EXPECT_EQ(0, READ_REG(0x03));
	EXPECT_EQ(0, READ_REG(0x40));
	EXPECT_EQ(0, READ_REG(0xff));
	WRITE_REG(0x40, 0xffffffff);
	EXPECT_EQ(0, READ_REG(0x40));
	/* Offsets that are no register, the EOI register included. */
	EXPECT_EQ(0, CMD(CMD_READ32, 0x20, 0));
	EXPECT_EQ(0, CMD(CMD_READ32, 0x40, 0));
	EXPECT_EQ(0, CMD(CMD_READ32, 0xffc, 0));
}

/* ---- interrupt lines ----------------------------------------------- */

TEST_F(ioapic, edge_pin_sends_on_rising_edge_only)
{
	struct async a = { .op = ASYNC_LINE, .pin = 3 };

	REQUIRE_VMX();
	a.vm = self->vm;
	PROGRAM(3, VEC_A);
	async_start(&a);
	SPIN_UNTIL_IRQ();
	ASSERT_EQ(0, async_join(&a));
	EXPECT_EQ(1, COUNT());
	EXPECT_EQ(VEC_A, *mbox(self, MB_VECTOR));
	/* Still high: no edge, nothing. */
	ASSERT_EQ(0, irq_line(self->vm, 3, 1));
	SPIN_SHORT();
	EXPECT_EQ(1, COUNT());
	/* Low, then high again: one more. */
	ASSERT_EQ(0, irq_line(self->vm, 3, 0));
	ASSERT_EQ(0, irq_line(self->vm, 3, 1));
	SPIN_SHORT();
	EXPECT_EQ(2, COUNT());
	EXPECT_EQ(0, rte(self->vm, 3) & RTE_REMOTE_IRR);
}

TEST_F(ioapic, masked_edge_pin_latches_nothing)
{
	REQUIRE_VMX();
	PROGRAM(4, RTE_MASKED | VEC_A);
	ASSERT_EQ(0, irq_line(self->vm, 4, 1));
	SPIN_SHORT();
	EXPECT_EQ(0, COUNT());
	/* Unmasking does not send the edge it missed. */
	PROGRAM(4, VEC_A);
	SPIN_SHORT();
	EXPECT_EQ(0, COUNT());
	ASSERT_EQ(0, irq_line(self->vm, 4, 0));
	ASSERT_EQ(0, irq_line(self->vm, 4, 1));
	SPIN_SHORT();
	EXPECT_EQ(1, COUNT());
}

/* Lower the line inside the handler, before its EOIs. */
static void lower_on_irq(struct __test_metadata *_metadata,
			 struct _test_data_ioapic *self, int vec)
{
	EXPECT_EQ(RTE_REMOTE_IRR, rte(self->vm, self->pin) & RTE_REMOTE_IRR);
	EXPECT_EQ(0, irq_line(self->vm, self->pin, 0));
}

TEST_F(ioapic, masked_level_pin_sends_when_unmasked)
{
	REQUIRE_VMX();
	self->pin = 6;
	self->on_irq = lower_on_irq;
	*mbox(self, MB_IO_EOI) = 1;
	PROGRAM(6, RTE_MASKED | RTE_LEVEL | VEC_B);
	ASSERT_EQ(0, irq_line(self->vm, 6, 1));
	SPIN_SHORT();
	EXPECT_EQ(0, COUNT());
	EXPECT_EQ(0, rte(self->vm, 6) & RTE_REMOTE_IRR);
	/* The line is still asserted: unmasking delivers it. */
	PROGRAM(6, RTE_LEVEL | VEC_B);
	SPIN_SHORT();
	EXPECT_EQ(1, COUNT());
	EXPECT_EQ(VEC_B, *mbox(self, MB_VECTOR));
	EXPECT_EQ(0, rte(self->vm, 6) & RTE_REMOTE_IRR);
}

/* First interrupt: remote IRR is set, the line stays up; second: lower it. */
static void level_on_irq(struct __test_metadata *_metadata,
			 struct _test_data_ioapic *self, int vec)
{
	EXPECT_EQ(VEC_B, vec);
	if (COUNT() == 1) {
		EXPECT_EQ(RTE_REMOTE_IRR,
			  rte(self->vm, self->pin) & RTE_REMOTE_IRR);
	} else {
		EXPECT_EQ(0, irq_line(self->vm, self->pin, 0));
	}
}

TEST_F(ioapic, level_pin_sends_again_after_eoi_while_asserted)
{
	REQUIRE_VMX();
	self->pin = 5;
	self->on_irq = level_on_irq;
	*mbox(self, MB_IO_EOI) = 1;
	PROGRAM(5, RTE_LEVEL | VEC_B);
	EXPECT_EQ(RTE_LEVEL | VEC_B, READ_REG(0x10 + 2 * 5));
	ASSERT_EQ(0, irq_line(self->vm, 5, 1));
	SPIN_UNTIL_IRQ();
	/* The EOI found the line still asserted: once more, then it fell. */
	SPIN_SHORT();
	EXPECT_EQ(2, COUNT());
	EXPECT_EQ(0, rte(self->vm, 5) & RTE_REMOTE_IRR);
	EXPECT_EQ(RTE_LEVEL | VEC_B, READ_REG(0x10 + 2 * 5));
}

/* The second interrupt lowers the line and lets its handler EOI. */
static void lower_second_on_irq(struct __test_metadata *_metadata,
				struct _test_data_ioapic *self, int vec)
{
	if (COUNT() == 2) {
		EXPECT_EQ(0, irq_line(self->vm, self->pin, 0));
		*mbox(self, MB_NO_LAPIC_EOI) = 0;
	}
}

TEST_F(ioapic, level_pin_waits_for_eoi)
{
	REQUIRE_VMX();
	/* The first handler sends no EOI anywhere. */
	self->pin = 7;
	self->on_irq = lower_second_on_irq;
	*mbox(self, MB_NO_LAPIC_EOI) = 1;
	PROGRAM(7, RTE_LEVEL | VEC_A);
	ASSERT_EQ(0, irq_line(self->vm, 7, 1));
	SPIN_UNTIL_IRQ();
	EXPECT_EQ(1, COUNT());
	EXPECT_EQ(RTE_REMOTE_IRR | RTE_LEVEL | VEC_A, READ_REG(0x10 + 2 * 7));
	/* Lowered and raised again: remote IRR still holds it back. */
	ASSERT_EQ(0, irq_line(self->vm, 7, 0));
	ASSERT_EQ(0, irq_line(self->vm, 7, 1));
	SPIN_SHORT();
	EXPECT_EQ(1, COUNT());
	EXPECT_EQ(RTE_REMOTE_IRR | RTE_LEVEL | VEC_A, READ_REG(0x10 + 2 * 7));
	/* The local APIC's EOI releases it: the line is up, so once more. */
	CMD(CMD_WRITE32, LAPIC_EOI_OFF, 0);
	SPIN_SHORT();
	EXPECT_EQ(2, COUNT());
	EXPECT_EQ(RTE_LEVEL | VEC_A, READ_REG(0x10 + 2 * 7));
}

TEST_F(ioapic, eoi_register_clears_remote_irr)
{
	REQUIRE_VMX();
	self->pin = 12;
	self->on_irq = lower_on_irq;
	*mbox(self, MB_NO_LAPIC_EOI) = 1;
	PROGRAM(12, RTE_LEVEL | VEC_B);
	ASSERT_EQ(0, irq_line(self->vm, 12, 1));
	SPIN_UNTIL_IRQ();
	EXPECT_EQ(1, COUNT());
	EXPECT_EQ(RTE_REMOTE_IRR | RTE_LEVEL | VEC_B, READ_REG(0x10 + 2 * 12));
	/* Another vector's EOI leaves it. */
	CMD(CMD_WRITE32, 0x40, VEC_A);
	EXPECT_EQ(RTE_REMOTE_IRR | RTE_LEVEL | VEC_B, READ_REG(0x10 + 2 * 12));
	CMD(CMD_WRITE32, 0x40, VEC_B);
	EXPECT_EQ(RTE_LEVEL | VEC_B, READ_REG(0x10 + 2 * 12));
	/* Armed again (after the local APIC's EOI lets VEC_B in). */
	CMD(CMD_WRITE32, LAPIC_EOI_OFF, 0);
	*mbox(self, MB_NO_LAPIC_EOI) = 0;
	ASSERT_EQ(0, irq_line(self->vm, 12, 1));
	SPIN_SHORT();
	EXPECT_EQ(2, COUNT());
}

TEST_F(ioapic, local_apic_eoi_clears_remote_irr)
{
	REQUIRE_VMX();
	self->pin = 8;
	self->on_irq = lower_on_irq;
	PROGRAM(8, RTE_LEVEL | VEC_A);
	ASSERT_EQ(0, irq_line(self->vm, 8, 1));
	SPIN_UNTIL_IRQ();
	EXPECT_EQ(1, COUNT());
	EXPECT_EQ(0, rte(self->vm, 8) & RTE_REMOTE_IRR);
	/* Armed again. */
	ASSERT_EQ(0, irq_line(self->vm, 8, 1));
	SPIN_SHORT();
	EXPECT_EQ(2, COUNT());
}

/* ---- MSI and irqfd from another thread -------------------------------- */

TEST_F(ioapic, msi_from_another_thread)
{
	struct async a = { .op = ASYNC_MSI, .msi_data = VEC_B };

	REQUIRE_VMX();
	a.vm = self->vm;
	async_start(&a);
	SPIN_UNTIL_IRQ();
	/* One vCPU took it. */
	EXPECT_EQ(1, async_join(&a));
	EXPECT_EQ(1, COUNT());
	EXPECT_EQ(VEC_B, *mbox(self, MB_VECTOR));
}

TEST_F(ioapic, irqfd_pulses_pin_from_another_thread)
{
	struct async a = { .op = ASYNC_EVENTFD };
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t cnt;

	REQUIRE_VMX();
	ASSERT_LE(0, efd);
	a.vm = self->vm;
	a.fd = efd;
	PROGRAM(9, VEC_A);
	ASSERT_EQ(0, irqfd(self->vm, efd, 9, 0));
	async_start(&a);
	SPIN_UNTIL_IRQ();
	ASSERT_EQ(0, async_join(&a));
	EXPECT_EQ(1, COUNT());
	/* A pulse: the line is low again, and the count was consumed. */
	EXPECT_EQ(0, rte(self->vm, 9) & RTE_REMOTE_IRR);
	EXPECT_EQ(-1, read(efd, &cnt, sizeof(cnt)));
	EXPECT_EQ(EAGAIN, errno);
	/* Each write is one more interrupt. */
	cnt = 1;
	ASSERT_EQ(sizeof(cnt), write(efd, &cnt, sizeof(cnt)));
	SPIN_SHORT();
	EXPECT_EQ(2, COUNT());
	close(efd);
}

TEST_F(ioapic, irqfd_sends_msi_from_another_thread)
{
	struct async a = { .op = ASYNC_EVENTFD };
	int efd = eventfd(0, EFD_CLOEXEC);

	REQUIRE_VMX();
	ASSERT_LE(0, efd);
	a.vm = self->vm;
	a.fd = efd;
	ASSERT_EQ(0, irqfd_msi(self->vm, efd, 0xfee00000, VEC_B));
	async_start(&a);
	SPIN_UNTIL_IRQ();
	ASSERT_EQ(0, async_join(&a));
	EXPECT_EQ(1, COUNT());
	EXPECT_EQ(VEC_B, *mbox(self, MB_VECTOR));
	close(efd);
}

TEST_F(ioapic, irqfd_written_before_registration_fires)
{
	int efd = eventfd(1, EFD_CLOEXEC);

	REQUIRE_VMX();
	ASSERT_LE(0, efd);
	PROGRAM(10, VEC_A);
	ASSERT_EQ(0, irqfd(self->vm, efd, 10, 0));
	SPIN_SHORT();
	EXPECT_EQ(1, COUNT());
	close(efd);
}

TEST_F(ioapic, irqfd_deassigned_stops)
{
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t cnt = 1;

	REQUIRE_VMX();
	ASSERT_LE(0, efd);
	PROGRAM(11, VEC_A);
	ASSERT_EQ(0, irqfd(self->vm, efd, 11, 0));
	ASSERT_EQ(0, irqfd(self->vm, efd, 0, MINIVMM_IRQFD_DEASSIGN));
	ASSERT_EQ(sizeof(cnt), write(efd, &cnt, sizeof(cnt)));
	SPIN_SHORT();
	EXPECT_EQ(0, COUNT());
	/* Nobody consumed the count. */
	cnt = 0;
	EXPECT_EQ(sizeof(cnt), read(efd, &cnt, sizeof(cnt)));
	EXPECT_EQ(1, cnt);
	/* And it can be registered again. */
	EXPECT_EQ(0, irqfd(self->vm, efd, 11, 0));
	close(efd);
}

/* ---- a halted guest wakes ------------------------------------------- */

TEST_F(ioapic, irq_line_wakes_halted_guest)
{
	struct async a = { .op = ASYNC_LINE, .pin = 2 };

	REQUIRE_VMX();
	a.vm = self->vm;
	PROGRAM(2, VEC_A);
	async_start(&a);
	CMD(CMD_HALT, COUNT(), 0);
	ASSERT_EQ(0, async_join(&a));
	EXPECT_EQ(1, COUNT());
}

TEST_F(ioapic, msi_wakes_halted_guest)
{
	struct async a = { .op = ASYNC_MSI, .msi_data = VEC_B };

	REQUIRE_VMX();
	a.vm = self->vm;
	async_start(&a);
	CMD(CMD_HALT, COUNT(), 0);
	EXPECT_EQ(1, async_join(&a));
	EXPECT_EQ(1, COUNT());
}

TEST_F(ioapic, irqfd_wakes_halted_guest)
{
	struct async a = { .op = ASYNC_EVENTFD };
	int efd = eventfd(0, EFD_CLOEXEC);

	REQUIRE_VMX();
	ASSERT_LE(0, efd);
	a.vm = self->vm;
	a.fd = efd;
	ASSERT_EQ(0, irqfd_msi(self->vm, efd, 0xfee00000, VEC_A));
	async_start(&a);
	CMD(CMD_HALT, COUNT(), 0);
	ASSERT_EQ(0, async_join(&a));
	EXPECT_EQ(1, COUNT());
	close(efd);
}

/* ---- irqfd lifetime ---------------------------------------------------- */

TEST_F(ioapic, closed_eventfds_give_back_their_slots)
{
	int efd[MINIVMM_MAX_IRQFDS], extra, i, round;

	REQUIRE_VMX();
	for (round = 0; round < 2; round++) {
		for (i = 0; i < MINIVMM_MAX_IRQFDS; i++) {
			efd[i] = eventfd(0, EFD_CLOEXEC);
			ASSERT_LE(0, efd[i]);
			ASSERT_EQ(0, irqfd(self->vm, efd[i], i % 24, 0))
				TH_LOG("round %d irqfd %d", round, i);
		}
		extra = eventfd(0, EFD_CLOEXEC);
		ASSERT_LE(0, extra);
		EXPECT_EQ(ENOSPC, irqfd(self->vm, extra, 0, 0));
		close(extra);
		/* Closing them unregisters them. */
		for (i = 0; i < MINIVMM_MAX_IRQFDS; i++)
			close(efd[i]);
	}
}

TEST(irqfd_outlives_its_vm)
{
	struct test_vm *vm;
	uint64_t cnt = 1;
	int efd;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, irqfd(vm, efd, 1, 0));
	test_vm_destroy(vm);
	/* The VM is gone: the write is an ordinary eventfd count. */
	ASSERT_EQ(sizeof(cnt), write(efd, &cnt, sizeof(cnt)));
	cnt = 0;
	EXPECT_EQ(sizeof(cnt), read(efd, &cnt, sizeof(cnt)));
	EXPECT_EQ(1, cnt);
	close(efd);
}

TEST(irqfd_eventfd_closed_before_its_vm)
{
	struct test_vm *vm;
	int efd;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, irqfd(vm, efd, 1, 0));
	close(efd);
	/* A new eventfd, maybe on the same number: not a duplicate. */
	efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	EXPECT_EQ(0, irqfd(vm, efd, 1, 0));
	EXPECT_EQ(0, irqfd(vm, efd, 0, MINIVMM_IRQFD_DEASSIGN));
	close(efd);
	test_vm_destroy(vm);
}

struct writer {
	pthread_t thread;
	int fd;
	volatile bool stop;
	volatile unsigned long writes;
};

static void *writer_fn(void *arg)
{
	struct writer *w = arg;
	uint64_t one = 1;

	while (!w->stop)
		if (write(w->fd, &one, sizeof(one)) == sizeof(one))
			w->writes++;
	return NULL;
}

/* The writer's first write came, within 10 s (scaled on slow kernels). */
static bool writer_started(struct writer *w)
{
	int ms;

	for (ms = 0; ms < 10000 * timeout_scale(); ms++) {
		if (w->writes)
			return true;
		usleep(1000);
	}
	return false;
}

/* The VM goes while another thread keeps writing its irqfds. */
TEST(irqfd_writes_race_vm_destruction)
{
	unsigned int round, rounds = stress_rounds(20);
	struct writer w[2];
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	int i;

	REQUIRE_VMX();
	for (round = 0; round < rounds; round++) {
		vm = test_vm_create(GUEST_MEM_SIZE);
		vcpu = test_vcpu_add(vm, 0);
		for (i = 0; i < 2; i++) {
			memset(&w[i], 0, sizeof(w[i]));
			w[i].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			ASSERT_LE(0, w[i].fd);
		}
		ASSERT_EQ(0, irqfd_msi(vm, w[0].fd, 0xfee00000, VEC_A));
		ASSERT_EQ(0, irqfd(vm, w[1].fd, 1, 0));
		for (i = 0; i < 2; i++)
			ASSERT_EQ(0, pthread_create(&w[i].thread, NULL,
						    writer_fn, &w[i]));
		/* Destroy while both write, however late they start. */
		for (i = 0; i < 2; i++)
			ASSERT_TRUE(writer_started(&w[i]));
		test_vcpu_destroy(vcpu);
		test_vm_destroy(vm);
		usleep(2000);
		for (i = 0; i < 2; i++) {
			w[i].stop = true;
			pthread_join(w[i].thread, NULL);
			close(w[i].fd);
		}
	}
}

/* ---- state ------------------------------------------------------------- */

TEST_F(ioapic, state_set_then_get_returns_it)
{
	struct minivmm_ioapic_state s, g;
	int pin;

	REQUIRE_VMX();
	memset(&s, 0, sizeof(s));
	s.id = 9;
	s.ioregsel = 0x13;
	s.lines = 0x00a5a5a5;
	for (pin = 0; pin < MINIVMM_IOAPIC_PINS; pin++)
		s.redir[pin] = ((uint64_t)pin << 56) | RTE_REMOTE_IRR |
			       RTE_LEVEL | (0x30 + pin);
	ASSERT_EQ(0, ioctl(self->vm->fd, MINIVMM_SET_IOAPIC, &s));
	ASSERT_EQ(0, ioctl(self->vm->fd, MINIVMM_GET_IOAPIC, &g));
	EXPECT_EQ(0, memcmp(&s, &g, sizeof(s)));
	/* The guest sees it. */
	EXPECT_EQ(0x09000000, READ_REG(0x00));
	EXPECT_EQ(RTE_REMOTE_IRR | RTE_LEVEL | 0x31, READ_REG(0x12));
}

/* ---- bad arguments ---------------------------------------------------- */

TEST(irq_line_errors)
{
	struct test_vm *vm;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	EXPECT_EQ(EINVAL, irq_line(vm, MINIVMM_IOAPIC_PINS, 1));
	EXPECT_EQ(EINVAL, irq_line(vm, 0xffffffff, 0));
	EXPECT_EQ(EINVAL, irq_line(vm, 0, 2));
	EXPECT_EQ(-1, ioctl(vm->fd, MINIVMM_IRQ_LINE, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, irq_line(vm, MINIVMM_IOAPIC_PINS - 1, 1));
	test_vm_destroy(vm);
}

TEST(signal_msi_errors)
{
	struct minivmm_msi m = { .address = 0xfee00000, .data = 0x41 };
	struct test_vm *vm;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	/* Without a vCPU nobody takes it, and that is no error. */
	EXPECT_EQ(0, signal_msi(vm, 0xfee00000, 0x41));
	EXPECT_EQ(-EINVAL, signal_msi(vm, 0xfed00000, 0x41));
	EXPECT_EQ(-EINVAL, signal_msi(vm, 0x1fee00000ULL, 0x41));
	EXPECT_EQ(-EINVAL, signal_msi(vm, 0xfee00010, 0x41));	/* bit 4 */
	EXPECT_EQ(-EINVAL, signal_msi(vm, 0xfee00001, 0x41));	/* bit 0 */
	EXPECT_EQ(-EINVAL, signal_msi(vm, 0xfee00000, 0x10041));
	EXPECT_EQ(-EINVAL, signal_msi(vm, 0xfee00000, 0x0841));	/* bit 11 */
	EXPECT_EQ(-EINVAL, signal_msi(vm, 0xfee00000, 0x0341));	/* mode 3 */
	EXPECT_EQ(-EINVAL, signal_msi(vm, 0xfee00000, 0x0641));	/* mode 6 */
	m.flags = 1;
	EXPECT_EQ(-1, ioctl(vm->fd, MINIVMM_SIGNAL_MSI, &m));
	EXPECT_EQ(EINVAL, errno);
	m.flags = 0;
	m.pad = 1;
	EXPECT_EQ(-1, ioctl(vm->fd, MINIVMM_SIGNAL_MSI, &m));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(vm->fd, MINIVMM_SIGNAL_MSI, NULL));
	EXPECT_EQ(EFAULT, errno);
	test_vm_destroy(vm);
}

TEST(irqfd_errors)
{
	struct minivmm_irqfd a;
	struct test_vm *vm;
	int efd, pipefd[2];

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, pipe(pipefd));

	EXPECT_EQ(EBADF, irqfd(vm, -1, 0, 0));
	EXPECT_EQ(EBADF, irqfd(vm, 1000, 0, 0));
	EXPECT_EQ(EINVAL, irqfd(vm, pipefd[0], 0, 0));
	EXPECT_EQ(EINVAL, irqfd(vm, efd, MINIVMM_IOAPIC_PINS, 0));
	EXPECT_EQ(EINVAL, irqfd(vm, efd, 0, 1u << 2));
	EXPECT_EQ(EINVAL, irqfd(vm, efd, 1, MINIVMM_IRQFD_MSI));
	EXPECT_EQ(EINVAL, irqfd_msi(vm, efd, 0xfed00000, 0x41));
	EXPECT_EQ(EINVAL, irqfd_msi(vm, efd, 0xfee00000, 0x0341));
	memset(&a, 0, sizeof(a));
	a.fd = efd;
	a.msi_data = 0x41;	/* MSI fields without MINIVMM_IRQFD_MSI */
	EXPECT_EQ(-1, ioctl(vm->fd, MINIVMM_IRQFD, &a));
	EXPECT_EQ(EINVAL, errno);
	a.msi_data = 0;
	a.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(vm->fd, MINIVMM_IRQFD, &a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(vm->fd, MINIVMM_IRQFD, NULL));
	EXPECT_EQ(EFAULT, errno);

	EXPECT_EQ(ENOENT, irqfd(vm, efd, 0, MINIVMM_IRQFD_DEASSIGN));
	EXPECT_EQ(EBADF, irqfd(vm, -1, 0, MINIVMM_IRQFD_DEASSIGN));
	EXPECT_EQ(EINVAL, irqfd(vm, pipefd[0], 0, MINIVMM_IRQFD_DEASSIGN));
	EXPECT_EQ(EINVAL, irqfd(vm, efd, 3, MINIVMM_IRQFD_DEASSIGN));

	EXPECT_EQ(0, irqfd(vm, efd, 3, 0));
	/* The same eventfd again, for any pin or an MSI. */
	EXPECT_EQ(EBUSY, irqfd(vm, efd, 3, 0));
	EXPECT_EQ(EBUSY, irqfd(vm, efd, 4, 0));
	EXPECT_EQ(EBUSY, irqfd_msi(vm, efd, 0xfee00000, 0x41));
	EXPECT_EQ(0, irqfd(vm, efd, 0, MINIVMM_IRQFD_DEASSIGN));
	EXPECT_EQ(ENOENT, irqfd(vm, efd, 0, MINIVMM_IRQFD_DEASSIGN));

	close(pipefd[0]);
	close(pipefd[1]);
	close(efd);
	test_vm_destroy(vm);
}

TEST(irqfd_limit_is_enospc)
{
	int efd[MINIVMM_MAX_IRQFDS + 1], i;
	struct test_vm *vm;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	for (i = 0; i <= MINIVMM_MAX_IRQFDS; i++) {
		efd[i] = eventfd(0, EFD_CLOEXEC);
		ASSERT_LE(0, efd[i]);
	}
	for (i = 0; i < MINIVMM_MAX_IRQFDS; i++)
		ASSERT_EQ(0, irqfd_msi(vm, efd[i], 0xfee00000, 0x41));
	EXPECT_EQ(ENOSPC, irqfd(vm, efd[i], 0, 0));
	/* One gone, one more fits. */
	EXPECT_EQ(0, irqfd(vm, efd[0], 0, MINIVMM_IRQFD_DEASSIGN));
	EXPECT_EQ(0, irqfd(vm, efd[i], 0, 0));
	/* The VM goes with its irqfds registered. */
	test_vm_destroy(vm);
	for (i = 0; i <= MINIVMM_MAX_IRQFDS; i++)
		close(efd[i]);
}

TEST(ioapic_state_errors)
{
	struct minivmm_ioapic_state s;
	struct test_vm *vm;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	EXPECT_EQ(-1, ioctl(vm->fd, MINIVMM_GET_IOAPIC, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(vm->fd, MINIVMM_SET_IOAPIC, NULL));
	EXPECT_EQ(EFAULT, errno);

#define BAD_STATE(field, value)						\
	do {								\
		ASSERT_EQ(0, ioctl(vm->fd, MINIVMM_GET_IOAPIC, &s));	\
		field = value;						\
		EXPECT_EQ(-1, ioctl(vm->fd, MINIVMM_SET_IOAPIC, &s))	\
			TH_LOG(#field " = " #value);			\
		EXPECT_EQ(EINVAL, errno);				\
	} while (0)

	BAD_STATE(s.id, 16);
	BAD_STATE(s.ioregsel, 0x100);
	BAD_STATE(s.lines, 1u << MINIVMM_IOAPIC_PINS);
	BAD_STATE(s.pad, 1);
	BAD_STATE(s.reserved[3], 1);
	BAD_STATE(s.redir[0], 1ULL << 12);	/* delivery status */
	BAD_STATE(s.redir[23], 1ULL << 17);
	BAD_STATE(s.redir[5], 1ULL << 48);
	/* None of it changed anything. */
	ASSERT_EQ(0, ioctl(vm->fd, MINIVMM_GET_IOAPIC, &s));
	EXPECT_EQ(0, s.id);
	EXPECT_EQ(RTE_MASKED, s.redir[0]);
	EXPECT_EQ(0, s.lines);
	test_vm_destroy(vm);
}

TEST_HARNESS_MAIN

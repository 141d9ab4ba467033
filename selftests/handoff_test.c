// SPDX-License-Identifier: GPL-2.0
/*
 * Completing exits through the run page (struct minivmm_run.handoff,
 * MINIVMM_CAP_RUN_HANDOFF): the answers given there reach the guest as
 * MINIVMM_RUN's do, value by value; with the mode off everything goes
 * through RUN; a RUN issued while the thread runs the guest for a page
 * answer returns that run's exit; a signal or immediate_exit ends such a
 * run with MINIVMM_EXIT_INTR; ioctls that need the thread are -EBUSY
 * meanwhile; closing the vCPU while its thread polls or runs ends the
 * thread; and whatever userspace writes into the word, the vCPU only
 * returns exits or errors.
 *
 * The tests set the module parameter page_poll_ns (root) and put it back.
 * A long window (PAGE_WINDOW_NS) makes the page path the one taken on a
 * machine where both sides run at once; none of them asserts a time.
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "minivmm_test.h"

#define PARAM		"/sys/module/minivmm/parameters/page_poll_ns"
#define PAGE_WINDOW_NS	1000000000u	/* 1 s */
#define ROUNDS		40
#define PORT_IN		0x10
#define PORT_SUM	0x11
#define PORT_MMIO	0x12
#define PORT_A		0x20
#define PORT_B		0x21
/* How many looks handoff_next() makes before it falls back to RUN. */
#define SPINS		100000000UL

#define S1(x)		#x
#define S(x)		S1(x)

/*
 * ROUNDS times: IN from PORT_IN; OUT of that plus the round number (R12,
 * counting down) to PORT_SUM; a 4-byte MMIO read at MMIO_BASE; OUT of
 * it XOR the round to PORT_MMIO; the same written to MMIO_BASE + 8; HLT
 * (interrupts are off: an exit to userspace). Then the done ucall.
 */
GUEST_CODE(guest_echo, ".code64",
	   "mov $" S(ROUNDS) ", %r12d\n\t"
	   "mov $" S(MMIO_BASE) ", %edi\n"
	   "1:\n\t"
	   "in $" S(PORT_IN) ", %eax\n\t"
	   "add %r12d, %eax\n\t"
	   "out %eax, $" S(PORT_SUM) "\n\t"
	   "mov (%rdi), %edx\n\t"
	   "mov %edx, %eax\n\t"
	   "xor %r12d, %eax\n\t"
	   "out %eax, $" S(PORT_MMIO) "\n\t"
	   "mov %eax, 8(%rdi)\n\t"
	   "hlt\n\t"
	   "dec %r12d\n\t"
	   "jnz 1b\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");

/*
 * OUT to PORT_A with EAX = 1; a loop of R13 rounds (set by the test);
 * OUT to PORT_B with EAX = 2; the done ucall.
 */
GUEST_CODE(guest_ab, ".code64",
	   "mov $1, %eax\n\t"
	   "out %eax, $" S(PORT_A) "\n\t"
	   "mov %r13, %rcx\n"
	   "1:\n\t"
	   "dec %rcx\n\t"
	   "jnz 1b\n\t"
	   "mov $2, %eax\n\t"
	   "out %eax, $" S(PORT_B) "\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");

/* Guest RAM that guest_spin counts up in. */
#define COUNTER		0x60000

/*
 * OUT to PORT_A, then a loop that never exits to userspace, counting
 * up the u32 at COUNTER.
 */
GUEST_CODE(guest_spin, ".code64",
	   "mov $1, %eax\n\t"
	   "out %eax, $" S(PORT_A) "\n\t"
	   "mov $" S(COUNTER) ", %edi\n"
	   "1:\n\t"
	   "incl (%rdi)\n\t"
	   "pause\n\t"
	   "jmp 1b\n\t");

static long param_read(void)
{
	char buf[32] = "";
	int fd = open(PARAM, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

static bool param_write(long val)
{
	char buf[32];
	int fd = open(PARAM, O_WRONLY);
	bool ok;

	if (fd < 0)
		return false;
	snprintf(buf, sizeof(buf), "%ld\n", val);
	ok = write(fd, buf, strlen(buf)) == (ssize_t)strlen(buf);
	close(fd);
	return ok;
}

static uint32_t word(struct minivmm_run *run)
{
	return __atomic_load_n(&run->handoff, __ATOMIC_ACQUIRE);
}

FIXTURE(handoff) {
	struct test_vm *vm;
	struct test_vcpu *vcpu;
	long saved;
};

FIXTURE_SETUP(handoff)
{
	struct minivmm_caps c;

	self->saved = -1;
	if (minivmm_caps(&c) || !(c.features & MINIVMM_CAP_EPT))
		SKIP(return, "no usable VMX on this machine");
	self->saved = param_read();
	if (self->saved < 0)
		SKIP(return, "no %s (not root?)", PARAM);
	if (!param_write(PAGE_WINDOW_NS))
		SKIP(return, "cannot write %s", PARAM);
}

FIXTURE_TEARDOWN(handoff)
{
	if (self->vcpu)
		test_vcpu_destroy(self->vcpu);
	if (self->vm)
		test_vm_destroy(self->vm);
	if (self->saved >= 0)
		param_write(self->saved);
}

static void setup_guest(struct test_vm **vm, struct test_vcpu **vcpu,
			const unsigned char *code, const unsigned char *end)
{
	*vm = test_vm_create(GUEST_MEM_SIZE);
	*vcpu = test_vcpu_add(*vm, 0);
	test_vcpu_load(*vcpu, MODE_LONG, code, end - code);
}

/* In a TEST_F() body: a VM and vCPU in the fixture running @code. */
#define SETUP(code)	setup_guest(&self->vm, &self->vcpu, code, code##_end)

/* The answer of round @i to the IN and to the MMIO read. */
static uint32_t in_value(unsigned int i)
{
	return 0x1000u * i + 0x77;
}

static uint32_t mmio_value(unsigned int i)
{
	return 0xa5a50000u ^ (i * 0x01010101u);
}

/* One exit as the log of a run keeps it. */
struct seen {
	uint32_t reason;
	uint32_t port_or_len;
	uint64_t data;
};

#define LOG_MAX		(ROUNDS * 6 + 4)

/*
 * Drive guest_echo to its end, answering through the page (@page) or
 * with MINIVMM_RUN; log every exit and check every value the guest
 * computed. Returns the number of exits; *@by_page counts those that
 * came without an ioctl.
 */
static int drive_echo(struct __test_metadata *_metadata,
		      struct test_vcpu *vcpu, bool page, struct seen *log,
		      unsigned int *by_page)
{
	struct minivmm_run *run = vcpu->run;
	unsigned int n = 0, round = 0;
	bool yield = sysconf(_SC_NPROCESSORS_ONLN) < 2, bp;
	int ret;

	*by_page = 0;
	if (page)
		handoff_enable(run);
	ret = test_vcpu_run(vcpu);
	for (;;) {
		ASSERT_EQ(0, ret);
		ASSERT_LT(n, LOG_MAX);
		log[n].reason = run->exit_reason;
		log[n].port_or_len = 0;
		log[n].data = 0;
		if (run->exit_reason == MINIVMM_EXIT_IO) {
			uint32_t *data = (uint32_t *)((char *)run +
						      run->io.data_offset);

			log[n].port_or_len = run->io.port;
			if (run->io.port == 0xf8)
				break;
			if (run->io.direction == MINIVMM_IO_IN) {
				ASSERT_EQ(PORT_IN, run->io.port);
				*data = in_value(round);
			} else if (run->io.port == PORT_SUM) {
				EXPECT_EQ(in_value(round) + ROUNDS - round,
					  *data);
			} else {
				ASSERT_EQ(PORT_MMIO, run->io.port);
				EXPECT_EQ(mmio_value(round) ^ (ROUNDS - round),
					  *data);
			}
			log[n].data = *data;
		} else if (run->exit_reason == MINIVMM_EXIT_MMIO) {
			log[n].port_or_len = run->mmio.len;
			if (!run->mmio.is_write) {
				ASSERT_EQ(MMIO_BASE, run->mmio.phys_addr);
				run->mmio.data = mmio_value(round);
			} else {
				ASSERT_EQ(MMIO_BASE + 8, run->mmio.phys_addr);
				EXPECT_EQ(mmio_value(round) ^ (ROUNDS - round),
					  (uint32_t)run->mmio.data);
			}
			log[n].data = run->mmio.data;
		} else {
			ASSERT_EQ(MINIVMM_EXIT_HLT, run->exit_reason);
			round++;
		}
		n++;
		if (page) {
			ret = handoff_next(vcpu->fd, run, SPINS, yield, &bp);
			*by_page += bp;
		} else {
			ret = test_vcpu_run(vcpu);
		}
	}
	EXPECT_EQ(ROUNDS, round);
	return n + 1;
}

TEST_F(handoff, caps_bit_follows_page_poll_ns)
{
	struct minivmm_caps c;

	ASSERT_EQ(0, minivmm_caps(&c));
	EXPECT_TRUE(c.features & MINIVMM_CAP_RUN_HANDOFF);
	ASSERT_TRUE(param_write(0));
	ASSERT_EQ(0, minivmm_caps(&c));
	EXPECT_FALSE(c.features & MINIVMM_CAP_RUN_HANDOFF);
}

/* The same guest, answered with RUN and then through the page. */
TEST_F(handoff, page_answers_equal_ioctl_answers)
{
	static struct seen ioctl_log[LOG_MAX], page_log[LOG_MAX];
	unsigned int by_page, i;
	int n_ioctl, n_page;

	SETUP(guest_echo);
	n_ioctl = drive_echo(_metadata, self->vcpu, false, ioctl_log,
			     &by_page);
	EXPECT_EQ(0, by_page);
	test_vcpu_destroy(self->vcpu);
	test_vm_destroy(self->vm);
	SETUP(guest_echo);
	n_page = drive_echo(_metadata, self->vcpu, true, page_log, &by_page);
	ASSERT_EQ(n_ioctl, n_page);
	for (i = 0; i < (unsigned int)n_page; i++) {
		EXPECT_EQ(ioctl_log[i].reason, page_log[i].reason);
		EXPECT_EQ(ioctl_log[i].port_or_len, page_log[i].port_or_len);
		EXPECT_EQ(ioctl_log[i].data, page_log[i].data);
	}
	TH_LOG("%u of %d exits came through the page", by_page, n_page);
	/* With a 1 s window the thread waits for every answer. */
	EXPECT_LT(0, by_page);
}

/* page_poll_ns 0: the word is never USER, every answer goes with RUN. */
TEST_F(handoff, mode_off_falls_back_to_run)
{
	static struct seen log[LOG_MAX];
	unsigned int by_page;

	ASSERT_TRUE(param_write(0));
	SETUP(guest_echo);
	drive_echo(_metadata, self->vcpu, true, log, &by_page);
	EXPECT_EQ(0, by_page);
	EXPECT_NE(MINIVMM_HANDOFF_USER,
		  MINIVMM_HANDOFF_STATE(word(self->vcpu->run)));
}

/*
 * Answer exit A through the page, then call RUN at once: RUN returns
 * exit B, the next one, once (whether it attached to the thread's run
 * or found the answer itself), and the guest goes on to its end.
 */
TEST_F(handoff, run_during_page_run_returns_its_exit)
{
	struct minivmm_run *run;
	struct minivmm_regs regs;
	uint32_t w, kern;

	SETUP(guest_ab);
	test_get_regs(self->vcpu, &regs);
	regs.r13 = 200000;
	test_set_regs(self->vcpu, &regs);
	run = self->vcpu->run;
	handoff_enable(run);
	ASSERT_EQ(0, test_vcpu_run(self->vcpu));
	ASSERT_EQ(MINIVMM_EXIT_IO, run->exit_reason);
	ASSERT_EQ(PORT_A, run->io.port);
	w = word(run);
	ASSERT_EQ(MINIVMM_HANDOFF_USER, MINIVMM_HANDOFF_STATE(w));
	kern = MINIVMM_HANDOFF(MINIVMM_HANDOFF_KERNEL, MINIVMM_HANDOFF_SEQ(w));
	ASSERT_TRUE(__atomic_compare_exchange_n(&run->handoff, &w, kern,
						false, __ATOMIC_RELEASE,
						__ATOMIC_RELAXED));
	ASSERT_EQ(0, test_vcpu_run(self->vcpu));
	ASSERT_EQ(MINIVMM_EXIT_IO, run->exit_reason);
	EXPECT_EQ(PORT_B, run->io.port);
	EXPECT_EQ(MINIVMM_HANDOFF_SEQ(kern) + 1,
		  MINIVMM_HANDOFF_SEQ(word(run)));
	ASSERT_EQ(0, handoff_next(self->vcpu->fd, run, SPINS, true, NULL));
	ASSERT_EQ(MINIVMM_EXIT_IO, run->exit_reason);
	EXPECT_EQ(0xf8, run->io.port);
}

/*
 * Run guest_spin to its exit A and answer it through the page: the
 * guest then never exits. False when that went otherwise.
 */
static bool answer_a(struct test_vcpu *vcpu)
{
	struct minivmm_run *run = vcpu->run;
	uint32_t w, kern;

	handoff_enable(run);
	if (test_vcpu_run(vcpu) || run->exit_reason != MINIVMM_EXIT_IO ||
	    run->io.port != PORT_A)
		return false;
	w = word(run);
	kern = MINIVMM_HANDOFF(MINIVMM_HANDOFF_KERNEL, MINIVMM_HANDOFF_SEQ(w));
	return __atomic_compare_exchange_n(&run->handoff, &w, kern, false,
					   __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

TEST_F(handoff, signal_ends_page_run_with_exit_intr)
{
	SETUP(guest_spin);
	ASSERT_TRUE(answer_a(self->vcpu));
	EXPECT_EQ(-EINTR, test_vcpu_run_for(self->vcpu,
					    100 * timeout_scale()));
	EXPECT_EQ(MINIVMM_EXIT_INTR, self->vcpu->run->exit_reason);
	EXPECT_EQ(MINIVMM_HANDOFF_PARKED,
		  MINIVMM_HANDOFF_STATE(word(self->vcpu->run)));
	/* It goes on: the guest spins again until the next signal. */
	EXPECT_EQ(-EINTR, test_vcpu_run_for(self->vcpu,
					    50 * timeout_scale()));
	EXPECT_EQ(MINIVMM_EXIT_INTR, self->vcpu->run->exit_reason);
}

TEST_F(handoff, immediate_exit_ends_page_run)
{
	SETUP(guest_spin);
	ASSERT_TRUE(answer_a(self->vcpu));
	self->vcpu->run->immediate_exit = 1;
	EXPECT_EQ(-EINTR, test_vcpu_run(self->vcpu));
	self->vcpu->run->immediate_exit = 0;
	EXPECT_EQ(MINIVMM_EXIT_INTR, self->vcpu->run->exit_reason);
}

/*
 * GET_REGS while the thread runs the guest for a page answer: -EBUSY.
 * The guest's counter says the run began; an ioctl made before would
 * have left the answer to RUN.
 */
TEST_F(handoff, ioctl_during_page_run_ebusy)
{
	volatile uint32_t *counter;
	struct minivmm_regs regs;
	unsigned int tries;

	SETUP(guest_spin);
	counter = (volatile uint32_t *)(self->vm->mem + COUNTER);
	ASSERT_TRUE(answer_a(self->vcpu));
	for (tries = 0; tries < 1000 * timeout_scale() && !*counter; tries++)
		usleep(1000);
	ASSERT_NE(0, *counter) TH_LOG("the thread did not take the answer");
	EXPECT_EQ(-1, ioctl(self->vcpu->fd, MINIVMM_GET_REGS, &regs));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(-EINTR, test_vcpu_run_for(self->vcpu,
					    50 * timeout_scale()));
	EXPECT_EQ(MINIVMM_EXIT_INTR, self->vcpu->run->exit_reason);
	EXPECT_EQ(0, ioctl(self->vcpu->fd, MINIVMM_GET_REGS, &regs));
}

/* Close everything while the thread polls, then while it runs. */
TEST_F(handoff, destroy_while_polling_or_running)
{
	struct live_counts before, now;
	struct minivmm_run *run;

	ASSERT_EQ(0, live_counts(&before));
	SETUP(guest_echo);
	run = self->vcpu->run;
	handoff_enable(run);
	ASSERT_EQ(0, test_vcpu_run(self->vcpu));
	ASSERT_EQ(MINIVMM_HANDOFF_USER, MINIVMM_HANDOFF_STATE(word(run)));
	test_vcpu_destroy(self->vcpu);
	test_vm_destroy(self->vm);
	self->vcpu = NULL;
	self->vm = NULL;
	SETUP(guest_spin);
	ASSERT_TRUE(answer_a(self->vcpu));
	test_vcpu_destroy(self->vcpu);
	test_vm_destroy(self->vm);
	self->vcpu = NULL;
	self->vm = NULL;
	EXPECT_TRUE(live_counts_reach(&before, &now, 1000 * timeout_scale()));
}

/*
 * Garbage in the word while the thread polls: it parks; RUN returns
 * the unanswered exit again, and a proper answer goes on from there.
 */
TEST_F(handoff, garbage_word_parks_and_run_returns_the_exit)
{
	struct minivmm_run *run;
	uint32_t seq;

	SETUP(guest_echo);
	run = self->vcpu->run;
	handoff_enable(run);
	ASSERT_EQ(0, test_vcpu_run(self->vcpu));
	ASSERT_EQ(PORT_IN, run->io.port);
	seq = MINIVMM_HANDOFF_SEQ(word(run));
	__atomic_store_n(&run->handoff, 0xdeadbeef, __ATOMIC_RELEASE);
	ASSERT_EQ(0, test_vcpu_run(self->vcpu));
	ASSERT_EQ(MINIVMM_EXIT_IO, run->exit_reason);
	EXPECT_EQ(PORT_IN, run->io.port);
	/* Now the answer, said properly. */
	*(uint32_t *)((char *)run + run->io.data_offset) = in_value(0);
	__atomic_store_n(&run->handoff,
			 MINIVMM_HANDOFF(MINIVMM_HANDOFF_KERNEL, seq),
			 __ATOMIC_RELEASE);
	ASSERT_EQ(0, test_vcpu_run(self->vcpu));
	ASSERT_EQ(PORT_SUM, run->io.port);
	EXPECT_EQ(in_value(0) + ROUNDS,
		  *(uint32_t *)((char *)run + run->io.data_offset));
}

struct hammer {
	struct minivmm_run *run;
	volatile int stop;
};

static void *hammer_fn(void *arg)
{
	struct hammer *h = arg;
	uint32_t x = 12345;

	while (!h->stop) {
		x = x * 1103515245 + 12345;
		__atomic_store_n(&h->run->handoff, x, __ATOMIC_RELAXED);
		if (!(x & 0xff))
			sched_yield();
	}
	return NULL;
}

/*
 * Random words written all the while: every call ends with an exit or
 * an error, the thread never hangs, and the vCPU can be closed.
 */
TEST_F(handoff, random_words_never_hang)
{
	struct hammer h = { 0 };
	struct live_counts before, now;
	unsigned int i, done = 0;
	pthread_t t;
	int ret;

	ASSERT_EQ(0, live_counts(&before));
	SETUP(guest_echo);
	h.run = self->vcpu->run;
	handoff_enable(h.run);
	ASSERT_EQ(0, pthread_create(&t, NULL, hammer_fn, &h));
	for (i = 0; i < 400 && !done; i++) {
		ret = handoff_next(self->vcpu->fd, h.run, 1000, true, NULL);
		ASSERT_TRUE(ret == 0 || ret == -EINTR) TH_LOG("%d", ret);
		done = !ret && h.run->exit_reason == MINIVMM_EXIT_IO &&
		       h.run->io.port == 0xf8;
	}
	h.stop = 1;
	pthread_join(t, NULL);
	TH_LOG("%u calls, guest %s", i, done ? "done" : "not done");
	test_vcpu_destroy(self->vcpu);
	test_vm_destroy(self->vm);
	self->vcpu = NULL;
	self->vm = NULL;
	EXPECT_TRUE(live_counts_reach(&before, &now, 1000 * timeout_scale()));
}

TEST_HARNESS_MAIN

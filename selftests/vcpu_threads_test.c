// SPDX-License-Identifier: GPL-2.0
/*
 * vCPUs and threads: several vCPUs of one VM running at once on their own
 * threads, a guest that never exits stopped by a signal or by its fd
 * closing, a process killed while its guest spins, and the vCPU's kernel
 * thread moved between CPUs under a running guest.
 */
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "minivmm_test.h"

#define NR_VCPUS	4

/* Guest physical addresses the spinning guest uses. */
#define STARTED_GPA	0x90000UL	/* set to 1 once running */
#define RELEASE_GPA	0x90004UL	/* the guest finishes once non-zero */
#define COUNTER_GPA	0x90008UL	/* incremented by every spin */

/* The worker guest: its rounds, LCG steps per round, reports. */
#define ROUNDS		4096
#define STEPS		64
#define SYNC_EVERY	256
#define LCG_MUL		6364136223846793005ULL
#define WORK_DATA	0x100000UL	/* each vCPU's 4 KiB at + id * 4 KiB */

/*
 * Long mode, RDI = vCPU id. ROUNDS rounds of STEPS steps of
 * x = x * LCG_MUL + id + 1 (x starting at 0), each round done by a
 * subroutine on the vCPU's own stack. Round k stores x in the vCPU's
 * page at (k % 512) * 8 and every SYNC_EVERY rounds reports k (RBX) and
 * x (RCX). Finally reports CPUID.1:EBX[31:24] (RBX) and x (RCX) in a
 * DONE ucall.
 */
GUEST_CODE(guest_worker, ".code64",
	   "mov %rdi, %r8\n\t"
	   "shl $12, %r8\n\t"
	   "add $0x100000, %r8\n\t"		/* this vCPU's page */
	   "lea 1(%rdi), %r10\n\t"			/* increment */
	   "movabs $6364136223846793005, %r9\n\t"
	   "xor %r11d, %r11d\n\t"			/* x */
	   "xor %r12d, %r12d\n\t"			/* round k */
	   "1: inc %r12\n\t"
	   "push %r12\n\t"
	   "call 3f\n\t"
	   "pop %r12\n\t"
	   "mov %r12, %rax\n\t"
	   "and $511, %eax\n\t"
	   "mov %r11, (%r8,%rax,8)\n\t"
	   "test $255, %r12\n\t"
	   "jnz 2f\n\t"
	   "mov %r12, %rbx\n\t"
	   "mov %r11, %rcx\n\t"
	   UCALL_ASM(1)
	   "2: cmp $4096, %r12\n\t"
	   "jne 1b\n\t"
	   "mov $1, %eax\n\t"
	   "cpuid\n\t"
	   "shr $24, %ebx\n\t"
	   "mov %r11, %rcx\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t"
	   /* One round: STEPS steps of the LCG on x (R11), clobbers R12. */
	   "3: mov $64, %r12d\n\t"
	   "4: imul %r9, %r11\n\t"
	   "add %r10, %r11\n\t"
	   "dec %r12d\n\t"
	   "jnz 4b\n\t"
	   "ret\n\t");

/*
 * Long mode, interrupts off: raise STARTED, then count at COUNTER until
 * RELEASE is set, then finish. It never exits on its own meanwhile.
 */
GUEST_CODE(guest_spin, ".code64",
	   "cli\n\t"
	   "movl $1, 0x90000\n\t"
	   "1: incq 0x90008\n\t"
	   "cmpl $0, 0x90004\n\t"
	   "je 1b\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");

/*
 * Long mode: R14 passes over the 64 KiB at 0x100000, each computing the
 * rotate-xor checksum of its quadwords, which must equal R15, and
 * checking R8-R13 against the copies at 0x98000. Reports every 16
 * passes, then finishes. A mismatch is a failure: RBX = 1 for the
 * checksum, 2 + n for R(8 + n); RCX found, RDX expected.
 */
GUEST_CODE(guest_checksum, ".code64",
	   "1: xor %eax, %eax\n\t"
	   "mov $0x100000, %rsi\n\t"
	   "mov $8192, %ecx\n\t"
	   "2: rol $5, %rax\n\t"
	   "xor (%rsi), %rax\n\t"
	   "add $8, %rsi\n\t"
	   "dec %ecx\n\t"
	   "jnz 2b\n\t"
	   "mov $1, %ebx\n\t"
	   "mov %rax, %rcx\n\t"
	   "mov %r15, %rdx\n\t"
	   "cmp %r15, %rax\n\t"
	   "jne 9f\n\t"
	   "mov $2, %ebx\n\t"
	   "mov %r8, %rcx\n\t"
	   "mov 0x98000, %rdx\n\t"
	   "cmp %rdx, %rcx\n\t"
	   "jne 9f\n\t"
	   "mov $3, %ebx\n\t"
	   "mov %r9, %rcx\n\t"
	   "mov 0x98008, %rdx\n\t"
	   "cmp %rdx, %rcx\n\t"
	   "jne 9f\n\t"
	   "mov $4, %ebx\n\t"
	   "mov %r10, %rcx\n\t"
	   "mov 0x98010, %rdx\n\t"
	   "cmp %rdx, %rcx\n\t"
	   "jne 9f\n\t"
	   "mov $5, %ebx\n\t"
	   "mov %r11, %rcx\n\t"
	   "mov 0x98018, %rdx\n\t"
	   "cmp %rdx, %rcx\n\t"
	   "jne 9f\n\t"
	   "mov $6, %ebx\n\t"
	   "mov %r12, %rcx\n\t"
	   "mov 0x98020, %rdx\n\t"
	   "cmp %rdx, %rcx\n\t"
	   "jne 9f\n\t"
	   "mov $7, %ebx\n\t"
	   "mov %r13, %rcx\n\t"
	   "mov 0x98028, %rdx\n\t"
	   "cmp %rdx, %rcx\n\t"
	   "jne 9f\n\t"
	   "dec %r14\n\t"
	   "jz 8f\n\t"
	   "test $15, %r14\n\t"
	   "jnz 1b\n\t"
	   "mov %r14, %rbx\n\t"
	   UCALL_ASM(1)
	   "jmp 1b\n\t"
	   "8: " GUEST_DONE_ASM
	   "hlt\n\t"
	   "9: " UCALL_ASM(2)
	   "hlt\n\t");

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void on_signal(int sig)
{
}

static void catch_sigusr1(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* No SA_RESTART: the signal must end the ioctl. */
	TEST_REQUIRE(!sigaction(SIGUSR1, &sa, NULL), "sigaction: %s",
		     strerror(errno));
}

/* Wait up to @ms milliseconds for the guest's flag at @gpa. */
static bool wait_flag(struct test_vm *vm, uint64_t gpa, int ms)
{
	volatile uint32_t *flag = (volatile uint32_t *)(vm->mem + gpa);

	while (ms-- > 0 && !*flag)
		usleep(1000);
	return *flag != 0;
}

static uint64_t guest_u64(struct test_vm *vm, uint64_t gpa)
{
	return *(volatile uint64_t *)(vm->mem + gpa);
}

/* Is task @pid still there (and not a zombie)? */
static bool task_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	bool alive = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f)) {
		p = strrchr(buf, ')');
		alive = p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
	}
	fclose(f);
	return alive;
}

static bool wait_task_gone(pid_t pid, int ms)
{
	while (ms-- > 0 && task_alive(pid))
		usleep(1000);
	return !task_alive(pid);
}

static unsigned int nr_vms(void)
{
	struct minivmm_caps caps;

	return minivmm_caps(&caps) ? ~0U : caps.nr_vms;
}

/* ---- Four vCPUs, four threads ---------------------------------------- */

struct worker {
	struct test_vcpu *vcpu;
	int syncs;		/* reports as expected */
	int bad_sync;		/* reports with wrong values */
	uint64_t x;		/* final x the guest reported */
	uint64_t id;		/* the vCPU id the guest saw in CPUID */
	bool done;
};

static uint64_t lcg_after(int id, int rounds)
{
	uint64_t x = 0;
	int i;

	for (i = 0; i < rounds * STEPS; i++)
		x = x * LCG_MUL + id + 1;
	return x;
}

static void *worker_thread(void *arg)
{
	struct worker *w = arg;
	int id = w->vcpu->id, k = 0;
	struct ucall uc;

	for (;;) {
		uint64_t nr = test_run_ucall(w->vcpu, &uc);

		if (nr == UCALL_DONE) {
			w->id = uc.args[0];
			w->x = uc.args[1];
			w->done = true;
			return NULL;
		}
		k += SYNC_EVERY;
		if (nr == UCALL_SYNC && uc.args[0] == (uint64_t)k &&
		    uc.args[1] == lcg_after(id, k))
			w->syncs++;
		else
			w->bad_sync++;
	}
}

TEST(four_vcpus_on_four_threads_compute_correctly)
{
	struct worker w[NR_VCPUS];
	pthread_t thread[NR_VCPUS];
	struct minivmm_regs regs;
	struct test_vm *vm;
	uint64_t *page;
	int i;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	memset(w, 0, sizeof(w));
	for (i = 0; i < NR_VCPUS; i++) {
		w[i].vcpu = test_vcpu_add(vm, i);
		test_vcpu_load(w[i].vcpu, MODE_LONG, guest_worker,
			       GUEST_CODE_SIZE(guest_worker));
		/* Its own stack, 16 KiB below the previous one. */
		test_get_regs(w[i].vcpu, &regs);
		regs.rsp = GUEST_STACK - i * 0x4000;
		regs.rdi = i;
		test_set_regs(w[i].vcpu, &regs);
	}
	for (i = 0; i < NR_VCPUS; i++)
		ASSERT_EQ(0, pthread_create(&thread[i], NULL, worker_thread,
					    &w[i]));
	for (i = 0; i < NR_VCPUS; i++)
		ASSERT_EQ(0, pthread_join(thread[i], NULL));

	for (i = 0; i < NR_VCPUS; i++) {
		EXPECT_TRUE(w[i].done) TH_LOG("vCPU %d did not finish", i);
		EXPECT_EQ(ROUNDS / SYNC_EVERY, w[i].syncs)
			TH_LOG("vCPU %d", i);
		EXPECT_EQ(0, w[i].bad_sync) TH_LOG("vCPU %d", i);
		EXPECT_EQ(lcg_after(i, ROUNDS), w[i].x) TH_LOG("vCPU %d", i);
		EXPECT_EQ(i, w[i].id) TH_LOG("CPUID seen by vCPU %d", i);
		/* Round 4096 stored the final x at slot 4096 % 512 = 0. */
		page = (uint64_t *)(vm->mem + WORK_DATA + i * 4096);
		EXPECT_EQ(lcg_after(i, ROUNDS), page[0]);
		EXPECT_EQ(lcg_after(i, ROUNDS - 1), page[511]);
	}
	for (i = 0; i < NR_VCPUS; i++)
		test_vcpu_destroy(w[i].vcpu);
	test_vm_destroy(vm);
}

/* ---- Guests that never exit ------------------------------------------ */

struct runner {
	int fd;
	int ret;		/* 0 or -errno */
	uint64_t returned_ns;
};

static void *run_thread(void *arg)
{
	struct runner *r = arg;

	r->ret = ioctl(r->fd, MINIVMM_RUN, 0) ? -errno : 0;
	r->returned_ns = now_ns();
	return NULL;
}

/*
 * Start RUN on a new thread and wait until guest_spin counts: the guest
 * is stopped before, so a change proves this RUN is in the guest.
 */
static void start_spinning(struct __test_metadata *_metadata,
			   struct test_vm *vm, struct runner *r,
			   pthread_t *thread)
{
	uint64_t count = guest_u64(vm, COUNTER_GPA);
	int ms;

	ASSERT_EQ(0, pthread_create(thread, NULL, run_thread, r));
	for (ms = 0; ms < 10000 && guest_u64(vm, COUNTER_GPA) == count; ms++)
		usleep(1000);
	ASSERT_NE(count, guest_u64(vm, COUNTER_GPA))
		TH_LOG("the guest never ran");
	EXPECT_EQ(1, *(volatile uint32_t *)(vm->mem + STARTED_GPA));
}

/*
 * Signal the thread inside RUN and wait for it: RUN must have returned
 * -EINTR within a second of the signal.
 */
static void stop_with_signal(struct __test_metadata *_metadata,
			     struct runner *r, pthread_t thread)
{
	uint64_t sent = now_ns();

	ASSERT_EQ(0, pthread_kill(thread, SIGUSR1));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(-EINTR, r->ret);
	EXPECT_GT(1000000000ULL, r->returned_ns - sent)
		TH_LOG("RUN returned %llu ms after the signal",
		       (unsigned long long)(r->returned_ns - sent) / 1000000);
}

/* The guest's RIP is inside guest_spin's loop, with IF clear. */
static void expect_spinning(struct __test_metadata *_metadata,
			    struct test_vcpu *vcpu)
{
	struct minivmm_regs regs;

	test_get_regs(vcpu, &regs);
	EXPECT_LE(GUEST_CODE_ADDR, regs.rip);
	EXPECT_GT(GUEST_CODE_ADDR + GUEST_CODE_SIZE(guest_spin), regs.rip);
	EXPECT_EQ(0, regs.rflags & (1 << 9));
}

TEST(signal_stops_spinning_guest_and_run_resumes_it)
{
	struct test_vcpu *vcpu;
	struct runner r = { 0 };
	struct test_vm *vm;
	pthread_t thread;
	uint64_t count;
	struct ucall uc;
	int i;

	REQUIRE_VMX();
	catch_sigusr1();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_vcpu_load(vcpu, MODE_LONG, guest_spin, GUEST_CODE_SIZE(guest_spin));
	r.fd = vcpu->fd;

	for (i = 0; i < 3; i++) {
		vcpu->run->exit_reason = MINIVMM_EXIT_NONE;
		start_spinning(_metadata, vm, &r, &thread);
		count = guest_u64(vm, COUNTER_GPA);
		/* Still counting: it is really running, not stuck. */
		usleep(20000);
		EXPECT_LT(count, guest_u64(vm, COUNTER_GPA))
			TH_LOG("round %d: the guest does not run", i);
		stop_with_signal(_metadata, &r, thread);
		EXPECT_EQ(MINIVMM_EXIT_INTR, vcpu->run->exit_reason);
		expect_spinning(_metadata, vcpu);
		/* Stopped: the count holds still. */
		count = guest_u64(vm, COUNTER_GPA);
		usleep(20000);
		EXPECT_EQ(count, guest_u64(vm, COUNTER_GPA));
	}

	/* RUN again resumes it where it was: it sees the release, ends. */
	*(volatile uint32_t *)(vm->mem + RELEASE_GPA) = 1;
	ASSERT_EQ(UCALL_DONE, test_run_ucall(vcpu, &uc));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(closing_vcpu_fd_after_signalled_run_destroys_vcpu)
{
	struct test_vcpu *vcpu;
	struct runner r = { 0 };
	unsigned int vms;
	struct test_vm *vm;
	pthread_t thread;
	pid_t kthread;

	REQUIRE_VMX();
	catch_sigusr1();
	vms = nr_vms();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_vcpu_load(vcpu, MODE_LONG, guest_spin, GUEST_CODE_SIZE(guest_spin));
	kthread = test_vcpu_thread(vcpu, NULL);
	r.fd = vcpu->fd;

	start_spinning(_metadata, vm, &r, &thread);
	stop_with_signal(_metadata, &r, thread);

	/* This thread closes what the other one ran. */
	test_vcpu_destroy(vcpu);
	EXPECT_TRUE(wait_task_gone(kthread, 5000))
		TH_LOG("vCPU thread %d still there", kthread);
	test_vm_destroy(vm);
	EXPECT_EQ(vms, nr_vms());
}

TEST(closing_vcpu_fd_during_run_takes_effect_when_run_returns)
{
	struct test_vcpu vcpu = { 0 };
	struct runner r = { 0 };
	struct test_vm *vm;
	pthread_t thread;
	uint64_t count;
	pid_t kthread;

	REQUIRE_VMX();
	catch_sigusr1();
	vm = test_vm_create(GUEST_MEM_SIZE);
	/* No run mapping: the fd is the vCPU's only reference. */
	vcpu.vm = vm;
	vcpu.fd = ioctl(vm->fd, MINIVMM_CREATE_VCPU, 0);
	ASSERT_LE(0, vcpu.fd);
	test_vcpu_load(&vcpu, MODE_LONG, guest_spin,
		       GUEST_CODE_SIZE(guest_spin));
	kthread = test_vcpu_thread(&vcpu, NULL);
	r.fd = vcpu.fd;

	start_spinning(_metadata, vm, &r, &thread);
	ASSERT_EQ(0, close(vcpu.fd));
	/* The RUN in progress holds the vCPU: the guest keeps running. */
	count = guest_u64(vm, COUNTER_GPA);
	usleep(20000);
	EXPECT_LT(count, guest_u64(vm, COUNTER_GPA));
	EXPECT_TRUE(task_alive(kthread));

	stop_with_signal(_metadata, &r, thread);
	EXPECT_TRUE(wait_task_gone(kthread, 5000))
		TH_LOG("vCPU thread %d still there", kthread);
	test_vm_destroy(vm);
}

/*
 * In a child: a VM whose vCPU spins in guest_spin; tell the parent through
 * @pipe_fd once the guest runs.
 */
struct child_vm {
	struct test_vm *vm;
	int pipe_fd;
};

static void *child_watch(void *arg)
{
	struct child_vm *c = arg;

	if (wait_flag(c->vm, STARTED_GPA, 10000))
		(void)!write(c->pipe_fd, "r", 1);
	return NULL;
}

static void child_spin(int pipe_fd)
{
	struct child_vm c = { .pipe_fd = pipe_fd };
	struct test_vcpu *vcpu;
	pthread_t thread;

	c.vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(c.vm, 0);
	test_vcpu_load(vcpu, MODE_LONG, guest_spin, GUEST_CODE_SIZE(guest_spin));
	if (pthread_create(&thread, NULL, child_watch, &c))
		_exit(1);
	test_vcpu_run(vcpu);
	_exit(2);	/* RUN must not return before SIGKILL */
}

TEST(sigkill_while_guest_spins_leaves_no_vm)
{
	unsigned int vms_before, vms;
	uint64_t t0, slowest = 0, dt;
	int threads_before, status, i;
	struct pollfd pfd;
	int pipe_fd[2];
	pid_t child;
	char c;

	REQUIRE_VMX();
	vms_before = nr_vms();
	threads_before = count_vcpu_threads();
	ASSERT_EQ(0, pipe(pipe_fd));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		close(pipe_fd[0]);
		child_spin(pipe_fd[1]);
	}
	close(pipe_fd[1]);
	pfd.fd = pipe_fd[0];
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, 20000)) TH_LOG("the child's guest never ran");
	ASSERT_EQ(1, read(pipe_fd[0], &c, 1));
	EXPECT_EQ(vms_before + 1, nr_vms());

	/* The guest spins with interrupts off; this process still runs. */
	for (i = 0; i < 20; i++) {
		t0 = now_ns();
		usleep(10000);
		dt = now_ns() - t0;
		if (dt > slowest)
			slowest = dt;
	}
	EXPECT_GT(500000000ULL, slowest)
		TH_LOG("a 10 ms sleep took %llu ms",
		       (unsigned long long)slowest / 1000000);

	ASSERT_EQ(0, kill(child, SIGKILL));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("child status %#x", status);

	/* Its VM and vCPU thread are gone, soon. */
	for (i = 0; i < 5000; i++) {
		vms = nr_vms();
		if (vms == vms_before && count_vcpu_threads() == threads_before)
			break;
		usleep(1000);
	}
	EXPECT_EQ(vms_before, vms);
	EXPECT_EQ(threads_before, count_vcpu_threads());
}

/* ---- The vCPU thread moved between CPUs ------------------------------ */

/* The CPU /proc says @pid last ran on, or -1. */
static int task_cpu(pid_t pid)
{
	char path[64], buf[1024], *p;
	int field, cpu = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	if (!p)
		return -1;
	/* Field 39 is "processor"; p + 2 starts field 3. */
	p += 2;
	for (field = 3; field < 39 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		cpu = atoi(p);
	return cpu;
}

struct checksum_run {
	struct test_vcpu *vcpu;
	volatile bool done;
	int syncs;
	uint64_t last;
};

static void *checksum_thread(void *arg)
{
	struct checksum_run *c = arg;
	struct ucall uc;

	while (test_run_ucall(c->vcpu, &uc) == UCALL_SYNC) {
		c->syncs++;
		c->last = uc.args[0];
	}
	c->done = true;
	return NULL;
}

TEST(vcpu_thread_moved_between_cpus_keeps_guest_correct)
{
	const uint64_t consts[6] = {
		0x0f0f0f0f0f0f0f0fULL, 0x1234567887654321ULL,
		0xdeadbeefcafebabeULL, 0x8000000000000001ULL,
		0x00000000ffffffffULL, 0x5555aaaa5555aaaaULL,
	};
	uint64_t online[MINIVMM_MAX_CPUS / 64], *data, sum = 0, x = 1;
	const uint64_t passes = 2048;
	struct checksum_run c = { 0 };
	struct minivmm_regs regs;
	int cpus[2], n = 0, i, moves = 0;
	unsigned int seen = 0;
	struct test_vm *vm;
	pthread_t thread;
	cpu_set_t set;
	pid_t kthread;

	REQUIRE_VMX();
	if (online_cpus(online) < 2)
		SKIP(return, "needs 2 online CPUs");
	for (i = 0; i < MINIVMM_MAX_CPUS && n < 2; i++)
		if (online[i / 64] & (1ULL << (i % 64)))
			cpus[n++] = i;

	vm = test_vm_create(GUEST_MEM_SIZE);
	c.vcpu = test_vcpu_add(vm, 0);
	test_vcpu_load(c.vcpu, MODE_LONG, guest_checksum,
		       GUEST_CODE_SIZE(guest_checksum));
	data = (uint64_t *)(vm->mem + 0x100000);
	for (i = 0; i < 8192; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		data[i] = x;
		sum = ((sum << 5) | (sum >> 59)) ^ x;
	}
	memcpy(vm->mem + 0x98000, consts, sizeof(consts));
	test_get_regs(c.vcpu, &regs);
	regs.r8 = consts[0];
	regs.r9 = consts[1];
	regs.r10 = consts[2];
	regs.r11 = consts[3];
	regs.r12 = consts[4];
	regs.r13 = consts[5];
	regs.r14 = passes;
	regs.r15 = sum;
	test_set_regs(c.vcpu, &regs);
	kthread = test_vcpu_thread(c.vcpu, NULL);

	ASSERT_EQ(0, pthread_create(&thread, NULL, checksum_thread, &c));
	while (!c.done) {
		int cpu = cpus[moves & 1], now;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		ASSERT_EQ(0, sched_setaffinity(kthread, sizeof(set), &set))
			TH_LOG("sched_setaffinity(%d): %s", kthread,
			       strerror(errno));
		moves++;
		usleep(200);
		now = task_cpu(kthread);
		if (now == cpus[0])
			seen |= 1;
		else if (now == cpus[1])
			seen |= 2;
	}
	ASSERT_EQ(0, pthread_join(thread, NULL));
	TH_LOG("%d affinity changes, %d reports", moves, c.syncs);

	/* The guest checked itself on every pass; it reported them all. */
	EXPECT_EQ(passes / 16 - 1, c.syncs);
	EXPECT_EQ(16, c.last);
	EXPECT_LE(50, moves);
	EXPECT_EQ(3, seen) TH_LOG("the vCPU thread was never seen on both CPUs");
	test_vcpu_destroy(c.vcpu);
	test_vm_destroy(vm);
}

/* ---- Other threads meeting a running vCPU --------------------------- */

/* Long mode: count with interrupts on; vector VEC_IRQ reports and halts. */
#define VEC_IRQ		0x41
GUEST_CODE(guest_spin_irq, ".code64",
	   "sti\n\t"
	   "movl $1, 0x90000\n\t"
	   "1: incq 0x90008\n\t"
	   "jmp 1b\n\t"
	   GUEST_LABEL(guest_spin_irq_handler)
	   "mov $0x1041, %ebx\n\t"
	   UCALL_ASM(1)
	   "hlt\n\t");
extern const unsigned char guest_spin_irq_handler[];

/* @call must fail with EBUSY within a second. */
#define EXPECT_EBUSY_AT_ONCE(call)					\
	do {								\
		uint64_t __t0 = now_ns();				\
		int __ret = (call), __err = errno;			\
		uint64_t __ms = (now_ns() - __t0) / 1000000;		\
		EXPECT_TRUE(__ret == -1 && __err == EBUSY)		\
			TH_LOG("%s: %d, %s", #call, __ret,		\
			       strerror(__err));			\
		EXPECT_GT(1000, __ms)					\
			TH_LOG("%s took %llu ms", #call,		\
			       (unsigned long long)__ms);		\
	} while (0)

TEST(regs_and_cpuid_ioctls_during_run_are_ebusy_at_once)
{
	struct minivmm_cpuid cpuid = { .nent = 0 };
	struct minivmm_sregs sregs;
	struct minivmm_regs regs;
	struct test_vcpu *vcpu;
	struct runner r = { 0 };
	struct test_vm *vm;
	pthread_t thread;

	REQUIRE_VMX();
	catch_sigusr1();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_vcpu_load(vcpu, MODE_LONG, guest_spin, GUEST_CODE_SIZE(guest_spin));
	test_get_regs(vcpu, &regs);
	test_get_sregs(vcpu, &sregs);
	r.fd = vcpu->fd;

	start_spinning(_metadata, vm, &r, &thread);
	EXPECT_EBUSY_AT_ONCE(ioctl(vcpu->fd, MINIVMM_GET_REGS, &regs));
	EXPECT_EBUSY_AT_ONCE(ioctl(vcpu->fd, MINIVMM_SET_REGS, &regs));
	EXPECT_EBUSY_AT_ONCE(ioctl(vcpu->fd, MINIVMM_GET_SREGS, &sregs));
	EXPECT_EBUSY_AT_ONCE(ioctl(vcpu->fd, MINIVMM_SET_SREGS, &sregs));
	EXPECT_EBUSY_AT_ONCE(ioctl(vcpu->fd, MINIVMM_SET_CPUID, &cpuid));
	stop_with_signal(_metadata, &r, thread);

	/* Stopped: the same calls work again. */
	EXPECT_EQ(0, ioctl(vcpu->fd, MINIVMM_GET_REGS, &regs));
	EXPECT_EQ(0, ioctl(vcpu->fd, MINIVMM_SET_CPUID, &cpuid));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(second_run_during_run_is_ebusy_at_once)
{
	struct test_vcpu *vcpu;
	struct runner r = { 0 };
	struct test_vm *vm;
	pthread_t thread;

	REQUIRE_VMX();
	catch_sigusr1();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_vcpu_load(vcpu, MODE_LONG, guest_spin, GUEST_CODE_SIZE(guest_spin));
	r.fd = vcpu->fd;

	start_spinning(_metadata, vm, &r, &thread);
	EXPECT_EBUSY_AT_ONCE(ioctl(vcpu->fd, MINIVMM_RUN, 0));
	/* The first RUN goes on: the guest still counts. */
	EXPECT_EQ(0, r.returned_ns);
	stop_with_signal(_metadata, &r, thread);
	EXPECT_EQ(MINIVMM_EXIT_INTR, vcpu->run->exit_reason);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST(interrupt_injected_during_run_is_taken_promptly)
{
	struct minivmm_regs regs;
	struct test_vcpu *vcpu;
	struct runner r = { 0 };
	struct test_vm *vm;
	struct timespec ts;
	pthread_t thread;
	uint64_t sent;
	bool joined;

	REQUIRE_VMX();
	catch_sigusr1();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_vcpu_load(vcpu, MODE_LONG, guest_spin_irq,
		       GUEST_CODE_SIZE(guest_spin_irq));
	test_set_idt(vm, MODE_LONG, VEC_IRQ,
		     GUEST_LONG_ADDR(guest_spin_irq, guest_spin_irq_handler));
	r.fd = vcpu->fd;

	start_spinning(_metadata, vm, &r, &thread);
	sent = now_ns();
	ASSERT_EQ(0, ioctl(vcpu->fd, MINIVMM_INJECT_INTERRUPT, VEC_IRQ))
		TH_LOG("%s", strerror(errno));

	/* No signal: the guest's own ucall ends this RUN. */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	joined = !pthread_timedjoin_np(thread, NULL, &ts);
	if (!joined) {
		pthread_kill(thread, SIGUSR1);
		pthread_join(thread, NULL);
	}
	ASSERT_TRUE(joined) TH_LOG("the interrupt was not taken in 10 s");
	EXPECT_EQ(0, r.ret);
	EXPECT_GT(5000000000ULL, r.returned_ns - sent)
		TH_LOG("taken %llu ms after the ioctl",
		       (unsigned long long)(r.returned_ns - sent) / 1000000);
	ASSERT_EQ(MINIVMM_EXIT_IO, vcpu->run->exit_reason);
	EXPECT_EQ(UCALL_PORT, vcpu->run->io.port);
	test_get_regs(vcpu, &regs);
	EXPECT_EQ(0x1041, regs.rbx);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

/* ---- Slots deleted under calls made outside RUN ---------------------- */

#define RACE_ROUNDS	300
#define PDPT_GPA	0x200000UL

struct slot_flipper {
	struct test_vm *vm;
	void *mem;
	int bad;		/* unexpected results */
	int last_err;
};

static void *slot_flipper_thread(void *arg)
{
	struct slot_flipper *f = arg;
	struct minivmm_memory_region r = {
		.slot = 1, .guest_phys_addr = PDPT_GPA, .size = 4096,
		.userspace_addr = (uintptr_t)f->mem,
	};
	int i;

	for (i = 0; i < RACE_ROUNDS; i++) {
		r.size = 4096;
		if (ioctl(f->vm->fd, MINIVMM_SET_MEMORY_REGION, &r)) {
			f->bad++;
			f->last_err = errno;
		}
		r.size = 0;
		if (ioctl(f->vm->fd, MINIVMM_SET_MEMORY_REGION, &r)) {
			f->bad++;
			f->last_err = errno;
		}
	}
	return NULL;
}

TEST(set_sregs_with_pae_racing_slot_deletion)
{
	struct slot_flipper f = { 0 };
	struct minivmm_sregs good, pae;
	int i, ok = 0, einval = 0, other = 0, last = 0;
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	pthread_t thread;

	REQUIRE_VMX();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_vcpu_setup(vcpu, MODE_PROTECTED, GUEST_CODE_ADDR);
	test_get_sregs(vcpu, &good);
	/* 32-bit PAE paging with its PDPT in slot 1, all PDPTEs not present. */
	f.vm = vm;
	f.mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, f.mem);
	memset(f.mem, 0, 4096);
	pae = good;
	pae.cr0 |= 1ULL << 31;
	pae.cr4 |= 1ULL << 5;
	pae.cr3 = PDPT_GPA;

	ASSERT_EQ(0, pthread_create(&thread, NULL, slot_flipper_thread, &f));
	for (i = 0; i < RACE_ROUNDS * 2; i++) {
		/* PDPTEs read from the slot, or not in RAM: both are fine. */
		if (!ioctl(vcpu->fd, MINIVMM_SET_SREGS, &pae))
			ok++;
		else if (errno == EINVAL)
			einval++;
		else
			other++, last = errno;
	}
	ASSERT_EQ(0, pthread_join(thread, NULL));
	TH_LOG("SET_SREGS: %d loaded the PDPTEs, %d found no RAM", ok, einval);
	EXPECT_EQ(0, other) TH_LOG("last: %s", strerror(last));
	EXPECT_EQ(0, f.bad) TH_LOG("SET_MEMORY_REGION: %s",
				   strerror(f.last_err));
	/* The vCPU is still usable. */
	EXPECT_EQ(0, ioctl(vcpu->fd, MINIVMM_SET_SREGS, &good));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST_HARNESS_MAIN

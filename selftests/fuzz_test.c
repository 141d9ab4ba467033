// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded random fuzzer of everything a local user can do to minivmm:
 * every ioctl of /dev/minivmm, VM fds and vCPU fds with hostile sizes and
 * pointers, from several threads at once; RUN of random guest bytes,
 * bounded by a timer signal; fork with the fds open; close and dup racing
 * the calls; mmap of every fd; generic netlink requests of random shape.
 *
 * It passes when every call returned success or an errno from the
 * documented set (Documentation/api.rst), and no VM is left behind once
 * every fd is closed; the test runner fails the run on any kernel splat.
 *
 *   fuzz_test [SEED]        replay a run: the seed is printed first
 *   MINIVMM_FUZZ_SEED=N     the same, from the environment
 *   MINIVMM_FUZZ_LONG=1     long mode: 10 minutes instead of a short run
 *   MINIVMM_FUZZ_SECONDS=N  run for N seconds
 *
 * Each thread draws its choices from its own generator seeded from SEED,
 * so a seed replays the same choices; which fd a choice lands on and how
 * the races end still depend on the scheduler.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "kselftest.h"
#include "minivmm_test.h"

#define NR_THREADS	4
#define POOL		40
#define MAX_VMS		4
#define PAGE		4096UL
#define ARENA_SIZE	(4UL << 20)	/* all guest memory comes from here */
#define GUEST_RAM	(1UL << 20)	/* slot 0 of every VM */
#define SHORT_SECONDS	20
#define LONG_SECONDS	600
#define RUN_TICK_NS	5000000L	/* timer signal period during RUN */
#define KERNEL_PTR	0xffff888000000000UL

enum fd_type { FD_FREE, FD_DEV, FD_VM, FD_VCPU };

struct pool_entry {
	int fd;
	enum fd_type type;
	unsigned int gen;	/* bumped whenever the entry changes */
};

static struct pool_entry pool[POOL];
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static int live_vms;

/* Memory every pointer argument is drawn from. */
static uint8_t *arena;		/* read/write, ARENA_SIZE */
static uint8_t *ro_page;	/* read only */
static uint8_t *none_page;	/* PROT_NONE */
static uint8_t *hole;		/* unmapped */
static uint8_t *edge;		/* read/write page followed by hole */

static uint64_t deadline_ns;
static atomic_int failures;
static atomic_ulong calls;
static int genl_family = -1;

struct rng {
	uint64_t s;
};

static uint64_t next(struct rng *r)
{
	/* splitmix64 */
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(struct rng *r, uint64_t n)
{
	return n ? next(r) % n : 0;
}

static bool one_in(struct rng *r, unsigned int n)
{
	return below(r, n) == 0;
}

static void fill(struct rng *r, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len--)
		*p++ = next(r);
}

/* ---- What each call may return --------------------------------------- */

#define END	0
static const int errs_api_version[] = { EINVAL, END };
static const int errs_caps[] = { EFAULT, ENOMEM, END };
/* EAGAIN: the per-user limits of module/limits.c. */
static const int errs_create_vm[] = {
	EINVAL, ENOMEM, EOPNOTSUPP, EBUSY, EIO, EAGAIN, EMFILE, ENFILE, END
};

static const int errs_set_region[] = {
	EFAULT, EINVAL, E2BIG, EEXIST, ENOENT, EBUSY, EINTR, ENOMEM, END
};

static const int errs_dirty_log[] = {
	EFAULT, EINVAL, ENOENT, EINTR, ENOMEM, END
};

static const int errs_irq_line[] = { EFAULT, EINVAL, END };
static const int errs_ioapic[] = { EFAULT, EINVAL, END };
static const int errs_lint[] = { EFAULT, EINVAL, ENOENT, END };
static const int errs_irqfd[] = {
	EFAULT, EBADF, EINVAL, EBUSY, ENOSPC, ENOENT, ENOMEM, END
};

/* MINIVMM_IOEVENTFD and MINIVMM_POSTED_RANGE */
static const int errs_io_reg[] = {
	EFAULT, EBADF, EINVAL, EEXIST, ENOSPC, ENOENT, EINTR, ENOMEM, END
};

static const int errs_create_vcpu[] = {
	EINVAL, EEXIST, EINTR, EAGAIN, ENOMEM, EMFILE, ENFILE, END
};

static const int errs_run[] = { EINTR, EINVAL, EBUSY, END };
static const int errs_get[] = { EFAULT, EBUSY, EINTR, END };
static const int errs_set[] = { EFAULT, EINVAL, EBUSY, EINTR, END };
static const int errs_cpuid[] = {
	EFAULT, EINVAL, E2BIG, ENOMEM, EBUSY, EINTR, END
};

static const int errs_inject[] = { EINVAL, EBUSY, END };
static const int errs_nmi[] = { EINVAL, EOPNOTSUPP, END };

static const int errs_msrs[] = {
	EFAULT, EINVAL, E2BIG, ENOMEM, EBUSY, EINTR, END
};

static const int errs_events[] = {
	EFAULT, EINVAL, EOPNOTSUPP, EBUSY, EINTR, END
};

static const int errs_fpu[] = { EFAULT, EINVAL, ENOMEM, EBUSY, EINTR, END };
static const int errs_unknown[] = { ENOTTY, END };
static const int errs_mmap[] = {
	EINVAL, ENODEV, EACCES, ENOMEM, EPERM, EOVERFLOW, END
};

/* Every ioctl of every fd type: for a call that raced a close or dup. */
static const int errs_any[] = {
	EINVAL, EFAULT, ENOMEM, EOPNOTSUPP, EBUSY, EMFILE, ENFILE, E2BIG,
	EEXIST, ENOENT, EINTR, ENOTTY, EIO, EBADF, END
};

static const int *ioctl_errs(enum fd_type type, unsigned long cmd)
{
	switch (type) {
	case FD_DEV:
		if (cmd == MINIVMM_GET_API_VERSION)
			return errs_api_version;
		if (cmd == MINIVMM_GET_CAPS)
			return errs_caps;
		if (cmd == MINIVMM_CREATE_VM)
			return errs_create_vm;
		return errs_unknown;
	case FD_VM:
		if (cmd == MINIVMM_SET_MEMORY_REGION)
			return errs_set_region;
		if (cmd == MINIVMM_CREATE_VCPU)
			return errs_create_vcpu;
		switch (cmd) {
		case MINIVMM_GET_DIRTY_LOG:
			return errs_dirty_log;
		case MINIVMM_IRQ_LINE:
		case MINIVMM_SIGNAL_MSI:
			return errs_irq_line;
		case MINIVMM_GET_IOAPIC:
		case MINIVMM_SET_IOAPIC:
			return errs_ioapic;
		case MINIVMM_IRQFD:
			return errs_irqfd;
		case MINIVMM_LINT:
			return errs_lint;
		case MINIVMM_IOEVENTFD:
		case MINIVMM_POSTED_RANGE:
			return errs_io_reg;
		}
		return errs_unknown;
	case FD_VCPU:
		switch (cmd) {
		case MINIVMM_RUN:
			return errs_run;
		case MINIVMM_GET_REGS:
		case MINIVMM_GET_SREGS:
			return errs_get;
		case MINIVMM_SET_REGS:
		case MINIVMM_SET_SREGS:
			return errs_set;
		case MINIVMM_SET_CPUID:
			return errs_cpuid;
		case MINIVMM_INJECT_INTERRUPT:
			return errs_inject;
		case MINIVMM_NMI:
			return errs_nmi;
		case MINIVMM_GET_MSRS:
		case MINIVMM_SET_MSRS:
		case MINIVMM_GET_MSR_INDEX_LIST:
			return errs_msrs;
		case MINIVMM_GET_FPU:
		case MINIVMM_SET_FPU:
			return errs_fpu;
		case MINIVMM_GET_DEBUGREGS:
			return errs_get;
		case MINIVMM_SET_DEBUGREGS:
			return errs_set;
		case MINIVMM_GET_VCPU_EVENTS:
		case MINIVMM_SET_VCPU_EVENTS:
			return errs_events;
		case MINIVMM_GET_LAPIC:
		case MINIVMM_SET_LAPIC:
			return errs_fpu;
		case MINIVMM_GET_MP_STATE:
			return errs_get;
		case MINIVMM_SET_MP_STATE:
			return errs_set;
		}
		return errs_unknown;
	default:
		return errs_any;
	}
}

static bool listed(const int *errs, int err)
{
	for (; *errs; errs++)
		if (*errs == err)
			return true;
	return false;
}

static const char *type_name(enum fd_type t)
{
	return t == FD_DEV ? "dev" : t == FD_VM ? "vm" : t == FD_VCPU ? "vcpu" :
	       "closed";
}

/* Said again at the end, where a summary of the run shows it. */
static char first_failure[160];
static pthread_mutex_t first_failure_lock = PTHREAD_MUTEX_INITIALIZER;

static void __attribute__((format(printf, 1, 2))) failure(const char *fmt, ...)
{
	char msg[sizeof(first_failure)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ksft_print_msg("%s\n", msg);
	pthread_mutex_lock(&first_failure_lock);
	if (!atomic_fetch_add(&failures, 1))
		strcpy(first_failure, msg);
	pthread_mutex_unlock(&first_failure_lock);
}

static void bad(int thread, const char *what, enum fd_type type,
		unsigned long cmd, long ret, int err)
{
	failure("thread %d: %s, %s fd, cmd %#lx: %ld, errno %d (%s) undocumented",
		thread, what, type_name(type), cmd, ret, err, strerror(err));
}

/* ---- The fd pool ----------------------------------------------------- */

static void pool_add(int fd, enum fd_type type)
{
	int i;

	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < POOL; i++) {
		if (pool[i].type == FD_FREE) {
			pool[i].fd = fd;
			pool[i].type = type;
			pool[i].gen++;
			if (type == FD_VM)
				live_vms++;
			pthread_mutex_unlock(&pool_lock);
			return;
		}
	}
	pthread_mutex_unlock(&pool_lock);
	close(fd);
}

/* A random entry: its fd, type and generation, or false when empty. */
static bool pool_pick(struct rng *r, struct pool_entry *e, int *index,
		      enum fd_type want)
{
	int i, start = below(r, POOL);

	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < POOL; i++) {
		struct pool_entry *p = &pool[(start + i) % POOL];

		if (p->type != FD_FREE && (want == FD_FREE || p->type == want)) {
			*e = *p;
			*index = (start + i) % POOL;
			pthread_mutex_unlock(&pool_lock);
			return true;
		}
	}
	pthread_mutex_unlock(&pool_lock);
	return false;
}

static bool pool_changed(int index, unsigned int gen)
{
	bool changed;

	pthread_mutex_lock(&pool_lock);
	changed = pool[index].gen != gen;
	pthread_mutex_unlock(&pool_lock);
	return changed;
}

static void pool_close(int index, unsigned int gen)
{
	pthread_mutex_lock(&pool_lock);
	if (pool[index].gen == gen && pool[index].type != FD_FREE) {
		/* Closed under the lock, so the number is not reused meanwhile. */
		close(pool[index].fd);
		if (pool[index].type == FD_VM)
			live_vms--;
		pool[index].type = FD_FREE;
		pool[index].gen++;
	}
	pthread_mutex_unlock(&pool_lock);
}

/* ---- Hostile arguments ----------------------------------------------- */

/* A pointer to @len bytes: mostly valid, often not. */
static void *any_ptr(struct rng *r, size_t len, bool writable)
{
	switch (below(r, 12)) {
	case 0:
		return NULL;
	case 1:
		return (void *)KERNEL_PTR;
	case 2:
		return (void *)0x8000000000000000UL;	/* non-canonical */
	case 3:
		return edge + PAGE - (len > 1 ? below(r, len - 1) + 1 : 1);
	case 4:
		return none_page;
	case 5:
		return writable ? ro_page : hole;
	case 6:
		return (void *)next(r);
	case 7:
		return (void *)(uintptr_t)below(r, 65536);
	default:
		return arena + ARENA_SIZE - PAGE * 16 + below(r, PAGE * 8);
	}
}

/* A user address for guest memory, in the arena or somewhere hostile. */
static uint64_t any_uaddr(struct rng *r)
{
	switch (below(r, 10)) {
	case 0:
		return (uintptr_t)hole;
	case 1:
		return (uintptr_t)none_page;
	case 2:
		return (uintptr_t)ro_page;
	case 3:
		return KERNEL_PTR;
	case 4:
		return next(r);
	case 5:
		return (uintptr_t)arena + below(r, ARENA_SIZE);
	default:
		return (uintptr_t)arena + below(r, ARENA_SIZE / PAGE) * PAGE;
	}
}

static uint64_t any_size(struct rng *r)
{
	switch (below(r, 10)) {
	case 0:
		return 0;
	case 1:
		return 1ULL << (30 + below(r, 20));
	case 2:
		return next(r);
	case 3:
		return -PAGE;
	case 4:
		return below(r, 3 * PAGE);
	default:
		return (below(r, 32) + 1) * PAGE;
	}
}

static uint64_t any_gpa(struct rng *r)
{
	switch (below(r, 6)) {
	case 0:
		return next(r);
	case 1:
		return (1ULL << 48) - PAGE * below(r, 4);
	case 2:
		return below(r, 1ULL << 32);
	default:
		return below(r, 64) * (256 * PAGE);
	}
}

/* ---- Operations ------------------------------------------------------ */

struct thread_ctx {
	int id;
	struct rng rng;
	pthread_t thread;
	timer_t timer;
	int nl;
	unsigned long ops;
};

/* Check one ioctl's result against what its fd type documents. */
static void check(struct thread_ctx *t, const char *what,
		  const struct pool_entry *e, int index, unsigned long cmd,
		  long ret, int err, bool child)
{
	const int *errs;

	atomic_fetch_add(&calls, 1);
	if (ret >= 0)
		return;
	errs = ioctl_errs(e->type, cmd);
	if (listed(errs, err))
		return;
	/* Only the VM's own process may use a VM or vCPU fd. */
	if (child && err == EIO && e->type != FD_DEV)
		return;
	if (index >= 0 && pool_changed(index, e->gen) &&
	    listed(errs_any, err))
		return;
	bad(t->id, what, e->type, cmd, ret, err);
}

static long do_ioctl(int fd, unsigned long cmd, unsigned long arg, int *err)
{
	long ret;

	errno = 0;
	ret = ioctl(fd, cmd, arg);
	*err = errno;
	return ret;
}

static void op_dev(struct thread_ctx *t)
{
	static const unsigned long cmds[] = {
		MINIVMM_GET_API_VERSION, MINIVMM_GET_CAPS, MINIVMM_CREATE_VM,
	};
	struct rng *r = &t->rng;
	struct pool_entry e;
	unsigned long cmd, arg;
	int index, err;
	long ret;

	if (!pool_pick(r, &e, &index, FD_DEV))
		return;
	cmd = cmds[below(r, 3)];
	if (one_in(r, 8))
		cmd = _IOC(below(r, 4), MINIVMM_IO, below(r, 256), below(r, 1024));
	arg = one_in(r, 4) ? next(r) : 0;
	if (cmd == MINIVMM_GET_CAPS)
		arg = (uintptr_t)any_ptr(r, sizeof(struct minivmm_caps), true);
	if (cmd == MINIVMM_CREATE_VM && !arg) {
		pthread_mutex_lock(&pool_lock);
		if (live_vms >= MAX_VMS)
			arg = 1 + below(r, 100);	/* flags: -EINVAL */
		pthread_mutex_unlock(&pool_lock);
	}
	ret = do_ioctl(e.fd, cmd, arg, &err);
	check(t, "dev ioctl", &e, index, cmd, ret, err, false);
	if (cmd == MINIVMM_CREATE_VM && ret >= 0) {
		struct minivmm_memory_region m = {
			.slot = 0, .size = GUEST_RAM,
			.userspace_addr = (uintptr_t)arena,
		};

		/* Guest RAM at 0 for the random code RUN executes. */
		ioctl(ret, MINIVMM_SET_MEMORY_REGION, &m);
		pool_add(ret, FD_VM);
	}
}

/* An MSI address and data, mostly well formed. */
static void any_msi(struct rng *r, __u64 *address, __u32 *data)
{
	*address = 0xfee00000 | below(r, 4) << 12 | (one_in(r, 4) ? 8 : 0);
	*data = 32 + below(r, 224);
	if (one_in(r, 6))
		*address = next(r);
	if (one_in(r, 6))
		*data = next(r);
}

/*
 * An interrupt or device registration ioctl of a VM fd, its argument
 * written at @p. *@efd is an eventfd the call may register, for the
 * caller to close (an irqfd goes with its eventfd's last reference).
 */
static unsigned long vm_device_ioctl(struct rng *r, uint8_t *p, int *efd)
{
	union {
		struct minivmm_irq_line line;
		struct minivmm_msi msi;
		struct minivmm_irqfd irqfd;
		struct minivmm_ioapic_state ioapic;
		struct minivmm_ioeventfd ioev;
		struct minivmm_posted_range posted;
		struct minivmm_lint lint;
	} u;
	unsigned int op = below(r, 8);
	unsigned long cmd;

	memset(&u, 0, sizeof(u));
	/* Only the irqfd and ioeventfd calls take an eventfd. */
	if (op == 2 || op == 5)
		*efd = eventfd(one_in(r, 4), EFD_CLOEXEC | EFD_NONBLOCK);
	switch (op) {
	case 0:
		cmd = MINIVMM_IRQ_LINE;
		u.line.pin = one_in(r, 8) ? next(r) : below(r, 26);
		u.line.level = one_in(r, 8) ? next(r) : below(r, 2);
		break;
	case 1:
		cmd = MINIVMM_SIGNAL_MSI;
		any_msi(r, &u.msi.address, &u.msi.data);
		u.msi.flags = one_in(r, 8) ? next(r) : 0;
		break;
	case 2:
		cmd = MINIVMM_IRQFD;
		u.irqfd.fd = one_in(r, 6) ? (int)below(r, 64) : *efd;
		u.irqfd.flags = one_in(r, 8) ? next(r) : below(r, 4);
		if (u.irqfd.flags & MINIVMM_IRQFD_MSI)
			any_msi(r, &u.irqfd.msi_address, &u.irqfd.msi_data);
		else if (!(u.irqfd.flags & MINIVMM_IRQFD_DEASSIGN))
			u.irqfd.pin = below(r, 26);
		if (one_in(r, 8))
			u.irqfd.reserved[below(r, 2)] = next(r);
		break;
	case 3:
		cmd = MINIVMM_GET_IOAPIC;
		break;
	case 4:
		/* Mostly a valid state: zeros, a few entries and bits. */
		cmd = MINIVMM_SET_IOAPIC;
		u.ioapic.id = below(r, 17);
		u.ioapic.ioregsel = below(r, 257);
		u.ioapic.lines = one_in(r, 4) ? next(r) : below(r, 1 << 24);
		u.ioapic.redir[below(r, MINIVMM_IOAPIC_PINS)] =
			one_in(r, 4) ? next(r) : 0x10000 | below(r, 0x10000);
		break;
	case 5:
		cmd = MINIVMM_IOEVENTFD;
		u.ioev.flags = one_in(r, 8) ? next(r) : below(r, 8);
		u.ioev.addr = u.ioev.flags & MINIVMM_IOEVENTFD_PIO ?
			      below(r, 0x10002) : any_gpa(r);
		u.ioev.len = one_in(r, 8) ? next(r) : 1U << below(r, 4);
		u.ioev.datamatch = one_in(r, 2) ? below(r, 256) : 0;
		u.ioev.fd = one_in(r, 6) ? (int)below(r, 64) : *efd;
		break;
	case 6:
		cmd = MINIVMM_LINT;
		u.lint.vcpu = one_in(r, 4) ? MINIVMM_LINT_ALL_VCPUS :
			      one_in(r, 8) ? next(r) : below(r, 18);
		u.lint.pin = one_in(r, 8) ? next(r) : below(r, 3);
		u.lint.level = one_in(r, 8) ? next(r) : below(r, 2);
		u.lint.flags = one_in(r, 8) ? next(r) : 0;
		break;
	default:
		cmd = MINIVMM_POSTED_RANGE;
		u.posted.flags = one_in(r, 8) ? next(r) : below(r, 4);
		u.posted.addr = u.posted.flags & MINIVMM_POSTED_PIO ?
				below(r, 0x10002) : any_gpa(r);
		u.posted.size = one_in(r, 8) ? next(r) : below(r, 32);
	}
	if (one_in(r, 16))
		fill(r, &u, sizeof(u));
	memcpy(p, &u, sizeof(u));
	return cmd;
}

static void op_vm(struct thread_ctx *t)
{
	struct rng *r = &t->rng;
	struct minivmm_memory_region m;
	struct pool_entry e;
	unsigned long cmd, arg;
	int index, err;
	long ret;

	uint8_t *p = arena + ARENA_SIZE - PAGE * 4 + t->id * 256;
	int efd = -1;

	if (!pool_pick(r, &e, &index, FD_VM))
		return;
	switch (below(r, 10)) {
	case 0:
	case 1:
	case 2:
		cmd = MINIVMM_CREATE_VCPU;
		arg = one_in(r, 8) ? next(r) : below(r, 20);
		break;
	case 7:
	case 8:
		cmd = vm_device_ioctl(r, p, &efd);
		arg = one_in(r, 8) ? (uintptr_t)any_ptr(r, 256, false) :
				     (uintptr_t)p;
		break;
	case 9:
		cmd = one_in(r, 2) ? next(r) :
		      _IOC(below(r, 4), MINIVMM_IO, below(r, 256), below(r, 64));
		arg = (uintptr_t)any_ptr(r, 64, false);
		break;
	default:
		cmd = MINIVMM_SET_MEMORY_REGION;
		m.slot = one_in(r, 8) ? next(r) : 1 + below(r, 34);
		m.flags = one_in(r, 8) ? next(r) : below(r, 2);
		m.guest_phys_addr = any_gpa(r);
		m.size = any_size(r);
		m.userspace_addr = any_uaddr(r);
		if (one_in(r, 6)) {
			arg = (uintptr_t)any_ptr(r, sizeof(m), false);
		} else {
			memcpy(p, &m, sizeof(m));
			arg = (uintptr_t)p;
		}
	}
	ret = do_ioctl(e.fd, cmd, arg, &err);
	check(t, "vm ioctl", &e, index, cmd, ret, err, false);
	if (efd >= 0) {
		/* A registered eventfd interrupts or counts; then it goes. */
		if (one_in(r, 2))
			eventfd_write(efd, 1);
		close(efd);
	}
	if (cmd == MINIVMM_CREATE_VCPU && ret >= 0)
		pool_add(ret, FD_VCPU);
}

static void run_timer(struct thread_ctx *t, bool on)
{
	struct itimerspec its = { 0 };

	if (on) {
		its.it_value.tv_nsec = RUN_TICK_NS;
		its.it_interval.tv_nsec = RUN_TICK_NS;
	}
	timer_settime(t->timer, 0, &its, NULL);
}

/* Random bytes where the guest will run, and a RIP among them. */
static void scribble_guest(struct rng *r, int fd)
{
	struct minivmm_regs regs;
	uint64_t at = 0x1000 + below(r, GUEST_RAM - 0x2000);

	fill(r, arena + at, 64);
	if (ioctl(fd, MINIVMM_GET_REGS, &regs))
		return;
	regs.rip = at;
	if (one_in(r, 4))
		regs.rip = next(r);
	regs.rflags = 2 | (one_in(r, 2) ? 0x200 : 0);
	ioctl(fd, MINIVMM_SET_REGS, &regs);
}

/* Get the special registers, flip some bits, set them back. */
static void mutate_sregs(struct rng *r, struct minivmm_sregs *s)
{
	uint64_t *w = (uint64_t *)s;
	int i, n = 1 + below(r, 3);

	for (i = 0; i < n; i++)
		w[below(r, sizeof(*s) / 8)] ^= 1ULL << below(r, 64);
}

static void op_vcpu(struct thread_ctx *t)
{
	static const unsigned long cmds[] = {
		MINIVMM_RUN, MINIVMM_GET_REGS, MINIVMM_SET_REGS,
		MINIVMM_GET_SREGS, MINIVMM_SET_SREGS, MINIVMM_SET_CPUID,
		MINIVMM_INJECT_INTERRUPT, MINIVMM_NMI, MINIVMM_GET_MSRS,
		MINIVMM_SET_MSRS, MINIVMM_GET_MSR_INDEX_LIST, MINIVMM_GET_FPU,
		MINIVMM_SET_FPU, MINIVMM_GET_DEBUGREGS, MINIVMM_SET_DEBUGREGS,
		MINIVMM_GET_VCPU_EVENTS, MINIVMM_SET_VCPU_EVENTS,
		MINIVMM_GET_LAPIC, MINIVMM_SET_LAPIC, MINIVMM_GET_MP_STATE,
		MINIVMM_SET_MP_STATE,
	};
	union {
		struct minivmm_regs regs;
		struct minivmm_sregs sregs;
		struct minivmm_cpuid cpuid;
		struct minivmm_msrs msrs;
		struct minivmm_fpu fpu;
		struct minivmm_debugregs dr;
		struct minivmm_vcpu_events ev;
		struct minivmm_lapic_state lapic;
		struct minivmm_mp_state mp;
	} u;
	struct rng *r = &t->rng;
	struct pool_entry e;
	unsigned long cmd, arg = 0;
	int index, err;
	long ret;
	uint8_t *buf;

	if (!pool_pick(r, &e, &index, FD_VCPU))
		return;
	cmd = cmds[below(r, ARRAY_SIZE(cmds))];
	if (one_in(r, 16))
		cmd = _IOC(below(r, 4), MINIVMM_IO, below(r, 256), below(r, 512));
	buf = arena + ARENA_SIZE - PAGE * 8 + t->id * 1024;

	switch (cmd) {
	case MINIVMM_RUN:
		if (one_in(r, 2))
			scribble_guest(r, e.fd);
		arg = one_in(r, 16) ? next(r) : 0;
		run_timer(t, true);
		ret = do_ioctl(e.fd, cmd, arg, &err);
		run_timer(t, false);
		check(t, "RUN", &e, index, cmd, ret, err, false);
		return;
	case MINIVMM_SET_SREGS:
		if (one_in(r, 3))
			fill(r, &u, sizeof(u));
		else if (!ioctl(e.fd, MINIVMM_GET_SREGS, &u.sregs))
			mutate_sregs(r, &u.sregs);
		memcpy(buf, &u, sizeof(u.sregs));
		arg = (uintptr_t)buf;
		break;
	case MINIVMM_SET_REGS:
		if (ioctl(e.fd, MINIVMM_GET_REGS, &u.regs) || one_in(r, 3))
			fill(r, &u, sizeof(u.regs));
		else
			((uint64_t *)&u.regs)[below(r, sizeof(u.regs) / 8)] =
				next(r);
		memcpy(buf, &u, sizeof(u.regs));
		arg = (uintptr_t)buf;
		break;
	case MINIVMM_SET_CPUID:
		u.cpuid.nent = one_in(r, 4) ? next(r) : below(r, 140);
		u.cpuid.flags = one_in(r, 8) ? next(r) : 0;
		u.cpuid.entries = (uintptr_t)any_ptr(r, 64, false);
		if (one_in(r, 2)) {
			memset(arena + ARENA_SIZE - PAGE * 16, 0, PAGE * 8);
			u.cpuid.entries = (uintptr_t)(arena + ARENA_SIZE -
						      PAGE * 16);
		}
		memcpy(buf, &u, sizeof(u.cpuid));
		arg = (uintptr_t)buf;
		break;
	case MINIVMM_INJECT_INTERRUPT:
		arg = one_in(r, 8) ? next(r) : below(r, 300);
		break;
	case MINIVMM_NMI:
		arg = one_in(r, 8) ? next(r) : 0;
		break;
	case MINIVMM_GET_MSRS:
	case MINIVMM_SET_MSRS:
		u.msrs.nmsrs = one_in(r, 4) ? next(r) : below(r, 300);
		u.msrs.flags = one_in(r, 8) ? next(r) : 0;
		u.msrs.entries = (uintptr_t)any_ptr(r, 64, false);
		if (one_in(r, 2)) {
			fill(r, arena + ARENA_SIZE - PAGE * 16, PAGE * 8);
			u.msrs.entries = (uintptr_t)(arena + ARENA_SIZE -
						     PAGE * 16);
		}
		memcpy(buf, &u, sizeof(u.msrs));
		arg = (uintptr_t)buf;
		break;
	case MINIVMM_SET_FPU:
	case MINIVMM_SET_DEBUGREGS:
	case MINIVMM_SET_VCPU_EVENTS:
	case MINIVMM_SET_LAPIC:
	case MINIVMM_SET_MP_STATE:
		/* Mostly a valid state with a bit flipped, else noise. */
		if (ioctl(e.fd, _IOC(_IOC_READ, MINIVMM_IO, _IOC_NR(cmd),
				     _IOC_SIZE(cmd)), &u) || one_in(r, 3))
			fill(r, &u, sizeof(u));
		else
			((uint8_t *)&u)[below(r, _IOC_SIZE(cmd))] ^=
				1 << below(r, 8);
		memcpy(buf, &u, _IOC_SIZE(cmd));
		arg = (uintptr_t)buf;
		break;
	default:
		arg = (uintptr_t)any_ptr(r, sizeof(u), cmd == MINIVMM_GET_REGS ||
					 cmd == MINIVMM_GET_SREGS);
		if (one_in(r, 3))
			arg = (uintptr_t)buf;
	}
	if (one_in(r, 8) && cmd != MINIVMM_INJECT_INTERRUPT &&
	    cmd != MINIVMM_NMI)
		arg = (uintptr_t)any_ptr(r, sizeof(u), true);
	ret = do_ioctl(e.fd, cmd, arg, &err);
	check(t, "vcpu ioctl", &e, index, cmd, ret, err, false);
}

static void op_mmap(struct thread_ctx *t)
{
	static const size_t lens[] = { PAGE, PAGE, 0, 1, 2 * PAGE, 1 << 20 };
	static const int prots[] = {
		PROT_READ, PROT_READ | PROT_WRITE, PROT_NONE,
		PROT_READ | PROT_EXEC, PROT_WRITE,
	};
	struct rng *r = &t->rng;
	struct pool_entry e;
	size_t len = lens[below(r, 6)];
	off_t off = one_in(r, 3) ? (off_t)below(r, 4) * PAGE : 0;
	int prot = prots[below(r, 5)], index, err;
	int flags = one_in(r, 4) ? MAP_PRIVATE : MAP_SHARED;
	void *p;

	if (!pool_pick(r, &e, &index, FD_FREE))
		return;
	p = mmap(NULL, len, prot, flags, e.fd, off);
	err = errno;
	atomic_fetch_add(&calls, 1);
	if (p == MAP_FAILED) {
		if (!listed(errs_mmap, err) &&
		    !(pool_changed(index, e.gen) && err == EBADF))
			bad(t->id, "mmap", e.type, 0, -1, err);
		return;
	}
	if (e.type != FD_VCPU && !pool_changed(index, e.gen))
		bad(t->id, "mmap succeeded", e.type, 0, 0, 0);
	if (prot & PROT_READ)
		(void)*(volatile uint32_t *)p;
	/* What a hostile user writes in the run structure, the kernel reads. */
	if ((prot & PROT_WRITE) && (prot & PROT_READ))
		((volatile uint64_t *)p)[below(r, PAGE / 8)] = next(r);
	munmap(p, len);
}

/* dup2() one pool fd over another: calls in flight on it see a new file. */
static void pool_dup2(int from, unsigned int from_gen, int to)
{
	pthread_mutex_lock(&pool_lock);
	if (from != to && pool[from].gen == from_gen &&
	    pool[from].type != FD_FREE && pool[to].type != FD_FREE &&
	    dup2(pool[from].fd, pool[to].fd) >= 0) {
		live_vms += (pool[from].type == FD_VM) - (pool[to].type == FD_VM);
		pool[to].type = pool[from].type;
		pool[to].gen++;
	}
	pthread_mutex_unlock(&pool_lock);
}

static void op_close_dup(struct thread_ctx *t)
{
	struct rng *r = &t->rng;
	struct pool_entry e, f;
	int index, other, fd;

	if (!pool_pick(r, &e, &index, FD_FREE))
		return;
	if (one_in(r, 4)) {
		if (pool_pick(r, &f, &other, FD_FREE) && f.type != FD_DEV)
			pool_dup2(index, e.gen, other);
		return;
	}
	if (one_in(r, 2)) {
		/* Keep one /dev/minivmm fd so VMs can still be made. */
		if (e.type != FD_DEV || one_in(r, 4))
			pool_close(index, e.gen);
		return;
	}
	fd = fcntl(e.fd, F_DUPFD_CLOEXEC, 0);
	if (fd >= 0 && !pool_changed(index, e.gen))
		pool_add(fd, e.type);
	else if (fd >= 0)
		close(fd);
}

static void op_open(struct thread_ctx *t)
{
	int fd = minivmm_open();

	(void)t;
	if (fd >= 0)
		pool_add(fd, FD_DEV);
}

/*
 * A child with every fd: VM and vCPU calls must be refused (-EIO), the
 * device still works. Only async-signal-safe calls here; the result is
 * the exit status.
 */
static void op_fork(struct thread_ctx *t)
{
	struct rng *r = &t->rng;
	struct pool_entry e;
	int index, status, i, err;
	unsigned long cmd;
	pid_t pid;
	long ret;

	if (!pool_pick(r, &e, &index, FD_FREE))
		return;
	pid = fork();
	if (pid < 0)
		return;
	if (!pid) {
		for (i = 0; i < 8; i++) {
			const unsigned long vcmds[] = {
				MINIVMM_RUN, MINIVMM_GET_REGS,
				MINIVMM_INJECT_INTERRUPT,
				MINIVMM_SET_MEMORY_REGION,
				MINIVMM_CREATE_VCPU, MINIVMM_GET_CAPS,
			};

			cmd = vcmds[below(r, 6)];
			ret = do_ioctl(e.fd, cmd, (uintptr_t)arena, &err);
			if (ret >= 0 && e.type != FD_DEV &&
			    cmd != MINIVMM_GET_CAPS)
				_exit(10 + i);
			if (ret < 0 && err != EIO && err != ENOTTY &&
			    err != EFAULT && err != EINVAL && err != E2BIG &&
			    err != EBADF)
				_exit(20 + (err & 63));
		}
		_exit(0);
	}
	atomic_fetch_add(&calls, 1);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		failure("thread %d: forked child with a %s fd: status %#x",
			t->id, type_name(e.type), status);
	}
}

/* ---- Generic netlink ------------------------------------------------- */

struct nl_req {
	struct nlmsghdr nh;
	struct genlmsghdr gh;
	uint8_t attrs[64];
};

static int nl_socket(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The family id of "minivmm" from nlctrl, or -1. */
static int nl_resolve(int fd)
{
	struct nl_req req = { 0 };
	struct nlattr *a = (struct nlattr *)req.attrs;
	uint8_t buf[8192];
	struct nlmsghdr *nh;
	ssize_t n;
	int len;

	a->nla_type = CTRL_ATTR_FAMILY_NAME;
	a->nla_len = NLA_HDRLEN + sizeof(MINIVMM_GENL_NAME);
	memcpy((uint8_t *)a + NLA_HDRLEN, MINIVMM_GENL_NAME,
	       sizeof(MINIVMM_GENL_NAME));
	req.nh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN + NLA_ALIGN(a->nla_len));
	req.nh.nlmsg_type = GENL_ID_CTRL;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.gh.cmd = CTRL_CMD_GETFAMILY;
	req.gh.version = 1;
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0)
		return -1;
	n = recv(fd, buf, sizeof(buf), 0);
	nh = (struct nlmsghdr *)buf;
	if (n <= 0 || !NLMSG_OK(nh, n) || nh->nlmsg_type == NLMSG_ERROR)
		return -1;
	len = nh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	a = (struct nlattr *)((uint8_t *)NLMSG_DATA(nh) + GENL_HDRLEN);
	while (len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	       a->nla_len <= len) {
		if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID)
			return *(uint16_t *)((uint8_t *)a + NLA_HDRLEN);
		len -= NLA_ALIGN(a->nla_len);
		a = (struct nlattr *)((uint8_t *)a + NLA_ALIGN(a->nla_len));
	}
	return -1;
}

static const int errs_netlink[] = {
	EINVAL, ENOENT, ENOMEM, EOPNOTSUPP, ERANGE, EMSGSIZE, EPERM, END
};

/* A request of random command, flags and attributes; read all replies. */
static void op_netlink(struct thread_ctx *t)
{
	struct rng *r = &t->rng;
	struct nl_req req = { 0 };
	struct nlattr *a = (struct nlattr *)req.attrs;
	uint8_t buf[16384];
	ssize_t n;
	int alen = 0;

	if (t->nl < 0 || genl_family < 0)
		return;
	req.gh.cmd = one_in(r, 4) ? below(r, 256) : 1 + below(r, 4);
	req.gh.version = 1;
	if (!one_in(r, 3)) {
		a->nla_type = one_in(r, 4) ? below(r, 32) : MINIVMM_A_VM_ID;
		a->nla_len = NLA_HDRLEN + (one_in(r, 4) ? below(r, 16) : 4);
		fill(r, (uint8_t *)a + NLA_HDRLEN, 16);
		if (one_in(r, 2))
			*(uint32_t *)((uint8_t *)a + NLA_HDRLEN) = below(r, 64);
		alen = NLA_ALIGN(a->nla_len);
	}
	req.nh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN + alen);
	req.nh.nlmsg_type = genl_family;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK |
			     (one_in(r, 3) ? NLM_F_DUMP : 0);
	atomic_fetch_add(&calls, 1);
	if (send(t->nl, &req, req.nh.nlmsg_len, 0) < 0)
		return;
	/* Until the ack (an error message) or the end of a dump. */
	while ((n = recv(t->nl, buf, sizeof(buf), 0)) > 0) {
		struct nlmsghdr *nh = (struct nlmsghdr *)buf;
		bool end = false;

		for (; NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == NLMSG_DONE) {
				end = true;
			} else if (nh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(nh);

				if (e->error && !listed(errs_netlink, -e->error))
					bad(t->id, "netlink request", FD_FREE,
					    req.gh.cmd, -1, -e->error);
				end = true;
			}
		}
		if (end)
			break;
	}
	if (n < 0) {
		failure("thread %d: netlink command %u: no answer in 5 s",
			t->id, req.gh.cmd);
	}
}

/* ---- Threads --------------------------------------------------------- */

static uint64_t now_ns(void)
{
	return monotonic_ns();
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void *fuzz_thread(void *arg)
{
	struct thread_ctx *t = arg;
	struct sigevent sev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = SIGALRM,
	};
	struct rng *r = &t->rng;

	sev._sigev_un._tid = syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &t->timer)) {
		failure("timer_create: %s", strerror(errno));
		return NULL;
	}
	t->nl = nl_socket();
	while (now_ns() < deadline_ns) {
		unsigned int op = below(r, 100);

		t->ops++;
		if (op < 10)
			op_dev(t);
		else if (op < 30)
			op_vm(t);
		else if (op < 75)
			op_vcpu(t);
		else if (op < 81)
			op_mmap(t);
		else if (op < 89)
			op_close_dup(t);
		else if (op < 91)
			op_open(t);
		else if (op < 93)
			op_fork(t);
		else
			op_netlink(t);
	}
	timer_delete(t->timer);
	if (t->nl >= 0)
		close(t->nl);
	return NULL;
}

static void *map_or_die(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	return p;
}

int main(int argc, char **argv)
{
	struct thread_ctx threads[NR_THREADS] = { 0 };
	struct sigaction sa = { .sa_handler = on_alarm };
	struct minivmm_caps caps;
	unsigned int vms_before, seconds = SHORT_SECONDS;
	const char *env;
	uint64_t seed;
	int i, fd;

	ksft_print_header();
	ksft_set_plan(2);

	env = getenv("MINIVMM_FUZZ_SEED");
	if (argc > 1)
		seed = strtoull(argv[1], NULL, 0);
	else if (env)
		seed = strtoull(env, NULL, 0);
	else
		seed = now_ns() ^ ((uint64_t)getpid() << 32);
	if (getenv("MINIVMM_FUZZ_LONG"))
		seconds = LONG_SECONDS;
	env = getenv("MINIVMM_FUZZ_SECONDS");
	if (env)
		seconds = strtoul(env, NULL, 0);
	ksft_print_msg("seed %llu (replay: fuzz_test %llu), %u s, %d threads\n",
		       (unsigned long long)seed, (unsigned long long)seed,
		       seconds, NR_THREADS);

	if (minivmm_caps(&caps) || !(caps.features & MINIVMM_CAP_EPT)) {
		ksft_test_result_skip("fuzz: no usable minivmm\n");
		ksft_test_result_skip("fuzz: no VM left behind\n");
		ksft_finished();
	}
	vms_before = caps.nr_vms;

	/* No SA_RESTART: the timer's signal must end RUN. */
	if (sigaction(SIGALRM, &sa, NULL))
		ksft_exit_fail_msg("sigaction: %s\n", strerror(errno));
	arena = map_or_die(ARENA_SIZE, PROT_READ | PROT_WRITE);
	memset(arena, 0xf4, ARENA_SIZE);	/* HLT everywhere */
	ro_page = map_or_die(PAGE, PROT_READ);
	none_page = map_or_die(PAGE, PROT_NONE);
	hole = map_or_die(PAGE, PROT_NONE);
	munmap(hole, PAGE);
	edge = map_or_die(2 * PAGE, PROT_READ | PROT_WRITE);
	munmap(edge + PAGE, PAGE);

	fd = minivmm_open();
	if (fd < 0)
		ksft_exit_fail_msg("open: %s\n", strerror(errno));
	pool_add(fd, FD_DEV);
	fd = nl_socket();
	if (fd >= 0) {
		genl_family = nl_resolve(fd);
		close(fd);
	}

	deadline_ns = now_ns() + seconds * 1000000000ULL;
	for (i = 0; i < NR_THREADS; i++) {
		threads[i].id = i;
		threads[i].rng.s = seed ^ (0x9e3779b97f4a7c15ULL * (i + 1));
		if (pthread_create(&threads[i].thread, NULL, fuzz_thread,
				   &threads[i]))
			ksft_exit_fail_msg("pthread_create\n");
	}
	for (i = 0; i < NR_THREADS; i++) {
		pthread_join(threads[i].thread, NULL);
		ksft_print_msg("thread %d: %lu operations\n", i,
			       threads[i].ops);
	}
	ksft_print_msg("%lu calls checked\n", atomic_load(&calls));
	if (atomic_load(&failures))
		ksft_print_msg("%d failures, the first: %s\n",
			       atomic_load(&failures), first_failure);
	ksft_test_result(!atomic_load(&failures),
			 "fuzz: every call returned a documented result (seed %llu)\n",
			 (unsigned long long)seed);

	/* Every fd closed: every VM goes, soon. */
	for (i = 0; i < POOL; i++)
		if (pool[i].type != FD_FREE)
			close(pool[i].fd);
	for (i = 0; i < 5000; i++) {
		if (!minivmm_caps(&caps) && caps.nr_vms == vms_before)
			break;
		usleep(1000);
	}
	ksft_test_result(caps.nr_vms == vms_before,
			 "fuzz: no VM left behind (%u, before %u)\n",
			 caps.nr_vms, vms_before);
	ksft_finished();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * io_bench: what a guest write costs when it needs no userspace round
 * trip, under minivmm and next to KVM, in the same boot.
 *
 * Rows, each a real-mode guest making N writes, run under both
 * hypervisors:
 *   ioeventfd-pio    N one-byte OUTs to a port with an ioeventfd
 *   ioeventfd-mmio   N one-byte MMIO writes to an address with one
 *   posted-pio       N one-byte OUTs to a posted range (minivmm) or a
 *                    coalesced PIO zone (KVM)
 *   posted-mmio      N one-byte MMIO writes to a posted range or a
 *                    coalesced MMIO zone
 * Each write still makes a VM exit, handled in the kernel by signalling
 * the eventfd or appending to the ring. An ioeventfd guest's only exit
 * to userspace is its last OUT; a posted guest also exits when the ring
 * is full, and the host then drains the ring and runs it again, as a
 * VMM would: those exits and drains are part of the cost. The host
 * counts TSC cycles around the whole run and divides by N, and checks
 * that every write arrived (the eventfd's count, or ring entries plus
 * write exits, is N). Each row runs REPEATS times under each hypervisor,
 * alternating, each time in a new VM. In the emulated machine the TSC
 * counts emulated instructions, so these are repeatable path lengths.
 *
 * Prints one line per row and hypervisor (median, min and max) and the
 * minivmm/KVM ratio of the medians; --json FILE writes the same as JSON
 * (report.h). A hypervisor that is not available, or lacks ioeventfds,
 * is reported and skipped; the exit status is 1 when a row failed under
 * minivmm. --quick runs each row once with few writes (the guest reads
 * its count from memory): make check uses it so that the bench cannot
 * rot, and its numbers mean nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <x86intrin.h>

#include <linux/kvm.h>
#include <linux/minivmm.h>

#include "report.h"

#define MEM_SIZE	0x80000		/* RAM: 0-512 KiB */
#define CODE_ADDR	0x7c00
#define MMIO_ADDR	0x90000		/* no RAM: 9000:0000 */
#define IO_PORT		0xe0
#define PORT_DONE	0xf4
#define D_ITERATIONS	0x500		/* u32: the guest's write count */
/* Writes per run; --quick: few, to prove it works. */
static unsigned int iterations = 10000;
/* A row's error that is no errno: writes went missing or astray. */
#define ERR_EXITED	1000
/* What a run returns for an exit of one of the guest's writes. */
#define EXIT_WRITE	0x10000
#define PAGE		4096

#define __stringify_1(x)	#x
#define __stringify(x)		__stringify_1(x)
#define S(x)			__stringify(x)

/*
 * @setup once, @body D_ITERATIONS times (ECX counts), then OUT
 * PORT_DONE.
 */
#define GUEST(name, setup, body)					\
	extern const unsigned char name[], name##_end[];		\
	asm(".pushsection .rodata." #name ", \"a\"\n"			\
	    #name ":\n\t.code16\n\t"					\
	    "xor %ax, %ax\n\tmov %ax, %ds\n\t"				\
	    "mov " S(D_ITERATIONS) ", %ecx\n\t" setup "\n"		\
	    "1:\n\t" body "\n\t"					\
	    "dec %ecx\n\tjnz 1b\n"					\
	    "2:\tout %al, $" S(PORT_DONE) "\n\tjmp 2b\n\t.code64\n"	\
	    #name "_end:\n.popsection\n")

GUEST(guest_pio, "", "out %al, $" S(IO_PORT));
#define MMIO_DS	"mov $(" S(MMIO_ADDR) " >> 4), %ax\n\tmov %ax, %ds"
GUEST(guest_mmio, MMIO_DS, "movb %cl, 0");

/**
 * struct row - one row of the table
 * @name:	its name
 * @code:	the guest's real-mode code, copied to CODE_ADDR
 * @end:	its end
 * @pio:	the writes are to port IO_PORT, else to MMIO_ADDR
 * @posted:	posted (coalesced) writes, else an ioeventfd
 */
struct row {
	const char *name;
	const unsigned char *code, *end;
	int pio, posted;
};

/**
 * struct hv - a hypervisor, and the VM of one measurement
 * @name:	its name in the table
 * @create:	a VM with one vCPU at CODE_ADDR in real mode
 * @ioeventfd:	registers eventfd @fd for one-byte writes of @row's kind
 * @posted:	registers a posted range (coalesced zone) for @row's writes
 * @drain:	empties the ring; how many entries it held
 * @run:	one RUN: PORT_DONE, EXIT_WRITE for an exit of one of the
 *		guest's writes, or -errno (-EIO for another exit)
 * @dev:	the device fd
 * @vm:		the VM fd
 * @vcpu:	the vCPU fd
 * @mem:	guest memory
 * @run_page:	the run structure
 * @run_size:	its mapping's size
 */
struct hv {
	const char *name;
	int (*create)(struct hv *hv, const struct row *row);
	int (*ioeventfd)(struct hv *hv, const struct row *row, int fd);
	int (*posted)(struct hv *hv, const struct row *row);
	unsigned int (*drain)(struct hv *hv);
	int (*run)(struct hv *hv);
	int dev, vm, vcpu;
	void *mem, *run_page, *ring;
	size_t run_size;
};

static void *guest_memory(const struct row *row)
{
	void *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (mem == MAP_FAILED)
		return NULL;
	memcpy((char *)mem + CODE_ADDR, row->code, row->end - row->code);
	*(uint32_t *)((char *)mem + D_ITERATIONS) = iterations;
	return mem;
}

/* ---- minivmm -------------------------------------------------------- */

static int mvm_create(struct hv *hv, const struct row *row)
{
	struct minivmm_memory_region r = { .size = MEM_SIZE };
	struct minivmm_caps caps;

	hv->dev = open("/dev/minivmm", O_RDWR);
	if (hv->dev < 0)
		return -errno;
	if (ioctl(hv->dev, MINIVMM_GET_CAPS, &caps))
		return -errno;
	if (!(caps.features & MINIVMM_CAP_IOEVENTFD))
		return -EOPNOTSUPP;
	hv->vm = ioctl(hv->dev, MINIVMM_CREATE_VM, 0);
	if (hv->vm < 0)
		return -errno;
	hv->mem = guest_memory(row);
	if (!hv->mem)
		return -ENOMEM;
	r.userspace_addr = (uintptr_t)hv->mem;
	if (ioctl(hv->vm, MINIVMM_SET_MEMORY_REGION, &r))
		return -errno;
	hv->vcpu = ioctl(hv->vm, MINIVMM_CREATE_VCPU, 0);
	if (hv->vcpu < 0)
		return -errno;
	hv->run_size = MINIVMM_RUN_MMAP_SIZE;
	hv->run_page = mmap(NULL, hv->run_size, PROT_READ | PROT_WRITE,
			    MAP_SHARED, hv->vcpu, 0);
	return hv->run_page == MAP_FAILED ? -errno : 0;
}

static int mvm_ioeventfd(struct hv *hv, const struct row *row, int fd)
{
	struct minivmm_ioeventfd a = {
		.addr = row->pio ? IO_PORT : MMIO_ADDR, .len = 1, .fd = fd,
		.flags = row->pio ? MINIVMM_IOEVENTFD_PIO : 0,
	};

	return ioctl(hv->vm, MINIVMM_IOEVENTFD, &a) ? -errno : 0;
}

static int mvm_posted(struct hv *hv, const struct row *row)
{
	struct minivmm_posted_range a = {
		.addr = row->pio ? IO_PORT : MMIO_ADDR, .size = 1,
		.flags = row->pio ? MINIVMM_POSTED_PIO : 0,
	};
	struct minivmm_caps caps;

	if (ioctl(hv->dev, MINIVMM_GET_CAPS, &caps))
		return -errno;
	if (!(caps.features & MINIVMM_CAP_POSTED_IO))
		return -EOPNOTSUPP;
	hv->ring = mmap(NULL, MINIVMM_POSTED_RING_SIZE, PROT_READ | PROT_WRITE,
			MAP_SHARED, hv->vcpu, MINIVMM_POSTED_RING_OFFSET);
	if (hv->ring == MAP_FAILED) {
		hv->ring = NULL;
		return -errno;
	}
	return ioctl(hv->vm, MINIVMM_POSTED_RANGE, &a) ? -errno : 0;
}

static unsigned int mvm_drain(struct hv *hv)
{
	struct minivmm_posted_ring *ring = hv->ring;
	uint32_t head = ring->head;
	uint32_t tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
	unsigned int n = tail >= head ? tail - head :
					ring->entries - head + tail;

	__atomic_store_n(&ring->head, tail, __ATOMIC_RELEASE);
	return n;
}

static int mvm_run(struct hv *hv)
{
	struct minivmm_run *run = hv->run_page;

	if (ioctl(hv->vcpu, MINIVMM_RUN, 0))
		return -errno;
	if (run->exit_reason == MINIVMM_EXIT_IO)
		return run->io.port == IO_PORT ? EXIT_WRITE : run->io.port;
	if (run->exit_reason == MINIVMM_EXIT_MMIO && run->mmio.is_write &&
	    run->mmio.phys_addr == MMIO_ADDR)
		return EXIT_WRITE;
	return -EIO;
}

/* ---- KVM ------------------------------------------------------------ */

static int kvm_create(struct hv *hv, const struct row *row)
{
	struct kvm_userspace_memory_region r = { .memory_size = MEM_SIZE };
	struct kvm_regs regs = { .rip = CODE_ADDR, .rflags = 2 };
	struct kvm_sregs sregs;
	int size;

	hv->dev = open("/dev/kvm", O_RDWR);
	if (hv->dev < 0)
		return -errno;
	if (ioctl(hv->dev, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0)
		return -EOPNOTSUPP;
	hv->vm = ioctl(hv->dev, KVM_CREATE_VM, 0);
	if (hv->vm < 0)
		return -errno;
	hv->mem = guest_memory(row);
	if (!hv->mem)
		return -ENOMEM;
	r.userspace_addr = (uintptr_t)hv->mem;
	if (ioctl(hv->vm, KVM_SET_USER_MEMORY_REGION, &r))
		return -errno;
	size = ioctl(hv->dev, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size <= 0)
		return -EINVAL;
	hv->run_size = size;
	hv->vcpu = ioctl(hv->vm, KVM_CREATE_VCPU, 0);
	if (hv->vcpu < 0)
		return -errno;
	hv->run_page = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			    hv->vcpu, 0);
	if (hv->run_page == MAP_FAILED)
		return -errno;
	/* KVM resets to F000:FFF0; start where minivmm does. */
	if (ioctl(hv->vcpu, KVM_GET_SREGS, &sregs))
		return -errno;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(hv->vcpu, KVM_SET_SREGS, &sregs) ||
	    ioctl(hv->vcpu, KVM_SET_REGS, &regs))
		return -errno;
	return 0;
}

static int kvm_ioeventfd(struct hv *hv, const struct row *row, int fd)
{
	struct kvm_ioeventfd a = {
		.addr = row->pio ? IO_PORT : MMIO_ADDR, .len = 1, .fd = fd,
		.flags = row->pio ? KVM_IOEVENTFD_FLAG_PIO : 0,
	};

	return ioctl(hv->vm, KVM_IOEVENTFD, &a) ? -errno : 0;
}

static int kvm_posted(struct hv *hv, const struct row *row)
{
	struct kvm_coalesced_mmio_zone z = {
		.addr = row->pio ? IO_PORT : MMIO_ADDR, .size = 1,
		.pio = row->pio,
	};
	int page = ioctl(hv->dev, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);
	int pio = ioctl(hv->dev, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO);

	if (page <= 0 || (row->pio && pio <= 0))
		return -EOPNOTSUPP;
	/* The ring is a page of the vCPU's mapping. */
	if ((size_t)(page + 1) * PAGE > hv->run_size)
		return -EINVAL;
	hv->ring = (char *)hv->run_page + (size_t)page * PAGE;
	return ioctl(hv->vm, KVM_REGISTER_COALESCED_MMIO, &z) ? -errno : 0;
}

static unsigned int kvm_drain(struct hv *hv)
{
	struct kvm_coalesced_mmio_ring *ring = hv->ring;
	uint32_t max = (PAGE - sizeof(*ring)) /
		       sizeof(struct kvm_coalesced_mmio);
	uint32_t first = ring->first;
	uint32_t last = __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE);
	unsigned int n = last >= first ? last - first : max - first + last;

	__atomic_store_n(&ring->first, last, __ATOMIC_RELEASE);
	return n;
}

static int kvm_run(struct hv *hv)
{
	struct kvm_run *run = hv->run_page;

	if (ioctl(hv->vcpu, KVM_RUN, 0))
		return -errno;
	if (run->exit_reason == KVM_EXIT_IO)
		return run->io.port == IO_PORT ? EXIT_WRITE : run->io.port;
	if (run->exit_reason == KVM_EXIT_MMIO && run->mmio.is_write &&
	    run->mmio.phys_addr == MMIO_ADDR)
		return EXIT_WRITE;
	return -EIO;
}

/* ---- measuring ------------------------------------------------------- */

static void hv_teardown(struct hv *hv)
{
	/* minivmm's ring is a mapping of its own, KVM's part of the run's. */
	if (hv->ring && hv->drain == mvm_drain)
		munmap(hv->ring, MINIVMM_POSTED_RING_SIZE);
	if (hv->run_page && hv->run_page != MAP_FAILED)
		munmap(hv->run_page, hv->run_size);
	if (hv->vcpu > 0)
		close(hv->vcpu);
	if (hv->vm > 0)
		close(hv->vm);
	if (hv->dev > 0)
		close(hv->dev);
	if (hv->mem)
		munmap(hv->mem, MEM_SIZE);
	memset(hv, 0, sizeof(*hv));
}

/*
 * Cycles per write, or a negative error; *@exits: the write exits to
 * userspace.
 */
static double measure(const struct hv *proto, const struct row *row,
		      unsigned int *exits)
{
	/* The VM and its vCPU are gone, and VMX released, on return. */
	struct hv hv = *proto;
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	uint64_t t0 = 0, t1 = 0, count = 0;
	int ret;

	*exits = 0;
	if (efd < 0)
		return -errno;
	ret = hv.create(&hv, row);
	if (!ret)
		ret = row->posted ? hv.posted(&hv, row) :
				    hv.ioeventfd(&hv, row, efd);
	if (ret)
		goto out;
	t0 = __rdtsc();
	for (;;) {
		ret = hv.run(&hv);
		/* Before the exit is handled, as the ring's rule says. */
		if (row->posted)
			count += hv.drain(&hv);
		if (ret != EXIT_WRITE)
			break;
		(*exits)++;
	}
	t1 = __rdtsc();
	if (ret != PORT_DONE)
		goto out;
	/* Every write arrived; with an ioeventfd, none in userspace. */
	if (!row->posted &&
	    (read(efd, &count, sizeof(count)) != sizeof(count) || *exits))
		count = 0;
	if (count + (row->posted ? *exits : 0) != iterations) {
		fprintf(stderr, "%s %s: %llu writes arrived, %u exits\n",
			row->name, hv.name, (unsigned long long)count, *exits);
		ret = -ERR_EXITED;
		goto out;
	}
	ret = 0;
out:
	hv_teardown(&hv);
	close(efd);
	return ret < 0 ? ret : ret ? -EIO : (double)(t1 - t0) / iterations;
}

static const struct row rows[] = {
	{ .name = "ioeventfd-pio", .code = guest_pio, .end = guest_pio_end,
	  .pio = 1 },
	{ .name = "ioeventfd-mmio", .code = guest_mmio, .end = guest_mmio_end,
	  .pio = 0 },
	{ .name = "posted-pio", .code = guest_pio, .end = guest_pio_end,
	  .pio = 1, .posted = 1 },
	{ .name = "posted-mmio", .code = guest_mmio, .end = guest_mmio_end,
	  .pio = 0, .posted = 1 },
};

static const char *why(int err)
{
	if (err == ERR_EXITED)
		return "writes went missing";
	return strerror(err);
}

int main(int argc, char **argv)
{
	const struct hv hvs[] = {
		{ .name = "minivmm", .create = mvm_create,
		  .ioeventfd = mvm_ioeventfd, .posted = mvm_posted,
		  .drain = mvm_drain, .run = mvm_run },
		{ .name = "kvm", .create = kvm_create,
		  .ioeventfd = kvm_ioeventfd, .posted = kvm_posted,
		  .drain = kvm_drain, .run = kvm_run },
	};
	struct report rep = { .width = 14, .why = why };
	struct report_hv c[2];
	unsigned int i, h, r, exits[2] = { 0, 0 };
	int ret = report_options(&rep, argc, argv);

	if (ret)
		return ret;
	if (rep.quick)
		iterations = 100;
	printf("# %u writes per run, %u runs\n", iterations, rep.repeats);
	printf("# cycles per write: median (min-max), write exits to userspace in the last run\n");
	report_start(&rep, "\"iterations\": %u, \"runs\": %u", iterations,
		     rep.repeats);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (!report_wants(&rep, rows[i].name))
			continue;
		for (r = 0; r < rep.repeats; r++)
			for (h = 0; h < 2; h++)
				c[h].c[r] = measure(&hvs[h], &rows[i],
						    &exits[h]);
		for (h = 0; h < 2; h++) {
			c[h].name = hvs[h].name;
			snprintf(c[h].note, sizeof(c[h].note), ", %u exits",
				 exits[h]);
		}
		report_row(&rep, rows[i].name, c, 2, "cycles");
	}
	return report_end(&rep);
}

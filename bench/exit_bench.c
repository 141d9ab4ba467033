// SPDX-License-Identifier: GPL-2.0
/*
 * exit_bench: what a VM exit costs under minivmm, next to KVM, in the
 * same boot of the same machine.
 *
 * Three real-mode guests, each run under both hypervisors:
 *   pio     N "out" instructions, each a round trip to userspace and back
 *   cpuid   N CPUID instructions, each answered inside the kernel
 *   hlt     N HLT instructions, each a round trip to userspace
 * The host counts TSC cycles around the whole run and divides by N. In
 * the emulated machine the TSC counts emulated instructions, so these are
 * repeatable path lengths; on real hardware they are cycles. Each guest
 * runs REPEATS times under each hypervisor, alternating, each time in a
 * new VM.
 *
 * Prints one line per guest and hypervisor (median, min and max) and the
 * minivmm/KVM ratio of the medians. A hypervisor that is not available is
 * reported and skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <x86intrin.h>

#include <linux/kvm.h>
#include <linux/minivmm.h>

#define MEM_SIZE	(1 << 20)
#define CODE_ADDR	0x7c00
#define ITERATIONS	10000
#define REPEATS		5

struct guest {
	const char *name;
	const unsigned char *code, *end;
};

/* ECX counts down; each guest ends with an OUT to port 0xf4. */
#define GUEST(name, body)						\
	extern const unsigned char name[], name##_end[];		\
	asm(".pushsection .rodata." #name ", \"a\"\n"			\
	    #name ":\n\t.code16\n\t"					\
	    "mov $" __stringify(ITERATIONS) ", %ecx\n"			\
	    "1:\n\t" body "\n\t"					\
	    "dec %ecx\n\tjnz 1b\n\t"					\
	    "mov $0, %al\n\tout %al, $0xf4\n\t.code64\n"		\
	    #name "_end:\n.popsection\n")
#define __stringify_1(x)	#x
#define __stringify(x)		__stringify_1(x)

GUEST(guest_pio, "out %al, $0x80");
GUEST(guest_cpuid, "push %ecx\n\txor %eax, %eax\n\tcpuid\n\tpop %ecx");
GUEST(guest_hlt, "hlt");

static const struct guest guests[] = {
	{ "pio", guest_pio, guest_pio_end },
	{ "cpuid", guest_cpuid, guest_cpuid_end },
	{ "hlt", guest_hlt, guest_hlt_end },
};

struct hv {
	const char *name;
	int (*setup)(struct hv *hv, const struct guest *g);
	int (*run)(struct hv *hv, int *done);
	void (*teardown)(struct hv *hv);
	int dev, vm, vcpu;
	void *mem, *run_page;
	size_t run_size;
};

static void *guest_memory(const struct guest *g)
{
	void *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (mem == MAP_FAILED)
		return NULL;
	memcpy((char *)mem + CODE_ADDR, g->code, g->end - g->code);
	return mem;
}

/* ---- minivmm -------------------------------------------------------- */

static int mvm_setup(struct hv *hv, const struct guest *g)
{
	struct minivmm_memory_region r = { .size = MEM_SIZE };

	hv->dev = open("/dev/minivmm", O_RDWR);
	if (hv->dev < 0)
		return -errno;
	hv->vm = ioctl(hv->dev, MINIVMM_CREATE_VM, 0);
	if (hv->vm < 0)
		return -errno;
	hv->mem = guest_memory(g);
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

static int mvm_run(struct hv *hv, int *done)
{
	struct minivmm_run *run = hv->run_page;

	if (ioctl(hv->vcpu, MINIVMM_RUN, 0))
		return -errno;
	if (run->exit_reason == MINIVMM_EXIT_IO && run->io.port == 0xf4)
		*done = 1;
	else if (run->exit_reason != MINIVMM_EXIT_IO &&
		 run->exit_reason != MINIVMM_EXIT_HLT)
		return -EIO;
	return 0;
}

/* ---- KVM ------------------------------------------------------------ */

static int kvm_setup(struct hv *hv, const struct guest *g)
{
	struct kvm_userspace_memory_region r = { .memory_size = MEM_SIZE };
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = CODE_ADDR, .rflags = 2 };
	int size;

	hv->dev = open("/dev/kvm", O_RDWR);
	if (hv->dev < 0)
		return -errno;
	hv->vm = ioctl(hv->dev, KVM_CREATE_VM, 0);
	if (hv->vm < 0)
		return -errno;
	hv->mem = guest_memory(g);
	if (!hv->mem)
		return -ENOMEM;
	r.userspace_addr = (uintptr_t)hv->mem;
	if (ioctl(hv->vm, KVM_SET_USER_MEMORY_REGION, &r))
		return -errno;
	hv->vcpu = ioctl(hv->vm, KVM_CREATE_VCPU, 0);
	if (hv->vcpu < 0)
		return -errno;
	size = ioctl(hv->dev, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size <= 0)
		return -EINVAL;
	hv->run_size = size;
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

static int kvm_run_once(struct hv *hv, int *done)
{
	struct kvm_run *run = hv->run_page;

	if (ioctl(hv->vcpu, KVM_RUN, 0))
		return -errno;
	if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0xf4)
		*done = 1;
	else if (run->exit_reason != KVM_EXIT_IO &&
		 run->exit_reason != KVM_EXIT_HLT)
		return -EIO;
	return 0;
}

static void hv_teardown(struct hv *hv)
{
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

/* Cycles per iteration, or a negative errno. */
static double measure(struct hv *proto, const struct guest *g)
{
	/* The VM and its vCPU are gone, and VMX released, on return. */
	struct hv hv = *proto;
	uint64_t t0, t1;
	int done = 0, ret;

	ret = hv.setup(&hv, g);
	if (ret) {
		hv_teardown(&hv);
		return ret;
	}
	t0 = __rdtsc();
	while (!done) {
		ret = hv.run(&hv, &done);
		if (ret)
			break;
	}
	t1 = __rdtsc();
	hv_teardown(&hv);
	return ret ? ret : (double)(t1 - t0) / ITERATIONS;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	struct hv hvs[] = {
		{ .name = "minivmm", .setup = mvm_setup, .run = mvm_run },
		{ .name = "kvm", .setup = kvm_setup, .run = kvm_run_once },
	};
	const struct guest *g;
	unsigned int i, h, r;
	double c[2][REPEATS], med[2];

	printf("# %d iterations per run, %d runs; cycles per iteration: median (min-max)\n",
	       ITERATIONS, REPEATS);
	for (i = 0; i < sizeof(guests) / sizeof(guests[0]); i++) {
		g = &guests[i];
		for (r = 0; r < REPEATS; r++)
			for (h = 0; h < 2; h++)
				c[h][r] = measure(&hvs[h], g);
		for (h = 0; h < 2; h++) {
			med[h] = -1;
			for (r = 0; r < REPEATS && c[h][r] >= 0; r++)
				;
			if (r < REPEATS) {
				printf("%-6s %-8s unavailable: %s\n", g->name,
				       hvs[h].name, strerror(-(int)c[h][r]));
				continue;
			}
			qsort(c[h], REPEATS, sizeof(c[h][0]), cmp_double);
			med[h] = c[h][REPEATS / 2];
			printf("%-6s %-8s %10.0f cycles (%.0f-%.0f)\n", g->name,
			       hvs[h].name, med[h], c[h][0], c[h][REPEATS - 1]);
		}
		if (med[0] > 0 && med[1] > 0)
			printf("%-6s ratio    %10.2f (minivmm / kvm)\n", g->name,
			       med[0] / med[1]);
	}
	return 0;
}

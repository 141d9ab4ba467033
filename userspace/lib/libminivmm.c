// SPDX-License-Identifier: LGPL-2.1
/*
 * libminivmm: see libminivmm.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libminivmm.h"

struct mvm {
	int dev;
	int fd;
	uint8_t *mem;
	size_t mem_size;
	char err[256];
};

struct mvm_vcpu {
	struct mvm *vm;
	int fd;
	struct minivmm_run *run;
};

static char global_err[256];

static int fail(struct mvm *vm, int err, const char *fmt, ...)
{
	char *buf = vm ? vm->err : global_err;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(global_err), fmt, ap);
	va_end(ap);
	if (err && n < sizeof(global_err))
		snprintf(buf + n, sizeof(global_err) - n, ": %s",
			 strerror(err));
	if (vm)
		strcpy(global_err, vm->err);
	return -err;
}

const char *mvm_strerror(struct mvm *vm)
{
	return vm ? vm->err : global_err;
}

int mvm_create(struct mvm **vmp, size_t mem_size)
{
	struct minivmm_memory_region r = { 0 };
	struct mvm *vm;
	int err;

	if (!mem_size || mem_size & 4095)
		return fail(NULL, EINVAL, "memory size %zu", mem_size);
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return fail(NULL, ENOMEM, "allocating the VM");
	vm->fd = -1;
	vm->dev = open("/dev/minivmm", O_RDWR | O_CLOEXEC);
	if (vm->dev < 0) {
		err = errno;
		free(vm);
		if (err == ENOENT)
			return fail(NULL, err,
				    "/dev/minivmm (is the minivmm module loaded?)");
		return fail(NULL, err, "opening /dev/minivmm");
	}
	vm->fd = ioctl(vm->dev, MINIVMM_CREATE_VM, 0);
	if (vm->fd < 0) {
		err = errno;
		mvm_destroy(vm);
		if (err == EBUSY)
			return fail(NULL, err,
				    "creating the VM (another hypervisor holds VMX)");
		return fail(NULL, err, "creating the VM");
	}
	vm->mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED) {
		err = errno;
		vm->mem = NULL;
		mvm_destroy(vm);
		return fail(NULL, err, "allocating %zu bytes of guest memory",
			    mem_size);
	}
	vm->mem_size = mem_size;
	madvise(vm->mem, mem_size, MADV_HUGEPAGE);
	r.size = mem_size;
	r.userspace_addr = (uintptr_t)vm->mem;
	if (ioctl(vm->fd, MINIVMM_SET_MEMORY_REGION, &r)) {
		err = errno;
		mvm_destroy(vm);
		return fail(NULL, err, "mapping guest memory");
	}
	*vmp = vm;
	return 0;
}

void mvm_destroy(struct mvm *vm)
{
	if (!vm)
		return;
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->dev >= 0)
		close(vm->dev);
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	free(vm);
}

void *mvm_gpa(struct mvm *vm, uint64_t gpa, size_t len)
{
	if (gpa > vm->mem_size || len > vm->mem_size - gpa)
		return NULL;
	return vm->mem + gpa;
}

size_t mvm_mem_size(struct mvm *vm)
{
	return vm->mem_size;
}

int mvm_fd(struct mvm *vm)
{
	return vm->fd;
}

int mvm_add_memory(struct mvm *vm, unsigned int slot, uint64_t gpa,
		   void *host, size_t size, unsigned int flags)
{
	struct minivmm_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.size = size, .userspace_addr = (uintptr_t)host,
	};

	if (ioctl(vm->fd, MINIVMM_SET_MEMORY_REGION, &r))
		return fail(vm, errno, "mapping slot %u at %#llx", slot,
			    (unsigned long long)gpa);
	return 0;
}

int mvm_vcpu_create(struct mvm *vm, unsigned int id,
		    struct mvm_vcpu **vcpup)
{
	struct mvm_vcpu *vcpu = calloc(1, sizeof(*vcpu));
	int err;

	if (!vcpu)
		return fail(vm, ENOMEM, "allocating vCPU %u", id);
	vcpu->vm = vm;
	vcpu->fd = ioctl(vm->fd, MINIVMM_CREATE_VCPU, id);
	if (vcpu->fd < 0) {
		err = errno;
		free(vcpu);
		return fail(vm, err, "creating vCPU %u", id);
	}
	vcpu->run = mmap(NULL, MINIVMM_RUN_MMAP_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		err = errno;
		close(vcpu->fd);
		free(vcpu);
		return fail(vm, err, "mapping the run structure of vCPU %u",
			    id);
	}
	*vcpup = vcpu;
	return 0;
}

void mvm_vcpu_destroy(struct mvm_vcpu *vcpu)
{
	if (!vcpu)
		return;
	munmap(vcpu->run, MINIVMM_RUN_MMAP_SIZE);
	close(vcpu->fd);
	free(vcpu);
}

struct minivmm_run *mvm_vcpu_run_struct(struct mvm_vcpu *vcpu)
{
	return vcpu->run;
}

int mvm_vcpu_fd(struct mvm_vcpu *vcpu)
{
	return vcpu->fd;
}

int mvm_run(struct mvm_vcpu *vcpu)
{
	if (ioctl(vcpu->fd, MINIVMM_RUN, 0)) {
		if (errno == EINTR)
			return -EINTR;
		return fail(vcpu->vm, errno, "running the vCPU");
	}
	return 0;
}

#define VCPU_IOCTL(name, cmd, type, what)				\
int name(struct mvm_vcpu *vcpu, type arg)				\
{									\
	if (ioctl(vcpu->fd, cmd, arg))					\
		return fail(vcpu->vm, errno, what);			\
	return 0;							\
}

VCPU_IOCTL(mvm_get_regs, MINIVMM_GET_REGS, struct minivmm_regs *,
	   "reading registers")
VCPU_IOCTL(mvm_set_regs, MINIVMM_SET_REGS, const struct minivmm_regs *,
	   "setting registers")
VCPU_IOCTL(mvm_get_sregs, MINIVMM_GET_SREGS, struct minivmm_sregs *,
	   "reading system registers")
VCPU_IOCTL(mvm_set_sregs, MINIVMM_SET_SREGS, const struct minivmm_sregs *,
	   "setting system registers")

int mvm_inject_interrupt(struct mvm_vcpu *vcpu, unsigned int vector)
{
	if (ioctl(vcpu->fd, MINIVMM_INJECT_INTERRUPT, vector))
		return fail(vcpu->vm, errno, "injecting vector %u", vector);
	return 0;
}

int mvm_load_flat(struct mvm *vm, struct mvm_vcpu *vcpu, const void *image,
		  size_t size, uint64_t addr)
{
	struct minivmm_regs regs = { .rflags = 2 };
	void *dst;

	if (addr > 0xffff)
		return fail(vm, EINVAL,
			    "a flat image starts in real mode: load address %#llx is above 0xffff",
			    (unsigned long long)addr);
	dst = mvm_gpa(vm, addr, size);
	if (!dst)
		return fail(vm, E2BIG,
			    "image of %zu bytes at %#llx does not fit in %zu bytes of memory",
			    size, (unsigned long long)addr, vm->mem_size);
	memcpy(dst, image, size);
	regs.rip = addr;
	/* The stack grows down from below the image, as under a BIOS. */
	regs.rsp = addr > 0x1000 ? addr : 0xfffe;
	return mvm_set_regs(vcpu, &regs);
}

int mvm_read_file(const char *path, void **data, size_t *size)
{
	struct stat st;
	void *buf;
	int fd, err;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(NULL, errno, "%s", path);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		err = errno ? errno : EINVAL;
		close(fd);
		return fail(NULL, err, "%s: not a regular file", path);
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf) {
		close(fd);
		return fail(NULL, ENOMEM, "%s", path);
	}
	n = read(fd, buf, st.st_size);
	err = errno;
	close(fd);
	if (n != st.st_size) {
		free(buf);
		return fail(NULL, n < 0 ? err : EIO, "reading %s", path);
	}
	*data = buf;
	*size = st.st_size;
	return 0;
}

const char *mvm_exit_name(uint32_t reason)
{
	static const char * const names[] = {
		[MINIVMM_EXIT_NONE] = "none",
		[MINIVMM_EXIT_IO] = "io",
		[MINIVMM_EXIT_MMIO] = "mmio",
		[MINIVMM_EXIT_HLT] = "hlt",
		[MINIVMM_EXIT_HYPERCALL] = "hypercall",
		[MINIVMM_EXIT_SHUTDOWN] = "shutdown",
		[MINIVMM_EXIT_FAIL_ENTRY] = "fail_entry",
		[MINIVMM_EXIT_INTERNAL_ERROR] = "internal_error",
		[MINIVMM_EXIT_INTR] = "intr",
	};

	if (reason < sizeof(names) / sizeof(names[0]) && names[reason])
		return names[reason];
	return "unknown";
}

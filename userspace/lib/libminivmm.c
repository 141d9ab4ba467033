// SPDX-License-Identifier: LGPL-2.1
/*
 * libminivmm: the device, VMs, vCPUs and errors. See libminivmm.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* The last failure of this thread, whatever VM it concerned. */
static __thread char thread_err[MVM_ERR_MAX];

int mvm_fail(struct mvm *vm, int err, const char *fmt, ...)
{
	char buf[MVM_ERR_MAX];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (err && n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - n, ": %s", strerror(err));
	memcpy(thread_err, buf, sizeof(buf));
	if (vm)
		memcpy(vm->err, buf, sizeof(buf));
	return err ? -err : -EINVAL;
}

const char *mvm_strerror(struct mvm *vm)
{
	return vm ? vm->err : thread_err;
}

static int dev_open_err(int err)
{
	if (err == ENOENT)
		return mvm_fail(NULL, err,
				"%s (is the minivmm module loaded?)",
				MVM_DEVICE);
	return mvm_fail(NULL, err, "opening %s", MVM_DEVICE);
}

int mvm_dev_open(void)
{
	int fd = open(MVM_DEVICE, O_RDWR | O_CLOEXEC);

	return fd < 0 ? dev_open_err(errno) : fd;
}

int mvm_api_version(void)
{
	int fd = mvm_dev_open(), ret;

	if (fd < 0)
		return fd;
	ret = ioctl(fd, MINIVMM_GET_API_VERSION, 0);
	if (ret < 0)
		ret = mvm_fail(NULL, errno, "MINIVMM_GET_API_VERSION");
	close(fd);
	return ret;
}

int mvm_get_caps(struct minivmm_caps *caps)
{
	int fd = mvm_dev_open(), ret = 0;

	if (fd < 0)
		return fd;
	if (ioctl(fd, MINIVMM_GET_CAPS, caps))
		ret = mvm_fail(NULL, errno, "MINIVMM_GET_CAPS");
	close(fd);
	return ret;
}

static int map_ram(struct mvm *vm, unsigned int slot)
{
	struct mvm_ram *r = &vm->ram[slot];
	struct minivmm_memory_region region = {
		.slot = slot, .guest_phys_addr = r->gpa, .size = r->size,
		.userspace_addr = (uintptr_t)r->host,
	};

	if (ioctl(vm->fd, MINIVMM_SET_MEMORY_REGION, &region))
		return mvm_fail(NULL, errno,
				"mapping %llu MiB of guest memory at %#llx",
				(unsigned long long)r->size >> 20,
				(unsigned long long)r->gpa);
	return 0;
}

/*
 * Guest RAM on a 2 MiB boundary, so that transparent huge pages can back
 * it (and the module map it with 2 MiB EPT pages): fewer pages to fault
 * in and pin. NULL with errno on failure.
 */
static uint8_t *map_aligned(size_t size)
{
	size_t align = HUGE_SIZE, len = size + align;
	uint8_t *p, *start;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	start = (uint8_t *)(((uintptr_t)p + align - 1) & ~(align - 1));
	if (start > p)
		munmap(p, start - p);
	munmap(start + size, p + len - (start + size));
	madvise(start, size, MADV_HUGEPAGE);
	return start;
}

int mvm_create(struct mvm **vmp, size_t mem_size)
{
	struct mvm *vm;
	unsigned int i;
	int err;

	if (!mem_size || mem_size % PAGE_SIZE)
		return mvm_fail(NULL, EINVAL,
				"guest memory size %zu is not a non-zero multiple of 4 KiB",
				mem_size);
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return mvm_fail(NULL, ENOMEM, "allocating the VM");
	vm->fd = -1;
	vm->dev = mvm_dev_open();
	if (vm->dev < 0) {
		err = vm->dev;
		free(vm);
		return err;
	}
	vm->fd = ioctl(vm->dev, MINIVMM_CREATE_VM, 0);
	if (vm->fd < 0) {
		err = errno;
		mvm_destroy(vm);
		if (err == EBUSY)
			return mvm_fail(NULL, err,
					"creating the VM (another hypervisor, e.g. KVM, holds VMX)");
		if (err == EOPNOTSUPP)
			return mvm_fail(NULL, err,
					"creating the VM (no usable VMX on this machine: see dmesg)");
		return mvm_fail(NULL, err, "creating the VM");
	}
	vm->mem = map_aligned(mem_size);
	if (!vm->mem) {
		err = errno;
		mvm_destroy(vm);
		return mvm_fail(NULL, err,
				"allocating %zu bytes of guest memory", mem_size);
	}
	vm->mem_size = mem_size;

	/* Leave the PC's hole below 4 GiB to devices, as a PC does. */
	vm->ram[0].host = vm->mem;
	vm->ram[0].size = mem_size;
	vm->nr_ram = 1;
	if (mem_size > MVM_LOW_RAM_MAX) {
		vm->ram[0].size = MVM_LOW_RAM_MAX;
		vm->ram[1].gpa = MVM_HIGH_RAM_BASE;
		vm->ram[1].size = mem_size - MVM_LOW_RAM_MAX;
		vm->ram[1].host = vm->mem + MVM_LOW_RAM_MAX;
		vm->nr_ram = 2;
	}
	for (i = 0; i < vm->nr_ram; i++) {
		err = map_ram(vm, i);
		if (err) {
			mvm_destroy(vm);
			return err;
		}
	}
	*vmp = vm;
	return 0;
}

void mvm_destroy(struct mvm *vm)
{
	if (!vm)
		return;
	while (vm->vcpus)
		mvm_vcpu_destroy(vm->vcpus);
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
	unsigned int i;

	for (i = 0; i < vm->nr_ram; i++) {
		struct mvm_ram *r = &vm->ram[i];

		if (gpa >= r->gpa && gpa - r->gpa <= r->size &&
		    len <= r->size - (gpa - r->gpa))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

size_t mvm_mem_size(struct mvm *vm)
{
	return vm->mem_size;
}

uint64_t mvm_mem_end(struct mvm *vm)
{
	struct mvm_ram *r = &vm->ram[vm->nr_ram - 1];

	return r->gpa + r->size;
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
		return mvm_fail(vm, errno, "mapping memory slot %u at %#llx",
				slot, (unsigned long long)gpa);
	return 0;
}

int mvm_vcpu_create(struct mvm *vm, unsigned int id,
		    struct mvm_vcpu **vcpup)
{
	struct mvm_vcpu *vcpu = calloc(1, sizeof(*vcpu));
	int err;

	if (!vcpu)
		return mvm_fail(vm, ENOMEM, "allocating vCPU %u", id);
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->fd, MINIVMM_CREATE_VCPU, id);
	if (vcpu->fd < 0) {
		err = errno;
		free(vcpu);
		return mvm_fail(vm, err, "creating vCPU %u", id);
	}
	vcpu->run = mmap(NULL, MINIVMM_RUN_MMAP_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		err = errno;
		close(vcpu->fd);
		free(vcpu);
		return mvm_fail(vm, err,
				"mapping the run structure of vCPU %u", id);
	}
	vcpu->next = vm->vcpus;
	vm->vcpus = vcpu;
	*vcpup = vcpu;
	return 0;
}

void mvm_vcpu_destroy(struct mvm_vcpu *vcpu)
{
	struct mvm_vcpu **p;

	if (!vcpu)
		return;
	for (p = &vcpu->vm->vcpus; *p; p = &(*p)->next) {
		if (*p == vcpu) {
			*p = vcpu->next;
			break;
		}
	}
	munmap(vcpu->run, MINIVMM_RUN_MMAP_SIZE);
	close(vcpu->fd);
	free(vcpu);
}

struct minivmm_run *mvm_vcpu_run_struct(struct mvm_vcpu *vcpu)
{
	return vcpu->run;
}

void *mvm_io_data(struct mvm_vcpu *vcpu)
{
	struct minivmm_run *run = vcpu->run;
	uint64_t end;

	if (run->exit_reason != MINIVMM_EXIT_IO)
		return NULL;
	end = run->io.data_offset + (uint64_t)run->io.count * run->io.size;
	if (run->io.size > 4 ||
	    run->io.data_offset < offsetof(struct minivmm_run, io.data) ||
	    end > MINIVMM_RUN_MMAP_SIZE)
		return NULL;
	return (char *)run + run->io.data_offset;
}

int mvm_vcpu_fd(struct mvm_vcpu *vcpu)
{
	return vcpu->fd;
}

unsigned int mvm_vcpu_id(struct mvm_vcpu *vcpu)
{
	return vcpu->id;
}

int mvm_run(struct mvm_vcpu *vcpu)
{
	if (ioctl(vcpu->fd, MINIVMM_RUN, 0)) {
		if (errno == EINTR)
			return -EINTR;
		return mvm_fail(vcpu->vm, errno, "running vCPU %u", vcpu->id);
	}
	return 0;
}

#define VCPU_IOCTL(name, cmd, type, what)				\
int name(struct mvm_vcpu *vcpu, type arg)				\
{									\
	if (ioctl(vcpu->fd, cmd, arg))					\
		return mvm_fail(vcpu->vm, errno, what " of vCPU %u",	\
				vcpu->id);				\
	return 0;							\
}

VCPU_IOCTL(mvm_get_regs, MINIVMM_GET_REGS, struct minivmm_regs *,
	   "reading the registers")
VCPU_IOCTL(mvm_set_regs, MINIVMM_SET_REGS, const struct minivmm_regs *,
	   "setting the registers")
VCPU_IOCTL(mvm_get_sregs, MINIVMM_GET_SREGS, struct minivmm_sregs *,
	   "reading the system registers")
VCPU_IOCTL(mvm_set_sregs, MINIVMM_SET_SREGS, const struct minivmm_sregs *,
	   "setting the system registers")

int mvm_inject_interrupt(struct mvm_vcpu *vcpu, unsigned int vector)
{
	if (ioctl(vcpu->fd, MINIVMM_INJECT_INTERRUPT, vector))
		return mvm_fail(vcpu->vm, errno,
				"injecting vector %u into vCPU %u", vector,
				vcpu->id);
	return 0;
}

int mvm_irq_line(struct mvm *vm, unsigned int pin, int level)
{
	struct minivmm_irq_line l = { .pin = pin, .level = !!level };

	if (ioctl(vm->fd, MINIVMM_IRQ_LINE, &l))
		return mvm_fail(vm, errno, "setting I/O APIC pin %u to %d",
				pin, level);
	return 0;
}

int mvm_read_file(const char *path, void **data, size_t *size)
{
	struct stat st;
	uint8_t *buf;
	size_t done = 0;
	ssize_t n;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mvm_fail(NULL, errno, "%s", path);
	if (fstat(fd, &st)) {
		err = errno;
		close(fd);
		return mvm_fail(NULL, err, "%s", path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return mvm_fail(NULL, 0, "%s: not a regular file", path);
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf) {
		close(fd);
		return mvm_fail(NULL, ENOMEM, "%s", path);
	}
	while (done < (size_t)st.st_size) {
		n = read(fd, buf + done, st.st_size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : EIO;
			free(buf);
			close(fd);
			return mvm_fail(NULL, err, "reading %s", path);
		}
		done += n;
	}
	close(fd);
	*data = buf;
	*size = done;
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

	if (reason < ARRAY_LEN(names) && names[reason])
		return names[reason];
	return "unknown";
}

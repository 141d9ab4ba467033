// SPDX-License-Identifier: GPL-2.0
/*
 * minivmm run --kernel: a Linux kernel (bzImage or vmlinux), its initrd
 * and command line, loaded by libminivmm's mvm_load_linux().
 *
 * The kernel file is mapped, not read: an uncompressed vmlinux is tens
 * of MiB, and the guest's RAM gets a copy of it anyway.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/libminivmm.h"
#include "minivmm.h"
#include "run_linux.h"

static void *map_file(const char *path, size_t *size)
{
	struct stat st;
	void *p;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	if (fstat(fd, &st))
		die("%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		die("%s: not a regular file", path);
	*size = st.st_size;
	if (!st.st_size) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		die("%s: %s", path, strerror(errno));
	close(fd);
	return p;
}

void run_linux_open(struct run_linux *l)
{
	struct mvm_linux_kernel k;

	l->image = map_file(l->kernel, &l->size);
	if (mvm_linux_probe(l->image, l->size, &k))
		die("%s: %s", l->kernel, mvm_strerror(NULL));
	if (l->initrd) {
		l->initrd_data = map_file(l->initrd, &l->initrd_size);
		if (!l->initrd_size)
			die("%s: an empty initrd", l->initrd);
	}
}

void run_linux_load(struct mvm *vm, struct mvm_vcpu *vcpu,
		    const struct run_linux *l, bool trace)
{
	struct mvm_linux_boot boot = {
		.cmdline = l->cmdline, .nr_cpus = l->nr_cpus,
		.initrd = l->initrd_data, .initrd_size = l->initrd_size,
	};

	if (mvm_load_linux(vm, vcpu, l->image, l->size, &boot))
		die("%s: %s", l->kernel, mvm_strerror(vm));
	if (trace)
		fprintf(stderr,
			"trace: %s at %#llx-%#llx, entry %#llx, boot_params %#llx, command line %#llx, initrd %#llx-%#llx, ACPI %#llx-%#llx\n",
			boot.kernel.kind == MVM_LINUX_BZIMAGE ? "bzImage" :
								"vmlinux",
			(unsigned long long)boot.kernel.load_addr,
			(unsigned long long)(boot.kernel.load_addr +
					     boot.kernel.mem_size),
			(unsigned long long)boot.kernel.entry,
			(unsigned long long)boot.params_addr,
			(unsigned long long)boot.params.cmdline_addr,
			(unsigned long long)boot.params.initrd_addr,
			(unsigned long long)(boot.params.initrd_addr +
					     boot.params.initrd_size),
			(unsigned long long)boot.acpi_addr,
			(unsigned long long)(boot.acpi_addr + boot.acpi_size));
	if (l->image)
		munmap(l->image, l->size);
	if (l->initrd_data)
		munmap(l->initrd_data, l->initrd_size);
}

int run_linux_port_in(uint16_t port, uint8_t *v)
{
	switch (port) {
	case MVM_ACPI_SLEEP_STATUS:
		/* Never woken: no wake status to report. */
		*v = 0;
		return 0;
	case MVM_ACPI_SLEEP_CONTROL:
		*v = 0;
		return 0;
	}
	return -1;
}

int run_linux_port_out(uint16_t port, uint8_t v)
{
	if (port == MVM_ACPI_SLEEP_CONTROL && (v & MVM_ACPI_SLP_EN) &&
	    MVM_ACPI_SLP_TYP(v) == MVM_ACPI_SLP_TYP_S5)
		return RUN_LINUX_POWEROFF;
	return -1;
}

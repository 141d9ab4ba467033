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
#include <time.h>
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

/* The register the guest selected at the CMOS index port. */
static uint8_t cmos_index;

static uint8_t bcd(int v)
{
	return (v / 10) << 4 | v % 10;
}

/*
 * A CMOS register: the clock is the host's, in UTC, in BCD and 24-hour
 * mode, never in an update; the rest of the CMOS RAM reads zero.
 */
static uint8_t cmos_read(uint8_t reg)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	switch (reg) {
	case RTC_SECONDS:
		return bcd(tm.tm_sec);
	case RTC_MINUTES:
		return bcd(tm.tm_min);
	case RTC_HOURS:
		return bcd(tm.tm_hour);
	case RTC_DAY_OF_WEEK:
		return bcd(tm.tm_wday + 1);
	case RTC_DAY_OF_MONTH:
		return bcd(tm.tm_mday);
	case RTC_MONTH:
		return bcd(tm.tm_mon + 1);
	case RTC_YEAR:
		return bcd(tm.tm_year % 100);
	case RTC_REG_A:
		return RTC_REG_A_DIVIDER;	/* update-in-progress clear */
	case RTC_REG_B:
		return RTC_REG_B_24H;
	case RTC_REG_D:
		return RTC_REG_D_VALID;
	}
	return 0;
}

int run_linux_port_in(uint16_t port, uint8_t *v)
{
	switch (port) {
	case PORT_CMOS_INDEX:
		/* Write-only on a PC. */
		*v = 0xff;
		return 0;
	case PORT_CMOS_DATA:
		*v = cmos_read(cmos_index);
		return 0;
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
	/* Bit 7 masks NMIs on a PC: there is nothing to mask here. */
	if (port == PORT_CMOS_INDEX)
		cmos_index = v & 0x7f;
	/* The clock and the CMOS RAM are read-only: writes are dropped. */
	if (port == MVM_ACPI_SLEEP_CONTROL && (v & MVM_ACPI_SLP_EN) &&
	    MVM_ACPI_SLP_TYP(v) == MVM_ACPI_SLP_TYP_S5)
		return RUN_LINUX_POWEROFF;
	return -1;
}

uint8_t run_linux_cmos_index(void)
{
	return cmos_index;
}

void run_linux_set_cmos_index(uint8_t index)
{
	cmos_index = index & 0x7f;
}

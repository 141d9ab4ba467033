// SPDX-License-Identifier: GPL-2.0
/*
 * Booting Linux: libminivmm's Linux loader and the tables it makes,
 * called directly (they need no /dev/minivmm: these run on any host),
 * and 'minivmm run --kernel' in a VM.
 *
 * The guest kernel is $MINIVMM_GUEST_VMLINUX, else the compact vmlinux
 * of the machine's own kernel that scripts/testvm puts in the image
 * (/usr/share/minivmm/vmlinux); the tests that boot it skip without it.
 * With the busybox initramfs scripts/testvm puts next to it (its /init
 * is scripts/guest-init.sh) the guest boots to user space, reports, and
 * powers the VM off.
 */
#include <ctype.h>
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "child.h"
#include "minivmm_test.h"
#include "libminivmm.h"

#define GUEST_VMLINUX	"/usr/share/minivmm/vmlinux"
/* The busybox initramfs of scripts/vmimage.py's build_guest_initrd(). */
#define GUEST_INITRD	"/usr/share/minivmm/guest-initrd.cpio"
/* Only with scripts/testvm --guest-bzimage: it costs a minute. */
#define GUEST_BZIMAGE	"/usr/share/minivmm/bzImage"
#define MIB		(1ULL << 20)
#define GIB		(1ULL << 30)
#define ACPI_BUF	4096
/* Exit statuses of 'minivmm run'. */
#define ST_TIMEOUT	124
#define ST_TOOL		125
/* Guest RAM for the boot: the vmlinux ends at 74 MiB. */
#define BOOT_MEM	"96M"
#define BOOT_TIMEOUT	"200"
/* The early serial console, and a parameter to find in the echo. */
#define BOOT_CMDLINE	"console=ttyS0 earlyprintk=serial,ttyS0,115200 " \
			"minivmm_test_marker=42"

/* ---- reading the tables ---------------------------------------------- */

static uint8_t sum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len--)
		s += *b++;
	return s;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The table at guest address @addr of tables built at @gpa in @buf. */
static const uint8_t *table_at(const uint8_t *buf, uint64_t gpa, int len,
			       uint64_t addr)
{
	if (addr < gpa || addr - gpa + 36 > (uint64_t)len)
		return NULL;
	if (addr - gpa + get32(buf + addr - gpa + 4) > (uint64_t)len)
		return NULL;
	return buf + addr - gpa;
}

/* The table with @sig that the XSDT lists, or NULL. */
static const uint8_t *find_table(const uint8_t *buf, uint64_t gpa, int len,
				 const char *sig)
{
	const uint8_t *xsdt = table_at(buf, gpa, len, get64(buf + 24));
	const uint8_t *t;
	uint32_t i;

	if (!xsdt)
		return NULL;
	for (i = 36; i + 8 <= get32(xsdt + 4); i += 8) {
		t = table_at(buf, gpa, len, get64(xsdt + i));
		if (t && !memcmp(t, sig, 4))
			return t;
	}
	return NULL;
}

struct madt_count {
	unsigned int lapics, enabled, ioapics, overrides, nmis;
	unsigned int bad;		/* entries past the end, zero length */
	uint32_t ioapic_addr, ioapic_gsi;
	uint8_t ioapic_id;
	uint8_t irq0_gsi;
	bool ids_in_order;
};

static void count_madt(const uint8_t *madt, struct madt_count *c)
{
	uint32_t len = get32(madt + 4), off = 44;

	memset(c, 0, sizeof(*c));
	c->ids_in_order = true;
	while (off + 2 <= len) {
		const uint8_t *e = madt + off;

		if (e[1] < 2 || off + e[1] > len) {
			c->bad++;
			break;
		}
		switch (e[0]) {
		case 0:
			if (e[3] != c->lapics || e[2] != c->lapics)
				c->ids_in_order = false;
			c->lapics++;
			c->enabled += get32(e + 4) & 1;
			break;
		case 1:
			c->ioapics++;
			c->ioapic_id = e[2];
			c->ioapic_addr = get32(e + 4);
			c->ioapic_gsi = get32(e + 8);
			break;
		case 2:
			c->overrides++;
			if (e[3] == 0)
				c->irq0_gsi = get32(e + 4);
			break;
		case 4:
			c->nmis++;
			break;
		}
		off += e[1];
	}
}

/* ---- ACPI -------------------------------------------------------------- */

TEST(acpi_rsdp_found_and_checksums_right)
{
	uint8_t buf[ACPI_BUF];
	const uint8_t *t;
	const char *const sigs[] = { "FACP", "APIC" };
	unsigned int i;
	int len;

	len = mvm_acpi_tables(buf, sizeof(buf), MVM_ACPI_ADDR, 2);
	ASSERT_LT(0, len);
	ASSERT_EQ(0, memcmp(buf, "RSD PTR ", 8));
	EXPECT_EQ(0, sum(buf, 20));
	EXPECT_EQ(2, buf[15]);			/* revision */
	EXPECT_EQ(36, get32(buf + 20));		/* length */
	EXPECT_EQ(0, sum(buf, 36));

	t = table_at(buf, MVM_ACPI_ADDR, len, get64(buf + 24));
	ASSERT_NE(NULL, t);
	EXPECT_EQ(0, memcmp(t, "XSDT", 4));
	EXPECT_EQ(0, sum(t, get32(t + 4)));
	t = table_at(buf, MVM_ACPI_ADDR, len, get32(buf + 16));
	ASSERT_NE(NULL, t);
	EXPECT_EQ(0, memcmp(t, "RSDT", 4));
	EXPECT_EQ(0, sum(t, get32(t + 4)));

	for (i = 0; i < 2; i++) {
		t = find_table(buf, MVM_ACPI_ADDR, len, sigs[i]);
		ASSERT_NE(NULL, t) TH_LOG("no %s in the XSDT", sigs[i]);
		EXPECT_EQ(0, sum(t, get32(t + 4)))
			TH_LOG("%s checksum", sigs[i]);
	}
	/* The DSDT, through the FADT's X_DSDT (and its 32-bit DSDT). */
	t = find_table(buf, MVM_ACPI_ADDR, len, "FACP");
	ASSERT_NE(NULL, t);
	EXPECT_EQ(get32(t + 40), get64(t + 140));
	t = table_at(buf, MVM_ACPI_ADDR, len, get64(t + 140));
	ASSERT_NE(NULL, t);
	EXPECT_EQ(0, memcmp(t, "DSDT", 4));
	EXPECT_EQ(0, sum(t, get32(t + 4)));
	EXPECT_NE(NULL, memmem(t + 36, get32(t + 4) - 36, "_S5_", 4));
}

/*
 * The DSDT lists the UART (Linux has no ISA IRQ 4 without a legacy PIC):
 * a 16550 (PNP0501) at ports 0x3f8-0x3ff on IRQ 4, inside \_SB, in AML
 * whose package lengths add up.
 */
TEST(acpi_dsdt_lists_com1_with_its_ports_and_irq4)
{
	static const uint8_t eisa_pnp0501[] = { 0x0c, 0x41, 0xd0, 0x05, 0x01 };
	static const uint8_t io[] = { 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03,
				      0x00, 0x08 };
	static const uint8_t irq4[] = { 0x22, 0x10, 0x00, 0x79 };
	uint8_t buf[ACPI_BUF];
	const uint8_t *t, *aml, *scope, *dev, *end;
	int len;

	len = mvm_acpi_tables(buf, sizeof(buf), MVM_ACPI_ADDR, 1);
	ASSERT_LT(0, len);
	t = find_table(buf, MVM_ACPI_ADDR, len, "FACP");
	ASSERT_NE(NULL, t);
	t = table_at(buf, MVM_ACPI_ADDR, len, get64(t + 140));
	ASSERT_NE(NULL, t);
	aml = t + 36;
	end = t + get32(t + 4);
	scope = memmem(aml, end - aml, "\x10", 1);
	ASSERT_NE(NULL, scope);
	ASSERT_EQ(0, memcmp(scope + 2, "\\_SB_", 5));
	/* One-byte package lengths: each ends where the table ends. */
	EXPECT_EQ(end, scope + 1 + scope[1]);
	dev = scope + 7;
	ASSERT_EQ(0, memcmp(dev, "\x5b\x82", 2));
	EXPECT_EQ(end, dev + 2 + dev[2]);
	EXPECT_EQ(0, memcmp(dev + 3, "COM1", 4));
	EXPECT_NE(NULL, memmem(dev, end - dev, eisa_pnp0501,
			       sizeof(eisa_pnp0501)));
	EXPECT_NE(NULL, memmem(dev, end - dev, io, sizeof(io)));
	EXPECT_NE(NULL, memmem(dev, end - dev, irq4, sizeof(irq4)));
}

/* A PkgLength at @p: the bytes it counts (itself included). */
static size_t aml_pkg_len(const uint8_t *p)
{
	unsigned int n = p[0] >> 6, i;
	size_t len;

	if (!n)
		return p[0] & 0x3f;
	len = p[0] & 0xf;
	for (i = 1; i <= n; i++)
		len |= (size_t)p[i] << (4 + 8 * (i - 1));
	return len;
}

/*
 * mvm_acpi_tables_devices(): the virtio-mmio device of --virtio-console
 * in a Scope (\_SB) after the UART's, whose (two-byte) package length
 * ends at the table's end, with its _HID, window and edge interrupt.
 */
TEST(acpi_dsdt_lists_a_virtio_mmio_device)
{
	static const uint8_t hid[] = "\x0dLNRO0005";
	static const uint8_t mem[] = { 0x86, 0x09, 0x00, 0x01, 0x00, 0x00,
				       0x00, 0xd0, 0x00, 0x02, 0x00, 0x00 };
	/* Extended interrupt: consumer, edge, active high; GSI 16. */
	static const uint8_t irq[] = { 0x89, 0x06, 0x00, 0x03, 0x01,
				       0x10, 0x00, 0x00, 0x00, 0x79 };
	const struct mvm_acpi_device dev = {
		.name = "VCON", .hid = "LNRO0005", .addr = 0xd0000000,
		.size = 0x200, .gsi = 16,
	};
	struct mvm_acpi_device bad = dev;
	static uint8_t buf[ACPI_BUF], plain[ACPI_BUF];
	const uint8_t *t, *aml, *end, *scope;
	size_t rest;
	int len;

	len = mvm_acpi_tables_devices(buf, sizeof(buf), MVM_ACPI_ADDR, 1,
				      &dev, 1);
	ASSERT_LT(0, len);
	t = find_table(buf, MVM_ACPI_ADDR, len, "FACP");
	ASSERT_NE(NULL, t);
	t = table_at(buf, MVM_ACPI_ADDR, len, get64(t + 140));
	ASSERT_NE(NULL, t);
	EXPECT_EQ(0, sum(t, get32(t + 4)));
	rest = get32(t + 4);
	ASSERT_LT(36, rest);
	aml = t + 36;
	end = t + rest;
	/* The UART's scope first, then the device's. */
	scope = memmem(aml, rest - 36, "\x10", 1);
	ASSERT_NE(NULL, scope);
	scope += 1 + scope[1];
	ASSERT_GT(end, scope);
	ASSERT_EQ(0x10, scope[0]);
	EXPECT_EQ(end, scope + 1 + aml_pkg_len(scope + 1));
	EXPECT_EQ(0, memcmp(scope + 3, "\\_SB_\x5b\x82", 7));
	rest = (size_t)(end - scope);
	EXPECT_NE(NULL, memmem(scope, rest, "VCON", 4));
	EXPECT_NE(NULL, memmem(scope, rest, hid, sizeof(hid)));
	EXPECT_NE(NULL, memmem(scope, rest, mem, sizeof(mem)));
	EXPECT_NE(NULL, memmem(scope, rest, irq, sizeof(irq)));
	/* No device: the tables of mvm_acpi_tables(), byte for byte. */
	len = mvm_acpi_tables_devices(buf, sizeof(buf), MVM_ACPI_ADDR, 1,
				      NULL, 0);
	ASSERT_LT(0, len);
	ASSERT_EQ(len, mvm_acpi_tables(plain, sizeof(plain), MVM_ACPI_ADDR,
				       1));
	EXPECT_EQ(0, memcmp(buf, plain, len));
	/* Bad devices are refused with a message. */
	bad.name = "vcon";
	EXPECT_EQ(-EINVAL, mvm_acpi_tables_devices(buf, sizeof(buf),
						   MVM_ACPI_ADDR, 1, &bad, 1));
	EXPECT_NE(NULL, strstr(mvm_strerror(NULL), "vcon"));
	bad = dev;
	bad.size = 0;
	EXPECT_EQ(-EINVAL, mvm_acpi_tables_devices(buf, sizeof(buf),
						   MVM_ACPI_ADDR, 1, &bad, 1));
	bad = dev;
	bad.hid = "LNRO00050";
	EXPECT_EQ(-EINVAL, mvm_acpi_tables_devices(buf, sizeof(buf),
						   MVM_ACPI_ADDR, 1, &bad, 1));
	EXPECT_EQ(-EINVAL, mvm_acpi_tables_devices(buf, sizeof(buf),
						   MVM_ACPI_ADDR, 1, &dev,
						   MVM_ACPI_MAX_DEVICES + 1));
}

TEST(acpi_madt_describes_cpus_ioapic_and_irq0)
{
	const unsigned int cpus[] = { 1, 2, 16, 255 };
	static uint8_t buf[ACPI_BUF];
	struct madt_count c;
	const uint8_t *madt;
	unsigned int i;
	int len;

	for (i = 0; i < ARRAY_SIZE(cpus); i++) {
		len = mvm_acpi_tables(buf, sizeof(buf), MVM_ACPI_ADDR,
				      cpus[i]);
		ASSERT_LT(0, len);
		madt = find_table(buf, MVM_ACPI_ADDR, len, "APIC");
		ASSERT_NE(NULL, madt);
		EXPECT_EQ(0, sum(madt, get32(madt + 4)));
		EXPECT_EQ(MVM_LAPIC_ADDR, get32(madt + 36));
		count_madt(madt, &c);
		EXPECT_EQ(0, c.bad);
		EXPECT_EQ(cpus[i], c.lapics);
		EXPECT_EQ(cpus[i], c.enabled);
		EXPECT_TRUE(c.ids_in_order);
		EXPECT_EQ(1, c.ioapics);
		EXPECT_EQ(MVM_IOAPIC_ADDR, c.ioapic_addr);
		EXPECT_EQ(0, c.ioapic_gsi);
		/* Its ID is none of the CPUs'. */
		EXPECT_LE(cpus[i], c.ioapic_id);
		EXPECT_EQ(1, c.overrides);
		EXPECT_EQ(2, c.irq0_gsi);
		EXPECT_EQ(1, c.nmis);
	}
}

TEST(acpi_fadt_hardware_reduced_with_sleep_and_reset_registers)
{
	uint8_t buf[ACPI_BUF];
	const uint8_t *f;
	int len;

	len = mvm_acpi_tables(buf, sizeof(buf), MVM_ACPI_ADDR, 1);
	ASSERT_LT(0, len);
	f = find_table(buf, MVM_ACPI_ADDR, len, "FACP");
	ASSERT_NE(NULL, f);
	EXPECT_EQ(276, get32(f + 4));
	EXPECT_EQ(6, f[8]);
	EXPECT_TRUE(get32(f + 112) & (1U << 20));	/* HW_REDUCED_ACPI */
	EXPECT_TRUE(get32(f + 112) & (1U << 10));	/* RESET_REG_SUP */
	/* RESET_REG: system I/O, 8 bits, the port; RESET_VALUE. */
	EXPECT_EQ(1, f[116]);
	EXPECT_EQ(8, f[117]);
	EXPECT_EQ(MVM_ACPI_RESET_PORT, get64(f + 120));
	EXPECT_EQ(MVM_ACPI_RESET_VALUE, f[128]);
	/* SLEEP_CONTROL_REG and SLEEP_STATUS_REG. */
	EXPECT_EQ(1, f[244]);
	EXPECT_EQ(8, f[245]);
	EXPECT_EQ(MVM_ACPI_SLEEP_CONTROL, get64(f + 248));
	EXPECT_EQ(1, f[256]);
	EXPECT_EQ(MVM_ACPI_SLEEP_STATUS, get64(f + 260));
	/* No PM timer, no PM1 blocks, no SCI. */
	EXPECT_EQ(0, get32(f + 76));
	EXPECT_EQ(0, get32(f + 64));
	EXPECT_EQ(0, f[46] | f[47] << 8);
}

TEST(acpi_bad_cpu_counts_and_small_buffer_refused)
{
	uint8_t buf[ACPI_BUF];

	EXPECT_EQ(-EINVAL, mvm_acpi_tables(buf, sizeof(buf), MVM_ACPI_ADDR, 0));
	EXPECT_NE(NULL, strstr(mvm_strerror(NULL), "0 CPUs"));
	EXPECT_EQ(-EINVAL,
		  mvm_acpi_tables(buf, sizeof(buf), MVM_ACPI_ADDR, 256));
	EXPECT_EQ(-EINVAL,
		  mvm_acpi_tables(buf, sizeof(buf), MVM_ACPI_ADDR + 8, 1));
	EXPECT_EQ(-E2BIG, mvm_acpi_tables(buf, 100, MVM_ACPI_ADDR, 1));
}

/* ---- e820 ---------------------------------------------------------------- */

static uint64_t ram_in(const struct mvm_e820_entry *map, unsigned int n)
{
	uint64_t ram = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		if (map[i].type == MVM_E820_RAM)
			ram += map[i].size;
	return ram;
}

TEST(e820_map_is_ram_with_the_bios_hole_reserved)
{
	struct mvm_e820_entry map[8];
	unsigned int n, i;

	n = mvm_linux_e820(96 * MIB, map, 8);
	ASSERT_EQ(3, n);
	EXPECT_EQ(0, map[0].addr);
	EXPECT_EQ(MVM_LINUX_LOW_END, map[0].size);
	EXPECT_EQ(MVM_E820_RAM, map[0].type);
	EXPECT_EQ(MVM_LINUX_LOW_END, map[1].addr);
	EXPECT_EQ(MVM_BIOS_END, map[1].addr + map[1].size);
	EXPECT_EQ(MVM_E820_RESERVED, map[1].type);
	/* The ACPI tables are in the reserved part. */
	EXPECT_LE(map[1].addr, MVM_ACPI_ADDR);
	EXPECT_GE(map[1].addr + map[1].size, MVM_ACPI_ADDR + MVM_ACPI_SIZE);
	EXPECT_EQ(MVM_BIOS_END, map[2].addr);
	EXPECT_EQ(96 * MIB, map[2].addr + map[2].size);
	EXPECT_EQ(MVM_E820_RAM, map[2].type);
	EXPECT_EQ(96 * MIB - (MVM_BIOS_END - MVM_LINUX_LOW_END),
		  ram_in(map, n));
	for (i = 1; i < n; i++)
		EXPECT_EQ(map[i - 1].addr + map[i - 1].size, map[i].addr);
}

TEST(e820_map_continues_at_4g_above_3g)
{
	struct mvm_e820_entry map[8];
	unsigned int n;

	n = mvm_linux_e820(5 * GIB, map, 8);
	ASSERT_EQ(4, n);
	EXPECT_EQ(MVM_LOW_RAM_MAX, map[2].addr + map[2].size);
	EXPECT_EQ(MVM_HIGH_RAM_BASE, map[3].addr);
	EXPECT_EQ(2 * GIB, map[3].size);
	EXPECT_EQ(MVM_E820_RAM, map[3].type);
	/* Small RAM: one entry; and never more than asked for. */
	EXPECT_EQ(1, mvm_linux_e820(512 << 10, map, 8));
	EXPECT_EQ(512 << 10, map[0].size);
	EXPECT_EQ(2, mvm_linux_e820(5 * GIB, map, 2));
}

/* ---- kernels ------------------------------------------------------------- */

/* A bzImage's first sectors: the setup header of Debian's 6.1, no code. */
#define FAKE_SETUP_SECTS	4
#define FAKE_KERNEL		(64 << 10)
#define FAKE_SIZE		((FAKE_SETUP_SECTS + 1) * 512 + FAKE_KERNEL)
#define FAKE_INIT_SIZE		(32 * MIB)

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static uint8_t *fake_bzimage(void)
{
	uint8_t *b = calloc(1, FAKE_SIZE);

	if (!b)
		return NULL;
	b[0x1f1] = FAKE_SETUP_SECTS;
	put32(b + 0x1f4, FAKE_KERNEL / 16);	/* syssize */
	put16(b + 0x1fe, 0xaa55);
	b[0x200] = 0xeb;			/* jmp to the header's end */
	b[0x201] = 0x6a;
	memcpy(b + 0x202, "HdrS", 4);
	put16(b + 0x206, 0x020f);
	b[0x211] = 0x01;			/* LOADED_HIGH */
	put32(b + 0x214, 0x100000);
	put32(b + 0x22c, 0x7fffffff);		/* initrd_addr_max */
	put32(b + 0x230, 0x200000);		/* kernel_alignment */
	b[0x234] = 1;				/* relocatable */
	put16(b + 0x236, 0x7f);			/* xloadflags */
	put32(b + 0x238, 2047);			/* cmdline_size */
	put64(b + 0x258, 0x1000000);		/* pref_address */
	put32(b + 0x260, FAKE_INIT_SIZE);
	return b;
}

TEST(probe_finds_bzimage_layout)
{
	struct mvm_linux_kernel k;
	uint8_t *b = fake_bzimage();

	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, mvm_linux_probe(b, FAKE_SIZE, &k));
	EXPECT_EQ(MVM_LINUX_BZIMAGE, k.kind);
	EXPECT_EQ(0x020f, k.version);
	EXPECT_EQ(0x1000000, k.load_addr);
	EXPECT_EQ(0x1000200, k.entry);		/* the 64-bit entry */
	EXPECT_EQ(FAKE_INIT_SIZE, k.mem_size);
	EXPECT_EQ((FAKE_SETUP_SECTS + 1) * 512, k.setup_size);
	EXPECT_EQ(0x7fffffff, k.initrd_max);
	EXPECT_EQ(2047, k.cmdline_max);
	free(b);
}

TEST(probe_refuses_empty_file)
{
	struct mvm_linux_kernel k;

	EXPECT_EQ(-EINVAL, mvm_linux_probe("", 0, &k));
	EXPECT_NE(NULL, strstr(mvm_strerror(NULL), "empty file"));
}

TEST(probe_refuses_elf_that_is_no_kernel)
{
	struct mvm_linux_kernel k;
	struct stat st;
	void *p;
	int fd;

	/* This test: an x86-64 ELF file with GNU's notes, not Linux's. */
	fd = open("/proc/self/exe", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &st));
	p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-EINVAL, mvm_linux_probe(p, st.st_size, &k));
	EXPECT_NE(NULL, strstr(mvm_strerror(NULL), "not a Linux kernel"))
		TH_LOG("%s", mvm_strerror(NULL));
	munmap(p, st.st_size);
}

TEST(probe_refuses_file_that_is_no_kernel)
{
	struct mvm_linux_kernel k;
	char text[1024];

	memset(text, 'x', sizeof(text));
	EXPECT_EQ(-EINVAL, mvm_linux_probe(text, sizeof(text), &k));
	EXPECT_NE(NULL, strstr(mvm_strerror(NULL), "not a Linux kernel"));
}

TEST(probe_refuses_truncated_bzimage)
{
	struct mvm_linux_kernel k;
	uint8_t *b = fake_bzimage();

	ASSERT_NE(NULL, b);
	/* The protected-mode kernel cut short, then the header itself. */
	EXPECT_EQ(-EINVAL, mvm_linux_probe(b, FAKE_SIZE - 16, &k));
	EXPECT_NE(NULL, strstr(mvm_strerror(NULL), "truncated bzImage"));
	EXPECT_EQ(-EINVAL, mvm_linux_probe(b, 0x240, &k));
	EXPECT_NE(NULL, strstr(mvm_strerror(NULL), "truncated bzImage"));
	EXPECT_EQ(-EINVAL, mvm_linux_probe(b, 0x200, &k));
	EXPECT_NE(NULL, strstr(mvm_strerror(NULL), "truncated bzImage"));
	free(b);
}

TEST(probe_refuses_old_protocol_and_32_bit_only_bzimage)
{
	struct mvm_linux_kernel k;
	uint8_t *b = fake_bzimage();

	ASSERT_NE(NULL, b);
	put16(b + 0x206, 0x020b);
	EXPECT_EQ(-EINVAL, mvm_linux_probe(b, FAKE_SIZE, &k));
	EXPECT_NE(NULL, strstr(mvm_strerror(NULL), "2.12 or later"));
	put16(b + 0x206, 0x020f);
	put16(b + 0x236, 0);
	EXPECT_EQ(-EINVAL, mvm_linux_probe(b, FAKE_SIZE, &k));
	EXPECT_NE(NULL, strstr(mvm_strerror(NULL), "64-bit entry"));
	free(b);
}

TEST(boot_params_of_bzimage)
{
	struct mvm_linux_params p = {
		.mem_size = 96 * MIB, .cmdline_addr = MVM_LINUX_CMDLINE_ADDR,
		.cmdline_len = 12, .initrd_addr = 0x5000000,
		.initrd_size = 0x123456, .rsdp_addr = MVM_ACPI_ADDR,
	};
	struct mvm_linux_kernel k;
	struct mvm_e820_entry e;
	uint8_t *b = fake_bzimage();
	uint8_t bp[4096];

	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, mvm_linux_probe(b, FAKE_SIZE, &k));
	memset(bp, 0xcc, sizeof(bp));
	ASSERT_EQ(0, mvm_linux_boot_params(bp, b, FAKE_SIZE, &k, &p));
	/* The kernel's own header, with what the loader fills in. */
	EXPECT_EQ(0, memcmp(bp + 0x1f1, b + 0x1f1, 0x1fa - 0x1f1));
	EXPECT_EQ(0, memcmp(bp + 0x1fc, b + 0x1fc, 0x210 - 0x1fc));
	EXPECT_EQ(0, memcmp(bp + 0x22c, b + 0x22c, 0x26c - 0x22c));
	EXPECT_EQ(0xff, bp[0x210]);		/* type_of_loader */
	EXPECT_EQ(0xffff, bp[0x1fa] | bp[0x1fb] << 8);	/* vid_mode */
	EXPECT_EQ(MVM_LINUX_CMDLINE_ADDR, get32(bp + 0x228));
	EXPECT_EQ(0x5000000, get32(bp + 0x218));
	EXPECT_EQ(0x123456, get32(bp + 0x21c));
	EXPECT_EQ(0, get32(bp + 0xc0));		/* ext_ramdisk_image */
	EXPECT_EQ(MVM_ACPI_ADDR, get64(bp + 0x70));	/* acpi_rsdp_addr */
	/* screen_info and the sentinel: zero. */
	EXPECT_EQ(0, sum(bp, 0x40));
	EXPECT_EQ(0, bp[0x1ef]);
	EXPECT_EQ(3, bp[0x1e8]);
	memcpy(&e, bp + 0x2d0 + 2 * sizeof(e), sizeof(e));
	EXPECT_EQ(MVM_BIOS_END, e.addr);
	EXPECT_EQ(96 * MIB, e.addr + e.size);
	EXPECT_EQ(MVM_E820_RAM, e.type);
	free(b);
}

TEST(boot_params_refuse_long_cmdline_and_high_initrd)
{
	struct mvm_linux_params p = {
		.mem_size = 96 * MIB, .cmdline_addr = MVM_LINUX_CMDLINE_ADDR,
		.cmdline_len = 2048,
	};
	struct mvm_linux_kernel k;
	uint8_t *b = fake_bzimage();
	uint8_t bp[4096];

	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, mvm_linux_probe(b, FAKE_SIZE, &k));
	EXPECT_EQ(-EINVAL, mvm_linux_boot_params(bp, b, FAKE_SIZE, &k, &p));
	EXPECT_NE(NULL, strstr(mvm_strerror(NULL), "command line"));
	p.cmdline_len = 0;
	p.initrd_addr = 0x7ffff000;
	p.initrd_size = 0x2000;
	EXPECT_EQ(-EINVAL, mvm_linux_boot_params(bp, b, FAKE_SIZE, &k, &p));
	EXPECT_NE(NULL, strstr(mvm_strerror(NULL), "initrd"));
	free(b);
}

/* ---- the guest kernel ------------------------------------------------- */

static const char *guest_file(const char *var, const char *path)
{
	const char *env = getenv(var);

	if (env && *env)
		return env;
	return access(path, R_OK) ? NULL : path;
}

static const char *guest_vmlinux(void)
{
	return guest_file("MINIVMM_GUEST_VMLINUX", GUEST_VMLINUX);
}

static const char *guest_initrd(void)
{
	return guest_file("MINIVMM_GUEST_INITRD", GUEST_INITRD);
}

static const char *guest_bzimage(void)
{
	return guest_file("MINIVMM_GUEST_BZIMAGE", GUEST_BZIMAGE);
}

/* A vmlinux's ELF entry: phys_startup_64, a physical address already. */
static uint64_t elf_entry(const void *img)
{
	return ((const Elf64_Ehdr *)img)->e_entry;
}

TEST(vmlinux_probed_with_its_64_bit_entry_and_boot_params)
{
	struct mvm_linux_params p = { .mem_size = 96 * MIB };
	const char *path = guest_vmlinux();
	struct mvm_linux_kernel k;
	uint8_t bp[4096];
	size_t size;
	void *img;

	if (!path)
		SKIP(return, "no guest vmlinux (%s)", GUEST_VMLINUX);
	ASSERT_EQ(0, mvm_read_file(path, &img, &size));
	ASSERT_EQ(0, mvm_linux_probe(img, size, &k))
		TH_LOG("%s", mvm_strerror(NULL));
	EXPECT_EQ(MVM_LINUX_VMLINUX, k.kind);
	/*
	 * Debian's load at LOAD_PHYSICAL_ADDR; the entry is the ELF's
	 * (6.1's startup_64 is the first byte, 6.12's is not).
	 */
	EXPECT_EQ(0x1000000, k.load_addr);
	EXPECT_EQ(elf_entry(img), k.entry);
	EXPECT_LE(0x1000000, k.entry);
	ASSERT_EQ(0, mvm_linux_boot_params(bp, img, size, &k, &p));
	EXPECT_EQ(0xaa55, bp[0x1fe] | bp[0x1ff] << 8);
	EXPECT_EQ(0, memcmp(bp + 0x202, "HdrS", 4));
	EXPECT_EQ(0xff, bp[0x210]);
	EXPECT_TRUE(bp[0x236] & 1);		/* XLF_KERNEL_64 */
	free(img);
}

TEST(bzimage_probed_with_its_setup_header)
{
	struct mvm_linux_params p = { .mem_size = 96 * MIB };
	const char *path = guest_bzimage();
	struct mvm_linux_kernel k;
	uint8_t bp[4096];
	size_t size;
	void *img;

	if (!path)
		SKIP(return, "no guest bzImage (%s)", GUEST_BZIMAGE);
	ASSERT_EQ(0, mvm_read_file(path, &img, &size));
	ASSERT_EQ(0, mvm_linux_probe(img, size, &k))
		TH_LOG("%s", mvm_strerror(NULL));
	EXPECT_EQ(MVM_LINUX_BZIMAGE, k.kind);
	EXPECT_LE(0x020c, k.version);
	EXPECT_EQ(0x1000000, k.load_addr);
	EXPECT_EQ(0x1000200, k.entry);
	/* Room to decompress the kernel in place: more than the file. */
	EXPECT_LT(size, k.mem_size);
	ASSERT_EQ(0, mvm_linux_boot_params(bp, img, size, &k, &p));
	EXPECT_EQ(0, memcmp(bp + 0x202, "HdrS", 4));
	EXPECT_EQ(0xff, bp[0x210]);
	free(img);
}

/* ---- minivmm run --kernel -------------------------------------------- */

/* The tool: $MINIVMM, else minivmm in PATH. */
static const char *tool_path(void)
{
	const char *env = getenv("MINIVMM");

	return env && *env ? env : "minivmm";
}

/*
 * Longer than any --timeout the tests give the tool, which ends its
 * runs first: a bound for a tool that does not.
 */
#define TOOL_WAIT_S	(600 * timeout_scale())

/* Run the tool to its end with its output in @r. */
static int tool(struct child *r, const char *const *args)
{
	int ret = child_start(r, tool_path(), false, args);

	if (ret)
		return ret;
	child_finish(r, TOOL_WAIT_S * 1000);
	return 0;
}

#define TOOL(r, ...)	tool(r, (const char *const []){ __VA_ARGS__, NULL })

static unsigned int lines(const char *s)
{
	unsigned int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* One line on stderr saying @needle, status 125, nothing on stdout. */
static void expect_tool_error(struct __test_metadata *_metadata,
			      const struct child *r, const char *needle)
{
	EXPECT_EQ(ST_TOOL, r->status);
	EXPECT_EQ(1, lines(r->ebuf));
	EXPECT_NE(NULL, strstr(r->ebuf, needle))
		TH_LOG("stderr: %s", r->ebuf);
	EXPECT_EQ(0, r->obuf[0]);
}

#define EXPECT_TOOL_ERROR(r, needle) expect_tool_error(_metadata, r, needle)

static struct child r;

TEST(run_kernel_refuses_empty_and_non_kernel_files)
{
	char empty[] = "/tmp/linux_boot_test.empty";
	int fd;

	REQUIRE_VMX();
	fd = open(empty, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, TOOL(&r, "run", "--kernel", empty));
	EXPECT_TOOL_ERROR(&r, "an empty file is not a Linux kernel");
	unlink(empty);
	ASSERT_EQ(0, TOOL(&r, "run", "--kernel", "/proc/self/exe"));
	EXPECT_TOOL_ERROR(&r, "not a Linux kernel");
}

TEST(run_virtio_console_needs_kernel)
{
	REQUIRE_VMX();
	ASSERT_EQ(0, TOOL(&r, "run", "--virtio-console", "/proc/self/exe"));
	EXPECT_TOOL_ERROR(&r, "--virtio-console needs --kernel");
}

TEST(run_kernel_too_large_for_mem)
{
	const char *path = guest_vmlinux();

	REQUIRE_VMX();
	if (!path)
		SKIP(return, "no guest vmlinux (%s)", GUEST_VMLINUX);
	ASSERT_EQ(0, TOOL(&r, "run", "--mem", "32M", "--kernel", path));
	EXPECT_TOOL_ERROR(&r, "more than the VM's 32 MiB");
}

TEST(run_kernel_missing_initrd)
{
	const char *path = guest_vmlinux();

	REQUIRE_VMX();
	if (!path)
		SKIP(return, "no guest vmlinux (%s)", GUEST_VMLINUX);
	ASSERT_EQ(0, TOOL(&r, "run", "--mem", BOOT_MEM, "--kernel", path,
			  "--initrd", "/nonexistent/initrd"));
	EXPECT_TOOL_ERROR(&r, "/nonexistent/initrd: No such file");
}

/* A whole line of @buf that starts with @what, or NULL. */
static const char *whole_line(const char *buf, const char *what)
{
	const char *p = strstr(buf, what);

	return p && strchr(p, '\n') ? p : NULL;
}

/*
 * What run_tool() does while the tool's stdout comes in: write @input to
 * its stdin once @prompt was printed (with @prompt "", at once; with
 * @prompt NULL, stdin is /dev/null); send it SIGUSR1 once @usr1 was
 * printed; stop it with SIGINT once the whole lines @stop1 and @stop2
 * were printed (with @stop1 NULL, let it end by itself).
 */
struct tool_watch {
	const char *prompt, *input;
	const char *usr1;
	const char *stop1, *stop2;
};

/*
 * Run the tool with @args to its end, its stdout in @r->obuf and stderr
 * in @r->ebuf, its exit status in @r->status. The tool's own --timeout
 * bounds the run.
 */
static int run_tool(struct child *r, const struct tool_watch *w,
		    const char *const *args)
{
	bool sent = false, stopped = false, signalled = false;
	time_t end = time(NULL) + TOOL_WAIT_S;
	int ret;

	ret = child_start(r, tool_path(), !!w->prompt, args);
	if (ret)
		return ret;
	/* The tool's --timeout bounds this: its output ends when it does. */
	do {
		if (w->prompt && !sent && strstr(r->obuf, w->prompt)) {
			sent = write(r->in, w->input, strlen(w->input)) ==
			       (ssize_t)strlen(w->input);
		}
		if (w->usr1 && !signalled && strstr(r->obuf, w->usr1)) {
			kill(r->pid, SIGUSR1);
			signalled = true;
		}
		if (w->stop1 && !stopped && whole_line(r->obuf, w->stop1) &&
		    whole_line(r->obuf, w->stop2)) {
			kill(r->pid, SIGINT);
			stopped = true;
		}
	} while (child_pump(r, 1000) && time(NULL) < end);
	child_finish(r, 10000);
	return 0;
}

/*
 * Run the tool until both lines were printed on its stdout, then stop
 * it with SIGINT (or until it ends by itself, at its own --timeout).
 */
static int boot_until(struct child *r, const char *line1, const char *line2,
		      const char *const *args)
{
	const struct tool_watch w = { .stop1 = line1, .stop2 = line2 };

	return run_tool(r, &w, args);
}

/*
 * Debian's own kernel, unmodified, through the vmlinux path: its banner
 * and the command line it was given reach the tool's stdout through the
 * early serial console; the test stops it there (without a timer the
 * guest would stop a little later anyway).
 */
TEST(run_vmlinux_prints_linux_banner_and_cmdline)
{
	const char *path = guest_vmlinux();
	const char *echo;
	char want[256];

	REQUIRE_VMX();
	if (!path)
		SKIP(return, "no guest vmlinux (%s)", GUEST_VMLINUX);
	snprintf(want, sizeof(want), "Command line: %s", BOOT_CMDLINE);
	ASSERT_EQ(0, boot_until(&r, "Linux version 6.", "Command line: ",
				(const char *const []){
					"run", "--timeout", BOOT_TIMEOUT,
					"--mem", BOOT_MEM, "--kernel", path,
					"--cmdline", BOOT_CMDLINE, NULL }));
	EXPECT_NE(NULL, strstr(r.obuf, "Linux version 6."))
		TH_LOG("status %d, stdout: %.2000s\nstderr: %s", r.status,
		       r.obuf, r.ebuf);
	/* The whole command line, as given: the line ends after it. */
	echo = strstr(r.obuf, want);
	ASSERT_NE(NULL, echo);
	echo += strlen(want);
	EXPECT_TRUE(*echo == '\r' || *echo == '\n');
	/* Stopped by the test's SIGINT, not by a failure or a timeout. */
	EXPECT_EQ(128 + SIGINT, r.status);
}

/*
 * The boot to the guest's /init: 'quiet' (every console byte is an exit
 * to the tool), no crypto self-tests, no read-only kernel data (whose
 * check of the page tables for W+X costs 3 s of a 7 s boot) and no
 * speculation mitigations keep it short; there is no PCI (no
 * configuration space to find); panic=-1 makes a panic a reset (exit
 * status 4) instead of a hang.
 */
#define INIT_CMDLINE	"console=ttyS0 quiet cryptomgr.notests rodata=off " \
			"mitigations=off pci=off panic=-1"
/*
 * About 4 times what a boot takes on the 2-CPU machine, and 3 of them
 * within the suite's 300 s for the whole program.
 */
#define INIT_TIMEOUT	"80"
/* The harness's limit: the tool's own --timeout comes first. */
#define INIT_TEST_TIMEOUT	100
/*
 * The bzImage decompresses itself first: its boot took 259 s of the
 * 2-CPU machine's time, 237 s of it before the kernel's clock started.
 * scripts/testvm --guest-bzimage adds BZIMAGE_TEST_TIMEOUT to the
 * program's limit.
 */
#define BZIMAGE_TIMEOUT	"400"
#define BZIMAGE_TEST_TIMEOUT	420
#define INIT_DONE	"guest: minivmm-guest-init-done"
#define ST_POWEROFF	0
/* A reset of the machine (the ACPI reset register, 0x64 or 0x92). */
#define ST_RESET	4

/*
 * Run the tool to its end with its stdout in @r->obuf: stdin is a pipe
 * that gets @input once @prompt was printed (with @prompt NULL, stdin is
 * /dev/null).
 */
static int boot_with_input(struct child *r, const char *prompt,
			   const char *input, const char *const *args)
{
	const struct tool_watch w = { .prompt = prompt, .input = input };

	return run_tool(r, &w, args);
}

/* The number after "guest: @what: " in the guest's report, or -1. */
static long guest_report(const char *out, const char *what)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "guest: %s: ", what);
	p = strstr(out, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/*
 * The "LOC:" line of the guest's /proc/interrupts: how many CPUs counted
 * local timer interrupts, and how many columns there were.
 */
static int loc_counts(const char *out, int *cpus)
{
	const char *p = strstr(out, "LOC:");
	int ticking = 0;
	char *end;
	long v;

	*cpus = 0;
	if (!p)
		return -1;
	p += 4;
	for (;;) {
		while (*p == ' ')
			p++;
		if (!isdigit((unsigned char)*p))
			break;
		v = strtol(p, &end, 10);
		p = end;
		++*cpus;
		ticking += v > 0;
	}
	return ticking;
}

/* The local timer interrupts of all CPUs on the first LOC line at @p. */
static long loc_sum(const char *p, int *cpus)
{
	long total = 0;
	char *end;

	*cpus = 0;
	p = p ? strstr(p, "LOC:") : NULL;
	if (!p)
		return -1;
	for (p += 4;; p = end) {
		while (*p == ' ')
			p++;
		if (!isdigit((unsigned char)*p))
			break;
		total += strtol(p, &end, 10);
		++*cpus;
	}
	return total;
}

/*
 * Whether the guest printed "guest: @what:@want" as a whole line (@want
 * with its leading space).
 */
static bool guest_line_is(const char *out, const char *what,
			  const char *want)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "guest: %s:", what);
	p = strstr(out, key);
	if (!p)
		return false;
	p += strlen(key);
	return strcspn(p, "\r\n") == strlen(want) &&
	       !strncmp(p, want, strlen(want));
}

/*
 * The kernel's warnings and errors that name the platform minivmm gives
 * it: the guest's init prints every log line of level 0-4 as
 * "guest: log: ...".
 */
static const char *platform_complaint(const char *out)
{
	static const char *const topics[] = {
		"apic", "timer", "tsc", "clocksource", "smp", "topology",
		"package", "sibling", "firmware bug", NULL,
	};
	static char line[512];
	const char *p = out, *nl;
	unsigned int i, len;

	while ((p = strstr(p, "guest: log: "))) {
		nl = strchr(p, '\n');
		len = nl ? nl - p : strlen(p);
		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		for (i = 0; i < len; i++)
			line[i] = tolower((unsigned char)p[i]);
		line[len] = 0;
		for (i = 0; topics[i]; i++)
			if (strstr(line, topics[i])) {
				memcpy(line, p, len);
				return line;
			}
		p += len;
	}
	return NULL;
}

/* The boots to user space take longer than the harness's default limit. */
FIXTURE(guest) {
};

FIXTURE_SETUP(guest)
{
}

FIXTURE_TEARDOWN(guest)
{
}

/*
 * Boot Debian's kernel @kernel with @vcpus vCPUs to its /init, which
 * powers off, within @timeout seconds. The guest sees as many CPUs as
 * vCPUs, in one package of as many cores (CPUID's topology: /proc/cpuinfo
 * as the init reports it), their local timers ticking: every CPU's
 * count non-zero, their sum higher a little later.
 */
static void boot_to_init(struct __test_metadata *_metadata,
			 const char *kernel, const char *vcpus,
			 const char *timeout)
{
	const char *initrd = guest_initrd();
	const char *complaint, *uptime;
	char pkgs[64] = "", cores[64] = "";
	int ticking, cpus, cpus2, i, n = atoi(vcpus);
	long loc1, loc2;

	if (!initrd)
		SKIP(return, "no guest initramfs (%s)", GUEST_INITRD);
	ASSERT_EQ(0, boot_with_input(&r, NULL, NULL,
				     (const char *const []){
					"run", "--timeout", timeout,
					"--mem", BOOT_MEM, "--vcpus", vcpus,
					"--kernel", kernel, "--initrd", initrd,
					"--cmdline", INIT_CMDLINE, NULL }));
	ASSERT_NE(NULL, strstr(r.obuf, INIT_DONE))
		TH_LOG("status %d, stdout: %.3000s\nstderr: %s", r.status,
		       r.obuf, r.ebuf);
	EXPECT_EQ(atoi(vcpus), guest_report(r.obuf, "nproc"));
	ticking = loc_counts(r.obuf, &cpus);
	EXPECT_EQ(atoi(vcpus), cpus);
	EXPECT_EQ(atoi(vcpus), ticking)
		TH_LOG("/proc/interrupts: %s", strstr(r.obuf, "LOC:"));
	loc1 = loc_sum(r.obuf, &cpus);
	loc2 = loc_sum(strstr(r.obuf, "guest: later: "), &cpus2);
	TH_LOG("local timer interrupts: %ld, then %ld", loc1, loc2);
	EXPECT_EQ(n, cpus2);
	EXPECT_LT(loc1, loc2);
	EXPECT_EQ(n, guest_report(r.obuf, "siblings"));
	EXPECT_EQ(n, guest_report(r.obuf, "cpu cores"));
	for (i = 0; i < n; i++) {
		snprintf(pkgs + strlen(pkgs), sizeof(pkgs) - strlen(pkgs),
			 " 0");
		snprintf(cores + strlen(cores), sizeof(cores) - strlen(cores),
			 " %d", i);
	}
	EXPECT_TRUE(guest_line_is(r.obuf, "physical ids", pkgs))
		TH_LOG("%.*s", 80, strstr(r.obuf, "guest: physical ids:"));
	EXPECT_TRUE(guest_line_is(r.obuf, "core ids", cores))
		TH_LOG("%.*s", 80, strstr(r.obuf, "guest: core ids:"));
	complaint = platform_complaint(r.obuf);
	EXPECT_EQ(NULL, complaint)
		TH_LOG("%s", complaint);
	EXPECT_EQ(ST_POWEROFF, r.status)
		TH_LOG("stderr: %s", r.ebuf);
	/* The guest's time, for whoever reads the log. */
	uptime = strstr(r.obuf, "guest: uptime: ");
	if (uptime)
		TH_LOG("%.*s s", (int)strcspn(uptime, "\r\n"), uptime);
}

/*
 * Debian's kernel, unmodified, with one vCPU: its /init runs, sees one
 * CPU whose local APIC timer ticks, the kernel logged no complaint about
 * the APIC, timers, TSC, clocksource or SMP, and poweroff ends the run
 * with status 0.
 */
TEST_F_TIMEOUT(guest, run_vmlinux_one_vcpu_boots_to_init_and_powers_off,
	       INIT_TEST_TIMEOUT)
{
	const char *kernel = guest_vmlinux();

	REQUIRE_VMX();
	if (!kernel)
		SKIP(return, "no guest vmlinux (%s)", GUEST_VMLINUX);
	boot_to_init(_metadata, kernel, "1", INIT_TIMEOUT);
}

/*
 * The same with two vCPUs: the MADT lists both, the guest starts the
 * second through INIT and SIPI, and both CPUs' timers tick. Two vCPU
 * threads on one host CPU would only time-share it: this needs two.
 */
TEST_F_TIMEOUT(guest, run_vmlinux_two_vcpus_boot_to_init_and_power_off,
	       INIT_TEST_TIMEOUT)
{
	const char *kernel = guest_vmlinux();

	REQUIRE_VMX();
	if (!kernel)
		SKIP(return, "no guest vmlinux (%s)", GUEST_VMLINUX);
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "one host CPU: the 2-vCPU boot needs two");
	boot_to_init(_metadata, kernel, "2", INIT_TIMEOUT);
}

/*
 * The same through the bzImage path, with one vCPU: entered at its
 * 64-bit entry, the kernel decompresses itself first, which costs
 * minutes of the emulated machine's time, so the image carries the
 * bzImage only with scripts/testvm --guest-bzimage (make check: the
 * 1-CPU machine of Debian's 6.1 only).
 */
TEST_F_TIMEOUT(guest, run_bzimage_boots_to_init_and_powers_off,
	       BZIMAGE_TEST_TIMEOUT)
{
	const char *kernel = guest_bzimage();

	REQUIRE_VMX();
	if (!kernel)
		SKIP(return, "no guest bzImage (%s: testvm --guest-bzimage)",
		     GUEST_BZIMAGE);
	boot_to_init(_metadata, kernel, "1", BZIMAGE_TIMEOUT);
}

/*
 * Typed input reaches the guest's shell: the UART's receive interrupt,
 * IRQ 4 through the I/O APIC, wakes the guest's serial driver. Then the
 * typed 'reboot -f' resets the machine (through the reset vector, where
 * the loader put a reset through the keyboard controller): the kernel
 * says it restarts, and the run ends with the reset's status.
 */
TEST_F_TIMEOUT(guest, run_vmlinux_shell_answers_typed_command_and_reboots,
	       INIT_TEST_TIMEOUT)
{
	const char *kernel = guest_vmlinux(), *initrd = guest_initrd();
	const char *answer;

	REQUIRE_VMX();
	if (!kernel || !initrd)
		SKIP(return, "no guest vmlinux or initramfs (%s, %s)",
		     GUEST_VMLINUX, GUEST_INITRD);
	ASSERT_EQ(0, boot_with_input(&r, "guest: shell",
				     "echo typed-$((6 * 7))\nreboot -f\n",
				     (const char *const []){
					"run", "--timeout", INIT_TIMEOUT,
					"--mem", BOOT_MEM, "--kernel", kernel,
					"--initrd", initrd, "--cmdline",
					INIT_CMDLINE " guest_shell", NULL }));
	/* The shell's answer, not the terminal's echo of the command. */
	answer = strstr(r.obuf, "typed-42");
	EXPECT_NE(NULL, answer)
		TH_LOG("status %d, stdout: %.3000s\nstderr: %s", r.status,
		       r.obuf, r.ebuf);
	/* The reboot's, not a panic's (panic=-1 resets too). */
	EXPECT_NE(NULL, strstr(r.obuf, "reboot: Restarting system"))
		TH_LOG("stdout: %.3000s", answer ? answer : r.obuf);
	EXPECT_EQ(NULL, strstr(r.obuf, "Kernel panic"));
	EXPECT_EQ(ST_RESET, r.status)
		TH_LOG("stderr: %s", r.ebuf);
}

/*
 * Boot @kernel and @initrd with --virtio-console and --stats, the tests'
 * command line with guest_virtio and @more, to the tool's end; @prompt
 * and @input as boot_with_input()'s.
 */
static int boot_virtio(const char *kernel, const char *initrd,
		       const char *more, const char *prompt,
		       const char *input)
{
	char timeout[16], cmdline[256];

	snprintf(timeout, sizeof(timeout), "%d",
		 atoi(INIT_TIMEOUT) * timeout_scale());
	snprintf(cmdline, sizeof(cmdline), "%s guest_virtio%s", INIT_CMDLINE,
		 more);
	return boot_with_input(&r, prompt, input,
			       (const char *const []){
					"run", "--timeout", timeout, "--stats",
					"--mem", BOOT_MEM, "--kernel", kernel,
					"--initrd", initrd, "--virtio-console",
					"--cmdline", cmdline, NULL });
}

/*
 * --virtio-console: the guest's own virtio_mmio finds the device in the
 * DSDT, virtio_console makes it /dev/hvc0, and what the guest writes
 * there comes out on the tool's stdout (the marker is computed by the
 * guest's shell: the UART never shows it as such); the device's
 * interrupt (through the irqfd) advanced the guest's count of it, and
 * the device counted the request. Removing the driver then resets the
 * device and deletes its queues, without a warning.
 */
TEST_F_TIMEOUT(guest, run_vmlinux_virtio_console_carries_guest_output,
	       INIT_TEST_TIMEOUT)
{
	const char *kernel = guest_vmlinux(), *initrd = guest_initrd();
	long before, after;

	REQUIRE_VMX();
	if (!kernel || !initrd)
		SKIP(return, "no guest vmlinux or initramfs (%s, %s)",
		     GUEST_VMLINUX, GUEST_INITRD);
	ASSERT_EQ(0, boot_virtio(kernel, initrd, "", NULL, NULL));
	ASSERT_NE(NULL, strstr(r.obuf, INIT_DONE))
		TH_LOG("status %d, stdout: %.3000s\nstderr: %s", r.status,
		       r.obuf, r.ebuf);
	EXPECT_EQ(NULL, strstr(r.obuf, "guest: insmod"))
		TH_LOG("%s", strstr(r.obuf, "guest: insmod"));
	ASSERT_NE(NULL, strstr(r.obuf, "guest: hvc0: present"))
		TH_LOG("stdout: %.3000s", r.obuf);
	EXPECT_NE(NULL, strstr(r.obuf, "virtio-console-marker-42"));
	before = guest_report(r.obuf, "virtio irqs before");
	after = guest_report(r.obuf, "virtio irqs after");
	EXPECT_LE(0, before)
		TH_LOG("no virtio interrupt in /proc/interrupts: %.3000s",
		       r.obuf);
	EXPECT_LT(before, after);
	EXPECT_NE(NULL, strstr(r.ebuf, "virtio-console: "))
		TH_LOG("stderr: %s", r.ebuf);
	EXPECT_EQ(NULL, strstr(r.ebuf, "needs a reset"));
	/* The driver's removal: a reset, then its queues deleted. */
	EXPECT_NE(NULL, strstr(r.obuf, "guest: hvc0: removed"));
	EXPECT_EQ(NULL, strstr(r.obuf, "WARNING:"))
		TH_LOG("%.2000s", strstr(r.obuf, "WARNING:"));
	EXPECT_EQ(ST_POWEROFF, r.status)
		TH_LOG("stderr: %s", r.ebuf);
}

/* The number before " @what" on the line of @err that says @line, or -1. */
static long stats_count(const char *err, const char *line, const char *what)
{
	const char *p = strstr(err, line), *end, *q;

	if (!p)
		return -1;
	end = strchr(p, '\n');
	q = strstr(p, what);
	if (!q || (end && q > end))
		return -1;
	while (q > p && q[-1] == ' ')
		q--;
	while (q > p && isdigit((unsigned char)q[-1]))
		q--;
	return isdigit((unsigned char)*q) ? strtol(q, NULL, 10) : -1;
}

/*
 * With --virtio-console the tool's stdin is the virtio console's: a
 * command typed once the guest runs a shell on /dev/hvc0 reaches it
 * through the receive queue (buffers the driver posted at its probe,
 * held until then), and its answer comes back through the transmit
 * queue. The device counted every typed byte in.
 */
TEST_F_TIMEOUT(guest, run_vmlinux_virtio_console_shell_answers_typed_command,
	       INIT_TEST_TIMEOUT)
{
	const char *kernel = guest_vmlinux(), *initrd = guest_initrd();
	const char *input = "echo hvc-$((6 * 7))\nexit\n";

	REQUIRE_VMX();
	if (!kernel || !initrd)
		SKIP(return, "no guest vmlinux or initramfs (%s, %s)",
		     GUEST_VMLINUX, GUEST_INITRD);
	ASSERT_EQ(0, boot_virtio(kernel, initrd, " guest_hvc_shell",
				 "guest: hvc0 shell", input));
	ASSERT_NE(NULL, strstr(r.obuf, "guest: hvc0 shell"))
		TH_LOG("status %d, stdout: %.3000s\nstderr: %s", r.status,
		       r.obuf, r.ebuf);
	/* The shell's answer, not the terminal's echo of the command. */
	EXPECT_NE(NULL, strstr(r.obuf, "hvc-42"))
		TH_LOG("status %d, stdout: %.3000s\nstderr: %s", r.status,
		       r.obuf, r.ebuf);
	EXPECT_EQ((long)strlen(input),
		  stats_count(r.ebuf, "virtio-console: ", "bytes in"))
		TH_LOG("stderr: %s", r.ebuf);
	EXPECT_EQ(NULL, strstr(r.ebuf, "needs a reset"));
	/* The shell's end let the init go on to its end. */
	EXPECT_NE(NULL, strstr(r.obuf, INIT_DONE));
	EXPECT_EQ(NULL, strstr(r.obuf, "WARNING:"))
		TH_LOG("%.2000s", strstr(r.obuf, "WARNING:"));
	EXPECT_EQ(ST_POWEROFF, r.status)
		TH_LOG("stderr: %s", r.ebuf);
}

/* ---- snapshot and restore ------------------------------------------ */

#define ST_MOVED	(128 + SIGUSR1)
/*
 * Writing the snapshot (40-odd MiB of the guest's RAM, checksummed) and
 * reading it twice on restore take longer than a boot on the 2-CPU
 * machine, whose CPUs count 20 M instructions a second.
 */
#define SNAP_TIMEOUT	"120"
#define SNAP_TEST_TIMEOUT	260
/*
 * The guest zeroes the pages it frees: what it does not use is no data
 * in the snapshot.
 */
#define SNAP_CMDLINE	INIT_CMDLINE " init_on_free=1 guest_shell"
/*
 * What the restored shell runs: the guest's uptime and local timer
 * interrupt counts, a second's sleep (a timer must fire for it to end),
 * the same again; then the shell's end powers the VM off.
 */
#define SNAP_COMMAND	"for i in 1 2; do " \
			"echo \"tick$i $(cut -d' ' -f1 /proc/uptime)\"; " \
			"grep LOC: /proc/interrupts; sleep 1; done; exit\n"

/* The guest's uptime after "@what " in @out (-1 if absent), and where. */
static double uptime_after(const char *out, const char *what,
			   const char **at)
{
	const char *p = out;
	size_t len = strlen(what);

	/* The answer, not the terminal's echo of the command. */
	while ((p = strstr(p, what))) {
		p += len;
		if (*p == ' ' && isdigit((unsigned char)p[1])) {
			*at = p;
			return strtod(p + 1, NULL);
		}
	}
	*at = NULL;
	return -1;
}

/*
 * Debian's kernel at its shell prompt, written to a file on SIGUSR1 by
 * 'minivmm run --snapshot FILE --snapshot-stop', then resumed from it by
 * 'minivmm restore FILE' in a new process: the restored shell answers a
 * command typed into the new process's stdin, the guest's clock goes on
 * from where it was and advances across a one-second sleep, its local
 * APIC timers tick (their counts grow), and 'exit' powers it off. With
 * two vCPUs where the host has two CPUs (as the 2-vCPU boot above), else
 * with one.
 */
TEST_F_TIMEOUT(guest, snapshot_at_shell_prompt_restores_and_answers,
	       SNAP_TEST_TIMEOUT)
{
	const char *kernel = guest_vmlinux(), *initrd = guest_initrd();
	const struct tool_watch at_prompt = {
		.prompt = "guest: shell",
		.input = "echo snap-$((6 * 7))\n",
		.usr1 = "snap-42",
	}, restored = { .prompt = "", .input = SNAP_COMMAND };
	const char *vcpus = "1", *at1, *at2;
	double before, t1, t2;
	long loc1, loc2;
	int cpus1, cpus2;
	char file[64];

	REQUIRE_VMX();
	if (!kernel || !initrd)
		SKIP(return, "no guest vmlinux or initramfs (%s, %s)",
		     GUEST_VMLINUX, GUEST_INITRD);
	if (sysconf(_SC_NPROCESSORS_ONLN) >= 2)
		vcpus = "2";
	TH_LOG("%s vCPU(s)", vcpus);
	snprintf(file, sizeof(file), "/tmp/linux_boot_test.%d.snap",
		 (int)getpid());
	ASSERT_EQ(0, run_tool(&r, &at_prompt,
			      (const char *const []){
				"run", "--timeout", SNAP_TIMEOUT,
				"--mem", BOOT_MEM, "--vcpus", vcpus,
				"--kernel", kernel, "--initrd", initrd,
				"--cmdline", SNAP_CMDLINE,
				"--snapshot", file, "--snapshot-stop",
				NULL }));
	EXPECT_EQ(ST_MOVED, r.status)
		TH_LOG("stdout: %.3000s\nstderr: %s", r.obuf, r.ebuf);
	EXPECT_NE(NULL, strstr(r.ebuf, "snapshot written to"))
		TH_LOG("stderr: %s", r.ebuf);
	/* The guest's /init prints its uptime before the prompt. */
	at1 = strstr(r.obuf, "guest: uptime: ");
	EXPECT_NE(NULL, at1)
		TH_LOG("stdout: %.3000s", r.obuf);
	if (r.status != ST_MOVED || !at1) {
		unlink(file);
		return;
	}
	before = strtod(at1 + strlen("guest: uptime: "), NULL);

	ASSERT_EQ(0, run_tool(&r, &restored,
			      (const char *const []){
				"restore", "--timeout", SNAP_TIMEOUT, file,
				NULL }));
	unlink(file);
	t1 = uptime_after(r.obuf, "tick1", &at1);
	t2 = uptime_after(r.obuf, "tick2", &at2);
	ASSERT_LE(0, t1)
		TH_LOG("status %d, stdout: %.3000s\nstderr: %s", r.status,
		       r.obuf, r.ebuf);
	ASSERT_LE(0, t2)
		TH_LOG("status %d, stdout: %.3000s\nstderr: %s", r.status,
		       r.obuf, r.ebuf);
	TH_LOG("uptime %.2f s at the prompt, %.2f and %.2f s after the restore",
	       before, t1, t2);
	/* The clock goes on from the snapshot, and across the sleep. */
	EXPECT_LE(before, t1);
	EXPECT_LE(t1 + 1.0, t2);
	loc1 = loc_sum(at1, &cpus1);
	loc2 = loc_sum(at2, &cpus2);
	TH_LOG("local timer interrupts: %ld, then %ld", loc1, loc2);
	EXPECT_EQ(atoi(vcpus), cpus1);
	EXPECT_EQ(atoi(vcpus), cpus2);
	EXPECT_LT(0, loc1);
	EXPECT_LT(loc1, loc2);
	EXPECT_EQ(ST_POWEROFF, r.status)
		TH_LOG("stderr: %s", r.ebuf);
}

TEST_HARNESS_MAIN

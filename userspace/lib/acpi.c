// SPDX-License-Identifier: LGPL-2.1
/*
 * libminivmm: the ACPI tables a guest kernel finds instead of firmware
 * (ACPI 6.x).
 *
 * The platform is hardware-reduced: no PM timer, PM1 blocks, SCI or
 * GPEs, and so (for Linux) neither the 8259 PICs nor the PIT, which
 * minivmm does not emulate. Power-off is the hardware-reduced sleep
 * control register (SLP_TYP of \_S5 with SLP_EN), reset the reset
 * register (the keyboard controller's 0xfe command). The MADT gives one
 * enabled local APIC per CPU (ACPI processor UID and APIC ID = the vCPU
 * index), LINT1 as NMI on all of them, one I/O APIC (ID = the number of
 * CPUs, GSI base 0) and the PC's override of ISA IRQ 0 to GSI 2.
 *
 * mvm_acpi_tables_devices() adds memory-mapped devices to the DSDT,
 * each in a Scope (\_SB) of its own after the UART's.
 *
 * Layout from @gpa: RSDP, XSDT, RSDT, FADT, DSDT, MADT, each 16-byte
 * aligned.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

#define OEM_ID		"MINVMM"	/* 6 bytes */
#define OEM_TABLE_ID	"MINIVMM "	/* 8 bytes */
#define CREATOR_ID	"MVMM"
#define ACPI_REVISION	6
#define MAX_CPUS	255		/* 8-bit APIC IDs, I/O APIC's too */

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;		/* of the first 20 bytes */
	char oem_id[6];
	uint8_t revision;		/* 2: ACPI 2.0 and later */
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t ext_checksum;		/* of all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));

/* Generic address structure. */
struct acpi_gas {
	uint8_t space;			/* 1: system I/O */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;		/* 1: byte */
	uint64_t address;
} __attribute__((packed));

#define GAS_IO8(port)	((struct acpi_gas){ 1, 8, 0, 1, (port) })

struct acpi_fadt {
	struct acpi_header h;
	uint32_t facs, dsdt;
	uint8_t reserved0, pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt, pm1b_evt, pm1a_cnt, pm1b_cnt, pm2_cnt, pm_tmr;
	uint32_t gpe0, gpe1;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_len, gpe1_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_revision;
	uint64_t x_facs, x_dsdt;
	struct acpi_gas x_pm1a_evt, x_pm1b_evt, x_pm1a_cnt, x_pm1b_cnt;
	struct acpi_gas x_pm2_cnt, x_pm_tmr, x_gpe0, x_gpe1;
	struct acpi_gas sleep_control, sleep_status;
	uint64_t hypervisor_id;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT of ACPI 6");

#define FADT_RESET_REG_SUP	(1U << 10)
#define FADT_HW_REDUCED		(1U << 20)
/* IAPC_BOOT_ARCH: ISA devices (the UART), but no VGA and no CMOS RTC. */
#define BOOT_ARCH_LEGACY	(1U << 0)
#define BOOT_ARCH_NO_VGA	(1U << 2)
#define BOOT_ARCH_NO_RTC	(1U << 5)

struct madt {
	struct acpi_header h;
	uint32_t lapic_addr;
	uint32_t flags;		/* 0: no 8259 PICs */
} __attribute__((packed));

struct madt_lapic {
	uint8_t type, length;	/* 0, 8 */
	uint8_t uid, apic_id;
	uint32_t flags;		/* 1: enabled */
} __attribute__((packed));

struct madt_ioapic {
	uint8_t type, length;	/* 1, 12 */
	uint8_t id, reserved;
	uint32_t addr, gsi_base;
} __attribute__((packed));

struct madt_override {
	uint8_t type, length;	/* 2, 10 */
	uint8_t bus, source;
	uint32_t gsi;
	uint16_t flags;		/* 0: as the bus says (ISA: edge, high) */
} __attribute__((packed));

struct madt_lapic_nmi {
	uint8_t type, length;	/* 4, 6 */
	uint8_t uid;		/* 0xff: all processors */
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

/*
 * The DSDT's AML: Name (_S5, Package (4) { 5, 5, 0, 0 }), the SLP_TYP
 * values the guest writes to the sleep control register to power off;
 * and the UART as the device a hardware-reduced platform must list:
 *
 *	Scope (\_SB) { Device (COM1) {
 *		Name (_HID, EisaId ("PNP0501"))
 *		Name (_UID, One)
 *		Name (_STA, 0x0F)
 *		Name (_CRS, ResourceTemplate () {
 *			IO (Decode16, 0x3F8, 0x3F8, 0, 8)
 *			IRQNoFlags () { 4 }
 *		})
 *	} }
 *
 * Without a legacy PIC (no 8259 on such a platform) Linux numbers its
 * interrupts dynamically and has no IRQ 4: its 8250 driver gets the
 * UART's interrupt, GSI 4 (edge, active high), only from this _CRS.
 * Package lengths (PkgLength) count their own byte and what follows.
 */
static const uint8_t dsdt_aml[] = {
	0x08, '_', 'S', '5', '_',		/* NameOp "_S5_" */
	0x12, 0x08, 0x04,			/* PackageOp, length, 4 */
	0x0a, MVM_ACPI_SLP_TYP_S5,		/* BytePrefix 5 */
	0x0a, MVM_ACPI_SLP_TYP_S5,
	0x00, 0x00,				/* ZeroOp, ZeroOp */
	0x10, 0x3a, '\\', '_', 'S', 'B', '_',	/* ScopeOp, length, "\\_SB_" */
	0x5b, 0x82, 0x32, 'C', 'O', 'M', '1',	/* DeviceOp, length, "COM1" */
	0x08, '_', 'H', 'I', 'D',		/* DWordPrefix EisaId ("PNP0501") */
	0x0c, 0x41, 0xd0, 0x05, 0x01,
	0x08, '_', 'U', 'I', 'D', 0x01,		/* OneOp */
	0x08, '_', 'S', 'T', 'A', 0x0a, 0x0f,	/* present, enabled, shown */
	0x08, '_', 'C', 'R', 'S',
	0x11, 0x10, 0x0a, 0x0d,			/* BufferOp, length, 13 bytes */
	0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03,	/* IO: 16-bit decode, 0x3f8, */
	0x00, 0x08,				/* alignment 0, 8 ports */
	0x22, 0x10, 0x00,			/* IRQNoFlags: IRQ 4 */
	0x79, 0x00,				/* end tag */
};

static uint8_t checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return -sum;
}

static void header(void *table, const char *sig, uint32_t len,
		   uint8_t revision)
{
	struct acpi_header *h = table;

	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = revision;
	memcpy(h->oem_id, OEM_ID, sizeof(h->oem_id));
	memcpy(h->oem_table_id, OEM_TABLE_ID, sizeof(h->oem_table_id));
	h->oem_revision = 1;
	memcpy(h->creator_id, CREATOR_ID, sizeof(h->creator_id));
	h->creator_revision = 1;
	h->checksum = 0;
	h->checksum = checksum(table, len);
}

#define ALIGN16(x)	(((x) + 15) & ~(size_t)15)

static size_t madt_size(unsigned int nr_cpus)
{
	return sizeof(struct madt) + nr_cpus * sizeof(struct madt_lapic) +
	       sizeof(struct madt_ioapic) + sizeof(struct madt_override) +
	       sizeof(struct madt_lapic_nmi);
}

static void write_madt(uint8_t *p, unsigned int nr_cpus)
{
	struct madt *m = (struct madt *)p;
	struct madt_lapic lapic;
	struct madt_ioapic ioapic = {
		.type = 1, .length = sizeof(ioapic), .id = nr_cpus,
		.addr = MVM_IOAPIC_ADDR, .gsi_base = 0,
	};
	struct madt_override irq0 = {
		.type = 2, .length = sizeof(irq0), .bus = 0, .source = 0,
		.gsi = 2, .flags = 0,
	};
	struct madt_lapic_nmi nmi = {
		.type = 4, .length = sizeof(nmi), .uid = 0xff, .flags = 0,
		.lint = 1,
	};
	size_t off = sizeof(*m);
	unsigned int i;

	m->lapic_addr = MVM_LAPIC_ADDR;
	m->flags = 0;
	for (i = 0; i < nr_cpus; i++) {
		lapic = (struct madt_lapic){
			.type = 0, .length = sizeof(lapic), .uid = i,
			.apic_id = i, .flags = 1,
		};
		memcpy(p + off, &lapic, sizeof(lapic));
		off += sizeof(lapic);
	}
	memcpy(p + off, &ioapic, sizeof(ioapic));
	off += sizeof(ioapic);
	memcpy(p + off, &irq0, sizeof(irq0));
	off += sizeof(irq0);
	memcpy(p + off, &nmi, sizeof(nmi));
	off += sizeof(nmi);
	header(p, "APIC", off, 5);
}

static void write_fadt(struct acpi_fadt *f, uint64_t dsdt)
{
	f->dsdt = dsdt;
	f->x_dsdt = dsdt;
	f->iapc_boot_arch = BOOT_ARCH_LEGACY | BOOT_ARCH_NO_VGA |
			    BOOT_ARCH_NO_RTC;
	f->flags = FADT_HW_REDUCED | FADT_RESET_REG_SUP;
	f->reset_reg = GAS_IO8(MVM_ACPI_RESET_PORT);
	f->reset_value = MVM_ACPI_RESET_VALUE;
	f->sleep_control = GAS_IO8(MVM_ACPI_SLEEP_CONTROL);
	f->sleep_status = GAS_IO8(MVM_ACPI_SLEEP_STATUS);
	memcpy(&f->hypervisor_id, "minivmm", 8);
	header(f, "FACP", sizeof(*f), ACPI_REVISION);
}

/* Bytes of a PkgLength of @len bytes after it (ACPI 6.4, 20.2.4). */
static size_t pkg_len_size(size_t len)
{
	if (len + 1 < 0x40)
		return 1;
	if (len + 2 < 0x1000)
		return 2;
	return 3;
}

/* Write the PkgLength of @len following bytes at @p; its size. */
static size_t pkg_len(uint8_t *p, size_t len)
{
	size_t n = pkg_len_size(len), total = len + n;

	if (n == 1) {
		p[0] = total;
		return 1;
	}
	p[0] = (n - 1) << 6 | (total & 0xf);
	p[1] = total >> 4;
	if (n == 3)
		p[2] = total >> 12;
	return n;
}

/*
 * The _CRS buffer's resource template: Memory32Fixed (ReadWrite, addr,
 * size) and Interrupt (ResourceConsumer, trigger, ActiveHigh, Exclusive)
 * { gsi }, then the end tag (checksum 0: none).
 */
#define DEV_CRS_LEN	(12 + 9 + 2)

static void dev_crs(uint8_t *p, const struct mvm_acpi_device *d)
{
	uint32_t v;

	p[0] = 0x86;			/* 32-bit fixed memory range */
	p[1] = 9;
	p[2] = 0;
	p[3] = 1;			/* read-write */
	v = d->addr;
	memcpy(p + 4, &v, 4);
	memcpy(p + 8, &d->size, 4);
	p[12] = 0x89;			/* extended interrupt */
	p[13] = 6;
	p[14] = 0;
	/* Consumer; edge (bit 1) or level; active high; exclusive. */
	p[15] = 1 | (d->flags & MVM_ACPI_DEV_LEVEL ? 0 : 2);
	p[16] = 1;			/* one interrupt */
	memcpy(p + 17, &d->gsi, 4);
	p[21] = 0x79;			/* end tag */
	p[22] = 0;
}

/*
 * A device's AML:
 *
 *	Scope (\_SB) { Device (NAME) {
 *		Name (_HID, "HID")
 *		Name (_UID, uid)
 *		Name (_CRS, ResourceTemplate () { ... dev_crs() ... })
 *	} }
 *
 * written at @p unless it is NULL; its size.
 */
static size_t dev_aml(uint8_t *p, const struct mvm_acpi_device *d,
		      unsigned int uid)
{
	size_t hid = strlen(d->hid) + 1;
	/* NameOp "_HID" StringPrefix string NUL; NameOp "_UID" BytePrefix n */
	size_t names = 1 + 4 + 1 + hid + 1 + 4 + 2;
	/* NameOp "_CRS" BufferOp PkgLength BytePrefix n template */
	size_t buf_body = 2 + DEV_CRS_LEN;
	size_t crs = 1 + 4 + 1 + pkg_len_size(buf_body) + buf_body;
	size_t dev_body = 4 + names + crs;
	size_t dev = 2 + pkg_len_size(dev_body) + dev_body;
	size_t scope_body = 5 + dev;
	size_t scope = 1 + pkg_len_size(scope_body) + scope_body;
	size_t o = 0;

	if (!p)
		return scope;
	p[o++] = 0x10;					/* ScopeOp */
	o += pkg_len(p + o, scope_body);
	memcpy(p + o, "\\_SB_", 5);
	o += 5;
	p[o++] = 0x5b;					/* DeviceOp */
	p[o++] = 0x82;
	o += pkg_len(p + o, dev_body);
	memcpy(p + o, d->name, 4);
	o += 4;
	p[o++] = 0x08;					/* NameOp */
	memcpy(p + o, "_HID", 4);
	o += 4;
	p[o++] = 0x0d;					/* StringPrefix */
	memcpy(p + o, d->hid, hid);
	o += hid;
	p[o++] = 0x08;
	memcpy(p + o, "_UID", 4);
	o += 4;
	p[o++] = 0x0a;					/* BytePrefix */
	p[o++] = uid;
	p[o++] = 0x08;
	memcpy(p + o, "_CRS", 4);
	o += 4;
	p[o++] = 0x11;					/* BufferOp */
	o += pkg_len(p + o, buf_body);
	p[o++] = 0x0a;
	p[o++] = DEV_CRS_LEN;
	dev_crs(p + o, d);
	o += DEV_CRS_LEN;
	return o;
}

static int check_device(const struct mvm_acpi_device *d)
{
	size_t i;

	if (!d->name || strlen(d->name) != 4)
		return mvm_fail(NULL, 0, "ACPI device name: 4 characters");
	for (i = 0; i < 4; i++)
		if (!(d->name[i] >= 'A' && d->name[i] <= 'Z') &&
		    !(d->name[i] >= '0' && d->name[i] <= '9' && i) &&
		    d->name[i] != '_')
			return mvm_fail(NULL, 0, "ACPI device name '%s'",
					d->name);
	if (!d->hid || !*d->hid || strlen(d->hid) > 8)
		return mvm_fail(NULL, 0, "ACPI device %s: a _HID of 1 to 8 characters",
				d->name);
	if (!d->size || d->addr + d->size > 1ULL << 32 ||
	    (d->flags & ~MVM_ACPI_DEV_LEVEL))
		return mvm_fail(NULL, 0,
				"ACPI device %s: a non-empty range below 4 GiB and known flags",
				d->name);
	return 0;
}

int mvm_acpi_tables_devices(void *buf, size_t len, uint64_t gpa,
			    unsigned int nr_cpus,
			    const struct mvm_acpi_device *devs,
			    unsigned int nr_devs)
{
	size_t rsdp = 0, xsdt, rsdt, fadt, dsdt, madt, end, aml, o;
	uint64_t xsdt_ent[2];
	uint32_t rsdt_ent[2];
	struct acpi_rsdp r;
	uint8_t *p = buf;
	unsigned int i;

	if (!nr_cpus || nr_cpus > MAX_CPUS)
		return mvm_fail(NULL, 0,
				"ACPI tables for %u CPUs: 1 to %u can be described",
				nr_cpus, MAX_CPUS);
	if (gpa & 15 || gpa + len > 1ULL << 32)
		return mvm_fail(NULL, 0,
				"ACPI tables at %#llx: not 16-byte aligned below 4 GiB",
				(unsigned long long)gpa);
	if (nr_devs > MVM_ACPI_MAX_DEVICES || (nr_devs && !devs))
		return mvm_fail(NULL, 0, "%u ACPI devices: at most %u",
				nr_devs, MVM_ACPI_MAX_DEVICES);
	aml = sizeof(dsdt_aml);
	for (i = 0; i < nr_devs; i++) {
		if (check_device(&devs[i]))
			return -EINVAL;
		aml += dev_aml(NULL, &devs[i], i);
	}
	xsdt = ALIGN16(rsdp + sizeof(r));
	rsdt = ALIGN16(xsdt + sizeof(struct acpi_header) + sizeof(xsdt_ent));
	fadt = ALIGN16(rsdt + sizeof(struct acpi_header) + sizeof(rsdt_ent));
	dsdt = ALIGN16(fadt + sizeof(struct acpi_fadt));
	madt = ALIGN16(dsdt + sizeof(struct acpi_header) + aml);
	end = madt + madt_size(nr_cpus);
	if (end > len)
		return mvm_fail(NULL, E2BIG,
				"ACPI tables of %zu bytes in %zu", end, len);
	memset(p, 0, end);

	o = dsdt + sizeof(struct acpi_header);
	memcpy(p + o, dsdt_aml, sizeof(dsdt_aml));
	o += sizeof(dsdt_aml);
	for (i = 0; i < nr_devs; i++)
		o += dev_aml(p + o, &devs[i], i);
	header(p + dsdt, "DSDT", sizeof(struct acpi_header) + aml, 2);
	write_fadt((struct acpi_fadt *)(p + fadt), gpa + dsdt);
	write_madt(p + madt, nr_cpus);

	xsdt_ent[0] = gpa + fadt;
	xsdt_ent[1] = gpa + madt;
	memcpy(p + xsdt + sizeof(struct acpi_header), xsdt_ent,
	       sizeof(xsdt_ent));
	header(p + xsdt, "XSDT", sizeof(struct acpi_header) + sizeof(xsdt_ent),
	       1);
	rsdt_ent[0] = gpa + fadt;
	rsdt_ent[1] = gpa + madt;
	memcpy(p + rsdt + sizeof(struct acpi_header), rsdt_ent,
	       sizeof(rsdt_ent));
	header(p + rsdt, "RSDT", sizeof(struct acpi_header) + sizeof(rsdt_ent),
	       1);

	memset(&r, 0, sizeof(r));
	memcpy(r.signature, "RSD PTR ", 8);
	memcpy(r.oem_id, OEM_ID, sizeof(r.oem_id));
	r.revision = 2;
	r.rsdt = gpa + rsdt;
	r.length = sizeof(r);
	r.xsdt = gpa + xsdt;
	r.checksum = checksum(&r, 20);
	r.ext_checksum = checksum(&r, sizeof(r));
	memcpy(p + rsdp, &r, sizeof(r));
	return end;
}

int mvm_acpi_tables(void *buf, size_t len, uint64_t gpa,
		    unsigned int nr_cpus)
{
	return mvm_acpi_tables_devices(buf, len, gpa, nr_cpus, NULL, 0);
}

/* SPDX-License-Identifier: LGPL-2.1 */
/*
 * libminivmm: a small C library over the /dev/minivmm ioctl API.
 *
 * Functions that can fail return 0 (or a non-negative value) on success
 * and a negative errno on failure, and leave a one-line description of
 * the failure for mvm_strerror(): of the VM for calls on a VM or vCPU,
 * and of the calling thread for every call.
 *
 * Guest memory is RAM from guest physical 0; above 3 GiB it continues at
 * 4 GiB, leaving the PC's hole below 4 GiB (where the local APIC and
 * other devices would be) without memory.
 */
#ifndef LIBMINIVMM_H
#define LIBMINIVMM_H

#include <stddef.h>
#include <stdint.h>

#include <linux/minivmm.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MVM_DEVICE		"/dev/minivmm"

/* Where RAM above 3 GiB continues. */
#define MVM_LOW_RAM_MAX		0xc0000000ULL
#define MVM_HIGH_RAM_BASE	0x100000000ULL

struct mvm;
struct mvm_vcpu;

/* ---- the device ---------------------------------------------------- */

/* Open /dev/minivmm: a file descriptor (close-on-exec) or -errno. */
int mvm_dev_open(void);

/* MINIVMM_GET_API_VERSION: the version or -errno. */
int mvm_api_version(void);

/* MINIVMM_GET_CAPS into @caps: 0 or -errno. */
int mvm_get_caps(struct minivmm_caps *caps);

/* ---- VMs ----------------------------------------------------------- */

/* A new VM with @mem_size bytes (a multiple of 4 KiB) of RAM. */
int mvm_create(struct mvm **vmp, size_t mem_size);

/* Close the VM and every vCPU still open on it, and free its memory. */
void mvm_destroy(struct mvm *vm);

/*
 * The host address of guest physical @gpa, when [@gpa, @gpa + @len) is
 * RAM (in one piece); else NULL.
 */
void *mvm_gpa(struct mvm *vm, uint64_t gpa, size_t len);

/* Bytes of RAM, and the guest physical address just above the last one. */
size_t mvm_mem_size(struct mvm *vm);
uint64_t mvm_mem_end(struct mvm *vm);

/* The VM file descriptor, for ioctls the library does not wrap. */
int mvm_fd(struct mvm *vm);

/*
 * Map @size bytes of the caller's memory at @host into the guest at @gpa
 * as memory slot @slot (slots 0 and 1 hold the RAM); @flags: MINIVMM_MEM_*.
 */
int mvm_add_memory(struct mvm *vm, unsigned int slot, uint64_t gpa,
		   void *host, size_t size, unsigned int flags);

/* ---- vCPUs --------------------------------------------------------- */

/* A new vCPU (in the reset state: real mode, RIP 0x7c00). */
int mvm_vcpu_create(struct mvm *vm, unsigned int id,
		    struct mvm_vcpu **vcpup);
void mvm_vcpu_destroy(struct mvm_vcpu *vcpu);

/* The shared run structure and the vCPU file descriptor. */
struct minivmm_run *mvm_vcpu_run_struct(struct mvm_vcpu *vcpu);
int mvm_vcpu_fd(struct mvm_vcpu *vcpu);
unsigned int mvm_vcpu_id(struct mvm_vcpu *vcpu);

/*
 * The elements of the MINIVMM_EXIT_IO in the run structure: io.count of
 * io.size bytes each, in the order the guest executed them (INS/OUTS
 * come in batches; IN and OUT are one element). Userspace stores what an
 * IN or INS reads here. NULL when the exit is not an I/O exit or its
 * offsets do not fit in the mapping.
 */
void *mvm_io_data(struct mvm_vcpu *vcpu);

/* MINIVMM_RUN: 0 with the run structure filled, or -errno (-EINTR). */
int mvm_run(struct mvm_vcpu *vcpu);

int mvm_get_regs(struct mvm_vcpu *vcpu, struct minivmm_regs *regs);
int mvm_set_regs(struct mvm_vcpu *vcpu, const struct minivmm_regs *regs);
int mvm_get_sregs(struct mvm_vcpu *vcpu, struct minivmm_sregs *sregs);
int mvm_set_sregs(struct mvm_vcpu *vcpu, const struct minivmm_sregs *sregs);
int mvm_inject_interrupt(struct mvm_vcpu *vcpu, unsigned int vector);
/* MINIVMM_IRQ_LINE: assert (@level 1) or deassert (0) an I/O APIC pin. */
int mvm_irq_line(struct mvm *vm, unsigned int pin, int level);

/* ---- loaders ------------------------------------------------------- */

enum mvm_format {
	MVM_FORMAT_AUTO,
	MVM_FORMAT_FLAT,
	MVM_FORMAT_ELF,
	MVM_FORMAT_MULTIBOOT,
};

/* The default load address of a flat image: a boot sector's. */
#define MVM_FLAT_DEFAULT_ADDR	0x7c00

/* GDT selectors the ELF and multiboot loaders set up. */
#define MVM_SEL_CODE32		0x08
#define MVM_SEL_DATA		0x10
#define MVM_SEL_CODE64		0x18

/* Multiboot v1. */
#define MVM_MULTIBOOT_MAGIC	0x1badb002	/* in the image's header */
#define MVM_MULTIBOOT_EAX	0x2badb002	/* in EAX at the entry */
#define MVM_MULTIBOOT_SEARCH	8192		/* the header is in here */

/**
 * struct mvm_module - a multiboot boot module
 * @data:	its contents
 * @size:	bytes at @data
 * @string:	its string (the kernel sees it through mods_addr), or NULL
 */
struct mvm_module {
	const void *data;
	size_t size;
	const char *string;
};

/**
 * struct mvm_boot - what to load and how; what was loaded
 * @format:	MVM_FORMAT_AUTO to detect it (mvm_detect_format())
 * @addr:	flat images: load and start address (0: 0x7c00)
 * @cmdline:	multiboot: the kernel command line, or NULL
 * @modules:	multiboot: boot modules, loaded in this order
 * @nr_modules:	entries at @modules
 *
 * Filled in by mvm_load():
 * @entry:	the guest's first instruction (guest physical)
 * @image_start: lowest guest physical address of the image
 * @image_end:	just above its highest (its bss included)
 * @data_addr:	where the loader put its own data (GDT, page tables,
 *		multiboot information), 0 if none
 * @data_size:	bytes of it
 * @info_addr:	multiboot: the multiboot information structure (EBX)
 * @loaded:	the format actually loaded
 * @elf_class:	ELF and multiboot ELF images: 32 or 64
 */
struct mvm_boot {
	enum mvm_format format;
	uint64_t addr;
	const char *cmdline;
	const struct mvm_module *modules;
	unsigned int nr_modules;

	uint64_t entry;
	uint64_t image_start, image_end;
	uint64_t data_addr, data_size;
	uint64_t info_addr;
	enum mvm_format loaded;
	unsigned int elf_class;
};

/*
 * What @image looks like: a multiboot header in its first 8 KiB makes it
 * MVM_FORMAT_MULTIBOOT (checked first: multiboot kernels are often ELF
 * files too), else the ELF magic MVM_FORMAT_ELF, else MVM_FORMAT_FLAT.
 */
enum mvm_format mvm_detect_format(const void *image, size_t size);

/* "flat", "elf", "multiboot" (and "auto"); parse with mvm_format_parse(). */
const char *mvm_format_name(enum mvm_format format);
int mvm_format_parse(const char *name, enum mvm_format *format);

/*
 * Load @image into the VM and set @vcpu up to start it:
 *
 * - flat: copied to @boot->addr (default 0x7c00); real mode with CS = 0
 *   and IP = the address when it is below 64 KiB, else CS = address / 16
 *   and IP = 0 (the address must then be 16-byte aligned, below 1 MiB).
 * - ELF32 (i386) and ELF64 (x86-64) executables: PT_LOAD segments at their
 *   physical addresses, bss zeroed; ELF32 starts in 32-bit protected mode
 *   with flat segments and paging off, ELF64 in long mode with the
 *   first 4 GiB (or all RAM, if more) identity mapped with 2 MiB pages.
 *   The GDT and page tables go to the lowest free pages above page 0.
 *   The image must be linked with virtual = physical addresses.
 * - multiboot v1, as QEMU's -kernel: the kernel's ELF32 segments (or the
 *   a.out-kludge addresses of its header when flag 16 is set), the
 *   modules page-aligned after it, and the multiboot information
 *   (memory sizes, memory map, command line, modules, boot loader name)
 *   below 4 MiB, off page 0; EAX = 0x2badb002, EBX = the information,
 *   32-bit protected mode with flat segments and paging off.
 *
 * The vCPU starts with RFLAGS = 2 (interrupts off) and the other
 * general registers (RSP included) zero, unless stated above.
 */
int mvm_load(struct mvm *vm, struct mvm_vcpu *vcpu, const void *image,
	     size_t size, struct mvm_boot *boot);

/* Shorthands for mvm_load() with one format. */
int mvm_load_flat(struct mvm *vm, struct mvm_vcpu *vcpu, const void *image,
		  size_t size, uint64_t addr);
int mvm_load_elf(struct mvm *vm, struct mvm_vcpu *vcpu, const void *image,
		 size_t size);
int mvm_load_multiboot(struct mvm *vm, struct mvm_vcpu *vcpu,
		       const void *image, size_t size, const char *cmdline,
		       const struct mvm_module *modules,
		       unsigned int nr_modules);

/* ---- Linux kernels and the platform they find ------------------- */

/*
 * What the guest finds instead of firmware (Documentation/linux-guest.rst):
 * the boot parameters ("zero page"), the command line, the loader's GDT
 * and page tables, and ACPI tables in the PC's BIOS area.
 */
#define MVM_LINUX_PARAMS_ADDR	0x7000		/* struct boot_params */
#define MVM_LINUX_CMDLINE_ADDR	0x20000
#define MVM_LINUX_CMDLINE_MAX	0x10000		/* bytes there, NUL included */
#define MVM_LINUX_CPU_DATA_ADDR	0x30000		/* GDT, page tables */
#define MVM_LINUX_LOW_END	0x9fc00		/* usable RAM below 1 MiB */
#define MVM_ACPI_ADDR		0xe0000		/* RSDP, then the tables */
#define MVM_ACPI_SIZE		0x10000
#define MVM_BIOS_END		0x100000

/* Devices the ACPI tables describe. */
#define MVM_LAPIC_ADDR		0xfee00000ULL
#define MVM_IOAPIC_ADDR		0xfec00000ULL
#define MVM_ACPI_SLEEP_CONTROL	0x600	/* FADT SLEEP_CONTROL_REG (8 bits) */
#define MVM_ACPI_SLEEP_STATUS	0x601	/* FADT SLEEP_STATUS_REG (8 bits) */
#define MVM_ACPI_SLP_TYP_S5	5	/* \_S5's SLP_TYP */
#define MVM_ACPI_SLP_TYP(v)	(((v) >> 2) & 7)
#define MVM_ACPI_SLP_EN		0x20
#define MVM_ACPI_RESET_PORT	0x64	/* FADT RESET_REG: the keyboard */
#define MVM_ACPI_RESET_VALUE	0xfe	/* controller's reset command */

/* The e820 types the memory map uses. */
#define MVM_E820_RAM		1
#define MVM_E820_RESERVED	2

/**
 * struct mvm_e820_entry - one range of the BIOS memory map (e820)
 * @addr:	its first byte
 * @size:	its length in bytes
 * @type:	MVM_E820_RAM or MVM_E820_RESERVED
 */
struct mvm_e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

enum mvm_linux_kind {
	MVM_LINUX_BZIMAGE = 1,	/* the x86 boot protocol's bzImage */
	MVM_LINUX_VMLINUX,	/* an uncompressed ELF64 vmlinux */
};

/**
 * struct mvm_linux_kernel - what mvm_linux_probe() found in a kernel
 * @kind:	a bzImage or a vmlinux
 * @version:	bzImage: its boot protocol version (0x20f is 2.15)
 * @load_addr:	where it goes in guest memory (its preferred address)
 * @mem_size:	bytes from @load_addr it needs (bzImage: init_size, for
 *		decompressing in place; vmlinux: its segments, bss included)
 * @entry:	the 64-bit entry point (guest physical)
 * @initrd_max:	the highest address an initrd may use
 * @cmdline_max: the longest command line it takes, NUL excluded
 * @setup_size:	bzImage: bytes of real-mode setup before the
 *		protected-mode kernel in the file
 */
struct mvm_linux_kernel {
	enum mvm_linux_kind kind;
	unsigned int version;
	uint64_t load_addr;
	uint64_t mem_size;
	uint64_t entry;
	uint64_t initrd_max;
	uint32_t cmdline_max;
	uint64_t setup_size;
};

/*
 * Check that @image is a Linux kernel this loader boots: a bzImage with
 * boot protocol 2.12 or later, loaded high, with a 64-bit entry point;
 * or an x86-64 ELF executable with Linux's or Xen's ELF notes (a
 * vmlinux). 0 with @k filled, or -EINVAL and one line for mvm_strerror().
 */
int mvm_linux_probe(const void *image, size_t size,
		    struct mvm_linux_kernel *k);

/*
 * The e820 memory map of a VM with @mem_size bytes of RAM (laid out as
 * mvm_create() does): at most @max entries in @map; their count.
 */
unsigned int mvm_linux_e820(uint64_t mem_size, struct mvm_e820_entry *map,
			    unsigned int max);

/**
 * struct mvm_linux_params - where the loader put what the kernel needs
 * @mem_size:	bytes of guest RAM
 * @cmdline_addr: guest physical address of the command line
 * @cmdline_len: its length, NUL excluded
 * @initrd_addr: guest physical address of the initrd (0: none)
 * @initrd_size: its size in bytes
 * @rsdp_addr:	the ACPI RSDP (0: none)
 */
struct mvm_linux_params {
	uint64_t mem_size;
	uint64_t cmdline_addr;
	uint32_t cmdline_len;
	uint64_t initrd_addr, initrd_size;
	uint64_t rsdp_addr;
};

/*
 * Fill the 4 KiB at @zero_page as the boot_params of @image (probed into
 * @k): its setup header (a bzImage's own, or one made for a vmlinux),
 * the loader type 0xff, the command line, initrd, e820 map and RSDP of
 * @p. 0, or -errno with the message set.
 */
int mvm_linux_boot_params(void *zero_page, const void *image, size_t size,
			  const struct mvm_linux_kernel *k,
			  const struct mvm_linux_params *p);

/*
 * ACPI tables for a PC with @nr_cpus CPUs, written to @buf for guest
 * physical @gpa (16-byte aligned): the RSDP at @gpa, then an XSDT, an
 * RSDT, a hardware-reduced FADT, a DSDT with \_S5 and a MADT (the CPUs'
 * local APICs, the I/O APIC, IRQ 0 -> GSI 2). Their size in bytes, or
 * -E2BIG (@len too small) or -EINVAL with the message set.
 */
int mvm_acpi_tables(void *buf, size_t len, uint64_t gpa,
		    unsigned int nr_cpus);

/* struct mvm_acpi_device.flags */
#define MVM_ACPI_DEV_LEVEL	(1U << 0)	/* level-triggered, else edge */
/* Devices one DSDT lists besides the UART, at most. */
#define MVM_ACPI_MAX_DEVICES	8

/**
 * struct mvm_acpi_device - a memory-mapped device the DSDT lists
 * @name:	its ACPI name under \_SB: 4 characters, A-Z, 0-9 (not first)
 *		and _
 * @hid:	its _HID, 1 to 8 characters (virtio-mmio: "LNRO0005")
 * @addr:	its register window (Memory32Fixed), below 4 GiB
 * @size:	the window's size in bytes, not zero
 * @gsi:	its interrupt (an I/O APIC pin), active high
 * @flags:	MVM_ACPI_DEV_LEVEL for a level-triggered interrupt, else 0
 *		(edge)
 */
struct mvm_acpi_device {
	const char *name;
	const char *hid;
	uint64_t addr;
	uint32_t size;
	uint32_t gsi;
	uint32_t flags;
};

/*
 * mvm_acpi_tables() whose DSDT also lists @nr_devs devices (at most
 * MVM_ACPI_MAX_DEVICES), each as Device (NAME) with _HID, _UID (its
 * index) and a _CRS of its window and interrupt. A bad device is
 * -EINVAL with the message set.
 */
int mvm_acpi_tables_devices(void *buf, size_t len, uint64_t gpa,
			    unsigned int nr_cpus,
			    const struct mvm_acpi_device *devs,
			    unsigned int nr_devs);

/**
 * struct mvm_linux_boot - what to boot with a Linux kernel; what was done
 * @cmdline:	the kernel command line, or NULL
 * @initrd:	the initrd (initramfs) contents, or NULL
 * @initrd_size: bytes at @initrd
 * @nr_cpus:	CPUs the ACPI tables describe (0: 1)
 *
 * Filled in by mvm_load_linux():
 * @kernel:	what mvm_linux_probe() found
 * @params:	where everything went
 * @params_addr: the boot_params (RSI at the entry)
 * @acpi_addr:	the ACPI tables, @acpi_size bytes
 * @acpi_size:	see @acpi_addr
 */
struct mvm_linux_boot {
	const char *cmdline;
	const void *initrd;
	size_t initrd_size;
	unsigned int nr_cpus;

	struct mvm_linux_kernel kernel;
	struct mvm_linux_params params;
	uint64_t params_addr;
	uint64_t acpi_addr, acpi_size;
};

/*
 * Boot a Linux kernel (bzImage or vmlinux) through the 64-bit boot
 * protocol: the kernel at its preferred address, the initrd as high as
 * its limits allow, the boot_params, command line and ACPI tables at the
 * addresses above; @vcpu in long mode at the entry point with the first
 * 4 GiB identity mapped, CS = 0x10 and the data segments 0x18 (flat),
 * RSI = the boot_params and interrupts off.
 */
int mvm_load_linux(struct mvm *vm, struct mvm_vcpu *vcpu, const void *image,
		   size_t size, struct mvm_linux_boot *boot);

/* Read a whole file into a malloc()ed buffer. */
int mvm_read_file(const char *path, void **data, size_t *size);

/* ---- errors and names --------------------------------------------- */

/*
 * One line saying what the last failing call on @vm did and why; with a
 * NULL @vm, the last failure of any call in this thread.
 */
const char *mvm_strerror(struct mvm *vm);

/* A name for a MINIVMM_EXIT_* value ("io", "hlt", ...). */
const char *mvm_exit_name(uint32_t reason);

#ifdef __cplusplus
}
#endif

#endif /* LIBMINIVMM_H */

// SPDX-License-Identifier: LGPL-2.1
/*
 * libminivmm: Linux kernels, booted through the x86 boot protocol's 64-bit
 * entry (Documentation/x86/boot.rst of the kernel), as a boot loader with
 * no firmware behind it would.
 *
 * A bzImage's protected-mode part goes to its preferred address and is
 * entered at its 64-bit entry (0x200 in); it decompresses the kernel in
 * place, within init_size bytes. An uncompressed vmlinux is loaded by its
 * ELF segments' physical addresses and entered at startup_64, its ELF
 * entry, with the same boot_params: one set-up serves both, where PVH
 * would need a second (32-bit, hvm_start_info) one.
 *
 * Guest physical layout (Documentation/linux-guest.rst):
 *   0x7000	boot_params
 *   0x20000	command line
 *   0x30000	GDT and identity-mapping page tables
 *   0xe0000	ACPI tables (RSDP first)
 *   0xffff0	the reset vector: a reset through the keyboard controller
 *   load_addr	the kernel (0x1000000 for Debian's), init_size bytes
 *   top	the initrd, page-aligned, as high as RAM and its limit allow
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/elf.h>

#include "internal.h"

/* Offsets in the bzImage file and in struct boot_params. */
#define BP_ACPI_RSDP	0x070	/* u64, protocol 2.14 */
#define BP_EXT_RAMDISK	0x0c0	/* u32 image, u32 size: bits 32-63 */
#define BP_EXT_CMDLINE	0x0c8
#define BP_E820_ENTRIES	0x1e8
#define BP_SENTINEL	0x1ef
#define BP_E820_TABLE	0x2d0
#define BP_E820_MAX	128

/* The setup header (struct setup_header), at 0x1f1. */
#define HDR_START	0x1f1
#define HDR_SETUP_SECTS	0x1f1
#define HDR_SYSSIZE	0x1f4
#define HDR_VID_MODE	0x1fa
#define HDR_BOOT_FLAG	0x1fe
#define HDR_JUMP	0x200
#define HDR_MAGIC	0x202
#define HDR_VERSION	0x206
#define HDR_LOADER	0x210
#define HDR_LOADFLAGS	0x211
#define HDR_CODE32	0x214
#define HDR_RAMDISK	0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END	0x224
#define HDR_CMDLINE	0x228
#define HDR_INITRD_MAX	0x22c
#define HDR_ALIGN	0x230
#define HDR_RELOCATABLE	0x234
#define HDR_XLOADFLAGS	0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDR	0x258
#define HDR_INIT_SIZE	0x260
#define HDR_END_MIN	0x264	/* through init_size: protocol 2.10 */

#define BOOT_FLAG	0xaa55
#define HDR_SIGNATURE	0x53726448	/* "HdrS" */
#define MIN_VERSION	0x020c		/* xloadflags */
#define VMLINUX_VERSION	0x020f		/* what we say a vmlinux speaks */
#define LOADED_HIGH	(1U << 0)
#define CAN_USE_HEAP	(1U << 7)
#define XLF_KERNEL_64	(1U << 0)
#define LOADER_UNDEFINED 0xff		/* type_of_loader: no registered id */
#define VGA_NORMAL	0xffff		/* vid_mode: "normal" */
#define ENTRY_64	0x200		/* the 64-bit entry in the kernel */
#define DEFAULT_LOAD	0x1000000ULL	/* LOAD_PHYSICAL_ADDR of x86-64 */
#define DEFAULT_ALIGN	0x200000ULL
#define DEFAULT_CMDLINE_MAX 255		/* before protocol 2.06 */
#define DEFAULT_INITRD_MAX 0x37ffffffULL

/* The boot protocol's selectors: __BOOT_CS and __BOOT_DS. */
#define BOOT_CS		0x10
#define BOOT_DS		0x18
#define GDT_CODE64	0x00af9b000000ffffULL
#define GDT_DATA	0x00cf93000000ffffULL

/* Xen's and Linux's ELF note owners: what makes an ELF file a kernel. */
#define NOTE_XEN	"Xen"
#define NOTE_LINUX	"Linux"

static uint16_t get16(const uint8_t *p, size_t off)
{
	return p[off] | p[off + 1] << 8;
}

static uint32_t get32(const uint8_t *p, size_t off)
{
	return get16(p, off) | (uint32_t)get16(p, off + 2) << 16;
}

static uint64_t get64(const uint8_t *p, size_t off)
{
	return get32(p, off) | (uint64_t)get32(p, off + 4) << 32;
}

static void put16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = v;
	p[off + 1] = v >> 8;
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	put16(p, off, v);
	put16(p, off + 2, v >> 16);
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	put32(p, off, v);
	put32(p, off + 4, v >> 32);
}

/* Does a PT_NOTE segment of the ELF64 file carry Linux's or Xen's notes? */
static bool has_kernel_note(const uint8_t *img, size_t size,
			    const struct elf64_hdr *eh)
{
	struct elf64_phdr ph;
	struct elf64_note n;
	uint64_t off, end;
	unsigned int i;

	for (i = 0; i < eh->e_phnum; i++) {
		memcpy(&ph, img + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_NOTE || ph.p_offset > size ||
		    ph.p_filesz > size - ph.p_offset)
			continue;
		off = ph.p_offset;
		end = ph.p_offset + ph.p_filesz;
		while (end - off >= sizeof(n)) {
			memcpy(&n, img + off, sizeof(n));
			off += sizeof(n);
			if (n.n_namesz > end - off)
				break;
			if ((n.n_namesz == sizeof(NOTE_XEN) &&
			     !memcmp(img + off, NOTE_XEN, sizeof(NOTE_XEN))) ||
			    (n.n_namesz == sizeof(NOTE_LINUX) &&
			     !memcmp(img + off, NOTE_LINUX,
				     sizeof(NOTE_LINUX))))
				return true;
			off += (n.n_namesz + 3) & ~3ULL;
			if (off > end || n.n_descsz > end - off)
				break;
			off += (n.n_descsz + 3) & ~3ULL;
		}
	}
	return false;
}

/*
 * The PT_LOAD segments of a vmlinux, at their physical addresses. Its
 * entry (phys_startup_64) is a physical address already; an entry at a
 * virtual one is moved by the segment that holds it. Returns the count
 * of segments (in @segs, if not NULL), or -errno with the message set.
 */
static int vmlinux_segments(struct mvm *vm, const uint8_t *img, size_t size,
			    struct mvm_segment *segs, unsigned int max,
			    uint64_t *lo, uint64_t *hi, uint64_t *entry)
{
	const struct elf64_hdr *eh = (const void *)img;
	bool entry_found = false;
	struct elf64_phdr ph;
	unsigned int i, n = 0;

	*lo = UINT64_MAX;
	*hi = 0;
	*entry = eh->e_entry;
	for (i = 0; i < eh->e_phnum; i++) {
		memcpy(&ph, img + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset ||
		    ph.p_filesz > ph.p_memsz ||
		    ph.p_paddr + ph.p_memsz < ph.p_paddr)
			return mvm_fail(vm, 0,
					"truncated or bad vmlinux: segment %u (%#llx bytes at offset %#llx) is not in the file's %zu bytes",
					i, (unsigned long long)ph.p_filesz,
					(unsigned long long)ph.p_offset, size);
		if (n >= max)
			return mvm_fail(vm, 0,
					"vmlinux with more than %u loadable segments",
					max);
		segs[n++] = (struct mvm_segment){
			.addr = ph.p_paddr, .filesz = ph.p_filesz,
			.memsz = ph.p_memsz, .data = img + ph.p_offset,
			.what = "vmlinux segment %u", .index = i,
		};
		if (ph.p_paddr < *lo)
			*lo = ph.p_paddr;
		if (ph.p_paddr + ph.p_memsz > *hi)
			*hi = ph.p_paddr + ph.p_memsz;
		if (eh->e_entry - ph.p_paddr < ph.p_memsz) {
			entry_found = true;
		} else if (!entry_found &&
			   eh->e_entry - ph.p_vaddr < ph.p_memsz) {
			*entry = ph.p_paddr + (eh->e_entry - ph.p_vaddr);
			entry_found = true;
		}
	}
	if (!n)
		return mvm_fail(vm, 0, "vmlinux without loadable segments");
	if (!entry_found)
		return mvm_fail(vm, 0,
				"vmlinux entry point %#llx is in none of its segments",
				(unsigned long long)eh->e_entry);
	return n;
}

#define MAX_SEGMENTS	16

static int probe_vmlinux(const uint8_t *img, size_t size,
			 struct mvm_linux_kernel *k)
{
	const struct elf64_hdr *eh = (const void *)img;
	struct mvm_segment segs[MAX_SEGMENTS];
	uint64_t lo, hi, entry;
	int n;

	if (size < sizeof(*eh) || img[EI_CLASS] != ELFCLASS64 ||
	    img[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64)
		return mvm_fail(NULL, 0,
				"an ELF file that is not x86-64 (ELF64) is not a Linux kernel this loader boots");
	if (eh->e_phentsize != sizeof(struct elf64_phdr) ||
	    eh->e_phoff > size ||
	    eh->e_phnum * sizeof(struct elf64_phdr) > size - eh->e_phoff)
		return mvm_fail(NULL, 0,
				"truncated or bad ELF file: its program headers are not in the file");
	if (!has_kernel_note(img, size, eh))
		return mvm_fail(NULL, 0,
				"an ELF file without Linux's or Xen's ELF notes is not a Linux kernel (vmlinux)");
	if (eh->e_type != ET_EXEC)
		return mvm_fail(NULL, 0,
				"vmlinux that is not an executable (ELF type %u)",
				eh->e_type);
	n = vmlinux_segments(NULL, img, size, segs, MAX_SEGMENTS, &lo, &hi,
			     &entry);
	if (n < 0)
		return n;
	*k = (struct mvm_linux_kernel){
		.kind = MVM_LINUX_VMLINUX, .load_addr = lo, .mem_size = hi - lo,
		.entry = entry, .initrd_max = DEFAULT_INITRD_MAX,
		/* COMMAND_LINE_SIZE of x86, NUL excluded */
		.cmdline_max = 2047,
	};
	return 0;
}

static int probe_bzimage(const uint8_t *img, size_t size,
			 struct mvm_linux_kernel *k)
{
	unsigned int version, sects;
	uint64_t align, load, init, payload;
	size_t hdr_end;

	/* The header ends where the jump at 0x200 lands. */
	hdr_end = HDR_JUMP + 2 + img[HDR_JUMP + 1];
	if (size < HDR_END_MIN || size < hdr_end)
		return mvm_fail(NULL, 0,
				"truncated bzImage: the file ends at %#zx, in its setup header",
				size);
	version = get16(img, HDR_VERSION);
	if (version < MIN_VERSION)
		return mvm_fail(NULL, 0,
				"bzImage with boot protocol %u.%02u: 2.12 or later is needed (64-bit entry, xloadflags)",
				version >> 8, version & 0xff);
	if (hdr_end < HDR_END_MIN || hdr_end > BP_E820_TABLE)
		return mvm_fail(NULL, 0,
				"bad bzImage: its setup header ends at %#zx",
				hdr_end);
	if (!(img[HDR_LOADFLAGS] & LOADED_HIGH))
		return mvm_fail(NULL, 0,
				"zImage (not loaded high): only bzImages are booted");
	if (!(get16(img, HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return mvm_fail(NULL, 0,
				"bzImage without a 64-bit entry point (xloadflags bit 0)");
	sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	k->setup_size = (sects + 1) * 512ULL;
	payload = get32(img, HDR_SYSSIZE) * 16ULL;
	if (k->setup_size >= size || payload > size - k->setup_size)
		return mvm_fail(NULL, 0,
				"truncated bzImage: %llu bytes of setup and %llu of kernel, the file has %zu",
				(unsigned long long)k->setup_size,
				(unsigned long long)payload, size);

	align = get32(img, HDR_ALIGN);
	if (!align || (align & (align - 1)))
		align = DEFAULT_ALIGN;
	load = get64(img, HDR_PREF_ADDR);
	if (img[HDR_RELOCATABLE] && (!load || (load & (align - 1))))
		load = (DEFAULT_LOAD + align - 1) & ~(align - 1);
	if (!load)
		load = DEFAULT_LOAD;
	init = get32(img, HDR_INIT_SIZE);
	if (init < size - k->setup_size)
		init = size - k->setup_size;

	k->kind = MVM_LINUX_BZIMAGE;
	k->version = version;
	k->load_addr = load;
	k->mem_size = PAGE_ALIGN(init);
	k->entry = load + ENTRY_64;
	k->initrd_max = get32(img, HDR_INITRD_MAX);
	k->cmdline_max = version >= 0x0206 ? get32(img, HDR_CMDLINE_SIZE) :
					     DEFAULT_CMDLINE_MAX;
	return 0;
}

int mvm_linux_probe(const void *image, size_t size,
		    struct mvm_linux_kernel *k)
{
	const uint8_t *img = image;

	memset(k, 0, sizeof(*k));
	if (!size)
		return mvm_fail(NULL, 0,
				"an empty file is not a Linux kernel");
	if (size >= SELFMAG && !memcmp(img, ELFMAG, SELFMAG))
		return probe_vmlinux(img, size, k);
	if (size >= HDR_BOOT_FLAG + 2 &&
	    get16(img, HDR_BOOT_FLAG) == BOOT_FLAG) {
		if (size < HDR_MAGIC + 4)
			return mvm_fail(NULL, 0,
					"truncated bzImage: the file ends at %#zx, before its setup header",
					size);
		if (get32(img, HDR_MAGIC) == HDR_SIGNATURE)
			return probe_bzimage(img, size, k);
		return mvm_fail(NULL, 0,
				"a boot sector without Linux's setup header (\"HdrS\" at 0x202) is not a bzImage");
	}
	return mvm_fail(NULL, 0,
			"not a Linux kernel: neither a bzImage (boot flag 0xaa55 and \"HdrS\" at 0x202) nor an x86-64 ELF vmlinux");
}

unsigned int mvm_linux_e820(uint64_t mem_size, struct mvm_e820_entry *map,
			    unsigned int max)
{
	uint64_t low = mem_size < MVM_LOW_RAM_MAX ? mem_size : MVM_LOW_RAM_MAX;
	struct mvm_e820_entry all[4];
	unsigned int n = 0;

	/* Conventional memory, then the EBDA and BIOS area (ACPI here). */
	all[n++] = (struct mvm_e820_entry){
		0, low < MVM_LINUX_LOW_END ? low : MVM_LINUX_LOW_END,
		MVM_E820_RAM,
	};
	if (low > MVM_LINUX_LOW_END)
		all[n++] = (struct mvm_e820_entry){
			MVM_LINUX_LOW_END,
			(low < MVM_BIOS_END ? low : MVM_BIOS_END) -
			MVM_LINUX_LOW_END, MVM_E820_RESERVED,
		};
	if (low > MVM_BIOS_END)
		all[n++] = (struct mvm_e820_entry){
			MVM_BIOS_END, low - MVM_BIOS_END, MVM_E820_RAM,
		};
	/* What mvm_create() puts above the hole below 4 GiB. */
	if (mem_size > low)
		all[n++] = (struct mvm_e820_entry){
			MVM_HIGH_RAM_BASE, mem_size - low, MVM_E820_RAM,
		};
	if (n > max)
		n = max;
	memcpy(map, all, n * sizeof(*map));
	return n;
}

/* The setup header of a vmlinux, which has none: what a bzImage says. */
static void vmlinux_header(uint8_t *bp, const struct mvm_linux_kernel *k)
{
	put16(bp, HDR_BOOT_FLAG, BOOT_FLAG);
	put32(bp, HDR_MAGIC, HDR_SIGNATURE);
	put16(bp, HDR_VERSION, VMLINUX_VERSION);
	bp[HDR_LOADFLAGS] = LOADED_HIGH;
	put32(bp, HDR_CODE32, k->load_addr);
	put32(bp, HDR_INITRD_MAX, k->initrd_max);
	put32(bp, HDR_ALIGN, DEFAULT_ALIGN);
	put16(bp, HDR_XLOADFLAGS, XLF_KERNEL_64);
	put32(bp, HDR_CMDLINE_SIZE, k->cmdline_max);
	put64(bp, HDR_PREF_ADDR, k->load_addr);
	put32(bp, HDR_INIT_SIZE, k->mem_size);
}

int mvm_linux_boot_params(void *zero_page, const void *image, size_t size,
			  const struct mvm_linux_kernel *k,
			  const struct mvm_linux_params *p)
{
	struct mvm_e820_entry map[BP_E820_MAX];
	const uint8_t *img = image;
	uint8_t *bp = zero_page;
	size_t hdr_end;
	unsigned int n;

	if (p->cmdline_len > k->cmdline_max)
		return mvm_fail(NULL, 0,
				"a command line of %u bytes is longer than the kernel takes (%u)",
				p->cmdline_len, k->cmdline_max);
	if (p->initrd_size &&
	    p->initrd_addr + p->initrd_size - 1 > k->initrd_max)
		return mvm_fail(NULL, 0,
				"the initrd at %#llx-%#llx is above the kernel's limit %#llx",
				(unsigned long long)p->initrd_addr,
				(unsigned long long)(p->initrd_addr +
						     p->initrd_size),
				(unsigned long long)k->initrd_max);
	memset(bp, 0, PAGE_SIZE);
	if (k->kind == MVM_LINUX_BZIMAGE) {
		hdr_end = HDR_JUMP + 2 + img[HDR_JUMP + 1];
		if (size < hdr_end || hdr_end > BP_E820_TABLE)
			return mvm_fail(NULL, 0,
					"bad bzImage: its setup header ends at %#zx",
					hdr_end);
		memcpy(bp + HDR_START, img + HDR_START, hdr_end - HDR_START);
	} else {
		vmlinux_header(bp, k);
	}
	/* No video mode to set: there is no VGA, screen_info stays zero. */
	put16(bp, HDR_VID_MODE, VGA_NORMAL);
	bp[HDR_LOADER] = LOADER_UNDEFINED;
	put32(bp, HDR_CMDLINE, p->cmdline_addr);
	put32(bp, BP_EXT_CMDLINE, p->cmdline_addr >> 32);
	put32(bp, HDR_RAMDISK, p->initrd_size ? p->initrd_addr : 0);
	put32(bp, HDR_RAMDISK_SIZE, p->initrd_size);
	put32(bp, BP_EXT_RAMDISK, p->initrd_size ? p->initrd_addr >> 32 : 0);
	put32(bp, BP_EXT_RAMDISK + 4, p->initrd_size >> 32);
	put64(bp, BP_ACPI_RSDP, p->rsdp_addr);

	n = mvm_linux_e820(p->mem_size, map, BP_E820_MAX);
	bp[BP_E820_ENTRIES] = n;
	memcpy(bp + BP_E820_TABLE, map, n * sizeof(map[0]));
	return 0;
}

/* The kernel's bytes, where it runs. */
static int place_kernel(struct mvm *vm, const uint8_t *img, size_t size,
			const struct mvm_linux_kernel *k)
{
	struct mvm_segment segs[MAX_SEGMENTS];
	uint64_t lo, hi, entry;
	int n;

	if (k->kind == MVM_LINUX_BZIMAGE) {
		memcpy(mvm_gpa(vm, k->load_addr, size - k->setup_size),
		       img + k->setup_size, size - k->setup_size);
		return 0;
	}
	n = vmlinux_segments(vm, img, size, segs, MAX_SEGMENTS, &lo, &hi,
			     &entry);
	if (n < 0)
		return n;
	return mvm_place_segments(vm, segs, n);
}

/* The initrd as high as the kernel allows, above the kernel. */
static int place_initrd(struct mvm *vm, struct mvm_linux_boot *boot)
{
	const struct mvm_linux_kernel *k = &boot->kernel;
	uint64_t kend = k->load_addr + k->mem_size;
	uint64_t top = vm->ram[0].gpa + vm->ram[0].size;
	uint64_t size = boot->initrd_size, at;

	if (!size)
		return 0;
	if (top > k->initrd_max + 1)
		top = k->initrd_max + 1;
	at = (top - size) & ~(PAGE_SIZE - 1);
	if (size > top || at < kend)
		return mvm_fail(vm, E2BIG,
				"the initrd (%llu KiB) does not fit in guest RAM between the kernel's end %#llx and %#llx",
				(unsigned long long)size >> 10,
				(unsigned long long)kend,
				(unsigned long long)top);
	memcpy(mvm_gpa(vm, at, size), boot->initrd, size);
	boot->params.initrd_addr = at;
	boot->params.initrd_size = size;
	return 0;
}

/* Long mode as the 64-bit boot protocol wants it. */
static int setup_cpu(struct mvm *vm, struct mvm_vcpu *vcpu, uint64_t entry)
{
	uint64_t size = mvm_cpu_data_size(vm, MVM_MODE_LONG);
	struct minivmm_sregs s;
	struct minivmm_regs r;
	uint64_t *gdt;
	int ret;

	if (MVM_LINUX_CPU_DATA_ADDR + size > MVM_LINUX_LOW_END)
		return mvm_fail(vm, E2BIG,
				"guest memory too large: its page tables (%llu KiB) do not fit below 640 KiB",
				(unsigned long long)size >> 10);
	ret = mvm_setup_cpu(vm, vcpu, MVM_MODE_LONG, MVM_LINUX_CPU_DATA_ADDR,
			    entry, 0, 0);
	if (ret)
		return ret;
	/* __BOOT_CS and __BOOT_DS, where the kernel expects them. */
	gdt = mvm_gpa(vm, MVM_LINUX_CPU_DATA_ADDR, 4 * sizeof(*gdt));
	gdt[BOOT_CS / 8] = GDT_CODE64;
	gdt[BOOT_DS / 8] = GDT_DATA;
	ret = mvm_get_sregs(vcpu, &s);
	if (ret)
		return ret;
	s.cs.selector = BOOT_CS;
	s.ds.selector = BOOT_DS;
	s.es.selector = BOOT_DS;
	s.fs.selector = BOOT_DS;
	s.gs.selector = BOOT_DS;
	s.ss.selector = BOOT_DS;
	ret = mvm_set_sregs(vcpu, &s);
	if (ret)
		return ret;
	ret = mvm_get_regs(vcpu, &r);
	if (ret)
		return ret;
	r.rsi = MVM_LINUX_PARAMS_ADDR;
	return mvm_set_regs(vcpu, &r);
}

/* Give @vm the message of a failure of a call without a VM. */
/*
 * What a PC's firmware has at its reset vector, 0xffff0 (0xf000:0xfff0 in
 * real mode), with none behind it: a pulse of the reset line through the
 * keyboard controller, which ends the run with the reset's status (a halt
 * should nothing answer). Linux on a hardware-reduced ACPI platform
 * reboots through EFI first, and without EFI through the firmware
 * (machine_real_restart(): real mode, then a jump there) before it tries
 * the FADT's reset register.
 */
#define RESET_VECTOR	0xffff0
static const uint8_t reset_stub[] = {
	0xb0, 0xfe,		/* mov $0xfe, %al */
	0xe6, 0x64,		/* out %al, $0x64 */
	0xfa,			/* cli */
	0xf4,			/* 1: hlt */
	0xeb, 0xfd,		/* jmp 1b */
};

static int vm_failed(struct mvm *vm, int ret)
{
	mvm_fail(vm, 0, "%s", mvm_strerror(NULL));
	return ret;
}

int mvm_load_linux(struct mvm *vm, struct mvm_vcpu *vcpu, const void *image,
		   size_t size, struct mvm_linux_boot *boot)
{
	struct mvm_linux_kernel *k = &boot->kernel;
	struct mvm_linux_params *p = &boot->params;
	size_t len = boot->cmdline ? strlen(boot->cmdline) : 0;
	void *acpi;
	int ret;

	memset(p, 0, sizeof(*p));
	boot->params_addr = 0;
	boot->acpi_addr = 0;
	boot->acpi_size = 0;
	ret = mvm_linux_probe(image, size, k);
	if (ret)
		return vm_failed(vm, ret);
	if (mvm_mem_end(vm) < MVM_BIOS_END || k->load_addr < MVM_BIOS_END)
		return mvm_fail(vm, E2BIG,
				"the kernel needs guest RAM at %#llx-%#llx, and the PC's first MiB",
				(unsigned long long)k->load_addr,
				(unsigned long long)(k->load_addr + k->mem_size));
	if (!mvm_gpa(vm, k->load_addr, k->mem_size))
		return mvm_fail(vm, E2BIG,
				"the kernel needs guest RAM at %#llx-%#llx (%llu MiB from 0): more than the VM's %llu MiB",
				(unsigned long long)k->load_addr,
				(unsigned long long)(k->load_addr + k->mem_size),
				(unsigned long long)(k->load_addr + k->mem_size +
						     (1 << 20) - 1) >> 20,
				(unsigned long long)vm->mem_size >> 20);
	if (len > k->cmdline_max || len >= MVM_LINUX_CMDLINE_MAX)
		return mvm_fail(vm, 0,
				"a command line of %zu bytes is longer than the kernel takes (%u)",
				len, k->cmdline_max);

	ret = place_kernel(vm, image, size, k);
	if (ret)
		return ret;
	ret = place_initrd(vm, boot);
	if (ret)
		return ret;
	p->mem_size = vm->mem_size;
	p->cmdline_addr = MVM_LINUX_CMDLINE_ADDR;
	p->cmdline_len = len;
	memcpy(mvm_gpa(vm, p->cmdline_addr, len + 1),
	       boot->cmdline ? boot->cmdline : "", len + 1);

	acpi = mvm_gpa(vm, MVM_ACPI_ADDR, MVM_ACPI_SIZE);
	ret = mvm_acpi_tables(acpi, MVM_ACPI_SIZE, MVM_ACPI_ADDR,
			      boot->nr_cpus ? boot->nr_cpus : 1);
	if (ret < 0)
		return vm_failed(vm, ret);
	boot->acpi_addr = MVM_ACPI_ADDR;
	boot->acpi_size = ret;
	p->rsdp_addr = MVM_ACPI_ADDR;
	memcpy(mvm_gpa(vm, RESET_VECTOR, sizeof(reset_stub)), reset_stub,
	       sizeof(reset_stub));

	ret = mvm_linux_boot_params(mvm_gpa(vm, MVM_LINUX_PARAMS_ADDR,
					    PAGE_SIZE),
				    image, size, k, p);
	if (ret)
		return vm_failed(vm, ret);
	boot->params_addr = MVM_LINUX_PARAMS_ADDR;
	return setup_cpu(vm, vcpu, k->entry);
}

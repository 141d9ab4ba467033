// SPDX-License-Identifier: LGPL-2.1
/*
 * libminivmm: multiboot v1 kernels, booted the way QEMU's -kernel does.
 *
 * Guest physical layout: the kernel where its ELF segments (or its
 * header's a.out-kludge addresses) say; the modules page-aligned after
 * it; the multiboot information, with the GDT, the memory map, the
 * module list and every string, in the lowest free pages below 4 MiB
 * above page 0.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/elf.h>

#include "internal.h"

/* Header flags. */
#define MB_PAGE_ALIGN	(1U << 0)	/* modules on page boundaries */
#define MB_MEMORY_INFO	(1U << 1)	/* mem_* (and mmap_*) wanted */
#define MB_VIDEO_MODE	(1U << 2)	/* a video mode wanted: ignored */
#define MB_AOUT_KLUDGE	(1U << 16)	/* load by the header's addresses */
#define MB_KNOWN	(MB_PAGE_ALIGN | MB_MEMORY_INFO | MB_VIDEO_MODE)

/* Information flags. */
#define MBI_MEM		(1U << 0)
#define MBI_CMDLINE	(1U << 2)
#define MBI_MODS	(1U << 3)
#define MBI_MMAP	(1U << 6)
#define MBI_LOADER_NAME	(1U << 9)

#define MB_MEM_AVAILABLE	1
#define MB_MEM_RESERVED		2

#define LOW_MEM_END	0xa0000ULL	/* 640 KiB */
#define HIGH_MEM_START	0x100000ULL	/* 1 MiB */
#define INFO_LIMIT	0x400000ULL	/* the information goes below 4 MiB */
#define GDT_BYTES	32
#define MAX_MMAP	4
#define LOADER_NAME	"minivmm"

struct mb_header {
	uint32_t magic, flags, checksum;
	/* valid with MB_AOUT_KLUDGE */
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr;
	uint32_t entry_addr;
};

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe[4];
	uint32_t framebuffer[7];
};

struct mb_mmap {
	uint32_t size;		/* of the rest: 20 */
	uint64_t base, length;
	uint32_t type;
} __attribute__((packed));

struct mb_module {
	uint32_t start, end;	/* [start, end) */
	uint32_t string;
	uint32_t reserved;
};

long mvm_multiboot_header(const void *image, size_t size)
{
	const uint8_t *img = image;
	uint32_t h[3];
	size_t off;

	for (off = 0; off + 12 <= size && off < MVM_MULTIBOOT_SEARCH;
	     off += 4) {
		memcpy(h, img + off, sizeof(h));
		if (h[0] == MVM_MULTIBOOT_MAGIC && !(uint32_t)(h[0] + h[1] + h[2]))
			return off;
	}
	return -1;
}

/* The kernel's one piece, from the a.out-kludge fields of its header. */
static int aout_segment(struct mvm *vm, const uint8_t *img, size_t size,
			long hoff, const struct mb_header *h,
			struct mvm_segment *seg, uint64_t *entry)
{
	uint64_t file_off, load_end, bss_end;

	if (hoff + sizeof(*h) > size)
		return mvm_fail(vm, 0,
				"truncated multiboot header: the a.out-kludge addresses (flag 16) are beyond the end of the file");
	if (h->load_addr > h->header_addr ||
	    h->header_addr - h->load_addr > (uint64_t)hoff)
		return mvm_fail(vm, 0,
				"bad multiboot header: header_addr %#x and load_addr %#x put the image's start before the start of the file",
				h->header_addr, h->load_addr);
	file_off = hoff - (h->header_addr - h->load_addr);
	load_end = h->load_end_addr ? h->load_end_addr :
				      h->load_addr + (size - file_off);
	if (load_end < h->load_addr)
		return mvm_fail(vm, 0,
				"bad multiboot header: load_end_addr %#x is below load_addr %#x",
				h->load_end_addr, h->load_addr);
	if (load_end - h->load_addr > size - file_off)
		return mvm_fail(vm, 0,
				"truncated multiboot image: load_end_addr %#x is beyond the end of the file",
				h->load_end_addr);
	bss_end = h->bss_end_addr ? h->bss_end_addr : load_end;
	if (bss_end < load_end)
		return mvm_fail(vm, 0,
				"bad multiboot header: bss_end_addr %#x is below the end of the loaded image %#llx",
				h->bss_end_addr, (unsigned long long)load_end);
	*seg = (struct mvm_segment){
		.addr = h->load_addr, .filesz = load_end - h->load_addr,
		.memsz = bss_end - h->load_addr, .data = img + file_off,
		.what = "the kernel image", .index = 0,
	};
	*entry = h->entry_addr;
	return 1;
}

/* The kernel's pieces: its ELF32 segments or its a.out-kludge image. */
static int kernel_segments(struct mvm *vm, const uint8_t *img, size_t size,
			   struct mvm_segment **segs, uint64_t *entry,
			   unsigned int *elf_class)
{
	struct mb_header h = { 0 };
	long hoff;
	int n;

	hoff = mvm_multiboot_header(img, size);
	if (hoff < 0)
		return mvm_fail(vm, 0,
				"no multiboot header (magic %#x with a valid checksum) in the first %u KiB",
				MVM_MULTIBOOT_MAGIC, MVM_MULTIBOOT_SEARCH >> 10);
	memcpy(&h, img + hoff, size - hoff < sizeof(h) ? size - hoff :
							  sizeof(h));
	if (h.flags & 0xffff & ~MB_KNOWN)
		return mvm_fail(vm, 0,
				"the multiboot header requires features this loader lacks (flags %#x)",
				h.flags & 0xffff & ~MB_KNOWN);

	*elf_class = 0;
	if (h.flags & MB_AOUT_KLUDGE) {
		*segs = calloc(1, sizeof(**segs));
		if (!*segs)
			return mvm_fail(vm, ENOMEM, "loading the kernel");
		n = aout_segment(vm, img, size, hoff, &h, *segs, entry);
		if (n < 0) {
			free(*segs);
			*segs = NULL;
		}
		return n;
	}
	if (size < SELFMAG || memcmp(img, ELFMAG, SELFMAG))
		return mvm_fail(vm, 0,
				"multiboot kernel that is not an ELF file and has no a.out-kludge addresses (header flag 16)");
	n = mvm_elf_segments(vm, img, size, segs, entry, elf_class, false);
	if (n < 0)
		return n;
	if (*elf_class != ELFCLASS32) {
		free(*segs);
		*segs = NULL;
		return mvm_fail(vm, 0,
				"64-bit ELF multiboot kernel: multiboot v1 boots 32-bit ELF kernels (or a.out-kludge images)");
	}
	return n;
}

/* The memory map: RAM, with the PC's legacy hole below 1 MiB reserved. */
static unsigned int memory_map(struct mvm *vm, struct mb_mmap *map)
{
	unsigned int i, n = 0;

	for (i = 0; i < vm->nr_ram; i++) {
		uint64_t start = vm->ram[i].gpa;
		uint64_t end = start + vm->ram[i].size;

		if (start < LOW_MEM_END) {
			uint64_t e = end < LOW_MEM_END ? end : LOW_MEM_END;

			map[n++] = (struct mb_mmap){ 20, start, e - start,
						     MB_MEM_AVAILABLE };
			start = e;
		}
		if (start < HIGH_MEM_START && start < end) {
			uint64_t e = end < HIGH_MEM_START ? end :
							    HIGH_MEM_START;

			map[n++] = (struct mb_mmap){ 20, start, e - start,
						     MB_MEM_RESERVED };
			start = e;
		}
		if (start < end)
			map[n++] = (struct mb_mmap){ 20, start, end - start,
						     MB_MEM_AVAILABLE };
	}
	return n;
}

struct info_writer {
	uint8_t *host;
	uint64_t gpa;
	uint64_t used, size;
};

/* Room for @len bytes (8-byte aligned) in the information area. */
static uint32_t info_alloc(struct info_writer *w, const void *src,
			   size_t len)
{
	uint64_t at = (w->used + 7) & ~7ULL;

	w->used = at + len;
	if (src)
		memcpy(w->host + at, src, len);
	return w->gpa + at;
}

static uint64_t info_size(const struct mvm_boot *boot)
{
	uint64_t n = GDT_BYTES + sizeof(struct mb_info) +
		     MAX_MMAP * sizeof(struct mb_mmap) + 8 +
		     boot->nr_modules * sizeof(struct mb_module) + 8 +
		     sizeof(LOADER_NAME) + 8;
	unsigned int i;

	n += (boot->cmdline ? strlen(boot->cmdline) : 0) + 1 + 8;
	for (i = 0; i < boot->nr_modules; i++)
		n += (boot->modules[i].string ?
		      strlen(boot->modules[i].string) : 0) + 1 + 8;
	return PAGE_ALIGN(n);
}

static void write_info(struct mvm *vm, struct info_writer *w,
		       const struct mvm_boot *boot, const uint64_t *mod_addr,
		       uint32_t *info_gpa)
{
	struct mb_mmap map[MAX_MMAP];
	struct mb_module mod;
	struct mb_info info = { 0 };
	uint64_t upper;
	unsigned int i, n;
	uint32_t mods;
	uint8_t *p;

	memset(w->host, 0, w->size);
	w->used = GDT_BYTES;		/* mvm_setup_cpu() writes the GDT */
	*info_gpa = info_alloc(w, NULL, sizeof(info));

	/* RAM at 0 and contiguous RAM from 1 MiB, in KiB. */
	info.flags = MBI_MEM | MBI_CMDLINE | MBI_MODS | MBI_MMAP |
		     MBI_LOADER_NAME;
	info.mem_lower = (vm->ram[0].size < LOW_MEM_END ?
			  vm->ram[0].size : LOW_MEM_END) >> 10;
	upper = vm->ram[0].size > HIGH_MEM_START ?
		vm->ram[0].size - HIGH_MEM_START : 0;
	info.mem_upper = upper >> 10;

	n = memory_map(vm, map);
	info.mmap_length = n * sizeof(map[0]);
	info.mmap_addr = info_alloc(w, map, info.mmap_length);

	info.cmdline = info_alloc(w, boot->cmdline ? boot->cmdline : "",
				  (boot->cmdline ? strlen(boot->cmdline) : 0) +
				  1);
	info.boot_loader_name = info_alloc(w, LOADER_NAME,
					   sizeof(LOADER_NAME));

	info.mods_count = boot->nr_modules;
	mods = info_alloc(w, NULL,
			  boot->nr_modules * sizeof(struct mb_module));
	info.mods_addr = boot->nr_modules ? mods : 0;
	for (i = 0; i < boot->nr_modules; i++) {
		const char *s = boot->modules[i].string;

		mod.start = mod_addr[i];
		mod.end = mod_addr[i] + boot->modules[i].size;
		mod.string = info_alloc(w, s ? s : "", (s ? strlen(s) : 0) + 1);
		mod.reserved = 0;
		p = w->host + (mods - w->gpa) + i * sizeof(mod);
		memcpy(p, &mod, sizeof(mod));
	}
	memcpy(w->host + (*info_gpa - w->gpa), &info, sizeof(info));
}

int mvm_load_multiboot_image(struct mvm *vm, struct mvm_vcpu *vcpu,
			     const void *image, size_t size,
			     struct mvm_boot *boot)
{
	struct mvm_segment *segs = NULL;
	struct mvm_extent *ext = NULL;
	uint64_t *mod_addr = NULL;
	struct info_writer w;
	uint64_t entry, at, end;
	unsigned int i, next, elf_class;
	uint32_t info;
	int n, ret;

	n = kernel_segments(vm, image, size, &segs, &entry, &elf_class);
	if (n < 0)
		return n;
	ret = mvm_place_segments(vm, segs, n);
	if (ret)
		goto out;
	ext = calloc(n + boot->nr_modules, sizeof(*ext));
	mod_addr = calloc(boot->nr_modules + 1, sizeof(*mod_addr));
	if (!ext || !mod_addr) {
		ret = mvm_fail(vm, ENOMEM, "loading the multiboot kernel");
		goto out;
	}
	boot->image_start = UINT64_MAX;
	boot->image_end = 0;
	for (i = 0; i < (unsigned int)n; i++) {
		ext[i] = (struct mvm_extent){
			.start = segs[i].addr,
			.end = segs[i].addr + segs[i].memsz,
			.what = segs[i].what, .index = segs[i].index,
		};
		if (ext[i].start < boot->image_start)
			boot->image_start = ext[i].start;
		if (ext[i].end > boot->image_end)
			boot->image_end = ext[i].end;
		if (ext[i].end > 1ULL << 32) {
			ret = mvm_fail(vm, 0,
				       "the multiboot kernel ends above 4 GiB (%#llx)",
				       (unsigned long long)ext[i].end);
			goto out;
		}
	}
	if (entry >> 32) {
		ret = mvm_fail(vm, 0, "entry point %#llx is above 4 GiB",
			       (unsigned long long)entry);
		goto out;
	}

	/* Modules: page-aligned, one after the other, after the kernel. */
	next = n;
	at = PAGE_ALIGN(boot->image_end);
	for (i = 0; i < boot->nr_modules; i++) {
		end = at + boot->modules[i].size;
		ret = mvm_check_ram(vm, at, end, "module %u", i);
		if (ret)
			goto out;
		if (end > 1ULL << 32) {
			ret = mvm_fail(vm, E2BIG,
				       "module %u (%#llx-%#llx) does not fit below 4 GiB",
				       i, (unsigned long long)at,
				       (unsigned long long)end);
			goto out;
		}
		memcpy(mvm_gpa(vm, at, boot->modules[i].size),
		       boot->modules[i].data, boot->modules[i].size);
		mod_addr[i] = at;
		ext[next++] = (struct mvm_extent){ .start = at, .end = end };
		at = PAGE_ALIGN(end);
	}

	w.size = info_size(boot);
	w.gpa = mvm_find_free(vm, ext, next, w.size, PAGE_SIZE, INFO_LIMIT);
	if (!w.gpa) {
		ret = mvm_fail(vm, E2BIG,
			       "no room below 4 MiB, outside the kernel and its modules, for the multiboot information (%llu KiB)",
			       (unsigned long long)w.size >> 10);
		goto out;
	}
	w.host = mvm_gpa(vm, w.gpa, w.size);
	write_info(vm, &w, boot, mod_addr, &info);

	ret = mvm_setup_cpu(vm, vcpu, MVM_MODE_PROTECTED, w.gpa, entry,
			    MVM_MULTIBOOT_EAX, info);
	if (ret)
		goto out;
	boot->entry = entry;
	boot->data_addr = w.gpa;
	boot->data_size = w.size;
	boot->info_addr = info;
	boot->elf_class = elf_class == ELFCLASS32 ? 32 : 0;
out:
	free(mod_addr);
	free(ext);
	free(segs);
	return ret;
}

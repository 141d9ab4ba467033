// SPDX-License-Identifier: LGPL-2.1
/*
 * libminivmm: image formats, the flat loader, and what every loader needs
 * to put pieces of an image into guest memory.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/elf.h>

#include "internal.h"

static const char * const format_names[] = {
	[MVM_FORMAT_AUTO] = "auto",
	[MVM_FORMAT_FLAT] = "flat",
	[MVM_FORMAT_ELF] = "elf",
	[MVM_FORMAT_MULTIBOOT] = "multiboot",
};

const char *mvm_format_name(enum mvm_format format)
{
	if ((unsigned int)format < ARRAY_LEN(format_names))
		return format_names[format];
	return "unknown";
}

int mvm_format_parse(const char *name, enum mvm_format *format)
{
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(format_names); i++) {
		if (!strcmp(name, format_names[i])) {
			*format = i;
			return 0;
		}
	}
	return mvm_fail(NULL, 0,
			"unknown image format '%s' (flat, elf, multiboot or auto)",
			name);
}

enum mvm_format mvm_detect_format(const void *image, size_t size)
{
	if (mvm_multiboot_header(image, size) >= 0)
		return MVM_FORMAT_MULTIBOOT;
	if (size >= SELFMAG && !memcmp(image, ELFMAG, SELFMAG))
		return MVM_FORMAT_ELF;
	return MVM_FORMAT_FLAT;
}

/* "64 KiB", "16 MiB", "3 GiB": the size a person asked for. */
static const char *human_size(uint64_t bytes, char *buf, size_t len)
{
	if (bytes && !(bytes % (1ULL << 30)))
		snprintf(buf, len, "%llu GiB", (unsigned long long)bytes >> 30);
	else if (bytes && !(bytes % (1ULL << 20)))
		snprintf(buf, len, "%llu MiB", (unsigned long long)bytes >> 20);
	else
		snprintf(buf, len, "%llu KiB", (unsigned long long)bytes >> 10);
	return buf;
}

int mvm_check_ram(struct mvm *vm, uint64_t start, uint64_t end,
		  const char *what, unsigned int index)
{
	char size[32], name[64];

	if (end >= start && mvm_gpa(vm, start, end - start))
		return 0;
	snprintf(name, sizeof(name), what, index);
	human_size(vm->mem_size, size, sizeof(size));
	if (vm->nr_ram > 1)
		return mvm_fail(vm, E2BIG,
				"%s (%#llx-%#llx) is not in guest RAM (%s: 0-3 GiB and from 4 GiB)",
				name, (unsigned long long)start,
				(unsigned long long)end, size);
	return mvm_fail(vm, E2BIG,
			"%s (%#llx-%#llx) does not fit in the %s of guest memory",
			name, (unsigned long long)start,
			(unsigned long long)end, size);
}

int mvm_check_overlaps(struct mvm *vm, const struct mvm_extent *ext,
		       unsigned int n)
{
	char a[64], b[64];
	unsigned int i, j;

	for (i = 0; i < n; i++) {
		for (j = i + 1; j < n; j++) {
			if (ext[i].start >= ext[j].end ||
			    ext[j].start >= ext[i].end ||
			    ext[i].start == ext[i].end ||
			    ext[j].start == ext[j].end)
				continue;
			snprintf(a, sizeof(a), ext[i].what, ext[i].index);
			snprintf(b, sizeof(b), ext[j].what, ext[j].index);
			return mvm_fail(vm, 0,
					"%s (%#llx-%#llx) overlaps %s (%#llx-%#llx)",
					a, (unsigned long long)ext[i].start,
					(unsigned long long)ext[i].end, b,
					(unsigned long long)ext[j].start,
					(unsigned long long)ext[j].end);
		}
	}
	return 0;
}

static bool is_free(struct mvm *vm, const struct mvm_extent *ext,
		    unsigned int n, uint64_t at, uint64_t size)
{
	unsigned int i;

	if (!mvm_gpa(vm, at, size))
		return false;
	for (i = 0; i < n; i++)
		if (at < ext[i].end && ext[i].start < at + size)
			return false;
	return true;
}

uint64_t mvm_find_free(struct mvm *vm, const struct mvm_extent *ext,
		       unsigned int n, uint64_t size, uint64_t lo,
		       uint64_t hi)
{
	uint64_t best = 0, at;
	unsigned int i;

	/*
	 * The lowest free place starts at @lo, at the start of RAM, or
	 * right after one of the extents: try those.
	 */
	for (i = 0; i <= n + vm->nr_ram; i++) {
		if (i == 0)
			at = lo;
		else if (i <= n)
			at = PAGE_ALIGN(ext[i - 1].end);
		else
			at = vm->ram[i - 1 - n].gpa;
		if (at < lo || at + size > hi || at + size < at)
			continue;
		if ((!best || at < best) && is_free(vm, ext, n, at, size))
			best = at;
	}
	return best;
}

int mvm_place_segments(struct mvm *vm, const struct mvm_segment *segs,
		       unsigned int n)
{
	struct mvm_extent ext[64] = { 0 };
	unsigned int i;
	uint8_t *dst;
	int ret;

	if (n > ARRAY_LEN(ext))
		return mvm_fail(vm, 0, "too many segments (%u, at most %zu)",
				n, ARRAY_LEN(ext));
	for (i = 0; i < n; i++) {
		ret = mvm_check_ram(vm, segs[i].addr,
				    segs[i].addr + segs[i].memsz,
				    segs[i].what, segs[i].index);
		if (ret)
			return ret;
		ext[i] = (struct mvm_extent){
			.start = segs[i].addr,
			.end = segs[i].addr + segs[i].memsz,
			.what = segs[i].what, .index = segs[i].index,
		};
	}
	ret = mvm_check_overlaps(vm, ext, n);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		dst = mvm_gpa(vm, segs[i].addr, segs[i].memsz);
		memcpy(dst, segs[i].data, segs[i].filesz);
		memset(dst + segs[i].filesz, 0,
		       segs[i].memsz - segs[i].filesz);
	}
	return 0;
}

static int load_flat(struct mvm *vm, struct mvm_vcpu *vcpu,
		     const void *image, size_t size, struct mvm_boot *boot)
{
	struct minivmm_regs regs = { .rflags = 2 };
	uint64_t addr = boot->addr ? boot->addr : MVM_FLAT_DEFAULT_ADDR;
	struct minivmm_sregs s;
	uint16_t cs = 0;
	int ret;

	if (addr >= 0x100000)
		return mvm_fail(vm, 0,
				"a flat image starts in real mode: load address %#llx is not below 1 MiB",
				(unsigned long long)addr);
	if (addr > 0xffff) {
		if (addr & 15)
			return mvm_fail(vm, 0,
					"a flat image above 64 KiB starts at CS:0: load address %#llx is not 16-byte aligned",
					(unsigned long long)addr);
		cs = addr >> 4;
	}
	ret = mvm_check_ram(vm, addr, addr + size, "the image", 0);
	if (ret)
		return ret;
	memcpy(mvm_gpa(vm, addr, size), image, size);

	ret = mvm_get_sregs(vcpu, &s);
	if (ret)
		return ret;
	s.cs.selector = cs;
	s.cs.base = (uint64_t)cs << 4;
	ret = mvm_set_sregs(vcpu, &s);
	if (ret)
		return ret;
	regs.rip = addr - s.cs.base;
	/* The stack grows down from below the image, as under a BIOS. */
	regs.rsp = addr > 0x1000 && addr <= 0xffff ? addr : 0xfffe;
	ret = mvm_set_regs(vcpu, &regs);
	if (ret)
		return ret;
	boot->entry = addr;
	boot->image_start = addr;
	boot->image_end = addr + size;
	return 0;
}

int mvm_load(struct mvm *vm, struct mvm_vcpu *vcpu, const void *image,
	     size_t size, struct mvm_boot *boot)
{
	enum mvm_format format = boot->format;
	int ret;

	if (format == MVM_FORMAT_AUTO)
		format = mvm_detect_format(image, size);
	/* Outputs only: keep what the caller asked for. */
	boot->entry = 0;
	boot->image_start = 0;
	boot->image_end = 0;
	boot->data_addr = 0;
	boot->data_size = 0;
	boot->info_addr = 0;
	boot->elf_class = 0;
	switch (format) {
	case MVM_FORMAT_FLAT:
		ret = load_flat(vm, vcpu, image, size, boot);
		break;
	case MVM_FORMAT_ELF:
		ret = mvm_load_elf_image(vm, vcpu, image, size, boot);
		break;
	case MVM_FORMAT_MULTIBOOT:
		ret = mvm_load_multiboot_image(vm, vcpu, image, size, boot);
		break;
	default:
		return mvm_fail(vm, 0, "unknown image format %d", format);
	}
	if (!ret)
		boot->loaded = format;
	return ret;
}

int mvm_load_flat(struct mvm *vm, struct mvm_vcpu *vcpu, const void *image,
		  size_t size, uint64_t addr)
{
	struct mvm_boot boot = { .format = MVM_FORMAT_FLAT, .addr = addr };

	return mvm_load(vm, vcpu, image, size, &boot);
}

int mvm_load_elf(struct mvm *vm, struct mvm_vcpu *vcpu, const void *image,
		 size_t size)
{
	struct mvm_boot boot = { .format = MVM_FORMAT_ELF };

	return mvm_load(vm, vcpu, image, size, &boot);
}

int mvm_load_multiboot(struct mvm *vm, struct mvm_vcpu *vcpu,
		       const void *image, size_t size, const char *cmdline,
		       const struct mvm_module *modules,
		       unsigned int nr_modules)
{
	struct mvm_boot boot = {
		.format = MVM_FORMAT_MULTIBOOT, .cmdline = cmdline,
		.modules = modules, .nr_modules = nr_modules,
	};

	return mvm_load(vm, vcpu, image, size, &boot);
}

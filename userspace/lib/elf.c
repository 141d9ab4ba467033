// SPDX-License-Identifier: LGPL-2.1
/*
 * libminivmm: ELF32 and ELF64 x86 executables.
 *
 * Every field the loader uses is checked against the file before use, so
 * that a truncated or corrupt image gets a message, never a crash.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/elf.h>

#include "internal.h"

/* The fields of an ELF32 or ELF64 program header the loader needs. */
struct phdr {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz;
};

static const char *machine_name(unsigned int machine)
{
	switch (machine) {
	case EM_386:
		return "i386";
	case EM_X86_64:
		return "x86-64";
	case EM_ARM:
		return "ARM";
	case EM_AARCH64:
		return "AArch64";
	case EM_RISCV:
		return "RISC-V";
	case EM_PPC64:
		return "PowerPC64";
	case EM_S390:
		return "s390";
	case EM_MIPS:
		return "MIPS";
	default:
		return "not x86";
	}
}

static void read_phdr(const uint8_t *p, unsigned int elf_class,
		      struct phdr *ph)
{
	if (elf_class == ELFCLASS32) {
		struct elf32_phdr h;

		memcpy(&h, p, sizeof(h));
		*ph = (struct phdr){ h.p_type, h.p_offset, h.p_vaddr,
				     h.p_paddr, h.p_filesz, h.p_memsz };
	} else {
		struct elf64_phdr h;

		memcpy(&h, p, sizeof(h));
		*ph = (struct phdr){ h.p_type, h.p_offset, h.p_vaddr,
				     h.p_paddr, h.p_filesz, h.p_memsz };
	}
}

/* The ELF header's fields, whatever the class; 0 or -errno. */
static int read_ehdr(struct mvm *vm, const uint8_t *img, size_t size,
		     unsigned int *elf_class, struct elf64_hdr *eh)
{
	unsigned int machine;

	if (size < SELFMAG || memcmp(img, ELFMAG, SELFMAG))
		return mvm_fail(vm, 0, "not an ELF file (no ELF magic)");
	if (size < EI_NIDENT)
		return mvm_fail(vm, 0, "truncated ELF header (%zu bytes)",
				size);
	*elf_class = img[EI_CLASS];
	if (*elf_class != ELFCLASS32 && *elf_class != ELFCLASS64)
		return mvm_fail(vm, 0, "bad ELF class %u (neither 32 nor 64-bit)",
				*elf_class);
	if (img[EI_DATA] != ELFDATA2LSB)
		return mvm_fail(vm, 0, "big-endian ELF file: not for x86");

	if (*elf_class == ELFCLASS32) {
		struct elf32_hdr h;

		if (size < sizeof(h))
			return mvm_fail(vm, 0,
					"truncated ELF header (%zu bytes)",
					size);
		memcpy(&h, img, sizeof(h));
		eh->e_type = h.e_type;
		eh->e_machine = h.e_machine;
		eh->e_entry = h.e_entry;
		eh->e_phoff = h.e_phoff;
		eh->e_phentsize = h.e_phentsize;
		eh->e_phnum = h.e_phnum;
	} else {
		if (size < sizeof(*eh))
			return mvm_fail(vm, 0,
					"truncated ELF header (%zu bytes)",
					size);
		memcpy(eh, img, sizeof(*eh));
	}

	machine = eh->e_machine;
	if (*elf_class == ELFCLASS32 && machine != EM_386)
		return mvm_fail(vm, 0,
				"32-bit ELF for machine %u (%s): only i386 (3) is supported",
				machine, machine == EM_X86_64 ?
				"x32" : machine_name(machine));
	if (*elf_class == ELFCLASS64 && machine != EM_X86_64)
		return mvm_fail(vm, 0,
				"64-bit ELF for machine %u (%s): only x86-64 (62) is supported",
				machine, machine_name(machine));
	if (eh->e_type == ET_DYN)
		return mvm_fail(vm, 0,
				"position-independent ELF (ET_DYN): link the image static at fixed addresses");
	if (eh->e_type != ET_EXEC)
		return mvm_fail(vm, 0, "not an executable ELF file (type %u)",
				eh->e_type);
	return 0;
}

int mvm_elf_segments(struct mvm *vm, const void *image, size_t size,
		     struct mvm_segment **segsp, uint64_t *entry,
		     unsigned int *elf_class, bool need_identity)
{
	const uint8_t *img = image;
	struct mvm_segment *segs;
	size_t phsize;
	struct elf64_hdr eh;
	struct phdr ph;
	unsigned int i, n = 0;
	bool entry_found = false;
	int ret;

	ret = read_ehdr(vm, img, size, elf_class, &eh);
	if (ret)
		return ret;
	phsize = *elf_class == ELFCLASS32 ? sizeof(struct elf32_phdr) :
					    sizeof(struct elf64_phdr);
	if (!eh.e_phnum)
		return mvm_fail(vm, 0, "ELF file without program headers");
	if (eh.e_phentsize != phsize)
		return mvm_fail(vm, 0,
				"bad ELF program header size %u (expected %zu)",
				eh.e_phentsize, phsize);
	if (eh.e_phoff > size || eh.e_phnum * phsize > size - eh.e_phoff)
		return mvm_fail(vm, 0,
				"truncated ELF: %u program headers at offset %#llx end beyond the file's %zu bytes",
				eh.e_phnum, (unsigned long long)eh.e_phoff,
				size);

	segs = calloc(eh.e_phnum, sizeof(*segs));
	if (!segs)
		return mvm_fail(vm, ENOMEM, "reading the ELF program headers");
	*entry = eh.e_entry;
	for (i = 0; i < eh.e_phnum; i++) {
		read_phdr(img + eh.e_phoff + i * phsize, *elf_class, &ph);
		if (ph.type != PT_LOAD || !ph.memsz)
			continue;
		if (ph.offset > size || ph.filesz > size - ph.offset) {
			ret = mvm_fail(vm, 0,
				       "truncated ELF: segment %u (%#llx bytes at offset %#llx) ends beyond the file's %zu bytes",
				       i, (unsigned long long)ph.filesz,
				       (unsigned long long)ph.offset, size);
			goto fail;
		}
		if (ph.filesz > ph.memsz) {
			ret = mvm_fail(vm, 0,
				       "bad ELF: segment %u has more bytes in the file (%#llx) than in memory (%#llx)",
				       i, (unsigned long long)ph.filesz,
				       (unsigned long long)ph.memsz);
			goto fail;
		}
		if (ph.paddr + ph.memsz < ph.paddr) {
			ret = mvm_fail(vm, 0,
				       "bad ELF: segment %u wraps around the address space",
				       i);
			goto fail;
		}
		if (need_identity && ph.vaddr != ph.paddr) {
			ret = mvm_fail(vm, 0,
				       "segment %u: virtual address %#llx is not its physical address %#llx (memory is identity mapped: link the image at physical addresses)",
				       i, (unsigned long long)ph.vaddr,
				       (unsigned long long)ph.paddr);
			goto fail;
		}
		/* An entry at a virtual address runs at its physical one. */
		if (!entry_found && eh.e_entry >= ph.vaddr &&
		    eh.e_entry - ph.vaddr < ph.memsz) {
			*entry = ph.paddr + (eh.e_entry - ph.vaddr);
			entry_found = true;
		}
		segs[n++] = (struct mvm_segment){
			.addr = ph.paddr, .filesz = ph.filesz,
			.memsz = ph.memsz, .data = img + ph.offset,
			.what = "segment %u", .index = i,
		};
	}
	if (!n) {
		ret = mvm_fail(vm, 0, "no loadable (PT_LOAD) segments in the ELF file");
		goto fail;
	}
	if (!entry_found) {
		ret = mvm_fail(vm, 0,
			       "the ELF entry point %#llx is in no loadable segment",
			       (unsigned long long)eh.e_entry);
		goto fail;
	}
	*segsp = segs;
	return n;

fail:
	free(segs);
	return ret;
}

/* The extents of @segs, the loader's data to be placed around them. */
static void segment_extents(const struct mvm_segment *segs, unsigned int n,
			    struct mvm_extent *ext, struct mvm_boot *boot)
{
	unsigned int i;

	boot->image_start = UINT64_MAX;
	boot->image_end = 0;
	for (i = 0; i < n; i++) {
		ext[i] = (struct mvm_extent){
			.start = segs[i].addr,
			.end = segs[i].addr + segs[i].memsz,
		};
		if (ext[i].start < boot->image_start)
			boot->image_start = ext[i].start;
		if (ext[i].end > boot->image_end)
			boot->image_end = ext[i].end;
	}
}

int mvm_load_elf_image(struct mvm *vm, struct mvm_vcpu *vcpu,
		       const void *image, size_t size, struct mvm_boot *boot)
{
	struct mvm_segment *segs = NULL;
	struct mvm_extent *ext = NULL;
	enum mvm_cpu_mode mode;
	unsigned int elf_class;
	uint64_t entry, data, dsize;
	int n, ret;

	n = mvm_elf_segments(vm, image, size, &segs, &entry, &elf_class,
			     true);
	if (n < 0)
		return n;
	ret = mvm_place_segments(vm, segs, n);
	if (ret)
		goto out;
	ext = calloc(n, sizeof(*ext));
	if (!ext) {
		ret = mvm_fail(vm, ENOMEM, "loading the ELF file");
		goto out;
	}
	segment_extents(segs, n, ext, boot);

	mode = elf_class == ELFCLASS64 ? MVM_MODE_LONG : MVM_MODE_PROTECTED;
	dsize = mvm_cpu_data_size(vm, mode);
	data = mvm_find_free(vm, ext, n, dsize, PAGE_SIZE, 1ULL << 32);
	if (!data) {
		ret = mvm_fail(vm, E2BIG,
			       "no room below 4 GiB, outside the image, for the loader's GDT%s (%llu KiB)",
			       mode == MVM_MODE_LONG ? " and page tables" : "",
			       (unsigned long long)dsize >> 10);
		goto out;
	}
	if (entry >> 32 && mode == MVM_MODE_PROTECTED) {
		ret = mvm_fail(vm, 0, "entry point %#llx is above 4 GiB",
			       (unsigned long long)entry);
		goto out;
	}
	ret = mvm_setup_cpu(vm, vcpu, mode, data, entry, 0, 0);
	if (ret)
		goto out;
	boot->entry = entry;
	boot->data_addr = data;
	boot->data_size = dsize;
	boot->elf_class = elf_class == ELFCLASS64 ? 64 : 32;
out:
	free(ext);
	free(segs);
	return ret;
}

/* SPDX-License-Identifier: LGPL-2.1 */
/*
 * libminivmm internals shared by its source files; not installed.
 */
#ifndef LIBMINIVMM_INTERNAL_H
#define LIBMINIVMM_INTERNAL_H

#include <stdbool.h>

#include "libminivmm.h"

#define PAGE_SIZE	4096ULL
#define PAGE_ALIGN(x)	(((x) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
#define HUGE_SIZE	(2ULL << 20)
#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

#define MVM_ERR_MAX	256
#define MVM_NR_RAM	2	/* below 3 GiB, and from 4 GiB */

struct mvm_ram {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct mvm {
	int dev;
	int fd;
	uint8_t *mem;		/* one mapping for all RAM */
	size_t mem_size;
	struct mvm_ram ram[MVM_NR_RAM];
	unsigned int nr_ram;
	struct mvm_vcpu *vcpus;
	char err[MVM_ERR_MAX];
};

struct mvm_vcpu {
	struct mvm *vm;
	struct mvm_vcpu *next;
	unsigned int id;
	int fd;
	struct minivmm_run *run;
};

/*
 * Record a failure for mvm_strerror() (of @vm, and of the thread) and
 * return -@err; a non-zero @err appends ": strerror(err)".
 */
int mvm_fail(struct mvm *vm, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A range of guest physical memory the loader fills or reserves. */
struct mvm_extent {
	uint64_t start, end;	/* [start, end) */
	const char *what;	/* for error messages */
	unsigned int index;
};

/*
 * Check that [start, end) is RAM: 0, or -E2BIG with a message naming
 * @what and the guest memory size.
 */
int mvm_check_ram(struct mvm *vm, uint64_t start, uint64_t end,
		  const char *what, unsigned int index);

/* -EINVAL naming both when two of @n extents overlap, else 0. */
int mvm_check_overlaps(struct mvm *vm, const struct mvm_extent *ext,
		       unsigned int n);

/*
 * The lowest page-aligned address in [@lo, @hi) where @size bytes of RAM
 * overlap none of the @n extents; 0 if there is none.
 */
uint64_t mvm_find_free(struct mvm *vm, const struct mvm_extent *ext,
		       unsigned int n, uint64_t size, uint64_t lo,
		       uint64_t hi);

enum mvm_cpu_mode { MVM_MODE_PROTECTED, MVM_MODE_LONG };

/* Bytes of loader data mvm_setup_cpu() needs for @mode. */
uint64_t mvm_cpu_data_size(struct mvm *vm, enum mvm_cpu_mode mode);

/*
 * Write a GDT (and for long mode identity-mapped page tables) at guest
 * physical @data, which holds mvm_cpu_data_size() bytes, and put @vcpu in
 * @mode at @entry with flat segments and the given EAX and EBX.
 */
int mvm_setup_cpu(struct mvm *vm, struct mvm_vcpu *vcpu,
		  enum mvm_cpu_mode mode, uint64_t data, uint64_t entry,
		  uint32_t eax, uint32_t ebx);

/*
 * A loadable piece of an image: @filesz bytes of @data, then zeros;
 * @what (a format with one %u, given @index) names it in messages.
 */
struct mvm_segment {
	uint64_t addr;
	uint64_t filesz, memsz;
	const uint8_t *data;
	const char *what;
	unsigned int index;
};

/*
 * The PT_LOAD segments of an ELF image, checked against the file.
 * Returns their count (a malloc()ed array in *@segs), or -errno with the
 * message set. *@entry gets the entry point, moved from its virtual to
 * its physical address by the segment that holds it; *@elf_class gets
 * ELFCLASS32 or ELFCLASS64. With @need_identity, segments whose virtual
 * and physical addresses differ are refused.
 */
int mvm_elf_segments(struct mvm *vm, const void *image, size_t size,
		     struct mvm_segment **segs, uint64_t *entry,
		     unsigned int *elf_class, bool need_identity);

/* Check segments against RAM and each other, then copy and zero them. */
int mvm_place_segments(struct mvm *vm, const struct mvm_segment *segs,
		       unsigned int n);

int mvm_load_elf_image(struct mvm *vm, struct mvm_vcpu *vcpu,
		       const void *image, size_t size, struct mvm_boot *boot);
int mvm_load_multiboot_image(struct mvm *vm, struct mvm_vcpu *vcpu,
			     const void *image, size_t size,
			     struct mvm_boot *boot);

/* Offset of a valid multiboot header in the first 8 KiB, or -1. */
long mvm_multiboot_header(const void *image, size_t size);

#endif /* LIBMINIVMM_INTERNAL_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * multiboot: a multiboot v1 kernel (32-bit protected mode, paging off)
 * that prints what its boot loader told it: the magic, the loader's
 * name, the command line, the memory sizes and map, and each boot
 * module with its string and its contents.
 */
#include "rt.h"

#define MB_BOOT_MAGIC	0x2badb002
#define MBI_MEM		(1U << 0)
#define MBI_CMDLINE	(1U << 2)
#define MBI_MODS	(1U << 3)
#define MBI_MMAP	(1U << 6)
#define MBI_LOADER_NAME	(1U << 9)
#define SHOW_BYTES	256

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr, syms[4];
	uint32_t mmap_length, mmap_addr, drives_length, drives_addr;
	uint32_t config_table, boot_loader_name;
};

struct mb_mmap {
	uint32_t size;
	uint64_t base, length;
	uint32_t type;
} __attribute__((packed));

struct mb_module {
	uint32_t start, end, string, reserved;
};

static void show_module(unsigned int i, const struct mb_module *m)
{
	const char *p = (const char *)(uintptr_t)m->start;
	uint32_t n, size = m->end - m->start;

	printf("module %u: '%s', %u bytes at %#x%s\n", i,
	       (const char *)(uintptr_t)m->string, size, m->start,
	       m->start & 0xfff ? " (not page aligned!)" : "");
	for (n = 0; n < size && n < SHOW_BYTES; n++)
		putchar((p[n] >= ' ' && p[n] <= '~') || p[n] == '\n' ?
			p[n] : '.');
	if (n && p[n - 1] != '\n')
		putchar('\n');
}

int mboot_main(uint32_t magic, const struct mb_info *mbi)
{
	const struct mb_module *mods;
	const struct mb_mmap *e;
	uint32_t i;

	if (magic != MB_BOOT_MAGIC) {
		printf("multiboot: bad magic %#x in EAX\n", magic);
		return 1;
	}
	printf("multiboot: magic %#x, information at %p, loaded by %s\n",
	       magic, mbi, mbi->flags & MBI_LOADER_NAME ?
	       (const char *)(uintptr_t)mbi->boot_loader_name : "?");
	if (mbi->flags & MBI_CMDLINE)
		printf("cmdline: '%s'\n",
		       (const char *)(uintptr_t)mbi->cmdline);
	if (mbi->flags & MBI_MEM)
		printf("memory: lower %u KiB, upper %u KiB\n",
		       mbi->mem_lower, mbi->mem_upper);
	if (mbi->flags & MBI_MMAP) {
		for (i = 0; i < mbi->mmap_length; i += e->size + 4) {
			e = (const struct mb_mmap *)(uintptr_t)
				(mbi->mmap_addr + i);
			printf("mmap: %#llx-%#llx %s\n",
			       (unsigned long long)e->base,
			       (unsigned long long)(e->base + e->length - 1),
			       e->type == 1 ? "available" : "reserved");
		}
	}
	if (mbi->flags & MBI_MODS) {
		mods = (const struct mb_module *)(uintptr_t)mbi->mods_addr;
		printf("modules: %u\n", mbi->mods_count);
		for (i = 0; i < mbi->mods_count; i++)
			show_module(i, &mods[i]);
	}
	return 0;
}

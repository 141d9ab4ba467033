// SPDX-License-Identifier: GPL-2.0
/*
 * Extended page tables: guest physical to host physical.
 *
 * Four levels, write-back memory. Guest RAM is mapped with 2 MiB pages
 * where the guest range and the pinned host pages are both 2 MiB aligned
 * and contiguous, with 4 KiB pages elsewhere. Table pages are only freed
 * with the VM; removing a mapping clears leaf entries and is followed by
 * INVEPT on every CPU before the pages behind it are released.
 *
 * Dirty logging write-protects a slot's pages, one 4 KiB leaf each: its
 * 2 MiB leaves are split in place, and stay split. Logging flips only the
 * write permission of present leaves, with atomic bit operations, while
 * vCPUs run: see Documentation/design.rst, "Dirty page logging".
 */
#include <linux/bitops.h>
#include <linux/gfp.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/smp.h>
#include <asm/io.h>
#include <asm/vmx.h>

#include "minivmm.h"
#include "vmx_ops.h"

#define EPT_LEVEL_SHIFT(l)	(PAGE_SHIFT + 9 * ((l) - 1))
#define EPT_INDEX(gpa, l)	(((gpa) >> EPT_LEVEL_SHIFT(l)) & 511)
#define EPT_LARGE		BIT_ULL(7)
#define EPT_ADDR_MASK		GENMASK_ULL(51, 12)
#define EPT_LEAF_WB		(VMX_EPTP_MT_WB << VMX_EPT_MT_EPTE_SHIFT)
#define PAGES_2M		(SZ_2M / PAGE_SIZE)
#define EPT_W_BIT		ilog2(VMX_EPT_WRITABLE_MASK)

static u64 *ept_alloc_table(struct ept *ept)
{
	struct page *page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);

	if (!page)
		return NULL;
	list_add(&page->lru, &ept->tables);
	return page_address(page);
}

/**
 * ept_init() - an empty EPT hierarchy
 * @ept: to initialise
 *
 * Return: 0 or -ENOMEM.
 */
int ept_init(struct ept *ept)
{
	INIT_LIST_HEAD(&ept->tables);
	ept->root = ept_alloc_table(ept);
	if (!ept->root)
		return -ENOMEM;
	ept->eptp = __pa(ept->root) | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4;
	return 0;
}

/**
 * ept_destroy() - free every table page; no CPU may use @ept any more
 * @ept: the tables
 */
void ept_destroy(struct ept *ept)
{
	struct page *page, *tmp;

	list_for_each_entry_safe(page, tmp, &ept->tables, lru) {
		list_del(&page->lru);
		__free_page(page);
	}
	ept->root = NULL;
}

/*
 * The entry for @gpa at @level (1: 4 KiB, 2: 2 MiB), allocating the
 * tables above it; NULL when a table cannot be allocated.
 */
static u64 *ept_entry(struct ept *ept, u64 gpa, int level)
{
	u64 *table = ept->root;
	int l;

	for (l = 4; l > level; l--) {
		u64 *e = &table[EPT_INDEX(gpa, l)];

		if (!(*e & VMX_EPT_RWX_MASK)) {
			u64 *next = ept_alloc_table(ept);

			if (!next)
				return NULL;
			WRITE_ONCE(*e, __pa(next) | VMX_EPT_RWX_MASK);
		}
		table = __va(*e & EPT_ADDR_MASK);
	}
	return &table[EPT_INDEX(gpa, level)];
}

/* Can pages[i..i+511] back one 2 MiB EPT page at @gpa? */
static bool ept_can_map_2m(struct mem_slot *slot, unsigned long i, u64 gpa,
			   unsigned long npages)
{
	unsigned long pfn = page_to_pfn(slot->pages[i]), j;

	if (!(vmx_config.features & MINIVMM_CAP_EPT_2M) ||
	    (slot->flags & MINIVMM_MEM_LOG_DIRTY))
		return false;
	if (!IS_ALIGNED(gpa, SZ_2M) || npages - i < PAGES_2M ||
	    !IS_ALIGNED(pfn, PAGES_2M))
		return false;
	for (j = 1; j < PAGES_2M; j++)
		if (page_to_pfn(slot->pages[i + j]) != pfn + j)
			return false;
	return true;
}

/**
 * ept_map_slot() - map a memory slot's pinned pages
 * @ept: the VM's tables
 * @slot: the slot; read-only slots and slots with dirty logging on are
 *	  mapped without write permission, the latter with 4 KiB pages only
 *
 * Return: 0 or -ENOMEM (the part already mapped stays until unmapped).
 */
int ept_map_slot(struct ept *ept, struct mem_slot *slot)
{
	unsigned long npages = slot->size >> PAGE_SHIFT, i = 0;
	u64 perm = VMX_EPT_RWX_MASK | EPT_LEAF_WB;

	if (slot->flags & (MINIVMM_MEM_READONLY | MINIVMM_MEM_LOG_DIRTY))
		perm &= ~VMX_EPT_WRITABLE_MASK;

	while (i < npages) {
		u64 gpa = slot->gpa + ((u64)i << PAGE_SHIFT);
		bool big = ept_can_map_2m(slot, i, gpa, npages);
		u64 *e = ept_entry(ept, gpa, big ? 2 : 1);

		/* A PD entry already pointing to a table stays a table. */
		if (e && big && (*e & VMX_EPT_RWX_MASK)) {
			big = false;
			e = ept_entry(ept, gpa, 1);
		}
		if (!e)
			return -ENOMEM;
		WRITE_ONCE(*e, page_to_phys(slot->pages[i]) | perm |
			   (big ? EPT_LARGE : 0));
		if (big)
			WRITE_ONCE(ept->nr_2m, ept->nr_2m + 1);
		else
			WRITE_ONCE(ept->nr_4k, ept->nr_4k + 1);
		i += big ? PAGES_2M : 1;
	}
	return 0;
}

/**
 * ept_unmap_range() - clear the leaf entries that map [gpa, gpa + size)
 * @ept: the VM's tables
 * @gpa: page aligned start
 * @size: page aligned size
 *
 * The caller flushes with ept_flush_all_cpus() before freeing the pages.
 */
void ept_unmap_range(struct ept *ept, u64 gpa, u64 size)
{
	u64 end = gpa + size;

	while (gpa < end) {
		u64 *table = ept->root, *e = NULL;
		int l;

		for (l = 4; l >= 1; l--) {
			e = &table[EPT_INDEX(gpa, l)];
			if (!(*e & VMX_EPT_RWX_MASK) || l == 1 ||
			    (l == 2 && (*e & EPT_LARGE)))
				break;
			table = __va(*e & EPT_ADDR_MASK);
		}
		if (*e & VMX_EPT_RWX_MASK && l == 1) {
			WRITE_ONCE(*e, 0);
			WRITE_ONCE(ept->nr_4k, ept->nr_4k - 1);
		} else if (*e & VMX_EPT_RWX_MASK && l == 2) {
			WRITE_ONCE(*e, 0);
			WRITE_ONCE(ept->nr_2m, ept->nr_2m - 1);
		}
		/* Step over whatever this entry covered. */
		gpa = (gpa | ((1ULL << EPT_LEVEL_SHIFT(l)) - 1)) + 1;
	}
}

static void ept_flush_ipi(void *arg)
{
	struct ept *ept = arg;

	/* A CPU coming online may not have entered VMX operation yet. */
	if (!vmx_this_cpu_on())
		return;
	if (vmx_config.features & MINIVMM_CAP_INVEPT_CONTEXT)
		__invept(VMX_EPT_EXTENT_CONTEXT, ept->eptp);
	else
		__invept(VMX_EPT_EXTENT_GLOBAL, 0);
}

/**
 * ept_flush_all_cpus() - drop cached translations of @ept on every CPU
 * @ept: the VM's tables
 *
 * Every online CPU is in VMX operation while a VM exists; a vCPU in guest
 * mode on another CPU leaves it to take the IPI.
 */
void ept_flush_all_cpus(struct ept *ept)
{
	on_each_cpu(ept_flush_ipi, ept, 1);
}

/*
 * The leaf entry that maps @gpa, NULL when none does; *@level is 1 for a
 * 4 KiB leaf, 2 for a 2 MiB one. Walks without a lock: tables are only
 * freed with the VM, and an entry only turns from a 2 MiB leaf into a
 * table pointer, which keeps its RWX bits.
 */
static u64 *ept_leaf(struct ept *ept, u64 gpa, int *level)
{
	u64 *table = ept->root;
	int l;

	for (l = 4; l >= 1; l--) {
		u64 *e = &table[EPT_INDEX(gpa, l)], v = READ_ONCE(*e);

		if (!(v & VMX_EPT_RWX_MASK))
			return NULL;
		if (l == 1 || (l == 2 && (v & EPT_LARGE))) {
			*level = l;
			return e;
		}
		table = __va(v & EPT_ADDR_MASK);
	}
	return NULL;
}

/*
 * Replace the 2 MiB leaf @pde by a table of 512 write-protected 4 KiB
 * leaves for the same memory; vm->lock held. A CPU walking meanwhile sees
 * either mapping, both of the same pages.
 */
static int ept_split_2m(struct ept *ept, u64 *pde)
{
	u64 old = READ_ONCE(*pde), base = old & EPT_ADDR_MASK;
	u64 perm = (old & VMX_EPT_RWX_MASK & ~VMX_EPT_WRITABLE_MASK) |
		   EPT_LEAF_WB;
	u64 *table = ept_alloc_table(ept);
	int j;

	if (!table)
		return -ENOMEM;
	for (j = 0; j < PAGES_2M; j++)
		table[j] = (base + ((u64)j << PAGE_SHIFT)) | perm;
	WRITE_ONCE(*pde, __pa(table) | VMX_EPT_RWX_MASK);
	WRITE_ONCE(ept->nr_2m, ept->nr_2m - 1);
	WRITE_ONCE(ept->nr_4k, ept->nr_4k + PAGES_2M);
	return 0;
}

/**
 * ept_log_dirty_start() - write-protect every page of @slot, in 4 KiB leaves
 * @ept: the VM's tables
 * @slot: a mapped slot whose dirty bitmap is published already, so that a
 *	  write fault from now on finds it
 *
 * vm->lock held; vCPUs may run. The caller flushes with
 * ept_flush_all_cpus() afterwards.
 *
 * Return: 0, or -ENOMEM when a 2 MiB leaf could not be split (the part
 * done stays write-protected).
 */
int ept_log_dirty_start(struct ept *ept, struct mem_slot *slot)
{
	u64 gpa = slot->gpa, end = slot->gpa + slot->size;

	while (gpa < end) {
		int level;
		u64 *e = ept_leaf(ept, gpa, &level);

		if (e && level == 2 && ept_split_2m(ept, e))
			return -ENOMEM;
		if (e && level == 2)
			continue;	/* now a table: protect its leaves */
		if (e)
			clear_bit(EPT_W_BIT, (unsigned long *)e);
		gpa += PAGE_SIZE;
	}
	return 0;
}

/**
 * ept_log_dirty_stop() - give every page of @slot its write permission back
 * @ept: the VM's tables
 * @slot: a writable slot whose logging ends; its leaves stay 4 KiB
 *
 * No flush is needed: a CPU still holding a write-protected translation
 * takes a write fault, which finds the page writable and resumes.
 */
void ept_log_dirty_stop(struct ept *ept, struct mem_slot *slot)
{
	u64 gpa;

	for (gpa = slot->gpa; gpa < slot->gpa + slot->size; gpa += PAGE_SIZE) {
		int level;
		u64 *e = ept_leaf(ept, gpa, &level);

		if (e)
			set_bit(EPT_W_BIT, (unsigned long *)e);
	}
}

/**
 * ept_allow_write() - make the leaf that maps @gpa writable
 * @ept: the VM's tables
 * @gpa: an address in a writable slot
 *
 * Any context: on a vCPU's thread after a write fault, concurrently with
 * ept_write_protect() from MINIVMM_GET_DIRTY_LOG.
 *
 * Return: false when no leaf maps @gpa.
 */
bool ept_allow_write(struct ept *ept, u64 gpa)
{
	int level;
	u64 *e = ept_leaf(ept, gpa, &level);

	if (!e)
		return false;
	set_bit(EPT_W_BIT, (unsigned long *)e);
	return true;
}

/**
 * ept_write_protect() - take write permission from the 4 KiB leaf at @gpa
 * @ept: the VM's tables
 * @gpa: an address in a slot with dirty logging on (4 KiB leaves only)
 *
 * The caller flushes with ept_flush_all_cpus() before relying on it.
 */
void ept_write_protect(struct ept *ept, u64 gpa)
{
	int level;
	u64 *e = ept_leaf(ept, gpa, &level);

	if (e && level == 1)
		clear_bit(EPT_W_BIT, (unsigned long *)e);
}

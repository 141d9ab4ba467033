// SPDX-License-Identifier: GPL-2.0
/*
 * Extended page tables: guest physical to host physical.
 *
 * Four levels, write-back memory. Guest RAM is mapped with 2 MiB pages
 * where the guest range and the pinned host pages are both 2 MiB aligned
 * and contiguous, with 4 KiB pages elsewhere. Table pages are only freed
 * with the VM; removing a mapping clears leaf entries and is followed by
 * INVEPT on every CPU before the pages behind it are released.
 */
#include <linux/gfp.h>
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

	if (!(vmx_config.features & MINIVMM_CAP_EPT_2M))
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
 * @slot: the slot; read-only slots are mapped without write permission
 *
 * Return: 0 or -ENOMEM (the part already mapped stays until unmapped).
 */
int ept_map_slot(struct ept *ept, struct mem_slot *slot)
{
	unsigned long npages = slot->size >> PAGE_SHIFT, i = 0;
	u64 perm = VMX_EPT_RWX_MASK | EPT_LEAF_WB;

	if (slot->flags & MINIVMM_MEM_READONLY)
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

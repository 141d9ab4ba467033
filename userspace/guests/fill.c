// SPDX-License-Identifier: GPL-2.0
/*
 * fill: writes all of its RAM above 2 MiB with words that are not zero
 * (so that every page of it is data in a snapshot), says how much, then
 * rewrites a page after another, forever, 32 pages and a line every 10
 * million TSC cycles (0.1 s of the 1-CPU emulated machine's): the guest
 * of bench/snapshot_bench.c, whose snapshot, restore and migration move
 * all of its RAM and find it still writing, at a rate a pre-copy can
 * catch up with.
 */
#include "rt.h"

#define MIB		0x100000UL
#define PAGE		4096UL
#define START		(2 * MIB)
#define LOW_RAM_MAX	0xc0000000UL	/* the PC's hole below 4 GiB */
#define PROBE		0x5a5aa5a5U
#define ROUND_PAGES	32
#define ROUND_CYCLES	10000000ULL

/*
 * The end of RAM: the first MiB above START where a write does not
 * stick (guest addresses without RAM drop writes and read zero).
 */
static uintptr_t ram_end(void)
{
	volatile uint32_t *p;
	uintptr_t a;

	for (a = START; a < LOW_RAM_MAX; a += MIB) {
		p = (volatile uint32_t *)a;
		*p = PROBE;
		if (*p != PROBE)
			break;
	}
	return a;
}

int main(void)
{
	uintptr_t end = ram_end(), pages = (end - START) / PAGE, page = 0;
	uint32_t x = 1, *w, round, i;
	uint64_t next;

	for (w = (uint32_t *)START; w < (uint32_t *)end; w++) {
		x = x * 1103515245 + 12345;
		*w = x | 1;
	}
	printf("fill: %u MiB written\n", (unsigned int)((end - START) / MIB));
	if (!pages)
		return 1;
	next = rdtsc();
	for (round = 0;; round++) {
		for (i = 0; i < ROUND_PAGES; i++) {
			x = x * 1103515245 + 12345;
			w = (uint32_t *)(START + page * PAGE);
			w[x % (PAGE / 4)] = x | 1;
			page = (page + 1) % pages;
		}
		printf("fill: round %u\n", round);
		next += ROUND_CYCLES;
		while (rdtsc() < next)
			;
	}
}

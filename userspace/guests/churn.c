// SPDX-License-Identifier: GPL-2.0
/*
 * churn: rewrites 1 MiB of memory over and over and prints a checksum
 * of it after each round: a guest whose output depends on all of its
 * memory and registers and on nothing else, for snapshots and live
 * migration (the output of a restored or migrated run must be what an
 * uninterrupted one prints).
 */
#include "rt.h"

#define WORDS	(1 << 18)	/* 1 MiB of 32-bit words */
#define ROUNDS	32
#define STRIDE	16		/* a write every 64 bytes: each page, often */
#define PASSES	8		/* over all of it, per round */

static uint32_t mem[WORDS];

int main(void)
{
	uint32_t x = 1, sum, r, p, i;

	for (r = 0; r < ROUNDS; r++) {
		sum = 0;
		for (p = 0; p < PASSES; p++) {
			for (i = (r * 7 + p) % STRIDE; i < WORDS; i += STRIDE) {
				x = x * 1103515245 + 12345;
				mem[i] ^= x >> 8;
				sum = (sum << 1 | sum >> 31) ^ mem[i];
			}
		}
		printf("round %u: %08x\n", r, sum);
	}
	for (sum = 0, i = 0; i < WORDS; i++)
		sum = (sum << 1 | sum >> 31) ^ mem[i];
	printf("memory: %08x\n", sum);
	return 0;
}

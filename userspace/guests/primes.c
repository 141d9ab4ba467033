// SPDX-License-Identifier: GPL-2.0
/*
 * primes: counts the primes below N with the sieve of Eratosthenes and
 * how many TSC cycles that took. The sieve lives in the bss, which the
 * ELF loader must have zeroed for the count to be right.
 */
#include "rt.h"

#define N 100000

static unsigned char composite[N];

int main(void)
{
	unsigned int count = 0;
	uint64_t i, j, t0, t1;

	t0 = rdtsc();
	for (i = 2; i < N; i++) {
		if (composite[i])
			continue;
		count++;
		for (j = i * i; j < N; j += i)
			composite[j] = 1;
	}
	t1 = rdtsc();
	printf("primes below %u: %u\n", N, count);
	printf("took %llu TSC cycles\n", (unsigned long long)(t1 - t0));
	return 0;
}

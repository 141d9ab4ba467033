// SPDX-License-Identifier: GPL-2.0
/*
 * hello64: a C guest in 64-bit long mode, loaded from an ELF64 file.
 * Prints a greeting and the hypervisor's CPUID signature on the UART,
 * then ends the run through port 0xf4 (exit status 1).
 */
#include "rt.h"

int main(void)
{
	uint32_t a, sig[4] = { 0 };

	cpuid(0x40000000, &a, &sig[0], &sig[1], &sig[2]);
	printf("Hello from a minivmm guest in 64-bit long mode!\n");
	printf("hypervisor: %s\n", (const char *)sig);
	return 0;
}

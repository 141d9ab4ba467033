/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny runtime for the example guests: port I/O, the 16550 UART at
 * 0x3f8, printf(), exit through the isa-debug-exit port 0xf4, rdtsc,
 * cpuid and minivmm hypercalls. Built for 32-bit (multiboot) and 64-bit
 * guests, freestanding: no libc, no SSE.
 */
#ifndef GUEST_RT_H
#define GUEST_RT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define COM1		0x3f8
#define PORT_EXIT	0xf4

/* Hypercalls of 'minivmm run'. */
#define HC_CONSOLE	0x100	/* RBX: address, RCX: length */

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b,
			 uint32_t *c, uint32_t *d)
{
	asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
		     : "a"(leaf), "c"(0));
}

static inline long hypercall(unsigned long nr, unsigned long a0,
			     unsigned long a1)
{
	long ret;

	asm volatile("vmcall" : "=a"(ret) : "a"(nr), "b"(a0), "c"(a1)
		     : "memory");
	return ret;
}

void serial_init(void);
void putchar(int c);
void puts(const char *s);
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void __attribute__((noreturn)) exit(int status);

void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
size_t strlen(const char *s);

#endif /* GUEST_RT_H */

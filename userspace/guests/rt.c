// SPDX-License-Identifier: GPL-2.0
/*
 * The example guests' runtime: see rt.h.
 */
#include "rt.h"

#define UART_IER	1
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define LSR_THRE	0x20

/* 115200 8N1, FIFOs on, interrupts off: what a boot loader does. */
void serial_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, 0x80);	/* DLAB: the divisor follows */
	outb(COM1 + 0, 1);
	outb(COM1 + 1, 0);
	outb(COM1 + UART_LCR, 0x03);
	outb(COM1 + UART_FCR, 0xc7);
	outb(COM1 + UART_MCR, 0x0b);
}

void putchar(int c)
{
	while (!(inb(COM1 + UART_LSR) & LSR_THRE))
		;
	outb(COM1, c);
}

void puts(const char *s)
{
	while (*s)
		putchar(*s++);
}

/* n /= 10, returning the remainder: no libgcc in 32-bit guests. */
static unsigned int div10(uint64_t *n)
{
	uint64_t q = 0;
	unsigned int r = 0;
	int i;

	for (i = 63; i >= 0; i--) {
		r = (r << 1) | ((*n >> i) & 1);
		if (r >= 10) {
			r -= 10;
			q |= 1ULL << i;
		}
	}
	*n = q;
	return r;
}

static void print_num(uint64_t v, unsigned int base, int width, char pad)
{
	char buf[24];
	int n = 0;

	do {
		if (base == 10)
			buf[n++] = '0' + div10(&v);
		else {
			buf[n++] = "0123456789abcdef"[v & 15];
			v >>= 4;
		}
	} while (v);
	while (width-- > n)
		putchar(pad);
	while (n)
		putchar(buf[--n]);
}

/* %d %u %x %c %s %p and %%, with l/ll, a width and '0' or '#'. */
int printf(const char *fmt, ...)
{
	va_list ap;
	const char *s;
	int64_t sv;
	uint64_t v;
	int width, longs, alt;
	char pad;

	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			putchar(*fmt);
			continue;
		}
		fmt++;
		alt = *fmt == '#';
		if (alt)
			fmt++;
		pad = *fmt == '0' ? '0' : ' ';
		for (width = 0; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + *fmt - '0';
		for (longs = 0; *fmt == 'l'; fmt++)
			longs++;
		switch (*fmt) {
		case 'd':
			sv = longs > 1 ? va_arg(ap, long long) :
			     longs ? va_arg(ap, long) : va_arg(ap, int);
			if (sv < 0) {
				putchar('-');
				sv = -sv;
			}
			print_num(sv, 10, width, pad);
			break;
		case 'u':
		case 'x':
			v = longs > 1 ? va_arg(ap, unsigned long long) :
			    longs ? va_arg(ap, unsigned long) :
				    va_arg(ap, unsigned int);
			if (alt && *fmt == 'x')
				puts("0x");
			print_num(v, *fmt == 'x' ? 16 : 10, width, pad);
			break;
		case 'p':
			puts("0x");
			print_num((uintptr_t)va_arg(ap, void *), 16, 0, 0);
			break;
		case 'c':
			putchar(va_arg(ap, int));
			break;
		case 's':
			s = va_arg(ap, const char *);
			puts(s ? s : "(null)");
			break;
		case '%':
			putchar('%');
			break;
		default:
			putchar('%');
			putchar(*fmt);
		}
	}
	va_end(ap);
	return 0;
}

/* isa-debug-exit: the run ends with status (status << 1) | 1. */
void exit(int status)
{
	outb(PORT_EXIT, status);
	for (;;)
		asm volatile("cli; hlt");
}

void *memset(void *s, int c, size_t n)
{
	unsigned char *p = s;

	while (n--)
		*p++ = c;
	return s;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

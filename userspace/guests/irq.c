// SPDX-License-Identifier: GPL-2.0
/*
 * irq: interrupts in a 64-bit guest, from its local APIC's timer.
 *
 * The guest finds its local APIC as on a PC: CPUID shows it,
 * IA32_APIC_BASE has it enabled at 0xfee00000, its version register
 * reads an integrated xAPIC. It installs an IDT, programs the APIC timer
 * periodic (10 ms at the 1 GHz input clock CPUID leaf 0x40000010
 * reports) on vector 32, halts until its handler has seen ten ticks,
 * stops the timer and reports. The halts never leave the kernel: the
 * module wakes the vCPU when its timer fires.
 */
#include "rt.h"

#define TICKS		10
#define TIMER_VECTOR	32
#define MSR_APIC_BASE	0x1b
#define CPUID_APIC	(1U << 9)
#define APIC_BASE	0xfee00000UL
#define APIC_LVR	0x30
#define APIC_EOI	0xb0
#define APIC_SPIV	0xf0
#define APIC_LVTT	0x320
#define APIC_TMICT	0x380
#define APIC_TDCR	0x3e0
#define SPIV_ENABLE	0x100
#define LVTT_PERIODIC	(1U << 17)
#define TDCR_DIV_1	0xb
#define PERIOD_COUNTS	10000000	/* 10 ms at 1 GHz */

struct gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, zero;
} __attribute__((packed));

static struct gate idt[256] __attribute__((aligned(16)));
volatile unsigned int ticks;

void timer_entry(void);

/* A tick: count it, EOI. */
asm(".text\n"
    ".globl timer_entry\n"
    "timer_entry:\n\t"
    "incl ticks(%rip)\n\t"
    "push %rax\n\t"
    "mov $0xfee000b0, %eax\n\t"
    "movl $0, (%rax)\n\t"
    "pop %rax\n\t"
    "iretq\n");

static void set_gate(int vec, void (*handler)(void))
{
	uint64_t a = (uintptr_t)handler;
	uint16_t cs;

	asm volatile("mov %%cs, %0" : "=r"(cs));
	idt[vec] = (struct gate){
		.off0 = a, .sel = cs, .type = 0x8e,	/* interrupt gate */
		.off1 = a >> 16, .off2 = a >> 32,
	};
}

static void apic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(APIC_BASE + reg) = v;
}

static uint32_t apic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(APIC_BASE + reg);
}

int main(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uintptr_t)idt };
	uint32_t lo = 0, hi = 0, a = 1, b, c = 0, d;

	set_gate(TIMER_VECTOR, timer_entry);
	asm volatile("lidt %0" : : "m"(idtr));

	asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	asm volatile("rdmsr" : "+a"(lo), "+d"(hi) : "c"(MSR_APIC_BASE));
	printf("local APIC: %s in CPUID, IA32_APIC_BASE %#x, version %#x\n",
	       d & CPUID_APIC ? "shown" : "none", lo, apic_read(APIC_LVR));

	apic_write(APIC_SPIV, SPIV_ENABLE | 0xff);
	apic_write(APIC_TDCR, TDCR_DIV_1);
	apic_write(APIC_LVTT, LVTT_PERIODIC | TIMER_VECTOR);
	apic_write(APIC_TMICT, PERIOD_COUNTS);
	while (ticks < TICKS)
		asm volatile("sti; hlt; cli");
	apic_write(APIC_TMICT, 0);
	printf("irq: %u timer interrupts on vector %u\n", ticks, TIMER_VECTOR);
	return 0;
}

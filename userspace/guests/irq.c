// SPDX-License-Identifier: GPL-2.0
/*
 * irq: interrupts in a 64-bit guest.
 *
 * 'minivmm run' has no interrupt controller. The guest asks it for
 * timer ticks with hypercall 0x101 (RBX = count, RCX = vector): each
 * time the guest then halts with interrupts enabled, the tool injects
 * one tick on that vector, until the count is used up. The guest
 * installs an IDT, enables interrupts, halts until its handler has seen
 * every tick, and reports.
 *
 * On the way it checks that there is no local APIC to find: CPUID shows
 * none, and the APIC's page at 0xfee00000 reads as zero, although
 * IA32_APIC_BASE reads the default base with the enable bit, as on every
 * 64-bit CPU (a #GP there would be caught, and the RDMSR skipped).
 */
#include "rt.h"

#define TICKS		10
#define TIMER_VECTOR	32
#define GP_VECTOR	13
#define MSR_APIC_BASE	0x1b
#define CPUID_APIC	(1U << 9)
#define APIC_VERSION	0xfee00030UL

struct gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, zero;
} __attribute__((packed));

static struct gate idt[256] __attribute__((aligned(16)));
volatile unsigned int ticks, gp_faults;

void timer_entry(void);
void gp_entry(void);

/* A tick: count it. A #GP: count it, skip the 2-byte RDMSR. */
asm(".text\n"
    ".globl timer_entry\n"
    "timer_entry:\n\t"
    "incl ticks(%rip)\n\t"
    "iretq\n"
    ".globl gp_entry\n"
    "gp_entry:\n\t"
    "incl gp_faults(%rip)\n\t"
    "addq $2, 8(%rsp)\n\t"	/* the saved RIP, above the error code */
    "addq $8, %rsp\n\t"		/* drop the error code */
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

int main(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uintptr_t)idt };
	uint32_t lo = 0, hi = 0, apic, a = 1, b, c = 0, d;
	long ret;

	set_gate(GP_VECTOR, gp_entry);
	set_gate(TIMER_VECTOR, timer_entry);
	asm volatile("lidt %0" : : "m"(idtr));

	asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	asm volatile("rdmsr" : "+a"(lo), "+d"(hi) : "c"(MSR_APIC_BASE));
	apic = *(volatile uint32_t *)APIC_VERSION;
	/* A #GP would leave 0 in lo. */
	printf("local APIC: %s in CPUID, IA32_APIC_BASE %#x, its page reads %#x\n",
	       d & CPUID_APIC ? "shown" : "none", lo, apic);

	ret = hypercall(HC_TICKS, TICKS, TIMER_VECTOR);
	if (ret) {
		printf("irq: the tick hypercall failed: %ld\n", ret);
		return 1;
	}
	while (ticks < TICKS)
		asm volatile("sti; hlt; cli");
	printf("irq: %u timer interrupts on vector %u\n", ticks, TIMER_VECTOR);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * nmi: the NMI button of 'minivmm run' (SIGQUIT), in a 64-bit guest.
 *
 * The guest programs its local APIC as a PC's firmware and Linux do:
 * software-enabled, the LVT LINT1 entry in NMI mode. It installs an NMI
 * handler (vector 2), says it waits, and halts until the handler has
 * run: the tool pulses LINT1 of every vCPU on SIGQUIT, which the APIC
 * turns into an NMI that wakes the halted vCPU.
 */
#include "rt.h"

#define NMI_VECTOR	2
#define APIC_BASE	0xfee00000UL
#define APIC_SPIV	0xf0
#define APIC_LVT1	0x360
#define SPIV_ENABLE	0x100
#define LVT_DM_NMI	0x400

struct gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, zero;
} __attribute__((packed));

static struct gate idt[256] __attribute__((aligned(16)));
volatile unsigned int nmis;

void nmi_entry(void);

/* An NMI: count it. NMIs need no EOI. */
asm(".text\n"
    ".globl nmi_entry\n"
    "nmi_entry:\n\t"
    "incl nmis(%rip)\n\t"
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

int main(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uintptr_t)idt };

	set_gate(NMI_VECTOR, nmi_entry);
	asm volatile("lidt %0" : : "m"(idtr));
	apic_write(APIC_SPIV, SPIV_ENABLE | 0xff);
	apic_write(APIC_LVT1, LVT_DM_NMI);
	printf("nmi: waiting\n");
	while (!nmis)
		asm volatile("sti; hlt; cli");
	printf("nmi: %u NMI through LINT1\n", nmis);
	return 0;
}

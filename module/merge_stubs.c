// SPDX-License-Identifier: GPL-2.0
/*
 * Temporary definitions of functions other branches of the same work
 * own (the I/O APIC and the NMI code), so that this branch builds alone.
 * Deleted at merge.
 */
#include "minivmm.h"

/**
 * ioapic_eoi() - stand-in: no I/O APIC, no level-triggered pin to re-arm
 * @vm: the VM
 * @vector: the vector whose EOI came
 */
void ioapic_eoi(struct vm *vm, u8 vector)
{
}

/**
 * vcpu_queue_nmi() - stand-in: NMIs are not injected without the NMI code
 * @vcpu: the vCPU
 */
void vcpu_queue_nmi(struct vcpu *vcpu)
{
	vcpu_wake(vcpu);
}

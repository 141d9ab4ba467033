// SPDX-License-Identifier: GPL-2.0
/*
 * Temporary definitions of functions other branches of issue 8 own; the
 * lead deletes this file at merge.
 *
 * apic_deliver() (lapic branch): until the local APIC exists, a fixed or
 * lowest-priority message goes through the MINIVMM_INJECT_INTERRUPT
 * slot of the vCPUs it names (physical: APIC ID = vCPU id, 0xff for all;
 * logical: flat model, bit n = vCPU n).
 */
#include <linux/sched.h>
#include <asm/apicdef.h>

#include "minivmm.h"

static bool stub_match(const struct apic_irq *irq, unsigned int id)
{
	if (irq->logical)
		return id < 8 && (irq->dest & BIT(id));
	return irq->dest == 0xff || irq->dest == id;
}

int apic_deliver(struct vm *vm, struct vcpu *src, const struct apic_irq *irq)
{
	int i, n = 0;

	if (irq->delivery_mode != APIC_DM_FIXED &&
	    irq->delivery_mode != APIC_DM_LOWEST)
		return 0;
	rcu_read_lock();
	for (i = 0; i < MINIVMM_MAX_VCPUS; i++) {
		struct vcpu *vcpu = rcu_dereference(vm->vcpus[i]);

		if (!vcpu || !stub_match(irq, vcpu->id))
			continue;
		if (cmpxchg(&vcpu->pending_irq, -1, (int)irq->vector) != -1)
			continue;
		if (READ_ONCE(vcpu->in_run))
			kick_process(vcpu->thread);
		n++;
		if (irq->delivery_mode == APIC_DM_LOWEST)
			break;
	}
	rcu_read_unlock();
	return n;
}

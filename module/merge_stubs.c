// SPDX-License-Identifier: GPL-2.0
/*
 * Temporary definitions of functions another branch of issue 8 owns,
 * until it is merged (Documentation: the interfaces file).
 */
#include <linux/sched.h>

#include "minivmm.h"

/**
 * vcpu_wake() - make a running vCPU take an event now
 * @vcpu: the vCPU
 *
 * The lapic branch's version also wakes a vCPU halted in the kernel;
 * until then a vCPU is either in a RUN, which an IPI makes leave guest
 * mode (RUN goes on: no -EINTR), or idle, and its next RUN takes the
 * event at its first entry.
 */
void vcpu_wake(struct vcpu *vcpu)
{
	if (READ_ONCE(vcpu->in_run))
		kick_process(vcpu->thread);
}

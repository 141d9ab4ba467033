// SPDX-License-Identifier: GPL-2.0
/*
 * Temporary definitions of functions other branches of the same work
 * own (the NMI code), so that this branch builds alone. Deleted at merge.
 */
#include "minivmm.h"

/**
 * vcpu_queue_nmi() - stand-in: NMIs are not injected without the NMI code
 * @vcpu: the vCPU
 */
void vcpu_queue_nmi(struct vcpu *vcpu)
{
	vcpu_wake(vcpu);
}

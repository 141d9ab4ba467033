/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The module's minivmm_exit_fault tracepoint, read through a private
 * tracefs instance: the exceptions the module raises on its own (a #GP
 * for an MSR, a #PF from the emulator's page walk) never reach
 * userspace as exits, so 'minivmm run --trace' reads them here.
 */
#ifndef MINIVMM_KTRACE_H
#define MINIVMM_KTRACE_H

#include <stdio.h>

/*
 * Start tracing the exceptions of VM @vm_id (or of every VM when it is
 * negative). 0, or -errno when tracefs or the tracepoint is not there
 * (no root, no tracefs, an old module).
 */
int ktrace_start(int vm_id);

/* Print the events seen since the last call, one "trace: " line each. */
void ktrace_drain(FILE *out);

/* Stop tracing and remove the instance (also done at exit). */
void ktrace_stop(void);

#endif /* MINIVMM_KTRACE_H */

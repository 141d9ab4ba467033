/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Printing VM statistics, for 'minivmm stat' and 'minivmm run --stats'.
 */
#ifndef MINIVMM_STAT_H
#define MINIVMM_STAT_H

#include <stdio.h>

#include "nl.h"

/*
 * @vm as text: its attributes, each vCPU's counters and its exits by
 * VMX exit reason. With @prev (the same VM a while ago), each counter
 * also shows how much it grew since.
 */
void stat_print_vm(FILE *f, const struct mnl_vm *vm,
		   const struct mnl_vm *prev);

/* @vm as one JSON object (no newline). */
void stat_print_json(FILE *f, const struct mnl_vm *vm);

#endif /* MINIVMM_STAT_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Live migration of 'minivmm run --migrate-to unix:PATH' to 'minivmm
 * run --incoming unix:PATH' (or 'minivmm restore --incoming
 * unix:PATH'): the snapshot stream over a socket, memory first while
 * the guest runs (iterative pre-copy with the dirty log), then the
 * pages dirtied last and the state with the vCPUs stopped. See
 * migrate.c and Documentation/snapshot.rst.
 */
#ifndef MINIVMM_MIGRATE_H
#define MINIVMM_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>

#include "snapshot.h"

struct mvm;

/* What migrate_send() needs of 'minivmm run'. */
struct migrate_source {
	struct mvm *vm;
	const struct snap_config *cfg;
	/* Stop every vCPU (out of RUN, after immediate_exit); go on. */
	void (*pause)(void *arg);
	void (*resume)(void *arg);
	/* Write the vCPUs, I/O APIC, devices and end, vCPUs paused. */
	int (*save_state)(struct snap_writer *w, void *arg);
	void *arg;
};

/*
 * Send the VM to @spec ("unix:PATH"). True when the destination has it
 * all, with the vCPUs left paused; false (said on stderr) when the
 * migration failed, with the vCPUs running here again. The rounds, bytes
 * sent and the downtime are reported on stderr.
 */
bool migrate_send(const struct migrate_source *src, const char *spec);

/*
 * Listen at @spec ("unix:PATH") and accept one source: its socket, or
 * die. The path is removed again once the source is connected.
 */
int migrate_accept(const char *spec);

/* Tell the source that everything arrived and is applied. */
void migrate_ack(int fd);

/* Check the form of @spec: 0, or -1 (a usage error). */
int migrate_parse(const char *spec);

#endif /* MINIVMM_MIGRATE_H */

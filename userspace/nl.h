/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The minivmm generic netlink family, from the tool's side (libnl-genl).
 *
 * Every function returns 0 (or a count) on success and a negative errno
 * on failure, with a line for mnl_strerror(): -ENOENT from mnl_open()
 * means the family is not registered (the module is not loaded).
 */
#ifndef MINIVMM_NL_H
#define MINIVMM_NL_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/minivmm.h>

/* Room for every VMX basic exit reason the kernel may report. */
#define MNL_NR_REASONS	128

struct mnl;

struct mnl_vcpu {
	uint32_t id;
	uint64_t entries, exits, guest_ns;
	/* Exits that reached userspace, and the writes that did not. */
	bool has_io;				/* the module sent these four */
	uint64_t user_exits, posted_writes, posted_full, ioeventfd_signals;
	/* LINT assertions the APIC dropped (ExtINT without an 8259...) */
	bool has_lint;				/* the module sent it */
	uint64_t lint_dropped;
	uint64_t reasons[MNL_NR_REASONS];	/* by VMX basic exit reason */
};

struct mnl_vm {
	uint32_t id, pid, uid, nr_vcpus;
	uint64_t mem_bytes;
	unsigned int nr_stats;			/* entries in vcpus[] */
	struct mnl_vcpu *vcpus;
};

struct mnl_event {
	uint32_t event;				/* MINIVMM_EVENT_* */
	uint32_t vm;
	int32_t vcpu;				/* -1 when absent */
	uint32_t exit_reason;			/* 0 when absent */
};

/* Connect and resolve the family. */
int mnl_open(struct mnl **nlp);
void mnl_close(struct mnl *nl);
const char *mnl_strerror(void);

int mnl_get_caps(struct mnl *nl, struct minivmm_caps *caps);

/* The VMs the caller may see, in a malloc()ed array; returns the count. */
int mnl_list_vms(struct mnl *nl, struct mnl_vm **vms);

/* The VM's attributes and per-vCPU statistics; free with mnl_vm_free(). */
int mnl_get_stats(struct mnl *nl, uint32_t id, struct mnl_vm *vm);
void mnl_vm_free(struct mnl_vm *vm);

/* The newest VM of process @pid: its id, or -ENOENT. */
int mnl_find_vm_of_pid(struct mnl *nl, uint32_t pid);

/*
 * Join the "events" group and call @fn for every event until it returns
 * non-zero (that value is returned) or receiving fails (-errno).
 */
int mnl_subscribe(struct mnl *nl);
int mnl_events(struct mnl *nl, int (*fn)(const struct mnl_event *ev,
					 void *arg), void *arg);

/* "vm-created", "vm-destroyed", "vcpu-shutdown", "entry-failed". */
const char *mnl_event_name(uint32_t event);

#endif /* MINIVMM_NL_H */

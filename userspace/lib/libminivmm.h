/* SPDX-License-Identifier: LGPL-2.1 */
/*
 * libminivmm: a small C library over the /dev/minivmm ioctl API.
 *
 * Every function returns 0 (or a non-negative value) on success and a
 * negative errno on failure; mvm_strerror() describes the last failure
 * of a VM in words.
 */
#ifndef LIBMINIVMM_H
#define LIBMINIVMM_H

#include <stddef.h>
#include <stdint.h>

#include <linux/minivmm.h>

struct mvm;
struct mvm_vcpu;

/* A VM with @mem_size bytes of RAM at guest physical 0. */
int mvm_create(struct mvm **vmp, size_t mem_size);
void mvm_destroy(struct mvm *vm);

/* The host address of guest physical @gpa, or NULL outside RAM. */
void *mvm_gpa(struct mvm *vm, uint64_t gpa, size_t len);
size_t mvm_mem_size(struct mvm *vm);
int mvm_fd(struct mvm *vm);

/* Map more memory (slot >= 1) at @gpa; @flags: MINIVMM_MEM_*. */
int mvm_add_memory(struct mvm *vm, unsigned int slot, uint64_t gpa,
		   void *host, size_t size, unsigned int flags);

int mvm_vcpu_create(struct mvm *vm, unsigned int id,
		    struct mvm_vcpu **vcpup);
void mvm_vcpu_destroy(struct mvm_vcpu *vcpu);
struct minivmm_run *mvm_vcpu_run_struct(struct mvm_vcpu *vcpu);
int mvm_vcpu_fd(struct mvm_vcpu *vcpu);

/* MINIVMM_RUN: 0 with the run structure filled, or -errno (-EINTR). */
int mvm_run(struct mvm_vcpu *vcpu);

int mvm_get_regs(struct mvm_vcpu *vcpu, struct minivmm_regs *regs);
int mvm_set_regs(struct mvm_vcpu *vcpu, const struct minivmm_regs *regs);
int mvm_get_sregs(struct mvm_vcpu *vcpu, struct minivmm_sregs *sregs);
int mvm_set_sregs(struct mvm_vcpu *vcpu, const struct minivmm_sregs *sregs);
int mvm_inject_interrupt(struct mvm_vcpu *vcpu, unsigned int vector);

/*
 * Loaders. mvm_load_flat() copies a raw image to @addr and starts the
 * vCPU there in real mode (CS=0, IP=@addr).
 */
int mvm_load_flat(struct mvm *vm, struct mvm_vcpu *vcpu, const void *image,
		  size_t size, uint64_t addr);

/* Read a whole file into a malloc()ed buffer. */
int mvm_read_file(const char *path, void **data, size_t *size);

/* What the last failing call of @vm (NULL: of any VM) was doing. */
const char *mvm_strerror(struct mvm *vm);

/* A name for a MINIVMM_EXIT_* value. */
const char *mvm_exit_name(uint32_t reason);

#endif /* LIBMINIVMM_H */

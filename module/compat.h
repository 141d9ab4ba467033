/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the kernels minivmm builds against: Debian 12's
 * 6.1 and 6.12. Every difference is handled here, once, with the
 * kernel that changed it; the rest of the module is written for both.
 */
#ifndef MINIVMM_COMPAT_H
#define MINIVMM_COMPAT_H

#include <linux/bits.h>
#include <linux/eventfd.h>
#include <linux/mm.h>
#include <linux/syscore_ops.h>
#include <linux/version.h>
#include <asm/asm.h>
#include <asm/cpufeatures.h>
#include <asm/processor.h>
#include <asm/processor-flags.h>
#include <asm/tlbflush.h>
#include <asm/vmx.h>

/*
 * 6.12 moved the IA32_VMX_BASIC bits from asm/msr-index.h to asm/vmx.h,
 * renamed VMX_BASIC_64, and reads the VMCS memory type with a helper
 * compared against X86_MEMTYPE_WB. Their names, on 6.1:
 */
#ifndef VMX_BASIC_32BIT_PHYS_ADDR_ONLY
#define VMX_BASIC_32BIT_PHYS_ADDR_ONLY	VMX_BASIC_64
#define X86_MEMTYPE_WB			VMX_BASIC_MEM_TYPE_WB

static inline u32 vmx_basic_vmcs_mem_type(u64 vmx_basic)
{
	return (vmx_basic & VMX_BASIC_MEM_TYPE_MASK) >>
		VMX_BASIC_MEM_TYPE_SHIFT;
}
#endif

/*
 * 6.6 moved the VMX helpers of asm/virtext.h into KVM, and the header is
 * gone from 6.12's. cpu_has_vmx() and cpu_vmxoff() are small: the module
 * has its own, on both kernels, doing what 6.1's did.
 */

/**
 * cpu_has_vmx() - whether this CPU implements VMX
 *
 * CPUID, not the feature flag: the kernel clears X86_FEATURE_VMX when the
 * firmware locked VMX off, and the caller reports that case itself.
 *
 * Return: true when CPUID.1:ECX.VMX is set.
 */
static inline bool cpu_has_vmx(void)
{
	return cpuid_ecx(1) & BIT(X86_FEATURE_VMX & 31);
}

/**
 * cpu_vmxoff() - leave VMX operation on this CPU and clear CR4.VMXE
 *
 * VMXOFF faults (#UD) outside VMX operation: the fault is fixed up and
 * CR4.VMXE cleared all the same.
 *
 * Return: 0, or -EIO when VMXOFF faulted.
 */
static inline int cpu_vmxoff(void)
{
	bool faulted = true;

	asm volatile("1: vmxoff\n\t"
		     "movb $0, %[faulted]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [faulted] "+qm" (faulted) : : "cc", "memory");
	cr4_clear_bits(X86_CR4_VMXE);
	return faulted ? -EIO : 0;
}

/*
 * 6.3 made vma->vm_flags read-only outside mm/: flags change through
 * vm_flags_set(), which 6.1 lacks.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}
#endif

/*
 * Debian's 6.12.y took a later kernel's syscore API: the callbacks get a
 * data pointer, and what is registered is a struct syscore pointing at
 * the operations. Kbuild defines HAVE_SYSCORE_DATA from the header.
 */
#ifdef HAVE_SYSCORE_DATA
#define SYSCORE_ARGS	void *data

/**
 * struct compat_syscore - syscore operations, registered either way
 * @ops:	the callbacks
 * @sc:		what register_syscore() takes
 */
struct compat_syscore {
	struct syscore_ops ops;
	struct syscore sc;
};

static inline void compat_register_syscore(struct compat_syscore *s)
{
	s->sc.ops = &s->ops;
	register_syscore(&s->sc);
}

static inline void compat_unregister_syscore(struct compat_syscore *s)
{
	unregister_syscore(&s->sc);
}
#else
#define SYSCORE_ARGS	void

/**
 * struct compat_syscore - syscore operations, registered either way
 * @ops:	the callbacks
 */
struct compat_syscore {
	struct syscore_ops ops;
};

static inline void compat_register_syscore(struct compat_syscore *s)
{
	register_syscore_ops(&s->ops);
}

static inline void compat_unregister_syscore(struct compat_syscore *s)
{
	unregister_syscore_ops(&s->ops);
}
#endif

/* 6.8 dropped eventfd_signal()'s count: a signal always adds 1. */
static inline void minivmm_eventfd_signal(struct eventfd_ctx *ctx)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

#endif /* MINIVMM_COMPAT_H */

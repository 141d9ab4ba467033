/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VMX instructions and width-checked VMCS accessors.
 *
 * A VMCS field encoding carries its width in bits 14:13; the accessors
 * refuse, at build time, a constant field of another width, so a VMREAD
 * can never silently truncate. Every instruction reports failure: VMfail
 * (CF or ZF) is logged with the VM-instruction error and the caller, and a
 * fault (VMX turned off under us by a reboot) is caught by the exception
 * table instead of oopsing.
 */
#ifndef MINIVMM_VMX_OPS_H
#define MINIVMM_VMX_OPS_H

#include <linux/bug.h>
#include <linux/build_bug.h>
#include <linux/instruction_pointer.h>
#include <asm/asm.h>
#include <asm/vmx.h>

void vmx_insn_failed(const char *insn, unsigned long field,
		     unsigned long value, unsigned long caller);
void vmx_insn_faulted(const char *insn, unsigned long field,
		      unsigned long caller);

#define VMCS_FIELD_WIDTH(f)	(((f) >> 13) & 3)
#define VMCS_WIDTH_16		0
#define VMCS_WIDTH_64		1
#define VMCS_WIDTH_32		2
#define VMCS_WIDTH_NATURAL	3

#define vmcs_check_width(field, width)					\
	BUILD_BUG_ON_MSG(__builtin_constant_p(field) &&			\
			 (VMCS_FIELD_WIDTH(field) != (width) ||		\
			  ((width) == VMCS_WIDTH_64 && ((field) & 1))),	\
			 "VMCS field accessed with the wrong width")

static __always_inline unsigned long __vmcs_read(unsigned long field)
{
	unsigned long value;

	asm goto("1: vmread %[field], %[value]\n\t"
		 "jna %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : [value] "=r" (value)
		 : [field] "r" (field)
		 : "cc" : fail, fault);
	return value;
fail:
	vmx_insn_failed("vmread", field, 0, _RET_IP_);
	return 0;
fault:
	vmx_insn_faulted("vmread", field, _RET_IP_);
	return 0;
}

static __always_inline bool __vmcs_write(unsigned long field,
					 unsigned long value)
{
	asm goto("1: vmwrite %[value], %[field]\n\t"
		 "jna %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : [field] "r" (field), [value] "rm" (value)
		 : "cc" : fail, fault);
	return true;
fail:
	vmx_insn_failed("vmwrite", field, value, _RET_IP_);
	return false;
fault:
	vmx_insn_faulted("vmwrite", field, _RET_IP_);
	return false;
}

#define vmcs_read16(f)  ({ vmcs_check_width(f, VMCS_WIDTH_16);		\
			   (u16)__vmcs_read(f); })
#define vmcs_read32(f)  ({ vmcs_check_width(f, VMCS_WIDTH_32);		\
			   (u32)__vmcs_read(f); })
#define vmcs_read64(f)  ({ vmcs_check_width(f, VMCS_WIDTH_64);		\
			   (u64)__vmcs_read(f); })
#define vmcs_readl(f)   ({ vmcs_check_width(f, VMCS_WIDTH_NATURAL);	\
			   __vmcs_read(f); })

#define vmcs_write16(f, v) ({ vmcs_check_width(f, VMCS_WIDTH_16);	\
			      __vmcs_write(f, (u16)(v)); })
#define vmcs_write32(f, v) ({ vmcs_check_width(f, VMCS_WIDTH_32);	\
			      __vmcs_write(f, (u32)(v)); })
#define vmcs_write64(f, v) ({ vmcs_check_width(f, VMCS_WIDTH_64);	\
			      __vmcs_write(f, (u64)(v)); })
#define vmcs_writel(f, v)  ({ vmcs_check_width(f, VMCS_WIDTH_NATURAL);	\
			      __vmcs_write(f, (unsigned long)(v)); })

/* VMCLEAR and VMPTRLD take the VMCS address in memory: 0, or -EIO. */
static inline int vmcs_clear_pa(u64 pa)
{
	asm goto("1: vmclear %[pa]\n\t"
		 "jna %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : [pa] "m" (pa) : "cc", "memory" : fail, fault);
	return 0;
fail:
	vmx_insn_failed("vmclear", 0, pa, _RET_IP_);
	return -EIO;
fault:
	vmx_insn_faulted("vmclear", 0, _RET_IP_);
	return -EIO;
}

static inline int vmcs_ptrld_pa(u64 pa)
{
	asm goto("1: vmptrld %[pa]\n\t"
		 "jna %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : [pa] "m" (pa) : "cc", "memory" : fail, fault);
	return 0;
fail:
	vmx_insn_failed("vmptrld", 0, pa, _RET_IP_);
	return -EIO;
fault:
	vmx_insn_faulted("vmptrld", 0, _RET_IP_);
	return -EIO;
}

static inline int __invept(unsigned long ext, u64 eptp)
{
	struct { u64 eptp, gpa; } desc = { eptp, 0 };

	asm goto("1: invept %[desc], %[ext]\n\t"
		 "jna %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : [desc] "m" (desc), [ext] "r" (ext) : "cc", "memory"
		 : fail, fault);
	return 0;
fail:
	vmx_insn_failed("invept", ext, eptp, _RET_IP_);
	return -EIO;
fault:
	vmx_insn_faulted("invept", ext, _RET_IP_);
	return -EIO;
}

static inline int __invvpid(unsigned long ext, u16 vpid)
{
	struct { u64 vpid, gla; } desc = { vpid, 0 };

	asm goto("1: invvpid %[desc], %[ext]\n\t"
		 "jna %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : [desc] "m" (desc), [ext] "r" (ext) : "cc", "memory"
		 : fail, fault);
	return 0;
fail:
	vmx_insn_failed("invvpid", ext, vpid, _RET_IP_);
	return -EIO;
fault:
	vmx_insn_faulted("invvpid", ext, _RET_IP_);
	return -EIO;
}

#endif /* MINIVMM_VMX_OPS_H */

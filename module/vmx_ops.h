/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VMX instructions and width-checked VMCS accessors.
 *
 * A VMCS field encoding carries its width in bits 14:13; the accessors
 * refuse, at build time, a constant field of another width, so a VMREAD
 * can never silently truncate. Every instruction reports failure: VMfail
 * (CF or ZF set) is logged with the VM-instruction error and the caller,
 * and a fault (VMX turned off under us by a reboot) is caught by the
 * exception table instead of oopsing.
 */
#ifndef MINIVMM_VMX_OPS_H
#define MINIVMM_VMX_OPS_H

#include <linux/build_bug.h>
#include <linux/compiler.h>
#include <linux/instruction_pointer.h>
#include <linux/types.h>
#include <asm/asm.h>
#include <asm/vmx.h>

void vmx_insn_failed(const char *insn, unsigned long field,
		     unsigned long value, unsigned long caller);
void vmx_insn_faulted(const char *insn, unsigned long field,
		      unsigned long caller);

/*
 * The outcome of one VMX instruction: "setna" leaves VMX_OK or VMX_FAIL;
 * a fault skips it, leaving the VMX_FAULT the operand started with.
 */
#define VMX_OK		0
#define VMX_FAIL	1
#define VMX_FAULT	2

#define VMCS_FIELD_WIDTH(f)	(((f) >> 13) & 3)
#define VMCS_WIDTH_16		0
#define VMCS_WIDTH_64		1
#define VMCS_WIDTH_32		2
#define VMCS_WIDTH_NATURAL	3

static __always_inline void vmcs_check(unsigned long field, int width)
{
	BUILD_BUG_ON_MSG(__builtin_constant_p(field) &&
			 (VMCS_FIELD_WIDTH(field) != width ||
			  (width == VMCS_WIDTH_64 && (field & 1))),
			 "VMCS field accessed with the wrong width");
}

static __always_inline bool vmx_result(u8 res, const char *insn,
				       unsigned long field,
				       unsigned long value)
{
	if (likely(res == VMX_OK))
		return true;
	if (res == VMX_FAIL)
		vmx_insn_failed(insn, field, value, _RET_IP_);
	else
		vmx_insn_faulted(insn, field, _RET_IP_);
	return false;
}

/*
 * VMREAD and VMWRITE run on every exit: where the compiler allows, the
 * success path is the instruction, a jump not taken and one over the
 * fault's way out, failure and fault branching out of line (asm goto)
 * instead of a flag byte tested after it.
 */
#ifdef CONFIG_CC_HAS_ASM_GOTO_OUTPUT
static __always_inline unsigned long __vmcs_read(unsigned long field)
{
	unsigned long value;

	asm_goto_output("1: vmread %[field], %[value]\n\t"
			"jna %l[failed]\n\t"
			"jmp 3f\n"
			"2:\tjmp %l[faulted]\n"
			"3:\n\t"
			_ASM_EXTABLE(1b, 2b)
			: [value] "=r" (value)
			: [field] "r" (field)
			: "cc"
			: failed, faulted);
	return value;
failed:
	vmx_insn_failed("vmread", field, 0, _RET_IP_);
	return 0;
faulted:
	vmx_insn_faulted("vmread", field, _RET_IP_);
	return 0;
}
#else
static __always_inline unsigned long __vmcs_read(unsigned long field)
{
	unsigned long value = 0;
	u8 res = VMX_FAULT;

	asm volatile("1: vmread %[field], %[value]\n\t"
		     "setna %[res]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [value] "+r" (value), [res] "+qm" (res)
		     : [field] "r" (field)
		     : "cc");
	return vmx_result(res, "vmread", field, 0) ? value : 0;
}
#endif

static __always_inline bool __vmcs_write(unsigned long field,
					 unsigned long value)
{
	asm goto("1: vmwrite %[value], %[field]\n\t"
		 "jna %l[failed]\n\t"
		 "jmp 3f\n"
		 "2:\tjmp %l[faulted]\n"
		 "3:\n\t"
		 _ASM_EXTABLE(1b, 2b)
		 : : [field] "r" (field), [value] "rm" (value)
		 : "cc"
		 : failed, faulted);
	return true;
failed:
	vmx_insn_failed("vmwrite", field, value, _RET_IP_);
	return false;
faulted:
	vmx_insn_faulted("vmwrite", field, _RET_IP_);
	return false;
}

static __always_inline u16 vmcs_read16(unsigned long field)
{
	vmcs_check(field, VMCS_WIDTH_16);
	return __vmcs_read(field);
}

static __always_inline u32 vmcs_read32(unsigned long field)
{
	vmcs_check(field, VMCS_WIDTH_32);
	return __vmcs_read(field);
}

static __always_inline u64 vmcs_read64(unsigned long field)
{
	vmcs_check(field, VMCS_WIDTH_64);
	return __vmcs_read(field);
}

static __always_inline unsigned long vmcs_readl(unsigned long field)
{
	vmcs_check(field, VMCS_WIDTH_NATURAL);
	return __vmcs_read(field);
}

static __always_inline bool vmcs_write16(unsigned long field, u16 value)
{
	vmcs_check(field, VMCS_WIDTH_16);
	return __vmcs_write(field, value);
}

static __always_inline bool vmcs_write32(unsigned long field, u32 value)
{
	vmcs_check(field, VMCS_WIDTH_32);
	return __vmcs_write(field, value);
}

static __always_inline bool vmcs_write64(unsigned long field, u64 value)
{
	vmcs_check(field, VMCS_WIDTH_64);
	return __vmcs_write(field, value);
}

static __always_inline bool vmcs_writel(unsigned long field,
					unsigned long value)
{
	vmcs_check(field, VMCS_WIDTH_NATURAL);
	return __vmcs_write(field, value);
}

/* VMCLEAR and VMPTRLD take the VMCS address in memory: 0, or -EIO. */
static inline int vmcs_clear_pa(u64 pa)
{
	u8 res = VMX_FAULT;

	asm volatile("1: vmclear %[pa]\n\t"
		     "setna %[res]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [res] "+qm" (res) : [pa] "m" (pa) : "cc", "memory");
	return vmx_result(res, "vmclear", 0, pa) ? 0 : -EIO;
}

static inline int vmcs_ptrld_pa(u64 pa)
{
	u8 res = VMX_FAULT;

	asm volatile("1: vmptrld %[pa]\n\t"
		     "setna %[res]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [res] "+qm" (res) : [pa] "m" (pa) : "cc", "memory");
	return vmx_result(res, "vmptrld", 0, pa) ? 0 : -EIO;
}

static inline int __invept(unsigned long ext, u64 eptp)
{
	struct { u64 eptp, gpa; } desc = { eptp, 0 };
	u8 res = VMX_FAULT;

	asm volatile("1: invept %[desc], %[ext]\n\t"
		     "setna %[res]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [res] "+qm" (res)
		     : [desc] "m" (desc), [ext] "r" (ext) : "cc", "memory");
	return vmx_result(res, "invept", ext, eptp) ? 0 : -EIO;
}

static inline int __invvpid(unsigned long ext, u16 vpid)
{
	struct { u64 vpid, gla; } desc = { vpid, 0 };
	u8 res = VMX_FAULT;

	asm volatile("1: invvpid %[desc], %[ext]\n\t"
		     "setna %[res]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [res] "+qm" (res)
		     : [desc] "m" (desc), [ext] "r" (ext) : "cc", "memory");
	return vmx_result(res, "invvpid", ext, vpid) ? 0 : -EIO;
}

#endif /* MINIVMM_VMX_OPS_H */

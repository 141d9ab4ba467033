// SPDX-License-Identifier: GPL-2.0
/*
 * VMCS set-up, and the guest state behind GET/SET_REGS and GET/SET_SREGS.
 *
 * Everything here runs on the vCPU thread with the VMCS loaded and
 * preemption off.
 *
 * The guest owns no CR0 or CR4 bit: every write of either
 * exits, is checked here, and the read shadows give the guest back what it
 * wrote while the real registers carry the bits VMX operation requires
 * (CR0.NE, CR4.VMXE). Owning CR0.PG is what lets the module switch the
 * "IA-32e mode guest" entry control together with EFER.LMA.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/gfp.h>
#include <linux/ratelimit.h>
#include <linux/spinlock.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/segment.h>
#include <asm/trapnr.h>

#include "minivmm.h"
#include "vmx_ops.h"

/* The guest reset state: real mode, CS:IP = 0000:7C00, like a boot sector. */
#define RESET_RIP		0x7c00
#define RESET_CR0		X86_CR0_ET
#define RESET_PAT		0x0007040600070406ULL
#define RESET_DR7		0x400
#define AR_CODE16		0x9b	/* present, code, read, accessed */
#define AR_DATA16		0x93	/* present, data, write, accessed */
#define AR_LDT			0x82
#define AR_TSS_BUSY		0x8b	/* present, busy 32-bit TSS */

/* A slice of guest time between preemption-timer exits, in TSC cycles. */
#define SLICE_CYCLES		(2 * 1000 * 1000)

#define CR0_GUEST_OWNED		0UL
#define CR4_ALLOWED		(X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | \
				 X86_CR4_DE | X86_CR4_PSE | X86_CR4_PAE | \
				 X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE | \
				 X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | \
				 X86_CR4_UMIP | X86_CR4_FSGSBASE | \
				 X86_CR4_OSXSAVE | X86_CR4_SMEP | X86_CR4_SMAP)
#define EFER_ALLOWED		(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX)
#define RFLAGS_RESERVED		(~0x3f7fd7UL)
#define AR_RESERVED		0xfffe0f00

static unsigned long *vpid_bitmap;
static DEFINE_SPINLOCK(vpid_lock);
static void *io_bitmap, *msr_bitmap;

/**
 * vpid_alloc() - a VPID no other vCPU has
 *
 * Return: the VPID, or 0 (untagged: flushed on every entry and exit) when
 * all are taken.
 */
u16 vpid_alloc(void)
{
	unsigned long vpid;

	spin_lock(&vpid_lock);
	vpid = find_first_zero_bit(vpid_bitmap, VMX_NR_VPIDS);
	if (vpid < VMX_NR_VPIDS)
		__set_bit(vpid, vpid_bitmap);
	else
		vpid = 0;
	spin_unlock(&vpid_lock);
	return vpid;
}

/**
 * vpid_free() - give a VPID back
 * @vpid: from vpid_alloc()
 */
void vpid_free(u16 vpid)
{
	spin_lock(&vpid_lock);
	__clear_bit(vpid, vpid_bitmap);
	spin_unlock(&vpid_lock);
}

/**
 * vmx_alloc_bitmaps() - the I/O and MSR bitmaps every vCPU shares, and
 * the VPID allocator
 *
 * Every bit is set: every port and every MSR access exits.
 *
 * Return: 0 or -ENOMEM.
 */
int vmx_alloc_bitmaps(void)
{
	io_bitmap = (void *)__get_free_pages(GFP_KERNEL, 1);
	msr_bitmap = (void *)__get_free_page(GFP_KERNEL);
	vpid_bitmap = bitmap_zalloc(VMX_NR_VPIDS, GFP_KERNEL);
	if (!io_bitmap || !msr_bitmap || !vpid_bitmap) {
		vmx_free_bitmaps();
		return -ENOMEM;
	}
	memset(io_bitmap, 0xff, 2 * PAGE_SIZE);
	memset(msr_bitmap, 0xff, PAGE_SIZE);
	/* VPID 0 is the host's. */
	__set_bit(0, vpid_bitmap);
	return 0;
}

/**
 * vmx_free_bitmaps() - undo vmx_alloc_bitmaps()
 */
void vmx_free_bitmaps(void)
{
	free_pages((unsigned long)io_bitmap, 1);
	free_page((unsigned long)msr_bitmap);
	bitmap_free(vpid_bitmap);
	io_bitmap = NULL;
	msr_bitmap = NULL;
	vpid_bitmap = NULL;
}

/**
 * vmcs_refresh_host_percpu() - host fields that belong to this CPU
 * @vcpu: the vCPU whose VMCS just became active on this CPU
 *
 * Also drops the guest TLB entries the vCPU may have left on this CPU
 * earlier, since the guest's own invalidations only reached the CPU it
 * ran on.
 */
void vmcs_refresh_host_percpu(struct vcpu *vcpu)
{
	int cpu = smp_processor_id();
	u64 sysenter_esp;

	vmcs_writel(HOST_TR_BASE,
		    (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	vmcs_writel(HOST_GDTR_BASE, (unsigned long)get_cpu_gdt_ro(cpu));
	vmcs_writel(HOST_GS_BASE, cpu_kernelmode_gs_base(cpu));
	rdmsrl(MSR_IA32_SYSENTER_ESP, sysenter_esp);
	vmcs_writel(HOST_IA32_SYSENTER_ESP, sysenter_esp);
	msr_tsc_follow_cpu(vcpu);

	if (vcpu->vpid) {
		if (vmx_config.features & MINIVMM_CAP_INVVPID_CONTEXT)
			__invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT, vcpu->vpid);
		else
			__invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, 0);
	}
}

static bool vmcs_setup_host(void)
{
	struct desc_ptr idt;
	bool ok = true;
	u64 msr;

	ok &= vmcs_writel(HOST_CR0, read_cr0());
	ok &= vmcs_write16(HOST_CS_SELECTOR, __KERNEL_CS);
	ok &= vmcs_write16(HOST_SS_SELECTOR, __KERNEL_DS);
	ok &= vmcs_write16(HOST_DS_SELECTOR, 0);
	ok &= vmcs_write16(HOST_ES_SELECTOR, 0);
	ok &= vmcs_write16(HOST_FS_SELECTOR, 0);
	ok &= vmcs_write16(HOST_GS_SELECTOR, 0);
	ok &= vmcs_write16(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	/* The thread's own FS base: restored with it by the scheduler. */
	rdmsrl(MSR_FS_BASE, msr);
	ok &= vmcs_writel(HOST_FS_BASE, msr);
	store_idt(&idt);
	ok &= vmcs_writel(HOST_IDTR_BASE, idt.address);
	rdmsrl(MSR_IA32_SYSENTER_CS, msr);
	ok &= vmcs_write32(HOST_IA32_SYSENTER_CS, msr);
	rdmsrl(MSR_IA32_SYSENTER_EIP, msr);
	ok &= vmcs_writel(HOST_IA32_SYSENTER_EIP, msr);
	rdmsrl(MSR_EFER, msr);
	ok &= vmcs_write64(HOST_IA32_EFER, msr);
	rdmsrl(MSR_IA32_CR_PAT, msr);
	ok &= vmcs_write64(HOST_IA32_PAT, msr);
	ok &= vmcs_writel(HOST_RIP, (unsigned long)minivmm_vmexit);
	return ok;
}

static bool vmcs_setup_controls(struct vcpu *vcpu)
{
	const struct vmx_config *c = &vmx_config;
	bool ok = true;

	vcpu->cpu_based = c->cpu_based;
	vcpu->cpu_based2 = c->cpu_based2;
	vcpu->entry_ctls = c->vmentry;
	ok &= vmcs_write32(PIN_BASED_VM_EXEC_CONTROL, c->pin_based);
	ok &= vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, vcpu->cpu_based);
	ok &= vmcs_write32(SECONDARY_VM_EXEC_CONTROL, vcpu->cpu_based2);
	ok &= vmcs_write32(VM_EXIT_CONTROLS, c->vmexit);
	ok &= vmcs_write32(VM_ENTRY_CONTROLS, vcpu->entry_ctls);
	/* #DB exits, so that the guest's DR6 never lands in the CPU's. */
	ok &= vmcs_write32(EXCEPTION_BITMAP, BIT(X86_TRAP_DB));
	ok &= vmcs_write32(PAGE_FAULT_ERROR_CODE_MASK, 0);
	ok &= vmcs_write32(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	ok &= vmcs_write32(CR3_TARGET_COUNT, 0);
	ok &= vmcs_write32(VM_EXIT_MSR_STORE_COUNT, 0);
	ok &= vmcs_write32(VM_EXIT_MSR_LOAD_COUNT, 0);
	ok &= vmcs_write32(VM_ENTRY_MSR_LOAD_COUNT, 0);
	ok &= vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, 0);
	ok &= vmcs_write64(IO_BITMAP_A, __pa(io_bitmap));
	ok &= vmcs_write64(IO_BITMAP_B, __pa(io_bitmap) + PAGE_SIZE);
	ok &= vmcs_write64(MSR_BITMAP, __pa(msr_bitmap));
	if (c->cpu_based & CPU_BASED_TPR_SHADOW) {
		/* Threshold 0: lowering the TPR never exits. */
		ok &= vmcs_write64(VIRTUAL_APIC_PAGE_ADDR, __pa(vcpu->vapic));
		ok &= vmcs_write32(TPR_THRESHOLD, 0);
	}
	ok &= vmcs_write64(EPT_POINTER, vcpu->vm->ept.eptp);
	if (vcpu->vpid)
		ok &= vmcs_write16(VIRTUAL_PROCESSOR_ID, vcpu->vpid);
	ok &= vmcs_write64(VMCS_LINK_POINTER, -1ULL);
	/* Already this CPU's TSC compensation (msr_tsc_follow_cpu()). */
	if (c->cpu_based & CPU_BASED_USE_TSC_OFFSETTING)
		ok &= vmcs_write64(TSC_OFFSET, vcpu->tsc_offset);
	/* The timer is reloaded from this field on every entry. */
	if (c->pin_based & PIN_BASED_VMX_PREEMPTION_TIMER)
		ok &= vmcs_write32(VMX_PREEMPTION_TIMER_VALUE,
				   SLICE_CYCLES >> c->preemption_timer_shift);
	ok &= vmcs_writel(CR0_GUEST_HOST_MASK, ~(unsigned long)CR0_GUEST_OWNED);
	ok &= vmcs_writel(CR4_GUEST_HOST_MASK, ~0UL);
	return ok;
}

static bool vmcs_write_segment(unsigned int index,
			       const struct minivmm_segment *s)
{
	/* Selector, base, limit and AR fields of ES..TR are evenly spaced. */
	u32 d = index * 2;
	bool ok = true;

	ok &= __vmcs_write(GUEST_ES_SELECTOR + d, s->selector);
	ok &= __vmcs_write(GUEST_ES_BASE + d, s->base);
	ok &= __vmcs_write(GUEST_ES_LIMIT + d, s->limit);
	ok &= __vmcs_write(GUEST_ES_AR_BYTES + d, s->attrib);
	return ok;
}

static void vmcs_read_segment(unsigned int index, struct minivmm_segment *s)
{
	u32 d = index * 2;

	memset(s, 0, sizeof(*s));
	s->selector = __vmcs_read(GUEST_ES_SELECTOR + d);
	s->base = __vmcs_read(GUEST_ES_BASE + d);
	s->limit = __vmcs_read(GUEST_ES_LIMIT + d);
	s->attrib = __vmcs_read(GUEST_ES_AR_BYTES + d);
}

/* VMCS segment order: ES, CS, SS, DS, FS, GS, LDTR, TR. */
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR };

static struct minivmm_segment *sregs_seg(struct minivmm_sregs *s, int i)
{
	switch (i) {
	case SEG_ES: return &s->es;
	case SEG_CS: return &s->cs;
	case SEG_SS: return &s->ss;
	case SEG_DS: return &s->ds;
	case SEG_FS: return &s->fs;
	case SEG_GS: return &s->gs;
	case SEG_LDTR: return &s->ldt;
	default: return &s->tr;
	}
}

/* Write CR0/CR4 as the guest sees them, with the bits VMX needs added. */
static bool vmcs_apply_cr0(struct vcpu *vcpu, unsigned long cr0)
{
	unsigned long fixed0 = vmx_config.cr0_fixed0 &
			       ~(X86_CR0_PE | X86_CR0_PG);
	unsigned long hw = (cr0 | fixed0) & vmx_config.cr0_fixed1;

	vcpu->cr0 = cr0;
	return vmcs_writel(GUEST_CR0, hw) &&
	       vmcs_writel(CR0_READ_SHADOW, cr0);
}

static bool vmcs_apply_cr4(struct vcpu *vcpu, unsigned long cr4)
{
	unsigned long hw = (cr4 | vmx_config.cr4_fixed0) &
			   vmx_config.cr4_fixed1;

	vcpu->cr4 = cr4;
	return vmcs_writel(GUEST_CR4, hw) &&
	       vmcs_writel(CR4_READ_SHADOW, cr4);
}

static void vmcs_set_long_mode(struct vcpu *vcpu, bool lma)
{
	u32 ctl = lma ? vcpu->entry_ctls | VM_ENTRY_IA32E_MODE :
			vcpu->entry_ctls & ~VM_ENTRY_IA32E_MODE;

	if (ctl != vcpu->entry_ctls) {
		vcpu->entry_ctls = ctl;
		vmcs_write32(VM_ENTRY_CONTROLS, ctl);
	}
}

static bool pae_paging(unsigned long cr0, unsigned long cr4, u64 efer)
{
	return (cr0 & X86_CR0_PG) && (cr4 & X86_CR4_PAE) && !(efer & EFER_LMA);
}

static bool cr0_valid(unsigned long cr0)
{
	if (cr0 >> 32)
		return false;
	if ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE))
		return false;
	return !((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD));
}

static bool cr4_valid(unsigned long cr4)
{
	return !(cr4 & ~(CR4_ALLOWED & vmx_config.cr4_fixed1));
}

/**
 * vcpu_set_cr0() - the guest writes CR0
 * @vcpu: the vCPU
 * @cr0: the value
 *
 * Enabling paging with EFER.LME set enters IA-32e mode; disabling it
 * leaves it.
 *
 * Return: 0, or -EINVAL where the CPU would raise #GP.
 */
int vcpu_set_cr0(struct vcpu *vcpu, unsigned long cr0)
{
	u64 efer = vmcs_read64(GUEST_IA32_EFER);
	bool was_pg = vcpu->cr0 & X86_CR0_PG;

	cr0 |= X86_CR0_ET;
	if (!cr0_valid(cr0))
		return -EINVAL;
	if ((cr0 & X86_CR0_PG) && !was_pg && (efer & EFER_LME)) {
		if (!(vcpu->cr4 & X86_CR4_PAE))
			return -EINVAL;
		efer |= EFER_LMA;
	} else if (!(cr0 & X86_CR0_PG) && was_pg && (efer & EFER_LMA)) {
		efer &= ~EFER_LMA;
	}
	if (pae_paging(cr0, vcpu->cr4, efer) &&
	    vcpu_load_pdptrs(vcpu, vmcs_readl(GUEST_CR3)))
		return -EINVAL;
	vmcs_write64(GUEST_IA32_EFER, efer);
	vmcs_set_long_mode(vcpu, efer & EFER_LMA);
	vmcs_apply_cr0(vcpu, cr0);
	return 0;
}

/**
 * vcpu_set_cr4() - the guest writes CR4
 * @vcpu: the vCPU
 * @cr4: the value
 *
 * Return: 0, or -EINVAL where the CPU would raise #GP.
 */
int vcpu_set_cr4(struct vcpu *vcpu, unsigned long cr4)
{
	u64 efer = vmcs_read64(GUEST_IA32_EFER);

	if (!cr4_valid(cr4))
		return -EINVAL;
	if ((efer & EFER_LMA) && !(cr4 & X86_CR4_PAE))
		return -EINVAL;
	if (pae_paging(vcpu->cr0, cr4, efer) &&
	    vcpu_load_pdptrs(vcpu, vmcs_readl(GUEST_CR3)))
		return -EINVAL;
	vmcs_apply_cr4(vcpu, cr4);
	return 0;
}

/**
 * vcpu_set_efer() - the guest writes EFER
 * @vcpu: the vCPU
 * @efer: the value; LMA is read-only and keeps its current value
 *
 * Return: 0, or -EINVAL where the CPU would raise #GP.
 */
int vcpu_set_efer(struct vcpu *vcpu, u64 efer)
{
	u64 old = vmcs_read64(GUEST_IA32_EFER);

	if (efer & ~EFER_ALLOWED)
		return -EINVAL;
	if ((vcpu->cr0 & X86_CR0_PG) && ((efer ^ old) & EFER_LME))
		return -EINVAL;
	efer = (efer & ~EFER_LMA) | (old & EFER_LMA);
	vmcs_write64(GUEST_IA32_EFER, efer);
	return 0;
}

static bool vmcs_reset_guest(struct vcpu *vcpu)
{
	struct minivmm_segment code = {
		.limit = 0xffff, .attrib = AR_CODE16,
	}, data = {
		.limit = 0xffff, .attrib = AR_DATA16,
	}, ldt = {
		.limit = 0xffff, .attrib = AR_LDT,
	}, tr = {
		.limit = 0xffff, .attrib = AR_TSS_BUSY,
	};
	bool ok = true;
	int i;

	for (i = SEG_ES; i <= SEG_GS; i++)
		ok &= vmcs_write_segment(i, i == SEG_CS ? &code : &data);
	ok &= vmcs_write_segment(SEG_LDTR, &ldt);
	ok &= vmcs_write_segment(SEG_TR, &tr);
	ok &= vmcs_writel(GUEST_GDTR_BASE, 0);
	ok &= vmcs_write32(GUEST_GDTR_LIMIT, 0xffff);
	ok &= vmcs_writel(GUEST_IDTR_BASE, 0);
	ok &= vmcs_write32(GUEST_IDTR_LIMIT, 0xffff);

	ok &= vmcs_write64(GUEST_IA32_EFER, 0);
	/* An INIT can find the vCPU in long mode: EFER.LMA is clear now. */
	vmcs_set_long_mode(vcpu, false);
	ok &= vmcs_apply_cr0(vcpu, RESET_CR0);
	ok &= vmcs_apply_cr4(vcpu, 0);
	ok &= vmcs_writel(GUEST_CR3, 0);
	ok &= vmcs_writel(GUEST_DR7, RESET_DR7);
	ok &= vmcs_write64(GUEST_IA32_PAT, RESET_PAT);
	ok &= vmcs_write64(GUEST_IA32_DEBUGCTL, 0);
	ok &= vmcs_write32(GUEST_SYSENTER_CS, 0);
	ok &= vmcs_writel(GUEST_SYSENTER_ESP, 0);
	ok &= vmcs_writel(GUEST_SYSENTER_EIP, 0);
	ok &= vmcs_writel(GUEST_RSP, 0);
	ok &= vmcs_writel(GUEST_RIP, RESET_RIP);
	ok &= vmcs_writel(GUEST_RFLAGS, X86_EFLAGS_FIXED);
	ok &= vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, 0);
	ok &= vmcs_write32(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	ok &= vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vcpu->dr6 = DR6_RESERVED;
	vcpu->dr7 = RESET_DR7;
	return ok;
}

/**
 * vcpu_reset_init() - the guest state after an INIT
 * @vcpu: the vCPU, on its thread with its VMCS loaded
 *
 * The registers return to their reset values (minivmm's reset state,
 * real mode at 0000:7C00); the MSRs, the x87/SSE state and the caches
 * are kept, as an INIT keeps them.
 */
void vcpu_reset_init(struct vcpu *vcpu)
{
	memset(vcpu->regs, 0, sizeof(vcpu->regs));
	vcpu->reinject_info = 0;
	vcpu->cr2 = 0;
	vmcs_reset_guest(vcpu);
}

/**
 * vcpu_start_sipi() - a start-up IPI starts a vCPU waiting for it
 * @vcpu: the vCPU, on its thread with its VMCS loaded, after INIT
 * @vector: the SIPI vector: real mode at CS = vector << 8, IP = 0
 */
void vcpu_start_sipi(struct vcpu *vcpu, u8 vector)
{
	struct minivmm_segment cs = {
		.base = (u64)vector << 12, .selector = vector << 8,
		.limit = 0xffff, .attrib = AR_CODE16,
	};

	vmcs_write_segment(SEG_CS, &cs);
	vmcs_writel(GUEST_RIP, 0);
}

/**
 * vmcs_setup() - fill a new vCPU's VMCS
 * @vcpu: the vCPU, its VMCS current on this CPU
 *
 * Return: 0, or -EIO when a VMWRITE failed (logged with the field).
 */
int vmcs_setup(struct vcpu *vcpu)
{
	bool ok = true;

	ok &= vmcs_setup_controls(vcpu);
	ok &= vmcs_setup_host();
	ok &= vmcs_reset_guest(vcpu);
	msr_reset(vcpu);
	return ok ? 0 : -EIO;
}

/**
 * vcpu_get_regs() - MINIVMM_GET_REGS, on the vCPU thread
 * @vcpu: the vCPU
 * @arg: struct minivmm_regs to fill
 *
 * Return: 0.
 */
int vcpu_get_regs(struct vcpu *vcpu, void *arg)
{
	struct minivmm_regs *r = arg;

	r->rax = vcpu->regs[R_RAX];
	r->rbx = vcpu->regs[R_RBX];
	r->rcx = vcpu->regs[R_RCX];
	r->rdx = vcpu->regs[R_RDX];
	r->rsi = vcpu->regs[R_RSI];
	r->rdi = vcpu->regs[R_RDI];
	r->rbp = vcpu->regs[R_RBP];
	r->r8 = vcpu->regs[R_R8];
	r->r9 = vcpu->regs[R_R9];
	r->r10 = vcpu->regs[R_R10];
	r->r11 = vcpu->regs[R_R11];
	r->r12 = vcpu->regs[R_R12];
	r->r13 = vcpu->regs[R_R13];
	r->r14 = vcpu->regs[R_R14];
	r->r15 = vcpu->regs[R_R15];
	r->rsp = vmcs_readl(GUEST_RSP);
	r->rip = vmcs_readl(GUEST_RIP);
	r->rflags = vmcs_readl(GUEST_RFLAGS);
	return 0;
}

/**
 * vcpu_set_regs() - MINIVMM_SET_REGS, on the vCPU thread
 * @vcpu: the vCPU
 * @arg: struct minivmm_regs
 *
 * Return: 0, or -EINVAL for reserved RFLAGS bits.
 */
int vcpu_set_regs(struct vcpu *vcpu, void *arg)
{
	struct minivmm_regs *r = arg;

	if (r->rflags & RFLAGS_RESERVED)
		return -EINVAL;
	vcpu->regs[R_RAX] = r->rax;
	vcpu->regs[R_RBX] = r->rbx;
	vcpu->regs[R_RCX] = r->rcx;
	vcpu->regs[R_RDX] = r->rdx;
	vcpu->regs[R_RSI] = r->rsi;
	vcpu->regs[R_RDI] = r->rdi;
	vcpu->regs[R_RBP] = r->rbp;
	vcpu->regs[R_R8] = r->r8;
	vcpu->regs[R_R9] = r->r9;
	vcpu->regs[R_R10] = r->r10;
	vcpu->regs[R_R11] = r->r11;
	vcpu->regs[R_R12] = r->r12;
	vcpu->regs[R_R13] = r->r13;
	vcpu->regs[R_R14] = r->r14;
	vcpu->regs[R_R15] = r->r15;
	vmcs_writel(GUEST_RSP, r->rsp);
	vmcs_writel(GUEST_RIP, r->rip);
	vmcs_writel(GUEST_RFLAGS, r->rflags | X86_EFLAGS_FIXED);
	return 0;
}

/**
 * vcpu_get_sregs() - MINIVMM_GET_SREGS, on the vCPU thread
 * @vcpu: the vCPU
 * @arg: struct minivmm_sregs to fill
 *
 * Return: 0.
 */
int vcpu_get_sregs(struct vcpu *vcpu, void *arg)
{
	struct minivmm_sregs *s = arg;
	int i;

	memset(s, 0, sizeof(*s));
	for (i = SEG_ES; i <= SEG_TR; i++)
		vmcs_read_segment(i, sregs_seg(s, i));
	s->gdt.base = vmcs_readl(GUEST_GDTR_BASE);
	s->gdt.limit = vmcs_read32(GUEST_GDTR_LIMIT);
	s->idt.base = vmcs_readl(GUEST_IDTR_BASE);
	s->idt.limit = vmcs_read32(GUEST_IDTR_LIMIT);
	s->cr0 = vcpu->cr0;
	s->cr2 = vcpu->cr2;
	s->cr3 = vmcs_readl(GUEST_CR3);
	s->cr4 = vcpu->cr4;
	s->efer = vmcs_read64(GUEST_IA32_EFER);
	return 0;
}

static bool sregs_valid(const struct minivmm_sregs *s)
{
	int i;

	for (i = SEG_ES; i <= SEG_TR; i++) {
		struct minivmm_segment *seg =
			sregs_seg((struct minivmm_sregs *)s, i);

		if (seg->pad || seg->reserved || (seg->attrib & AR_RESERVED))
			return false;
	}
	if (s->gdt.pad[0] || s->gdt.pad[1] || s->gdt.pad[2] ||
	    s->idt.pad[0] || s->idt.pad[1] || s->idt.pad[2])
		return false;
	for (i = 0; i < ARRAY_SIZE(s->reserved); i++)
		if (s->reserved[i])
			return false;
	return true;
}

/**
 * vcpu_set_sregs() - MINIVMM_SET_SREGS, on the vCPU thread
 * @vcpu: the vCPU
 * @arg: struct minivmm_sregs
 *
 * Values the CPU checks at VM entry (segment attributes against the mode,
 * for instance) are left to it: an inconsistent state shows up as a
 * MINIVMM_EXIT_FAIL_ENTRY exit.
 *
 * Return: 0, or -EINVAL for non-zero reserved fields, control register
 * values the CPU would refuse, or EFER.LMA inconsistent with LME and PG.
 */
int vcpu_set_sregs(struct vcpu *vcpu, void *arg)
{
	struct minivmm_sregs *s = arg;
	bool lma;
	int i;

	if (!sregs_valid(s) || !cr0_valid(s->cr0 | X86_CR0_ET) ||
	    !cr4_valid(s->cr4) || (s->efer & ~EFER_ALLOWED))
		return -EINVAL;
	lma = (s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG);
	if (lma != !!(s->efer & EFER_LMA) || (lma && !(s->cr4 & X86_CR4_PAE)))
		return -EINVAL;

	/* The last check; it changes nothing when it fails. */
	if (pae_paging(s->cr0, s->cr4, s->efer) &&
	    vcpu_load_pdptrs(vcpu, s->cr3))
		return -EINVAL;
	vmcs_writel(GUEST_CR3, s->cr3);
	for (i = SEG_ES; i <= SEG_TR; i++)
		vmcs_write_segment(i, sregs_seg(s, i));
	vmcs_writel(GUEST_GDTR_BASE, s->gdt.base);
	vmcs_write32(GUEST_GDTR_LIMIT, s->gdt.limit);
	vmcs_writel(GUEST_IDTR_BASE, s->idt.base);
	vmcs_write32(GUEST_IDTR_LIMIT, s->idt.limit);
	vmcs_write64(GUEST_IA32_EFER, s->efer);
	vmcs_set_long_mode(vcpu, lma);
	vmcs_apply_cr0(vcpu, s->cr0 | X86_CR0_ET);
	vmcs_apply_cr4(vcpu, s->cr4);
	vcpu->cr2 = s->cr2;
	return 0;
}

/**
 * vmcs_dump() - log the guest state a failed VM entry was checked against
 * @vcpu: the vCPU
 */
void vmcs_dump(struct vcpu *vcpu)
{
	static const char * const names[] = {
		"es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr",
	};
	struct minivmm_segment seg;
	int i;

	pr_info("  cr0 %#lx (shadow %#lx) cr3 %#lx cr4 %#lx (shadow %#lx) efer %#llx\n",
		vmcs_readl(GUEST_CR0), vcpu->cr0, vmcs_readl(GUEST_CR3),
		vmcs_readl(GUEST_CR4), vcpu->cr4,
		vmcs_read64(GUEST_IA32_EFER));
	pr_info("  rip %#lx rsp %#lx rflags %#lx entry ctls %#x intr %#x activity %u\n",
		vmcs_readl(GUEST_RIP), vmcs_readl(GUEST_RSP),
		vmcs_readl(GUEST_RFLAGS), vcpu->entry_ctls,
		vmcs_read32(GUEST_INTERRUPTIBILITY_INFO),
		vmcs_read32(GUEST_ACTIVITY_STATE));
	for (i = SEG_ES; i <= SEG_TR; i++) {
		vmcs_read_segment(i, &seg);
		pr_info("  %-4s sel %#06x base %#llx limit %#x ar %#x\n",
			names[i], seg.selector, seg.base, seg.limit,
			seg.attrib);
	}
	pr_info("  gdtr %#lx/%#x idtr %#lx/%#x\n",
		vmcs_readl(GUEST_GDTR_BASE), vmcs_read32(GUEST_GDTR_LIMIT),
		vmcs_readl(GUEST_IDTR_BASE), vmcs_read32(GUEST_IDTR_LIMIT));
}

/*
 * Any user can make entries fail at will, on as many vCPUs and VMs as they
 * like, and the run structure already tells them why: the log gets one
 * report a minute for the whole module.
 */
static DEFINE_RATELIMIT_STATE(failed_entry_rs, 60 * HZ, 1);

/**
 * vcpu_log_failed_entry() - report a failed VM entry in the kernel log
 * @vcpu: the vCPU, its VMCS loaded
 * @what: what failed, followed by the code in the message
 * @code: the VM-instruction error or the exit reason
 * @qual: the exit qualification, or 0
 *
 * Rate-limited across all vCPUs of all VMs.
 */
void vcpu_log_failed_entry(struct vcpu *vcpu, const char *what, u64 code,
			   u64 qual)
{
	if (!__ratelimit(&failed_entry_rs))
		return;
	pr_info("vCPU %u:%u: %s %#llx, qualification %#llx\n", vcpu->vm->id,
		vcpu->id, what, code, qual);
	vmcs_dump(vcpu);
}

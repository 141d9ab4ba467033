// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory access and the decoding of MMIO instructions.
 *
 * An access to guest physical memory that no slot maps (or a write to a
 * read-only slot) exits as an EPT violation with the address but not the
 * data: the instruction is fetched through the guest's page tables and
 * decoded here. Only the MOV forms compilers emit for device registers
 * are decoded; anything else becomes an internal-error exit carrying the
 * instruction bytes.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <asm/processor.h>
#include <asm/vmx.h>

#include "minivmm.h"
#include "vmx_ops.h"

#define PTE_P		BIT_ULL(0)
#define PTE_PS		BIT_ULL(7)
#define PTE_ADDR	GENMASK_ULL(51, 12)
#define MAX_INSN	15

/**
 * guest_read_phys() - copy from guest physical memory
 * @vm: the VM
 * @gpa: guest physical address
 * @buf: destination
 * @len: bytes
 *
 * Return: 0, or -EFAULT when part of the range is not guest RAM.
 */
int guest_read_phys(struct vm *vm, u64 gpa, void *buf, unsigned int len)
{
	int ret = 0;

	/*
	 * Callers outside MINIVMM_RUN (SET_SREGS loading PDPTEs) race with
	 * slot deletion: the pages stay pinned until this section ends.
	 */
	rcu_read_lock();
	while (len) {
		struct mem_slot *slot = vm_find_slot(vm, gpa);
		unsigned int off = offset_in_page(gpa);
		unsigned int n = min_t(unsigned int, len, PAGE_SIZE - off);
		void *p;

		if (!slot) {
			ret = -EFAULT;
			break;
		}
		p = kmap_local_page(slot->pages[(gpa - slot->gpa) >> PAGE_SHIFT]);
		memcpy(buf, p + off, n);
		kunmap_local(p);
		buf += n;
		gpa += n;
		len -= n;
	}
	rcu_read_unlock();
	return ret;
}

static int read_pte(struct vm *vm, u64 gpa, u64 *pte, bool wide)
{
	u32 narrow;

	if (wide)
		return guest_read_phys(vm, gpa, pte, 8);
	if (guest_read_phys(vm, gpa, &narrow, 4))
		return -EFAULT;
	*pte = narrow;
	return 0;
}

/* Guest linear to guest physical, through whatever paging mode is on. */
static int guest_translate(struct vcpu *vcpu, u64 gla, u64 *gpa)
{
	u64 efer = vmcs_read64(GUEST_IA32_EFER), table, pte;
	bool wide = vcpu->cr4 & X86_CR4_PAE;
	int level, bits;

	if (!(vcpu->cr0 & X86_CR0_PG)) {
		*gpa = (u32)gla;
		return 0;
	}
	table = vmcs_readl(GUEST_CR3);
	if (efer & EFER_LMA) {
		level = 4;
	} else if (wide) {
		pte = vmcs_read64(GUEST_PDPTR0 + 2 * ((gla >> 30) & 3));
		if (!(pte & PTE_P))
			return -EFAULT;
		table = pte;
		level = 2;
	} else {
		level = 2;
	}

	for (; level >= 1; level--) {
		if (wide) {
			bits = PAGE_SHIFT + 9 * (level - 1);
			table &= PTE_ADDR;
			if (read_pte(vcpu->vm, table + ((gla >> bits) & 511) * 8,
				     &pte, true))
				return -EFAULT;
		} else {
			bits = PAGE_SHIFT + 10 * (level - 1);
			table &= 0xfffff000;
			if (read_pte(vcpu->vm, table + ((gla >> bits) & 1023) * 4,
				     &pte, false))
				return -EFAULT;
		}
		if (!(pte & PTE_P))
			return -EFAULT;
		if (level > 1 && (pte & PTE_PS) &&
		    (wide || (vcpu->cr4 & X86_CR4_PSE))) {
			u64 mask = (1ULL << bits) - 1;

			/* 4 MiB pages keep PA[39:32] in bits 20:13. */
			u64 base = wide ? pte & PTE_ADDR & ~mask :
				   (pte & 0xffc00000) | ((pte & 0x1fe000) << 19);
			*gpa = base | (gla & mask);
			return 0;
		}
		table = pte;
	}
	*gpa = (pte & (wide ? PTE_ADDR : 0xfffff000)) | (gla & ~PAGE_MASK);
	return 0;
}

/**
 * guest_fetch_insn() - read the bytes at the guest's CS:RIP
 * @vcpu: the vCPU
 * @buf: destination
 * @len: bytes wanted
 *
 * Return: bytes read (fewer where the code ends at unmapped memory), or
 * -EFAULT when not even the first byte could be read.
 */
int guest_fetch_insn(struct vcpu *vcpu, u8 *buf, unsigned int len)
{
	u64 gla = vmcs_readl(GUEST_CS_BASE) + vmcs_readl(GUEST_RIP), gpa;
	unsigned int done = 0;

	while (done < len) {
		unsigned int n = min_t(unsigned int, len - done,
				       PAGE_SIZE - offset_in_page(gla + done));

		if (guest_translate(vcpu, gla + done, &gpa) ||
		    guest_read_phys(vcpu->vm, gpa, buf + done, n))
			break;
		done += n;
	}
	return done ? done : -EFAULT;
}

/**
 * vcpu_load_pdptrs() - load the four PAE PDPTEs from the guest's CR3
 * @vcpu: the vCPU
 * @cr3: the CR3 value
 *
 * Return: 0, or -EINVAL when they are not in RAM or set reserved bits
 * (the CPU would raise #GP).
 */
int vcpu_load_pdptrs(struct vcpu *vcpu, unsigned long cr3)
{
	/* Bits 2:1, 8:5 and from MAXPHYADDR up are reserved in a PDPTE. */
	u64 rsvd = 0x1e6 | GENMASK_ULL(63, boot_cpu_data.x86_phys_bits);
	u64 pdpte[4];
	int i;

	if (guest_read_phys(vcpu->vm, cr3 & 0xffffffe0, pdpte, sizeof(pdpte)))
		return -EINVAL;
	for (i = 0; i < 4; i++)
		if ((pdpte[i] & PTE_P) && (pdpte[i] & rsvd))
			return -EINVAL;
	for (i = 0; i < 4; i++)
		vmcs_write64(GUEST_PDPTR0 + 2 * i, pdpte[i]);
	return 0;
}

/* What one decoded MOV does. */
struct mmio_insn {
	unsigned int len;	/* instruction bytes */
	unsigned int size;	/* bytes moved */
	bool write;
	int reg;		/* GPR: source of a write, destination of a read */
	bool high8;		/* reg is AH, CH, DH or BH */
	unsigned int dst_size;	/* bytes written to reg (MOVZX widens) */
	bool imm;		/* a write of the immediate below */
	u64 imm_val;
};

/* Bytes a ModRM memory operand takes, ModRM included; 0 if a register. */
static unsigned int modrm_len(const u8 *p, unsigned int avail,
			      unsigned int addr_size)
{
	u8 modrm = p[0], mod = modrm >> 6, rm = modrm & 7;

	if (mod == 3)
		return 0;
	if (addr_size == 2) {
		if (mod == 0 && rm == 6)
			return 3;
		return 1 + (mod == 1 ? 1 : mod == 2 ? 2 : 0);
	}
	if (rm == 4) {
		u8 base;

		if (avail < 2)
			return 0;
		base = p[1] & 7;
		if (mod == 0 && base == 5)
			return 6;
		return 2 + (mod == 1 ? 1 : mod == 2 ? 4 : 0);
	}
	if (mod == 0 && rm == 5)
		return 5;
	return 1 + (mod == 1 ? 1 : mod == 2 ? 4 : 0);
}

static bool decode_mov(struct vcpu *vcpu, const u8 *p, unsigned int avail,
		       struct mmio_insn *in)
{
	u32 cs_ar = vmcs_read32(GUEST_CS_AR_BYTES);
	bool long64 = (vcpu->entry_ctls & VM_ENTRY_IA32E_MODE) &&
		      (cs_ar & VMX_AR_L_MASK);
	unsigned int op = (long64 || (cs_ar & VMX_AR_DB_MASK)) ? 4 : 2;
	unsigned int addr = long64 ? 8 : op;
	unsigned int i = 0, m, immlen;
	u8 rex = 0, opc;

	memset(in, 0, sizeof(*in));
	for (; i < avail; i++) {
		switch (p[i]) {
		case 0x66:
			op = op == 2 ? 4 : 2;
			continue;
		case 0x67:
			addr = long64 ? 4 : (addr == 2 ? 4 : 2);
			continue;
		case 0x26: case 0x2e: case 0x36: case 0x3e:
		case 0x64: case 0x65: case 0xf0:
			continue;
		}
		break;
	}
	if (long64 && i < avail && (p[i] & 0xf0) == 0x40)
		rex = p[i++];
	if (rex & 8)
		op = 8;
	if (i >= avail)
		return false;
	opc = p[i++];

	switch (opc) {
	case 0x88: case 0x89: case 0x8a: case 0x8b:
		in->write = opc <= 0x89;
		in->size = (opc & 1) ? op : 1;
		break;
	case 0xc6: case 0xc7:
		in->write = true;
		in->imm = true;
		in->size = opc == 0xc6 ? 1 : op;
		break;
	case 0x0f:
		if (i >= avail || (p[i] != 0xb6 && p[i] != 0xb7))
			return false;
		in->size = p[i++] == 0xb6 ? 1 : 2;
		in->dst_size = op;
		break;
	case 0xa0: case 0xa1: case 0xa2: case 0xa3:
		in->write = opc >= 0xa2;
		in->size = (opc & 1) ? op : 1;
		in->reg = R_RAX;
		in->len = i + addr;
		goto done;
	default:
		return false;
	}

	if (i >= avail)
		return false;
	m = modrm_len(p + i, avail - i, addr);
	if (!m)
		return false;
	in->reg = ((p[i] >> 3) & 7) | ((rex & 4) ? 8 : 0);
	if (in->imm && (p[i] & 0x38))
		return false;	/* C6/C7 with reg != 0 is not MOV */
	i += m;
	if (in->imm) {
		immlen = min(in->size, 4U);
		if (i + immlen > avail)
			return false;
		memcpy(&in->imm_val, p + i, immlen);
		/* A 64-bit MOV sign-extends its 32-bit immediate. */
		if (in->size == 8)
			in->imm_val = (s64)(s32)in->imm_val;
		i += immlen;
	}
	in->len = i;
done:
	if (in->len > avail)
		return false;
	if (!in->dst_size)
		in->dst_size = in->size;
	/* Without REX, byte registers 4-7 are AH, CH, DH, BH. */
	if (in->size == 1 && in->dst_size == 1 && !rex && !in->imm &&
	    in->reg >= 4 && in->reg < 8) {
		in->high8 = true;
		in->reg -= 4;
	}
	/*
	 * RSP (and SPL, its low byte with REX) lives in the VMCS, which is
	 * not at hand when a read completes.
	 */
	if (!in->write && in->reg == R_RSP && !in->high8)
		return false;
	return true;
}

/**
 * emulate_mmio() - turn an access to @gpa into an MMIO exit
 * @vcpu: the vCPU, at the faulting instruction
 * @gpa: the guest physical address it touched
 *
 * Return: 0 (an MMIO or internal-error exit for userspace).
 */
int emulate_mmio(struct vcpu *vcpu, u64 gpa)
{
	struct minivmm_run *run = vcpu->run;
	struct mmio_insn in;
	u8 insn[MAX_INSN];
	int n = guest_fetch_insn(vcpu, insn, sizeof(insn));
	unsigned long rip;
	u64 val;

	if (n < 0 || !decode_mov(vcpu, insn, n, &in)) {
		run->exit_reason = MINIVMM_EXIT_INTERNAL_ERROR;
		memset(&run->internal, 0, sizeof(run->internal));
		run->internal.suberror = MINIVMM_INTERNAL_EMULATION;
		if (n > 0) {
			run->internal.ninsn = n;
			memcpy(run->internal.insn, insn, n);
		}
		run->internal.data[0] = gpa;
		return 0;
	}

	run->exit_reason = MINIVMM_EXIT_MMIO;
	memset(&run->mmio, 0, sizeof(run->mmio));
	run->mmio.phys_addr = gpa;
	run->mmio.len = in.size;
	run->mmio.is_write = in.write;
	if (in.write) {
		val = in.imm ? in.imm_val : in.high8 ?
		      vcpu->regs[in.reg] >> 8 :
		      in.reg == R_RSP ? vmcs_readl(GUEST_RSP) :
		      vcpu->regs[in.reg];
		if (in.size < 8)
			val &= (1ULL << (in.size * 8)) - 1;
		run->mmio.data = val;
	} else {
		vcpu->pending = MMIO_READ;
		vcpu->pending_reg = in.reg;
		vcpu->pending_len = in.dst_size;
		vcpu->pending_high8 = in.high8;
	}

	rip = vmcs_readl(GUEST_RIP) + in.len;
	if (!(vcpu->entry_ctls & VM_ENTRY_IA32E_MODE))
		rip = (u32)rip;
	vmcs_writel(GUEST_RIP, rip);
	return 0;
}

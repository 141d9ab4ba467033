// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory access, and the emulation of the instructions that touch
 * device memory or do string port I/O.
 *
 * An access to guest physical memory that no slot maps (or a write to a
 * read-only slot) exits as an EPT violation with the address but not the
 * data: the instruction is fetched through the guest's page tables,
 * decoded against a table of operand forms, and turned into MMIO exits
 * (a read, a write, or a read and then a write). Forms the table does not
 * hold become an internal-error exit carrying the instruction bytes. INS
 * and OUTS move their elements between guest memory and the data area of
 * the run structure, a batch per exit.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <asm/irqflags.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/trap_pf.h>
#include <asm/trapnr.h>
#include <asm/vmx.h>

#include "minivmm.h"
#include "vmx_ops.h"

#define PTE_P		BIT_ULL(0)
#define PTE_RW		BIT_ULL(1)
#define PTE_US		BIT_ULL(2)
#define PTE_A		BIT_ULL(5)
#define PTE_D		BIT_ULL(6)
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

/*
 * Set @bits in the paging-structure entry at @gpa, as the CPU does while
 * it walks: atomically, since other vCPUs may be clearing them, and only
 * while the entry is still present.
 */
static void pte_set_bits(struct vm *vm, u64 gpa, bool wide, u64 bits)
{
	unsigned int off = offset_in_page(gpa);
	struct mem_slot *slot;
	bool wrote = false;
	void *page;

	rcu_read_lock();
	slot = vm_find_slot(vm, gpa);
	if (!slot || (slot->flags & MINIVMM_MEM_READONLY)) {
		rcu_read_unlock();
		return;
	}
	page = kmap_local_page(slot->pages[(gpa - slot->gpa) >> PAGE_SHIFT]);
	if (wide) {
		u64 *e = page + off, old = READ_ONCE(*e);

		while ((old & PTE_P) && (old & bits) != bits)
			if (try_cmpxchg64(e, &old, old | bits)) {
				wrote = true;
				break;
			}
	} else {
		u32 *e = page + off, old = READ_ONCE(*e);

		while ((old & PTE_P) && (old & bits) != bits)
			if (try_cmpxchg(e, &old, old | (u32)bits)) {
				wrote = true;
				break;
			}
	}
	kunmap_local(page);
	if (wrote)
		slot_mark_dirty(slot, gpa);
	rcu_read_unlock();
}

static unsigned int guest_cpl(void)
{
	return VMX_AR_DPL(vmcs_read32(GUEST_SS_AR_BYTES));
}

/*
 * Guest linear to guest physical, through whatever paging mode is on, for
 * an access of kind @pf (X86_PF_WRITE, X86_PF_USER, X86_PF_INSTR). On a
 * fault, *@err is the error code of the #PF the CPU would raise, or -1
 * when a paging structure is not in RAM. With @set_ad, a successful walk
 * sets the accessed bits of the entries it used and, for a write, the
 * dirty bit of the last one, as the CPU does for the accesses it makes.
 */
static int guest_translate(struct vcpu *vcpu, u64 gla, u32 pf, u64 *gpa,
			   int *err, bool set_ad)
{
	u64 table, pte, ent[4];
	bool wide = vcpu->cr4 & X86_CR4_PAE;
	bool rw = true, user = true;
	int level, bits, n = 0;

	*err = -1;
	if (!(vcpu->cr0 & X86_CR0_PG)) {
		*gpa = (u32)gla;
		return 0;
	}
	table = vmcs_readl(GUEST_CR3);
	if (vmcs_read64(GUEST_IA32_EFER) & EFER_LMA) {
		level = 4;
	} else if (wide) {
		pte = vmcs_read64(GUEST_PDPTR0 + 2 * ((gla >> 30) & 3));
		if (!(pte & PTE_P))
			goto not_present;
		table = pte;
		level = 2;
	} else {
		level = 2;
	}

	for (; level >= 1; level--) {
		if (wide) {
			bits = PAGE_SHIFT + 9 * (level - 1);
			table &= PTE_ADDR;
			ent[n] = table + ((gla >> bits) & 511) * 8;
		} else {
			bits = PAGE_SHIFT + 10 * (level - 1);
			table &= 0xfffff000;
			ent[n] = table + ((gla >> bits) & 1023) * 4;
		}
		if (read_pte(vcpu->vm, ent[n++], &pte, wide))
			return -EFAULT;
		if (!(pte & PTE_P))
			goto not_present;
		rw &= !!(pte & PTE_RW);
		user &= !!(pte & PTE_US);
		if (level > 1 && (pte & PTE_PS) &&
		    (wide || (vcpu->cr4 & X86_CR4_PSE))) {
			u64 mask = (1ULL << bits) - 1;

			/* 4 MiB pages keep PA[39:32] in bits 20:13. */
			u64 base = wide ? pte & PTE_ADDR & ~mask :
				   (pte & 0xffc00000) | ((pte & 0x1fe000) << 19);
			*gpa = base | (gla & mask);
			goto check;
		}
		table = pte;
	}
	*gpa = (pte & (wide ? PTE_ADDR : 0xfffff000)) | (gla & ~PAGE_MASK);
check:
	/* Supervisor writes ignore R/W unless CR0.WP; SMAP/SMEP are off. */
	if (((pf & X86_PF_USER) && !user) ||
	    ((pf & X86_PF_WRITE) && !rw &&
	     ((pf & X86_PF_USER) || (vcpu->cr0 & X86_CR0_WP)))) {
		*err = pf | X86_PF_PROT;
		return -EFAULT;
	}
	for (level = 0; set_ad && level < n; level++)
		pte_set_bits(vcpu->vm, ent[level], wide,
			     level == n - 1 && (pf & X86_PF_WRITE) ?
			     PTE_A | PTE_D : PTE_A);
	return 0;
not_present:
	*err = pf;
	return -EFAULT;
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
	int err;

	while (done < len) {
		unsigned int n = min_t(unsigned int, len - done,
				       PAGE_SIZE - offset_in_page(gla + done));

		if (guest_translate(vcpu, gla + done, 0, &gpa, &err, false) ||
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

/* ---- the instruction decoder ------------------------------------------ */

/* What an instruction does with its memory operand. */
enum emul_op {
	OP_NONE,
	OP_MOV_ST,	/* memory <- register or immediate */
	OP_MOV_LD,	/* register <- memory, maybe zero- or sign-extended */
	OP_ALU,		/* ADD, OR, ADC, SBB, AND, SUB, XOR, CMP, TEST */
	OP_BT,		/* BT, BTS, BTR, BTC */
	OP_XCHG,
	OP_MOVS,
	OP_STOS,
	OP_LODS,
};

/* ModRM.reg of opcodes 0x80-0x83 picks the first eight. */
enum emul_alu {
	ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP,
	ALU_TEST, ALU_BT, ALU_BTS, ALU_BTR, ALU_BTC,
};

/* Operand form flags of the decoder tables. */
#define F_MODRM		BIT(0)	/* a ModRM byte, its memory operand the MMIO */
#define F_BYTE		BIT(1)	/* 8-bit operands, else the operand size */
#define F_REGDST	BIT(2)	/* the register is the destination */
#define F_IMM8		BIT(3)	/* an 8-bit immediate, sign-extended */
#define F_IMMZ		BIT(4)	/* an immediate of the operand size, at most 32 bits */
#define F_GRP1		BIT(5)	/* ModRM.reg is the ALU operation */
#define F_GRP3		BIT(6)	/* ModRM.reg 0 or 1: TEST */
#define F_GRP8		BIT(7)	/* ModRM.reg 4-7: BT, BTS, BTR, BTC */
#define F_SRC8		BIT(8)	/* MOVZX/MOVSX from 8 bits */
#define F_SRC16		BIT(9)	/* MOVZX/MOVSX from 16 bits */
#define F_SRC32		BIT(10)	/* MOVSXD */
#define F_SX		BIT(11)	/* sign-extend */
#define F_MOFFS		BIT(12)	/* an absolute address of the address size */
#define F_MOV0		BIT(13)	/* ModRM.reg must be 0 */
#define F_LONG		BIT(14)	/* 64-bit mode only */

/**
 * struct emul_form - one opcode's operand form
 * @op:		enum emul_op
 * @alu:	enum emul_alu, for OP_ALU and OP_BT
 * @flags:	F_*
 */
struct emul_form {
	u8 op;
	u8 alu;
	u16 flags;
};

static const struct emul_form one_byte[256] = {
	/* Each arithmetic row: r/m8,r8; r/m,r; r8,r/m8; r,r/m. */
	[0x00] = { OP_ALU, ALU_ADD, F_MODRM | F_BYTE },
	[0x01] = { OP_ALU, ALU_ADD, F_MODRM },
	[0x02] = { OP_ALU, ALU_ADD, F_MODRM | F_BYTE | F_REGDST },
	[0x03] = { OP_ALU, ALU_ADD, F_MODRM | F_REGDST },
	[0x08] = { OP_ALU, ALU_OR, F_MODRM | F_BYTE },
	[0x09] = { OP_ALU, ALU_OR, F_MODRM },
	[0x0a] = { OP_ALU, ALU_OR, F_MODRM | F_BYTE | F_REGDST },
	[0x0b] = { OP_ALU, ALU_OR, F_MODRM | F_REGDST },
	[0x10] = { OP_ALU, ALU_ADC, F_MODRM | F_BYTE },
	[0x11] = { OP_ALU, ALU_ADC, F_MODRM },
	[0x12] = { OP_ALU, ALU_ADC, F_MODRM | F_BYTE | F_REGDST },
	[0x13] = { OP_ALU, ALU_ADC, F_MODRM | F_REGDST },
	[0x18] = { OP_ALU, ALU_SBB, F_MODRM | F_BYTE },
	[0x19] = { OP_ALU, ALU_SBB, F_MODRM },
	[0x1a] = { OP_ALU, ALU_SBB, F_MODRM | F_BYTE | F_REGDST },
	[0x1b] = { OP_ALU, ALU_SBB, F_MODRM | F_REGDST },
	[0x20] = { OP_ALU, ALU_AND, F_MODRM | F_BYTE },
	[0x21] = { OP_ALU, ALU_AND, F_MODRM },
	[0x22] = { OP_ALU, ALU_AND, F_MODRM | F_BYTE | F_REGDST },
	[0x23] = { OP_ALU, ALU_AND, F_MODRM | F_REGDST },
	[0x28] = { OP_ALU, ALU_SUB, F_MODRM | F_BYTE },
	[0x29] = { OP_ALU, ALU_SUB, F_MODRM },
	[0x2a] = { OP_ALU, ALU_SUB, F_MODRM | F_BYTE | F_REGDST },
	[0x2b] = { OP_ALU, ALU_SUB, F_MODRM | F_REGDST },
	[0x30] = { OP_ALU, ALU_XOR, F_MODRM | F_BYTE },
	[0x31] = { OP_ALU, ALU_XOR, F_MODRM },
	[0x32] = { OP_ALU, ALU_XOR, F_MODRM | F_BYTE | F_REGDST },
	[0x33] = { OP_ALU, ALU_XOR, F_MODRM | F_REGDST },
	[0x38] = { OP_ALU, ALU_CMP, F_MODRM | F_BYTE },
	[0x39] = { OP_ALU, ALU_CMP, F_MODRM },
	[0x3a] = { OP_ALU, ALU_CMP, F_MODRM | F_BYTE | F_REGDST },
	[0x3b] = { OP_ALU, ALU_CMP, F_MODRM | F_REGDST },
	[0x63] = { OP_MOV_LD, 0, F_MODRM | F_SRC32 | F_SX | F_LONG },
	[0x80] = { OP_ALU, 0, F_MODRM | F_BYTE | F_GRP1 | F_IMM8 },
	[0x81] = { OP_ALU, 0, F_MODRM | F_GRP1 | F_IMMZ },
	[0x83] = { OP_ALU, 0, F_MODRM | F_GRP1 | F_IMM8 },
	[0x84] = { OP_ALU, ALU_TEST, F_MODRM | F_BYTE },
	[0x85] = { OP_ALU, ALU_TEST, F_MODRM },
	[0x86] = { OP_XCHG, 0, F_MODRM | F_BYTE },
	[0x87] = { OP_XCHG, 0, F_MODRM },
	[0x88] = { OP_MOV_ST, 0, F_MODRM | F_BYTE },
	[0x89] = { OP_MOV_ST, 0, F_MODRM },
	[0x8a] = { OP_MOV_LD, 0, F_MODRM | F_BYTE },
	[0x8b] = { OP_MOV_LD, 0, F_MODRM },
	[0xa0] = { OP_MOV_LD, 0, F_MOFFS | F_BYTE },
	[0xa1] = { OP_MOV_LD, 0, F_MOFFS },
	[0xa2] = { OP_MOV_ST, 0, F_MOFFS | F_BYTE },
	[0xa3] = { OP_MOV_ST, 0, F_MOFFS },
	[0xa4] = { OP_MOVS, 0, F_BYTE },
	[0xa5] = { OP_MOVS, 0, 0 },
	[0xaa] = { OP_STOS, 0, F_BYTE },
	[0xab] = { OP_STOS, 0, 0 },
	[0xac] = { OP_LODS, 0, F_BYTE },
	[0xad] = { OP_LODS, 0, 0 },
	[0xc6] = { OP_MOV_ST, 0, F_MODRM | F_BYTE | F_IMM8 | F_MOV0 },
	[0xc7] = { OP_MOV_ST, 0, F_MODRM | F_IMMZ | F_MOV0 },
	[0xf6] = { OP_ALU, ALU_TEST, F_MODRM | F_BYTE | F_GRP3 | F_IMM8 },
	[0xf7] = { OP_ALU, ALU_TEST, F_MODRM | F_GRP3 | F_IMMZ },
};

static const struct emul_form two_byte[256] = {
	[0xa3] = { OP_BT, ALU_BT, F_MODRM },
	[0xab] = { OP_BT, ALU_BTS, F_MODRM },
	[0xb3] = { OP_BT, ALU_BTR, F_MODRM },
	[0xbb] = { OP_BT, ALU_BTC, F_MODRM },
	[0xba] = { OP_BT, 0, F_MODRM | F_GRP8 | F_IMM8 },
	[0xb6] = { OP_MOV_LD, 0, F_MODRM | F_SRC8 },
	[0xb7] = { OP_MOV_LD, 0, F_MODRM | F_SRC16 },
	[0xbe] = { OP_MOV_LD, 0, F_MODRM | F_SRC8 | F_SX },
	[0xbf] = { OP_MOV_LD, 0, F_MODRM | F_SRC16 | F_SX },
};

/**
 * struct emul_insn - a decoded instruction
 * @st:		what completes it later (copied to the vCPU on a read)
 * @len:	its length in bytes
 * @addr_size:	address size in bytes
 * @seg:	source segment of MOVS and LODS (VCPU_SREG order: ES, CS,
 *		SS, DS, FS, GS)
 * @rep:	a REP prefix
 * @long64:	64-bit mode
 */
struct emul_insn {
	struct emul_state st;
	unsigned int len;
	unsigned int addr_size;
	int seg;
	bool rep;
	bool long64;
};

enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS };

/**
 * guest_long64() - is the guest in 64-bit mode (IA-32e, CS.L set)?
 * @vcpu: the vCPU, VMCS loaded
 *
 * Return: true in 64-bit mode.
 */
bool guest_long64(struct vcpu *vcpu)
{
	return (vcpu->entry_ctls & VM_ENTRY_IA32E_MODE) &&
	       (vmcs_read32(GUEST_CS_AR_BYTES) & VMX_AR_L_MASK);
}

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

/* Prefixes, then the opcode's form: false for what is not emulated. */
static bool decode(struct vcpu *vcpu, const u8 *p, unsigned int avail,
		   struct emul_insn *in)
{
	struct emul_state *st = &in->st;
	u32 cs_ar = vmcs_read32(GUEST_CS_AR_BYTES);
	bool long64 = (vcpu->entry_ctls & VM_ENTRY_IA32E_MODE) &&
		      (cs_ar & VMX_AR_L_MASK);
	bool wide = long64 || (cs_ar & VMX_AR_DB_MASK), opsz = false;
	unsigned int i, m, immlen, op;
	const struct emul_form *f;
	u8 rex = 0, reg;

	memset(in, 0, sizeof(*in));
	in->long64 = long64;
	in->seg = SEG_DS;
	st->reg = -1;
	/* 64-bit mode: 64-bit addresses, 32 with 0x67; else D picks 32 or 16. */
	in->addr_size = long64 ? 8 : wide ? 4 : 2;
	for (i = 0; i < avail; i++) {
		switch (p[i]) {
		case 0x66:
			opsz = true;
			continue;
		case 0x67:
			in->addr_size = long64 ? 4 : wide ? 2 : 4;
			continue;
		case 0x26:
			in->seg = SEG_ES;
			continue;
		case 0x2e:
			in->seg = SEG_CS;
			continue;
		case 0x36:
			in->seg = SEG_SS;
			continue;
		case 0x3e:
			in->seg = SEG_DS;
			continue;
		case 0x64:
			in->seg = SEG_FS;
			continue;
		case 0x65:
			in->seg = SEG_GS;
			continue;
		case 0xf2: case 0xf3:
			in->rep = true;
			continue;
		case 0xf0:
			continue;
		}
		break;
	}
	op = wide != opsz ? 4 : 2;
	/* A REX prefix counts only right before the opcode. */
	if (long64 && i < avail && (p[i] & 0xf0) == 0x40)
		rex = p[i++];
	if (rex & 8)
		op = 8;
	if (i >= avail)
		return false;
	if (p[i] == 0x0f) {
		if (++i >= avail)
			return false;
		f = &two_byte[p[i++]];
	} else {
		f = &one_byte[p[i++]];
	}
	if (f->op == OP_NONE || ((f->flags & F_LONG) && !long64))
		return false;
	st->op = f->op;
	st->alu = f->alu;
	st->size = (f->flags & F_BYTE) ? 1 : op;
	st->reg_size = st->size;
	st->regdst = f->flags & F_REGDST;
	st->sx = f->flags & F_SX;
	if (f->flags & (F_SRC8 | F_SRC16 | F_SRC32)) {
		st->size = (f->flags & F_SRC8) ? 1 : (f->flags & F_SRC16) ? 2 : 4;
		/* MOVSXD without REX.W is a plain 32-bit load. */
		if (st->size >= st->reg_size)
			st->size = st->reg_size;
	}

	if (f->flags & F_MOFFS) {
		st->reg = R_RAX;
		i += in->addr_size;
	} else if (f->flags & F_MODRM) {
		if (i >= avail)
			return false;
		m = modrm_len(p + i, avail - i, in->addr_size);
		if (!m)
			return false;	/* no memory operand: not our access */
		reg = (p[i] >> 3) & 7;
		if (f->flags & F_GRP1) {
			st->alu = reg;
		} else if (f->flags & F_GRP3) {
			if (reg > 1)
				return false;	/* NOT, NEG, MUL, DIV */
		} else if (f->flags & F_GRP8) {
			if (reg < 4)
				return false;
			st->alu = ALU_BT + reg - 4;
		} else if (f->flags & F_MOV0) {
			if (reg)
				return false;
		} else {
			st->reg = reg | ((rex & 4) ? 8 : 0);
		}
		i += m;
	} else if (st->op == OP_STOS || st->op == OP_LODS) {
		st->reg = R_RAX;
	}
	if (f->flags & (F_IMM8 | F_IMMZ)) {
		immlen = (f->flags & F_IMM8) ? 1 : min(st->size, 4U);
		if (i + immlen > avail)
			return false;
		st->imm = 0;
		memcpy(&st->imm, p + i, immlen);
		st->imm = immlen == 1 ? (s64)(s8)st->imm :
			  immlen == 2 ? (s64)(s16)st->imm : (s64)(s32)st->imm;
		st->has_imm = true;
		i += immlen;
	}
	if (i > avail)
		return false;
	in->len = i;
	/* Without REX, byte registers 4-7 are AH, CH, DH and BH. */
	if (st->reg >= 4 && st->reg < 8 && st->reg_size == 1 && !rex) {
		st->high8 = true;
		st->reg -= 4;
	}
	return true;
}

/* ---- registers, flags and the arithmetic ------------------------------ */

#define ARITH_FLAGS	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | \
			 X86_EFLAGS_ZF | X86_EFLAGS_SF | X86_EFLAGS_OF)

static u64 size_mask(unsigned int size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static u64 get_reg(struct vcpu *vcpu, int reg, bool high8)
{
	if (high8)
		return (vcpu->regs[reg] >> 8) & 0xff;
	return reg == R_RSP ? vmcs_readl(GUEST_RSP) : vcpu->regs[reg];
}

/* Write @size bytes of a register as the CPU does: 32 bits zero-extend. */
static void set_reg(struct vcpu *vcpu, int reg, bool high8,
		    unsigned int size, u64 val)
{
	u64 old = get_reg(vcpu, reg, false), mask = size_mask(size);

	if (high8)
		val = (old & ~0xff00ULL) | ((val & 0xff) << 8);
	else if (size >= 4)
		val &= mask;
	else
		val = (old & ~mask) | (val & mask);
	if (reg == R_RSP)
		vmcs_writel(GUEST_RSP, val);
	else
		vcpu->regs[reg] = val;
}

/*
 * The operation runs on the host CPU with the guest's arithmetic flags
 * loaded, so the flags (the undefined ones included) are those the CPU
 * produces. Interrupts stay as they are: only CF..OF come from the guest.
 * HOST_OP() works on the locals dst, src and fl of its function.
 */
#define HOST_OP(text)							\
	({								\
		asm volatile("push %[f]\n\tpopf\n\t" text			\
			     "\n\tpushf\n\tpop %[f]"				\
			     : [d] "+r" (dst), [f] "+r" (fl)		\
			     : [s] "r" (src) : "cc");			\
	})

static u64 host_op8(u8 alu, u64 dst, u64 src, unsigned long *flp)
{
	unsigned long fl = *flp;

	switch (alu) {
	case ALU_ADD:
		HOST_OP("addb %b[s], %b[d]");
		break;
	case ALU_OR:
		HOST_OP("orb %b[s], %b[d]");
		break;
	case ALU_ADC:
		HOST_OP("adcb %b[s], %b[d]");
		break;
	case ALU_SBB:
		HOST_OP("sbbb %b[s], %b[d]");
		break;
	case ALU_AND:
		HOST_OP("andb %b[s], %b[d]");
		break;
	case ALU_SUB:
		HOST_OP("subb %b[s], %b[d]");
		break;
	case ALU_XOR:
		HOST_OP("xorb %b[s], %b[d]");
		break;
	case ALU_CMP:
		HOST_OP("cmpb %b[s], %b[d]");
		break;
	case ALU_TEST:
		HOST_OP("testb %b[s], %b[d]");
		break;
	}
	*flp = fl;
	return dst;
}

static u64 host_op16(u8 alu, u64 dst, u64 src, unsigned long *flp)
{
	unsigned long fl = *flp;

	switch (alu) {
	case ALU_ADD:
		HOST_OP("addw %w[s], %w[d]");
		break;
	case ALU_OR:
		HOST_OP("orw %w[s], %w[d]");
		break;
	case ALU_ADC:
		HOST_OP("adcw %w[s], %w[d]");
		break;
	case ALU_SBB:
		HOST_OP("sbbw %w[s], %w[d]");
		break;
	case ALU_AND:
		HOST_OP("andw %w[s], %w[d]");
		break;
	case ALU_SUB:
		HOST_OP("subw %w[s], %w[d]");
		break;
	case ALU_XOR:
		HOST_OP("xorw %w[s], %w[d]");
		break;
	case ALU_CMP:
		HOST_OP("cmpw %w[s], %w[d]");
		break;
	case ALU_TEST:
		HOST_OP("testw %w[s], %w[d]");
		break;
	case ALU_BT:
		HOST_OP("btw %w[s], %w[d]");
		break;
	case ALU_BTS:
		HOST_OP("btsw %w[s], %w[d]");
		break;
	case ALU_BTR:
		HOST_OP("btrw %w[s], %w[d]");
		break;
	case ALU_BTC:
		HOST_OP("btcw %w[s], %w[d]");
		break;
	}
	*flp = fl;
	return dst;
}

static u64 host_op32(u8 alu, u64 dst, u64 src, unsigned long *flp)
{
	unsigned long fl = *flp;

	switch (alu) {
	case ALU_ADD:
		HOST_OP("addl %k[s], %k[d]");
		break;
	case ALU_OR:
		HOST_OP("orl %k[s], %k[d]");
		break;
	case ALU_ADC:
		HOST_OP("adcl %k[s], %k[d]");
		break;
	case ALU_SBB:
		HOST_OP("sbbl %k[s], %k[d]");
		break;
	case ALU_AND:
		HOST_OP("andl %k[s], %k[d]");
		break;
	case ALU_SUB:
		HOST_OP("subl %k[s], %k[d]");
		break;
	case ALU_XOR:
		HOST_OP("xorl %k[s], %k[d]");
		break;
	case ALU_CMP:
		HOST_OP("cmpl %k[s], %k[d]");
		break;
	case ALU_TEST:
		HOST_OP("testl %k[s], %k[d]");
		break;
	case ALU_BT:
		HOST_OP("btl %k[s], %k[d]");
		break;
	case ALU_BTS:
		HOST_OP("btsl %k[s], %k[d]");
		break;
	case ALU_BTR:
		HOST_OP("btrl %k[s], %k[d]");
		break;
	case ALU_BTC:
		HOST_OP("btcl %k[s], %k[d]");
		break;
	}
	*flp = fl;
	return dst;
}

static u64 host_op64(u8 alu, u64 dst, u64 src, unsigned long *flp)
{
	unsigned long fl = *flp;

	switch (alu) {
	case ALU_ADD:
		HOST_OP("addq %q[s], %q[d]");
		break;
	case ALU_OR:
		HOST_OP("orq %q[s], %q[d]");
		break;
	case ALU_ADC:
		HOST_OP("adcq %q[s], %q[d]");
		break;
	case ALU_SBB:
		HOST_OP("sbbq %q[s], %q[d]");
		break;
	case ALU_AND:
		HOST_OP("andq %q[s], %q[d]");
		break;
	case ALU_SUB:
		HOST_OP("subq %q[s], %q[d]");
		break;
	case ALU_XOR:
		HOST_OP("xorq %q[s], %q[d]");
		break;
	case ALU_CMP:
		HOST_OP("cmpq %q[s], %q[d]");
		break;
	case ALU_TEST:
		HOST_OP("testq %q[s], %q[d]");
		break;
	case ALU_BT:
		HOST_OP("btq %q[s], %q[d]");
		break;
	case ALU_BTS:
		HOST_OP("btsq %q[s], %q[d]");
		break;
	case ALU_BTR:
		HOST_OP("btrq %q[s], %q[d]");
		break;
	case ALU_BTC:
		HOST_OP("btcq %q[s], %q[d]");
		break;
	}
	*flp = fl;
	return dst;
}

/* Returns @dst @alu @src and updates the arithmetic flags in *@rflags. */
static u64 alu_exec(u8 alu, unsigned int size, u64 dst, u64 src,
		    unsigned long *rflags)
{
	unsigned long fl = (native_save_fl() & ~ARITH_FLAGS) |
			   (*rflags & ARITH_FLAGS);

	switch (size) {
	case 1:
		dst = host_op8(alu, dst, src, &fl);
		break;
	case 2:
		dst = host_op16(alu, dst, src, &fl);
		break;
	case 4:
		dst = host_op32(alu, dst, src, &fl);
		break;
	default:
		dst = host_op64(alu, dst, src, &fl);
		break;
	}
	*rflags = (*rflags & ~ARITH_FLAGS) | (fl & ARITH_FLAGS);
	return dst & size_mask(size);
}

static bool alu_writes(u8 alu)
{
	return alu != ALU_CMP && alu != ALU_TEST && alu != ALU_BT;
}

/* ---- guest memory by linear address ----------------------------------- */

static u64 seg_base(struct vcpu *vcpu, int seg, bool long64)
{
	/* In 64-bit mode only FS and GS have a base. */
	if (long64 && seg != SEG_FS && seg != SEG_GS)
		return 0;
	return vmcs_readl(GUEST_ES_BASE + 2 * seg);
}

/* Slot lookups here are under RCU, like guest_read_phys()'s. */
static int guest_write_phys(struct vm *vm, u64 gpa, const void *buf,
			    unsigned int len)
{
	int ret = 0;

	rcu_read_lock();
	while (len) {
		struct mem_slot *slot = vm_find_slot(vm, gpa);
		unsigned int off = offset_in_page(gpa);
		unsigned int n = min_t(unsigned int, len, PAGE_SIZE - off);
		void *p;

		if (!slot || (slot->flags & MINIVMM_MEM_READONLY)) {
			ret = -EFAULT;
			break;
		}
		p = kmap_local_page(slot->pages[(gpa - slot->gpa) >> PAGE_SHIFT]);
		memcpy(p + off, buf, n);
		kunmap_local(p);
		/* After the write: a log taken before it must not miss it. */
		slot_mark_dirty(slot, gpa);
		buf += n;
		gpa += n;
		len -= n;
	}
	rcu_read_unlock();
	return ret;
}

static bool is_ram(struct vm *vm, u64 gpa, bool write)
{
	struct mem_slot *slot;
	bool ram;

	rcu_read_lock();
	slot = vm_find_slot(vm, gpa);
	ram = slot && !(write && (slot->flags & MINIVMM_MEM_READONLY));
	rcu_read_unlock();
	return ram;
}

/* Where a linear access lands. */
enum { LIN_RAM, LIN_MMIO, LIN_FAULT, LIN_BAD };

/**
 * struct xlate - a translated string element
 * @gpa:	its first byte
 * @gpa2:	its last byte (on another page when it crosses one)
 * @fault_gla:	LIN_FAULT: the address for CR2
 * @err:	LIN_FAULT: the #PF error code
 * @vector:	LIN_FAULT: #PF, or #GP for a non-canonical address
 */
struct xlate {
	u64 gpa, gpa2, fault_gla;
	int err;
	u8 vector;
};

/*
 * Translate an element of @len bytes at @gla, both pages when it crosses
 * one. LIN_MMIO only when the whole element is on one page without RAM;
 * LIN_FAULT for a #PF or #GP (not raised yet); LIN_BAD when it mixes RAM
 * and device memory, or a paging structure is not RAM.
 */
static int translate_elem(struct vcpu *vcpu, u64 gla, unsigned int len,
			  bool write, bool long64, struct xlate *x)
{
	u32 pf = (write ? X86_PF_WRITE : 0) |
		 (guest_cpl() == 3 ? X86_PF_USER : 0);
	u64 end = gla + len - 1;
	bool ram;

	if (!long64)
		end = (u32)end;
	/* 64-bit mode: a non-canonical address is #GP(0), not a walk. */
	x->vector = X86_TRAP_GP;
	x->err = 0;
	if (long64 && (!guest_canonical(gla) || !guest_canonical(end)))
		return LIN_FAULT;
	x->vector = X86_TRAP_PF;
	x->fault_gla = gla;
	if (guest_translate(vcpu, gla, pf, &x->gpa, &x->err, true))
		goto fault;
	x->gpa2 = x->gpa + len - 1;
	ram = is_ram(vcpu->vm, x->gpa, write);
	if ((gla ^ end) & PAGE_MASK) {
		x->fault_gla = end & PAGE_MASK;
		if (guest_translate(vcpu, end, pf, &x->gpa2, &x->err, true))
			goto fault;
		if (!ram || !is_ram(vcpu->vm, x->gpa2, write))
			return LIN_BAD;
	}
	return ram ? LIN_RAM : LIN_MMIO;
fault:
	return x->err < 0 ? LIN_BAD : LIN_FAULT;
}

static void inject_xlate_fault(struct vcpu *vcpu, const struct xlate *x)
{
	if (x->vector == X86_TRAP_PF)
		vcpu_inject_page_fault(vcpu, x->fault_gla, x->err);
	else
		vcpu_inject_exception(vcpu, x->vector, true, x->err);
}

/* Copy an element translated by translate_elem() to or from RAM. */
static int elem_rw(struct vcpu *vcpu, u64 gla, const struct xlate *x,
		   void *buf, unsigned int len, bool write)
{
	unsigned int n = min_t(unsigned int, len,
			       PAGE_SIZE - offset_in_page(gla));
	u64 gpa2 = x->gpa2 - (len - n) + 1;
	struct vm *vm = vcpu->vm;

	if (write)
		return guest_write_phys(vm, x->gpa, buf, n) ?:
		       guest_write_phys(vm, gpa2, buf + n, len - n);
	return guest_read_phys(vm, x->gpa, buf, n) ?:
	       guest_read_phys(vm, gpa2, buf + n, len - n);
}

/* Add @delta to an index register of address size @amask. */
static void add_index(struct vcpu *vcpu, int reg, s64 delta, u64 amask)
{
	u64 v = vcpu->regs[reg];

	if (amask == 0xffff)
		v = (v & ~0xffffULL) | ((v + delta) & 0xffff);
	else
		v = (v + delta) & amask;
	vcpu->regs[reg] = v;
}

static u64 addr_mask(unsigned int addr_size)
{
	return size_mask(addr_size);
}

/* ---- exits to userspace ----------------------------------------------- */

/*
 * Devices the module emulates itself: an access they take never leaves
 * the kernel. Called with interrupts off; the devices never sleep.
 */
static bool kernel_mmio(struct vcpu *vcpu, u64 gpa, unsigned int len,
			bool write, u64 *val)
{
	return lapic_mmio(vcpu, gpa, len, write, val) ||
	       ioapic_mmio(vcpu, gpa, len, write, val);
}

static int mmio_exit(struct vcpu *vcpu, u64 gpa, unsigned int len,
		     bool write, u64 val)
{
	struct minivmm_run *run = vcpu->run;

	if (write) {
		val &= size_mask(len);
		if (kernel_mmio(vcpu, gpa, len, true, &val) ||
		    ioeventfd_write(vcpu, false, gpa, len, val) ||
		    posted_write(vcpu, false, gpa, len, val))
			return 1;
	}
	run->exit_reason = MINIVMM_EXIT_MMIO;
	memset(&run->mmio, 0, sizeof(run->mmio));
	run->mmio.phys_addr = gpa;
	run->mmio.len = len;
	run->mmio.is_write = write;
	if (write)
		run->mmio.data = val & size_mask(len);
	return 0;
}

static int emulation_failed(struct vcpu *vcpu, const u8 *insn, int n,
			    u64 gpa)
{
	struct minivmm_run *run = vcpu->run;

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

static int complete_mmio_read(struct vcpu *vcpu, u64 data);

/*
 * A read: a device in the kernel answers at once; otherwise an exit, and
 * the rest of @st runs in emulate_complete().
 */
static int mmio_read(struct vcpu *vcpu, const struct emul_state *st)
{
	u64 val = 0;

	vcpu->emul = *st;
	if (kernel_mmio(vcpu, st->gpa, st->size, false, &val))
		return complete_mmio_read(vcpu, val);
	vcpu->pending = MMIO_READ;
	return mmio_exit(vcpu, st->gpa, st->size, false, 0);
}

/*
 * One element of MOVS, STOS or LODS (a REP repeats the instruction, which
 * exits again for the next element): RSI, RDI and RCX move on now, RIP
 * once the count runs out.
 */
static int emulate_string(struct vcpu *vcpu, struct emul_insn *in,
			  const u8 *insn, int n)
{
	struct emul_state *st = &in->st;
	u64 amask = addr_mask(in->addr_size), sgla, dgla, val = 0;
	s64 step = (vmcs_readl(GUEST_RFLAGS) & X86_EFLAGS_DF) ?
		   -(s64)st->size : st->size;
	int src = LIN_MMIO, dst = LIN_MMIO;
	struct xlate sx, dx;

	if (st->op == OP_MOVS) {
		sgla = seg_base(vcpu, in->seg, in->long64) +
		       (vcpu->regs[R_RSI] & amask);
		dgla = seg_base(vcpu, SEG_ES, in->long64) +
		       (vcpu->regs[R_RDI] & amask);
		if (!in->long64) {
			sgla = (u32)sgla;
			dgla = (u32)dgla;
		}
		/* The CPU reads the source first: its #PF comes first. */
		src = translate_elem(vcpu, sgla, st->size, false, in->long64,
				     &sx);
		if (src == LIN_FAULT) {
			inject_xlate_fault(vcpu, &sx);
			return 1;
		}
		dst = translate_elem(vcpu, dgla, st->size, true, in->long64,
				     &dx);
		if (dst == LIN_FAULT) {
			inject_xlate_fault(vcpu, &dx);
			return 1;
		}
		if (src == LIN_BAD || dst == LIN_BAD)
			return emulation_failed(vcpu, insn, n, st->gpa);
		if (src == LIN_RAM &&
		    elem_rw(vcpu, sgla, &sx, &val, st->size, false))
			return emulation_failed(vcpu, insn, n, st->gpa);
		st->dst_mmio = dst == LIN_MMIO;
		st->dst_gla = dgla;
		st->dst_gpa = dx.gpa;
		st->dst_gpa2 = dx.gpa2;
		st->gpa = src == LIN_MMIO ? sx.gpa : dx.gpa;
	}

	if (st->op != OP_STOS)
		add_index(vcpu, R_RSI, step, amask);
	if (st->op != OP_LODS)
		add_index(vcpu, R_RDI, step, amask);
	if (in->rep)
		add_index(vcpu, R_RCX, -1, amask);
	if (!in->rep || !(vcpu->regs[R_RCX] & amask))
		vcpu_advance_rip(vcpu, in->len);

	switch (st->op) {
	case OP_STOS:
		return mmio_exit(vcpu, st->gpa, st->size, true,
				 vcpu->regs[R_RAX]);
	case OP_LODS:
		return mmio_read(vcpu, st);
	}
	if (src == LIN_MMIO)
		return mmio_read(vcpu, st);
	if (dst == LIN_MMIO)
		return mmio_exit(vcpu, dx.gpa, st->size, true, val);
	/* Both RAM after all (a slot appeared since): copy. */
	if (elem_rw(vcpu, dgla, &dx, &val, st->size, true))
		return emulation_failed(vcpu, insn, n, st->gpa);
	return 1;
}

/**
 * emulate_mmio() - emulate the instruction that touched device memory
 * @vcpu: the vCPU, at the faulting instruction
 * @gpa: the guest physical address it touched
 *
 * A write becomes an MMIO write exit; anything that reads device memory
 * becomes a read exit, finished by emulate_complete() with the value
 * userspace supplies. An instruction the decoder does not know becomes an
 * internal-error exit carrying its bytes.
 *
 * Return: 0 (an exit for userspace), or 1 to enter the guest again (a
 * #PF to deliver, or nothing left to do).
 */
int emulate_mmio(struct vcpu *vcpu, u64 gpa)
{
	/* decode() fills it all in, and only the bytes read are used. */
	struct emul_insn in __uninitialized;
	u8 insn[MAX_INSN] __uninitialized;
	int n = guest_fetch_insn(vcpu, insn, sizeof(insn));
	struct emul_state *st = &in.st;
	u64 val;

	if (n < 0 || !decode(vcpu, insn, n, &in))
		return emulation_failed(vcpu, insn, n, gpa);
	st->gpa = gpa;

	switch (st->op) {
	case OP_MOVS:
	case OP_STOS:
	case OP_LODS:
		return emulate_string(vcpu, &in, insn, n);
	case OP_MOV_ST:
		val = st->has_imm ? st->imm : get_reg(vcpu, st->reg, st->high8);
		vcpu_advance_rip(vcpu, in.len);
		return mmio_exit(vcpu, gpa, st->size, true, val);
	}
	vcpu_advance_rip(vcpu, in.len);
	return mmio_read(vcpu, st);
}

/* The value an MMIO read returned, in the instruction it belongs to. */
static int complete_mmio_read(struct vcpu *vcpu, u64 data)
{
	struct emul_state *st = &vcpu->emul;
	unsigned long rflags;
	u64 val = data & size_mask(st->size), src, res;
	struct xlate x;

	switch (st->op) {
	case OP_MOV_LD:
		if (st->sx)
			val = st->size == 1 ? (s64)(s8)val :
			      st->size == 2 ? (s64)(s16)val : (s64)(s32)val;
		set_reg(vcpu, st->reg, st->high8, st->reg_size, val);
		return 1;
	case OP_LODS:
		set_reg(vcpu, R_RAX, false, st->size, val);
		return 1;
	case OP_XCHG:
		src = get_reg(vcpu, st->reg, st->high8);
		set_reg(vcpu, st->reg, st->high8, st->size, val);
		return mmio_exit(vcpu, st->gpa, st->size, true, src);
	case OP_MOVS:
		if (st->dst_mmio)
			return mmio_exit(vcpu, st->dst_gpa, st->size, true, val);
		x.gpa = st->dst_gpa;
		x.gpa2 = st->dst_gpa2;
		/* RAM when the exit was made; dropped if a slot went since. */
		elem_rw(vcpu, st->dst_gla, &x, &val, st->size, true);
		return 1;
	}

	rflags = vmcs_readl(GUEST_RFLAGS);
	src = st->has_imm ? st->imm : get_reg(vcpu, st->reg, st->high8);
	if (st->op == OP_BT) {
		/* The CPU already went to the operand holding the bit. */
		src &= st->size * 8 - 1;
		res = alu_exec(st->alu, st->size, val, src, &rflags);
	} else if (st->regdst) {
		res = alu_exec(st->alu, st->size, src, val, &rflags);
	} else {
		res = alu_exec(st->alu, st->size, val, src, &rflags);
	}
	vmcs_writel(GUEST_RFLAGS, rflags);
	if (!alu_writes(st->alu))
		return 1;
	if (st->regdst) {
		set_reg(vcpu, st->reg, st->high8, st->size, res);
		return 1;
	}
	return mmio_exit(vcpu, st->gpa, st->size, true, res);
}

/* The batch an INS read, into guest memory. */
static int complete_ins(struct vcpu *vcpu)
{
	struct emul_state *st = &vcpu->emul;
	bool long64 = guest_long64(vcpu);
	struct xlate x;
	unsigned int i;
	u64 gla;

	for (i = 0; i < st->count; i++) {
		gla = st->base + ((st->off + i * st->step) & st->amask);
		if (!long64)
			gla = (u32)gla;
		/* Checked at the exit; only SET_SREGS since could change it. */
		if (translate_elem(vcpu, gla, st->size, true, long64, &x) !=
		    LIN_RAM)
			break;
		elem_rw(vcpu, gla, &x, vcpu->run_data + i * st->size,
			st->size, true);
	}
	return 1;
}

/**
 * emulate_complete() - finish an instruction with what userspace answered
 * @vcpu: the vCPU, VMCS loaded
 *
 * Return: 1 to enter the guest, 0 when the instruction makes another exit
 * first (the write half of a read-modify-write).
 */
int emulate_complete(struct vcpu *vcpu)
{
	enum vcpu_pending p = vcpu->pending;

	vcpu->pending = DONE;
	if (p == MMIO_READ)
		return complete_mmio_read(vcpu, vcpu->run->mmio.data);
	if (p == PIO_INS)
		return complete_ins(vcpu);
	return 1;
}

/* ---- INS and OUTS ----------------------------------------------------- */

/* Address size and segment of INS/OUTS, from the VMCS or the bytes. */
static bool string_io_operands(struct vcpu *vcpu, unsigned int *addr_size,
			       int *seg)
{
	struct emul_insn in;
	u8 insn[MAX_INSN];
	u64 basic;
	u32 ii;
	int n;

	rdmsrl(MSR_IA32_VMX_BASIC, basic);
	if (basic & VMX_BASIC_INOUT) {
		ii = vmcs_read32(VMX_INSTRUCTION_INFO);
		*addr_size = 2 << ((ii >> 7) & 7);
		*seg = (ii >> 15) & 7;
		return *addr_size <= 8 && *seg <= SEG_GS;
	}
	n = guest_fetch_insn(vcpu, insn, sizeof(insn));
	if (n <= 0)
		return false;
	/* Only the prefixes matter: decode() does not know INS/OUTS. */
	decode(vcpu, insn, n, &in);
	*addr_size = in.addr_size;
	*seg = in.seg;
	return true;
}

/**
 * emulate_string_io() - INS or OUTS, REP or not, as one batch
 * @vcpu: the vCPU, at the instruction
 * @qual: the exit qualification
 *
 * Up to MINIVMM_RUN_DATA_SIZE bytes of elements go to userspace in one
 * exit, in the data area after the run structure. RCX, RSI or RDI move
 * past the batch now; RIP once the count runs out, so a longer REP
 * re-executes and exits with the next batch. An element whose linear
 * address faults ends the batch; when it is the first, the guest gets
 * the #PF instead of an exit.
 *
 * Return: 0 (an exit for userspace) or 1 (enter the guest).
 */
int emulate_string_io(struct vcpu *vcpu, unsigned long qual)
{
	struct minivmm_run *run = vcpu->run;
	unsigned int size = (qual & 7) + 1, addr_size, i, max;
	bool in = qual & 8, rep = qual & 32, long64 = guest_long64(vcpu);
	int seg, reg = in ? R_RDI : R_RSI, where;
	u64 amask, count, base, off, gla;
	struct xlate x;
	s64 step;

	if (!string_io_operands(vcpu, &addr_size, &seg))
		return emulation_failed(vcpu, NULL, 0, qual >> 16);
	if (in)
		seg = SEG_ES;	/* INS cannot take a segment override */
	amask = addr_mask(addr_size);
	count = rep ? vcpu->regs[R_RCX] & amask : 1;
	if (!count) {
		vcpu_skip_insn(vcpu);
		return 1;
	}
	step = (vmcs_readl(GUEST_RFLAGS) & X86_EFLAGS_DF) ? -(s64)size : size;
	base = seg_base(vcpu, seg, long64);
	off = vcpu->regs[reg] & amask;
	max = min_t(u64, count, MINIVMM_RUN_DATA_SIZE / size);

	for (i = 0; i < max; i++) {
		gla = base + ((off + i * step) & amask);
		if (!long64)
			gla = (u32)gla;
		where = translate_elem(vcpu, gla, size, in, long64, &x);
		/* Later elements fault when the guest gets to them. */
		if (where == LIN_FAULT && i)
			break;
		if (where == LIN_FAULT) {
			inject_xlate_fault(vcpu, &x);
			return 1;
		}
		if (where != LIN_RAM) {
			if (i)
				break;
			run->exit_reason = MINIVMM_EXIT_INTERNAL_ERROR;
			memset(&run->internal, 0, sizeof(run->internal));
			run->internal.suberror = MINIVMM_INTERNAL_UNSUPPORTED_IO;
			run->internal.data[0] = qual >> 16;
			run->internal.data[1] = qual;
			return 0;
		}
		if (!in)
			elem_rw(vcpu, gla, &x, vcpu->run_data + i * size, size,
				false);
	}

	add_index(vcpu, reg, i * step, amask);
	if (rep)
		add_index(vcpu, R_RCX, -(s64)i, amask);
	if (!rep || !(vcpu->regs[R_RCX] & amask))
		vcpu_skip_insn(vcpu);

	run->exit_reason = MINIVMM_EXIT_IO;
	memset(&run->io, 0, sizeof(run->io));
	run->io.port = qual >> 16;
	run->io.size = size;
	run->io.direction = in ? MINIVMM_IO_IN : MINIVMM_IO_OUT;
	run->io.count = i;
	run->io.data_offset = MINIVMM_RUN_DATA_OFFSET;
	if (in) {
		memset(&vcpu->emul, 0, sizeof(vcpu->emul));
		vcpu->emul.base = base;
		vcpu->emul.off = off;
		vcpu->emul.amask = amask;
		vcpu->emul.step = step;
		vcpu->emul.size = size;
		vcpu->emul.count = i;
		vcpu->pending = PIO_INS;
	}
	return 0;
}

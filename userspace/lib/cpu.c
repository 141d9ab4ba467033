// SPDX-License-Identifier: LGPL-2.1
/*
 * libminivmm: put a vCPU in 32-bit protected mode or in long mode, with a
 * GDT and (for long mode) identity-mapped page tables in guest memory.
 */
#include <asm/processor-flags.h>
#include <string.h>

#include "internal.h"

#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)

/* Access rights in the VMCS format (struct minivmm_segment.attrib). */
#define AR_CODE32	0xc09b	/* G, D, P, S, execute/read, accessed */
#define AR_CODE64	0xa09b	/* G, L, P, S, execute/read, accessed */
#define AR_DATA		0xc093	/* G, B, P, S, read/write, accessed */
#define AR_TSS_BUSY	0x008b	/* P, 32-bit busy TSS */
#define AR_UNUSABLE	0x10000

#define PTE_P		(1ULL << 0)
#define PTE_W		(1ULL << 1)
#define PTE_PS		(1ULL << 7)

#define GDT_SIZE	32	/* null, code32, data, code64 */
#define GIB		(1ULL << 30)

/* Page directories for the first 4 GiB, or all RAM when it goes higher. */
static unsigned int nr_page_dirs(struct mvm *vm)
{
	uint64_t end = mvm_mem_end(vm);
	uint64_t n = (end + GIB - 1) / GIB;

	if (n < 4)
		n = 4;
	return n > 512 ? 512 : n;
}

uint64_t mvm_cpu_data_size(struct mvm *vm, enum mvm_cpu_mode mode)
{
	if (mode == MVM_MODE_PROTECTED)
		return GDT_SIZE;
	/* GDT page, PML4, PDPT, page directories. */
	return (3 + nr_page_dirs(vm)) * PAGE_SIZE;
}

static void write_gdt(uint64_t *gdt)
{
	gdt[0] = 0;
	gdt[MVM_SEL_CODE32 / 8] = 0x00cf9b000000ffffULL;
	gdt[MVM_SEL_DATA / 8] = 0x00cf93000000ffffULL;
	gdt[MVM_SEL_CODE64 / 8] = 0x00af9b000000ffffULL;
}

/* PML4 at @pml4_gpa, then the PDPT, then the page directories. */
static void write_page_tables(struct mvm *vm, uint8_t *host,
			      uint64_t pml4_gpa)
{
	uint64_t *pml4 = (uint64_t *)host;
	uint64_t *pdpt = pml4 + 512, *pd = pml4 + 1024;
	unsigned int i, n = nr_page_dirs(vm);

	memset(host, 0, (2 + n) * PAGE_SIZE);
	pml4[0] = (pml4_gpa + PAGE_SIZE) | PTE_P | PTE_W;
	for (i = 0; i < n; i++)
		pdpt[i] = (pml4_gpa + (2 + i) * PAGE_SIZE) | PTE_P | PTE_W;
	for (i = 0; i < n * 512; i++)
		pd[i] = ((uint64_t)i << 21) | PTE_P | PTE_W | PTE_PS;
}

static struct minivmm_segment flat_seg(uint16_t sel, uint32_t ar)
{
	struct minivmm_segment s = {
		.limit = 0xffffffff, .selector = sel, .attrib = ar,
	};

	return s;
}

int mvm_setup_cpu(struct mvm *vm, struct mvm_vcpu *vcpu,
		  enum mvm_cpu_mode mode, uint64_t data, uint64_t entry,
		  uint32_t eax, uint32_t ebx)
{
	uint64_t size = mvm_cpu_data_size(vm, mode);
	struct minivmm_regs regs = {
		.rax = eax, .rbx = ebx, .rip = entry, .rflags = 2,
	};
	struct minivmm_sregs s;
	uint8_t *host = mvm_gpa(vm, data, size);
	int ret;

	if (!host)
		return mvm_fail(vm, 0, "loader data at %#llx is not in RAM",
				(unsigned long long)data);
	ret = mvm_get_sregs(vcpu, &s);
	if (ret)
		return ret;

	write_gdt((uint64_t *)host);
	s.gdt.base = data;
	s.gdt.limit = GDT_SIZE - 1;
	/* No IDT: the guest installs its own before it takes interrupts. */
	s.idt.base = 0;
	s.idt.limit = 0;
	s.ds = flat_seg(MVM_SEL_DATA, AR_DATA);
	s.es = s.ds;
	s.fs = s.ds;
	s.gs = s.ds;
	s.ss = s.ds;
	s.tr = flat_seg(0, AR_TSS_BUSY);
	s.tr.limit = 0x67;
	s.ldt = flat_seg(0, AR_UNUSABLE);
	s.ldt.limit = 0;
	s.cr0 = X86_CR0_PE | X86_CR0_ET;
	s.cr2 = 0;
	s.cr3 = 0;
	s.cr4 = 0;
	s.efer = 0;
	if (mode == MVM_MODE_PROTECTED) {
		s.cs = flat_seg(MVM_SEL_CODE32, AR_CODE32);
	} else {
		write_page_tables(vm, host + PAGE_SIZE, data + PAGE_SIZE);
		s.cs = flat_seg(MVM_SEL_CODE64, AR_CODE64);
		s.cr0 |= X86_CR0_NE | X86_CR0_PG;
		s.cr3 = data + PAGE_SIZE;
		/* x86-64 code may use SSE: let it. */
		s.cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
		s.efer = EFER_LME | EFER_LMA;
	}
	ret = mvm_set_sregs(vcpu, &s);
	if (ret)
		return ret;
	return mvm_set_regs(vcpu, &regs);
}

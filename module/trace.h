/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints: every VM entry and every VM exit, with the exit's reason,
 * qualification and guest RIP; and every exit the module answers with an
 * exception (a #GP for an MSR, a #PF from the emulator's page walk), with
 * what the exit was about: the MSR, the port or the guest physical
 * address. 'minivmm run --trace' prints the latter.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM minivmm

#if !defined(MINIVMM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define MINIVMM_TRACE_H

#include <linux/tracepoint.h>
#include <asm/trapnr.h>
#include <asm/vmx.h>

TRACE_EVENT(minivmm_entry,
	    TP_PROTO(unsigned int vm, unsigned int vcpu),
	    TP_ARGS(vm, vcpu),
	    TP_STRUCT__entry(__field(unsigned int, vm)
			     __field(unsigned int, vcpu)),
	    TP_fast_assign(__entry->vm = vm;
			   __entry->vcpu = vcpu;),
	    TP_printk("vm %u vcpu %u", __entry->vm, __entry->vcpu)
);

TRACE_EVENT(minivmm_exit,
	    TP_PROTO(unsigned int vm, unsigned int vcpu, u32 reason,
		     unsigned long qual, unsigned long rip),
	    TP_ARGS(vm, vcpu, reason, qual, rip),
	    TP_STRUCT__entry(__field(unsigned int, vm)
			     __field(unsigned int, vcpu)
			     __field(u32, reason)
			     __field(unsigned long, qual)
			     __field(unsigned long, rip)),
	    TP_fast_assign(__entry->vm = vm;
			   __entry->vcpu = vcpu;
			   __entry->reason = reason;
			   __entry->qual = qual;
			   __entry->rip = rip;),
	    TP_printk("vm %u vcpu %u reason %u qual %#lx rip %#lx",
		      __entry->vm, __entry->vcpu, __entry->reason,
		      __entry->qual, __entry->rip)
);

TRACE_EVENT(minivmm_exit_fault,
	    TP_PROTO(unsigned int vm, unsigned int vcpu, u32 reason, u64 what,
		     u8 vector, const char *err_text),
	    TP_ARGS(vm, vcpu, reason, what, vector, err_text),
	    TP_STRUCT__entry(__field(unsigned int, vm)
			     __field(unsigned int, vcpu)
			     __field(u32, reason)
			     __field(u64, what)
			     __field(u8, vector)
			     __array(char, err_text, 24)),
	    TP_fast_assign(__entry->vm = vm;
			   __entry->vcpu = vcpu;
			   __entry->reason = reason;
			   __entry->what = what;
			   __entry->vector = vector;
			   strscpy(__entry->err_text, err_text,
				   sizeof(__entry->err_text));),
	    TP_printk("vm %u vcpu %u %s %#llx -> %s%s",
		      __entry->vm, __entry->vcpu,
		      __print_symbolic(__entry->reason,
				       { EXIT_REASON_MSR_READ, "rdmsr msr" },
				       { EXIT_REASON_MSR_WRITE, "wrmsr msr" },
				       { EXIT_REASON_IO_INSTRUCTION, "io port" },
				       { EXIT_REASON_EPT_VIOLATION, "mmio gpa" },
				       { EXIT_REASON_CR_ACCESS, "mov cr, qualification" },
				       { EXIT_REASON_DR_ACCESS, "mov dr, qualification" }),
		      __entry->what,
		      __print_symbolic(__entry->vector,
				       { X86_TRAP_DE, "#DE" }, { X86_TRAP_DB, "#DB" },
				       { X86_TRAP_BP, "#BP" }, { X86_TRAP_UD, "#UD" },
				       { X86_TRAP_DF, "#DF" }, { X86_TRAP_TS, "#TS" },
				       { X86_TRAP_NP, "#NP" }, { X86_TRAP_SS, "#SS" },
				       { X86_TRAP_GP, "#GP" }, { X86_TRAP_PF, "#PF" },
				       { X86_TRAP_AC, "#AC" }, { X86_TRAP_MC, "#MC" }),
		      __entry->err_text)
);

#endif /* MINIVMM_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>

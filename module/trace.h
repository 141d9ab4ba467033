/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints: every VM entry and every VM exit, with the exit's reason,
 * qualification and guest RIP.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM minivmm

#if !defined(MINIVMM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define MINIVMM_TRACE_H

#include <linux/tracepoint.h>

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

#endif /* MINIVMM_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>

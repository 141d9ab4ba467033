// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "minivmm": capabilities, the list of VMs,
 * per-VM and per-vCPU statistics, and a multicast group of events.
 *
 * A VM is visible to the effective uid that created it and to
 * CAP_SYS_ADMIN. Statistics are read without stopping the vCPUs: each
 * counter is a u64 its own thread updates, read whole.
 *
 * No handler sleeps on a VM's locks, which a user may hold for as long as
 * a call of theirs takes: the vCPUs are read under RCU. The family is
 * parallel_ops, so its requests never wait for, or hold up, another
 * family's under the genetlink mutex.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/pid_namespace.h>
#include <net/genetlink.h>

#include "minivmm.h"

static const struct nla_policy minivmm_policy[MINIVMM_A_MAX + 1] = {
	[MINIVMM_A_VM_ID] = { .type = NLA_U32 },
};

static struct genl_family minivmm_genl;

enum { MCGRP_EVENTS };

static const struct genl_multicast_group minivmm_mcgrps[] = {
	[MCGRP_EVENTS] = { .name = MINIVMM_GENL_MCGRP_EVENTS },
};

/* Asked for every VM: no audit record for the ones that stay hidden. */
static bool vm_visible(struct vm *vm)
{
	return uid_eq(vm->uid, current_euid()) ||
	       ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN);
}

/* @ns: the pid namespace the owner's pid is given in, the reader's. */
static int put_vm_attrs(struct sk_buff *skb, struct vm *vm,
			struct pid_namespace *ns)
{
	if (nla_put_u32(skb, MINIVMM_A_VM_ID, vm->id) ||
	    nla_put_u32(skb, MINIVMM_A_VM_PID, pid_nr_ns(vm->owner, ns)) ||
	    nla_put_u32(skb, MINIVMM_A_VM_UID,
			from_kuid_munged(&init_user_ns, vm->uid)) ||
	    nla_put_u32(skb, MINIVMM_A_VM_NR_VCPUS, READ_ONCE(vm->nr_vcpus)) ||
	    nla_put_u64_64bit(skb, MINIVMM_A_VM_MEM_BYTES,
			      READ_ONCE(vm->mem_bytes), MINIVMM_A_PAD) ||
	    nla_put_u64_64bit(skb, MINIVMM_A_VM_EPT_4K,
			      READ_ONCE(vm->ept.nr_4k), MINIVMM_A_PAD) ||
	    nla_put_u64_64bit(skb, MINIVMM_A_VM_EPT_2M,
			      READ_ONCE(vm->ept.nr_2m), MINIVMM_A_PAD))
		return -EMSGSIZE;
	return 0;
}

static int put_vcpu_stats(struct sk_buff *skb, struct vcpu *vcpu)
{
	struct nlattr *nest, *reasons;
	int i;

	nest = nla_nest_start(skb, MINIVMM_A_VCPU);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(skb, MINIVMM_A_VCPU_ID, vcpu->id) ||
	    nla_put_u64_64bit(skb, MINIVMM_A_VCPU_ENTRIES,
			      READ_ONCE(vcpu->nr_entries), MINIVMM_A_PAD) ||
	    nla_put_u64_64bit(skb, MINIVMM_A_VCPU_EXITS,
			      READ_ONCE(vcpu->nr_exits), MINIVMM_A_PAD) ||
	    nla_put_u64_64bit(skb, MINIVMM_A_VCPU_GUEST_NS,
			      READ_ONCE(vcpu->guest_ns), MINIVMM_A_PAD) ||
	    nla_put_u64_64bit(skb, MINIVMM_A_VCPU_POLL_HITS,
			      READ_ONCE(vcpu->poll_hits), MINIVMM_A_PAD) ||
	    nla_put_u64_64bit(skb, MINIVMM_A_VCPU_POLL_MISSES,
			      READ_ONCE(vcpu->poll_misses), MINIVMM_A_PAD) ||
	    nla_put_u64_64bit(skb, MINIVMM_A_VCPU_USER_EXITS,
			      READ_ONCE(vcpu->user_exits), MINIVMM_A_PAD) ||
	    nla_put_u64_64bit(skb, MINIVMM_A_VCPU_POSTED_WRITES,
			      READ_ONCE(vcpu->posted_writes), MINIVMM_A_PAD) ||
	    nla_put_u64_64bit(skb, MINIVMM_A_VCPU_POSTED_FULL,
			      READ_ONCE(vcpu->posted_full), MINIVMM_A_PAD) ||
	    nla_put_u64_64bit(skb, MINIVMM_A_VCPU_IOEVENTFD_SIGNALS,
			      READ_ONCE(vcpu->ioeventfd_signals),
			      MINIVMM_A_PAD) ||
	    nla_put_u64_64bit(skb, MINIVMM_A_VCPU_LINT_DROPPED,
			      READ_ONCE(vcpu->lapic.lint_dropped),
			      MINIVMM_A_PAD))
		goto cancel;
	reasons = nla_nest_start(skb, MINIVMM_A_VCPU_EXIT_REASONS);
	if (!reasons)
		goto cancel;
	for (i = 0; i < NR_EXIT_REASONS; i++) {
		u64 n = READ_ONCE(vcpu->exits[i]);

		if (n && nla_put_u64_64bit(skb, i + 1, n, MINIVMM_A_PAD))
			goto cancel;
	}
	nla_nest_end(skb, reasons);
	nla_nest_end(skb, nest);
	return 0;

cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

/* Room for the VM attributes and every vCPU with every exit reason. */
static size_t vm_stats_size(void)
{
	size_t vcpu = nla_total_size(0) + nla_total_size(4) +
		      10 * nla_total_size_64bit(8) + nla_total_size(0) +
		      NR_EXIT_REASONS * nla_total_size_64bit(8);

	return 4 * nla_total_size(4) + 3 * nla_total_size_64bit(8) +
	       MINIVMM_MAX_VCPUS * vcpu;
}

/**
 * minivmm_nl_get_caps() - MINIVMM_CMD_GET_CAPS
 * @skb: the request
 * @info: its attributes (none)
 *
 * Return: 0 or a negative errno.
 */
static int minivmm_nl_get_caps(struct sk_buff *skb, struct genl_info *info)
{
	struct minivmm_caps caps;
	struct sk_buff *msg;
	void *hdr;
	int ret;

	ret = minivmm_fill_caps(&caps);
	if (ret)
		return ret;
	msg = genlmsg_new(nla_total_size(sizeof(caps)), GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &minivmm_genl, 0,
				MINIVMM_CMD_GET_CAPS);
	if (!hdr || nla_put(msg, MINIVMM_A_CAPS, sizeof(caps), &caps)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/**
 * minivmm_nl_list_vms() - MINIVMM_CMD_LIST_VMS, a dump
 * @skb: the message being filled
 * @cb: cb->args[0] holds the id of the last VM sent
 *
 * Return: the message length, 0 at the end, or a negative errno.
 */
static int minivmm_nl_list_vms(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct vm *vm;
	void *hdr;

	while ((vm = vm_get_next(cb->args[0]))) {
		if (vm_visible(vm)) {
			hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
					  cb->nlh->nlmsg_seq, &minivmm_genl,
					  NLM_F_MULTI, MINIVMM_CMD_LIST_VMS);
			if (!hdr ||
			    put_vm_attrs(skb, vm, task_active_pid_ns(current))) {
				if (hdr)
					genlmsg_cancel(skb, hdr);
				vm_put(vm);
				break;
			}
			genlmsg_end(skb, hdr);
		}
		cb->args[0] = vm->id;
		vm_put(vm);
	}
	return skb->len;
}

/**
 * minivmm_nl_get_stats() - MINIVMM_CMD_GET_STATS
 * @skb: the request
 * @info: MINIVMM_A_VM_ID
 *
 * Return: 0, -EINVAL without a VM id, -ENOENT for a VM that does not
 * exist or is not the caller's, or -ENOMEM.
 */
static int minivmm_nl_get_stats(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	struct vm *vm;
	void *hdr;
	int i, ret = -EMSGSIZE;

	if (!info->attrs[MINIVMM_A_VM_ID])
		return -EINVAL;
	vm = vm_get_by_id(nla_get_u32(info->attrs[MINIVMM_A_VM_ID]));
	if (!vm)
		return -ENOENT;
	if (!vm_visible(vm)) {
		vm_put(vm);
		return -ENOENT;
	}
	msg = genlmsg_new(vm_stats_size(), GFP_KERNEL);
	if (!msg) {
		vm_put(vm);
		return -ENOMEM;
	}
	hdr = genlmsg_put_reply(msg, info, &minivmm_genl, 0,
				MINIVMM_CMD_GET_STATS);
	if (!hdr || put_vm_attrs(msg, vm, task_active_pid_ns(current)))
		goto fail;
	rcu_read_lock();
	for (i = 0; i < MINIVMM_MAX_VCPUS; i++) {
		struct vcpu *vcpu = rcu_dereference(vm->vcpus[i]);

		if (vcpu && put_vcpu_stats(msg, vcpu)) {
			rcu_read_unlock();
			goto fail;
		}
	}
	rcu_read_unlock();
	vm_put(vm);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

fail:
	vm_put(vm);
	nlmsg_free(msg);
	return ret;
}

static const struct genl_small_ops minivmm_ops[] = {
	{
		.cmd = MINIVMM_CMD_GET_CAPS,
		.doit = minivmm_nl_get_caps,
	},
	{
		.cmd = MINIVMM_CMD_LIST_VMS,
		.dumpit = minivmm_nl_list_vms,
	},
	{
		.cmd = MINIVMM_CMD_GET_STATS,
		.doit = minivmm_nl_get_stats,
	},
};

static struct genl_family minivmm_genl __ro_after_init = {
	.name = MINIVMM_GENL_NAME,
	.version = MINIVMM_GENL_VERSION,
	.maxattr = MINIVMM_A_MAX,
	.policy = minivmm_policy,
	.module = THIS_MODULE,
	.parallel_ops = true,
	.small_ops = minivmm_ops,
	.n_small_ops = ARRAY_SIZE(minivmm_ops),
	.mcgrps = minivmm_mcgrps,
	.n_mcgrps = ARRAY_SIZE(minivmm_mcgrps),
};

/**
 * minivmm_event() - tell the "events" group that something happened
 * @event: MINIVMM_EVENT_*
 * @vm: the VM
 * @vcpu_id: the vCPU concerned, or -1
 * @reason: the hardware exit reason of an entry failure, else 0
 *
 * Every user may listen, so an event says what happened to which VM and
 * nothing more: no owner, size or statistics, which only those who may
 * see the VM get, through MINIVMM_CMD_LIST_VMS and MINIVMM_CMD_GET_STATS.
 *
 * Sleeps (allocates with GFP_KERNEL); best effort: an event nobody can
 * receive, or that does not fit, is dropped.
 */
void minivmm_event(enum minivmm_event event, struct vm *vm, int vcpu_id,
		   u32 reason)
{
	struct sk_buff *msg;
	void *hdr;

	if (!genl_has_listeners(&minivmm_genl, &init_net, MCGRP_EVENTS))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &minivmm_genl, 0, MINIVMM_CMD_EVENT);
	if (!hdr || nla_put_u32(msg, MINIVMM_A_EVENT, event) ||
	    nla_put_u32(msg, MINIVMM_A_VM_ID, vm->id) ||
	    (vcpu_id >= 0 && nla_put_u32(msg, MINIVMM_A_VCPU_ID, vcpu_id)) ||
	    (reason && nla_put_u32(msg, MINIVMM_A_EXIT_REASON, reason))) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	genlmsg_multicast(&minivmm_genl, msg, 0, MCGRP_EVENTS, GFP_KERNEL);
}

/**
 * minivmm_netlink_init() - register the family
 *
 * Return: 0 or a negative errno.
 */
int minivmm_netlink_init(void)
{
	return genl_register_family(&minivmm_genl);
}

/**
 * minivmm_netlink_exit() - unregister the family
 */
void minivmm_netlink_exit(void)
{
	genl_unregister_family(&minivmm_genl);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The minivmm generic netlink family through libnl-genl: see nl.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "nl.h"

struct mnl {
	struct nl_sock *sk;
	int family;
	int events_group;
};

static char mnl_err[256];

static int fail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mnl_err, sizeof(mnl_err), fmt, ap);
	va_end(ap);
	return err;
}

const char *mnl_strerror(void)
{
	return mnl_err;
}

int mnl_open(struct mnl **nlp)
{
	struct mnl *nl = calloc(1, sizeof(*nl));
	int ret;

	if (!nl)
		return fail(-ENOMEM, "out of memory");
	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		free(nl);
		return fail(-ENOMEM, "cannot allocate a netlink socket");
	}
	ret = genl_connect(nl->sk);
	if (ret) {
		mnl_close(nl);
		return fail(-EIO, "cannot open a generic netlink socket: %s",
			    nl_geterror(ret));
	}
	/* Statistics of 16 vCPUs do not fit libnl's default buffer. */
	nl_socket_enable_msg_peek(nl->sk);
	nl_socket_disable_auto_ack(nl->sk);
	nl->family = genl_ctrl_resolve(nl->sk, MINIVMM_GENL_NAME);
	if (nl->family < 0) {
		ret = nl->family;
		mnl_close(nl);
		if (ret == -NLE_OBJ_NOTFOUND)
			return fail(-ENOENT,
				    "the minivmm module is not loaded (no generic netlink family \"%s\"): try 'modprobe minivmm'",
				    MINIVMM_GENL_NAME);
		return fail(-EIO, "cannot look up the generic netlink family \"%s\": %s",
			    MINIVMM_GENL_NAME, nl_geterror(ret));
	}
	*nlp = nl;
	return 0;
}

void mnl_close(struct mnl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sk);
	free(nl);
}

/* One request and its replies, each handed to @parse. */
struct request {
	int (*parse)(struct genlmsghdr *gh, struct nlattr **tb, void *arg);
	void *arg;
	int error;		/* the kernel's, negative */
	int parse_error;
};

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct request *rq = arg;
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[MINIVMM_A_MAX + 1];
	int ret;

	if (nla_parse(tb, MINIVMM_A_MAX, genlmsg_attrdata(gh, 0),
		      genlmsg_attrlen(gh, 0), NULL)) {
		rq->parse_error = -EPROTO;
		return NL_SKIP;
	}
	ret = rq->parse(gh, tb, rq->arg);
	if (ret < 0 && !rq->parse_error)
		rq->parse_error = ret;
	return NL_OK;
}

static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct request *rq = arg;

	rq->error = e->error;
	return NL_STOP;
}

static int transact(struct mnl *nl, uint8_t cmd, int flags, int64_t vm_id,
		    struct request *rq)
{
	struct nl_msg *msg = nlmsg_alloc();
	struct nl_cb *cb;
	int ret;

	if (!msg)
		return fail(-ENOMEM, "out of memory");
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
			 flags, cmd, MINIVMM_GENL_VERSION) ||
	    (vm_id >= 0 && nla_put_u32(msg, MINIVMM_A_VM_ID, vm_id))) {
		nlmsg_free(msg);
		return fail(-ENOMEM, "cannot build a netlink message");
	}
	ret = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (ret < 0)
		return fail(-EIO, "sending a netlink request: %s",
			    nl_geterror(ret));

	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		return fail(-ENOMEM, "out of memory");
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, rq);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, rq);
	ret = nl_recvmsgs(nl->sk, cb);
	nl_cb_put(cb);
	if (rq->error)
		return fail(rq->error, "%s", strerror(-rq->error));
	if (ret < 0)
		return fail(-EIO, "receiving a netlink reply: %s",
			    nl_geterror(ret));
	if (rq->parse_error)
		return fail(rq->parse_error, "malformed netlink reply");
	return 0;
}

static int parse_caps(struct genlmsghdr *gh, struct nlattr **tb, void *arg)
{
	struct nlattr *a = tb[MINIVMM_A_CAPS];

	if (!a || nla_len(a) < (int)sizeof(struct minivmm_caps))
		return -EPROTO;
	memcpy(arg, nla_data(a), sizeof(struct minivmm_caps));
	return 0;
}

int mnl_get_caps(struct mnl *nl, struct minivmm_caps *caps)
{
	struct request rq = { .parse = parse_caps, .arg = caps };

	return transact(nl, MINIVMM_CMD_GET_CAPS, 0, -1, &rq);
}

static uint32_t get_u32(struct nlattr **tb, int type)
{
	return tb[type] ? nla_get_u32(tb[type]) : 0;
}

static uint64_t get_u64(struct nlattr **tb, int type)
{
	return tb[type] ? nla_get_u64(tb[type]) : 0;
}

static void parse_vm_attrs(struct nlattr **tb, struct mnl_vm *vm)
{
	vm->id = get_u32(tb, MINIVMM_A_VM_ID);
	vm->pid = get_u32(tb, MINIVMM_A_VM_PID);
	vm->uid = get_u32(tb, MINIVMM_A_VM_UID);
	vm->nr_vcpus = get_u32(tb, MINIVMM_A_VM_NR_VCPUS);
	vm->mem_bytes = get_u64(tb, MINIVMM_A_VM_MEM_BYTES);
}

struct vm_list {
	struct mnl_vm *vms;
	int n;
};

static int parse_vm(struct genlmsghdr *gh, struct nlattr **tb, void *arg)
{
	struct vm_list *l = arg;
	struct mnl_vm *vms;

	if (!tb[MINIVMM_A_VM_ID])
		return -EPROTO;
	vms = realloc(l->vms, (l->n + 1) * sizeof(*vms));
	if (!vms)
		return -ENOMEM;
	l->vms = vms;
	memset(&vms[l->n], 0, sizeof(vms[0]));
	parse_vm_attrs(tb, &vms[l->n]);
	l->n++;
	return 0;
}

int mnl_list_vms(struct mnl *nl, struct mnl_vm **vms)
{
	struct vm_list l = { 0 };
	struct request rq = { .parse = parse_vm, .arg = &l };
	int ret;

	ret = transact(nl, MINIVMM_CMD_LIST_VMS, NLM_F_DUMP, -1, &rq);
	if (ret) {
		free(l.vms);
		return ret;
	}
	*vms = l.vms;
	return l.n;
}

static int parse_vcpu(struct nlattr *nest, struct mnl_vcpu *v)
{
	struct nlattr *tb[MINIVMM_A_MAX + 1], *a;
	int rem;

	if (nla_parse_nested(tb, MINIVMM_A_MAX, nest, NULL) ||
	    !tb[MINIVMM_A_VCPU_ID])
		return -EPROTO;
	v->id = get_u32(tb, MINIVMM_A_VCPU_ID);
	v->entries = get_u64(tb, MINIVMM_A_VCPU_ENTRIES);
	v->exits = get_u64(tb, MINIVMM_A_VCPU_EXITS);
	v->guest_ns = get_u64(tb, MINIVMM_A_VCPU_GUEST_NS);
	v->has_io = !!tb[MINIVMM_A_VCPU_USER_EXITS];
	v->user_exits = get_u64(tb, MINIVMM_A_VCPU_USER_EXITS);
	v->posted_writes = get_u64(tb, MINIVMM_A_VCPU_POSTED_WRITES);
	v->posted_full = get_u64(tb, MINIVMM_A_VCPU_POSTED_FULL);
	v->ioeventfd_signals = get_u64(tb, MINIVMM_A_VCPU_IOEVENTFD_SIGNALS);
	v->has_lint = !!tb[MINIVMM_A_VCPU_LINT_DROPPED];
	v->lint_dropped = get_u64(tb, MINIVMM_A_VCPU_LINT_DROPPED);
	if (!tb[MINIVMM_A_VCPU_EXIT_REASONS])
		return 0;
	/* Attribute type = VMX basic exit reason + 1. */
	nla_for_each_nested(a, tb[MINIVMM_A_VCPU_EXIT_REASONS], rem) {
		int reason = nla_type(a) - 1;

		if (reason >= 0 && reason < MNL_NR_REASONS)
			v->reasons[reason] = nla_get_u64(a);
	}
	return 0;
}

static int parse_stats(struct genlmsghdr *gh, struct nlattr **tb, void *arg)
{
	struct mnl_vm *vm = arg;
	struct mnl_vcpu *v;
	struct nlattr *a;
	int rem, ret;

	parse_vm_attrs(tb, vm);
	nla_for_each_attr(a, genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0),
			  rem) {
		if (nla_type(a) != MINIVMM_A_VCPU)
			continue;
		v = realloc(vm->vcpus, (vm->nr_stats + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		vm->vcpus = v;
		v += vm->nr_stats;
		memset(v, 0, sizeof(*v));
		ret = parse_vcpu(a, v);
		if (ret)
			return ret;
		vm->nr_stats++;
	}
	return 0;
}

int mnl_get_stats(struct mnl *nl, uint32_t id, struct mnl_vm *vm)
{
	struct request rq = { .parse = parse_stats, .arg = vm };
	int ret;

	memset(vm, 0, sizeof(*vm));
	ret = transact(nl, MINIVMM_CMD_GET_STATS, 0, id, &rq);
	if (ret) {
		mnl_vm_free(vm);
		if (ret == -ENOENT)
			fail(ret, "no VM %u (or it belongs to another user)",
			     id);
	}
	return ret;
}

void mnl_vm_free(struct mnl_vm *vm)
{
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->nr_stats = 0;
}

int mnl_find_vm_of_pid(struct mnl *nl, uint32_t pid)
{
	struct mnl_vm *vms;
	int i, n, id = -ENOENT;

	n = mnl_list_vms(nl, &vms);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++)
		if (vms[i].pid == pid && (id < 0 || vms[i].id > (uint32_t)id))
			id = vms[i].id;
	free(vms);
	if (id < 0)
		return fail(id, "process %u has no VM", pid);
	return id;
}

int mnl_subscribe(struct mnl *nl)
{
	int ret;

	nl->events_group = genl_ctrl_resolve_grp(nl->sk, MINIVMM_GENL_NAME,
						 MINIVMM_GENL_MCGRP_EVENTS);
	if (nl->events_group < 0)
		return fail(-ENOENT, "the minivmm family has no \"%s\" group: %s",
			    MINIVMM_GENL_MCGRP_EVENTS,
			    nl_geterror(nl->events_group));
	/* Events are not replies: they carry no sequence number of ours. */
	nl_socket_disable_seq_check(nl->sk);
	ret = nl_socket_add_membership(nl->sk, nl->events_group);
	if (ret)
		return fail(-EIO, "cannot join the \"%s\" group: %s",
			    MINIVMM_GENL_MCGRP_EVENTS, nl_geterror(ret));
	return 0;
}

struct event_ctx {
	int (*fn)(const struct mnl_event *ev, void *arg);
	void *arg;
	int stop;
};

static int on_event(struct nl_msg *msg, void *arg)
{
	struct event_ctx *ctx = arg;
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[MINIVMM_A_MAX + 1];
	struct mnl_event ev = { .vcpu = -1 };

	if (gh->cmd != MINIVMM_CMD_EVENT ||
	    nla_parse(tb, MINIVMM_A_MAX, genlmsg_attrdata(gh, 0),
		      genlmsg_attrlen(gh, 0), NULL) ||
	    !tb[MINIVMM_A_EVENT])
		return NL_SKIP;
	ev.event = get_u32(tb, MINIVMM_A_EVENT);
	ev.vm = get_u32(tb, MINIVMM_A_VM_ID);
	if (tb[MINIVMM_A_VCPU_ID])
		ev.vcpu = get_u32(tb, MINIVMM_A_VCPU_ID);
	ev.exit_reason = get_u32(tb, MINIVMM_A_EXIT_REASON);
	ctx->stop = ctx->fn(&ev, ctx->arg);
	return ctx->stop ? NL_STOP : NL_OK;
}

int mnl_events(struct mnl *nl, int (*fn)(const struct mnl_event *ev,
					 void *arg), void *arg)
{
	struct event_ctx ctx = { .fn = fn, .arg = arg };
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int ret = 0;

	if (!cb)
		return fail(-ENOMEM, "out of memory");
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_event, &ctx);
	while (!ctx.stop) {
		ret = nl_recvmsgs(nl->sk, cb);
		if (ret == -NLE_NOMEM) {
			/* ENOBUFS: the socket overflowed; go on. */
			fprintf(stderr, "minivmm: %s\n",
				"events were lost (receive buffer overrun)");
			continue;
		}
		if (ret < 0 && ret != -NLE_INTR) {
			ret = fail(-EIO, "receiving events: %s",
				   nl_geterror(ret));
			break;
		}
		ret = 0;
	}
	nl_cb_put(cb);
	return ctx.stop ? ctx.stop : ret;
}

const char *mnl_event_name(uint32_t event)
{
	switch (event) {
	case MINIVMM_EVENT_VM_CREATED:
		return "vm-created";
	case MINIVMM_EVENT_VM_DESTROYED:
		return "vm-destroyed";
	case MINIVMM_EVENT_VCPU_SHUTDOWN:
		return "vcpu-shutdown";
	case MINIVMM_EVENT_ENTRY_FAILED:
		return "entry-failed";
	default:
		return "unknown";
	}
}

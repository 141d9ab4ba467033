// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "minivmm", spoken to directly with libnl:
 * the family and its group, capabilities equal to the ioctl's, the VM
 * list and per-vCPU statistics against what guests did and what the run
 * structure says, the errors (no VM id: EINVAL; unknown VM: ENOENT),
 * visibility of VMs across users, the events of the multicast group,
 * answers that never wait for a VM busy pinning its memory, the
 * counters of the RUN hand-off's polling (module parameter poll_ns), and
 * those of the exits to userspace and of the writes that need none
 * (posted writes, full posted rings, ioeventfd signals).
 */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <string.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/family.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "kselftest_harness.h"
#include "minivmm_test.h"
#include "guest.h"

#define EXIT_REASON_IO_INSTRUCTION	30
#define EXIT_REASON_HLT			12
#define NOBODY				65534
#define NR_REASONS			128
#define MAX_VMS				16
#define RECV_TIMEOUT_S			10

struct vcpu_stats {
	uint32_t id;
	uint64_t entries, exits, guest_ns;
	uint64_t poll_hits, poll_misses;
	bool has_poll;
	uint64_t user_exits, posted_writes, posted_full, ioeventfd_signals;
	uint64_t lint_dropped;
	bool has_lint;
	bool has_io;
	uint64_t reasons[NR_REASONS];
};

struct vm_info {
	uint32_t id, pid, uid, nr_vcpus;
	uint64_t mem_bytes;
	unsigned int nr_stats;
	struct vcpu_stats vcpus[MINIVMM_MAX_CPUS / 16];
};

struct event {
	uint32_t event, vm;
	int32_t vcpu;
	uint32_t reason;
	/* Attributes other than the four above, by type. */
	unsigned int nr_other;
	int other[MINIVMM_A_MAX + 1];
};

/* What one request brought back. */
struct reply {
	int error;			/* the kernel's, negative */
	int nr_msgs;
	struct minivmm_caps caps;
	bool has_caps;
	struct vm_info vms[MAX_VMS];
	int nr_vms;
	struct event ev;
	bool has_event;
};

struct nl {
	struct nl_sock *sk;
	int family;
};

static int mnl_open(struct nl *nl)
{
	nl->sk = nl_socket_alloc();
	if (!nl->sk)
		return -ENOMEM;
	if (genl_connect(nl->sk)) {
		nl_socket_free(nl->sk);
		return -EIO;
	}
	nl_socket_disable_auto_ack(nl->sk);
	nl_socket_enable_msg_peek(nl->sk);
	nl->family = genl_ctrl_resolve(nl->sk, MINIVMM_GENL_NAME);
	if (nl->family < 0) {
		nl_socket_free(nl->sk);
		return -ENOENT;
	}
	return 0;
}

static void mnl_close(struct nl *nl)
{
	nl_socket_free(nl->sk);
}

static uint32_t u32_of(struct nlattr **tb, int type)
{
	return tb[type] ? nla_get_u32(tb[type]) : 0;
}

static uint64_t u64_of(struct nlattr **tb, int type)
{
	return tb[type] ? nla_get_u64(tb[type]) : 0;
}

static void parse_vcpu(struct nlattr *nest, struct vcpu_stats *v)
{
	struct nlattr *tb[MINIVMM_A_MAX + 1], *a;
	int rem;

	memset(v, 0, sizeof(*v));
	if (nla_parse_nested(tb, MINIVMM_A_MAX, nest, NULL))
		return;
	v->id = u32_of(tb, MINIVMM_A_VCPU_ID);
	v->entries = u64_of(tb, MINIVMM_A_VCPU_ENTRIES);
	v->exits = u64_of(tb, MINIVMM_A_VCPU_EXITS);
	v->guest_ns = u64_of(tb, MINIVMM_A_VCPU_GUEST_NS);
	v->poll_hits = u64_of(tb, MINIVMM_A_VCPU_POLL_HITS);
	v->poll_misses = u64_of(tb, MINIVMM_A_VCPU_POLL_MISSES);
	v->has_poll = tb[MINIVMM_A_VCPU_POLL_HITS] &&
		      tb[MINIVMM_A_VCPU_POLL_MISSES];
	v->user_exits = u64_of(tb, MINIVMM_A_VCPU_USER_EXITS);
	v->posted_writes = u64_of(tb, MINIVMM_A_VCPU_POSTED_WRITES);
	v->posted_full = u64_of(tb, MINIVMM_A_VCPU_POSTED_FULL);
	v->ioeventfd_signals = u64_of(tb, MINIVMM_A_VCPU_IOEVENTFD_SIGNALS);
	v->lint_dropped = u64_of(tb, MINIVMM_A_VCPU_LINT_DROPPED);
	v->has_lint = tb[MINIVMM_A_VCPU_LINT_DROPPED];
	v->has_io = tb[MINIVMM_A_VCPU_USER_EXITS] &&
		    tb[MINIVMM_A_VCPU_POSTED_WRITES] &&
		    tb[MINIVMM_A_VCPU_POSTED_FULL] &&
		    tb[MINIVMM_A_VCPU_IOEVENTFD_SIGNALS];
	if (!tb[MINIVMM_A_VCPU_EXIT_REASONS])
		return;
	nla_for_each_nested(a, tb[MINIVMM_A_VCPU_EXIT_REASONS], rem)
		if (nla_type(a) >= 1 && nla_type(a) <= NR_REASONS)
			v->reasons[nla_type(a) - 1] = nla_get_u64(a);
}

static int on_msg(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[MINIVMM_A_MAX + 1], *a;
	struct reply *r = arg;
	struct vm_info *vm;
	int rem;

	r->nr_msgs++;
	if (nla_parse(tb, MINIVMM_A_MAX, genlmsg_attrdata(gh, 0),
		      genlmsg_attrlen(gh, 0), NULL))
		return NL_SKIP;
	if (tb[MINIVMM_A_CAPS] &&
	    nla_len(tb[MINIVMM_A_CAPS]) == sizeof(r->caps)) {
		memcpy(&r->caps, nla_data(tb[MINIVMM_A_CAPS]), sizeof(r->caps));
		r->has_caps = true;
	}
	if (gh->cmd == MINIVMM_CMD_EVENT) {
		r->ev = (struct event){
			.event = u32_of(tb, MINIVMM_A_EVENT),
			.vm = u32_of(tb, MINIVMM_A_VM_ID),
			.vcpu = tb[MINIVMM_A_VCPU_ID] ?
				(int32_t)u32_of(tb, MINIVMM_A_VCPU_ID) : -1,
			.reason = u32_of(tb, MINIVMM_A_EXIT_REASON),
		};
		nla_for_each_attr(a, genlmsg_attrdata(gh, 0),
				  genlmsg_attrlen(gh, 0), rem) {
			switch (nla_type(a)) {
			case MINIVMM_A_EVENT:
			case MINIVMM_A_VM_ID:
			case MINIVMM_A_VCPU_ID:
			case MINIVMM_A_EXIT_REASON:
				break;
			default:
				if (r->ev.nr_other < ARRAY_SIZE(r->ev.other))
					r->ev.other[r->ev.nr_other] =
						nla_type(a);
				r->ev.nr_other++;
			}
		}
		r->has_event = true;
		return NL_STOP;
	}
	if (!tb[MINIVMM_A_VM_ID] || r->nr_vms >= MAX_VMS)
		return NL_OK;
	vm = &r->vms[r->nr_vms++];
	memset(vm, 0, sizeof(*vm));
	vm->id = u32_of(tb, MINIVMM_A_VM_ID);
	vm->pid = u32_of(tb, MINIVMM_A_VM_PID);
	vm->uid = u32_of(tb, MINIVMM_A_VM_UID);
	vm->nr_vcpus = u32_of(tb, MINIVMM_A_VM_NR_VCPUS);
	vm->mem_bytes = u64_of(tb, MINIVMM_A_VM_MEM_BYTES);
	nla_for_each_attr(a, genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0),
			  rem) {
		if (nla_type(a) == MINIVMM_A_VCPU &&
		    vm->nr_stats < ARRAY_SIZE(vm->vcpus))
			parse_vcpu(a, &vm->vcpus[vm->nr_stats++]);
	}
	return NL_OK;
}

static int on_err(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	((struct reply *)arg)->error = e->error;
	return NL_STOP;
}

static int receive(struct nl *nl, struct reply *r)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int ret;

	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_msg, r);
	nl_cb_err(cb, NL_CB_CUSTOM, on_err, r);
	ret = nl_recvmsgs(nl->sk, cb);
	nl_cb_put(cb);
	return r->error ? r->error : ret < 0 ? -EIO : 0;
}

/*
 * Send @cmd (with a VM id attribute unless @vm_id is negative) and take
 * the reply: 0, or the kernel's negative errno.
 */
static int request(struct nl *nl, uint8_t cmd, int flags, int64_t vm_id,
		   struct reply *r)
{
	struct nl_msg *msg = nlmsg_alloc();
	int ret;

	memset(r, 0, sizeof(*r));
	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, flags,
			 cmd, MINIVMM_GENL_VERSION) ||
	    (vm_id >= 0 && nla_put_u32(msg, MINIVMM_A_VM_ID, vm_id))) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	ret = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (ret < 0)
		return -EIO;
	return receive(nl, r);
}

/* The newest VM of this process, by the dump: its id, or -1. */
static long my_vm(struct nl *nl, struct reply *r)
{
	long id = -1;
	int i;

	if (request(nl, MINIVMM_CMD_LIST_VMS, NLM_F_DUMP, -1, r))
		return -1;
	for (i = 0; i < r->nr_vms; i++)
		if (r->vms[i].pid == (uint32_t)getpid() && r->vms[i].id > id)
			id = r->vms[i].id;
	return id;
}

/*
 * A socket of its own in the "events" group (replies and events on one
 * socket would mix), with a receive timeout so a missing event fails.
 */
static int subscribe(struct nl *nl)
{
	struct timeval tv = { .tv_sec = RECV_TIMEOUT_S };
	int grp;

	if (mnl_open(nl))
		return -ENOENT;
	grp = genl_ctrl_resolve_grp(nl->sk, MINIVMM_GENL_NAME,
				    MINIVMM_GENL_MCGRP_EVENTS);
	if (grp < 0)
		return grp;
	if (setsockopt(nl_socket_get_fd(nl->sk), SOL_SOCKET, SO_RCVTIMEO,
		       &tv, sizeof(tv)))
		return -errno;
	return nl_socket_add_membership(nl->sk, grp);
}

/* The next event: 0, or negative when none came in time. */
static int next_event(struct nl *nl, struct event *ev)
{
	struct reply *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return -ENOMEM;
	while (!(ret = receive(nl, r)) && !r->has_event)
		;
	if (!ret)
		*ev = r->ev;
	free(r);
	return ret;
}

/* Real mode: 100 writes to an unclaimed port, then HLT. */
GUEST_CODE(guest_outs100, ".code16",
	   "mov $100, %cx\n"
	   "1:\n\t"
	   "out %al, $0x80\n\t"
	   "loop 1b\n\t"
	   "hlt");

/*
 * Real mode: POSTED_WRITES OUTs to POSTED_PORT (a posted range: the ring
 * fills up once), KICKS to KICK_PORT (an ioeventfd), then HLT.
 */
#define POSTED_PORT	0xe0
#define KICK_PORT	0xe4
#define POSTED_WRITES	200
#define KICKS		10
#define STR(x)		#x
#define XSTR(x)		STR(x)
GUEST_CODE(guest_posted_kicks, ".code16",
	   "mov $" XSTR(POSTED_WRITES) ", %cx\n"
	   "1:\n\t"
	   "out %al, $" XSTR(POSTED_PORT) "\n\t"
	   "loop 1b\n\t"
	   "mov $" XSTR(KICKS) ", %cx\n"
	   "2:\n\t"
	   "out %al, $" XSTR(KICK_PORT) "\n\t"
	   "loop 2b\n\t"
	   "hlt");

/* Real mode: an empty IVT limit, then an interrupt: triple fault. */
GUEST_CODE(guest_shutdown, ".code16",
	   "lidt (0x7c00 + shutdown_idt - guest_shutdown)\n\t"
	   "int $3\n"
	   "shutdown_idt: .word 0\n\t"
	   ".long 0");

FIXTURE(nl) {
	struct nl nl;
	struct reply *r;
	bool open;
};

FIXTURE_SETUP(nl)
{
	self->r = calloc(1, sizeof(*self->r));
	ASSERT_NE(NULL, self->r);
	self->open = !mnl_open(&self->nl);
}

FIXTURE_TEARDOWN(nl)
{
	if (self->open)
		mnl_close(&self->nl);
	free(self->r);
}

#define REQUIRE_FAMILY()						\
	do {								\
		REQUIRE_VMX();						\
		if (!self->open)					\
			SKIP(return, "no generic netlink family \""	\
			     MINIVMM_GENL_NAME "\"");			\
	} while (0)

TEST_F(nl, family_and_group_are_registered)
{
	struct genl_family *fam;
	struct nl_cache *cache;

	REQUIRE_VMX();
	/* The module is loaded: its family must be there. */
	ASSERT_TRUE(self->open);
	ASSERT_EQ(0, genl_ctrl_alloc_cache(self->nl.sk, &cache));
	fam = genl_ctrl_search_by_name(cache, MINIVMM_GENL_NAME);
	ASSERT_NE(NULL, fam);
	EXPECT_EQ(MINIVMM_GENL_VERSION, genl_family_get_version(fam));
	EXPECT_EQ(self->nl.family, genl_family_get_id(fam));
	genl_family_put(fam);
	nl_cache_free(cache);
	EXPECT_LT(0, genl_ctrl_resolve_grp(self->nl.sk, MINIVMM_GENL_NAME,
					   MINIVMM_GENL_MCGRP_EVENTS));
}

TEST_F(nl, caps_equal_the_ioctl_caps)
{
	struct minivmm_caps caps;
	struct test_vm *vm;

	REQUIRE_FAMILY();
	ASSERT_EQ(0, request(&self->nl, MINIVMM_CMD_GET_CAPS, 0, -1, self->r));
	ASSERT_TRUE(self->r->has_caps);
	ASSERT_EQ(0, minivmm_caps(&caps));
	EXPECT_EQ(0, memcmp(&caps, &self->r->caps, sizeof(caps)));

	/* With a VM: the counts change in both the same way. */
	vm = test_vm_create(GUEST_MEM_SIZE);
	ASSERT_EQ(0, request(&self->nl, MINIVMM_CMD_GET_CAPS, 0, -1, self->r));
	ASSERT_EQ(0, minivmm_caps(&caps));
	EXPECT_EQ(0, memcmp(&caps, &self->r->caps, sizeof(caps)));
	EXPECT_LE(1, self->r->caps.nr_vms);
	EXPECT_LE(1, self->r->caps.nr_cpus_vmx);
	test_vm_destroy(vm);
}

TEST_F(nl, stats_without_vm_id_is_einval)
{
	REQUIRE_FAMILY();
	EXPECT_EQ(-EINVAL, request(&self->nl, MINIVMM_CMD_GET_STATS, 0, -1,
				   self->r));
	EXPECT_EQ(0, self->r->nr_vms);
}

TEST_F(nl, stats_of_unknown_vm_is_enoent)
{
	struct test_vm *vm;
	long id;

	REQUIRE_FAMILY();
	EXPECT_EQ(-ENOENT, request(&self->nl, MINIVMM_CMD_GET_STATS, 0,
				   0xfffffff0, self->r));
	EXPECT_EQ(-ENOENT, request(&self->nl, MINIVMM_CMD_GET_STATS, 0, 0,
				   self->r));
	/* A VM that is gone is unknown too. */
	vm = test_vm_create(GUEST_MEM_SIZE);
	id = my_vm(&self->nl, self->r);
	ASSERT_LT(0, id);
	EXPECT_EQ(0, request(&self->nl, MINIVMM_CMD_GET_STATS, 0, id,
			     self->r));
	test_vm_destroy(vm);
	EXPECT_EQ(-ENOENT, request(&self->nl, MINIVMM_CMD_GET_STATS, 0, id,
				   self->r));
}

TEST_F(nl, list_shows_own_vms_in_order)
{
	struct test_vm *vms[3];
	uint32_t ids[3];
	int i, j, found;

	REQUIRE_FAMILY();
	for (i = 0; i < 3; i++) {
		vms[i] = test_vm_create(GUEST_MEM_SIZE * (i + 1));
		test_vcpu_add(vms[i], 0);
		if (i)
			test_vcpu_add(vms[i], i + 4);
	}
	ASSERT_EQ(0, request(&self->nl, MINIVMM_CMD_LIST_VMS, NLM_F_DUMP, -1,
			     self->r));
	for (i = 0, found = 0; i < self->r->nr_vms; i++) {
		struct vm_info *v = &self->r->vms[i];

		if (i)
			EXPECT_LT(self->r->vms[i - 1].id, v->id);
		if (v->pid != (uint32_t)getpid())
			continue;
		ASSERT_GT(3, found);
		ids[found] = v->id;
		EXPECT_EQ(geteuid(), v->uid);
		EXPECT_EQ(found ? 2 : 1, v->nr_vcpus);
		EXPECT_EQ(GUEST_MEM_SIZE * (found + 1), v->mem_bytes);
		EXPECT_EQ(0, v->nr_stats);	/* the list has no vCPUs */
		found++;
	}
	EXPECT_EQ(3, found);

	/* Each one's statistics: its vCPUs, nothing run yet. */
	for (i = 0; i < found; i++) {
		ASSERT_EQ(0, request(&self->nl, MINIVMM_CMD_GET_STATS, 0,
				     ids[i], self->r));
		ASSERT_EQ(1, self->r->nr_vms);
		EXPECT_EQ(ids[i], self->r->vms[0].id);
		EXPECT_EQ(i ? 2 : 1, self->r->vms[0].nr_stats);
		for (j = 0; j < (int)self->r->vms[0].nr_stats; j++) {
			struct vcpu_stats *v = &self->r->vms[0].vcpus[j];

			EXPECT_TRUE(v->id == 0 || v->id == (uint32_t)i + 4);
			EXPECT_EQ(0, v->entries);
			EXPECT_EQ(0, v->exits);
		}
	}
	for (i = 0; i < 3; i++)
		test_vm_destroy(vms[i]);
}

TEST_F(nl, stats_match_the_guest_and_the_run_structure)
{
	struct minivmm_run *run = NULL;
	struct test_vcpu *vcpu;
	struct vcpu_stats *v;
	struct test_vm *vm;
	uint64_t sum = 0;
	long id;
	int i;

	REQUIRE_FAMILY();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 2);
	test_vcpu_load(vcpu, MODE_REAL, guest_outs100,
		       GUEST_CODE_SIZE(guest_outs100));
	for (i = 0; i < 100; i++) {
		run = test_run_expect(vcpu, MINIVMM_EXIT_IO);
		ASSERT_EQ(0x80, run->io.port);
	}
	run = test_run_expect(vcpu, MINIVMM_EXIT_HLT);

	id = my_vm(&self->nl, self->r);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, request(&self->nl, MINIVMM_CMD_GET_STATS, 0, id,
			     self->r));
	ASSERT_EQ(1, self->r->vms[0].nr_stats);
	v = &self->r->vms[0].vcpus[0];
	EXPECT_EQ(2, v->id);
	/* Exactly what the guest did, and what RUN said last. */
	EXPECT_EQ(100, v->reasons[EXIT_REASON_IO_INSTRUCTION]);
	EXPECT_EQ(1, v->reasons[EXIT_REASON_HLT]);
	EXPECT_EQ(run->exits, v->exits);
	EXPECT_EQ(run->entries, v->entries);
	EXPECT_LT(0, v->guest_ns);
	for (i = 0; i < NR_REASONS; i++)
		sum += v->reasons[i];
	EXPECT_EQ(v->exits, sum);
	test_vm_destroy(vm);
}

#define POLL_NS_PARAM	"/sys/module/minivmm/parameters/poll_ns"

/* Set the poll_ns module parameter; its old value, or -1 on failure. */
static long set_poll_ns(long ns)
{
	long old = -1;
	FILE *f = fopen(POLL_NS_PARAM, "r+");

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &old) != 1 || fseek(f, 0, SEEK_SET) ||
	    fprintf(f, "%ld\n", ns) < 0)
		old = -1;
	if (fclose(f))
		old = -1;
	return old;
}

/* 100 OUT round trips and a HLT; the vCPU's statistics in *v. */
static void run_outs100(struct __test_metadata *_metadata, struct nl *nl,
			struct reply *r, struct vcpu_stats *v)
{
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	long id;
	int i;

	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_vcpu_load(vcpu, MODE_REAL, guest_outs100,
		       GUEST_CODE_SIZE(guest_outs100));
	for (i = 0; i < 100; i++)
		test_run_expect(vcpu, MINIVMM_EXIT_IO);
	test_run_expect(vcpu, MINIVMM_EXIT_HLT);
	id = my_vm(nl, r);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, request(nl, MINIVMM_CMD_GET_STATS, 0, id, r));
	ASSERT_EQ(1, r->vms[0].nr_stats);
	*v = r->vms[0].vcpus[0];
	test_vm_destroy(vm);
}

TEST_F(nl, hand_off_polls_are_counted)
{
	struct vcpu_stats v;
	long old;

	REQUIRE_FAMILY();
	old = set_poll_ns(200000);
	if (old < 0)
		SKIP(return, "cannot write " POLL_NS_PARAM);
	run_outs100(_metadata, &self->nl, self->r, &v);
	set_poll_ns(old);
	ASSERT_TRUE(v.has_poll);
	/* The first wait polls; no wait counts twice (two per RUN). */
	EXPECT_LE(1, v.poll_hits + v.poll_misses);
	EXPECT_GE(2 * 101, v.poll_hits + v.poll_misses);
}

TEST_F(nl, no_polls_with_poll_ns_zero)
{
	struct vcpu_stats v;
	long old;

	REQUIRE_FAMILY();
	old = set_poll_ns(0);
	if (old < 0)
		SKIP(return, "cannot write " POLL_NS_PARAM);
	run_outs100(_metadata, &self->nl, self->r, &v);
	set_poll_ns(old);
	ASSERT_TRUE(v.has_poll);
	EXPECT_EQ(0, v.poll_hits);
	EXPECT_EQ(0, v.poll_misses);
}

TEST_F(nl, posted_writes_ring_full_and_ioeventfd_signals_are_counted)
{
	struct minivmm_posted_range range = {
		.addr = POSTED_PORT, .size = 1, .flags = MINIVMM_POSTED_PIO,
	};
	struct minivmm_ioeventfd kick = {
		.addr = KICK_PORT, .len = 1, .flags = MINIVMM_IOEVENTFD_PIO,
	};
	struct minivmm_posted_ring *ring;
	struct minivmm_caps caps;
	struct minivmm_run *run;
	struct test_vcpu *vcpu;
	struct vcpu_stats *v;
	struct test_vm *vm;
	uint64_t count;
	long id;

	REQUIRE_FAMILY();
	ASSERT_EQ(0, minivmm_caps(&caps));
	if (!(caps.features & MINIVMM_CAP_POSTED_IO) ||
	    !(caps.features & MINIVMM_CAP_IOEVENTFD))
		SKIP(return, "no posted writes or no ioeventfds");
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	ring = mmap(NULL, MINIVMM_POSTED_RING_SIZE, PROT_READ | PROT_WRITE,
		    MAP_SHARED, vcpu->fd, MINIVMM_POSTED_RING_OFFSET);
	ASSERT_NE(MAP_FAILED, ring);
	kick.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, kick.fd);
	ASSERT_EQ(0, ioctl(vm->fd, MINIVMM_POSTED_RANGE, &range));
	ASSERT_EQ(0, ioctl(vm->fd, MINIVMM_IOEVENTFD, &kick));
	test_vcpu_load(vcpu, MODE_REAL, guest_posted_kicks,
		       GUEST_CODE_SIZE(guest_posted_kicks));

	/* The ring holds ENTRIES - 1 writes: the next one exits. */
	run = test_run_expect(vcpu, MINIVMM_EXIT_IO);
	ASSERT_EQ(POSTED_PORT, run->io.port);
	__atomic_store_n(&ring->head,
			 __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE),
			 __ATOMIC_RELEASE);
	test_run_expect(vcpu, MINIVMM_EXIT_HLT);
	ASSERT_EQ(sizeof(count), read(kick.fd, &count, sizeof(count)));
	EXPECT_EQ(KICKS, count);

	id = my_vm(&self->nl, self->r);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, request(&self->nl, MINIVMM_CMD_GET_STATS, 0, id,
			     self->r));
	ASSERT_EQ(1, self->r->vms[0].nr_stats);
	v = &self->r->vms[0].vcpus[0];
	ASSERT_TRUE(v->has_io);
	/* Every write made a VM exit; two reached userspace. */
	EXPECT_EQ(POSTED_WRITES + KICKS,
		  v->reasons[EXIT_REASON_IO_INSTRUCTION]);
	EXPECT_EQ(2, v->user_exits);
	EXPECT_EQ(POSTED_WRITES - 1, v->posted_writes);
	EXPECT_EQ(1, v->posted_full);
	EXPECT_EQ(KICKS, v->ioeventfd_signals);
	close(kick.fd);
	munmap(ring, MINIVMM_POSTED_RING_SIZE);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

static void lint_pulse(struct test_vm *vm, uint32_t pin)
{
	struct minivmm_lint l = { .vcpu = 0, .pin = pin, .level = 1 };

	TEST_REQUIRE(!ioctl(vm->fd, MINIVMM_LINT, &l), "MINIVMM_LINT: %m");
	l.level = 0;
	TEST_REQUIRE(!ioctl(vm->fd, MINIVMM_LINT, &l), "MINIVMM_LINT: %m");
}

/*
 * LINT assertions whose LVT entry asks for what nothing supplies (ExtINT
 * without an 8259, SMI without SMM) are dropped and counted.
 */
TEST_F(nl, dropped_lint_assertions_are_counted)
{
	struct minivmm_lapic_state s;
	struct minivmm_caps caps;
	struct test_vcpu *vcpu;
	struct vcpu_stats *v;
	struct test_vm *vm;
	uint32_t val;
	long id;
	int i;

	REQUIRE_FAMILY();
	ASSERT_EQ(0, minivmm_caps(&caps));
	if (!(caps.features & MINIVMM_CAP_LINT))
		SKIP(return, "no MINIVMM_LINT");
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	ASSERT_EQ(0, ioctl(vcpu->fd, MINIVMM_GET_LAPIC, &s));
	val = 0x1ff;				/* SVR: enabled */
	memcpy(s.regs + 0xf0, &val, sizeof(val));
	val = 0x700;				/* LVT0: ExtINT */
	memcpy(s.regs + 0x350, &val, sizeof(val));
	val = 0x200;				/* LVT1: SMI */
	memcpy(s.regs + 0x360, &val, sizeof(val));
	ASSERT_EQ(0, ioctl(vcpu->fd, MINIVMM_SET_LAPIC, &s));
	for (i = 0; i < 3; i++)
		lint_pulse(vm, MINIVMM_LINT0);
	for (i = 0; i < 2; i++)
		lint_pulse(vm, MINIVMM_LINT1);

	id = my_vm(&self->nl, self->r);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, request(&self->nl, MINIVMM_CMD_GET_STATS, 0, id,
			     self->r));
	ASSERT_EQ(1, self->r->vms[0].nr_stats);
	v = &self->r->vms[0].vcpus[0];
	ASSERT_TRUE(v->has_lint);
	EXPECT_EQ(5, v->lint_dropped);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST_F(nl, exits_to_userspace_are_counted_without_posted_writes)
{
	struct vcpu_stats v;

	REQUIRE_FAMILY();
	run_outs100(_metadata, &self->nl, self->r, &v);
	ASSERT_TRUE(v.has_io);
	EXPECT_EQ(101, v.user_exits);
	EXPECT_EQ(0, v.posted_writes);
	EXPECT_EQ(0, v.posted_full);
	EXPECT_EQ(0, v.ioeventfd_signals);
}

/* In a child: drop every privilege, become nobody. 0 or an errno. */
static int become_nobody(void)
{
	if (prctl(PR_SET_KEEPCAPS, 0) ||
	    setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		return errno;
	return 0;
}

TEST_F(nl, vm_of_another_user_is_invisible)
{
	struct test_vm *vm;
	struct reply *r = self->r;
	struct nl nl;
	int status, i;
	long id;
	pid_t pid;

	REQUIRE_FAMILY();
	if (geteuid() != 0)
		SKIP(return, "needs root to switch users");
	vm = test_vm_create(GUEST_MEM_SIZE);
	test_vcpu_add(vm, 0);
	id = my_vm(&self->nl, r);
	ASSERT_LT(0, id);

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* Exit codes: which check failed. */
		if (become_nobody())
			_exit(10);
		if (mnl_open(&nl))
			_exit(11);
		if (request(&nl, MINIVMM_CMD_LIST_VMS, NLM_F_DUMP, -1, r))
			_exit(12);
		for (i = 0; i < r->nr_vms; i++)
			if (r->vms[i].id == id)
				_exit(13);
		if (request(&nl, MINIVMM_CMD_GET_STATS, 0, id, r) != -ENOENT)
			_exit(14);
		/* Capabilities are for everyone. */
		if (request(&nl, MINIVMM_CMD_GET_CAPS, 0, -1, r) ||
		    !r->has_caps)
			_exit(15);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));

	/* Its owner still sees it. */
	EXPECT_EQ(0, request(&self->nl, MINIVMM_CMD_GET_STATS, 0, id, r));
	test_vm_destroy(vm);
}

TEST_F(nl, events_of_create_and_destroy)
{
	struct test_vm *vm;
	struct event ev;
	struct nl evs;
	long id;

	REQUIRE_FAMILY();
	ASSERT_EQ(0, subscribe(&evs));
	vm = test_vm_create(GUEST_MEM_SIZE);
	id = my_vm(&self->nl, self->r);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, next_event(&evs, &ev));
	EXPECT_EQ(MINIVMM_EVENT_VM_CREATED, ev.event);
	EXPECT_EQ(id, ev.vm);
	EXPECT_EQ(-1, ev.vcpu);
	EXPECT_EQ(0, ev.reason);
	EXPECT_EQ(0, ev.nr_other);

	test_vm_destroy(vm);
	ASSERT_EQ(0, next_event(&evs, &ev));
	EXPECT_EQ(MINIVMM_EVENT_VM_DESTROYED, ev.event);
	EXPECT_EQ(id, ev.vm);
	EXPECT_EQ(-1, ev.vcpu);
	EXPECT_EQ(0, ev.nr_other);
	mnl_close(&evs);
}

TEST_F(nl, event_of_a_triple_fault)
{
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	struct event ev;
	struct nl evs;
	long id;

	REQUIRE_FAMILY();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 5);
	id = my_vm(&self->nl, self->r);
	ASSERT_EQ(0, subscribe(&evs));
	test_vcpu_load(vcpu, MODE_REAL, guest_shutdown,
		       GUEST_CODE_SIZE(guest_shutdown));
	test_run_expect(vcpu, MINIVMM_EXIT_SHUTDOWN);
	ASSERT_EQ(0, next_event(&evs, &ev));
	EXPECT_EQ(MINIVMM_EVENT_VCPU_SHUTDOWN, ev.event);
	EXPECT_EQ(id, ev.vm);
	EXPECT_EQ(5, ev.vcpu);
	EXPECT_EQ(0, ev.reason);
	EXPECT_EQ(0, ev.nr_other);
	test_vm_destroy(vm);
	mnl_close(&evs);
}

TEST_F(nl, event_of_an_entry_failure)
{
	struct minivmm_sregs s;
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	struct event ev;
	struct nl evs;
	long id;

	REQUIRE_FAMILY();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 7);
	id = my_vm(&self->nl, self->r);
	test_vcpu_load(vcpu, MODE_PROTECTED, guest_outs100,
		       GUEST_CODE_SIZE(guest_outs100));
	/* An unusable TR in protected mode: invalid guest state. */
	test_get_sregs(vcpu, &s);
	s.tr.attrib |= 0x10000;
	test_set_sregs(vcpu, &s);
	ASSERT_EQ(0, subscribe(&evs));
	test_run_expect(vcpu, MINIVMM_EXIT_FAIL_ENTRY);
	ASSERT_EQ(0, next_event(&evs, &ev));
	EXPECT_EQ(MINIVMM_EVENT_ENTRY_FAILED, ev.event);
	EXPECT_EQ(id, ev.vm);
	EXPECT_EQ(7, ev.vcpu);
	EXPECT_EQ(0x80000021, ev.reason);
	EXPECT_EQ(0, ev.nr_other);
	test_vm_destroy(vm);
	mnl_close(&evs);
}

TEST_F(nl, events_reach_an_unprivileged_listener)
{
	struct test_vm *vm;
	struct event ev;
	int ready[2], status;
	char c;
	pid_t pid;
	long id;

	REQUIRE_FAMILY();
	if (geteuid() != 0)
		SKIP(return, "needs root to switch users");
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct nl nl;

		close(ready[0]);
		if (become_nobody() || subscribe(&nl))
			_exit(10);
		if (write(ready[1], "r", 1) != 1)
			_exit(11);
		if (next_event(&nl, &ev) ||
		    ev.event != MINIVMM_EVENT_VM_CREATED)
			_exit(12);
		id = ev.vm;
		if (next_event(&nl, &ev) ||
		    ev.event != MINIVMM_EVENT_VM_DESTROYED || ev.vm != id)
			_exit(13);
		_exit(0);
	}
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	vm = test_vm_create(GUEST_MEM_SIZE);
	test_vm_destroy(vm);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

#define SLOW_PIN_SIZE	(64UL << 20)

TEST_F(nl, stats_do_not_wait_for_a_slot_being_pinned)
{
	struct slow_pin pin = {
		.slot = 1, .gpa = 1ULL << 32, .size = SLOW_PIN_SIZE,
	};
	struct test_vcpu *vcpu;
	struct test_vm *vm;
	uint64_t t0, answered;
	long id;
	int ret;

	REQUIRE_FAMILY();
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 3);
	id = my_vm(&self->nl, self->r);
	ASSERT_LT(0, id);
	pin.vm_fd = vm->fd;
	t0 = monotonic_ns();
	if (!slow_pin_start(&pin)) {
		slow_pin_join(&pin);
		SKIP(return, "pinning %lu MiB ended before it could be overlapped",
		     SLOW_PIN_SIZE >> 20);
	}

	ret = request(&self->nl, MINIVMM_CMD_GET_STATS, 0, id, self->r);
	answered = monotonic_ns();
	slow_pin_join(&pin);
	TH_LOG("stats after %llu ms, slot pinned after %llu ms",
	       (unsigned long long)(answered - t0) / 1000000,
	       (unsigned long long)(pin.done_ns - t0) / 1000000);
	EXPECT_LT(answered, pin.done_ns) TH_LOG("GET_STATS waited for the pinning");
	EXPECT_EQ(0, pin.ret);
	ASSERT_EQ(0, ret);
	ASSERT_EQ(1, self->r->nr_vms);
	ASSERT_EQ(1, self->r->vms[0].nr_stats);
	EXPECT_EQ(3, self->r->vms[0].vcpus[0].id);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

/*
 * Whoever listens learns what happened to which VM, and nothing the list
 * and statistics commands keep for the VM's owner: no pid, uid, memory
 * size, vCPU count or EPT counts. Listened to by uid 1000 while root's VM
 * comes and goes, has a vCPU that triple-faults and one that fails entry.
 */
TEST_F(nl, events_carry_no_hidden_fields_as_uid_1000)
{
	struct minivmm_sregs s;
	struct test_vcpu *v0, *v1;
	struct test_vm *vm;
	struct event ev;
	int ready[2], status, i;
	char c;
	pid_t pid;

	REQUIRE_FAMILY();
	if (geteuid() != 0)
		SKIP(return, "needs root to switch users");
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		static const uint32_t want[] = {
			MINIVMM_EVENT_VM_CREATED, MINIVMM_EVENT_VCPU_SHUTDOWN,
			MINIVMM_EVENT_ENTRY_FAILED, MINIVMM_EVENT_VM_DESTROYED,
		};
		struct nl nl;

		close(ready[0]);
		if (become_user(TEST_UID) || subscribe(&nl))
			_exit(11);
		if (write(ready[1], "r", 1) != 1)
			_exit(12);
		for (i = 0; i < (int)ARRAY_SIZE(want); i++) {
			if (next_event(&nl, &ev) || ev.event != want[i])
				_exit(20 + i);
			if (ev.nr_other) {
				fprintf(stderr, "event %u has attribute %d\n",
					ev.event, ev.other[0]);
				_exit(30 + i);
			}
		}
		_exit(0);
	}
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	vm = test_vm_create(GUEST_MEM_SIZE);
	v0 = test_vcpu_add(vm, 0);
	v1 = test_vcpu_add(vm, 1);
	test_vcpu_load(v0, MODE_REAL, guest_shutdown,
		       GUEST_CODE_SIZE(guest_shutdown));
	test_run_expect(v0, MINIVMM_EXIT_SHUTDOWN);
	test_vcpu_load(v1, MODE_PROTECTED, guest_outs100,
		       GUEST_CODE_SIZE(guest_outs100));
	test_get_sregs(v1, &s);
	s.tr.attrib |= 0x10000;
	test_set_sregs(v1, &s);
	test_run_expect(v1, MINIVMM_EXIT_FAIL_ENTRY);
	test_vcpu_destroy(v0);
	test_vcpu_destroy(v1);
	test_vm_destroy(vm);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * A host NMI that arrives while a guest runs reaches the host's NMI
 * handler. An NMI backtrace of all CPUs (sysrq 'l') is sent while a guest
 * spins with interrupts off on CPU 1: the backtrace of CPU 1 must appear
 * in the kernel log (the handler ran there), CPU 1's NMI count in
 * /proc/interrupts must grow, the VM's exit counters must show NMI exits
 * (exit reason 0), and the guest must still run afterwards.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "kselftest_harness.h"
#include "minivmm_test.h"
#include "guest.h"

#define GUEST_CPU	1
#define FLAG_ADDR	0x600
#define ATTEMPTS	5

/* Real mode: report, then spin with interrupts off until the flag is set. */
GUEST_CODE(guest_wait_flag, ".code16",
	   GUEST_SYNC_ASM(1)
	   "cli\n"
	   "1:\n\t"
	   "cmpb $0, 0x600\n\t"
	   "je 1b\n\t"
	   GUEST_DONE_ASM);

/* The NMI count of @cpu in /proc/interrupts, or -1. */
static long nmi_count(int cpu)
{
	char line[1024], *p;
	long n = -1;
	int i;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, "NMI:");
		if (!p || p > line + 8)
			continue;
		p += 4;
		for (i = 0; i <= cpu; i++)
			n = strtol(p, &p, 10);
		break;
	}
	fclose(f);
	return n;
}

static int on_stats(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *a, *v, *tb[MINIVMM_A_MAX + 1];
	uint64_t *nmi_exits = arg;
	int rem, rem2;

	nla_for_each_attr(a, genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0),
			  rem) {
		if (nla_type(a) != MINIVMM_A_VCPU ||
		    nla_parse_nested(tb, MINIVMM_A_MAX, a, NULL) ||
		    !tb[MINIVMM_A_VCPU_EXIT_REASONS])
			continue;
		/* Attribute type = VMX basic exit reason + 1; NMI is 0. */
		nla_for_each_nested(v, tb[MINIVMM_A_VCPU_EXIT_REASONS], rem2)
			if (nla_type(v) == 1)
				*nmi_exits += nla_get_u64(v);
	}
	return NL_OK;
}

/* The VM's NMI exits, from MINIVMM_CMD_GET_STATS; -1 on failure. */
static int64_t nmi_exits(unsigned int vm_id)
{
	struct nl_sock *sk = nl_socket_alloc();
	uint64_t n = 0;
	int family, ret = -1;
	struct nl_msg *msg;

	if (!sk)
		return -1;
	if (genl_connect(sk))
		goto free;
	family = genl_ctrl_resolve(sk, MINIVMM_GENL_NAME);
	msg = nlmsg_alloc();
	if (family < 0 || !msg)
		goto free;
	if (genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0,
			MINIVMM_CMD_GET_STATS, MINIVMM_GENL_VERSION) &&
	    !nla_put_u32(msg, MINIVMM_A_VM_ID, vm_id) &&
	    nl_send_auto(sk, msg) >= 0) {
		nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_stats,
				    &n);
		ret = nl_recvmsgs_default(sk) < 0 ? -1 : 0;
	}
	nlmsg_free(msg);
free:
	nl_socket_free(sk);
	return ret ? -1 : (int64_t)n;
}

static int sysrq_trigger(char key)
{
	int fd = open("/proc/sysrq-trigger", O_WRONLY), ret;

	if (fd < 0)
		return -errno;
	ret = write(fd, &key, 1) == 1 ? 0 : -errno;
	close(fd);
	return ret;
}

static void *run_thread(void *arg)
{
	struct test_vcpu *vcpu = arg;

	test_expect_done(vcpu);
	return NULL;
}

static int pin(pid_t pid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(pid, sizeof(set), &set);
}

TEST(host_nmi_in_guest_mode_reaches_the_host_handler)
{
	uint64_t mask[MINIVMM_MAX_CPUS / 64];
	char marker[64], needle[64];
	struct test_vcpu *vcpu;
	int64_t exits0, exits = 0;
	long nmis0, nmis;
	unsigned int vm_id;
	struct test_vm *vm;
	pthread_t thread;
	int i;

	REQUIRE_VMX();
	if (geteuid())
		SKIP(return, "needs root for sysrq and the kernel log");
	if (online_cpus(mask) < 2 || !(mask[0] & (1 << GUEST_CPU)))
		SKIP(return, "needs CPUs 0 and 1");
	if (access("/proc/sysrq-trigger", W_OK))
		SKIP(return, "no /proc/sysrq-trigger");

	ASSERT_EQ(0, pin(0, 0));
	vm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(vm, 0);
	test_vcpu_load(vcpu, MODE_REAL, guest_wait_flag,
		       GUEST_CODE_SIZE(guest_wait_flag));
	test_expect_sync(vcpu, 1);
	ASSERT_EQ(0, pin(test_vcpu_thread(vcpu, &vm_id), GUEST_CPU));
	exits0 = nmi_exits(vm_id);
	ASSERT_LE(0, exits0);

	ASSERT_EQ(0, pthread_create(&thread, NULL, run_thread, vcpu));
	usleep(200 * 1000);
	/*
	 * An NMI may also land between two guest entries; try until one
	 * has come in guest mode, each time checking it reached the host.
	 */
	for (i = 0; i < ATTEMPTS && exits <= exits0; i++) {
		snprintf(marker, sizeof(marker), "nmi_test: backtrace %d\n", i);
		snprintf(needle, sizeof(needle), "NMI backtrace for cpu %d",
			 GUEST_CPU);
		nmis0 = nmi_count(GUEST_CPU);
		kmsg_write(marker);
		ASSERT_EQ(0, sysrq_trigger('l'));
		nmis = nmi_count(GUEST_CPU);
		EXPECT_LT(nmis0, nmis);
		EXPECT_TRUE(kmsg_has_after(marker, needle)) {
			TH_LOG("attempt %d: no \"%s\" in the kernel log", i,
			       needle);
		}
		exits = nmi_exits(vm_id);
		ksft_print_msg("attempt %d: CPU %d NMIs %ld -> %ld, NMI exits %lld\n",
			       i, GUEST_CPU, nmis0, nmis, (long long)exits);
		/* The harness ends this process with _exit(): no stdio flush. */
		fflush(stdout);
	}
	EXPECT_LT(exits0, exits) TH_LOG("no NMI arrived in guest mode");

	/* The guest still runs: it sees the flag and finishes. */
	__atomic_store_n(&vm->mem[FLAG_ADDR], 1, __ATOMIC_SEQ_CST);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	test_vcpu_destroy(vcpu);
	test_vm_destroy(vm);
}

TEST_HARNESS_MAIN

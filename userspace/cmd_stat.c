// SPDX-License-Identifier: GPL-2.0
/*
 * minivmm stat: per-vCPU statistics of VMs, from the generic netlink
 * family: VM entries and exits, time in guest mode, exits to userspace,
 * posted writes and ioeventfd signals, and exits by VMX exit reason,
 * with the kernel's names for the reasons.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "minivmm.h"
#include "nl.h"
#include "stat.h"

enum { OPT_WATCH = 256, OPT_JSON };

static const struct cli_option stat_options[] = {
	{ "watch", NULL, OPT_WATCH,
	  "refresh every second, with what grew since, until interrupted" },
	{ "json", NULL, OPT_JSON,
	  "print JSON (one line per refresh with --watch)" },
	{ }
};

static const char *reason_name(unsigned int reason, char *buf, size_t len)
{
	const char *name = vmx_exit_reason_name(reason);

	if (name)
		return name;
	snprintf(buf, len, "REASON_%u", reason);
	return buf;
}

static const struct mnl_vcpu *find_vcpu(const struct mnl_vm *vm,
					uint32_t id)
{
	unsigned int i;

	for (i = 0; vm && i < vm->nr_stats; i++)
		if (vm->vcpus[i].id == id)
			return &vm->vcpus[i];
	return NULL;
}

static void delta(FILE *f, uint64_t now, const struct mnl_vcpu *prev,
		  const uint64_t *before)
{
	if (prev)
		fprintf(f, "  +%llu", (unsigned long long)(now - *before));
	fputc('\n', f);
}

/*
 * A counter of what happened to the guest's writes, in lower case: the
 * rows in capitals that follow are VMX exit reasons, which sum to exits.
 */
static void io_row(FILE *f, const char *name, uint64_t now,
		   const struct mnl_vcpu *prev, const uint64_t *before)
{
	fprintf(f, "    %-28s %12llu", name, (unsigned long long)now);
	delta(f, now, prev, before);
}

void stat_print_vm(FILE *f, const struct mnl_vm *vm,
		   const struct mnl_vm *prev)
{
	char comm[32], mem[32], name[32];
	unsigned int i, r;

	fprintf(f, "VM %u: pid %u (%s), uid %u, %u vCPU%s, %s\n", vm->id,
		vm->pid, pid_comm(vm->pid, comm, sizeof(comm)), vm->uid,
		vm->nr_vcpus, vm->nr_vcpus == 1 ? "" : "s",
		format_bytes(vm->mem_bytes, mem, sizeof(mem)));
	for (i = 0; i < vm->nr_stats; i++) {
		const struct mnl_vcpu *v = &vm->vcpus[i];
		const struct mnl_vcpu *p = find_vcpu(prev, v->id);

		fprintf(f, "  vCPU %u: %llu entries, %llu exits, %.6f s in guest",
			v->id, (unsigned long long)v->entries,
			(unsigned long long)v->exits, v->guest_ns / 1e9);
		delta(f, v->exits, p, p ? &p->exits : NULL);
		if (v->has_io) {
			io_row(f, "exits to userspace", v->user_exits, p,
			       p ? &p->user_exits : NULL);
			io_row(f, "posted writes", v->posted_writes, p,
			       p ? &p->posted_writes : NULL);
			io_row(f, "posted ring-full exits", v->posted_full, p,
			       p ? &p->posted_full : NULL);
			io_row(f, "ioeventfd signals", v->ioeventfd_signals, p,
			       p ? &p->ioeventfd_signals : NULL);
		}
		if (v->has_lint)
			io_row(f, "dropped LINT assertions", v->lint_dropped, p,
			       p ? &p->lint_dropped : NULL);
		for (r = 0; r < MNL_NR_REASONS; r++) {
			if (!v->reasons[r])
				continue;
			fprintf(f, "    %-28s %12llu",
				reason_name(r, name, sizeof(name)),
				(unsigned long long)v->reasons[r]);
			delta(f, v->reasons[r], p, p ? &p->reasons[r] : NULL);
		}
	}
}

void stat_print_json(FILE *f, const struct mnl_vm *vm)
{
	char comm[32], name[32];
	unsigned int i, r;
	bool first;

	fprintf(f, "{\"id\":%u,\"pid\":%u,\"comm\":", vm->id, vm->pid);
	json_string(f, pid_comm(vm->pid, comm, sizeof(comm)));
	fprintf(f, ",\"uid\":%u,\"nr_vcpus\":%u,\"mem_bytes\":%llu,\"vcpus\":[",
		vm->uid, vm->nr_vcpus, (unsigned long long)vm->mem_bytes);
	for (i = 0; i < vm->nr_stats; i++) {
		const struct mnl_vcpu *v = &vm->vcpus[i];

		fprintf(f, "%s{\"id\":%u,\"entries\":%llu,\"exits\":%llu,",
			i ? "," : "", v->id, (unsigned long long)v->entries,
			(unsigned long long)v->exits);
		fprintf(f, "\"guest_ns\":%llu,", (unsigned long long)v->guest_ns);
		if (v->has_io) {
			fprintf(f, "\"user_exits\":%llu,\"posted_writes\":%llu,",
				(unsigned long long)v->user_exits,
				(unsigned long long)v->posted_writes);
			fprintf(f, "\"posted_full\":%llu,\"ioeventfd_signals\":%llu,",
				(unsigned long long)v->posted_full,
				(unsigned long long)v->ioeventfd_signals);
		}
		if (v->has_lint)
			fprintf(f, "\"lint_dropped\":%llu,",
				(unsigned long long)v->lint_dropped);
		fprintf(f, "\"exit_reasons\":{");
		first = true;
		for (r = 0; r < MNL_NR_REASONS; r++) {
			if (!v->reasons[r])
				continue;
			fprintf(f, "%s\"%s\":%llu", first ? "" : ",",
				reason_name(r, name, sizeof(name)),
				(unsigned long long)v->reasons[r]);
			first = false;
		}
		fprintf(f, "}}");
	}
	fprintf(f, "]}");
}

/* The statistics of every VM asked for; returns how many. */
static int collect(struct mnl *nl, int64_t only, struct mnl_vm **out)
{
	struct mnl_vm *list = NULL, *vms;
	int i, n, got = 0, ret;

	if (only >= 0) {
		vms = calloc(1, sizeof(*vms));
		if (!vms)
			die("out of memory");
		ret = mnl_get_stats(nl, only, vms);
		if (ret)
			die("stat: %s", mnl_strerror());
		*out = vms;
		return 1;
	}
	n = mnl_list_vms(nl, &list);
	if (n < 0)
		die("stat: %s", mnl_strerror());
	vms = calloc(n + 1, sizeof(*vms));
	if (!vms)
		die("out of memory");
	for (i = 0; i < n; i++) {
		ret = mnl_get_stats(nl, list[i].id, &vms[got]);
		/* Gone since the list was made: leave it out. */
		if (ret == -ENOENT)
			continue;
		if (ret)
			die("stat: %s", mnl_strerror());
		got++;
	}
	free(list);
	*out = vms;
	return got;
}

static void free_all(struct mnl_vm *vms, int n)
{
	int i;

	for (i = 0; i < n; i++)
		mnl_vm_free(&vms[i]);
	free(vms);
}

static const struct mnl_vm *find_vm(const struct mnl_vm *vms, int n,
				    uint32_t id)
{
	int i;

	for (i = 0; vms && i < n; i++)
		if (vms[i].id == id)
			return &vms[i];
	return NULL;
}

static int stat_main(int argc, char **argv)
{
	struct mnl_vm *vms, *prev = NULL;
	bool watch = false, json = false, tty = isatty(STDOUT_FILENO);
	int64_t only = -1;
	int i, n, nprev = 0;
	const char *arg;
	struct mnl *nl;
	uint64_t id;
	int c;

	while ((c = cli_getopt(&cmd_stat, argc, argv, &arg)) != -1) {
		if (c == OPT_WATCH)
			watch = true;
		else if (c == OPT_JSON)
			json = true;
	}
	if (optind < argc) {
		if (parse_u64(argv[optind], 0, UINT32_MAX, &id))
			die_usage(&cmd_stat, "bad VM id '%s'", argv[optind]);
		only = id;
		if (optind + 1 < argc)
			die_usage(&cmd_stat, "unexpected argument '%s'",
				  argv[optind + 1]);
	}
	if (mnl_open(&nl))
		die("%s", mnl_strerror());

	for (;;) {
		n = collect(nl, only, &vms);
		if (json) {
			if (only < 0)
				putchar('[');
			for (i = 0; i < n; i++) {
				if (i)
					putchar(',');
				stat_print_json(stdout, &vms[i]);
			}
			printf(only < 0 ? "]\n" : "\n");
		} else {
			if (watch && tty)
				printf("\033[H\033[2J");
			if (watch)
				printf("%s every 1 s; Ctrl-C to stop\n\n",
				       prog);
			if (!n)
				printf("no VMs\n");
			for (i = 0; i < n; i++)
				stat_print_vm(stdout, &vms[i],
					      find_vm(prev, nprev, vms[i].id));
			if (watch && !tty)
				printf("\n");
		}
		fflush(stdout);
		free_all(prev, nprev);
		prev = vms;
		nprev = n;
		if (!watch)
			break;
		sleep(1);
	}
	free_all(prev, nprev);
	mnl_close(nl);
	return 0;
}

const struct command cmd_stat = {
	.name = "stat",
	.synopsis = "[OPTIONS] [VM]",
	.summary = "show the statistics of one VM or of all",
	.description =
	"Show VM entries, exits, time in guest mode, the exits that reached\n"
	"userspace, the guest writes that did not (posted writes, signalled\n"
	"ioeventfds) and exits by VMX exit reason of every vCPU of VM (an id\n"
	"from 'minivmm list'), or of every VM the caller can see: its own, or\n"
	"all of them for CAP_SYS_ADMIN.",
	.options = stat_options,
	.run = stat_main,
};

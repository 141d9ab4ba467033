// SPDX-License-Identifier: GPL-2.0
/*
 * minivmm list: the VMs that exist now, with their owners, from the
 * generic netlink family.
 */
#include <stdlib.h>

#include "minivmm.h"
#include "nl.h"

enum { OPT_JSON = 256 };

static const struct cli_option list_options[] = {
	{ "json", NULL, OPT_JSON, "print a JSON array" },
	{ }
};

static int list_main(int argc, char **argv)
{
	char comm[32], mem[32];
	struct mnl_vm *vms;
	const char *arg;
	struct mnl *nl;
	bool json = false;
	int c, i, n;

	while ((c = cli_getopt(&cmd_list, argc, argv, &arg)) != -1)
		if (c == OPT_JSON)
			json = true;
	if (optind < argc)
		die_usage(&cmd_list, "unexpected argument '%s'", argv[optind]);
	if (mnl_open(&nl))
		die("%s", mnl_strerror());
	n = mnl_list_vms(nl, &vms);
	if (n < 0)
		die("list: %s", mnl_strerror());

	if (json) {
		putchar('[');
		for (i = 0; i < n; i++) {
			printf("%s{\"id\":%u,\"pid\":%u,\"comm\":", i ? "," : "",
			       vms[i].id, vms[i].pid);
			json_string(stdout, pid_comm(vms[i].pid, comm,
						     sizeof(comm)));
			printf(",\"uid\":%u,\"nr_vcpus\":%u,\"mem_bytes\":%llu}",
			       vms[i].uid, vms[i].nr_vcpus,
			       (unsigned long long)vms[i].mem_bytes);
		}
		printf("]\n");
	} else {
		printf("%6s %8s %-16s %6s %5s %10s\n", "VM", "PID", "COMMAND",
		       "UID", "VCPUS", "MEMORY");
		for (i = 0; i < n; i++)
			printf("%6u %8u %-16s %6u %5u %10s\n", vms[i].id,
			       vms[i].pid,
			       pid_comm(vms[i].pid, comm, sizeof(comm)),
			       vms[i].uid, vms[i].nr_vcpus,
			       format_bytes(vms[i].mem_bytes, mem,
					    sizeof(mem)));
	}
	free(vms);
	mnl_close(nl);
	return 0;
}

const struct command cmd_list = {
	.name = "list",
	.synopsis = "[OPTIONS]",
	.summary = "list the VMs that exist now",
	.description =
	"List the VMs the caller can see (its own, or all of them for\n"
	"CAP_SYS_ADMIN): id, owner process and user, vCPUs and guest memory.",
	.options = list_options,
	.run = list_main,
};

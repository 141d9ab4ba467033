// SPDX-License-Identifier: GPL-2.0
/*
 * minivmm caps: what the module found on this machine, from the generic
 * netlink family (MINIVMM_CMD_GET_CAPS).
 */
#include <stdio.h>

#include <linux/minivmm.h>

#include "lib/libminivmm.h"
#include "minivmm.h"
#include "nl.h"

enum { OPT_JSON = 256 };

static const struct cli_option caps_options[] = {
	{ "json", NULL, OPT_JSON, "print a JSON object" },
	{ }
};

static const struct cap_name apic_assist_names[] = {
	{ MINIVMM_APIC_TPR_SHADOW, "tpr_shadow" },
	{ MINIVMM_APIC_VIRT_ACCESSES, "virt_apic_accesses" },
	{ MINIVMM_APIC_REGISTER_VIRT, "apic_register_virt" },
	{ MINIVMM_APIC_VIRT_INTR_DELIVERY, "virt_intr_delivery" },
	{ MINIVMM_APIC_POSTED_INTR, "posted_intr" },
	{ MINIVMM_APIC_VIRT_X2APIC, "virt_x2apic_mode" },
	{ 0, NULL },
};

/* The names of the MINIVMM_APIC_* bits in @set, as a JSON list or not. */
static void print_assists(unsigned int set, bool json)
{
	const struct cap_name *c;
	bool first = true;

	for (c = apic_assist_names; c->name; c++) {
		if (!(set & c->bit))
			continue;
		if (json)
			printf("%s\"%s\"", first ? "" : ",", c->name);
		else
			printf(" %s", c->name);
		first = false;
	}
	if (!json && first)
		printf(" none");
}

static unsigned int vmx_cpu_list(const struct minivmm_caps *caps,
				 char *buf, size_t len)
{
	unsigned int cpu, n = 0;
	size_t used = 0;

	buf[0] = 0;
	for (cpu = 0; cpu < MINIVMM_MAX_CPUS; cpu++) {
		if (!(caps->vmx_cpus[cpu / 64] & (1ULL << (cpu % 64))))
			continue;
		if (used < len)
			used += snprintf(buf + used, len - used, "%s%u",
					 n ? "," : "", cpu);
		n++;
	}
	return n;
}

static void print_json(const struct minivmm_caps *caps, int api)
{
	const struct cap_name *c;
	char cpus[1024];
	bool first = true;

	vmx_cpu_list(caps, cpus, sizeof(cpus));
	printf("{\"api_version\":%d,\"vmcs_revision\":%u,\"vmcs_size\":%u,\"features\":[",
	       api, caps->vmcs_revision, caps->vmcs_size);
	for (c = cap_names; c->name; c++) {
		if (!(caps->features & c->bit))
			continue;
		printf("%s\"%s\"", first ? "" : ",", c->name);
		first = false;
	}
	printf("],\"preemption_timer_shift\":%u,\"tsc_khz\":%u,",
	       caps->preemption_timer_shift, caps->tsc_khz);
	printf("\"max_vcpus\":%u,\"max_mem_slots\":%u,", caps->max_vcpus,
	       caps->max_mem_slots);
	printf("\"nr_cpus_online\":%u,\"nr_cpus_vmx\":%u,", caps->nr_cpus_online,
	       caps->nr_cpus_vmx);
	printf("\"vmx_cpus\":[%s],\"nr_vms\":%u,", cpus, caps->nr_vms);
	printf("\"nr_vcpus\":%u,\"pinned_pages\":%llu,", caps->nr_vcpus,
	       (unsigned long long)caps->pinned_pages);
	printf("\"max_vms_per_user\":%u,\"max_vcpus_per_user\":%u,",
	       caps->max_vms_per_user, caps->max_vcpus_per_user);
	printf("\"apic_assists\":[");
	print_assists(caps->apic_assists, true);
	printf("],\"apic_assists_used\":[");
	print_assists(caps->apic_assists_used, true);
	printf("]}\n");
}

/* A per-user limit, 0 meaning none. */
static const char *limit_str(unsigned int limit, char *buf, size_t size)
{
	if (!limit)
		return "unlimited";
	snprintf(buf, size, "%u", limit);
	return buf;
}

static int caps_main(int argc, char **argv)
{
	struct minivmm_caps caps;
	const struct cap_name *c;
	const char *arg;
	struct mnl *nl;
	bool json = false;
	char cpus[1024], vms[16], vcpus[16];
	int ch, api;

	while ((ch = cli_getopt(&cmd_caps, argc, argv, &arg)) != -1)
		if (ch == OPT_JSON)
			json = true;
	if (optind < argc)
		die_usage(&cmd_caps, "unexpected argument '%s'", argv[optind]);
	if (mnl_open(&nl))
		die("%s", mnl_strerror());
	if (mnl_get_caps(nl, &caps))
		die("caps: %s", mnl_strerror());
	mnl_close(nl);
	/* The ioctl API's version, when the device can be opened. */
	api = mvm_api_version();

	if (json) {
		print_json(&caps, api);
		return caps.features & MINIVMM_CAP_EPT ? 0 : 1;
	}
	if (api >= 0)
		printf("api version:      %d\n", api);
	if (!(caps.features & MINIVMM_CAP_EPT)) {
		printf("vmx:              unusable (see dmesg)\n");
		return 1;
	}
	printf("vmcs revision:    %#x\n", caps.vmcs_revision);
	printf("vmcs size:        %u bytes\n", caps.vmcs_size);
	printf("features:        ");
	for (c = cap_names; c->name; c++)
		if (caps.features & c->bit)
			printf(" %s", c->name);
	printf("\n");
	printf("apic assists:    ");
	print_assists(caps.apic_assists, false);
	printf("\n");
	printf("assists in use:  ");
	print_assists(caps.apic_assists_used, false);
	printf("\n");
	if (caps.features & MINIVMM_CAP_PREEMPTION_TIMER)
		printf("preemption timer: 1 tick per %u TSC cycles\n",
		       1U << caps.preemption_timer_shift);
	printf("tsc:              %u kHz\n", caps.tsc_khz);
	printf("limits:           %u vCPUs, %u memory slots per VM\n",
	       caps.max_vcpus, caps.max_mem_slots);
	printf("cpus online:      %u\n", caps.nr_cpus_online);
	vmx_cpu_list(&caps, cpus, sizeof(cpus));
	printf("cpus in vmx:      %u%s%s%s\n", caps.nr_cpus_vmx,
	       caps.nr_cpus_vmx ? " (" : "", cpus,
	       caps.nr_cpus_vmx ? ")" : "");
	printf("vms:              %u\n", caps.nr_vms);
	printf("vcpus:            %u\n", caps.nr_vcpus);
	printf("pinned memory:    %llu pages\n",
	       (unsigned long long)caps.pinned_pages);
	printf("per user:         %s VMs, %s vCPUs\n",
	       limit_str(caps.max_vms_per_user, vms, sizeof(vms)),
	       limit_str(caps.max_vcpus_per_user, vcpus, sizeof(vcpus)));
	return 0;
}

const struct command cmd_caps = {
	.name = "caps",
	.synopsis = "[OPTIONS]",
	.summary = "show what the module found on this machine",
	.description =
	"Show the VMX capabilities the module found and uses, the APIC\n"
	"virtualization assists the CPU offers and those the module uses, its\n"
	"limits (per VM and per user), which CPUs are in VMX operation now, and\n"
	"how many VMs, vCPUs and pinned pages all users have now. Exit status 1\n"
	"when VMX is not usable on this machine.",
	.options = caps_options,
	.run = caps_main,
};

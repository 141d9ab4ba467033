// SPDX-License-Identifier: GPL-2.0
/*
 * minivmm caps: what the module found on this machine.
 */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/minivmm.h>

#include "minivmm.h"

static const struct {
	__u64 bit;
	const char *name;
} cap_names[] = {
	{ MINIVMM_CAP_EPT, "ept" },
	{ MINIVMM_CAP_EPT_2M, "ept_2m" },
	{ MINIVMM_CAP_EPT_1G, "ept_1g" },
	{ MINIVMM_CAP_EPT_AD, "ept_ad" },
	{ MINIVMM_CAP_INVEPT_CONTEXT, "invept_context" },
	{ MINIVMM_CAP_VPID, "vpid" },
	{ MINIVMM_CAP_INVVPID_CONTEXT, "invvpid_context" },
	{ MINIVMM_CAP_UNRESTRICTED_GUEST, "unrestricted_guest" },
	{ MINIVMM_CAP_PREEMPTION_TIMER, "preemption_timer" },
	{ MINIVMM_CAP_MSR_BITMAP, "msr_bitmap" },
	{ MINIVMM_CAP_IO_BITMAP, "io_bitmap" },
	{ MINIVMM_CAP_VIRTUAL_NMI, "virtual_nmi" },
	{ MINIVMM_CAP_TRUE_CTLS, "true_ctls" },
};

void usage_caps(void)
{
	printf("usage: %s caps\n\n"
	       "Show the VMX capabilities the module found, and which CPUs\n"
	       "are in VMX operation now.\n", prog);
}

int cmd_caps(int argc, char **argv)
{
	struct minivmm_caps caps;
	unsigned int i;
	int fd, ver;

	if (argc > 1) {
		if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
			usage_caps();
			return 0;
		}
		die("caps: unexpected argument '%s'", argv[1]);
	}

	fd = open_dev();
	ver = ioctl(fd, MINIVMM_GET_API_VERSION, 0);
	if (ver < 0)
		die_perror("MINIVMM_GET_API_VERSION");
	if (ioctl(fd, MINIVMM_GET_CAPS, &caps))
		die_perror("MINIVMM_GET_CAPS");
	close(fd);

	printf("api version:      %d\n", ver);
	if (!(caps.features & MINIVMM_CAP_EPT)) {
		printf("vmx:              unusable (see dmesg)\n");
		return 1;
	}
	printf("vmcs revision:    %#x\n", caps.vmcs_revision);
	printf("vmcs size:        %u bytes\n", caps.vmcs_size);
	printf("features:        ");
	for (i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (caps.features & cap_names[i].bit)
			printf(" %s", cap_names[i].name);
	printf("\n");
	if (caps.features & MINIVMM_CAP_PREEMPTION_TIMER)
		printf("preemption timer: 1 tick per %u TSC cycles\n",
		       1U << caps.preemption_timer_shift);
	printf("tsc:              %u kHz\n", caps.tsc_khz);
	printf("limits:           %u vCPUs, %u memory slots per VM\n",
	       caps.max_vcpus, caps.max_mem_slots);
	printf("cpus online:      %u\n", caps.nr_cpus_online);
	printf("cpus in vmx:      %u\n", caps.nr_cpus_vmx);
	printf("vms:              %u\n", caps.nr_vms);
	return 0;
}

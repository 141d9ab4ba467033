// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/minivmm: the API version, the capabilities, and every bad input
 * the device ioctls can be given.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "minivmm_test.h"

FIXTURE(dev) {
	int fd;
};

FIXTURE_SETUP(dev)
{
	self->fd = minivmm_open();
}

FIXTURE_TEARDOWN(dev)
{
	if (self->fd >= 0)
		close(self->fd);
}

#define REQUIRE_DEV()							\
	do {								\
		if (self->fd < 0)					\
			SKIP(return, "no " MINIVMM_DEV ": %s",		\
			     strerror(errno));				\
	} while (0)

TEST_F(dev, api_version)
{
	REQUIRE_DEV();
	EXPECT_EQ(MINIVMM_API_VERSION,
		  ioctl(self->fd, MINIVMM_GET_API_VERSION, 0));
}

TEST_F(dev, api_version_rejects_argument)
{
	REQUIRE_DEV();
	EXPECT_EQ(-1, ioctl(self->fd, MINIVMM_GET_API_VERSION, 1));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(dev, unknown_ioctl_is_enotty)
{
	REQUIRE_DEV();
	EXPECT_EQ(-1, ioctl(self->fd, _IO(MINIVMM_IO, 0x7f), 0));
	EXPECT_EQ(ENOTTY, errno);
	/* KVM_GET_API_VERSION: another hypervisor's number. */
	EXPECT_EQ(-1, ioctl(self->fd, _IO(0xAE, 0x00), 0));
	EXPECT_EQ(ENOTTY, errno);
	/* A vCPU command sent to the device. */
	EXPECT_EQ(-1, ioctl(self->fd, MINIVMM_RUN, 0));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(dev, caps_bad_pointer_is_efault)
{
	void *ro;

	REQUIRE_DEV();
	EXPECT_EQ(-1, ioctl(self->fd, MINIVMM_GET_CAPS, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, MINIVMM_GET_CAPS, (void *)1));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, MINIVMM_GET_CAPS, (void *)-4096L));
	EXPECT_EQ(EFAULT, errno);

	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-1, ioctl(self->fd, MINIVMM_GET_CAPS, ro));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, 4096);
}

TEST_F(dev, caps_reserved_fields_are_zero)
{
	struct minivmm_caps caps;
	unsigned int i;

	REQUIRE_DEV();
	memset(&caps, 0xa5, sizeof(caps));
	ASSERT_EQ(0, ioctl(self->fd, MINIVMM_GET_CAPS, &caps));
	EXPECT_EQ(0, caps.pad);
	for (i = 0; i < sizeof(caps.reserved) / sizeof(caps.reserved[0]); i++)
		EXPECT_EQ(0, caps.reserved[i]);
}

TEST_F(dev, caps_match_cpuinfo)
{
	static const struct {
		__u64 cap;
		const char *flag;
	} map[] = {
		{ MINIVMM_CAP_EPT, "ept" },
		{ MINIVMM_CAP_UNRESTRICTED_GUEST, "unrestricted_guest" },
		{ MINIVMM_CAP_PREEMPTION_TIMER, "preemption_timer" },
		{ MINIVMM_CAP_EPT_AD, "ept_ad" },
		{ MINIVMM_CAP_EPT_1G, "ept_1gb" },
		{ MINIVMM_CAP_VIRTUAL_NMI, "vnmi" },
		{ MINIVMM_CAP_VPID, "vpid" },
	};
	struct minivmm_caps caps;
	unsigned int i;

	REQUIRE_DEV();
	ASSERT_EQ(0, ioctl(self->fd, MINIVMM_GET_CAPS, &caps));
	if (!cpuinfo_has_flag("vmx")) {
		EXPECT_EQ(0, caps.features & MINIVMM_CAP_EPT);
		SKIP(return, "no VMX in /proc/cpuinfo");
	}
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		TH_LOG("%s: cpuinfo %d, caps %d", map[i].flag,
		       cpuinfo_has_vmx_flag(map[i].flag),
		       !!(caps.features & map[i].cap));
		EXPECT_EQ(cpuinfo_has_vmx_flag(map[i].flag),
			  !!(caps.features & map[i].cap));
	}
	EXPECT_NE(0, caps.vmcs_revision);
	EXPECT_GT(caps.vmcs_size, 0);
	EXPECT_LE(caps.vmcs_size, 4096);
	EXPECT_EQ(sysconf(_SC_NPROCESSORS_ONLN), caps.nr_cpus_online);
	EXPECT_GT(caps.tsc_khz, 0);
	EXPECT_GT(caps.max_vcpus, 0);
	EXPECT_GT(caps.max_mem_slots, 0);
}

static const struct {
	__u32 bit;
	const char *name;
	const char *flag;	/* its "vmx flags" name; NULL: none shown */
} apic_assists[] = {
	{ MINIVMM_APIC_TPR_SHADOW, "tpr_shadow", "vtpr" },
	{ MINIVMM_APIC_VIRT_ACCESSES, "virt_apic_accesses", "vapic" },
	{ MINIVMM_APIC_REGISTER_VIRT, "apic_register_virt", "vapic_reg" },
	{ MINIVMM_APIC_VIRT_INTR_DELIVERY, "virt_intr_delivery", "vid" },
	{ MINIVMM_APIC_POSTED_INTR, "posted_intr", "posted_intr" },
	{ MINIVMM_APIC_VIRT_X2APIC, "virt_x2apic_mode", NULL },
};

#define NR_APIC_ASSISTS	(sizeof(apic_assists) / sizeof(apic_assists[0]))

/* The names of the assists in @set, or " none". */
static const char *assist_names(__u32 set, char *buf)
{
	unsigned int i;

	strcpy(buf, "");
	for (i = 0; i < NR_APIC_ASSISTS; i++)
		if (set & apic_assists[i].bit) {
			strcat(buf, " ");
			strcat(buf, apic_assists[i].name);
		}
	return *buf ? buf : " none";
}

TEST_F(dev, apic_assists_used_are_offered)
{
	struct minivmm_caps caps;
	char names[256];
	__u32 known = 0;
	unsigned int i;

	REQUIRE_DEV();
	ASSERT_EQ(0, ioctl(self->fd, MINIVMM_GET_CAPS, &caps));
	if (!(caps.features & MINIVMM_CAP_EPT)) {
		EXPECT_EQ(0, caps.apic_assists);
		EXPECT_EQ(0, caps.apic_assists_used);
		SKIP(return, "VMX unusable");
	}
	/* Not buffered (stderr): the log shows what this machine has. */
	TH_LOG("APIC assists offered:%s",
	       assist_names(caps.apic_assists, names));
	TH_LOG("APIC assists used:%s",
	       assist_names(caps.apic_assists_used, names));
	for (i = 0; i < NR_APIC_ASSISTS; i++)
		known |= apic_assists[i].bit;
	EXPECT_EQ(0, caps.apic_assists & ~known);
	EXPECT_EQ(0, caps.apic_assists_used & ~caps.apic_assists);
	/* The one assist minivmm wants is used wherever there is one. */
	EXPECT_EQ(caps.apic_assists & MINIVMM_APIC_TPR_SHADOW,
		  caps.apic_assists_used & MINIVMM_APIC_TPR_SHADOW);
}

/* The kernel's "vmx flags" come from the same capability MSRs. */
TEST_F(dev, apic_assists_match_cpuinfo)
{
	struct minivmm_caps caps;
	unsigned int i;

	REQUIRE_DEV();
	ASSERT_EQ(0, ioctl(self->fd, MINIVMM_GET_CAPS, &caps));
	if (!cpuinfo_has_flag("vmx") || !(caps.features & MINIVMM_CAP_EPT))
		SKIP(return, "VMX unusable");
	for (i = 0; i < NR_APIC_ASSISTS; i++) {
		if (!apic_assists[i].flag)
			continue;
		TH_LOG("%s: cpuinfo %d, caps %d", apic_assists[i].flag,
		       cpuinfo_has_vmx_flag(apic_assists[i].flag),
		       !!(caps.apic_assists & apic_assists[i].bit));
		EXPECT_EQ(cpuinfo_has_vmx_flag(apic_assists[i].flag),
			  !!(caps.apic_assists & apic_assists[i].bit));
	}
}

TEST_F(dev, create_vm_rejects_flags)
{
	REQUIRE_DEV();
	EXPECT_EQ(-1, ioctl(self->fd, MINIVMM_CREATE_VM, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, MINIVMM_CREATE_VM, ~0UL));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(dev, create_vm_without_vmx_is_eopnotsupp)
{
	struct minivmm_caps caps;

	REQUIRE_DEV();
	ASSERT_EQ(0, ioctl(self->fd, MINIVMM_GET_CAPS, &caps));
	if (caps.features & MINIVMM_CAP_EPT)
		SKIP(return, "VMX is usable here");
	EXPECT_EQ(-1, ioctl(self->fd, MINIVMM_CREATE_VM, 0));
	EXPECT_EQ(EOPNOTSUPP, errno);
}

TEST_F(dev, vm_fd_unknown_ioctl_is_enotty)
{
	int vm;

	REQUIRE_DEV();
	REQUIRE_VMX();
	vm = ioctl(self->fd, MINIVMM_CREATE_VM, 0);
	ASSERT_LE(0, vm);
	EXPECT_EQ(-1, ioctl(vm, _IO(MINIVMM_IO, 0x7f), 0));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(vm, MINIVMM_GET_CAPS, NULL));
	EXPECT_EQ(ENOTTY, errno);
	close(vm);
}

TEST_HARNESS_MAIN

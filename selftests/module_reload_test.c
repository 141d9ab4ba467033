// SPDX-License-Identifier: GPL-2.0
/*
 * Loading and unloading the module: repeatedly, and refused while a VM
 * or the device is held open.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "minivmm_test.h"

static int unload(void)
{
	return syscall(__NR_delete_module, "minivmm", O_NONBLOCK);
}

static int load(void)
{
	return system("modprobe minivmm") ? -1 : 0;
}

static bool loaded(void)
{
	return access("/sys/module/minivmm", F_OK) == 0;
}

/* Where modules_install (and the test machine) put the module. */
static bool installed(void)
{
	static const char * const dirs[] = { "extra", "updates" };
	struct utsname u;
	char path[256];
	unsigned int i;

	if (uname(&u))
		return false;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "/lib/modules/%s/%s/minivmm.ko",
			 u.release, dirs[i]);
		if (!access(path, R_OK))
			return true;
	}
	return false;
}

#define REQUIRE_RELOADABLE()						\
	do {								\
		if (geteuid())						\
			SKIP(return, "needs root");			\
		if (!loaded())						\
			SKIP(return, "minivmm is not loaded");		\
		if (!installed())					\
			SKIP(return, "minivmm.ko is not installed");	\
	} while (0)

FIXTURE(reload) {};
FIXTURE_SETUP(reload) {}
FIXTURE_TEARDOWN(reload)
{
	/* Leave the module loaded for the tests that follow. */
	if (!geteuid() && !loaded())
		load();
}

TEST_F_TIMEOUT(reload, reload_10_times, 300)
{
	int i, fd;

	REQUIRE_RELOADABLE();
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, unload()) TH_LOG("unload %d: %s", i,
					      strerror(errno));
		ASSERT_FALSE(loaded());
		ASSERT_NE(0, access(MINIVMM_DEV, F_OK));
		ASSERT_EQ(0, load());
		fd = minivmm_open();
		ASSERT_LE(0, fd);
		EXPECT_EQ(MINIVMM_API_VERSION,
			  ioctl(fd, MINIVMM_GET_API_VERSION, 0));
		close(fd);
	}
}

TEST_F(reload, unload_refused_while_vm_exists)
{
	int dev, vm;

	REQUIRE_RELOADABLE();
	REQUIRE_VMX();
	dev = minivmm_open();
	ASSERT_LE(0, dev);
	vm = ioctl(dev, MINIVMM_CREATE_VM, 0);
	ASSERT_LE(0, vm);
	close(dev);

	EXPECT_EQ(-1, unload());
	EXPECT_EQ(EWOULDBLOCK, errno);
	EXPECT_TRUE(loaded());

	close(vm);
	ASSERT_EQ(0, unload());
	ASSERT_EQ(0, load());
}

TEST_F(reload, unload_refused_while_device_open)
{
	int dev;

	REQUIRE_RELOADABLE();
	dev = minivmm_open();
	ASSERT_LE(0, dev);
	EXPECT_EQ(-1, unload());
	EXPECT_EQ(EWOULDBLOCK, errno);
	close(dev);
}

TEST_HARNESS_MAIN

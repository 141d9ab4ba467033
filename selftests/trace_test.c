// SPDX-License-Identifier: GPL-2.0
/*
 * The minivmm:minivmm_exit tracepoint: a guest's port writes show up in
 * the trace as I/O-instruction exits (VMX basic exit reason 30) of its
 * VM and vCPU, one per write, with the port in the qualification and the
 * guest RIP of the instruction.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "minivmm_test.h"

#define EXIT_IO_INSTRUCTION	30
#define NR_WRITES		100
#define PORT			0x80

/*
 * Real mode: NR_WRITES writes to port 0x80 (the value counts down), then
 * finish.
 */
GUEST_CODE(guest_port_writes, ".code16",
	   "mov $100, %cx\n\t"
	   "1: mov %cl, %al\n\t"
	   "out %al, $0x80\n\t"
	   "loop 1b\n\t"
	   GUEST_DONE_ASM
	   "hlt\n\t");

static const char * const tracefs_dirs[] = {
	"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
};

/* Where tracefs is, mounting it if needed; NULL when it cannot be. */
static const char *find_tracefs(void)
{
	char path[128];
	unsigned int i;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/trace", tracefs_dirs[i]);
		if (!access(path, F_OK))
			return tracefs_dirs[i];
	}
	if (!mount("nodev", tracefs_dirs[0], "tracefs", 0, NULL))
		return tracefs_dirs[0];
	return NULL;
}

static int write_file(const char *dir, const char *file, const char *s)
{
	char path[256];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		ret = -errno;
	close(fd);
	return ret;
}

FIXTURE(trace) {
	const char *dir;
	bool enabled;
};

FIXTURE_SETUP(trace)
{
	self->dir = NULL;
	self->enabled = false;
}

FIXTURE_TEARDOWN(trace)
{
	if (!self->enabled)
		return;
	write_file(self->dir, "events/minivmm/minivmm_exit/enable", "0");
	write_file(self->dir, "trace", "");
}

TEST_F(trace, exit_events_count_port_writes)
{
	unsigned int vm_id, vm, vcpu_id, reason, ours = 0, io = 0;
	unsigned long qual, rip;
	struct test_vcpu *vcpu;
	struct minivmm_run *run;
	char path[256], line[512];
	struct test_vm *tvm;
	struct ucall uc;
	FILE *f;
	int i;

	REQUIRE_VMX();
	self->dir = find_tracefs();
	if (!self->dir)
		SKIP(return, "no tracefs");
	snprintf(path, sizeof(path), "%s/events/minivmm/minivmm_exit",
		 self->dir);
	ASSERT_EQ(0, access(path, F_OK))
		TH_LOG("%s: %s", path, strerror(errno));

	tvm = test_vm_create(GUEST_MEM_SIZE);
	vcpu = test_vcpu_add(tvm, 0);
	test_vm_load(tvm, REAL_CODE, guest_port_writes,
		     GUEST_CODE_SIZE(guest_port_writes));
	test_vcpu_thread(vcpu, &vm_id);

	ASSERT_EQ(0, write_file(self->dir, "trace", ""));
	ASSERT_EQ(0, write_file(self->dir,
				"events/minivmm/minivmm_exit/enable", "1"));
	self->enabled = true;
	ASSERT_EQ(0, write_file(self->dir, "tracing_on", "1"));

	for (i = NR_WRITES; i > 0; i--) {
		run = test_run_expect(vcpu, MINIVMM_EXIT_IO);
		ASSERT_EQ(PORT, run->io.port);
		ASSERT_EQ(i, run->io.data);
	}
	ASSERT_EQ(UCALL_DONE, test_run_ucall(vcpu, &uc));
	ASSERT_EQ(0, write_file(self->dir,
				"events/minivmm/minivmm_exit/enable", "0"));

	snprintf(path, sizeof(path), "%s/trace", self->dir);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "minivmm_exit: ");

		if (!p || sscanf(p, "minivmm_exit: vm %u vcpu %u reason %u qual %lx rip %lx",
				 &vm, &vcpu_id, &reason, &qual, &rip) != 5)
			continue;
		if (vm != vm_id || vcpu_id != 0)
			continue;
		ours++;
		if (reason != EXIT_IO_INSTRUCTION)
			continue;
		/* Port writes, not the final ucall, from the guest's code. */
		if (qual >> 16 == PORT) {
			io++;
			EXPECT_LE(REAL_CODE, rip);
			EXPECT_GT(REAL_CODE + GUEST_CODE_SIZE(guest_port_writes),
				  rip);
		}
	}
	fclose(f);
	TH_LOG("VM %u: %u exit events, %u port 0x%x writes", vm_id, ours, io,
	       PORT);
	EXPECT_EQ(NR_WRITES, io);
	EXPECT_LE(NR_WRITES + 1, ours);
	test_vcpu_destroy(vcpu);
	test_vm_destroy(tvm);
}

TEST_HARNESS_MAIN

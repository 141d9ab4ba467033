// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmarks cannot rot: each bench program runs once with --quick
 * and must finish every row under minivmm and write its JSON table. The
 * numbers go to the log and are compared with nothing: a benchmark is
 * never a timed assertion.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "minivmm_test.h"

#define JSON	"/tmp/bench_test.json"
/* boot_bench's default guest, which scripts/testvm puts in the image. */
#define GUEST_VMLINUX	"/usr/share/minivmm/vmlinux"
#define GUEST_INITRD	"/usr/share/minivmm/guest-initrd.cpio"

/*
 * The rows of a bench program and what minivmm's column must start
 * with: each must be in its table.
 */
struct bench_row {
	const char *row, *first;
};

/* bench/exit_bench.c */
static const struct bench_row exit_rows[] = {
	{ "pio", "median" }, { "mmio", "median" }, { "pio-page", "median" },
	{ "mmio-page", "median" }, { "cpuid", "median" },
	{ "hlt", "median" }, { "hlt-page", "median" }, { "timer", "median" }, { "ipi", "median" },
	{ "irqfd", "median" }, { "lifecycle", "median" },
	{ "compute", "median" }, { "scale", "vms" },
};

/* bench/io_bench.c */
static const struct bench_row io_rows[] = {
	{ "ioeventfd-pio", "median" }, { "ioeventfd-mmio", "median" },
	{ "posted-pio", "median" }, { "posted-mmio", "median" },
};

/* bench/snapshot_bench.c: minivmm alone, no KVM column. */
static const struct bench_row snapshot_rows[] = {
	{ "snapshot", "median" }, { "restore", "median" },
	{ "downtime", "median" },
};

/* @name in this program's directory, where the suite installs the benches. */
static void beside_me(const char *name, char *out)
{
	char *slash;
	ssize_t n = readlink("/proc/self/exe", out, PATH_MAX - 64);

	out[n > 0 ? n : 0] = 0;
	slash = strrchr(out, '/');
	strcpy(slash ? slash + 1 : out, name);
}

static char *slurp(const char *path)
{
	static char buf[16384];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return buf;
}

FIXTURE(bench) {
	bool kvm;
};

/* KVM's rows need kvm_intel; without it they say "unavailable". */
FIXTURE_SETUP(bench)
{
	self->kvm = !access("/dev/kvm", F_OK) ||
		    system("modprobe kvm_intel 2>/dev/null") == 0;
	unlink(JSON);
}

FIXTURE_TEARDOWN(bench)
{
	unlink(JSON);
}

/*
 * Run bench program @name --quick: it must end with status 0 and write
 * each of its @n @rows to its JSON table with minivmm's numbers.
 */
static void run_bench(struct __test_metadata *_metadata, const char *name,
		      const struct bench_row *rows, unsigned int n)
{
	char path[PATH_MAX], cmd[PATH_MAX + 64], line[256], key[96];
	unsigned int i;
	char *json;
	FILE *p;
	int st;

	beside_me(name, path);
	ASSERT_EQ(0, access(path, X_OK)) TH_LOG("%s: not installed", path);
	snprintf(cmd, sizeof(cmd), "%s --quick --json " JSON " 2>&1", path);
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	/* stderr: the harness's test process ends without flushing stdout. */
	while (fgets(line, sizeof(line), p))
		fprintf(stderr, "# %s: %s", name, line);
	st = pclose(p);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st));
	json = slurp(JSON);
	ASSERT_NE(NULL, json);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "{\"row\": \"%s\", \"minivmm\": {\"%s\"",
			 rows[i].row, rows[i].first);
		EXPECT_NE(NULL, strstr(json, key))
			TH_LOG("no minivmm %s row in %s", rows[i].row, json);
	}
}

/* A few seconds on the 1-CPU machine; the debug kernel takes longer. */
TEST_F_TIMEOUT(bench, exit_bench_runs_every_row, 300)
{
	run_bench(_metadata, "exit_bench", exit_rows, ARRAY_SIZE(exit_rows));
	if (!self->kvm)
		TH_LOG("kvm_intel not loadable: no KVM rows to compare");
}

TEST_F_TIMEOUT(bench, io_bench_runs_every_row, 300)
{
	run_bench(_metadata, "io_bench", io_rows, ARRAY_SIZE(io_rows));
	if (!self->kvm)
		TH_LOG("kvm_intel not loadable: no KVM rows to compare");
}

/* The tool with the fill guest in 8 MiB: a snapshot, a restore, a migration. */
TEST_F_TIMEOUT(bench, snapshot_bench_runs_every_row, 300)
{
	run_bench(_metadata, "snapshot_bench", snapshot_rows,
		  ARRAY_SIZE(snapshot_rows));
}

/*
 * One Linux boot under minivmm (and under QEMU+KVM where the machine has
 * QEMU, which only 'make bench' carries in): the row must hold numbers.
 * About a minute of the 1-CPU machine's time.
 */
TEST_F_TIMEOUT(bench, boot_bench_boots_linux, 400)
{
	char path[PATH_MAX], cmd[PATH_MAX + 64], line[512];
	unsigned long long init = 0, done = 0, end = 0, exits = 0;
	bool row = false;
	FILE *p;
	int st;

	if (access(GUEST_VMLINUX, R_OK) || access(GUEST_INITRD, R_OK))
		SKIP(return, "no guest vmlinux or initramfs (%s, %s)",
		     GUEST_VMLINUX, GUEST_INITRD);
	beside_me("boot_bench", path);
	ASSERT_EQ(0, access(path, X_OK)) TH_LOG("%s: not installed", path);
	snprintf(cmd, sizeof(cmd), "%s -n 1 2>&1", path);
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	while (fgets(line, sizeof(line), p)) {
		fprintf(stderr, "# boot_bench: %s", line);
		if (sscanf(line, "minivmm %llu %llu %llu %llu", &init, &done,
			   &end, &exits) == 4)
			row = true;
	}
	st = pclose(p);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st));
	ASSERT_TRUE(row) TH_LOG("no minivmm row with numbers");
	/* The boot's stages in order, and a boot exits. */
	EXPECT_LT(0, init);
	EXPECT_LT(init, done);
	EXPECT_LE(done, end);
	EXPECT_LT(0, exits);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmarks cannot rot: each bench program runs once with --quick
 * and must finish every row under minivmm and write its JSON table. The
 * numbers go to the log and are compared with nothing: a benchmark is
 * never a timed assertion.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "minivmm_test.h"

#define JSON	"/tmp/exit_bench.json"

/* The rows of bench/exit_bench.c: each must be in the table. */
static const char *const exit_rows[] = {
	"pio", "cpuid", "hlt", "timer", "ipi", "irqfd",
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

/* A few seconds on the 1-CPU machine; the debug kernel takes longer. */
TEST_F_TIMEOUT(bench, exit_bench_runs_every_row, 300)
{
	char path[PATH_MAX], cmd[PATH_MAX + 64], line[256], key[64];
	unsigned int i;
	char *json;
	FILE *p;
	int st;

	beside_me("exit_bench", path);
	ASSERT_EQ(0, access(path, X_OK)) TH_LOG("%s: not installed", path);
	snprintf(cmd, sizeof(cmd), "%s --quick --json " JSON " 2>&1", path);
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	/* stderr: the harness's test process ends without flushing stdout. */
	while (fgets(line, sizeof(line), p))
		fprintf(stderr, "# exit_bench: %s", line);
	st = pclose(p);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st));
	json = slurp(JSON);
	ASSERT_NE(NULL, json);
	for (i = 0; i < ARRAY_SIZE(exit_rows); i++) {
		snprintf(key, sizeof(key), "{\"row\": \"%s\", \"minivmm\": {\"median\"",
			 exit_rows[i]);
		EXPECT_NE(NULL, strstr(json, key))
			TH_LOG("no minivmm %s row in %s", exit_rows[i], json);
	}
	if (!self->kvm)
		TH_LOG("kvm_intel not loadable: no KVM rows to compare");
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * snapshot_bench: what a snapshot, a restore and a live migration of a
 * 64 MiB guest cost under minivmm, through the minivmm tool.
 *
 * The guest is fill.elf (userspace/guests/fill.c): it writes all of its
 * RAM above 2 MiB, then goes on rewriting 32 pages and printing a line
 * every 10 million TSC cycles. Rows:
 *   snapshot   'minivmm run --snapshot FILE --snapshot-stop', SIGUSR1
 *              once the guest has filled its RAM: TSC cycles from the
 *              signal to the tool's "snapshot written" line
 *   restore    'minivmm restore FILE': cycles from starting the tool to
 *              the guest's first line (the file is checked whole, then
 *              read into a new VM)
 *   downtime   'minivmm run --migrate-to' to 'minivmm run
 *              --incoming' over a Unix socket, SIGUSR1 once the guest
 *              has filled its RAM: the downtime the source prints (from
 *              the stop of its vCPUs to the destination's
 *              acknowledgment), in cycles at the host's TSC rate
 * Each row notes the bytes written or sent. In the emulated machine the
 * TSC counts emulated instructions. KVM has no counterpart of these
 * rows in its API alone (a VMM such as QEMU or Firecracker makes
 * snapshots of its own): only minivmm's numbers are printed.
 *
 * The tool is $MINIVMM, else minivmm in PATH; the guest is $FILL_GUEST,
 * else fill.elf next to this program, else in the source tree.
 * --quick runs each row once with an 8 MiB guest (bench_test uses it so
 * that the bench cannot rot; its numbers mean nothing); --json FILE
 * writes the table as JSON too (report.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <linux/minivmm.h>

#include "child.h"
#include "report.h"

/* A row's errors that are no errno. */
#define ERR_TOOL	1000	/* the tool ended or said something unexpected */
#define ERR_SLOW	1001	/* no answer within WAIT_S */
#define WAIT_S		900
#define ST_MOVED	(128 + SIGUSR1)
#define FILLED		"fill: round "

static const char *tool = "minivmm";
static char guest[PATH_MAX], mem[16] = "64M";
static char dir[64], file[96], sock[112];
static unsigned int tsc_khz;

/* Read until @needle is on stdout (@on_err: stderr); 0 or -ERR_*. */
static int pump(struct child *c, const char *needle, bool on_err)
{
	if (child_wait_for(c, on_err, needle, WAIT_S * 1000))
		return 0;
	return (on_err ? c->err : c->out) < 0 ? -ERR_TOOL : -ERR_SLOW;
}

/* Stop it with @sig (0: it ends by itself); its exit status. */
static int finish(struct child *c, int sig)
{
	if (!c->pid)
		return -1;
	if (sig)
		kill(c->pid, sig);
	return child_finish(c, WAIT_S * 1000);
}

static struct child a, b;

#define ARGS(...)	((const char *const []){ __VA_ARGS__, NULL })

static void fail_log(const char *row, const struct child *c)
{
	fprintf(stderr, "%s: the tool said: %s\n", row, c->ebuf);
}

/*
 * One snapshot and its restore: cycles of each in @snap and @restore,
 * the file's size in *@bytes; 0 or -errno / -ERR_*.
 */
static int snapshot_and_restore(double *snap, double *restore,
				uint64_t *bytes)
{
	uint64_t t0;
	struct stat st;
	int ret;

	*snap = -1;
	*restore = -1;
	ret = child_start(&a, tool, false,
			  ARGS("run", "--mem", mem, "--snapshot", file,
			       "--snapshot-stop", guest));
	if (ret)
		return ret;
	ret = pump(&a, FILLED, false);
	if (ret)
		goto fail_a;
	t0 = __rdtsc();
	kill(a.pid, SIGUSR1);
	ret = pump(&a, "snapshot written", true);
	if (ret)
		goto fail_a;
	*snap = (__rdtsc() - t0) / 1e6;
	if (finish(&a, 0) != ST_MOVED || stat(file, &st))
		return -ERR_TOOL;
	*bytes = st.st_size;

	t0 = __rdtsc();
	ret = child_start(&b, tool, false, ARGS("restore", file));
	if (ret)
		return ret;
	ret = pump(&b, FILLED, false);
	if (ret) {
		fail_log("restore", &b);
		finish(&b, SIGKILL);
		return ret;
	}
	*restore = (__rdtsc() - t0) / 1e6;
	finish(&b, SIGINT);
	unlink(file);
	return 0;
fail_a:
	fail_log("snapshot", &a);
	finish(&a, SIGKILL);
	return ret;
}

/* One migration: its downtime in cycles; rounds and bytes sent. */
static double migrate(unsigned int *rounds, uint64_t *bytes)
{
	unsigned long long us, sent;
	const char *line;
	struct stat st;
	int ret, i;

	ret = child_start(&b, tool, false,
			  ARGS("run", "--incoming", sock));
	if (ret)
		return ret;
	for (i = 0; i < 1000 && stat(sock + 5, &st); i++)
		usleep(10000);
	ret = child_start(&a, tool, false,
			  ARGS("run", "--mem", mem, "--migrate-to", sock,
			       guest));
	if (ret)
		goto out;
	ret = pump(&a, FILLED, false);
	if (!ret) {
		kill(a.pid, SIGUSR1);
		ret = pump(&a, "downtime", true);
	}
	if (!ret)
		ret = pump(&b, FILLED, false);
	if (finish(&a, ret ? SIGKILL : 0) != ST_MOVED && !ret)
		ret = -ERR_TOOL;
	line = strstr(a.ebuf, "migrated to ");
	if (!ret && (!line || sscanf(strchr(line, ':') + 1,
				     "%*[^:]: %u rounds, %llu bytes, downtime %llu us",
				     rounds, &sent, &us) != 3))
		ret = -ERR_TOOL;
	if (ret)
		fail_log("downtime", &a);
out:
	finish(&b, ret ? SIGKILL : SIGINT);
	unlink(sock + 5);
	if (ret)
		return ret;
	*bytes = sent;
	return us * tsc_khz / 1e9;
}

static const char *why(int err)
{
	if (err == ERR_TOOL)
		return "the tool failed (its stderr is above)";
	if (err == ERR_SLOW)
		return "no answer from the tool";
	return strerror(err);
}

static void find_guest(void)
{
	const char *env = getenv("FILL_GUEST");
	char exe[PATH_MAX / 2], *slash;
	ssize_t n;

	if (env && *env) {
		snprintf(guest, sizeof(guest), "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(guest, sizeof(guest), "%s/fill.elf", exe);
	if (access(guest, R_OK))
		snprintf(guest, sizeof(guest),
			 "%s/../userspace/guests/fill.elf", exe);
}

static int host_tsc_khz(void)
{
	struct minivmm_caps caps;
	int fd = open("/dev/minivmm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, MINIVMM_GET_CAPS, &caps)) {
		close(fd);
		return -errno;
	}
	close(fd);
	tsc_khz = caps.tsc_khz;
	return 0;
}

static void note(struct report_hv *hv, const char *what, uint64_t bytes)
{
	snprintf(hv->note, sizeof(hv->note), "  %s guest, %s %.1f MiB", mem,
		 what, bytes / 1048576.0);
}

int main(int argc, char **argv)
{
	struct report rep = { .width = 9, .why = why };
	struct report_hv snap = { .name = "minivmm" }, res = snap, down = snap;
	const char *env = getenv("MINIVMM");
	uint64_t bytes = 0, sent = 0;
	unsigned int k, rounds = 0;
	int ret = report_options(&rep, argc, argv);

	if (ret)
		return ret;
	if (env && *env)
		tool = env;
	if (rep.quick)
		snprintf(mem, sizeof(mem), "8M");
	find_guest();
	ret = host_tsc_khz();
	if (ret) {
		fprintf(stderr, "/dev/minivmm: %s\n", strerror(-ret));
		return 1;
	}
	snprintf(dir, sizeof(dir), "/tmp/snapshot_bench.XXXXXX");
	if (!mkdtemp(dir)) {
		perror(dir);
		return 1;
	}
	snprintf(file, sizeof(file), "%s/vm.snap", dir);
	snprintf(sock, sizeof(sock), "unix:%s/sock", dir);
	printf("snapshot_bench: %s guest (fill.elf), Mcycles of the TSC at %u kHz;",
	       mem, tsc_khz);
	printf(" minivmm only (KVM's API has no snapshots)\n");
	fflush(stdout);
	report_start(&rep, "\"guest_mem\": \"%s\", \"tsc_khz\": %u, \"runs\": %u",
		     mem, tsc_khz, rep.repeats);
	if (report_wants(&rep, "snapshot") || report_wants(&rep, "restore")) {
		for (k = 0; k < rep.repeats; k++) {
			ret = snapshot_and_restore(&snap.c[k], &res.c[k],
						   &bytes);
			if (ret) {
				snap.c[k] = ret;
				res.c[k] = ret;
			}
		}
		note(&snap, "file", bytes);
		note(&res, "file", bytes);
		if (report_wants(&rep, "snapshot"))
			report_row(&rep, "snapshot", &snap, 1, "Mcycles");
		if (report_wants(&rep, "restore"))
			report_row(&rep, "restore", &res, 1, "Mcycles");
	}
	if (report_wants(&rep, "downtime")) {
		for (k = 0; k < rep.repeats; k++)
			down.c[k] = migrate(&rounds, &sent);
		snprintf(down.note, sizeof(down.note),
			 "  %s guest, %u rounds, %.1f MiB sent", mem, rounds,
			 sent / 1048576.0);
		report_row(&rep, "downtime", &down, 1, "Mcycles");
	}
	unlink(file);
	rmdir(dir);
	return report_end(&rep);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * boot_bench: a whole Linux boot under minivmm, next to QEMU with KVM,
 * in the same boot of the same machine.
 *
 * Each hypervisor boots the same kernel and initramfs (by default what
 * scripts/testvm puts in the image for linux_boot_test: the machine's
 * own kernel as a vmlinux and the busybox initramfs whose /init is
 * scripts/guest-init.sh) with the same memory, vCPUs and command line.
 * The host reads the TSC when it starts the hypervisor, when the guest's
 * /init prints its first line, when it prints its end marker, and when
 * the hypervisor has exited after the guest's poweroff. In the emulated
 * machine the TSC counts emulated instructions: these are repeatable
 * path lengths, boot against boot.
 *
 * QEMU runs as a microvm (no firmware but qboot, the kernel entered
 * through its PVH note) and as a pc (SeaBIOS, then the same PVH entry).
 *
 * Exits: minivmm's by VMX exit reason, from 'minivmm run --stats'; KVM's
 * by its own counters in debugfs (/sys/kernel/debug/kvm), which sum the
 * VMs alive: read once the guest printed its end marker, just before it
 * powers off.
 *
 *   boot_bench [-n RUNS] [KERNEL INITRD]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

extern char **environ;

#define KERNEL		"/usr/share/minivmm/vmlinux"
#define INITRD		"/usr/share/minivmm/guest-initrd.cpio"
#define QEMU		"qemu-system-x86_64"
#define MEM		"96M"
#define VCPUS		"1"
/* linux_boot_test's boot to /init, the same for every hypervisor. */
#define CMDLINE		"console=ttyS0 quiet cryptomgr.notests rodata=off " \
			"mitigations=off pci=off panic=-1"
/* The first line of the guest's /init, and its last before poweroff. */
#define AT_INIT		"guest: uname -r: "
#define AT_DONE		"guest: minivmm-guest-init-done"
#define TIMEOUT_S	300
#define OUT_MAX		(1 << 20)
#define MAX_RUNS	9
#define KVM_DEBUGFS	"/sys/kernel/debug/kvm/"

/* KVM's counters worth a line: its exits by kind, and the sum. */
static const char *const kvm_counters[] = {
	"exits", "io_exits", "mmio_exits", "halt_exits", "irq_exits",
	"irq_window_exits", "nmi_window_exits", "request_irq_exits",
	"signal_exits", "insn_emulation", "hypercalls", NULL,
};

/**
 * struct hv - one hypervisor's command line
 * @name:	the row's name
 * @kvm:	whether it runs on KVM (whose counters are read)
 * @argv:	the command, KERNEL and INITRD filled in by main()
 */
struct hv {
	const char *name;
	bool kvm;
	const char *argv[40];
};

/**
 * struct boot - what one boot measured
 * @init:	TSC cycles from the start to the guest's first /init line
 * @done:	to its end marker
 * @end:	to the hypervisor's exit
 * @exits:	the exits counted (minivmm: all vCPUs, the whole run; KVM:
 *		at the end marker); 0 if unknown
 * @status:	the hypervisor's exit status, 128+N for signal N
 * @ok:		the guest reached its end marker
 */
struct boot {
	uint64_t init, done, end, exits;
	int status;
	bool ok;
};

static char out[OUT_MAX], err[1 << 16];
static char kvm_at_done[2048];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long read_counter(const char *name)
{
	char path[128], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), KVM_DEBUGFS "%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return atoll(buf);
}

/* KVM's counters now, as lines into kvm_at_done; returns its "exits". */
static uint64_t snapshot_kvm(void)
{
	size_t len = 0;
	long long v;
	int i;

	kvm_at_done[0] = 0;
	for (i = 0; kvm_counters[i]; i++) {
		v = read_counter(kvm_counters[i]);
		if (v <= 0)
			continue;
		len += snprintf(kvm_at_done + len, sizeof(kvm_at_done) - len,
				"    %-28s %12lld\n", kvm_counters[i], v);
		if (len >= sizeof(kvm_at_done))
			break;
	}
	v = read_counter("exits");
	return v > 0 ? v : 0;
}

/* The sum of "vCPU N: E entries, X exits" of minivmm's --stats. */
static uint64_t minivmm_exits(const char *stats)
{
	const char *p = stats;
	unsigned long long e, x;
	uint64_t sum = 0;
	unsigned int id;

	while ((p = strstr(p, "vCPU "))) {
		if (sscanf(p, "vCPU %u: %llu entries, %llu exits", &id, &e,
			   &x) == 3)
			sum += x;
		p += 5;
	}
	return sum;
}

/* Boot once under @hv; stdout in out[], stderr in err[]. */
static int boot(const struct hv *hv, struct boot *b)
{
	posix_spawn_file_actions_t fa;
	int pipefd[2], efd, st, ret;
	double deadline;
	uint64_t t0, t;
	size_t len = 0;
	struct pollfd pfd;
	ssize_t n;
	pid_t pid;

	memset(b, 0, sizeof(*b));
	out[0] = 0;
	kvm_at_done[0] = 0;
	efd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	if (efd < 0 || pipe2(pipefd, O_CLOEXEC))
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, efd, 2);
	t0 = __rdtsc();
	ret = posix_spawnp(&pid, hv->argv[0], &fa, NULL,
			   (char **)hv->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (ret) {
		close(pipefd[0]);
		close(efd);
		return -ret;
	}
	deadline = now_s() + TIMEOUT_S;
	pfd.fd = pipefd[0];
	pfd.events = POLLIN;
	for (;;) {
		ret = poll(&pfd, 1, 1000);
		if (ret < 0 && errno != EINTR)
			break;
		if (now_s() > deadline) {
			kill(pid, SIGKILL);
			break;
		}
		if (ret <= 0)
			continue;
		n = read(pipefd[0], out + len, sizeof(out) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		t = __rdtsc();
		len += n;
		out[len] = 0;
		if (!b->init && strstr(out, AT_INIT))
			b->init = t - t0;
		if (!b->done && strstr(out, AT_DONE)) {
			b->done = t - t0;
			b->ok = true;
			if (hv->kvm)
				b->exits = snapshot_kvm();
		}
		/* Keep the start; what follows the end marker is not read. */
		if (len == sizeof(out) - 1)
			len = sizeof(out) / 2;
	}
	close(pipefd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	b->end = __rdtsc() - t0;
	b->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	n = pread(efd, err, sizeof(err) - 1, 0);
	err[n > 0 ? n : 0] = 0;
	close(efd);
	if (!hv->kvm)
		b->exits = minivmm_exits(err);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

/* The guest's own "guest: uptime: S" line, if it printed one. */
static void print_uptime(const char *name)
{
	const char *p = strstr(out, "guest: uptime: ");

	if (p)
		printf("# %s: %.*s s\n", name, (int)strcspn(p, "\r\n"), p);
}

static const char *arg_after(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "boot_bench: %s needs a value\n", argv[*i]);
		exit(2);
	}
	return argv[++*i];
}

int main(int argc, char **argv)
{
	struct hv hvs[] = {
		{ "minivmm", false, { "minivmm", "run", "--stats",
		  "--timeout", "300", "--mem", MEM, "--vcpus", VCPUS,
		  "--kernel", KERNEL, "--initrd", INITRD,
		  "--cmdline", CMDLINE, NULL } },
		{ "qemu-microvm", true, { QEMU, "-M", "microvm",
		  "-enable-kvm", "-cpu", "host", "-m", MEM, "-smp", VCPUS,
		  "-nodefaults", "-no-user-config", "-display", "none",
		  "-serial", "stdio", "-no-reboot", "-kernel", KERNEL,
		  "-initrd", INITRD, "-append", CMDLINE, NULL } },
		{ "qemu-pc", true, { QEMU, "-M", "pc", "-enable-kvm",
		  "-cpu", "host", "-m", MEM, "-smp", VCPUS, "-nodefaults",
		  "-no-user-config", "-display", "none", "-serial", "stdio",
		  "-no-reboot", "-kernel", KERNEL, "-initrd", INITRD,
		  "-append", CMDLINE, NULL } },
	};
	const unsigned int nhv = sizeof(hvs) / sizeof(hvs[0]);
	uint64_t init[3][MAX_RUNS], done[3][MAX_RUNS], end[3][MAX_RUNS];
	uint64_t exits[3][MAX_RUNS], med[3];
	const char *kernel = KERNEL, *initrd = INITRD;
	unsigned int runs = 1, r, h, j, good[3] = { 0 };
	struct boot b;
	int i, pos = 0, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n")) {
			runs = atoi(arg_after(argc, argv, &i));
		} else if (pos == 0) {
			kernel = argv[i];
			pos++;
		} else if (pos == 1) {
			initrd = argv[i];
			pos++;
		} else {
			fprintf(stderr, "usage: boot_bench [-n RUNS] [KERNEL INITRD]\n");
			return 2;
		}
	}
	if (runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "boot_bench: 1 to %d runs\n", MAX_RUNS);
		return 2;
	}
	for (h = 0; h < nhv; h++)
		for (j = 0; hvs[h].argv[j]; j++) {
			if (!strcmp(hvs[h].argv[j], KERNEL))
				hvs[h].argv[j] = kernel;
			else if (!strcmp(hvs[h].argv[j], INITRD))
				hvs[h].argv[j] = initrd;
		}

	printf("# boot of %s with %s, %s, %s vCPU, %u run(s) each\n", kernel,
	       initrd, MEM, VCPUS, runs);
	printf("# command line: %s\n", CMDLINE);
	for (r = 0; r < runs; r++) {
		for (h = 0; h < nhv; h++) {
			ret = boot(&hvs[h], &b);
			if (ret) {
				printf("%-13s cannot start %s: %s\n",
				       hvs[h].name, hvs[h].argv[0],
				       strerror(-ret));
				continue;
			}
			if (!b.ok || b.status) {
				printf("%-13s failed: status %d, %s\n",
				       hvs[h].name, b.status, b.ok ?
				       "after the end marker" :
				       "no end marker");
				printf("# stdout:\n%.4000s\n# stderr:\n%.4000s\n",
				       out, err);
				continue;
			}
			init[h][good[h]] = b.init;
			done[h][good[h]] = b.done;
			end[h][good[h]] = b.end;
			exits[h][good[h]] = b.exits;
			good[h]++;
			print_uptime(hvs[h].name);
			if (r)
				continue;
			/* One run's exits by reason is enough to read. */
			if (hvs[h].kvm)
				printf("# %s: KVM's counters at the end marker\n%s",
				       hvs[h].name, kvm_at_done);
			else
				printf("# %s: --stats\n%s", hvs[h].name, err);
		}
	}

	printf("# TSC cycles from the start of the hypervisor (median of %u)\n",
	       runs);
	printf("%-13s %14s %14s %14s %10s\n", "hypervisor", "to /init",
	       "to end marker", "to exit", "exits");
	for (h = 0; h < nhv; h++) {
		med[h] = 0;
		if (good[h] < runs) {
			printf("%-13s unavailable (%u of %u boots failed)\n",
			       hvs[h].name, runs - good[h], runs);
			continue;
		}
		med[h] = median(init[h], runs);
		printf("%-13s %14llu %14llu %14llu %10llu\n", hvs[h].name,
		       (unsigned long long)med[h],
		       (unsigned long long)median(done[h], runs),
		       (unsigned long long)median(end[h], runs),
		       (unsigned long long)median(exits[h], runs));
	}
	for (h = 1; h < nhv; h++)
		if (med[0] && med[h])
			printf("ratio to /init, minivmm / %s: %.2f\n",
			       hvs[h].name, (double)med[0] / med[h]);
	return 0;
}

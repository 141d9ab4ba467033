// SPDX-License-Identifier: GPL-2.0
/*
 * The minivmm selftest library: see include/minivmm_test.h.
 */
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "minivmm_test.h"

int minivmm_open(void)
{
	return open(MINIVMM_DEV, O_RDWR | O_CLOEXEC);
}

int minivmm_caps(struct minivmm_caps *caps)
{
	int fd = minivmm_open(), ret = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, MINIVMM_GET_CAPS, caps))
		ret = -errno;
	close(fd);
	return ret;
}

int become_user(uid_t uid)
{
	if (prctl(PR_SET_KEEPCAPS, 0) || setgroups(0, NULL) ||
	    setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
		return -1;
	return 0;
}

int run_as_user(uid_t uid, int (*fn)(void *arg), void *arg)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		/* Die with the test (a harness timeout kills only it). */
		if (become_user(uid) || prctl(PR_SET_PDEATHSIG, SIGKILL)) {
			perror("# switching users");
			_exit(255);
		}
		_exit(fn(arg));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) == 255)
		return -1;
	return WEXITSTATUS(status);
}

void kmsg_write(const char *text)
{
	int fd = open("/dev/kmsg", O_WRONLY);

	if (fd < 0)
		return;
	if (write(fd, text, strlen(text)) < 0)
		perror("# /dev/kmsg");
	close(fd);
}

bool kmsg_has_after(const char *marker, const char *needle)
{
	bool after = false, found = false;
	char rec[2048];
	ssize_t n;
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd < 0)
		return false;
	/* EPIPE: records were overwritten meanwhile; read on. */
	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || errno == EPIPE) {
		if (n <= 0)
			continue;
		rec[n] = 0;
		if (strstr(rec, marker))
			after = true;
		else if (after && strstr(rec, needle))
			found = true;
	}
	close(fd);
	return found;
}

int live_counts(struct live_counts *c)
{
	struct minivmm_caps caps;
	int ret = minivmm_caps(&caps);

	if (ret)
		return ret;
	c->vms = caps.nr_vms;
	c->vcpus = caps.nr_vcpus;
	c->pinned_pages = caps.pinned_pages;
	return 0;
}

bool live_counts_reach(const struct live_counts *want, struct live_counts *now,
		       unsigned int ms)
{
	const struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };
	unsigned int waited;

	for (waited = 0;; waited += 10) {
		if (!live_counts(now) && now->vms == want->vms &&
		    now->vcpus == want->vcpus &&
		    now->pinned_pages == want->pinned_pages)
			return true;
		if (waited >= ms)
			return false;
		nanosleep(&tick, NULL);
	}
}

unsigned int minivmm_vmx_cpus(uint64_t mask[MINIVMM_MAX_CPUS / 64])
{
	struct minivmm_caps caps;

	memset(mask, 0, MINIVMM_MAX_CPUS / 8);
	if (minivmm_caps(&caps))
		return 0;
	memcpy(mask, caps.vmx_cpus, sizeof(caps.vmx_cpus));
	return caps.nr_cpus_vmx;
}

unsigned int online_cpus(uint64_t mask[MINIVMM_MAX_CPUS / 64])
{
	FILE *f = fopen("/sys/devices/system/cpu/online", "r");
	unsigned int n = 0, lo, hi, cpu;
	char sep;

	memset(mask, 0, MINIVMM_MAX_CPUS / 8);
	if (!f)
		return 0;
	/* The format is a list of ranges: "0-3,5,7-8". */
	while (fscanf(f, "%u", &lo) == 1) {
		hi = lo;
		sep = fgetc(f);
		if (sep == '-') {
			if (fscanf(f, "%u", &hi) != 1)
				break;
			sep = fgetc(f);
		}
		for (cpu = lo; cpu <= hi && cpu < MINIVMM_MAX_CPUS; cpu++) {
			mask[cpu / 64] |= 1ULL << (cpu % 64);
			n++;
		}
		if (sep != ',')
			break;
	}
	fclose(f);
	return n;
}

int set_cpu_online(int cpu, bool online)
{
	char path[64];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online",
		 cpu);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, online ? "1" : "0", 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

static bool cpuinfo_line_has(const char *key, const char *flag)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	size_t klen = strlen(key);
	char line[4096], *p, *tok;
	bool found = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) || (line[klen] != ' ' &&
						 line[klen] != '\t'))
			continue;
		p = strchr(line, ':');
		if (!p)
			break;
		for (tok = strtok(p + 1, " \t\n"); tok;
		     tok = strtok(NULL, " \t\n"))
			if (!strcmp(tok, flag))
				found = true;
		break;	/* the first CPU speaks for all */
	}
	fclose(f);
	return found;
}

bool cpuinfo_has_vmx_flag(const char *flag)
{
	return cpuinfo_line_has("vmx flags", flag);
}

bool cpuinfo_has_flag(const char *flag)
{
	return cpuinfo_line_has("flags", flag);
}

uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static unsigned long resident_pages(void)
{
	unsigned long size, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident;
}

static void *slow_pin_thread(void *arg)
{
	struct slow_pin *p = arg;
	struct minivmm_memory_region r = {
		.slot = p->slot, .guest_phys_addr = p->gpa, .size = p->size,
		.userspace_addr = (uintptr_t)p->mem,
	};

	p->ret = ioctl(p->vm_fd, MINIVMM_SET_MEMORY_REGION, &r) ? -errno : 0;
	p->done_ns = monotonic_ns();
	return NULL;
}

bool slow_pin_start(struct slow_pin *p)
{
	unsigned long base = resident_pages();
	unsigned long want = base + p->size / 8 / getpagesize();

	p->done_ns = 0;
	p->mem = mmap(NULL, p->size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->mem == MAP_FAILED)
		abort();
	/* One fault per 4 KiB page, not per 2 MiB: pinning takes longer. */
	madvise(p->mem, p->size, MADV_NOHUGEPAGE);
	if (pthread_create(&p->thread, NULL, slow_pin_thread, p))
		abort();
	while (!p->done_ns && resident_pages() < want)
		usleep(200);
	return !p->done_ns;
}

int slow_pin_join(struct slow_pin *p)
{
	pthread_join(p->thread, NULL);
	munmap(p->mem, p->size);
	return p->ret;
}

/* How many tasks in /proc are named "minivmm/..." (vCPU threads). */
int count_vcpu_threads(void)
{
	char path[300], comm[32];
	struct dirent *d;
	int n = 0;
	DIR *dir;
	FILE *f;

	dir = opendir("/proc");
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) &&
		    !strncmp(comm, "minivmm/", 8))
			n++;
		fclose(f);
	}
	closedir(dir);
	return n;
}

unsigned int stress_rounds(unsigned int rounds)
{
	const char *env = getenv("MINIVMM_STRESS_DIVISOR");
	unsigned long div = env ? strtoul(env, NULL, 10) : 1;
	unsigned int n;

	if (div <= 1)
		return rounds;
	n = rounds / div ? rounds / div : 1;
	printf("# %u rounds instead of %u (MINIVMM_STRESS_DIVISOR=%lu)\n",
	       n, rounds, div);
	fflush(stdout);
	return n;
}

int timeout_scale(void)
{
	const char *env = getenv("MINIVMM_TIMEOUT_SCALE");
	int scale = env ? atoi(env) : 1;

	return scale > 1 ? scale : 1;
}

bool host_tsc_gap(int64_t *lo, int64_t *hi)
{
	cpu_set_t set, old;
	uint64_t t[3];
	int i;

	if (sched_getaffinity(0, sizeof(old), &old))
		return false;
	for (i = 0; i < 3; i++) {
		CPU_ZERO(&set);
		CPU_SET(i == 1, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			return false;
		t[i] = __rdtsc();
	}
	sched_setaffinity(0, sizeof(old), &old);
	*lo = (int64_t)(t[1] - t[2]);
	*hi = (int64_t)(t[1] - t[0]);
	return true;
}

void handoff_enable(struct minivmm_run *run)
{
	__atomic_store_n(&run->handoff,
			 MINIVMM_HANDOFF(MINIVMM_HANDOFF_PARKED, 0),
			 __ATOMIC_RELEASE);
}

int handoff_next(int vcpu_fd, struct minivmm_run *run, unsigned long spins,
		 bool yield, bool *by_page)
{
	/* The exit held now is the last one published, seq. */
	uint32_t w = __atomic_load_n(&run->handoff, __ATOMIC_ACQUIRE);
	uint32_t seq = MINIVMM_HANDOFF_SEQ(w);
	uint32_t user = MINIVMM_HANDOFF(MINIVMM_HANDOFF_USER, seq);
	uint32_t kern = MINIVMM_HANDOFF(MINIVMM_HANDOFF_KERNEL, seq);

	if (by_page)
		*by_page = false;
	/* The answer, written before, goes out with the release. */
	if (__atomic_compare_exchange_n(&run->handoff, &user, kern, false,
					__ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
		while (spins--) {
			w = __atomic_load_n(&run->handoff, __ATOMIC_ACQUIRE);
			if (w != kern) {
				/* USER(seq + 1) or PARKED(seq + 1). */
				if (MINIVMM_HANDOFF_SEQ(w) != seq + 1)
					break;
				if (by_page)
					*by_page = true;
				return 0;
			}
			if (yield)
				sched_yield();
			else
				__builtin_ia32_pause();
		}
	} else if (MINIVMM_HANDOFF_STATE(w) != MINIVMM_HANDOFF_OFF) {
		/* The thread parked: the answer goes with RUN. */
		__atomic_store_n(&run->handoff, kern, __ATOMIC_RELEASE);
	}
	/* Completes the answer, or waits for the run that took it. */
	return ioctl(vcpu_fd, MINIVMM_RUN, 0) ? -errno : 0;
}

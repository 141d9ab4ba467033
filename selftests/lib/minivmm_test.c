// SPDX-License-Identifier: GPL-2.0
/*
 * The minivmm selftest library: see include/minivmm_test.h.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

// SPDX-License-Identifier: GPL-2.0
/*
 * A tracefs instance of its own, so that other users of the global trace
 * buffer are not disturbed and several 'minivmm run --trace' can run at
 * once: instances/minivmm-run-PID, with only minivmm_exit_fault enabled
 * and filtered on the VM, read through its non-blocking trace_pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ktrace.h"

#define EVENT	"minivmm_exit_fault"

static char inst[PATH_MAX];
static int pipe_fd = -1;
static char pending[4096];
static size_t pending_len;

static int write_file(const char *name, const char *val)
{
	char path[PATH_MAX + 64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", inst, name);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

static const char *tracefs_root(void)
{
	static const char *const roots[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
	};
	char path[PATH_MAX];
	unsigned int i;

	for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		snprintf(path, sizeof(path), "%s/instances", roots[i]);
		if (!access(path, F_OK))
			return roots[i];
	}
	return NULL;
}

int ktrace_start(int vm_id)
{
	const char *root = tracefs_root();
	char path[PATH_MAX + 16], filter[32];
	int ret;

	if (!root)
		return -ENOENT;
	snprintf(inst, sizeof(inst), "%s/instances/minivmm-run-%d", root,
		 (int)getpid());
	if (mkdir(inst, 0700) && errno != EEXIST) {
		ret = -errno;
		inst[0] = 0;
		return ret;
	}
	atexit(ktrace_stop);
	if (vm_id >= 0) {
		snprintf(filter, sizeof(filter), "vm == %d", vm_id);
		ret = write_file("events/minivmm/" EVENT "/filter", filter);
		if (ret)
			goto fail;
	}
	ret = write_file("events/minivmm/" EVENT "/enable", "1");
	if (ret)
		goto fail;
	snprintf(path, sizeof(path), "%s/trace_pipe", inst);
	pipe_fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (pipe_fd < 0) {
		ret = -errno;
		goto fail;
	}
	return 0;
fail:
	ktrace_stop();
	return ret;
}

/* "  task-1 [000] d.... 1.5: minivmm_exit_fault: vm 1 ..." -> "vm 1 ..." */
static void print_line(FILE *out, char *line)
{
	char *p = strstr(line, EVENT ": ");

	if (p)
		fprintf(out, "trace: %s\n", p + strlen(EVENT ": "));
}

void ktrace_drain(FILE *out)
{
	char *nl, *line;
	ssize_t n;

	if (pipe_fd < 0)
		return;
	for (;;) {
		n = read(pipe_fd, pending + pending_len,
			 sizeof(pending) - 1 - pending_len);
		if (n <= 0)
			break;
		pending_len += n;
		pending[pending_len] = 0;
		line = pending;
		while ((nl = strchr(line, '\n'))) {
			*nl = 0;
			print_line(out, line);
			line = nl + 1;
		}
		pending_len -= line - pending;
		memmove(pending, line, pending_len);
		/* A line longer than the buffer: drop it. */
		if (pending_len == sizeof(pending) - 1)
			pending_len = 0;
	}
}

void ktrace_stop(void)
{
	if (pipe_fd >= 0) {
		close(pipe_fd);
		pipe_fd = -1;
	}
	if (inst[0]) {
		write_file("events/minivmm/" EVENT "/enable", "0");
		rmdir(inst);
		inst[0] = 0;
	}
}

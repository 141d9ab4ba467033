// SPDX-License-Identifier: GPL-2.0
/*
 * minivmm: drive the minivmm hypervisor module.
 *
 *   minivmm COMMAND [ARGS]   run `minivmm help` for the commands
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "minivmm.h"

const char *prog = "minivmm";

static const struct command commands[] = {
	{ "run", "boot an image in a new VM", cmd_run, usage_run },
	{ "caps", "show the VMX capabilities the module found",
	  cmd_caps, usage_caps },
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void die_perror(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(err));
	exit(1);
}

int open_dev(void)
{
	int fd = open("/dev/minivmm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			die("/dev/minivmm does not exist: is the module loaded? (modprobe)");
		die_perror("cannot open /dev/minivmm");
	}
	return fd;
}

static void print_usage(FILE *out)
{
	unsigned int i;

	fprintf(out, "usage: %s COMMAND [ARGS]\n\ncommands:\n", prog);
	for (i = 0; i < NR_COMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(out, "\n'%s help COMMAND' or '%s COMMAND --help' for more.\n",
		prog, prog);
}

static const struct command *find(const char *name)
{
	unsigned int i;

	for (i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2) {
		print_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		cmd = argc > 2 ? find(argv[2]) : NULL;
		if (cmd) {
			cmd->usage();
			return 0;
		}
		print_usage(stdout);
		return 0;
	}
	cmd = find(argv[1]);
	if (!cmd) {
		fprintf(stderr, "%s: unknown command '%s'\n", prog, argv[1]);
		print_usage(stderr);
		return 2;
	}
	return cmd->run(argc - 1, argv + 1);
}

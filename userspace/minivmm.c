// SPDX-License-Identifier: GPL-2.0
/*
 * minivmm: drive the minivmm hypervisor module.
 *
 *   minivmm COMMAND [ARGS]   'minivmm help' lists the commands
 *
 * This file dispatches to the commands and holds what they share:
 * option parsing and help from one table per command (so that --help,
 * and the man page that a selftest checks against it, always list every
 * option the code accepts), errors, number parsing and JSON strings.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <asm/vmx.h>
#include <linux/minivmm.h>

#include "minivmm.h"

const char *prog = "minivmm";
int die_status = 1;

static const struct command *const commands[] = {
	&cmd_run, &cmd_restore, &cmd_snapshot_info, &cmd_list, &cmd_stat,
	&cmd_events, &cmd_caps,
};

static void vmsg(const char *fmt, va_list ap, int err)
{
	fflush(stdout);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap, 0);
	va_end(ap);
	exit(die_status);
}

void die_perror(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap, err);
	va_end(ap);
	exit(die_status);
}

void warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap, 0);
	va_end(ap);
}

void die_usage(const struct command *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s %s: ", prog, cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see '%s %s --help')\n", prog, cmd->name);
	exit(die_status == 1 ? 2 : die_status);
}

/* The option after @o (NULL: the first) of @cmd, or NULL at the end. */
static const struct cli_option *
next_option(const struct command *cmd, const struct cli_option *o)
{
	const struct cli_option *end = cmd->options;

	if (!o)
		o = cmd->options;
	else
		o++;
	while (end && end->name)
		end++;
	/* The end of @options: on to @more_options. */
	if (o == end)
		o = cmd->more_options;
	return o && o->name ? o : NULL;
}

void print_usage(const struct command *cmd)
{
	const struct cli_option *o;
	int width = strlen("--help");
	char buf[64];

	printf("usage: %s %s %s\n\n%s\n\n", prog, cmd->name, cmd->synopsis,
	       cmd->description);
	for (o = next_option(cmd, NULL); o; o = next_option(cmd, o)) {
		int w = 2 + strlen(o->name) + (o->arg ? 1 + strlen(o->arg) : 0);

		if (w > width)
			width = w;
	}
	printf("options:\n");
	for (o = next_option(cmd, NULL); o; o = next_option(cmd, o)) {
		snprintf(buf, sizeof(buf), "--%s%s%s", o->name,
			 o->arg ? " " : "", o->arg ? o->arg : "");
		printf("  %-*s  %s\n", width, buf, o->help);
	}
	printf("  %-*s  %s\n", width, "--help", "show this help and exit");
}

int cli_getopt(const struct command *cmd, int argc, char **argv,
	       const char **arg)
{
	static struct option longopts[32];
	static const struct command *built;
	const struct cli_option *o;
	unsigned int n = 0;
	int c;

	if (built != cmd) {
		for (o = next_option(cmd, NULL);
		     o && n < ARRAY_LEN(longopts) - 2;
		     o = next_option(cmd, o), n++)
			longopts[n] = (struct option){
				o->name,
				o->arg ? required_argument : no_argument,
				NULL, o->key,
			};
		longopts[n++] = (struct option){ "help", no_argument, NULL,
						 'h' };
		longopts[n] = (struct option){ 0 };
		built = cmd;
		optind = 1;
	}
	opterr = 0;
	c = getopt_long(argc, argv, ":h", longopts, NULL);
	*arg = optarg;
	switch (c) {
	case 'h':
		print_usage(cmd);
		exit(0);
	case '?':
		if (optopt && optopt != '?')
			die_usage(cmd, "unknown option '-%c'", optopt);
		die_usage(cmd, "unknown option '%s'", argv[optind - 1]);
	case ':':
		die_usage(cmd, "option '%s' needs an argument",
			  argv[optind - 1]);
	}
	return c;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!*s || *s == '-' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!*s || *s == '-' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case 't': case 'T':
		shift = 40;
		break;
	}
	if (shift) {
		end++;
		/* 16M, 16MB and 16MiB are all 16 MiB. */
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
	}
	if (*end || (shift && v >> (64 - shift)))
		return -EINVAL;
	*out = v << shift;
	return 0;
}

const char *format_bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char * const units[] = { "KiB", "MiB", "GiB", "TiB" };
	unsigned int i;

	if (bytes < 1024) {
		snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
		return buf;
	}
	for (i = 0; i < ARRAY_LEN(units) - 1 && bytes >= 1024ULL << (10 * (i + 1));
	     i++)
		;
	if (bytes % (1ULL << (10 * (i + 1))))
		snprintf(buf, len, "%.1f %s",
			 (double)bytes / (1ULL << (10 * (i + 1))), units[i]);
	else
		snprintf(buf, len, "%llu %s",
			 (unsigned long long)bytes >> (10 * (i + 1)), units[i]);
	return buf;
}

void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

const char *pid_comm(uint32_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "re");
	if (!f || !fgets(buf, len, f)) {
		if (f)
			fclose(f);
		snprintf(buf, len, "?");
		return buf;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

/* The kernel's own names, from the uapi <asm/vmx.h>. */
static const struct {
	unsigned int reason;
	const char *name;
} vmx_reasons[] = { VMX_EXIT_REASONS };

const char *vmx_exit_reason_name(unsigned int reason)
{
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(vmx_reasons); i++)
		if (vmx_reasons[i].reason == reason)
			return vmx_reasons[i].name;
	return NULL;
}

const struct cap_name cap_names[] = {
	{ MINIVMM_CAP_EPT, "ept" },
	{ MINIVMM_CAP_EPT_2M, "ept_2m" },
	{ MINIVMM_CAP_EPT_1G, "ept_1g" },
	{ MINIVMM_CAP_EPT_AD, "ept_ad" },
	{ MINIVMM_CAP_INVEPT_CONTEXT, "invept_context" },
	{ MINIVMM_CAP_VPID, "vpid" },
	{ MINIVMM_CAP_INVVPID_CONTEXT, "invvpid_context" },
	{ MINIVMM_CAP_UNRESTRICTED_GUEST, "unrestricted_guest" },
	{ MINIVMM_CAP_PREEMPTION_TIMER, "preemption_timer" },
	{ MINIVMM_CAP_MSR_BITMAP, "msr_bitmap" },
	{ MINIVMM_CAP_IO_BITMAP, "io_bitmap" },
	{ MINIVMM_CAP_VIRTUAL_NMI, "virtual_nmi" },
	{ MINIVMM_CAP_TRUE_CTLS, "true_ctls" },
	{ MINIVMM_CAP_IOAPIC, "ioapic" },
	{ MINIVMM_CAP_IOEVENTFD, "ioeventfd" },
	{ MINIVMM_CAP_POSTED_IO, "posted_io" },
	{ MINIVMM_CAP_DIRTY_LOG, "dirty_log" },
	{ MINIVMM_CAP_IMMEDIATE_EXIT, "immediate_exit" },
	{ MINIVMM_CAP_RUN_HANDOFF, "run_handoff" },
	{ 0, NULL },
};

static void print_commands(FILE *out)
{
	unsigned int i;

	fprintf(out, "usage: %s COMMAND [ARGS]\n\ncommands:\n", prog);
	for (i = 0; i < ARRAY_LEN(commands); i++)
		fprintf(out, "  %-8s %s\n", commands[i]->name,
			commands[i]->summary);
	fprintf(out, "\n'%s help COMMAND' or '%s COMMAND --help' for more.\n",
		prog, prog);
}

static const struct command *find(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(commands); i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2) {
		print_commands(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		if (argc > 2) {
			cmd = find(argv[2]);
			if (!cmd) {
				fprintf(stderr, "%s: unknown command '%s' (see '%s help')\n",
					prog, argv[2], prog);
				return 2;
			}
			print_usage(cmd);
			return 0;
		}
		print_commands(stdout);
		return 0;
	}
	cmd = find(argv[1]);
	if (!cmd) {
		fprintf(stderr, "%s: unknown command '%s' (see '%s help')\n",
			prog, argv[1], prog);
		return 2;
	}
	return cmd->run(argc - 1, argv + 1);
}

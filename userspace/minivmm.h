/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The minivmm command line tool: one file per subcommand (cmd_*.c), the
 * emulated devices of 'minivmm run' (uart.c), the generic netlink client
 * (nl.c) and the helpers they share (minivmm.c).
 */
#ifndef MINIVMM_CLI_H
#define MINIVMM_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

/**
 * struct cli_option - a long option of a subcommand
 * @name:	without the leading "--"
 * @arg:	the argument's name in the help, or NULL for a flag
 * @key:	what cli_getopt() returns for it
 * @help:	one line for --help (and the man page)
 */
struct cli_option {
	const char *name;
	const char *arg;
	int key;
	const char *help;
};

/**
 * struct command - a subcommand
 * @name:	as typed
 * @synopsis:	its arguments after the name, for the usage line
 * @summary:	one line for 'minivmm help'
 * @description: the paragraph --help prints after the usage line
 * @options:	its options, ending with an all-zero entry (--help is
 *		added to every command)
 * @more_options: more of them after @options, in a table another command
 *		shares; or NULL
 * @run:	the command; argv[0] is its name; returns the exit status
 */
struct command {
	const char *name;
	const char *synopsis;
	const char *summary;
	const char *description;
	const struct cli_option *options;
	const struct cli_option *more_options;
	int (*run)(int argc, char **argv);
};

extern const struct command cmd_run, cmd_restore, cmd_snapshot_info,
	cmd_caps, cmd_list, cmd_stat, cmd_events;

extern const char *prog;

/* The exit status of die() and die_perror(): 1, or 125 under 'run'. */
extern int die_status;

void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...);
void __attribute__((noreturn, format(printf, 1, 2)))
die_perror(const char *fmt, ...);

/* A usage error of @cmd: one line on stderr, exit status 2 (125: run). */
void __attribute__((noreturn, format(printf, 2, 3)))
die_usage(const struct command *cmd, const char *fmt, ...);

/* A warning line on stderr. */
void __attribute__((format(printf, 1, 2))) warn(const char *fmt, ...);

/*
 * getopt_long() over @cmd's options: returns the next option's key (its
 * argument in *@arg), or -1 when there are no more (the other arguments
 * are then at argv[optind...]). --help prints the usage and exits 0; an unknown
 * option or a missing argument is a usage error.
 */
int cli_getopt(const struct command *cmd, int argc, char **argv,
	       const char **arg);

/* --help of @cmd, on stdout. */
void print_usage(const struct command *cmd);

/* Parse a size with an optional K, M, G or T suffix (powers of 1024). */
int parse_size(const char *s, uint64_t *out);

/* Parse an unsigned number (decimal or 0x hex) in [min, max]. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* "16 MiB", "640 KiB", "1.5 GiB", "12345 bytes". */
const char *format_bytes(uint64_t bytes, char *buf, size_t len);

/* Print @s as a JSON string (with the quotes). */
void json_string(FILE *f, const char *s);

/* The command name of process @pid, from /proc, or "?". */
const char *pid_comm(uint32_t pid, char *buf, size_t len);

/* The name of a VMX basic exit reason, or NULL for an unknown one. */
const char *vmx_exit_reason_name(unsigned int reason);

/* Names of the MINIVMM_CAP_* bits, in order, NULL-terminated. */
struct cap_name {
	uint64_t bit;
	const char *name;
};

extern const struct cap_name cap_names[];

#endif /* MINIVMM_CLI_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The minivmm command line tool: one file per subcommand.
 */
#ifndef MINIVMM_CLI_H
#define MINIVMM_CLI_H

#include <stdbool.h>

struct command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
	void (*usage)(void);
};

extern const char *prog;

int cmd_caps(int argc, char **argv);
void usage_caps(void);
int cmd_run(int argc, char **argv);
void usage_run(void);

void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...);
void __attribute__((noreturn, format(printf, 1, 2)))
die_perror(const char *fmt, ...);

/* Open /dev/minivmm or die with a line that says why. */
int open_dev(void);

#endif /* MINIVMM_CLI_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A child process (the minivmm tool) with pipes on its stdin, stdout and
 * stderr: start it, read what it prints with a time limit, wait for it.
 * Shared by the tests that run the tool and by bench/snapshot_bench.
 */
#ifndef MINIVMM_CHILD_H
#define MINIVMM_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* What is kept of each of its outputs; see child_pump(). */
#define CHILD_BUF_MAX	(256 << 10)

struct child {
	pid_t pid;		/* 0 when none runs */
	int in, out, err;	/* our ends of its pipes, -1 once closed */
	int status;		/* exit status, 128 + N for signal N */
	bool signaled;		/* killed by a signal */
	size_t olen, elen;
	size_t dropped;		/* bytes of stdout let go when it was full */
	char obuf[CHILD_BUF_MAX], ebuf[CHILD_BUF_MAX];
};

/*
 * Start @prog with @args (NULL-terminated, without argv[0]; at most 62)
 * in @c: its stdin a pipe (@c->in) when @pipe_in, else /dev/null;
 * stdout and stderr are pipes read into @c->obuf and @c->ebuf. 0, or a
 * negative errno.
 */
int child_start(struct child *c, const char *prog, bool pipe_in,
		const char *const *args);

/*
 * Read what the child prints within @ms milliseconds (negative: until
 * something comes). A full stdout keeps its last half (a child that
 * prints forever); a full stderr keeps its beginning. False once both
 * of its outputs have ended.
 */
bool child_pump(struct child *c, int ms);

/* Read until @needle is on stdout (@on_stderr: stderr): true if it is. */
bool child_wait_for(struct child *c, bool on_stderr, const char *needle,
		    int ms);

/* The same for a whole line of stdout from @needle on. */
bool child_wait_line(struct child *c, const char *needle, int ms);

/*
 * Close its stdin, read all it prints and reap it: its exit status,
 * or -1 when it had not ended within @ms and was killed (SIGKILL).
 */
int child_finish(struct child *c, int ms);

/*
 * Run @prog @args to its end with @input (NULL: none, stdin /dev/null)
 * on its stdin: child_finish()'s status, or -1 if it could not start.
 */
int child_run(struct child *c, const char *prog, const char *input,
	      const char *const *args, int ms);

/* Kill and reap the children still running (after a failed test). */
void child_kill_all(void);

#endif /* MINIVMM_CHILD_H */

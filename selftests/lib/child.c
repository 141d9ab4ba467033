// SPDX-License-Identifier: GPL-2.0
/*
 * A child process with pipes on its stdin, stdout and stderr: see
 * child.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* pipe2() */
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"

extern char **environ;

#define MAX_KIDS	8

/* The children running, for child_kill_all(). */
static pid_t kids[MAX_KIDS];

static void remember_kid(pid_t pid)
{
	int i;

	for (i = 0; i < MAX_KIDS; i++) {
		if (!kids[i]) {
			kids[i] = pid;
			return;
		}
	}
}

static void forget_kid(pid_t pid)
{
	int i;

	for (i = 0; i < MAX_KIDS; i++)
		if (kids[i] == pid)
			kids[i] = 0;
}

void child_kill_all(void)
{
	int i;

	for (i = 0; i < MAX_KIDS; i++) {
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
			kids[i] = 0;
		}
	}
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The milliseconds left until @end, never negative (no endless poll). */
static int left_ms(long end)
{
	long now = now_ms();

	return now < end ? end - now : 0;
}

int child_start(struct child *c, const char *prog, bool pipe_in,
		const char *const *args)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	const char *argv[64];
	int i, ret;

	memset(c, 0, offsetof(struct child, obuf));
	c->obuf[0] = 0;
	c->ebuf[0] = 0;
	c->in = -1;
	c->out = -1;
	c->err = -1;
	argv[0] = prog;
	for (i = 0; args[i] && i < 62; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;

	if ((pipe_in && pipe2(pin, O_CLOEXEC)) || pipe2(pout, O_CLOEXEC) ||
	    pipe2(perr, O_CLOEXEC)) {
		ret = errno;
		close_fd(&pin[0]);
		close_fd(&pin[1]);
		close_fd(&pout[0]);
		close_fd(&pout[1]);
		return -ret;
	}
	posix_spawn_file_actions_init(&fa);
	if (pipe_in)
		posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
						 O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
	ret = posix_spawnp(&c->pid, prog, &fa, NULL, (char **)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close_fd(&pin[0]);
	close(pout[1]);
	close(perr[1]);
	c->in = pin[1];
	c->out = pout[0];
	c->err = perr[0];
	if (ret) {
		close_fd(&c->in);
		close_fd(&c->out);
		close_fd(&c->err);
		c->pid = 0;
		return -ret;
	}
	remember_kid(c->pid);
	return 0;
}

/* More of @fd into @buf; @tail: a full buffer lets its first half go. */
static void take(struct child *c, int *fd, char *buf, size_t *len,
		 bool tail)
{
	ssize_t n;

	if (tail && *len == CHILD_BUF_MAX - 1) {
		memmove(buf, buf + *len / 2, *len - *len / 2);
		c->dropped += *len / 2;
		*len -= *len / 2;
	}
	if (*len == CHILD_BUF_MAX - 1) {
		/* Full: read on, keep nothing more. */
		char sink[4096];

		n = read(*fd, sink, sizeof(sink));
	} else {
		n = read(*fd, buf + *len, CHILD_BUF_MAX - 1 - *len);
		if (n > 0)
			*len += n;
	}
	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0)
		close_fd(fd);
	buf[*len] = 0;
}

bool child_pump(struct child *c, int ms)
{
	struct pollfd p[2] = {
		{ .fd = c->out, .events = POLLIN },
		{ .fd = c->err, .events = POLLIN },
	};

	if (c->out < 0 && c->err < 0)
		return false;
	if (poll(p, 2, ms) > 0) {
		if (p[0].revents)
			take(c, &c->out, c->obuf, &c->olen, true);
		if (p[1].revents)
			take(c, &c->err, c->ebuf, &c->elen, false);
	}
	return c->out >= 0 || c->err >= 0;
}

/* Whether @buf has @needle, with @line: and a newline after it. */
static bool has(const char *buf, const char *needle, bool line)
{
	const char *p = strstr(buf, needle);

	return p && (!line || strchr(p, '\n'));
}

static bool wait_for(struct child *c, bool on_stderr, const char *needle,
		     bool line, int ms)
{
	long end = now_ms() + ms;
	const char *buf = on_stderr ? c->ebuf : c->obuf;

	while (!has(buf, needle, line)) {
		if (!left_ms(end) || (on_stderr ? c->err : c->out) < 0)
			return false;
		child_pump(c, left_ms(end));
	}
	return true;
}

bool child_wait_for(struct child *c, bool on_stderr, const char *needle,
		    int ms)
{
	return wait_for(c, on_stderr, needle, false, ms);
}

bool child_wait_line(struct child *c, const char *needle, int ms)
{
	return wait_for(c, false, needle, true, ms);
}

int child_finish(struct child *c, int ms)
{
	long end = now_ms() + ms;
	bool killed = false;
	pid_t w;
	int st = 0;

	close_fd(&c->in);
	if (!c->pid) {
		close_fd(&c->out);
		close_fd(&c->err);
		return -1;
	}
	while ((c->out >= 0 || c->err >= 0) && left_ms(end))
		child_pump(c, left_ms(end));
	while ((w = waitpid(c->pid, &st, WNOHANG)) <= 0) {
		if (w < 0 && errno != EINTR) {
			killed = true;		/* not ours to wait for */
			break;
		}
		if (!left_ms(end)) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &st, 0);
			killed = true;
			break;
		}
		usleep(10000);
	}
	forget_kid(c->pid);
	c->pid = 0;
	close_fd(&c->out);
	close_fd(&c->err);
	if (killed) {
		c->signaled = true;
		c->status = -1;
		return -1;
	}
	c->signaled = WIFSIGNALED(st);
	c->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return c->status;
}

int child_run(struct child *c, const char *prog, const char *input,
	      const char *const *args, int ms)
{
	size_t len = input ? strlen(input) : 0;

	if (child_start(c, prog, !!input, args))
		return -1;
	if (input && write(c->in, input, len) != (ssize_t)len)
		close_fd(&c->in);
	return child_finish(c, ms);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Live migration over a Unix socket: the snapshot stream (snapshot.c),
 * with several rounds of memory sections, later ones winning.
 *
 * Round 0 sends every page that is not zero, with dirty logging already
 * on; each next round sends the pages the guest wrote meanwhile, while
 * it runs on. When a round finds at most MIGRATE_STOP_PAGES dirty pages,
 * or no fewer than the round before (the guest writes faster than the
 * copy goes: more rounds would not shorten the stop), or after
 * MIGRATE_MAX_ROUNDS rounds, the vCPUs stop: the last dirty
 * pages, the vCPUs, the I/O APIC and the devices go, and the source
 * waits for the destination's acknowledgment, which comes once the
 * destination has applied it all. The downtime is from the stop to the
 * acknowledgment. Should anything fail before the acknowledgment, the
 * guest goes on here, as if nothing had happened.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/libminivmm.h"
#include "migrate.h"
#include "minivmm.h"

#define MIGRATE_MAX_ROUNDS	16
#define MIGRATE_STOP_PAGES	32
#define MIGRATE_ACK		'K'
#define PAGE			4096ULL

int migrate_parse(const char *spec)
{
	struct sockaddr_un a;

	if (strncmp(spec, "unix:", 5) || !spec[5] ||
	    strlen(spec + 5) >= sizeof(a.sun_path))
		return -1;
	return 0;
}

static int unix_socket(const char *spec, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	strcpy(a->sun_path, spec + 5);
	return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

int migrate_accept(const char *spec)
{
	struct sockaddr_un a;
	int s = unix_socket(spec, &a), fd;

	if (s < 0)
		die_perror("socket");
	unlink(a.sun_path);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 1))
		die_perror("%s", spec);
	do
		fd = accept4(s, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		die_perror("%s: accept", spec);
	close(s);
	unlink(a.sun_path);
	return fd;
}

void migrate_ack(int fd)
{
	char c = MIGRATE_ACK;

	if (send(fd, &c, 1, MSG_NOSIGNAL) != 1)
		die_perror("acknowledging the migration");
	close(fd);
}

/* The slots of guest RAM (libminivmm's layout), logging or not. */
static int log_dirty(struct mvm *vm, bool on)
{
	uint64_t size = mvm_mem_size(vm);
	uint64_t low = size < MVM_LOW_RAM_MAX ? size : MVM_LOW_RAM_MAX;
	unsigned int flags = on ? MINIVMM_MEM_LOG_DIRTY : 0;

	if (mvm_add_memory(vm, 0, 0, mvm_gpa(vm, 0, low), low, flags))
		return -1;
	if (size > low &&
	    mvm_add_memory(vm, 1, MVM_HIGH_RAM_BASE,
			   mvm_gpa(vm, MVM_HIGH_RAM_BASE, size - low),
			   size - low, flags))
		return -1;
	return 0;
}

/* The pages written since the last call, as one bitmap; their count. */
static int64_t get_dirty(struct mvm *vm, uint64_t *bitmap, size_t words)
{
	uint64_t size = mvm_mem_size(vm);
	uint64_t low = size < MVM_LOW_RAM_MAX ? size : MVM_LOW_RAM_MAX;
	struct minivmm_dirty_log d = { .bitmap = (uintptr_t)bitmap };
	int64_t n = 0;
	size_t i;

	if (ioctl(mvm_fd(vm), MINIVMM_GET_DIRTY_LOG, &d))
		return -1;
	if (size > low) {
		d.slot = 1;
		d.bitmap = (uintptr_t)(bitmap + low / PAGE / 64);
		if (ioctl(mvm_fd(vm), MINIVMM_GET_DIRTY_LOG, &d))
			return -1;
	}
	for (i = 0; i < words; i++)
		n += __builtin_popcountll(bitmap[i]);
	return n;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void report(unsigned int round, uint64_t pages, uint64_t bytes)
{
	fflush(stdout);
	fprintf(stderr, "%s: migration round %u: %llu pages, %llu bytes sent\n",
		prog, round, (unsigned long long)pages,
		(unsigned long long)bytes);
}

/* Pre-copy while the guest runs: 0, or -1 with the reason. */
static int precopy(const struct migrate_source *src, struct snap_writer *w,
		   uint64_t *bitmap, size_t words, unsigned int *round,
		   const char **why)
{
	int64_t dirty, last = INT64_MAX;
	uint64_t pages;

	if (snap_write_begin(w, src->cfg))
		return -1;
	if (log_dirty(src->vm, true)) {
		*why = mvm_strerror(src->vm);
		return -1;
	}
	if (snap_write_memory(w, src->vm, NULL, &pages))
		return -1;
	report(0, pages, w->bytes);
	for (*round = 1; *round < MIGRATE_MAX_ROUNDS; (*round)++) {
		dirty = get_dirty(src->vm, bitmap, words);
		if (dirty < 0) {
			*why = strerror(errno);
			return -1;
		}
		if (snap_write_memory(w, src->vm, bitmap, &pages))
			return -1;
		report(*round, pages, w->bytes);
		if (dirty <= MIGRATE_STOP_PAGES || dirty >= last)
			break;
		last = dirty;
	}
	return 0;
}

bool migrate_send(const struct migrate_source *src, const char *spec)
{
	size_t words = (mvm_mem_size(src->vm) / PAGE + 63) / 64;
	uint64_t *bitmap = calloc(words, sizeof(*bitmap));
	struct snap_writer w = { .fd = -1 };
	struct sockaddr_un a;
	unsigned int round = 0;
	uint64_t pages, t0 = 0;
	bool paused = false, ok = false;
	const char *why = NULL;
	char ack = 0;

	w.fd = unix_socket(spec, &a);
	/* Nobody listening: ENOENT or ECONNREFUSED, said as such. */
	if (!bitmap || w.fd < 0 ||
	    connect(w.fd, (struct sockaddr *)&a, sizeof(a))) {
		why = strerror(errno);
		fflush(stdout);
		fprintf(stderr, "%s: migration to %s failed: %s; the guest goes on here\n",
			prog, spec, why);
		goto out;
	}
	if (precopy(src, &w, bitmap, words, &round, &why))
		goto fail;
	/* Stop and copy: what the last round missed, and the state. */
	src->pause(src->arg);
	paused = true;
	t0 = now_ns();
	round++;
	if (get_dirty(src->vm, bitmap, words) < 0) {
		why = strerror(errno);
		goto fail;
	}
	if (snap_write_memory(&w, src->vm, bitmap, &pages) ||
	    src->save_state(&w, src->arg))
		goto fail;
	report(round, pages, w.bytes);
	if (read(w.fd, &ack, 1) != 1 || ack != MIGRATE_ACK) {
		why = "the destination did not take it";
		goto fail;
	}
	fflush(stdout);
	fprintf(stderr, "%s: migrated to %s: %u rounds, %llu bytes, downtime %llu us\n",
		prog, spec, round + 1, (unsigned long long)w.bytes,
		(unsigned long long)(now_ns() - t0) / 1000);
	ok = true;
	goto out;
fail:
	fflush(stdout);
	fprintf(stderr, "%s: migration to %s failed: %s; the guest goes on here\n",
		prog, spec, why ? why : snap_strerror());
out:
	if (!ok)
		log_dirty(src->vm, false);
	if (paused && !ok)
		src->resume(src->arg);
	if (w.fd >= 0)
		close(w.fd);
	free(bitmap);
	return ok;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * minivmm run: boot an image in a new VM and drive it until it stops.
 *
 * The machine is a bare PC: RAM from 0, a 16550 UART at 0x3f8 on stdout,
 * the debug console port 0xe9, and QEMU's isa-debug-exit port 0xf4
 * (writing V ends the run with status (V << 1) | 1). Nothing else is
 * attached: other ports read all-ones and drop writes; guest physical
 * addresses without RAM read zero and drop writes.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/libminivmm.h"
#include "minivmm.h"

#define PORT_DEBUGCON	0xe9
#define PORT_EXIT	0xf4
#define HC_CONSOLE	0x100	/* RBX: guest address, RCX: length */

struct run_opts {
	size_t mem;
	uint64_t entry;
	unsigned int timeout;
	bool trace;
	const char *image;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

void usage_run(void)
{
	printf("usage: %s run [OPTIONS] IMAGE\n\n"
	       "Boot IMAGE (a flat binary, started in real mode) in a new VM.\n\n"
	       "  --mem SIZE      guest RAM, e.g. 16M or 1G (default 16M)\n"
	       "  --entry ADDR    load and start address (default 0x7c00)\n"
	       "  --timeout S     stop the guest after S seconds (status 124)\n"
	       "  --trace         print every exit that reaches userspace\n\n"
	       "Exit status: the guest's debug-exit value ((V << 1) | 1), 0 when it\n"
	       "halts, 1 on a guest crash, 124 on timeout, 130 on Ctrl-C.\n", prog);
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	switch (*end) {
	case 'G': case 'g':
		v <<= 10;
		/* fall through */
	case 'M': case 'm':
		v <<= 10;
		/* fall through */
	case 'K': case 'k':
		v <<= 10;
		end++;
	}
	if (end == s || *end || !v)
		return -1;
	*out = v;
	return 0;
}

static void print_regs(struct mvm_vcpu *vcpu)
{
	struct minivmm_regs r;
	struct minivmm_sregs s;

	if (mvm_get_regs(vcpu, &r) || mvm_get_sregs(vcpu, &s))
		return;
	fprintf(stderr,
		"  rip %016llx  rsp %016llx  rflags %08llx\n"
		"  rax %016llx  rbx %016llx  rcx %016llx  rdx %016llx\n"
		"  rsi %016llx  rdi %016llx  rbp %016llx\n"
		"  cs %04x (base %llx)  cr0 %llx  cr3 %llx  cr4 %llx  efer %llx\n",
		r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi,
		r.rdi, r.rbp, s.cs.selector, s.cs.base, s.cr0, s.cr3, s.cr4,
		s.efer);
}

/* Why the guest stopped, for a person reading the terminal. */
static void explain(struct mvm_vcpu *vcpu, struct minivmm_run *run)
{
	switch (run->exit_reason) {
	case MINIVMM_EXIT_SHUTDOWN:
		fprintf(stderr,
			"%s: guest triple-faulted (an exception it could not handle)\n",
			prog);
		break;
	case MINIVMM_EXIT_FAIL_ENTRY:
		if (run->fail_entry.hardware_reason)
			fprintf(stderr,
				"%s: the CPU refused the guest state (exit reason %#x, qual %#llx)\n",
				prog, run->fail_entry.hardware_reason,
				run->fail_entry.qualification);
		else
			fprintf(stderr,
				"%s: VM entry failed (VM-instruction error %u)\n",
				prog, run->fail_entry.instruction_error);
		break;
	case MINIVMM_EXIT_INTERNAL_ERROR:
		fprintf(stderr,
			"%s: the guest did what minivmm cannot emulate (suberror %u, %#llx %#llx)",
			prog, run->internal.suberror, run->internal.data[0],
			run->internal.data[1]);
		for (unsigned int i = 0; i < run->internal.ninsn; i++)
			fprintf(stderr, "%s%02x", i ? " " : "; bytes ",
				run->internal.insn[i]);
		fputc('\n', stderr);
		break;
	default:
		fprintf(stderr, "%s: unexpected exit %s\n", prog,
			mvm_exit_name(run->exit_reason));
	}
	print_regs(vcpu);
}

static void console_write(struct mvm *vm, uint64_t gpa, uint64_t len)
{
	void *p = mvm_gpa(vm, gpa, len);

	if (p && fwrite(p, 1, len, stdout) == len)
		fflush(stdout);
}

/* Returns -1 to keep running, else the process exit status. */
static int handle_io(struct minivmm_run *run)
{
	uint16_t port = run->io.port;

	if (run->io.direction == MINIVMM_IO_IN) {
		run->io.data = 0xffffffff;
		if (port == 0x3fd)		/* UART LSR: transmitter empty */
			run->io.data = 0x60;
		return -1;
	}
	switch (port) {
	case 0x3f8:
	case PORT_DEBUGCON:
		putchar(run->io.data & 0xff);
		fflush(stdout);
		return -1;
	case PORT_EXIT:
		return ((run->io.data & 0xff) << 1) | 1;
	}
	return -1;
}

static int drive(struct mvm *vm, struct mvm_vcpu *vcpu, bool trace)
{
	struct minivmm_run *run = mvm_vcpu_run_struct(vcpu);
	int ret;

	for (;;) {
		ret = mvm_run(vcpu);
		if (ret == -EINTR) {
			if (stop_signal == SIGALRM) {
				fprintf(stderr, "%s: timeout: guest stopped\n",
					prog);
				return 124;
			}
			if (stop_signal) {
				fprintf(stderr, "%s: interrupted: guest stopped\n",
					prog);
				return 130;
			}
			continue;
		}
		if (ret)
			die("%s", mvm_strerror(vm));
		if (trace)
			fprintf(stderr, "[exit %s rip %#llx]\n",
				mvm_exit_name(run->exit_reason), run->rip);

		switch (run->exit_reason) {
		case MINIVMM_EXIT_IO:
			ret = handle_io(run);
			if (ret >= 0)
				return ret;
			break;
		case MINIVMM_EXIT_MMIO:
			if (!run->mmio.is_write)
				run->mmio.data = 0;
			break;
		case MINIVMM_EXIT_HYPERCALL:
			if (run->hypercall.nr == HC_CONSOLE) {
				console_write(vm, run->hypercall.args[0],
					      run->hypercall.args[1]);
				run->hypercall.ret = 0;
			} else {
				run->hypercall.ret = MINIVMM_HC_ERR_UNKNOWN;
			}
			break;
		case MINIVMM_EXIT_HLT:
			return 0;
		default:
			explain(vcpu, run);
			return 1;
		}
	}
}

int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mem", required_argument, NULL, 'm' },
		{ "entry", required_argument, NULL, 'e' },
		{ "timeout", required_argument, NULL, 't' },
		{ "trace", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct run_opts o = { .mem = 16 << 20, .entry = 0x7c00 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct mvm_vcpu *vcpu;
	struct mvm *vm;
	size_t size;
	void *image;
	char *end;
	int c, ret;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (parse_size(optarg, &o.mem) || o.mem & 4095)
				die("run: bad memory size '%s' (a multiple of 4K, e.g. 64M)",
				    optarg);
			break;
		case 'e':
			o.entry = strtoull(optarg, &end, 0);
			if (*end || end == optarg)
				die("run: bad entry address '%s'", optarg);
			break;
		case 't':
			o.timeout = strtoul(optarg, &end, 0);
			if (*end || end == optarg || !o.timeout)
				die("run: bad timeout '%s'", optarg);
			break;
		case 'T':
			o.trace = true;
			break;
		case 'h':
			usage_run();
			return 0;
		default:
			usage_run();
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage_run();
		return 2;
	}
	o.image = argv[optind];

	if (mvm_read_file(o.image, &image, &size))
		die("%s", mvm_strerror(NULL));
	if (mvm_create(&vm, o.mem))
		die("%s", mvm_strerror(NULL));
	if (mvm_vcpu_create(vm, 0, &vcpu) ||
	    mvm_load_flat(vm, vcpu, image, size, o.entry))
		die("%s", mvm_strerror(vm));
	free(image);

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	if (o.timeout)
		alarm(o.timeout);

	ret = drive(vm, vcpu, o.trace);
	mvm_vcpu_destroy(vcpu);
	mvm_destroy(vm);
	return ret;
}

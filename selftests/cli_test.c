// SPDX-License-Identifier: GPL-2.0
/*
 * The minivmm tool and its library: every example guest through
 * 'minivmm run' with its output and exit status, the devices and
 * hypercalls of the machine it emulates, how it stops guests (halt,
 * debug exit, crash, timeout, Ctrl-C), its NMI button (SIGQUIT), one
 * clear line for every kind of bad input, the netlink commands (list,
 * stat, events, caps) against what a guest did, every command's --help
 * against the man page, and the libminivmm loaders called directly.
 *
 * The tool is $MINIVMM, else minivmm next to this test, else the one in
 * the source tree, else minivmm in PATH (/usr/bin/minivmm in the
 * emulated machine). The example guests and the man page are installed
 * next to this test (or found in the source tree).
 */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/elf.h>

#include "kselftest_harness.h"
#include "child.h"
#include "minivmm_test.h"
#include "guest.h"
#include "libminivmm.h"

/* Exit statuses of 'minivmm run'. */
#define ST_HALT		0
/* What 'minivmm run' says when the guest halts with interrupts off. */
#define HALT_MSG	"minivmm: the guest halted with interrupts disabled\n"
#define ST_CRASH	2
#define ST_TIMEOUT	124
#define ST_TOOL		125
#define ST_SIGINT	130
#define ST_DEBUG_EXIT(v) (((v) << 1) | 1)
#define ST_RESET	4

#define IO_COUNT	1000	/* port writes of guest_iowait */
/* Guest RAM for most runs: pinning it is most of what a run costs. */
#define MEM		"2M"
#define MEM_TEXT	"2 MiB"
#define MEM_BYTES	"2097152"
/* For images refused before anything is loaded. */
#define MEM_SMALL	"64K"
/* For anything a child should do; longer on slow (debug) kernels. */
#define WAIT_MS		(20000 * timeout_scale())

#define ARGS(...)	((const char *const []){ __VA_ARGS__, NULL })

/* ---- finding the tool, the guests, the man page --------------------- */

static char exe_dir[PATH_MAX];
static char tool[PATH_MAX];

static void find_exe_dir(void)
{
	ssize_t n;
	char *slash;

	if (exe_dir[0])
		return;
	n = readlink("/proc/self/exe", exe_dir, sizeof(exe_dir) - 1);
	if (n <= 0) {
		strcpy(exe_dir, ".");
		return;
	}
	exe_dir[n] = 0;
	slash = strrchr(exe_dir, '/');
	if (slash)
		*slash = 0;
}

/* @name next to this test, else in @src (relative to the source tree). */
static bool find_file(const char *name, const char *src, char *out)
{
	find_exe_dir();
	if (snprintf(out, PATH_MAX, "%s/%s", exe_dir, name) < PATH_MAX &&
	    !access(out, R_OK))
		return true;
	return snprintf(out, PATH_MAX, "%s/../%s/%s", exe_dir, src,
			name) < PATH_MAX && !access(out, R_OK);
}

/* The minivmm to test; false when there is none. */
static bool find_tool(void)
{
	const char *env = getenv("MINIVMM");

	if (tool[0])
		return true;
	if (env && *env) {
		snprintf(tool, sizeof(tool), "%s", env);
		return true;
	}
	find_exe_dir();
	if (snprintf(tool, sizeof(tool), "%s/minivmm", exe_dir) <
	    (int)sizeof(tool) && !access(tool, X_OK))
		return true;
	if (snprintf(tool, sizeof(tool), "%s/../userspace/minivmm",
		     exe_dir) < (int)sizeof(tool) && !access(tool, X_OK))
		return true;
	/* posix_spawnp() finds it in PATH, if it is there. */
	snprintf(tool, sizeof(tool), "minivmm");
	return true;
}

/* ---- running the tool ------------------------------------------------ */

/* Run minivmm @args to its end with @input (NULL: none) on stdin. */
static int cli(struct __test_metadata *_metadata, struct child *c,
	       const char *input, const char *const *args)
{
	ASSERT_EQ(0, child_start(c, tool, !!input, args));
	if (input) {
		ASSERT_EQ((ssize_t)strlen(input),
			  write(c->in, input, strlen(input)));
	}
	if (child_finish(c, WAIT_MS) < 0) {
		TH_LOG("minivmm %s... did not finish in %d ms", args[0],
		       WAIT_MS);
		ASSERT_TRUE(false);
	}
	if (c->signaled)
		TH_LOG("minivmm %s... killed by signal %d", args[0],
		       c->status - 128);
	return c->status;
}

#define CLI(c, input, ...)	cli(_metadata, c, input, ARGS(__VA_ARGS__))

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static unsigned int count_lines(const char *s)
{
	unsigned int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/*
 * A failure of the tool's own: one line on stderr that says @needle,
 * nothing on stdout, the status @status, no crash.
 */
static void expect_one_error(struct __test_metadata *_metadata,
			     struct child *c, int status, const char *needle)
{
	EXPECT_FALSE(c->signaled);
	EXPECT_EQ(status, c->status);
	EXPECT_EQ(1, count_lines(c->ebuf));
	EXPECT_TRUE(starts_with(c->ebuf, "minivmm"));
	EXPECT_NE(NULL, strstr(c->ebuf, needle));
	EXPECT_EQ(0, c->olen);
	if (!strstr(c->ebuf, needle) || count_lines(c->ebuf) != 1)
		TH_LOG("stderr: %s", c->ebuf);
}

#define EXPECT_ONE_ERROR(c, status, needle) \
	expect_one_error(_metadata, c, status, needle)

/* ---- guests written here, run as flat real-mode images -------------- */

/* Real mode, loaded at 0x7c00: "e9", a console hypercall, exit 42. */
GUEST_CODE(guest_ports, ".code16",
	   "xor %ax, %ax\n\t"
	   "mov %ax, %ds\n\t"
	   "mov $'e', %al\n\t"
	   "out %al, $0xe9\n\t"
	   "mov $'9', %al\n\t"
	   "out %al, $0xe9\n\t"
	   "mov $'\\n', %al\n\t"
	   "out %al, $0xe9\n\t"
	   "in $0xe9, %al\n\t"		/* the debug console reads 0xe9 */
	   "cmp $0xe9, %al\n\t"
	   "jne 1f\n\t"
	   "mov $0x100, %eax\n\t"
	   "mov $(0x7c00 + ports_msg - guest_ports), %ebx\n\t"
	   "mov $(ports_msg_end - ports_msg), %ecx\n\t"
	   "vmcall\n\t"
	   "cmp %ecx, %eax\n\t"		/* it returns the count */
	   "jne 1f\n\t"
	   "mov $42, %al\n\t"
	   "out %al, $0xf4\n"
	   "1:\n\t"
	   "mov $'X', %al\n\t"
	   "out %al, $0xe9\n\t"
	   "cli\n\t"
	   "hlt\n"
	   "ports_msg: .ascii \"hypercall\\n\"\n"
	   "ports_msg_end:");

/*
 * Real mode, with 64 KiB of RAM: unclaimed ports read all-ones at every
 * width, and memory at 0x20000 (no RAM) reads zero after writes.
 */
GUEST_CODE(guest_unclaimed, ".code16",
	   "xor %ax, %ax\n\t"
	   "mov %ax, %ds\n\t"
	   "in $0x80, %al\n\t"
	   "cmp $0xff, %al\n\t"
	   "jne 2f\n\t"
	   "in $0x80, %ax\n\t"
	   "cmp $0xffff, %ax\n\t"
	   "jne 2f\n\t"
	   "mov $0x510, %dx\n\t"
	   "in %dx, %eax\n\t"
	   "cmp $0xffffffff, %eax\n\t"
	   "jne 2f\n\t"
	   "mov $(0x7c00 + unc_ports - guest_unclaimed), %si\n\t"
	   "call 3f\n\t"
	   "mov $0x2000, %ax\n\t"
	   "mov %ax, %es\n\t"
	   "movb $0x55, %es:0\n\t"
	   "movw $0x1234, %es:2\n\t"
	   "mov %es:0, %al\n\t"
	   "test %al, %al\n\t"
	   "jnz 2f\n\t"
	   "mov %es:2, %bx\n\t"
	   "test %bx, %bx\n\t"
	   "jnz 2f\n\t"
	   "mov $(0x7c00 + unc_mmio - guest_unclaimed), %si\n\t"
	   "call 3f\n\t"
	   "cli\n\t"
	   "hlt\n"
	   "2:\n\t"
	   "mov $(0x7c00 + unc_bad - guest_unclaimed), %si\n\t"
	   "call 3f\n\t"
	   "cli\n\t"
	   "hlt\n"
	   "3:\n\t"			/* print the string at SI */
	   "lodsb\n\t"
	   "test %al, %al\n\t"
	   "jz 4f\n\t"
	   "out %al, $0xe9\n\t"
	   "jmp 3b\n"
	   "4:\n\t"
	   "ret\n"
	   "unc_ports: .asciz \"ports ok\\n\"\n"
	   "unc_mmio: .asciz \"mmio ok\\n\"\n"
	   "unc_bad: .asciz \"bad\\n\"");

/*
 * Real mode, polling the UART: echo stdin to port 0xe9 until the carrier
 * (MSR DCD) drops at its end, then check the scratch register, the
 * divisor latch, IER, IIR, loopback and the THR-empty interrupt's
 * identification. BL names the check that failed.
 */
GUEST_CODE(guest_uart, ".code16",
	   "xor %ax, %ax\n\t"
	   "mov %ax, %ds\n"
	   "1:\n\t"
	   "mov $0x3fd, %dx\n\t"
	   "in %dx, %al\n\t"
	   "test $1, %al\n\t"		/* LSR: data ready */
	   "jz 2f\n\t"
	   "mov $0x3f8, %dx\n\t"
	   "in %dx, %al\n\t"
	   "out %al, $0xe9\n\t"
	   "jmp 1b\n"
	   "2:\n\t"
	   "mov $0x3fe, %dx\n\t"
	   "in %dx, %al\n\t"
	   "test $0x80, %al\n\t"	/* MSR: carrier */
	   "jnz 1b\n\t"
	   "mov $'s', %bl\n\t"
	   "mov $0x3ff, %dx\n\t"
	   "mov $0x5a, %al\n\t"
	   "out %al, %dx\n\t"
	   "in %dx, %al\n\t"
	   "cmp $0x5a, %al\n\t"
	   "jne 8f\n\t"
	   "mov $'d', %bl\n\t"
	   "mov $0x3fb, %dx\n\t"
	   "mov $0x83, %al\n\t"		/* LCR: DLAB, 8N1 */
	   "out %al, %dx\n\t"
	   "mov $0x3f8, %dx\n\t"
	   "mov $0x0c, %al\n\t"
	   "out %al, %dx\n\t"
	   "mov $0x3f9, %dx\n\t"
	   "mov $0x01, %al\n\t"
	   "out %al, %dx\n\t"
	   "mov $0x3f8, %dx\n\t"
	   "in %dx, %al\n\t"
	   "cmp $0x0c, %al\n\t"
	   "jne 8f\n\t"
	   "mov $0x3f9, %dx\n\t"
	   "in %dx, %al\n\t"
	   "cmp $0x01, %al\n\t"
	   "jne 8f\n\t"
	   "mov $0x3fb, %dx\n\t"
	   "mov $0x03, %al\n\t"
	   "out %al, %dx\n\t"
	   "in %dx, %al\n\t"
	   "cmp $0x03, %al\n\t"
	   "jne 8f\n\t"
	   "mov $'i', %bl\n\t"
	   "mov $0x3f9, %dx\n\t"	/* IER again, not the latch */
	   "in %dx, %al\n\t"
	   "cmp $0, %al\n\t"
	   "jne 8f\n\t"
	   "mov $0x3fa, %dx\n\t"
	   "in %dx, %al\n\t"
	   "cmp $0x01, %al\n\t"		/* IIR: nothing pending */
	   "jne 8f\n\t"
	   "mov $'l', %bl\n\t"
	   "mov $0x3fc, %dx\n\t"
	   "mov $0x1b, %al\n\t"		/* MCR: loop, OUT2, RTS, DTR */
	   "out %al, %dx\n\t"
	   "mov $0x3f8, %dx\n\t"
	   "mov $'L', %al\n\t"
	   "out %al, %dx\n\t"
	   "mov $0x3fd, %dx\n\t"
	   "in %dx, %al\n\t"
	   "test $1, %al\n\t"
	   "jz 8f\n\t"
	   "mov $0x3f8, %dx\n\t"
	   "in %dx, %al\n\t"
	   "cmp $'L', %al\n\t"
	   "jne 8f\n\t"
	   "mov $0x3fe, %dx\n\t"
	   "in %dx, %al\n\t"
	   "and $0xf0, %al\n\t"
	   "cmp $0xb0, %al\n\t"		/* DCD, DSR, CTS; no RI */
	   "jne 8f\n\t"
	   "mov $0x3fc, %dx\n\t"
	   "mov $0x0b, %al\n\t"
	   "out %al, %dx\n\t"
	   "mov $'t', %bl\n\t"
	   "mov $0x3f9, %dx\n\t"
	   "mov $0x02, %al\n\t"		/* IER: THR empty */
	   "out %al, %dx\n\t"
	   "mov $0x3fa, %dx\n\t"
	   "in %dx, %al\n\t"
	   "cmp $0x02, %al\n\t"		/* raised at once */
	   "jne 8f\n\t"
	   "in %dx, %al\n\t"
	   "cmp $0x01, %al\n\t"		/* reading IIR acknowledged it */
	   "jne 8f\n\t"
	   "mov $0x3f9, %dx\n\t"
	   "xor %al, %al\n\t"
	   "out %al, %dx\n\t"
	   "mov $(0x7c00 + uart_ok - guest_uart), %si\n\t"
	   "call 9f\n\t"
	   "cli\n\t"
	   "hlt\n"
	   "8:\n\t"
	   "mov $(0x7c00 + uart_bad - guest_uart), %si\n\t"
	   "call 9f\n\t"
	   "mov %bl, %al\n\t"
	   "out %al, $0xe9\n\t"
	   "mov $'\\n', %al\n\t"
	   "out %al, $0xe9\n\t"
	   "cli\n\t"
	   "hlt\n"
	   "9:\n\t"
	   "lodsb\n\t"
	   "test %al, %al\n\t"
	   "jz 7f\n\t"
	   "out %al, $0xe9\n\t"
	   "jmp 9b\n"
	   "7:\n\t"
	   "ret\n"
	   "uart_ok: .asciz \"uart ok\\n\"\n"
	   "uart_bad: .asciz \"uart bad \"");

#define STR(x)	#x
#define XSTR(x)	STR(x)
/*
 * Real mode: ORDER_ROUNDS times "ab" to the THR, "c" to port 0xe9, "d" to
 * the THR, an LSR read, "e" to the THR, a while without exits, "f" to
 * port 0xe9 and a newline to the THR; then BURST letters A-Z, A-Z... to
 * the THR without an exit in between (more than a posted ring holds),
 * and "!\n" to port 0xe9. Every order of THR writes, other output and
 * exits, to come out exactly as written.
 */
#define ORDER_ROUNDS	50
#define BURST		400
/* THR writes of guest_order: what --stats counts as posted or exits. */
#define ORDER_THR	(5 * ORDER_ROUNDS + BURST)
GUEST_CODE(guest_order, ".code16",
	   "mov $" XSTR(ORDER_ROUNDS) ", %bp\n"
	   "1:\n\t"
	   "mov $0x3f8, %dx\n\t"
	   "mov $'a', %al\n\t"
	   "out %al, %dx\n\t"
	   "mov $'b', %al\n\t"
	   "out %al, %dx\n\t"
	   "mov $'c', %al\n\t"
	   "out %al, $0xe9\n\t"
	   "mov $'d', %al\n\t"
	   "out %al, %dx\n\t"
	   "mov $0x3fd, %dx\n\t"
	   "in %dx, %al\n\t"
	   "mov $0x3f8, %dx\n\t"
	   "mov $'e', %al\n\t"
	   "out %al, %dx\n\t"
	   "mov $3000, %cx\n"
	   "2:\n\t"
	   "loop 2b\n\t"
	   "mov $'f', %al\n\t"
	   "out %al, $0xe9\n\t"
	   "mov $'\\n', %al\n\t"
	   "out %al, %dx\n\t"
	   "dec %bp\n\t"
	   "jnz 1b\n\t"
	   "mov $" XSTR(BURST) ", %cx\n\t"
	   "mov $'A', %al\n"
	   "3:\n\t"
	   "out %al, %dx\n\t"
	   "inc %al\n\t"
	   "cmp $0x5b, %al\n\t"		/* past 'Z' */
	   "jne 4f\n\t"
	   "mov $'A', %al\n"
	   "4:\n\t"
	   "loop 3b\n\t"
	   "mov $'!', %al\n\t"
	   "out %al, $0xe9\n\t"
	   "mov $'\\n', %al\n\t"
	   "out %al, $0xe9\n\t"
	   "cli\n\t"
	   "hlt");

/*
 * Real mode: with LCR.DLAB, 100 writes to the divisor latch (the last
 * one 1) read back; in loopback mode, 10 "L" sent and received, each
 * copied to port 0xe9; then "ok\n" to the THR. None of the latch and
 * loopback writes may be posted; a failed check prints "X\n".
 */
GUEST_CODE(guest_dlab_loop, ".code16",
	   "mov $0x3fb, %dx\n\t"
	   "mov $0x83, %al\n\t"
	   "out %al, %dx\n\t"
	   "mov $0x3f8, %dx\n\t"
	   "mov $100, %cx\n"
	   "1:\n\t"
	   "mov %cl, %al\n\t"
	   "out %al, %dx\n\t"
	   "loop 1b\n\t"
	   "in %dx, %al\n\t"
	   "cmp $1, %al\n\t"
	   "jne 8f\n\t"
	   "mov $0x3fb, %dx\n\t"
	   "mov $0x03, %al\n\t"
	   "out %al, %dx\n\t"
	   "mov $0x3fc, %dx\n\t"
	   "mov $0x18, %al\n\t"		/* MCR: loop, OUT2 */
	   "out %al, %dx\n\t"
	   "mov $0x3f8, %dx\n\t"
	   "mov $'L', %al\n\t"
	   "mov $10, %cx\n"
	   "2:\n\t"
	   "out %al, %dx\n\t"
	   "loop 2b\n\t"
	   "mov $10, %cx\n"
	   "3:\n\t"
	   "mov $0x3fd, %dx\n\t"
	   "in %dx, %al\n\t"
	   "test $1, %al\n\t"
	   "jz 8f\n\t"
	   "mov $0x3f8, %dx\n\t"
	   "in %dx, %al\n\t"
	   "out %al, $0xe9\n\t"
	   "loop 3b\n\t"
	   "mov $0x3fd, %dx\n\t"
	   "in %dx, %al\n\t"
	   "test $1, %al\n\t"
	   "jnz 8f\n\t"
	   "mov $0x3fc, %dx\n\t"
	   "mov $0x08, %al\n\t"
	   "out %al, %dx\n\t"
	   "mov $0x3f8, %dx\n\t"
	   "mov $'o', %al\n\t"
	   "out %al, %dx\n\t"
	   "mov $'k', %al\n\t"
	   "out %al, %dx\n\t"
	   "mov $'\\n', %al\n\t"
	   "out %al, %dx\n\t"
	   "cli\n\t"
	   "hlt\n"
	   "8:\n\t"
	   "mov $'X', %al\n\t"
	   "out %al, $0xe9\n\t"
	   "mov $'\\n', %al\n\t"
	   "out %al, $0xe9\n\t"
	   "cli\n\t"
	   "hlt");

/*
 * Real mode, interrupt driven transmit, as Linux's 8250 driver does it:
 * enable the THR-empty interrupt (vector 0x24), and halt; its handler
 * reads IIR and, for a THR-empty interrupt, writes the 16 bytes "a"-"p"
 * to the THR without another read, THRE_ROUNDS times, then disables it.
 * The next interrupt comes only once the UART has the bytes: with posted
 * writes, while the guest halts. Then a newline to port 0xe9.
 */
#define THRE_ROUNDS	8
GUEST_CODE(guest_thre, ".code16",
	   "cli\n\t"
	   "xor %ax, %ax\n\t"
	   "mov %ax, %ds\n\t"
	   "mov %ax, %ss\n\t"
	   "mov $0x7000, %sp\n\t"
	   "movb $0, 0x600\n\t"
	   "movw $(0x7c00 + thre_isr - guest_thre), 0x90\n\t"
	   "movw $0, 0x92\n\t"
	   "mov $0x3f9, %dx\n\t"
	   "mov $0x02, %al\n\t"
	   "out %al, %dx\n"
	   "1:\n\t"
	   "cli\n\t"
	   "cmpb $" XSTR(THRE_ROUNDS) ", 0x600\n\t"
	   "jae 2f\n\t"
	   "sti\n\t"
	   "hlt\n\t"
	   "jmp 1b\n"
	   "2:\n\t"
	   "mov $'\\n', %al\n\t"
	   "out %al, $0xe9\n\t"
	   "hlt\n"
	   "thre_isr:\n\t"
	   "push %ax\n\t"
	   "push %cx\n\t"
	   "push %dx\n\t"
	   "mov $0x3fa, %dx\n\t"
	   "in %dx, %al\n\t"
	   "and $0x0f, %al\n\t"
	   "cmp $0x02, %al\n\t"
	   "jne 9f\n\t"
	   "cmpb $" XSTR(THRE_ROUNDS) ", 0x600\n\t"
	   "jae 9f\n\t"
	   "mov $0x3f8, %dx\n\t"
	   "mov $'a', %al\n\t"
	   "mov $16, %cx\n"
	   "3:\n\t"
	   "out %al, %dx\n\t"
	   "inc %al\n\t"
	   "loop 3b\n\t"
	   "incb 0x600\n\t"
	   "cmpb $" XSTR(THRE_ROUNDS) ", 0x600\n\t"
	   "jb 9f\n\t"
	   "mov $0x3f9, %dx\n\t"
	   "xor %al, %al\n\t"
	   "out %al, %dx\n"
	   "9:\n\t"
	   "pop %dx\n\t"
	   "pop %cx\n\t"
	   "pop %ax\n\t"
	   "iret");

/*
 * Real mode, interrupt driven: enable the UART's receive interrupt
 * (vector 0x24, IVT entry at 0x90), say "A", halt until input arrives
 * (the vCPU sleeps in the kernel; the tool's stdin thread injects the
 * interrupt), write IO_COUNT times to port 0x80, say "B", halt until
 * more input arrives, then halt for good with interrupts off. The test
 * looks at the statistics while it waits.
 */
GUEST_CODE(guest_iowait, ".code16",
	   "cli\n\t"
	   "xor %ax, %ax\n\t"
	   "mov %ax, %ds\n\t"
	   "mov %ax, %ss\n\t"
	   "mov $0x7000, %sp\n\t"
	   "movb $0, 0x600\n\t"
	   "movw $(0x7c00 + iow_isr - guest_iowait), 0x90\n\t"
	   "movw $0, 0x92\n\t"
	   "mov $0x3f9, %dx\n\t"
	   "mov $1, %al\n\t"
	   "out %al, %dx\n\t"
	   "mov $'A', %al\n\t"
	   "out %al, $0xe9\n\t"
	   "mov $'\\n', %al\n\t"
	   "out %al, $0xe9\n"
	   /* Test, then STI; HLT: an interrupt between them still wakes. */
	   "1:\n\t"
	   "cli\n\t"
	   "cmpb $0, 0x600\n\t"
	   "jne 7f\n\t"
	   "sti\n\t"
	   "hlt\n\t"
	   "jmp 1b\n"
	   "7:\n\t"
	   "sti\n\t"
	   "mov $" XSTR(IO_COUNT) ", %cx\n"
	   "2:\n\t"
	   "out %al, $0x80\n\t"
	   "loop 2b\n\t"
	   "mov $'B', %al\n\t"
	   "out %al, $0xe9\n\t"
	   "mov $'\\n', %al\n\t"
	   "out %al, $0xe9\n"
	   "6:\n\t"
	   "cli\n\t"
	   "cmpb $2, 0x600\n\t"
	   "jae 8f\n\t"
	   "sti\n\t"
	   "hlt\n\t"
	   "jmp 6b\n"
	   "8:\n\t"
	   "hlt\n"
	   "iow_isr:\n\t"		/* drain the receiver, note it */
	   "push %ax\n\t"
	   "push %dx\n"
	   "4:\n\t"
	   "mov $0x3fd, %dx\n\t"
	   "in %dx, %al\n\t"
	   "test $1, %al\n\t"
	   "jz 5f\n\t"
	   "mov $0x3f8, %dx\n\t"
	   "in %dx, %al\n\t"
	   "jmp 4b\n"
	   "5:\n\t"
	   "incb 0x600\n\t"
	   "pop %dx\n\t"
	   "pop %ax\n\t"
	   "iret");

/* Real mode: say so, then spin without exits. */
GUEST_CODE(guest_spin, ".code16",
	   "mov $'s', %al\n\t"
	   "out %al, $0xe9\n\t"
	   "mov $'\\n', %al\n\t"
	   "out %al, $0xe9\n"
	   "1:\n\t"
	   "jmp 1b");

/* Real mode: an interrupt with an empty IVT limit: #GP, #DF, shutdown. */
GUEST_CODE(guest_triple, ".code16",
	   "xor %ax, %ax\n\t"
	   "mov %ax, %ds\n\t"
	   "lidt (0x7c00 + triple_idt - guest_triple)\n\t"
	   "int $3\n\t"
	   "hlt\n"
	   "triple_idt: .word 0\n\t"
	   ".long 0");

/*
 * Real mode: REP OUTSB of a message to the debug console, forwards, then
 * backwards from its end (DF set) to the UART.
 */
GUEST_CODE(guest_outs, ".code16",
	   "xor %ax, %ax\n\t"
	   "mov %ax, %ds\n\t"
	   "mov $0xe9, %dx\n\t"
	   "mov $(0x7c00 + outs_msg - guest_outs), %si\n\t"
	   "mov $(outs_msg_end - outs_msg), %cx\n\t"
	   "rep outsb\n\t"
	   "mov $0x3f8, %dx\n\t"
	   "mov $(0x7c00 + outs_rev_end - 1 - guest_outs), %si\n\t"
	   "mov $(outs_rev_end - outs_rev), %cx\n\t"
	   "std\n\t"
	   "rep outsb\n\t"
	   "cld\n\t"
	   "cli\n\t"
	   "hlt\n"
	   "outs_msg: .ascii \"outs\\n\"\n"
	   "outs_msg_end:\n"
	   "outs_rev: .ascii \"\\nsdrawkcab\"\n"
	   "outs_rev_end:");

/* Real mode, 64 KiB of RAM: a NOT on memory that is not RAM. */
GUEST_CODE(guest_mmio_not, ".code16",
	   "mov $0x2000, %ax\n\t"
	   "mov %ax, %es\n\t"
	   "notb %es:0\n\t"
	   "hlt");

/* Real mode, 64 KiB of RAM: ADD and BTS on memory that is not RAM. */
GUEST_CODE(guest_mmio_rmw, ".code16",
	   "mov $0x2000, %ax\n\t"
	   "mov %ax, %es\n\t"
	   "addb $1, %es:0\n\t"
	   "btsw $3, %es:2\n\t"
	   "mov $'k', %al\n\t"
	   "out %al, $0xe9\n\t"
	   "cli\n\t"
	   "hlt");

/*
 * Real mode: port 0x92 reads A20 on; POST codes to port 0x80 print
 * nothing; then bit 0 of port 0x92 resets the machine.
 */
GUEST_CODE(guest_reset92, ".code16",
	   "in $0x92, %al\n\t"
	   "test $2, %al\n\t"
	   "jz 1f\n\t"
	   "mov $0x55, %al\n\t"
	   "out %al, $0x80\n\t"
	   "out %al, $0x80\n\t"
	   "in $0x92, %al\n\t"
	   "or $1, %al\n\t"
	   "out %al, $0x92\n"
	   "1:\n\t"
	   "cli\n\t"
	   "hlt");

/*
 * Real mode: wait for the keyboard controller's input buffer to empty,
 * read its absent data port (all-ones), then command 0xfe: a reset.
 */
GUEST_CODE(guest_reset64, ".code16",
	   "1:\n\t"
	   "in $0x64, %al\n\t"
	   "test $2, %al\n\t"
	   "jnz 1b\n\t"
	   "in $0x60, %al\n\t"
	   "cmp $0xff, %al\n\t"
	   "jne 2f\n\t"
	   "mov $0xfe, %al\n\t"
	   "out %al, $0x64\n"
	   "2:\n\t"
	   "cli\n\t"
	   "hlt");

/* Real mode: RDMSR of an MSR no CPU has, with no usable IDT. */
GUEST_CODE(guest_bad_msr, ".code16",
	   "xor %ax, %ax\n\t"
	   "mov %ax, %ds\n\t"
	   "lidt (0x7c00 + bad_msr_idt - guest_bad_msr)\n\t"
	   "mov $0xdeadbeef, %ecx\n\t"
	   "rdmsr\n\t"
	   "hlt\n"
	   "bad_msr_idt: .word 0\n\t"
	   ".long 0");

/* Real mode, position independent: say where CS is, halt. */
GUEST_CODE(guest_where, ".code16",
	   "mov %cs, %ax\n\t"
	   "cmp $0x2000, %ax\n\t"
	   "mov $'C', %al\n\t"
	   "jne 1f\n\t"
	   "mov $'P', %al\n"
	   "1:\n\t"
	   "out %al, $0xe9\n\t"
	   "mov $'\\n', %al\n\t"
	   "out %al, $0xe9\n\t"
	   "cli\n\t"
	   "hlt");

/* ---- the fixture: a scratch directory and the tool ------------------ */

FIXTURE(cli) {
	char dir[64];
	char path[PATH_MAX];
	struct child *c, *c2;
	bool unloaded;		/* the module, by this test */
};

FIXTURE_SETUP(cli)
{
	find_tool();
	snprintf(self->dir, sizeof(self->dir), "/tmp/cli_test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	self->c = calloc(1, sizeof(*self->c));
	self->c2 = calloc(1, sizeof(*self->c2));
	ASSERT_NE(NULL, self->c);
	ASSERT_NE(NULL, self->c2);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(path);
}

FIXTURE_TEARDOWN(cli)
{
	child_kill_all();
	if (self->unloaded && system("modprobe minivmm"))
		TH_LOG("could not load the minivmm module again");
	nftw(self->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(self->c);
	free(self->c2);
}

/*
 * Write @len bytes to a file named @name in the scratch directory @dir;
 * its path, in @path.
 */
static const char *scratch(struct __test_metadata *_metadata,
			   const char *dir, char *path, const char *name,
			   const void *data, size_t len)
{
	FILE *f;

	ASSERT_GT(PATH_MAX, snprintf(path, PATH_MAX, "%s/%s", dir, name));
	f = fopen(path, "w");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(len, fwrite(data, 1, len, f));
	ASSERT_EQ(0, fclose(f));
	return path;
}

#define SCRATCH(name, data, len)					\
	scratch(_metadata, self->dir, self->path, name, data, len)
/* A guest of this file, [@start, @end), as a flat image. */
static const char *guest_file(struct __test_metadata *_metadata,
			      const char *dir, char *path, const char *name,
			      const unsigned char *start,
			      const unsigned char *end)
{
	return scratch(_metadata, dir, path, name, start, end - start);
}

#define GUEST_FILE(code)						\
	guest_file(_metadata, self->dir, self->path, #code ".bin", code, \
		   code##_end)

/* An example guest: installed next to the test or in the source tree. */
static const char *find_example(struct __test_metadata *_metadata,
				char *path, const char *name)
{
	if (!find_file(name, "userspace/guests", path)) {
		TH_LOG("example guest '%s' is missing", name);
		ASSERT_TRUE(false);
	}
	return path;
}

#define EXAMPLE(name)	strdupa(find_example(_metadata, self->path, name))

/*
 * Whether 'minivmm help' works, found out once in the harness's process
 * before it forks the tests.
 */
static bool have_tool;

static void __attribute__((constructor)) probe_tool(void)
{
	struct child *c = calloc(1, sizeof(*c));

	find_tool();
	if (c && !child_start(c, tool, false, ARGS("help")))
		have_tool = child_finish(c, WAIT_MS) == 0;
	free(c);
}

#define REQUIRE_TOOL()							\
	do {								\
		if (!have_tool)						\
			SKIP(return, "no minivmm tool (%.200s)", tool);	\
	} while (0)

/* The guest can run, and the tool is there. */
#define REQUIRE_RUN()							\
	do {								\
		REQUIRE_VMX();						\
		REQUIRE_TOOL();						\
	} while (0)

/* ---- help and the man page ------------------------------------------ */

static const char *const commands[] = { "run", "restore", "list", "stat",
					"events", "caps", "snapshot-info" };

TEST_F(cli, help_lists_every_command)
{
	unsigned int i;

	REQUIRE_TOOL();
	ASSERT_EQ(0, CLI(self->c, NULL, "help"));
	EXPECT_TRUE(starts_with(self->c->obuf, "usage: minivmm COMMAND"));
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		char line[32];

		snprintf(line, sizeof(line), "\n  %-8s ", commands[i]);
		EXPECT_NE(NULL, strstr(self->c->obuf, line));
	}
	EXPECT_EQ(0, self->c->elen);
}

TEST_F(cli, every_command_has_help)
{
	char usage[64];
	unsigned int i;

	REQUIRE_TOOL();
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		snprintf(usage, sizeof(usage), "usage: minivmm %s ",
			 commands[i]);
		EXPECT_EQ(0, CLI(self->c, NULL, commands[i], "--help"));
		EXPECT_EQ(0, strncmp(self->c->obuf, usage, strlen(usage)));
		EXPECT_NE(NULL, strstr(self->c->obuf, "\n  --help "));
		EXPECT_EQ(0, self->c->elen);
		EXPECT_EQ(0, CLI(self->c2, NULL, "help", commands[i]));
		EXPECT_STREQ(self->c->obuf, self->c2->obuf);
	}
}

/* The man page in roff: "\-\-mem" is "--mem". */
static char *read_man_page(struct __test_metadata *_metadata, char *path)
{
	char *text, *r, *w;
	struct stat st;
	FILE *f;

	if (!find_file("minivmm.1", "Documentation", path)) {
		TH_LOG("minivmm.1 is neither installed with the tests nor in the source tree");
		return NULL;
	}
	f = fopen(path, "r");
	if (!f || fstat(fileno(f), &st))
		return NULL;
	text = calloc(1, st.st_size + 1);
	if (!text || fread(text, 1, st.st_size, f) != (size_t)st.st_size) {
		fclose(f);
		free(text);
		return NULL;
	}
	fclose(f);
	for (r = w = text; *r; r++)
		if (!(r[0] == '\\' && r[1] == '-'))
			*w++ = *r;
	*w = 0;
	return text;
}

TEST_F(cli, man_page_documents_every_option)
{
	char *man, *line, *save, *p, name[64], want[80];
	unsigned int i, options = 0;

	REQUIRE_TOOL();
	man = read_man_page(_metadata, self->path);
	ASSERT_NE(NULL, man);
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		snprintf(want, sizeof(want), ".SS minivmm %s", commands[i]);
		EXPECT_NE(NULL, strstr(man, want)) {
			TH_LOG("the man page has no section for '%s'",
			       commands[i]);
		}
		ASSERT_EQ(0, CLI(self->c, NULL, commands[i], "--help"));
		/* The option lines of --help: "  --name [ARG]  help". */
		for (line = strtok_r(self->c->obuf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			if (strncmp(line, "  --", 4))
				continue;
			p = line + 4;
			snprintf(name, sizeof(name), "%.*s",
				 (int)strcspn(p, " "), p);
			snprintf(want, sizeof(want), "--%s", name);
			options++;
			EXPECT_NE(NULL, strstr(man, want)) {
				TH_LOG("'minivmm %s %s' is not in the man page",
				       commands[i], want);
			}
		}
	}
	/*
	 * run's seventeen, restore's eight, --json of four commands,
	 * --watch, --help of each.
	 */
	EXPECT_EQ(17 + 8 + 4 + 1 + 7, options);
	free(man);
}

TEST_F(cli, unknown_command_is_one_line)
{
	REQUIRE_TOOL();
	CLI(self->c, NULL, "frobnicate");
	EXPECT_ONE_ERROR(self->c, 2, "unknown command 'frobnicate'");
}

TEST_F(cli, unknown_option_is_one_line)
{
	unsigned int i;

	REQUIRE_TOOL();
	CLI(self->c, NULL, "run", "--bogus", "image");
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "unknown option '--bogus'");
	CLI(self->c, NULL, "run", "-x", "image");
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "unknown option '-x'");
	CLI(self->c, NULL, "run", "--mem");
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "'--mem' needs an argument");
	CLI(self->c, NULL, "run");
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "no IMAGE");
	/* restore runs guests too: its usage errors are the tool's 125. */
	CLI(self->c, NULL, "restore", "--bogus", "file");
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "unknown option '--bogus'");
	for (i = 2; i < ARRAY_SIZE(commands); i++) {
		CLI(self->c, NULL, commands[i], "--bogus");
		EXPECT_ONE_ERROR(self->c, 2, "unknown option '--bogus'");
	}
}

TEST_F(cli, bad_option_values_are_one_line)
{
	static const char *const mems[] = {
		"12Q", "0", "4097", "", "-4M", "16MiBs", "99999999999T",
	};
	unsigned int i;

	REQUIRE_TOOL();
	for (i = 0; i < ARRAY_SIZE(mems); i++) {
		CLI(self->c, NULL, "run", "--mem", mems[i], "image");
		EXPECT_ONE_ERROR(self->c, ST_TOOL, "bad memory size");
	}
	CLI(self->c, NULL, "run", "--vcpus", "0", "image");
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "bad vCPU count");
	CLI(self->c, NULL, "run", "--timeout", "soon", "image");
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "bad timeout");
	CLI(self->c, NULL, "run", "--entry", "0x7c00z", "image");
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "bad address");
	CLI(self->c, NULL, "run", "--format", "coff", "image");
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "unknown image format 'coff'");
	CLI(self->c, NULL, "stat", "vm3");
	EXPECT_ONE_ERROR(self->c, 2, "bad VM id");
}

/* The options of snapshots and migration, misused: one line each. */
TEST_F(cli, snapshot_and_migration_usage_errors_are_one_line)
{
	REQUIRE_TOOL();
	CLI(self->c, NULL, "run", "--snapshot-stop", "image");
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "--snapshot-stop needs --snapshot");
	CLI(self->c, NULL, "run", "--snapshot", "f", "--migrate-to",
	    "unix:/tmp/s", "image");
	EXPECT_ONE_ERROR(self->c, ST_TOOL,
			 "--snapshot and --migrate-to do not go together");
	CLI(self->c, NULL, "run", "--migrate-to", "tcp:1.2.3.4", "image");
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "bad --migrate-to 'tcp:1.2.3.4'");
	CLI(self->c, NULL, "run", "--kernel", "k", "--virtio-console",
	    "--snapshot", "f");
	EXPECT_ONE_ERROR(self->c, ST_TOOL,
			 "--virtio-console does not go with --snapshot");
	CLI(self->c, NULL, "restore", "--incoming", "unix:");
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "bad --incoming 'unix:'");
	/* run --incoming boots nothing: the machine comes from the source. */
	CLI(self->c, NULL, "run", "--incoming", "tcp:1.2.3.4");
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "bad --incoming 'tcp:1.2.3.4'");
	CLI(self->c, NULL, "run", "--incoming", "unix:/tmp/s", "image");
	EXPECT_ONE_ERROR(self->c, ST_TOOL,
			 "minivmm run: unexpected argument 'image' with --incoming");
	CLI(self->c, NULL, "run", "--kernel", "k", "--incoming", "unix:/tmp/s");
	EXPECT_ONE_ERROR(self->c, ST_TOOL,
			 "minivmm run: --kernel does not go with --incoming (the machine comes from the source)");
	CLI(self->c, NULL, "run", "--incoming", "unix:/tmp/s", "--mem", "4M");
	EXPECT_ONE_ERROR(self->c, ST_TOOL,
			 "minivmm run: --mem does not go with --incoming");
	CLI(self->c, NULL, "restore", "--incoming", "unix:/tmp/s", "file");
	EXPECT_ONE_ERROR(self->c, ST_TOOL,
			 "unexpected argument 'file' with --incoming");
	CLI(self->c, NULL, "restore");
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "give one FILE");
	CLI(self->c, NULL, "restore", "a", "b");
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "give one FILE");
	CLI(self->c, NULL, "restore", "--snapshot-stop", "file");
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "--snapshot-stop needs --snapshot");
}

TEST_F(cli, missing_image_is_one_line)
{
	REQUIRE_TOOL();
	CLI(self->c, NULL, "run", "/nonexistent/image.elf");
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "/nonexistent/image.elf");
	EXPECT_NE(NULL, strstr(self->c->ebuf, "No such file"));
	CLI(self->c, NULL, "run", "/");
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "not a regular file");
}

/* ---- the example guests ---------------------------------------------- */

TEST_F(cli, run_hello_real_mode)
{
	REQUIRE_RUN();
	EXPECT_EQ(ST_HALT, CLI(self->c, NULL, "run", "--mem", MEM, EXAMPLE("hello.bin")));
	EXPECT_STREQ("Hello from a minivmm guest in real mode!\n",
		     self->c->obuf);
	EXPECT_STREQ(HALT_MSG, self->c->ebuf);
}

TEST_F(cli, run_hello64_long_mode)
{
	REQUIRE_RUN();
	EXPECT_EQ(ST_DEBUG_EXIT(0),
		  CLI(self->c, NULL, "run", "--mem", MEM, EXAMPLE("hello64.elf")));
	/* The CPUID signature is 12 characters: "minivmm" and spaces. */
	snprintf(self->path, sizeof(self->path),
		 "Hello from a minivmm guest in 64-bit long mode!\n"
		 "hypervisor: %-12s\n", "minivmm");
	EXPECT_STREQ(self->path, self->c->obuf);
	EXPECT_STREQ("", self->c->ebuf);
}

TEST_F(cli, run_primes_counts_and_times)
{
	unsigned long long cycles = 0;
	const char *took;
	int n;

	REQUIRE_RUN();
	EXPECT_EQ(ST_DEBUG_EXIT(0),
		  CLI(self->c, NULL, "run", "--mem", MEM, EXAMPLE("primes.elf")));
	EXPECT_TRUE(starts_with(self->c->obuf,
				"primes below 100000: 9592\n"));
	took = strstr(self->c->obuf, "\ntook ");
	ASSERT_NE(NULL, took);
	n = sscanf(took, "\ntook %llu TSC cycles\n", &cycles);
	EXPECT_EQ(1, n);
	EXPECT_LT(0, cycles);
	EXPECT_EQ(2, count_lines(self->c->obuf));
}

TEST_F(cli, run_irq_takes_apic_timer_ticks)
{
	REQUIRE_RUN();
	EXPECT_EQ(ST_DEBUG_EXIT(0),
		  CLI(self->c, NULL, "run", "--mem", MEM, EXAMPLE("irq.elf")));
	EXPECT_STREQ("local APIC: shown in CPUID, IA32_APIC_BASE 0xfee00900, version 0x50014\n"
		     "irq: 10 timer interrupts on vector 32\n", self->c->obuf);
}

/*
 * SIGQUIT is the NMI button: the guest, halted with LINT1 in NMI mode,
 * wakes in its NMI handler and finishes. The NMI was taken, so the
 * statistics show no dropped LINT assertion.
 */
TEST_F(cli, sigquit_is_the_nmi_button)
{
	const char *row = "    dropped LINT assertions ";
	struct minivmm_caps caps;
	struct child *c = self->c;
	const char *p;

	REQUIRE_RUN();
	if (minivmm_caps(&caps) || !(caps.features & MINIVMM_CAP_LINT) ||
	    !(caps.features & MINIVMM_CAP_VIRTUAL_NMI))
		SKIP(return, "no MINIVMM_LINT or no virtual NMIs");
	ASSERT_EQ(0, child_start(c, tool, false,
				 ARGS("run", "--stats", "--mem", MEM,
				      EXAMPLE("nmi.elf"))));
	ASSERT_TRUE(child_wait_for(c, false, "nmi: waiting\n", WAIT_MS));
	/* Let it halt (not a bound: an NMI before the halt works too). */
	usleep(100000);
	ASSERT_EQ(0, kill(c->pid, SIGQUIT));
	EXPECT_EQ(ST_DEBUG_EXIT(0), child_finish(c, WAIT_MS));
	EXPECT_FALSE(c->signaled);
	EXPECT_STREQ("nmi: waiting\nnmi: 1 NMI through LINT1\n", c->obuf);
	p = strstr(c->ebuf, row);
	ASSERT_NE(NULL, p) TH_LOG("stderr: %s", c->ebuf);
	EXPECT_EQ(0, strtoll(p + strlen(row), NULL, 10));
}

/* The multiboot example's report: magic, loader, memory, modules. */
static void check_multiboot(struct __test_metadata *_metadata,
			    const char *out, const char *cmdline)
{
	unsigned int info = 0;
	const char *p;
	char want[256];
	int n;

	p = strstr(out, "multiboot: magic 0x2badb002, information at 0x");
	ASSERT_NE(NULL, p) {
		TH_LOG("output: %s", out);
	}
	n = sscanf(p, "multiboot: magic 0x2badb002, information at %x",
		   &info);
	EXPECT_EQ(1, n);
	/* Below 4 MiB, off page 0. */
	EXPECT_LE(0x1000, info);
	EXPECT_GT(0x400000, info);
	EXPECT_NE(NULL, strstr(out, ", loaded by minivmm\n"));
	snprintf(want, sizeof(want), "\ncmdline: '%s'\n", cmdline);
	EXPECT_NE(NULL, strstr(out, want));
	EXPECT_NE(NULL, strstr(out,
			       "\nmemory: lower 640 KiB, upper 1024 KiB\n"));
	EXPECT_NE(NULL, strstr(out, "\nmmap: 0x0-0x9ffff available\n"
				    "mmap: 0xa0000-0xfffff reserved\n"
				    "mmap: 0x100000-0x1fffff available\n"));
	EXPECT_EQ(NULL, strstr(out, "not page aligned"));
}

TEST_F(cli, run_multiboot_with_cmdline_and_modules)
{
	static const char m0[] = "the first module\n";
	static const char m1[] = "second\n";
	char arg0[PATH_MAX + 16], arg1[PATH_MAX], want[PATH_MAX + 64];
	unsigned int a0 = 0, a1 = 0;
	const char *p;
	int n;

	REQUIRE_RUN();
	snprintf(arg0, sizeof(arg0), "%s root=/dev/ram",
		 SCRATCH("m0.txt", m0, strlen(m0)));
	snprintf(arg1, sizeof(arg1), "%s", SCRATCH("m1.txt", m1, strlen(m1)));
	EXPECT_EQ(ST_DEBUG_EXIT(0),
		  CLI(self->c, NULL, "run", "--mem", MEM, "--cmdline", "console=ttyS0 quiet",
		      "--module", arg0, "--module", arg1,
		      EXAMPLE("multiboot.elf")));
	check_multiboot(_metadata, self->c->obuf, "console=ttyS0 quiet");
	EXPECT_NE(NULL, strstr(self->c->obuf, "\nmodules: 2\n"));
	snprintf(want, sizeof(want), "module 0: '%s', %zu bytes at 0x", arg0,
		 strlen(m0));
	p = strstr(self->c->obuf, want);
	ASSERT_NE(NULL, p) {
		TH_LOG("output: %s", self->c->obuf);
	}
	n = sscanf(p + strlen(want), "%x", &a0);
	EXPECT_EQ(1, n);
	EXPECT_NE(NULL, strstr(p, "\nthe first module\n"));
	snprintf(want, sizeof(want), "module 1: '%s', %zu bytes at 0x", arg1,
		 strlen(m1));
	p = strstr(self->c->obuf, want);
	ASSERT_NE(NULL, p);
	n = sscanf(p + strlen(want), "%x", &a1);
	EXPECT_EQ(1, n);
	EXPECT_NE(NULL, strstr(p, "\nsecond\n"));
	/* After the kernel (at 1 MiB), in order, a page each. */
	EXPECT_LT(0x100000, a0);
	EXPECT_EQ(a0 + 0x1000, a1);
}

TEST_F(cli, run_multiboot_aout_kludge)
{
	REQUIRE_RUN();
	EXPECT_EQ(ST_DEBUG_EXIT(0),
		  CLI(self->c, NULL, "run", "--mem", MEM, EXAMPLE("multiboot-aout.bin")));
	check_multiboot(_metadata, self->c->obuf, "");
	EXPECT_NE(NULL, strstr(self->c->obuf, "\nmodules: 0\n"));
}

/* A multiboot ELF forced to load as plain ELF32: no magic in EAX. */
TEST_F(cli, format_option_overrides_detection)
{
	REQUIRE_RUN();
	EXPECT_EQ(ST_DEBUG_EXIT(1),
		  CLI(self->c, NULL, "run", "--mem", MEM, "--format", "elf",
		      EXAMPLE("multiboot.elf")));
	EXPECT_STREQ("multiboot: bad magic 0x0 in EAX\n", self->c->obuf);
	EXPECT_EQ(ST_HALT, CLI(self->c, NULL, "run", "--mem", MEM, "--format", "flat",
			       EXAMPLE("hello.bin")));
	EXPECT_STREQ("Hello from a minivmm guest in real mode!\n",
		     self->c->obuf);
}

/* ---- the machine ----------------------------------------------------- */

TEST_F(cli, debugcon_hypercall_and_debug_exit)
{
	REQUIRE_RUN();
	EXPECT_EQ(ST_DEBUG_EXIT(42),
		  CLI(self->c, NULL, "run", "--mem", MEM, GUEST_FILE(guest_ports)));
	EXPECT_STREQ("e9\nhypercall\n", self->c->obuf);
	EXPECT_STREQ("", self->c->ebuf);
}

TEST_F(cli, unclaimed_ports_and_memory)
{
	REQUIRE_RUN();
	EXPECT_EQ(ST_HALT, CLI(self->c, NULL, "run", "--mem", "64K",
			       GUEST_FILE(guest_unclaimed)));
	EXPECT_STREQ("ports ok\nmmio ok\n", self->c->obuf);
}

TEST_F(cli, uart_receives_stdin_until_carrier_drops)
{
	REQUIRE_RUN();
	EXPECT_EQ(ST_HALT, CLI(self->c, "hello uart\n", "run", "--mem", MEM,
			       GUEST_FILE(guest_uart)));
	EXPECT_STREQ("hello uart\nuart ok\n", self->c->obuf);
	EXPECT_EQ(ST_HALT, CLI(self->c, NULL, "run", "--mem", MEM,
			       GUEST_FILE(guest_uart)));
	EXPECT_STREQ("uart ok\n", self->c->obuf);
}

/* The count after "NAME" in the text statistics, or -1. */
static long long stat_count(const char *text, const char *name)
{
	char want[64];
	const char *p;

	snprintf(want, sizeof(want), "    %s ", name);
	p = strstr(text, want);
	return p ? strtoll(p + strlen(want), NULL, 10) : -1;
}

/* What guest_order prints. */
static void order_output(char *buf, size_t len)
{
	size_t n = 0;
	int i;

	for (i = 0; i < ORDER_ROUNDS; i++)
		n += snprintf(buf + n, len - n, "abcdef\n");
	for (i = 0; i < BURST; i++)
		buf[n++] = 'A' + i % 26;
	snprintf(buf + n, len - n, "!\n");
}

/* Whether the module under test has posted writes. */
static bool have_posted(void)
{
	struct minivmm_caps c;

	return !minivmm_caps(&c) && (c.features & MINIVMM_CAP_POSTED_IO);
}

TEST_F(cli, uart_posted_output_keeps_the_guest_order)
{
	static char want[8 * ORDER_ROUNDS + BURST + 8];
	long long posted, full, user;

	REQUIRE_RUN();
	if (!have_posted())
		SKIP(return, "no MINIVMM_CAP_POSTED_IO");
	order_output(want, sizeof(want));
	EXPECT_EQ(ST_HALT, CLI(self->c, NULL, "run", "--mem", MEM, "--stats",
			       GUEST_FILE(guest_order)));
	EXPECT_STREQ(want, self->c->obuf);
	posted = stat_count(self->c->ebuf, "posted writes");
	full = stat_count(self->c->ebuf, "posted ring-full exits");
	user = stat_count(self->c->ebuf, "exits to userspace");
	TH_LOG("posted %lld, ring full %lld, to userspace %lld", posted, full,
	       user);
	/*
	 * Each THR write went to the ring, or exited finding it full (the
	 * burst may fill it, or the drain thread may keep up).
	 */
	EXPECT_EQ(ORDER_THR, posted + full);
	/* Exits: 3 per round, the ring-full ones, "!\n" and the HLT. */
	EXPECT_EQ(3 * ORDER_ROUNDS + full + 3, user);
	EXPECT_GT(ORDER_THR / 2, user);

	/* The same without posted writes: every THR write exits. */
	EXPECT_EQ(ST_HALT, CLI(self->c, NULL, "run", "--mem", MEM, "--stats",
			       "--no-posted", GUEST_FILE(guest_order)));
	EXPECT_STREQ(want, self->c->obuf);
	EXPECT_EQ(0, stat_count(self->c->ebuf, "posted writes"));
	EXPECT_EQ(3 * ORDER_ROUNDS + ORDER_THR + 3,
		  stat_count(self->c->ebuf, "exits to userspace"));
}

TEST_F(cli, uart_divisor_latch_and_loopback_writes_are_not_posted)
{
	REQUIRE_RUN();
	if (!have_posted())
		SKIP(return, "no MINIVMM_CAP_POSTED_IO");
	EXPECT_EQ(ST_HALT, CLI(self->c, NULL, "run", "--mem", MEM, "--stats",
			       GUEST_FILE(guest_dlab_loop)));
	EXPECT_STREQ("LLLLLLLLLLok\n", self->c->obuf);
	/* Only "ok\n" is a plain transmit. */
	EXPECT_EQ(3, stat_count(self->c->ebuf, "posted writes"));
	/* The full check of DLAB, loopback, IER, IIR, with posting on. */
	EXPECT_EQ(ST_HALT, CLI(self->c, NULL, "run", "--mem", MEM,
			       GUEST_FILE(guest_uart)));
	EXPECT_STREQ("uart ok\n", self->c->obuf);
}

TEST_F(cli, uart_thr_empty_interrupt_follows_posted_writes)
{
	char want[16 * THRE_ROUNDS + 2];
	int i;

	REQUIRE_RUN();
	if (!have_posted())
		SKIP(return, "no MINIVMM_CAP_POSTED_IO");
	for (i = 0; i < THRE_ROUNDS; i++)
		memcpy(want + 16 * i, "abcdefghijklmnop", 16);
	strcpy(want + 16 * THRE_ROUNDS, "\n");
	/* The guest halts until each interrupt: the drain thread raises it. */
	EXPECT_EQ(ST_HALT, CLI(self->c, NULL, "run", "--mem", MEM, "--stats",
			       GUEST_FILE(guest_thre)));
	EXPECT_STREQ(want, self->c->obuf);
	EXPECT_EQ(16 * THRE_ROUNDS, stat_count(self->c->ebuf, "posted writes"));
	EXPECT_EQ(ST_HALT, CLI(self->c, NULL, "run", "--mem", MEM, "--stats",
			       "--no-posted", GUEST_FILE(guest_thre)));
	EXPECT_STREQ(want, self->c->obuf);
	EXPECT_EQ(0, stat_count(self->c->ebuf, "posted writes"));
}

TEST_F(cli, flat_image_above_64k_runs_at_cs_base)
{
	REQUIRE_RUN();
	EXPECT_EQ(ST_HALT, CLI(self->c, NULL, "run", "--mem", MEM, "--entry", "0x20000",
			       GUEST_FILE(guest_where)));
	EXPECT_STREQ("P\n", self->c->obuf);
	CLI(self->c, NULL, "run", "--mem", MEM, "--entry", "0x20008",
	    GUEST_FILE(guest_where));
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "16-byte aligned");
	CLI(self->c, NULL, "run", "--mem", MEM, "--entry", "0x100000",
	    GUEST_FILE(guest_where));
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "not below 1 MiB");
}

TEST_F(cli, trace_prints_each_exit)
{
	REQUIRE_RUN();
	EXPECT_EQ(ST_HALT, CLI(self->c, NULL, "run", "--mem", MEM, "--trace",
			       EXAMPLE("hello.bin")));
	EXPECT_STREQ("Hello from a minivmm guest in real mode!\n",
		     self->c->obuf);
	EXPECT_TRUE(starts_with(self->c->ebuf,
				"trace: flat image 0x7c00-0x7c4c, entry 0x7c00\n"));
	EXPECT_NE(NULL, strstr(self->c->ebuf,
			       "\ntrace: io in port 0x3fd (uart) size 1 -> 0x60 rip 0x7c"));
	EXPECT_NE(NULL, strstr(self->c->ebuf,
			       "\ntrace: io out port 0x3f8 (uart) size 1 data 0x48 rip 0x7c"));
	EXPECT_NE(NULL, strstr(self->c->ebuf, "\ntrace: hlt rip 0x7c"));
	/* Per character: the status read and the write. */
	EXPECT_LE(2 * 41 + 2, count_lines(self->c->ebuf));
}

TEST_F(cli, stats_option_counts_exits)
{
	REQUIRE_RUN();
	EXPECT_EQ(ST_HALT, CLI(self->c, NULL, "run", "--stats",
			       EXAMPLE("hello.bin")));
	EXPECT_STREQ("Hello from a minivmm guest in real mode!\n",
		     self->c->obuf);
	EXPECT_TRUE(starts_with(self->c->ebuf, HALT_MSG "VM "));
	EXPECT_NE(NULL, strstr(self->c->ebuf, ", 1 vCPU, 16 MiB\n"));
	EXPECT_NE(NULL, strstr(self->c->ebuf, "\n  vCPU 0: "));
	/* 41 characters, each an LSR read and a THR write. */
	EXPECT_LE(82, stat_count(self->c->ebuf, "IO_INSTRUCTION"));
	EXPECT_EQ(1, stat_count(self->c->ebuf, "HLT"));
}

TEST_F(cli, vcpus_option_creates_waiting_vcpus)
{
	REQUIRE_RUN();
	EXPECT_EQ(ST_HALT, CLI(self->c, NULL, "run", "--mem", MEM, "--vcpus", "3",
			       "--stats", EXAMPLE("hello.bin")));
	EXPECT_NE(NULL, strstr(self->c->ebuf, ", 3 vCPUs, " MEM_TEXT "\n"));
	EXPECT_NE(NULL, strstr(self->c->ebuf, "\n  vCPU 1: 0 entries, 0 exits"));
	EXPECT_NE(NULL, strstr(self->c->ebuf, "\n  vCPU 2: 0 entries, 0 exits"));
	CLI(self->c, NULL, "run", "--mem", MEM, "--vcpus", "17", EXAMPLE("hello.bin"));
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "at most 16 vCPUs");
}

TEST_F(cli, timeout_stops_a_spinning_guest)
{
	REQUIRE_RUN();
	EXPECT_EQ(ST_TIMEOUT, CLI(self->c, NULL, "run", "--mem", MEM, "--timeout", "1",
				  GUEST_FILE(guest_spin)));
	EXPECT_STREQ("s\n", self->c->obuf);
	EXPECT_FALSE(self->c->signaled);
	EXPECT_EQ(1, count_lines(self->c->ebuf));
	EXPECT_NE(NULL, strstr(self->c->ebuf, "timeout"));
}

TEST_F(cli, ctrl_c_stops_a_spinning_guest)
{
	struct child *c = self->c;

	REQUIRE_RUN();
	ASSERT_EQ(0, child_start(c, tool, false,
				 ARGS("run", "--mem", MEM,
				      GUEST_FILE(guest_spin))));
	ASSERT_TRUE(child_wait_for(c, false, "s\n", WAIT_MS));
	/* The guest spins inside RUN, without exits: interrupt it. */
	usleep(100000);
	ASSERT_EQ(0, kill(c->pid, SIGINT));
	EXPECT_EQ(ST_SIGINT, child_finish(c, WAIT_MS));
	EXPECT_FALSE(c->signaled);
	EXPECT_NE(NULL, strstr(c->ebuf, "interrupted"));
}

TEST_F(cli, triple_fault_is_explained)
{
	REQUIRE_RUN();
	EXPECT_EQ(ST_CRASH, CLI(self->c, NULL, "run", "--mem", MEM,
				GUEST_FILE(guest_triple)));
	EXPECT_TRUE(starts_with(self->c->ebuf,
				"minivmm: the guest triple-faulted"));
	EXPECT_NE(NULL, strstr(self->c->ebuf, "\n  rip "));
	EXPECT_NE(NULL, strstr(self->c->ebuf, "\n  cs  0000 "));
	EXPECT_NE(NULL, strstr(self->c->ebuf, "\n  cr0 "));
}

TEST_F(cli, rep_outs_reaches_the_console_in_both_directions)
{
	REQUIRE_RUN();
	EXPECT_EQ(ST_HALT, CLI(self->c, NULL, "run", "--mem", MEM,
			       GUEST_FILE(guest_outs)));
	EXPECT_STREQ("outs\nbackwards\n", self->c->obuf);
	EXPECT_STREQ(HALT_MSG, self->c->ebuf);
}

TEST_F(cli, mmio_emulation_failure_is_explained)
{
	REQUIRE_RUN();
	EXPECT_EQ(ST_CRASH, CLI(self->c, NULL, "run", "--mem", "64K",
				GUEST_FILE(guest_mmio_not)));
	/* notb %es:0 is 26 f6 16 00 00. */
	EXPECT_TRUE(starts_with(self->c->ebuf,
				"minivmm: the guest ran an instruction minivmm cannot emulate")) {
		TH_LOG("stderr: %s", self->c->ebuf);
	}
	EXPECT_NE(NULL, strstr(self->c->ebuf,
			       " on MMIO at 0x20000 (instruction bytes 26 f6 16 00 00")) {
		TH_LOG("stderr: %s", self->c->ebuf);
	}
}

TEST_F(cli, mmio_read_modify_write_reads_then_writes)
{
	REQUIRE_RUN();
	EXPECT_EQ(ST_HALT, CLI(self->c, NULL, "run", "--mem", "64K", "--trace",
			       GUEST_FILE(guest_mmio_rmw)));
	EXPECT_STREQ("k", self->c->obuf);
	EXPECT_NE(NULL, strstr(self->c->ebuf,
			       "trace: mmio read 0x20000 len 1 -> 0 rip 0x7c0b\n"
			       "trace: mmio write 0x20000 len 1 data 0x1 (dropped) rip 0x7c0b\n"))
		TH_LOG("stderr: %s", self->c->ebuf);
	EXPECT_NE(NULL, strstr(self->c->ebuf,
			       "trace: mmio write 0x20002 len 2 data 0x8 (dropped)"))
		TH_LOG("stderr: %s", self->c->ebuf);
}

TEST_F(cli, port_0x92_bit_0_resets_and_post_codes_are_silent)
{
	REQUIRE_RUN();
	EXPECT_EQ(ST_RESET, CLI(self->c, NULL, "run", "--mem", MEM,
				GUEST_FILE(guest_reset92)));
	EXPECT_STREQ("", self->c->obuf);
	EXPECT_STREQ("", self->c->ebuf);
	EXPECT_EQ(ST_RESET, CLI(self->c, NULL, "run", "--mem", MEM, "--trace",
				GUEST_FILE(guest_reset92)));
	EXPECT_NE(NULL, strstr(self->c->ebuf,
			       "trace: io out port 0x80 (post code) size 1 data 0x55"));
	EXPECT_NE(NULL, strstr(self->c->ebuf, "trace: reset through port 0x92"));
}

TEST_F(cli, keyboard_controller_command_0xfe_resets)
{
	REQUIRE_RUN();
	EXPECT_EQ(ST_RESET, CLI(self->c, NULL, "run", "--mem", MEM, "--trace",
				GUEST_FILE(guest_reset64)));
	EXPECT_NE(NULL, strstr(self->c->ebuf,
			       "trace: io in port 0x60 (keyboard controller) size 1 -> 0xff"));
	EXPECT_NE(NULL, strstr(self->c->ebuf,
			       "trace: reset through the keyboard controller"));
}

/* Mount tracefs if it is not; false when there is none. */
static bool have_tracefs(void)
{
	if (!access("/sys/kernel/tracing/instances", F_OK) ||
	    !access("/sys/kernel/debug/tracing/instances", F_OK))
		return true;
	return !mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL);
}

TEST_F(cli, trace_names_the_msr_behind_a_gp)
{
	REQUIRE_RUN();
	if (!have_tracefs())
		SKIP(return, "no tracefs");
	EXPECT_EQ(ST_CRASH, CLI(self->c, NULL, "run", "--mem", MEM, "--trace",
				GUEST_FILE(guest_bad_msr)));
	EXPECT_NE(NULL, strstr(self->c->ebuf,
			       " vcpu 0 rdmsr msr 0xdeadbeef -> #GP\n"))
		TH_LOG("stderr: %s", self->c->ebuf);
	EXPECT_NE(NULL, strstr(self->c->ebuf, "trace: shutdown rip "));
}

/* ---- bad images ------------------------------------------------------ */

/*
 * A minimal ELF64 executable: @nph program headers, each a PT_LOAD of
 * the 16 bytes after them (HLT first) at 1 MiB + 4 KiB * i.
 */
struct elf64 {
	struct elf64_hdr eh;
	struct elf64_phdr ph[2];
	uint8_t code[16];
};

static void make_elf64(struct elf64 *e, int nph)
{
	int i;

	memset(e, 0, sizeof(*e));
	memcpy(e->eh.e_ident, ELFMAG, SELFMAG);
	e->eh.e_ident[EI_CLASS] = ELFCLASS64;
	e->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	e->eh.e_ident[EI_VERSION] = EV_CURRENT;
	e->eh.e_type = ET_EXEC;
	e->eh.e_machine = EM_X86_64;
	e->eh.e_version = EV_CURRENT;
	e->eh.e_entry = 0x100000;
	e->eh.e_phoff = offsetof(struct elf64, ph);
	e->eh.e_ehsize = sizeof(e->eh);
	e->eh.e_phentsize = sizeof(struct elf64_phdr);
	e->eh.e_phnum = nph;
	for (i = 0; i < nph; i++) {
		e->ph[i].p_type = PT_LOAD;
		e->ph[i].p_offset = offsetof(struct elf64, code);
		e->ph[i].p_vaddr = 0x100000 + 0x1000 * i;
		e->ph[i].p_paddr = e->ph[i].p_vaddr;
		e->ph[i].p_filesz = sizeof(e->code);
		e->ph[i].p_memsz = sizeof(e->code);
		e->ph[i].p_flags = PF_R | PF_X;
	}
	e->code[0] = 0xf4;		/* hlt, with interrupts off */
}

TEST_F(cli, crafted_elf_runs)
{
	struct elf64 e;

	REQUIRE_RUN();
	make_elf64(&e, 2);
	EXPECT_EQ(ST_HALT, CLI(self->c, NULL, "run", "--mem", MEM,
			       SCRATCH("ok.elf", &e, sizeof(e))));
	EXPECT_STREQ(HALT_MSG, self->c->ebuf);
}

TEST_F(cli, bad_elf_images_are_one_line)
{
	struct elf64 e;

	REQUIRE_RUN();
	make_elf64(&e, 2);
	e.eh.e_machine = EM_AARCH64;
	CLI(self->c, NULL, "run", "--mem", MEM_SMALL, SCRATCH("arm.elf", &e, sizeof(e)));
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "machine 183 (AArch64)");

	make_elf64(&e, 2);
	e.eh.e_ident[EI_CLASS] = 7;
	CLI(self->c, NULL, "run", "--mem", MEM_SMALL, SCRATCH("class.elf", &e, sizeof(e)));
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "bad ELF class 7");

	make_elf64(&e, 2);
	e.eh.e_type = ET_DYN;
	CLI(self->c, NULL, "run", "--mem", MEM_SMALL, SCRATCH("pie.elf", &e, sizeof(e)));
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "position-independent");

	make_elf64(&e, 2);
	e.ph[1].p_offset = 0x10000;
	CLI(self->c, NULL, "run", "--mem", MEM_SMALL, SCRATCH("beyond.elf", &e, sizeof(e)));
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "truncated ELF: segment 1");

	make_elf64(&e, 2);
	e.ph[0].p_filesz = 12;
	e.ph[0].p_memsz = 8;
	CLI(self->c, NULL, "run", "--mem", MEM_SMALL, SCRATCH("filesz.elf", &e, sizeof(e)));
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "more bytes in the file");

	make_elf64(&e, 2);
	e.ph[1].p_vaddr = 0xffffffff80100000ULL;
	CLI(self->c, NULL, "run", "--mem", MEM_SMALL, SCRATCH("virt.elf", &e, sizeof(e)));
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "identity mapped");

	make_elf64(&e, 2);
	e.eh.e_entry = 0x200000;
	CLI(self->c, NULL, "run", "--mem", MEM_SMALL, SCRATCH("entry.elf", &e, sizeof(e)));
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "entry point 0x200000");

	make_elf64(&e, 2);
	e.eh.e_phentsize = 40;
	CLI(self->c, NULL, "run", "--mem", MEM_SMALL, SCRATCH("phent.elf", &e, sizeof(e)));
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "program header size 40");

	CLI(self->c, NULL, "run", "--mem", MEM_SMALL, "--format", "elf", EXAMPLE("hello.bin"));
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "not an ELF file");
}

TEST_F(cli, overlapping_segments_are_refused)
{
	struct elf64 e;

	REQUIRE_RUN();
	make_elf64(&e, 2);
	e.ph[1].p_paddr = 0x100008;
	e.ph[1].p_vaddr = 0x100008;
	CLI(self->c, NULL, "run", "--mem", MEM, SCRATCH("overlap.elf", &e, sizeof(e)));
	EXPECT_ONE_ERROR(self->c, ST_TOOL,
			 "segment 0 (0x100000-0x100010) overlaps segment 1 (0x100008-0x100018)");
}

TEST_F(cli, image_larger_than_memory_is_refused)
{
	static char big[128 << 10];

	REQUIRE_RUN();
	CLI(self->c, NULL, "run", "--mem", "64K", EXAMPLE("hello64.elf"));
	EXPECT_ONE_ERROR(self->c, ST_TOOL,
			 "does not fit in the 64 KiB of guest memory");
	CLI(self->c, NULL, "run", "--mem", "64K",
	    SCRATCH("big.bin", big, sizeof(big)));
	EXPECT_ONE_ERROR(self->c, ST_TOOL,
			 "the image (0x7c00-0x27c00) does not fit in the 64 KiB of guest memory");
}

TEST_F(cli, multiboot_errors_are_one_line)
{
	REQUIRE_RUN();
	CLI(self->c, NULL, "run", "--mem", MEM_SMALL, "--format", "multiboot",
	    EXAMPLE("hello.bin"));
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "no multiboot header");
	CLI(self->c, NULL, "run", "--mem", MEM_SMALL, "--cmdline", "x", EXAMPLE("hello.bin"));
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "need a multiboot image");
	CLI(self->c, NULL, "run", "--mem", MEM_SMALL, "--module", "/nonexistent/module",
	    EXAMPLE("multiboot.elf"));
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "/nonexistent/module");
	CLI(self->c, NULL, "run", "--mem", "1M", EXAMPLE("multiboot.elf"));
	EXPECT_ONE_ERROR(self->c, ST_TOOL, "does not fit");
}

/* Every prefix of a real ELF file: an error line, never a crash. */
TEST_F(cli, truncated_elf_files_are_one_line)
{
	static const size_t lengths[] = {
		0, 1, 4, 5, 16, 52, 63, 64, 100, 119, 120, 176, 200, 4095,
		4096, 4097,
	};
	char *image;
	struct stat st;
	unsigned int i;
	FILE *f;

	REQUIRE_RUN();
	f = fopen(EXAMPLE("hello64.elf"), "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(0, fstat(fileno(f), &st));
	image = malloc(st.st_size);
	ASSERT_NE(NULL, image);
	ASSERT_EQ(st.st_size, fread(image, 1, st.st_size, f));
	fclose(f);
	for (i = 0; i < ARRAY_SIZE(lengths); i++) {
		CLI(self->c, NULL, "run", "--mem", MEM_SMALL, "--format", "elf",
		    SCRATCH("cut.elf", image, lengths[i]));
		EXPECT_FALSE(self->c->signaled);
		EXPECT_EQ(ST_TOOL, self->c->status);
		EXPECT_EQ(1, count_lines(self->c->ebuf)) {
			TH_LOG("%zu bytes: %s", lengths[i], self->c->ebuf);
		}
		EXPECT_TRUE(strstr(self->c->ebuf, "ELF") ||
			    strstr(self->c->ebuf, "entry point")) {
			TH_LOG("%zu bytes: %s", lengths[i], self->c->ebuf);
		}
	}
	free(image);
}

/* ---- list, stat, events, caps --------------------------------------- */

/* The id of the VM of process @pid from 'minivmm list', or -1. */
static long vm_of(struct __test_metadata *_metadata, struct child *c,
		  pid_t pid)
{
	unsigned int id, owner;
	char *line, *save;

	if (CLI(c, NULL, "list") != 0)
		return -1;
	for (line = strtok_r(c->obuf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%u %u", &id, &owner) == 2 &&
		    owner == (unsigned int)pid)
			return id;
	return -1;
}

/* IO_INSTRUCTION exits of vCPU 0 of VM @id, from 'stat --json'. */
static long long io_exits(struct __test_metadata *_metadata,
			  struct child *c, long id)
{
	const char *p;
	char arg[16];

	snprintf(arg, sizeof(arg), "%ld", id);
	if (CLI(c, NULL, "stat", "--json", arg) != 0)
		return -1;
	p = strstr(c->obuf, "\"IO_INSTRUCTION\":");
	return p ? strtoll(p + 17, NULL, 10) : -1;
}

/* Start guest_iowait and wait until it halts for input; its VM id. */
static long start_iowait(struct __test_metadata *_metadata,
			 struct child *c, struct child *c2, const char *image)
{
	long id;

	ASSERT_EQ(0, child_start(c, tool, true,
				 ARGS("run", "--mem", MEM, image)));
	ASSERT_TRUE(child_wait_for(c, false, "A\n", WAIT_MS)) {
		TH_LOG("stdout: %s stderr: %s", c->obuf, c->ebuf);
	}
	id = vm_of(_metadata, c2, c->pid);
	ASSERT_LT(0, id);
	return id;
}

#define START_IOWAIT()							\
	start_iowait(_metadata, self->c, self->c2,			\
		     GUEST_FILE(guest_iowait))

/* Wake guest_iowait twice: it says "B", then halts for good. */
static int finish_iowait(struct child *c)
{
	if (write(c->in, "x", 1) != 1 ||
	    !child_wait_for(c, false, "B\n", WAIT_MS) ||
	    write(c->in, "y", 1) != 1)
		return -1;
	return child_finish(c, WAIT_MS);
}

TEST_F(cli, list_shows_a_running_vm_and_its_owner)
{
	char want[128], line[256];
	const char *p;
	long id;
	int n;

	REQUIRE_RUN();
	id = START_IOWAIT();
	ASSERT_EQ(0, CLI(self->c2, NULL, "list"));
	EXPECT_TRUE(starts_with(self->c2->obuf,
				"    VM      PID COMMAND             UID VCPUS     MEMORY\n"));
	snprintf(want, sizeof(want), "%6ld %8d minivmm ", id, self->c->pid);
	p = strstr(self->c2->obuf, want);
	ASSERT_NE(NULL, p) {
		TH_LOG("list: %s", self->c2->obuf);
	}
	snprintf(line, sizeof(line), "%6ld %8d %-16s %6u %5u %10s\n", id,
		 self->c->pid, "minivmm", geteuid(), 1, MEM_TEXT);
	EXPECT_EQ(0, strncmp(p, line, strlen(line)));

	ASSERT_EQ(0, CLI(self->c2, NULL, "list", "--json"));
	n = snprintf(want, sizeof(want),
		     "{\"id\":%ld,\"pid\":%d,\"comm\":\"minivmm\",", id,
		     self->c->pid);
	snprintf(want + n, sizeof(want) - n,
		 "\"uid\":%u,\"nr_vcpus\":1,\"mem_bytes\":%s}", geteuid(),
		 MEM_BYTES);
	EXPECT_NE(NULL, strstr(self->c2->obuf, want));
	EXPECT_EQ('[', self->c2->obuf[0]);

	/* Input wakes the guest, which then halts for good. */
	EXPECT_EQ(ST_HALT, finish_iowait(self->c));
	EXPECT_STREQ("A\nB\n", self->c->obuf);
	EXPECT_EQ(-1, vm_of(_metadata, self->c2, self->c->pid));
}

TEST_F(cli, stat_counts_what_the_guest_did)
{
	long long before, after;
	long id;

	REQUIRE_RUN();
	id = START_IOWAIT();
	before = io_exits(_metadata, self->c2, id);
	ASSERT_LE(0, before);
	/* One byte wakes the guest: IO_COUNT writes to port 0x80. */
	ASSERT_EQ(1, write(self->c->in, "x", 1));
	ASSERT_TRUE(child_wait_for(self->c, false, "B\n", WAIT_MS));
	after = io_exits(_metadata, self->c2, id);
	/* Also the ISR's few UART reads and the "B\n". */
	EXPECT_LE(before + IO_COUNT, after);
	EXPECT_GE(before + IO_COUNT + 16, after);
	TH_LOG("IO_INSTRUCTION %lld -> %lld", before, after);
	ASSERT_EQ(1, write(self->c->in, "y", 1));
	EXPECT_EQ(ST_HALT, child_finish(self->c, WAIT_MS));
	EXPECT_STREQ("A\nB\n", self->c->obuf);
}

TEST_F(cli, stat_text_all_vms_and_unknown_vm)
{
	char want[64];
	long id;

	REQUIRE_RUN();
	id = START_IOWAIT();
	ASSERT_EQ(0, CLI(self->c2, NULL, "stat"));
	snprintf(want, sizeof(want),
		 "VM %ld: pid %d (minivmm), uid %u, 1 vCPU, " MEM_TEXT "\n",
		 id, self->c->pid, geteuid());
	EXPECT_NE(NULL, strstr(self->c2->obuf, want)) {
		TH_LOG("stat: %s", self->c2->obuf);
	}
	EXPECT_NE(NULL, strstr(self->c2->obuf, "\n  vCPU 0: "));
	EXPECT_LE(2, stat_count(self->c2->obuf, "IO_INSTRUCTION"));
	EXPECT_LE(1, stat_count(self->c2->obuf, "HLT"));

	ASSERT_EQ(0, CLI(self->c2, NULL, "stat", "--json"));
	EXPECT_EQ('[', self->c2->obuf[0]);
	snprintf(want, sizeof(want), "{\"id\":%ld,\"pid\":%d,", id,
		 self->c->pid);
	EXPECT_NE(NULL, strstr(self->c2->obuf, want));
	EXPECT_EQ(ST_HALT, finish_iowait(self->c));

	snprintf(want, sizeof(want), "%ld", id);
	CLI(self->c2, NULL, "stat", want);
	EXPECT_ONE_ERROR(self->c2, 1, "no VM");
}

TEST_F(cli, stat_watch_refreshes)
{
	char arg[16], want[32];
	const char *p;
	long id;

	REQUIRE_RUN();
	id = START_IOWAIT();
	snprintf(arg, sizeof(arg), "%ld", id);
	snprintf(want, sizeof(want), "VM %ld: ", id);
	ASSERT_EQ(0, child_start(self->c2, tool, false,
				 ARGS("stat", "--watch", arg)));
	ASSERT_TRUE(child_wait_for(self->c2, false, want, WAIT_MS));
	p = strstr(self->c2->obuf, want);
	/* The second refresh, with what grew since the first. */
	while (!strstr(p + 1, want) && self->c2->out >= 0)
		child_pump(self->c2, 1000);
	EXPECT_NE(NULL, strstr(p + 1, want));
	EXPECT_NE(NULL, strstr(p + 1, " +"));
	kill(self->c2->pid, SIGINT);
	child_finish(self->c2, WAIT_MS);
	EXPECT_EQ(ST_HALT, finish_iowait(self->c));
}

/* Read events until one matching @needle; true when it came. */
static bool event_seen(struct child *ev, const char *needle)
{
	return child_wait_for(ev, false, needle, WAIT_MS);
}

TEST_F(cli, events_show_a_vm_started_elsewhere)
{
	struct child *ev = self->c2;
	char want[128];
	unsigned int vm = 0;
	const char *p;
	int n;

	REQUIRE_RUN();
	ASSERT_EQ(0, child_start(ev, tool, false, ARGS("events")));
	ASSERT_TRUE(child_wait_for(ev, true, "listening", WAIT_MS));
	EXPECT_EQ(ST_HALT, CLI(self->c, NULL, "run", "--mem", MEM, EXAMPLE("hello.bin")));

	ASSERT_TRUE(event_seen(ev, "vm-destroyed")) {
		TH_LOG("events: %s", ev->obuf);
	}
	p = strstr(ev->obuf, "vm-created vm=");
	ASSERT_NE(NULL, p);
	n = sscanf(p, "vm-created vm=%u", &vm);
	ASSERT_EQ(1, n);
	snprintf(want, sizeof(want), "vm-created vm=%u\n", vm);
	EXPECT_NE(NULL, strstr(ev->obuf, want));
	snprintf(want, sizeof(want), "vm-destroyed vm=%u\n", vm);
	EXPECT_NE(NULL, strstr(ev->obuf, want)) {
		TH_LOG("events: %s", ev->obuf);
	}
	ASSERT_EQ(0, kill(ev->pid, SIGTERM));
	child_finish(ev, WAIT_MS);
	EXPECT_TRUE(ev->signaled);
}

TEST_F(cli, events_show_a_triple_fault)
{
	struct child *ev = self->c2;

	REQUIRE_RUN();
	ASSERT_EQ(0, child_start(ev, tool, false, ARGS("events", "--json")));
	ASSERT_TRUE(child_wait_for(ev, true, "listening", WAIT_MS));
	EXPECT_EQ(ST_CRASH, CLI(self->c, NULL, "run", "--mem", MEM, "--vcpus", "2",
				GUEST_FILE(guest_triple)));
	ASSERT_TRUE(event_seen(ev, "\"vm-destroyed\"")) {
		TH_LOG("events: %s", ev->obuf);
	}
	EXPECT_NE(NULL, strstr(ev->obuf, "{\"event\":\"vcpu-shutdown\",\"vm\":"));
	EXPECT_NE(NULL, strstr(ev->obuf, ",\"vcpu\":0}\n")) {
		TH_LOG("events: %s", ev->obuf);
	}
	kill(ev->pid, SIGTERM);
	child_finish(ev, WAIT_MS);
}

TEST_F(cli, caps_over_netlink_match_the_ioctl)
{
	struct minivmm_caps caps;
	char want[128];

	REQUIRE_RUN();
	ASSERT_EQ(0, minivmm_caps(&caps));
	ASSERT_EQ(0, CLI(self->c, NULL, "caps", "--json"));
	snprintf(want, sizeof(want),
		 "{\"api_version\":%d,\"vmcs_revision\":%u,\"vmcs_size\":%u,\"features\":[\"ept\"",
		 MINIVMM_API_VERSION, caps.vmcs_revision, caps.vmcs_size);
	EXPECT_EQ(0, strncmp(self->c->obuf, want, strlen(want))) {
		TH_LOG("caps: %s", self->c->obuf);
	}
	snprintf(want, sizeof(want),
		 "\"tsc_khz\":%u,\"max_vcpus\":%u,\"max_mem_slots\":%u,\"nr_cpus_online\":%u,",
		 caps.tsc_khz, caps.max_vcpus, caps.max_mem_slots,
		 caps.nr_cpus_online);
	EXPECT_NE(NULL, strstr(self->c->obuf, want));
	ASSERT_EQ(0, CLI(self->c, NULL, "caps"));
	EXPECT_NE(NULL, strstr(self->c->obuf, "\nfeatures:         ept "));
}

TEST_F(cli, caps_show_the_apic_assists_in_use)
{
	const char *used, *json;
	struct minivmm_caps caps;

	REQUIRE_RUN();
	ASSERT_EQ(0, minivmm_caps(&caps));
	/* minivmm uses the TPR shadow when there is one, and nothing else. */
	ASSERT_EQ(0, caps.apic_assists_used & ~MINIVMM_APIC_TPR_SHADOW);
	used = caps.apic_assists_used ? " tpr_shadow\n" : " none\n";
	json = caps.apic_assists_used ?
	       ",\"apic_assists_used\":[\"tpr_shadow\"]}\n" :
	       ",\"apic_assists_used\":[]}\n";
	ASSERT_EQ(0, CLI(self->c, NULL, "caps"));
	EXPECT_NE(NULL, strstr(self->c->obuf, "\napic assists:     ")) {
		TH_LOG("caps: %s", self->c->obuf);
	}
	EXPECT_NE(NULL, strstr(self->c->obuf, "\nassists in use:  ")) {
		TH_LOG("caps: %s", self->c->obuf);
	}
	EXPECT_NE(NULL, strstr(strstr(self->c->obuf, "\nassists in use:") ?:
			       "", used));
	ASSERT_EQ(0, CLI(self->c, NULL, "caps", "--json"));
	EXPECT_NE(NULL, strstr(self->c->obuf, json)) {
		TH_LOG("caps: %s", self->c->obuf);
	}
}

TEST_F(cli, clear_errors_without_the_module)
{
	static const char *const nl_commands[] = {
		"list", "stat", "events", "caps",
	};
	unsigned int i;

	REQUIRE_RUN();
	if (syscall(__NR_delete_module, "minivmm", O_NONBLOCK))
		SKIP(return, "cannot unload the module: %s", strerror(errno));
	self->unloaded = true;
	for (i = 0; i < ARRAY_SIZE(nl_commands); i++) {
		CLI(self->c, NULL, nl_commands[i]);
		EXPECT_ONE_ERROR(self->c, 1,
				 "the minivmm module is not loaded (no generic netlink family \"minivmm\")");
	}
	CLI(self->c, NULL, "run", "--mem", MEM_SMALL, EXAMPLE("hello.bin"));
	EXPECT_ONE_ERROR(self->c, ST_TOOL,
			 "/dev/minivmm (is the minivmm module loaded?)");
	ASSERT_EQ(0, system("modprobe minivmm"));
	self->unloaded = false;
	EXPECT_EQ(ST_HALT, CLI(self->c, NULL, "run", "--mem", MEM_SMALL,
			       EXAMPLE("hello.bin")));
	EXPECT_EQ(0, CLI(self->c, NULL, "list"));
}

/* ---- libminivmm, directly -------------------------------------------- */

TEST(lib_detects_formats)
{
	static const uint8_t elf[] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
	uint32_t mb[8] = { 0, MVM_MULTIBOOT_MAGIC, 0, -MVM_MULTIBOOT_MAGIC };
	static uint8_t late[MVM_MULTIBOOT_SEARCH + 16];
	enum mvm_format f;

	EXPECT_EQ(MVM_FORMAT_ELF, mvm_detect_format(elf, sizeof(elf)));
	EXPECT_EQ(MVM_FORMAT_FLAT, mvm_detect_format(elf, 3));
	EXPECT_EQ(MVM_FORMAT_FLAT, mvm_detect_format("", 0));
	EXPECT_EQ(MVM_FORMAT_MULTIBOOT, mvm_detect_format(mb, sizeof(mb)));
	mb[3]++;			/* a bad checksum */
	EXPECT_EQ(MVM_FORMAT_FLAT, mvm_detect_format(mb, sizeof(mb)));
	/* Only the first 8 KiB count. */
	mb[3]--;
	memcpy(late + MVM_MULTIBOOT_SEARCH, mb + 1, 12);
	EXPECT_EQ(MVM_FORMAT_FLAT, mvm_detect_format(late, sizeof(late)));
	memcpy(late + MVM_MULTIBOOT_SEARCH - 12, mb + 1, 12);
	EXPECT_EQ(MVM_FORMAT_MULTIBOOT, mvm_detect_format(late, sizeof(late)));
	EXPECT_EQ(0, mvm_format_parse("multiboot", &f));
	EXPECT_EQ(MVM_FORMAT_MULTIBOOT, f);
	EXPECT_GT(0, mvm_format_parse("pe", &f));
	EXPECT_EQ(NULL, strchr(mvm_strerror(NULL), '\n'));
}

/* The bss is zeroed even over memory the guest had written. */
TEST(lib_elf_zeroes_bss_and_places_page_tables_around_the_image)
{
	struct minivmm_sregs s;
	struct mvm_boot boot = { .format = MVM_FORMAT_ELF };
	struct mvm_vcpu *vcpu;
	struct elf64 e;
	struct mvm *vm;
	uint8_t *mem;
	unsigned int i;

	REQUIRE_VMX();
	make_elf64(&e, 2);
	/* Segment 0 where the page tables would go first; 1 with a bss. */
	e.ph[0].p_paddr = 0x1000;
	e.ph[0].p_vaddr = 0x1000;
	e.ph[0].p_memsz = 0x3000;
	e.eh.e_entry = 0x1000;
	e.ph[1].p_memsz = 0x2000;
	ASSERT_EQ(0, mvm_create(&vm, 4 << 20));
	ASSERT_EQ(0, mvm_vcpu_create(vm, 0, &vcpu));
	mem = mvm_gpa(vm, 0, 4 << 20);
	ASSERT_NE(NULL, mem);
	memset(mem, 0xaa, 4 << 20);
	ASSERT_EQ(0, mvm_load(vm, vcpu, &e, sizeof(e), &boot)) {
		TH_LOG("%s", mvm_strerror(vm));
	}
	EXPECT_EQ(MVM_FORMAT_ELF, boot.loaded);
	EXPECT_EQ(64, boot.elf_class);
	EXPECT_EQ(0x1000, boot.entry);
	EXPECT_EQ(0x1000, boot.image_start);
	EXPECT_EQ(0x103000, boot.image_end);
	EXPECT_EQ(0xf4, mem[0x1000]);
	EXPECT_EQ(0xf4, mem[0x101000]);
	for (i = sizeof(e.code); i < 0x3000; i++)
		ASSERT_EQ(0, mem[0x1000 + i]);
	for (i = sizeof(e.code); i < 0x2000; i++)
		ASSERT_EQ(0, mem[0x101000 + i]);
	EXPECT_EQ(0xaa, mem[0x103000]);
	/* GDT, PML4, PDPT, 4 page directories: right after segment 0. */
	EXPECT_EQ(0x4000, boot.data_addr);
	EXPECT_EQ(7 * 4096, boot.data_size);
	ASSERT_EQ(0, mvm_get_sregs(vcpu, &s));
	EXPECT_EQ(boot.data_addr + 4096, s.cr3);
	EXPECT_EQ(boot.data_addr, s.gdt.base);
	EXPECT_EQ(MVM_SEL_CODE64, s.cs.selector);
	EXPECT_EQ(0x500, s.efer & 0x500);	/* LME, LMA */
	/* It runs: HLT with interrupts off. */
	ASSERT_EQ(0, mvm_run(vcpu));
	EXPECT_EQ(MINIVMM_EXIT_HLT, mvm_vcpu_run_struct(vcpu)->exit_reason);
	EXPECT_EQ(0x1001, mvm_vcpu_run_struct(vcpu)->rip);
	mvm_destroy(vm);
}

TEST(lib_multiboot_information)
{
	static const char mod[] = "module contents";
	struct mvm_module mods[2] = {
		{ mod, sizeof(mod), "mod0 arg" },
		{ mod, 5000, NULL },
	};
	struct mvm_boot boot = {
		.format = MVM_FORMAT_AUTO, .cmdline = "a b c",
		.modules = mods, .nr_modules = 2,
	};
	char path[PATH_MAX], *image;
	struct minivmm_regs regs;
	struct mvm_vcpu *vcpu;
	uint32_t *info, *m;
	struct mvm *vm;
	size_t size;

	REQUIRE_VMX();
	mods[1].data = calloc(1, 5000);
	ASSERT_TRUE(find_file("multiboot.elf", "userspace/guests", path));
	ASSERT_EQ(0, mvm_read_file(path, (void **)&image, &size));
	ASSERT_EQ(0, mvm_create(&vm, 32 << 20));
	ASSERT_EQ(0, mvm_vcpu_create(vm, 0, &vcpu));
	ASSERT_EQ(0, mvm_load(vm, vcpu, image, size, &boot)) {
		TH_LOG("%s", mvm_strerror(vm));
	}
	EXPECT_EQ(MVM_FORMAT_MULTIBOOT, boot.loaded);
	ASSERT_EQ(0, mvm_get_regs(vcpu, &regs));
	EXPECT_EQ(MVM_MULTIBOOT_EAX, regs.rax);
	EXPECT_EQ(boot.info_addr, regs.rbx);
	EXPECT_EQ(boot.entry, regs.rip);
	EXPECT_EQ(2, regs.rflags);
	EXPECT_LE(0x1000, boot.info_addr);
	EXPECT_GT(0x400000 - 120, boot.info_addr);

	info = mvm_gpa(vm, boot.info_addr, 120);
	ASSERT_NE(NULL, info);
	/* mem, cmdline, mods, mmap, boot loader name. */
	EXPECT_EQ(0x24d, info[0]);
	EXPECT_EQ(640, info[1]);
	EXPECT_EQ(31 << 10, info[2]);
	EXPECT_STREQ("a b c", (char *)mvm_gpa(vm, info[4], 6));
	EXPECT_EQ(2, info[5]);
	EXPECT_EQ(3 * 24, info[11]);		/* mmap_length */
	EXPECT_STREQ("minivmm", (char *)mvm_gpa(vm, info[16], 8));
	m = mvm_gpa(vm, info[6], 32);
	ASSERT_NE(NULL, m);
	EXPECT_EQ((boot.image_end + 4095) & ~4095ULL, m[0]);
	EXPECT_EQ(m[0] + sizeof(mod), m[1]);
	EXPECT_STREQ("mod0 arg", (char *)mvm_gpa(vm, m[2], 9));
	EXPECT_EQ(0, memcmp(mod, mvm_gpa(vm, m[0], sizeof(mod)),
			    sizeof(mod)));
	EXPECT_EQ(m[0] + 4096, m[4]);
	EXPECT_EQ(m[4] + 5000, m[5]);
	EXPECT_STREQ("", (char *)mvm_gpa(vm, m[6], 1));
	/* Nothing of the loader's in the kernel or the modules. */
	EXPECT_TRUE(boot.data_addr + boot.data_size <= boot.image_start ||
		    boot.data_addr >= m[5]);
	mvm_destroy(vm);
	free((void *)mods[1].data);
	free(image);
}

TEST(lib_refuses_images_that_leave_no_room)
{
	struct mvm_boot boot = { .format = MVM_FORMAT_ELF };
	struct mvm_vcpu *vcpu;
	struct elf64 e;
	struct mvm *vm;

	REQUIRE_VMX();
	make_elf64(&e, 1);
	/* All of RAM above page 0: no room for the page tables. */
	e.ph[0].p_paddr = 0x1000;
	e.ph[0].p_vaddr = 0x1000;
	e.ph[0].p_memsz = (2 << 20) - 0x1000;
	e.eh.e_entry = 0x1000;
	ASSERT_EQ(0, mvm_create(&vm, 2 << 20));
	ASSERT_EQ(0, mvm_vcpu_create(vm, 0, &vcpu));
	EXPECT_GT(0, mvm_load(vm, vcpu, &e, sizeof(e), &boot));
	EXPECT_NE(NULL, strstr(mvm_strerror(vm), "no room below 4 GiB")) {
		TH_LOG("%s", mvm_strerror(vm));
	}
	EXPECT_EQ(NULL, strchr(mvm_strerror(vm), '\n'));
	mvm_destroy(vm);
}

TEST_HARNESS_MAIN

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Find kernel splats (WARN, BUG, oops, lockdep, stalls, ...) in a log.

Only kernel lines are looked at, so a test that merely prints "WARNING:"
or "Call Trace:" does not trip the detector.  A line is a kernel line if
it carries a printk timestamp ("[   12.345678] ", the form both the
console and dmesg use) or if it lies between the "TESTVM: DMESG BEGIN"
and "TESTVM: DMESG END" markers of scripts/testvm's /init, or between its
"TESTVM: KMEMLEAK BEGIN" and "TESTVM: KMEMLEAK END" (the contents of
/sys/kernel/debug/kmemleak after a scan, which has no timestamps).  With
`all_lines` (--all on the command line) every line counts, for raw dmesg
output printed without timestamps.

Usage: splat.py [--all] LOGFILE...   (exit status 1 if a splat is found)
"""

import re
import sys

# "[   12.345678] " and, with CONFIG_PRINTK_CALLER, "[   12.345678][ T123] ".
# Some consoles also show the "<4>" log level in front.
_PREFIX = re.compile(r'^(?:<\d+>)?\[\s*\d+\.\d+\](?:\[\s*[TC]\d+\])?\s?')

# Sections of kernel output, by their BEGIN marker; an END may carry " rc=N".
SECTIONS = {'TESTVM: %s BEGIN' % name: 'TESTVM: %s END' % name
	    for name in ('DMESG', 'KMEMLEAK')}

# (kind, regex on the message with its timestamp removed).  The kinds are
# what the summary reports; the regexes follow the kernel's own formats.
PATTERNS = [
	('cut', r'^-+\[ cut here \]-+$'),
	('bug', r'^kernel BUG at '),
	('oops', r'^Oops(: | - |\b)'),
	# die()'s banner: "invalid opcode: 0000 [#1] PREEMPT SMP NOPTI".
	('oops', r'^[\w ,-]+: [0-9a-f]{4} \[#\d+\]'),
	('oops', r'^general protection fault\b'),
	('oops', r'^(BUG: )?unable to handle (kernel|page fault)'),
	('atomic', r'scheduling while atomic'),
	('atomic', r'sleeping function called from invalid context'),
	('lockdep', r'possible recursive locking detected'),
	('lockdep', r'possible circular locking dependency detected'),
	('lockdep', r'inconsistent lock state'),
	('lockdep', r'possible irq lock inversion dependency detected'),
	('lockdep', r'(HARDIRQ|SOFTIRQ)-(safe|unsafe) -> .* lock order detected'),
	('lockdep', r'bad unlock balance detected'),
	('lockdep', r'held lock freed'),
	('lockdep', r'lock held when returning to user space'),
	('lockdep', r'suspicious RCU usage'),
	('lockdep', r'^INFO: lockdep'),
	('lockdep', r'^INFO: trying to register non-static key'),
	('lockup', r'soft lockup - CPU#\d+ stuck'),
	('lockup', r'^BUG: soft lockup'),
	('lockup', r'Watchdog detected hard LOCKUP'),
	('hung', r'^INFO: task .* blocked for more than \d+ seconds'),
	('hung', r'blocked for more than \d+ seconds'),
	('trace', r'^Call Trace:'),
	('rcu', r'rcu_\w+ (self-)?detected stalls?'),
	('rcu', r'RCU stall'),
	('rcu', r'rcu: INFO: .*stall'),
	('panic', r'^Kernel panic - '),
	('panic', r'^---\[ end Kernel panic'),
	('ubsan', r'^UBSAN: '),
	('kasan', r'^(BUG: )?KASAN: '),
	('kfence', r'^BUG: KFENCE: '),
	('kmemleak', r'^kmemleak: \d+ new suspected memory leaks?'),
	('kmemleak', r'^unreferenced object 0x[0-9a-f]+ \(size \d+\)'),
	# The leak check gave up (out of memory, or an internal error), so a
	# clean scan would prove nothing.
	('kmemleak', r'^kmemleak: Kernel memory leak detector disabled'),
	('list', r'^list_(add|del) corruption'),
	('refcount', r'^refcount_t: '),
	('stack', r'stack-protector: Kernel stack is corrupted'),
	('double-fault', r'^double fault: '),
	# Last, so that "BUG: soft lockup", "WARNING: possible recursive
	# locking" and the like are reported under their own kind.
	('bug', r'^BUG: '),
	('warning', r'^WARNING: '),
]
_COMPILED = [(kind, re.compile(rx)) for kind, rx in PATTERNS]

# A backtrace of every CPU that someone asked for (sysrq 'l', which
# nmi_test sends) prints a "Call Trace:" under each "NMI backtrace for cpu
# N" headline: not a splat.  The kernel's own reasons for such backtraces
# (RCU stalls, hung tasks, lockups) come with headlines of their own.
_NMI_BACKTRACE = re.compile(r'^NMI backtrace for cpu \d+$')


class Splat:
	def __init__(self, kind, lineno, message):
		self.kind = kind
		self.lineno = lineno
		self.message = message

	def __repr__(self):
		return 'Splat(%r, %d, %r)' % (self.kind, self.lineno, self.message)

	def __str__(self):
		return 'line %d: %s: %s' % (self.lineno, self.kind, self.message)


def kernel_lines(text, all_lines=False):
	"""Yield (line number, message) for every kernel line of `text`."""
	end = None		# the END marker of the section we are in
	for lineno, line in enumerate(text.splitlines(), 1):
		line = line.rstrip('\r\n').replace('\r', '')
		stripped = line.strip()
		if end is None and stripped in SECTIONS:
			end = SECTIONS[stripped]
			continue
		if end is not None and (stripped == end or
					stripped.startswith(end + ' rc=')):
			end = None
			continue
		m = _PREFIX.match(line)
		if m:
			yield lineno, line[m.end():].strip()
		elif end is not None or all_lines:
			yield lineno, stripped


def scan(text, all_lines=False):
	"""Return the splats in `text`, one per offending line."""
	found = []
	in_backtrace = False
	for lineno, msg in kernel_lines(text, all_lines):
		if _NMI_BACKTRACE.search(msg):
			in_backtrace = True
			continue
		for kind, rx in _COMPILED:
			if rx.search(msg):
				if kind != 'trace' or not in_backtrace:
					found.append(Splat(kind, lineno, msg))
					in_backtrace = False
				break
	return found


def summarize(splats, limit=10):
	"""First few distinct splat messages, for a short report.

	The console and the dmesg dump show the same report twice; the
	lines that only frame a report (cut here, Call Trace) are left out
	when the report's headline is there.
	"""
	headlines = [s for s in splats if s.kind not in ('cut', 'trace')]
	seen, out = set(), []
	for s in headlines or splats:
		if s.message in seen:
			continue
		seen.add(s.message)
		out.append(s)
	return out[:limit]


def main(argv):
	args = argv[1:]
	all_lines = False
	if args and args[0] == '--all':
		all_lines = True
		args = args[1:]
	if not args:
		print('usage: splat.py [--all] LOGFILE...', file=sys.stderr)
		return 2
	bad = False
	for path in args:
		with open(path, errors='replace') as f:
			splats = scan(f.read(), all_lines)
		for s in splats:
			print('%s:%s' % (path, s))
		bad = bad or bool(splats)
	return 1 if bad else 0


if __name__ == '__main__':
	sys.exit(main(sys.argv))

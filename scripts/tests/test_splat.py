#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tests of scripts/splat.py on the sample logs in scripts/tests/data."""

import os
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True
TESTS = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(TESTS, 'data')
SCRIPTS = os.path.dirname(TESTS)
sys.path.insert(0, SCRIPTS)

import splat	# noqa: E402


def scan_file(name, **kw):
	with open(os.path.join(DATA, name)) as f:
		return splat.scan(f.read(), **kw)


class SampleLogs(unittest.TestCase):
	# sample -> the kind its headline must be reported as
	BAD = {
		'warn.log': 'warning',
		'bug_null.log': 'bug',
		'bug_at.log': 'bug',
		'lockdep.log': 'lockdep',
		'circular.log': 'lockdep',
		'sleeping.log': 'atomic',
		'softlockup.log': 'lockup',
		'hungtask.log': 'hung',
		'rcu_stall.log': 'rcu',
		'panic.log': 'panic',
		'gpf_notime.log': 'oops',
		'sanitizers.log': 'kasan',
	}

	def test_bad_logs_are_caught(self):
		for name, kind in self.BAD.items():
			with self.subTest(log=name):
				kinds = [s.kind for s in scan_file(name)]
				self.assertIn(kind, kinds)

	def test_clean_log_is_clean(self):
		self.assertEqual(scan_file('clean.log'), [])

	def test_requested_nmi_backtrace_is_no_splat(self):
		self.assertEqual(scan_file('nmi_backtrace.log'), [])

	def test_warning_after_nmi_backtrace_is_caught(self):
		with open(os.path.join(DATA, 'nmi_backtrace.log')) as f:
			text = f.read()
		with open(os.path.join(DATA, 'warn.log')) as f:
			text += f.read()
		kinds = [s.kind for s in splat.scan(text)]
		self.assertIn('warning', kinds)
		self.assertIn('trace', kinds)

	def test_warn_headline(self):
		top = splat.summarize(scan_file('warn.log'))
		self.assertEqual(len(top), 1)
		self.assertTrue(top[0].message.startswith(
			'WARNING: CPU: 0 PID: 87 at '))
		self.assertEqual(top[0].lineno, 15)

	def test_oops_reports_both_lines(self):
		msgs = [s.message for s in scan_file('bug_null.log')]
		self.assertTrue(any(m.startswith('BUG: kernel NULL pointer')
				    for m in msgs))
		self.assertTrue(any(m.startswith('Oops: 0000 [#1]')
				    for m in msgs))

	def test_die_banner(self):
		kinds = [s.kind for s in scan_file('bug_at.log')]
		self.assertEqual(kinds, ['bug', 'oops'])

	def test_sanitizers(self):
		kinds = {s.kind for s in scan_file('sanitizers.log')}
		self.assertEqual(kinds, {'kasan', 'ubsan', 'kmemleak'})


class KernelLines(unittest.TestCase):
	def test_user_output_is_ignored(self):
		text = ('WARNING: printed by a test\n'
			'# BUG: inside nested TAP\n'
			'Call Trace: also a test\n'
			'Kernel panic - as words\n')
		self.assertEqual(splat.scan(text), [])

	def test_timestamped_console_line(self):
		text = '[   12.345678] WARNING: CPU: 1 PID: 7 at x.c:1 f+0x0/0x1\n'
		self.assertEqual([s.kind for s in splat.scan(text)], ['warning'])

	def test_caller_id_and_level_prefixes(self):
		text = ('[    1.000000][    T1] BUG: scheduling while atomic: '
			'sh/1/0x00000002\n'
			'<4>[    2.000000] WARNING: CPU: 0 PID: 1 at a.c:2 g\n')
		self.assertEqual([s.kind for s in splat.scan(text)],
				 ['atomic', 'warning'])

	def test_dmesg_section_without_timestamps(self):
		text = ('BUG: before the dump, user output\n'
			'TESTVM: DMESG BEGIN\n'
			'BUG: unable to handle page fault for address: 0\n'
			'TESTVM: DMESG END\n'
			'BUG: after the dump, user output\n')
		found = splat.scan(text)
		self.assertEqual([s.lineno for s in found], [3])

	def test_kmemleak_section_without_timestamps(self):
		text = ('unreferenced object 0xffff888001234560 (size 64):\n'
			'TESTVM: KMEMLEAK BEGIN\n'
			'unreferenced object 0xffff888004b2e000 (size 64):\n'
			'  comm "insmod", pid 93, jiffies 4294937296\n'
			'  backtrace:\n'
			'    [<ffffffffc0201010>] badmod_init+0x10/0x100\n'
			'TESTVM: KMEMLEAK END rc=0\n'
			'unreferenced object 0xffff888001234560 (size 64):\n')
		found = splat.scan(text)
		self.assertEqual([(s.kind, s.lineno) for s in found],
				 [('kmemleak', 3)])

	def test_kmemleak_giving_up_is_a_splat(self):
		text = ('[ 9.0] kmemleak: Cannot allocate a kmemleak_object '
			'structure\n'
			'[ 9.0] kmemleak: Kernel memory leak detector disabled\n')
		self.assertEqual([s.kind for s in splat.scan(text)], ['kmemleak'])

	def test_all_lines(self):
		text = 'INFO: task kworker/0:1:12 blocked for more than 30 seconds.\n'
		self.assertEqual(splat.scan(text), [])
		self.assertEqual([s.kind for s in splat.scan(text, all_lines=True)],
				 ['hung'])

	def test_messages_mentioning_words(self):
		text = ('[    0.2] rcu: \tRCU CPU stall warnings timeout set to 21\n'
			'[    2.5] kmemleak: Kernel memory leak detector initialized\n'
			'[    3.5] AMD-Vi: not available - This is not a bug.\n'
			'[    4.5] minivmm: note (WARNING: not a WARN)\n'
			'[    5.5] [Firmware Bug]: TSC_DEADLINE disabled\n')
		self.assertEqual(splat.scan(text), [])

	def test_summary_dedups_console_and_dmesg(self):
		line = 'WARNING: CPU: 0 PID: 1 at a.c:2 f+0x1/0x2'
		text = ('[ 1.0] %s\n[ 1.0] Call Trace:\n'
			'TESTVM: DMESG BEGIN\n[ 1.0] %s\n[ 1.0] Call Trace:\n'
			'TESTVM: DMESG END\n' % (line, line))
		self.assertEqual(len(splat.scan(text)), 4)
		self.assertEqual([s.message for s in splat.summarize(
			splat.scan(text))], [line])


class CommandLine(unittest.TestCase):
	def run_splat(self, *names):
		return subprocess.run(
			[sys.executable, os.path.join(SCRIPTS, 'splat.py')] +
			[os.path.join(DATA, n) for n in names],
			stdout=subprocess.PIPE, text=True)

	def test_clean_exit_status(self):
		res = self.run_splat('clean.log')
		self.assertEqual(res.returncode, 0)
		self.assertEqual(res.stdout, '')

	def test_splat_exit_status(self):
		res = self.run_splat('clean.log', 'softlockup.log')
		self.assertEqual(res.returncode, 1)
		self.assertIn('softlockup.log:line 1: lockup: watchdog: BUG: '
			      'soft lockup', res.stdout)


if __name__ == '__main__':
	unittest.main()

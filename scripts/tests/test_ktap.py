#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tests of the TAP counting (scripts/ktap.py) and of testvm's verdict."""

import importlib.machinery
import importlib.util
import os
import sys
import unittest

sys.dont_write_bytecode = True
SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, SCRIPTS)

import ktap	# noqa: E402


def load_testvm():
	path = os.path.join(SCRIPTS, 'testvm')
	loader = importlib.machinery.SourceFileLoader('testvm', path)
	spec = importlib.util.spec_from_loader('testvm', loader)
	mod = importlib.util.module_from_spec(spec)
	loader.exec_module(mod)
	return mod


SUITE = '''\
TAP version 13
1..5
# selftests: minivmm: vm_test
# TAP version 13
# 1..3
# # Starting 3 tests from 1 test cases.
# #  RUN           vm.create ...
# #            OK  vm.create
# ok 1 vm.create
# #  RUN           vm.no_ept ...
# #      SKIP      EPT is off
# #            OK  vm.no_ept
# ok 2 # SKIP EPT is off
# #  RUN           vm.run ...
# #          FAIL  vm.run
# not ok 3 vm.run
# # FAILED: 1 / 3 tests passed.
not ok 1 selftests: minivmm: vm_test # exit=1
# selftests: minivmm: cli_test.sh
ok 2 selftests: minivmm: cli_test.sh
# selftests: minivmm: crashes_after
# ok 1 a.b
# ok 2 a.c # SKIP not today
not ok 3 selftests: minivmm: crashes_after # exit=139
# selftests: minivmm: slow
not ok 4 selftests: minivmm: slow # TIMEOUT 45 seconds
# selftests: minivmm: whole_skip
ok 5 selftests: minivmm: whole_skip # SKIP
'''


class Counting(unittest.TestCase):
	def setUp(self):
		self.results = ktap.count(SUITE.splitlines())

	def by_status(self, status):
		return [str(r) for r in self.results if r.status == status]

	def test_totals(self):
		self.assertEqual(ktap.totals(self.results),
				 {'pass': 3, 'fail': 3, 'skip': 3})

	def test_failures(self):
		self.assertEqual(self.by_status('fail'), [
			'minivmm: vm_test: vm.run',
			'minivmm: crashes_after (exit=139)',
			'minivmm: slow (TIMEOUT 45 seconds)',
		])

	def test_failure_carries_the_output_above_it(self):
		run = [r for r in self.results if r.name.endswith('vm.run')][0]
		self.assertEqual(run.context, [' RUN           vm.run ...',
					       '         FAIL  vm.run'])
		self.assertEqual(run.detail().splitlines()[1:], [
			'    |  RUN           vm.run ...',
			'    |          FAIL  vm.run'])
		lines = ['# selftests: minivmm: fuzz'] + \
			['# # line %d' % i for i in range(6)] + \
			['# not ok 1 fuzz.all', 'not ok 1 selftests: minivmm: fuzz']
		fuzz = ktap.count(lines)[0]
		self.assertEqual(fuzz.context, ['line 3', 'line 4', 'line 5'])
		passed = [r for r in self.results if r.status == 'pass']
		self.assertTrue(all(not r.context for r in passed))

	def test_skips_named_from_run_line(self):
		self.assertEqual(self.by_status('skip'), [
			'minivmm: vm_test: vm.no_ept (EPT is off)',
			'minivmm: crashes_after: a.c (not today)',
			'minivmm: whole_skip',
		])

	def test_failed_program_with_failed_tests_counts_once(self):
		names = [r.name for r in self.results]
		self.assertNotIn('minivmm: vm_test', names)

	def test_unfinished_program(self):
		lines = ['TAP version 13', '1..1',
			 '# selftests: minivmm: dies',
			 '# ok 1 x.first',
			 '# not ok 2 x.second']
		res = ktap.count(lines)
		self.assertEqual([(r.name, r.status) for r in res],
				 [('minivmm: dies: x.first', 'pass'),
				  ('minivmm: dies: x.second', 'fail')])

	def test_console_noise_ignored(self):
		lines = ['[   5.000000] random: crng init done',
			 'ok 1 selftests: minivmm: a',
			 'TESTVM: SUITE END rc=0']
		self.assertEqual(ktap.totals(ktap.count(lines)),
				 {'pass': 1, 'fail': 0, 'skip': 0})


class Verdict(unittest.TestCase):
	@classmethod
	def setUpClass(cls):
		cls.testvm = load_testvm()

	def run_lines(self, body, mode='suite', timed_out=False):
		name = 'SUITE' if mode == 'suite' else 'RUN'
		lines = ['TESTVM: INIT uptime=4.2', 'TESTVM: MODPROBE OK minivmm']
		if body is not None:
			lines += ['TESTVM: %s BEGIN' % name] + body
		return self.testvm.analyze(lines, mode, timed_out, 12)

	def finish(self, name='SUITE', rc=0):
		return ['TESTVM: %s END rc=%d' % (name, rc),
			'TESTVM: DMESG BEGIN', '[ 0.0] Linux version 6.1',
			'TESTVM: DMESG END']

	def test_good_suite(self):
		res, problems, rc = self.run_lines(
			['ok 1 selftests: minivmm: a'] + self.finish())
		self.assertEqual(problems, [])
		self.assertEqual(rc, 0)
		self.assertEqual(len(res), 1)

	def test_suite_without_end(self):
		_, problems, rc = self.run_lines(['ok 1 selftests: minivmm: a'],
						 timed_out=True)
		self.assertIsNone(rc)
		self.assertTrue(any('timed out' in p for p in problems))
		self.assertTrue(any('did not finish' in p for p in problems))
		self.assertTrue(any('dmesg' in p for p in problems))

	def test_no_results(self):
		_, problems, _ = self.run_lines(self.finish())
		self.assertIn('the suite printed no test results', problems)

	def test_splat_in_dmesg(self):
		body = ['ok 1 selftests: minivmm: a'] + self.finish()
		body.insert(-1, '[ 9.1] BUG: scheduling while atomic: t/9/0x2')
		_, problems, _ = self.run_lines(body)
		self.assertEqual(len(problems), 1)
		self.assertIn('scheduling while atomic', problems[0])

	def test_run_mode_rc(self):
		_, problems, rc = self.run_lines(['hi'] + self.finish('RUN', 3),
						 mode='run')
		self.assertEqual((problems, rc), ([], 3))

	def test_modprobe_failure(self):
		lines = ['TESTVM: INIT uptime=4.2',
			 'TESTVM: MODPROBE FAILED minivmm rc=1',
			 'TESTVM: SUITE BEGIN', 'ok 1 selftests: minivmm: a'] + \
			self.finish()
		_, problems, _ = self.testvm.analyze(lines, 'suite', False, 1)
		self.assertEqual(problems, ['modprobe minivmm failed'])

	def test_never_booted(self):
		_, problems, _ = self.testvm.analyze([], 'suite', True, 900)
		self.assertIn('the machine never reached /init', problems)


if __name__ == '__main__':
	unittest.main()

# SPDX-License-Identifier: GPL-2.0
"""Count kselftest results from (nested) TAP output.

run_kselftest.sh prints one top-level result per test program:

    # selftests: minivmm: vm_test
    # TAP version 13
    # 1..2
    # ok 1 vm.create
    # not ok 2 vm.run
    not ok 1 selftests: minivmm: vm_test # exit=1

and the program's own output, prefixed with "# ", above it.  Results are
counted at the innermost level: a program's nested results if it printed
any, else its own top-level result.  A program whose nested results all
passed but which still failed (crashed, timed out, exited non-zero after
its tests) counts as one more failure.
"""

import re

_RESULT = re.compile(r'^(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?(.*)$')
_DIRECTIVE = re.compile(r'\s#\s*(SKIP|TODO|XFAIL|TIMEOUT)\b\s*(.*)$', re.I)
# kselftest_harness's "#  RUN           fixture.test ..." before each test
_HARNESS_RUN = re.compile(r'^\s*RUN\s+(\S+)')
# What a failure carries of the output above it, for summaries.
CONTEXT_LINES = 3
CONTEXT_WIDTH = 200


class Result:
	"""One counted test: status is 'pass', 'fail' or 'skip'."""

	def __init__(self, name, status, reason='', context=()):
		self.name = name
		self.status = status
		self.reason = reason
		# The program's last lines of output before a failure.
		self.context = list(context)

	def __repr__(self):
		return 'Result(%r, %r, %r)' % (self.name, self.status, self.reason)

	def __str__(self):
		return self.name + (' (%s)' % self.reason if self.reason else '')

	def detail(self):
		"""The name, then the output lines that led to a failure."""
		return '\n'.join([str(self)] +
				 ['    | ' + line for line in self.context])


def _parse_result(line):
	"""(ok?, name, directive, reason) of a TAP result line, else None."""
	m = _RESULT.match(line)
	if not m:
		return None
	ok = m.group(1) == 'ok'
	num = m.group(2) or '?'
	rest = m.group(3).strip()
	directive, reason = '', ''
	d = _DIRECTIVE.search(' ' + rest)
	if d:
		directive = d.group(1).upper()
		reason = d.group(2).strip()
		rest = (' ' + rest)[:d.start()].strip()
	elif ' # ' in rest:
		# "not ok 1 selftests: minivmm: x # exit=1"
		rest, reason = (s.strip() for s in rest.split(' # ', 1))
	return ok, num, rest, directive, reason


def _status(ok, directive):
	if directive in ('SKIP', 'TODO'):
		return 'skip'
	if directive == 'XFAIL':
		return 'pass'
	return 'pass' if ok and directive != 'TIMEOUT' else 'fail'


def _display_name(name):
	# "selftests: minivmm: vm_test" says more than enough as "minivmm: vm_test"
	if name.startswith('selftests: '):
		name = name[len('selftests: '):]
	return name


def count(lines, prefix=''):
	"""Return the list of Results of one TAP level.

	`lines` are that level's lines with the "# " of enclosing levels
	already removed; nested output is the "# "-prefixed lines printed
	before each result.
	"""
	results = []
	nested = []
	for raw in lines:
		line = raw.rstrip('\r\n')
		if line.startswith('# ') or line == '#':
			nested.append(line[2:])
			continue
		parsed = _parse_result(line.strip())
		if parsed is None:
			continue
		ok, num, name, directive, reason = parsed
		if not name:
			# Some kselftest_harness versions print skipped tests as
			# "ok 2 # SKIP reason": take the name from its RUN line.
			name = 'test %s' % num
			for n in nested:
				m = _HARNESS_RUN.match(n)
				if m:
					name = m.group(1)
		name = _display_name(name)
		full = prefix + name
		inner = count(nested, full + ': ')
		nested_lines, nested = nested, []
		status = _status(ok, directive)
		if directive and directive != 'SKIP':
			reason = (directive + ' ' + reason).strip()
		if not inner:
			context = [n[:CONTEXT_WIDTH] for n in nested_lines
				   if n.strip()][-CONTEXT_LINES:]
			results.append(Result(full, status, reason,
					      context if status == 'fail' else ()))
			continue
		results.extend(inner)
		if status == 'fail' and all(r.status != 'fail' for r in inner):
			results.append(Result(full, 'fail',
					      reason or 'failed after its tests'))
	if nested:
		# Output of a program that never printed its result line (the
		# machine died under it) still tells what ran.
		name = 'unfinished'
		for line in nested:
			if line.startswith('selftests: '):
				name = _display_name(line)
		results.extend(count(nested, prefix + name + ': '))
	return results


def totals(results):
	t = {'pass': 0, 'fail': 0, 'skip': 0}
	for r in results:
		t[r.status] += 1
	return t

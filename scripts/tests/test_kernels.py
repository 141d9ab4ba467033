#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tests of the kernel-specific parts of the runner: payload formats of
the fast boot path, the naming of make check's machines."""

import importlib.machinery
import importlib.util
import lzma
import os
import shutil
import struct
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True
SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, SCRIPTS)

import fastboot	# noqa: E402


def load_script(name):
	path = os.path.join(SCRIPTS, name)
	loader = importlib.machinery.SourceFileLoader(name, path)
	spec = importlib.util.spec_from_loader(name, loader)
	mod = importlib.util.module_from_spec(spec)
	loader.exec_module(mod)
	return mod


# Something that looks like the start of a vmlinux, and compresses well.
PAYLOAD = b'\x7fELF' + bytes(range(256)) * 64


def with_size(data):
	"""As the kernel's build appends it: the unpacked size, 4 bytes."""
	return data + struct.pack('<I', len(PAYLOAD))


class Decompress(unittest.TestCase):
	def test_xz_payload_with_trailing_size(self):
		packed = with_size(lzma.compress(PAYLOAD, format=lzma.FORMAT_XZ))
		self.assertEqual(PAYLOAD, fastboot.decompress(packed))

	@unittest.skipIf(shutil.which('zstd') is None, 'no zstd tool')
	def test_zstd_payload_with_trailing_size(self):
		packed = subprocess.run(['zstd', '-q', '-c'], input=PAYLOAD,
					stdout=subprocess.PIPE, check=True).stdout
		self.assertEqual(PAYLOAD, fastboot.decompress(with_size(packed)))

	def test_unknown_payload_is_an_error(self):
		with self.assertRaises(fastboot.FastbootError):
			fastboot.decompress(b'\x00\x01\x02\x03' + PAYLOAD)


class MachineNames(unittest.TestCase):
	@classmethod
	def setUpClass(cls):
		cls.check = load_script('check')

	def test_kernel_and_cpus(self):
		self.assertEqual(('6.12', 1, None),
				 self.check.machine_arg('6.12:1'))
		self.assertEqual(('debug', 2, None),
				 self.check.machine_arg('debug:2'))
		self.assertEqual(('debug', 1, (2, 3)),
				 self.check.machine_arg('debug:1:2/3'))

	def test_unknown_kernel_or_cpus_is_refused(self):
		for bad in ('6.6:1', '6.1:3', '6.1', 'debug:', '6.1:1:0/2',
			    '6.1:1:3/2', '6.1:1:x', '6.1:1:1/'):
			with self.assertRaises(Exception, msg=bad):
				self.check.machine_arg(bad)

	def test_default_machines_cover_every_kernel(self):
		args = self.check.parse_args([])
		self.assertEqual({'6.1', '6.12', 'debug'},
				 {k for k, _, _ in args.machines})
		self.assertIn(('6.1', 2, None), args.machines)

	def test_parts_of_a_split_suite_cover_it_once(self):
		listing = os.path.join(self.check.BUILD, 'kselftest',
				       'kselftest-list.txt')
		if not os.path.exists(listing):
			self.skipTest('no installed suite')
		with open(listing) as f:
			every = [l.strip().partition(':')[2] for l in f
				 if l.strip()]
		parts = [self.check.suite_part(k, 3) for k in (1, 2, 3)]
		self.assertTrue(all(parts))
		self.assertEqual(sorted(every), sorted(sum(parts, [])))
		for part in parts:
			self.assertEqual([p for p in every if p in part], part)


if __name__ == '__main__':
	unittest.main()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn a stock x86-64 bzImage into one that boots without decompressing.

Under Bochs the kernel's own XZ decompressor costs about 50 s of a one
minute boot.  The bzImage written here keeps the stock real-mode setup
code, but its protected-mode part is fastboot-stub.S at 0x100000 followed
by the flat, decompressed kernel at its physical load address:

  file:    [setup sectors][stub][page tables][zeros ...][flat kernel]
  memory:                 ^0x100000                    ^0x1000000

The stub enters long mode and jumps straight into startup_64.  The kernel
then runs at its link address, so neither relocation nor KASLR happens.

Usage: fastboot.py VMLINUZ OUT
"""

import bz2
import hashlib
import lzma
import os
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
STUB_SOURCE = os.path.join(HERE, 'fastboot-stub.S')

# Where the boot loader puts the protected-mode part of a non-relocatable
# bzImage, and so where code32_start points.
PROT_BASE = 0x100000
PAGE = 0x1000

# Offsets of the boot protocol's setup header fields in the file
# (Documentation/x86/boot.rst).
HDR_SETUP_SECTS = 0x1f1
HDR_SYSSIZE = 0x1f4
HDR_MAGIC = 0x202
HDR_VERSION = 0x206
HDR_LOADFLAGS = 0x211
HDR_CODE32_START = 0x214
HDR_RELOCATABLE = 0x234
HDR_XLOADFLAGS = 0x236
HDR_PAYLOAD_OFFSET = 0x248
HDR_PAYLOAD_LENGTH = 0x24c
HDR_PREF_ADDRESS = 0x258
HDR_INIT_SIZE = 0x260
HDR_HANDOVER_OFFSET = 0x264
HDR_KERNEL_INFO_OFFSET = 0x268

LOADED_HIGH = 0x01


class FastbootError(Exception):
	pass


def _u8(buf, off):
	return buf[off]


def _u16(buf, off):
	return struct.unpack_from('<H', buf, off)[0]


def _u32(buf, off):
	return struct.unpack_from('<I', buf, off)[0]


def setup_size(bzimage):
	"""Size of the real-mode part (boot sector plus setup sectors)."""
	if _u32(bzimage, HDR_MAGIC) != 0x53726448:	# "HdrS"
		raise FastbootError('not a bzImage (no HdrS signature)')
	if _u16(bzimage, HDR_VERSION) < 0x20c:
		raise FastbootError('boot protocol too old (need 2.12+)')
	if not _u8(bzimage, HDR_LOADFLAGS) & LOADED_HIGH:
		raise FastbootError('not a bzImage (loaded low)')
	sects = _u8(bzimage, HDR_SETUP_SECTS) or 4
	return (sects + 1) * 512


def decompress(data):
	"""Decompress the payload with whatever the kernel was built with."""
	if data.startswith(b'\xfd7zXZ\x00'):
		# The payload has padding and the relocation table after the
		# XZ stream; a bare decompressor stops at the stream's end.
		return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data)
	if data.startswith(b'\x1f\x8b'):
		return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)
	if data.startswith(b'BZh'):
		return bz2.BZ2Decompressor().decompress(data)
	if data.startswith(b'\x28\xb5\x2f\xfd'):
		# Debian's 6.12.  Python has no zstd module: the zstd tool, on
		# the stream without the 4-byte size the kernel appends.
		try:
			res = subprocess.run(['zstd', '-dcq'], input=data[:-4],
					     stdout=subprocess.PIPE,
					     stderr=subprocess.PIPE)
		except OSError as e:
			raise FastbootError('zstd payload, no zstd tool: %s' % e)
		if res.returncode:
			raise FastbootError('zstd: %s' %
					    res.stderr.decode().strip())
		return res.stdout
	if data[:3] == b'\x5d\x00\x00':
		return lzma.LZMADecompressor(format=lzma.FORMAT_ALONE).decompress(data)
	raise FastbootError('unsupported payload compression (magic %s)' %
			    data[:6].hex())


def extract_vmlinux(bzimage):
	"""Return the ELF vmlinux carried, compressed, as the bzImage payload."""
	prot = bzimage[setup_size(bzimage):]
	off = _u32(bzimage, HDR_PAYLOAD_OFFSET)
	length = _u32(bzimage, HDR_PAYLOAD_LENGTH)
	if not length or off + length > len(prot):
		raise FastbootError('bad payload_offset/payload_length')
	elf = decompress(prot[off:off + length])
	if elf[:4] != b'\x7fELF':
		raise FastbootError('payload is not an ELF file')
	return elf


def flat_kernel(elf):
	"""Lay out the PT_LOAD segments of vmlinux by physical address.

	Returns (image, load, entry, end): the image as it must appear at
	physical address `load` with its trailing zeros trimmed, the entry
	point and the end of the kernel's memory footprint.
	"""
	if elf[4] != 2 or elf[5] != 1 or _u16(elf, 18) != 62:
		raise FastbootError('vmlinux is not a little-endian x86-64 ELF')
	entry, phoff = struct.unpack_from('<QQ', elf, 24)
	phentsize, phnum = struct.unpack_from('<HH', elf, 54)

	segs = []
	for i in range(phnum):
		(p_type, _flags, p_offset, _vaddr, p_paddr, p_filesz,
		 p_memsz, _align) = struct.unpack_from('<IIQQQQQQ', elf,
							phoff + i * phentsize)
		if p_type == 1:		# PT_LOAD
			segs.append((p_paddr, p_offset, p_filesz, p_memsz))
	if not segs:
		raise FastbootError('vmlinux has no loadable segments')
	segs.sort()
	load = segs[0][0]
	end = max(paddr + memsz for paddr, _, _, memsz in segs)
	if load % (2 << 20) or not load <= entry < end:
		raise FastbootError('odd vmlinux layout: load %#x entry %#x' %
				    (load, entry))

	image = bytearray()
	for paddr, offset, filesz, _memsz in segs:
		start = paddr - load
		if start < len(image):
			raise FastbootError('overlapping segments in vmlinux')
		image += bytes(start - len(image))
		image += elf[offset:offset + filesz]

	# bss, brk and the like are zeros in the image: leave them to the stub.
	image = image.rstrip(b'\0')
	image += bytes(-len(image) % PAGE)
	end = (end + PAGE - 1) & ~(PAGE - 1)
	return bytes(image), load, entry, end


def build_stub(defines, tmpdir):
	"""Assemble fastboot-stub.S into raw bytes linked at PROT_BASE."""
	obj = os.path.join(tmpdir, 'stub.o')
	elf = os.path.join(tmpdir, 'stub.elf')
	raw = os.path.join(tmpdir, 'stub.bin')
	cmds = [
		['gcc', '-c', '-nostdlib', '-fno-pic'] +
		['-D%s=%#x' % kv for kv in sorted(defines.items())] +
		['-o', obj, STUB_SOURCE],
		['ld', '-m', 'elf_x86_64', '--build-id=none', '-nostdlib',
		 '-Ttext=%#x' % PROT_BASE, '-e', '_start', '-o', elf, obj],
		['objcopy', '-O', 'binary', '-j', '.text', elf, raw],
	]
	for cmd in cmds:
		res = subprocess.run(cmd, stdout=subprocess.PIPE,
				     stderr=subprocess.STDOUT, text=True)
		if res.returncode:
			raise FastbootError('%s failed:\n%s' %
					    (' '.join(cmd), res.stdout))
	with open(raw, 'rb') as f:
		return f.read()


def make_fast_bzimage(bzimage):
	"""Return the bytes of the fast-boot variant of `bzimage`."""
	rm_size = setup_size(bzimage)
	kernel, load, entry, end = flat_kernel(extract_vmlinux(bzimage))

	# The stub takes the first page, its page tables the next six; the
	# rest up to the kernel is padding the loader copies in as zeros.
	pgtable = PROT_BASE + PAGE
	if pgtable + 6 * PAGE > load:
		raise FastbootError('kernel loads too low (%#x)' % load)
	defines = {
		'KERNEL_ENTRY': entry,
		'ZERO_START': load + len(kernel),
		'ZERO_END': end,
		'PGTABLE': pgtable,
	}
	with tempfile.TemporaryDirectory(prefix='fastboot-') as tmp:
		stub = build_stub(defines, tmp)
	if len(stub) > PAGE:
		raise FastbootError('stub larger than a page')

	prot = bytearray(load - PROT_BASE)
	prot[:len(stub)] = stub
	prot += kernel

	setup = bytearray(bzimage[:rm_size])
	struct.pack_into('<I', setup, HDR_SYSSIZE, (len(prot) + 15) // 16)
	struct.pack_into('<I', setup, HDR_CODE32_START, PROT_BASE)
	# Non-relocatable: the loader must put us at 0x100000 or refuse.
	setup[HDR_RELOCATABLE] = 0
	# No 64-bit or EFI entry points, no loading above 4 GiB.
	struct.pack_into('<H', setup, HDR_XLOADFLAGS, 0)
	struct.pack_into('<II', setup, HDR_PAYLOAD_OFFSET, 0, 0)
	struct.pack_into('<Q', setup, HDR_PREF_ADDRESS, PROT_BASE)
	# Everything from the load address to the end of bss/brk.
	struct.pack_into('<I', setup, HDR_INIT_SIZE, end - PROT_BASE)
	struct.pack_into('<I', setup, HDR_HANDOVER_OFFSET, 0)
	struct.pack_into('<I', setup, HDR_KERNEL_INFO_OFFSET, 0)
	return bytes(setup) + bytes(prot)


def cache_key(vmlinuz):
	"""Hash of everything the fast bzImage depends on."""
	h = hashlib.sha256()
	for path in (vmlinuz, STUB_SOURCE, os.path.abspath(__file__)):
		with open(path, 'rb') as f:
			h.update(f.read())
	return h.hexdigest()[:16]


def fast_bzimage(vmlinuz, cache_dir):
	"""Path of the cached fast bzImage for `vmlinuz`, built if needed."""
	out = os.path.join(cache_dir, 'fastboot-%s.bzImage' % cache_key(vmlinuz))
	if os.path.exists(out):
		return out
	with open(vmlinuz, 'rb') as f:
		data = make_fast_bzimage(f.read())
	os.makedirs(cache_dir, exist_ok=True)
	# Another testvm may be building the same file: write, then rename.
	fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix='.fastboot-')
	try:
		with os.fdopen(fd, 'wb') as f:
			f.write(data)
		os.chmod(tmp, 0o644)
		os.replace(tmp, out)
	except BaseException:
		os.unlink(tmp)
		raise
	return out


def compact_vmlinux(elf):
	"""The vmlinux ELF with only what a loader needs: the ELF header,
	the program headers and each PT_LOAD segment's bytes up to its last
	non-zero one (the zeros after it, .bss and .brk among them, become
	memsz beyond filesz, so memory holds the very same bytes); the
	PT_NOTE segments point into the copied bytes.  No section headers.
	"""
	if elf[:4] != b'\x7fELF' or elf[4] != 2:
		raise FastbootError('not an ELF64 file')
	phoff = struct.unpack_from('<Q', elf, 32)[0]
	phentsize, phnum = struct.unpack_from('<HH', elf, 54)
	phdrs = [list(struct.unpack_from('<IIQQQQQQ', elf, phoff + i * phentsize))
		 for i in range(phnum)]
	out = bytearray(elf[:64])
	struct.pack_into('<QHHHHHH', out, 32, 64, 64, 64, 56, phnum, 64, 0)
	struct.pack_into('<Q', out, 40, 0)		# e_shoff
	struct.pack_into('<HH', out, 60, 0, 0)		# e_shnum, e_shstrndx
	data = bytearray()
	base = PAGE * ((64 + 56 * phnum + PAGE - 1) // PAGE)
	moved = []					# (old off, old end, new off)
	for ph in phdrs:
		if ph[0] != 1:				# PT_LOAD
			continue
		seg = elf[ph[2]:ph[2] + ph[5]].rstrip(b'\0')
		# Keep the offset congruent to the address modulo a page.
		pad = (ph[3] - (base + len(data))) % PAGE
		data += bytes(pad)
		moved.append((ph[2], ph[2] + len(seg), base + len(data)))
		ph[2] = base + len(data)
		ph[5] = len(seg)
		data += seg
	for ph in phdrs:
		if ph[0] == 1:
			continue
		for old, end, new in moved:
			if old <= ph[2] and ph[2] + ph[5] <= end:
				ph[2] = new + ph[2] - old
				break
		else:
			ph[0] = 0			# PT_NULL: its bytes are gone
	for ph in phdrs:
		out += struct.pack('<IIQQQQQQ', *ph)
	out += bytes(base - len(out))
	return bytes(out + data)


def guest_vmlinux(vmlinuz, cache_dir):
	"""Path of the cached compact vmlinux of `vmlinuz`, built if needed."""
	out = os.path.join(cache_dir, 'vmlinux-%s' % cache_key(vmlinuz))
	if os.path.exists(out):
		return out
	with open(vmlinuz, 'rb') as f:
		data = compact_vmlinux(extract_vmlinux(f.read()))
	os.makedirs(cache_dir, exist_ok=True)
	fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix='.vmlinux-')
	try:
		with os.fdopen(fd, 'wb') as f:
			f.write(data)
		os.chmod(tmp, 0o644)
		os.replace(tmp, out)
	except BaseException:
		os.unlink(tmp)
		raise
	return out


def main(argv):
	if len(argv) != 3:
		print('usage: %s VMLINUZ OUT' % argv[0], file=sys.stderr)
		return 2
	try:
		with open(argv[1], 'rb') as f:
			data = make_fast_bzimage(f.read())
	except (OSError, FastbootError) as e:
		print('fastboot: %s' % e, file=sys.stderr)
		return 1
	with open(argv[2], 'wb') as f:
		f.write(data)
	return 0


if __name__ == '__main__':
	sys.exit(main(sys.argv))

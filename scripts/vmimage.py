# SPDX-License-Identifier: GPL-2.0
"""Build the initramfs and the boot ISO of the emulated VMX machine.

The initramfs is described first as a manifest (destination path -> host
file, bytes, symlink or tree), then written as a newc cpio archive.  A
manifest hashes to a cache key from file names, sizes and mtimes, so an
unchanged image is reused instead of rebuilt.

Dynamically linked programs get their shared libraries and ELF
interpreter, found by reading PT_INTERP, DT_NEEDED and DT_RUNPATH the way
the dynamic loader does (nothing of the program is run).
"""

import glob
import hashlib
import lzma
import os
import shutil
import stat
import struct
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
INIT_SCRIPT = os.path.join(HERE, 'testvm-init.sh')
# The /init of the guest Linux that minivmm boots (linux_boot_test).
GUEST_INIT_SCRIPT = os.path.join(HERE, 'guest-init.sh')

BUSYBOX = '/bin/busybox'
# Test scripts often want bash, which busybox does not provide.
BASH = '/bin/bash'
ISOLINUX_BIN = '/usr/lib/ISOLINUX/isolinux.bin'
LDLINUX_C32 = '/usr/lib/syslinux/modules/bios/ldlinux.c32'

# Modules taken from the Debian kernel, relative to lib/modules/$KVER;
# 6.12's are xz-compressed (NAME.ko.xz) and go into the image unpacked.
KVM_MODULES = [
	'kernel/virt/lib/irqbypass.ko',
	'kernel/arch/x86/kvm/kvm.ko',
	'kernel/arch/x86/kvm/kvm-intel.ko',
]
MODULE_INDEXES = ['modules.builtin', 'modules.builtin.modinfo',
		  'modules.order']
# The Linux guest's virtio modules (minivmm run --virtio-console), in
# the order they load: each needs only those before it (modules.dep).
GUEST_VIRTIO_MODULES = [
	'kernel/drivers/virtio/virtio_ring.ko',
	'kernel/drivers/virtio/virtio.ko',
	'kernel/drivers/virtio/virtio_mmio.ko',
	'kernel/drivers/char/virtio_console.ko',
]
# Where the guest's /init finds them, numbered in that order.
GUEST_VIRTIO_DIR = '/lib/modules/virtio/'

# busybox's timeout has no --foreground, which kselftest's runner.sh
# passes whenever /usr/bin/timeout exists; tests run in the foreground of
# this shell anyway, so the option can go.
# The kselftest runner's "timeout [--foreground] SECS CMD...": a program
# named in /etc/testvm/extra-seconds/ gets that many seconds more.
TIMEOUT_WRAPPER = b'''#!/bin/sh
[ "$1" = --foreground ] && shift
case "$1" in
[0-9]*)
	t=$1
	shift
	eval prog=\\${$#}
	extra=$(cat "/etc/testvm/extra-seconds/${prog##*/}" 2>/dev/null)
	exec /bin/busybox timeout $((t + ${extra:-0})) "$@"
esac
exec /bin/busybox timeout "$@"
'''


class ImageError(Exception):
	pass


# ---------------------------------------------------------------- ELF ---

class ElfDeps:
	"""What the dynamic loader needs to start an ELF file."""

	def __init__(self, interp=None, needed=(), runpath=()):
		self.interp = interp
		self.needed = list(needed)
		self.runpath = list(runpath)


def is_elf(path):
	try:
		with open(path, 'rb') as f:
			return f.read(4) == b'\x7fELF'
	except OSError:
		return False


def elf_deps(path):
	"""Read PT_INTERP, DT_NEEDED and DT_RUNPATH/DT_RPATH of a 64-bit ELF.

	Returns None for files that are not 64-bit little-endian ELF.
	"""
	with open(path, 'rb') as f:
		data = f.read()
	if data[:4] != b'\x7fELF' or data[4] != 2 or data[5] != 1:
		return None
	phoff = struct.unpack_from('<Q', data, 32)[0]
	phentsize, phnum = struct.unpack_from('<HH', data, 54)

	loads = []
	interp = None
	dynamic = None
	for i in range(phnum):
		p_type, _fl, off, vaddr, _pa, filesz, _ms, _al = \
			struct.unpack_from('<IIQQQQQQ', data, phoff + i * phentsize)
		if p_type == 1:			# PT_LOAD
			loads.append((vaddr, off, filesz))
		elif p_type == 3:		# PT_INTERP
			interp = data[off:off + filesz].rstrip(b'\0').decode()
		elif p_type == 2:		# PT_DYNAMIC
			dynamic = (off, filesz)
	if dynamic is None:
		return ElfDeps(interp)

	def vaddr_to_off(addr):
		for vaddr, off, filesz in loads:
			if vaddr <= addr < vaddr + filesz:
				return addr - vaddr + off
		raise ImageError('%s: bad dynamic string table' % path)

	strtab = None
	needed, runpath = [], []
	off, size = dynamic
	for pos in range(off, off + size, 16):
		tag, val = struct.unpack_from('<qQ', data, pos)
		if tag == 0:			# DT_NULL
			break
		if tag == 5:			# DT_STRTAB
			strtab = vaddr_to_off(val)
		elif tag == 1:			# DT_NEEDED
			needed.append(val)
		elif tag in (15, 29):		# DT_RPATH, DT_RUNPATH
			runpath.append(val)
	if strtab is None:
		return ElfDeps(interp)

	def string(idx):
		end = data.index(b'\0', strtab + idx)
		return data[strtab + idx:end].decode()

	origin = os.path.dirname(os.path.abspath(path))
	dirs = []
	for idx in runpath:
		for d in string(idx).split(':'):
			if d:
				dirs.append(d.replace('$ORIGIN', origin)
					     .replace('${ORIGIN}', origin))
	return ElfDeps(interp, [string(i) for i in needed], dirs)


class LibResolver:
	"""Find shared libraries the way ld.so would on this host."""

	SYSTEM_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu',
		       '/lib64', '/usr/lib64', '/lib', '/usr/lib']

	def __init__(self):
		self.cache = {}
		try:
			out = subprocess.run(['ldconfig', '-p'], text=True,
					     stdout=subprocess.PIPE,
					     stderr=subprocess.DEVNULL).stdout
		except OSError:
			out = ''
		for line in out.splitlines():
			# "\tlibc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6"
			if '=>' not in line or 'x86-64' not in line:
				continue
			name = line.split()[0]
			self.cache.setdefault(name, line.split('=>')[1].strip())

	def find(self, name, runpath):
		if '/' in name:
			return name if os.path.exists(name) else None
		for d in runpath:
			p = os.path.join(d, name)
			if os.path.exists(p):
				return p
		if name in self.cache and os.path.exists(self.cache[name]):
			return self.cache[name]
		for d in self.SYSTEM_DIRS:
			p = os.path.join(d, name)
			if os.path.exists(p) and is_elf(p):
				return p
		return None

	def closure(self, paths):
		"""Map image path -> host path of every library `paths` need.

		Libraries keep their host path in the image: the guest's
		dynamic loader then finds them in its built-in search path.
		"""
		found = {}
		todo = list(paths)
		seen = set()
		missing = []
		while todo:
			path = todo.pop()
			real = os.path.realpath(path)
			if real in seen:
				continue
			seen.add(real)
			deps = elf_deps(real)
			if deps is None:
				continue
			if deps.interp and deps.interp not in found:
				if not os.path.exists(deps.interp):
					missing.append('%s (interpreter of %s)' %
						       (deps.interp, path))
				else:
					found[deps.interp] = deps.interp
					todo.append(deps.interp)
			for name in deps.needed:
				lib = self.find(name, deps.runpath)
				if lib is None:
					missing.append('%s (needed by %s)' %
						       (name, path))
					continue
				if lib not in found:
					found[lib] = lib
					todo.append(lib)
		if missing:
			raise ImageError('missing shared libraries: ' +
					 ', '.join(sorted(set(missing))))
		return found


# ----------------------------------------------------------- manifest ---

class Manifest:
	"""Destination path in the image -> what goes there."""

	def __init__(self):
		self.files = {}		# dest -> (kind, payload, mode)

	def add_file(self, dest, src, mode=None):
		st = os.stat(src)
		if mode is None:
			mode = stat.S_IMODE(st.st_mode)
		self.files[dest] = ('file', src, mode)

	def add_kmod(self, dest, src):
		"""A kernel module, copied unpacked and without its .BTF section."""
		self.files[dest] = ('kmod', src, 0o644)

	def add_data(self, dest, data, mode=0o644):
		if isinstance(data, str):
			data = data.encode()
		self.files[dest] = ('data', data, mode)

	def add_symlink(self, dest, target):
		self.files[dest] = ('symlink', target, 0o777)

	def add_tree(self, dest, src):
		"""Copy a directory, keeping its symlinks and modes."""
		for root, dirs, files in os.walk(src):
			dirs.sort()
			rel = os.path.relpath(root, src)
			base = dest if rel == '.' else os.path.join(dest, rel)
			self.files.setdefault(base, ('dir', None, 0o755))
			for name in sorted(files + [d for d in dirs if
					   os.path.islink(os.path.join(root, d))]):
				path = os.path.join(root, name)
				if os.path.islink(path):
					self.add_symlink(os.path.join(base, name),
							 os.readlink(path))
				elif os.path.isfile(path):
					self.add_file(os.path.join(base, name), path)

	def host_elves(self):
		return [src for kind, src, _ in self.files.values()
			if kind == 'file' and is_elf(src)]

	def key(self, extra=b''):
		"""Cache key: content of small things, size+mtime of files."""
		h = hashlib.sha256(extra)
		for dest in sorted(self.files):
			kind, payload, mode = self.files[dest]
			h.update(('%s\0%s\0%o\0' % (dest, kind, mode)).encode())
			if kind in ('file', 'kmod'):
				st = os.stat(payload)
				h.update(('%s\0%d\0%d\0' % (os.path.realpath(payload),
					  st.st_size, st.st_mtime_ns)).encode())
			elif kind == 'data':
				h.update(payload)
			elif kind == 'symlink':
				h.update(payload.encode())
		return h.hexdigest()[:16]

	def stage(self, root):
		"""Materialise the manifest under the directory `root`."""
		for dest in sorted(self.files):
			kind, payload, mode = self.files[dest]
			path = os.path.join(root, dest.lstrip('/'))
			if kind == 'dir':
				os.makedirs(path, exist_ok=True)
				continue
			os.makedirs(os.path.dirname(path), exist_ok=True)
			if os.path.lexists(path):
				os.unlink(path)
			if kind == 'file':
				shutil.copyfile(payload, path)
			elif kind == 'kmod':
				if payload.endswith('.xz'):
					with lzma.open(payload) as f, \
					     open(path, 'wb') as out:
						shutil.copyfileobj(f, out)
					payload = path
				run(['objcopy', '--remove-section=.BTF',
				     payload, path])
			elif kind == 'data':
				with open(path, 'wb') as f:
					f.write(payload)
			elif kind == 'symlink':
				os.symlink(payload, path)
				continue
			os.chmod(path, mode)


def run(cmd, **kw):
	res = subprocess.run(cmd, stdout=subprocess.PIPE,
			     stderr=subprocess.STDOUT, text=True, **kw)
	if res.returncode:
		raise ImageError('%s failed (rc=%d):\n%s' %
				 (' '.join(cmd), res.returncode, res.stdout))
	return res.stdout


# --------------------------------------------------------------- cpio ---

def _cpio_entry(out, ino, name, mode, data=b'', nlink=1, rdev=(0, 0)):
	"""Write one "newc" (070701) header, name and data, 4-byte padded."""
	name = name.encode() + b'\0'
	fields = [ino, mode, 0, 0, nlink, 0, len(data), 0, 0,
		  rdev[0], rdev[1], len(name), 0]
	hdr = b'070701' + b''.join(b'%08x' % v for v in fields)
	out.write(hdr + name)
	out.write(b'\0' * (-(len(hdr) + len(name)) % 4))
	out.write(data)
	out.write(b'\0' * (-len(data) % 4))


def write_cpio(root, out_path, nodes=()):
	"""Pack directory `root` into a newc cpio, owned by root, mtime 0.

	`nodes` lists (path, mode, major, minor) device nodes to add: they
	cannot be created in `root` without privileges.
	"""
	ino = 1
	with open(out_path, 'wb') as out:
		for dirpath, dirs, files in os.walk(root):
			dirs.sort()
			rel = os.path.relpath(dirpath, root)
			for name in ([] if rel == '.' else [rel]):
				_cpio_entry(out, ino, name, stat.S_IFDIR | 0o755, nlink=2)
				ino += 1
			for name in sorted(files + [d for d in dirs if
					   os.path.islink(os.path.join(dirpath, d))]):
				path = os.path.join(dirpath, name)
				arc = os.path.normpath(os.path.join(rel, name))
				st = os.lstat(path)
				if stat.S_ISLNK(st.st_mode):
					data = os.readlink(path).encode()
				else:
					with open(path, 'rb') as f:
						data = f.read()
				_cpio_entry(out, ino, arc, st.st_mode, data)
				ino += 1
		for path, mode, major, minor in nodes:
			_cpio_entry(out, ino, path.lstrip('/'), mode,
				    rdev=(major, minor))
			ino += 1
		_cpio_entry(out, 0, 'TRAILER!!!', 0)


# ---------------------------------------------------------- initramfs ---

class ImageSpec:
	"""Everything the user chose to put in the image."""

	def __init__(self, kernel_root, kver):
		self.kernel_root = kernel_root	# unpacked Debian kernel
		self.kver = kver
		self.module = None		# minivmm.ko or None
		self.cli = None			# userspace/minivmm or None
		self.suite = None		# kselftest install dir or None
		self.adds = []			# (host path, image path)
		self.mode = 'suite'		# or 'run'
		self.command = ''
		self.tests = []			# suite programs to run; [] = all
		# Multiplies the kselftest timeouts, for slow (debug) kernels.
		self.timeout_scale = 1
		# Divides the rounds of the stress tests, for the same kernels.
		self.stress_divisor = 1
		# Seconds added to one program's kselftest timeout, by name.
		self.extra_seconds = {}


def busybox_applets():
	out = run([BUSYBOX, '--list-full'])
	return [line.strip() for line in out.splitlines() if line.strip()]


def make_manifest(spec):
	m = Manifest()
	for d in ('dev', 'proc', 'sys', 'tmp', 'root', 'etc', 'mnt', 'run',
		  'bin', 'sbin', 'usr/bin', 'usr/sbin'):
		m.files['/' + d] = ('dir', None, 0o755)

	for applet in busybox_applets():
		m.add_symlink('/' + applet, '/bin/busybox')
	# After the applets: the list names busybox itself too.
	m.add_file('/bin/busybox', BUSYBOX, 0o755)
	m.add_data('/usr/bin/timeout', TIMEOUT_WRAPPER, 0o755)
	if os.path.exists(BASH):
		m.add_file('/bin/bash', BASH, 0o755)
	m.add_file('/init', INIT_SCRIPT, 0o755)
	m.add_data('/etc/testvm/mode', spec.mode + '\n')
	m.add_data('/etc/testvm/command', spec.command + '\n')
	m.add_data('/etc/testvm/tests',
		   ''.join('minivmm:%s\n' % t for t in spec.tests))
	m.add_data('/etc/testvm/timeout-scale', '%d\n' % spec.timeout_scale)
	m.add_data('/etc/testvm/stress-divisor', '%d\n' % spec.stress_divisor)
	m.files['/etc/testvm/extra-seconds'] = ('dir', None, 0o755)
	for prog, seconds in spec.extra_seconds.items():
		m.add_data('/etc/testvm/extra-seconds/' + prog, '%d\n' % seconds)
	m.add_data('/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n')
	m.add_data('/etc/group', 'root:x:0:\n')

	moddir = os.path.join(spec.kernel_root, 'lib/modules', spec.kver)
	dest = '/lib/modules/%s/' % spec.kver
	for rel in KVM_MODULES:
		src = os.path.join(moddir, rel)
		if not os.path.exists(src) and os.path.exists(src + '.xz'):
			src += '.xz'
		m.add_kmod(dest + rel, src)
	for rel in MODULE_INDEXES:
		if os.path.exists(os.path.join(moddir, rel)):
			m.add_file(dest + rel, os.path.join(moddir, rel), 0o644)
	if spec.module:
		m.add_kmod(dest + 'extra/minivmm.ko', spec.module)

	if spec.cli:
		m.add_file('/usr/bin/minivmm', spec.cli, 0o755)
	if spec.suite:
		m.add_tree('/kselftest', spec.suite)
	for src, dst in spec.adds:
		if os.path.isdir(src):
			m.add_tree(dst, src)
		else:
			m.add_file(dst, src)

	for image_path, host_path in LibResolver().closure(m.host_elves()).items():
		if image_path not in m.files:
			m.add_file(image_path, host_path)
	return m


def cached_cpio(m, cache_dir, name, extra_key=b'', prepare=None):
	"""Return the path of the cpio of manifest `m`, built unless cached.

	The cache key is the manifest's with `extra_key` and this file's
	text; `prepare(root)`, if given, runs on the staged tree.
	"""
	with open(os.path.abspath(__file__), 'rb') as f:
		extra_key += f.read()
	out = os.path.join(cache_dir, '%s-%s.cpio' % (name, m.key(extra_key)))
	if os.path.exists(out):
		os.utime(out)
		return out
	os.makedirs(cache_dir, exist_ok=True)
	with tempfile.TemporaryDirectory(dir=cache_dir, prefix='.stage-') as tmp:
		root = os.path.join(tmp, 'root')
		m.stage(root)
		if prepare:
			prepare(root)
		part = os.path.join(tmp, name + '.cpio')
		write_cpio(root, part,
			   nodes=[('/dev/console', stat.S_IFCHR | 0o600, 5, 1)])
		os.replace(part, out)
	return out


def build_initramfs(spec, cache_dir, extra_key=b''):
	"""Return the path of the cpio for `spec`, from the cache if possible."""
	def depmod(root):
		# busybox modprobe reads modules.dep & co. made by depmod.
		run(['depmod', '-b', root, spec.kver])

	return cached_cpio(make_manifest(spec), cache_dir, 'initramfs',
			   extra_key, depmod)


def build_guest_initrd(cache_dir, kernel_root=None, kver=None):
	"""Return the path of the guest's initramfs, from the cache if possible.

	The initramfs of the Linux guest that minivmm boots inside the
	machine: the static busybox, its applets and guest-init.sh as /init;
	with `kernel_root` and `kver` (the guest kernel's modules, unpacked),
	the virtio modules in GUEST_VIRTIO_DIR as 1-virtio_ring.ko ... for
	the guest's insmod.
	"""
	m = Manifest()
	for d in ('dev', 'proc', 'sys', 'bin'):
		m.files['/' + d] = ('dir', None, 0o755)
	if kernel_root and kver:
		moddir = os.path.join(kernel_root, 'lib/modules', kver)
		for i, rel in enumerate(GUEST_VIRTIO_MODULES):
			src = os.path.join(moddir, rel)
			if not os.path.exists(src) and os.path.exists(src + '.xz'):
				src += '.xz'
			if not os.path.exists(src):
				raise ImageError('no %s in %s' % (rel, moddir))
			m.add_kmod('%s%d-%s' % (GUEST_VIRTIO_DIR, i + 1,
						os.path.basename(rel)), src)
	for applet in busybox_applets():
		m.add_symlink('/bin/' + os.path.basename(applet), 'busybox')
	m.add_file('/bin/busybox', BUSYBOX, 0o755)
	m.add_file('/init', GUEST_INIT_SCRIPT, 0o755)
	if LibResolver().closure(m.host_elves()):
		raise ImageError('%s is not static: the guest initramfs has no '
				 'shared libraries' % BUSYBOX)
	return cached_cpio(m, cache_dir, 'guest-initrd')


def prune_cache(cache_dir, pattern, keep):
	"""Drop all but the `keep` most recently used files matching pattern,
	and temporaries that a killed build left behind."""
	def mtime(path):
		try:
			return os.stat(path).st_mtime
		except OSError:
			return 0

	files = sorted(glob.glob(os.path.join(cache_dir, pattern)),
		       key=mtime, reverse=True)
	stale = [p for p in glob.glob(os.path.join(cache_dir, '.*'))
		 if time.time() - mtime(p) > 3600]
	for path in files[keep:] + stale:
		if os.path.isdir(path):
			shutil.rmtree(path, ignore_errors=True)
			continue
		try:
			os.unlink(path)
		except OSError:
			pass


# ---------------------------------------------------------------- ISO ---

def build_iso(kernel, initramfs, cmdline, out, tmpdir):
	"""An isolinux CD that boots `kernel` with `initramfs` and `cmdline`."""
	root = os.path.join(tmpdir, 'iso')
	os.makedirs(os.path.join(root, 'isolinux'))
	# isolinux.bin gets patched by -boot-info-table: copy, never link.
	shutil.copyfile(ISOLINUX_BIN, os.path.join(root, 'isolinux/isolinux.bin'))
	shutil.copyfile(LDLINUX_C32, os.path.join(root, 'isolinux/ldlinux.c32'))
	for src, name in ((kernel, 'vmlinuz'), (initramfs, 'initrd')):
		dst = os.path.join(root, name)
		try:
			os.link(src, dst)
		except OSError:
			shutil.copyfile(src, dst)
	with open(os.path.join(root, 'isolinux/isolinux.cfg'), 'w') as f:
		f.write('DEFAULT testvm\nPROMPT 0\nTIMEOUT 0\n'
			'LABEL testvm\n  KERNEL /vmlinuz\n  INITRD /initrd\n'
			'  APPEND %s\n' % cmdline)
	run(['xorriso', '-as', 'mkisofs', '-quiet', '-o', out,
	     '-b', 'isolinux/isolinux.bin', '-c', 'isolinux/boot.cat',
	     '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table',
	     '-R', root])
	shutil.rmtree(root)
	return out

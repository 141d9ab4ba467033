#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The debug kernel of the emulated VMX machine (lockdep, atomic-sleep
# checks, KASAN, kmemleak, UBSAN): Debian's linux-source-6.1 on
# `make tinyconfig` plus scripts/debug-kernel.config.  Debian's own kernel
# has none of these checks, so without this kernel the suite cannot see
# "sleeping function called from invalid context", lock order inversions,
# use-after-free or leaks.
#
# Usage: scripts/debug-kernel.sh [build]   build the kernel if out of date
#        scripts/debug-kernel.sh module    build minivmm.ko for it
#        scripts/debug-kernel.sh dir       print the kernel's directory
#
# The kernel lives in $DEBUG_KERNEL_DIR (default .deps/debug-kernel):
#   linux/            source and objects: the KDIR of module builds
#   bzImage           the kernel (linux/vmlinux is the same, unpacked)
#   modules/lib/modules/$(cat kernel-version)/   kvm, kvm-intel, irqbypass
#   kernel-version    its release string
#   stamp             the cache key of the finished build
# The key covers the fragment, this script, the linux-source package's
# version and the compiler: while it matches, `build` does nothing.  An
# out-of-date tree is rebuilt in place, so a changed fragment only
# recompiles what the changed options touch.
#
# `module` copies the module's sources (Kbuild, module/, uapi/) to
# build/debug/src and builds there, leaving the tree's own minivmm.ko,
# built for Debian's kernel, alone; the result is build/debug/minivmm.ko.
#
# Environment: JOBS (default 2) parallel jobs of the kernel build.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${DEBUG_KERNEL_DIR:-$top/.deps/debug-kernel}
frag=$top/scripts/debug-kernel.config
self=$top/scripts/debug-kernel.sh
pkg=linux-source-6.1
jobs=${JOBS:-2}

say() { echo "debug-kernel: $*"; }
die() { echo "debug-kernel: error: $*" >&2; exit 1; }

# The kernel's make must not see the variables or the jobserver of a
# make that runs this script (make check CPUS=2, make -j...).
kmake() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
		make "$@"
}

cache_key() {
	local ver
	ver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null) ||
		die "$pkg is not installed: run scripts/deps.sh"
	{
		echo "$pkg $ver"
		gcc --version | head -n1
		cat "$frag" "$self"
	} | sha256sum | cut -c1-16
}

# Every option the fragment sets must survive olddefconfig: Kconfig drops
# an option whose dependencies are unmet without a word.
check_config() {
	local config=$1 line sym want have bad=0
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			sym=${line%%=*}
			want=${line#*=}
			;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }
			sym=${sym%% *}
			want=n
			;;
		*)
			continue
			;;
		esac
		have=$(sed -n -e "s/^$sym=//p" \
			-e "s/^# $sym is not set\$/n/p" "$config")
		if [ "${have:-n}" != "$want" ]; then
			echo "debug-kernel: $sym: fragment says $want," \
			     "the .config has ${have:-nothing}" >&2
			bad=1
		fi
	done < "$frag"
	return $bad
}

unpack_source() {
	local tree=$1 ver tarball
	ver=$(dpkg-query -W -f='${Version}' "$pkg")
	if [ -f "$tree/.source-version" ] &&
	   [ "$(cat "$tree/.source-version")" = "$ver" ]; then
		return
	fi
	tarball=$(ls /usr/src/$pkg.tar.* 2>/dev/null | head -n1)
	[ -n "$tarball" ] || die "no /usr/src/$pkg.tar.*: run scripts/deps.sh"
	say "unpacking $pkg $ver"
	rm -rf "$tree" "$tree.tmp"
	mkdir -p "$tree.tmp"
	tar -C "$tree.tmp" --strip-components=1 -xaf "$tarball"
	echo "$ver" > "$tree.tmp/.source-version"
	mv "$tree.tmp" "$tree"
}

build() {
	local key tree=$out/linux log=$out/build.log kver start
	key=$(cache_key)
	if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$key" ] &&
	   [ -f "$out/bzImage" ]; then
		say "up to date ($(cat "$out/kernel-version"))"
		return
	fi
	start=$(date +%s)
	rm -f "$out/stamp"
	unpack_source "$tree"

	say "configuring (tinyconfig + ${frag#"$top"/})"
	(
		cd "$tree"
		kmake -s tinyconfig
		scripts/kconfig/merge_config.sh -m .config "$frag"
		kmake -s olddefconfig
	) > "$out/config.log" 2>&1 ||
		{ cat "$out/config.log" >&2; die "configuration failed"; }
	check_config "$tree/.config" ||
		die "the fragment asks for options the kernel did not take"

	say "building with $jobs jobs (about 5 min on 2 cores; log: $log)"
	if ! kmake -C "$tree" -j"$jobs" bzImage modules > "$log" 2>&1; then
		tail -n 40 "$log" >&2
		die "kernel build failed (full log: $log)"
	fi
	kver=$(kmake -s -C "$tree" kernelrelease)

	rm -rf "$out/modules.tmp"
	kmake -C "$tree" -s INSTALL_MOD_PATH="$out/modules.tmp" \
		modules_install >> "$log" 2>&1 ||
		die "modules_install failed (log: $log)"
	# The build/source links point back into the tree: nothing in the
	# machine needs them, and copies of the directory would follow them.
	rm -f "$out/modules.tmp/lib/modules/$kver/build" \
	      "$out/modules.tmp/lib/modules/$kver/source"
	depmod -b "$out/modules.tmp" "$kver"
	rm -rf "$out/modules"
	mv "$out/modules.tmp" "$out/modules"

	cp "$tree/arch/x86/boot/bzImage" "$out/bzImage.tmp"
	mv "$out/bzImage.tmp" "$out/bzImage"
	echo "$kver" > "$out/kernel-version"
	echo "$key" > "$out/stamp"
	say "built $kver in $(( $(date +%s) - start )) s"
}

module() {
	local dst=$top/build/debug
	[ -f "$out/stamp" ] ||
		die "no debug kernel in $out: run scripts/debug-kernel.sh"
	mkdir -p "$dst/src"
	# Sources only: the objects next to them were built for Debian's
	# kernel.  Times are kept, so that Kbuild rebuilds only what changed.
	rsync -a --delete \
		--exclude='*.o' --exclude='*.ko' --exclude='*.mod' \
		--exclude='*.mod.c' --exclude='.*.cmd' --exclude='*.o.d' \
		--exclude='Module.symvers' --exclude='modules.order' \
		"$top/Kbuild" "$top/module" "$top/uapi" "$dst/src/"
	if ! kmake -C "$out/linux" M="$dst/src" modules \
		> "$dst/build.log" 2>&1; then
		cat "$dst/build.log" >&2
		die "minivmm.ko does not build against the debug kernel"
	fi
	cp "$dst/src/minivmm.ko" "$dst/minivmm.ko.tmp"
	mv "$dst/minivmm.ko.tmp" "$dst/minivmm.ko"
	echo "$dst/minivmm.ko"
}

mkdir -p "$out"
case ${1:-build} in
build)
	# One build at a time; the others wait and then find it done.
	exec 9> "$out.lock"
	flock 9
	build
	;;
module)
	# Not while the kernel is being rebuilt under us.
	exec 9> "$out.lock"
	flock 9
	mkdir -p "$top/build"
	exec 8> "$top/build/debug.lock"
	flock 8
	module
	;;
dir)
	echo "$out"
	;;
*)
	echo "usage: $0 [build|module|dir]" >&2
	exit 2
	;;
esac

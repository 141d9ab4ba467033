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
# Usage: scripts/debug-kernel.sh [build]   build the kernel unless cached
#        scripts/debug-kernel.sh dir       print the kernel's directory
#
# The kernel is the same on every run, so it is cached on the machine, out
# of the source tree: a fresh clone (CI's) finds it built.  The directory
# is $MINIVMM_CACHE/debug-kernel-KEY (MINIVMM_CACHE defaults to
# /var/cache/minivmm as root, else ~/.cache/minivmm; DEBUG_KERNEL_DIR
# names another directory outright), where KEY hashes the fragment, the
# functions of this script that configure and build the kernel, the
# linux-source package's version and the compiler:
#   linux/            source and objects: the KDIR of module builds
#   bzImage           the kernel (linux/vmlinux is the same, unpacked)
#   modules/lib/modules/$(cat kernel-version)/   kvm, kvm-intel, irqbypass
#   kernel-version    its release string
#   stamp             written last: the build is complete
# Building a new key removes the least recently used other builds but one.
# scripts/build-module.sh builds minivmm.ko for it (build/debug/).
#
# Environment: JOBS (default 2) parallel jobs of the kernel build.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
frag=$top/scripts/debug-kernel.config
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
		cat "$frag"
		# What makes the kernel, not the usage text around it.
		declare -f kmake check_config unpack_source build
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

cache_root() {
	if [ -n "${MINIVMM_CACHE:-}" ]; then
		echo "$MINIVMM_CACHE"
	elif [ "$(id -u)" -eq 0 ]; then
		echo /var/cache/minivmm
	else
		echo "${XDG_CACHE_HOME:-$HOME/.cache}/minivmm"
	fi
}

# Other keys' builds (a changed fragment, an older linux-source): keep the
# most recently used one, for a branch that still has the old fragment.
prune() {
	local root=$1 keep=$2 d
	{ ls -1dt "$root"/debug-kernel-*/ 2>/dev/null || true; } |
		sed 's:/$::' | { grep -vxF "$keep" || true; } | tail -n +2 |
	while IFS= read -r d; do
		# Not while a build or a module build holds it.
		if flock -n "$d.lock" true; then
			say "removing the older build $d"
			rm -rf "$d" "$d.lock"
		fi
	done
}

if [ -n "${DEBUG_KERNEL_DIR:-}" ]; then
	out=$DEBUG_KERNEL_DIR
else
	out=$(cache_root)/debug-kernel-$(cache_key)
fi

case ${1:-build} in
build)
	# Finished builds never change (the key names them): no lock, which
	# machines booting this kernel hold shared while they run.
	if [ -f "$out/stamp" ] && [ -f "$out/bzImage" ]; then
		say "up to date ($(cat "$out/kernel-version"))"
		touch "$out"
		exit 0
	fi
	mkdir -p "$out"
	# One build at a time; the others wait and then find it done.
	exec 9> "$out.lock"
	flock 9
	build
	# Used now: the pruning of other keys goes by this time.
	touch "$out"
	[ -n "${DEBUG_KERNEL_DIR:-}" ] || prune "$(dirname "$out")" "$out"
	;;
dir)
	echo "$out"
	;;
*)
	echo "usage: $0 [build|dir]" >&2
	exit 2
	;;
esac

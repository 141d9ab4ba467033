#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install, idempotently, everything minivmm needs from Debian's archive, and
# unpack (never install) the Debian kernel images that match the headers, so
# the emulated VMX machine boots exactly the kernels the module is built for:
# Debian 12's two kernel lines, 6.1 and 6.12.
#
#   OUTDIR/kernel-6.1/, kernel-6.12/   each an unpacked linux-image-*-unsigned
#                                      (boot/vmlinuz-*, lib/modules/*) and
#                                      its release string in version
#   OUTDIR/kernel-version              6.1's release: `make`'s default KDIR
#   OUTDIR/linux-source/               kselftest, checkpatch, kernel-doc
#
# Usage: scripts/deps.sh [OUTDIR]   (OUTDIR defaults to .deps in the tree)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/.deps}

# Each kernel line: its name and the meta package of its headers.
kernels=("6.1 linux-headers-amd64" "6.12 linux-headers-6.12-amd64")

pkgs=(build-essential bc kmod cpio xz-utils zstd linux-headers-amd64
      linux-headers-6.12-amd64
      bochs bochs-term bochsbios vgabios busybox-static
      libnl-3-dev libnl-genl-3-dev pkg-config linux-source-6.1 sparse
      isolinux syslinux-common xorriso rsync python3
      flex bison libelf-dev lz4	# these four: scripts/debug-kernel.sh
      qemu-system-x86)		# make bench's Linux boot under QEMU+KVM

missing=()
versions=
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		grep -q '^install ok installed$' || missing+=("$p")
done

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	as_root apt-get update -qq
	DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$out"
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT

# A headers meta package points to one ABI, which names the image.
for k in "${kernels[@]}"; do
	read -r name meta <<< "$k"
	kver=$(dpkg-query -W -f='${Depends}' "$meta" |
		grep -o 'linux-headers-[0-9][^ ,]*-amd64' | head -n1 |
		sed 's/^linux-headers-//')
	[ -n "$kver" ] || { echo "deps: cannot tell $meta's ABI" >&2; exit 1; }
	dir=$out/kernel-$name
	if [ ! -f "$dir/boot/vmlinuz-$kver" ] || [ ! -f "$dir/version" ]; then
		img=linux-image-$kver-unsigned
		echo "deps: fetching $img"
		rm -f "$tmp"/*.deb
		(cd "$tmp" && apt-get download -qq "$img" ||
			{ as_root apt-get update -qq &&
			  apt-get download -qq "$img"; })
		rm -rf "$dir" "$dir.tmp"
		dpkg -x "$tmp"/linux-image-*.deb "$dir.tmp"
		depmod -b "$dir.tmp" "$kver"
		echo "$kver" > "$dir.tmp/version"
		mv "$dir.tmp" "$dir"
	fi
	[ "$name" != 6.1 ] || echo "$kver" > "$out/kernel-version"
	versions+=" $name=$kver"
done

src=/usr/src/linux-source-6.1
# Re-extract when a file this list needs is missing (the list grew).
if [ ! -f "$out/linux-source/scripts/kernel-doc" ]; then
	echo "deps: unpacking linux-source-6.1"
	rm -rf "$out/linux-source.tmp"
	mkdir -p "$out/linux-source.tmp"
	tar -C "$out/linux-source.tmp" --strip-components=1 -xaf \
		"$(ls $src.tar.* | head -n1)" \
		--wildcards '*/tools/testing/selftests/kselftest*' \
		'*/tools/testing/selftests/run_kselftest.sh' \
		'*/tools/testing/selftests/lib.mk' \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/kernel-doc' \
		'*/scripts/const_structs.checkpatch' \
		'*/tools/include/*'
	rm -rf "$out/linux-source"
	mv "$out/linux-source.tmp" "$out/linux-source"
fi

echo "deps: ok (kernels$versions)"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install, idempotently, everything minivmm needs from Debian's archive, and
# unpack (never install) the Debian kernel image that matches the headers, so
# the emulated VMX machine boots exactly the kernel the module is built for.
#
# Usage: scripts/deps.sh [OUTDIR]   (OUTDIR defaults to .deps in the tree)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/.deps}

pkgs=(build-essential bc kmod cpio xz-utils linux-headers-amd64
      bochs bochs-term bochsbios vgabios busybox-static
      libnl-3-dev libnl-genl-3-dev pkg-config linux-source-6.1 sparse
      isolinux syslinux-common xorriso rsync python3
      flex bison libelf-dev lz4)	# the last four: scripts/debug-kernel.sh

missing=()
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

# The headers package is a meta package; the ABI it points to names the image.
kver=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 |
	grep -o 'linux-headers-[0-9][^ ,]*-amd64' | head -n1 |
	sed 's/^linux-headers-//')
[ -n "$kver" ] || { echo "deps: cannot tell the kernel ABI" >&2; exit 1; }

mkdir -p "$out"
echo "$kver" > "$out/kernel-version"

if [ ! -f "$out/kernel/boot/vmlinuz-$kver" ]; then
	echo "deps: fetching linux-image-$kver"
	tmp=$(mktemp -d)
	chmod 755 "$tmp"
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && apt-get download -qq "linux-image-$kver" ||
		{ as_root apt-get update -qq &&
		  apt-get download -qq "linux-image-$kver"; })
	rm -rf "$out/kernel"
	dpkg -x "$tmp"/linux-image-*.deb "$out/kernel"
	depmod -b "$out/kernel" "$kver"
fi

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

echo "deps: ok (kernel $kver)"

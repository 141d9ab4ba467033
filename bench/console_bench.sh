#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A Linux guest writing to its console, the UART's way and the virtio
# console's: linux_boot_test's guest (Debian's vmlinux and the busybox
# initramfs the machine's image carries) boots with --virtio-console
# three times: once writing nothing, once KIB KiB (default 1024) to
# /dev/ttyS0, once to /dev/hvc0. For each path it prints the exits
# (all, and to userspace) and the guest's time over those of the boot
# that wrote nothing, per KiB; and the virtio device's requests and
# interrupts. Run inside the emulated machine:
#
#   scripts/testvm --add bench/console_bench.sh --run '/root/console_bench.sh'
#
# Cycles are the guest's time (its clock is the TSC) times the TSC's
# frequency the machine's kernel detected.
set -e
KIB=${1:-1024}
KERNEL=${MINIVMM_GUEST_VMLINUX:-/usr/share/minivmm/vmlinux}
INITRD=/usr/share/minivmm/guest-initrd.cpio
CMDLINE="console=ttyS0 quiet cryptomgr.notests rodata=off mitigations=off pci=off panic=-1 guest_virtio"
OUT=/tmp/console_bench

mhz=$(dmesg | sed -n 's/.*tsc: Detected \([0-9.]*\) MHz.*/\1/p' | head -n 1)
mkdir -p "$OUT"

# boot NAME EXTRA-CMDLINE: its stdout and stderr in $OUT/NAME.*
boot() {
	minivmm run --stats --timeout 3000 --mem 96M --kernel "$KERNEL" \
		--initrd "$INITRD" --virtio-console \
		--cmdline "$CMDLINE $2" > "$OUT/$1.out" 2> "$OUT/$1.err" || true
}

# exits NAME: all exits, exits to userspace, guest seconds writing
exits() {
	awk '/^  vCPU [0-9]+:/ { all += $5 }
	     /exits to userspace/ { user += $4 }
	     END { printf "%d %d", all, user }' "$OUT/$1.err"
	tr -d '\r' < "$OUT/$1.out" |
		awk '/^guest: bench / { printf " %.2f", $7 - $6; f = 1 }
		     END { if (!f) printf " 0" }'
}

boot idle ""
boot uart "guest_bench=ttyS0 guest_bench_kib=$KIB"
boot virtio "guest_bench=hvc0 guest_bench_kib=$KIB"

# shellcheck disable=SC2046 # three numbers, split on purpose
set -- $(exits idle)
idle_all=$1 idle_user=$2
echo "TSC $mhz MHz; $KIB KiB; the boot that wrote nothing: $idle_all exits, $idle_user to userspace"
printf '%-8s %10s %10s %12s %12s %9s %14s\n' path exits user-exits \
	exits/KiB user/KiB seconds cycles/KiB
for p in uart virtio; do
	# shellcheck disable=SC2046
	set -- $(exits $p)
	awk -v p="$p" -v a="$1" -v u="$2" -v s="$3" -v ia="$idle_all" \
	    -v iu="$idle_user" -v k="$KIB" -v mhz="$mhz" 'BEGIN {
		printf "%-8s %10d %10d %12.1f %12.1f %9.2f %14.0f\n", p,
		       a - ia, u - iu, (a - ia) / k, (u - iu) / k, s,
		       s * mhz * 1e6 / k }'
done
grep -h "virtio-console:" "$OUT/virtio.err"
grep -h "needs a reset" "$OUT"/*.err || true

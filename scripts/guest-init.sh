#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the guest initramfs that 'minivmm run --kernel' boots in
# linux_boot_test (scripts/vmimage.py's build_guest_initrd()): it reports
# what the test checks, then powers the VM off. With guest_shell on the
# kernel command line it runs a shell on the console first, for the test
# of typed input; the shell's end powers off too. With guest_virtio it
# loads the virtio modules of /lib/modules/virtio (minivmm run
# --virtio-console), writes a marker to /dev/hvc0, reports the
# device's interrupt counts (with guest_hvc_shell too, runs a shell on
# /dev/hvc0, for the test of typed input there) and removes the driver
# again; with guest_bench=DEV it writes 1 MiB (or
# guest_bench_kib=N KiB) to /dev/DEV (ttyS0 or hvc0) and reports how
# long that took.
export PATH=/bin
mount -t proc proc /proc

# The interrupts of the virtio-mmio device (its driver names its
# interrupt after the virtio device, virtio0) on all CPUs; -1: none.
virtio_irqs() {
	awk '$NF ~ /^virtio[0-9]+$/ { n = 0; for (i = 2; i <= NF; i++)
		if ($i ~ /^[0-9]+$/) n += $i; else break; print n; f = 1 }
		END { if (!f) print -1 }' /proc/interrupts
}

if grep -qw guest_virtio /proc/cmdline; then
	mount -t devtmpfs dev /dev
	for m in /lib/modules/virtio/*.ko; do
		insmod "$m" || echo "guest: insmod $m failed"
	done
	i=0
	while [ ! -c /dev/hvc0 ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ -c /dev/hvc0 ]; then
		echo "guest: hvc0: present"
		echo "guest: virtio irqs before: $(virtio_irqs)"
		echo "virtio-console-marker-$((6 * 7))" > /dev/hvc0
		echo "guest: virtio irqs after: $(virtio_irqs)"
		if grep -qw guest_hvc_shell /proc/cmdline; then
			echo "guest: hvc0 shell"
			sh < /dev/hvc0 > /dev/hvc0 2>&1
		fi
	else
		echo "guest: hvc0: missing"
	fi
fi
bench=$(sed -n 's/.*guest_bench=\([a-zA-Z0-9]*\).*/\1/p' /proc/cmdline)
if [ -n "$bench" ]; then
	# Raw: no newline translation, the same bytes on both paths.
	stty -F "/dev/$bench" raw 2>/dev/null
	kib=$(sed -n 's/.*guest_bench_kib=\([0-9]*\).*/\1/p' /proc/cmdline)
	t0=$(cut -d' ' -f1 /proc/uptime)
	dd if=/dev/zero bs=1024 count="${kib:-1024}" 2>/dev/null | tr '\0' x \
		> "/dev/$bench"
	t1=$(cut -d' ' -f1 /proc/uptime)
	echo
	echo "guest: bench $bench ${kib:-1024} KiB: $t0 $t1"
fi
# Unbinding the driver resets the device and deletes its queues; the
# test wants that to end without a warning.
if [ -c /dev/hvc0 ]; then
	rmmod virtio_console && echo "guest: hvc0: removed"
fi
echo "guest: uname -r: $(uname -r)"
echo "guest: nproc: $(nproc)"
# The topology the kernel made of CPUID: CPU 0's siblings (CPUs in its
# package) and cores, and every CPU's package and core.
awk -F': ' '/^physical id/ { p = p " " $2 } /^core id/ { c = c " " $2 }
	/^siblings/ && !s { s = $2 } /^cpu cores/ && !n { n = $2 }
	END { print "guest: siblings: " s; print "guest: cpu cores: " n
	      print "guest: physical ids:" p; print "guest: core ids:" c }' \
	/proc/cpuinfo
cat /proc/interrupts
# The kernel's warnings and errors (log levels 0-4), whatever the console
# showed of them under 'quiet'.
dmesg -r | grep '^<[0-4]>' | sed 's/^/guest: log: /'
# The local timer interrupts again, a little later: they go on.
sleep 0.1
echo "guest: later: $(grep LOC: /proc/interrupts)"
echo "guest: uptime: $(cut -d' ' -f1 /proc/uptime)"
echo "guest: minivmm-guest-init-done"
if grep -qw guest_shell /proc/cmdline; then
	echo "guest: shell"
	sh
fi
poweroff -f

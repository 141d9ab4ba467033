#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the guest initramfs that 'minivmm run --kernel' boots in
# linux_boot_test (scripts/vmimage.py's build_guest_initrd()): it reports
# what the test checks, then powers the VM off. With guest_shell on the
# kernel command line it runs a shell on the console first, for the test
# of typed input; the shell's end powers off too.
export PATH=/bin
mount -t proc proc /proc
echo "guest: uname -r: $(uname -r)"
echo "guest: nproc: $(nproc)"
cat /proc/interrupts
# The kernel's warnings and errors (log levels 0-4), whatever the console
# showed of them under 'quiet'.
dmesg -r | grep '^<[0-4]>' | sed 's/^/guest: log: /'
echo "guest: uptime: $(cut -d' ' -f1 /proc/uptime)"
echo "guest: minivmm-guest-init-done"
if grep -qw guest_shell /proc/cmdline; then
	echo "guest: shell"
	sh
fi
poweroff -f

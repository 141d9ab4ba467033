#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the initramfs scripts/testvm builds.  It runs on busybox sh in
# the emulated VMX machine, prints everything on the serial console and
# always powers the machine off.  Lines starting with "TESTVM: " are read
# back by scripts/testvm: keep their format in step with it.
#
# /etc/testvm/mode is "suite" (run /kselftest/run_kselftest.sh) or "run"
# (run the shell command in /etc/testvm/command).

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# udev would make these; kselftest's runner writes to /dev/stdout.
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug
# Tracepoints, where the kernel has tracefs.
[ -d /sys/kernel/tracing ] && mount -t tracefs tracefs /sys/kernel/tracing
mount -t tmpfs tmpfs /tmp
hostname testvm

echo "TESTVM: INIT uptime=$(cut -d' ' -f1 /proc/uptime)"

if [ -e "/lib/modules/$(uname -r)/extra/minivmm.ko" ]; then
	modprobe minivmm
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "TESTVM: MODPROBE FAILED minivmm rc=$rc"
	else
		echo "TESTVM: MODPROBE OK minivmm"
	fi
else
	echo "TESTVM: NO MODULE minivmm"
fi

# A slow kernel (the debug one) gets proportionally longer kselftest
# timeouts: the runner reads them from each collection's settings file.
scale=$(cat /etc/testvm/timeout-scale 2>/dev/null)
if [ "${scale:-1}" -gt 1 ] && [ -r /kselftest/kselftest-list.txt ]; then
	default=$(sed -n 's/^export kselftest_default_timeout=//p' \
		/kselftest/kselftest/runner.sh 2>/dev/null)
	for c in $(cut -d: -f1 /kselftest/kselftest-list.txt | sort -u); do
		f=/kselftest/$c/settings
		t=$(sed -n 's/^timeout=//p' "$f" 2>/dev/null)
		t=$(( ${t:-${default:-45}} * scale ))
		{ grep -v '^timeout=' "$f" 2>/dev/null; echo "timeout=$t"; } \
			> /tmp/settings && mv /tmp/settings "$f"
		echo "TESTVM: kselftest timeout of $c: $t s"
	done
fi

# The selftest library divides the rounds of its stress tests by this,
# and multiplies its own wall-clock waits by the timeout scale.
MINIVMM_STRESS_DIVISOR=$(cat /etc/testvm/stress-divisor 2>/dev/null)
MINIVMM_TIMEOUT_SCALE=$scale
export MINIVMM_STRESS_DIVISOR MINIVMM_TIMEOUT_SCALE

# Nothing may wait for console input: the serial port has none.
case "$(cat /etc/testvm/mode)" in
suite)
	echo "TESTVM: SUITE BEGIN"
	if [ -x /kselftest/run_kselftest.sh ]; then
		# One "-t minivmm:NAME" per program of a partial run.
		set -- $(sed 's/^/-t /' /etc/testvm/tests)
		(cd /kselftest && ./run_kselftest.sh "$@") </dev/null 2>&1
		rc=$?
	else
		echo "TESTVM: no /kselftest/run_kselftest.sh in the image"
		rc=127
	fi
	echo "TESTVM: SUITE END rc=$rc"
	;;
run)
	echo "TESTVM: RUN BEGIN"
	(cd /root && sh -c "$(cat /etc/testvm/command)") </dev/null 2>&1
	rc=$?
	echo "TESTVM: RUN END rc=$rc"
	;;
esac

# The debug kernel's leak check, with the module still loaded so that the
# backtraces name its functions.  Kmemleak ignores objects younger than
# 5 s, hence the wait: the last test's leaks count too.  It takes two
# scans: the first one only records a checksum of each new unreferenced
# object, and a leak is reported once a later scan finds it unchanged.
if [ -e /sys/kernel/debug/kmemleak ]; then
	echo "TESTVM: KMEMLEAK BEGIN"
	sleep 5
	if echo scan > /sys/kernel/debug/kmemleak &&
	   echo scan > /sys/kernel/debug/kmemleak; then
		cat /sys/kernel/debug/kmemleak
		rc=0
	else
		echo "TESTVM: kmemleak scan failed"
		rc=1
	fi
	echo "TESTVM: KMEMLEAK END rc=$rc"
fi

# quiet/loglevel=3 keep warnings off the console: dump them all here.
echo "TESTVM: DMESG BEGIN"
dmesg
echo "TESTVM: DMESG END"

# Let the UART drain before the machine goes away.
sleep 2
poweroff -f
# With reboot=t a reboot ends Bochs too.
reboot -f

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Where the cycles of one userspace round trip go: exit_bench's pio row,
# --quick (100 OUTs to a port userspace answers), under minivmm with the
# caller's ioctl entry and return (the syscalls tracepoints, for the
# bench's own pid) and the module's minivmm_entry and minivmm_exit
# tracepoints stamped with the TSC (trace_clock x86-tsc). Each complete
# round trip (RUN entered, VM entry, an I/O exit, RUN returned) splits
# into four intervals; the averages are printed with the number of round
# trips. The tracepoints cost cycles of their own, which the intervals
# include: compare the total with the bench's untraced pio row.
#
#   trace_roundtrip.sh [EXIT_BENCH]     (as root, in the machine)

set -eu

bench=${1:-/root/exit_bench}
t=/sys/kernel/tracing
[ -e $t/trace ] || mount -t tracefs nodev $t

echo 0 > $t/tracing_on
echo x86-tsc > $t/trace_clock
echo 4096 > $t/buffer_size_kb
echo > $t/set_event
echo > $t/trace
for e in minivmm/minivmm_entry minivmm/minivmm_exit \
	 syscalls/sys_enter_ioctl syscalls/sys_exit_ioctl; do
	echo 1 > $t/events/$e/enable
done

# The filters name the pid the bench will have: the shell that execs it.
sh -c "for e in sys_enter_ioctl sys_exit_ioctl; do
	echo \"common_pid == \$\$\" > $t/events/syscalls/\$e/filter
done
echo 1 > $t/tracing_on
exec $bench --quick --only pio"

echo 0 > $t/tracing_on
for e in minivmm/minivmm_entry minivmm/minivmm_exit \
	 syscalls/sys_enter_ioctl syscalls/sys_exit_ioctl; do
	echo 0 > $t/events/$e/enable
done
echo 0 > $t/events/syscalls/sys_enter_ioctl/filter
echo 0 > $t/events/syscalls/sys_exit_ioctl/filter

# E: RUN entered, N: VM entry, X: the I/O exit (reason 30), R: RUN
# returned. The userspace interval runs from one complete round trip's
# return to the next one's entry.
awk '
/^#/ { next }
{
	ts = ""
	for (i = 1; i < NF; i++)
		if ($i ~ /^[0-9]+:$/) {
			ts = substr($i, 1, length($i) - 1)
			ev = $(i + 1)
			break
		}
	if (ts == "")
		next
}
ev ~ /^sys_ioctl\(/ { e = ts; n = ""; x = ""; next }
ev == "minivmm_entry:" { if (e != "" && n == "") n = ts; next }
ev == "minivmm_exit:" {
	for (i = 1; i < NF; i++)
		if ($i == "reason" && $(i + 1) == 30 && n != "")
			x = ts
	next
}
ev == "sys_ioctl" {
	if (e != "" && n != "" && x != "") {
		in_ += n - e; guest += x - n; out += ts - x; count++
		if (r != "") { user += e - r; users++ }
		r = ts
	} else {
		r = ""
	}
	e = ""; n = ""; x = ""
}
END {
	if (!count) { print "trace_roundtrip: no complete round trip"; exit 1 }
	printf "round trips traced: %d\n", count
	printf "RUN entered to VM entry:             %8.0f\n", in_ / count
	printf "VM entry, guest OUT, VM exit:        %8.0f\n", guest / count
	printf "VM exit to RUN returned:             %8.0f\n", out / count
	if (users)
		printf "RUN returned to the next RUN:        %8.0f\n", user / users
	printf "total (traced):                      %8.0f\n", \
		(in_ + guest + out) / count + (users ? user / users : 0)
}' $t/trace

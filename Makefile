# SPDX-License-Identifier: GPL-2.0
#
# minivmm: build the module, the CLI and the selftests; boot the emulated
# VMX machine to test them. `make help` lists the targets.

TOP	:= $(CURDIR)
DEPS	:= $(TOP)/.deps
BUILD	:= $(TOP)/build

# The running kernel's build tree when it has one, else the Debian 6.1
# headers that `make deps` installs (the emulated machine's default kernel).
DEPS_KVER = $(shell cat $(DEPS)/kernel-version 2>/dev/null)
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
		    $(if $(DEPS_KVER),/usr/src/linux-headers-$(DEPS_KVER)))

KSFT_DIR := $(DEPS)/linux-source/tools/testing/selftests
KSFT_INSTALL := $(BUILD)/kselftest
CHECKPATCH := $(DEPS)/linux-source/scripts/checkpatch.pl
KERNELDOC := $(DEPS)/linux-source/scripts/kernel-doc

TESTVM	:= $(TOP)/scripts/testvm
# make check's machines, KERNEL:CPUS[:K/N], longest first: the debug
# kernel (lockdep, KASAN, kmemleak, UBSAN), its suite in two halves, and
# Debian 12's two kernel lines.
MACHINES ?= debug:1:1/2 debug:1:2/2 6.1:2 6.1:1 6.12:1

# DKMS: the package dkms.conf names, and what of the tree it builds from.
DKMS_NAME	:= $(shell sed -n 's/^PACKAGE_NAME="\(.*\)"$$/\1/p' dkms.conf)
DKMS_VERSION	:= $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' dkms.conf)
DKMS_SOURCES	:= dkms.conf Kbuild module uapi
DKMS_SRC_DIR	?= /usr/src/$(DKMS_NAME)-$(DKMS_VERSION)

# Run a build step with its output in build/NAME.log, shown only if the
# step fails: $(call quietly,NAME,COMMAND).
quietly = mkdir -p $(BUILD) && { $(2); } > $(BUILD)/$(1).log 2>&1 || \
	{ cat $(BUILD)/$(1).log; echo "failed; log: build/$(1).log" >&2; \
	  exit 1; }

.PHONY: all module userspace selftests deps debug-kernel kselftest-install check \
	check-debug dkms-src dkms-install dkms-remove \
	check-host check-scripts demo bench install clean checkpatch sparse help

all: module userspace selftests

help:
	@echo "make            build the module, the CLI and the selftests"
	@echo "make deps       install build and test dependencies (Debian)"
	@echo "make check      every test: the suite in the emulated VMX machine on"
	@echo "                Debian's 6.1 and 6.12 and on a debug kernel, DKMS"
	@echo "make check-debug   the suite on the debug kernel only"
	@echo "make debug-kernel  build that debug kernel (lockdep, KASAN, ...)"
	@echo "make dkms-install  install the module with DKMS (real VT-x host)"
	@echo "make dkms-remove   remove it from DKMS"
	@echo "make check-host run the selftests on this machine's kernel"
	@echo "make demo       boot the emulated machine and run the CLI"
	@echo "make bench      exit, I/O and VM costs and a Linux boot under minivmm"
	@echo "                and KVM/QEMU, snapshot, restore and migration under minivmm"
	@echo "                (JSON: build/exit_bench.json, io_bench.json, snapshot_bench.json)"
	@echo "make install    install the module and the CLI (real VT-x host)"
	@echo "make checkpatch checkpatch --strict and kernel-doc"
	@echo "make sparse     the module through sparse"

deps:
	@$(TOP)/scripts/deps.sh $(DEPS)

module:
	@test -n "$(KDIR)" -a -d "$(KDIR)" || \
		{ echo "no kernel build tree: run 'make deps' or set KDIR" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(TOP) modules

userspace:
	$(MAKE) -C userspace

selftests:
	@test -d $(KSFT_DIR) || \
		{ echo "no kselftest framework: run 'make deps'" >&2; exit 1; }
	$(MAKE) -C selftests KSFT_DIR=$(KSFT_DIR)

kselftest-install: selftests
	rm -rf $(KSFT_INSTALL)
	$(MAKE) -C selftests KSFT_DIR=$(KSFT_DIR) \
		INSTALL_PATH=$(KSFT_INSTALL)/minivmm install
	cp $(KSFT_DIR)/run_kselftest.sh $(KSFT_INSTALL)/
	cp -r $(KSFT_DIR)/kselftest $(KSFT_INSTALL)/
	$(MAKE) -s --no-print-directory -C selftests KSFT_DIR=$(KSFT_DIR) \
		COLLECTION=minivmm emit_tests > $(KSFT_INSTALL)/kselftest-list.txt

# Tests of the test runner itself, on the host.
check-scripts:
	python3 -m unittest discover -s $(TOP)/scripts/tests -t $(TOP)/scripts -v

# Builds the debug kernel first unless it is in its cache (~5 minutes).
check: deps
	@echo "check: building the module, the tool and the suite (log: build/check-build.log)"
	@$(call quietly,check-build,$(MAKE) all kselftest-install)
	$(TOP)/scripts/check $(MACHINES)

check-debug:
	$(MAKE) check MACHINES="debug:1:1/2 debug:1:2/2"

# Lockdep, KASAN, kmemleak, UBSAN: the kernel of make check's debug machine.
debug-kernel: deps
	@$(TOP)/scripts/debug-kernel.sh

check-host: all kselftest-install
	cd $(KSFT_INSTALL) && ./run_kselftest.sh

# Boot the emulated machine, show what the module found, run a guest: one
# line per step, the logs in build/.
demo:
	@echo "demo: dependencies (log: build/deps.log)"
	@$(call quietly,deps,$(TOP)/scripts/deps.sh $(DEPS))
	@echo "demo: building the module, the tool and the guests (log: build/demo-build.log)"
	@$(call quietly,demo-build,$(MAKE) all)
	@$(TESTVM) --log $(BUILD)/demo.log --add $(TOP)/userspace/guests/hello.bin \
		--add $(TOP)/userspace/guests/hello64.elf \
		--run 'minivmm caps && minivmm run /root/hello.bin && \
		       minivmm run /root/hello64.elf; echo "exit status $$?"'

# Benchmarks print numbers: minivmm next to KVM, in one boot of the
# emulated machine.
# QEMU (Debian's qemu-system-x86, which `make deps` installs) and the
# firmware its -kernel boots read, where it looks for them: next to its
# binary. Only the bench carries them into the machine.
QEMU		:= /usr/bin/qemu-system-x86_64
QEMU_FILES	:= $(QEMU) /usr/share/seabios/bios-256k.bin \
	/usr/share/qemu/kvmvapic.bin /usr/share/qemu/pvh.bin \
	/usr/share/qemu/bios-microvm.bin

# The boots need room for the image (QEMU's 40 MB among it) and two
# guests' 96 MiB at a time at most: 512 MB of machine. The tables go to
# stdout; their JSON, printed after them, to build/exit_bench.json and
# build/io_bench.json.
BENCH_JSON := exit_bench io_bench snapshot_bench
bench: all
	$(MAKE) -C bench
	@test -x $(QEMU) || { echo "no $(QEMU): run 'make deps'" >&2; exit 1; }
	$(TESTVM) --mem 512 --timeout 2400 --log $(BUILD)/bench.log \
		--add $(TOP)/bench/exit_bench \
		--add $(TOP)/bench/io_bench --add $(TOP)/bench/boot_bench \
		--add $(TOP)/bench/snapshot_bench \
		--add $(TOP)/userspace/guests/fill.elf \
		$(foreach f,$(QEMU_FILES),--add $(f):$(f)) \
		--run 'modprobe kvm_intel && \
		       /root/exit_bench --json /root/exit_bench.json; \
		       /root/io_bench --json /root/io_bench.json; \
		       /root/boot_bench; \
		       /root/snapshot_bench --json /root/snapshot_bench.json; \
		       for j in $(BENCH_JSON); do echo "bench-json $$j"; \
		       cat /root/$$j.json; done'
	@awk '{ sub(/\r$$/, "") } /^bench-json /{ f = "$(BUILD)/" $$2 ".json"; \
		next } f { print > f } /^\]\}$$/ { f = "" }' $(BUILD)/bench.log
	@for j in $(BENCH_JSON); do echo "bench: build/$$j.json"; done

install: module userspace
	$(MAKE) -C $(KDIR) M=$(TOP) modules_install
	$(MAKE) -C userspace install
	depmod -a

# The sources DKMS builds from, without objects of this tree's builds.
dkms-src:
	rm -rf $(DKMS_SRC_DIR)
	mkdir -p $(DKMS_SRC_DIR)
	cp -r $(DKMS_SOURCES) $(DKMS_SRC_DIR)/
	find $(DKMS_SRC_DIR) \( -name '*.o' -o -name '*.ko' -o -name '*.mod' \
		-o -name '*.mod.c' -o -name '.*.cmd' -o -name '*.o.d' \) -delete

# Built for the running kernel now, and by DKMS for every kernel installed
# later (dkms.conf's AUTOINSTALL).
dkms-install:
	$(MAKE) dkms-remove
	$(MAKE) dkms-src
	dkms add $(DKMS_NAME)/$(DKMS_VERSION)
	dkms install $(DKMS_NAME)/$(DKMS_VERSION)

dkms-remove:
	-dkms remove $(DKMS_NAME)/$(DKMS_VERSION) --all 2>/dev/null
	rm -rf /usr/src/$(DKMS_NAME)-$(DKMS_VERSION)

# Kernel code is held to checkpatch --strict as it is, except that
# --no-tree cannot see that CamelCase names such as MSR_MTRRcap come from
# the kernel's own headers (in a kernel tree checkpatch allows them).
# Userspace code
# follows the same style, without the rules that only make sense inside
# the kernel: its types and helper macros (BIT(), ARRAY_SIZE(), __printf,
# fallthrough), no volatile (a signal flag must be), no externs
# (GUEST_CODE() declares the symbols of the assembly it emits), and no
# flow control in macros (the harness's SKIP() is one).
CHECKPATCH_FLAGS := --strict --no-tree --terse --show-types \
	--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG,CAMELCASE
CHECKPATCH_USER_IGNORE := PREFER_KERNEL_TYPES,ARRAY_SIZE,BIT_MACRO
CHECKPATCH_USER_IGNORE := $(CHECKPATCH_USER_IGNORE),AVOID_EXTERNS,VOLATILE
CHECKPATCH_USER_IGNORE := $(CHECKPATCH_USER_IGNORE),MACRO_WITH_FLOW_CONTROL
CHECKPATCH_USER_IGNORE := $(CHECKPATCH_USER_IGNORE),PREFER_DEFINED_ATTRIBUTE_MACRO
CHECKPATCH_USER_IGNORE := $(CHECKPATCH_USER_IGNORE),PREFER_FALLTHROUGH

# compat.h exists to hold the version conditionals checkpatch warns about.
checkpatch:
	$(CHECKPATCH) $(CHECKPATCH_FLAGS) -f $(filter-out module/compat.h, \
		$(wildcard module/*.[chS] uapi/linux/*.h))
	$(CHECKPATCH) $(CHECKPATCH_FLAGS) \
		--ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON -f module/compat.h
	@out=$$($(KERNELDOC) -none $(wildcard module/*.[ch] uapi/linux/*.h) 2>&1); \
		if [ -n "$$out" ]; then echo "$$out"; exit 1; fi
	$(CHECKPATCH) $(CHECKPATCH_FLAGS) --ignore $(CHECKPATCH_USER_IGNORE) \
		-f $(wildcard userspace/*.[ch] userspace/lib/*.[ch] \
			selftests/*.[ch] selftests/lib/*.[ch] \
			selftests/include/*.h bench/*.[ch])

sparse:
	$(MAKE) -C $(KDIR) M=$(TOP) C=2 modules

clean:
	-$(MAKE) -C $(KDIR) M=$(TOP) clean
	$(MAKE) -C userspace clean
	$(MAKE) -C bench clean
	-$(MAKE) -C selftests KSFT_DIR=$(KSFT_DIR) clean
	rm -rf $(BUILD)

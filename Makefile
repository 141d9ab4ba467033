# SPDX-License-Identifier: GPL-2.0
#
# minivmm: build the module, the CLI and the selftests; boot the emulated
# VMX machine to test them. `make help` lists the targets.

TOP	:= $(CURDIR)
DEPS	:= $(TOP)/.deps
BUILD	:= $(TOP)/build

# The running kernel's build tree when it has one, else the Debian 6.1
# headers that `make deps` installs (the kernel the emulated machine boots).
DEPS_KVER = $(shell cat $(DEPS)/kernel-version 2>/dev/null)
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
		    $(if $(DEPS_KVER),/usr/src/linux-headers-$(DEPS_KVER)))

KSFT_DIR := $(DEPS)/linux-source/tools/testing/selftests
KSFT_INSTALL := $(BUILD)/kselftest
CHECKPATCH := $(DEPS)/linux-source/scripts/checkpatch.pl
KERNELDOC := $(DEPS)/linux-source/scripts/kernel-doc

TESTVM	:= $(TOP)/scripts/testvm
CPUS	?= 1 2
# The debug kernel's machines (lockdep, KASAN, kmemleak, ...); empty: none.
# make check-debug sets it; make check leaves it empty until its run time
# in CI is measured.
DEBUG_CPUS ?=

.PHONY: all module userspace selftests deps debug-kernel kselftest-install check \
	check-debug \
	check-host check-scripts demo bench install clean checkpatch sparse help

all: module userspace selftests

help:
	@echo "make            build the module, the CLI and the selftests"
	@echo "make deps       install build and test dependencies (Debian)"
	@echo "make check      run every test in the emulated VMX machine"
	@echo "make check-debug   make check, plus the suite on a debug kernel"
	@echo "make debug-kernel  build that debug kernel (lockdep, KASAN, ...)"
	@echo "make check-host run the selftests on this machine's kernel"
	@echo "make demo       boot the emulated machine and run the CLI"
	@echo "make bench      exit costs under minivmm and KVM, in the machine"
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

# Builds the debug kernel too when DEBUG_CPUS asks for its machines.
check: deps
	$(MAKE) all kselftest-install
	$(TOP)/scripts/check $(CPUS) $(addprefix --debug ,$(DEBUG_CPUS))

# The whole suite on the debug kernel too (builds it first: ~5 minutes).
check-debug:
	$(MAKE) check DEBUG_CPUS=1

# Lockdep, KASAN, kmemleak, UBSAN: the kernel make check-debug boots.
debug-kernel: deps
	@$(TOP)/scripts/debug-kernel.sh

check-host: all kselftest-install
	cd $(KSFT_INSTALL) && ./run_kselftest.sh

# Boot the emulated machine, show what the module found, run a guest.
demo:
	@test -f $(DEPS)/kernel-version || $(MAKE) deps
	$(MAKE) all
	$(TESTVM) --add $(TOP)/userspace/guests/hello.bin \
		--add $(TOP)/userspace/guests/hello64.elf \
		--run 'minivmm caps && minivmm run /root/hello.bin && \
		       minivmm run /root/hello64.elf; echo "exit status $$?"'

# Benchmarks print numbers: minivmm next to KVM, in one boot of the
# emulated machine.
bench: all
	$(MAKE) -C bench
	$(TESTVM) --add $(TOP)/bench/exit_bench \
		--run 'modprobe kvm_intel && /root/exit_bench'

install: module userspace
	$(MAKE) -C $(KDIR) M=$(TOP) modules_install
	$(MAKE) -C userspace install
	depmod -a

# Kernel code is held to checkpatch --strict as it is. Userspace code
# follows the same style, without the rules that only make sense inside
# the kernel: its types and helper macros (BIT(), ARRAY_SIZE(), __printf,
# fallthrough), no volatile (a signal flag must be), no externs
# (GUEST_CODE() declares the symbols of the assembly it emits), and no
# flow control in macros (the harness's SKIP() is one).
CHECKPATCH_FLAGS := --strict --no-tree --terse --show-types \
	--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG
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
			selftests/include/*.h)

sparse:
	$(MAKE) -C $(KDIR) M=$(TOP) C=2 modules

clean:
	-$(MAKE) -C $(KDIR) M=$(TOP) clean
	$(MAKE) -C userspace clean
	$(MAKE) -C bench clean
	-$(MAKE) -C selftests KSFT_DIR=$(KSFT_DIR) clean
	rm -rf $(BUILD)

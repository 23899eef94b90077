# SPDX-License-Identifier: GPL-2.0
#
# memwatch: the module (module/, built from the top-level Kbuild),
# memwatchctl (ctl/) and the selftests (selftests/), built here; the module
# is tested inside Debian's kernels under qemu (selftests/qemu/), as this
# host may not load modules.
#
#   make              module/memwatch.ko against KDIR, and ctl/memwatchctl
#   make module       module/memwatch.ko only (KDIR=/lib/modules/VER/build
#                     for another kernel; default: the running kernel's, or
#                     the 6.12 test kernel's when that does not exist)
#   make ctl          ctl/memwatchctl
#   make selftests    the selftest programs
#   make kernels      the kernel matrix: series, release, build root, state
#   make modules      build/KVER/module/memwatch.ko for each of KERNELS
#   make setup        install the packages and fetch the test kernels (root;
#                     KERNELS=all fetches the whole matrix)
#   make check        setup, build everything, run the tests on KERNELS
#   make qemu-test    run the tests on KERNELS with what is built
#   make demo         boot the 6.12 kernel and show memwatch at work
#   make vm-shell     interactive shell in a guest (KVER=..., default 6.12)
#   make style        checkpatch, kernel-doc, sparse C=2 W=1 on each of
#                     KERNELS, -Werror builds, cppcheck and clang-tidy on
#                     ctl/
#   make module-debug module/memwatch.ko with DEBUG: self-tests at load,
#                     pr_debug on
#   make ctl-asan     memwatchctl's tests under ASan+UBSan in a 6.12 guest
#   make ctl-test     memwatchctl's host tests (no guest): the stack
#                     unwinder (ctl/test/unwind-test.c), plain and under
#                     ASan+UBSan
#   make check-debug  build (once, cached; an hour or more on 2 cores) a
#                     6.12 kernel with KASAN, lockdep, debug objects and
#                     kmemleak, and run every selftest plus a kmemleak scan
#                     on it; check-debug-if-cached does only the run, and
#                     only if that kernel is in the cache (for CI)
#   make bench        fault, mapping and scale benchmarks in one guest boot
#                     (KERNEL=6.1 for the 6.1 guest; default 6.12)
#   make bench-json   memwatchctl's JSON writer against json-c's on a
#                     synthetic 100,000-region report, on the host
#   make install      module into /lib/modules/KVER/extra (and depmod),
#                     memwatchctl, its man pages and bash completion under
#                     PREFIX (/usr/local); DESTDIR= stages them
#   make uninstall    remove what install put there
#   make dkms-check   dkms add and build against the 6.12 headers, in build/
#   make deb          Debian packages memwatch-dkms and memwatchctl (debian/)
#                     in build/deb/, lintian clean (scripts/deb-build.sh)
#   make deb-check    the package test of make check: build the packages,
#                     install them into a Debian 12 root with the 6.12
#                     headers, run them in a 6.12 guest, purge them
#   make clean        remove build outputs (not the setup cache)
#
# KERNELS: releases as `uname -r` prints them, series (5.10, 7.3), "newest",
# "default" (6.1, 6.12 and the newest) or "all" (make kernels lists them);
# each is built in its own build root (scripts/kernels.sh). Plain make
# modules, make check and make qemu-test cover 6.1, 6.12 and the newest
# (default); make check
# and make qemu-test run the suite once more on 6.12 with hooks=kprobe
# (KPROBE_KERNELS; every kernel with KERNELS=all).

MEMWATCH_CACHE ?= $(if $(XDG_CACHE_HOME),$(XDG_CACHE_HOME),$(HOME)/.cache)/memwatch
export MEMWATCH_CACHE

# KVER_61, KVER_612, KIMG_61, KIMG_612, KSRC_TOOLS and the kernel matrix,
# written by scripts/setup.sh.
-include $(MEMWATCH_CACHE)/env

KERNELS ?= default
# The kernels whose suite runs a second time with the module loaded with
# hooks=kprobe (of those KERNELS names): 6.12, or every one with
# KERNELS=all.
KPROBE_KERNELS ?= $(if $(filter all,$(KERNELS)),all,6.12)
# check.sh's runs: each kernel, then KVER:kprobe for the kprobe ones.
CHECK_RUNS = k=$$(scripts/kernels.sh list $(KERNELS)) && \
	kp=$$(scripts/kernels.sh list $(KPROBE_KERNELS)) && \
	runs="$$k" && for x in $$kp; do \
		case " $$(echo $$k) " in *" $$x "*) runs="$$runs $$x:kprobe" ;; esac; \
	done
KSFT_DIR := $(KSRC_TOOLS)/tools/testing/selftests
CHECKPATCH := $(KSRC_TOOLS)/scripts/checkpatch.pl
KERNEL_DOC := $(KSRC_TOOLS)/scripts/kernel-doc

ifeq ($(origin KDIR),undefined)
KDIR := /lib/modules/$(shell uname -r)/build
ifeq ($(wildcard $(KDIR)),)
ifneq ($(KVER_612),)
KDIR_NOTE := $(KDIR) does not exist: building against the $(KVER_612) headers instead (set KDIR to choose)
KDIR := /lib/modules/$(KVER_612)/build
endif
endif
endif

SUBMAKE := $(MAKE) --no-print-directory

# Files that a per-kernel copy of the module sources leaves out.
BUILD_OUTPUTS := --exclude='*.o' --exclude='*.ko' --exclude='*.mod' \
	--exclude='*.mod.c' --exclude='.*.cmd' --exclude='*.a' \
	--exclude=modules.order --exclude=Module.symvers --exclude='.*.d' \
	--exclude='.tmp_*'

STYLE_FILES = $(filter-out %.mod.c,$(wildcard module/*.c module/*.h)) \
	include/uapi/linux/memwatch.h bench/floor/mwfloor.c

# Patterns that fail `make style` in compiler, sparse and modpost output.
WARN_RE := warning:|error:|WARNING:|ERROR:

all: module ctl

need-env:
	@test -r $(MEMWATCH_CACHE)/env || { \
		echo "make: $(MEMWATCH_CACHE)/env is missing: run 'sudo make setup' first" >&2; \
		exit 1; }

module:
	$(if $(KDIR_NOTE),@echo "make: note: $(KDIR_NOTE)")
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

# DEBUG build: self-tests at load, pr_debug on (see module/selftest.c)
module-debug:
	$(MAKE) -C $(KDIR) M=$(CURDIR) CONFIG_MEMWATCH_DEBUG=y modules

ctl:
	$(MAKE) -C ctl

selftests: need-env
	$(MAKE) -C selftests KSFT_DIR=$(KSFT_DIR)

kernels: need-env
	@scripts/kernels.sh table

# One copy of Kbuild, module/ and include/ per kernel, so that builds for
# different kernels never share objects: build/KVER/module/memwatch.ko,
# each built in its kernel's build root (scripts/kernels.sh).
modules: need-env
	$(LOCK) $(SUBMAKE) modules-unlocked

modules-unlocked: need-env
	@kvers=$$(scripts/kernels.sh list $(KERNELS)) || exit; \
	for k in $$kvers; do \
		$(SUBMAKE) module-kver KVER=$$k || exit; \
	done

module-kver:
	@test -n "$(KVER)" || { echo "make: module-kver needs KVER=" >&2; exit 1; }
	rm -rf build/$(KVER)/module build/$(KVER)/include build/$(KVER)/Kbuild
	mkdir -p build/$(KVER)
	tar -cf - $(BUILD_OUTPUTS) Kbuild module include | tar -xf - -C build/$(KVER)
	$(if $(KVER_KDIR),$(MAKE) -C $(KVER_KDIR),scripts/kernels.sh make $(KVER)) \
		M=$(CURDIR)/build/$(KVER) modules

build/touch-mem: scripts/touch-mem.c
	@mkdir -p build
	$(CC) -std=gnu11 -O2 -Wall -Wextra -o $@ $<

# No loader, no libc: its first system call after exec is an mmap.
build/first-mmap: scripts/first-mmap.c
	@mkdir -p build
	$(CC) -O1 -static -nostdlib -fno-stack-protector -Wall -Wextra -o $@ $<

# The demo's workloads: zlib from many threads, in C and, when a JDK is
# installed, through java.util.zip.Inflater.
build/jarload: demo/jarload.c
	@mkdir -p build
	$(CC) -std=gnu11 -O2 -Wall -Wextra -o $@ $< -lz -lpthread

build/java/JarLoad.class: demo/JarLoad.java
	@mkdir -p build/java
	javac -d build/java $<

DEMO_JAVA := $(if $(shell command -v javac),build/java/JarLoad.class)

# Installing: the module for the kernel KDIR belongs to.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
INSTALL_KVER ?= $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
INSTALL_FILES = $(DESTDIR)/lib/modules/$(INSTALL_KVER)/extra/memwatch.ko \
	$(DESTDIR)$(SBINDIR)/memwatchctl $(DESTDIR)$(MANDIR)/man8/memwatchctl.8 \
	$(DESTDIR)$(MANDIR)/man7/memwatchctl-json.7 \
	$(DESTDIR)$(BASHCOMPDIR)/memwatchctl

install: all
	@test -n "$(INSTALL_KVER)" || { echo "make: no kernel release in $(KDIR): set KDIR or INSTALL_KVER" >&2; exit 1; }
	install -D -m 0644 module/memwatch.ko $(DESTDIR)/lib/modules/$(INSTALL_KVER)/extra/memwatch.ko
	install -D -m 0755 ctl/memwatchctl $(DESTDIR)$(SBINDIR)/memwatchctl
	install -D -m 0644 ctl/memwatchctl.8 $(DESTDIR)$(MANDIR)/man8/memwatchctl.8
	install -D -m 0644 ctl/memwatchctl-json.7 $(DESTDIR)$(MANDIR)/man7/memwatchctl-json.7
	install -D -m 0644 ctl/memwatchctl.bash-completion $(DESTDIR)$(BASHCOMPDIR)/memwatchctl
	$(if $(DESTDIR),,depmod -a $(INSTALL_KVER))

uninstall:
	rm -f $(INSTALL_FILES)
	$(if $(DESTDIR),,depmod -a $(INSTALL_KVER))

# dkms.conf checked the way users run it, with dkms's trees kept in build/.
DKMS_VERSION = $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' dkms.conf)
DKMS = dkms --dkmstree $(CURDIR)/build/dkms/tree --sourcetree $(CURDIR)/build/dkms/src

# A stamp: make check builds with dkms again only when the sources change.
DKMS_SOURCES = dkms.conf Kbuild include/uapi/linux/memwatch.h \
	$(filter-out %.mod.c,$(wildcard module/*.c module/*.h)) module/Kbuild

dkms-check: need-env build/dkms/ok

build/dkms/ok: $(DKMS_SOURCES)
	@command -v dkms >/dev/null || { echo "make: dkms is not installed: run 'sudo make setup'" >&2; exit 1; }
	rm -rf build/dkms
	mkdir -p build/dkms/tree build/dkms/src/memwatch-$(DKMS_VERSION)
	tar -cf - $(BUILD_OUTPUTS) dkms.conf Kbuild module include | \
		tar -xf - -C build/dkms/src/memwatch-$(DKMS_VERSION)
	$(DKMS) add memwatch/$(DKMS_VERSION)
	$(DKMS) build memwatch/$(DKMS_VERSION) -k $(KVER_612) >build/dkms/build.log 2>&1 || \
		{ cat build/dkms/build.log; exit 1; }
	@ls build/dkms/tree/memwatch/$(DKMS_VERSION)/$(KVER_612)/*/module/memwatch.ko* >/dev/null
	@echo "dkms-check: memwatch/$(DKMS_VERSION) builds with dkms against $(KVER_612)"
	touch $@

setup:
	scripts/setup.sh

# Debian packages (debian/) in build/deb/, and their test
# (selftests/qemu/deb-check.sh), which make check runs after the guests'
# tests and counts with them.
deb:
	$(LOCK) scripts/deb-build.sh

deb-check: need-env
	$(LOCK) selftests/qemu/deb-check.sh

# Two makes in one tree would trample each other's build/ and guests: the
# entry points that build there or boot guests hold build/.lock.
LOCK = @mkdir -p build; \
	flock -n build/.lock true || \
		echo "make: waiting for another make in this tree (build/.lock)"; \
	flock build/.lock

# One recipe, so that a failure adds a single make error line after the
# summary. The kernels are read from the env file that setup just wrote
# (this make read it before).
check: setup
	$(LOCK) sh -c '$(CHECK_RUNS) && \
		$(SUBMAKE) check-build && \
		MEMWATCH_HOST_TESTS=selftests/qemu/deb-check.sh \
		selftests/qemu/check.sh $$runs'

check-build: ctl selftests modules-unlocked build/touch-mem \
	build/first-mmap dkms-check

qemu-test: need-env
	$(LOCK) sh -c '$(CHECK_RUNS) && selftests/qemu/check.sh $$runs'

demo: setup
	$(LOCK) $(SUBMAKE) demo-unlocked

demo-unlocked: need-env ctl build/touch-mem build/jarload $(DEMO_JAVA)
	@$(SUBMAKE) module-kver KVER=$(KVER_612)
	@mkdir -p build/demo
	selftests/qemu/run-vm.sh -r build/demo/results.txt $(KVER_612) scripts/demo-guest.sh
	@scripts/demo-plot.sh build/demo/results.txt build/demo

vm-shell: need-env
	selftests/qemu/run-vm.sh -i $(or $(KVER),$(KVER_612))

# Benchmarks (BENCHMARKS.md): printed figures only, nothing asserts on time.
BENCH_PROGS := build/bench/mwbench build/bench/manyregions
BENCH_KVER = $(if $(filter 6.1,$(KERNEL)),$(KVER_61),$(KVER_612))
# Guest time counts guest instructions (1 ns each): figures that do not
# depend on what else the host runs. Two vCPUs under -icount need qemu 8.1
# or later (selftests/qemu/run-vm.sh says why): the bench runs Debian 13's,
# which setup.sh --bench fetches.
BENCH_QEMU_ARGS := -icount shift=0,sleep=on

# The knobs of bench/guest-bench.py, passed on to the guest when set.
BENCH_VARS := MEMWATCH_BENCH_ROUNDS MEMWATCH_BENCH_REGIONS \
	MEMWATCH_BENCH_THREADS MEMWATCH_BENCH_SKIP
BENCH_ENV = $(foreach v,$(BENCH_VARS),$(if $($(v)),-e $(v)=$($(v))))

# The floor modes' empty hook (bench/floor/mwfloor.c) for one kernel.
bench-floor-kver:
	@test -n "$(KVER)" || { echo "make: bench-floor-kver needs KVER=" >&2; exit 1; }
	rm -rf build/$(KVER)/bench
	mkdir -p build/$(KVER)/bench
	cp bench/floor/Kbuild bench/floor/mwfloor.c build/$(KVER)/bench/
	$(if $(KVER_KDIR),$(MAKE) -C $(KVER_KDIR),scripts/kernels.sh make $(KVER)) \
		M=$(CURDIR)/build/$(KVER)/bench modules

build/bench/%: bench/%.c
	@mkdir -p build/bench
	$(CC) -std=gnu11 -O2 -Wall -Wextra -o $@ $< -lpthread

bench:
	scripts/setup.sh --bench
	$(LOCK) $(SUBMAKE) bench-unlocked

bench-unlocked: need-env ctl $(BENCH_PROGS)
	@case "$(KERNEL)" in ""|6.1|6.12) ;; \
	*) echo "make: KERNEL must be 6.1 or 6.12" >&2; exit 2 ;; esac
	@$(SUBMAKE) module-kver KVER=$(BENCH_KVER)
	@$(SUBMAKE) bench-floor-kver KVER=$(BENCH_KVER)
	MEMWATCH_MEM=$${MEMWATCH_MEM:-3072} MEMWATCH_SMP=$${MEMWATCH_SMP:-2} \
	MEMWATCH_QEMU_ROOT=$${MEMWATCH_QEMU_ROOT-$(QEMU_ICOUNT_ROOT)} \
	MEMWATCH_QEMU_ARGS="$${MEMWATCH_QEMU_ARGS-$(BENCH_QEMU_ARGS)}" \
		selftests/qemu/run-vm.sh -t 2400 $(BENCH_ENV) \
		-r build/bench/results-$(BENCH_KVER).txt \
		$(BENCH_KVER) bench/guest-bench.py

# memwatchctl's units that need no module, on the host: no guest.
ctl-test:
	$(MAKE) -C ctl unwind-test unwind-test-asan

# The report writer (ctl/json.c) against json-c, on the host: no guest.
bench-json:
	$(MAKE) -C ctl json-bench
	ctl/json-bench $(BENCH_JSON_REGIONS) $(BENCH_JSON_ROUNDS)

# The debug kernel: selftests/qemu/debug-kernel.sh builds it from
# selftests/config + selftests/config.debug into $(MEMWATCH_CACHE)/debug-kernel
# and writes its env there (KVER_DEBUG, KIMG_DEBUG, KDIR_DEBUG). Guests on it
# run far slower (KASAN, lockdep under TCG): hence the long timeouts.
DEBUG_ENV = $(MEMWATCH_CACHE)/debug-kernel/env
DEBUG_RUN = . $(DEBUG_ENV) && \
	$(SUBMAKE) module-kver KVER=$$KVER_DEBUG KVER_KDIR=$$KDIR_DEBUG && \
	MEMWATCH_KIMG=$$KIMG_DEBUG MEMWATCH_TIMEOUT=3600 \
	MEMWATCH_TESTS_TIMEOUT=3300 MEMWATCH_PROG_TIMEOUT=1500 \
	MEMWATCH_RUN_TESTS=selftests/qemu/debug-tests.sh \
	selftests/qemu/check.sh $$KVER_DEBUG

check-debug: setup
	selftests/qemu/debug-kernel.sh
	$(LOCK) sh -c '$(SUBMAKE) ctl selftests build/touch-mem && $(DEBUG_RUN)'

check-debug-if-cached: need-env
	@if selftests/qemu/debug-kernel.sh check; then \
		mkdir -p build && flock build/.lock \
			sh -c '$(SUBMAKE) ctl selftests build/touch-mem && $(DEBUG_RUN)'; \
	else \
		echo "make: no cached debug kernel matching selftests/config.debug: check-debug skipped (make check-debug builds it)"; \
	fi

style: setup
	$(LOCK) $(SUBMAKE) style-run

style-run: checkpatch kernel-doc sparse cwarn ctl-static

# Static analysis of memwatchctl. cppcheck: warning, portability and
# performance checks (its style checks argue with kernel style). clang-tidy:
# the clang static analyzer and bugprone-*, less what is noise here:
# easily-swappable-parameters, reserved-identifier and narrowing-conversions
# (kernel style), assignment-in-if-condition and suspicious-string-compare
# (!strcmp() is kernel idiom), insecureAPI buffer handling (memcpy is fine),
# FloatLoopCounter (plot.c steps axis ticks in doubles on purpose),
# valist.Uninitialized (clang 14 misreads va_start in a variadic function)
# and core.NonNullParamChecker (its one finding, record.c's out_path, is
# checked by parse_record_args: the analyzer loses that across the call).
CTL_SRCS = $(wildcard ctl/*.c)
CTL_TIDY_CHECKS = -*,clang-analyzer-*,bugprone-*,$\
	-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier,$\
	-bugprone-narrowing-conversions,-bugprone-assignment-in-if-condition,$\
	-bugprone-suspicious-string-compare,$\
	-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling,$\
	-clang-analyzer-security.FloatLoopCounter,$\
	-clang-analyzer-valist.Uninitialized,$\
	-clang-analyzer-core.NonNullParamChecker
CTL_CPPFLAGS = -std=gnu11 -D_GNU_SOURCE -Iinclude/uapi -Ictl \
	$(shell pkg-config --cflags libnl-genl-3.0 json-c)

ctl-static:
	cppcheck --quiet --error-exitcode=1 --inline-suppr \
		--enable=warning,portability,performance --std=c11 \
		-D_GNU_SOURCE -Iinclude/uapi -Ictl \
		--suppress=missingIncludeSystem $(CTL_SRCS)
	@echo "clang-tidy --checks=... $(CTL_SRCS)"
	@out=$$(clang-tidy --quiet --checks='$(CTL_TIDY_CHECKS)' \
		$(CTL_SRCS) -- $(CTL_CPPFLAGS) 2>&1); rc=$$?; \
	echo "$$out" | grep -E 'warning:|error:' -A3; \
	test $$rc = 0 && ! echo "$$out" | grep -qE 'warning:|error:'

# memwatchctl built with ASan and UBSan in build/ctl-asan (a copy of ctl/,
# as ctl/Makefile builds in place), its tests run once in a 6.12 guest.
ASAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined

ctl-asan: setup
	$(LOCK) $(SUBMAKE) ctl-asan-unlocked

ctl-asan-unlocked: need-env
	rm -rf build/ctl-asan
	mkdir -p build/ctl-asan
	tar -cf - $(BUILD_OUTPUTS) --exclude=memwatchctl ctl include | \
		tar -xf - -C build/ctl-asan
	$(MAKE) -C build/ctl-asan/ctl CFLAGS="$(ASAN_FLAGS)" \
		LDFLAGS="-fsanitize=address,undefined"
	@$(SUBMAKE) module-kver KVER=$(KVER_612)
	selftests/qemu/run-vm.sh -t 900 \
		-e MEMWATCH_CTL=$(CURDIR)/build/ctl-asan/ctl/memwatchctl \
		$(KVER_612) selftests/qemu/ctl-asan.sh

checkpatch: need-env
	perl $(CHECKPATCH) --strict --no-tree -f $(STYLE_FILES)

kernel-doc: need-env
	@echo "perl $(KERNEL_DOC) -none -Wall -Werror $(STYLE_FILES)"
	@out=$$(perl $(KERNEL_DOC) -none -Wall -Werror $(STYLE_FILES) 2>&1); \
	rc=$$?; echo "$$out"; \
	test $$rc = 0 && ! echo "$$out" | grep -qE '$(WARN_RE)'

# Sparse (C=2 checks every file, built or not) and W=1 on 6.1 and 6.12.
# sparse (C=2) and W=1 on each of $(KERNELS), in its build root. A kernel
# whose Makefile finds no usable sparse checks nothing and says so only in
# a make warning: a log without a CHECK line fails.
sparse: need-env
	@kvers=$$(scripts/kernels.sh list $(KERNELS)) || exit; \
	for k in $$kvers; do \
		$(SUBMAKE) sparse-kver KVER=$$k || exit; \
	done

# (MAKEFLAGS= keeps a make -s from silencing the CHECK lines.)
sparse-kver: module-kver
	@MAKEFLAGS= $(if $(KVER_KDIR),$(MAKE) -C $(KVER_KDIR),scripts/kernels.sh make $(KVER)) \
		M=$(CURDIR)/build/$(KVER) C=2 W=1 modules >build/$(KVER)/style.log 2>&1; \
	rc=$$?; cat build/$(KVER)/style.log; \
	if [ $$rc != 0 ] || grep -qE '$(WARN_RE)' build/$(KVER)/style.log; then \
		echo "make: style: the $(KVER) build has warnings" >&2; exit 1; \
	fi; \
	if ! grep -q '^  CHECK ' build/$(KVER)/style.log; then \
		echo "make: style: sparse checked nothing on $(KVER): run scripts/setup.sh $(KVER)" >&2; exit 1; \
	fi

# memwatchctl and the selftests must build without a warning. -B rebuilds
# everything; the flags ride on CC so any CFLAGS the Makefiles set are kept.
cwarn: need-env
	$(MAKE) -B -C ctl all json-bench test/unwind-test test/unwind-lib-a.so \
		CC="$(CC) -Wall -Wextra -Werror"
	$(MAKE) -B -C selftests KSFT_DIR=$(KSFT_DIR) CC="$(CC) -Wall -Wextra -Werror"
	$(MAKE) -B $(BENCH_PROGS) CC="$(CC) -Werror"

clean:
	rm -rf build
	@if [ -d $(KDIR) ]; then \
		echo "$(MAKE) -C $(KDIR) M=$(CURDIR) clean"; \
		$(MAKE) -C $(KDIR) M=$(CURDIR) clean; \
	else \
		echo "rm -f module build outputs"; \
		rm -f module/*.o module/*.ko module/*.mod module/*.mod.c \
			module/.*.cmd module/modules.order module/Module.symvers \
			.*.cmd .module-common.o modules.order Module.symvers; \
	fi
	$(MAKE) -C ctl clean
	$(MAKE) -C selftests clean

.PHONY: all need-env module module-debug ctl selftests kernels modules modules-unlocked \
	module-kver setup check check-build qemu-test demo install uninstall \
	dkms-check deb deb-check \
	demo-unlocked vm-shell bench bench-unlocked bench-floor-kver style style-run checkpatch kernel-doc sparse \
	sparse-kver cwarn clean check-debug check-debug-if-cached ctl-static \
	ctl-asan ctl-asan-unlocked ctl-test bench-json

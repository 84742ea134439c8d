# vigil — top-level build.
#
# One fragment per top-level folder (base/base.mk, vmi/vmi.mk, hv/hv.mk, efi/efi.mk,
# guest-profiles/guest-profiles.mk, tools/tools.mk, tests/tests.mk), included below in the order
# of the layers (docs/architecture.md), so that every list a fragment uses is complete.
#
# What fragments contribute:
#   UNIT_TESTS     host test binaries (cmocka); `make test-unit` runs each one
#   E2E_TESTS      end-to-end scripts (tests/e2e/*.sh); `make test-e2e` runs each one
#   QUICK_E2E      the subset of E2E_TESTS that is fast (seconds, QEMU); part of `make check`
#   FUZZ_TARGETS   libFuzzer binaries; `make fuzz-smoke` runs each briefly, `make fuzz` for long
#   BENCH_CMDS     shell commands that `make bench` runs in order
#   TOOLS          host tools built by `make all`
#
# Objects: $(B)/host/<path>.o (host, for tests and tools), $(B)/free/<path>.o (freestanding, for
# the loader and the hypervisor image). Host code links the layers' static libraries
# ($(HOST_LIBS): $(B)/host/libNAME.a, made with host_lib below); the two freestanding images link
# their objects. Every #include of a project header names its path from the tree root (INCS).

B := build
CC := gcc
CLANG := clang
SHELL := /bin/bash

WARN := -Wall -Wextra -Werror
INCS := -I.
HOST_CFLAGS := -std=gnu11 $(WARN) -O2 -g $(INCS) -D_GNU_SOURCE
# Freestanding code runs with the guest's or the firmware's SSE state live: never touch it
# (-mgeneral-regs-only), never use the red zone (interrupts and VM exits share the stack).
FREE_CFLAGS := -std=gnu11 $(WARN) -O2 -g -ffreestanding -fno-stack-protector -fno-stack-check \
	-fshort-wchar -mno-red-zone -mgeneral-regs-only -fpic -fno-strict-aliasing \
	-fno-asynchronous-unwind-tables -fno-builtin $(INCS) -DVIGIL_FREESTANDING

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

# Set-up before anything is built: every goal but these needs vigil's Debian packages, and
# qemu-scripts/install-deps.sh (the one list) installs what is missing as root, or stops with one
# message naming the command to run. It runs while make reads this file, so nothing (not even a
# parallel job) starts compiling first; VIGIL_DEPS_OK carries the result into sub-makes.
NO_DEPS_GOALS := clean deps format format-check
ifeq ($(VIGIL_DEPS_OK),)
ifneq ($(filter-out $(NO_DEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
ifneq ($(shell bash qemu-scripts/install-deps.sh >&2 && echo ok),ok)
$(error Debian packages missing (see above))
endif
export VIGIL_DEPS_OK := 1
endif
endif

UNIT_TESTS :=
E2E_TESTS :=
QUICK_E2E :=
FUZZ_TARGETS :=
BENCH_CMDS :=
TOOLS :=


.PHONY: all test test-fresh check test-unit test-e2e test-quick-e2e fuzz fuzz-smoke bench run clean deps format \
	format-check

all: $(B)/vigil.efi tools

# $(call host_lib,NAME,SOURCES): $(B)/host/libNAME.a from the host objects of SOURCES.
define host_lib
$(B)/host/lib$(1).a: $(patsubst %.c,$(B)/host/%.o,$(2))
	@rm -f $$@
	ar rcs $$@ $$^
endef
# The layers' host libraries, in link order: each one uses only those after it.
HOST_LIBS := $(foreach l,hv-intro hv-core hv-ept hv-vmx vmi efi base,$(B)/host/lib$(l).a)

# Lower layers first: a fragment uses the lists of the fragments before it.
include base/base.mk
include vmi/vmi.mk
include hv/hv.mk
include efi/efi.mk
include guest-profiles/guest-profiles.mk
include tests/tests.mk
include tools/tools.mk

tools: $(TOOLS)

$(B)/host/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -MMD -MP -c $< -o $@

$(B)/free/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(FREE_CFLAGS) -MMD -MP -c $< -o $@

$(B)/free/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(FREE_CFLAGS) -MMD -MP -c $< -o $@

# Fast part: build, unit tests, quick end-to-end runs on QEMU.
check: all test-unit fuzz-smoke test-quick-e2e

# Everything, as CI runs it (a fresh clone: every binary the runner calls is a prerequisite).
test: all $(UNIT_TESTS) $(FUZZ_TARGETS)
	@bash tests/run-all.sh "$(UNIT_TESTS)" "$(FUZZ_TARGETS)" "$(E2E_TESTS)"

test-unit: $(UNIT_TESTS)
	@bash tests/run-all.sh "$(UNIT_TESTS)" "" ""

test-e2e: all
	@bash tests/run-all.sh "" "" "$(E2E_TESTS)"

test-quick-e2e: all
	@bash tests/run-all.sh "" "" "$(QUICK_E2E)"

fuzz-smoke: $(FUZZ_TARGETS)
	@bash tests/run-all.sh "" "$(FUZZ_TARGETS)" ""

fuzz: $(FUZZ_TARGETS)
	@for f in $(FUZZ_TARGETS); do n=$$(basename $$f); echo "== $$f (600 s)"; \
	  mkdir -p $(B)/fuzz-corpus/$$n; seeds=; [ -d tests/fuzz/corpus/$$n ] && seeds=tests/fuzz/corpus/$$n; \
	  $$f -max_total_time=600 $(B)/fuzz-corpus/$$n $$seeds || exit 1; done

bench: all
	@set -e; $(foreach c,$(BENCH_CMDS),$(c);)

run: all
	@bash qemu-scripts/run.sh $(RUN_ARGS)

# The README's two commands in a minimal Debian 12 root where nothing of vigil's is installed
# (tests/fresh-machine.sh); needs root. .ci/run runs it after make test.
test-fresh:
	@bash tests/fresh-machine.sh $(FRESH_ARGS)

deps:
	@bash qemu-scripts/install-deps.sh

FORMAT_SRCS = $(shell git ls-files '*.c' '*.h')
format:
	clang-format -i $(FORMAT_SRCS)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRCS) && echo "format: ok"

clean:
	rm -rf $(B)/host $(B)/free $(B)/tests $(B)/vigil.efi $(B)/*.so $(B)/fuzz

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# tests/: unit tests (tests/unit/, cmocka), fuzz targets (tests/fuzz/, libFuzzer), end-to-end
# scripts (tests/e2e/), the test-only boot stage (tests/efi/) and the fakes of the hardware seam
# (tests/fakes/).

# The fakes of the hardware seam (base/hw.h, base/hw_safe.h) and of the UART behind it: each test
# links the ones it drives.
HW_FAKE := tests/fakes/hw_fake.c
HW_SAFE_FAKE := tests/fakes/hw_safe_fake.c
UART_FAKE := tests/fakes/uart_fake.c

# ---- Unit tests

# $(call unit_test,NAME,SOURCES,LINK) builds $(B)/tests/NAME from tests/unit/NAME.c, the host
# objects of SOURCES (fakes, test helpers), the layers' host libraries ($(HOST_LIBS): only the
# members the test uses are linked), LINK (more libraries) and cmocka, and adds it to UNIT_TESTS.
define unit_test
UNIT_TESTS += $(B)/tests/$(1)
$(B)/tests/$(1): $(B)/host/tests/unit/$(1).o $(patsubst %.c,$(B)/host/%.o,$(2)) $(HOST_LIBS) $(3)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(HOST_CFLAGS) -o $$@ $$^ -lcmocka
endef

# $(call unit_test_asan,NAME,SOURCES,LIBS): the same, built with AddressSanitizer and UBSan from the
# sources directly (every object instrumented, so no shared library), so a write past any buffer
# fails the test.
define unit_test_asan
UNIT_TESTS += $(B)/tests/$(1)
$(B)/tests/$(1): tests/unit/$(1).c $(2)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(HOST_CFLAGS) -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	  -fno-omit-frame-pointer -o $$@ $$^ -lcmocka $(3)
endef

# The loader's portable parts (config, report, serial, VT-x detection) and base/.
$(eval $(call unit_test,test_config))
$(eval $(call unit_test_asan,test_report,base/lib.c base/fmt.c base/report.c))
$(eval $(call unit_test,test_serial,$(HW_FAKE) $(UART_FAKE)))
$(eval $(call unit_test,test_vmx_caps,$(HW_FAKE)))
$(eval $(call unit_test,test_fmt))
# hv/core: APIC, holding the CPUs vigil could not virtualize, the periodic work's owner and stall
# watch.
$(eval $(call unit_test,test_apic_ipi))
$(eval $(call unit_test,test_apic_nmi,$(HW_FAKE)))
$(eval $(call unit_test,test_cpu_park,$(HW_FAKE)))
$(eval $(call unit_test,test_apic_mode,$(HW_FAKE)))
$(eval $(call unit_test_asan,test_periodic,hv/core/tick_owner.c hv/core/cpu_watch.c,-lpthread))

# hv/ept over captured MTRR sets in tests/data/mtrr/.
$(eval $(call unit_test,test_mtrr,$(HW_FAKE)))
$(eval $(call unit_test,test_ept,$(HW_FAKE)))
$(eval $(call unit_test,test_ept_perm,$(HW_FAKE)))
$(eval $(call unit_test,test_ept_hide,$(HW_FAKE)))
$(eval $(call unit_test,test_ept_guard,$(HW_FAKE)))
# hv/ept/insn_decode.c against Debian's libcapstone.a (capstone 4.0.2, as the hypervisor build).
CAPSTONE_HOST_LIB := $(wildcard /usr/lib/x86_64-linux-gnu/libcapstone.a)
ifneq ($(CAPSTONE_HOST_LIB),)
$(eval $(call unit_test,test_insn_decode,$(HW_FAKE),$(CAPSTONE_HOST_LIB)))
endif

# The hypervisor's report stream: line writers, output ring, UART drain (hv/core/hv_report.h),
# built with AddressSanitizer; one test runs writer threads against a drainer thread.
$(eval $(call unit_test_asan,test_hv_report,hv/core/hv_report.c base/report_ring.c base/report.c \
	base/serial.c hv/core/alloc.c base/lib.c base/fmt.c $(HW_FAKE) $(UART_FAKE),-lpthread))
# Compile-level: only the right use of the API compiles (tests/unit/report_api_misuse.c). The
# test is a script that runs the compiler on each variant.
UNIT_TESTS += $(B)/tests/test_report_api_misuse
$(B)/tests/test_report_api_misuse: tests/unit/report_api_misuse.c hv/core/hv_report.h base/report.h
	@mkdir -p $(dir $@)
	@printf '%s\n' '#!/usr/bin/env bash' \
	  'cd "$$(dirname "$$0")/../.." || exit 2; rc=0' \
	  'cc() { $(CC) $(HOST_CFLAGS) -c -o /dev/null -D"$$1" tests/unit/report_api_misuse.c 2>/dev/null; }' \
	  'if cc RIGHT; then echo "ok: RIGHT compiles"; else echo "FAILED: RIGHT does not compile"; rc=1; fi' \
	  'for v in SHARED_GLOBAL IGNORED_BEGIN OLD_LOCK; do' \
	  '  if cc $$v; then echo "FAILED: $$v compiles"; rc=1; else echo "ok: $$v is a compile error"; fi' \
	  'done; exit $$rc' > $@
	@chmod +x $@

# The sealed config (efi/config_seal.c, its events) and its hash (base/sha256.c).
$(eval $(call unit_test,test_sha256))
$(eval $(call unit_test,test_config_seal))

# The vmi/ symbols half. Tests that read the real Debian kernel find it through $VIGIL_VMLINUX or
# qemu-scripts/fetch-kernel.sh. test_btf links libbpf (the reference the freestanding reader is
# cross-checked against). test_isf checks the test kernel's profile, which
# guest-profiles/profile-for-package.sh makes with vigil-mkprofile.
LIBBPF_SO := $(shell $(CC) -print-file-name=libbpf.so)
$(eval $(call unit_test,test_kallsyms,guest-profiles/elf_image.c))
$(eval $(call unit_test,test_btf,guest-profiles/elf_image.c,$(LIBBPF_SO)))
$(eval $(call unit_test,test_json))
$(eval $(call unit_test,test_isf,guest-profiles/elf_image.c))
$(B)/tests/test_isf: | $(B)/vigil-mkprofile

# Host tools' tests (tests/tools/): vigil-watch over recorded report streams, vigil-doctor over
# recorded machine trees and this machine; seconds each, run with the unit tests (make check).
# Each runner here is a small script that runs the test source against the built tool.
$(B)/tests/test_vigil_watch: tests/tools/test_vigil_watch.py $(B)/vigil-watch
	@mkdir -p $(dir $@)
	printf '#!/bin/sh\nexec python3 "%s" "%s" "$$@"\n' $(abspath $<) $(abspath $(B)/vigil-watch) >$@
	chmod +x $@
$(B)/tests/test_vigil_doctor: tests/tools/test_vigil_doctor.sh $(B)/vigil-doctor
	@mkdir -p $(dir $@)
	printf '#!/bin/sh\nexec bash "%s" "%s" "$$@"\n' $(abspath $<) $(abspath $(B)/vigil-doctor) >$@
	chmod +x $@
UNIT_TESTS += $(B)/tests/test_vigil_watch $(B)/tests/test_vigil_doctor

# hv/arch/vmx with the hardware behind the fakes and the captured capability MSR sets in
# tests/data/vmx-caps/.
VMX_UNIT_TESTS := test_vmx_controls test_vmx_seg test_vmx_cr test_vmx_guest test_vmx_sipi \
	test_vmexit_cpuid test_vmexit_msr test_vmexit_cr test_vmexit_xsetbv test_vmexit_misc \
	test_vcpu_vmx
$(foreach t,$(VMX_UNIT_TESTS),$(eval $(call unit_test,$(t),$(HW_FAKE) $(HW_SAFE_FAKE))))
$(B)/host/tests/unit/test_vmx_controls.o $(B)/host/tests/unit/test_vmx_cr.o: \
	HOST_CFLAGS += -DVMX_CAPS_DIR='"$(CURDIR)/tests/data/vmx-caps"'

# The vmi/ walkers (page walker, kernel finder, task/module walkers, reports) over a synthetic
# guest (tests/unit/vmi_synth.c) and the host dump readers.
$(eval $(call unit_test,test_pagewalk))
$(eval $(call unit_test,test_linux_tasks,tests/unit/vmi_synth.c))
$(eval $(call unit_test,test_vmi_dump,tools/dump_reader.c))
$(eval $(call unit_test,test_proc_snapshot,tests/unit/vmi_synth.c))
$(eval $(call unit_test,test_linux_live,tests/unit/vmi_synth.c))
$(eval $(call unit_test,test_rescan_report))

# ---- Fuzz targets

# $(call fuzz_target,NAME,SOURCES) builds $(B)/fuzz/NAME with clang's libFuzzer from
# tests/fuzz/NAME.c plus SOURCES. Each target compiles its sources itself, with the fuzzer's
# coverage and sanitizers and, for some, flags of its own (fuzz_ept_handlers' coverage
# ignorelist), so it names the sources it fuzzes instead of linking the host libraries.
define fuzz_target
FUZZ_TARGETS += $(B)/fuzz/$(1)
$(B)/fuzz/$(1): tests/fuzz/$(1).c $(2)
	@mkdir -p $$(dir $$@)
	$$(CLANG) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  $$(INCS) -o $$@ $$^
endef

# The loader's untrusted inputs: the config file on the ESP (efi/config.c) and the sealed record
# read back from NVRAM (efi/config_seal.c).
SEAL_FUZZ_SRCS := efi/config_seal.c base/sha256.c efi/config.c base/lib.c base/fmt.c
$(eval $(call fuzz_target,fuzz_config,$(SEAL_FUZZ_SRCS)))
$(eval $(call fuzz_target,fuzz_seal,$(SEAL_FUZZ_SRCS)))

# The guest-controlled inputs of the EPT code: MTRR writes + retyping, violation exits; the
# self-protection and hook-guard handlers over simulated guest accesses on several vCPUs.
$(eval $(call fuzz_target,fuzz_ept_mtrr,hv/ept/mtrr.c hv/ept/ept.c hv/ept/ept_perm.c base/lib.c \
	base/fmt.c base/report.c $(HW_FAKE)))
$(eval $(call fuzz_target,fuzz_ept_handlers,hv/ept/ept_hide.c hv/ept/ept_guard.c \
	hv/ept/ept_perm.c hv/ept/ept.c hv/ept/mtrr.c base/lib.c base/fmt.c base/report.c $(HW_FAKE)))
$(B)/fuzz/fuzz_ept_handlers: CLANG += -fsanitize-coverage-ignorelist=tests/fuzz/fuzz_ept_handlers.ignore

# The guest instruction decoder in VMX root (hv/ept/insn_decode.c).
#
# capstone is built here from the same Debian source files, defines and libc helpers as the
# hypervisor's copy (hv/hv.mk: x86 only, AT&T syntax off, no system allocator, vigil's qsort and
# strncpy), with the fuzzer's coverage and AddressSanitizer instrumentation instead of the
# freestanding code-generation flags. Debian's libcapstone.a would be a different build (every
# architecture, AT&T printer, glibc's qsort) and, uninstrumented, would let a read past the
# guest's bytes inside capstone go unseen.
FUZZ_CAPSTONE_DIR := $(B)/fuzz/capstone
FUZZ_CAPSTONE_OBJS := $(patsubst %.c,$(FUZZ_CAPSTONE_DIR)/%.o,$(CAPSTONE_C) MCInst.c)
# Third-party code: no warning policy (as in hv/hv.mk), but every sanitizer check.
FUZZ_CAPSTONE_CFLAGS := -std=gnu99 -w -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=all -I$(CAPSTONE_SRC)/include -I$(CAPSTONE_SRC) -DCAPSTONE_HAS_X86 \
	-DCAPSTONE_X86_ATT_DISABLE -Dqsort=insn_qsort -Dstrncpy=insn_strncpy

$(FUZZ_CAPSTONE_DIR)/%.o: $(CAPSTONE_SRC)/%.c
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CAPSTONE_CFLAGS) -c $< -o $@

$(eval $(call fuzz_target,fuzz_insn_decode,hv/ept/insn_decode.c base/lib.c base/fmt.c \
	$(HW_FAKE) $(FUZZ_CAPSTONE_OBJS)))

# The report writer (base/report.c): every line one valid JSON object whose strings decode back to
# the bytes written, in stream and line mode, and text lines.
$(eval $(call fuzz_target,fuzz_report,base/report.c base/lib.c base/fmt.c))

# The vmi/ symbols half: kallsyms decoder, BTF reader, JSON/ISF readers.
$(eval $(call fuzz_target,fuzz_kallsyms,vmi/kallsyms.c vmi/kvwin.c vmi/arena.c base/lib.c \
	base/fmt.c))
$(eval $(call fuzz_target,fuzz_btf,vmi/btf.c vmi/kvwin.c vmi/arena.c base/lib.c))
$(eval $(call fuzz_target,fuzz_isf,vmi/isf.c vmi/vmi_sort.c vmi/json.c vmi/symsrc_isf.c \
	vmi/arena.c base/lib.c))

# The VMI walkers (page walker; kernel finder, task/thread/module walkers and reports over a
# patched synthetic guest; the host dump readers), and the whole flow (vmi/vmi.c) with the auto
# and profile symbol sources over a patched synthetic guest that carries kallsyms tables and
# init_top_pgt in its image.
$(eval $(call fuzz_target,fuzz_walkers,tests/unit/vmi_synth.c vmi/pagewalk.c vmi/vmi_listwalk.c \
	vmi/kernel.c vmi/linux_tasks.c vmi/linux_modules.c vmi/vmi_report.c vmi/profile_check.c \
	vmi/proc_snapshot.c vmi/vmi_sort.c base/lib.c base/fmt.c base/report.c tools/dump_reader.c))
$(eval $(call fuzz_target,fuzz_vmi,tests/unit/vmi_synth.c $(VMI_SRCS) base/lib.c base/fmt.c \
	base/report.c))

# ---- End-to-end tests

# Hypervisor end-to-end tests under Bochs (slow: minutes each). Listed first so that, with
# tests/run-all.sh running two end-to-end tests at a time, the longest ones start first.
E2E_TESTS := tests/e2e/hv_bochs_smp_guest.sh tests/e2e/hv_bochs_attack.sh \
	tests/e2e/hv_bochs_hide.sh tests/e2e/hv_bochs_swamp.sh tests/e2e/hv_bochs_stall.sh \
	tests/e2e/hv_bochs_badtask.sh tests/e2e/hv_bochs_park.sh tests/e2e/hv_bochs_smp.sh \
	tests/e2e/hv_bochs_live.sh $(E2E_TESTS)
# Linux with 2 CPUs under vigil (boot chain through build/tests/acpi-smp.efi, apic_handover =
# x2apic): also on its own with `make test-e2e-smp-guest`.
E2E_SMP_GUEST := tests/e2e/hv_bochs_smp_guest.sh
.PHONY: test-e2e-smp-guest
test-e2e-smp-guest: all
	@bash tests/run-all.sh "" "" "$(E2E_SMP_GUEST)"

# Introspection with an ISF profile, under Bochs (tests/e2e/hv_bochs_profile.sh: two boots,
# 6-14 minutes).
E2E_TESTS += tests/e2e/hv_bochs_profile.sh

# Profiles on demand: the ISF profile for the test kernel made from its Debian package and
# checked against that kernel's image (tests/e2e/profile_on_demand.sh: no emulator, seconds with
# the package cached).
E2E_TESTS += tests/e2e/profile_on_demand.sh
QUICK_E2E += tests/e2e/profile_on_demand.sh

# Loader and harness end-to-end tests (docs/harness.md). The QEMU ones (and the harness's own
# progress test) take seconds and are part of `make check`; the Bochs one takes minutes (software
# VT-x) and runs with `make test`.
SKELETON_QEMU_E2E := tests/e2e/tree_sane.sh tests/e2e/harness_run_progress.sh \
	tests/e2e/skeleton_qemu_novmx.sh \
	tests/e2e/skeleton_config_errors.sh tests/e2e/skeleton_missing_next.sh \
	tests/e2e/skeleton_config_seal.sh
E2E_TESTS += $(SKELETON_QEMU_E2E) tests/e2e/skeleton_bochs_vmx.sh
QUICK_E2E += $(SKELETON_QEMU_E2E)

# The layer rule: no layer includes a header of a layer above it (tests/e2e/layers.sh, docs/
# architecture.md; no emulator, well under a second).
E2E_TESTS += tests/e2e/layers.sh
QUICK_E2E += tests/e2e/layers.sh

# Boot time with vigil vs without (QEMU TCG; BENCH_BOCHS=1 adds Bochs): figures, no assertion.
BENCH_CMDS += qemu-scripts/bench-boot.sh

# The kallsyms decoder against a live guest's /proc/kallsyms (QEMU, ~1 min).
E2E_TESTS += tests/e2e/symbols_kallsyms_live.sh
$(B)/tests/symbols_kallsyms_decode: $(B)/host/tests/e2e/symbols_kallsyms_decode.o \
	$(B)/host/tools/dump_reader.o $(B)/host/libvmi.a $(B)/host/libbase.a
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $^
# test-e2e builds `all` first; make sure the decoder comes along.
tools: $(B)/tests/symbols_kallsyms_decode

# VMI: vigil-vmi against the real Debian guest's memory and its own ground truth.
E2E_TESTS += tests/e2e/vmi_truth.sh

# ---- tests/efi/: acpi-smp.efi, the test-only boot stage that installs ACPI tables (MADT, FADT,
# DSDT, FACS) before the kernel so Linux under Bochs finds and starts every CPU (the harness's
# --smp, docs/harness.md). Built with gnu-efi exactly like efi/efi.mk builds vigil.efi, and reuses
# its chain-loader.
ACPI_SMP_SRCS := tests/efi/acpi_smp.c tests/efi/acpi_tables.c
ACPI_SMP_OBJS := $(patsubst %.c,$(B)/free/%.o,$(ACPI_SMP_SRCS))
$(ACPI_SMP_OBJS): FREE_CFLAGS += $(GNUEFI_INC) -DGNU_EFI_USE_MS_ABI

$(B)/tests/acpi-smp.so: $(ACPI_SMP_OBJS) $(B)/free/efi/efi_chainload.o
	@mkdir -p $(dir $@)
	ld -nostdlib -znocombreloc -T $(GNUEFI_LIB)/elf_x86_64_efi.lds -shared -Bsymbolic \
	  -L$(GNUEFI_LIB) $(GNUEFI_LIB)/crt0-efi-x86_64.o $^ -o $@ -lefi -lgnuefi

$(B)/tests/acpi-smp.efi: $(B)/tests/acpi-smp.so
	objcopy -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel -j .rela -j .rel.* \
	  -j .rela.* -j .reloc --target efi-app-x86_64 --subsystem=10 $< $@
	@echo "built $@ ($$(stat -c %s $@) bytes)"

all: $(B)/tests/acpi-smp.efi

# The table builders on the host: layouts, checksums, entries, refusals.
$(eval $(call unit_test,test_acpi_tables,tests/efi/acpi_tables.c))

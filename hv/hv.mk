# hv/: the hypervisor, one freestanding image (docs/architecture.md has the layers and arrows):
#   hv/arch/      the vCPU interface (vcpu.h, the only way hv/core and hv/intro reach the CPU's
#                 virtualization extension), x86 constants, the exit kinds' names
#   hv/arch/vmx/  its VT-x backend: VMCS controls, segments, CRs, guest helpers, exit handlers and
#                 routing, INIT/SIPI, the launch, the VM entry stub
#   hv/ept/       EPT: memory types from the MTRRs, the identity map and its splits, the
#                 permission API with its violation/MTF handlers, the hypervisor's self-protection
#                 and the hook guard (docs/ept.md); the guest instruction decoder of its reports
#   hv/core/      bring-up, exit dispatch, periodic work, host environment, APIC, per-CPU state,
#                 CPU parking, the report stream, the heap
#   hv/intro/     introspection inside the hypervisor: the one place that joins vmi/ and hv/
#
# The portable sources (logic behind the hardware seam, base/hw.h) are also built for the host as
# libhv-vmx.a, libhv-ept.a and libhv-core.a, which the unit tests link with tests/fakes/. The
# *_FREE_SRCS run only in the image.
HV_VMX_SRCS := hv/arch/vcpu_exit.c hv/arch/vmx/vcpu_vmx.c hv/arch/vmx/vmx_exit.c \
	hv/arch/vmx/vmx_controls.c hv/arch/vmx/vmx_seg.c hv/arch/vmx/vmx_cr.c \
	hv/arch/vmx/vmx_guest.c hv/arch/vmx/vmx_sipi.c hv/arch/vmx/vmexit_cpuid.c \
	hv/arch/vmx/vmexit_msr.c hv/arch/vmx/vmexit_cr.c hv/arch/vmx/vmexit_xsetbv.c \
	hv/arch/vmx/vmexit_misc.c
HV_VMX_FREE_SRCS := hv/arch/vmx/vmx_launch.c hv/arch/vmx/vmx_entry.S
HV_EPT_SRCS := hv/ept/mtrr.c hv/ept/ept.c hv/ept/ept_perm.c hv/ept/ept_hide.c hv/ept/ept_guard.c \
	hv/ept/insn_decode.c
HV_CORE_SRCS := hv/core/alloc.c hv/core/apic_ipi.c hv/core/apic_mode.c hv/core/apic_nmi.c \
	hv/core/cpu_park.c hv/core/cpu_watch.c hv/core/hv_report.c hv/core/tick_owner.c
HV_CORE_FREE_SRCS := hv/core/hv_main.c hv/core/vmexit_dispatch.c \
	hv/core/host_env.c hv/core/host_exception.c hv/core/host_isr.S hv/core/apic_ipi_exec.c \
	hv/core/ept_kick.c hv/core/hv_takeover.c hv/core/hv_park.c \
	hv/core/cpu_park_x86.c hv/core/cpu_park_entry.S hv/core/hv_periodic.c
HV_INTRO_SRCS := hv/intro/rescan_report.c
HV_INTRO_FREE_SRCS := hv/intro/hv_vmi.c hv/intro/hv_live.c hv/intro/guest_mem.c \
	hv/intro/guest_insn.c

$(eval $(call host_lib,hv-vmx,$(HV_VMX_SRCS)))
$(eval $(call host_lib,hv-ept,$(HV_EPT_SRCS)))
$(eval $(call host_lib,hv-core,$(HV_CORE_SRCS)))
$(eval $(call host_lib,hv-intro,$(HV_INTRO_SRCS)))

# capstone 4.0.2 (Debian's source package, the version of the installed libcapstone-dev), x86 only,
# compiled with the hypervisor's freestanding flags: no SSE, no stack protector, no red zone
# (docs/ept.md section 6); it decodes the guest instructions that touch hypervisor memory
# (hv_access reports, hv/ept/insn_decode.h). The image links $(HV_CAPSTONE_OBJS).
#
#   make capstone      fetch (once), build $(HV_CAPSTONE_OBJS), check them
#
# The fetch uses apt-get with private lists under build/capstone/apt (a deb-src entry for the
# same Debian archive); the system's apt configuration is not touched.
CAPSTONE_DEB_VERSION := 4.0.2-5
CAPSTONE_DIR := $(B)/capstone
CAPSTONE_SRC := $(CAPSTONE_DIR)/src
CAPSTONE_APT_DIR = $(abspath $(CAPSTONE_DIR))/apt
CAPSTONE_APT = -o Dir::Etc::sourcelist=/dev/null -o Dir::Etc::sourceparts=$(CAPSTONE_APT_DIR)/etc \
	-o Dir::State::Lists=$(CAPSTONE_APT_DIR)/lists -o Dir::Cache=$(CAPSTONE_APT_DIR)/cache
CAPSTONE_C := cs.c MCInstrDesc.c MCRegisterInfo.c SStream.c utils.c arch/X86/X86Disassembler.c \
	arch/X86/X86DisassemblerDecoder.c arch/X86/X86IntelInstPrinter.c arch/X86/X86Mapping.c \
	arch/X86/X86Module.c
CAPSTONE_OBJS := $(patsubst %.c,$(CAPSTONE_DIR)/obj/%.o,$(CAPSTONE_C)) $(CAPSTONE_DIR)/obj/MCInst.o
# Third-party code: the hypervisor's code-generation flags, not its warning policy.
CAPSTONE_CFLAGS = $(filter-out -std=gnu11 -Wall -Wextra -Werror,$(FREE_CFLAGS)) -std=gnu99 -w \
	-I$(CAPSTONE_SRC)/include -I$(CAPSTONE_SRC) -DCAPSTONE_HAS_X86 -DCAPSTONE_X86_ATT_DISABLE \
	-fstack-usage
HV_CAPSTONE_OBJS := $(B)/free/capstone-x86.o $(B)/free/hv/ept/insn_decode.o
# What the objects may leave undefined: provided by base/libc_shim.c and base/lib.c.
CAPSTONE_ALLOWED_UNDEF := memcpy memmove memset lib_memcpy lib_memset lib_strlen lib_strcmp \
	lib_strlcpy fmt_vsnprintf hw_pause

.PHONY: capstone
capstone: $(HV_CAPSTONE_OBJS)
	@ld -r $(HV_CAPSTONE_OBJS) -o $(CAPSTONE_DIR)/check.o
	@undef=$$(nm -u $(CAPSTONE_DIR)/check.o | awk '{print $$2}' | grep -vxF -e _GLOBAL_OFFSET_TABLE_ \
	  $(foreach s,$(CAPSTONE_ALLOWED_UNDEF),-e $(s)) || true); \
	  if [ -n "$$undef" ]; then echo "capstone: unexpected undefined symbols: $$undef"; exit 1; fi
	@n=$$(objdump -d $(CAPSTONE_DIR)/check.o | grep -cE 'xmm|ymm|zmm|%fs:' || true); \
	  if [ "$$n" != 0 ]; then echo "capstone: $$n SSE/AVX or %fs instructions"; exit 1; fi
	@deep=$$(cat $(CAPSTONE_DIR)/obj/*.su $(CAPSTONE_DIR)/obj/arch/X86/*.su | sort -t$$'\t' -k2 -n \
	  | tail -1); echo "capstone: deepest frame: $$deep"
	@echo "capstone: $(HV_CAPSTONE_OBJS) ok ($$(size $(CAPSTONE_DIR)/check.o | awk 'NR==2 {print $$4}') bytes)"

$(CAPSTONE_DIR)/fetched:
	@mkdir -p $(CAPSTONE_APT_DIR)/etc $(CAPSTONE_APT_DIR)/lists/partial \
	  $(CAPSTONE_APT_DIR)/cache/archives/partial
	printf '%s\n' 'Types: deb-src' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm' \
	  'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
	  > $(CAPSTONE_APT_DIR)/etc/capstone-src.sources
	cd $(CAPSTONE_DIR) && apt-get $(CAPSTONE_APT) -qq update && \
	  apt-get $(CAPSTONE_APT) -qq source --download-only capstone=$(CAPSTONE_DEB_VERSION)
	rm -rf $(CAPSTONE_SRC)
	cd $(CAPSTONE_DIR) && dpkg-source -x capstone_$(CAPSTONE_DEB_VERSION).dsc src >/dev/null
	touch $@

$(addprefix $(CAPSTONE_SRC)/,$(CAPSTONE_C) MCInst.c): $(CAPSTONE_DIR)/fetched
	@test -f $@

$(CAPSTONE_DIR)/obj/%.o: $(CAPSTONE_SRC)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CAPSTONE_CFLAGS) -c $< -o $@

# MCInst.c's two floating-point accessors (unused by x86) cannot compile without SSE: they are
# left out of a build-time copy.
$(CAPSTONE_DIR)/obj/MCInst.o: $(CAPSTONE_SRC)/MCInst.c
	@mkdir -p $(dir $@)
	sed -e 's/^double MCOperand_getFPImm/#if 0\n&/' -e '/^void MCOperand_setFPImm/,/^}/ s/^}/}\n#endif/' \
	  $< > $(CAPSTONE_DIR)/obj/MCInst_nofp.c
	$(CC) $(CAPSTONE_CFLAGS) -I$(CAPSTONE_SRC) -c $(CAPSTONE_DIR)/obj/MCInst_nofp.c -o $@

$(B)/free/capstone-x86.o: $(CAPSTONE_OBJS)
	ld -r $^ -o $@

# The image (hv/core/hv_image.h): base/ less what only the loader uses, every hv/ layer and vmi/,
# linked at 0 as a static PIE, flattened to build/hv.bin and embedded into vigil.efi
# (efi/hv_blob.S). hv/ept/insn_decode.o comes with capstone (HV_CAPSTONE_OBJS, above).
HV_IMAGE_SRCS := $(sort $(filter-out base/sha256.c,$(BASE_SRCS)) $(BASE_FREE_SRCS) $(HV_VMX_SRCS) \
	$(HV_VMX_FREE_SRCS) $(filter-out hv/ept/insn_decode.c,$(HV_EPT_SRCS)) $(HV_CORE_SRCS) \
	$(HV_CORE_FREE_SRCS) $(HV_INTRO_SRCS) $(HV_INTRO_FREE_SRCS) $(VMI_SRCS))
HV_IMAGE_OBJS = $(patsubst %,$(B)/free/%.o,$(basename $(HV_IMAGE_SRCS))) $(HV_CAPSTONE_OBJS)

$(B)/hv.elf: $(HV_IMAGE_OBJS) hv/hv.lds
	ld -nostdlib -pie --no-dynamic-linker -z notext -z norelro --hash-style=sysv -T hv/hv.lds \
	  $(HV_IMAGE_OBJS) -o $@
	@bad=$$(readelf -r $@ | awk '/R_X86_64_/ && $$3 != "R_X86_64_RELATIVE" {print $$3}' | sort -u); \
	  if [ -n "$$bad" ]; then echo "hv.elf: unsupported relocations: $$bad"; exit 1; fi
	@undef=$$(nm -u $@); if [ -n "$$undef" ]; then echo "hv.elf: undefined: $$undef"; exit 1; fi

$(B)/hv.bin: $(B)/hv.elf
	objcopy -O binary --remove-section=.bss $< $@
	@echo "built $@ ($$(stat -c %s $@) bytes)"

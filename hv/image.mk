# The hypervisor image (hv/core/hv_image.h): every freestanding hv/ source plus the bring-up, exit
# loop and host environment, linked at 0 as a static PIE, flattened to build/hv.bin and embedded
# into vigil.efi (efi/hv_blob.S).
HV_IMAGE_C = $(sort $(HV_SRCS) base/hw_x86.c hv/core/alloc.c hv/core/host_env.c hv/core/host_exception.c \
	hv/core/hv_report.c hv/core/hv_main.c hv/core/vmx_launch.c hv/core/vmexit_dispatch.c hv/core/apic_ipi.c hv/core/apic_ipi_exec.c hv/core/apic_mode.c hv/core/apic_nmi.c hv/core/ept_kick.c hv/core/hv_takeover.c hv/core/hv_park.c hv/core/cpu_park.c hv/core/cpu_park_x86.c hv/core/tick_owner.c hv/core/cpu_watch.c hv/core/hv_periodic.c hv/intro/hv_vmi.c hv/intro/hv_live.c hv/intro/guest_mem.c $(VMI_SRCS) \
	base/libc_shim.c)
HV_IMAGE_S := hv/core/host_isr.S base/hw_safe_x86.S hv/arch/vmx/vmx_entry.S hv/core/cpu_park_entry.S
# capstone (x86 only, built freestanding from Debian's source package: hv/capstone.mk) decodes
# the guest instructions that touch hypervisor memory (hv_access reports).
HV_IMAGE_OBJS = $(patsubst %.c,$(B)/free/%.o,$(filter-out hv/ept/insn_decode.c,$(HV_IMAGE_C))) \
	$(patsubst %.S,$(B)/free/%.o,$(HV_IMAGE_S)) $(HV_CAPSTONE_OBJS)

$(B)/hv.elf: $(HV_IMAGE_OBJS) hv/hv.lds
	ld -nostdlib -pie --no-dynamic-linker -z notext -z norelro --hash-style=sysv -T hv/hv.lds \
	  $(HV_IMAGE_OBJS) -o $@
	@bad=$$(readelf -r $@ | awk '/R_X86_64_/ && $$3 != "R_X86_64_RELATIVE" {print $$3}' | sort -u); \
	  if [ -n "$$bad" ]; then echo "hv.elf: unsupported relocations: $$bad"; exit 1; fi
	@undef=$$(nm -u $@); if [ -n "$$undef" ]; then echo "hv.elf: undefined: $$undef"; exit 1; fi

$(B)/hv.bin: $(B)/hv.elf
	objcopy -O binary --remove-section=.bss $< $@
	@echo "built $@ ($$(stat -c %s $@) bytes)"

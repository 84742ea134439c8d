# The hypervisor image (hv/hv_image.h): every freestanding hv/ source plus the bring-up, exit
# loop and host environment, linked at 0 as a static PIE, flattened to build/hv.bin and embedded
# into vigil.efi (efi/hv_blob.S).
HV_IMAGE_C = $(sort $(HV_SRCS) hv/hw_x86.c hv/alloc.c hv/host_env.c hv/host_exception.c \
	hv/hv_report.c hv/hv_main.c hv/vmx_launch.c hv/vmexit_dispatch.c hv/apic_ipi.c hv/apic_ipi_exec.c hv/apic_mode.c hv/apic_nmi.c hv/ept_kick.c hv/hv_takeover.c hv/hv_park.c hv/cpu_park.c hv/cpu_park_x86.c hv/tick_owner.c hv/cpu_watch.c hv/hv_periodic.c hv/hv_vmi.c hv/hv_live.c hv/guest_mem.c $(VMI_SRCS) \
	hv/libc_shim.c)
HV_IMAGE_S := hv/host_isr.S hv/hw_safe_x86.S hv/vmx_entry.S hv/cpu_park_entry.S
# capstone (x86 only, built freestanding from Debian's source package: hv/capstone.mk) decodes
# the guest instructions that touch hypervisor memory (hv_access reports).
HV_IMAGE_OBJS = $(patsubst %.c,$(B)/free/%.o,$(filter-out hv/insn_decode.c,$(HV_IMAGE_C))) \
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

# vigil-doctor: says whether vigil can run on this machine (README "Checking a machine:
# vigil-doctor"). It links efi/vmx_caps.c, the loader's own VT-x decoding, with the hardware seam
# (hw_cpuid, hw_rdmsr) implemented over /proc/cpuinfo and /dev/cpu/N/msr in tools/doctor_cpu.c.
TOOLS += $(B)/vigil-doctor
VIGIL_DOCTOR_SRCS := tools/vigil-doctor.c tools/doctor_root.c tools/doctor_item.c \
	tools/doctor_cpu.c tools/doctor_platform.c efi/vmx_caps.c base/lib.c base/fmt.c base/report.c
$(B)/vigil-doctor: $(patsubst %.c,$(B)/host/%.o,$(VIGIL_DOCTOR_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $^

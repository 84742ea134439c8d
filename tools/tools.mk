# tools/: host tools, built by `make all` (TOOLS), and the benches `make bench` runs (BENCH_CMDS
# entries are single words: make bench splits them on spaces). Each links the layers' host
# libraries it uses.

# bench-vmi: VMI process-list reconstruction (tools/bench-vmi.sh).
TOOLS += $(B)/bench-vmi
BENCH_CMDS += tools/bench-vmi.sh
$(B)/bench-vmi: $(B)/host/tools/bench-vmi.o $(B)/host/tools/dump_reader.o \
	$(B)/host/tests/unit/vmi_synth.o $(B)/host/libvmi.a $(B)/host/libbase.a
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $^

# vigil-doctor: says whether vigil can run on this machine (README "Checking a machine:
# vigil-doctor"). It links efi/vmx_caps.c, the loader's own VT-x decoding (libefi.a), with the
# hardware seam (hw_cpuid, hw_rdmsr) implemented over /proc/cpuinfo and /dev/cpu/N/msr in
# tools/doctor_cpu.c.
TOOLS += $(B)/vigil-doctor
VIGIL_DOCTOR_SRCS := tools/vigil-doctor.c tools/doctor_root.c tools/doctor_item.c \
	tools/doctor_cpu.c tools/doctor_platform.c
$(B)/vigil-doctor: $(patsubst %.c,$(B)/host/%.o,$(VIGIL_DOCTOR_SRCS)) $(B)/host/libefi.a \
	$(B)/host/libbase.a
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $^

# bench-ept: EPT build time and page-size mix for captured MTRR sets. hv/ept/ept.c can reach the
# VMX seam (INVEPT, VMREAD), so the host build links the fake seam; no VMX instruction runs during
# a build. Without arguments bench-ept runs its standard set.
TOOLS += $(B)/bench-ept
BENCH_CMDS += $(B)/bench-ept
$(B)/bench-ept: $(B)/host/tools/bench-ept.o $(B)/host/libhv-ept.a $(B)/host/libbase.a \
	$(B)/host/tests/fakes/hw_fake.o
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $^

# Overhead of the live process events (tools/bench-live.sh: three Bochs boots of the same
# fork/exec workload, vigil live=on, live=off, no vigil; 10-20 minutes; docs/live-bench.md).
BENCH_CMDS += tools/bench-live.sh

# vigil-vmi: offline introspection of memory dumps.
TOOLS += $(B)/vigil-vmi
$(B)/vigil-vmi: $(B)/host/tools/vigil-vmi.o $(B)/host/tools/dump_reader.o $(B)/host/libvmi.a \
	$(B)/host/libbase.a
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $^

# vigil-watch: reads vigil's report stream and prints it readably (README "Watching the report:
# vigil-watch"). A Python 3 script (tools/vigil_watch.py); the build copies it to build/.
TOOLS += $(B)/vigil-watch
$(B)/vigil-watch: tools/vigil_watch.py
	@mkdir -p $(dir $@)
	install -m 755 $< $@

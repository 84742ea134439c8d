# bench-ept: EPT build time and page-size mix for captured MTRR sets (make bench). hv/ept.c can
# reach the VMX seam (INVEPT, VMREAD), so the host build links the fake seam; no VMX instruction
# runs during a build.
TOOLS += $(B)/bench-ept
$(B)/bench-ept: $(patsubst %.c,$(B)/host/%.o,tools/bench-ept.c hv/ept.c hv/mtrr.c hv/lib.c \
	hv/fmt.c hv/report.c tests/fakes/hw_fake.c)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $^
BENCH_CMDS += $(B)/bench-ept tests/data/mtrr/real-surface-39bit.txt
BENCH_CMDS += $(B)/bench-ept tests/data/mtrr/real-surface-39bit.txt --no-1g
BENCH_CMDS += $(B)/bench-ept tests/data/mtrr/real-surface-39bit.txt --maxphyaddr 46
BENCH_CMDS += $(B)/bench-ept tests/data/mtrr/bochs-ovmf-haswell-512m.txt --maxphyaddr 39
BENCH_CMDS += $(B)/bench-ept tests/data/mtrr/bochs-ovmf-haswell-512m.txt --maxphyaddr 46
BENCH_CMDS += $(B)/bench-ept tests/data/mtrr/qemu-q35-ovmf-512m.txt --maxphyaddr 46

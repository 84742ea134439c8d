# bench-ept: EPT build time and page-size mix for captured MTRR sets (make bench). hv/ept/ept.c can
# reach the VMX seam (INVEPT, VMREAD), so the host build links the fake seam; no VMX instruction
# runs during a build. Without arguments bench-ept runs its standard set (BENCH_CMDS entries are
# split on spaces by `make bench`, so the command is one word).
TOOLS += $(B)/bench-ept
$(B)/bench-ept: $(patsubst %.c,$(B)/host/%.o,tools/bench-ept.c hv/ept/ept.c hv/ept/mtrr.c base/lib.c \
	base/fmt.c base/report.c tests/fakes/hw_fake.c)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $^
BENCH_CMDS += $(B)/bench-ept

# make bench: VMI process-list reconstruction (tools/bench-vmi.sh; BENCH_CMDS entries are single
# words: make bench splits them on spaces). Like vigil-vmi, built only
# once the symbol sources' implementation is in the tree (tools/vmi.mk sets VMI_HAVE_SYMSRC).
BENCH_VMI_OBJS = $(patsubst %.c,$(B)/host/%.o,tools/bench-vmi.c tools/dump_reader.c \
	tests/unit/vmi_synth.c $(VMI_SRCS) base/lib.c base/fmt.c base/report.c)
$(B)/bench-vmi: $(BENCH_VMI_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $^
ifneq ($(shell grep -ls '^int vmi_symsrc_auto_init' vmi/*.c 2>/dev/null),)
TOOLS += $(B)/bench-vmi
BENCH_CMDS += tools/bench-vmi.sh
endif

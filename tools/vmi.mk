# Host tools of the VMI walkers: vigil-vmi (offline introspection of memory dumps).
# vmi/vmi.c (the top-level flow) needs the symbol sources' entry points (vmi_symbols.h); until
# their implementation is in the tree the tool is left out of TOOLS rather than breaking `make`.
VMI_HAVE_SYMSRC := $(shell grep -ls '^int vmi_symsrc_auto_init' vmi/*.c 2>/dev/null)
VIGIL_VMI_OBJS = $(patsubst %.c,$(B)/host/%.o,tools/vigil-vmi.c tools/dump_reader.c \
	$(VMI_SRCS) base/lib.c base/fmt.c base/report.c)
ifneq ($(VMI_HAVE_SYMSRC),)
TOOLS += $(B)/vigil-vmi
endif
$(B)/vigil-vmi: $(VIGIL_VMI_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $^

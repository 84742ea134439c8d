# End-to-end check of the kallsyms decoder against a live guest's /proc/kallsyms (QEMU, ~1 min).
E2E_TESTS += tests/e2e/symbols_kallsyms_live.sh
SYMBOLS_DECODE_SRCS := tests/e2e/symbols_kallsyms_decode.c tools/dump_reader.c $(VMI_SRCS) \
	base/lib.c base/fmt.c base/report.c
$(B)/tests/symbols_kallsyms_decode: $(patsubst %.c,$(B)/host/%.o,$(SYMBOLS_DECODE_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $^
# test-e2e builds `all` first; make sure the decoder comes along.
tools: $(B)/tests/symbols_kallsyms_decode

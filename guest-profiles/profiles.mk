# guest-profiles/: the ISF profile generator (vigil-mkprofile) and the shipped profiles.
#   make profiles   regenerates guest-profiles/debian-<KVER>.isf.json (compact) for the kernel
#                   qemu-scripts/fetch-kernel.sh gives.
MKPROFILE_SRCS := guest-profiles/mkprofile.c guest-profiles/elf_image.c vmi/kallsyms.c \
	vmi/kvwin.c vmi/arena.c hv/lib.c hv/fmt.c
TOOLS += $(B)/vigil-mkprofile
MKPROFILE_LIBBPF := $(shell $(CC) -print-file-name=libbpf.so)

$(B)/vigil-mkprofile: $(patsubst %.c,$(B)/host/%.o,$(MKPROFILE_SRCS)) $(MKPROFILE_LIBBPF)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $^

.PHONY: profiles
profiles: $(B)/vigil-mkprofile
	@set -e; eval "$$(bash qemu-scripts/fetch-kernel.sh)"; \
	  $(B)/vigil-mkprofile --compact "$$VMLINUZ" > guest-profiles/debian-$$KVER.isf.json.tmp; \
	  mv guest-profiles/debian-$$KVER.isf.json.tmp guest-profiles/debian-$$KVER.isf.json; \
	  echo "wrote guest-profiles/debian-$$KVER.isf.json"

# bench-symbols: cost of the symbol sources on the Debian test kernel (make bench).
BENCH_SYMBOLS_SRCS := guest-profiles/bench_symbols.c guest-profiles/elf_image.c $(VMI_SYMBOLS_SRCS) \
	hv/lib.c hv/fmt.c
TOOLS += $(B)/bench-symbols
BENCH_CMDS += $(B)/bench-symbols
$(B)/bench-symbols: $(patsubst %.c,$(B)/host/%.o,$(BENCH_SYMBOLS_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $^

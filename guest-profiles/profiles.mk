# guest-profiles/: the ISF profile generator (vigil-mkprofile) and profiles made on demand.
#   make profile [PKG=linux-image-<release>]   writes build/profiles/debian-<KVER>.isf.json
#       (compact) for that Debian kernel package (default: the test kernel, the package
#       linux-image-amd64 names) through guest-profiles/profile-for-package.sh: the package is
#       fetched with qemu-scripts/fetch-kernel.sh, never installed; the result is cached.
MKPROFILE_SRCS := guest-profiles/mkprofile.c guest-profiles/elf_image.c vmi/kallsyms.c \
	vmi/kvwin.c vmi/arena.c base/lib.c base/fmt.c
TOOLS += $(B)/vigil-mkprofile
MKPROFILE_LIBBPF := $(shell $(CC) -print-file-name=libbpf.so)

$(B)/vigil-mkprofile: $(patsubst %.c,$(B)/host/%.o,$(MKPROFILE_SRCS)) $(MKPROFILE_LIBBPF)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $^

.PHONY: profile
profile: $(B)/vigil-mkprofile
	@bash guest-profiles/profile-for-package.sh $(if $(PKG),--package '$(PKG)')

# bench-symbols: cost of the symbol sources on the Debian test kernel (make bench).
BENCH_SYMBOLS_SRCS := guest-profiles/bench_symbols.c guest-profiles/elf_image.c $(VMI_SYMBOLS_SRCS) \
	base/lib.c base/fmt.c
TOOLS += $(B)/bench-symbols
BENCH_CMDS += $(B)/bench-symbols
$(B)/bench-symbols: $(patsubst %.c,$(B)/host/%.o,$(BENCH_SYMBOLS_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $^

# guest-profiles/: the ISF profile generator (vigil-mkprofile) and profiles made on demand.
#   make profile [PKG=linux-image-<release>]   writes build/profiles/debian-<KVER>.isf.json
#       (compact) for that Debian kernel package (default: the test kernel, the package
#       linux-image-amd64 names) through guest-profiles/profile-for-package.sh: the package is
#       fetched with qemu-scripts/fetch-kernel.sh, never installed; the result is cached.
TOOLS += $(B)/vigil-mkprofile
MKPROFILE_LIBBPF := $(shell $(CC) -print-file-name=libbpf.so)

$(B)/vigil-mkprofile: $(B)/host/guest-profiles/mkprofile.o $(B)/host/guest-profiles/elf_image.o \
	$(B)/host/libvmi.a $(B)/host/libbase.a $(MKPROFILE_LIBBPF)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $^

.PHONY: profile
profile: $(B)/vigil-mkprofile
	@bash guest-profiles/profile-for-package.sh $(if $(PKG),--package '$(PKG)')

# bench-symbols: cost of the symbol sources on the Debian test kernel (make bench).
TOOLS += $(B)/bench-symbols
BENCH_CMDS += $(B)/bench-symbols
$(B)/bench-symbols: $(B)/host/guest-profiles/bench_symbols.o $(B)/host/guest-profiles/elf_image.o \
	$(B)/host/libvmi.a $(B)/host/libbase.a
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $^

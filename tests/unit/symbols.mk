# Unit tests of the vmi/ symbols half. Tests that read the real Debian kernel find it through
# $VIGIL_VMLINUX or qemu-scripts/fetch-kernel.sh.
SYMBOLS_TEST_LIB := base/lib.c base/fmt.c
$(eval $(call unit_test,test_kallsyms,vmi/arena.c vmi/kvwin.c vmi/kallsyms.c guest-profiles/elf_image.c $(SYMBOLS_TEST_LIB)))

# test_btf links libbpf (the reference the freestanding reader is cross-checked against).
LIBBPF_SO := $(shell $(CC) -print-file-name=libbpf.so)
$(eval $(call unit_test,test_btf,vmi/arena.c vmi/kvwin.c vmi/btf.c guest-profiles/elf_image.c $(SYMBOLS_TEST_LIB)))
$(B)/tests/test_btf: $(LIBBPF_SO)

$(eval $(call unit_test,test_json,vmi/json.c $(SYMBOLS_TEST_LIB)))

$(eval $(call unit_test,test_isf,$(VMI_SYMBOLS_SRCS) guest-profiles/elf_image.c $(SYMBOLS_TEST_LIB)))
# test_isf checks the test kernel's profile, which guest-profiles/profile-for-package.sh makes
# with vigil-mkprofile.
$(B)/tests/test_isf: | $(B)/vigil-mkprofile

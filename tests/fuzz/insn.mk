# libFuzzer target of the guest instruction decoder in VMX root (hv/ept/insn_decode.c).
#
# capstone is built here from the same Debian source files, defines and libc helpers as the
# hypervisor's copy (hv/capstone.mk: x86 only, AT&T syntax off, no system allocator, vigil's
# qsort and strncpy), with the fuzzer's coverage and AddressSanitizer instrumentation instead of
# the freestanding code-generation flags. Debian's libcapstone.a would be a different build
# (every architecture, AT&T printer, glibc's qsort) and, uninstrumented, would let a read past
# the guest's bytes inside capstone go unseen.
FUZZ_CAPSTONE_DIR := $(B)/fuzz/capstone
FUZZ_CAPSTONE_OBJS := $(patsubst %.c,$(FUZZ_CAPSTONE_DIR)/%.o,$(CAPSTONE_C) MCInst.c)
# Third-party code: no warning policy (as hv/capstone.mk), but every sanitizer check.
FUZZ_CAPSTONE_CFLAGS := -std=gnu99 -w -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=all -I$(CAPSTONE_SRC)/include -I$(CAPSTONE_SRC) -DCAPSTONE_HAS_X86 \
	-DCAPSTONE_X86_ATT_DISABLE -Dqsort=insn_qsort -Dstrncpy=insn_strncpy

$(FUZZ_CAPSTONE_DIR)/%.o: $(CAPSTONE_SRC)/%.c
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CAPSTONE_CFLAGS) -c $< -o $@

$(eval $(call fuzz_target,fuzz_insn_decode,hv/ept/insn_decode.c base/lib.c base/fmt.c \
	tests/fakes/hw_fake.c $(FUZZ_CAPSTONE_OBJS)))

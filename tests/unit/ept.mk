# Unit tests of the EPT logic (hv/mtrr.c, hv/ept*.c) over captured MTRR sets in tests/data/mtrr/.
EPT_TEST_LIB := hv/lib.c hv/fmt.c hv/report.c tests/fakes/hw_fake.c
$(eval $(call unit_test,test_mtrr,hv/mtrr.c $(EPT_TEST_LIB)))
$(eval $(call unit_test,test_ept,hv/ept.c hv/mtrr.c $(EPT_TEST_LIB)))
$(eval $(call unit_test,test_ept_perm,hv/ept_perm.c hv/ept.c hv/mtrr.c $(EPT_TEST_LIB)))
$(eval $(call unit_test,test_ept_hide,hv/ept_hide.c hv/ept_perm.c hv/ept.c hv/mtrr.c $(EPT_TEST_LIB)))
$(eval $(call unit_test,test_ept_guard,hv/ept_guard.c hv/ept_hide.c hv/ept_perm.c hv/ept.c hv/mtrr.c $(EPT_TEST_LIB)))
# hv/insn_decode.c against Debian's libcapstone.a (capstone 4.0.2, as the hypervisor build).
CAPSTONE_HOST_LIB := $(wildcard /usr/lib/x86_64-linux-gnu/libcapstone.a)
ifneq ($(CAPSTONE_HOST_LIB),)
$(eval $(call unit_test,test_insn_decode,hv/insn_decode.c hv/lib.c hv/fmt.c tests/fakes/hw_fake.c \
	$(CAPSTONE_HOST_LIB)))
endif

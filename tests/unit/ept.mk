# Unit tests of the EPT logic (hv/ept/mtrr.c, hv/ept*.c) over captured MTRR sets in tests/data/mtrr/.
EPT_TEST_LIB := base/lib.c base/fmt.c base/report.c tests/fakes/hw_fake.c
$(eval $(call unit_test,test_mtrr,hv/ept/mtrr.c $(EPT_TEST_LIB)))
$(eval $(call unit_test,test_ept,hv/ept/ept.c hv/ept/mtrr.c $(EPT_TEST_LIB)))
$(eval $(call unit_test,test_ept_perm,hv/ept/ept_perm.c hv/ept/ept.c hv/ept/mtrr.c $(EPT_TEST_LIB)))
$(eval $(call unit_test,test_ept_hide,hv/ept/ept_hide.c hv/ept/ept_perm.c hv/ept/ept.c hv/ept/mtrr.c $(EPT_TEST_LIB)))
$(eval $(call unit_test,test_ept_guard,hv/ept/ept_guard.c hv/ept/ept_hide.c hv/ept/ept_perm.c hv/ept/ept.c hv/ept/mtrr.c $(EPT_TEST_LIB)))
# hv/ept/insn_decode.c against Debian's libcapstone.a (capstone 4.0.2, as the hypervisor build).
CAPSTONE_HOST_LIB := $(wildcard /usr/lib/x86_64-linux-gnu/libcapstone.a)
ifneq ($(CAPSTONE_HOST_LIB),)
$(eval $(call unit_test,test_insn_decode,hv/ept/insn_decode.c base/lib.c base/fmt.c tests/fakes/hw_fake.c \
	$(CAPSTONE_HOST_LIB)))
endif

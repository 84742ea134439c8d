# Unit tests of the VT-x logic (hv/vmx_*.c, hv/vmexit_*.c) with the hardware behind the fakes
# (tests/fakes/hw_fake.c, tests/fakes/hw_safe_fake.c) and the captured capability MSR sets in
# tests/data/vmx-caps/.
VMX_TEST_LIB := $(VMX_LOGIC_SRCS) base/lib.c base/fmt.c base/report.c tests/fakes/hw_fake.c \
	tests/fakes/hw_safe_fake.c
VMX_UNIT_TESTS := test_vmx_controls test_vmx_seg test_vmx_cr test_vmx_guest test_vmx_sipi \
	test_vmexit_cpuid test_vmexit_msr test_vmexit_cr test_vmexit_xsetbv test_vmexit_misc
$(foreach t,$(VMX_UNIT_TESTS),$(eval $(call unit_test,$(t),$(VMX_TEST_LIB))))
$(B)/host/tests/unit/test_vmx_controls.o $(B)/host/tests/unit/test_vmx_cr.o: \
	HOST_CFLAGS += -DVMX_CAPS_DIR='"$(CURDIR)/tests/data/vmx-caps"'

# hv/: VT-x logic (controls, segments, CRs, guest helpers, exit handlers, INIT/SIPI). Pure code
# behind the hardware seam (hv/hw.h, hv/hw_safe.h): built for the hypervisor and for host tests.
VMX_LOGIC_SRCS := hv/vmx_controls.c hv/vmx_seg.c hv/vmx_cr.c hv/vmx_guest.c hv/vmx_sipi.c \
	hv/vmexit_cpuid.c hv/vmexit_msr.c hv/vmexit_cr.c hv/vmexit_xsetbv.c hv/vmexit_misc.c
HV_SRCS += $(VMX_LOGIC_SRCS)

# hv/: VT-x logic (controls, segments, CRs, guest helpers, exit handlers, INIT/SIPI). Pure code
# behind the hardware seam (base/hw.h, base/hw_safe.h): built for the hypervisor and for host tests.
VMX_LOGIC_SRCS := hv/arch/vmx/vmx_controls.c hv/arch/vmx/vmx_seg.c hv/arch/vmx/vmx_cr.c hv/arch/vmx/vmx_guest.c hv/arch/vmx/vmx_sipi.c \
	hv/arch/vmx/vmexit_cpuid.c hv/arch/vmx/vmexit_msr.c hv/arch/vmx/vmexit_cr.c hv/arch/vmx/vmexit_xsetbv.c hv/arch/vmx/vmexit_misc.c
HV_SRCS += $(VMX_LOGIC_SRCS)

# hv/: freestanding hypervisor core. HV_SRCS build for the EFI image/hypervisor and for host unit
# tests; HV_ARCH_SRCS (real instructions) are freestanding-only, tests link tests/fakes instead.
# Other hv/*.mk fragments (one per concern) add to these lists.
HV_SRCS += base/lib.c base/fmt.c base/report.c base/serial.c
HV_ARCH_SRCS += base/hw_x86.c
include $(filter-out hv/hv.mk hv/image.mk,$(wildcard hv/*.mk))

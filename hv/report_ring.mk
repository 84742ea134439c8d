# The hypervisor's output ring of report lines (base/report_ring.h).
HV_SRCS += base/report_ring.c

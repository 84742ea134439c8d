# The hypervisor's output ring of report lines (hv/report_ring.h).
HV_SRCS += hv/report_ring.c

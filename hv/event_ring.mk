# Per-CPU event ring of the report stream (hv/event_ring.h).
HV_SRCS += hv/event_ring.c

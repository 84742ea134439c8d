# EPT: memory types from the MTRRs, the identity map and its splits, the permission API with its
# violation/MTF handlers, and the hypervisor's self-protection (docs/ept.md).
HV_SRCS += hv/ept/mtrr.c hv/ept/ept.c hv/ept/ept_perm.c hv/ept/ept_hide.c hv/ept/ept_guard.c

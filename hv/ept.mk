# EPT: memory types from the MTRRs, the identity map and its splits, the permission API with its
# violation/MTF handlers, and the hypervisor's self-protection (docs/ept.md).
HV_SRCS += hv/mtrr.c hv/ept.c hv/ept_perm.c hv/ept_hide.c hv/ept_guard.c

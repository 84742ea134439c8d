# vmi/: the introspection library over vmi/vmi_mem.h (guest memory as a hostile interface).
# Freestanding, linked into the hypervisor image, and built for the host as libvmi.a (vigil-vmi,
# tests, benches). Depends on base/ only.
#
# The symbols half: kallsyms decoder, BTF reader, JSON/ISF readers, the two symbol sources (auto:
# in-memory kallsyms + BTF; profile: ISF).
VMI_SYMBOLS_SRCS := vmi/arena.c vmi/kvwin.c vmi/kallsyms.c vmi/btf.c vmi/json.c vmi/isf.c \
	vmi/vmi_sort.c vmi/symsrc_isf.c vmi/symsrc_auto.c
# The walkers half: page walker, bounded list walker, kernel finder, Linux task/module walkers,
# reports, snapshots, the live view, the top-level flow (vmi/vmi.c).
VMI_WALKER_SRCS := vmi/pagewalk.c vmi/vmi_listwalk.c vmi/linux_tasks.c vmi/linux_modules.c \
	vmi/kernel.c vmi/vmi_report.c vmi/vmi.c vmi/profile_check.c vmi/proc_snapshot.c \
	vmi/linux_live.c
VMI_SRCS := $(VMI_SYMBOLS_SRCS) $(VMI_WALKER_SRCS)

$(eval $(call host_lib,vmi,$(VMI_SRCS)))

# vmi/ symbols half (issue 5): kallsyms decoder, BTF reader, JSON/ISF readers, the two symbol
# sources (auto: in-memory kallsyms + BTF; profile: ISF).
VMI_SYMBOLS_SRCS := vmi/arena.c vmi/kvwin.c vmi/kallsyms.c vmi/btf.c vmi/json.c vmi/isf.c \
	vmi/vmi_sort.c vmi/symsrc_isf.c vmi/symsrc_auto.c
VMI_SRCS += $(VMI_SYMBOLS_SRCS)

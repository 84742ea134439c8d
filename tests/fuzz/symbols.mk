# libFuzzer targets of the vmi/ symbols half: kallsyms decoder, BTF reader, JSON/ISF readers.
$(eval $(call fuzz_target,fuzz_kallsyms,vmi/kallsyms.c vmi/kvwin.c vmi/arena.c base/lib.c base/fmt.c))
$(eval $(call fuzz_target,fuzz_btf,vmi/btf.c vmi/kvwin.c vmi/arena.c base/lib.c))
$(eval $(call fuzz_target,fuzz_isf,vmi/isf.c vmi/vmi_sort.c vmi/json.c vmi/symsrc_isf.c vmi/arena.c base/lib.c))

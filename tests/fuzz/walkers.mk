# Fuzzing the VMI walkers (page walker; kernel finder, task/thread/module walkers and reports over
# a patched synthetic guest; the host dump readers).
$(eval $(call fuzz_target,fuzz_walkers,tests/unit/vmi_synth.c vmi/pagewalk.c vmi/vmi_listwalk.c \
	vmi/kernel.c vmi/linux_tasks.c vmi/linux_modules.c vmi/vmi_report.c hv/lib.c hv/fmt.c \
	hv/report.c tools/dump_reader.c))

# Fuzzing the VMI walkers (page walker; kernel finder, task/thread/module walkers and reports over
# a patched synthetic guest; the host dump readers).
$(eval $(call fuzz_target,fuzz_walkers,tests/unit/vmi_synth.c vmi/pagewalk.c vmi/vmi_listwalk.c \
	vmi/kernel.c vmi/linux_tasks.c vmi/linux_modules.c vmi/vmi_report.c vmi/profile_check.c \
	vmi/proc_snapshot.c vmi/vmi_sort.c base/lib.c base/fmt.c base/report.c tools/dump_reader.c))
# The whole flow (vmi/vmi.c) with the auto and profile symbol sources over a patched synthetic
# guest that carries kallsyms tables and init_top_pgt in its image.
$(eval $(call fuzz_target,fuzz_vmi,tests/unit/vmi_synth.c $(VMI_SRCS) base/lib.c base/fmt.c \
	base/report.c))

# Unit tests of the vmi/ walkers (page walker, kernel finder, task/module walkers, reports).
$(eval $(call unit_test,test_pagewalk,vmi/pagewalk.c base/lib.c))
VMI_WALKER_TEST_SRCS := tests/unit/vmi_synth.c vmi/pagewalk.c vmi/vmi_listwalk.c vmi/kernel.c \
	vmi/linux_tasks.c vmi/linux_modules.c vmi/vmi_report.c vmi/profile_check.c vmi/proc_snapshot.c \
	vmi/vmi_sort.c base/lib.c base/fmt.c base/report.c
$(eval $(call unit_test,test_linux_tasks,$(VMI_WALKER_TEST_SRCS)))
$(eval $(call unit_test,test_vmi_dump,tools/dump_reader.c))
$(eval $(call unit_test,test_proc_snapshot,$(VMI_WALKER_TEST_SRCS)))
$(eval $(call unit_test,test_linux_live,vmi/linux_live.c))

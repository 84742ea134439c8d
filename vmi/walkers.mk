# vmi/ walkers half: memory access, page walker, kernel finder, Linux task/module walkers, reports.
VMI_SRCS += vmi/pagewalk.c
VMI_SRCS += vmi/vmi_listwalk.c vmi/linux_tasks.c vmi/linux_modules.c vmi/kernel.c
VMI_SRCS += vmi/vmi_report.c vmi/vmi.c vmi/profile_check.c vmi/proc_snapshot.c vmi/linux_live.c

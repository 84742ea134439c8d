# vmi/ walkers half: memory access, page walker, kernel finder, Linux task/module walkers, reports.
VMI_SRCS += vmi/pagewalk.c

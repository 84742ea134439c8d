# Unit tests of the vmi/ walkers (page walker, kernel finder, task/module walkers, reports).
$(eval $(call unit_test,test_pagewalk,vmi/pagewalk.c hv/lib.c))

# Fuzzing the guest-controlled inputs of the EPT code: MTRR writes + retyping, violation exits.
$(eval $(call fuzz_target,fuzz_ept_mtrr,hv/mtrr.c hv/ept.c hv/ept_perm.c hv/lib.c hv/fmt.c \
	hv/report.c tests/fakes/hw_fake.c))

# Fuzzing the guest-controlled inputs of the EPT code: MTRR writes + retyping, violation exits.
$(eval $(call fuzz_target,fuzz_ept_mtrr,hv/mtrr.c hv/ept.c hv/ept_perm.c hv/lib.c hv/fmt.c \
	hv/report.c tests/fakes/hw_fake.c))
# The self-protection and hook-guard handlers over simulated guest accesses on several vCPUs.
$(eval $(call fuzz_target,fuzz_ept_handlers,hv/ept_hide.c hv/ept_guard.c hv/ept_perm.c hv/ept.c \
	hv/mtrr.c hv/lib.c hv/fmt.c hv/report.c tests/fakes/hw_fake.c))
$(B)/fuzz/fuzz_ept_handlers: CLANG += -fsanitize-coverage-ignorelist=tests/fuzz/fuzz_ept_handlers.ignore

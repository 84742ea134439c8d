# Fuzzing the guest-controlled inputs of the EPT code: MTRR writes + retyping, violation exits.
$(eval $(call fuzz_target,fuzz_ept_mtrr,hv/ept/mtrr.c hv/ept/ept.c hv/ept/ept_perm.c base/lib.c base/fmt.c \
	base/report.c tests/fakes/hw_fake.c))
# The self-protection and hook-guard handlers over simulated guest accesses on several vCPUs.
$(eval $(call fuzz_target,fuzz_ept_handlers,hv/ept/ept_hide.c hv/ept/ept_guard.c hv/ept/ept_perm.c hv/ept/ept.c \
	hv/ept/mtrr.c base/lib.c base/fmt.c base/report.c tests/fakes/hw_fake.c))
$(B)/fuzz/fuzz_ept_handlers: CLANG += -fsanitize-coverage-ignorelist=tests/fuzz/fuzz_ept_handlers.ignore

# Loader and harness end-to-end tests (docs/harness.md). The QEMU ones (and the harness's own
# progress test) take seconds and are part of `make check`; the Bochs one takes minutes (software
# VT-x) and runs with `make test`.
SKELETON_QEMU_E2E := tests/e2e/tree_sane.sh tests/e2e/harness_run_progress.sh \
	tests/e2e/skeleton_qemu_novmx.sh \
	tests/e2e/skeleton_config_errors.sh tests/e2e/skeleton_missing_next.sh \
	tests/e2e/skeleton_config_seal.sh
E2E_TESTS += $(SKELETON_QEMU_E2E) tests/e2e/skeleton_bochs_vmx.sh
QUICK_E2E += $(SKELETON_QEMU_E2E)

# Boot time with vigil vs without (QEMU TCG; BENCH_BOCHS=1 adds Bochs): figures, no assertion.
BENCH_CMDS += qemu-scripts/bench-boot.sh

# Hypervisor end-to-end tests under Bochs (slow: minutes each). Listed first so that, with
# tests/run-all.sh running two end-to-end tests at a time, the longest ones start first.
E2E_TESTS := tests/e2e/hv_bochs_smp.sh tests/e2e/hv_bochs_smp_guest.sh tests/e2e/hv_bochs_hide.sh \
	tests/e2e/hv_bochs_live.sh tests/e2e/hv_bochs_attack.sh tests/e2e/hv_bochs_swamp.sh \
	tests/e2e/hv_bochs_park.sh tests/e2e/hv_bochs_stall.sh $(E2E_TESTS)
# Linux with 2 CPUs under vigil (boot chain through build/tests/acpi-smp.efi, apic_handover =
# x2apic): also on its own with `make test-e2e-smp-guest`.
E2E_SMP_GUEST := tests/e2e/hv_bochs_smp_guest.sh
.PHONY: test-e2e-smp-guest
test-e2e-smp-guest: all
	@bash tests/run-all.sh "" "" "$(E2E_SMP_GUEST)"

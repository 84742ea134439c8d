# Hypervisor end-to-end tests under Bochs (slow: minutes each). Listed first so that, with
# tests/run-all.sh running two end-to-end tests at a time, the longest ones start first.
E2E_TESTS := tests/e2e/hv_bochs_smp.sh tests/e2e/hv_bochs_hide.sh tests/e2e/hv_bochs_live.sh \
	tests/e2e/hv_bochs_attack.sh tests/e2e/hv_bochs_park.sh tests/e2e/hv_bochs_stall.sh $(E2E_TESTS)

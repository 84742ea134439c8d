E2E_TESTS += tests/e2e/hv_bochs_smp.sh
E2E_TESTS += tests/e2e/hv_bochs_hide.sh

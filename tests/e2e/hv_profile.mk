# Introspection with an ISF profile, under Bochs (tests/e2e/hv_bochs_profile.sh: two boots,
# 6-14 minutes).
E2E_TESTS += tests/e2e/hv_bochs_profile.sh

# Profiles on demand: the ISF profile for the test kernel made from its Debian package and
# checked against that kernel's image (tests/e2e/profile_on_demand.sh: no emulator, seconds with
# the package cached).
E2E_TESTS += tests/e2e/profile_on_demand.sh
QUICK_E2E += tests/e2e/profile_on_demand.sh

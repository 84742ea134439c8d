#!/bin/sh
# Ground truth for tests/e2e/symbols_kallsyms_live.sh: the guest's own symbol table (core kernel
# only: module symbols carry a [module] suffix), between markers, then the sentinel.
echo KALLSYMS-BEGIN
grep -v '\[' /proc/kallsyms
echo KALLSYMS-END
echo VIGIL-GUEST-READY

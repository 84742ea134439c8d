# Host tools' tests (tests/tools/): vigil-watch over recorded report streams, vigil-doctor over
# recorded machine trees and this machine; seconds each, run with the unit tests (make check).
# Each runner here is a small script that runs the test source against the built tool.
$(B)/tests/test_vigil_watch: tests/tools/test_vigil_watch.py $(B)/vigil-watch
	@mkdir -p $(dir $@)
	printf '#!/bin/sh\nexec python3 "%s" "%s" "$$@"\n' $(abspath $<) $(abspath $(B)/vigil-watch) >$@
	chmod +x $@
$(B)/tests/test_vigil_doctor: tests/tools/test_vigil_doctor.sh $(B)/vigil-doctor
	@mkdir -p $(dir $@)
	printf '#!/bin/sh\nexec bash "%s" "%s" "$$@"\n' $(abspath $<) $(abspath $(B)/vigil-doctor) >$@
	chmod +x $@
UNIT_TESTS += $(B)/tests/test_vigil_watch $(B)/tests/test_vigil_doctor

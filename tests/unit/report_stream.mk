# The hypervisor's report stream: line writers, output ring, UART drain (hv/core/hv_report.h), built
# with AddressSanitizer; one test runs writer threads against a drainer thread.
$(eval $(call unit_test_asan,test_hv_report,hv/core/hv_report.c base/report_ring.c base/report.c \
	base/serial.c hv/core/alloc.c base/lib.c base/fmt.c tests/fakes/hw_fake.c tests/fakes/uart_fake.c,-lpthread))

# Compile-level: only the right use of the API compiles (tests/unit/report_api_misuse.c). The
# test is a script that runs the compiler on each variant.
UNIT_TESTS += $(B)/tests/test_report_api_misuse
$(B)/tests/test_report_api_misuse: tests/unit/report_api_misuse.c hv/core/hv_report.h base/report.h
	@mkdir -p $(dir $@)
	@printf '%s\n' '#!/usr/bin/env bash' \
	  'cd "$$(dirname "$$0")/../.." || exit 2; rc=0' \
	  'cc() { $(CC) $(HOST_CFLAGS) -c -o /dev/null -D"$$1" tests/unit/report_api_misuse.c 2>/dev/null; }' \
	  'if cc RIGHT; then echo "ok: RIGHT compiles"; else echo "FAILED: RIGHT does not compile"; rc=1; fi' \
	  'for v in SHARED_GLOBAL IGNORED_BEGIN OLD_LOCK; do' \
	  '  if cc $$v; then echo "FAILED: $$v compiles"; rc=1; else echo "ok: $$v is a compile error"; fi' \
	  'done; exit $$rc' > $@
	@chmod +x $@

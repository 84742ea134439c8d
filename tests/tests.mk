# Unit tests: $(call unit_test,NAME,SOURCES) builds $(B)/tests/NAME from tests/unit/NAME.c plus
# SOURCES (host objects) and cmocka, and adds it to UNIT_TESTS.
define unit_test
UNIT_TESTS += $(B)/tests/$(1)
$(B)/tests/$(1): $(B)/host/tests/unit/$(1).o $(patsubst %.c,$(B)/host/%.o,$(2))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(HOST_CFLAGS) -o $$@ $$^ -lcmocka
endef

# $(call unit_test_asan,NAME,SOURCES,LIBS): the same, built with AddressSanitizer and UBSan from the
# sources directly (every object instrumented), so a write past any buffer fails the test.
define unit_test_asan
UNIT_TESTS += $(B)/tests/$(1)
$(B)/tests/$(1): tests/unit/$(1).c $(2)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(HOST_CFLAGS) -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	  -fno-omit-frame-pointer -o $$@ $$^ -lcmocka $(3)
endef

# Fuzz targets: $(call fuzz_target,NAME,SOURCES) builds $(B)/fuzz/NAME with clang's libFuzzer
# from tests/fuzz/NAME.c plus SOURCES.
define fuzz_target
FUZZ_TARGETS += $(B)/fuzz/$(1)
$(B)/fuzz/$(1): tests/fuzz/$(1).c $(2)
	@mkdir -p $$(dir $$@)
	$$(CLANG) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  $$(INCS) -o $$@ $$^
endef

# One fragment per concern: tests/unit/*.mk, tests/fuzz/*.mk, tests/e2e/*.mk, tests/efi/*.mk.
include $(wildcard tests/unit/*.mk tests/fuzz/*.mk tests/e2e/*.mk tests/efi/*.mk)

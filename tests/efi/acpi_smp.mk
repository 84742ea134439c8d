# tests/efi/: acpi-smp.efi, the test-only boot stage that installs ACPI tables (MADT, FADT, DSDT,
# FACS) before the kernel so Linux under Bochs finds and starts every CPU (the harness's --smp,
# docs/harness.md). Built with gnu-efi exactly like efi/efi.mk builds vigil.efi, and reuses its
# chain-loader.
ACPI_SMP_SRCS := tests/efi/acpi_smp.c tests/efi/acpi_tables.c
ACPI_SMP_OBJS := $(patsubst %.c,$(B)/free/%.o,$(ACPI_SMP_SRCS))
$(ACPI_SMP_OBJS): FREE_CFLAGS += $(GNUEFI_INC) -DGNU_EFI_USE_MS_ABI

$(B)/tests/acpi-smp.so: $(ACPI_SMP_OBJS) $(B)/free/efi/efi_chainload.o
	@mkdir -p $(dir $@)
	ld -nostdlib -znocombreloc -T $(GNUEFI_LIB)/elf_x86_64_efi.lds -shared -Bsymbolic \
	  -L$(GNUEFI_LIB) $(GNUEFI_LIB)/crt0-efi-x86_64.o $^ -o $@ -lefi -lgnuefi

$(B)/tests/acpi-smp.efi: $(B)/tests/acpi-smp.so
	objcopy -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel -j .rela -j .rel.* \
	  -j .rela.* -j .reloc --target efi-app-x86_64 --subsystem=10 $< $@
	@echo "built $@ ($$(stat -c %s $@) bytes)"

all: $(B)/tests/acpi-smp.efi

# The table builders on the host: layouts, checksums, entries, refusals.
$(eval $(call unit_test,test_acpi_tables,tests/efi/acpi_tables.c))

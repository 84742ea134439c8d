# efi/: the UEFI loader, built with gnu-efi into build/vigil.efi (PE32+ x86-64).
GNUEFI_LIB := /usr/lib
GNUEFI_INC := -I/usr/include/efi -I/usr/include/efi/x86_64 -I$(B)/gen
EFI_SRCS := efi/main.c efi/efi_file.c efi/efi_chainload.c efi/efi_status.c efi/efi_serial_claim.c \
	efi/hv_load.c efi/efi_profile.c efi/efi_seal.c
EFI_OBJS := $(patsubst %.c,$(B)/free/%.o,$(EFI_SRCS))
# The loader uses only these freestanding pieces of hv/ (the hypervisor proper is a separate
# image, hv/image.mk, embedded into vigil.efi).
LOADER_HV_SRCS := base/lib.c base/fmt.c base/report.c efi/config.c base/serial.c efi/vmx_caps.c base/hw_x86.c \
	base/sha256.c efi/config_seal.c efi/config_seal_report.c
HV_FREE_OBJS = $(patsubst %.c,$(B)/free/%.o,$(LOADER_HV_SRCS))

$(EFI_OBJS): FREE_CFLAGS += $(GNUEFI_INC) -DGNU_EFI_USE_MS_ABI
$(B)/free/efi/main.o: $(B)/gen/version.h

# The version string follows `git describe`; the header is rewritten only when it changes.
$(B)/gen/version.h: FORCE
	@mkdir -p $(dir $@)
	@echo '#define VIGIL_VERSION "$(VERSION)"' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
.PHONY: FORCE
FORCE:

$(B)/free/efi/hv_blob.o: efi/hv_blob.S $(B)/hv.bin
	@mkdir -p $(dir $@)
	$(CC) -c -DHV_BIN='"$(B)/hv.bin"' $< -o $@

$(B)/vigil.so: $(EFI_OBJS) $(B)/free/efi/hv_blob.o $(HV_FREE_OBJS)
	ld -nostdlib -znocombreloc -T $(GNUEFI_LIB)/elf_x86_64_efi.lds -shared -Bsymbolic \
	  -L$(GNUEFI_LIB) $(GNUEFI_LIB)/crt0-efi-x86_64.o $^ -o $@ -lefi -lgnuefi

$(B)/vigil.efi: $(B)/vigil.so
	objcopy -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel -j .rela -j .rel.* \
	  -j .rela.* -j .reloc --target efi-app-x86_64 --subsystem=10 $< $@
	@echo "built $@ ($$(stat -c %s $@) bytes)"

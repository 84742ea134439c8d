# efi/: the UEFI loader, built with gnu-efi into build/vigil.efi (PE32+ x86-64). The hypervisor
# proper is a separate image (hv/hv.mk) embedded into it.
GNUEFI_LIB := /usr/lib
# gnu-efi's headers, and $(B)/gen for the generated version.h.
GNUEFI_INC := -I/usr/include/efi -I/usr/include/efi/x86_64 -I$(B)/gen
EFI_SRCS := efi/main.c efi/efi_file.c efi/efi_chainload.c efi/efi_status.c efi/efi_serial_claim.c \
	efi/hv_load.c efi/efi_profile.c efi/efi_seal.c
EFI_OBJS := $(patsubst %.c,$(B)/free/%.o,$(EFI_SRCS))
# The loader's portable parts: the config file, the sealed config and its events, the VT-x
# capability decoding. No gnu-efi: also built for the host as libefi.a (unit tests, fuzz targets,
# vigil-doctor).
EFI_PORTABLE_SRCS := efi/config.c efi/config_seal.c efi/config_seal_report.c efi/vmx_caps.c
# What the loader links besides its own sources: those parts and the base/ pieces it uses.
LOADER_SRCS := base/lib.c base/fmt.c base/report.c efi/config.c base/serial.c efi/vmx_caps.c \
	base/hw_x86.c base/sha256.c efi/config_seal.c efi/config_seal_report.c
LOADER_OBJS = $(patsubst %.c,$(B)/free/%.o,$(LOADER_SRCS))

$(eval $(call host_lib,efi,$(EFI_PORTABLE_SRCS)))

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

$(B)/vigil.so: $(EFI_OBJS) $(B)/free/efi/hv_blob.o $(LOADER_OBJS)
	ld -nostdlib -znocombreloc -T $(GNUEFI_LIB)/elf_x86_64_efi.lds -shared -Bsymbolic \
	  -L$(GNUEFI_LIB) $(GNUEFI_LIB)/crt0-efi-x86_64.o $^ -o $@ -lefi -lgnuefi

$(B)/vigil.efi: $(B)/vigil.so
	objcopy -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel -j .rela -j .rel.* \
	  -j .rela.* -j .reloc --target efi-app-x86_64 --subsystem=10 $< $@
	@echo "built $@ ($$(stat -c %s $@) bytes)"

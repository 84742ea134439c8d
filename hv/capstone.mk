# capstone 4.0.2 (Debian's source package, the version of the installed libcapstone-dev), x86 only,
# compiled with the hypervisor's freestanding flags: no SSE, no stack protector, no red zone
# (docs/ept.md section 6). Opt-in, because it downloads the source package:
#
#   make capstone      fetch (once), build $(HV_CAPSTONE_OBJS), check them
#
# The fetch uses apt-get with private lists under build/capstone/apt (a deb-src entry for the
# same Debian archive); the system's apt configuration is not touched. The lead links
# $(HV_CAPSTONE_OBJS) into the hypervisor image to get guest instruction text (hv/ept/insn_decode.h).
CAPSTONE_DEB_VERSION := 4.0.2-5
CAPSTONE_DIR := $(B)/capstone
CAPSTONE_SRC := $(CAPSTONE_DIR)/src
CAPSTONE_APT_DIR = $(abspath $(CAPSTONE_DIR))/apt
CAPSTONE_APT = -o Dir::Etc::sourcelist=/dev/null -o Dir::Etc::sourceparts=$(CAPSTONE_APT_DIR)/etc \
	-o Dir::State::Lists=$(CAPSTONE_APT_DIR)/lists -o Dir::Cache=$(CAPSTONE_APT_DIR)/cache
CAPSTONE_C := cs.c MCInstrDesc.c MCRegisterInfo.c SStream.c utils.c arch/X86/X86Disassembler.c \
	arch/X86/X86DisassemblerDecoder.c arch/X86/X86IntelInstPrinter.c arch/X86/X86Mapping.c \
	arch/X86/X86Module.c
CAPSTONE_OBJS := $(patsubst %.c,$(CAPSTONE_DIR)/obj/%.o,$(CAPSTONE_C)) $(CAPSTONE_DIR)/obj/MCInst.o
# Third-party code: the hypervisor's code-generation flags, not its warning policy.
CAPSTONE_CFLAGS = $(filter-out -std=gnu11 -Wall -Wextra -Werror,$(FREE_CFLAGS)) -std=gnu99 -w \
	-I$(CAPSTONE_SRC)/include -I$(CAPSTONE_SRC) -DCAPSTONE_HAS_X86 -DCAPSTONE_X86_ATT_DISABLE \
	-fstack-usage
HV_CAPSTONE_OBJS := $(B)/free/capstone-x86.o $(B)/free/hv/ept/insn_decode.o
# What the objects may leave undefined: provided by base/libc_shim.c and base/lib.c.
CAPSTONE_ALLOWED_UNDEF := memcpy memmove memset lib_memcpy lib_memset lib_strlen lib_strcmp \
	lib_strlcpy fmt_vsnprintf hw_pause

.PHONY: capstone
capstone: $(HV_CAPSTONE_OBJS)
	@ld -r $(HV_CAPSTONE_OBJS) -o $(CAPSTONE_DIR)/check.o
	@undef=$$(nm -u $(CAPSTONE_DIR)/check.o | awk '{print $$2}' | grep -vxF -e _GLOBAL_OFFSET_TABLE_ \
	  $(foreach s,$(CAPSTONE_ALLOWED_UNDEF),-e $(s)) || true); \
	  if [ -n "$$undef" ]; then echo "capstone: unexpected undefined symbols: $$undef"; exit 1; fi
	@n=$$(objdump -d $(CAPSTONE_DIR)/check.o | grep -cE 'xmm|ymm|zmm|%fs:' || true); \
	  if [ "$$n" != 0 ]; then echo "capstone: $$n SSE/AVX or %fs instructions"; exit 1; fi
	@deep=$$(cat $(CAPSTONE_DIR)/obj/*.su $(CAPSTONE_DIR)/obj/arch/X86/*.su | sort -t$$'\t' -k2 -n \
	  | tail -1); echo "capstone: deepest frame: $$deep"
	@echo "capstone: $(HV_CAPSTONE_OBJS) ok ($$(size $(CAPSTONE_DIR)/check.o | awk 'NR==2 {print $$4}') bytes)"

$(CAPSTONE_DIR)/fetched:
	@mkdir -p $(CAPSTONE_APT_DIR)/etc $(CAPSTONE_APT_DIR)/lists/partial \
	  $(CAPSTONE_APT_DIR)/cache/archives/partial
	printf '%s\n' 'Types: deb-src' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm' \
	  'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
	  > $(CAPSTONE_APT_DIR)/etc/capstone-src.sources
	cd $(CAPSTONE_DIR) && apt-get $(CAPSTONE_APT) -qq update && \
	  apt-get $(CAPSTONE_APT) -qq source --download-only capstone=$(CAPSTONE_DEB_VERSION)
	rm -rf $(CAPSTONE_SRC)
	cd $(CAPSTONE_DIR) && dpkg-source -x capstone_$(CAPSTONE_DEB_VERSION).dsc src >/dev/null
	touch $@

$(addprefix $(CAPSTONE_SRC)/,$(CAPSTONE_C) MCInst.c): $(CAPSTONE_DIR)/fetched
	@test -f $@

$(CAPSTONE_DIR)/obj/%.o: $(CAPSTONE_SRC)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CAPSTONE_CFLAGS) -c $< -o $@

# MCInst.c's two floating-point accessors (unused by x86) cannot compile without SSE: they are
# left out of a build-time copy.
$(CAPSTONE_DIR)/obj/MCInst.o: $(CAPSTONE_SRC)/MCInst.c
	@mkdir -p $(dir $@)
	sed -e 's/^double MCOperand_getFPImm/#if 0\n&/' -e '/^void MCOperand_setFPImm/,/^}/ s/^}/}\n#endif/' \
	  $< > $(CAPSTONE_DIR)/obj/MCInst_nofp.c
	$(CC) $(CAPSTONE_CFLAGS) -I$(CAPSTONE_SRC) -c $(CAPSTONE_DIR)/obj/MCInst_nofp.c -o $@

$(B)/free/capstone-x86.o: $(CAPSTONE_OBJS)
	ld -r $^ -o $@

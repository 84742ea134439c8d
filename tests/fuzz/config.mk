# libFuzzer targets of the loader's untrusted inputs: the config file on the ESP (efi/config.c) and
# the sealed record read back from NVRAM (efi/config_seal.c).
SEAL_FUZZ_SRCS := efi/config_seal.c base/sha256.c efi/config.c base/lib.c base/fmt.c
$(eval $(call fuzz_target,fuzz_config,$(SEAL_FUZZ_SRCS)))
$(eval $(call fuzz_target,fuzz_seal,$(SEAL_FUZZ_SRCS)))

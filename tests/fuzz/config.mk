# libFuzzer targets of the loader's untrusted inputs: the config file on the ESP (hv/config.c) and
# the sealed record read back from NVRAM (hv/config_seal.c).
SEAL_FUZZ_SRCS := hv/config_seal.c hv/sha256.c hv/config.c hv/lib.c hv/fmt.c
$(eval $(call fuzz_target,fuzz_config,$(SEAL_FUZZ_SRCS)))
$(eval $(call fuzz_target,fuzz_seal,$(SEAL_FUZZ_SRCS)))

# Unit tests of the sealed config (hv/config_seal.c, its events) and its hash (hv/sha256.c).
SEAL_LIB := hv/config_seal.c hv/config_seal_report.c hv/sha256.c hv/config.c hv/lib.c hv/fmt.c \
	hv/report.c
$(eval $(call unit_test,test_sha256,hv/sha256.c hv/lib.c))
$(eval $(call unit_test,test_config_seal,$(SEAL_LIB)))

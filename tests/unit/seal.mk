# Unit tests of the sealed config (efi/config_seal.c, its events) and its hash (base/sha256.c).
SEAL_LIB := efi/config_seal.c efi/config_seal_report.c base/sha256.c efi/config.c base/lib.c base/fmt.c \
	base/report.c
$(eval $(call unit_test,test_sha256,base/sha256.c base/lib.c))
$(eval $(call unit_test,test_config_seal,$(SEAL_LIB)))

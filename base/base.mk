# base/: the runtime every layer uses, depending on nothing (docs/architecture.md): the library
# and formatter, the report writer and its output ring, the serial port, SHA-256, the spinlock and
# the hardware seam (base/hw.h, base/hw_safe.h).
#
# Portable sources: built freestanding for the loader and the hypervisor image, and for the host
# as libbase.a.
BASE_SRCS := base/lib.c base/fmt.c base/report.c base/report_ring.c base/serial.c base/sha256.c
# Freestanding only: the seam's real instructions (host builds link tests/fakes/ instead) and the
# libc symbols that the compiler and capstone call inside the hypervisor image.
BASE_FREE_SRCS := base/hw_x86.c base/hw_safe_x86.S base/libc_shim.c

$(eval $(call host_lib,base,$(BASE_SRCS)))

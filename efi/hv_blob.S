/* The hypervisor image (build/hv.bin, hv/core/hv_image.h), embedded in vigil.efi. */
    .section .rodata
    .balign 4096
    .globl hv_blob_start, hv_blob_end
hv_blob_start:
    .incbin HV_BIN
hv_blob_end:
    .section .note.GNU-stack, "", @progbits

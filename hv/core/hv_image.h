/* The contract between the UEFI loader (efi/hv_load.c) and the hypervisor image (hv/).
 *
 * The hypervisor is linked separately (hv/hv.lds) as a position-independent image starting with
 * struct hv_image_header; the loader copies it into EfiReservedMemoryType pages (never reclaimed
 * by the OS), applies its R_X86_64_RELATIVE relocations once, and calls the entry points below
 * with the System V ABI, from firmware context (identity-mapped, boot services still running).
 * After bring-up nothing in the image ever calls UEFI (docs/hv-memory.md). */
#ifndef VIGIL_HV_IMAGE_H
#define VIGIL_HV_IMAGE_H

#include <stdint.h>

#define HV_IMAGE_MAGIC 0x3156485f4c494756ull /* "VGIL_HV1" little-endian */
#define HV_BOOT_VERSION 2
/* The most processors vigil takes on. Per-CPU state is sized from the firmware's count and taken
 * from the hypervisor heap (about 80 KiB a CPU); past this cap the loader does not start the
 * hypervisor at all (event hv_load, stage "cpus"), since a CPU it could not take would run bare. */
#define HV_MAX_CPUS 1024

/* Values of hv_boot_params.on_no_vmx: what happens when a processor can neither be virtualized nor
 * held (README: on_no_vmx). */
enum config_on_no_vmx { ON_NO_VMX_BOOT = 0, ON_NO_VMX_HALT = 1 };
/* Values of hv_boot_params.apic_handover: the boot CPU's APIC mode when the OS takes over
 * (hv/core/apic_mode.h, README): back to the xAPIC mode the firmware had, or left in the x2APIC
 * mode vigil switched it to for bring-up. */
enum config_apic_handover { APIC_HANDOVER_XAPIC = 0, APIC_HANDOVER_X2APIC = 1 };

/* Offsets are from the start of the image (it is linked at 0). */
struct hv_image_header {
    uint64_t magic;
    uint64_t file_size;  /* bytes to copy */
    uint64_t mem_size;   /* bytes in memory, including .bss (zeroed by the loader) */
    uint64_t rela_start; /* Elf64_Rela table (R_X86_64_RELATIVE only) */
    uint64_t rela_end;
    uint64_t entry_init; /* int hv_init(struct hv_boot_params *) — BSP, once */
    uint64_t entry_cpu;  /* int hv_cpu_start(uint32_t index) — on each CPU */
    uint64_t entry_done; /* int hv_bringup_done(void) — BSP, after every CPU; returns CPUs up */
    /* int hv_report_forward(const char *data, uint64_t len): once its CPU is a guest, the
     * loader can no longer touch the report UART (the guest sees none there); it writes its
     * remaining report lines through this entry, which hands them to the hypervisor. */
    uint64_t entry_report;
};

struct hv_boot_params {
    uint32_t version;
    uint32_t ncpus;     /* processors reported by EFI_MP_SERVICES_PROTOCOL */
    uint32_t bsp_index; /* processor number of the BSP */
    uint32_t reserved0;
    uint64_t image_base; /* where the image lives (EfiReservedMemoryType) */
    uint64_t image_pages;
    uint64_t heap_base; /* EfiReservedMemoryType pages for the hypervisor's own allocations */
    uint64_t heap_size;
    uint64_t tsc_hz; /* measured by the loader against the firmware's Stall() */
    /* Config (efi/config.h). */
    uint16_t serial_port;
    uint16_t reserved1;
    uint32_t baud;
    uint32_t report_mode; /* enum report_mode */
    uint32_t heartbeat_s; /* 0 = off */
    uint32_t stealth;     /* 1 = hide the hypervisor CPUID leaves */
    uint32_t rescan_s;    /* process re-scan interval, 0 = off */
    uint32_t live;        /* 1 = live process events (hv/intro/hv_live.h) */
    uint32_t on_no_vmx;   /* enum config_on_no_vmx: a CPU that cannot be kept from the OS */
    /* enum config_apic_handover: the boot CPU's APIC mode for the OS (hv/apic_mode.h) */
    uint32_t apic_handover;
    uint32_t reserved3;
    uint64_t profile_base; /* ISF profile (JSON) in EfiReservedMemoryType pages, or 0 */
    uint64_t profile_len;
    char version_str[48];
    /* Initial APIC ID of each processor (EFI_MP_SERVICES GetProcessorInfo), ncpus entries in
     * loader memory that hv_init copies; 0 when unknown (then CPUID at hv_cpu_start). */
    uint64_t apic_ids;
    /* HV_PARK_PAGES pages below 1 MiB (EfiReservedMemoryType) for the real-mode entry of a CPU
     * vigil parks at the hand-over (hv/core/cpu_park.h); 0 when none could be had. */
    uint64_t park_pages;
    /* Test-only fault injection (README "Configuration", test_* keys): virtualize only the
     * processors numbered below test_virtualize_cpus (0 = all); put the boot CPU into
     * wait-for-SIPI test_stall_boot_cpu_s seconds after the OS starts (0 = never). */
    uint32_t test_virtualize_cpus;
    uint32_t test_stall_boot_cpu_s;
};

#define HV_PARK_PAGES 4

#endif

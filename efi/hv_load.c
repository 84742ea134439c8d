#include "efi/hv_load.h"

#include "base/lib.h"
#include "efi/efi_mp.h"
#include "efi/efi_profile.h"
#include "efi/efi_status.h"
#include "hv/core/hv_image.h"

#include <efilib.h>

extern const uint8_t hv_blob_start[], hv_blob_end[];

typedef int (*hv_init_fn)(struct hv_boot_params *);
typedef int (*hv_cpu_fn)(uint32_t);
typedef int (*hv_done_fn)(void);
typedef int (*hv_report_fn)(const char *, uint64_t);
static hv_report_fn hv_report_entry;

/* Report sink once the hypervisor runs: hand the bytes to it (hv/core/hv_image.h entry_report). */
static void forward_sink(void *ctx, const char *data, size_t len) {
    (void)ctx;
    hv_report_entry(data, len);
}

#define R_X86_64_RELATIVE 8
struct elf64_rela {
    uint64_t offset, info;
    int64_t addend;
};

static EFI_MP_SERVICES_PROTOCOL *mp;
static hv_cpu_fn hv_cpu_entry;
static struct hv_boot_params params;

static void fail(struct report *rep, const char *stage, const char *msg, EFI_STATUS st) {
    report_begin(rep, "hv_load");
    report_str(rep, "status", "failed");
    report_str(rep, "stage", stage);
    report_str(rep, "msg", msg);
    if (st)
        report_str(rep, "efi_status", efi_status_name(st));
    report_end(rep);
}

/* Checks the embedded image before trusting any offset in it. */
static const char *check_header(const struct hv_image_header *h, uint64_t blob_size) {
    if (blob_size < sizeof(*h) || h->magic != HV_IMAGE_MAGIC)
        return "embedded image has no vigil hypervisor header";
    if (h->file_size != blob_size || h->mem_size < h->file_size || h->mem_size > (256u << 20))
        return "embedded image sizes are inconsistent";
    if (h->rela_start > h->rela_end || h->rela_end > h->file_size ||
        (h->rela_end - h->rela_start) % sizeof(struct elf64_rela))
        return "embedded image relocation table is out of bounds";
    if (h->entry_init >= h->file_size || h->entry_cpu >= h->file_size ||
        h->entry_done >= h->file_size || h->entry_report >= h->file_size)
        return "embedded image entry points are out of bounds";
    return NULL;
}

static EFIAPI VOID ap_procedure(VOID *arg) {
    (void)arg;
    UINTN n = 0;
    if (EFI_ERROR(uefi_call_wrapper(mp->WhoAmI, 2, mp, &n)))
        return;
    /* A CPU that cannot be virtualized reports cpu_fail itself. */
    hv_cpu_entry((uint32_t)n);
}

static uint64_t measure_tsc_hz(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    uint64_t t0 = ((uint64_t)hi << 32) | lo;
    uefi_call_wrapper(BS->Stall, 1, 20000);
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    uint64_t t1 = ((uint64_t)hi << 32) | lo;
    return (t1 - t0) * 50;
}

/* The ISF profile read by the loader (efi_profile.h), copied into reserved pages the hypervisor
 * keeps (and hides from the guest). Any problem, or a profile refused by the seal, is reported and
 * leaves auto mode. */
static void load_profile(const char *path, const struct efi_profile *prof, struct report *rep,
                         uint64_t *base, uint64_t *len) {
    const char *status = "loaded";
    const char *msg = "introspection will use auto mode (kallsyms + BTF)";
    EFI_PHYSICAL_ADDRESS pages = 0;
    if (prof->refused) {
        status = "refused";
        msg = "changed since the sealed boot and on_config_change = previous was sealed; "
              "introspection will use auto mode (kallsyms + BTF)";
    } else if (EFI_ERROR(prof->status)) {
        status = efi_status_name(prof->status);
    } else if (prof->len == 0) {
        status = "empty";
    } else if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages,
                                           EfiReservedMemoryType, (prof->len + 4095) / 4096,
                                           &pages))) {
        status = "EFI_OUT_OF_RESOURCES";
    } else {
        lib_memcpy((void *)(uintptr_t)pages, prof->data, prof->len);
        *base = pages;
        *len = prof->len;
    }
    report_begin(rep, "profile");
    report_str(rep, "path", path);
    report_str(rep, "status", status);
    report_u64(rep, "bytes", *len);
    if (!*len)
        report_str(rep, "msg", msg);
    report_end(rep);
}

/* EFI_PROCESSOR_INFORMATION (PI spec vol. 2, 13.4): ProcessorId is the APIC ID. The buffer is
 * larger than the structure in case a firmware writes the extended topology too. */
struct efi_processor_info {
    uint64_t processor_id;
    uint32_t status_flag;
    uint32_t location[3];
    uint8_t extended[64];
};

/* The APIC ID of every processor, for the hypervisor (hv_boot_params.apic_ids): it must know the
 * ones it could not virtualize, to park them at the hand-over (hv/core/cpu_park.h). NULL when the
 * firmware does not say. */
static uint32_t *processor_apic_ids(UINTN ncpus) {
    uint32_t *ids = NULL;
    if (!mp || EFI_ERROR(uefi_call_wrapper(BS->AllocatePool, 3, EfiLoaderData, ncpus * sizeof(*ids),
                                           (void **)&ids)))
        return NULL;
    for (UINTN i = 0; i < ncpus; i++) {
        struct efi_processor_info info;
        lib_memset(&info, 0, sizeof(info));
        if (EFI_ERROR(uefi_call_wrapper(mp->GetProcessorInfo, 3, mp, i, &info)) ||
            info.processor_id > 0xFFFFFFFFull) {
            uefi_call_wrapper(BS->FreePool, 1, ids);
            return NULL;
        }
        ids[i] = (uint32_t)info.processor_id;
    }
    return ids;
}

/* A processor vigil cannot take would run the OS bare: with on_no_vmx = halt the machine stops,
 * as it does without VT-x (efi/main.c); otherwise it boots without a hypervisor. */
static void stand_down(const struct vigil_config *cfg, struct report *rep, const char *why) {
    if (cfg->on_no_vmx != ON_NO_VMX_HALT)
        return;
    report_begin(rep, "halt");
    report_str(rep, "reason", why);
    report_end(rep);
    report_flush(rep);
    for (;;)
        __asm__ volatile("cli; hlt");
}

UINTN hv_load_and_start(const struct vigil_config *cfg, const struct efi_profile *profile,
                        struct report *rep, const char *version) {
    const struct hv_image_header *h = (const struct hv_image_header *)hv_blob_start;
    uint64_t blob_size = (uint64_t)(hv_blob_end - hv_blob_start);
    const char *bad = check_header(h, blob_size);
    if (bad) {
        fail(rep, "image", bad, 0);
        return 0;
    }

    EFI_GUID mp_guid = EFI_MP_SERVICES_PROTOCOL_GUID;
    UINTN ncpus = 1, enabled = 1, bsp = 0;
    if (EFI_ERROR(uefi_call_wrapper(BS->LocateProtocol, 3, &mp_guid, NULL, (void **)&mp)))
        mp = NULL;
    if (mp) {
        if (EFI_ERROR(uefi_call_wrapper(mp->GetNumberOfProcessors, 3, mp, &ncpus, &enabled)))
            ncpus = 1;
        uefi_call_wrapper(mp->WhoAmI, 2, mp, &bsp);
    }
    if (ncpus > HV_MAX_CPUS) {
        /* Not a partial start: the processors past the cap would run the OS bare. */
        fail(rep, "cpus", "more processors than vigil takes (HV_MAX_CPUS = 1024)", 0);
        stand_down(cfg, rep, "more processors than vigil takes and on_no_vmx = halt");
        return 0;
    }

    /* EfiReservedMemoryType: the OS never reclaims or maps it as RAM (docs/hv-memory.md). */
    EFI_PHYSICAL_ADDRESS image = 0, heap = 0;
    UINTN image_pages = (UINTN)(h->mem_size + 4095) / 4096;
    UINTN heap_pages = (24u << 20) / 4096 + ncpus * 32;
    EFI_STATUS st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiReservedMemoryType,
                                      image_pages, &image);
    if (EFI_ERROR(st)) {
        fail(rep, "memory", "cannot allocate reserved pages for the image", st);
        return 0;
    }
    st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiReservedMemoryType,
                           heap_pages, &heap);
    if (EFI_ERROR(st)) {
        uefi_call_wrapper(BS->FreePages, 2, image, image_pages);
        fail(rep, "memory", "cannot allocate reserved pages for the hypervisor heap", st);
        return 0;
    }
    uint8_t *base = (uint8_t *)(uintptr_t)image;
    lib_memcpy(base, hv_blob_start, h->file_size);
    lib_memset(base + h->file_size, 0, image_pages * 4096 - h->file_size);
    const struct elf64_rela *r = (const struct elf64_rela *)(hv_blob_start + h->rela_start);
    const struct elf64_rela *end = (const struct elf64_rela *)(hv_blob_start + h->rela_end);
    for (; r < end; r++) {
        if ((r->info & 0xFFFFFFFF) != R_X86_64_RELATIVE || r->offset > h->mem_size - 8) {
            fail(rep, "image", "unexpected relocation in the hypervisor image", 0);
            return 0;
        }
        uint64_t v = image + (uint64_t)r->addend;
        lib_memcpy(base + r->offset, &v, 8);
    }

    params.version = HV_BOOT_VERSION;
    params.ncpus = (uint32_t)ncpus;
    params.bsp_index = (uint32_t)bsp;
    params.image_base = image;
    params.image_pages = image_pages;
    params.heap_base = heap;
    params.heap_size = heap_pages * 4096;
    params.tsc_hz = measure_tsc_hz();
    params.serial_port = cfg->serial_port;
    params.baud = cfg->baud;
    params.report_mode = cfg->report;
    params.heartbeat_s = cfg->heartbeat_s;
    params.stealth = cfg->stealth;
    params.rescan_s = cfg->rescan_s;
    params.live = cfg->live;
    params.on_no_vmx = cfg->on_no_vmx;
    params.test_virtualize_cpus = cfg->test_virtualize_cpus;
    params.test_stall_boot_cpu_s = cfg->test_stall_boot_cpu_s;
    params.apic_ids = (uint64_t)(uintptr_t)processor_apic_ids(ncpus);
    if (ncpus > 1) {
        /* The real-mode entry of a processor parked at the hand-over: a SIPI vector is a page
         * number below 1 MiB. Without it such a processor cannot be parked (hv/core/cpu_park.h).
         * Below 512 KiB: the OS scans the top of base memory (the EBDA, the last KiB before
         * 640 KiB) for MP tables, and these pages are hidden once a CPU is parked there. */
        EFI_PHYSICAL_ADDRESS low = 0x7FFFF;
        if (!EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateMaxAddress,
                                         EfiReservedMemoryType, HV_PARK_PAGES, &low)))
            params.park_pages = low;
    }
    params.apic_handover = cfg->apic_handover;
    if (cfg->profile[0])
        load_profile(cfg->profile, profile, rep, &params.profile_base, &params.profile_len);
    lib_strlcpy(params.version_str, version, sizeof(params.version_str));

    report_begin(rep, "hv_load");
    report_str(rep, "status", "loaded");
    report_hex(rep, "image_base", image);
    report_u64(rep, "image_bytes", image_pages * 4096);
    report_hex(rep, "heap_base", heap);
    report_u64(rep, "heap_bytes", heap_pages * 4096);
    report_u64(rep, "cpus", ncpus);
    report_u64(rep, "tsc_hz", params.tsc_hz);
    report_bool(rep, "mp_services", mp != NULL);
    report_end(rep);

    hv_init_fn init = (hv_init_fn)(uintptr_t)(image + h->entry_init);
    hv_cpu_entry = (hv_cpu_fn)(uintptr_t)(image + h->entry_cpu);
    hv_done_fn done = (hv_done_fn)(uintptr_t)(image + h->entry_done);
    int err = init(&params);
    if (params.apic_ids)
        uefi_call_wrapper(BS->FreePool, 1, (void *)(uintptr_t)params.apic_ids);
    params.apic_ids = 0;
    if (err) {
        fail(rep, "init", "hypervisor initialisation failed (see its report)", 0);
        return 0;
    }
    if (mp && ncpus > 1) {
        st = uefi_call_wrapper(mp->StartupAllAPs, 7, mp, ap_procedure, FALSE, NULL, 0, NULL, NULL);
        if (EFI_ERROR(st) && st != EFI_NOT_STARTED)
            fail(rep, "mp", "StartupAllAPs failed; application processors stay unvirtualized", st);
    }
    hv_report_entry = (hv_report_fn)(uintptr_t)(image + h->entry_report);
    hv_cpu_entry((uint32_t)bsp);
    UINTN up = (UINTN)done();
    /* From now on the loader reports through the hypervisor. */
    report_flush(rep);
    rep->sink = forward_sink;
    rep->sink_ctx = NULL;
    return up;
}

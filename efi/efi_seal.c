#include "efi/efi_seal.h"

#include "base/fmt.h"
#include "base/lib.h"
#include "efi/efi_status.h"

#include <efilib.h>

/* vigil's vendor GUID for its variables (a random version-4 GUID). */
static EFI_GUID vigil_guid = {
    0x715d5a13, 0x3506, 0x48f9, {0x96, 0x99, 0xe7, 0x58, 0x55, 0xb0, 0x0e, 0x00}};
#define SEAL_VAR L"VigilConfigSeal"

/* NON_VOLATILE | BOOTSERVICE_ACCESS and deliberately no RUNTIME_ACCESS: per UEFI 2.10 section 8.2
 * (Variable Services: GetVariable, GetNextVariableName, SetVariable), a variable without
 * EFI_VARIABLE_RUNTIME_ACCESS is neither visible nor writable once ExitBootServices() has been
 * called, so the operating system (which runs after the next stage exits boot services) can
 * neither read nor forge nor delete the seal through the firmware. This holds only as far as the
 * firmware enforces the attributes and the flash is write-protected against the OS (README). */
#define SEAL_ATTRS (EFI_VARIABLE_NON_VOLATILE | EFI_VARIABLE_BOOTSERVICE_ACCESS)

/* Deleting and re-reading a variable that carries other attributes: a few rounds at most. */
#define SEAL_READ_ROUNDS 4

static void keep_error(struct efi_seal *s, const char *stage, EFI_STATUS st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void keep_error(struct efi_seal *s, const char *stage, EFI_STATUS st, const char *fmt, ...) {
    if (s->n_errors >= EFI_SEAL_MAX_ERRORS)
        return;
    s->errors[s->n_errors].stage = stage;
    s->errors[s->n_errors].efi_status = st ? efi_status_name(st) : NULL;
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(s->errors[s->n_errors].msg, sizeof(s->errors[0].msg), fmt, ap);
    va_end(ap);
    s->n_errors++;
}

static EFI_STATUS delete_var(void) {
    return uefi_call_wrapper(RT->SetVariable, 5, SEAL_VAR, &vigil_guid, 0, 0, NULL);
}

/* Reads the record into buf; *len = 0 when there is none. A variable of this name with other
 * attributes than vigil's (RUNTIME_ACCESS: the OS may have written it) is reported, deleted and
 * the read repeated, so that it cannot shadow the real seal. Returns the read's status
 * (EFI_SUCCESS also when there is no record); a record too large for buf is EFI_SUCCESS with
 * *too_large. */
static EFI_STATUS read_record(struct efi_seal *s, char *buf, UINTN size, UINTN *len,
                              bool *too_large) {
    *len = 0;
    *too_large = false;
    for (unsigned round = 0; round < SEAL_READ_ROUNDS; round++) {
        UINT32 attrs = 0;
        UINTN n = size;
        EFI_STATUS st =
            uefi_call_wrapper(RT->GetVariable, 5, SEAL_VAR, &vigil_guid, &attrs, &n, buf);
        if (st == EFI_NOT_FOUND)
            return EFI_SUCCESS;
        if (st == EFI_BUFFER_TOO_SMALL) {
            *too_large = true;
            *len = n;
            return EFI_SUCCESS;
        }
        if (EFI_ERROR(st))
            return st;
        if (attrs == SEAL_ATTRS) {
            *len = n;
            return EFI_SUCCESS;
        }
        EFI_STATUS del = delete_var();
        keep_error(s, "untrusted", del,
                   "a variable VigilConfigSeal with attributes 0x%x (not NON_VOLATILE | "
                   "BOOTSERVICE_ACCESS only: the OS could have written it) was found and %s",
                   (unsigned)attrs, EFI_ERROR(del) ? "could not be deleted" : "deleted");
        if (EFI_ERROR(del))
            return del;
    }
    return EFI_ACCESS_DENIED;
}

static EFI_STATUS set_record(const char *rec, size_t n) {
    return uefi_call_wrapper(RT->SetVariable, 5, SEAL_VAR, &vigil_guid, SEAL_ATTRS, (UINTN)n,
                             (void *)rec);
}

/* The largest record the firmware takes: QueryVariableInfo's MaximumVariableSize (UEFI 2.10
 * section 8.2) less the name, which counts against it in EDK II (OVMF). SEAL_RECORD_MAX when the
 * firmware does not say. */
static size_t record_limit(void) {
    UINT64 storage = 0, remaining = 0, max = 0;
    if (ST->Hdr.Revision < (2u << 16)) /* QueryVariableInfo exists from UEFI 2.0 on */
        return SEAL_RECORD_MAX;
    EFI_STATUS st =
        uefi_call_wrapper(RT->QueryVariableInfo, 4, SEAL_ATTRS, &storage, &remaining, &max);
    if (EFI_ERROR(st) || max == 0)
        return SEAL_RECORD_MAX;
    UINT64 name = sizeof(SEAL_VAR);
    return max <= name ? 0 : (size_t)MIN(max - name, (UINT64)SIZE_MAX);
}

static void write_seal(struct efi_seal *s) {
    static char rec[SEAL_RECORD_MAX + 1];
    struct seal_write *w = &s->write;
    w->attempted = true;
    w->limit = record_limit();
    size_t n =
        seal_serialise(&s->now, rec, sizeof(rec), MIN(w->limit, SEAL_RECORD_MAX), &w->hash_only);
    if (n == 0) {
        w->status = "EFI_BAD_BUFFER_SIZE";
        keep_error(s, "write", 0, "not even the hash-only record (%zu bytes limit) fits", w->limit);
        return;
    }
    EFI_STATUS st = set_record(rec, n);
    if (EFI_ERROR(st) && !w->hash_only) {
        /* Some firmware limits a variable more tightly than QueryVariableInfo says. */
        static struct config_seal hashes;
        hashes = s->now;
        hashes.full = false;
        n = seal_serialise(&hashes, rec, sizeof(rec), MIN(w->limit, SEAL_RECORD_MAX),
                           &w->hash_only);
        if (n)
            st = set_record(rec, n);
    }
    w->record_bytes = n;
    w->status = EFI_ERROR(st) ? efi_status_name(st) : "sealed";
    if (EFI_ERROR(st))
        keep_error(s, "write", st, "SetVariable VigilConfigSeal (%zu bytes) failed", n);
}

static void profile_state(const char *path, const struct efi_profile *p, struct seal_profile *out) {
    lib_memset(out, 0, sizeof(*out));
    if (!path[0]) {
        lib_strlcpy(out->status, "none", sizeof(out->status));
    } else if (EFI_ERROR(p->status)) {
        lib_strlcpy(out->status, efi_status_name(p->status), sizeof(out->status));
    } else {
        lib_strlcpy(out->status, "read", sizeof(out->status));
        sha256(p->data, p->len, out->sha256);
        out->bytes = p->len;
    }
}

void efi_seal_check(EFI_HANDLE device, struct vigil_config *cfg, struct efi_profile *profile,
                    struct efi_seal *s) {
    static char rec[SEAL_RECORD_MAX + 1];
    lib_memset(s, 0, sizeof(*s));
    s->file = *cfg;
    s->previous = "none";
    UINTN len = 0;
    bool too_large = false;
    EFI_STATUS st = read_record(s, rec, sizeof(rec) - 1, &len, &too_large);
    if (EFI_ERROR(st)) {
        /* Without the sealed state nothing can be compared; writing over a record that could not
         * be read would lose it, so nothing is sealed either. */
        s->unavailable = true;
        keep_error(s, "read", st,
                   "GetVariable VigilConfigSeal failed: the config is not compared or sealed "
                   "this boot");
        efi_profile_read(device, cfg->profile, profile);
        return;
    }
    if (too_large) {
        /* Not vigil's (it never writes more): out of the way of this boot's seal. */
        delete_var();
        s->previous = "invalid";
        fmt_snprintf(s->why, sizeof(s->why), "record too large (%llu bytes, limit %d)",
                     (unsigned long long)len, SEAL_RECORD_MAX);
    } else if (len) {
        rec[len] = 0;
        s->have_old = seal_parse(&s->old, rec, len, s->why, sizeof(s->why));
        if (!s->have_old)
            s->previous = "invalid";
    }

    seal_plan_config(&s->plan, s->have_old ? &s->old : NULL, cfg);
    if (s->plan.use_sealed_config)
        *cfg = s->old.cfg;
    efi_profile_read(device, cfg->profile, profile);
    profile_state(cfg->profile, profile, &s->profile);
    seal_plan_profile(&s->plan, s->have_old ? &s->old : NULL, &s->profile);
    profile->refused = !s->plan.use_profile;
    seal_make(&s->now, cfg, &s->profile);
    if (s->plan.write)
        write_seal(s);
}

const char *efi_seal_state(const struct efi_seal *s) {
    return s->unavailable ? "unavailable" : seal_outcome_name(s->plan.outcome);
}

void efi_seal_report(struct report *rep, const struct efi_seal *s) {
    for (unsigned i = 0; i < s->n_errors; i++)
        seal_report_error(rep, s->errors[i].stage, s->errors[i].efi_status, s->errors[i].msg);
    if (s->unavailable)
        return;
    if (s->plan.outcome == SEAL_NEW)
        seal_report_sealed(rep, s->previous, s->previous[0] == 'i' ? s->why : NULL, &s->now,
                           &s->write);
    else if (s->plan.outcome == SEAL_CHANGED)
        seal_report_changed(rep, &s->plan, &s->old, &s->file, &s->profile, &s->write);
}

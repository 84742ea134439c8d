#include "efi/config_seal_report.h"

#include "base/fmt.h"
#include "base/lib.h"

const char *seal_outcome_name(enum seal_outcome o) {
    return o == SEAL_NEW ? "new" : o == SEAL_SAME ? "same" : "changed";
}

const char *seal_action_name(enum seal_action a) {
    return a == SEAL_ACCEPTED ? "accepted" : a == SEAL_PREVIOUS ? "previous" : "previous_unknown";
}

static void json_write(struct report *r, const struct seal_write *w) {
    if (!w->attempted) {
        report_str(r, "seal", "kept");
        return;
    }
    report_str(r, "seal", w->status);
    report_str(r, "record", w->hash_only ? "hash_only" : "full");
    report_u64(r, "record_bytes", w->record_bytes);
    report_u64(r, "record_limit", w->limit);
}

static void json_profile(struct report *r, const char *prefix, const struct seal_profile *p) {
    char key[32], hex[SHA256_HEX];
    lib_strlcpy(key, prefix, sizeof(key));
    size_t n = lib_strlen(key);
    lib_strlcpy(key + n, "status", sizeof(key) - n);
    report_str(r, key, p->status);
    if (!lib_streq(p->status, "read"))
        return;
    lib_strlcpy(key + n, "sha256", sizeof(key) - n);
    report_str(r, key, sha256_hex(p->sha256, hex));
    lib_strlcpy(key + n, "bytes", sizeof(key) - n);
    report_u64(r, key, p->bytes);
}

/* "sha256 <hex> (<n> bytes)" or the status, for text lines. */
static const char *text_profile(const struct seal_profile *p, char *buf, size_t size) {
    char hex[SHA256_HEX];
    if (lib_streq(p->status, "read"))
        fmt_snprintf(buf, size, "sha256 %s (%llu bytes)", sha256_hex(p->sha256, hex),
                     (unsigned long long)p->bytes);
    else if (lib_streq(p->status, "none"))
        lib_strlcpy(buf, "none configured", size);
    else
        fmt_snprintf(buf, size, "unreadable (%s)", p->status);
    return buf;
}

static const char *text_write(const struct seal_write *w, char *buf, size_t size) {
    if (!w->attempted)
        lib_strlcpy(buf, "the seal is kept as it was", size);
    else if (!lib_streq(w->status, "sealed"))
        fmt_snprintf(buf, size, "sealing failed (%s)", w->status);
    else if (w->hash_only)
        fmt_snprintf(buf, size,
                     "sealed as hashes only (the full record exceeds the firmware's %zu-byte "
                     "variable limit)",
                     w->limit);
    else
        fmt_snprintf(buf, size, "sealed (%zu bytes)", w->record_bytes);
    return buf;
}

void seal_report_sealed(struct report *r, const char *previous, const char *why,
                        const struct config_seal *now, const struct seal_write *w) {
    char hex[SHA256_HEX], pbuf[120], wbuf[160];
    const char *msg = lib_streq(previous, "none")
                          ? "no sealed config from a previous boot: nothing to compare"
                          : "the sealed record is not valid: nothing to compare";
    if (report_is_json(r)) {
        report_begin(r, "config_sealed");
        report_str(r, "previous", previous);
        report_str(r, "msg", msg);
        if (why)
            report_str(r, "why", why);
        report_str(r, "config_sha256", sha256_hex(now->config_sha256, hex));
        json_profile(r, "profile_", &now->profile);
        json_write(r, w);
        report_end(r);
        return;
    }
    report_textf(r, "config seal: %s%s%s; config sha256 %s, profile %s; %s", msg, why ? ": " : "",
                 why ? why : "", sha256_hex(now->config_sha256, hex),
                 text_profile(&now->profile, pbuf, sizeof(pbuf)),
                 text_write(w, wbuf, sizeof(wbuf)));
}

void seal_report_changed(struct report *r, const struct seal_plan *p, const struct config_seal *old,
                         const struct vigil_config *file, const struct seal_profile *profile,
                         const struct seal_write *w) {
    static char a[CONFIG_VALUE_MAX], b[CONFIG_VALUE_MAX];
    const char *in_effect = p->use_sealed_config ? "sealed" : "file";
    if (report_is_json(r)) {
        report_begin(r, "config_changed");
        report_str(r, "policy", p->policy == ON_CHANGE_PREVIOUS ? "previous" : "accept");
        report_str(r, "action", seal_action_name(p->action));
        report_bool(r, "config_changed", p->diff.config_changed);
        report_str(r, "config_in_effect", in_effect);
        report_bool(r, "keys_known", p->diff.keys_known);
        report_arr_begin(r, "changed");
        for (unsigned i = 0; i < p->diff.n_changed; i++) {
            unsigned k = p->diff.changed[i];
            report_obj_begin(r, NULL);
            report_str(r, "key", config_key_name(k));
            report_str(r, "old", config_format_value(&old->cfg, k, a, sizeof(a)));
            report_str(r, "new", config_format_value(file, k, b, sizeof(b)));
            report_obj_end(r);
        }
        report_arr_end(r);
        report_bool(r, "profile_changed", p->diff.profile_changed);
        if (p->diff.profile_changed) {
            json_profile(r, "profile_old_", &old->profile);
            json_profile(r, "profile_new_", profile);
        }
        report_bool(r, "profile_used", p->use_profile);
        json_write(r, w);
        report_end(r);
        return;
    }
    /* Text: one line per changed key (a value can be 1 KiB), then the verdict. */
    for (unsigned i = 0; i < p->diff.n_changed; i++) {
        unsigned k = p->diff.changed[i];
        report_textf(r, "config changed since the sealed boot: %s '%s' -> '%s'", config_key_name(k),
                     config_format_value(&old->cfg, k, a, sizeof(a)),
                     config_format_value(file, k, b, sizeof(b)));
    }
    if (p->diff.config_changed && !p->diff.keys_known)
        report_textf(r, "config changed since the sealed boot (only its hash was sealed: the keys "
                        "are not known)");
    if (p->diff.profile_changed) {
        char o[120], n[120];
        report_textf(r, "profile changed since the sealed boot: %s -> %s%s",
                     text_profile(&old->profile, o, sizeof(o)), text_profile(profile, n, sizeof(n)),
                     p->use_profile ? "" : "; not used: introspection will use auto mode");
    }
    char wbuf[160];
    const char *what = p->action == SEAL_ACCEPTED ? "change accepted (on_config_change = accept "
                                                    "was sealed): the new config is in effect"
                       : p->action == SEAL_PREVIOUS
                           ? "change refused (on_config_change = previous was sealed): the sealed "
                             "config is in effect"
                           : "change refused (on_config_change = previous was sealed), but only "
                             "hashes were sealed: the new config is in effect";
    report_textf(r, "%s; %s", what, text_write(w, wbuf, sizeof(wbuf)));
}

void seal_report_error(struct report *r, const char *stage, const char *efi_status,
                       const char *msg) {
    if (report_is_json(r)) {
        report_begin(r, "config_seal_error");
        report_str(r, "stage", stage);
        if (efi_status)
            report_str(r, "efi_status", efi_status);
        report_str(r, "msg", msg);
        report_end(r);
    } else {
        report_textf(r, "config seal (%s): %s%s%s", stage, msg, efi_status ? ": " : "",
                     efi_status ? efi_status : "");
    }
}

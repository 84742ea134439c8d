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

void seal_report_sealed(struct report *r, const char *previous, const char *why,
                        const struct config_seal *now, const struct seal_write *w) {
    char hex[SHA256_HEX];
    const char *msg = lib_streq(previous, "none")
                          ? "no sealed config from a previous boot: nothing to compare"
                          : "the sealed record is not valid: nothing to compare";
    report_begin(r, "config_sealed");
    report_str(r, "previous", previous);
    report_str(r, "msg", msg);
    if (why)
        report_str(r, "why", why);
    report_str(r, "config_sha256", sha256_hex(now->config_sha256, hex));
    json_profile(r, "profile_", &now->profile);
    json_write(r, w);
    report_end(r);
}

void seal_report_changed(struct report *r, const struct seal_plan *p, const struct config_seal *old,
                         const struct vigil_config *file, const struct seal_profile *profile,
                         const struct seal_write *w) {
    static char a[CONFIG_VALUE_MAX], b[CONFIG_VALUE_MAX];
    const char *in_effect = p->use_sealed_config ? "sealed" : "file";
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
}

void seal_report_error(struct report *r, const char *stage, const char *efi_status,
                       const char *msg) {
    report_begin(r, "config_seal_error");
    report_str(r, "stage", stage);
    if (efi_status)
        report_str(r, "efi_status", efi_status);
    report_str(r, "msg", msg);
    report_end(r);
}

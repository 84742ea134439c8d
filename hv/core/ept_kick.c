#include "hv/core/ept_kick.h"

#include "base/hw.h"
#include "hv/core/apic_nmi.h"
#include "hv/core/hv_report.h"
#include "hv/core/hv_state.h"

void hv_ept_kick(void *ctx) {
    (void)ctx;
    uint64_t gen = __atomic_load_n(&hv.perm.gen, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < hv.ncpus; i++) {
        struct hv_cpu *t = hv.cpus[i];
        /* The caller synced itself before kicking, so it is skipped here with every CPU that
         * is already current. */
        if (!t || !t->up || !__atomic_load_n(&t->ept.running, __ATOMIC_ACQUIRE) ||
            __atomic_load_n(&t->ept.seen_gen, __ATOMIC_ACQUIRE) >= gen)
            continue;
        if (__atomic_exchange_n(&t->ept_kick, 1, __ATOMIC_SEQ_CST))
            continue; /* a kick is on its way: it will see the newest generation */
        enum apic_nmi_result r = apic_send_nmi(t->vcpu.apic_id);
        if (r == APIC_NMI_SENT || r == APIC_NMI_UNCONFIRMED) {
            __atomic_add_fetch(&hv.ept_kicks_sent, 1, __ATOMIC_RELAXED);
        } else {
            __atomic_store_n(&t->ept_kick, 0, __ATOMIC_SEQ_CST);
            __atomic_add_fetch(&hv.ept_kicks_failed, 1, __ATOMIC_RELAXED);
            hv.ept_kick_error = apic_nmi_result_name(r);
        }
    }
}

bool hv_ept_kick_take(struct hv_cpu *c) {
    if (!__atomic_exchange_n(&c->ept_kick, 0, __ATOMIC_SEQ_CST))
        return false;
    __atomic_add_fetch(&c->ept_kicks_taken, 1, __ATOMIC_RELAXED);
    return true;
}

bool hv_ept_kick_selftest(struct hv_cpu *c, uint64_t *us) {
    uint64_t hz = hv_tsc_hz(), t0 = hw_rdtsc(), deadline = t0 + hz / 10; /* 100 ms */
    int err = ept_perm_invalidate_all(&hv.perm, &c->ept);
    while (err == EPT_OK && (err = ept_perm_wait_all(&hv.perm, &c->ept, 1000)) == EPT_ERR_TIMEOUT &&
           hw_rdtsc() < deadline)
        ;
    *us = (hw_rdtsc() - t0) / (hz / 1000000 ? hz / 1000000 : 1);
    return err == EPT_OK;
}

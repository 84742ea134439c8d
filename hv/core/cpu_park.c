#include "hv/core/cpu_park.h"

#include "base/hw.h"
#include "base/lib.h"
#include "hv/core/apic_ipi.h"
#include "hv/core/apic_nmi.h"
#include "hv/core/hv_image.h"

_Static_assert(sizeof(struct cpu_park_data) == 0x58, "layout shared with hv/core/cpu_park_entry.S");
_Static_assert(CPU_PARK_DATA_OFF + sizeof(struct cpu_park_data) <= 0xFE0,
               "the entry code's stack (top 0xFF0) must not reach the data block");

/* INIT-SIPI-SIPI as the MP initialisation protocol has it (SDM vol. 3A 9.4.4.1): INIT, 10 ms,
 * SIPI, 200 us, SIPI. The CPU then has ANSWER_MS to reach VMX root; the INIT check waits
 * CHECK_MS for a CPU that should not come back. */
#define INIT_WAIT_US 10000
#define SIPI_WAIT_US 200
#define ANSWER_MS 200
#define CHECK_MS 20
#define ICR_INIT_ASSERT (((uint32_t)ICR_DM_INIT << 8) | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL)

const char *cpu_park_result_name(enum cpu_park_result r) {
    switch (r) {
    case CPU_PARK_HELD:
        return "held";
    case CPU_PARK_NO_PAGE:
        return "no page below 1 MiB for the entry code";
    case CPU_PARK_NO_APIC_ID:
        return "APIC ID unknown";
    case CPU_PARK_SEND_FAILED:
        return "INIT/SIPI could not be sent";
    case CPU_PARK_NO_ANSWER:
        return "no answer to INIT-SIPI";
    case CPU_PARK_VMXON_FAILED:
        return "VMXON failed on it: INIT not blocked";
    case CPU_PARK_INIT_NOT_BLOCKED:
        return "a second INIT-SIPI restarted it";
    }
    return "?";
}

bool cpu_park_held(const struct hv_cpu *c) {
    return c->up || c->parked ||
           __atomic_load_n(&c->park_state, __ATOMIC_ACQUIRE) == CPU_PARK_VMX_ROOT;
}

static void wait_us(const struct cpu_park_env *env, uint64_t us) {
    uint64_t t0 = hw_rdtsc(), ticks = env->tsc_hz / 1000000 * us;
    while (hw_rdtsc() - t0 < ticks)
        hw_pause();
}

/* Waits up to ms for cond; returns the microseconds it took, or UINT64_MAX. */
static uint64_t wait_for(const struct cpu_park_env *env, uint64_t ms, bool (*cond)(const void *),
                         const void *arg) {
    uint64_t per_us = env->tsc_hz / 1000000 ? env->tsc_hz / 1000000 : 1;
    uint64_t t0 = hw_rdtsc(), limit = per_us * 1000 * ms;
    for (;;) {
        uint64_t dt = hw_rdtsc() - t0;
        if (cond(arg))
            return dt / per_us;
        if (dt >= limit)
            return UINT64_MAX;
        hw_pause();
    }
}

static bool answered(const void *arg) {
    const struct hv_cpu *t = arg;
    return __atomic_load_n(&t->park_state, __ATOMIC_ACQUIRE) != CPU_PARK_NONE;
}

struct entries_moved {
    const struct cpu_park_data *d;
    uint32_t before;
};
static bool entries_moved(const void *arg) {
    const struct entries_moved *m = arg;
    return __atomic_load_n(&m->d->entries, __ATOMIC_ACQUIRE) != m->before;
}

static bool sent(enum apic_nmi_result r, struct cpu_park_outcome *out) {
    if (r == APIC_NMI_SENT || r == APIC_NMI_UNCONFIRMED)
        return true;
    out->result = CPU_PARK_SEND_FAILED;
    out->send_error = apic_nmi_result_name(r);
    return false;
}

static bool init_sipi(const struct cpu_park_env *env, uint32_t apic_id,
                      struct cpu_park_outcome *out) {
    uint32_t vector = (uint32_t)((uint64_t)(uintptr_t)env->pages >> 12) & 0xFF;
    if (!sent(apic_send_ipi(apic_id, ICR_INIT_ASSERT), out))
        return false;
    wait_us(env, INIT_WAIT_US);
    for (unsigned i = 0; i < 2; i++) {
        if (!sent(apic_send_ipi(apic_id, ((uint32_t)ICR_DM_SIPI << 8) | vector), out))
            return false;
        wait_us(env, SIPI_WAIT_US);
    }
    return true;
}

/* The entry code page, its data block and the interim page tables (identity map of the first
 * 2 MiB: the code runs from there while it turns paging on; then vigil's own tables). */
static struct cpu_park_data *prepare(const struct cpu_park_env *env, struct hv_cpu *t) {
    uint8_t *p = env->pages;
    uint64_t base = (uint64_t)(uintptr_t)p;
    lib_memset(p, 0, HV_PARK_PAGES * 4096);
    lib_memcpy(p, env->code, env->code_len);
    uint64_t *pml4 = (uint64_t *)(p + 4096), *pdpt = (uint64_t *)(p + 8192),
             *pd = (uint64_t *)(p + 12288);
    pml4[0] = (base + 8192) | 3; /* present, writable */
    pdpt[0] = (base + 12288) | 3;
    pd[0] = 0x83; /* 2 MiB page at 0: present, writable, large */
    struct cpu_park_data *d = (struct cpu_park_data *)(p + CPU_PARK_DATA_OFF);
    d->cr3_low = (uint32_t)(base + 4096);
    d->cr3 = env->host_cr3;
    d->stack = t->stack_top;
    d->entry = env->entry;
    d->arg = (uint64_t)(uintptr_t)t;
    d->gdt[1] = 0x00AF9A000000FFFFull; /* 64-bit code (L = 1) */
    d->gdt[2] = 0x00CF9A000000FFFFull; /* 32-bit code, flat */
    d->gdt[3] = 0x00CF92000000FFFFull; /* data, flat */
    return d;
}

void cpu_park_one(const struct cpu_park_env *env, struct hv_cpu *t, struct cpu_park_outcome *out) {
    out->us = 0;
    out->send_error = NULL;
    uint64_t base = (uint64_t)(uintptr_t)env->pages;
    if (!env->pages || base >= 0x100000 || (base & 4095) || !env->code ||
        env->code_len > CPU_PARK_DATA_OFF) {
        out->result = CPU_PARK_NO_PAGE;
        return;
    }
    if (t->vcpu.apic_id == CPU_APIC_ID_UNKNOWN) {
        out->result = CPU_PARK_NO_APIC_ID;
        return;
    }
    struct cpu_park_data *d = prepare(env, t);
    __atomic_store_n(&t->park_state, CPU_PARK_NONE, __ATOMIC_RELEASE);
    if (!init_sipi(env, t->vcpu.apic_id, out))
        return;
    uint64_t us = wait_for(env, ANSWER_MS, answered, t);
    if (us == UINT64_MAX) {
        out->result = CPU_PARK_NO_ANSWER;
        return;
    }
    out->us = us + INIT_WAIT_US + 2 * SIPI_WAIT_US;
    if (__atomic_load_n(&t->park_state, __ATOMIC_ACQUIRE) != CPU_PARK_VMX_ROOT) {
        out->result = CPU_PARK_VMXON_FAILED;
        return;
    }
    /* The proof that it stays held: INIT-SIPI again must not bring it back to the entry. */
    struct entries_moved m = {d, __atomic_load_n(&d->entries, __ATOMIC_ACQUIRE)};
    if (!init_sipi(env, t->vcpu.apic_id, out))
        return;
    out->result = wait_for(env, CHECK_MS, entries_moved, &m) == UINT64_MAX
                      ? CPU_PARK_HELD
                      : CPU_PARK_INIT_NOT_BLOCKED;
}

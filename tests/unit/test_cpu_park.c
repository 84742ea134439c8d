/* Unit tests for hv/core/cpu_park.c: how vigil holds a CPU it could not virtualize at the
 * hand-over. The hardware is the fakes (xAPIC through MMIO, a TSC that moves); the CPU being parked
 * is played in the wait loops (fake_pause_hook): it sees the INIT and SIPIs sent to its APIC ID,
 * "runs" the real-mode entry at the SIPI's vector (checking the data block it would use) and
 * answers as the scenario says. A held CPU must be parked in VMX root and must not come back to
 * the entry at the second INIT-SIPI; every other outcome leaves it bare, and says why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "tests/fakes/hw_fake.h"

#include "hv/core/apic_mode.h"
#include "hv/core/cpu_park.h"
#include "hv/core/hv_image.h"

#define XAPIC_PAGE 0xFEE00000ull
#define LOW 0x70000ull /* the entry pages, below 1 MiB as a SIPI vector needs */
#define AP_APIC 5u

static uint8_t *low;
static struct hv_cpu ap;
static uint8_t code[64];

/* The CPU being parked, as the scenario has it. */
static struct {
    bool answers;          /* reaches the entry's C part at all */
    bool vmxon_ok;         /* VMXON works there */
    bool init_blocked;     /* an INIT in VMX root is blocked (SDM 23.8) */
    bool in_vmx_root;      /* where it is now */
    bool waiting_for_sipi; /* took an INIT */
    unsigned inits, sipis, entries;
    uint32_t vector;
    size_t seen;   /* MMIO log entries looked at */
    uint32_t dest; /* last ICR high written */
} cpu;

static void play_cpu(void) {
    for (; cpu.seen < fake_mmio_count; cpu.seen++) {
        const struct fake_mmio *w = &fake_mmio_log[cpu.seen];
        if (w->phys == XAPIC_PAGE + XAPIC_ICR_HI) {
            cpu.dest = w->v >> 24;
            continue;
        }
        if (w->phys != XAPIC_PAGE + XAPIC_ICR_LO || cpu.dest != AP_APIC)
            continue;
        uint32_t dm = (w->v >> 8) & 7;
        if (dm == 5) {
            assert_true(w->v & (1u << 14)); /* assert */
            cpu.inits++;
            if (cpu.in_vmx_root && cpu.init_blocked)
                continue;
            cpu.in_vmx_root = false;
            cpu.waiting_for_sipi = true;
        } else if (dm == 6) {
            cpu.sipis++;
            if (!cpu.waiting_for_sipi)
                continue; /* SIPIs only act on a CPU waiting for one */
            cpu.waiting_for_sipi = false;
            cpu.vector = w->v & 0xFF;
            cpu.entries++;
            /* The real-mode entry at vector << 12: its code, counter and data block. */
            uint8_t *page = (uint8_t *)(uintptr_t)((uint64_t)cpu.vector << 12);
            assert_ptr_equal(page, low);
            assert_memory_equal(page, code, sizeof(code));
            struct cpu_park_data *d = (struct cpu_park_data *)(page + CPU_PARK_DATA_OFF);
            d->entries++;
            assert_int_equal(d->cr3, 0x123000);
            assert_int_equal(d->entry, 0xABCDE0);
            assert_int_equal(d->stack, ap.stack_top);
            assert_int_equal(d->arg, (uint64_t)(uintptr_t)&ap);
            /* Interim tables: PML4[0] -> PDPT[0] -> PD[0] = 2 MiB page at 0 (covers the page). */
            const uint64_t *pml4 = (const uint64_t *)(uintptr_t)d->cr3_low;
            const uint64_t *pdpt = (const uint64_t *)(uintptr_t)(pml4[0] & ~0xFFFull);
            const uint64_t *pd = (const uint64_t *)(uintptr_t)(pdpt[0] & ~0xFFFull);
            assert_true(d->cr3_low < 0x100000 && (pml4[0] & 1) && (pdpt[0] & 1));
            assert_int_equal(pd[0], 0x83);
            assert_int_equal(d->gdt[1] >> 40 & 0xFF, 0x9A); /* code */
            assert_true(d->gdt[1] & (1ull << 53));          /* L = 1 */
            if (!cpu.answers)
                continue;
            cpu.in_vmx_root = cpu.vmxon_ok;
            ap.park_state = cpu.vmxon_ok ? CPU_PARK_VMX_ROOT : CPU_PARK_NO_VMX;
        }
    }
}

static struct cpu_park_env env(void) {
    return (struct cpu_park_env){low, 0x123000, 0xABCDE0, code, sizeof(code), 1000000000ull};
}

static int setup(void **s) {
    (void)s;
    fake_reset();
    fake_set_msr(MSR_APIC_BASE, XAPIC_PAGE | APIC_BASE_EN);
    fake_tsc_step = 1000; /* 1 us a read at 1 GHz */
    fake_pause_hook = play_cpu;
    if (!low) {
        low = mmap((void *)(uintptr_t)LOW, HV_PARK_PAGES * 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        assert_ptr_equal(low, (void *)(uintptr_t)LOW);
    }
    for (unsigned i = 0; i < sizeof(code); i++)
        code[i] = (uint8_t)(0x90 + i);
    memset(&ap, 0, sizeof(ap));
    ap.index = 1;
    ap.vcpu.apic_id = AP_APIC;
    ap.stack_top = 0x7777000;
    ap.launch_error = -9;
    memset(&cpu, 0, sizeof(cpu));
    cpu.answers = cpu.vmxon_ok = cpu.init_blocked = true;
    return 0;
}

static void held_in_vmx_root_and_init_checked(void **s) {
    (void)s;
    struct cpu_park_env e = env();
    struct cpu_park_outcome o;
    cpu_park_one(&e, &ap, &o);
    assert_int_equal(o.result, CPU_PARK_HELD);
    assert_int_equal(ap.park_state, CPU_PARK_VMX_ROOT);
    assert_true(cpu_park_held(&ap));
    assert_int_equal(cpu.vector, LOW >> 12);
    assert_int_equal(cpu.entries, 1);
    /* INIT, SIPI, SIPI to park it; INIT, SIPI, SIPI again to prove it stays. */
    assert_int_equal(cpu.inits, 2);
    assert_int_equal(cpu.sipis, 4);
    assert_true(o.us >= 10000);
}

static void no_answer_is_bare(void **s) {
    (void)s;
    cpu.answers = false;
    struct cpu_park_env e = env();
    struct cpu_park_outcome o;
    cpu_park_one(&e, &ap, &o);
    assert_int_equal(o.result, CPU_PARK_NO_ANSWER);
    assert_false(cpu_park_held(&ap));
}

static void vmxon_failing_is_bare(void **s) {
    (void)s;
    cpu.vmxon_ok = false;
    struct cpu_park_env e = env();
    struct cpu_park_outcome o;
    cpu_park_one(&e, &ap, &o);
    assert_int_equal(o.result, CPU_PARK_VMXON_FAILED);
    assert_false(cpu_park_held(&ap));
}

static void init_not_blocked_is_bare(void **s) {
    (void)s;
    cpu.init_blocked = false;
    struct cpu_park_env e = env();
    struct cpu_park_outcome o;
    cpu_park_one(&e, &ap, &o);
    assert_int_equal(o.result, CPU_PARK_INIT_NOT_BLOCKED);
    assert_int_equal(cpu.entries, 2);
}

static void nothing_sent_without_page_or_apic_id(void **s) {
    (void)s;
    struct cpu_park_env e = env();
    struct cpu_park_outcome o;
    e.pages = NULL;
    cpu_park_one(&e, &ap, &o);
    assert_int_equal(o.result, CPU_PARK_NO_PAGE);
    e = env();
    e.pages = (uint8_t *)(uintptr_t)0x100000; /* not a SIPI vector */
    cpu_park_one(&e, &ap, &o);
    assert_int_equal(o.result, CPU_PARK_NO_PAGE);
    e = env();
    e.code_len = CPU_PARK_DATA_OFF + 1; /* would overlap the data block */
    cpu_park_one(&e, &ap, &o);
    assert_int_equal(o.result, CPU_PARK_NO_PAGE);
    e = env();
    ap.vcpu.apic_id = CPU_APIC_ID_UNKNOWN;
    cpu_park_one(&e, &ap, &o);
    assert_int_equal(o.result, CPU_PARK_NO_APIC_ID);
    assert_int_equal(fake_mmio_count, 0);
}

static void apic_off_cannot_send(void **s) {
    (void)s;
    fake_set_msr(MSR_APIC_BASE, XAPIC_PAGE); /* EN clear */
    struct cpu_park_env e = env();
    struct cpu_park_outcome o;
    cpu_park_one(&e, &ap, &o);
    assert_int_equal(o.result, CPU_PARK_SEND_FAILED);
    assert_string_equal(o.send_error, "apic disabled");
}

static void virtualized_or_parked_cpus_need_nothing(void **s) {
    (void)s;
    assert_false(cpu_park_held(&ap));
    ap.up = true;
    assert_true(cpu_park_held(&ap));
    ap.up = false;
    ap.parked = true; /* stopped in VMX root after a fatal exit */
    assert_true(cpu_park_held(&ap));
    ap.parked = false;
    ap.park_state = CPU_PARK_NO_VMX; /* halted, but an INIT would start it */
    assert_false(cpu_park_held(&ap));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(held_in_vmx_root_and_init_checked, setup),
        cmocka_unit_test_setup(no_answer_is_bare, setup),
        cmocka_unit_test_setup(vmxon_failing_is_bare, setup),
        cmocka_unit_test_setup(init_not_blocked_is_bare, setup),
        cmocka_unit_test_setup(nothing_sent_without_page_or_apic_id, setup),
        cmocka_unit_test_setup(apic_off_cannot_send, setup),
        cmocka_unit_test_setup(virtualized_or_parked_cpus_need_nothing, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

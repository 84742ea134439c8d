#include "tests/fakes/hw_fake.h"

#include <string.h>

fake_inb_fn fake_inb_handler;
fake_outb_fn fake_outb_handler;
struct fake_out fake_out_log[4096];
size_t fake_out_count;
uint64_t fake_cr0, fake_cr3, fake_cr4;
bool fake_vmx_fail;

struct kv {
    uint64_t key;
    uint64_t val;
};
struct cpuid_entry {
    uint32_t leaf, subleaf;
    struct cpuid_regs r;
};

static struct kv msrs[FAKE_MAX];
static size_t n_msrs;
static struct kv vmcs[FAKE_MAX];
static size_t n_vmcs;
static struct cpuid_entry cpuids[FAKE_MAX];
static size_t n_cpuids;
static struct kv mmio[FAKE_MAX];
static size_t n_mmio;
struct fake_mmio fake_mmio_log[256];
size_t fake_mmio_count;

void fake_reset(void) {
    fake_inb_handler = NULL;
    fake_outb_handler = NULL;
    fake_out_count = 0;
    n_msrs = n_vmcs = n_cpuids = n_mmio = 0;
    fake_mmio_count = 0;
    fake_cr0 = fake_cr3 = fake_cr4 = 0;
    fake_vmx_fail = false;
    fake_tsc_step = 0;
    fake_pause_hook = NULL;
}

static void kv_set(struct kv *t, size_t *n, uint64_t key, uint64_t val) {
    for (size_t i = 0; i < *n; i++) {
        if (t[i].key == key) {
            t[i].val = val;
            return;
        }
    }
    if (*n < FAKE_MAX) {
        t[*n].key = key;
        t[*n].val = val;
        (*n)++;
    }
}

static bool kv_get(const struct kv *t, size_t n, uint64_t key, uint64_t *val) {
    for (size_t i = 0; i < n; i++) {
        if (t[i].key == key) {
            *val = t[i].val;
            return true;
        }
    }
    return false;
}

void fake_set_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t eax, uint32_t ebx, uint32_t ecx,
                    uint32_t edx) {
    for (size_t i = 0; i < n_cpuids; i++) {
        if (cpuids[i].leaf == leaf && cpuids[i].subleaf == subleaf) {
            cpuids[i].r = (struct cpuid_regs){eax, ebx, ecx, edx};
            return;
        }
    }
    if (n_cpuids < FAKE_MAX)
        cpuids[n_cpuids++] = (struct cpuid_entry){leaf, subleaf, {eax, ebx, ecx, edx}};
}

void fake_set_msr(uint32_t msr, uint64_t v) {
    kv_set(msrs, &n_msrs, msr, v);
}
bool fake_get_msr(uint32_t msr, uint64_t *v) {
    return kv_get(msrs, n_msrs, msr, v);
}
void fake_set_vmcs(uint64_t field, uint64_t v) {
    kv_set(vmcs, &n_vmcs, field, v);
}
bool fake_get_vmcs(uint64_t field, uint64_t *v) {
    return kv_get(vmcs, n_vmcs, field, v);
}

uint8_t hw_inb(uint16_t port) {
    return fake_inb_handler ? fake_inb_handler(port) : 0xFF;
}
void hw_outb(uint16_t port, uint8_t v) {
    if (fake_out_count < sizeof(fake_out_log) / sizeof(fake_out_log[0]))
        fake_out_log[fake_out_count++] = (struct fake_out){port, v};
    if (fake_outb_handler)
        fake_outb_handler(port, v);
}
void hw_cpuid(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *out) {
    for (size_t i = 0; i < n_cpuids; i++) {
        if (cpuids[i].leaf == leaf && cpuids[i].subleaf == subleaf) {
            *out = cpuids[i].r;
            return;
        }
    }
    memset(out, 0, sizeof(*out));
}
uint64_t hw_rdmsr(uint32_t msr) {
    uint64_t v = 0;
    kv_get(msrs, n_msrs, msr, &v);
    return v;
}
void hw_wrmsr(uint32_t msr, uint64_t v) {
    kv_set(msrs, &n_msrs, msr, v);
}
void (*fake_pause_hook)(void);
void hw_pause(void) {
    if (fake_pause_hook)
        fake_pause_hook();
}
unsigned fake_nmi_unblocks;
void hw_nmi_unblock(void) {
    fake_nmi_unblocks++;
}
uint64_t hw_read_cr0(void) {
    return fake_cr0;
}
uint64_t hw_read_cr3(void) {
    return fake_cr3;
}
uint64_t hw_read_cr4(void) {
    return fake_cr4;
}
void hw_write_cr0(uint64_t v) {
    fake_cr0 = v;
}
void hw_write_cr4(uint64_t v) {
    fake_cr4 = v;
}
bool hw_vmxon(uint64_t phys) {
    (void)phys;
    return !fake_vmx_fail;
}
void hw_vmxoff(void) {}
bool hw_vmclear(uint64_t phys) {
    (void)phys;
    return !fake_vmx_fail;
}
bool hw_vmptrld(uint64_t phys) {
    (void)phys;
    return !fake_vmx_fail;
}
uint64_t hw_vmread(uint64_t field) {
    uint64_t v = 0;
    kv_get(vmcs, n_vmcs, field, &v);
    return v;
}
bool hw_vmwrite(uint64_t field, uint64_t value) {
    if (fake_vmx_fail)
        return false;
    kv_set(vmcs, &n_vmcs, field, value);
    return true;
}
bool hw_invept(uint64_t type, const uint64_t desc[2]) {
    (void)type;
    (void)desc;
    return !fake_vmx_fail;
}
bool hw_invvpid(uint64_t type, const uint64_t desc[2]) {
    (void)type;
    (void)desc;
    return !fake_vmx_fail;
}

struct hw_dtr fake_gdtr, fake_idtr;
uint16_t fake_sregs[6], fake_tr, fake_ldtr;
uint64_t fake_dr7 = 0x400, fake_rflags = 0x2, fake_tsc;
uint64_t hw_read_dr7(void) {
    return fake_dr7;
}
uint64_t hw_read_rflags(void) {
    return fake_rflags;
}
void hw_sgdt(struct hw_dtr *d) {
    *d = fake_gdtr;
}
void hw_sidt(struct hw_dtr *d) {
    *d = fake_idtr;
}
uint16_t hw_read_sreg(enum hw_sreg s) {
    return fake_sregs[s];
}
uint16_t hw_str(void) {
    return fake_tr;
}
uint16_t hw_sldt(void) {
    return fake_ldtr;
}
uint64_t fake_tsc_step;
uint64_t hw_rdtsc(void) {
    fake_tsc += fake_tsc_step;
    return fake_tsc;
}

void fake_set_mmio(uint64_t phys, uint32_t v) {
    kv_set(mmio, &n_mmio, phys, v);
}
uint32_t hw_mmio_read32(uint64_t phys) {
    uint64_t v = 0;
    kv_get(mmio, n_mmio, phys, &v);
    return (uint32_t)v;
}
void hw_mmio_write32(uint64_t phys, uint32_t v) {
    if (fake_mmio_count < sizeof(fake_mmio_log) / sizeof(fake_mmio_log[0]))
        fake_mmio_log[fake_mmio_count++] = (struct fake_mmio){phys, v};
    kv_set(mmio, &n_mmio, phys, v);
}

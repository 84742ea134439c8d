/* A synthetic Linux guest in a memory buffer, for the VMI walkers' unit tests, fuzzing seeds and
 * the 10,000-task benchmark: 4-level page tables with a direct map (1 GiB pages) and a kernel-image
 * mapping (2 MiB pages), an IDT, a banner, init_task, task_structs/creds/signal/mm objects with a
 * made-up layout, a module list, and a table-driven struct vmi_symsrc describing that layout
 * (tests only: the real symbol sources are vmi/vmi_symbols.h). */
#ifndef VIGIL_TESTS_VMI_SYNTH_H
#define VIGIL_TESTS_VMI_SYNTH_H

#include "vmi/vmi_mem.h"
#include "vmi/vmi_symsrc.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYN_DIRECT_MAP 0xffff888000000000ull
#define SYN_LINK_TEXT 0xffffffff81000000ull

/* Synthetic struct layouts (offsets the table symsrc hands out). */
enum {
    T_STATE = 0x00,
    T_FLAGS = 0x04,
    T_TASKS = 0x10,
    T_MM = 0x20,
    T_EXIT_STATE = 0x28,
    T_PID = 0x30,
    T_TGID = 0x34,
    T_REAL_PARENT = 0x38,
    T_GROUP_LEADER = 0x40,
    T_THREAD_NODE = 0x48,
    T_REAL_CRED = 0x58,
    T_CRED = 0x60,
    T_COMM = 0x68,
    T_SIGNAL = 0x78,
    T_WORKER_PRIVATE = 0x80,
    T_SIZE = 0x100,
    S_THREAD_HEAD = 0x10,
    S_SIZE = 0x40,
    MM_PGD = 0x50,
    MM_SIZE = 0x80,
    C_UID = 0x04,
    C_EUID = 0x14,
    C_SIZE = 0x40,
    K_FULL_NAME = 0x40,
    K_SIZE = 0x60,
    M_STATE = 0x00,
    M_LIST = 0x08,
    M_NAME = 0x18,
    M_CORE_BASE = 0x100,
    M_CORE_SIZE = 0x108,
    M_INIT_BASE = 0x140,
    M_INIT_SIZE = 0x148,
    M_SIZE = 0x180,
    CPU_CAPS = 0x20, /* cpuinfo_x86.x86_capability, 20 words */
};

struct synth {
    uint8_t *ram;
    size_t size;
    uint64_t next; /* bump allocator (physical) */
    uint64_t pml4, kpd;
    uint64_t slide, text, init_task, modules_head, banner_va, idt_va, boot_cpu_data;
    uint64_t lstar;
    uint64_t init_top_pgt; /* VA of the kernel's own PML4 (the direct-map alias of pml4); 0 hides
                            * the symbol */
    struct vmi_mem mem;
    struct vmi_vcpu cpu;
    struct vmi_symsrc src;
    bool kpti;
    /* symsrc knobs for tests */
    bool no_thread_head; /* pretend the kernel has only thread_group */
};

/* size bytes of RAM (>= 64 MiB). Builds page tables, image, banner, IDT, init_task. */
int synth_init(struct synth *s, size_t size, uint64_t slide);
void synth_free(struct synth *s);

uint64_t synth_alloc(struct synth *s, size_t n); /* returns a direct-map VA, zeroed */
void synth_w64(struct synth *s, uint64_t va, uint64_t v);
void synth_w32(struct synth *s, uint64_t va, uint32_t v);
uint64_t synth_r64(struct synth *s, uint64_t va);
void synth_wstr(struct synth *s, uint64_t va, const char *str);
uint64_t synth_pa(struct synth *s, uint64_t va);

/* A process (thread-group leader) appended to the task list; returns its task VA. parent 0 means
 * init_task. with_mm gives it an mm with its own PGD page. */
uint64_t synth_process(struct synth *s, int pid, uint64_t parent, const char *comm, uint32_t uid,
                       uint32_t euid, uint32_t state, uint32_t exit_state, uint32_t flags,
                       bool with_mm);
/* A thread of leader (added to its signal->thread_head; not on the task list). */
uint64_t synth_thread(struct synth *s, uint64_t leader, int tid);
/* Sets a kthread full name (struct kthread via worker_private). */
void synth_kthread_name(struct synth *s, uint64_t task, const char *full);
uint64_t synth_module(struct synth *s, const char *name, uint64_t base, uint32_t core,
                      uint32_t init, uint32_t state);

#endif

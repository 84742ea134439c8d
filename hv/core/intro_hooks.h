/* What the core asks of introspection. hv/intro/ implements these (the only layer that joins
 * vmi/ and hv/); the core calls them at fixed points and knows nothing else of it, so the arrows
 * stay one way: intro includes this header, the core never includes hv/intro/.
 *
 *   bring-up (hv_init)           hv_vmi_init
 *   periodic work (tick owner)   hv_vmi_tick
 *   every exit, before entry     hv_live_sync
 *   #BP exits (vcpu_ops)         hv_live_breakpoint
 *   EPT reports (ept_hide/guard) hv_guest_insn, hv_guest_insn_len */
#ifndef VIGIL_INTRO_HOOKS_H
#define VIGIL_INTRO_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/arch/vcpu.h"

struct hv_cpu;
struct ept_vcpu;

/* From hv_init: takes the introspection arena from the heap. 0 or an hv_error. */
int hv_vmi_init(void);
/* From the tick owner's timer exits (about once a second, one CPU at a time). */
void hv_vmi_tick(struct hv_cpu *c);
/* Every exit: keeps this CPU's #BP interception in line with the armed hooks. */
void hv_live_sync(struct hv_cpu *c);
/* Exception exit with vector 3: true when it was one of vigil's hooks (handled). */
bool hv_live_breakpoint(struct hv_cpu *c, struct guest_regs *g);
/* The guest instruction at rip on the exiting CPU: as text into out (its length, 0 when it cannot
 * be fetched or decoded), or only its length. */
size_t hv_guest_insn(void *ctx, struct ept_vcpu *v, uint64_t rip, char *out, size_t size);
size_t hv_guest_insn_len(void *ctx, struct ept_vcpu *v, uint64_t rip);

#endif

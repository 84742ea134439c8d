/* Sanity checks of a profile's key offsets against the running kernel's memory, made before a
 * profile (whose banner already matched) is used: a planted ISF with the right banner but
 * shifted offsets would otherwise feed every walker wrong fields. What the checks rely on is
 * fixed by the kernel itself (init/init_task.c, kernel/sched/core.c init_idle):
 *   init_task.tasks       a list_head whose next->prev and prev->next lead back to it
 *   init_task.pid, .tgid  0
 *   init_task.comm        "swapper", or "swapper/0" once init_idle has run
 *   init_task.real_parent &init_task
 *   init_task.flags       PF_KTHREAD
 *   init_task.real_cred   &init_cred: uid 0, euid 0
 *   init_task.mm          NULL
 *   modules               a list_head that round-trips the same way
 * Each check names the member and offset that failed. */
#ifndef VIGIL_VMI_PROFILE_CHECK_H
#define VIGIL_VMI_PROFILE_CHECK_H

#include "vmi/kernel.h"
#include "vmi/vmi_symsrc.h"
#include <stddef.h>

/* 0 when every check holds; VMI_EMISMATCH (or the source's error) with the reason in why. */
int vmi_profile_check(struct vmi_kernel *k, const struct vmi_symsrc *src, char *why, size_t cap);

#endif

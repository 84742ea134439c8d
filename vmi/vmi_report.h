/* VMI report events through base/report.h (README "Report schema"; docs/vmi.md). JSON-lines:
 *   {"ev":"os","release":str,"kaslr":"0x..","source":"auto"|"profile"}
 *   {"ev":"kernel","banner":str,"text":"0x..","image_end":"0x..","paging":"4-level"|"5-level",
 *    "kpti":bool|null,"found_by":"lstar"|"idt"|"scan","root":"0x..",
 *    "root_from":"init_top_pgt"|"cr3"|"scan"}
 *   {"ev":"proc","pid":n,"ppid":n,"comm":str,"uid":n,"euid":n,"kthread":bool,"state":str,
 *    "threads":[tid,...],"cr3":"0x.."|null}
 *   {"ev":"module","name":str,"base":"0x..","size":n}
 *   {"ev":"profile_mismatch","profile_banner":str,"running_banner":str,"reason":str}
 *   {"ev":"vmi_error","stage":str,"code":n,"msg":str}
 *   {"ev":"vmi_error","stage":"task","code":n,"msg":str,"task":"0x..","pid":n|null,
 *    "comm":str|null}   one task-list entry that could not be read whole (skipped)
 * Text mode prints the same facts as "vigil: ..." lines (a compact process tree). */
#ifndef VIGIL_VMI_REPORT_H
#define VIGIL_VMI_REPORT_H

#include "base/report.h"
#include "vmi/kernel.h"
#include "vmi/linux_modules.h"
#include "vmi/linux_tasks.h"

void vmi_report_os(struct report *r, const struct vmi_kernel *k, const char *source);
void vmi_report_kernel(struct report *r, const struct vmi_kernel *k);
/* One proc event, with the thread list walked through t; with a "depth" field (its level in the
 * process tree) when depth >= 0. */
void vmi_report_proc(struct report *r, const struct vmi_linux_tasks *t, const struct vmi_proc *p,
                     int depth);
/* A task-list entry the walk skipped (p->error set): what is known of it and why. */
void vmi_report_task_error(struct report *r, const struct vmi_proc *p);
void vmi_report_module(struct report *r, const struct vmi_module *m);
void vmi_report_profile_mismatch(struct report *r, const char *profile_banner,
                                 const char *running_banner, const char *reason);
void vmi_report_error(struct report *r, const char *stage, int code, const char *msg);

#endif

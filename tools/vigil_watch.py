#!/usr/bin/env python3
"""vigil-watch: reads vigil's report stream (a serial device, a pty, a file, or stdin) and prints
each JSON Lines event as one readable line, keeps the guest's process tree from the events, and
shows integrity and tamper events prominently.

The stream is untrusted: it crosses a cable, may start in the middle of a line, carries the
firmware's console before vigil's first line, and every string in it (process names above all)
comes from the guest. So every line is bounded (--max-line), every table is bounded
(--max-procs, MAX_EV_KINDS), every value is type-checked before use, and every character that
could drive a terminal is escaped before it is printed.

Exit status: 0 the stream ended (or was interrupted) without an integrity/tamper event;
1 at least one integrity/tamper event was seen (also when filters hid it);
2 bad usage, or the input could not be opened, set up or read (and no such event was seen).
"""

import argparse
import errno
import json
import os
import select
import signal
import stat
import subprocess
import sys
import time

EXIT_OK, EXIT_ALERT, EXIT_ERROR = 0, 1, 2

# Events that mean someone tried to change or reach what vigil protects (README "Report schema").
ALERT_EVENTS = frozenset(
    ["hook_tamper", "hook_tamper_count", "hook_forgery", "hv_access", "hv_access_count",
     "config_changed", "integrity"])
# Events that mean vigil itself is degraded: marked, but not counted as tamper.
PROBLEM_EVENTS = frozenset(
    ["halt", "cpu_fail", "cpu_parked", "guest_state", "hv_fault", "reset", "report_lost",
     "cpu_bare", "protection_void", "cpu_stalled",
     "vmi_error", "profile_mismatch", "config_error", "config_seal_error", "ept_misconfig"])

DEFAULT_MAX_LINE = 1 << 20  # a rescan listing 4096 new processes is about 150 KiB
DEFAULT_MAX_PROCS = 65536
MAX_EV_KINDS = 256  # distinct event names counted; more are counted as one "other"
MAX_RECOVERY_TRIES = 4  # '{"ev":' positions tried in one line that does not parse as a whole
RENDER_MAX = 4000  # characters of one rendered line
LIST_SHOWN = 12  # list items shown in one line (rescan new/gone, ...)
EV_MARK = b'{"ev":'
TEXT_MARK = b"vigil: "


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def safe(s):
    """Text for a terminal: every character that is not printable (C0/C1 controls, DEL, format
    characters such as bidi overrides, separators other than space, lone surrogates, unassigned
    code points) becomes a visible escape, so a guest-chosen name cannot move the cursor, recolour
    the screen, hide text or break the line."""
    if not isinstance(s, str):
        s = str(s)
    if s.isprintable():
        return s
    out = []
    for c in s:
        if c.isprintable():
            out.append(c)
        else:
            o = ord(c)
            out.append("\\x%02x" % o if o < 0x100 else "\\u%04x" % o if o < 0x10000 else
                       "\\U%08x" % o)
    return "".join(out)


def val(v):
    """One JSON value as short text: strings as they are (escaped), the rest as compact JSON."""
    if isinstance(v, str):
        return safe(v)
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if is_int(v) or isinstance(v, float):
        return str(v)
    try:
        return safe(json.dumps(v, separators=(",", ":"), ensure_ascii=False))
    except (ValueError, TypeError, RecursionError):
        return "?"


def field(e, key, default="?"):
    return val(e[key]) if key in e else default


def yes(e, key):
    v = e.get(key)
    return "yes" if v is True else "no" if v is False else val(v) if key in e else "?"


def kv(e, skip=("ev",)):
    """Generic key=value rendering of an event (nested values as compact JSON)."""
    parts = []
    for k, v in e.items():
        if k in skip:
            continue
        s = val(v)
        if isinstance(v, str) and (s == "" or " " in s or "=" in s):
            s = '"' + s.replace('"', '\\"') + '"'
        parts.append("%s=%s" % (safe(k), s))
    return " ".join(parts)


def pid_list(items, limit=LIST_SHOWN):
    """[{pid,comm},...] or [pid,...] as "95 sh, 96 ps" (at most limit items, then "+N more")."""
    if not isinstance(items, list):
        return val(items)
    shown = []
    for it in items[:limit]:
        if isinstance(it, dict):
            shown.append("%s %s" % (field(it, "pid"), field(it, "comm", "")) if "comm" in it else
                         field(it, "pid"))
        else:
            shown.append(val(it))
    more = len(items) - limit
    return ", ".join(shown) + (" +%d more" % more if more > 0 else "")


def exits_top(exits, n=4):
    if not isinstance(exits, dict):
        return val(exits)
    counts = [(v, k) for k, v in exits.items() if is_int(v)]
    counts.sort(key=lambda x: (-x[0], x[1]))
    return ", ".join("%s %d" % (safe(k), v) for v, k in counts[:n])


# One renderer per event of README's schema table, in words for people (vigil's own text mode,
# report = text, writes the same events as key=value lines). A renderer may meet any value type:
# the caller falls back to key=value if it raises.
def r_start(e):
    return "vigil %s started: report on %s at %s baud, config %s, firmware console %s, seal %s" % (
        field(e, "version"), field(e, "serial"), field(e, "baud"), field(e, "config"),
        field(e, "firmware_console"), field(e, "seal"))


def r_config_error(e):
    if e.get("line") == 0:
        return "config: %s" % field(e, "msg")
    return "config line %s: %s" % (field(e, "line"), field(e, "msg"))


def r_config_sealed(e):
    why = (": " + field(e, "why")) if "why" in e else ""
    return "config sealed (previous seal: %s%s): config sha256 %s, profile %s, seal %s, " \
        "record %s %s/%s bytes" % (field(e, "previous"), why, field(e, "config_sha256")[:16],
                                   field(e, "profile_status"), field(e, "seal"),
                                   field(e, "record"), field(e, "record_bytes"),
                                   field(e, "record_limit"))


def r_config_changed(e):
    parts = []
    ch = e.get("changed")
    if isinstance(ch, list) and ch:
        keys = []
        for c in ch[:LIST_SHOWN]:
            if isinstance(c, dict):
                keys.append("%s '%s' -> '%s'" % (field(c, "key"), field(c, "old", ""),
                                                 field(c, "new", "")))
            else:
                keys.append(val(c))
        if len(ch) > LIST_SHOWN:
            keys.append("+%d more" % (len(ch) - LIST_SHOWN))
        parts.append("; ".join(keys))
    elif e.get("config_changed") is True:
        parts.append("config changed (keys not known)" if e.get("keys_known") is False else
                     "config changed")
    if e.get("profile_changed") is True:
        parts.append("profile %s -> %s" % (field(e, "profile_old_sha256")[:16],
                                           field(e, "profile_new_sha256")[:16]))
    return "config changed since the sealed boot: %s; policy %s, action %s, in effect: %s" % (
        ", ".join(parts) or "?", field(e, "policy"), field(e, "action"),
        field(e, "config_in_effect"))


def r_config_seal_error(e):
    st = (": " + field(e, "efi_status")) if "efi_status" in e else ""
    return "config seal (%s): %s%s" % (field(e, "stage"), field(e, "msg"), st)


def r_vmx(e):
    if e.get("usable") is True:
        return "VT-x usable: EPT %s, unrestricted guest %s, VPID %s, wait-for-SIPI %s (%s)" % (
            yes(e, "ept"), yes(e, "unrestricted_guest"), yes(e, "vpid"), yes(e, "wait_for_sipi"),
            field(e, "reason"))
    return "VT-x not usable: %s" % field(e, "reason")


def r_halt(e):
    return "halted: %s" % field(e, "reason")


def r_hv_load(e):
    if e.get("status") == "loaded":
        return "hypervisor loaded at %s (%s bytes, heap %s bytes at %s); %s cpu(s), TSC %s Hz, " \
            "MP services %s" % (field(e, "image_base"), field(e, "image_bytes"),
                                field(e, "heap_bytes"), field(e, "heap_base"), field(e, "cpus"),
                                field(e, "tsc_hz"), yes(e, "mp_services"))
    st = (" " + field(e, "efi_status")) if "efi_status" in e else ""
    return "hypervisor not started (%s): %s%s" % (field(e, "stage"), field(e, "msg"), st)


def r_cpu_up(e):
    return "cpu %s (APIC %s) virtualized: VPID %s, EPT %s, unrestricted guest %s, " \
        "preemption timer %s" % (field(e, "cpu"), field(e, "apic_id"), field(e, "vpid"),
                                 yes(e, "ept"), yes(e, "unrestricted_guest"),
                                 yes(e, "preemption_timer"))


def r_cpu_fail(e):
    return "cpu %s (APIC %s) NOT virtualized: %s (detail %s)" % (
        field(e, "cpu"), field(e, "apic_id"), field(e, "error"), field(e, "detail"))


def r_hv_up(e):
    s = "hypervisor up on %s cpu(s), %s failed; heartbeat every %s s, stealth %s, heap used %s" % (
        field(e, "cpus"), field(e, "failed"), field(e, "heartbeat_s"), yes(e, "stealth"),
        field(e, "heap_used"))
    p = e.get("ept_pages")
    if isinstance(p, dict):
        s += "; EPT 1g %s 2m %s 4k %s tables %s" % (field(p, "1g"), field(p, "2m"),
                                                   field(p, "4k"), field(p, "tables"))
    sync = e.get("ept_sync")
    if isinstance(sync, dict):
        s += "; EPT sync %s in %s us" % ("ok" if sync.get("ok") is True else "FAILED",
                                        field(sync, "us"))
    return s


def r_chainload(e):
    if "msg" in e:
        return "next stage '%s': %s (%s)" % (field(e, "path"), field(e, "msg"), field(e, "status"))
    return "next stage '%s' %s, load options '%s'" % (field(e, "path"), field(e, "status"),
                                                      field(e, "args", ""))


def r_heartbeat(e):
    up = e.get("uptime_s")
    s = "alive: uptime %s s, %s cpu(s), %s exits (%s)" % (
        val(up) if up is not None else "?", field(e, "cpus"), field(e, "total_exits"),
        exits_top(e.get("exits", {})))
    isp = e.get("init_sipi")
    if isinstance(isp, dict):
        s += "; INIT %s, SIPI %s" % (field(isp, "inits"), field(isp, "sipis"))
    k = e.get("ept_kicks")
    if isinstance(k, dict) and (k.get("failed") or "error" in k):
        s += "; EPT kicks failed %s%s" % (field(k, "failed"),
                                          (" (" + field(k, "error") + ")") if "error" in k else "")
    return s


def r_os_running(e):
    hidden = e.get("hv_hidden")
    what = "hidden from the guest" if hidden is True else "could NOT be hidden: %s" % field(
        e, "error", "?")
    return "the OS kernel runs (cpu %s at %s); hypervisor memory %s" % (field(e, "cpu"),
                                                                       field(e, "rip"), what)


def r_hv_memory(e):
    rs = e.get("ranges")
    if isinstance(rs, list):
        parts = ["%s + %s" % (val(r[0]), val(r[1])) if isinstance(r, list) and len(r) == 2 else
                 val(r) for r in rs[:LIST_SHOWN]]
        return "hypervisor memory hidden from the guest: " + ", ".join(parts)
    return "hypervisor memory: " + field(e, "ranges")


def r_hv_access(e):
    insn = e.get("insn")
    gla = (" (gla %s)" % field(e, "gla")) if "gla" in e else ""
    return "blocked guest %s of hypervisor memory at gpa %s%s, rip %s%s, cpu %s" % (
        field(e, "access"), field(e, "gpa"), gla, field(e, "rip"),
        (": " + val(insn)) if isinstance(insn, str) else "", field(e, "cpu"))


def r_hv_access_count(e):
    return "guest accesses to hypervisor memory blocked: %s (read %s, write %s, exec %s; " \
        "%s not itemised)" % (field(e, "attempts"), field(e, "read"), field(e, "write"),
                              field(e, "exec"), field(e, "unreported"))


def r_guest_state(e):
    return "cpu %s: %s: exit reason %s (%s)%s, qualification %s | %s" % (
        field(e, "cpu"), field(e, "why"), field(e, "exit_reason"), field(e, "exit_name"),
        " [VM-entry failure]" if e.get("entry_failure") is True else "",
        field(e, "qualification"),
        kv(e, skip=("ev", "cpu", "why", "exit_reason", "exit_name", "entry_failure",
                    "qualification", "seg", "gpr")))


def r_cpu_parked(e):
    return "cpu %s parked after exit '%s'" % (field(e, "cpu"), field(e, "exit"))


def r_hv_fault(e):
    what = field(e, "vector") if "vector" in e else field(e, "what")
    return "HYPERVISOR FAULT on cpu %s: vector %s error %s at rip %s (rsp %s, cr2 %s); %s" % (
        field(e, "cpu"), what, field(e, "error", "-"), field(e, "rip"), field(e, "rsp", "?"),
        field(e, "cr2", "?"), field(e, "action"))


def r_reset(e):
    return "cpu %s: %s; resetting the machine" % (field(e, "cpu"), field(e, "reason"))


def r_profile(e):
    if e.get("status") == "loaded":
        return "profile %s loaded (%s bytes)" % (field(e, "path"), field(e, "bytes"))
    return "profile %s not loaded (%s): %s" % (field(e, "path"), field(e, "status"),
                                               field(e, "msg", ""))


def r_os(e):
    return "os: Linux %s, KASLR offset %s (symbols: %s)" % (
        field(e, "kernel", field(e, "release")), field(e, "kaslr"), field(e, "source"))


def r_kernel(e):
    return "kernel: %s; _text %s, image to %s, %s paging, KPTI %s, found by %s" % (
        field(e, "banner"), field(e, "text"), field(e, "image_end"), field(e, "paging"),
        yes(e, "kpti"), field(e, "found_by"))


def r_proc(e):
    th = e.get("threads")
    nth = (" %d threads" % len(th)) if isinstance(th, list) and len(th) > 1 else ""
    return "proc %s (%s) parent %s uid %s%s %s%s" % (
        field(e, "pid"), field(e, "comm"), field(e, "ppid"), field(e, "uid"),
        " kthread" if e.get("kthread") is True else "", field(e, "state", "?"), nth)


def r_module(e):
    return "module %s at %s, %s bytes" % (field(e, "name"), field(e, "base"), field(e, "size"))


def r_profile_mismatch(e):
    return "profile does not match the running kernel: %s (profile '%s', running '%s')" % (
        field(e, "reason"), field(e, "profile_banner"), field(e, "running_banner"))


def r_vmi_error(e):
    return "introspection error (%s): %s (code %s)" % (field(e, "stage"), field(e, "msg"),
                                                       field(e, "code"))


def r_rescan(e):
    s = "rescan: %s processes" % field(e, "procs")
    for key, label in (("new", "new"), ("gone", "gone"), ("renamed", "renamed"),
                       ("live_missed_start", "live missed start"),
                       ("live_missed_exit", "live missed exit")):
        v = e.get(key)
        if isinstance(v, list) and v:
            s += "; %s: %s" % (label, pid_list(v))
        elif v is not None and not isinstance(v, list):
            s += "; %s: %s" % (label, val(v))
    return s


def r_live_hook(e):
    return "live events: hooked %s at %s%s%s" % (
        field(e, "function"), field(e, "va"), "" if e.get("guarded") is True else " (not guarded)",
        ", hidden" if e.get("hidden") is True else "")


def r_hook_tamper(e):
    insn = e.get("insn")
    return "the guest changed vigil's hook on %s (gpa %s), rip %s%s: %s, cpu %s" % (
        field(e, "function"), field(e, "gpa"), field(e, "rip"),
        (" (" + val(insn) + ")") if isinstance(insn, str) else "", field(e, "action"),
        field(e, "cpu"))


def r_hook_tamper_count(e):
    return "%s attempts to change vigil's hooks so far (dropped %s, undone %s; %s not itemised)" % (
        field(e, "attempts"), field(e, "dropped"), field(e, "undone"), field(e, "unreported"))


def r_cpu_bare(e):
    return "cpu %s (APIC %s) runs without vigil: %s (%s); on_no_vmx %s" % (
        field(e, "cpu"), field(e, "apic_id"), field(e, "why"), field(e, "error"),
        field(e, "on_no_vmx"))


def r_protection_void(e):
    return "vigil's memory is not protected: %s (%s bare cpu(s), on_no_vmx %s)" % (
        field(e, "reason"), field(e, "cpus_bare"), field(e, "on_no_vmx"))


def r_ipi_dropped(e):
    return "%s from cpu %s to parked cpu %s (APIC %s) dropped: %s" % (
        field(e, "ipi"), field(e, "from_cpu"), field(e, "to_cpu"), field(e, "apic_id"),
        field(e, "why"))


def r_init_received(e):
    src = e.get("from_cpu", e.get("from"))
    return "cpu %s (APIC %s) received an INIT from %s%s: %s (%s INITs)" % (
        field(e, "cpu"), field(e, "apic_id"), val(src),
        " (the boot cpu)" if e.get("boot_cpu") is True else "", field(e, "state"),
        field(e, "inits"))


def r_cpu_stalled(e):
    return "cpu %s (APIC %s%s) has taken no VM exit for %s ms (%s, last exit %s), seen by cpu %s" % (
        field(e, "cpu"), field(e, "apic_id"), ", the boot cpu" if e.get("boot_cpu") is True else "",
        field(e, "silent_ms"), field(e, "state"), field(e, "last_exit"), field(e, "seen_by_cpu"))


def r_cpu_resumed(e):
    return "cpu %s takes VM exits again after %s ms" % (field(e, "cpu"), field(e, "silent_ms"))


def r_hook_forgery(e):
    return ("a jump into vigil's hook on %s (rip %s) with arguments the kernel never passes: %s "
            "(task %s, running pid %s %s, cpu %s; %s so far)") % (
        field(e, "function"), field(e, "rip"), field(e, "reason"), field(e, "task"),
        field(e, "cur_pid"), field(e, "cur_comm"), field(e, "cpu"), field(e, "count"))


def r_report_lost(e):
    return "%s report lines lost (output ring full)" % field(e, "lines")


def r_proc_start(e):
    return "+ start pid %s (%s) parent %s uid %s" % (field(e, "pid"), field(e, "comm"),
                                                     field(e, "ppid"), field(e, "uid"))


def r_proc_exec(e):
    return "* exec  pid %s (%s)" % (field(e, "pid"), field(e, "comm"))


def r_proc_rename(e):
    return "~ name  pid %s (%s)" % (field(e, "pid"), field(e, "comm"))


def r_proc_exit(e):
    if "signal" in e:
        how = "killed by signal %s" % field(e, "signal")
    else:
        how = "code %s" % field(e, "code")
    return "- exit  pid %s (%s) %s" % (field(e, "pid"), field(e, "comm"), how)


def r_integrity(e):
    return "integrity: " + kv(e)


RENDERERS = {
    "start": r_start, "config_error": r_config_error, "config_sealed": r_config_sealed,
    "config_changed": r_config_changed, "config_seal_error": r_config_seal_error, "vmx": r_vmx,
    "halt": r_halt, "hv_load": r_hv_load, "cpu_up": r_cpu_up, "cpu_fail": r_cpu_fail,
    "hv_up": r_hv_up, "chainload": r_chainload, "heartbeat": r_heartbeat,
    "os_running": r_os_running, "hv_memory": r_hv_memory, "hv_access": r_hv_access,
    "hv_access_count": r_hv_access_count, "guest_state": r_guest_state,
    "cpu_parked": r_cpu_parked, "hv_fault": r_hv_fault, "reset": r_reset, "profile": r_profile,
    "os": r_os, "kernel": r_kernel, "proc": r_proc, "module": r_module,
    "profile_mismatch": r_profile_mismatch, "vmi_error": r_vmi_error, "rescan": r_rescan,
    "live_hook": r_live_hook, "hook_tamper": r_hook_tamper,
    "hook_tamper_count": r_hook_tamper_count, "hook_forgery": r_hook_forgery,
    "report_lost": r_report_lost, "cpu_bare": r_cpu_bare, "protection_void": r_protection_void,
    "ipi_dropped": r_ipi_dropped, "init_received": r_init_received, "cpu_stalled": r_cpu_stalled,
    "cpu_resumed": r_cpu_resumed,
    "proc_start": r_proc_start, "proc_exec": r_proc_exec, "proc_rename": r_proc_rename,
    "proc_exit": r_proc_exit, "integrity": r_integrity,
}


def is_alert(e):
    ev = e["ev"]
    if ev in ALERT_EVENTS or ev.startswith("integrity_"):
        return True
    # A seal variable with foreign attributes was created from outside the loader (the OS).
    return ev == "config_seal_error" and e.get("stage") == "untrusted"


def render(e):
    """The event as one line of text (no marker, no colour)."""
    ev = e["ev"]
    fn = RENDERERS.get(ev)
    text = None
    if fn is not None:
        try:
            text = fn(e)
        except Exception:  # a value of an unexpected type: fall back to key=value
            text = None
    if text is None:
        text = "%s: %s" % (safe(ev), kv(e))
    t = e.get("t")
    if is_int(t) and ev.startswith("proc_"):
        text = "[%d.%03d] %s" % (t // 1000, t % 1000, text)
    if len(text) > RENDER_MAX:
        text = text[:RENDER_MAX] + " ... (%d more characters)" % (len(text) - RENDER_MAX)
    return text


class ProcTree:
    """The guest's processes as the events describe them: the first snapshot (`proc`), live
    events (`proc_start/exec/rename/exit`) and re-scans (`rescan` new/gone/renamed and the pids
    the live view missed). At most max_procs processes are tracked; more are counted."""

    def __init__(self, max_procs):
        self.max_procs = max_procs
        self.procs = {}  # pid -> {"ppid": int|None, "comm": str|None, "uid": int|None, ...}
        self.untracked = 0  # processes not tracked because of the cap
        self.boots = 0

    @staticmethod
    def _pid(v):
        return v if is_int(v) and 0 <= v < (1 << 31) else None

    def _put(self, pid, **fields):
        p = self.procs.get(pid)
        if p is None:
            if len(self.procs) >= self.max_procs:
                self.untracked += 1
                return
            p = self.procs[pid] = {"ppid": None, "comm": None, "uid": None, "kthread": False}
        for k, v in fields.items():
            if v is not None:
                p[k] = v

    def apply(self, e):
        ev = e["ev"]
        if ev == "start":  # a new boot: the previous guest's processes are gone
            self.procs.clear()
            self.untracked = 0
            self.boots += 1
            return
        if ev in ("proc", "proc_start", "proc_exec", "proc_rename", "proc_exit"):
            pid = self._pid(e.get("pid"))
            if pid is None:
                return
            comm = e.get("comm") if isinstance(e.get("comm"), str) else None
            if ev == "proc_exit":
                self.procs.pop(pid, None)
                return
            ppid = self._pid(e.get("ppid")) if ev in ("proc", "proc_start") else None
            uid = e.get("uid") if is_int(e.get("uid")) else None
            kthread = e.get("kthread") if isinstance(e.get("kthread"), bool) else None
            self._put(pid, ppid=ppid, comm=comm, uid=uid, kthread=kthread)
        elif ev == "rescan":
            for key in ("new", "renamed"):
                items = e.get(key)
                if isinstance(items, list):
                    for it in items:
                        if isinstance(it, dict) and self._pid(it.get("pid")) is not None:
                            c = it.get("comm")
                            self._put(it["pid"], comm=c if isinstance(c, str) else None)
            items = e.get("live_missed_start")
            if isinstance(items, list):
                for pid in items:
                    if self._pid(pid) is not None:
                        self._put(pid)
            for key in ("gone", "live_missed_exit"):
                items = e.get(key)
                if isinstance(items, list):
                    for it in items:
                        pid = self._pid(it.get("pid")) if isinstance(it, dict) else self._pid(it)
                        if pid is not None:
                            self.procs.pop(pid, None)

    def lines(self):
        """The tree, children under their parent (by pid), as text lines. Processes whose parent
        is unknown (or exited) are roots; a parent loop (possible in a hostile stream) is broken
        by printing each process once."""
        children = {}
        roots = []
        for pid, p in self.procs.items():
            pp = p["ppid"]
            if pp is not None and pp != pid and pp in self.procs:
                children.setdefault(pp, []).append(pid)
            else:
                roots.append(pid)
        head = "process tree: %d process%s" % (len(self.procs),
                                               "" if len(self.procs) == 1 else "es")
        if self.untracked:
            head += " (%d more not tracked: --max-procs %d)" % (self.untracked, self.max_procs)
        out = [head]
        seen = set()

        def walk(start):
            stack = [(start, 0)]
            while stack:
                pid, depth = stack.pop()
                if pid in seen:
                    continue
                seen.add(pid)
                p = self.procs[pid]
                line = "%s%d %s" % ("  " * min(depth, 64), pid,
                                    safe(p["comm"]) if p["comm"] is not None else "?")
                if p["kthread"]:
                    line += " [kthread]"
                elif p["uid"] is not None:
                    line += " uid %d" % p["uid"]
                out.append(line)
                for c in sorted(children.get(pid, ()), reverse=True):
                    stack.append((c, depth + 1))

        for pid in sorted(roots):
            walk(pid)
        for pid in sorted(self.procs):  # members of a parent loop: no root leads to them
            if pid not in seen:
                walk(pid)
        return out


class LineSplitter:
    """Bytes in, complete lines out, never holding more than max_line bytes: the rest of a longer
    line is discarded up to its newline and counted."""

    def __init__(self, max_line):
        self.max_line = max_line
        self.buf = bytearray()
        self.discarding = False
        self.overlong = 0

    def feed(self, data):
        lines = []
        start = 0
        while start < len(data):
            nl = data.find(b"\n", start)
            end = len(data) if nl < 0 else nl
            if not self.discarding:
                self.buf += data[start:end]
                if len(self.buf) > self.max_line:
                    self.overlong += 1
                    self.buf = bytearray()
                    self.discarding = True
            if nl < 0:
                break
            if self.discarding:
                self.discarding = False
            else:
                lines.append(bytes(self.buf))
            self.buf = bytearray()
            start = nl + 1
        return lines

    def take_rest(self):
        """The unterminated tail (the input ended or was replaced mid-line)."""
        rest = None if self.discarding or not self.buf else bytes(self.buf)
        self.buf = bytearray()
        self.discarding = False
        return rest


def parse_event(b):
    # UTF-8 only (vigil escapes everything else): json.loads(bytes) would also guess UTF-16/32.
    try:
        e = json.loads(b.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    if isinstance(e, dict) and isinstance(e.get("ev"), str):
        return e
    return None


def classify(line):
    """('event', dict, json_bytes, prefix_len) | ('text', str, None, prefix_len) |
    ('junk', None, None, 0) for one line without its newline."""
    line = line.strip(b"\r\t ")
    if not line:
        return ("empty", None, None, 0)
    if line[:1] == b"{":
        e = parse_event(line)
        if e is not None:
            return ("event", e, line, 0)
    # The firmware's console (screen-control sequences, no newline) can precede vigil's first
    # line on the same line; a line cut by a reconnect can precede a whole one only if the
    # newline was lost too. Try the event marker a few times, then vigil's text-mode prefix.
    pos = line.find(EV_MARK, 1)
    tries = 0
    while pos >= 0 and tries < MAX_RECOVERY_TRIES:
        e = parse_event(line[pos:])
        if e is not None:
            return ("event", e, line[pos:], pos)
        tries += 1
        pos = line.find(EV_MARK, pos + 1)
    pos = line.find(TEXT_MARK)
    if pos >= 0:
        return ("text", line[pos:].decode("utf-8", "replace"), None, pos)
    return ("junk", None, None, 0)


class Watcher:
    """Everything that happens to a line after it was read: counting, the process tree,
    filtering, rendering and writing."""

    def __init__(self, out, args, colour):
        self.out = out
        self.json = args.json
        self.evs = args.ev
        self.pids = args.pid
        self.colour = colour
        self.time = args.time
        self.tree = ProcTree(args.max_procs)
        self.counts = {}
        self.other_kinds = 0
        self.events = 0
        self.alerts = 0
        self.alerts_hidden = 0
        self.shown = 0
        self.text_lines = 0
        self.first_partial = 0
        self.noise = 0
        self.garbage = 0
        self.prefix_dropped = 0
        self.cut = 0
        self.overlong = 0  # from the LineSplitter, at the end
        self.lines_seen = 0
        self.seen_event = False

    def selected(self, e):
        if self.evs is not None and e["ev"] not in self.evs:
            return False
        if self.pids is not None:
            return bool(self.pids & event_pids(e))
        return True

    def emit(self, text, kind):
        if self.time:
            text = time.strftime("%H:%M:%S ") + text
        if kind == "alert":
            text = "!! " + text
            if self.colour:
                text = "\x1b[1;31m" + text + "\x1b[0m"
        elif kind == "problem":
            text = "!  " + text
            if self.colour:
                text = "\x1b[33m" + text + "\x1b[0m"
        self.out.write(text + "\n")
        self.out.flush()

    def line(self, raw, cut=False):
        first = self.lines_seen == 0
        self.lines_seen += 1
        kind, e, js, prefix = classify(raw)
        if kind == "empty":
            return
        if kind == "junk":
            stripped = raw.rstrip(b"\r\t ")
            if cut:
                self.cut += 1
            elif first and stripped.endswith(b"}"):
                # Joined mid-line (a cable plugged in, a reader started late): the tail of an
                # event, which is not an event.
                self.first_partial += 1
            elif self.seen_event:
                self.garbage += 1
            else:
                self.noise += 1
            return
        if prefix:
            self.prefix_dropped += 1
        if kind == "text":
            self.text_lines += 1
            if not self.json and self.evs is None and self.pids is None:
                self.emit(safe(e), "text")
            return
        self.seen_event = True
        self.events += 1
        ev = e["ev"]
        if ev in self.counts:
            self.counts[ev] += 1
        elif len(self.counts) < MAX_EV_KINDS:
            self.counts[ev] = 1
        else:
            self.other_kinds += 1
        self.tree.apply(e)
        alert = is_alert(e)
        if alert:
            self.alerts += 1
        if not self.selected(e):
            if alert:
                self.alerts_hidden += 1
            return
        self.shown += 1
        if self.json:
            self.out.write(js.decode("utf-8", "replace") + "\n")
            self.out.flush()
            return
        self.emit(render(e), "alert" if alert else "problem" if ev in PROBLEM_EVENTS else "event")

    def summary(self):
        parts = ["%d event%s" % (self.events, "" if self.events == 1 else "s")]
        if self.evs is not None or self.pids is not None:
            parts.append("%d shown" % self.shown)
        if self.alerts:
            parts.append("%d integrity/tamper event%s%s" % (
                self.alerts, "" if self.alerts == 1 else "s",
                (" (%d hidden by filters)" % self.alerts_hidden) if self.alerts_hidden else ""))
        for n, what in ((self.text_lines, "text-mode lines"),
                        (self.noise, "lines before vigil's first event (firmware console)"),
                        (self.prefix_dropped, "lines with bytes before the event dropped"),
                        (self.first_partial, "partial first line dropped (joined mid-line)"),
                        (self.garbage, "garbage lines"),
                        (self.cut, "cut lines (input ended or was replaced mid-line)"),
                        (self.overlong, "overlong lines dropped"),
                        (self.other_kinds, "events of further kinds not counted by name")):
            if n:
                parts.append("%d %s" % (n, what))
        if self.tree.untracked:
            parts.append("%d processes not tracked (--max-procs %d)" % (self.tree.untracked,
                                                                         self.tree.max_procs))
        return "vigil-watch: " + ", ".join(parts)


def event_pids(e):
    """Every pid an event is about."""
    pids = set()
    p = e.get("pid")
    if is_int(p):
        pids.add(p)
    if e["ev"] == "rescan":
        for key in ("new", "gone", "renamed", "live_missed_start", "live_missed_exit"):
            items = e.get(key)
            if isinstance(items, list):
                for it in items:
                    q = it.get("pid") if isinstance(it, dict) else it
                    if is_int(q):
                        pids.add(q)
    return pids


def csv_set(values, conv):
    out = set()
    for v in values:
        for part in v.split(","):
            part = part.strip()
            if part:
                out.add(conv(part))
    return out


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="vigil-watch",
        description="Read vigil's report stream and print it as readable lines.",
        epilog="Exit status: 0 no integrity/tamper event seen; 1 at least one seen (%s; also "
        "when filters hide it); 2 bad usage or the input could not be opened or read." %
        ", ".join(sorted(ALERT_EVENTS) + ["config_seal_error with stage untrusted"]))
    ap.add_argument("input", nargs="?", default="-",
                    help="serial device, pty, file, or - for stdin (default)")
    ap.add_argument("--baud", type=int, default=115200,
                    help="baud rate set with stty on a terminal device (default 115200)")
    ap.add_argument("--no-stty", action="store_true",
                    help="leave a terminal device's settings alone")
    ap.add_argument("-F", "--follow", action="store_true",
                    help="file input: keep reading as it grows, reopen it when it is replaced "
                    "or truncated, wait for it to appear (like tail -F)")
    ap.add_argument("--ev", action="append", metavar="EV[,EV...]",
                    help="show only these events (repeatable)")
    ap.add_argument("--pid", action="append", metavar="N[,N...]",
                    help="show only events about these pids (repeatable)")
    ap.add_argument("--json", action="store_true",
                    help="print the (filtered) JSON lines unchanged instead of text")
    ap.add_argument("--tree", action="store_true",
                    help="print the process tree at the end (SIGUSR1 prints it at any time)")
    ap.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                    help="colour the markers (auto: when writing to a terminal, unless NO_COLOR)")
    ap.add_argument("--time", action="store_true", help="prefix lines with the host's time")
    ap.add_argument("-q", "--quiet", action="store_true", help="no summary line on stderr")
    ap.add_argument("--max-line", type=int, default=DEFAULT_MAX_LINE,
                    help="longest line kept, in bytes (default %d)" % DEFAULT_MAX_LINE)
    ap.add_argument("--max-procs", type=int, default=DEFAULT_MAX_PROCS,
                    help="processes tracked at most (default %d)" % DEFAULT_MAX_PROCS)
    args = ap.parse_args(argv)
    try:
        args.ev = csv_set(args.ev, str) if args.ev else None
        args.pid = csv_set(args.pid, int) if args.pid else None
    except ValueError:
        ap.error("--pid takes numbers")
    if args.max_line < 64 or args.max_procs < 1 or args.baud <= 0:
        ap.error("--max-line must be at least 64, --max-procs and --baud positive")
    return args


class Source:
    """The input: a descriptor to read from, and for --follow files, what it takes to notice that
    the file grew, was truncated or replaced."""

    def __init__(self, path, follow, err):
        self.path = path
        self.follow = follow
        self.err = err
        self.fd = None
        self.regular = False
        self.tty = False
        self.pos = 0
        self.ident = None

    def open(self):
        if self.path == "-":
            self.fd = 0
            self.tty = os.isatty(0)
            return True
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        except FileNotFoundError:
            if self.follow:
                return False
            raise
        st = os.fstat(fd)
        self.fd = fd
        self.regular = stat.S_ISREG(st.st_mode)
        self.tty = os.isatty(fd)
        self.ident = (st.st_dev, st.st_ino)
        self.pos = 0
        return True

    def replaced(self):
        """For --follow at the end of the file: 'truncated', 'replaced' or None."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None  # gone for now: keep the old file (tail -F waits likewise)
        if (st.st_dev, st.st_ino) != self.ident:
            return "replaced"
        if st.st_size < self.pos:
            return "truncated"
        return None


class Flags:
    tree = False
    stop = False


def set_up_tty(fd, baud, err):
    """Raw mode (no echo, no line editing, no CR/NL translation), the baud rate, and CLOCAL so
    reads do not wait for a carrier, with stty on the open descriptor."""
    try:
        r = subprocess.run(["stty", str(baud), "raw", "-echo", "clocal"], stdin=fd,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    except OSError as ex:
        err.write("vigil-watch: stty: %s\n" % ex)
        return False
    if r.returncode != 0:
        err.write("vigil-watch: stty %d raw failed: %s\n" % (
            baud, r.stderr.decode("utf-8", "replace").strip()))
        return False
    return True


def run(argv, stdout=None, stderr=None):
    args = parse_args(argv)
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    if hasattr(out, "reconfigure"):
        out.reconfigure(errors="backslashreplace")
    colour = args.color == "always" or (args.color == "auto" and not args.json and
                                        hasattr(out, "isatty") and out.isatty() and
                                        "NO_COLOR" not in os.environ and
                                        os.environ.get("TERM") != "dumb")
    w = Watcher(out, args, colour)
    split = LineSplitter(args.max_line)
    tree_out = err if args.json else out
    flags = Flags()

    def on_usr1(signum, frame):
        flags.tree = True

    def on_stop(signum, frame):
        flags.stop = True

    old_handlers = {sig: signal.signal(sig, fn) for sig, fn in (
        (signal.SIGUSR1, on_usr1), (signal.SIGINT, on_stop), (signal.SIGTERM, on_stop))}
    try:
        return watch(args, w, split, flags, out, err, tree_out)
    finally:
        for sig, fn in old_handlers.items():
            signal.signal(sig, fn)


def watch(args, w, split, flags, out, err, tree_out):
    """The read loop: until the input ends, fails or a signal stops it. Returns the status."""

    def print_tree():
        for ln in w.tree.lines():
            tree_out.write(ln + "\n")
        tree_out.flush()

    src = Source(args.input, args.follow, err)
    status = EXIT_OK
    waiting = False
    try:
        while not src.open():
            if not waiting:
                err.write("vigil-watch: waiting for %s to appear\n" % args.input)
                waiting = True
            if flags.stop:
                break
            time.sleep(0.25)
    except OSError as ex:
        err.write("vigil-watch: %s: %s\n" % (args.input, ex.strerror or ex))
        return EXIT_ERROR
    if src.fd is not None and src.tty and src.path != "-" and not args.no_stty:
        if not set_up_tty(src.fd, args.baud, err):
            return EXIT_ERROR

    def flush_rest():
        rest = split.take_rest()
        if rest is not None:
            w.line(rest, cut=parse_event(rest.strip(b"\r\t ")) is None)

    try:
        while src.fd is not None and not flags.stop:
            if flags.tree:
                flags.tree = False
                print_tree()
            if not src.regular:
                try:
                    ready, _, _ = select.select([src.fd], [], [], 0.5)
                except InterruptedError:
                    continue
                if not ready:
                    continue
            try:
                data = os.read(src.fd, 65536)
            except BlockingIOError:
                continue
            except OSError as ex:
                if src.tty and ex.errno in (errno.EIO, errno.ENODEV):
                    if not args.quiet:
                        err.write("vigil-watch: %s: hung up (%s)\n" % (args.input, ex.strerror))
                    break
                err.write("vigil-watch: %s: read: %s\n" % (args.input, ex.strerror or ex))
                status = EXIT_ERROR
                break
            if data:
                src.pos += len(data)
                for ln in split.feed(data):
                    w.line(ln)
                continue
            if not (src.regular and args.follow):
                break
            change = src.replaced()
            if change is None:
                time.sleep(0.2)
                continue
            flush_rest()
            if not args.quiet:
                err.write("vigil-watch: %s %s: reading it from its start\n" % (args.input, change))
            if change == "truncated":
                os.lseek(src.fd, 0, os.SEEK_SET)
                src.pos = 0
            else:
                os.close(src.fd)
                src.fd = None
                while not flags.stop and not src.open():
                    time.sleep(0.25)
        flush_rest()
        w.overlong = split.overlong
        if args.tree:
            print_tree()
        if not args.quiet:
            err.write(w.summary() + "\n")
            err.flush()
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, the status still counts.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
    if src.fd not in (None, 0):
        os.close(src.fd)
    if w.alerts:
        return EXIT_ALERT
    return status


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))

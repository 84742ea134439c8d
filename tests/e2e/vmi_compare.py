#!/usr/bin/env python3
"""Compares vigil-vmi --jsonl output with the guest's own ground truth (tests/scenarios/vmi-truth.sh).

usage: vmi_compare.py TRUTH REPORT VMLINUX EXPECTED_SOURCE [DUMP.elf]
       vmi_compare.py --same TRUTH_A TRUTH_B   (exit 0 when two truth blocks agree)

Every process the guest listed in /proc (but the collector shell) must be reported with exactly
the guest's pid, ppid, comm, uid, euid, kthread flag, state and thread ids; no other process may
be reported; the exited process must be absent; every module of /proc/modules must be reported
with its base and size; the os event must carry the release, the KASLR offset (/proc/kallsyms
_text minus the vmlinux link address of _text) and the expected symbol source; the kernel event
the /proc/version banner and the KPTI flag. With DUMP, each "MARK pid address" line (a string
"VMI-MARK <pid>" the process holds at that user address) must be readable through the reported
cr3 of that pid, by a page walk done here independently of vigil. Prints every difference; exit 1
on any.
"""
import json
import struct
import sys

PF_KTHREAD = 0x00200000
PF_WQ_WORKER = 0x00000020


def link_text(vmlinux):
    """Lowest PT_LOAD virtual address of the kernel ELF: the link-time _text."""
    with open(vmlinux, "rb") as f:
        eh = f.read(64)
        if eh[:4] != b"\x7fELF" or eh[4] != 2:
            raise SystemExit("vmi_compare: %s is not an ELF64 file" % vmlinux)
        phoff, = struct.unpack_from("<Q", eh, 32)
        phentsize, phnum = struct.unpack_from("<HH", eh, 54)
        f.seek(phoff)
        best = None
        for _ in range(phnum):
            ph = f.read(phentsize)
            p_type, = struct.unpack_from("<I", ph, 0)
            vaddr, = struct.unpack_from("<Q", ph, 16)
            if p_type == 1 and vaddr >= 0xffffffff80000000 and (best is None or vaddr < best):
                best = vaddr
        return best


class ElfMem:
    """Guest-physical reads from a QEMU ELF dump, and a 4-level page walk."""

    def __init__(self, path):
        import mmap
        self.f = open(path, "rb")
        self.m = mmap.mmap(self.f.fileno(), 0, access=mmap.ACCESS_READ)
        phoff, = struct.unpack_from("<Q", self.m, 32)
        phentsize, phnum = struct.unpack_from("<HH", self.m, 54)
        self.segs = []
        for i in range(phnum):
            p_type, _fl, off, _va, pa, filesz = struct.unpack_from("<IIQQQQ", self.m, phoff + i * phentsize)
            if p_type == 1:
                self.segs.append((pa, filesz, off))

    def read(self, pa, n):
        for base, size, off in self.segs:
            if base <= pa and pa + n <= base + size:
                return self.m[off + pa - base:off + pa - base + n]
        return None

    def virt(self, cr3, va, n, levels=4):
        table = cr3 & 0x000ffffffffff000
        for level in range(levels, 0, -1):
            shift = 12 + 9 * (level - 1)
            raw = self.read(table + ((va >> shift) & 0x1ff) * 8, 8)
            if raw is None:
                return None
            e, = struct.unpack("<Q", raw)
            if not e & 1:
                return None
            if level in (2, 3) and e & 0x80:
                size = 1 << shift
                return self.read((e & 0x000ffffffffff000 & ~(size - 1)) + (va & (size - 1)), n)
            table = e & 0x000ffffffffff000
        return self.read(table + (va & 0xfff), n)


def parse_truth(path):
    t = {"procs": {}, "modules": [], "ksyms": {}, "collector": None, "exited": None, "marks": {}}
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        kind, _, rest = line.partition(" ")
        if kind == "COLLECTOR":
            t["collector"] = int(rest)
        elif kind == "EXITED":
            t["exited"] = int(rest) if rest.strip() else None
        elif kind == "MARK":
            pid, addr = rest.split()
            t["marks"][int(pid)] = int(addr, 16)
        elif kind == "PTI":
            t["pti"] = rest.strip() == "on"
        elif kind == "VERSION":
            t["banner"] = rest.strip()
        elif kind == "RELEASE":
            t["release"] = rest.strip()
        elif kind == "KSYM":
            a, _, n = rest.split()
            t["ksyms"][n] = int(a, 16)
        elif kind == "MODULE":
            f = rest.split()
            t["modules"].append({"name": f[0], "size": int(f[1]), "base": int(f[5], 16)})
        elif kind == "STAT":
            pid, _, stat = rest.partition(" ")
            after = stat[stat.rindex(")") + 2:].split()
            # fields after "(comm)": state(3) ppid(4) ... flags is field 9 -> index 6
            t["procs"].setdefault(int(pid), {})["flags"] = int(after[6])
        elif kind == "STATUS":
            pid, _, kv = rest.partition(" ")
            k, _, v = kv.partition(":")
            t["procs"].setdefault(int(pid), {})[k] = v.strip("\t ")
        elif kind == "TASKS":
            f = rest.split()
            t["procs"].setdefault(int(f[0]), {})["tasks"] = sorted(int(x) for x in f[1:])
    return t


def essentials(t):
    """What the comparison uses, without the collector itself."""
    procs = {}
    for pid, g in t["procs"].items():
        if pid == t["collector"]:
            continue
        name = g.get("Name") or ""
        if g.get("flags", 0) & PF_WQ_WORKER:
            # "+desc"/"-desc": the worker's latest work item, not compared (see main()).
            cut = [i for i in (name.find("+"), name.find("-")) if i >= 0]
            name = name[:min(cut)] if cut else name
        procs[pid] = (name, g.get("State"), g.get("PPid"), g.get("Uid"), g.get("flags"),
                      tuple(g.get("tasks", [])))
    return procs, sorted((m["name"], m["base"], m["size"]) for m in t["modules"])


def same(a_path, b_path):
    """Did anything change between two truth blocks (taken before and after the dump)?"""
    (pa, ma), (pb, mb) = essentials(parse_truth(a_path)), essentials(parse_truth(b_path))
    diffs = []
    for pid in sorted(set(pa) | set(pb)):
        if pa.get(pid) != pb.get(pid):
            diffs.append("pid %d: %r -> %r" % (pid, pa.get(pid), pb.get(pid)))
    if ma != mb:
        diffs.append("modules: %r -> %r" % (ma, mb))
    # A task running while the truth is read was most likely woken by the reading itself (the
    # collector runs on the other CPU); its state at the dump is anyone's guess, so that dump
    # does not count either.
    for pid in sorted(set(pa) | set(pb)):
        for side, procs in (("before", pa), ("after", pb)):
            if procs.get(pid) and (procs[pid][1] or "").startswith("R"):
                diffs.append("pid %d (%s) was running %s the dump" % (pid, procs[pid][0], side))
    for d in diffs:
        print("vmi_compare: changed around the dump: " + d)
    return 1 if diffs else 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--same":
        return same(sys.argv[2], sys.argv[3])
    if len(sys.argv) not in (5, 6):
        raise SystemExit(__doc__)
    truth_path, report_path, vmlinux, want_source = sys.argv[1:5]
    dump = ElfMem(sys.argv[5]) if len(sys.argv) == 6 else None
    t = parse_truth(truth_path)
    errs = []
    procs, mods, os_ev, kern = {}, [], None, None
    for n, line in enumerate(open(report_path, encoding="utf-8"), 1):
        try:
            ev = json.loads(line)
        except ValueError:
            errs.append("report line %d is not JSON: %r" % (n, line[:120]))
            continue
        e = ev.get("ev")
        if e == "proc":
            if ev["pid"] in procs:
                errs.append("pid %d reported twice" % ev["pid"])
            procs[ev["pid"]] = ev
        elif e == "module":
            mods.append(ev)
        elif e == "os":
            os_ev = ev
        elif e == "kernel":
            kern = ev
        elif e in ("vmi_error", "profile_mismatch"):
            errs.append("unexpected event: %s" % line.strip())

    # Kernel identity.
    lt = link_text(vmlinux)
    if os_ev is None:
        errs.append("no os event")
    else:
        if os_ev.get("release") != t.get("release"):
            errs.append("os.release %r, guest says %r" % (os_ev.get("release"), t.get("release")))
        want_kaslr = hex(t["ksyms"]["_text"] - lt)
        if os_ev.get("kaslr") != want_kaslr:
            errs.append("os.kaslr %r, guest _text - link _text = %s" % (os_ev.get("kaslr"), want_kaslr))
        if os_ev.get("source") != want_source:
            errs.append("os.source %r, expected %r" % (os_ev.get("source"), want_source))
    if kern is None:
        errs.append("no kernel event")
    else:
        if kern.get("banner") != t.get("banner"):
            errs.append("kernel.banner %r\n   /proc/version %r" % (kern.get("banner"), t.get("banner")))
        if int(kern.get("text", "0"), 16) != t["ksyms"]["_text"]:
            errs.append("kernel.text %s, /proc/kallsyms _text %x" % (kern.get("text"), t["ksyms"]["_text"]))
        if "pti" in t and kern.get("kpti") != t["pti"]:
            errs.append("kernel.kpti %r, /proc/cpuinfo says pti %r" % (kern.get("kpti"), t["pti"]))

    # Processes.
    truth = {p: v for p, v in t["procs"].items() if p != t["collector"]}
    for pid in sorted(set(truth) - set(procs)):
        errs.append("pid %d (%s) in /proc but not reported" % (pid, truth[pid].get("Name")))
    for pid in sorted(set(procs) - set(truth)):
        errs.append("pid %d (%s) reported but not in /proc" % (pid, procs[pid]["comm"]))
    if t["exited"] is not None and t["exited"] in procs:
        errs.append("exited pid %d reported" % t["exited"])
    checked = 0
    kthread_state_errs = []
    for pid in sorted(set(truth) & set(procs)):
        g, r = truth[pid], procs[pid]
        flags = g.get("flags", 0)
        name = g.get("Name", "")
        uid = g.get("Uid", "").split()
        want = {
            "ppid": int(g.get("PPid", -1)),
            "uid": int(uid[0]) if uid else -1,
            "euid": int(uid[1]) if len(uid) > 1 else -1,
            "kthread": bool(flags & PF_KTHREAD),
            "state": g.get("State", "")[g.get("State", "").find("(") + 1:].rstrip(")"),
            "threads": g.get("tasks", []),
        }
        got = dict(r)
        got["threads"] = sorted(r.get("threads", []))
        for k, v in want.items():
            if got.get(k) != v:
                errs.append("pid %d (%s): %s = %r, guest says %r" % (pid, name, k, got.get(k), v))
                if k == "state" and want["kthread"] and "running" in (v, got.get(k)):
                    kthread_state_errs.append(pid)
        # comm: /proc shows a workqueue worker's comm with "+desc"/"-desc" appended
        # (kernel/workqueue.c wq_worker_comm); everything else verbatim.
        c = r.get("comm")
        if flags & PF_WQ_WORKER:
            ok = name == c or (name.startswith(c) and name[len(c):len(c) + 1] in "+-")
        else:
            ok = name == c
        if not ok:
            errs.append("pid %d: comm %r, guest says %r" % (pid, c, name))
        # cr3: user processes with an address space have one (4 KiB aligned), kernel threads and
        # zombies (mm released) have none.
        cr3 = r.get("cr3")
        if want["kthread"] or want["state"] == "zombie":
            if cr3 is not None:
                errs.append("pid %d (%s): cr3 %r for a process without mm" % (pid, name, cr3))
        elif cr3 is None or int(cr3, 16) & 0xfff or int(cr3, 16) == 0:
            errs.append("pid %d (%s): bad cr3 %r" % (pid, name, cr3))
        checked += 1
    marks = 0
    if dump is not None:
        for pid, addr in sorted(t["marks"].items()):
            r = procs.get(pid)
            if r is None or r.get("cr3") is None:
                errs.append("pid %d: has a memory marker but no reported cr3" % pid)
                continue
            want = b"VMI-MARK %d\0" % pid
            levels = 5 if kern and kern.get("paging") == "5-level" else 4
            got = dump.virt(int(r["cr3"], 16), addr, len(want), levels)
            if got != want:
                errs.append("pid %d: cr3 %s does not map its marker at 0x%x (read %r)" % (pid, r["cr3"], addr, got))
            else:
                marks += 1
    cr3s = [p["cr3"] for p in procs.values() if p.get("cr3")]
    if len(cr3s) != len(set(cr3s)):
        errs.append("two processes share a cr3")

    # Modules.
    rm = {m["name"]: m for m in mods}
    for m in t["modules"]:
        r = rm.get(m["name"])
        if r is None:
            errs.append("module %s in /proc/modules but not reported" % m["name"])
            continue
        if int(r["base"], 16) != m["base"] or r["size"] != m["size"]:
            errs.append("module %s: base %s size %d, /proc/modules says 0x%x %d"
                        % (m["name"], r["base"], r["size"], m["base"], m["size"]))
    for n in set(rm) - {m["name"] for m in t["modules"]}:
        errs.append("module %s reported but not in /proc/modules" % n)

    if errs:
        print("vmi_compare: %d difference(s) (%s mode):" % (len(errs), want_source))
        for e in errs:
            print("  - " + e)
        # Exit 3: every difference is a kernel thread caught in another scheduling state than
        # the guest saw around the dump (a worker woken at that instant). A decoding bug would
        # repeat on every fresh dump; a race does not, so the caller may retry with a new dump.
        if len(errs) == len(kthread_state_errs):
            print("vmi_compare: (only kernel-thread scheduling states differ: a race, or a bug if "
                  "it repeats on fresh dumps)")
            return 3
        return 1
    print("vmi_compare: %s mode: %d processes, %d modules, kernel identity%s: all equal to the guest's truth"
          % (want_source, checked, len(t["modules"]),
             ", %d address spaces (cr3 maps the process's marker)" % marks if dump is not None else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checks a Volatility 3 ISF profile (as vigil-mkprofile writes it) on its own and against the
kernel image it claims to describe. One check per call, so that the test counts each:

  isf_check.py structure    PROFILE                  ISF 6.x structure (see structure())
  isf_check.py closure      PROFILE                  every name a field holds by value is defined
  isf_check.py banner       PROFILE VMLINUX KVER     linux_banner is this image's banner
  isf_check.py symbols      PROFILE VMLINUX          key symbols, at this image's addresses
  isf_check.py types        PROFILE                  the members vigil's walkers read
  isf_check.py volatility   PROFILE SCHEMA_DIR       Volatility 3's own schema for the profile's
                                                     format (SCHEMA_DIR: volatility3/schemas of a
                                                     Volatility 3 source tree; needs jsonschema)

Prints what it checked; on failure every problem found (at most 20), exit status 1.
The structure check is this project's reading of the ISF format: the sections and, for each
kind of entry, the keys it must have, the keys it may have and their JSON types, with no other
keys allowed (the same rules Volatility's schema states), so it runs where Volatility is absent.
"""
import base64
import json
import mmap
import re
import struct
import sys

problems = []


def bad(msg):
    problems.append(msg)


def finish(what):
    if problems:
        for p in problems[:20]:
            print(f"  {p}")
        if len(problems) > 20:
            print(f"  ... {len(problems) - 20} more")
        print(f"isf_check: {what}: {len(problems)} problem(s)")
        sys.exit(1)
    print(f"isf_check: {what}: ok")
    sys.exit(0)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def keys_ok(where, obj, required, optional=()):
    """obj is an object with every required key and no key outside required + optional."""
    if not isinstance(obj, dict):
        bad(f"{where}: not an object")
        return False
    for k in required:
        if k not in obj:
            bad(f"{where}: no '{k}'")
    for k in obj:
        if k not in required and k not in optional:
            bad(f"{where}: unexpected key '{k}'")
    return all(k in obj for k in required)


def check_type(v, pred, where, what):
    if not pred(v):
        bad(f"{where}: {what} expected, got {json.dumps(v)[:60]}")


def descriptor(where, d, depth=0):
    """A type descriptor: pointer, base, array, struct/union/class, enum, function, bitfield."""
    if depth > 64:
        bad(f"{where}: descriptor nested deeper than 64")
        return
    if not isinstance(d, dict) or not isinstance(d.get("kind"), str):
        bad(f"{where}: descriptor without a string 'kind'")
        return
    k = d["kind"]
    if k == "pointer":
        if keys_ok(where, d, ("kind", "subtype"), ("base",)):
            descriptor(where + ".subtype", d["subtype"], depth + 1)
        if "base" in d:
            check_type(d["base"], lambda x: isinstance(x, str), where, "string base")
    elif k in ("base", "enum", "struct", "union", "class"):
        if keys_ok(where, d, ("kind", "name")):
            check_type(d["name"], lambda x: isinstance(x, str), where, "string name")
    elif k == "array":
        if keys_ok(where, d, ("kind", "subtype", "count")):
            check_type(d["count"], is_int, where, "integer count")
            descriptor(where + ".subtype", d["subtype"], depth + 1)
    elif k == "function":
        keys_ok(where, d, ("kind",))
    elif k == "bitfield":
        if keys_ok(where, d, ("kind", "bit_position", "bit_length", "type")):
            check_type(d["bit_position"], is_int, where, "integer bit_position")
            check_type(d["bit_length"], is_int, where, "integer bit_length")
            t = d["type"]
            if not (isinstance(t, dict) and t.get("kind") in ("base", "enum")):
                bad(f"{where}: a bitfield's type must be a base or enum descriptor")
            else:
                descriptor(where + ".type", t, depth + 1)
    else:
        bad(f"{where}: unknown descriptor kind '{k}'")


def structure(isf):
    if not keys_ok("document", isf, ("metadata", "base_types", "user_types", "enums", "symbols")):
        return
    md = isf["metadata"]
    if keys_ok("metadata", md, ("format",), ("producer", "linux", "windows", "mac")):
        check_type(md["format"], lambda x: isinstance(x, str) and re.fullmatch(r"6\.\d+\.\d+", x),
                   "metadata.format", "a 6.x.y format string")
    if len([k for k in ("linux", "windows", "mac") if k in md]) > 1:
        bad("metadata: more than one of linux/windows/mac")
    if "producer" in md:
        p = md["producer"]
        # name and version are required strings; a producer may add keys of its own.
        if keys_ok("metadata.producer", p, ("name", "version"), tuple(p)):
            for k in ("name", "version"):
                check_type(p[k], lambda x: isinstance(x, str), "metadata.producer", "string " + k)
    if "linux" in md and keys_ok("metadata.linux", md["linux"], (), ("symbols", "types")):
        for sect in ("symbols", "types"):
            items = md["linux"].get(sect, [])
            if not isinstance(items, list):
                bad(f"metadata.linux.{sect}: not an array")
                continue
            for i, it in enumerate(items):
                w = f"metadata.linux.{sect}[{i}]"
                if keys_ok(w, it, (), ("kind", "name", "hash_type", "hash_value")):
                    if "kind" in it and it["kind"] not in ("dwarf", "symtab", "system-map"):
                        bad(f"{w}: kind '{it['kind']}' is not dwarf, symtab or system-map")
                    if "hash_type" in it and it["hash_type"] != "sha256":
                        bad(f"{w}: hash_type must be sha256")
    for name, b in isf["base_types"].items():
        w = f"base_types.{name}"
        if keys_ok(w, b, ("size", "signed", "kind", "endian")):
            check_type(b["size"], is_int, w, "integer size")
            check_type(b["signed"], lambda x: isinstance(x, bool), w, "boolean signed")
            check_type(b["kind"], lambda x: x in ("void", "int", "float", "char", "bool"), w,
                       "kind void/int/float/char/bool")
            check_type(b["endian"], lambda x: x in ("little", "big"), w, "endian little/big")
    for name, u in isf["user_types"].items():
        w = f"user_types.{name}"
        if keys_ok(w, u, ("kind", "size", "fields")):
            check_type(u["kind"], lambda x: x in ("struct", "union", "class"), w,
                       "kind struct/union/class")
            check_type(u["size"], is_int, w, "integer size")
            if not isinstance(u["fields"], dict):
                bad(f"{w}.fields: not an object")
                continue
            for fname, f in u["fields"].items():
                fw = f"{w}.{fname}"
                if keys_ok(fw, f, ("type", "offset"), ("anonymous",)):
                    check_type(f["offset"], is_int, fw, "integer offset")
                    if "anonymous" in f:
                        check_type(f["anonymous"], lambda x: isinstance(x, bool), fw,
                                   "boolean anonymous")
                    descriptor(fw + ".type", f["type"])
    for name, e in isf["enums"].items():
        w = f"enums.{name}"
        if keys_ok(w, e, ("size", "base", "constants")):
            check_type(e["size"], is_int, w, "integer size")
            check_type(e["base"], lambda x: isinstance(x, str), w, "string base")
            c = e["constants"]
            if not isinstance(c, dict) or not all(is_int(v) for v in c.values()):
                bad(f"{w}.constants: an object of integers expected")
    for name, s in isf["symbols"].items():
        w = f"symbols.{name}"
        if keys_ok(w, s, ("address",), ("linkage_name", "type", "constant_data")):
            check_type(s["address"], is_num, w, "numeric address")
            if "linkage_name" in s:
                check_type(s["linkage_name"], lambda x: isinstance(x, str), w, "string linkage_name")
            if "type" in s:
                descriptor(w + ".type", s["type"])
            if "constant_data" in s:
                try:
                    base64.b64decode(s["constant_data"], validate=True)
                except Exception:
                    bad(f"{w}.constant_data: not base64")
    nums = {k: len(isf[k]) for k in ("base_types", "user_types", "enums", "symbols")}
    print("  " + ", ".join(f"{v} {k}" for k, v in nums.items()))


def closure(isf):
    """Every base type and every struct/union/enum named in a field, other than through a pointer,
    is defined in the profile (the compact promise: every field has a size)."""
    bases, users, enums = isf["base_types"], isf["user_types"], isf["enums"]
    seen = 0

    def walk(where, d):
        nonlocal seen
        k = d.get("kind")
        seen += 1
        if k == "base" and d["name"] not in bases:
            bad(f"{where}: base type '{d['name']}' not in base_types")
        elif k in ("struct", "union", "class") and d["name"] not in users:
            bad(f"{where}: {k} '{d['name']}' not in user_types")
        elif k == "enum" and d["name"] not in enums:
            bad(f"{where}: enum '{d['name']}' not in enums")
        elif k == "array":
            walk(where, d["subtype"])
        elif k == "bitfield":
            walk(where, d["type"])

    for name, u in users.items():
        for fname, f in u["fields"].items():
            walk(f"user_types.{name}.{fname}", f["type"])
            if f["offset"] > u["size"]:
                bad(f"user_types.{name}.{fname}: offset {f['offset']} beyond the size {u['size']}")
    for name, e in enums.items():
        if e["base"] not in bases:
            bad(f"enums.{name}: base '{e['base']}' not in base_types")
    print(f"  {seen} by-value type references resolved")


class Elf:
    """The vmlinux: PT_LOAD segments (virtual address -> file bytes) and section headers."""

    def __init__(self, path):
        f = open(path, "rb")
        self.m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        m = self.m
        if m[:4] != b"\x7fELF" or m[4] != 2:
            raise ValueError(f"{path}: not a 64-bit ELF file")
        phoff, shoff = struct.unpack_from("<QQ", m, 0x20)
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHHH", m, 0x36)
        self.loads = []
        for i in range(phnum):
            p_type, _, p_offset, p_vaddr, _, p_filesz, _ = struct.unpack_from(
                "<IIQQQQQ", m, phoff + i * phentsize)
            if p_type == 1:
                self.loads.append((p_vaddr, p_offset, p_filesz))
        secs = [struct.unpack_from("<IIQQQQ", m, shoff + i * shentsize) for i in range(shnum)]
        stroff = secs[shstrndx][4]
        self.sections = {}
        for name_off, _, _, addr, _, size in secs:
            end = m.find(b"\0", stroff + name_off)
            self.sections[m[stroff + name_off:end].decode()] = (addr, size)

    def mapped(self, va):
        return any(v <= va < v + n for v, _, n in self.loads)

    def read(self, va, n):
        for v, off, size in self.loads:
            if v <= va and va + n <= v + size:
                return self.m[off + va - v:off + va - v + n]
        return None


def banner(isf, vmlinux, kver):
    sym = isf["symbols"].get("linux_banner")
    if not sym or "constant_data" not in sym:
        bad("symbols.linux_banner with constant_data missing")
        return
    data = base64.b64decode(sym["constant_data"])
    img = Elf(vmlinux).read(sym["address"], len(data))
    if img is None:
        bad(f"linux_banner {sym['address']:#x} is not in the image's loaded segments")
        return
    if img != data:
        bad(f"the image's bytes at linux_banner differ from the profile's banner:\n"
            f"    profile: {data[:120]!r}\n    image:   {img[:120]!r}")
    if not data.startswith(f"Linux version {kver} (".encode()) or not data.endswith(b"\n\0"):
        bad(f"banner is not 'Linux version {kver} (...)\\n': {data[:120]!r}")
    if not re.search(rb" #\d+ SMP ", data):
        bad(f"banner lacks the build number ' #N SMP ' (the weak init/version.c banner?): "
            f"{data[:120]!r}")
    t = sym.get("type", {})
    if t.get("kind") != "array" or t.get("count") != len(data):
        bad(f"linux_banner's type is not char[{len(data)}]: {t}")
    text = data.rstrip(b"\0\n").decode(errors="replace")
    print(f"  {text}")


# Symbols vigil needs (vmi/, hv/intro/hv_live.c); per-CPU ones are offsets, not image addresses.
KEY_SYMBOLS = ("_text", "_etext", "init_task", "linux_banner", "modules", "init_mm", "init_top_pgt",
               "boot_cpu_data", "vmcoreinfo_data", "vmcoreinfo_size", "entry_SYSCALL_64",
               "__start_BTF", "__stop_BTF", "wake_up_new_task", "__set_task_comm", "do_exit")


def symbols(isf, vmlinux):
    elf = Elf(vmlinux)
    syms = isf["symbols"]
    for s in KEY_SYMBOLS:
        if s not in syms:
            bad(f"symbol {s} missing")
        elif s != "__stop_BTF" and s != "_etext" and not elf.mapped(syms[s]["address"]):
            bad(f"symbol {s} at {syms[s]['address']:#x} is outside the image's loaded segments")
    if not any(s in syms for s in ("current_task", "pcpu_hot")):
        bad("neither current_task (<= 6.1) nor pcpu_hot (6.2+)")
    # Anchors the image states itself (section headers), against the kallsyms-decoded addresses.
    anchors = [("_text", ".text", 0), ("_etext", ".text", 1),
               ("__start_BTF", ".BTF", 0), ("__stop_BTF", ".BTF", 1)]
    for sym, sec, at_end in anchors:
        if sym in syms and sec in elf.sections:
            addr, size = elf.sections[sec]
            want = addr + size if at_end else addr
            if syms[sym]["address"] != want:
                edge = "ends" if at_end else "starts"
                bad(f"{sym} = {syms[sym]['address']:#x}, the image's {sec} {edge} at {want:#x}")
        elif sec not in elf.sections:
            bad(f"the image has no {sec} section")
    for s, t in (("init_task", "task_struct"), ("modules", "list_head"), ("init_mm", "mm_struct")):
        if s in syms and syms[s].get("type", {}).get("name") != t:
            bad(f"symbol {s} is not typed struct {t}: {syms[s].get('type')}")
    print(f"  {len(KEY_SYMBOLS)} key symbols present; _text, _etext, __start_BTF, __stop_BTF at "
          "the image's section bounds")


# What the walkers read (vmi/linux_tasks.c, vmi/linux_modules.c, vmi/kernel.c): struct, member
# path (through anonymous members), and the kind of the member's type.
WALKER_MEMBERS = [
    ("task_struct", "tasks", "struct"), ("task_struct", "pid", "base"), ("task_struct", "tgid", "base"),
    ("task_struct", "real_parent", "pointer"), ("task_struct", "comm", "array"),
    ("task_struct", "flags", "base"), ("task_struct", "exit_state", "base"), ("task_struct", "mm", "pointer"),
    ("task_struct", "active_mm", "pointer"), ("task_struct", "real_cred", "pointer"),
    ("task_struct", "__state", "base"), ("task_struct", "group_leader", "pointer"),
    ("task_struct", "signal", "pointer"), ("task_struct", "thread_node", "struct"),
    ("task_struct", "se.exec_start", "base"), ("signal_struct", "thread_head", "struct"),
    ("cred", "uid", "struct"), ("cred", "euid", "struct"), ("mm_struct", "pgd", "pointer"),
    ("module", "list", "struct"), ("module", "name", "array"), ("module", "state", "enum"),
    ("cpuinfo_x86", "x86_capability", "array"), ("list_head", "next", "pointer"),
    ("list_head", "prev", "pointer"), ("kthread", "full_name", "pointer"),
]


def member(users, struct_name, path):
    """The field descriptor at a dotted path, searching anonymous members at any depth."""
    def find(sname, name, depth):
        u = users.get(sname)
        if u is None or depth > 8:
            return None
        if name in u["fields"]:
            return u["fields"][name]
        for fname, f in u["fields"].items():
            t = f["type"]
            anonymous = f.get("anonymous") or fname.startswith("unnamed_field_")
            if anonymous and t.get("kind") in ("struct", "union"):
                r = find(t["name"], name, depth + 1)
                if r is not None:
                    return r
        return None

    f, sname = None, struct_name
    for part in path.split("."):
        f = find(sname, part, 0)
        if f is None:
            return None
        t = f["type"]
        while t.get("kind") == "array":
            t = t["subtype"]
        sname = t.get("name")
    return f


def types(isf):
    users = isf["user_types"]
    for s, path, kind in WALKER_MEMBERS:
        f = member(users, s, path)
        if f is None:
            bad(f"{s}.{path} missing")
        elif f["type"].get("kind") != kind:
            bad(f"{s}.{path} is {f['type'].get('kind')}, want {kind}")
    comm = member(users, "task_struct", "comm")
    if comm and comm["type"].get("count") != 16:
        bad(f"task_struct.comm is not char[16]: {comm['type']}")
    # Module memory: module_layout core_layout/init_layout (<= 6.3) or module_memory mem[] indexed
    # by enum mod_mem_type (6.4+): exactly one of the two, complete.
    old = member(users, "module", "core_layout.base") and member(users, "module", "core_layout.size") \
        and member(users, "module", "init_layout.size")
    new = member(users, "module", "mem")
    if bool(old) == bool(new):
        bad(f"module has {'both' if old else 'neither'} core_layout and mem[]")
    layout = "core_layout/init_layout"
    if new:
        layout = "mem[]"
        t = new["type"]
        consts = isf["enums"].get("mod_mem_type", {}).get("constants", {})
        if t.get("kind") != "array" or t["subtype"].get("name") != "module_memory":
            bad(f"module.mem is not an array of module_memory: {t}")
        elif not (member(users, "module_memory", "base") and member(users, "module_memory", "size")):
            bad("module_memory lacks base or size")
        if "MOD_TEXT" not in consts or consts.get("MOD_MEM_NUM_TYPES") != t.get("count"):
            bad(f"enum mod_mem_type missing or not matching mem[{t.get('count')}]: {consts}")
    print(f"  {len(WALKER_MEMBERS)} walker members present; module memory: {layout}; "
          f"task_struct {users.get('task_struct', {}).get('size')} bytes")


def volatility(isf, schema_dir):
    try:
        import jsonschema  # what Volatility 3 validates with
    except ImportError:
        bad("jsonschema is not installed (Debian: python3-jsonschema)")
        return

    path = f"{schema_dir}/schema-{isf['metadata']['format']}.json"
    schema = json.load(open(path))
    # As volatility3/schemas validate() does: jsonschema.validate(input, schema).
    try:
        jsonschema.validate(isf, schema)
    except jsonschema.ValidationError as e:
        bad(f"{path}: {e.message[:300]} at {'/'.join(map(str, e.absolute_path))}")
    from importlib.metadata import version

    print(f"  validated with jsonschema {version('jsonschema')} against {path}")


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    what, prof = sys.argv[1], sys.argv[2]
    isf = json.load(open(prof))
    if what == "structure":
        structure(isf)
    elif what == "closure":
        closure(isf)
    elif what == "banner" and len(sys.argv) == 5:
        banner(isf, sys.argv[3], sys.argv[4])
    elif what == "symbols" and len(sys.argv) == 4:
        symbols(isf, sys.argv[3])
    elif what == "types":
        types(isf)
    elif what == "volatility" and len(sys.argv) == 4:
        volatility(isf, sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    finish(what)


if __name__ == "__main__":
    main()

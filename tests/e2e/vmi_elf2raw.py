#!/usr/bin/env python3
"""Converts a QEMU dump-guest-memory ELF into vigil-vmi's raw format: a flat guest-physical image
(sparse file, holes stay zero-filled holes) and a register file (docs/vmi.md) with each CPU's
CR0/CR3/CR4 and IDTR from the QEMU notes. Used by tests/e2e/vmi_truth.sh to test the raw path.

usage: vmi_elf2raw.py DUMP.elf OUT.raw OUT.regs [LSTAR]

QEMU's notes have no MSR_LSTAR; when the caller knows it (entry_SYSCALL_64 from the guest's
/proc/kallsyms: Linux writes that address to MSR_LSTAR on every CPU, arch/x86/kernel/cpu/common.c
syscall_init), it goes into every CPU's block so that the LSTAR path is exercised.
"""
import struct
import sys


def main():
    src, raw, regs = sys.argv[1:4]
    lstar = int(sys.argv[4], 16) if len(sys.argv) > 4 else None
    with open(src, "rb") as f, open(raw, "wb") as o:
        eh = f.read(64)
        phoff, = struct.unpack_from("<Q", eh, 32)
        phentsize, phnum = struct.unpack_from("<HH", eh, 54)
        f.seek(phoff)
        phs = [struct.unpack("<IIQQQQQQ", f.read(phentsize)[:56]) for _ in range(phnum)]
        cpus = []
        for (ptype, _fl, off, _va, pa, filesz, _memsz, _al) in phs:
            if ptype == 1 and filesz:
                f.seek(off)
                o.seek(pa)
                left = filesz
                while left:
                    chunk = f.read(min(left, 1 << 24))
                    o.write(chunk)
                    left -= len(chunk)
            elif ptype == 4:
                f.seek(off)
                notes = f.read(filesz)
                p = 0
                while p + 12 <= len(notes):
                    nsz, dsz, typ = struct.unpack_from("<III", notes, p)
                    name = notes[p + 12:p + 12 + nsz]
                    d = p + 12 + ((nsz + 3) & ~3)
                    if name == b"QEMU\0" and typ == 0:
                        desc = notes[d:d + dsz]
                        # QEMUCPUState: 8-byte header, 18 regs, 10 segments of 24 bytes, cr[5].
                        idt = 8 + 18 * 8 + 9 * 24
                        _sel, limit, _fl2, _pad, base = struct.unpack_from("<IIIIQ", desc, idt)
                        cr = struct.unpack_from("<5Q", desc, 8 + 18 * 8 + 10 * 24)
                        cpus.append((cr[0], cr[3], cr[4], base, limit))
                    p = d + ((dsz + 3) & ~3)
    with open(regs, "w") as r:
        r.write("# vigil-vmi register file, made from %s\n" % src)
        for i, (cr0, cr3, cr4, base, limit) in enumerate(cpus):
            r.write("cpu=%d\ncr0=0x%x\ncr3=0x%x\ncr4=0x%x\nidtr_base=0x%x\nidtr_limit=0x%x\n"
                    % (i, cr0, cr3, cr4, base, limit))
            if lstar is not None:
                r.write("lstar=0x%x\n" % lstar)


if __name__ == "__main__":
    main()

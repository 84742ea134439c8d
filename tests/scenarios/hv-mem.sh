#!/bin/sh
# Guest scenario for the self-protection test (tests/e2e/hv_bochs_hide.sh): as root, look for the
# hypervisor in physical memory through /dev/mem and try to overwrite it. vigil's memory is
# EfiReservedMemoryType, which Linux lists as "Reserved" in /proc/iomem; the guest does not know
# which reserved range is vigil's, so for every one between 1 MiB and 4 GiB (no MMIO windows) and
# at most 64 MiB long it
#   - reads all of it: HVMEM-RANGE <start> <end> <non-zero bytes> <"VGIL_HV1" magic count>
#   - reads the first qword: HVMEM-READ <addr> <value>
#   - where that read zero, writes a pattern and reads it back (then writes zero again):
#     HVMEM-WRITE <addr> <value read back>
pattern=0x5a5a5a5a5a5a5a5a
grep -E '^[0-9a-f]+-[0-9a-f]+ : Reserved$' /proc/iomem | while IFS=' -' read -r start end _; do
    s=$((0x$start))
    e=$((0x$end + 1))
    [ "$s" -ge $((0x100000)) ] || continue
    [ "$e" -le $((0x100000000)) ] || continue
    [ $((e - s)) -le $((64 << 20)) ] || continue
    addr=$(printf '0x%x' "$s")
    pages=$(((e - s) / 4096))
    nz=$(dd if=/dev/mem bs=4096 skip=$((s / 4096)) count=$pages 2>/dev/null | tr -d '\000' | wc -c)
    magic=$(dd if=/dev/mem bs=4096 skip=$((s / 4096)) count=$pages 2>/dev/null | grep -a -c VGIL_HV1)
    echo "HVMEM-RANGE $addr $(printf '0x%x' "$e") $nz $magic"
    v=$(devmem "$addr" 64 2>/dev/null || echo error)
    echo "HVMEM-READ $addr $v"
    if [ "$v" = "0x0000000000000000" ]; then
        devmem "$addr" 64 "$pattern" 2>/dev/null
        back=$(devmem "$addr" 64 2>/dev/null || echo error)
        echo "HVMEM-WRITE $addr $back"
        devmem "$addr" 64 0 2>/dev/null
    fi
done
# Guest time for vigil to go on after the attempts (the test wants heartbeats after them).
sleep 60
echo VIGIL-GUEST-READY

#!/bin/sh
# Guest scenario for the self-protection test (tests/e2e/hv_bochs_hide.sh): as root, look for the
# hypervisor in physical memory through /dev/mem and try to overwrite it. vigil's memory is
# EfiReservedMemoryType, which Linux lists as "Reserved" in /proc/iomem; the guest does not know
# which reserved range is vigil's, so it probes the first qword of each one (below 4 GiB, which
# avoids MMIO windows), and writes a pattern where it read zero, restoring zero afterwards.
# Output: HVMEM-READ <addr> <value>, HVMEM-WRITE <addr> <read back after writing the pattern>.
pattern=0x5a5a5a5a5a5a5a5a
grep -E '^[0-9a-f]+-[0-9a-f]+ : Reserved$' /proc/iomem | while IFS=' -' read -r start end _; do
    s=$((0x$start))
    [ "$s" -ge $((0x100000)) ] || continue
    [ "$s" -lt $((0x100000000)) ] || continue
    addr=$(printf '0x%x' "$s")
    v=$(devmem "$addr" 64 2>/dev/null || echo error)
    echo "HVMEM-READ $addr $v"
    if [ "$v" = "0x0000000000000000" ]; then
        devmem "$addr" 64 "$pattern" 2>/dev/null
        back=$(devmem "$addr" 64 2>/dev/null || echo error)
        echo "HVMEM-WRITE $addr $back"
        devmem "$addr" 64 0 2>/dev/null
    fi
done
echo VIGIL-GUEST-READY

#!/bin/sh
# vigil-modules: msr
# vigil-static-c: tests/scenarios/src/hvprobe.c
# Guest scenario for the hypervisor end-to-end test (tests/e2e/hv_bochs_smp.sh): looks for vigil
# from inside the guest and tries to disturb its report port. Results as HVPROBE-* lines.
echo "HVPROBE-CPUINFO-VMX=$(grep -c -w vmx /proc/cpuinfo)"
echo "HVPROBE-CPUINFO-HYPERVISOR=$(grep -c -w hypervisor /proc/cpuinfo)"
modprobe msr && echo "HVPROBE-MSR-MODULE=ok" || echo "HVPROBE-MSR-MODULE=missing"
/bin/hvprobe
# The report UART (COM2, 0x2f8) as the guest sees it: its line status register must read 0xff
# (no device), and nothing written there may reach vigil's report.
lsr=$(dd if=/dev/port bs=1 skip=$((0x2fd)) count=1 2>/dev/null | od -An -tx1 | tr -d ' ')
echo "HVPROBE-REPORT-LSR=$lsr"
forged='{"ev":"forged","by":"guest"}'
i=0
while [ $i -lt ${#forged} ]; do
    printf '%s' "$(echo "$forged" | cut -c$((i + 1)))" | dd of=/dev/port bs=1 seek=$((0x2f8)) count=1 conv=notrunc 2>/dev/null
    i=$((i + 1))
done
printf '\n' | dd of=/dev/port bs=1 seek=$((0x2f8)) count=1 conv=notrunc 2>/dev/null
echo "HVPROBE-FORGE-WRITTEN=${#forged}"
# A process the hypervisor's introspection must find on a re-scan (its comm is the file name).
printf '#!/bin/sh\nwhile :; do sleep 1; done\n' > /bin/vigil-watchme
chmod +x /bin/vigil-watchme
/bin/vigil-watchme &
echo "HVPROBE-WATCHME-PID=$!"
echo "HVPROBE-UNAME=$(uname -r)"
echo VIGIL-GUEST-READY
# Keep running so the test sees heartbeats (and re-scans) after userspace is up.
sleep 30
echo HVPROBE-DONE

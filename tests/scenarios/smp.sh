#!/bin/sh
# vigil-modules: msr
# Guest scenario for multi-CPU runs (the harness's --smp, tests/e2e/hv_bochs_smp_guest.sh):
# prints which CPUs Linux brought online and runs a process pinned to the last online CPU,
# which reports the CPU it really ran on (field 39 of its /proc/PID/stat, "processor"), and the
# boot CPU's local APIC as Linux found it (the apic CPUID flag, which the CPU clears while the
# APIC is globally disabled, and IA32_APIC_BASE through the msr module). Results as SMP-* lines,
# then the sentinel.
online=$(cat /sys/devices/system/cpu/online)
echo "SMP-ONLINE=$online"
echo "SMP-NPROC=$(nproc)"
last=$(($(nproc) - 1))
# A CPU-bound loop pinned to $last: it must run there, not merely be allowed to.
taskset -c "$last" sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i + 1)); done;
    set -- $(cat /proc/$$/stat); shift 38; echo "SMP-PINNED-RAN-ON=$1"' ||
    echo "SMP-PINNED-RAN-ON=taskset-failed"
echo "SMP-APIC-FLAG=$(grep -m1 '^flags' /proc/cpuinfo | grep -c -w apic)"
modprobe msr 2>/dev/null
echo "SMP-APIC-BASE=0x$(dd if=/dev/cpu/0/msr bs=8 count=1 skip=$((0x1b)) iflag=skip_bytes 2>/dev/null |
    od -An -tx8 | tr -d ' ')"
echo "SMP-AFFINITY=$(taskset -p $$ | sed 's/.*: //')"
grep -E '^(CPU|LOC|RES|CAL)' /proc/interrupts | sed 's/^/SMP-IRQ /'
echo VIGIL-GUEST-READY
# Keep running so vigil's heartbeats (and re-scans) are seen after userspace is up.
sleep 30
echo SMP-DONE

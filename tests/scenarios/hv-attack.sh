#!/bin/sh
# vigil-modules: msr
# vigil-static-c: tests/scenarios/src/tscjump.c
# vigil-static-c: tests/scenarios/src/churn.c
# Guest scenario for tests/e2e/hv_bochs_attack.sh (Linux on 2 CPUs: the harness's --smp): the
# guest attacks vigil from inside.
#   1. Churn: thousands of short-lived processes forked on the last CPU while CPU 0 execs a
#      program over and over, so that live events from two CPUs contend for vigil's report path.
#   2. vigil's memory, read through /dev/mem from each CPU in turn (each has its own EPT view):
#      every reserved range between 1 MiB and 4 GiB of at most 64 MiB, its first 16 and last 1024
#      pages, and its first qword:
#        HVMEM-CPU <cpu> <start> <end> <non-zero bytes> <"VGIL_HV1" count> <first qword>
#   3. vigil's clock: CPU 0's time-stamp counter set two minutes back and held there while it
#      climbs back, then two minutes forward.
# Kernel messages off the console: with 2 CPUs the kernel notices the TSC writes ("TSC ADJUST
# differs") and its lines would cut into the scenario's.
dmesg -n 1
modprobe msr || echo "ATTACK-ERROR modprobe msr"
last=$(($(nproc) - 1))
echo "ATTACK-CPUS nproc=$(nproc) online=$(cat /sys/devices/system/cpu/online)"
sleep 8

echo "ATTACK-CHURN-START"
taskset -c "$last" churn 3000 >/tmp/churn.out &
churner=$!
taskset -c 0 sh -c 'i=0; while [ $i -lt 300 ]; do busybox true; i=$((i + 1)); done
    echo "EXECLOOP cpu=0 runs=$i"'
wait "$churner"
cat /tmp/churn.out
echo "ATTACK-CHURN-DONE"

hvmem() { # CPU
    grep -E '^[0-9a-f]+-[0-9a-f]+ : Reserved$' /proc/iomem | while IFS=' -' read -r start end _; do
        s=$((0x$start))
        e=$((0x$end + 1))
        [ "$s" -ge $((0x100000)) ] && [ "$e" -le $((0x100000000)) ] || continue
        [ $((e - s)) -le $((64 << 20)) ] || continue
        pages=$(((e - s) / 4096))
        head=16 tail=1024
        [ "$pages" -ge "$head" ] || head=$pages
        [ "$pages" -ge "$tail" ] || tail=$pages
        taskset -c "$1" dd if=/dev/mem of=/tmp/hv.head bs=4096 skip=$((s / 4096)) count=$head 2>/dev/null
        taskset -c "$1" dd if=/dev/mem of=/tmp/hv.tail bs=4096 skip=$((e / 4096 - tail)) \
            count=$tail 2>/dev/null
        nz=$(cat /tmp/hv.head /tmp/hv.tail | tr -d '\000' | wc -c)
        magic=$(cat /tmp/hv.head /tmp/hv.tail | grep -a -c VGIL_HV1)
        v=$(taskset -c "$1" devmem "$(printf '0x%x' "$s")" 64 2>/dev/null || echo error)
        echo "HVMEM-CPU $1 $(printf '0x%x 0x%x' "$s" "$e") $nz $magic $v"
        rm -f /tmp/hv.head /tmp/hv.tail
    done
}
cpu=0
while [ "$cpu" -le "$last" ]; do
    hvmem "$cpu"
    cpu=$((cpu + 1))
done
echo "ATTACK-HVMEM-DONE"

echo "ATTACK-TSC-BACK"
tscjump 0 -120 hold
echo "ATTACK-TSC-FORWARD"
tscjump 0 120
echo "ATTACK-TSC-DONE"
sleep 20
echo VIGIL-GUEST-READY

#!/bin/sh
# vigil-modules: msr
# vigil-static-c: tests/scenarios/src/tscjump.c
# vigil-static-c: tests/scenarios/src/forkmany.c
# Guest scenario for tests/e2e/hv_bochs_attack.sh: guest root attacks vigil from inside.
#   1. vigil's clock: set CPU 0's time-stamp counter two minutes back and hold it there while it
#      climbs back (the guest's own clocks stand still meanwhile), then two minutes forward.
#      vigil's rescans and heartbeats must go on at their pace through both.
#   2. swamp introspection: 5,000 processes started as fast as fork goes (an ordinary user could);
#      re-scans must count and cross-check all of them, the report stay whole and in order.
modprobe msr || echo "ATTACK-ERROR modprobe msr"
sleep 8
echo "ATTACK-TSC-BACK"
tscjump 0 -120 hold
echo "ATTACK-TSC-FORWARD"
tscjump 0 120
echo "ATTACK-TSC-DONE"
sleep 10
echo "ATTACK-FORK-START"
forkmany 5000 &
n=0
i=0
while [ "$i" -lt 300 ]; do
    n=$(ls -d /proc/[0-9]* | wc -l)
    [ "$n" -ge 5000 ] && break
    sleep 2
    i=$((i + 1))
done
echo "ATTACK-FORK-DONE processes=$n"
sleep 30
echo VIGIL-GUEST-READY

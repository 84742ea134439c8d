#!/bin/sh
# vigil-modules: msr
# vigil-static-c: tests/scenarios/src/tscjump.c
# Guest scenario for tests/e2e/hv_bochs_attack.sh: guest root attacks vigil from inside.
#   1. vigil's clock: set CPU 0's time-stamp counter two minutes back and hold it there while it
#      climbs back (the guest's own clocks stand still meanwhile), then two minutes forward.
#      vigil's rescans and heartbeats must go on at their pace through both.
modprobe msr || echo "ATTACK-ERROR modprobe msr"
sleep 8
echo "ATTACK-TSC-BACK"
tscjump 0 -120 hold
echo "ATTACK-TSC-FORWARD"
tscjump 0 120
echo "ATTACK-TSC-DONE"
sleep 20
echo VIGIL-GUEST-READY

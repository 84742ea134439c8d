#!/bin/sh
# vigil-static-c: tests/scenarios/src/forkmany.c
# Guest scenario for tests/e2e/hv_bochs_swamp.sh: swamp introspection the way an ordinary user
# could, with 5,000 processes forked as fast as the guest goes, then wait for vigil's re-scans.
sleep 5
echo "SWAMP-FORK-START"
forkmany 5000 >/tmp/forkmany.out &
i=0
while [ "$i" -lt 600 ] && ! grep -q '^FORKMANY ' /tmp/forkmany.out; do
    sleep 2
    i=$((i + 1))
done
cat /tmp/forkmany.out
n=$(ls -d /proc/[0-9]* | wc -l)
echo "SWAMP-FORK-DONE processes=$n"
sleep 200
echo VIGIL-GUEST-READY

#!/bin/sh
# vigil-static-c: tests/scenarios/src/liveload.c
# Guest workload of the live-events overhead benchmark (tools/bench-live.sh): 300 fork + exec of
# /bin/true + wait, timed inside the guest by liveload itself (CLOCK_MONOTONIC), the TSC before
# each of the first 20 forks printed with the child's pid. The same initramfs is booted with
# vigil live=on, live=off and without vigil. The first seconds let vigil arm its hooks.
sleep 3
/bin/liveload 300 20
echo "LIVELOAD-STATUS $?"
echo VIGIL-GUEST-READY

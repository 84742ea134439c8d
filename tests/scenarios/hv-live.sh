#!/bin/sh
# Guest scenario for the live-events test (tests/e2e/hv_bochs_live.sh): processes start, exec,
# exit with a code and get killed by a signal in a known order; the pids are printed so the test
# can match vigil's proc_start / proc_exec / proc_exit events against them.
sleep 2
# 1. a child that exits with status 7 (fork of this shell, then exec of busybox sh)
/bin/sh -c 'exit 7' &
p1=$!
wait $p1
echo "LIVE-EXIT7 $p1 $?"
# 2. a child that execs sleep and is killed by SIGKILL
/bin/sleep 300 &
p2=$!
sleep 1
kill -9 $p2
wait $p2
echo "LIVE-KILLED $p2 $?"
# 3. a parent/child chain: the parent execs sh, which starts a child that execs sleep
/bin/sh -c '/bin/sleep 1 & echo "LIVE-CHILD $!"; wait' &
p3=$!
wait $p3
echo "LIVE-PARENT $p3"
ps -o pid,ppid,comm
echo VIGIL-GUEST-READY

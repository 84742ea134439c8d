#!/bin/sh
# vigil-static-c: tests/scenarios/src/kread.c
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
# 4. what the guest reads where vigil hooked do_exit (through /proc/kcore): ftrace's NOP
kread do_exit 5 || echo "KREAD do_exit failed"
# 5. the kernel patches its own code next to a hook: a kprobe at do_exit+5, right after vigil's
#    INT3 on the same page, whose write vigil must let through while keeping its own bytes. A
#    process that exits with 3 afterwards must hit both: vigil's event and the kprobe's count.
t=/sys/kernel/tracing
mount -t tracefs nodev $t 2>/dev/null
if echo 'p:vigil_probe do_exit+5' >$t/kprobe_events && echo 1 >$t/events/kprobes/vigil_probe/enable
then
    /bin/sh -c 'exit 3' &
    p5=$!
    wait $p5
    echo "LIVE-KPROBE $p5 $(awk '$1 == "vigil_probe" { print $2 }' $t/kprobe_profile)"
    echo 0 >$t/events/kprobes/vigil_probe/enable
    echo '-:vigil_probe' >>$t/kprobe_events
else
    echo "LIVE-KPROBE failed"
fi
ps -o pid,ppid,comm
echo VIGIL-GUEST-READY

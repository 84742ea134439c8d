#!/bin/sh
# vigil-modules: dummy
# vigil-static-c: tests/scenarios/src/vmi-procs.c
#
# Ground truth for the VMI end-to-end test (tests/e2e/vmi_truth.sh): starts processes of known
# shape, prints the sentinel VIGIL-GUEST-READY, then for each console line "truth N" prints what
# the guest itself says about every process between VMI-TRUTH-BEGIN N and VMI-TRUTH-END N
# (then VMI-TRUTH-DONE N), sleeping in between so that the harness can dump memory. Truth is gathered by one collector shell that lists /proc with builtins only
# (read/echo), so no other process appears or disappears while it does; its own pid is printed
# (COLLECTOR) and it has exited (reaped) before the sentinel.

modprobe dummy || echo "vmi-truth: modprobe dummy failed"

# Long-lived processes.
vmi-procs threads 3 &
vmi-procs chain 3 &
vmi-procs zombie &
vmi-procs ids 1000 1000 &
vmi-procs ids 1001 0 &
ln -s /bin/vmi-procs /tmp/vmi-a-very-long-process-name
/tmp/vmi-a-very-long-process-name sleep &
stopme=$!
vmi-procs sleep &
keeper=$!
# An exited process: runs and is reaped before the truth is taken.
exited=$(vmi-procs exit)
sleep 1
kill -STOP "$stopme"
sleep 1

# The harness drives the rest through the console: "truth N" makes one truth block; it asks
# for one, dumps memory, lets the guest run and asks again: the dump counts only when both blocks
# agree (nothing changed around the dump).
collect() {
    EXITED=${exited#exited } N=$n sh -c '
echo "VMI-TRUTH-BEGIN $N"
echo "COLLECTOR $$"
echo "EXITED $EXITED"
while read -r l; do
    case "$l" in flags*)
        case " $l " in *" pti "*) echo "PTI on" ;; *) echo "PTI off" ;; esac
        break ;;
    esac
done < /proc/cpuinfo
while read -r l; do echo "VERSION $l"; done < /proc/version
while read -r l; do echo "RELEASE $l"; done < /proc/sys/kernel/osrelease
# grep, not a shell loop: /proc/kallsyms has ~150,000 lines (minutes for a TCG shell loop). The
# grep process has exited (and is reaped) before /proc is listed below.
grep -E " (_text|_stext|init_task|linux_banner|init_top_pgt|entry_SYSCALL_64)\$" /proc/kallsyms |
    while read -r a t n; do echo "KSYM $a $t $n"; done
while read -r l; do echo "MODULE $l"; done < /proc/modules
for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [ "$p" = "$$" ] && continue
    [ -r "$d/stat" ] || continue
    while read -r l; do echo "STAT $p $l"; done < "$d/stat"
    while IFS= read -r l; do
        case "$l" in Name:*|State:*|Tgid:*|Pid:*|PPid:*|Uid:*|Kthread:*) echo "STATUS $p $l" ;; esac
    done < "$d/status"
    tids=""
    for t in "$d"/task/[0-9]*; do tids="$tids ${t##*/}"; done
    echo "TASKS $p$tids"
done
echo "VMI-TRUTH-END $N"
'
}
echo "VIGIL-GUEST-READY"
while read -r cmd n; do
    case "$cmd" in
    truth) collect; echo "VMI-TRUTH-DONE $n" ;;
    esac
done
# Console closed: keep the processes alive for introspection.
wait "$keeper"

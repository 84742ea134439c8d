#!/usr/bin/env bash
# Live process events, under Bochs: vigil reports, from underneath the guest and at the moment
# they happen, the start, exec and exit of the scenario's processes with the right pids, names,
# exit code and signal, in the order they happened. 1 CPU; 4-8 minutes.
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_init hv_bochs_live
e2e_need_vigil
R=$E2E_WORK/report.log C=$E2E_WORK/console.log

e2e_run bochs rc --cpus 1 --scenario "$E2E_TOP/tests/scenarios/hv-live.sh" --set rescan=5 \
    --until '^VIGIL-GUEST-READY' --timeout "${E2E_BOCHS_TIMEOUT:-1500}" \
    --fail "$E2E_HV_FAIL_RE"
e2e_event_summary "$R"
pid_of() { grep -a "^$1 " "$C" | awk '{print $2}' | tr -d '\r' | head -n1; }
p1=$(pid_of LIVE-EXIT7) p2=$(pid_of LIVE-KILLED) p3=$(pid_of LIVE-PARENT) p4=$(pid_of LIVE-CHILD)
p5=$(pid_of LIVE-KPROBE) hits=$(grep -a "^LIVE-KPROBE " "$C" | awk '{print $3}' | tr -d '\r' | head -n1)
# seq of the first event matching a jq filter
seq_of() { e2e_events "$R" "$1" | jq -s -r "map(select($2)) | .[0].seq // empty"; }
in_order() { # seq numbers strictly increasing
    local prev=0 s
    for s in "$@"; do
        [ -n "$s" ] && [ "$s" -gt "$prev" ] || return 1
        prev=$s
    done
}

e2e_check "run-bochs.sh reached the sentinel (exit $rc, want 0)" test "$rc" = 0
e2e_check "no live event refused as a hook forgery (zero false positives on the kernel's paths)" \
    e2e_console_lacks "$R" '"ev":"hook_forgery"'
e2e_check "the three hooks were armed" \
    bash -c "[ \$(grep -c '\"ev\":\"live_hook\"' '$R') -eq 3 ]"
guarded_hooks() { [ "$(e2e_events "$R" live_hook | jq -s "map(select(.$1 == true)) | length")" = 3 ]; }
e2e_check "and guarded (their pages write-protected in EPT)" guarded_hooks guarded
e2e_check "and hidden (execute-only pages, reads see a shadow copy)" guarded_hooks hidden
kread=$(grep -a "^KREAD do_exit " "$C" | awk '{print $3}' | tr -d '\r' | head -n1)
e2e_check "the guest reads ftrace's NOP at do_exit, not vigil's INT3 (/proc/kcore: ${kread:-none})" \
    test "$kread" = 0f1f440000
e2e_check "proc_start for $p1 (the exit-7 child)" e2e_has "$R" proc_start ".pid == ${p1:-0}"
e2e_check "proc_exec of $p1 as sh" e2e_has "$R" proc_exec ".pid == ${p1:-0} and .comm == \"sh\""
e2e_check "proc_exit of $p1 with code 7" e2e_has "$R" proc_exit ".pid == ${p1:-0} and .code == 7"
e2e_check "proc_start, exec (sleep), exit by signal 9 for $p2" \
    in_order "$(seq_of proc_start ".pid == ${p2:-0}")" \
    "$(seq_of proc_exec ".pid == ${p2:-0} and .comm == \"sleep\"")" \
    "$(seq_of proc_exit ".pid == ${p2:-0} and .signal == 9")"
e2e_check "chain: child $p4 of $p3 started with ppid $p3" \
    e2e_has "$R" proc_start ".pid == ${p4:-0} and .ppid == ${p3:-0}"
e2e_check "events in the scenario's order ($p1 exit before $p2 start before $p3 start)" \
    in_order "$(seq_of proc_exit ".pid == ${p1:-0}")" "$(seq_of proc_start ".pid == ${p2:-0}")" \
    "$(seq_of proc_start ".pid == ${p3:-0}")"
live_seq_consecutive() {
    e2e_complete_lines "$R" | grep -E '"ev":"proc_(start|exec|exit|rename)"' |
        jq -s -e '[.[].seq] as $s | all(range(1; $s | length); $s[.] == $s[. - 1] + 1)' >/dev/null
}
e2e_check "every live event carries consecutive seq numbers" \
    live_seq_consecutive
# The kernel writing its own code on a guarded page (a kprobe at do_exit+5, next to vigil's INT3):
# the write goes through (the probe fires), vigil's hook stays (the exit is still reported).
e2e_check "the guest's kprobe at do_exit+5 went in and fired (hits: ${hits:-none}, pid $p5)" \
    test "${hits:-0}" -ge 1 2>/dev/null
e2e_check "proc_exit of $p5 with code 3 after the kprobe went in" \
    e2e_has "$R" proc_exit ".pid == ${p5:-0} and .code == 3"
e2e_check "the kernel's own code patching was not taken for tampering (no hook_tamper)" \
    e2e_not_has "$R" hook_tamper 'true'
e2e_check "re-scans ran and cross-checked the live view" \
    e2e_has "$R" rescan '(.live_missed_start | type == "array") and (.live_missed_exit | type == "array")'
e2e_check "no re-scan found a scenario process the live events had missed" \
    e2e_not_has "$R" rescan "any(.live_missed_start[], .live_missed_exit[]; . == ${p1:-0} or . == ${p2:-0} or . == ${p3:-0} or . == ${p4:-0})"
e2e_done

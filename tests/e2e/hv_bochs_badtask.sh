#!/usr/bin/env bash
# Ring-0 code in the guest feeds vigil's re-scans bad task-list entries, under Bochs
# (tests/scenarios/hv-badtask.sh with the module tests/scenarios/kmod/badtask.c, built for the
# test kernel from Debian's headers): one sleeping process gets a real_parent that faults (an
# unmapped kernel address), another a real_cred that is not canonical. vigil's walk must skip
# both, name them in rescan.bad_tasks with the reason, and carry on: a marker process started
# while they are bad sits behind them in the task list and must show up in a re-scan's new list;
# re-scans go on; once the module restores the pointers the tasks are no longer reported.
# 1 CPU; 4-8 minutes.
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_init hv_bochs_badtask
e2e_need_vigil
R=$E2E_WORK/report.log C=$E2E_WORK/console.log
RESCAN=5

e2e_run bochs rc --cpus 1 --scenario "$E2E_TOP/tests/scenarios/hv-badtask.sh" \
    --set "rescan=$RESCAN" \
    --until '^VIGIL-GUEST-READY' --timeout "${E2E_BOCHS_TIMEOUT:-1500}" --fail "$E2E_HV_FAIL_RE"
e2e_event_summary "$R"

# --- what the guest did (console)
con=$(tr -d '\r' <"$C")
tag() { grep -a "^$1 " <<<"$con" | head -n1 | cut -d' ' -f2-; }
grep -a -E '^BADTASK|badtask: ' <<<"$con" | sed 's/^/  guest: /'
victims=$(tag BADTASK-VICTIMS)
shell=$(sed -n 's/.*shell=\([0-9]*\).*/\1/p' <<<"$victims")
vp=$(sed -n 's/.*parent=\([0-9]*\).*/\1/p' <<<"$victims")
vc=$(sed -n 's/.*cred=\([0-9]*\).*/\1/p' <<<"$victims")
mark=$(tag BADTASK-MARKER)
after=$(tag BADTASK-AFTER)
# "badtask: pid P task T FIELD OLD -> FAKE (reads: no)", T/OLD/FAKE as %px (hex, no 0x)
written() { grep -a -o "badtask: pid $1 task [0-9a-f]* $2 [0-9a-f]* -> [0-9a-f]* (reads: no)" <<<"$con"; }
wp=$(written "${vp:-x}" real_parent)
wc=$(written "${vc:-x}" real_cred)
task_p=$(awk '{ print $5 }' <<<"$wp") old_p=$(awk '{ print $7 }' <<<"$wp") fake_p=$(awk '{ print $9 }' <<<"$wp")
task_c=$(awk '{ print $5 }' <<<"$wc") old_c=$(awk '{ print $7 }' <<<"$wc") fake_c=$(awk '{ print $9 }' <<<"$wc")
restored() { grep -a -q "badtask: pid $1 $2 restored to $3\$" <<<"$con"; }
# vigil writes "0x<hex without leading zeros>".
hex() { sed 's/^0*//; s/^$/0/; s/^/0x/' <<<"$1"; }

e2e_check "run-bochs.sh reached the sentinel (exit $rc, want 0)" test "$rc" = 0
e2e_check "every report line from vigil's start on is a JSON event" e2e_jsonl_ok "$R"
e2e_check "no hypervisor fault, parked CPU or guest-state dump" e2e_no_hv_fault "$R"
e2e_check "the unsigned module loaded (taint $(tag BADTASK-TAINT))" \
    test -n "$(tag BADTASK-TAINT)" -a "$(tag BADTASK-TAINT)" != 0
e2e_check "pid $vp: real_parent $old_p -> $fake_p, which does not read in the guest" test -n "$wp"
e2e_check "pid $vc: real_cred $old_c -> $fake_c, which does not read in the guest" test -n "$wc"

# --- what vigil saw (report)
rescans=$(e2e_events "$R" rescan)
# Re-scans that met a victim's bad entry (the window), as a jq condition.
inwin="any(.bad_tasks[]?; .pid == ${vp:-0} or .pid == ${vc:-0})"
echo "  re-scans from two before the first bad one (or the last 12): t_ms procs bad [pids] [new]"
jq -r -s 'length as $n | (to_entries | map(select((.value.bad // 0) > 0)) | first.key // ($n - 10)) as $k |
    .[([$k - 2, 0] | max):][] |
    "    \(.t_ms) \(.procs) \(.bad // 0) \([.bad_tasks[]? | .pid]) \([.new[] | "\(.pid):\(.comm)"])"' \
    <<<"$rescans" | cut -c1-200
jq -c '.bad_tasks[]?' <<<"$rescans" | sort -u | sed 's/^/  bad task: /'
e2e_check "a re-scan names pid $vp (task $(hex "$task_p")) in bad_tasks: real_parent unreadable" \
    e2e_has "$R" rescan "any(.bad_tasks[]?; .pid == ${vp:-0} and .task == \"$(hex "$task_p")\" and
        .msg == \"real_parent unreadable\")"
e2e_check "a re-scan names pid $vc (task $(hex "$task_c")) in bad_tasks: real_cred unreadable" \
    e2e_has "$R" rescan "any(.bad_tasks[]?; .pid == ${vc:-0} and .task == \"$(hex "$task_c")\" and
        .msg == \"real_cred unreadable\")"
# The marker was started after the victims: it is behind them in the task list, so a walk that
# stopped at a bad entry would never reach it.
e2e_check "the walk went on past the bad tasks: a re-scan that met them lists the marker badmark ($mark) as new" \
    e2e_has "$R" rescan "$inwin and any(.new[]; .pid == ${mark:-0} and .comm == \"badmark\")"
e2e_check "no re-scan failed as a whole (vmi_error stage rescan)" \
    e2e_not_has "$R" vmi_error '.stage == "rescan"'
nwin=$(jq -s "map(select($inwin)) | length" <<<"$rescans")
e2e_check "the live events saw the marker too (proc_exec of badmark, pid $mark)" \
    e2e_has "$R" proc_exec ".pid == ${mark:-0} and .comm == \"badmark\""
e2e_check "re-scans went on while the tasks were bad ($nwin re-scans met them, want >= 4 of the ~7 due)" \
    test "${nwin:-0}" -ge 4
later=$(jq -s "(to_entries | map(select(.value | $inwin)) | last.key) as \$k |
    if \$k == null then 0 else length - \$k - 1 end" <<<"$rescans")
e2e_check "re-scans went on after the last one that met them ($later later)" test "${later:-0}" -ge 1
# From the re-scan that first sees the marker started after the restore, no victim is bad.
clean() {
    local tail
    tail=$(jq -c -s "(to_entries | map(select(any(.value.new[]; .pid == ${after:-0} and
        .comm == \"badafter\"))) | first.key) as \$k | if \$k == null then empty else .[\$k:][] end" \
        <<<"$rescans")
    [ -n "$tail" ] || { echo "  no re-scan lists badafter ($after) as new"; return 1; }
    ! jq -e -s "any(.[]; $inwin)" <<<"$tail" >/dev/null || {
        echo "  a re-scan after the restore still names a victim:"
        jq -c -s "map(select($inwin))[]" <<<"$tail" | cut -c1-300 | sed 's/^/    /'
        return 1
    }
    echo "  $(wc -l <<<"$tail") re-scans from badafter's on, none names pid $vp or $vc"
}
e2e_check "after the restore the tasks are no longer reported bad" clean
e2e_check "the module restored both pointers exactly (guest: PPid of $vp is the shell $shell, Uid of $vc is 0)" \
    all_of restored "${vp:-x}" real_parent "${old_p:-x}" -- restored "${vc:-x}" real_cred "${old_c:-x}" -- \
    test "$(tag BADTASK-PPID)" = "$vp $shell" -- test "$(tag BADTASK-UID)" = "$vc 0"
# From the scenario's start on (a slow Bochs boot has soft-lockup warnings of its own before it).
scen=$E2E_WORK/console-scenario.log
awk '/^vigil-init: kernel .* running/ { on = 1 } on' <<<"$con" >"$scen"
e2e_check "the guest's console shows no kernel oops, BUG or warning from the scenario's start on" \
    all_of test -s "$scen" -- e2e_console_lacks "$scen" \
    'BUG:|Oops|WARNING:|general protection fault|badtask: .* not the value written'
e2e_done

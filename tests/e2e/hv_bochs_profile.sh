#!/usr/bin/env bash
# Introspection from underneath with an ISF profile, under Bochs, 1 CPU,
# two boots of tests/scenarios/hv-profile.sh (3-7 minutes each; timeout E2E_BOCHS_TIMEOUT,
# default 1500 s).
#   A: the profile of the test kernel, made from its Debian package on demand
#      (guest-profiles/profile-for-package.sh, cached under build/profiles/), on
#      the ESP as \debian.isf.json, config `profile = \debian.isf.json`: the loader loads it, the
#      hypervisor identifies the kernel through it (os source "profile", kernel = the guest's
#      `uname -r`), the snapshot, re-scans and live events work.
#   B: the same profile with one byte of its linux_banner changed ("#1 SMP" -> "#9 SMP": same
#      release, different build): profile_mismatch, auto mode (os source "auto"), and the rest
#      still works.
# In both boots the processes the guest's own `ps` lists are compared, pid by pid and name by
# name, with what vigil knows:
#   - live view: the first snapshot (proc events), then every proc_start / proc_exec / proc_exit
#     in report order up to the proc_start of that `ps` (nothing else runs until it has read
#     /proc);
#   - walk view: the snapshot plus the new/gone lists of every re-scan before the one that finds
#     the marker process the scenario starts after 20 s of keeping its process list still (the
#     last of those re-scans, at most one 5 s period before, falls inside that still period);
#     it must equal the ps list without the ps process itself, and that re-scan's `procs` count
#     must be that list's size.
# Pids and names are separate checks: names can only be as fresh as the event that carried them.
# Names are compared as busybox ps shows them: at most 15 characters, and a workqueue worker's
# "-desc"/"+desc" suffix (wq_worker_comm) dropped, which vigil does not report.
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_init hv_bochs_profile
e2e_need_vigil
command -v base64 >/dev/null || {
    e2e_fail "base64 (coreutils) is available"
    e2e_done
}
SCEN=$E2E_TOP/tests/scenarios/hv-profile.sh
BAD=$E2E_WORK/wrong-banner.isf.json
GOOD=$(bash "$E2E_TOP/guest-profiles/profile-for-package.sh" | sed -n 's/^PROFILE=//p')
[ -f "$GOOD" ] || {
    e2e_fail "guest-profiles/profile-for-package.sh made the test kernel's profile"
    e2e_done
}
echo "  profile: $GOOD"

# The wrong profile: jq (1.6 turns 64-bit addresses into doubles, so it does not rewrite the
# file) decodes the banner; the base64 string is replaced textually, everything else stays
# byte-identical.
old_b64=$(jq -r '.symbols.linux_banner.constant_data' "$GOOD")
old_banner=$(base64 -d <<<"$old_b64" | tr -d '\0')
new_b64=$(base64 -d <<<"$old_b64" | sed 's/ #1 SMP / #9 SMP /' | base64 -w0)
new_banner=$(base64 -d <<<"$new_b64" | tr -d '\0')
content=$(<"$GOOD")
printf '%s\n' "${content/"$old_b64"/"$new_b64"}" >"$BAD"
e2e_check "the wrong profile differs from the test kernel's in its banner only" \
    bash -c "[ '$old_b64' != '$new_b64' ] && [ \"\$(jq -r .symbols.linux_banner.constant_data '$BAD')\" = '$new_b64' ] &&
        [ \$(cmp -l '$GOOD' '$BAD' | wc -l) -ge 1 ] && [ \$(stat -c %s '$GOOD') = \$(stat -c %s '$BAD') ]"
echo "  banner: $old_banner"
echo "  wrong:  $new_banner"

boot() { # NAME PROFILE-FILE: one boot; logs NAME-report.log, NAME-console.log, NAME-run.log
    local name=$1 prof=$2
    e2e_run bochs rc --cpus 1 --scenario "$SCEN" \
        --extra-esp-file "$prof:\\debian.isf.json" --set 'profile=\debian.isf.json' \
        --set rescan=5 --until '^VIGIL-GUEST-READY' --timeout "${E2E_BOCHS_TIMEOUT:-1500}" \
        --fail "$E2E_HV_FAIL_RE"
    for f in report console run; do mv "$E2E_WORK/$f.log" "$E2E_WORK/$name-$f.log"; done
    printf -v "rc_$name" '%s' "$rc"
}

# Normalized "pid comm" lines, sorted by pid, of the ps between the scenario's markers.
ps_list() {
    tr -d '\r' <"$1" | sed -n '/^PROFILE-PS-BEGIN$/,/^PROFILE-PS-END$/p' |
        awk '$1 ~ /^[0-9]+$/ { print $1, $3 }' | norm | sort -n
}
norm() { # "pid comm" -> the name as busybox ps shows it, without a workqueue worker's suffix
    awk '{ c = substr($2, 1, 15); if (c ~ /^kworker\//) sub(/[-+].*$/, "", c); print $1, c }'
}
# vigil's events in report order, compact, one per line (from its start event on).
vlines() { e2e_vigil_lines "$1" | grep -E '^\{"ev":"(proc|proc_start|proc_exec|proc_rename|proc_exit|rescan)"'; }
# Live view at the proc_start of the ps (the scenario's shell only waits from there until ps has
# read /proc; busybox ash runs ps in the forked child without an exec, so no proc_exec comes):
# "pid comm named" lines; the ps itself is named 0 (its start carries its parent's name), named = 0 for a
# kernel thread announced by proc_start under kthreadd's name (kthreadd's child is named with
# set_task_comm(exec = false) after wake_up_new_task: no event carries its own name), else 1.
live_view() { # REPORT PS-PID
    vlines "$1" | jq -r -n --argjson ps "$2" '
        reduce (inputs) as $e ({v: {}, done: false, snap: true};
            ($e.pid | tostring) as $k |
            if .done then .
            elif $e.ev == "proc" and .snap then .v[$k] = [$e.comm, 1]
            elif $e.ev == "proc" then .
            elif $e.ev == "rescan" then .snap = false
            elif $e.ev == "proc_start" and $e.pid == $ps then .v[$k] = [$e.comm, 0] | .done = true
            elif $e.ev == "proc_start" then .snap = false |
                .v[$k] = [$e.comm, (if $e.ppid == 2 and $e.comm == "kthreadd" then 0 else 1 end)]
            elif $e.ev == "proc_exec" or $e.ev == "proc_rename" then .snap = false | .v[$k] = [$e.comm, 1]
            elif $e.ev == "proc_exit" then .snap = false | del(.v[$k])
            else . end)
        | if .done then .v | to_entries[] | "\(.key) \(.value[0]) \(.value[1])" else "0 NO-PS-START 1" end' |
        awk '{ c = substr($2, 1, 15); if (c ~ /^kworker\//) sub(/[-+].*$/, "", c); print $1, c, $3 }' |
        sort -n
}
# Walk view: the snapshot plus new/gone of each re-scan, up to (not including) the first re-scan
# that finds the scenario's marker process, started after its still period; then a line
# "# procs N still S psexit E gap G": that last re-scan's procs count, how many re-scans in a row
# before the marker's reported no change, whether the ps's proc_exit came before it (1/0), and
# the milliseconds between it and the marker's re-scan.
walk_view() { # REPORT PS-PID MARKER-PID
    vlines "$1" | jq -r -n --argjson ps "$2" --argjson mk "$3" '
        reduce (inputs) as $e ({v: {}, snap: true, psexit: 0, still: 0, done: false, procs: -1,
                                psexit_at: 0, t: 0, gap: -1};
            if .done then .
            elif $e.ev == "proc" and .snap then .v[$e.pid | tostring] = $e.comm
            elif $e.ev == "rescan" and any($e.new[]; .pid == $mk) then .done = true |
                .gap = $e.t_ms - .t
            elif $e.ev == "rescan" then .snap = false | .procs = $e.procs | .psexit_at = .psexit |
                .t = $e.t_ms |
                (if ($e.new | length) == 0 and ($e.gone | length) == 0 then .still += 1 else .still = 0 end) |
                reduce $e.new[] as $n (.; .v[$n.pid | tostring] = $n.comm) |
                reduce $e.gone[] as $g (.; del(.v[$g.pid | tostring])) |
                reduce ($e.renamed // [])[] as $n (.; .v[$n.pid | tostring] = $n.comm)
            elif $e.ev == "proc_exit" and $e.pid == $ps then .snap = false | .psexit = 1
            elif ($e.ev | startswith("proc_")) then .snap = false
            else . end)
        | if .done then (.v | to_entries[] | "\(.key) \(.value)"),
                "# procs \(.procs) still \(.still) psexit \(.psexit_at) gap \(.gap)"
          else "# NO-RESCAN-FOUND-THE-MARKER" end'
}
same_list() { # WHAT EXPECTED-FILE GOT-FILE
    if [ -s "$2" ] && cmp -s "$2" "$3"; then
        echo "    $1: $(wc -l <"$2") processes, identical"
        return 0
    fi
    echo "    $1 differs (< guest ps, > vigil):"
    diff "$2" "$3" | grep '^[<>]' | head -n 20 | sed 's/^/      /'
    return 1
}

check_common() { # NAME: checks both boots share
    local n=$1 R=$E2E_WORK/$1-report.log C=$E2E_WORK/$1-console.log rcv="rc_$1"
    local uname_r waiter napper marker pspid procs still psexit
    e2e_event_summary "$R"
    uname_r=$(tr -d '\r' <"$C" | sed -n 's/^PROFILE-UNAME=//p' | head -n1)
    waiter=$(tr -d '\r' <"$C" | sed -n 's/^PROFILE-WAITER=//p' | head -n1)
    napper=$(tr -d '\r' <"$C" | sed -n 's/^PROFILE-NAPPER=//p' | head -n1)
    marker=$(tr -d '\r' <"$C" | sed -n 's/^PROFILE-MARKER=//p' | head -n1)
    ps_list "$C" >"$E2E_WORK/$n-ps.txt"
    pspid=$(awk '$2 == "ps" { print $1 }' "$E2E_WORK/$n-ps.txt" | head -n1)
    e2e_check "$n: run-bochs.sh reached the sentinel (exit ${!rcv}, want 0)" test "${!rcv}" = 0
    e2e_check "$n: every report line from vigil's start on is a JSON event" e2e_jsonl_ok "$R"
    e2e_check "$n: the loader loaded the profile" \
        e2e_has "$R" profile '.status == "loaded" and .bytes > 0'
    e2e_check "$n: snapshot from the hypervisor includes pid 1" e2e_has "$R" proc '.pid == 1'
    # A re-scan may catch a process between fork and exec (still "sh"); it then reports it new
    # under that name and a later re-scan reports the rename. Either way a re-scan must name it.
    e2e_check "$n: a re-scan found vigil-waiter ($waiter) and vigil-napper ($napper) by name" all_of \
        e2e_has "$R" rescan "any(.new[]; .pid == ${waiter:-0})" -- \
        e2e_has "$R" rescan "any(.new[], (.renamed // [])[]; .pid == ${waiter:-0} and .comm == \"vigil-waiter\")" -- \
        e2e_has "$R" rescan "any(.new[]; .pid == ${napper:-0})" -- \
        e2e_has "$R" rescan "any(.new[], (.renamed // [])[]; .pid == ${napper:-0} and .comm == \"vigil-napper\")"
    e2e_check "$n: proc_exec of vigil-waiter ($waiter) under that name" \
        e2e_has "$R" proc_exec ".pid == ${waiter:-0} and .comm == \"vigil-waiter\""
    e2e_check "$n: proc_start for vigil-napper ($napper)" e2e_has "$R" proc_start ".pid == ${napper:-0}"
    e2e_check "$n: proc_start and proc_exit (as ps, code 0) for the guest's ps ($pspid)" all_of \
        e2e_has "$R" proc_start ".pid == ${pspid:-0}" -- \
        e2e_has "$R" proc_exit ".pid == ${pspid:-0} and .comm == \"ps\" and .code == 0"
    live_view "$R" "${pspid:-0}" >"$E2E_WORK/$n-live-view-full.txt"
    awk '{ print $1 }' "$E2E_WORK/$n-live-view-full.txt" >"$E2E_WORK/$n-live-pids.txt"
    awk '{ print $1 }' "$E2E_WORK/$n-ps.txt" >"$E2E_WORK/$n-ps-pids.txt"
    awk '$3 == 1 { print $1, $2 }' "$E2E_WORK/$n-live-view-full.txt" >"$E2E_WORK/$n-live-named.txt"
    awk 'NR == FNR { k[$1] = 1; next } ($1 in k)' "$E2E_WORK/$n-live-named.txt" "$E2E_WORK/$n-ps.txt" \
        >"$E2E_WORK/$n-ps-named.txt"
    echo "  live view: $(wc -l <"$E2E_WORK/$n-live-pids.txt") processes, $(grep -c ' 0$' "$E2E_WORK/$n-live-view-full.txt") kernel threads known only as kthreadd's children (no name event)"
    e2e_check "$n: the guest's ps pids = vigil's live view when ps ran (snapshot + start - exit)" \
        same_list "ps vs live view (pids)" "$E2E_WORK/$n-ps-pids.txt" "$E2E_WORK/$n-live-pids.txt"
    e2e_check "$n: and their names, wherever an event carried the name (snapshot, start, exec)" \
        same_list "ps vs live view (names)" "$E2E_WORK/$n-ps-named.txt" "$E2E_WORK/$n-live-named.txt"
    awk -v p="${pspid:-0}" '$1 != p' "$E2E_WORK/$n-ps.txt" >"$E2E_WORK/$n-ps-without-ps.txt"
    walk_view "$R" "${pspid:-0}" "${marker:-0}" >"$E2E_WORK/$n-walk-raw.txt"
    grep -v '^#' "$E2E_WORK/$n-walk-raw.txt" | norm | sort -n >"$E2E_WORK/$n-walk-view.txt"
    read -r _ _ procs _ still _ psexit _ gap <<<"$(grep '^#' "$E2E_WORK/$n-walk-raw.txt")"
    echo "  re-scan before the marker's: procs ${procs:-?}, ${still:-?} re-scan(s) in a row without change, ps exit reported before it: ${psexit:-?}, ${gap:-?} ms before the marker's"
    # The still period lasts 20 s of guest time; re-scans every 5 s: the last one before the
    # marker's (at most ~5 s before it) lies inside it, i.e. after the ps.
    e2e_check "$n: the re-scan compared came in the still period (<= 6000 ms before the marker's: ${gap:-?})" \
        test "${gap:--1}" -ge 0 -a "${gap:--1}" -le 6000
    awk '{ print $1 }' "$E2E_WORK/$n-ps-without-ps.txt" >"$E2E_WORK/$n-ps-without-ps-pids.txt"
    awk '{ print $1 }' "$E2E_WORK/$n-walk-view.txt" >"$E2E_WORK/$n-walk-pids.txt"
    e2e_check "$n: the guest's ps pids (without ps) = vigil's re-scan view after it (snapshot + new - gone)" \
        same_list "ps vs re-scan view (pids)" "$E2E_WORK/$n-ps-without-ps-pids.txt" "$E2E_WORK/$n-walk-pids.txt"
    e2e_check "$n: and their names (a re-scan names a process when it first sees it)" \
        same_list "ps vs re-scan view (names)" "$E2E_WORK/$n-ps-without-ps.txt" "$E2E_WORK/$n-walk-view.txt"
    e2e_check "$n: that re-scan counted $(wc -l <"$E2E_WORK/$n-ps-without-ps.txt") processes (procs $procs)" \
        test "$procs" = "$(wc -l <"$E2E_WORK/$n-ps-without-ps.txt")"
    e2e_check "$n: no hypervisor fault or parked CPU" \
        all_of test -s "$R" -- e2e_no_hv_fault "$R"
    UNAME_R=$uname_r
}

boot A "$GOOD"
check_common A
R=$E2E_WORK/A-report.log
e2e_check "A: os source profile, kernel = guest uname -r ($UNAME_R)" \
    e2e_has "$R" os ".kernel == \"$UNAME_R\" and .source == \"profile\" and (.kaslr | startswith(\"0x\"))"
e2e_check "A: no profile_mismatch" e2e_not_has "$R" profile_mismatch 'true'
e2e_check "A: the kernel event's banner is the profile's (#1 SMP)" \
    e2e_has "$R" kernel '(.banner | startswith("Linux version '"$UNAME_R"' ")) and (.banner | contains(" #1 SMP "))'

boot B "$BAD"
check_common B
R=$E2E_WORK/B-report.log
e2e_check "B: profile_mismatch reported with both banners" \
    e2e_has "$R" profile_mismatch '(.profile_banner | contains(" #9 SMP ")) and (.running_banner | contains(" #1 SMP "))'
e2e_check "B: os source auto, kernel = guest uname -r ($UNAME_R)" \
    e2e_has "$R" os ".kernel == \"$UNAME_R\" and .source == \"auto\""
e2e_done

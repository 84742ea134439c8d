#!/usr/bin/env bash
# Guest root attacks vigil from inside, under Bochs (tests/scenarios/hv-attack.sh), and vigil
# keeps its pace and reports:
#   - vigil's clock: CPU 0's time-stamp counter set two minutes back and held there while it
#     climbs back, then two minutes forward (wrmsr through /dev/cpu/0/msr). The guest's writes
#     land (it reads back its new counter), but heartbeats' uptime never goes back or leaps, and
#     re-scans go on every 5 s while the counter is held back (without vigil's own clock they
#     stop for those two minutes).
#   - introspection swamped: 5,000 processes forked as fast as the guest can; re-scans count them
#     all (no cap), the last one's cross-check with the live view finds nothing missed, and the
#     report stays in order: every gap in the live events' seq is owned up to by report_lost.
# 1 CPU, 1.5 GiB; 6-10 minutes.
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_init hv_bochs_attack
e2e_need_vigil
R=$E2E_WORK/report.log C=$E2E_WORK/console.log
HB=2 RESCAN=5

e2e_run bochs rc --cpus 1 --mem 1536 --scenario "$E2E_TOP/tests/scenarios/hv-attack.sh" \
    --set "heartbeat=$HB" --set "rescan=$RESCAN" \
    --until '^VIGIL-GUEST-READY' --timeout "${E2E_BOCHS_TIMEOUT:-1500}" --fail "$E2E_HV_FAIL_RE"
e2e_event_summary "$R"

e2e_check "run-bochs.sh reached the sentinel (exit $rc, want 0)" test "$rc" = 0
e2e_check "every report line from vigil's start on is a JSON event" e2e_jsonl_ok "$R"
e2e_check "no hypervisor fault, parked CPU or guest-state dump" e2e_no_hv_fault "$R"
e2e_check "no live event refused as a hook forgery (every one came from the kernel's own paths)" \
    e2e_console_lacks "$R" '"ev":"hook_forgery"'

# --- vigil's clock
jumps=$(grep -a '^TSCJUMP ' "$C" | tr -d '\r')
echo "$jumps" | sed 's/^/  guest: /'
landed() { # every jump the guest made is in its counter: read back at least what it wrote
    [ "$(wc -l <<<"$jumps")" = 2 ] || return 1
    local l w a
    while read -r l; do
        w=$(sed -n 's/.* wrote=\([0-9]*\).*/\1/p' <<<"$l")
        a=$(sed -n 's/.* after=\([0-9]*\).*/\1/p' <<<"$l")
        [ -n "$w" ] && [ -n "$a" ] && [ "$a" -ge "$w" ] || return 1
    done <<<"$jumps"
}
e2e_check "the guest's TSC writes landed (it reads back what it wrote)" landed
# Heartbeats from the first tscjump on (earlier ones can be far apart while vigil identifies the
# kernel in one long exit: a cost of its own, not the clock's).
uptimes=$(e2e_vigil_lines "$R" | awk '/"ev":"proc_exec"/ && /"comm":"tscjump"/ { on = 1 } on' |
    grep -F '"ev":"heartbeat"' | jq -r '.uptime_s')
steady() { # uptime_s never goes back, never leaps more than 3 heartbeat intervals
    [ "$(wc -l <<<"$uptimes")" -ge 10 ] || return 1
    awk -v max=$((3 * HB + 2)) 'NR > 1 && ($1 < prev || $1 - prev > max) {
        print "  heartbeat uptime " prev " -> " $1; bad = 1 } { prev = $1 } END { exit bad }' \
        <<<"$uptimes"
}
e2e_check "heartbeat uptime steady through both jumps ($(wc -l <<<"$uptimes") heartbeats)" steady
# Re-scans while the counter was held back: between the exec of the holding tscjump and its exit.
held=$(e2e_vigil_lines "$R" | awk '
    /"ev":"proc_exec"/ && /"comm":"tscjump"/ && !start { start = 1; next }
    start && /"ev":"proc_exit"/ && /"comm":"tscjump"/ { exit }
    start && /"ev":"rescan"/ { n++ }
    END { print n + 0 }')
e2e_check "re-scans went on while the TSC was held back ($held, want >= 12 of the ~24 due)" \
    test "$held" -ge 12
# What vigil costs the guest: per exit reason, and the longest single exit of the run.
last_hb=$(e2e_events "$R" heartbeat | tail -n 1)
echo "  longest exit: $(jq -c '.longest_exit' <<<"$last_hb")"
e2e_check "heartbeat carries each exit reason's cost and the longest exit" jq -e \
    '(.exit_cost_us | keys) == (.exits | keys) and .exit_cost_us["WRMSR"].max >= 0 and
     .longest_exit.us > 0 and (.exit_cost_us[.longest_exit.reason].max == .longest_exit.us)' \
    <<<"$last_hb"
rescans=$(e2e_events "$R" rescan | jq -r '.t_ms')
e2e_check "re-scan times only move forward" \
    awk 'NR > 1 && $1 <= prev { bad = 1 } { prev = $1 } END { exit bad || NR < 10 }' <<<"$rescans"

# --- 5,000 processes
forked=$(grep -a '^FORKMANY ' "$C" | tr -d '\r' | head -n 1)
echo "  guest: ${forked:-no FORKMANY line} / $(grep -a '^ATTACK-FORK-DONE' "$C" | tr -d '\r')"
e2e_check "the guest forked 5,000 processes" grep -q 'started=5000 ' <<<"$forked "
maxprocs=$(e2e_events "$R" rescan | jq -s 'map(.procs) | max // 0')
e2e_check "a re-scan counted them all ($maxprocs processes, want >= 5000)" test "$maxprocs" -ge 5000
last=$(e2e_events "$R" rescan | tail -n 1)
e2e_check "the last re-scan compared everything (no cap)" jq -e \
    '(.procs >= 5000) and (has("cap") | not)' <<<"${last:-null}"
e2e_check "... and the live view agreed with it: nothing missed by the live events" jq -e \
    '.live_missed_start == [] and .live_missed_exit == []' <<<"${last:-null}"
# Live events are numbered across the run; a number that never shows was dropped with its line,
# and the report must own up to at least that many lost lines before going on.
seq_accounted() {
    e2e_vigil_lines "$R" | jq -R -r 'try fromjson catch empty |
        if .ev == "report_lost" then "lost \(.lines)" elif (.seq | type) == "number" then
        "seq \(.seq)" else empty end' |
        awk '$1 == "lost" { lost += $2 }
             $1 == "seq" { if (last && $2 <= last) { print "  seq back: " last " -> " $2; bad = 1 }
                           if (last && $2 > last + 1) missing += $2 - last - 1; last = $2; n++ }
             END { print "  live events " n + 0 ", missing seq " missing + 0 ", lines reported lost " lost + 0
                   exit bad || missing > lost || n + missing < 5000 }'
}
e2e_check "live events in order; every missing seq owned up to by report_lost" seq_accounted
e2e_done

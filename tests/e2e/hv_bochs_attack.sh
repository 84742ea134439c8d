#!/usr/bin/env bash
# Guest root attacks vigil from inside, under Bochs (tests/scenarios/hv-attack.sh), and vigil
# keeps its pace and reports:
#   - vigil's clock: CPU 0's time-stamp counter set two minutes back and held there while it
#     climbs back, then two minutes forward (wrmsr through /dev/cpu/0/msr). The guest's writes
#     land (it reads back its new counter), but heartbeats' uptime never goes back or leaps, and
#     re-scans go on every 5 s while the counter is held back (without vigil's own clock they
#     stop for those two minutes).
# 1 CPU; 4-8 minutes.
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_init hv_bochs_attack
e2e_need_vigil
R=$E2E_WORK/report.log C=$E2E_WORK/console.log
HB=2 RESCAN=5

e2e_run bochs rc --cpus 1 --scenario "$E2E_TOP/tests/scenarios/hv-attack.sh" \
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

e2e_done

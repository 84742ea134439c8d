#!/usr/bin/env bash
# The guest attacks vigil from inside, under Bochs, with Linux on 2 CPUs (the harness's --smp:
# vigil hands the boot CPU's APIC over in x2APIC mode, Linux boots with noapic x2apic_phys, as in
# hv_bochs_smp_guest.sh); tests/scenarios/hv-attack.sh:
#   - churn: 3,000 processes forked one after another on CPU 1 while CPU 0 execs a program 300
#     times, so both CPUs' live events contend for the report path: the report stays valid JSON,
#     live events stay in order and every one missing is owned up to by report_lost, no fault.
#   - vigil's memory, read through /dev/mem from each CPU after the churn: reads zero, the image's
#     magic never shows.
#   - vigil's clock: CPU 0's time-stamp counter set two minutes back and held there while it
#     climbs back, then two minutes forward (wrmsr through /dev/cpu/0/msr). The guest's writes
#     land (it reads back its new counter), but heartbeats' uptime never goes back or leaps, and
#     re-scans go on every 5 s while the counter is held back (without vigil's own clock they
#     stop for those two minutes).
# 2 CPUs; 6-12 minutes.
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_init hv_bochs_attack
e2e_need_vigil
R=$E2E_WORK/report.log C=$E2E_WORK/console.log
HB=2 RESCAN=5

e2e_run bochs rc --cpus 2 --smp --scenario "$E2E_TOP/tests/scenarios/hv-attack.sh" \
    --set "heartbeat=$HB" --set "rescan=$RESCAN" --set apic_handover=x2apic \
    --append "noapic x2apic_phys iomem=relaxed" \
    --until '^VIGIL-GUEST-READY' --timeout "${E2E_BOCHS_TIMEOUT:-1500}" --fail "$E2E_HV_FAIL_RE"
e2e_event_summary "$R"

e2e_check "run-bochs.sh reached the sentinel (exit $rc, want 0)" test "$rc" = 0
e2e_check "every report line from vigil's start on is a JSON event" e2e_jsonl_ok "$R"
e2e_check "no hypervisor fault, parked CPU or guest-state dump" e2e_no_hv_fault "$R"
e2e_check "no live event refused as a hook forgery (every one came from the kernel's own paths)" \
    e2e_console_lacks "$R" '"ev":"hook_forgery"'

# --- churn on two CPUs
line() { grep -a -m1 "^$1" "$C" | tr -d '\r'; }
echo "  guest: $(line ATTACK-CPUS); $(line CHURN); $(line EXECLOOP)"
e2e_check "Linux ran on 2 CPUs" test "$(line ATTACK-CPUS)" = "ATTACK-CPUS nproc=2 online=0-1"
e2e_check "3,000 processes forked and reaped on CPU 1" test "$(line CHURN)" = "CHURN forked=3000 failed=0"
e2e_check "meanwhile CPU 0 exec'd 300 times" test "$(line EXECLOOP)" = "EXECLOOP cpu=0 runs=300"
# Each churned child is one proc_start and one proc_exit, each exec'd program one start, exec and
# exit: at least 2 x 3,000 + 3 x 300 live events were numbered, seen or owned up to as lost.
e2e_check "live events in order; every missing seq owned up to by report_lost" \
    e2e_seq_accounted "$R" $((2 * 3000 + 3 * 300))

# --- vigil's memory from each CPU
image=$(e2e_events "$R" hv_up | jq -r '.image_base' | head -n1)
hvmem_ok() { # CPU: the reserved range holding the image read zero from that CPU
    local l
    l=$(grep -a "^HVMEM-CPU $1 " "$C" | tr -d '\r' | while read -r _ _ s e nz magic v; do
        if [ $((s)) -le $((image)) ] && [ $((image)) -lt $((e)) ]; then echo "$s $e $nz $magic $v"; fi
    done | head -n1)
    echo "    CPU $1: range start end non-zero magic first-qword: ${l:-none}"
    [ -n "$l" ] && read -r _ e nz magic v <<<"$l" &&
        [ "$nz" = 0 ] && [ "$magic" = 0 ] && [ "$v" = 0x0000000000000000 ] &&
        [ $((e - image)) -le $((1024 * 4096)) ] # the tail read covered the image's start
}
e2e_check "vigil's memory reads zero from CPU 0 after the churn" hvmem_ok 0
e2e_check "vigil's memory reads zero from CPU 1 after the churn" hvmem_ok 1

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

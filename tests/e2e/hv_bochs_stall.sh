#!/usr/bin/env bash
# The periodic work survives the boot CPU being held out of VM exits (docs/hv-bringup.md "The
# periodic work"). Bochs with 2 CPUs: Linux (acpi=off) runs on CPU 0, CPU 1 stays in the
# firmware's idle loop as a guest (HLT: its VMX-preemption timer counts). The test-only key
# test_stall_boot_cpu = 900 makes vigil give CPU 0 an INIT 900 s (guest time, by vigil's clock)
# after the OS started, as another CPU's ICR write would; by then Linux is in userspace (about
# 650 s after the start) and vigil has identified it and re-scanned. CPU 0 waits for a SIPI that never
# comes, takes no more exits and the guest stops. Heartbeats and re-scans must go on from CPU 1's timer exits, and the stall must be
# reported once (cpu_stalled: CPU 0, wait_for_sipi, seen by CPU 1), with the INIT itself reported
# (init_received). Slow: 5-8 minutes (timeout E2E_BOCHS_TIMEOUT, default 1200 s).
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_init hv_bochs_stall
e2e_need_vigil
R=$E2E_WORK/report.log C=$E2E_WORK/console.log

# The guest freezes when CPU 0 stops, so the run ends on the report: the first heartbeat that
# finds CPU 0 silent for 30 s or more (the stall is told at 15 s: about three heartbeats later at
# heartbeat = 5).
until_re='"cpus_stalled":1,"stalled_s":(3[0-9]|[4-9][0-9]|[0-9]{3,})'
fail_re='Kernel panic - not syncing|"ev":"(hv_fault|guest_state|cpu_parked|cpu_bare|halt)"'
e2e_run bochs rc --cpus 2 --scenario "$E2E_TOP/tests/scenarios/hv-cpus.sh" \
    --set test_stall_boot_cpu=900 --set heartbeat=5 --set rescan=5 \
    --until "$until_re" --timeout "${E2E_BOCHS_TIMEOUT:-1200}" --fail "$fail_re"
e2e_event_summary "$R"

before_stall() { # EV: how many EV events come before cpu_stalled
    e2e_vigil_lines "$R" | awk -v ev="\"ev\":\"$1\"" '
        /"ev":"cpu_stalled"/ { exit } index($0, ev) { n++ } END { print n + 0 }'
}
rescans_before_stall() {
    local n
    n=$(before_stall rescan)
    echo "    rescans before the stall: $n"
    [ "$n" -ge 1 ]
}
after_stall() { # EV [JQ]: EV events after cpu_stalled (satisfying JQ), one per line
    e2e_vigil_lines "$R" | awk '/"ev":"cpu_stalled"/ { on = 1; next } on' |
        grep -F "\"ev\":\"$1\"" | jq -c "select(${2:-true})"
}
count_after_stall() { # EV JQ MIN WHAT
    local n
    n=$(after_stall "$1" "$2" | grep -c .)
    echo "    $4 after the stall: $n"
    [ "$n" -ge "$3" ]
}

e2e_check "a heartbeat found CPU 0 silent for 30 s (run-bochs.sh exit $rc, want 0)" test "$rc" = 0
e2e_check "every report line from vigil's start on is a JSON event" e2e_jsonl_ok "$R"
e2e_check "hv_up with 2 CPUs" e2e_has "$R" hv_up '.cpus == 2 and .failed == 0'
e2e_check "Linux reached userspace before the stall (sentinel on the console)" \
    e2e_console_has "$C" '^VIGIL-GUEST-READY'
e2e_check "the INIT to the boot CPU was reported (init_received, wait_for_sipi)" \
    e2e_has "$R" init_received '.cpu == 0 and .boot_cpu == true and .state == "wait_for_sipi"'
e2e_check "cpu_stalled: CPU 0 in wait_for_sipi, seen by CPU 1" \
    e2e_has "$R" cpu_stalled '.cpu == 0 and .state == "wait_for_sipi" and .seen_by_cpu == 1 and .silent_ms > 15000'
e2e_check "cpu_stalled reported once" test "$(e2e_events "$R" cpu_stalled | grep -c .)" = 1
e2e_check "no cpu_resumed (nothing sends CPU 0 a SIPI)" e2e_not_has "$R" cpu_resumed 'true'
e2e_check "heartbeats go on from CPU 1 after the stall" \
    count_after_stall heartbeat '.by_cpu == 1 and .cpus_stalled == 1' 3 "heartbeats by CPU 1"
e2e_check "re-scans before the stall (kernel identified on CPU 0)" rescans_before_stall
e2e_check "re-scans go on after the stall" count_after_stall rescan 'true' 2 "rescans"
e2e_check "no hypervisor fault or guest-state dump" \
    e2e_console_lacks "$R" '"ev":"(hv_fault|guest_state)"'
e2e_done

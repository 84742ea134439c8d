#!/usr/bin/env bash
# Multiprocessor bring-up end to end, under Bochs with 2 CPUs: both CPUs are virtualized where they stand, the
# firmware goes on running as a guest (including the INIT-SIPI-SIPI it sends its application
# processors at ExitBootServices), Linux reaches userspace with vigil underneath, heartbeats keep
# coming after that, the guest sees no VMX and (stealth = on) no hypervisor, IA32_FEATURE_CONTROL
# reads locked with VMX off, and the guest can neither read the report UART nor write into the
# report stream. Slow: 5-10 minutes (timeout E2E_BOCHS_TIMEOUT, default 1500 s).
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_init hv_bochs_smp
e2e_need_vigil
R=$E2E_WORK/report.log C=$E2E_WORK/console.log

# Remember how long the report was when the guest reached userspace: every heartbeat after that
# line was written by a hypervisor still running under a live Linux.
mark=$E2E_WORK/report-lines-at-userspace
(
    for _ in $(seq 1 3000); do
        if grep -q '^VIGIL-GUEST-READY' "$C" 2>/dev/null; then
            wc -l < "$R" > "$mark"
            exit 0
        fi
        sleep 0.5
    done
) &
watcher=$!

e2e_run bochs rc --cpus 2 --scenario "$E2E_TOP/tests/scenarios/hv-probe.sh" \
    --set heartbeat=5 --set stealth=on --set rescan=5 --until '^HVPROBE-DONE' \
    --timeout "${E2E_BOCHS_TIMEOUT:-1500}" \
    --fail "$E2E_HV_FAIL_RE"
kill "$watcher" 2>/dev/null
wait "$watcher" 2>/dev/null
e2e_event_summary "$R"

probe() { grep -a -m1 "^$1=" "$C" | cut -d= -f2- | tr -d '\r'; }
heartbeats_after_userspace() {
    [ -s "$mark" ] || return 1
    local n
    n=$(tail -n +"$(($(cat "$mark") + 1))" "$R" | grep -c '"ev":"heartbeat"')
    echo "    heartbeats after userspace: $n"
    [ "$n" -ge 2 ]
}
# EPT changes reach the other CPU by an NMI kick (hv/core/ept_kick.h): the self-test at the end of
# bring-up (firmware phase) and the last heartbeat's counters. Linux under Bochs boots with
# acpi=off and turns its local APIC off, so later kicks from the boot CPU cannot be sent and are
# counted as failed ("apic disabled"); the AP then syncs on its preemption timer.
ept_kicks() {
    local k
    k=$(e2e_events "$R" heartbeat | tail -n1 | jq -c '.ept_kicks')
    echo "    hv_up's ept_sync: $(e2e_events "$R" hv_up | jq -c '.ept_sync'); last heartbeat's ept_kicks: $k"
    jq -e '.sent >= 1 and .taken >= 1 and .taken <= .sent' <<<"$k" >/dev/null
}

e2e_check "run-bochs.sh reached the end of the scenario (exit $rc, want 0)" test "$rc" = 0
e2e_check "every report line from vigil's start on is a JSON event" e2e_jsonl_ok "$R"
e2e_check "cpu_up for CPU 0 and CPU 1" \
    e2e_has "$R" cpu_up '.cpu == 1 and .ept == true and .unrestricted_guest == true'
e2e_check "cpu_up for CPU 0" e2e_has "$R" cpu_up '.cpu == 0'
e2e_check "hv_up with 2 CPUs, none failed" e2e_has "$R" hv_up '.cpus == 2 and .failed == 0'
e2e_check "the firmware's INIT/SIPI to the AP were emulated (heartbeat counters)" \
    e2e_has "$R" heartbeat '.init_sipi.inits >= 1 and .init_sipi.sipis >= 1'
e2e_check "chainload of \\vmlinuz reported through the hypervisor" \
    e2e_has "$R" chainload '.status == "starting"'
e2e_check "Linux reached userspace (sentinel on the console)" e2e_console_has "$C" '^VIGIL-GUEST-READY'
e2e_check "heartbeats keep coming after Linux is up" heartbeats_after_userspace
e2e_check "bring-up: both CPUs synced to a new EPT generation at once (NMI kick)" \
    e2e_has "$R" hv_up '.ept_sync.ok == true and .ept_sync.us < 100000'
e2e_check "EPT kicks sent and taken by the other CPU (heartbeat counters)" ept_kicks
e2e_check "the guest saw no stray NMI" e2e_console_lacks "$C" 'NMI received for unknown reason|Dazed and confused'
e2e_check "guest /proc/cpuinfo has no vmx flag" test "$(probe HVPROBE-CPUINFO-VMX)" = 0
e2e_check "guest /proc/cpuinfo has no hypervisor flag (stealth=on)" \
    test "$(probe HVPROBE-CPUINFO-HYPERVISOR)" = 0
e2e_check "CPUID.1:ECX.VMX is 0 in the guest" test "$(probe HVPROBE-CPUID1-VMX)" = 0
e2e_check "IA32_FEATURE_CONTROL reads locked with VMX off (0x1)" \
    test "$(probe HVPROBE-FEATURE-CONTROL)" = 0x1
e2e_check "IA32_VMX_BASIC faults in the guest (read error)" \
    test "$(probe HVPROBE-VMX-BASIC)" = error
e2e_check "the report UART reads as absent (LSR 0xff)" test "$(probe HVPROBE-REPORT-LSR)" = ff
e2e_check "the guest wrote its forged line" test -n "$(probe HVPROBE-FORGE-WRITTEN)"
e2e_check "nothing the guest wrote reached the report" e2e_not_has "$R" forged 'true'
# Introspection from inside the hypervisor.
uname_r=$(probe HVPROBE-UNAME)
watchme=$(probe HVPROBE-WATCHME-PID)
e2e_check "os event from the hypervisor: kernel $uname_r, auto mode" \
    e2e_has "$R" os ".kernel == \"$uname_r\" and .source == \"auto\" and (.kaslr | startswith(\"0x\"))"
e2e_check "process snapshot from the hypervisor includes PID 1" e2e_has "$R" proc '.pid == 1'
# A re-scan between fork and exec reports it new as "sh" and a later one the rename.
e2e_check "a re-scan found vigil-watchme (pid $watchme) after it started, by name" all_of \
    e2e_has "$R" rescan "any(.new[]; .pid == ${watchme:-0})" -- \
    e2e_has "$R" rescan "any(.new[], (.renamed // [])[]; .pid == ${watchme:-0} and .comm == \"vigil-watchme\")"
e2e_check "no hypervisor fault or parked CPU" e2e_no_hv_fault "$R"
e2e_done

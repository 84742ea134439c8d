#!/usr/bin/env bash
# A CPU vigil does not virtualize never runs the OS bare (docs/hv-bringup.md "CPUs vigil does not
# virtualize"). Bochs with 2 CPUs, and the test-only key test_virtualize_cpus = 1: CPU 1 is left
# to the firmware at bring-up (cpu_fail, "left out by test_virtualize_cpus"), answers the
# firmware's INIT-SIPI at ExitBootServices bare, and at the hand-over vigil parks it in VMX root
# with its own INIT-SIPI: cpu_parked with init_blocked (a second INIT-SIPI did not bring it back),
# no cpu_bare. Linux is told of both CPUs (the harness's --smp: ACPI tables with 2 CPUs, the
# x2APIC hand-over and noapic x2apic_phys as in hv_bochs_smp_guest.sh), so it tries to start
# CPU 1 itself: vigil drops its INIT and SIPIs to the parked CPU (ipi_dropped), Linux gives up on
# it and reaches userspace on CPU 0 alone; heartbeats and re-scans go on, no hypervisor fault.
# Slow: 5-10 minutes (timeout E2E_BOCHS_TIMEOUT, default 1200 s).
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_init hv_bochs_park
e2e_need_vigil
R=$E2E_WORK/report.log C=$E2E_WORK/console.log

# cpu_fail and the parked CPU are expected here; a fault, a guest-state dump, a CPU left bare or
# the machine halted by on_no_vmx are not.
fail_re='Kernel panic - not syncing|"ev":"(hv_fault|guest_state|cpu_bare|halt|protection_void)"'
e2e_run bochs rc --cpus 2 --smp --scenario "$E2E_TOP/tests/scenarios/hv-cpus.sh" \
    --set test_virtualize_cpus=1 --set heartbeat=5 --set rescan=5 --set apic_handover=x2apic \
    --append "noapic x2apic_phys" --until '^HVCPUS-DONE' \
    --timeout "${E2E_BOCHS_TIMEOUT:-1200}" --fail "$fail_re"
e2e_event_summary "$R"

# Events after the parked CPU's report: vigil still running underneath Linux.
after_park() { # EV: how many EV events come after cpu_parked
    e2e_vigil_lines "$R" | awk -v ev="\"ev\":\"$1\"" '
        /"ev":"cpu_parked"/ { on = 1; next } on && index($0, ev) { n++ } END { print n + 0 }'
}
heartbeats_after_park() {
    local n
    n=$(after_park heartbeat)
    echo "    heartbeats after the park: $n"
    [ "$n" -ge 2 ]
}
rescans_after_park() {
    local n
    n=$(after_park rescan)
    echo "    rescans after the park: $n"
    [ "$n" -ge 1 ]
}
watchme=$(grep -a -m1 '^HVCPUS-WATCHME-PID=' "$C" | cut -d= -f2 | tr -d '\r')

e2e_check "run-bochs.sh reached the end of the scenario (exit $rc, want 0)" test "$rc" = 0
e2e_check "every report line from vigil's start on is a JSON event" e2e_jsonl_ok "$R"
e2e_check "CPU 0 virtualized" e2e_has "$R" cpu_up '.cpu == 0'
e2e_check "CPU 1 left out by the test key (cpu_fail)" \
    e2e_has "$R" cpu_fail '.cpu == 1 and (.error | test("test_virtualize_cpus"))'
e2e_check "CPU 1 never virtualized" e2e_not_has "$R" cpu_up '.cpu == 1'
e2e_check "hv_up: 1 CPU up, 1 failed" e2e_has "$R" hv_up '.cpus == 1 and .failed == 1'
e2e_check "the firmware woke the bare CPU 1 with a real INIT (ExitBootServices)" \
    e2e_has "$R" heartbeat '.init_sipi.real_inits >= 1'
e2e_check "CPU 1 parked in VMX root at the hand-over, a second INIT-SIPI did not restart it" \
    e2e_has "$R" cpu_parked '.cpu == 1 and .vmx_root == true and .init_blocked == true'
online=$(grep -a -m1 '^HVCPUS-ONLINE=' "$C" | cut -d= -f2- | tr -d '\r')
e2e_check "Linux tried to start CPU 1: vigil dropped the INIT and the SIPI to the parked CPU" all_of \
    e2e_has "$R" ipi_dropped '.ipi == "init" and .to_cpu == 1' -- \
    e2e_has "$R" ipi_dropped '.ipi == "sipi" and .to_cpu == 1'
e2e_check "Linux runs on CPU 0 alone (online: ${online:-none})" test "$online" = "0 nproc=1"
e2e_check "no CPU left bare, machine not halted" all_of \
    e2e_not_has "$R" cpu_bare 'true' -- e2e_not_has "$R" protection_void 'true' -- \
    e2e_not_has "$R" halt 'true'
e2e_check "the OS ran (os_running) with vigil's memory hidden" \
    e2e_has "$R" os_running '.hv_hidden == true'
e2e_check "Linux reached userspace on CPU 0 (sentinel on the console)" \
    e2e_console_has "$C" '^VIGIL-GUEST-READY'
e2e_check "heartbeats go on after the park" heartbeats_after_park
e2e_check "heartbeats count one CPU parked" e2e_has "$R" heartbeat '.cpus_parked == 1'
e2e_check "re-scans go on after the park" rescans_after_park
e2e_check "a re-scan found vigil-watchme (pid $watchme)" \
    e2e_has "$R" rescan "any(.new[]; .pid == ${watchme:-0})"
e2e_check "no hypervisor fault or guest-state dump" \
    e2e_console_lacks "$R" '"ev":"(hv_fault|guest_state)"'
e2e_done

#!/usr/bin/env bash
# Multi-CPU Linux under vigil, Bochs with 2 CPUs: the boot chain goes vigil -> acpi-smp.efi (the
# test step that installs a MADT and the other ACPI tables OVMF lacks on Bochs, tests/efi/) ->
# Linux without acpi=off (run-bochs.sh --smp). Checks that both CPUs are virtualized, that Linux
# found its local APIC and its CPUs in the MADT, brought CPU 1 online and ran a pinned process
# there, and that vigil kept reporting (heartbeats from both CPUs after userspace, no fault, no
# parked CPU, no stray NMI in the guest). Slow: 5-15 minutes (timeout E2E_BOCHS_TIMEOUT, default
# 1500 s).
#
# Bochs 2.7 cannot bring the boot CPU's APIC back from x2APIC to xAPIC mode, so vigil hands it
# over in x2APIC mode (apic_handover = x2apic) and Linux, which keeps a firmware x2APIC without
# interrupt remapping only when it skips its IO-APIC, boots with noapic; x2apic_phys because
# Bochs 2.7's x2APIC logical IDs are stale (docs/hv-bringup.md, "Linux with more than one CPU").
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_init hv_bochs_smp_guest
e2e_need_vigil
[ -f "$E2E_TOP/build/tests/acpi-smp.efi" ] || {
    e2e_fail "build/tests/acpi-smp.efi exists (run make)"
    e2e_done
}
R=$E2E_WORK/report.log C=$E2E_WORK/console.log

# Report length when the guest reached userspace: later heartbeats come from a hypervisor still
# running under a live multi-CPU Linux.
mark=$E2E_WORK/report-lines-at-userspace
(
    for _ in $(seq 1 3000); do
        if grep -q '^VIGIL-GUEST-READY' "$C" 2>/dev/null; then
            wc -l <"$R" >"$mark"
            exit 0
        fi
        sleep 0.5
    done
) &
watcher=$!

e2e_run bochs rc --cpus 2 --smp --scenario "$E2E_TOP/tests/scenarios/smp.sh" \
    --set heartbeat=5 --set apic_handover=x2apic --append "noapic x2apic_phys" --until '^SMP-DONE' --timeout "${E2E_BOCHS_TIMEOUT:-1500}" \
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
apic_enabled() { # IA32_APIC_BASE bit 11 (global enable), as the guest's msr driver reads it
    local base
    base=$(probe SMP-APIC-BASE)
    echo "    guest IA32_APIC_BASE: $base, apic CPUID flag: $(probe SMP-APIC-FLAG)"
    [[ "$base" =~ ^0x[0-9a-f]+$ ]] && (((base >> 11) & 1)) && [ "$(probe SMP-APIC-FLAG)" = 1 ]
}

e2e_check "run-bochs.sh reached the end of the scenario (exit $rc, want 0)" test "$rc" = 0
e2e_check "every report line from vigil's start on is a JSON event" e2e_jsonl_ok "$R"
e2e_check "hv_up with 2 CPUs, none failed" e2e_has "$R" hv_up '.cpus == 2 and .failed == 0'
e2e_check "chainload of the ACPI step reported through the hypervisor" \
    e2e_has "$R" chainload '.path == "\\acpi-smp.efi" and .status == "starting"'
e2e_check "the step installed the tables for 2 CPUs" \
    e2e_console_has "$C" '^acpi-smp: installed FACS, DSDT, FACP, APIC \(2 CPUs\)'
e2e_check "Linux took its CPUs from the MADT (LAPIC entries; the IO-APIC is skipped under noapic)" \
    e2e_console_has "$C" 'ACPI: Using ACPI for processor \(LAPIC\) configuration information'
e2e_check "Linux found the boot CPU's local APIC enabled" apic_enabled
e2e_check "Linux brought both CPUs online (SMP-ONLINE=$(probe SMP-ONLINE), want 0-1)" \
    test "$(probe SMP-ONLINE)" = 0-1
e2e_check "a process pinned to CPU 1 ran on CPU 1 (SMP-PINNED-RAN-ON=$(probe SMP-PINNED-RAN-ON))" \
    test "$(probe SMP-PINNED-RAN-ON)" = 1
e2e_check "heartbeats keep coming after Linux is up" heartbeats_after_userspace
e2e_check "heartbeats count 2 CPUs" e2e_has "$R" heartbeat '.cpus == 2'
e2e_check "the guest saw no stray NMI" \
    e2e_console_lacks "$C" 'NMI received for unknown reason|Dazed and confused'
e2e_check "no hypervisor fault or parked CPU" e2e_no_hv_fault "$R"
e2e_done

#!/usr/bin/env bash
# Issue 4 end to end, under Bochs: with EPT on, a root process in the guest reads vigil's memory
# through /dev/mem and sees zeros (the image header's magic never shows), its writes do not land,
# the hypervisor keeps running, and it reports where it lives (hv_memory) and every blocked
# attempt with the guest RIP and the decoded instruction (hv_access). 1 CPU; 4-8 minutes.
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_init hv_bochs_hide
e2e_need_vigil
R=$E2E_WORK/report.log C=$E2E_WORK/console.log

e2e_run bochs rc --cpus 1 --scenario "$E2E_TOP/tests/scenarios/hv-mem.sh" --append iomem=relaxed \
    --until '^VIGIL-GUEST-READY' --timeout "${E2E_BOCHS_TIMEOUT:-1500}" \
    --fail 'Kernel panic - not syncing|"ev":"(hv_fault|cpu_fail|cpu_parked|guest_state)"'
e2e_event_summary "$R"

image=$(e2e_events "$R" hv_up | jq -r '.image_base' | head -n1)
heap=$(e2e_events "$R" hv_load | jq -r '.heap_base' | head -n1)
read_at() { grep -a "^HVMEM-READ $1 " "$C" | awk '{print $3}' | tr -d '\r' | head -n1; }
write_at() { grep -a "^HVMEM-WRITE $1 " "$C" | awk '{print $3}' | tr -d '\r' | head -n1; }
no_magic() { ! grep -a '^HVMEM-READ' "$C" | grep -qi '3156485f4c494756'; }

e2e_check "run-bochs.sh reached the sentinel (exit $rc, want 0)" test "$rc" = 0
e2e_check "every report line from vigil's start on is a JSON event" e2e_jsonl_ok "$R"
e2e_check "vigil hid its memory when the OS started" e2e_has "$R" os_running '.hv_hidden == true'
e2e_check "hv_memory names the image ($image) and the heap ($heap)" \
    e2e_has "$R" hv_memory "(.ranges | map(.[0]) | index(\"$image\") != null) and (.ranges | map(.[0]) | index(\"$heap\") != null)"
e2e_check "the guest probed the image's first page" test -n "$(read_at "$image")"
e2e_check "it read zeros there, not the image header" test "$(read_at "$image")" = 0x0000000000000000
e2e_check "no reserved range showed the image magic" no_magic
e2e_check "its write to the image did not land (read back zero)" \
    test "$(write_at "$image")" = 0x0000000000000000
e2e_check "hv_access read at the image start, with RIP" \
    e2e_has "$R" hv_access ".gpa == \"$image\" and .access == \"read\" and (.rip | startswith(\"0x\"))"
e2e_check "hv_access write at the image start, with the decoded instruction" \
    e2e_has "$R" hv_access ".gpa == \"$image\" and .access == \"write\" and (.insn | type == \"string\") and (.insn | test(\"mov\"))"
e2e_check "Linux reached userspace and the hypervisor kept running (heartbeat after)" \
    e2e_has "$R" heartbeat '.total_exits > 0'
e2e_done

#!/usr/bin/env bash
# EPT hiding end to end, under Bochs: with EPT on, a root process in the guest reads vigil's memory
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
    --fail "$E2E_HV_FAIL_RE"
e2e_event_summary "$R"
# One awk pass: a "tail | grep -q" pipeline fails under pipefail when grep stops early and tail
# gets SIGPIPE, which is what happens when many lines follow the first attempt.
heartbeat_after_attempts() {
    awk '/"ev":"hv_access"/ { seen = 1 } seen && /"ev":"heartbeat"/ { found = 1; exit }
         END { exit !found }' "$R"
}

image=$(e2e_events "$R" hv_up | jq -r '.image_base' | head -n1)
heap=$(e2e_events "$R" hv_load | jq -r '.heap_base' | head -n1)
# The reserved range (as the guest listed it) that holds the image: vigil's heap and image are
# separate allocations but may be adjacent, so Linux can merge them into one range.
range=$(grep -a '^HVMEM-RANGE ' "$C" | tr -d '\r' | while read -r _ s e nz magic; do
    if [ $((s)) -le $((image)) ] && [ $((image)) -lt $((e)) ]; then echo "$s $e $nz $magic"; fi
done | head -n1)
read -r rstart rend rnz rmagic <<<"${range:-- - - -}"
read_at() { grep -a "^HVMEM-READ $1 " "$C" | awk '{print $3}' | tr -d '\r' | head -n1; }
write_at() { grep -a "^HVMEM-WRITE $1 " "$C" | awk '{print $3}' | tr -d '\r' | head -n1; }
no_magic() { ! grep -a '^HVMEM-' "$C" | grep -qi '3156485f4c494756'; }

e2e_check "run-bochs.sh reached the sentinel (exit $rc, want 0)" test "$rc" = 0
e2e_check "every report line from vigil's start on is a JSON event" e2e_jsonl_ok "$R"
e2e_check "vigil hid its memory when the OS started" e2e_has "$R" os_running '.hv_hidden == true'
e2e_check "hv_memory names the image ($image) and the heap ($heap)" \
    e2e_has "$R" hv_memory "(.ranges | map(.[0]) | index(\"$image\") != null) and (.ranges | map(.[0]) | index(\"$heap\") != null)"
e2e_check "the guest found the reserved range holding the image ($rstart-$rend)" test -n "$range"
e2e_check "every byte of it read zero through /dev/mem (non-zero bytes: $rnz)" test "$rnz" = 0
e2e_check "the image's magic never showed (in that range: $rmagic)" test "$rmagic" = 0
e2e_check "no qword the guest read was the image magic" no_magic
e2e_check "its first qword read zero" test "$(read_at "$rstart")" = 0x0000000000000000
e2e_check "the guest's write there did not land (read back zero)" \
    test "$(write_at "$rstart")" = 0x0000000000000000
e2e_check "hv_access read at $rstart, with RIP and the decoded instruction" \
    e2e_has "$R" hv_access ".gpa == \"$rstart\" and .access == \"read\" and (.rip | startswith(\"0x\")) and (.insn | test(\"mov\"))"
e2e_check "hv_access write at $rstart, with the decoded instruction" \
    e2e_has "$R" hv_access ".gpa == \"$rstart\" and .access == \"write\" and (.insn | test(\"^mov .*ptr \\\\[\"))"
e2e_check "blocked attempts beyond the first ones are counted" \
    e2e_has "$R" hv_access_count '.attempts > 16 and .read > 0'
e2e_check "the hypervisor kept running: heartbeat after the attempts" heartbeat_after_attempts
e2e_check "no hypervisor fault or parked CPU" e2e_no_hv_fault "$R"
e2e_done

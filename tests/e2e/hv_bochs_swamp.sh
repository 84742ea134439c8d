#!/usr/bin/env bash
# Introspection swamped, under Bochs (tests/scenarios/hv-swamp.sh): 5,000 processes forked as
# fast as the guest can (as an ordinary user could). Re-scans count them all (no 4,096 limit, no
# cap), the last one's cross-check with the live view finds nothing missed, and the report stays
# whole and in order: every gap in the live events' seq is owned up to by report_lost. Re-scans
# every 60 s: on Bochs (4 million guest instructions a guest second) one walk of 5,000 tasks
# takes about 20 s of guest time.
# 1 CPU, 1.5 GiB; 6-10 minutes.
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_init hv_bochs_swamp
e2e_need_vigil
R=$E2E_WORK/report.log C=$E2E_WORK/console.log

e2e_run bochs rc --cpus 1 --mem 1536 --scenario "$E2E_TOP/tests/scenarios/hv-swamp.sh" \
    --set rescan=60 --until '^VIGIL-GUEST-READY' --timeout "${E2E_BOCHS_TIMEOUT:-1800}" \
    --fail "$E2E_HV_FAIL_RE"
e2e_event_summary "$R"
e2e_check "run-bochs.sh reached the sentinel (exit $rc, want 0)" test "$rc" = 0
e2e_check "every report line from vigil's start on is a JSON event" e2e_jsonl_ok "$R"
e2e_check "no hypervisor fault, parked CPU or guest-state dump" e2e_no_hv_fault "$R"
e2e_check "no live event refused as a hook forgery" e2e_console_lacks "$R" '"ev":"hook_forgery"'

# --- 5,000 processes
forked=$(grep -a '^FORKMANY ' "$C" | tr -d '\r' | head -n 1)
echo "  guest: ${forked:-no FORKMANY line} / $(grep -a '^SWAMP-FORK-DONE' "$C" | tr -d '\r')"
e2e_check "the guest forked 5,000 processes" grep -q 'started=5000 ' <<<"$forked "
maxprocs=$(e2e_events "$R" rescan | jq -s 'map(.procs) | max // 0')
e2e_check "a re-scan counted them all ($maxprocs processes, want >= 5000)" test "$maxprocs" -ge 5000
last=$(e2e_events "$R" rescan | tail -n 1)
e2e_check "the last re-scan compared everything (no cap)" jq -e \
    '(.procs >= 5000) and (has("cap") | not)' <<<"${last:-null}"
e2e_check "... and the live view agreed with it: nothing missed by the live events" jq -e \
    '.live_missed_start == [] and .live_missed_exit == []' <<<"${last:-null}"
e2e_check "live events in order; every missing seq owned up to by report_lost" e2e_seq_accounted "$R" 5000
last_hb=$(e2e_events "$R" heartbeat | tail -n 1)
echo "  longest exit: $(jq -c '.longest_exit' <<<"$last_hb"), re-scan cost: $(jq -c '.exit_cost_us["VMX-preemption timer expired"]' <<<"$last_hb")"
e2e_done

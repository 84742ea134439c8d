#!/usr/bin/env bash
# Under Bochs (software VT-x with EPT), vigil must find VT-x usable with EPT,
# unrestricted guest, VPID and wait-for-SIPI, chain-load \vmlinuz, and Linux must reach userspace.
# Slow: about 2-4 minutes on these machines (timeout 10 min, E2E_BOCHS_TIMEOUT).
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_init skeleton_bochs_vmx
e2e_need_vigil

# Stop early on a kernel panic or on a fatal hypervisor event instead of waiting for the timeout.
e2e_run bochs rc --cpus 1 --until '^VIGIL-GUEST-READY' --timeout "${E2E_BOCHS_TIMEOUT:-600}" \
    --fail 'Kernel panic - not syncing|"ev":"(hv_fault|cpu_fail)"'
R=$E2E_WORK/report.log C=$E2E_WORK/console.log
e2e_event_summary "$R"

e2e_check "run-bochs.sh reached the sentinel (exit $rc, want 0)" test "$rc" = 0
e2e_check "every report line from vigil's start on is a JSON event" e2e_jsonl_ok "$R"
e2e_check "start event" e2e_has "$R" start '(.version | type == "string" and length > 0)'
e2e_check "vmx event: usable=true" e2e_has "$R" vmx '.usable == true'
e2e_check "vmx event: ept, unrestricted_guest, vpid, wait_for_sipi all true" \
    e2e_has "$R" vmx '.ept == true and .unrestricted_guest == true and .vpid == true and .wait_for_sipi == true'
e2e_check "chainload event for \\vmlinuz with status starting" \
    e2e_has "$R" chainload '.path == "\\vmlinuz" and .status == "starting"'
e2e_check "Linux reached userspace (sentinel on the console)" e2e_console_has "$C" '^VIGIL-GUEST-READY'

# Bochs must not depend on the host's sound support: Debian's bochs-bin aborts on a host without a
# working ALSA device once it loads its ALSA driver. The run's bochs.log names the plugins loaded.
W=$(sed -n 's/^run-bochs: work dir //p' "$E2E_WORK/run.log" | head -n 1)
e2e_check "Bochs loaded the dummy sound driver ($W/bochs.log)" \
    grep -q 'loaded plugin libbx_sounddummy' "$W/bochs.log"
e2e_check "Bochs loaded no host sound driver (ALSA, OSS)" \
    bash -c '! grep -E "loaded plugin libbx_sound(alsa|oss)" "$1"' _ "$W/bochs.log"
e2e_done

#!/usr/bin/env bash
# Under QEMU TCG there is no VT-x. vigil must say so in its JSONL report
# ({"ev":"vmx","usable":false} with a reason), chain-load the guest kernel anyway, and Linux must
# reach userspace (the scenario's sentinel on the console). Every line vigil writes on its report
# port is a JSON event.
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_init skeleton_qemu_novmx
e2e_need_vigil

# TCG even on a host with nested VT-x: this test is about the no-VT-x path.
export VIGIL_QEMU_ACCEL=tcg
e2e_run qemu rc --until '^VIGIL-GUEST-READY' --timeout 120
R=$E2E_WORK/report.log C=$E2E_WORK/console.log

e2e_check "run-qemu.sh reached the sentinel (exit $rc, want 0)" test "$rc" = 0
e2e_check "every report line from vigil's start on is a JSON event" e2e_jsonl_ok "$R"
e2e_check "start event with a version" e2e_has "$R" start '(.version | type == "string" and length > 0)'
e2e_check "vmx event: usable=false with a non-empty reason" \
    e2e_has "$R" vmx '.usable == false and (.reason | type == "string" and length > 0)'
e2e_check "vmx event: reports ept/unrestricted_guest/vpid/wait_for_sipi as booleans" \
    e2e_has "$R" vmx '[.ept, .unrestricted_guest, .vpid, .wait_for_sipi] | all(type == "boolean")'
e2e_check "chainload event for \\vmlinuz with status starting" \
    e2e_has "$R" chainload '.path == "\\vmlinuz" and .status == "starting"'
e2e_check "Linux reached userspace (sentinel on the console)" e2e_console_has "$C" '^VIGIL-GUEST-READY'
e2e_check "the scenario's processes are running (ps output)" e2e_console_has "$C" 'vigil-worker'
e2e_done

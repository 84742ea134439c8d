#!/usr/bin/env bash
# make run's progress lines (qemu-scripts/run-progress.sh) over logs written step by step as a boot
# writes them: each stage printed once, when it is first seen, with its detail; a "still waiting"
# line naming the first missing stage when nothing happens; the run counted as done only once the
# guest is ready and the snapshot is out, not at the snapshot alone. Seconds; no emulator.
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_init harness_run_progress
# shellcheck source=qemu-scripts/run-progress.sh
source "$E2E_TOP/qemu-scripts/run-progress.sh"

R=$E2E_WORK/report.log C=$E2E_WORK/console.log O=$E2E_WORK/progress.txt
: >"$R"
: >"$C"
: >"$O"
P_QUIET_S=1 P_SETTLE_S=1 P_SNAP_MAX_S=2
p_init "$R" "$C"
poll() { p_poll 2>>"$O"; }
count() { grep -c -- "$1" "$O"; }

printf 'BdsDxe: loading Boot0001\r\n' >>"$C"
poll
{
    echo '{"ev":"start","version":"x","serial":"com2"}'
    echo '{"ev":"hv_up","cpus":2,"failed":0,"heartbeat_s":10}'
    echo '{"ev":"chainload","path":"\\vmlinuz","status":"starting"}'
} >>"$R"
poll
e2e_check "firmware, vigil, hv_up and chain-load each printed once" \
    test "$(count 'firmware started') $(count 'vigil loaded') $(count 'every CPU virtualized') $(count 'chain-load')" = "1 1 1 1"
e2e_check "hv_up's CPU count is in its line" grep -q 'every CPU virtualized (cpus:2,failed:0)' "$O"
sleep 1.2
poll
e2e_check "a quiet boot names the stage it waits for" grep -q 'still waiting for: Linux kernel started' "$O"
# The report can be ahead of the console: the snapshot before the guest's sentinel.
{
    echo '{"ev":"os","release":"6.1.0-57-amd64","kernel":"6.1.0-57-amd64","source":"auto"}'
    echo '{"ev":"proc","pid":1,"ppid":0,"comm":"init"}'
    echo '{"ev":"proc","pid":2,"ppid":0,"comm":"kthreadd"}'
} >>"$R"
printf '[    0.000000] Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)\r\n' >>"$C"
poll
sleep 2.2
poll
e2e_check "kernel version in its line" grep -q 'Linux kernel started (Linux version 6.1.0-57-amd64)' "$O"
e2e_check "snapshot seen before userspace" grep -q 'first process snapshot' "$O"
e2e_check "not done before the guest is ready" test "$P_DONE" = 0
printf 'Run /init as init process\r\nVIGIL-GUEST-READY\r\n' >>"$C"
poll
sleep 1.2
poll
e2e_check "userspace and ready printed once each" \
    test "$(count '] guest userspace started$') $(count '] guest scenario ready$')" = "1 1"
e2e_check "done once ready and the snapshot is out" test "$P_DONE" = 1
e2e_check "the snapshot's processes counted" grep -q 'snapshot reported: 2 processes' "$O"
poll
e2e_check "no stage printed twice" bash -c '! grep -o "\] .*" "$1" | grep -v "still waiting" | sort | uniq -d | grep -q .' _ "$O"
# Text mode (report = text) has stages too.
: >"$R"
cp "$O" "$O.first"; : >"$O"
p_init "$R" "$C"
echo 'vigil: hv_up cpus=1 failed=0 heartbeat_s=10 stealth=false' >>"$R"
poll
e2e_check "text report: hypervisor up recognised" grep -q 'every CPU virtualized' "$O"
sed 's/^/  | /' "$O.first"
e2e_done

#!/usr/bin/env bash
# What `make run` calls: boots vigil with the test guest on the best engine here and streams
# vigil's report port to the terminal. While the boot runs, one line per stage says how far it got
# and how long it took (run-progress.sh: firmware, vigil loaded, every CPU virtualized, chain-load,
# kernel, userspace, the kernel identified, the first process snapshot), and a "still waiting"
# line when a stage takes long. The run ends once the first process snapshot has been reported
# (exit 0), on Ctrl-C, or at the engine's timeout; --follow keeps streaming until Ctrl-C. The
# emulator is always stopped.
#
# Engine: QEMU with KVM and nested VT-x when the host offers it (seconds); otherwise Bochs, which
# emulates VT-x with EPT (about 3 minutes to the guest's userspace). QEMU TCG is never chosen
# here: it has no VT-x, so vigil would only report that and step aside (run-qemu.sh does that on
# request). VIGIL_ENGINE=qemu|bochs overrides the choice. Other arguments go to the engine script
# (run-qemu.sh / run-bochs.sh --help), e.g. --cpus 2, --set report=text, --scenario FILE; with
# --until REGEX the engine stops at that line instead.
set -uo pipefail
H_ENGINE=auto H_NAME=run
# shellcheck source=qemu-scripts/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=qemu-scripts/run-progress.sh
source "$(dirname "$0")/run-progress.sh"

engine=${VIGIL_ENGINE:-}
if [ -n "$engine" ]; then
    h_log "engine $engine (VIGIL_ENGINE)"
elif h_kvm_nested; then
    engine=qemu
    h_log "engine: QEMU with KVM and nested VT-x; a boot to the guest's userspace takes seconds"
else
    engine=bochs
    h_log "engine: Bochs (software VT-x with EPT, unrestricted guest, VPID), because there is no"
    h_log "KVM with nested VT-x here: $H_KVM_WHY"
    h_log "a boot to the guest's userspace takes about 3 minutes on Bochs (2.7 on these machines)"
fi
case "$engine" in qemu | bochs) ;; *) h_die "VIGIL_ENGINE must be qemu or bochs" ;; esac

until_given=0 follow=0 args=()
for a in "$@"; do
    case "$a" in
    --follow) follow=1 ;;
    *) [ "$a" = --until ] && until_given=1; args+=("$a") ;;
    esac
done

dir=$(mktemp -d "$H_TOP/build/run/$engine-$(date +%Y%m%d-%H%M%S)-XXXX" 2>/dev/null) || {
    mkdir -p "$H_TOP/build/run"
    dir=$(mktemp -d "$H_TOP/build/run/$engine-$(date +%Y%m%d-%H%M%S)-XXXX")
}
report=$dir/report.log console=$dir/console.log
: >"$report"
: >"$console"
h_log "report port log: $report (streamed below)"
h_log "guest console log: $console (e.g. tail -f it in another terminal)"

run_pid="" tail_pid=""
stop() {
    trap - EXIT INT TERM
    # The engine script ignores SIGINT (it runs in the background), so stop it with TERM: its
    # trap stops the emulator.
    if [ -n "$run_pid" ] && kill -0 "$run_pid" 2>/dev/null; then
        kill -TERM "$run_pid" 2>/dev/null
        wait "$run_pid" 2>/dev/null
    fi
    if [ -n "$tail_pid" ]; then
        sleep 0.3 # let the last report lines through
        kill "$tail_pid" 2>/dev/null
        wait "$tail_pid" 2>/dev/null
    fi
}
trap 'stop; exit 1' EXIT
trap 'echo; h_log "Ctrl-C: stopping the emulator"; stop; exit 130' INT
trap 'stop; exit 143' TERM

# The report port may also carry the firmware's console (screen control sequences) before vigil
# starts: strip those so they do not clear the terminal.
tail -n +1 -F "$report" 2>/dev/null | sed -u 's/\x1b\[[0-9;=?]*[A-Za-z]//g; s/\r$//' &
tail_pid=$!
p_init "$report" "$console"
bash "$H_TOP/qemu-scripts/run-$engine.sh" --report-log "$report" --console-log "$console" \
    "${args[@]+"${args[@]}"}" &
run_pid=$!
snapshot=0
while kill -0 "$run_pid" 2>/dev/null; do
    p_poll
    if [ "$P_DONE" = 1 ] && [ "$until_given" = 0 ] && [ "$follow" = 0 ]; then
        snapshot=1
        break
    fi
    sleep 1
done
if [ "$snapshot" = 1 ]; then
    rc=0
else
    wait "$run_pid"
    rc=$?
    run_pid=""
    p_poll
fi
stop
case "$rc" in
0) if [ "$snapshot" = 1 ]; then
    h_log "done: vigil reported the guest's processes from underneath (report: $report)"
else
    h_log "done (console: $console)"
fi ;;
124) h_log "timed out (console: $console)" ;;
*) h_log "the run ended with status $rc (console: $console)" ;;
esac
exit "$rc"

# shellcheck shell=bash
# Shared part of run-qemu.sh and run-bochs.sh (sourced, not run). The engine script sets
# H_ENGINE (qemu|bochs) and H_DEFAULT_TIMEOUT, sources this file, calls h_parse "$@" and
# h_prepare, then h_launch with its emulator command line, then h_finish.
#
# Per run: a fresh work directory build/harness/<engine>-<time>-<pid>-XXXX holding the config, the
# ESP image, firmware variables and logs, so parallel runs never share a file. On exit (normal,
# error, INT, TERM) the emulator's process group is killed, Bochs's .lock removed and the large
# files deleted; logs stay in the work directory unless --report-log/--console-log moved them.

H_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
H_NAME=${H_NAME:-run-$H_ENGINE}

# h_kvm_nested: status 0 if KVM with nested VT-x is really there (Intel CPU, /dev/kvm readable and
# writable, kvm_intel nested=Y/1); otherwise status 1 and H_KVM_WHY says what is missing.
h_kvm_nested() {
    local vendor nested
    vendor=$(awk -F': ' '/^vendor_id/ { print $2; exit }' /proc/cpuinfo)
    nested=$(cat /sys/module/kvm_intel/parameters/nested 2>/dev/null || echo absent)
    H_KVM_WHY=""
    if [ "$vendor" != GenuineIntel ]; then
        H_KVM_WHY="host CPU vendor is $vendor, not GenuineIntel: no VT-x to nest"
    elif ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
        H_KVM_WHY="/dev/kvm is missing or not usable by $(id -un)"
    elif [ "$nested" != Y ] && [ "$nested" != 1 ]; then
        H_KVM_WHY="kvm_intel nested=$nested (want Y or 1)"
    fi
    [ -z "$H_KVM_WHY" ]
}

h_log() { echo "$H_NAME: $*" >&2; }
h_die() {
    echo "$H_NAME: error: $*" >&2
    exit 2
}

h_usage() {
    cat >&2 <<EOF
usage: $H_NAME.sh [options]
  --scenario FILE       guest scenario (default tests/scenarios/default.sh)
  --config FILE         vigil config to start from (default: generated, see docs/harness.md)
  --set LINE            append LINE to the config of this run (repeatable; a later key wins)
  --cpus N              virtual CPUs (default 1)
  --mem MB              guest memory (default 512)
  --timeout S           stop after S seconds of emulation (default $H_DEFAULT_TIMEOUT); exit 124
  --until REGEX         stop with exit 0 as soon as a line of either serial log matches (grep -E)
  --fail REGEX          stop with exit 3 as soon as a line matches
                        (default: 'Kernel panic - not syncing'; --fail '' disables)
  --report-log FILE     where vigil's report port goes
  --report-port PORT    com2 (default), com3 or com4: the UART the report log is attached to and
                        the generated config's serial key (COM2 also carries the firmware's own
                        console until vigil starts; COM3/COM4 are clean from the first byte)
  --console-log FILE    where the guest console (COM1: OVMF and Linux) goes
  --no-hv               boot the same firmware + kernel + initramfs without vigil (baseline)
  --efi FILE            the image booted as EFI/BOOT/BOOTX64.EFI (default $VIGIL_EFI, else
                        build/vigil.efi)
  --extra-esp-file SRC:DEST  also copy SRC to DEST on the ESP (repeatable)
  --append ARGS         extra kernel command-line arguments (in the generated next_args)
  --smp                 boot through the test step build/tests/acpi-smp.efi, which installs ACPI
                        tables (MADT, FADT, ...) so Linux finds every CPU, and drop acpi=off
                        (QEMU has its own tables: the step adds none there; docs/harness.md)
  --keep                keep the whole work directory (ESP image, firmware variables)
Exit: 0 --until matched (or, without --until, the emulator ended cleanly); 124 timeout;
3 --fail matched; 2 setup error; 1 emulator ended before --until matched; other: emulator status.
EOF
}

h_parse() {
    H_SCENARIO="$H_TOP/tests/scenarios/default.sh"
    H_CONFIG="" H_CPUS=1 H_MEM=512 H_TIMEOUT=$H_DEFAULT_TIMEOUT H_UNTIL="" H_FAIL='Kernel panic - not syncing'
    H_REPORT_LOG="" H_REPORT_PORT=com2 H_CONSOLE_LOG="" H_NO_HV=0 H_EFI="${VIGIL_EFI:-$H_TOP/build/vigil.efi}" H_APPEND="" H_KEEP=0
    H_SMP=0
    H_SETS=() H_EXTRA=()
    while [ $# -gt 0 ]; do
        case "$1" in
        --no-hv) H_NO_HV=1; shift; continue ;;
        --keep) H_KEEP=1; shift; continue ;;
        --smp) H_SMP=1; shift; continue ;;
        -h | --help) h_usage; exit 0 ;;
        --scenario | --config | --set | --cpus | --mem | --timeout | --until | --fail | --report-log | \
            --report-port | --console-log | --efi | --extra-esp-file | --append) ;;
        *) h_usage; h_die "unknown option: $1" ;;
        esac
        [ $# -ge 2 ] || h_die "$1 needs a value"
        case "$1" in
        --scenario) H_SCENARIO=$2 ;;
        --config) H_CONFIG=$2 ;;
        --set) H_SETS+=("$2") ;;
        --cpus) H_CPUS=$2 ;;
        --mem) H_MEM=$2 ;;
        --timeout) H_TIMEOUT=$2 ;;
        --until) H_UNTIL=$2 ;;
        --fail) H_FAIL=$2 ;;
        --report-log) H_REPORT_LOG=$2 ;;
        --report-port) H_REPORT_PORT=$2 ;;
        --console-log) H_CONSOLE_LOG=$2 ;;
        --efi) H_EFI=$2 ;;
        --extra-esp-file) H_EXTRA+=("$2") ;;
        --append) H_APPEND=$2 ;;
        esac
        shift 2
    done
    [[ "$H_CPUS" =~ ^[1-9][0-9]*$ ]] || h_die "--cpus wants a positive number"
    [[ "$H_MEM" =~ ^[1-9][0-9]*$ ]] || h_die "--mem wants a number of MB"
    [[ "$H_TIMEOUT" =~ ^[0-9]+([.][0-9]+)?$ ]] || h_die "--timeout wants seconds"
    case "$H_REPORT_PORT" in com2 | com3 | com4) ;; *) h_die "--report-port wants com2, com3 or com4" ;; esac
    [ -f "$H_SCENARIO" ] || h_die "scenario not found: $H_SCENARIO"
    [ -z "$H_CONFIG" ] || [ -f "$H_CONFIG" ] || h_die "config not found: $H_CONFIG"
    local re
    for re in "$H_UNTIL" "$H_FAIL"; do
        [ -n "$re" ] || continue
        grep -E -q -- "$re" /dev/null 2>/dev/null
        [ $? -le 1 ] || h_die "bad regex (grep -E): $re"
    done
    return 0
}

# Kernel command line shared by the vigil config and the baseline. Bochs: OVMF installs no ACPI
# tables there (docs/harness.md), so acpi=off, unless --smp puts the step that installs them in
# the boot chain. panic=-1: reboot at once on a panic (QEMU runs with -no-reboot, so it ends);
# the --fail regex catches it first anyway.
h_kernel_args() {
    local a="console=ttyS0 panic=-1"
    [ "$H_ENGINE" = bochs ] && [ "$H_SMP" = 0 ] && a="$a acpi=off"
    [ -n "$H_APPEND" ] && a="$a $H_APPEND"
    echo "$a"
}

h_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "${H_PID:-}" ] && kill -0 "$H_PID" 2>/dev/null; then
        kill -TERM -- "-$H_PID" 2>/dev/null
        for _ in $(seq 1 50); do
            kill -0 "$H_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$H_PID" 2>/dev/null
        wait "$H_PID" 2>/dev/null
    fi
    if [ -n "${H_WORK:-}" ] && [ -d "$H_WORK" ]; then
        rm -f "$H_WORK"/*.lock
        declare -F h_engine_cleanup >/dev/null && h_engine_cleanup
        if [ "$H_KEEP" = 0 ]; then rm -f "$H_WORK/esp.img" "$H_WORK/vars.fd"; fi
    fi
    exit "$rc"
}

h_prepare() {
    mkdir -p "$H_TOP/build/harness"
    H_WORK=$(mktemp -d "$H_TOP/build/harness/$H_ENGINE-$(date +%H%M%S)-$$-XXXX")
    trap h_cleanup EXIT
    # A caller killed together with us (the tee of our output) must not make a log line kill us
    # by SIGPIPE before h_cleanup stops the emulator and removes its lock files.
    trap '' PIPE
    trap 'h_log "interrupted"; exit 130' INT
    trap 'h_log "terminated"; exit 143' TERM

    [ -n "$H_REPORT_LOG" ] || H_REPORT_LOG="$H_WORK/report.log"
    [ -n "$H_CONSOLE_LOG" ] || H_CONSOLE_LOG="$H_WORK/console.log"
    mkdir -p "$(dirname "$H_REPORT_LOG")" "$(dirname "$H_CONSOLE_LOG")"
    : >"$H_REPORT_LOG"
    : >"$H_CONSOLE_LOG"
    H_REPORT_LOG=$(realpath "$H_REPORT_LOG")
    H_CONSOLE_LOG=$(realpath "$H_CONSOLE_LOG")

    local g
    g=$(bash "$H_TOP/qemu-scripts/mkguest.sh" --scenario "$H_SCENARIO") || h_die "mkguest.sh failed"
    H_KERNEL=$(sed -n 's/^KERNEL=//p' <<<"$g")
    H_INITRD=$(sed -n 's/^INITRD=//p' <<<"$g")

    local esp_args=(--out "$H_WORK/esp.img" --kernel "$H_KERNEL" --initrd "$H_INITRD")
    local f
    for f in "${H_EXTRA[@]+"${H_EXTRA[@]}"}"; do esp_args+=(--file "$f"); done
    # --smp: the kernel is started by the ACPI step (tests/efi/acpi_smp.c), which takes the
    # kernel's path and arguments as its own.
    local next="\\vmlinuz" next_args="initrd=\\initrd.img $(h_kernel_args)"
    if [ "$H_SMP" = 1 ]; then
        local step=$H_TOP/build/tests/acpi-smp.efi
        [ -f "$step" ] || h_die "$step not found (run make build/tests/acpi-smp.efi)"
        esp_args+=(--file "$step:acpi-smp.efi")
        next_args="$next $next_args" next="\\acpi-smp.efi"
        if [ "$H_NO_HV" = 0 ] && [ -n "$H_CONFIG" ]; then
            h_log "warning: --smp only changes the generated config; $H_CONFIG's next is used as it is"
        fi
    fi
    if [ "$H_NO_HV" = 1 ] && { [ -n "$H_CONFIG" ] || [ ${#H_SETS[@]} -gt 0 ]; }; then
        h_log "warning: --config/--set have no effect with --no-hv (no vigil, no config)"
    fi
    if [ "$H_NO_HV" = 0 ] && [ -n "$H_CONFIG" ] && [ -n "$H_APPEND" ]; then
        h_log "warning: --append only changes the generated config; $H_CONFIG's next_args are used as they are"
    fi
    if [ "$H_NO_HV" = 1 ]; then
        # No BOOTX64.EFI: the baseline boots the kernel's EFI stub itself (see the engine script).
        # The ESP keeps the same kernel and initrd so the firmware sees the same disk.
        esp_args+=(--no-efi)
        if [ "${H_NOHV_STARTUP_NSH:-0}" = 1 ]; then
            printf '%s\r\n' "$next $next_args" >"$H_WORK/startup.nsh"
            esp_args+=(--file "$H_WORK/startup.nsh:startup.nsh")
        fi
        H_CFG=""
    else
        [ -f "$H_EFI" ] || h_die "$H_EFI not found (run make first, or --efi FILE, or --no-hv)"
        H_CFG="$H_WORK/vigil.cfg"
        if [ -n "$H_CONFIG" ]; then
            cp "$H_CONFIG" "$H_CFG"
            # A missing final newline would glue the first --set line to the last config line.
            [ -z "$(tail -c1 "$H_CFG")" ] || echo >>"$H_CFG"
        else
            {
                echo "serial = $H_REPORT_PORT"
                echo "report = jsonl"
                echo "next = $next"
                echo "next_args = $next_args"
            } >"$H_CFG"
        fi
        local s
        for s in "${H_SETS[@]+"${H_SETS[@]}"}"; do printf '%s\n' "$s" >>"$H_CFG"; done
        esp_args+=(--efi "$H_EFI" --config "$H_CFG")
    fi
    bash "$H_TOP/qemu-scripts/mkesp.sh" "${esp_args[@]}" >/dev/null 2>"$H_WORK/mkesp.log" ||
        { cat "$H_WORK/mkesp.log" >&2; h_die "mkesp.sh failed"; }
    h_log "work dir $H_WORK"
    h_log "console (COM1) -> $H_CONSOLE_LOG"
    h_log "report  ($(tr a-z A-Z <<<"$H_REPORT_PORT")) -> $H_REPORT_LOG"
    if [ "$H_NO_HV" = 1 ]; then
        h_log "baseline: no vigil"
    else
        h_log "vigil $H_EFI, config $H_CFG ($(wc -l <"$H_CFG") lines)"
    fi
}

# h_launch CMD...: starts the emulator under coreutils timeout, which puts it in a process group
# of its own (killed as a whole by h_cleanup) and kills it by itself some time after --timeout even
# if this script is killed with SIGKILL and cannot clean up.
h_launch() {
    local hard
    hard=$(awk -v t="$H_TIMEOUT" 'BEGIN { printf "%d", t + 60 }')
    H_T0=$EPOCHREALTIME
    timeout -k 5 "$hard" "$@" </dev/null >"$H_WORK/emulator.log" 2>&1 &
    H_PID=$!
}

# First line of the logs matching $1 (grep -E, CRs removed), as "stream: line"; status 1 if none.
h_match() {
    local f name line
    for f in "$H_CONSOLE_LOG" "$H_REPORT_LOG"; do
        name=console
        [ "$f" = "$H_REPORT_LOG" ] && name=report
        # Serial lines end in CR LF: drop the CRs so that REGEX$ works.
        line=$(tr -d '\r' <"$f" 2>/dev/null | grep -a -E -m1 -- "$1") || continue
        echo "$name: $line"
        return 0
    done
    return 1
}

# CPU time (user + system, seconds) the emulator has used so far: a load-independent figure next
# to the wall-clock time, as these machines' 2 cores are shared. Empty if it is gone.
h_emulator_cpu() {
    local pid stat ticks
    pid=$(awk '{ print $1 }' "/proc/$H_PID/task/$H_PID/children" 2>/dev/null)
    [ -n "$pid" ] || return 0
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 0
    stat=${stat##*) } # fields after "(comm) ": state is field 1 here, utime 12, stime 13
    ticks=$(getconf CLK_TCK)
    awk -v t="$ticks" '{ printf "%.1f", ($12 + $13) / t }' <<<"$stat"
}

h_elapsed() { awk -v a="$H_T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# Waits for --until / --fail / the emulator's end / the timeout, stops the emulator, prints the
# elapsed time and returns the exit status described in h_usage.
h_finish() {
    local deadline rc=0 why m st
    deadline=$(awk -v a="$H_T0" -v t="$H_TIMEOUT" 'BEGIN { printf "%.3f", a + t }')
    while :; do
        if [ -n "$H_UNTIL" ] && m=$(h_match "$H_UNTIL"); then
            rc=0 why="until matched ($m)"
            break
        fi
        if [ -n "$H_FAIL" ] && m=$(h_match "$H_FAIL"); then
            rc=3 why="--fail matched ($m)"
            break
        fi
        if ! kill -0 "$H_PID" 2>/dev/null; then
            wait "$H_PID"
            st=$?
            H_PID=""
            # One last look: the emulator may have written the line just before it ended.
            if [ -n "$H_UNTIL" ] && m=$(h_match "$H_UNTIL"); then
                rc=0 why="until matched ($m)"
            elif [ "$st" = 124 ] || [ "$st" = 137 ]; then
                rc=124 why="emulator killed by its hard time limit"
            elif [ -n "$H_UNTIL" ]; then
                rc=$st
                [ "$st" = 0 ] && rc=1
                why="emulator exited with status $st before --until matched$(h_engine_status "$st")"
            else
                rc=$st why="emulator exited with status $st$(h_engine_status "$st")"
            fi
            [ "$rc" = 124 ] && [ "$st" != 124 ] && [ "$st" != 137 ] && rc=125
            break
        fi
        if awk -v d="$deadline" -v n="$EPOCHREALTIME" 'BEGIN { exit !(n >= d) }'; then
            rc=124 why="timeout after ${H_TIMEOUT} s"
            break
        fi
        sleep 0.2
    done
    local el cpu
    el=$(h_elapsed)
    [ -n "$H_PID" ] && cpu=$(h_emulator_cpu)
    h_log "elapsed $el s, $why"
    [ -n "${cpu:-}" ] && h_log "emulator CPU time $cpu s (user + system, up to the stop)"
    if [ "$rc" != 0 ]; then
        h_log "last console lines:"
        tail -n 12 "$H_CONSOLE_LOG" | tr -d '\r' | sed 's/\x1b\[[0-9;=]*[A-Za-z]//g' | sed 's/^/  | /' >&2
        h_log "last report lines:"
        tail -n 8 "$H_REPORT_LOG" | sed 's/^/  | /' >&2
        if [ -s "$H_WORK/emulator.log" ] && [ "$rc" != 124 ] && [ "$rc" != 3 ]; then
            h_log "emulator output ($H_WORK/emulator.log):"
            tail -n 8 "$H_WORK/emulator.log" | sed 's/^/  | /' >&2
        fi
    fi
    return "$rc"
}

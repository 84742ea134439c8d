#!/usr/bin/env bash
# Boots the Debian test guest under QEMU TCG (2 CPUs, -kernel/-initrd, no vigil) with the
# tests/scenarios/vmi-truth.sh initramfs and makes a memory dump whose ground truth is known:
#   1. asks the guest (console line "truth A") for its own view of every process, module and of
#      the kernel;
#   2. stops the CPUs, writes a dump-guest-memory ELF (memory + per-CPU register notes), resumes;
#   3. asks again ("truth B"). The dump counts only when both blocks agree on everything the test
#      compares: a kernel worker born or a state changed around the dump means another try
#      (up to 8; a task seen running is a change too: it was woken by the reading).
# VMI_QEMU_CPU (optional) is passed to -cpu, e.g. "max,la57=on" for 5-level paging and PCID.
# VMI_DUMP_FRESH=1 replaces the cached dump with a new one.
# The result is cached under build/vmi/dump-<key>/ keyed by the kernel and initramfs hashes, the
# CPU model and this script. Prints on stdout:
#   DUMP=<path of the ELF dump>   TRUTH=<path of the truth lines>   KVER=<release>
#   VMLINUX=<decompressed kernel ELF>
# QEMU and the helper readers are always stopped (trap on exit, timeouts on every wait).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
log() { echo "vmi_guest_dump: $*" >&2; }
die() { echo "vmi_guest_dump: error: $*" >&2; exit 1; }

guest=$(bash "$top/qemu-scripts/mkguest.sh" --scenario "$top/tests/scenarios/vmi-truth.sh") ||
    die "mkguest.sh failed"
KERNEL=$(sed -n 's/^KERNEL=//p' <<<"$guest")
INITRD=$(sed -n 's/^INITRD=//p' <<<"$guest")
KVER=$(sed -n 's/^KVER=//p' <<<"$guest")
kinfo=$(bash "$top/qemu-scripts/fetch-kernel.sh")
VMLINUX=$(sed -n 's/^VMLINUX=//p' <<<"$kinfo")

cpu=${VMI_QEMU_CPU:-}
key=$({ cat "$KERNEL" "$INITRD" "$0"; echo "cpu=$cpu"; } | sha256sum | cut -c1-16)
out="$top/build/vmi/dump-$key"
if [ "${VMI_DUMP_FRESH:-0}" != 1 ] && [ -s "$out/dump.elf" ] && [ -s "$out/truth.txt" ]; then
    log "cached dump $key"
else
    rm -rf "$out"
    mkdir -p "$out"
    work=$(mktemp -d "$top/build/vmi/run.XXXXXX")
    qpid="" rpids=()
    cleanup() {
        if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
            kill "$qpid" 2>/dev/null || true
            sleep 0.5
            kill -9 "$qpid" 2>/dev/null || true
        fi
        for p in "${rpids[@]+"${rpids[@]}"}"; do kill "$p" 2>/dev/null || true; done
        rm -rf "$work"
    }
    trap cleanup EXIT INT TERM
    # Serial and monitor through pipe chardevs (NAME.in / NAME.out fifos), drained into logs.
    mkfifo "$work/ser.in" "$work/ser.out" "$work/mon.in" "$work/mon.out"
    : >"$work/serial.log"
    cat "$work/ser.out" >>"$work/serial.log" &
    rpids+=($!)
    cat "$work/mon.out" >"$work/monitor.log" &
    rpids+=($!)
    # pti=on: the guest CPU (QEMU's AMD-flavoured default model) would otherwise run without KPTI;
    # the introspection must handle the KPTI page-table pair, so exercise it.
    cpuopt=()
    [ -n "$cpu" ] && cpuopt=(-cpu "$cpu")
    timeout 600 qemu-system-x86_64 -accel tcg "${cpuopt[@]+"${cpuopt[@]}"}" -smp 2 -m 256 -nographic -no-reboot \
        -kernel "$KERNEL" -initrd "$INITRD" \
        -append "console=ttyS0 pti=on panic=-1 loglevel=4" \
        -chardev "pipe,id=ser,path=$work/ser" -serial chardev:ser -display none -monitor none \
        -chardev "pipe,id=mon,path=$work/mon" -mon chardev=mon,mode=readline \
        </dev/null >"$work/qemu.out" 2>&1 &
    qpid=$!
    exec 3>"$work/mon.in" 4>"$work/ser.in"
    wait_for() { # regex seconds
        local i
        for ((i = 0; i < $2 * 4; i++)); do
            grep -aq "$1" "$work/serial.log" && return 0
            kill -0 "$qpid" 2>/dev/null || { cat "$work/qemu.out" >&2; die "QEMU exited early"; }
            sleep 0.25
        done
        tail -20 "$work/serial.log" >&2
        die "no '$1' on the guest console within $2 s"
    }
    block() { # N -> the truth block N
        sed -n "/^VMI-TRUTH-BEGIN $1\r\{0,1\}\$/,/^VMI-TRUTH-END $1\r\{0,1\}\$/p" "$work/serial.log" |
            tr -d '\r'
    }
    wait_for '^VIGIL-GUEST-READY' 300
    ok=0
    for try in 1 2 3 4 5 6 7 8; do
        a=$((2 * try - 1)) b=$((2 * try))
        echo "truth $a" >&4
        wait_for "^VMI-TRUTH-DONE $a" 120
        # Let the scenario shell get back to its read() and the console output drain (kernel
        # workers flushing the tty) before the CPUs stop.
        sleep 3
        rm -f "$out/dump.elf.tmp"
        echo "stop" >&3
        echo "dump-guest-memory $out/dump.elf.tmp" >&3
        echo "cont" >&3
        echo "truth $b" >&4
        wait_for "^VMI-TRUTH-DONE $b" 180
        block "$a" >"$work/truth-a.txt"
        block "$b" >"$work/truth-b.txt"
        [ -s "$out/dump.elf.tmp" ] || die "QEMU wrote no dump"
        if python3 "$top/tests/e2e/vmi_compare.py" --same "$work/truth-a.txt" "$work/truth-b.txt" >&2; then
            ok=1
            break
        fi
        log "the guest changed around dump $try; trying again"
    done
    [ "$ok" = 1 ] || die "the guest never held still around a dump (8 tries)"
    echo "quit" >&3
    for _ in $(seq 1 100); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.2; done
    cp "$work/truth-a.txt" "$out/truth.txt"
    # Address-space markers of the scenario's processes (tests/scenarios/src/vmi-procs.c).
    grep -a '^mark [0-9]* 0x[0-9a-f]*' "$work/serial.log" | tr -d '\r' | sed 's/^mark/MARK/' >>"$out/truth.txt"
    cp "$work/serial.log" "$out/serial.log"
    mv "$out/dump.elf.tmp" "$out/dump.elf"
    log "dumped $(du -m "$out/dump.elf" | cut -f1) MiB to $out (try $try)"
fi
echo "DUMP=$out/dump.elf"
echo "TRUTH=$out/truth.txt"
echo "KVER=$KVER"
echo "VMLINUX=$VMLINUX"

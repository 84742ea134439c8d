#!/usr/bin/env bash
# Boots the Debian test guest under QEMU TCG (2 CPUs, -kernel/-initrd, no vigil) with the
# tests/scenarios/vmi-truth.sh initramfs, waits for the scenario's sentinel, stops the CPUs and
# writes a dump-guest-memory ELF (memory + per-CPU register notes) plus the guest's own ground
# truth (the lines between VMI-TRUTH-BEGIN and VMI-TRUTH-END on the serial console).
#
# The result is cached under build/vmi/dump-<key>/ keyed by the kernel and initramfs hashes and by
# this script. Prints on stdout:
#   DUMP=<path of the ELF dump>   TRUTH=<path of the truth lines>   KVER=<release>
#   VMLINUX=<decompressed kernel ELF>
# QEMU is always stopped (trap on exit, timeout on every wait).
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

key=$(cat "$KERNEL" "$INITRD" "$0" | sha256sum | cut -c1-16)
out="$top/build/vmi/dump-$key"
if [ -s "$out/dump.elf" ] && [ -s "$out/truth.txt" ]; then
    log "cached dump $key"
else
    rm -rf "$out"
    mkdir -p "$out"
    work=$(mktemp -d "$top/build/vmi/run.XXXXXX")
    qpid=""
    cleanup() {
        if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
            kill "$qpid" 2>/dev/null || true
            sleep 0.5
            kill -9 "$qpid" 2>/dev/null || true
        fi
        rm -rf "$work"
    }
    trap cleanup EXIT INT TERM
    mkfifo "$work/mon.in" "$work/mon.out"
    # pti=on: the guest CPU (QEMU's AMD-flavoured default model) would otherwise run without KPTI;
    # the introspection must handle the KPTI page-table pair, so exercise it.
    timeout 300 qemu-system-x86_64 -accel tcg -smp 2 -m 256 -nographic -no-reboot \
        -kernel "$KERNEL" -initrd "$INITRD" \
        -append "console=ttyS0 pti=on panic=-1 loglevel=4" \
        -serial "file:$work/serial.log" -display none -monitor none \
        -chardev "pipe,id=mon,path=$work/mon" -mon chardev=mon,mode=readline \
        </dev/null >"$work/qemu.out" 2>&1 &
    qpid=$!
    exec 3<>"$work/mon.in" 4<>"$work/mon.out"
    for _ in $(seq 1 1200); do
        grep -q '^VIGIL-GUEST-READY' "$work/serial.log" 2>/dev/null && break
        kill -0 "$qpid" 2>/dev/null || { cat "$work/qemu.out" >&2; die "QEMU exited early"; }
        sleep 0.25
    done
    grep -q '^VIGIL-GUEST-READY' "$work/serial.log" || {
        tail -20 "$work/serial.log" >&2
        die "no VIGIL-GUEST-READY within 300 s"
    }
    # Let the scenario shell reach its wait() before the CPUs stop.
    sleep 2
    echo "stop" >&3
    echo "dump-guest-memory $out/dump.elf.tmp" >&3
    for _ in $(seq 1 600); do
        [ -s "$out/dump.elf.tmp" ] && ! fuser "$out/dump.elf.tmp" >/dev/null 2>&1 && break
        sleep 0.2
    done
    # dump-guest-memory is synchronous in the monitor: "quit" runs after it has finished.
    echo "quit" >&3
    for _ in $(seq 1 300); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.2; done
    wait "$qpid" 2>/dev/null || true
    qpid=""
    [ -s "$out/dump.elf.tmp" ] || die "QEMU wrote no dump"
    sed -n '/^VMI-TRUTH-BEGIN/,/^VMI-TRUTH-END/p' "$work/serial.log" | tr -d '\r' >"$out/truth.txt"
    grep -q '^VMI-TRUTH-END' "$out/truth.txt" || die "truth block incomplete"
    cp "$work/serial.log" "$out/serial.log"
    mv "$out/dump.elf.tmp" "$out/dump.elf"
    log "dumped $(du -m "$out/dump.elf" | cut -f1) MiB to $out"
fi
echo "DUMP=$out/dump.elf"
echo "TRUTH=$out/truth.txt"
echo "KVER=$KVER"
echo "VMLINUX=$VMLINUX"

#!/usr/bin/env bash
# End-to-end check of the freestanding kallsyms decoder against a live kernel: boots the Debian
# test guest under QEMU TCG (2 CPUs, KASLR and KPTI on) with tests/scenarios/symbols-kallsyms.sh,
# which prints the guest's own /proc/kallsyms; stops the CPUs, dumps memory (dump-guest-memory),
# then decodes kallsyms from the dump (tests/e2e/symbols_kallsyms_decode.c). Every line must be
# identical: address, type and name of every core-kernel symbol. QEMU is always stopped.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
e2e_init symbols_kallsyms_live
w=$E2E_WORK
decoder=$E2E_TOP/build/tests/symbols_kallsyms_decode
[ -x "$decoder" ] || { e2e_fail "missing $decoder (make $decoder)"; e2e_done; }

guest=$(bash "$E2E_TOP/qemu-scripts/mkguest.sh" --scenario "$E2E_TOP/tests/scenarios/symbols-kallsyms.sh") ||
    { e2e_fail "mkguest.sh failed"; e2e_done; }
KERNEL=$(sed -n 's/^KERNEL=//p' <<<"$guest")
INITRD=$(sed -n 's/^INITRD=//p' <<<"$guest")

qpid=""
cleanup() {
    if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
        kill "$qpid" 2>/dev/null || true
        sleep 0.5
        kill -9 "$qpid" 2>/dev/null || true
    fi
    rm -f "$w/dump.elf" "$w/mon.sock"
}
trap cleanup EXIT INT TERM
timeout 300 qemu-system-x86_64 -accel tcg -smp 2 -m 256 -display none -no-reboot \
    -kernel "$KERNEL" -initrd "$INITRD" -append "console=ttyS0 pti=on panic=-1 loglevel=4" \
    -serial "file:$w/serial.log" -monitor "unix:$w/mon.sock,server,nowait" \
    </dev/null >"$w/qemu.out" 2>&1 &
qpid=$!
for _ in $(seq 1 1200); do
    grep -aq '^VIGIL-GUEST-READY' "$w/serial.log" 2>/dev/null && break
    kill -0 "$qpid" 2>/dev/null || break
    sleep 0.25
done
if ! grep -aq '^VIGIL-GUEST-READY' "$w/serial.log" 2>/dev/null; then
    e2e_fail "no VIGIL-GUEST-READY from the guest within 300 s (see $w/serial.log)"
    e2e_done
fi
# Stop the CPUs, dump, quit: through the monitor socket (no extra tools needed).
timeout 120 python3 - "$w/mon.sock" "$w/dump.elf" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(5)
def cmd(c, wait=0.3):
    s.sendall((c + "\n").encode())
    time.sleep(wait)
    try:
        return s.recv(1 << 20)
    except socket.timeout:
        return b""
cmd("stop")
cmd("dump-guest-memory " + sys.argv[2], 1.0)
for _ in range(200):  # the dump runs synchronously in the monitor: wait until it answers again
    if b"VM status" in cmd("info status", 0.5):
        break
cmd("quit")
PY
wait "$qpid" 2>/dev/null || true
qpid=""
sed -n '/^KALLSYMS-BEGIN/,/^KALLSYMS-END/p' "$w/serial.log" | tr -d '\r' | grep -v '^KALLSYMS-' \
    >"$w/proc_kallsyms.txt"
e2e_check "guest printed its /proc/kallsyms" [ "$(wc -l <"$w/proc_kallsyms.txt")" -gt 50000 ]
if "$decoder" "$w/dump.elf" >"$w/decoded.txt" 2>"$w/decoder.err"; then
    e2e_pass "decoder ran: $(tr '\n' ';' <"$w/decoder.err")"
else
    e2e_fail "decoder failed: $(cat "$w/decoder.err")"
fi
n=$(wc -l <"$w/proc_kallsyms.txt")
if cmp -s "$w/proc_kallsyms.txt" "$w/decoded.txt"; then
    e2e_pass "all $n /proc/kallsyms lines (address, type, name) decoded identically from memory"
else
    e2e_fail "decoded kallsyms differ from /proc/kallsyms: $(diff "$w/proc_kallsyms.txt" \
        "$w/decoded.txt" | head -5 | tr '\n' ' ')"
fi
e2e_done

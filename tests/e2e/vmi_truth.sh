#!/usr/bin/env bash
# End-to-end VMI ground truth: the Debian test guest (QEMU TCG, 2 CPUs, -kernel/-initrd) runs
# tests/scenarios/vmi-truth.sh, which starts processes of known shape and prints what the guest
# says about every process, module and the kernel; tests/e2e/vmi_guest_dump.sh dumps its memory and
# registers (cached under build/vmi/). Then build/vigil-vmi must reproduce that truth exactly:
#   1. auto mode (kallsyms + BTF from guest memory), kernel found through the IDT (QEMU's dump
#      has no LSTAR)
#   2. auto mode with --no-regs: kernel found by the physical-memory scan
#   3. raw memory image + register file (the other dump format), with and without MSR_LSTAR
#   4. profile mode with the ISF profile made for the guest's kernel package on demand
#      (guest-profiles/profile-for-package.sh, cached under build/profiles/)
#   5. profiles that do not match the running kernel: profile_mismatch is reported and auto
#      takes over, with the same results: that profile with linux_banner moved, and the profile
#      of another Debian kernel (tests/data/profiles/debian-6.1.0-56-amd64.isf.json: what a user
#      whose kernel was updated has); likewise a profile with the right banner and a shifted
#      task_struct.pid (refused by the offset checks, with the reason)
#   every run must walk through the kernel's own page table (kernel event root_from init_top_pgt)
#   6. a second guest on QEMU's "max" CPU with LA57: 5-level paging, PCID and KPTI together
#      (auto, scan and profile modes)
# Any difference fails the test with a list of every mismatch (tests/e2e/vmi_compare.py).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
out=build/vmi/e2e
mkdir -p "$out"
fail=0
die() { echo "vmi_truth: error: $*" >&2; exit 1; }

VMI=${VIGIL_VMI:-build/vigil-vmi}
[ -x "$VMI" ] || die "$VMI is missing (make tools)"

check() { # name expected-source vigil-vmi args...  (sets race=1 on a kernel-thread state race)
    local name=$1 src=$2 rc=0
    shift 2
    local t0=$(date +%s%N)
    if ! timeout 120 "$VMI" --jsonl "$@" >"$out/$name.jsonl" 2>"$out/$name.err"; then
        echo "vmi_truth: [$name] vigil-vmi failed (exit $?):"
        sed 's/^/    /' "$out/$name.err" "$out/$name.jsonl" | tail -20
        fail=1
        return 0
    fi
    local ms=$((($(date +%s%N) - t0) / 1000000))
    python3 tests/e2e/vmi_compare.py "$TRUTH" "$out/$name.jsonl" "$VMLINUX" "$src" "$DUMP" || rc=$?
    if [ "$rc" = 0 ]; then
        echo "vmi_truth: [$name] ok ($ms ms)"
    elif [ "$rc" = 3 ] && [ "${allow_race:-0}" = 1 ]; then
        echo "vmi_truth: [$name] a kernel thread changed state at the dump instant; new dump"
        race=1
    else
        echo "vmi_truth: [$name] FAILED"
        fail=1
    fi
}

# dump CPU: sets DUMP/TRUTH from tests/e2e/vmi_guest_dump.sh. The first auto run decides whether
# the dump caught a kernel thread mid-wakeup (vmi_compare exit 3); then a fresh dump is made, at
# most twice more: a decoding bug would show on every dump, a race does not.
dump() {
    local cpu=$1 try info
    for try in 1 2 3; do
        info=$(VMI_QEMU_CPU=$cpu VMI_DUMP_FRESH=$([ "$try" = 1 ] && echo 0 || echo 1) \
            bash tests/e2e/vmi_guest_dump.sh) || die "could not make the guest dump (cpu '${cpu:-default}')"
        DUMP=$(sed -n 's/^DUMP=//p' <<<"$info")
        TRUTH=$(sed -n 's/^TRUTH=//p' <<<"$info")
        race=0
        allow_race=$([ "$try" -lt 3 ] && echo 1 || echo 0)
        check "first-${cpu:-default}" auto "$DUMP"
        allow_race=0
        [ "$race" = 0 ] && return 0
    done
}

eval "$(bash qemu-scripts/fetch-kernel.sh | grep -E '^(KVER|VMLINUX)=')"
dump ""
echo "vmi_truth: dump $DUMP ($(grep -c '^TASKS' "$TRUTH") processes in the guest's /proc)"

# 1, 2: the ELF dump with and without registers.
check auto auto "$DUMP"
grep -q '"found_by":"idt"' "$out/auto.jsonl" || { echo "vmi_truth: [auto] kernel not found through the IDT"; fail=1; }
check scan auto --no-regs "$DUMP"
grep -q '"found_by":"scan"' "$out/scan.jsonl" || { echo "vmi_truth: [scan] kernel not found by the scan"; fail=1; }

# 3: raw memory + register file made from the ELF dump, once as QEMU gives the registers (IDT)
# and once with MSR_LSTAR = entry_SYSCALL_64 from the guest's /proc/kallsyms (the LSTAR path).
python3 tests/e2e/vmi_elf2raw.py "$DUMP" "$out/mem.raw" "$out/regs.txt"
check raw auto --regs "$out/regs.txt" "$out/mem.raw"
lstar=$(awk '$1 == "KSYM" && $4 == "entry_SYSCALL_64" {print $2}' "$TRUTH")
python3 tests/e2e/vmi_elf2raw.py "$DUMP" "$out/mem.raw" "$out/regs-lstar.txt" "$lstar"
check raw-lstar auto --regs "$out/regs-lstar.txt" "$out/mem.raw"
grep -q '"found_by":"lstar"' "$out/raw-lstar.jsonl" || { echo "vmi_truth: [raw-lstar] kernel not found through LSTAR"; fail=1; }
rm -f "$out/mem.raw"

# mismatch NAME PROFILE: vigil-vmi reports profile_mismatch for PROFILE and auto mode's results
# are the truth.
mismatch() {
    local name=$1 prof=$2
    if ! timeout 120 "$VMI" --jsonl --profile "$prof" "$DUMP" >"$out/$name.jsonl"; then
        echo "vmi_truth: [$name] FAILED: vigil-vmi exited with an error"
        fail=1
    elif ! grep -q '"ev":"profile_mismatch"' "$out/$name.jsonl"; then
        echo "vmi_truth: [$name] FAILED: no profile_mismatch event for a profile of another kernel"
        fail=1
    else
        grep -v '"ev":"profile_mismatch"' "$out/$name.jsonl" >"$out/$name-rest.jsonl"
        if python3 tests/e2e/vmi_compare.py "$TRUTH" "$out/$name-rest.jsonl" "$VMLINUX" auto "$DUMP"; then
            echo "vmi_truth: [$name] ok: profile_mismatch reported, auto took over"
        else
            echo "vmi_truth: [$name] FAILED"
            fail=1
        fi
    fi
}

# 4: the profile of the guest's kernel, made on demand from its package.
profile=""
if ! info=$(bash guest-profiles/profile-for-package.sh); then
    echo "vmi_truth: [profile] FAILED: guest-profiles/profile-for-package.sh made no profile for $KVER"
    fail=1
elif ! grep -qx "KVER=$KVER" <<<"$info"; then
    echo "vmi_truth: [profile] FAILED: the profile is not for the guest's kernel $KVER: $info"
    fail=1
else
    profile=$(sed -n 's/^PROFILE=//p' <<<"$info")
    cp "$profile" "$out/profile.json"
    check profile profile --profile "$out/profile.json" "$DUMP"
    # 5: the same profile with linux_banner moved: it no longer describes the running kernel.
    python3 - "$out/profile.json" "$out/profile-wrong.json" <<'PY'
import json, sys
isf = json.load(open(sys.argv[1]))
isf["symbols"]["linux_banner"]["address"] += 0x100
json.dump(isf, open(sys.argv[2], "w"))
PY
    mismatch mismatch "$out/profile-wrong.json"
    # 5b: the same profile with task_struct.pid moved by 8 bytes: the banner matches, the offset
    # checks must refuse it with the reason, and auto takes over with the same results.
    python3 - "$out/profile.json" "$out/profile-shifted.json" <<'PY'
import json, sys
isf = json.load(open(sys.argv[1]))
isf["user_types"]["task_struct"]["fields"]["pid"]["offset"] += 8
json.dump(isf, open(sys.argv[2], "w"))
PY
    if timeout 120 "$VMI" --jsonl --profile "$out/profile-shifted.json" "$DUMP" >"$out/shifted.jsonl" &&
        grep -q '"ev":"profile_mismatch".*init_task.pid' "$out/shifted.jsonl"; then
        grep -v '"ev":"profile_mismatch"' "$out/shifted.jsonl" >"$out/shifted-rest.jsonl"
        if python3 tests/e2e/vmi_compare.py "$TRUTH" "$out/shifted-rest.jsonl" "$VMLINUX" auto "$DUMP"; then
            echo "vmi_truth: [shifted] ok: shifted offsets refused with the reason, auto took over"
        else
            echo "vmi_truth: [shifted] FAILED"
            fail=1
        fi
    else
        echo "vmi_truth: [shifted] FAILED: no profile_mismatch naming init_task.pid for shifted offsets"
        fail=1
    fi
fi
# 5: the profile of the previous Debian kernel ABI (same addresses, other banner).
stale=tests/data/profiles/debian-6.1.0-56-amd64.isf.json
if [ "$KVER" = 6.1.0-56-amd64 ]; then
    echo "vmi_truth: [stale] not checked: $stale is the guest's own kernel's profile"
else
    mismatch stale "$stale"
fi

# Every run walked through the kernel's own page table, not the detection CR3.
for f in "$out"/*.jsonl; do
    case "$f" in *-rest.jsonl) continue ;; esac
    grep -q '"ev":"kernel"' "$f" || continue
    grep -q '"root_from":"init_top_pgt"' "$f" || { echo "vmi_truth: [root] FAILED: $f does not walk from init_top_pgt"; fail=1; }
done

# Text mode with the process tree: must run and show the scenario's chain at its depth.
timeout 120 "$VMI" --tree "$DUMP" >"$out/text.txt"
# init (depth 0) -> sh -> vmi-chain-1 (depth 2) -> vmi-chain-2 -> vmi-chain-3 (depth 4).
grep -Eq '^vigil: proc pid=[0-9]+ ppid=[0-9]+ comm=vmi-chain-1 .* depth=2$' "$out/text.txt" &&
    grep -Eq '^vigil: proc pid=[0-9]+ ppid=[0-9]+ comm=vmi-chain-3 .* depth=4$' "$out/text.txt" ||
    { echo "vmi_truth: [text] FAILED: process tree not as expected"; sed -n '1,40p' "$out/text.txt"; fail=1; }

# 6: 5-level paging with PCID (and KPTI).
dump max,la57=on
echo "vmi_truth: LA57 dump $DUMP"
check la57-auto auto "$DUMP"
grep -q '"paging":"5-level"' "$out/la57-auto.jsonl" || { echo "vmi_truth: [la57] not reported as 5-level paging"; fail=1; }
check la57-scan auto --no-regs "$DUMP"
[ -n "$profile" ] && check la57-profile profile --profile "$out/profile.json" "$DUMP"

[ "$fail" = 0 ] && echo "vmi_truth: all checks passed"
exit "$fail"

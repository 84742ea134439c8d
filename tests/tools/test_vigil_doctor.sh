#!/usr/bin/env bash
# Tests of vigil-doctor over recorded machine trees (tests/data/doctor/, see its README.md) and
# this machine itself.
#   bash tests/tools/test_vigil_doctor.sh [PATH-OF-vigil-doctor]
# The trees hold /proc and /sys files; /dev/cpu/N/msr is written here from the captured MSR
# values in tests/data/vmx-caps/ (as a regular file: MSR i at offset 8 * i, tools/doctor_root.h).
# Backquotes in the expected lines are literal (the doctor quotes commands with them).
# shellcheck disable=SC2016
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
doctor=${1:-$top/build/vigil-doctor}
data=$top/tests/data/doctor
caps=$top/tests/data/vmx-caps
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

# tree NAME: a private copy of a recorded tree (tests modify their copy); prints its path.
tree() {
    local d
    d=$(mktemp -d "$work/$1.XXXXXX")
    cp -a "$data/$1/." "$d"
    echo "$d"
}

# msrs ROOT CPU CAPS-FILE [INDEX=VALUE...]: /dev/cpu/CPU/msr from a capture, with overrides.
msrs() {
    local root=$1 cpu=$2 file=$3
    shift 3
    mkdir -p "$root/dev/cpu/$cpu"
    python3 - "$root/dev/cpu/$cpu/msr" "$file" "$@" <<'EOF'
import struct, sys
vals = {}
for line in open(sys.argv[2]):
    f = line.split()
    if len(f) == 3 and f[0] == "msr":
        vals[int(f[1], 16)] = int(f[2], 16)
for o in sys.argv[3:]:
    i, v = o.split("=")
    vals[int(i, 16)] = int(v, 16)
with open(sys.argv[1], "wb") as out:  # MSR i at offset 8 * i (tools/doctor_root.h)
    for i, v in sorted(vals.items()):
        out.seek(8 * i)
        out.write(struct.pack("<Q", v))
EOF
}

# check NAME WANT-STATUS ROOT REGEX...: runs the doctor on ROOT ("-" = this machine) and wants
# its exit status and a line matching each REGEX.
check() {
    local name=$1 want=$2 root=$3 out rc ok=1 re line
    shift 3
    if [ "$root" = - ]; then
        out=$("$doctor" 2>&1)
    else
        out=$("$doctor" --sysroot "$root" 2>&1)
    fi
    rc=$?
    [ "$rc" = "$want" ] || { echo "  exit status $rc, want $want"; ok=0; }
    for re in "$@"; do
        grep -E -q -- "$re" <<<"$out" || { echo "  no line matching: $re"; ok=0; }
    done
    if [ $ok = 1 ]; then
        passed=$((passed + 1))
        echo "PASS: $name"
    else
        failed=$((failed + 1))
        echo "FAIL: $name; output:"
        while IFS= read -r line; do echo "    $line"; done <<<"$out"
    fi
}

intel=$caps/intel-core-i7-9750h.txt
bochs=$caps/bochs-2.7-corei7_haswell_4770.txt

r=$(tree intel-coffee-lake)
msrs "$r" 0 "$intel"
msrs "$r" 1 "$intel"
check "Intel Coffee Lake with VT-x on: ready" 0 "$r" \
    '^cpu +info +GenuineIntel \(Intel\(R\) Core\(TM\) i7-9750H' \
    '^vt-x +ok +VT-x usable: EPT, unrestricted guest, VPID yes, wait-for-SIPI, VMCS revision 0x4' \
    '^hypervisor +info +none' \
    '^nested +info +kvm_intel nested=Y, /dev/kvm usable: .*QEMU/KVM with nested VT-x' \
    '^uefi +ok' '^secure-boot +ok +off$' \
    '^uart +ok +ttyS0 at 0x3f8 \(16550A\) = serial com1; the one vigil uses is hidden' \
    '^iommu +info +present \(dmar0, dmar1\)' '^verdict: ready$'

r=$(tree intel-coffee-lake)
msrs "$r" 0 "$bochs"
check "Bochs's VMX MSRs (feature control unlocked): ready, vigil locks it" 0 "$r" \
    '^vt-x +ok .*VMCS revision 0x2b; IA32_FEATURE_CONTROL unlocked: vigil enables VMX and locks' \
    '^verdict: ready$'

r=$(tree intel-vtx-off)
msrs "$r" 0 "$intel" 3a=1
check "VT-x locked off in the firmware (Linux hides the vmx flag): not ready" 1 "$r" \
    '^vt-x +FAIL +VT-x not usable: IA32_FEATURE_CONTROL is locked with VMX outside SMX disabled: enable virtualization \(VT-x\) in the firmware setup' \
    '^nested +info +kvm_intel not loaded' \
    '^verdict: not ready: VT-x disabled in the firmware setup$'

r=$(tree intel-vtx-off)
check "VT-x off, MSRs not readable: could not tell" 2 "$r" \
    '^vt-x +unknown +no vmx flag in /proc/cpuinfo: .*no /dev/cpu/N/msr \(run `modprobe msr`' \
    '^verdict: could not tell: VT-x state unknown'

r=$(tree intel-vtx-off)
mkdir -p "$r/dev/cpu/0" && : >"$r/dev/cpu/0/msr"
check "Intel CPU whose msr driver refuses IA32_VMX_BASIC: no VT-x" 1 "$r" \
    '^vt-x +FAIL +Intel CPU, no VT-x' '^verdict: not ready: Intel CPU, no VT-x$'

r=$(tree intel-coffee-lake)
check "VT-x on, MSRs not readable: could not tell, vmx flags say EPT and UG" 2 "$r" \
    '^vt-x +unknown +VT-x present with EPT and unrestricted guest \("vmx flags"\).*MSR 0x3a: no /dev/cpu' \
    '^verdict: could not tell: VT-x present, capability MSRs not readable$'

r=$(tree intel-coffee-lake)
sed -i 's/ unrestricted_guest//' "$r/proc/cpuinfo"
check "vmx flags without unrestricted_guest, no MSRs: not ready" 1 "$r" \
    '^vt-x +FAIL +VT-x without unrestricted guest' \
    '^verdict: not ready: VT-x without unrestricted guest$'

r=$(tree intel-coffee-lake)
# IA32_VMX_PROCBASED_CTLS2 allowed-1 without bit 7 (unrestricted guest), SDM A.3.3.
msrs "$r" 0 "$intel" 48b=005fbc7f00000000
check "capability MSRs without unrestricted guest: not ready (decoded by vmx_caps.c)" 1 "$r" \
    '^vt-x +FAIL +VT-x not usable: no unrestricted guest$' \
    '^verdict: not ready: VT-x lacks what vigil needs$'

r=$(tree intel-coffee-lake)
msrs "$r" 0 "$intel"
msrs "$r" 1 "$intel" 3a=1
check "one CPU left locked with VMX off: not ready" 1 "$r" \
    '^vt-x +FAIL +VT-x usable on cpu 0, but cpu 1 has IA32_FEATURE_CONTROL locked with VMX off' \
    '^verdict: not ready: VT-x disabled in the firmware on some CPUs$'

r=$(tree intel-coffee-lake)
msrs "$r" 0 "$intel"
printf '\x06\x00\x00\x00\x01' >"$r/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
check "Secure Boot on: not ready" 1 "$r" '^secure-boot +FAIL +on: the firmware refuses the unsigned' \
    '^verdict: not ready: Secure Boot is on$'

r=$(tree intel-coffee-lake)
msrs "$r" 0 "$intel"
rm -r "$r/sys/firmware/efi/efivars"
check "efivarfs not mounted: could not tell" 2 "$r" '^secure-boot +unknown +efivarfs is not mounted' \
    '^verdict: could not tell: Secure Boot state unknown$'

r=$(tree intel-coffee-lake)
msrs "$r" 0 "$intel"
echo 0 >"$r/sys/class/tty/ttyS0/type"
check "no UART answers: not ready" 1 "$r" '^uart +FAIL +no 16550 UART at an I/O port' \
    '^verdict: not ready: no 16550 UART at an I/O port$'

r=$(tree intel-coffee-lake)
msrs "$r" 0 "$intel"
echo 2 >"$r/sys/class/tty/ttyS0/io_type"
check "a memory-mapped UART only (io_type UPIO_MEM): not ready" 1 "$r" \
    '^uart +FAIL +no 16550 UART at an I/O port'

r=$(tree intel-coffee-lake)
msrs "$r" 0 "$intel"
echo 0 >"$r/sys/class/tty/ttyS0/type"
echo 4 >"$r/sys/class/tty/ttyS1/type"
echo 1 >"$r/sys/class/tty/ttyS3/type"
check "UARTs at com2 and com4, none at com1: ready, with the serial key to set" 0 "$r" \
    '^uart +ok +ttyS1 at 0x2f8 \(16550A\) = serial com2, ttyS3 at 0x2e8 \(8250\) = serial com4; .*no com1: set serial in vigil.cfg'

r=$(tree amd-epyc)
rm -r "$r/sys/class/tty"
check "UARTs from /proc/tty/driver/serial when /sys has none" 1 "$r" \
    '^uart +ok +ttyS0 at 0x3f8 \(16550A\) = serial com1'

r=$(tree intel-coffee-lake)
msrs "$r" 0 "$intel"
echo N >"$r/sys/module/kvm_intel/parameters/nested"
sed -i 's/ hypervisor//; s/^flags\t\t: /&hypervisor /' "$r/proc/cpuinfo"
mkdir -p "$r/sys/hypervisor" && echo xen >"$r/sys/hypervisor/type"
check "under a hypervisor, kvm_intel nested=N: informational only" 0 "$r" \
    '^hypervisor +info +this OS already runs under a hypervisor \(CPUID hypervisor bit, /sys/hypervisor/type xen, system vendor Micro-Star' \
    '^nested +info +kvm_intel nested=N: `make run` uses Bochs' '^verdict: ready$'

r=$(tree amd-epyc)
check "AMD EPYC (this project's machine, recorded): not ready" 1 "$r" \
    '^cpu +info +AuthenticAMD \(AMD EPYC\)' \
    '^vt-x +FAIL +AMD CPU, no VT-x: CPUID.1:ECX.VMX\[bit 5\] = 0' \
    '^nested +info +no nested VT-x for QEMU/KVM: the CPU is not Intel' \
    '^uefi +FAIL' '^uart +ok +ttyS0 at 0x3f8 \(16550A\) = serial com1' \
    '^iommu +info +none found \(/sys/class/iommu is empty\)' \
    '^verdict: not ready: AMD CPU, no VT-x; not booted through UEFI$'

# This machine: on an AMD CPU the answer is known; elsewhere only that there is an answer.
if grep -q -m1 '^vendor_id.*AuthenticAMD' /proc/cpuinfo; then
    check "this machine (AMD): not ready, AMD CPU, no VT-x" 1 - '^verdict: not ready: AMD CPU, no VT-x'
else
    out=$("$doctor")
    rc=$?
    if [[ "$rc" =~ ^[012]$ ]] && grep -q '^verdict: ' <<<"$out"; then
        passed=$((passed + 1))
        echo "PASS: this machine: status $rc, $(grep '^verdict: ' <<<"$out")"
    else
        failed=$((failed + 1))
        echo "FAIL: this machine: status $rc"
    fi
fi

check "a root with nothing readable: could not tell" 2 "$work/empty" \
    '^vt-x +unknown +/proc/cpuinfo not readable' '^verdict: could not tell: '
"$doctor" --bogus >/dev/null 2>&1
if [ $? = 2 ]; then
    passed=$((passed + 1))
    echo "PASS: unknown option: status 2"
else
    failed=$((failed + 1))
    echo "FAIL: unknown option: status 2"
fi

echo "test_vigil_doctor: $passed passed, $failed failed"
[ "$failed" = 0 ]

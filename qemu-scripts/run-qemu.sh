#!/usr/bin/env bash
# Boots vigil (or, with --no-hv, the bare guest) under QEMU with OVMF; options in lib.sh's h_usage
# (--help) and docs/harness.md.
#
# Accelerator: KVM with nested VT-x when the host really offers it (Intel CPU, /dev/kvm readable
# and writable, /sys/module/kvm_intel/parameters/nested Y or 1); TCG otherwise. TCG has no VMX,
# so there vigil finds VT-x unusable and boots the guest unvirtualized.
#
# Machine: i440fx ("pc", like Bochs), OVMF split CODE (read-only) + VARS (a copy per run) as
# pflash, the ESP as an IDE disk, COM1 -> console log, COM2 (or --report-port) -> report log,
# isa-debug-exit at
# 0xf4 (a guest write of V ends QEMU with status 2V+1), -no-reboot, no network.
#
# --vars FILE (QEMU only): OVMF's variable store is FILE instead of a fresh copy per run, created
# from OVMF_VARS.fd if FILE does not exist, and kept after the run, so that what the firmware or
# vigil writes to NVRAM (vigil's sealed config, README) is there at the next boot with the same
# FILE.
#
# --no-hv: QEMU's -kernel/-initrd/-append with the same OVMF: the firmware itself loads and
# starts the kernel's EFI stub (LoadImage/StartImage, initrd through the LoadFile2 initrd device
# path), with the same command line vigil's config passes. The same ESP stays attached (without
# BOOTX64.EFI). Not the EFI shell's startup.nsh: its 5 s countdown would dominate a 10 s boot.
set -uo pipefail
H_ENGINE=qemu
H_DEFAULT_TIMEOUT=120
# shellcheck source=qemu-scripts/lib.sh
source "$(dirname "$0")/lib.sh"

h_engine_status() { # QEMU status -> note on isa-debug-exit
    if [ "$1" -gt 1 ] && [ $(($1 % 2)) = 1 ] && [ "$1" -lt 256 ]; then
        echo " (isa-debug-exit value $((($1 - 1) / 2)))"
    fi
}

# --vars is this engine's own option: taken out before the shared parser sees the rest. Every other
# option but the flags (--no-hv, --keep, --help) takes a value, which is passed on untouched.
vars_file="" rest=()
while [ $# -gt 0 ]; do
    case "$1" in
    --vars)
        [ $# -ge 2 ] || h_die "--vars needs a value"
        vars_file=$2
        shift 2
        ;;
    -h | --help)
        h_usage
        echo "  --vars FILE           OVMF variable store to boot with and keep (created from" >&2
        echo "                        OVMF_VARS.fd if missing): NVRAM survives across runs" >&2
        exit 0
        ;;
    --no-hv | --keep) rest+=("$1"); shift ;;
    --*) rest+=("$1"); [ $# -ge 2 ] && { rest+=("$2"); shift; }; shift ;;
    *) rest+=("$1"); shift ;;
    esac
done
h_parse "${rest[@]+"${rest[@]}"}"
command -v qemu-system-x86_64 >/dev/null || h_die "qemu-system-x86_64 missing (package qemu-system-x86)"

code="" vars=""
for d in /usr/share/OVMF /usr/share/ovmf; do
    if [ -f "$d/OVMF_CODE.fd" ] && [ -f "$d/OVMF_VARS.fd" ]; then
        code=$d/OVMF_CODE.fd vars=$d/OVMF_VARS.fd
        break
    fi
done
[ -n "$code" ] || h_die "OVMF_CODE.fd/OVMF_VARS.fd not found (package ovmf)"

# Accelerator choice.
if [ -n "${VIGIL_QEMU_ACCEL:-}" ]; then
    accel=$VIGIL_QEMU_ACCEL
    h_log "accelerator $accel (VIGIL_QEMU_ACCEL)"
elif h_kvm_nested; then
    accel=kvm
    h_log "accelerator KVM with nested VT-x (Intel host, /dev/kvm usable, kvm_intel nested on)"
else
    accel=tcg
    h_log "accelerator TCG (no VMX in the guest): $H_KVM_WHY"
fi
if [ "$accel" = kvm ]; then
    cpu_args=(-accel kvm -cpu host,+vmx)
else
    cpu_args=(-accel tcg -cpu max)
fi

# --smp: OVMF on QEMU already installs QEMU's ACPI tables, so the step adds none and only
# chain-loads (QEMU's machine cannot drop its tables: OVMF hangs without the PIIX4 power
# management device that acpi=off removes). The baseline then goes through the shell:
# startup.nsh runs the step, which starts the kernel.
[ "$H_SMP" = 1 ] && H_NOHV_STARTUP_NSH=1
h_prepare
if [ -n "$vars_file" ]; then
    if [ ! -s "$vars_file" ]; then
        mkdir -p "$(dirname "$vars_file")"
        cp "$vars" "$vars_file" || h_die "cannot create $vars_file"
        h_log "variable store $vars_file (new, from $vars)"
    else
        [ "$(stat -c %s "$vars_file")" = "$(stat -c %s "$vars")" ] ||
            h_die "$vars_file is not an OVMF variable store of $vars's size"
        h_log "variable store $vars_file (kept from an earlier run)"
    fi
    vars_fd=$(realpath "$vars_file")
else
    cp "$vars" "$H_WORK/vars.fd"
    vars_fd=$H_WORK/vars.fd
fi
args=(-machine pc -m "$H_MEM" -smp "$H_CPUS" "${cpu_args[@]}"
    -nodefaults -vga std -display none -no-reboot -nic none
    -drive "if=pflash,format=raw,unit=0,readonly=on,file=$code"
    -drive "if=pflash,format=raw,unit=1,file=$vars_fd"
    -drive "if=ide,index=0,media=disk,format=raw,file=$H_WORK/esp.img"
    -chardev "file,id=com1,path=$H_CONSOLE_LOG" -device isa-serial,chardev=com1,index=0
    -device isa-debug-exit,iobase=0xf4,iosize=1)
case "$H_REPORT_PORT" in
com2) args+=(-chardev "file,id=com2,path=$H_REPORT_LOG" -device isa-serial,chardev=com2,index=1) ;;
*)
    # COM2 stays present (the firmware mirrors its console there) but away from the report.
    args+=(-chardev "file,id=com2,path=$H_WORK/com2-firmware.log" -device isa-serial,chardev=com2,index=1)
    args+=(-chardev "file,id=rep,path=$H_REPORT_LOG"
        -device "isa-serial,chardev=rep,index=$((${H_REPORT_PORT#com} - 1))")
    ;;
esac
if [ "$H_NO_HV" = 1 ] && [ "$H_SMP" = 0 ]; then
    args+=(-kernel "$H_KERNEL" -initrd "$H_INITRD" -append "$(h_kernel_args)")
    h_log "baseline boot: OVMF starts the kernel's EFI stub from QEMU's -kernel (fw_cfg)"
fi
h_launch qemu-system-x86_64 "${args[@]}"
h_finish

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

h_parse "$@"
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
cp "$vars" "$H_WORK/vars.fd"
args=(-machine pc -m "$H_MEM" -smp "$H_CPUS" "${cpu_args[@]}"
    -nodefaults -vga std -display none -no-reboot -nic none
    -drive "if=pflash,format=raw,unit=0,readonly=on,file=$code"
    -drive "if=pflash,format=raw,unit=1,file=$H_WORK/vars.fd"
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

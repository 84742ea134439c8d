#!/usr/bin/env bash
# Boots vigil (or, with --no-hv, the bare guest) under Bochs 2.7 with OVMF; options in lib.sh's
# h_usage (--help) and docs/harness.md. Bochs emulates VT-x (VMX with EPT, unrestricted guest,
# VPID), so this is where vigil really virtualizes; a boot to the guest's userspace takes about
# 3 minutes.
#
# Machine: i440fx with OVMF.fd as the ROM image, the ESP as a flat IDE disk, CPU model
# corei7_haswell_4770 (tigerlake hangs Linux early: docs/harness.md), clock sync=none (guest time
# follows the instruction count, so runs are repeatable). COM1 -> console log, report port ->
# report log. A panic or a triple fault ends Bochs (no reset loop).
#
# Display: Bochs here has only the rfb and term display libraries; term needs a terminal, so rfb
# with options="timeout=0" (do not wait for a VNC client). rfb binds the first free TCP port in
# 5900-5949 on all addresses, so Bochs runs in a network namespace of its own (unshare -n, or
# unshare -rn without root): the port is reachable from nowhere and parallel runs cannot
# collide. Without namespaces it falls back to the plain rfb port (said on stderr).
#
# --no-hv: the same ESP without BOOTX64.EFI and with a startup.nsh; OVMF finds nothing to boot
# on the disk and starts its UEFI shell, which runs startup.nsh: \vmlinuz initrd=\initrd.img ...
# (the shell's 5 s countdown is guest time, which at Bochs's instruction rate is a fraction of a
# second of real time).
set -uo pipefail
H_ENGINE=bochs
H_DEFAULT_TIMEOUT=900
H_NOHV_STARTUP_NSH=1
# shellcheck source=qemu-scripts/lib.sh
source "$(dirname "$0")/lib.sh"

h_engine_status() { :; }

# Linux samples APERF/MPERF (MSRs 0xe7/0xe8) on every tick; the CPU model advertises them but
# Bochs does not implement them, so it logs an error each time (read as 0 with ignore_bad_msrs):
# about 230,000 lines a boot. Squeeze them out of the kept log into a count.
h_engine_cleanup() {
    local f=$H_WORK/bochs.log n
    [ -f "$f" ] || return 0
    n=$(grep -c 'RDMSR: Unknown register 0xe[78]$' "$f")
    if [ "$n" -gt 0 ]; then
        grep -v 'RDMSR: Unknown register 0xe[78]$' "$f" >"$f.tmp"
        echo "run-bochs: removed $n lines 'RDMSR: Unknown register 0xe7/0xe8' (APERF/MPERF)" >>"$f.tmp"
        mv "$f.tmp" "$f"
    fi
}

h_parse "$@"
command -v bochs-bin >/dev/null || h_die "bochs-bin missing (package bochs)"
rom=/usr/share/ovmf/OVMF.fd
vgarom=/usr/share/bochs/VGABIOS-lgpl-latest
[ -f "$rom" ] || h_die "$rom not found (package ovmf)"
[ -f "$vgarom" ] || h_die "$vgarom not found (packages bochsbios, vgabios)"

h_prepare

ns=()
if unshare -n true 2>/dev/null; then
    ns=(unshare -n)
elif unshare -rn true 2>/dev/null; then
    ns=(unshare -rn)
else
    h_log "warning: no network namespace available: Bochs's rfb display listens on a TCP port"
fi

com_line() { # comN file
    echo "$1: enabled=1, mode=file, dev=\"$2\""
}
{
    echo "config_interface: textconfig"
    echo "display_library: rfb, options=\"timeout=0\""
    echo "memory: guest=$H_MEM, host=$H_MEM"
    echo "romimage: file=\"$rom\", address=0xffe00000, options=none"
    echo "vgaromimage: file=\"$vgarom\""
    echo "pci: enabled=1, chipset=i440fx"
    echo "cpu: model=${VIGIL_BOCHS_CPU:-corei7_haswell_4770}, count=$H_CPUS, reset_on_triple_fault=0, ignore_bad_msrs=1"
    echo "clock: sync=none, time0=utc"
    # Bochs's sound drivers default to the host's (ALSA here); on a host without a working sound
    # device Debian's bochs-bin aborts right after loading that plugin ("buffer overflow
    # detected"). The guest has no sound card anyway: dummy drivers, and the PC speaker off.
    echo "sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy"
    echo "speaker: enabled=0"
    echo "ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14"
    echo "ata0-master: type=disk, path=\"$H_WORK/esp.img\", mode=flat"
    echo "boot: disk"
    com_line com1 "$H_CONSOLE_LOG"
    if [ "$H_REPORT_PORT" = com2 ]; then
        com_line com2 "$H_REPORT_LOG"
    else
        com_line com2 "$H_WORK/com2-firmware.log"
        com_line "$H_REPORT_PORT" "$H_REPORT_LOG"
    fi
    echo "port_e9_hack: enabled=1"
    echo "magic_break: enabled=0"
    echo "log: $H_WORK/bochs.log"
    echo "panic: action=fatal"
    echo "error: action=report"
    # Bochs logs every RDMSR of the APIC base as info from the CPU modules (over 200,000 lines a
    # boot): keep info from the devices, drop it from the CPUs.
    cpus_ignore=""
    for ((i = 0; i < H_CPUS; i++)); do cpus_ignore="$cpus_ignore, cpu$i=ignore"; done
    echo "info: action=report$cpus_ignore"
    echo "debug: action=ignore"
} >"$H_WORK/bochsrc"
# This bochs-bin has the debugger built in and stops before the first instruction: continue,
# and quit if anything ever returns control to the debugger.
printf 'c\nquit\n' >"$H_WORK/debugger.rc"
[ "$H_NO_HV" = 1 ] && h_log "baseline boot: OVMF's UEFI shell runs startup.nsh (no BOOTX64.EFI)"
h_log "Bochs: $H_CPUS CPU(s), model ${VIGIL_BOCHS_CPU:-corei7_haswell_4770}; expect about 3 min to the guest's userspace"
h_launch "${ns[@]}" bochs-bin -q -f "$H_WORK/bochsrc" -rc "$H_WORK/debugger.rc"
h_finish

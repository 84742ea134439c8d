#!/usr/bin/env bash
# Builds the EFI system partition image vigil boots from: a whole-disk FAT image (no partition
# table; OVMF boots it on QEMU and on Bochs), made with mkfs.fat and mtools, so no root, no loop
# mount. Layout:
#   EFI/BOOT/BOOTX64.EFI   vigil (the firmware's removable-media boot path)
#   EFI/vigil/vigil.cfg    vigil's configuration
#   vmlinuz, initrd.img    the guest kernel (EFI stub) and its initramfs, at the root
#
#   mkesp.sh --out FILE [--efi FILE | --no-efi] [--config FILE] [--kernel FILE] [--initrd FILE]
#            [--file SRC:DEST]... [--extra-mb N] [--no-guest]
#
# Every input is optional (an ESP without BOOTX64.EFI is what the no-hypervisor baseline boots
# through the firmware's shell, with --file startup.nsh:startup.nsh). DEST is a path on the ESP,
# with / or \ separators. Defaults: --efi build/vigil.efi if it exists (--no-efi: none), the
# kernel and initrd of mkguest.sh's default guest when --kernel/--initrd are not given (--no-guest:
# none).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

die() {
    echo "mkesp: error: $*" >&2
    exit 1
}

out="" efi="" noefi=0 config="" kernel="" initrd="" extra_mb=4 guest=1
files=()
while [ $# -gt 0 ]; do
    case "$1" in
    --out | --efi | --config | --kernel | --initrd | --file | --extra-mb)
        [ $# -ge 2 ] || die "$1 needs a value"
        case "$1" in
        --out) out=$2 ;;
        --efi) efi=$2 ;;
        --config) config=$2 ;;
        --kernel) kernel=$2 ;;
        --initrd) initrd=$2 ;;
        --file) files+=("$2") ;;
        --extra-mb) extra_mb=$2 ;;
        esac
        shift 2
        ;;
    --no-guest) guest=0; shift ;;
    --no-efi) noefi=1; shift ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
    esac
done
[ -n "$out" ] || die "--out FILE is required"
[[ "$extra_mb" =~ ^[0-9]+$ ]] || die "--extra-mb wants a number"
command -v mkfs.fat >/dev/null || die "mkfs.fat missing (package dosfstools)"
command -v mcopy >/dev/null || die "mcopy missing (package mtools)"
if [ -z "$efi" ] && [ "$noefi" = 0 ] && [ -f "$top/build/vigil.efi" ]; then efi=$top/build/vigil.efi; fi
[ "$noefi" = 0 ] || efi=""
if [ "$guest" = 1 ] && { [ -z "$kernel" ] || [ -z "$initrd" ]; }; then
    g=$(bash "$top/qemu-scripts/mkguest.sh") || die "mkguest.sh failed"
    [ -n "$kernel" ] || kernel=$(sed -n 's/^KERNEL=//p' <<<"$g")
    [ -n "$initrd" ] || initrd=$(sed -n 's/^INITRD=//p' <<<"$g")
fi

# (source, ESP path) pairs
srcs=() dsts=()
add() {
    [ -f "$1" ] || die "input file not found: $1"
    srcs+=("$1")
    dsts+=("$(tr '\\' '/' <<<"$2" | sed 's#^/*##')")
}
[ -z "$efi" ] || add "$efi" EFI/BOOT/BOOTX64.EFI
[ -z "$config" ] || add "$config" EFI/vigil/vigil.cfg
[ -z "$kernel" ] || add "$kernel" vmlinuz
[ -z "$initrd" ] || add "$initrd" initrd.img
for f in "${files[@]+"${files[@]}"}"; do
    case "$f" in *:*) ;; *) die "--file wants SRC:DEST, got: $f" ;; esac
    add "${f%%:*}" "${f#*:}"
done

# Size: contents + slack, rounded up to whole 16-head/63-sector cylinders (504 KiB) so that
# Bochs's flat-disk geometry detection takes it as is.
need_kb=0
for s in "${srcs[@]+"${srcs[@]}"}"; do need_kb=$((need_kb + ($(stat -c %s "$s") + 4095) / 4096 * 4)); done
size_kb=$((need_kb + need_kb / 8 + extra_mb * 1024 + 1024))
size_kb=$(((size_kb + 503) / 504 * 504))

mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
rm -f "$tmp"
trap 'rm -f "$tmp"' EXIT
mkfs.fat -C -n VIGILESP "$tmp" "$size_kb" >/dev/null || die "mkfs.fat failed"
export MTOOLS_SKIP_CHECK=1
for i in "${!srcs[@]}"; do
    d=${dsts[$i]}
    dir=$(dirname "$d")
    if [ "$dir" != . ]; then
        p=""
        IFS=/ read -r -a parts <<<"$dir"
        for c in "${parts[@]}"; do
            p="$p/$c"
            mmd -i "$tmp" "::$p" 2>/dev/null || true
        done
    fi
    mcopy -o -i "$tmp" "${srcs[$i]}" "::/$d" || die "mcopy ${srcs[$i]} -> $d failed"
done
mv "$tmp" "$out"
trap - EXIT
echo "mkesp: $out: ${size_kb} KiB FAT, ${#srcs[@]} files" >&2
for i in "${!srcs[@]}"; do echo "mkesp:   /${dsts[$i]} <- ${srcs[$i]}" >&2; done
echo "ESP=$out"

#!/usr/bin/env bash
# Fetches Debian's stock amd64 kernel package without installing it: the linux-image-amd64
# metapackage names the real package in its Depends; that one is downloaded with apt-get download
# and extracted under build/guest/kernel/. Nothing is hard-coded but the metapackage name.
#
# Prints, one per line (KEY=VALUE, for `source <(...)` or eval):
#   KVER      kernel release, e.g. 6.1.0-56-amd64
#   VMLINUZ   the compressed kernel (an EFI application: EFI stub)
#   VMLINUX   the decompressed ELF kernel (for symbols and BTF)
#   MODDIR    /lib/modules/KVER inside the extracted package
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${VIGIL_KERNEL_DIR:-$top/build/guest/kernel}
mkdir -p "$out"
cd "$out"
# One fetcher at a time: parallel test runs all start here.
exec 9>"$out/.fetch-kernel.flock"
flock 9

log() { echo "fetch-kernel: $*" >&2; }

if [ ! -s pkgname ]; then
    meta=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    if [ -z "$meta" ]; then
        log "apt-cache knows no linux-image-amd64; running apt-get update"
        apt-get update -qq >&2 || { log "apt-get update failed (need root?)"; exit 1; }
        meta=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    fi
    [ -n "$meta" ] || { log "cannot resolve linux-image-amd64 to a kernel package"; exit 1; }
    echo "$meta" > pkgname.tmp && mv pkgname.tmp pkgname
fi
pkg=$(cat pkgname)
kver=${pkg#linux-image-}

if [ ! -d "root/boot" ] || [ ! -e "root/boot/vmlinuz-$kver" ]; then
    log "downloading $pkg"
    rm -rf dl root && mkdir dl
    (cd dl && apt-get download "$pkg" >&2) || { log "apt-get download $pkg failed"; exit 1; }
    dpkg-deb -x dl/*.deb root.tmp && mv root.tmp root
    rm -rf dl
fi
vmlinuz=$out/root/boot/vmlinuz-$kver

if [ ! -s "vmlinux-$kver" ]; then
    # The bzImage carries an xz stream (magic FD 37 7A 58 5A 00); decompress from its offset.
    off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -n1 | cut -d: -f1)
    [ -n "$off" ] || { log "no xz stream in $vmlinuz"; exit 1; }
    tail -c +$((off + 1)) "$vmlinuz" | xz -dc 2>/dev/null > "vmlinux-$kver.tmp" || true
    head -c 4 "vmlinux-$kver.tmp" | grep -q 'ELF' || { log "decompressed kernel is not ELF"; exit 1; }
    mv "vmlinux-$kver.tmp" "vmlinux-$kver"
fi

echo "KVER=$kver"
echo "VMLINUZ=$vmlinuz"
echo "VMLINUX=$out/vmlinux-$kver"
echo "MODDIR=$out/root/lib/modules/$kver"

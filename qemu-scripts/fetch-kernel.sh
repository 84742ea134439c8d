#!/usr/bin/env bash
# Fetches a Debian kernel image package without installing it: apt-get download, then
# dpkg-deb -x; the kernel's compressed payload is decompressed to an ELF vmlinux (symbols, BTF).
#
#   fetch-kernel.sh                  the test kernel: Debian's stock amd64 kernel, i.e. the package
#                                    the linux-image-amd64 metapackage names in its Depends
#                                    (resolved once, then remembered in pkgname), extracted under
#                                    $VIGIL_KERNEL_DIR (default build/guest/kernel). Nothing is
#                                    hard-coded but the metapackage name.
#   fetch-kernel.sh --package NAME   any Debian kernel image package, linux-image-<release>
#                                    (linux-image-6.1.0-57-amd64, ...-cloud-amd64, ...-unsigned), or
#                                    a metapackage whose Depends names one (linux-image-6.12-amd64):
#                                    extracted under $VIGIL_KERNEL_DIR/packages/<package>/, or in
#                                    the test kernel's place when it is that package.
#
# Prints, one per line (KEY=VALUE, for `source <(...)` or eval):
#   KVER      kernel release, e.g. 6.1.0-57-amd64
#   VMLINUZ   the compressed kernel (an EFI application: EFI stub)
#   VMLINUX   the decompressed ELF kernel (for symbols and BTF)
#   MODDIR    /lib/modules/KVER inside the extracted package
#   PKG       the kernel image package
# Errors (exit 1, one line on stderr): an unknown package, a package that is not a kernel image
# (checked before anything is downloaded), a failed download, a package without
# /boot/vmlinuz-KVER, a kernel whose payload does not decompress to an ELF file of the size the
# image records.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${VIGIL_KERNEL_DIR:-$top/build/guest/kernel}

want=""
while [ $# -gt 0 ]; do
    case $1 in
    --package)
        [ $# -ge 2 ] && [ -n "$2" ] || { echo "fetch-kernel: --package needs a package name" >&2; exit 2; }
        want=$2
        shift 2
        ;;
    *)
        echo "usage: $0 [--package linux-image-<release>]" >&2
        exit 2
        ;;
    esac
done

mkdir -p "$out"
cd "$out"
# One fetcher at a time: parallel test runs all start here.
exec 9>"$out/.fetch-kernel.flock"
flock 9

log() { echo "fetch-kernel: $*" >&2; }
die() {
    log "$*"
    exit 1
}

# The metapackage's kernel: Depends: linux-image-<digit>...
meta_target() { apt-cache depends "$1" 2>/dev/null | awk '/^ *Depends: linux-image-[0-9]/ {print $2; exit}'; }
# A field of the candidate version's record, or nothing.
pkg_field() { apt-cache show --no-all-versions "$1" 2>/dev/null | awk -v f="$2:" '$1 == f {print $2; exit}'; }

# NAME -> the kernel image package to download (a metapackage followed once), on stdout.
resolve() {
    local name=$1 target section
    [ -n "$(pkg_field "$name" Package)" ] ||
        die "unknown package $name: apt-cache has no installable version of it (a new release needs apt-get update; apt-cache search --names-only '^linux-image-' lists the kernels)"
    target=$(meta_target "$name")
    if [ -n "$target" ]; then
        log "$name is a metapackage for $target"
        [ -n "$(pkg_field "$target" Package)" ] || die "$name names $target, which apt-cache does not have"
        name=$target
    fi
    section=$(pkg_field "$name" Section)
    case "$name:$section" in
    linux-image-*:kernel | linux-image-*:*/kernel) ;;
    *) die "$name is not a kernel image package (section ${section:-none}; want linux-image-<release> in section kernel)" ;;
    esac
    echo "$name"
}

if [ -z "$want" ]; then
    dir=$out
    if [ ! -s pkgname ]; then
        meta=$(meta_target linux-image-amd64)
        if [ -z "$meta" ]; then
            log "apt-cache knows no linux-image-amd64; running apt-get update"
            apt-get update -qq >&2 || die "apt-get update failed (need root?)"
            meta=$(meta_target linux-image-amd64)
        fi
        [ -n "$meta" ] || die "cannot resolve linux-image-amd64 to a kernel package"
        echo "$meta" >pkgname.tmp && mv pkgname.tmp pkgname
    fi
    pkg=$(cat pkgname)
else
    pkg=$(resolve "$want")
    dir=$out/packages/$pkg
    [ -s pkgname ] && [ "$(cat pkgname)" = "$pkg" ] && dir=$out
fi
kver=${pkg#linux-image-}
kver=${kver%-unsigned}
mkdir -p "$dir"
cd "$dir"

if [ ! -d "root/boot" ] || [ ! -e "root/boot/vmlinuz-$kver" ]; then
    log "downloading $pkg"
    rm -rf dl root root.tmp && mkdir dl
    (cd dl && apt-get download "$pkg" >&2) || {
        rm -rf dl
        [ "$dir" = "$out" ] || rmdir "$dir" 2>/dev/null || true
        die "apt-get download $pkg failed"
    }
    dpkg-deb -x dl/*.deb root.tmp || { rm -rf dl root.tmp; die "dpkg-deb -x of $pkg failed"; }
    rm -rf dl
    if [ ! -e "root.tmp/boot/vmlinuz-$kver" ]; then
        found=$(cd root.tmp && ls boot/vmlinuz-* 2>/dev/null | tr "\n" " " || true)
        rm -rf root.tmp
        die "$pkg holds no /boot/vmlinuz-$kver (it has: ${found:-no kernel at all})"
    fi
    mv root.tmp root
fi
vmlinuz=$dir/root/boot/vmlinuz-$kver

# The bzImage's payload, found through its setup header (boot protocol 2.08+): setup_sects at
# 0x1f1 (0 means 4), payload_offset and payload_length at 0x248/0x24c; the payload's last 4
# bytes are the decompressed size (little-endian), which the result must have.
decompress() { # VMLINUZ OUT
    local z=$1 o=$2 sects poff plen start magic tool want got
    [ "$(dd if="$z" bs=1 skip=$((0x202)) count=4 2>/dev/null)" = HdrS ] || die "$z is not a bzImage (no HdrS)"
    u() { od -An -tu"$1" -j "$2" -N"$1" "$z" | tr -d ' '; }
    sects=$(u 1 $((0x1f1)))
    [ "$sects" = 0 ] && sects=4
    poff=$(u 4 $((0x248)))
    plen=$(u 4 $((0x24c)))
    start=$(((sects + 1) * 512 + poff))
    magic=$(od -An -tx1 -j "$start" -N6 "$z" | tr -d ' \n')
    case $magic in
    fd377a585a00) tool=xz ;;
    28b52ffd*) tool=zstd ;;
    1f8b*) tool=gzip ;;
    *) die "$z: the payload at $start is not xz, zstd or gzip (starts $magic)" ;;
    esac
    command -v "$tool" >/dev/null || die "$z is $tool-compressed and $tool is not installed (qemu-scripts/install-deps.sh)"
    want=$(u 4 $((start + plen - 4)))
    # The size trailer follows the compressed stream: the tools call it trailing garbage, so
    # their exit status says nothing; the size and the ELF magic decide.
    tail -c +$((start + 1)) "$z" | head -c "$plen" | "$tool" -dc 2>/dev/null >"$o" || true
    got=$(stat -c %s "$o")
    [ "$got" = "$want" ] || die "$z: $tool gave $got bytes, the image says $want"
    head -c 4 "$o" | grep -q 'ELF' || die "$z: the decompressed kernel is not ELF"
}

if [ ! -s "vmlinux-$kver" ]; then
    decompress "$vmlinuz" "vmlinux-$kver.tmp"
    mv "vmlinux-$kver.tmp" "vmlinux-$kver"
fi

echo "KVER=$kver"
echo "VMLINUZ=$vmlinuz"
echo "VMLINUX=$dir/vmlinux-$kver"
echo "MODDIR=$dir/root/lib/modules/$kver"
echo "PKG=$pkg"

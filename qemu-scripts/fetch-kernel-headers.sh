#!/usr/bin/env bash
# Fetches what it takes to build an out-of-tree module for the test kernel (fetch-kernel.sh),
# from Debian packages only, without installing them: apt-get download, then dpkg-deb -x of
#   linux-headers-KVER           the kernel's build tree (.config, Module.symvers, generated headers)
#   linux-headers-ABI-common     the source tree's headers and Makefiles (named in its Depends)
#   linux-kbuild-SERIES          kbuild's scripts and host tools: modpost, objtool (same version)
# all at the version the running kernel's banner names ("... Debian 6.1.192-3 ..."), extracted
# into $VIGIL_KERNEL_DIR/headers/KVER/root (default build/guest/kernel/headers/KVER), once.
#
#   fetch-kernel-headers.sh
#
# Prints, one per line (KEY=VALUE):
#   KVER       kernel release, e.g. 6.1.0-57-amd64
#   KBUILD     the build tree (make -C KBUILD -f KSRC/Makefile M=DIR modules)
#   KSRC       the source tree (the -common package)
#   HVERSION   the packages' Debian version
# Errors (exit 1, one line on stderr): no test kernel, a banner without a Debian version, a
# download that fails, headers whose .config or release do not match the test kernel's.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${VIGIL_KERNEL_DIR:-$top/build/guest/kernel}

log() { echo "fetch-kernel-headers: $*" >&2; }
die() {
    log "$*"
    exit 1
}

kinfo=$(bash "$top/qemu-scripts/fetch-kernel.sh") || die "fetch-kernel.sh failed"
kver=$(sed -n 's/^KVER=//p' <<<"$kinfo")
vmlinuz=$(sed -n 's/^VMLINUZ=//p' <<<"$kinfo")
vmlinux=$(sed -n 's/^VMLINUX=//p' <<<"$kinfo")
[ -n "$kver" ] && [ -f "$vmlinux" ] || die "fetch-kernel.sh gave no kernel"
kconfig=$(dirname "$vmlinuz")/config-$kver
[ -f "$kconfig" ] || die "the kernel package has no $kconfig"

dir=$out/headers/$kver
mkdir -p "$dir"
# One fetcher per kernel at a time: parallel guest builds all start here.
exec 9>"$dir/.fetch-headers.flock"
flock 9

if [ ! -s "$dir/version" ] || [ ! -d "$dir/root" ]; then
    # The version the kernel was built as, from its banner: "#1 SMP ... Debian 6.1.192-3 (date)".
    ver=$(grep -a -m1 -o "Linux version $kver .* Debian [^ ]*" "$vmlinux" | sed 's/.* Debian //')
    [ -n "$ver" ] || die "no 'Debian <version>' in the banner of $vmlinux"
    hdr=linux-headers-$kver
    # Depends: linux-headers-6.1.0-57-common (= 6.1.192-3), linux-kbuild-6.1 (>= 6.1.192-3), ...
    deps=$(apt-cache show "$hdr=$ver" 2>/dev/null | sed -n 's/^Depends: //p' | head -n1 | tr ',' '\n')
    if [ -z "$deps" ]; then
        log "apt-cache has no $hdr $ver; running apt-get update"
        apt-get update -qq >&2 || die "apt-get update failed (need root?)"
        deps=$(apt-cache show "$hdr=$ver" 2>/dev/null | sed -n 's/^Depends: //p' | head -n1 |
            tr ',' '\n')
    fi
    [ -n "$deps" ] || die "apt-cache has no $hdr at version $ver (the kernel's banner)"
    common=$(awk '$1 ~ /^linux-headers-.*-common$/ { print $1; exit }' <<<"$deps")
    kbuild=$(awk '$1 ~ /^linux-kbuild-/ { print $1; exit }' <<<"$deps")
    [ -n "$common" ] && [ -n "$kbuild" ] ||
        die "$hdr $ver does not depend on a linux-headers-*-common and a linux-kbuild-* package"
    log "downloading $hdr $common $kbuild at $ver"
    rm -rf "$dir/dl" "$dir/root" "$dir/root.tmp" "$dir/version"
    mkdir "$dir/dl"
    (cd "$dir/dl" && apt-get download "$hdr=$ver" "$common=$ver" "$kbuild=$ver" >&2) || {
        rm -rf "$dir/dl"
        die "apt-get download of $hdr $common $kbuild at $ver failed"
    }
    for deb in "$dir"/dl/*.deb; do
        dpkg-deb -x "$deb" "$dir/root.tmp" || {
            rm -rf "$dir/dl" "$dir/root.tmp"
            die "dpkg-deb -x of $deb failed"
        }
    done
    rm -rf "$dir/dl"
    # The build tree's Makefile includes the -common one by its absolute /usr/src path; builds
    # here name it with -f instead (KSRC), so nothing outside this directory is used.
    b=$dir/root.tmp/usr/src/$hdr
    [ -f "$b/.config" ] && [ -f "$b/Module.symvers" ] && [ -f "$b/.kernelvariables" ] ||
        { rm -rf "$dir/root.tmp"; die "$hdr $ver has no .config, Module.symvers or .kernelvariables"; }
    [ -f "$dir/root.tmp/usr/src/$common/Makefile" ] ||
        { rm -rf "$dir/root.tmp"; die "$common $ver has no Makefile"; }
    [ -x "$b/scripts/mod/modpost" ] ||
        { rm -rf "$dir/root.tmp"; die "no scripts/mod/modpost through $hdr's scripts link ($kbuild)"; }
    mv "$dir/root.tmp" "$dir/root"
    echo "$common" >"$dir/common"
    echo "$ver" >"$dir/version"
fi
ver=$(cat "$dir/version")
common=$(cat "$dir/common")
kb=$dir/root/usr/src/linux-headers-$kver
# The headers must describe the kernel that boots: the same release, and every setting of its
# configuration (the build tree's .config has a few more lines: the build salt and the signing
# key's, which the image package leaves out of /boot/config-KVER).
missing=$(comm -13 <(LC_ALL=C sort "$kb/.config") <(LC_ALL=C sort "$kconfig") | grep -c . || true)
[ "$missing" = 0 ] || die "$kb/.config lacks $missing settings of the test kernel's $kconfig"
grep -qx "override KERNELRELEASE = $kver" "$kb/.kernelvariables" ||
    die "$kb/.kernelvariables names another release than $kver"

echo "KVER=$kver"
echo "KBUILD=$kb"
echo "KSRC=$dir/root/usr/src/$common"
echo "HVERSION=$ver"

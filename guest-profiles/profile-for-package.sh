#!/usr/bin/env bash
# A Volatility 3 ISF profile for vigil's `profile` key, made on demand for any Debian kernel
# image package: qemu-scripts/fetch-kernel.sh downloads and extracts the package (never installs
# it), build/vigil-mkprofile --compact writes the profile from its vmlinuz.
#
#   guest-profiles/profile-for-package.sh                  the test kernel (linux-image-amd64's)
#   guest-profiles/profile-for-package.sh --package NAME   linux-image-<release>, or a metapackage
#                                                          such as linux-image-6.12-amd64
#   make profile [PKG=NAME]                                the same, vigil-mkprofile built first
#
# Prints fetch-kernel.sh's KEY=VALUE lines (KVER, VMLINUZ, VMLINUX, MODDIR, PKG) and
#   PROFILE   build/profiles/debian-<KVER>.isf.json
# The profile is cached: it is remade only when the kernel image or vigil-mkprofile is not
# byte-identical to the pair that made it (their SHA-256 in PROFILE.stamp), so repeated test
# runs neither download nor regenerate. Errors (exit 1, said on stderr): those of
# fetch-kernel.sh (unknown package, not a kernel image, download failure), a missing
# vigil-mkprofile, and vigil-mkprofile's own (e.g. a kernel without BTF).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mkprofile=${VIGIL_MKPROFILE:-$top/build/vigil-mkprofile}
profdir=$top/build/profiles

log() { echo "profile: $*" >&2; }
die() {
    log "$*"
    exit 1
}

pkg_args=()
case "${1:-}:$#" in
:0) ;;
--package:2) pkg_args=(--package "$2") ;;
*)
    echo "usage: $0 [--package linux-image-<release>]" >&2
    exit 2
    ;;
esac

[ -x "$mkprofile" ] || die "$mkprofile is missing (make build/vigil-mkprofile, or make profile)"
kernel=$(bash "$top/qemu-scripts/fetch-kernel.sh" "${pkg_args[@]}") || die "no kernel image to make a profile from"
kver=$(sed -n 's/^KVER=//p' <<<"$kernel")
vmlinuz=$(sed -n 's/^VMLINUZ=//p' <<<"$kernel")
[ -n "$kver" ] && [ -f "$vmlinuz" ] || die "fetch-kernel.sh gave no kernel image"

mkdir -p "$profdir"
exec 9>"$profdir/.lock"
flock 9
profile=$profdir/debian-$kver.isf.json
stamp=$(sha256sum "$vmlinuz" "$mkprofile" | awk '{print $1}')
if [ -s "$profile" ] && [ -f "$profile.stamp" ] && [ "$(cat "$profile.stamp")" = "$stamp" ]; then
    log "cached $profile"
else
    log "making $profile from $vmlinuz"
    rm -f "$profile.stamp"
    "$mkprofile" --compact "$vmlinuz" >"$profile.tmp" || {
        rm -f "$profile.tmp"
        die "vigil-mkprofile could not make a profile for $kver (its reason is above)"
    }
    mv "$profile.tmp" "$profile"
    echo "$stamp" >"$profile.stamp"
    log "wrote $profile ($(stat -c %s "$profile") bytes)"
fi
echo "$kernel"
echo "PROFILE=$profile"

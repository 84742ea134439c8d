#!/usr/bin/env bash
# Builds one out-of-tree kernel module (one C file) for the test kernel, with Debian's headers
# (fetch-kernel-headers.sh) and the host's gcc-12, the compiler Debian builds its 6.1 kernels with
# (checked against the kernel's CONFIG_GCC_VERSION; a mismatch is an error, a differing Debian
# revision of the same version a note).
#
#   mkkmod.sh SRC.c            builds NAME.ko (NAME from SRC's file name); warnings are errors
#
# The result is cached under build/kmod/<hash>/NAME.ko, keyed by a hash of the source, this
# script, the kernel release, the headers' version and the compiler's version line. Prints
# KO=<path of NAME.ko> on stdout; the build's output goes to stderr.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
self="$top/qemu-scripts/mkkmod.sh"

log() { echo "mkkmod: $*" >&2; }
die() {
    echo "mkkmod: error: $*" >&2
    exit 1
}

[ $# = 1 ] || die "usage: $0 SRC.c"
src=$(realpath "$1")
[ -f "$src" ] || die "module source not found: $1"
name=$(basename "$src" .c)
[[ $name =~ ^[a-z][a-z0-9_]*$ ]] || die "module name $name: want lower-case letters, digits, _"
command -v gcc-12 >/dev/null || die "gcc-12 is missing (qemu-scripts/install-deps.sh)"
command -v make >/dev/null || die "make is missing (qemu-scripts/install-deps.sh)"

hinfo=$(bash "$top/qemu-scripts/fetch-kernel-headers.sh") || die "fetch-kernel-headers.sh failed"
kver=$(sed -n 's/^KVER=//p' <<<"$hinfo")
kbuild=$(sed -n 's/^KBUILD=//p' <<<"$hinfo")
ksrc=$(sed -n 's/^KSRC=//p' <<<"$hinfo")
hver=$(sed -n 's/^HVERSION=//p' <<<"$hinfo")

# The kernel's compiler, as its configuration records it, against the one the build will use.
kcc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$kbuild/.config")
kgcc=$(sed -n 's/^CONFIG_GCC_VERSION=//p' "$kbuild/.config")
hcc=$(gcc-12 --version | head -n1)
hgcc=$(gcc-12 -dumpfullversion | awk -F. '{ printf "%d%02d%02d", $1, $2, $3 }')
[ "$kgcc" = "$hgcc" ] ||
    die "the kernel was built with $kcc (GCC_VERSION $kgcc), the host's gcc-12 is $hcc ($hgcc)"
[ "$kcc" = "$hcc" ] || log "note: the kernel was built with '$kcc', building with '$hcc'"

key=$({
    echo "kver=$kver headers=$hver name=$name cc=$hcc"
    sha256sum "$self" "$src" | cut -d' ' -f1
} | sha256sum | cut -c1-16)
out="$top/build/kmod/$key"
mkdir -p "$out"
# One builder per output directory at a time (parallel guest builds share the cache).
exec 9>"$out/.mkkmod.flock"
flock 9

ko=$out/$name.ko
if [ -s "$ko" ] && [ "$(cat "$out/key" 2>/dev/null)" = "$key" ]; then
    log "cached module $name.ko $key (kernel $kver)"
else
    log "building $name.ko $key for $kver (headers $hver, $hcc)"
    b=$out/build
    rm -rf "$b" "$ko" "$out/key"
    mkdir -p "$b"
    cp "$src" "$b/$name.c"
    printf 'obj-m := %s.o\nccflags-y := -Werror\n' "$name" >"$b/Kbuild"
    # The build tree's own Makefile includes the -common one by its /usr/src path: name it here.
    make -s -C "$kbuild" -f "$ksrc/Makefile" M="$b" modules >&2 || die "module build failed for $src"
    # The module must carry the running kernel's vermagic, or insmod refuses it.
    vermagic=$(objcopy -O binary --only-section=.modinfo "$b/$name.ko" /dev/stdout |
        tr '\0' '\n' | sed -n 's/^vermagic=//p')
    [ "${vermagic%% *}" = "$kver" ] || die "$name.ko has vermagic '$vermagic', want $kver"
    # Debian's configuration builds with debug info; the guest needs none of it.
    strip --strip-debug "$b/$name.ko"
    mv "$b/$name.ko" "$ko"
    rm -rf "$b"
    echo "$key" >"$out/key"
    log "$name.ko: $(stat -c %s "$ko") bytes, vermagic $vermagic"
fi
echo "KO=$ko"

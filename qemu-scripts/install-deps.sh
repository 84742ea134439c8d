#!/usr/bin/env bash
# The one list of Debian packages vigil needs to build, test and run its emulators, and the step
# that installs what is missing. The Makefile runs it before building anything (so `make run` and
# `make test` do all the set-up on a fresh machine); `make deps` runs it on its own.
#
#   qemu-scripts/install-deps.sh           install what is missing (root), or say how (not root)
#   qemu-scripts/install-deps.sh --check   only report; exit 1 if anything is missing
#   qemu-scripts/install-deps.sh --list    print the list, one package a line
#
# Quiet and fast when everything is there (one dpkg-query). As root: `apt-get update` once, then
# `apt-get install -y` of exactly the missing packages. Not root: one message naming the command
# to run, exit 1, before anything is built.
set -euo pipefail

pkgs=(
    # build
    make gcc libc6-dev binutils clang clang-format libclang-rt-14-dev gnu-efi
    # unit tests, fuzzing, host tools
    libcmocka-dev libcapstone-dev libbpf-dev bpftool jq python3
    # emulators and firmware
    qemu-system-x86 ovmf bochs bochsbios vgabios
    # ESP image and test guest
    mtools dosfstools busybox-static cpio gzip xz-utils file coreutils util-linux procps
    # kernels whose payload is zstd (Debian's 6.12 series), for fetch-kernel.sh and vigil-mkprofile
    zstd
    # Debian kernel download (fetch-kernel.sh: apt-get download, dpkg-deb); capstone's source
    # package for the hypervisor's freestanding x86 decoder (hv/hv.mk: dpkg-source); the
    # archive's signing keys for both
    apt dpkg dpkg-dev debian-archive-keyring ca-certificates
    # test kernel modules (mkkmod.sh): Debian's kernel headers call the compiler gcc-12 by name,
    # and linux-kbuild's tools (modpost, objtool), extracted rather than installed, need the
    # libraries that package depends on
    gcc-12 libelf1 libssl3
    # make test-fresh: a minimal Debian root to try the README's commands in
    debootstrap
)

mode=install
case "${1:-}" in
--check) mode=check ;;
--list) printf '%s\n' "${pkgs[@]}"; exit 0 ;;
"") ;;
*) echo "usage: $0 [--check|--list]" >&2; exit 2 ;;
esac

# Packages not installed: dpkg-query prints a status for each known package and nothing (plus an
# error) for one it has never seen.
missing_pkgs() {
    local st
    st=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${pkgs[@]}" 2>/dev/null || true)
    local p
    for p in "${pkgs[@]}"; do
        grep -qE "^$p ii" <<<"$st" || echo "$p"
    done
}

mapfile -t missing < <(missing_pkgs)
if [ ${#missing[@]} -eq 0 ]; then
    [ "$mode" = check ] && echo "install-deps: all ${#pkgs[@]} packages present"
    exit 0
fi
echo "install-deps: vigil needs ${#missing[@]} Debian packages that are not installed: ${missing[*]}" >&2
[ "$mode" = install ] || exit 1
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: not root, so nothing was built or installed; install them with" >&2
    echo "  sudo make deps" >&2
    echo "(or: sudo apt-get update && sudo apt-get install -y ${missing[*]}), then run make again." >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: apt-get update" >&2
apt-get update -qq >&2
echo "install-deps: apt-get install -y ${missing[*]}" >&2
apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
mapfile -t still < <(missing_pkgs)
if [ ${#still[@]} -gt 0 ]; then
    echo "install-deps: still missing after apt-get: ${still[*]}" >&2
    exit 1
fi
echo "install-deps: installed ${#missing[@]} packages" >&2

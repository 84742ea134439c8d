#!/usr/bin/env bash
# Installs every Debian package vigil needs to build, test and run its emulators (the canonical
# list). Fast and silent about work when everything is there already (dpkg-query first); as root
# it runs apt-get update once and apt-get install -y for what is missing; otherwise it prints the
# exact command to run and exits 1.
#
#   qemu-scripts/install-deps.sh [--check]     (--check: only report, exit 1 if anything is missing)
set -euo pipefail

pkgs=(
    # build
    make gcc libc6-dev binutils clang clang-format libclang-rt-14-dev gnu-efi
    # unit tests, fuzzing, host tools
    libcmocka-dev libcapstone-dev libbpf-dev bpftool jq python3
    # emulators and firmware
    qemu-system-x86 ovmf bochs bochsbios vgabios
    # ESP image and test guest
    mtools dosfstools busybox-static cpio gzip xz-utils file coreutils util-linux
    # Debian kernel download (fetch-kernel.sh: apt-get download, dpkg-deb); capstone's source
    # package for the hypervisor's freestanding x86 decoder (hv/capstone.mk: dpkg-source)
    apt dpkg dpkg-dev
)

check=0
[ "${1:-}" = --check ] && check=1

missing=()
for p in "${pkgs[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    case "$st" in ii*) ;; *) missing+=("$p") ;; esac
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#pkgs[@]} packages present"
    exit 0
fi
echo "install-deps: missing: ${missing[*]}"
[ "$check" = 0 ] || exit 1
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: not root; run:" >&2
    echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "install-deps: apt-get update"
apt-get update -qq
echo "install-deps: apt-get install -y ${missing[*]}"
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
still=()
for p in "${missing[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    case "$st" in ii*) ;; *) still+=("$p") ;; esac
done
if [ ${#still[@]} -gt 0 ]; then
    echo "install-deps: still missing after apt-get: ${still[*]}" >&2
    exit 1
fi
echo "install-deps: installed ${#missing[@]} packages"

#!/usr/bin/env bash
# Profiles on demand (guest-profiles/profile-for-package.sh, no emulator, seconds once the
# kernel package is cached): the ISF profile for the kernel the tests boot (the package
# qemu-scripts/fetch-kernel.sh resolves linux-image-amd64 to) is made from that package and
#   - has the ISF structure, every by-value type defined, and, with VIGIL_VOLATILITY3 set to a
#     Volatility 3 source tree, passes Volatility's own schema (jsonschema) for its format;
#   - carries that image's banner at that image's linux_banner, the key symbols at the image's
#     own section bounds, and every member vigil's walkers read;
#   - is cached: asked again (also by package name) it is neither downloaded nor remade; a stale
#     stamp makes it again, byte-identical;
# and the failures say what went wrong: an unknown package, a package that is not a kernel image
# (refused before any download), a failed download, a kernel without BTF.
# The checker itself must reject a profile of another kernel (tests/data/profiles/: Debian's
# 6.1.0-56 ABI, same addresses, other banner) and a document with a key ISF does not have.
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_init profile_on_demand
cd "$E2E_TOP"
CHECK=(python3 tests/e2e/isf_check.py)
STALE=tests/data/profiles/debian-6.1.0-56-amd64.isf.json
[ -x build/vigil-mkprofile ] || {
    e2e_fail "build/vigil-mkprofile exists (make tools)"
    e2e_done
}

kernel=$(bash qemu-scripts/fetch-kernel.sh) || {
    e2e_fail "qemu-scripts/fetch-kernel.sh gives the test kernel"
    e2e_done
}
eval "$(grep -E '^(KVER|VMLINUX|PKG)=' <<<"$kernel")"
echo "  test kernel: $PKG ($KVER)"

# 1. The profile for the booted kernel, made (or taken from the cache) on demand.
bash guest-profiles/profile-for-package.sh >"$E2E_WORK/first.out" 2>"$E2E_WORK/first.err"
rc=$?
cat "$E2E_WORK/first.err"
PROFILE=$(sed -n 's/^PROFILE=//p' "$E2E_WORK/first.out")
e2e_check "profile-for-package.sh made a profile for the test kernel (exit $rc)" \
    test "$rc" = 0 -a -s "$PROFILE"
e2e_check "it is for the kernel the tests boot: $PKG, build/profiles/debian-$KVER.isf.json" \
    all_of grep -qx "PKG=$PKG" "$E2E_WORK/first.out" -- test "$PROFILE" = "$E2E_TOP/build/profiles/debian-$KVER.isf.json"

e2e_check "ISF structure (sections, entries, type descriptors)" "${CHECK[@]}" structure "$PROFILE"
e2e_check "every type a field holds by value is defined" "${CHECK[@]}" closure "$PROFILE"
if [ -n "${VIGIL_VOLATILITY3:-}" ]; then
    e2e_check "Volatility 3's schema for the profile's format ($VIGIL_VOLATILITY3)" \
        "${CHECK[@]}" volatility "$PROFILE" "$VIGIL_VOLATILITY3/volatility3/schemas"
else
    echo "  (Volatility 3's own schema: not checked, VIGIL_VOLATILITY3 names no Volatility 3 source tree)"
fi
e2e_check "the banner is the image's, at the image's linux_banner, for $KVER" \
    "${CHECK[@]}" banner "$PROFILE" "$VMLINUX" "$KVER"
e2e_check "key symbols present, _text/_etext/__start_BTF/__stop_BTF at the image's sections" \
    "${CHECK[@]}" symbols "$PROFILE" "$VMLINUX"
e2e_check "every member the walkers read, module memory in one layout" "${CHECK[@]}" types "$PROFILE"

# 2. The checker rejects what it must.
if [ "$KVER" != 6.1.0-56-amd64 ]; then
    e2e_check "the checker rejects the banner of the profile for another kernel ($STALE)" \
        bash -c '! "$@" >/dev/null' _ "${CHECK[@]}" banner "$STALE" "$VMLINUX" "$KVER"
else
    echo "  (the other-kernel profile is this kernel's: that rejection is not checked)"
fi
jq -c '.user_types.task_struct.color = "blue"' "$PROFILE" >"$E2E_WORK/extra-key.json"
e2e_check "the checker rejects a key the ISF format does not have" \
    bash -c '! "$@" >/dev/null' _ "${CHECK[@]}" structure "$E2E_WORK/extra-key.json"

# 3. The cache: no download, no regeneration; a stale stamp regenerates the same bytes.
cp "$PROFILE" "$E2E_WORK/first.json"
mtime=$(stat -c %Y.%y "$PROFILE")
bash guest-profiles/profile-for-package.sh --package "$PKG" >"$E2E_WORK/again.out" 2>"$E2E_WORK/again.err"
rc=$?
e2e_check "asked again by package name ($PKG): the same profile from the cache, nothing fetched or made" \
    all_of test "$rc" = 0 -- grep -qx "PROFILE=$PROFILE" "$E2E_WORK/again.out" -- grep -q '^profile: cached ' "$E2E_WORK/again.err" -- \
    bash -c '! grep -Eq "downloading|making" "$1"' _ "$E2E_WORK/again.err" -- test "$(stat -c %Y.%y "$PROFILE")" = "$mtime"
echo stale >"$PROFILE.stamp"
bash guest-profiles/profile-for-package.sh >/dev/null 2>"$E2E_WORK/remade.err"
e2e_check "a stamp that does not match the image and generator: made again, byte-identical" \
    all_of grep -q '^profile: making ' "$E2E_WORK/remade.err" -- cmp "$PROFILE" "$E2E_WORK/first.json"

# 4. Failures, each with its reason.
fails() { # NAME ERR-REGEX command...: exits non-zero, says ERR-REGEX on stderr, prints no PROFILE
    local name=$1 re=$2 rc
    shift 2
    "$@" >"$E2E_WORK/$name.out" 2>"$E2E_WORK/$name.err"
    rc=$?
    sed 's/^/    /' "$E2E_WORK/$name.err" | grep -v '^    \(Ign\|Get\|W:\)' | tail -n 3
    [ "$rc" != 0 ] && grep -Eq "$re" "$E2E_WORK/$name.err" && ! grep -q '^PROFILE=' "$E2E_WORK/$name.out"
}
e2e_check "an unknown package: refused as unknown" \
    fails unknown 'unknown package linux-image-0.0-vigil-none-amd64' \
    bash guest-profiles/profile-for-package.sh --package linux-image-0.0-vigil-none-amd64
e2e_check "a package that is not a kernel image (bash): refused before any download" \
    all_of fails notkernel 'bash is not a kernel image package' \
    bash guest-profiles/profile-for-package.sh --package bash -- \
    bash -c '! grep -q downloading "$1"' _ "$E2E_WORK/notkernel.err"
e2e_check "a debug package ($PKG-dbg): refused before any download" \
    all_of fails dbg "$PKG-dbg is not a kernel image package \\(section debug" \
    bash guest-profiles/profile-for-package.sh --package "$PKG-dbg" -- \
    bash -c '! grep -q downloading "$1"' _ "$E2E_WORK/dbg.err"
# A download that cannot reach the archive: an empty kernel directory and a proxy nobody serves
# (apt's retries off: they only take time).
printf 'Acquire::Retries "0";\n' >"$E2E_WORK/apt.conf"
e2e_check "a failed download: apt-get download's failure is said" \
    fails download "apt-get download $PKG failed" \
    env VIGIL_KERNEL_DIR="$E2E_WORK/kernel" APT_CONFIG="$E2E_WORK/apt.conf" \
    http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 \
    bash guest-profiles/profile-for-package.sh --package "$PKG"
objcopy --remove-section=.BTF "$VMLINUX" "$E2E_WORK/vmlinux-nobtf"
e2e_check "a kernel without BTF: vigil-mkprofile says so" \
    fails nobtf 'no \.BTF section' build/vigil-mkprofile --compact "$E2E_WORK/vmlinux-nobtf"
rm -f "$E2E_WORK/vmlinux-nobtf"
e2e_done

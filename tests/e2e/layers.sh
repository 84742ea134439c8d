#!/usr/bin/env bash
# The layer rule (docs/architecture.md): every #include of a project header names its path from
# the tree root, and no layer includes a header of a layer above it. Reads every #include in every
# tracked .c, .h and .S file; prints file:line for each one that breaks the rule.
#
#   base/       -> base/
#   vmi/        -> base/, vmi/
#   hv/arch/    -> base/, hv/arch/ (the vCPU interface hv/arch/vcpu.h and its backends, hv/arch/vmx/)
#   hv/ept/     -> base/, hv/ept/
#   hv/core/    -> base/, hv/ept/, hv/core/, and of hv/arch/ only the vCPU interface
#                  (hv/arch/vcpu.h) and the x86 constants (hv/arch/x86.h)
#   hv/intro/   -> base/, vmi/, hv/core/, hv/ept/, hv/intro/, and the same two of hv/arch/
#   efi/        -> base/, efi/, and of hv/ only the loader's contract with the image
#                  (hv/core/hv_image.h) and the architectural VMX definitions that the loader's
#                  VT-x decoding reads (hv/arch/vmx/vmx_defs.h)
#   tools/, tests/, guest-profiles/ -> anything
#
# And the vCPU seam: no source of hv/core/ or hv/intro/ names a VMCS accessor (hw_vmread,
# hw_vmwrite), a VMCS field (VMCS_*), a VT-x exit reason (EXIT_REASON_*) or the backend's part of a
# vCPU (struct vcpu's `arch`): they reach the processor through hv/arch/vcpu.h only.
#
# Generated headers (not in the tree) are named in GENERATED. The exceptions below are includes
# that break the rule today, each with the reason and the step that removes it; an exception that
# no longer matches an include fails the check too, so the list cannot go stale.
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_init layers
cd "$E2E_TOP" || exit 1

GENERATED="version.h" # build/gen/version.h, efi/main.c (-I$(B)/gen on the loader's objects)

# file included-header: reason
EXCEPTIONS=(
    "hv/ept/ept.c hv/arch/vmx/vmx_defs.h: EPT capabilities, INVEPT and the violation exit's guest-physical address are VMX MSR layouts and VMCS fields: hv/ept is VT-x's nested paging (an NPT backend is a folder of its own with the same permission API)"
    "hv/ept/ept_perm.c hv/arch/vmx/vmx_defs.h: the violation and monitor-trap-flag handlers read and write VMCS fields (qualification, RIP, interruptibility, controls): VT-x's nested paging, as above"
)

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    files() { git ls-files; }
else
    files() { find . -type f -not -path './build/*' | sed 's#^\./##'; }
fi
tree=$E2E_WORK/tree.txt
exc=$E2E_WORK/exceptions.txt
files >"$tree"
printf '%s\n' "${EXCEPTIONS[@]}" >"$exc"
sources=$(grep -E '\.(c|h|S)$' "$tree")

out=$E2E_WORK/violations.txt
# shellcheck disable=SC2086
awk -v tree="$tree" -v exc="$exc" -v generated="$GENERATED" -v used="$E2E_WORK/used.txt" '
function layer(p) {
    if (p ~ /^base\//) return "base"
    if (p ~ /^vmi\//) return "vmi"
    if (p ~ /^hv\/arch\//) return "hv/arch"
    if (p ~ /^hv\/ept\//) return "hv/ept"
    if (p ~ /^hv\/core\//) return "hv/core"
    if (p ~ /^hv\/intro\//) return "hv/intro"
    if (p ~ /^efi\//) return "efi"
    if (p ~ /^(tools|tests|guest-profiles)\//) return "top"
    return "other"
}
function allowed(from, to, header) {
    if (from == "top" || from == to) return 1
    if (to == "base") return from != "other"
    if (to == "hv/arch" && (from == "hv/core" || from == "hv/intro"))
        return header == "hv/arch/vcpu.h" || header == "hv/arch/x86.h"
    if (from == "hv/core") return to == "hv/ept"
    if (from == "hv/intro") return to == "vmi" || to == "hv/ept" || to == "hv/core"
    if (from == "efi")
        return header == "hv/core/hv_image.h" || header == "hv/arch/vmx/vmx_defs.h" ||
               header == "hv/arch/x86.h"
    return 0
}
BEGIN {
    while ((getline f < tree) > 0) intree[f] = 1
    while ((getline l < exc) > 0) {
        split(l, w, " ")
        key = w[1] " " substr(w[2], 1, length(w[2]) - 1)
        exception[key] = 1
    }
    ngen = split(generated, g, " ")
    for (i = 1; i <= ngen; i++) gen[g[i]] = 1
    bad = 0
}
/^[ \t]*#[ \t]*include[ \t]*["<]/ {
    line = $0
    sub(/^[ \t]*#[ \t]*include[ \t]*/, "", line)
    quoted = substr(line, 1, 1) == "\""
    h = substr(line, 2)
    sub(/[">].*/, "", h)
    if (!quoted && !(h in intree)) next            # a system or toolchain header
    if (!(h in intree)) {
        if (h in gen) next
        printf "%s:%d: #include \"%s\" does not name a file of the tree by its path from the root\n", FILENAME, FNR, h
        bad++
        next
    }
    from = layer(FILENAME)
    to = layer(h)
    if (allowed(from, to, h)) next
    if ((FILENAME " " h) in exception) { print FILENAME " " h > used; next }
    printf "%s:%d: %s (%s) may not include %s (%s): the layer rule, tests/e2e/layers.sh\n", FILENAME, FNR, FILENAME, from, h, to
    bad++
}
END { exit bad > 0 }
' $sources >"$out"
rc=$?
n=$(wc -w <<<"$sources")
cat "$out"
e2e_check "every include of the $n C/assembly files keeps to the layer rule" test "$rc" = 0

stale=""
while read -r f h; do
    h=${h%:}
    grep -qxF "$f $h" "$E2E_WORK/used.txt" 2>/dev/null || stale="$stale $f->$h"
done < <(cut -d' ' -f1,2 "$exc")
e2e_check "every listed exception (${#EXCEPTIONS[@]}) is still needed${stale:+ (not:$stale)}" test -z "$stale"

# The vCPU seam. Comments are left out: they may name what the backend does.
seam=$E2E_WORK/seam.txt
grep -E '^hv/(core|intro)/.*\.(c|h|S)$' "$tree" | while read -r f; do
    # Comments become blank lines of the same count, so the line numbers stay right.
    perl -0777 -pe 's{/\*.*?\*/}{ (my $c = $&) =~ s/[^\n]//g; $c }gse; s{//[^\n]*}{}g' "$f" |
        grep -nE '(hw_vmread|hw_vmwrite|VMCS_[A-Z0-9_]+|EXIT_REASON_[A-Z0-9_]+|(->|\.)arch\.)' |
        sed "s#^#$f:#"
done >"$seam"
cat "$seam"
e2e_check "hv/core and hv/intro reach VT-x only through the vCPU interface (hv/arch/vcpu.h)" \
    test ! -s "$seam"
e2e_done

#!/usr/bin/env bash
# The checkout itself: no merge-conflict markers left in any tracked file, and every shell script
# parses (bash -n). A leftover marker in a sourced harness file breaks every emulator run at once.
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_init tree_sane
cd "$E2E_TOP" || exit 1
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    files() { git ls-files "$@"; }
else
    files() { find . -type f -not -path './build/*' | sed 's#^\./##'; }
fi
markers=$(files | grep -v '^tests/data/' | xargs -d '\n' grep -l -E '^(<<<<<<< |>>>>>>> )' 2>/dev/null)
e2e_check "no merge-conflict markers${markers:+ (in: $markers)}" test -z "$markers"
bad=""
while read -r f; do
    bash -n "$f" 2>/dev/null || bad="$bad $f"
done < <(files | grep -E '\.sh$|^\.ci/run$')
e2e_check "every shell script parses${bad:+ (not:$bad)}" test -z "$bad"
e2e_done

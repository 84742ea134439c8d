#!/usr/bin/env bash
# Runs vigil's tests and prints one summary line "N passed, N failed" at the end.
#   tests/run-all.sh "UNIT_BINARIES" "FUZZ_TARGETS" "E2E_SCRIPTS"
# Unit tests are cmocka binaries; fuzz targets run briefly (FUZZ_SECONDS, default 20) from their
# corpus under build/fuzz-corpus; end-to-end scripts exit 0 on success. Each output goes to the
# terminal and to build/test-logs/<name>.log.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
logs=build/test-logs
mkdir -p "$logs"
passed=0
failed=0
failures=()

run() { # kind name cmd...
    local kind=$1 name=$2
    shift 2
    local start=$SECONDS
    echo "=== $kind: $name"
    if "$@" 2>&1 | tee "$logs/$name.log"; then
        [ "${PIPESTATUS[0]}" = 0 ] || false
    fi
    local rc=${PIPESTATUS[0]}
    if [ "$rc" = 0 ]; then
        passed=$((passed + 1))
        echo "--- ok: $name ($((SECONDS - start)) s)"
    else
        failed=$((failed + 1))
        failures+=("$kind $name (exit $rc, log $logs/$name.log)")
        echo "--- FAILED: $name (exit $rc, $((SECONDS - start)) s)"
    fi
}

for t in $1; do
    run unit "$(basename "$t")" "$t"
done
for f in $2; do
    name=$(basename "$f")
    corpus=build/fuzz-corpus/$name
    mkdir -p "$corpus"
    seeds=()
    [ -d "tests/fuzz/corpus/$name" ] && seeds=("tests/fuzz/corpus/$name")
    run fuzz "$name" "$f" -max_total_time="${FUZZ_SECONDS:-20}" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=0 "$corpus" "${seeds[@]}"
done
for e in $3; do
    run e2e "$(basename "$e" .sh)" bash "$e"
done

echo
if [ ${#failures[@]} -gt 0 ]; then
    echo "Failures:"
    printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

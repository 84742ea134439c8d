#!/usr/bin/env bash
# Runs vigil's tests and prints one summary line "N passed, N failed" at the end.
#   tests/run-all.sh "UNIT_BINARIES" "FUZZ_TARGETS" "E2E_SCRIPTS"
# Unit tests are cmocka binaries; fuzz targets run briefly (FUZZ_SECONDS, default 10) from their
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

account() { # kind name rc start: count one result and print its line
    if [ "$3" = 0 ]; then
        passed=$((passed + 1))
        echo "--- ok: $2 ($((SECONDS - $4)) s)"
    else
        failed=$((failed + 1))
        failures+=("$1 $2 (exit $3, log $logs/$2.log)")
        echo "--- FAILED: $2 (exit $3, $((SECONDS - $4)) s)"
    fi
}

run() { # kind name cmd...
    local kind=$1 name=$2 start=$SECONDS rc
    shift 2
    echo "=== $kind: $name"
    "$@" 2>&1 | tee "$logs/$name.log"
    rc=${PIPESTATUS[0]}
    account "$kind" "$name" "$rc" "$start"
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
    run fuzz "$name" "$f" -max_total_time="${FUZZ_SECONDS:-10}" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=0 "$corpus" "${seeds[@]}"
done
# End-to-end tests run E2E_JOBS at a time (default 2: each emulator is single-threaded, the
# machines have 2 cores); each one's output goes to its log and is printed when it ends.
e2e_jobs=${E2E_JOBS:-2}
declare -A e2e_pid=() e2e_start=()
e2e_reap() { # wait for one finished job and account for it
    local name rc
    while :; do
        for name in "${!e2e_pid[@]}"; do
            if ! kill -0 "${e2e_pid[$name]}" 2>/dev/null; then
                wait "${e2e_pid[$name]}"
                rc=$?
                echo "=== e2e: $name (finished)"
                cat "$logs/$name.log"
                account e2e "$name" "$rc" "${e2e_start[$name]}"
                unset "e2e_pid[$name]"
                return
            fi
        done
        sleep 1
    done
}
# Each test runs in its own process group (setsid), so an interrupted run stops its emulators too.
# An interrupted run stops here (exit 130/143) instead of starting the next test.
e2e_stop_all() { for p in "${e2e_pid[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done; }
trap e2e_stop_all EXIT
trap 'e2e_stop_all; exit 130' INT
trap 'e2e_stop_all; exit 143' TERM
for e in $3; do
    while [ "${#e2e_pid[@]}" -ge "$e2e_jobs" ]; do e2e_reap; done
    name=$(basename "$e" .sh)
    echo "=== e2e: $name (started)"
    e2e_start[$name]=$SECONDS
    setsid bash "$e" > "$logs/$name.log" 2>&1 < /dev/null &
    e2e_pid[$name]=$!
done
while [ "${#e2e_pid[@]}" -gt 0 ]; do e2e_reap; done
trap - EXIT INT TERM

echo
if [ ${#failures[@]} -gt 0 ]; then
    echo "Failures:"
    printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

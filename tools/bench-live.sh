#!/usr/bin/env bash
# make bench: overhead of vigil's live process events (docs/live-bench.md). One guest workload
# (tests/scenarios/live-workload.sh: liveload does 300 fork + exec of /bin/true + wait and times
# itself with CLOCK_MONOTONIC in the guest) booted three times on Bochs, 1 CPU:
#   live     vigil with live events (live=on)
#   nolive   vigil without them (live=off)
#   nohv     no vigil (run-bochs.sh --no-hv)
# Prints each boot's guest-measured workload time and emulator CPU time, the three ratios, and,
# for the live boot, the latency from a process's start to its report: the tsc of vigil's
# proc_start event for each of the first 20 children minus the TSC liveload read right before
# the fork, in microseconds at the hypervisor's tsc_hz (hv_load event). Figures only: nothing here
# asserts a timing; it fails only when a boot or the workload itself fails.
# Three Bochs boots one after the other: 10-20 minutes. Logs in build/bench-live/<time>/.
# Environment: BENCH_LIVE_TIMEOUT (seconds per boot, default 1500).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# shellcheck source=tests/e2e/lib.sh
source "$top/tests/e2e/lib.sh" # e2e_events, E2E_HV_FAIL_RE
out=$top/build/bench-live/$(date -u +%Y%m%d-%H%M%S)-$$
mkdir -p "$out"
echo "bench-live: logs in $out"
[ -f build/vigil.efi ] || {
    echo "bench-live: build/vigil.efi missing (make)" >&2
    exit 1
}
scen=$top/tests/scenarios/live-workload.sh

boot() { # NAME ARGS...
    local name=$1 rc
    shift
    echo "bench-live: boot '$name' ($*)"
    bash qemu-scripts/run-bochs.sh --cpus 1 --scenario "$scen" --until '^VIGIL-GUEST-READY' \
        --timeout "${BENCH_LIVE_TIMEOUT:-1500}" --fail "$E2E_HV_FAIL_RE" \
        --report-log "$out/$name-report.log" --console-log "$out/$name-console.log" "$@" \
        2>"$out/$name-run.log"
    rc=$?
    grep -E '^run-bochs: (elapsed|emulator CPU)' "$out/$name-run.log" | sed 's/^/  /'
    if [ "$rc" != 0 ]; then
        echo "bench-live: boot '$name' failed (run-bochs.sh exit $rc); last lines of its log:" >&2
        tail -n 15 "$out/$name-run.log" >&2
        exit 1
    fi
}
con() { tr -d '\r' <"$out/$1-console.log" | sed -n "s/^$2 //p" | head -n1; }
cpu_s() { sed -n 's/^run-bochs: emulator CPU time \([0-9.]*\) s.*/\1/p' "$out/$1-run.log" | head -n1; }
events() { e2e_events "$out/$1-report.log" "$2"; } # BOOT EV

boot live --set live=on
boot nolive --set live=off
boot nohv --no-hv

declare -A ns cpu
for b in live nolive nohv; do
    st=$(con "$b" LIVELOAD-STATUS) runs=$(con "$b" LIVELOAD-RUNS) failed=$(con "$b" LIVELOAD-FAILED)
    ns[$b]=$(con "$b" LIVELOAD-ELAPSED-NS)
    cpu[$b]=$(cpu_s "$b")
    if [ "$st" != 0 ] || [ "$runs" != 300 ] || [ "$failed" != 0 ] || [ -z "${ns[$b]}" ]; then
        echo "bench-live: workload in boot '$b' did not complete: status '$st', runs '$runs', failed '$failed'" >&2
        exit 1
    fi
done

# Did the live boot report every child, and the other one none? (the figures mean nothing
# otherwise)
count_true_execs() { events "$1" proc_exec | jq -s '[.[] | select(.comm == "true")] | length'; }
hooks_live=$(events live live_hook | wc -l)
execs_live=$(count_true_execs live)
execs_nolive=$(count_true_execs nolive)
echo
echo "live events: boot live armed $hooks_live hooks and reported $execs_live exec(s) of true; boot nolive reported $execs_nolive"
if [ "$execs_live" -lt 300 ] || [ "$execs_nolive" != 0 ]; then
    echo "bench-live: live=on must report the 300 execs and live=off none" >&2
    exit 1
fi

echo
echo "workload: 300 x (fork + execve /bin/true + waitpid), guest CLOCK_MONOTONIC; Bochs, 1 CPU"
printf '  %-28s %14s %12s %18s\n' boot "guest time ms" "per proc us" "emulator CPU s"
for b in live nolive nohv; do
    case $b in
        live) label="vigil, live=on" ;;
        nolive) label="vigil, live=off" ;;
        nohv) label="no vigil (--no-hv)" ;;
    esac
    awk -v l="$label" -v n="${ns[$b]}" -v c="${cpu[$b]}" \
        'BEGIN { printf "  %-28s %14.1f %12.1f %18s\n", l, n / 1e6, n / 1e3 / 300, c }'
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
echo "ratios of guest time:"
echo "  live=on / live=off : $(ratio "${ns[live]}" "${ns[nolive]}")"
echo "  live=on / no vigil : $(ratio "${ns[live]}" "${ns[nohv]}")"
echo "  live=off / no vigil: $(ratio "${ns[nolive]}" "${ns[nohv]}")"
echo "ratios of emulator CPU time (whole boot):"
echo "  live=on / live=off : $(ratio "${cpu[live]}" "${cpu[nolive]}")"
echo "  live=on / no vigil : $(ratio "${cpu[live]}" "${cpu[nohv]}")"
echo "  live=off / no vigil: $(ratio "${cpu[nolive]}" "${cpu[nohv]}")"

# Start-to-report latency: proc_start tsc - guest TSC before the fork, per child.
hz=$(events live hv_load | jq -r 'select(.status == "loaded") | .tsc_hz' | head -n1)
events live proc_start | jq -r '"\(.pid) \(.tsc)"' >"$out/live-proc-start-tsc.txt"
tr -d '\r' <"$out/live-console.log" | awk '$1 == "LIVELOAD-CHILD" { print $3, $4 }' \
    >"$out/live-child-tsc.txt"
awk -v hz="$hz" 'NR == FNR { ev[$1] = $2; next }
    ($1 in ev) { printf "%d %.2f\n", $1, (ev[$1] - $2) * 1e6 / hz }' \
    "$out/live-proc-start-tsc.txt" "$out/live-child-tsc.txt" >"$out/live-latency-us.txt"
nlat=$(wc -l <"$out/live-latency-us.txt")
nchild=$(wc -l <"$out/live-child-tsc.txt")
echo
echo "start-to-report latency (proc_start tsc - guest rdtsc before fork; tsc_hz $hz):"
if [ -z "$hz" ] || [ "$nlat" = 0 ]; then
    echo "  not measurable: tsc_hz '$hz', $nlat of $nchild children matched a proc_start" >&2
    exit 1
fi
sort -g -k2 "$out/live-latency-us.txt" | awk -v nc="$nchild" '
    { v[NR] = $2 }
    END {
        med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "  %d of %d children: median %.1f us, min %.1f us, max %.1f us (guest TSC time)\n",
            NR, nc, med, v[1], v[NR]
    }'
echo "  per child (pid us): $(tr '\n' ' ' <"$out/live-latency-us.txt")"

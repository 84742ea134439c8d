#!/usr/bin/env bash
# Boot-time benchmark (a `make bench` entry): time from emulator start to the guest's sentinel
# (VIGIL-GUEST-READY on the console), with vigil and without it (--no-hv: same firmware, kernel
# and initramfs), alternating, and the ratio of the medians. Prints wall-clock seconds and the
# emulator's CPU seconds (less sensitive to other load on the shared cores).
#
#   qemu-scripts/bench-boot.sh [ROUNDS]          QEMU TCG (default 3 rounds, ~1 min)
#   Bochs (the engine that runs the hypervisor) follows, 1 round (~5 min); BENCH_BOCHS=0 skips it
# Figures only: nothing is asserted.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-3}
[ -f "$top/build/vigil.efi" ] || { echo "bench-boot: build/vigil.efi missing (make)" >&2; exit 1; }

one() { # engine mode -> "wall cpu" or "fail"
    local engine=$1 mode=$2 args=() out wall cpu
    [ "$mode" = bare ] && args=(--no-hv)
    out=$(bash "$top/qemu-scripts/run-$engine.sh" "${args[@]+"${args[@]}"}" --until '^VIGIL-GUEST-READY' \
        --timeout "$3" 2>&1) || { echo fail; return; }
    wall=$(sed -n "s/^run-$engine: elapsed \([0-9.]*\) s, until matched.*/\1/p" <<<"$out")
    cpu=$(sed -n "s/^run-$engine: emulator CPU time \([0-9.]*\) s.*/\1/p" <<<"$out")
    echo "${wall:-fail} ${cpu:-?}"
}
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

bench() { # engine rounds timeout
    local engine=$1 n=$2 t=$3 i m r hv_w=() hv_c=() bare_w=() bare_c=()
    for ((i = 1; i <= n; i++)); do
        for m in vigil bare; do
            r=$(one "$engine" "$m" "$t")
            echo "bench-boot: $engine $m round $i: ${r% *} s wall, ${r#* } s emulator CPU (load $(cut -d' ' -f1 /proc/loadavg))"
            [ "$r" = fail ] && continue
            if [ "$m" = vigil ]; then hv_w+=("${r% *}"); hv_c+=("${r#* }"); else bare_w+=("${r% *}"); bare_c+=("${r#* }"); fi
        done
    done
    local hw hc bw bc
    hw=$(printf '%s\n' "${hv_w[@]+"${hv_w[@]}"}" | sed '/^$/d' | median)
    hc=$(printf '%s\n' "${hv_c[@]+"${hv_c[@]}"}" | sed '/^$/d;/?/d' | median)
    bw=$(printf '%s\n' "${bare_w[@]+"${bare_w[@]}"}" | sed '/^$/d' | median)
    bc=$(printf '%s\n' "${bare_c[@]+"${bare_c[@]}"}" | sed '/^$/d;/?/d' | median)
    echo "bench-boot: $engine boot to sentinel, median of $n: with vigil $hw s (CPU $hc s), without $bw s (CPU $bc s)"
    awk -v a="$hw" -v b="$bw" -v c="$hc" -v d="$bc" -v e="$engine" 'BEGIN {
        if (b > 0 && a > 0) printf "bench-boot: %s boot-time ratio with/without vigil: %.2f (wall), ", e, a / b
        else printf "bench-boot: %s ratio: n/a (a run failed), ", e
        if (d > 0 && c > 0) printf "%.2f (emulator CPU)\n", c / d; else print "n/a (CPU)" }'
}

bench qemu "$rounds" 120
[ "${BENCH_BOCHS:-1}" = 1 ] && bench bochs 1 900
exit 0

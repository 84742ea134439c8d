# shellcheck shell=bash
# Shared helpers for end-to-end scripts (sourced). Each script calls e2e_init NAME first and
# e2e_done last; checks print "PASS: ..." / "FAIL: ..." lines, e2e_done prints
# "NAME: N passed, N failed" and exits non-zero if anything failed.
#
# Report logs: in jsonl mode vigil writes one JSON object per line from its "start" event on.
# Before that line the port may carry the firmware's own console (OVMF mirrors its console on
# COM1 and COM2 until vigil takes the UART): e2e_vigil_lines keeps vigil's part only.

E2E_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# What stops a hypervisor boot at once as failed (--fail of run-bochs.sh).
E2E_HV_FAIL_RE='Kernel panic - not syncing|"ev":"(hv_fault|cpu_fail|cpu_parked|guest_state)"'

e2e_init() {
    E2E_NAME=$1
    E2E_PASSED=0
    E2E_FAILED=0
    E2E_WORK=$(mktemp -d "$E2E_TOP/build/e2e/$E2E_NAME.XXXXXX" 2>/dev/null) || {
        mkdir -p "$E2E_TOP/build/e2e"
        E2E_WORK=$(mktemp -d "$E2E_TOP/build/e2e/$E2E_NAME.XXXXXX")
    }
    command -v jq >/dev/null || {
        echo "FAIL: jq is missing (qemu-scripts/install-deps.sh)"
        exit 1
    }
    echo "$E2E_NAME: logs in $E2E_WORK"
}

e2e_pass() {
    E2E_PASSED=$((E2E_PASSED + 1))
    echo "PASS: $*"
}
e2e_fail() {
    E2E_FAILED=$((E2E_FAILED + 1))
    echo "FAIL: $*"
}
# e2e_check "description" command...: PASS if the command succeeds.
e2e_check() {
    local what=$1
    shift
    if "$@"; then e2e_pass "$what"; else e2e_fail "$what"; fi
}

e2e_done() {
    echo "$E2E_NAME: $E2E_PASSED passed, $E2E_FAILED failed"
    [ "$E2E_FAILED" = 0 ] && [ "$E2E_PASSED" -gt 0 ]
    exit $?
}

# Lines vigil wrote: from the first line holding {"ev":"start" to the end, with the UART's CRs
# removed and the part of that first line before the "{" (firmware output with no newline)
# dropped. Prints nothing if there is no start event.
e2e_vigil_lines() {
    tr -d '\r' <"$1" | awk '
        !on { i = index($0, "{\"ev\":\"start\""); if (i) { on = 1; $0 = substr($0, i) } }
        on { print }'
}

# e2e_complete_lines FILE: e2e_vigil_lines without a last line cut short. The emulator is stopped
# at once when the test has what it waits for, so the UART may have been in the middle of a line:
# a last line without its newline is not vigil's to answer for.
e2e_complete_lines() {
    if [ -n "$(tail -c1 "$1")" ]; then
        e2e_vigil_lines "$1" | sed '$d'
    else
        e2e_vigil_lines "$1"
    fi
}

# Every vigil line is one JSON object with a string "ev"; prints the offending lines otherwise.
# (One jq for the whole log: a jq per line took minutes on long Bochs reports.)
e2e_jsonl_ok() {
    local f=$1 res n bad
    local body
    body=$(e2e_complete_lines "$f")
    res=$(printf '%s\n' "$body" | jq -R -r '
        (try (fromjson | type == "object" and (.ev | type == "string")) catch false) as $ok
        | if $ok then "ok" else "bad " + .[0:200] end')
    n=$(grep -c . <<<"$res")
    [ "$n" -gt 0 ] || { echo "  no {\"ev\":\"start\"} line in $f"; return 1; }
    bad=$(grep -c '^bad ' <<<"$res")
    if [ "$bad" != 0 ]; then
        grep -n '^bad ' <<<"$res" | head -n 5 |
            sed -E 's/^([0-9]+):bad /  not a JSON event (vigil line \1): /'
        echo "  $bad of $n vigil lines are not JSON events"
        return 1
    fi
    echo "  $n vigil lines, all JSON events"
}

# e2e_events FILE EV: vigil's events of type EV, one compact JSON object per line (lines that
# are not one JSON object are skipped; e2e_jsonl_ok reports them). grep first: jq only parses
# the lines that can be such an event.
e2e_events() {
    e2e_vigil_lines "$1" | grep -F "\"ev\":\"$2\"" |
        jq -R -c --arg ev "$2" 'try fromjson catch null | select(type == "object" and .ev == $ev)'
}

# e2e_no_hv_fault REPORT: no hypervisor fault, parked CPU or guest-state dump in the report.
e2e_no_hv_fault() {
    e2e_console_lacks "$1" '"ev":"(hv_fault|cpu_parked|guest_state)"'
}

# e2e_seq_accounted FILE MIN: live events are numbered across the run; a number that never shows
# was dropped with its line, and the report must own up to at least that many lost lines
# (report_lost) before going on. Numbers only go up, and at least MIN were handed out.
e2e_seq_accounted() {
    e2e_vigil_lines "$1" | jq -R -r 'try fromjson catch empty |
        if .ev == "report_lost" then "lost \(.lines)" elif (.seq | type) == "number" then
        "seq \(.seq)" else empty end' |
        awk -v min="$2" '$1 == "lost" { lost += $2 }
             $1 == "seq" { if (last && $2 <= last) { print "  seq back: " last " -> " $2; bad = 1 }
                           if (last && $2 > last + 1) missing += $2 - last - 1; last = $2; n++ }
             END { print "  live events " n + 0 ", missing seq " missing + 0 ", lines reported lost " lost + 0
                   exit bad || missing > lost || n + missing < min }'
}

# e2e_event_summary FILE: how many events of each type vigil wrote (diagnostics, no check).
e2e_event_summary() {
    echo "  vigil events: $(e2e_vigil_lines "$1" | grep -o '^{"ev":"[a-z_0-9]*"' | cut -d'"' -f4 |
        sort | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }')"
}

# all_of CMD ARGS -- CMD ARGS ...: every command succeeds (all are run, so each shows its failure).
all_of() {
    local ok=0 cmd=()
    while [ $# -gt 0 ]; do
        if [ "$1" = -- ]; then "${cmd[@]}" || ok=1; cmd=(); else cmd+=("$1"); fi
        shift
    done
    [ ${#cmd[@]} -eq 0 ] || "${cmd[@]}" || ok=1
    return $ok
}

# e2e_has FILE EV JQ-FILTER: some EV event satisfies the filter; shows the events otherwise.
e2e_has() {
    local evs
    evs=$(e2e_events "$1" "$2")
    if [ -n "$evs" ] && jq -e -s "any(.[]; $3)" <<<"$evs" >/dev/null 2>&1; then
        return 0
    fi
    if [ -z "$evs" ]; then
        echo "  no \"$2\" event"
    else
        echo "  \"$2\" events (none satisfies $3):"
        sed 's/^/    /' <<<"$evs" | cut -c1-300
    fi
    return 1
}

# e2e_not_has FILE EV JQ-FILTER: no EV event satisfies the filter.
e2e_not_has() {
    local evs
    evs=$(e2e_events "$1" "$2")
    if [ -n "$evs" ] && jq -e -s "any(.[]; $3)" <<<"$evs" >/dev/null 2>&1; then
        echo "  a \"$2\" event satisfies $3:"
        sed 's/^/    /' <<<"$evs" | cut -c1-300
        return 1
    fi
    return 0
}

# e2e_console_lacks FILE REGEX: no line of FILE matches REGEX.
e2e_console_lacks() {
    if tr -d '\r' <"$1" | grep -a -E -q -- "$2"; then
        echo "  unexpected line in $1: $(tr -d '\r' <"$1" | grep -a -E -m1 -- "$2" | cut -c1-200)"
        return 1
    fi
    return 0
}

# e2e_console_has FILE REGEX: the guest console shows a line matching REGEX (CRs removed).
e2e_console_has() {
    tr -d '\r' <"$1" | grep -a -E -q -- "$2" || {
        echo "  no line matching '$2' in $1; last lines:"
        tail -n 5 "$1" | tr -d '\r' | sed 's/\x1b\[[0-9;=]*[A-Za-z]//g; s/^/    /'
        return 1
    }
}

# e2e_run ENGINE RC-VAR ARGS...: runs qemu-scripts/run-ENGINE.sh with its logs in the work dir
# (report.log, console.log; stderr in run.log, shown) and stores its exit status in RC-VAR.
e2e_run() {
    local engine=$1 var=$2
    shift 2
    bash "$E2E_TOP/qemu-scripts/run-$engine.sh" --report-log "$E2E_WORK/report.log" \
        --console-log "$E2E_WORK/console.log" "$@" 2>&1 | tee "$E2E_WORK/run.log" >&2
    printf -v "$var" '%s' "${PIPESTATUS[0]}"
}

# The vigil image must exist for tests that boot it.
e2e_need_vigil() {
    [ -f "$E2E_TOP/build/vigil.efi" ] || {
        e2e_fail "build/vigil.efi exists (run make)"
        e2e_done
    }
}

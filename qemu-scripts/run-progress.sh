# shellcheck shell=bash
# Boot progress of a vigil run, read from its two serial logs (sourced by run.sh).
#
#   p_init REPORT_LOG CONSOLE_LOG   start the clock and forget earlier stages
#   p_poll                          print a line for each stage reached since the last call, and a
#                                   "still waiting" line when nothing happened for P_QUIET_S seconds
#   P_DONE                          1 once the guest's userspace is ready (the scenario's sentinel)
#                                   and the first process snapshot has been reported, and the
#                                   report stayed quiet for P_SETTLE_S seconds (or P_SNAP_MAX_S
#                                   passed since the snapshot's first line)
#
# A stage is the first line that matches its pattern, in the report log (vigil's report, JSON Lines
# or text) or the console log (firmware and Linux on COM1). Each is printed when it is first seen;
# the two logs are written independently, so their stages can come in either order (VT-x unusable:
# "every CPU virtualized" never comes, and the waiting line names it).

P_QUIET_S=${P_QUIET_S:-30}
P_SETTLE_S=${P_SETTLE_S:-3}
P_SNAP_MAX_S=${P_SNAP_MAX_S:-30}

# name|log|pattern (grep -E)|what to print
P_STAGES=(
    'firmware|console|.|firmware started (OVMF on COM1)'
    'vigil|report|"ev":"start"|^vigil: start |vigil loaded from the ESP'
    'hv|report|"ev":"hv_up"|^vigil: hv_up |every CPU virtualized'
    'chain|report|"ev":"chainload"|^vigil: chainload |chain-load of the next stage'
    'kernel|console|Linux version [0-9]|Linux kernel started'
    'user|console|Run /init as init process|guest userspace started'
    'ready|console|^VIGIL-GUEST-READY|guest scenario ready'
    'os|report|"ev":"os"|^vigil: os |vigil identified the running kernel'
    'snap|report|"ev":"proc"|^vigil: proc |first process snapshot'
)

p_init() {
    P_REPORT=$1 P_CONSOLE=$2
    P_T0=$EPOCHREALTIME P_LAST=$EPOCHREALTIME P_DONE=0 P_SNAP_T="" P_READY_T="" P_SIZE=-1 P_SIZE_T=""
    P_SEEN=()
}

p_now() { awk -v a="$P_T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
p_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", b - a }'; }
p_say() { printf 'run: [%6s s] %s\n' "$(p_now)" "$*" >&2; }

# p_entry STAGE: the stage's fields in P_E (name, log, pattern(s): a JSON one and a text one, label).
p_entry() {
    local IFS='|'
    # shellcheck disable=SC2206
    P_E=(${P_STAGES[$1]})
}

p_matches() { # stage index -> first matching line, status 1 if none
    p_entry "$1"
    local f=$P_REPORT n=${#P_E[@]} re
    [ "${P_E[1]}" = console ] && f=$P_CONSOLE
    re=${P_E[2]}
    [ "$n" -gt 4 ] && re="$re|${P_E[3]}"
    tr -d '\r' <"$f" 2>/dev/null | grep -a -E -m1 -- "$re"
}

# Detail printed after a stage, from its line.
p_detail() {
    local name=$1 line=$2 v
    case "$name" in
    hv)
        v=$(grep -oE '"cpus":[0-9]+,"failed":[0-9]+' <<<"$line")
        [ -n "$v" ] && echo " (${v//\"/})"
        ;;
    chain) v=$(grep -oE '"path":"[^"]*"' <<<"$line") && echo " ($v)" ;;
    kernel) v=$(grep -oE 'Linux version [^ ]+' <<<"$line") && echo " ($v)" ;;
    os) v=$(grep -oE '"kernel":"[^"]*"' <<<"$line") && echo " ($v)" ;;
    esac
}

p_poll() {
    local i line name first=-1
    for ((i = 0; i < ${#P_STAGES[@]}; i++)); do
        [ -z "${P_SEEN[$i]:-}" ] || continue
        if line=$(p_matches "$i"); then
            P_SEEN[$i]=1
            p_entry "$i"
            name=${P_E[0]}
            p_say "${P_E[${#P_E[@]} - 1]}$(p_detail "$name" "$line")"
            [ "$name" = snap ] && P_SNAP_T=$EPOCHREALTIME
            [ "$name" = ready ] && P_READY_T=$EPOCHREALTIME
            P_LAST=$EPOCHREALTIME
        elif [ "$first" -lt 0 ]; then
            first=$i
        fi
    done
    if [ "$first" -ge 0 ] && [ "$(p_since "$P_LAST")" -ge "$P_QUIET_S" ]; then
        p_entry "$first"
        p_say "still waiting for: ${P_E[${#P_E[@]} - 1]}"
        P_LAST=$EPOCHREALTIME
    fi
    # Done once the guest is ready and the snapshot (many lines) is out: the report has been quiet
    # for a moment (a busy guest keeps it busy with live events: then after P_SNAP_MAX_S).
    if [ -n "$P_SNAP_T" ] && [ -n "$P_READY_T" ] && [ "$P_DONE" = 0 ]; then
        local size
        size=$(stat -c %s "$P_REPORT" 2>/dev/null || echo 0)
        [ "$size" = "$P_SIZE" ] || P_SIZE=$size P_SIZE_T=$EPOCHREALTIME
        if [ "$(p_since "$P_SIZE_T")" -ge "$P_SETTLE_S" ] ||
            [ "$(p_since "$P_SNAP_T")" -ge "$P_SNAP_MAX_S" ] &&
            [ "$(p_since "$P_READY_T")" -ge "$P_SETTLE_S" ]; then
            local n
            n=$(tr -d '\r' <"$P_REPORT" | grep -a -c -E '"ev":"proc"|^vigil: proc ')
            p_say "snapshot reported: $n processes"
            P_DONE=1
        fi
    fi
}

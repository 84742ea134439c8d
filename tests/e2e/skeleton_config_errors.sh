#!/usr/bin/env bash
# A config with malformed lines, an unknown key and bad values still boots; each bad
# line is reported as {"ev":"config_error","line":N,"msg":...} with its own line number, and the
# good lines (including a comment and a blank line, which count as lines) give no error. Bad
# values leave the earlier good setting in force (the report stays JSONL on COM2).
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_init skeleton_config_errors
e2e_need_vigil

cfg=$E2E_WORK/base.cfg
{
    echo '# vigil e2e: base config (line 1 is this comment)' # 1
    echo 'serial = com2'                                       # 2
    echo 'report = jsonl'                                      # 3
    echo ''                                                    # 4
    echo 'next = \vmlinuz'                                     # 5
    echo 'next_args = initrd=\initrd.img console=ttyS0 panic=-1' # 6
} >"$cfg"
base=$(wc -l <"$cfg")
bad=(
    'this line has no equals sign' # malformed
    'colour = blue'                # unknown key
    'baud = fast'                  # bad value
    '= 42'                         # malformed: no key
    'on_no_vmx = maybe'            # bad value
    'report = xml'                 # bad value (must not switch the report off JSONL)
    'serial = com9'                # bad value (must not move the report port)
)
good_after='baud = 115200'
sets=() want=()
for i in "${!bad[@]}"; do
    sets+=(--set "${bad[$i]}")
    want+=($((base + i + 1)))
done
sets+=(--set "$good_after") # one more good line after the bad ones: no error for it
good_line=$((base + ${#bad[@]} + 1))

e2e_run qemu rc --config "$cfg" "${sets[@]}" --until '^VIGIL-GUEST-READY' --timeout 120
R=$E2E_WORK/report.log C=$E2E_WORK/console.log

e2e_check "run-qemu.sh reached the sentinel despite the bad lines (exit $rc, want 0)" test "$rc" = 0
e2e_check "every report line from vigil's start on is a JSON event" e2e_jsonl_ok "$R"
errs=$(e2e_events "$R" config_error)
echo "  config_error events:"
sed 's/^/    /' <<<"$errs"
for i in "${!bad[@]}"; do
    n=${want[$i]}
    e2e_check "config_error for line $n ('${bad[$i]}') with a message" e2e_has "$R" config_error \
        ".line == $n and (.msg | type == \"string\" and length > 0)"
done
got=$(jq -s -c '[.[].line] | sort' <<<"$errs" 2>/dev/null)
exp=$(printf '%s\n' "${want[@]}" | jq -s -c 'sort')
e2e_check "config_error lines are exactly $exp (got $got): none for comment, blank or good lines" \
    test "$got" = "$exp"
e2e_check "vigil still reports its VT-x verdict" e2e_has "$R" vmx '(.usable | type == "boolean")'
e2e_check "chainload event for \\vmlinuz with status starting" \
    e2e_has "$R" chainload '.path == "\\vmlinuz" and .status == "starting"'
e2e_check "Linux reached userspace (sentinel on the console)" e2e_console_has "$C" '^VIGIL-GUEST-READY'
e2e_done

#!/usr/bin/env bash
# Sealed config (README "Sealed config"): four QEMU boots that share one OVMF variable store
# (run-qemu.sh --vars), the way a machine keeps its NVRAM across reboots while the OS edits the ESP.
#   1. first boot: nothing sealed yet -> config_sealed (previous none), the profile's SHA-256 and
#      size sealed.
#   2. the file changes heartbeat and sets on_config_change = previous; the *sealed* policy is
#      accept -> config_changed lists exactly those two keys with old and new values, accepted,
#      sealed anew.
#   3. the file changes heartbeat, next_args, on_no_vmx = halt, sets on_config_change = accept and
#      the profile file is replaced; the sealed policy is now previous -> config_changed lists the
#      keys and the profile's old/new hash and size, the sealed config is in effect: the kernel
#      gets boot 2's command line, vigil does not halt (VT-x is unusable on TCG), the profile is
#      refused; the seal is kept.
#   4. boot 2's files again: the seal is unchanged by boot 3 -> start.seal "same", no event.
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_init skeleton_config_seal
e2e_need_vigil

W=$E2E_WORK
vars=$W/vars.fd
printf 'vigil e2e profile A\n' >"$W/profile-a"
printf 'vigil e2e profile B: replaced from the OS, longer\n' >"$W/profile-b"
sha() { sha256sum "$1" | cut -d' ' -f1; }
args='initrd=\initrd.img console=ttyS0 panic=-1'
js() { jq -n --arg s "$1" '$s'; } # a JSON string literal, for jq filters
base() { # the config every boot starts from
    echo 'serial = com2'
    echo 'report = jsonl'
    echo 'next = \vmlinuz'
    echo 'profile = \EFI\vigil\profile.isf'
}
boot() { # N PROFILE UNTIL CONFIG-LINES...: boot N with these lines after base(); logs bootN-*
    local n=$1 prof=$2 until=$3
    shift 3
    { base; printf '%s\n' "$@"; } >"$W/boot$n.cfg"
    e2e_run qemu "rc$n" --vars "$vars" --config "$W/boot$n.cfg" \
        --extra-esp-file "$prof:EFI/vigil/profile.isf" --until "$until" --timeout 120
    mv "$W/report.log" "$W/boot$n-report.log"
    mv "$W/console.log" "$W/boot$n-console.log"
    e2e_event_summary "$W/boot$n-report.log"
}
at_chainload='"ev":"chainload"'

# Boot 1: first seal.
boot 1 "$W/profile-a" "$at_chainload" "next_args = $args" 'heartbeat = 10' \
    'on_config_change = accept'
R=$W/boot1-report.log
e2e_check "boot 1 reached the chainload (exit $rc1)" test "$rc1" = 0
e2e_check "boot 1: the variable store was kept ($vars)" test -s "$vars"
e2e_check "boot 1: report lines are JSON events" e2e_jsonl_ok "$R"
e2e_check "boot 1: start.seal = new" e2e_has "$R" start '.seal == "new"'
e2e_check "boot 1: config_sealed, nothing to compare, profile A's hash and size sealed in full" \
    e2e_has "$R" config_sealed ".previous == \"none\" and .seal == \"sealed\" and
        .record == \"full\" and .profile_status == \"read\" and
        .profile_sha256 == \"$(sha "$W/profile-a")\" and .profile_bytes == $(stat -c %s "$W/profile-a")
        and .record_bytes > 0 and .record_limit >= .record_bytes"
e2e_check "boot 1: no config_changed" e2e_not_has "$R" config_changed 'true'

# Boot 2: two keys changed; the sealed policy (accept) accepts them.
boot2=("next_args = $args" 'heartbeat = 3' 'on_config_change = previous')
boot 2 "$W/profile-a" "$at_chainload" "${boot2[@]}"
R=$W/boot2-report.log
e2e_check "boot 2 reached the chainload (exit $rc2)" test "$rc2" = 0
e2e_check "boot 2: start.seal = changed" e2e_has "$R" start '.seal == "changed"'
e2e_check "boot 2: config_changed, policy accept: accepted, the file's config in effect, sealed" \
    e2e_has "$R" config_changed '.policy == "accept" and .action == "accepted" and
        .config_in_effect == "file" and .keys_known and .seal == "sealed" and
        (.profile_changed | not) and .profile_used'
e2e_check "boot 2: exactly heartbeat 10 -> 3 and on_config_change accept -> previous changed" \
    e2e_has "$R" config_changed '.changed == [{"key":"heartbeat","old":"10","new":"3"},
        {"key":"on_config_change","old":"accept","new":"previous"}]'
e2e_check "boot 2: no config_sealed" e2e_not_has "$R" config_sealed 'true'

# Boot 3: the OS edits the config (and tries to unlock it) and replaces the profile.
boot 3 "$W/profile-b" '^VIGIL-GUEST-READY' "next_args = $args vigil_tampered=1" \
    'heartbeat = 7' 'on_config_change = accept' 'on_no_vmx = halt'
R=$W/boot3-report.log C=$W/boot3-console.log
e2e_check "boot 3: Linux reached userspace (exit $rc3)" test "$rc3" = 0
e2e_check "boot 3: report lines are JSON events" e2e_jsonl_ok "$R"
e2e_check "boot 3: config_changed, sealed policy previous: the sealed config in effect, seal kept" \
    e2e_has "$R" config_changed '.policy == "previous" and .action == "previous" and
        .config_in_effect == "sealed" and .seal == "kept"'
e2e_check "boot 3: the four changed keys with the sealed and the file's values" \
    e2e_has "$R" config_changed "[.changed[] | [.key, .old, .new]] == [
        [\"next_args\", $(js "$args"), $(js "$args vigil_tampered=1")], [\"on_no_vmx\", \"boot\", \"halt\"],
        [\"heartbeat\", \"3\", \"7\"], [\"on_config_change\", \"previous\", \"accept\"]]"
e2e_check "boot 3: the replaced profile: old/new hash and size, not used" \
    e2e_has "$R" config_changed ".profile_changed and (.profile_used | not) and
        .profile_old_sha256 == \"$(sha "$W/profile-a")\" and
        .profile_old_bytes == $(stat -c %s "$W/profile-a") and
        .profile_new_sha256 == \"$(sha "$W/profile-b")\" and
        .profile_new_bytes == $(stat -c %s "$W/profile-b")"
e2e_check "boot 3: the sealed next_args are in effect (chainload args of boot 2)" \
    e2e_has "$R" chainload ".status == \"starting\" and .args == $(js "$args")"
e2e_check "boot 3: the kernel did not get the file's next_args" \
    e2e_console_lacks "$C" 'vigil_tampered=1'
e2e_check "boot 3: no halt (the sealed on_no_vmx = boot is in effect)" e2e_not_has "$R" halt 'true'

# Boot 4: boot 2's files again. Boot 3 must not have sealed its state.
boot 4 "$W/profile-a" "$at_chainload" "${boot2[@]}"
R=$W/boot4-report.log
e2e_check "boot 4 reached the chainload (exit $rc4)" test "$rc4" = 0
e2e_check "boot 4: start.seal = same (boot 3 left the seal as boot 2 made it)" \
    e2e_has "$R" start '.seal == "same"'
e2e_check "boot 4: no config_changed or config_sealed" \
    all_of e2e_not_has "$R" config_changed 'true' -- e2e_not_has "$R" config_sealed 'true'
e2e_done

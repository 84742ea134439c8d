#!/usr/bin/env bash
# With `next` naming a file that is not on the ESP, vigil reports a chainload event
# whose status says not found (with a message) and returns to the firmware, which then goes on to
# its next boot option. The test stops as soon as the error event is on the report port.
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
e2e_init skeleton_missing_next
e2e_need_vigil

# First run: stop as soon as the error event is on the report port.
e2e_run qemu rc --set 'next = \nonexistent.efi' \
    --until '"ev":"chainload".*"status":"EFI_NOT_FOUND"' --timeout 90
R=$E2E_WORK/report.log C=$E2E_WORK/console.log

e2e_check "run-qemu.sh saw the not-found chainload event (exit $rc, want 0)" test "$rc" = 0
e2e_check "every report line from vigil's start on is a JSON event" e2e_jsonl_ok "$R"
e2e_check "chainload event: path \\nonexistent.efi, status EFI_NOT_FOUND, a message" \
    e2e_has "$R" chainload \
    '.path == "\\nonexistent.efi" and .status == "EFI_NOT_FOUND" and (.msg | type == "string" and length > 0)'
e2e_check "no chainload of \\vmlinuz was attempted" \
    e2e_not_has "$R" chainload '.path == "\\vmlinuz"'

# Second run: the loader must give control back to the firmware, which goes on to its next boot
# option (OVMF on QEMU: BdsDxe reports the failed option and starts the next one, its UEFI shell).
e2e_run qemu rc2 --set 'next = \nonexistent.efi' --timeout 90 \
    --until 'Shell> |BdsDxe: (loading|starting) Boot0*([2-9A-F]|1[0-9A-F])'
e2e_check "the firmware went on past vigil's boot option after vigil returned (exit $rc2)" \
    test "$rc2" = 0
e2e_check "the error event is in this run's report too" e2e_has "$E2E_WORK/report.log" chainload \
    '.status == "EFI_NOT_FOUND"'
e2e_check "the guest kernel never started" e2e_console_lacks "$E2E_WORK/console.log" 'Linux version'
e2e_done

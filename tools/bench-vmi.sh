#!/usr/bin/env bash
# make bench: process-list reconstruction time on a synthetic 10,000-task guest and on the real
# Debian guest's dump (made and cached by tests/e2e/vmi_guest_dump.sh; QEMU runs only the first
# time).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build/bench-vmi --synthetic 10000
info=$(bash tests/e2e/vmi_guest_dump.sh)
build/bench-vmi --dump "$(sed -n 's/^DUMP=//p' <<<"$info")"

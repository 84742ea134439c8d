#!/usr/bin/env bash
# `make test-fresh`: the README's two commands on a machine where nothing of vigil's is installed.
#
# A minimal Debian 12 root (debootstrap --variant=minbase, plus make and git: what a user needs to
# have cloned the repository and to type the commands) stands in for the fresh machine. It is built
# once and kept as a tarball under $VIGIL_FRESH_CACHE (default /var/cache/vigil), outside the
# clone; every run unpacks a new copy, so nothing a previous run installed is there. The root gets
# this machine's apt configuration (sources and apt.conf.d: how this machine reaches the Debian
# archive, as a fresh install of it would have) and its resolv.conf, nothing else.
#
# Into that root go a clone of this checkout with the working tree's changes on top (tracked and
# untracked files that git does not ignore; build/ is never copied). Then, in the root, as root,
# exactly as README says:
#     make run     until vigil has reported the guest's processes (the hypervisor is up under Bochs);
#                  it passes when it installed the packages, exited 0 and printed every boot stage
#     make check   the fast part of make test (build, unit tests, fuzz smoke runs, QEMU boots), or
#                  with --full make test itself. The default keeps CI within its time: make test's
#                  Bochs boots run the same set-up as make run, and CI runs the whole make test
#                  outside the root just before.
# in a mount namespace of their own (proc, sys and dev mounted there vanish with it). Output is
# prefixed with "fresh| "; the last line counts the two commands' results:
#     test-fresh: N passed, N failed        (the tests of make check/test plus make run)
# Logs stay under build/fresh/ (the inner test logs and both commands' output). The root itself is
# removed at the end, also on INT/TERM; its emulators die with it (their harness stops them, and
# the namespace's processes are killed).
#
#   tests/fresh-machine.sh [--keep-root] [--rebuild-root] [--only-run | --full]
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${VIGIL_FRESH_CACHE:-/var/cache/vigil}
tarball=$cache/debian12-minbase-make-git.tar
suite=bookworm
keep=0 rebuild=0 only_run=0 second="make check"
for a in "$@"; do
    case "$a" in
    --keep-root) keep=1 ;;
    --rebuild-root) rebuild=1 ;;
    --only-run) only_run=1 ;;
    --full) second="make test" ;;
    *) echo "usage: $0 [--keep-root] [--rebuild-root] [--only-run | --full]" >&2; exit 2 ;;
    esac
done

log() { echo "test-fresh: $*" >&2; }
die() {
    log "error: $*"
    exit 2
}
elapsed() { echo $((SECONDS - $1)); }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot and mounts): run 'sudo make test-fresh'"
command -v debootstrap >/dev/null || die "debootstrap missing (make deps installs it)"

# The archive this machine uses: the first deb URI of its apt sources.
mirror() {
    local m
    m=$(grep -h -A3 '^Types:.*\bdeb\b' /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk '/^URIs:/ { print $2; exit }')
    [ -n "$m" ] || m=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
    echo "${m:-http://deb.debian.org/debian}"
}

build_tarball() {
    local t0=$SECONDS dir m
    m=$(mirror)
    mkdir -p "$cache"
    dir=$(mktemp -d "$cache/root-build.XXXX")
    log "building the minimal Debian 12 root (debootstrap --variant=minbase $suite, from $m)"
    if ! debootstrap --variant=minbase --include=make,git "$suite" "$dir" "$m" \
        >"$cache/debootstrap.log" 2>&1; then
        tail -n 15 "$cache/debootstrap.log" >&2
        rm -rf "$dir"
        die "debootstrap failed (log: $cache/debootstrap.log)"
    fi
    rm -rf "$dir/var/cache/apt/archives/"*.deb "$dir/var/lib/apt/lists/"*
    tar -C "$dir" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$dir"
    log "root built in $(elapsed "$t0") s, kept as $tarball ($(du -h "$tarball" | cut -f1))"
}

if [ "$rebuild" = 1 ] || ! [ -s "$tarball" ]; then
    build_tarball
else
    log "minimal Debian 12 root: $tarball (cached; --rebuild-root makes it anew)"
fi

root=$(mktemp -d /var/tmp/vigil-fresh.XXXX)
ns_pid=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$ns_pid" ] && kill -0 "$ns_pid" 2>/dev/null; then
        kill -TERM -- "-$ns_pid" 2>/dev/null
        sleep 5
        kill -KILL -- "-$ns_pid" 2>/dev/null
        wait "$ns_pid" 2>/dev/null
    fi
    # Anything still running from inside the root (an emulator whose harness was killed).
    local p
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -KILL "${p#/proc/}" 2>/dev/null
    done
    if [ "$keep" = 1 ]; then
        log "root kept: $root"
    elif findmnt -rn -o TARGET | grep -q "^$root/"; then
        log "something is still mounted under $root: not removed"
    else
        rm -rf --one-file-system "$root"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT
trap 'log terminated; exit 143' TERM

tar -C "$root" -xf "$tarball" || die "cannot unpack $tarball"
# This machine's way to the Debian archive, as its own fresh install would have it.
if [ -f /etc/apt/sources.list ] || ls /etc/apt/sources.list.d/* >/dev/null 2>&1; then
    rm -f "$root/etc/apt/sources.list"
    [ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$root/etc/apt/sources.list"
    cp -a /etc/apt/sources.list.d/. "$root/etc/apt/sources.list.d/"
fi
cp -a /etc/apt/apt.conf.d/. "$root/etc/apt/apt.conf.d/"
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

# The checkout: a clone, then the working tree's tracked and untracked (not ignored) files on top.
src=$root/root/vigil
git clone -q --no-hardlinks "$top" "$src" || die "git clone of $top failed"
(cd "$top" && git ls-files -z -co --exclude-standard | grep -zv '^build/' |
    tar --null -T - -cf -) | tar -C "$src" -xf - || die "copying the working tree failed"
(cd "$top" && git ls-files -z -d) | (cd "$src" && xargs -0 -r rm -f --)

out=$top/build/fresh
rm -rf "$out"
mkdir -p "$out"

# Runs one of the README's commands in the root, as a process group of its own (killed as a whole
# on INT/TERM); its output is prefixed and kept.
in_root() { # name command
    local name=$1 cmd=$2 t0=$SECONDS rc
    log "in the fresh root: $cmd"
    setsid unshare -m --propagation private bash -c '
        r=$1
        mount -t proc proc "$r/proc" && mount -t sysfs sys "$r/sys" && mount --rbind /dev "$r/dev" &&
            mount -t tmpfs tmp "$r/tmp" || exit 2
        exec chroot "$r" /usr/bin/env -i HOME=/root TERM=dumb PATH=/usr/sbin:/usr/bin:/sbin:/bin \
            LANG=C.UTF-8 /bin/bash -c "cd /root/vigil && $2"' _ "$root" "$cmd" </dev/null \
        > >(tee "$out/$name.log" | sed -u 's/^/fresh| /') 2>&1 &
    ns_pid=$!
    wait "$ns_pid"
    rc=$?
    ns_pid=""
    sleep 0.5 # the last lines through tee
    log "$cmd: exit $rc after $(elapsed "$t0") s"
    return "$rc"
}

passed=0 failed=0
t_all=$SECONDS
# make run must have set everything up, booted with the hypervisor up, reached the guest's
# userspace, and said so stage by stage.
run_ok() {
    in_root run "make run" || return 1
    local stage ok=0
    for stage in 'install-deps: installed' 'vigil loaded' 'every CPU virtualized (cpus:1,failed:0)' \
        'Linux kernel started' 'guest scenario ready' 'first process snapshot' 'snapshot reported'; do
        grep -qF -- "$stage" "$out/run.log" || { log "make run never printed '$stage'"; ok=1; }
    done
    return "$ok"
}
if run_ok; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi
if [ "$only_run" = 0 ]; then
    in_root test "$second"
    rc=$?
    # The command's own count, plus one failure if it failed without counting one.
    # (make check runs its parts one after the other: each prints its own count.)
    read -r p f < <(tr -d '\r' <"$out/test.log" | grep -E '^[0-9]+ passed, [0-9]+ failed' |
        awk '{ p += $1; f += $3 } END { print p + 0, f + 0 }')
    passed=$((passed + p)) failed=$((failed + f))
    [ "$rc" != 0 ] && [ "$f" = 0 ] && failed=$((failed + 1))
fi
cp -r "$src/build/test-logs" "$out/" 2>/dev/null
log "logs: $out (make run: run.log, $second: test.log, test-logs/)"
log "total $(elapsed "$t_all") s in the fresh root"
echo "test-fresh: $passed passed, $failed failed"
[ "$failed" = 0 ]

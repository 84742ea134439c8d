#!/usr/bin/env bash
# Builds vigil's test guest from Debian packages only: Debian's stock kernel (fetch-kernel.sh) and
# an initramfs made of busybox-static, whose /init mounts proc, sys and devtmpfs and runs a
# scenario script (tests/scenarios/*.sh) as root with busybox sh.
#
#   mkguest.sh [--scenario FILE] [--out DIR] [--force]
#
# Scenario header lines (anywhere in the file, one directive per line, repeatable):
#   # vigil-modules: msr dummy          kernel modules to ship (with their dependencies), so that
#                                       `modprobe NAME` works in the guest
#   # vigil-static-c: tests/scenarios/src/NAME.c
#                                       compiled with gcc -static -O2 -pthread, installed as /bin/NAME
#   # vigil-kmod: tests/scenarios/kmod/NAME.c
#                                       an out-of-tree kernel module built for the test kernel
#                                       (qemu-scripts/mkkmod.sh: Debian's headers, gcc-12), installed
#                                       as /lib/modules/KVER/extra/NAME.ko so that `modprobe NAME`
#                                       (or insmod of that path) loads it; unsigned, so it taints
#
# After the scenario returns, /init never exits (that would panic the kernel): it says so on the
# console and sleeps forever, keeping the scenario's processes alive for introspection. A scenario
# that wants the machine off ends with `poweroff -f`.
#
# The result is cached under build/guest/<hash>/ (or --out DIR), keyed by a hash of the scenario,
# this script, the static C and module sources it names, mkkmod.sh when modules are named, and the
# kernel release. Prints on stdout:
#   KERNEL=<path of vmlinuz>   INITRD=<path of initrd.img>   KVER=<release>
# Everything else goes to stderr.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
self="$top/qemu-scripts/mkguest.sh"

log() { echo "mkguest: $*" >&2; }
die() {
    echo "mkguest: error: $*" >&2
    exit 1
}

scenario="$top/tests/scenarios/default.sh"
out=""
force=0
while [ $# -gt 0 ]; do
    case "$1" in
    --scenario) [ $# -ge 2 ] || die "--scenario needs a file"; scenario=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
    --force) force=1; shift ;;
    -h | --help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
    esac
done
[ -f "$scenario" ] || die "scenario not found: $scenario"
scenario=$(realpath "$scenario")
command -v cpio >/dev/null || die "cpio is missing (qemu-scripts/install-deps.sh)"
busybox=""
for b in /bin/busybox /usr/bin/busybox; do
    if [ -x "$b" ] && file -L "$b" 2>/dev/null | grep -q 'statically linked'; then
        busybox=$b
        break
    fi
done
[ -n "$busybox" ] || die "no static busybox (Debian package busybox-static)"

# Kernel (downloaded and extracted once).
kinfo=$(bash "$top/qemu-scripts/fetch-kernel.sh") || die "fetch-kernel.sh failed"
KVER=$(sed -n 's/^KVER=//p' <<<"$kinfo")
VMLINUZ=$(sed -n 's/^VMLINUZ=//p' <<<"$kinfo")
MODDIR=$(sed -n 's/^MODDIR=//p' <<<"$kinfo")
[ -n "$KVER" ] && [ -f "$VMLINUZ" ] && [ -d "$MODDIR" ] || die "fetch-kernel.sh gave no usable kernel"

# Directives.
directive() { sed -n "s/^#[[:space:]]*vigil-$1:[[:space:]]*//p" "$scenario"; }
modules=$(directive modules | tr -s ' \t' '\n\n' | sed '/^$/d')
csrcs=()
while IFS= read -r c; do
    c=$(echo "$c" | sed 's/[[:space:]]*$//')
    [ -n "$c" ] || continue
    case "$c" in /*) ;; *) c="$top/$c" ;; esac
    [ -f "$c" ] || die "vigil-static-c source not found: $c"
    csrcs+=("$c")
done < <(directive static-c)
ksrcs=()
while IFS= read -r c; do
    c=$(echo "$c" | sed 's/[[:space:]]*$//')
    [ -n "$c" ] || continue
    case "$c" in /*) ;; *) c="$top/$c" ;; esac
    [ -f "$c" ] || die "vigil-kmod source not found: $c"
    ksrcs+=("$c")
done < <(directive kmod)

key=$({
    echo "kver=$KVER"
    sha256sum "$scenario" "$self" | cut -d' ' -f1
    for c in "${csrcs[@]+"${csrcs[@]}"}"; do basename "$c"; sha256sum <"$c"; done
    for c in "${ksrcs[@]+"${ksrcs[@]}"}"; do echo "kmod $(basename "$c")"; sha256sum <"$c"; done
    [ ${#ksrcs[@]} = 0 ] || sha256sum <"$top/qemu-scripts/mkkmod.sh"
} | sha256sum | cut -c1-16)
[ -n "$out" ] || out="$top/build/guest/$key"
mkdir -p "$out"
out=$(realpath "$out")

# One builder per output directory at a time (parallel test runs share the cache).
exec 9>"$out/.mkguest.flock"
flock 9

if [ "$force" = 0 ] && [ -s "$out/initrd.img" ] && [ "$(cat "$out/key" 2>/dev/null)" = "$key" ]; then
    log "cached guest $key ($(basename "$scenario"), kernel $KVER)"
else
    log "building guest $key: scenario $(basename "$scenario"), kernel $KVER"
    stage="$out/stage"
    rm -rf "$stage" "$out/initrd.img" "$out/key"
    mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,root,etc,lib/modules/"$KVER"}

    # busybox and one symlink per applet, made here so /init needs nothing at boot.
    cp "$busybox" "$stage/bin/busybox"
    napplets=0
    while IFS= read -r a; do
        a=${a#/}
        [ "$a" = bin/busybox ] && continue
        mkdir -p "$stage/$(dirname "$a")"
        ln -sf /bin/busybox "$stage/$a"
        napplets=$((napplets + 1))
    done < <("$busybox" --list-full)
    log "busybox: $napplets applets"

    # Kernel modules and their dependencies (from each module's .modinfo "depends=").
    if [ -n "$modules" ]; then
        declare -A modpath=() want=()
        while IFS= read -r f; do
            n=$(basename "$f")
            n=${n%%.ko*}
            modpath[${n//-/_}]=${f#"$MODDIR"/}
        done < <(find "$MODDIR/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst')
        builtin_names=$(sed 's#.*/##; s/\.ko.*//; s/-/_/g' "$MODDIR/modules.builtin" 2>/dev/null || true)
        moddeps() { # module name -> space-separated dependency names
            local p=$MODDIR/${modpath[$1]} tmpf=$out/modinfo.bin
            case "$p" in
            *.ko) cp "$p" "$tmpf" ;;
            *.ko.xz) xz -dc "$p" >"$tmpf" ;;
            *.ko.zst) zstd -qdc "$p" >"$tmpf" ;;
            esac
            objcopy -O binary --only-section=.modinfo "$tmpf" "$tmpf.mi" 2>/dev/null ||
                die "cannot read .modinfo of $p"
            tr '\0' '\n' <"$tmpf.mi" | sed -n 's/^depends=//p' | tr ',' ' ' | sed 's/-/_/g'
            rm -f "$tmpf" "$tmpf.mi"
        }
        declare -A depsof=()
        queue=()
        for m in $modules; do
            m=${m//-/_}
            if [ -z "${modpath[$m]:-}" ]; then
                if grep -qx "$m" <<<"$builtin_names"; then
                    log "module $m is built into $KVER: nothing to copy"
                    continue
                fi
                die "module $m not found under $MODDIR"
            fi
            queue+=("$m")
        done
        while [ ${#queue[@]} -gt 0 ]; do
            m=${queue[0]}
            queue=("${queue[@]:1}")
            [ -n "${want[$m]:-}" ] && continue
            want[$m]=1
            depsof[$m]=$(moddeps "$m")
            for d in ${depsof[$m]}; do
                [ -n "${modpath[$d]:-}" ] || die "module $m depends on $d, which is not in $MODDIR"
                queue+=("$d")
            done
        done
        # modules.dep lists, per module, its full dependency closure (what modprobe loads first,
        # deepest last in the list).
        closure() { # name -> closure names, dependencies of dependencies after their users
            local seen=" " todo=() res=() x more
            read -r -a todo <<<"${depsof[$1]}"
            while [ ${#todo[@]} -gt 0 ]; do
                x=${todo[0]}
                todo=("${todo[@]:1}")
                case "$seen" in *" $x "*) continue ;; esac
                seen="$seen$x "
                res+=("$x")
                read -r -a more <<<"${depsof[$x]}"
                todo+=("${more[@]+"${more[@]}"}")
            done
            echo "${res[@]+"${res[@]}"}"
        }
        : >"$stage/lib/modules/$KVER/modules.dep"
        for m in "${!want[@]}"; do
            rel=${modpath[$m]}
            mkdir -p "$stage/lib/modules/$KVER/$(dirname "$rel")"
            cp "$MODDIR/$rel" "$stage/lib/modules/$KVER/$rel"
            line="$rel:"
            for d in $(closure "$m"); do line="$line ${modpath[$d]}"; done
            echo "$line" >>"$stage/lib/modules/$KVER/modules.dep"
        done
        for f in modules.builtin modules.order; do
            [ -f "$MODDIR/$f" ] && cp "$MODDIR/$f" "$stage/lib/modules/$KVER/$f"
        done
        log "modules: ${!want[*]}"
    fi

    # Test kernel modules (built once per source and kernel, cached by mkkmod.sh), listed in
    # modules.dep with no dependencies so that busybox modprobe finds them.
    for c in "${ksrcs[@]+"${ksrcs[@]}"}"; do
        n=$(basename "$c" .c)
        ko=$(bash "$top/qemu-scripts/mkkmod.sh" "$c" | sed -n 's/^KO=//p') || true
        [ -n "$ko" ] && [ -f "$ko" ] || die "mkkmod.sh failed for $c"
        mkdir -p "$stage/lib/modules/$KVER/extra"
        cp "$ko" "$stage/lib/modules/$KVER/extra/$n.ko"
        echo "extra/$n.ko:" >>"$stage/lib/modules/$KVER/modules.dep"
        log "kernel module $c -> /lib/modules/$KVER/extra/$n.ko"
    done

    # Static C programs (real multi-threaded processes, which busybox cannot make).
    for c in "${csrcs[@]+"${csrcs[@]}"}"; do
        n=$(basename "$c" .c)
        log "compiling $c -> /bin/$n"
        gcc -static -O2 -pthread -Wall -Wextra -o "$stage/bin/$n" "$c" >&2 ||
            die "gcc -static failed for $c (glibc static libraries come with libc6-dev)"
        strip "$stage/bin/$n"
    done

    cp "$scenario" "$stage/scenario.sh"
    chmod 755 "$stage/scenario.sh"
    cat >"$stage/init" <<'EOF'
#!/bin/sh
# vigil test guest /init (generated by qemu-scripts/mkguest.sh).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /dev/shm 2>/dev/null
echo "vigil-init: kernel $(uname -r), running /scenario.sh"
/bin/sh /scenario.sh
status=$?
# /init must never return: PID 1 exiting panics the kernel. Keep the scenario's processes alive.
echo "vigil-init: scenario exited with status $status; idling (PID 1 never exits)"
while :; do sleep 3600; done
EOF
    chmod 755 "$stage/init"

    (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
        cpio -o -H newc -R 0:0 --quiet --reproducible) | gzip -9n >"$out/initrd.img.tmp"
    mv "$out/initrd.img.tmp" "$out/initrd.img"
    rm -rf "$stage"
    echo "$key" >"$out/key"
    log "initrd: $(du -k "$out/initrd.img" | cut -f1) KiB"
fi

echo "KERNEL=$VMLINUZ"
echo "INITRD=$out/initrd.img"
echo "KVER=$KVER"

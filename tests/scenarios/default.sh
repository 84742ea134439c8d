#!/bin/sh
# Default vigil test scenario (run as root by busybox sh from the guest's /init).
#
# Starts a few long-running processes with known names, so that introspection has something to
# find, lists them with ps, then prints the sentinel the harness waits for. The processes keep
# running after this script returns (/init idles forever).
#
# Process names are the names of the files executed (the kernel sets comm from the file name),
# so each one is a small script under /usr/local/bin.

mkdir -p /usr/local/bin

cat >/usr/local/bin/vigil-sleeper <<'SH'
#!/bin/sh
# Sleeps in a loop: a process in S state most of the time.
while :; do sleep 1000; done
SH

cat >/usr/local/bin/vigil-reader <<'SH'
#!/bin/sh
# Blocks reading a FIFO nobody writes to.
mkfifo /tmp/vigil-fifo 2>/dev/null
while :; do read -r line </tmp/vigil-fifo; done
SH

cat >/usr/local/bin/vigil-worker <<'SH'
#!/bin/sh
# Wakes up every second and does a little work.
n=0
while :; do n=$((n + 1)); echo "$n" >/tmp/vigil-worker.count; sleep 1; done
SH

chmod 755 /usr/local/bin/vigil-*
/usr/local/bin/vigil-sleeper &
/usr/local/bin/vigil-reader &
/usr/local/bin/vigil-worker &
sleep 1

echo "vigil-scenario: default: started vigil-sleeper vigil-reader vigil-worker"
ps
echo "VIGIL-GUEST-READY"

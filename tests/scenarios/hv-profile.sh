#!/bin/sh
# Guest scenario for tests/e2e/hv_bochs_profile.sh (introspection with and without a matching
# profile). Starts two named processes that block without ever starting others (so the process
# list stays still), prints them and the kernel release, then its own `ps` between markers, then
# keeps the process list still for a while (a shell builtin `read` with a timeout: no new
# process) so that the hypervisor's periodic re-scan sees the same list the `ps` printed, then
# starts a marker process (the re-scans before the one that finds it saw the still list).
echo "PROFILE-UNAME=$(uname -r)"
mkfifo /tmp/never /tmp/quiet
# vigil-waiter: blocked opening a FIFO nobody writes (no child process ever)
printf '#!/bin/sh\nread x < /tmp/never\n' >/bin/vigil-waiter
# vigil-napper: one long sleep (a child named sleep)
printf '#!/bin/sh\nsleep 100000\n' >/bin/vigil-napper
# vigil-marker: started after the still period, so the test knows which re-scans came before
cp /bin/vigil-waiter /bin/vigil-marker
chmod +x /bin/vigil-waiter /bin/vigil-napper /bin/vigil-marker
/bin/vigil-waiter &
echo "PROFILE-WAITER=$!"
/bin/vigil-napper &
echo "PROFILE-NAPPER=$!"
sleep 2
echo PROFILE-PS-BEGIN
ps -o pid,ppid,comm
echo PROFILE-PS-END
# Still for 20 s of guest time (several re-scans): a read on a FIFO opened read-write (the open
# does not block; nothing is ever written), a shell builtin: no fork.
read -t 20 x <>/tmp/quiet
echo PROFILE-QUIET-END
/bin/vigil-marker &
echo "PROFILE-MARKER=$!"
read -t 10 x <>/tmp/quiet
echo VIGIL-GUEST-READY

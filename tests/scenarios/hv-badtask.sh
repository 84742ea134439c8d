#!/bin/sh
# vigil-kmod: tests/scenarios/kmod/badtask.c
# Guest scenario for tests/e2e/hv_bochs_badtask.sh: ring-0 code (tests/scenarios/kmod/badtask.c)
# feeds vigil's re-scans task-list entries that do not read whole. Two sleeping children of this
# shell get a real_parent and a real_cred pointer that fault; a marker process started while they
# are bad must still be found by the walk, which reaches it only past them (new processes go to
# the tail of the task list); unloading the module restores both pointers, and a second marker
# started after that dates the re-scans that must no longer report them.
#
# While the pointers are bad nothing here may make the kernel follow them: no ps, no /proc/<pid>
# of the victims, no signal to them, and this shell (their parent) stays alive throughout.
sleep 3
# The victims.
sleep 100000 &
vparent=$!
sleep 100000 &
vcred=$!
echo "BADTASK-VICTIMS shell=$$ parent=$vparent cred=$vcred"
# Markers: scripts run by path, so their comm is the script's name.
printf '#!/bin/sh\nsleep 100000\ntrue\n' >/bin/badmark
printf '#!/bin/sh\nsleep 100000\ntrue\n' >/bin/badafter
chmod 755 /bin/badmark /bin/badafter

if ! insmod "/lib/modules/$(uname -r)/extra/badtask.ko" parent_pid=$vparent cred_pid=$vcred; then
    echo "BADTASK-ERROR insmod failed"
    echo VIGIL-GUEST-READY
    exit 1
fi
echo "BADTASK-TAINT $(cat /proc/sys/kernel/tainted)"
# A few re-scans that meet both bad entries, then the marker, then more of them.
sleep 12
/bin/badmark &
mark=$!
echo "BADTASK-MARKER $mark"
sleep 25
rmmod badtask || echo "BADTASK-ERROR rmmod failed"
echo "BADTASK-RESTORED"
/bin/badafter &
after=$!
echo "BADTASK-AFTER $after"
# Safe again: the kernel follows the restored pointers (PPid is this shell, Uid root).
echo "BADTASK-PPID $vparent $(awk '/^PPid:/ { print $2 }' /proc/$vparent/status)"
echo "BADTASK-UID $vcred $(awk '/^Uid:/ { print $2 }' /proc/$vcred/status)"
sleep 15
kill $vparent $vcred $mark $after
echo VIGIL-GUEST-READY

#!/bin/sh
# Guest scenario for the CPU-holding tests (tests/e2e/hv_bochs_park.sh, hv_bochs_stall.sh): a
# process for the re-scans to find, the CPUs Linux has online, the sentinel, then the guest stays up long enough for
# several heartbeats and re-scans (guest time; the tests stop on HVCPUS-DONE or on the report).
printf '#!/bin/sh\nwhile :; do sleep 1; done\n' > /bin/vigil-watchme
chmod +x /bin/vigil-watchme
/bin/vigil-watchme &
echo "HVCPUS-WATCHME-PID=$!"
echo "HVCPUS-ONLINE=$(cat /sys/devices/system/cpu/online) nproc=$(nproc)"
echo VIGIL-GUEST-READY
sleep 40
echo HVCPUS-DONE

# make bench: overhead of the live process events (tools/bench-live.sh: three Bochs boots of the
# same fork/exec workload, vigil live=on, live=off, no vigil; 10-20 minutes; docs/live-bench.md).
# BENCH_CMDS entries are single words (make bench splits them on spaces).
BENCH_CMDS += tools/bench-live.sh

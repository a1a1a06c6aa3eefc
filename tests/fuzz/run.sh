#!/bin/sh
# run.sh SECONDS HARNESS...: run each libFuzzer harness of build-fuzz/ for
# SECONDS on a working copy of its seed corpus (tests/fuzz/corpus/NAME, which
# also holds the inputs of past findings as regression cases), then print one
# summary line per harness: executions, corpus size, findings.
# Findings go to $FUZZ_DIR/findings/NAME/ (crash-*, leak-*, timeout-*, oom-*).
# Exit status 1 when any harness found something.
# FUZZ_DIR (default build-fuzz) holds the binaries and receives the logs;
# inputs are written to $TMPDIR, /dev/shm when it exists (7x faster than disk).
secs=${1:-60}
shift
dir=${FUZZ_DIR:-build-fuzz}
[ -n "$TMPDIR" ] || { [ -d /dev/shm ] && [ -w /dev/shm ] && TMPDIR=/dev/shm && export TMPDIR; }
status=0
summary=""
for name in "$@"; do
    bin=$dir/fuzz_$name
    work=$dir/corpus/$name
    found=$dir/findings/$name
    mkdir -p "$work" "$found"
    log=$dir/fuzz_$name.log
    # the seeds (and regression cases) first: a regression fails at once
    "$bin" -runs=0 tests/fuzz/corpus/"$name" >"$log.seeds" 2>&1 || {
        echo "fuzz $name: a seed or regression input fails, see $log.seeds"; status=1; }
    # -rss_limit_mb: the readers must refuse what would not fit, not try
    "$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="$found/" -print_final_stats=1 "$work" tests/fuzz/corpus/"$name" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    n_found=$(ls "$found" | wc -l)
    line="fuzz $name: ${execs:-?} executions in ${secs} s, corpus $(ls "$work" | wc -l) files, findings $n_found (exit $rc)"
    echo "$line"
    summary="$summary$line
"
    [ "$rc" -ne 0 ] || [ "$n_found" -ne 0 ] && status=1
done
printf '\n%s' "$summary"
exit $status

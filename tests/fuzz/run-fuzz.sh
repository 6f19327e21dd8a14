#!/bin/sh
# run-fuzz.sh FUZZER SEED_CORPUS WORKDIR — a few seconds of libFuzzer from the seed corpus.
# New inputs go to WORKDIR (never into the source tree); a crash fails the test.
set -eu
fuzzer=$1 seeds=$2 work=$3
seconds=${JITRD_FUZZ_SECONDS:-5}
mkdir -p "$work/corpus" "$work/artifacts"
exec "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
	-artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds"

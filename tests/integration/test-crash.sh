#!/bin/sh
# test-crash.sh JITRD EMULATOR — crashes: kill -9 of jitrd twice during a burst of 300
# devices, then a restart; every device ends ACTIVE without connecting again (each connects
# once: what jitrd took is in its journal, what it had not acknowledged the broker redelivers
# to the persistent session; no reconcile sweep helps), and none is REVOKED.
# Prints "CASES <passed> <failed>" and the events per second it saw.
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib.sh"

count=${CRASH_DEVICES:-300}
make_pki && devices dev $count && gencrl || fatal "PKI"
start_mosquitto || fatal "mosquitto starts"
start_emulator --latency-ms 10 || fatal "emulator starts (10 ms per API call)"
register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" || fatal "device CA registered"
WORKERS=8 RECONCILE_SECONDS=0 write_config
check "jitrd run starts and becomes ready" start_jitrd
count_status dev $count ACTIVE >/dev/null # the ids, once

started=$(date +%s.%N)
burst dev $count 16 &
burst_pid=$!
at_least() { [ "$(count_status dev $count ACTIVE)" -ge "$1" ]; }
for round in 1 2; do
	check "round $round: some devices active" wait_until 60 at_least $((round * count / 5))
	kill -9 "$jitrd_pid"
	wait "$jitrd_pid" 2>/dev/null
	jitrd_pid=""
	echo "# kill -9 with $(count_status dev $count ACTIVE) of $count active"
	check "round $round: jitrd restarts and becomes ready" start_jitrd
done
wait "$burst_pid"
burst_pid=""
all_active() { [ "$(count_status dev $count ACTIVE)" = $count ]; }
check "all $count devices -> ACTIVE" wait_until 120 all_active
ended=$(date +%s.%N)
awk -v n="$count" -v a="$started" -v b="$ended" 'BEGIN { printf "# %d devices settled in " \
	"%.2f s, two kill -9 and restarts included: %.0f events/s\n", n, b - a, n / (b - a) }'
check "none REVOKED" [ "$(count_status dev $count REVOKED)" = 0 ]
check "no outcome revoke in the log" sh -c "! grep -q '\"decision\":\"revoke\"' '$work/jitrd.log'"
check "the restarts recovered events from the journal" \
	sh -c "grep '\"event\":\"journal.opened\"' '$work/jitrd.log' |
		jq -s -e 'map(.recovered | tonumber) | add > 0'"
echo "# recovered at each start: $(log_events journal.opened | jq -r .recovered | tr '\n' ' ')"
echo "# UpdateCertificate calls: $(op_count UpdateCertificate)"
check "SIGTERM: exit 0" stop_jitrd TERM

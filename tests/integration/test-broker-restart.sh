#!/bin/sh
# test-broker-restart.sh JITRD EMULATOR — broker restart: mosquitto (persistent, so
# jitrd's session survives) is stopped and started again in the middle of a burst of devices;
# jitrd reconnects and resubscribes by itself, and every device still ends ACTIVE — events the
# broker took before it stopped through the persistent session, events the emulator could not
# publish while it was down through the reconcile sweep. Prints "CASES <passed> <failed>".
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib.sh"

count=120
make_pki && devices dev $count && gencrl || fatal "PKI"
start_mosquitto true || fatal "mosquitto starts (persistence on)"
start_emulator --latency-ms 50 || fatal "emulator starts (50 ms per API call)"
register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" || fatal "device CA registered"
WORKERS=2 RECONCILE_SECONDS=5 write_config
check "jitrd run starts and becomes ready" start_jitrd

count_status dev $count ACTIVE >/dev/null # the ids, once
started=$(date +%s)
burst dev $count 4 &
burst_pid=$!
some_active() { [ "$(count_status dev $count ACTIVE)" -ge 5 ]; }
check "the burst is under way" wait_until 30 some_active
stop_mosquitto
echo "# mosquitto stopped with $(count_status dev $count ACTIVE) of $count active"
sleep 2
start_mosquitto true || fatal "mosquitto restarts"
wait "$burst_pid"
burst_pid=""
connections() { grep -c '"event":"mqtt.connected"' "$work/jitrd.log"; }
reconnected() { [ "$(connections)" -ge 2 ]; }
check "jitrd reconnected by itself" wait_until 60 reconnected
check "and is ready again (resubscribed)" wait_until 30 ready
all_active() { [ "$(count_status dev $count ACTIVE)" = $count ]; }
check "all $count devices -> ACTIVE" wait_until 120 all_active
echo "# settled in $(($(date +%s) - started)) s; $(log_events reconcile.done | wc -l) sweeps"
check "none REVOKED" [ "$(count_status dev $count REVOKED)" = 0 ]
check "SIGTERM: exit 0" stop_jitrd TERM

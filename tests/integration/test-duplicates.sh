#!/bin/sh
# test-duplicates.sh JITRD EMULATOR — duplicates: the same device connecting 5 times at
# once publishes up to 5 registration events; jitrd coalesces them into exactly one
# UpdateCertificate ACTIVE (the emulator's per-operation counters) and one activate outcome.
# Then a graceful stop: SIGTERM while 12 events are in flight or queued exits 0 within the
# deadline, and after a restart every one of those devices is ACTIVE. Prints "CASES <passed> <failed>".
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib.sh"

make_pki && device twin && devices calm 12 && gencrl || fatal "PKI"
start_mosquitto || fatal "mosquitto starts"
start_emulator --latency-ms 100 || fatal "emulator starts (100 ms per API call)"
register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" || fatal "device CA registered"
WORKERS=8 write_config
check "jitrd run starts and becomes ready" start_jitrd

pids=""
for n in 1 2 3 4 5; do
	curl -s --max-time 20 -X POST --data-binary @"$work/devices/twin.pem" \
		"$emu_url/_emulator/connect" >"$work/connect-$n.json" &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
published=$(cat "$work"/connect-*.json | jq -s '[.[] | select(.eventPublished == true)] | length')
check "the 5 connects published $published events (at least 2 to coalesce)" [ "$published" -ge 2 ]
check "twin -> ACTIVE" wait_until 20 status_is twin ACTIVE
id=$(cert_id "$work/devices/twin.pem")
outcomes() { grep -c "\"certificateId\":\"$id\"" "$work/jitrd.log"; }
all_judged() { [ "$(outcomes)" -ge "$published" ]; }
check "one outcome line per published event" wait_until 20 all_judged
sleep 1
check "exactly one UpdateCertificate" [ "$(op_count UpdateCertificate)" = 1 ]
check "exactly one AttachPolicy" [ "$(op_count AttachPolicy)" = 1 ]
check "exactly one activate outcome" \
	[ "$(grep "\"certificateId\":\"$id\"" "$work/jitrd.log" | grep -c '"decision":"activate"')" = 1 ]
check "the others are skip" [ "$(grep "\"certificateId\":\"$id\"" "$work/jitrd.log" |
	grep -c '"decision":"skip"')" = $((published - 1)) ]

count_status calm 12 ACTIVE >/dev/null # the ids, once
burst calm 12 12
stop_started=$(date +%s)
check "SIGTERM with events in flight: exit 0" stop_jitrd TERM
check "... within the event deadline" [ $(($(date +%s) - stop_started)) -le 30 ]
check "... logged as a clean stop" grep -q '"reason":"signal; journal closed"' "$work/jitrd.log"
echo "# at the stop: $(count_status calm 12 ACTIVE) of 12 active"
check "restart: ready" start_jitrd
all_calm() { [ "$(count_status calm 12 ACTIVE)" = 12 ]; }
check "after the restart all 12 -> ACTIVE (journal + persistent session)" wait_until 30 all_calm
check "SIGTERM: exit 0" stop_jitrd TERM

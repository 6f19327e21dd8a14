#!/bin/sh
# test-sqs.sh JITRD EMULATOR — `jitrd run` consuming the registration events from an SQS queue
# (moto's ThreadedMotoServer on loopback; no MQTT broker): 500 events, half raw and half base64
# (the IoT rule's useBase64), end ACTIVE in the emulator with each message deleted once and
# the queue empty; bodies that are no event are left alone and the queue's redrive policy
# (maxReceiveCount 2) moves them to the dead-letter queue; SIGTERM exits 0. Skipped (77)
# without moto. Prints "CASES <passed> <failed>" and the events/s of the 500.
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
HELPER="$SOURCE_ROOT/tests/integration/sqs_helper.py"
python3 -c 'import moto.server, boto3' 2>/dev/null || {
	echo "SKIP: moto or boto3 is not installed"
	exit 77
}
COUNT=${SQS_EVENTS:-500}
. "$(dirname "$0")/lib.sh"
sqs_cleanup() {
	rc=$?
	stop_moto
	(exit $rc)
	lib_cleanup
}
trap sqs_cleanup EXIT

make_pki || fatal "PKI made with the OpenSSL CLI"
t0=$(date +%s)
devices sqs "$COUNT" || fatal "$COUNT device certificates"
echo "# $COUNT device certificates made in $(($(date +%s) - t0)) s"

# The emulator without MQTT: /_emulator/connect registers the device and returns the event,
# which the test puts into the queue as the IoT rule's SQS action would.
"$EMULATOR" --listen 127.0.0.1:0 --region $REGION --account-id $ACCOUNT \
	--access-key-id $KEY_ID --secret-access-key $SECRET >"$work/emu.out" 2>"$work/emu.err" &
emu_pid=$!
wait_until 10 grep -q 'listening on http://127.0.0.1:[0-9]' "$work/emu.out" ||
	fatal "emulator starts"
emu_url=http://127.0.0.1:$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' \
	"$work/emu.out")
register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" || fatal "device CA registered"
gencrl || fatal "CRL"
start_moto 400 || fatal "moto's SQS starts"
queue=$(python3 "$HELPER" setup "$moto_port" jitrd-events 2) || fatal "queue and DLQ made"
SQS_QUEUE_URL=$queue SQS_WAIT_SECONDS=1 SQS_VISIBILITY_SECONDS=30 LIMIT=1000 write_config
printf '[mqtt]\nurl = ssl://localhost:8883\n' >>"$work/jitrd.conf"
"$JITRD" run -c "$work/jitrd.conf" >"$work/both.out" 2>&1
check "[mqtt] url and [sqs] queue_url together: exit 2" [ $? = 2 ]
check "... saying to set only one" grep -q 'set only one' "$work/both.out"
sed -i '/^\[mqtt\]$/,$d' "$work/jitrd.conf"

check "jitrd run starts on the queue and becomes ready" start_jitrd
has_depth() { metrics | grep -q '^jitrd_sqs_queue_depth 0$'; }
check "/metrics has the queue depth" has_depth
# The devices connect only now: the start's reconcile sweep found none pending, so every
# event below comes through the queue.
mkdir -p "$work/events"
seq 1 "$COUNT" | xargs -P 8 -I{} sh -c "curl -s --max-time 30 -X POST \
	--data-binary @'$work/devices/sqs-{}.pem' '$emu_url/_emulator/connect' |
	jq -c .event >'$work/events/{}.json'"
check "$COUNT events from the emulator" [ "$(cat "$work/events/"*.json | grep -c certificateId)" = "$COUNT" ]

count_status sqs "$COUNT" ACTIVE >/dev/null # the ids, computed once, outside the timing
calls_before=$(grep -c 'POST / ' "$work/moto.log")
started=$(date +%s.%N)
python3 "$HELPER" send "$moto_port" "$queue" "$work/events" >/dev/null ||
	fatal "events sent to the queue"
all_active() { [ "$(count_status sqs "$COUNT" ACTIVE)" = "$COUNT" ]; }
check "every certificate ACTIVE" wait_until 180 all_active
ended=$(date +%s.%N)
echo "# $COUNT events through SQS in $(echo "$ended - $started" | bc) s:" \
	"$(echo "scale=1; $COUNT / ($ended - $started)" | bc) events/s"
deleted_all() { [ "$(metric_value 'jitrd_sqs_messages_total{outcome="deleted"}')" -ge "$COUNT" ]; }
check "every message deleted" wait_until 20 deleted_all
# SQS delivers at least once (moto, with two pollers asking at once, now and then hands one
# message to both). A copy that finds its certificate's row open is given back, not deleted,
# and comes again after the visibility timeout (30 s), when it is answered and deleted. So at
# rest each receipt was deleted once or given back once, nothing else.
queue_empty() { [ "$(python3 "$HELPER" counts "$moto_port" "$queue")" = "0 0 0" ]; }
check "the queue is empty" wait_until 45 queue_empty
received=$(metric_value 'jitrd_sqs_messages_total{outcome="received"}')
deleted=$(metric_value 'jitrd_sqs_messages_total{outcome="deleted"}')
returned=$(metric_value 'jitrd_sqs_messages_total{outcome="returned"}')
check "... each receipt deleted once or given back" [ $((deleted + returned)) = "$received" ]
echo "# $COUNT messages received $received times, deleted $deleted times, given back $returned"
check "UpdateCertificate called once per device" [ "$(op_count UpdateCertificate)" = "$COUNT" ]
# jitrd's calls: moto's log lines since the start, less the test's own (the batches it sent,
# the two GetQueueAttributes of `counts`)
calls=$(($(grep -c 'POST / ' "$work/moto.log") - calls_before - (COUNT + 9) / 10 - 2))
echo "# SQS calls by jitrd: $calls for $COUNT events (long polls of 1 s while idle included)"

# Delivered again (another host's redelivery, a duplicate of the rule): AWS's status decides,
# nothing is activated twice, and the copies are deleted too.
mkdir -p "$work/again"
cp "$work/events/1.json" "$work/events/2.json" "$work/events/3.json" "$work/again/"
python3 "$HELPER" send "$moto_port" "$queue" "$work/again" >/dev/null || fatal "copies sent"
deleted_copies() { [ "$(metric_value 'jitrd_sqs_messages_total{outcome="deleted"}')" -ge $((deleted + 3)) ]; }
check "copies of three events: deleted" wait_until 30 deleted_copies
check "... and UpdateCertificate not called again" [ "$(op_count UpdateCertificate)" = "$COUNT" ]
check "... the queue is empty again" queue_empty

deleted_before_invalid=$(metric_value 'jitrd_sqs_messages_total{outcome="deleted"}')
# Bodies that are no event: not deleted; SQS hands them out again after the visibility
# timeout (30 s), then moves them to the DLQ.
python3 "$HELPER" send_raw "$moto_port" "$queue" 'not an event' &&
	python3 "$HELPER" send_raw "$moto_port" "$queue" 'eyJub3QiOiJhbiBldmVudCJ9' &&
	python3 "$HELPER" send_raw "$moto_port" "$queue" '{"certificateId":"x"}' ||
	fatal "invalid bodies sent"
in_dlq() { [ "$(python3 "$HELPER" counts "$moto_port" "$queue")" = "0 0 3" ]; }
check "invalid bodies end in the dead-letter queue" wait_until 150 in_dlq
check "... counted invalid" [ "$(metric_value 'jitrd_sqs_messages_total{outcome="invalid"}')" -ge 3 ]
check "... logged" log_events sqs.invalid
check "... none deleted" [ "$(metric_value 'jitrd_sqs_messages_total{outcome="deleted"}')" = "$deleted_before_invalid" ]
check "SIGTERM: exit 0" stop_jitrd TERM
check "the log says the source stopped" log_events sqs.stopped

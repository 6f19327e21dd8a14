#!/bin/sh
# test-backlog.sh JITRD EMULATOR — a backlog at start-up: devices connect while jitrd is
# stopped (the broker keeps their QoS 1 events for jitrd's persistent session), then jitrd
# starts. Its start-up reconcile sweep waits (reconcile.waiting) until the backlog is
# processed, so it lists none of those certificates as pending and queues nothing: each
# device costs exactly DescribeCertificate + UpdateCertificate + AttachPolicy, and has one
# outcome line, none a skip. Then a copy of an event older than its certificate's judgement
# is answered without an API call, and a newer one is judged. Last, jitrd starts without an
# event source: its start-up sweep runs at once and judges the devices that connected while
# it was stopped. Prints "CASES <passed> <failed>".
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib.sh"

backlog=6 # (lib.sh helpers use $n)
make_pki && devices queued $backlog && gencrl || fatal "PKI"
start_mosquitto || fatal "mosquitto starts"
start_emulator || fatal "emulator starts"
register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" || fatal "device CA registered"
WORKERS=4 RECONCILE_SECONDS=0 write_config
check "jitrd starts once (its persistent session)" start_jitrd
check "... and stops" stop_jitrd TERM
mv "$work/jitrd.log" "$work/jitrd-session.log"
count_status queued $backlog ACTIVE >/dev/null # the ids, once
burst queued $backlog 6
check "$backlog devices connected while jitrd was stopped: all pending" \
	[ "$(count_status queued $backlog PENDING_ACTIVATION)" = $backlog ]

# The sweep's listing is answered 3 s after the request, and shows every device pending as it
# was when asked; the queued events take well under a second. A sweep that did not wait for
# the backlog would list them all as pending.
curl -s --max-time 5 -X POST -d '{"operation_latency_ms": {"ListCertificatesByCA": 3000}}' \
	"$emu_url/_emulator/faults" | jq -e '.operation_latency_ms.ListCertificatesByCA == 3000' \
	>/dev/null || fatal "the emulator's listing slowed down"
describes_before=$(op_count DescribeCertificate)
check "jitrd starts again" start_jitrd
all_active() { [ "$(count_status queued $backlog ACTIVE)" = $backlog ]; }
check "all $backlog -> ACTIVE" wait_until 20 all_active
check "the start-up sweep is done" wait_until 20 grep -q '"event":"reconcile.done"' \
	"$work/jitrd.log"
sleep 1 # anything the sweep queued would be judged by now
log_events reconcile.waiting | sed 's/^/# /'
log_events reconcile.done | sed 's/^/# /'
check "the start-up sweep said it waits" grep -q '"event":"reconcile.waiting"' "$work/jitrd.log"
swept_none() { log_events reconcile.done | grep -q '"pending":"0","queued":"0"'; }
check "the sweep found none of them pending (it began after the backlog)" swept_none
# line numbers: the sweep's listing began after the last outcome line
last_outcome=$(grep -n '"decision":' "$work/jitrd.log" | tail -n 1 | cut -d: -f1)
sweep_line=$(grep -n '"event":"reconcile.done"' "$work/jitrd.log" | head -n 1 | cut -d: -f1)
check "... and was done after the backlog's last outcome" [ "$sweep_line" -gt "$last_outcome" ]
check "no skip among the backlog's outcome lines" \
	[ "$(grep -c '"decision":"skip"' "$work/jitrd.log")" = 0 ]
check "one DescribeCertificate per device" \
	[ "$(($(op_count DescribeCertificate) - describes_before))" = $backlog ]
check "one UpdateCertificate per device" [ "$(op_count UpdateCertificate)" = $backlog ]
check "$backlog outcome lines" [ "$(grep -c '"decision":' "$work/jitrd.log")" = $backlog ]
check "... all activate" [ "$(grep -c '"decision":"activate"' "$work/jitrd.log")" = $backlog ]

# A registration event delivered again after its certificate was judged (a QoS 1 copy, or the
# backlog arriving after the sweep judged the certificate): answered from the inventory with
# no API call. An event newer than the judgement is judged as usual.
id=$(cert_id "$work/devices/queued-1.pem")
ca=$(grep "\"certificateId\":\"$id\"" "$work/jitrd.log" | head -n 1 | jq -r .caCertificateId)
publish_event() { # TIMESTAMP_MS: the event AWS publishes for queued-1, sent again
	jq -nc --arg id "$id" --arg ca "$ca" --arg account $ACCOUNT --argjson t "$1" \
		'{certificateId: $id, caCertificateId: $ca, timestamp: $t, awsAccountId: $account,
		  certificateStatus: "PENDING_ACTIVATION", certificateRegistrationTimestamp: "\($t)"}' \
		>"$work/event.json" &&
		mosquitto_pub -h localhost -p "$mq_tls" --cafile "$work/pki/mqtt-ca.pem" \
			--cert "$work/pki/mqtt-client.pem" --key "$work/pki/mqtt-client.key" -q 1 \
			-t "\$aws/events/certificates/registered/$ca" -f "$work/event.json"
}
lines_for() { grep -c "\"certificateId\":\"$id\"" "$work/jitrd.log"; }
more_lines() { [ "$(lines_for)" -gt "$1" ]; }
last_reason() { grep "\"certificateId\":\"$id\"" "$work/jitrd.log" | tail -n 1 | jq -r .reason; }
describes=$(op_count DescribeCertificate)
lines=$(lines_for)
check "a copy of queued-1's event, a minute old, published" \
	publish_event $(($(date +%s) * 1000 - 60000))
check "... judged" wait_until 10 more_lines "$lines"
echo "# $(last_reason)"
check "... a skip: judged ACTIVE since the event" [ "$(last_reason)" = "judged ACTIVE since the event" ]
check "... without an API call" [ "$(op_count DescribeCertificate)" = "$describes" ]
lines=$(lines_for)
check "an event newer than the judgement published" publish_event "$(date +%s%3N)"
check "... judged" wait_until 10 more_lines "$lines"
echo "# $(last_reason)"
check "... by the pipeline: DescribeCertificate, a skip" \
	[ "$(op_count DescribeCertificate)" = $((describes + 1)) ]
check "... whose reason is the status AWS gave" \
	[ "$(last_reason)" = "status is ACTIVE, not PENDING_ACTIVATION" ]
check "SIGTERM: exit 0" stop_jitrd TERM

# No event source (the [mqtt] section taken out): the start-up sweep has no backlog to wait
# for, so it begins at once and records what connected while jitrd was stopped.
late=3
devices late $late || fatal "late devices"
count_status late $late ACTIVE >/dev/null # the ids, once
burst late $late 3
check "$late devices connected while jitrd was stopped: all pending" \
	[ "$(count_status late $late PENDING_ACTIVATION)" = $late ]
curl -s --max-time 5 -X POST -d '{"operation_latency_ms": {"ListCertificatesByCA": 0}}' \
	"$emu_url/_emulator/faults" >/dev/null || fatal "the emulator's listing back to normal"
mv "$work/jitrd.log" "$work/jitrd-backlog.log"
sed -i '/^\[mqtt\]/,/^key_file/d' "$work/jitrd.conf"
check "the configuration has no event source" [ "$(grep -c '^\[mqtt\]' "$work/jitrd.conf")" = 0 ]
started=$(date +%s%3N)
check "jitrd starts without an event source" start_jitrd
check "the start-up sweep is done" wait_until 10 grep -q '"event":"reconcile.done"' \
	"$work/jitrd.log"
swept_ms=$(($(date +%s%3N) - started))
echo "# start-up sweep done ${swept_ms} ms after the start"
log_events reconcile.done | sed 's/^/# /'
check "... within 3 s of the start: it did not wait" [ "$swept_ms" -lt 3000 ]
check "... without reconcile.waiting" [ "$(grep -c '"event":"reconcile.waiting"' "$work/jitrd.log")" = 0 ]
swept_late() { log_events reconcile.done | grep -q "\"pending\":\"$late\",\"queued\":\"$late\""; }
check "... it queued the $late pending devices" swept_late
late_active() { [ "$(count_status late $late ACTIVE)" = $late ]; }
check "all $late -> ACTIVE" wait_until 20 late_active
check "SIGTERM: exit 0" stop_jitrd TERM

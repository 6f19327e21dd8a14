#!/bin/sh
# test-backlog.sh JITRD EMULATOR — a backlog at start-up: devices connect while jitrd is
# stopped (the broker keeps their QoS 1 events for jitrd's persistent session), then jitrd
# starts, and its start-up reconcile sweep lists the same certificates as still pending. The
# listing is made slow (operation_latency_ms), so the MQTT events are judged before it
# arrives: a certificate jitrd has activated since the sweep began is not swept again. Each
# device costs exactly DescribeCertificate + UpdateCertificate + AttachPolicy, and has one
# outcome line. Then a copy of an event older than its certificate's judgement is answered
# without an API call, and a newer one is judged. Prints "CASES <passed> <failed>".
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
# was when asked; the queued events take well under a second.
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
log_events reconcile.done | sed 's/^/# /'
swept_none() { log_events reconcile.done | grep -q "\"pending\":\"$backlog\",\"queued\":\"0\""; }
check "the sweep queued none of them (all judged since it began)" swept_none
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

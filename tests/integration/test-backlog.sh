#!/bin/sh
# test-backlog.sh JITRD EMULATOR — a backlog at start-up: devices connect while jitrd is
# stopped (the broker keeps their QoS 1 events for jitrd's persistent session), then jitrd
# starts, and its start-up reconcile sweep lists the same certificates as still pending. The
# listing is made slow (operation_latency_ms), so the MQTT events are judged before it
# arrives: a certificate jitrd has activated since the sweep began is not swept again. Each
# device costs exactly DescribeCertificate + UpdateCertificate + AttachPolicy, and has one
# outcome line. Prints "CASES <passed> <failed>".
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
check "SIGTERM: exit 0" stop_jitrd TERM

#!/bin/sh
# test-sqs-hosts.sh JITRD EMULATOR — several `jitrd run` hosts on one SQS queue (moto's
# ThreadedMotoServer on loopback, the emulator, no broker):
#  1. three hosts, COUNT events (SQS_HOSTS_EVENTS, default 200: moto's SQS, pure Python, is the
#     bottleneck on a 2-core machine; SQS_HOSTS_EVENTS=2000 is the issue's figure), one host
#     SIGKILLed midway and not restarted: every device ACTIVE, none REVOKED, UpdateCertificate
#     calls at most 1.05 x the devices, the queue empty in the end;
#  2. a host that holds messages (the emulator slowed down) SIGSTOPped for longer than the
#     visibility timeout: the messages reappear and another host finishes them; the stopped
#     host, continued, changes nothing;
#  3. two hosts sweeping every 2 s with the reconcile lease: one sweeps, the other logs
#     reconcile.skipped, and ListCertificatesByCA is called for one host's sweeps, not two.
# Every process is stopped at the end, even on failure; every wait is bounded. Skipped (77)
# without moto. Prints "CASES <passed> <failed>".
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
HELPER="$SOURCE_ROOT/tests/integration/sqs_helper.py"
python3 -c 'import moto.server, boto3' 2>/dev/null || {
	echo "SKIP: moto or boto3 is not installed"
	exit 77
}
COUNT=${SQS_HOSTS_EVENTS:-200}
SLOW=6 # events of part 2
. "$(dirname "$0")/lib.sh"
host_pids=""
hosts_cleanup() {
	rc=$?
	for p in $host_pids; do
		kill -CONT "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	for p in $host_pids; do wait "$p" 2>/dev/null; done
	if [ "$failed" -gt 0 ]; then
		for f in "$work"/jitrd-*.log; do
			[ -f "$f" ] && echo "--- last lines of $(basename "$f")" && tail -n 8 "$f"
		done
	fi
	stop_moto
	(exit $rc)
	lib_cleanup
}
trap hosts_cleanup EXIT

# start_host N: `jitrd run` with $work/jitrd.conf but its own journal (state-N) and status port
start_host() {
	port=$(free_port)
	echo "$port" >"$work/port-$1"
	sed -e "s/^state_dir = .*/state_dir = state-$1/" \
		-e "s/^listen = .*/listen = 127.0.0.1:$port/" "$work/jitrd.conf" >"$work/jitrd-$1.conf"
	(cd "$work" && exec env AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=$SECRET \
		AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		"$JITRD" run -c "$work/jitrd-$1.conf" >>"$work/jitrd-$1.log" 2>&1) &
	echo $! >"$work/pid-$1"
	host_pids="$host_pids $!"
}
pid_of() { cat "$work/pid-$1"; }
host_ready() { curl -s -f --max-time 2 "http://127.0.0.1:$(cat "$work/port-$1")/readyz" >/dev/null; }
host_metric() { # N 'NAME{LABELS}': 0 when absent or not answering
	curl -s --max-time 5 "http://127.0.0.1:$(cat "$work/port-$1")/metrics" |
		awk -v m="$2" '$1 == m { v = $2 } END { print v + 0 }'
}
received() { host_metric "$1" 'jitrd_sqs_messages_total{outcome="received"}'; }
deleted() { host_metric "$1" 'jitrd_sqs_messages_total{outcome="deleted"}'; }
stop_host() { # N SIGNAL: 0 when it exited 0
	kill -"$2" "$(pid_of "$1")" 2>/dev/null
	wait "$(pid_of "$1")"
}
queue_counts() { python3 "$HELPER" counts "$moto_port" "$queue"; }
queue_empty() { [ "$(queue_counts)" = "0 0 0" ]; }
make_pki || fatal "PKI made with the OpenSSL CLI"
devices fleet "$COUNT" || fatal "$COUNT device certificates"
devices slow "$SLOW" || fatal "$SLOW more"
start_moto 900 || fatal "moto's SQS starts"
queue=$(python3 "$HELPER" setup "$moto_port" jitrd-hosts 10) || fatal "queue and DLQ made"
start_emulator || fatal "emulator starts (no broker)"
register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" || fatal "device CA registered"
gencrl || fatal "CRL"

# --- 1. three hosts, one SIGKILLed midway ----------------------------------------------------
SQS_QUEUE_URL=$queue SQS_WAIT_SECONDS=1 SQS_VISIBILITY_SECONDS=6 LIMIT=1000 write_config
for n in 1 2 3; do start_host $n; done
all_ready() { host_ready 1 && host_ready 2 && host_ready 3; }
check "three hosts on one queue become ready" wait_until 60 all_ready
# the devices register once the hosts run, so that their start-up sweep finds none of them
connect_events fleet "$COUNT" "$work/events" || fatal "$COUNT events from the emulator"
count_status fleet "$COUNT" ACTIVE >/dev/null # the certificate ids, once, before the clock
# 200 ms per AWS call: an event takes a second, so host 2 is caught holding some
curl -s --max-time 5 -X POST -d '{"latency_ms":200}' "$emu_url/_emulator/faults" >/dev/null
started=$(date +%s)
python3 "$HELPER" send "$moto_port" "$queue" "$work/events" >/dev/null || fatal "events sent"
holding() { [ "$(received 2)" -gt "$(($(deleted 2) + 2))" ]; }
check "host 2 receives and holds messages" wait_until 60 holding
echo "# host 2 SIGKILLed having received $(received 2) and deleted $(deleted 2)" \
	"($(count_status fleet "$COUNT" ACTIVE) of $COUNT ACTIVE)"
kill -KILL "$(pid_of 2)"
wait "$(pid_of 2)" 2>/dev/null
all_active() { [ "$(count_status fleet "$COUNT" ACTIVE)" = "$COUNT" ]; }
check "every device ACTIVE without host 2" wait_until 300 all_active
curl -s --max-time 5 -X POST -d '{"latency_ms":0}' "$emu_url/_emulator/faults" >/dev/null
echo "# $COUNT events on three hosts (one killed) in $(($(date +%s) - started)) s"
check "none REVOKED" [ "$(count_status fleet "$COUNT" REVOKED)" = 0 ]
updates=$(op_count UpdateCertificate)
echo "# UpdateCertificate calls: $updates for $COUNT devices"
check "UpdateCertificate calls at most 1.05 x the devices" [ "$((updates * 100))" -le $((COUNT * 105)) ]
check "the queue ends empty (host 2's messages reappeared and were finished)" \
	wait_until 60 queue_empty
both_consumed() { [ "$(deleted 1)" -gt 0 ] && [ "$(deleted 3)" -gt 0 ]; }
check "hosts 1 and 3 both consumed" both_consumed
check "host 3 stops on SIGTERM with exit 0" stop_host 3 TERM

# --- 2. a host that holds messages is stopped past the visibility timeout -------------------
# Every AWS call takes 1 s now, so host 1 holds what it receives for several seconds.
connect_events slow "$SLOW" "$work/slow-events" || fatal "$SLOW more events"
curl -s --max-time 5 -X POST -d '{"latency_ms":1000}' "$emu_url/_emulator/faults" >/dev/null
python3 "$HELPER" send "$moto_port" "$queue" "$work/slow-events" >/dev/null ||
	fatal "$SLOW events sent"
holds() { [ "$(($(received 1) - $(deleted 1)))" -ge 2 ]; }
check "host 1 receives the slow events and holds them" wait_until 30 holds
held=$(($(received 1) - $(deleted 1)))
kill -STOP "$(pid_of 1)"
echo "# host 1 SIGSTOPped holding $held messages"
curl -s --max-time 5 -X POST -d '{"latency_ms":0}' "$emu_url/_emulator/faults" >/dev/null
start_host 4
check "host 4 becomes ready" wait_until 60 host_ready 4
slow_active() { [ "$(count_status slow "$SLOW" ACTIVE)" = "$SLOW" ]; }
check "every slow device ACTIVE while host 1 is stopped" wait_until 90 slow_active
check "host 4 received what host 1 held (after the 6 s visibility timeout)" \
	[ "$(received 4)" -ge "$held" ]
check "the queue ends empty" wait_until 60 queue_empty
kill -CONT "$(pid_of 1)"
sleep 3
check "host 1 continued: still every device ACTIVE, none REVOKED" \
	[ "$(count_status fleet "$COUNT" ACTIVE)$(count_status slow "$SLOW" REVOKED)" = "${COUNT}0" ]
check "host 1 stops on SIGTERM with exit 0" stop_host 1 TERM
check "host 4 stops on SIGTERM with exit 0" stop_host 4 TERM

# --- 3. the reconcile lease: two hosts sweeping every 2 s -----------------------------------
SQS_QUEUE_URL=$queue SQS_WAIT_SECONDS=1 SQS_VISIBILITY_SECONDS=6 LIMIT=1000 \
	RECONCILE_SECONDS=2 write_config
# SQS_HOSTS_LEASE=off shows what the lease saves (the checks below then fail)
printf 'reconcile_lease_thing = lease-of-part-3\nreconcile_lease = %s\n' \
	"${SQS_HOSTS_LEASE:-auto}" >"$work/lease.conf"
sed -i "/^\[service\]$/r $work/lease.conf" "$work/jitrd.conf"
lists_before=$(op_count ListCertificatesByCA)
t0=$(date +%s)
start_host 5
start_host 6
both_ready() { host_ready 5 && host_ready 6; }
check "two sweeping hosts become ready" wait_until 60 both_ready
sleep 12
lists=$(($(op_count ListCertificatesByCA) - lists_before))
seconds=$(($(date +%s) - t0))
sweeps5=$(grep -c '"event":"reconcile.done"' "$work/jitrd-5.log")
sweeps6=$(grep -c '"event":"reconcile.done"' "$work/jitrd-6.log")
pages=$(((COUNT + SLOW + 249) / 250))
echo "# $seconds s: $lists ListCertificatesByCA calls; sweeps: host 5 $sweeps5, host 6 $sweeps6"
one_sweeps() { [ $((sweeps5 * sweeps6)) = 0 ] && [ $((sweeps5 + sweeps6)) -ge 3 ]; }
check "one host sweeps, the other does not" one_sweeps
check "the other logs reconcile.skipped" grep -q '"event":"reconcile.skipped"' \
	"$work/jitrd-5.log" "$work/jitrd-6.log"
one_hosts_lists() {
	[ "$lists" -le $(((seconds / 2 + 2) * pages)) ] &&
		[ "$lists" = $(((sweeps5 + sweeps6) * pages)) ]
}
check "ListCertificatesByCA calls: one host's sweeps ($seconds s / 2 s), not two" one_hosts_lists
state
check "the lease Thing names its holder" jq -e '.things[] | select(.thingName ==
	"lease-of-part-3") | .attributes.jitrd_lease_holder | test(":[0-9]+$")' "$work/state.json"
check "host 5 stops on SIGTERM with exit 0" stop_host 5 TERM
check "host 6 stops on SIGTERM with exit 0" stop_host 6 TERM

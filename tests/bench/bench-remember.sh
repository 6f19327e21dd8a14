#!/bin/sh
# bench-remember.sh JITRD EMULATOR — what a rejected device in a reconnect loop and a flood of
# made-up certificate ids cost `jitrd run` (the path that uses the journal: MQTT -> journal ->
# workers; `jitrd handle` keeps no journal). Against iot-emulator and mosquitto:
#   1. REPEATS (10,000) copies of the registration event of one device that jitrd rejects (its
#      certificate expired), published on the broker at about RATE/s (a reconnect loop):
#      DescribeCertificate calls (the emulator's counter), event rows, remembered rows, and the
#      journal's bytes (journal.db + journal.db-wal);
#   2. BOGUS (100,000) events with distinct certificate ids AWS never registered, for our CA,
#      published at about BOGUS_RATE/s (2,000): DescribeCertificate calls, rows by state, bytes; then again after a
#      restart, whose start-up prune applies [service] journal_max_rows (MAX_ROWS, 100000).
# Prints one "# figure" line per measure. Knobs: JITRD_BENCH_REPEATS, JITRD_BENCH_RATE (500),
# JITRD_BENCH_BOGUS, JITRD_BENCH_MAX_ROWS, JITRD_BENCH_CASES ("1 2"). An older jitrd (without
# [service] remember_seconds) can be measured too: JITRD_BENCH_OLD=1 leaves the new keys out.
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/../integration/lib.sh"

repeats=${JITRD_BENCH_REPEATS:-10000}
rate=${JITRD_BENCH_RATE:-500}
# mosquitto 2.0 drops a publisher that floods it with QoS 1 far faster than it delivers
# ("disconnected due to out of memory"): the flood is paced too, but much faster.
bogus_rate=${JITRD_BENCH_BOGUS_RATE:-2000}
bogus=${JITRD_BENCH_BOGUS:-100000}
max_rows=${JITRD_BENCH_MAX_ROWS:-100000}
cases=${JITRD_BENCH_CASES:-1 2}
if [ "${JITRD_BENCH_OLD:-0}" = 0 ]; then
	export JITRD_SERVICE_JOURNAL_MAX_ROWS=$max_rows
fi

ca_id=$(true) # set below
sql() { sqlite3 -readonly "$work/state/journal.db" "$1" 2>/dev/null || echo "?"; }
size_of() { if [ -f "$1" ]; then stat -c %s "$1"; else echo 0; fi; }
bytes() {
	db=$(size_of "$work/state/journal.db")
	wal=$(size_of "$work/state/journal.db-wal")
	echo "$((db + wal)) ($db + $wal)"
}
describes() { op_count DescribeCertificate; }
figures() { # LABEL
	echo "# figure $1: DescribeCertificate calls $(($(describes) - describes_before)),"\
		"journal $(bytes) bytes (db + wal), events by state:" \
		"$(sql "SELECT group_concat(state || '=' || n, ' ') FROM (SELECT state, count(*) n FROM events GROUP BY state)"),"\
		"remembered rows $(sql 'SELECT count(*) FROM remembered'),"\
		"inventory rows $(sql 'SELECT count(*) FROM certificates')"
}
# pace LINES RATE: copies stdin lines to stdout at about RATE lines/s
pace() {
	python3 -c '
import sys, time
rate = float(sys.argv[1]); start = time.monotonic(); n = 0
for line in sys.stdin:
    sys.stdout.write(line); sys.stdout.flush(); n += 1
    ahead = n / rate - (time.monotonic() - start)
    if ahead > 0: time.sleep(ahead)
' "$1"
}
publish_lines() { mosquitto_pub -h 127.0.0.1 -p "$mq_plain" -q 1 -t "$1" -l; }

make_pki && gencrl || fatal "PKI"
# Expired a year ago: every decision about it is reject (RFC 5280 §4.1.2.5, validity).
device lapsed -startdate 20200101000000Z -enddate 20200201000000Z || fatal "expired device"
start_mosquitto || fatal "mosquitto starts"
start_emulator || fatal "emulator starts"
register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" || fatal "device CA registered"
ca_id=$(cert_id "$work/ca/device-ca.pem")
LIMIT=5000 write_config
check "jitrd run starts and becomes ready" start_jitrd
topic="\$aws/events/certificates/registered/$ca_id"

if echo "$cases" | grep -q 1; then
	connect lapsed
	id=$(cert_id "$work/devices/lapsed.pem")
	judged() { grep "\"certificateId\":\"$id\"" "$work/jitrd.log" | grep -q '"decision":"reject"'; }
	check "the expired device is rejected" wait_until 20 judged
	describes_before=0
	event=$(jq -cn --arg id "$id" --arg ca "$ca_id" --arg acct "$ACCOUNT" \
		'{certificateId: $id, caCertificateId: $ca, timestamp: 1700000000000,
		  certificateStatus: "PENDING_ACTIVATION", awsAccountId: $acct,
		  certificateRegistrationTimestamp: "1700000000000"}')
	started=$(date +%s)
	yes "$event" | head -n "$repeats" | pace "$rate" | publish_lines "$topic"
	outcomes() { [ "$(grep -c "\"certificateId\":\"$id\"" "$work/jitrd.log")" -ge $((repeats + 1)) ]; }
	check "an outcome line for each of the $repeats repeats" wait_until 120 outcomes
	echo "# published $repeats repeats in $(($(date +%s) - started)) s"
	figures "1 ($repeats repeats of one rejected device)"
fi

if echo "$cases" | grep -q 2; then
	describes_before=$(describes)
	rows_before=$(sql "SELECT count(*) FROM events")
	started=$(date +%s)
	python3 -c '
import hashlib, json, sys
ca, acct, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    cid = hashlib.sha256(b"bogus-%d" % i).hexdigest()
    print(json.dumps({"certificateId": cid, "caCertificateId": ca, "timestamp": 1700000000000,
                      "certificateStatus": "PENDING_ACTIVATION", "awsAccountId": acct,
                      "certificateRegistrationTimestamp": "1700000000000"}, separators=(",", ":")))
' "$ca_id" "$ACCOUNT" "$bogus" | pace "$bogus_rate" | publish_lines "$topic"
	echo "# published $bogus bogus ids in $(($(date +%s) - started)) s"
	grep -q 'disconnected due to out of memory' "$work/mosquitto/log" &&
		not_ok "mosquitto dropped the publisher: lower JITRD_BENCH_BOGUS_RATE"
	all_recorded() { [ "$(sql "SELECT count(*) FROM events")" -ge $((rows_before + bogus)) ]; }
	check "every bogus event recorded" wait_until 300 all_recorded
	none_open() { [ "$(sql "SELECT count(*) FROM events WHERE state IN ('pending','in_progress')")" = 0 ]; }
	check "every bogus event finished (retries included)" wait_until 1200 none_open
	echo "# finished in $(($(date +%s) - started)) s"
	figures "2 ($bogus distinct bogus ids)"
	check "SIGTERM: exit 0" stop_jitrd TERM
	check "restart (its start-up prune applies the cap)" start_jitrd
	figures "2 after a restart's prune"
fi
check "SIGTERM: exit 0" stop_jitrd TERM

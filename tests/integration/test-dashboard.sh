#!/bin/sh
# test-dashboard.sh JITRD EMULATOR — deploy/grafana/jitrd.json queries only what jitrd exports:
# a real `jitrd run` (mosquitto, the emulator, a CRL loaded, one device activated, one event
# kept open while AWS fails, the broker restarted) answers /metrics, where the journal backlog
# and the MQTT reconnects follow what happened, and tests/deploy/check-dashboard.py checks the dashboard's structure and that
# every metric its PromQL names is in that answer. A dashboard naming a metric jitrd does not
# export must be refused too. Prints "CASES <passed> <failed>".
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib.sh"
DASHBOARD=$SOURCE_ROOT/deploy/grafana/jitrd.json
CHECKER=$SOURCE_ROOT/tests/deploy/check-dashboard.py

make_pki || fatal "PKI made with the OpenSSL CLI"
device good || fatal "device certificate"
gencrl || fatal "CRL"
start_mosquitto || fatal "mosquitto starts"
start_emulator || fatal "emulator starts"
register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" || fatal "device CA registered"
write_config
check "jitrd run starts and becomes ready" start_jitrd
connect good
check "good -> ACTIVE (API calls counted)" wait_until 20 status_is good ACTIVE
metrics >"$work/before.txt"
check "no backlog, no reconnect yet" grep -q '^jitrd_journal_backlog 0$' "$work/before.txt"
check "... no reconnect yet" grep -q '^jitrd_mqtt_reconnects_total 0$' "$work/before.txt"

# The journal backlog: AWS failing every call keeps an event open (in progress, then pending);
# once AWS answers again it is done and the backlog is back to 0.
device slow || fatal "device certificate slow"
curl -s --max-time 5 -d '{"error_rate":1.0}' "$emu_url/_emulator/faults" >/dev/null
connect slow
backlog_at_least() { [ "$(metric_value jitrd_journal_backlog)" -ge "$1" ]; }
backlog_is() { [ "$(metric_value jitrd_journal_backlog)" -eq "$1" ]; }
check "an event AWS keeps failing: backlog 1" wait_until 20 backlog_at_least 1
curl -s --max-time 5 -d '{"error_rate":0}' "$emu_url/_emulator/faults" >/dev/null
check "AWS answers again: slow -> ACTIVE" wait_until 90 status_is slow ACTIVE
check "... and the backlog is 0" wait_until 10 backlog_is 0

# MQTT reconnects: the broker goes away and comes back.
stop_mosquitto
start_mosquitto || fatal "mosquitto starts again"
reconnected() { [ "$(metric_value jitrd_mqtt_reconnects_total)" -ge 1 ]; }
check "the broker restarted: jitrd_mqtt_reconnects_total 1" wait_until 60 reconnected
metrics >"$work/metrics.txt"
check "/metrics answered with jitrd's families" grep -q '^# TYPE jitrd_events_total counter' \
	"$work/metrics.txt"
check "... with the CRL gauges of the loaded CA" grep -q '^jitrd_crl_age_seconds{ca=' \
	"$work/metrics.txt"
check "the dashboard is valid and every metric it queries is in /metrics" \
	python3 "$CHECKER" "$DASHBOARD" "$work/metrics.txt"
python3 "$CHECKER" "$DASHBOARD" "$work/metrics.txt" | tail -1
queried() { jq -e --arg m "$1" '[.panels[].targets[]?.expr | select(contains($m))] |
	length >= 1' "$DASHBOARD" >/dev/null; }
check "the dashboard shows the journal backlog" queried jitrd_journal_backlog
check "the dashboard shows the MQTT reconnects" queried jitrd_mqtt_reconnects_total

# The checker can fail: a misspelt metric, a histogram suffix on a counter, a repeated id.
jq '.panels[1].targets[0].expr = "rate(jitrd_event_total[5m])"' "$DASHBOARD" >"$work/bad1.json"
jq '.panels[1].targets[0].expr = "rate(jitrd_events_total_bucket[5m])"' "$DASHBOARD" \
	>"$work/bad2.json"
jq '.panels[2].id = .panels[1].id' "$DASHBOARD" >"$work/bad3.json"
jq '.panels[1].targets = []' "$DASHBOARD" >"$work/bad4.json"
for b in 1 2 3 4; do
	python3 "$CHECKER" "$work/bad$b.json" "$work/metrics.txt" >"$work/bad$b.out"
	check "a broken dashboard ($b) is refused" [ $? = 1 ]
done
check "... naming the metric not exported" grep -q 'jitrd_event_total is not in /metrics' \
	"$work/bad1.out"
check "SIGTERM: exit 0" stop_jitrd TERM

#!/bin/sh
# test-dashboard.sh JITRD EMULATOR — deploy/grafana/jitrd.json queries only what jitrd exports:
# a real `jitrd run` (mosquitto, the emulator, a CRL loaded, one device activated) answers
# /metrics, and tests/deploy/check-dashboard.py checks the dashboard's structure and that
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
metrics >"$work/metrics.txt"
check "/metrics answered with jitrd's families" grep -q '^# TYPE jitrd_events_total counter' \
	"$work/metrics.txt"
check "... with the CRL gauges of the loaded CA" grep -q '^jitrd_crl_age_seconds{ca=' \
	"$work/metrics.txt"
check "the dashboard is valid and every metric it queries is in /metrics" \
	python3 "$CHECKER" "$DASHBOARD" "$work/metrics.txt"
python3 "$CHECKER" "$DASHBOARD" "$work/metrics.txt" | tail -1

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

#!/bin/sh
# test-faults.sh JITRD EMULATOR — API faults: the emulator fails 30% of calls (5xx and
# throttling at random) and rate-limits UpdateCertificate, DescribeCertificate and
# AttachPolicy well below what jitrd sends; every device still ends right (good ACTIVE,
# revoked REVOKED, held INACTIVE) through the client's retries and the journal's.
# Prints "CASES <passed> <failed>".
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib.sh"

count=30
make_pki && devices ok $count && device revoked && device held || fatal "PKI"
revoke revoked superseded && revoke held hold && gencrl || fatal "CRL"
start_mosquitto || fatal "mosquitto starts"
start_emulator --error-rate 0.3 --rate-limit UpdateCertificate=5 \
	--rate-limit DescribeCertificate=8 --rate-limit AttachPolicy=5 ||
	fatal "emulator starts with faults"
# the CA is registered with the faults off: that is the operator's step, not jitrd's
curl -s -X POST -H 'Content-Type: application/json' -d '{"error_rate": 0}' \
	"$emu_url/_emulator/faults" >/dev/null
register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" || fatal "device CA registered"
curl -s -X POST -H 'Content-Type: application/json' -d '{"error_rate": 0.3}' \
	"$emu_url/_emulator/faults" >/dev/null
check "the emulator fails 30% of calls" \
	sh -c "curl -s '$emu_url/_emulator/state' | jq -e '.faults.error_rate == 0.3'"
WORKERS=8 DEADLINE_SECONDS=10 write_config
check "jitrd run starts and becomes ready" start_jitrd

started=$(date +%s)
burst ok $count 8 &
burst_pid=$!
connect revoked
connect held
wait "$burst_pid"
burst_pid=""
all_active() { [ "$(count_status ok $count ACTIVE)" = $count ]; }
check "all $count good devices -> ACTIVE" wait_until 180 all_active
check "revoked -> REVOKED" wait_until 60 status_is revoked REVOKED
check "held -> INACTIVE" wait_until 60 status_is held INACTIVE
echo "# settled in $(($(date +%s) - started)) s"
state
errors=$(jq '[.counters.errors[]] | add // 0' "$work/state.json")
echo "# emulator errors: $(jq -c .counters.errors "$work/state.json")"
echo "# of $(jq .counters.requests "$work/state.json") requests"
check "the emulator really answered errors ($errors)" [ "$errors" -ge 10 ]
check "no certificate of ours was revoked by mistake" \
	[ "$(count_status ok $count REVOKED)" = 0 ]
check "/metrics shows API errors (5xx or 429)" \
	sh -c "curl -s 'http://127.0.0.1:$status_port/metrics' | grep '^jitrd_api_requests_total' |
		grep -qv 'code=\"200\"'"
check "SIGTERM: exit 0" stop_jitrd TERM

#!/bin/sh
# test-bad-input.sh JITRD EMULATOR — bad input: hostile payloads published straight to
# the registration topic with mosquitto_pub (over mutual TLS) each end as decision invalid,
# are counted in /metrics, leave one well-formed log line each, and the service keeps going:
# a good device connecting afterwards is activated. Prints "CASES <passed> <failed>".
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib.sh"

make_pki && device good && gencrl || fatal "PKI"
start_mosquitto || fatal "mosquitto starts"
start_emulator || fatal "emulator starts"
register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" || fatal "device CA registered"
write_config
check "jitrd run starts and becomes ready" start_jitrd

hex=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ok_event() { # CERTID: a well-formed event, to be spoiled
	printf '{"certificateId":"%s","caCertificateId":"%s",' "$1" "$hex"
	printf '"timestamp":1700000000000,"certificateStatus":"PENDING_ACTIVATION",'
	printf '"awsAccountId":"123456789012","certificateRegistrationTimestamp":"1700000000000"}'
}
mkdir -p "$work/bad"
printf 'hello, not JSON' >"$work/bad/not-json"
ok_event $hex | head -c 90 >"$work/bad/truncated"
python3 -c 'import sys; sys.stdout.write("{\"certificateId\":\"" + "a" * (300 * 1024) + "\"}")' \
	>"$work/bad/300kb"
python3 -c 'import sys; sys.stdout.write(" " * (300 * 1024))' >"$work/bad/300kb-spaces"
ok_event $hex | sed 's/"timestamp":1700000000000/"timestamp":"soon"/' >"$work/bad/wrong-type-time"
ok_event $hex | sed "s/\"certificateId\":\"$hex\"/\"certificateId\":12345/" \
	>"$work/bad/wrong-type-id"
ok_event $hex | sed 's/"awsAccountId":"123456789012"/"awsAccountId":["123456789012"]/' \
	>"$work/bad/wrong-type-account"
ok_event '../../etc/passwd' >"$work/bad/path-id"
ok_event "..%2f..%2fetc%2fpasswd$hex" >"$work/bad/path-id-encoded"
printf '{"certificateId":"%s\001\033[31m\nX","caCertificateId":"%s"}' "$hex" "$hex" \
	>"$work/bad/control-raw"
ok_event "$(printf '%s' "$hex" | cut -c1-60)\\u0000abc" >"$work/bad/control-escaped-nul"
ok_event $hex | sed 's/{/{"certificateId":"dup",/' >"$work/bad/duplicate-key"
printf '[1,2,3]' >"$work/bad/array"
python3 -c 'import sys; sys.stdout.write("[" * 5000 + "]" * 5000)' >"$work/bad/deep"
printf '\377\376\000{"x":1}' >"$work/bad/binary"
: >"$work/bad/empty"

total=0
for f in "$work"/bad/*; do
	if [ -s "$f" ]; then
		mosquitto_pub -h localhost -p "$mq_tls" --cafile "$work/pki/mqtt-ca.pem" \
			--cert "$work/pki/mqtt-client.pem" --key "$work/pki/mqtt-client.key" -q 1 \
			-t "\$aws/events/certificates/registered/$hex" -f "$f" || not_ok "publish $f"
	else
		mosquitto_pub -h localhost -p "$mq_tls" --cafile "$work/pki/mqtt-ca.pem" \
			--cert "$work/pki/mqtt-client.pem" --key "$work/pki/mqtt-client.key" -q 1 \
			-t "\$aws/events/certificates/registered/$hex" -n || not_ok "publish $f"
	fi
	total=$((total + 1))
done
invalid_count() { [ "$(metric_value 'jitrd_events_total{decision="invalid"}')" = "$total" ]; }
check "all $total bad events counted as invalid in /metrics" wait_until 20 invalid_count
others() { metrics | awk '/^jitrd_events_total/ && !/invalid/ { s += $2 } END { print s + 0 }'; }
check "no other decision counted" [ "$(others)" = 0 ]
check "$total outcome lines with decision invalid" \
	[ "$(grep -c '"decision":"invalid"' "$work/jitrd.log")" = "$total" ]
check "every log line is one JSON object (nothing injected by control characters)" \
	sh -c "grep -v '^env:' '$work/jitrd.log' | jq -e . >/dev/null"
check "no raw escape byte reached the log" sh -c "! grep -q \"$(printf '\033')\" '$work/jitrd.log'"
check "jitrd is still running" kill -0 "$jitrd_pid"
check "still ready" ready

connect good
check "a good device afterwards -> ACTIVE" wait_until 20 status_is good ACTIVE
check "its decision is activate" [ "$(outcome_of good)" = activate ]
check "SIGTERM: exit 0" stop_jitrd TERM

#!/bin/sh
# test-end-to-end.sh JITRD EMULATOR — devices connect through the emulator,
# mosquitto (TLS, client certificates) carries the events to `jitrd run`, and each ends right:
# good -> ACTIVE with the policy and its Thing, revoked -> REVOKED, held -> INACTIVE, expired
# -> stays PENDING_ACTIVATION (reject, on_reject leave), another CA's device -> ignored.
# Then SIGTERM: exit 0. Prints "CASES <passed> <failed>".
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib.sh"

make_pki || fatal "PKI made with the OpenSSL CLI"
device good && device revoked && device held &&
	device expired -startdate 20200101000000Z -enddate 20210101000000Z ||
	fatal "device certificates"
other_device stranger || fatal "a device of another CA"
revoke revoked keyCompromise && revoke held hold && gencrl || fatal "CRL"
start_mosquitto || fatal "mosquitto starts"
start_emulator || fatal "emulator starts"
register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" || fatal "device CA registered"
register_ca "$work/pki/other-ca.pem" "$work/pki/other-ca.key" || fatal "other CA registered"
THING_NAME='{{subject.CN}}' write_config
printf '[service]\nworkers = many\n' >"$work/bad.conf"
"$JITRD" run -c "$work/bad.conf" >"$work/bad.out" 2>&1
check "a bad configuration: exit 2" [ $? = 2 ]
check "... naming the file, line and key" grep -q 'bad.conf:2.*workers' "$work/bad.out"
check "jitrd run starts and becomes ready" start_jitrd
check "the log says it subscribed" grep -q 'mqtt' "$work/jitrd.log"
# A second service on the same state directory would recover (steal) the first one's
# in-progress events: it must refuse to start.
(cd "$work" && env AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=$SECRET \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	timeout 20 "$JITRD" run -c "$work/jitrd.conf" >"$work/second.out" 2>&1)
check "a second jitrd run on the same state_dir exits 1" [ $? = 1 ]
check "... saying the state directory is in use" grep -q 'another jitrd run already uses it' \
	"$work/second.out"

for d in good revoked held expired stranger; do
	connect $d
	check "$d: the emulator registered it PENDING_ACTIVATION and published the event" \
		jq -e '.status == "PENDING_ACTIVATION" and .eventPublished == true' \
		"$work/connect.json"
done

check "good -> ACTIVE" wait_until 20 status_is good ACTIVE
check "revoked -> REVOKED" wait_until 20 status_is revoked REVOKED
check "held -> INACTIVE" wait_until 20 status_is held INACTIVE
decided() { [ -n "$(outcome_of "$1")" ]; }
check "expired: an outcome line" wait_until 20 decided expired
# the first line: the start-up sweep, after these events, answers the remembered reject again
first_outcome() {
	grep "\"certificateId\":\"$(cert_id "$work/devices/$1.pem")\"" "$work/jitrd.log" |
		head -n 1 | jq -r .decision
}
check "expired: decision reject" [ "$(first_outcome expired)" = reject ]
check "expired: stays PENDING_ACTIVATION" status_is expired PENDING_ACTIVATION
check "stranger: an outcome line" wait_until 20 decided stranger
check "stranger: decision ignore" [ "$(outcome_of stranger)" = ignore ]
check "stranger: stays PENDING_ACTIVATION" status_is stranger PENDING_ACTIVATION
check "good: decision activate" [ "$(outcome_of good)" = activate ]
check "revoked: decision revoke" [ "$(outcome_of revoked)" = revoke ]
check "held: decision hold" [ "$(outcome_of held)" = hold ]

good_id=$(cert_id "$work/devices/good.pem")
state
check "good: policy jitrd-device exists" \
	jq -e '[.policies[] | select(.policyName == "jitrd-device")] | length == 1' "$work/state.json"
check "good: policy attached to its certificate" jq -e --arg id "$good_id" \
	'[.policies[] | select(.policyName == "jitrd-device") | .. | strings |
	  select(test("cert/" + $id))] | length >= 1' "$work/state.json"
check "good: Thing 'good' with its certificate as principal" jq -e --arg id "$good_id" \
	'[.things[] | select(.thingName == "good") | .. | strings | select(test("cert/" + $id))]
	 | length >= 1' "$work/state.json"
check "no Thing for the revoked or held device" \
	jq -e '[.things[] | select(.thingName == "revoked" or .thingName == "held")] | length == 0' \
	"$work/state.json"
check "/metrics counts one activate" [ "$(metric_value 'jitrd_events_total{decision="activate"}')" = 1 ]
check "/metrics jitrd_mqtt_connected 1" [ "$(metric_value jitrd_mqtt_connected)" = 1 ]
check "/healthz ok" curl -s -f "http://127.0.0.1:$status_port/healthz"
check "SIGTERM: exit 0" stop_jitrd TERM
check "the log says it stopped" grep -q 'service.stopped' "$work/jitrd.log"

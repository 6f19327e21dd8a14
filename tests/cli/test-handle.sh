#!/bin/sh
# test-handle.sh JITRD IOT_EMULATOR — `jitrd handle` and `jitrd reconcile` against the
# emulator with the fixture PKI: each device ends in the state DESIGN §3 gives it, with its
# policy and Thing, duplicates are skipped, bad lines are invalid and counted in the exit
# status. The AWS CLI is the witness. Loopback only, bounded waits, everything stopped on exit.
jitrd=$(realpath "$1")
src=${JITRD_SOURCE_ROOT:?}
. "$src/tests/cli/lib.sh"

start_emulator "$2" AKIDHANDLETEST handle/test+secret
register_ca ca1
ca_id=$(openssl x509 -in "$fx/cas/ca1.pem" -outform DER | sha256sum | cut -c1-64)

for d in good revoked held expired cadevice cn-star unheld; do
	connect "$d" || give_up "connect $d failed"
done
check "devices are PENDING_ACTIVATION after connecting" [ "$(status_of good)" = PENDING_ACTIVATION ]

{
	printf '[aws]\nregion = us-east-1\naccount_id = 123456789012\nendpoint = %s\n' "$url"
	printf '[ca]\ndir = %s\n[crl]\ndir = %s\n' "$fx/cas" "$fx/crls"
	printf '[provision]\npolicy_template = %s\npolicy_name = jitrd-device\n' "$src/policies/default.json"
	printf 'thing_name = {{subject.CN}}\n[service]\nlog_format = json\n'
} >jitrd.conf

{
	event good
	event revoked
	event held
	event expired
	event cadevice
	event cn-star
	event good
	printf 'not json at all\n'
	printf '{"certificateId":"../../etc/passwd"}\n'
} >events.jsonl
"$jitrd" handle -c jitrd.conf --at $at - <events.jsonl >outcomes.jsonl 2>handle.err
handle_status=$?
check "handle exits 1 when an event is invalid" [ $handle_status -eq 1 ]
decisions=$(python3 -c '
import json, sys
print(" ".join(json.loads(l)["decision"] for l in open(sys.argv[1])))' outcomes.jsonl)
check "one outcome per line, each decided as DESIGN §3 says ($decisions)" \
	[ "$decisions" = "activate revoke hold reject reject reject skip invalid invalid" ]
check "good is ACTIVE" [ "$(status_of good)" = ACTIVE ]
check "revoked is REVOKED" [ "$(status_of revoked)" = REVOKED ]
check "held is INACTIVE" [ "$(status_of held)" = INACTIVE ]
check "expired stays PENDING_ACTIVATION (on_reject leave)" [ "$(status_of expired)" = PENDING_ACTIVATION ]
check "cn-star stays PENDING_ACTIVATION" [ "$(status_of cn-star)" = PENDING_ACTIVATION ]
good_arn="arn:aws:iot:us-east-1:123456789012:cert/$(id_of good)"
policies=$(aws_iot list-attached-policies --target "$good_arn" | json_field '["policies"][0]["policyName"]')
check "good has the policy jitrd-device" [ "$policies" = jitrd-device ]
principal=$(aws_iot list-thing-principals --thing-name device-good | json_field '["principals"][0]')
check "good is the principal of Thing device-good" [ "$principal" = "$good_arn" ]
check "revoked has no policy" [ "$(aws_iot list-attached-policies --target "arn:aws:iot:us-east-1:123456789012:cert/$(id_of revoked)" | json_field '["policies"].__len__()')" = 0 ]
check "the outcome carries policy and thing" python3 -c '
import json, sys
o = json.loads(open(sys.argv[1]).readline())
assert o["policy"] == "jitrd-device" and o["thing"] == "device-good" and o["status"] == "ACTIVE", o
# describe, create thing (with the jitrd_ca marker), list its principals, attach principal,
# create+attach policy, update
assert o["api_calls"] == 7, o
' outcomes.jsonl

event good >again.json
"$jitrd" handle -c jitrd.conf --at $at again.json >again.out 2>&1
check "handling an activated device again is skip, exit 0" \
	grep -q '"decision":"skip".*"status":"ACTIVE"' again.out

"$jitrd" reconcile -c jitrd.conf --at $at >reconcile.out 2>reconcile.err
check "reconcile activates the pending unheld device" [ "$(status_of unheld)" = ACTIVE ]
check "reconcile leaves the rejected ones pending, exit 0" \
	[ "$(grep -c '"decision":"reject"' reconcile.out)" -eq 3 ]

wrong=$(mktemp -p "$work")
sed "s#^endpoint = .*#endpoint = $url#" jitrd.conf >"$wrong"
AWS_SECRET_ACCESS_KEY=wrong "$jitrd" handle -c "$wrong" --at $at again.json >wrong.out 2>&1
check "a wrong secret is a failed outcome without the secret in it" \
	sh -c "grep -q '\"decision\":\"failed\"' wrong.out && ! grep -q 'handle/test' wrong.out"

# A shared policy deleted behind jitrd's back while it runs: the next device still gets it
# (the remembered policy is forgotten and created again), not a permanent failure.
arn_of() { printf 'arn:aws:iot:us-east-1:123456789012:cert/%s' "$(id_of "$1")"; }
connect noext && connect any-eku || give_up "connect noext/any-eku failed"
{
	event noext
	sleep 3
	for d in good unheld noext; do
		aws_iot detach-policy --policy-name jitrd-device --target "$(arn_of $d)" >/dev/null 2>&1
	done
	aws_iot delete-policy --policy-name jitrd-device >/dev/null 2>&1
	event any-eku
} | "$jitrd" handle -c jitrd.conf --at $at - >policy-gone.out 2>policy-gone.err
check "after the shared policy is deleted mid-run, the next device is still activated" \
	[ "$(grep -c '"decision":"activate"' policy-gone.out)" -eq 2 ]
check "... with the policy created again and attached" [ "$(aws_iot list-attached-policies \
	--target "$(arn_of any-eku)" | json_field '["policies"][0]["policyName"]')" = jitrd-device ]

echo "CASES $passed $failed"
[ "$failed" -eq 0 ]

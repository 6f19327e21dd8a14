#!/bin/sh
# test-policy-update.sh JITRD EMULATOR — a changed policy template takes effect: jitrd runs
# with [provision] policy_update at its default (version); the template is changed and jitrd
# gets SIGHUP, seven times. After each change the next device is activated, the policy's
# default version (GetPolicy) holds the new document, and the policy never has more than five
# versions (AWS's limit: the oldest non-default one is deleted to make room). The AWS CLI,
# where installed, witnesses the versions. Prints "CASES <passed> <failed>".
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib.sh"

CHANGES=7
make_pki && gencrl || fatal "PKI"
k=0
while [ $k -le $CHANGES ]; do device "dev-$k" || fatal "device dev-$k"; k=$((k + 1)); done
start_mosquitto || fatal "mosquitto starts"
start_emulator || fatal "emulator starts"
register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" || fatal "device CA registered"
POLICY_TEMPLATE=$work/policy.json
cp "$SOURCE_ROOT/policies/default.json" "$POLICY_TEMPLATE"
write_config
check "jitrd run starts and becomes ready" start_jitrd

# the template's change number N: one more statement naming topic devices/<CN>/vN
change_template() {
	jq --arg r "arn:aws:iot:{{aws.region}}:{{aws.account}}:topic/devices/v$1" \
		'.Statement += [{"Effect": "Allow", "Action": "iot:Publish", "Resource": $r}]' \
		"$SOURCE_ROOT/policies/default.json" >"$work/policy.new" &&
		mv "$work/policy.new" "$POLICY_TEMPLATE"
}
policy() { aws_call GET /policies/jitrd-device >"$work/policy.json.out"; }
default_has() { # vN: the default version's document names topic devices/vN
	policy && jq -r .policyDocument "$work/policy.json.out" | jq -e --arg t "topic/devices/$1" \
		'[.Statement[].Resource | tostring | endswith($t)] | any' >/dev/null
}
versions() { aws_call GET /policies/jitrd-device/version | jq '.policyVersions | length'; }
reloads() { log_events reload.ok | wc -l; }
most=0

connect dev-0
check "dev-0 -> ACTIVE under the shipped template" wait_until 20 status_is dev-0 ACTIVE
check "the policy has one version" [ "$(versions)" = 1 ]
k=1
while [ $k -le $CHANGES ]; do
	change_template $k || fatal "template change $k"
	before=$(reloads)
	kill -HUP "$jitrd_pid"
	reloaded() { [ "$(reloads)" -gt "$before" ]; }
	check "change $k: SIGHUP reloads" wait_until 10 reloaded
	connect "dev-$k"
	check "change $k: dev-$k -> ACTIVE" wait_until 20 status_is "dev-$k" ACTIVE
	check "change $k: dev-$k's decision is activate" [ "$(outcome_of "dev-$k")" = activate ]
	check "change $k: the default version holds the new document" default_has "v$k"
	nv=$(versions)
	[ "$nv" -gt "$most" ] && most=$nv
	within_five() { [ "$nv" -ge 1 ] && [ "$nv" -le 5 ]; }
	check "change $k: $nv versions, at most five" within_five
	k=$((k + 1))
done
check "the policy reached five versions, never more (most $most)" [ "$most" = 5 ]
check "GetPolicy's defaultVersionId is the newest version ($((CHANGES + 1)))" \
	[ "$(jq -r .defaultVersionId "$work/policy.json.out")" = $((CHANGES + 1)) ]
check "no event failed" [ "$(grep -c '"decision":"failed"' "$work/jitrd.log")" = 0 ]
check "DeletePolicyVersion was called for each version past five" \
	[ "$(op_count DeletePolicyVersion)" = $((CHANGES + 1 - 5)) ]
check "the emulator never refused a version past five more than once per change" \
	[ "$(jq -r '.counters.errors.VersionsLimitExceededException // 0' "$work/state.json")" \
		-le $((CHANGES + 1 - 5)) ]

# devices activated before the changes are under the new default version too: one policy,
# attached once, whose default AWS applies to every certificate it is attached to
attached_to_dev0() {
	state && jq -e --arg id "$(cert_id "$work/devices/dev-0.pem")" \
		'.certificates[] | select(.certificateId == $id) | .policies | index("jitrd-device")' \
		"$work/state.json" >/dev/null
}
check "dev-0 still has jitrd-device attached (whose default is the newest version)" attached_to_dev0

if command -v aws >/dev/null 2>&1; then
	witness() {
		AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=$SECRET AWS_DEFAULT_REGION=$REGION \
			AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
			aws iot list-policy-versions --policy-name jitrd-device --endpoint-url "$emu_url" \
			--output json >"$work/cli.json" 2>"$work/cli.err"
	}
	cli_agrees() {
		witness && jq -e --arg v "$((CHANGES + 1))" '(.policyVersions | length) == 5 and
			([.policyVersions[] | select(.isDefaultVersion)] | length) == 1 and
			([.policyVersions[] | select(.isDefaultVersion)][0].versionId == $v)' \
			"$work/cli.json" >/dev/null
	}
	check "aws iot list-policy-versions: five versions, the newest the default" cli_agrees
else
	echo "# aws CLI not installed: no CLI witness"
fi
check "SIGTERM: exit 0" stop_jitrd TERM

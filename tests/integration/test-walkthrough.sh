#!/bin/sh
# test-walkthrough.sh JITRD EMULATOR — the README's "Starting on a real AWS account" run as
# written: its ```sh blocks in order as one script (walkthrough.py), with only the variables
# its first block declares given test values (file paths, ports, the root CA's URL), against
# iot-emulator as AWS IoT and mosquitto as AWS IoT's broker. The glue that stands in for AWS:
# an `aws` first on PATH that adds --endpoint-url (and refuses any service but iot, so a step
# on another service must be marked "not run by the test"), a `mosquitto_pub` that first
# tells the emulator of the device's TLS connection (AWS runs JITR there), the emulator's
# --issuer-cert (AWS signs jitrd's MQTT certificate with a CA its broker trusts) and
# --data-endpoint (the broker's name). Then checks what the steps left in the emulator, and
# that the harness fails on a failing command and on a section without commands.
# Prints "CASES <passed> <failed>".
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
SECTION="Starting on a real AWS account"
README=$SOURCE_ROOT/README.md
REAL_AWS=""
for c in /usr/bin/aws /usr/local/bin/aws "$(command -v aws 2>/dev/null)"; do
	if [ -n "$c" ] && [ -x "$c" ]; then
		REAL_AWS=$c
		break
	fi
done
if [ -z "$REAL_AWS" ]; then
	echo "SKIP: the AWS CLI is not installed"
	exit 77
fi
REAL_MOSQUITTO_PUB=$(command -v mosquitto_pub)

walk_cleanup() {
	walk_rc=$?
	if [ -f "$work/etc/jitrd.pid" ]; then
		kill "$(cat "$work/etc/jitrd.pid")" 2>/dev/null
	fi
	(exit $walk_rc)
	lib_cleanup
}
trap walk_cleanup EXIT

# The region and account the section declares are the emulator's.
REGION=$(sed -n 's/^AWS_REGION=\([a-z0-9-]*\).*/\1/p' "$README" | head -n 1)
ACCOUNT=$(sed -n 's/^ACCOUNT=\([0-9]*\).*/\1/p' "$README" | head -n 1)
check "the section declares AWS_REGION and ACCOUNT" [ -n "$REGION" -a ${#ACCOUNT} -eq 12 ]

make_pki || fatal "PKI"
device first-device || fatal "first device"
gencrl || fatal "CRL"
chmod 600 "$work/pki/ca.key" "$work/pki/device.key"
# the broker accepts the devices of the CA, as AWS IoT does once the CA is registered
cat "$work/ca/device-ca.pem" >>"$work/pki/mqtt-ca.pem"
start_mosquitto || fatal "mosquitto starts"
start_emulator --data-endpoint localhost --issuer-cert "$work/pki/mqtt-ca.pem" \
	--issuer-key "$work/pki/mqtt-ca.key" || fatal "emulator starts"
status_port=$(free_port)

# --- the stand-ins for AWS, first on PATH
bin=$work/bin
mkdir -p "$bin" "$work/home"
cat >"$bin/aws" <<EOF
#!/bin/sh
# the walkthrough's aws CLI: AWS IoT is the emulator; any other service is a mistake
echo "\$*" >>"$work/aws-calls"
if [ "\$1" != iot ]; then
	echo "test-walkthrough: aws \$1 is not AWS IoT: mark the block 'not run by the test'" >&2
	exit 1
fi
exec "$REAL_AWS" --endpoint-url "$emu_url" "\$@"
EOF
cat >"$bin/mosquitto_pub" <<EOF
#!/bin/sh
# AWS IoT's part of a device's TLS connection (JITR), then the real client
prev=""
for a in "\$@"; do
	if [ "\$prev" = --cert ]; then
		curl -s --max-time 20 -X POST --data-binary @"\$a" "$emu_url/_emulator/connect" \
			>>"$work/connects" || exit 1
		echo >>"$work/connects"
	fi
	prev=\$a
done
exec "$REAL_MOSQUITTO_PUB" "\$@"
EOF
chmod 755 "$bin/aws" "$bin/mosquitto_pub"
ln -s "$JITRD" "$bin/jitrd"

# walk README OUT.sh [NAME=VALUE...]: the section as a script; the summary in $work/walk.out
walk() {
	readme=$1
	shift
	python3 "$HERE/walkthrough.py" "$readme" "$SECTION" "$@" >"$work/walk.out" \
		2>"$work/walk.err"
}
walk "$README" "$work/walkthrough.sh" \
	JITRD_SRC="$SOURCE_ROOT" ETC="$work/etc" STATE_DIR="$work/state" \
	CA_CERT="$work/ca/device-ca.pem" CA_KEY="$work/pki/ca.key" \
	CA_CRL="$work/crl/device-ca.crl" DEVICE_CERT="$work/devices/first-device.pem" \
	DEVICE_KEY="$work/pki/device.key" ROOT_CA_URL="file://$work/pki/mqtt-ca.pem" \
	MQTT_PORT="$mq_tls" STATUS_PORT="$status_port" ||
	fatal "the section made into a script: $(cat "$work/walk.err")"
cat "$work/walk.out"
runs=$(awk '/^blocks/ { print $2 }' "$work/walk.out")
skips=$(awk '/^blocks/ { print $3 }' "$work/walk.out")
check "at least 6 blocks run, at most 3 not run" [ "$runs" -ge 6 -a "$skips" -le 3 ]

# run_walk SCRIPT: runs it with the emulator's credentials, jitrd pointed at the emulator,
# bounded; 0 when every command succeeded
run_walk() {
	(cd "$work" && exec env HOME="$work/home" PATH="$bin:$PATH" \
		AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=$SECRET \
		AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		AWS_EC2_METADATA_DISABLED=true AWS_PAGER="" AWS_MAX_ATTEMPTS=1 \
		JITRD_AWS_ENDPOINT="$emu_url" \
		timeout 180 sh "$1" >"$1.log" 2>&1)
}
if run_walk "$work/walkthrough.sh"; then
	ok "every command of the section succeeds"
else
	not_ok "every command of the section succeeds; the script's last lines:"
	tail -n 40 "$work/walkthrough.sh.log"
fi

# What the steps did, seen from AWS's side (the emulator's state)
state
dev_id=$(cert_id "$work/devices/first-device.pem")
jq_state() { jq -e "$1" "$work/state.json" >/dev/null; }
check "the CA is registered, ACTIVE, auto-registration on" jq_state '
	.cacertificates | length == 1 and .[0].status == "ACTIVE" and
	.[0].autoRegistrationStatus == "ENABLE"'
check "jitrd's MQTT certificate: made by AWS (no CA), ACTIVE, policy jitrd-daemon" jq_state '
	[.certificates[] | select(.caCertificateId == "") | select(.status == "ACTIVE") |
	 select(.policies == ["jitrd-daemon"])] | length == 1'
check "the first device has the policy jitrd-device and the Thing first-device" jq_state "
	(.certificates[] | select(.certificateId == \"$dev_id\") | .policies) == [\"jitrd-device\"]
	and (.things[] | select(.thingName == \"first-device\") | .principals | length) == 1"
check "the first device is ACTIVE" status_is first-device ACTIVE
check "the device connected twice (JITR, then in)" [ "$(grep -c . "$work/connects")" -eq 2 ]
check "explain showed ACTIVE, the policy and the Thing" sh -c "
	grep -q 'status ACTIVE' '$work/walkthrough.sh.log' &&
	grep -q '^  policies: jitrd-device' '$work/walkthrough.sh.log' &&
	grep -q '^  things: first-device' '$work/walkthrough.sh.log'"
check "jitrd ran and stopped" sh -c "! kill -0 \$(cat '$work/etc/jitrd.pid') 2>/dev/null"
check "the topic rule was made" sh -c "grep -q 'SELECT \* FROM' '$work/walkthrough.sh.log'"
check "the aws CLI was called only for AWS IoT" sh -c "! grep -v '^iot ' '$work/aws-calls'"

# The harness can fail: a command of the section that fails stops the script with an error
# (here the first one that touches nothing: the check of the IAM policies' JSON), and a
# section without commands, a missing one, or a variable it does not declare is refused.
sed 's/python3 -m json.tool/python3 -m json.toool/' "$README" >"$work/broken.md"
walk "$work/broken.md" "$work/broken.sh" JITRD_SRC="$SOURCE_ROOT" ETC="$work/etc-broken" \
	STATE_DIR="$work/state-broken" || fatal "the broken section made into a script"
if run_walk "$work/broken.sh"; then
	not_ok "a failing command fails the run"
elif grep -q 'json.toool' "$work/broken.sh.log" &&
	! grep -q 'create-keys-and-certificate' "$work/broken.sh.log"; then
	ok "a failing command fails the run, and nothing after it runs"
else
	not_ok "a failing command fails the run, and nothing after it runs"
	tail -n 20 "$work/broken.sh.log"
fi
printf '# x\n\n## %s\n\nNo commands.\n\n```ini\n[ca]\n```\n' "$SECTION" >"$work/empty.md"
walk "$work/empty.md" "$work/empty.sh"
check "a section without commands is refused" grep -q 'no command' "$work/walk.err"
printf '# x\n\n## %s\n\n```sh\nA=1\necho $A\n```\n' "$SECTION" >"$work/one.md"
walk "$work/one.md" "$work/one.sh" NOT_DECLARED=1
check "a variable the section does not declare is refused" grep -q 'does not declare' \
	"$work/walk.err"
walk "$work/one.md" "$work/one.sh" A=2
check "a declared variable is replaced" grep -q '^A=2$' "$work/one.sh"
printf '# x\n' >"$work/none.md"
walk "$work/none.md" "$work/none.sh"
check "a README without the section is refused" grep -q 'no section' "$work/walk.err"

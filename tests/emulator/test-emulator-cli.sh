#!/bin/sh
# test-emulator-cli.sh IOT_EMULATOR — both AWS CLIs (v1 from pip signs as "iot", v2 from
# Debian as "execute-api") drive the emulator through the bring-your-own-CA workflow, with a
# real mosquitto receiving the JITR event. Loopback only; bounded waits; everything started
# here is stopped on exit. Prints "CASES <passed> <failed>".
set -u
emulator=$1
work=$(mktemp -d)
chmod 755 "$work"
passed=0
failed=0
emu_pid=""
mq_pid=""
sub_pid=""

cleanup() {
	for p in $sub_pid $emu_pid $mq_pid; do
		kill "$p" 2>/dev/null
	done
	for p in $sub_pid $emu_pid $mq_pid; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() {
	failed=$((failed + 1))
	echo "not ok - $1"
	[ -f "$work/err" ] && sed 's/^/    /' "$work/err" | head -5
}
check() { # NAME COMMAND...: the command (a test) succeeds
	name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- mosquitto on a free loopback port; as root it would drop to user mosquitto otherwise ---
mq_port=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\nuser root\npersistence false\n' \
	"$mq_port" >"$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
mq_pid=$!
i=0
until mosquitto_pub -p "$mq_port" -h 127.0.0.1 -t emu-test/ping -m ping 2>/dev/null; do
	i=$((i + 1))
	if [ $i -ge 50 ]; then
		echo "mosquitto did not start"
		cat "$work/mosquitto.log"
		echo "CASES 0 1"
		exit 1
	fi
	sleep 0.1
done

# --- the emulator on port 0: read the port from its first line ---
key_id=AKIDEMULATORTEST
secret=emulator/test+secret
"$emulator" --listen 127.0.0.1:0 --region us-east-1 --account-id 123456789012 \
	--access-key-id $key_id --secret-access-key $secret \
	--mqtt-url "tcp://127.0.0.1:$mq_port" >"$work/emu.out" 2>"$work/emu.err" &
emu_pid=$!
i=0
until grep -q 'listening on http://127.0.0.1:[0-9]' "$work/emu.out" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -ge 100 ]; then
		echo "emulator did not start"
		cat "$work/emu.err"
		echo "CASES 0 1"
		exit 1
	fi
	sleep 0.1
done
port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/emu.out")
url=http://127.0.0.1:$port
ok "emulator listens on port $port"

export AWS_ACCESS_KEY_ID=$key_id AWS_SECRET_ACCESS_KEY=$secret AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER="" AWS_MAX_ATTEMPTS=1
unset AWS_SESSION_TOKEN AWS_PROFILE

# --- a CA, its devices (EC keys: fast) ---
cd "$work" || exit 1
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -sha256 -days 30 -subj "/CN=Emulator Test CA" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-out ca.pem 2>/dev/null
ca_id=$(openssl x509 -in ca.pem -outform DER | sha256sum | cut -c1-64)
for n in 1 2 3 4 5; do
	openssl ecparam -name prime256v1 -genkey -noout -out dev$n.key 2>/dev/null
	openssl req -new -key dev$n.key -subj "/CN=device-$n" -out dev$n.csr 2>/dev/null
	openssl x509 -req -in dev$n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
		-sha256 -out dev$n.pem 2>/dev/null
done
dev_id=$(openssl x509 -in dev1.pem -outform DER | sha256sum | cut -c1-64)
cert_arn="arn:aws:iot:us-east-1:123456789012:cert/$dev_id"

verification_cert() { # CN OUT
	openssl ecparam -name prime256v1 -genkey -noout -out verify.key 2>/dev/null
	openssl req -new -key verify.key -subj "/CN=$1" -out verify.csr 2>/dev/null
	openssl x509 -req -in verify.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
		-sha256 -out "$2" 2>/dev/null
}

# expect_error NAME CODE AWS ARGS...: the CLI fails and names CODE
expect_error() {
	name=$1 want_code=$2
	shift 2
	if "$@" --endpoint-url "$url" >"$work/out" 2>"$work/err"; then
		not_ok "$name (succeeded)"
	elif grep -q "($want_code)" "$work/err"; then
		ok "$name"
	else
		not_ok "$name (wanted $want_code)"
	fi
}

# run AWS ARGS...: output in $work/out; 0 on success
run() {
	"$@" --endpoint-url "$url" --output json >"$work/out" 2>"$work/err"
}

jget() { jq -r "$1" "$work/out"; }

connect() { # PEM: the device connects; answer in $work/connect.json
	curl -s --max-time 10 --data-binary @"$1" "$url/_emulator/connect" >"$work/connect.json"
}

workflow() { # LABEL AWS-CLI
	label=$1
	aws=$2
	curl -s --max-time 5 -X POST "$url/_emulator/reset" >/dev/null

	run $aws iot get-registration-code
	reg_code=$(jget .registrationCode)
	check "$label: get-registration-code" [ ${#reg_code} -eq 64 ]

	verification_cert wrong-code bad-verify.pem
	expect_error "$label: verification CN is not the code" RegistrationCodeValidationException \
		$aws iot register-ca-certificate --ca-certificate file://ca.pem \
		--verification-certificate file://bad-verify.pem
	verification_cert "$reg_code" verify.pem
	run $aws iot register-ca-certificate --ca-certificate file://ca.pem \
		--verification-certificate file://verify.pem --set-as-active \
		--allow-auto-registration
	check "$label: register-ca-certificate (id = SHA-256 of DER)" \
		[ "$(jget .certificateId)" = "$ca_id" ]
	expect_error "$label: CA registered twice" ResourceAlreadyExistsException \
		$aws iot register-ca-certificate --ca-certificate file://ca.pem \
		--verification-certificate file://verify.pem
	run $aws iot describe-ca-certificate --certificate-id "$ca_id"
	check "$label: describe-ca-certificate ACTIVE, ENABLE" [ "$(jget \
		'.certificateDescription | .status + "," + .autoRegistrationStatus')" = ACTIVE,ENABLE ]
	run $aws iot list-ca-certificates
	check "$label: list-ca-certificates" [ "$(jget '.certificates[0].certificateId')" = "$ca_id" ]

	# JITR: the device connects, the event reaches the broker.
	: >"$work/sub.out"
	mosquitto_sub -h 127.0.0.1 -p "$mq_port" -v -t '$aws/events/certificates/registered/#' \
		-t emu-test/probe -W 30 >"$work/sub.out" 2>/dev/null &
	sub_pid=$!
	i=0
	until grep -q probe "$work/sub.out"; do
		mosquitto_pub -h 127.0.0.1 -p "$mq_port" -t emu-test/probe -m probe
		i=$((i + 1))
		[ $i -ge 50 ] && break
		sleep 0.1
	done
	connect dev1.pem
	check "$label: connect -> PENDING_ACTIVATION, refused, event published" [ "$(jq -r \
		'[.status, .connected, .eventPublished] | map(tostring) | join(",")' \
		"$work/connect.json")" = PENDING_ACTIVATION,false,true ]
	i=0
	until grep -q "registered/$ca_id" "$work/sub.out"; do
		i=$((i + 1))
		[ $i -ge 50 ] && break
		sleep 0.1
	done
	kill $sub_pid 2>/dev/null
	wait $sub_pid 2>/dev/null
	sub_pid=""
	grep "registered/$ca_id" "$work/sub.out" | head -1 | cut -d' ' -f2- >"$work/event.json"
	check "$label: event on \$aws/events/certificates/registered/<caId> with DESIGN §1 fields" \
		jq -e --arg c "$dev_id" --arg ca "$ca_id" '.certificateId == $c and
		.caCertificateId == $ca and .certificateStatus == "PENDING_ACTIVATION" and
		.awsAccountId == "123456789012" and (.timestamp | type) == "number" and
		(.certificateRegistrationTimestamp | type) == "string"' "$work/event.json"

	run $aws iot describe-certificate --certificate-id "$dev_id"
	check "$label: describe-certificate PENDING_ACTIVATION of the CA" [ "$(jget \
		'.certificateDescription | .status + "," + .caCertificateId')" = \
		"PENDING_ACTIVATION,$ca_id" ]
	expect_error "$label: describe-certificate unknown" ResourceNotFoundException \
		$aws iot describe-certificate --certificate-id "$(printf '%064d' 0)"

	doc='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}'
	run $aws iot create-policy --policy-name device-policy --policy-document "$doc"
	check "$label: create-policy" [ "$(jget .policyName)" = device-policy ]
	expect_error "$label: create-policy twice" ResourceAlreadyExistsException \
		$aws iot create-policy --policy-name device-policy --policy-document "$doc"
	expect_error "$label: create-policy not JSON" MalformedPolicyException \
		$aws iot create-policy --policy-name bad-policy --policy-document "{not json"
	run $aws iot get-policy --policy-name device-policy
	check "$label: get-policy" [ "$(jget .policyDocument)" = "$doc" ]
	check "$label: attach-policy" run $aws iot attach-policy --policy-name device-policy \
		--target "$cert_arn"
	expect_error "$label: attach-policy unknown policy" ResourceNotFoundException \
		$aws iot attach-policy --policy-name no-such-policy --target "$cert_arn"
	run $aws iot list-attached-policies --target "$cert_arn"
	check "$label: list-attached-policies" [ "$(jget '.policies[0].policyName')" = \
		device-policy ]
	expect_error "$label: delete-policy while attached" DeleteConflictException \
		$aws iot delete-policy --policy-name device-policy

	run $aws iot create-thing --thing-name device-1
	check "$label: create-thing" [ "$(jget .thingArn)" = \
		arn:aws:iot:us-east-1:123456789012:thing/device-1 ]
	check "$label: attach-thing-principal" run $aws iot attach-thing-principal \
		--thing-name device-1 --principal "$cert_arn"
	expect_error "$label: attach-thing-principal unknown thing" ResourceNotFoundException \
		$aws iot attach-thing-principal --thing-name no-such-thing --principal "$cert_arn"
	run $aws iot list-thing-principals --thing-name device-1
	check "$label: list-thing-principals" [ "$(jget '.principals[0]')" = "$cert_arn" ]
	run $aws iot describe-thing --thing-name device-1
	check "$label: describe-thing" [ "$(jget .thingName)" = device-1 ]

	check "$label: update-certificate ACTIVE" run $aws iot update-certificate \
		--certificate-id "$dev_id" --new-status ACTIVE
	run $aws iot describe-certificate --certificate-id "$dev_id"
	check "$label: now ACTIVE" [ "$(jget .certificateDescription.status)" = ACTIVE ]
	connect dev1.pem
	check "$label: an ACTIVE device connects" [ "$(jq -r .connected "$work/connect.json")" = \
		true ]
	expect_error "$label: PENDING_ACTIVATION cannot be set" CertificateStateException \
		$aws iot update-certificate --certificate-id "$dev_id" \
		--new-status PENDING_ACTIVATION
	check "$label: revoke" run $aws iot update-certificate --certificate-id "$dev_id" \
		--new-status REVOKED
	expect_error "$label: REVOKED -> ACTIVE refused" CertificateStateException \
		$aws iot update-certificate --certificate-id "$dev_id" --new-status ACTIVE
	connect dev1.pem
	check "$label: a REVOKED device is refused" [ "$(jq -r '.connected' \
		"$work/connect.json")" = false ]

	for n in 2 3 4 5; do connect dev$n.pem; done
	# The CLIs turn automatic pagination off when --page-size is given, because IoT's
	# limit key is itself called pageSize (awscli customizations/paginate.py): so page by
	# hand with --page-size 2 and --marker, and let the CLI page without --page-size.
	run $aws iot list-certificates-by-ca --ca-certificate-id "$ca_id" --page-size 2
	check "$label: --page-size 2: one page of 2 and a nextMarker" [ "$(jget \
		'(.certificates | length | tostring) + "," + (.nextMarker != null | tostring)')" = \
		2,true ]
	: >"$work/ids"
	pages=0
	marker=""
	while [ $pages -lt 10 ]; do
		pages=$((pages + 1))
		run $aws iot list-certificates-by-ca --ca-certificate-id "$ca_id" --page-size 2 \
			${marker:+--marker "$marker"} || break
		jget '.certificates[].certificateId' >>"$work/ids"
		marker=$(jget '.nextMarker // empty')
		[ -z "$marker" ] && break
	done
	check "$label: --page-size 2 with --marker: 5 certificates over 3 pages" \
		[ "$(sort -u "$work/ids" | wc -l)-$(wc -l <"$work/ids")-$pages" = 5-5-3 ]
	run $aws iot list-certificates-by-ca --ca-certificate-id "$ca_id"
	check "$label: automatic pagination lists all 5" [ "$(jget '.certificates | length')" = 5 ]
	run $aws iot list-certificates-by-ca --ca-certificate-id "$ca_id" --max-items 3
	check "$label: --max-items 3 pages and hands back a NextToken" [ "$(jget \
		'(.certificates | length | tostring) + "," + (.NextToken != null | tostring)')" = \
		3,true ]
	run $aws iot list-certificates-by-ca --ca-certificate-id "$ca_id" --no-paginate
	check "$label: --no-paginate: first page only (all 5 fit the default 25)" \
		[ "$(jget '.certificates | length')" = 5 ]

	run $aws iot describe-endpoint --endpoint-type iot:Data-ATS
	check "$label: describe-endpoint" \
		sh -c "jq -r .endpointAddress '$work/out' | grep -Eq '^[a-z0-9]{14}-ats\.iot\.us-east-1\.amazonaws\.com$'"

	check "$label: detach-policy" run $aws iot detach-policy --policy-name device-policy \
		--target "$cert_arn"
	check "$label: delete-policy" run $aws iot delete-policy --policy-name device-policy

	# Refused requests: wrong secret, unknown key, throttled.
	expect_error "$label: wrong secret key" InvalidSignatureException \
		env AWS_SECRET_ACCESS_KEY=wrong $aws iot get-registration-code
	expect_error "$label: unknown access key" UnrecognizedClientException \
		env AWS_ACCESS_KEY_ID=AKIDUNKNOWN $aws iot get-registration-code
	curl -s --max-time 5 -d '{"rate_limits":{"DescribeEndpoint":0.01}}' "$url/_emulator/faults" \
		>/dev/null
	run $aws iot describe-endpoint
	expect_error "$label: rate limit answered with ThrottlingException" ThrottlingException \
		env AWS_MAX_ATTEMPTS=1 $aws iot describe-endpoint
	curl -s --max-time 5 -d '{"rate_limits":{"DescribeEndpoint":0}}' "$url/_emulator/faults" \
		>/dev/null
}

workflow "v1 (iot)" /root/.pyenv/shims/aws
workflow "v2 (execute-api)" /usr/bin/aws

# A tampered request: a bogus Authorization header.
curl -s --max-time 5 -D "$work/headers" -o "$work/body" \
	-H 'Authorization: AWS4-HMAC-SHA256 Credential=AKIDEMULATORTEST/20240101/us-east-1/iot/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000' \
	-H 'X-Amz-Date: 20240101T000000Z' "$url/registrationcode"
check "tampered request refused with 403" grep -q '^HTTP/1.1 403' "$work/headers"
check "... with x-amzn-ErrorType and a JSON message" sh -c \
	"grep -qi '^x-amzn-ErrorType: InvalidSignatureException' '$work/headers' && jq -e .message '$work/body' >/dev/null"
curl -s --max-time 5 -D "$work/headers" -o "$work/body" "$url/registrationcode"
check "unsigned request refused with 403 MissingAuthenticationTokenException" sh -c \
	"grep -q '^HTTP/1.1 403' '$work/headers' && grep -qi 'x-amzn-ErrorType: MissingAuthenticationTokenException' '$work/headers'"
head -c 1100000 /dev/zero | tr '\0' a >"$work/big"
status=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' --data-binary @"$work/big" \
	"$url/_emulator/connect")
check "a body over 1 MiB is answered 413" [ "$status" = 413 ]
curl -s --max-time 5 "$url/_emulator/state" >"$work/out"
check "state counts operations and error codes" jq -e '.counters.operations.UpdateCertificate
	>= 1 and .counters.errors.CertificateStateException >= 2' "$work/out"

kill "$emu_pid"
i=0
while kill -0 "$emu_pid" 2>/dev/null; do
	i=$((i + 1))
	[ $i -ge 50 ] && break
	sleep 0.1
done
if kill -0 "$emu_pid" 2>/dev/null; then
	not_ok "SIGTERM stops the emulator"
else
	wait "$emu_pid"
	rc=$?
	check "SIGTERM stops the emulator cleanly (exit $rc)" [ "$rc" -eq 0 ]
fi
emu_pid=""

echo "CASES $passed $failed"
[ "$failed" -eq 0 ]

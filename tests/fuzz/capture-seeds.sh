#!/bin/sh
# capture-seeds.sh JITRD EMULATOR — remakes the seed corpora of the fuzz targets that read
# AWS's wire format: iot_response (answers of a running iot-emulator, captured with curl -i as
# they arrive: status line, headers, body) and emulator (requests as the AWS client sends
# them, with a fresh PKI whose verification certificate has the fuzz target's registration
# code). Run by hand from the source root when the wire format changes; not part of the tests.
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=$(pwd)
LIB_QUIET=1
. "$SOURCE_ROOT/tests/integration/lib.sh"
out=$SOURCE_ROOT/tests/fuzz/corpus
CODE=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff

make_pki && device dev-1 && device dev-2 || fatal "PKI"
mq_plain=$(free_port) # no broker: the emulator answers connect with eventPublished false
start_emulator || fatal "emulator"

# capture NAME METHOD PATH [JSON]: the whole answer (curl -i) into iot_response/NAME
capture() {
	name=$1
	shift
	if [ $# -ge 3 ]; then
		curl -s -i --max-time 10 --aws-sigv4 "aws:amz:$REGION:iot" --user "$KEY_ID:$SECRET" \
			-X "$1" -H 'Content-Type: application/json' --data-binary "$3" "$emu_url$2"
	else
		curl -s -i --max-time 10 --aws-sigv4 "aws:amz:$REGION:iot" --user "$KEY_ID:$SECRET" \
			-X "$1" "$emu_url$2"
	fi >"$out/iot_response/$name"
}
register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" || fatal "register CA"
ca_id=$(cert_id "$work/ca/device-ca.pem")
id1=$(cert_id "$work/devices/dev-1.pem")
for d in dev-1 dev-2; do
	curl -s -X POST --data-binary @"$work/devices/$d.pem" "$emu_url/_emulator/connect" >/dev/null
done
arn1=arn:aws:iot:$REGION:$ACCOUNT:cert/$id1
capture registration-code GET /registrationcode
capture describe-certificate GET "/certificates/$id1"
capture describe-ca-certificate GET "/cacertificate/$ca_id"
capture list-by-ca-page1 GET "/certificates-by-ca/$ca_id?pageSize=1"
marker=$(sed -n 's/.*"nextMarker":"\([^"]*\)".*/\1/p' "$out/iot_response/list-by-ca-page1")
capture list-by-ca-page2 GET "/certificates-by-ca/$ca_id?marker=$marker&pageSize=1"
capture create-policy POST /policies/jitrd-device \
	'{"policyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iot:Connect\",\"Resource\":\"*\"}]}"}'
capture get-policy GET /policies/jitrd-device
capture create-thing POST /things/dev-1 \
	"{\"attributePayload\":{\"attributes\":{\"jitrd_ca\":\"$ca_id\",\"site\":\"hall-7\"}}}"
capture describe-thing GET /things/dev-1
curl -s --aws-sigv4 "aws:amz:$REGION:iot" --user "$KEY_ID:$SECRET" -X PUT \
	-H "x-amzn-principal: $arn1" "$emu_url/things/dev-1/principals" >/dev/null
capture list-thing-principals GET '/things/dev-1/principals?maxResults=250'
capture update-certificate PUT "/certificates/$id1?newStatus=ACTIVE"
capture error-not-found GET "/certificates/$(printf '%064d' 0)"
capture error-conflict POST /things/dev-1 '{"thingTypeName":"other"}'
capture error-invalid PUT "/certificates/$id1?newStatus=BOGUS"
capture error-already-exists POST /policies/jitrd-device '{"policyDocument":"{}"}'
curl -s -i "$emu_url/certificates/$id1" >"$out/iot_response/error-unsigned"

# The emulator target's requests: wire format, signed by the target itself.
openssl req -new -key "$work/pki/device.key" -subj "/CN=$CODE" -out "$work/pki/v.csr" 2>/dev/null
openssl x509 -req -in "$work/pki/v.csr" -CA "$work/ca/device-ca.pem" -CAkey "$work/pki/ca.key" \
	-set_serial 98 -days 3650 -out "$work/pki/v.pem" 2>/dev/null || fatal "verification cert"
request() { # METHOD TARGET [BODY [EXTRA HEADER LINE]]
	body=${3:-}
	printf '%s %s HTTP/1.1\r\nHost: iot.us-east-1.amazonaws.com\r\n' "$1" "$2"
	[ -z "${4:-}" ] || printf '%s\r\n' "$4"
	if [ -n "$body" ]; then
		printf 'Content-Type: application/json\r\nContent-Length: %s\r\n\r\n%s' \
			"$(printf '%s' "$body" | wc -c)" "$body"
	else
		printf '\r\n'
	fi
}
register=$(jq -cn --rawfile ca "$work/ca/device-ca.pem" --rawfile v "$work/pki/v.pem" \
	'{caCertificate: $ca, verificationCertificate: $v}')
policy='{"policyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iot:Connect\",\"Resource\":\"arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}\"}]}"}'
{
	request GET /registrationcode
	request POST '/cacertificate?allowAutoRegistration=true&setAsActive=true' "$register"
	request POST /_emulator/connect "$(cat "$work/devices/dev-1.pem")"
	request GET "/certificates/$id1"
	request PUT "/certificates/$id1?newStatus=ACTIVE"
	request POST /policies/jitrd-device "$policy"
	request PUT /target-policies/jitrd-device "{\"target\":\"$arn1\"}"
	request POST /things/dev-1 '{}'
	request PUT /things/dev-1/principals '' "x-amzn-principal: $arn1"
	request GET /things/dev-1/principals
	request GET "/certificates-by-ca/$ca_id?pageSize=1"
	request POST "/attached-policies/$(printf '%s' "$arn1" | jq -sRr @uri)"
	request GET /_emulator/state
} >"$out/emulator/jitr-flow"
{
	request POST '/cacertificate?allowAutoRegistration=true&setAsActive=true' "$register"
	request POST /_emulator/connect "$(cat "$work/devices/dev-1.pem")"
	request POST /_emulator/connect "$(cat "$work/devices/dev-2.pem")"
	request GET "/certificates-by-ca/$ca_id?pageSize=1"
	request GET "/cacertificate/$ca_id"
	request PUT "/cacertificate/$ca_id?newStatus=INACTIVE"
	request GET /cacertificates
	request POST /certificate/register "$(jq -cn --rawfile c "$work/devices/dev-2.pem" \
		--rawfile ca "$work/ca/device-ca.pem" '{certificatePem: $c, caCertificatePem: $ca}')"
} >"$out/emulator/register-and-list"
{
	request POST /_emulator/faults '{"errorRate":0.5,"latencyMs":0,"rateLimits":{"DescribeCertificate":1}}'
	request GET "/certificates/$id1"
	request GET "/certificates/$id1"
	request GET /_emulator/faults
	request POST /_emulator/reset
} >"$out/emulator/faults"
{
	request GET "/certificates/$id1" '' \
		"Authorization: AWS4-HMAC-SHA256 Credential=AKIDFUZZ/20300601/us-east-1/iot/aws4_request, SignedHeaders=host;x-amz-date, Signature=$(printf '%064d' 0)"
	request GET "/certificates/$id1" '' "Authorization: AWS4-HMAC-SHA256 Credential=AKIDFUZZ/20300601/us-east-1/iot"
	request GET "/certificates/$id1" '' "Authorization: Basic Zm9vOmJhcg=="
	request GET '/certificates/%zz?marker=%' ''
	request GET '/policies/a%2Fb?pageSize=1&pageSize=2&x' ''
} >"$out/emulator/hostile-auth"
echo "seeds written"

#!/bin/sh
# test-provision.sh JITRD IOT_EMULATOR — provisioning against the emulator (DESIGN §3.7): a
# device joins an existing Thing only as a rotation within the same CA of a Thing jitrd made
# (or one the operator marked for it); another device's Thing is refused, naming it; and a
# DescribeCertificate answer whose ARN names another certificate attaches nothing (a stub
# server stands in for AWS there). The AWS CLI is the witness. Loopback only, bounded waits,
# everything stopped on exit.
jitrd=$(realpath "$1")
src=${JITRD_SOURCE_ROOT:?}
. "$src/tests/cli/lib.sh"

start_emulator "$2" AKIDPROVISIONTEST provision/test+secret
register_ca ca1
register_ca ca2
ca_id() { openssl x509 -in "$fx/cas/$1.pem" -outform DER | sha256sum | cut -c1-64; }
ca1=$(ca_id ca1)
ca2=$(ca_id ca2)

arn_of() { printf 'arn:aws:iot:us-east-1:123456789012:cert/%s' "$(id_of "$1")"; }
principals_of() { aws_iot list-thing-principals --thing-name "$1" |
	python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin)["principals"])))'; }
policy_count() { aws_iot list-attached-policies --target "$(arn_of "$1")" | json_field '["policies"].__len__()'; }
handle() { # DEVICE CA_ID CONF: one outcome line (JSON) in out-DEVICE.json
	event "$1" "$2" >"ev-$1.json"
	"$jitrd" handle -c "$3" --at $at "ev-$1.json" >"out-$1.json" 2>"err-$1.txt"
}
field() { # FILE KEY
	python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())[sys.argv[2]])' "$1" "$2"
}

conf() { # ON_REJECT ENDPOINT
	printf '[aws]\nregion = us-east-1\naccount_id = 123456789012\nendpoint = %s\n' "$2"
	printf '[ca]\ndir = %s\n[crl]\ndir = %s\n' "$fx/cas" "$fx/crls"
	printf '[provision]\npolicy_template = %s\npolicy_name = jitrd-device\n' "$src/policies/default.json"
	printf 'thing_name = {{subject.CN}}\non_reject = %s\n[service]\nlog_format = json\n' "$1"
}
conf leave "$url" >leave.conf
conf revoke "$url" >revoke.conf

for d in gateway-1 sensor-7a sensor-7b mixed-a mixed-ca2 spare-1; do
	connect "$d" || give_up "connect $d failed"
done

# 1. Someone else's Thing named like the device's Common Name.
aws_iot create-thing --thing-name gateway-1 >/dev/null || give_up "create-thing gateway-1 failed"
handle gateway-1 "$ca1" leave.conf
check "a foreign Thing: reject" [ "$(field out-gateway-1.json decision)" = reject ]
check "... the reason names the Thing ($(field out-gateway-1.json reason))" \
	grep -q '"reason":"Thing gateway-1 exists and was not created by jitrd' out-gateway-1.json
check "... the certificate stays PENDING_ACTIVATION" [ "$(status_of gateway-1)" = PENDING_ACTIVATION ]
check "... it is not the Thing's principal" [ -z "$(principals_of gateway-1)" ]
check "... and has no policy (none in the outcome either)" \
	sh -c "[ \"$(policy_count gateway-1)\" = 0 ] && [ -z \"$(field out-gateway-1.json policy)\" ]"
handle gateway-1 "$ca1" revoke.conf
check "with on_reject = revoke: reject, and the certificate is REVOKED" \
	sh -c "[ \"$(field out-gateway-1.json decision)\" = reject ] && [ \"$(status_of gateway-1)\" = REVOKED ]"
check "... still not the Thing's principal" [ -z "$(principals_of gateway-1)" ]

# 2. A rotation: a second certificate of the same CA for the Thing jitrd made.
handle sensor-7a "$ca1" leave.conf
check "the first certificate of sensor-7: activate" [ "$(field out-sensor-7a.json decision)" = activate ]
marker=$(aws_iot describe-thing --thing-name sensor-7 | json_field '["attributes"]["jitrd_ca"]')
check "the Thing jitrd made carries its marker, the CA id" [ "$marker" = "$ca1" ]
handle sensor-7b "$ca1" leave.conf
check "its rotation (same CA, same Thing): activate" [ "$(field out-sensor-7b.json decision)" = activate ]
check "... ACTIVE" [ "$(status_of sensor-7b)" = ACTIVE ]
expect=$(printf '%s\n%s\n' "$(arn_of sensor-7a)" "$(arn_of sensor-7b)" | sort | tr '\n' ' ' | sed 's/ $//')
check "... and both certificates are the Thing's principals" [ "$(principals_of sensor-7)" = "$expect" ]

# 3. A Thing marked for ca1 whose principal is a certificate of ca2.
aws_iot create-thing --thing-name mixed-1 \
	--attribute-payload "{\"attributes\":{\"jitrd_ca\":\"$ca1\"}}" >/dev/null ||
	give_up "create-thing mixed-1 failed"
aws_iot attach-thing-principal --thing-name mixed-1 --principal "$(arn_of mixed-ca2)" >/dev/null ||
	give_up "attach-thing-principal mixed-1 failed"
handle mixed-a "$ca1" leave.conf
check "a marked Thing with a principal of another CA: reject" [ "$(field out-mixed-a.json decision)" = reject ]
check "... naming the Thing and the other CA ($(field out-mixed-a.json reason))" \
	grep -q '"reason":"Thing mixed-1 belongs to another device: a certificate of another CA' out-mixed-a.json
check "... PENDING_ACTIVATION, not attached" \
	sh -c "[ \"$(status_of mixed-a)\" = PENDING_ACTIVATION ] && [ \"$(principals_of mixed-1)\" = \"$(arn_of mixed-ca2)\" ]"
# and a ca2 device for the Thing marked for ca1
handle mixed-ca2 "$ca2" leave.conf
check "a device of another CA than the Thing's marker: reject" \
	grep -q '"decision":"reject".*"reason":"Thing mixed-1 was created by jitrd for another CA' out-mixed-ca2.json

# 4. The operator's exception: a Thing they made, marked for ca1, joined by a ca1 device.
aws_iot create-thing --thing-name spare-1 \
	--attribute-payload "{\"attributes\":{\"jitrd_ca\":\"$ca1\",\"site\":\"lab\"}}" >/dev/null ||
	give_up "create-thing spare-1 failed"
handle spare-1 "$ca1" leave.conf
check "a Thing the operator marked for the CA: activate" [ "$(field out-spare-1.json decision)" = activate ]
check "... attached" [ "$(principals_of spare-1)" = "$(arn_of spare-1)" ]

# 5. DescribeCertificate answering with an ARN that names another certificate: a stub AWS that
# logs every request. Nothing may be attached: the only request is the describe.
cat >stub.py <<'PY'
import http.server, json, sys
pem, cert_id, ca_id, arn, log = sys.argv[1:6]
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        with open(log, "a") as f:
            f.write(self.command + " " + self.path + "\n")
        if self.command == "GET" and self.path == "/certificates/" + cert_id:
            body = json.dumps({"certificateDescription": {
                "certificateId": cert_id, "caCertificateId": ca_id,
                "status": "PENDING_ACTIVATION", "certificateArn": arn,
                "certificatePem": open(pem).read()}}).encode()
            self.send_response(200)
        else:
            body = b'{"message":"not in this stub"}'
            self.send_response(400)
            self.send_header("x-amzn-ErrorType", "InvalidRequestException")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = do_PUT = answer
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
stub() { # ARN: a stub for device good2's describe; its port in stub.port
	: >stub.log
	: >stub.port
	python3 stub.py "$fx/devices/good2.pem" "$(id_of good2)" "$ca2" "$1" stub.log >stub.port &
	stub_pid=$!
	i=0
	until [ -s stub.port ]; do
		i=$((i + 1))
		[ $i -ge 100 ] && give_up "stub did not start"
		sleep 0.1
	done
}
stop_stub() { kill "$stub_pid" 2>/dev/null; wait "$stub_pid" 2>/dev/null; stub_pid=""; }
for bad in "$(arn_of good)" "$(arn_of good2)x" "$(arn_of good2)/../x" \
	"arn:aws:iot:us-east-1:123456789012:thing/$(id_of good2)" ""; do
	stub "$bad"
	conf leave "http://127.0.0.1:$(cat stub.port)" >stub.conf
	handle good2 "$ca2" stub.conf
	stop_stub
	check "an ARN not ending in :cert/<id> (\"$bad\"): failed" \
		grep -q '"decision":"failed".*"reason":"DescribeCertificate returned a certificateArn' out-good2.json
	check "... and nothing but the describe was sent" [ "$(wc -l <stub.log)" -eq 1 ]
done
# the same stub with the right ARN goes on to CreateThing (so the check above can fail)
stub "$(arn_of good2)"
conf leave "http://127.0.0.1:$(cat stub.port)" >stub.conf
handle good2 "$ca2" stub.conf
stop_stub
check "with the certificate's own ARN the pipeline goes on (CreateThing next)" \
	sh -c 'grep -q "^POST /things/device-good-ca2" stub.log && grep -q "\"reason\":\"CreateThing" out-good2.json'

echo "CASES $passed $failed"
[ "$failed" -eq 0 ]

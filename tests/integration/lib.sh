# lib.sh — sourced by tests/integration/test-*.sh (and scripts/demo): makes a fresh PKI with the
# OpenSSL CLI, starts mosquitto (TLS with client certificates, plus a loopback-only plain
# listener for the emulator), iot-emulator and `jitrd run` on free loopback ports, and stops
# everything on exit. Every wait is bounded. Needs: openssl, mosquitto, curl, jq, python3.
# The caller sets JITRD and EMULATOR (binaries) and SOURCE_ROOT before sourcing; LIB_QUIET=1
# (the demo) leaves out the CASES line and keeps the caller's exit status.

set -u
for tool in openssl mosquitto mosquitto_pub curl jq python3; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "SKIP: $tool is not installed (scripts/deps, apt-get install $tool)"
		exit 77 # meson: skipped
	fi
done
abspath() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$PWD" "$(basename "$1")"); }
JITRD=$(abspath "$JITRD")
EMULATOR=$(abspath "$EMULATOR")
work=$(mktemp -d /tmp/jitrd-it.XXXXXX)
chmod 755 "$work"
passed=0
failed=0
mq_pid=""
emu_pid=""
jitrd_pid=""
burst_pid=""
KEY_ID=AKIDJITRDINTEGRATION
SECRET=jitrd/integration+secret
ACCOUNT=123456789012
REGION=us-east-1

lib_cleanup() {
	rc=$?
	for p in $burst_pid $jitrd_pid $emu_pid $mq_pid; do
		kill "$p" 2>/dev/null
	done
	for p in $burst_pid $jitrd_pid $emu_pid $mq_pid; do
		wait "$p" 2>/dev/null
	done
	if [ "${LIB_QUIET:-0}" = 0 ]; then
		if [ "$failed" -gt 0 ] && [ -f "$work/jitrd.log" ]; then
			echo "--- last lines of jitrd's log"
			tail -n 30 "$work/jitrd.log"
		fi
		echo "CASES $passed $failed"
	fi
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
	[ "${LIB_QUIET:-0}" = 0 ] || exit "$rc"
	if [ "$failed" -gt 0 ] || [ "$passed" -eq 0 ]; then
		exit 1
	fi
	exit "$rc"
}
trap lib_cleanup EXIT
trap 'failed=$((failed + 1)); echo "not ok - interrupted"; exit 1' INT TERM

ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; }
check() { # NAME COMMAND...: the command succeeds
	name=$1
	shift
	if "$@" >/dev/null; then ok "$name"; else not_ok "$name"; fi
}
fatal() { not_ok "$1"; exit 1; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_until SECONDS COMMAND...: polls every 0.1 s; 0 when the command succeeded in time
wait_until() {
	limit=$(($1 * 10))
	shift
	i=0
	until "$@"; do
		i=$((i + 1))
		[ $i -ge $limit ] && return 1
		sleep 0.1
	done
	return 0
}

cert_id() { openssl x509 -in "$1" -outform DER | sha256sum | cut -c1-64; }

# --- PKI ---------------------------------------------------------------------------------
# make_pki: $work/pki/mqtt-{ca,server,client}.{pem,key}; the device CA in $work/pki/ca (openssl
# ca database), its certificate in $work/ca/device-ca.pem (jitrd's [ca] dir), its CRL in
# $work/crl/; another CA ($work/pki/other-ca.*) that jitrd does not know.
make_pki() {
	p=$work/pki
	mkdir -p "$p/db/new" "$work/ca" "$work/crl" "$work/devices"
	# MQTT TLS: a CA, the broker (localhost, 127.0.0.1) and jitrd's client certificate
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-keyout "$p/mqtt-ca.key" -out "$p/mqtt-ca.pem" -subj "/CN=jitrd test MQTT CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || return 1
	for who in server client; do
		if [ $who = server ]; then
			ext="subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
		else
			ext="extendedKeyUsage=clientAuth"
		fi
		printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n%s\n' \
			"$ext" >"$p/$who.ext"
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$p/mqtt-$who.key" -out "$p/$who.csr" -subj "/CN=jitrd-test-$who" \
			2>/dev/null || return 1
		openssl x509 -req -in "$p/$who.csr" -CA "$p/mqtt-ca.pem" -CAkey "$p/mqtt-ca.key" \
			-CAcreateserial -days 30 -extfile "$p/$who.ext" -out "$p/mqtt-$who.pem" \
			2>/dev/null || return 1
	done
	chmod 644 "$p"/*.key

	# The device CA, as an operator's openssl ca setup
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
		-keyout "$p/ca.key" -out "$work/ca/device-ca.pem" -subj "/O=Test Fleet/CN=Device CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || return 1
	: >"$p/db/index.txt"
	echo 1000 >"$p/db/serial"
	echo 01 >"$p/db/crlnumber"
	cat >"$p/ca.cnf" <<CNF
[ ca ]
default_ca = fleet
[ fleet ]
database = $p/db/index.txt
new_certs_dir = $p/db/new
serial = $p/db/serial
crlnumber = $p/db/crlnumber
certificate = $work/ca/device-ca.pem
private_key = $p/ca.key
default_md = sha256
default_days = 365
default_crl_days = 7
policy = any
crl_extensions = crl_ext
unique_subject = no
[ any ]
commonName = supplied
organizationName = optional
[ device ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
[ crl_ext ]
authorityKeyIdentifier = keyid
CNF
	# one key for the bulk devices (a CSR per name is what costs; the key may repeat)
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$p/device.key" \
		2>/dev/null || return 1
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n%s\n' \
		'extendedKeyUsage=clientAuth' >"$p/device.ext"
	# the CA nobody told jitrd about
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
		-keyout "$p/other-ca.key" -out "$p/other-ca.pem" -subj "/CN=Another Team CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || return 1
}

# device NAME [openssl ca options...]: $work/devices/NAME.pem signed by the device CA
device() {
	name=$1
	shift
	openssl req -new -key "$work/pki/device.key" -subj "/O=Test Fleet/CN=$name" \
		-out "$work/pki/$name.csr" 2>/dev/null &&
		openssl ca -batch -notext -config "$work/pki/ca.cnf" -extensions device "$@" \
			-in "$work/pki/$name.csr" -out "$work/devices/$name.pem" 2>/dev/null
}

# devices PREFIX COUNT: PREFIX-1 .. PREFIX-COUNT quickly (one CSR, one signature each)
devices() {
	prefix=$1
	openssl req -new -key "$work/pki/device.key" -subj "/O=Test Fleet/CN=$prefix" \
		-out "$work/pki/$prefix.csr" 2>/dev/null || return 1
	n=1
	while [ $n -le "$2" ]; do
		openssl x509 -req -in "$work/pki/$prefix.csr" -CA "$work/ca/device-ca.pem" \
			-CAkey "$work/pki/ca.key" -set_serial "0x$(openssl rand -hex 12)" -days 365 \
			-extfile "$work/pki/device.ext" -out "$work/devices/$prefix-$n.pem" \
			2>/dev/null || return 1
		n=$((n + 1))
	done
}

# other_device NAME: signed by the CA jitrd does not know
other_device() {
	openssl req -new -key "$work/pki/device.key" -subj "/CN=$1" -out "$work/pki/$1.csr" \
		2>/dev/null &&
		openssl x509 -req -in "$work/pki/$1.csr" -CA "$work/pki/other-ca.pem" \
			-CAkey "$work/pki/other-ca.key" -set_serial 7 -days 365 \
			-extfile "$work/pki/device.ext" -out "$work/devices/$1.pem" 2>/dev/null
}

revoke() { # NAME REASON|hold
	if [ "$2" = hold ]; then
		openssl ca -batch -config "$work/pki/ca.cnf" -revoke "$work/devices/$1.pem" \
			-crl_hold holdInstructionReject 2>/dev/null
	else
		openssl ca -batch -config "$work/pki/ca.cnf" -revoke "$work/devices/$1.pem" \
			-crl_reason "$2" 2>/dev/null
	fi
}

gencrl() { # the CA's CRL into $work/crl/device-ca.crl (replaced atomically)
	openssl ca -batch -config "$work/pki/ca.cnf" -gencrl -out "$work/pki/new.crl" \
		2>/dev/null && mv "$work/pki/new.crl" "$work/crl/device-ca.crl"
}

# --- peers -------------------------------------------------------------------------------
# start_mosquitto [persistence]: TLS listener $mq_tls (client certificates required) and a
# plain listener $mq_plain for the emulator; both on 127.0.0.1. Reuses the ports on restart.
# MQ_EXTRA_CONF: more lines for mosquitto.conf (e.g. an acl_file).
start_mosquitto() {
	[ -n "${mq_tls:-}" ] || mq_tls=$(free_port)
	[ -n "${mq_plain:-}" ] || mq_plain=$(free_port)
	mkdir -p "$work/mosquitto"
	cat >"$work/mosquitto/mosquitto.conf" <<CONF
user root
allow_anonymous true
persistence ${1:-false}
persistence_location $work/mosquitto/
autosave_interval 1
max_queued_messages 100000
max_inflight_messages 100
listener $mq_tls 127.0.0.1
cafile $work/pki/mqtt-ca.pem
certfile $work/pki/mqtt-server.pem
keyfile $work/pki/mqtt-server.key
require_certificate true
listener $mq_plain 127.0.0.1
${MQ_EXTRA_CONF:-}
CONF
	mosquitto -c "$work/mosquitto/mosquitto.conf" >>"$work/mosquitto/log" 2>&1 &
	mq_pid=$!
	wait_until 10 mosquitto_pub -h 127.0.0.1 -p "$mq_plain" -t jitrd-it/ping -m ping \
		2>/dev/null
}

stop_mosquitto() {
	kill "$mq_pid" 2>/dev/null
	wait "$mq_pid" 2>/dev/null
	mq_pid=""
}

# start_emulator [emulator options...]: $emu_url; without mosquitto started (no $mq_plain) the
# emulator publishes nothing, and /_emulator/connect answers the event instead
start_emulator() {
	"$EMULATOR" --listen 127.0.0.1:0 --region $REGION --account-id $ACCOUNT \
		--access-key-id $KEY_ID --secret-access-key $SECRET \
		${mq_plain:+--mqtt-url "tcp://127.0.0.1:$mq_plain"} "$@" >"$work/emu.out" \
		2>"$work/emu.err" &
	emu_pid=$!
	wait_until 10 grep -q 'listening on http://127.0.0.1:[0-9]' "$work/emu.out" || return 1
	emu_url=http://127.0.0.1:$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' \
		"$work/emu.out")
}

# aws_call METHOD PATH [JSON]: a SigV4-signed request to the emulator (curl signs it; curl
# 7.88 does not sort the query, so PATH must list its parameters sorted)
aws_call() {
	if [ $# -ge 3 ]; then
		curl -s --max-time 10 --aws-sigv4 "aws:amz:$REGION:iot" --user "$KEY_ID:$SECRET" \
			-X "$1" -H 'Content-Type: application/json' --data-binary "$3" "$emu_url$2"
	else
		curl -s --max-time 10 --aws-sigv4 "aws:amz:$REGION:iot" --user "$KEY_ID:$SECRET" \
			-X "$1" "$emu_url$2"
	fi
}

# register_ca CA.pem CA.key: the bring-your-own-CA workflow with a verification certificate
register_ca() {
	code=$(aws_call GET /registrationcode | jq -r .registrationCode)
	[ ${#code} -eq 64 ] || return 1
	openssl req -new -key "$work/pki/device.key" -subj "/CN=$code" -out "$work/pki/verify.csr" \
		2>/dev/null &&
		openssl x509 -req -in "$work/pki/verify.csr" -CA "$1" -CAkey "$2" -set_serial 99 \
			-days 1 -out "$work/pki/verify.pem" 2>/dev/null || return 1
	body=$(jq -n --rawfile ca "$1" --rawfile v "$work/pki/verify.pem" \
		'{caCertificate: $ca, verificationCertificate: $v}')
	aws_call POST '/cacertificate?allowAutoRegistration=true&setAsActive=true' "$body" |
		jq -e '.certificateId | length == 64' >/dev/null
}

# write_config: $work/jitrd.conf; POLICY_TEMPLATE, POLICY_NAME, THING_NAME, WORKERS,
# RECONCILE_SECONDS, DEADLINE_SECONDS and LIMIT (requests/s of every operation) change the
# defaults; with SQS_QUEUE_URL the events come from that queue (SQS_WAIT_SECONDS,
# SQS_VISIBILITY_SECONDS) instead of mosquitto
write_config() {
	[ -n "${status_port:-}" ] || status_port=$(free_port)
	if [ -n "${SQS_QUEUE_URL:-}" ]; then
		source_section="[sqs]
queue_url = $SQS_QUEUE_URL
wait_time_seconds = ${SQS_WAIT_SECONDS:-20}
visibility_timeout_seconds = ${SQS_VISIBILITY_SECONDS:-60}"
	else
		source_section="[mqtt]
url = ssl://localhost:$mq_tls
client_id = jitrd-integration
ca_file = pki/mqtt-ca.pem
cert_file = pki/mqtt-client.pem
key_file = pki/mqtt-client.key"
	fi
	cat >"$work/jitrd.conf" <<CONF
$source_section
[aws]
region = $REGION
endpoint = $emu_url
account_id = $ACCOUNT
[ca]
dir = ca
[crl]
dir = crl
reload_seconds = 0
[provision]
policy_template = ${POLICY_TEMPLATE:-$SOURCE_ROOT/policies/default.json}
policy_name = ${POLICY_NAME:-jitrd-device}
thing_name = ${THING_NAME:-}
[service]
state_dir = state
listen = 127.0.0.1:$status_port
log_format = json
workers = ${WORKERS:-4}
reconcile_seconds = ${RECONCILE_SECONDS:-0}
event_deadline_seconds = ${DEADLINE_SECONDS:-30}
[limits]
update_certificate = ${LIMIT:-1000}
describe_certificate = ${LIMIT:-1000}
create_policy = ${LIMIT:-1000}
attach_policy = ${LIMIT:-1000}
create_thing = ${LIMIT:-1000}
attach_thing_principal = ${LIMIT:-1000}
list_certificates_by_ca = ${LIMIT:-1000}
CONF
}

# launch_jitrd: `jitrd run` with the emulator's credentials, in the background ($jitrd_pid)
launch_jitrd() {
	(cd "$work" && exec env AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=$SECRET \
		AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		"$JITRD" run -c "$work/jitrd.conf" >>"$work/jitrd.log" 2>&1) &
	jitrd_pid=$!
}

# start_jitrd: launch_jitrd, then waits until /readyz says ready
start_jitrd() {
	launch_jitrd
	wait_until 30 ready
}

ready() { curl -s -f --max-time 2 "http://127.0.0.1:$status_port/readyz" >/dev/null; }

stop_jitrd() { # SIGNAL: 0 when jitrd exited with status 0
	kill -"${1:-TERM}" "$jitrd_pid" 2>/dev/null
	wait "$jitrd_pid"
	rc=$?
	jitrd_pid=""
	return $rc
}

metrics() { curl -s --max-time 5 "http://127.0.0.1:$status_port/metrics"; }

# metric_value 'NAME{LABELS}': the sample's value, 0 when absent
metric_value() {
	metrics | awk -v m="$1" '$1 == m { v = $2 } END { print v + 0 }'
}

log_events() { grep "\"event\":\"$1\"" "$work/jitrd.log"; } # EVENT: those log lines

connect() { # NAME: the device NAME connects (JITR); answer in $work/connect.json
	curl -s --max-time 20 -X POST --data-binary @"$work/devices/$1.pem" \
		"$emu_url/_emulator/connect" >"$work/connect.json"
}

# burst PREFIX COUNT [PARALLEL]: PREFIX-1..COUNT connect, PARALLEL (16) at a time; run it with &
# and keep $! in burst_pid so that cleanup stops it
burst() {
	seq 1 "$2" | xargs -P "${3:-16}" -I{} curl -s --max-time 60 -o /dev/null -X POST \
		--data-binary @"$work/devices/$1-{}.pem" "$emu_url/_emulator/connect"
}

state() { curl -s --max-time 10 "$emu_url/_emulator/state" >"$work/state.json"; }

status_of() { # NAME: the certificate's status in the emulator ("" when unknown)
	id=$(cert_id "$work/devices/$1.pem")
	state
	jq -r --arg id "$id" '.certificates[] | select(.certificateId == $id) | .status' \
		"$work/state.json"
}

# status_is NAME STATUS
status_is() { [ "$(status_of "$1")" = "$2" ]; }

# count_status PREFIX COUNT STATUS: how many of PREFIX-1..COUNT have STATUS (one state read)
count_status() {
	if [ ! -f "$work/ids-$1-$2" ]; then
		n=1
		while [ $n -le "$2" ]; do
			cert_id "$work/devices/$1-$n.pem"
			n=$((n + 1))
		done >"$work/ids-$1-$2"
	fi
	state
	jq -r --arg s "$3" --rawfile ids "$work/ids-$1-$2" \
		'[($ids | split("\n")) as $want | .certificates[] | select(.status == $s) |
		  select(.certificateId as $c | $want | index($c))] | length' "$work/state.json"
}

op_count() { # OPERATION: calls the emulator counted
	state
	jq -r --arg op "$1" '.counters.operations[$op] // 0' "$work/state.json"
}

# outcome_of NAME: the last outcome line's decision for the device
outcome_of() {
	id=$(cert_id "$work/devices/$1.pem")
	grep "\"certificateId\":\"$id\"" "$work/jitrd.log" | tail -n 1 | jq -r .decision
}

# --- SQS (moto) --------------------------------------------------------------------------
# start_moto SECONDS: moto's SQS on 127.0.0.1 for at most SECONDS ($moto_port; stop_moto)
start_moto() {
	python3 "$SOURCE_ROOT/tests/integration/sqs_helper.py" serve "$work/moto.port" "$1" \
		>"$work/moto.log" 2>&1 &
	moto_pid=$!
	wait_until 30 test -s "$work/moto.port" || return 1
	moto_port=$(cat "$work/moto.port")
}

stop_moto() {
	[ -n "${moto_pid:-}" ] && kill "$moto_pid" 2>/dev/null && wait "$moto_pid" 2>/dev/null
	moto_pid=""
}

# connect_events PREFIX N FOLDER: PREFIX-1..N connect (8 at a time); each event as the emulator
# answered it into FOLDER/<n>.json, for the queue as the IoT rule's SQS action would send it
connect_events() {
	mkdir -p "$3"
	seq 1 "$2" | xargs -P 8 -I{} sh -c "curl -s --max-time 30 -X POST \
		--data-binary @'$work/devices/$1-{}.pem' '$emu_url/_emulator/connect' |
		jq -c .event >'$3/{}.json'"
	[ "$(cat "$3"/*.json | grep -c certificateId)" = "$2" ]
}

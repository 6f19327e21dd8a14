# lib.sh — sourced by the shell tests of tests/cli and tests/operator once they have set `src`
# (JITRD_SOURCE_ROOT): the fixture PKI ($fx, JITRD_FIXTURES) and the date its certificates are
# checked at ($at); a work directory, removed on exit unless KEEP_WORK is set; the counts and their helpers (ok, not_ok,
# check, expect, give_up; each script prints "CASES <passed> <failed>" at its end); and for the
# tests against iot-emulator, start_emulator with the AWS CLI as the witness. Whatever runs in
# emu_pid, stub_pid or run_pid is stopped on exit. Loopback only; every wait bounded.
set -u
fx=${JITRD_FIXTURES:?}
at=2030-06-01T00:00:00Z
work=$(mktemp -d)
emu_pid=""
stub_pid=""
run_pid=""
passed=0
failed=0

cleanup() {
	for pid in $run_pid $stub_pid $emu_pid; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	[ -n "${KEEP_WORK:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; }
check() { # NAME COMMAND...: the command (a test) succeeds
	name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
# expect NAME STATUS PATTERN CMD...: CMD exits STATUS and its stdout+stderr matches PATTERN
expect() {
	name=$1 want=$2 pattern=$3
	shift 3
	"$@" >"$work/out" 2>&1
	got=$?
	if [ "$got" -eq "$want" ] && grep -Eq -- "$pattern" "$work/out"; then
		ok "$name"
	else
		not_ok "$name (exit $got, wanted $want; output:)"
		sed 's/^/    /' "$work/out" | head -20
	fi
}
give_up() { # MESSAGE: counts the case failed, shows the peers' stderr and stops
	echo "$1"
	for f in "$work"/*.err; do [ -f "$f" ] && { echo "== $f"; tail -20 "$f"; }; done
	echo "CASES $passed $((failed + 1))"
	exit 1
}

# ---- the emulator, and the AWS CLI as the witness ---------------------------------------------

# start_emulator IOT_EMULATOR KEY_ID SECRET: the emulator on a free loopback port (its URL in
# $url), account 123456789012 in us-east-1 with those credentials, which the AWS CLI's
# environment then holds; the test goes on in $work
start_emulator() {
	"$1" --listen 127.0.0.1:0 --region us-east-1 --account-id 123456789012 \
		--access-key-id "$2" --secret-access-key "$3" >"$work/emu.out" 2>"$work/emu.err" &
	emu_pid=$!
	i=0
	until grep -q 'listening on http://127.0.0.1:[0-9]' "$work/emu.out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -ge 100 ] && give_up "emulator did not start"
		sleep 0.1
	done
	port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/emu.out")
	url=http://127.0.0.1:$port
	export AWS_ACCESS_KEY_ID="$2" AWS_SECRET_ACCESS_KEY="$3" AWS_DEFAULT_REGION=us-east-1
	export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null
	export AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER="" AWS_MAX_ATTEMPTS=1
	unset AWS_SESSION_TOKEN AWS_PROFILE
	cd "$work" || give_up "cannot enter $work"
}
aws_iot() { /usr/bin/aws iot --endpoint-url "$url" --output json "$@"; }
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)'"$1"')'; }

# register_ca CA: the fixture CA $fx/cas/CA.pem registered the way an operator does, with a
# verification certificate whose CN is the registration code; active, auto-registration on.
# Gives up when it fails.
register_ca() {
	code=$(aws_iot get-registration-code | json_field '["registrationCode"]') ||
		give_up "GetRegistrationCode for $1 failed"
	openssl ecparam -name prime256v1 -genkey -noout -out "$work/verify-$1.key" 2>/dev/null
	openssl req -new -key "$work/verify-$1.key" -subj "/CN=$code" -out "$work/verify-$1.csr" \
		2>/dev/null
	openssl x509 -req -in "$work/verify-$1.csr" -CA "$fx/cas/$1.pem" -CAkey "$fx/keys/$1.key" \
		-CAcreateserial -CAserial "$work/$1.srl" -days 1 -sha256 \
		-out "$work/verify-$1.pem" 2>/dev/null
	aws_iot register-ca-certificate --ca-certificate "file://$fx/cas/$1.pem" \
		--verification-certificate "file://$work/verify-$1.pem" --set-as-active \
		--allow-auto-registration >/dev/null || give_up "RegisterCACertificate of $1 failed"
}

# The fixture devices ($fx/devices/NAME.pem) as AWS IoT sees them.
id_of() { openssl x509 -in "$fx/devices/$1.pem" -outform DER | sha256sum | cut -c1-64; }
connect() { curl -sf -X POST --data-binary "@$fx/devices/$1.pem" "$url/_emulator/connect" >/dev/null; }
event() { # DEVICE [CA_ID]: the registration event AWS publishes for it (CA_ID: $ca_id)
	printf '{"certificateId":"%s","caCertificateId":"%s","timestamp":1700000000000,' "$(id_of "$1")" "${2:-$ca_id}"
	printf '"certificateStatus":"PENDING_ACTIVATION","awsAccountId":"123456789012",'
	printf '"certificateRegistrationTimestamp":"1700000000000"}\n'
}
status_of() { aws_iot describe-certificate --certificate-id "$(id_of "$1")" | json_field '["certificateDescription"]["status"]'; }

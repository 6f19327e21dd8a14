#!/bin/sh
# test-crl-points.sh JITRD EMULATOR — [crl] distribution_points = all, no [crl] url and an
# empty [crl] dir: jitrd starts without any CRL (not ready); a device whose certificate names
# the CA's publication point (tests/aws/crl_server.py) in its CRL Distribution Points connects,
# is deferred (no CRL), its point becomes a source, the CRL is fetched, and the retry of the
# same event activates it, with no SIGHUP. Prints "CASES <passed> <failed>".
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib.sh"

srv_pid=""
trap '[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null; lib_cleanup' EXIT

make_pki && gencrl || fatal "PKI"
mkdir -p "$work/pub"
mv "$work/crl/device-ca.crl" "$work/pub/device-ca.crl"
python3 "$SOURCE_ROOT/tests/aws/crl_server.py" --dir "$work/pub" --lifetime 200 \
	>"$work/crl-server.out" 2>"$work/crl-server.log" &
srv_pid=$!
srv_up() { grep -q '^PORT ' "$work/crl-server.out"; }
wait_until 10 srv_up || fatal "crl_server.py starts"
url="http://127.0.0.1:$(awk '/^PORT/ { print $2 }' "$work/crl-server.out")/files/device-ca.crl"
printf '[ device_cdp ]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth\ncrlDistributionPoints = URI:%s\n' \
	"$url" >>"$work/pki/ca.cnf"
openssl req -new -key "$work/pki/device.key" -subj "/O=Test Fleet/CN=pointed" \
	-out "$work/pki/pointed.csr" 2>/dev/null &&
	openssl ca -batch -notext -config "$work/pki/ca.cnf" -extensions device_cdp \
		-in "$work/pki/pointed.csr" -out "$work/devices/pointed.pem" 2>/dev/null ||
	fatal "device with a CRL distribution point"
start_mosquitto || fatal "mosquitto starts"
start_emulator || fatal "emulator starts"
register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" || fatal "device CA registered"
write_config
export JITRD_CRL_DISTRIBUTION_POINTS=all JITRD_CRL_FETCH_TIMEOUT_SECONDS=5

launch_jitrd
started() { log_events service.started >/dev/null; }
check "jitrd starts with no CRL at all" wait_until 30 started
ready && not_ok "not ready without a CRL" || ok "not ready without a CRL"
check "no CRL was fetched yet" [ "$(grep -c 'GET /files' "$work/crl-server.log")" = 0 ]
connect pointed
deferred() { grep '"decision":"defer"' "$work/jitrd.log" | grep -q '"subject_cn":"pointed"'; }
check "the device is deferred first (no CRL)" wait_until 20 deferred
fetched() { log_events crl.fetch | grep -F "$url" | grep -q '"outcome":"new"'; }
check "its distribution point is fetched" wait_until 20 fetched
check "the retry of the same event activates it" wait_until 40 status_is pointed ACTIVE
check "now ready" wait_until 10 ready
check "SIGTERM: exit 0" stop_jitrd TERM

#!/bin/sh
# bench-ocsp.sh BENCH_OCSP [ROUNDS] — runs bench_ocsp against a real `openssl ocsp` responder:
# the OCSP test PKI (tests/fixtures/ocsp-pki.sh), the responder on a loopback port with the
# delegated responder certificate, two configurations over the same CA and current CRL
# ([ocsp] mode = off, and mode = require with that responder). `openssl ocsp -port` listens on
# every address, so all of it runs in a private network namespace whose only interface is
# loopback (skipped, 77, where none can be made). The responder stops itself after 300 s and
# is killed at exit; the work directory is removed.
set -u
if [ -z "${OCSP_BENCH_NETNS:-}" ]; then
	if unshare -rn sh -c 'ip link set lo up' 2>/dev/null; then
		OCSP_BENCH_NETNS=1 exec unshare -rn sh -c 'ip link set lo up && exec sh "$0" "$@"' \
			"$0" "$@"
	fi
	echo "SKIP: no private network namespace (unshare -rn) for openssl ocsp -port"
	exit 77
fi
bench=$(realpath "$1")
rounds=${2:-500}
src=${JITRD_SOURCE_ROOT:?}
work=$(mktemp -d)
responder=""
cleanup() {
	[ -n "$responder" ] && kill "$responder" 2>/dev/null && wait "$responder" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pki=$work/pki
sh "$src/tests/fixtures/ocsp-pki.sh" "$pki" "http://127.0.0.1:$port/" || exit 1
timeout 300 openssl ocsp -index "$pki/index.txt" -port "$port" -CA "$pki/cas/ca.pem" \
	-rsigner "$pki/responder.pem" -rkey "$pki/responder.key" -ndays 1 \
	>"$work/ocsp.out" 2>"$work/ocsp.err" &
responder=$!
i=0
until grep -q 'waiting for OCSP client connections' "$work/ocsp.err" 2>/dev/null; do
	i=$((i + 1))
	[ $i -ge 50 ] && { echo "openssl ocsp did not start"; exit 1; }
	sleep 0.1
done
# The same CA, current CRL and templates; require names the responder for every CA, since
# the second device (noaia) carries no Authority Information Access.
for mode in off require; do
	{
		printf '[aws]\naccount_id = 123456789012\n[ca]\ndir = %s\n[crl]\ndir = %s\n' \
			"$pki/cas" "$pki/crl"
		printf '[ocsp]\nmode = %s\n' "$mode"
		[ "$mode" = require ] && printf 'responder = http://127.0.0.1:%s/\n' "$port"
		printf '[provision]\npolicy_template = %s\n[service]\nstate_dir = %s\n' \
			"$src/policies/default.json" "$work"
	} >"$work/$mode.conf"
done
"$bench" "$work/off.conf" "$work/require.conf" "$pki/devices/good.pem" \
	"$pki/devices/noaia.pem" "$rounds"

#!/bin/sh
# bench-ocsp.sh BENCH_OCSP [ROUNDS] — runs bench_ocsp against a real `openssl ocsp` responder:
# the OCSP test PKI (tests/fixtures/ocsp-pki.sh), the responder on a loopback port with the
# delegated responder certificate, two configurations over the same CA and current CRL
# ([ocsp] mode = off, and mode = require with that responder). `openssl ocsp -port` listens on
# every address, so all of it runs in a private network namespace whose only interface is
# loopback (skipped, 77, where none can be made). The responder stops itself after 300 s and
# is killed at exit; the work directory is removed.
set -u
. "${JITRD_SOURCE_ROOT:?}/tests/fixtures/ocsp-responder.sh"
ocsp_in_netns "$0" "$@"
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

port=$(ocsp_free_port)
pki=$work/pki
sh "$src/tests/fixtures/ocsp-pki.sh" "$pki" "http://127.0.0.1:$port/" || exit 1
ocsp_start_responder "$pki" "$port" "$work/ocsp" 300 || { echo "openssl ocsp did not start"; exit 1; }
responder=$ocsp_pid
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

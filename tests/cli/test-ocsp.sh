#!/bin/sh
# test-ocsp.sh JITRD IOT_EMULATOR — [ocsp] end to end: `jitrd handle` against the emulator
# with a real `openssl ocsp` responder (index file, delegated responder certificate). fallback
# without a CRL: good activated, revoked revoked, certificateHold held, unknown deferred; the
# responder down: deferred, the reason naming the responder without userinfo or query; require
# with a CRL that lists nothing: a device OCSP says is revoked is revoked. The AWS CLI is the
# witness. `openssl ocsp -port` listens on every address, so the test runs in a private network
# namespace whose only interface is loopback (skipped, 77, where one cannot be made); the
# responder stops itself after 120 s and is killed at exit.
. "${JITRD_SOURCE_ROOT:?}/tests/fixtures/ocsp-responder.sh"
ocsp_in_netns "$0" "$@"
jitrd=$(realpath "$1")
src=${JITRD_SOURCE_ROOT:?}
. "$src/tests/cli/lib.sh"

oport=$(ocsp_free_port)
pki=$work/pki
sh "$src/tests/fixtures/ocsp-pki.sh" "$pki" "http://127.0.0.1:$oport/" ||
	give_up "ocsp-pki.sh failed"
fx=$pki # lib.sh's register_ca, connect, id_of, event and status_of read this PKI

# start_responder: openssl ocsp on $oport for the PKI; stops by itself after 120 s
start_responder() {
	ocsp_start_responder "$pki" "$oport" "$work/ocsp" 120 || give_up "openssl ocsp did not start"
	stub_pid=$ocsp_pid
}
stop_responder() {
	kill "$stub_pid" 2>/dev/null && wait "$stub_pid" 2>/dev/null
	stub_pid=""
}

start_emulator "$2" AKIDOCSPTEST ocsp/test+secret
register_ca ca
ca_id=$(openssl x509 -in "$pki/cas/ca.pem" -outform DER | sha256sum | cut -c1-64)
for d in good revoked held unknown noaia; do
	connect "$d" || give_up "connect $d failed"
done
mkdir -p "$work/nocrl" "$work/state"

# write_config MODE CRL_DIR [RESPONDER]
write_config() {
	{
		printf '[aws]\nregion = us-east-1\naccount_id = 123456789012\nendpoint = %s\n' "$url"
		printf '[ca]\ndir = %s\nallow = %s\n[crl]\ndir = %s\n' "$pki/cas" "$ca_id" "$2"
		printf '[ocsp]\nmode = %s\nresponder = %s\ntimeout_seconds = 3\n' "$1" "${3:-}"
		printf '[provision]\npolicy_template = %s\npolicy_name = jitrd-device\n' \
			"$src/policies/default.json"
		printf '[service]\nstate_dir = %s\nlog_format = json\n' "$work/state"
	} >jitrd.conf
}
# outcome FILE N: "decision: reason" of the N-th outcome line (0-based)
outcome() {
	python3 -c '
import json, sys
o = json.loads(open(sys.argv[1]).readlines()[int(sys.argv[2])])
print(o["decision"] + ": " + o["reason"])' "$1" "$2"
}

start_responder
write_config fallback "$work/nocrl"
for d in good revoked held unknown; do event "$d"; done >events.jsonl
"$jitrd" handle -c jitrd.conf - <events.jsonl >fallback.out 2>fallback.err
i=0
for expected in "good|activate: no current CRL; OCSP: good|ACTIVE" \
	"revoked|revoke: OCSP: revoked: keyCompromise|REVOKED" \
	"held|hold: OCSP: certificateHold|INACTIVE" \
	"unknown|defer: OCSP: unknown|PENDING_ACTIVATION"; do
	d=${expected%%|*} rest=${expected#*|}
	want=${rest%|*} status=${rest##*|}
	got=$(outcome fallback.out $i)
	check "fallback, no CRL, $d: $want ($got)" [ "$got" = "$want" ]
	check "$d is $status" [ "$(status_of "$d")" = "$status" ]
	i=$((i + 1))
done
"$jitrd" check -c jitrd.conf "$pki/devices/good.pem" >check.out 2>check.err
check "check stays offline: defer, saying so ($(outcome check.out 0))" \
	grep -q '"decision":"defer".*`jitrd check` is offline' check.out

stop_responder
write_config fallback "$work/nocrl" "http://user:hunter2@127.0.0.1:$oport/ocsp?sig=topsecret"
"$jitrd" config-check -c jitrd.conf >config-check.out 2>&1
check "config-check: a CA without CRL is judged by OCSP, not a problem" \
	grep -q "crl for CA $ca_id: none valid (its devices are judged by OCSP)" config-check.out
check "config-check names the responder without userinfo or query" \
	sh -c "grep -qx 'ocsp for CA $ca_id: http://127.0.0.1:$oport/ocsp' config-check.out &&
		grep -qx 'configuration OK' config-check.out && ! grep -q hunter2 config-check.out"
event unknown >down.json
"$jitrd" handle -c jitrd.conf down.json >down.out 2>down.err
check "responder down: deferred, naming it ($(outcome down.out 0))" \
	sh -c "outcome_line=\$(head -1 down.out); case \"\$outcome_line\" in
		*'\"decision\":\"defer\"'*'127.0.0.1:$oport/ocsp'*) exit 0;; esac; exit 1"
check "no userinfo or query of the responder URL in any output" \
	sh -c '! grep -Eq "hunter2|topsecret|sig=" down.out down.err'
check "unknown still PENDING_ACTIVATION" [ "$(status_of unknown)" = PENDING_ACTIVATION ]

# The CA revokes noaia: only OCSP knows, the CRL (current) lists nothing.
sed -i 's/^V\t\(491231235959Z\)\t\t1005\t/R\t\1\t'"$(date -u +%y%m%d%H%M%SZ)"',keyCompromise\t1005\t/' \
	"$pki/index.txt"
check "the index now revokes noaia" grep -q 'keyCompromise	1005' "$pki/index.txt"
start_responder
write_config require "$pki/crl" "http://127.0.0.1:$oport/"
event noaia >require.json
"$jitrd" handle -c jitrd.conf require.json >require.out 2>require.err
check "require, CRL lists nothing, OCSP revoked: revoked ($(outcome require.out 0))" \
	[ "$(outcome require.out 0)" = "revoke: OCSP: revoked: keyCompromise" ]
check "noaia is REVOKED" [ "$(status_of noaia)" = REVOKED ]
# unknown again, the responder up: still unknown, still deferred under require
event unknown >again.json
"$jitrd" handle -c jitrd.conf again.json >again.out 2>again.err
check "require, unknown: deferred ($(outcome again.out 0))" \
	[ "$(outcome again.out 0)" = "defer: OCSP: unknown" ]
stop_responder

echo "CASES $passed $failed"
[ "$failed" -eq 0 ]

#!/bin/sh
# test-operator.sh JITRD IOT_EMULATOR MKFLEET — the operator commands (DESIGN §4.6) against the
# emulator, with the AWS CLI as the witness: ca register (accepted by the emulator's
# verification check; key file mode and key/CA mismatch refused), ca deactivate
# --revoke-certificates over 3,000 certificates with a SIGTERM midway (calls counted by the
# emulator, the configured rate honoured), crl sweep (dry run, revoke, hold, lift), cert
# revoke/activate. CAs and CRLs are made here with the OpenSSL CLI for the current time, since
# the emulator and the sweep use the real clock. Loopback only; every wait bounded; the
# emulator and any jitrd left running are stopped on exit.
jitrd=$(realpath "$1")
mkfleet=$(realpath "$3")
src=${JITRD_SOURCE_ROOT:?}
. "$src/tests/cli/lib.sh"
now() { date +%s.%N; }

start_emulator "$2" AKIDOPERATORTEST operator/test+secret
cert_id() { openssl x509 -in "$1" -outform DER | sha256sum | cut -c1-64; }
status_of_id() { aws_iot describe-certificate --certificate-id "$1" | json_field '["certificateDescription"]["status"]'; }
update_calls() {
	curl -sf "$url/_emulator/state" |
		json_field '["counters"]["operations"].get("UpdateCertificate", 0)'
}
statuses_of_ca() { # CA_ID: "STATUS=count ..." over every page (the CLI pages by itself, unless
	# given --page-size, which turns its paging off)
	aws_iot list-certificates-by-ca --ca-certificate-id "$1" | python3 -c '
import collections, json, sys
c = collections.Counter(x["status"] for x in json.load(sys.stdin)["certificates"])
print(" ".join("%s=%d" % kv for kv in sorted(c.items())))'
}

# ---- a test PKI for now: CAs made with the OpenSSL CLI, one openssl ca home each -------------
cd "$work" || exit 1
. "$src/tests/operator/pki.sh"
for ca in fleet crash sweep plain other; do
	make_ca $ca "Operator Test $ca CA" || give_up "cannot make CA $ca"
done

mkdir -p cas-sweep crls-sweep cas-plain crls-empty state
cp sweep/ca.pem cas-sweep/
cp plain/ca.pem cas-plain/
write_conf() { # FILE CA_DIR CRL_DIR
	{
		printf '[aws]\nregion = us-east-1\naccount_id = 123456789012\nendpoint = %s\n' "$url"
		printf '[ca]\ndir = %s\n[crl]\ndir = %s\n' "$2" "$3"
		printf '[provision]\npolicy_template = %s\npolicy_name = jitrd-device\n' \
			"$src/policies/default.json"
		printf '[service]\nstate_dir = %s/state\nworkers = 4\n' "$work"
		printf '[limits]\nupdate_certificate = 200\n'
	} >"$1"
}
write_conf sweep.conf "$work/cas-sweep" "$work/crls-sweep"
write_conf plain.conf "$work/cas-plain" "$work/crls-empty"

# ---- jitrd ca register -------------------------------------------------------------------------
for cmd in "ca register" "ca deactivate" "cert revoke" "cert activate" "crl sweep"; do
	# shellcheck disable=SC2086
	"$jitrd" $cmd --help >help.out 2>&1
	check "jitrd $cmd --help exits 0 with its usage" \
		sh -c "[ $? -eq 0 ] && grep -q '^usage: ' help.out && grep -q 'jitrd $cmd -c FILE' help.out"
done

: >before.ls
sleep 0.01
"$jitrd" ca register -c plain.conf --ca-cert fleet/ca.pem --ca-key fleet/ca.key --activate \
	--auto-registration >register.out 2>register.err
check "ca register --activate --auto-registration exits 0" [ $? -eq 0 ]
fleet_id=$(cert_id fleet/ca.pem)
check "ca register prints the CA id" [ "$(cat register.out)" = "$fleet_id" ]
ca_state() { # CA_ID: "STATUS AUTOREGISTRATION"
	aws_iot describe-ca-certificate --certificate-id "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)["certificateDescription"]
print(d["status"], d["autoRegistrationStatus"])'
}
check "the emulator accepted it: ACTIVE, auto-registration ENABLE" \
	[ "$(ca_state "$fleet_id")" = "ACTIVE ENABLE" ]
check "no verification key or certificate written to the working directory" \
	[ -z "$(find . -newer before.ls -type f ! -name 'register.*')" ]

"$jitrd" ca register -c plain.conf --ca-cert plain/ca.pem --ca-key plain/ca.key \
	>plain.out 2>plain.err
plain_id=$(cert_id plain/ca.pem)
check "ca register without flags: INACTIVE, auto-registration DISABLE" \
	[ "$(ca_state "$plain_id")" = "INACTIVE DISABLE" ]

count_cas() { aws_iot list-ca-certificates | json_field '["certificates"].__len__()'; }
cas_before=$(count_cas)
cp other/ca.key other-0644.key
chmod 644 other-0644.key
"$jitrd" ca register -c plain.conf --ca-cert other/ca.pem --ca-key other-0644.key \
	>/dev/null 2>mode.err
check "a CA key file with mode 0644 is refused (exit 2, says why)" \
	sh -c "[ $? -eq 2 ] && grep -q 'other-0644.key: mode 0644' mode.err && grep -q 'chmod 600' mode.err"
"$jitrd" ca register -c plain.conf --ca-cert other/ca.pem --ca-key fleet/ca.key \
	>/dev/null 2>mismatch.err
check "a key that is not the CA's is refused (exit 2)" \
	sh -c "[ $? -eq 2 ] && grep -q \"not the CA certificate's key\" mismatch.err"
check "nothing was registered by the refused attempts" [ "$(count_cas)" = "$cas_before" ]
check "the key bytes never appear in a message" \
	sh -c "! grep -q 'PRIVATE' mode.err mismatch.err register.err"
"$jitrd" ca register -c plain.conf --ca-cert fleet/ca.pem --ca-key fleet/ca.key \
	>/dev/null 2>again.err
check "registering the same CA again fails with AWS's error (exit 1)" \
	sh -c "[ $? -eq 1 ] && grep -q 'ResourceAlreadyExistsException' again.err"
"$jitrd" ca register -c sweep.conf --ca-cert sweep/ca.pem --ca-key sweep/ca.key --activate \
	>/dev/null 2>sweep-register.err || give_up "cannot register the sweep CA"
sweep_id=$(cert_id sweep/ca.pem)

# ---- 3,000 certificates revoked with a SIGTERM midway ------------------------------------------
n=3000
rate=200
t0=$(now)
"$mkfleet" "$url" fleet/ca.pem fleet/ca.key $n 1 fleet.ids 2>mkfleet.err ||
	give_up "mkfleet failed"
t1=$(now)
echo "# registered $n certificates in $(python3 -c "print(round($t1 - $t0, 1))") s"
check "$n certificates registered ACTIVE under the fleet CA" \
	[ "$(statuses_of_ca "$fleet_id")" = "ACTIVE=$n" ]

calls_before=$(update_calls)
start1=$(now)
"$jitrd" ca deactivate -c plain.conf "$fleet_id" --revoke-certificates >run1.out 2>run1.err &
run_pid=$!
i=0
while [ $(($(update_calls) - calls_before)) -lt 1000 ]; do
	i=$((i + 1))
	[ $i -ge 600 ] && give_up "no progress in 60 s"
	kill -0 $run_pid 2>/dev/null || break
	sleep 0.1
done
kill -TERM $run_pid
wait $run_pid
status1=$?
run_pid=""
end1=$(now)
check "SIGTERM midway: exit 1 with 'interrupted, run again to resume'" \
	sh -c "[ $status1 -eq 1 ] && grep -q 'interrupted, run again to resume' run1.err"
mid=$(statuses_of_ca "$fleet_id")
echo "# after the interruption: $mid"
check "the interruption left work to do ($mid)" \
	python3 -c "import sys; d=dict(x.split('=') for x in '$mid'.split()); sys.exit(not (0 < int(d.get('REVOKED',0)) < $n))"
check "the CA is INACTIVE after the first run" \
	[ "$(aws_iot describe-ca-certificate --certificate-id "$fleet_id" | json_field '["certificateDescription"]["status"]')" = INACTIVE ]

start2=$(now)
"$jitrd" ca deactivate -c plain.conf "$fleet_id" --revoke-certificates >run2.out 2>run2.err
status2=$?
end2=$(now)
calls=$(($(update_calls) - calls_before))
check "the second run resumes and exits 0" [ $status2 -eq 0 ]
check "its summary: $n revoked, none failed, part of them by the earlier run" \
	sh -c "grep -q '$n certificate(s): revoked $n, already revoked 0, failed 0 ([0-9]* of the revoked by an earlier' run2.out"
check "all $n certificates are REVOKED" [ "$(statuses_of_ca "$fleet_id")" = "REVOKED=$n" ]
limit=$((n + n / 50))
check "UpdateCertificate calls $calls <= $limit (at most 2% over $n)" [ "$calls" -le $limit ]
elapsed=$(python3 -c "print(round(($end1 - $start1) + ($end2 - $start2), 2))")
# Each run starts with a full bucket (burst = one second of traffic), so n calls in two runs
# take at least (n - 2 * rate) / rate seconds.
min_elapsed=$(python3 -c "print(($n - 2 * $rate) / $rate)")
echo "# $calls UpdateCertificate calls for $n certificates in $elapsed s of running ($(python3 -c "print(round($calls / $elapsed))")/s, limit $rate/s)"
check "the rate limit was honoured: $elapsed s >= $min_elapsed s" \
	python3 -c "import sys; sys.exit(not ($elapsed >= $min_elapsed))"
"$jitrd" ca deactivate -c plain.conf "$fleet_id" --revoke-certificates >run3.out 2>run3.err
check "a third run finds them all already revoked, without an UpdateCertificate" \
	sh -c "[ $? -eq 0 ] && grep -q 'revoked 0, already revoked $n, failed 0' run3.out && [ \$(($(update_calls) - calls_before)) -eq $calls ]"

# ---- a crash (kill -9) midway: the second run redoes at most the requests in flight ----------
"$jitrd" ca register -c plain.conf --ca-cert crash/ca.pem --ca-key crash/ca.key --activate \
	>/dev/null 2>crash-register.err || give_up "cannot register the crash CA"
crash_id=$(cert_id crash/ca.pem)
m=600
"$mkfleet" "$url" crash/ca.pem crash/ca.key $m 1 crash.ids 2>mkfleet-crash.err ||
	give_up "mkfleet (crash) failed"
calls_before=$(update_calls)
"$jitrd" ca deactivate -c plain.conf "$crash_id" --revoke-certificates >crash1.out 2>crash1.err &
run_pid=$!
i=0
while [ $(($(update_calls) - calls_before)) -lt 200 ]; do
	i=$((i + 1))
	[ $i -ge 600 ] && give_up "no progress in 60 s (crash run)"
	sleep 0.05
done
kill -KILL $run_pid
wait $run_pid 2>/dev/null
run_pid=""
"$jitrd" ca deactivate -c plain.conf "$crash_id" --revoke-certificates >crash2.out 2>crash2.err
st=$?
calls=$(($(update_calls) - calls_before))
echo "# kill -9 midway: $calls UpdateCertificate calls for $m certificates"
check "after kill -9 the second run completes: all $m REVOKED, exit 0" \
	sh -c "[ $st -eq 0 ] && [ '$(statuses_of_ca "$crash_id")' = 'REVOKED=$m' ]"
check "after kill -9 at most the 4 requests in flight were sent again ($calls <= $((m + 4)))" \
	[ "$calls" -le $((m + 4)) ]

# ---- crl sweep ---------------------------------------------------------------------------------
mkdir -p sweep-pems
"$mkfleet" "$url" sweep/ca.pem sweep/ca.key 20 4096 sweep.ids sweep-pems 2>mkfleet2.err ||
	give_up "mkfleet (sweep) failed"
id_of_dev() { sed -n "$(($1 + 1))p" sweep.ids | cut -d' ' -f1; }
gencrl() {
	openssl ca -batch -config sweep/ca.cnf -gencrl -out crls-sweep/sweep.crl.pem 2>>openssl.err
}
gencrl || give_up "cannot make the first CRL"
"$jitrd" crl sweep -c sweep.conf >sweep0.out 2>sweep0.err
check "a sweep against an empty CRL changes nothing, exit 0, describes the 20 once" \
	sh -c "[ $? -eq 0 ] && [ ! -s sweep0.out ] && grep -q '20 certificate(s) checked (20 described)' sweep0.err"

openssl ca -batch -config sweep/ca.cnf -revoke sweep-pems/dev-3.pem -crl_reason keyCompromise 2>>openssl.err
openssl ca -batch -config sweep/ca.cnf -revoke sweep-pems/dev-7.pem -crl_reason superseded 2>>openssl.err
openssl ca -batch -config sweep/ca.cnf -revoke sweep-pems/dev-11.pem -crl_hold holdInstructionReject 2>>openssl.err
gencrl || give_up "cannot make the second CRL"
# dev-15 is made INACTIVE by someone else: the sweep must never re-activate it
aws_iot update-certificate --certificate-id "$(id_of_dev 15)" --new-status INACTIVE ||
	give_up "cannot deactivate dev-15"

"$jitrd" crl sweep -c sweep.conf --dry-run >dry.out 2>dry.err
check "dry run: exit 0, three 'would' lines" \
	sh -c "[ $? -eq 0 ] && [ \$(grep -c '^would ' dry.out) -eq 3 ] && [ \$(wc -l <dry.out) -eq 3 ]"
check "dry run changed nothing" [ "$(statuses_of_ca "$sweep_id")" = "ACTIVE=19 INACTIVE=1" ]
"$jitrd" crl sweep -c sweep.conf >sweep1.out 2>sweep1.err
check "sweep: exit 0, one line per change, three changes" \
	sh -c "[ $? -eq 0 ] && [ \$(wc -l <sweep1.out) -eq 3 ]"
check "dev-3 REVOKED (keyCompromise)" [ "$(status_of_id "$(id_of_dev 3)")" = REVOKED ]
check "dev-7 REVOKED (superseded)" [ "$(status_of_id "$(id_of_dev 7)")" = REVOKED ]
check "dev-11 INACTIVE (certificateHold)" [ "$(status_of_id "$(id_of_dev 11)")" = INACTIVE ]
check "exactly those changed: 16 ACTIVE, 2 REVOKED, 2 INACTIVE" \
	[ "$(statuses_of_ca "$sweep_id")" = "ACTIVE=16 INACTIVE=2 REVOKED=2" ]
check "the lines name the certificates and reasons" sh -c "
	grep -q 'revoke $(id_of_dev 3) serial 1003 (CRL: keyCompromise): REVOKED' sweep1.out &&
	grep -q 'hold $(id_of_dev 11) serial 100b (CRL: certificateHold): INACTIVE' sweep1.out"
"$jitrd" crl sweep -c sweep.conf >sweep2.out 2>sweep2.err
check "a second sweep changes nothing and describes nothing (inventory)" \
	sh -c "[ $? -eq 0 ] && [ ! -s sweep2.out ] && grep -q '(0 described)' sweep2.err"

sed -i '/\/CN=fleet-device-11\(\/\|$\)/d' sweep/index.txt
gencrl || give_up "cannot make the third CRL"
# Without [aws] account_id (as in the sample config): the templates' {{aws.account}} comes
# from the certificate's ARN.
sed '/^account_id/d' sweep.conf >sweep-noaccount.conf
"$jitrd" crl sweep -c sweep-noaccount.conf >lift.out 2>lift.err
check "the hold lifted: dev-11 re-activated, one line, exit 0" \
	sh -c "[ $? -eq 0 ] && [ \$(wc -l <lift.out) -eq 1 ] && grep -q 're-activate $(id_of_dev 11) .*: ACTIVE' lift.out"
check "dev-11 is ACTIVE" [ "$(status_of_id "$(id_of_dev 11)")" = ACTIVE ]
check "dev-11 has its policy (it was held before it ever got one)" \
	[ "$(aws_iot list-attached-policies --target "arn:aws:iot:us-east-1:123456789012:cert/$(id_of_dev 11)" | json_field '["policies"][0]["policyName"]')" = jitrd-device ]
check "dev-15, made INACTIVE by someone else, stays INACTIVE" \
	[ "$(status_of_id "$(id_of_dev 15)")" = INACTIVE ]

write_conf nocrl.conf "$work/cas-sweep" "$work/crls-empty"
"$jitrd" crl sweep -c nocrl.conf >nocrl.out 2>nocrl.err
check "a CA without a CRL: nothing done, said so, exit 1" \
	sh -c "[ $? -eq 1 ] && [ ! -s nocrl.out ] && grep -q 'CA $sweep_id .*no valid CRL' nocrl.err"

# ---- cert revoke / activate --------------------------------------------------------------------
d0=$(id_of_dev 0)
d1=$(id_of_dev 1)
"$jitrd" cert revoke -c sweep.conf "$d1" not-an-id >badid.out 2>badid.err
st=$?
check "an invalid id is refused before any call (exit 2)" \
	sh -c "[ $st -eq 2 ] && grep -q 'not-an-id: not a certificate id' badid.err && [ $(status_of_id "$d1") = ACTIVE ]"
"$jitrd" cert revoke -c sweep.conf "$d0" >revoke.out 2>revoke.err
st=$?
check "cert revoke: exit 0, REVOKED" \
	sh -c "[ $st -eq 0 ] && grep -q '$d0: REVOKED' revoke.out && [ $(status_of_id "$d0") = REVOKED ]"
"$jitrd" cert activate -c sweep.conf "$d0" >act.out 2>act.err
st=$?
check "activating a REVOKED certificate fails with CertificateStateException (exit 1)" \
	sh -c "[ $st -eq 1 ] && grep -q 'CertificateStateException' act.err && [ $(status_of_id "$d0") = REVOKED ]"
"$jitrd" cert activate -c sweep.conf "$(id_of_dev 15)" "$d0" >act2.out 2>act2.err
st=$?
check "cert activate of several: the INACTIVE one ACTIVE, the REVOKED one fails, exit 1" \
	sh -c "[ $st -eq 1 ] && [ $(status_of_id "$(id_of_dev 15)") = ACTIVE ] && grep -q CertificateStateException act2.err"

echo "CASES $passed $failed"
[ "$failed" -eq 0 ]

#!/bin/sh
# test-register.sh JITRD IOT_EMULATOR MKFLEET — `jitrd cert register` against the emulator, with
# the AWS CLI as the witness: a mix of good, revoked-by-CRL, expired, foreign-CA, already
# registered (ACTIVE, INACTIVE, REVOKED) and hostile inputs gives an exact summary and states;
# a rerun skips what is done; a kill -9 midway then a rerun registers every certificate once
# (plus at most the ones in flight, found again as already registered); SIGTERM stops cleanly
# and resumes; an empty directory is refused. CAs and CRLs are made here for the current time.
# Loopback only; every wait bounded; the emulator and any jitrd left running are stopped.
jitrd=$(realpath "$1")
mkfleet=$(realpath "$3")
src=${JITRD_SOURCE_ROOT:?}
. "$src/tests/cli/lib.sh"

start_emulator "$2" AKIDREGISTERTEST register/test+secret
. "$src/tests/operator/pki.sh"
cert_id() { openssl x509 -in "$1" -outform DER | sha256sum | cut -c1-64; }
op_calls() { # OPERATION: how many calls of it the emulator answered
	curl -sf "$url/_emulator/state" |
		json_field '["counters"]["operations"].get("'"$1"'", 0)'
}
status_of() { # PEM: its status in AWS IoT, or NOTFOUND
	aws_iot describe-certificate --certificate-id "$(cert_id "$1")" 2>/dev/null |
		json_field '["certificateDescription"]["status"]' 2>/dev/null || echo NOTFOUND
}
policies_of() { # PEM: the policies attached to it, by name
	arn=$(aws_iot describe-certificate --certificate-id "$(cert_id "$1")" |
		json_field '["certificateDescription"]["certificateArn"]')
	aws_iot list-attached-policies --target "$arn" | python3 -c '
import json, sys
print(" ".join(p["policyName"] for p in json.load(sys.stdin)["policies"]))'
}
statuses_of_ca() { # CA_ID: "STATUS=count ..." over every page
	aws_iot list-certificates-by-ca --ca-certificate-id "$1" | python3 -c '
import collections, json, sys
c = collections.Counter(x["status"] for x in json.load(sys.stdin)["certificates"])
print(" ".join("%s=%d" % kv for kv in sorted(c.items())))'
}

for ca in reg foreign; do
	make_ca $ca "Register Test $ca CA" || give_up "cannot make CA $ca"
done
mkdir -p cas crls state good foreign-devs bulk term tty empty
cp reg/ca.pem cas/
{
	printf '[aws]\nregion = us-east-1\naccount_id = 123456789012\nendpoint = %s\n' "$url"
	printf '[ca]\ndir = %s/cas\n[crl]\ndir = %s/crls\n' "$work" "$work"
	printf '[provision]\npolicy_template = %s\npolicy_name = jitrd-device\n' \
		"$src/policies/default.json"
	printf 'thing_name = {{subject.CN}}\n'
	printf '[service]\nstate_dir = %s/state\nworkers = 4\n' "$work"
	printf '[limits]\nregister_certificate = 200\nupdate_certificate = 200\n'
	printf 'describe_certificate = 200\nattach_policy = 200\ncreate_thing = 200\n'
	printf 'attach_thing_principal = 200\ncreate_policy = 200\n'
} >reg.conf
# the bulk runs without Things: ListThingPrincipals has no [limits] key (10/s) and would bound them
grep -v '^thing_name' reg.conf >bulk.conf
# the interrupted runs slower, so that they are surely midway when the signal comes
sed 's/^register_certificate = 200$/register_certificate = 40/' bulk.conf >slow.conf
sed 's/^register_certificate = 200$/register_certificate = 10/' bulk.conf >slower.conf
"$jitrd" ca register -c reg.conf --ca-cert reg/ca.pem --ca-key reg/ca.key --activate \
	>/dev/null 2>ca-register.err || give_up "cannot register the CA"
reg_id=$(cert_id reg/ca.pem)

# ---- the mix --------------------------------------------------------------------------------------
"$mkfleet" - reg/ca.pem reg/ca.key 8 100 good.ids good 2>mkfleet.err || give_up "mkfleet failed"
"$mkfleet" - foreign/ca.pem foreign/ca.key 1 100 foreign.ids foreign-devs 2>>mkfleet.err ||
	give_up "mkfleet (foreign) failed"
openssl ca -batch -config reg/ca.cnf -revoke good/dev-6.pem -crl_reason keyCompromise \
	2>>openssl.err || give_up "cannot revoke dev-6"
openssl ca -batch -config reg/ca.cnf -gencrl -out crls/reg.crl.pem 2>>openssl.err ||
	give_up "cannot make the CRL"
# an expired device: `openssl ca` takes explicit dates, in a home of its own
mkdir -p expired-ca/new
: >expired-ca/index.txt
echo 7001 >expired-ca/serial
cat >expired-ca/ca.cnf <<CNF
[ ca ]
default_ca = this_ca
[ this_ca ]
dir = $work/expired-ca
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
certificate = $work/reg/ca.pem
private_key = $work/reg/ca.key
default_md = sha256
policy = device_policy
[ device_policy ]
commonName = supplied
[ device_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
CNF
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout expired.key \
	-subj /CN=expired-device -out expired.csr 2>>openssl.err &&
	openssl ca -batch -config expired-ca/ca.cnf -extensions device_ext \
		-startdate 20200101000000Z -enddate 20200201000000Z -notext -in expired.csr \
		-out expired.pem 2>>openssl.err || give_up "cannot make the expired device"
echo "not a certificate" >junk.pem
cat good/dev-0.pem good/dev-1.pem >two.pem
ln -s "$work/nowhere.pem" missing.pem

# already in AWS IoT: dev-0 ACTIVE (no policy yet), dev-1 INACTIVE, dev-7 REVOKED
for pre in 0:ACTIVE 1:INACTIVE 7:REVOKED; do
	aws_iot register-certificate --certificate-pem "file://good/dev-${pre%%:*}.pem" \
		--ca-certificate-pem file://reg/ca.pem --status "${pre#*:}" >/dev/null ||
		give_up "cannot pre-register dev-${pre%%:*}"
done

"$jitrd" cert register --help >help.out 2>&1
check "cert register --help exits 0 with its usage" \
	sh -c "[ $? -eq 0 ] && grep -q '^usage: jitrd cert register -c FILE' help.out"

calls0=$(op_calls RegisterCertificate)
set -- good/dev-0.pem good/dev-1.pem good/dev-2.pem good/dev-3.pem good/dev-4.pem \
	good/dev-5.pem good/dev-6.pem good/dev-7.pem expired.pem foreign-devs/dev-0.pem junk.pem \
	two.pem missing.pem
"$jitrd" cert register -c reg.conf "$@" >mix.out 2>mix.err
st=$?
cat mix.out mix.err | sed 's/^/# /'
check "the mix exits 1 (refusals and failures)" [ $st -eq 1 ]
check "the mix's summary: 13 certificates, registered 4, already 2, refused 4, failed 3" \
	grep -qx '13 certificate(s): registered 4, already registered 2, refused 4, failed 3' mix.out
ok_states=1
for i in 0 1 2 3 4 5; do
	[ "$(status_of good/dev-$i.pem)" = ACTIVE ] || ok_states=0
	[ "$(policies_of good/dev-$i.pem)" = jitrd-device ] || ok_states=0
done
check "dev-0..5 ACTIVE with jitrd-device attached (already registered ones provisioned too)" \
	[ $ok_states -eq 1 ]
check "the Thing of dev-2 exists with its certificate as principal" sh -c "
	aws_iot() { /usr/bin/aws iot --endpoint-url '$url' --output json \"\$@\"; }
	aws_iot list-thing-principals --thing-name fleet-device-2 | grep -q '$(cert_id good/dev-2.pem)'"
check "dev-6 (revoked by the CRL) was not registered; its line says revoke and why" sh -c "
	[ '$(status_of good/dev-6.pem)' = NOTFOUND ] &&
	grep 'dev-6.pem' mix.err | grep -q 'decision=revoke' &&
	grep 'dev-6.pem' mix.err | grep -qi 'keyCompromise'"
check "dev-7 stays REVOKED: refused, never re-activated" sh -c "
	[ '$(status_of good/dev-7.pem)' = REVOKED ] && grep 'dev-7.pem' mix.err | grep -q 'REVOKED in AWS IoT'"
check "the expired and the foreign-CA certificates are refused and not registered" sh -c "
	[ '$(status_of expired.pem)' = NOTFOUND ] && [ '$(status_of foreign-devs/dev-0.pem)' = NOTFOUND ] &&
	grep 'expired.pem' mix.err | grep -q '^jitrd: refused' &&
	grep 'foreign-devs/dev-0.pem' mix.err | grep -q '^jitrd: refused'"
check "hostile inputs fail with a clear reason each: not PEM, two certificates, missing" sh -c "
	grep 'junk.pem' mix.err | grep -q 'no readable PEM CERTIFICATE' &&
	grep 'two.pem' mix.err | grep -q '2 certificates; one device certificate a file' &&
	grep 'missing.pem' mix.err | grep -q '^jitrd: failed'"
calls1=$(op_calls RegisterCertificate)
check "RegisterCertificate sent for the 7 that passed the decision only ($((calls1 - calls0)))" \
	[ $((calls1 - calls0)) -eq 7 ]

"$jitrd" cert register -c reg.conf --json "$@" >mix2.out 2>mix2.err
st=$?
calls2=$(op_calls RegisterCertificate)
check "a rerun skips the 6 done by the first (registered_earlier), exit 1 again" sh -c "
	[ $st -eq 1 ] && [ \$(grep -c '\"result\":\"registered_earlier\"' mix2.out) -eq 6 ] &&
	grep -q '\"summary\":{\"total\":13,\"registered\":6,\"registered_earlier\":6' mix2.out"
check "the rerun's --json lines parse, one per certificate and a summary" sh -c "
	python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' mix2.out &&
	[ \$(wc -l <mix2.out) -eq 14 ]"
check "the rerun sent RegisterCertificate only for the REVOKED one ($((calls2 - calls1)))" \
	[ $((calls2 - calls1)) -eq 1 ]

"$jitrd" cert register -c reg.conf --dir empty >empty.out 2>empty.err
check "an empty directory: exit 2, says so" \
	sh -c "[ $? -eq 2 ] && grep -q 'holds no certificate file' empty.err"
"$jitrd" cert register -c reg.conf >none.out 2>none.err
check "no input at all: exit 2 with the usage" sh -c "[ $? -eq 2 ] && grep -q '^usage:' none.err"

# ---- kill -9 midway, then the same command again --------------------------------------------------
m=600
"$mkfleet" - reg/ca.pem reg/ca.key $m 1000 bulk.ids bulk 2>>mkfleet.err || give_up "mkfleet (bulk)"
before=$(op_calls RegisterCertificate)
signal_after_calls RegisterCertificate 200 KILL 600 \
	"$jitrd" cert register -c slow.conf --dir bulk >bulk1.out 2>bulk1.err
done1=$(($(op_calls RegisterCertificate) - before))
"$jitrd" cert register -c bulk.conf --dir bulk >bulk2.out 2>bulk2.err
st=$?
calls=$(($(op_calls RegisterCertificate) - before))
again=$(sed -n 's/.*already registered \([0-9]*\),.*/\1/p' bulk2.out)
echo "# kill -9 midway: $calls RegisterCertificate calls for $m certificates; $again found again"
tail -1 bulk2.out | sed 's/^/# /'
states=$(statuses_of_ca "$reg_id")
check "after kill -9 the rerun exits 0 and every good certificate is ACTIVE: $m bulk + 6 of the mix, dev-7 REVOKED ($states)" \
	sh -c "[ $st -eq 0 ] && [ '$states' = 'ACTIVE=$((m + 6)) REVOKED=1' ]"
check "the first run was killed midway ($done1 of $m registered)" [ $done1 -lt $m ]
check "RegisterCertificate calls = $m + at most the 4 in flight ($calls)" \
	sh -c "[ $calls -ge $m ] && [ $calls -le $((m + 4)) ]"
check "the in-flight ones came back as already registered ($again = $calls - $m)" \
	[ "${again:-x}" = $((calls - m)) ]

# ---- SIGTERM: the ones in flight finish, then stop; the rerun resumes ------------------------------
t=150
"$mkfleet" - reg/ca.pem reg/ca.key $t 5000 term.ids term 2>>mkfleet.err || give_up "mkfleet (term)"
before=$(op_calls RegisterCertificate)
signal_after_calls RegisterCertificate 30 TERM 600 \
	"$jitrd" cert register -c slower.conf --dir term >term1.out 2>term1.err
st=$?
done1=$(($(op_calls RegisterCertificate) - before))
check "SIGTERM midway ($done1 of $t): exit 1, 'interrupted, run the same command again'" \
	sh -c "[ $st -eq 1 ] && [ $done1 -lt $t ] && grep -q 'interrupted, run the same command again' term1.err"
"$jitrd" cert register -c bulk.conf --dir term >term2.out 2>term2.err
st=$?
calls=$(($(op_calls RegisterCertificate) - before))
check "the rerun after SIGTERM completes with no certificate registered twice ($calls = $t)" \
	sh -c "[ $st -eq 0 ] && [ $calls -eq $t ] && grep -q 'already registered 0' term2.out"

# ---- on a terminal: a progress line, rewritten in place, at most about 4 times a second ---------
p=200
"$mkfleet" - reg/ca.pem reg/ca.key $p 9000 tty.ids tty 2>>mkfleet.err || give_up "mkfleet (tty)"
start=$(date +%s.%N)
script -qec "'$jitrd' cert register -c '$work/slow.conf' --dir '$work/tty' >'$work/tty.out'" \
	tty.typescript >/dev/null 2>&1 </dev/null
st=$?
took=$(echo "$(date +%s.%N) - $start" | bc)
lines=$(tr '\r' '\n' <tty.typescript | grep -c '^registering: ')
rewritten=$(grep -c "$(printf '\r')registering: " tty.typescript)
most=$(echo "$took * 4 + 2" | bc | cut -d. -f1)
check "on a terminal: $lines progress lines in $took s (at most $most), rewritten after a CR" \
	sh -c "[ $st -eq 0 ] && [ $lines -ge 2 ] && [ $lines -le $most ] && [ $rewritten -ge 1 ]"
check "on a terminal: the summary on standard output" \
	grep -q "^$p certificate(s): registered $p, already registered 0" tty.out
"$jitrd" cert register -c slow.conf --dir tty >notty.out 2>notty.err
check "not on a terminal: no progress line" sh -c "! grep -q 'registering:' notty.err"

echo "CASES $passed $failed"
[ "$failed" -eq 0 ]

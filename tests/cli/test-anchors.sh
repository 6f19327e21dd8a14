#!/bin/sh
# test-anchors.sh JITRD — [ca] anchors through `jitrd check --at` and `jitrd config-check` on
# the fixture PKI of tests/fixtures/anchors.sh: with the root as anchor, each registered
# intermediate is checked against the root's CRL (RFC 5280 §6.3), so a device under an
# intermediate the root revoked is rejected, and config-check names that CA. Without anchors,
# behaviour as before. Prints "CASES <passed> <failed>".
jitrd=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=${JITRD_SOURCE_ROOT:?}
. "$src/tests/cli/lib.sh"

write_config() { # FILE CADIR CRLDIR [EXTRA...]
	f=$1 cadir=$2 crldir=$3
	shift 3
	{
		printf '[aws]\nregion = eu-west-1\naccount_id = 123456789012\n'
		printf '[ca]\ndir = %s\n' "$cadir"
		for line in "$@"; do printf '%s\n' "$line"; done
		printf '[crl]\ndir = %s\n' "$crldir"
		printf '[provision]\npolicy_template = %s\npolicy_name = jitrd-device\n' \
			"$src/policies/default.json"
		printf '[service]\nstate_dir = %s\n' "$work/none"
	} >"$f"
}

check_device() { "$jitrd" check -c "$1" --at "$at" "$fx/pa/devices/$2.pem"; }
revoked_id=$(openssl x509 -in "$fx/pa/cas/pa-revoked.pem" -outform DER | sha256sum | cut -c1-64)

# -- the root as anchor, its CRL present ----------------------------------------------------
mkdir "$work/good-only" "$work/good-crls" "$work/empty"
cp "$fx/pa/cas/pa-good.pem" "$work/good-only/"
cp "$fx/pa/crls/pa-good.crl.pem" "$fx/pa/crls/pa-root.crl.pem" "$work/good-crls/"
write_config "$work/a.conf" "$fx/pa/cas" "$fx/pa/crls" "anchors = $fx/pa/anchors"
write_config "$work/good.conf" "$work/good-only" "$work/good-crls" "anchors = $fx/pa/anchors"
write_config "$work/env.conf" "$fx/pa/cas" "$fx/pa/crls"
expect "device under the good intermediate: activated" 0 'decision=activate' \
	check_device "$work/a.conf" under-good
expect "device under the intermediate the root revoked: rejected, the CA named" 0 \
	"decision=reject reason=\"its CA $revoked_id is revoked by .*PA Root CA.*: keyCompromise; deactivate the CA in AWS\"" \
	check_device "$work/a.conf" under-revoked
expect "device under the intermediate the root holds: deferred" 0 \
	'decision=defer reason="its CA is on hold \(certificateHold\)' \
	check_device "$work/a.conf" under-held
expect "the held CA defers even with crl.fail_open" 0 'decision=defer .*certificateHold' \
	env JITRD_CRL_FAIL_OPEN=true "$jitrd" check -c "$work/a.conf" --at "$at" \
	"$fx/pa/devices/under-held.pem"
expect "the revoked CA rejects even with crl.fail_open" 0 'decision=reject .*keyCompromise' \
	env JITRD_CRL_FAIL_OPEN=true "$jitrd" check -c "$work/a.conf" --at "$at" \
	"$fx/pa/devices/under-revoked.pem"
expect "config-check names the revoked CA and exits 2" 2 \
	"ca $revoked_id: REVOKED, every device it signs is rejected: .*keyCompromise" \
	"$jitrd" config-check -c "$work/a.conf" --at "$at"
expect "config-check lists the anchor and its CRL" 2 \
	'crl for anchor [0-9a-f]{64}: .*pa-root.crl.pem' \
	"$jitrd" config-check -c "$work/a.conf" --at "$at"
expect "config-check: only the good intermediate, configuration OK" 0 'configuration OK' \
	"$jitrd" config-check -c "$work/good.conf" --at "$at"
expect "the anchors directory through the environment (JITRD_CA_ANCHORS)" 0 \
	'decision=reject .*keyCompromise' \
	env JITRD_CA_ANCHORS="$fx/pa/anchors" "$jitrd" check -c "$work/env.conf" --at "$at" \
	"$fx/pa/devices/under-revoked.pem"

# -- an event naming the anchor is not ours; a device signed by the root directly is not of
#    a registered CA
expect "a device signed by the anchor itself is not activated" 0 'decision=ignore' \
	check_device "$work/a.conf" under-root

# -- the root's CRL missing: the CAs' status is unknown ---------------------------------------
write_config "$work/noroot.conf" "$fx/pa/cas" "$fx/pa/crls-noroot" "anchors = $fx/pa/anchors"
expect "no CRL of the anchor: deferred" 0 \
	'decision=defer reason="no valid CRL of .*PA Root CA.* for the CA"' \
	check_device "$work/noroot.conf" under-good
expect "no CRL of the anchor, crl.fail_open: activated" 0 'decision=activate' \
	env JITRD_CRL_FAIL_OPEN=true "$jitrd" check -c "$work/noroot.conf" --at "$at" \
	"$fx/pa/devices/under-good.pem"
expect "config-check: unknown status is a problem" 2 'revocation status unknown' \
	"$jitrd" config-check -c "$work/noroot.conf" --at "$at"

# -- a registered CA that does not chain to the anchor ------------------------------------------
mkdir "$work/foreign"
cp "$fx/pa/cas/pa-good.pem" "$fx/pv/cas/pv-good.pem" "$work/foreign/"
cp "$fx/pa/crls/"* "$fx/pv/crls/pv-good.crl.pem" "$work/foreign/" 2>/dev/null
mkdir "$work/foreign-crls"
mv "$work/foreign/"*.crl.pem "$work/foreign-crls/"
write_config "$work/foreign.conf" "$work/foreign" "$work/foreign-crls" \
	"anchors = $fx/pa/anchors"
expect "a device under a CA outside the anchors: rejected" 0 \
	'decision=reject reason="CA certificate does not chain to an anchor' \
	"$jitrd" check -c "$work/foreign.conf" --at "$at" "$fx/pv/devices/good.pem"
expect "config-check: that CA is unusable" 2 'unusable at .*does not chain to an anchor' \
	"$jitrd" config-check -c "$work/foreign.conf" --at "$at"
if grep -q 'REVOKED' "$work/out"; then
	not_ok "config-check: a CA outside the anchors is not called revoked"
else
	ok "config-check: a CA outside the anchors is not called revoked"
fi

# -- the service says it at start: ca.revoked (its start then fails: no broker, on purpose) --
# The root's CRL is made here for the real clock (the service judges at now), from the root's
# fixture key and database, where pa-revoked is keyCompromise and pa-held certificateHold.
svc=$work/svc
mkdir -p "$svc/ca" "$svc/crl"
mkdir -m 700 "$svc/state"
cp "$fx/pa/cas/"*.pem "$svc/ca/"
cp "$fx/work/pa-root/index.txt" "$svc/index.txt"
echo 10 >"$svc/crlnumber"
cat >"$svc/root.cnf" <<CNF
[ ca ]
default_ca = root
[ root ]
database = $svc/index.txt
crlnumber = $svc/crlnumber
certificate = $fx/pa/anchors/pa-root.pem
private_key = $fx/keys/pa-root.key
default_md = sha256
crl_extensions = crl_ext
[ crl_ext ]
authorityKeyIdentifier = keyid
CNF
openssl ca -gencrl -config "$svc/root.cnf" -crldays 30 -out "$svc/crl/root.crl.pem" 2>/dev/null
cat >"$svc/jitrd.conf" <<CONF
[mqtt]
url = tcp://127.0.0.1:1
[aws]
region = eu-west-1
endpoint = http://127.0.0.1:1
account_id = 123456789012
[ca]
dir = ca
anchors = $fx/pa/anchors
[crl]
dir = crl
[provision]
policy_template = $src/policies/default.json
[service]
state_dir = state
listen =
log_format = json
CONF
(cd "$svc" && AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secret \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	timeout 30 "$jitrd" run -c jitrd.conf >"$svc/log" 2>&1)
expect "jitrd run logs ca.revoked at start, the CA and the reason named" 0 \
	"\"event\":\"ca.revoked\",\"ca\":\"$revoked_id\",.*keyCompromise; deactivate the CA in AWS" \
	cat "$svc/log"
expect "jitrd run logs the held CA's devices as deferred" 0 \
	'"event":"ca.deferred",.*certificateHold' cat "$svc/log"
if grep -Eq '"ca\.(revoked|deferred)",[^}]*pa-good' "$svc/log"; then
	not_ok "the good CA is not named"
else
	ok "the good CA is not named"
fi

# -- without anchors: as before (the intermediates are their own anchors) ---------------------
write_config "$work/plain.conf" "$fx/pa/cas" "$fx/pa/crls-noroot"
expect "no anchors: the device under the revoked intermediate is activated as before" 0 \
	'decision=activate' check_device "$work/plain.conf" under-revoked
expect "no anchors: config-check OK" 0 'configuration OK' \
	"$jitrd" config-check -c "$work/plain.conf" --at "$at"
expect "[ca] anchors naming an empty directory is refused" 2 '\[ca\] anchors .*no CA certificate' \
	env JITRD_CA_ANCHORS="$work/empty" "$jitrd" config-check -c "$work/plain.conf" \
	--at "$at"

echo "CASES $passed $failed"
[ "$failed" -eq 0 ]

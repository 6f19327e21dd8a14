#!/bin/sh
# test-crl-integrity.sh JITRD — CRL selection and integrity through `jitrd check --at` and
# `jitrd config-check` on the fixture PKI of tests/fixtures/crl-integrity.sh: the highest CRL
# number answers, rollbacks recorded in a state directory are refused across runs, partitions,
# a renewed CA, delta CRLs, SHA-1. Prints "CASES <passed> <failed>".
jitrd=$1
src=${JITRD_SOURCE_ROOT:?}
. "$src/tests/cli/lib.sh"

write_config() { # FILE CADIR CRLDIR STATEDIR [EXTRA...]
	f=$1 cadir=$2 crldir=$3 statedir=$4
	shift 4
	{
		printf '[aws]\nregion = eu-west-1\naccount_id = 123456789012\n'
		printf '[ca]\ndir = %s\n[crl]\ndir = %s\n' "$cadir" "$crldir"
		printf '[provision]\npolicy_template = %s\npolicy_name = jitrd-device\n' \
			"$src/policies/default.json"
		printf '[service]\nstate_dir = %s\n' "$statedir"
		for line in "$@"; do printf '%s\n' "$line"; done
	} >"$f"
}

# decision CONF AT DEVICE: "decision=... reason=..." of jitrd check
check_device() { "$jitrd" check -c "$1" --at "$2" "$fx/devices/$3.pem"; }

# -- the highest CRL number answers: #5 (a year) beside #10 (7 days) ------------------------
write_config "$work/both.conf" "$fx/integrity/cas" "$fx/integrity/crl-both" "$work/none"
expect "+1 day: the device #10 lists is revoked" 0 'decision=revoke .*keyCompromise' \
	check_device "$work/both.conf" 2030-06-02T00:00:00Z integ-revoked
expect "+1 day: the others are activated" 0 'decision=activate' \
	check_device "$work/both.conf" 2030-06-02T00:00:00Z integ-good
expect "+8 days: #10 expired, its device is still revoked" 0 'decision=revoke .*keyCompromise' \
	check_device "$work/both.conf" 2030-06-09T00:00:00Z integ-revoked
expect "+8 days: the others are deferred, whatever #5 says" 0 \
	'decision=defer reason="the CA.s CRL is past its nextUpdate"' \
	check_device "$work/both.conf" 2030-06-09T00:00:00Z integ-good
expect "config-check: #10 is the CA's CRL" 0 'crl for CA [0-9a-f]{64}: .*integ-10.pem, .*number 10' \
	"$jitrd" config-check -c "$work/both.conf" --at 2030-06-02T00:00:00Z
expect "config-check reads no state dir that is not there" 0 'crl numbers: .*/none/crl-numbers \(0 recorded\)' \
	"$jitrd" config-check -c "$work/both.conf" --at 2030-06-02T00:00:00Z
[ ! -e "$work/none" ] && ok "config-check and check write no state" ||
	not_ok "config-check and check write no state"

# -- rollback across runs: the service recorded #10; then only #5 is offered ------------------
mkdir -m 700 "$work/state"
write_config "$work/ten.conf" "$fx/integrity/cas" "$fx/integrity/crl-10" "$work/state"
write_config "$work/five.conf" "$fx/integrity/cas" "$fx/integrity/crl-5" "$work/state"
key=$("$jitrd" config-check -c "$work/ten.conf" --at 2030-06-02T00:00:00Z |
	sed -n 's/^crl issuer key of CA [0-9a-f]*: \([0-9a-f]\{64\}\)$/\1/p')
[ ${#key} = 64 ] && ok "config-check prints the CA's issuer key" ||
	not_ok "config-check prints the CA's issuer key ($key)"
expect "without the record, #5 alone is accepted" 0 'decision=activate' \
	check_device "$work/five.conf" 2030-06-02T00:00:00Z integ-good
# what the service writes after accepting #10 (jitrd run; see test-crl-reload.sh)
printf 'jitrd-crl-numbers 1\n%s - a\nend 1\n' "$key" >"$work/state/crl-numbers"
chmod 600 "$work/state/crl-numbers"
rm -rf "$work/none"
expect "config-check: #5 below the recorded #10 is refused as a rollback" 2 \
	'integ-05.pem: refused: CRL number 5 is below 10, .*rollback refused' \
	"$jitrd" config-check -c "$work/five.conf" --at 2030-06-02T00:00:00Z
expect "config-check: the CA then has no CRL" 2 'crl for CA [0-9a-f]{64}: none valid' \
	"$jitrd" config-check -c "$work/five.conf" --at 2030-06-02T00:00:00Z
expect "check: its devices are deferred" 0 'decision=defer reason="no valid CRL for the CA"' \
	check_device "$work/five.conf" 2030-06-02T00:00:00Z integ-good
expect "config-check: #10 itself is fine" 0 'configuration OK' \
	"$jitrd" config-check -c "$work/ten.conf" --at 2030-06-02T00:00:00Z
sum=$(sha256sum "$work/state/crl-numbers")
expect "config-check: #5 beside #10 is no rollback" 0 'configuration OK' \
	"$jitrd" config-check -c "$work/both.conf" --at 2030-06-02T00:00:00Z
[ "$(sha256sum "$work/state/crl-numbers")" = "$sum" ] &&
	ok "the record is read, never written, by check and config-check" ||
	not_ok "the record is read, never written, by check and config-check"
# a damaged record is fatal, named, with the way out
for bad in "truncated" "hostile"; do
	case $bad in
	truncated) printf 'jitrd-crl-numbers 1\n%s - a\n' "$key" ;;
	hostile) printf 'jitrd-crl-numbers 1\n%s - a\n../../etc/passwd - 1\nend 2\n' "$key" ;;
	esac >"$work/state/crl-numbers"
	expect "a $bad record stops config-check, named" 2 \
		'CRL numbers \(delete the file to reset them, see crl/README.md\): .*crl-numbers' \
		"$jitrd" config-check -c "$work/five.conf" --at 2030-06-02T00:00:00Z
	expect "a $bad record stops check" 2 'crl-numbers' \
		check_device "$work/five.conf" 2030-06-02T00:00:00Z integ-good
done
rm "$work/state/crl-numbers"
expect "deleting the record resets it (deliberately)" 0 'configuration OK' \
	"$jitrd" config-check -c "$work/five.conf" --at 2030-06-02T00:00:00Z

# -- partitions ---------------------------------------------------------------------------------
write_config "$work/part.conf" "$fx/integrity/part-cas" "$fx/integrity/part-crls" "$work/none"
expect "partition p1 holds its device (p2 is newer but not its partition)" 0 \
	'decision=hold .*certificateHold' \
	check_device "$work/part.conf" 2030-06-01T00:00:00Z part-p1-held
expect "partition p1: revoked" 0 'decision=revoke' \
	check_device "$work/part.conf" 2030-06-01T00:00:00Z part-p1-revoked
expect "partition p2: activated" 0 'decision=activate' \
	check_device "$work/part.conf" 2030-06-01T00:00:00Z part-p2-good
expect "a partition without CRL: deferred" 0 'decision=defer' \
	check_device "$work/part.conf" 2030-06-01T00:00:00Z part-p3
expect "no distribution point, partitioned CRLs: deferred" 0 'decision=defer' \
	check_device "$work/part.conf" 2030-06-01T00:00:00Z part-nocdp
expect "config-check counts the partitions" 0 'number 2, .*, 2 partitions' \
	"$jitrd" config-check -c "$work/part.conf" --at 2030-06-01T00:00:00Z

# -- a renewed CA (same name and key) shares the CRL ------------------------------------------
mkdir "$work/ca1crl"
cp "$fx/crls/ca1.crl.pem" "$work/ca1crl/"
write_config "$work/renewed.conf" "$fx/integrity/renewed-cas" "$work/ca1crl" "$work/none"
expect "config-check: both CA certificates have the CRL" 0 'configuration OK' \
	"$jitrd" config-check -c "$work/renewed.conf" --at 2030-06-01T00:00:00Z
expect "config-check: no CA without CRL" 0 '^crl for CA [0-9a-f]{64}: .*ca1.crl.pem.*' \
	"$jitrd" config-check -c "$work/renewed.conf" --at 2030-06-01T00:00:00Z
"$jitrd" config-check -c "$work/renewed.conf" --at 2030-06-01T00:00:00Z >"$work/out" 2>&1
[ "$(grep -c '^crl for CA .*ca1.crl.pem' "$work/out")" = 2 ] && ok "two CAs, one CRL" ||
	not_ok "two CAs, one CRL"

# -- delta CRLs ----------------------------------------------------------------------------------
write_config "$work/delta.conf" "$fx/integrity/delta-cas" "$fx/integrity/delta-crls" "$work/none"
expect "delta: the device it revokes is revoked" 0 'decision=revoke .*keyCompromise' \
	check_device "$work/delta.conf" 2030-06-01T00:00:00Z delta-revoked
expect "delta: removeFromCRL lifts the base's hold" 0 'decision=activate .*removeFromCRL' \
	check_device "$work/delta.conf" 2030-06-01T00:00:00Z delta-held
expect "config-check: the delta applies" 0 'with a delta CRL' \
	"$jitrd" config-check -c "$work/delta.conf" --at 2030-06-01T00:00:00Z
write_config "$work/delta-only.conf" "$fx/integrity/delta-cas" "$fx/integrity/delta-only" \
	"$work/none" "[crl]" "fail_open = true"
expect "a delta alone still revokes (even under fail_open)" 0 'decision=revoke' \
	check_device "$work/delta-only.conf" 2030-06-01T00:00:00Z delta-revoked

# -- SHA-1 -----------------------------------------------------------------------------------------
mkdir "$work/sha1"
cp "$fx/crl-cases/ca1-sha1.pem" "$work/sha1/"
write_config "$work/sha1.conf" "$fx/cas" "$work/sha1" "$work/none"
expect "a CRL signed with SHA-1 is refused" 2 'ca1-sha1.pem: refused: .*signed with SHA1' \
	"$jitrd" config-check -c "$work/sha1.conf" --at 2030-06-01T00:00:00Z
expect "its CA's devices are deferred" 0 'decision=defer' \
	check_device "$work/sha1.conf" 2030-06-01T00:00:00Z good

echo "CASES $passed $failed"
[ "$failed" -eq 0 ]
